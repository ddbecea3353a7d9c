/* Unit tests for the Prometheus rendering and the /metrics + /healthz server (metrics.c). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "arbiter_build.h"
#include "log.h"
#include "metrics.h"
#include "unit.h"

/* Tests share the process-wide counters when CK_FORK=no (valgrind): start each from zero. */
static void reset_metrics(void)
{
	memset(&metrics, 0, sizeof(metrics));
}

static size_t count_occurrences(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

START_TEST(render_writes_every_counter_in_prometheus_text)
{
	metrics_add(consumed_content, 3);
	metrics_add(consumed_decisions, 5);
	metrics_inc(deadletters);
	metrics_set(inflight, -2);
	metrics_set(ready, true);

	char buf[16384];
	int n = metrics_render(buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	ck_assert_int_lt(n, (int)sizeof(buf));
	ck_assert_uint_eq(strlen(buf), (size_t)n);

	ck_assert_ptr_nonnull(strstr(buf, "arbiter_consumed_total{topic=\"content\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(buf, "arbiter_consumed_total{topic=\"decisions\"} 5\n"));
	ck_assert_ptr_nonnull(strstr(buf, "arbiter_deadletters_total 1\n"));
	ck_assert_ptr_nonnull(strstr(buf, "arbiter_inflight_messages -2\n"));
	ck_assert_ptr_nonnull(strstr(buf, "arbiter_ready 1\n"));
	ck_assert_ptr_nonnull(strstr(buf, "arbiter_draining 0\n"));
	ck_assert_ptr_nonnull(
		strstr(buf, "arbiter_build_info{version=\"" ARBITER_VERSION "\"} 1\n"));
	/* One header per family, even when it has several labelled samples. */
	ck_assert_uint_eq(count_occurrences(buf, "# HELP arbiter_consumed_total "), 1);
	ck_assert_uint_eq(count_occurrences(buf, "# TYPE arbiter_consumed_total counter\n"), 1);
	ck_assert_ptr_nonnull(strstr(buf, "# TYPE arbiter_inflight_messages gauge\n"));

	/* Every line: a HELP or TYPE header, or an arbiter_ sample; each sample's family has both.
	 */
	char *save = NULL;
	size_t samples = 0, helps = 0, types = 0;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "# HELP arbiter_", 15) == 0)
			helps++;
		else if (strncmp(line, "# TYPE arbiter_", 15) == 0)
			types++;
		else {
			ck_assert_msg(strncmp(line, "arbiter_", 8) == 0, "bad line: %s", line);
			ck_assert_ptr_nonnull(strchr(line, ' '));
			samples++;
		}
	}
	ck_assert_uint_eq(helps, types);
	ck_assert_uint_ge(samples, 16);
	ck_assert_uint_eq(helps, samples - 1); /* consumed_total has two samples */
}
END_TEST

START_TEST(render_truncates_like_snprintf)
{
	int need = metrics_render(NULL, 0);
	ck_assert_int_gt(need, 100);

	char small[32];
	memset(small, 'x', sizeof(small));
	ck_assert_int_eq(metrics_render(small, sizeof(small)), need);
	ck_assert_uint_eq(strlen(small), sizeof(small) - 1);

	char *exact = malloc((size_t)need + 1);
	ck_assert_ptr_nonnull(exact);
	ck_assert_int_eq(metrics_render(exact, (size_t)need + 1), need);
	ck_assert_uint_eq(strlen(exact), (size_t)need);
	ck_assert_int_eq(strncmp(exact, small, sizeof(small) - 1), 0);
	free(exact);
}
END_TEST

START_TEST(stop_null_is_a_noop)
{
	metrics_server_stop(NULL);
}
END_TEST

#if ARBITER_WITH_METRICS

/* A free loopback port: bind port 0, read it back, close. Another process could take it
 * before the server binds; on a test machine that is rare enough. */
static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	socklen_t len = sizeof(sa);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

struct http_reply {
	int status;
	char head[2048];
	char body[16384];
};

/* A socket connected to PORT on 127.0.0.1 from the loopback address FROM (host order). */
static int http_connect(int port, uint32_t from)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	struct timeval tv = {.tv_sec = 5};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	struct sockaddr_in src = {.sin_family = AF_INET};
	src.sin_addr.s_addr = htonl(from);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&src, sizeof(src)), 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* One HTTP/1.0 exchange over a plain socket from FROM: the server closes after the reply. */
static void http_request_from(int port, uint32_t from, const char *method, const char *path,
			      struct http_reply *r)
{
	int fd = http_connect(port, from);

	char req[256];
	int n = snprintf(req, sizeof(req), "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", method,
			 path);
	ck_assert_int_eq(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);

	static char raw[sizeof(r->head) + sizeof(r->body)];
	size_t len = 0;
	for (;;) {
		ck_assert_uint_lt(len, sizeof(raw) - 1);
		ssize_t got = recv(fd, raw + len, sizeof(raw) - 1 - len, 0);
		ck_assert_int_ge(got, 0);
		if (got == 0)
			break;
		len += (size_t)got;
	}
	raw[len] = '\0';
	close(fd);

	ck_assert_int_eq(sscanf(raw, "HTTP/1.%*d %d", &r->status), 1);
	char *sep = strstr(raw, "\r\n\r\n");
	ck_assert_ptr_nonnull(sep);
	size_t headlen = (size_t)(sep - raw);
	ck_assert_uint_lt(headlen, sizeof(r->head));
	memcpy(r->head, raw, headlen);
	r->head[headlen] = '\0';
	snprintf(r->body, sizeof(r->body), "%s", sep + 4);
}

static void http_request(int port, const char *method, const char *path, struct http_reply *r)
{
	http_request_from(port, INADDR_LOOPBACK, method, path, r);
}

