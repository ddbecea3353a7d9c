/* Integration: arbiterctl report on a real ledger (the samples through arbiterd on a mock
 * cluster) agrees with audit verify and audit export --dsa; a broken ledger gives no report. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include <check.h>
#include <dirent.h>
#include <glob.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arbiter/v1/audit_record.pb-c.h"
#include "dsa.h"
#include "harness.h"
#include "ledger.h"
#include "redis_server.h"
#include "report.h"

/* The review: section of the shipped config and the shipped rule files, as
 * test_samples_ledger runs them, with a pseudonym key. */
static char *shipped_extra(void)
{
	FILE *f = fopen(TEST_CONFIGDIR "/arbiter.yaml", "r");
	ck_assert_ptr_nonnull(f);
	char *out = NULL;
	size_t len = 0;
	FILE *o = open_memstream(&out, &len);
	fputs("monitors:\n  modes: [election-ke]\n  pseudonym_key: monitors-test-key\n"
	      "rules:\n  files:\n",
	      o);
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

/* Runs arbiterctl ARGS, stdout to OUT_PATH (or /dev/null), stderr to ERR_PATH;
 * returns its exit status. */
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
	ck_assert_msg(f != NULL, "cannot open %s", path);
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

static size_t count_lines(const char *text)
{
	size_t n = 0;
	for (const char *p = text; *p; p++)
		n += *p == '\n';
	return n;
}

/* The earliest and latest application time of the audit topic's records. */
struct span {
	int64_t min, max;
	size_t n;
};

static void span_msg(void *opaque, const rd_kafka_message_t *m)
{
	struct span *s = opaque;
	Arbiter__V1__AuditRecord *r = arbiter__v1__audit_record__unpack(NULL, m->len, m->payload);
	ck_assert_ptr_nonnull(r);
	int64_t t = report_record_time(r);
	if (!s->n || t < s->min)
		s->min = t;
	if (!s->n || t > s->max)
		s->max = t;
	s->n++;
	arbiter__v1__audit_record__free_unpacked(r, NULL);
}

/* The DSA part's TOTAL row's measures (its sixth cell). */
static long total_measures(const char *path)
{
	char *text = slurp(path);
	char *row = strstr(text, ",TOTAL,");
	ck_assert_ptr_nonnull(row);
	long v = strtol(row + strlen(",TOTAL,,"), NULL, 10);
	free(text);
	return v;
}

START_TEST(report_agrees_with_verify_and_export_on_the_samples_ledger)
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

	char args[2048], out[600], err[400], dir[400], key[400];
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

	/* audit verify: the record count. */
	snprintf(out, sizeof(out), "%s/verify.out", h.dir);
	snprintf(args, sizeof(args), "audit verify --brokers %s", h.bootstrap);
	ck_assert_int_eq(ctl(out, err, args), 0);
	char *text = slurp(out);
	char *summary = strstr(text, " chain(s), ");
	ck_assert_ptr_nonnull(summary);
	while (summary > text && summary[-1] != '\n')
		summary--;
	unsigned long chains = 0, records = 0;
	ck_assert_int_eq(sscanf(summary, "%lu chain(s), %lu record(s)", &chains, &records), 2);
	ck_assert_uint_gt(records, 100);
	free(text);

	/* audit export --dsa: the statement count. */
	snprintf(out, sizeof(out), "%s/dsa.jsonl", h.dir);
	snprintf(args, sizeof(args), "audit export --dsa --brokers %s", h.bootstrap);
	ck_assert_int_eq(ctl(out, err, args), 0);
	text = slurp(err);
	unsigned long statements = 0;
	char *said = strstr(text, "audit export: ");
	ck_assert_ptr_nonnull(said);
	ck_assert_int_eq(sscanf(said, "audit export: %lu statement(s)", &statements), 1);
	ck_assert_uint_gt(statements, 100);
	free(text);

	/* The report over every day the ledger has. */
	struct span sp = {0};
	harness_read(&h, "moderation.audit", span_msg, &sp);
	ck_assert_uint_eq(sp.n, records);
	char from[11], to[11];
	report_format_date(from, sp.min);
	report_format_date(to, sp.max);
	snprintf(dir, sizeof(dir), "%s/report", h.dir);
	snprintf(key, sizeof(key), "%s/dataset.key", h.dir);
	FILE *kf = fopen(key, "w");
	fputs("dataset-key\n", kf);
	fclose(kf);
	snprintf(out, sizeof(out), "%s/report.out", h.dir);
	snprintf(args, sizeof(args),
		 "report --brokers %s --from %s --to %s --out %s --dataset --key-file %s "
		 "--provider 'Example Ltd' --service Example",
		 h.bootstrap, from, to, dir, key);
	int rc = ctl(out, err, args);
	text = slurp(out);
	char *errs = slurp(err);
	ck_assert_msg(rc == 0, "report exited %d:\n%s%s", rc, text, errs);
	ck_assert_ptr_nonnull(strstr(text, ": intact\n"));
	free(text);
	free(errs);

	/* The same records, the same chains, the same statements. */
	snprintf(out, sizeof(out), "%s/santaclara.json", dir);
	json_error_t jerr;
	json_t *j = json_load_file(out, 0, &jerr);
	ck_assert_msg(j != NULL, "%s", jerr.text);
	json_t *ledger = json_object_get(j, "ledger");
	ck_assert(json_is_true(json_object_get(ledger, "intact")));
	ck_assert_int_eq(json_integer_value(json_object_get(ledger, "records")),
			 (json_int_t)records);
	ck_assert_int_eq(json_integer_value(json_object_get(ledger, "records_in_period")),
			 (json_int_t)records);
	ck_assert_uint_eq(json_array_size(json_object_get(ledger, "chains")), chains);
	json_t *st = json_object_get(j, "statements");
	json_int_t due = json_integer_value(json_object_get(st, "due"));
	ck_assert_int_eq(json_integer_value(json_object_get(st, "incomplete")), 0);
	ck_assert_int_eq(due, (json_int_t)statements);
	/* Every chain states its head at the period's end: the last record. */
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(ledger, "chains"), i, c)
	{
		json_t *head = json_object_get(c, "head_at_period_end");
		json_t *ver = json_object_get(c, "verification");
		ck_assert_str_eq(json_string_value(json_object_get(ver, "status")), "ok");
		ck_assert_int_eq(json_integer_value(json_object_get(head, "sequence")),
				 json_integer_value(json_object_get(ver, "head_sequence")));
		ck_assert_str_eq(json_string_value(json_object_get(head, "hash")),
				 json_string_value(json_object_get(ver, "head_hash")));
	}
	/* The DSA template's measures add up to the statements exported. */
	snprintf(out, sizeof(out), "%s/dsa_part05_own_initiative_illegal.csv", dir);
	long own = total_measures(out);
	snprintf(out, sizeof(out), "%s/dsa_part06_own_initiative_TC.csv", dir);
	own += total_measures(out);
	ck_assert_int_eq(own + json_integer_value(json_object_get(st, "on_complaint")) +
				 json_integer_value(json_object_get(st, "on_notice")),
			 (long)statements);
	/* Appeals were filed and decided by the sample decisions. */
	ck_assert_int_gt(
		json_integer_value(json_object_get(json_object_get(j, "appeals"), "filed")), 0);
	json_decref(j);

	/* One data set row per record of the period, and no text. */
	snprintf(out, sizeof(out), "%s/dataset.csv", dir);
	text = slurp(out);
	ck_assert_uint_eq(count_lines(text), records + 1);
	ck_assert_ptr_null(strstr(text, "Credible threat of physical harm"));
	ck_assert_ptr_null(strstr(text, "c-89ab358f3bb2")); /* a content id of the samples */
	/* The rules' records name their author (monitors.pseudonym_key is set):
	 * the data set has its pseudonym, column author_pseudonym. */
	size_t authors = 0;
	for (char *line = strstr(text, "\r\n") + 2; *line; line = strstr(line, "\r\n") + 2) {
		char *cell = line;
		for (int col = 0; col < 36 && cell; col++)
			cell = strchr(cell, ',') ? strchr(cell, ',') + 1 : NULL;
		ck_assert_ptr_nonnull(cell);
		authors += !strncmp(line, "action,", 7) && cell[0] != ',' &&
			   strspn(cell, "0123456789abcdef") == 64;
	}
	ck_assert_uint_gt(authors, 0);
	free(text);
	/* Every output, and nothing left half-written. */
	static const char *const files[] = {"dsa_part01_summary.csv",
					    "dsa_part05_own_initiative_illegal.csv",
					    "dsa_part11_qualitative.csv",
					    "santaclara.csv",
					    "report.html",
					    "dataset.csv"};
	for (size_t k = 0; k < sizeof(files) / sizeof(files[0]); k++) {
		snprintf(out, sizeof(out), "%s/%s", dir, files[k]);
		free(slurp(out));
	}
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n_files = 0;
	while ((e = readdir(d))) {
		ck_assert_msg(!strstr(e->d_name, ".tmp"), "left over: %s", e->d_name);
		n_files += e->d_name[0] != '.';
	}
	closedir(d);
	ck_assert_uint_eq(n_files, 11 + 2 + 1 + 1);

	/* A filtered data set: Kenya only. */
	snprintf(dir, sizeof(dir), "%s/report-ke", h.dir);
	snprintf(args, sizeof(args),
		 "report --brokers %s --from %s --to %s --out %s --format html --dataset "
		 "--key-file %s --country KE",
		 h.bootstrap, from, to, dir, key);
	ck_assert_int_eq(ctl(NULL, err, args), 0);
	snprintf(out, sizeof(out), "%s/dataset.csv", dir);
	text = slurp(out);
	size_t rows = count_lines(text) - 1;
	ck_assert_uint_gt(rows, 0);
	ck_assert_uint_lt(rows, records);
	/* The country column holds KE on every row. */
	for (char *line = strstr(text, "\r\n") + 2; *line; line = strstr(line, "\r\n") + 2)
		ck_assert_msg(strstr(line, ",KE,") && strstr(line, ",KE,") < strstr(line, "\r\n"),
			      "%.200s", line);
	free(text);
	harness_stop(&h);
	redis_server_stop(&rs);
}
END_TEST

