/* Evaluating a ruleset: one normalisation per event, scans of the terms its scripts allow and of
 * the regexes, then only the rules those matches can make true; conditions with counters in two
 * phases (unknown, then given). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules_impl.h"

struct rules_ctx {
	const struct ruleset *rs;
	hs_scratch_t *scratch;
	struct normalise_buf text; /* the event's text, normalised */
	struct normalise_buf tmp;  /* a field value, normalised for `in LIST` */
	uint32_t gen;              /* this event's generation: no clearing per event */
	uint32_t *atom_gen;
	uint32_t *term_gen;
	uint32_t *cond_gen; /* conditions evaluated this event */
	uint8_t *cond_val;  /* and their values: RV_FALSE, RV_TRUE, RV_UNKNOWN */
	uint32_t *fired;    /* atoms fired this event */
	size_t n_fired;
	uint64_t *cand; /* candidate rules, a bit each */
	size_t n_words;
	uint32_t *matched, *shadow;
	struct rules_verdict_escalation *esc;
	const char **evidence;
	const char **modes;
	int8_t *mode_on; /* per mode, for this event */
	struct rules_verdict v;
	const Arbiter__V1__ContentEvent *ev;
	int64_t when_ms;
	int64_t now_ms;
	uint32_t text_gen; /* TEXT holds this event's normalised text */
	/* Counters. Phase 1 (RULES_PHASE_BEGIN) lists the operations conditions still need in OPS;
	 * phase 2 reads the values given (CTR_VAL, valid where CTR_GEN is this event's);
	 * RULES_PHASE_ZERO gives every counter 1, as if it stood at zero before the event. */
	int phase;
	struct rules_counter_op *ops;
	size_t n_ops;
	uint32_t *op_gen; /* per counter: in OPS this event */
	uint64_t *ctr_val;
	uint32_t *ctr_gen;
	char **ctr_ev; /* per counter, its evidence, "counter:NAME=VALUE" */
	uint32_t *ctr_ev_gen;
	char **bank_ev; /* per bank, its first hit's evidence, "bank:NAME:LABEL@DISTANCE" */
	uint32_t *bank_ev_gen;
};

enum { RV_FALSE = 0, RV_TRUE = 1, RV_UNKNOWN = 2 };
enum { RULES_PHASE_ZERO = 0, RULES_PHASE_BEGIN, RULES_PHASE_FINISH };

#define RULES_EV_LABEL_MAX 200 /* bytes of a bank label in evidence */

int rules_action_severity(Arbiter__V1__Action a)
{
	switch (a) {
	case ARBITER__V1__ACTION__NONE:
		return 0;
	case ARBITER__V1__ACTION__LABEL:
		return 1;
	case ARBITER__V1__ACTION__DEMOTE:
		return 2;
	case ARBITER__V1__ACTION__AGE_RESTRICT:
		return 3;
	case ARBITER__V1__ACTION__DEMONETIZE:
		return 4;
	case ARBITER__V1__ACTION__GEO_BLOCK:
		return 5;
	case ARBITER__V1__ACTION__REMOVE:
		return 6;
	case ARBITER__V1__ACTION__SUSPEND_ACCOUNT:
		return 7;
	case ARBITER__V1__ACTION__TERMINATE_ACCOUNT:
		return 8;
	default:
		return -1;
	}
}

