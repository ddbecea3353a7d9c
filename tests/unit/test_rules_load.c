/* Unit tests for rulesets as loaded: rule fields, versions, reloads and independent contexts. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf, open_memstream */
#endif
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "rules.h"
#include "rules_fixture.h"
#include "unit.h"

START_TEST(rule_fields_are_exposed)
{
	struct loaded L;
	load_ok(&L,
		"lists:\n"
		"  incitement_sw: [placeholder-one]\n"
		"rules:\n"
		"  - id: incitement.sw\n"
		"    description: Calls to violence in Swahili\n"
		"    when: lang == \"sw\" and text contains_any incitement_sw and signal.violence >= 0.5\n"
		"    action: REMOVE\n"
		"    escalate: {queue: incitement, band: Urgent, sla: 1h}\n"
		"    category: STATEMENT_CATEGORY_VIOLENCE\n"
		"    ground: illegal_content\n"
		"    legal_ground: \"Penal Code s. 96\"\n"
		"  - id: minimal\n"
		"    when: true\n"
		"    action: label\n",
		NULL);
	ck_assert_uint_eq(rules_count(L.rs), 2);
	const struct rules_rule *r = rules_rule(L.rs, 0);
	ck_assert_str_eq(r->id, "incitement.sw");
	ck_assert_str_eq(r->description, "Calls to violence in Swahili");
	ck_assert_str_eq(r->file, L.files[0]);
	ck_assert_int_eq(r->line, 4);
	ck_assert_int_eq(r->action, ARBITER__V1__ACTION__REMOVE);
	ck_assert_str_eq(r->category, "STATEMENT_CATEGORY_VIOLENCE");
	ck_assert_int_eq(r->ground, ARBITER__V1__GROUND__ILLEGAL_CONTENT);
	ck_assert_str_eq(r->legal_ground, "Penal Code s. 96");
	ck_assert(!r->shadow);
	ck_assert(r->has_escalate);
	ck_assert_str_eq(r->escalate.queue, "incitement");
	ck_assert_int_eq(r->escalate.band, ARBITER__V1__BAND__URGENT);
	ck_assert_uint_eq(r->escalate.sla_s, 3600);
	ck_assert(!r->escalate.monitors);
	r = rules_rule(L.rs, 1);
	ck_assert_str_eq(r->id, "minimal");
	ck_assert_int_eq(r->line, 12);
	ck_assert_ptr_null(r->description);
	ck_assert_ptr_null(r->category);
	ck_assert_ptr_null(r->legal_ground);
	ck_assert_int_eq(r->ground, ARBITER__V1__GROUND__INCOMPATIBLE_CONTENT);
	ck_assert(!r->has_escalate);
	ck_assert_uint_gt(rules_memory(L.rs), 0);
	expect_matched(&L, "{'lang':'sw-KE','text':'PLACEHOLDER-ONE!','signals':{'violence':0.5}}",
		       0, "incitement.sw,minimal");
	expect_matched(&L, "{'lang':'sw','text':'placeholder-one','signals':{'violence':0.25}}", 0,
		       "minimal");
	teardown(&L);
}
END_TEST

START_TEST(no_rule_files_give_an_empty_ruleset)
{
	struct loaded L;
	const char *none[] = {NULL};
	setup_files(&L, none, NULL);
	compile_ok(&L);
	ck_assert_uint_eq(rules_count(L.rs), 0);
	ck_assert_uint_eq(strlen(rules_version(L.rs)), 64);
	const struct rules_verdict *v = eval(&L, "{'text':'anything','reach':5}");
	ck_assert_uint_eq(v->n_matched, 0);
	ck_assert_uint_eq(v->n_shadow, 0);
	ck_assert_int_eq(v->action, ARBITER__V1__ACTION__NONE);
	ck_assert_int_eq(v->action_rule, -1);
	teardown(&L);
}
END_TEST

/* ===== version ===== */

