/* Integration: the full loop — rule escalation, human decision, appeal filed, appeal resolved by
 * someone else. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include <check.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "arbiter/v1/appeal_record.pb-c.h"
#include "arbiter/v1/audit_record.pb-c.h"
#include "arbiter/v1/content_event.pb-c.h"
#include "arbiter/v1/dead_letter.pb-c.h"
#include "arbiter/v1/moderation_decision.pb-c.h"
#include "dsa.h"
#include "harness.h"
#include "redis_server.h"

/* A time inside the range input times must fall in (2000 to 3000). */
#define T0_MS 1800000000000LL
#define AUDIT_TOPIC "moderation.audit"

static const char config_extra[] = "rules: {files: [rules.yaml]}\n"
				   "review:\n"
				   "  queues: {threats: {}, appeals: {}}\n"
				   "  appeals_queue: appeals\n";

static void produce_decision(struct harness *h, Arbiter__V1__ModerationDecision *d)
{
	harness_produce_msg(h, "moderation.decisions", d->content_id, &d->base);
	harness_flush(h);
}

struct appeals_seen {
	int filed, resolved;
	Arbiter__V1__AppealRecord *last;
};

static void read_appeal(void *opaque, const rd_kafka_message_t *m)
{
	struct appeals_seen *s = opaque;
	Arbiter__V1__AppealRecord *r = arbiter__v1__appeal_record__unpack(NULL, m->len, m->payload);
	ck_assert_ptr_nonnull(r);
	if (r->resolved)
		s->resolved++;
	else
		s->filed++;
	if (s->last)
		arbiter__v1__appeal_record__free_unpacked(s->last, NULL);
	s->last = r;
}

struct reasons {
	char text[8][256];
	int n;
};

static void read_deadletter(void *opaque, const rd_kafka_message_t *m)
{
	struct reasons *r = opaque;
	Arbiter__V1__DeadLetter *d = arbiter__v1__dead_letter__unpack(NULL, m->len, m->payload);
	ck_assert_ptr_nonnull(d);
	if (r->n < 8)
		snprintf(r->text[r->n++], sizeof(r->text[0]), "%s", d->reason);
	arbiter__v1__dead_letter__free_unpacked(d, NULL);
}

struct audit_seen {
	Arbiter__V1__AuditRecord *r[8];
	int n;
};

/* Audit records in topic order (one audit partition here). */
static void read_audit(void *opaque, const rd_kafka_message_t *m)
{
	struct audit_seen *s = opaque;
	Arbiter__V1__AuditRecord *r = arbiter__v1__audit_record__unpack(NULL, m->len, m->payload);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_lt(s->n, 8);
	s->r[s->n++] = r;
}

static const char *field(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* The action of CONTENT's current decision in Redis (queues.h: the hash
 * holds "d:ID" = "DECIDED_MS ACTOR ACTION REVIEWER" and "current" = ID). */
static void current_action(redisContext *c, const char *content, char out[64])
{
	redisReply *r = redisCommand(c, "HGET arbiter:decision:%s current", content);
	ck_assert_msg(r && r->type == REDIS_REPLY_STRING, "%s has no current decision", content);
	redisReply *v = redisCommand(c, "HGET arbiter:decision:%s d:%s", content, r->str);
	ck_assert_msg(v && v->type == REDIS_REPLY_STRING, "decision %s is not recorded", r->str);
	ck_assert_int_eq(sscanf(v->str, "%*s %*s %63s", out), 1);
	freeReplyObject(v);
	freeReplyObject(r);
}

