/* The per-message state machine: consume, hand each message to its path, emit, and commit only what
 * is finished. */
#include "pipeline.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dsa.h"
#include "log.h"
#include "metrics.h"
#include "pipeline_impl.h"

static void pipeline_check_stopped(struct pipeline *p);
static void pipeline_retry_cb(uv_timer_t *t);

void pipeline_update_pause(struct pipeline *p)
{
	if (p->kafka)
		kafka_set_paused(p->kafka, p->backpressure || p->redis_down || p->draining);
}

struct pipeline_msg *pipeline_msg_new(struct pipeline *p, struct pipeline_part *part, uint64_t seq,
				      int64_t offset)
{
	struct pipeline_msg *m = malloc(sizeof(*m));
	if (!m)
		return NULL;
	*m = (struct pipeline_msg){
		.p = p, .part = part, .seq = seq, .offset = offset, .consumed_ns = p->consumed_ns};
	m->held_last = &m->held;
	m->released = !p->transactional;
	if (!m->released) {
		if (part->held_tail)
			part->held_tail->held_next = m;
		else
			part->held_head = m;
		part->held_tail = m;
	}
	return m;
}

void pipeline_msg_discard(struct pipeline *p, struct pipeline_msg *m)
{
	struct pipeline_part *part = m->part;
	if (!m->released) {
		/* Unlinked from its partition's queue, whose tail is found again. */
		struct pipeline_msg **at = &part->held_head;
		while (*at && *at != m)
			at = &(*at)->held_next;
		if (*at)
			*at = m->held_next;
		part->held_tail = NULL;
		for (struct pipeline_msg *q = part->held_head; q; q = q->held_next)
			part->held_tail = q;
	}
	free(m);
}

/* The message SEQ of PART, polled at CONSUMED_NS, has nothing left to do. */
static void pipeline_finish_at(struct pipeline *p, struct pipeline_part *part, uint64_t seq,
			       int64_t consumed_ns)
{
	metrics_hist_since(part->input == KAFKA_IN_CONTENT ? METRICS_H_MESSAGE_CONTENT :
							     METRICS_H_MESSAGE_DECISIONS,
			   consumed_ns);
	/* Only a bug finishes a message twice: the window refuses it. */
	if (!log_assert(offsets_window_done(part->win, seq) == 0))
		log_error(pipeline, "%s[%" PRId32 "] seq %" PRIu64 " finished twice",
			  kafka_input_topic(p->kafka, part->input), part->partition, seq);
	pipeline_parts_unref(part);
	p->inflight--;
	metrics_set(inflight, (int_fast64_t)p->inflight);
	if (p->backpressure && p->inflight <= p->cfg->pipeline.max_inflight / 2) {
		p->backpressure = false;
		pipeline_update_pause(p);
		log_debug(pipeline, "resumed at %zu in flight", p->inflight);
	}
	if (p->draining)
		pipeline_check_stopped(p);
}

/* Called by the handlers only, for the message in hand. */
void pipeline_finish(struct pipeline *p, struct pipeline_part *part, uint64_t seq)
{
	pipeline_finish_at(p, part, seq, p->consumed_ns);
}

static void pipeline_msg_done(struct pipeline *p, struct pipeline_msg *m)
{
	pipeline_finish_at(p, m->part, m->seq, m->consumed_ns);
	free(m);
}

static void pipeline_release(struct pipeline *p, struct pipeline_part *part);
static void pipeline_msg_forget(struct pipeline *p, struct pipeline_msg *m);
static void pipeline_commit_soon_cb(uv_idle_t *idle);

void pipeline_msg_settle(struct pipeline_msg *m)
{
	m->pending--;
	if (!m->released) {
		pipeline_release(m->p, m->part);
		return;
	}
	if (m->pending == 0 && m->abandoned)
		pipeline_msg_forget(m->p, m);
	else if (m->pending == 0)
		pipeline_msg_done(m->p, m);
}

void pipeline_msg_record_done(struct pipeline_msg *m)
{
	m->n_out--;
	pipeline_msg_settle(m);
}

/* One record of M will never be acknowledged (purged at exit): drop the
 * bookkeeping without finishing the message, whose offset is then never
 * committed and so redelivered after restart. */
void pipeline_msg_abandon(struct pipeline *p, struct pipeline_msg *m)
{
	m->pending--;
	m->abandoned = true;
	/* Unreleased, it stays in its partition's queue, which it blocks as it blocks the
	 * partition's commits: pipeline_msg_drop_held frees it. */
	if (m->pending || !m->released)
		return;
	pipeline_msg_forget(p, m);
}

void pipeline_msg_void(struct pipeline *p, struct pipeline_msg *m)
{
	pipeline_txn_void(p, "a record was refused, so the transaction must be aborted");
	m->n_out--;
	pipeline_msg_abandon(p, m);
}

static void pipeline_msg_forget(struct pipeline *p, struct pipeline_msg *m)
{
	pipeline_parts_unref(m->part);
	p->inflight--;
	metrics_set(inflight, (int_fast64_t)p->inflight);
	free(m);
}

/* Out of memory in the middle of a message: leaving it unfinished would
 * freeze its partition's commits, finishing it would lose it. Stop instead;
 * a restart redelivers everything uncommitted. */
void pipeline_oom(struct pipeline *p, const char *what)
{
	log_error(pipeline, "out of memory %s: stopping", what);
	p->fatal = true;
	uv_async_send(&p->fatal_async);
}

/* Errors a record earns by itself (its size or shape): retrying cannot help. */
static bool pipeline_err_is_permanent(rd_kafka_resp_err_t err)
{
	return err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ||
	       err == RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE ||
	       err == RD_KAFKA_RESP_ERR_INVALID_RECORD ||
	       err == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE ||
	       err == RD_KAFKA_RESP_ERR_INVALID_MSG;
}

/* A record of M that Kafka will never take (too large, invalid): it goes to
 * the dead-letter topic instead, with the reason, and M moves on. Bad input
 * must not stall its partition. A dead letter that is itself refused is
 * logged and dropped. */
