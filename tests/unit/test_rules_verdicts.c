/* Unit tests for the rules engine's verdicts: modes, shadow rules, severity, escalations, evidence,
 * JSON. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf, open_memstream */
#endif
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "rules.h"
#include "rules_fixture.h"
#include "unit.h"

/* ===== modes ===== */

static const char *const mode_rules =
	"modes:\n"
	"  election-ke: {countries: [KE], from: 2027-08-01, until: 2027-08-20}\n"
	"  crisis-ba: {countries: [ba], enabled: false}\n"
	"  later: {from: 2027-08-01T06:30Z}\n"
	"  dormant: {enabled: false}\n"
	"  on-by-default: {enabled: true, description: switched off by ops}\n"
	"rules:\n"
	"  - {id: election, modes: [election-ke], when: 'true', action: label}\n"
	"  - {id: crisis, modes: [crisis-ba], when: 'true', action: label}\n"
	"  - {id: either, modes: [crisis-ba, election-ke], when: 'true', action: label}\n"
	"  - {id: later, modes: [later], when: 'true', action: label}\n"
	"  - {id: dormant, modes: [dormant], when: 'true', action: label}\n"
	"  - {id: default, modes: [on-by-default], when: 'true', action: label}\n"
	"  - {id: always, modes: [], when: 'true', action: label}\n";

START_TEST(modes_by_date_window)
{
	struct loaded L;
	load_ok(&L, mode_rules, NULL);
	const char *ke = "{'country':'KE'}";
	expect_matched(&L, ke, AUG1_MS - 1, "default,always");
	expect_matched(&L, ke, AUG1_MS, "election,either,default,always");
	expect_matched(&L, ke, AUG1_0630_MS - 1, "election,either,default,always");
	expect_matched(&L, ke, AUG1_0630_MS, "election,either,later,default,always");
	expect_matched(&L, ke, AUG20_MS - 1, "election,either,later,default,always");
	/* until is exclusive. */
	expect_matched(&L, ke, AUG20_MS, "later,default,always");
	/* The verdict names the active modes in declaration order. */
	const struct rules_verdict *v = eval_at(&L, ke, AUG1_0630_MS);
	ck_assert_uint_eq(v->n_modes, 3);
	ck_assert_str_eq(v->modes[0], "election-ke");
	ck_assert_str_eq(v->modes[1], "later");
	ck_assert_str_eq(v->modes[2], "on-by-default");
	teardown(&L);
}
END_TEST

START_TEST(modes_by_country)
{
	struct loaded L;
	load_ok(&L, mode_rules, NULL);
	int64_t in = AUG1_MS + 3 * DAY_MS;
	expect_matched(&L, "{'country':'ke'}", in, "election,either,later,default,always");
	expect_matched(&L, "{'country':'TZ'}", in, "later,default,always");
	expect_matched(&L, "{}", in, "later,default,always");
	/* crisis-ba is declared but disabled. */
	expect_matched(&L, "{'country':'BA'}", in, "later,default,always");
	teardown(&L);
}
END_TEST

START_TEST(created_at_is_used_over_now)
{
	struct loaded L;
	load_ok(&L, mode_rules, NULL);
	/* Created inside the window, evaluated long after. */
	expect_matched(&L, "{'country':'KE','created_at_ms':1817337600000}", AUG20_MS + 30 * DAY_MS,
		       "election,either,later,default,always");
	/* Created before it, evaluated inside it. */
	expect_matched(&L, "{'country':'KE','created_at_ms':1816992000000}", AUG1_MS + DAY_MS,
		       "default,always");
	teardown(&L);
}
END_TEST

START_TEST(config_switches_modes)
{
	struct loaded L;
	load_ok(&L, mode_rules, "crisis-ba: on, election-ke: off, dormant: on, on-by-default: off");
	int64_t in = AUG1_MS + 3 * DAY_MS;
	expect_matched(&L, "{'country':'BA'}", in, "crisis,either,later,dormant,always");
	expect_matched(&L, "{'country':'KE'}", in, "later,dormant,always");
	teardown(&L);
	/* true/false spellings work too. */
	load_ok(&L, mode_rules, "crisis-ba: true");
	expect_matched(&L, "{'country':'BA'}", AUG1_MS - 1, "crisis,either,default,always");
	teardown(&L);
}
END_TEST

