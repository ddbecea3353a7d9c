/* The per-message state machine: consume, decode, decide, emit, and commit only what is finished.
 */
#include "pipeline.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "event.h"
#include "log.h"
#include "metrics.h"
#include "offsets.h"
#include "queues.h"
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
};

/* A message whose side effects are not all acknowledged yet. */
struct pipeline_msg {
	struct pipeline *p;
	struct pipeline_part *part;
	uint64_t seq;
	int64_t offset;
	uint32_t pending; /* records produced and not yet acknowledged */
};

/* A record whose produce failed or whose delivery failed for good; it is
 * produced again after a backoff, and its message stays unfinished. */
struct pipeline_retry {
	struct pipeline_retry *next;
	enum kafka_output out;
	char suffix[8]; /* of a per-country topic, or "" */
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
	pipeline_stopped_cb stopped;
	void *opaque;

	struct pipeline_part **parts[KAFKA_IN__COUNT]; /* indexed by partition id */
	size_t n_parts[KAFKA_IN__COUNT];
	int32_t audit_partitions; /* of the audit topic, where the chains go */
	char writer[320];         /* "HOST/PID/MEMBER-ID": who writes our audit records */

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
};

static void pipeline_part_unref(struct pipeline_part *part)
{
	if (--part->refs == 0) {
		offsets_window_free(part->win);
		audit_chain_free(part->chain);
		free(part);
	}
}

static struct pipeline_part *pipeline_part_get(struct pipeline *p, enum kafka_input in,
					       int32_t partition)
{
	if (partition < 0 || (size_t)partition >= p->n_parts[in])
		return NULL;
	return p->parts[in][partition];
}

static enum kafka_input pipeline_input_of(struct pipeline *p, const char *topic)
{
	for (int i = 0; i < KAFKA_IN__COUNT; i++)
		if (strcmp(kafka_input_topic(p->kafka, (enum kafka_input)i), topic) == 0)
			return (enum kafka_input)i;
	return KAFKA_IN__COUNT;
}

static void pipeline_check_stopped(struct pipeline *p);
static void pipeline_retry_cb(uv_timer_t *t);
static void pipeline_on_fatal(void *opaque, const char *reason);
static void pipeline_record_state(struct pipeline *p, struct pipeline_msg *m, const char *content,
				  Arbiter__V1__Action action, Arbiter__V1__Actor actor,
				  const char *reviewer, const char *d_id, int64_t at);

/* Input flows only while there is room in flight, Redis takes escalations
 * and no drain is under way. */
static void pipeline_update_pause(struct pipeline *p)
{
	if (p->kafka)
		kafka_set_paused(p->kafka, p->backpressure || p->redis_down || p->draining);
}
static struct pipeline_msg *pipeline_msg_new(struct pipeline *p, struct pipeline_part *part,
					     uint64_t seq, int64_t offset);
static void pipeline_emit(struct pipeline *p, struct pipeline_msg *m, enum kafka_output out,
			  const void *key, size_t key_len, struct records_buf *buf);
static void pipeline_emit_to(struct pipeline *p, struct pipeline_msg *m, enum kafka_output out,
			     const char *suffix, const void *key, size_t key_len,
			     struct records_buf *buf);

/* The message SEQ of PART has nothing left to do. */
static void pipeline_finish(struct pipeline *p, struct pipeline_part *part, uint64_t seq)
{
	if (offsets_window_done(part->win, seq) < 0)
		log_error("pipeline",
			  "broken invariant: %s[%" PRId32 "] seq %" PRIu64 " finished twice",
			  kafka_input_topic(p->kafka, part->input), part->partition, seq);
	pipeline_part_unref(part);
	p->inflight--;
	metrics_set(inflight, (int_fast64_t)p->inflight);
	if (p->backpressure && p->inflight <= p->cfg->pipeline.max_inflight / 2) {
		p->backpressure = false;
		pipeline_update_pause(p);
		log_debug("pipeline", "resumed at %zu in flight", p->inflight);
	}
	if (p->draining)
		pipeline_check_stopped(p);
}

static void pipeline_msg_done(struct pipeline *p, struct pipeline_msg *m)
{
	pipeline_finish(p, m->part, m->seq);
	free(m);
}

/* One record of M will never be acknowledged (purged at exit): drop the
 * bookkeeping without finishing the message, whose offset is then never
 * committed and so redelivered after restart. */
static void pipeline_msg_abandon(struct pipeline *p, struct pipeline_msg *m)
{
	if (--m->pending)
		return;
	pipeline_part_unref(m->part);
	p->inflight--;
	metrics_set(inflight, (int_fast64_t)p->inflight);
	free(m);
}

/* Out of memory in the middle of a message: leaving it unfinished would
 * freeze its partition's commits, finishing it would lose it. Stop instead;
 * a restart redelivers everything uncommitted. */