static void pipeline_reject(struct pipeline *p, struct pipeline_msg *m, enum kafka_output out,
			    const void *data, size_t len, const char *why)
{
	metrics_inc(produce_errors);
	if (out != KAFKA_OUT_DEADLETTER) {
		char reason[256];
		struct records_source src = {kafka_input_topic(p->kafka, m->part->input),
					     m->part->partition, m->offset};
		struct records_buf buf;
		snprintf(reason, sizeof(reason), "cannot write the %s record: %s",
			 kafka_output_topic(p->kafka, out), why);
		log_error_at(pipeline,
			     LOG_FIELDS(LOG_STR("topic", src.topic),
					LOG_NUM("partition", src.partition),
					LOG_NUM("offset", src.offset)),
			     "%s[%" PRId32 "]@%" PRId64 ": %s", src.topic, src.partition,
			     src.offset, reason);
		if (records_deadletter(&src, NULL, 0, data, len, reason,
				       p->cfg->pipeline.deadletter_max_bytes, log_now_ms(),
				       &buf) < 0) {
			pipeline_oom(p, "building a dead letter");
			return;
		}
		metrics_deadletter(METRICS_DL_OUTPUT_REFUSED);
		pipeline_emit(p, m, KAFKA_OUT_DEADLETTER, NULL, 0, &buf);
	} else {
		const char *topic = kafka_input_topic(p->kafka, m->part->input);
		log_error_at(pipeline,
			     LOG_FIELDS(LOG_STR("topic", topic),
					LOG_NUM("partition", m->part->partition),
					LOG_NUM("offset", m->offset)),
			     "dead letter for %s[%" PRId32 "]@%" PRId64
			     " refused by Kafka (%s): dropped",
			     topic, m->part->partition, m->offset, why);
	}
	pipeline_msg_settle(m);
}

static void pipeline_retry_later(struct pipeline *p, struct pipeline_retry *r)
{
	r->next = p->retries;
	p->retries = r;
	if (!uv_is_active((uv_handle_t *)&p->retry_timer)) {
		log_warn(pipeline, "retrying failed records in %" PRIu64 " ms",
			 p->retry_backoff_ms);
		uv_timer_start(&p->retry_timer, pipeline_retry_cb, p->retry_backoff_ms, 0);
	}
}

static struct pipeline_retry *pipeline_retry_new(enum kafka_output out, const char *suffix,
						 const void *key, size_t key_len,
						 struct pipeline_msg *m)
{
	struct pipeline_retry *r = malloc(sizeof(*r) + key_len + 1);
	if (!r)
		return NULL;
	r->next = NULL;
	r->out = out;
	r->partition = RD_KAFKA_PARTITION_UA;
	snprintf(r->suffix, sizeof(r->suffix), "%s", suffix ? suffix : "");
	r->key_len = key_len;
	if (key_len)
		memcpy(r->key, key, key_len);
	r->msg = m;
	r->buf.data = NULL;
	r->buf.len = 0;
	return r;
}

/* Keeps record BUF (taking it) of unreleased M for its release. */
static void pipeline_hold(struct pipeline *p, struct pipeline_msg *m, enum kafka_output out,
			  const char *suffix, int32_t partition, const void *key, size_t key_len,
			  struct records_buf *buf)
{
	struct pipeline_retry *r = pipeline_retry_new(out, suffix, key, key_len, m);
	if (!r) {
		free(buf->data);
		buf->data = NULL;
		pipeline_oom(p, "holding a record");
		return;
	}
	r->partition = partition;
	r->buf = *buf;
	buf->data = NULL;
	*m->held_last = r;
	m->held_last = &r->next;
}

/* Produces held record R of M, now released; R is taken. */
static void pipeline_produce_held(struct pipeline *p, struct pipeline_msg *m,
				  struct pipeline_retry *r)
{
	const void *key = r->key_len ? r->key : NULL;
	int rc;
	p->produced_since = true;
	rc = kafka_produce_to(p->kafka, r->out, r->suffix, r->partition, key, r->key_len, &r->buf,
			      m);
	if (rc == 0) {
		free(r);
	} else if (rc == -EMSGSIZE) {
		pipeline_reject(p, m, r->out, r->buf.data, r->buf.len,
				"Broker: Message size too large");
		free(r->buf.data);
		free(r);
	} else if (rc == -ECANCELED) {
		free(r->buf.data);
		free(r);
		pipeline_msg_void(p, m);
	} else {
		pipeline_retry_later(p, r);
	}
}

/* Releases the messages at the head of PART's queue whose only work left is their records:
 * their held records go to the producer, in offset order. */
static void pipeline_release(struct pipeline *p, struct pipeline_part *part)
{
	struct pipeline_msg *m;
	/* Producing can serve delivery reports (a full queue is waited out), which settle other
	 * messages of the partition: this loop releases them, in order. */
	if (part->releasing)
		return;
	part->releasing = true;
	/* Nothing goes out into a void transaction: the revoke drops what is held. */
	while (!p->txn_void && (m = part->held_head) && m->pending == m->n_out && !m->abandoned) {
		part->held_head = m->held_next;
		if (!part->held_head)
			part->held_tail = NULL;
		m->released = true;
		p->released_since++;
		m->pending++; /* ours while its records go out: it cannot finish under us */
		struct pipeline_retry *list = m->held;
		m->held = NULL;
		m->held_last = &m->held;
		while (list) {
			struct pipeline_retry *r = list;
			list = r->next;
			r->next = NULL;
			pipeline_produce_held(p, m, r);
		}
		if (--m->pending == 0 && m->abandoned)
			pipeline_msg_forget(p, m); /* voided with its transaction */
		else if (m->pending == 0)
			pipeline_msg_done(p, m);
	}
	part->releasing = false;
	if (p->released_since >= p->cfg->pipeline.max_inflight &&
	    !uv_is_active((uv_handle_t *)&p->commit_soon))
		uv_idle_start(&p->commit_soon, pipeline_commit_soon_cb);
}

