/* Kafka on the libuv loop: librdkafka queues woken through eventfds polled by uv_poll. */
#include "kafka.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "prefetch.h"

/* One librdkafka queue whose wake-ups arrive on an eventfd watched by the loop. */
struct kafka_wake {
	int fd;
	uv_poll_t poll;
	struct kafka *k;
};

struct kafka {
	uv_loop_t *loop;
	struct kafka_handlers h;
	rd_kafka_t *consumer;
	rd_kafka_t *producer;
	rd_kafka_t *reader; /* assign-only consumer: reads the audit tail at assignment */
	char reader_group[224];
	rd_kafka_queue_t *cq; /* consumer queue; the consumer's main queue forwards here */
	rd_kafka_queue_t *pq; /* producer main queue: delivery reports, errors */
	struct kafka_wake cwake, pwake;
	uv_idle_t more;  /* re-enters the consumer drain when a batch was capped */
	uv_timer_t tick; /* serves the consumer at least every second: liveness */
	int open_handles;
	rd_kafka_topic_t *out[KAFKA_OUT__COUNT];
	char *in_names[KAFKA_IN__COUNT];
	const rd_kafka_topic_t *in_rkt[KAFKA_IN__COUNT]; /* cached by pointer once seen */
	rd_kafka_message_t **batch;
	size_t batch_cap;
	struct prefetch *pre; /* fetched, not yet handed to the pipeline */
	bool app_paused;      /* the pipeline's wish (backpressure, Redis away, draining) */
	bool pre_paused;      /* the prefetch is full */
	bool paused;          /* what librdkafka's partitions are: either of the above */
	bool closed;
	bool detached;         /* handlers must not be called any more */
	bool transactional;    /* kafka.exactly_once: a transaction is always open */
	bool txn_aborting;     /* an abort timed out: it must be resumed before anything else */
	bool txn_committing;   /* a commit timed out: likewise */
	uint64_t txn_deadline; /* uv_now() by which a transactional call ends; 0: none */
};

/* Messages the prefetch holds at most, whatever their size. */
#define KAFKA_PREFETCH_MESSAGES 65536

/* A transaction open longer than this is aborted by the broker: it bounds how long a paused
 * instance's uncommitted records block readers of committed records (the last stable
 * offset). Commits come every pipeline.commit_interval, far below it. */
#define KAFKA_TXN_TIMEOUT_MS 30000
/* The least a transactional call gets after kafka_txn_deadline, however late it comes. */
#define KAFKA_TXN_LAST_MS 2000
/* How long each transactional step of a commit tick (its offsets, its end) or of an abort may
 * hold the loop waiting for the coordinator. Past it, offsets not taken are sent again at the
 * next tick, and an end or an abort left pending is resumed there: with the brokers away the
 * loop keeps answering signals, Redis and /livez. */
#define KAFKA_TXN_QUICK_MS 2000
#define KAFKA_TXN_INIT_MS 30000

enum log_level kafka_log_level(int level)
{
	return level <= 3 ? LOG_ERROR : level == 4 ? LOG_WARN : level <= 6 ? LOG_INFO : LOG_DEBUG;
}

static void kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	/* kafka.properties go to both clients; each says it ignores the
	 * other's. That is expected, not worth a warning. */
	if (!strcmp(fac, "CONFWARN") && strstr(buf, "will be ignored by this")) {
		log_debug(kafka, "%s: %s", rd_kafka_name(rk), buf);
		return;
	}
	log_write(kafka_log_level(level), LOG_SUB_kafka, "%s: %s: %s", rd_kafka_name(rk), fac, buf);
}

void kafka_conf_log(rd_kafka_conf_t *conf)
{
	rd_kafka_conf_set_log_cb(conf, kafka_log_cb);
}

static void kafka_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct kafka *k = opaque;
	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		char why[512];
		rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, why, sizeof(why));
		log_error(kafka, "%s: fatal error %s: %s", rd_kafka_name(rk),
			  rd_kafka_err2name(orig), why);
		if (k->h.fatal && !k->detached)
			k->h.fatal(k->h.opaque, why);
		return;
	}
	/* Everything else (brokers down, transport errors) librdkafka retries
	 * by itself; it is worth a warning, not an action, and readiness. */
	if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
		metrics_kafka_brokers_down();
	log_warn(kafka, "%s: %s: %s", rd_kafka_name(rk), rd_kafka_err2name(err), reason);
}

/* Served on the loop with the consumer's queue. */
static int kafka_stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
	struct kafka *k = opaque;
	metrics_kafka_stats(json, len, (const char *const *)k->in_names, KAFKA_IN__COUNT);
	return 0; /* librdkafka frees JSON */
}

static void kafka_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
	struct kafka *k = opaque;
	if (!k->detached)
		k->h.delivered(k->h.opaque, msg);
}

static void kafka_commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
			    rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
	struct kafka *k = opaque;
	if (k->h.committed && !k->detached)
		k->h.committed(k->h.opaque, err, offsets);
}

static void kafka_prefetch_purge(struct kafka *k);

