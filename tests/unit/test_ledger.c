/* Unit tests for the audit ledger (ledger.c): canonical hashing, links, and the chain verifier. */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arbiter/v1/audit_record.pb-c.h"
#include "ledger.h"
#include "unit.h"

#define N 10

/* A packed record and its hash. */
struct rec {
	uint8_t *data;
	size_t len;
	uint8_t hash[LEDGER_HASH_LEN];
};

static void rec_pack(struct rec *out, const Arbiter__V1__AuditRecord *r)
{
	out->len = arbiter__v1__audit_record__get_packed_size(r);
	out->data = malloc(out->len);
	ck_assert_ptr_nonnull(out->data);
	arbiter__v1__audit_record__pack(r, out->data);
}

/* A record with content of its own, as the daemon would write it. */
static Arbiter__V1__AuditRecord content(char id[64], const char *chain, uint64_t seq)
{
	Arbiter__V1__AuditRecord r = ARBITER__V1__AUDIT_RECORD__INIT;
	snprintf(id, 64, "%s-%" PRIu64, chain, seq);
	r.record_id = id;
	r.content_id = "c-1";
	r.action = ARBITER__V1__ACTION__REMOVE;
	r.explanation = "unlawful";
	r.decided_at_ms = 1700000000000LL + (int64_t)seq;
	return r;
}

/* Record SEQ of CHAIN after PREV (NULL: genesis). */
static void rec_make(struct rec *out, const char *chain, uint64_t seq, const uint8_t *prev)
{
	char id[64];
	Arbiter__V1__AuditRecord r = content(id, chain, seq);
	ck_assert_int_eq(ledger_link(&r, chain, seq, prev, out->hash), 0);
	rec_pack(out, &r);
}

/* Record SEQ of CHAIN after PREV by the owner of EPOCH, with WHO in its content (two owners
 * writing one sequence write different records). */
static void rec_epoch(struct rec *out, const char *chain, uint64_t seq, const uint8_t *prev,
		      uint64_t epoch, const char *who)
{
	char id[64];
	Arbiter__V1__AuditRecord r = content(id, chain, seq);
	r.chain_epoch = epoch;
	r.writer = (char *)who;
	ck_assert_int_eq(ledger_link(&r, chain, seq, prev, out->hash), 0);
	rec_pack(out, &r);
}

/* Records 0..N-1 of CHAIN. */
static void chain_make(struct rec recs[N], const char *chain)
{
	for (uint64_t i = 0; i < N; i++)
		rec_make(&recs[i], chain, i, i ? recs[i - 1].hash : NULL);
}

static void chain_free(struct rec *recs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(recs[i].data);
}

/* A record placed where ledger_link would refuse to: sequence SEQ after PREV
 * whatever they are, with a valid hash of its own. */
static void rec_forge(struct rec *out, const char *chain, uint64_t seq, const uint8_t *prev,
		      const char *explanation)
{
	char id[64];
	Arbiter__V1__AuditRecord r = content(id, chain, seq);
	r.explanation = (char *)explanation;
	r.chain = (char *)chain;
	r.sequence = seq;
	r.prev_hash.len = LEDGER_HASH_LEN;
	r.prev_hash.data = (uint8_t *)prev;
	struct rec bare;
	rec_pack(&bare, &r);
	ck_assert_int_eq(ledger_hash(bare.data, bare.len, out->hash), 0);
	free(bare.data);
	r.hash.len = LEDGER_HASH_LEN;
	r.hash.data = out->hash;
	rec_pack(out, &r);
}

/* REC with its explanation changed and its hash kept: what tampering does. */
static void rec_alter(struct rec *out, const struct rec *in)
{
	Arbiter__V1__AuditRecord *r = arbiter__v1__audit_record__unpack(NULL, in->len, in->data);
	ck_assert_ptr_nonnull(r);
	char *was = r->explanation;
	r->explanation = "lawful after all";
	memcpy(out->hash, in->hash, LEDGER_HASH_LEN);
	rec_pack(out, r);
	r->explanation = was; /* freed with the rest */
	arbiter__v1__audit_record__free_unpacked(r, NULL);
}

