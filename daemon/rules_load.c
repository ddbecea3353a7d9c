/* Loading and compiling rule files: YAML to a checked ruleset with Hyperscan databases. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "dsa.h"
#include "pbjson.h"
#include "rules_impl.h"
#include "yaml.h"

#define RULES_FILE_MAX (64u << 20) /* a 50,000-term list is a few MiB */

/* One parsed rule file, kept while later passes need its nodes. */
struct rules_file {
	const char *path; /* owned by the ruleset's files */
	char *text;
	size_t len;
	struct yaml_doc *doc;
	struct fy_node *root;
};

struct rules_loader {
	const struct config *cfg;
	struct ruleset *rs;
	struct config_errors *errs;
	struct rules_file *cur;
	EVP_MD_CTX *sha;
	bool oom;
	struct strmap rule_ids;
	struct strmap mode_index;
	size_t cap_rules, cap_lists, cap_modes, cap_tests;
	/* Atoms under construction. */
	size_t cap_atoms;
	struct strmap term_index; /* normalised term -> term index */
	size_t cap_terms;
	char **term_text; /* for the Hyperscan compile */
	char **regex_text;
	unsigned *regex_flags;
	size_t cap_regex;
	struct normalise_buf nbuf;
};

__attribute__((format(printf, 4, 5))) static void
rl_error(struct rules_loader *rl, struct yaml_pos p, const char *key, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	config_errors_add(rl->errs, rl->cur ? rl->cur->path : rl->cfg->path, p.line, p.col, key,
			  "%s", msg);
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
	if (n < *cap)
		return true;
	size_t nc = *cap ? *cap * 2 : 16;
	void *nv = realloc(*v, nc * size);
	if (!nv) {
		rl->oom = true;
		return false;
	}
	memset((char *)nv + *cap * size, 0, (nc - *cap) * size);
	*v = nv;
	*cap = nc;
	return true;
}

static const char *rl_scalar(struct fy_node *n)
{
	if (!n || !fy_node_is_scalar(n) || yaml_node_is_null(n))
		return NULL;
	return fy_node_get_scalar0(n);
}

/* A scalar value, or an error naming KEY and what was expected. */
static const char *rl_want_string(struct rules_loader *rl, struct fy_node *v, struct yaml_pos p,
				  const char *key)
{
	const char *s = rl_scalar(v);
	char buf[96];
	if (!s)
		rl_error(rl, yaml_node_pos(v, p), key, "expected a string, got %s",
			 yaml_describe(v, buf, sizeof(buf)));
	return s;
}

static int rl_want_bool(struct rules_loader *rl, struct fy_node *v, struct yaml_pos p,
			const char *key, bool *out)
{
	const char *s = rl_scalar(v);
	char buf[96];
	if (s && (!strcmp(s, "true") || !strcmp(s, "false"))) {
		*out = s[0] == 't';
		return 0;
	}
	rl_error(rl, yaml_node_pos(v, p), key, "expected true or false, got %s",
		 yaml_describe(v, buf, sizeof(buf)));
	return -EINVAL;
}

/* Checks the keys of mapping MAP against ALLOWED (NULL-terminated). */
static void rl_check_keys(struct rules_loader *rl, struct fy_node *map, const char *what,
			  const char *const *allowed)
{
	void *iter = NULL;
	struct fy_node_pair *pair;
	while ((pair = fy_node_mapping_iterate(map, &iter))) {
		struct fy_node *k = fy_node_pair_key(pair);
		const char *ks = rl_scalar(k);
		if (!ks)
			continue;
		const char *best = NULL;
		int best_d = 3;
		bool ok = false;
		for (const char *const *a = allowed; *a; a++) {
			if (!strcmp(*a, ks))
				ok = true;
			int d = yaml_edit_distance(ks, strlen(ks), *a, strlen(*a));
			if (d < best_d) {
				best_d = d;
				best = *a;
			}
		}
		if (ok)
			continue;
		struct yaml_pos kp = yaml_node_pos(k, (struct yaml_pos){0, 0});
		if (best)
			rl_error(rl, kp, ks, "unknown key '%s' in %s; did you mean '%s'?", ks, what,
				 best);
		else
			rl_error(rl, kp, ks, "unknown key '%s' in %s", ks, what);
	}
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
static struct yaml_pos rl_offset_pos(struct rules_loader *rl, struct fy_node *n, struct yaml_pos p,
				     size_t off)
{
	enum fy_node_style st = fy_node_get_style(n);
	bool block = st == FYNS_LITERAL || st == FYNS_FOLDED;
	bool quoted = st == FYNS_SINGLE_QUOTED || st == FYNS_DOUBLE_QUOTED;
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
			return (struct yaml_pos){ln, (int)(col0 + left) + 1};
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

static void rl_normalise_section(struct rules_loader *rl, struct fy_node *v, struct yaml_pos p,
				 bool *seen)
{
	char buf[96];
	if (!fy_node_is_mapping(v)) {
		rl_error(rl, yaml_node_pos(v, p), "normalise", "expected a mapping, got %s",
			 yaml_describe(v, buf, sizeof(buf)));
		return;
	}
	static const char *const keys[] = {"fold", NULL};
	rl_check_keys(rl, v, "normalise", keys);
	struct fy_node *fold = fy_node_mapping_lookup_by_string(v, "fold", FY_NT);
	struct normalise_opts o = {0};
	if (fold && !fy_node_is_sequence(fold)) {
		rl_error(rl, yaml_node_pos(fold, p), "normalise.fold",
			 "expected a list of folds (leet, homoglyphs), got %s",
			 yaml_describe(fold, buf, sizeof(buf)));
		return;
	}
	void *iter = NULL;
	struct fy_node *item;
	while (fold && (item = fy_node_sequence_iterate(fold, &iter))) {
		const char *s = rl_scalar(item);
		if (s && !strcmp(s, "leet"))
			o.fold_leet = true;
		else if (s && !strcmp(s, "homoglyphs"))
			o.fold_homoglyphs = true;
		else
			rl_error(rl, yaml_node_pos(item, p), "normalise.fold",
				 "expected leet or homoglyphs, got %s",
				 yaml_describe(item, buf, sizeof(buf)));
	}
	if (*seen && (o.fold_leet != rl->rs->norm.fold_leet ||
		      o.fold_homoglyphs != rl->rs->norm.fold_homoglyphs))
		rl_error(rl, yaml_node_pos(v, p), "normalise",
			 "every rule file must normalise the same way: terms and text are "
			 "folded once for the whole ruleset");
	rl->rs->norm = o;
	*seen = true;
}

/* Adds one term (or hash) to list L; reports at P. */
static void rl_list_add(struct rules_loader *rl, struct rules_list *l, const char *term, size_t len,
			struct yaml_pos p, const char *key)
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
			 struct yaml_pos p, const char *key)
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
	int rc = yaml_read_file(resolved, RULES_FILE_MAX, &text, &len);
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
		rl_list_add(rl, l, s, n, (struct yaml_pos){lineno, 1}, key);
		rl->cur = saved;
	}
	free(text);
}