static void kafka_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
			       rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	struct kafka *k = opaque;
	/* NULL when the group cannot say, as while the consumer closes after its session
	 * expired (a zombie told to stop): then eager, the only protocol the config allows. */
	const char *protocol = rd_kafka_rebalance_protocol(rk);
	bool cooperative = protocol && strcmp(protocol, "COOPERATIVE") == 0;
	rd_kafka_error_t *error = NULL;
	rd_kafka_resp_err_t aerr = RD_KAFKA_RESP_ERR_NO_ERROR;

	switch (err) {
	case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
		log_info(kafka, "assigned %d partition(s)", parts->cnt);
		if (!k->detached)
			k->h.assigned(k->h.opaque, parts);
		if (cooperative)
			error = rd_kafka_incremental_assign(rk, parts);
		else
			aerr = rd_kafka_assign(rk, parts);
		/* The pause flag lives on librdkafka's partition and outlives an
		 * assignment: set it either way, or a partition paused before a
		 * rebalance would stay paused for ever. */
		if (k->paused)
			rd_kafka_pause_partitions(rk, parts);
		else
			rd_kafka_resume_partitions(rk, parts);
		break;
	case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
		log_info(kafka, "revoking %d partition(s)%s", parts->cnt,
			 rd_kafka_assignment_lost(rk) ? " (assignment lost)" : "");
		/* Eager: every partition goes. What was fetched of them is fetched again by
		 * their next owner; the pipeline never saw it. */
		kafka_prefetch_purge(k);
		if (!k->detached)
			k->h.revoked(k->h.opaque, parts);
		if (cooperative)
			error = rd_kafka_incremental_unassign(rk, parts);
		else
			aerr = rd_kafka_assign(rk, NULL);
		break;
	default:
		log_error(kafka, "rebalance failed: %s", rd_kafka_err2str(err));
		kafka_prefetch_purge(k);
		if (parts && !k->detached)
			k->h.revoked(k->h.opaque, parts);
		if (cooperative)
			error = rd_kafka_incremental_unassign(rk, parts);
		else
			aerr = rd_kafka_assign(rk, NULL);
		break;
	}
	if (error) {
		log_error(kafka, "incremental (un)assign failed: %s", rd_kafka_error_string(error));
		rd_kafka_error_destroy(error);
	} else if (aerr) {
		log_error(kafka, "(un)assign failed: %s", rd_kafka_err2str(aerr));
	}
}

static int kafka_set(rd_kafka_conf_t *conf, const char *key, const char *value)
{
	char err[512];
	if (rd_kafka_conf_set(conf, key, value, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
		log_error(kafka, "property %s: %s", key, err);
		return -EINVAL;
	}
	return 0;
}

int kafka_conf_properties(rd_kafka_conf_t *conf, const struct config *cfg)
{
	int rc = 0;
	for (size_t i = 0; i < cfg->kafka.n_properties; i++)
		rc |= kafka_set(conf, cfg->kafka.properties[i].key, cfg->kafka.properties[i].value);
	return rc ? -EINVAL : 0;
}

/* Builds a client config: our defaults, then the operator's properties, so
 * that an operator can override anything but the settings the reliability
 * contract depends on, which are set last. */
static rd_kafka_conf_t *kafka_conf(struct kafka *k, const struct config *cfg, const char *bootstrap,
				   bool consumer, bool reader)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char buf[32];
	int rc = 0;

	rc |= kafka_set(conf, "bootstrap.servers", bootstrap);
	rc |= kafka_set(conf, "client.id", cfg->kafka.client_id);
	if (reader) {
		/* Assigned explicitly, never joining its group nor committing;
		 * librdkafka wants a group id to assign all the same. */
		rc |= kafka_conf_properties(conf, cfg);
		snprintf(k->reader_group, sizeof(k->reader_group), "%.200s.audit-reader",
			 cfg->kafka.group_id);
		rc |= kafka_set(conf, "group.id", k->reader_group);
		rc |= kafka_set(conf, "enable.partition.eof", "true");
		rc |= kafka_set(conf, "enable.auto.commit", "false");
		rc |= kafka_set(conf, "enable.auto.offset.store", "false");
		/* The chain's head is what committed transactions wrote: an aborted
		 * record (a fenced writer's) is not in it. */
		rc |= kafka_set(conf, "isolation.level", "read_committed");
		/* The broker answers at once, not when more data arrives: the
		 * tail is read while the loop waits. */
		rc |= kafka_set(conf, "fetch.wait.max.ms", "10");
		rd_kafka_conf_set_log_cb(conf, kafka_log_cb);
		if (rc) {
			rd_kafka_conf_destroy(conf);
			return NULL;
		}
		return conf;
	}
	if (consumer) {
		rc |= kafka_set(conf, "group.id", cfg->kafka.group_id);
		rc |= kafka_set(conf, "auto.offset.reset", "earliest");
		rc |= kafka_set(conf, "isolation.level", "read_committed");
		/* The prefetch ring bounds fetched memory (pipeline.prefetch_bytes) and
		 * keeps librdkafka's queue short: its own bounds, twice as large, are a
		 * safety net that a blocked loop can still reach. */
		snprintf(buf, sizeof(buf), "%u", cfg->pipeline.prefetch_bytes / 512);
		rc |= kafka_set(conf, "queued.max.messages.kbytes", buf);
		snprintf(buf, sizeof(buf), "%u", 2 * KAFKA_PREFETCH_MESSAGES);
		rc |= kafka_set(conf, "queued.min.messages", buf);
		/* A dead instance's partitions move in seconds, not librdkafka 2.0's
		 * 45 s: 6 s is the brokers' default group.min.session.timeout.ms. */
		rc |= kafka_set(conf, "session.timeout.ms", "6000");
		rc |= kafka_set(conf, "heartbeat.interval.ms", "2000");
		/* Lag and broker state for /metrics and /readyz. */
		rc |= kafka_set(conf, "statistics.interval.ms", "5000");
	} else {
		rc |= kafka_set(conf, "linger.ms", "5");
		/* A record for a topic that does not exist fails (counted, said,
		 * retried) after 3 s instead of waiting librdkafka's 30 s in silence. */
		rc |= kafka_set(conf, "topic.metadata.propagation.max.ms", "3000");
		snprintf(buf, sizeof(buf), "%u",
			 cfg->pipeline.max_inflight * 4 > 100000 ? cfg->pipeline.max_inflight * 4 :
								   100000);
		rc |= kafka_set(conf, "queue.buffering.max.messages", buf);
	}
	rc |= kafka_conf_properties(conf, cfg);
	if (consumer) {
		/* Offsets are stored and committed by the pipeline only once
		 * every side effect of a message is acknowledged. */
		rc |= kafka_set(conf, "enable.auto.commit", "false");
		rc |= kafka_set(conf, "enable.auto.offset.store", "false");
		/* librdkafka 2.0's batch consume can skip messages when an
		 * incremental (cooperative) rebalance pauses partitions
		 * mid-batch (fixed in 2.1): keep to the eager assignors. */
		rc |= kafka_set(conf, "partition.assignment.strategy", "range,roundrobin");
		rd_kafka_conf_set_rebalance_cb(conf, kafka_rebalance_cb);
		rd_kafka_conf_set_stats_cb(conf, kafka_stats_cb);
		rd_kafka_conf_set_offset_commit_cb(conf, kafka_commit_cb);
	} else {
		rc |= kafka_set(conf, "enable.idempotence", "true");
		if (cfg->kafka.exactly_once) {
			char id[512], host[256] = "host";
			gethostname(host, sizeof(host) - 1);
			if (cfg->kafka.transactional_id)
				snprintf(id, sizeof(id), "%s", cfg->kafka.transactional_id);
			else
				snprintf(id, sizeof(id), "%s-%s-%d", cfg->kafka.group_id, host,
					 (int)getpid());
			rc |= kafka_set(conf, "transactional.id", id);
			snprintf(buf, sizeof(buf), "%d", KAFKA_TXN_TIMEOUT_MS);
			rc |= kafka_set(conf, "transaction.timeout.ms", buf);
		}
		/* Retry for ever: a record is never dropped by the client, and
		 * its input offset stays uncommitted until it is acknowledged. */
		rc |= kafka_set(conf, "message.timeout.ms", "0");
		rd_kafka_conf_set_dr_msg_cb(conf, kafka_dr_cb);
	}
	rd_kafka_conf_set_log_cb(conf, kafka_log_cb);
	rd_kafka_conf_set_error_cb(conf, kafka_error_cb);
	rd_kafka_conf_set_opaque(conf, k);
	if (rc) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	return conf;
}