/* 64 clients that send their headers slowly held every connection the endpoint had, and
 * readiness probes timed out for as long as they held them. */
START_TEST(slow_clients_do_not_starve_probes)
{
	int port = free_port();
	char listen[32];
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	struct metrics_server *srv = NULL;
	ck_assert_int_eq(metrics_server_start(listen, &srv), 0);
	metrics_set(ready, true);
	metrics_set(draining, false);
	int slow[64];
	for (int i = 0; i < 64; i++) {
		slow[i] = http_connect(port, INADDR_LOOPBACK);
		ck_assert_int_eq(
			send(slow[i], "GET /healthz HTTP/1.0\r\nX-Slow: ", 32, MSG_NOSIGNAL), 32);
	}
	/* A probe from another address (the kubelet's) is answered at once. */
	struct http_reply r;
	http_request_from(port, INADDR_LOOPBACK + 1, "GET", "/healthz", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "ok\n");
	for (int i = 0; i < 64; i++)
		close(slow[i]);
	metrics_server_stop(srv);
}
END_TEST

START_TEST(serves_metrics_health_and_errors)
{
	int port = free_port();
	char listen[32];
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	struct metrics_server *srv = NULL;
	ck_assert_int_eq(metrics_server_start(listen, &srv), 0);
	ck_assert_ptr_nonnull(srv);

	struct http_reply r;
	metrics_add(produced, 42);
	http_request(port, "GET", "/metrics", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.head, "text/plain; version=0.0.4"));
	ck_assert_ptr_nonnull(strstr(r.body, "# TYPE arbiter_produced_total counter\n"));
	ck_assert_ptr_nonnull(strstr(r.body, "\narbiter_produced_total 42\n"));

	http_request(port, "GET", "/healthz", &r);
	ck_assert_int_eq(r.status, 503);
	ck_assert_str_eq(r.body, "not ready\n");

	metrics_set(ready, true);
	http_request(port, "GET", "/healthz", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "ok\n");

	metrics_set(draining, true);
	http_request(port, "GET", "/healthz", &r);
	ck_assert_int_eq(r.status, 503);
	ck_assert_str_eq(r.body, "draining\n");

	http_request(port, "GET", "/nope", &r);
	ck_assert_int_eq(r.status, 404);

	http_request(port, "POST", "/metrics", &r);
	ck_assert_int_eq(r.status, 405);
	ck_assert_ptr_nonnull(strstr(r.head, "Allow: GET"));

	metrics_server_stop(srv);
}
END_TEST

START_TEST(reports_address_in_use)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 1), 0);
	socklen_t len = sizeof(sa);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);

	char addr[32];
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", ntohs(sa.sin_port));
	struct metrics_server *srv = NULL;
	ck_assert_int_eq(metrics_server_start(addr, &srv), -EADDRINUSE);
	ck_assert_ptr_null(srv);
	close(fd);
}
END_TEST

START_TEST(port_zero_and_any_host_start)
{
	struct metrics_server *srv = NULL;
	ck_assert_int_eq(metrics_server_port(NULL), 0);
	ck_assert_int_eq(metrics_server_start("127.0.0.1:0", &srv), 0);
	/* The port the system chose is the one that answers. */
	int port = metrics_server_port(srv);
	ck_assert_int_gt(port, 0);
	struct http_reply r;
	http_request(port, "GET", "/nowhere", &r);
	ck_assert_int_eq(r.status, 404);
	metrics_server_stop(srv);
	srv = NULL;
	ck_assert_int_eq(metrics_server_start("*:0", &srv), 0);
	metrics_server_stop(srv);
}
END_TEST

START_TEST(rejects_bad_listen_addresses)
{
	static const char *const bad[] = {
		"",
		"9464",
		"127.0.0.1",
		"127.0.0.1:",
		"127.0.0.1:99999",
		"127.0.0.1:-1",
		"127.0.0.1:94x",
		"localhost:9464",
		"1.2.3:9464",
		"::1:9464",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct metrics_server *srv = NULL;
		ck_assert_msg(metrics_server_start(bad[i], &srv) == -EINVAL, "accepted '%s'",
			      bad[i]);
		ck_assert_ptr_null(srv);
	}
	struct metrics_server *srv = NULL;
	ck_assert_int_eq(metrics_server_start(NULL, &srv), -EINVAL);
}
END_TEST

#else /* !ARBITER_WITH_METRICS */

START_TEST(start_is_not_supported)
{
	struct metrics_server *srv = NULL;
	ck_assert_int_eq(metrics_server_start("127.0.0.1:9464", &srv), -ENOTSUP);
	ck_assert_ptr_null(srv);
}
END_TEST

#endif

static Suite *metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("render");
	tcase_add_checked_fixture(tc, reset_metrics, NULL);
	tcase_add_test(tc, render_writes_every_counter_in_prometheus_text);
	tcase_add_test(tc, render_truncates_like_snprintf);
	suite_add_tcase(s, tc);

	tc = tcase_create("server");
	tcase_add_checked_fixture(tc, reset_metrics, NULL);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, stop_null_is_a_noop);
#if ARBITER_WITH_METRICS
	tcase_add_test(tc, serves_metrics_health_and_errors);
	tcase_add_test(tc, slow_clients_do_not_starve_probes);
	tcase_add_test(tc, reports_address_in_use);
	tcase_add_test(tc, port_zero_and_any_host_start);
	tcase_add_test(tc, rejects_bad_listen_addresses);
#else
	tcase_add_test(tc, start_is_not_supported);
#endif
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	log_set_level(LOG_WARN); /* keep "serving on" lines out of the test log */
	return unit_run(metrics_suite());
}
