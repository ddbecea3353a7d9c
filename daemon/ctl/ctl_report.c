/* arbiterctl report: transparency reports of a period from the verified audit ledger. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arbiter/v1/appeal_record.pb-c.h"
#include "config.h"
#include "ctl.h"
#include "ledger.h"
#include "log.h"
#include "report.h"
#include "report_csv.h"
#include "report_dataset.h"
#include "report_html.h"
#include "report_santaclara.h"

#define CTL_REPORT_AUDIT "moderation.audit"
#define CTL_REPORT_APPEALS "moderation.appeals"
#define CTL_REPORT_KEY_MAX 65536

/* What the command line asked for. */
struct ctl_report_args {
	const char *config;  /* or NULL */
	const char *brokers; /* or NULL: the config's */
	const char *from, *to;
	const char *out;
	bool dsa, santaclara, html, dataset;
	bool allow_breaks;
	const char *key_file;
	const char *country, *mode;
	const char *provider, *service;
};

static void ctl_report_usage(FILE *out)
{
	fputs("Usage: arbiterctl report --out DIR [--brokers B] [--config CONFIG]\n"
	      "           [--from DATE] [--to DATE] [--format dsa,santaclara,html]\n"
	      "           [--dataset [--key-file F] [--country CC] [--mode MODE]]\n"
	      "           [--allow-breaks] [--provider NAME] [--service NAME]\n"
	      "\n"
	      "Reads the audit ledger (moderation.audit) and the appeal records\n"
	      "(moderation.appeals) from their start, read committed, verifies every hash\n"
	      "chain, and writes the transparency reports of the period into DIR:\n"
	      "  dsa_part01_summary.csv ... dsa_part11_qualitative.csv\n"
	      "                  the DSA harmonised template (Implementing Regulation (EU)\n"
	      "                  2024/2835, Annex I), one file per part; rows the ledger\n"
	      "                  cannot know are present and say \"Not from this source\"\n"
	      "  santaclara.json, santaclara.csv   Santa Clara Principles numbers\n"
	      "  report.html     one self-contained page with charts\n"
	      "  dataset.csv     (--dataset) one row per action or appeal, pseudonymised\n"
	      "A ledger with a break gives no report (exit 1) unless --allow-breaks; the\n"
	      "report then says where the breaks are on its first page. It states each\n"
	      "chain's head (sequence and hash) at the period's end.\n"
	      "\n"
	      "  -b, --brokers B      bootstrap servers (default: kafka.brokers of CONFIG)\n"
	      "  -c, --config CONFIG  topics, brokers, kafka.properties and\n"
	      "                       monitors.pseudonym_key of the daemon's config\n"
	      "      --from DATE      first day of the period, YYYY-MM-DD (UTC)\n"
	      "      --to DATE        last day of the period, inclusive (default: the last\n"
	      "                       calendar month)\n"
	      "  -o, --out DIR        where the files go (made if missing)\n"
	      "      --format LIST    dsa, santaclara, html, comma-separated (default: all)\n"
	      "      --dataset        also the research data set\n"
	      "      --key-file F     its pseudonym key (default: monitors.pseudonym_key)\n"
	      "      --country CC     data set rows of this country only\n"
	      "      --mode MODE      data set rows made while MODE was active only\n"
	      "      --allow-breaks   report a broken ledger, saying where it is broken\n"
	      "      --provider NAME, --service NAME   for the DSA template and the page\n"
	      "Exit 0 when written, 1 on a break or a read error, 2 on a usage error.\n",
	      out);
}

/* Parses ARGV into A. Returns -1 to go on, or the exit status. */
static void ctl_report_usage_cmd(FILE *out, const char *name)
{
	(void)name;
	ctl_report_usage(out);
}