/* Records 0..N-1 of CHAIN on the audit topic; record ALTER (-1: none) is
 * changed after it was hashed. */
static void produce_chain(struct harness *h, const char *chain, int n, int alter, int64_t t0)
{
	uint8_t prev[LEDGER_HASH_LEN];
	for (int i = 0; i < n; i++) {
		char id[64];
		snprintf(id, sizeof(id), "%s-%04d", chain, i);
		Arbiter__V1__AuditRecord r = ARBITER__V1__AUDIT_RECORD__INIT;
		r.record_id = id;
		r.content_id = id;
		r.kind = ARBITER__V1__DECISION_KIND__ACTION;
		r.action = ARBITER__V1__ACTION__REMOVE;
		r.actor = ARBITER__V1__ACTOR__AUTOMATED;
		r.category = "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH";
		r.ground = ARBITER__V1__GROUND__ILLEGAL_CONTENT;
		r.legal_ground = "StGB §130";
		r.explanation = "incitement to hatred";
		r.decided_at_ms = t0 + i * 3600000LL;
		r.recorded_at_ms = r.decided_at_ms;
		Arbiter__V1__ContentEvent ev = ARBITER__V1__CONTENT_EVENT__INIT;
		ev.content_type = ARBITER__V1__CONTENT_TYPE__TEXT;
		ev.lang = "de";
		ev.country = "DE";
		ev.created_at_ms = r.decided_at_ms - 60000;
		struct dsa_input in = {.event = &ev, .automated_detection = true};
		struct dsa_scratch s;
		ck_assert_int_eq(dsa_fill(&r, &in, &s), 0);
		uint8_t hash[LEDGER_HASH_LEN];
		ck_assert_int_eq(ledger_link(&r, chain, (uint64_t)i, i ? prev : NULL, hash), 0);
		if (i == alter)
			r.explanation = "nothing unlawful";
		harness_produce_msg(h, "moderation.audit", chain, &r.base);
		memcpy(prev, hash, sizeof(prev));
	}
	harness_flush(h);
}

