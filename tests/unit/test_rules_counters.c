/* Unit tests for windowed counters in rules: loading and type errors, the two-phase evaluation
 * (which events touch a counter, and what the values decide), evidence, and tests: givens. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* open_memstream */
#endif
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "counters.h"
#include "policy.h"
#include "rules.h"
#include "rules_fixture.h"
#include "rules_impl.h"
#include "unit.h"

#define BURST "count(by: author_id, window: 10m)"

/* Phase 1 on JSON at NOW: the verdict, and the operations copied into OPS (*N of them). */
static const struct rules_verdict *begin(struct loaded *L, Arbiter__V1__ContentEvent *ev,
					 int64_t now, struct rules_counter_op *ops, size_t *n)
{
	const struct rules_counter_op *got;
	const struct rules_verdict *v = rules_eval_begin(L->ctx, ev, now, &got, n);
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_le(*n, rules_counter_count(L->rs));
	memcpy(ops, got, *n * sizeof(*ops));
	return v;
}

/* Phase 1 and 2 on JSON with every listed counter at VALUE; returns the final verdict and
 * the number of operations phase 1 listed in *N. */
static const struct rules_verdict *both(struct loaded *L, const char *json, uint64_t value,
					size_t *n)
{
	struct rules_counter_op ops[16];
	uint64_t values[16];
	Arbiter__V1__ContentEvent *ev = event(json);
	begin(L, ev, AUG1_MS, ops, n);
	for (size_t i = 0; i < *n; i++)
		values[i] = value;
	const struct rules_verdict *v = rules_eval_finish(L->ctx, ev, AUG1_MS, ops, values, *n);
	ck_assert_ptr_nonnull(v);
	event_free(ev);
	return v;
}

static bool has_evidence(const struct rules_verdict *v, const char *want)
{
	for (size_t i = 0; i < v->n_evidence; i++)
		if (!strcmp(v->evidence[i], want))
			return true;
	return false;
}

static const char burst_rules[] = "attributes: {account_age_days: int}\n"
				  "rules:\n"
				  "  - id: burst\n"
				  "    when: 'attr.account_age_days < 2 and " BURST " >= 20'\n"
				  "    action: remove\n";