struct rules_ctx *rules_ctx_new(const struct ruleset *rs)
{
	struct rules_ctx *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->rs = rs;
	size_t na = rs->n_atoms + 1, nr = rs->n_rules + 1;
	c->n_words = (rs->n_rules + 63) / 64 + 1;
	c->atom_gen = calloc(na, sizeof(*c->atom_gen));
	c->term_gen = calloc(rs->n_terms + 1, sizeof(*c->term_gen));
	c->cond_gen = calloc(rs->n_conds + 1, sizeof(*c->cond_gen));
	c->cond_val = calloc(rs->n_conds + 1, sizeof(*c->cond_val));
	c->fired = calloc(na, sizeof(*c->fired));
	c->cand = calloc(c->n_words, sizeof(*c->cand));
	c->matched = calloc(nr, sizeof(*c->matched));
	c->shadow = calloc(nr, sizeof(*c->shadow));
	c->esc = calloc(nr, sizeof(*c->esc));
	c->evidence = calloc(na + rs->n_banks + rs->n_counters, sizeof(*c->evidence));
	c->modes = calloc(rs->n_modes + 1, sizeof(*c->modes));
	c->mode_on = calloc(rs->n_modes + 1, sizeof(*c->mode_on));
	size_t nc = rs->n_counters + 1, nb = rs->n_banks + 1;
	c->ops = calloc(nc, sizeof(*c->ops));
	c->op_gen = calloc(nc, sizeof(*c->op_gen));
	c->ctr_val = calloc(nc, sizeof(*c->ctr_val));
	c->ctr_gen = calloc(nc, sizeof(*c->ctr_gen));
	c->ctr_ev = calloc(nc, sizeof(*c->ctr_ev));
	c->ctr_ev_gen = calloc(nc, sizeof(*c->ctr_ev_gen));
	c->bank_ev = calloc(nb, sizeof(*c->bank_ev));
	c->bank_ev_gen = calloc(nb, sizeof(*c->bank_ev_gen));
	bool ok = c->atom_gen && c->term_gen && c->cond_gen && c->cond_val && c->fired && c->cand &&
		  c->matched && c->shadow && c->esc && c->evidence && c->modes && c->mode_on &&
		  c->ops && c->op_gen && c->ctr_val && c->ctr_gen && c->ctr_ev && c->ctr_ev_gen &&
		  c->bank_ev && c->bank_ev_gen;
	for (size_t i = 0; ok && i < rs->n_counters; i++)
		ok = (c->ctr_ev[i] = malloc(strlen(rs->counters[i].name) + 32)) != NULL;
	for (size_t i = 0; ok && i < rs->n_banks; i++)
		ok = (c->bank_ev[i] =
			      malloc(strlen(rs->banks[i].name) + RULES_EV_LABEL_MAX + 32)) != NULL;
	for (size_t i = 0; ok && i < rs->n_term_dbs; i++)
		if (hs_alloc_scratch(rs->term_dbs[i].db, &c->scratch) != HS_SUCCESS)
			ok = false;
	if (ok && rs->regex_db && hs_alloc_scratch(rs->regex_db, &c->scratch) != HS_SUCCESS)
		ok = false;
	if (!ok) {
		rules_ctx_free(c);
		return NULL;
	}
	return c;
}

void rules_ctx_free(struct rules_ctx *c)
{
	if (!c)
		return;
	hs_free_scratch(c->scratch);
	normalise_buf_free(&c->text);
	normalise_buf_free(&c->tmp);
	free(c->atom_gen);
	free(c->term_gen);
	free(c->cond_gen);
	free(c->cond_val);
	free(c->fired);
	free(c->cand);
	free(c->matched);
	free(c->shadow);
	free(c->esc);
	free(c->evidence);
	free(c->modes);
	free(c->mode_on);
	for (size_t i = 0; c->ctr_ev && i < c->rs->n_counters; i++)
		free(c->ctr_ev[i]);
	for (size_t i = 0; c->bank_ev && i < c->rs->n_banks; i++)
		free(c->bank_ev[i]);
	free(c->ops);
	free(c->op_gen);
	free(c->ctr_val);
	free(c->ctr_gen);
	free(c->ctr_ev);
	free(c->ctr_ev_gen);
	free(c->bank_ev);
	free(c->bank_ev_gen);
	free(c);
}

static void rules_fire(struct rules_ctx *c, uint32_t atom)
{
	if (c->atom_gen[atom] == c->gen)
		return;
	c->atom_gen[atom] = c->gen;
	c->fired[c->n_fired++] = atom;
}

/* A term matched at [to - len, to): it counts only on word boundaries
 * (or inside scripts written without spaces, where any substring does). */
static int rules_term_cb(unsigned int id, unsigned long long from, unsigned long long to,
			 unsigned int flags, void *opaque)
{
	struct rules_ctx *c = opaque;
	const struct rules_term *t = &c->rs->terms[id];
	if (c->term_gen[id] == c->gen)
		return 0;
	size_t start = (size_t)to - t->len;
	if (!normalise_boundary_before(c->text.data, start) ||
	    !normalise_boundary_after(c->text.data, c->text.len, (size_t)to))
		return 0;
	c->term_gen[id] = c->gen;
	for (uint32_t i = 0; i < t->n_atoms; i++)
		rules_fire(c, t->atoms[i]);
	return 0;
}

static int rules_regex_cb(unsigned int id, unsigned long long from, unsigned long long to,
			  unsigned int flags, void *opaque)
{
	struct rules_ctx *c = opaque;
	rules_fire(c, c->rs->regex_atoms[id]);
	return 0;
}

