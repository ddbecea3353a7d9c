/* Inside the pipeline: the state its four files share and the calls between them; no other module
 * includes it.
 *   pipeline.c           the message lifecycle: in, records out with retries, commits, drain
 *   pipeline_content.c   a content event: rules, audit record, escalations
 *   pipeline_decision.c  a moderation decision: audit record, decision state, appeals
 *   pipeline_parts.c     partition assignment and revocation, audit chain recovery */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "audit.h"
#include "metrics.h"
#include "offsets.h"
#include "pipeline.h"
#include "records.h"
#include "review.h"

/* One assigned input partition. It outlives its assignment while messages it
 * handed out are still in flight (refs), so that late delivery reports find
 * it; a revoked partition is never committed again. */
struct pipeline_part {
	enum kafka_input input;
	int32_t partition;
	struct offsets_window *win;
	struct audit_chain *chain; /* of the audit records its messages cause */
	uint32_t refs;
	bool revoked;
	/* With transactions: its messages not yet released, in offset order. */
	struct pipeline_msg *held_head, *held_tail;
	bool releasing;
};

/* A message whose side effects are not all acknowledged yet.
 *
 * With kafka.exactly_once, a transaction must hold the records of exactly the input offsets
 * it commits. Offsets commit per partition up to the first unfinished message, so a message's
 * records are held back until it is released: when its own work other than its records (the
 * handler, Redis) is done and every earlier message of its partition is released. Released
 * messages are a prefix of each partition; once their records are acknowledged they are
 * finished, and a commit takes exactly them. */
struct pipeline_msg {
	struct pipeline *p;
	struct pipeline_part *part;
	uint64_t seq;
	int64_t offset;
	uint32_t pending; /* work outstanding: records, Redis calls, the handler itself */
	uint32_t n_out;   /* of which records, held or produced, not yet acknowledged */
	bool released;    /* its records go to the producer as they are emitted */
	bool abandoned;   /* some of its work will never be done: it never finishes */
	struct pipeline_retry *held, **held_last; /* records waiting for the release */
	struct pipeline_msg *held_next;           /* in its partition's queue */
	int64_t consumed_ns; /* when it was polled (monotonic), for its duration */
};

/* A record whose produce failed or whose delivery failed for good; it is
 * produced again after a backoff, and its message stays unfinished. Also a record held back
 * until its message is released. */
struct pipeline_retry {
	struct pipeline_retry *next;
	enum kafka_output out;
	int32_t partition; /* explicit (audit chains), or RD_KAFKA_PARTITION_UA */
	char suffix[8];    /* of a per-country topic, or "" */
	struct records_buf buf;
	size_t key_len;
	struct pipeline_msg *msg;
	char key[];
};

struct pipeline {
	uv_loop_t *loop;
	const struct config *cfg;
	const struct ruleset *rules;
	struct rules_ctx *rctx;
	struct kafka *kafka;
	struct review *review; /* NULL when no review queue is declared */
	struct pipeline_hooks hooks;

	struct pipeline_part **parts[KAFKA_IN__COUNT]; /* indexed by partition id */
	size_t n_parts[KAFKA_IN__COUNT];
	int32_t audit_partitions;  /* of the audit topic, where the chains go */
	char writer[320];          /* "HOST/PID/MEMBER-ID": who writes our audit records */
	struct dsa_memo *dsa_memo; /* statement checks of audit records, by shape */

	size_t inflight;
	bool backpressure; /* inflight reached the bound */
	bool redis_down;   /* review queues unreachable */
	bool draining;
	bool stopped_called;
	bool fatal;

	uv_timer_t commit_timer;
	uv_timer_t drain_timer;
	uv_timer_t retry_timer;
	uv_async_t fatal_async; /* fatal errors are reported from librdkafka threads too */
	int open_handles;
	struct pipeline_retry *retries;
	uint64_t retry_backoff_ms;
	uint64_t drain_deadline;
	bool transactional;       /* kafka.exactly_once */
	size_t released_since;    /* messages released since the last transaction */
	bool produced_since;      /* records produced since the last transaction */
	bool txn_void;            /* a transaction aborted: nothing commits until the revoke */
	bool revoking;            /* in pipeline_parts_revoked */
	uint64_t postponed_since; /* uv_now() of the first commit tick postponed in a row; 0 */
	uv_idle_t commit_soon;    /* a commit as soon as the loop is free: the message bound */