START_TEST(full_loop_with_an_independent_appeal)
{
	struct harness h;
	struct redis_server rs;
	harness_start(&h, 1);
	redis_server_start(&rs);
	h.redis_address = rs.address;
	struct harness_run run;
	harness_write_file(
		&h, "rules.yaml",
		"rules:\n"
		"  - id: threat\n"
		"    description: Threats of violence, labelled until a reviewer decides\n"
		"    when: signal.violence >= 0.9\n"
		"    action: label\n"
		"    category: STATEMENT_CATEGORY_VIOLENCE\n"
		"    legal_ground: \"Terms of service 4.1: threats\"\n"
		"    escalate: {queue: threats, band: urgent, sla: 1h}\n");
	harness_write_config(&h, config_extra);
	harness_daemon_start(&h);
	int64_t posted = (int64_t)time(NULL) * 1000 - 3600 * 1000;

	/* 1. A content event the rules escalate. */
	Arbiter__V1__ContentEvent ev = ARBITER__V1__CONTENT_EVENT__INIT;
	Arbiter__V1__ContentEvent__SignalsEntry sig =
		ARBITER__V1__CONTENT_EVENT__SIGNALS_ENTRY__INIT;
	Arbiter__V1__ContentEvent__SignalsEntry *sigs[] = {&sig};
	sig.key = "violence";
	sig.value = 0.95;
	ev.event_id = "ev-1";
	ev.content_id = "post-1";
	ev.lang = "sw";
	ev.country = "DE";
	ev.content_type = ARBITER__V1__CONTENT_TYPE__TEXT;
	ev.created_at_ms = posted;
	ev.n_signals = 1;
	ev.signals = sigs;
	harness_produce_msg(&h, "content.events", "post-1", &ev.base);
	harness_flush(&h);
	ck_assert(harness_wait_committed(&h, "content.events", 30));

	/* 2. Reviewer asha claims and removes it. */
	ck_assert_int_eq(harness_ctl(&run, NULL,
				     "review claim --config %s --queue threats --reviewer asha",
				     h.config),
			 0);
	json_t *entry = json_loads(run.out, 0, NULL);
	harness_run_free(&run);
	ck_assert_ptr_nonnull(entry);
	ck_assert_int_eq(
		harness_ctl(NULL, NULL,
			    "review decide --config %s --brokers %s --queue threats --id %s "
			    "--reviewer asha --action remove --ground incompatible_content "
			    "--category STATEMENT_CATEGORY_VIOLENCE --legal-ground 'Terms 4.1' "
			    "--reason 'threat of violence'",
			    h.config, h.bootstrap, field(entry, "id")),
		0);
	json_decref(entry);
	ck_assert(harness_wait_committed(&h, "moderation.decisions", 30));

	/* 3. The author appeals. */
	Arbiter__V1__ModerationDecision d = ARBITER__V1__MODERATION_DECISION__INIT;
	d.decision_id = "appeal-filed-1";
	d.content_id = "post-1";
	d.kind = ARBITER__V1__DECISION_KIND__APPEAL_FILED;
	d.appeal_id = "ap-1";
	d.lang = "sw";
	produce_decision(&h, &d);
	ck_assert(harness_wait_count(&h, "moderation.appeals", 1, 30));

	/* asha may not review the appeal of her own decision; bakari may. */
	ck_assert_int_eq(harness_ctl(NULL, NULL,
				     "review claim --config %s --queue appeals --reviewer asha",
				     h.config),
			 3);
	ck_assert_int_eq(harness_ctl(&run, NULL,
				     "review claim --config %s --queue appeals --reviewer bakari",
				     h.config),
			 0);
	entry = json_loads(run.out, 0, NULL);
	harness_run_free(&run);
	ck_assert_ptr_nonnull(entry);
	ck_assert_str_eq(field(entry, "appeal_id"), "ap-1");
	ck_assert_str_eq(field(entry, "exclude"), "asha");
	ck_assert_str_eq(field(entry, "band"), "high"); /* a removal is under appeal */
	/* An appeal needs an outcome. */
	ck_assert_int_eq(
		harness_ctl(NULL, NULL,
			    "review decide --config %s --brokers %s --queue appeals --id %s "
			    "--reviewer bakari --action restore 2>/dev/null",
			    h.config, h.bootstrap, field(entry, "id")),
		2);
	ck_assert_int_eq(
		harness_ctl(NULL, NULL,
			    "review decide --config %s --brokers %s --queue appeals --id %s "
			    "--reviewer bakari --action restore --outcome reversed "
			    "--reason 'satire, not a threat'",
			    h.config, h.bootstrap, field(entry, "id")),
		0);
	json_decref(entry);
	ck_assert(harness_wait_count(&h, "moderation.appeals", 2, 30));

	/* 4. Refusals: an appeal of unknown content, and one resolved by the
	 * reviewer whose decision is under appeal. */
	d.decision_id = "appeal-filed-2";
	d.content_id = "post-unknown";
	d.appeal_id = "ap-2";
	produce_decision(&h, &d);
	d.decision_id = "appeal-filed-3";
	d.content_id = "post-1";
	d.appeal_id = "ap-3";
	produce_decision(&h, &d);
	ck_assert(harness_wait_count(&h, "moderation.appeals", 3, 30));
	Arbiter__V1__ModerationDecision res = ARBITER__V1__MODERATION_DECISION__INIT;
	res.decision_id = "appeal-resolved-3";
	res.content_id = "post-1";
	res.kind = ARBITER__V1__DECISION_KIND__APPEAL_RESOLVED;
	res.appeal_id = "ap-3";
	res.appeal_outcome = ARBITER__V1__APPEAL_OUTCOME__UPHELD;
	res.action = ARBITER__V1__ACTION__RESTORE;
	res.actor = ARBITER__V1__ACTOR__HUMAN;
	res.reviewer_id = "bakari"; /* bakari decided last (the reversal) */
	produce_decision(&h, &res);
	ck_assert(harness_wait_committed(&h, "moderation.decisions", 30));
	ck_assert_int_eq(harness_daemon_stop(&h, SIGTERM), 0);

	struct appeals_seen seen = {0};
	harness_read(&h, "moderation.appeals", read_appeal, &seen);
	ck_assert_int_eq(seen.filed, 2); /* ap-1 and ap-3 */
	ck_assert_int_eq(seen.resolved, 1);
	arbiter__v1__appeal_record__free_unpacked(seen.last, NULL);
	seen = (struct appeals_seen){0};
	struct reasons dl = {0};
	harness_read(&h, "arbiter.deadletter", read_deadletter, &dl);
	ck_assert_int_eq(dl.n, 2);
	ck_assert_str_eq(dl.text[0], "appeal for content with no known decision");
	ck_assert_str_eq(dl.text[1],
			 "appeal resolved by the reviewer whose decision is under appeal");

	/* The ledger: the rules' label, asha's removal, two appeals filed and
	 * bakari's reversal, in order in their chains; the refused appeals left
	 * none. */
	struct audit_seen au = {0};
	harness_read(&h, "moderation.audit", read_audit, &au);
	ck_assert_int_eq(au.n, 5);
	ck_assert_int_eq(au.r[0]->actor, ARBITER__V1__ACTOR__AUTOMATED);
	ck_assert_int_eq(au.r[0]->action, ARBITER__V1__ACTION__LABEL);
	ck_assert_str_eq(au.r[0]->chain, "content.events/0");
	ck_assert_str_eq(au.r[0]->automated_decision, "AUTOMATED_DECISION_FULLY");
	/* Who wrote it: host, process and group member. */
	ck_assert_msg(strchr(au.r[0]->writer, '/') && strrchr(au.r[0]->writer, '/')[1],
		      "writer \"%s\"", au.r[0]->writer);
	ck_assert_int_eq(au.r[1]->action, ARBITER__V1__ACTION__REMOVE);
	ck_assert_int_eq(au.r[1]->actor, ARBITER__V1__ACTOR__HUMAN);
	ck_assert_str_eq(au.r[1]->chain, "moderation.decisions/0");
	ck_assert_uint_eq(au.r[1]->sequence, 0);
	/* A human decided what a rule found; the content's type and date came
	 * through the escalation. */
	ck_assert_str_eq(au.r[1]->automated_decision, "AUTOMATED_DECISION_PARTIALLY");
	ck_assert(au.r[1]->automated_detection);
	ck_assert_int_eq(au.r[1]->latency_ms, au.r[1]->decided_at_ms - posted);
	ck_assert_int_eq(au.r[2]->kind, ARBITER__V1__DECISION_KIND__APPEAL_FILED);
	ck_assert_int_eq(au.r[3]->kind, ARBITER__V1__DECISION_KIND__APPEAL_RESOLVED);
	ck_assert_int_eq(au.r[3]->appeal_outcome, ARBITER__V1__APPEAL_OUTCOME__REVERSED);
	ck_assert_int_eq(au.r[3]->action, ARBITER__V1__ACTION__RESTORE);
	ck_assert_int_eq(au.r[4]->kind, ARBITER__V1__DECISION_KIND__APPEAL_FILED);
	for (int i = 2; i < 5; i++)
		ck_assert_uint_eq(au.r[i]->sequence, (uint64_t)i - 1);
	/* Statements for the two restrictions only, complete. */
	char why[256];
	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(dsa_has_statement(au.r[i]), i < 2);
		ck_assert_msg(dsa_check(au.r[i], why, sizeof(why)) == 0, "record %d: %s", i, why);
		arbiter__v1__audit_record__free_unpacked(au.r[i], NULL);
	}
	ck_assert_int_eq(harness_ctl(NULL, NULL, "audit verify --brokers %s", h.bootstrap), 0);
	/* The export, as the DSA database takes it: one batch, both valid. */
	ck_assert_int_eq(harness_ctl(&run, NULL, "audit export --dsa --brokers %s", h.bootstrap),
			 0);
	json_t *body = json_loads(run.out, 0, NULL);
	ck_assert_msg(body != NULL, "not JSON: %s", run.out);
	harness_run_free(&run);
	json_t *sts = json_object_get(body, "statements");
	ck_assert_int_eq(json_array_size(sts), 2);
	for (size_t i = 0; i < 2; i++)
		ck_assert_msg(dsa_validate(json_array_get(sts, i), why, sizeof(why)) == 0, "%s",
			      why);
	ck_assert_str_eq(field(json_array_get(sts, 0), "automated_decision"),
			 "AUTOMATED_DECISION_FULLY");
	ck_assert_str_eq(
		json_string_value(json_array_get(
			json_object_get(json_array_get(sts, 1), "decision_visibility"), 0)),
		"DECISION_VISIBILITY_CONTENT_REMOVED");
	json_decref(body);

	/* The reversal is the content's decision now. */
	redisContext *c = redis_server_connect(&rs);
	char action[64];
	current_action(c, "post-1", action);
	ck_assert_str_eq(action, "RESTORE");
	redisReply *r = redisCommand(c, "HGET arbiter:appeal:ap-1 outcome");
	ck_assert_str_eq(r->str, "REVERSED");
	freeReplyObject(r);
	redisFree(c);
	harness_stop(&h);
	redis_server_stop(&rs);
}
END_TEST

