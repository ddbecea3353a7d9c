/* Kafka on the libuv loop: one group consumer for the inputs, one idempotent producer for the
 * outputs. */
#pragma once

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <uv.h>

#include "config.h"
#include "log.h"
#include "records.h"

/* Our level for a librdkafka log line of syslog level LEVEL: emergency to
 * error (0-3) are errors, warning (4) a warning, notice and info (5-6) info,
 * debug (7) debug. Every librdkafka log callback goes through it. */
enum log_level kafka_log_level(int level);

/* Sets CFG's kafka.properties on CONF, in the file's order ({file: PATH} values were read by
 * config_load), as every client of arbiterd gets them; arbiterctl's clients share it. Returns
 * 0, or -EINVAL with each property librdkafka refused logged (the others are set). */
int kafka_conf_properties(rd_kafka_conf_t *conf, const struct config *cfg);

/* Sends CONF's client's log lines to our log (subsystem kafka, levels by kafka_log_level),
 * leaving out as debug the warnings that a property is for the other kind of client. */
void kafka_conf_log(rd_kafka_conf_t *conf);

enum kafka_input { KAFKA_IN_CONTENT = 0, KAFKA_IN_DECISIONS, KAFKA_IN__COUNT };

enum kafka_output {
	KAFKA_OUT_ESCALATIONS = 0,
	KAFKA_OUT_AUDIT,
	KAFKA_OUT_APPEALS,
	KAFKA_OUT_DEADLETTER,
	KAFKA_OUT__COUNT
};

/* Callbacks, all invoked on the loop thread. */
struct kafka_handlers {
	void *opaque;
	/* A consumed message; the handler owns it (rd_kafka_message_destroy).
	 * INPUT tells which configured input topic it came from. */
	void (*message)(void *opaque, enum kafka_input input, rd_kafka_message_t *msg);
	/* Partitions were assigned; fetching starts after this returns. */
	void (*assigned)(void *opaque, const rd_kafka_topic_partition_list_t *parts);
	/* Partitions are about to be revoked: last chance to commit them
	 * (kafka_commit with sync set). */
	void (*revoked)(void *opaque, const rd_kafka_topic_partition_list_t *parts);
	/* A produced record was acknowledged or failed for good; msg->_private
	 * is the opaque given to kafka_produce. */
	void (*delivered)(void *opaque, const rd_kafka_message_t *msg);
	/* An asynchronous commit finished. */
	void (*committed)(void *opaque, rd_kafka_resp_err_t err,
			  const rd_kafka_topic_partition_list_t *offsets);
	/* An unrecoverable client error (e.g. the idempotent producer fenced):
	 * the daemon must stop; uncommitted input will be redelivered. May be
	 * called from a librdkafka thread. */
	void (*fatal)(void *opaque, const char *reason);
	/* How many more messages the pipeline takes now (its in-flight bound
	 * minus what is in flight). The consumer is still served at 0, for
	 * rebalances and liveness, but hands out at most one message. */
	size_t (*budget)(void *opaque);
};

struct kafka;

/* Creates the consumer and producer for CFG against BOOTSTRAP (the broker
 * list, or the embedded mock's address) and hooks their queues into LOOP.
 * Nothing is fetched before kafka_subscribe. Returns 0 and *out, or -EINVAL
 * with the offending librdkafka property logged, or -ENOMEM. */
int kafka_new(uv_loop_t *loop, const struct config *cfg, const char *bootstrap,
	      const struct kafka_handlers *h, struct kafka **out);

/* Joins the consumer group on the two input topics. Returns 0 or -EIO. */
int kafka_subscribe(struct kafka *k);

/* Produces BUF to output O with KEY (copied); on success the buffer is handed
 * to librdkafka (buf->data set to NULL) and OPAQUE comes back in the delivery
 * report. Returns 0, -ENOBUFS when the producer queue is full (retry later),
 * -EMSGSIZE when the record is larger than the topic takes, -ECANCELED when the
 * open transaction takes no more records (it must be aborted, or is being ended),
 * or -EIO. */
