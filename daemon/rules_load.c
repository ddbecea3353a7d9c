/* Loading rule files: YAML to a checked ruleset (rules, lists, modes, tests), handed to the
 * compiler; and the ruleset's accessors. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "country.h"
#include "dsa.h"
#include "pbjson.h"
#include "rules_impl.h"
#include "ydoc.h"

#define RULES_FILE_MAX (64u << 20) /* a 50,000-term list is a few MiB */

/* One parsed rule file, kept while later passes need its nodes. */
struct rules_file {
	const char *path; /* owned by the ruleset's files */
	char *text;
	size_t len;
	struct ydoc *doc;
	const struct ydoc_node *root;
};

struct rules_loader {
	const struct config *cfg;
	struct ruleset *rs;
	struct diag_list *errs;
	struct rules_file *cur;
	EVP_MD_CTX *sha;
	bool oom;
	struct strmap rule_ids;
	struct strmap mode_index;
	struct strmap attr_types; /* declared attribute -> index into attr_decls */
	struct rules_attr_decl {
		enum rexpr_attr_type type;
		const char *file;
		int line;
	} * attr_decls;
	size_t n_attr_decls, cap_attr_decls;
	size_t cap_rules, cap_lists, cap_modes, cap_tests;
	/* Atoms under construction. */
	size_t cap_atoms;
	struct rules_regex_src regex; /* for the compiler */
	struct normalise_buf nbuf;
};

__attribute__((format(printf, 4, 5))) static void
rl_error(struct rules_loader *rl, struct ydoc_pos p, const char *key, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag_error(rl->errs, rl->cur ? rl->cur->path : rl->cfg->path, p.line, p.col, key, "%s",
		   msg);
}

static char *rl_strdup(struct rules_loader *rl, const char *s)
{
	char *d = s ? strdup(s) : NULL;
	if (s && !d)
		rl->oom = true;
	return d;
}

/* Grows *v (of element size SIZE) to hold one more than n. */
static bool rl_reserve(struct rules_loader *rl, void **v, size_t *cap, size_t n, size_t size)
{
	if (rules_grow(v, cap, n, size) == 0)
		return true;
	rl->oom = true;
	return false;
}

/* A scalar value, or an error naming KEY and what was expected. */
static const char *rl_want_string(struct rules_loader *rl, const struct ydoc_node *v,
				  struct ydoc_pos p, const char *key)
{
	const char *s = ydoc_scalar(v);
	char buf[96];
	if (!s)
		rl_error(rl, ydoc_pos_of(v, p), key, "expected a string, got %s",
			 ydoc_describe(v, buf, sizeof(buf)));
	return s;
}

static int rl_want_bool(struct rules_loader *rl, const struct ydoc_node *v, struct ydoc_pos p,
			const char *key, bool *out)
{
	const char *s = ydoc_scalar(v);
	char buf[96];
	if (s && (!strcmp(s, "true") || !strcmp(s, "false"))) {
		*out = s[0] == 't';
		return 0;
	}
	rl_error(rl, ydoc_pos_of(v, p), key, "expected true or false, got %s",
		 ydoc_describe(v, buf, sizeof(buf)));
	return -EINVAL;
}

/* Checks the keys of mapping MAP against ALLOWED (NULL-terminated). */
static void rl_check_keys(struct rules_loader *rl, const struct ydoc_node *map, const char *what,
			  const char *const *allowed)
{
	ydoc_check_keys(map, allowed, what, rl->cur ? rl->cur->path : rl->cfg->path, rl->errs);
}

/* The ruleset version covers what decides verdicts: each file's name and
 * contents in load order (not the directory it was read from, so that the
 * same rules deployed elsewhere have the same version) and the mode switches. */
static void rl_digest_file(struct rules_loader *rl, const char *path, const char *text, size_t len)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	EVP_DigestUpdate(rl->sha, base, strlen(base) + 1);
	EVP_DigestUpdate(rl->sha, text, len);
	EVP_DigestUpdate(rl->sha, "", 1);
}

/* ---- positions inside a condition ---- */

/* Maps offset OFF of the value of scalar N (which starts at P) to a file
 * position: the value is rebuilt from the source lines, each joined to the
 * next by one character, which is how YAML folds or keeps line breaks. */
static struct ydoc_pos rl_offset_pos(struct rules_loader *rl, const struct ydoc_node *n,
				     struct ydoc_pos p, size_t off)
{
	bool block = n->style == YDOC_BLOCK;
	bool quoted = n->style == YDOC_QUOTED;
	const char *t = rl->cur->text;
	/* Find the start of line p.line. */
	const char *line = t;
	for (int l = 1; l < p.line && line; l++) {
		line = strchr(line, '\n');
		line = line ? line + 1 : NULL;
	}
	if (!line)
		return p;
	int ln = p.line;
	/* A block scalar's mark is the start of its first content line; its
	 * lines keep what is indented past that line's indentation. Other
	 * scalars fold every continuation line's leading blanks away. */
	size_t base = (size_t)p.col - 1;
	if (block)
		while (line[base] == ' ')
			base++;
	size_t col0 = base + (quoted ? 1 : 0);
	size_t left = off;
	for (;;) {
		const char *nl = strchr(line + col0, '\n');
		size_t seg = nl ? (size_t)(nl - (line + col0)) : strlen(line + col0);
		if (left <= seg || !nl)
			return (struct ydoc_pos){ln, (int)(col0 + left) + 1};
		left -= seg + 1;
		line = nl + 1;
		ln++;
		col0 = 0;
		if (block)
			while (col0 < base && line[col0] == ' ')
				col0++;
		else
			while (line[col0] == ' ' || line[col0] == '\t')
				col0++;
	}
}

/* ---- normalise, lists, modes ---- */

static void rl_normalise_section(struct rules_loader *rl, const struct ydoc_node *v,
				 struct ydoc_pos p, bool *seen)
{
	char buf[96];
	if (!ydoc_is_map(v)) {
		rl_error(rl, ydoc_pos_of(v, p), "normalise", "expected a mapping, got %s",
			 ydoc_describe(v, buf, sizeof(buf)));
		return;
	}
	static const char *const keys[] = {"fold", NULL};
	rl_check_keys(rl, v, "normalise", keys);
	const struct ydoc_node *fold = ydoc_get(v, "fold");
	struct normalise_opts o = {0};
	if (fold && !ydoc_is_seq(fold)) {
		rl_error(rl, ydoc_pos_of(fold, p), "normalise.fold",
			 "expected a list of folds (leet, homoglyphs), got %s",
			 ydoc_describe(fold, buf, sizeof(buf)));
		return;
	}
	for (size_t i = 0; fold && i < fold->n; i++) {
		const struct ydoc_node *item = fold->items[i];
		const char *s = ydoc_scalar(item);
		if (s && !strcmp(s, "leet"))
			o.fold_leet = true;
		else if (s && !strcmp(s, "homoglyphs"))
			o.fold_homoglyphs = true;
		else
			rl_error(rl, ydoc_pos_of(item, p), "normalise.fold",
				 "expected leet or homoglyphs, got %s",
				 ydoc_describe(item, buf, sizeof(buf)));
	}
	if (*seen && (o.fold_leet != rl->rs->norm.fold_leet ||
		      o.fold_homoglyphs != rl->rs->norm.fold_homoglyphs))
		rl_error(rl, ydoc_pos_of(v, p), "normalise",
			 "every rule file must normalise the same way: terms and text are "
			 "folded once for the whole ruleset");
	rl->rs->norm = o;
	*seen = true;
}

