/* Process-wide counters and the /metrics + /healthz HTTP endpoint. */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Counters are written by the loop thread and read by the HTTP thread; relaxed
 * atomics are enough for monotonic counters and gauges. */
struct metrics {
	atomic_uint_fast64_t consumed_content;   /* content events polled */
	atomic_uint_fast64_t consumed_decisions; /* decision events polled */
	atomic_uint_fast64_t deadletters;        /* messages sent to the dead-letter topic */
	atomic_uint_fast64_t produced;           /* records acknowledged by Kafka */
	atomic_uint_fast64_t produce_errors;     /* failed delivery reports (retried) */
	atomic_uint_fast64_t audit_records;      /* AuditRecords acknowledged */
	atomic_uint_fast64_t audit_rewrites;     /* records a chain held already, not written */
	atomic_uint_fast64_t dsa_incomplete; /* statements lacking what the DSA database needs */
	atomic_uint_fast64_t commits;        /* offset commits that succeeded */
	atomic_uint_fast64_t commit_errors;
	atomic_uint_fast64_t pauses;          /* times the consumer paused on backpressure */
	atomic_uint_fast64_t reloads;         /* configs swapped in */
	atomic_uint_fast64_t reload_failures; /* configs rejected */
	atomic_uint_fast64_t rule_actions;    /* content events the rules acted on */
	atomic_uint_fast64_t escalations;     /* escalations the rules asked for */
	atomic_uint_fast64_t shadow_hits;     /* shadow rules that matched */
	atomic_int_fast64_t rules_loaded;     /* rules in the running ruleset */
	atomic_uint_fast64_t review_enqueued; /* queue entries added */
	atomic_uint_fast64_t review_deduped;  /* escalations found already queued */
	atomic_uint_fast64_t review_retries;  /* enqueues sent again (Redis down, queue full) */
	atomic_uint_fast64_t review_full;     /* enqueues refused by a full queue */
	atomic_uint_fast64_t sla_overdue;     /* entries whose deadline passed */
	atomic_uint_fast64_t sla_raised;      /* overdue entries raised to urgent */
	atomic_uint_fast64_t appeals;         /* appeal records (filed and resolved) */
	atomic_uint_fast64_t redis_disconnects;
	atomic_int_fast64_t review_pending; /* enqueues not acknowledged by Redis */
	atomic_bool redis_up;
	atomic_int_fast64_t inflight; /* messages polled and not yet finished */
	atomic_int_fast64_t assigned_partitions;
	atomic_bool ready;    /* partitions assigned, producer up */
	atomic_bool draining; /* shutdown under way */
};

/* The one instance; zeroed at start. */
extern struct metrics metrics;

#define metrics_inc(field) atomic_fetch_add_explicit(&metrics.field, 1, memory_order_relaxed)
#define metrics_add(field, n) atomic_fetch_add_explicit(&metrics.field, (n), memory_order_relaxed)
#define metrics_set(field, v) atomic_store_explicit(&metrics.field, (v), memory_order_relaxed)

struct metrics_server;

/* Writes the Prometheus text exposition of every counter into BUF (always
 * NUL-terminated). Returns the length it needed, like snprintf. */
int metrics_render(char *buf, size_t size);

/* Starts an HTTP server on LISTEN ("host:port", host may be "*" or an IPv4
 * address) serving GET /metrics (Prometheus text) and GET /healthz (200 "ok"
 * when ready and not draining, 503 otherwise) from its own thread. Returns 0
 * and *out, or a negative errno (-ENOTSUP when built without libmicrohttpd,
 * -EADDRINUSE, -EINVAL for a bad address). */
int metrics_server_start(const char *listen, struct metrics_server **out);

/* The TCP port SRV listens on (the one the system chose for a listen address with port 0),
 * or 0 when unknown. */
int metrics_server_port(const struct metrics_server *srv);

/* Stops the server and joins its thread. NULL is a no-op. */
void metrics_server_stop(struct metrics_server *srv);
