/* Process-wide counters, the catalogue of every metric family, its Prometheus rendering, health
 * (liveness, readiness) and the HTTP endpoint serving them. */
#include "metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arbiter_build.h"
#include "log.h"
#include "metrics_impl.h"

#if ARBITER_WITH_METRICS
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

struct metrics metrics;

enum metric_kind { METRIC_U64, METRIC_I64, METRIC_BOOL };

/* One family of the catalogue and where its samples come from: a field of
 * struct metrics (a single unlabelled sample), or a renderer. */
struct metrics_def {
	struct metrics_family f;
	metrics_render_fn render; /* NULL: the field at OFFSET */
	size_t offset;
	enum metric_kind kind;
};

void metrics_printf(struct metrics_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *dst = b->len < b->size ? b->buf + b->len : NULL;
	size_t room = b->len < b->size ? b->size - b->len : 0;
	int n = vsnprintf(dst, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->len += (size_t)n;
}

void metrics_label(struct metrics_buf *b, const char *value)
{
	for (const char *c = value ? value : ""; *c; c++) {
		if (*c == '\\')
			metrics_printf(b, "\\\\");
		else if (*c == '"')
			metrics_printf(b, "\\\"");
		else if (*c == '\n')
			metrics_printf(b, "\\n");
		else
			metrics_printf(b, "%c", *c);
	}
}

void metrics_value(struct metrics_buf *b, double v)
{
	if (isnan(v))
		metrics_printf(b, "NaN");
	else if (isinf(v))
		metrics_printf(b, v > 0 ? "+Inf" : "-Inf");
	else if (v == (double)(int64_t)v && fabs(v) < 9e15)
		metrics_printf(b, "%" PRId64, (int64_t)v);
	else {
		/* The shortest of these that reads back the same: 0.1 stays 0.1, a Unix
		 * time keeps its milliseconds. */
		char s[32];
		snprintf(s, sizeof(s), "%.15g", v);
		if (strtod(s, NULL) != v)
			snprintf(s, sizeof(s), "%.17g", v);
		metrics_printf(b, "%s", s);
	}
}

static void metrics_render_field(struct metrics_buf *b, const struct metrics_def *d)
{
	const char *base = (const char *)&metrics + d->offset;
	metrics_printf(b, "%s ", d->f.name);
	switch (d->kind) {
	case METRIC_U64:
		metrics_printf(b, "%llu\n",
			       (unsigned long long)atomic_load_explicit(
				       (const atomic_uint_fast64_t *)base, memory_order_relaxed));
		break;
	case METRIC_I64:
		metrics_printf(b, "%lld\n",
			       (long long)atomic_load_explicit((const atomic_int_fast64_t *)base,
							       memory_order_relaxed));
		break;
	case METRIC_BOOL:
		metrics_printf(
			b, "%d\n",
			atomic_load_explicit((const atomic_bool *)base, memory_order_relaxed) ? 1 :
												0);
		break;
	}
}

static void metrics_render_build(struct metrics_buf *b, const struct metrics_family *f)
{
	metrics_printf(b, "%s{version=\"", f->name);
	metrics_label(b, ARBITER_VERSION);
	metrics_printf(b, "\"} 1\n");
}

static void metrics_render_consumed(struct metrics_buf *b, const struct metrics_family *f)
{
	metrics_printf(b, "%s{topic=\"content\"} %llu\n", f->name,
		       (unsigned long long)atomic_load_explicit(&metrics.consumed_content,
								memory_order_relaxed));
	metrics_printf(b, "%s{topic=\"decisions\"} %llu\n", f->name,
		       (unsigned long long)atomic_load_explicit(&metrics.consumed_decisions,
								memory_order_relaxed));
}

static const char *const metrics_dl_names[METRICS_DL__COUNT] = {
	[METRICS_DL_UNDECODABLE] = "undecodable",
	[METRICS_DL_INVALID] = "invalid",
	[METRICS_DL_APPEAL] = "appeal",
	[METRICS_DL_OUTPUT_REFUSED] = "output_refused",
};

static void metrics_render_deadletters(struct metrics_buf *b, const struct metrics_family *f)
{
	for (int i = 0; i < METRICS_DL__COUNT; i++)
		metrics_printf(b, "%s{reason=\"%s\"} %llu\n", f->name, metrics_dl_names[i],
			       (unsigned long long)atomic_load_explicit(&metrics.deadletters[i],
									memory_order_relaxed));
}

/* Only where Redis is used: a 0 without review queues would read as an outage. */
static void metrics_render_redis_up(struct metrics_buf *b, const struct metrics_family *f)
{
	if (!atomic_load_explicit(&metrics.redis_used, memory_order_relaxed))
		return;
	metrics_printf(b, "%s %d\n", f->name,
		       atomic_load_explicit(&metrics.redis_up, memory_order_relaxed) ? 1 : 0);
}

static void metrics_render_ready(struct metrics_buf *b, const struct metrics_family *f)
{
	metrics_printf(b, "%s %d\n", f->name, metrics_not_ready(metrics_mono_ms()) ? 0 : 1);
}

static void metrics_render_live(struct metrics_buf *b, const struct metrics_family *f)
{
	metrics_printf(b, "%s %d\n", f->name, metrics_live(metrics_mono_ms()) ? 1 : 0);
}

/* clang-format off */
#define FIELD(name, type, help, field, kind) \
	{ { name, type, "", help }, NULL, offsetof(struct metrics, field), kind }
#define RENDER(name, type, labels, help, fn) \
	{ { name, type, labels, help }, fn, 0, METRIC_U64 }
/* clang-format on */
#define C METRICS_COUNTER
#define G METRICS_GAUGE
#define H METRICS_HISTOGRAM

/* The catalogue: every family, in exposition order. docs/operations.md's table is generated
 * from it (tests/metrics), and the integration suite checks a live scrape against the docs. */
static const struct metrics_def metrics_defs[] = {
	RENDER("arbiter_build_info", G, "version", "Build of the running arbiterd; always 1.",
	       metrics_render_build),
	/* Kafka in and out */
	RENDER("arbiter_consumed_total", C, "topic",
	       "Messages polled from an input topic (topic: content or decisions).",
	       metrics_render_consumed),
	RENDER("arbiter_deadletters_total", C, "reason",
	       "Inputs sent to the dead-letter topic, by reason class: undecodable, invalid, "
	       "appeal, output_refused.",
	       metrics_render_deadletters),
	FIELD("arbiter_produced_total", C, "Records acknowledged by Kafka (every output).",
	      produced, METRIC_U64),
	FIELD("arbiter_produce_errors_total", C,
	      "Failed attempts to produce a record (refused by the client, or a failed delivery "
	      "report); each record is retried or dead-lettered, never dropped.",
	      produce_errors, METRIC_U64),
	FIELD("arbiter_audit_records_total", C, "Audit records acknowledged by Kafka.",
	      audit_records, METRIC_U64),
	FIELD("arbiter_audit_rewrites_total", C,
	      "Audit records of redelivered input that their chain held already, not written "
	      "again.",
	      audit_rewrites, METRIC_U64),
	FIELD("arbiter_dsa_incomplete_total", C,
	      "Audit records whose DSA statement lacks what the Transparency Database requires.",
	      dsa_incomplete, METRIC_U64),
	FIELD("arbiter_commits_total", C, "Offset commits that succeeded.", commits, METRIC_U64),
	FIELD("arbiter_commit_errors_total", C,
	      "Offset commits that failed; retried at the next commit tick.", commit_errors,
	      METRIC_U64),
	RENDER("arbiter_transaction_commit_duration_seconds", H, "",
	       "With kafka.exactly_once, time one transaction commit held the event loop: "
	       "flushing its records, sending its offsets, committing and beginning the next.",
	       metrics_hist_render),
	FIELD("arbiter_consumer_pauses_total", C,
	      "Times the consumer paused its partitions because pipeline.max_inflight messages "
	      "were in flight.",
	      pauses, METRIC_U64),
	FIELD("arbiter_inflight_messages", G,
	      "Messages polled and not yet finished (not yet committable).", inflight, METRIC_I64),
	FIELD("arbiter_assigned_partitions", G, "Input partitions assigned to this instance.",
	      assigned_partitions, METRIC_I64),
	RENDER("arbiter_consumer_lag", G, "topic, partition",
	       "Messages after the group's committed offset of an input partition this instance "
	       "owns (end offset minus committed offset, from librdkafka's statistics).",
	       metrics_kafka_render_lag),
	RENDER("arbiter_group_lag", G, "",
	       "Sum of arbiter_consumer_lag over this instance's partitions; the consumer "
	       "group's total lag is its sum over the group's instances.",
	       metrics_kafka_render_group_lag),
	RENDER("arbiter_input_partitions", G, "topic",
	       "Partitions of an input topic, from the consumer's metadata.",
	       metrics_kafka_render_partitions),
	RENDER("arbiter_kafka_brokers_connected", G, "",
	       "Kafka brokers the consumer holds a working connection to.",
	       metrics_kafka_render_brokers),
	RENDER("arbiter_message_duration_seconds", H, "topic",
	       "From consuming an input message to its last effect acknowledged (committable).",
	       metrics_hist_render),
	/* Policy */
	FIELD("arbiter_reloads_total", C,
	      "Configurations swapped in (SIGHUP or a changed rule file).", reloads, METRIC_U64),
	FIELD("arbiter_reload_failures_total", C,
	      "Configurations rejected; the running one was kept.", reload_failures, METRIC_U64),
	RENDER("arbiter_ruleset_info", G, "version",
	       "The running ruleset's version (a hash of its files); always 1.",
	       metrics_rules_render_info),
	RENDER("arbiter_ruleset_loaded_timestamp_seconds", G, "",
	       "When the running ruleset was swapped in (Unix time).", metrics_rules_render_loaded),
	FIELD("arbiter_rules_loaded", G, "Rules in the running ruleset.", rules_loaded, METRIC_I64),
	RENDER("arbiter_rule_hits_total", C, "rule",
	       "Content events on which a (non-shadow) rule's condition held.",
	       metrics_rules_render_hits),
	RENDER("arbiter_rule_actions_total", C, "rule",
	       "Content events whose action a rule set (the most severe of the matched rules').",
	       metrics_rules_render_actions),
	RENDER("arbiter_rule_shadow_hits_total", C, "rule",
	       "Content events on which a shadow rule's condition held: counted, never acted "
	       "upon.",
	       metrics_rules_render_shadow),
	FIELD("arbiter_rule_attr_type_errors_total", C,
	      "Declared attributes whose value did not read as their type; each made its "
	      "condition false.",
	      attr_type_errors, METRIC_U64),
	FIELD("arbiter_window_lookups_total", C,
	      "Content events whose windowed counters were read from Redis (one call each).",
	      counter_calls, METRIC_U64),
	FIELD("arbiter_bank_hashes", G, "Hashes in the running ruleset's hash banks.", bank_hashes,
	      METRIC_I64),
	FIELD("arbiter_escalations_total", C,
	      "Escalations the rules asked for (one per event and queue).", escalations,
	      METRIC_U64),
	RENDER("arbiter_rule_eval_duration_seconds", H, "",
	       "Time to evaluate the rules on one content event.", metrics_hist_render),
	RENDER("arbiter_action_latency_seconds", H, "source",
	       "From the content's creation to an action on it (the DSA's timeliness): by the "
	       "rules (source rules) or by a decision (source decisions).",
	       metrics_hist_render),
	/* Review queues */
	FIELD("arbiter_review_enqueued_total", C, "Review queue entries added.", review_enqueued,
	      METRIC_U64),
	FIELD("arbiter_review_deduped_total", C,
	      "Escalations found already queued (a redelivered message): nothing added.",
	      review_deduped, METRIC_U64),
	FIELD("arbiter_review_retries_total", C,
	      "Enqueues sent again after Redis was unreachable, erred or the queue was full.",
	      review_retries, METRIC_U64),
	FIELD("arbiter_review_full_total", C,
	      "Enqueues refused because the queue reached max_length; kept and retried.",
	      review_full, METRIC_U64),
	FIELD("arbiter_review_pending", G, "Escalations waiting for Redis to acknowledge them.",
	      review_pending, METRIC_I64),
	RENDER("arbiter_review_enqueue_duration_seconds", H, "",
	       "From handing an escalation to the review queues to Redis acknowledging it "
	       "(outages included).",
	       metrics_hist_render),
	RENDER("arbiter_review_queue_entries", G, "queue, band",
	       "Entries in a review queue's band (waiting + claimed), read every "
	       "review.sweep_interval.",
	       metrics_review_render),
	RENDER("arbiter_review_queue_waiting", G, "queue, band",
	       "Entries of a band no reviewer holds.", metrics_review_render),
	RENDER("arbiter_review_queue_claimed", G, "queue, band",
	       "Entries of a band a reviewer holds (leased).", metrics_review_render),
	RENDER("arbiter_review_queue_oldest_age_seconds", G, "queue, band",
	       "Age of the oldest entry of a band; 0 when the band is empty.",
	       metrics_review_render),
	RENDER("arbiter_review_queue_overdue", G, "queue",
	       "Entries of a queue past their deadline and not yet decided.",
	       metrics_review_render),
	FIELD("arbiter_sla_overdue_total", C,
	      "Queue entries found past their deadline by the SLA sweeper (each once).",
	      sla_overdue, METRIC_U64),
	FIELD("arbiter_sla_raised_total", C, "Overdue entries raised to the urgent band.",
	      sla_raised, METRIC_U64),
	FIELD("arbiter_appeal_records_total", C,
	      "Appeal records built (appeals filed and resolved).", appeals, METRIC_U64),
	RENDER("arbiter_redis_up", G, "",
	       "1 while the Redis connection is usable; exported only when review queues are "
	       "declared.",
	       metrics_render_redis_up),
	FIELD("arbiter_redis_disconnects_total", C,
	      "Times the Redis connection was lost or could not be made.", redis_disconnects,
	      METRIC_U64),
	/* Health */
	RENDER("arbiter_ready", G, "", "1 while /readyz answers 200 (see its conditions).",
	       metrics_render_ready),
	RENDER("arbiter_live", G, "",
	       "1 while /livez answers 200: the event loop beat within the last 30 s.",
	       metrics_render_live),
	FIELD("arbiter_draining", G, "1 while shutdown drains in-flight work.", draining,
	      METRIC_BOOL),
	/* The process, as Prometheus client libraries name it */
	RENDER("process_cpu_seconds_total", C, "", "User and system CPU time spent, in seconds.",
	       metrics_process_render),
	RENDER("process_resident_memory_bytes", G, "", "Resident memory size in bytes.",
	       metrics_process_render),
	RENDER("process_virtual_memory_bytes", G, "", "Virtual memory size in bytes.",
	       metrics_process_render),
	RENDER("process_open_fds", G, "", "Open file descriptors.", metrics_process_render),
	RENDER("process_max_fds", G, "", "The limit on open file descriptors.",
	       metrics_process_render),
	RENDER("process_start_time_seconds", G, "",
	       "When the process started (Unix time, seconds).", metrics_process_render),
};

#undef C
#undef G
#undef H
#undef FIELD
#undef RENDER

#define METRICS_N_DEFS (sizeof(metrics_defs) / sizeof(metrics_defs[0]))

size_t metrics_family_count(void)
{
	return METRICS_N_DEFS;
}

const struct metrics_family *metrics_family(size_t i)
{
	return i < METRICS_N_DEFS ? &metrics_defs[i].f : NULL;
}

const char *metrics_type_name(enum metrics_type t)
{
	return t == METRICS_COUNTER ? "counter" : t == METRICS_GAUGE ? "gauge" : "histogram";
}

/* Whether NAME is one of NAMES (comma-separated; NULL holds every name). */
static bool metrics_named(const char *names, const char *name)
{
	if (!names)
		return true;
	size_t len = strlen(name);
	for (const char *p = names; *p;) {
		size_t n = strcspn(p, ",");
		if (n == len && !memcmp(p, name, len))
			return true;
		p += n + (p[n] == ',');
	}
	return false;
}

int metrics_render(char *buf, size_t size)
{
	return metrics_render_only(buf, size, NULL);
}

int metrics_render_only(char *buf, size_t size, const char *names)
{
	struct metrics_buf b = {.buf = buf, .size = size, .len = 0};
	if (buf && size > 0)
		buf[0] = '\0';
	else
		b.size = 0;
	for (size_t i = 0; i < METRICS_N_DEFS; i++) {
		const struct metrics_def *d = &metrics_defs[i];
		if (!metrics_named(names, d->f.name))
			continue;
		metrics_printf(&b, "# HELP %s %s\n# TYPE %s %s\n", d->f.name, d->f.help, d->f.name,
			       metrics_type_name(d->f.type));
		if (d->render)
			d->render(&b, &d->f);
		else
			metrics_render_field(&b, d);
	}
	return b.len > (size_t)INT_MAX ? INT_MAX : (int)b.len;
}

void metrics_reset(void)
{
	memset(&metrics, 0, sizeof(metrics));
	metrics_hist_reset();
	metrics_rules_reset();
	metrics_kafka_reset();
	metrics_review_reset();
}

void metrics_deadletter(enum metrics_deadletter why)
{
	if (why >= 0 && why < METRICS_DL__COUNT)
		atomic_fetch_add_explicit(&metrics.deadletters[why], 1, memory_order_relaxed);
}

/* ---- health ---- */

void metrics_group_assigned(bool assigned)
{
	if (assigned) {
		metrics_set(assigned, true);
		/* The coordinator answered: the brokers are there. */
		metrics_set(brokers_down, false);
	} else if (atomic_exchange_explicit(&metrics.assigned, false, memory_order_relaxed)) {
		metrics_set(unassigned_since_ms, (int_fast64_t)metrics_mono_ms());
	}
}

const char *metrics_not_ready(int64_t now_ms)
{
	if (atomic_load_explicit(&metrics.draining, memory_order_relaxed))
		return "draining";
	if (atomic_load_explicit(&metrics.brokers_down, memory_order_relaxed))
		return "Kafka brokers unreachable";
	if (atomic_load_explicit(&metrics.redis_used, memory_order_relaxed) &&
	    !atomic_load_explicit(&metrics.redis_up, memory_order_relaxed))
		return "Redis unreachable";
	if (atomic_load_explicit(&metrics.assigned, memory_order_relaxed))
		return NULL;
	int64_t since = atomic_load_explicit(&metrics.unassigned_since_ms, memory_order_relaxed);
	if (since == 0)
		return "no partition assignment from the consumer group yet";
	/* An eager rebalance revokes everything before it assigns again. */
	if (now_ms - since < METRICS_REBALANCE_GRACE_MS)
		return NULL;
	return "no partition assignment from the consumer group";
}

void metrics_heartbeat(void)
{
	metrics_set(heartbeat_ms, (int_fast64_t)metrics_mono_ms());
}

bool metrics_live(int64_t now_ms)
{
	int64_t beat = atomic_load_explicit(&metrics.heartbeat_ms, memory_order_relaxed);
	return beat == 0 || now_ms - beat <= METRICS_LIVE_MAX_MS;
}

static uv_timer_t metrics_heart;

static void metrics_heart_cb(uv_timer_t *t)
{
	(void)t;
	metrics_heartbeat();
}

int metrics_loop_start(uv_loop_t *loop)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	metrics.start_time = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	metrics_heartbeat();
	int rc = uv_timer_init(loop, &metrics_heart);
	if (rc < 0)
		return rc;
	/* It alone must not keep the loop running. */
	uv_unref((uv_handle_t *)&metrics_heart);
	return uv_timer_start(&metrics_heart, metrics_heart_cb, 1000, 1000);
}

