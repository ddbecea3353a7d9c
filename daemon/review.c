/* The daemon's side of the review queues: idempotent enqueue that survives Redis outages, and the
 * SLA sweeper. */
#include "review.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "queues.h"
#include "redis.h"

#define REVIEW_RETRY_MIN_MS 200
#define REVIEW_RETRY_MAX_MS 5000

/* One script call the daemon must see answered: an enqueue (DONE set) or a
 * sweep. */
struct review_op {
	struct review_op *next;
	struct review *rv;
	struct queues_cmd cmd;
	uint8_t *packed; /* the Escalation the enqueue's last argument points to */
	review_done_cb done;
	review_reply_cb reply_cb; /* a review_call */
	void *arg;
	char queue[QUEUES_KEY_MAX]; /* for messages */
	int64_t sent_ns;            /* an enqueue: when it was asked for (monotonic) */
	int64_t at_ms;              /* a stats read: the time it reads at */
};

struct review {
	uv_loop_t *loop;
	const struct config *cfg;
	struct redis *redis;
	review_state_cb state_cb;
	void *opaque;

	/* Waiting to be sent, oldest first: Redis is down, or a retry is due. */
	struct review_op *head, *tail;
	/* The last op put back in line since the line was last sent from: the replies a lost
	 * connection fails come in the order their commands were sent, and go back before
	 * the rest of the line in that order (an appeal's decision before the appeal). */
	struct review_op *requeued;
	size_t n_waiting, n_sent;
	bool up; /* Redis up and the queues' groups requested */
	bool closing;
	uv_timer_t retry_timer;
	uv_timer_t sweep_timer;
	uint64_t retry_ms;
	bool logged_full;
	int open_handles;
};

static void review_gauge(struct review *rv)
{
	metrics_set(review_pending, (int_fast64_t)(rv->n_waiting + rv->n_sent));
}

static void review_op_free(struct review_op *op)
{
	queues_cmd_free(&op->cmd);
	free(op->packed);
	free(op);
}

static void review_wait(struct review *rv, struct review_op *op, bool front)
{
	op->next = NULL;
	if (front) {
		op->next = rv->head;
		rv->head = op;
		if (!rv->tail)
			rv->tail = op;
	} else {
		if (rv->tail)
			rv->tail->next = op;
		else
			rv->head = op;
		rv->tail = op;
	}
	rv->n_waiting++;
}

/* OP, sent and unanswered (the connection was lost, or the script unknown), goes back in line
 * before everything not sent yet, after the ops put back before it. */
static void review_requeue(struct review *rv, struct review_op *op)
{
	if (!rv->requeued) {
		review_wait(rv, op, true);
	} else {
		op->next = rv->requeued->next;
		rv->requeued->next = op;
		if (rv->tail == rv->requeued)
			rv->tail = op;
		rv->n_waiting++;
	}
	rv->requeued = op;
}

static void review_reply(void *arg, const redisReply *reply);

static void review_flush(struct review *rv)
{
	while (rv->up && rv->head && !uv_is_active((uv_handle_t *)&rv->retry_timer)) {
		struct review_op *op = rv->head;
		if (redis_command(rv->redis, op->cmd.argc, op->cmd.argv, op->cmd.lens, review_reply,
				  op) < 0)
			break;
		rv->head = op->next;
		if (!rv->head)
			rv->tail = NULL;
		rv->n_waiting--;
		rv->n_sent++;
		/* Sent again: what fails from now on was sent after it. */
		rv->requeued = NULL;
	}
	review_gauge(rv);
}

static void review_retry_cb(uv_timer_t *t)
{
	review_flush(t->data);
}

/* OP goes back to the front of the line, sent again after a backoff. */
static void review_retry(struct review *rv, struct review_op *op)
{
	metrics_inc(review_retries);
	review_requeue(rv, op);
	if (!uv_is_active((uv_handle_t *)&rv->retry_timer)) {
		uv_timer_start(&rv->retry_timer, review_retry_cb, rv->retry_ms, 0);
		rv->retry_ms = rv->retry_ms * 2 > REVIEW_RETRY_MAX_MS ? REVIEW_RETRY_MAX_MS :
									rv->retry_ms * 2;
	}
}