static void read_resolved(void *opaque, const rd_kafka_message_t *m)
{
	Arbiter__V1__AppealRecord **out = opaque;
	Arbiter__V1__AppealRecord *r = arbiter__v1__appeal_record__unpack(NULL, m->len, m->payload);
	ck_assert_ptr_nonnull(r);
	if (r->resolved && !*out)
		*out = r;
	else
		arbiter__v1__appeal_record__free_unpacked(r, NULL);
}

START_TEST(resolution_records_the_outcome_and_the_wait)
{
	struct harness h;
	struct redis_server rs;
	harness_start(&h, 1);
	redis_server_start(&rs);
	h.redis_address = rs.address;
	harness_write_file(&h, "rules.yaml", "rules: []\n");
	harness_write_config(&h, config_extra);
	harness_daemon_start(&h);
	/* An automated system's decision, appealed, and upheld by a person. */
	Arbiter__V1__ModerationDecision d = ARBITER__V1__MODERATION_DECISION__INIT;
	d.decision_id = "auto-1";
	d.content_id = "c-9";
	d.kind = ARBITER__V1__DECISION_KIND__ACTION;
	d.action = ARBITER__V1__ACTION__DEMOTE;
	d.actor = ARBITER__V1__ACTOR__AUTOMATED;
	d.decided_at_ms = T0_MS + 1000;
	produce_decision(&h, &d);
	d.decision_id = "filed-9";
	d.kind = ARBITER__V1__DECISION_KIND__APPEAL_FILED;
	d.appeal_id = "ap-9";
	d.decided_at_ms = T0_MS + 5000;
	produce_decision(&h, &d);
	d.decision_id = "resolved-9";
	d.kind = ARBITER__V1__DECISION_KIND__APPEAL_RESOLVED;
	d.appeal_outcome = ARBITER__V1__APPEAL_OUTCOME__UPHELD;
	d.action = ARBITER__V1__ACTION__RESTORE; /* upheld keeps the original action */
	d.actor = ARBITER__V1__ACTOR__HUMAN;
	d.reviewer_id = "chen";
	d.decided_at_ms = T0_MS + 65000;
	produce_decision(&h, &d);
	ck_assert(harness_wait_committed(&h, "moderation.decisions", 30));
	ck_assert_int_eq(harness_daemon_stop(&h, SIGTERM), 0);
	Arbiter__V1__AppealRecord *r = NULL;
	harness_read(&h, "moderation.appeals", read_resolved, &r);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(r->appeal_id, "ap-9");
	ck_assert_str_eq(r->decision_id, "auto-1");
	ck_assert_int_eq(r->outcome, ARBITER__V1__APPEAL_OUTCOME__UPHELD);
	ck_assert_int_eq(r->original_action, ARBITER__V1__ACTION__DEMOTE);
	ck_assert_int_eq(r->new_action, ARBITER__V1__ACTION__DEMOTE);
	ck_assert_int_eq(r->filed_at_ms, T0_MS + 5000);
	ck_assert_int_eq(r->resolved_at_ms - r->filed_at_ms, 60000);
	arbiter__v1__appeal_record__free_unpacked(r, NULL);
	/* Upheld: the decision stands. */
	redisContext *c = redis_server_connect(&rs);
	char action[64];
	current_action(c, "c-9", action);
	ck_assert_str_eq(action, "DEMOTE");
	redisFree(c);
	harness_stop(&h);
	redis_server_stop(&rs);
}
END_TEST