static bool rules_mode_active(const struct rules_ctx *c, const struct rules_mode *m)
{
	if (!m->enabled)
		return false;
	if (m->from_ms && c->when_ms < m->from_ms)
		return false;
	if (m->until_ms && c->when_ms >= m->until_ms)
		return false;
	if (!m->n_countries)
		return true;
	const char *cc = c->ev->country ? c->ev->country : "";
	for (size_t i = 0; i < m->n_countries; i++)
		if (!strcasecmp(m->countries[i], cc))
			return true;
	return false;
}

/* lang == "sw" holds for "sw" and "sw-KE"; lang == "sw-KE" only for that tag. */
static bool rules_lang_eq(const char *lang, const char *want)
{
	if (!lang)
		lang = "";
	if (strchr(want, '-'))
		return !strcasecmp(lang, want);
	size_t n = strlen(want);
	return !strncasecmp(lang, want, n) && (lang[n] == '\0' || lang[n] == '-');
}

static const char *rules_attr(const Arbiter__V1__ContentEvent *ev, const char *name)
{
	for (size_t i = 0; i < ev->n_attrs; i++)
		if (ev->attrs[i]->key && !strcmp(ev->attrs[i]->key, name))
			return ev->attrs[i]->value ? ev->attrs[i]->value : "";
	return NULL;
}

/* A declared attribute's value as a number: int, float, or bool as 1/0. False when the value
 * does not read as its type: the condition is then false, and counted in the verdict. */
static bool rules_attr_number(struct rules_ctx *c, const struct rexpr *e, double *x)
{
	const char *s = rules_attr(c->ev, e->name);
	if (!s)
		return false;
	char *end = NULL;
	errno = 0;
	switch (e->attr_type) {
	case RA_INT: {
		long long v = *s ? strtoll(s, &end, 10) : 0;
		*x = (double)v;
		break;
	}
	case RA_FLOAT:
		*x = *s ? strtod(s, &end) : 0;
		if (end && !*end && !isfinite(*x))
			end = NULL;
		break;
	case RA_BOOL:
		if (!strcasecmp(s, "true") || !strcmp(s, "1"))
			*x = 1, end = (char *)"";
		else if (!strcasecmp(s, "false") || !strcmp(s, "0"))
			*x = 0, end = (char *)"";
		break;
	default:
		return false;
	}
	if (!end || *end || errno || !*s) {
		c->v.attr_type_errors++;
		return false;
	}
	return true;
}

/* A number field's value; false when absent (a missing signal). */
static bool rules_number(struct rules_ctx *c, const struct rexpr *e, double *x)
{
	const Arbiter__V1__ContentEvent *ev = c->ev;
	switch (e->field) {
	case RF_REACH:
		*x = (double)ev->reach;
		return true;
	case RF_REPORT_COUNT:
		*x = ev->report_count;
		return true;
	case RF_CREATED_AT:
		*x = (double)ev->created_at_ms;
		return ev->created_at_ms != 0;
	case RF_SIGNAL:
		for (size_t i = 0; i < ev->n_signals; i++) {
			if (ev->signals[i]->key && !strcmp(ev->signals[i]->key, e->name)) {
				*x = ev->signals[i]->value;
				return true;
			}
		}
		return false;
	case RF_ATTR:
		return rules_attr_number(c, e, x);
	default:
		return false;
	}
}

static bool rules_cmp_num(double x, enum rexpr_cmp op, double y)
{
	switch (op) {
	case RC_EQ:
		return x == y;
	case RC_NE:
		return x != y;
	case RC_LT:
		return x < y;
	case RC_LE:
		return x <= y;
	case RC_GT:
		return x > y;
	case RC_GE:
		return x >= y;
	}
	return false;
}

/* The value of a plain string field, NULL when absent or not one. */
static const char *rules_str_field(const Arbiter__V1__ContentEvent *ev, const struct rexpr *e)
{
	switch (e->field) {
	case RF_LANG:
		return ev->lang;
	case RF_COUNTRY:
		return ev->country;
	case RF_AUTHOR_ID:
		return ev->author_id;
	case RF_TEXT:
		return ev->text;
	case RF_ATTR:
		return rules_attr(ev, e->name);
	default:
		return NULL;
	}
}