/* Feeds RECS[0..n) to V on PARTITION from offset 0; NULL entries are garbage. */
static void feed(struct ledger_verifier *v, int32_t partition, const struct rec *const *recs,
		 size_t n)
{
	static const uint8_t garbage[] = "garbage\xff";
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(ledger_verify_add(v, partition, (int64_t)i,
						   recs[i] ? recs[i]->data : garbage,
						   recs[i] ? recs[i]->len : sizeof(garbage) - 1),
				 0);
}

/* The only chain's report. */
static const struct ledger_chain_report *only(struct ledger_verifier *v)
{
	const struct ledger_chain_report *reps;
	ck_assert_uint_eq(ledger_verify_reports(v, &reps), 1);
	return reps;
}

static void assert_break(const struct ledger_chain_report *r, enum ledger_break kind,
			 int64_t offset, const char *words)
{
	ck_assert_msg(r->first == kind, "chain %s: expected %s, got %s (%s)", r->chain,
		      ledger_break_name(kind), ledger_break_name(r->first), r->detail);
	ck_assert_int_eq(r->at.offset, offset);
	ck_assert_msg(strstr(r->detail, words), "\"%s\" lacks \"%s\"", r->detail, words);
}

START_TEST(canonical_encoding_is_the_record_without_its_hash)
{
	struct rec a, b;
	rec_make(&a, "audit-0", 0, NULL);
	rec_make(&b, "audit-0", 0, NULL);
	/* Deterministic: the same record packs and hashes the same. */
	ck_assert_uint_eq(a.len, b.len);
	ck_assert_mem_eq(a.data, b.data, a.len);
	ck_assert_mem_eq(a.hash, b.hash, LEDGER_HASH_LEN);
	/* The hash is SHA-256 of the record packed with hash cleared… */
	Arbiter__V1__AuditRecord *r = arbiter__v1__audit_record__unpack(NULL, a.len, a.data);
	ck_assert_uint_eq(r->hash.len, LEDGER_HASH_LEN);
	ck_assert_uint_eq(r->prev_hash.len, LEDGER_HASH_LEN);
	static const uint8_t zero[LEDGER_HASH_LEN];
	ck_assert_mem_eq(r->prev_hash.data, zero, LEDGER_HASH_LEN);
	r->hash.len = 0;
	struct rec bare;
	rec_pack(&bare, r);
	uint8_t md[LEDGER_HASH_LEN];
	EVP_Digest(bare.data, bare.len, md, NULL, EVP_sha256(), NULL);
	ck_assert_mem_eq(md, a.hash, LEDGER_HASH_LEN);
	/* …which is what ledger_hash finds in the packed record, hash and all. */
	ck_assert_int_eq(ledger_hash(a.data, a.len, md), 0);
	ck_assert_mem_eq(md, a.hash, LEDGER_HASH_LEN);
	ck_assert_int_eq(ledger_hash(bare.data, bare.len, md), 0);
	ck_assert_mem_eq(md, a.hash, LEDGER_HASH_LEN);
	arbiter__v1__audit_record__free_unpacked(r, NULL);
	free(bare.data);
	chain_free(&a, 1);
	chain_free(&b, 1);
}
END_TEST