void metrics_loop_stop(void)
{
	if (metrics_heart.loop && !uv_is_closing((uv_handle_t *)&metrics_heart))
		uv_close((uv_handle_t *)&metrics_heart, NULL);
	/* No loop beats any more: nothing to watch. */
	metrics_set(heartbeat_ms, 0);
}

#if ARBITER_WITH_METRICS

struct metrics_server {
	struct MHD_Daemon *daemon;
	char listen[64];
};

/* Parses "host:port" where host is "*", empty or a dotted IPv4 address. */
static int metrics_parse_listen(const char *listen, struct sockaddr_in *sa)
{
	const char *colon = listen ? strrchr(listen, ':') : NULL;
	if (!colon || colon[1] == '\0')
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (errno || *end != '\0' || port > 65535 || colon[1] == '-' || colon[1] == '+')
		return -EINVAL;

	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	size_t hostlen = (size_t)(colon - listen);
	if (hostlen == 0 || (hostlen == 1 && listen[0] == '*')) {
		sa->sin_addr.s_addr = htonl(INADDR_ANY);
		return 0;
	}
	char host[INET_ADDRSTRLEN];
	if (hostlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, listen, hostlen);
	host[hostlen] = '\0';
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return -EINVAL;
	return 0;
}

/* MHD does not say why it failed to start. Binding the address ourselves, with the same
 * SO_REUSEADDR MHD uses, recovers the errno (EADDRINUSE, EACCES, EADDRNOTAVAIL). */