int kafka_produce(struct kafka *k, enum kafka_output o, const void *key, size_t key_len,
		  struct records_buf *buf, void *opaque);

/* kafka_produce to the topic "<output O's topic>.<SUFFIX>" (a per-country
 * topic such as moderation.escalations.KE), or to O's topic when SUFFIX is
 * NULL or empty. */
int kafka_produce_to(struct kafka *k, enum kafka_output o, const char *suffix, int32_t partition,
		     const void *key, size_t key_len, struct records_buf *buf, void *opaque);

/* The number of partitions of output O's topic, or a negative errno. Blocks
 * up to TIMEOUT_MS. */
int kafka_partition_count(struct kafka *k, enum kafka_output o, int timeout_ms);

/* Start-up check of the outputs, asking the brokers at BOOTSTRAP (the list
 * the clients were given) for up to TIMEOUT_MS: *AUDIT_PARTITIONS gets the
 * audit topic's partition count. Returns 0; -EHOSTUNREACH when no broker
 * answered (logged: which brokers, for how long it tried); -ENOENT when the
 * audit topic does not exist (logged). Any other missing output topic is
 * logged as an error at once but not refused: its records are retried until
 * it exists. */
int kafka_check_outputs(struct kafka *k, const char *bootstrap, int timeout_ms,
			int *audit_partitions);

/* The group's committed offset (the next to read) of input IN's partition
 * PARTITION into *OFFSET, negative when none is committed. Blocks up to
 * TIMEOUT_MS: for the audit chain recovery at assignment. Returns 0 or -EIO. */
int kafka_committed(struct kafka *k, enum kafka_input in, int32_t partition, int timeout_ms,
		    int64_t *offset);

/* The consumer's group member id into OUT (NUL-terminated, "" before the
 * first join). */
void kafka_member_id(const struct kafka *k, char *out, size_t len);

typedef void (*kafka_tail_cb)(void *opaque, const rd_kafka_message_t *m);

/* Reads output O's partition PARTITION from max(start, end - COUNT) to its
 * end as it is now, calling CB for every record in order; *WHOLE tells
 * whether that was the whole partition. Blocks the caller up to TIMEOUT_MS:
 * it is for the audit chain recovery at assignment, before anything is
 * written to the chain. Returns 0, -ETIMEDOUT or -EIO. */
int kafka_read_tail(struct kafka *k, enum kafka_output o, int32_t partition, int64_t count,
		    int timeout_ms, kafka_tail_cb cb, void *opaque, bool *whole);

/* The output whose topic TOPIC is, or "<its topic>.<suffix>"; *SUFFIX then
 * points into TOPIC (NULL for the plain topic). KAFKA_OUT__COUNT if none. */
enum kafka_output kafka_output_of(const struct kafka *k, const char *topic, const char **suffix);

/* Commits OFFSETS (offset = next message to read). SYNC blocks the loop until
 * the broker answers; use it only on revoke and at shutdown. Returns 0 or -EIO. */
int kafka_commit(struct kafka *k, const rd_kafka_topic_partition_list_t *offsets, bool sync);

/* With kafka.exactly_once: commits the open transaction, with OFFSETS (the input offsets whose
 * every record is in it; may be NULL or empty) sent to it under the consumer group's current
 * generation, then opens the next one. Blocks up to the transaction timeout, or until
 * kafka_txn_deadline's deadline; QUICK (a commit tick's) gives each step 2 s, so that a
 * coordinator gone away does not hold the loop. Returns 0; -EAGAIN when it may be tried again
 * (the offsets were not taken, the transaction is still open; or the commit timed out and is
 * pending, see kafka_txn_resume); -ECANCELED when it was aborted (its records are gone and its
 * offsets uncommitted: the input since the last commit must be handled again; a new
 * transaction is open, or an abort pending); -EPERM when the producer is fenced or broken for
 * good (the instance must stop); -EINVAL without kafka.exactly_once. */
