/* The pipeline's decision path: a moderation decision's audit record and decision state, and
 * appeals filed and resolved through Redis. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "log.h"
#include "metrics.h"
#include "pipeline_impl.h"
#include "queues.h"

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
static void pipeline_decision_refuse(struct pipeline *p, struct pipeline_decision_ctx *x,
				     const char *reason)
{
	struct records_buf buf;
	log_debug(pipeline, "dead letter %s[%" PRId32 "]@%" PRId64 ": %s", x->src.topic,
		  x->src.partition, x->src.offset, reason);
	if (records_deadletter(&x->src, x->d->content_id, strlen(x->d->content_id), x->raw,
			       x->raw_len, reason, p->cfg->pipeline.deadletter_max_bytes,
			       log_now_ms(), &buf) < 0) {
		pipeline_oom(p, "building a dead letter");
		return;
	}
	metrics_deadletter(METRICS_DL_APPEAL);
	pipeline_emit(p, x->m, KAFKA_OUT_DEADLETTER, x->d->content_id, strlen(x->d->content_id),
		      &buf);
}

static void pipeline_decision_state_done(void *arg, const redisReply *r)
{
	struct pipeline_msg *m = arg;
	if (!r)
		pipeline_msg_abandon(m->p, m);
	else
		pipeline_msg_settle(m);
}

/* Records decision D_ID (ACTION by ACTOR/REVIEWER at AT) as the state of
 * CONTENT, for appeals; M finishes once Redis has it. */
void pipeline_decision_record_state(struct pipeline *p, struct pipeline_msg *m, const char *content,
				    Arbiter__V1__Action action, Arbiter__V1__Actor actor,
				    const char *reviewer, const char *d_id, int64_t at)
{
	struct queues_cmd cmd;
	if (queues_decision_state_cmd(p->cfg, content, d_id, action, actor, reviewer, at, &cmd) <
	    0) {
		pipeline_oom(p, "recording a decision");
		return;
	}
	m->pending++;
	review_call(p->review, &cmd, pipeline_decision_state_done, m);
}

/* Emits the decision's audit record (every decision that is not refused has one). */
static int pipeline_decision_audit(struct pipeline *p, struct pipeline_decision_ctx *x)
{
	struct pipeline_audit a = {.src = &x->src, .d = x->d, .now = log_now_ms()};
	return pipeline_emit_audit(p, x->m, x->d->content_id, &a);
}

/* Queues the appeal X for a reviewer other than the one who decided:
 * urgent enough for the action under appeal. */
static int pipeline_decision_appeal_enqueue(struct pipeline *p, struct pipeline_decision_ctx *x,
					    const struct records_appeal *a)
{
	const struct config_queue *q = config_queue_find(p->cfg, p->cfg->review.appeals_queue);
	enum config_band band = queues_appeal_band(a->original_action);
	struct records_appeal_entry e = {
		.queue = q->name,
		.band = queues_band_pb(band),
		.deadline_ms = queues_deadline(q, band, a->filed_at_ms, 0),
	};
	struct records_buf buf;
	if (records_appeal_escalation(&x->src, x->d, a, &e, log_now_ms(), &buf) < 0)
		return -ENOMEM;
	int rc = pipeline_review_enqueue(p, x->m, q, &buf, a->original_reviewer, x->d->appeal_id);
	free(buf.data);
	return rc;
}

/* Redis answered an appeal (filed or resolved): the records, or a refusal. */
static void pipeline_decision_appeal_answered(void *arg, const redisReply *r)
{
	struct pipeline_decision_ctx *x = arg;
	struct pipeline_msg *m = x->m;
	struct pipeline *p = m->p;
	if (!r) {
		pipeline_msg_abandon(p, m);
		pipeline_decision_ctx_free(x);
		return;
	}
	struct queues_appeal qa;
	int parsed = queues_appeal_reply(r, &qa);
	struct records_appeal a = {
		.pseudonym_key = p->cfg->monitors.pseudonym_key,
		.original_action = qa.original_action,
		.original_reviewer = qa.original_reviewer,
		.decision_id = qa.decision_id,
		.filed_at_ms = qa.filed_ms,
	};
	if (parsed == -EPERM || parsed == -ENOENT) {
		/* ENOENT: the appeal names a decision this content does not have. */
		pipeline_decision_refuse(p, x, qa.reason);
	} else if (parsed < 0) {
		log_error(pipeline, "unexpected reply to an appeal script");
		pipeline_decision_refuse(p, x, "the appeal could not be recorded");
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
			rc = pipeline_decision_appeal_enqueue(p, x, &a);
		if (rc < 0)
			pipeline_oom(p, "building an appeal record");
	}
	pipeline_decision_ctx_free(x);
	pipeline_msg_settle(m);
}