/* Equality of a string field with one literal (enum fields by value). */
static bool rules_str_eq(const struct rules_ctx *c, const struct rexpr *e, const char *lit,
			 int enum_val)
{
	const Arbiter__V1__ContentEvent *ev = c->ev;
	const char *v = rules_str_field(ev, e);
	switch (e->field) {
	case RF_LANG:
		return rules_lang_eq(v, lit);
	case RF_COUNTRY:
		return !strcasecmp(v ? v : "", lit);
	case RF_SURFACE:
		return (int)ev->surface == enum_val;
	case RF_CONTENT_TYPE:
		return (int)ev->content_type == enum_val;
	default:
		return !strcmp(v ? v : "", lit);
	}
}

/* `field in LIST`: the field's value, normalised like the terms, is one of them. */
static bool rules_in_list(struct rules_ctx *c, const struct rexpr *e)
{
	const Arbiter__V1__ContentEvent *ev = c->ev;
	const char *v = rules_str_field(ev, e);
	if (e->field == RF_SURFACE || e->field == RF_CONTENT_TYPE) {
		const ProtobufCEnumDescriptor *d = e->field == RF_SURFACE ?
							   &arbiter__v1__surface__descriptor :
							   &arbiter__v1__content_type__descriptor;
		const ProtobufCEnumValue *ev_v = protobuf_c_enum_descriptor_get_value(
			d, e->field == RF_SURFACE ? (int)ev->surface : (int)ev->content_type);
		v = ev_v ? ev_v->name : NULL;
	}
	if (!v || !*v)
		return false;
	if (normalise_text(&c->rs->norm, v, strlen(v), &c->tmp) < 0)
		return false;
	const struct strmap *set = &c->rs->lists[e->atom].set;
	if (strmap_get(set, c->tmp.data, c->tmp.len, NULL))
		return true;
	/* Like lang == "sw": a list naming "sw" holds "sw-KE" too. */
	const char *dash = e->field == RF_LANG ? strchr(c->tmp.data, '-') : NULL;
	return dash && strmap_get(set, c->tmp.data, (size_t)(dash - c->tmp.data), NULL);
}

static bool rules_media_in(const struct rules_ctx *c, const struct rexpr *e)
{
	const struct strmap *set = &c->rs->lists[e->atom].set;
	for (size_t i = 0; i < c->ev->n_media; i++) {
		const char *h[3] = {c->ev->media[i]->sha256, c->ev->media[i]->pdq,
				    c->ev->media[i]->md5};
		for (int k = 0; k < 3; k++) {
			char low[200];
			size_t n = h[k] ? strlen(h[k]) : 0;
			if (!n || n >= sizeof(low))
				continue;
			for (size_t j = 0; j < n; j++)
				low[j] = (char)tolower((unsigned char)h[k][j]);
			if (strmap_get(set, low, n, NULL))
				return true;
		}
	}
	return false;
}

/* `media in bank NAME`: a hash of the event's media in bank E->atom, its first hit in the
 * evidence. */
static bool rules_bank_eval(struct rules_ctx *c, const struct rexpr *e)
{
	const struct rules_bank *b = &c->rs->banks[e->atom];
	struct hashbank_hit hit;
	if (!rules_bank_match(b, c->ev, e->within, &hit))
		return false;
	if (c->bank_ev_gen[e->atom] != c->gen) {
		c->bank_ev_gen[e->atom] = c->gen;
		snprintf(c->bank_ev[e->atom], strlen(b->name) + RULES_EV_LABEL_MAX + 32,
			 "bank:%s:%.*s@%u", b->name, RULES_EV_LABEL_MAX, hit.label, hit.distance);
		c->evidence[c->v.n_evidence++] = c->bank_ev[e->atom];
	}
	return true;
}

static bool rules_expr_eval(struct rules_ctx *c, const struct rexpr *e)
{
	double x;
	switch (e->kind) {
	case REX_AND:
		return rules_expr_eval(c, e->a) && rules_expr_eval(c, e->b);
	case REX_OR:
		return rules_expr_eval(c, e->a) || rules_expr_eval(c, e->b);
	case REX_NOT:
		return !rules_expr_eval(c, e->a);
	case REX_BOOL:
		return e->bval;
	case REX_CONTAINS:
	case REX_MATCHES:
		return c->atom_gen[e->atom] == c->gen;
	case REX_MEDIA_IN:
		return rules_media_in(c, e);
	case REX_BANK:
		return rules_bank_eval(c, e);
	case REX_COUNTER: /* only in conditions evaluated by rules_tri */
		return false;
	case REX_CMP:
		if (e->is_num) /* the loader made it agree with the field */
			return rules_number(c, e, &x) && rules_cmp_num(x, e->cmp, e->num);
		return rules_str_eq(c, e, e->str, e->enum_val) == (e->cmp == RC_EQ);
	case REX_IN:
		if (e->list)
			return rules_in_list(c, e);
		if (e->is_num) {
			if (!rules_number(c, e, &x))
				return false;
			for (size_t i = 0; i < e->n_vals; i++)
				if (x == e->nums[i])
					return true;
			return false;
		}
		for (size_t i = 0; i < e->n_vals; i++)
			if (rules_str_eq(c, e, e->strs[i], e->enum_vals ? e->enum_vals[i] : 0))
				return true;
		return false;
	}
	return false;
}

