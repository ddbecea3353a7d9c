/* Unit tests for hash banks (hashbank.c): parsing, exact and near matches, the index against a
 * linear scan, and queries from two threads. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hashbank.h"

/* A PDQ bank large enough to be indexed. */
#define INDEXED (HASHBANK_INDEX_MIN_ENTRIES + 100)

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void random_hash(uint8_t *h, size_t len)
{
	for (size_t i = 0; i < len; i++)
		h[i] = (uint8_t)rnd();
}

static void hex(const uint8_t *h, size_t len, char *out)
{
	for (size_t i = 0; i < len; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

/* Flips bit B (0..255) of H. */
static void flip(uint8_t *h, unsigned b)
{
	h[b / 8] ^= (uint8_t)(1u << (b % 8));
}

/* Flips K distinct random bits of H. */
static void flip_random(uint8_t *h, unsigned k)
{
	uint8_t done[32] = {0};
	for (unsigned f = 0; f < k;) {
		unsigned b = (unsigned)(rnd() % 256);
		if (done[b / 8] & (1u << (b % 8)))
			continue;
		done[b / 8] |= (uint8_t)(1u << (b % 8));
		flip(h, b);
		f++;
	}
}

static unsigned distance(const uint8_t *a, const uint8_t *b)
{
	unsigned d = 0;
	for (int i = 0; i < 4; i++) {
		uint64_t x, y;
		memcpy(&x, a + 8 * i, 8);
		memcpy(&y, b + 8 * i, 8);
		d += (unsigned)__builtin_popcountll(x ^ y);
	}
	return d;
}

static int scan(const uint8_t *hashes, size_t n, const uint8_t *q, unsigned max, size_t *index,
		unsigned *d);

/* A growing bank file. */
struct text {
	char *s;
	size_t len, cap;
};

static void add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	ck_assert_int_ge(n, 0);
	while (t->len + (size_t)n + 1 > t->cap) {
		t->cap = t->cap ? t->cap * 2 : 4096;
		t->s = realloc(t->s, t->cap);
		ck_assert_ptr_nonnull(t->s);
	}
	va_start(ap, fmt);
	vsnprintf(t->s + t->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

static void add_hash(struct text *t, const uint8_t *h, size_t len, const char *label)
{
	char x[2 * HASHBANK_MAX_HASH + 1];
	hex(h, len, x);
	if (label)
		add(t, "%s,%s\n", x, label);
	else
		add(t, "%s\n", x);
}

/* Loads TEXT, which must be good. */
static struct hashbank *load(enum hashbank_algo algo, const char *text, size_t len)
{
	struct diag_list errs = {0};
	struct hashbank *b = NULL;
	int rc = hashbank_load("test", algo, "bank.txt", text, len, NULL, &errs, &b);
	if (rc != 0)
		diag_print(&errs, stderr);
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(errs.n_errors, 0);
	ck_assert_ptr_nonnull(b);
	diag_clear(&errs);
	return b;
}

/* A PDQ bank of N random hashes (into HASHES, 32 * N bytes) with TARGET first when given. */
static struct hashbank *random_bank(size_t n, uint8_t *hashes, const uint8_t *target)
{
	struct text t = {0};
	for (size_t i = 0; i < n; i++) {
		if (i == 0 && target)
			memcpy(hashes, target, 32);
		else
			random_hash(hashes + 32 * i, 32);
		add_hash(&t, hashes + 32 * i, 32, NULL);
	}
	struct hashbank *b = load(HASHBANK_PDQ, t.s, t.len);
	free(t.s);
	return b;
}

START_TEST(threshold_edges)
{
	/* Bits differing spread over every chunk and half, and packed into one chunk: the
	 * index's pigeonhole at its edge either way; in a small (scanned) and a large bank. */
	static const size_t sizes[] = {1, INDEXED};
	for (size_t s = 0; s < 2; s++) {
		for (int layout = 0; layout < 3; layout++) {
			uint8_t target[32], *hashes = malloc(32 * sizes[s]);
			random_hash(target, 32);
			struct hashbank *b = random_bank(sizes[s], hashes, target);
			for (unsigned k = 30; k <= 32; k++) {
				uint8_t q[32];
				memcpy(q, target, 32);
				/* 0: round robin over the 16 halves; 1: the lowest bits
				 * first (one chunk); 2: random. */
				for (unsigned i = 0; layout < 2 && i < k; i++)
					flip(q, layout == 0 ? (i % 16) * 16 + i / 16 : i);
				if (layout == 2)
					flip_random(q, k);
				ck_assert_uint_eq(distance(q, target), k);
				struct hashbank_hit hit;
				int rc = hashbank_match(b, q, 31, &hit);
				if (k <= 31) {
					ck_assert_msg(rc == 1, "size %zu layout %d: %u bits missed",
						      sizes[s], layout, k);
					ck_assert_uint_eq(hit.index, 0);
					ck_assert_uint_eq(hit.distance, k);
					ck_assert_mem_eq(hit.hash, target, 32);
				} else {
					ck_assert_msg(rc == 0,
						      "size %zu layout %d: %u bits matched",
						      sizes[s], layout, k);
				}
			}
			hashbank_free(b);
			free(hashes);
		}
	}
}
END_TEST

/* For t in [T0, T1]: a query 8t + 7 bits from entry 0 of B (TARGET): t + 1 bits in seven
 * chunks and t in the last, those t split between its halves in every way. Only that chunk can
 * find the entry, through either table; one bit less may not find it. */
static void chunk_splits(const struct hashbank *b, const uint8_t *target, unsigned t0, unsigned t1)
{
	for (unsigned t = t0; t <= t1; t++) {
		for (unsigned last = 0; last < 8; last++) {
			for (unsigned hi = 0; hi <= t; hi++) {
				uint8_t q[32];
				memcpy(q, target, 32);
				for (unsigned c = 0; c < 8; c++) {
					unsigned nh = c == last ? hi : (t + 1) / 2;
					unsigned nl = c == last ? t - hi : t + 1 - nh;
					/* Bytes 4c, 4c+1 are the high half, 4c+2, 4c+3 the low. */
					for (unsigned i = 0; i < nh; i++)
						flip(q, (4 * c) * 8 + 2 * i);
					for (unsigned i = 0; i < nl; i++)
						flip(q, (4 * c + 2) * 8 + 2 * i);
				}
				unsigned max = 8 * t + 7;
				ck_assert_uint_eq(distance(q, target), max);
				struct hashbank_hit hit;
				ck_assert_msg(hashbank_match(b, q, max, &hit) == 1,
					      "t %u, chunk %u split %u:%u missed", t, last, hi,
					      t - hi);
				ck_assert_uint_eq(hit.index, 0);
				ck_assert_uint_eq(hit.distance, max);
				ck_assert_int_eq(hashbank_match(b, q, max - 1, &hit), 0);
			}
		}
	}
}

START_TEST(every_chunk_split_at_the_edge)
{
	uint8_t target[32], *hashes = malloc(32 * INDEXED);
	random_hash(target, 32);
	struct hashbank *b = random_bank(INDEXED, hashes, target);
	chunk_splits(b, target, 0, 7);
	hashbank_free(b);
	free(hashes);
}
END_TEST

START_TEST(wide_queries_on_a_large_bank)
{
	/* From 1 << 18 hashes (HB_INDEX_WIDE_MIN_ENTRIES in hashbank.c) queries within 48 to 55
	 * bits go through the index too, probing keys within 3 bits. */
	enum { N = (1 << 18) + 16 };
	uint8_t target[32], *hashes = malloc(32 * (size_t)N);
	random_hash(target, 32);
	struct hashbank *b = random_bank(N, hashes, target);
	chunk_splits(b, target, 6, 6);
	for (int i = 0; i < 40; i++) {
		uint8_t q[32];
		memcpy(q, hashes + 32 * (rnd() % N), 32);
		flip_random(q, 40 + (unsigned)(rnd() % 20));
		unsigned max = 48 + (unsigned)(rnd() % 8);
		size_t wi = 0;
		unsigned wd = 0;
		int want = scan(hashes, N, q, max, &wi, &wd);
		struct hashbank_hit hit;
		ck_assert_int_eq(hashbank_match(b, q, max, &hit), want);
		if (want) {
			ck_assert_uint_eq(hit.index, wi);
			ck_assert_uint_eq(hit.distance, wd);
		}
	}
	hashbank_free(b);
	free(hashes);
}
END_TEST

START_TEST(entries_sharing_a_chunk)
{
	/* Three entries share chunk 7, 3 bits from the query's in its high half (so only the
	 * low-half table finds them there), and are at least 4 bits off in every other chunk:
	 * 38, 38 and 31 bits from the query. The third must be found behind the other two. */
	uint8_t q[32], e[3][32];
	random_hash(q, 32);
	struct text t = {0};
	for (int i = 0; i < 3; i++) {
		memcpy(e[i], q, 32);
		for (unsigned b = 0; b < 3; b++)
			flip(e[i], 28 * 8 + b);
		unsigned per = i < 2 ? 5 : 4;
		for (unsigned c = 0; c < 7; c++)
			for (unsigned b = 0; b < per; b++)
				flip(e[i], 32 * c + (b * 6 + (unsigned)i) % 32);
		add_hash(&t, e[i], 32, NULL);
	}
	ck_assert_uint_eq(distance(e[0], q), 38);
	ck_assert_uint_eq(distance(e[1], q), 38);
	ck_assert_uint_eq(distance(e[2], q), 31);
	for (size_t i = 0; i < INDEXED; i++) {
		uint8_t r[32];
		random_hash(r, 32);
		add_hash(&t, r, 32, NULL);
	}
	struct hashbank *b = load(HASHBANK_PDQ, t.s, t.len);
	struct hashbank_hit hit;
	ck_assert_int_eq(hashbank_match(b, q, 31, &hit), 1);
	ck_assert_uint_eq(hit.index, 2);
	ck_assert_uint_eq(hit.distance, 31);
	ck_assert_int_eq(hashbank_match(b, q, 38, &hit), 1);
	ck_assert_uint_eq(hit.index, 2);
	ck_assert_int_eq(hashbank_match(b, q, 30, &hit), 0);
	hashbank_free(b);
	free(t.s);
}
END_TEST

START_TEST(nearest_of_several)
{
	static const size_t sizes[] = {5, INDEXED};
	for (size_t s = 0; s < 2; s++) {
		uint8_t q[32], h[5][32];
		random_hash(q, 32);
		/* Entries 1..4 at 20, 10, 15 and 10 bits from Q: entry 2 wins the tie with 4. */
		static const unsigned d[5] = {0, 20, 10, 15, 10};
		struct text t = {0};
		for (size_t i = 0; i < sizes[s]; i++) {
			uint8_t r[32];
			random_hash(r, 32);
			if (i >= 1 && i <= 4) {
				memcpy(r, q, 32);
				flip_random(r, d[i]);
				memcpy(h[i], r, 32);
			}
			char label[32];
			snprintf(label, sizeof(label), "e%zu", i);
			add_hash(&t, r, 32, label);
		}
		struct hashbank *b = load(HASHBANK_PDQ, t.s, t.len);
		struct hashbank_hit hit;
		ck_assert_int_eq(hashbank_match(b, q, 31, &hit), 1);
		ck_assert_uint_eq(hit.index, 2);
		ck_assert_uint_eq(hit.distance, 10);
		ck_assert_str_eq(hit.label, "e2");
		ck_assert_mem_eq(hit.hash, h[2], 32);
		ck_assert_int_eq(hashbank_match(b, q, 9, &hit), 0);
		ck_assert_int_eq(hashbank_match(b, q, 15, &hit), 1);
		ck_assert_uint_eq(hit.index, 2);
		hashbank_free(b);
		free(t.s);
	}
}
END_TEST

START_TEST(exact_algorithms)
{
	static const enum hashbank_algo algos[] = {HASHBANK_MD5, HASHBANK_SHA256};
	for (size_t a = 0; a < 2; a++) {
		size_t len = hashbank_hash_bytes(algos[a]);
		enum { N = 2000 };
		uint8_t *h = malloc(N * len);
		struct text t = {0};
		for (size_t i = 0; i < N; i++) {
			random_hash(h + i * len, len);
			if (i == 7) /* a bucket of its own first two bytes, shared */
				memcpy(h + i * len, h, 2);
			char label[32];
			snprintf(label, sizeof(label), "l%zu", i);
			add_hash(&t, h + i * len, len, label);
		}
		struct hashbank *b = load(algos[a], t.s, t.len);
		ck_assert_uint_eq(hashbank_size(b), N);
		ck_assert_int_eq(hashbank_algo(b), algos[a]);
		for (size_t i = 0; i < N; i++) {
			struct hashbank_hit hit;
			ck_assert_int_eq(hashbank_match(b, h + i * len, 0, &hit), 1);
			ck_assert_uint_eq(hit.index, i);
			ck_assert_uint_eq(hit.distance, 0);
			char label[32];
			snprintf(label, sizeof(label), "l%zu", i);
			ck_assert_str_eq(hit.label, label);
			/* One bit off is a miss whatever the distance asked. */
			uint8_t q[HASHBANK_MAX_HASH];
			memcpy(q, h + i * len, len);
			q[len - 1] ^= 1;
			ck_assert_int_eq(hashbank_match(b, q, 255, &hit), 0);
			q[len - 1] ^= 1;
			q[0] ^= 0x80;
			ck_assert_int_eq(hashbank_match(b, q, 255, &hit), 0);
		}
		hashbank_free(b);
		free(h);
		free(t.s);
	}
}
END_TEST

START_TEST(hex_in_either_case)
{
	uint8_t a[32], b[32];
	const char *lower = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	const char *mixed = "0123456789ABCDEF0123456789abcdef0123456789AbCdEf0123456789aBcDeF";
	ck_assert_int_eq(hashbank_parse_hex(HASHBANK_PDQ, lower, 64, a), 0);
	ck_assert_int_eq(hashbank_parse_hex(HASHBANK_SHA256, mixed, 64, b), 0);
	ck_assert_mem_eq(a, b, 32);
	ck_assert_uint_eq(a[0], 0x01);
	ck_assert_uint_eq(a[7], 0xef);
	ck_assert_int_eq(hashbank_parse_hex(HASHBANK_MD5, lower, 32, a), 0);
	ck_assert_uint_eq(a[15], 0xef);
	/* Wrong lengths and digits. */
	ck_assert_int_eq(hashbank_parse_hex(HASHBANK_MD5, lower, 64, a), -EINVAL);
	ck_assert_int_eq(hashbank_parse_hex(HASHBANK_PDQ, lower, 63, a), -EINVAL);
	ck_assert_int_eq(hashbank_parse_hex(HASHBANK_PDQ,
					    "g123456789abcdef0123456789abcdef0123456789abcdef"
					    "0123456789abcdef",
					    64, a),
			 -EINVAL);
	ck_assert_int_eq(
		hashbank_parse_hex(HASHBANK_MD5, "0x23456789abcdef0123456789abcdef", 32, a),
		-EINVAL);
	/* In a bank file, either case finds the same entry. */
	char text[200];
	snprintf(text, sizeof(text), "%s,upper\n", mixed);
	struct hashbank *bank = load(HASHBANK_PDQ, text, strlen(text));
	struct hashbank_hit hit;
	ck_assert_int_eq(hashbank_match(bank, b, 0, &hit), 1);
	ck_assert_str_eq(hit.label, "upper");
	hashbank_free(bank);
}
END_TEST

START_TEST(labels_comments_and_blank_lines)
{
	const char *text = "# exported 2024-05-01\n"
			   "\n"
			   "00000000000000000000000000000001,terror: set 4\n"
			   "00000000000000000000000000000002 with a space\n"
			   "00000000000000000000000000000003\tafter a tab  \r\n"
			   "   00000000000000000000000000000004 , spaced comma\n"
			   "00000000000000000000000000000005\n"
			   "00000000000000000000000000000006,\n"
			   "\t# indented comment\n"
			   "   \t \r\n"
			   "00000000000000000000000000000007,Dünya ∑ 日本\n"
			   "00000000000000000000000000000008,a,b,c";
	struct hashbank *b = load(HASHBANK_MD5, text, strlen(text));
	static const char *const want[] = {
		"terror: set 4", "with a space", "after a tab", "spaced comma", "", "",
		"Dünya ∑ 日本",  "a,b,c"};
	ck_assert_uint_eq(hashbank_size(b), 8);
	for (size_t i = 0; i < 8; i++) {
		uint8_t q[16] = {0};
		q[15] = (uint8_t)(i + 1);
		struct hashbank_hit hit;
		ck_assert_int_eq(hashbank_match(b, q, 0, &hit), 1);
		ck_assert_uint_eq(hit.index, i);
		ck_assert_str_eq(hit.label, want[i]);
		const char *label;
		const uint8_t *h;
		ck_assert_int_eq(hashbank_entry(b, i, &h, &label), 0);
		ck_assert_str_eq(label, want[i]);
		ck_assert_mem_eq(h, q, 16);
	}
	ck_assert_int_eq(hashbank_entry(b, 8, NULL, NULL), -ERANGE);
	ck_assert_str_eq(hashbank_name(b), "test");
	hashbank_free(b);
}
END_TEST

START_TEST(duplicates_merge)
{
	const char *text = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,first\n"
			   "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n"
			   "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA,second\n"
			   "cccccccccccccccccccccccccccccccc,c\n"
			   "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb,late label\n"
			   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
			   "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb,later label\n";
	struct hashbank *b = load(HASHBANK_MD5, text, strlen(text));
	ck_assert_uint_eq(hashbank_size(b), 3);
	ck_assert_uint_eq(hashbank_duplicates(b), 4);
	uint8_t q[16];
	struct hashbank_hit hit;
	memset(q, 0xaa, 16);
	ck_assert_int_eq(hashbank_match(b, q, 0, &hit), 1);
	ck_assert_uint_eq(hit.index, 0);
	ck_assert_str_eq(hit.label, "first");
	/* An unlabelled first line takes the first label given later. */
	memset(q, 0xbb, 16);
	ck_assert_int_eq(hashbank_match(b, q, 0, &hit), 1);
	ck_assert_uint_eq(hit.index, 1);
	ck_assert_str_eq(hit.label, "late label");
	memset(q, 0xcc, 16);
	ck_assert_int_eq(hashbank_match(b, q, 0, &hit), 1);
	ck_assert_uint_eq(hit.index, 2);
	hashbank_free(b);

	/* In an indexed PDQ bank too: the merged entry keeps its number and label. */
	uint8_t *hashes = malloc(32 * INDEXED);
	struct text t = {0};
	for (size_t i = 0; i < INDEXED; i++) {
		random_hash(hashes + 32 * i, 32);
		add_hash(&t, hashes + 32 * i, 32, i == 10 ? "ten" : NULL);
	}
	add_hash(&t, hashes + 32 * 10, 32, "again");
	add_hash(&t, hashes + 32 * 11, 32, "eleven");
	b = load(HASHBANK_PDQ, t.s, t.len);
	ck_assert_uint_eq(hashbank_size(b), INDEXED);
	ck_assert_uint_eq(hashbank_duplicates(b), 2);
	ck_assert_int_eq(hashbank_match(b, hashes + 32 * 10, 31, &hit), 1);
	ck_assert_uint_eq(hit.index, 10);
	ck_assert_uint_eq(hit.distance, 0);
	ck_assert_str_eq(hit.label, "ten");
	ck_assert_int_eq(hashbank_match(b, hashes + 32 * 11, 31, &hit), 1);
	ck_assert_str_eq(hit.label, "eleven");
	hashbank_free(b);
	free(hashes);
	free(t.s);
}
END_TEST

/* Loads TEXT expecting failure; returns the errors. */
static struct diag_list load_bad(enum hashbank_algo algo, const char *text, size_t len,
				 const struct hashbank_limits *lim, int want_rc)
{
	struct diag_list errs = {0};
	struct hashbank *b = (struct hashbank *)&errs; /* must be cleared */
	int rc = hashbank_load("bad", algo, "bad.txt", text, len, lim, &errs, &b);
	ck_assert_int_eq(rc, want_rc);
	ck_assert_ptr_null(b);
	ck_assert_uint_gt(errs.n_errors, 0);
	return errs;
}

static void assert_diag(const struct diag_list *errs, size_t i, int line, int col,
			const char *needle)
{
	ck_assert_uint_gt(errs->n, i);
	const struct diag *d = &errs->v[i];
	ck_assert_int_eq(d->severity, DIAG_ERROR);
	ck_assert_str_eq(d->file, "bad.txt");
	ck_assert_str_eq(d->key, "bad");
	ck_assert_msg(d->line == line && d->col == col, "finding %zu at %d:%d, expected %d:%d: %s",
		      i, d->line, d->col, line, col, d->msg);
	ck_assert_msg(strstr(d->msg, needle), "finding %zu: \"%s\" lacks \"%s\"", i, d->msg,
		      needle);
}

START_TEST(malformed_lines_with_positions)
{
	char text[4096];
	const char *good = "0123456789abcdef0123456789abcdef";
	char longline[HASHBANK_MAX_LINE + 40];
	snprintf(longline, sizeof(longline), "%s,", good);
	memset(longline + 33, 'x', sizeof(longline) - 34);
	longline[sizeof(longline) - 1] = '\0';
	int n = snprintf(
		text, sizeof(text),
		"%s,fine\n"                             /* 1 */
		"0123456789abcdef0123456789abcde\n"     /* 2: 31 digits */
		"0123456789abcdef0123456789abcdef0\n"   /* 3: 33 digits */
		"0123456789abcdeg0123456789abcdef\n"    /* 4: a g */
		"%s;semicolon\n"                        /* 5 */
		"%s,bell\a\n"                           /* 6 */
		"%s,bad \xc3\x28 utf8\n"                /* 7 */
		"hash,label\n"                          /* 8: a CSV header */
		"%s\n"                                  /* 9: too long */
		"%s,overlong \xc0\xaf\n"                /* 10 */
		"  -0123456789abcdef0123456789abcdef\n" /* 11 */
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n" /* 12 */
		"%s,after\n",                                                        /* 13: fine */
		good, good, good, good, longline, good, good);
	ck_assert_int_gt(n, 0);
	/* 14: a NUL byte inside a label */
	memcpy(text + n, "0123456789abcdef0123456789abcdef,nul\0byte\n", 42);
	n += 42;
	struct diag_list errs = load_bad(HASHBANK_MD5, text, (size_t)n, NULL, -EINVAL);
	ck_assert_uint_eq(errs.n, 12);
	ck_assert_uint_eq(errs.n_errors, 12);
	assert_diag(&errs, 0, 2, 1, "32 hex digits, found 31");
	assert_diag(&errs, 1, 3, 1, "32 hex digits, found 33");
	assert_diag(&errs, 2, 4, 16, "found 'g' at digit 16");
	assert_diag(&errs, 3, 5, 33, "found ';'");
	assert_diag(&errs, 4, 6, 38, "0x07");
	assert_diag(&errs, 5, 7, 38, "0xc3");
	assert_diag(&errs, 6, 8, 1, "found 'h' at digit 1");
	assert_diag(&errs, 7, 9, HASHBANK_MAX_LINE + 1, "longer than 1024 bytes");
	assert_diag(&errs, 8, 10, 43, "0xc0");
	assert_diag(&errs, 9, 11, 3, "found '-' at digit 1");
	assert_diag(&errs, 10, 12, 1, "found 64");
	assert_diag(&errs, 11, 14, 37, "0x00");
	diag_clear(&errs);
}
END_TEST

START_TEST(bad_lines_are_counted_past_the_limit)
{
	struct text t = {0};
	for (int i = 0; i < HASHBANK_MAX_ERRORS + 50; i++)
		add(&t, "not a hash %d\n", i);
	struct diag_list errs = load_bad(HASHBANK_PDQ, t.s, t.len, NULL, -EINVAL);
	ck_assert_uint_eq(errs.n, HASHBANK_MAX_ERRORS + 1);
	ck_assert_int_eq(errs.v[HASHBANK_MAX_ERRORS - 1].line, HASHBANK_MAX_ERRORS);
	assert_diag(&errs, HASHBANK_MAX_ERRORS, HASHBANK_MAX_ERRORS + 1, 1, "50 more bad lines");
	diag_clear(&errs);
	free(t.s);
}
END_TEST

START_TEST(bounds_on_size_and_entries)
{
	struct text t = {0};
	uint8_t h[32];
	for (int i = 0; i < 10; i++) {
		random_hash(h, 32);
		add_hash(&t, h, 32, "x");
	}
	/* Over the byte bound: refused whole, no line read. */
	struct hashbank_limits lim = {.max_file_bytes = t.len - 1};
	struct diag_list errs = load_bad(HASHBANK_PDQ, t.s, t.len, &lim, -EFBIG);
	ck_assert_uint_eq(errs.n, 1);
	assert_diag(&errs, 0, 0, 0, "more than");
	diag_clear(&errs);
	lim.max_file_bytes = t.len;
	struct hashbank *b = NULL;
	ck_assert_int_eq(hashbank_load("ok", HASHBANK_PDQ, "ok.txt", t.s, t.len, &lim, &errs, &b),
			 0);
	hashbank_free(b);
	/* Over the entry bound: the line past it is the error. */
	lim = (struct hashbank_limits){.max_entries = 9};
	errs = load_bad(HASHBANK_PDQ, t.s, t.len, &lim, -EINVAL);
	ck_assert_uint_eq(errs.n, 1);
	assert_diag(&errs, 0, 10, 1, "more than 9 hashes");
	diag_clear(&errs);

	/* The same through a file. */
	char path[] = "/tmp/test_hashbank.XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, t.s, t.len), (ssize_t)t.len);
	close(fd);
	lim = (struct hashbank_limits){.max_file_bytes = t.len - 1};
	ck_assert_int_eq(hashbank_load_file("f", HASHBANK_PDQ, path, &lim, &errs, &b), -EFBIG);
	ck_assert_ptr_null(b);
	ck_assert_uint_eq(errs.n_errors, 1);
	ck_assert_int_eq(errs.v[0].line, 0);
	diag_clear(&errs);
	lim.max_file_bytes = t.len;
	ck_assert_int_eq(hashbank_load_file("f", HASHBANK_PDQ, path, &lim, &errs, &b), 0);
	ck_assert_uint_eq(hashbank_size(b), 10);
	ck_assert_uint_eq(errs.n, 0);
	hashbank_free(b);
	unlink(path);
	ck_assert_int_eq(hashbank_load_file("f", HASHBANK_PDQ, path, NULL, &errs, &b), -ENOENT);
	ck_assert_ptr_null(b);
	ck_assert_uint_eq(errs.n_errors, 1);
	ck_assert_ptr_nonnull(strstr(errs.v[0].msg, "cannot open"));
	diag_clear(&errs);
	free(t.s);
}
END_TEST

START_TEST(empty_bank_loads_with_a_warning)
{
	const char *text = "# nothing yet\n\n";
	struct diag_list errs = {0};
	struct hashbank *b = NULL;
	ck_assert_int_eq(
		hashbank_load("e", HASHBANK_PDQ, "e.txt", text, strlen(text), NULL, &errs, &b), 0);
	ck_assert_uint_eq(errs.n_errors, 0);
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_int_eq(errs.v[0].severity, DIAG_WARNING);
	ck_assert_uint_eq(hashbank_size(b), 0);
	uint8_t q[32] = {0};
	struct hashbank_hit hit;
	ck_assert_int_eq(hashbank_match(b, q, 256, &hit), 0);
	ck_assert_int_eq(hashbank_match(NULL, q, 31, &hit), -EINVAL);
	hashbank_free(b);
	diag_clear(&errs);
	/* The same for an exact bank, and no text at all. */
	ck_assert_int_eq(hashbank_load("e", HASHBANK_SHA256, "e.txt", NULL, 0, NULL, &errs, &b), 0);
	ck_assert_int_eq(hashbank_match(b, q, 0, &hit), 0);
	hashbank_free(b);
	diag_clear(&errs);
}
END_TEST

START_TEST(algorithm_names)
{
	enum hashbank_algo a;
	ck_assert_int_eq(hashbank_algo_parse("PDQ", &a), 0);
	ck_assert_int_eq(a, HASHBANK_PDQ);
	ck_assert_int_eq(hashbank_algo_parse("md5", &a), 0);
	ck_assert_int_eq(a, HASHBANK_MD5);
	ck_assert_int_eq(hashbank_algo_parse("sha-256", &a), 0);
	ck_assert_int_eq(a, HASHBANK_SHA256);
	ck_assert_int_eq(hashbank_algo_parse("sha1", &a), -EINVAL);
	ck_assert_str_eq(hashbank_algo_name(HASHBANK_SHA256), "sha256");
	ck_assert_uint_eq(hashbank_hash_bytes(HASHBANK_MD5), 16);
	ck_assert_uint_eq(hashbank_hash_bytes((enum hashbank_algo)7), 0);
}
END_TEST

/* The answer a linear scan gives: nearest within MAX, the first of equals. */
static int scan(const uint8_t *hashes, size_t n, const uint8_t *q, unsigned max, size_t *index,
		unsigned *d)
{
	int found = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned di = distance(hashes + 32 * i, q);
		if (di <= max && (!found || di < *d)) {
			found = 1;
			*d = di;
			*index = i;
		}
	}
	return found;
}

/* A bank of N entries around a few seeds (so chunk values repeat, buckets crowd and
 * distances tie) or uniformly random. */
static struct hashbank *cross_bank(size_t n, bool clustered, uint8_t *hashes)
{
	uint8_t seeds[4][32];
	for (int s = 0; s < 4; s++)
		random_hash(seeds[s], 32);
	struct text t = {0};
	for (size_t i = 0; i < n; i++) {
		uint8_t *h = hashes + 32 * i;
		if (clustered) {
			memcpy(h, seeds[rnd() % 4], 32);
			flip_random(h, (unsigned)(rnd() % 48));
			/* Repeats are merged: keep the numbering the scan uses unique. */
			for (size_t j = 0; j < i; j++) {
				if (!memcmp(h, hashes + 32 * j, 32)) {
					flip_random(h, 1);
					j = (size_t)-1;
				}
			}
		} else {
			random_hash(h, 32);
		}
		add_hash(&t, h, 32, NULL);
	}
	struct hashbank *b = load(HASHBANK_PDQ, t.s, t.len);
	ck_assert_uint_eq(hashbank_size(b), n);
	free(t.s);
	return b;
}

START_TEST(index_agrees_with_a_linear_scan)
{
	static const unsigned maxes[] = {0, 5, 8, 15, 16, 23, 31, 32, 40, 47, 48, 63, 64, 100};
	/* Uniform and clustered banks through the index, and a clustered one scanned. */
	for (int run = 0; run < 3; run++) {
		bool clustered = run > 0;
		size_t n = run == 2 ? 500 : INDEXED;
		uint8_t *hashes = malloc(32 * n);
		struct hashbank *b = cross_bank(n, clustered, hashes);
		size_t hits = 0;
		for (int i = 0; i < 3000; i++) {
			uint8_t q[32];
			if (i % 4 == 0) {
				random_hash(q, 32);
			} else {
				memcpy(q, hashes + 32 * (rnd() % n), 32);
				flip_random(q, (unsigned)(rnd() % 56));
			}
			unsigned max = maxes[rnd() % (sizeof(maxes) / sizeof(maxes[0]))];
			size_t wi = 0;
			unsigned wd = 0;
			int want = scan(hashes, n, q, max, &wi, &wd);
			struct hashbank_hit hit;
			int got = hashbank_match(b, q, max, &hit);
			ck_assert_msg(got == want, "query %d within %u: %d, the scan %d", i, max,
				      got, want);
			if (want) {
				ck_assert_msg(
					hit.index == wi && hit.distance == wd,
					"query %d within %u: entry %zu at %u, the scan %zu at %u",
					i, max, hit.index, hit.distance, wi, wd);
				hits++;
			}
		}
		/* Both answers occur often enough to mean something. */
		ck_assert_uint_gt(hits, 500);
		ck_assert_uint_lt(hits, 2900);
		hashbank_free(b);
		free(hashes);
	}
}
END_TEST

START_TEST(degenerate_bank_agrees_with_a_scan)
{
	/* Every entry shares chunks 0 to 6 with every other: buckets of the whole bank, every
	 * entry a candidate in seven chunks. Slow by design, still right. */
	uint8_t base[32], *hashes = malloc(32 * INDEXED);
	random_hash(base, 32);
	struct text t = {0};
	for (size_t i = 0; i < INDEXED; i++) {
		uint8_t *h = hashes + 32 * i;
		memcpy(h, base, 28);
		uint32_t v = (uint32_t)i * 2654435761u; /* distinct for distinct i */
		memcpy(h + 28, &v, 4);
		add_hash(&t, h, 32, NULL);
	}
	struct hashbank *b = load(HASHBANK_PDQ, t.s, t.len);
	ck_assert_uint_eq(hashbank_size(b), INDEXED);
	for (int i = 0; i < 200; i++) {
		uint8_t q[32];
		memcpy(q, hashes + 32 * (rnd() % INDEXED), 32);
		flip_random(q, (unsigned)(rnd() % 40));
		unsigned max = (unsigned)(rnd() % 40);
		size_t wi = 0;
		unsigned wd = 0;
		int want = scan(hashes, INDEXED, q, max, &wi, &wd);
		struct hashbank_hit hit;
		ck_assert_int_eq(hashbank_match(b, q, max, &hit), want);
		if (want) {
			ck_assert_uint_eq(hit.index, wi);
			ck_assert_uint_eq(hit.distance, wd);
		}
	}
	hashbank_free(b);
	free(hashes);
	free(t.s);
}
END_TEST

struct thread_job {
	const struct hashbank *bank;
	const uint8_t *queries;
	size_t n;
	long *answers; /* index, or -1 */
};

static void *thread_run(void *arg)
{
	struct thread_job *j = arg;
	for (int rep = 0; rep < 5; rep++) {
		for (size_t i = 0; i < j->n; i++) {
			struct hashbank_hit hit;
			int rc = hashbank_match(j->bank, j->queries + 32 * i, 31, &hit);
			long a = rc == 1 ? (long)hit.index * 1000 + hit.distance : -1;
			if (rep == 0)
				j->answers[i] = a;
			else if (j->answers[i] != a)
				j->answers[i] = -2; /* changed between runs */
		}
	}
	return NULL;
}

START_TEST(queries_from_two_threads)
{
	enum { N = 20000, Q = 4000 };
	uint8_t *hashes = malloc(32 * N), *queries = malloc(32 * Q);
	struct hashbank *b = cross_bank(N, false, hashes);
	for (size_t i = 0; i < Q; i++) {
		memcpy(queries + 32 * i, hashes + 32 * (rnd() % N), 32);
		flip_random(queries + 32 * i, (unsigned)(rnd() % 40));
	}
	long *alone = malloc(Q * sizeof(long)), *t1 = malloc(Q * sizeof(long)),
	     *t2 = malloc(Q * sizeof(long));
	struct thread_job j0 = {b, queries, Q, alone}, j1 = {b, queries, Q, t1},
			  j2 = {b, queries, Q, t2};
	thread_run(&j0);
	pthread_t a, c;
	ck_assert_int_eq(pthread_create(&a, NULL, thread_run, &j1), 0);
	ck_assert_int_eq(pthread_create(&c, NULL, thread_run, &j2), 0);
	pthread_join(a, NULL);
	pthread_join(c, NULL);
	size_t hits = 0;
	for (size_t i = 0; i < Q; i++) {
		ck_assert_int_ne(alone[i], -2);
		ck_assert_int_eq(t1[i], alone[i]);
		ck_assert_int_eq(t2[i], alone[i]);
		hits += alone[i] >= 0;
	}
	ck_assert_uint_gt(hits, Q / 2);
	ck_assert_uint_lt(hits, Q);
	free(alone);
	free(t1);
	free(t2);
	hashbank_free(b);
	free(hashes);
	free(queries);
}
END_TEST

START_TEST(memory_is_accounted)
{
	uint8_t *hashes = malloc(32 * INDEXED);
	struct hashbank *big = random_bank(INDEXED, hashes, NULL);
	struct hashbank *small = random_bank(100, hashes, NULL);
	/* At least the hashes; the index costs more than the hashes alone. */
	ck_assert_uint_ge(hashbank_memory(small), 100 * 32);
	ck_assert_uint_lt(hashbank_memory(small), 100 * 32 + 4096);
	ck_assert_uint_gt(hashbank_memory(big), INDEXED * (32 + 8 * 8));
	hashbank_free(big);
	hashbank_free(small);
	free(hashes);
}
END_TEST

static Suite *hashbank_suite(void)
{
	Suite *s = suite_create("hashbank");
	TCase *tc = tcase_create("hashbank");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, threshold_edges);
	tcase_add_test(tc, every_chunk_split_at_the_edge);
	tcase_add_test(tc, wide_queries_on_a_large_bank);
	tcase_add_test(tc, entries_sharing_a_chunk);
	tcase_add_test(tc, nearest_of_several);
	tcase_add_test(tc, exact_algorithms);
	tcase_add_test(tc, hex_in_either_case);
	tcase_add_test(tc, labels_comments_and_blank_lines);
	tcase_add_test(tc, duplicates_merge);
	tcase_add_test(tc, malformed_lines_with_positions);
	tcase_add_test(tc, bad_lines_are_counted_past_the_limit);
	tcase_add_test(tc, bounds_on_size_and_entries);
	tcase_add_test(tc, empty_bank_loads_with_a_warning);
	tcase_add_test(tc, algorithm_names);
	tcase_add_test(tc, index_agrees_with_a_linear_scan);
	tcase_add_test(tc, degenerate_bank_agrees_with_a_scan);
	tcase_add_test(tc, queries_from_two_threads);
	tcase_add_test(tc, memory_is_accounted);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(hashbank_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
