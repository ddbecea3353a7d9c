/* Integration: a running arbiterd's /metrics, /livez and /readyz: the scrape exposes exactly the
 * metrics docs/operations.md documents and passes `promtool check metrics`; readiness follows
 * Redis and the brokers; a start without brokers, and a missing output topic, say so. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "harness.h"
#include "redis_server.h"

#ifndef TEST_DOCS
#error "meson defines TEST_DOCS"
#endif

/* ---- HTTP ---- */

/* GET PATH on 127.0.0.1:PORT over HTTP/1.0. Returns the status (-1 when nothing answers) and
 * the body in *BODY (malloc'd, NUL-terminated; NULL when nothing answered). */
static int http_get(int port, const char *path, char **body)
{
	*body = NULL;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	struct timeval tv = {.tv_sec = 10};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	char req[256];
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
	ck_assert_int_eq(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
	size_t cap = 1 << 16, len = 0;
	char *raw = malloc(cap);
	ck_assert_ptr_nonnull(raw);
	for (;;) {
		if (len + 4096 > cap) {
			cap *= 2;
			raw = realloc(raw, cap);
			ck_assert_ptr_nonnull(raw);
		}
		ssize_t got = recv(fd, raw + len, cap - len - 1, 0);
		if (got <= 0)
			break;
		len += (size_t)got;
	}
	close(fd);
	raw[len] = '\0';
	int status = -1;
	char *sep = strstr(raw, "\r\n\r\n");
	if (sscanf(raw, "HTTP/1.%*d %d", &status) != 1 || !sep) {
		free(raw);
		return -1;
	}
	*body = strdup(sep + 4);
	free(raw);
	return status;
}

/* Polls GET PATH until its status is STATUS and its body holds NEEDLE (NULL: any body), up to
 * TIMEOUT_S. Returns the last body (malloc'd) when it did, NULL otherwise. */
static char *http_wait(int port, const char *path, int status, const char *needle, int timeout_s)
{
	for (int i = 0; i < timeout_s * 5; i++) {
		char *body;
		int got = http_get(port, path, &body);
		if (got == status && body && (!needle || strstr(body, needle)))
			return body;
		free(body);
		usleep(200 * 1000);
	}
	return NULL;
}

/* ---- the daemon ---- */

struct fixture {
	struct harness h;
	struct redis_server rs;
	int port;
};

static const char rules[] = "rules:\n"
			    "  - id: act.label\n"
			    "    description: hateful\n"
			    "    when: signal.hate >= 0.5\n"
			    "    action: label\n"
			    "    category: STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH\n"
			    "    legal_ground: Terms 1\n"
			    "    escalate: {queue: q, band: urgent, monitors: true}\n"
			    "  - id: shadow.watch\n"
			    "    shadow: true\n"
			    "    when: signal.hate >= 0.2\n";

/* The config: JSON inputs, statistics every 500 ms, the queues read every 500 ms. */
static void fixture_config(struct fixture *f, const char *brokers)
{
	harness_write_file(&f->h, "rules.yaml", rules);
	FILE *c = fopen(f->h.config, "w");
	ck_assert_ptr_nonnull(c);
	fprintf(c,
		"kafka:\n"
		"  brokers: \"%s\"\n"
		"  group_id: %s\n"
		"  properties:\n"
		"    statistics.interval.ms: 500\n"
		"    topic.metadata.refresh.interval.ms: 1000\n"
		"  topics:\n"
		"    content: {name: content.events, format: json}\n"
		"    decisions: {name: moderation.decisions, format: json}\n"
		"pipeline:\n"
		"  commit_interval: 100ms\n"
		"  drain_timeout: 5s\n"
		"metrics:\n"
		"  listen: \"127.0.0.1:%d\"\n"
		"redis:\n"
		"  address: \"%s\"\n"
		"  connect_timeout: 500ms\n"
		"  command_timeout: 2s\n"
		"review:\n"
		"  sweep_interval: 500ms\n"
		"  queues:\n"
		"    q: {}\n"
		"rules:\n"
		"  files: [rules.yaml]\n",
		brokers ? brokers : f->h.bootstrap, f->h.group, f->port, f->rs.address);
	ck_assert_int_eq(fclose(c), 0);
}

static void fixture_start(struct fixture *f)
{
	harness_start(&f->h, 2);
	redis_server_start(&f->rs);
	f->port = harness_free_port();
	fixture_config(f, NULL);
}

static void fixture_stop(struct fixture *f)
{
	harness_stop(&f->h);
	redis_server_stop(&f->rs);
}

static void produce_traffic(struct harness *h)
{
	static const char *const content[] = {
		"{\"event_id\":\"e1\",\"content_id\":\"c1\",\"created_at_ms\":1700000000000,"
		"\"signals\":{\"hate\":0.9}}",
		"{\"event_id\":\"e2\",\"content_id\":\"c2\",\"signals\":{\"hate\":0.3}}",
		"{\"event_id\":\"e3\",\"content_id\":\"c3\"}",
		"not json at all",
		"{\"content_id\":\"no event id\"}",
	};
	for (size_t i = 0; i < sizeof(content) / sizeof(content[0]); i++)
		harness_produce(h, "content.events", "k", content[i], strlen(content[i]));
	static const char decision[] =
		"{\"decision_id\":\"d1\",\"content_id\":\"c9\",\"kind\":\"ACTION\","
		"\"action\":\"REMOVE\",\"actor\":\"HUMAN\",\"reviewer_id\":\"rev-1\","
		"\"decided_at_ms\":1700000600000,\"content_created_at_ms\":1700000000000}";
	harness_produce(h, "moderation.decisions", "c9", decision, strlen(decision));
	harness_flush(h);
}

/* The names in docs/operations.md's metrics table. */
static size_t documented(char names[][96], size_t max)
{
	FILE *f = fopen(TEST_DOCS, "r");
	ck_assert_msg(f != NULL, "cannot open %s", TEST_DOCS);
	char line[2048];
	bool in = false;
	size_t n = 0;
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "<!-- metrics:begin -->"))
			in = true;
		else if (strstr(line, "<!-- metrics:end -->"))
			in = false;
		else if (in && !strncmp(line, "| `", 3)) {
			size_t len = strcspn(line + 3, "`");
			ck_assert_uint_lt(len, 96);
			ck_assert_uint_lt(n, max);
			memcpy(names[n], line + 3, len);
			names[n++][len] = '\0';
		}
	}
	fclose(f);
	return n;
}

