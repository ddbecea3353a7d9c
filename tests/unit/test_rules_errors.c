/* Unit tests for the rules loader's errors: every mistake, positioned, all of them reported. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf, open_memstream */
#endif
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "dsa.h"
#include "normalise.h"
#include "policy.h"
#include "rules.h"
#include "rules_fixture.h"
#include "unit.h"

/* ===== compile errors ===== */

START_TEST(error_unknown_field)
{
	expect_one_error("rules:\n"
			 "  - id: r1\n"
			 "    when: lnag == sw\n"
			 "    action: remove\n",
			 3, 11, "r1", "unknown field 'lnag'; did you mean 'lang'?");
	/* Quoted: the column still points at the field. */
	expect_one_error("rules:\n"
			 "  - id: r1\n"
			 "    when: 'reach > 1 and lnag == sw'\n"
			 "    action: remove\n",
			 3, 26, "r1", "unknown field 'lnag'");
	/* On a continuation line of a plain scalar. */
	expect_one_error("rules:\n"
			 "  - id: r1\n"
			 "    when: reach > 1\n"
			 "      and lnag == sw\n"
			 "    action: remove\n",
			 4, 11, "r1", "unknown field 'lnag'");
	/* In a block scalar. */
	expect_one_error("rules:\n"
			 "  - id: r1\n"
			 "    when: |\n"
			 "      reach > 1 and\n"
			 "        lnag == sw\n"
			 "    action: remove\n",
			 5, 9, "r1", "unknown field 'lnag'");
}
END_TEST

START_TEST(error_syntax_is_positioned)
{
	expect_one_error("rules:\n"
			 "  - id: r1\n"
			 "    when: 'reach >= '\n"
			 "    action: remove\n",
			 3, 21, "r1", "expected a value after '>=', got end of condition");
	expect_one_error("rules:\n"
			 "  - {id: r1, when: text matches /a/x, action: remove}\n",
			 2, 36, "r1", "unknown regex flag 'x' (expected i, s or m)");
}
END_TEST

START_TEST(error_unknown_list)
{
	expect_one_error("rules:\n"
			 "  - id: r1\n"
			 "    when: text contains_any nolist\n"
			 "    action: remove\n",
			 3, 29, "r1", "unknown list 'nolist'");
	expect_one_error("rules:\n"
			 "  - id: r1\n"
			 "    when: lang in nolist\n"
			 "    action: remove\n",
			 3, 19, "r1", "unknown list 'nolist'");
	expect_one_error("rules:\n"
			 "  - id: r1\n"
			 "    when: media any_media_in nolist\n"
			 "    action: remove\n",
			 3, 30, "r1", "unknown list 'nolist'");
}
END_TEST

START_TEST(error_unknown_mode)
{
	expect_one_error("modes: {m1: {}}\n"
			 "rules:\n"
			 "  - id: r1\n"
			 "    modes: [m1, nomode]\n"
			 "    when: 'true'\n"
			 "    action: remove\n",
			 4, 17, "r1", "unknown mode \"nomode\"");
}
END_TEST

