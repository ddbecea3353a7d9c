/* The policy arbiterd runs: a config, the ruleset its rule files compile to, and the checks
 * between the two, loaded by the one call that the daemon and every tool share. */
#pragma once

#include <stdio.h>

#include "config.h"
#include "diag.h"
#include "rules.h"

struct policy {
	struct config *cfg;
	struct ruleset *rules;
};

/* Loads the config at PATH, compiles the ruleset of its rule files, and checks what neither
 * can alone: every queue a rule escalates to and every mode monitors follow is declared.
 * Findings go to DIAGS, positioned: every error (not only the first) and, when there is no
 * error, the warnings (a restricting rule whose DSA statement would lack a field). Returns
 * 0 and *out (free with policy_free), -EINVAL (errors in DIAGS), -ENOENT or -EIO (the config
 * is unreadable), or -ENOMEM. Reads files and nothing else: safe on any thread. */
int policy_load(const char *path, struct policy **out, struct diag_list *diags);

/* policy_load with the config's relative paths resolved against BASE_DIR (NULL: the config
 * file's own directory), for a config read from /dev/stdin. */
int policy_load_at(const char *path, const char *base_dir, struct policy **out,
		   struct diag_list *diags);
void policy_free(struct policy *p);

/* The operators' check of the policy at PATH (relative paths against BASE_DIR, NULL for
 * PATH's directory): prints every finding to ERR, then
 * "PATH: N error(s)" to ERR, or "PATH: ok (R rule(s), ruleset V[; W warning(s)])" to OUT.
 * Returns the exit status: 0 when valid (warnings allowed), 1 otherwise. */
int policy_check(const char *path, const char *base_dir, FILE *out, FILE *err);
