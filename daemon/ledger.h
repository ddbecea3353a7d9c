/* The audit ledger: canonical encoding, hash-chain links, and a verifier that finds each chain's
 * first break. */
#pragma once

/*
 * A chain is the sequence of AuditRecords one writer appends to one audit
 * partition, named by the records' `chain`. Record n of a chain carries
 * sequence n, prev_hash = hash of record n-1 (genesis: sequence 0 and 32 zero
 * bytes) and hash = SHA-256 of its canonical encoding.
 *
 * Canonical encoding: the record's protobuf encoding without its `hash` field
 * (number 23). For a record built in memory that is exactly what protobuf-c
 * packs with hash cleared — deterministic, since protobuf-c writes fields in
 * field-number order, each once, with its own varint forms. A verifier does
 * not re-encode: it hashes the bytes as they are on the topic, less the hash
 * field. So every byte counts, fields unknown to the verifier's schema
 * included (a newer writer's records verify with an older arbiterctl), and
 * nothing can be appended or re-encoded unnoticed. (protobuf-c re-packs
 * unknown fields it unpacked, so re-encoding would mostly agree, but only
 * mostly: varint forms and repeated fields are normalised.)
 *
 * The chain proves that what an auditor holds was not altered, dropped,
 * inserted or reordered after the fact, up to the last record; that nothing
 * was cut from the end needs the head (sequence and hash) anchored somewhere
 * else, which is why the verifier reports it.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "arbiter/v1/audit_record.pb-c.h"

#define LEDGER_HASH_LEN 32

/* SHA-256 of the canonical encoding of the packed record DATA (LEN bytes)
 * into OUT. Returns 0, or -EINVAL when DATA is not well-formed protobuf. */
int ledger_hash(const uint8_t *data, size_t len, uint8_t out[LEDGER_HASH_LEN]);

/* SHA-256, looked up once for the process (thread-safe): EVP_sha256() has OpenSSL 3 look the
 * implementation up again in every digest, more instructions than hashing a record id. */
const EVP_MD *ledger_sha256(void);

/* Makes R record SEQUENCE of CHAIN after the record whose hash is PREV_HASH
 * (NULL for the genesis, sequence 0), and computes its hash into HASH. R then
 * points at CHAIN, PREV_HASH and HASH, which the caller keeps alive until R
 * is packed; every other field must be final, since the hash covers them.
 * HASH becomes the chain's head once R is written. Returns 0, -EINVAL (no
 * chain name; sequence 0 after a record, or a later one without), -ENOMEM. */
int ledger_link(Arbiter__V1__AuditRecord *r, const char *chain, uint64_t sequence,
		const uint8_t *prev_hash, uint8_t hash[LEDGER_HASH_LEN]);

/*
 * What can be wrong at a record, as the verifier tells them apart. It reads a
 * chain in topic order; "below the head" means a sequence lower than the
 * highest accepted so far.
 *
 *   undecodable  the message is not an AuditRecord, or has no chain, or a
 *                prev_hash or hash that is not 32 bytes. It counts for the
 *                chain last read on its partition (or "partition N" before any).
 *   altered      the hash of the record's canonical encoding is not its hash:
 *                the content changed after it was written.
 *   duplicate    not a break: a record with the chain, sequence and hash of
 *                one already read — the daemon rewriting a record after a
 *                crash. Counted apart; it does not count as a record.
 *   fenced       not a break: an intact record whose chain_epoch is lower than
 *                that of a record at or before its sequence — a previous owner
 *                still writing after another took the chain over (a zombie,
 *                paused past its session timeout). Counted apart; it is not in
 *                the chain, which goes on in the later epoch. A record read
 *                before the takeover that turns out to be fenced leaves the
 *                chain when the later epoch's first record is read.
 *   inserted     the record does not fit where it claims to be: its sequence
 *                is already held by a different record; or its prev_hash is
 *                not the hash of the record one below it (when that one has
 *                been read); or the record one above it, already read, does not
 *                name its hash as prev_hash; or it is a genesis with a
 *                non-zero prev_hash. A replaced record whose hash was
 *                recomputed shows here, at itself or at its successor.
 *   missing      the sequence jumps forward past head + 1 (or a chain starts
 *                past 0), and the records in between never turn up.
 *   reordered    a record arrives below the head where a jump had left a gap
 *                (a lower sequence after a higher one). When it closes the
 *                whole gap of the chain's first break, that break, first
 *                taken for missing, is reported as reordered.
 *
 * After a break the verifier takes the record as it stands and goes on, so
 * that one damaged record is one break, not a cascade; `breaks` counts the
 * records at which something was wrong.
 *
 * Memory: about 70 bytes per record read, to recognise duplicates and fill gaps
 * anywhere in a chain.
 */