/* ---- counters ---- */

/* The digest of what FIELD (ATTR for attr.NAME) holds for this event into OUT; false when it
 * holds nothing. */
static bool rules_counter_group(struct rules_ctx *c, enum rexpr_field field, const char *attr,
				char out[RULES_DIGEST_HEX + 1])
{
	const Arbiter__V1__ContentEvent *ev = c->ev;
	char buf[2048];
	const char *s = NULL;
	size_t n = 0;
	switch (field) {
	case RF_AUTHOR_ID:
		s = ev->author_id;
		break;
	case RF_ATTR:
		s = rules_attr(ev, attr);
		break;
	case RF_TEXT:
		/* Normalised: the copies of a campaign differ in case, accents and spacing. */
		if (c->text_gen != c->gen && ev->text && ev->text[0]) {
			if (normalise_text(&c->rs->norm, ev->text, strlen(ev->text), &c->text) < 0)
				return false;
			c->text_gen = c->gen;
		}
		if (c->text_gen == c->gen) {
			s = c->text.data;
			n = c->text.len;
		}
		break;
	case RF_URL:
		n = ev->text ? rules_counter_url(ev->text, buf, sizeof(buf)) : 0;
		s = n ? buf : NULL;
		break;
	case RF_MEDIA:
		/* The first media's file hash, else its perceptual one, lowercase. */
		for (size_t i = 0; i < ev->n_media && !s; i++) {
			const Arbiter__V1__Media *m = ev->media[i];
			const char *h = m && m->sha256 && m->sha256[0] ? m->sha256 :
					m && m->md5 && m->md5[0]       ? m->md5 :
					m && m->pdq && m->pdq[0]       ? m->pdq :
									 NULL;
			for (n = 0; h && h[n] && n < sizeof(buf); n++)
				buf[n] = (char)tolower((unsigned char)h[n]);
			s = h ? buf : NULL;
		}
		break;
	default:
		break;
	}
	if (s && !n)
		n = strlen(s);
	if (!s || !n)
		return false;
	rules_counter_digest(out, s, n);
	return true;
}

/* Drops the operations past MARK: what asked for them was decided without them. */
static void rules_ops_truncate(struct rules_ctx *c, size_t mark)
{
	while (c->n_ops > mark)
		c->op_gen[c->ops[--c->n_ops].counter] = 0;
}

/* A counter's comparison: its value when given (or 1 in RULES_PHASE_ZERO), else unknown and,
 * in phase 1, its operation listed. False when the event has nothing to group or count by. */
static int rules_counter_leaf(struct rules_ctx *c, const struct rexpr *e)
{
	uint32_t k = e->atom;
	const struct rules_counter *ctr = &c->rs->counters[k];
	if (c->ctr_gen[k] != c->gen && c->op_gen[k] == c->gen)
		return RV_UNKNOWN; /* listed already */
	if (c->ctr_gen[k] != c->gen) {
		struct rules_counter_op op = {.counter = k};
		if (!rules_counter_group(c, ctr->by, ctr->by_attr, op.by))
			return RV_FALSE;
		if (ctr->pub.kind == RULES_DISTINCT) {
			if (!rules_counter_group(c, ctr->of, ctr->of_attr, op.member))
				return RV_FALSE;
		} else {
			const char *id = c->ev->event_id ? c->ev->event_id : "";
			rules_counter_digest(op.member, id, strlen(id));
		}
		if (c->phase == RULES_PHASE_BEGIN) {
			op.at_ms = c->when_ms < c->now_ms ? c->when_ms : c->now_ms;
			c->op_gen[k] = c->gen;
			c->ops[c->n_ops++] = op;
			return RV_UNKNOWN;
		}
		if (c->phase != RULES_PHASE_ZERO)
			return RV_UNKNOWN;
		c->ctr_val[k] = 1;
		c->ctr_gen[k] = c->gen;
	}
	uint64_t v = c->ctr_val[k];
	if (c->ctr_ev_gen[k] != c->gen) {
		c->ctr_ev_gen[k] = c->gen;
		snprintf(c->ctr_ev[k], strlen(ctr->name) + 32, "counter:%s=%llu", ctr->name,
			 (unsigned long long)v);
		c->evidence[c->v.n_evidence++] = c->ctr_ev[k];
	}
	return rules_cmp_num((double)v, e->cmp, e->num) ? RV_TRUE : RV_FALSE;
}