static void rl_lists_section(struct rules_loader *rl, struct fy_node *v, struct yaml_pos p)
{
	char buf[96];
	if (!fy_node_is_mapping(v)) {
		rl_error(rl, yaml_node_pos(v, p), "lists", "expected a mapping of lists, got %s",
			 yaml_describe(v, buf, sizeof(buf)));
		return;
	}
	void *iter = NULL;
	struct fy_node_pair *pair;
	while ((pair = fy_node_mapping_iterate(v, &iter)) && !rl->oom) {
		struct fy_node *k = fy_node_pair_key(pair), *lv = fy_node_pair_value(pair);
		struct yaml_pos kp = yaml_node_pos(k, p);
		const char *name = rl_scalar(k);
		if (!name)
			continue;
		char key[300];
		snprintf(key, sizeof(key), "lists.%s", name);
		uint32_t prev;
		if (strmap_get(&rl->rs->list_index, name, strlen(name), &prev)) {
			const struct rules_list *o = &rl->rs->lists[prev];
			rl_error(rl, kp, key, "list '%s' is already defined at %s:%d:%d", name,
				 o->file, o->line, o->col);
			continue;
		}
		if (!rl_reserve(rl, (void **)&rl->rs->lists, &rl->cap_lists, rl->rs->n_lists,
				sizeof(struct rules_list)))
			return;
		struct rules_list *l = &rl->rs->lists[rl->rs->n_lists];
		l->name = rl_strdup(rl, name);
		l->file = (char *)rl->cur->path;
		l->line = kp.line;
		l->col = kp.col;
		l->atom = UINT32_MAX;
		if (strmap_put(&rl->rs->list_index, name, strlen(name), (uint32_t)rl->rs->n_lists,
			       NULL) < 0)
			rl->oom = true;
		rl->rs->n_lists++;

		struct fy_node *terms = lv;
		if (fy_node_is_mapping(lv)) {
			static const char *const keys[] = {"file", "terms", "kind", NULL};
			rl_check_keys(rl, lv, "a list", keys);
			struct fy_node *kind = fy_node_mapping_lookup_by_string(lv, "kind", FY_NT);
			const char *ks = kind ? rl_scalar(kind) : "terms";
			if (ks && !strcmp(ks, "hashes"))
				l->hashes = true;
			else if (!ks || strcmp(ks, "terms"))
				rl_error(rl, yaml_node_pos(kind, kp), key,
					 "expected kind terms or hashes, got %s",
					 yaml_describe(kind, buf, sizeof(buf)));
			struct fy_node *file = fy_node_mapping_lookup_by_string(lv, "file", FY_NT);
			terms = fy_node_mapping_lookup_by_string(lv, "terms", FY_NT);
			if (file) {
				const char *fs = rl_want_string(rl, file, kp, key);
				if (fs)
					rl_list_file(rl, l, fs, yaml_node_pos(file, kp), key);
			}
			if (!file && !terms) {
				rl_error(rl, kp, key, "a list needs file: or terms:");
				continue;
			}
			if (!terms)
				continue;
		}
		if (!fy_node_is_sequence(terms)) {
			rl_error(rl, yaml_node_pos(terms, kp), key,
				 "expected a list of terms, {file: PATH} or {terms: [...]}, got %s",
				 yaml_describe(terms, buf, sizeof(buf)));
			continue;
		}
		void *ti = NULL;
		struct fy_node *t;
		while ((t = fy_node_sequence_iterate(terms, &ti))) {
			const char *ts = rl_want_string(rl, t, kp, key);
			if (ts)
				rl_list_add(rl, l, ts, strlen(ts), yaml_node_pos(t, kp), key);
		}
	}
}

static int rl_date(struct rules_loader *rl, struct fy_node *v, struct yaml_pos p, const char *key,
		   int64_t *ms)
{
	const char *s = rl_scalar(v);
	char buf[96];
	if (s && rexpr_parse_date(s, strlen(s), ms) == 0)
		return 0;
	rl_error(rl, yaml_node_pos(v, p), key,
		 "expected a date such as 2027-08-01 or 2027-08-01T06:00Z, got %s",
		 yaml_describe(v, buf, sizeof(buf)));
	return -EINVAL;
}