enum ledger_break {
	LEDGER_OK = 0,
	LEDGER_ALTERED,
	LEDGER_MISSING,
	LEDGER_INSERTED,
	LEDGER_REORDERED,
	LEDGER_UNDECODABLE,
};

/* "ok", "altered", "missing", "inserted", "reordered", "undecodable". */
const char *ledger_break_name(enum ledger_break b);

struct ledger_pos {
	int32_t partition;
	int64_t offset;
};

/* One chain, as read so far. */
struct ledger_chain_report {
	const char *chain;
	uint64_t records;        /* every record in the chain: not duplicates nor fenced */
	uint64_t duplicates;     /* exact duplicates */
	uint64_t fenced;         /* a previous owner's records written after a takeover */
	uint64_t breaks;         /* records at which something was wrong */
	enum ledger_break first; /* the first break, LEDGER_OK when none */
	struct ledger_pos at;    /* where the first break shows */
	char detail[320];        /* what is wrong there, in words, and who wrote it */
	bool has_head;           /* a record was accepted */
	uint64_t head_sequence;  /* the highest sequence read */
	uint8_t head_hash[LEDGER_HASH_LEN];
};

struct ledger_verifier;

/* Returns a verifier with no chain, or NULL (out of memory). */
struct ledger_verifier *ledger_verifier_new(void);
void ledger_verifier_free(struct ledger_verifier *v);

/* Feeds the message at OFFSET of PARTITION (DATA, LEN bytes); messages of a
 * partition come in offset order. Returns 0 (whatever the record's state:
 * breaks go to the reports), -EINVAL for a negative partition, -ENOMEM. */
int ledger_verify_add(struct ledger_verifier *v, int32_t partition, int64_t offset,
		      const uint8_t *data, size_t len);

/* What ledger_verify_feed made of one message. */
struct ledger_fed {
	bool duplicate;        /* an exact duplicate: counted apart, not as a record */
	bool fenced;           /* a fenced writer's record: not in the chain */
	enum ledger_break brk; /* LEDGER_OK, or what is wrong at this message */
	/* The message decoded, NULL when it is not an AuditRecord; the caller
	 * owns it (arbiter__v1__audit_record__free_unpacked). A record at a
	 * break is decoded all the same. */
	Arbiter__V1__AuditRecord *record;
};

/* ledger_verify_add that also says what the message was, into *OUT, and
 * hands over its decoded record, so that a reader of the ledger decodes
 * each message once: decoded with ALLOC (NULL: malloc), to be freed with it.
 * OUT->record is NULL whenever the return is not 0. */
int ledger_verify_feed(struct ledger_verifier *v, int32_t partition, int64_t offset,
		       const uint8_t *data, size_t len, ProtobufCAllocator *alloc,
		       struct ledger_fed *out);

/* The reports of every chain so far, sorted by chain name, into *OUT; valid
 * until the next call on V. Returns their number. */
size_t ledger_verify_reports(struct ledger_verifier *v, const struct ledger_chain_report **out);