void pipeline_msg_drop_held(struct pipeline *p, struct pipeline_part *part)
{
	struct pipeline_msg *m;
	while ((m = part->held_head)) {
		part->held_head = m->held_next;
		while (m->held) {
			struct pipeline_retry *r = m->held;
			m->held = r->next;
			free(r->buf.data);
			free(r);
			m->pending--;
			m->n_out--;
		}
		m->held_last = &m->held;
		m->held_next = NULL;
		/* Its records are gone: it must never count as finished. */
		m->released = true;
		m->abandoned = true;
		if (m->pending == 0)
			pipeline_msg_forget(p, m);
	}
	part->held_tail = NULL;
}

void pipeline_emit(struct pipeline *p, struct pipeline_msg *m, enum kafka_output out,
		   const void *key, size_t key_len, struct records_buf *buf)
{
	pipeline_emit_to(p, m, out, NULL, key, key_len, buf);
}

/* Produces BUF (taking it) on behalf of M to OUT's topic, or its per-country
 * topic for SUFFIX; on failure keeps it for a retry, so that a record is
 * never dropped while its input is uncommitted. */
void pipeline_emit_to(struct pipeline *p, struct pipeline_msg *m, enum kafka_output out,
		      const char *suffix, const void *key, size_t key_len, struct records_buf *buf)
{
	if (m->part->revoked) {
		/* Given away meanwhile: its next owner redoes the message, and a record of
		 * ours now would be one too many. */
		free(buf->data);
		buf->data = NULL;
		return;
	}
	m->pending++;
	m->n_out++;
	if (!m->released) {
		pipeline_hold(p, m, out, suffix, RD_KAFKA_PARTITION_UA, key, key_len, buf);
		return;
	}
	p->produced_since = true;
	int rc = kafka_produce_to(p->kafka, out, suffix, RD_KAFKA_PARTITION_UA, key, key_len, buf,
				  m);
	if (rc == 0)
		return;
	if (rc == -EMSGSIZE) {
		pipeline_reject(p, m, out, buf->data, buf->len, "Broker: Message size too large");
		free(buf->data);
		buf->data = NULL;
		return;
	}
	if (rc == -ECANCELED) {
		free(buf->data);
		buf->data = NULL;
		pipeline_msg_void(p, m);
		return;
	}
	/* A full producer queue is backpressure, not an error. */
	if (rc != -ENOBUFS)
		metrics_inc(produce_errors);
	struct pipeline_retry *r = pipeline_retry_new(out, suffix, key, key_len, m);
	if (!r) {
		free(buf->data);
		buf->data = NULL;
		pipeline_oom(p, "keeping a record for retry");
		return;
	}
	r->buf = *buf;
	buf->data = NULL;
	pipeline_retry_later(p, r);
}

static void pipeline_retry_cb(uv_timer_t *t)
{
	struct pipeline *p = t->data;
	struct pipeline_retry *list = p->retries;
	p->retries = NULL;
	bool failed = false;
	while (list) {
		struct pipeline_retry *r = list;
		list = r->next;
		/* With transactions, the record of a partition given away went with the
		 * transaction the revoke ended: its next owner writes it again. */
		int rc = p->transactional && r->msg->part->revoked ?
				 -ECANCELED :
				 kafka_produce_to(p->kafka, r->out, r->suffix, r->partition,
						  r->key_len ? r->key : NULL, r->key_len, &r->buf,
						  r->msg);
		if (rc == 0) {
			free(r);
		} else if (rc == -ECANCELED) {
			struct pipeline_msg *m = r->msg;
			free(r->buf.data);
			free(r);
			pipeline_msg_void(p, m);
		} else {
			if (rc != -ENOBUFS)
				metrics_inc(produce_errors);
			r->next = p->retries;
			p->retries = r;
			failed = true;
		}
	}
	p->retry_backoff_ms =
		failed ? (p->retry_backoff_ms * 2 > 30000 ? 30000 : p->retry_backoff_ms * 2) : 500;
	if (p->retries)
		uv_timer_start(&p->retry_timer, pipeline_retry_cb, p->retry_backoff_ms, 0);
}

/* Writes the audit record A of M as the next record of its partition's
 * chain, into the chain's audit partition. Nothing is written for a
 * partition given away meanwhile (its next owner redoes the message and
 * writes the chain), nor when the chain holds the record already (a message
 * redelivered after a restart). The record goes to the producer now, in
 * chain order: a full producer queue is waited out here, since a retry
 * later would write the chain out of order. With transactions too: an audit
 * record is never held for its message's release, as the chain's order is
 * the order of production. A transaction may so commit the audit records of
 * messages whose offsets it does not commit; whoever handles those messages
 * again finds the records in the chain it recovers and skips them, as after
 * any restart. Returns 0 or -ENOMEM. */
int pipeline_emit_audit(struct pipeline *p, struct pipeline_msg *m, const char *key,
			const struct pipeline_audit *a)
{
	struct audit_chain *chain = m->part->chain;
	if (m->part->revoked)
		return 0;
	char id[RECORDS_ID_LEN + 1];
	records_id(id, "audit", a->src);
	if (audit_chain_holds(chain, id)) {
		metrics_inc(audit_rewrites);
		return 0;
	}
	struct records_link link;
	struct records_buf buf;
	audit_chain_next(chain, &link);
	link.writer = p->writer;
	link.dsa_memo = p->dsa_memo;
	int rc = a->d ? records_audit_decision(a->src, a->d, p->cfg->monitors.pseudonym_key, a->now,
					       &link, &buf) :
			records_audit_verdict(a->src, a->ev, p->rules, a->v,
					      p->cfg->monitors.pseudonym_key, a->now, &link, &buf);
	if (rc < 0)
		return rc;
	if (rc == 1)
		metrics_inc(dsa_incomplete);
	m->pending++;
	m->n_out++;
	p->produced_since = true;
	while ((rc = kafka_produce_to(p->kafka, KAFKA_OUT_AUDIT, NULL, audit_chain_partition(chain),
				      key, strlen(key), &buf, m)) == -ENOBUFS)
		kafka_flush(p->kafka, 100);
	if (rc == 0) {
		audit_chain_advance(chain, &link);
		return 0;
	}
	/* Never linked: the chain's head stays where it was. A record too
	 * large for the topic will never fit: its message goes to the dead
	 * letters with it. Anything else (the partition gone) is the
	 * deployment's: stop, and leave the message for the next start. */
	if (rc == -EMSGSIZE) {
		pipeline_reject(p, m, KAFKA_OUT_AUDIT, buf.data, buf.len,
				"Broker: Message size too large");
	} else if (rc == -ECANCELED) {
		/* The transaction's records are void, this chain's among them: the chain is
		 * read back when its partition is assigned again. */
		pipeline_msg_void(p, m);
	} else {
		log_error(pipeline,
			  "audit record for %s[%" PRId32 "]@%" PRId64
			  " refused by the producer: stopping",
			  kafka_input_topic(p->kafka, m->part->input), m->part->partition,
			  m->offset);
		/* M keeps the record counted as pending: it never finishes,
		 * so its offset is never committed. */
		pipeline_on_fatal(p, "an audit record was refused");
	}
	free(buf.data);
	return 0;
}

