/* The ruleset's insides, shared by rules_load.c, rules_compile.c, rules_eval.c and rules_test.c
 * only. */
#pragma once

#include <hs/hs.h>

#include "hashbank.h"
#include "normalise.h"
#include "rules.h"
#include "rules_expr.h"
#include "strmap.h"
#include "ydoc.h"

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
	/* A condition with counters: a part of it without counters that must hold for it to
	 * hold (a shared condition, evaluated once per event), or UINT32_MAX. */
	uint32_t gate;
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

/* A hash bank of banks: (rules_banks.c). */
struct rules_bank {
	char *name;
	const char *file; /* the rule file declaring it */
	int line, col;
	unsigned min_quality; /* PDQ: an event's pdq hash of lower quality is ignored */
	struct hashbank *bank;
};

/* A windowed counter: one per rule and counter name (rules_counters.c). */
struct rules_counter {
	struct rules_counter_info pub; /* name and id point below once compiled */
	char *name;
	char id[17];
	enum rexpr_field by, of;
	const char *by_attr, *of_attr; /* attr.NAME: borrowed from the rule's tree */
};

/* A counter value a tests: case assumes (given:): NAME is a counter's name, or "count" or
 * "distinct" for every counter of that kind. */
struct rules_given {
	char *name;
	uint64_t value;
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
	struct rules_given *given;
	size_t n_given;
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
	struct rules_bank *banks;
	size_t n_banks;
	struct strmap bank_index; /* name -> index */
	struct rules_counter *counters;
	size_t n_counters;

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
	/* Per distinct condition: it holds a counter, and is evaluated three-valued (a counter
	 * unknown until Redis answers). Such conditions are never shared between rules. */
	bool *cond_tri;

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

/* ---- rules_banks.c ---- */

/* Adds bank NAME (declared at KP in RULE_FILE) from V, {algorithm, file, min_quality}, to RS:
 * the bank file (relative to RULE_FILE) is read, handed to DIGEST (with ARG) for the ruleset
 * version, listed among RS's files and loaded. Errors go to ERRS. Returns 0, -EINVAL (said)
 * or -ENOMEM. */
int rules_bank_add(struct ruleset *rs, const char *rule_file, const char *name, struct ydoc_pos kp,
		   const struct ydoc_node *v, struct diag_list *errs,
		   void (*digest)(void *arg, const char *path, const char *text, size_t len),
		   void *arg);
/* Resolves E (REX_BANK) against RS's banks: the bank exists and WITHIN fits its algorithm.
 * Returns 0, or -EINVAL with ERR and *ERR_OFF (an offset into the condition). */
int rules_bank_check(const struct ruleset *rs, struct rexpr *e, char *err, size_t errlen,
		     size_t *err_off);
/* The nearest entry of bank B that a media hash of EV matches (within WITHIN bits for PDQ,
 * quality permitting; exactly for MD5 and SHA-256). Returns true with *HIT filled. */
bool rules_bank_match(const struct rules_bank *b, const Arbiter__V1__ContentEvent *ev, int within,
		      struct hashbank_hit *hit);
void rules_banks_free(struct ruleset *rs);

/* ---- rules_counters.c ---- */

/* Adds the counter of E (REX_COUNTER) in rule RULE to RS, or finds the one the rule already
 * has of that name, and sets e->atom to it. Returns 0, -EINVAL with ERR and *ERR_OFF, or
 * -ENOMEM. */
int rules_counter_add(struct ruleset *rs, uint32_t rule, struct rexpr *e, char *err, size_t errlen,
		      size_t *err_off);
void rules_counters_free(struct ruleset *rs);
/* The first http:// or https:// URL of TEXT (scheme and host lowercased, trailing punctuation
 * dropped) into OUT (LEN bytes, truncated). Returns its length, 0 when there is none. */
size_t rules_counter_url(const char *text, char *out, size_t len);
/* Writes the hex of the first 16 bytes of SHA-256 over the LEN bytes of S. */
void rules_counter_digest(char out[RULES_DIGEST_HEX + 1], const char *s, size_t len);