static void kafka_more_cb(uv_idle_t *idle);

/* A resumed partition is fetched again only when librdkafka's broker thread next looks,
 * which in librdkafka 2.0 may be a second later: nothing in a resume wakes it. A seek does
 * ("seek done"): each resumed partition seeks to where the pipeline's reading stands, which
 * changes nothing else (a pause dropped what was fetched past it already). */
static void kafka_wake_fetcher(struct kafka *k, rd_kafka_topic_partition_list_t *parts)
{
	if (rd_kafka_position(k->consumer, parts) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return;
	rd_kafka_topic_partition_list_t *at = rd_kafka_topic_partition_list_new(parts->cnt);
	for (int i = 0; i < parts->cnt; i++)
		if (parts->elems[i].offset >= 0) /* not read yet: the resume starts it */
			rd_kafka_topic_partition_list_add(at, parts->elems[i].topic,
							  parts->elems[i].partition)
				->offset = parts->elems[i].offset;
	if (at->cnt > 0) {
		rd_kafka_error_t *e = rd_kafka_seek_partitions(k->consumer, at, 0);
		if (e) {
			log_debug(kafka, "seek after resume: %s", rd_kafka_error_string(e));
			rd_kafka_error_destroy(e);
		}
	}
	rd_kafka_topic_partition_list_destroy(at);
}

/* Pauses librdkafka's partitions when either the pipeline or the prefetch asks, resumes them
 * when neither does. */
static void kafka_apply_pause(struct kafka *k)
{
	bool paused = k->app_paused || k->pre_paused || kafka_txn_pending(k);
	if (k->paused == paused)
		return;
	k->paused = paused;
	rd_kafka_topic_partition_list_t *parts = NULL;
	if (rd_kafka_assignment(k->consumer, &parts) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return;
	if (paused) {
		rd_kafka_pause_partitions(k->consumer, parts);
	} else {
		rd_kafka_resume_partitions(k->consumer, parts);
		kafka_wake_fetcher(k, parts);
	}
	rd_kafka_topic_partition_list_destroy(parts);
}

static void kafka_prefetch_purge(struct kafka *k)
{
	prefetch_purge(k->pre);
	k->pre_paused = false;
	/* Applied to the next assignment by the rebalance. */
	k->paused = k->app_paused || kafka_txn_pending(k);
}

/* Moves what librdkafka has fetched into the prefetch, as far as it has room; pauses the
 * partitions once it is full. librdkafka's rebalance callback runs in here. */
static void kafka_prefetch_fill(struct kafka *k)
{
	while (!prefetch_full(k->pre) && !k->closed) {
		size_t want = prefetch_room(k->pre);
		if (want > k->batch_cap)
			want = k->batch_cap;
		ssize_t n = rd_kafka_consume_batch_queue(k->cq, 0, k->batch, want);
		if (n < 0) {
			log_error(kafka, "consume: %s", rd_kafka_err2str(rd_kafka_last_error()));
			break;
		}
		for (ssize_t i = 0; i < n; i++)
			if (prefetch_push(k->pre, k->batch[i]) < 0) /* room was asked for */
				rd_kafka_message_destroy(k->batch[i]);
		if ((size_t)n < want)
			break;
	}
	if (!k->pre_paused && prefetch_full(k->pre)) {
		k->pre_paused = true;
		kafka_apply_pause(k);
	}
}

/* Hands M to the pipeline, or drops it (an error event, a topic not ours, detached). */
static void kafka_dispatch(struct kafka *k, rd_kafka_message_t *m)
{
	enum kafka_input in = KAFKA_IN__COUNT;
	for (int t = 0; t < KAFKA_IN__COUNT && m->rkt; t++) {
		if (k->in_rkt[t] == m->rkt) {
			in = (enum kafka_input)t;
			break;
		}
		if (!k->in_rkt[t] && strcmp(rd_kafka_topic_name(m->rkt), k->in_names[t]) == 0) {
			k->in_rkt[t] = m->rkt;
			in = (enum kafka_input)t;
			break;
		}
	}
	if (m->err) {
		if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
			log_warn(kafka, "consumer: %s", rd_kafka_message_errstr(m));
		rd_kafka_message_destroy(m);
		return;
	}
	if (in == KAFKA_IN__COUNT || k->detached) {
		if (!k->detached)
			log_error(kafka, "message from unexpected topic %s",
				  m->rkt ? rd_kafka_topic_name(m->rkt) : "?");
		rd_kafka_message_destroy(m);
		return;
	}
	k->h.message(k->h.opaque, in, m);
}

static void kafka_consumer_drain(struct kafka *k)
{
	if (k->closed)
		return;
	kafka_prefetch_fill(k);
	size_t budget = k->batch_cap;
	if (k->h.budget && !k->detached) {
		size_t b = k->h.budget(k->h.opaque);
		budget = b < 1 ? 1 : b < budget ? b : budget;
	}
	size_t n = 0;
	rd_kafka_message_t *m;
	while (n < budget && !k->closed && (m = prefetch_pop(k->pre))) {
		n++;
		kafka_dispatch(k, m);
	}
	if (k->pre_paused && prefetch_low(k->pre)) {
		k->pre_paused = false;
		kafka_apply_pause(k);
	}
	/* More is waiting when the budget ran out, and librdkafka wakes us only when its
	 * queue goes from empty to non-empty: come back next turn. At a budget of 1 (the
	 * pipeline is full) the tick brings us back. */
	if (n == budget && budget > 1 && !k->closed)
		uv_idle_start(&k->more, kafka_more_cb);
	else
		uv_idle_stop(&k->more);
}

static void kafka_more_cb(uv_idle_t *idle)
{
	kafka_consumer_drain(idle->data);
}

/* librdkafka counts the time since the application last polled and leaves
 * the group past max.poll.interval.ms; an idle or paused consumer gets no
 * wake-ups, so poll it on a timer too. */
static void kafka_tick_cb(uv_timer_t *t)
{
	kafka_consumer_drain(t->data);
}

/* Clears the eventfd; its count does not matter, only that it woke us. */
static void kafka_wake_clear(struct kafka_wake *w)
{
	uint64_t v;
	ssize_t r = read(w->fd, &v, sizeof(v));
	(void)r;
}

static void kafka_consumer_ready(uv_poll_t *p, int status, int events)
{
	struct kafka_wake *w = p->data;
	kafka_wake_clear(w);
	kafka_consumer_drain(w->k);
}

static void kafka_producer_ready(uv_poll_t *p, int status, int events)
{
	struct kafka_wake *w = p->data;
	kafka_wake_clear(w);
	/* Serves every delivery report queued now; later ones wake us again. */
	rd_kafka_poll(w->k->producer, 0);
}

static int kafka_wake_init(struct kafka *k, struct kafka_wake *w, rd_kafka_queue_t *q,
			   uv_poll_cb cb)
{
	static const uint64_t one = 1; /* an eventfd write must be 8 bytes */
	w->k = k;
	w->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->fd < 0)
		return -errno;
	int rc = uv_poll_init(k->loop, &w->poll, w->fd);
	if (rc < 0) {
		close(w->fd);
		w->fd = -1;
		return rc;
	}
	k->open_handles++;
	w->poll.data = w;
	rd_kafka_queue_io_event_enable(q, w->fd, &one, sizeof(one));
	return uv_poll_start(&w->poll, UV_READABLE, cb);
}

static rd_kafka_t *kafka_client_new(struct kafka *k, const struct config *cfg,
				    const char *bootstrap, rd_kafka_type_t type, bool reader)
{
	char err[512];
	rd_kafka_conf_t *conf = kafka_conf(k, cfg, bootstrap, type == RD_KAFKA_CONSUMER, reader);
	if (!conf)
		return NULL;
	rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof(err));
	if (!rk) {
		log_error(kafka, "cannot create the %s: %s",
			  reader                    ? "audit reader" :
			  type == RD_KAFKA_CONSUMER ? "consumer" :
						      "producer",
			  err);
		rd_kafka_conf_destroy(conf);
	}
	return rk;
}

