/* Process-wide counters, gauges, histograms and labelled series; the one catalogue of them; the
 * /metrics, /livez, /readyz and /healthz HTTP endpoint. */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <uv.h>

#include "config.h"
#include "queues.h"
#include "rules.h"

/* Why an input went to the dead-letter topic: a fixed set, so that the
 * label stays bounded whatever the messages say. */
enum metrics_deadletter {
	METRICS_DL_UNDECODABLE,    /* not a message of its topic's type and format */
	METRICS_DL_INVALID,        /* decoded, but fails validation */
	METRICS_DL_APPEAL,         /* an appeal that cannot be filed or resolved */
	METRICS_DL_OUTPUT_REFUSED, /* a record it caused that Kafka will never take */
	METRICS_DL__COUNT
};

/* The histograms (metrics_hist.c has their buckets). */
enum metrics_hist {
	METRICS_H_ACTION_RULES,      /* content created -> the rules' action */
	METRICS_H_ACTION_DECISIONS,  /* content created -> a decision's action */
	METRICS_H_MESSAGE_CONTENT,   /* content event consumed -> finished */
	METRICS_H_MESSAGE_DECISIONS, /* decision consumed -> finished */
	METRICS_H_ENQUEUE,           /* escalation handed to review -> Redis has it */
	METRICS_H_RULE_EVAL,         /* rules_eval of one event */
	METRICS_H_COMMIT,            /* one transaction commit, the loop waiting */
	METRICS_H__COUNT
};

/* Counters are written by the loop thread and read by the HTTP thread; relaxed
 * atomics are enough for monotonic counters and gauges. */
struct metrics {
	atomic_uint_fast64_t consumed_content;               /* content events polled */
	atomic_uint_fast64_t consumed_decisions;             /* decision events polled */
	atomic_uint_fast64_t deadletters[METRICS_DL__COUNT]; /* by reason class */
	atomic_uint_fast64_t produced;                       /* records acknowledged by Kafka */
	atomic_uint_fast64_t produce_errors; /* failed attempts to produce (retried) */
	atomic_uint_fast64_t audit_records;  /* AuditRecords acknowledged */
	atomic_uint_fast64_t audit_rewrites; /* records a chain held already, not written */
	atomic_uint_fast64_t dsa_incomplete; /* statements lacking what the DSA database needs */
	atomic_uint_fast64_t commits;        /* offset commits that succeeded */
	atomic_uint_fast64_t commit_errors;
	atomic_uint_fast64_t pauses;           /* times the consumer paused on backpressure */
	atomic_uint_fast64_t reloads;          /* configs swapped in */
	atomic_uint_fast64_t reload_failures;  /* configs rejected */
	atomic_uint_fast64_t escalations;      /* escalations the rules asked for */
	atomic_uint_fast64_t attr_type_errors; /* rules_verdict.attr_type_errors, summed */
	atomic_int_fast64_t rules_loaded;      /* rules in the running ruleset */
	atomic_uint_fast64_t review_enqueued;  /* queue entries added */
	atomic_uint_fast64_t review_deduped;   /* escalations found already queued */
	atomic_uint_fast64_t review_retries;   /* enqueues sent again (Redis down, queue full) */
	atomic_uint_fast64_t review_full;      /* enqueues refused by a full queue */
	atomic_uint_fast64_t sla_overdue;      /* entries whose deadline passed */
	atomic_uint_fast64_t sla_raised;       /* overdue entries raised to urgent */
	atomic_uint_fast64_t appeals;          /* appeal records (filed and resolved) */
	atomic_uint_fast64_t counter_calls;    /* content events whose counters Redis was asked */
	atomic_int_fast64_t bank_hashes;       /* hashes in the running ruleset's banks */
	atomic_uint_fast64_t redis_disconnects;
	atomic_int_fast64_t review_pending; /* enqueues not acknowledged by Redis */
	atomic_bool redis_used;             /* review queues are declared: Redis is needed */
	atomic_bool redis_up;
	atomic_int_fast64_t inflight; /* messages polled and not yet finished */
	atomic_int_fast64_t assigned_partitions;
	atomic_bool draining; /* shutdown under way */
	/* Readiness (metrics_not_ready): the group's assignment, and since when
	 * (monotonic ms) the instance holds none after having held one. */
	atomic_bool assigned;
	atomic_int_fast64_t unassigned_since_ms;
	atomic_bool brokers_down; /* all brokers unreachable, by the last word of the client */
	/* Liveness: the loop's last heartbeat (monotonic ms; 0: no loop watched). */
	atomic_int_fast64_t heartbeat_ms;
	double start_time; /* CLOCK_REALTIME at metrics_loop_start, in seconds */
};

/* The one instance; zeroed at start. */
extern struct metrics metrics;

#define metrics_inc(field) atomic_fetch_add_explicit(&metrics.field, 1, memory_order_relaxed)
#define metrics_add(field, n) atomic_fetch_add_explicit(&metrics.field, (n), memory_order_relaxed)
#define metrics_set(field, v) atomic_store_explicit(&metrics.field, (v), memory_order_relaxed)

/* Milliseconds and nanoseconds of CLOCK_MONOTONIC. */
static inline int64_t metrics_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
static inline int64_t metrics_mono_ms(void)
{
	return metrics_mono_ns() / 1000000;
}

/* ---- the catalogue ---- */

enum metrics_type { METRICS_COUNTER, METRICS_GAUGE, METRICS_HISTOGRAM };

/* One metric family as /metrics exposes it and docs/operations.md lists it. */
struct metrics_family {
	const char *name;
	enum metrics_type type;
	const char *labels; /* the label names its samples carry, comma-separated; "" for none */
	const char *help;   /* one line: the HELP text, and the docs' description */
};

