/* Process-wide counters, their Prometheus rendering and the /metrics + /healthz HTTP server. */
#include "metrics.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arbiter_build.h"
#include "log.h"

#if ARBITER_WITH_METRICS
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

struct metrics metrics;

enum metric_kind { METRIC_U64, METRIC_I64, METRIC_BOOL };

/* One exposed sample. Rows of one family are adjacent and share name, type and help; the
 * family header is written once, before its first row. */
struct metric_row {
	const char *name;
	const char *labels; /* "" or 'key="value"' without braces */
	const char *type;
	const char *help;
	size_t offset; /* of the field in struct metrics */
	enum metric_kind kind;
};

/* clang-format off */
#define ROW(name, labels, type, help, field, kind) \
	{ name, labels, type, help, offsetof(struct metrics, field), kind }
/* clang-format on */

static const struct metric_row metric_rows[] = {
	ROW("arbiter_consumed_total", "topic=\"content\"", "counter",
	    "Messages polled from an input topic.", consumed_content, METRIC_U64),
	ROW("arbiter_consumed_total", "topic=\"decisions\"", "counter",
	    "Messages polled from an input topic.", consumed_decisions, METRIC_U64),
	ROW("arbiter_deadletters_total", "", "counter",
	    "Messages sent to the dead-letter topic instead of being processed.", deadletters,
	    METRIC_U64),
	ROW("arbiter_produced_total", "", "counter", "Records acknowledged by Kafka.", produced,
	    METRIC_U64),
	ROW("arbiter_produce_errors_total", "", "counter",
	    "Failed delivery reports; the records are retried.", produce_errors, METRIC_U64),
	ROW("arbiter_audit_records_total", "", "counter", "Audit records acknowledged by Kafka.",
	    audit_records, METRIC_U64),
	ROW("arbiter_audit_rewrites_total", "", "counter",
	    "Audit records of redelivered messages that their chain held already, not written "
	    "again.",
	    audit_rewrites, METRIC_U64),
	ROW("arbiter_dsa_incomplete_total", "", "counter",
	    "Audit records due a DSA statement that lacks what the database requires.",
	    dsa_incomplete, METRIC_U64),
	ROW("arbiter_commits_total", "", "counter", "Offset commits that succeeded.", commits,
	    METRIC_U64),
	ROW("arbiter_commit_errors_total", "", "counter", "Offset commits that failed.",
	    commit_errors, METRIC_U64),
	ROW("arbiter_consumer_pauses_total", "", "counter",
	    "Times the consumer paused its partitions on backpressure.", pauses, METRIC_U64),
	ROW("arbiter_reloads_total", "", "counter", "Configurations swapped in.", reloads,
	    METRIC_U64),
	ROW("arbiter_reload_failures_total", "", "counter",
	    "Configurations rejected; the previous one kept running.", reload_failures, METRIC_U64),
	ROW("arbiter_rule_actions_total", "", "counter",
	    "Content events on which the rules applied an action.", rule_actions, METRIC_U64),
	ROW("arbiter_escalations_total", "", "counter",
	    "Escalations the rules asked for (one per event and queue).", escalations, METRIC_U64),
	ROW("arbiter_shadow_hits_total", "", "counter",
	    "Shadow rules that matched: counted, never acted upon.", shadow_hits, METRIC_U64),
	ROW("arbiter_rules_loaded", "", "gauge", "Rules in the running ruleset.", rules_loaded,
	    METRIC_I64),
	ROW("arbiter_review_enqueued_total", "", "counter", "Review queue entries added.",
	    review_enqueued, METRIC_U64),
	ROW("arbiter_review_deduped_total", "", "counter",
	    "Escalations found already queued (a redelivered message): nothing added.",
	    review_deduped, METRIC_U64),
	ROW("arbiter_review_retries_total", "", "counter",
	    "Enqueues sent again after Redis was unreachable, erred or the queue was full.",
	    review_retries, METRIC_U64),
	ROW("arbiter_review_full_total", "", "counter",
	    "Enqueues refused because the queue reached max_length; kept and retried.", review_full,
	    METRIC_U64),
	ROW("arbiter_review_pending", "", "gauge",
	    "Escalations waiting for Redis to acknowledge them.", review_pending, METRIC_I64),
	ROW("arbiter_sla_overdue_total", "", "counter",
	    "Queue entries whose deadline passed before a decision.", sla_overdue, METRIC_U64),
	ROW("arbiter_sla_raised_total", "", "counter", "Overdue entries raised to the urgent band.",
	    sla_raised, METRIC_U64),
	ROW("arbiter_appeal_records_total", "", "counter",
	    "Appeal records built (appeals filed and resolved).", appeals, METRIC_U64),
	ROW("arbiter_redis_disconnects_total", "", "counter",
	    "Times the Redis connection was lost or could not be made.", redis_disconnects,
	    METRIC_U64),
	ROW("arbiter_redis_up", "", "gauge", "1 while the Redis connection is usable.", redis_up,
	    METRIC_BOOL),
	ROW("arbiter_inflight_messages", "", "gauge",
	    "Messages polled and not yet finished (not yet committable).", inflight, METRIC_I64),
	ROW("arbiter_assigned_partitions", "", "gauge",
	    "Input partitions assigned to this instance.", assigned_partitions, METRIC_I64),
	ROW("arbiter_ready", "", "gauge", "1 when partitions are assigned and the producer is up.",
	    ready, METRIC_BOOL),
	ROW("arbiter_draining", "", "gauge", "1 while shutdown drains in-flight work.", draining,
	    METRIC_BOOL),
};

