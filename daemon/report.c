/* Transparency reports: streaming aggregation of audit and appeal records into a period's
 * figures. */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct report {
	struct report_figures f;
	/* Chains by name (index into chains). */
	struct strmap chain_idx;
	size_t chains_cap;
	/* Appeal records by the decision message that caused them. */
	struct strmap appeal_idx;
	struct report_appeal *appeals;
	size_t n_appeals, appeals_cap;
	int n_mode_bits;
	bool finished;
	/* Whether a statement of a given shape is complete (dsa_memo_check). */
	struct dsa_memo *memo;
};

/* Statement shapes remembered (dsa_memo): more than a ledger's rules make. */
#define REPORT_MAX_SHAPES 65536

/* --- Calendar ------------------------------------------------------------------- */

/* Days since 1970-01-01 of Y-M-D in the proleptic Gregorian calendar. */
static int64_t report_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* The date of day Z since 1970-01-01. */
static void report_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

void report_format_date(char out[11], int64_t ms)
{
	int64_t y;
	unsigned m, d;
	int64_t days = ms >= 0 ? ms / REPORT_DAY_MS : -((-ms + REPORT_DAY_MS - 1) / REPORT_DAY_MS);
	report_civil_from_days(days, &y, &m, &d);
	char buf[40];
	snprintf(buf, sizeof(buf), "%04" PRId64 "-%02u-%02u", y, m, d);
	memcpy(out, buf, 10);
	out[10] = '\0';
}

int report_day_start(const char *date, int64_t *ms)
{
	if (!date || !dsa_is_date(date))
		return -EINVAL;
	int y = atoi(date), m = atoi(date + 5), d = atoi(date + 8);
	if (y < 1970)
		return -EINVAL;
	*ms = report_days_from_civil(y, (unsigned)m, (unsigned)d) * REPORT_DAY_MS;
	return 0;
}

void report_last_month(int64_t now_ms, int64_t *from, int64_t *to)
{
	int64_t y;
	unsigned m, d;
	report_civil_from_days(now_ms / REPORT_DAY_MS, &y, &m, &d);
	*to = report_days_from_civil(y, m, 1) * REPORT_DAY_MS;
	if (m == 1) {
		y--;
		m = 12;
	} else {
		m--;
	}
	*from = report_days_from_civil(y, m, 1) * REPORT_DAY_MS;
}

/* --- Histograms ---------------------------------------------------------------- */

static const uint64_t report_bin_upper[REPORT_BINS - 1] = {
	1000, 10000, 60000, 600000, 3600000, 6 * 3600000ULL, 24 * 3600000ULL, 7 * 24 * 3600000ULL,
};

const char *report_bin_label(size_t i)
{
	static const char *const labels[REPORT_BINS] = {
		"< 1 s", "1-10 s", "10 s-1 min", "1-10 min", "10 min-1 h",
		"1-6 h", "6-24 h", "1-7 d",      "≥ 7 d",
	};
	return i < REPORT_BINS ? labels[i] : "?";
}

static size_t report_hist_bucket(uint64_t v)
{
	if (v < REPORT_HIST_SUB)
		return (size_t)v;
	unsigned e = 63u - (unsigned)__builtin_clzll(v); /* 7 .. 41 */
	unsigned shift = e - 7;
	return (size_t)(e - 6) * REPORT_HIST_SUB + (size_t)((v >> shift) - REPORT_HIST_SUB);
}

static uint64_t report_hist_low(size_t b)
{
	if (b < REPORT_HIST_SUB)
		return b;
	size_t e = b / REPORT_HIST_SUB + 6, sub = b % REPORT_HIST_SUB;
	return (uint64_t)(REPORT_HIST_SUB + sub) << (e - 7);
}

void report_hist_add(struct report_hist *h, int64_t ms)
{
	uint64_t v = ms < 0 ? 0 : (uint64_t)ms;
	if (v >= 1ULL << REPORT_HIST_MAX_EXP)
		v = (1ULL << REPORT_HIST_MAX_EXP) - 1;
	if (!h->n || v < h->min)
		h->min = v;
	if (!h->n || v > h->max)
		h->max = v;
	h->n++;
	h->count[report_hist_bucket(v)]++;
	size_t bin = 0;
	while (bin < REPORT_BINS - 1 && v >= report_bin_upper[bin])
		bin++;
	h->bins[bin]++;
}