START_TEST(rules_expose_their_modes)
{
	struct loaded L;
	load_ok(&L, mode_rules, NULL);
	ck_assert_uint_eq(rules_count(L.rs), 7);
	const struct rules_rule *r = rules_rule(L.rs, 2);
	ck_assert_str_eq(r->id, "either");
	ck_assert_str_eq(r->modes[0], "crisis-ba");
	ck_assert_str_eq(r->modes[1], "election-ke");
	ck_assert_ptr_null(r->modes[2]);
	r = rules_rule(L.rs, 6);
	ck_assert(!r->modes || !r->modes[0]);
	teardown(&L);
}
END_TEST

/* ===== verdicts ===== */

START_TEST(shadow_rules_are_counted_never_acted_on)
{
	struct loaded L;
	load_ok(&L,
		"lists: {bad: [bad]}\n"
		"rules:\n"
		"  - id: live\n"
		"    when: signal.hate >= 0.5\n"
		"    action: label\n"
		"  - id: shadow.remove\n"
		"    shadow: true\n"
		"    when: signal.hate >= 0.5\n"
		"    action: terminate_account\n"
		"    escalate: {queue: q-shadow, band: urgent}\n"
		"  - id: shadow.only\n"
		"    shadow: true\n"
		"    when: text contains_any bad\n"
		"  - id: shadow.off\n"
		"    shadow: false\n"
		"    when: reach > 5\n"
		"    action: demote\n",
		NULL);
	char buf[256];
	const struct rules_verdict *v = eval(&L, "{'text':'bad','signals':{'hate':0.9}}");
	ck_assert_str_eq(ids(L.rs, v->matched, v->n_matched, buf, sizeof(buf)), "live");
	ck_assert_str_eq(ids(L.rs, v->shadow, v->n_shadow, buf, sizeof(buf)),
			 "shadow.remove,shadow.only");
	ck_assert_int_eq(v->action, ARBITER__V1__ACTION__LABEL);
	ck_assert_str_eq(id_of(L.rs, v->action_rule), "live");
	ck_assert_uint_eq(v->n_escalations, 0);
	/* Only shadow rules hold: nothing happens. */
	v = eval(&L, "{'text':'bad'}");
	ck_assert_uint_eq(v->n_matched, 0);
	ck_assert_str_eq(ids(L.rs, v->shadow, v->n_shadow, buf, sizeof(buf)), "shadow.only");
	ck_assert_int_eq(v->action, ARBITER__V1__ACTION__NONE);
	ck_assert_int_eq(v->action_rule, -1);
	ck_assert_uint_eq(v->n_escalations, 0);
	/* shadow: false is an ordinary rule. */
	v = eval(&L, "{'reach':10}");
	ck_assert_str_eq(ids(L.rs, v->matched, v->n_matched, buf, sizeof(buf)), "shadow.off");
	ck_assert_uint_eq(v->n_shadow, 0);
	ck_assert_int_eq(v->action, ARBITER__V1__ACTION__DEMOTE);
	ck_assert(rules_rule(L.rs, 1)->shadow);
	ck_assert(!rules_rule(L.rs, 3)->shadow);
	teardown(&L);
}
END_TEST

static const Arbiter__V1__Action by_severity[] = {
	ARBITER__V1__ACTION__NONE,
	ARBITER__V1__ACTION__LABEL,
	ARBITER__V1__ACTION__DEMOTE,
	ARBITER__V1__ACTION__AGE_RESTRICT,
	ARBITER__V1__ACTION__DEMONETIZE,
	ARBITER__V1__ACTION__GEO_BLOCK,
	ARBITER__V1__ACTION__REMOVE,
	ARBITER__V1__ACTION__SUSPEND_ACCOUNT,
	ARBITER__V1__ACTION__TERMINATE_ACCOUNT,
};
static const char *const by_severity_names[] = {
	"none",      "label",  "demote",          "age_restrict",      "demonetize",
	"geo_block", "remove", "suspend_account", "terminate_account",
};
#define N_ACTIONS (sizeof(by_severity) / sizeof(by_severity[0]))

