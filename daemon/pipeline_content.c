/* The pipeline's content path: a content event decoded, evaluated against the rules (its counters
 * read from Redis when a rule waits on them), and its audit record and escalations out. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "counters.h"
#include "event.h"
#include "log.h"
#include "metrics.h"
#include "pipeline_impl.h"
#include "queues.h"

/* The suffix of EV's per-country escalations topic, or NULL for the plain
 * one: only a well-formed country code names a topic. */
static const char *pipeline_content_country_topic(const struct config *cfg,
						  const Arbiter__V1__ContentEvent *ev)
{
	const char *c = ev->country;
	if (!cfg->monitors.per_country_topics || strlen(c) != 2 || c[0] < 'A' || c[0] > 'Z' ||
	    c[1] < 'A' || c[1] > 'Z')
		return NULL;
	return c;
}

/* True when monitors.modes names a mode active for this verdict. */
static bool pipeline_content_mode_fed(const struct config *cfg, const struct rules_verdict *v)
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
static int pipeline_content_escalate(struct pipeline *p, struct pipeline_msg *m,
				     const struct records_source *src,
				     const Arbiter__V1__ContentEvent *ev,
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
		.monitors = pipeline_content_mode_fed(cfg, v),
		.pseudonym_key = cfg->monitors.pseudonym_key,
		.excerpt_max = cfg->monitors.include_excerpt ? cfg->monitors.excerpt_max_bytes : 0,
	};
	struct records_buf buf;
	if (records_escalation(src, ev, p->rules, v, i, &opts, now, &buf) < 0)
		return -ENOMEM;
	if (q) {
		int rc = pipeline_review_enqueue(p, m, q, &buf, NULL, NULL);
		if (rc < 0) {
			free(buf.data);
			return rc;
		}
	}
	if (e->monitors || opts.monitors)
		pipeline_emit_to(p, m, KAFKA_OUT_ESCALATIONS,
				 pipeline_content_country_topic(cfg, ev), ev->content_id,
				 strlen(ev->content_id), &buf);
	else
		free(buf.data);
	return 0;
}

/* Acts on verdict V for EV (which it frees), message SEQ of PART at OFFSET: its audit record
 * and escalations. M is the message when it is tracked already (waiting on counters, pending
 * 1), else NULL. */
static void pipeline_content_act(struct pipeline *p, struct pipeline_part *part, uint64_t seq,
				 int64_t offset, struct pipeline_msg *m,
				 Arbiter__V1__ContentEvent *ev, const struct rules_verdict *v,
				 int64_t now)
{
	metrics_rules_verdict(v);
	if (v->action == ARBITER__V1__ACTION__NONE && !v->n_escalations) {
		/* Nothing to act on: no side effect, finished here. */
		event_content_free(ev);
		if (m)
			pipeline_msg_settle(m);
		else
			pipeline_finish(p, part, seq);
		return;
	}
	struct records_source src = {kafka_input_topic(p->kafka, part->input), part->partition,
				     offset};
	if (!m && (m = pipeline_msg_new(p, part, seq, offset)) != NULL)
		/* The first record is counted before any is produced, so that an early
		 * acknowledgement cannot finish the message while others are due. */
		m->pending = 1;
	if (!m) {
		event_content_free(ev);
		pipeline_oom(p, "tracking a verdict");
		return;
	}
	const char *key = ev->content_id;
	if (v->action != ARBITER__V1__ACTION__NONE) {
		metrics_hist_action(METRICS_H_ACTION_RULES, ev->created_at_ms, now);
		if (p->review) {
			/* An automated action can be appealed too. */
			char audit_id[RECORDS_ID_LEN + 1];
			records_id(audit_id, "audit", &src);
			pipeline_decision_record_state(p, m, ev->content_id, v->action,
						       ARBITER__V1__ACTOR__AUTOMATED, "", audit_id,
						       now);
		}
		struct pipeline_audit a = {.src = &src, .ev = ev, .v = v, .now = now};
		if (pipeline_emit_audit(p, m, key, &a) < 0)
			goto oom;
	}
	for (size_t i = 0; i < v->n_escalations; i++) {
		metrics_inc(escalations);
		if (pipeline_content_escalate(p, m, &src, ev, v, i, now) < 0)
			goto oom;
	}
	event_content_free(ev);
	pipeline_msg_settle(m);
	return;
oom:
	event_content_free(ev);
	pipeline_oom(p, "building a verdict record");
}

/* A content event whose verdict waits on its counters: held (and its input uncommitted) until
 * Redis answers, with the operations phase 1 listed and the ruleset they belong to. */
struct pipeline_counting {
	struct pipeline_msg *m;
	Arbiter__V1__ContentEvent *ev;
	int64_t now;
	char version[65];
	size_t n_ops;
	struct rules_counter_op *ops;
	uint64_t *values;
};

static void pipeline_counting_free(struct pipeline_counting *x)
{
	if (x->ev)
		event_content_free(x->ev);
	free(x->ops);
	free(x->values);
	free(x);
}

static void pipeline_content_counted(void *arg, const redisReply *r);

/* Sends X's operations, OPS (N of them, of the running ruleset), to Redis in one call.
 * Returns 0 or -ENOMEM. */