START_TEST(error_type_mismatch)
{
	expect_one_error("rules:\n  - id: r1\n    when: reach > \"x\"\n    action: remove\n", 3, 19,
			 "r1", "reach is a number: compare it with a number");
	expect_one_error("rules:\n  - id: r1\n    when: created_at > x\n    action: remove\n", 3,
			 24, "r1", "created_at is a number: compare it with a number or a date");
	expect_one_error("rules:\n  - id: r1\n    when: lang == 5\n    action: remove\n", 3, 19,
			 "r1", "lang is a string: compare it with a string such as \"x\"");
	expect_one_error("rules:\n  - id: r1\n    when: signal.x == high\n    action: remove\n", 3,
			 23, "r1", "signal is a number: compare it with a number");
	expect_one_error("rules:\n  - id: r1\n    when: lang < x\n    action: remove\n", 3, 11,
			 "r1", "lang is a string: only == and != compare it");
	expect_one_error("rules:\n  - id: r1\n    when: attr.a >= 1\n    action: remove\n", 3, 11,
			 "r1", "attr is a string: only == and != compare it");
	expect_one_error("rules:\n  - id: r1\n    when: reach > 1 and reach in [a]\n"
			 "    action: remove\n",
			 3, 25, "r1", "reach is a number: compare it with a number");
	expect_one_error("lists: {l: [a]}\n"
			 "rules:\n  - id: r1\n    when: reach in l\n    action: remove\n",
			 4, 20, "r1", "reach is a number: 'in LIST' needs a string field");
	expect_one_error("rules:\n  - id: r1\n    when: media == x\n    action: remove\n", 3, 11,
			 "r1", "media takes any_media_in LIST");
	expect_one_error("rules:\n  - id: r1\n    when: surface == blog\n    action: remove\n", 3,
			 22, "r1",
			 "unknown surface \"blog\" (expected one of post, comment, ad, message, "
			 "profile, story, livestream, marketplace, group)");
	expect_one_error("rules:\n  - id: r1\n    when: content_type == gif\n    action: remove\n",
			 3, 27, "r1",
			 "unknown content_type \"gif\" (expected one of text, image, video, audio, "
			 "link, synthetic_media, other)");
	expect_one_error("lists: {h: {kind: hashes, terms: [" SHA_A "]}}\n"
			 "rules:\n  - id: r1\n    when: text contains_any h\n    action: remove\n",
			 4, 29, "r1", "list 'h' holds media hashes: contains_any needs terms");
	expect_one_error("lists: {t: [a]}\n"
			 "rules:\n  - id: r1\n    when: media any_media_in t\n    action: remove\n",
			 4, 30, "r1",
			 "list 't' holds terms: any_media_in needs a list of kind hashes");
}
END_TEST

/* An unknown enum name inside a literal list points at that name. */
START_TEST(error_unknown_enum_in_list_points_at_it)
{
	expect_one_error("rules:\n  - id: r1\n    when: surface in [post, blog]\n"
			 "    action: remove\n",
			 3, 29, "r1", "unknown surface \"blog\"");
}
END_TEST

START_TEST(error_bad_regex)
{
	expect_one_error("rules:\n  - id: r1\n    when: text matches /a(/\n    action: remove\n", 3,
			 24, "r1", "bad regex: ");
	expect_one_error("rules:\n  - id: r1\n    when: reach > 1 or text matches \"[z-a]\"\n"
			 "    action: remove\n",
			 3, 37, "r1", "bad regex: ");
	expect_one_error("rules:\n  - id: r1\n    when: text matches /\\bword\\b/\n"
			 "    action: remove\n",
			 3, 24, "r1", "bad regex: \\b unsupported in UCP mode");
}
END_TEST

START_TEST(error_duplicate_rule_id)
{
	struct loaded L;
	struct diag_list errs = {0};
	const char *texts[] = {"rules:\n"
			       "  - id: r1\n"
			       "    when: 'true'\n"
			       "    action: label\n"
			       "  - id: r1\n"
			       "    when: 'false'\n"
			       "    action: remove\n",
			       NULL};
	load_fail(&L, texts, NULL, &errs);
	ck_assert_uint_eq(errs.n, 1);
	char *msg = NULL;
	ck_assert_int_ge(
		asprintf(&msg, "duplicate rule id 'r1' (first defined at %s:2)", L.files[0]), 0);
	unit_check_error(&errs, 0, L.files[0], 5, 9, "r1", msg);
	free(msg);
	diag_clear(&errs);
	teardown(&L);

	/* Across files. */
	const char *two[] = {"rules:\n  - {id: r1, when: 'true', action: label}\n",
			     "rules:\n  - {id: r0, when: 'true', action: label}\n"
			     "  - {id: r1, when: 'true', action: label}\n",
			     NULL};
	load_fail(&L, two, NULL, &errs);
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_int_ge(
		asprintf(&msg, "duplicate rule id 'r1' (first defined at %s:2)", L.files[0]), 0);
	unit_check_error(&errs, 0, L.files[1], 3, 10, "r1", msg);
	free(msg);
	diag_clear(&errs);
	teardown(&L);
}
END_TEST