START_TEST(phase_one_lists_only_what_could_still_fire)
{
	struct loaded L;
	load_ok(&L, burst_rules, NULL);
	ck_assert_uint_eq(rules_counter_count(L.rs), 1);
	const struct rules_counter_info *ci = rules_counter(L.rs, 0);
	ck_assert_str_eq(ci->name, BURST);
	ck_assert_int_eq(ci->kind, RULES_COUNT);
	ck_assert_int_eq(ci->window_ms, 600000);
	ck_assert_uint_eq(ci->cap, 21);
	ck_assert_uint_eq(ci->rule, 0);
	ck_assert_uint_eq(strlen(ci->id), 16);
	ck_assert_ptr_null(rules_counter(L.rs, 1));

	struct rules_counter_op ops[4];
	size_t n;
	/* An old account: the rule cannot fire, the counter is not touched. */
	Arbiter__V1__ContentEvent *ev =
		event("{'event_id': 'e1', 'author_id': 'a1', 'attrs': {'account_age_days': '30'}}");
	const struct rules_verdict *v = begin(&L, ev, AUG1_MS, ops, &n);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(v->counters_pending, 0);
	ck_assert_uint_eq(v->n_matched, 0);
	event_free(ev);
	/* A new account without an author: nothing to group by, so nothing counted. */
	ev = event("{'event_id': 'e1', 'attrs': {'account_age_days': '1'}}");
	v = begin(&L, ev, AUG1_MS, ops, &n);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(v->counters_pending, 0);
	event_free(ev);
	/* A new account with an author: the rule waits on its counter. */
	ev = event("{'event_id': 'e1', 'author_id': 'a1', 'attrs': {'account_age_days': '1'}, "
		   "'created_at_ms': 1817078000000}");
	v = begin(&L, ev, AUG1_MS, ops, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(v->counters_pending, 1);
	ck_assert_uint_eq(v->n_matched, 0);
	ck_assert_int_eq(v->action, ARBITER__V1__ACTION__NONE);
	ck_assert_uint_eq(ops[0].counter, 0);
	ck_assert_int_eq(ops[0].at_ms, 1817078000000LL);
	char want[RULES_DIGEST_HEX + 1];
	rules_counter_digest(want, "a1", 2);
	ck_assert_str_eq(ops[0].by, want);
	rules_counter_digest(want, "e1", 2); /* count: distinct event ids */
	ck_assert_str_eq(ops[0].member, want);
	event_free(ev);
	/* A created_at_ms in the future counts at the time given. */
	ev = event("{'event_id': 'e2', 'author_id': 'a1', 'attrs': {'account_age_days': '0'}, "
		   "'created_at_ms': 1917078000000}");
	begin(&L, ev, AUG1_MS, ops, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(ops[0].at_ms, AUG1_MS);
	event_free(ev);
	teardown(&L);
}
END_TEST

START_TEST(phase_two_decides_at_the_threshold)
{
	struct loaded L;
	load_ok(&L, burst_rules, NULL);
	const char *json = "{'event_id': 'e1', 'author_id': 'a1', "
			   "'attrs': {'account_age_days': '1'}}";
	size_t n;
	const struct rules_verdict *v = both(&L, json, 19, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(v->n_matched, 0);
	ck_assert_uint_eq(v->counters_pending, 0);
	ck_assert(has_evidence(v, "counter:" BURST "=19"));
	ck_assert(!v->behaviour);
	v = both(&L, json, 20, &n);
	ck_assert_uint_eq(v->n_matched, 1);
	ck_assert_int_eq(v->action, ARBITER__V1__ACTION__REMOVE);
	ck_assert(has_evidence(v, "counter:" BURST "=20"));
	ck_assert(v->behaviour);
	/* Without a value the comparison is false: nothing fires on a guess. */
	Arbiter__V1__ContentEvent *ev = event(json);
	v = rules_eval_finish(L.ctx, ev, AUG1_MS, NULL, NULL, 0);
	ck_assert_uint_eq(v->n_matched, 0);
	ck_assert_uint_eq(v->n_evidence, 0);
	/* rules_eval: counters at zero before the event, so 1. */
	v = rules_eval(L.ctx, ev, AUG1_MS);
	ck_assert_uint_eq(v->n_matched, 0);
	ck_assert(has_evidence(v, "counter:" BURST "=1"));
	event_free(ev);
	teardown(&L);
}
END_TEST

/* Other conditions decide first, in any order: a counter is touched only where it matters. */
START_TEST(counters_touched_only_where_they_matter)
{
	struct loaded L;
	load_ok(&L,
		"rules:\n"
		"  - id: either\n"
		"    when: 'signal.spam >= 0.5 or " BURST " >= 3'\n"
		"    action: label\n"
		"  - id: counter.first\n"
		"    when: 'count(by: author_id, window: 1h) >= 3 and lang == sw'\n"
		"    action: demote\n"
		"  - id: branches\n"
		"    when: >-\n"
		"      (count(by: author_id, window: 1m) >= 2 and lang == en) or\n"
		"      (count(by: author_id, window: 2m) >= 2 and lang == fr)\n"
		"    action: label\n"
		"  - id: negated\n"
		"    when: not count(by:author_id, window:5m) >= 3 and reach > 100\n"
		"    action: label\n",
		NULL);
	ck_assert_uint_eq(rules_counter_count(L.rs), 5);
	size_t n;
	/* Spam score high: `either` holds without its counter; no other rule can fire. */
	const struct rules_verdict *v =
		both(&L, "{'event_id': 'e', 'author_id': 'a', 'signals': {'spam': 0.9}}", 0, &n);
	ck_assert_uint_eq(n, 0);
	char buf[256];
	ck_assert_str_eq(ids(L.rs, v->matched, v->n_matched, buf, sizeof(buf)), "either");
	ck_assert(!v->behaviour);
	/* lang sw: either's and counter.first's counters. */
	struct rules_counter_op ops[8];
	Arbiter__V1__ContentEvent *ev = event("{'event_id': 'e', 'author_id': 'a', 'lang': 'sw'}");
	v = begin(&L, ev, AUG1_MS, ops, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(v->counters_pending, 2);
	ck_assert_str_eq(rules_counter(L.rs, ops[0].counter)->name, BURST);
	ck_assert_str_eq(rules_counter(L.rs, ops[1].counter)->name,
			 "count(by: author_id, window: 1h)");
	event_free(ev);
	/* lang fr: only the second branch of `branches`. */
	ev = event("{'event_id': 'e', 'author_id': 'a', 'lang': 'fr'}");
	v = begin(&L, ev, AUG1_MS, ops, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(rules_counter(L.rs, ops[1].counter)->name,
			 "count(by: author_id, window: 2m)");
	event_free(ev);
	/* reach over 100: `negated` waits on its counter too. */
	ev = event("{'event_id': 'e', 'author_id': 'a', 'lang': 'en', 'reach': 500}");
	v = begin(&L, ev, AUG1_MS, ops, &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(v->counters_pending, 3);
	uint64_t values[] = {1, 5, 1};
	v = rules_eval_finish(L.ctx, ev, AUG1_MS, ops, values, n);
	ck_assert_str_eq(ids(L.rs, v->matched, v->n_matched, buf, sizeof(buf)), "branches,negated");
	ck_assert_int_eq(v->action, ARBITER__V1__ACTION__LABEL);
	ck_assert(v->behaviour);
	event_free(ev);
	teardown(&L);
}
END_TEST

START_TEST(modes_decide_before_counters)
{
	struct loaded L;
	load_ok(&L,
		"modes: {election: {countries: [KE], from: 2027-07-01, until: 2027-09-01}}\n"
		"rules:\n"
		"  - id: campaign\n"
		"    modes: [election]\n"
		"    when: 'distinct(author_id, by: text, window: 1h) >= 3'\n"
		"    escalate: {queue: q, monitors: true}\n",
		NULL);
	struct rules_counter_op ops[4];
	size_t n;
	Arbiter__V1__ContentEvent *ev =
		event("{'event_id': 'e', 'author_id': 'a', 'country': 'KE', 'text': 'Vote  NOW'}");
	begin(&L, ev, AUG20_MS + 30 * DAY_MS, ops, &n); /* after the window */
	ck_assert_uint_eq(n, 0);
	begin(&L, ev, AUG1_MS, ops, &n);
	ck_assert_uint_eq(n, 1);
	event_free(ev);
	ev = event("{'event_id': 'e', 'author_id': 'a', 'country': 'BA', 'text': 'Vote  NOW'}");
	begin(&L, ev, AUG1_MS, ops, &n);
	ck_assert_uint_eq(n, 0);
	event_free(ev);
	teardown(&L);
}
END_TEST

/* distinct groups by normalised text and counts digests of the counted field. */
START_TEST(distinct_groups_and_members)
{
	struct loaded L;
	load_ok(&L,
		"rules:\n"
		"  - id: campaign\n"
		"    when: 'distinct(author_id, by: text, window: 1h) >= 300'\n"
		"    action: label\n"
		"  - id: links\n"
		"    when: 'distinct(author_id, by: url, window: 1h) >= 50'\n"
		"    action: label\n"
		"  - id: media\n"
		"    when: count(by:media, window:1h) >= 50\n"
		"    action: label\n"
		"  - id: ip\n"
		"    when: 'distinct(author_id, by: attr.ip, window: 1d) >= 5'\n"
		"    action: label\n",
		NULL);
	struct rules_counter_op a[8], b[8];
	size_t na, nb;
	Arbiter__V1__ContentEvent *e1 = event(
		"{'event_id': 'e1', 'author_id': 'x', 'text': 'Rigged!  See https://Ex.ORG/a?b=C.',"
		" 'media': [{'kind': 'IMAGE', 'pdq': 'AB', 'sha256': 'CD'}], 'attrs': {'ip': '1'}}");
	Arbiter__V1__ContentEvent *e2 = event(
		"{'event_id': 'e2', 'author_id': 'y', 'text': 'RIGGED! see https://ex.org/a?b=C.',"
		" 'media': [{'kind': 'IMAGE', 'sha256': 'cd'}]}");
	begin(&L, e1, AUG1_MS, a, &na);
	begin(&L, e2, AUG1_MS, b, &nb);
	ck_assert_uint_eq(na, 4);
	ck_assert_uint_eq(nb, 3); /* no ip attribute: nothing to group by */
	for (size_t i = 0; i < 3; i++) {
		ck_assert_uint_eq(a[i].counter, b[i].counter);
		ck_assert_str_eq(a[i].by, b[i].by);
	}
	ck_assert_str_ne(a[0].member, b[0].member); /* two authors */
	ck_assert_str_ne(a[2].member, b[2].member); /* two events */
	char want[RULES_DIGEST_HEX + 1];
	rules_counter_digest(want, "https://ex.org/a?b=C", 20);
	ck_assert_str_eq(a[1].by, want);
	rules_counter_digest(want, "cd", 2); /* sha256 first, lowercase */
	ck_assert_str_eq(a[2].by, want);
	event_free(e1);
	event_free(e2);
	teardown(&L);
}
END_TEST

START_TEST(url_of_a_text)
{
	char out[64];
	ck_assert_uint_eq(rules_counter_url("no link here, http:/x", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "");
	ck_assert_uint_gt(rules_counter_url("go to HTTP://WWW.Ex.com/Path/X).", out, sizeof(out)),
			  0);
	ck_assert_str_eq(out, "http://www.ex.com/Path/X");
	rules_counter_url("\"https://a.b?Q=1\" and https://c.d", out, sizeof(out));
	ck_assert_str_eq(out, "https://a.b?Q=1");
	rules_counter_url("hhttps:// then https://x.y/", out, sizeof(out));
	ck_assert_str_eq(out, "https://x.y/");
	ck_assert_uint_eq(rules_counter_url("https://abcdefghij", out, 10), 9);
	ck_assert_str_eq(out, "https://a");
}
END_TEST

/* A counter belongs to its rule: the same name in two rules is two counters, twice in one
 * rule one; its id follows the rule's id and the name, not the threshold. */
START_TEST(counter_identity_and_bounds)
{
	struct loaded L, M;
	load_ok(&L,
		"rules:\n"
		"  - {id: a, when: '" BURST " >= 20 and " BURST " < 50', action: label}\n"
		"  - {id: b, when: '" BURST " >= 20', action: label}\n"
		"  - {id: c, when: 'distinct(author_id, by: text, window: 3600s) >= 300', "
		"action: label}\n",
		NULL);
	ck_assert_uint_eq(rules_counter_count(L.rs), 3);
	ck_assert_uint_eq(rules_counter(L.rs, 0)->cap, 51);
	ck_assert_uint_eq(rules_counter(L.rs, 1)->cap, 21);
	ck_assert_str_ne(rules_counter(L.rs, 0)->id, rules_counter(L.rs, 1)->id);
	ck_assert_str_eq(rules_counter(L.rs, 2)->name, "distinct(author_id, by: text, window: 1h)");
	ck_assert_int_eq(rules_counter(L.rs, 2)->kind, RULES_DISTINCT);
	load_ok(&M,
		"rules:\n"
		"  - {id: a, when: '" BURST " >= 7', action: label}\n"
		"  - {id: b, when: 'count(by: author_id, window: 11m) >= 20', action: label}\n",
		NULL);
	ck_assert_str_eq(rules_counter(L.rs, 0)->id, rules_counter(M.rs, 0)->id);
	ck_assert_str_ne(rules_counter(L.rs, 1)->id, rules_counter(M.rs, 1)->id);
	/* Both of a's comparisons read one value: one operation. */
	size_t n;
	const struct rules_verdict *v = both(&L, "{'event_id': 'e', 'author_id': 'a'}", 30, &n);
	ck_assert_uint_eq(n, 2); /* no text: c has nothing to group by */
	char buf[64];
	ck_assert_str_eq(ids(L.rs, v->matched, v->n_matched, buf, sizeof(buf)), "a,b");
	teardown(&M);
	teardown(&L);
}
END_TEST

START_TEST(counter_load_errors)
{
	expect_one_error("rules:\n  - {id: r, when: '" BURST " >= 10001', action: label}\n", 2, 57,
			 "r",
			 "count(...) compares with a whole number from 0 to 10000: it keeps one "
			 "entry per event up to the largest number compared");
	expect_one_error("rules:\n  - {id: r, when: '" BURST " >= 2.5', action: label}\n", 2, 57,
			 "r", "count(...) compares with a whole number from 0 to 10000");
	expect_one_error("rules:\n  - {id: r, when: 'distinct(url, by: text, window: 1m) > -1', "
			 "action: label}\n",
			 2, 58, "r", "distinct(...) compares with a whole number from 0 to");
	expect_one_error("rules:\n  - id: r\n    when: reach > 1 and count(by:ip, window:1m) > 1\n"
			 "    action: label\n",
			 3, 34, "r",
			 "expected a field to group events by (author_id, text, url, media or "
			 "attr.NAME), got 'ip'");
	expect_one_error("rules:\n  - {id: r, when: '" BURST " >= 1', action: label}\n"
			 "tests:\n  - name: t\n    event: {}\n    given: {cuont: 3}\n"
			 "    expect: {action: none}\n",
			 6, 13, "t", "given.cuont: no rule has that counter");
	expect_one_error("rules:\n  - {id: r, when: '" BURST " >= 1', action: label}\n"
			 "tests:\n  - name: t\n    event: {}\n    given: {count: -3}\n"
			 "    expect: {action: none}\n",
			 6, 20, "t",
			 "given.count: expected a whole number from 0 to 1000000000, got -3");
	/* The likely YAML mistake gets a hint beside libyaml's error. */
	struct loaded L;
	struct diag_list errs = {0};
	const char *texts[] = {"rules:\n  - id: r\n    when: reach > 1 and count(by: author_id, "
			       "window: 1m) > 1\n    action: label\n",
			       NULL};
	load_fail(&L, texts, NULL, &errs);
	ck_assert_uint_eq(errs.n, 2);
	unit_check_error(&errs, 1, L.files[0], 3, 11, NULL,
			 "a condition holding ': ' (count(by: ...)) must be quoted in YAML");
	diag_clear(&errs);
	teardown(&L);
}
END_TEST

/* The Redis command owns copies of everything: it may be sent again after the operations
 * were reused for other events. */
START_TEST(counter_command_owns_its_arguments)
{
	struct loaded L;
	load_ok(&L,
		"rules:\n"
		"  - {id: a, when: '" BURST " >= 20', action: label}\n"
		"  - {id: b, when: 'distinct(author_id, by: text, window: 1h) > 5', action: label}\n",
		NULL);
	struct rules_counter_op ops[2] = {{.counter = 0, .at_ms = 1817078400123LL},
					  {.counter = 1, .at_ms = 1817078400123LL}};
	strcpy(ops[0].by, "b0");
	strcpy(ops[0].member, "m0");
	strcpy(ops[1].by, "b1");
	strcpy(ops[1].member, "m1");
	struct config cfg = {0};
	cfg.redis.prefix = "p:";
	struct queues_cmd cmd;
	ck_assert_int_eq(counters_cmd(&cfg, L.rs, ops, 2, &cmd), 0);
	memset(ops, 'x', sizeof(ops));
	char line[1024] = "";
	for (int i = 0; i < cmd.argc; i++) {
		if (i == 1) {
			ck_assert_str_eq(cmd.argv[1], counters_script_sha());
			continue;
		}
		ck_assert_uint_eq(cmd.lens[i], strlen(cmd.argv[i]));
		strcat(line, cmd.argv[i]);
		strcat(line, " ");
	}
	char want[1024];
	snprintf(want, sizeof(want),
		 "EVALSHA 2 p:ctr:%s:b0 p:ctd:%s:b1 c 1817078400123 1817077800123 21 660000 m0 d "
		 "5047440 11 0 3960000 m1 ", /* 1817078400123 / (1h / 10) */
		 rules_counter(L.rs, 0)->id, rules_counter(L.rs, 1)->id);
	ck_assert_str_eq(line, want);
	queues_cmd_use_eval(&cmd);
	ck_assert_str_eq(cmd.argv[0], "EVAL");
	ck_assert_str_eq(cmd.argv[1], counters_script_body());
	ck_assert_str_eq(queues_cmd_name(&cmd), "counters");
	queues_cmd_free(&cmd);
	teardown(&L);
}
END_TEST

/* Runs policy_check on CFG: its exit status, with stdout in *OUT and stderr in *ERR. */
static int check(const char *cfg, char **out, char **err)
{
	size_t ol = 0, el = 0;
	FILE *fo = open_memstream(out, &ol), *fe = open_memstream(err, &el);
	int rc = policy_check(cfg, NULL, fo, fe);
	fclose(fo);
	fclose(fe);
	return rc;
}

/* Counters need Redis named in the config; check shows the counters and banks. */
START_TEST(policy_check_counters_and_banks)
{
	char *dir = unit_make_dir();
	free(unit_write_file(dir, "r.yaml",
			     "banks: {known: {algorithm: md5, file: b.txt}}\n"
			     "rules:\n"
			     "  - {id: burst, when: '" BURST " >= 20', escalate: {queue: q}}\n"
			     "  - {id: bank, when: media in bank known, escalate: {queue: q}}\n"));
	free(unit_write_file(dir, "b.txt",
			     "0123456789abcdef0123456789abcdef x\n"
			     "00000000000000000000000000000000\n"));
	char *without = unit_write_file(dir, "a.yaml",
					"rules: {files: [r.yaml]}\nreview: {queues: {q: {}}}\n");
	char *with = unit_write_file(dir, "b.yaml",
				     "rules: {files: [r.yaml]}\nreview: {queues: {q: {}}}\n"
				     "redis: {address: 127.0.0.1:6379}\n");
	char *out, *err;
	ck_assert_int_eq(check(without, &out, &err), 1);
	ck_assert_str_eq(out, "");
	ck_assert_msg(strstr(err, "r.yaml:3:1: burst: uses " BURST ", a windowed counter kept in "
				  "Redis: ") &&
			      strstr(err, "a.yaml needs a redis: section (redis.address)"),
		      "%s", err);
	free(out);
	free(err);
	ck_assert_int_eq(check(with, &out, &err), 0);
	ck_assert_msg(strstr(out, "; 1 counter(s); banks: known 2 md5 hash(es))\n"), "%s", out);
	free(out);
	free(err);
	free(with);
	free(without);
	free(dir);
}
END_TEST

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

/* tests: cases stay offline: given states each counter before the event. */
START_TEST(tests_give_counter_values)
{
	struct loaded L;
	load_ok(&L,
		"attributes: {account_age_days: int}\n"
		"rules:\n"
		"  - id: burst\n"
		"    when: |\n"
		"      attr.account_age_days < 2 and\n"
		"      " BURST " >= 20\n"
		"    action: remove\n"
		"  - id: campaign\n"
		"    when: \"distinct(author_id, by: text, window: 1h) >= 300\"\n"
		"    escalate: {queue: q}\n"
		"tests:\n"
		"  - name: the twentieth post fires\n"
		"    event: {author_id: a, attrs: {account_age_days: '1'}}\n"
		"    given: {count: 19}\n"
		"    expect: {action: remove, rules: [burst]}\n"
		"  - name: the nineteenth does not\n"
		"    event: {author_id: a, attrs: {account_age_days: '1'}}\n"
		"    given: {'count(by:author_id,window:10m)': 18, distinct: 400}\n"
		"    expect: {action: none, rules: []}\n"
		"  - name: a name wins over the kind\n"
		"    event: {author_id: a, text: x, attrs: {account_age_days: '1'}}\n"
		"    given: {count: 0, '" BURST "': 25, distinct: 299}\n"
		"    expect: {action: remove, rules: [burst, campaign], escalations: [q]}\n"
		"  - name: without given, counters start at zero\n"
		"    event: {author_id: a, text: x, attrs: {account_age_days: '1'}}\n"
		"    expect: {rules: [burst]}\n",
		NULL);
	int rc;
	char *out = run_tests(L.rs, &rc);
	ck_assert_int_eq(rc, 1);
	ck_assert_msg(strstr(out, "FAIL ") &&
			      strstr(out, "without given, counters start at zero") &&
			      strstr(out, "expected matched rules [burst], got []") &&
			      strstr(out, "4 test(s), 1 failed"),
		      "%s", out);
	ck_assert_ptr_null(strstr(out, "twentieth"));
	free(out);
	teardown(&L);
}
END_TEST

static Suite *rules_counters_suite(void)
{
	Suite *s = suite_create("rules_counters");
	TCase *tc = tcase_create("two phases");
	tcase_add_test(tc, phase_one_lists_only_what_could_still_fire);
	tcase_add_test(tc, phase_two_decides_at_the_threshold);
	tcase_add_test(tc, counters_touched_only_where_they_matter);
	tcase_add_test(tc, modes_decide_before_counters);
	tcase_add_test(tc, distinct_groups_and_members);
	tcase_add_test(tc, url_of_a_text);
	suite_add_tcase(s, tc);
	tc = tcase_create("load");
	tcase_add_test(tc, counter_identity_and_bounds);
	tcase_add_test(tc, counter_load_errors);
	tcase_add_test(tc, counter_command_owns_its_arguments);
	tcase_add_test(tc, policy_check_counters_and_banks);
	tcase_add_test(tc, tests_give_counter_values);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(rules_counters_suite());
}