static void rl_modes_section(struct rules_loader *rl, struct fy_node *v, struct yaml_pos p)
{
	char buf[96];
	if (!fy_node_is_mapping(v)) {
		rl_error(rl, yaml_node_pos(v, p), "modes", "expected a mapping of modes, got %s",
			 yaml_describe(v, buf, sizeof(buf)));
		return;
	}
	void *iter = NULL;
	struct fy_node_pair *pair;
	while ((pair = fy_node_mapping_iterate(v, &iter)) && !rl->oom) {
		struct fy_node *k = fy_node_pair_key(pair), *mv = fy_node_pair_value(pair);
		struct yaml_pos kp = yaml_node_pos(k, p);
		const char *name = rl_scalar(k);
		if (!name)
			continue;
		char key[300];
		snprintf(key, sizeof(key), "modes.%s", name);
		uint32_t prev;
		if (strmap_get(&rl->mode_index, name, strlen(name), &prev)) {
			const struct rules_mode *o = &rl->rs->modes[prev];
			rl_error(rl, kp, key, "mode '%s' is already defined at %s:%d:%d", name,
				 o->file, o->line, o->col);
			continue;
		}
		if (!fy_node_is_mapping(mv)) {
			rl_error(rl, yaml_node_pos(mv, kp), key,
				 "expected {countries: [...], from: DATE, until: DATE, enabled: "
				 "BOOL}, got %s",
				 yaml_describe(mv, buf, sizeof(buf)));
			continue;
		}
		static const char *const keys[] = {"countries", "from",        "until",
						   "enabled",   "description", NULL};
		rl_check_keys(rl, mv, "a mode", keys);
		if (!rl_reserve(rl, (void **)&rl->rs->modes, &rl->cap_modes, rl->rs->n_modes,
				sizeof(struct rules_mode)))
			return;
		struct rules_mode *m = &rl->rs->modes[rl->rs->n_modes];
		m->name = rl_strdup(rl, name);
		m->file = (char *)rl->cur->path;
		m->line = kp.line;
		m->col = kp.col;
		m->enabled = true;
		if (strmap_put(&rl->mode_index, name, strlen(name), (uint32_t)rl->rs->n_modes,
			       NULL) < 0)
			rl->oom = true;
		rl->rs->n_modes++;
		struct fy_node *n;
		if ((n = fy_node_mapping_lookup_by_string(mv, "enabled", FY_NT)))
			rl_want_bool(rl, n, kp, key, &m->enabled);
		if ((n = fy_node_mapping_lookup_by_string(mv, "from", FY_NT)))
			rl_date(rl, n, kp, key, &m->from_ms);
		if ((n = fy_node_mapping_lookup_by_string(mv, "until", FY_NT)))
			rl_date(rl, n, kp, key, &m->until_ms);
		if (m->from_ms && m->until_ms && m->until_ms <= m->from_ms)
			rl_error(rl, kp, key, "until must be after from");
		if ((n = fy_node_mapping_lookup_by_string(mv, "countries", FY_NT))) {
			if (!fy_node_is_sequence(n)) {
				rl_error(rl, yaml_node_pos(n, kp), key,
					 "expected a list of ISO 3166-1 alpha-2 codes, got %s",
					 yaml_describe(n, buf, sizeof(buf)));
				continue;
			}
			int cnt = fy_node_sequence_item_count(n);
			m->countries = calloc((size_t)cnt + 1, sizeof(char *));
			if (!m->countries) {
				rl->oom = true;
				return;
			}
			void *ci = NULL;
			struct fy_node *c;
			while ((c = fy_node_sequence_iterate(n, &ci))) {
				const char *cs = rl_scalar(c);
				if (!cs || strlen(cs) != 2 || !isalpha((unsigned char)cs[0]) ||
				    !isalpha((unsigned char)cs[1])) {
					rl_error(rl, yaml_node_pos(c, kp), key,
						 "expected an ISO 3166-1 alpha-2 code such as KE, "
						 "got %s",
						 yaml_describe(c, buf, sizeof(buf)));
					continue;
				}
				char up[3] = {(char)toupper((unsigned char)cs[0]),
					      (char)toupper((unsigned char)cs[1]), 0};
				m->countries[m->n_countries++] = rl_strdup(rl, up);
			}
		}
	}
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

/* Type-checks E and resolves its lists, enums and regexes; reports every
 * error of the tree. */
static void rl_check_expr(struct rules_loader *rl, struct rexpr *e, struct fy_node *n,
			  struct yaml_pos p, const char *key)
{
	if (!e)
		return;
	struct yaml_pos at = rl_offset_pos(rl, n, p, e->off);
	const char *fname = rexpr_field_name(e->field);
	char names[512];
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
	case REX_IN: {
		bool num_field = rexpr_field_is_number(e->field);
		if (e->field == RF_MEDIA) {
			rl_error(rl, at, key, "media takes any_media_in LIST");
			return;
		}
		if (e->kind == REX_CMP && !num_field && e->cmp != RC_EQ && e->cmp != RC_NE) {
			rl_error(rl, at, key, "%s is a string: only == and != compare it", fname);
			return;
		}
		if (e->kind == REX_IN && e->list) {
			uint32_t li;
			struct yaml_pos lp = rl_offset_pos(rl, n, p, e->list_off);
			if (!strmap_get(&rl->rs->list_index, e->list, strlen(e->list), &li)) {
				rl_error(rl, lp, key, "unknown list '%s'", e->list);
				return;
			}
			if (num_field) {
				rl_error(rl, lp, key,
					 "%s is a number: 'in LIST' needs a string field", fname);
				return;
			}
			rl->rs->lists[li].used = true;
			e->atom = li;
			return;
		}
		bool lit_num = e->is_num;
		if (num_field != lit_num) {
			struct yaml_pos lp = rl_offset_pos(rl, n, p, e->lit_off);
			rl_error(rl, e->kind == REX_CMP ? lp : at, key,
				 num_field ?
					 "%s is a number: compare it with a number%s" :
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
			const ProtobufCEnumDescriptor *d =
				e->field == RF_SURFACE ? &arbiter__v1__surface__descriptor :
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
					size_t at_off =
						e->kind == REX_CMP ? e->lit_off : e->val_offs[i];
					rl_error(rl, rl_offset_pos(rl, n, p, at_off), key,
						 "unknown %s \"%s\" (expected one of %s)", fname, s,
						 names);
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
		return;
	}
	case REX_CONTAINS:
	case REX_MEDIA_IN: {
		uint32_t li;
		struct yaml_pos lp = rl_offset_pos(rl, n, p, e->list_off);
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
			rl_error(rl, lp, key,
				 "list '%s' holds media hashes: contains_any needs terms", e->list);
			return;
		}
		if (l->atom == UINT32_MAX)
			l->atom = rl_new_atom(rl, "list", l->name);
		e->atom = l->atom;
		return;
	}
	case REX_MATCHES: {
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
		if (!rl_reserve(rl, (void **)&rl->regex_text, &rl->cap_regex, rs->n_regex,
				sizeof(char *)))
			return;
		size_t cap = rl->cap_regex;
		size_t old = cap / 2 < rs->n_regex ? cap : cap; /* same growth for all three */
		(void)old;
		unsigned *nf = realloc(rl->regex_flags, cap * sizeof(*nf));
		uint32_t *na = realloc(rs->regex_atoms, cap * sizeof(*na));
		if (nf)
			rl->regex_flags = nf;
		if (na)
			rs->regex_atoms = na;
		if (!nf || !na) {
			rl->oom = true;
			return;
		}
		char what[256];
		snprintf(what, sizeof(what), "/%.200s/", e->str);
		e->atom = rl_new_atom(rl, "regex", what);
		rl->regex_text[rs->n_regex] = rl_strdup(rl, e->str);
		rl->regex_flags[rs->n_regex] = flags;
		rs->regex_atoms[rs->n_regex] = e->atom;
		rs->n_regex++;
		return;
	}
	}
}

/* The atoms one of which must fire for E to hold, or none (*always). Picks,
 * for an "and", the child with the fewest triggers. */
static void rl_triggers(const struct rexpr *e, uint32_t **out, size_t *n, bool *always)
{
	*out = NULL;
	*n = 0;
	*always = true;
	if (!e)
		return;
	if (e->kind == REX_CONTAINS || e->kind == REX_MATCHES) {
		*out = malloc(sizeof(uint32_t));
		if (*out) {
			(*out)[0] = e->atom;
			*n = 1;
			*always = false;
		}
		return;
	}
	if (e->kind != REX_AND && e->kind != REX_OR)
		return;
	uint32_t *a, *b;
	size_t na, nb;
	bool aa, ab;
	rl_triggers(e->a, &a, &na, &aa);
	rl_triggers(e->b, &b, &nb, &ab);
	if (e->kind == REX_AND) {
		if (!aa && (ab || na <= nb)) {
			free(b);
			*out = a, *n = na, *always = false;
		} else if (!ab) {
			free(a);
			*out = b, *n = nb, *always = false;
		} else {
			free(a);
			free(b);
		}
		return;
	}
	if (aa || ab) {
		free(a);
		free(b);
		return;
	}
	uint32_t *u = realloc(a, (na + nb) * sizeof(*u));
	if (!u) {
		free(a);
		free(b);
		return;
	}
	memcpy(u + na, b, nb * sizeof(*u));
	free(b);
	*out = u, *n = na + nb, *always = false;
}

static void rl_escalate(struct rules_loader *rl, struct rules_rule *r, struct fy_node *v,
			struct yaml_pos p, const char *key)
{
	char buf[96];
	if (!fy_node_is_mapping(v)) {
		rl_error(rl, yaml_node_pos(v, p), key,
			 "expected {queue: NAME, band: urgent|high|normal|low, sla: DURATION, "
			 "monitors: BOOL}, got %s",
			 yaml_describe(v, buf, sizeof(buf)));
		return;
	}
	static const char *const keys[] = {"queue", "band", "sla", "monitors", NULL};
	rl_check_keys(rl, v, "escalate", keys);
	r->has_escalate = true;
	r->escalate.band = ARBITER__V1__BAND__NORMAL;
	r->escalate.sla_s = 24 * 3600;
	struct fy_node *n = fy_node_mapping_lookup_by_string(v, "queue", FY_NT);
	const char *q = n ? rl_want_string(rl, n, p, key) : NULL;
	if (!n)
		rl_error(rl, yaml_node_pos(v, p), key, "escalate needs a queue");
	r->escalate.queue = q ? rl_strdup(rl, q) : NULL;
	if ((n = fy_node_mapping_lookup_by_string(v, "band", FY_NT))) {
		const char *b = rl_scalar(n);
		int bv = b ? rl_enum(&arbiter__v1__band__descriptor, b) : -1;
		if (bv <= 0)
			rl_error(rl, yaml_node_pos(n, p), key,
				 "expected a band: urgent, high, normal or low, got %s",
				 yaml_describe(n, buf, sizeof(buf)));
		else
			r->escalate.band = (Arbiter__V1__Band)bv;
	}
	if ((n = fy_node_mapping_lookup_by_string(v, "sla", FY_NT))) {
		const char *s = rl_scalar(n);
		int64_t ms;
		bool unit = s && *s && strspn(s, "0123456789") != strlen(s);
		if (!unit || config_parse_duration(s, &ms) < 0 || ms < 1000 ||
		    ms > 365LL * 86400000)
			rl_error(rl, yaml_node_pos(n, p), key,
				 "expected an SLA with a unit, such as 30m, 4h or 2d (1s to 365d), "
				 "got %s",
				 yaml_describe(n, buf, sizeof(buf)));
		else
			r->escalate.sla_s = (uint32_t)(ms / 1000);
	}
	if ((n = fy_node_mapping_lookup_by_string(v, "monitors", FY_NT)))
		rl_want_bool(rl, n, p, key, &r->escalate.monitors);
}

static void rl_rule(struct rules_loader *rl, struct fy_node *v, struct yaml_pos p)
{
	char buf[96];
	if (!fy_node_is_mapping(v)) {
		rl_error(rl, yaml_node_pos(v, p), "rules", "expected a rule mapping, got %s",
			 yaml_describe(v, buf, sizeof(buf)));
		return;
	}
	struct yaml_pos rp = yaml_node_pos(v, p);
	static const char *const keys[] = {"id",       "description", "when",   "action",
					   "escalate", "category",    "ground", "legal_ground",
					   "shadow",   "modes",       NULL};
	rl_check_keys(rl, v, "a rule", keys);
	struct fy_node *idn = fy_node_mapping_lookup_by_string(v, "id", FY_NT);
	const char *id = idn ? rl_scalar(idn) : NULL;
	if (!id) {
		rl_error(rl, rp, "rules", "every rule needs an id");
		return;
	}
	struct yaml_pos ip = yaml_node_pos(idn, rp);
	for (const char *c = id; *c; c++) {
		if (!isalnum((unsigned char)*c) && *c != '.' && *c != '_' && *c != '-') {
			rl_error(rl, ip, id, "rule ids use letters, digits, '.', '_' and '-' only");
			return;
		}
	}
	uint32_t prev;
	if (strmap_get(&rl->rule_ids, id, strlen(id), &prev)) {
		const struct rules_rule *o = &rl->rs->rules[prev].pub;
		rl_error(rl, ip, id, "duplicate rule id '%s' (first defined at %s:%d)", id, o->file,
			 o->line);
		return;
	}
	if (!rl_reserve(rl, (void **)&rl->rs->rules, &rl->cap_rules, rl->rs->n_rules,
			sizeof(struct rules_rule_impl)))
		return;
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

	struct fy_node *n;
	if ((n = fy_node_mapping_lookup_by_string(v, "description", FY_NT))) {
		const char *d = rl_want_string(rl, n, rp, id);
		r->description = d ? rl_strdup(rl, d) : NULL;
	}
	if ((n = fy_node_mapping_lookup_by_string(v, "action", FY_NT))) {
		const char *a = rl_scalar(n);
		int av = a ? rl_enum(&arbiter__v1__action__descriptor, a) : -1;
		if (av <= 0 || av == ARBITER__V1__ACTION__RESTORE) {
			char names[512];
			rl_enum_names(&arbiter__v1__action__descriptor, names, sizeof(names));
			char *restore = strstr(names, ", restore");
			if (restore)
				*restore = '\0';
			rl_error(rl, yaml_node_pos(n, rp), id, "expected an action (%s), got %s",
				 names, yaml_describe(n, buf, sizeof(buf)));
		} else {
			r->action = (Arbiter__V1__Action)av;
		}
	}
	if ((n = fy_node_mapping_lookup_by_string(v, "escalate", FY_NT)))
		rl_escalate(rl, r, n, rp, id);
	if ((n = fy_node_mapping_lookup_by_string(v, "category", FY_NT))) {
		const char *c = rl_scalar(n);
		if (!c || !dsa_category_valid(c))
			rl_error(rl, yaml_node_pos(n, rp), id,
				 "expected a DSA category such as STATEMENT_CATEGORY_VIOLENCE "
				 "(docs/rules.md lists them), got %s",
				 yaml_describe(n, buf, sizeof(buf)));
		else
			r->category = rl_strdup(rl, c);
	}
	if ((n = fy_node_mapping_lookup_by_string(v, "ground", FY_NT))) {
		const char *g = rl_scalar(n);
		int gv = g ? rl_enum(&arbiter__v1__ground__descriptor, g) : -1;
		if (gv <= 0)
			rl_error(rl, yaml_node_pos(n, rp), id,
				 "expected ILLEGAL_CONTENT or INCOMPATIBLE_CONTENT, got %s",
				 yaml_describe(n, buf, sizeof(buf)));
		else
			r->ground = (Arbiter__V1__Ground)gv;
	}
	if ((n = fy_node_mapping_lookup_by_string(v, "legal_ground", FY_NT))) {
		const char *g = rl_want_string(rl, n, rp, id);
		r->legal_ground = g ? rl_strdup(rl, g) : NULL;
	}
	if ((n = fy_node_mapping_lookup_by_string(v, "shadow", FY_NT)))
		rl_want_bool(rl, n, rp, id, &r->shadow);
	/* Only when neither key is there: a malformed one has its own error. */
	if (r->action == ARBITER__V1__ACTION__NONE && !r->has_escalate && !r->shadow &&
	    !fy_node_mapping_lookup_by_string(v, "action", FY_NT) &&
	    !fy_node_mapping_lookup_by_string(v, "escalate", FY_NT))
		rl_error(rl, rp, id,
			 "rule '%s' neither acts nor escalates: give it an action, "
			 "an escalate, or mark it shadow",
			 id);
	if ((n = fy_node_mapping_lookup_by_string(v, "modes", FY_NT))) {
		if (!fy_node_is_sequence(n)) {
			rl_error(rl, yaml_node_pos(n, rp), id,
				 "expected a list of mode names, got %s",
				 yaml_describe(n, buf, sizeof(buf)));
		} else {
			int cnt = fy_node_sequence_item_count(n);
			ri->modes = calloc((size_t)cnt + 1, sizeof(uint32_t));
			ri->mode_names = calloc((size_t)cnt + 1, sizeof(char *));
			if (!ri->modes || !ri->mode_names) {
				rl->oom = true;
				return;
			}
			void *mi = NULL;
			struct fy_node *m;
			while ((m = fy_node_sequence_iterate(n, &mi))) {
				const char *ms = rl_scalar(m);
				uint32_t idx;
				if (!ms || !strmap_get(&rl->mode_index, ms, strlen(ms), &idx)) {
					rl_error(rl, yaml_node_pos(m, rp), id, "unknown mode %s",
						 yaml_describe(m, buf, sizeof(buf)));
					continue;
				}
				ri->mode_names[ri->n_modes] = rl_strdup(rl, ms);
				ri->modes[ri->n_modes++] = idx;
			}
		}
	}
	r->modes = (const char *const *)ri->mode_names;

	n = fy_node_mapping_lookup_by_string(v, "when", FY_NT);
	const char *when = n ? rl_scalar(n) : NULL;
	if (!when) {
		rl_error(rl, n ? yaml_node_pos(n, rp) : rp, id,
			 "every rule needs a when: condition");
		return;
	}
	struct yaml_pos wp = yaml_node_pos(n, rp);
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

/* ---- tests ---- */

static char **rl_name_list(struct rules_loader *rl, struct fy_node *v, struct yaml_pos p,
			   const char *key, size_t *n)
{
	char buf[96];
	*n = 0;
	if (!fy_node_is_sequence(v)) {
		rl_error(rl, yaml_node_pos(v, p), key, "expected a list, got %s",
			 yaml_describe(v, buf, sizeof(buf)));
		return NULL;
	}
	char **out = calloc((size_t)fy_node_sequence_item_count(v) + 1, sizeof(char *));
	if (!out) {
		rl->oom = true;
		return NULL;
	}
	void *it = NULL;
	struct fy_node *i;
	while ((i = fy_node_sequence_iterate(v, &it))) {
		const char *s = rl_want_string(rl, i, p, key);
		if (s)
			out[(*n)++] = rl_strdup(rl, s);
	}
	return out;
}

static void rl_test(struct rules_loader *rl, struct fy_node *v, struct yaml_pos p)
{
	char buf[96];
	if (!fy_node_is_mapping(v)) {
		rl_error(rl, yaml_node_pos(v, p), "tests", "expected a test mapping, got %s",
			 yaml_describe(v, buf, sizeof(buf)));
		return;
	}
	struct yaml_pos tp = yaml_node_pos(v, p);
	static const char *const keys[] = {"name", "event", "now", "expect", NULL};
	rl_check_keys(rl, v, "a test", keys);
	if (!rl_reserve(rl, (void **)&rl->rs->tests, &rl->cap_tests, rl->rs->n_tests,
			sizeof(struct rules_test)))
		return;
	struct rules_test *t = &rl->rs->tests[rl->rs->n_tests++];
	t->file = (char *)rl->cur->path;
	t->line = tp.line;
	struct fy_node *n = fy_node_mapping_lookup_by_string(v, "name", FY_NT);
	const char *name = n ? rl_scalar(n) : NULL;
	t->name = rl_strdup(rl, name ? name : "(unnamed)");
	const char *key = t->name;
	if ((n = fy_node_mapping_lookup_by_string(v, "now", FY_NT)))
		rl_date(rl, n, tp, key, &t->now_ms);
	n = fy_node_mapping_lookup_by_string(v, "event", FY_NT);
	if (!n || !fy_node_is_mapping(n)) {
		rl_error(rl, n ? yaml_node_pos(n, tp) : tp, key,
			 "a test needs event: a mapping with the ContentEvent fields");
	} else {
		char *json = fy_emit_node_to_string(n, FYECF_MODE_JSON_ONELINE |
							       FYECF_NO_ENDING_NEWLINE);
		char err[256];
		ProtobufCMessage *m = NULL;
		if (!json) {
			rl->oom = true;
		} else if (pbjson_decode_text(&arbiter__v1__content_event__descriptor, json,
					      strlen(json), &m, err, sizeof(err)) < 0) {
			rl_error(rl, yaml_node_pos(n, tp), key, "event: %s", err);
		} else {
			t->event = (Arbiter__V1__ContentEvent *)m;
		}
		free(json);
	}
	struct fy_node *ex = fy_node_mapping_lookup_by_string(v, "expect", FY_NT);
	if (!ex || !fy_node_is_mapping(ex)) {
		rl_error(rl, ex ? yaml_node_pos(ex, tp) : tp, key,
			 "a test needs expect: {action, escalations, rules, shadow}");
		return;
	}
	static const char *const ekeys[] = {"action", "escalations", "rules", "shadow", NULL};
	rl_check_keys(rl, ex, "expect", ekeys);
	if ((n = fy_node_mapping_lookup_by_string(ex, "action", FY_NT))) {
		const char *a = rl_scalar(n);
		int av = a ? rl_enum(&arbiter__v1__action__descriptor, a) : -1;
		if (av <= 0)
			rl_error(rl, yaml_node_pos(n, tp), key, "expected an action, got %s",
				 yaml_describe(n, buf, sizeof(buf)));
		t->check_action = true;
		t->action = (Arbiter__V1__Action)av;
	}
	if ((n = fy_node_mapping_lookup_by_string(ex, "escalations", FY_NT))) {
		t->escalations = rl_name_list(rl, n, tp, key, &t->n_escalations);
		t->check_escalations = true;
	}
	if ((n = fy_node_mapping_lookup_by_string(ex, "rules", FY_NT))) {
		t->rules = rl_name_list(rl, n, tp, key, &t->n_rules);
		t->check_rules = true;
	}
	if ((n = fy_node_mapping_lookup_by_string(ex, "shadow", FY_NT))) {
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

/* ---- compiling the scan ---- */

/* The script key of a term with script groups SCRIPTS: the groups a text must have for the term's
 * database to be scanned. Any subset of SCRIPTS keeps the scan exact; keeping at most the two
 * rarest groups (the highest bits: Latin and symbols are the lowest) bounds the number of
 * databases and still skips the term for most texts that cannot hold it. */
static uint32_t rl_term_key(uint32_t scripts)
{
	uint32_t key = 0;
	for (int k = 0; k < 2 && scripts; k++) {
		uint32_t top = 1u << (31 - __builtin_clz(scripts));
		key |= top;
		scripts &= ~top;
	}
	return key;
}

/* Compiles one literal database per script key, each holding the terms with that key. */
static int rl_compile_term_dbs(struct rules_loader *rl)
{
	struct ruleset *rs = rl->rs;
	uint32_t *keys = calloc(rs->n_terms, sizeof(*keys));
	unsigned *flags = calloc(rs->n_terms, sizeof(*flags));
	unsigned *ids = calloc(rs->n_terms, sizeof(*ids));
	size_t *lens = calloc(rs->n_terms, sizeof(*lens));
	const char **text = calloc(rs->n_terms, sizeof(*text));
	int rc = 0;
	if (!keys || !flags || !ids || !lens || !text) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < rs->n_terms; i++)
		keys[i] = rl_term_key(normalise_scripts(rl->term_text[i], rs->terms[i].len));
	/* Keys in order of first use, so that databases come out the same for the same files. */
	for (size_t i = 0; i < rs->n_terms; i++) {
		bool seen = false;
		for (size_t d = 0; d < rs->n_term_dbs && !seen; d++)
			seen = rs->term_dbs[d].scripts == keys[i];
		if (seen)
			continue;
		struct rules_term_db *dbs =
			realloc(rs->term_dbs, (rs->n_term_dbs + 1) * sizeof(*dbs));
		if (!dbs) {
			rc = -ENOMEM;
			goto out;
		}
		rs->term_dbs = dbs;
		dbs[rs->n_term_dbs++] = (struct rules_term_db){.scripts = keys[i]};
	}
	for (size_t d = 0; d < rs->n_term_dbs; d++) {
		struct rules_term_db *db = &rs->term_dbs[d];
		size_t n = 0;
		for (size_t i = 0; i < rs->n_terms; i++) {
			if (keys[i] != db->scripts)
				continue;
			ids[n] = (unsigned)i;
			lens[n] = rs->terms[i].len;
			text[n++] = rl->term_text[i];
		}
		db->n_terms = n;
		hs_compile_error_t *cerr = NULL;
		if (hs_compile_lit_multi(text, flags, ids, lens, (unsigned)n, HS_MODE_BLOCK, NULL,
					 &db->db, &cerr) != HS_SUCCESS) {
			rl_error(rl, (struct yaml_pos){0, 0}, NULL,
				 "cannot compile the term lists: %s",
				 cerr && cerr->message ? cerr->message : "Hyperscan error");
			hs_free_compile_error(cerr);
			rc = -EINVAL;
			goto out;
		}
	}
out:
	free(keys);
	free(flags);
	free(ids);
	free(lens);
	free(text);
	return rc;
}

static int rl_compile_terms(struct rules_loader *rl)
{
	struct ruleset *rs = rl->rs;
	/* Each distinct term once, with the atoms of every list holding it. */
	for (size_t li = 0; li < rs->n_lists; li++) {
		struct rules_list *l = &rs->lists[li];
		if (l->atom == UINT32_MAX)
			continue;
		for (size_t i = 0; l->set.mask && i <= l->set.mask; i++) {
			if (!l->set.keys[i])
				continue;
			uint32_t ti;
			int put = strmap_put(&rl->term_index, l->set.keys[i], l->set.lens[i],
					     (uint32_t)rs->n_terms, &ti);
			if (put < 0)
				return -ENOMEM;
			if (put == 1) {
				if (!rl_reserve(rl, (void **)&rs->terms, &rl->cap_terms,
						rs->n_terms, sizeof(*rs->terms)))
					return -ENOMEM;
				char **tt = realloc(rl->term_text, rl->cap_terms * sizeof(char *));
				if (!tt)
					return -ENOMEM;
				rl->term_text = tt;
				ti = (uint32_t)rs->n_terms++;
				rs->terms[ti].len = (uint32_t)l->set.lens[i];
				rl->term_text[ti] = l->set.keys[i];
			}
			struct rules_term *t = &rs->terms[ti];
			uint32_t *a = realloc(t->atoms, (t->n_atoms + 1) * sizeof(*a));
			if (!a)
				return -ENOMEM;
			t->atoms = a;
			a[t->n_atoms++] = l->atom;
		}
	}
	if (!rs->n_terms)
		return 0;
	return rl_compile_term_dbs(rl);
}

static int rl_compile_regex(struct rules_loader *rl)
{
	struct ruleset *rs = rl->rs;
	if (!rs->n_regex)
		return 0;
	unsigned *ids = calloc(rs->n_regex, sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	for (size_t i = 0; i < rs->n_regex; i++)
		ids[i] = (unsigned)i;
	hs_compile_error_t *cerr = NULL;
	hs_error_t herr =
		hs_compile_multi((const char *const *)rl->regex_text, rl->regex_flags, ids,
				 (unsigned)rs->n_regex, HS_MODE_BLOCK, NULL, &rs->regex_db, &cerr);
	free(ids);
	if (herr != HS_SUCCESS) {
		/* Each regex was checked alone; this is a combination limit. */
		rl_error(rl, (struct yaml_pos){0, 0}, NULL, "cannot compile the regexes: %s",
			 cerr && cerr->message ? cerr->message : "Hyperscan error");
		hs_free_compile_error(cerr);
		return -EINVAL;
	}
	return 0;
}

/* A growing byte string for condition keys. */
struct rl_key {
	char *p;
	size_t n, cap;
	bool oom;
};

static void rl_key_add(struct rl_key *k, const void *s, size_t n)
{
	if (k->oom)
		return;
	if (k->n + n > k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 256;
		while (cap < k->n + n)
			cap *= 2;
		char *p = realloc(k->p, cap);
		if (!p) {
			k->oom = true;
			return;
		}
		k->p = p;
		k->cap = cap;
	}
	memcpy(k->p + k->n, s, n);
	k->n += n;
}

/* Strings go in with their length, so that no two trees give one key. */
static void rl_key_str(struct rl_key *k, const char *s)
{
	size_t n = s ? strlen(s) + 1 : 0; /* 0: NULL, 1: "" */
	rl_key_add(k, &n, sizeof(n));
	if (s)
		rl_key_add(k, s, n - 1);
}

/* Appends to K everything of the checked tree E that evaluation reads: equal keys, equal
 * conditions. */
static void rl_cond_key(struct rl_key *k, const struct rexpr *e)
{
	int tag = e ? (int)e->kind : -1;
	rl_key_add(k, &tag, sizeof(tag));
	if (!e)
		return;
	int ints[] = {(int)e->field,    (int)e->cmp,  e->is_num,  e->bval,
		      (int)e->re_flags, (int)e->atom, e->enum_val};
	rl_key_add(k, ints, sizeof(ints));
	rl_key_add(k, &e->num, sizeof(e->num));
	rl_key_str(k, e->name);
	rl_key_str(k, e->list);
	rl_key_str(k, e->str);
	rl_key_add(k, &e->n_vals, sizeof(e->n_vals));
	for (size_t i = 0; i < e->n_vals; i++) {
		rl_key_str(k, e->strs ? e->strs[i] : NULL);
		double x = e->nums ? e->nums[i] : 0;
		int v = e->enum_vals ? e->enum_vals[i] : 0;
		rl_key_add(k, &x, sizeof(x));
		rl_key_add(k, &v, sizeof(v));
	}
	rl_cond_key(k, e->a);
	rl_cond_key(k, e->b);
}

/* Gives every rule the index of its condition among the distinct ones. */
static int rl_conds(struct rules_loader *rl)
{
	struct ruleset *rs = rl->rs;
	struct strmap seen = {0};
	struct rl_key k = {0};
	int rc = 0;
	rs->conds = calloc(rs->n_rules + 1, sizeof(*rs->conds));
	if (!rs->conds)
		return -ENOMEM;
	for (size_t r = 0; r < rs->n_rules && !rc; r++) {
		k.n = 0;
		rl_cond_key(&k, rs->rules[r].when);
		uint32_t id = (uint32_t)rs->n_conds;
		int put = k.oom ? -ENOMEM : strmap_put(&seen, k.p, k.n, id, &id);
		if (put < 0)
			rc = -ENOMEM;
		else if (put == 1)
			rs->conds[rs->n_conds++] = rs->rules[r].when;
		rs->rules[r].cond = id;
	}
	free(k.p);
	strmap_free(&seen);
	return rc;
}

/* Adds rule R, which has no text trigger, to the group of its condition. */
static int rl_always(struct ruleset *rs, uint32_t r)
{
	struct rules_always *g = NULL;
	for (size_t i = 0; i < rs->n_always && !g; i++)
		if (rs->always[i].cond == rs->rules[r].cond)
			g = &rs->always[i];
	if (!g) {
		g = &rs->always[rs->n_always++];
		g->cond = rs->rules[r].cond;
	}
	uint32_t *v = realloc(g->rules, (g->n_rules + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	v[g->n_rules++] = r;
	g->rules = v;
	return 0;
}

/* Indexes rules by the atoms that can make them true, and by condition. */
static int rl_index(struct rules_loader *rl)
{
	struct ruleset *rs = rl->rs;
	int rc = rl_conds(rl);
	if (rc)
		return rc;
	rs->atom_rules = calloc(rs->n_atoms + 1, sizeof(*rs->atom_rules));
	rs->n_atom_rules = calloc(rs->n_atoms + 1, sizeof(*rs->n_atom_rules));
	rs->always = calloc(rs->n_rules + 1, sizeof(*rs->always));
	if (!rs->atom_rules || !rs->n_atom_rules || !rs->always)
		return -ENOMEM;
	for (size_t r = 0; r < rs->n_rules; r++) {
		uint32_t *trig;
		size_t nt;
		bool always;
		rl_triggers(rs->rules[r].when, &trig, &nt, &always);
		if (always) {
			free(trig);
			if (rl_always(rs, (uint32_t)r) < 0)
				return -ENOMEM;
			continue;
		}
		for (size_t i = 0; i < nt; i++) {
			uint32_t a = trig[i];
			uint32_t *v =
				realloc(rs->atom_rules[a], (rs->n_atom_rules[a] + 1) * sizeof(*v));
			if (!v) {
				free(trig);
				return -ENOMEM;
			}
			v[rs->n_atom_rules[a]++] = (uint32_t)r;
			rs->atom_rules[a] = v;
		}
		free(trig);
	}
	return 0;
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
			rl_error(rl, (struct yaml_pos){0, 0}, key,
				 "no rule file declares a mode named '%s'", kv->key);
			continue;
		}
		rl->rs->modes[idx].enabled = !strcmp(kv->value, "on");
		EVP_DigestUpdate(rl->sha, kv->key, strlen(kv->key) + 1);
		EVP_DigestUpdate(rl->sha, kv->value, strlen(kv->value) + 1);
	}
}

static size_t rl_memory(const struct ruleset *rs)
{
	size_t m = sizeof(*rs) + rs->n_rules * sizeof(*rs->rules) +
		   rs->n_lists * sizeof(*rs->lists) + rs->n_terms * sizeof(*rs->terms);
	size_t db = 0;
	for (size_t i = 0; i < rs->n_term_dbs; i++)
		if (hs_database_size(rs->term_dbs[i].db, &db) == HS_SUCCESS)
			m += db;
	if (rs->regex_db && hs_database_size(rs->regex_db, &db) == HS_SUCCESS)
		m += db;
	for (size_t i = 0; i < rs->n_lists; i++)
		m += strmap_memory(&rs->lists[i].set);
	for (size_t i = 0; i < rs->n_terms; i++)
		m += rs->terms[i].n_atoms * sizeof(uint32_t);
	m += rs->n_conds * sizeof(*rs->conds) + rs->n_always * sizeof(*rs->always);
	for (size_t i = 0; i < rs->n_always; i++)
		m += rs->always[i].n_rules * sizeof(uint32_t);
	for (size_t i = 0; i < rs->n_atoms; i++)
		m += rs->n_atom_rules[i] * sizeof(uint32_t) + strlen(rs->atom_names[i]) + 1;
	return m;
}

int rules_load(const struct config *cfg, struct ruleset **out, struct config_errors *errs)
{
	*out = NULL;
	struct ruleset *rs = calloc(1, sizeof(*rs));
	struct rules_file *files = calloc(cfg->rules.n_files + 1, sizeof(*files));
	struct rules_loader rl = {.cfg = cfg, .rs = rs, .errs = errs};
	size_t n_before = errs->n;
	int rc = 0;
	rl.sha = EVP_MD_CTX_new();
	if (!rs || !files || !rl.sha || !EVP_DigestInit_ex(rl.sha, EVP_sha256(), NULL)) {
		free(rs);
		free(files);
		EVP_MD_CTX_free(rl.sha);
		return -ENOMEM;
	}

	/* Pass 1: read and parse every file; normalise, lists and modes. */
	bool norm_seen = false;
	for (size_t i = 0; i < cfg->rules.n_files && !rl.oom; i++) {
		struct rules_file *f = &files[i];
		char **v = realloc(rs->files, (rs->n_files + 1) * sizeof(*v));
		if (!v || !(v[rs->n_files] = strdup(cfg->rules.files[i]))) {
			if (v)
				rs->files = v;
			rl.oom = true;
			break;
		}
		rs->files = v;
		f->path = rs->files[rs->n_files++];
		int r = yaml_read_file(f->path, RULES_FILE_MAX, &f->text, &f->len);
		if (r < 0) {
			config_errors_add(errs, f->path, 0, 0, NULL,
					  "cannot read the rule file: %s", strerror(-r));
			continue;
		}
		rl_digest_file(&rl, f->path, f->text, f->len);
		r = yaml_doc_load(f->path, f->text, f->len, errs, &f->doc, &f->root);
		if (r == -ENOMEM)
			rl.oom = true;
		rl.cur = f;
		char buf[96];
		if (!f->root)
			continue;
		if (!fy_node_is_mapping(f->root)) {
			rl_error(&rl, yaml_node_pos(f->root, (struct yaml_pos){1, 1}), NULL,
				 "expected a mapping with lists, modes, rules and tests, got %s",
				 yaml_describe(f->root, buf, sizeof(buf)));
			f->root = NULL;
			continue;
		}
		static const char *const keys[] = {"normalise", "lists", "modes",
						   "rules",     "tests", NULL};
		rl_check_keys(&rl, f->root, "a rule file", keys);
		struct fy_node *n;
		struct yaml_pos top = {1, 1};
		if ((n = fy_node_mapping_lookup_by_string(f->root, "normalise", FY_NT)))
			rl_normalise_section(&rl, n, top, &norm_seen);
	}
	/* Lists are normalised with the ruleset's folds, known only now. */
	for (size_t i = 0; i < cfg->rules.n_files && !rl.oom; i++) {
		struct fy_node *n;
		rl.cur = &files[i];
		if (files[i].root &&
		    (n = fy_node_mapping_lookup_by_string(files[i].root, "lists", FY_NT)))
			rl_lists_section(&rl, n, (struct yaml_pos){1, 1});
		if (files[i].root &&
		    (n = fy_node_mapping_lookup_by_string(files[i].root, "modes", FY_NT)))
			rl_modes_section(&rl, n, (struct yaml_pos){1, 1});
	}
	/* Pass 2: rules; pass 3: tests (they name rules of any file). */
	for (int pass = 0; pass < 2 && !rl.oom; pass++) {
		for (size_t i = 0; i < cfg->rules.n_files && !rl.oom; i++) {
			rl.cur = &files[i];
			struct fy_node *sec =
				files[i].root ?
					fy_node_mapping_lookup_by_string(
						files[i].root, pass ? "tests" : "rules", FY_NT) :
					NULL;
			if (!sec || yaml_node_is_null(sec))
				continue;
			char buf[96];
			if (!fy_node_is_sequence(sec)) {
				rl_error(&rl, yaml_node_pos(sec, (struct yaml_pos){1, 1}),
					 pass ? "tests" : "rules", "expected a list, got %s",
					 yaml_describe(sec, buf, sizeof(buf)));
				continue;
			}
			void *it = NULL;
			struct fy_node *item;
			while ((item = fy_node_sequence_iterate(sec, &it)) && !rl.oom) {
				if (pass)
					rl_test(&rl, item, (struct yaml_pos){1, 1});
				else
					rl_rule(&rl, item, (struct yaml_pos){1, 1});
			}
		}
	}
	rl_apply_mode_switches(&rl);
	if (rl.oom) {
		rc = -ENOMEM;
		goto out;
	}
	if (errs->n > n_before) {
		rc = -EINVAL;
		goto out;
	}
	rc = rl_compile_terms(&rl);
	if (!rc)
		rc = rl_compile_regex(&rl);
	if (!rc)
		rc = rl_index(&rl);
	if (rc)
		goto out;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	EVP_DigestFinal_ex(rl.sha, md, &md_len);
	for (unsigned i = 0; i < md_len && i < 32; i++)
		snprintf(rs->version + 2 * i, 3, "%02x", md[i]);
	rs->memory = rl_memory(rs);
out:
	for (size_t i = 0; files && i < cfg->rules.n_files; i++) {
		yaml_doc_free(files[i].doc);
		free(files[i].text);
	}
	free(files);
	for (size_t i = 0; i < rs->n_regex; i++)
		free(rl.regex_text[i]);
	free(rl.regex_text);
	free(rl.regex_flags);
	free(rl.term_text);
	strmap_free(&rl.rule_ids);
	strmap_free(&rl.mode_index);
	strmap_free(&rl.term_index);
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