START_TEST(hash_changes_with_every_field)
{
	static const uint8_t prev[LEDGER_HASH_LEN] = {1, 2, 3};
	uint8_t base[LEDGER_HASH_LEN], h[LEDGER_HASH_LEN];
	Arbiter__V1__AuditRecord r = ARBITER__V1__AUDIT_RECORD__INIT;
	ck_assert_int_eq(ledger_link(&r, "audit-0", 7, prev, base), 0);
	/* Every field of the schema, so that a new one cannot escape the hash. */
	const ProtobufCMessageDescriptor *d = &arbiter__v1__audit_record__descriptor;
	static char *one[] = {"x"};
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (!strcmp(f->name, "chain") || !strcmp(f->name, "sequence") ||
		    !strcmp(f->name, "prev_hash") || !strcmp(f->name, "hash"))
			continue;
		Arbiter__V1__AuditRecord m = ARBITER__V1__AUDIT_RECORD__INIT;
		void *p = (char *)&m + f->offset;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			ck_assert_int_eq(f->type, PROTOBUF_C_TYPE_STRING);
			*(size_t *)((char *)&m + f->quantifier_offset) = 1;
			*(char ***)p = one;
		} else {
			switch (f->type) {
			case PROTOBUF_C_TYPE_STRING:
				*(char **)p = "x";
				break;
			case PROTOBUF_C_TYPE_INT32:
			case PROTOBUF_C_TYPE_ENUM:
				*(int32_t *)p = 1;
				break;
			case PROTOBUF_C_TYPE_INT64:
				*(int64_t *)p = 1;
				break;
			case PROTOBUF_C_TYPE_UINT64:
				*(uint64_t *)p = 1;
				break;
			case PROTOBUF_C_TYPE_BOOL:
				*(protobuf_c_boolean *)p = 1;
				break;
			case PROTOBUF_C_TYPE_BYTES:
				((ProtobufCBinaryData *)p)->len = 1;
				((ProtobufCBinaryData *)p)->data = (uint8_t *)"x";
				break;
			default:
				ck_abort_msg("field %s: type %d not covered", f->name, f->type);
			}
		}
		ck_assert_int_eq(ledger_link(&m, "audit-0", 7, prev, h), 0);
		ck_assert_msg(memcmp(h, base, LEDGER_HASH_LEN), "the hash ignores %s", f->name);
	}
	/* And the chain fields, set by the link itself. */
	ck_assert_int_eq(ledger_link(&r, "audit-1", 7, prev, h), 0);
	ck_assert(memcmp(h, base, LEDGER_HASH_LEN));
	ck_assert_int_eq(ledger_link(&r, "audit-0", 8, prev, h), 0);
	ck_assert(memcmp(h, base, LEDGER_HASH_LEN));
	static const uint8_t other[LEDGER_HASH_LEN] = {1, 2, 4};
	ck_assert_int_eq(ledger_link(&r, "audit-0", 7, other, h), 0);
	ck_assert(memcmp(h, base, LEDGER_HASH_LEN));
}
END_TEST

/* A fresh record with the N bytes TAIL after it: ledger_hash returns HASH_RC (and a hash
 * other than the record's when 0), and a verifier's one chain starts with the break KIND
 * saying WORDS. */
static void assert_record_with_tail(const char *tail, size_t n, int hash_rc, enum ledger_break kind,
				    const char *words)
{
	struct rec a;
	rec_make(&a, "audit-0", 0, NULL);
	uint8_t *more = malloc(a.len + n);
	memcpy(more, a.data, a.len);
	memcpy(more + a.len, tail, n);
	uint8_t h[LEDGER_HASH_LEN];
	ck_assert_int_eq(ledger_hash(more, a.len + n, h), hash_rc);
	if (hash_rc == 0)
		ck_assert(memcmp(h, a.hash, LEDGER_HASH_LEN));

	struct ledger_verifier *v = ledger_verifier_new();
	ck_assert_int_eq(ledger_verify_add(v, 0, 0, more, a.len + n), 0);
	assert_break(only(v), kind, 0, words);
	ledger_verifier_free(v);
	free(more);
	chain_free(&a, 1);
}

START_TEST(unknown_fields_are_hashed_as_written)
{
	/* Field 99, varint 1: unknown to the schema, but on the wire. */
	assert_record_with_tail("\x98\x06\x01", 3, 0, LEDGER_ALTERED, "does not match");
}
END_TEST

START_TEST(field_zero_spelt_long_is_not_a_record)
{
	/* "\x82\x00": a tag of two bytes whose number is 0 (invalid), wire type 2, then one
	 * byte. protobuf-c 1.4.1 checks only a tag's first byte for 0 and keeps this as an
	 * unknown field (packing it back as field 0); the ledger refuses it, so a verifier
	 * finds no record here rather than one protobuf-c would re-encode differently. */
	assert_record_with_tail("\x82\x00\x01x", 4, -EINVAL, LEDGER_UNDECODABLE,
				"not an AuditRecord");
}
END_TEST

START_TEST(malformed_protobuf_has_no_hash)
{
	uint8_t h[LEDGER_HASH_LEN];
	/* Field 1, length 5, 2 bytes. */
	ck_assert_int_eq(ledger_hash((const uint8_t *)"\x0a\x05"
						      "ab",
				     4, h),
			 -EINVAL);
	/* Wire type 3 (a group). */
	ck_assert_int_eq(ledger_hash((const uint8_t *)"\x0b", 1, h), -EINVAL);
	/* A varint cut short. */
	ck_assert_int_eq(ledger_hash((const uint8_t *)"\x08\x80", 2, h), -EINVAL);
	ck_assert_int_eq(ledger_hash((const uint8_t *)"", 0, h), 0);
}
END_TEST