void pipeline_deadletter(struct pipeline *p, struct pipeline_part *part, uint64_t seq,
			 const rd_kafka_message_t *rkm, enum metrics_deadletter why,
			 const char *reason)
{
	struct records_source src = {kafka_input_topic(p->kafka, part->input), rkm->partition,
				     rkm->offset};
	struct records_buf buf;
	if (log_get_level(LOG_SUB_pipeline) >= LOG_DEBUG)
		log_write_fields(LOG_DEBUG, LOG_SUB_pipeline,
				 LOG_FIELDS(LOG_STR("topic", src.topic),
					    LOG_NUM("partition", src.partition),
					    LOG_NUM("offset", src.offset)),
				 "dead letter %s[%" PRId32 "]@%" PRId64 ": %s", src.topic,
				 src.partition, src.offset, reason);
	if (records_deadletter(&src, rkm->key, rkm->key_len, rkm->payload, rkm->len, reason,
			       p->cfg->pipeline.deadletter_max_bytes, log_now_ms(), &buf) < 0) {
		pipeline_oom(p, "building a dead letter");
		return;
	}
	struct pipeline_msg *m = pipeline_msg_new(p, part, seq, rkm->offset);
	if (!m) {
		free(buf.data);
		pipeline_oom(p, "building a dead letter");
		return;
	}
	/* Counted as in pipeline_content_handle: settled below, which with transactions is
	 * what releases the record. */
	m->pending = 1;
	metrics_deadletter(why);
	pipeline_emit(p, m, KAFKA_OUT_DEADLETTER, rkm->key, rkm->key_len, &buf);
	pipeline_msg_settle(m);
}

static void pipeline_review_done(void *arg, int status)
{
	struct pipeline_msg *m = arg;
	if (status < 0)
		pipeline_msg_abandon(m->p, m);
	else
		pipeline_msg_settle(m);
}

/* Hands escalation BUF (packed; the queue copies it) to review queue Q on
 * behalf of M, with EXCLUDE (or NULL) as the reviewer who must not claim it
 * and, for an appeal, its APPEAL_ID; M finishes once Redis has it. Returns
 * 0 or a negative errno. */
int pipeline_review_enqueue(struct pipeline *p, struct pipeline_msg *m,
			    const struct config_queue *q, const struct records_buf *buf,
			    const char *exclude, const char *appeal_id)
{
	Arbiter__V1__Escalation *es = arbiter__v1__escalation__unpack(NULL, buf->len, buf->data);
	if (!es)
		return -ENOMEM;
	m->pending++;
	int rc = appeal_id ? review_enqueue_appeal(p->review, q, es, buf->data, buf->len, exclude,
						   appeal_id, pipeline_review_done, m) :
			     review_enqueue(p->review, q, es, buf->data, buf->len, exclude,
					    pipeline_review_done, m);
	if (rc < 0)
		m->pending--;
	arbiter__v1__escalation__free_unpacked(es, NULL);
	return rc;
}

#define PIPELINE_WALL_REREAD_NS 10000000

int64_t pipeline_now_ms(struct pipeline *p)
{
	int64_t at = p->consumed_ns;
	if (!p->wall_read_ns || at - p->wall_read_ns > PIPELINE_WALL_REREAD_NS) {
		struct timespec wall;
		clock_gettime(CLOCK_REALTIME, &wall);
		int64_t mono = metrics_mono_ns();
		p->wall_offset_ns = (int64_t)wall.tv_sec * 1000000000 + wall.tv_nsec - mono;
		p->wall_read_ns = mono;
	}
	return (at + p->wall_offset_ns) / 1000000;
}

static void pipeline_on_message(void *opaque, enum kafka_input in, rd_kafka_message_t *rkm)
{
	struct pipeline *p = opaque;
	struct pipeline_part *part = pipeline_parts_get(p, in, rkm->partition);
	uint64_t seq;
	int trc = part ? offsets_window_track(part->win, rkm->offset, &seq) : -ENOENT;
	if (trc == -ENOMEM) {
		rd_kafka_message_destroy(rkm);
		pipeline_oom(p, "tracking a message");
		return;
	}
	if (trc < 0) {
		/* Not ours (any more), or a re-fetch of an offset already
		 * tracked: it was or will be handled, drop this copy. */
		log_debug(pipeline, "ignoring %s[%" PRId32 "]@%" PRId64,
			  kafka_input_topic(p->kafka, in), rkm->partition, rkm->offset);
		rd_kafka_message_destroy(rkm);
		return;
	}
	part->refs++;
	p->inflight++;
	p->consumed_ns = metrics_mono_ns();
	metrics_set(inflight, (int_fast64_t)p->inflight);
	if (in == KAFKA_IN_CONTENT)
		pipeline_content_handle(p, part, seq, rkm);
	else
		pipeline_decision_handle(p, part, seq, rkm);
	rd_kafka_message_destroy(rkm);

	if (!p->backpressure && p->inflight >= p->cfg->pipeline.max_inflight) {
		p->backpressure = true;
		metrics_inc(pauses);
		pipeline_update_pause(p);
		log_debug(pipeline, "paused at %zu in flight", p->inflight);
	}
}

