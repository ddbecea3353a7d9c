/* The audit ledger: canonical hashing of AuditRecords, chain links, and the chain verifier. */
#include "ledger.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>

#include "strmap.h"

/* AuditRecord.hash, the one field the canonical encoding leaves out. */
#define LEDGER_HASH_FIELD 23
/* Bytes of a hash kept per record: enough that no two records are taken for
 * each other (2^128 work to forge a match), half the memory of a whole one. */
#define LEDGER_KEPT 16
/* Partitions beyond this are not a Kafka topic's; refusing them bounds memory. */
#define LEDGER_MAX_PARTITION 100000

static const uint8_t ledger_zero[LEDGER_HASH_LEN];

/* Reads a varint at *P, below END. False when cut short or longer than 10 bytes. */
static bool ledger_varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
	uint64_t v = 0;
	for (unsigned shift = 0; shift < 70 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*out = v;
			return true;
		}
	}
	return false;
}

static EVP_MD *ledger_sha256_md;

static void ledger_sha256_fetch(void)
{
	ledger_sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

const EVP_MD *ledger_sha256(void)
{
	static once_flag once = ONCE_FLAG_INIT;
	call_once(&once, ledger_sha256_fetch);
	return ledger_sha256_md ? ledger_sha256_md : EVP_sha256();
}

/* ledger_hash with a context and digest of the caller's: a verifier reuses
 * them for every record. */
static int ledger_hash_with(EVP_MD_CTX *ctx, const EVP_MD *md, const uint8_t *data, size_t len,
			    uint8_t out[LEDGER_HASH_LEN])
{
	if (!EVP_DigestInit_ex(ctx, md, NULL))
		return -ENOMEM;
	const uint8_t *p = data, *end = data + len, *kept = data;
	int rc = 0;
	/* Hash the spans between hash fields as they are, without re-encoding. */
	while (p < end) {
		const uint8_t *start = p;
		uint64_t key, n;
		if (!ledger_varint(&p, end, &key) || key >> 3 == 0) {
			rc = -EINVAL;
			break;
		}
		switch (key & 7) {
		case 0:
			if (!ledger_varint(&p, end, &n))
				rc = -EINVAL;
			break;
		case 1:
			n = 8;
			goto skip;
		case 5:
			n = 4;
			goto skip;
		case 2:
			if (!ledger_varint(&p, end, &n)) {
				rc = -EINVAL;
				break;
			}
skip:
			if (n > (uint64_t)(end - p))
				rc = -EINVAL;
			else
				p += n;
			break;
		default: /* groups: never in our messages */
			rc = -EINVAL;
		}
		if (rc)
			break;
		if (key >> 3 == LEDGER_HASH_FIELD) {
			EVP_DigestUpdate(ctx, kept, (size_t)(start - kept));
			kept = p;
		}
	}
	if (!rc) {
		EVP_DigestUpdate(ctx, kept, (size_t)(end - kept));
		EVP_DigestFinal_ex(ctx, out, NULL);
	}
	return rc;
}

int ledger_hash(const uint8_t *data, size_t len, uint8_t out[LEDGER_HASH_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	int rc = ledger_hash_with(ctx, ledger_sha256(), data, len, out);
	EVP_MD_CTX_free(ctx);
	return rc;
}

int ledger_link(Arbiter__V1__AuditRecord *r, const char *chain, uint64_t sequence,
		const uint8_t *prev_hash, uint8_t hash[LEDGER_HASH_LEN])
{
	if (!chain || !chain[0] || (sequence == 0) != (prev_hash == NULL))
		return -EINVAL;
	r->chain = (char *)chain;
	r->sequence = sequence;
	r->prev_hash.len = LEDGER_HASH_LEN;
	r->prev_hash.data = (uint8_t *)(prev_hash ? prev_hash : ledger_zero);
	r->hash.len = 0;
	r->hash.data = NULL;
	/* With hash empty, protobuf-c writes no field 23: the packed bytes are
	 * the canonical encoding itself. */
	size_t len = protobuf_c_message_get_packed_size(&r->base);
	uint8_t *buf = malloc(len ? len : 1);
	if (!buf)
		return -ENOMEM;
	protobuf_c_message_pack(&r->base, buf);
	int rc = EVP_Digest(buf, len, hash, NULL, ledger_sha256(), NULL) ? 0 : -ENOMEM;
	free(buf);
	if (rc)
		return rc;
	r->hash.len = LEDGER_HASH_LEN;
	r->hash.data = hash;
	return 0;
}

const char *ledger_break_name(enum ledger_break b)
{
	static const char *const names[] = {
		[LEDGER_OK] = "ok",
		[LEDGER_ALTERED] = "altered",
		[LEDGER_MISSING] = "missing",
		[LEDGER_INSERTED] = "inserted",
		[LEDGER_REORDERED] = "reordered",
		[LEDGER_UNDECODABLE] = "undecodable",
	};
	return b <= LEDGER_UNDECODABLE ? names[b] : "?";
}

/* --- Verifier ----------------------------------------------------------------- */

/* A record read, by sequence: what its neighbours must link to, and where it
 * is, to name it in a report. */
struct ledger_entry {
	uint64_t seq;
	uint64_t epoch;
	uint8_t hash[LEDGER_KEPT];
	uint8_t prev[LEDGER_KEPT];
	struct ledger_pos pos;
	bool fenced; /* a previous owner's, written after the chain moved on: not in the chain */
};

struct ledger_chain {
	struct ledger_chain_report rep;
	char *name;
	struct ledger_entry *e; /* in the order read */
	size_t n, cap;
	/* Where each ownership epoch starts (its lowest sequence), by epoch ascending. */
	struct {
		uint64_t epoch, seq;
	} * starts;
	size_t n_starts;
	/* Sequence -> index into e + 1 (0: empty), open addressing: a record needs only its own
	 * sequence and its two neighbours', so any order of arrival costs O(1) a record. */
	uint32_t *slots;
	size_t mask;
	/* The gap the first break left (LO..HI, FILLED of them read since):
	 * missing until every one arrives late, which makes it a reordering. */
	bool gap_open;
	uint64_t gap_lo, gap_hi, gap_filled, gap_seq;
	enum ledger_break last; /* the kind of the latest break noted */
};

struct ledger_verifier {
	struct strmap names; /* chain name -> index in chains */
	struct ledger_chain **chains;
	size_t n, cap;
	uint32_t *last; /* by partition: the chain last read there, UINT32_MAX none */
	size_t n_last;
	struct ledger_chain_report *out;
	EVP_MD_CTX *ctx; /* one for every record */
};

struct ledger_verifier *ledger_verifier_new(void)
{
	struct ledger_verifier *v = calloc(1, sizeof(struct ledger_verifier));
	if (v && !(v->ctx = EVP_MD_CTX_new())) {
		ledger_verifier_free(v);
		return NULL;
	}
	return v;
}

void ledger_verifier_free(struct ledger_verifier *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++) {
		free(v->chains[i]->name);
		free(v->chains[i]->e);
		free(v->chains[i]->slots);
		free(v->chains[i]->starts);
		free(v->chains[i]);
	}
	free(v->chains);
	strmap_free(&v->names);
	free(v->last);
	free(v->out);
	EVP_MD_CTX_free(v->ctx);
	free(v);
}

/* The chain called NAME, made when new; NULL when out of memory. */
static struct ledger_chain *ledger_chain_get(struct ledger_verifier *v, const char *name,
					     uint32_t *index)
{
	uint32_t i;
	size_t len = strlen(name);
	if (strmap_get(&v->names, name, len, &i)) {
		*index = i;
		return v->chains[i];
	}
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 8;
		struct ledger_chain **c = realloc(v->chains, cap * sizeof(*c));
		if (!c)
			return NULL;
		v->chains = c;
		v->cap = cap;
	}
	struct ledger_chain *c = calloc(1, sizeof(*c));
	if (!c || !(c->name = strdup(name)) ||
	    strmap_put(&v->names, name, len, (uint32_t)v->n, NULL) < 0) {
		if (c)
			free(c->name);
		free(c);
		return NULL;
	}
	c->rep.chain = c->name;
	*index = (uint32_t)v->n;
	v->chains[v->n++] = c;
	return c;
}