uint64_t report_hist_quantile(const struct report_hist *h, unsigned permille)
{
	if (!h->n)
		return 0;
	if (permille > 1000)
		permille = 1000;
	/* Nearest rank, in integers: ceil(permille * n / 1000), at least 1. */
	uint64_t rank = ((uint64_t)permille * h->n + 999) / 1000;
	if (rank == 0)
		return h->min;
	if (rank >= h->n)
		return h->max;
	uint64_t seen = 0;
	for (size_t b = 0; b < REPORT_HIST_BUCKETS; b++) {
		seen += h->count[b];
		if (seen >= rank) {
			uint64_t v = report_hist_low(b);
			return v < h->min ? h->min : v > h->max ? h->max : v;
		}
	}
	return h->max;
}

/* --- Tallies -------------------------------------------------------------------- */

/* The row of NAME, made when new; NULL when the tally is full (counted as
 * dropped) or memory ran out (*RC = -ENOMEM). */
static struct report_row *report_tally_row(struct report_tally *t, const char *name, int *rc)
{
	uint32_t i;
	size_t len = strlen(name);
	if (strmap_get(&t->idx, name, len, &i))
		return &t->rows[i];
	if (t->n >= REPORT_MAX_KEYS) {
		t->dropped++;
		return NULL;
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct report_row *rows = realloc(t->rows, cap * sizeof(*rows));
		if (!rows) {
			*rc = -ENOMEM;
			return NULL;
		}
		t->rows = rows;
		t->cap = cap;
	}
	struct report_row *row = &t->rows[t->n];
	*row = (struct report_row){.bit = -1};
	if (!(row->name = strdup(name)) ||
	    strmap_put(&t->idx, name, len, (uint32_t)t->n, NULL) < 0) {
		free(row->name);
		*rc = -ENOMEM;
		return NULL;
	}
	t->n++;
	return row;
}

static void report_tally_free(struct report_tally *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->rows[i].name);
	free(t->rows);
	strmap_free(&t->idx);
}

