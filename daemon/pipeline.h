/* The per-message state machine: consume, decode, decide, emit, and commit only what is finished.
 */
#pragma once

#include <stdbool.h>
#include <uv.h>

#include "config.h"
#include "kafka.h"
#include "rules.h"

struct pipeline;

/* What the pipeline tells its owner, on the loop. */
struct pipeline_hooks {
	/* Once, when the pipeline stops for good: after pipeline_drain finished (FATAL
	 * false) or after an unrecoverable client error (FATAL true). */
	void (*stopped)(void *opaque, bool fatal);
	/* At every assignment of partitions by the consumer group (may be NULL): the
	 * daemon is serving from the first one on. */
	void (*assigned)(void *opaque, size_t partitions);
	void *opaque;
};

/* Creates a pipeline for CFG and the ruleset RULES on LOOP. Both must
 * outlive the pipeline or be replaced (pipeline_set_config, pipeline_set_rules).
 * HOOKS is copied. Returns 0 and *out, or a negative errno. */
int pipeline_new(uv_loop_t *loop, const struct config *cfg, const struct ruleset *rules,
		 const struct pipeline_hooks *hooks, struct pipeline **out);

/* Swaps in RULES, evaluated with CTX (made for it; the pipeline owns CTX
 * from now on and frees the previous one). Takes effect between two events:
 * no event sees half a ruleset. The previous ruleset may be freed on return. */
void pipeline_set_rules(struct pipeline *p, const struct ruleset *rules, struct rules_ctx *ctx);

/* Connects to BOOTSTRAP, joins the consumer group and starts the commit
 * timer. Returns 0 or a negative errno. */
int pipeline_start(struct pipeline *p, const char *bootstrap);

/* Swaps in a new configuration between two messages. Bounds, commit interval
 * and log level apply at once; Kafka connection settings and topic names are
 * kept until restart (a warning says so). */
void pipeline_set_config(struct pipeline *p, const struct config *cfg);

/* Graceful stop: stop fetching, let in-flight messages finish up to
 * pipeline.drain_timeout, commit what finished, leave the group and flush
 * the producer; then the stopped callback runs. Idempotent. */
void pipeline_drain(struct pipeline *p);

/* Messages polled and not yet finished, over all partitions. */
size_t pipeline_inflight(const struct pipeline *p);

/* Frees everything; the loop must run once more to close handles. NULL is a no-op. */
void pipeline_free(struct pipeline *p);