START_TEST(action_severity_order)
{
	for (size_t i = 1; i < N_ACTIONS; i++)
		ck_assert_int_gt(rules_action_severity(by_severity[i]),
				 rules_action_severity(by_severity[i - 1]));
	ck_assert_int_lt(rules_action_severity(ARBITER__V1__ACTION__RESTORE),
			 rules_action_severity(ARBITER__V1__ACTION__NONE));
	ck_assert_int_lt(rules_action_severity(ARBITER__V1__ACTION__ACTION_UNSPECIFIED),
			 rules_action_severity(ARBITER__V1__ACTION__NONE));
}
END_TEST

/* One rule per action, in a shuffled order, each switched on by its own
 * signal; every pair must resolve to the more severe one. */
START_TEST(most_severe_action_wins)
{
	static const size_t order[] = {4, 1, 8, 0, 6, 2, 7, 3, 5};
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	fprintf(f, "rules:\n");
	for (size_t k = 0; k < N_ACTIONS; k++) {
		const char *a = by_severity_names[order[k]];
		fprintf(f, "  - {id: r.%s, when: signal.%s > 0, action: %s%s}\n", a, a, a,
			order[k] == 0 ? ", escalate: {queue: q}" : "");
	}
	fclose(f);
	struct loaded L;
	load_ok(&L, text, NULL);
	free(text);
	for (size_t i = 0; i < N_ACTIONS; i++) {
		for (size_t j = i; j < N_ACTIONS; j++) {
			char json[256], want[64];
			if (i == j)
				snprintf(json, sizeof(json), "{'signals':{'%s':1}}",
					 by_severity_names[i]);
			else
				snprintf(json, sizeof(json), "{'signals':{'%s':1,'%s':1}}",
					 by_severity_names[i], by_severity_names[j]);
			const struct rules_verdict *v = eval(&L, json);
			ck_assert_uint_eq(v->n_matched, i == j ? 1 : 2);
			ck_assert_msg(v->action == by_severity[j], "%s: action %d, expected %s",
				      json, v->action, by_severity_names[j]);
			if (j == 0) {
				ck_assert_int_eq(v->action_rule, -1);
			} else {
				snprintf(want, sizeof(want), "r.%s", by_severity_names[j]);
				ck_assert_str_eq(id_of(L.rs, v->action_rule), want);
			}
		}
	}
	/* All at once. */
	const struct rules_verdict *v = eval(
		&L, "{'signals':{'none':1,'label':1,'demote':1,'age_restrict':1,'demonetize':1,"
		    "'geo_block':1,'remove':1,'suspend_account':1,'terminate_account':1}}");
	ck_assert_uint_eq(v->n_matched, N_ACTIONS);
	ck_assert_int_eq(v->action, ARBITER__V1__ACTION__TERMINATE_ACCOUNT);
	ck_assert_str_eq(id_of(L.rs, v->action_rule), "r.terminate_account");
	/* Nothing matched. */
	v = eval(&L, "{}");
	ck_assert_uint_eq(v->n_matched, 0);
	ck_assert_int_eq(v->action, ARBITER__V1__ACTION__NONE);
	ck_assert_int_eq(v->action_rule, -1);
	teardown(&L);
}
END_TEST

START_TEST(equal_severity_keeps_the_first_rule)
{
	struct loaded L;
	load_ok(&L,
		"rules:\n"
		"  - {id: a, when: signal.a > 0, action: label}\n"
		"  - {id: b, when: signal.b > 0, action: remove}\n"
		"  - {id: c, when: signal.c > 0, action: remove}\n",
		NULL);
	const struct rules_verdict *v = eval(&L, "{'signals':{'a':1,'b':1,'c':1}}");
	ck_assert_int_eq(v->action, ARBITER__V1__ACTION__REMOVE);
	ck_assert_str_eq(id_of(L.rs, v->action_rule), "b");
	v = eval(&L, "{'signals':{'a':1,'c':1}}");
	ck_assert_str_eq(id_of(L.rs, v->action_rule), "c");
	teardown(&L);
}
END_TEST

