/* Unit tests for the metrics catalogue, its rendering, the series fed by the loop, health and the
 * HTTP endpoint (metrics*.c). */
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
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "rules_fixture.h"
#include "unit.h"

/* Tests share the process-wide counters when CK_FORK=no (valgrind): start each from zero. */
static void reset_metrics(void)
{
	metrics_reset();
}

static size_t count_occurrences(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* The catalogue's family of a sample line (its name, less a histogram's suffix), or NULL. */
static const struct metrics_family *family_of_sample(const char *line)
{
	size_t len = strcspn(line, "{ ");
	for (size_t i = 0; i < metrics_family_count(); i++) {
		const struct metrics_family *f = metrics_family(i);
		size_t n = strlen(f->name);
		if (len == n && !strncmp(line, f->name, n))
			return f;
		if (f->type != METRICS_HISTOGRAM || len <= n || strncmp(line, f->name, n))
			continue;
		const char *suffix = line + n;
		size_t sl = len - n;
		if ((sl == 7 && !strncmp(suffix, "_bucket", 7)) ||
		    (sl == 4 && !strncmp(suffix, "_sum", 4)) ||
		    (sl == 6 && !strncmp(suffix, "_count", 6)))
			return f;
	}
	return NULL;
}

/* Renders into a malloc'd string (process_* may grow a little between two renders). */
static char *render(void)
{
	size_t size = (size_t)metrics_render(NULL, 0) + 4096;
	char *buf = malloc(size);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_lt((size_t)metrics_render(buf, size), size);
	return buf;
}