static int metrics_probe_bind(const struct sockaddr_in *sa)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int on = 1;
	int rc = 0;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) != 0 || listen(fd, 1) != 0)
		rc = -errno;
	close(fd);
	return rc;
}

static void metrics_mhd_log(void *cls, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* MHD logs once per refused or broken connection: a flood of clients would become a flood of
 * log lines. One line a second at most (MHD calls this on its one thread), with a count of
 * what was left out. */
static void metrics_mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	static int64_t window_ms;
	static unsigned suppressed;
	int64_t now = log_now_ms();
	if (now - window_ms < 1000) {
		suppressed++;
		return;
	}
	window_ms = now;
	if (suppressed)
		log_warn(metrics, "http: %u more message(s) in the last second not logged",
			 suppressed);
	suppressed = 0;
	char msg[512];
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n <= 0)
		return;
	size_t len = strlen(msg);
	while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
		msg[--len] = '\0';
	log_warn(metrics, "http: %s", msg);
}

static enum MHD_Result metrics_reply(struct MHD_Connection *conn, unsigned int status,
				     const char *content_type, void *body, size_t len,
				     enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, mode);
	if (!resp) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	enum MHD_Result ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result metrics_reply_text(struct MHD_Connection *conn, unsigned int status,
					  const char *text)
{
	return metrics_reply(conn, status, "text/plain; charset=utf-8", (void *)text, strlen(text),
			     MHD_RESPMEM_PERSISTENT);
}

