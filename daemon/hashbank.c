/* Hash banks: bank files parsed into an immutable set, with a multi-index for PDQ near matches. */
#include "hashbank.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>

/*
 * The PDQ index is multi-index hashing (Norouzi, Punjani, Fleet) with a two-level pigeonhole.
 * The 256 bits are 8 chunks of 32 bits; if two hashes differ in at most r bits, some chunk
 * differs in at most t = floor(r / 8) bits, and within that chunk one of its two 16-bit halves
 * differs in at most floor(t / 2). So for each chunk there are two tables, one keyed by the
 * high half and one by the low half, and a query probes in each the keys within floor(t / 2)
 * of its own half (17 keys for r = 31: 272 buckets of some n / 65536 entries). A bucket holds
 * the other half of each entry's chunk ("sibling"), contiguous, so that the chunk's distance
 * filters the bucket without touching the entries: on random data one entry in 400 of those
 * scanned passes (some 10 per query at r = 31 in a bank of a million), and only those are
 * fetched and compared over 256 bits. Plain multi-index hashing (16 tables of 16-bit keys,
 * entry numbers only) costs the same memory but compares every entry of every bucket probed,
 * some 4,000 random reads per query: about 8 times slower here.
 * The high-half table also holds entry numbers; the low-half one does not: a sibling that
 * passes there gives the whole chunk value, which is found in the high-half table by binary
 * search (chunk values sorted in each bucket).
 * Memory per entry: 32 bytes of hash and 8 x (2 + 4 + 2) of tables; per bank, 16 x 256 KiB of
 * bucket offsets. Almost every read is a cache miss: queries prefetch a chunk ahead, and pass
 * candidates through a pipeline of prefetched steps (see hb_match_pdq and struct hb_cand).
 */
#define HB_CHUNKS 8
#define HB_KEYS 65536u
#define HB_MAX_MASKS 697 /* 16-bit masks of at most 3 bits: floor(t / 2) <= 3, r <= 63 */
/* Wider queries compare more candidates (a chunk within t bits grows fast with t): past 47
 * bits the index beats a scan of a million hashes (twice as fast at 55) but not one of
 * 100,000, and past 55 neither (bench_hashbank's "random queries within" line). */
#define HB_INDEX_MAX_DISTANCE 47
#define HB_INDEX_WIDE_DISTANCE 55
#define HB_INDEX_WIDE_MIN_ENTRIES (1u << 18)

struct hb_table {
	uint32_t *off; /* HB_KEYS + 1 bucket starts */
	uint16_t *sib; /* the other half of each entry's chunk, bucket after bucket */
};

struct hashbank {
	char *name;
	enum hashbank_algo algo;
	size_t hlen;
	size_t n, dups;
	uint8_t *arena;     /* one block: the hashes, then the index */
	uint8_t *hashes;    /* n * hlen, in entry order */
	uint32_t *label_at; /* n offsets into labels (0: none), or NULL when no entry has a label */
	char *labels;       /* NUL-terminated labels; labels[0] is "" */
	size_t memory;
	bool indexed; /* PDQ: false for a small bank, scanned */
	/* PDQ: per chunk, the table keyed by its high half (with entry numbers) and by its low. */
	struct hb_table hi[HB_CHUNKS], lo[HB_CHUNKS];
	uint32_t *hi_ids[HB_CHUNKS];
	/* MD5, SHA-256: entry numbers sorted by hash, bucketed by the first two bytes. */
	uint32_t *sorted, *prefix;
};

static const struct {
	const char *name;
	size_t bytes;
} hb_algos[] = {
	[HASHBANK_PDQ] = {"pdq", 32},
	[HASHBANK_MD5] = {"md5", 16},
	[HASHBANK_SHA256] = {"sha256", 32},
};

int hashbank_algo_parse(const char *name, enum hashbank_algo *out)
{
	if (!name || !out)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(hb_algos) / sizeof(hb_algos[0]); i++) {
		if (strcasecmp(name, hb_algos[i].name) == 0) {
			*out = (enum hashbank_algo)i;
			return 0;
		}
	}
	if (strcasecmp(name, "sha-256") == 0) {
		*out = HASHBANK_SHA256;
		return 0;
	}
	return -EINVAL;
}

const char *hashbank_algo_name(enum hashbank_algo algo)
{
	return (unsigned)algo <= HASHBANK_SHA256 ? hb_algos[algo].name : "?";
}

size_t hashbank_hash_bytes(enum hashbank_algo algo)
{
	return (unsigned)algo <= HASHBANK_SHA256 ? hb_algos[algo].bytes : 0;
}