	int64_t consumed_ns;    /* when the message being handled was polled (monotonic) */
	int64_t wall_offset_ns; /* CLOCK_REALTIME less CLOCK_MONOTONIC, as read at wall_read_ns */
	int64_t wall_read_ns;   /* 0: not read yet */
};

/* ---- pipeline.c: the message lifecycle ---- */

/* Tracks message OFFSET (sequence SEQ) of PART while its records are out;
 * the caller counts them in pending. NULL when out of memory. */
struct pipeline_msg *pipeline_msg_new(struct pipeline *p, struct pipeline_part *part, uint64_t seq,
				      int64_t offset);
/* Frees M, just made by pipeline_msg_new and given no work (its handler failed before
 * anything was sent): it is neither finished nor abandoned, and its input stays unhandled. */
void pipeline_msg_discard(struct pipeline *p, struct pipeline_msg *m);
/* One piece of M's work is done (a Redis reply, the handler's own): M finishes with its last
 * one, or with transactions may be released. */
void pipeline_msg_settle(struct pipeline_msg *m);
/* One record of M is acknowledged (or dealt with for good). */
void pipeline_msg_record_done(struct pipeline_msg *m);
/* With transactions: drops the held records of PART's unreleased messages, which are then
 * abandoned: never finished, their offsets never committed (revoked: the next owner redoes
 * them; closing: the next start does). */
void pipeline_msg_drop_held(struct pipeline *p, struct pipeline_part *part);
/* One record of M will never be acknowledged (the daemon is closing): M is
 * dropped without finishing, so its offset is never committed. */
void pipeline_msg_abandon(struct pipeline *p, struct pipeline_msg *m);
/* The message SEQ of PART has nothing left to do (it caused no record). */
void pipeline_finish(struct pipeline *p, struct pipeline_part *part, uint64_t seq);

/* The wall clock (ms since the epoch) when the message being handled was polled: its
 * monotonic time and the offset between the clocks, read again once 10 ms old, so that a
 * message costs one clock read and not two (each is some 25 ns through the vDSO of a VM). */
int64_t pipeline_now_ms(struct pipeline *p);
/* Out of memory in the middle of a message (WHAT it was doing): stops the
 * pipeline, since the message can neither finish nor be left behind. */
void pipeline_oom(struct pipeline *p, const char *what);
/* The open transaction must be aborted (WHY: one of its records was refused): nothing commits
 * until the rejoin's revoke aborts it and every partition starts again from its committed
 * offset. Once per transaction; a no-op without transactions. */
void pipeline_txn_void(struct pipeline *p, const char *why);
/* A record of M was refused because its transaction must be aborted: M goes with the
 * transaction, unfinished, and its input is handed out again by the rejoin. */
void pipeline_msg_void(struct pipeline *p, struct pipeline_msg *m);
/* An unrecoverable error: the pipeline stops; callable from any thread
 * (it is the Kafka client's fatal handler too). */
void pipeline_on_fatal(void *opaque, const char *reason);
/* Pauses the input while there is no room in flight, Redis is down or a
 * drain is under way; resumes it otherwise. */
void pipeline_update_pause(struct pipeline *p);

/* Produces BUF (taking it) on behalf of M to OUT's topic, or to its
 * per-country topic for SUFFIX (pipeline_emit: none); a record Kafka does
 * not take now is retried, one it will never take goes to the dead letters. */
void pipeline_emit(struct pipeline *p, struct pipeline_msg *m, enum kafka_output out,
		   const void *key, size_t key_len, struct records_buf *buf);
void pipeline_emit_to(struct pipeline *p, struct pipeline_msg *m, enum kafka_output out,
		      const char *suffix, const void *key, size_t key_len, struct records_buf *buf);

/* What an audit record is built from: a verdict V on EV, or decision D. */
struct pipeline_audit {
	const struct records_source *src;
	const Arbiter__V1__ContentEvent *ev;
	const struct rules_verdict *v;
	const Arbiter__V1__ModerationDecision *d;
	int64_t now;
};
/* Writes audit record A of M as the next link of its partition's chain.
 * Returns 0 or -ENOMEM. */