/* E three-valued: a counter not known yet is unknown. Operations listed under a node that is
 * decided without them are dropped again, so that only events a rule could still act on touch
 * a counter. The parser bounds the tree's depth, and so this recursion. */
static int rules_tri(struct rules_ctx *c, const struct rexpr *e)
{
	size_t mark = c->n_ops;
	int a, b;
	switch (e->kind) {
	case REX_AND:
	case REX_OR: {
		int decide = e->kind == REX_AND ? RV_FALSE : RV_TRUE;
		a = rules_tri(c, e->a);
		if (a == decide)
			return a;
		b = rules_tri(c, e->b);
		if (b == decide) {
			rules_ops_truncate(c, mark);
			return b;
		}
		return a == RV_UNKNOWN || b == RV_UNKNOWN ? RV_UNKNOWN : a;
	}
	case REX_NOT:
		a = rules_tri(c, e->a);
		return a == RV_UNKNOWN ? a : !a;
	case REX_COUNTER:
		return rules_counter_leaf(c, e);
	default:
		return rules_expr_eval(c, e) ? RV_TRUE : RV_FALSE;
	}
}

/* Condition ID's value for this event, evaluated at most once. */
static int rules_cond(struct rules_ctx *c, uint32_t id)
{
	if (c->cond_gen[id] != c->gen) {
		c->cond_gen[id] = c->gen;
		if (c->rs->cond_tri[id]) {
			size_t mark = c->n_ops;
			int v = rules_tri(c, c->rs->conds[id]);
			if (v != RV_UNKNOWN)
				rules_ops_truncate(c, mark);
			c->cond_val[id] = (uint8_t)v;
		} else {
			c->cond_val[id] = rules_expr_eval(c, c->rs->conds[id]);
		}
	}
	return c->cond_val[id];
}

/* True when a counter of rule R had a value this event: its match rested on behaviour. */
static bool rules_rested_on_counters(const struct rules_ctx *c, uint32_t r)
{
	for (size_t k = 0; k < c->rs->n_counters; k++)
		if (c->rs->counters[k].pub.rule == r && c->ctr_gen[k] == c->gen)
			return true;
	return false;
}

static void rules_add_escalation(struct rules_ctx *c, uint32_t r, const struct rules_escalate *e)
{
	for (size_t i = 0; i < c->v.n_escalations; i++) {
		struct rules_verdict_escalation *x = &c->esc[i];
		if (strcmp(x->esc.queue, e->queue))
			continue;
		/* One entry per queue: the most urgent band, the shortest SLA. */
		if (e->band < x->esc.band)
			x->esc.band = e->band;
		if (e->sla_s < x->esc.sla_s)
			x->esc.sla_s = e->sla_s;
		x->esc.monitors |= e->monitors;
		return;
	}
	c->esc[c->v.n_escalations].esc = *e;
	c->esc[c->v.n_escalations].first_rule = r;
	c->v.n_escalations++;
}