/* The family a sample line belongs to, among NAMES (a histogram's _bucket, _sum, _count
 * included); -1 when none. */
static int family_index(const char *sample, char names[][96], size_t n)
{
	size_t len = strcspn(sample, "{ ");
	int best = -1;
	for (size_t i = 0; i < n; i++) {
		size_t nl = strlen(names[i]);
		if (len < nl || strncmp(sample, names[i], nl))
			continue;
		const char *rest = sample + nl;
		size_t rl = len - nl;
		if (rl == 0 || (rl == 7 && !strncmp(rest, "_bucket", 7)) ||
		    (rl == 4 && !strncmp(rest, "_sum", 4)) ||
		    (rl == 6 && !strncmp(rest, "_count", 6)))
			if (best < 0 || strlen(names[i]) > strlen(names[best]))
				best = (int)i;
	}
	return best;
}

static bool have_promtool(void)
{
	return system("command -v promtool >/dev/null 2>&1") == 0;
}

/* ---- tests ---- */

/* The names /metrics exposes are exactly the documented ones, each with samples, and promtool
 * finds nothing wrong with the text. */
START_TEST(scrape_is_the_documented_list)
{
	struct fixture f;
	fixture_start(&f);
	harness_daemon_start(&f.h);
	char *body = http_wait(f.port, "/readyz", 200, "ok", 60);
	ck_assert_msg(body != NULL, "arbiterd never became ready");
	free(body);
	produce_traffic(&f.h);
	ck_assert(harness_wait_committed(&f.h, "content.events", 60));
	ck_assert(harness_wait_committed(&f.h, "moderation.decisions", 60));
	/* Statistics and queue reads come on their own ticks: a read before the escalation
	 * reached Redis counts 0 until the next. */
	body = http_wait(f.port, "/metrics", 200,
			 "arbiter_review_queue_entries{queue=\"q\",band=\"urgent\"} 1\n", 30);
	ck_assert_msg(body != NULL, "no queue gauges");
	free(body);
	/* Lag 0 once the statistics have seen the last commits. */
	body = http_wait(f.port, "/metrics", 200,
			 "arbiter_consumer_lag{topic=\"content.events\",partition=\"0\"} 0\n", 30);
	ck_assert_msg(body != NULL, "no lag, or not down to 0");
	free(body);
	body = http_wait(f.port, "/metrics", 200,
			 "arbiter_consumer_lag{topic=\"content.events\",partition=\"1\"} 0\n", 30);
	ck_assert_msg(body != NULL, "no lag, or not down to 0");

	static char names[128][96];
	size_t n = documented(names, 128);
	ck_assert_uint_ge(n, 40);
	bool typed[128] = {0}, sampled[128] = {0};
	char *save = NULL;
	char *copy = strdup(body);
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "# HELP ", 7))
			continue;
		if (!strncmp(line, "# TYPE ", 7)) {
			size_t len = strcspn(line + 7, " ");
			bool found = false;
			for (size_t i = 0; i < n; i++)
				if (strlen(names[i]) == len && !strncmp(line + 7, names[i], len))
					found = typed[i] = true;
			ck_assert_msg(found, "/metrics has an undocumented family: %s", line + 7);
			continue;
		}
		int i = family_index(line, names, n);
		ck_assert_msg(i >= 0, "/metrics has an undocumented sample: %s", line);
		sampled[i] = true;
	}
	free(copy);
	for (size_t i = 0; i < n; i++) {
		ck_assert_msg(typed[i], "documented but not on /metrics: %s", names[i]);
		ck_assert_msg(sampled[i], "on /metrics without a sample: %s", names[i]);
	}

	/* What the traffic did, as the metrics count it. */
	const char *want[] = {
		"arbiter_deadletters_total{reason=\"undecodable\"} 1\n",
		"arbiter_deadletters_total{reason=\"invalid\"} 1\n",
		"arbiter_rule_hits_total{rule=\"act.label\"} 1\n",
		"arbiter_rule_actions_total{rule=\"act.label\"} 1\n",
		"arbiter_rule_shadow_hits_total{rule=\"shadow.watch\"} 2\n",
		"arbiter_action_latency_seconds_count{source=\"rules\"} 1\n",
		"arbiter_action_latency_seconds_bucket{source=\"decisions\",le=\"900\"} 1\n",
		"arbiter_action_latency_seconds_bucket{source=\"decisions\",le=\"300\"} 0\n",
		"arbiter_rule_eval_duration_seconds_count 3\n",
		"arbiter_message_duration_seconds_count{topic=\"content\"} 5\n",
		"arbiter_message_duration_seconds_count{topic=\"decisions\"} 1\n",
		"arbiter_review_enqueue_duration_seconds_count 1\n",
		"arbiter_review_queue_entries{queue=\"q\",band=\"urgent\"} 1\n",
		"arbiter_review_queue_waiting{queue=\"q\",band=\"urgent\"} 1\n",
		"arbiter_review_queue_overdue{queue=\"q\"} 1\n",
		"arbiter_redis_up 1\n",
		"arbiter_ready 1\n",
		"arbiter_live 1\n",
		"arbiter_input_partitions{topic=\"content.events\"} 2\n",
		"arbiter_assigned_partitions 4\n",
		"arbiter_kafka_brokers_connected 1\n",
		"arbiter_consumer_lag{topic=\"content.events\",partition=\"0\"} 0\n",
		"arbiter_consumer_lag{topic=\"content.events\",partition=\"1\"} 0\n",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ck_assert_msg(strstr(body, want[i]), "/metrics lacks %s", want[i]);
	/* The commits that made the input committed were transactions (exactly once is the
	 * default), each timed. */
	static const char count[] = "arbiter_transaction_commit_duration_seconds_count ";
	const char *commits = strstr(body, count);
	ck_assert_msg(commits != NULL, "/metrics lacks %s", count);
	ck_assert_int_ge(strtol(commits + strlen(count), NULL, 10), 1);

	if (have_promtool()) {
		struct harness_run r;
		harness_run(&r, body, "promtool", "check", "metrics", NULL);
		ck_assert_msg(r.status == 0 && !r.out[0] && !r.err[0],
			      "promtool check metrics (exit %d):\n%s%s", r.status, r.out, r.err);
		harness_run_free(&r);
	} else {
		fprintf(stderr, "promtool is not installed (package prometheus): not checked\n");
	}
	free(body);

	char *live;
	ck_assert_int_eq(http_get(f.port, "/livez", &live), 200);
	ck_assert_str_eq(live, "ok\n");
	free(live);
	ck_assert_int_eq(harness_daemon_stop(&f.h, SIGTERM), 0);
	fixture_stop(&f);
}
END_TEST