/* Sets A's formats from the --format list FORMAT. Returns NULL or what is wrong. */
static const char *ctl_report_formats(struct ctl_report_args *a, const char *format)
{
	a->dsa = a->santaclara = a->html = false;
	const char *bad = NULL;
	char *list = strdup(format), *save = NULL;
	for (char *w = list ? strtok_r(list, ",", &save) : NULL; w && !bad;
	     w = strtok_r(NULL, ",", &save)) {
		if (!strcmp(w, "dsa"))
			a->dsa = true;
		else if (!strcmp(w, "santaclara"))
			a->santaclara = true;
		else if (!strcmp(w, "html"))
			a->html = true;
		else
			bad = "--format takes dsa, santaclara and html";
	}
	free(list);
	if (!bad && !a->dsa && !a->santaclara && !a->html)
		bad = "--format names no format";
	return bad;
}

/* What is wrong with A as a whole, or NULL. */
static const char *ctl_report_check(const struct ctl_report_args *a)
{
	if (!a->brokers && !a->config)
		return "--brokers or --config is required";
	if ((a->from && !dsa_is_date(a->from)) || (a->to && !dsa_is_date(a->to)))
		return "--from and --to take a date YYYY-MM-DD";
	if (!a->from != !a->to)
		return "--from and --to go together";
	if (a->from && strcmp(a->from, a->to) > 0)
		return "--from is after --to";
	if ((a->key_file || a->country || a->mode) && !a->dataset)
		return "--key-file, --country and --mode are for --dataset";
	if (a->country && strlen(a->country) != 2)
		return "--country takes an ISO 3166-1 alpha-2 code";
	return NULL;
}

/* Returns -1 to run, or the exit status. */
static int ctl_report_parse(int argc, char **argv, struct ctl_report_args *a)
{
	*a = (struct ctl_report_args){.dsa = true, .santaclara = true, .html = true};
	const char *format = NULL;
	const struct ctl_opt opts[] = {
		CTL_BROKERS(&a->brokers, CTL_OPTIONAL),
		CTL_CONFIG(&a->config, CTL_OPTIONAL),
		CTL_VALUE("out", 'o', &a->out, CTL_REQUIRED),
		CTL_VALUE("from", 0, &a->from, CTL_OPTIONAL),
		CTL_VALUE("to", 0, &a->to, CTL_OPTIONAL),
		CTL_VALUE("format", 0, &format, CTL_OPTIONAL),
		CTL_FLAG("dataset", 0, &a->dataset),
		CTL_VALUE("key-file", 0, &a->key_file, CTL_OPTIONAL),
		CTL_VALUE("country", 0, &a->country, CTL_OPTIONAL),
		CTL_VALUE("mode", 0, &a->mode, CTL_OPTIONAL),
		CTL_FLAG("allow-breaks", 0, &a->allow_breaks),
		CTL_VALUE("provider", 0, &a->provider, CTL_OPTIONAL),
		CTL_VALUE("service", 0, &a->service, CTL_OPTIONAL),
		{0},
	};
	int first;
	int rc = ctl_options(argc, argv, opts, ctl_report_usage_cmd, &first);
	if (rc != CTL_RUN)
		return rc;
	const char *bad = first < argc ? "unexpected argument" :
			  format       ? ctl_report_formats(a, format) :
					 NULL;
	if (!bad)
		bad = ctl_report_check(a);
	if (bad) {
		fprintf(stderr, "arbiterctl report: %s\n\n", bad);
		ctl_report_usage(stderr);
		return 2;
	}
	return -1;
}

/* --- Reading ---------------------------------------------------------------------------- */

struct ctl_report_run {
	struct report *report;
	struct ledger_verifier *verifier;
	struct report_dataset *dataset;
	struct report_arena arena; /* each audit record is decoded into it */
	uint64_t appeals_undecodable;
	int rc;
};

static int ctl_report_appeal_msg(void *opaque, const rd_kafka_message_t *m)
{
	struct ctl_report_run *x = opaque;
	Arbiter__V1__AppealRecord *a = arbiter__v1__appeal_record__unpack(NULL, m->len, m->payload);
	if (!a) {
		x->appeals_undecodable++;
		return 0;
	}
	int rc = report_add_appeal(x->report, a);
	arbiter__v1__appeal_record__free_unpacked(a, NULL);
	return rc;
}