int pipeline_emit_audit(struct pipeline *p, struct pipeline_msg *m, const char *key,
			const struct pipeline_audit *a);

/* Sends input message RKM (sequence SEQ of PART) to the dead letters with
 * REASON, counted as class WHY; it finishes once the dead letter is
 * acknowledged. */
void pipeline_deadletter(struct pipeline *p, struct pipeline_part *part, uint64_t seq,
			 const rd_kafka_message_t *rkm, enum metrics_deadletter why,
			 const char *reason);

/* Hands escalation BUF (packed; the queue copies it) to review queue Q on
 * behalf of M, with EXCLUDE (or NULL) as the reviewer who must not claim it
 * and, for an appeal, its APPEAL_ID; M finishes once Redis has it. Returns
 * 0 or a negative errno. */
int pipeline_review_enqueue(struct pipeline *p, struct pipeline_msg *m,
			    const struct config_queue *q, const struct records_buf *buf,
			    const char *exclude, const char *appeal_id);

/* How long a flush for a commit waits for the records: a commit tick's 1 s, a revoke's
 * (SYNC) 10 s (with transactions half the group session, at most 10 s), or during the drain
 * what is left of it, at least 1 s (what is still unacknowledged then dies with the
 * process). */
int pipeline_flush_ms(struct pipeline *p, bool sync);

/* Commits the partitions whose commit offset moved (of ONLY, or all when
 * NULL), waiting for the broker when SYNC. With transactions, every partition's, and
 * returns 0 once committed (or with nothing to commit), -EAGAIN when the transaction is
 * still open (records unacknowledged, or a retriable failure), -ECANCELED when it was
 * aborted (the group is rejoined), -EPERM or -EIO when the producer is fenced or broken
 * (the instance stops). Without, 0. */
int pipeline_commit(struct pipeline *p, const rd_kafka_topic_partition_list_t *only, bool sync);

/* ---- pipeline_content.c ---- */

/* P's ruleset changed (or is new): the metrics that describe it. */
void pipeline_content_ruleset(struct pipeline *p);

/* Handles content event RKM, sequence SEQ of PART: decoded, evaluated, and
 * its audit record and escalations out (or a dead letter). */
void pipeline_content_handle(struct pipeline *p, struct pipeline_part *part, uint64_t seq,
			     const rd_kafka_message_t *rkm);

/* ---- pipeline_decision.c ---- */

/* Handles moderation decision RKM, sequence SEQ of PART: its audit record
 * and decision state, or for an appeal the appeal's records and entry (or
 * a dead letter). */
void pipeline_decision_handle(struct pipeline *p, struct pipeline_part *part, uint64_t seq,
			      const rd_kafka_message_t *rkm);

/* Records decision D_ID (ACTION by ACTOR/REVIEWER at AT) in Redis as the
 * state of CONTENT, which an appeal is checked against; M finishes once
 * Redis has it. */
void pipeline_decision_record_state(struct pipeline *p, struct pipeline_msg *m, const char *content,
				    Arbiter__V1__Action action, Arbiter__V1__Actor actor,
				    const char *reviewer, const char *d_id, int64_t at);

/* ---- pipeline_parts.c ---- */

/* The assigned partition PARTITION of IN, or NULL. */
struct pipeline_part *pipeline_parts_get(struct pipeline *p, enum kafka_input in,
					 int32_t partition);
/* The input TOPIC is, or KAFKA_IN__COUNT. */
enum kafka_input pipeline_parts_input(struct pipeline *p, const char *topic);
/* Drops a reference to PART, freeing it with the last. */
void pipeline_parts_unref(struct pipeline_part *part);
/* Drops every partition still assigned (at free). */
void pipeline_parts_free(struct pipeline *p);

/* The Kafka client's rebalance handlers: partitions assigned (each with
 * its audit chain recovered) and about to be revoked (committed first). */
void pipeline_parts_assigned(void *opaque, const rd_kafka_topic_partition_list_t *parts);
void pipeline_parts_revoked(void *opaque, const rd_kafka_topic_partition_list_t *parts);