/* Redis down with review queues declared: not ready, and ready again when it is back. */
START_TEST(readiness_follows_redis)
{
	struct fixture f;
	fixture_start(&f);
	harness_daemon_start(&f.h);
	char *body = http_wait(f.port, "/readyz", 200, "ok", 60);
	ck_assert_msg(body != NULL, "arbiterd never became ready");
	free(body);
	redis_server_kill(&f.rs);
	body = http_wait(f.port, "/readyz", 503, "not ready: Redis unreachable", 20);
	ck_assert_msg(body != NULL, "still ready with Redis down");
	free(body);
	body = http_wait(f.port, "/healthz", 503, "Redis unreachable", 5);
	ck_assert_ptr_nonnull(body);
	free(body);
	/* Alive all the same: nothing to restart. */
	ck_assert_int_eq(http_get(f.port, "/livez", &body), 200);
	free(body);
	redis_server_restart(&f.rs);
	body = http_wait(f.port, "/readyz", 200, "ok", 30);
	ck_assert_msg(body != NULL, "not ready again after Redis came back");
	free(body);
	ck_assert_int_eq(harness_daemon_stop(&f.h, SIGTERM), 0);
	fixture_stop(&f);
}
END_TEST

/* Every broker down: not ready, saying why; ready again once they are back. */
START_TEST(readiness_follows_the_brokers)
{
	struct fixture f;
	fixture_start(&f);
	harness_daemon_start(&f.h);
	char *body = http_wait(f.port, "/readyz", 200, "ok", 60);
	ck_assert_msg(body != NULL, "arbiterd never became ready");
	free(body);
	rd_kafka_mock_cluster_t *mc = kafka_mock_cluster(f.h.mock);
	ck_assert_int_eq(rd_kafka_mock_broker_set_down(mc, 1), 0);
	body = http_wait(f.port, "/readyz", 503, "not ready: Kafka brokers unreachable", 30);
	ck_assert_msg(body != NULL, "still ready with every broker down");
	free(body);
	ck_assert_int_eq(rd_kafka_mock_broker_set_up(mc, 1), 0);
	body = http_wait(f.port, "/readyz", 200, "ok", 60);
	ck_assert_msg(body != NULL, "not ready again after the brokers came back");
	free(body);
	ck_assert_int_eq(harness_daemon_stop(&f.h, SIGTERM), 0);
	fixture_stop(&f);
}
END_TEST

