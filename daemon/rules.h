/* Policy rules: YAML rule files compiled into one ruleset, evaluated once per content event. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "arbiter/v1/common.pb-c.h"
#include "arbiter/v1/content_event.pb-c.h"
#include "config.h"
#include "hashbank.h"

/* An escalation a rule asks for. */
struct rules_escalate {
	const char *queue;
	Arbiter__V1__Band band;
	uint32_t sla_s; /* deadline after the event, seconds */
	bool monitors;  /* also visible to election monitors */
};

/* One compiled rule; every string is owned by the ruleset. */
struct rules_rule {
	const char *id;
	const char *description;
	const char *file;
	int line;
	Arbiter__V1__Action action; /* NONE when the rule only escalates */
	const char *category;       /* STATEMENT_CATEGORY_*, or NULL */
	Arbiter__V1__Ground ground;
	const char *legal_ground; /* or NULL */
	bool shadow;              /* evaluated and counted, never acted upon */
	bool has_escalate;
	struct rules_escalate escalate;
	const char *const *modes; /* NULL-terminated; empty: always active */
};

/* An escalation of a verdict: one per queue, merged over the rules asking for it
 * (most urgent band, shortest SLA, monitors if any). */
struct rules_verdict_escalation {
	struct rules_escalate esc;
	uint32_t first_rule; /* index of the first rule asking for it */
};

/* The outcome of one event. Arrays hold rule indexes in rule order and are
 * valid until the next rules_eval with the same context. */
struct rules_verdict {
	const uint32_t *matched; /* non-shadow rules whose condition held */
	size_t n_matched;
	const uint32_t *shadow; /* shadow rules whose condition held */
	size_t n_shadow;
	Arbiter__V1__Action action; /* most severe action of the matched rules, or NONE */
	int32_t action_rule;        /* the rule that set it, -1 for none */
	const struct rules_verdict_escalation *escalations;
	size_t n_escalations;
	const char *const *evidence; /* lists and patterns that fired, e.g. "list:incitement_sw" */
	size_t n_evidence;
	const char *const *modes; /* modes active for this event */
	size_t n_modes;
	/* Declared attributes whose value did not read as their type: each made its
	 * condition false (arbiter_rule_attr_type_errors_total). */
	uint32_t attr_type_errors;
	/* rules_eval_begin: rules whose conditions wait on counters (left out of matched). */
	uint32_t counters_pending;
	/* A matched rule's condition held through a counter: the decision rested on the
	 * behaviour of accounts, not only on the content. */
	bool behaviour;
};

/* ---- windowed counters ---- */

enum rules_counter_kind {
	RULES_COUNT = 0, /* count(by: F, window: W): distinct events sharing F */
	RULES_DISTINCT,  /* distinct(G, by: F, window: W): distinct values of G sharing F */
};

/* A counter of the ruleset. Each rule has its own counters (one per name): a counter counts
 * the events that reached it in that rule's condition. */
struct rules_counter_info {
	const char *name; /* canonical, e.g. "count(by: author_id, window: 10m)" */
	const char *id;   /* 16 hex digits over the rule's id and the name: its Redis keys */
	uint32_t rule;    /* index of the rule */
	enum rules_counter_kind kind;
	int64_t window_ms;
	uint32_t cap; /* COUNT: events kept per group, enough for every comparison: values
		       * stop there */
};

#define RULES_DIGEST_HEX 32

/* One counter operation an event needs: the event joins counter COUNTER's group BY (add it,
 * idempotently) and the group's value in the window ending at AT_MS is read. */
struct rules_counter_op {
	uint32_t counter;
	int64_t at_ms; /* the event's created_at_ms, or the time given; never after it */
	char by[RULES_DIGEST_HEX + 1];     /* hex digest of the value events are grouped by */
	char member[RULES_DIGEST_HEX + 1]; /* COUNT: of the event id; DISTINCT: of the value */
};

struct ruleset;
struct rules_ctx;

/* Loads and compiles every rule file named by CFG (rules.files), with the
 * lists they name, and the modes switched on or off by rules.modes. All
 * errors are appended to ERRS with file:line:col, not only the first.
 * Returns 0 and *out, -EINVAL (errors reported) or -ENOMEM. Pure: reads
 * files, touches nothing else; safe on any thread. With no rule files the
 * ruleset is empty and every verdict is NONE. */