/* The timeout of the next transactional call: the transaction timeout, or after
 * kafka_txn_deadline what is left until it, at least KAFKA_TXN_LAST_MS. */
static int kafka_txn_timeout(struct kafka *k)
{
	if (!k->txn_deadline)
		return KAFKA_TXN_TIMEOUT_MS;
	uv_update_time(k->loop);
	uint64_t now = uv_now(k->loop);
	uint64_t left = k->txn_deadline > now ? k->txn_deadline - now : 0;
	if (left < KAFKA_TXN_LAST_MS)
		return KAFKA_TXN_LAST_MS;
	return left < KAFKA_TXN_TIMEOUT_MS ? (int)left : KAFKA_TXN_TIMEOUT_MS;
}

/* The timeout of the next transactional call; QUICK (a commit tick's): at most
 * KAFKA_TXN_QUICK_MS. */
static int kafka_txn_timeout_for(struct kafka *k, bool quick)
{
	int timeout = kafka_txn_timeout(k);
	return quick && timeout > KAFKA_TXN_QUICK_MS ? KAFKA_TXN_QUICK_MS : timeout;
}

/* True once the drain's deadline has passed: a pending call is then left to the coordinator,
 * since the process is about to exit and the call had its time. */
static bool kafka_txn_past_deadline(struct kafka *k)
{
	if (!k->txn_deadline)
		return false;
	uv_update_time(k->loop);
	return uv_now(k->loop) >= k->txn_deadline;
}

/* What a failed transactional call leaves us to do. */
static int kafka_txn_error(struct kafka *k, const char *what, rd_kafka_error_t *error)
{
	int rc = rd_kafka_error_is_fatal(error)           ? -EPERM :
		 rd_kafka_error_txn_requires_abort(error) ? -ECANCELED :
		 rd_kafka_error_is_retriable(error)       ? -EAGAIN :
							    -ECANCELED;
	log_error(kafka, "transaction: %s: %s%s", what, rd_kafka_error_string(error),
		  rc == -EPERM  ? " (fatal: fenced or broken)" :
		  rc == -EAGAIN ? " (retriable)" :
				  " (the transaction is aborted)");
	rd_kafka_error_destroy(error);
	/* An abort that times out stays pending, and is finished before the next record. */
	if (rc == -ECANCELED) {
		int arc = kafka_txn_abort(k, false);
		if (arc == -EPERM || arc == -EIO)
			rc = -EPERM;
	}
	return rc;
}