START_TEST(error_duplicate_list_and_mode)
{
	struct loaded L;
	struct diag_list errs = {0};
	const char *texts[] = {"lists:\n  words: [a]\nmodes:\n  m: {}\n",
			       "modes:\n  m: {}\nlists:\n  other: [c]\n  words: [b]\n", NULL};
	load_fail(&L, texts, NULL, &errs);
	ck_assert_uint_eq(errs.n, 2);
	char *msg = NULL;
	/* Lists of every file come before modes of that file. */
	ck_assert_int_ge(asprintf(&msg, "list 'words' is already defined at %s:2:3", L.files[0]),
			 0);
	unit_check_error(&errs, 0, L.files[1], 5, 3, "lists.words", msg);
	free(msg);
	ck_assert_int_ge(asprintf(&msg, "mode 'm' is already defined at %s:4:3", L.files[0]), 0);
	unit_check_error(&errs, 1, L.files[1], 2, 3, "modes.m", msg);
	free(msg);
	diag_clear(&errs);
	teardown(&L);
}
END_TEST

START_TEST(error_bad_action)
{
	static const char *const names =
		"expected an action (none, label, demote, age_restrict, demonetize, geo_block, "
		"remove, suspend_account, terminate_account), got ";
	char *msg = NULL;
	ck_assert_int_ge(asprintf(&msg, "%s\"explode\"", names), 0);
	expect_one_error("rules:\n  - id: r1\n    when: 'true'\n    action: explode\n", 4, 13, "r1",
			 msg);
	free(msg);
	ck_assert_int_ge(asprintf(&msg, "%s\"restore\"", names), 0);
	expect_one_error("rules:\n  - id: r1\n    when: 'true'\n    action: restore\n", 4, 13, "r1",
			 msg);
	free(msg);
	ck_assert_int_ge(asprintf(&msg, "%s\"ACTION_UNSPECIFIED\"", names), 0);
	expect_one_error("rules:\n  - id: r1\n    when: 'true'\n    action: ACTION_UNSPECIFIED\n",
			 4, 13, "r1", msg);
	free(msg);
	expect_one_error("rules:\n  - id: r1\n    when: 'true'\n    action: [remove]\n", 4, 13,
			 "r1", "got a sequence");
}
END_TEST

START_TEST(error_bad_escalate)
{
	expect_one_error("rules:\n  - id: r1\n    when: 'true'\n"
			 "    escalate: {queue: q, band: asap}\n",
			 4, 32, "r1", "expected a band: urgent, high, normal or low, got \"asap\"");
	expect_one_error(
		"rules:\n  - id: r1\n    when: 'true'\n"
		"    escalate: {queue: q, sla: soon}\n",
		4, 31, "r1",
		"expected an SLA with a unit, such as 30m, 4h or 2d (1s to 365d), got \"soon\"");
	expect_one_error(
		"rules:\n  - id: r1\n    when: 'true'\n"
		"    escalate: {queue: q, sla: 500ms}\n",
		4, 31, "r1",
		"expected an SLA with a unit, such as 30m, 4h or 2d (1s to 365d), got \"500ms\"");
	expect_one_error(
		"rules:\n  - id: r1\n    when: 'true'\n"
		"    escalate: {queue: q, sla: 3600}\n",
		4, 31, "r1",
		"expected an SLA with a unit, such as 30m, 4h or 2d (1s to 365d), got 3600");
	expect_one_error("rules:\n  - id: r1\n    when: 'true'\n"
			 "    escalate: {queue: q, sla: 366d}\n",
			 4, 31, "r1", "got \"366d\"");
	expect_one_error("rules:\n  - id: r1\n    when: 'true'\n"
			 "    escalate: {queue: q, monitors: maybe}\n",
			 4, 36, "r1", "expected true or false, got \"maybe\"");
	expect_one_error("rules:\n  - id: r1\n    when: 'true'\n"
			 "    escalate: {band: high}\n",
			 4, 15, "r1", "escalate needs a queue");
}
END_TEST

/* A malformed escalate is one mistake: it must not also count as a rule that
 * neither acts nor escalates (a malformed action does not either). */
START_TEST(error_bad_escalate_is_not_cascaded)
{
	expect_one_error("rules:\n  - id: r1\n    when: 'true'\n"
			 "    escalate: urgent\n",
			 4, 15, "r1", "expected {queue: NAME, band: urgent|high|normal|low");
	expect_one_error("rules:\n  - id: r1\n    when: 'true'\n"
			 "    action: explode\n",
			 4, 13, "r1", "expected an action");
}
END_TEST