/* Every appeal record and audit record read so far, by id. */
struct ledger_seen {
	Arbiter__V1__AppealRecord *appeals[16];
	int n_appeals;
	char auto_id[8][128]; /* decision ids of automated audit records */
	char auto_content[8][64];
	int n_auto;
};

static void read_appeals(void *opaque, const rd_kafka_message_t *m)
{
	struct ledger_seen *s = opaque;
	Arbiter__V1__AppealRecord *r = arbiter__v1__appeal_record__unpack(NULL, m->len, m->payload);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_lt(s->n_appeals, 16);
	s->appeals[s->n_appeals++] = r;
}

static void read_automated(void *opaque, const rd_kafka_message_t *m)
{
	struct ledger_seen *s = opaque;
	Arbiter__V1__AuditRecord *r = arbiter__v1__audit_record__unpack(NULL, m->len, m->payload);
	ck_assert_ptr_nonnull(r);
	if (r->actor == ARBITER__V1__ACTOR__AUTOMATED && s->n_auto < 8) {
		snprintf(s->auto_id[s->n_auto], sizeof(s->auto_id[0]), "%s", r->decision_id);
		snprintf(s->auto_content[s->n_auto++], sizeof(s->auto_content[0]), "%s",
			 r->content_id);
	}
	arbiter__v1__audit_record__free_unpacked(r, NULL);
}

