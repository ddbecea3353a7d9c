/* Unit tests for the transparency report (report*.c): figures of known ledgers, exactly. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* open_memstream */
#endif
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arbiter/v1/appeal_record.pb-c.h"
#include "dsa.h"
#include "ledger.h"
#include "records.h"
#include "report.h"
#include "report_csv.h"
#include "report_dataset.h"
#include "report_html.h"
#include "report_santaclara.h"

#define DAY REPORT_DAY_MS
#define HOUR 3600000LL
/* 2027-08-01T00:00:00Z, a Sunday. */
#define AUG1 1817078400000LL

/* --- Building ledgers ---------------------------------------------------------------- */

/* One decision as the ledger would hold it. */
struct spec {
	const char *chain; /* NULL: "c0" */
	Arbiter__V1__DecisionKind kind;
	Arbiter__V1__Action action;
	Arbiter__V1__Actor actor;
	const char *category;
	Arbiter__V1__Ground ground;
	const char *country, *lang;
	int64_t decided;  /* decided_at_ms */
	int64_t recorded; /* recorded_at_ms; 0: DECIDED */
	int64_t created;  /* the content's creation; 0: unknown */
	bool auto_detected;
	const char *queue;
	int64_t deadline;
	const char *mode;
	const char *rule;
	const char *reviewer;
	const char *author;
	const char *appeal_id;
	Arbiter__V1__AppealOutcome outcome;
	const char *scope; /* one country, or NULL: everywhere */
	int64_t source;    /* offset of the decision message; -1: a fresh one */
};

#define MAX_MSGS 4096

/* Packed audit messages in topic order, and the appeal records. */
struct ledger {
	struct {
		uint8_t *data;
		size_t len;
	} msg[MAX_MSGS];
	size_t n;
	Arbiter__V1__AppealRecord *appeals[64];
	size_t n_appeals;
	struct {
		char name[32];
		uint64_t next;
		uint8_t prev[LEDGER_HASH_LEN];
	} chains[8];
	size_t n_chains;
	int64_t next_source;
	uint8_t last_hash[LEDGER_HASH_LEN]; /* of the last record put */
};

static void ledger_init(struct ledger *l)
{
	memset(l, 0, sizeof(*l));
	l->next_source = 1000;
}

static void ledger_clear(struct ledger *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->msg[i].data);
	for (size_t i = 0; i < l->n_appeals; i++)
		arbiter__v1__appeal_record__free_unpacked(l->appeals[i], NULL);
}

/* Appends the record S describes to its chain; returns its sequence. */
static uint64_t put(struct ledger *l, const struct spec *s)
{
	const char *chain = s->chain ? s->chain : "c0";
	size_t c = 0;
	while (c < l->n_chains && strcmp(l->chains[c].name, chain))
		c++;
	if (c == l->n_chains) {
		snprintf(l->chains[c].name, sizeof(l->chains[c].name), "%s", chain);
		l->n_chains++;
	}
	uint64_t seq = l->chains[c].next++;
	char id[64], content[64], decision[64], rp[65], ap[65];
	snprintf(id, sizeof(id), "%s-%04" PRIu64, chain, seq);
	snprintf(content, sizeof(content), "content-%s-%" PRIu64, chain, seq);
	snprintf(decision, sizeof(decision), "d-%s-%" PRIu64, chain, seq);
	Arbiter__V1__AuditRecord r = ARBITER__V1__AUDIT_RECORD__INIT;
	r.record_id = id;
	r.content_id = content;
	r.decision_id = decision;
	r.kind = s->kind ? s->kind : ARBITER__V1__DECISION_KIND__ACTION;
	r.action = s->action;
	r.actor = s->actor ? s->actor : ARBITER__V1__ACTOR__AUTOMATED;
	r.category = (char *)(s->category ? s->category : "");
	r.ground = s->ground;
	r.legal_ground = "Law §1";
	r.explanation = "secret explanation text";
	r.decided_at_ms = s->decided;
	r.recorded_at_ms = s->recorded ? s->recorded : s->decided;
	char *rule = (char *)s->rule;
	if (rule) {
		r.n_rule_ids = 1;
		r.rule_ids = &rule;
	}
	char *scope = (char *)s->scope;
	if (scope) {
		r.n_territorial_scope = 1;
		r.territorial_scope = &scope;
	}
	r.source_topic = "moderation.decisions";
	r.source_partition = 0;
	r.source_offset = s->source > 0 ? s->source : l->next_source++;
	r.queue = (char *)(s->queue ? s->queue : "");
	r.review_deadline_ms = s->deadline;
	char *mode = (char *)s->mode;
	if (mode) {
		r.n_modes = 1;
		r.modes = &mode;
	}
	if (s->reviewer) {
		records_pseudonym(rp, "monitors-key", s->reviewer);
		r.reviewer_pseudonym = rp;
	}
	if (s->author) {
		records_pseudonym(ap, "monitors-key", s->author);
		r.author_pseudonym = ap;
	}
	r.appeal_id = (char *)(s->appeal_id ? s->appeal_id : "");
	r.appeal_outcome = s->outcome;
	struct dsa_input in = {
		.content_type = ARBITER__V1__CONTENT_TYPE__TEXT,
		.created_at_ms = s->created,
		.lang = s->lang ? s->lang : "",
		.country = s->country ? s->country : "",
		.automated_detection = s->auto_detected,
	};
	struct dsa_scratch scratch;
	ck_assert_int_ge(dsa_fill(&r, &in, &scratch), -EINVAL);
	uint8_t hash[LEDGER_HASH_LEN];
	ck_assert_int_eq(ledger_link(&r, chain, seq, seq ? l->chains[c].prev : NULL, hash), 0);
	ck_assert_uint_lt(l->n, MAX_MSGS);
	size_t len = arbiter__v1__audit_record__get_packed_size(&r);
	l->msg[l->n].data = malloc(len);
	l->msg[l->n].len = arbiter__v1__audit_record__pack(&r, l->msg[l->n].data);
	l->n++;
	/* After packing: R's prev_hash points at the chain's. */
	memcpy(l->chains[c].prev, hash, LEDGER_HASH_LEN);
	memcpy(l->last_hash, hash, LEDGER_HASH_LEN);
	return seq;
}

/* An appeal record for the decision message at SOURCE. */
static void put_appeal(struct ledger *l, int64_t source, const char *appeal_id, bool resolved,
		       Arbiter__V1__Action original, int64_t filed, int64_t decided,
		       Arbiter__V1__AppealOutcome outcome)
{
	Arbiter__V1__AppealRecord a = ARBITER__V1__APPEAL_RECORD__INIT;
	char id[64];
	snprintf(id, sizeof(id), "appeal-%" PRId64, source);
	a.record_id = id;
	a.appeal_id = (char *)appeal_id;
	a.content_id = "content";
	a.decision_id = "d-under-appeal";
	a.resolved = resolved;
	a.outcome = outcome;
	a.original_action = original;
	a.filed_at_ms = filed;
	a.resolved_at_ms = resolved ? decided : 0;
	a.source_topic = "moderation.decisions";
	a.source_offset = source;
	size_t len = arbiter__v1__appeal_record__get_packed_size(&a);
	uint8_t *buf = malloc(len);
	arbiter__v1__appeal_record__pack(&a, buf);
	l->appeals[l->n_appeals++] = arbiter__v1__appeal_record__unpack(NULL, len, buf);
	free(buf);
}

/* Runs L through the verifier and a report of [FROM, TO), as arbiterctl
 * does; DS (or NULL) gets the period's rows. Returns the finished report. */
static struct report *run(struct ledger *l, int64_t from, int64_t to, struct report_dataset *ds)
{
	struct report *r;
	struct report_meta meta = {
		.provider = "Example Ltd", .service = "Example", .generated_ms = to + HOUR};
	ck_assert_int_eq(report_new(from, to, &meta, &r), 0);
	for (size_t i = 0; i < l->n_appeals; i++)
		ck_assert_int_eq(report_add_appeal(r, l->appeals[i]), 0);
	struct ledger_verifier *v = ledger_verifier_new();
	for (size_t i = 0; i < l->n; i++) {
		struct ledger_fed fed;
		ck_assert_int_eq(ledger_verify_feed(v, 0, (int64_t)i, l->msg[i].data, l->msg[i].len,
						    NULL, &fed),
				 0);
		if (!fed.record) {
			report_add_undecodable(r);
			continue;
		}
		if (!fed.duplicate) {
			ck_assert_int_eq(report_add_audit(r, fed.record, fed.brk != LEDGER_OK), 0);
			if (ds && report_in_period(r, fed.record))
				ck_assert_int_ge(report_dataset_add(ds, fed.record,
								    report_appeal_of(r, fed.record),
								    0, (int64_t)i),
						 0);
		}
		arbiter__v1__audit_record__free_unpacked(fed.record, NULL);
	}
	const struct ledger_chain_report *reps;
	size_t n = ledger_verify_reports(v, &reps);
	ck_assert_int_eq(report_set_verification(r, reps, n), 0);
	ledger_verifier_free(v);
	report_finish(r);
	return r;
}