static int ctl_report_audit_msg(void *opaque, const rd_kafka_message_t *m)
{
	struct ctl_report_run *x = opaque;
	struct ledger_fed fed;
	report_arena_reset(&x->arena);
	int rc = ledger_verify_feed(x->verifier, m->partition, m->offset, m->payload, m->len,
				    &x->arena.base, &fed);
	if (rc)
		return rc;
	if (!fed.record) {
		report_add_undecodable(x->report);
		return 0;
	}
	if (!fed.duplicate && !fed.fenced) {
		rc = report_add_audit(x->report, fed.record, fed.brk != LEDGER_OK);
		if (!rc && x->dataset && report_in_period(x->report, fed.record)) {
			int w = report_dataset_add(x->dataset, fed.record,
						   report_appeal_of(x->report, fed.record),
						   m->partition, m->offset);
			rc = w < 0 ? w : 0;
		}
	}
	arbiter__v1__audit_record__free_unpacked(fed.record, &x->arena.base);
	return rc;
}

/* Reads the secret in PATH as a {file: PATH} secret is read: trailing
 * newlines dropped; not empty, not binary, at most 64 KiB. NULL (said) when
 * not. */
static char *ctl_report_read_key(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "arbiterctl report: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	char *buf = malloc(CTL_REPORT_KEY_MAX + 1);
	size_t n = buf ? fread(buf, 1, CTL_REPORT_KEY_MAX + 1, f) : 0;
	fclose(f);
	if (!buf)
		return NULL;
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	const char *why = n > CTL_REPORT_KEY_MAX ? "longer than 64 KiB" :
			  !n                     ? "empty" :
			  memchr(buf, '\0', n)   ? "binary" :
						   NULL;
	if (why) {
		fprintf(stderr, "arbiterctl report: key file %s: %s\n", path, why);
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

/* --- Writing ---------------------------------------------------------------------------- */

/* DIR/NAME into PATH. */
static void ctl_report_path(char *path, size_t size, const char *dir, const char *name,
			    const char *suffix)
{
	snprintf(path, size, "%s/%s%s", dir, name, suffix);
}

/* Opens DIR/NAME.tmp for writing. */
static FILE *ctl_report_open(const char *dir, const char *name)
{
	char path[4096];
	ctl_report_path(path, sizeof(path), dir, name, ".tmp");
	FILE *f = fopen(path, "w");
	if (!f)
		fprintf(stderr, "arbiterctl report: %s: %s\n", path, strerror(errno));
	return f;
}

/* Closes F and moves DIR/NAME.tmp to DIR/NAME when KEEP and all went well;
 * removes it otherwise. Returns 0 or -EIO. */
static int ctl_report_close(FILE *f, const char *dir, const char *name, bool keep)
{
	char tmp[4096], path[4096];
	ctl_report_path(tmp, sizeof(tmp), dir, name, ".tmp");
	ctl_report_path(path, sizeof(path), dir, name, "");
	bool ok = !ferror(f);
	if (fclose(f))
		ok = false;
	if (keep && ok && rename(tmp, path) == 0) {
		printf("  %s\n", path);
		return 0;
	}
	if (keep)
		fprintf(stderr, "arbiterctl report: could not write %s\n", path);
	unlink(tmp);
	return keep ? -EIO : 0;
}

typedef int (*ctl_report_writer)(const struct report_figures *f, FILE *out);

static int ctl_report_file(const char *dir, const char *name, const struct report_figures *f,
			   ctl_report_writer write, int part)
{
	FILE *out = ctl_report_open(dir, name);
	if (!out)
		return -EIO;
	int rc = write ? write(f, out) : report_csv_part(f, part, out);
	return ctl_report_close(out, dir, name, rc == 0) ? -EIO : rc;
}

static void ctl_report_chains(const struct report_figures *f, FILE *out)
{
	for (size_t i = 0; i < f->n_chains; i++) {
		const struct report_chain *c = &f->chains[i];
		char hex[2 * LEDGER_HASH_LEN + 1];
		fprintf(out, "  %s: %" PRIu64 " record(s) in the period; ", c->name, c->counted);
		if (c->has_head) {
			report_hex(hex, c->head_hash);
			fprintf(out, "head at the period's end %" PRIu64 " %s", c->head_sequence,
				hex);
		} else {
			fputs("no record before the period's end", out);
		}
		if (c->verified && c->verify.first != LEDGER_OK)
			fprintf(out, "; %s at partition %" PRId32 " offset %" PRId64 ": %s",
				ledger_break_name(c->verify.first), c->verify.at.partition,
				c->verify.at.offset, c->verify.detail);
		fputc('\n', out);
	}
}

/* --- Running ---------------------------------------------------------------------------- */

/* Everything one run holds, freed by ctl_report_done. */
struct ctl_report_job {
	const struct ctl_report_args *a;
	struct config *cfg;
	const char *brokers; /* --brokers, or NULL: the config's */
	const char *audit, *appeals;
	char *key;
	FILE *dataset_out;
	struct ctl_report_run x;
};

/* The config, the brokers and topics. Returns 0, or the exit status. */
static int ctl_report_setup(struct ctl_report_job *j)
{
	const struct ctl_report_args *a = j->a;
	if (a->config && !(j->cfg = ctl_config_load("report", a->config)))
		return 1;
	j->brokers = a->brokers;
	j->audit = j->cfg ? j->cfg->kafka.topics.audit.name : CTL_REPORT_AUDIT;
	j->appeals = j->cfg ? j->cfg->kafka.topics.appeals.name : CTL_REPORT_APPEALS;
	return ctl_brokers("report", a->brokers, j->cfg) ? 0 : 2;
}

/* The period's report, the data set's key and file, the verifier. Returns 0, or the exit
 * status. */
static int ctl_report_prepare(struct ctl_report_job *j)
{
	const struct ctl_report_args *a = j->a;
	int64_t from, to;
	if (a->from) {
		report_day_start(a->from, &from);
		report_day_start(a->to, &to);
		to += REPORT_DAY_MS;
	} else {
		report_last_month(log_now_ms(), &from, &to);
	}
	struct report_meta meta = {
		.provider = a->provider, .service = a->service, .generated_ms = log_now_ms()};
	int rc = report_new(from, to, &meta, &j->x.report);
	if (rc) {
		fprintf(stderr, "arbiterctl report: %s\n",
			rc == -EINVAL ? "the period is longer than ten years" : "out of memory");
		return rc == -EINVAL ? 2 : 1;
	}
	if (a->dataset) {
		const struct config *cfg = j->cfg;
		j->key = a->key_file                        ? ctl_report_read_key(a->key_file) :
			 cfg && cfg->monitors.pseudonym_key ? strdup(cfg->monitors.pseudonym_key) :
							      NULL;
		if (!j->key) {
			if (!a->key_file)
				fprintf(stderr,
					"arbiterctl report: --dataset needs a pseudonym key: "
					"--key-file, or monitors.pseudonym_key in --config\n");
			return a->key_file ? 1 : 2;
		}
	}
	if (mkdir(a->out, 0755) && errno != EEXIST) {
		fprintf(stderr, "arbiterctl report: %s: %s\n", a->out, strerror(errno));
		return 1;
	}
	if (a->dataset) {
		j->dataset_out = ctl_report_open(a->out, "dataset.csv");
		struct report_dataset_filter filter = {.country = a->country, .mode = a->mode};
		if (!j->dataset_out ||
		    report_dataset_new(j->dataset_out, j->key, &filter, &j->x.dataset))
			return 1;
	}
	j->x.verifier = ledger_verifier_new();
	return j->x.verifier ? 0 : 1;
}

/* Reads the appeal records, then the ledger (the audit records of appeals join the appeal
 * records), and verifies it. Returns the figures, or NULL (said). */
static const struct report_figures *ctl_report_read(struct ctl_report_job *j)
{
	rd_kafka_conf_t *conf = ctl_kafka_conf_for("report", j->brokers, j->cfg);
	int rc = ctl_read_topic(conf, j->appeals, ctl_report_appeal_msg, &j->x);
	if (!rc)
		rc = ctl_read_topic(ctl_kafka_conf_for("report", j->brokers, j->cfg), j->audit,
				    ctl_report_audit_msg, &j->x);
	if (rc) {
		fprintf(stderr, "arbiterctl report: %s; no report written\n",
			rc == -ENOMEM ? "out of memory" : "could not read the ledger to its end");
		return NULL;
	}
	const struct ledger_chain_report *reps;
	size_t n = ledger_verify_reports(j->x.verifier, &reps);
	if (report_set_verification(j->x.report, reps, n))
		return NULL;
	const struct report_figures *f = report_finish(j->x.report);
	printf("arbiterctl report: %s to %s: %" PRIu64 " record(s) in %zu chain(s), %" PRIu64
	       " exact duplicate(s): %s\n",
	       f->from, f->to, f->ledger_records, n, f->ledger_duplicates,
	       f->chains_broken ? "BROKEN" : "intact");
	return f;
}

/* Writes the files A asks for. Returns the exit status. */
static int ctl_report_write(struct ctl_report_job *j, const struct report_figures *f)
{
	const struct ctl_report_args *a = j->a;
	int wrc = 0;
	for (int part = 1; a->dsa && part <= REPORT_CSV_PARTS && !wrc; part++)
		wrc = ctl_report_file(a->out, report_csv_part_name(part), f, NULL, part);
	if (!wrc && a->santaclara)
		wrc = ctl_report_file(a->out, "santaclara.json", f, report_santaclara_write_json,
				      0);
	if (!wrc && a->santaclara)
		wrc = ctl_report_file(a->out, "santaclara.csv", f, report_santaclara_write_csv, 0);
	if (!wrc && a->html)
		wrc = ctl_report_file(a->out, "report.html", f, report_html_write, 0);
	if (!wrc && a->dataset) {
		uint64_t rows = report_dataset_rows(j->x.dataset);
		FILE *d = j->dataset_out;
		j->dataset_out = NULL;
		wrc = ctl_report_close(d, a->out, "dataset.csv", true);
		if (!wrc)
			printf("  (%" PRIu64 " data set row(s))\n", rows);
	}
	return wrc ? 1 : 0;
}

static void ctl_report_done(struct ctl_report_job *j)
{
	if (j->dataset_out)
		ctl_report_close(j->dataset_out, j->a->out, "dataset.csv", false);
	report_dataset_free(j->x.dataset);
	ledger_verifier_free(j->x.verifier);
	report_arena_deinit(&j->x.arena);
	report_free(j->x.report);
	free(j->key);
	config_free(j->cfg);
}

static int ctl_report_run(const struct ctl_report_args *a)
{
	struct ctl_report_job j = {.a = a};
	report_arena_init(&j.x.arena);
	int status = ctl_report_setup(&j);
	if (!status)
		status = ctl_report_prepare(&j);
	const struct report_figures *f = status ? NULL : ctl_report_read(&j);
	if (!status && !f)
		status = 1;
	if (f && f->chains_broken && !a->allow_breaks) {
		fprintf(stderr,
			"arbiterctl report: %zu chain(s) broken; no report written (--allow-breaks "
			"writes one that says where):\n",
			f->chains_broken);
		ctl_report_chains(f, stderr);
		status = 1;
	} else if (f) {
		ctl_report_chains(f, stdout);
		printf("%" PRIu64 " record(s) in the period: %" PRIu64 " action(s), %" PRIu64
		       " statement(s) of reasons, %" PRIu64 " appeal(s) filed and %" PRIu64
		       " decided\n",
		       f->in_period, f->actions, f->statements, f->complaints[REPORT_C_ALL].filed,
		       f->complaints[REPORT_C_ALL].decided);
		if (j.x.appeals_undecodable)
			fprintf(stderr,
				"arbiterctl report: %" PRIu64 " message(s) of %s were no appeal "
				"record; left out\n",
				j.x.appeals_undecodable, j.appeals);
		status = ctl_report_write(&j, f);
	}
	ctl_report_done(&j);
	return status;
}

int ctl_report(int argc, char **argv)
{
	struct ctl_report_args a;
	int status = ctl_report_parse(argc, argv, &a);
	return status >= 0 ? status : ctl_report_run(&a);
}
