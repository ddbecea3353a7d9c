/* Shared helpers of the unit suites: a scratch directory per run, files in it, and the runner. */
#pragma once

#include <check.h>
#include <stddef.h>

#include "config.h"

/* The scratch directory of this run: made by unit_run before the tests
 * fork (so every test sees the same one), removed with what it holds after. */
const char *unit_tmpdir(void);

/* Writes TEXT to DIR/NAME, replacing it: DIR NULL is the scratch directory,
 * NAME NULL a fresh unique name. Returns the malloc'd path; fails the test
 * when the file cannot be written. */
char *unit_write_file(const char *dir, const char *name, const char *text);

/* A fresh directory in the scratch directory, for files that refer to each
 * other. Returns its malloc'd path. */
char *unit_make_dir(void);

/* Unlinks PATH, failing the test when it cannot, and frees it. */
void unit_remove_file(char *path);

/* Checks error I of ERRS: at FILE (any file when NULL):LINE:COL, naming KEY
 * (no key when NULL), with MSG in its message. Prints every error first
 * when there is no error I. */
void unit_check_error(const struct diag_list *errs, size_t i, const char *file, int line,
		      int col, const char *key, const char *msg);

/* Runs every test of S (taking it) in a fresh scratch directory, then
 * removes the directory. Returns main's exit status: EXIT_SUCCESS when every
 * test passed. */
int unit_run(Suite *s);
