/* Transparency reports: the figures of a period, aggregated from the ledger's records as they
 * stream by, in bounded memory. */
#pragma once

/*
 * The core of `arbiterctl report`: no I/O. The reader feeds it the appeal
 * records (moderation.appeals) first, then every record of the audit ledger
 * (moderation.audit) in topic order, and the verifier's chain reports last;
 * report_finish then gives the figures every writer (report_csv.c,
 * report_santaclara.c, report_html.c) turns into a format.
 *
 * What is in the period. An audit record belongs to the period when its
 * application time (decided_at_ms, or recorded_at_ms when the decision has
 * no time of its own: what the DSA statement's application_date is made
 * of) lies in [from, to). That is the rule `audit export --dsa --from --to`
 * follows, so the statements counted here are the ones it exports. Every
 * record of the ledger is read, whatever its time: the chains are verified
 * from their start.
 *
 * What counts as what.
 *   action       an audit record of kind ACTION whose action restricts
 *                something (LABEL to TERMINATE_ACCOUNT, dsa_action_map), in
 *                any territory. An action later reversed on appeal stays
 *                an action of the period it was taken in; the reversal
 *                counts in the period the appeal was decided in.
 *   measure      a record in the period due a DSA statement of reasons
 *                (dsa_has_statement: a restriction in the EEA, taken or
 *                decided on appeal): what the DSA template counts. Own-
 *                initiative measures are those of kind ACTION with
 *                source_type SOURCE_VOLUNTARY; those of kind APPEAL_RESOLVED
 *                are restrictions newly imposed on an internal complaint;
 *                the rest were taken on notices.
 *   complaint    an appeal: filed (an APPEAL_FILED audit record in the
 *                period) and decided (an APPEAL_RESOLVED one, with its
 *                outcome). The AppealRecord written for the same decision
 *                message (same source topic, partition and offset) adds
 *                what the audit record lacks: the action under appeal and
 *                when the appeal was filed.
 *
 * Latencies (time to action, time to decide an appeal) go to log-linear
 * histograms: values below 256 ms each have a bucket; above, every power of
 * two is cut into 128 buckets. A quantile is the nearest-rank value
 * (rank ceil(q * n)), reported as the lower edge of its bucket raised to the
 * smallest value seen and capped at the largest: exact below 256 ms, at most
 * 1/128 (0.78 %) below the exact value above, and exact at q = 0 and 1.
 * Memory is fixed (36 KiB a histogram) whatever the number of values, and
 * the result does not depend on the order of the records. Values beyond
 * 2^42 ms (139 years) count as 2^42 - 1.
 *
 * Memory: fixed for counts and histograms; per distinct value of each
 * breakdown (category, country, language, rule, queue, mode), at most
 * REPORT_MAX_KEYS values each (more are counted as dropped, and said so);
 * per day of the period (at most REPORT_MAX_DAYS); per chain; and per appeal
 * record, to join it to its audit record (about 200 bytes each).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arbiter/v1/appeal_record.pb-c.h"
#include "arbiter/v1/audit_record.pb-c.h"
#include "dsa.h"
#include "ledger.h"
#include "strmap.h"

#define REPORT_DAY_MS 86400000LL
#define REPORT_MAX_DAYS 3700 /* about ten years */
#define REPORT_MAX_KEYS 4096 /* distinct values kept per breakdown */
#define REPORT_MAX_MODES 32  /* modes shaded on the time charts */
#define REPORT_MAX_CHAINS 100000

/* --- Latency histograms ------------------------------------------------------- */

#define REPORT_HIST_SUB 128 /* buckets per power of two, and the exact range below it */
#define REPORT_HIST_MAX_EXP 42
#define REPORT_HIST_BUCKETS (REPORT_HIST_SUB * (REPORT_HIST_MAX_EXP - 7 + 1))

/* Coarse bins for charts, counted exactly: < 1 s, < 10 s, < 1 min, < 10 min,
 * < 1 h, < 6 h, < 24 h, < 7 d, and the rest. */
#define REPORT_BINS 9

struct report_hist {
	uint64_t n;
	uint64_t min, max; /* exact; 0 when N is 0 */
	uint64_t bins[REPORT_BINS];
	uint64_t count[REPORT_HIST_BUCKETS];
};