static void pipeline_on_delivered(void *opaque, const rd_kafka_message_t *rkm)
{
	struct pipeline *p = opaque;
	struct pipeline_msg *m = rkm->_private;
	if (!rkm->err) {
		metrics_inc(produced);
		if (strcmp(rd_kafka_topic_name(rkm->rkt),
			   kafka_output_topic(p->kafka, KAFKA_OUT_AUDIT)) == 0)
			metrics_inc(audit_records);
		pipeline_msg_record_done(m);
		return;
	}
	if (rkm->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE ||
	    rkm->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT) {
		/* Ours (a revoke's abort, the exit), or librdkafka's when the transaction
		 * failed: then nothing of it can commit any more. */
		if (p->transactional && !p->draining && !p->revoking && !m->part->revoked)
			pipeline_msg_void(p, m);
		else
			pipeline_msg_abandon(p, m);
		return;
	}
	const char *suffix = NULL;
	enum kafka_output out = kafka_output_of(p->kafka, rd_kafka_topic_name(rkm->rkt), &suffix);
	if (pipeline_err_is_permanent(rkm->err) && out != KAFKA_OUT__COUNT) {
		pipeline_reject(p, m, out, rkm->payload, rkm->len, rd_kafka_err2str(rkm->err));
		return;
	}
	if (p->transactional) {
		/* The transaction cannot commit with a record lost (librdkafka counts it, and
		 * the commit asks for an abort): void it now, and retry nothing into it. */
		metrics_inc(produce_errors);
		if (m->part->revoked) {
			/* Of the transaction its revoke ended: nothing left to void. */
			pipeline_msg_abandon(p, m);
			return;
		}
		if (!p->txn_void) /* the first of the transaction's says it for all */
			log_warn(pipeline, "record to %s not delivered: %s",
				 rd_kafka_topic_name(rkm->rkt), rd_kafka_err2str(rkm->err));
		pipeline_msg_void(p, m);
		return;
	}
	if (out == KAFKA_OUT_AUDIT) {
		/* Written again later, the record would land after its chain's
		 * next ones: stop instead. The message stays uncommitted; the
		 * next start recovers the chain from what the topic holds and
		 * writes the record where the chain is then. */
		metrics_inc(produce_errors);
		log_error(pipeline,
			  "audit record for %s[%" PRId32 "]@%" PRId64
			  " not delivered: %s; stopping, so that its chain stays in order",
			  kafka_input_topic(p->kafka, m->part->input), m->part->partition,
			  m->offset, rd_kafka_err2str(rkm->err));
		pipeline_msg_abandon(p, m);
		pipeline_on_fatal(p, "an audit record was not delivered");
		return;
	}
	/* Anything else (topic missing, not authorised, fenced) is the
	 * deployment's to fix: keep the record and retry, so that nothing is
	 * ever dropped; the partition's lag shows it. */
	metrics_inc(produce_errors);
	log_error(pipeline, "delivery to %s failed: %s; retrying", rd_kafka_topic_name(rkm->rkt),
		  rd_kafka_err2str(rkm->err));
	struct pipeline_retry *r =
		out == KAFKA_OUT__COUNT ?
			NULL :
			pipeline_retry_new(out, suffix, rkm->key, rkm->key_len, m);
	if (r) {
		r->buf.data = malloc(rkm->len ? rkm->len : 1);
		r->buf.len = rkm->len;
		if (r->buf.data) {
			memcpy(r->buf.data, rkm->payload, rkm->len);
			pipeline_retry_later(p, r);
			return;
		}
		free(r);
	}
	pipeline_msg_abandon(p, m);
	pipeline_oom(p, "keeping a record for retry");
}

/* Appends every partition whose commit offset moved to a new list, marking
 * them committed; returns NULL when there is nothing to commit. With ONLY
 * set, limits the list to the partitions in ONLY. */
static rd_kafka_topic_partition_list_t *
pipeline_commit_list(struct pipeline *p, const rd_kafka_topic_partition_list_t *only)
{
	rd_kafka_topic_partition_list_t *list = NULL;
	for (int in = 0; in < KAFKA_IN__COUNT; in++) {
		for (size_t i = 0; i < p->n_parts[in]; i++) {
			struct pipeline_part *part = p->parts[in][i];
			if (!part || !offsets_window_dirty(part->win))
				continue;
			const char *topic = kafka_input_topic(p->kafka, (enum kafka_input)in);
			if (only &&
			    !rd_kafka_topic_partition_list_find(only, topic, part->partition))
				continue;
			if (!list)
				list = rd_kafka_topic_partition_list_new(8);
			int64_t off = offsets_window_commit_offset(part->win);
			rd_kafka_topic_partition_list_add(list, topic, part->partition)->offset =
				off;
			offsets_window_committed(part->win, off);
		}
	}
	return list;
}

/* Marks the partitions of LIST dirty again: their commit did not happen. */
static void pipeline_uncommit(struct pipeline *p, const rd_kafka_topic_partition_list_t *list)
{
	for (int i = 0; list && i < list->cnt; i++) {
		enum kafka_input in = pipeline_parts_input(p, list->elems[i].topic);
		struct pipeline_part *part =
			in == KAFKA_IN__COUNT ? NULL :
						pipeline_parts_get(p, in, list->elems[i].partition);
		if (part)
			offsets_window_committed(part->win, -1);
	}
}

/* How long a commit tick waits, on the loop, for the records it would commit. Past it the
 * commit is postponed and the loop goes back to signals, Redis and /livez: with the brokers
 * away, a longer wait at every tick left a SIGTERM unheard for tens of seconds. */
#define PIPELINE_TICK_FLUSH_MS 1000
/* How long a revoke waits for them: partitions handed over with records still unacknowledged
 * leave those records in the open transaction (aborted then), or without transactions a gap
 * in an audit chain that the next owner reads back. */
#define PIPELINE_REVOKE_FLUSH_MS 10000