/* Adds one term (or hash) to list L; reports at P. */
static void rl_list_add(struct rules_loader *rl, struct rules_list *l, const char *term, size_t len,
			struct ydoc_pos p, const char *key)
{
	const char *t = term;
	size_t tl = len;
	if (l->hashes) {
		char hex[200];
		if (len == 0 || len >= sizeof(hex)) {
			rl_error(rl, p, key, "expected a hex digest, got \"%.*s\"", (int)len, term);
			return;
		}
		for (size_t i = 0; i < len; i++) {
			hex[i] = (char)tolower((unsigned char)term[i]);
			if (!isxdigit((unsigned char)hex[i])) {
				rl_error(rl, p, key, "expected a hex digest, got \"%.*s\"",
					 (int)len, term);
				return;
			}
		}
		if (strmap_put(&l->set, hex, len, 1, NULL) < 0)
			rl->oom = true;
		return;
	}
	if (normalise_text(&rl->rs->norm, term, len, &rl->nbuf) < 0) {
		rl->oom = true;
		return;
	}
	t = rl->nbuf.data;
	tl = rl->nbuf.len;
	if (tl == 0) {
		rl_error(rl, p, key, "term \"%.*s\" is empty once normalised", (int)len, term);
		return;
	}
	if (strmap_put(&l->set, t, tl, 1, NULL) < 0)
		rl->oom = true;
}

/* Reads a list file: one term per line, '#' starts a comment line. */
static void rl_list_file(struct rules_loader *rl, struct rules_list *l, const char *path,
			 struct ydoc_pos p, const char *key)
{
	char *resolved = NULL;
	if (path[0] == '/' || !rl->cur) {
		resolved = rl_strdup(rl, path);
	} else {
		const char *slash = strrchr(rl->cur->path, '/');
		size_t dl = slash ? (size_t)(slash - rl->cur->path) + 1 : 0;
		resolved = malloc(dl + strlen(path) + 1);
		if (resolved) {
			memcpy(resolved, rl->cur->path, dl);
			strcpy(resolved + dl, path);
		} else {
			rl->oom = true;
		}
	}
	if (!resolved)
		return;
	char *text = NULL;
	size_t len = 0;
	int rc = ydoc_read_file(resolved, RULES_FILE_MAX, &text, &len);
	if (rc < 0) {
		rl_error(rl, p, key, "cannot read list file \"%s\": %s", resolved, strerror(-rc));
		free(resolved);
		return;
	}
	rl_digest_file(rl, resolved, text, len);
	char **files = realloc(rl->rs->files, (rl->rs->n_files + 1) * sizeof(*files));
	if (!files) {
		rl->oom = true;
		free(resolved);
		free(text);
		return;
	}
	rl->rs->files = files;
	files[rl->rs->n_files++] = resolved;
	int lineno = 0;
	for (char *s = text, *nl; s && *s; s = nl ? nl + 1 : NULL) {
		nl = strchr(s, '\n');
		lineno++;
		size_t n = nl ? (size_t)(nl - s) : strlen(s);
		while (n && isspace((unsigned char)*s)) {
			s++;
			n--;
		}
		while (n && isspace((unsigned char)s[n - 1]))
			n--;
		if (!n || *s == '#')
			continue;
		/* Errors in a list file point into the list file. */
		struct rules_file *saved = rl->cur;
		struct rules_file lf = {.path = resolved};
		rl->cur = &lf;
		rl_list_add(rl, l, s, n, (struct ydoc_pos){lineno, 1}, key);
		rl->cur = saved;
	}
	free(text);
}

/* A top-level section KEY that must be a mapping (WHAT, for the error): each entry to FN. */
static void rl_section(struct rules_loader *rl, const struct ydoc_node *v, struct ydoc_pos p,
		       const char *key, const char *what, ydoc_pair_fn fn)
{
	char buf[96];
	if (!ydoc_is_map(v)) {
		rl_error(rl, ydoc_pos_of(v, p), key, "expected %s, got %s", what,
			 ydoc_describe(v, buf, sizeof(buf)));
		return;
	}
	ydoc_map_each(v, p, fn, rl);
}

/* One entry of lists: NAME: [terms], {file: PATH} or {terms: [...], kind: ...}. */
static int rl_list(void *arg, const struct ydoc_node *k, struct ydoc_pos kp,
		   const struct ydoc_node *lv, struct ydoc_pos vp)
{
	struct rules_loader *rl = arg;
	char buf[96];
	(void)vp;
	const char *name = k->text;
	char key[300];
	snprintf(key, sizeof(key), "lists.%s", name);
	uint32_t prev;
	if (strmap_get(&rl->rs->list_index, name, strlen(name), &prev)) {
		const struct rules_list *o = &rl->rs->lists[prev];
		rl_error(rl, kp, key, "list '%s' is already defined at %s:%d:%d", name, o->file,
			 o->line, o->col);
		return 0;
	}
	if (!rl_reserve(rl, (void **)&rl->rs->lists, &rl->cap_lists, rl->rs->n_lists,
			sizeof(struct rules_list)))
		return -ENOMEM;
	struct rules_list *l = &rl->rs->lists[rl->rs->n_lists];
	l->name = rl_strdup(rl, name);
	l->file = (char *)rl->cur->path;
	l->line = kp.line;
	l->col = kp.col;
	l->atom = UINT32_MAX;
	if (strmap_put(&rl->rs->list_index, name, strlen(name), (uint32_t)rl->rs->n_lists, NULL) <
	    0)
		rl->oom = true;
	rl->rs->n_lists++;

	const struct ydoc_node *terms = lv;
	if (ydoc_is_map(lv)) {
		static const char *const keys[] = {"file", "terms", "kind", NULL};
		rl_check_keys(rl, lv, "a list", keys);
		const struct ydoc_node *kind = ydoc_get(lv, "kind");
		const char *ks = kind ? ydoc_scalar(kind) : "terms";
		if (ks && !strcmp(ks, "hashes"))
			l->hashes = true;
		else if (!ks || strcmp(ks, "terms"))
			rl_error(rl, ydoc_pos_of(kind, kp), key,
				 "expected kind terms or hashes, got %s",
				 ydoc_describe(kind, buf, sizeof(buf)));
		const struct ydoc_node *file = ydoc_get(lv, "file");
		terms = ydoc_get(lv, "terms");
		if (file) {
			const char *fs = rl_want_string(rl, file, kp, key);
			if (fs)
				rl_list_file(rl, l, fs, ydoc_pos_of(file, kp), key);
		}
		if (!file && !terms) {
			rl_error(rl, kp, key, "a list needs file: or terms:");
			return 0;
		}
		if (!terms)
			return 0;
	}
	if (!ydoc_is_seq(terms)) {
		rl_error(rl, ydoc_pos_of(terms, kp), key,
			 "expected a list of terms, {file: PATH} or {terms: [...]}, got %s",
			 ydoc_describe(terms, buf, sizeof(buf)));
		return 0;
	}
	for (size_t i = 0; i < terms->n; i++) {
		const struct ydoc_node *t = terms->items[i];
		const char *ts = rl_want_string(rl, t, kp, key);
		if (ts)
			rl_list_add(rl, l, ts, strlen(ts), ydoc_pos_of(t, kp), key);
	}
	return rl->oom ? -ENOMEM : 0;
}

static void rl_lists_section(struct rules_loader *rl, const struct ydoc_node *v, struct ydoc_pos p)
{
	rl_section(rl, v, p, "lists", "a mapping of lists", rl_list);
}

static void rl_digest_cb(void *arg, const char *path, const char *text, size_t len)
{
	rl_digest_file(arg, path, text, len);
}

/* One entry of banks: NAME: {algorithm, file, min_quality} (rules_banks.c). */
static int rl_bank(void *arg, const struct ydoc_node *k, struct ydoc_pos kp,
		   const struct ydoc_node *v, struct ydoc_pos vp)
{
	struct rules_loader *rl = arg;
	(void)vp;
	int rc = rules_bank_add(rl->rs, rl->cur->path, k->text, kp, v, rl->errs, rl_digest_cb, rl);
	if (rc == -ENOMEM)
		rl->oom = true;
	return rc == -ENOMEM ? rc : 0;
}

static int rl_date(struct rules_loader *rl, const struct ydoc_node *v, struct ydoc_pos p,
		   const char *key, int64_t *ms)
{
	const char *s = ydoc_scalar(v);
	char buf[96];
	if (s && rexpr_parse_date(s, strlen(s), ms) == 0)
		return 0;
	rl_error(rl, ydoc_pos_of(v, p), key,
		 "expected a date such as 2027-08-01 or 2027-08-01T06:00Z, got %s",
		 ydoc_describe(v, buf, sizeof(buf)));
	return -EINVAL;
}

