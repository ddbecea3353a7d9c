/* Evaluating a ruleset: one normalisation per event, scans of the terms its scripts allow and of
 * the regexes, then only the rules those matches can make true. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
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
	bool *cond_val;     /* and their values */
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
};

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
	c->evidence = calloc(na, sizeof(*c->evidence));
	c->modes = calloc(rs->n_modes + 1, sizeof(*c->modes));
	c->mode_on = calloc(rs->n_modes + 1, sizeof(*c->mode_on));
	bool ok = c->atom_gen && c->term_gen && c->cond_gen && c->cond_val && c->fired && c->cand &&
		  c->matched && c->shadow && c->esc && c->evidence && c->modes && c->mode_on;
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
		const char *h[2] = {c->ev->media[i]->sha256, c->ev->media[i]->pdq};
		for (int k = 0; k < 2; k++) {
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

/* Condition ID's value for this event, evaluated at most once. */
static bool rules_cond(struct rules_ctx *c, uint32_t id)
{
	if (c->cond_gen[id] != c->gen) {
		c->cond_gen[id] = c->gen;
		c->cond_val[id] = rules_expr_eval(c, c->rs->conds[id]);
	}
	return c->cond_val[id];
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

const struct rules_verdict *rules_eval(struct rules_ctx *c, const Arbiter__V1__ContentEvent *ev,
				       int64_t now_ms)
{
	const struct ruleset *rs = c->rs;
	if (++c->gen == 0) {
		/* Wrapped after 4 billion events: forget every stale mark. */
		memset(c->atom_gen, 0, (rs->n_atoms + 1) * sizeof(*c->atom_gen));
		memset(c->term_gen, 0, (rs->n_terms + 1) * sizeof(*c->term_gen));
		memset(c->cond_gen, 0, (rs->n_conds + 1) * sizeof(*c->cond_gen));
		c->gen = 1;
	}
	c->ev = ev;
	c->when_ms = ev->created_at_ms > 0 ? ev->created_at_ms : now_ms;
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
		if (!rules_cond(c, a->cond))
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
			if (!rules_cond(c, ri->cond))
				continue;
			if (ri->pub.shadow) {
				c->shadow[c->v.n_shadow++] = r;
				continue;
			}
			c->matched[c->v.n_matched++] = r;
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
		"{s:s,s:s,s:s,s:s?,s:o,s:o,s:o,s:o,s:o,s:s,s:I}", "event_id",
		ev->event_id ? ev->event_id : "", "content_id",
		ev->content_id ? ev->content_id : "", "action",
		rules_enum_lower(&arbiter__v1__action__descriptor, (int)v->action, a, sizeof(a)),
		"action_rule", v->action_rule >= 0 ? rs->rules[v->action_rule].pub.id : NULL,
		"matched", matched, "shadow", shadow, "escalations", esc, "evidence", evidence,
		"modes", modes, "ruleset_version", rs->version, "attr_type_errors",
		(json_int_t)v->attr_type_errors);
}
