/* What the rules engine's suites share: rule files loaded into a ruleset, events, verdicts. */
#pragma once

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "rules.h"

/* 2027-08-01T00:00Z, 2027-08-01T06:30Z and 2027-08-20T00:00Z in UTC milliseconds. */
#define AUG1_MS 1817078400000LL
#define AUG1_0630_MS 1817101800000LL
#define AUG20_MS 1818720000000LL
#define DAY_MS 86400000LL

/* 64 hex digits each, for media hash lists. */
#define SHA_A "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12"
#define SHA_A_UP "AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12"
#define PDQ_B "cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34"
#define PDQ_B_UP "CD34CD34CD34CD34CD34CD34CD34CD34CD34CD34CD34CD34CD34CD34CD34CD34"
#define SHA_OTHER "0000000000000000000000000000000000000000000000000000000000000001"

/* ---- files ---- */

/* Writes DIR/arbiter.yaml naming the rule FILES (paths) and, when MODES is
 * not NULL, a rules.modes flow mapping body such as "crisis-ba: on". */
char *write_config(const char *dir, char *const *files, size_t n, const char *modes);

/* A config and the ruleset it loads, with one evaluation context. */
struct loaded {
	char *dir;
	char *cfg_path;
	char *files[4];
	size_t n_files;
	struct config *cfg;
	struct ruleset *rs;
	struct rules_ctx *ctx;
};

/* Loads the config at PATH, which must be valid. */
struct config *load_config(const char *path);
/* Writes each of TEXTS (NULL-terminated) as rules<i>.yaml into a fresh
 * directory with a config naming them, and loads the config. */
void setup_files(struct loaded *L, const char *const *texts, const char *modes);
void teardown(struct loaded *L);
/* Loads the already set-up config; must succeed. */
void compile_ok(struct loaded *L);
/* One rule file TEXT, loaded and compiled with a context. */
void load_ok(struct loaded *L, const char *text, const char *modes);
/* Loads TEXTS, which must be rejected: returns the errors in *ERRS. */
void load_fail(struct loaded *L, const char *const *texts, const char *modes,
	       struct diag_list *errs);
/* One rule file TEXT that must be rejected with exactly one error. */
void expect_one_error(const char *text, int line, int col, const char *key, const char *msg);

/* ---- events and verdicts ---- */

/* Decodes JSON written with ' for " (test texts avoid apostrophes). */
Arbiter__V1__ContentEvent *event(const char *json);
void event_free(Arbiter__V1__ContentEvent *ev);
/* The verdict of L's rules on event JSON at NOW (eval: on 1 August). */
const struct rules_verdict *eval_at(struct loaded *L, const char *json, int64_t now);
const struct rules_verdict *eval(struct loaded *L, const char *json);
/* "a,b" of the rule ids at IDX, in verdict order; BUF holds it. */
const char *ids(const struct ruleset *rs, const uint32_t *idx, size_t n, char *buf, size_t len);
/* The id of rule I, or "(none)" for -1. */
const char *id_of(const struct ruleset *rs, int32_t i);
/* Evaluates JSON and checks the matched rule ids (in rule order). */
void expect_matched(struct loaded *L, const char *json, int64_t now, const char *want);

/* One condition and whether it holds. */
struct cond {
	const char *when;
	bool want;
};

/* Builds one label rule per condition (ids c0, c1, …) under LISTS (a YAML
 * "lists:" body, or NULL), evaluates EVENT once and checks each rule
 * matched exactly when its condition should hold. */
void check_conds(const char *lists, const char *json, const struct cond *c, size_t n);

#define CONDS(lists, json, ...)                                                                    \
	do {                                                                                       \
		static const struct cond c_[] = {__VA_ARGS__};                                     \
		check_conds(lists, json, c_, sizeof(c_) / sizeof(c_[0]));                          \
	} while (0)