static void review_finish(struct review *rv, struct review_op *op, int status)
{
	if (op->done)
		op->done(op->arg, status);
	else if (op->reply_cb && status < 0)
		op->reply_cb(op->arg, NULL);
	review_op_free(op);
}

static void review_sweep_reply(struct review *rv, struct review_op *op, const redisReply *r)
{
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
	    r->element[0]->type == REDIS_REPLY_INTEGER &&
	    r->element[1]->type == REDIS_REPLY_INTEGER) {
		long long overdue = r->element[0]->integer, raised = r->element[1]->integer;
		metrics_add(sla_overdue, (uint_fast64_t)overdue);
		metrics_add(sla_raised, (uint_fast64_t)raised);
		if (overdue)
			log_warn(review, "%s: %lld entr%s past the deadline, %lld raised to urgent",
				 op->queue, overdue, overdue == 1 ? "y" : "ies", raised);
	} else {
		log_error(review, "%s: SLA sweep: unexpected reply", op->queue);
	}
	review_op_free(op);
}

/* The queue's gauges, read by QUEUES_STATS; a failed read leaves them as they were. */
static void review_stats_reply(struct review_op *op, const redisReply *r)
{
	struct queues_stats st;
	if (queues_stats_reply(r, op->at_ms, &st) == 0)
		metrics_review_update(op->queue, &st);
	else
		log_debug(review, "%s: stats: unexpected reply", op->queue);
	review_op_free(op);
}

static void review_reply(void *arg, const redisReply *r)
{
	struct review_op *op = arg;
	struct review *rv = op->rv;
	rv->n_sent--;
	if (rv->closing) {
		review_finish(rv, op, -ECANCELED);
		return;
	}
	/* Reads and sweeps are done again on the next tick, never retried. */
	bool sweep = op->cmd.script == QUEUES_SWEEP || op->cmd.script == QUEUES_STATS;
	if (!r) {
		/* Lost with the connection, or timed out: it may have run, and
		 * the dedupe key makes sending it again safe. A sweep is simply
		 * done again on the next tick. */
		if (sweep) {
			review_op_free(op);
		} else {
			metrics_inc(review_retries);
			review_requeue(rv, op);
		}
	} else if (r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "NOSCRIPT", 8)) {
		queues_cmd_use_eval(&op->cmd);
		review_requeue(rv, op);
	} else if (op->reply_cb &&
		   (r->type != REDIS_REPLY_ERROR || !strncmp(r->str, "ARBITER ", 8))) {
		rv->retry_ms = REVIEW_RETRY_MIN_MS;
		op->reply_cb(op->arg, r);
		review_op_free(op);
	} else if (r->type == REDIS_REPLY_ERROR) {
		log_error(review, "%s: %s failed: %s", op->queue, queues_cmd_name(&op->cmd),
			  r->str);
		if (sweep)
			review_op_free(op);
		else
			review_retry(rv, op);
	} else if (op->cmd.script == QUEUES_STATS) {
		review_stats_reply(op, r);
	} else if (sweep) {
		review_sweep_reply(rv, op, r);
	} else if (r->type == REDIS_REPLY_INTEGER && r->integer < 0) {
		/* Full: never trimmed, never dropped; the input waits. */
		metrics_inc(review_full);
		if (!rv->logged_full)
			log_warn(review,
				 "%s is full (review.queues max_length): holding its "
				 "escalations until reviewers catch up",
				 op->queue);
		rv->logged_full = true;
		review_retry(rv, op);
	} else {
		if (r->type == REDIS_REPLY_INTEGER && r->integer == 0)
			metrics_inc(review_deduped);
		else
			metrics_inc(review_enqueued);
		if (op->done)
			metrics_hist_since(METRICS_H_ENQUEUE, op->sent_ns);
		rv->logged_full = false;
		rv->retry_ms = REVIEW_RETRY_MIN_MS;
		review_finish(rv, op, 0);
	}
	review_flush(rv);
}

