/* Regression tests for hostile input: each file of tests/unit/hostile/ and each message built
 * here once crashed, hung, exhausted memory or slipped past the rules; each must now end in a
 * positioned error or a refusal with a reason. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event.h"
#include "ledger.h"
#include "policy.h"
#include "report.h"
#include "ydoc.h"

#ifndef TEST_SRCDIR
#error "meson defines TEST_SRCDIR, the source directory of the unit tests"
#endif
#define HOSTILE TEST_SRCDIR "/hostile/"

static char tmpdir[] = "/tmp/test_hostile.XXXXXX";

/* A config whose only rule file is RULES. Returns its malloc'd path. */
static char *config_with_rules(const char *rules)
{
	char *path = NULL;
	ck_assert_int_ge(asprintf(&path, "%s/cfg-%d.yaml", tmpdir, (int)getpid()), 0);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "rules: {files: [\"%s\"]}\n", rules);
	fclose(f);
	return path;
}

/* Loads the policy of a config naming RULES; expects it refused with an error in FILE
 * (positioned when LINE > 0) holding WANT. */
static void expect_refused(const char *rules, const char *file, int line, const char *want)
{
	char *cfg = config_with_rules(rules);
	struct diag_list d = {0};
	struct policy *p = NULL;
	ck_assert_int_eq(policy_load(cfg, &p, &d), -EINVAL);
	ck_assert_ptr_null(p);
	ck_assert_uint_ge(d.n_errors, 1);
	bool found = false;
	for (size_t i = 0; i < d.n && !found; i++)
		found = d.v[i].file && !strcmp(d.v[i].file, file) && strstr(d.v[i].msg, want) &&
			(line == 0 || d.v[i].line == line);
	if (!found)
		diag_print(&d, stderr);
	ck_assert_msg(found, "no error in %s:%d holding \"%s\"", file, line, want);
	diag_clear(&d);
	unlink(cfg);
	free(cfg);
}

START_TEST(yaml_that_broke_libfyaml)
{
	/* SIGSEGV in libfyaml's parser cleanup, as a rule file and as the config itself. */
	expect_refused(HOSTILE "crash-6-bytes.yaml", HOSTILE "crash-6-bytes.yaml", 0,
		       "invalid YAML");
	struct diag_list d = {0};
	struct config *cfg = NULL;
	ck_assert_int_eq(config_load(HOSTILE "crash-6-bytes.yaml", &cfg, &d), -EINVAL);
	ck_assert_str_eq(d.v[0].file, HOSTILE "crash-6-bytes.yaml");
	diag_clear(&d);
	/* An endless loop in libfyaml's directive scanner. */
	expect_refused(HOSTILE "hang-2-bytes.yaml", HOSTILE "hang-2-bytes.yaml", 1,
		       "invalid leading UTF-8 octet");
	/* 1.4 GB from 468 bytes of nested aliases. */
	expect_refused(HOSTILE "alias-bomb.yaml", HOSTILE "alias-bomb.yaml", 0,
		       "more than 2000000 nodes");
}
END_TEST

/* libfyaml's emitter leaked on every load of a tests: event with an escaped quoted string;
 * there is no emitter now, and the event must still decode as written. */
START_TEST(escaped_strings_in_test_events)
{
	char *cfg = config_with_rules(HOSTILE "escaped-test-event.yaml");
	struct diag_list d = {0};
	struct policy *p = NULL;
	int rc = policy_load(cfg, &p, &d);
	if (rc)
		diag_print(&d, stderr);
	ck_assert_int_eq(rc, 0);
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	ck_assert_int_eq(rules_run_tests(p->rules, f), 0);
	fclose(f);
	ck_assert_str_eq(out, "1 test(s), 0 failed\n");
	free(out);
	policy_free(p);
	diag_clear(&d);
	unlink(cfg);
	free(cfg);
}
END_TEST

