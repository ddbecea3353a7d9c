/* arbiterctl test-rules and eval: the rules engine in the hands of ops and policy staff. */
#include <errno.h>
#include <getopt.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "counters.h"
#include "ctl.h"
#include "event.h"
#include "log.h"
#include "policy.h"
#include "rules_expr.h"

/* Loads the policy at PATH as arbiterd would, printing every error and warning. */
static int ctl_rules_load(const char *path, struct policy **p)
{
	struct diag_list diags = {0};
	int rc = policy_load(path, p, &diags);
	diag_print(&diags, stderr);
	if (rc < 0)
		fprintf(stderr, "%s: %zu error(s)\n", path, diags.n_errors);
	diag_clear(&diags);
	return rc;
}

int ctl_test_rules(int argc, char **argv)
{
	if (argc != 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fprintf(argc == 2 ? stdout : stderr,
			"Usage: arbiterctl test-rules CONFIG\n\n"
			"Loads CONFIG's rule files and runs every tests: case in them; prints each\n"
			"failure with what was expected and what came out, then a count. Exit 0\n"
			"when all pass, 1 on any failure or load error.\n");
		return argc == 2 ? 0 : 2;
	}
	struct policy *p = NULL;
	int rc = ctl_rules_load(argv[1], &p);
	int failed = rc < 0 ? 1 : rules_run_tests(p->rules, stdout);
	policy_free(p);
	return failed != 0 ? 1 : 0;
}

/* Where arbiterctl eval's counters live: --counters memory (the default), zero or redis. */
enum ctl_counters { CTL_COUNTERS_MEMORY, CTL_COUNTERS_ZERO, CTL_COUNTERS_REDIS };

/* What eval needs to give counters their values. */
struct ctl_eval {
	const struct ruleset *rs;
	const struct config *cfg;
	enum ctl_counters mode;
	struct counters_mem *mem;
	redisContext *redis;
	struct rules_counter_op *ops;
	uint64_t *values;
};

/* Runs OPS (N) as the daemon would: VALUES filled. Returns 0, or -EIO / -ENOMEM / -ENOSPC
 * (said). */
static int ctl_eval_count(struct ctl_eval *e, size_t n)
{
	if (e->mode == CTL_COUNTERS_ZERO) {
		for (size_t i = 0; i < n; i++)
			e->values[i] = 1;
		return 0;
	}
	if (e->mode == CTL_COUNTERS_MEMORY) {
		int rc = counters_mem_run(e->mem, e->rs, e->ops, n, e->values);
		if (rc < 0)
			fprintf(stderr, "arbiterctl eval: counters: %s\n",
				rc == -ENOSPC ? "more than 4,000,000 events in the windows; use "
						"--counters redis" :
						strerror(-rc));
		return rc;
	}
	struct queues_cmd cmd;
	if (counters_cmd(e->cfg, e->rs, e->ops, n, &cmd) < 0)
		return -ENOMEM;
	redisReply *r = redisCommandArgv(e->redis, cmd.argc, cmd.argv, cmd.lens);
	if (r && r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "NOSCRIPT", 8)) {
		freeReplyObject(r);
		queues_cmd_use_eval(&cmd);
		r = redisCommandArgv(e->redis, cmd.argc, cmd.argv, cmd.lens);
	}
	int rc = counters_reply(r, n, e->values) < 0 ? -EIO : 0;
	if (rc)
		fprintf(stderr, "arbiterctl eval: Redis at %s: counters: %s\n",
			e->cfg->redis.address,
			!r                           ? e->redis->errstr :
			r->type == REDIS_REPLY_ERROR ? r->str :
						       "unexpected reply");
	freeReplyObject(r);
	queues_cmd_free(&cmd);
	return rc;
}

/* EV's verdict, its counters given their values. NULL when they cannot be (said). */
static const struct rules_verdict *ctl_eval_one(struct ctl_eval *e, struct rules_ctx *ctx,
						const Arbiter__V1__ContentEvent *ev, int64_t now)
{
	const struct rules_counter_op *ops;
	size_t n;
	const struct rules_verdict *v = rules_eval_begin(ctx, ev, now, &ops, &n);
	if (!v || !n)
		return v;
	memcpy(e->ops, ops, n * sizeof(*ops));
	if (ctl_eval_count(e, n) < 0)
		return NULL;
	return rules_eval_finish(ctx, ev, now, e->ops, e->values, n);
}

static const char ctl_eval_usage[] =
	"Usage: arbiterctl eval [--now DATE] [--counters memory|zero|redis] CONFIG < events.jsonl\n";

