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

	struct harness_run run;
	ck_assert_msg(harness_ctl(&run, NULL,
				  "produce --brokers %s --topic content.events --send-invalid "
				  "< %s/samples/content.jsonl",
				  h.bootstrap, TEST_CONFIGDIR) == 0,
		      "%s", run.err);
	harness_run_free(&run);
	ck_assert_msg(
		harness_ctl(&run, NULL,
			    "produce --brokers %s --topic moderation.decisions --send-invalid "
			    "< %s/samples/decisions.jsonl",
			    h.bootstrap, TEST_CONFIGDIR) == 0,
		"%s", run.err);
	harness_run_free(&run);
	ck_assert(harness_wait_committed(&h, "content.events", 60));
	ck_assert(harness_wait_committed(&h, "moderation.decisions", 60));
	ck_assert_int_eq(harness_daemon_stop(&h, SIGTERM), 0);

	/* Every chain intact. */
	int rc = harness_ctl(&run, NULL, "audit verify --brokers %s", h.bootstrap);
	ck_assert_msg(rc == 0, "audit verify exited %d:\n%s", rc, run.out);
	ck_assert_msg(strstr(run.out, "content.events/") &&
			      strstr(run.out, "moderation.decisions/") &&
			      strstr(run.out, ": intact"),
		      "%s", run.out);
	harness_run_free(&run);

	/* Every statement the export writes passes the API's field list, values
	 * and conditions, none is left out, and batches hold at most 100. */
	ck_assert_int_eq(harness_ctl(&run, NULL, "audit export --dsa --brokers %s", h.bootstrap),
			 0);
	FILE *f = fmemopen(run.out, strlen(run.out), "r");
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
	ck_assert_msg(strstr(run.err, " 0 refused, 0 undecodable"), "%s", run.err);
	harness_run_free(&run);
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
	return harness_main(samples_suite());
}
