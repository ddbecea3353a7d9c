/* Integration: arbiterctl audit verify and export --dsa against hash chains on a mock cluster. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arbiter/v1/audit_record.pb-c.h"
#include "dsa.h"
#include "harness.h"
#include "ledger.h"

#define AUDIT "moderation.audit"
/* 2025-03-01T00:00:00Z; record i is decided 6 h after record i-1. */
#define DAY0_MS 1740787200000LL
#define STEP_MS (6LL * 3600 * 1000)

/* Record i's action: eight of every ten restrict something and have a statement. */
static const Arbiter__V1__Action actions[10] = {
	ARBITER__V1__ACTION__REMOVE,       ARBITER__V1__ACTION__LABEL,
	ARBITER__V1__ACTION__NONE,         ARBITER__V1__ACTION__DEMOTE,
	ARBITER__V1__ACTION__RESTORE,      ARBITER__V1__ACTION__GEO_BLOCK,
	ARBITER__V1__ACTION__DEMONETIZE,   ARBITER__V1__ACTION__SUSPEND_ACCOUNT,
	ARBITER__V1__ACTION__AGE_RESTRICT, ARBITER__V1__ACTION__TERMINATE_ACCOUNT,
};
#define HAS_STATEMENT(i) ((i) % 10 != 2 && (i) % 10 != 4)

/* Writes records 0..N-1 of CHAIN to the audit topic, keyed by CHAIN so that
 * the chain lives in one partition, as the daemon writes it. Record ALTER
 * (-1: none) is changed after it was hashed; record DUP (-1: none) is
 * written twice, as after a crash. */
static void produce_chain(struct harness *h, const char *chain, int n, int alter, int dup)
{
	uint8_t prev[LEDGER_HASH_LEN];
	for (int i = 0; i < n; i++) {
		char id[64];
		snprintf(id, sizeof(id), "%s-%04d", chain, i);
		Arbiter__V1__AuditRecord r = ARBITER__V1__AUDIT_RECORD__INIT;
		r.record_id = id;
		r.content_id = id;
		r.kind = ARBITER__V1__DECISION_KIND__ACTION;
		r.action = actions[i % 10];
		r.actor = ARBITER__V1__ACTOR__AUTOMATED;
		r.category = "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH";
		r.ground = ARBITER__V1__GROUND__ILLEGAL_CONTENT;
		r.legal_ground = "StGB §130";
		r.explanation = "incitement to hatred";
		r.decided_at_ms = DAY0_MS + i * STEP_MS;
		r.recorded_at_ms = r.decided_at_ms;
		Arbiter__V1__ContentEvent ev = ARBITER__V1__CONTENT_EVENT__INIT;
		ev.content_type = ARBITER__V1__CONTENT_TYPE__TEXT;
		ev.lang = "de";
		ev.country = "DE";
		ev.created_at_ms = r.decided_at_ms - 3600 * 1000;
		struct dsa_input in = {.event = &ev, .automated_detection = true};
		struct dsa_scratch s;
		ck_assert_int_eq(dsa_fill(&r, &in, &s), 0);
		uint8_t hash[LEDGER_HASH_LEN];
		ck_assert_int_eq(ledger_link(&r, chain, (uint64_t)i, i ? prev : NULL, hash), 0);
		if (i == alter)
			r.explanation = "nothing unlawful";
		harness_produce_msg(h, AUDIT, chain, &r.base);
		if (i == dup)
			harness_produce_msg(h, AUDIT, chain, &r.base);
		memcpy(prev, hash, sizeof(prev));
	}
	harness_flush(h);
}

#define assert_contains(hay, needle)                                                               \
	ck_assert_msg(strstr((hay), (needle)) != NULL, "expected \"%s\" in:\n%s", (needle), (hay))

/* A cluster whose daemon log is empty: no daemon runs here, and harness_stop
 * prints the log's tail. */