/* Counts a break at POS; the first one of the chain is kept with its
 * words. Returns true when this was the first. */
__attribute__((format(printf, 4, 5))) static bool ledger_note(struct ledger_chain *c,
							      enum ledger_break kind,
							      struct ledger_pos pos,
							      const char *fmt, ...)
{
	c->rep.breaks++;
	c->last = kind;
	if (c->rep.first != LEDGER_OK)
		return false;
	c->rep.first = kind;
	c->rep.at = pos;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->rep.detail, sizeof(c->rep.detail), fmt, ap);
	va_end(ap);
	return true;
}

static size_t ledger_slot_of(uint64_t seq, size_t mask)
{
	seq *= 0x9E3779B97F4A7C15ull; /* Fibonacci hashing spreads consecutive sequences */
	return (size_t)(seq >> 32) & mask;
}

/* The entry holding SEQ, or NULL. */
static struct ledger_entry *ledger_find(const struct ledger_chain *c, uint64_t seq)
{
	if (!c->slots)
		return NULL;
	for (size_t i = ledger_slot_of(seq, c->mask);; i = (i + 1) & c->mask) {
		uint32_t k = c->slots[i];
		if (!k)
			return NULL;
		if (c->e[k - 1].seq == seq && !c->e[k - 1].fenced)
			return &c->e[k - 1];
	}
}