static const struct report_row *row_of(const struct report_tally *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->rows[i].name, name))
			return &t->rows[i];
	return NULL;
}

/* Writes with FN into memory; the caller frees. */
static char *capture_part(const struct report_figures *f, int part)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	ck_assert_int_eq(report_csv_part(f, part, m), 0);
	fclose(m);
	return buf;
}

/* The cells of the CSV line of TEXT whose fourth cell (the category or
 * indicator column) is KEY and, when SCOPE is not NULL, whose next is SCOPE,
 * split at commas outside quotes, into CELLS. Returns how many. */
static size_t csv_line(const char *text, size_t key_col, const char *key, const char *scope,
		       char cells[64][256])
{
	for (const char *line = text; *line;) {
		const char *end = strstr(line, "\r\n");
		ck_assert_ptr_nonnull(end);
		size_t n = 0, k = 0;
		bool quoted = false;
		cells[0][0] = '\0';
		for (const char *p = line; p < end; p++) {
			if (*p == '"') {
				if (quoted && p[1] == '"') {
					cells[n][k++] = '"';
					p++;
				} else {
					quoted = !quoted;
				}
			} else if (*p == ',' && !quoted) {
				cells[n][k] = '\0';
				n++;
				k = 0;
			} else if (k < 255) {
				cells[n][k++] = *p;
			}
		}
		cells[n][k] = '\0';
		n++;
		if (n > key_col && !strcmp(cells[key_col], key) &&
		    (!scope || (n > key_col + 1 && !strcmp(cells[key_col + 1], scope))))
			return n;
		line = end + 2;
	}
	return 0;
}

/* --- Histograms ---------------------------------------------------------------------- */

START_TEST(quantiles_are_exact_below_256_ms_and_floored_to_1_128_above)
{
	static struct report_hist h;
	memset(&h, 0, sizeof(h));
	ck_assert_uint_eq(report_hist_quantile(&h, 500), 0);
	for (int v = 1; v <= 200; v++)
		report_hist_add(&h, v);
	ck_assert_uint_eq(report_hist_quantile(&h, 500), 100); /* rank 100 of 1..200 */
	ck_assert_uint_eq(report_hist_quantile(&h, 900), 180);
	ck_assert_uint_eq(report_hist_quantile(&h, 990), 198);
	ck_assert_uint_eq(report_hist_quantile(&h, 0), 1);
	ck_assert_uint_eq(report_hist_quantile(&h, 1000), 200);

	/* Above 256 ms: the bucket's lower edge. 1000 lies in [1000, 1004)
	 * (buckets of 4 between 512 and 1024); 1,000,000 in [999424, 1003520). */
	memset(&h, 0, sizeof(h));
	report_hist_add(&h, 1);
	report_hist_add(&h, 1003);
	report_hist_add(&h, 1000001);
	ck_assert_uint_eq(report_hist_quantile(&h, 500), 1000);
	ck_assert_uint_eq(report_hist_quantile(&h, 1000), 1000001); /* the largest, exact */
	ck_assert_uint_eq(report_hist_quantile(&h, 667), 1000001);  /* rank 3 */
	report_hist_add(&h, 1000002);
	ck_assert_uint_eq(report_hist_quantile(&h, 750), 999424); /* rank 3 of 4 */
	/* One value is always exact: its bucket edge is raised to the minimum. */
	memset(&h, 0, sizeof(h));
	report_hist_add(&h, 172800000);
	ck_assert_uint_eq(report_hist_quantile(&h, 500), 172800000);
	/* Negative durations count as 0, huge ones as 2^42 - 1. */
	report_hist_add(&h, -5);
	report_hist_add(&h, INT64_MAX);
	ck_assert_uint_eq(h.min, 0);
	ck_assert_uint_eq(h.max, (1ULL << 42) - 1);
	/* Coarse bins, counted exactly: < 1 s, 1-10 s, ..., 2 days in "1-7 d". */
	ck_assert_uint_eq(h.bins[0], 1);
	ck_assert_uint_eq(h.bins[7], 1);
	ck_assert_uint_eq(h.bins[8], 1);
}
END_TEST

START_TEST(quantiles_do_not_depend_on_order)
{
	static struct report_hist a, b;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	uint64_t x = 88172645463325252ULL;
	int64_t v[1000];
	for (int i = 0; i < 1000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		v[i] = (int64_t)(x % 100000000);
	}
	for (int i = 0; i < 1000; i++) {
		report_hist_add(&a, v[i]);
		report_hist_add(&b, v[999 - i]);
	}
	/* And every quantile is within 1/128 below the exact nearest-rank value. */
	int64_t sorted[1000];
	memcpy(sorted, v, sizeof(v));
	for (int i = 1; i < 1000; i++)
		for (int k = i; k > 0 && sorted[k - 1] > sorted[k]; k--) {
			int64_t t = sorted[k];
			sorted[k] = sorted[k - 1];
			sorted[k - 1] = t;
		}
	for (unsigned q = 0; q <= 1000; q += 10) {
		uint64_t got = report_hist_quantile(&a, q);
		ck_assert_uint_eq(got, report_hist_quantile(&b, q));
		uint64_t rank = q ? ((uint64_t)q * 1000 + 999) / 1000 : 1;
		uint64_t exact = (uint64_t)sorted[rank - 1];
		ck_assert_msg(got <= exact && exact - got <= exact / 128,
			      "q %u: %" PRIu64 " for %" PRIu64, q, got, exact);
	}
}
END_TEST

/* --- Periods ------------------------------------------------------------------------- */

START_TEST(periods_are_whole_utc_days)
{
	int64_t ms;
	ck_assert_int_eq(report_day_start("2027-08-01", &ms), 0);
	ck_assert_int_eq(ms, AUG1);
	ck_assert_int_eq(report_day_start("2027-02-30", &ms), -EINVAL);
	ck_assert_int_eq(report_day_start("1969-12-31", &ms), -EINVAL);
	int64_t from, to;
	report_last_month(AUG1 + 15 * DAY + 5 * HOUR, &from, &to);
	ck_assert_int_eq(to, AUG1);
	ck_assert_int_eq(from, AUG1 - 31 * DAY); /* July */
	ck_assert_int_eq(report_day_start("2027-01-01", &ms), 0);
	report_last_month(ms + HOUR, &from, &to);
	ck_assert_int_eq(report_day_start("2026-12-01", &ms), 0);
	ck_assert_int_eq(from, ms);
	struct report *r;
	ck_assert_int_eq(report_new(AUG1, AUG1, NULL, &r), -EINVAL);
	ck_assert_int_eq(report_new(AUG1 + 1, AUG1 + DAY, NULL, &r), -EINVAL);
	ck_assert_int_eq(report_new(AUG1, AUG1 + (REPORT_MAX_DAYS + 1) * DAY, NULL, &r), -EINVAL);
	ck_assert_int_eq(report_new(AUG1, AUG1 + 31 * DAY, NULL, &r), 0);
	const struct report_figures *f = report_finish(r);
	ck_assert_str_eq(f->from, "2027-08-01");
	ck_assert_str_eq(f->to, "2027-08-31");
	ck_assert_uint_eq(f->days, 31);
	report_free(r);
}
END_TEST