static const Arbiter__V1__AppealRecord *appeal_of(const struct ledger_seen *s, const char *id)
{
	for (int i = 0; i < s->n_appeals; i++)
		if (!strcmp(s->appeals[i]->appeal_id, id) && !s->appeals[i]->resolved)
			return s->appeals[i];
	ck_abort_msg("no appeal record for %s", id);
	return NULL;
}

/* Content CONTENT a rule removes (automated) and a reviewer geo-blocks, in the order
 * HUMAN_FIRST says, each processed before the other arrives. */
static void decide_both_ways(struct harness *h, const char *content, bool human_first)
{
	Arbiter__V1__ContentEvent ev = ARBITER__V1__CONTENT_EVENT__INIT;
	Arbiter__V1__ContentEvent__SignalsEntry sig =
		ARBITER__V1__CONTENT_EVENT__SIGNALS_ENTRY__INIT;
	Arbiter__V1__ContentEvent__SignalsEntry *sigs[] = {&sig};
	sig.key = "violence";
	sig.value = 0.95f;
	char ev_id[64], d_id[64];
	snprintf(ev_id, sizeof(ev_id), "ev-%s", content);
	snprintf(d_id, sizeof(d_id), "human-%s", content);
	ev.event_id = ev_id;
	ev.content_id = (char *)content;
	ev.created_at_ms = T0_MS;
	ev.n_signals = 1;
	ev.signals = sigs;
	Arbiter__V1__ModerationDecision d = ARBITER__V1__MODERATION_DECISION__INIT;
	d.decision_id = d_id;
	d.content_id = (char *)content;
	d.kind = ARBITER__V1__DECISION_KIND__ACTION;
	d.action = ARBITER__V1__ACTION__GEO_BLOCK;
	d.actor = ARBITER__V1__ACTOR__HUMAN;
	d.reviewer_id = "rev-a";
	d.category = "STATEMENT_CATEGORY_VIOLENCE";
	d.legal_ground = "Terms 4.1";
	d.explanation = "threat";
	d.decided_at_ms = T0_MS + 1000;
	for (int step = 0; step < 2; step++) {
		if ((step == 0) == human_first) {
			produce_decision(h, &d);
			ck_assert(harness_wait_committed(h, "moderation.decisions", 30));
		} else {
			harness_produce_msg(h, "content.events", content, &ev.base);
			harness_flush(h);
			ck_assert(harness_wait_committed(h, "content.events", 30));
		}
	}
}

