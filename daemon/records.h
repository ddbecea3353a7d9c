/* Builders for the records the daemon emits: pure functions from inputs to packed protobuf. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "arbiter/v1/content_event.pb-c.h"
#include "arbiter/v1/escalation.pb-c.h"
#include "arbiter/v1/moderation_decision.pb-c.h"
#include "ledger.h"
#include "rules.h"

struct dsa_memo;

/* Where an input message came from; every record derived from it names it. */
struct records_source {
	const char *topic;
	int32_t partition;
	int64_t offset;
};

/* A packed record; DATA is malloc'd and owned by the holder (handed to
 * librdkafka with RD_KAFKA_MSG_F_FREE). */
struct records_buf {
	uint8_t *data;
	size_t len;
};

#define RECORDS_ID_LEN 32

/* Writes the deterministic id of the record of kind KIND ("audit", "dlq", …)
 * derived from SRC: hex of the first 16 bytes of SHA-256 over kind, topic,
 * partition and offset. A redelivered message yields the same id, which is
 * what makes downstream deduplication possible. */
void records_id(char out[RECORDS_ID_LEN + 1], const char *kind, const struct records_source *src);

/* Packs a DeadLetter for the raw message VALUE (truncated to MAX_RAW bytes,
 * with raw_truncated set) and REASON. Returns 0 or -ENOMEM. */
int records_deadletter(const struct records_source *src, const void *key, size_t key_len,
		       const void *value, size_t value_len, const char *reason, size_t max_raw,
		       int64_t now_ms, struct records_buf *out);

/* The place of an audit record in its ledger chain (see ledger.h), given by
 * the chain's writer; the builder computes the record's hash into HASH. */
struct records_link {
	const char *chain;
	uint64_t sequence;
	const uint8_t *prev_hash;  /* NULL at the chain's start, sequence 0 */
	const char *writer;        /* the writing instance, or NULL */
	uint64_t epoch;            /* the writer's ownership epoch of the chain */
	struct dsa_memo *dsa_memo; /* statement checks remembered by shape, or NULL */
	uint8_t hash[LEDGER_HASH_LEN];
};

/* Packs the AuditRecord of decision D, with its DSA statement fields and,
 * with LINK, its chain fields (none without). The reviewer is pseudonymised
 * with PSEUDONYM_KEY (left out without one); D's queue, modes, review
 * deadline, author pseudonym and appeal id are copied. Returns 0; 1 when the record is
 * due a DSA statement that lacks what the database requires (the record is
 * packed all the same: the ledger holds every action; dsa_check says what is
 * missing); -ENOMEM. */
int records_audit_decision(const struct records_source *src,
			   const Arbiter__V1__ModerationDecision *d, const char *pseudonym_key,
			   int64_t now_ms, struct records_link *link, struct records_buf *out);

/* Packs the AuditRecord of the action verdict V applied to EV (actor
 * AUTOMATED, detected and decided by the rules): the deciding rule's
 * category and grounds, every matched rule id, the ruleset version, the
 * active modes, the author pseudonymised with PSEUDONYM_KEY (left out
 * without one), the DSA statement fields and, with LINK, the chain fields.
 * Returns as records_audit_decision. */
int records_audit_verdict(const struct records_source *src, const Arbiter__V1__ContentEvent *ev,
			  const struct ruleset *rs, const struct rules_verdict *v,
			  const char *pseudonym_key, int64_t now_ms, struct records_link *link,
			  struct records_buf *out);

/* How an escalation leaves the daemon: the routing, SLA and monitors
 * settings decided by the caller. Zero/NULL fields keep the defaults. */
struct records_escalation_opts {
	const char *queue;         /* the queue it was routed to; NULL: the rule's */
	int64_t deadline_ms;       /* 0: the event's creation time plus the rule's SLA */
	bool monitors;             /* fed to monitors even if no rule said so */
	const char *pseudonym_key; /* HMAC-SHA256 key for author_pseudonym; NULL: none */
	size_t excerpt_max;        /* bytes of text in text_excerpt; 0: none */
};

/* Packs the Escalation of escalation I of verdict V: its id derives from SRC
 * and the queue the rules named (so that rerouting cannot duplicate it); it
 * carries the rules asking for the queue, the evidence and the active modes.
 * Returns 0 or -ENOMEM. */
int records_escalation(const struct records_source *src, const Arbiter__V1__ContentEvent *ev,
		       const struct ruleset *rs, const struct rules_verdict *v, size_t i,
		       const struct records_escalation_opts *opts, int64_t now_ms,
		       struct records_buf *out);

/* What an AppealRecord says beyond its ModerationDecision D (APPEAL_FILED or
 * APPEAL_RESOLVED): the decision under appeal, from Redis. Reviewer ids are
 * pseudonymised with KEY (none without one). */
struct records_appeal {
	Arbiter__V1__Action original_action;
	const char *original_reviewer; /* "" for an automated decision */
	const char *decision_id;       /* of the decision under appeal */
	int64_t filed_at_ms;
	const char *pseudonym_key; /* or NULL */
};

/* Packs the AppealRecord of D: filed, or resolved with D's outcome and
 * action. Its id derives from SRC. Returns 0 or -ENOMEM. */
int records_appeal(const struct records_source *src, const Arbiter__V1__ModerationDecision *d,
		   const struct records_appeal *a, int64_t now_ms, struct records_buf *out);

/* Where the review entry of an appeal goes, chosen by the caller from the
 * appeals queue and its SLAs (queues_appeal_band, queues_deadline). */
struct records_appeal_entry {
	const char *queue;
	Arbiter__V1__Band band;
	int64_t deadline_ms;
};

/* Packs the Escalation that puts appeal D (APPEAL_FILED) of the decision A
 * in review queue E->queue: its id derives from SRC, its one piece of
 * evidence is "appeal:APPEAL_ID", its action is the one under appeal, and
 * the content's language, country, type, creation time and detection come
 * from D. Returns 0 or -ENOMEM. */
int records_appeal_escalation(const struct records_source *src,
			      const Arbiter__V1__ModerationDecision *d,
			      const struct records_appeal *a, const struct records_appeal_entry *e,
			      int64_t now_ms, struct records_buf *out);

/* Writes the hex HMAC-SHA256 of ID under KEY: the same author always gets the
 * same pseudonym, which cannot be reversed without the key. */
void records_pseudonym(char out[65], const char *key, const char *id);

/* The length of the longest prefix of TEXT (LEN bytes) that fits in MAX
 * bytes without cutting a UTF-8 character. */
size_t records_excerpt_len(const char *text, size_t len, size_t max);