static void start_cluster(struct harness *h)
{
	harness_start(h, 3);
	int fd = open(h->log, O_WRONLY | O_CREAT, 0644);
	ck_assert_int_ge(fd, 0);
	close(fd);
}

START_TEST(verify_passes_clean_chains_with_duplicates)
{
	struct harness h;
	start_cluster(&h);
	produce_chain(&h, "audit-0", 12, -1, 5);
	produce_chain(&h, "audit-1", 5, -1, -1);
	struct harness_run r;
	harness_ctlv(&r, NULL, (const char *[]){"audit", "verify", "--brokers", h.bootstrap, NULL});
	ck_assert_msg(r.status == 0, "verify exited %d:\n%s%s", r.status, r.out, r.err);
	assert_contains(r.out, "audit-0: 12 records, OK; 1 exact duplicate(s); head 11 ");
	assert_contains(r.out, "audit-1: 5 records, OK; head 4 ");
	assert_contains(r.out, "2 chain(s), 17 record(s), 1 exact duplicate(s), 0 fenced: intact");
	harness_run_free(&r);
	harness_stop(&h);
}
END_TEST

START_TEST(verify_names_the_chain_and_offset_of_an_altered_record)
{
	struct harness h;
	start_cluster(&h);
	produce_chain(&h, "audit-0", 8, 3, -1);
	produce_chain(&h, "audit-1", 4, -1, -1);
	struct harness_run r;
	harness_ctlv(&r, NULL,
		     (const char *[]){"audit", "verify", "--brokers", h.bootstrap, "--topic", AUDIT,
				      NULL});
	ck_assert_msg(r.status == 1, "verify exited %d:\n%s%s", r.status, r.out, r.err);
	assert_contains(r.out, "audit-0: 8 records, altered at partition ");
	assert_contains(r.out,
			" offset 3: sequence 3: its hash does not match its content; head 7 ");
	assert_contains(r.out, "audit-1: 4 records, OK");
	assert_contains(r.out, "BROKEN");
	harness_run_free(&r);
	harness_stop(&h);
}
END_TEST

/* Checks every line of OUT: one batch of at most DSA_BATCH_MAX statements
 * the API takes, with puids seen once. Returns the number of statements and
 * sets *BATCHES; the application dates must lie in [FROM, TO]. */
static size_t check_batches(const char *out, size_t *batches, const char *from, const char *to)
{
	size_t total = 0;
	*batches = 0;
	json_t *puids = json_object();
	for (const char *line = out; *line;) {
		const char *nl = strchr(line, '\n');
		ck_assert_msg(nl != NULL, "unterminated line: %s", line);
		json_error_t jerr;
		json_t *batch = json_loadb(line, (size_t)(nl - line), 0, &jerr);
		ck_assert_msg(batch != NULL, "bad JSON (%s): %.*s", jerr.text, (int)(nl - line),
			      line);
		ck_assert_uint_eq(json_object_size(batch), 1);
		json_t *sts = json_object_get(batch, "statements");
		ck_assert_msg(json_is_array(sts), "no statements array");
		ck_assert_uint_ge(json_array_size(sts), 1);
		ck_assert_uint_le(json_array_size(sts), DSA_BATCH_MAX);
		size_t i;
		json_t *st;
		json_array_foreach(sts, i, st)
		{
			char why[256] = "";
			ck_assert_msg(dsa_validate(st, why, sizeof(why)) == 0,
				      "statement %zu refused: %s", i, why);
			const char *puid = json_string_value(json_object_get(st, "puid"));
			ck_assert_msg(!json_object_get(puids, puid), "puid %s twice", puid);
			json_object_set_new(puids, puid, json_true());
			const char *date =
				json_string_value(json_object_get(st, "application_date"));
			ck_assert_msg(strcmp(date, from) >= 0 && strcmp(date, to) <= 0,
				      "%s outside [%s, %s]", date, from, to);
		}
		total += json_array_size(sts);
		(*batches)++;
		json_decref(batch);
		line = nl + 1;
	}
	json_decref(puids);
	return total;
}