START_TEST(error_bad_category_and_ground)
{
	expect_one_error("rules:\n  - id: r1\n    when: 'true'\n    action: label\n"
			 "    category: VIOLENCE\n",
			 5, 15, "r1",
			 "expected a DSA category such as STATEMENT_CATEGORY_VIOLENCE "
			 "(docs/rules.md lists them), got \"VIOLENCE\"");
	expect_one_error("rules:\n  - id: r1\n    when: 'true'\n    action: label\n"
			 "    ground: LEGAL\n",
			 5, 13, "r1",
			 "expected ILLEGAL_CONTENT or INCOMPATIBLE_CONTENT, got \"LEGAL\"");
	expect_one_error("rules:\n  - id: r1\n    when: 'true'\n    action: label\n"
			 "    shadow: yes\n",
			 5, 13, "r1", "expected true or false, got \"yes\"");
}
END_TEST

START_TEST(error_rule_that_does_nothing)
{
	expect_one_error("rules:\n"
			 "  - id: r1\n"
			 "    when: 'true'\n"
			 "    description: forgot the action\n",
			 2, 5, "r1",
			 "rule 'r1' neither acts nor escalates: give it an action, an escalate, or "
			 "mark it shadow");
}
END_TEST

START_TEST(error_unknown_keys)
{
	expect_one_error("rules:\n"
			 "  - id: r1\n"
			 "    when: 'true'\n"
			 "    action: label\n"
			 "    descripton: typo\n",
			 5, 5, "descripton",
			 "unknown key 'descripton' in a rule; did you mean 'description'?");
	expect_one_error("rule:\n  - id: r1\n", 1, 1, "rule",
			 "unknown key 'rule' in a rule file; did you mean 'rules'?");
	expect_one_error("rules:\n"
			 "  - id: r1\n"
			 "    when: 'true'\n"
			 "    escalate: {queue: q, monitor: true}\n",
			 4, 26, "monitor",
			 "unknown key 'monitor' in escalate; did you mean 'monitors'?");
	expect_one_error("modes:\n  m: {countrys: [KE]}\n", 2, 7, "countrys",
			 "unknown key 'countrys' in a mode; did you mean 'countries'?");
	/* Far from every key: no suggestion. */
	struct loaded L;
	struct diag_list errs = {0};
	const char *texts[] = {"rules:\n"
			       "  - id: r1\n"
			       "    when: 'true'\n"
			       "    action: label\n"
			       "    colour: red\n",
			       NULL};
	load_fail(&L, texts, NULL, &errs);
	ck_assert_uint_eq(errs.n, 1);
	unit_check_error(&errs, 0, L.files[0], 5, 5, "colour", "unknown key 'colour' in a rule");
	ck_assert_ptr_null(strstr(errs.v[0].msg, "did you mean"));
	diag_clear(&errs);
	teardown(&L);
}
END_TEST

START_TEST(error_missing_when_or_id)
{
	expect_one_error("rules:\n"
			 "  - id: r1\n"
			 "    action: label\n",
			 2, 5, "r1", "every rule needs a when: condition");
	expect_one_error("rules:\n"
			 "  - action: label\n"
			 "    when: 'true'\n",
			 2, 5, "rules", "every rule needs an id");
	expect_one_error("rules:\n"
			 "  - id: 'bad id!'\n"
			 "    when: 'true'\n"
			 "    action: label\n",
			 2, 9, "bad id!", "rule ids use letters, digits, '.', '_' and '-' only");
	expect_one_error("rules:\n"
			 "  - id: r1\n"
			 "    when: ''\n"
			 "    action: label\n",
			 3, 12, "r1", "empty condition");
}
END_TEST

START_TEST(error_bad_test_event)
{
	expect_one_error("rules:\n"
			 "  - {id: r1, when: 'true', action: label}\n"
			 "tests:\n"
			 "  - name: t1\n"
			 "    event: {lang: sw, bogus: 1}\n"
			 "    expect: {action: label}\n",
			 5, 12, "t1", "event: unknown field 'bogus'");
	expect_one_error("rules:\n"
			 "  - {id: r1, when: 'true', action: label}\n"
			 "tests:\n"
			 "  - name: t1\n"
			 "    event: {surface: BLOG}\n"
			 "    expect: {action: label}\n",
			 5, 12, "t1", "event: field 'surface'");
	expect_one_error("rules:\n"
			 "  - {id: r1, when: 'true', action: label}\n"
			 "tests:\n"
			 "  - name: t1\n"
			 "    expect: {action: label}\n",
			 4, 5, "t1", "a test needs event: a mapping with the ContentEvent fields");
	expect_one_error("rules:\n"
			 "  - {id: r1, when: 'true', action: label}\n"
			 "tests:\n"
			 "  - name: t1\n"
			 "    event: {}\n",
			 4, 5, "t1", "a test needs expect: {action, escalations, rules, shadow}");
	expect_one_error("rules:\n"
			 "  - {id: r1, when: 'true', action: label}\n"
			 "tests:\n"
			 "  - name: t1\n"
			 "    event: {}\n"
			 "    expect: {action: smite}\n",
			 6, 22, "t1", "expected an action, got \"smite\"");
}
END_TEST