START_TEST(an_empty_period_reports_zeros_and_the_heads_before_it)
{
	struct ledger l;
	ledger_init(&l);
	/* Records on 1 and 2 August; the period is 10 to 16 August. */
	for (int i = 0; i < 4; i++)
		put(&l, &(struct spec){.action = ARBITER__V1__ACTION__REMOVE,
				       .category = "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
				       .ground = ARBITER__V1__GROUND__INCOMPATIBLE_CONTENT,
				       .decided = AUG1 + i * 12 * HOUR});
	struct report *r = run(&l, AUG1 + 9 * DAY, AUG1 + 16 * DAY, NULL);
	const struct report_figures *f = report_finish(r);
	ck_assert_uint_eq(f->records, 4);
	ck_assert_uint_eq(f->ledger_records, 4);
	ck_assert_uint_eq(f->in_period, 0);
	ck_assert_uint_eq(f->actions, 0);
	ck_assert_uint_eq(f->statements, 0);
	ck_assert_uint_eq(f->categories.n, 0);
	ck_assert_uint_eq(f->complaints[REPORT_C_ALL].filed, 0);
	ck_assert_uint_eq(f->n_chains, 1);
	ck_assert_uint_eq(f->chains[0].counted, 0);
	ck_assert(f->chains[0].has_head);
	ck_assert_uint_eq(f->chains[0].head_sequence, 3);
	ck_assert_mem_eq(f->chains[0].head_hash, l.last_hash, LEDGER_HASH_LEN);
	ck_assert(f->verified);
	ck_assert_msg(f->chains_broken == 0, "%s %s", ledger_break_name(f->chains[0].verify.first),
		      f->chains[0].verify.detail);
	/* The template's totals say 0, not nothing. */
	char *csv = capture_part(f, 6);
	char cells[64][256];
	ck_assert_uint_eq(csv_line(csv, 3, "TOTAL", NULL, cells), 37);
	ck_assert_str_eq(cells[5], "0");
	ck_assert_str_eq(cells[7], "0");
	free(csv);
	report_free(r);

	/* A ledger with nothing at all. */
	struct ledger none;
	ledger_init(&none);
	r = run(&none, AUG1, AUG1 + DAY, NULL);
	f = report_finish(r);
	ck_assert_uint_eq(f->records, 0);
	ck_assert_uint_eq(f->n_chains, 0);
	char *html = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&html, &len);
	ck_assert_int_eq(report_html_write(f, m), 0);
	fclose(m);
	ck_assert_ptr_nonnull(strstr(html, "id=\"tile-actions\" data-value=\"0\""));
	free(html);
	report_free(r);
	ledger_clear(&l);
}
END_TEST

/* --- Counts ---------------------------------------------------------------------------- */

/* A month of traffic whose every figure is known. */
static void august(struct ledger *l)
{
	/* 6 automated removals of hate speech in DE, German, rule hate.de, created 1 s before. */
	for (int i = 0; i < 6; i++)
		put(l, &(struct spec){.action = ARBITER__V1__ACTION__REMOVE,
				      .category = "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
				      .ground = ARBITER__V1__GROUND__ILLEGAL_CONTENT,
				      .country = "DE",
				      .lang = "de",
				      .rule = "hate.de",
				      .auto_detected = true,
				      .decided = AUG1 + i * DAY + HOUR,
				      .created = AUG1 + i * DAY + HOUR - 1000,
				      .author = "author-1"});
	/* 3 human demotions of election misinformation in KE, Swahili, from the
	 * election-integrity queue during mode election-ke; 2 met the SLA. */
	for (int i = 0; i < 3; i++)
		put(l,
		    &(struct spec){
			    .action = ARBITER__V1__ACTION__DEMOTE,
			    .actor = ARBITER__V1__ACTOR__HUMAN,
			    .category =
				    "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS",
			    .ground = ARBITER__V1__GROUND__INCOMPATIBLE_CONTENT,
			    .country = "KE",
			    .lang = "sw",
			    .auto_detected = true,
			    .queue = "election-integrity",
			    .deadline = AUG1 + (10 + i) * DAY + 2 * HOUR - (i == 2 ? 3 * HOUR : 0),
			    .mode = "election-ke",
			    .reviewer = "amina",
			    .decided = AUG1 + (10 + i) * DAY + HOUR,
			    .created = AUG1 + (10 + i) * DAY + HOUR - 2 * HOUR});
	/* 1 label in Bosnian (one action only: not folded into "other"). */
	put(l, &(struct spec){.action = ARBITER__V1__ACTION__LABEL,
			      .category = "STATEMENT_CATEGORY_VIOLENCE",
			      .ground = ARBITER__V1__GROUND__INCOMPATIBLE_CONTENT,
			      .country = "BA",
			      .lang = "bs-Latn",
			      .rule = "violence.bs",
			      .auto_detected = true,
			      .decided = AUG1 + 20 * DAY});
	/* 1 geo-block in KE only: an action, but no statement (outside the EEA). */
	put(l, &(struct spec){.action = ARBITER__V1__ACTION__GEO_BLOCK,
			      .actor = ARBITER__V1__ACTOR__HUMAN,
			      .category = "STATEMENT_CATEGORY_VIOLENCE",
			      .ground = ARBITER__V1__GROUND__ILLEGAL_CONTENT,
			      .country = "KE",
			      .lang = "en",
			      .scope = "KE",
			      .reviewer = "juma",
			      .decided = AUG1 + 21 * DAY});
	/* 2 decisions that restrict nothing. */
	put(l, &(struct spec){.action = ARBITER__V1__ACTION__NONE,
			      .actor = ARBITER__V1__ACTOR__HUMAN,
			      .queue = "election-integrity",
			      .decided = AUG1 + 22 * DAY});
	put(l, &(struct spec){.action = ARBITER__V1__ACTION__RESTORE,
			      .actor = ARBITER__V1__ACTOR__HUMAN,
			      .decided = AUG1 + 22 * DAY});
}

START_TEST(every_breakdown_counts_exactly)
{
	struct ledger l;
	ledger_init(&l);
	august(&l);
	struct report *r = run(&l, AUG1, AUG1 + 31 * DAY, NULL);
	const struct report_figures *f = report_finish(r);
	ck_assert_uint_eq(f->records, 13);
	ck_assert_uint_eq(f->in_period, 13);
	ck_assert_uint_eq(f->actions, 11);
	ck_assert_uint_eq(f->by_action[ARBITER__V1__ACTION__REMOVE], 6);
	ck_assert_uint_eq(f->by_action[ARBITER__V1__ACTION__DEMOTE], 3);
	ck_assert_uint_eq(f->by_action[ARBITER__V1__ACTION__NONE], 1);
	ck_assert_uint_eq(f->by_action[ARBITER__V1__ACTION__RESTORE], 1);
	ck_assert_uint_eq(f->auto_detected, 10);
	ck_assert_uint_eq(f->decided_fully, 7);     /* rules */
	ck_assert_uint_eq(f->decided_partially, 3); /* people on what rules found */
	ck_assert_uint_eq(f->decided_not, 1);       /* the geo-block */

	ck_assert_uint_eq(f->categories.n, 3);
	ck_assert_str_eq(f->categories.rows[0].name,
			 "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH"); /* most first */
	ck_assert_uint_eq(f->categories.rows[0].actions, 6);
	ck_assert_uint_eq(row_of(&f->categories, "STATEMENT_CATEGORY_VIOLENCE")->actions, 2);
	ck_assert_uint_eq(f->countries.n, 3);
	ck_assert_uint_eq(row_of(&f->countries, "KE")->actions, 4);
	ck_assert_uint_eq(row_of(&f->countries, "KE")->automated, 0);
	ck_assert_uint_eq(row_of(&f->countries, "BA")->actions, 1);
	/* Every language its own row, lower case, small ones too. */
	ck_assert_uint_eq(f->languages.n, 4);
	ck_assert_uint_eq(row_of(&f->languages, "bs-latn")->actions, 1);
	ck_assert_uint_eq(row_of(&f->languages, "sw")->actions, 3);
	ck_assert_uint_eq(row_of(&f->rules, "hate.de")->actions, 6);
	ck_assert_uint_eq(row_of(&f->rules, "violence.bs")->actions, 1);

	/* Queues: 4 decisions, 3 actions, SLA met twice, missed once. */
	const struct report_row *q = row_of(&f->queues, "election-integrity");
	ck_assert_ptr_nonnull(q);
	ck_assert_uint_eq(q->decisions, 4);
	ck_assert_uint_eq(q->actions, 3);
	ck_assert_uint_eq(q->sla_met, 2);
	ck_assert_uint_eq(q->sla_missed, 1);

	/* Modes: the three days shaded, no other. */
	const struct report_row *m = row_of(&f->modes, "election-ke");
	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(m->bit, 0);
	ck_assert_uint_eq(m->decisions, 3);
	ck_assert_int_eq(m->first_ms, AUG1 + 10 * DAY + HOUR);
	ck_assert_int_eq(m->last_ms, AUG1 + 12 * DAY + HOUR);
	for (size_t d = 0; d < f->days; d++)
		ck_assert_uint_eq(f->mode_days[d], d >= 10 && d <= 12 ? 1u : 0u);

	/* Days: removals on days 0..5. */
	int hate = dsa_category_index("STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH");
	for (size_t d = 0; d < 6; d++)
		ck_assert_uint_eq(f->daily[d][REPORT_D_CATEGORY + (size_t)hate], 1);
	ck_assert_uint_eq(f->daily[10][REPORT_D_HUMAN], 1);
	ck_assert_uint_eq(f->daily[6][REPORT_D_AUTOMATED], 0);

	/* Time to action: 1 s (six), 2 h (three); two actions without it. */
	ck_assert_uint_eq(f->time_to_action.n, 9);
	ck_assert_uint_eq(f->tta_unknown, 2);
	ck_assert_uint_eq(report_hist_quantile(&f->time_to_action, 500), 1000);
	ck_assert_uint_eq(report_hist_quantile(&f->time_to_action, 900), 2 * HOUR);
	ck_assert_uint_eq(report_hist_quantile(&f->tta_human, 500), 2 * HOUR);
	ck_assert_uint_eq(f->time_to_action.bins[1], 6); /* 1-10 s */
	ck_assert_uint_eq(f->time_to_action.bins[5], 3); /* 1-6 h */

	/* Measures: every action but the KE-only geo-block. */
	ck_assert_uint_eq(f->statements, 10);
	const uint64_t *ill = f->own[REPORT_ILLEGAL][REPORT_CAT_TOTAL];
	const uint64_t *tc = f->own[REPORT_INCOMPATIBLE][REPORT_CAT_TOTAL];
	ck_assert_uint_eq(ill[REPORT_M_MEASURES], 6);
	ck_assert_uint_eq(ill[REPORT_M_REMOVED], 6);
	ck_assert_uint_eq(ill[REPORT_M_AUTO_DETECTED], 6);
	ck_assert_uint_eq(tc[REPORT_M_MEASURES], 4);
	ck_assert_uint_eq(tc[REPORT_M_DEMOTED], 3);
	ck_assert_uint_eq(tc[REPORT_M_LABELLED], 1);
	ck_assert_uint_eq(tc[REPORT_M_PARTIALLY], 3);
	ck_assert_uint_eq(tc[REPORT_M_FULLY_AUTOMATED], 1);
	ck_assert_uint_eq(f->measures_fully, 7);
	ck_assert_uint_eq(f->by_language[3][REPORT_M_MEASURES], 6); /* de */
	report_free(r);
	ledger_clear(&l);
}
END_TEST

