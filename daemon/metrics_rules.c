/* Per-rule series (hits, actions, shadow hits) bounded by the running ruleset, and the ruleset's
 * info metric: replaced as a whole at every swap, counts carried over by rule id. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "metrics_impl.h"
#include "strmap.h"

enum { RULE_HITS, RULE_ACTIONS, RULE_SHADOW, RULE__COUNTERS };

/* The series of one ruleset. The loop counts into the current table without a lock (it
 * alone replaces it); the HTTP thread reads it under the lock, which the loop also takes
 * to replace it, so a table is never freed under a reader. */
struct rule_table {
	size_t n;
	char **ids;
	atomic_uint_fast64_t (*counts)[RULE__COUNTERS];
	char version[72];
	double loaded_at; /* Unix time, seconds */
};

static pthread_mutex_t rules_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rule_table *rules_cur;

static void rule_table_free(struct rule_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		free(t->ids[i]);
	free(t->ids);
	free(t->counts);
	free(t);
}

/* The counts of OLD's rules that NEW keeps (by id) go on in NEW. */
static int rule_table_carry(struct rule_table *new, const struct rule_table *old)
{
	struct strmap ids = {0};
	int rc = 0;
	for (size_t i = 0; i < old->n && rc >= 0; i++)
		rc = strmap_put(&ids, old->ids[i], strlen(old->ids[i]), (uint32_t)i, NULL);
	for (size_t i = 0; i < new->n &&rc >= 0; i++) {
		uint32_t j;
		if (!strmap_get(&ids, new->ids[i], strlen(new->ids[i]), &j))
			continue;
		for (int c = 0; c < RULE__COUNTERS; c++)
			atomic_store_explicit(
				&new->counts[i][c],
				atomic_load_explicit(&old->counts[j][c], memory_order_relaxed),
				memory_order_relaxed);
	}
	strmap_free(&ids);
	return rc < 0 ? rc : 0;
}

static struct rule_table *rule_table_new(const struct ruleset *rs)
{
	struct rule_table *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	size_t n = rules_count(rs);
	t->ids = calloc(n ? n : 1, sizeof(*t->ids));
	t->counts = calloc(n ? n : 1, sizeof(*t->counts));
	if (!t->ids || !t->counts) {
		rule_table_free(t);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		t->ids[i] = strdup(rules_rule(rs, i)->id);
		if (!t->ids[i]) {
			rule_table_free(t);
			return NULL;
		}
		t->n = i + 1;
	}
	snprintf(t->version, sizeof(t->version), "%s", rules_version(rs));
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	t->loaded_at = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	return t;
}

void metrics_rules_set(const struct ruleset *rs)
{
	struct rule_table *t = rs ? rule_table_new(rs) : NULL;
	if (rs && (!t || (rules_cur && rule_table_carry(t, rules_cur) < 0)))
		log_warn(metrics,
			 "out of memory: the per-rule series of ruleset %.12s start from 0",
			 rules_version(rs));
	pthread_mutex_lock(&rules_lock);
	struct rule_table *old = rules_cur;
	rules_cur = t;
	pthread_mutex_unlock(&rules_lock);
	rule_table_free(old);
}

static void rule_inc(struct rule_table *t, uint32_t i, int c)
{
	if (i < t->n)
		atomic_fetch_add_explicit(&t->counts[i][c], 1, memory_order_relaxed);
}

void metrics_rules_verdict(const struct rules_verdict *v)
{
	if (v->attr_type_errors)
		metrics_add(attr_type_errors, v->attr_type_errors);
	struct rule_table *t = rules_cur; /* the loop's own pointer: no lock to read it */
	if (!t)
		return;
	for (size_t i = 0; i < v->n_matched; i++)
		rule_inc(t, v->matched[i], RULE_HITS);
	for (size_t i = 0; i < v->n_shadow; i++)
		rule_inc(t, v->shadow[i], RULE_SHADOW);
	if (v->action_rule >= 0)
		rule_inc(t, (uint32_t)v->action_rule, RULE_ACTIONS);
}

static void rules_render_counter(struct metrics_buf *b, const struct metrics_family *f, int c)
{
	pthread_mutex_lock(&rules_lock);
	const struct rule_table *t = rules_cur;
	for (size_t i = 0; t && i < t->n; i++) {
		metrics_printf(b, "%s{rule=\"", f->name);
		metrics_label(b, t->ids[i]);
		metrics_printf(b, "\"} %llu\n",
			       (unsigned long long)atomic_load_explicit(&t->counts[i][c],
									memory_order_relaxed));
	}
	pthread_mutex_unlock(&rules_lock);
}

void metrics_rules_render_hits(struct metrics_buf *b, const struct metrics_family *f)
{
	rules_render_counter(b, f, RULE_HITS);
}

void metrics_rules_render_actions(struct metrics_buf *b, const struct metrics_family *f)
{
	rules_render_counter(b, f, RULE_ACTIONS);
}

void metrics_rules_render_shadow(struct metrics_buf *b, const struct metrics_family *f)
{
	rules_render_counter(b, f, RULE_SHADOW);
}

void metrics_rules_render_info(struct metrics_buf *b, const struct metrics_family *f)
{
	pthread_mutex_lock(&rules_lock);
	if (rules_cur) {
		metrics_printf(b, "%s{version=\"", f->name);
		metrics_label(b, rules_cur->version);
		metrics_printf(b, "\"} 1\n");
	}
	pthread_mutex_unlock(&rules_lock);
}

void metrics_rules_render_loaded(struct metrics_buf *b, const struct metrics_family *f)
{
	pthread_mutex_lock(&rules_lock);
	if (rules_cur) {
		metrics_printf(b, "%s ", f->name);
		metrics_value(b, rules_cur->loaded_at);
		metrics_printf(b, "\n");
	}
	pthread_mutex_unlock(&rules_lock);
}

void metrics_rules_reset(void)
{
	metrics_rules_set(NULL);
}