int rules_load(const struct config *cfg, struct ruleset **out, struct diag_list *errs);
void rules_free(struct ruleset *rs);

/* Hex SHA-256 over every loaded file's path and contents, in load order. */
const char *rules_version(const struct ruleset *rs);
size_t rules_count(const struct ruleset *rs);
/* Every file the ruleset was loaded from (rule files, then list files), for
 * watching; *files is valid while RS lives. */
size_t rules_files(const struct ruleset *rs, const char *const **files);
const struct rules_rule *rules_rule(const struct ruleset *rs, size_t i);
/* True when a rule file declares mode NAME. */
bool rules_mode_declared(const struct ruleset *rs, const char *name);
/* Approximate heap bytes held by the compiled ruleset, Hyperscan databases and hash banks
 * included. */
size_t rules_memory(const struct ruleset *rs);

/* Per-thread evaluation state (Hyperscan scratch, buffers) for RS. NULL on ENOMEM. */
struct rules_ctx *rules_ctx_new(const struct ruleset *rs);
void rules_ctx_free(struct rules_ctx *ctx);

/* Evaluates EV. NOW_MS is used for mode windows when the event has no
 * created_at_ms. The verdict lives in CTX until the next call. Returns NULL
 * only on allocation failure. Counters count as if they stood at zero before
 * EV (each value 1: EV itself); rules_eval_begin and rules_eval_finish give
 * them their real values. */
const struct rules_verdict *rules_eval(struct rules_ctx *ctx, const Arbiter__V1__ContentEvent *ev,
				       int64_t now_ms);

/* Phase 1 of an evaluation with counters: EV evaluated as rules_eval does, with every
 * counter unknown. A rule whose condition holds or fails whatever the counters say is
 * decided; one that could still fire depending on a counter is left pending
 * (v->counters_pending) and its counters' operations are listed in *OPS (*N_OPS of them,
 * each counter once; valid until the next call with CTX). With no operation the verdict is
 * final; otherwise it must not be acted upon: the caller runs the operations (Redis, or
 * counters.h's memory store) and calls rules_eval_finish. Counters are touched only for
 * events a rule could still act on: other conditions decide first. NULL on ENOMEM. */
const struct rules_verdict *rules_eval_begin(struct rules_ctx *ctx,
					     const Arbiter__V1__ContentEvent *ev, int64_t now_ms,
					     const struct rules_counter_op **ops, size_t *n_ops);

/* Phase 2: the final verdict on EV, with VALUES[i] the value of the counter of OPS[i] (OPS
 * as rules_eval_begin gave them for EV and NOW_MS, copied by the caller: other events may
 * have been evaluated in between, with any context of the same ruleset). A counter without
 * a value makes its comparison false. Evidence names each counter reached and its value
 * ("counter:count(by: author_id, window: 10m)=20"). NULL on ENOMEM. */
const struct rules_verdict *rules_eval_finish(struct rules_ctx *ctx,
					      const Arbiter__V1__ContentEvent *ev, int64_t now_ms,
					      const struct rules_counter_op *ops,
					      const uint64_t *values, size_t n);

/* Counters of RS (every rule's), and counter I. */
size_t rules_counter_count(const struct ruleset *rs);
const struct rules_counter_info *rules_counter(const struct ruleset *rs, size_t i);

/* Hash banks of RS (banks: sections), and bank I with its min_quality (NULL when I is out of
 * range). */
size_t rules_bank_count(const struct ruleset *rs);
const struct hashbank *rules_bank(const struct ruleset *rs, size_t i, unsigned *min_quality);

/* The verdict as JSON: {event_id, content_id, action, action_rule, matched,
 * shadow, escalations: [{queue, band, sla_s, monitors, rule}], evidence,
 * modes, ruleset_version, attr_type_errors, behaviour}. */
json_t *rules_verdict_json(const struct ruleset *rs, const Arbiter__V1__ContentEvent *ev,
			   const struct rules_verdict *v);

/* Runs every tests: case of the rule files; prints each failure to OUT with
 * what was expected and what came out, then a summary line. Returns the
 * number of failed cases (0 when all pass), or a negative errno. */
int rules_run_tests(const struct ruleset *rs, FILE *out);

/* Severity order of actions for "most severe wins"; RESTORE and
 * UNSPECIFIED rank below NONE. */
int rules_action_severity(Arbiter__V1__Action a);