START_TEST(error_expect_names_unknown_rule)
{
	struct loaded L;
	struct diag_list errs = {0};
	const char *texts[] = {"rules:\n"
			       "  - {id: r1, when: 'true', action: label}\n"
			       "tests:\n"
			       "  - name: t1\n"
			       "    event: {}\n"
			       "    expect: {rules: [r1, nope], shadow: [nope2]}\n",
			       NULL};
	load_fail(&L, texts, NULL, &errs);
	ck_assert_uint_eq(errs.n, 2);
	unit_check_error(&errs, 0, L.files[0], 4, 5, "t1", "expect names unknown rule 'nope'");
	unit_check_error(&errs, 1, L.files[0], 4, 5, "t1", "expect names unknown rule 'nope2'");
	diag_clear(&errs);
	teardown(&L);
}
END_TEST

START_TEST(error_list_problems)
{
	struct loaded L;
	struct diag_list errs = {0};
	const char *texts[] = {"lists:\n  l: {file: missing.txt}\n", NULL};
	load_fail(&L, texts, NULL, &errs);
	ck_assert_uint_eq(errs.n, 1);
	char *msg = NULL;
	ck_assert_int_ge(
		asprintf(&msg,
			 "cannot read list file \"%s/missing.txt\": No such file or directory",
			 L.dir),
		0);
	unit_check_error(&errs, 0, L.files[0], 2, 13, "lists.l", msg);
	free(msg);
	diag_clear(&errs);
	teardown(&L);

	/* A bad digest in a list file points into the list file. */
	memset(&L, 0, sizeof(L));
	L.dir = unit_make_dir();
	char *hashes = unit_write_file(L.dir, "h.txt", "# digests\n" SHA_A "\nnot-hex\n");
	L.files[L.n_files++] =
		unit_write_file(L.dir, "rules0.yaml", "lists:\n  h: {kind: hashes, file: h.txt}\n");
	L.cfg_path = write_config(L.dir, L.files, L.n_files, NULL);
	L.cfg = load_config(L.cfg_path);
	struct ruleset *rs = NULL;
	ck_assert_int_eq(rules_load(L.cfg, &rs, &errs), -EINVAL);
	ck_assert_uint_eq(errs.n, 1);
	unit_check_error(&errs, 0, hashes, 3, 1, "lists.h",
			 "expected a hex digest, got \"not-hex\"");
	diag_clear(&errs);
	free(hashes);
	teardown(&L);

	expect_one_error("lists:\n  l: [ok, \"\u200B\"]\n", 2, 11, "lists.l",
			 "term \"\u200B\" is empty once normalised");
	expect_one_error("lists:\n  l: {kind: words, terms: [a]}\n", 2, 13, "lists.l",
			 "expected kind terms or hashes, got \"words\"");
	expect_one_error("lists:\n  l: {kind: terms}\n", 2, 3, "lists.l",
			 "a list needs file: or terms:");
	expect_one_error("lists:\n  l: oops\n", 2, 6, "lists.l",
			 "expected a list of terms, {file: PATH} or {terms: [...]}, got \"oops\"");
}
END_TEST

START_TEST(error_mode_problems)
{
	expect_one_error(
		"modes:\n  m: {from: 2027-13-01}\n", 2, 13, "modes.m",
		"expected a date such as 2027-08-01 or 2027-08-01T06:00Z, got \"2027-13-01\"");
	expect_one_error("modes:\n  m: {from: 2027-08-20, until: 2027-08-01}\n", 2, 3, "modes.m",
			 "until must be after from");
	expect_one_error("modes:\n  m: {countries: [KE, KEN]}\n", 2, 23, "modes.m",
			 "expected an ISO 3166-1 alpha-2 code such as KE, got \"KEN\"");
	expect_one_error("modes:\n  m: {enabled: sometimes}\n", 2, 16, "modes.m",
			 "expected true or false, got \"sometimes\"");
}
END_TEST