START_TEST(dsa_parts_follow_the_template)
{
	struct ledger l;
	ledger_init(&l);
	august(&l);
	struct report *r = run(&l, AUG1, AUG1 + 31 * DAY, NULL);
	const struct report_figures *f = report_finish(r);
	char cells[64][256];

	char *p5 = capture_part(f, 5);
	ck_assert_ptr_nonnull(strstr(p5, "Applicability,Service,Reporting period,Category of "
					 "illegal content,\"Description of the sub-category "
					 "\"\"Other\"\"\",Number of measures taken at the "
					 "provider's own initiative ,"));
	ck_assert_uint_eq(csv_line(p5, 3, "TOTAL", NULL, cells), 37);
	ck_assert_str_eq(cells[0], "All");
	ck_assert_str_eq(cells[1], "Example");
	ck_assert_str_eq(cells[2], "2027-08-01/2027-08-31");
	ck_assert_str_eq(cells[5], "6"); /* measures */
	ck_assert_str_eq(cells[6], "6"); /* after automated detection */
	ck_assert_str_eq(cells[7], "6"); /* removal */
	ck_assert_str_eq(cells[9], "0"); /* demoted */
	ck_assert_uint_eq(
		csv_line(p5, 3, "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH", NULL, cells), 37);
	ck_assert_str_eq(cells[5], "6");
	ck_assert_str_eq(cells[21], "Decided fully automated: 6; partially automated: 0; not "
				    "automated: 0");
	/* Keyword rows stay, empty and marked. */
	ck_assert_uint_eq(csv_line(p5, 3, "KEYWORD_HATE_SPEECH", NULL, cells), 37);
	ck_assert_str_eq(cells[5], "");
	ck_assert_ptr_nonnull(strstr(cells[21], "Not from this source"));
	/* Part 5 has no row for terms-and-conditions categories. */
	ck_assert_uint_eq(csv_line(p5, 3, "STATEMENT_CATEGORY_OTHER_VIOLATION_TC", NULL, cells), 0);
	free(p5);

	char *p6 = capture_part(f, 6);
	ck_assert_uint_eq(csv_line(p6, 3, "TOTAL", NULL, cells), 37);
	ck_assert_str_eq(cells[5], "4");
	ck_assert_str_eq(cells[9], "3");  /* demoted */
	ck_assert_str_eq(cells[12], "1"); /* labelled */
	ck_assert_uint_eq(
		csv_line(p6, 3,
			 "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS",
			 NULL, cells),
		37);
	ck_assert_str_eq(cells[5], "3");
	ck_assert_ptr_nonnull(strstr(p6, "STATEMENT_CATEGORY_OTHER_VIOLATION_TC"));
	free(p6);

	/* Parts the ledger cannot fill: every row present, marked. */
	char *p3 = capture_part(f, 3);
	ck_assert_uint_eq(csv_line(p3, 3, "STATEMENT_CATEGORY_NOT_SPECIFIED_ORDER", NULL, cells),
			  20);
	ck_assert_str_eq(cells[5], "TOTAL");
	ck_assert_str_eq(cells[6], "");
	ck_assert_ptr_nonnull(strstr(cells[13], "Not from this source"));
	free(p3);
	char *p8 = capture_part(f, 8);
	ck_assert_uint_eq(csv_line(p8, 4, "Number of measures solely taken by automated means ",
				   "Total number", cells),
			  8);
	ck_assert_str_eq(cells[6], "7");
	ck_assert_uint_eq(csv_line(p8, 4, "Number of measures not taken by automated means",
				   "Own-initiative ", cells),
			  8);
	ck_assert_str_eq(cells[6], "0");
	ck_assert_uint_eq(
		csv_line(p8, 4, "Number of measures solely taken by automated means ", "de", cells),
		8);
	ck_assert_str_eq(cells[6], "6");
	free(p8);
	char *p1 = capture_part(f, 1);
	ck_assert_ptr_nonnull(strstr(p1, "All,Example,Starting date of reporting period,"
					 "2027-08-01\r\n"));
	ck_assert_ptr_nonnull(strstr(p1, "Date of the publication of the report,2027-09-01\r\n"));
	free(p1);
	for (int part = 1; part <= REPORT_CSV_PARTS; part++) {
		ck_assert_ptr_nonnull(report_csv_part_name(part));
		char *text = capture_part(f, part);
		/* Every line ends with CRLF, no bare LF. */
		for (const char *p = text; *p; p++)
			if (*p == '\n')
				ck_assert_int_eq(p[-1], '\r');
		free(text);
	}
	ck_assert_ptr_null(report_csv_part_name(12));
	ck_assert_int_eq(report_csv_part(f, 0, stdout), -EINVAL);
	report_free(r);
	ledger_clear(&l);
}
END_TEST

START_TEST(csv_cells_are_quoted_as_rfc_4180_says)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	report_csv_cell(m, "plain");
	fputc(',', m);
	report_csv_cell(m, "a,b");
	fputc(',', m);
	report_csv_cell(m, "say \"hi\"");
	fputc(',', m);
	report_csv_cell(m, "two\r\nlines");
	fputc(',', m);
	report_csv_cell(m, "Ümlaut ✓");
	report_csv_end(m);
	fclose(m);
	ck_assert_str_eq(buf, "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\r\nlines\",Ümlaut ✓\r\n");
	free(buf);
}
END_TEST

/* --- Chains ------------------------------------------------------------------------------ */