/* One entry of attributes: NAME: int | float | string | bool. */
static int rl_attribute(void *arg, const struct ydoc_node *k, struct ydoc_pos kp,
			const struct ydoc_node *v, struct ydoc_pos vp)
{
	struct rules_loader *rl = arg;
	char buf[96], key[300];
	const char *name = k->text;
	snprintf(key, sizeof(key), "attributes.%s", name);
	const char *ts = ydoc_scalar(v);
	int type = ts ? rexpr_attr_type_parse(ts) : -1;
	if (type < 0) {
		rl_error(rl, vp, key, "expected int, float, string or bool, got %s",
			 ydoc_describe(v, buf, sizeof(buf)));
		return 0;
	}
	uint32_t prev;
	if (strmap_get(&rl->attr_types, name, strlen(name), &prev)) {
		const struct rules_attr_decl *d = &rl->attr_decls[prev];
		if (d->type != (enum rexpr_attr_type)type)
			rl_error(rl, kp, key,
				 "attribute '%s' is declared %s at %s:%d; every rule file must "
				 "give it the same type",
				 name, rexpr_attr_type_name(d->type), d->file, d->line);
		return 0;
	}
	if (!rl_reserve(rl, (void **)&rl->attr_decls, &rl->cap_attr_decls, rl->n_attr_decls,
			sizeof(*rl->attr_decls)))
		return -ENOMEM;
	rl->attr_decls[rl->n_attr_decls] =
		(struct rules_attr_decl){(enum rexpr_attr_type)type, rl->cur->path, kp.line};
	if (strmap_put(&rl->attr_types, name, strlen(name), (uint32_t)rl->n_attr_decls++, NULL) < 0)
		rl->oom = true;
	return rl->oom ? -ENOMEM : 0;
}

static void rl_attributes_section(struct rules_loader *rl, const struct ydoc_node *v,
				  struct ydoc_pos p)
{
	rl_section(rl, v, p, "attributes",
		   "a mapping of attribute names to int, float, string or bool", rl_attribute);
}

/* One entry of modes: NAME: {countries, from, until, enabled, description}. */
static int rl_mode(void *arg, const struct ydoc_node *k, struct ydoc_pos kp,
		   const struct ydoc_node *mv, struct ydoc_pos vp)
{
	struct rules_loader *rl = arg;
	char buf[96];
	(void)vp;
	const char *name = k->text;
	char key[300];
	snprintf(key, sizeof(key), "modes.%s", name);
	uint32_t prev;
	if (strmap_get(&rl->mode_index, name, strlen(name), &prev)) {
		const struct rules_mode *o = &rl->rs->modes[prev];
		rl_error(rl, kp, key, "mode '%s' is already defined at %s:%d:%d", name, o->file,
			 o->line, o->col);
		return 0;
	}
	if (!ydoc_is_map(mv)) {
		rl_error(rl, ydoc_pos_of(mv, kp), key,
			 "expected {countries: [...], from: DATE, until: DATE, enabled: "
			 "BOOL}, got %s",
			 ydoc_describe(mv, buf, sizeof(buf)));
		return 0;
	}
	static const char *const keys[] = {"countries", "from",        "until",
					   "enabled",   "description", NULL};
	rl_check_keys(rl, mv, "a mode", keys);
	if (!rl_reserve(rl, (void **)&rl->rs->modes, &rl->cap_modes, rl->rs->n_modes,
			sizeof(struct rules_mode)))
		return -ENOMEM;
	struct rules_mode *m = &rl->rs->modes[rl->rs->n_modes];
	m->name = rl_strdup(rl, name);
	m->file = (char *)rl->cur->path;
	m->line = kp.line;
	m->col = kp.col;
	m->enabled = true;
	if (strmap_put(&rl->mode_index, name, strlen(name), (uint32_t)rl->rs->n_modes, NULL) < 0)
		rl->oom = true;
	rl->rs->n_modes++;
	const struct ydoc_node *n;
	if ((n = ydoc_get(mv, "enabled")))
		rl_want_bool(rl, n, kp, key, &m->enabled);
	if ((n = ydoc_get(mv, "from")))
		rl_date(rl, n, kp, key, &m->from_ms);
	if ((n = ydoc_get(mv, "until")))
		rl_date(rl, n, kp, key, &m->until_ms);
	if (m->from_ms && m->until_ms && m->until_ms <= m->from_ms)
		rl_error(rl, kp, key, "until must be after from");
	if ((n = ydoc_get(mv, "countries"))) {
		if (!ydoc_is_seq(n)) {
			rl_error(rl, ydoc_pos_of(n, kp), key,
				 "expected a list of ISO 3166-1 alpha-2 codes, got %s",
				 ydoc_describe(n, buf, sizeof(buf)));
			return 0;
		}
		m->countries = calloc(n->n + 1, sizeof(char *));
		if (!m->countries) {
			rl->oom = true;
			return -ENOMEM;
		}
		for (size_t i = 0; i < n->n; i++) {
			const struct ydoc_node *c = n->items[i];
			const char *cs = ydoc_scalar(c);
			char up[3] = {0};
			if (cs && strlen(cs) == 2) {
				up[0] = (char)toupper((unsigned char)cs[0]);
				up[1] = (char)toupper((unsigned char)cs[1]);
			}
			if (!country_is_iso3166(up)) {
				rl_error(rl, ydoc_pos_of(c, kp), key,
					 "expected an ISO 3166-1 alpha-2 code such as KE, "
					 "got %s",
					 ydoc_describe(c, buf, sizeof(buf)));
				continue;
			}
			m->countries[m->n_countries++] = rl_strdup(rl, up);
		}
	}
	return rl->oom ? -ENOMEM : 0;
}

static void rl_modes_section(struct rules_loader *rl, const struct ydoc_node *v, struct ydoc_pos p)
{
	rl_section(rl, v, p, "modes", "a mapping of modes", rl_mode);
}

/* ---- rules ---- */

/* Case-insensitive lookup of an enum value by name ("remove", "REMOVE"). */
static int rl_enum(const ProtobufCEnumDescriptor *d, const char *s)
{
	char up[64];
	size_t n = strlen(s);
	if (n >= sizeof(up))
		return -1;
	for (size_t i = 0; i <= n; i++)
		up[i] = (char)toupper((unsigned char)s[i]);
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value_by_name(d, up);
	return v ? v->value : -1;
}

/* "post, comment, …" for messages: the lowercase names but the zero value. */
static void rl_enum_names(const ProtobufCEnumDescriptor *d, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = '\0';
	for (unsigned i = 0; i < d->n_values && o < len; i++) {
		if (d->values[i].value == 0)
			continue;
		int w = snprintf(buf + o, len - o, "%s", o ? ", " : "");
		o += w > 0 ? (size_t)w : 0;
		for (const char *c = d->values[i].name; *c && o + 1 < len; c++)
			buf[o++] = (char)tolower((unsigned char)*c);
		buf[o < len ? o : len - 1] = '\0';
	}
}

static uint32_t rl_new_atom(struct rules_loader *rl, const char *kind, const char *what)
{
	struct ruleset *rs = rl->rs;
	if (!rl_reserve(rl, (void **)&rs->atom_names, &rl->cap_atoms, rs->n_atoms, sizeof(char *)))
		return UINT32_MAX;
	size_t n = strlen(kind) + strlen(what) + 2;
	char *name = malloc(n);
	if (!name) {
		rl->oom = true;
		return UINT32_MAX;
	}
	snprintf(name, n, "%s:%s", kind, what);
	rs->atom_names[rs->n_atoms] = name;
	return (uint32_t)rs->n_atoms++;
}