int pipeline_flush_ms(struct pipeline *p, bool sync)
{
	if (!sync)
		return PIPELINE_TICK_FLUSH_MS;
	if (!p->draining && p->transactional) {
		/* A revoke whose records do not come aborts its transaction: the next owners
		 * redo the input. Waiting longer than the group waits for us would leave us
		 * out of the next generation, still holding the transaction (librdkafka's mock
		 * cluster waits a session less 1 s; a broker, the rebalance timeout). */
		int half = kafka_session_ms(p->kafka) / 2;
		return half < PIPELINE_REVOKE_FLUSH_MS ? half : PIPELINE_REVOKE_FLUSH_MS;
	}
	if (!p->draining)
		return PIPELINE_REVOKE_FLUSH_MS;
	uv_update_time(p->loop);
	uint64_t now = uv_now(p->loop);
	uint64_t left = p->drain_deadline > now ? p->drain_deadline - now : 0;
	return left > PIPELINE_TICK_FLUSH_MS ? (int)left : PIPELINE_TICK_FLUSH_MS;
}

/* How long commit ticks may find records unacknowledged before the transaction is voided:
 * half the transaction timeout (30 s), past which the coordinator would abort it and fence
 * the producer. A transaction that failed inside librdkafka can hold its records for ever. */
#define PIPELINE_TXN_STUCK_MS 15000

/* True once commit ticks have found records unacknowledged for PIPELINE_TXN_STUCK_MS. */
static bool pipeline_txn_stuck(struct pipeline *p)
{
	uv_update_time(p->loop);
	uint64_t now = uv_now(p->loop);
	if (!p->postponed_since)
		p->postponed_since = now;
	return now - p->postponed_since >= PIPELINE_TXN_STUCK_MS;
}

/* Commits the open transaction: every record produced so far is acknowledged first, which
 * finishes the released messages; their offsets are exactly what the transaction commits.
 * SYNC: for a revoke or the drain, which wait longer for the records (above). Returns as
 * pipeline_commit does. */
static int pipeline_commit_txn(struct pipeline *p, bool sync)
{
	/* After an abort, the offsets of finished messages are not theirs to commit: their
	 * records are void. The rejoin's revoke starts every partition afresh. */
	if (p->txn_void)
		return -ECANCELED;
	int64_t t0 = metrics_mono_ns();
	rd_kafka_topic_partition_list_t *list = NULL;
	/* A commit or an abort that timed out (the brokers away) is finished first; kafka keeps
	 * input paused meanwhile. */
	int rc = kafka_txn_resume(p->kafka, !sync);
	if (rc < 0)
		goto done;
	if (kafka_outq_len(p->kafka) > 0 && kafka_flush(p->kafka, pipeline_flush_ms(p, sync)) < 0) {
		/* Records not acknowledged belong to messages not finished: committing now
		 * would commit records without their offsets. Try again next time. */
		metrics_hist_since(METRICS_H_COMMIT, t0);
		if (!sync && pipeline_txn_stuck(p)) {
			pipeline_txn_void(p, "records unacknowledged for 15 s, so the transaction "
					     "is aborted before the coordinator times it out");
			return -ECANCELED;
		}
		log_warn(pipeline, "%d record(s) unacknowledged: transaction commit postponed",
			 kafka_outq_len(p->kafka));
		return -EAGAIN;
	}
	p->postponed_since = 0;
	list = pipeline_commit_list(p, NULL);
	if (!list && !p->produced_since)
		return 0;
	rc = kafka_txn_commit(p->kafka, list, !sync);
	metrics_hist_since(METRICS_H_COMMIT, t0);
	if (rc == 0) {
		metrics_inc(commits);
		p->released_since = 0;
		p->produced_since = false;
	} else {
		metrics_inc(commit_errors);
		pipeline_uncommit(p, list);
	}
	if (list)
		rd_kafka_topic_partition_list_destroy(list);
done:
	if (rc == -ECANCELED) {
		pipeline_txn_void(p, "transaction aborted");
	} else if (rc == -EPERM || rc == -EIO) {
		pipeline_on_fatal(p, "the transactional producer is fenced or broken");
	}
	return rc;
}

void pipeline_txn_void(struct pipeline *p, const char *why)
{
	if (!p->transactional || p->txn_void)
		return;
	/* The records are gone, or will be, and the offsets uncommitted: the partitions start
	 * again from their committed offsets, with their chains read back. */
	log_warn(pipeline,
		 "%s: rejoining the group to handle the input since the last commit again", why);
	p->produced_since = false;
	p->txn_void = true;
	p->postponed_since = 0;
	if (!p->revoking && kafka_rejoin(p->kafka) < 0)
		pipeline_on_fatal(p, "cannot rejoin the group after an aborted transaction");
}

int pipeline_commit(struct pipeline *p, const rd_kafka_topic_partition_list_t *only, bool sync)
{
	/* One transaction holds every partition's records: all commit together (eager
	 * rebalances revoke every partition anyway). */
	if (p->transactional)
		return pipeline_commit_txn(p, sync);
	rd_kafka_topic_partition_list_t *list = pipeline_commit_list(p, only);
	if (!list)
		return 0;
	/* Success and failure are counted by the commit callback, which
	 * librdkafka calls for synchronous commits too. */
	kafka_commit(p->kafka, list, sync);
	rd_kafka_topic_partition_list_destroy(list);
	return 0;
}

static void pipeline_on_committed(void *opaque, rd_kafka_resp_err_t err,
				  const rd_kafka_topic_partition_list_t *offsets)
{
	struct pipeline *p = opaque;
	if (err == RD_KAFKA_RESP_ERR__NO_OFFSET)
		return;
	if (!err) {
		metrics_inc(commits);
		return;
	}
	metrics_inc(commit_errors);
	log_warn(pipeline, "commit failed: %s; will retry", rd_kafka_err2str(err));
	/* Make the partitions dirty again so the next tick retries. */
	pipeline_uncommit(p, offsets);
}

static size_t pipeline_budget(void *opaque)
{
	struct pipeline *p = opaque;
	if (p->draining)
		return 0;
	size_t max = p->cfg->pipeline.max_inflight;
	return p->inflight < max ? max - p->inflight : 0;
}

void pipeline_on_fatal(void *opaque, const char *reason)
{
	struct pipeline *p = opaque;
	/* May run on a librdkafka thread: hand it to the loop. */
	p->fatal = true;
	uv_async_send(&p->fatal_async);
}

