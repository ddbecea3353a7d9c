/* Windowed counters of the rules, the pure part: the Redis layout, the Lua script and its command
 * and reply for one event's counter operations, and an in-process store for arbiterctl eval. */
#pragma once

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "queues.h"
#include "rules.h"

/* Layout (PREFIX is redis.prefix; ID a counter's id, BY the digest of its group, both hex):
 *   PREFIX ctr:ID:BY          COUNT: sorted set of event-id digests scored by event time
 *                             (ms). An event is added with ZADD NX, so a redelivered one
 *                             counts once; entries at or before the event's time less the
 *                             window are trimmed, and past the counter's cap the oldest go.
 *                             Value: entries in (time - window, time]. Expires a window and a
 *                             tenth after its last event.
 *   PREFIX ctd:ID:BY:BUCKET   DISTINCT: HyperLogLog of value digests, one per tenth of the
 *                             window (BUCKET = time / bucket); value: the union (PFCOUNT) of
 *                             the buckets covering the window, so between 1 and 1.1 windows
 *                             back, within HyperLogLog's 0.81% standard error. Each bucket
 *                             expires a window and a bucket after its last event.
 * Exact counts with a bounded sorted set for count (thresholds of bursts are small and must hold
 * exactly at the threshold), a fixed 12 KiB at most per bucket for distinct (a campaign may have
 * thousands of authors). Every key has a TTL; every operation is idempotent. The script builds
 * bucket keys it cannot declare: one Redis (or a primary with replicas), not Redis Cluster. */

/* The number of buckets of a DISTINCT window, and each one's length. */
#define COUNTERS_BUCKETS 10

/* The Lua source and its hex SHA-1, for EVALSHA. */
const char *counters_script_body(void);
const char *counters_script_sha(void);

/* Builds the one EVALSHA that runs OPS (N of them, rules_eval_begin's on RS) in one round trip:
 * each adds its event to its counter and reads the counter's value. The command falls back to
 * EVAL by itself (queues_cmd_use_eval). Returns 0 or -ENOMEM. */
int counters_cmd(const struct config *cfg, const struct ruleset *rs,
		 const struct rules_counter_op *ops, size_t n, struct queues_cmd *out);

/* Reads the script's reply R into VALUES, one per operation (N). Returns 0, or -EPROTO when R
 * is not an array of N non-negative integers. */
int counters_reply(const redisReply *r, size_t n, uint64_t *values);

/* An in-process store with the same meaning (distinct values exact rather than estimated), for
 * arbiterctl eval over a file without Redis. Memory grows with the events counted and is
 * trimmed to each window as time moves on; at most COUNTERS_MEM_MAX entries in all. */
#define COUNTERS_MEM_MAX 4000000

struct counters_mem;

struct counters_mem *counters_mem_new(void);
void counters_mem_free(struct counters_mem *m);

/* Runs OPS (N of them, on RS) against M: VALUES[i] is counter i's value once its event is
 * added. Returns 0, -ENOMEM, or -ENOSPC past COUNTERS_MEM_MAX (nothing added). */
int counters_mem_run(struct counters_mem *m, const struct ruleset *rs,
		     const struct rules_counter_op *ops, size_t n, uint64_t *values);
