/* Benchmark of hash banks: build time, memory and lookups/s on one core for a PDQ bank of random
 * hashes (random queries, and bank entries with k bits flipped) and for exact MD5 and SHA-256
 * banks. Times are the thread's CPU time, so that other processes on the machine count less. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hashbank.h"

#define BENCH_MAX_DISTANCE 31

/* Deterministic pseudo-random numbers (xorshift), so runs compare. */
static uint64_t bench_state = 88172645463325252ULL;

static uint64_t bench_rand(void)
{
	bench_state ^= bench_state << 13;
	bench_state ^= bench_state >> 7;
	bench_state ^= bench_state << 17;
	return bench_state;
}

static void bench_random_hash(uint8_t *h, size_t len)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t r = bench_rand();
		memcpy(h + i, &r, len - i < 8 ? len - i : 8);
	}
}

static double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A bank file of N random hashes of LEN bytes, one per line, unlabelled. */
static char *bench_bank_text(size_t n, size_t len, size_t *text_len)
{
	size_t line = 2 * len + 1;
	char *text = malloc(n * line + 1);
	if (!text)
		return NULL;
	uint8_t h[HASHBANK_MAX_HASH];
	for (size_t i = 0; i < n; i++) {
		bench_random_hash(h, len);
		char *p = text + i * line;
		for (size_t k = 0; k < len; k++)
			snprintf(p + 2 * k, 3, "%02x", h[k]);
		p[2 * len] = '\n';
	}
	*text_len = n * line;
	return text;
}

static struct hashbank *bench_load(enum hashbank_algo algo, size_t n, double *ms)
{
	size_t len;
	char *text = bench_bank_text(n, hashbank_hash_bytes(algo), &len);
	if (!text)
		return NULL;
	struct diag_list errs = {0};
	struct hashbank *bank = NULL;
	struct hashbank_limits lim = {.max_file_bytes = len + 1, .max_entries = n};
	double t0 = bench_now();
	int rc = hashbank_load("bench", algo, "bench.txt", text, len, &lim, &errs, &bank);
	*ms = (bench_now() - t0) * 1000;
	if (rc < 0)
		diag_print(&errs, stderr);
	diag_clear(&errs);
	free(text);
	return bank;
}

/* Queries Q (N of them, 32 bytes each) within MAX: lookups per CPU second, the best of three
 * runs (other processes share the machine), and the hits in *HITS. */
static double bench_queries(const struct hashbank *bank, const uint8_t *q, size_t n, unsigned max,
			    size_t *hits)
{
	struct hashbank_hit hit;
	double best = 0;
	for (int run = 0; run < 3; run++) {
		*hits = 0;
		double t0 = bench_now();
		for (size_t i = 0; i < n; i++)
			*hits += hashbank_match(bank, q + 32 * i, max, &hit) == 1;
		double rate = (double)n / (bench_now() - t0);
		if (rate > best)
			best = rate;
	}
	return best;
}

/* Entries of BANK with K distinct random bits flipped, N of them, into Q (32 bytes apart). */
static void bench_near(const struct hashbank *bank, uint8_t *q, size_t n, unsigned k)
{
	size_t len = hashbank_hash_bytes(hashbank_algo(bank));
	for (size_t i = 0; i < n; i++) {
		const uint8_t *h;
		hashbank_entry(bank, bench_rand() % hashbank_size(bank), &h, NULL);
		memcpy(q + 32 * i, h, len);
		uint8_t flipped[32] = {0};
		for (unsigned f = 0; f < k;) {
			unsigned bit = (unsigned)(bench_rand() % (8 * len));
			if (flipped[bit / 8] & (1u << (bit % 8)))
				continue;
			flipped[bit / 8] |= (uint8_t)(1u << (bit % 8));
			f++;
		}
		for (size_t b = 0; b < 32; b++)
			q[32 * i + b] ^= flipped[b];
	}
}