static enum MHD_Result metrics_serve_metrics(struct MHD_Connection *conn)
{
	/* ?name=A,B: those families only. */
	const char *names = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "name");
	/* Labelled series can grow between two renders: render again into what the last
	 * one needed, a few times at most. */
	size_t size = names ? 4096 : 65536;
	for (int attempt = 0; attempt < 4; attempt++) {
		char *body = malloc(size);
		if (!body)
			break;
		int len = metrics_render_only(body, size, names);
		if ((size_t)len < size)
			return metrics_reply(conn, MHD_HTTP_OK,
					     "text/plain; version=0.0.4; charset=utf-8", body,
					     (size_t)len, MHD_RESPMEM_MUST_FREE);
		free(body);
		size = (size_t)len + 65536;
	}
	return metrics_reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
}

/* /readyz, and /healthz as it was: 200 "ok", or 503 with the reason. */
static enum MHD_Result metrics_serve_ready(struct MHD_Connection *conn)
{
	const char *why = metrics_not_ready(metrics_mono_ms());
	if (!why)
		return metrics_reply_text(conn, MHD_HTTP_OK, "ok\n");
	/* Persistent strings only: MHD keeps the buffer until the reply is sent. */
	static const char *const replies[][2] = {
		{"draining", "draining\n"},
		{"Kafka brokers unreachable", "not ready: Kafka brokers unreachable\n"},
		{"Redis unreachable", "not ready: Redis unreachable\n"},
		{"no partition assignment from the consumer group yet",
		 "not ready: no partition assignment from the consumer group yet\n"},
		{"no partition assignment from the consumer group",
		 "not ready: no partition assignment from the consumer group\n"},
	};
	for (size_t i = 0; i < sizeof(replies) / sizeof(replies[0]); i++)
		if (!strcmp(why, replies[i][0]))
			return metrics_reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
						  replies[i][1]);
	return metrics_reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "not ready\n");
}