/* The catalogue: every family /metrics may expose, in exposition order. It renders the
 * HELP and TYPE lines and feeds the docs (tests/metrics/metrics_list). metrics_family
 * returns family I, or NULL past the last. */
size_t metrics_family_count(void);
const struct metrics_family *metrics_family(size_t i);

/* "counter", "gauge" or "histogram". */
const char *metrics_type_name(enum metrics_type t);

/* Writes the Prometheus text exposition (format 0.0.4) of every family into
 * BUF (always NUL-terminated when SIZE > 0). Returns the length it needed,
 * like snprintf. Every family gets its HELP and TYPE lines, even one that has
 * no sample now. */
int metrics_render(char *buf, size_t size);

/* The same for the families named in NAMES only (comma-separated, NULL for every one): what
 * /metrics?name=A,B serves, for a tool that samples a counter often (scripts/bench, every
 * 10 ms) without paying for the whole exposition each time. */
int metrics_render_only(char *buf, size_t size, const char *names);

/* For tests: every counter, gauge, histogram and labelled series back to
 * its state at start. */
void metrics_reset(void);

/* ---- observations (on the loop) ---- */

/* Counts a dead letter of class WHY. */
void metrics_deadletter(enum metrics_deadletter why);

/* Records one observation of SECONDS into histogram H. */
void metrics_hist_observe(enum metrics_hist h, double seconds);

/* Records into histogram H the time since SINCE_NS, a metrics_mono_ns() reading. */
void metrics_hist_since(enum metrics_hist h, int64_t since_ns);

/* The content-created-to-action latency of an action taken at AT_MS on
 * content created at CREATED_MS, into H (METRICS_H_ACTION_*): nothing when
 * either is unknown (0 or less). */
void metrics_hist_action(enum metrics_hist h, int64_t created_ms, int64_t at_ms);

/* Takes RS as the running ruleset: its rules become the per-rule series
 * (a rule kept by id keeps its counts; a removed one stops being exported),
 * its version the info metric, now its load time. */
void metrics_rules_set(const struct ruleset *rs);

/* Counts verdict V of the ruleset last given to metrics_rules_set: a hit for
 * every matched rule, an action for the rule that set the action, a shadow
 * hit for every matched shadow rule, and its attribute type errors. */
void metrics_rules_verdict(const struct rules_verdict *v);

/* Takes CFG's review queues as the set whose gauges are exported (a queue no
 * longer declared stops being exported); NULL or none: no queue gauges. */
void metrics_review_configure(const struct config *cfg);

/* The stats of queue QUEUE just read from Redis (ignored for a queue not
 * configured). */
void metrics_review_update(const char *queue, const struct queues_stats *st);

/* Partition PARTITION of input topic TOPIC is now assigned (ASSIGNED) to
 * this instance, or revoked: its lag is exported while it is assigned. */
void metrics_kafka_partition(const char *topic, int32_t partition, bool assigned);

/* librdkafka's statistics JSON (JSON, LEN bytes) of the consumer, whose
 * input topics are INPUTS[0..N_INPUTS): updates the lag of every assigned
 * partition, the input topics' partition counts and the brokers' state.
 * Anything malformed is ignored. */
void metrics_kafka_stats(const char *json, size_t len, const char *const *inputs, size_t n_inputs);

/* The client said every broker is down (RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN);
 * the next statistics with a broker up, or an assignment, clear it. */
void metrics_kafka_brokers_down(void);

/* The consumer group gave this instance an assignment (ASSIGNED, however
 * many partitions) or took it away (revoke, lost). */
void metrics_group_assigned(bool assigned);

/* ---- health ---- */

/* Why the instance is not ready (a short phrase), or NULL when it is: ready
 * means not draining, Kafka's brokers reachable, Redis up when review queues
 * are declared, and a current assignment from the consumer group (a
 * rebalance may take it away for up to METRICS_REBALANCE_GRACE_MS). NOW_MS
 * is monotonic. */
const char *metrics_not_ready(int64_t now_ms);
#define METRICS_REBALANCE_GRACE_MS 15000

/* True when the loop's heartbeat is at most METRICS_LIVE_MAX_MS old at NOW_MS
 * (monotonic), or no loop is watched. */
bool metrics_live(int64_t now_ms);
#define METRICS_LIVE_MAX_MS 30000

/* Beats the heart now: the loop is alive. Code that blocks the loop on
 * purpose while making progress (the audit chain recovery) beats it too. */
void metrics_heartbeat(void);

/* Records the process start time (CLOCK_REALTIME) and starts a one-second
 * timer on LOOP that beats the heart. Returns 0 or a libuv error. */
int metrics_loop_start(uv_loop_t *loop);

/* Closes the timer (before the loop's last run). */
void metrics_loop_stop(void);

/* ---- the HTTP endpoint ---- */

struct metrics_server;

/* Starts an HTTP server on LISTEN ("host:port", host may be "*" or an IPv4
 * address) serving from its own thread GET /metrics (Prometheus text),
 * /livez (200 "ok" while metrics_live, else 503), /readyz (200 "ok" while
 * metrics_not_ready says nothing, else 503 with the reason) and /healthz
 * (the same as /readyz). Returns 0 and *out, or a negative errno (-ENOTSUP
 * when built without libmicrohttpd, -EADDRINUSE, -EINVAL for a bad
 * address). */
int metrics_server_start(const char *listen, struct metrics_server **out);

/* The TCP port SRV listens on (the one the system chose for a listen address with port 0),
 * or 0 when unknown. */
int metrics_server_port(const struct metrics_server *srv);

/* Stops the server and joins its thread. NULL is a no-op. */
void metrics_server_stop(struct metrics_server *srv);