#undef ROW

/* snprintf-like appender: keeps counting the length needed after the buffer is full. */
struct render_buf {
	char *buf;
	size_t size;
	size_t len;
};

static void render_printf(struct render_buf *rb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void render_printf(struct render_buf *rb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *dst = rb->len < rb->size ? rb->buf + rb->len : NULL;
	size_t room = rb->len < rb->size ? rb->size - rb->len : 0;
	int n = vsnprintf(dst, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		rb->len += (size_t)n;
}

/* Formats the row's current value; counters are unsigned, gauges may be negative. */
static const char *metrics_row_value(const struct metric_row *row, char out[24])
{
	const char *base = (const char *)&metrics + row->offset;
	switch (row->kind) {
	case METRIC_U64: {
		const atomic_uint_fast64_t *v = (const atomic_uint_fast64_t *)base;
		snprintf(out, 24, "%llu",
			 (unsigned long long)atomic_load_explicit(v, memory_order_relaxed));
		break;
	}
	case METRIC_I64: {
		const atomic_int_fast64_t *v = (const atomic_int_fast64_t *)base;
		snprintf(out, 24, "%lld", (long long)atomic_load_explicit(v, memory_order_relaxed));
		break;
	}
	case METRIC_BOOL: {
		const atomic_bool *v = (const atomic_bool *)base;
		snprintf(out, 24, "%d", atomic_load_explicit(v, memory_order_relaxed) ? 1 : 0);
		break;
	}
	}
	return out;
}

int metrics_render(char *buf, size_t size)
{
	struct render_buf rb = {.buf = buf, .size = size, .len = 0};
	if (buf && size > 0)
		buf[0] = '\0';
	else
		rb.size = 0;

	render_printf(&rb,
		      "# HELP arbiter_build_info Build of the running arbiterd.\n"
		      "# TYPE arbiter_build_info gauge\n"
		      "arbiter_build_info{version=\"%s\"} 1\n",
		      ARBITER_VERSION);
	const char *family = NULL;
	for (size_t i = 0; i < sizeof(metric_rows) / sizeof(metric_rows[0]); i++) {
		const struct metric_row *row = &metric_rows[i];
		if (!family || strcmp(family, row->name) != 0) {
			family = row->name;
			render_printf(&rb, "# HELP %s %s\n# TYPE %s %s\n", row->name, row->help,
				      row->name, row->type);
		}
		char value[24];
		if (row->labels[0])
			render_printf(&rb, "%s{%s} %s\n", row->name, row->labels,
				      metrics_row_value(row, value));
		else
			render_printf(&rb, "%s %s\n", row->name, metrics_row_value(row, value));
	}
	return rb.len > (size_t)INT_MAX ? INT_MAX : (int)rb.len;
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
	/* Counters move between the two renders; leave room so the second one fits. */
	int need = metrics_render(NULL, 0);
	size_t size = (size_t)need + 1024;
	char *body = malloc(size);
	if (!body)
		return metrics_reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	int len = metrics_render(body, size);
	if ((size_t)len >= size)
		len = (int)size - 1;
	return metrics_reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", body,
			     (size_t)len, MHD_RESPMEM_MUST_FREE);
}

/* Runs on MHD's thread: reads atomics only, never touches loop state. */
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
	if (strcmp(url, "/healthz") == 0) {
		if (atomic_load_explicit(&metrics.draining, memory_order_relaxed))
			return metrics_reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "draining\n");
		if (!atomic_load_explicit(&metrics.ready, memory_order_relaxed))
			return metrics_reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
						  "not ready\n");
		return metrics_reply_text(conn, MHD_HTTP_OK, "ok\n");
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
	log_info(metrics, "serving /metrics and /healthz on %s:%u", addr,
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
	log_error(metrics, "built without libmicrohttpd: no /metrics or /healthz");
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
