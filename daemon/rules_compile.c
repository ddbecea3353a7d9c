/* Compiling a checked ruleset: Hyperscan databases of its terms (one per script key) and
 * regexes, the index from what a scan fires to the rules it wakes, and distinct conditions. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rules_impl.h"

int rules_grow(void **v, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 16;
	void *nv = realloc(*v, nc * size);
	if (!nv)
		return -ENOMEM;
	memset((char *)nv + *cap * size, 0, (nc - *cap) * size);
	*v = nv;
	*cap = nc;
	return 0;
}

/* What the compile of one ruleset needs beside it. */
struct rc_state {
	struct ruleset *rs;
	const struct rules_regex_src *regex;
	const char *file;
	struct diag_list *errs;
	struct strmap term_index; /* normalised term -> term index */
	size_t cap_terms;
	char **term_text; /* borrowed from the lists' sets */
};

/* The atoms one of which must fire for E to hold, or none (*always). Picks,
 * for an "and", the child with the fewest triggers. */
static void rc_triggers(const struct rexpr *e, uint32_t **out, size_t *n, bool *always)
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
	rc_triggers(e->a, &a, &na, &aa);
	rc_triggers(e->b, &b, &nb, &ab);
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

/* The script key of a term with script groups SCRIPTS: the groups a text must have for the term's
 * database to be scanned. Any subset of SCRIPTS keeps the scan exact; keeping at most the two
 * rarest groups (the highest bits: Latin and symbols are the lowest) bounds the number of
 * databases and still skips the term for most texts that cannot hold it. */
static uint32_t rc_term_key(uint32_t scripts)
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
static int rc_compile_term_dbs(struct rc_state *rl)
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
		keys[i] = rc_term_key(normalise_scripts(rl->term_text[i], rs->terms[i].len));
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
			diag_error(rl->errs, rl->file, 0, 0, NULL,
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

static int rc_compile_terms(struct rc_state *rl)
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
				if (rules_grow((void **)&rs->terms, &rl->cap_terms, rs->n_terms,
					       sizeof(*rs->terms)) < 0)
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
	return rc_compile_term_dbs(rl);
}

static int rc_compile_regex(struct rc_state *rl)
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
		hs_compile_multi((const char *const *)rl->regex->text, rl->regex->flags, ids,
				 (unsigned)rs->n_regex, HS_MODE_BLOCK, NULL, &rs->regex_db, &cerr);
	free(ids);
	if (herr != HS_SUCCESS) {
		/* Each regex was checked alone; this is a combination limit. */
		diag_error(rl->errs, rl->file, 0, 0, NULL, "cannot compile the regexes: %s",
			   cerr && cerr->message ? cerr->message : "Hyperscan error");
		hs_free_compile_error(cerr);
		return -EINVAL;
	}
	return 0;
}

/* A growing byte string for condition keys. */
struct rc_key {
	char *p;
	size_t n, cap;
	bool oom;
};

static void rc_key_add(struct rc_key *k, const void *s, size_t n)
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
static void rc_key_str(struct rc_key *k, const char *s)
{
	size_t n = s ? strlen(s) + 1 : 0; /* 0: NULL, 1: "" */
	rc_key_add(k, &n, sizeof(n));
	if (s)
		rc_key_add(k, s, n - 1);
}

/* Appends to K everything of the checked tree E that evaluation reads: equal keys, equal
 * conditions. */
static void rc_cond_key(struct rc_key *k, const struct rexpr *e)
{
	int tag = e ? (int)e->kind : -1;
	rc_key_add(k, &tag, sizeof(tag));
	if (!e)
		return;
	int ints[] = {(int)e->field, (int)e->cmp, e->is_num, e->bval,          (int)e->re_flags,
		      (int)e->atom,  e->enum_val, e->within, (int)e->of_field, e->distinct};
	rc_key_add(k, ints, sizeof(ints));
	rc_key_add(k, &e->num, sizeof(e->num));
	rc_key_str(k, e->name);
	rc_key_str(k, e->of_name);
	rc_key_add(k, &e->window_ms, sizeof(e->window_ms));
	rc_key_str(k, e->list);
	rc_key_str(k, e->str);
	rc_key_add(k, &e->n_vals, sizeof(e->n_vals));
	for (size_t i = 0; i < e->n_vals; i++) {
		rc_key_str(k, e->strs ? e->strs[i] : NULL);
		double x = e->nums ? e->nums[i] : 0;
		int v = e->enum_vals ? e->enum_vals[i] : 0;
		rc_key_add(k, &x, sizeof(x));
		rc_key_add(k, &v, sizeof(v));
	}
	rc_cond_key(k, e->a);
	rc_cond_key(k, e->b);
}

/* True when E holds a counter: its condition is evaluated three-valued. The parser bounds
 * the tree's depth, and so this recursion. */
static bool rc_has_counter(const struct rexpr *e)
{
	return e && (e->kind == REX_COUNTER || rc_has_counter(e->a) || rc_has_counter(e->b));
}