/* Options of eval into *NOW and *MODE; the exit status when they end the command, else -1. */
static int ctl_eval_options(int argc, char **argv, int64_t *now, enum ctl_counters *mode)
{
	static const struct option opts[] = {
		{"now", required_argument, NULL, 'n'},
		{"counters", required_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "n:k:h", opts, NULL)) != -1) {
		if (c == 'n' && rexpr_parse_date(optarg, strlen(optarg), now) == 0)
			continue;
		if (c == 'k' && (!strcmp(optarg, "memory") || !strcmp(optarg, "zero") ||
				 !strcmp(optarg, "redis"))) {
			*mode = optarg[0] == 'm' ? CTL_COUNTERS_MEMORY :
				optarg[0] == 'z' ? CTL_COUNTERS_ZERO :
						   CTL_COUNTERS_REDIS;
			continue;
		}
		fprintf(c == 'h' ? stdout : stderr, "%s%s", ctl_eval_usage,
			c != 'h' ?
				"" :
				"\nEvaluates each content event (one JSON object per line, proto "
				"field names)\n"
				"against CONFIG's rules and prints one verdict per event as a JSON "
				"line:\n"
				"matched rules, applied action, escalations, shadow hits, evidence, "
				"active\n"
				"modes and ruleset version. --now sets the time for mode windows of "
				"events\n"
				"without created_at_ms (default: now). Windowed counters start at "
				"zero and\n"
				"count the events read, in memory (--counters memory, the default); "
				"--counters\n"
				"zero evaluates each event as if its counters stood at zero; "
				"--counters redis\n"
				"uses CONFIG's Redis, as arbiterd does: its counts, and the events "
				"read added to\n"
				"them. Invalid lines are reported on stderr with their reason, and "
				"make the\n"
				"exit status 1.\n");
		return c == 'h' ? 0 : 2;
	}
	if (optind != argc - 1) {
		fputs(ctl_eval_usage, stderr);
		return 2;
	}
	return -1;
}

int ctl_eval(int argc, char **argv)
{
	int64_t now = log_now_ms();
	struct ctl_eval e = {.mode = CTL_COUNTERS_MEMORY};
	int rc = ctl_eval_options(argc, argv, &now, &e.mode);
	if (rc >= 0)
		return rc;
	struct policy *p = NULL;
	if (ctl_rules_load(argv[optind], &p) < 0)
		return 1;
	const struct ruleset *rs = p->rules;
	e.rs = rs;
	e.cfg = p->cfg;
	size_t nc = rules_counter_count(rs) + 1;
	e.ops = calloc(nc, sizeof(*e.ops));
	e.values = calloc(nc, sizeof(*e.values));
	e.mem = e.mode == CTL_COUNTERS_MEMORY ? counters_mem_new() : NULL;
	if (e.mode == CTL_COUNTERS_REDIS && rules_counter_count(rs)) {
		char where[300];
		e.redis = ctl_redis_connect("eval", p->cfg, where, sizeof(where));
	}
	struct rules_ctx *ctx = rules_ctx_new(rs);
	bool ready = ctx && e.ops && e.values && (e.mode != CTL_COUNTERS_MEMORY || e.mem) &&
		     (e.mode != CTL_COUNTERS_REDIS || e.redis || !rules_counter_count(rs));
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long lineno = 0, bad = 0;
	bool failed = !ready;
	while (!failed && (len = getline(&line, &cap, stdin)) >= 0) {
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (!len)
			continue;
		Arbiter__V1__ContentEvent *ev = NULL;
		char reason[EVENT_REASON_MAX];
		/* The daemon's own decoder: what it would dead-letter, eval rejects. */
		if (event_content_decode(CONFIG_FORMAT_JSON, line, (size_t)len, &ev, reason) < 0) {
			fprintf(stderr, "stdin:%ld: %s\n", lineno, reason);
			bad++;
			continue;
		}
		const struct rules_verdict *v = ctl_eval_one(&e, ctx, ev, now);
		failed = !v;
		json_t *j = v ? rules_verdict_json(rs, ev, v) : NULL;
		char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
		if (s)
			puts(s);
		free(s);
		json_decref(j);
		event_content_free(ev);
	}
	free(line);
	rules_ctx_free(ctx);
	counters_mem_free(e.mem);
	if (e.redis)
		redisFree(e.redis);
	free(e.ops);
	free(e.values);
	policy_free(p);
	return bad || failed ? 1 : 0;
}
