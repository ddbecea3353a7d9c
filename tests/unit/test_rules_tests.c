/* Unit tests for the tests: cases of rule files (rules_run_tests) and the config check
 * (policy_check). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf, open_memstream */
#endif
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "policy.h"
#include "rules.h"
#include "rules_fixture.h"
#include "unit.h"

/* ===== rules_run_tests and policy_check ===== */

static char *run_tests(const struct ruleset *rs, int *rc)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	ck_assert_ptr_nonnull(f);
	*rc = rules_run_tests(rs, f);
	fclose(f);
	return out;
}

static const char *const tested_rules =
	"lists: {bad: [bad], mild: [mild]}\n"
	"modes: {window: {from: 2027-08-01, until: 2027-08-02}}\n"
	"rules:\n"
	"  - id: r.remove\n"
	"    when: text contains_any bad\n"
	"    action: remove\n"
	"    escalate: {queue: q1}\n"
	"  - {id: r.label, when: text contains_any mild, action: label}\n"
	"  - {id: r.shadow, shadow: true, when: reach > 5, action: remove}\n"
	"  - {id: r.window, modes: [window], when: reach > 100, action: demote}\n"
	"tests:\n"
	"  - name: bad is removed\n"
	"    event: {text: so bad, reach: 10}\n"
	"    expect: {action: remove, escalations: [q1], rules: [r.remove], shadow: [r.shadow]}\n"
	"  - name: inside the window\n"
	"    now: 2027-08-01T12:00Z\n"
	"    event: {reach: 1000}\n"
	"    expect: {action: demote, rules: [r.window]}\n"
	"  - name: created_at decides\n"
	"    now: 2027-09-01\n"
	"    event: {reach: 1000, created_at_ms: 1817078400000}\n"
	"    expect: {action: demote}\n"
	"  - name: nothing\n"
	"    event: {}\n"
	"    expect: {action: none, escalations: [], rules: [], shadow: []}\n";

START_TEST(run_tests_passing)
{
	struct loaded L;
	load_ok(&L, tested_rules, NULL);
	int rc;
	char *out = run_tests(L.rs, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(out, "4 test(s), 0 failed\n");
	free(out);
	teardown(&L);
}
END_TEST

START_TEST(run_tests_failing)
{
	char *text = NULL;
	ck_assert_int_ge(
		asprintf(&text,
			 "%s"
			 "  - name: mild is removed\n"
			 "    event: {text: mild}\n"
			 "    expect: {action: remove}\n"
			 "  - name: everything wrong\n"
			 "    event: {text: mild, reach: 10}\n"
			 "    expect: {action: label, escalations: [q1, q2], rules: [r.remove],"
			 " shadow: []}\n"
			 "  - name: outside the window\n"
			 "    now: 2027-08-02\n"
			 "    event: {reach: 1000}\n"
			 "    expect: {action: demote}\n",
			 tested_rules),
		0);
	struct loaded L;
	load_ok(&L, text, NULL);
	free(text);
	int rc;
	char *out = run_tests(L.rs, &rc);
	ck_assert_int_eq(rc, 3);
	char *want = NULL;
	ck_assert_int_ge(asprintf(&want,
				  "FAIL %s:26: mild is removed\n"
				  "    expected action remove, got label\n"
				  "FAIL %s:29: everything wrong\n"
				  "    expected escalations [q1, q2], got []\n"
				  "    expected matched rules [r.remove], got [r.label]\n"
				  "    expected shadow hits [], got [r.shadow]\n"
				  "FAIL %s:32: outside the window\n"
				  "    expected action demote, got none\n"
				  "7 test(s), 3 failed\n",
				  L.files[0], L.files[0], L.files[0]),
			 0);
	ck_assert_str_eq(out, want);
	free(want);
	free(out);
	teardown(&L);
}
END_TEST

START_TEST(tests_may_name_rules_of_other_files)
{
	struct loaded L;
	const char *texts[] = {
		"tests:\n"
		"  - name: uses b\n"
		"    event: {reach: 7}\n"
		"    expect: {rules: [b.rule]}\n",
		"rules:\n"
		"  - {id: b.rule, when: reach > 5, action: label}\n",
		NULL,
	};
	setup_files(&L, texts, NULL);
	compile_ok(&L);
	int rc;
	char *out = run_tests(L.rs, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(out, "1 test(s), 0 failed\n");
	free(out);
	teardown(&L);
}
END_TEST

START_TEST(check_config_reports)
{
	struct loaded L;
	load_ok(&L, tested_rules, NULL);
	char *out = NULL, *err = NULL;
	size_t ol = 0, el = 0;
	FILE *fo = open_memstream(&out, &ol), *fe = open_memstream(&err, &el);
	ck_assert_int_eq(policy_check(L.cfg_path, NULL, fo, fe), 0);
	fclose(fo);
	fclose(fe);
	char *want = NULL;
	/* Its rules act without statement fields: valid, with a warning each. */
	ck_assert_int_ge(asprintf(&want, "%s: ok (4 rule(s), ruleset %.12s; 3 warning(s))\n",
				  L.cfg_path, rules_version(L.rs)),
			 0);
	ck_assert_str_eq(out, want);
	int warnings = 0;
	for (const char *p = err; (p = strstr(p, ": warning: restricts content (")); p++)
		warnings++;
	ck_assert_int_eq(warnings, 3);
	free(out);
	free(err);
	free(want);

	free(unit_write_file(L.dir, "rules0.yaml",
			     "rules:\n"
			     "  - {id: a, when: lnag == sw, action: label}\n"
			     "  - {id: b, when: reach > 1, action: explode}\n"));
	fo = open_memstream(&out, &ol);
	fe = open_memstream(&err, &el);
	ck_assert_int_eq(policy_check(L.cfg_path, NULL, fo, fe), 1);
	fclose(fo);
	fclose(fe);
	ck_assert_str_eq(out, "");
	ck_assert_ptr_nonnull(strstr(err, "unknown field 'lnag'"));
	ck_assert_ptr_nonnull(strstr(err, "got \"explode\""));
	ck_assert_int_ge(asprintf(&want, "%s: 2 error(s)\n", L.cfg_path), 0);
	ck_assert_int_ge(strlen(err), strlen(want));
	ck_assert_str_eq(err + strlen(err) - strlen(want), want);
	free(want);
	free(out);
	free(err);
	teardown(&L);
}
END_TEST

static Suite *rules_tests_suite(void)
{
	Suite *s = suite_create("rules_tests");
	TCase *tc = tcase_create("tests");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, run_tests_passing);
	tcase_add_test(tc, run_tests_failing);
	tcase_add_test(tc, tests_may_name_rules_of_other_files);
	tcase_add_test(tc, check_config_reports);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(rules_tests_suite());
}
