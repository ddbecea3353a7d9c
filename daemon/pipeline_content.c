/* The pipeline's content path: a content event decoded, evaluated against the rules, and its audit
 * record and escalations out. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
	int64_t now = log_now_ms();
	int64_t t0 = metrics_mono_ns();
	const struct rules_verdict *v = rules_eval(p->rctx, ev, now);
	if (!v) {
		event_content_free(ev);
		pipeline_oom(p, "evaluating the rules");
		return;
	}
	metrics_hist_observe(METRICS_H_RULE_EVAL, (double)(metrics_mono_ns() - t0) / 1e9);
	metrics_rules_verdict(v);
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
