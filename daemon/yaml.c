/* YAML and file helpers shared by the loaders (config, rules): positioned nodes, collected
 * diagnostics. */
#include "yaml.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct yaml_doc {
	struct fy_diag *diag;
	struct fy_parser *parser;
	struct fy_document *doc;
};

/* Where a node starts. A null value written as nothing ("key:") has no
 * token: such a node is reported at the fallback, its key. */
struct yaml_pos yaml_node_pos(struct fy_node *fyn, struct yaml_pos fallback)
{
	const struct fy_mark *m = NULL;
	struct yaml_pos p = fallback;
	if (!fyn)
		return p;
	if (fy_node_is_scalar(fyn)) {
		struct fy_token *t = fy_node_get_scalar_token(fyn);
		m = t ? fy_token_start_mark(t) : NULL;
		if (m) {
			enum fy_node_style st = fy_node_get_style(fyn);
			/* A quoted scalar's mark is its first character: point at the
			 * opening quote, where an editor's cursor would go. */
			bool quoted = st == FYNS_SINGLE_QUOTED || st == FYNS_DOUBLE_QUOTED;
			p.line = m->line + 1;
			p.col = m->column + 1 - (quoted && m->column > 0);
		}
		return p;
	}
	/* libfyaml 0.7 has no fy_node_get_start_mark(): a collection's start is
	 * the mark of the first event a document iterator emits for it. */
	struct fy_document_iterator *it = fy_document_iterator_create();
	if (!it)
		return p;
	fy_document_iterator_node_start(it, fyn);
	struct fy_event *ev = fy_document_iterator_body_next(it);
	if (ev) {
		m = fy_event_start_mark(ev);
		if (m) {
			p.line = m->line + 1;
			p.col = m->column + 1;
		}
		fy_document_iterator_event_free(it, ev);
	}
	fy_document_iterator_destroy(it);
	return p;
}

bool yaml_node_is_null(struct fy_node *fyn)
{
	if (!fyn)
		return true;
	if (!fy_node_is_scalar(fyn) || fy_node_get_style(fyn) != FYNS_PLAIN)
		return false;
	size_t tlen;
	if (fy_node_get_tag(fyn, &tlen))
		return false; /* "!!str" and friends: not a null */
	size_t len;
	const char *s = fy_node_get_scalar(fyn, &len);
	if (!s || len == 0)
		return true;
	return (len == 1 && s[0] == '~') ||
	       (len == 4 &&
		(!memcmp(s, "null", 4) || !memcmp(s, "Null", 4) || !memcmp(s, "NULL", 4)));
}

static bool text_is_plain_value(const char *s)
{
	if (!strcmp(s, "true") || !strcmp(s, "false") || !strcmp(s, "True") ||
	    !strcmp(s, "False") || !strcmp(s, "TRUE") || !strcmp(s, "FALSE"))
		return true;
	char *end;
	errno = 0;
	(void)strtod(s, &end);
	return *s && !*end;
}

/* What was found, for "got ...": a kind for collections and nulls, the value
 * itself for scalars (quoted unless it reads as a number or a boolean). */
const char *yaml_describe(struct fy_node *fyn, char *buf, size_t len)
{
	if (yaml_node_is_null(fyn))
		return "null";
	if (fy_node_is_mapping(fyn))
		return "a mapping";
	if (fy_node_is_sequence(fyn))
		return "a sequence";
	if (fy_node_is_alias(fyn))
		return "an alias";
	size_t n;
	const char *s = fy_node_get_scalar(fyn, &n);
	if (!s)
		return "a scalar";
	int show = n > 64 ? 61 : (int)n;
	const char *more = n > 64 ? "..." : "";
	if (fy_node_get_style(fyn) == FYNS_PLAIN && n <= 64) {
		snprintf(buf, len, "%.*s", show, s);
		if (text_is_plain_value(buf))
			return buf;
	}
	snprintf(buf, len, "\"%.*s%s\"", show, s, more);
	return buf;
}

/* Optimal string alignment distance: a swap of two letters counts as one edit. */
int yaml_edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
	int rows[3][YAML_SUGGEST_MAX_LEN + 1];
	int *pp = rows[0], *p = rows[1], *c = rows[2];
	if (la > YAML_SUGGEST_MAX_LEN || lb > YAML_SUGGEST_MAX_LEN)
		return YAML_SUGGEST_MAX_LEN + 1;
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