START_TEST(link_keeps_the_genesis_rule)
{
	Arbiter__V1__AuditRecord r = ARBITER__V1__AUDIT_RECORD__INIT;
	uint8_t h[LEDGER_HASH_LEN], prev[LEDGER_HASH_LEN] = {9};
	ck_assert_int_eq(ledger_link(&r, NULL, 0, NULL, h), -EINVAL);
	ck_assert_int_eq(ledger_link(&r, "", 0, NULL, h), -EINVAL);
	ck_assert_int_eq(ledger_link(&r, "audit-0", 0, prev, h), -EINVAL);
	ck_assert_int_eq(ledger_link(&r, "audit-0", 3, NULL, h), -EINVAL);
	ck_assert_int_eq(ledger_link(&r, "audit-0", 3, prev, h), 0);
	ck_assert_str_eq(r.chain, "audit-0");
	ck_assert_uint_eq(r.sequence, 3);
	ck_assert_ptr_eq(r.prev_hash.data, prev);
	ck_assert_ptr_eq(r.hash.data, h);
}
END_TEST

START_TEST(clean_chain_with_exact_duplicates)
{
	struct rec recs[N];
	chain_make(recs, "audit-0");
	/* 0..3, 3 again (a retry), 4..9, then 7..9 again (a replay after a crash). */
	const struct rec *order[N + 4];
	size_t n = 0;
	for (size_t i = 0; i < N; i++) {
		order[n++] = &recs[i];
		if (i == 3)
			order[n++] = &recs[3];
	}
	for (size_t i = 7; i < N; i++)
		order[n++] = &recs[i];
	struct ledger_verifier *v = ledger_verifier_new();
	feed(v, 0, order, n);
	const struct ledger_chain_report *r = only(v);
	ck_assert_msg(r->first == LEDGER_OK, "%s: %s", ledger_break_name(r->first), r->detail);
	ck_assert_str_eq(r->chain, "audit-0");
	ck_assert_uint_eq(r->records, N);
	ck_assert_uint_eq(r->duplicates, 4);
	ck_assert_uint_eq(r->breaks, 0);
	ck_assert(r->has_head);
	ck_assert_uint_eq(r->head_sequence, N - 1);
	ck_assert_mem_eq(r->head_hash, recs[N - 1].hash, LEDGER_HASH_LEN);
	ledger_verifier_free(v);
	chain_free(recs, N);
}
END_TEST

/* The chain in order, with RECS[I] replaced by WITH (NULL: dropped). */
static size_t with_at(const struct rec *order[N + 1], struct rec recs[N], size_t i,
		      const struct rec *with)
{
	size_t n = 0;
	for (size_t k = 0; k < N; k++)
		if (k != i || with)
			order[n++] = k == i ? with : &recs[k];
	return n;
}

START_TEST(altered_record_is_found_and_alone)
{
	struct rec recs[N], altered;
	chain_make(recs, "audit-0");
	rec_alter(&altered, &recs[4]);
	const struct rec *order[N + 1];
	size_t n = with_at(order, recs, 4, &altered);
	struct ledger_verifier *v = ledger_verifier_new();
	feed(v, 0, order, n);
	const struct ledger_chain_report *r = only(v);
	assert_break(r, LEDGER_ALTERED, 4, "sequence 4: its hash does not match its content");
	/* Its successor still links to the hash it carries: one break. */
	ck_assert_uint_eq(r->breaks, 1);
	ck_assert_uint_eq(r->records, N);
	ledger_verifier_free(v);
	chain_free(&altered, 1);
	chain_free(recs, N);
}
END_TEST