/* A bool attribute compares with true or false: the literals become 1 and 0. */
static bool rl_bool_literals(struct rules_loader *rl, struct rexpr *e, const struct ydoc_node *n,
			     struct ydoc_pos p, const char *key)
{
	if (e->kind == REX_CMP && e->cmp != RC_EQ && e->cmp != RC_NE) {
		rl_error(rl, rl_offset_pos(rl, n, p, e->off), key,
			 "attr.%s is declared bool: only == and != compare it", e->name);
		return false;
	}
	size_t nv = e->kind == REX_CMP ? 1 : e->n_vals;
	for (size_t i = 0; i < nv; i++) {
		const char *s = e->kind == REX_CMP ? e->str : e->strs[i];
		if (e->is_num || !s || (strcmp(s, "true") && strcmp(s, "false"))) {
			rl_error(rl,
				 rl_offset_pos(rl, n, p,
					       e->kind == REX_CMP ? e->lit_off : e->val_offs[i]),
				 key, "attr.%s is declared bool: compare it with true or false",
				 e->name);
			return false;
		}
		double v = s[0] == 't';
		if (e->kind == REX_CMP)
			e->num = v;
		else
			e->nums[i] = v;
	}
	e->is_num = true;
	return true;
}

/* A comparison or an `in`: types agree, lists exist, enum names resolve, and strings that
 * compare without case are stored lowercase. */
static void rl_check_cmp(struct rules_loader *rl, struct rexpr *e, const struct ydoc_node *n,
			 struct ydoc_pos p, const char *key)
{
	struct ydoc_pos at = rl_offset_pos(rl, n, p, e->off);
	char fname[160];
	char names[512];
	uint32_t ai;
	if (e->field == RF_ATTR && strmap_get(&rl->attr_types, e->name, strlen(e->name), &ai))
		e->attr_type = rl->attr_decls[ai].type;
	if (e->field == RF_ATTR && e->attr_type != RA_STRING)
		snprintf(fname, sizeof(fname), "attr.%.64s (declared %s)", e->name,
			 rexpr_attr_type_name(e->attr_type));
	else
		snprintf(fname, sizeof(fname), "%s", rexpr_field_name(e->field));
	if (e->attr_type == RA_BOOL && !rl_bool_literals(rl, e, n, p, key))
		return;
	bool num_field = rexpr_is_number(e);
	if (e->field == RF_MEDIA) {
		rl_error(rl, at, key, "media takes any_media_in LIST or in bank NAME");
		return;
	}
	if (e->kind == REX_CMP && !num_field && e->cmp != RC_EQ && e->cmp != RC_NE) {
		rl_error(rl, at, key, "%s is a string: only == and != compare it", fname);
		return;
	}
	if (e->kind == REX_IN && e->list) {
		uint32_t li;
		struct ydoc_pos lp = rl_offset_pos(rl, n, p, e->list_off);
		if (!strmap_get(&rl->rs->list_index, e->list, strlen(e->list), &li)) {
			rl_error(rl, lp, key, "unknown list '%s'", e->list);
			return;
		}
		if (num_field) {
			rl_error(rl, lp, key, "%s is a number: 'in LIST' needs a string field",
				 fname);
			return;
		}
		rl->rs->lists[li].used = true;
		e->atom = li;
		return;
	}
	bool lit_num = e->is_num;
	if (num_field != lit_num) {
		struct ydoc_pos lp = rl_offset_pos(rl, n, p, e->lit_off);
		rl_error(rl, e->kind == REX_CMP ? lp : at, key,
			 num_field ? "%s is a number: compare it with a number%s" :
				     "%s is a string: compare it with a string such as \"x\"%s",
			 fname, e->field == RF_CREATED_AT ? " or a date" : "");
		return;
	}
	if (e->field == RF_SIGNAL) {
		/* Signals travel as 32-bit floats: round the thresholds the
		 * same way, or a score of 0.7 would fail `>= 0.7`. */
		e->num = (double)(float)e->num;
		for (size_t i = 0; i < e->n_vals; i++)
			e->nums[i] = (double)(float)e->nums[i];
	}
	if (e->field == RF_SURFACE || e->field == RF_CONTENT_TYPE) {
		const ProtobufCEnumDescriptor *d = e->field == RF_SURFACE ?
							   &arbiter__v1__surface__descriptor :
							   &arbiter__v1__content_type__descriptor;
		size_t nv = e->kind == REX_CMP ? 1 : e->n_vals;
		if (e->kind == REX_IN) {
			e->enum_vals = calloc(nv, sizeof(int));
			if (!e->enum_vals) {
				rl->oom = true;
				return;
			}
		}
		for (size_t i = 0; i < nv; i++) {
			const char *s = e->kind == REX_CMP ? e->str : e->strs[i];
			int v = rl_enum(d, s);
			if (v <= 0) {
				rl_enum_names(d, names, sizeof(names));
				size_t at_off = e->kind == REX_CMP ? e->lit_off : e->val_offs[i];
				rl_error(rl, rl_offset_pos(rl, n, p, at_off), key,
					 "unknown %s \"%s\" (expected one of %s)", fname, s, names);
				return;
			}
			if (e->kind == REX_CMP)
				e->enum_val = v;
			else
				e->enum_vals[i] = v;
		}
	}
	if (e->field == RF_LANG || e->field == RF_COUNTRY) {
		/* Compared case-insensitively: store lowercase once. */
		size_t nv = e->kind == REX_CMP ? 1 : e->n_vals;
		for (size_t i = 0; i < nv; i++)
			for (char *c = e->kind == REX_CMP ? e->str : e->strs[i]; *c; c++)
				*c = (char)tolower((unsigned char)*c);
	}
}

/* contains_any and any_media_in: the list exists and holds the right kind of entries. */
static void rl_check_list(struct rules_loader *rl, struct rexpr *e, const struct ydoc_node *n,
			  struct ydoc_pos p, const char *key)
{
	uint32_t li;
	struct ydoc_pos lp = rl_offset_pos(rl, n, p, e->list_off);
	if (!strmap_get(&rl->rs->list_index, e->list, strlen(e->list), &li)) {
		rl_error(rl, lp, key, "unknown list '%s'", e->list);
		return;
	}
	struct rules_list *l = &rl->rs->lists[li];
	l->used = true;
	if (e->kind == REX_MEDIA_IN) {
		if (!l->hashes)
			rl_error(rl, lp, key,
				 "list '%s' holds terms: any_media_in needs a list of kind "
				 "hashes",
				 e->list);
		e->atom = li;
		return;
	}
	if (l->hashes) {
		rl_error(rl, lp, key, "list '%s' holds media hashes: contains_any needs terms",
			 e->list);
		return;
	}
	if (l->atom == UINT32_MAX)
		l->atom = rl_new_atom(rl, "list", l->name);
	e->atom = l->atom;
}

/* A regex Hyperscan accepts, registered for the regex database. */
static void rl_check_regex(struct rules_loader *rl, struct rexpr *e, const struct ydoc_node *n,
			   struct ydoc_pos p, const char *key)
{
	unsigned flags = HS_FLAG_UTF8 | HS_FLAG_UCP | HS_FLAG_SINGLEMATCH;
	if (e->re_flags & REXPR_RE_CASELESS)
		flags |= HS_FLAG_CASELESS;
	if (e->re_flags & REXPR_RE_DOTALL)
		flags |= HS_FLAG_DOTALL;
	if (e->re_flags & REXPR_RE_MULTILINE)
		flags |= HS_FLAG_MULTILINE;
	hs_expr_info_t *info = NULL;
	hs_compile_error_t *cerr = NULL;
	if (hs_expression_info(e->str, flags, &info, &cerr) != HS_SUCCESS) {
		rl_error(rl, rl_offset_pos(rl, n, p, e->lit_off), key, "bad regex: %s",
			 cerr && cerr->message ? cerr->message : "rejected by Hyperscan");
		hs_free_compile_error(cerr);
		return;
	}
	free(info);
	struct ruleset *rs = rl->rs;
	if (!rl_reserve(rl, (void **)&rl->regex.text, &rl->regex.cap, rs->n_regex, sizeof(char *)))
		return;
	size_t cap = rl->regex.cap; /* the flags and atoms grow with the texts */
	unsigned *nf = realloc(rl->regex.flags, cap * sizeof(*nf));
	uint32_t *na = realloc(rs->regex_atoms, cap * sizeof(*na));
	if (nf)
		rl->regex.flags = nf;
	if (na)
		rs->regex_atoms = na;
	if (!nf || !na) {
		rl->oom = true;
		return;
	}
	char what[256];
	snprintf(what, sizeof(what), "/%.200s/", e->str);
	e->atom = rl_new_atom(rl, "regex", what);
	rl->regex.text[rs->n_regex] = rl_strdup(rl, e->str);
	rl->regex.flags[rs->n_regex] = flags;
	rs->regex_atoms[rs->n_regex] = e->atom;
	rs->n_regex++;
}