static int report_row_by_actions(const void *a, const void *b)
{
	const struct report_row *x = a, *y = b;
	if (x->actions != y->actions)
		return x->actions > y->actions ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int report_row_by_decisions(const void *a, const void *b)
{
	const struct report_row *x = a, *y = b;
	if (x->decisions != y->decisions)
		return x->decisions > y->decisions ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* --- Setup ----------------------------------------------------------------------- */

int report_new(int64_t from_ms, int64_t to_ms, const struct report_meta *meta, struct report **out)
{
	*out = NULL;
	if (from_ms < 0 || to_ms <= from_ms || from_ms % REPORT_DAY_MS || to_ms % REPORT_DAY_MS ||
	    (to_ms - from_ms) / REPORT_DAY_MS > REPORT_MAX_DAYS)
		return -EINVAL;
	struct report *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	struct report_figures *f = &r->f;
	f->from_ms = from_ms;
	f->to_ms = to_ms;
	report_format_date(f->from, from_ms);
	report_format_date(f->to, to_ms - 1);
	f->provider = meta && meta->provider ? meta->provider : "";
	f->service = meta && meta->service ? meta->service : "";
	f->generated_ms = meta ? meta->generated_ms : 0;
	f->days = (size_t)((to_ms - from_ms) / REPORT_DAY_MS);
	f->daily = calloc(f->days, sizeof(*f->daily));
	f->mode_days = calloc(f->days, sizeof(*f->mode_days));
	r->memo = dsa_memo_new(REPORT_MAX_SHAPES);
	if (!f->daily || !f->mode_days || !r->memo) {
		report_free(r);
		return -ENOMEM;
	}
	*out = r;
	return 0;
}

void report_free(struct report *r)
{
	if (!r)
		return;
	struct report_figures *f = &r->f;
	struct report_tally *tallies[] = {&f->categories, &f->countries, &f->languages,
					  &f->rules,      &f->queues,    &f->modes};
	for (size_t i = 0; i < sizeof(tallies) / sizeof(tallies[0]); i++)
		report_tally_free(tallies[i]);
	for (size_t i = 0; i < f->n_chains; i++)
		free(f->chains[i].name);
	free(f->chains);
	strmap_free(&r->chain_idx);
	strmap_free(&r->appeal_idx);
	dsa_memo_free(r->memo);
	free(r->appeals);
	free(f->daily);
	free(f->mode_days);
	free(r);
}

/* --- Appeals ---------------------------------------------------------------------- */

/* The key that joins an appeal record to the audit record of the same
 * decision message. */
static size_t report_source_key(char *out, size_t size, const char *topic, int32_t partition,
				int64_t offset)
{
	int n = snprintf(out, size, "%s%c%" PRId32 "%c%" PRId64, topic ? topic : "", 0x1f,
			 partition, 0x1f, offset);
	return n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
}

static void report_copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

int report_add_appeal(struct report *r, const Arbiter__V1__AppealRecord *a)
{
	char key[512];
	size_t len = report_source_key(key, sizeof(key), a->source_topic, a->source_partition,
				       a->source_offset);
	if (strmap_get(&r->appeal_idx, key, len, &(uint32_t){0}))
		return 0; /* written again after a crash: the same record */
	if (r->n_appeals == r->appeals_cap) {
		size_t cap = r->appeals_cap ? r->appeals_cap * 2 : 64;
		struct report_appeal *v = realloc(r->appeals, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		r->appeals = v;
		r->appeals_cap = cap;
	}
	if (strmap_put(&r->appeal_idx, key, len, (uint32_t)r->n_appeals, NULL) < 0)
		return -ENOMEM;
	struct report_appeal *ap = &r->appeals[r->n_appeals++];
	memset(ap, 0, sizeof(*ap));
	report_copy(ap->record_id, sizeof(ap->record_id), a->record_id);
	report_copy(ap->appeal_id, sizeof(ap->appeal_id), a->appeal_id);
	report_copy(ap->decision_id, sizeof(ap->decision_id), a->decision_id);
	report_copy(ap->original_reviewer, sizeof(ap->original_reviewer),
		    a->original_reviewer_pseudonym);
	ap->resolved = a->resolved;
	ap->original_action = a->original_action;
	ap->new_action = a->new_action;
	ap->outcome = a->outcome;
	ap->filed_at_ms = a->filed_at_ms;
	ap->resolved_at_ms = a->resolved_at_ms;
	r->f.appeal_records++;
	return 0;
}

const struct report_appeal *report_appeal_of(const struct report *r,
					     const Arbiter__V1__AuditRecord *rec)
{
	char key[512];
	size_t len = report_source_key(key, sizeof(key), rec->source_topic, rec->source_partition,
				       rec->source_offset);
	uint32_t i;
	return strmap_get(&r->appeal_idx, key, len, &i) ? &r->appeals[i] : NULL;
}

/* --- Audit records ----------------------------------------------------------------- */

int64_t report_record_time(const Arbiter__V1__AuditRecord *rec)
{
	return rec->decided_at_ms > 0 ? rec->decided_at_ms : rec->recorded_at_ms;
}

bool report_in_period(const struct report *r, const Arbiter__V1__AuditRecord *rec)
{
	int64_t t = report_record_time(rec);
	return t >= r->f.from_ms && t < r->f.to_ms;
}

const char *report_eu_language(size_t i)
{
	static const char *const langs[REPORT_EU_LANGUAGES] = {
		"bg", "cs", "da", "de", "el", "en", "es", "et", "fi", "fr", "ga", "hr",
		"hu", "it", "lt", "lv", "mt", "nl", "pl", "pt", "ro", "sk", "sl", "sv",
	};
	return i < REPORT_EU_LANGUAGES ? langs[i] : NULL;
}

/* The index of the EU language whose upper-case ISO 639-1 code is CODE, or -1. */
static int report_eu_index(const char *code)
{
	if (!code || strlen(code) != 2)
		return -1;
	char low[3] = {(char)(code[0] | 0x20), (char)(code[1] | 0x20), '\0'};
	for (int i = 0; i < REPORT_EU_LANGUAGES; i++)
		if (!strcmp(report_eu_language((size_t)i), low))
			return i;
	return -1;
}

static enum report_complaint_type report_complaint_type(Arbiter__V1__Action action)
{
	const struct dsa_action *a = dsa_action_map(action);
	if (!a)
		return REPORT_C_OTHER;
	if (a->account)
		return REPORT_C_ACCOUNT;
	if (a->provision)
		return REPORT_C_PROVISION;
	if (a->monetary)
		return REPORT_C_MONETARY;
	return REPORT_C_VISIBILITY;
}

/* Adds one to the measure columns REC's statement fields name. */
static void report_measure(uint64_t m[REPORT_MEASURES], const Arbiter__V1__AuditRecord *rec)
{
	static const struct {
		const char *value;
		enum report_measure col;
	} cols[] = {
		{"DECISION_VISIBILITY_CONTENT_REMOVED", REPORT_M_REMOVED},
		{"DECISION_VISIBILITY_CONTENT_DISABLED", REPORT_M_DISABLED},
		{"DECISION_VISIBILITY_CONTENT_DEMOTED", REPORT_M_DEMOTED},
		{"DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED", REPORT_M_AGE_RESTRICTED},
		{"DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED", REPORT_M_INTERACTION},
		{"DECISION_VISIBILITY_CONTENT_LABELLED", REPORT_M_LABELLED},
		{"DECISION_VISIBILITY_OTHER", REPORT_M_VISIBILITY_OTHER},
		{"DECISION_MONETARY_SUSPENSION", REPORT_M_MONETARY_SUSPEND},
		{"DECISION_MONETARY_TERMINATION", REPORT_M_MONETARY_END},
		{"DECISION_MONETARY_OTHER", REPORT_M_MONETARY_OTHER},
		{"DECISION_PROVISION_PARTIAL_SUSPENSION", REPORT_M_PROVISION_SUSPEND},
		{"DECISION_PROVISION_TOTAL_SUSPENSION", REPORT_M_PROVISION_SUSPEND},
		{"DECISION_PROVISION_PARTIAL_TERMINATION", REPORT_M_PROVISION_END},
		{"DECISION_PROVISION_TOTAL_TERMINATION", REPORT_M_PROVISION_END},
		{"DECISION_ACCOUNT_SUSPENDED", REPORT_M_ACCOUNT_SUSPEND},
		{"DECISION_ACCOUNT_TERMINATED", REPORT_M_ACCOUNT_END},
	};
	const size_t n_cols = sizeof(cols) / sizeof(cols[0]);
	m[REPORT_M_MEASURES]++;
	if (rec->automated_detection)
		m[REPORT_M_AUTO_DETECTED]++;
	for (size_t i = 0; i < rec->n_decision_visibility; i++)
		for (size_t k = 0; k < n_cols; k++)
			if (!strcmp(rec->decision_visibility[i], cols[k].value))
				m[cols[k].col]++;
	const char *single[] = {rec->decision_monetary, rec->decision_provision,
				rec->decision_account};
	for (size_t i = 0; i < 3; i++) {
		if (!single[i] || !single[i][0])
			continue;
		for (size_t k = 0; k < n_cols; k++)
			if (!strcmp(single[i], cols[k].value))
				m[cols[k].col]++;
	}
	const char *how = rec->automated_decision ? rec->automated_decision : "";
	if (!strcmp(how, "AUTOMATED_DECISION_FULLY"))
		m[REPORT_M_FULLY_AUTOMATED]++;
	else if (!strcmp(how, "AUTOMATED_DECISION_PARTIALLY"))
		m[REPORT_M_PARTIALLY]++;
	else if (!strcmp(how, "AUTOMATED_DECISION_NOT_AUTOMATED"))
		m[REPORT_M_NOT_AUTOMATED]++;
}

/* The chain REC belongs to, made when new; NULL when out of memory or past
 * REPORT_MAX_CHAINS. */
static struct report_chain *report_chain(struct report *r, const char *name)
{
	struct report_figures *f = &r->f;
	uint32_t i;
	size_t len = strlen(name);
	if (strmap_get(&r->chain_idx, name, len, &i))
		return &f->chains[i];
	if (f->n_chains >= REPORT_MAX_CHAINS)
		return NULL;
	if (f->n_chains == r->chains_cap) {
		size_t cap = r->chains_cap ? r->chains_cap * 2 : 16;
		struct report_chain *c = realloc(f->chains, cap * sizeof(*c));
		if (!c)
			return NULL;
		f->chains = c;
		r->chains_cap = cap;
	}
	struct report_chain *c = &f->chains[f->n_chains];
	memset(c, 0, sizeof(*c));
	if (!(c->name = strdup(name)) ||
	    strmap_put(&r->chain_idx, name, len, (uint32_t)f->n_chains, NULL) < 0) {
		free(c->name);
		return NULL;
	}
	f->n_chains++;
	return c;
}

/* Where REC stands in its chain: counted, and the head at the period's end. */
static int report_chain_note(struct report *r, const Arbiter__V1__AuditRecord *rec, bool counted)
{
	if (!rec->chain || !rec->chain[0])
		return 0;
	struct report_chain *c = report_chain(r, rec->chain);
	if (!c)
		return -ENOMEM;
	if (counted) {
		if (!c->counted || rec->sequence < c->first_seq)
			c->first_seq = rec->sequence;
		if (!c->counted || rec->sequence > c->last_seq)
			c->last_seq = rec->sequence;
		c->counted++;
	}
	if ((counted || rec->recorded_at_ms < r->f.to_ms) &&
	    (!c->has_head || rec->sequence > c->head_sequence)) {
		c->has_head = true;
		c->head_sequence = rec->sequence;
		memset(c->head_hash, 0, LEDGER_HASH_LEN);
		/* A record without a hash (undecodable to the verifier, counted all the same)
		 * has no data to copy: memcpy from NULL is undefined even for 0 bytes. */
		if (rec->hash.len)
			memcpy(c->head_hash, rec->hash.data,
			       rec->hash.len < LEDGER_HASH_LEN ? rec->hash.len : LEDGER_HASH_LEN);
		c->head_recorded_ms = rec->recorded_at_ms;
	}
	return 0;
}

/* Counts an action (decision of kind ACTION that restricts) in the breakdowns. */
static int report_action(struct report *r, const Arbiter__V1__AuditRecord *rec, size_t day)
{
	struct report_figures *f = &r->f;
	int rc = 0;
	bool automated = rec->actor == ARBITER__V1__ACTOR__AUTOMATED;
	f->actions++;
	if (rec->automated_detection)
		f->auto_detected++;
	const char *how = rec->automated_decision ? rec->automated_decision : "";
	if (!strcmp(how, "AUTOMATED_DECISION_FULLY"))
		f->decided_fully++;
	else if (!strcmp(how, "AUTOMATED_DECISION_PARTIALLY"))
		f->decided_partially++;
	else if (!strcmp(how, "AUTOMATED_DECISION_NOT_AUTOMATED"))
		f->decided_not++;

	char lang[64];
	size_t i = 0;
	for (const char *p = rec->lang ? rec->lang : ""; *p && i < sizeof(lang) - 1; p++)
		lang[i++] = (char)(*p >= 'A' && *p <= 'Z' ? *p | 0x20 : *p);
	lang[i] = '\0';
	const char *keys[] = {rec->category ? rec->category : "", rec->country ? rec->country : "",
			      lang};
	struct report_tally *tallies[] = {&f->categories, &f->countries, &f->languages};
	for (size_t k = 0; k < 3; k++) {
		struct report_row *row = report_tally_row(tallies[k], keys[k], &rc);
		if (row) {
			row->actions++;
			row->automated += automated;
			row->auto_detected += rec->automated_detection;
		}
	}
	for (size_t k = 0; k < rec->n_rule_ids; k++) {
		struct report_row *row = report_tally_row(&f->rules, rec->rule_ids[k], &rc);
		if (row) {
			row->actions++;
			row->automated += automated;
			row->auto_detected += rec->automated_detection;
		}
	}
	if (rec->latency_ms > 0) {
		report_hist_add(&f->time_to_action, rec->latency_ms);
		report_hist_add(automated ? &f->tta_automated : &f->tta_human, rec->latency_ms);
	} else {
		f->tta_unknown++;
	}
	int cat = dsa_category_index(rec->category);
	uint32_t *d = f->daily[day];
	d[REPORT_D_CATEGORY + (cat < 0 ? DSA_CATEGORIES : cat)]++;
	d[automated ? REPORT_D_AUTOMATED : REPORT_D_HUMAN]++;
	return rc;
}

/* Counts a statement of reasons: the DSA template's measures. */
static void report_statement(struct report *r, const Arbiter__V1__AuditRecord *rec)
{
	struct report_figures *f = &r->f;
	f->statements++;
	if (dsa_memo_check(r->memo, rec) != 0)
		f->statements_incomplete++;
	int eu = report_eu_index(rec->content_language);
	if (eu >= 0)
		report_measure(f->by_language[eu], rec);
	const char *how = rec->automated_decision ? rec->automated_decision : "";
	if (!strcmp(how, "AUTOMATED_DECISION_FULLY"))
		f->measures_fully++;
	else if (!strcmp(how, "AUTOMATED_DECISION_PARTIALLY"))
		f->measures_partially++;
	else if (!strcmp(how, "AUTOMATED_DECISION_NOT_AUTOMATED"))
		f->measures_not++;
	if (rec->kind == ARBITER__V1__DECISION_KIND__APPEAL_RESOLVED) {
		f->on_complaint++;
		return;
	}
	if (rec->source_type && rec->source_type[0] &&
	    strcmp(rec->source_type, "SOURCE_VOLUNTARY")) {
		f->on_notice++;
		return;
	}
	enum report_ground g =
		rec->ground == ARBITER__V1__GROUND__ILLEGAL_CONTENT      ? REPORT_ILLEGAL :
		rec->ground == ARBITER__V1__GROUND__INCOMPATIBLE_CONTENT ? REPORT_INCOMPATIBLE :
									   REPORT_NO_GROUND;
	int cat = dsa_category_index(rec->category);
	report_measure(f->own[g][REPORT_CAT_TOTAL], rec);
	report_measure(f->own[g][cat < 0 ? REPORT_CAT_NONE : cat], rec);
}

/* Counts an appeal filed or decided. */
static void report_complaint(struct report *r, const Arbiter__V1__AuditRecord *rec, size_t day)
{
	struct report_figures *f = &r->f;
	const struct report_appeal *ap = report_appeal_of(r, rec);
	enum report_complaint_type type =
		ap ? report_complaint_type(ap->original_action) : REPORT_C_OTHER;
	struct report_complaints *c[2] = {&f->complaints[REPORT_C_ALL], &f->complaints[type]};
	if (rec->kind == ARBITER__V1__DECISION_KIND__APPEAL_FILED) {
		for (size_t i = 0; i < 2; i++)
			c[i]->filed++;
		f->daily[day][REPORT_D_FILED]++;
		return;
	}
	int64_t filed = ap ? ap->filed_at_ms : 0;
	int64_t decided = report_record_time(rec);
	for (size_t i = 0; i < 2; i++) {
		c[i]->decided++;
		switch (rec->appeal_outcome) {
		case ARBITER__V1__APPEAL_OUTCOME__UPHELD:
			c[i]->upheld++;
			break;
		case ARBITER__V1__APPEAL_OUTCOME__MODIFIED:
			c[i]->modified++;
			break;
		case ARBITER__V1__APPEAL_OUTCOME__REVERSED:
			c[i]->reversed++;
			break;
		default:
			break;
		}
		if (filed > 0 && decided >= filed)
			report_hist_add(&c[i]->time, decided - filed);
	}
	f->daily[day][REPORT_D_DECIDED]++;
	if (rec->appeal_outcome == ARBITER__V1__APPEAL_OUTCOME__REVERSED)
		f->daily[day][REPORT_D_REVERSED]++;
}

/* Counts REC for its review queue and its modes. */
static int report_queue_and_modes(struct report *r, const Arbiter__V1__AuditRecord *rec,
				  bool is_action, size_t day)
{
	struct report_figures *f = &r->f;
	int rc = 0;
	bool automated = rec->actor == ARBITER__V1__ACTOR__AUTOMATED;
	if (rec->queue && rec->queue[0]) {
		struct report_row *q = report_tally_row(&f->queues, rec->queue, &rc);
		if (q) {
			q->decisions++;
			q->actions += is_action;
			q->automated += is_action && automated;
			q->auto_detected += is_action && rec->automated_detection;
			if (rec->review_deadline_ms > 0) {
				if (report_record_time(rec) <= rec->review_deadline_ms)
					q->sla_met++;
				else
					q->sla_missed++;
			}
		}
	}
	int64_t t = report_record_time(rec);
	for (size_t i = 0; i < rec->n_modes; i++) {
		struct report_row *m = report_tally_row(&f->modes, rec->modes[i], &rc);
		if (!m)
			continue;
		if (!m->decisions || t < m->first_ms)
			m->first_ms = t;
		if (!m->decisions || t > m->last_ms)
			m->last_ms = t;
		m->decisions++;
		m->actions += is_action;
		m->automated += is_action && automated;
		m->auto_detected += is_action && rec->automated_detection;
		if (m->bit < 0 && r->n_mode_bits < REPORT_MAX_MODES)
			m->bit = r->n_mode_bits++;
		if (m->bit >= 0)
			f->mode_days[day] |= 1u << m->bit;
	}
	return rc;
}

int report_add_audit(struct report *r, const Arbiter__V1__AuditRecord *rec, bool at_break)
{
	if (r->finished)
		return -EINVAL;
	struct report_figures *f = &r->f;
	f->records++;
	bool counted = report_in_period(r, rec);
	int rc = report_chain_note(r, rec, counted);
	if (rc || !counted)
		return rc;
	f->in_period++;
	f->at_breaks += at_break;
	size_t day = (size_t)((report_record_time(rec) - f->from_ms) / REPORT_DAY_MS);
	bool is_action = false;
	switch (rec->kind) {
	case ARBITER__V1__DECISION_KIND__ACTION:
		if ((size_t)rec->action <= ARBITER__V1__ACTION__RESTORE)
			f->by_action[rec->action]++;
		is_action = dsa_action_map(rec->action) != NULL;
		if (is_action)
			rc = report_action(r, rec, day);
		break;
	case ARBITER__V1__DECISION_KIND__APPEAL_FILED:
	case ARBITER__V1__DECISION_KIND__APPEAL_RESOLVED:
		report_complaint(r, rec, day);
		break;
	default:
		break;
	}
	if (dsa_has_statement(rec))
		report_statement(r, rec);
	int qrc = report_queue_and_modes(r, rec, is_action, day);
	return rc ? rc : qrc;
}

void report_add_undecodable(struct report *r)
{
	r->f.undecodable++;
}

int report_set_verification(struct report *r, const struct ledger_chain_report *reps, size_t n)
{
	struct report_figures *f = &r->f;
	f->verified = true;
	for (size_t i = 0; i < n; i++) {
		struct report_chain *c = report_chain(r, reps[i].chain);
		if (!c)
			return -ENOMEM;
		c->verified = true;
		c->verify = reps[i];
		c->verify.chain = NULL;
		f->ledger_records += reps[i].records;
		f->ledger_duplicates += reps[i].duplicates;
		f->chains_broken += reps[i].first != LEDGER_OK;
	}
	return 0;
}

static int report_chain_cmp(const void *a, const void *b)
{
	return strcmp(((const struct report_chain *)a)->name,
		      ((const struct report_chain *)b)->name);
}

const struct report_figures *report_finish(struct report *r)
{
	struct report_figures *f = &r->f;
	if (!r->finished) {
		r->finished = true;
		struct report_tally *by_actions[] = {&f->categories, &f->countries, &f->languages,
						     &f->rules, &f->modes};
		for (size_t i = 0; i < sizeof(by_actions) / sizeof(by_actions[0]); i++)
			if (by_actions[i]->n)
				qsort(by_actions[i]->rows, by_actions[i]->n,
				      sizeof(struct report_row), report_row_by_actions);
		if (f->queues.n)
			qsort(f->queues.rows, f->queues.n, sizeof(struct report_row),
			      report_row_by_decisions);
		if (f->n_chains)
			qsort(f->chains, f->n_chains, sizeof(*f->chains), report_chain_cmp);
	}
	return f;
}

/* --- Arena ------------------------------------------------------------------------------- */

#define REPORT_ARENA_BLOCK 65536

static void *report_arena_alloc(void *data, size_t size)
{
	struct report_arena *a = data;
	size = (size + 15) & ~(size_t)15;
	if (a->block && a->used + size <= a->cap) {
		void *p = a->block + a->used;
		a->used += size;
		return p;
	}
	if (a->n_big == a->cap_big) {
		size_t cap = a->cap_big ? a->cap_big * 2 : 16;
		void **big = realloc(a->big, cap * sizeof(*big));
		if (!big)
			return NULL;
		a->big = big;
		a->cap_big = cap;
	}
	void *p = malloc(size ? size : 1);
	if (p)
		a->big[a->n_big++] = p;
	return p;
}

static void report_arena_free(void *data, void *p)
{
	(void)data;
	(void)p; /* at reset */
}

void report_arena_init(struct report_arena *a)
{
	*a = (struct report_arena){.base = {.alloc = report_arena_alloc,
					    .free = report_arena_free,
					    .allocator_data = a}};
	a->block = malloc(REPORT_ARENA_BLOCK);
	a->cap = a->block ? REPORT_ARENA_BLOCK : 0;
}

void report_arena_reset(struct report_arena *a)
{
	for (size_t i = 0; i < a->n_big; i++)
		free(a->big[i]);
	a->n_big = 0;
	a->used = 0;
}

void report_arena_deinit(struct report_arena *a)
{
	report_arena_reset(a);
	free(a->big);
	free(a->block);
	*a = (struct report_arena){0};
}