START_TEST(a_period_cut_in_the_middle_of_a_chain)
{
	struct ledger l;
	ledger_init(&l);
	uint8_t hashes[10][LEDGER_HASH_LEN];
	/* One record a day on 1..10 August. */
	for (int i = 0; i < 10; i++) {
		put(&l, &(struct spec){.action = ARBITER__V1__ACTION__LABEL,
				       .category = "STATEMENT_CATEGORY_VIOLENCE",
				       .ground = ARBITER__V1__GROUND__INCOMPATIBLE_CONTENT,
				       .decided = AUG1 + i * DAY + HOUR});
		memcpy(hashes[i], l.last_hash, LEDGER_HASH_LEN);
	}
	/* 4 to 7 August: sequences 3..6. */
	struct report *r = run(&l, AUG1 + 3 * DAY, AUG1 + 7 * DAY, NULL);
	const struct report_figures *f = report_finish(r);
	ck_assert_uint_eq(f->records, 10);
	ck_assert_uint_eq(f->in_period, 4);
	ck_assert_uint_eq(f->actions, 4);
	ck_assert_uint_eq(f->chains[0].counted, 4);
	ck_assert_uint_eq(f->chains[0].first_seq, 3);
	ck_assert_uint_eq(f->chains[0].last_seq, 6);
	ck_assert_uint_eq(f->chains[0].head_sequence, 6);
	ck_assert_mem_eq(f->chains[0].head_hash, hashes[6], LEDGER_HASH_LEN);
	/* The verifier's head is the chain's current one. */
	ck_assert_uint_eq(f->chains[0].verify.head_sequence, 9);
	ck_assert_mem_eq(f->chains[0].verify.head_hash, hashes[9], LEDGER_HASH_LEN);
	report_free(r);

	/* A decision taken before the end but recorded after it still counts,
	 * and the head covers it. */
	put(&l, &(struct spec){.action = ARBITER__V1__ACTION__REMOVE,
			       .actor = ARBITER__V1__ACTOR__HUMAN,
			       .category = "STATEMENT_CATEGORY_VIOLENCE",
			       .ground = ARBITER__V1__GROUND__INCOMPATIBLE_CONTENT,
			       .decided = AUG1 + 7 * DAY - 1000,
			       .recorded = AUG1 + 11 * DAY});
	r = run(&l, AUG1 + 3 * DAY, AUG1 + 7 * DAY, NULL);
	f = report_finish(r);
	ck_assert_uint_eq(f->in_period, 5);
	ck_assert_uint_eq(f->chains[0].last_seq, 10);
	ck_assert_uint_eq(f->chains[0].head_sequence, 10);
	ck_assert_mem_eq(f->chains[0].head_hash, l.last_hash, LEDGER_HASH_LEN);
	report_free(r);
	ledger_clear(&l);
}
END_TEST

START_TEST(records_at_a_break_are_counted_and_located)
{
	struct ledger l;
	ledger_init(&l);
	for (int i = 0; i < 5; i++)
		put(&l, &(struct spec){.action = ARBITER__V1__ACTION__REMOVE,
				       .category = "STATEMENT_CATEGORY_VIOLENCE",
				       .ground = ARBITER__V1__GROUND__ILLEGAL_CONTENT,
				       .decided = AUG1 + i * HOUR});
	put(&l, &(struct spec){.chain = "c1",
			       .action = ARBITER__V1__ACTION__LABEL,
			       .category = "STATEMENT_CATEGORY_VIOLENCE",
			       .ground = ARBITER__V1__GROUND__ILLEGAL_CONTENT,
			       .decided = AUG1});
	/* Record 2 of c0 altered after it was written; record 4 written twice. */
	Arbiter__V1__AuditRecord *rec =
		arbiter__v1__audit_record__unpack(NULL, l.msg[2].len, l.msg[2].data);
	char *was = rec->category;
	rec->category = "STATEMENT_CATEGORY_SCAMS_AND_FRAUD";
	size_t len = arbiter__v1__audit_record__get_packed_size(rec);
	uint8_t *altered = malloc(len);
	arbiter__v1__audit_record__pack(rec, altered);
	rec->category = was;
	arbiter__v1__audit_record__free_unpacked(rec, NULL);
	free(l.msg[2].data);
	l.msg[2].data = altered;
	l.msg[2].len = len;
	l.msg[l.n].data = malloc(l.msg[4].len);
	memcpy(l.msg[l.n].data, l.msg[4].data, l.msg[4].len);
	l.msg[l.n].len = l.msg[4].len;
	l.n++;
	struct report *r = run(&l, AUG1, AUG1 + DAY, NULL);
	const struct report_figures *f = report_finish(r);
	ck_assert_uint_eq(f->records, 6); /* the duplicate once */
	ck_assert_uint_eq(f->ledger_records, 6);
	ck_assert_uint_eq(f->ledger_duplicates, 1);
	ck_assert_uint_eq(f->chains_broken, 1);
	ck_assert_uint_eq(f->at_breaks, 1);
	ck_assert_uint_eq(f->actions, 6);
	/* Counted as it stands. */
	ck_assert_uint_eq(row_of(&f->categories, "STATEMENT_CATEGORY_SCAMS_AND_FRAUD")->actions, 1);
	ck_assert_str_eq(f->chains[0].name, "c0");
	ck_assert_int_eq(f->chains[0].verify.first, LEDGER_ALTERED);
	ck_assert_int_eq(f->chains[0].verify.at.offset, 2);
	ck_assert_int_eq(f->chains[1].verify.first, LEDGER_OK);
	/* The page says where, on its first screen. */
	char *html = NULL;
	size_t hl = 0;
	FILE *m = open_memstream(&html, &hl);
	ck_assert_int_eq(report_html_write(f, m), 0);
	fclose(m);
	char *broken = strstr(html, "Ledger BROKEN: 1 chain(s) with breaks");
	ck_assert_ptr_nonnull(broken);
	ck_assert_ptr_nonnull(strstr(html, "<b>c0</b>: altered at partition 0 offset 2"));
	ck_assert(broken < strstr(html, "id=\"chart-actions\""));
	free(html);
	report_free(r);
	ledger_clear(&l);
}
END_TEST

/* --- Appeals ------------------------------------------------------------------------------- */