int kafka_txn_start(struct kafka *k)
{
	if (!k->transactional)
		return 0;
	rd_kafka_error_t *e = rd_kafka_init_transactions(k->producer, KAFKA_TXN_INIT_MS);
	if (!e)
		e = rd_kafka_begin_transaction(k->producer);
	if (e) {
		log_error(kafka,
			  "transactions: %s (kafka.exactly_once needs brokers 2.5 or later with "
			  "transactions enabled; set it to false for older ones)",
			  rd_kafka_error_string(e));
		rd_kafka_error_destroy(e);
		return -EIO;
	}
	return 0;
}

/* Leaves WHAT (a commit or an abort that timed out, error E, taken) pending in *FLAG: it goes
 * on in the background, and calling it again resumes it. Fetching pauses meanwhile, since no
 * record may join a transaction being ended. Returns -EAGAIN. */
static int kafka_txn_leave_pending(struct kafka *k, bool *flag, const char *what,
				   rd_kafka_error_t *e)
{
	if (!*flag)
		log_warn(kafka, "transaction: %s: %s: resumed at the next commit tick", what,
			 rd_kafka_error_string(e));
	rd_kafka_error_destroy(e);
	*flag = true;
	kafka_apply_pause(k);
	return -EAGAIN;
}

/* Clears *FLAG once its pending call has finished (saying so) and lets fetching go on. */
static void kafka_txn_finish_pending(struct kafka *k, bool *flag, const char *what)
{
	if (!*flag)
		return;
	log_info(kafka, "transaction: the %s resumed has finished", what);
	*flag = false;
	kafka_apply_pause(k);
}

/* Ends the open transaction with a commit, or resumes a commit that timed out; a retriable
 * failure leaves it pending. Opens the next transaction. Returns as kafka_txn_commit. */
static int kafka_txn_end(struct kafka *k, bool quick)
{
	rd_kafka_error_t *e =
		rd_kafka_commit_transaction(k->producer, kafka_txn_timeout_for(k, quick));
	if (e && rd_kafka_error_is_retriable(e) && !rd_kafka_error_is_fatal(e) &&
	    !rd_kafka_error_txn_requires_abort(e))
		return kafka_txn_leave_pending(k, &k->txn_committing, "commit", e);
	if (e) {
		/* Ended all the same: aborted below, or the producer is broken. */
		k->txn_committing = false;
		kafka_apply_pause(k);
		return kafka_txn_error(k, "commit", e);
	}
	kafka_txn_finish_pending(k, &k->txn_committing, "commit");
	e = rd_kafka_begin_transaction(k->producer);
	return e ? kafka_txn_error(k, "begin", e) : 0;
}

int kafka_txn_commit(struct kafka *k, const rd_kafka_topic_partition_list_t *offsets, bool quick)
{
	if (!k->transactional)
		return -EINVAL;
	if (kafka_txn_pending(k))
		return -EAGAIN;
	if (offsets && offsets->cnt > 0) {
		rd_kafka_consumer_group_metadata_t *md =
			rd_kafka_consumer_group_metadata(k->consumer);
		rd_kafka_error_t *e = rd_kafka_send_offsets_to_transaction(
			k->producer, offsets, md, kafka_txn_timeout_for(k, quick));
		rd_kafka_consumer_group_metadata_destroy(md);
		if (e)
			return kafka_txn_error(k, "sending offsets", e);
	}
	int rc = kafka_txn_end(k, quick);
	if (rc < 0)
		return rc;
	/* A broker whose TxnOffsetCommit keeps nothing (librdkafka 2.0's mock cluster)
	 * would never see the offsets: commit them the plain way as well. On a real
	 * broker this is the same offsets again, after the transaction made them. */
	if (offsets && offsets->cnt > 0)
		rd_kafka_commit(k->consumer, offsets, 1);
	return 0;
}

int kafka_txn_abort(struct kafka *k, bool quick)
{
	if (!k->transactional)
		return -EINVAL;
	/* A commit under way cannot be aborted, and needs not be: it holds only what was
	 * produced before it started, all of it for input this instance owned then. */
	if (k->txn_committing)
		return 0;
	if (k->txn_aborting && kafka_txn_past_deadline(k))
		return -EAGAIN;
	rd_kafka_error_t *e =
		rd_kafka_abort_transaction(k->producer, kafka_txn_timeout_for(k, quick));
	if (e && rd_kafka_error_is_retriable(e))
		return kafka_txn_leave_pending(k, &k->txn_aborting, "abort", e);
	if (!e) {
		kafka_txn_finish_pending(k, &k->txn_aborting, "abort");
		e = rd_kafka_begin_transaction(k->producer);
	}
	if (e) {
		int rc = rd_kafka_error_is_fatal(e) ? -EPERM : -EIO;
		log_error(kafka, "transaction: abort: %s", rd_kafka_error_string(e));
		rd_kafka_error_destroy(e);
		return rc;
	}
	return 0;
}

int kafka_txn_resume(struct kafka *k, bool quick)
{
	if (!kafka_txn_pending(k))
		return 0;
	if (kafka_txn_past_deadline(k))
		return -EAGAIN;
	return k->txn_aborting ? kafka_txn_abort(k, quick) : kafka_txn_end(k, quick);
}

bool kafka_txn_pending(const struct kafka *k)
{
	return k->txn_aborting || k->txn_committing;
}

void kafka_txn_deadline(struct kafka *k, uint64_t deadline)
{
	k->txn_deadline = deadline;
}

bool kafka_transactional(const struct kafka *k)
{
	return k->transactional;
}

