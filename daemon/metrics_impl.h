/* Inside metrics: the exposition buffer and the renderers its files share; no other module
 * includes it.
 *   metrics.c          counters, the catalogue, rendering, health, the HTTP endpoint
 *   metrics_hist.c     histograms
 *   metrics_rules.c    per-rule series and the ruleset's info
 *   metrics_kafka.c    librdkafka's statistics: lag per partition, brokers
 *   metrics_review.c   review queue gauges
 *   metrics_process.c  process_* from /proc/self */
#pragma once

#include <stddef.h>

#include "metrics.h"

/* An snprintf-like appender: keeps counting the length needed once the buffer is full. */
struct metrics_buf {
	char *buf;
	size_t size;
	size_t len;
};

void metrics_printf(struct metrics_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Appends VALUE as a label value: backslash, double quote and newline escaped. */
void metrics_label(struct metrics_buf *b, const char *value);

/* Appends V as a sample value (integers without a fraction, NaN and infinities as
 * Prometheus spells them). */
void metrics_value(struct metrics_buf *b, double v);

/* Each renders the samples of family F (never its HELP and TYPE lines). */
typedef void (*metrics_render_fn)(struct metrics_buf *b, const struct metrics_family *f);

void metrics_hist_render(struct metrics_buf *b, const struct metrics_family *f);

void metrics_rules_render_hits(struct metrics_buf *b, const struct metrics_family *f);
void metrics_rules_render_actions(struct metrics_buf *b, const struct metrics_family *f);
void metrics_rules_render_shadow(struct metrics_buf *b, const struct metrics_family *f);
void metrics_rules_render_info(struct metrics_buf *b, const struct metrics_family *f);
void metrics_rules_render_loaded(struct metrics_buf *b, const struct metrics_family *f);
void metrics_rules_reset(void);

void metrics_kafka_render_lag(struct metrics_buf *b, const struct metrics_family *f);
void metrics_kafka_render_group_lag(struct metrics_buf *b, const struct metrics_family *f);
void metrics_kafka_render_partitions(struct metrics_buf *b, const struct metrics_family *f);
void metrics_kafka_render_brokers(struct metrics_buf *b, const struct metrics_family *f);
void metrics_kafka_reset(void);

/* One of struct queues_band_stats' fields per band, or the overdue count. */
void metrics_review_render(struct metrics_buf *b, const struct metrics_family *f);
void metrics_review_reset(void);

void metrics_process_render(struct metrics_buf *b, const struct metrics_family *f);

void metrics_hist_reset(void);