static void review_ignore_reply(void *arg, const redisReply *r)
{
	const char *what = arg;
	if (r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9))
		log_error(review, "%s: %s", what, r->str);
}

/* Creates each queue's streams and group up front, so that reviewers can
 * claim from an empty queue; the enqueue script also does it lazily. */
static void review_create_groups(struct review *rv)
{
	char key[QUEUES_KEY_MAX];
	for (size_t i = 0; i < rv->cfg->review.n_queues; i++) {
		for (int b = 0; b < CONFIG_BANDS; b++) {
			queues_key_stream(key, rv->cfg->redis.prefix,
					  rv->cfg->review.queues[i].name, (enum config_band)b);
			const char *argv[] = {"XGROUP",     "CREATE", key,
					      QUEUES_GROUP, "$",      "MKSTREAM"};
			size_t lens[6];
			for (int k = 0; k < 6; k++)
				lens[k] = strlen(argv[k]);
			redis_command(rv->redis, 6, argv, lens, review_ignore_reply,
				      (void *)"creating the reviewers group");
		}
	}
	for (int s = 0; s < QUEUES__SCRIPTS; s++) {
		const char *body = queues_script_body((enum queues_script)s);
		const char *argv[] = {"SCRIPT", "LOAD", body};
		size_t lens[] = {6, 4, strlen(body)};
		redis_command(rv->redis, 3, argv, lens, review_ignore_reply,
			      (void *)"loading a script");
	}
}

/* Reads every queue's gauges (QUEUES_STATS): at each sweep tick and on connecting. */
static void review_stats(struct review *rv)
{
	int64_t now = log_now_ms();
	for (size_t i = 0; i < rv->cfg->review.n_queues; i++) {
		const struct config_queue *q = &rv->cfg->review.queues[i];
		struct review_op *op = calloc(1, sizeof(*op));
		if (!op || queues_stats_cmd(rv->cfg, q->name, now, &op->cmd) < 0) {
			free(op);
			return; /* the next tick tries again */
		}
		op->rv = rv;
		op->at_ms = now;
		snprintf(op->queue, sizeof(op->queue), "%s", q->name);
		review_wait(rv, op, false);
	}
	review_flush(rv);
}

static void review_on_redis(void *opaque, bool up)
{
	struct review *rv = opaque;
	metrics_set(redis_up, up);
	if (!up)
		metrics_inc(redis_disconnects);
	if (up)
		review_create_groups(rv);
	rv->up = up;
	if (up && rv->n_waiting)
		log_info(review, "sending %zu escalation(s) held while Redis was away",
			 rv->n_waiting);
	rv->state_cb(rv->opaque, up);
	review_flush(rv);
	if (up)
		review_stats(rv);
}

static void review_sweep_cb(uv_timer_t *t)
{
	struct review *rv = t->data;
	if (!rv->up)
		return;
	int64_t now = log_now_ms();
	for (size_t i = 0; i < rv->cfg->review.n_queues; i++) {
		const struct config_queue *q = &rv->cfg->review.queues[i];
		struct review_op *op = calloc(1, sizeof(*op));
		if (!op || queues_sweep_cmd(rv->cfg, q, now, &op->cmd) < 0) {
			free(op);
			return; /* the next tick tries again */
		}
		op->rv = rv;
		snprintf(op->queue, sizeof(op->queue), "%s", q->name);
		review_wait(rv, op, false);
	}
	review_flush(rv);
	review_stats(rv);
}

static void review_handle_closed(uv_handle_t *h)
{
	struct review *rv = h->data;
	if (--rv->open_handles == 0)
		free(rv);
}

