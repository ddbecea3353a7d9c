/* Builders for the records the daemon emits: DeadLetter and AuditRecord, packed. */
#include "records.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arbiter/v1/audit_record.pb-c.h"
#include "arbiter/v1/dead_letter.pb-c.h"

void records_id(char out[RECORDS_ID_LEN + 1], const char *kind,
		const struct records_source *src)
{
	/* Fields are separated by NUL so that ("a", "b1") and ("ab", "1") differ. */
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "%s%c%s%c%" PRId32 "%c%" PRId64, kind, 0, src->topic, 0,
			 src->partition, 0, src->offset);
	size_t len = n < 0 ? 0 : (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	EVP_Digest(buf, len, md, &md_len, EVP_sha256(), NULL);
	static const char hex[] = "0123456789abcdef";
	for (int i = 0; i < RECORDS_ID_LEN / 2; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[RECORDS_ID_LEN] = '\0';
}

static int records_pack(const ProtobufCMessage *msg, struct records_buf *out)
{
	size_t len = protobuf_c_message_get_packed_size(msg);
	/* malloc(0) may return NULL; an empty record is still a valid record. */
	uint8_t *data = malloc(len ? len : 1);
	if (!data)
		return -ENOMEM;
	out->len = protobuf_c_message_pack(msg, data);
	out->data = data;
	return 0;
}

int records_deadletter(const struct records_source *src, const void *key, size_t key_len,
		       const void *value, size_t value_len, const char *reason, size_t max_raw,
		       int64_t now_ms, struct records_buf *out)
{
	char id[RECORDS_ID_LEN + 1];
	records_id(id, "deadletter", src);

	Arbiter__V1__DeadLetter dl = ARBITER__V1__DEAD_LETTER__INIT;
	dl.source_topic = (char *)src->topic;
	dl.source_partition = src->partition;
	dl.source_offset = src->offset;
	dl.reason = (char *)reason;
	dl.raw.data = (uint8_t *)value;
	dl.raw.len = value_len < max_raw ? value_len : max_raw;
	dl.raw_truncated = value_len > max_raw;
	dl.key.data = (uint8_t *)key;
	dl.key.len = key ? key_len : 0;
	dl.failed_at_ms = now_ms;
	dl.record_id = id;
	return records_pack(&dl.base, out);
}

int records_audit_decision(const struct records_source *src,
			   const Arbiter__V1__ModerationDecision *d, int64_t now_ms,
			   struct records_buf *out)
{
	char id[RECORDS_ID_LEN + 1];
	records_id(id, "audit", src);

	Arbiter__V1__AuditRecord ar = ARBITER__V1__AUDIT_RECORD__INIT;
	ar.record_id = id;
	ar.content_id = d->content_id;
	ar.decision_id = d->decision_id;
	ar.kind = d->kind;
	ar.action = d->action;
	ar.actor = d->actor;
	ar.category = d->category;
	ar.ground = d->ground;
	ar.legal_ground = d->legal_ground;
	ar.explanation = d->explanation;
	ar.n_territorial_scope = d->n_territorial_scope;
	ar.territorial_scope = d->territorial_scope;
	ar.decided_at_ms = d->decided_at_ms;
	ar.source_topic = (char *)src->topic;
	ar.source_partition = src->partition;
	ar.source_offset = src->offset;
	ar.recorded_at_ms = now_ms;
	return records_pack(&ar.base, out);
}