/* 30,000 '(' in a rule, and 15,000 "true and": the stack of every walk of a condition. */
START_TEST(deep_conditions_in_rule_files)
{
	expect_refused(HOSTILE "deep-parens.yaml", HOSTILE "deep-parens.yaml", 4,
		       "condition nested deeper than 32 levels");
	char *rules = NULL;
	ck_assert_int_ge(asprintf(&rules, "%s/long-and.yaml", tmpdir), 0);
	FILE *f = fopen(rules, "w");
	fputs("rules:\n  - id: long\n    action: label\n    when: \"", f);
	for (int i = 0; i < 15000; i++)
		fputs("true and ", f);
	fputs("true\"\n", f);
	fclose(f);
	expect_refused(rules, rules, 4, "condition too large");
	free(rules);
}
END_TEST

/* Appends a length-delimited field to BUF at *n. */
static void wire_bytes(uint8_t *buf, size_t *n, unsigned field, const void *data, size_t len)
{
	buf[(*n)++] = (uint8_t)(field << 3 | 2);
	buf[(*n)++] = (uint8_t)len; /* short fields only */
	memcpy(buf + *n, data, len);
	*n += len;
}

/* A signals entry {key: KEY, value: V}. */
static void wire_signal(uint8_t *buf, size_t *n, const char *key, float v)
{
	uint8_t entry[64];
	size_t m = 0;
	wire_bytes(entry, &m, 1, key, strlen(key));
	entry[m++] = 2 << 3 | 5;
	memcpy(entry + m, &v, 4);
	m += 4;
	wire_bytes(buf, n, 10, entry, m);
}

static void content_refused(const void *wire, size_t len, const char *want)
{
	Arbiter__V1__ContentEvent *ev = NULL;
	char reason[EVENT_REASON_MAX];
	ck_assert_int_eq(event_content_decode(CONFIG_FORMAT_PROTOBUF, wire, len, &ev, reason),
			 -EINVAL);
	ck_assert_ptr_null(ev);
	ck_assert_msg(strstr(reason, want), "reason \"%s\" lacks \"%s\"", reason, want);
}

START_TEST(a_nul_byte_cannot_hide_text)
{
	uint8_t buf[256];
	size_t n = 0;
	wire_bytes(buf, &n, 1, "e1", 2);
	wire_bytes(buf, &n, 2, "c1", 2);
	static const char text[] = "hello\0forbidden phrase";
	wire_bytes(buf, &n, 6, text, sizeof(text) - 1);
	content_refused(buf, n, "field 'text' holds a NUL byte");
	/* In a map's key or value too. */
	n = 0;
	wire_bytes(buf, &n, 1, "e1", 2);
	wire_bytes(buf, &n, 2, "c1", 2);
	uint8_t entry[32];
	size_t m = 0;
	wire_bytes(entry, &m, 1, "client", 6);
	wire_bytes(entry, &m, 2, "w\0b", 3);
	wire_bytes(buf, &n, 11, entry, m);
	content_refused(buf, n, "holds a NUL byte");
	/* Zero bytes outside strings (a signal of 0.5 is 00 00 00 3f) are no NUL in one. */
	n = 0;
	wire_bytes(buf, &n, 1, "e1", 2);
	wire_bytes(buf, &n, 2, "c1", 2);
	wire_bytes(buf, &n, 6, "hello", 5);
	wire_signal(buf, &n, "hate", 0.5f);
	ck_assert_ptr_nonnull(memchr(buf, 0, n));
	Arbiter__V1__ContentEvent *ev = NULL;
	char reason[EVENT_REASON_MAX];
	ck_assert_int_eq(event_content_decode(CONFIG_FORMAT_PROTOBUF, buf, n, &ev, reason), 0);
	ck_assert_str_eq(ev->text, "hello");
	event_content_free(ev);
}
END_TEST