/* Rebuilds the table at twice the size; kept at most half full. */
static int ledger_grow_slots(struct ledger_chain *c)
{
	size_t size = c->slots ? (c->mask + 1) * 2 : 128;
	uint32_t *slots = calloc(size, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t k = 0; k < c->n; k++) {
		size_t i = ledger_slot_of(c->e[k].seq, size - 1);
		while (slots[i])
			i = (i + 1) & (size - 1);
		slots[i] = (uint32_t)k + 1;
	}
	free(c->slots);
	c->slots = slots;
	c->mask = size - 1;
	return 0;
}

static int ledger_place(struct ledger_chain *c, uint64_t seq, uint64_t epoch, const uint8_t *prev,
			const uint8_t *hash, struct ledger_pos pos)
{
	if (c->n >= UINT32_MAX - 1)
		return -ENOMEM;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct ledger_entry *e = realloc(c->e, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		c->e = e;
		c->cap = cap;
	}
	if ((!c->slots || (c->n + 1) * 2 > c->mask + 1) && ledger_grow_slots(c) < 0)
		return -ENOMEM;
	struct ledger_entry *e = &c->e[c->n];
	e->seq = seq;
	e->epoch = epoch;
	e->fenced = false;
	memcpy(e->hash, hash, LEDGER_KEPT);
	memcpy(e->prev, prev, LEDGER_KEPT);
	e->pos = pos;
	size_t i = ledger_slot_of(seq, c->mask);
	while (c->slots[i])
		i = (i + 1) & c->mask;
	c->slots[i] = (uint32_t)++c->n;
	if (!c->rep.has_head || seq > c->rep.head_sequence) {
		c->rep.has_head = true;
		c->rep.head_sequence = seq;
		memcpy(c->rep.head_hash, hash, LEDGER_HASH_LEN);
	}
	return 0;
}

/* True when a record of EPOCH at SEQ was written after a later epoch took the chain over. */
static bool ledger_fenced(const struct ledger_chain *c, uint64_t epoch, uint64_t seq)
{
	for (size_t i = c->n_starts; i-- > 0 && c->starts[i].epoch > epoch;)
		if (c->starts[i].seq <= seq)
			return true;
	return false;
}

/* The head after records were fenced: the highest sequence still in the chain. */
static void ledger_rehead(struct ledger_chain *c)
{
	c->rep.has_head = false;
	for (size_t k = 0; k < c->n; k++) {
		const struct ledger_entry *e = &c->e[k];
		if (e->fenced || (c->rep.has_head && e->seq <= c->rep.head_sequence))
			continue;
		c->rep.has_head = true;
		c->rep.head_sequence = e->seq;
		memcpy(c->rep.head_hash, e->hash, LEDGER_KEPT);
	}
}

/* EPOCH is seen at SEQ. A later epoch than any before starts a takeover: the records of
 * earlier epochs already read from SEQ on were a previous owner's, written after the chain
 * moved on, and are fenced now. Returns 0 or -ENOMEM. */
static int ledger_note_epoch(struct ledger_chain *c, uint64_t epoch, uint64_t seq)
{
	size_t i = 0;
	while (i < c->n_starts && c->starts[i].epoch < epoch)
		i++;
	if (i < c->n_starts && c->starts[i].epoch == epoch) {
		if (seq >= c->starts[i].seq)
			return 0;
		c->starts[i].seq = seq;
	} else {
		void *v = realloc(c->starts, (c->n_starts + 1) * sizeof(*c->starts));
		if (!v)
			return -ENOMEM;
		c->starts = v;
		memmove(&c->starts[i + 1], &c->starts[i], (c->n_starts - i) * sizeof(*c->starts));
		c->starts[i].epoch = epoch;
		c->starts[i].seq = seq;
		c->n_starts++;
	}
	if (i == 0) /* no earlier epoch: nothing to fence (and a chain of one epoch read in
		     * reverse stays linear) */
		return 0;
	bool moved = false;
	for (size_t k = 0; k < c->n; k++) {
		struct ledger_entry *e = &c->e[k];
		if (!e->fenced && e->epoch < epoch && e->seq >= seq) {
			e->fenced = true;
			c->rep.records--;
			c->rep.fenced++;
			moved = true;
		}
	}
	if (moved)
		ledger_rehead(c);
	return 0;
}