static void pipeline_oom(struct pipeline *p, const char *what)
{
	log_error("pipeline", "out of memory %s: stopping", what);
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
		log_error("pipeline", "%s[%" PRId32 "]@%" PRId64 ": %s", src.topic, src.partition,
			  src.offset, reason);
		if (records_deadletter(&src, NULL, 0, data, len, reason,
				       p->cfg->pipeline.deadletter_max_bytes, log_now_ms(),
				       &buf) < 0) {
			pipeline_oom(p, "building a dead letter");
			return;
		}
		metrics_inc(deadletters);
		pipeline_emit(p, m, KAFKA_OUT_DEADLETTER, NULL, 0, &buf);
	} else {
		log_error("pipeline",
			  "dead letter for %s[%" PRId32 "]@%" PRId64
			  " refused by Kafka (%s): dropped",
			  kafka_input_topic(p->kafka, m->part->input), m->part->partition,
			  m->offset, why);
	}
	if (--m->pending == 0)
		pipeline_msg_done(p, m);
}

static void pipeline_retry_later(struct pipeline *p, struct pipeline_retry *r)
{
	r->next = p->retries;
	p->retries = r;
	if (!uv_is_active((uv_handle_t *)&p->retry_timer)) {
		log_warn("pipeline", "retrying failed records in %" PRIu64 " ms",
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
	snprintf(r->suffix, sizeof(r->suffix), "%s", suffix ? suffix : "");
	r->key_len = key_len;
	if (key_len)
		memcpy(r->key, key, key_len);
	r->msg = m;
	r->buf.data = NULL;
	r->buf.len = 0;
	return r;
}

static void pipeline_emit(struct pipeline *p, struct pipeline_msg *m, enum kafka_output out,
			  const void *key, size_t key_len, struct records_buf *buf)
{
	pipeline_emit_to(p, m, out, NULL, key, key_len, buf);
}

/* Produces BUF (taking it) on behalf of M to OUT's topic, or its per-country
 * topic for SUFFIX; on failure keeps it for a retry, so that a record is
 * never dropped while its input is uncommitted. */
static void pipeline_emit_to(struct pipeline *p, struct pipeline_msg *m, enum kafka_output out,
			     const char *suffix, const void *key, size_t key_len,
			     struct records_buf *buf)
{
	m->pending++;
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
		int rc = kafka_produce_to(p->kafka, r->out, r->suffix, RD_KAFKA_PARTITION_UA,
					  r->key_len ? r->key : NULL, r->key_len, &r->buf, r->msg);
		if (rc == 0) {
			free(r);
		} else {
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

/* What an audit record is built from: a verdict on EV, or decision D. */
struct pipeline_audit {
	const struct records_source *src;
	const Arbiter__V1__ContentEvent *ev;
	const struct rules_verdict *v;
	const Arbiter__V1__ModerationDecision *d;
	int64_t now;
};

/* Writes the audit record A of M as the next record of its partition's
 * chain, into the chain's audit partition. Nothing is written for a
 * partition given away meanwhile (its next owner redoes the message and
 * writes the chain), nor when the chain holds the record already (a message
 * redelivered after a restart). The record goes to the producer now, in
 * chain order: a full producer queue is waited out here, since a retry
 * later would write the chain out of order. Returns 0 or -ENOMEM. */
static int pipeline_emit_audit(struct pipeline *p, struct pipeline_msg *m, const char *key,
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
	int rc = a->d ? records_audit_decision(a->src, a->d, p->cfg->monitors.pseudonym_key, a->now,
					       &link, &buf) :
			records_audit_verdict(a->src, a->ev, p->rules, a->v,
					      p->cfg->monitors.pseudonym_key, a->now, &link, &buf);
	if (rc < 0)
		return rc;
	if (rc == 1)
		metrics_inc(dsa_incomplete);
	m->pending++;
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
	} else {
		log_error("pipeline",
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

static struct pipeline_msg *pipeline_msg_new(struct pipeline *p, struct pipeline_part *part,
					     uint64_t seq, int64_t offset)
{
	struct pipeline_msg *m = malloc(sizeof(*m));
	if (!m)
		return NULL;
	m->p = p;
	m->part = part;
	m->seq = seq;
	m->offset = offset;
	m->pending = 0;
	return m;
}

static void pipeline_deadletter(struct pipeline *p, struct pipeline_part *part, uint64_t seq,
				const rd_kafka_message_t *rkm, const char *reason)
{
	struct records_source src = {kafka_input_topic(p->kafka, part->input), rkm->partition,
				     rkm->offset};
	struct records_buf buf;
	log_debug("pipeline", "dead letter %s[%" PRId32 "]@%" PRId64 ": %s", src.topic,
		  src.partition, src.offset, reason);
	struct pipeline_msg *m = pipeline_msg_new(p, part, seq, rkm->offset);
	if (!m ||
	    records_deadletter(&src, rkm->key, rkm->key_len, rkm->payload, rkm->len, reason,
			       p->cfg->pipeline.deadletter_max_bytes, log_now_ms(), &buf) < 0) {
		free(m);
		pipeline_oom(p, "building a dead letter");
		return;
	}
	metrics_inc(deadletters);
	pipeline_emit(p, m, KAFKA_OUT_DEADLETTER, rkm->key, rkm->key_len, &buf);
}

static void pipeline_review_done(void *arg, int status)
{
	struct pipeline_msg *m = arg;
	if (status < 0)
		pipeline_msg_abandon(m->p, m);
	else if (--m->pending == 0)
		pipeline_msg_done(m->p, m);
}

/* The suffix of EV's per-country escalations topic, or NULL for the plain
 * one: only a well-formed country code names a topic. */
static const char *pipeline_country_topic(const struct config *cfg,
					  const Arbiter__V1__ContentEvent *ev)
{
	const char *c = ev->country;
	if (!cfg->monitors.per_country_topics || strlen(c) != 2 || c[0] < 'A' || c[0] > 'Z' ||
	    c[1] < 'A' || c[1] > 'Z')
		return NULL;
	return c;
}

/* True when monitors.modes names a mode active for this verdict. */
static bool pipeline_mode_fed(const struct config *cfg, const struct rules_verdict *v)
{
	for (size_t i = 0; i < cfg->monitors.n_modes; i++)
		for (size_t j = 0; j < v->n_modes; j++)
			if (!strcmp(cfg->monitors.modes[i], v->modes[j]))
				return true;
	return false;
}

/* Escalation I of V: routed to its review queue in Redis and, when it
 * concerns monitors, produced to the escalations topic; M finishes once
 * both are acknowledged. Returns 0 or -ENOMEM. */
static int pipeline_escalate(struct pipeline *p, struct pipeline_msg *m,
			     const struct records_source *src, const Arbiter__V1__ContentEvent *ev,
			     const struct rules_verdict *v, size_t i, int64_t now)
{
	const struct config *cfg = p->cfg;
	const struct rules_escalate *e = &v->escalations[i].esc;
	const struct config_queue *q =
		p->review ? queues_route(cfg, e->queue, ev->lang, ev->country) : NULL;
	int64_t base = ev->created_at_ms > 0 ? ev->created_at_ms : now;
	struct records_escalation_opts opts = {
		.queue = q ? q->name : NULL,
		.deadline_ms = q ? queues_deadline(q, queues_band(e->band), base, e->sla_s) : 0,
		.monitors = pipeline_mode_fed(cfg, v),
		.pseudonym_key = cfg->monitors.pseudonym_key,
		.excerpt_max = cfg->monitors.include_excerpt ? cfg->monitors.excerpt_max_bytes : 0,
	};
	struct records_buf buf;
	if (records_escalation(src, ev, p->rules, v, i, &opts, now, &buf) < 0)
		return -ENOMEM;
	if (q) {
		Arbiter__V1__Escalation *es =
			arbiter__v1__escalation__unpack(NULL, buf.len, buf.data);
		m->pending++;
		int rc = es ? review_enqueue(p->review, q, es, buf.data, buf.len, NULL,
					     pipeline_review_done, m) :
			      -ENOMEM;
		arbiter__v1__escalation__free_unpacked(es, NULL);
		if (rc < 0) {
			m->pending--;
			free(buf.data);
			return rc;
		}
	}
	if (e->monitors || opts.monitors)
		pipeline_emit_to(p, m, KAFKA_OUT_ESCALATIONS, pipeline_country_topic(cfg, ev),
				 ev->content_id, strlen(ev->content_id), &buf);
	else
		free(buf.data);
	return 0;
}

static void pipeline_content(struct pipeline *p, struct pipeline_part *part, uint64_t seq,
			     const rd_kafka_message_t *rkm)
{
	char reason[EVENT_REASON_MAX];
	Arbiter__V1__ContentEvent *ev = NULL;
	metrics_inc(consumed_content);
	if (event_content_decode(p->cfg->kafka.topics.content.format, rkm->payload, rkm->len, &ev,
				 reason) < 0) {
		pipeline_deadletter(p, part, seq, rkm, reason);
		return;
	}
	int64_t now = log_now_ms();
	const struct rules_verdict *v = rules_eval(p->rctx, ev, now);
	if (!v) {
		event_content_free(ev);
		pipeline_oom(p, "evaluating the rules");
		return;
	}
	if (v->n_shadow)
		metrics_add(shadow_hits, v->n_shadow);
	if (v->action == ARBITER__V1__ACTION__NONE && !v->n_escalations) {
		/* Nothing to act on: no side effect, finished here. */
		event_content_free(ev);
		pipeline_finish(p, part, seq);
		return;
	}
	struct records_source src = {kafka_input_topic(p->kafka, part->input), rkm->partition,
				     rkm->offset};
	struct pipeline_msg *m = pipeline_msg_new(p, part, seq, rkm->offset);
	if (!m) {
		event_content_free(ev);
		pipeline_oom(p, "tracking a verdict");
		return;
	}
	/* The first record is counted before any is produced, so that an early
	 * acknowledgement cannot finish the message while others are due. */
	m->pending = 1;
	const char *key = ev->content_id;
	if (v->action != ARBITER__V1__ACTION__NONE) {
		metrics_inc(rule_actions);
		if (p->review) {
			/* An automated action can be appealed too. */
			char audit_id[RECORDS_ID_LEN + 1];
			records_id(audit_id, "audit", &src);
			pipeline_record_state(p, m, ev->content_id, v->action,
					      ARBITER__V1__ACTOR__AUTOMATED, "", audit_id, now);
		}
		struct pipeline_audit a = {.src = &src, .ev = ev, .v = v, .now = now};
		if (pipeline_emit_audit(p, m, key, &a) < 0)
			goto oom;
	}
	for (size_t i = 0; i < v->n_escalations; i++) {
		metrics_inc(escalations);
		if (pipeline_escalate(p, m, &src, ev, v, i, now) < 0)
			goto oom;
	}
	event_content_free(ev);
	if (--m->pending == 0)
		pipeline_msg_done(p, m);
	return;
oom:
	event_content_free(ev);
	pipeline_oom(p, "building a verdict record");
}

/* A decision waiting for Redis to say what it is about. */
struct pipeline_decision_ctx {
	struct pipeline_msg *m;
	Arbiter__V1__ModerationDecision *d;
	struct records_source src;
	size_t raw_len;
	uint8_t raw[]; /* the message, for a dead letter */
};

static void pipeline_decision_ctx_free(struct pipeline_decision_ctx *x)
{
	event_decision_free(x->d);
	free(x);
}

/* M's input is refused with REASON after all (Redis said so): it goes to the
 * dead-letter topic instead of producing its records. */
static void pipeline_refuse(struct pipeline *p, struct pipeline_decision_ctx *x, const char *reason)
{
	struct records_buf buf;
	log_debug("pipeline", "dead letter %s[%" PRId32 "]@%" PRId64 ": %s", x->src.topic,
		  x->src.partition, x->src.offset, reason);
	if (records_deadletter(&x->src, x->d->content_id, strlen(x->d->content_id), x->raw,
			       x->raw_len, reason, p->cfg->pipeline.deadletter_max_bytes,
			       log_now_ms(), &buf) < 0) {
		pipeline_oom(p, "building a dead letter");
		return;
	}
	metrics_inc(deadletters);
	pipeline_emit(p, x->m, KAFKA_OUT_DEADLETTER, x->d->content_id, strlen(x->d->content_id),
		      &buf);
}

static void pipeline_state_done(void *arg, const redisReply *r)
{
	struct pipeline_msg *m = arg;
	if (!r)
		pipeline_msg_abandon(m->p, m);
	else if (--m->pending == 0)
		pipeline_msg_done(m->p, m);
}

/* Records decision D_ID (ACTION by ACTOR/REVIEWER at AT) as the state of
 * CONTENT, for appeals; M finishes once Redis has it. */
static void pipeline_record_state(struct pipeline *p, struct pipeline_msg *m, const char *content,
				  Arbiter__V1__Action action, Arbiter__V1__Actor actor,
				  const char *reviewer, const char *d_id, int64_t at)
{
	char at_s[24];
	snprintf(at_s, sizeof(at_s), "%" PRId64, at);
	const ProtobufCEnumValue *a =
		protobuf_c_enum_descriptor_get_value(&arbiter__v1__action__descriptor, action);
	const ProtobufCEnumValue *w =
		protobuf_c_enum_descriptor_get_value(&arbiter__v1__actor__descriptor, actor);
	const char *args[] = {at_s, a ? a->name : "NONE", w ? w->name : "", reviewer, d_id};
	struct queues_cmd cmd;
	if (queues_decision_cmd(p->cfg, QUEUES_DECISION, content, NULL, args, 5, &cmd) < 0) {
		pipeline_oom(p, "recording a decision");
		return;
	}
	m->pending++;
	review_call(p->review, &cmd, pipeline_state_done, m);
}

/* Emits the decision's audit record (every decision that is not refused has one). */
static int pipeline_decision_audit(struct pipeline *p, struct pipeline_decision_ctx *x)
{
	struct pipeline_audit a = {.src = &x->src, .d = x->d, .now = log_now_ms()};
	return pipeline_emit_audit(p, x->m, x->d->content_id, &a);
}

/* The decision under appeal as the appeal scripts answer it:
 * {original action, original reviewer, decision id, filed_ms}. */
static bool pipeline_appeal_reply(const redisReply *r, struct records_appeal *a)
{
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 4)
		return false;
	for (size_t i = 0; i < 4; i++)
		if (r->element[i]->type != REDIS_REPLY_STRING)
			return false;
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value_by_name(
		&arbiter__v1__action__descriptor, r->element[0]->str);
	a->original_action = v ? (Arbiter__V1__Action)v->value : ARBITER__V1__ACTION__NONE;
	a->original_reviewer = r->element[1]->str;
	a->decision_id = r->element[2]->str;
	a->filed_at_ms = strtoll(r->element[3]->str, NULL, 10);
	return true;
}

/* Queues the appeal X for a reviewer other than the one who decided:
 * urgent enough for the action under appeal. */
static int pipeline_appeal_enqueue(struct pipeline *p, struct pipeline_decision_ctx *x,
				   const struct records_appeal *a)
{
	const struct config_queue *q = config_queue_find(p->cfg, p->cfg->review.appeals_queue);
	const Arbiter__V1__ModerationDecision *d = x->d;
	char id[RECORDS_ID_LEN + 1], evidence[300];
	records_id(id, "appeal-entry", &x->src);
	snprintf(evidence, sizeof(evidence), "appeal:%s", d->appeal_id);
	char *ev[] = {evidence};
	bool severe = rules_action_severity(a->original_action) >=
		      rules_action_severity(ARBITER__V1__ACTION__REMOVE);
	enum config_band band = severe ? CONFIG_BAND_HIGH : CONFIG_BAND_NORMAL;
	Arbiter__V1__Escalation es = ARBITER__V1__ESCALATION__INIT;
	es.escalation_id = id;
	es.content_id = d->content_id;
	es.event_id = d->event_id;
	es.queue = q->name;
	es.band = queues_band_pb(band);
	es.deadline_ms = queues_deadline(q, band, a->filed_at_ms, 0);
	es.action = a->original_action;
	es.lang = d->lang;
	es.country = d->country;
	es.n_evidence = 1;
	es.evidence = ev;
	es.content_type = d->content_type;
	es.content_created_at_ms = d->content_created_at_ms;
	es.automated_detection = d->automated_detection;
	es.source_topic = (char *)x->src.topic;
	es.source_partition = x->src.partition;
	es.source_offset = x->src.offset;
	es.created_at_ms = log_now_ms();
	struct records_buf buf = {.len = protobuf_c_message_get_packed_size(&es.base)};
	buf.data = malloc(buf.len ? buf.len : 1);
	if (!buf.data)
		return -ENOMEM;
	protobuf_c_message_pack(&es.base, buf.data);
	x->m->pending++;
	int rc = review_enqueue_appeal(p->review, q, &es, buf.data, buf.len, a->original_reviewer,
				       d->appeal_id, pipeline_review_done, x->m);
	if (rc < 0)
		x->m->pending--;
	free(buf.data);
	return rc;
}

/* Redis answered an appeal (filed or resolved): the records, or a refusal. */
static void pipeline_appeal_answered(void *arg, const redisReply *r)
{
	struct pipeline_decision_ctx *x = arg;
	struct pipeline_msg *m = x->m;
	struct pipeline *p = m->p;
	if (!r) {
		pipeline_msg_abandon(p, m);
		pipeline_decision_ctx_free(x);
		return;
	}
	struct records_appeal a = {.pseudonym_key = p->cfg->monitors.pseudonym_key};
	if (r->type == REDIS_REPLY_ERROR) {
		pipeline_refuse(p, x, r->str + 8); /* after "ARBITER " */
	} else if (!pipeline_appeal_reply(r, &a)) {
		log_error("pipeline", "unexpected reply to an appeal script");
		pipeline_refuse(p, x, "the appeal could not be recorded");
	} else {
		struct records_buf buf;
		int rc = records_appeal(&x->src, x->d, &a, log_now_ms(), &buf);
		if (rc == 0) {
			metrics_inc(appeals);
			pipeline_emit(p, m, KAFKA_OUT_APPEALS, x->d->content_id,
				      strlen(x->d->content_id), &buf);
			rc = pipeline_decision_audit(p, x);
		}
		if (rc == 0 && x->d->kind == ARBITER__V1__DECISION_KIND__APPEAL_FILED)
			rc = pipeline_appeal_enqueue(p, x, &a);
		if (rc < 0)
			pipeline_oom(p, "building an appeal record");
	}
	pipeline_decision_ctx_free(x);
	if (--m->pending == 0)
		pipeline_msg_done(p, m);
}

static void pipeline_decision(struct pipeline *p, struct pipeline_part *part, uint64_t seq,
			      const rd_kafka_message_t *rkm)
{
	char reason[EVENT_REASON_MAX];
	Arbiter__V1__ModerationDecision *d = NULL;
	metrics_inc(consumed_decisions);
	if (event_decision_decode(p->cfg->kafka.topics.decisions.format, rkm->payload, rkm->len, &d,
				  reason) < 0) {
		pipeline_deadletter(p, part, seq, rkm, reason);
		return;
	}
	bool appeal = d->kind != ARBITER__V1__DECISION_KIND__ACTION;
	if (appeal && (!p->review || !p->cfg->review.appeals_queue)) {
		event_decision_free(d);
		pipeline_deadletter(p, part, seq, rkm,
				    "appeals need an appeals queue (review.appeals_queue)");
		return;
	}
	struct pipeline_decision_ctx *x = malloc(sizeof(*x) + rkm->len);
	struct pipeline_msg *m = x ? pipeline_msg_new(p, part, seq, rkm->offset) : NULL;
	if (!m) {
		free(x);
		event_decision_free(d);
		pipeline_oom(p, "tracking a decision");
		return;
	}
	x->m = m;
	x->d = d;
	x->src = (struct records_source){kafka_input_topic(p->kafka, part->input), rkm->partition,
					 rkm->offset};
	x->raw_len = rkm->len;
	memcpy(x->raw, rkm->payload, rkm->len);
	m->pending = 1; /* as in pipeline_content: finished below, not by an early report */

	if (appeal) {
		const char *content_or_none = d->content_id;
		char at[24];
		snprintf(at, sizeof(at), "%" PRId64,
			 d->decided_at_ms ? d->decided_at_ms : log_now_ms());
		const ProtobufCEnumValue *oc = protobuf_c_enum_descriptor_get_value(
			&arbiter__v1__appeal_outcome__descriptor, d->appeal_outcome);
		const ProtobufCEnumValue *na = protobuf_c_enum_descriptor_get_value(
			&arbiter__v1__action__descriptor, d->action);
		const char *file_args[] = {d->content_id, at};
		const char *resolve_args[] = {d->reviewer_id, oc ? oc->name : "",
					      na ? na->name : "", at, d->decision_id};
		bool filed = d->kind == ARBITER__V1__DECISION_KIND__APPEAL_FILED;
		struct queues_cmd cmd;
		if (queues_decision_cmd(p->cfg, filed ? QUEUES_APPEAL_FILE : QUEUES_APPEAL_RESOLVE,
					content_or_none, d->appeal_id,
					filed ? file_args : resolve_args, filed ? 2 : 5,
					&cmd) < 0) {
			pipeline_decision_ctx_free(x);
			pipeline_oom(p, "building an appeal command");
			return;
		}
		m->pending++;
		review_call(p->review, &cmd, pipeline_appeal_answered, x);
	} else {
		if (pipeline_decision_audit(p, x) < 0) {
			pipeline_decision_ctx_free(x);
			pipeline_oom(p, "building an audit record");
			return;
		}
		if (p->review)
			pipeline_record_state(p, m, d->content_id, d->action, d->actor,
					      d->reviewer_id, d->decision_id,
					      d->decided_at_ms ? d->decided_at_ms : log_now_ms());
		pipeline_decision_ctx_free(x);
	}
	if (--m->pending == 0)
		pipeline_msg_done(p, m);
}

static void pipeline_on_message(void *opaque, enum kafka_input in, rd_kafka_message_t *rkm)
{
	struct pipeline *p = opaque;
	struct pipeline_part *part = pipeline_part_get(p, in, rkm->partition);
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
		log_debug("pipeline", "ignoring %s[%" PRId32 "]@%" PRId64,
			  kafka_input_topic(p->kafka, in), rkm->partition, rkm->offset);
		rd_kafka_message_destroy(rkm);
		return;
	}
	part->refs++;
	p->inflight++;
	metrics_set(inflight, (int_fast64_t)p->inflight);
	if (in == KAFKA_IN_CONTENT)
		pipeline_content(p, part, seq, rkm);
	else
		pipeline_decision(p, part, seq, rkm);
	rd_kafka_message_destroy(rkm);

	if (!p->backpressure && p->inflight >= p->cfg->pipeline.max_inflight) {
		p->backpressure = true;
		metrics_inc(pauses);
		pipeline_update_pause(p);
		log_debug("pipeline", "paused at %zu in flight", p->inflight);
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
		if (--m->pending == 0)
			pipeline_msg_done(p, m);
		return;
	}
	if (rkm->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE ||
	    rkm->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT) {
		pipeline_msg_abandon(p, m);
		return;
	}
	const char *suffix = NULL;
	enum kafka_output out = kafka_output_of(p->kafka, rd_kafka_topic_name(rkm->rkt), &suffix);
	if (pipeline_err_is_permanent(rkm->err) && out != KAFKA_OUT__COUNT) {
		pipeline_reject(p, m, out, rkm->payload, rkm->len, rd_kafka_err2str(rkm->err));
		return;
	}
	if (out == KAFKA_OUT_AUDIT) {
		/* Written again later, the record would land after its chain's
		 * next ones: stop instead. The message stays uncommitted; the
		 * next start recovers the chain from what the topic holds and
		 * writes the record where the chain is then. */
		metrics_inc(produce_errors);
		log_error("pipeline",
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
	log_error("pipeline", "delivery to %s failed: %s; retrying", rd_kafka_topic_name(rkm->rkt),
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

static void pipeline_chain_record(void *opaque, const rd_kafka_message_t *m)
{
	struct audit_chain *c = opaque;
	if (audit_chain_recover(c, m) < 0)
		log_warn("pipeline",
			 "audit chain %s: out of memory remembering its records; "
			 "redelivered messages may write theirs again",
			 audit_chain_name(c));
}

/* The chain of input partition PARTITION of IN, its head read back from the
 * audit topic: the newest records first, further back until a record of the
 * chain from before the committed offset turns up (every record of a message
 * that may be redelivered is then known) or the partition's start is
 * reached. Blocks the loop, on purpose: nothing of the partition may be
 * handled before. NULL when the audit topic cannot be read. */
static struct audit_chain *pipeline_chain_recover(struct pipeline *p, enum kafka_input in,
						  int32_t partition)
{
	const char *topic = kafka_input_topic(p->kafka, in);
	const char *audit = kafka_output_topic(p->kafka, KAFKA_OUT_AUDIT);
	int64_t committed;
	if (kafka_committed(p->kafka, in, partition, 30000, &committed) < 0)
		return NULL;
	/* Records can come out of offset order by as much as is in flight. */
	int64_t margin = (int64_t)p->cfg->pipeline.max_inflight;
	struct audit_chain *c = audit_chain_new(topic, partition, partition % p->audit_partitions,
						committed, margin);
	if (!c)
		return NULL;
	/* From the newest thousand records back, eight times further each time
	 * the chain's records from before the window are not reached yet. */
	int64_t count = 1000;
	for (;;) {
		bool whole = false;
		audit_chain_recover_reset(c);
		int rc = kafka_read_tail(p->kafka, KAFKA_OUT_AUDIT, audit_chain_partition(c), count,
					 30000, pipeline_chain_record, c, &whole);
		if (rc < 0) {
			log_error("pipeline",
				  "audit chain %s: cannot read its head from %s[%" PRId32 "]: %s",
				  audit_chain_name(c), audit, audit_chain_partition(c),
				  strerror(-rc));
			audit_chain_free(c);
			return NULL;
		}
		if (audit_chain_recovered(c) || whole)
			break;
		count *= 8;
	}
	log_info("pipeline",
		 "audit chain %s continues at sequence %" PRIu64 " in %s[%" PRId32
		 "] (%zu record(s) of uncommitted input known)",
		 audit_chain_name(c), audit_chain_next_sequence(c), audit, audit_chain_partition(c),
		 audit_chain_remembered(c));
	return c;
}

static void pipeline_on_assigned(void *opaque, const rd_kafka_topic_partition_list_t *parts)
{
	struct pipeline *p = opaque;
	/* Each join may bring a new member id: the records say who wrote them. */
	char host[HOST_NAME_MAX + 1] = "", member[200];
	gethostname(host, sizeof(host));
	host[sizeof(host) - 1] = '\0';
	kafka_member_id(p->kafka, member, sizeof(member));
	snprintf(p->writer, sizeof(p->writer), "%.64s/%ld/%.200s", host, (long)getpid(), member);
	for (int i = 0; i < parts->cnt; i++) {
		const rd_kafka_topic_partition_t *tp = &parts->elems[i];
		enum kafka_input in = pipeline_input_of(p, tp->topic);
		if (in == KAFKA_IN__COUNT || tp->partition < 0)
			continue;
		size_t need = (size_t)tp->partition + 1;
		if (need > p->n_parts[in]) {
			struct pipeline_part **v = realloc(p->parts[in], need * sizeof(*v));
			if (!v) {
				log_error("pipeline", "out of memory on assignment");
				continue;
			}
			memset(v + p->n_parts[in], 0, (need - p->n_parts[in]) * sizeof(*v));
			p->parts[in] = v;
			p->n_parts[in] = need;
		}
		if (p->parts[in][tp->partition])
			continue;
		struct pipeline_part *part = calloc(1, sizeof(*part));
		if (part)
			part->win = offsets_window_new();
		if (!part || !part->win) {
			free(part);
			log_error("pipeline", "out of memory on assignment");
			continue;
		}
		part->input = in;
		part->partition = tp->partition;
		part->refs = 1;
		part->chain = pipeline_chain_recover(p, in, tp->partition);
		if (!part->chain) {
			/* Writing a chain whose head is unknown would fork it. */
			offsets_window_free(part->win);
			free(part);
			log_error("pipeline",
				  "cannot recover the audit chain of %s[%" PRId32 "]: stopping",
				  tp->topic, tp->partition);
			pipeline_on_fatal(p, "audit chain recovery failed");
			continue;
		}
		p->parts[in][tp->partition] = part;
		metrics_add(assigned_partitions, 1);
	}
	metrics_set(ready, true);
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

static void pipeline_commit(struct pipeline *p, const rd_kafka_topic_partition_list_t *only,
			    bool sync)
{
	rd_kafka_topic_partition_list_t *list = pipeline_commit_list(p, only);
	if (!list)
		return;
	/* Success and failure are counted by the commit callback, which
	 * librdkafka calls for synchronous commits too. */
	kafka_commit(p->kafka, list, sync);
	rd_kafka_topic_partition_list_destroy(list);
}

static void pipeline_on_revoked(void *opaque, const rd_kafka_topic_partition_list_t *parts)
{
	struct pipeline *p = opaque;
	/* Commit what finished before giving the partitions away; what is
	 * still in flight will be redelivered to the next owner, and the
	 * records it produces carry the same ids. A lost assignment is owned
	 * by someone else already: its commit would be refused. */
	if (kafka_assignment_lost(p->kafka)) {
		log_warn("pipeline", "assignment lost: finished messages since the last commit "
				     "will be redelivered");
	} else {
		/* The next owner reads each chain's head back from the audit
		 * topic: what we produced must be there before it does. */
		if (kafka_outq_len(p->kafka) > 0 && kafka_flush(p->kafka, 10000) < 0)
			log_warn("pipeline",
				 "%d record(s) still unacknowledged at revoke: the next owner "
				 "may find a gap in an audit chain",
				 kafka_outq_len(p->kafka));
		pipeline_commit(p, parts, true);
	}
	for (int i = 0; i < parts->cnt; i++) {
		const rd_kafka_topic_partition_t *tp = &parts->elems[i];
		enum kafka_input in = pipeline_input_of(p, tp->topic);
		struct pipeline_part *part =
			in == KAFKA_IN__COUNT ? NULL : pipeline_part_get(p, in, tp->partition);
		if (!part)
			continue;
		p->parts[in][tp->partition] = NULL;
		part->revoked = true;
		metrics_add(assigned_partitions, -1);
		pipeline_part_unref(part);
	}
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
	log_warn("pipeline", "commit failed: %s; will retry", rd_kafka_err2str(err));
	/* Make the partitions dirty again so the next tick retries. */
	for (int i = 0; offsets && i < offsets->cnt; i++) {
		enum kafka_input in = pipeline_input_of(p, offsets->elems[i].topic);
		struct pipeline_part *part =
			in == KAFKA_IN__COUNT ?
				NULL :
				pipeline_part_get(p, in, offsets->elems[i].partition);
		if (part)
			offsets_window_committed(part->win, -1);
	}
}

static size_t pipeline_budget(void *opaque)
{
	struct pipeline *p = opaque;
	if (p->draining)
		return 0;
	size_t max = p->cfg->pipeline.max_inflight;
	return p->inflight < max ? max - p->inflight : 0;
}

static void pipeline_on_fatal(void *opaque, const char *reason)
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
	log_error("pipeline", "stopping after a fatal Kafka error; uncommitted input will be "
			      "redelivered after restart");
	p->stopped_called = true;
	uv_timer_stop(&p->commit_timer);
	uv_timer_stop(&p->drain_timer);
	p->stopped(p->opaque, true);
}

static void pipeline_on_review(void *opaque, bool up)
{
	struct pipeline *p = opaque;
	if (p->redis_down == !up)
		return;
	p->redis_down = !up;
	if (up)
		log_info("pipeline", "review queues reachable: input resumed");
	else
		log_warn("pipeline",
			 "review queues unreachable: input paused; %zu escalation(s) "
			 "held, nothing committed past them",
			 review_pending(p->review));
	pipeline_update_pause(p);
}

static int pipeline_review_start(struct pipeline *p)
{
	if (p->review || !p->cfg->review.n_queues)
		return 0;
	/* Until the first connection, escalations could not be acknowledged. */
	p->redis_down = true;
	log_info("pipeline", "waiting for Redis at %s before consuming", p->cfg->redis.address);
	return review_new(p->loop, p->cfg, pipeline_on_review, p, &p->review);
}

static void pipeline_commit_cb(uv_timer_t *t)
{
	pipeline_commit(t->data, NULL, false);
}

static void pipeline_handle_closed(uv_handle_t *h)
{
	struct pipeline *p = h->data;
	if (--p->open_handles == 0)
		free(p);
}

int pipeline_new(uv_loop_t *loop, const struct config *cfg, const struct ruleset *rules,
		 pipeline_stopped_cb stopped, void *opaque, struct pipeline **out)
{
	struct pipeline *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->rules = rules;
	p->rctx = rules_ctx_new(rules);
	if (!p->rctx) {
		free(p);
		return -ENOMEM;
	}
	metrics_set(rules_loaded, (int_fast64_t)rules_count(rules));
	p->loop = loop;
	p->cfg = cfg;
	p->stopped = stopped;
	p->opaque = opaque;
	p->retry_backoff_ms = 500;
	uv_timer_init(loop, &p->commit_timer);
	uv_timer_init(loop, &p->drain_timer);
	uv_timer_init(loop, &p->retry_timer);
	uv_async_init(loop, &p->fatal_async, pipeline_fatal_cb);
	p->commit_timer.data = p->drain_timer.data = p->retry_timer.data = p;
	p->fatal_async.data = p;
	p->open_handles = 4;
	*out = p;
	return 0;
}

int pipeline_start(struct pipeline *p, const char *bootstrap)
{
	struct kafka_handlers h = {
		.opaque = p,
		.message = pipeline_on_message,
		.assigned = pipeline_on_assigned,
		.revoked = pipeline_on_revoked,
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
	/* Chains map onto audit partitions by number: the count must be known
	 * (and the topic exist) before the first assignment. */
	p->audit_partitions = kafka_partition_count(p->kafka, KAFKA_OUT_AUDIT, 10000);
	if (p->audit_partitions <= 0) {
		log_error("pipeline", "the audit topic %s must exist before arbiterd starts",
			  kafka_output_topic(p->kafka, KAFKA_OUT_AUDIT));
		return -EIO;
	}
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
		log_warn("pipeline", "kafka settings changed: they take effect after a restart");
	p->cfg = cfg;
	if (p->review)
		review_set_config(p->review, cfg);
	else if (p->kafka && pipeline_review_start(p) < 0)
		log_error("pipeline", "out of memory starting the review queues");
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
	if (p->inflight)
		log_warn("pipeline",
			 "drain deadline passed with %zu message(s) in flight; they "
			 "will be redelivered",
			 p->inflight);
	/* Flush first, so that what is acknowledged now is committed too. */
	uv_update_time(p->loop);
	uint64_t now = uv_now(p->loop);
	int left = p->drain_deadline > now ? (int)(p->drain_deadline - now) : 0;
	if (kafka_outq_len(p->kafka) > 0 && kafka_flush(p->kafka, left) < 0)
		log_warn("pipeline",
			 "%d record(s) not acknowledged at exit; their inputs stay "
			 "uncommitted",
			 kafka_outq_len(p->kafka));
	pipeline_commit(p, NULL, true);
	kafka_close_consumer(p->kafka);
	if (kafka_outq_len(p->kafka) > 0)
		kafka_purge(p->kafka);
	log_info("pipeline", "drained");
	p->stopped(p->opaque, false);
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
		p->stopped(p->opaque, false);
		return;
	}
	log_info("pipeline", "draining %zu in-flight message(s), up to %u ms", p->inflight,
		 p->cfg->pipeline.drain_timeout_ms);
	pipeline_update_pause(p);
	p->drain_deadline = uv_now(p->loop) + p->cfg->pipeline.drain_timeout_ms;
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
	for (int in = 0; in < KAFKA_IN__COUNT; in++) {
		for (size_t i = 0; i < p->n_parts[in]; i++)
			if (p->parts[in][i])
				pipeline_part_unref(p->parts[in][i]);
		free(p->parts[in]);
	}
	rules_ctx_free(p->rctx);
	p->rctx = NULL;
	uv_close((uv_handle_t *)&p->commit_timer, pipeline_handle_closed);
	uv_close((uv_handle_t *)&p->drain_timer, pipeline_handle_closed);
	uv_close((uv_handle_t *)&p->retry_timer, pipeline_handle_closed);
	uv_close((uv_handle_t *)&p->fatal_async, pipeline_handle_closed);
}
