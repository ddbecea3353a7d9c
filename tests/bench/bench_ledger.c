/* Benchmark of the ledger verifier: records per second for a chain read in order, in reverse
 * order and shuffled (the order of arrival must not make verification quadratic). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger.h"

struct packed {
	uint8_t *data;
	size_t len;
};

static double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Verifies RECS (N of them) in the order ORDER gives; returns seconds, or -1 on a break. */
static double bench_verify(const struct packed *recs, const size_t *order, size_t n)
{
	struct ledger_verifier *v = ledger_verifier_new();
	double t0 = bench_now();
	for (size_t i = 0; i < n; i++) {
		const struct packed *p = &recs[order[i]];
		if (ledger_verify_add(v, 0, (int64_t)i, p->data, p->len) < 0)
			return -1;
	}
	double dt = bench_now() - t0;
	const struct ledger_chain_report *reps;
	size_t nr = ledger_verify_reports(v, &reps);
	uint64_t records = nr ? reps[0].records : 0;
	ledger_verifier_free(v);
	return records == n ? dt : -1;
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 100000;
	struct packed *recs = calloc(n, sizeof(*recs));
	size_t *order = calloc(n, sizeof(*order));
	uint8_t prev[LEDGER_HASH_LEN], hash[LEDGER_HASH_LEN];
	for (size_t i = 0; i < n; i++) {
		char id[64];
		snprintf(id, sizeof(id), "bench-%zu", i);
		Arbiter__V1__AuditRecord r = ARBITER__V1__AUDIT_RECORD__INIT;
		r.record_id = id;
		r.content_id = "c-1";
		r.action = ARBITER__V1__ACTION__REMOVE;
		r.decided_at_ms = 1700000000000LL + (int64_t)i;
		if (ledger_link(&r, "content.events/0", i, i ? prev : NULL, hash) < 0)
			return 1;
		recs[i].len = arbiter__v1__audit_record__get_packed_size(&r);
		recs[i].data = malloc(recs[i].len);
		arbiter__v1__audit_record__pack(&r, recs[i].data);
		memcpy(prev, hash, sizeof(prev));
	}
	const char *names[] = {"in order", "reversed", "shuffled"};
	srand(7);
	for (int k = 0; k < 3; k++) {
		for (size_t i = 0; i < n; i++)
			order[i] = k == 1 ? n - 1 - i : i;
		for (size_t i = n - 1; k == 2 && i > 0; i--) {
			size_t j = (size_t)rand() % (i + 1), t = order[i];
			order[i] = order[j];
			order[j] = t;
		}
		double dt = bench_verify(recs, order, n);
		if (dt < 0) {
			fprintf(stderr, "bench_ledger: verification failed (%s)\n", names[k]);
			return 1;
		}
		printf("ledger verify %-9s %8zu records  %8.0f ms  %10.0f records/s\n", names[k], n,
		       dt * 1e3, (double)n / dt);
	}
	for (size_t i = 0; i < n; i++)
		free(recs[i].data);
	free(recs);
	free(order);
	return 0;
}