int review_new(uv_loop_t *loop, const struct config *cfg, review_state_cb state, void *opaque,
	       struct review **out)
{
	struct review *rv = calloc(1, sizeof(*rv));
	if (!rv)
		return -ENOMEM;
	rv->loop = loop;
	rv->cfg = cfg;
	rv->state_cb = state;
	rv->opaque = opaque;
	rv->retry_ms = REVIEW_RETRY_MIN_MS;
	metrics_set(redis_used, true);
	metrics_review_configure(cfg);
	int rc = redis_new(loop, cfg, review_on_redis, rv, &rv->redis);
	if (rc < 0) {
		free(rv);
		return rc;
	}
	uv_timer_init(loop, &rv->retry_timer);
	uv_timer_init(loop, &rv->sweep_timer);
	rv->retry_timer.data = rv->sweep_timer.data = rv;
	rv->open_handles = 2;
	uv_timer_start(&rv->sweep_timer, review_sweep_cb, cfg->review.sweep_interval_ms,
		       cfg->review.sweep_interval_ms);
	redis_start(rv->redis);
	*out = rv;
	return 0;
}

void review_call(struct review *rv, struct queues_cmd *cmd, review_reply_cb cb, void *arg)
{
	struct review_op *op = calloc(1, sizeof(*op));
	if (!op) {
		queues_cmd_free(cmd);
		cb(arg, NULL);
		return;
	}
	op->rv = rv;
	op->cmd = *cmd;
	memset(cmd, 0, sizeof(*cmd));
	op->reply_cb = cb;
	op->arg = arg;
	snprintf(op->queue, sizeof(op->queue), "%s", queues_cmd_name(&op->cmd));
	review_wait(rv, op, false);
	review_flush(rv);
}

int review_enqueue(struct review *rv, const struct config_queue *q,
		   const Arbiter__V1__Escalation *es, const uint8_t *packed, size_t packed_len,
		   const char *exclude, review_done_cb done, void *arg)
{
	return review_enqueue_appeal(rv, q, es, packed, packed_len, exclude, NULL, done, arg);
}

int review_enqueue_appeal(struct review *rv, const struct config_queue *q,
			  const Arbiter__V1__Escalation *es, const uint8_t *packed,
			  size_t packed_len, const char *exclude, const char *appeal_id,
			  review_done_cb done, void *arg)
{
	struct review_op *op = calloc(1, sizeof(*op));
	if (!op)
		return -ENOMEM;
	op->packed = malloc(packed_len ? packed_len : 1);
	if (op->packed)
		memcpy(op->packed, packed, packed_len);
	if (!op->packed || queues_enqueue_appeal_cmd(rv->cfg, q, es, op->packed, packed_len,
						     exclude, appeal_id, &op->cmd) < 0) {
		free(op->packed);
		free(op);
		return -ENOMEM;
	}
	op->rv = rv;
	op->done = done;
	op->arg = arg;
	op->sent_ns = metrics_mono_ns();
	snprintf(op->queue, sizeof(op->queue), "%s", q->name);
	review_wait(rv, op, false);
	review_flush(rv);
	return 0;
}

bool review_is_up(const struct review *rv)
{
	return rv->up;
}

size_t review_pending(const struct review *rv)
{
	return rv->n_waiting + rv->n_sent;
}

void review_set_config(struct review *rv, const struct config *cfg)
{
	rv->cfg = cfg;
	metrics_review_configure(cfg);
	redis_set_config(rv->redis, cfg);
	uv_timer_start(&rv->sweep_timer, review_sweep_cb, cfg->review.sweep_interval_ms,
		       cfg->review.sweep_interval_ms);
	if (rv->up)
		review_create_groups(rv);
}

void review_free(struct review *rv)
{
	if (!rv)
		return;
	rv->closing = true;
	metrics_set(redis_used, false);
	while (rv->head) {
		struct review_op *op = rv->head;
		rv->head = op->next;
		review_finish(rv, op, -ECANCELED);
	}
	rv->tail = rv->requeued = NULL;
	rv->n_waiting = 0;
	/* Outstanding replies come back as NULL and finish as cancelled. */
	redis_free(rv->redis);
	rv->redis = NULL;
	review_gauge(rv);
	uv_close((uv_handle_t *)&rv->retry_timer, review_handle_closed);
	uv_close((uv_handle_t *)&rv->sweep_timer, review_handle_closed);
}