/* Asks Redis to file or resolve appeal X; its answer brings the records
 * (pipeline_decision_appeal_answered), which takes X. Returns 0 or -ENOMEM. */
static int pipeline_decision_appeal(struct pipeline *p, struct pipeline_decision_ctx *x)
{
	const Arbiter__V1__ModerationDecision *d = x->d;
	int64_t at = d->decided_at_ms ? d->decided_at_ms : log_now_ms();
	struct queues_cmd cmd;
	/* A named decision (DSA Art. 20: a complaint is against a decision) is the one appealed;
	 * without one, the content's current decision, which a later automated action never
	 * displaces from a human one. */
	int rc = d->kind == ARBITER__V1__DECISION_KIND__APPEAL_FILED ?
			 queues_appeal_file_cmd(p->cfg, d->content_id, d->appeal_id, at,
						d->appealed_decision_id, &cmd) :
			 queues_appeal_resolve_cmd(p->cfg, d->content_id, d->appeal_id,
						   d->reviewer_id, d->appeal_outcome, d->action, at,
						   d->decision_id, &cmd);
	if (rc < 0)
		return -ENOMEM;
	x->m->pending++;
	review_call(p->review, &cmd, pipeline_decision_appeal_answered, x);
	return 0;
}

/* An action decision X: its audit record and, when appeals can reach Redis,
 * the content's decision state; X is done with here. Returns 0 or -ENOMEM
 * (X left to the caller). */
static int pipeline_decision_action(struct pipeline *p, struct pipeline_decision_ctx *x)
{
	const Arbiter__V1__ModerationDecision *d = x->d;
	if (pipeline_decision_audit(p, x) < 0)
		return -ENOMEM;
	metrics_hist_action(METRICS_H_ACTION_DECISIONS, d->content_created_at_ms, d->decided_at_ms);
	if (p->review)
		pipeline_decision_record_state(p, x->m, d->content_id, d->action, d->actor,
					       d->reviewer_id, d->decision_id,
					       d->decided_at_ms ? d->decided_at_ms : log_now_ms());
	pipeline_decision_ctx_free(x);
	return 0;
}

void pipeline_decision_handle(struct pipeline *p, struct pipeline_part *part, uint64_t seq,
			      const rd_kafka_message_t *rkm)
{
	char reason[EVENT_REASON_MAX];
	Arbiter__V1__ModerationDecision *d = NULL;
	metrics_inc(consumed_decisions);
	int drc = event_decision_decode(p->cfg->kafka.topics.decisions.format, rkm->payload,
					rkm->len, &d, reason);
	if (drc < 0) {
		pipeline_deadletter(p, part, seq, rkm,
				    drc == -EBADMSG ? METRICS_DL_UNDECODABLE : METRICS_DL_INVALID,
				    reason);
		return;
	}
	bool appeal = d->kind != ARBITER__V1__DECISION_KIND__ACTION;
	if (appeal && (!p->review || !p->cfg->review.appeals_queue)) {
		event_decision_free(d);
		pipeline_deadletter(p, part, seq, rkm, METRICS_DL_APPEAL,
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
	m->pending = 1; /* as in pipeline_content_handle: finished below, not by an early report */

	int rc = appeal ? pipeline_decision_appeal(p, x) : pipeline_decision_action(p, x);
	if (rc < 0) {
		pipeline_decision_ctx_free(x);
		pipeline_oom(p, appeal ? "building an appeal command" : "building an audit record");
		return;
	}
	pipeline_msg_settle(m);
}