/* Type-checks E and resolves its lists, enums and regexes; reports every error of the tree.
 * The parser bounds the tree's depth, and so this recursion. */
static void rl_check_expr(struct rules_loader *rl, struct rexpr *e, const struct ydoc_node *n,
			  struct ydoc_pos p, const char *key)
{
	if (!e)
		return;
	switch (e->kind) {
	case REX_AND:
	case REX_OR:
		rl_check_expr(rl, e->a, n, p, key);
		rl_check_expr(rl, e->b, n, p, key);
		return;
	case REX_NOT:
		rl_check_expr(rl, e->a, n, p, key);
		return;
	case REX_BOOL:
		return;
	case REX_CMP:
	case REX_IN:
		rl_check_cmp(rl, e, n, p, key);
		return;
	case REX_CONTAINS:
	case REX_MEDIA_IN:
		rl_check_list(rl, e, n, p, key);
		return;
	case REX_MATCHES:
		rl_check_regex(rl, e, n, p, key);
		return;
	case REX_COUNTER:
	case REX_BANK: {
		char err[512];
		size_t off = e->off;
		int rc = e->kind == REX_BANK ?
				 rules_bank_check(rl->rs, e, err, sizeof(err), &off) :
				 rules_counter_add(rl->rs, (uint32_t)(rl->rs->n_rules - 1), e, err,
						   sizeof(err), &off);
		if (rc == -ENOMEM)
			rl->oom = true;
		else if (rc < 0)
			rl_error(rl, rl_offset_pos(rl, n, p, off), key, "%s", err);
		return;
	}
	}
}

static void rl_escalate(struct rules_loader *rl, struct rules_rule *r, const struct ydoc_node *v,
			struct ydoc_pos p, const char *key)
{
	char buf[96];
	if (!ydoc_is_map(v)) {
		rl_error(rl, ydoc_pos_of(v, p), key,
			 "expected {queue: NAME, band: urgent|high|normal|low, sla: DURATION, "
			 "monitors: BOOL}, got %s",
			 ydoc_describe(v, buf, sizeof(buf)));
		return;
	}
	static const char *const keys[] = {"queue", "band", "sla", "monitors", NULL};
	rl_check_keys(rl, v, "escalate", keys);
	r->has_escalate = true;
	r->escalate.band = ARBITER__V1__BAND__NORMAL;
	r->escalate.sla_s = 24 * 3600;
	const struct ydoc_node *n = ydoc_get(v, "queue");
	const char *q = n ? rl_want_string(rl, n, p, key) : NULL;
	if (!n)
		rl_error(rl, ydoc_pos_of(v, p), key, "escalate needs a queue");
	r->escalate.queue = q ? rl_strdup(rl, q) : NULL;
	if ((n = ydoc_get(v, "band"))) {
		const char *b = ydoc_scalar(n);
		int bv = b ? rl_enum(&arbiter__v1__band__descriptor, b) : -1;
		if (bv <= 0)
			rl_error(rl, ydoc_pos_of(n, p), key,
				 "expected a band: urgent, high, normal or low, got %s",
				 ydoc_describe(n, buf, sizeof(buf)));
		else
			r->escalate.band = (Arbiter__V1__Band)bv;
	}
	if ((n = ydoc_get(v, "sla"))) {
		const char *s = ydoc_scalar(n);
		int64_t ms;
		bool unit = s && *s && strspn(s, "0123456789") != strlen(s);
		if (!unit || config_parse_duration(s, &ms) < 0 || ms < 1000 ||
		    ms > 365LL * 86400000)
			rl_error(rl, ydoc_pos_of(n, p), key,
				 "expected an SLA with a unit, such as 30m, 4h or 2d (1s to 365d), "
				 "got %s",
				 ydoc_describe(n, buf, sizeof(buf)));
		else
			r->escalate.sla_s = (uint32_t)(ms / 1000);
	}
	if ((n = ydoc_get(v, "monitors")))
		rl_want_bool(rl, n, p, key, &r->escalate.monitors);
}

/* Checks rule V's keys and id and adds it to the ruleset; NULL when it cannot be added. */
static struct rules_rule_impl *rl_rule_new(struct rules_loader *rl, const struct ydoc_node *v,
					   struct ydoc_pos p)
{
	char buf[96];
	if (!ydoc_is_map(v)) {
		rl_error(rl, ydoc_pos_of(v, p), "rules", "expected a rule mapping, got %s",
			 ydoc_describe(v, buf, sizeof(buf)));
		return NULL;
	}
	struct ydoc_pos rp = ydoc_pos_of(v, p);
	static const char *const keys[] = {"id",       "description", "when",   "action",
					   "escalate", "category",    "ground", "legal_ground",
					   "shadow",   "modes",       NULL};
	rl_check_keys(rl, v, "a rule", keys);
	const struct ydoc_node *idn = ydoc_get(v, "id");
	const char *id = idn ? ydoc_scalar(idn) : NULL;
	if (!id) {
		rl_error(rl, rp, "rules", "every rule needs an id");
		return NULL;
	}
	struct ydoc_pos ip = ydoc_pos_of(idn, rp);
	for (const char *c = id; *c; c++) {
		if (!isalnum((unsigned char)*c) && *c != '.' && *c != '_' && *c != '-') {
			rl_error(rl, ip, id, "rule ids use letters, digits, '.', '_' and '-' only");
			return NULL;
		}
	}
	uint32_t prev;
	if (strmap_get(&rl->rule_ids, id, strlen(id), &prev)) {
		const struct rules_rule *o = &rl->rs->rules[prev].pub;
		rl_error(rl, ip, id, "duplicate rule id '%s' (first defined at %s:%d)", id, o->file,
			 o->line);
		return NULL;
	}
	if (!rl_reserve(rl, (void **)&rl->rs->rules, &rl->cap_rules, rl->rs->n_rules,
			sizeof(struct rules_rule_impl)))
		return NULL;
	struct rules_rule_impl *ri = &rl->rs->rules[rl->rs->n_rules];
	struct rules_rule *r = &ri->pub;
	if (strmap_put(&rl->rule_ids, id, strlen(id), (uint32_t)rl->rs->n_rules, NULL) < 0)
		rl->oom = true;
	rl->rs->n_rules++;
	r->id = rl_strdup(rl, id);
	r->file = rl->cur->path;
	r->line = rp.line;
	r->action = ARBITER__V1__ACTION__NONE;
	r->ground = ARBITER__V1__GROUND__INCOMPATIBLE_CONTENT;
	return ri;
}

