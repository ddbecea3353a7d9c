/* The rule files' tests: cases, run against the compiled ruleset (arbiterctl test-rules). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rules_impl.h"

/* Writes names as "[a, b]" into buf. */
static const char *rules_test_join(const char *const *names, size_t n, char *buf, size_t len)
{
	size_t o = 0;
	o += (size_t)snprintf(buf, len, "[");
	for (size_t i = 0; i < n && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? ", " : "", names[i]);
	if (o < len)
		snprintf(buf + o, len - o, "]");
	return buf;
}

/* Same names, in any order. */
static bool rules_test_same(char *const *want, size_t n_want, const char *const *got, size_t n_got)
{
	if (n_want != n_got)
		return false;
	for (size_t i = 0; i < n_want; i++) {
		bool found = false;
		for (size_t j = 0; j < n_got && !found; j++)
			found = !strcmp(want[i], got[j]);
		if (!found)
			return false;
	}
	return true;
}

static const char *rules_test_action(Arbiter__V1__Action a, char *buf, size_t len)
{
	const ProtobufCEnumValue *v =
		protobuf_c_enum_descriptor_get_value(&arbiter__v1__action__descriptor, (int)a);
	size_t i = 0;
	for (const char *s = v ? v->name : "?"; *s && i + 1 < len; s++)
		buf[i++] = (char)tolower((unsigned char)*s);
	buf[i] = '\0';
	return buf;
}

/* True when counter name A equals B, spaces aside. */
static bool rules_test_same_name(const char *a, const char *b)
{
	for (;;) {
		while (*a == ' ')
			a++;
		while (*b == ' ')
			b++;
		if (*a != *b)
			return false;
		if (!*a)
			return true;
		a++;
		b++;
	}
}

/* The value case T gives counter K before its event: by the counter's name, else by its
 * kind, else 0. */
static uint64_t rules_test_given(const struct ruleset *rs, const struct rules_test *t, uint32_t k)
{
	const struct rules_counter *c = &rs->counters[k];
	const char *kind = c->pub.kind == RULES_COUNT ? "count" : "distinct";
	const struct rules_given *by_kind = NULL;
	for (size_t i = 0; i < t->n_given; i++) {
		if (rules_test_same_name(t->given[i].name, c->name))
			return t->given[i].value;
		if (!strcmp(t->given[i].name, kind))
			by_kind = &t->given[i];
	}
	return by_kind ? by_kind->value : 0;
}

/* Case T's verdict: counters stand at what it gives (0 otherwise) before its event, which
 * adds one. */
static const struct rules_verdict *rules_test_eval(const struct ruleset *rs, struct rules_ctx *ctx,
						   const struct rules_test *t, int64_t now,
						   struct rules_counter_op *ops, uint64_t *values)
{
	const struct rules_counter_op *want;
	size_t n;
	const struct rules_verdict *v = rules_eval_begin(ctx, t->event, now, &want, &n);
	if (!v || !n)
		return v;
	memcpy(ops, want, n * sizeof(*ops));
	for (size_t i = 0; i < n; i++)
		values[i] = rules_test_given(rs, t, ops[i].counter) + 1;
	return rules_eval_finish(ctx, t->event, now, ops, values, n);
}

int rules_run_tests(const struct ruleset *rs, FILE *out)
{
	struct rules_ctx *ctx = rules_ctx_new(rs);
	size_t cap = rs->n_rules + 1;
	const char **names = calloc(cap, sizeof(*names));
	struct rules_counter_op *ops = calloc(rs->n_counters + 1, sizeof(*ops));
	uint64_t *values = calloc(rs->n_counters + 1, sizeof(*values));
	if (!ctx || !names || !ops || !values) {
		rules_ctx_free(ctx);
		free(names);
		free(ops);
		free(values);
		return -ENOMEM;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t now = (int64_t)ts.tv_sec * 1000;
	int failed = 0;
	char w[1024], g[1024];
	for (size_t i = 0; i < rs->n_tests; i++) {
		const struct rules_test *t = &rs->tests[i];
		const struct rules_verdict *v =
			rules_test_eval(rs, ctx, t, t->now_ms ? t->now_ms : now, ops, values);
		if (!v) {
			failed = -ENOMEM;
			break;
		}
		bool ok = true;
		char msg[4096];
		size_t o = 0;
		msg[0] = '\0';
#define RULES_TEST_SAY(...)                                                                        \
	do {                                                                                       \
		if (o < sizeof(msg))                                                               \
			o += (size_t)snprintf(msg + o, sizeof(msg) - o, __VA_ARGS__);              \
	} while (0)
		if (t->check_action && t->action != v->action) {
			ok = false;
			RULES_TEST_SAY("    expected action %s, got %s\n",
				       rules_test_action(t->action, w, sizeof(w)),
				       rules_test_action(v->action, g, sizeof(g)));
		}
		if (t->check_escalations) {
			for (size_t k = 0; k < v->n_escalations; k++)
				names[k] = v->escalations[k].esc.queue;
			if (!rules_test_same(t->escalations, t->n_escalations, names,
					     v->n_escalations)) {
				ok = false;
				RULES_TEST_SAY(
					"    expected escalations %s, got %s\n",
					rules_test_join((const char *const *)t->escalations,
							t->n_escalations, w, sizeof(w)),
					rules_test_join(names, v->n_escalations, g, sizeof(g)));
			}
		}
		const uint32_t *sets[2] = {v->matched, v->shadow};
		size_t counts[2] = {v->n_matched, v->n_shadow};
		char *const *want[2] = {t->rules, t->shadow};
		size_t n_want[2] = {t->n_rules, t->n_shadow};
		bool check[2] = {t->check_rules, t->check_shadow};
		for (int k = 0; k < 2; k++) {
			if (!check[k])
				continue;
			for (size_t j = 0; j < counts[k]; j++)
				names[j] = rs->rules[sets[k][j]].pub.id;
			if (!rules_test_same(want[k], n_want[k], names, counts[k])) {
				ok = false;
				RULES_TEST_SAY("    expected %s %s, got %s\n",
					       k ? "shadow hits" : "matched rules",
					       rules_test_join((const char *const *)want[k],
							       n_want[k], w, sizeof(w)),
					       rules_test_join(names, counts[k], g, sizeof(g)));
			}
		}
#undef RULES_TEST_SAY
		if (!ok) {
			failed++;
			fprintf(out, "FAIL %s:%d: %s\n%s", t->file, t->line, t->name, msg);
		}
	}
	if (failed >= 0)
		fprintf(out, "%zu test(s), %d failed\n", rs->n_tests, failed);
	free(names);
	free(ops);
	free(values);
	rules_ctx_free(ctx);
	return failed;
}