static size_t rc_size(const struct rexpr *e)
{
	return e ? 1 + rc_size(e->a) + rc_size(e->b) : 0;
}

/* The largest operand without a counter of E's top-level chain of `and`: it must hold for E to
 * hold, and needs no Redis. NULL when E has none (a counter alone, or under `or`/`not`). */
static const struct rexpr *rc_gate(const struct rexpr *e)
{
	if (!rc_has_counter(e))
		return e;
	if (e->kind != REX_AND)
		return NULL;
	const struct rexpr *a = rc_gate(e->a), *b = rc_gate(e->b);
	return !a ? b : !b ? a : rc_size(a) >= rc_size(b) ? a : b;
}

/* The id of condition E among the distinct ones (SEEN: their keys), added when new. Returns 0
 * or -ENOMEM. */
static int rc_cond_id(struct ruleset *rs, struct strmap *seen, struct rc_key *k,
		      const struct rexpr *e, uint32_t *id)
{
	k->n = 0;
	rc_cond_key(k, e);
	*id = (uint32_t)rs->n_conds;
	int put = k->oom ? -ENOMEM : strmap_put(seen, k->p, k->n, *id, id);
	if (put < 0)
		return -ENOMEM;
	if (put == 1) {
		rs->cond_tri[rs->n_conds] = rc_has_counter(e);
		rs->conds[rs->n_conds++] = e;
	}
	return 0;
}

/* Gives every rule the index of its condition among the distinct ones, and a rule with
 * counters that of its gate. A counter belongs to its rule (its index is in the key), so
 * conditions with counters are never shared; their gates are. */
static int rc_conds(struct rc_state *rl)
{
	struct ruleset *rs = rl->rs;
	struct strmap seen = {0};
	struct rc_key k = {0};
	int rc = 0;
	rs->conds = calloc(2 * rs->n_rules + 1, sizeof(*rs->conds));
	rs->cond_tri = calloc(2 * rs->n_rules + 1, sizeof(*rs->cond_tri));
	if (!rs->conds || !rs->cond_tri)
		return -ENOMEM;
	for (size_t r = 0; r < rs->n_rules && !rc; r++) {
		struct rules_rule_impl *ri = &rs->rules[r];
		rc = rc_cond_id(rs, &seen, &k, ri->when, &ri->cond);
		const struct rexpr *gate = rs->cond_tri[ri->cond] ? rc_gate(ri->when) : NULL;
		ri->gate = UINT32_MAX;
		if (!rc && gate)
			rc = rc_cond_id(rs, &seen, &k, gate, &ri->gate);
	}
	free(k.p);
	strmap_free(&seen);
	return rc;
}

/* Adds rule R, which has no text trigger, to the group of its condition, or of its gate: a
 * rule with counters is a candidate only when its gate holds. */
static int rc_always(struct ruleset *rs, uint32_t r)
{
	struct rules_always *g = NULL;
	uint32_t cond = rs->rules[r].gate != UINT32_MAX ? rs->rules[r].gate : rs->rules[r].cond;
	for (size_t i = 0; i < rs->n_always && !g; i++)
		if (rs->always[i].cond == cond)
			g = &rs->always[i];
	if (!g) {
		g = &rs->always[rs->n_always++];
		g->cond = cond;
	}
	uint32_t *v = realloc(g->rules, (g->n_rules + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	v[g->n_rules++] = r;
	g->rules = v;
	return 0;
}

/* Indexes rules by the atoms that can make them true, and by condition. */
static int rc_index(struct rc_state *rl)
{
	struct ruleset *rs = rl->rs;
	int rc = rc_conds(rl);
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
		rc_triggers(rs->rules[r].when, &trig, &nt, &always);
		if (always) {
			free(trig);
			if (rc_always(rs, (uint32_t)r) < 0)
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

static size_t rc_memory(const struct ruleset *rs)
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
	for (size_t i = 0; i < rs->n_banks; i++)
		m += sizeof(*rs->banks) + hashbank_memory(rs->banks[i].bank);
	for (size_t i = 0; i < rs->n_counters; i++)
		m += sizeof(*rs->counters) + strlen(rs->counters[i].name) + 1;
	m += rs->n_conds * sizeof(*rs->cond_tri);
	return m;
}

int rules_compile(struct ruleset *rs, const struct rules_regex_src *regex, const char *file,
		  struct diag_list *errs)
{
	struct rc_state st = {.rs = rs, .regex = regex, .file = file, .errs = errs};
	int rc = rc_compile_terms(&st);
	if (!rc)
		rc = rc_compile_regex(&st);
	if (!rc)
		rc = rc_index(&st);
	if (!rc)
		rs->memory = rc_memory(rs);
	/* The counters' array no longer moves: their public strings can point into it. */
	for (size_t i = 0; !rc && i < rs->n_counters; i++) {
		rs->counters[i].pub.name = rs->counters[i].name;
		rs->counters[i].pub.id = rs->counters[i].id;
	}
	free(st.term_text);
	strmap_free(&st.term_index);
	return rc;
}