/* description, action, escalate, category, ground, legal_ground, shadow. */
static void rl_rule_fields(struct rules_loader *rl, struct rules_rule_impl *ri,
			   const struct ydoc_node *v, struct ydoc_pos rp)
{
	struct rules_rule *r = &ri->pub;
	const char *id = r->id;
	char buf[96];
	const struct ydoc_node *n;
	if ((n = ydoc_get(v, "description"))) {
		const char *d = rl_want_string(rl, n, rp, id);
		r->description = d ? rl_strdup(rl, d) : NULL;
	}
	if ((n = ydoc_get(v, "action"))) {
		const char *a = ydoc_scalar(n);
		int av = a ? rl_enum(&arbiter__v1__action__descriptor, a) : -1;
		if (av <= 0 || av == ARBITER__V1__ACTION__RESTORE) {
			char names[512];
			rl_enum_names(&arbiter__v1__action__descriptor, names, sizeof(names));
			char *restore = strstr(names, ", restore");
			if (restore)
				*restore = '\0';
			rl_error(rl, ydoc_pos_of(n, rp), id, "expected an action (%s), got %s",
				 names, ydoc_describe(n, buf, sizeof(buf)));
		} else {
			r->action = (Arbiter__V1__Action)av;
		}
	}
	if ((n = ydoc_get(v, "escalate")))
		rl_escalate(rl, r, n, rp, id);
	if ((n = ydoc_get(v, "category"))) {
		const char *c = ydoc_scalar(n);
		if (!c || !dsa_category_valid(c))
			rl_error(rl, ydoc_pos_of(n, rp), id,
				 "expected a DSA category such as STATEMENT_CATEGORY_VIOLENCE "
				 "(docs/rules.md lists them), got %s",
				 ydoc_describe(n, buf, sizeof(buf)));
		else
			r->category = rl_strdup(rl, c);
	}
	if ((n = ydoc_get(v, "ground"))) {
		const char *g = ydoc_scalar(n);
		int gv = g ? rl_enum(&arbiter__v1__ground__descriptor, g) : -1;
		if (gv <= 0)
			rl_error(rl, ydoc_pos_of(n, rp), id,
				 "expected ILLEGAL_CONTENT or INCOMPATIBLE_CONTENT, got %s",
				 ydoc_describe(n, buf, sizeof(buf)));
		else
			r->ground = (Arbiter__V1__Ground)gv;
	}
	if ((n = ydoc_get(v, "legal_ground"))) {
		const char *g = rl_want_string(rl, n, rp, id);
		r->legal_ground = g ? rl_strdup(rl, g) : NULL;
	}
	if ((n = ydoc_get(v, "shadow")))
		rl_want_bool(rl, n, rp, id, &r->shadow);
	/* Only when neither key is there: a malformed one has its own error. */
	if (r->action == ARBITER__V1__ACTION__NONE && !r->has_escalate && !r->shadow &&
	    !ydoc_get(v, "action") && !ydoc_get(v, "escalate"))
		rl_error(rl, rp, id,
			 "rule '%s' neither acts nor escalates: give it an action, "
			 "an escalate, or mark it shadow",
			 id);
}

/* The modes a rule is active in. */
static void rl_rule_modes(struct rules_loader *rl, struct rules_rule_impl *ri,
			  const struct ydoc_node *v, struct ydoc_pos rp)
{
	struct rules_rule *r = &ri->pub;
	const char *id = r->id;
	char buf[96];
	const struct ydoc_node *n;
	if ((n = ydoc_get(v, "modes"))) {
		if (!ydoc_is_seq(n)) {
			rl_error(rl, ydoc_pos_of(n, rp), id,
				 "expected a list of mode names, got %s",
				 ydoc_describe(n, buf, sizeof(buf)));
		} else {
			ri->modes = calloc(n->n + 1, sizeof(uint32_t));
			ri->mode_names = calloc(n->n + 1, sizeof(char *));
			if (!ri->modes || !ri->mode_names) {
				rl->oom = true;
				return;
			}
			for (size_t i = 0; i < n->n; i++) {
				const struct ydoc_node *m = n->items[i];
				const char *ms = ydoc_scalar(m);
				uint32_t idx;
				if (!ms || !strmap_get(&rl->mode_index, ms, strlen(ms), &idx)) {
					rl_error(rl, ydoc_pos_of(m, rp), id, "unknown mode %s",
						 ydoc_describe(m, buf, sizeof(buf)));
					continue;
				}
				ri->mode_names[ri->n_modes] = rl_strdup(rl, ms);
				ri->modes[ri->n_modes++] = idx;
			}
		}
	}
	r->modes = (const char *const *)ri->mode_names;
}

/* The condition: parsed and type-checked, errors positioned inside the when: value. */
static void rl_rule_when(struct rules_loader *rl, struct rules_rule_impl *ri,
			 const struct ydoc_node *v, struct ydoc_pos rp)
{
	struct rules_rule *r = &ri->pub;
	const char *id = r->id;
	const struct ydoc_node *n;
	n = ydoc_get(v, "when");
	const char *when = n ? ydoc_scalar(n) : NULL;
	if (!when) {
		rl_error(rl, n ? ydoc_pos_of(n, rp) : rp, id, "every rule needs a when: condition");
		return;
	}
	struct ydoc_pos wp = ydoc_pos_of(n, rp);
	size_t err_off = 0;
	char err[256];
	int rc = rexpr_parse(when, &ri->when, &err_off, err, sizeof(err));
	if (rc == -ENOMEM) {
		rl->oom = true;
		return;
	}
	if (rc < 0) {
		rl_error(rl, rl_offset_pos(rl, n, wp, err_off), id, "%s", err);
		return;
	}
	rl_check_expr(rl, ri->when, n, wp, id);
}

static void rl_rule(struct rules_loader *rl, const struct ydoc_node *v, struct ydoc_pos p)
{
	struct rules_rule_impl *ri = rl_rule_new(rl, v, p);
	if (!ri || !ri->pub.id)
		return;
	struct ydoc_pos rp = ydoc_pos_of(v, p);
	rl_rule_fields(rl, ri, v, rp);
	rl_rule_modes(rl, ri, v, rp);
	rl_rule_when(rl, ri, v, rp);
}

/* ---- tests ---- */

/* One entry of a test's given: COUNTER: N, the counter's value before the event. */
static int rl_given(void *arg, const struct ydoc_node *k, struct ydoc_pos kp,
		    const struct ydoc_node *v, struct ydoc_pos vp)
{
	struct rules_loader *rl = arg;
	struct rules_test *t = &rl->rs->tests[rl->rs->n_tests - 1];
	char buf[96];
	const char *s = ydoc_scalar(v);
	char *end = NULL;
	unsigned long long n = s && *s >= '0' && *s <= '9' ? strtoull(s, &end, 10) : 0;
	if (!end || *end || n > 1000000000ULL) {
		rl_error(rl, vp, t->name,
			 "given.%s: expected a whole number from 0 to 1000000000, got %s", k->text,
			 ydoc_describe(v, buf, sizeof(buf)));
		return 0;
	}
	/* A name is a counter's, spaces aside, or a kind: it must name something. */
	char *name = rl_strdup(rl, k->text);
	if (!name)
		return -ENOMEM;
	size_t w = 0;
	for (size_t i = 0; name[i]; i++)
		if (name[i] != ' ')
			name[w++] = name[i];
	name[w] = '\0';
	bool known = !strcmp(name, "count") || !strcmp(name, "distinct");
	for (size_t i = 0; i < rl->rs->n_counters && !known; i++) {
		const char *c = rl->rs->counters[i].name;
		size_t j = 0, m = 0;
		for (; c[j]; j++) {
			if (c[j] == ' ')
				continue;
			if (c[j] != name[m])
				break;
			m++;
		}
		known = !c[j] && !name[m];
	}
	if (!known) {
		rl_error(rl, kp, t->name,
			 "given.%s: no rule has that counter (give count, distinct or a counter "
			 "as a rule writes it, such as \"count(by: author_id, window: 10m)\")",
			 k->text);
		free(name);
		return 0;
	}
	struct rules_given *g = realloc(t->given, (t->n_given + 1) * sizeof(*g));
	if (!g) {
		free(name);
		rl->oom = true;
		return -ENOMEM;
	}
	t->given = g;
	g[t->n_given++] = (struct rules_given){name, n};
	return 0;
}

static char **rl_name_list(struct rules_loader *rl, const struct ydoc_node *v, struct ydoc_pos p,
			   const char *key, size_t *n)
{
	char buf[96];
	*n = 0;
	if (!ydoc_is_seq(v)) {
		rl_error(rl, ydoc_pos_of(v, p), key, "expected a list, got %s",
			 ydoc_describe(v, buf, sizeof(buf)));
		return NULL;
	}
	char **out = calloc(v->n + 1, sizeof(char *));
	if (!out) {
		rl->oom = true;
		return NULL;
	}
	for (size_t k = 0; k < v->n; k++) {
		const struct ydoc_node *i = v->items[k];
		const char *s = rl_want_string(rl, i, p, key);
		if (s)
			out[(*n)++] = rl_strdup(rl, s);
	}
	return out;
}