/* No broker answers: the start-up error names the brokers and how long it tried. */
START_TEST(unreachable_brokers_are_named_at_start)
{
	struct fixture f;
	fixture_start(&f);
	char brokers[64];
	snprintf(brokers, sizeof(brokers), "127.0.0.1:%d", harness_free_port());
	fixture_config(&f, brokers);
	struct harness_run r;
	harness_run(&r, NULL, harness_bin("ARBITERD"), "--config", f.h.config, NULL);
	ck_assert_int_eq(r.status, 1);
	char want[160];
	snprintf(want, sizeof(want),
		 "cannot reach the Kafka brokers %s: no answer after trying for ", brokers);
	ck_assert_msg(strstr(r.err, want) != NULL, "stderr:\n%s", r.err);
	ck_assert_msg(strstr(r.err, "audit topic") == NULL, "blames the audit topic:\n%s", r.err);
	harness_run_free(&r);
	fixture_stop(&f);
}
END_TEST

/* An output topic the brokers do not have: said at start, every failed attempt counted, and
 * the record delivered once the topic exists. */
START_TEST(missing_output_topic_is_said_and_counted)
{
	struct fixture f;
	fixture_start(&f);
	rd_kafka_mock_cluster_t *mc = kafka_mock_cluster(f.h.mock);
	rd_kafka_mock_topic_set_error(mc, "moderation.escalations",
				      RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
	harness_daemon_start(&f.h);
	char *body = http_wait(f.port, "/readyz", 200, "ok", 60);
	ck_assert_msg(body != NULL, "arbiterd never became ready");
	free(body);
	ck_assert(harness_log_contains(&f.h, "output topic moderation.escalations does not exist"));
	static const char ev[] = "{\"event_id\":\"e1\",\"content_id\":\"c1\","
				 "\"signals\":{\"hate\":0.9}}";
	harness_produce(&f.h, "content.events", "c1", ev, strlen(ev));
	harness_flush(&f.h);
	/* Two failed attempts at least, each counted. */
	bool counted = false;
	for (int i = 0; i < 150 && !counted; i++) {
		int got = http_get(f.port, "/metrics", &body);
		ck_assert_int_eq(got, 200);
		const char *p = strstr(body, "\narbiter_produce_errors_total ");
		counted = p && atoi(p + strlen("\narbiter_produce_errors_total ")) >= 2;
		free(body);
		if (!counted)
			usleep(200 * 1000);
	}
	ck_assert_msg(counted, "failed attempts not counted in arbiter_produce_errors_total");
	rd_kafka_mock_topic_set_error(mc, "moderation.escalations", RD_KAFKA_RESP_ERR_NO_ERROR);
	ck_assert(harness_wait_count(&f.h, "moderation.escalations", 1, 90));
	ck_assert(harness_wait_committed(&f.h, "content.events", 60));
	ck_assert_int_eq(harness_daemon_stop(&f.h, SIGTERM), 0);
	fixture_stop(&f);
}
END_TEST

static Suite *metrics_e2e_suite(void)
{
	Suite *s = suite_create("metrics_e2e");
	TCase *tc = tcase_create("metrics");
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, scrape_is_the_documented_list);
	tcase_add_test(tc, readiness_follows_redis);
	tcase_add_test(tc, readiness_follows_the_brokers);
	tcase_add_test(tc, unreachable_brokers_are_named_at_start);
	tcase_add_test(tc, missing_output_topic_is_said_and_counted);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return harness_main(metrics_e2e_suite());
}
