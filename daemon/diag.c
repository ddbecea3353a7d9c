/* Diagnostics for the loaders: positioned errors and warnings in one list, and "did you mean". */
#include "diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static char *diag_strdup0(const char *s)
{
	return s ? strdup(s) : NULL;
}

void diag_add(struct diag_list *list, enum diag_severity severity, const char *file, int line,
	      int col, const char *key, const char *fmt, ...)
{
	if (severity == DIAG_ERROR)
		list->n_errors++;
	if (list->n == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 8;
		struct diag *v = realloc(list->v, cap * sizeof(*v));
		if (!v) {
			list->oom = true;
			return;
		}
		list->v = v;
		list->cap = cap;
	}
	struct diag *d = &list->v[list->n];
	va_list ap;
	va_start(ap, fmt);
	int rc = vasprintf(&d->msg, fmt, ap);
	va_end(ap);
	if (rc < 0) {
		list->oom = true;
		return;
	}
	d->severity = severity;
	d->file = diag_strdup0(file);
	d->key = diag_strdup0(key);
	d->line = line;
	d->col = col;
	if ((file && !d->file) || (key && !d->key))
		list->oom = true;
	list->n++;
}

void diag_print(const struct diag_list *list, FILE *out)
{
	for (size_t i = 0; i < list->n; i++) {
		const struct diag *d = &list->v[i];
		fputs(d->file ? d->file : "(config)", out);
		if (d->line > 0)
			fprintf(out, ":%d:%d", d->line, d->col);
		fputs(": ", out);
		if (d->key)
			fprintf(out, "%s: ", d->key);
		fprintf(out, "%s%s\n", d->severity == DIAG_WARNING ? "warning: " : "", d->msg);
	}
	if (list->oom)
		fputs("(some findings were lost: out of memory)\n", out);
}

void diag_log(const struct diag_list *list, enum log_subsys subsys)
{
	for (size_t i = 0; i < list->n; i++) {
		const struct diag *d = &list->v[i];
		log_write(d->severity == DIAG_ERROR ? LOG_ERROR : LOG_WARN, subsys,
			  "%s:%d:%d: %s%s%s", d->file ? d->file : "(config)", d->line, d->col,
			  d->key ? d->key : "", d->key ? ": " : "", d->msg);
	}
}

void diag_move(struct diag_list *to, struct diag_list *from)
{
	for (size_t i = 0; i < from->n; i++) {
		struct diag *d = &from->v[i];
		diag_add(to, d->severity, d->file, d->line, d->col, d->key, "%s", d->msg);
	}
	/* An error lost to OOM in FROM still counts in TO. */
	size_t lost = from->n_errors;
	for (size_t i = 0; i < from->n; i++)
		lost -= from->v[i].severity == DIAG_ERROR;
	to->n_errors += lost;
	to->oom |= from->oom;
	diag_clear(from);
}

void diag_clear(struct diag_list *list)
{
	for (size_t i = 0; i < list->n; i++) {
		free(list->v[i].file);
		free(list->v[i].key);
		free(list->v[i].msg);
	}
	free(list->v);
	memset(list, 0, sizeof(*list));
}

int diag_edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
	int rows[3][DIAG_SUGGEST_MAX_LEN + 1];
	int *pp = rows[0], *p = rows[1], *c = rows[2];
	if (la > DIAG_SUGGEST_MAX_LEN || lb > DIAG_SUGGEST_MAX_LEN)
		return DIAG_SUGGEST_MAX_LEN + 1;
	for (size_t j = 0; j <= lb; j++)
		p[j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		c[0] = (int)i;
		for (size_t j = 1; j <= lb; j++) {
			int cost = a[i - 1] != b[j - 1];
			int d = p[j] + 1;
			if (c[j - 1] + 1 < d)
				d = c[j - 1] + 1;
			if (p[j - 1] + cost < d)
				d = p[j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    pp[j - 2] + 1 < d)
				d = pp[j - 2] + 1;
			c[j] = d;
		}
		int *t = pp;
		pp = p;
		p = c;
		c = t;
	}
	return p[lb];
}

const char *diag_suggest(const char *word, const char *const *cands, int max_dist)
{
	const char *best = NULL;
	int best_d = max_dist + 1;
	size_t lw = strlen(word);
	for (size_t i = 0; cands[i]; i++) {
		int d = diag_edit_distance(word, lw, cands[i], strlen(cands[i]));
		if (d < best_d) {
			best_d = d;
			best = cands[i];
		}
	}
	return best;
}