static void rl_test(struct rules_loader *rl, const struct ydoc_node *v, struct ydoc_pos p)
{
	char buf[96];
	if (!ydoc_is_map(v)) {
		rl_error(rl, ydoc_pos_of(v, p), "tests", "expected a test mapping, got %s",
			 ydoc_describe(v, buf, sizeof(buf)));
		return;
	}
	struct ydoc_pos tp = ydoc_pos_of(v, p);
	static const char *const keys[] = {"name", "event", "now", "given", "expect", NULL};
	rl_check_keys(rl, v, "a test", keys);
	if (!rl_reserve(rl, (void **)&rl->rs->tests, &rl->cap_tests, rl->rs->n_tests,
			sizeof(struct rules_test)))
		return;
	struct rules_test *t = &rl->rs->tests[rl->rs->n_tests++];
	t->file = (char *)rl->cur->path;
	t->line = tp.line;
	const struct ydoc_node *n = ydoc_get(v, "name");
	const char *name = n ? ydoc_scalar(n) : NULL;
	t->name = rl_strdup(rl, name ? name : "(unnamed)");
	const char *key = t->name;
	if ((n = ydoc_get(v, "now")))
		rl_date(rl, n, tp, key, &t->now_ms);
	if ((n = ydoc_get(v, "given")))
		rl_section(rl, n, tp, key, "a mapping of counters to numbers, such as {count: 19}",
			   rl_given);
	n = ydoc_get(v, "event");
	if (!n || !ydoc_is_map(n)) {
		rl_error(rl, n ? ydoc_pos_of(n, tp) : tp, key,
			 "a test needs event: a mapping with the ContentEvent fields");
	} else {
		json_t *json = ydoc_to_json(n);
		char err[256];
		ProtobufCMessage *m = NULL;
		if (!json) {
			rl->oom = true;
		} else if (pbjson_decode(&arbiter__v1__content_event__descriptor, json, &m, err,
					 sizeof(err)) < 0) {
			rl_error(rl, ydoc_pos_of(n, tp), key, "event: %s", err);
		} else {
			t->event = (Arbiter__V1__ContentEvent *)m;
		}
		json_decref(json);
	}
	const struct ydoc_node *ex = ydoc_get(v, "expect");
	if (!ex || !ydoc_is_map(ex)) {
		rl_error(rl, ex ? ydoc_pos_of(ex, tp) : tp, key,
			 "a test needs expect: {action, escalations, rules, shadow}");
		return;
	}
	static const char *const ekeys[] = {"action", "escalations", "rules", "shadow", NULL};
	rl_check_keys(rl, ex, "expect", ekeys);
	if ((n = ydoc_get(ex, "action"))) {
		const char *a = ydoc_scalar(n);
		int av = a ? rl_enum(&arbiter__v1__action__descriptor, a) : -1;
		if (av <= 0)
			rl_error(rl, ydoc_pos_of(n, tp), key, "expected an action, got %s",
				 ydoc_describe(n, buf, sizeof(buf)));
		t->check_action = true;
		t->action = (Arbiter__V1__Action)av;
	}
	if ((n = ydoc_get(ex, "escalations"))) {
		t->escalations = rl_name_list(rl, n, tp, key, &t->n_escalations);
		t->check_escalations = true;
	}
	if ((n = ydoc_get(ex, "rules"))) {
		t->rules = rl_name_list(rl, n, tp, key, &t->n_rules);
		t->check_rules = true;
	}
	if ((n = ydoc_get(ex, "shadow"))) {
		t->shadow = rl_name_list(rl, n, tp, key, &t->n_shadow);
		t->check_shadow = true;
	}
	char **lists[2] = {t->rules, t->shadow};
	size_t counts[2] = {t->n_rules, t->n_shadow};
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < counts[k]; i++)
			if (lists[k][i] &&
			    !strmap_get(&rl->rule_ids, lists[k][i], strlen(lists[k][i]), NULL))
				rl_error(rl, tp, key, "expect names unknown rule '%s'",
					 lists[k][i]);
}

/* ---- the whole load ---- */

static void rl_apply_mode_switches(struct rules_loader *rl)
{
	rl->cur = NULL;
	for (size_t i = 0; i < rl->cfg->rules.n_modes; i++) {
		const struct config_kv *kv = &rl->cfg->rules.modes[i];
		uint32_t idx;
		if (!strmap_get(&rl->mode_index, kv->key, strlen(kv->key), &idx)) {
			char key[300];
			snprintf(key, sizeof(key), "rules.modes.%s", kv->key);
			rl_error(rl, (struct ydoc_pos){0, 0}, key,
				 "no rule file declares a mode named '%s'", kv->key);
			continue;
		}
		rl->rs->modes[idx].enabled = !strcmp(kv->value, "on");
		EVP_DigestUpdate(rl->sha, kv->key, strlen(kv->key) + 1);
		EVP_DigestUpdate(rl->sha, kv->value, strlen(kv->value) + 1);
	}
}

/* After a YAML error: a plain `when:` value with count(by: ...) is the likely cause, since ': '
 * starts a mapping in YAML. Says how to write it, at each such value. */
static void rl_counter_quote_hint(struct rules_loader *rl, const struct rules_file *f)
{
	int line = 1;
	for (const char *s = f->text; s && *s; line++) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);
		const char *w = memmem(s, n, "when:", 5);
		const char *v = w ? w + 5 : NULL;
		while (v && v < s + n && (*v == ' ' || *v == '\t'))
			v++;
		if (v && v < s + n && !strchr("'\"|>", *v)) {
			const char *c = memmem(v, (size_t)(s + n - v), "count(", 6);
			if (!c)
				c = memmem(v, (size_t)(s + n - v), "distinct(", 9);
			if (c && memmem(c, (size_t)(s + n - c), ": ", 2))
				diag_error(
					rl->errs, f->path, line, (int)(v - s) + 1, NULL,
					"a condition holding ': ' (count(by: ...)) must be quoted "
					"in YAML: write when: \"...\", a block (when: >-), or "
					"by:author_id without the space");
		}
		s = nl ? nl + 1 : NULL;
	}
}

/* Pass 1 for one file: read, digest and parse it; check its top-level keys; its normalise. */
static void rl_read(struct rules_loader *rl, struct rules_file *f, const char *path,
		    bool *norm_seen)
{
	struct ruleset *rs = rl->rs;
	char buf[96];
	char **v = realloc(rs->files, (rs->n_files + 1) * sizeof(*v));
	if (!v || !(v[rs->n_files] = strdup(path))) {
		if (v)
			rs->files = v;
		rl->oom = true;
		return;
	}
	rs->files = v;
	f->path = rs->files[rs->n_files++];
	int r = ydoc_read_file(f->path, RULES_FILE_MAX, &f->text, &f->len);
	if (r < 0) {
		diag_error(rl->errs, f->path, 0, 0, NULL, "cannot read the rule file: %s",
			   strerror(-r));
		return;
	}
	rl_digest_file(rl, f->path, f->text, f->len);
	r = ydoc_load(f->path, f->text, f->len, rl->errs, &f->doc, &f->root);
	if (r == -ENOMEM)
		rl->oom = true;
	if (r == -EINVAL)
		rl_counter_quote_hint(rl, f);
	rl->cur = f;
	if (!f->root)
		return;
	if (!ydoc_is_map(f->root)) {
		rl_error(rl, ydoc_pos_of(f->root, (struct ydoc_pos){1, 1}), NULL,
			 "expected a mapping with lists, modes, rules and tests, got %s",
			 ydoc_describe(f->root, buf, sizeof(buf)));
		f->root = NULL;
		return;
	}
	static const char *const keys[] = {"normalise",  "lists", "banks", "modes",
					   "attributes", "rules", "tests", NULL};
	rl_check_keys(rl, f->root, "a rule file", keys);
	const struct ydoc_node *n = ydoc_get(f->root, "normalise");
	if (n)
		rl_normalise_section(rl, n, (struct ydoc_pos){1, 1}, norm_seen);
}