/* One evaluation in PHASE; in RULES_PHASE_FINISH, VALUES[i] is the value of OPS[i]. */
static const struct rules_verdict *rules_run(struct rules_ctx *c,
					     const Arbiter__V1__ContentEvent *ev, int64_t now_ms,
					     int phase, const struct rules_counter_op *ops,
					     const uint64_t *values, size_t n)
{
	const struct ruleset *rs = c->rs;
	if (++c->gen == 0) {
		/* Wrapped after 4 billion events: forget every stale mark. */
		memset(c->atom_gen, 0, (rs->n_atoms + 1) * sizeof(*c->atom_gen));
		memset(c->term_gen, 0, (rs->n_terms + 1) * sizeof(*c->term_gen));
		memset(c->cond_gen, 0, (rs->n_conds + 1) * sizeof(*c->cond_gen));
		size_t nc = rs->n_counters + 1, nb = rs->n_banks + 1;
		memset(c->op_gen, 0, nc * sizeof(*c->op_gen));
		memset(c->ctr_gen, 0, nc * sizeof(*c->ctr_gen));
		memset(c->ctr_ev_gen, 0, nc * sizeof(*c->ctr_ev_gen));
		memset(c->bank_ev_gen, 0, nb * sizeof(*c->bank_ev_gen));
		c->text_gen = 0;
		c->gen = 1;
	}
	c->ev = ev;
	c->when_ms = ev->created_at_ms > 0 ? ev->created_at_ms : now_ms;
	c->now_ms = now_ms;
	c->phase = phase;
	c->n_ops = 0;
	for (size_t i = 0; i < n; i++) {
		if (ops[i].counter < rs->n_counters) {
			c->ctr_val[ops[i].counter] = values[i];
			c->ctr_gen[ops[i].counter] = c->gen;
		}
	}
	c->n_fired = 0;
	memset(&c->v, 0, sizeof(c->v));
	c->v.action = ARBITER__V1__ACTION__NONE;
	c->v.action_rule = -1;

	for (size_t m = 0; m < rs->n_modes; m++) {
		c->mode_on[m] = rules_mode_active(c, &rs->modes[m]);
		if (c->mode_on[m])
			c->modes[c->v.n_modes++] = rs->modes[m].name;
	}

	/* One normalisation of the text for every list and regex; a scan of the terms that the
	 * text's scripts allow, and one of the regexes. */
	if ((rs->n_term_dbs || rs->regex_db) && ev->text && ev->text[0]) {
		if (normalise_text(&rs->norm, ev->text, strlen(ev->text), &c->text) < 0)
			return NULL;
		c->text_gen = c->gen;
		if (c->text.len > UINT32_MAX)
			c->text.len = UINT32_MAX;
		for (size_t i = 0; i < rs->n_term_dbs && c->text.len; i++)
			if (!(rs->term_dbs[i].scripts & ~c->text.scripts))
				hs_scan(rs->term_dbs[i].db, c->text.data, (unsigned)c->text.len, 0,
					c->scratch, rules_term_cb, c);
		if (rs->regex_db && c->text.len)
			hs_scan(rs->regex_db, c->text.data, (unsigned)c->text.len, 0, c->scratch,
				rules_regex_cb, c);
	}

	/* Candidates: rules with no text trigger whose condition holds, and those a fired atom
	 * names. Conditions have no side effects, so evaluating one before its rule's modes are
	 * looked at changes nothing. */
	memset(c->cand, 0, c->n_words * sizeof(*c->cand));
	for (size_t g = 0; g < rs->n_always; g++) {
		const struct rules_always *a = &rs->always[g];
		/* A condition with counters waits for its rule's modes: a counter is touched only
		 * where the rule could act. */
		if (!rs->cond_tri[a->cond] && !rules_cond(c, a->cond))
			continue;
		for (size_t i = 0; i < a->n_rules; i++)
			c->cand[a->rules[i] / 64] |= 1ULL << (a->rules[i] % 64);
	}
	for (size_t f = 0; f < c->n_fired; f++) {
		uint32_t a = c->fired[f];
		c->evidence[c->v.n_evidence++] = rs->atom_names[a];
		for (size_t i = 0; i < rs->n_atom_rules[a]; i++)
			c->cand[rs->atom_rules[a][i] / 64] |= 1ULL << (rs->atom_rules[a][i] % 64);
	}

	int best = 0;
	for (size_t w = 0; w < c->n_words; w++) {
		for (uint64_t bits = c->cand[w]; bits; bits &= bits - 1) {
			uint32_t r = (uint32_t)(w * 64 + (size_t)__builtin_ctzll(bits));
			const struct rules_rule_impl *ri = &rs->rules[r];
			if (ri->n_modes) {
				bool on = false;
				for (size_t m = 0; m < ri->n_modes && !on; m++)
					on = c->mode_on[ri->modes[m]];
				if (!on)
					continue;
			}
			int val = rules_cond(c, ri->cond);
			if (val == RV_UNKNOWN && phase == RULES_PHASE_BEGIN)
				c->v.counters_pending++;
			if (val != RV_TRUE)
				continue;
			if (ri->pub.shadow) {
				c->shadow[c->v.n_shadow++] = r;
				continue;
			}
			c->matched[c->v.n_matched++] = r;
			if (rs->cond_tri[ri->cond] && !c->v.behaviour)
				c->v.behaviour = rules_rested_on_counters(c, r);
			int sev = rules_action_severity(ri->pub.action);
			if (sev > best) {
				best = sev;
				c->v.action = ri->pub.action;
				c->v.action_rule = (int32_t)r;
			}
			if (ri->pub.has_escalate)
				rules_add_escalation(c, r, &ri->pub.escalate);
		}
	}
	c->v.matched = c->matched;
	c->v.shadow = c->shadow;
	c->v.escalations = c->esc;
	c->v.evidence = c->evidence;
	c->v.modes = c->modes;
	return &c->v;
}