START_TEST(a_broken_ledger_gives_no_report_unless_allowed)
{
	struct harness h;
	harness_start(&h, 3);
	FILE *log = fopen(h.log, "w");
	fclose(log);
	int64_t t0;
	ck_assert_int_eq(report_day_start("2026-03-02", &t0), 0);
	produce_chain(&h, "audit-0", 30, 7, t0);
	produce_chain(&h, "audit-1", 10, -1, t0);
	char args[1024], out[600], err[400], dir[400];
	snprintf(out, sizeof(out), "%s/ctl.out", h.dir);
	snprintf(err, sizeof(err), "%s/ctl.err", h.dir);
	snprintf(dir, sizeof(dir), "%s/report", h.dir);
	snprintf(args, sizeof(args),
		 "report --brokers %s --from 2026-03-01 --to 2026-03-31 --out %s", h.bootstrap,
		 dir);
	ck_assert_int_eq(ctl(out, err, args), 1);
	char *text = slurp(err);
	ck_assert_ptr_nonnull(strstr(text, "1 chain(s) broken; no report written"));
	ck_assert_ptr_nonnull(strstr(text, "audit-0: "));
	ck_assert_ptr_nonnull(strstr(text, "altered at partition "));
	ck_assert_ptr_nonnull(strstr(text, " offset 7: sequence 7: its hash does not match"));
	free(text);
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d)))
		ck_assert_msg(e->d_name[0] == '.', "written: %s", e->d_name);
	if (d)
		closedir(d);

	snprintf(args, sizeof(args),
		 "report --brokers %s --from 2026-03-01 --to 2026-03-31 --out %s --allow-breaks "
		 "--format html,santaclara",
		 h.bootstrap, dir);
	ck_assert_int_eq(ctl(out, err, args), 0);
	snprintf(out, sizeof(out), "%s/report.html", dir);
	text = slurp(out);
	char *broken = strstr(text, "Ledger BROKEN: 1 chain(s) with breaks");
	ck_assert_ptr_nonnull(broken);
	ck_assert_ptr_nonnull(strstr(text, "<b>audit-0</b>: altered at partition "));
	ck_assert(broken < strstr(text, "id=\"chart-actions\""));
	free(text);
	snprintf(out, sizeof(out), "%s/santaclara.json", dir);
	json_error_t jerr;
	json_t *j = json_load_file(out, 0, &jerr);
	ck_assert_ptr_nonnull(j);
	json_t *ledger = json_object_get(j, "ledger");
	ck_assert(json_is_false(json_object_get(ledger, "intact")));
	ck_assert_int_eq(json_integer_value(json_object_get(ledger, "records")), 40);
	ck_assert_int_eq(json_integer_value(json_object_get(ledger, "records_at_breaks_in_period")),
			 1);
	ck_assert_int_eq(
		json_integer_value(json_object_get(json_object_get(j, "actions"), "total")), 40);
	json_decref(j);
	/* Only what --format named. */
	snprintf(out, sizeof(out), "%s/dsa_part01_summary.csv", dir);
	FILE *f = fopen(out, "r");
	ck_assert_ptr_null(f);

	/* A period before the ledger: zeros, the heads "none yet". */
	snprintf(args, sizeof(args),
		 "report --brokers %s --from 2026-01-01 --to 2026-01-31 --out %s --allow-breaks "
		 "--format santaclara",
		 h.bootstrap, dir);
	snprintf(out, sizeof(out), "%s/ctl.out", h.dir);
	ck_assert_int_eq(ctl(out, err, args), 0);
	snprintf(out, sizeof(out), "%s/santaclara.json", dir);
	j = json_load_file(out, 0, &jerr);
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(
		json_integer_value(json_object_get(json_object_get(j, "actions"), "total")), 0);
	json_t *c0 = json_array_get(json_object_get(json_object_get(j, "ledger"), "chains"), 0);
	ck_assert(json_is_null(json_object_get(c0, "head_at_period_end")));
	json_decref(j);
	harness_stop(&h);
}
END_TEST

