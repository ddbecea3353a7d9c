/* libFuzzer target, built four times (FUZZ_DECISION 0/1 x FUZZ_JSON 0/1): an input message
 * decoded and validated as a content event or a moderation decision, in JSON or protobuf,
 * then what the pipeline's pure core does with an accepted one (rules, routing, deadlines,
 * the audit record, escalations, appeals, Redis commands), and a check that the other wire
 * format accepts the same message and means the same thing. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "fuzz_util.h"
#include "ledger.h"
#include "pbjson.h"
#include "policy.h"
#include "queues.h"
#include "records.h"

#if !defined(FUZZ_DECISION) || !defined(FUZZ_JSON)
#error "meson defines FUZZ_DECISION and FUZZ_JSON"
#endif

#define FUZZ_NOW_MS 1767225600000 /* 2026-01-01 */

static const enum config_format fmt = FUZZ_JSON ? CONFIG_FORMAT_JSON : CONFIG_FORMAT_PROTOBUF;
static const enum config_format other = FUZZ_JSON ? CONFIG_FORMAT_PROTOBUF : CONFIG_FORMAT_JSON;
static struct policy *policy;
static struct rules_ctx *rctx;
static const struct records_source src = {"fuzz", 3, 42};

/* Packs M; aborts when out of memory (a harness failure). */
static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
	*len = protobuf_c_message_get_packed_size(m);
	uint8_t *b = malloc(*len ? *len : 1);
	if (!b)
		abort();
	protobuf_c_message_pack(m, b);
	return b;
}

/* M in the other wire format: packed protobuf, or one line of JSON. */
static char *reencode(const ProtobufCMessage *m, size_t *len)
{
	if (other == CONFIG_FORMAT_PROTOBUF)
		return (char *)pack(m, len);
	json_t *j = pbjson_encode(m);
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!s)
		abort();
	*len = strlen(s);
	return s;
}

/* Zero for negative zero, at any depth: protobuf-c leaves a proto3 field that compares equal
 * to 0 off the wire, so -0.0 comes back from protobuf as 0.0; both compare the same in rules. */
static void unsign_zeros(json_t *j)
{
	const char *k;
	json_t *v;
	size_t i;
	if (json_is_real(j) && json_real_value(j) == 0)
		json_real_set(j, 0.0);
	else if (json_is_object(j))
		json_object_foreach(j, k, v) unsign_zeros(v);
	else if (json_is_array(j))
		json_array_foreach(j, i, v) unsign_zeros(v);
}

/* M as sorted, compact JSON; aborts when out of memory. */
static char *dump(const ProtobufCMessage *m)
{
	json_t *j = pbjson_encode(m);
	unsign_zeros(j);
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(j);
	if (!s)
		abort();
	return s;
}

/* MSG decoded as the target's kind in format F, into *OUT. */
static int redecode(enum config_format f, const void *msg, size_t len, ProtobufCMessage **out,
		    char reason[EVENT_REASON_MAX])
{
#if FUZZ_DECISION
	Arbiter__V1__ModerationDecision *m = NULL;
	int rc = event_decision_decode(f, msg, len, &m, reason);
#else
	Arbiter__V1__ContentEvent *m = NULL;
	int rc = event_content_decode(f, msg, len, &m, reason);
#endif
	*out = m ? &m->base : NULL;
	return rc;
}

/* Frees what redecode gave: the event module decodes into an arena of its own. */
static void redecode_free(ProtobufCMessage *m)
{
#if FUZZ_DECISION
	event_decision_free((Arbiter__V1__ModerationDecision *)m);
#else
	event_content_free((Arbiter__V1__ContentEvent *)m);
#endif
}

/* An accepted message is accepted in the other format too, and decodes to the same message:
 * both formats follow one set of rules. */
static void same_in_other_format(const ProtobufCMessage *m)
{
	size_t len;
	char *text = reencode(m, &len);
	ProtobufCMessage *back = NULL;
	char reason[EVENT_REASON_MAX];
	if (redecode(other, text, len, &back, reason) != 0) {
		fprintf(stderr, "accepted as %s, refused as %s: %s\n%.*s\n",
			config_format_name(fmt), config_format_name(other), reason, (int)len,
			other == CONFIG_FORMAT_JSON ? text : "(protobuf)");
		abort();
	}
	/* Compared as JSON: a protobuf message may carry fields unknown to this schema, which
	 * protobuf-c keeps and JSON cannot hold. */
	char *a = dump(m), *b = dump(back);
	if (strcmp(a, b)) {
		fprintf(stderr, "%s and %s decode to different messages:\n%s\n%s\n",
			config_format_name(fmt), config_format_name(other), a, b);
		abort();
	}
	free(a);
	free(b);
	redecode_free(back);
	free(text);
}

/* A packed audit record, alone in its chain, verifies. */
static void verify_alone(const struct records_buf *buf)
{
	struct ledger_verifier *v = ledger_verifier_new();
	if (!v)
		return;
	if (ledger_verify_add(v, 0, 0, buf->data, buf->len) == 0) {
		const struct ledger_chain_report *r;
		size_t n = ledger_verify_reports(v, &r);
		if (n != 1 || r[0].first != LEDGER_OK) {
			fprintf(stderr, "a fresh audit record does not verify: %s\n",
				n ? r[0].detail : "no chain");
			abort();
		}
	}
	ledger_verifier_free(v);
}

static void audit_link(struct records_link *link)
{
	*link = (struct records_link){.chain = "audit-fuzz", .sequence = 0, .writer = "fuzz"};
}

