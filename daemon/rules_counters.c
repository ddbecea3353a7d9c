/* Windowed counters of the rules: their names, identities and bounds, checked at load, and the
 * values events are grouped by. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules_impl.h"

/* A count keeps one entry per event up to the largest number its comparisons need (the
 * structure behind it, counters.h, says why): this bounds that. */
#define RULES_COUNT_MAX 10000
#define RULES_DISTINCT_MAX 1000000000

static void rules_counter_field(enum rexpr_field f, const char *attr, char *buf, size_t len)
{
	if (f == RF_ATTR)
		snprintf(buf, len, "attr.%s", attr);
	else
		snprintf(buf, len, "%s", rexpr_field_name(f));
}

/* A window in the largest unit that divides it: windows are whole seconds. */
static void rules_counter_window(int64_t ms, char *buf, size_t len)
{
	static const struct {
		int64_t ms;
		char unit;
	} units[] = {{86400000, 'd'}, {3600000, 'h'}, {60000, 'm'}, {1000, 's'}};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (ms % units[i].ms == 0) {
			snprintf(buf, len, "%" PRId64 "%c", ms / units[i].ms, units[i].unit);
			return;
		}
	}
	snprintf(buf, len, "%" PRId64 "ms", ms);
}

/* "count(by: author_id, window: 10m)" or "distinct(author_id, by: text, window: 1h)". */
static char *rules_counter_name(const struct rexpr *e)
{
	char by[200], of[200], win[32];
	rules_counter_field(e->field, e->name, by, sizeof(by));
	rules_counter_window(e->window_ms, win, sizeof(win));
	char *s = NULL;
	int rc;
	if (e->distinct) {
		rules_counter_field(e->of_field, e->of_name, of, sizeof(of));
		rc = asprintf(&s, "distinct(%s, by: %s, window: %s)", of, by, win);
	} else {
		rc = asprintf(&s, "count(by: %s, window: %s)", by, win);
	}
	return rc < 0 ? NULL : s;
}

void rules_counter_digest(char out[RULES_DIGEST_HEX + 1], const char *s, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (!EVP_Digest(s, len, md, &n, EVP_sha256(), NULL) || n < RULES_DIGEST_HEX / 2)
		memset(md, 0, sizeof(md));
	for (unsigned i = 0; i < RULES_DIGEST_HEX / 2; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

int rules_counter_add(struct ruleset *rs, uint32_t rule, struct rexpr *e, char *err, size_t errlen,
		      size_t *err_off)
{
	bool count = !e->distinct;
	double max = count ? RULES_COUNT_MAX : RULES_DISTINCT_MAX;
	if (e->num < 0 || e->num != floor(e->num) || e->num > max) {
		*err_off = e->lit_off;
		snprintf(err, errlen,
			 count ? "count(...) compares with a whole number from 0 to %.0f: it keeps "
				 "one entry per event up to the largest number compared" :
				 "distinct(...) compares with a whole number from 0 to %.0f",
			 max);
		return -EINVAL;
	}
	uint32_t need = (uint32_t)e->num + 1; /* values up to N + 1 tell every comparison apart */
	char *name = rules_counter_name(e);
	if (!name)
		return -ENOMEM;
	for (size_t i = 0; i < rs->n_counters; i++) {
		struct rules_counter *c = &rs->counters[i];
		if (c->pub.rule != rule || strcmp(c->name, name))
			continue;
		free(name);
		if (need > c->pub.cap)
			c->pub.cap = need;
		e->atom = (uint32_t)i;
		return 0;
	}
	struct rules_counter *v = realloc(rs->counters, (rs->n_counters + 1) * sizeof(*v));
	if (!v) {
		free(name);
		return -ENOMEM;
	}
	rs->counters = v;
	struct rules_counter *c = &v[rs->n_counters];
	memset(c, 0, sizeof(*c));
	/* The id covers the rule and the counter, not the comparison: a threshold edited and
	 * reloaded keeps counting where it was. */
	const char *rid = rs->rules[rule].pub.id;
	size_t kl = strlen(rid) + strlen(name) + 2;
	char *key = malloc(kl);
	char hex[RULES_DIGEST_HEX + 1];
	if (!key) {
		free(name);
		return -ENOMEM;
	}
	snprintf(key, kl, "%s\n%s", rid, name);
	rules_counter_digest(hex, key, kl - 1);
	free(key);
	memcpy(c->id, hex, 16);
	c->id[16] = '\0';
	c->name = name;
	c->by = e->field;
	c->by_attr = e->name;
	c->of = e->of_field;
	c->of_attr = e->of_name;
	c->pub.rule = rule;
	c->pub.kind = count ? RULES_COUNT : RULES_DISTINCT;
	c->pub.window_ms = e->window_ms;
	c->pub.cap = count ? need : 0;
	e->atom = (uint32_t)rs->n_counters++;
	return 0;
}

void rules_counters_free(struct ruleset *rs)
{
	for (size_t i = 0; i < rs->n_counters; i++)
		free(rs->counters[i].name);
	free(rs->counters);
	rs->counters = NULL;
	rs->n_counters = 0;
}

size_t rules_counter_count(const struct ruleset *rs)
{
	return rs->n_counters;
}

const struct rules_counter_info *rules_counter(const struct ruleset *rs, size_t i)
{
	return i < rs->n_counters ? &rs->counters[i].pub : NULL;
}

size_t rules_counter_url(const char *text, char *out, size_t len)
{
	if (!len)
		return 0;
	for (const char *p = text; p && (p = strpbrk(p, "hH")); p++) {
		size_t scheme = !strncasecmp(p, "https://", 8) ? 8 :
				!strncasecmp(p, "http://", 7)  ? 7 :
								 0;
		if (!scheme)
			continue;
		size_t n = scheme;
		while (p[n] && !isspace((unsigned char)p[n]) && !strchr("<>\"'`", p[n]))
			n++;
		while (n > scheme && strchr(".,;:!?)]}", p[n - 1]))
			n--;
		if (n == scheme)
			continue;
		size_t w = n < len - 1 ? n : len - 1;
		bool host = true;
		for (size_t i = 0; i < w; i++) {
			char ch = p[i];
			if (i >= scheme && (ch == '/' || ch == '?' || ch == '#'))
				host = false;
			out[i] = host ? (char)tolower((unsigned char)ch) : ch;
		}
		out[w] = '\0';
		return w;
	}
	out[0] = '\0';
	return 0;
}