START_TEST(escalations_merge_per_queue)
{
	struct loaded L;
	load_ok(&L,
		"rules:\n"
		"  - {id: e1, when: signal.e1 > 0, action: label,"
		" escalate: {queue: q1, band: normal, sla: 4h}}\n"
		"  - {id: e2, when: signal.e2 > 0, action: label,"
		" escalate: {queue: q1, band: urgent, sla: 8h, monitors: true}}\n"
		"  - {id: e3, when: signal.e3 > 0, escalate: {queue: q1, band: high, sla: 30m}}\n"
		"  - {id: e4, when: signal.e4 > 0, escalate: {queue: q2}}\n"
		"  - {id: e5, when: signal.e5 > 0, action: demote,"
		" escalate: {queue: q2, band: low, sla: 2d, monitors: false}}\n",
		NULL);
	const struct rules_verdict *v =
		eval(&L, "{'signals':{'e1':1,'e2':1,'e3':1,'e4':1,'e5':1}}");
	ck_assert_uint_eq(v->n_matched, 5);
	ck_assert_uint_eq(v->n_escalations, 2);
	const struct rules_verdict_escalation *q1 = &v->escalations[0], *q2 = &v->escalations[1];
	ck_assert_str_eq(q1->esc.queue, "q1");
	ck_assert_int_eq(q1->esc.band, ARBITER__V1__BAND__URGENT);
	ck_assert_uint_eq(q1->esc.sla_s, 1800);
	ck_assert(q1->esc.monitors);
	ck_assert_str_eq(id_of(L.rs, (int32_t)q1->first_rule), "e1");
	/* Defaults: band normal, SLA 24h, no monitors; merged with low/2d. */
	ck_assert_str_eq(q2->esc.queue, "q2");
	ck_assert_int_eq(q2->esc.band, ARBITER__V1__BAND__NORMAL);
	ck_assert_uint_eq(q2->esc.sla_s, 86400);
	ck_assert(!q2->esc.monitors);
	ck_assert_str_eq(id_of(L.rs, (int32_t)q2->first_rule), "e4");
	ck_assert_int_eq(v->action, ARBITER__V1__ACTION__DEMOTE);

	v = eval(&L, "{'signals':{'e3':1,'e1':1}}");
	ck_assert_uint_eq(v->n_escalations, 1);
	ck_assert_int_eq(v->escalations[0].esc.band, ARBITER__V1__BAND__HIGH);
	ck_assert_uint_eq(v->escalations[0].esc.sla_s, 1800);
	ck_assert(!v->escalations[0].esc.monitors);
	ck_assert_str_eq(id_of(L.rs, (int32_t)v->escalations[0].first_rule), "e1");

	/* Only an escalating rule: matched, escalated, no action. */
	v = eval(&L, "{'signals':{'e3':1}}");
	ck_assert_uint_eq(v->n_matched, 1);
	ck_assert_int_eq(v->action, ARBITER__V1__ACTION__NONE);
	ck_assert_int_eq(v->action_rule, -1);
	ck_assert_uint_eq(v->n_escalations, 1);
	ck_assert_str_eq(id_of(L.rs, (int32_t)v->escalations[0].first_rule), "e3");

	v = eval(&L, "{'signals':{'e5':1,'e4':1}}");
	ck_assert_uint_eq(v->n_escalations, 1);
	ck_assert_int_eq(v->escalations[0].esc.band, ARBITER__V1__BAND__NORMAL);
	ck_assert_uint_eq(v->escalations[0].esc.sla_s, 86400);
	teardown(&L);
}
END_TEST