int kafka_rejoin(struct kafka *k)
{
	/* A consumer closing leaves the group anyway; subscribing again there would leave a
	 * subscription for librdkafka to find at destroy (an assertion: SIGABRT). */
	if (k->closed)
		return 0;
	rd_kafka_resp_err_t err = rd_kafka_unsubscribe(k->consumer);
	if (err) {
		log_error(kafka, "unsubscribe: %s", rd_kafka_err2str(err));
		return -EIO;
	}
	return kafka_subscribe(k);
}

int kafka_new(uv_loop_t *loop, const struct config *cfg, const char *bootstrap,
	      const struct kafka_handlers *h, struct kafka **out)
{
	int rc = -ENOMEM;
	struct kafka *k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->loop = loop;
	k->h = *h;
	k->cwake.fd = k->pwake.fd = -1;
	k->batch_cap = cfg->pipeline.poll_batch;
	k->batch = calloc(k->batch_cap, sizeof(*k->batch));
	k->in_names[KAFKA_IN_CONTENT] = strdup(cfg->kafka.topics.content.name);
	k->in_names[KAFKA_IN_DECISIONS] = strdup(cfg->kafka.topics.decisions.name);
	if (!k->batch || !k->in_names[0] || !k->in_names[1] ||
	    prefetch_new(KAFKA_PREFETCH_MESSAGES, cfg->pipeline.prefetch_bytes,
			 rd_kafka_message_destroy, &k->pre) < 0)
		goto fail;

	rc = -EINVAL;
	k->consumer = kafka_client_new(k, cfg, bootstrap, RD_KAFKA_CONSUMER, false);
	k->producer =
		k->consumer ? kafka_client_new(k, cfg, bootstrap, RD_KAFKA_PRODUCER, false) : NULL;
	k->reader =
		k->producer ? kafka_client_new(k, cfg, bootstrap, RD_KAFKA_CONSUMER, true) : NULL;
	if (!k->reader)
		goto fail;
	k->transactional = cfg->kafka.exactly_once;

	const char *outs[KAFKA_OUT__COUNT] = {
		[KAFKA_OUT_ESCALATIONS] = cfg->kafka.topics.escalations.name,
		[KAFKA_OUT_AUDIT] = cfg->kafka.topics.audit.name,
		[KAFKA_OUT_APPEALS] = cfg->kafka.topics.appeals.name,
		[KAFKA_OUT_DEADLETTER] = cfg->kafka.topics.deadletter.name,
	};
	for (int i = 0; i < KAFKA_OUT__COUNT; i++) {
		k->out[i] = rd_kafka_topic_new(k->producer, outs[i], NULL);
		if (!k->out[i]) {
			log_error(kafka, "topic %s: %s", outs[i],
				  rd_kafka_err2str(rd_kafka_last_error()));
			goto fail;
		}
	}

	/* Rebalances, commit results and errors all come through the consumer
	 * queue, so one wake-up source serves the whole consumer. */
	rd_kafka_poll_set_consumer(k->consumer);
	k->cq = rd_kafka_queue_get_consumer(k->consumer);
	k->pq = rd_kafka_queue_get_main(k->producer);
	rc = uv_idle_init(loop, &k->more);
	if (rc < 0)
		goto fail;
	k->open_handles++;
	k->more.data = k;
	rc = uv_timer_init(loop, &k->tick);
	if (rc < 0)
		goto fail;
	k->open_handles++;
	k->tick.data = k;
	uv_timer_start(&k->tick, kafka_tick_cb, 1000, 1000);
	rc = kafka_wake_init(k, &k->cwake, k->cq, kafka_consumer_ready);
	if (rc < 0)
		goto fail;
	rc = kafka_wake_init(k, &k->pwake, k->pq, kafka_producer_ready);
	if (rc < 0)
		goto fail;
	*out = k;
	return 0;
fail:
	kafka_free(k);
	return rc;
}

int kafka_subscribe(struct kafka *k)
{
	rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(2);
	for (int i = 0; i < KAFKA_IN__COUNT; i++)
		rd_kafka_topic_partition_list_add(topics, k->in_names[i], RD_KAFKA_PARTITION_UA);
	rd_kafka_resp_err_t err = rd_kafka_subscribe(k->consumer, topics);
	rd_kafka_topic_partition_list_destroy(topics);
	if (err) {
		log_error(kafka, "subscribe: %s", rd_kafka_err2str(err));
		return -EIO;
	}
	log_info(kafka, "subscribed to %s and %s as group member", k->in_names[0], k->in_names[1]);
	return 0;
}

int kafka_produce(struct kafka *k, enum kafka_output o, const void *key, size_t key_len,
		  struct records_buf *buf, void *opaque)
{
	return kafka_produce_to(k, o, NULL, RD_KAFKA_PARTITION_UA, key, key_len, buf, opaque);
}

int kafka_produce_to(struct kafka *k, enum kafka_output o, const char *suffix, int32_t partition,
		     const void *key, size_t key_len, struct records_buf *buf, void *opaque)
{
	char topic[512];
	rd_kafka_resp_err_t err;
	if (suffix && *suffix) {
		snprintf(topic, sizeof(topic), "%s.%s", rd_kafka_topic_name(k->out[o]), suffix);
		err = rd_kafka_producev(k->producer, RD_KAFKA_V_TOPIC(topic),
					RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
					RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE),
					RD_KAFKA_V_VALUE(buf->data, buf->len),
					RD_KAFKA_V_KEY(key, key ? key_len : 0),
					RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
	} else {
		snprintf(topic, sizeof(topic), "%s", rd_kafka_topic_name(k->out[o]));
		err = rd_kafka_producev(k->producer, RD_KAFKA_V_RKT(k->out[o]),
					RD_KAFKA_V_PARTITION(partition),
					RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE),
					RD_KAFKA_V_VALUE(buf->data, buf->len),
					RD_KAFKA_V_KEY(key, key ? key_len : 0),
					RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
	}
	if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
		buf->data = NULL;
		return 0;
	}
	if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
		return -ENOBUFS;
	if (err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)
		return -EMSGSIZE;
	/* Not logged here: the pipeline voids the transaction once, for all its records. */
	if (err == RD_KAFKA_RESP_ERR__STATE && k->transactional)
		return -ECANCELED;
	log_error(kafka, "produce to %s: %s", topic, rd_kafka_err2str(err));
	return -EIO;
}