/* Adds MS (a duration; negative counts as 0). */
void report_hist_add(struct report_hist *h, int64_t ms);

/* The PERMILLE-th per-mille quantile (500: the median, 990: p99), as the
 * comment at the top of this file defines it; 0 when H is empty. */
uint64_t report_hist_quantile(const struct report_hist *h, unsigned permille);

/* "< 1 s", ..., "≥ 7 d": the label of coarse bin I. */
const char *report_bin_label(size_t i);

/* --- Breakdowns --------------------------------------------------------------- */

/* One value of a breakdown and what was counted for it. */
struct report_row {
	char *name;
	uint64_t actions;       /* actions (see above) */
	uint64_t automated;     /* of which decided by automated means (actor AUTOMATED) */
	uint64_t auto_detected; /* of which detected by automated means */
	uint64_t decisions;     /* queues: decisions of any kind taken from the queue */
	uint64_t sla_met;       /* queues: decided by the entry's deadline */
	uint64_t sla_missed;    /* queues: decided after it */
	int64_t first_ms;       /* modes: the first and last record carrying it */
	int64_t last_ms;
	int bit; /* modes: its bit in report_figures.mode_days, -1 past REPORT_MAX_MODES */
};

/* A breakdown: after report_finish, ROWS are sorted by actions (queues: by
 * decisions), most first, then by name. IDX is the tally's own. */
struct report_tally {
	struct report_row *rows;
	size_t n, cap;
	uint64_t dropped; /* counts that found no row: more than REPORT_MAX_KEYS values */
	struct strmap idx;
};

/* --- The DSA template's own-initiative tables ---------------------------------- */

/* The columns of the template's parts 5 and 6, and the decision method. */
enum report_measure {
	REPORT_M_MEASURES = 0,      /* number of measures taken at own initiative */
	REPORT_M_AUTO_DETECTED,     /* after detection with solely automated means */
	REPORT_M_REMOVED,           /* visibility restriction: removal */
	REPORT_M_DISABLED,          /* visibility: disable */
	REPORT_M_DEMOTED,           /* visibility: demoted */
	REPORT_M_AGE_RESTRICTED,    /* visibility: age restricted */
	REPORT_M_INTERACTION,       /* visibility: interaction restricted */
	REPORT_M_LABELLED,          /* visibility: labelled */
	REPORT_M_VISIBILITY_OTHER,  /* visibility: other */
	REPORT_M_MONETARY_SUSPEND,  /* monetary: suspension */
	REPORT_M_MONETARY_END,      /* monetary: termination */
	REPORT_M_MONETARY_OTHER,    /* monetary: other */
	REPORT_M_PROVISION_SUSPEND, /* provision of the service: suspension (partial or total) */
	REPORT_M_PROVISION_END,     /* provision of the service: termination (partial or total) */
	REPORT_M_ACCOUNT_SUSPEND,   /* account: suspension */
	REPORT_M_ACCOUNT_END,       /* account: termination */
	REPORT_M_FULLY_AUTOMATED,   /* decision: AUTOMATED_DECISION_FULLY */
	REPORT_M_PARTIALLY,         /* decision: AUTOMATED_DECISION_PARTIALLY */
	REPORT_M_NOT_AUTOMATED,     /* decision: AUTOMATED_DECISION_NOT_AUTOMATED */
	REPORT_MEASURES
};

/* Rows: the DSA categories by dsa_category_index, then these two. */
#define REPORT_CAT_TOTAL DSA_CATEGORIES
#define REPORT_CAT_NONE (DSA_CATEGORIES + 1) /* no category the API knows */
#define REPORT_CAT_ROWS (DSA_CATEGORIES + 2)

enum report_ground { REPORT_ILLEGAL = 0, REPORT_INCOMPATIBLE, REPORT_NO_GROUND, REPORT_GROUNDS };

/* --- Complaints (appeals) ------------------------------------------------------- */