START_TEST(appeals_filed_in_one_period_and_decided_in_the_next)
{
	struct ledger l;
	ledger_init(&l);
	/* An automated removal on 30 July, appealed on 31 July, reversed on
	 * 2 August (2 days and 5 s later); another appeal of a demotion filed and
	 * upheld in August; a third filed on 3 August, still open. */
	put(&l, &(struct spec){.action = ARBITER__V1__ACTION__REMOVE,
			       .category = "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
			       .ground = ARBITER__V1__GROUND__ILLEGAL_CONTENT,
			       .country = "DE",
			       .decided = AUG1 - 2 * DAY});
	int64_t filed = AUG1 - DAY + 10 * HOUR, decided = filed + 2 * DAY + 5000;
	put_appeal(&l, 500, "ap-1", false, ARBITER__V1__ACTION__REMOVE, filed, 0, 0);
	put(&l, &(struct spec){.kind = ARBITER__V1__DECISION_KIND__APPEAL_FILED,
			       .appeal_id = "ap-1",
			       .decided = filed,
			       .source = 500,
			       .country = "DE"});
	put_appeal(&l, 501, "ap-1", true, ARBITER__V1__ACTION__REMOVE, filed, decided,
		   ARBITER__V1__APPEAL_OUTCOME__REVERSED);
	put(&l, &(struct spec){.kind = ARBITER__V1__DECISION_KIND__APPEAL_RESOLVED,
			       .action = ARBITER__V1__ACTION__RESTORE,
			       .actor = ARBITER__V1__ACTOR__HUMAN,
			       .appeal_id = "ap-1",
			       .outcome = ARBITER__V1__APPEAL_OUTCOME__REVERSED,
			       .decided = decided,
			       .source = 501,
			       .queue = "appeals",
			       .deadline = decided + HOUR,
			       .reviewer = "juma",
			       .country = "DE"});
	int64_t filed2 = AUG1 + 4 * DAY, decided2 = filed2 + 3 * HOUR;
	put_appeal(&l, 502, "ap-2", false, ARBITER__V1__ACTION__DEMONETIZE, filed2, 0, 0);
	put(&l, &(struct spec){.kind = ARBITER__V1__DECISION_KIND__APPEAL_FILED,
			       .appeal_id = "ap-2",
			       .decided = filed2,
			       .source = 502});
	put_appeal(&l, 503, "ap-2", true, ARBITER__V1__ACTION__DEMONETIZE, filed2, decided2,
		   ARBITER__V1__APPEAL_OUTCOME__UPHELD);
	put(&l, &(struct spec){.kind = ARBITER__V1__DECISION_KIND__APPEAL_RESOLVED,
			       .action = ARBITER__V1__ACTION__DEMONETIZE,
			       .actor = ARBITER__V1__ACTOR__HUMAN,
			       .appeal_id = "ap-2",
			       .outcome = ARBITER__V1__APPEAL_OUTCOME__UPHELD,
			       .decided = decided2,
			       .source = 503});
	put_appeal(&l, 504, "ap-3", false, ARBITER__V1__ACTION__SUSPEND_ACCOUNT, AUG1 + 2 * DAY, 0,
		   0);
	put(&l, &(struct spec){.kind = ARBITER__V1__DECISION_KIND__APPEAL_FILED,
			       .appeal_id = "ap-3",
			       .decided = AUG1 + 2 * DAY,
			       .source = 504});
	/* An appeal record written twice after a crash counts once. */
	put_appeal(&l, 504, "ap-3", false, ARBITER__V1__ACTION__SUSPEND_ACCOUNT, AUG1 + 2 * DAY, 0,
		   0);

	struct report *july = run(&l, AUG1 - 31 * DAY, AUG1, NULL);
	const struct report_figures *f = report_finish(july);
	ck_assert_uint_eq(f->appeal_records, 5);
	ck_assert_uint_eq(f->actions, 1);
	const struct report_complaints *c = &f->complaints[REPORT_C_ALL];
	ck_assert_uint_eq(c->filed, 1);
	ck_assert_uint_eq(c->decided, 0);
	ck_assert_uint_eq(f->complaints[REPORT_C_VISIBILITY].filed, 1);
	report_free(july);

	struct report *aug = run(&l, AUG1, AUG1 + 31 * DAY, NULL);
	f = report_finish(aug);
	c = &f->complaints[REPORT_C_ALL];
	/* The July removal is not an August action; its reversal is an August one. */
	ck_assert_uint_eq(f->actions, 0);
	ck_assert_uint_eq(c->filed, 2);
	ck_assert_uint_eq(c->decided, 2);
	ck_assert_uint_eq(c->reversed, 1);
	ck_assert_uint_eq(c->upheld, 1);
	ck_assert_uint_eq(c->time.n, 2);
	ck_assert_uint_eq(report_hist_quantile(&c->time, 1000), 2 * DAY + 5000);
	ck_assert_uint_eq(report_hist_quantile(&c->time, 0), 3 * HOUR);
	ck_assert_uint_eq(f->complaints[REPORT_C_VISIBILITY].reversed, 1);
	ck_assert_uint_eq(f->complaints[REPORT_C_MONETARY].upheld, 1);
	ck_assert_uint_eq(f->complaints[REPORT_C_ACCOUNT].filed, 1);
	ck_assert_uint_eq(f->daily[1][REPORT_D_REVERSED], 1);
	/* A reversal (RESTORE) restricts nothing new; an upheld appeal neither. */
	ck_assert_uint_eq(f->on_complaint, 0);
	ck_assert_uint_eq(row_of(&f->queues, "appeals")->sla_met, 1);

	/* Part 7: the template's rows, with the median in days. */
	char *p7 = capture_part(f, 7);
	char cells[64][256];
	ck_assert_uint_eq(csv_line(p7, 4,
				   "Number of complaints submitted to the internal-complaints "
				   "mechanism",
				   "Decisions reversed", cells),
			  8);
	ck_assert_str_eq(cells[6], "1");
	ck_assert_uint_eq(csv_line(p7, 4,
				   "Number of complaints submitted to the internal-complaints "
				   "mechanism",
				   "Median time", cells),
			  8);
	/* Median of {3 h, 2 d 5 s}: rank 1, 3 h = 10,800,000 ms, in the bucket
	 * [10747904, 10813440): its lower edge, raised to the minimum (3 h). */
	ck_assert_str_eq(cells[6], "0.1250");
	ck_assert_uint_eq(
		csv_line(p7, 4,
			 "Number of disputes submitted to out-of-court dispute settlement "
			 "bodies",
			 "Total number", cells),
		8);
	ck_assert_str_eq(cells[6], "");
	ck_assert_ptr_nonnull(strstr(cells[7], "Not from this source"));
	free(p7);
	report_free(aug);
	ledger_clear(&l);
}
END_TEST

START_TEST(a_reversed_action_counts_as_an_action_and_as_a_reversal)
{
	struct ledger l;
	ledger_init(&l);
	put(&l, &(struct spec){.action = ARBITER__V1__ACTION__SUSPEND_ACCOUNT,
			       .actor = ARBITER__V1__ACTOR__HUMAN,
			       .category = "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
			       .ground = ARBITER__V1__GROUND__INCOMPATIBLE_CONTENT,
			       .decided = AUG1 + HOUR,
			       .reviewer = "amina"});
	put_appeal(&l, 700, "ap-9", false, ARBITER__V1__ACTION__SUSPEND_ACCOUNT, AUG1 + 2 * HOUR, 0,
		   0);
	put(&l, &(struct spec){.kind = ARBITER__V1__DECISION_KIND__APPEAL_FILED,
			       .appeal_id = "ap-9",
			       .decided = AUG1 + 2 * HOUR,
			       .source = 700});
	put_appeal(&l, 701, "ap-9", true, ARBITER__V1__ACTION__SUSPEND_ACCOUNT, AUG1 + 2 * HOUR,
		   AUG1 + 5 * HOUR, ARBITER__V1__APPEAL_OUTCOME__MODIFIED);
	/* Modified to a label: a new, lighter restriction imposed on the complaint. */
	put(&l, &(struct spec){.kind = ARBITER__V1__DECISION_KIND__APPEAL_RESOLVED,
			       .action = ARBITER__V1__ACTION__LABEL,
			       .actor = ARBITER__V1__ACTOR__HUMAN,
			       .appeal_id = "ap-9",
			       .category = "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
			       .ground = ARBITER__V1__GROUND__INCOMPATIBLE_CONTENT,
			       .outcome = ARBITER__V1__APPEAL_OUTCOME__MODIFIED,
			       .decided = AUG1 + 5 * HOUR,
			       .source = 701,
			       .reviewer = "juma"});
	struct report *r = run(&l, AUG1, AUG1 + DAY, NULL);
	const struct report_figures *f = report_finish(r);
	ck_assert_uint_eq(f->actions, 1);
	ck_assert_uint_eq(f->by_action[ARBITER__V1__ACTION__SUSPEND_ACCOUNT], 1);
	ck_assert_uint_eq(f->own[REPORT_INCOMPATIBLE][REPORT_CAT_TOTAL][REPORT_M_ACCOUNT_SUSPEND],
			  1);
	ck_assert_uint_eq(f->complaints[REPORT_C_ALL].modified, 1);
	ck_assert_uint_eq(f->complaints[REPORT_C_ACCOUNT].modified, 1);
	ck_assert_uint_eq(f->on_complaint, 1);
	ck_assert_uint_eq(f->statements, 2);
	/* Own initiative counts the suspension only. */
	ck_assert_uint_eq(f->own[REPORT_INCOMPATIBLE][REPORT_CAT_TOTAL][REPORT_M_MEASURES], 1);
	ck_assert_uint_eq(report_hist_quantile(&f->complaints[REPORT_C_ALL].time, 500), 3 * HOUR);
	report_free(r);
	ledger_clear(&l);
}
END_TEST

/* --- Writers --------------------------------------------------------------------------------- */

START_TEST(santa_clara_numbers_in_json_and_csv)
{
	struct ledger l;
	ledger_init(&l);
	august(&l);
	struct report *r = run(&l, AUG1, AUG1 + 31 * DAY, NULL);
	const struct report_figures *f = report_finish(r);
	json_t *j = report_santaclara_json(f);
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(
		json_integer_value(json_object_get(json_object_get(j, "actions"), "total")), 11);
	json_t *by_country = json_object_get(json_object_get(j, "actions"), "by_country");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(by_country, 0), "name")),
			 "DE");
	ck_assert_int_eq(
		json_integer_value(json_object_get(json_array_get(by_country, 0), "actions")), 6);
	json_t *tta = json_object_get(j, "time_to_action_ms");
	ck_assert_int_eq(json_integer_value(json_object_get(tta, "p50")), 1000);
	ck_assert_int_eq(json_integer_value(json_object_get(tta, "p90")), 7200000);
	json_t *q = json_array_get(json_object_get(json_object_get(j, "actions"), "by_queue"), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(q, "sla_met")), 2);
	ck_assert_double_eq_tol(json_real_value(json_object_get(q, "sla_compliance")), 0.6667,
				1e-9);
	json_t *ledger = json_object_get(j, "ledger");
	ck_assert(json_is_true(json_object_get(ledger, "intact")));
	json_t *chain = json_array_get(json_object_get(ledger, "chains"), 0);
	char hex[65];
	report_hex(hex, l.last_hash);
	ck_assert_str_eq(json_string_value(json_object_get(
				 json_object_get(chain, "head_at_period_end"), "hash")),
			 hex);
	json_decref(j);

	char *csv = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&csv, &len);
	ck_assert_int_eq(report_santaclara_write_csv(f, m), 0);
	fclose(m);
	ck_assert_ptr_nonnull(strstr(csv, "section,key,metric,value\r\n"));
	ck_assert_ptr_nonnull(strstr(csv, "\r\nactions,,total,11\r\n"));
	ck_assert_ptr_nonnull(strstr(csv, "\r\nactions,KE,by_country.actions,4\r\n"));
	ck_assert_ptr_nonnull(strstr(csv, "\r\nactions,bs-latn,by_language.actions,1\r\n"));
	ck_assert_ptr_nonnull(
		strstr(csv, "\r\nactions,election-integrity,by_queue.sla_missed,1\r\n"));
	ck_assert_ptr_nonnull(strstr(csv, "\r\ntime_to_action_ms,,p50,1000\r\n"));
	free(csv);
	report_free(r);
	ledger_clear(&l);
}
END_TEST