static void file_appeal(struct harness *h, const char *content, const char *appeal,
			const char *against)
{
	Arbiter__V1__ModerationDecision d = ARBITER__V1__MODERATION_DECISION__INIT;
	char id[64];
	snprintf(id, sizeof(id), "filed-%s", appeal);
	d.decision_id = id;
	d.content_id = (char *)content;
	d.kind = ARBITER__V1__DECISION_KIND__APPEAL_FILED;
	d.appeal_id = (char *)appeal;
	d.appealed_decision_id = (char *)against;
	d.decided_at_ms = T0_MS + 5000;
	produce_decision(h, &d);
}

/* DSA Art. 20: an appeal is against the decision the author received. A rule acting on content
 * a reviewer already decided (a backlog) must not make the appeal about the rule's action,
 * whatever the order of arrival; an appeal may name its decision, and an unknown one is
 * refused. */
START_TEST(an_appeal_is_against_the_decision_the_author_received)
{
	struct harness h;
	struct redis_server rs;
	harness_start(&h, 1);
	redis_server_start(&rs);
	h.redis_address = rs.address;
	harness_write_file(
		&h, "rules.yaml",
		"rules:\n"
		"  - {id: threat, description: d, when: signal.violence >= 0.9, action: remove,\n"
		"     category: STATEMENT_CATEGORY_VIOLENCE, legal_ground: Terms 4.1}\n");
	harness_write_config(&h, config_extra);
	harness_daemon_start(&h);

	decide_both_ways(&h, "c-human-first", true);
	decide_both_ways(&h, "c-rule-first", false);
	struct ledger_seen seen = {0};
	harness_read(&h, AUDIT_TOPIC, read_automated, &seen);
	ck_assert_int_eq(seen.n_auto, 2);
	const char *auto_id = seen.auto_id[0];

	file_appeal(&h, "c-human-first", "ap-1", NULL);
	file_appeal(&h, "c-rule-first", "ap-2", NULL);
	file_appeal(&h, "c-human-first", "ap-3",
		    strcmp(seen.auto_content[0], "c-human-first") ? seen.auto_id[1] : auto_id);
	file_appeal(&h, "c-human-first", "ap-4", "no-such-decision");
	ck_assert(harness_wait_committed(&h, "moderation.decisions", 30));
	ck_assert_int_eq(harness_daemon_stop(&h, SIGTERM), 0);

	harness_read(&h, "moderation.appeals", read_appeals, &seen);
	/* Without a name: the reviewer's decision, in both orders, and its reviewer excluded. */
	for (int i = 0; i < 2; i++) {
		const Arbiter__V1__AppealRecord *a = appeal_of(&seen, i ? "ap-2" : "ap-1");
		ck_assert_int_eq(a->original_action, ARBITER__V1__ACTION__GEO_BLOCK);
		ck_assert_str_eq(a->decision_id, i ? "human-c-rule-first" : "human-c-human-first");
	}
	/* Named: exactly that decision, the rule's, which no reviewer took. */
	const Arbiter__V1__AppealRecord *named = appeal_of(&seen, "ap-3");
	ck_assert_int_eq(named->original_action, ARBITER__V1__ACTION__REMOVE);
	/* rev-a may review only the appeal of the rule's action; rev-b takes the two others,
	 * which exclude rev-a. */
	struct harness_run run;
	ck_assert_int_eq(harness_ctl(&run, NULL,
				     "review claim --config %s --queue appeals --reviewer rev-a",
				     h.config),
			 0);
	json_t *entry = json_loads(run.out, 0, NULL);
	harness_run_free(&run);
	ck_assert_str_eq(field(entry, "appeal_id"), "ap-3");
	json_decref(entry);
	ck_assert_int_eq(harness_ctl(NULL, NULL,
				     "review claim --config %s --queue appeals --reviewer rev-a",
				     h.config),
			 3);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(harness_ctl(&run, NULL,
					     "review claim --config %s --queue appeals "
					     "--reviewer rev-b",
					     h.config),
				 0);
		entry = json_loads(run.out, 0, NULL);
		harness_run_free(&run);
		ck_assert_str_eq(field(entry, "exclude"), "rev-a");
		json_decref(entry);
	}
	struct reasons dl = {0};
	harness_read(&h, "arbiter.deadletter", read_deadletter, &dl);
	ck_assert_int_eq(dl.n, 1);
	ck_assert_msg(strstr(dl.text[0], "appeal against unknown decision no-such-decision"), "%s",
		      dl.text[0]);
	for (int i = 0; i < seen.n_appeals; i++)
		arbiter__v1__appeal_record__free_unpacked(seen.appeals[i], NULL);
	harness_stop(&h);
	redis_server_stop(&rs);
}
END_TEST