START_TEST(rules_without_a_text_trigger_are_always_evaluated)
{
	struct loaded L;
	load_ok(&L,
		"lists: {a: [alpha], b: [beta]}\n"
		"rules:\n"
		"  - {id: or_signal, when: text contains_any a or signal.x > 0.5, action: label}\n"
		"  - {id: not_a, when: not text contains_any a, action: label}\n"
		"  - {id: a_and_signal, when: text contains_any a and signal.x > 0.5, action: label}\n"
		"  - {id: a_or_b, when: text contains_any a or text matches /beta/, action: label}\n"
		"  - {id: reach, when: reach > 10, action: label}\n"
		"  - {id: not_re, when: not text matches /gamma/, action: label}\n",
		NULL);
	expect_matched(&L, "{'text':'nothing here','signals':{'x':0.9}}", 0,
		       "or_signal,not_a,not_re");
	expect_matched(&L, "{'text':'alpha','signals':{'x':0.1}}", 0, "or_signal,a_or_b,not_re");
	expect_matched(&L, "{'text':'alpha','signals':{'x':0.9}}", 0,
		       "or_signal,a_and_signal,a_or_b,not_re");
	expect_matched(&L, "{'signals':{'x':0.9}}", 0, "or_signal,not_a,not_re");
	expect_matched(&L, "{'reach':11,'text':'beta gamma'}", 0, "not_a,a_or_b,reach");
	expect_matched(&L, "{'text':'gamma'}", 0, "not_a");
	teardown(&L);
}
END_TEST

/* Rules that spell one condition share its evaluation; conditions that differ in any operand,
 * operator, field name, literal or list stay apart. */
START_TEST(rules_sharing_a_condition)
{
	struct loaded L;
	load_ok(&L,
		"lists: {a: [alpha], b: [beta]}\n"
		"modes: {off: {enabled: false}}\n"
		"rules:\n"
		"  - {id: r1, when: reach > 10, action: label}\n"
		"  - {id: r2, when: reach > 10, action: remove}\n"
		"  - {id: r3, when: reach > 10, modes: [off], action: remove}\n"
		"  - {id: r4, when: reach >= 10, action: label}\n"
		"  - {id: r5, when: reach > 11, action: label}\n"
		"  - {id: x, when: signal.x > 0.5, action: label}\n"
		"  - {id: y, when: signal.y > 0.5, action: label}\n"
		"  - {id: sw, when: lang == \"sw\", action: label}\n"
		"  - {id: sw_bs, when: 'lang in [\"sw\", \"bs\"]', action: label}\n"
		"  - {id: bs, when: 'lang in [\"bs\"]', action: label}\n"
		"  - {id: ca, when: text contains_any a, action: label}\n"
		"  - {id: cb, when: text contains_any b, action: label}\n"
		"  - {id: and, when: reach > 10 and report_count > 1, action: label}\n"
		"  - {id: or, when: reach > 10 or report_count > 1, action: label}\n"
		"  - {id: not, when: not reach > 10, action: label}\n"
		"  - {id: r1_again, when: reach > 10, action: label}\n",
		NULL);
	expect_matched(&L, "{'reach':11}", 0, "r1,r2,r4,or,r1_again");
	expect_matched(&L, "{'reach':10}", 0, "r4,not");
	expect_matched(&L, "{'reach':12,'report_count':2}", 0, "r1,r2,r4,r5,and,or,r1_again");
	expect_matched(&L, "{'signals':{'y':0.9},'report_count':2}", 0, "y,or,not");
	expect_matched(&L, "{'lang':'bs','text':'beta'}", 0, "sw_bs,bs,cb,not");
	expect_matched(&L, "{'lang':'sw','text':'alpha beta'}", 0, "sw,sw_bs,ca,cb,not");
	teardown(&L);
}
END_TEST

START_TEST(evidence_names_lists_and_regexes)
{
	struct loaded L;
	load_ok(&L,
		"lists: {a: [alpha], b: [beta], c: [gamma, alpha]}\n"
		"rules:\n"
		"  - {id: r1, when: text contains_any a and reach > 100, action: label}\n"
		"  - {id: r2, when: text matches /be+ta/, action: label}\n"
		"  - {id: r3, when: text contains_any c or text contains_any a, action: label}\n",
		NULL);
	/* A term in two lists fires both. */
	const struct rules_verdict *v = eval(&L, "{'text':'alpha beeeta'}");
	ck_assert_uint_eq(v->n_evidence, 3);
	bool la = false, lc = false, re = false;
	for (size_t i = 0; i < v->n_evidence; i++) {
		la |= !strcmp(v->evidence[i], "list:a");
		lc |= !strcmp(v->evidence[i], "list:c");
		re |= !strcmp(v->evidence[i], "regex:/be+ta/");
	}
	ck_assert(la && lc && re);
	char buf[64];
	ck_assert_str_eq(ids(L.rs, v->matched, v->n_matched, buf, sizeof(buf)), "r2,r3");
	v = eval(&L, "{'text':'nothing'}");
	ck_assert_uint_eq(v->n_evidence, 0);
	teardown(&L);
}
END_TEST