START_TEST(export_writes_batches_of_valid_statements)
{
	struct harness h;
	start_cluster(&h);
	produce_chain(&h, "audit-0", 250, -1, 100);
	produce_chain(&h, "audit-1", 40, -1, -1);
	struct harness_run r;
	harness_ctlv(&r, NULL,
		     (const char *[]){"audit", "export", "--dsa", "--brokers", h.bootstrap, NULL});
	ck_assert_msg(r.status == 0, "export exited %d:\n%s", r.status, r.err);
	/* 8 of every 10 records have a statement; the duplicate is written once. */
	size_t batches, want = 200 + 32;
	size_t n = check_batches(r.out, &batches, "2025-03-01", "2025-06-01");
	ck_assert_uint_eq(n, want);
	ck_assert_uint_eq(batches, (want + DSA_BATCH_MAX - 1) / DSA_BATCH_MAX);
	assert_contains(r.err, "232 statement(s) in 3 batch(es); 0 refused");
	harness_run_free(&r);

	/* Records 4..11 of each chain were applied on 2 and 3 March; 4 is a RESTORE. */
	harness_ctlv(&r, NULL,
		     (const char *[]){"audit", "export", "--dsa", "--brokers", h.bootstrap,
				      "--from", "2025-03-02", "--to", "2025-03-03", NULL});
	ck_assert_msg(r.status == 0, "export exited %d:\n%s", r.status, r.err);
	ck_assert_uint_eq(check_batches(r.out, &batches, "2025-03-02", "2025-03-03"), 14);
	ck_assert_uint_eq(batches, 1);
	harness_run_free(&r);
	harness_stop(&h);
}
END_TEST

/* Writes TEXT to the harness directory's NAME; returns its path (static storage). */
static const char *write_file(struct harness *h, const char *name, const char *text)
{
	static char path[4][400];
	static int next;
	char *p = path[next++ % 4];
	snprintf(p, sizeof(path[0]), "%s/%s", h->dir, name);
	FILE *f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	return p;
}