/* Hex digit values, -1 for anything else: a bank of a million lines is 64 million digits. */
static const int8_t hb_hex[256] = {
	['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,
	['6'] = 7,  ['7'] = 8,  ['8'] = 9,  ['9'] = 10, ['a'] = 11, ['b'] = 12,
	['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16, ['A'] = 11, ['B'] = 12,
	['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

static inline int hb_hexval(unsigned char c)
{
	return hb_hex[c] - 1; /* the table holds value + 1, so that 0 means "not a digit" */
}

int hashbank_parse_hex(enum hashbank_algo algo, const char *hex, size_t len,
		       uint8_t out[HASHBANK_MAX_HASH])
{
	size_t bytes = hashbank_hash_bytes(algo);
	if (!bytes || !hex || !out || len != 2 * bytes)
		return -EINVAL;
	for (size_t i = 0; i < bytes; i++) {
		int h = hb_hexval((unsigned char)hex[2 * i]);
		int l = hb_hexval((unsigned char)hex[2 * i + 1]);
		if (h < 0 || l < 0)
			return -EINVAL;
		out[i] = (uint8_t)(h << 4 | l);
	}
	return 0;
}

/* ---- Distances ---- */

/* Hot paths come in two builds: with the popcount instruction (x86-64 has had it since 2008,
 * but the baseline this is compiled for lacks it) and without, chosen once per query by a CPU
 * check. Everything they call is inlined into them, carrying HW as a constant. */
#if defined(__x86_64__) && !defined(__POPCNT__) && defined(__GNUC__)
#define HB_DISPATCH 1
#define HB_INLINE __attribute__((always_inline)) static inline
#else
#define HB_DISPATCH 0
#define HB_INLINE static inline
#endif

HB_INLINE unsigned hb_pop64(uint64_t x, bool hw)
{
	if (hw)
		return (unsigned)__builtin_popcountll(x);
	x -= (x >> 1) & 0x5555555555555555ULL;
	x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
	return (unsigned)((x * 0x0101010101010101ULL) >> 56);
}

/* Whether X (16 bits) has at most LIM bits set. Without the instruction: clearing its lowest
 * set bit LIM times leaves nothing, cheaper than a popcount for the small limits of the
 * bucket scans. */
HB_INLINE bool hb_within(uint32_t x, unsigned lim, bool hw)
{
	if (hw || lim > 3)
		return hb_pop64(x, hw) <= lim;
	uint32_t x1 = x & (x - 1), x2 = x1 & (x1 - 1), x3 = x2 & (x2 - 1);
	return (lim == 0 ? x : lim == 1 ? x1 : lim == 2 ? x2 : x3) == 0;
}

HB_INLINE unsigned hb_dist256(const uint8_t *a, const uint8_t *b, bool hw)
{
	unsigned d = 0;
	for (int i = 0; i < 4; i++) {
		uint64_t x, y;
		memcpy(&x, a + 8 * i, 8);
		memcpy(&y, b + 8 * i, 8);
		d += hb_pop64(x ^ y, hw);
	}
	return d;
}

/* Halves of chunk C of a PDQ hash: bytes 4C, 4C+1 (high) and 4C+2, 4C+3 (low). */
static inline uint16_t hb_hi(const uint8_t *h, int c)
{
	return (uint16_t)(h[4 * c] << 8 | h[4 * c + 1]);
}

static inline uint16_t hb_lo(const uint8_t *h, int c)
{
	return (uint16_t)(h[4 * c + 2] << 8 | h[4 * c + 3]);
}

/* ---- Loading ---- */

struct hb_builder {
	const char *name, *path;
	struct diag_list *errs;
	size_t hlen, max_entries;
	uint8_t *hashes;
	uint32_t *label_at;
	size_t n, cap;
	char *labels;
	size_t labels_len, labels_cap;
	size_t bad; /* bad lines, reported or not */
	int first_unreported;
	bool oom, too_many;
};

static void hb_bad(struct hb_builder *b, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void hb_bad(struct hb_builder *b, int line, int col, const char *fmt, ...)
{
	if (b->bad++ >= HASHBANK_MAX_ERRORS) {
		if (!b->first_unreported)
			b->first_unreported = line;
		return;
	}
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag_error(b->errs, b->path, line, col, b->name, "%s", msg);
}

/* C for a message: 'c' when printable ASCII, else its byte value. */
static const char *hb_show(unsigned char c, char buf[8])
{
	if (c >= 0x21 && c < 0x7f)
		snprintf(buf, 8, "'%c'", c);
	else
		snprintf(buf, 8, "0x%02x", c);
	return buf;
}

/* Length of the valid UTF-8 sequence at S (at most N bytes) that is no control character, or
 * 0. Overlong forms, surrogates and code points over U+10FFFF are invalid. */
static size_t hb_utf8_char(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	if (c < 0x80)
		return c >= 0x20 && c != 0x7f ? 1 : c == '\t';
	size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
	if (!len || len > n || c > 0xf4)
		return 0;
	uint32_t cp = c & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
	if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	if (cp >= 0x80 && cp < 0xa0) /* C1 controls */
		return 0;
	return len;
}

static bool hb_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Appends LABEL (LEN bytes) to the arena; returns its offset, or 0 on allocation failure. */
static uint32_t hb_add_label(struct hb_builder *b, const char *label, size_t len)
{
	if (b->labels_len + len + 1 > b->labels_cap) {
		size_t cap = b->labels_cap ? b->labels_cap : 4096;
		while (cap < b->labels_len + len + 1)
			cap *= 2;
		char *nl = realloc(b->labels, cap);
		if (!nl) {
			b->oom = true;
			return 0;
		}
		b->labels = nl;
		b->labels_cap = cap;
	}
	uint32_t at = (uint32_t)b->labels_len;
	memcpy(b->labels + at, label, len);
	b->labels[at + len] = '\0';
	b->labels_len += len + 1;
	return at;
}

static void hb_parse_line(struct hb_builder *b, const char *s, size_t len, int line)
{
	size_t i = 0;
	while (i < len && hb_blank(s[i]))
		i++;
	if (i == len || s[i] == '#')
		return;
	size_t h0 = i, want = 2 * b->hlen;
	while (i < len && hb_hexval((unsigned char)s[i]) >= 0)
		i++;
	char show[8];
	bool at_end = i == len || hb_blank(s[i]) || s[i] == ',';
	if (!at_end && i - h0 < want) {
		hb_bad(b, line, (int)i + 1,
		       "expected a hash of %zu hex digits, found %s at digit %zu", want,
		       hb_show((unsigned char)s[i], show), i - h0 + 1);
		return;
	}
	if (i - h0 != want) {
		hb_bad(b, line, (int)h0 + 1, "expected a hash of %zu hex digits, found %zu", want,
		       i - h0);
		return;
	}
	if (!at_end) {
		hb_bad(b, line, (int)i + 1,
		       "expected a blank or ',' and a label after the hash, found %s",
		       hb_show((unsigned char)s[i], show));
		return;
	}
	/* The label: after blanks, one ',' and blanks, or ',' and blanks; trailing blanks go. */
	bool comma = i < len && s[i] == ',';
	if (i < len)
		i++;
	while (i < len && hb_blank(s[i]))
		i++;
	if (!comma && i < len && s[i] == ',') {
		i++;
		while (i < len && hb_blank(s[i]))
			i++;
	}
	size_t end = len;
	while (end > i && hb_blank(s[end - 1]))
		end--;
	for (size_t k = i; k < end;) {
		size_t cl = hb_utf8_char((const unsigned char *)s + k, end - k);
		if (!cl) {
			hb_bad(b, line, (int)k + 1,
			       "the label holds %s: expected UTF-8 text without control characters",
			       hb_show((unsigned char)s[k], show));
			return;
		}
		k += cl;
	}
	if (b->n == b->max_entries) {
		hb_bad(b, line, 1, "more than %zu hashes in the bank", b->max_entries);
		b->too_many = true;
		return;
	}
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 1024;
		if (cap > b->max_entries)
			cap = b->max_entries;
		uint8_t *nh = realloc(b->hashes, cap * b->hlen);
		if (!nh) {
			b->oom = true;
			return;
		}
		b->hashes = nh;
		uint32_t *nl = realloc(b->label_at, cap * sizeof(*nl));
		if (!nl) {
			b->oom = true;
			return;
		}
		b->label_at = nl;
		b->cap = cap;
	}
	uint8_t *h = b->hashes + b->n * b->hlen;
	for (size_t k = 0; k < b->hlen; k++)
		h[k] = (uint8_t)(hb_hexval((unsigned char)s[h0 + 2 * k]) << 4 |
				 hb_hexval((unsigned char)s[h0 + 2 * k + 1]));
	b->label_at[b->n] = end > i ? hb_add_label(b, s + i, end - i) : 0;
	b->n++;
}

/* Hash order (bytes compared as unsigned, first byte first), then entry order. */
static int hb_cmp_hash(const void *x, const void *y, void *ctx)
{
	const struct hb_builder *b = ctx;
	uint32_t i = *(const uint32_t *)x, j = *(const uint32_t *)y;
	const uint8_t *hi = b->hashes + (size_t)i * b->hlen, *hj = b->hashes + (size_t)j * b->hlen;
	uint64_t a, c;
	memcpy(&a, hi, 8);
	memcpy(&c, hj, 8);
	int r = a == c ? memcmp(hi + 8, hj + 8, b->hlen - 8) : 0;
	if (a != c) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		a = __builtin_bswap64(a); /* the first byte the most significant */
		c = __builtin_bswap64(c);
#endif
		r = a < c ? -1 : 1;
	}
	return r ? r : (i > j) - (i < j);
}

/* Merges repeated hashes into their first entry, which takes the first non-empty label of
 * its group. Leaves in SORTED (b->n of them afterwards) the new entry numbers in hash
 * order. Returns 0 or -ENOMEM. */
static int hb_dedup(struct hb_builder *b, size_t *dups, uint32_t **sorted)
{
	size_t n = b->n;
	uint32_t *perm = malloc((n ? n : 1) * sizeof(*perm));
	uint32_t *renum = malloc((n ? n : 1) * sizeof(*renum));
	if (!perm || !renum) {
		free(perm);
		free(renum);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		perm[i] = (uint32_t)i;
	qsort_r(perm, n, sizeof(*perm), hb_cmp_hash, b);
	/* renum[i]: UINT32_MAX for a repeat, else anything (numbered below). */
	size_t groups = 0;
	for (size_t g = 0; g < n;) {
		size_t e = g + 1;
		uint32_t first = perm[g];
		renum[first] = 0;
		while (e < n && memcmp(b->hashes + (size_t)perm[e] * b->hlen,
				       b->hashes + (size_t)first * b->hlen, b->hlen) == 0) {
			renum[perm[e]] = UINT32_MAX;
			if (!b->label_at[first])
				b->label_at[first] = b->label_at[perm[e]];
			e++;
		}
		perm[groups++] = first;
		g = e;
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (renum[i] == UINT32_MAX)
			continue;
		renum[i] = (uint32_t)k;
		if (k != i) {
			memmove(b->hashes + k * b->hlen, b->hashes + i * b->hlen, b->hlen);
			b->label_at[k] = b->label_at[i];
		}
		k++;
	}
	for (size_t g = 0; g < groups; g++)
		perm[g] = renum[perm[g]];
	free(renum);
	*dups = n - k;
	b->n = k;
	*sorted = perm;
	return 0;
}

/* Stable counting sort of IN (N entry numbers) into OUT by KEY[entry]; OFF (HB_KEYS + 1) gets
 * the bucket starts; NEXT (HB_KEYS) is scratch. */
static void hb_count_sort(const uint32_t *in, uint32_t *out, size_t n, const uint16_t *key,
			  uint32_t *off, uint32_t *next)
{
	memset(off, 0, (HB_KEYS + 1) * sizeof(*off));
	for (size_t i = 0; i < n; i++)
		off[key[in[i]] + 1]++;
	for (size_t k = 0; k < HB_KEYS; k++)
		off[k + 1] += off[k];
	memcpy(next, off, HB_KEYS * sizeof(*next));
	for (size_t i = 0; i < n; i++)
		out[next[key[in[i]]]++] = in[i];
}

static size_t hb_round64(size_t n)
{
	return (n + 63) / 64 * 64;
}

/* One block for the hashes and their index, so that a bank is few pages to the TLB: a large
 * one is asked for on huge pages (a hint the kernel may ignore). */
static uint8_t *hb_arena(size_t size)
{
	const size_t huge = 2u << 20;
	if (size < 4 * huge)
		return aligned_alloc(64, hb_round64(size ? size : 1));
	size = (size + huge - 1) / huge * huge;
	uint8_t *p = aligned_alloc(huge, size);
#ifdef MADV_HUGEPAGE
	if (p)
		madvise(p, size, MADV_HUGEPAGE);
#endif
	return p;
}

static void hb_build_pdq(struct hashbank *bank, uint8_t *at, uint32_t *a, uint32_t *t, uint16_t *hi,
			 uint16_t *lo, uint32_t *off, uint32_t *next)
{
	size_t n = bank->n;
	for (int c = 0; c < HB_CHUNKS; c++) {
		struct hb_table *H = &bank->hi[c], *L = &bank->lo[c];
		H->off = (uint32_t *)at;
		at += hb_round64((HB_KEYS + 1) * sizeof(uint32_t));
		L->off = (uint32_t *)at;
		at += hb_round64((HB_KEYS + 1) * sizeof(uint32_t));
		bank->hi_ids[c] = (uint32_t *)at;
		at += hb_round64(n * sizeof(uint32_t));
		H->sib = (uint16_t *)at;
		at += hb_round64(n * sizeof(uint16_t));
		L->sib = (uint16_t *)at;
		at += hb_round64(n * sizeof(uint16_t));
		for (size_t i = 0; i < n; i++) {
			hi[i] = hb_hi(bank->hashes + 32 * i, c);
			lo[i] = hb_lo(bank->hashes + 32 * i, c);
			a[i] = (uint32_t)i;
		}
		/* By (high, low, entry): low first, then stably by high. */
		hb_count_sort(a, t, n, lo, off, next);
		hb_count_sort(t, bank->hi_ids[c], n, hi, H->off, next);
		for (size_t p = 0; p < n; p++)
			H->sib[p] = lo[bank->hi_ids[c][p]];
		/* By (low, high, entry): that order, stably by low. */
		hb_count_sort(bank->hi_ids[c], t, n, lo, L->off, next);
		for (size_t p = 0; p < n; p++)
			L->sib[p] = hi[t[p]];
	}
}

static void hb_build_exact(struct hashbank *bank, uint8_t *at, const uint32_t *sorted)
{
	size_t n = bank->n;
	bank->sorted = (uint32_t *)at;
	at += hb_round64(n * sizeof(uint32_t));
	bank->prefix = (uint32_t *)at;
	memcpy(bank->sorted, sorted, n * sizeof(uint32_t));
	/* SORTED is in hash order, so bucket starts come from one walk. */
	size_t p = 0;
	for (size_t k = 0; k <= HB_KEYS; k++) {
		while (p < n) {
			const uint8_t *h = bank->hashes + (size_t)sorted[p] * bank->hlen;
			if ((size_t)(h[0] << 8 | h[1]) >= k)
				break;
			p++;
		}
		bank->prefix[k] = (uint32_t)p;
	}
}

/* Moves the parsed entries of B into BANK with their index. Returns 0 or -ENOMEM. */
static int hb_build(struct hashbank *bank, struct hb_builder *b, const uint32_t *sorted)
{
	size_t n = bank->n = b->n, hbytes = hb_round64(n * b->hlen), size = hbytes;
	bool pdq = bank->algo == HASHBANK_PDQ, index = !pdq || n >= HASHBANK_INDEX_MIN_ENTRIES;
	if (!pdq)
		size += hb_round64(n * sizeof(uint32_t)) + hb_round64((HB_KEYS + 1) * 4);
	else if (index)
		size += HB_CHUNKS * (2 * hb_round64((HB_KEYS + 1) * 4) + hb_round64(n * 4) +
				     2 * hb_round64(n * 2));
	uint32_t *a = NULL, *t = NULL, *off = NULL, *next = NULL;
	uint16_t *hi = NULL, *lo = NULL;
	if (pdq && index) {
		a = malloc(n * sizeof(*a));
		t = malloc(n * sizeof(*t));
		hi = malloc(n * sizeof(*hi));
		lo = malloc(n * sizeof(*lo));
		off = malloc((HB_KEYS + 1) * sizeof(*off));
		next = malloc(HB_KEYS * sizeof(*next));
	}
	int rc = -ENOMEM;
	bank->arena = hb_arena(size);
	if (!bank->arena || (pdq && index && (!a || !t || !hi || !lo || !off || !next)))
		goto out;
	bank->memory += size;
	bank->hashes = bank->arena;
	if (n) /* an empty bank has no buffer to copy from */
		memcpy(bank->hashes, b->hashes, n * b->hlen);
	free(b->hashes); /* a third of the peak of a large load */
	b->hashes = NULL;
	if (!pdq)
		hb_build_exact(bank, bank->arena + hbytes, sorted);
	else if (index)
		hb_build_pdq(bank, bank->arena + hbytes, a, t, hi, lo, off, next);
	bank->indexed = index;
	rc = 0;
out:
	free(a);
	free(t);
	free(hi);
	free(lo);
	free(off);
	free(next);
	return rc;
}

int hashbank_load(const char *name, enum hashbank_algo algo, const char *path, const char *text,
		  size_t len, const struct hashbank_limits *limits, struct diag_list *errs,
		  struct hashbank **out)
{
	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!name || !errs || (!text && len) || !hashbank_hash_bytes(algo))
		return -EINVAL;
	size_t max_bytes = limits && limits->max_file_bytes ? limits->max_file_bytes :
							      HASHBANK_DEFAULT_MAX_FILE_BYTES;
	size_t max_entries =
		limits && limits->max_entries ? limits->max_entries : HASHBANK_DEFAULT_MAX_ENTRIES;
	/* Line numbers are ints and entry numbers 32-bit. */
	if (max_bytes > INT_MAX)
		max_bytes = INT_MAX;
	if (max_entries > UINT32_MAX - 1)
		max_entries = UINT32_MAX - 1;
	if (len > max_bytes) {
		diag_error(errs, path, 0, 0, name, "the bank file has %zu bytes, more than %zu",
			   len, max_bytes);
		return -EFBIG;
	}
	struct hb_builder b = {
		.name = name,
		.path = path,
		.errs = errs,
		.hlen = hashbank_hash_bytes(algo),
		.max_entries = max_entries,
	};
	hb_add_label(&b, "", 0); /* offset 0: no label */
	int line = 0;
	for (size_t pos = 0; pos < len && !b.oom && !b.too_many;) {
		const char *s = text + pos;
		const char *nl = memchr(s, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - s) : len - pos;
		pos += ll + (nl != NULL);
		line++;
		if (ll > 0 && s[ll - 1] == '\r')
			ll--;
		if (ll > HASHBANK_MAX_LINE) {
			hb_bad(&b, line, HASHBANK_MAX_LINE + 1, "the line is longer than %d bytes",
			       HASHBANK_MAX_LINE);
			continue;
		}
		hb_parse_line(&b, s, ll, line);
	}
	if (b.bad > HASHBANK_MAX_ERRORS)
		diag_error(errs, path, b.first_unreported, 1, name,
			   "%zu more bad lines from here on", b.bad - HASHBANK_MAX_ERRORS);
	struct hashbank *bank = NULL;
	uint32_t *sorted = NULL;
	int rc = b.oom ? -ENOMEM : b.bad ? -EINVAL : 0;
	if (rc)
		goto fail;
	rc = -ENOMEM;
	bank = calloc(1, sizeof(*bank));
	if (!bank || !(bank->name = strdup(name)))
		goto fail;
	bank->algo = algo;
	bank->hlen = b.hlen;
	if (hb_dedup(&b, &bank->dups, &sorted) < 0)
		goto fail;
	rc = hb_build(bank, &b, sorted);
	if (rc < 0)
		goto fail;
	if (b.labels_len > 1) {
		/* Shrunk to fit: the builder grew them by doubling. */
		uint32_t *la = realloc(b.label_at, (b.n ? b.n : 1) * sizeof(*la));
		char *ls = realloc(b.labels, b.labels_len);
		if (la)
			b.label_at = la;
		if (ls)
			b.labels = ls;
		bank->label_at = b.label_at;
		bank->labels = b.labels;
		bank->memory += b.n * sizeof(uint32_t) + b.labels_len;
		b.label_at = NULL;
		b.labels = NULL;
	} else if (!(bank->labels = strdup(""))) {
		rc = -ENOMEM;
		goto fail;
	}
	free(sorted);
	free(b.hashes);
	free(b.label_at);
	free(b.labels);
	if (!bank->n)
		diag_warn(errs, path, 0, 0, name, "the bank holds no hashes");
	*out = bank;
	return 0;
fail:
	if (rc == -ENOMEM)
		diag_error(errs, path, 0, 0, name, "out of memory loading the bank");
	free(sorted);
	free(b.hashes);
	free(b.label_at);
	free(b.labels);
	hashbank_free(bank);
	return rc;
}

int hashbank_load_file(const char *name, enum hashbank_algo algo, const char *path,
		       const struct hashbank_limits *limits, struct diag_list *errs,
		       struct hashbank **out)
{
	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!name || !path || !errs)
		return -EINVAL;
	size_t max = limits && limits->max_file_bytes ? limits->max_file_bytes :
							HASHBANK_DEFAULT_MAX_FILE_BYTES;
	if (max > INT_MAX)
		max = INT_MAX;
	FILE *fp = fopen(path, "rb");
	if (!fp) {
		int rc = -errno;
		diag_error(errs, path, 0, 0, name, "cannot open the bank file: %s", strerror(-rc));
		return rc;
	}
	struct stat st;
	bool regular = fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode);
	if (regular && (uintmax_t)st.st_size > max) {
		fclose(fp);
		diag_error(errs, path, 0, 0, name, "the bank file has %jd bytes, more than %zu",
			   (intmax_t)st.st_size, max);
		return -EFBIG;
	}
	/* Not trusted: a file may grow after fstat, and pipes have no size. */
	size_t cap = regular && st.st_size > 0 ? (size_t)st.st_size + 1 : 65536;
	if (cap > max + 1)
		cap = max + 1;
	char *buf = malloc(cap);
	size_t len = 0;
	int rc = buf ? 0 : -ENOMEM;
	while (!rc) {
		if (len == cap) {
			if (cap > max) {
				rc = -EFBIG;
				break;
			}
			size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			char *nb = realloc(buf, ncap);
			if (!nb) {
				rc = -ENOMEM;
				break;
			}
			buf = nb;
			cap = ncap;
		}
		errno = 0;
		size_t got = fread(buf + len, 1, cap - len, fp);
		len += got;
		if (got == 0) {
			if (ferror(fp))
				rc = errno ? -errno : -EIO;
			break;
		}
	}
	fclose(fp);
	if (!rc && len > max)
		rc = -EFBIG;
	if (rc == -EFBIG)
		diag_error(errs, path, 0, 0, name, "the bank file has more than %zu bytes", max);
	else if (rc)
		diag_error(errs, path, 0, 0, name, "cannot read the bank file: %s", strerror(-rc));
	if (!rc)
		rc = hashbank_load(name, algo, path, buf, len, limits, errs, out);
	free(buf);
	return rc;
}

void hashbank_free(struct hashbank *bank)
{
	if (!bank)
		return;
	free(bank->arena);
	free(bank->label_at);
	free(bank->labels);
	free(bank->name);
	free(bank);
}

const char *hashbank_name(const struct hashbank *bank)
{
	return bank->name;
}

enum hashbank_algo hashbank_algo(const struct hashbank *bank)
{
	return bank->algo;
}

size_t hashbank_size(const struct hashbank *bank)
{
	return bank->n;
}

size_t hashbank_duplicates(const struct hashbank *bank)
{
	return bank->dups;
}

size_t hashbank_memory(const struct hashbank *bank)
{
	return sizeof(*bank) + strlen(bank->name) + 1 + bank->memory;
}

static const char *hb_label(const struct hashbank *bank, size_t i)
{
	return bank->labels + (bank->label_at ? bank->label_at[i] : 0);
}

int hashbank_entry(const struct hashbank *bank, size_t index, const uint8_t **hash,
		   const char **label)
{
	if (!bank || index >= bank->n)
		return -ERANGE;
	if (hash)
		*hash = bank->hashes + index * bank->hlen;
	if (label)
		*label = hb_label(bank, index);
	return 0;
}

/* ---- Queries ---- */

/* The best entry so far: distance D (at most the query's bound) and entry ID (UINT32_MAX
 * for none). Lower distance wins, then the lower entry number. */
struct hb_best {
	unsigned d;
	uint32_t id;
};

HB_INLINE void hb_consider(const struct hashbank *bank, const uint8_t *q, uint32_t id,
			   struct hb_best *best, bool hw)
{
	unsigned d = hb_dist256(q, bank->hashes + (size_t)id * 32, hw);
	if (d < best->d || (d == best->d && id < best->id)) {
		best->d = d;
		best->id = id;
	}
}

/* The 16-bit masks of at most MAXBITS (<= 3) bits, fewest bits first, with their bit counts. */
static size_t hb_masks(unsigned maxbits, uint16_t *m, uint8_t *bits)
{
	size_t n = 0;
	m[n] = 0;
	bits[n++] = 0;
	for (unsigned i = 0; maxbits >= 1 && i < 16; i++) {
		m[n] = (uint16_t)(1u << i);
		bits[n++] = 1;
	}
	for (unsigned i = 0; maxbits >= 2 && i < 16; i++)
		for (unsigned j = i + 1; j < 16; j++) {
			m[n] = (uint16_t)(1u << i | 1u << j);
			bits[n++] = 2;
		}
	for (unsigned i = 0; maxbits >= 3 && i < 16; i++)
		for (unsigned j = i + 1; j < 16; j++)
			for (unsigned k = j + 1; k < 16; k++) {
				m[n] = (uint16_t)(1u << i | 1u << j | 1u << k);
				bits[n++] = 3;
			}
	return n;
}

/* Candidates that passed a bucket's filter, on their way to the full comparison. Each step is
 * a dependent memory read, a likely cache miss, so a candidate takes one step per chunk
 * scanned (its next read asked for in the meantime) rather than all at once:
 *   HB_OFF:  chunk value HI:LO, passed in the low-half table: bucket HI of the high-half
 *            table is to be read;
 *   HB_SIB:  that bucket is [POS, END), where LO is to be found (sorted there);
 *   HB_ID:   the entry number at POS of the high-half table is to be read;
 *   HB_HASH: entry POS is to be compared over 256 bits. */
enum hb_stage { HB_OFF, HB_SIB, HB_ID, HB_HASH };

struct hb_cand {
	uint8_t stage, chunk;
	uint16_t hi, lo;
	uint32_t pos, end;
};

#define HB_QUEUE 64

struct hb_queue {
	struct hb_cand v[HB_QUEUE];
	size_t n;
};

/* The first position of [L, R) of H's siblings holding LO or more. */
HB_INLINE size_t hb_lower_bound(const struct hb_table *H, size_t l, size_t r, uint16_t lo)
{
	while (l < r) {
		size_t mid = l + (r - l) / 2;
		if (H->sib[mid] < lo)
			l = mid + 1;
		else
			r = mid;
	}
	return l;
}

/* Takes C through its remaining steps at once: the queue is full. */
HB_INLINE void hb_finish(const struct hashbank *bank, const uint8_t *q, struct hb_cand c,
			 struct hb_best *best, bool hw)
{
	const struct hb_table *H = &bank->hi[c.chunk];
	switch (c.stage) {
	case HB_OFF:
	case HB_SIB:
		if (c.stage == HB_OFF) {
			c.pos = H->off[c.hi];
			c.end = H->off[c.hi + 1];
		}
		for (size_t l = hb_lower_bound(H, c.pos, c.end, c.lo);
		     l < c.end && H->sib[l] == c.lo; l++)
			hb_consider(bank, q, bank->hi_ids[c.chunk][l], best, hw);
		break;
	case HB_ID:
		hb_consider(bank, q, bank->hi_ids[c.chunk][c.pos], best, hw);
		break;
	default:
		hb_consider(bank, q, c.pos, best, hw);
		break;
	}
}

/* Queues C, asking for what its next step reads; finishes it at once when the queue is full. */
HB_INLINE void hb_enqueue(const struct hashbank *bank, const uint8_t *q, struct hb_queue *qu,
			  struct hb_cand c, struct hb_best *best, bool hw)
{
	if (qu->n == HB_QUEUE) {
		hb_finish(bank, q, c, best, hw);
		return;
	}
	switch (c.stage) {
	case HB_OFF:
		__builtin_prefetch(&bank->hi[c.chunk].off[c.hi]);
		break;
	case HB_SIB:
		__builtin_prefetch(&bank->hi[c.chunk].sib[c.pos]);
		__builtin_prefetch(&bank->hi[c.chunk].sib[c.end - 1]);
		break;
	case HB_ID:
		__builtin_prefetch(&bank->hi_ids[c.chunk][c.pos]);
		break;
	default:
		__builtin_prefetch(bank->hashes + (size_t)c.pos * 32);
		break;
	}
	qu->v[qu->n++] = c;
}

/* Takes every candidate of QU one step; those compared leave the queue. */
HB_INLINE void hb_step(const struct hashbank *bank, const uint8_t *q, struct hb_queue *qu,
		       struct hb_best *best, bool hw)
{
	size_t n = qu->n;
	struct hb_cand v[HB_QUEUE];
	memcpy(v, qu->v, n * sizeof(v[0]));
	qu->n = 0;
	for (size_t i = 0; i < n; i++) {
		struct hb_cand c = v[i];
		const struct hb_table *H = &bank->hi[c.chunk];
		switch (c.stage) {
		case HB_OFF:
			c.pos = H->off[c.hi];
			c.end = H->off[c.hi + 1];
			c.stage = HB_SIB;
			if (c.pos < c.end)
				hb_enqueue(bank, q, qu, c, best, hw);
			break;
		case HB_SIB: {
			/* Equal chunk values are neighbours: a candidate each. */
			size_t l = hb_lower_bound(H, c.pos, c.end, c.lo), e = c.end;
			c.stage = HB_ID;
			for (; l < e && H->sib[l] == c.lo; l++) {
				c.pos = (uint32_t)l;
				hb_enqueue(bank, q, qu, c, best, hw);
			}
			break;
		}
		case HB_ID:
			c.pos = bank->hi_ids[c.chunk][c.pos];
			c.stage = HB_HASH;
			hb_enqueue(bank, q, qu, c, best, hw);
			break;
		default:
			hb_consider(bank, q, c.pos, best, hw);
			break;
		}
	}
}

/* Prefetches are macros: GCC drops __builtin_prefetch from a helper it finds pure. */
#define HB_PREFETCH_OFFSETS(bank, q, c, masks, n_masks)                                            \
	do {                                                                                       \
		uint16_t qh_ = hb_hi(q, c), ql_ = hb_lo(q, c);                                     \
		for (size_t m_ = 0; m_ < (n_masks); m_++) {                                        \
			__builtin_prefetch(&(bank)->hi[c].off[qh_ ^ (masks)[m_]]);                 \
			__builtin_prefetch(&(bank)->lo[c].off[ql_ ^ (masks)[m_]]);                 \
		}                                                                                  \
	} while (0)

#define HB_PREFETCH_BUCKET(sib, s, e)                                                              \
	do {                                                                                       \
		if ((s) < (e)) {                                                                   \
			__builtin_prefetch(&(sib)[s]);                                             \
			__builtin_prefetch(&(sib)[(e)-1]);                                         \
		}                                                                                  \
	} while (0)

/* The buckets one chunk of a query reads: [s, e) in each table, per mask. */
struct hb_spans {
	uint32_t hs[HB_MAX_MASKS], he[HB_MAX_MASKS], ls[HB_MAX_MASKS], le[HB_MAX_MASKS];
};

/* Reads the bucket offsets of chunk C of Q for the first N_MASKS masks into SP, and asks for
 * the buckets' first and last lines. */
static void hb_spans(const struct hashbank *bank, const uint8_t *q, int c, const uint16_t *masks,
		     size_t n_masks, struct hb_spans *sp)
{
	uint16_t qh = hb_hi(q, c), ql = hb_lo(q, c);
	const struct hb_table *H = &bank->hi[c], *L = &bank->lo[c];
	for (size_t m = 0; m < n_masks; m++) {
		unsigned kh = qh ^ masks[m], kl = ql ^ masks[m];
		sp->hs[m] = H->off[kh];
		sp->he[m] = H->off[kh + 1];
		sp->ls[m] = L->off[kl];
		sp->le[m] = L->off[kl + 1];
		HB_PREFETCH_BUCKET(H->sib, sp->hs[m], sp->he[m]);
		HB_PREFETCH_BUCKET(L->sib, sp->ls[m], sp->le[m]);
	}
}

/* Random data makes every bucket read a cache miss, and one after the other they would be the
 * whole cost. So the reads are pipelined over the chunks: offsets of chunk C + 2 are asked
 * for, and those of chunk C + 1 read (asking for its buckets), before chunk C is scanned.
 * Masks come fewest bits first, so when the best so far narrows the search, the masks still
 * to use are a prefix of those read ahead with. */
HB_INLINE void hb_match_pdq(const struct hashbank *bank, const uint8_t *q, struct hb_best *best,
			    bool hw)
{
	uint16_t masks[HB_MAX_MASKS];
	uint8_t bits[HB_MAX_MASKS];
	struct hb_spans spans[2];
	struct hb_queue qu;
	qu.n = 0;
	unsigned have_half = best->d / HB_CHUNKS / 2;
	size_t n_masks = hb_masks(have_half, masks, bits);
	HB_PREFETCH_OFFSETS(bank, q, 0, masks, n_masks);
	HB_PREFETCH_OFFSETS(bank, q, 1, masks, n_masks);
	hb_spans(bank, q, 0, masks, n_masks, &spans[0]);
	for (int c = 0; c < HB_CHUNKS; c++) {
		/* Only entries at least as near as the best so far matter from here on. */
		unsigned t = best->d / HB_CHUNKS, half = t / 2;
		if (half != have_half) {
			n_masks = hb_masks(half, masks, bits);
			have_half = half;
		}
		if (c + 2 < HB_CHUNKS)
			HB_PREFETCH_OFFSETS(bank, q, c + 2, masks, n_masks);
		if (c + 1 < HB_CHUNKS)
			hb_spans(bank, q, c + 1, masks, n_masks, &spans[(c + 1) & 1]);
		const struct hb_spans *sp = &spans[c & 1];
		uint16_t qh = hb_hi(q, c), ql = hb_lo(q, c);
		const struct hb_table *H = &bank->hi[c], *L = &bank->lo[c];
		hb_step(bank, q, &qu, best, hw);
		if (best->id != UINT32_MAX && best->d == 0)
			return; /* hashes are unique: nothing nearer, nothing as near */
		for (size_t m = 0; m < n_masks; m++) {
			unsigned lim = t - bits[m];
			for (size_t p = sp->hs[m]; p < sp->he[m]; p++)
				if (hb_within(H->sib[p] ^ ql, lim, hw))
					hb_enqueue(bank, q, &qu,
						   (struct hb_cand){HB_ID, (uint8_t)c, 0, 0,
								    (uint32_t)p, 0},
						   best, hw);
		}
		/* Entries whose high half is within HALF of the query's were found above. */
		for (size_t m = 0; m < n_masks; m++) {
			unsigned lim = t - bits[m];
			uint16_t lo = (uint16_t)(ql ^ masks[m]);
			for (size_t p = sp->ls[m], e = sp->le[m]; p < e; p++) {
				uint32_t x = L->sib[p] ^ qh;
				if (!hb_within(x, lim, hw) || hb_within(x, half, hw))
					continue;
				hb_enqueue(
					bank, q, &qu,
					(struct hb_cand){HB_OFF, (uint8_t)c, L->sib[p], lo, 0, 0},
					best, hw);
				while (p + 1 < e && L->sib[p + 1] == L->sib[p])
					p++;
			}
		}
	}
	while (qu.n && !(best->id != UINT32_MAX && best->d == 0))
		hb_step(bank, q, &qu, best, hw);
}

HB_INLINE void hb_query_pdq(const struct hashbank *bank, const uint8_t *q, struct hb_best *best,
			    bool hw)
{
	if (bank->indexed &&
	    (best->d <= HB_INDEX_MAX_DISTANCE ||
	     (best->d <= HB_INDEX_WIDE_DISTANCE && bank->n >= HB_INDEX_WIDE_MIN_ENTRIES))) {
		hb_match_pdq(bank, q, best, hw);
		return;
	}
	for (size_t i = 0; i < bank->n; i++)
		hb_consider(bank, q, (uint32_t)i, best, hw);
}

#if HB_DISPATCH
__attribute__((target("popcnt"))) static void
hb_query_pdq_hw(const struct hashbank *bank, const uint8_t *q, struct hb_best *best)
{
	hb_query_pdq(bank, q, best, true);
}

static void hb_query_pdq_sw(const struct hashbank *bank, const uint8_t *q, struct hb_best *best)
{
	hb_query_pdq(bank, q, best, false);
}
#endif

/* The entry equal to Q, or -1. */
static long hb_match_exact(const struct hashbank *bank, const uint8_t *q)
{
	size_t k = (size_t)(q[0] << 8 | q[1]);
	size_t l = bank->prefix[k], r = bank->prefix[k + 1];
	while (l < r) {
		size_t mid = l + (r - l) / 2;
		int c = memcmp(q, bank->hashes + (size_t)bank->sorted[mid] * bank->hlen,
			       bank->hlen);
		if (c == 0)
			return (long)bank->sorted[mid];
		if (c < 0)
			r = mid;
		else
			l = mid + 1;
	}
	return -1;
}

int hashbank_match(const struct hashbank *bank, const uint8_t *q, unsigned max_distance,
		   struct hashbank_hit *hit)
{
	if (!bank || !q || !hit)
		return -EINVAL;
	struct hb_best best = {max_distance > 256 ? 256 : max_distance, UINT32_MAX};
	if (bank->algo != HASHBANK_PDQ) {
		long id = bank->n ? hb_match_exact(bank, q) : -1;
		if (id < 0)
			return 0;
		best.d = 0;
		best.id = (uint32_t)id;
	} else {
#if HB_DISPATCH
		if (__builtin_cpu_supports("popcnt"))
			hb_query_pdq_hw(bank, q, &best);
		else
			hb_query_pdq_sw(bank, q, &best);
#else
		hb_query_pdq(bank, q, &best, true);
#endif
	}
	if (best.id == UINT32_MAX)
		return 0;
	hit->index = best.id;
	hit->distance = best.d;
	hit->hash = bank->hashes + (size_t)best.id * bank->hlen;
	hit->label = hb_label(bank, best.id);
	return 1;
}