int kafka_txn_commit(struct kafka *k, const rd_kafka_topic_partition_list_t *offsets, bool quick);
/* With kafka.exactly_once: registers the transactional id (fencing an earlier incarnation of
 * it) and opens the first transaction; a no-op without. Blocks up to 30 s: at start only,
 * once the brokers are known to answer. Returns 0 or -EIO (said). */
int kafka_txn_start(struct kafka *k);
/* Aborts the open transaction and opens the next one: for a revoke whose records must never
 * commit. QUICK gives the coordinator 2 s (the loop is blocked meanwhile), else the
 * transaction timeout or the deadline. An abort that times out goes on in the background and
 * is pending (kafka_txn_resume). With a commit pending there is nothing to abort: that
 * transaction holds only what was produced before it. Returns 0; -EAGAIN when pending;
 * -EPERM (fatal) or -EIO. */
int kafka_txn_abort(struct kafka *k, bool quick);
/* True while a commit or an abort that timed out is pending: until a later call finishes it
 * nothing may be produced, fetching is paused, and kafka_txn_commit returns -EAGAIN. */
bool kafka_txn_pending(const struct kafka *k);
/* Finishes a pending commit or abort (a no-op without one; QUICK as above) and opens the next
 * transaction. Past the drain's deadline it is left to the coordinator. Returns 0 when none is
 * pending any more, or as kafka_txn_commit (a pending one: -EAGAIN) or kafka_txn_abort. */
int kafka_txn_resume(struct kafka *k, bool quick);
/* From now on each transactional call (a commit, its offsets, an abort) waits until DEADLINE
 * (uv_now's clock), or 2 s when less is left, instead of the transaction timeout (30 s): for
 * shutdown, which must not outlast the drain's deadline by much. A commit cut short is
 * aborted, or left for the coordinator to abort. */
void kafka_txn_deadline(struct kafka *k, uint64_t deadline);
bool kafka_transactional(const struct kafka *k);
/* Leaves the group and joins it again: every partition is revoked and assigned afresh from
 * its committed offset. For after an aborted transaction; a no-op once the consumer is
 * closing. Returns 0 or -EIO. */
int kafka_rejoin(struct kafka *k);

/* Pauses (or resumes) fetching on every assigned partition, and on
 * partitions assigned later while paused. Pausing drops what was pre-fetched;
 * resuming fetches again from the last message handed out. Fetching stays paused
 * as well while a transactional call is pending (kafka_txn_pending). */
void kafka_set_paused(struct kafka *k, bool paused);
bool kafka_paused(const struct kafka *k);

/* The topic name of input I or output O. */
const char *kafka_input_topic(const struct kafka *k, enum kafka_input i);
const char *kafka_output_topic(const struct kafka *k, enum kafka_output o);

/* Leaves the group (revoke runs first) and stops consuming. Blocks briefly.
 * Idempotent. */
void kafka_close_consumer(struct kafka *k);

/* After this no handler is called again: for teardown, once the owner of the
 * handlers is going away. */
void kafka_detach(struct kafka *k);

/* Drops every record not yet acknowledged (at exit, after the last flush);
 * their delivery reports, with a purge error, are served before it returns. */
void kafka_purge(struct kafka *k);

/* True when the current assignment was lost (session timeout, fencing):
 * commits for it would fail. */
bool kafka_assignment_lost(const struct kafka *k);
/* The consumer's session.timeout.ms, as configured. */
int kafka_session_ms(const struct kafka *k);

/* Waits up to TIMEOUT_MS for every produced record to be acknowledged,
 * serving delivery reports meanwhile. Returns 0 or -ETIMEDOUT. */
int kafka_flush(struct kafka *k, int timeout_ms);

/* Records produced and not yet acknowledged. */
int kafka_outq_len(const struct kafka *k);

/* Closes the loop handles; the clients are destroyed once the loop has run
 * their close callbacks. NULL is a no-op. */
void kafka_free(struct kafka *k);