const struct rules_verdict *rules_eval(struct rules_ctx *c, const Arbiter__V1__ContentEvent *ev,
				       int64_t now_ms)
{
	return rules_run(c, ev, now_ms, RULES_PHASE_ZERO, NULL, NULL, 0);
}

const struct rules_verdict *rules_eval_begin(struct rules_ctx *c,
					     const Arbiter__V1__ContentEvent *ev, int64_t now_ms,
					     const struct rules_counter_op **ops, size_t *n_ops)
{
	const struct rules_verdict *v = rules_run(c, ev, now_ms, RULES_PHASE_BEGIN, NULL, NULL, 0);
	*ops = c->ops;
	*n_ops = v ? c->n_ops : 0;
	return v;
}

const struct rules_verdict *rules_eval_finish(struct rules_ctx *c,
					      const Arbiter__V1__ContentEvent *ev, int64_t now_ms,
					      const struct rules_counter_op *ops,
					      const uint64_t *values, size_t n)
{
	return rules_run(c, ev, now_ms, RULES_PHASE_FINISH, ops, values, n);
}

static const char *rules_enum_lower(const ProtobufCEnumDescriptor *d, int value, char *buf,
				    size_t len)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(d, value);
	size_t i = 0;
	for (const char *s = v ? v->name : "unknown"; *s && i + 1 < len; s++)
		buf[i++] = (char)tolower((unsigned char)*s);
	buf[i] = '\0';
	return buf;
}

json_t *rules_verdict_json(const struct ruleset *rs, const Arbiter__V1__ContentEvent *ev,
			   const struct rules_verdict *v)
{
	char a[32], b[32];
	json_t *matched = json_array(), *shadow = json_array(), *esc = json_array(),
	       *evidence = json_array(), *modes = json_array();
	for (size_t i = 0; i < v->n_matched; i++)
		json_array_append_new(matched, json_string(rs->rules[v->matched[i]].pub.id));
	for (size_t i = 0; i < v->n_shadow; i++)
		json_array_append_new(shadow, json_string(rs->rules[v->shadow[i]].pub.id));
	for (size_t i = 0; i < v->n_escalations; i++) {
		const struct rules_verdict_escalation *e = &v->escalations[i];
		json_array_append_new(
			esc, json_pack("{s:s,s:s,s:I,s:b,s:s}", "queue", e->esc.queue, "band",
				       rules_enum_lower(&arbiter__v1__band__descriptor,
							(int)e->esc.band, b, sizeof(b)),
				       "sla_s", (json_int_t)e->esc.sla_s, "monitors",
				       e->esc.monitors, "rule", rs->rules[e->first_rule].pub.id));
	}
	for (size_t i = 0; i < v->n_evidence; i++)
		json_array_append_new(evidence, json_string(v->evidence[i]));
	for (size_t i = 0; i < v->n_modes; i++)
		json_array_append_new(modes, json_string(v->modes[i]));
	return json_pack(
		"{s:s,s:s,s:s,s:s?,s:o,s:o,s:o,s:o,s:o,s:s,s:I,s:b}", "event_id",
		ev->event_id ? ev->event_id : "", "content_id",
		ev->content_id ? ev->content_id : "", "action",
		rules_enum_lower(&arbiter__v1__action__descriptor, (int)v->action, a, sizeof(a)),
		"action_rule", v->action_rule >= 0 ? rs->rules[v->action_rule].pub.id : NULL,
		"matched", matched, "shadow", shadow, "escalations", esc, "evidence", evidence,
		"modes", modes, "ruleset_version", rs->version, "attr_type_errors",
		(json_int_t)v->attr_type_errors, "behaviour", v->behaviour);
}