START_TEST(version_follows_the_files)
{
	struct loaded L;
	memset(&L, 0, sizeof(L));
	L.dir = unit_make_dir();
	char *list = unit_write_file(L.dir, "words.txt", "alpha\n");
	L.files[L.n_files++] =
		unit_write_file(L.dir, "rules0.yaml",
				"lists: {w: {file: words.txt}}\n"
				"rules:\n"
				"  - {id: w, when: text contains_any w, action: label}\n");
	L.cfg_path = write_config(L.dir, L.files, L.n_files, NULL);
	L.cfg = load_config(L.cfg_path);
	compile_ok(&L);
	/* Rule files, then list files, for watching. */
	const char *const *files = NULL;
	ck_assert_uint_eq(rules_files(L.rs, &files), 2);
	ck_assert_str_eq(files[0], L.files[0]);
	ck_assert_str_eq(files[1], list);
	char v1[65];
	ck_assert_uint_eq(strlen(rules_version(L.rs)), 64);
	ck_assert_uint_eq(strspn(rules_version(L.rs), "0123456789abcdef"), 64);
	snprintf(v1, sizeof(v1), "%s", rules_version(L.rs));

	/* Same files: same version. */
	struct ruleset *again = NULL;
	struct diag_list errs = {0};
	ck_assert_int_eq(rules_load(L.cfg, &again, &errs), 0);
	ck_assert_str_eq(rules_version(again), v1);
	rules_free(again);

	/* A changed list file: another version. */
	free(unit_write_file(L.dir, "words.txt", "alpha\nbeta\n"));
	ck_assert_int_eq(rules_load(L.cfg, &again, &errs), 0);
	ck_assert_str_ne(rules_version(again), v1);
	rules_free(again);

	/* A changed rule file: another version. */
	free(unit_write_file(L.dir, "words.txt", "alpha\n"));
	free(unit_write_file(L.dir, "rules0.yaml",
			     "lists: {w: {file: words.txt}}\n"
			     "rules:\n"
			     "  - {id: w, when: text contains_any w, action: remove}\n"));
	ck_assert_int_eq(rules_load(L.cfg, &again, &errs), 0);
	ck_assert_str_ne(rules_version(again), v1);
	rules_free(again);

	/* Back to the original contents: the original version. */
	free(unit_write_file(L.dir, "rules0.yaml",
			     "lists: {w: {file: words.txt}}\n"
			     "rules:\n"
			     "  - {id: w, when: text contains_any w, action: label}\n"));
	ck_assert_int_eq(rules_load(L.cfg, &again, &errs), 0);
	ck_assert_str_eq(rules_version(again), v1);
	rules_free(again);
	ck_assert_uint_eq(errs.n, 0);
	free(list);
	teardown(&L);
}
END_TEST

/* The version covers what decides verdicts: file names and contents and
 * the mode switches, not the directory the files were read from. */
START_TEST(version_covers_mode_switches_not_directories)
{
	const char *text = "modes: {m: {enabled: false}}\n"
			   "rules:\n"
			   "  - {id: r, modes: [m], when: 'true', action: label}\n";
	struct loaded a, b, on, off;
	load_ok(&a, text, NULL);
	load_ok(&b, text, NULL);
	ck_assert_str_ne(a.dir, b.dir);
	ck_assert_str_eq(rules_version(a.rs), rules_version(b.rs));
	load_ok(&on, text, "m: on");
	load_ok(&off, text, "m: off");
	ck_assert_str_ne(rules_version(on.rs), rules_version(a.rs));
	ck_assert_str_ne(rules_version(on.rs), rules_version(off.rs));
	expect_matched(&on, "{}", 0, "r");
	expect_matched(&off, "{}", 0, "");
	teardown(&a);
	teardown(&b);
	teardown(&on);
	teardown(&off);
}
END_TEST

/* ===== reload ===== */