START_TEST(missing_record_is_a_jump)
{
	struct rec recs[N];
	chain_make(recs, "audit-0");
	const struct rec *order[N + 1];
	size_t n = with_at(order, recs, 4, NULL);
	struct ledger_verifier *v = ledger_verifier_new();
	feed(v, 0, order, n);
	const struct ledger_chain_report *r = only(v);
	/* Record 5 now sits at offset 4. */
	assert_break(r, LEDGER_MISSING, 4, "sequence jumps to 5: 4..4 absent");
	ck_assert_uint_eq(r->breaks, 1);
	ck_assert_uint_eq(r->records, N - 1);
	ledger_verifier_free(v);

	/* A chain whose start is gone. */
	v = ledger_verifier_new();
	feed(v, 0, order + 4, n - 4);
	assert_break(only(v), LEDGER_MISSING, 0, "sequence jumps to 5: 0..4 absent");
	ledger_verifier_free(v);
	chain_free(recs, N);
}
END_TEST

START_TEST(inserted_records_do_not_fit)
{
	struct rec recs[N], forged, stray, genesis;
	chain_make(recs, "audit-0");

	/* A forged sequence 5 that links to 4, before the real 5. */
	rec_forge(&forged, "audit-0", 5, recs[4].hash, "forged");
	const struct rec *order[N + 1];
	size_t n = 0;
	for (size_t k = 0; k < N; k++) {
		if (k == 5)
			order[n++] = &forged;
		order[n++] = &recs[k];
	}
	struct ledger_verifier *v = ledger_verifier_new();
	feed(v, 0, order, n);
	assert_break(only(v), LEDGER_INSERTED, 6,
		     "sequence 5 is already held by the record at partition 0 offset 5");
	ledger_verifier_free(v);

	/* A record that names the wrong predecessor. */
	static const uint8_t junk[LEDGER_HASH_LEN] = {0xde, 0xad};
	rec_forge(&stray, "audit-0", 5, junk, "stray");
	n = with_at(order, recs, 5, &stray);
	v = ledger_verifier_new();
	feed(v, 0, order, n);
	assert_break(only(v), LEDGER_INSERTED, 5,
		     "sequence 5 does not link: its prev_hash is not the hash of sequence 4 at "
		     "partition 0 offset 4");
	ledger_verifier_free(v);

	/* A second genesis that claims a predecessor. */
	rec_forge(&genesis, "audit-1", 0, junk, "genesis");
	v = ledger_verifier_new();
	const struct rec *one[] = {&genesis};
	feed(v, 0, one, 1);
	assert_break(only(v), LEDGER_INSERTED, 0, "genesis");
	ledger_verifier_free(v);

	chain_free(&forged, 1);
	chain_free(&stray, 1);
	chain_free(&genesis, 1);
	chain_free(recs, N);
}
END_TEST

START_TEST(reordered_records_are_told_from_missing_ones)
{
	struct rec recs[N];
	chain_make(recs, "audit-0");
	/* 5 before 4. */
	const struct rec *order[N];
	for (size_t k = 0; k < N; k++)
		order[k] = &recs[k == 4 ? 5 : k == 5 ? 4 : k];
	struct ledger_verifier *v = ledger_verifier_new();
	feed(v, 0, order, N);
	const struct ledger_chain_report *r = only(v);
	assert_break(r, LEDGER_REORDERED, 4, "sequence 5 came before 4..4");
	ck_assert_uint_eq(r->breaks, 1);
	ck_assert_uint_eq(r->records, N);
	ck_assert_uint_eq(r->head_sequence, N - 1);
	ledger_verifier_free(v);

	/* 8 before 2..7: one reordering, reported once the gap closes. */
	const struct rec *late[N];
	size_t n = 0;
	late[n++] = &recs[0];
	late[n++] = &recs[1];
	late[n++] = &recs[8];
	for (size_t k = 2; k < 8; k++)
		late[n++] = &recs[k];
	late[n++] = &recs[9];
	v = ledger_verifier_new();
	feed(v, 0, late, n);
	assert_break(only(v), LEDGER_REORDERED, 2, "sequence 8 came before 2..7");
	ck_assert_uint_eq(only(v)->breaks, 1);
	ledger_verifier_free(v);
	chain_free(recs, N);
}
END_TEST

