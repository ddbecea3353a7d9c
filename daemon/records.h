/* Builders for the records the daemon emits: pure functions from inputs to packed protobuf. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "arbiter/v1/content_event.pb-c.h"
#include "arbiter/v1/moderation_decision.pb-c.h"
#include "rules.h"

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
void records_id(char out[RECORDS_ID_LEN + 1], const char *kind,
		const struct records_source *src);

/* Packs a DeadLetter for the raw message VALUE (truncated to MAX_RAW bytes,
 * with raw_truncated set) and REASON. Returns 0 or -ENOMEM. */
int records_deadletter(const struct records_source *src, const void *key, size_t key_len,
		       const void *value, size_t value_len, const char *reason, size_t max_raw,
		       int64_t now_ms, struct records_buf *out);

/* Packs the AuditRecord of decision D. Chain fields are left for the ledger
 * writer. Returns 0 or -ENOMEM. */
int records_audit_decision(const struct records_source *src,
			   const Arbiter__V1__ModerationDecision *d, int64_t now_ms,
			   struct records_buf *out);

/* Packs the AuditRecord of the action verdict V applied to EV (actor
 * AUTOMATED): the deciding rule's category and grounds, every matched rule
 * id and the ruleset version. Returns 0 or -ENOMEM. */
int records_audit_verdict(const struct records_source *src, const Arbiter__V1__ContentEvent *ev,
			  const struct ruleset *rs, const struct rules_verdict *v, int64_t now_ms,
			  struct records_buf *out);

/* Packs the Escalation of escalation I of verdict V: its id derives from SRC
 * and the queue, its deadline from the event's creation time (or NOW_MS)
 * plus the SLA; it carries the rules asking for the queue, the evidence and
 * the active modes. Returns 0 or -ENOMEM. */
int records_escalation(const struct records_source *src, const Arbiter__V1__ContentEvent *ev,
		       const struct ruleset *rs, const struct rules_verdict *v, size_t i,
		       int64_t now_ms, struct records_buf *out);
