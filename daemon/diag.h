/* Diagnostics for the loaders: errors and warnings positioned in the file that caused them,
 * collected in one list, and the edit distance behind "did you mean". */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "log.h"

enum diag_severity { DIAG_ERROR = 0, DIAG_WARNING };

/* One finding, positioned in FILE. */
struct diag {
	enum diag_severity severity;
	char *file;
	int line;  /* 1-based; 0 when there is no position (file unreadable) */
	int col;   /* 1-based */
	char *key; /* dotted path or rule id, e.g. "kafka.topics.content.format"; may be NULL */
	char *msg; /* what was expected and what was found */
};

/* Every finding of one load, in the order found. Zero-initialise; free with diag_clear. */
struct diag_list {
	struct diag *v;
	size_t n, cap;
	size_t n_errors; /* entries with DIAG_ERROR */
	bool oom;        /* a finding was lost to an allocation failure */
};

/* Appends a finding; copies every string (FILE and KEY may be NULL). On allocation failure
 * the finding is lost and list->oom is set; an error still counts in n_errors, so a failed
 * load never looks clean. */
void diag_add(struct diag_list *list, enum diag_severity severity, const char *file, int line,
	      int col, const char *key, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

#define diag_error(list, ...) diag_add(list, DIAG_ERROR, __VA_ARGS__)
#define diag_warn(list, ...) diag_add(list, DIAG_WARNING, __VA_ARGS__)

/* Prints "file:line:col: key: msg" per entry, one per line, in the order found; a warning's
 * message starts with "warning: ". */
void diag_print(const struct diag_list *list, FILE *out);

/* Logs each entry as one line "file:line:col: key: msg" under SUBSYS, errors at the error
 * level and warnings at the warn level. */
void diag_log(const struct diag_list *list, enum log_subsys subsys);

/* Moves every entry of FROM to the end of TO; FROM is left empty. */
void diag_move(struct diag_list *to, struct diag_list *from);

void diag_clear(struct diag_list *list);

/* Optimal string alignment distance (a swap of two letters is one edit); strings longer
 * than DIAG_SUGGEST_MAX_LEN compare as far apart. */
#define DIAG_SUGGEST_MAX_LEN 128
int diag_edit_distance(const char *a, size_t la, const char *b, size_t lb);

/* The candidate of CANDS (NULL-terminated) closest to WORD within MAX_DIST edits, or NULL. */
const char *diag_suggest(const char *word, const char *const *cands, int max_dist);