START_TEST(verdict_json_fields)
{
	struct loaded L;
	load_ok(&L,
		"lists: {bad: [bad]}\n"
		"modes: {m: {}}\n"
		"rules:\n"
		"  - id: r.remove\n"
		"    modes: [m]\n"
		"    when: text contains_any bad\n"
		"    action: remove\n"
		"    escalate: {queue: incitement, band: urgent, sla: 1h, monitors: true}\n"
		"  - {id: r.label, when: reach > 5, action: label}\n"
		"  - {id: r.shadow, shadow: true, when: reach > 5, action: remove}\n",
		NULL);
	Arbiter__V1__ContentEvent *ev =
		event("{'event_id':'e-1','content_id':'c-1','text':'so bad','reach':10}");
	const struct rules_verdict *v = rules_eval(L.ctx, ev, 0);
	json_t *j = rules_verdict_json(L.rs, ev, v);
	ck_assert_ptr_nonnull(j);
	char *got = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	char *want = NULL;
	ck_assert_int_ge(
		asprintf(
			&want,
			"{\"action\":\"remove\",\"action_rule\":\"r.remove\",\"attr_type_errors\":0,\"behaviour\":false,\"content_id\":\"c-1\","
			"\"escalations\":[{\"band\":\"urgent\",\"monitors\":true,\"queue\":"
			"\"incitement\",\"rule\":\"r.remove\",\"sla_s\":3600}],\"event_id\":\"e-1\","
			"\"evidence\":[\"list:bad\"],\"matched\":[\"r.remove\",\"r.label\"],"
			"\"modes\":[\"m\"],\"ruleset_version\":\"%s\",\"shadow\":[\"r.shadow\"]}",
			rules_version(L.rs)),
		0);
	ck_assert_str_eq(got, want);
	free(got);
	free(want);
	json_decref(j);
	event_free(ev);

	/* Nothing matched: action none, action_rule null, empty arrays. */
	ev = event("{}");
	v = rules_eval(L.ctx, ev, 0);
	j = rules_verdict_json(L.rs, ev, v);
	ck_assert_str_eq(json_string_value(json_object_get(j, "action")), "none");
	ck_assert(json_is_null(json_object_get(j, "action_rule")));
	ck_assert_str_eq(json_string_value(json_object_get(j, "event_id")), "");
	ck_assert_str_eq(json_string_value(json_object_get(j, "content_id")), "");
	ck_assert_uint_eq(json_array_size(json_object_get(j, "matched")), 0);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "shadow")), 0);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "escalations")), 0);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "evidence")), 0);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "modes")), 1);
	json_decref(j);
	event_free(ev);
	teardown(&L);
}
END_TEST

static Suite *rules_verdicts_suite(void)
{
	Suite *s = suite_create("rules_verdicts");
	TCase *tc = tcase_create("modes");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, modes_by_date_window);
	tcase_add_test(tc, modes_by_country);
	tcase_add_test(tc, created_at_is_used_over_now);
	tcase_add_test(tc, config_switches_modes);
	tcase_add_test(tc, rules_expose_their_modes);
	suite_add_tcase(s, tc);

	tc = tcase_create("verdicts");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, shadow_rules_are_counted_never_acted_on);
	tcase_add_test(tc, action_severity_order);
	tcase_add_test(tc, most_severe_action_wins);
	tcase_add_test(tc, equal_severity_keeps_the_first_rule);
	tcase_add_test(tc, escalations_merge_per_queue);
	tcase_add_test(tc, rules_without_a_text_trigger_are_always_evaluated);
	tcase_add_test(tc, rules_sharing_a_condition);
	tcase_add_test(tc, evidence_names_lists_and_regexes);
	tcase_add_test(tc, verdict_json_fields);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(rules_verdicts_suite());
}
