/* Benchmark of arbiterctl report's work on one core: records/s through decoding, aggregation
 * and the writers, with and without the data set and hash-chain verification, and peak RSS. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "dsa.h"
#include "ledger.h"
#include "report.h"
#include "report_csv.h"
#include "report_dataset.h"
#include "report_html.h"
#include "report_santaclara.h"

#define BATCH 8192
#define DAY REPORT_DAY_MS
/* 2027-07-01T00:00:00Z: the period is July 2027. */
#define JUL1 1814400000000LL
#define HOUR 3600000LL

static uint64_t bench_state = 88172645463325252ULL;

static uint64_t bench_rand(void)
{
	bench_state ^= bench_state << 13;
	bench_state ^= bench_state >> 7;
	bench_state ^= bench_state << 17;
	return bench_state;
}

static double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long bench_rss_kib(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* A packed record, as the audit topic holds it. */
struct bench_msg {
	uint8_t *data;
	size_t len;
};

/* Chains the records are spread over, as a 16-partition input would. */
#define CHAINS 16
static struct {
	char name[32];
	uint64_t next;
	uint8_t prev[LEDGER_HASH_LEN];
} bench_chains[CHAINS];

/* Record shapes: a mix of automated and human actions over 20 countries, 30
 * languages, 200 rules, 12 queues and a mode, some appeals, with their DSA
 * statements filled once (dsa_fill validates each statement: too slow to
 * make a million records with). */
#define TEMPLATES 4096
static Arbiter__V1__AuditRecord *bench_templates[TEMPLATES];

static void bench_templates_make(void)
{
	static const char *const cats[] = {
		"STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH", "STATEMENT_CATEGORY_VIOLENCE",
		"STATEMENT_CATEGORY_SCAMS_AND_FRAUD", "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
		"STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS"};
	static const char *const countries[] = {"DE", "FR", "KE", "BA", "ID", "BR", "IN",
						"NG", "PL", "IT", "ES", "NL", "SE", "RO",
						"PH", "MX", "TH", "SO", "ET", "UA"};
	static const char *const langs[] = {"de", "fr", "sw", "bs", "id", "pt", "hi", "ha",
					    "pl", "it", "es", "nl", "sv", "ro", "tl", "en",
					    "th", "so", "am", "uk", "ar", "tr", "ru", "fa",
					    "ur", "bn", "yo", "ig", "zu", "ta"};
	for (size_t t = 0; t < TEMPLATES; t++) {
		char rule[32], queue[32], reviewer[65];
		uint64_t r = bench_rand();
		snprintf(rule, sizeof(rule), "rule.%03u", (unsigned)(r >> 8) % 200);
		snprintf(queue, sizeof(queue), "queue-%u", (unsigned)(r >> 16) % 12);
		snprintf(reviewer, sizeof(reviewer), "%064u", (unsigned)(r >> 20) % 300);
		bool human = (r >> 32) % 10 == 0;
		unsigned kind = (unsigned)((r >> 36) % 100);
		char *rules[] = {rule};
		char *modes[] = {"election-ke"};
		Arbiter__V1__AuditRecord rec = ARBITER__V1__AUDIT_RECORD__INIT;
		rec.record_id = "0";
		rec.kind = kind < 96 ? ARBITER__V1__DECISION_KIND__ACTION :
			   kind < 98 ? ARBITER__V1__DECISION_KIND__APPEAL_FILED :
				       ARBITER__V1__DECISION_KIND__APPEAL_RESOLVED;
		rec.action = (Arbiter__V1__Action)(2 + (r >> 40) % 8); /* LABEL .. TERMINATE */
		rec.actor = human ? ARBITER__V1__ACTOR__HUMAN : ARBITER__V1__ACTOR__AUTOMATED;
		rec.category = (char *)cats[(r >> 44) % 5];
		rec.ground = (r >> 47) % 2 ? ARBITER__V1__GROUND__ILLEGAL_CONTENT :
					     ARBITER__V1__GROUND__INCOMPATIBLE_CONTENT;
		rec.legal_ground = "Community guidelines 3.2: hateful conduct";
		rec.explanation = "dehumanising language against a group";
		rec.decided_at_ms = JUL1 + 15 * DAY;
		rec.n_rule_ids = human ? 0 : 1;
		rec.rule_ids = rules;
		rec.ruleset_version =
			"9cd86a98b9d659290b71180adbc89401ff43b62057ec8e765d361d1f6d6d480b";
		rec.source_topic = human ? "moderation.decisions" : "content.events";
		rec.queue = human ? queue : "";
		rec.n_modes = (r >> 56) % 8 == 0 ? 1 : 0;
		rec.modes = modes;
		rec.reviewer_pseudonym = human ? reviewer : "";
		rec.writer = "bench-host/4242/arbiterd-0123";
		if (rec.kind == ARBITER__V1__DECISION_KIND__APPEAL_RESOLVED)
			rec.appeal_outcome = (Arbiter__V1__AppealOutcome)(1 + (r >> 58) % 3);
		struct dsa_input in = {.content_type = ARBITER__V1__CONTENT_TYPE__TEXT,
				       .created_at_ms = rec.decided_at_ms - HOUR,
				       .lang = langs[(r >> 12) % 30],
				       .country = countries[(r >> 4) % 20],
				       .automated_detection = !human || (r >> 60) % 2};
		struct dsa_scratch sc;
		dsa_fill(&rec, &in, &sc);
		size_t len = arbiter__v1__audit_record__get_packed_size(&rec);
		uint8_t *buf = malloc(len);
		arbiter__v1__audit_record__pack(&rec, buf);
		bench_templates[t] = arbiter__v1__audit_record__unpack(NULL, len, buf);
		free(buf);
	}
}

/* Record I, of a random shape, with ids and times of its own; linked into
 * its chain when LINK. */
static void bench_record(uint64_t i, bool link, struct bench_msg *out)
{
	uint64_t r = bench_rand();
	Arbiter__V1__AuditRecord rec = *bench_templates[r % TEMPLATES];
	unsigned chain = (unsigned)(r >> 12) % CHAINS;
	char id[40], content[32], author[65], applied[11], posted[11];
	snprintf(id, sizeof(id), "%016" PRIx64 "%016" PRIx64, i, r);
	snprintf(content, sizeof(content), "c-%" PRIu64, (r >> 16) % 5000000);
	snprintf(author, sizeof(author), "%064" PRIu64, (r >> 24) % 100000);
	rec.record_id = rec.decision_id = rec.puid = id;
	rec.content_id = content;
	rec.author_pseudonym = author;
	/* A month, in record order with some jitter. */
	rec.decided_at_ms = JUL1 + (int64_t)(i * 2678) + (int64_t)((r >> 40) % 60000);
	rec.recorded_at_ms = rec.decided_at_ms + 50;
	rec.latency_ms = (int64_t)((r >> 20) % 86400000);
	dsa_date(applied, rec.decided_at_ms);
	dsa_date(posted, rec.decided_at_ms - rec.latency_ms);
	rec.application_date = applied;
	rec.content_date = posted;
	rec.source_partition = (int32_t)chain;
	rec.source_offset = (int64_t)i;
	if (rec.queue[0])
		rec.review_deadline_ms =
			rec.decided_at_ms + (int64_t)((r >> 44) % 7200000) - 600000;
	uint8_t hash[LEDGER_HASH_LEN];
	if (link) {
		uint64_t seq = bench_chains[chain].next++;
		ledger_link(&rec, bench_chains[chain].name, seq,
			    seq ? bench_chains[chain].prev : NULL, hash);
	} else {
		rec.chain = bench_chains[chain].name;
		rec.sequence = i;
	}
	out->len = arbiter__v1__audit_record__get_packed_size(&rec);
	out->data = malloc(out->len);
	arbiter__v1__audit_record__pack(&rec, out->data);
	if (link)
		memcpy(bench_chains[chain].prev, hash, LEDGER_HASH_LEN);
}

/* Feeds N records through a report (with VERIFY, the verifier first; with
 * DATASET, a data set written to DEV_NULL too) and writes every report to
 * DEV_NULL; returns the CPU seconds spent, not counting the making of the
 * records. */
static double bench_run(uint64_t n, bool verify, bool dataset, FILE *dev_null,
			const struct report_figures **figures, struct report **out)
{
	struct report *r;
	struct report_meta meta = {.provider = "Bench", .service = "bench", .generated_ms = 1};
	if (report_new(JUL1, JUL1 + 31 * DAY, &meta, &r))
		exit(1);
	struct report_dataset *ds = NULL;
	if (dataset && report_dataset_new(dev_null, "bench-key", NULL, &ds))
		exit(1);
	struct ledger_verifier *v = verify ? ledger_verifier_new() : NULL;
	struct report_arena arena;
	report_arena_init(&arena);
	static struct bench_msg batch[BATCH];
	for (unsigned c = 0; c < CHAINS; c++) {
		bench_chains[c].next = 0;
		memset(bench_chains[c].prev, 0, LEDGER_HASH_LEN);
	}
	double spent = 0;
	for (uint64_t done = 0; done < n;) {
		size_t k = n - done < BATCH ? (size_t)(n - done) : BATCH;
		for (size_t j = 0; j < k; j++)
			bench_record(done + j, verify, &batch[j]);
		double t0 = bench_now();
		for (size_t j = 0; j < k; j++) {
			Arbiter__V1__AuditRecord *rec;
			bool at_break = false;
			report_arena_reset(&arena);
			if (v) {
				struct ledger_fed fed;
				if (ledger_verify_feed(v, 0, (int64_t)(done + j), batch[j].data,
						       batch[j].len, &arena.base, &fed))
					exit(1);
				rec = fed.record;
				at_break = fed.brk != LEDGER_OK;
			} else {
				rec = arbiter__v1__audit_record__unpack(&arena.base, batch[j].len,
									batch[j].data);
			}
			if (!rec || report_add_audit(r, rec, at_break))
				exit(1);
			if (ds && report_in_period(r, rec))
				report_dataset_add(ds, rec, report_appeal_of(r, rec), 0,
						   (int64_t)(done + j));
			arbiter__v1__audit_record__free_unpacked(rec, &arena.base);
		}
		spent += bench_now() - t0;
		for (size_t j = 0; j < k; j++)
			free(batch[j].data);
		done += k;
	}
	double t0 = bench_now();
	if (v) {
		const struct ledger_chain_report *reps;
		size_t nr = ledger_verify_reports(v, &reps);
		report_set_verification(r, reps, nr);
		for (size_t i = 0; i < nr; i++)
			if (reps[i].first != LEDGER_OK) {
				fprintf(stderr, "bench_report: chain %s broken\n", reps[i].chain);
				exit(1);
			}
		ledger_verifier_free(v);
	}
	const struct report_figures *f = report_finish(r);
	for (int part = 1; part <= REPORT_CSV_PARTS; part++)
		report_csv_part(f, part, dev_null);
	report_santaclara_write_json(f, dev_null);
	report_santaclara_write_csv(f, dev_null);
	report_html_write(f, dev_null);
	spent += bench_now() - t0;
	report_dataset_free(ds);
	report_arena_deinit(&arena);
	*figures = f;
	*out = r;
	return spent;
}

int main(int argc, char **argv)
{
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
	if (!n)
		n = 1000000;
	for (unsigned c = 0; c < CHAINS; c++)
		snprintf(bench_chains[c].name, sizeof(bench_chains[c].name), "content.events/%u",
			 c);
	FILE *dev_null = fopen("/dev/null", "w");
	if (!dev_null)
		return 1;
	bench_templates_make();
	printf("records %" PRIu64 ", CPU time of one core; writers: 11 DSA parts, Santa Clara "
	       "JSON and CSV, HTML\n",
	       n);
	static const struct {
		bool verify, dataset;
		const char *what;
	} runs[] = {
		{false, false, "decode, aggregate, writers"},
		{false, true, "decode, aggregate, data set, writers"},
		{true, false, "verify chains, decode, aggregate, writers"},
		{true, true, "verify chains, decode, aggregate, data set, writers"},
	};
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		struct report *r;
		const struct report_figures *f;
		double s = bench_run(n, runs[i].verify, runs[i].dataset, dev_null, &f, &r);
		if (f->records != n)
			return 1;
		printf("%-52s %10.0f records/s  peak RSS %6.1f MiB\n", runs[i].what, (double)n / s,
		       (double)bench_rss_kib() / 1024);
		report_free(r);
	}
	printf("(peak RSS only grows: the verifier keeps 56 bytes per record it has read)\n");
	fclose(dev_null);
	for (size_t t = 0; t < TEMPLATES; t++)
		arbiter__v1__audit_record__free_unpacked(bench_templates[t], NULL);
	return 0;
}