/* The rules: (TESTS false) or tests: (TESTS true) sequence of file F. */
static void rl_items(struct rules_loader *rl, struct rules_file *f, bool tests)
{
	char buf[96];
	const char *what = tests ? "tests" : "rules";
	rl->cur = f;
	const struct ydoc_node *sec = f->root ? ydoc_get(f->root, what) : NULL;
	if (!sec || ydoc_is_null(sec))
		return;
	if (!ydoc_is_seq(sec)) {
		rl_error(rl, ydoc_pos_of(sec, (struct ydoc_pos){1, 1}), what,
			 "expected a list, got %s", ydoc_describe(sec, buf, sizeof(buf)));
		return;
	}
	for (size_t k = 0; k < sec->n && !rl->oom; k++) {
		if (tests)
			rl_test(rl, sec->items[k], (struct ydoc_pos){1, 1});
		else
			rl_rule(rl, sec->items[k], (struct ydoc_pos){1, 1});
	}
}

/* Reads every file in passes: each pass needs what the one before collected. */
static void rl_read_all(struct rules_loader *rl, struct rules_file *files)
{
	const struct config *cfg = rl->cfg;
	size_t n = cfg->rules.n_files;
	bool norm_seen = false;
	for (size_t i = 0; i < n && !rl->oom; i++)
		rl_read(rl, &files[i], cfg->rules.files[i], &norm_seen);
	/* Lists are normalised with the ruleset's folds, known only now. */
	for (size_t i = 0; i < n && !rl->oom; i++) {
		const struct ydoc_node *sec;
		rl->cur = &files[i];
		if (files[i].root && (sec = ydoc_get(files[i].root, "lists")))
			rl_lists_section(rl, sec, (struct ydoc_pos){1, 1});
		if (files[i].root && (sec = ydoc_get(files[i].root, "banks")))
			rl_section(rl, sec, (struct ydoc_pos){1, 1}, "banks", "a mapping of banks",
				   rl_bank);
		if (files[i].root && (sec = ydoc_get(files[i].root, "modes")))
			rl_modes_section(rl, sec, (struct ydoc_pos){1, 1});
		if (files[i].root && (sec = ydoc_get(files[i].root, "attributes")))
			rl_attributes_section(rl, sec, (struct ydoc_pos){1, 1});
	}
	/* Then rules, then tests: a test names rules of any file. */
	for (size_t i = 0; i < n && !rl->oom; i++)
		rl_items(rl, &files[i], false);
	for (size_t i = 0; i < n && !rl->oom; i++)
		rl_items(rl, &files[i], true);
	rl_apply_mode_switches(rl);
}

static void rl_version(struct rules_loader *rl)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	EVP_DigestFinal_ex(rl->sha, md, &md_len);
	for (unsigned i = 0; i < md_len && i < 32; i++)
		snprintf(rl->rs->version + 2 * i, 3, "%02x", md[i]);
}

int rules_load(const struct config *cfg, struct ruleset **out, struct diag_list *errs)
{
	*out = NULL;
	struct ruleset *rs = calloc(1, sizeof(*rs));
	struct rules_file *files = calloc(cfg->rules.n_files + 1, sizeof(*files));
	struct rules_loader rl = {.cfg = cfg, .rs = rs, .errs = errs};
	size_t n_before = errs->n_errors;
	int rc = 0;
	rl.sha = EVP_MD_CTX_new();
	if (!rs || !files || !rl.sha || !EVP_DigestInit_ex(rl.sha, EVP_sha256(), NULL)) {
		free(rs);
		free(files);
		EVP_MD_CTX_free(rl.sha);
		return -ENOMEM;
	}
	rl_read_all(&rl, files);
	if (rl.oom)
		rc = -ENOMEM;
	else if (errs->n_errors > n_before)
		rc = -EINVAL;
	else
		rc = rules_compile(rs, &rl.regex, cfg->path, errs);
	if (!rc)
		rl_version(&rl);
	for (size_t i = 0; i < cfg->rules.n_files; i++) {
		ydoc_free(files[i].doc);
		free(files[i].text);
	}
	free(files);
	for (size_t i = 0; i < rs->n_regex; i++)
		free(rl.regex.text[i]);
	free(rl.regex.text);
	free(rl.regex.flags);
	strmap_free(&rl.rule_ids);
	strmap_free(&rl.mode_index);
	strmap_free(&rl.attr_types);
	free(rl.attr_decls);
	normalise_buf_free(&rl.nbuf);
	EVP_MD_CTX_free(rl.sha);
	if (rc) {
		rules_free(rs);
		return rc;
	}
	*out = rs;
	return 0;
}

void rules_free(struct ruleset *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->n_rules; i++) {
		struct rules_rule_impl *r = &rs->rules[i];
		free((char *)r->pub.id);
		free((char *)r->pub.description);
		free((char *)r->pub.category);
		free((char *)r->pub.legal_ground);
		free((char *)r->pub.escalate.queue);
		for (size_t m = 0; m < r->n_modes; m++)
			free(r->mode_names[m]);
		free(r->mode_names);
		free(r->modes);
		rexpr_free(r->when);
	}
	free(rs->rules);
	for (size_t i = 0; i < rs->n_lists; i++) {
		free(rs->lists[i].name);
		strmap_free(&rs->lists[i].set);
	}
	free(rs->lists);
	strmap_free(&rs->list_index);
	for (size_t i = 0; i < rs->n_modes; i++) {
		free(rs->modes[i].name);
		for (size_t c = 0; c < rs->modes[i].n_countries; c++)
			free(rs->modes[i].countries[c]);
		free(rs->modes[i].countries);
	}
	free(rs->modes);
	for (size_t i = 0; i < rs->n_tests; i++) {
		struct rules_test *t = &rs->tests[i];
		free(t->name);
		if (t->event)
			protobuf_c_message_free_unpacked(&t->event->base, NULL);
		for (size_t j = 0; j < t->n_given; j++)
			free(t->given[j].name);
		free(t->given);
		char **lists[3] = {t->escalations, t->rules, t->shadow};
		size_t counts[3] = {t->n_escalations, t->n_rules, t->n_shadow};
		for (int k = 0; k < 3; k++) {
			for (size_t j = 0; j < counts[k]; j++)
				free(lists[k][j]);
			free(lists[k]);
		}
	}
	free(rs->tests);
	for (size_t i = 0; i < rs->n_atoms; i++) {
		free(rs->atom_names[i]);
		if (rs->atom_rules)
			free(rs->atom_rules[i]);
	}
	free(rs->atom_names);
	free(rs->atom_rules);
	free(rs->n_atom_rules);
	for (size_t i = 0; i < rs->n_always; i++)
		free(rs->always[i].rules);
	free(rs->always);
	free(rs->conds);
	free(rs->cond_tri);
	rules_banks_free(rs);
	rules_counters_free(rs);
	for (size_t i = 0; i < rs->n_terms; i++)
		free(rs->terms[i].atoms);
	free(rs->terms);
	free(rs->regex_atoms);
	for (size_t i = 0; i < rs->n_term_dbs; i++)
		hs_free_database(rs->term_dbs[i].db);
	free(rs->term_dbs);
	hs_free_database(rs->regex_db);
	for (size_t i = 0; i < rs->n_files; i++)
		free(rs->files[i]);
	free(rs->files);
	free(rs);
}

const char *rules_version(const struct ruleset *rs)
{
	return rs->version;
}

size_t rules_files(const struct ruleset *rs, const char *const **files)
{
	*files = (const char *const *)rs->files;
	return rs->n_files;
}

size_t rules_count(const struct ruleset *rs)
{
	return rs->n_rules;
}

const struct rules_rule *rules_rule(const struct ruleset *rs, size_t i)
{
	return &rs->rules[i].pub;
}

size_t rules_memory(const struct ruleset *rs)
{
	return rs->memory;
}

bool rules_mode_declared(const struct ruleset *rs, const char *name)
{
	for (size_t i = 0; i < rs->n_modes; i++)
		if (!strcmp(rs->modes[i].name, name))
			return true;
	return false;
}