START_TEST(the_page_holds_the_figures_and_escapes_the_ledger)
{
	struct ledger l;
	ledger_init(&l);
	august(&l);
	put(&l, &(struct spec){.action = ARBITER__V1__ACTION__REMOVE,
			       .category = "STATEMENT_CATEGORY_VIOLENCE",
			       .ground = ARBITER__V1__GROUND__ILLEGAL_CONTENT,
			       .rule = "<script>alert(1)</script>",
			       .lang = "x\"><img src=x>",
			       .decided = AUG1 + 25 * DAY});
	struct report *r = run(&l, AUG1, AUG1 + 31 * DAY, NULL);
	const struct report_figures *f = report_finish(r);
	char *html = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&html, &len);
	ck_assert_int_eq(report_html_write(f, m), 0);
	fclose(m);
	ck_assert_ptr_nonnull(strstr(html, "<b id=\"tile-actions\" data-value=\"12\">12</b>"));
	ck_assert_ptr_nonnull(strstr(html, "Ledger verified: intact"));
	ck_assert_ptr_nonnull(strstr(html, "id=\"chart-actions\""));
	ck_assert_ptr_nonnull(strstr(html, "class=\"mode\" data-mode=\"0\""));
	ck_assert_ptr_nonnull(strstr(html, "election-ke (2027-08-11 to 2027-08-13)"));
	ck_assert_ptr_nonnull(strstr(html, ">bs-latn</text>")); /* a language of one action */
	ck_assert_ptr_null(strstr(html, "<script"));
	ck_assert_ptr_null(strstr(html, "<img"));
	ck_assert_ptr_nonnull(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
	/* Nothing fetched from anywhere. */
	ck_assert_ptr_null(strstr(html, "http://"));
	ck_assert_ptr_null(strstr(html, "https://"));
	ck_assert_ptr_null(strstr(html, "@import"));
	ck_assert_ptr_null(strstr(html, "url("));
	free(html);
	report_free(r);
	ledger_clear(&l);
}
END_TEST

START_TEST(the_data_set_is_pseudonymised_filtered_and_textless)
{
	struct ledger l;
	ledger_init(&l);
	august(&l);
	char *csv = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&csv, &len);
	struct report_dataset *ds;
	ck_assert_int_eq(report_dataset_new(m, "", NULL, &ds), -EINVAL);
	ck_assert_int_eq(report_dataset_new(m, "dataset-key", NULL, &ds), 0);
	struct report *r = run(&l, AUG1, AUG1 + 31 * DAY, ds);
	ck_assert_uint_eq(report_dataset_rows(ds), 13);
	/* The keyed pseudonym is HMAC-SHA256 (as records_pseudonym computes it). */
	char p[65], want[65];
	report_dataset_pseudonym(ds, "content-c0-0", p);
	records_pseudonym(want, "dataset-key", "content-c0-0");
	ck_assert_str_eq(p, want);
	char long_key[200];
	memset(long_key, 'k', sizeof(long_key) - 1);
	long_key[sizeof(long_key) - 1] = '\0';
	struct report_dataset *ds2;
	ck_assert_int_eq(report_dataset_new(m, long_key, NULL, &ds2), 0);
	report_dataset_pseudonym(ds2, "x", p);
	records_pseudonym(want, long_key, "x");
	ck_assert_str_eq(p, want);
	report_dataset_free(ds2);
	report_dataset_free(ds);
	fclose(m);
	ck_assert_ptr_null(strstr(csv, "secret explanation"));
	ck_assert_ptr_null(strstr(csv, "Law §1"));
	ck_assert_ptr_null(strstr(csv, "content-c0-0"));
	ck_assert_ptr_null(strstr(csv, "amina"));
	char reviewer[65], rp[65];
	records_pseudonym(rp, "monitors-key", "amina");
	records_pseudonym(reviewer, "dataset-key", rp);
	ck_assert_ptr_null(strstr(csv, rp)); /* not even the ledger's own pseudonym */
	ck_assert_ptr_nonnull(strstr(csv, reviewer));
	ck_assert(!strncmp(csv, "row,record_id,chain,sequence,audit_partition,audit_offset,", 58));
	/* Row 7 (sequence 6): the first human demotion, with its place and SLA. */
	ck_assert_ptr_nonnull(strstr(csv, "\r\naction,c0-0006,c0,6,0,6,2027-08-11T01:00:00.000Z,"));
	ck_assert_ptr_nonnull(strstr(csv,
				     ",election-ke,election-integrity,2027-08-11T02:00:00.000Z,"
				     "true,7200000,"));
	free(csv);
	report_free(r);

	/* Filters: a monitor of the Kenyan election gets its three rows. */
	csv = NULL;
	m = open_memstream(&csv, &len);
	ck_assert_int_eq(report_dataset_new(m, "k",
					    &(struct report_dataset_filter){.country = "ke",
									    .mode = "election-ke"},
					    &ds),
			 0);
	r = run(&l, AUG1, AUG1 + 31 * DAY, ds);
	ck_assert_uint_eq(report_dataset_rows(ds), 3);
	report_dataset_free(ds);
	report_free(r);
	fclose(m);
	free(csv);
	m = open_memstream(&csv, &len);
	ck_assert_int_eq(
		report_dataset_new(m, "k", &(struct report_dataset_filter){.country = "KE"}, &ds),
		0);
	r = run(&l, AUG1, AUG1 + 31 * DAY, ds);
	ck_assert_uint_eq(report_dataset_rows(ds), 4);
	report_dataset_free(ds);
	report_free(r);
	fclose(m);
	free(csv);
	ledger_clear(&l);
}
END_TEST

START_TEST(breakdowns_are_bounded)
{
	struct report *r;
	ck_assert_int_eq(report_new(AUG1, AUG1 + DAY, NULL, &r), 0);
	Arbiter__V1__AuditRecord rec = ARBITER__V1__AUDIT_RECORD__INIT;
	rec.kind = ARBITER__V1__DECISION_KIND__ACTION;
	rec.action = ARBITER__V1__ACTION__LABEL;
	rec.decided_at_ms = AUG1 + HOUR;
	char rule[32];
	char *rules[] = {rule};
	rec.rule_ids = rules;
	rec.n_rule_ids = 1;
	for (int i = 0; i < REPORT_MAX_KEYS + 10; i++) {
		snprintf(rule, sizeof(rule), "rule-%d", i);
		ck_assert_int_eq(report_add_audit(r, &rec, false), 0);
	}
	const struct report_figures *f = report_finish(r);
	ck_assert_uint_eq(f->rules.n, REPORT_MAX_KEYS);
	ck_assert_uint_eq(f->rules.dropped, 10);
	ck_assert_uint_eq(f->actions, REPORT_MAX_KEYS + 10);
	ck_assert_int_eq(report_add_audit(r, &rec, false), -EINVAL); /* finished */
	report_free(r);
}
END_TEST

/* Counts REC (and, before it, ALSO when not NULL) in a fresh report; true
 * when REC was counted as an incomplete statement. */
static bool counted_incomplete(const Arbiter__V1__AuditRecord *also,
			       const Arbiter__V1__AuditRecord *rec)
{
	struct report *r;
	ck_assert_int_eq(report_new(AUG1, AUG1 + 31 * DAY, NULL, &r), 0);
	uint64_t before = 0;
	if (also) {
		ck_assert_int_eq(report_add_audit(r, also, false), 0);
		before = report_finish(r)->statements_incomplete;
		report_free(r);
		ck_assert_int_eq(report_new(AUG1, AUG1 + 31 * DAY, NULL, &r), 0);
		ck_assert_int_eq(report_add_audit(r, also, false), 0);
	}
	ck_assert_int_eq(report_add_audit(r, rec, false), 0);
	const struct report_figures *f = report_finish(r);
	ck_assert_uint_eq(f->statements, also ? 2 : 1);
	uint64_t n = f->statements_incomplete - before;
	report_free(r);
	return n == 1;
}