/* Runs on MHD's thread: reads atomics and the series' locked tables only, never loop
 * state. */
static enum MHD_Result metrics_handle(void *cls, struct MHD_Connection *conn, const char *url,
				      const char *method, const char *version,
				      const char *upload_data, size_t *upload_data_size,
				      void **con_cls)
{
	(void)cls;
	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)con_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return metrics_reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
					  "method not allowed\n");
	if (strcmp(url, "/metrics") == 0)
		return metrics_serve_metrics(conn);
	if (strcmp(url, "/readyz") == 0 || strcmp(url, "/healthz") == 0)
		return metrics_serve_ready(conn);
	if (strcmp(url, "/livez") == 0) {
		if (metrics_live(metrics_mono_ms()))
			return metrics_reply_text(conn, MHD_HTTP_OK, "ok\n");
		return metrics_reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
					  "not live: the event loop is stuck\n");
	}
	return metrics_reply_text(conn, MHD_HTTP_NOT_FOUND, "not found\n");
}

/* Slow clients must not starve the probes: no one address holds more than a few
 * connections, an idle one is dropped after a few seconds, and the total is well above
 * what scrapers and probes use. */
#define METRICS_MAX_CONNECTIONS 256
#define METRICS_MAX_PER_IP 8
#define METRICS_TIMEOUT_S 5

