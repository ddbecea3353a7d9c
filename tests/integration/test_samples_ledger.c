/* Integration: the shipped sample traffic through arbiterd with the shipped rules and queues,
 * then the ledger as an auditor reads it: verify clean, every exported statement valid. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include <check.h>
#include <glob.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "dsa.h"
#include "harness.h"
#include "redis_server.h"

/* The review: section of the shipped config, verbatim, and the shipped
 * rule files: the queues the sample rules escalate to. */
static char *shipped_extra(void)
{
	FILE *f = fopen(TEST_CONFIGDIR "/arbiter.yaml", "r");
	ck_assert_ptr_nonnull(f);
	char *out = NULL;
	size_t len = 0;
	FILE *o = open_memstream(&out, &len);
	fputs("rules:\n  files:\n", o);
	glob_t g;
	ck_assert_int_eq(glob(TEST_CONFIGDIR "/rules/*.yaml", 0, NULL, &g), 0);
	for (size_t i = 0; i < g.gl_pathc; i++)
		fprintf(o, "    - %s\n", g.gl_pathv[i]);
	globfree(&g);
	char line[1024];
	bool in = false;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] != ' ' && line[0] != '#' && line[0] != '\n')
			in = !strncmp(line, "review:", 7);
		if (in)
			fputs(line, o);
	}
	fclose(f);
	fclose(o);
	return out;
}

/* Runs arbiterctl ARGS with stdout to OUT_PATH (when not NULL) and stderr to
 * ERR_PATH; returns its exit status. */
static int ctl(const char *out_path, const char *err_path, const char *args)
{
	char *cmd = NULL;
	ck_assert_int_ge(asprintf(&cmd, "%s %s >%s 2>%s", getenv("ARBITERCTL"), args,
				  out_path ? out_path : "/dev/null", err_path),
			 0);
	int st = system(cmd);
	free(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	char *buf = NULL;
	size_t len = 0;
	FILE *o = open_memstream(&buf, &len);
	int c;
	while ((c = fgetc(f)) != EOF)
		fputc(c, o);
	fclose(f);
	fclose(o);
	return buf;
}

START_TEST(sample_traffic_leaves_a_verifiable_ledger_and_valid_statements)
{
	struct harness h;
	struct redis_server rs;
	harness_start(&h, 4);
	redis_server_start(&rs);
	h.redis_address = rs.address;
	char *extra = shipped_extra();
	harness_write_config(&h, extra);
	free(extra);
	harness_daemon_start(&h);

	char args[1024], out[400], err[400];
	snprintf(err, sizeof(err), "%s/ctl.err", h.dir);
	snprintf(
		args, sizeof(args),
		"produce --brokers %s --topic content.events --send-invalid < %s/samples/content.jsonl",
		h.bootstrap, TEST_CONFIGDIR);
	ck_assert_int_eq(ctl(NULL, err, args), 0);
	snprintf(args, sizeof(args),
		 "produce --brokers %s --topic moderation.decisions --send-invalid "
		 "< %s/samples/decisions.jsonl",
		 h.bootstrap, TEST_CONFIGDIR);
	ck_assert_int_eq(ctl(NULL, err, args), 0);
	ck_assert(harness_wait_committed(&h, "content.events", 60));
	ck_assert(harness_wait_committed(&h, "moderation.decisions", 60));
	ck_assert_int_eq(harness_daemon_stop(&h, SIGTERM), 0);

	/* Every chain intact. */
	snprintf(out, sizeof(out), "%s/verify.out", h.dir);
	snprintf(args, sizeof(args), "audit verify --brokers %s", h.bootstrap);
	int rc = ctl(out, err, args);
	char *text = slurp(out);
	ck_assert_msg(rc == 0, "audit verify exited %d:\n%s", rc, text);
	ck_assert_msg(strstr(text, "content.events/") && strstr(text, "moderation.decisions/") &&
			      strstr(text, ": intact"),
		      "%s", text);
	free(text);

	/* Every statement the export writes passes the API's field list, values
	 * and conditions, none is left out, and batches hold at most 100. */
	snprintf(out, sizeof(out), "%s/dsa.jsonl", h.dir);
	snprintf(args, sizeof(args), "audit export --dsa --brokers %s", h.bootstrap);
	ck_assert_int_eq(ctl(out, err, args), 0);
	FILE *f = fopen(out, "r");
	ck_assert_ptr_nonnull(f);
	char *line = NULL;
	size_t cap = 0;
	size_t statements = 0, batches = 0;
	while (getline(&line, &cap, f) > 0) {
		json_error_t e;
		json_t *body = json_loads(line, 0, &e);
		ck_assert_msg(body != NULL, "not JSON: %s", e.text);
		ck_assert_int_eq(json_object_size(body), 1);
		json_t *sts = json_object_get(body, "statements");
		ck_assert(json_is_array(sts));
		ck_assert_uint_ge(json_array_size(sts), 1);
		ck_assert_uint_le(json_array_size(sts), DSA_BATCH_MAX);
		for (size_t i = 0; i < json_array_size(sts); i++) {
			char why[256];
			ck_assert_msg(dsa_validate(json_array_get(sts, i), why, sizeof(why)) == 0,
				      "statement %zu: %s", statements, why);
			statements++;
		}
		batches++;
		json_decref(body);
	}
	free(line);
	fclose(f);
	ck_assert_uint_gt(statements, DSA_BATCH_MAX); /* more than one batch's worth */
	ck_assert_uint_eq(batches, (statements + DSA_BATCH_MAX - 1) / DSA_BATCH_MAX);
	text = slurp(err);
	ck_assert_msg(strstr(text, " 0 refused, 0 undecodable"), "%s", text);
	free(text);
	harness_stop(&h);
	redis_server_stop(&rs);
}
END_TEST

static Suite *samples_suite(void)
{
	Suite *s = suite_create("samples_ledger");
	TCase *tc = tcase_create("ledger");
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, sample_traffic_leaves_a_verifiable_ledger_and_valid_statements);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(samples_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