/* What the decision under appeal restricted, as the template's part 7 asks. */
enum report_complaint_type {
	REPORT_C_ALL = 0,
	REPORT_C_VISIBILITY, /* removal, disabling, visibility restrictions */
	REPORT_C_PROVISION,  /* suspension or termination of the service */
	REPORT_C_ACCOUNT,    /* suspension or termination of an account */
	REPORT_C_MONETARY,   /* monetisation */
	REPORT_C_OTHER,      /* no restriction, or unknown (no appeal record joined) */
	REPORT_C_TYPES
};

struct report_complaints {
	uint64_t filed;   /* filed in the period */
	uint64_t decided; /* decided in the period: upheld + modified + reversed + other */
	uint64_t upheld, modified, reversed;
	struct report_hist time; /* filed to decided, where both times are known */
};

/* An appeal record, kept to join its audit record. */
struct report_appeal {
	char record_id[33];
	char appeal_id[65];   /* cut at 64 bytes */
	char decision_id[65]; /* of the decision under appeal, cut at 64 bytes */
	char original_reviewer[65];
	bool resolved;
	Arbiter__V1__Action original_action, new_action;
	Arbiter__V1__AppealOutcome outcome;
	int64_t filed_at_ms, resolved_at_ms;
};

/* --- Chains ------------------------------------------------------------------------ */

struct report_chain {
	char *name;
	uint64_t counted;                   /* records counted in the period */
	uint64_t first_seq, last_seq;       /* the lowest and highest sequence counted */
	bool has_head;                      /* head at the period's end, below */
	uint64_t head_sequence;             /* the highest record written before the period's end */
	uint8_t head_hash[LEDGER_HASH_LEN]; /* or counted in it */
	int64_t head_recorded_ms;
	bool verified;                     /* VERIFY holds the verifier's report */
	struct ledger_chain_report verify; /* verify.chain is NULL: NAME is the name */
};

/* --- The figures ---------------------------------------------------------------- */

/* Days of the period: one series per column. */
enum report_day_col {
	REPORT_D_CATEGORY = 0, /* actions by category: DSA_CATEGORIES + 1 columns, the last
				  for actions without a category the API knows */
	REPORT_D_AUTOMATED = DSA_CATEGORIES + 1, /* actions decided by automated means */
	REPORT_D_HUMAN,                          /* actions decided by people */
	REPORT_D_FILED,                          /* complaints filed */
	REPORT_D_DECIDED,                        /* complaints decided */
	REPORT_D_REVERSED,                       /* of which reversed */
	REPORT_DAY_COLS
};

/* The EU's official languages, in the template's order (bg ... sv). */
#define REPORT_EU_LANGUAGES 24
const char *report_eu_language(size_t i);

struct report_meta {
	const char *provider; /* the service provider's name, or NULL */
	const char *service;  /* the service's name, or NULL */
	int64_t generated_ms; /* when the report is made */
};

struct report_figures {
	int64_t from_ms, to_ms;         /* [from, to), whole UTC days */
	char from[11], to[11];          /* first and last day, YYYY-MM-DD */
	const char *provider, *service; /* "" when not given */
	int64_t generated_ms;

	/* The ledger as read. */
	uint64_t records;        /* every audit record read but exact duplicates */
	uint64_t undecodable;    /* messages that were no audit record */
	uint64_t in_period;      /* records in the period */
	uint64_t at_breaks;      /* of which at a break (counted as they stand) */
	uint64_t appeal_records; /* distinct appeal records read */
	bool verified;           /* report_set_verification was called */
	uint64_t ledger_records, ledger_duplicates; /* as the verifier counted them */
	size_t chains_broken;
	struct report_chain *chains; /* sorted by name */
	size_t n_chains;

	/* Actions (worldwide). */
	uint64_t actions;
	uint64_t by_action[ARBITER__V1__ACTION__RESTORE +
			   1];  /* decisions of kind ACTION by action */
	uint64_t auto_detected; /* actions detected by automated means */
	uint64_t decided_fully, decided_partially, decided_not; /* by automated_decision */
	struct report_tally categories;                         /* "" for none */
	struct report_tally countries;
	struct report_tally languages; /* the content's BCP-47 tag, lower case */
	struct report_tally
		rules; /* every rule id of the action (an action may count for several) */
	struct report_tally queues; /* decisions of every kind, and SLAs */
	struct report_tally modes;
	struct report_hist time_to_action; /* content creation to action, where known */
	struct report_hist tta_automated, tta_human;
	uint64_t tta_unknown; /* actions without the content's creation time */