START_TEST(incomplete_statements_are_counted_as_dsa_check_says)
{
	struct ledger l;
	ledger_init(&l);
	put(&l, &(struct spec){.action = ARBITER__V1__ACTION__REMOVE,
			       .category = "STATEMENT_CATEGORY_VIOLENCE",
			       .ground = ARBITER__V1__GROUND__ILLEGAL_CONTENT,
			       .lang = "de",
			       .country = "DE",
			       .decided = AUG1 + HOUR,
			       .created = AUG1 - DAY});
	Arbiter__V1__AuditRecord *base =
		arbiter__v1__audit_record__unpack(NULL, l.msg[0].len, l.msg[0].data);
	ck_assert_int_eq(dsa_check(base, NULL, 0), 0);
	char *scope_mixed[] = {"KE", "FR"};
	struct {
		const char *what;
		char **field;
		char *value;
	} cases[] = {
		{"as it is", NULL, NULL},
		{"explanation not UTF-8", &base->explanation, "caf\xc3"},
		{"explanation a surrogate", &base->explanation, "\xed\xa0\x80"},
		{"explanation in Swahili and Thai", &base->explanation, "uchochezi \xe0\xb8\x81"},
		{"no legal ground", &base->legal_ground, ""},
		{"legal ground too long to send whole", &base->legal_ground, NULL},
		{"puid with a space", &base->puid, "bad puid"},
		{"puid empty", &base->puid, ""},
		{"content date before 2000", &base->content_date, "1999-12-31"},
		{"content date 2000-01-01", &base->content_date, "2000-01-01"},
		{"content date not a date", &base->content_date, "2027-02-30"},
		{"application date before 2020", &base->application_date, "2019-12-31"},
		{"application date after 2038-01-01", &base->application_date, "2038-01-02"},
		{"application date 2038-01-01", &base->application_date, "2038-01-01"},
		{"category unknown", &base->category, "STATEMENT_CATEGORY_NONE"},
		{"content language unknown", &base->content_language, "XX"},
		{"no automated decision", &base->automated_decision, ""},
		{"no decision facts", &base->decision_facts, ""},
	};
	char long_ground[1200];
	memset(long_ground, 'a', sizeof(long_ground) - 1);
	long_ground[sizeof(long_ground) - 1] = '\0';
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		Arbiter__V1__AuditRecord rec = *base;
		size_t off = cases[i].field ? (size_t)((char *)cases[i].field - (char *)base) : 0;
		if (cases[i].field)
			*(char **)((char *)&rec + off) =
				cases[i].value ? cases[i].value : long_ground;
		bool want = dsa_check(&rec, NULL, 0) != 0;
		ck_assert_msg(counted_incomplete(NULL, &rec) == want, "%s", cases[i].what);
		/* After the base record (a complete statement of the same shape
		 * but for this field) too. */
		ck_assert_msg(counted_incomplete(base, &rec) == want, "%s, after another",
			      cases[i].what);
	}
	/* A scope partly outside the EEA. */
	Arbiter__V1__AuditRecord rec = *base;
	rec.n_territorial_scope = 2;
	rec.territorial_scope = scope_mixed;
	ck_assert(counted_incomplete(base, &rec) == (dsa_check(&rec, NULL, 0) != 0));
	arbiter__v1__audit_record__free_unpacked(base, NULL);
	ledger_clear(&l);
}
END_TEST

START_TEST(the_arena_decodes_records_without_leaks)
{
	struct ledger l;
	ledger_init(&l);
	august(&l);
	struct report_arena a;
	report_arena_init(&a);
	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < l.n; i++) {
			report_arena_reset(&a);
			Arbiter__V1__AuditRecord *rec = arbiter__v1__audit_record__unpack(
				&a.base, l.msg[i].len, l.msg[i].data);
			ck_assert_ptr_nonnull(rec);
			ck_assert_uint_eq(arbiter__v1__audit_record__get_packed_size(rec),
					  l.msg[i].len);
			arbiter__v1__audit_record__free_unpacked(rec, &a.base);
		}
	}
	/* An allocation larger than the block. */
	void *big = a.base.alloc(a.base.allocator_data, 1 << 20);
	ck_assert_ptr_nonnull(big);
	memset(big, 1, 1 << 20);
	report_arena_deinit(&a);
	ledger_clear(&l);
}
END_TEST

START_TEST(hostile_records_are_counted_or_refused_never_a_crash)
{
	struct ledger l;
	ledger_init(&l);
	august(&l);
	struct report *r;
	ck_assert_int_eq(report_new(AUG1, AUG1 + 31 * DAY, NULL, &r), 0);
	char *csv = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&csv, &len);
	struct report_dataset *ds;
	ck_assert_int_eq(report_dataset_new(m, "k", NULL, &ds), 0);
	struct ledger_verifier *v = ledger_verifier_new();
	struct report_arena a;
	report_arena_init(&a);
	uint64_t x = 0x9E3779B97F4A7C15ULL;
	size_t decoded = 0;
	for (int i = 0; i < 20000; i++) {
		size_t k = (size_t)i % l.n;
		uint8_t buf[4096];
		size_t n = l.msg[k].len < sizeof(buf) ? l.msg[k].len : sizeof(buf);
		memcpy(buf, l.msg[k].data, n);
		/* Flip a few bytes, or cut the message short. */
		for (int f = 0; f < 3; f++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[x % n] = (uint8_t)(x >> 24);
		}
		if (i % 7 == 0)
			n = (size_t)(x >> 40) % n;
		report_arena_reset(&a);
		struct ledger_fed fed;
		ck_assert_int_eq(ledger_verify_feed(v, (int32_t)(i % 3), i, buf, n, &a.base, &fed),
				 0);
		if (!fed.record) {
			report_add_undecodable(r);
			continue;
		}
		decoded++;
		ck_assert_int_eq(report_add_audit(r, fed.record, fed.brk != LEDGER_OK), 0);
		if (report_in_period(r, fed.record))
			ck_assert_int_ge(report_dataset_add(ds, fed.record,
							    report_appeal_of(r, fed.record), 0, i),
					 0);
		arbiter__v1__audit_record__free_unpacked(fed.record, &a.base);
	}
	ck_assert_uint_gt(decoded, 1000);
	const struct ledger_chain_report *reps;
	size_t nr = ledger_verify_reports(v, &reps);
	ck_assert_int_eq(report_set_verification(r, reps, nr), 0);
	const struct report_figures *f = report_finish(r);
	for (int part = 1; part <= REPORT_CSV_PARTS; part++)
		ck_assert_int_eq(report_csv_part(f, part, m), 0);
	ck_assert_int_eq(report_santaclara_write_json(f, m), 0);
	ck_assert_int_eq(report_santaclara_write_csv(f, m), 0);
	ck_assert_int_eq(report_html_write(f, m), 0);
	report_dataset_free(ds);
	fclose(m);
	free(csv);
	report_arena_deinit(&a);
	ledger_verifier_free(v);
	report_free(r);
	ledger_clear(&l);
}
END_TEST

static Suite *report_suite(void)
{
	Suite *s = suite_create("report");
	TCase *tc = tcase_create("figures");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, quantiles_are_exact_below_256_ms_and_floored_to_1_128_above);
	tcase_add_test(tc, quantiles_do_not_depend_on_order);
	tcase_add_test(tc, periods_are_whole_utc_days);
	tcase_add_test(tc, an_empty_period_reports_zeros_and_the_heads_before_it);
	tcase_add_test(tc, every_breakdown_counts_exactly);
	tcase_add_test(tc, dsa_parts_follow_the_template);
	tcase_add_test(tc, csv_cells_are_quoted_as_rfc_4180_says);
	tcase_add_test(tc, a_period_cut_in_the_middle_of_a_chain);
	tcase_add_test(tc, records_at_a_break_are_counted_and_located);
	tcase_add_test(tc, appeals_filed_in_one_period_and_decided_in_the_next);
	tcase_add_test(tc, a_reversed_action_counts_as_an_action_and_as_a_reversal);
	tcase_add_test(tc, santa_clara_numbers_in_json_and_csv);
	tcase_add_test(tc, the_page_holds_the_figures_and_escapes_the_ledger);
	tcase_add_test(tc, the_data_set_is_pseudonymised_filtered_and_textless);
	tcase_add_test(tc, breakdowns_are_bounded);
	tcase_add_test(tc, incomplete_statements_are_counted_as_dsa_check_says);
	tcase_add_test(tc, the_arena_decodes_records_without_leaks);
	tcase_add_test(tc, hostile_records_are_counted_or_refused_never_a_crash);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(report_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