int metrics_server_start(const char *listen, struct metrics_server **out)
{
	struct sockaddr_in sa;
	int rc = metrics_parse_listen(listen, &sa);
	if (rc < 0) {
		log_error(metrics, "bad listen address '%s': want host:port, host '*' or IPv4",
			  listen ? listen : "(null)");
		return rc;
	}
	struct metrics_server *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	snprintf(srv->listen, sizeof(srv->listen), "%s", listen);

	/* The logger must be the first option, or MHD reports with its own in the meantime. */
	const unsigned int flags =
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
	srv->daemon = MHD_start_daemon(
		flags, ntohs(sa.sin_port), NULL, NULL, metrics_handle, NULL,
		MHD_OPTION_EXTERNAL_LOGGER, metrics_mhd_log, NULL, MHD_OPTION_SOCK_ADDR,
		(struct sockaddr *)&sa, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned int)METRICS_MAX_CONNECTIONS, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		(unsigned int)METRICS_MAX_PER_IP, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned int)METRICS_TIMEOUT_S, MHD_OPTION_END);
	if (!srv->daemon) {
		rc = metrics_probe_bind(&sa);
		if (rc == 0)
			rc = -EIO;
		log_error(metrics, "cannot serve http on %s: %s", listen, strerror(-rc));
		free(srv);
		return rc;
	}
	const union MHD_DaemonInfo *info =
		MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
	char addr[INET_ADDRSTRLEN] = "?";
	inet_ntop(AF_INET, &sa.sin_addr, addr, sizeof(addr));
	log_info(metrics, "serving /metrics, /livez, /readyz and /healthz on %s:%u", addr,
		 info ? (unsigned)info->port : (unsigned)ntohs(sa.sin_port));
	*out = srv;
	return 0;
}

int metrics_server_port(const struct metrics_server *srv)
{
	const union MHD_DaemonInfo *info =
		srv ? MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT) : NULL;
	return info ? (int)info->port : 0;
}

void metrics_server_stop(struct metrics_server *srv)
{
	if (!srv)
		return;
	MHD_stop_daemon(srv->daemon);
	log_info(metrics, "http server on %s stopped", srv->listen);
	free(srv);
}

#else /* !ARBITER_WITH_METRICS */

/* Slow clients must not starve the probes: no one address holds more than a few
 * connections, an idle one is dropped after a few seconds, and the total is well above
 * what scrapers and probes use. */
#define METRICS_MAX_CONNECTIONS 256
#define METRICS_MAX_PER_IP 8
#define METRICS_TIMEOUT_S 5

int metrics_server_start(const char *listen, struct metrics_server **out)
{
	(void)listen;
	(void)out;
	log_error(metrics, "built without libmicrohttpd: no /metrics, /livez or /readyz");
	return -ENOTSUP;
}

int metrics_server_port(const struct metrics_server *srv)
{
	(void)srv;
	return 0;
}

void metrics_server_stop(struct metrics_server *srv)
{
	(void)srv;
}

#endif