	/* Measures (the DSA template). */
	uint64_t statements;            /* due a statement: own initiative + on complaints */
	uint64_t statements_incomplete; /* of which the DSA database would refuse (dsa_check) */
	uint64_t own[REPORT_GROUNDS][REPORT_CAT_ROWS][REPORT_MEASURES];
	uint64_t measures_fully, measures_partially, measures_not; /* decision method, all */
	uint64_t on_complaint; /* restrictions newly imposed as a result of a complaint */
	uint64_t on_notice;    /* taken on a notice (source_type other than voluntary) */
	uint64_t by_language[REPORT_EU_LANGUAGES]
			    [REPORT_MEASURES]; /* measures by content_language */

	/* Complaints. */
	struct report_complaints complaints[REPORT_C_TYPES];

	/* Days. */
	size_t days;
	uint32_t (*daily)[REPORT_DAY_COLS]; /* DAYS rows */
	uint32_t *mode_days; /* DAYS masks: bit B set when mode B was seen that day */
};

struct report;

/* A report of [FROM_MS, TO_MS): whole UTC days, at most REPORT_MAX_DAYS.
 * Returns 0 and *OUT, -EINVAL (bad period) or -ENOMEM. */
int report_new(int64_t from_ms, int64_t to_ms, const struct report_meta *meta, struct report **out);
void report_free(struct report *r);

/* The time a record belongs to: its application time (see above). */
int64_t report_record_time(const Arbiter__V1__AuditRecord *rec);

/* True when REC belongs to the period of R. */
bool report_in_period(const struct report *r, const Arbiter__V1__AuditRecord *rec);

/* Keeps appeal record A (every one, whatever its time) for the audit record
 * of the same decision message; a repeated record_id is counted once.
 * Returns 0 or -ENOMEM. */
int report_add_appeal(struct report *r, const Arbiter__V1__AppealRecord *a);

/* Counts audit record REC, read in ledger order; AT_BREAK when the verifier
 * found something wrong at it (it is counted as it stands). Exact duplicates
 * are not to be fed. Returns 0 or -ENOMEM. */
int report_add_audit(struct report *r, const Arbiter__V1__AuditRecord *rec, bool at_break);

/* Counts a message of the audit topic that was no audit record. */
void report_add_undecodable(struct report *r);

/* The appeal record of REC's decision message, or NULL. */
const struct report_appeal *report_appeal_of(const struct report *r,
					     const Arbiter__V1__AuditRecord *rec);

/* The verifier's reports of every chain (ledger_verify_reports), after the
 * last record. Returns 0 or -ENOMEM. */
int report_set_verification(struct report *r, const struct ledger_chain_report *reps, size_t n);

/* Sorts and completes the figures; nothing may be added after. Valid until
 * report_free. */
const struct report_figures *report_finish(struct report *r);

/* An allocator for decoding one record at a time (protobuf-c's
 * ProtobufCAllocator): allocations are carved from one block, and
 * report_arena_reset frees them all at once, so that decoding a record costs
 * no malloc or free. Pass &A->base to protobuf-c; its frees do nothing. */
struct report_arena {
	ProtobufCAllocator base;
	char *block;
	size_t cap, used;
	void **big; /* allocations that did not fit in the block, freed at reset */
	size_t n_big, cap_big;
};

void report_arena_init(struct report_arena *a);

/* Frees every allocation made since the last reset. */
void report_arena_reset(struct report_arena *a);

void report_arena_deinit(struct report_arena *a);

/* Whole UTC days: the start of DATE (YYYY-MM-DD) in ms; -EINVAL when DATE is
 * not a date from 1970 to 9999. */
int report_day_start(const char *date, int64_t *ms);

/* Writes the UTC date of MS as YYYY-MM-DD. */
void report_format_date(char out[11], int64_t ms);

/* [*FROM, *TO): the calendar month before the one holding NOW_MS (UTC). */
void report_last_month(int64_t now_ms, int64_t *from, int64_t *to);