START_TEST(usage_errors_exit_2)
{
	char err[] = "/tmp/arbiter-report-usage.XXXXXX";
	int fd = mkstemp(err);
	ck_assert_int_ge(fd, 0);
	close(fd);
	static const char *const bad[] = {
		"report",
		"report --brokers 127.0.0.1:1",
		"report --out /tmp/x",
		"report --brokers 127.0.0.1:1 --out /tmp/x --from 2026-13-01 --to 2026-12-31",
		"report --brokers 127.0.0.1:1 --out /tmp/x --from 2026-02-01",
		"report --brokers 127.0.0.1:1 --out /tmp/x --from 2026-03-01 --to 2026-02-01",
		"report --brokers 127.0.0.1:1 --out /tmp/x --format pdf",
		"report --brokers 127.0.0.1:1 --out /tmp/x --country KE",
		"report --brokers 127.0.0.1:1 --out /tmp/x --dataset --country KEN",
		"report --brokers 127.0.0.1:1 --out /tmp/x --from 2000-01-01 --to 2020-12-31",
		"report --brokers 127.0.0.1:1 --out /tmp/x --dataset",
		"report --brokers 127.0.0.1:1 --out /tmp/x extra",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = ctl(NULL, err, bad[i]);
		char *text = slurp(err);
		ck_assert_msg(rc == 2, "'%s' exited %d:\n%s", bad[i], rc, text);
		ck_assert_msg(strstr(text, "arbiterctl report: "), "%s", text);
		free(text);
	}
	ck_assert_int_eq(ctl(NULL, err, "report --help"), 0);
	unlink(err);
}
END_TEST

static Suite *report_cli_suite(void)
{
	Suite *s = suite_create("report_cli");
	TCase *tc = tcase_create("report");
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, report_agrees_with_verify_and_export_on_the_samples_ledger);
	tcase_add_test(tc, a_broken_ledger_gives_no_report_unless_allowed);
	tcase_add_test(tc, usage_errors_exit_2);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(report_cli_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