static int pipeline_content_ask(struct pipeline *p, struct pipeline_counting *x,
				const struct rules_counter_op *ops, size_t n)
{
	struct rules_counter_op *o = realloc(x->ops, n * sizeof(*o));
	if (o)
		x->ops = o;
	uint64_t *vals = o ? realloc(x->values, n * sizeof(*vals)) : NULL;
	if (vals)
		x->values = vals;
	struct queues_cmd cmd;
	if (!vals || counters_cmd(p->cfg, p->rules, ops, n, &cmd) < 0)
		return -ENOMEM;
	memcpy(x->ops, ops, n * sizeof(*o));
	x->n_ops = n;
	snprintf(x->version, sizeof(x->version), "%s", rules_version(p->rules));
	metrics_inc(counter_calls);
	review_call(p->review, &cmd, pipeline_content_counted, x);
	return 0;
}

/* Redis answered X's counters: the final verdict, acted on. A reload in between (another
 * ruleset: other counters) starts the event over with the new one; the operations are
 * idempotent, so asking again counts nothing twice. */
static void pipeline_content_counted(void *arg, const redisReply *r)
{
	struct pipeline_counting *x = arg;
	struct pipeline_msg *m = x->m;
	struct pipeline *p = m->p;
	if (!r) { /* closing: the input stays uncommitted and comes back */
		pipeline_msg_abandon(p, m);
		pipeline_counting_free(x);
		return;
	}
	const struct rules_verdict *v;
	if (strcmp(x->version, rules_version(p->rules))) {
		const struct rules_counter_op *ops;
		size_t n;
		v = rules_eval_begin(p->rctx, x->ev, x->now, &ops, &n);
		if (v && n) {
			if (pipeline_content_ask(p, x, ops, n) < 0)
				pipeline_oom(p, "asking for counters");
			return;
		}
	} else if (counters_reply(r, x->n_ops, x->values) < 0) {
		/* Not the script's answer: no counter fires on a guess. */
		log_error(pipeline, "counters: unexpected reply from Redis; counted as unknown");
		v = rules_eval_finish(p->rctx, x->ev, x->now, NULL, NULL, 0);
	} else {
		v = rules_eval_finish(p->rctx, x->ev, x->now, x->ops, x->values, x->n_ops);
	}
	if (!v) {
		pipeline_oom(p, "evaluating the rules");
		return;
	}
	Arbiter__V1__ContentEvent *ev = x->ev;
	x->ev = NULL;
	pipeline_content_act(p, m->part, m->seq, m->offset, m, ev, v, x->now);
	pipeline_counting_free(x);
}

/* EV (taken) waits on the counters OPS (N) that phase 1 listed. Returns 0 or -ENOMEM. */
static int pipeline_content_count(struct pipeline *p, struct pipeline_part *part, uint64_t seq,
				  int64_t offset, Arbiter__V1__ContentEvent *ev, int64_t now,
				  const struct rules_counter_op *ops, size_t n)
{
	struct pipeline_counting *x = calloc(1, sizeof(*x));
	struct pipeline_msg *m = x ? pipeline_msg_new(p, part, seq, offset) : NULL;
	if (!m) {
		free(x);
		event_content_free(ev);
		return -ENOMEM;
	}
	m->pending = 1; /* the counters' answer */
	x->m = m;
	x->ev = ev;
	x->now = now;
	if (pipeline_content_ask(p, x, ops, n) < 0) {
		pipeline_counting_free(x);
		pipeline_msg_discard(p, m);
		return -ENOMEM;
	}
	return 0;
}

void pipeline_content_ruleset(struct pipeline *p)
{
	int64_t hashes = 0;
	for (size_t i = 0; i < rules_bank_count(p->rules); i++)
		hashes += (int64_t)hashbank_size(rules_bank(p->rules, i, NULL));
	metrics_set(bank_hashes, (int_fast64_t)hashes);
}

void pipeline_content_handle(struct pipeline *p, struct pipeline_part *part, uint64_t seq,
			     const rd_kafka_message_t *rkm)
{
	char reason[EVENT_REASON_MAX];
	Arbiter__V1__ContentEvent *ev = NULL;
	metrics_inc(consumed_content);
	int rc = event_content_decode(p->cfg->kafka.topics.content.format, rkm->payload, rkm->len,
				      &ev, reason);
	if (rc < 0) {
		pipeline_deadletter(p, part, seq, rkm,
				    rc == -EBADMSG ? METRICS_DL_UNDECODABLE : METRICS_DL_INVALID,
				    reason);
		return;
	}
	int64_t now = pipeline_now_ms(p);
	const struct rules_counter_op *ops;
	size_t n_ops;
	int64_t t0 = metrics_mono_ns();
	const struct rules_verdict *v = rules_eval_begin(p->rctx, ev, now, &ops, &n_ops);
	if (v)
		metrics_hist_since(METRICS_H_RULE_EVAL, t0);
	if (v && n_ops && !p->review) /* not started: the policy check makes that a bug */
		v = rules_eval_finish(p->rctx, ev, now, NULL, NULL, 0);
	else if (v && n_ops) {
		if (pipeline_content_count(p, part, seq, rkm->offset, ev, now, ops, n_ops) < 0)
			pipeline_oom(p, "asking for counters");
		return;
	}
	if (!v) {
		event_content_free(ev);
		pipeline_oom(p, "evaluating the rules");
		return;
	}
	pipeline_content_act(p, part, seq, rkm->offset, NULL, ev, v, now);
}