START_TEST(render_writes_every_counter_in_prometheus_text)
{
	metrics_add(consumed_content, 3);
	metrics_add(consumed_decisions, 5);
	metrics_deadletter(METRICS_DL_INVALID);
	metrics_deadletter(METRICS_DL__COUNT); /* out of range: ignored */
	metrics_set(inflight, -2);

	char *buf = render();
	ck_assert_ptr_nonnull(strstr(buf, "arbiter_consumed_total{topic=\"content\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(buf, "arbiter_consumed_total{topic=\"decisions\"} 5\n"));
	ck_assert_ptr_nonnull(strstr(buf, "arbiter_deadletters_total{reason=\"invalid\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(buf, "arbiter_deadletters_total{reason=\"undecodable\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(buf, "arbiter_inflight_messages -2\n"));
	ck_assert_ptr_nonnull(strstr(buf, "arbiter_ready 0\n"));
	ck_assert_ptr_nonnull(strstr(buf, "arbiter_draining 0\n"));
	ck_assert_ptr_nonnull(
		strstr(buf, "arbiter_build_info{version=\"" ARBITER_VERSION "\"} 1\n"));
	/* Redis is not used: no arbiter_redis_up sample that would read as an outage. */
	ck_assert_ptr_null(strstr(buf, "\narbiter_redis_up "));
	metrics_set(redis_used, true);
	free(buf);
	buf = render();
	ck_assert_ptr_nonnull(strstr(buf, "\narbiter_redis_up 0\n"));
	/* One header per family, even when it has several labelled samples. */
	ck_assert_uint_eq(count_occurrences(buf, "# HELP arbiter_consumed_total "), 1);
	ck_assert_uint_eq(count_occurrences(buf, "# TYPE arbiter_consumed_total counter\n"), 1);
	ck_assert_ptr_nonnull(strstr(buf, "# TYPE arbiter_inflight_messages gauge\n"));

	/* Every line: a HELP or TYPE header of a catalogued family, or a sample of one. */
	char *save = NULL;
	size_t samples = 0, helps = 0, types = 0;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "# HELP ", 7) == 0) {
			ck_assert_ptr_nonnull(family_of_sample(line + 7));
			helps++;
		} else if (strncmp(line, "# TYPE ", 7) == 0) {
			const struct metrics_family *f = family_of_sample(line + 7);
			ck_assert_ptr_nonnull(f);
			ck_assert_str_eq(line + 7 + strlen(f->name) + 1,
					 metrics_type_name(f->type));
			types++;
		} else {
			ck_assert_msg(family_of_sample(line) != NULL, "bad line: %s", line);
			ck_assert_ptr_nonnull(strchr(line, ' '));
			samples++;
		}
	}
	ck_assert_uint_eq(helps, metrics_family_count());
	ck_assert_uint_eq(types, metrics_family_count());
	ck_assert_uint_ge(samples, metrics_family_count() / 2);
	free(buf);
}
END_TEST

/* The catalogue is what the docs are made of: names unique and well-formed, one line of
 * help each, labels named. */
START_TEST(catalogue_is_well_formed)
{
	ck_assert_uint_ge(metrics_family_count(), 40);
	ck_assert_ptr_null(metrics_family(metrics_family_count()));
	for (size_t i = 0; i < metrics_family_count(); i++) {
		const struct metrics_family *f = metrics_family(i);
		ck_assert_msg(strspn(f->name, "abcdefghijklmnopqrstuvwxyz_") == strlen(f->name),
			      "%s", f->name);
		ck_assert(!strncmp(f->name, "arbiter_", 8) || !strncmp(f->name, "process_", 8));
		size_t len = strlen(f->name);
		bool total = len > 6 && !strcmp(f->name + len - 6, "_total");
		ck_assert_msg(total == (f->type == METRICS_COUNTER), "%s", f->name);
		ck_assert_msg(f->help[0] && !strchr(f->help, '\n') && !strchr(f->help, '|'), "%s",
			      f->name);
		ck_assert_msg(strspn(f->labels, "abcdefghijklmnopqrstuvwxyz_, ") ==
				      strlen(f->labels),
			      "%s", f->name);
		for (size_t j = 0; j < i; j++)
			ck_assert_str_ne(metrics_family(j)->name, f->name);
	}
}
END_TEST

START_TEST(histograms_are_cumulative)
{
	metrics_hist_observe(METRICS_H_RULE_EVAL,
			     0.000001); /* on the first bound: le is inclusive */
	metrics_hist_observe(METRICS_H_RULE_EVAL, 0.00004); /* 5e-5 */
	metrics_hist_observe(METRICS_H_RULE_EVAL, 5.0);     /* past the last bound */
	metrics_hist_observe(METRICS_H_RULE_EVAL, -1.0);    /* a clock step: counted as 0 */
	metrics_hist_action(METRICS_H_ACTION_RULES, 1000, 3500);
	metrics_hist_action(METRICS_H_ACTION_RULES, 0, 3500); /* unknown creation: nothing */
	char *buf = render();
	const char *want[] = {
		"arbiter_rule_eval_duration_seconds_bucket{le=\"1e-06\"} 2\n",
		"arbiter_rule_eval_duration_seconds_bucket{le=\"2.5e-05\"} 2\n",
		"arbiter_rule_eval_duration_seconds_bucket{le=\"5e-05\"} 3\n",
		"arbiter_rule_eval_duration_seconds_bucket{le=\"0.1\"} 3\n",
		"arbiter_rule_eval_duration_seconds_bucket{le=\"+Inf\"} 4\n",
		"arbiter_rule_eval_duration_seconds_count 4\n",
		"arbiter_rule_eval_duration_seconds_sum 5.000041\n",
		"arbiter_action_latency_seconds_bucket{source=\"rules\",le=\"1\"} 0\n",
		"arbiter_action_latency_seconds_bucket{source=\"rules\",le=\"2.5\"} 1\n",
		"arbiter_action_latency_seconds_sum{source=\"rules\"} 2.5\n",
		"arbiter_action_latency_seconds_count{source=\"rules\"} 1\n",
		"arbiter_action_latency_seconds_count{source=\"decisions\"} 0\n",
		"arbiter_message_duration_seconds_count{topic=\"content\"} 0\n",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ck_assert_msg(strstr(buf, want[i]), "missing %s", want[i]);
	free(buf);
}
END_TEST

static const char *const two_rules = "rules:\n"
				     "  - id: keep.me\n"
				     "    when: signal.hate >= 0.5\n"
				     "    action: label\n"
				     "  - id: gone\n"
				     "    when: signal.hate >= 0.8\n"
				     "    action: remove\n"
				     "  - id: quiet\n"
				     "    shadow: true\n"
				     "    when: signal.hate >= 0.1\n";

/* Per-rule series follow the running ruleset: counts survive a reload for the rules kept by
 * id, a removed rule stops being exported, a new one starts at 0. */
START_TEST(rule_series_follow_the_ruleset)
{
	struct loaded L;
	load_ok(&L, two_rules, NULL);
	metrics_rules_set(L.rs);
	metrics_rules_verdict(eval(&L, "{'signals':{'hate':0.9}}"));
	metrics_rules_verdict(eval(&L, "{'signals':{'hate':0.6}}"));
	metrics_rules_verdict(eval(&L, "{'signals':{'hate':0.2}}"));
	char *buf = render();
	const char *want[] = {
		"arbiter_rule_hits_total{rule=\"keep.me\"} 2\n",
		"arbiter_rule_hits_total{rule=\"gone\"} 1\n",
		"arbiter_rule_actions_total{rule=\"keep.me\"} 1\n",
		"arbiter_rule_actions_total{rule=\"gone\"} 1\n",
		"arbiter_rule_shadow_hits_total{rule=\"quiet\"} 3\n",
		"arbiter_rule_hits_total{rule=\"quiet\"} 0\n",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ck_assert_msg(strstr(buf, want[i]), "missing %s", want[i]);
	char info[128];
	snprintf(info, sizeof(info), "arbiter_ruleset_info{version=\"%s\"} 1\n",
		 rules_version(L.rs));
	ck_assert_ptr_nonnull(strstr(buf, info));
	ck_assert_ptr_nonnull(strstr(buf, "\narbiter_ruleset_loaded_timestamp_seconds 1"));
	free(buf);

	struct loaded R;
	load_ok(&R,
		"rules:\n"
		"  - id: keep.me\n"
		"    when: signal.hate >= 0.3\n"
		"    action: label\n"
		"  - id: fresh\n"
		"    when: signal.hate >= 0.3\n"
		"    action: demote\n",
		NULL);
	metrics_rules_set(R.rs);
	teardown(&L); /* the series hold their own copies */
	metrics_rules_verdict(eval(&R, "{'signals':{'hate':0.4}}"));
	buf = render();
	ck_assert_ptr_nonnull(strstr(buf, "arbiter_rule_hits_total{rule=\"keep.me\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(buf, "arbiter_rule_hits_total{rule=\"fresh\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(buf, "arbiter_rule_actions_total{rule=\"fresh\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(buf, "arbiter_rule_actions_total{rule=\"keep.me\"} 1\n"));
	ck_assert_ptr_null(strstr(buf, "rule=\"gone\""));
	ck_assert_ptr_null(strstr(buf, "rule=\"quiet\""));
	ck_assert_ptr_null(strstr(buf, info));
	free(buf);
	teardown(&R);
}
END_TEST

START_TEST(attr_type_errors_are_summed)
{
	uint32_t matched[] = {0};
	struct rules_verdict v = {
		.matched = matched, .n_matched = 1, .action_rule = 7, .attr_type_errors = 3};
	metrics_rules_verdict(&v); /* no ruleset: indexes are ignored, errors counted */
	metrics_rules_verdict(&v);
	char *buf = render();
	ck_assert_ptr_nonnull(strstr(buf, "\narbiter_rule_attr_type_errors_total 6\n"));
	ck_assert_ptr_null(strstr(buf, "arbiter_rule_hits_total{"));
	free(buf);
}
END_TEST

static struct config *queues_config(const char *queues)
{
	char text[1024];
	snprintf(text, sizeof(text), "review:\n  queues:\n%s", queues);
	char *path = unit_write_file(NULL, NULL, text);
	struct config *cfg = load_config(path);
	unit_remove_file(path);
	return cfg;
}

START_TEST(queue_gauges_follow_the_config)
{
	struct config *cfg = queues_config("    alpha: {}\n    beta: {}\n");
	metrics_review_configure(cfg);
	struct queues_stats st = {.overdue = 4};
	st.bands[CONFIG_BAND_URGENT] = (struct queues_band_stats){5, 3, 2, 1500};
	st.bands[CONFIG_BAND_LOW] = (struct queues_band_stats){0, 0, 0, -1};
	metrics_review_update("alpha", &st);
	metrics_review_update("not-declared", &st);
	char *buf = render();
	const char *want[] = {
		"arbiter_review_queue_entries{queue=\"alpha\",band=\"urgent\"} 5\n",
		"arbiter_review_queue_waiting{queue=\"alpha\",band=\"urgent\"} 3\n",
		"arbiter_review_queue_claimed{queue=\"alpha\",band=\"urgent\"} 2\n",
		"arbiter_review_queue_oldest_age_seconds{queue=\"alpha\",band=\"urgent\"} 1.5\n",
		"arbiter_review_queue_oldest_age_seconds{queue=\"alpha\",band=\"low\"} 0\n",
		"arbiter_review_queue_overdue{queue=\"alpha\"} 4\n",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ck_assert_msg(strstr(buf, want[i]), "missing %s", want[i]);
	/* Not read yet, or not declared: not exported. */
	ck_assert_ptr_null(strstr(buf, "queue=\"beta\""));
	ck_assert_ptr_null(strstr(buf, "not-declared"));
	free(buf);

	struct config *next = queues_config("    beta: {}\n");
	metrics_review_configure(next);
	config_free(cfg);
	metrics_review_update("beta", &st);
	buf = render();
	ck_assert_ptr_null(strstr(buf, "queue=\"alpha\""));
	ck_assert_ptr_nonnull(strstr(buf, "arbiter_review_queue_overdue{queue=\"beta\"} 4\n"));
	free(buf);
	config_free(next);
}
END_TEST

/* librdkafka's statistics, cut down to what is read, with the shapes 2.0 writes. */
static const char stats_json[] =
	"{\"name\":\"c\",\"type\":\"consumer\",\"brokers\":{"
	"\"127.0.0.1:9092/1\":{\"source\":\"configured\",\"state\":\"UP\",\"nodeid\":1},"
	"\"b2:9092/2\":{\"source\":\"learned\",\"state\":\"UP\",\"nodeid\":2},"
	"\"b3:9092/3\":{\"source\":\"learned\",\"state\":\"DOWN\",\"nodeid\":3},"
	"\"b1:9092/1\":{\"source\":\"learned\",\"state\":\"UP\",\"nodeid\":1},"
	"\"GroupCoordinator\":{\"source\":\"logical\",\"state\":\"UP\",\"nodeid\":1},"
	"\":0/internal\":{\"source\":\"internal\",\"state\":\"UP\",\"nodeid\":-1}},"
	"\"topics\":{\"in\":{\"partitions\":{"
	"\"0\":{\"partition\":0,\"committed_offset\":90,\"hi_offset\":100,\"lo_offset\":0,"
	"\"ls_offset\":95},"
	"\"1\":{\"partition\":1,\"committed_offset\":-1001,\"hi_offset\":40,\"lo_offset\":10,"
	"\"ls_offset\":-1001},"
	"\"2\":{\"partition\":2,\"committed_offset\":5,\"hi_offset\":-1001,\"lo_offset\":-1001},"
	"\"3\":{\"partition\":3,\"unknown\":true},"
	"\"-1\":{\"partition\":-1}}},"
	"\"dec\":{\"partitions\":{\"0\":{\"partition\":0},\"1\":{\"partition\":1}}}}}";

START_TEST(kafka_statistics_become_lag_and_brokers)
{
	static const char *const inputs[] = {"in", "dec"};
	metrics_kafka_partition("in", 0, true);
	metrics_kafka_partition("in", 1, true);
	metrics_kafka_partition("in", 2, true);
	metrics_kafka_partition("in", 9, true);
	metrics_kafka_partition("in", 9, false);
	metrics_kafka_stats(stats_json, strlen(stats_json), inputs, 2);
	char *buf = render();
	const char *want[] = {
		/* last stable offset 95 minus committed 90 */
		"arbiter_consumer_lag{topic=\"in\",partition=\"0\"} 5\n",
		/* nothing committed: from the low watermark */
		"arbiter_consumer_lag{topic=\"in\",partition=\"1\"} 30\n",
		"arbiter_group_lag 35\n",
		"arbiter_input_partitions{topic=\"in\"} 3\n",
		"arbiter_input_partitions{topic=\"dec\"} 2\n",
		"arbiter_kafka_brokers_connected 2\n",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ck_assert_msg(strstr(buf, want[i]), "missing %s", want[i]);
	/* The end unknown: no sample rather than a made-up one; revoked: gone. */
	ck_assert_ptr_null(strstr(buf, "partition=\"2\""));
	ck_assert_ptr_null(strstr(buf, "partition=\"9\""));
	free(buf);
	ck_assert(!metrics.brokers_down);

	metrics_kafka_partition("in", 0, false);
	static const char garbage[] = "{\"brokers\": [1, 2";
	metrics_kafka_stats(garbage, strlen(garbage), inputs, 2);
	metrics_kafka_stats("[]", 2, inputs, 2);
	buf = render();
	ck_assert_ptr_null(strstr(buf, "partition=\"0\""));
	ck_assert_ptr_nonnull(strstr(buf, "arbiter_group_lag 30\n"));
	free(buf);

	static const char down[] =
		"{\"brokers\":{\"b1:9092/1\":{\"source\":\"learned\",\"state\":\"CONNECT\","
		"\"nodeid\":1}},\"topics\":{}}";
	metrics_kafka_stats(down, strlen(down), inputs, 2);
	ck_assert(metrics.brokers_down);
	ck_assert_str_eq(metrics_not_ready(metrics_mono_ms()), "Kafka brokers unreachable");
}
END_TEST

START_TEST(readiness_says_why)
{
	int64_t now = metrics_mono_ms();
	ck_assert_str_eq(metrics_not_ready(now),
			 "no partition assignment from the consumer group yet");
	metrics_group_assigned(true);
	ck_assert_ptr_null(metrics_not_ready(now));
	/* A rebalance takes the assignment away for a while: still ready... */
	metrics_group_assigned(false);
	ck_assert_ptr_null(metrics_not_ready(metrics_mono_ms()));
	/* ...until it has lasted too long. */
	ck_assert_str_eq(metrics_not_ready(metrics_mono_ms() + METRICS_REBALANCE_GRACE_MS),
			 "no partition assignment from the consumer group");
	metrics_group_assigned(true);
	metrics_set(redis_used, true);
	ck_assert_str_eq(metrics_not_ready(now), "Redis unreachable");
	metrics_set(redis_up, true);
	ck_assert_ptr_null(metrics_not_ready(now));
	metrics_kafka_brokers_down();
	ck_assert_str_eq(metrics_not_ready(now), "Kafka brokers unreachable");
	/* An assignment proves the brokers answer. */
	metrics_group_assigned(true);
	ck_assert_ptr_null(metrics_not_ready(now));
	metrics_set(draining, true);
	ck_assert_str_eq(metrics_not_ready(now), "draining");
}
END_TEST

START_TEST(liveness_watches_the_heartbeat)
{
	ck_assert(metrics_live(metrics_mono_ms())); /* no loop watched */
	metrics_heartbeat();
	int64_t now = metrics_mono_ms();
	ck_assert(metrics_live(now));
	ck_assert(metrics_live(now + METRICS_LIVE_MAX_MS));
	ck_assert(!metrics_live(now + METRICS_LIVE_MAX_MS + 1000));
}
END_TEST

/* The loop's timer beats the heart, records the start time, and is closed with the loop. */
START_TEST(loop_heartbeat_runs_on_the_loop)
{
	uv_loop_t loop;
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	ck_assert_int_eq(metrics_loop_start(&loop), 0);
	int64_t first = metrics.heartbeat_ms;
	ck_assert_int_gt(first, 0);
	ck_assert(metrics.start_time > 1.6e9);
	/* The heartbeat alone does not keep the loop running. */
	ck_assert_int_eq(uv_run(&loop, UV_RUN_NOWAIT), 0);
	char *buf = render();
	ck_assert_ptr_nonnull(strstr(buf, "\nprocess_start_time_seconds 1"));
	ck_assert_ptr_nonnull(strstr(buf, "\nprocess_resident_memory_bytes "));
	ck_assert_ptr_nonnull(strstr(buf, "\nprocess_open_fds "));
	ck_assert_ptr_nonnull(strstr(buf, "\nprocess_cpu_seconds_total "));
	free(buf);
	metrics_loop_stop();
	ck_assert_int_eq(metrics.heartbeat_ms, 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

/* process_* (CPU time, descriptors) may take a digit more or less between two renders: the
 * lengths are compared with that slack. */
START_TEST(render_truncates_like_snprintf)
{
	int need = metrics_render(NULL, 0);
	ck_assert_int_gt(need, 100);

	char small[32];
	memset(small, 'x', sizeof(small));
	int got = metrics_render(small, sizeof(small));
	ck_assert_int_lt(abs(got - need), 32);
	ck_assert_uint_eq(strlen(small), sizeof(small) - 1);

	size_t size = (size_t)need + 64;
	char *whole = malloc(size);
	ck_assert_ptr_nonnull(whole);
	got = metrics_render(whole, size);
	ck_assert_int_lt(got, (int)size);
	ck_assert_uint_eq(strlen(whole), (size_t)got);
	ck_assert_int_eq(strncmp(whole, small, sizeof(small) - 1), 0);
	free(whole);
}
END_TEST

/* ?name= renders the named families alone, whole: a family's HELP, TYPE and every sample
 * of it, nothing of any other; an unknown name renders nothing. */
START_TEST(render_only_the_named_families)
{
	metrics_add(consumed_content, 7);
	metrics_inc(commits);
	char buf[4096];
	int len = metrics_render_only(buf, sizeof(buf),
				      "arbiter_consumed_total,arbiter_commits_total");
	ck_assert_int_lt(len, (int)sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, "# TYPE arbiter_consumed_total counter\n"));
	ck_assert_ptr_nonnull(strstr(buf, "arbiter_consumed_total{topic=\"content\"} 7\n"));
	ck_assert_ptr_nonnull(strstr(buf, "arbiter_consumed_total{topic=\"decisions\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(buf, "arbiter_commits_total 1\n"));
	ck_assert_ptr_null(strstr(buf, "arbiter_produced_total"));
	ck_assert_int_eq(len, (int)strlen(buf));
	ck_assert_int_eq(metrics_render_only(buf, sizeof(buf), "arbiter_consumed"), 0);
	ck_assert_str_eq(buf, "");
	/* A prefix of a name is not the name. */
	ck_assert_int_eq(metrics_render_only(buf, sizeof(buf), "arbiter_commits_total_x,"), 0);
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
	char body[262144];
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
	metrics_group_assigned(true);
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

	/* /healthz is /readyz, kept for what probes it already. */
	static const char *const ready_paths[] = {"/readyz", "/healthz"};
	for (int i = 0; i < 2; i++) {
		metrics_reset();
		http_request(port, "GET", ready_paths[i], &r);
		ck_assert_int_eq(r.status, 503);
		ck_assert_str_eq(
			r.body, "not ready: no partition assignment from the consumer group yet\n");

		metrics_group_assigned(true);
		http_request(port, "GET", ready_paths[i], &r);
		ck_assert_int_eq(r.status, 200);
		ck_assert_str_eq(r.body, "ok\n");

		metrics_set(redis_used, true);
		http_request(port, "GET", ready_paths[i], &r);
		ck_assert_int_eq(r.status, 503);
		ck_assert_str_eq(r.body, "not ready: Redis unreachable\n");
		metrics_set(redis_up, true);

		metrics_kafka_brokers_down();
		http_request(port, "GET", ready_paths[i], &r);
		ck_assert_int_eq(r.status, 503);
		ck_assert_str_eq(r.body, "not ready: Kafka brokers unreachable\n");
		metrics_group_assigned(true);

		metrics_set(draining, true);
		http_request(port, "GET", ready_paths[i], &r);
		ck_assert_int_eq(r.status, 503);
		ck_assert_str_eq(r.body, "draining\n");
	}

	/* Liveness is the loop's heartbeat, whatever readiness says. */
	http_request(port, "GET", "/livez", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "ok\n");
	metrics_set(heartbeat_ms, (int_fast64_t)(metrics_mono_ms() - METRICS_LIVE_MAX_MS - 5000));
	http_request(port, "GET", "/livez", &r);
	ck_assert_int_eq(r.status, 503);
	ck_assert_str_eq(r.body, "not live: the event loop is stuck\n");
	metrics_heartbeat();
	http_request(port, "GET", "/livez", &r);
	ck_assert_int_eq(r.status, 200);

	http_request(port, "GET", "/nope", &r);
	ck_assert_int_eq(r.status, 404);

	http_request(port, "POST", "/metrics", &r);
	ck_assert_int_eq(r.status, 405);
	ck_assert_ptr_nonnull(strstr(r.head, "Allow: GET"));

	metrics_server_stop(srv);
}
END_TEST

/* A ruleset of hundreds of rules makes /metrics far larger than a first guess: served whole. */
START_TEST(serves_a_large_scrape_whole)
{
	size_t cap = 600 * 96 + 16, len = 0;
	char *text = malloc(cap);
	ck_assert_ptr_nonnull(text);
	len += (size_t)snprintf(text + len, cap - len, "rules:\n");
	for (int i = 0; i < 600; i++)
		len += (size_t)snprintf(text + len, cap - len,
					"  - id: rule.number.%04d\n    when: reach > %d\n"
					"    action: label\n",
					i, i);
	struct loaded L;
	load_ok(&L, text, NULL);
	free(text);
	metrics_rules_set(L.rs);

	int port = free_port();
	char listen[32];
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	struct metrics_server *srv = NULL;
	ck_assert_int_eq(metrics_server_start(listen, &srv), 0);
	static struct http_reply r;
	http_request(port, "GET", "/metrics", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_uint_gt(strlen(r.body), 65536);
	ck_assert_ptr_nonnull(
		strstr(r.body, "arbiter_rule_shadow_hits_total{rule=\"rule.number.0599\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(r.body, "\nprocess_max_fds "));
	metrics_server_stop(srv);
	metrics_rules_set(NULL);
	teardown(&L);
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
	tcase_add_test(tc, catalogue_is_well_formed);
	tcase_add_test(tc, histograms_are_cumulative);
	tcase_add_test(tc, rule_series_follow_the_ruleset);
	tcase_add_test(tc, attr_type_errors_are_summed);
	tcase_add_test(tc, queue_gauges_follow_the_config);
	tcase_add_test(tc, kafka_statistics_become_lag_and_brokers);
	suite_add_tcase(s, tc);

	tc = tcase_create("health");
	tcase_add_checked_fixture(tc, reset_metrics, NULL);
	tcase_add_test(tc, readiness_says_why);
	tcase_add_test(tc, liveness_watches_the_heartbeat);
	tcase_add_test(tc, loop_heartbeat_runs_on_the_loop);
	suite_add_tcase(s, tc);

	tc = tcase_create("server");
	tcase_add_checked_fixture(tc, reset_metrics, NULL);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, stop_null_is_a_noop);
#if ARBITER_WITH_METRICS
	tcase_add_test(tc, serves_metrics_health_and_errors);
	tcase_add_test(tc, serves_a_large_scrape_whole);
	tcase_add_test(tc, slow_clients_do_not_starve_probes);
	tcase_add_test(tc, reports_address_in_use);
	tcase_add_test(tc, render_only_the_named_families);
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