/* Where R fits in C, or what is wrong with it (see ledger.h). COMPUTED is the
 * hash of its canonical encoding. */
static int ledger_chain_add(struct ledger_chain *c, struct ledger_pos pos,
			    const Arbiter__V1__AuditRecord *r, const uint8_t *computed)
{
	uint64_t s = r->sequence;
	const uint8_t *p = r->prev_hash.data, *h = r->hash.data;
	bool intact = !memcmp(computed, h, LEDGER_HASH_LEN);
	if (intact && ledger_fenced(c, r->chain_epoch, s)) {
		c->rep.fenced++;
		return 0;
	}
	if (intact && ledger_note_epoch(c, r->chain_epoch, s) < 0)
		return -ENOMEM;
	const struct ledger_entry *found = ledger_find(c, s);
	if (found && intact && !memcmp(found->hash, h, LEDGER_KEPT) &&
	    !memcmp(found->prev, p, LEDGER_KEPT)) {
		c->rep.duplicates++;
		return 0;
	}
	c->rep.records++;
	if (!intact) {
		ledger_note(c, LEDGER_ALTERED, pos,
			    "sequence %" PRIu64 ": its hash does not match its content", s);
		/* Taken as it stands, so that its successor still links. */
		return found ? 0 : ledger_place(c, s, r->chain_epoch, p, h, pos);
	}
	if (found) {
		ledger_note(c, LEDGER_INSERTED, pos,
			    "sequence %" PRIu64 " is already held by the record at partition "
			    "%" PRId32 " offset %" PRId64 ", with other content",
			    s, found->pos.partition, found->pos.offset);
		return 0;
	}
	const struct ledger_entry *below = s > 0 ? ledger_find(c, s - 1) : NULL;
	const struct ledger_entry *above = s < UINT64_MAX ? ledger_find(c, s + 1) : NULL;
	bool has_head = c->rep.has_head;
	uint64_t head = c->rep.head_sequence;
	if (s == 0 && memcmp(p, ledger_zero, LEDGER_HASH_LEN)) {
		ledger_note(c, LEDGER_INSERTED, pos,
			    "a genesis (sequence 0) with a non-zero prev_hash");
	} else if (below && memcmp(below->hash, p, LEDGER_KEPT)) {
		ledger_note(c, LEDGER_INSERTED, pos,
			    "sequence %" PRIu64 " does not link: its prev_hash is not the hash of "
			    "sequence %" PRIu64 " at partition %" PRId32 " offset %" PRId64,
			    s, s - 1, below->pos.partition, below->pos.offset);
	} else if (above && memcmp(above->prev, h, LEDGER_KEPT)) {
		ledger_note(c, LEDGER_INSERTED, pos,
			    "sequence %" PRIu64 " does not link: sequence %" PRIu64
			    " at partition %" PRId32 " offset %" PRId64
			    " names another predecessor",
			    s, s + 1, above->pos.partition, above->pos.offset);
	} else if (!has_head ? s > 0 : s > head && s - head > 1) { /* no overflow at 2^64-1 */
		uint64_t lo = has_head ? head + 1 : 0;
		if (ledger_note(c, LEDGER_MISSING, pos,
				"sequence jumps to %" PRIu64 ": %" PRIu64 "..%" PRIu64 " absent", s,
				lo, s - 1)) {
			c->gap_open = true;
			c->gap_lo = lo;
			c->gap_hi = s - 1;
			c->gap_filled = 0;
			c->gap_seq = s;
		}
	} else if (has_head && s < head) {
		/* A hole below the head: something jumped over it earlier. */
		if (c->gap_open && s >= c->gap_lo && s <= c->gap_hi) {
			if (++c->gap_filled == c->gap_hi - c->gap_lo + 1) {
				c->gap_open = false;
				c->rep.first = LEDGER_REORDERED;
				snprintf(c->rep.detail, sizeof(c->rep.detail),
					 "sequence %" PRIu64 " came before %" PRIu64 "..%" PRIu64
					 " (the last at partition %" PRId32 " offset %" PRId64 ")",
					 c->gap_seq, c->gap_lo, c->gap_hi, pos.partition,
					 pos.offset);
			}
		} else {
			ledger_note(c, LEDGER_REORDERED, pos,
				    "sequence %" PRIu64 " arrives after sequence %" PRIu64, s,
				    head);
		}
	}
	return ledger_place(c, s, r->chain_epoch, p, h, pos);
}