/* Reads a whole file of at most max bytes. Returns 0 or a negative errno. */
int yaml_read_file(const char *path, size_t max, char **out, size_t *lenp)
{
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return -errno;
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	int rc = 0;
	if (!buf) {
		fclose(fp);
		return -ENOMEM;
	}
	for (;;) {
		if (len + 1 >= cap) {
			char *nb = cap > max ? NULL : realloc(buf, cap * 2);
			if (!nb) {
				rc = cap > max ? -EFBIG : -ENOMEM;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		errno = 0;
		size_t n = fread(buf + len, 1, cap - len - 1, fp);
		len += n;
		if (n == 0) {
			if (ferror(fp))
				rc = errno ? -errno : -EIO;
			break;
		}
	}
	fclose(fp);
	if (!rc && len > max)
		rc = -EFBIG;
	if (rc) {
		free(buf);
		return rc;
	}
	buf[len] = '\0';
	*out = buf;
	*lenp = len;
	return 0;
}

static void yaml_diag_discard(struct fy_diag *diag, void *user, const char *buf, size_t len)
{
	(void)diag;
	(void)user;
	(void)buf;
	(void)len;
}

/* Moves libfyaml's collected errors into ERRS, positioned; returns how many. */
static size_t yaml_take_diag_errors(const char *file, struct config_errors *errs,
				    struct fy_diag *diag)
{
	void *iter = NULL;
	struct fy_diag_error *de;
	size_t n = 0;
	while ((de = fy_diag_errors_iterate(diag, &iter))) {
		if (de->type < FYET_ERROR)
			continue;
		/* fy_diag_error positions are 1-based already. */
		config_errors_add(errs, file, de->line > 0 ? de->line : 0,
				  de->line > 0 ? de->column : 0, NULL, "invalid YAML: %s",
				  de->msg ? de->msg : "syntax error");
		n++;
	}
	return n;
}

void yaml_doc_free(struct yaml_doc *d)
{
	if (!d)
		return;
	if (d->doc)
		fy_parse_document_destroy(d->parser, d->doc);
	if (d->parser)
		fy_parser_destroy(d->parser);
	if (d->diag)
		fy_diag_destroy(d->diag);
	free(d);
}

int yaml_doc_load(const char *file, const char *text, size_t len, struct config_errors *errs,
		  struct yaml_doc **out, struct fy_node **root)
{
	*out = NULL;
	*root = NULL;
	struct yaml_doc *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	struct fy_diag_cfg dcfg;
	fy_diag_cfg_default(&dcfg);
	dcfg.fp = NULL;
	dcfg.output_fn = yaml_diag_discard;
	dcfg.colorize = false;
	d->diag = fy_diag_create(&dcfg);
	if (!d->diag)
		goto oom;
	fy_diag_set_collect_errors(d->diag, true);
	struct fy_parse_cfg pcfg = {
		.flags = FYPCF_QUIET | FYPCF_RESOLVE_DOCUMENT,
		.diag = d->diag,
	};
	d->parser = fy_parser_create(&pcfg);
	if (!d->parser || fy_parser_set_string(d->parser, text, len))
		goto oom;

	int rc = 0;
	d->doc = fy_parse_load_document(d->parser);
	if (!d->doc) {
		/* No document at all is an empty file. */
		if (fy_parser_get_stream_error(d->parser) || fy_diag_got_error(d->diag)) {
			if (yaml_take_diag_errors(file, errs, d->diag) == 0)
				config_errors_add(errs, file, 0, 0, NULL, "invalid YAML");
			rc = -EINVAL;
		}
		*out = d;
		return rc;
	}
	struct fy_document *second = fy_parse_load_document(d->parser);
	if (second) {
		struct fy_node *r2 = fy_document_root(second);
		struct yaml_pos p = yaml_node_pos(r2, (struct yaml_pos){0, 0});
		config_errors_add(errs, file, p.line, p.col, NULL,
				  "expected one YAML document, found a second one");
		fy_parse_document_destroy(d->parser, second);
		rc = -EINVAL;
	} else if (fy_parser_get_stream_error(d->parser) || fy_diag_got_error(d->diag)) {
		if (yaml_take_diag_errors(file, errs, d->diag) == 0)
			config_errors_add(errs, file, 0, 0, NULL, "invalid YAML");
		rc = -EINVAL;
	}
	*root = fy_document_root(d->doc);
	*out = d;
	return rc;
oom:
	yaml_doc_free(d);
	return -ENOMEM;
}