static void pipeline_fatal_cb(uv_async_t *a)
{
	struct pipeline *p = a->data;
	if (!p->fatal || p->stopped_called)
		return;
	log_error(pipeline, "stopping after a fatal Kafka error; uncommitted input will be "
			    "redelivered after restart");
	p->stopped_called = true;
	uv_timer_stop(&p->commit_timer);
	uv_timer_stop(&p->drain_timer);
	p->hooks.stopped(p->hooks.opaque, true);
}

static void pipeline_on_review(void *opaque, bool up)
{
	struct pipeline *p = opaque;
	if (p->redis_down == !up)
		return;
	p->redis_down = !up;
	if (up)
		log_info(pipeline, "review queues reachable: input resumed");
	else
		log_warn(pipeline,
			 "review queues unreachable: input paused; %zu escalation(s) "
			 "held, nothing committed past them",
			 review_pending(p->review));
	pipeline_update_pause(p);
}

static int pipeline_review_start(struct pipeline *p)
{
	if (p->review || (!p->cfg->review.n_queues && !rules_counter_count(p->rules)))
		return 0;
	/* Until the first connection, escalations could not be acknowledged. */
	p->redis_down = true;
	if (p->cfg->redis.n_sentinels)
		log_info(pipeline,
			 "waiting for Redis master %s, through %zu sentinel(s), before "
			 "consuming",
			 p->cfg->redis.master_name, p->cfg->redis.n_sentinels);
	else
		log_info(pipeline, "waiting for Redis at %s before consuming",
			 p->cfg->redis.address);
	return review_new(p->loop, p->cfg, pipeline_on_review, p, &p->review);
}

static void pipeline_commit_cb(uv_timer_t *t)
{
	pipeline_commit(t->data, NULL, false);
}

/* The message bound of a transaction was reached: commit at the loop's next turn, outside any
 * librdkafka callback (a flush from within one would wait for itself). */
static void pipeline_commit_soon_cb(uv_idle_t *idle)
{
	uv_idle_stop(idle);
	pipeline_commit(idle->data, NULL, false);
}

static void pipeline_handle_closed(uv_handle_t *h)
{
	struct pipeline *p = h->data;
	if (--p->open_handles == 0)
		free(p);
}

/* Statement shapes the audit records' check remembers: rules x actions x languages x content
 * types seen, far fewer in practice; at most a few MiB. */
#define PIPELINE_DSA_SHAPES 4096

int pipeline_new(uv_loop_t *loop, const struct config *cfg, const struct ruleset *rules,
		 const struct pipeline_hooks *hooks, struct pipeline **out)
{
	struct pipeline *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->rules = rules;
	p->rctx = rules_ctx_new(rules);
	p->dsa_memo = dsa_memo_new(PIPELINE_DSA_SHAPES);
	if (!p->rctx || !p->dsa_memo) {
		rules_ctx_free(p->rctx);
		dsa_memo_free(p->dsa_memo);
		free(p);
		return -ENOMEM;
	}
	metrics_set(rules_loaded, (int_fast64_t)rules_count(rules));
	metrics_rules_set(rules);
	pipeline_content_ruleset(p);
	p->loop = loop;
	p->cfg = cfg;
	p->hooks = *hooks;
	p->retry_backoff_ms = 500;
	/* The only handle whose init can fail (it needs an eventfd) comes
	 * first: on failure nothing is on the loop yet. */
	int rc = uv_async_init(loop, &p->fatal_async, pipeline_fatal_cb);
	if (rc < 0) {
		log_error(pipeline, "uv_async_init: %s", uv_strerror(rc));
		rules_ctx_free(p->rctx);
		dsa_memo_free(p->dsa_memo);
		free(p);
		return rc;
	}
	uv_timer_init(loop, &p->commit_timer);
	uv_timer_init(loop, &p->drain_timer);
	uv_timer_init(loop, &p->retry_timer);
	uv_idle_init(loop, &p->commit_soon);
	p->commit_timer.data = p->drain_timer.data = p->retry_timer.data = p;
	p->commit_soon.data = p->fatal_async.data = p;
	p->open_handles = 5;
	*out = p;
	return 0;
}

int pipeline_start(struct pipeline *p, const char *bootstrap)
{
	struct kafka_handlers h = {
		.opaque = p,
		.message = pipeline_on_message,
		.assigned = pipeline_parts_assigned,
		.revoked = pipeline_parts_revoked,
		.delivered = pipeline_on_delivered,
		.committed = pipeline_on_committed,
		.fatal = pipeline_on_fatal,
		.budget = pipeline_budget,
	};
	int rc = pipeline_review_start(p);
	if (rc < 0)
		return rc;
	rc = kafka_new(p->loop, p->cfg, bootstrap, &h, &p->kafka);
	if (rc < 0)
		return rc;
	p->transactional = kafka_transactional(p->kafka);
	/* Chains map onto audit partitions by number: the count must be known
	 * (and the topic exist) before the first assignment. Said otherwise:
	 * brokers that cannot be reached, a missing topic. */
	rc = kafka_check_outputs(p->kafka, bootstrap, 10000, &p->audit_partitions);
	if (rc < 0)
		return rc;
	rc = kafka_txn_start(p->kafka);
	if (rc < 0)
		return rc;
	pipeline_update_pause(p);
	rc = kafka_subscribe(p->kafka);
	if (rc < 0)
		return rc;
	uv_timer_start(&p->commit_timer, pipeline_commit_cb, p->cfg->pipeline.commit_interval_ms,
		       p->cfg->pipeline.commit_interval_ms);
	return 0;
}