/* The chain an undecodable record at PARTITION counts for. */
static struct ledger_chain *ledger_orphan_chain(struct ledger_verifier *v, int32_t partition)
{
	if (v->last[partition] != UINT32_MAX)
		return v->chains[v->last[partition]];
	char name[32];
	uint32_t index;
	snprintf(name, sizeof(name), "partition %" PRId32, partition);
	return ledger_chain_get(v, name, &index);
}

int ledger_verify_add(struct ledger_verifier *v, int32_t partition, int64_t offset,
		      const uint8_t *data, size_t len)
{
	return ledger_verify_feed(v, partition, offset, data, len, NULL, NULL);
}

int ledger_verify_feed(struct ledger_verifier *v, int32_t partition, int64_t offset,
		       const uint8_t *data, size_t len, ProtobufCAllocator *alloc,
		       struct ledger_fed *out)
{
	if (out)
		*out = (struct ledger_fed){.brk = LEDGER_OK};
	if (partition < 0 || partition > LEDGER_MAX_PARTITION)
		return -EINVAL;
	if ((size_t)partition >= v->n_last) {
		size_t n = (size_t)partition + 1;
		uint32_t *last = realloc(v->last, n * sizeof(*last));
		if (!last)
			return -ENOMEM;
		for (size_t i = v->n_last; i < n; i++)
			last[i] = UINT32_MAX;
		v->last = last;
		v->n_last = n;
	}
	struct ledger_pos pos = {partition, offset};
	uint8_t computed[LEDGER_HASH_LEN];
	int hrc = ledger_hash_with(v->ctx, ledger_sha256(), data, len, computed);
	if (hrc == -ENOMEM)
		return hrc;
	Arbiter__V1__AuditRecord *r =
		hrc ? NULL : arbiter__v1__audit_record__unpack(alloc, len, data);
	const char *why = !r           ? "not an AuditRecord" :
			  !r->chain[0] ? "no chain" :
			  r->prev_hash.len != LEDGER_HASH_LEN || r->hash.len != LEDGER_HASH_LEN ?
					 "prev_hash or hash is not 32 bytes" :
					 NULL;
	int rc = 0;
	if (why) {
		struct ledger_chain *c = ledger_orphan_chain(v, partition);
		if (!c) {
			rc = -ENOMEM;
		} else {
			c->rep.records++;
			ledger_note(c, LEDGER_UNDECODABLE, pos, "%s", why);
			if (out)
				out->brk = LEDGER_UNDECODABLE;
		}
	} else {
		uint32_t index;
		struct ledger_chain *c = ledger_chain_get(v, r->chain, &index);
		if (!c) {
			rc = -ENOMEM;
		} else {
			v->last[partition] = index;
			bool clean = c->rep.first == LEDGER_OK;
			uint64_t breaks = c->rep.breaks, dups = c->rep.duplicates,
				 fenced = c->rep.fenced;
			rc = ledger_chain_add(c, pos, r, computed);
			if (out) {
				out->duplicate = c->rep.duplicates > dups;
				/* Only this one: records fenced retroactively were handed
				 * over before (see ledger.h). */
				out->fenced = c->rep.fenced > fenced && !out->duplicate &&
					      ledger_fenced(c, r->chain_epoch, r->sequence);
				out->brk = c->rep.breaks > breaks ? c->last : LEDGER_OK;
			}
			/* The first break names who wrote the record it shows at. */
			if (clean && c->rep.first != LEDGER_OK && r->writer && r->writer[0] &&
			    c->rep.at.partition == pos.partition &&
			    c->rep.at.offset == pos.offset) {
				size_t n = strlen(c->rep.detail);
				snprintf(c->rep.detail + n, sizeof(c->rep.detail) - n,
					 " (written by %s)", r->writer);
			}
		}
	}
	if (r && out && !rc) {
		out->record = r;
		r = NULL;
	}
	if (r)
		arbiter__v1__audit_record__free_unpacked(r, alloc);
	return rc;
}

static int ledger_report_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ledger_chain_report *)a)->chain,
		      ((const struct ledger_chain_report *)b)->chain);
}

size_t ledger_verify_reports(struct ledger_verifier *v, const struct ledger_chain_report **out)
{
	free(v->out);
	v->out = malloc((v->n ? v->n : 1) * sizeof(*v->out));
	if (!v->out) {
		*out = NULL;
		return 0;
	}
	for (size_t i = 0; i < v->n; i++)
		v->out[i] = v->chains[i]->rep;
	qsort(v->out, v->n, sizeof(*v->out), ledger_report_cmp);
	*out = v->out;
	return v->n;
}