START_TEST(reload_gives_independent_rulesets)
{
	struct loaded A;
	memset(&A, 0, sizeof(A));
	A.dir = unit_make_dir();
	char *list = unit_write_file(A.dir, "words.txt", "alpha\n");
	A.files[A.n_files++] =
		unit_write_file(A.dir, "rules0.yaml",
				"lists: {w: {file: words.txt}}\n"
				"rules:\n"
				"  - {id: w, when: text contains_any w, action: label}\n");
	A.cfg_path = write_config(A.dir, A.files, A.n_files, NULL);
	A.cfg = load_config(A.cfg_path);
	compile_ok(&A);
	char va[65];
	snprintf(va, sizeof(va), "%s", rules_version(A.rs));

	/* The files change; B is compiled from them while A keeps running. */
	free(unit_write_file(A.dir, "words.txt", "beta\n"));
	free(unit_write_file(A.dir, "rules0.yaml",
			     "lists: {w: {file: words.txt}}\n"
			     "rules:\n"
			     "  - {id: w2, when: text contains_any w, action: remove}\n"
			     "  - {id: big, when: reach > 5, action: demote}\n"));
	struct diag_list errs = {0};
	struct ruleset *b = NULL;
	ck_assert_int_eq(rules_load(A.cfg, &b, &errs), 0);
	struct rules_ctx *cb = rules_ctx_new(b);
	ck_assert_ptr_nonnull(cb);
	ck_assert_str_ne(rules_version(b), va);

	for (int round = 0; round < 2; round++) {
		Arbiter__V1__ContentEvent *alpha = event("{'text':'alpha','reach':10}");
		Arbiter__V1__ContentEvent *beta = event("{'text':'beta'}");
		const struct rules_verdict *v = rules_eval(A.ctx, alpha, 0);
		ck_assert_int_eq(v->action, ARBITER__V1__ACTION__LABEL);
		ck_assert_str_eq(id_of(A.rs, v->action_rule), "w");
		v = rules_eval(cb, alpha, 0);
		ck_assert_int_eq(v->action, ARBITER__V1__ACTION__DEMOTE);
		ck_assert_str_eq(id_of(b, v->action_rule), "big");
		v = rules_eval(A.ctx, beta, 0);
		ck_assert_int_eq(v->action, ARBITER__V1__ACTION__NONE);
		v = rules_eval(cb, beta, 0);
		ck_assert_int_eq(v->action, ARBITER__V1__ACTION__REMOVE);
		ck_assert_str_eq(id_of(b, v->action_rule), "w2");
		event_free(alpha);
		event_free(beta);
	}
	ck_assert_str_eq(rules_version(A.rs), va);

	/* A bad edit is rejected; the running rulesets are untouched. */
	free(unit_write_file(A.dir, "rules0.yaml",
			     "lists: {w: {file: words.txt}}\n"
			     "rules:\n"
			     "  - {id: w3, when: text contains_any nowhere, action: remove}\n"));
	struct ruleset *c = (struct ruleset *)&errs;
	ck_assert_int_eq(rules_load(A.cfg, &c, &errs), -EINVAL);
	ck_assert_ptr_null(c);
	ck_assert_uint_eq(errs.n, 1);
	diag_clear(&errs);
	/* A missing rule file too. */
	ck_assert_int_eq(unlink(A.files[0]), 0);
	c = (struct ruleset *)&errs;
	ck_assert_int_eq(rules_load(A.cfg, &c, &errs), -EINVAL);
	ck_assert_ptr_null(c);
	unit_check_error(&errs, 0, A.files[0], 0, 0, NULL,
			 "cannot read the rule file: No such file or directory");
	diag_clear(&errs);

	/* Retiring A leaves B working. */
	rules_ctx_free(A.ctx);
	A.ctx = NULL;
	rules_free(A.rs);
	A.rs = NULL;
	const struct rules_verdict *v =
		eval_at(&(struct loaded){.rs = b, .ctx = cb}, "{'text':'so beta'}", 0);
	ck_assert_int_eq(v->action, ARBITER__V1__ACTION__REMOVE);
	rules_ctx_free(cb);
	rules_free(b);
	free(list);
	teardown(&A);
}
END_TEST

/* Two contexts of one ruleset do not share evaluation state. */
START_TEST(contexts_are_independent)
{
	struct loaded L;
	load_ok(&L,
		"lists: {w: [alpha]}\n"
		"rules:\n"
		"  - {id: w, when: text contains_any w, action: label}\n",
		NULL);
	struct rules_ctx *c2 = rules_ctx_new(L.rs);
	Arbiter__V1__ContentEvent *alpha = event("{'text':'alpha'}");
	Arbiter__V1__ContentEvent *none = event("{'text':'omega'}");
	const struct rules_verdict *v1 = rules_eval(L.ctx, alpha, 0);
	const struct rules_verdict *v2 = rules_eval(c2, none, 0);
	ck_assert_uint_eq(v1->n_matched, 1);
	ck_assert_uint_eq(v2->n_matched, 0);
	v2 = rules_eval(c2, alpha, 0);
	v1 = rules_eval(L.ctx, none, 0);
	ck_assert_uint_eq(v1->n_matched, 0);
	ck_assert_uint_eq(v2->n_matched, 1);
	/* Many events through one context: no stale matches. */
	for (int i = 0; i < 1000; i++) {
		const struct rules_verdict *v = rules_eval(L.ctx, i % 3 ? none : alpha, 0);
		ck_assert_uint_eq(v->n_matched, i % 3 ? 0 : 1);
	}
	event_free(alpha);
	event_free(none);
	rules_ctx_free(c2);
	teardown(&L);
}
END_TEST

static Suite *rules_load_suite(void)
{
	Suite *s = suite_create("rules_load");
	TCase *tc = tcase_create("load");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, rule_fields_are_exposed);
	tcase_add_test(tc, no_rule_files_give_an_empty_ruleset);
	tcase_add_test(tc, version_follows_the_files);
	tcase_add_test(tc, version_covers_mode_switches_not_directories);
	tcase_add_test(tc, reload_gives_independent_rulesets);
	tcase_add_test(tc, contexts_are_independent);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(rules_load_suite());
}