START_TEST(undecodable_records_count_for_their_partition)
{
	struct rec recs[N];
	chain_make(recs, "audit-0");
	const struct rec *order[N + 1];
	size_t n = 0;
	for (size_t k = 0; k < N; k++) {
		if (k == 5)
			order[n++] = NULL;
		order[n++] = &recs[k];
	}
	struct ledger_verifier *v = ledger_verifier_new();
	feed(v, 0, order, n);
	const struct ledger_chain_report *r = only(v);
	assert_break(r, LEDGER_UNDECODABLE, 5, "not an AuditRecord");
	ck_assert_uint_eq(r->breaks, 1);
	ck_assert_uint_eq(r->records, N + 1);

	/* Before any chain on partition 1: a chain of its own. */
	const struct rec *first[] = {NULL};
	feed(v, 1, first, 1);
	const struct ledger_chain_report *reps;
	ck_assert_uint_eq(ledger_verify_reports(v, &reps), 2);
	ck_assert_str_eq(reps[1].chain, "partition 1");
	assert_break(&reps[1], LEDGER_UNDECODABLE, 0, "not an AuditRecord");
	ck_assert_int_eq(ledger_verify_add(v, -1, 0, recs[0].data, recs[0].len), -EINVAL);
	ledger_verifier_free(v);
	chain_free(recs, N);
}
END_TEST

START_TEST(chains_are_verified_apart)
{
	struct rec a[N], b[N];
	chain_make(a, "audit-1");
	chain_make(b, "audit-0");
	struct ledger_verifier *v = ledger_verifier_new();
	/* Interleaved, as partitions come. */
	for (size_t k = 0; k < N; k++) {
		ck_assert_int_eq(ledger_verify_add(v, 1, (int64_t)k, a[k].data, a[k].len), 0);
		ck_assert_int_eq(ledger_verify_add(v, 0, (int64_t)k, b[k].data, b[k].len), 0);
	}
	const struct ledger_chain_report *reps;
	ck_assert_uint_eq(ledger_verify_reports(v, &reps), 2);
	ck_assert_str_eq(reps[0].chain, "audit-0");
	ck_assert_str_eq(reps[1].chain, "audit-1");
	for (size_t i = 0; i < 2; i++) {
		ck_assert_int_eq(reps[i].first, LEDGER_OK);
		ck_assert_uint_eq(reps[i].records, N);
	}
	ledger_verifier_free(v);
	chain_free(a, N);
	chain_free(b, N);
}
END_TEST

START_TEST(feed_says_what_each_message_was)
{
	struct rec recs[N], altered;
	chain_make(recs, "c");
	rec_alter(&altered, &recs[4]);
	struct ledger_verifier *v = ledger_verifier_new();
	struct ledger_fed f;
	static const uint8_t garbage[] = "garbage\xff";
	/* 0..3, 1 again (a rewrite), the altered 4, then 5, then garbage. */
	const struct rec *order[] = {&recs[0], &recs[1], &recs[2], &recs[3],
				     &recs[1], &altered, &recs[5], NULL};
	const bool dup[] = {false, false, false, false, true, false, false, false};
	const enum ledger_break brk[] = {LEDGER_OK, LEDGER_OK,      LEDGER_OK, LEDGER_OK,
					 LEDGER_OK, LEDGER_ALTERED, LEDGER_OK, LEDGER_UNDECODABLE};
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		const struct rec *r = order[i];
		ck_assert_int_eq(ledger_verify_feed(v, 0, (int64_t)i, r ? r->data : garbage,
						    r ? r->len : sizeof(garbage) - 1, NULL, &f),
				 0);
		ck_assert_msg(f.duplicate == dup[i], "message %zu", i);
		ck_assert_msg(f.brk == brk[i], "message %zu: %s", i, ledger_break_name(f.brk));
		/* The decoded record is handed over, at a break too. */
		if (r) {
			ck_assert_ptr_nonnull(f.record);
			ck_assert_str_eq(f.record->chain, "c");
			ck_assert_uint_eq(f.record->sequence, i == 4 ? 1 :
							      i == 5 ? 4 :
							      i == 6 ? 5 :
								       i);
			arbiter__v1__audit_record__free_unpacked(f.record, NULL);
		} else {
			ck_assert_ptr_null(f.record);
		}
	}
	const struct ledger_chain_report *rep = only(v);
	ck_assert_uint_eq(rep->records, 7); /* the garbage counts for the chain last read */
	ck_assert_uint_eq(rep->duplicates, 1);
	ck_assert_uint_eq(rep->breaks, 2);
	ledger_verifier_free(v);
	chain_free(recs, N);
	free(altered.data);
}
END_TEST

