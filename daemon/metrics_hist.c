/* Histograms: fixed buckets per histogram, observed on the loop, rendered cumulative by the HTTP
 * thread. */
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "metrics_impl.h"

#define HIST_MAX_BUCKETS 20

/* Upper bounds in seconds, increasing; +Inf is implied. */
static const double bounds_action[] = {0.05, 0.1, 0.25, 0.5, 1,    2.5,   5,     10,
				       30,   60,  300,  900, 3600, 14400, 86400, 604800};
static const double bounds_message[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
					0.25,   0.5,   1,      2.5,   5,    10,    30,   60};
static const double bounds_eval[] = {1e-6,   2.5e-6, 5e-6,  1e-5,   2.5e-5, 5e-5, 1e-4,
				     2.5e-4, 5e-4,   0.001, 0.0025, 0.01,   0.1};

struct hist_def {
	const char *family;
	const char *label; /* 'name="value"' or "" */
	const double *bounds;
	size_t n_bounds;
};

#define BOUNDS(b) b, sizeof(b) / sizeof(b[0])
static const struct hist_def hist_defs[METRICS_H__COUNT] = {
	[METRICS_H_ACTION_RULES] = {"arbiter_action_latency_seconds", "source=\"rules\"",
				    BOUNDS(bounds_action)},
	[METRICS_H_ACTION_DECISIONS] = {"arbiter_action_latency_seconds", "source=\"decisions\"",
					BOUNDS(bounds_action)},
	[METRICS_H_MESSAGE_CONTENT] = {"arbiter_message_duration_seconds", "topic=\"content\"",
				       BOUNDS(bounds_message)},
	[METRICS_H_MESSAGE_DECISIONS] = {"arbiter_message_duration_seconds", "topic=\"decisions\"",
					 BOUNDS(bounds_message)},
	[METRICS_H_ENQUEUE] = {"arbiter_review_enqueue_duration_seconds", "",
			       BOUNDS(bounds_message)},
	[METRICS_H_RULE_EVAL] = {"arbiter_rule_eval_duration_seconds", "", BOUNDS(bounds_eval)},
	[METRICS_H_COMMIT] = {"arbiter_transaction_commit_duration_seconds", "",
			      BOUNDS(bounds_message)},
};
#undef BOUNDS

/* Counts per bucket (not cumulative; the last is +Inf) and the sum. Only the loop
 * observes, so a load and a store do; the HTTP thread reads each atomically. */
struct hist {
	atomic_uint_fast64_t counts[HIST_MAX_BUCKETS + 1];
	_Atomic double sum;
};

static struct hist hists[METRICS_H__COUNT];

void metrics_hist_observe(enum metrics_hist h, double seconds)
{
	if (h < 0 || h >= METRICS_H__COUNT || isnan(seconds))
		return;
	const struct hist_def *d = &hist_defs[h];
	struct hist *x = &hists[h];
	if (seconds < 0)
		seconds = 0;
	size_t i = 0;
	while (i < d->n_bounds && seconds > d->bounds[i])
		i++;
	atomic_store_explicit(&x->counts[i],
			      atomic_load_explicit(&x->counts[i], memory_order_relaxed) + 1,
			      memory_order_relaxed);
	atomic_store_explicit(&x->sum,
			      atomic_load_explicit(&x->sum, memory_order_relaxed) + seconds,
			      memory_order_relaxed);
}

void metrics_hist_since(enum metrics_hist h, int64_t since_ns)
{
	metrics_hist_observe(h, (double)(metrics_mono_ns() - since_ns) / 1e9);
}

void metrics_hist_action(enum metrics_hist h, int64_t created_ms, int64_t at_ms)
{
	if (created_ms <= 0 || at_ms <= 0)
		return;
	metrics_hist_observe(h, (double)(at_ms - created_ms) / 1000.0);
}

static void hist_render_one(struct metrics_buf *b, const struct hist_def *d, struct hist *x)
{
	const char *sep = d->label[0] ? "," : "";
	uint64_t cum = 0;
	for (size_t i = 0; i <= d->n_bounds; i++) {
		cum += atomic_load_explicit(&x->counts[i], memory_order_relaxed);
		metrics_printf(b, "%s_bucket{%s%sle=\"", d->family, d->label, sep);
		if (i < d->n_bounds)
			metrics_value(b, d->bounds[i]);
		else
			metrics_printf(b, "+Inf");
		metrics_printf(b, "\"} %llu\n", (unsigned long long)cum);
	}
	const char *open = d->label[0] ? "{" : "", *close = d->label[0] ? "}" : "";
	metrics_printf(b, "%s_sum%s%s%s ", d->family, open, d->label, close);
	metrics_value(b, atomic_load_explicit(&x->sum, memory_order_relaxed));
	/* The count is the +Inf bucket's, read above: the two always agree. */
	metrics_printf(b, "\n%s_count%s%s%s %llu\n", d->family, open, d->label, close,
		       (unsigned long long)cum);
}

void metrics_hist_render(struct metrics_buf *b, const struct metrics_family *f)
{
	for (int h = 0; h < METRICS_H__COUNT; h++)
		if (!strcmp(hist_defs[h].family, f->name))
			hist_render_one(b, &hist_defs[h], &hists[h]);
}

void metrics_hist_reset(void)
{
	for (int h = 0; h < METRICS_H__COUNT; h++) {
		for (size_t i = 0; i <= HIST_MAX_BUCKETS; i++)
			atomic_store_explicit(&hists[h].counts[i], 0, memory_order_relaxed);
		atomic_store_explicit(&hists[h].sum, 0.0, memory_order_relaxed);
	}
}