void pipeline_set_config(struct pipeline *p, const struct config *cfg)
{
	const struct config *old = p->cfg;
	if (strcmp(old->kafka.brokers, cfg->kafka.brokers) ||
	    strcmp(old->kafka.group_id, cfg->kafka.group_id) ||
	    strcmp(old->kafka.topics.content.name, cfg->kafka.topics.content.name) ||
	    strcmp(old->kafka.topics.decisions.name, cfg->kafka.topics.decisions.name) ||
	    old->kafka.n_properties != cfg->kafka.n_properties)
		log_warn(pipeline, "kafka settings changed: they take effect after a restart");
	p->cfg = cfg;
	if (p->review)
		review_set_config(p->review, cfg);
	else if (p->kafka && pipeline_review_start(p) < 0)
		log_error(pipeline, "out of memory starting the review queues");
	pipeline_update_pause(p);
	if (uv_is_active((uv_handle_t *)&p->commit_timer))
		uv_timer_start(&p->commit_timer, pipeline_commit_cb,
			       cfg->pipeline.commit_interval_ms, cfg->pipeline.commit_interval_ms);
}

void pipeline_set_rules(struct pipeline *p, const struct ruleset *rules, struct rules_ctx *ctx)
{
	rules_ctx_free(p->rctx);
	p->rctx = ctx;
	p->rules = rules;
	metrics_set(rules_loaded, (int_fast64_t)rules_count(rules));
	metrics_rules_set(rules);
	pipeline_content_ruleset(p);
	/* Counters need Redis even where no review queue does. */
	if (p->kafka && pipeline_review_start(p) < 0)
		log_error(pipeline, "out of memory connecting to Redis for the rules' counters");
}

size_t pipeline_inflight(const struct pipeline *p)
{
	return p->inflight;
}

/* Finishes the drain once nothing is in flight or the deadline passed.
 * Never runs inside a librdkafka callback: rd_kafka_flush from within the
 * producer's own delivery report would wait for the report in progress. */
static void pipeline_drain_finish(struct pipeline *p)
{
	if (p->stopped_called)
		return;
	p->stopped_called = true;
	uv_timer_stop(&p->drain_timer);
	uv_timer_stop(&p->commit_timer);
	uv_timer_stop(&p->retry_timer);
	uv_idle_stop(&p->commit_soon);
	if (p->inflight)
		log_warn(pipeline,
			 "drain deadline passed with %zu message(s) in flight; they "
			 "will be redelivered",
			 p->inflight);
	/* Flush first, so that what is acknowledged now is committed too. */
	uv_update_time(p->loop);
	uint64_t now = uv_now(p->loop);
	int left = p->drain_deadline > now ? (int)(p->drain_deadline - now) : 0;
	if (kafka_outq_len(p->kafka) > 0 && kafka_flush(p->kafka, left) < 0)
		log_warn(pipeline,
			 "%d record(s) not acknowledged at exit; their inputs stay "
			 "uncommitted",
			 kafka_outq_len(p->kafka));
	pipeline_commit(p, NULL, true);
	kafka_close_consumer(p->kafka);
	if (kafka_outq_len(p->kafka) > 0)
		kafka_purge(p->kafka);
	log_info(pipeline, "drained");
	p->hooks.stopped(p->hooks.opaque, false);
}

static void pipeline_drain_timeout_cb(uv_timer_t *t)
{
	pipeline_drain_finish(t->data);
}

static void pipeline_check_stopped(struct pipeline *p)
{
	if (p->draining && p->inflight == 0 && !p->stopped_called)
		uv_timer_start(&p->drain_timer, pipeline_drain_timeout_cb, 0, 0);
}

void pipeline_drain(struct pipeline *p)
{
	if (p->draining || p->stopped_called)
		return;
	p->draining = true;
	metrics_set(draining, true);
	if (!p->kafka) {
		p->stopped_called = true;
		p->hooks.stopped(p->hooks.opaque, false);
		return;
	}
	log_info(pipeline, "draining %zu in-flight message(s), up to %u ms", p->inflight,
		 p->cfg->pipeline.drain_timeout_ms);
	pipeline_update_pause(p);
	p->drain_deadline = uv_now(p->loop) + p->cfg->pipeline.drain_timeout_ms;
	/* The commits from here on (a revoke's, the last one) end with the drain, give or take:
	 * with the brokers away, or a group rebalancing as every instance stops, each could
	 * otherwise wait the whole transaction timeout, past the supervisor's stop timeout. */
	kafka_txn_deadline(p->kafka, p->drain_deadline);
	if (p->inflight == 0) {
		pipeline_check_stopped(p);
		return;
	}
	uv_timer_start(&p->drain_timer, pipeline_drain_timeout_cb,
		       p->cfg->pipeline.drain_timeout_ms, 0);
}

void pipeline_free(struct pipeline *p)
{
	if (!p)
		return;
	if (p->kafka) {
		/* Leave the group while the partitions can still be committed
		 * (a no-op after a drain), then drop what the producer holds:
		 * those inputs stay uncommitted and are redelivered. */
		kafka_close_consumer(p->kafka);
		if (kafka_outq_len(p->kafka) > 0)
			kafka_purge(p->kafka);
	}
	/* Records held for messages not released: never produced, their inputs uncommitted. */
	for (int in = 0; in < KAFKA_IN__COUNT; in++)
		for (size_t i = 0; i < p->n_parts[in]; i++)
			if (p->parts[in][i])
				pipeline_msg_drop_held(p, p->parts[in][i]);
	/* Escalations Redis has not acknowledged: their inputs stay uncommitted. */
	review_free(p->review);
	p->review = NULL;
	while (p->retries) {
		struct pipeline_retry *r = p->retries;
		p->retries = r->next;
		free(r->buf.data);
		pipeline_msg_abandon(p, r->msg);
		free(r);
	}
	kafka_detach(p->kafka);
	kafka_free(p->kafka);
	p->kafka = NULL;
	pipeline_parts_free(p);
	rules_ctx_free(p->rctx);
	p->rctx = NULL;
	dsa_memo_free(p->dsa_memo);
	p->dsa_memo = NULL;
	uv_close((uv_handle_t *)&p->commit_timer, pipeline_handle_closed);
	uv_close((uv_handle_t *)&p->drain_timer, pipeline_handle_closed);
	uv_close((uv_handle_t *)&p->retry_timer, pipeline_handle_closed);
	uv_close((uv_handle_t *)&p->commit_soon, pipeline_handle_closed);
	uv_close((uv_handle_t *)&p->fatal_async, pipeline_handle_closed);
}