static void bench_pdq(size_t n, size_t nq)
{
	double build_ms;
	struct hashbank *bank = bench_load(HASHBANK_PDQ, n, &build_ms);
	uint8_t *q = malloc(32 * nq);
	if (!bank || !q) {
		fprintf(stderr, "bench_hashbank: cannot build a bank of %zu\n", n);
		exit(1);
	}
	double mib = (double)hashbank_memory(bank) / (1024 * 1024);
	for (size_t i = 0; i < nq; i++)
		bench_random_hash(q + 32 * i, 32);
	size_t hits;
	double rate = bench_queries(bank, q, nq, BENCH_MAX_DISTANCE, &hits);
	printf("hashbank pdq %zu hashes  build %.0f ms  %.1f MiB (%.0f B/hash)  within %d: "
	       "random queries %.0f/s (%zu hits)\n",
	       n, build_ms, mib, (double)hashbank_memory(bank) / (double)n, BENCH_MAX_DISTANCE,
	       rate, hits);
	static const unsigned ks[] = {0, 16, 31, 32, 40};
	printf("hashbank pdq %zu hashes  within %d: near queries", n, BENCH_MAX_DISTANCE);
	for (size_t i = 0; i < sizeof(ks) / sizeof(ks[0]); i++) {
		bench_near(bank, q, nq, ks[i]);
		rate = bench_queries(bank, q, nq, BENCH_MAX_DISTANCE, &hits);
		printf("  (%u bits) %.0f/s %.0f%% hit", ks[i], rate,
		       100.0 * (double)hits / (double)nq);
	}
	printf("\n");
	/* Other thresholds rules may choose, on random queries (a tenth as many). */
	size_t nt = nq / 10 ? nq / 10 : 1;
	for (size_t i = 0; i < nt; i++)
		bench_random_hash(q + 32 * i, 32);
	printf("hashbank pdq %zu hashes  random queries", n);
	static const unsigned maxes[] = {15, 23, 31, 39, 47, 55, 63};
	for (size_t i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++)
		printf("  within %u %.0f/s", maxes[i], bench_queries(bank, q, nt, maxes[i], &hits));
	printf("\n");
	/* For scale: the same bank without its index (a query beyond 63 bits scans). */
	size_t nl = nq / 1000 ? nq / 1000 : 1;
	rate = bench_queries(bank, q, nl, 64, &hits);
	printf("hashbank pdq %zu hashes  linear scan (within 64) %.0f/s\n", n, rate);
	free(q);
	hashbank_free(bank);
}

static void bench_exact(enum hashbank_algo algo, size_t n, size_t nq)
{
	double build_ms;
	struct hashbank *bank = bench_load(algo, n, &build_ms);
	uint8_t *q = malloc(32 * nq);
	if (!bank || !q) {
		fprintf(stderr, "bench_hashbank: cannot build a bank of %zu\n", n);
		exit(1);
	}
	size_t hits;
	for (size_t i = 0; i < nq; i++)
		bench_random_hash(q + 32 * i, 32);
	double miss = bench_queries(bank, q, nq, 0, &hits);
	bench_near(bank, q, nq, 0);
	double hit = bench_queries(bank, q, nq, 0, &hits);
	printf("hashbank %s %zu hashes  build %.0f ms  %.1f MiB  random queries %.0f/s  "
	       "bank entries %.0f/s (%zu hits)\n",
	       hashbank_algo_name(algo), n, build_ms, (double)hashbank_memory(bank) / (1024 * 1024),
	       miss, hit, hits);
	free(q);
	hashbank_free(bank);
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
	size_t nq = argc > 2 ? strtoul(argv[2], NULL, 10) : 200000;
	if (!n || !nq) {
		fprintf(stderr, "usage: bench_hashbank [HASHES [QUERIES]]\n");
		return 2;
	}
	printf("hashbank lookups/s: one thread's CPU time, best of 3 runs of %zu queries\n", nq);
	bench_pdq(n / 10, nq);
	bench_pdq(n, nq);
	bench_exact(HASHBANK_SHA256, n, nq);
	bench_exact(HASHBANK_MD5, n, nq);
	return 0;
}