START_TEST(error_config_names_unknown_mode)
{
	struct loaded L;
	struct diag_list errs = {0};
	const char *texts[] = {"modes: {m: {}}\n", NULL};
	load_fail(&L, texts, "m: on, nomode: on", &errs);
	ck_assert_uint_eq(errs.n, 1);
	unit_check_error(&errs, 0, L.cfg_path, 0, 0, "rules.modes.nomode",
			 "no rule file declares a mode named 'nomode'");
	diag_clear(&errs);
	teardown(&L);
}
END_TEST

START_TEST(error_normalise_must_agree)
{
	struct loaded L;
	struct diag_list errs = {0};
	const char *texts[] = {"normalise: {fold: [leet]}\n", "normalise: {fold: [homoglyphs]}\n",
			       NULL};
	load_fail(&L, texts, NULL, &errs);
	ck_assert_uint_eq(errs.n, 1);
	unit_check_error(&errs, 0, L.files[1], 1, 12, "normalise",
			 "every rule file must normalise the same way");
	diag_clear(&errs);
	teardown(&L);
	expect_one_error("normalise: {fold: [leet, capitals]}\n", 1, 26, "normalise.fold",
			 "expected leet or homoglyphs, got \"capitals\"");
}
END_TEST

START_TEST(every_error_of_a_file_is_reported)
{
	struct loaded L;
	struct diag_list errs = {0};
	const char *texts[] = {"lists:\n"                               /* 1 */
			       "  words: [hate]\n"                      /* 2 */
			       "modes:\n"                               /* 3 */
			       "  m1: {countries: [KE]}\n"              /* 4 */
			       "rules:\n"                               /* 5 */
			       "  - id: a\n"                            /* 6 */
			       "    when: lnag == sw\n"                 /* 7 */
			       "    action: remove\n"                   /* 8 */
			       "  - id: b\n"                            /* 9 */
			       "    when: text contains_any nowords\n"  /* 10 */
			       "    action: label\n"                    /* 11 */
			       "  - id: c\n"                            /* 12 */
			       "    when: reach > \"x\" or lang < y\n"  /* 13 */
			       "    action: bogus\n"                    /* 14 */
			       "  - id: a\n"                            /* 15 */
			       "    when: 'true'\n"                     /* 16 */
			       "    action: label\n"                    /* 17 */
			       "  - id: d\n"                            /* 18 */
			       "    modes: [m2]\n"                      /* 19 */
			       "    when: text matches /a(/\n"          /* 20 */
			       "    escalate: {queue: q, band: asap}\n" /* 21 */
			       "tests:\n"                               /* 22 */
			       "  - name: t\n"                          /* 23 */
			       "    event: {lang: sw}\n"                /* 24 */
			       "    expect: {rules: [zz]}\n",           /* 25 */
			       NULL};
	load_fail(&L, texts, NULL, &errs);
	if (errs.n != 10)
		diag_print(&errs, stderr);
	ck_assert_uint_eq(errs.n, 10);
	const char *f = L.files[0];
	unit_check_error(&errs, 0, f, 7, 11, "a", "unknown field 'lnag'");
	unit_check_error(&errs, 1, f, 10, 29, "b", "unknown list 'nowords'");
	unit_check_error(&errs, 2, f, 14, 13, "c", "expected an action");
	unit_check_error(&errs, 3, f, 13, 19, "c", "reach is a number");
	unit_check_error(&errs, 4, f, 13, 26, "c", "lang is a string: only == and !=");
	unit_check_error(&errs, 5, f, 15, 9, "a", "duplicate rule id 'a'");
	unit_check_error(&errs, 6, f, 21, 32, "d", "expected a band");
	unit_check_error(&errs, 7, f, 19, 13, "d", "unknown mode \"m2\"");
	unit_check_error(&errs, 8, f, 20, 24, "d", "bad regex");
	unit_check_error(&errs, 9, f, 23, 5, "t", "expect names unknown rule 'zz'");
	diag_clear(&errs);
	teardown(&L);
}
END_TEST

