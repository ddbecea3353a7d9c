/* The ruleset's insides, shared by rules_load.c, rules_compile.c, rules_eval.c and rules_test.c
 * only. */
#pragma once

#include <hs/hs.h>

#include "normalise.h"
#include "rules.h"
#include "rules_expr.h"
#include "strmap.h"

/* A named list: terms or phrases for contains_any (normalised), also a set
 * for `in LIST`; or hashes for any_media_in. */
struct rules_list {
	char *name;
	char *file;
	int line, col;
	bool hashes;       /* lowercase hex digests */
	struct strmap set; /* normalised term (or hash) -> 1 */
	uint32_t atom;     /* fired-atom index for contains_any; UINT32_MAX until used */
	bool used;
};

struct rules_mode {
	char *name;
	char *file;
	int line, col;
	char **countries; /* uppercase; empty: every country */
	size_t n_countries;
	int64_t from_ms, until_ms; /* 0: open */
	bool enabled;              /* after rules.modes overrides */
};

struct rules_rule_impl {
	struct rules_rule pub;
	struct rexpr *when;
	uint32_t *modes; /* mode indexes */
	size_t n_modes;
	char **mode_names;
	uint32_t cond; /* index into the ruleset's conds */
};

/* Rules with no text trigger that share one condition: it is evaluated once per event for all
 * of them, and only those it holds for become candidates. */
struct rules_always {
	uint32_t cond;
	uint32_t *rules;
	size_t n_rules;
};

/* One literal term of the term databases. */
struct rules_term {
	uint32_t len;    /* bytes: a match ends at `to`, so it starts at to - len */
	uint32_t *atoms; /* the contains_any atoms of the lists holding it */
	uint32_t n_atoms;
};

/* The literal terms whose script key is SCRIPTS (see rules_load.c): scanned only when the
 * normalised text has every group in SCRIPTS, since a term found in a text has all its groups
 * among the text's. Pattern ids are indexes into the ruleset's terms. */
struct rules_term_db {
	uint32_t scripts; /* NORMALISE_SCRIPT_* bits */
	hs_database_t *db;
	size_t n_terms;
};

/* What a tests: case expects; NULL arrays are not checked. */
struct rules_test {
	char *name;
	char *file;
	int line;
	Arbiter__V1__ContentEvent *event;
	int64_t now_ms;
	bool check_action;
	Arbiter__V1__Action action;
	char **escalations;
	size_t n_escalations;
	bool check_escalations;
	char **rules;
	size_t n_rules;
	bool check_rules;
	char **shadow;
	size_t n_shadow;
	bool check_shadow;
};

struct ruleset {
	char version[65];
	char **files; /* every file loaded (rules and lists), for positions */
	size_t n_files;
	struct normalise_opts norm;

	struct rules_rule_impl *rules;
	size_t n_rules;
	struct rules_list *lists;
	size_t n_lists;
	struct strmap list_index; /* name -> index */
	struct rules_mode *modes;
	size_t n_modes;
	struct rules_test *tests;
	size_t n_tests;

	/* Atoms: what a scan can fire (a list's contains_any, a regex). */
	size_t n_atoms;
	char **atom_names;     /* "list:NAME" or "regex:/RE/" for evidence */
	uint32_t **atom_rules; /* rules a fired atom makes candidates */
	size_t *n_atom_rules;
	struct rules_always *always; /* rules with no text trigger, by condition */
	size_t n_always;
	/* Distinct conditions (the rules' when trees, owned by the rules): rules that spell the
	 * same condition share one, evaluated at most once per event. */
	const struct rexpr **conds;
	size_t n_conds;

	struct rules_term_db *term_dbs; /* every distinct term once, by script key */
	size_t n_term_dbs;
	struct rules_term *terms;
	size_t n_terms;
	hs_database_t *regex_db; /* every regex; pattern id = index */
	uint32_t *regex_atoms;
	size_t n_regex;
	size_t memory;
};

/* Evaluation (rules_eval.c) of one rule's condition, for the tests runner. */
struct rules_ctx;

/* What loading hands the compiler beside the ruleset: each regex's text and Hyperscan flags,
 * by regex index (rs->n_regex of them). */
struct rules_regex_src {
	char **text;
	unsigned *flags;
	size_t cap;
};

/* Compiles the checked ruleset RS in place: term databases by script key, the regex
 * database, the index from atoms to the rules they wake, and the distinct conditions.
 * Hyperscan's refusals are reported to ERRS under FILE. Returns 0, -EINVAL or -ENOMEM. */
int rules_compile(struct ruleset *rs, const struct rules_regex_src *regex, const char *file,
		  struct diag_list *errs);

/* Grows *v (elements of SIZE bytes, *cap of them) to hold more than N, zeroing the new
 * room. Returns 0 or -ENOMEM. */
int rules_grow(void **v, size_t *cap, size_t n, size_t size);
