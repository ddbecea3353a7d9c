/* Unit tests for the record builders (records.c): ids, dead letters, audit records. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arbiter/v1/audit_record.pb-c.h"
#include "arbiter/v1/dead_letter.pb-c.h"
#include "arbiter/v1/escalation.pb-c.h"
#include "dsa.h"
#include "records.h"
#include "unit.h"

START_TEST(ids_are_deterministic_and_distinct)
{
	struct records_source a = {"content.events", 3, 1234};
	struct records_source b = {"content.events", 3, 1235};
	struct records_source c = {"content.event", 31, 1234};
	char ia[RECORDS_ID_LEN + 1], ia2[RECORDS_ID_LEN + 1], ib[RECORDS_ID_LEN + 1],
		ic[RECORDS_ID_LEN + 1], ik[RECORDS_ID_LEN + 1];
	records_id(ia, "audit", &a);
	records_id(ia2, "audit", &a);
	records_id(ib, "audit", &b);
	records_id(ic, "audit", &c);
	records_id(ik, "deadletter", &a);
	ck_assert_str_eq(ia, ia2);
	ck_assert_uint_eq(strlen(ia), RECORDS_ID_LEN);
	ck_assert_uint_eq(strspn(ia, "0123456789abcdef"), RECORDS_ID_LEN);
	ck_assert_str_ne(ia, ib);
	/* Field boundaries matter: topic "content.event" + partition 31 is not
	 * topic "content.events" + partition 3. */
	ck_assert_str_ne(ia, ic);
	ck_assert_str_ne(ia, ik);
}
END_TEST

/* Ids live in the topics and in Redis: a new version must compute the same id for the same
 * input. These are what the first version computed (with snprintf), edge cases included. */
