/* Builders for the records the daemon emits: DeadLetter and AuditRecord, packed. */
#include "records.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arbiter/v1/appeal_record.pb-c.h"
#include "arbiter/v1/audit_record.pb-c.h"
#include "arbiter/v1/dead_letter.pb-c.h"
#include "arbiter/v1/escalation.pb-c.h"
#include "dsa.h"
#include "ledger.h"

/* BASE + DELTA, saturated: input times are validated to [2000, 3000), but a sum must never
 * wrap into a negative deadline whatever reaches here. */
static int64_t records_add_ms(int64_t base, int64_t delta)
{
	int64_t sum;
	return __builtin_add_overflow(base, delta, &sum) ? INT64_MAX : sum;
}

/* Appends V in decimal at P; returns the end. */
static char *records_put_int(char *p, int64_t v)
{
	char digits[24];
	size_t n = 0;
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	do
		digits[n++] = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*p++ = '-';
	while (n)
		*p++ = digits[--n];
	return p;
}

void records_id(char out[RECORDS_ID_LEN + 1], const char *kind, const struct records_source *src)
{
	/* KIND, TOPIC, PARTITION and OFFSET in decimal, separated by NUL so that ("a", "b1") and
	 * ("ab", "1") differ. Ids are kept in the topics and in Redis: these bytes never change
	 * (tests/unit/test_records.c pins them), cut at 511 as snprintf into 512 bytes did. */
	char buf[2 * 512 + 2 * 24];
	size_t kl = strnlen(kind, 511), tl = strnlen(src->topic, 511);
	char *p = buf;
	memcpy(p, kind, kl);
	p += kl;
	*p++ = '\0';
	memcpy(p, src->topic, tl);
	p += tl;
	*p++ = '\0';
	p = records_put_int(p, src->partition);
	*p++ = '\0';
	p = records_put_int(p, src->offset);
	size_t len = (size_t)(p - buf) < 511 ? (size_t)(p - buf) : 511;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	EVP_Digest(buf, len, md, &md_len, ledger_sha256(), NULL);
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

/* Fills AR's DSA statement from IN, links it into the chain with LINK, and
 * packs it. Every other field of AR must be final: the hash covers them. */
static int records_audit_finish(Arbiter__V1__AuditRecord *ar, const struct dsa_input *in,
				struct records_link *link, struct records_buf *out)
{
	struct dsa_scratch scratch;
	if (link && link->writer)
		ar->writer = (char *)link->writer;
	int drc = dsa_fill_memo(ar, in, &scratch, link ? link->dsa_memo : NULL);
	if (drc == -ENOMEM)
		return -ENOMEM;
	if (link) {
		ar->chain_epoch = link->epoch;
		int lrc = ledger_link(ar, link->chain, link->sequence, link->prev_hash, link->hash);
		if (lrc < 0)
			return lrc;
	}
	int rc = records_pack(&ar->base, out);
	return rc < 0 ? rc : drc < 0 ? 1 : 0;
}

int records_audit_decision(const struct records_source *src,
			   const Arbiter__V1__ModerationDecision *d, const char *pseudonym_key,
			   int64_t now_ms, struct records_link *link, struct records_buf *out)
{
	char id[RECORDS_ID_LEN + 1], pseudonym[65];
	records_id(id, "audit", src);

	Arbiter__V1__AuditRecord ar = ARBITER__V1__AUDIT_RECORD__INIT;
	ar.record_id = id;
	ar.content_id = d->content_id;
	ar.decision_id = d->decision_id;
	ar.kind = d->kind;
	ar.action = d->action;
	ar.actor = d->actor;
	if (pseudonym_key && d->reviewer_id[0]) {
		records_pseudonym(pseudonym, pseudonym_key, d->reviewer_id);
		ar.reviewer_pseudonym = pseudonym;
	}
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
	if (d->kind == ARBITER__V1__DECISION_KIND__APPEAL_RESOLVED)
		ar.appeal_outcome = d->appeal_outcome;
	if (d->kind != ARBITER__V1__DECISION_KIND__ACTION)
		ar.appeal_id = d->appeal_id;
	/* What the review entry said, for transparency reports. */
	ar.n_modes = d->n_modes;
	ar.modes = d->modes;
	ar.queue = d->queue;
	ar.review_deadline_ms = d->review_deadline_ms;
	ar.author_pseudonym = d->author_pseudonym;
	struct dsa_input in = {
		.content_type = d->content_type,
		.created_at_ms = d->content_created_at_ms,
		.lang = d->lang,
		.country = d->country,
		.automated_detection = d->automated_detection,
		.source = DSA_SOURCE_VOLUNTARY,
	};
	return records_audit_finish(&ar, &in, link, out);
}

int records_audit_verdict(const struct records_source *src, const Arbiter__V1__ContentEvent *ev,
			  const struct ruleset *rs, const struct rules_verdict *v,
			  const char *pseudonym_key, int64_t now_ms, struct records_link *link,
			  struct records_buf *out)
{
	char id[RECORDS_ID_LEN + 1], author[65];
	records_id(id, "audit", src);
	const char **ids = calloc(v->n_matched + 1, sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	for (size_t i = 0; i < v->n_matched; i++)
		ids[i] = rules_rule(rs, v->matched[i])->id;
	const struct rules_rule *r = rules_rule(rs, (size_t)v->action_rule);

	Arbiter__V1__AuditRecord ar = ARBITER__V1__AUDIT_RECORD__INIT;
	ar.record_id = id;
	ar.content_id = ev->content_id;
	ar.decision_id = id; /* the rules' decision is this record */
	ar.kind = ARBITER__V1__DECISION_KIND__ACTION;
	ar.action = v->action;
	ar.actor = ARBITER__V1__ACTOR__AUTOMATED;
	ar.category = (char *)(r->category ? r->category : "");
	ar.ground = r->ground;
	ar.legal_ground = (char *)(r->legal_ground ? r->legal_ground : "");
	ar.explanation = (char *)(r->description ? r->description : "");
	ar.decided_at_ms = now_ms;
	ar.n_rule_ids = v->n_matched;
	ar.rule_ids = (char **)ids;
	ar.ruleset_version = (char *)rules_version(rs);
	ar.source_topic = (char *)src->topic;
	ar.source_partition = src->partition;
	ar.source_offset = src->offset;
	ar.recorded_at_ms = now_ms;
	ar.n_modes = v->n_modes;
	ar.modes = (char **)v->modes;
	if (pseudonym_key && ev->author_id[0]) {
		records_pseudonym(author, pseudonym_key, ev->author_id);
		ar.author_pseudonym = author;
	}
	/* Behaviour: the counters' evidence, "count(by: author_id, window: 10m)=20". */
	const char **beh = calloc(v->n_evidence + 1, sizeof(*beh));
	size_t n_beh = 0;
	if (!beh) {
		free(ids);
		return -ENOMEM;
	}
	for (size_t i = 0; v->behaviour && i < v->n_evidence; i++)
		if (!strncmp(v->evidence[i], "counter:", 8))
			beh[n_beh++] = v->evidence[i] + 8;
	struct dsa_input in = {
		.event = ev, .automated_detection = true, .behaviour = beh, .n_behaviour = n_beh};
	int rc = records_audit_finish(&ar, &in, link, out);
	free(beh);
	free(ids);
	return rc;
}

void records_pseudonym(char out[65], const char *key, const char *id)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	HMAC(ledger_sha256(), key, (int)strlen(key), (const unsigned char *)id, strlen(id), md, &n);
	for (unsigned i = 0; i < n && i < 32; i++)
		snprintf(&out[2 * i], 3, "%02x", md[i]);
	out[64] = '\0';
}

size_t records_excerpt_len(const char *text, size_t len, size_t max)
{
	if (len <= max)
		return len;
	size_t n = max;
	/* Back off continuation bytes (10xxxxxx) to the start of a character. */
	while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
		n--;
	return n;
}

int records_escalation(const struct records_source *src, const Arbiter__V1__ContentEvent *ev,
		       const struct ruleset *rs, const struct rules_verdict *v, size_t i,
		       const struct records_escalation_opts *opts, int64_t now_ms,
		       struct records_buf *out)
{
	const struct rules_verdict_escalation *e = &v->escalations[i];
	char kind[300];
	char id[RECORDS_ID_LEN + 1];
	/* One escalation per source message and queue: a redelivery finds
	 * the same id, which is what makes enqueueing idempotent. */
	snprintf(kind, sizeof(kind), "escalation/%s", e->esc.queue);
	records_id(id, kind, src);
	const char **ids = calloc(v->n_matched + 1, sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	size_t n_ids = 0;
	for (size_t k = 0; k < v->n_matched; k++) {
		const struct rules_rule *r = rules_rule(rs, v->matched[k]);
		if (r->has_escalate && !strcmp(r->escalate.queue, e->esc.queue))
			ids[n_ids++] = r->id;
	}
	int64_t base = ev->created_at_ms > 0 ? ev->created_at_ms : now_ms;

	Arbiter__V1__Escalation es = ARBITER__V1__ESCALATION__INIT;
	es.escalation_id = id;
	es.content_id = ev->content_id;
	es.event_id = ev->event_id;
	es.queue = (char *)(opts->queue ? opts->queue : e->esc.queue);
	es.band = e->esc.band;
	es.monitors = e->esc.monitors || opts->monitors;
	es.deadline_ms = opts->deadline_ms ? opts->deadline_ms :
					     records_add_ms(base, (int64_t)e->esc.sla_s * 1000);
	char pseudonym[65];
	if (opts->pseudonym_key && ev->author_id[0]) {
		records_pseudonym(pseudonym, opts->pseudonym_key, ev->author_id);
		es.author_pseudonym = pseudonym;
	}
	char *excerpt = NULL;
	if (opts->excerpt_max && ev->text[0]) {
		size_t n = records_excerpt_len(ev->text, strlen(ev->text), opts->excerpt_max);
		excerpt = strndup(ev->text, n);
		if (!excerpt) {
			free(ids);
			return -ENOMEM;
		}
		es.text_excerpt = excerpt;
	}
	es.n_rule_ids = n_ids;
	es.rule_ids = (char **)ids;
	es.ruleset_version = (char *)rules_version(rs);
	es.action = v->action;
	es.lang = ev->lang;
	es.country = ev->country;
	es.n_modes = v->n_modes;
	es.modes = (char **)v->modes;
	es.n_evidence = v->n_evidence;
	es.evidence = (char **)v->evidence;
	es.source_topic = (char *)src->topic;
	es.source_partition = src->partition;
	es.source_offset = src->offset;
	es.created_at_ms = now_ms;
	es.content_type = ev->content_type;
	es.content_created_at_ms = ev->created_at_ms;
	es.automated_detection = true;
	int rc = records_pack(&es.base, out);
	free(excerpt);
	free(ids);
	return rc;
}

int records_appeal(const struct records_source *src, const Arbiter__V1__ModerationDecision *d,
		   const struct records_appeal *a, int64_t now_ms, struct records_buf *out)
{
	char id[RECORDS_ID_LEN + 1], orig[65] = "", rev[65] = "";
	records_id(id, "appeal", src);
	if (a->pseudonym_key && a->original_reviewer[0])
		records_pseudonym(orig, a->pseudonym_key, a->original_reviewer);
	if (a->pseudonym_key && d->reviewer_id[0])
		records_pseudonym(rev, a->pseudonym_key, d->reviewer_id);
	bool resolved = d->kind == ARBITER__V1__DECISION_KIND__APPEAL_RESOLVED;
	Arbiter__V1__AppealRecord ap = ARBITER__V1__APPEAL_RECORD__INIT;
	ap.record_id = id;
	ap.appeal_id = d->appeal_id;
	ap.content_id = d->content_id;
	ap.decision_id = (char *)a->decision_id;
	ap.resolved = resolved;
	ap.original_action = a->original_action;
	ap.original_reviewer_pseudonym = orig;
	ap.filed_at_ms = a->filed_at_ms;
	if (resolved) {
		ap.outcome = d->appeal_outcome;
		/* Upheld keeps the original action whatever the decision says. */
		ap.new_action = d->appeal_outcome == ARBITER__V1__APPEAL_OUTCOME__UPHELD ?
					a->original_action :
					d->action;
		ap.reviewer_pseudonym = rev;
		ap.resolved_at_ms = d->decided_at_ms ? d->decided_at_ms : now_ms;
	}
	ap.source_topic = (char *)src->topic;
	ap.source_partition = src->partition;
	ap.source_offset = src->offset;
	return records_pack(&ap.base, out);
}

int records_appeal_escalation(const struct records_source *src,
			      const Arbiter__V1__ModerationDecision *d,
			      const struct records_appeal *a, const struct records_appeal_entry *e,
			      int64_t now_ms, struct records_buf *out)
{
	char id[RECORDS_ID_LEN + 1];
	records_id(id, "appeal-entry", src);
	char *evidence = NULL;
	if (asprintf(&evidence, "appeal:%s", d->appeal_id) < 0)
		return -ENOMEM;
	Arbiter__V1__Escalation es = ARBITER__V1__ESCALATION__INIT;
	es.escalation_id = id;
	es.content_id = d->content_id;
	es.event_id = d->event_id;
	es.queue = (char *)e->queue;
	es.band = e->band;
	es.deadline_ms = e->deadline_ms;
	es.action = a->original_action;
	es.lang = d->lang;
	es.country = d->country;
	es.n_evidence = 1;
	es.evidence = &evidence;
	es.content_type = d->content_type;
	es.content_created_at_ms = d->content_created_at_ms;
	es.automated_detection = d->automated_detection;
	es.source_topic = (char *)src->topic;
	es.source_partition = src->partition;
	es.source_offset = src->offset;
	es.created_at_ms = now_ms;
	int rc = records_pack(&es.base, out);
	free(evidence);
	return rc;
}