START_TEST(verify_and_export_use_the_configs_client_settings)
{
	struct harness h;
	start_cluster(&h);
	produce_chain(&h, "audit-0", 4, -1, -1);
	ck_assert_int_eq(kafka_mock_topic_create(h.mock, "ledger.audit", 2), 0);
	char text[1024];
	/* Brokers and the audit topic from the config: an empty ledger of its own. */
	snprintf(text, sizeof(text), "kafka:\n  brokers: \"%s\"\n  topics: {audit: ledger.audit}\n",
		 h.bootstrap);
	const char *plain = write_file(&h, "plain.yaml", text);
	struct harness_run r;
	harness_ctlv(&r, NULL, (const char *[]){"audit", "verify", "--config", plain, NULL});
	ck_assert_msg(r.status == 0, "verify exited %d:\n%s%s", r.status, r.out, r.err);
	assert_contains(r.out, "0 chain(s), 0 record(s), 0 exact duplicate(s)");
	assert_contains(r.out, ": intact\n");
	harness_run_free(&r);
	/* --topic and --brokers override the config's. */
	snprintf(text, sizeof(text),
		 "kafka:\n  brokers: \"127.0.0.1:1\"\n  topics: {audit: ledger.audit}\n");
	const char *elsewhere = write_file(&h, "elsewhere.yaml", text);
	harness_ctlv(&r, NULL,
		     (const char *[]){"audit", "export", "--dsa", "--config", elsewhere,
				      "--brokers", h.bootstrap, "--topic", AUDIT, NULL});
	ck_assert_msg(r.status == 0, "export exited %d:\n%s", r.status, r.err);
	assert_contains(r.err, "3 statement(s) in 1 batch(es)");
	harness_run_free(&r);

	/* The cluster's security settings, as deploy/kubernetes gives them to arbiterd:
	 * SASL/PLAIN with the password in a file. The mock cluster speaks no SASL, so the
	 * client fails at the handshake it attempts, and says whose client it is. */
	write_file(&h, "auditor.pw", "correct-horse\n");
	snprintf(text, sizeof(text),
		 "kafka:\n"
		 "  brokers: \"%s\"\n"
		 "  client_id: auditor-cli\n"
		 "  properties:\n"
		 "    security.protocol: sasl_plaintext\n"
		 "    sasl.mechanisms: PLAIN\n"
		 "    sasl.username: auditor\n"
		 "    sasl.password: {file: auditor.pw}\n",
		 h.bootstrap);
	const char *sasl = write_file(&h, "sasl.yaml", text);
	harness_ctlv(&r, NULL, (const char *[]){"audit", "verify", "--config", sasl, NULL});
	ck_assert_msg(r.status == 1, "verify exited %d:\n%s%s", r.status, r.out, r.err);
	assert_contains(r.err, "auditor-cli#consumer");
	assert_contains(r.err, "sasl_plaintext://");
	assert_contains(r.err, "SASL");
	assert_contains(r.err, "mechanism PLAIN");
	ck_assert_msg(!strstr(r.err, "correct-horse") && !strstr(r.out, "correct-horse"),
		      "the password was printed:\n%s", r.err);
	assert_contains(r.out, "could not read the whole topic");
	harness_run_free(&r);
	/* The same without the properties reads the ledger. */
	harness_ctlv(
		&r, NULL,
		(const char *[]){"audit", "verify", "--config", plain, "--topic", AUDIT, NULL});
	ck_assert_msg(r.status == 0, "verify exited %d:\n%s%s", r.status, r.out, r.err);
	assert_contains(r.out, "1 chain(s), 4 record(s)");
	harness_run_free(&r);
	harness_stop(&h);
}
END_TEST

START_TEST(usage_errors_exit_2)
{
	struct harness h;
	start_cluster(&h);
	const char *const *bad[] = {
		(const char *[]){"audit", NULL},
		(const char *[]){"audit", "check", "--brokers", h.bootstrap, NULL},
		(const char *[]){"audit", "verify", NULL},
		(const char *[]){"audit", "export", "--brokers", h.bootstrap, NULL},
		(const char *[]){"audit", "verify", "--dsa", "--brokers", h.bootstrap, NULL},
		(const char *[]){"audit", "export", "--dsa", "--brokers", h.bootstrap, "--from",
				 "2025-13-01", NULL},
		(const char *[]){"audit", "export", "--dsa", "--brokers", h.bootstrap, "--from",
				 "2025-03-02", "--to", "2025-03-01", NULL},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct harness_run r;
		harness_ctlv(&r, NULL, bad[i]);
		ck_assert_msg(r.status == 2, "case %zu exited %d:\n%s", i, r.status, r.err);
		assert_contains(r.err, "Usage: arbiterctl audit verify");
		harness_run_free(&r);
	}
	struct harness_run r;
	harness_ctlv(&r, NULL, (const char *[]){"audit", "--help", NULL});
	ck_assert_int_eq(r.status, 0);
	assert_contains(r.out, "export --dsa");
	harness_run_free(&r);
	harness_stop(&h);
}
END_TEST

static Suite *audit_cli_suite(void)
{
	Suite *s = suite_create("audit_cli");
	TCase *tc = tcase_create("audit");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, verify_passes_clean_chains_with_duplicates);
	tcase_add_test(tc, verify_names_the_chain_and_offset_of_an_altered_record);
	tcase_add_test(tc, export_writes_batches_of_valid_statements);
	tcase_add_test(tc, usage_errors_exit_2);
	tcase_add_test(tc, verify_and_export_use_the_configs_client_settings);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return harness_main(audit_cli_suite());
}