START_TEST(ids_stay_what_they_were)
{
	char long_topic[300];
	memset(long_topic, 't', sizeof(long_topic) - 1);
	long_topic[sizeof(long_topic) - 1] = '\0';
	static const struct {
		const char *kind;
		struct records_source src;
		const char *id;
	} cases[] = {
		{"audit", {"content.events", 3, 1234}, "4036607807bb66c9bcd71db8d3fd593a"},
		{"appeal-entry",
		 {"moderation.decisions", -1, -1001},
		 "343d365401a0b7fd775eea9cf68dc103"},
		{"audit", {"x", INT32_MAX, INT64_MAX}, "3002ec9f5bdaf8f749ecfcc37ab4616f"},
		{"appeal-entry", {NULL, 0, 0}, "e7f7d0671f21a4495fbcd685e12434e7"}, /* long_topic */
		{"audit", {"", INT32_MIN, INT64_MIN}, "9aa0686b52c457ecdb593a0229ef1176"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct records_source src = cases[i].src;
		if (!src.topic)
			src.topic = long_topic;
		char id[RECORDS_ID_LEN + 1];
		records_id(id, cases[i].kind, &src);
		ck_assert_msg(!strcmp(id, cases[i].id), "case %zu: %s, not %s", i, id, cases[i].id);
	}
}
END_TEST

START_TEST(deadletter_carries_source_reason_and_truncated_raw)
{
	struct records_source src = {"moderation.decisions", 2, 77};
	const char raw[] = "0123456789";
	struct records_buf buf;
	ck_assert_int_eq(
		records_deadletter(&src, "k1", 2, raw, 10, "missing content_id", 4, 1700, &buf), 0);
	Arbiter__V1__DeadLetter *dl = arbiter__v1__dead_letter__unpack(NULL, buf.len, buf.data);
	ck_assert_ptr_nonnull(dl);
	ck_assert_str_eq(dl->source_topic, "moderation.decisions");
	ck_assert_int_eq(dl->source_partition, 2);
	ck_assert_int_eq(dl->source_offset, 77);
	ck_assert_str_eq(dl->reason, "missing content_id");
	ck_assert_uint_eq(dl->raw.len, 4);
	ck_assert_mem_eq(dl->raw.data, "0123", 4);
	ck_assert(dl->raw_truncated);
	ck_assert_uint_eq(dl->key.len, 2);
	ck_assert_int_eq(dl->failed_at_ms, 1700);
	char id[RECORDS_ID_LEN + 1];
	records_id(id, "deadletter", &src);
	ck_assert_str_eq(dl->record_id, id);
	arbiter__v1__dead_letter__free_unpacked(dl, NULL);
	free(buf.data);

	/* Small enough: kept whole, not marked truncated. */
	ck_assert_int_eq(records_deadletter(&src, NULL, 0, raw, 10, "x", 64, 0, &buf), 0);
	dl = arbiter__v1__dead_letter__unpack(NULL, buf.len, buf.data);
	ck_assert_uint_eq(dl->raw.len, 10);
	ck_assert(!dl->raw_truncated);
	ck_assert_uint_eq(dl->key.len, 0);
	arbiter__v1__dead_letter__free_unpacked(dl, NULL);
	free(buf.data);
}
END_TEST

START_TEST(audit_record_copies_the_decision)
{
	char *scope[] = {"DE", "FR"};
	Arbiter__V1__ModerationDecision d = ARBITER__V1__MODERATION_DECISION__INIT;
	d.decision_id = "d-1";
	d.content_id = "c-9";
	d.kind = ARBITER__V1__DECISION_KIND__ACTION;
	d.action = ARBITER__V1__ACTION__GEO_BLOCK;
	d.actor = ARBITER__V1__ACTOR__HUMAN;
	d.category = "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH";
	d.ground = ARBITER__V1__GROUND__ILLEGAL_CONTENT;
	d.legal_ground = "NetzDG §3";
	d.explanation = "unlawful in DE and FR";
	d.n_territorial_scope = 2;
	d.territorial_scope = scope;
	d.decided_at_ms = 42;
	struct records_source src = {"moderation.decisions", 0, 5};
	struct records_buf buf;
	/* Without the content's type and date, and decided in 1970, the DSA
	 * statement lacks what the database requires: packed all the same. */
	ck_assert_int_eq(records_audit_decision(&src, &d, NULL, 99, NULL, &buf), 1);
	Arbiter__V1__AuditRecord *r = arbiter__v1__audit_record__unpack(NULL, buf.len, buf.data);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(r->decision_id, "d-1");
	ck_assert_str_eq(r->content_id, "c-9");
	ck_assert_int_eq(r->kind, ARBITER__V1__DECISION_KIND__ACTION);
	ck_assert_int_eq(r->action, ARBITER__V1__ACTION__GEO_BLOCK);
	ck_assert_int_eq(r->actor, ARBITER__V1__ACTOR__HUMAN);
	ck_assert_int_eq(r->ground, ARBITER__V1__GROUND__ILLEGAL_CONTENT);
	ck_assert_str_eq(r->legal_ground, "NetzDG §3");
	ck_assert_uint_eq(r->n_territorial_scope, 2);
	ck_assert_str_eq(r->territorial_scope[1], "FR");
	ck_assert_int_eq(r->decided_at_ms, 42);
	ck_assert_int_eq(r->recorded_at_ms, 99);
	ck_assert_str_eq(r->source_topic, "moderation.decisions");
	ck_assert_int_eq(r->source_offset, 5);
	char id[RECORDS_ID_LEN + 1];
	records_id(id, "audit", &src);
	ck_assert_str_eq(r->record_id, id);
	ck_assert_str_eq(r->reviewer_pseudonym, ""); /* no key, no pseudonym */
	ck_assert_str_eq(r->chain, "");              /* no link, no chain */
	arbiter__v1__audit_record__free_unpacked(r, NULL);
	free(buf.data);

	/* What review decide copies from the escalation completes the statement;
	 * a link puts the record in its chain. */
	d.content_type = ARBITER__V1__CONTENT_TYPE__TEXT;
	d.content_created_at_ms = 1790000000000LL; /* 2026-09-21 */
	d.decided_at_ms = 1790000060000LL;
	d.automated_detection = true;
	d.reviewer_id = "zawadi";
	char *modes[] = {"election-de"};
	d.n_modes = 1;
	d.modes = modes;
	d.queue = "hate-speech-de";
	d.review_deadline_ms = 1790000030000LL;
	d.author_pseudonym = "ab12";
	uint8_t prev[LEDGER_HASH_LEN];
	memset(prev, 7, sizeof(prev));
	struct records_link link = {
		.chain = "moderation.decisions/0", .sequence = 4, .prev_hash = prev};
	ck_assert_int_eq(records_audit_decision(&src, &d, "k", 99, &link, &buf), 0);
	r = arbiter__v1__audit_record__unpack(NULL, buf.len, buf.data);
	ck_assert_ptr_nonnull(r);
	char pseudonym[65];
	records_pseudonym(pseudonym, "k", "zawadi");
	ck_assert_str_eq(r->reviewer_pseudonym, pseudonym);
	ck_assert_str_eq(r->chain, "moderation.decisions/0");
	ck_assert_uint_eq(r->sequence, 4);
	ck_assert_mem_eq(r->prev_hash.data, prev, LEDGER_HASH_LEN);
	ck_assert_mem_eq(r->hash.data, link.hash, LEDGER_HASH_LEN);
	uint8_t h[LEDGER_HASH_LEN];
	ck_assert_int_eq(ledger_hash(buf.data, buf.len, h), 0);
	ck_assert_mem_eq(h, link.hash, LEDGER_HASH_LEN); /* the hash is of these bytes */
	ck_assert_uint_eq(r->n_decision_visibility, 1);
	ck_assert_str_eq(r->decision_visibility[0], "DECISION_VISIBILITY_CONTENT_DISABLED");
	ck_assert_str_eq(r->automated_decision, "AUTOMATED_DECISION_PARTIALLY");
	ck_assert_str_eq(r->content_date, "2026-09-21");
	ck_assert_int_eq(r->latency_ms, 60000);
	/* What the transparency report needs, from the review entry. */
	ck_assert_uint_eq(r->n_modes, 1);
	ck_assert_str_eq(r->modes[0], "election-de");
	ck_assert_str_eq(r->queue, "hate-speech-de");
	ck_assert_int_eq(r->review_deadline_ms, 1790000030000LL);
	ck_assert_str_eq(r->author_pseudonym, "ab12");
	ck_assert_str_eq(r->appeal_id, ""); /* an action, not an appeal */
	char why[200];
	ck_assert_msg(dsa_check(r, why, sizeof(why)) == 0, "%s", why);
	arbiter__v1__audit_record__free_unpacked(r, NULL);
	free(buf.data);

	/* An appeal's record names the appeal. */
	d.kind = ARBITER__V1__DECISION_KIND__APPEAL_RESOLVED;
	d.appeal_id = "ap-3";
	d.appeal_outcome = ARBITER__V1__APPEAL_OUTCOME__REVERSED;
	d.action = ARBITER__V1__ACTION__RESTORE;
	ck_assert_int_ge(records_audit_decision(&src, &d, "k", 99, NULL, &buf), 0);
	r = arbiter__v1__audit_record__unpack(NULL, buf.len, buf.data);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(r->appeal_id, "ap-3");
	ck_assert_int_eq(r->appeal_outcome, ARBITER__V1__APPEAL_OUTCOME__REVERSED);
	arbiter__v1__audit_record__free_unpacked(r, NULL);
	free(buf.data);
}
END_TEST

START_TEST(pseudonyms_are_keyed_and_stable)
{
	char a[65], a2[65], b[65], k[65];
	records_pseudonym(a, "key-1", "author-42");
	records_pseudonym(a2, "key-1", "author-42");
	records_pseudonym(b, "key-1", "author-43");
	records_pseudonym(k, "key-2", "author-42");
	ck_assert_str_eq(a, a2);
	ck_assert_uint_eq(strlen(a), 64);
	ck_assert_uint_eq(strspn(a, "0123456789abcdef"), 64);
	ck_assert_str_ne(a, b);
	ck_assert_str_ne(a, k); /* without the key, no one can link them */
	/* RFC 4231 test case 2: HMAC-SHA256("Jefe", "what do ya want for nothing?"). */
	records_pseudonym(a, "Jefe", "what do ya want for nothing?");
	ck_assert_str_eq(a, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}
END_TEST

START_TEST(excerpts_never_cut_a_character)
{
	const char *t = "ab\xc3\xa9\xe0\xa4\xb9z"; /* a b é ह z: 1+1+2+3+1 bytes */
	size_t n = strlen(t);
	ck_assert_uint_eq(records_excerpt_len(t, n, 100), n);
	ck_assert_uint_eq(records_excerpt_len(t, n, 2), 2);
	ck_assert_uint_eq(records_excerpt_len(t, n, 3), 2); /* é would be cut */
	ck_assert_uint_eq(records_excerpt_len(t, n, 4), 4);
	ck_assert_uint_eq(records_excerpt_len(t, n, 5), 4);
	ck_assert_uint_eq(records_excerpt_len(t, n, 6), 4);
	ck_assert_uint_eq(records_excerpt_len(t, n, 7), 7);
	ck_assert_uint_eq(records_excerpt_len(t, n, 0), 0);
}
END_TEST

START_TEST(appeal_entry_is_the_appeal_of_the_decision)
{
	struct records_source src = {"moderation.decisions", 5, 901};
	Arbiter__V1__ModerationDecision d = ARBITER__V1__MODERATION_DECISION__INIT;
	d.decision_id = "d-appeal";
	d.content_id = "c-9";
	d.event_id = "e-9";
	d.kind = ARBITER__V1__DECISION_KIND__APPEAL_FILED;
	d.appeal_id = "ap-3";
	d.lang = "sw";
	d.country = "KE";
	d.content_type = ARBITER__V1__CONTENT_TYPE__VIDEO;
	d.content_created_at_ms = 1500;
	d.automated_detection = true;
	struct records_appeal a = {.original_action = ARBITER__V1__ACTION__REMOVE,
				   .original_reviewer = "rev-1",
				   .decision_id = "d-1",
				   .filed_at_ms = 2000};
	struct records_appeal_entry e = {"appeals", ARBITER__V1__BAND__HIGH, 2000 + 3600000};
	struct records_buf buf;
	ck_assert_int_eq(records_appeal_escalation(&src, &d, &a, &e, 9000, &buf), 0);
	Arbiter__V1__Escalation *es = arbiter__v1__escalation__unpack(NULL, buf.len, buf.data);
	ck_assert_ptr_nonnull(es);
	char id[RECORDS_ID_LEN + 1];
	records_id(id, "appeal-entry", &src);
	ck_assert_str_eq(es->escalation_id, id);
	records_id(id, "appeal", &src); /* the AppealRecord's: another id */
	ck_assert_str_ne(es->escalation_id, id);
	ck_assert_str_eq(es->content_id, "c-9");
	ck_assert_str_eq(es->event_id, "e-9");
	ck_assert_str_eq(es->queue, "appeals");
	ck_assert_int_eq(es->band, ARBITER__V1__BAND__HIGH);
	ck_assert_int_eq(es->deadline_ms, 2000 + 3600000);
	ck_assert_int_eq(es->action, ARBITER__V1__ACTION__REMOVE);
	ck_assert_str_eq(es->lang, "sw");
	ck_assert_str_eq(es->country, "KE");
	ck_assert_uint_eq(es->n_evidence, 1);
	ck_assert_str_eq(es->evidence[0], "appeal:ap-3");
	ck_assert_uint_eq(es->n_rule_ids, 0);
	ck_assert_int_eq(es->content_type, ARBITER__V1__CONTENT_TYPE__VIDEO);
	ck_assert_int_eq(es->content_created_at_ms, 1500);
	ck_assert(es->automated_detection);
	ck_assert_str_eq(es->source_topic, "moderation.decisions");
	ck_assert_int_eq(es->source_partition, 5);
	ck_assert_int_eq(es->source_offset, 901);
	ck_assert_int_eq(es->created_at_ms, 9000);
	arbiter__v1__escalation__free_unpacked(es, NULL);
	free(buf.data);

	/* A long appeal id is kept whole in the evidence. */
	char long_id[2001];
	memset(long_id, 'x', 2000);
	long_id[2000] = '\0';
	d.appeal_id = long_id;
	ck_assert_int_eq(records_appeal_escalation(&src, &d, &a, &e, 9000, &buf), 0);
	es = arbiter__v1__escalation__unpack(NULL, buf.len, buf.data);
	ck_assert_uint_eq(strlen(es->evidence[0]), strlen("appeal:") + 2000);
	arbiter__v1__escalation__free_unpacked(es, NULL);
	free(buf.data);
}
END_TEST

static Suite *records_suite(void)
{
	Suite *s = suite_create("records");
	TCase *tc = tcase_create("builders");
	tcase_add_test(tc, ids_are_deterministic_and_distinct);
	tcase_add_test(tc, ids_stay_what_they_were);
	tcase_add_test(tc, deadletter_carries_source_reason_and_truncated_raw);
	tcase_add_test(tc, audit_record_copies_the_decision);
	tcase_add_test(tc, pseudonyms_are_keyed_and_stable);
	tcase_add_test(tc, excerpts_never_cut_a_character);
	tcase_add_test(tc, appeal_entry_is_the_appeal_of_the_decision);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(records_suite());
}