START_TEST(a_map_key_given_twice_is_refused_in_both_formats)
{
	uint8_t buf[256];
	size_t n = 0;
	wire_bytes(buf, &n, 1, "e1", 2);
	wire_bytes(buf, &n, 2, "c1", 2);
	wire_signal(buf, &n, "hate", 0.1f);
	wire_signal(buf, &n, "hate", 0.99f);
	content_refused(buf, n, "field 'signals' has the key \"hate\" twice");
	Arbiter__V1__ContentEvent *ev = NULL;
	char reason[EVENT_REASON_MAX];
	const char *json = "{\"event_id\":\"e1\",\"content_id\":\"c1\","
			   "\"signals\":{\"hate\":0.1,\"hate\":0.99}}";
	ck_assert_int_eq(event_content_decode(CONFIG_FORMAT_JSON, json, strlen(json), &ev, reason),
			 -EBADMSG);
	ck_assert_ptr_nonnull(strstr(reason, "duplicate"));
}
END_TEST

/* Small maps are checked pair by pair, larger ones sorted: both find a key given twice
 * wherever it stands, and neither refuses distinct keys. */
START_TEST(a_map_key_given_twice_is_found_in_maps_of_any_size)
{
	static const char *names[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"};
	for (size_t count = 2; count <= 12; count++) {
		uint8_t buf[512];
		size_t n = 0;
		wire_bytes(buf, &n, 1, "e1", 2);
		wire_bytes(buf, &n, 2, "c1", 2);
		for (size_t i = 0; i < count; i++)
			wire_signal(buf, &n, names[i], 0.5f);
		Arbiter__V1__ContentEvent *ev = NULL;
		char reason[EVENT_REASON_MAX];
		ck_assert_msg(event_content_decode(CONFIG_FORMAT_PROTOBUF, buf, n, &ev, reason) ==
				      0,
			      "%zu distinct keys: %s", count, reason);
		event_content_free(ev);
		wire_signal(buf, &n, names[0], 0.7f); /* the first key again, last */
		content_refused(buf, n, "field 'signals' has the key \"a\" twice");
	}
}
END_TEST

START_TEST(times_out_of_range_are_refused)
{
	Arbiter__V1__ContentEvent *ev = NULL;
	char reason[EVENT_REASON_MAX];
	const char *json = "{\"event_id\":\"e1\",\"content_id\":\"c1\","
			   "\"created_at_ms\":\"9223372036854775807\"}";
	ck_assert_int_eq(event_content_decode(CONFIG_FORMAT_JSON, json, strlen(json), &ev, reason),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(reason, "field 'created_at_ms' is 9223372036854775807"));
	json = "{\"event_id\":\"e1\",\"content_id\":\"c1\",\"created_at_ms\":\"-5\"}";
	ck_assert_int_eq(event_content_decode(CONFIG_FORMAT_JSON, json, strlen(json), &ev, reason),
			 -EINVAL);
	Arbiter__V1__ModerationDecision *d = NULL;
	json = "{\"decision_id\":\"d1\",\"content_id\":\"c1\",\"kind\":\"ACTION\","
	       "\"action\":\"REMOVE\",\"decided_at_ms\":\"9223372036854775807\"}";
	ck_assert_int_eq(event_decision_decode(CONFIG_FORMAT_JSON, json, strlen(json), &d, reason),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(reason, "decided_at_ms"));
	/* 0 is "unknown", and a real time passes. */
	json = "{\"event_id\":\"e1\",\"content_id\":\"c1\",\"created_at_ms\":\"1817078400000\"}";
	ck_assert_int_eq(event_content_decode(CONFIG_FORMAT_JSON, json, strlen(json), &ev, reason),
			 0);
	event_content_free(ev);
}
END_TEST

/* A decision whose explanation is over a megabyte gave an audit record Kafka refused. */
START_TEST(free_text_and_ids_are_bounded)
{
	size_t big = 1 << 20;
	char *json = malloc(big + 256);
	ck_assert_ptr_nonnull(json);
	int o = sprintf(json, "{\"decision_id\":\"d1\",\"content_id\":\"c1\",\"kind\":\"ACTION\","
			      "\"action\":\"REMOVE\",\"explanation\":\"");
	memset(json + o, 'x', big);
	strcpy(json + o + big, "\"}");
	Arbiter__V1__ModerationDecision *d = NULL;
	char reason[EVENT_REASON_MAX];
	ck_assert_int_eq(event_decision_decode(CONFIG_FORMAT_JSON, json, strlen(json), &d, reason),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(reason, "field 'explanation' is 1048576 characters; at most "
					     "5000 are taken"));
	o = sprintf(json, "{\"event_id\":\"e1\",\"content_id\":\"");
	memset(json + o, 'c', 300);
	strcpy(json + o + 300, "\"}");
	Arbiter__V1__ContentEvent *ev = NULL;
	ck_assert_int_eq(event_content_decode(CONFIG_FORMAT_JSON, json, strlen(json), &ev, reason),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(reason, "field 'content_id' is 300 bytes; an id has at most"));
	free(json);
}
END_TEST

/* An audit record without a hash is undecodable to the verifier but counted by the report
 * (arbiterctl report), which copied its hash from a NULL pointer: undefined, reported by UBSan
 * (found by tests/fuzz/fuzz_ledger). The record is counted and its chain's head has no hash. */
START_TEST(a_record_without_a_hash_is_counted_without_one)
{
	char *data = NULL;
	size_t len = 0;
	ck_assert_int_eq(ydoc_read_file(HOSTILE "audit-record-without-hash.pb", 4096, &data, &len),
			 0);
	struct ledger_verifier *v = ledger_verifier_new();
	ck_assert_ptr_nonnull(v);
	struct ledger_fed fed;
	ck_assert_int_eq(ledger_verify_feed(v, 0, 0, (const uint8_t *)data, len, NULL, &fed), 0);
	ck_assert_ptr_nonnull(fed.record);
	ck_assert_int_eq(fed.brk, LEDGER_UNDECODABLE);
	ck_assert_uint_eq(fed.record->hash.len, 0);

	const int64_t from = 1767225600000LL; /* 2026-01-01, one day */
	struct report_meta meta = {.generated_ms = from};
	struct report *r = NULL;
	ck_assert_int_eq(report_new(from, from + 86400000LL, &meta, &r), 0);
	ck_assert_int_eq(report_add_audit(r, fed.record, fed.brk != LEDGER_OK), 0);
	const struct ledger_chain_report *reps;
	size_t n = ledger_verify_reports(v, &reps);
	ck_assert_int_eq(report_set_verification(r, reps, n), 0);
	const struct report_figures *f = report_finish(r);
	ck_assert_uint_eq(f->in_period, 1);
	ck_assert_uint_eq(f->at_breaks, 1);
	/* The record's own chain, and the verifier's name for where the undecodable one was. */
	ck_assert_uint_eq(f->n_chains, 2);
	ck_assert_str_eq(f->chains[0].name, "audit-0");
	ck_assert_str_eq(f->chains[1].name, "partition 0");
	ck_assert(f->chains[0].has_head);
	static const uint8_t zero[LEDGER_HASH_LEN];
	ck_assert_mem_eq(f->chains[0].head_hash, zero, LEDGER_HASH_LEN);

	report_free(r);
	arbiter__v1__audit_record__free_unpacked(fed.record, NULL);
	ledger_verifier_free(v);
	free(data);
}
END_TEST

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static Suite *hostile_suite(void)
{
	Suite *s = suite_create("hostile");
	TCase *tc = tcase_create("inputs");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, yaml_that_broke_libfyaml);
	tcase_add_test(tc, escaped_strings_in_test_events);
	tcase_add_test(tc, deep_conditions_in_rule_files);
	tcase_add_test(tc, a_nul_byte_cannot_hide_text);
	tcase_add_test(tc, a_map_key_given_twice_is_refused_in_both_formats);
	tcase_add_test(tc, a_map_key_given_twice_is_found_in_maps_of_any_size);
	tcase_add_test(tc, times_out_of_range_are_refused);
	tcase_add_test(tc, free_text_and_ids_are_bounded);
	tcase_add_test(tc, a_record_without_a_hash_is_counted_without_one);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return EXIT_FAILURE;
	}
	SRunner *sr = srunner_create(hostile_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