#if !FUZZ_DECISION
static void content(const Arbiter__V1__ContentEvent *ev)
{
	const struct config *cfg = policy->cfg;
	const struct rules_verdict *v = rules_eval(rctx, ev, FUZZ_NOW_MS);
	if (!v)
		return;
	json_decref(rules_verdict_json(policy->rules, ev, v));
	struct records_buf buf;
	struct records_link link;
	if (v->action != ARBITER__V1__ACTION__NONE) {
		audit_link(&link);
		if (records_audit_verdict(&src, ev, policy->rules, v, "key", FUZZ_NOW_MS, &link,
					  &buf) >= 0) {
			verify_alone(&buf);
			free(buf.data);
		}
	}
	for (size_t i = 0; i < v->n_escalations; i++) {
		const struct rules_escalate *e = &v->escalations[i].esc;
		const struct config_queue *q = queues_route(cfg, e->queue, ev->lang, ev->country);
		int64_t base = ev->created_at_ms > 0 ? ev->created_at_ms : FUZZ_NOW_MS;
		int64_t deadline = q ? queues_deadline(q, queues_band(e->band), base, e->sla_s) : 0;
		if (q && deadline < base)
			abort(); /* a deadline before its event (overflow) */
		struct records_escalation_opts opts = {
			.queue = q ? q->name : NULL,
			.deadline_ms = deadline,
			.monitors = true,
			.pseudonym_key = "key",
			.excerpt_max = 280,
		};
		if (records_escalation(&src, ev, policy->rules, v, i, &opts, FUZZ_NOW_MS, &buf) < 0)
			continue;
		Arbiter__V1__Escalation *es =
			arbiter__v1__escalation__unpack(NULL, buf.len, buf.data);
		if (!es)
			abort(); /* we packed it */
		struct queues_cmd cmd;
		if (q && queues_enqueue_cmd(cfg, q, es, buf.data, buf.len, NULL, &cmd) == 0)
			queues_cmd_free(&cmd);
		arbiter__v1__escalation__free_unpacked(es, NULL);
		free(buf.data);
	}
}
#else
static void decision(const Arbiter__V1__ModerationDecision *d)
{
	const struct config *cfg = policy->cfg;
	struct records_buf buf;
	struct records_link link;
	struct queues_cmd cmd;
	int64_t at = d->decided_at_ms ? d->decided_at_ms : FUZZ_NOW_MS;
	if (d->kind == ARBITER__V1__DECISION_KIND__ACTION) {
		audit_link(&link);
		if (records_audit_decision(&src, d, "key", FUZZ_NOW_MS, &link, &buf) >= 0) {
			verify_alone(&buf);
			free(buf.data);
		}
		if (queues_decision_state_cmd(cfg, d->content_id, d->decision_id, d->action,
					      d->actor, d->reviewer_id, at, &cmd) == 0)
			queues_cmd_free(&cmd);
		return;
	}
	int rc = d->kind == ARBITER__V1__DECISION_KIND__APPEAL_FILED ?
			 queues_appeal_file_cmd(cfg, d->content_id, d->appeal_id, at,
						d->appealed_decision_id, &cmd) :
			 queues_appeal_resolve_cmd(cfg, d->content_id, d->appeal_id, d->reviewer_id,
						   d->appeal_outcome, d->action, at, d->decision_id,
						   &cmd);
	if (rc == 0)
		queues_cmd_free(&cmd);
	/* What Redis would answer: the decision under appeal. */
	struct records_appeal a = {
		.original_action = ARBITER__V1__ACTION__REMOVE,
		.original_reviewer = "r-1",
		.decision_id = "dec-1",
		.filed_at_ms = at,
		.pseudonym_key = "key",
	};
	if (records_appeal(&src, d, &a, FUZZ_NOW_MS, &buf) == 0)
		free(buf.data);
	const struct config_queue *q = config_queue_find(cfg, cfg->review.appeals_queue);
	if (q && d->kind == ARBITER__V1__DECISION_KIND__APPEAL_FILED) {
		enum config_band band = queues_appeal_band(a.original_action);
		struct records_appeal_entry e = {
			.queue = q->name,
			.band = queues_band_pb(band),
			.deadline_ms = queues_deadline(q, band, a.filed_at_ms, 0),
		};
		if (e.deadline_ms < a.filed_at_ms)
			abort(); /* a deadline before its appeal (overflow) */
		if (records_appeal_escalation(&src, d, &a, &e, FUZZ_NOW_MS, &buf) == 0)
			free(buf.data);
	}
}
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_setup();
	/* The sample policy: its rules, queues (with routing) and appeals queue. */
	struct diag_list diags = {0};
	if (policy_load(FUZZ_SRCDIR "/config/arbiter.yaml", &policy, &diags) != 0) {
		diag_print(&diags, stderr);
		abort();
	}
	diag_clear(&diags);
	rctx = rules_ctx_new(policy->rules);
	if (!rctx)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char reason[EVENT_REASON_MAX];
	reason[0] = '\0';
#if FUZZ_DECISION
	Arbiter__V1__ModerationDecision *d = NULL;
	int rc = event_decision_decode(fmt, data, size, &d, reason);
	if (rc == 0) {
		same_in_other_format(&d->base);
		decision(d);
		event_decision_free(d);
	}
#else
	Arbiter__V1__ContentEvent *ev = NULL;
	int rc = event_content_decode(fmt, data, size, &ev, reason);
	if (rc == 0) {
		same_in_other_format(&ev->base);
		content(ev);
		event_content_free(ev);
	}
#endif
	/* A refusal says why, in a reason that fits a protobuf string and a log line. */
	if (rc != 0 && (!reason[0] || !pbjson_utf8_valid(reason, strlen(reason))))
		abort();
	return 0;
}