START_TEST(errors_of_several_files_are_all_reported)
{
	struct loaded L;
	struct diag_list errs = {0};
	const char *texts[] = {"rules:\n  - {id: a, when: lnag == x, action: label}\n",
			       "rules:\n  - {id: b, when: reach > 1, action: smite}\n",
			       "rules: {not: a list}\n", NULL};
	load_fail(&L, texts, NULL, &errs);
	ck_assert_uint_eq(errs.n, 3);
	unit_check_error(&errs, 0, L.files[0], 2, 19, "a", "unknown field 'lnag'");
	unit_check_error(&errs, 1, L.files[1], 2, 38, "b", "got \"smite\"");
	unit_check_error(&errs, 2, L.files[2], 1, 8, "rules", "expected a list, got a mapping");
	diag_clear(&errs);
	teardown(&L);
}
END_TEST

/* A rule that restricts content without what its statement of reasons
 * needs is loaded, and named in a warning. */
START_TEST(restricting_rules_without_a_statement_are_warned)
{
	struct loaded L;
	load_ok(&L,
		"rules:\n"
		"  - {id: full, description: d, when: signal.a > 0, action: remove,\n"
		"     category: STATEMENT_CATEGORY_VIOLENCE, legal_ground: Terms 2}\n"
		"  - {id: bare, when: signal.b > 0, action: demote}\n"
		"  - {id: nolaw, description: d, when: signal.c > 0, action: label,\n"
		"     category: STATEMENT_CATEGORY_VIOLENCE}\n"
		"  - {id: trial, shadow: true, when: signal.d > 0, action: remove}\n",
		NULL);
	struct diag_list w = {0};
	struct policy *p = NULL;
	ck_assert_int_eq(policy_load(L.cfg_path, &p, &w), 0);
	ck_assert_uint_eq(w.n_errors, 0);
	ck_assert_uint_eq(w.n, 2);
	ck_assert_int_eq(w.v[0].severity, DIAG_WARNING);
	ck_assert_str_eq(w.v[0].key, "bare");
	ck_assert_int_eq(w.v[0].line, 4);
	ck_assert_msg(strstr(w.v[0].msg, "restricts content (DEMOTE) without category, "
					 "legal_ground or description"),
		      "%s", w.v[0].msg);
	ck_assert_str_eq(w.v[1].key, "nolaw");
	ck_assert_msg(strstr(w.v[1].msg, "without legal_ground: "), "%s", w.v[1].msg);
	diag_clear(&w);
	policy_free(p);
	teardown(&L);

	/* The shipped rules give every restriction its statement. */
	ck_assert_int_eq(policy_load(TEST_CONFIGDIR "/arbiter.yaml", &p, &w), 0);
	ck_assert_uint_eq(w.n, 0);
	policy_free(p);
}
END_TEST

static Suite *rules_errors_suite(void)
{
	Suite *s = suite_create("rules_errors");
	TCase *tc = tcase_create("errors");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, error_unknown_field);
	tcase_add_test(tc, error_syntax_is_positioned);
	tcase_add_test(tc, error_unknown_list);
	tcase_add_test(tc, error_unknown_mode);
	tcase_add_test(tc, error_type_mismatch);
	tcase_add_test(tc, error_unknown_enum_in_list_points_at_it);
	tcase_add_test(tc, error_bad_regex);
	tcase_add_test(tc, error_duplicate_rule_id);
	tcase_add_test(tc, error_duplicate_list_and_mode);
	tcase_add_test(tc, error_bad_action);
	tcase_add_test(tc, error_bad_escalate);
	tcase_add_test(tc, error_bad_escalate_is_not_cascaded);
	tcase_add_test(tc, error_bad_category_and_ground);
	tcase_add_test(tc, error_rule_that_does_nothing);
	tcase_add_test(tc, error_unknown_keys);
	tcase_add_test(tc, error_missing_when_or_id);
	tcase_add_test(tc, error_bad_test_event);
	tcase_add_test(tc, error_expect_names_unknown_rule);
	tcase_add_test(tc, error_list_problems);
	tcase_add_test(tc, error_mode_problems);
	tcase_add_test(tc, error_config_names_unknown_mode);
	tcase_add_test(tc, error_normalise_must_agree);
	tcase_add_test(tc, every_error_of_a_file_is_reported);
	tcase_add_test(tc, errors_of_several_files_are_all_reported);
	tcase_add_test(tc, restricting_rules_without_a_statement_are_warned);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(rules_errors_suite());
}