struct outcome_counts {
	int appeals, deadletters;
};

static void count_record(void *opaque, const rd_kafka_message_t *m)
{
	(void)m;
	(*(int *)opaque)++;
}

/* Commands in flight when the connection to Redis is lost are sent again in the order they
 * were first sent: a decision's state before the appeal against it. A Redis frozen past
 * redis.command_timeout holds a pipeline of both, and dies before running any. */
START_TEST(a_lost_redis_connection_keeps_the_order_of_commands)
{
	enum { N = 40 };
	struct harness h;
	struct redis_server rs;
	harness_start(&h, 1);
	redis_server_start(&rs);
	h.redis_address = rs.address; /* command_timeout: 2s */
	harness_write_file(&h, "rules.yaml", "rules: []\n");
	harness_write_config(&h, config_extra);
	harness_daemon_start(&h);
	Arbiter__V1__ModerationDecision d = ARBITER__V1__MODERATION_DECISION__INIT;
	d.decision_id = "warm-up";
	d.content_id = "c-warm-up";
	d.kind = ARBITER__V1__DECISION_KIND__ACTION;
	d.action = ARBITER__V1__ACTION__REMOVE;
	d.actor = ARBITER__V1__ACTOR__HUMAN;
	d.reviewer_id = "rev-a";
	produce_decision(&h, &d);
	ck_assert(harness_wait_committed(&h, "moderation.decisions", 30));

	/* Frozen: every command sent now waits, in order, until the timeout drops them all. */
	ck_assert_int_eq(kill(rs.pid, SIGSTOP), 0);
	for (int i = 0; i < N; i++) {
		char content[32], did[32], fid[32], aid[32];
		snprintf(content, sizeof(content), "c-%d", i);
		snprintf(did, sizeof(did), "d-%d", i);
		snprintf(fid, sizeof(fid), "filed-%d", i);
		snprintf(aid, sizeof(aid), "ap-%d", i);
		Arbiter__V1__ModerationDecision a = ARBITER__V1__MODERATION_DECISION__INIT;
		a.decision_id = did;
		a.content_id = content;
		a.kind = ARBITER__V1__DECISION_KIND__ACTION;
		a.action = ARBITER__V1__ACTION__REMOVE;
		a.actor = ARBITER__V1__ACTOR__HUMAN;
		a.reviewer_id = "rev-a";
		harness_produce_msg(&h, "moderation.decisions", content, &a.base);
		Arbiter__V1__ModerationDecision ap = ARBITER__V1__MODERATION_DECISION__INIT;
		ap.decision_id = fid;
		ap.content_id = content;
		ap.kind = ARBITER__V1__DECISION_KIND__APPEAL_FILED;
		ap.appeal_id = aid;
		harness_produce_msg(&h, "moderation.decisions", content, &ap.base);
	}
	harness_flush(&h);
	for (int i = 0; i < 100 && !harness_log_contains(&h, "no reply within"); i++)
		usleep(100 * 1000);
	ck_assert(harness_log_contains(&h, "no reply within 2000 ms"));
	/* It never ran them: it dies frozen and comes back from its AOF. */
	redis_server_restart(&rs);
	ck_assert(harness_wait_committed(&h, "moderation.decisions", 60));
	ck_assert_int_eq(harness_daemon_stop(&h, SIGTERM), 0);

	/* Every appeal found its decision: filed, none refused. */
	struct outcome_counts n = {0};
	harness_read(&h, "moderation.appeals", count_record, &n.appeals);
	if (harness_count(&h, "arbiter.deadletter") > 0) {
		struct reasons dl = {0};
		harness_read(&h, "arbiter.deadletter", read_deadletter, &dl);
		ck_abort_msg("%d appeal(s) refused, the first: %s", dl.n, dl.text[0]);
	}
	ck_assert_int_eq(n.appeals, N);
	harness_stop(&h);
	redis_server_stop(&rs);
}
END_TEST

static Suite *appeals_suite(void)
{
	Suite *s = suite_create("appeals");
	TCase *tc = tcase_create("loop");
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, full_loop_with_an_independent_appeal);
	tcase_add_test(tc, resolution_records_the_outcome_and_the_wait);
	tcase_add_test(tc, an_appeal_is_against_the_decision_the_author_received);
	tcase_add_test(tc, a_lost_redis_connection_keeps_the_order_of_commands);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return harness_main(appeals_suite());
}