/* A zombie: owner A (epoch 1) writes 0..4; B takes the chain over at 5 (epoch 2); A, resumed,
 * still writes 5 and 6 after it. Its late records are fenced, not breaks, in either order of
 * arrival, and the chain's head is B's. */
START_TEST(a_zombie_writer_is_fenced_not_a_break)
{
	struct rec a[7], b[3];
	for (uint64_t i = 0; i < 7; i++)
		rec_epoch(&a[i], "c-0", i, i ? a[i - 1].hash : NULL, 1, "A");
	rec_epoch(&b[0], "c-0", 5, a[4].hash, 2, "B");
	rec_epoch(&b[1], "c-0", 6, b[0].hash, 2, "B");
	rec_epoch(&b[2], "c-0", 7, b[1].hash, 2, "B");

	/* B's records first, A's late ones after: fenced as they arrive. */
	const struct rec *order1[] = {&a[0], &a[1], &a[2], &a[3], &a[4],
				      &b[0], &a[5], &b[1], &a[6], &b[2]};
	/* A's late ones first: fenced when B's first record of epoch 2 arrives. */
	const struct rec *order2[] = {&a[0], &a[1], &a[2], &a[3], &a[4],
				      &a[5], &a[6], &b[0], &b[1], &b[2]};
	const struct rec *const *orders[] = {order1, order2};
	for (int k = 0; k < 2; k++) {
		struct ledger_verifier *v = ledger_verifier_new();
		feed(v, 0, orders[k], 10);
		const struct ledger_chain_report *r = only(v);
		ck_assert_msg(r->first == LEDGER_OK, "order %d: %s: %s", k,
			      ledger_break_name(r->first), r->detail);
		ck_assert_uint_eq(r->records, 8);
		ck_assert_uint_eq(r->fenced, 2);
		ck_assert(r->has_head);
		ck_assert_uint_eq(r->head_sequence, 7);
		ck_assert_mem_eq(r->head_hash, b[2].hash, LEDGER_HASH_LEN);
		ledger_verifier_free(v);
	}
	/* Without epochs (records from before them) the same fork is what it is: a break. */
	chain_free(a, 7);
	struct rec legacy[2];
	for (uint64_t i = 0; i < 5; i++)
		rec_epoch(&a[i], "c-0", i, i ? a[i - 1].hash : NULL, 0, "A");
	rec_epoch(&legacy[0], "c-0", 5, a[4].hash, 0, "B");
	rec_epoch(&legacy[1], "c-0", 5, a[4].hash, 0, "A");
	const struct rec *order3[] = {&a[0], &a[1], &a[2], &a[3], &a[4], &legacy[0], &legacy[1]};
	struct ledger_verifier *v = ledger_verifier_new();
	feed(v, 0, order3, 7);
	assert_break(only(v), LEDGER_INSERTED, 6, "sequence 5 is already held");
	ledger_verifier_free(v);
	chain_free(a, 5);
	chain_free(b, 3);
	chain_free(legacy, 2);
}
END_TEST

static Suite *ledger_suite(void)
{
	Suite *s = suite_create("ledger");
	TCase *tc = tcase_create("ledger");
	tcase_add_test(tc, canonical_encoding_is_the_record_without_its_hash);
	tcase_add_test(tc, hash_changes_with_every_field);
	tcase_add_test(tc, unknown_fields_are_hashed_as_written);
	tcase_add_test(tc, malformed_protobuf_has_no_hash);
	tcase_add_test(tc, field_zero_spelt_long_is_not_a_record);
	tcase_add_test(tc, link_keeps_the_genesis_rule);
	tcase_add_test(tc, clean_chain_with_exact_duplicates);
	tcase_add_test(tc, altered_record_is_found_and_alone);
	tcase_add_test(tc, missing_record_is_a_jump);
	tcase_add_test(tc, inserted_records_do_not_fit);
	tcase_add_test(tc, reordered_records_are_told_from_missing_ones);
	tcase_add_test(tc, undecodable_records_count_for_their_partition);
	tcase_add_test(tc, chains_are_verified_apart);
	tcase_add_test(tc, feed_says_what_each_message_was);
	tcase_add_test(tc, a_zombie_writer_is_fenced_not_a_break);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(ledger_suite());
}