int kafka_partition_count(struct kafka *k, enum kafka_output o, int timeout_ms)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_resp_err_t err = rd_kafka_metadata(k->producer, 0, k->out[o], &md, timeout_ms);
	if (err) {
		log_error(kafka, "metadata of %s: %s", rd_kafka_topic_name(k->out[o]),
			  rd_kafka_err2str(err));
		return -EIO;
	}
	int n = md->topic_cnt == 1 && !md->topics[0].err ? md->topics[0].partition_cnt : -ENOENT;
	rd_kafka_metadata_destroy(md);
	return n;
}

static int64_t kafka_elapsed_ms(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Metadata of output O into *MD, asking again until the brokers answer or
 * TIMEOUT_MS has passed since T0. */
static rd_kafka_resp_err_t kafka_output_metadata(struct kafka *k, enum kafka_output o,
						 const struct timespec *t0, int timeout_ms,
						 const struct rd_kafka_metadata **md)
{
	rd_kafka_resp_err_t err;
	for (;;) {
		int64_t left = timeout_ms - kafka_elapsed_ms(t0);
		err = rd_kafka_metadata(k->producer, 0, k->out[o], md, left > 0 ? (int)left : 1);
		if (!err || kafka_elapsed_ms(t0) >= timeout_ms)
			return err;
		/* Refused at once (nothing listens): try again shortly. */
		struct timespec pause = {0, 200 * 1000000};
		nanosleep(&pause, NULL);
	}
}

int kafka_check_outputs(struct kafka *k, const char *bootstrap, int timeout_ms,
			int *audit_partitions)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* The audit topic first: without it nothing starts. */
	static const enum kafka_output order[] = {KAFKA_OUT_AUDIT, KAFKA_OUT_ESCALATIONS,
						  KAFKA_OUT_APPEALS, KAFKA_OUT_DEADLETTER};
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		enum kafka_output o = order[i];
		const struct rd_kafka_metadata *md = NULL;
		rd_kafka_resp_err_t err = kafka_output_metadata(k, o, &t0, timeout_ms, &md);
		if (err) {
			log_error(kafka,
				  "cannot reach the Kafka brokers %s: no answer after trying for "
				  "%.1f s (%s)",
				  bootstrap, (double)kafka_elapsed_ms(&t0) / 1000.0,
				  rd_kafka_err2str(err));
			return -EHOSTUNREACH;
		}
		const char *topic = rd_kafka_topic_name(k->out[o]);
		rd_kafka_resp_err_t terr =
			md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
		int n = terr ? 0 : md->topics[0].partition_cnt;
		rd_kafka_metadata_destroy(md);
		if (o == KAFKA_OUT_AUDIT && (terr || n <= 0)) {
			log_error(
				kafka,
				"the audit topic %s does not exist at %s (%s): create it before "
				"arbiterd starts; each input partition's chain goes to one of its "
				"partitions",
				topic, bootstrap, rd_kafka_err2str(terr));
			return -ENOENT;
		}
		if (o == KAFKA_OUT_AUDIT)
			*audit_partitions = n;
		else if (terr)
			log_error(
				kafka,
				"output topic %s does not exist at %s (%s): its records are "
				"retried, and counted in arbiter_produce_errors_total, until it is "
				"created",
				topic, bootstrap, rd_kafka_err2str(terr));
	}
	return 0;
}

void kafka_member_id(const struct kafka *k, char *out, size_t len)
{
	char *id = rd_kafka_memberid(k->consumer);
	snprintf(out, len, "%s", id ? id : "");
	rd_kafka_mem_free(k->consumer, id);
}

int kafka_committed(struct kafka *k, enum kafka_input in, int32_t partition, int timeout_ms,
		    int64_t *offset)
{
	rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_t *e =
		rd_kafka_topic_partition_list_add(tp, kafka_input_topic(k, in), partition);
	rd_kafka_resp_err_t err = rd_kafka_committed(k->consumer, tp, timeout_ms);
	if (!err)
		err = e->err;
	*offset = e->offset;
	if (err)
		log_error(kafka, "committed offset of %s[%" PRId32 "]: %s",
			  kafka_input_topic(k, in), partition, rd_kafka_err2str(err));
	rd_kafka_topic_partition_list_destroy(tp);
	return err ? -EIO : 0;
}

int kafka_read_tail(struct kafka *k, enum kafka_output o, int32_t partition, int64_t count,
		    int timeout_ms, kafka_tail_cb cb, void *opaque, bool *whole)
{
	const char *topic = rd_kafka_topic_name(k->out[o]);
	int64_t lo = 0, hi = 0;
	rd_kafka_resp_err_t err =
		rd_kafka_query_watermark_offsets(k->reader, topic, partition, &lo, &hi, timeout_ms);
	if (err) {
		log_error(kafka, "watermarks of %s[%" PRId32 "]: %s", topic, partition,
			  rd_kafka_err2str(err));
		return -EIO;
	}
	int64_t from = hi - count > lo ? hi - count : lo;
	*whole = from == lo;
	if (from >= hi)
		return 0;
	rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(tp, topic, partition)->offset = from;
	err = rd_kafka_assign(k->reader, tp);
	rd_kafka_topic_partition_list_destroy(tp);
	if (err) {
		log_error(kafka, "reading %s[%" PRId32 "]: %s", topic, partition,
			  rd_kafka_err2str(err));
		return -EIO;
	}
	int rc = -ETIMEDOUT;
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		int64_t spent = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (spent >= timeout_ms)
			break;
		/* The loop waits for this on purpose, and it makes progress. */
		metrics_heartbeat();
		rd_kafka_message_t *m = rd_kafka_consumer_poll(k->reader, 100);
		if (!m)
			continue;
		bool last = false;
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			last = true;
		} else if (m->err) {
			log_warn(kafka, "reading %s[%" PRId32 "]: %s", topic, partition,
				 rd_kafka_message_errstr(m));
		} else if (m->offset < hi) {
			cb(opaque, m);
			last = m->offset >= hi - 1;
		}
		rd_kafka_message_destroy(m);
		if (last) {
			rc = 0;
			break;
		}
	}
	rd_kafka_assign(k->reader, NULL);
	return rc;
}

