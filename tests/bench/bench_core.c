/* Benchmark of the loop thread's work per content event, without Kafka or Redis: protobuf
 * decode and validation, the rules of a config, and the audit record of an acted-on event;
 * prints ns per event on one core. Its input is gen_events.py's JSON lines, encoded first. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "diag.h"
#include "dsa.h"
#include "event.h"
#include "policy.h"
#include "records.h"
#include "rules.h"

struct bench_msg {
	uint8_t *data;
	size_t len;
};

static double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reads JSON lines from F and encodes each content event as protobuf into *OUT (N of them).
 * Returns 0 or -errno. */
static int bench_load(FILE *f, struct bench_msg **out, size_t *n)
{
	char *line = NULL;
	size_t cap = 0, len = 0, max = 0;
	ssize_t got;
	struct bench_msg *msgs = NULL;
	char reason[EVENT_REASON_MAX];
	while ((got = getline(&line, &cap, f)) > 0) {
		Arbiter__V1__ContentEvent *ev;
		if (event_content_decode(CONFIG_FORMAT_JSON, line, (size_t)got, &ev, reason) < 0) {
			fprintf(stderr, "skipped: %s\n", reason);
			continue;
		}
		if (len == max) {
			max = max ? max * 2 : 1024;
			struct bench_msg *m = realloc(msgs, max * sizeof(*m));
			if (!m)
				return -ENOMEM;
			msgs = m;
		}
		size_t size = arbiter__v1__content_event__get_packed_size(ev);
		msgs[len].data = malloc(size ? size : 1);
		if (!msgs[len].data)
			return -ENOMEM;
		msgs[len].len = arbiter__v1__content_event__pack(ev, msgs[len].data);
		len++;
		event_content_free(ev);
	}
	free(line);
	*out = msgs;
	*n = len;
	return 0;
}

/* One pass over the N messages; counts the acted-on ones in *ACTED. Apart so that callgrind
 * can count it alone (--toggle-collect=bench_round). Returns 0 or -1. */
__attribute__((noinline)) static int bench_round(const struct policy *pol, struct rules_ctx *ctx,
						 struct dsa_memo *memo,
						 const struct bench_msg *msgs, size_t n,
						 size_t *acted)
{
	char reason[EVENT_REASON_MAX];
	*acted = 0;
	for (size_t i = 0; i < n; i++) {
		Arbiter__V1__ContentEvent *ev;
		if (event_content_decode(CONFIG_FORMAT_PROTOBUF, msgs[i].data, msgs[i].len, &ev,
					 reason) < 0)
			return -1;
		const struct rules_verdict *v = rules_eval(ctx, ev, 1795000000000);
		if (v && v->action != ARBITER__V1__ACTION__NONE) {
			struct records_source src = {"content.events", 0, (int64_t)i};
			struct records_link link = {.dsa_memo = memo}; /* as arbiterd's */
			struct records_buf buf;
			if (records_audit_verdict(&src, ev, pol->rules, v, NULL, 1795000000000,
						  &link, &buf) >= 0)
				free(buf.data);
			(*acted)++;
		}
		event_content_free(ev);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: bench_core CONFIG EVENTS.jsonl [ROUNDS]\n");
		return 2;
	}
	int rounds = argc > 3 ? atoi(argv[3]) : 3;
	struct diag_list diags = {0};
	struct policy *pol = NULL;
	if (policy_load(argv[1], &pol, &diags) < 0) {
		diag_print(&diags, stderr);
		return 1;
	}
	diag_clear(&diags);
	FILE *f = fopen(argv[2], "r");
	if (!f) {
		perror(argv[2]);
		return 1;
	}
	struct bench_msg *msgs = NULL;
	size_t n = 0;
	if (bench_load(f, &msgs, &n) < 0 || n == 0) {
		fprintf(stderr, "no events\n");
		return 1;
	}
	fclose(f);
	struct rules_ctx *ctx = rules_ctx_new(pol->rules);
	struct dsa_memo *memo = dsa_memo_new(4096);
	if (!ctx || !memo)
		return 1;
	double best = 0;
	size_t acted = 0;
	for (int r = 0; r < rounds; r++) {
		double t0 = bench_now();
		if (bench_round(pol, ctx, memo, msgs, n, &acted) < 0)
			return 1;
		double dt = bench_now() - t0;
		if (r == 0 || dt < best)
			best = dt;
	}
	printf("loop-thread core per content event (decode, validate, %zu rule(s), audit record "
	       "when acted on): %.0f ns/event, %.0f events/s on one core (%zu events, %zu acted "
	       "on; best of %d)\n",
	       rules_count(pol->rules), best * 1e9 / (double)n, (double)n / best, n, acted, rounds);
	rules_ctx_free(ctx);
	dsa_memo_free(memo);
	policy_free(pol);
	for (size_t i = 0; i < n; i++)
		free(msgs[i].data);
	free(msgs);
	return 0;
}