enum kafka_output kafka_output_of(const struct kafka *k, const char *topic, const char **suffix)
{
	*suffix = NULL;
	for (int o = 0; o < KAFKA_OUT__COUNT; o++)
		if (!strcmp(topic, rd_kafka_topic_name(k->out[o])))
			return (enum kafka_output)o;
	for (int o = 0; o < KAFKA_OUT__COUNT; o++) {
		const char *name = rd_kafka_topic_name(k->out[o]);
		size_t n = strlen(name);
		if (!strncmp(topic, name, n) && topic[n] == '.' && topic[n + 1]) {
			*suffix = topic + n + 1;
			return (enum kafka_output)o;
		}
	}
	return KAFKA_OUT__COUNT;
}

int kafka_commit(struct kafka *k, const rd_kafka_topic_partition_list_t *offsets, bool sync)
{
	rd_kafka_resp_err_t err = rd_kafka_commit(k->consumer, offsets, !sync);
	if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
		log_warn(kafka, "commit: %s", rd_kafka_err2str(err));
		return -EIO;
	}
	return 0;
}

void kafka_set_paused(struct kafka *k, bool paused)
{
	k->app_paused = paused;
	kafka_apply_pause(k);
}

bool kafka_paused(const struct kafka *k)
{
	return k->app_paused;
}

const char *kafka_input_topic(const struct kafka *k, enum kafka_input i)
{
	return k->in_names[i];
}

const char *kafka_output_topic(const struct kafka *k, enum kafka_output o)
{
	return rd_kafka_topic_name(k->out[o]);
}

void kafka_close_consumer(struct kafka *k)
{
	if (k->closed || !k->consumer)
		return;
	k->closed = true;
	uv_idle_stop(&k->more);
	uv_timer_stop(&k->tick);
	/* Fetched and never handed over: the next owner fetches it again. */
	prefetch_purge(k->pre);
	rd_kafka_resp_err_t err = rd_kafka_consumer_close(k->consumer);
	if (err)
		log_warn(kafka, "consumer close: %s", rd_kafka_err2str(err));
}

void kafka_detach(struct kafka *k)
{
	if (k)
		k->detached = true;
}

void kafka_purge(struct kafka *k)
{
	rd_kafka_purge(k->producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
	/* Purged records report through the main queue: serve them now. */
	rd_kafka_flush(k->producer, 1000);
	rd_kafka_poll(k->producer, 0);
}

bool kafka_assignment_lost(const struct kafka *k)
{
	return rd_kafka_assignment_lost(k->consumer);
}

int kafka_session_ms(const struct kafka *k)
{
	char v[32];
	size_t n = sizeof(v);
	if (rd_kafka_conf_get(rd_kafka_conf(k->consumer), "session.timeout.ms", v, &n) !=
	    RD_KAFKA_CONF_OK)
		return 6000; /* kafka_conf's */
	return atoi(v);
}

int kafka_flush(struct kafka *k, int timeout_ms)
{
	rd_kafka_resp_err_t err = rd_kafka_flush(k->producer, timeout_ms);
	return err == RD_KAFKA_RESP_ERR__TIMED_OUT ? -ETIMEDOUT : 0;
}

int kafka_outq_len(const struct kafka *k)
{
	return rd_kafka_outq_len(k->producer);
}

static void kafka_destroy(struct kafka *k)
{
	/* Before the consumer goes: librdkafka waits for every message it handed out. */
	prefetch_free(k->pre);
	if (k->cq) {
		rd_kafka_queue_io_event_enable(k->cq, -1, NULL, 0);
		rd_kafka_queue_destroy(k->cq);
	}
	if (k->pq) {
		rd_kafka_queue_io_event_enable(k->pq, -1, NULL, 0);
		rd_kafka_queue_destroy(k->pq);
	}
	for (int i = 0; i < KAFKA_OUT__COUNT; i++)
		if (k->out[i])
			rd_kafka_topic_destroy(k->out[i]);
	if (k->producer)
		rd_kafka_destroy(k->producer);
	if (k->reader)
		rd_kafka_destroy(k->reader);
	if (k->consumer) {
		if (!k->closed)
			rd_kafka_consumer_close(k->consumer);
		rd_kafka_destroy(k->consumer);
	}
	if (k->cwake.fd >= 0)
		close(k->cwake.fd);
	if (k->pwake.fd >= 0)
		close(k->pwake.fd);
	for (int i = 0; i < KAFKA_IN__COUNT; i++)
		free(k->in_names[i]);
	free(k->batch);
	free(k);
}

static void kafka_handle_closed(uv_handle_t *h)
{
	struct kafka *k = h->type == UV_POLL ? ((struct kafka_wake *)h->data)->k : h->data;
	if (--k->open_handles == 0)
		kafka_destroy(k);
}

void kafka_free(struct kafka *k)
{
	if (!k)
		return;
	if (k->open_handles == 0) {
		kafka_destroy(k);
		return;
	}
	/* Handles that were initialised are closed; the last close callback
	 * destroys the clients. */
	k->detached = true;
	if (k->more.loop)
		uv_close((uv_handle_t *)&k->more, kafka_handle_closed);
	if (k->tick.loop)
		uv_close((uv_handle_t *)&k->tick, kafka_handle_closed);
	if (k->cwake.poll.loop)
		uv_close((uv_handle_t *)&k->cwake.poll, kafka_handle_closed);
	if (k->pwake.poll.loop)
		uv_close((uv_handle_t *)&k->pwake.poll, kafka_handle_closed);
}
