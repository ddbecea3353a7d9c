/* Unit tests for the YAML config loader (config.c): defaults, every key, every kind of mistake. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf, open_memstream */
#endif
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "unit.h"

#ifndef TEST_CONFIGDIR
#error "meson defines TEST_CONFIGDIR, the source tree's config/ directory"
#endif

/* Loads TEXT, expects it rejected with exactly one error, and checks it. */
static void expect_one_error(const char *text, int line, int col, const char *key, const char *msg)
{
	char *path = unit_write_file(NULL, NULL, text);
	struct diag_list errs = {0};
	struct config *cfg = (struct config *)&errs; /* must be reset to NULL */
	ck_assert_int_eq(config_load(path, &cfg, &errs), -EINVAL);
	ck_assert_ptr_null(cfg);
	if (errs.n != 1)
		diag_print(&errs, stderr);
	ck_assert_uint_eq(errs.n, 1);
	unit_check_error(&errs, 0, path, line, col, key, msg);
	diag_clear(&errs);
	unit_remove_file(path);
}

/* Loads TEXT and expects no error. Free the result with config_free(). */
static struct config *expect_ok(const char *text)
{
	char *path = unit_write_file(NULL, NULL, text);
	struct diag_list errs = {0};
	struct config *cfg = NULL;
	int rc = config_load(path, &cfg, &errs);
	if (errs.n)
		diag_print(&errs, stderr);
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(errs.n, 0);
	ck_assert_ptr_nonnull(cfg);
	diag_clear(&errs);
	unit_remove_file(path);
	return cfg;
}

/* The documented defaults, as set by config_default(); the rule files are
 * checked by the caller (the sample config ships some). */
static void check_defaults(const struct config *c)
{
	ck_assert_str_eq(c->kafka.brokers, "mock");
	ck_assert_int_eq(c->kafka.mock_brokers, 1);
	ck_assert_int_eq(c->kafka.mock_partitions, 4);
	ck_assert_str_eq(c->kafka.group_id, "arbiter");
	ck_assert_str_eq(c->kafka.client_id, "arbiterd");
	ck_assert_uint_eq(c->kafka.n_properties, 0);
	ck_assert_str_eq(c->kafka.topics.content.name, "content.events");
	ck_assert_int_eq(c->kafka.topics.content.format, CONFIG_FORMAT_PROTOBUF);
	ck_assert_str_eq(c->kafka.topics.decisions.name, "moderation.decisions");
	ck_assert_int_eq(c->kafka.topics.decisions.format, CONFIG_FORMAT_PROTOBUF);
	ck_assert_str_eq(c->kafka.topics.escalations.name, "moderation.escalations");
	ck_assert_str_eq(c->kafka.topics.audit.name, "moderation.audit");
	ck_assert_str_eq(c->kafka.topics.appeals.name, "moderation.appeals");
	ck_assert_str_eq(c->kafka.topics.deadletter.name, "arbiter.deadletter");
	ck_assert_str_eq(c->redis.address, "127.0.0.1:6379");
	ck_assert_ptr_null(c->redis.username);
	ck_assert_ptr_null(c->redis.password);
	ck_assert_int_eq(c->redis.db, 0);
	ck_assert_uint_eq(c->redis.connect_timeout_ms, 2000);
	ck_assert_uint_eq(c->redis.command_timeout_ms, 5000);
	ck_assert_str_eq(c->redis.prefix, "arbiter:");
	ck_assert_uint_eq(c->redis.n_sentinels, 0);
	ck_assert_ptr_null(c->redis.master_name);
	ck_assert_ptr_null(c->redis.sentinel_password);
	ck_assert_int_eq(c->redis.wait_replicas, 0);
	ck_assert_uint_eq(c->rules.n_modes, 0);
	ck_assert_uint_eq(c->pipeline.max_inflight, 10000);
	ck_assert_uint_eq(c->pipeline.commit_interval_ms, 1000);
	ck_assert_uint_eq(c->pipeline.drain_timeout_ms, 10000);
	ck_assert_uint_eq(c->pipeline.deadletter_max_bytes, 65536);
	ck_assert_uint_eq(c->pipeline.poll_batch, 1000);
	ck_assert_int_eq(c->log.level, LOG_INFO);
	ck_assert_str_eq(c->metrics.listen, "127.0.0.1:9464");
	ck_assert_uint_eq(c->review.dedupe_ttl_ms, 7u * 24 * 3600 * 1000);
	ck_assert_uint_eq(c->review.lease_ms, 15 * 60 * 1000);
	ck_assert_uint_eq(c->review.sweep_interval_ms, 10000);
	ck_assert(!c->monitors.per_country_topics);
	ck_assert(!c->monitors.include_excerpt);
	ck_assert_uint_eq(c->monitors.excerpt_max_bytes, 280);
	ck_assert_ptr_null(c->monitors.pseudonym_key);
}

START_TEST(defaults_without_a_file)
{
	struct config *c = config_default(NULL);
	ck_assert_ptr_nonnull(c);
	check_defaults(c);
	ck_assert_ptr_null(c->path);
	ck_assert_str_eq(c->dir, ".");
	config_free(c);

	c = config_default("/etc/arbiter/arbiter.yaml");
	ck_assert_ptr_nonnull(c);
	check_defaults(c);
	ck_assert_str_eq(c->path, "/etc/arbiter/arbiter.yaml");
	ck_assert_str_eq(c->dir, "/etc/arbiter");
	config_free(c);

	c = config_default("arbiter.yaml");
	ck_assert_str_eq(c->dir, ".");
	config_free(c);
}
END_TEST

START_TEST(empty_file_and_empty_sections_give_defaults)
{
	struct config *c = expect_ok("");
	check_defaults(c);
	config_free(c);

	c = expect_ok("# nothing but a comment\n---\n");
	check_defaults(c);
	config_free(c);

	c = expect_ok("kafka:\nredis: {}\nrules:\n  files: []\nmetrics:\n");
	check_defaults(c);
	config_free(c);
}
END_TEST

START_TEST(missing_file_is_one_error_without_position)
{
	struct diag_list errs = {0};
	struct config *cfg = NULL;
	char *path = NULL;
	ck_assert_int_ge(asprintf(&path, "%s/no-such-file.yaml", unit_tmpdir()), 0);
	ck_assert_int_eq(config_load(path, &cfg, &errs), -ENOENT);
	ck_assert_ptr_null(cfg);
	ck_assert_uint_eq(errs.n, 1);
	unit_check_error(&errs, 0, path, 0, 0, NULL, "No such file or directory");
	diag_clear(&errs);
	free(path);
}
END_TEST

START_TEST(every_key_loads_into_the_struct)
{
	char *dir = unit_make_dir();
	char *pw = unit_write_file(dir, "redis.pw", "s3cret\n");
	char *path = unit_write_file(dir, "arbiter.yaml",
				     "kafka:\n"
				     "  brokers: mock:3\n"
				     "  mock_partitions: 16\n"
				     "  group_id: grp\n"
				     "  client_id: cli\n"
				     "  properties:\n"
				     "    linger.ms: 20\n"
				     "    compression.type: lz4\n"
				     "    sasl.username: user\n"
				     "  topics:\n"
				     "    content: {name: c.in, format: json}\n"
				     "    decisions:\n"
				     "      name: d.in\n"
				     "      format: json\n"
				     "    escalations: e.out\n"
				     "    audit: {name: a.out}\n"
				     "    appeals: p.out\n"
				     "    deadletter: dl.out\n"
				     "redis:\n"
				     "  address: /run/redis/redis.sock\n"
				     "  username: alice\n"
				     "  password: {file: redis.pw}\n"
				     "  db: 7\n"
				     "  connect_timeout: 250ms\n"
				     "  command_timeout: 2m\n"
				     "  prefix: \"t:\"\n"
				     "rules:\n"
				     "  files:\n"
				     "    - /abs/b.yaml\n"
				     "pipeline:\n"
				     "  max_inflight: 500\n"
				     "  commit_interval: 200\n"
				     "  drain_timeout: 3m\n"
				     "  deadletter_max_bytes: 0\n"
				     "  poll_batch: 64\n"
				     "log:\n"
				     "  level: debug\n"
				     "metrics:\n"
				     "  listen: \"*:9100\"\n");
	struct diag_list errs = {0};
	struct config *c = NULL;
	int rc = config_load(path, &c, &errs);
	diag_print(&errs, stderr);
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(errs.n, 0);

	ck_assert_str_eq(c->path, path);
	ck_assert_str_eq(c->dir, dir);
	ck_assert_str_eq(c->kafka.brokers, "mock:3");
	ck_assert_int_eq(c->kafka.mock_brokers, 3);
	ck_assert_int_eq(c->kafka.mock_partitions, 16);
	ck_assert_str_eq(c->kafka.group_id, "grp");
	ck_assert_str_eq(c->kafka.client_id, "cli");
	ck_assert_uint_eq(c->kafka.n_properties, 3);
	ck_assert_str_eq(c->kafka.properties[0].key, "linger.ms");
	ck_assert_str_eq(c->kafka.properties[0].value, "20");
	ck_assert_str_eq(c->kafka.properties[1].key, "compression.type");
	ck_assert_str_eq(c->kafka.properties[1].value, "lz4");
	ck_assert_str_eq(c->kafka.properties[2].key, "sasl.username");
	ck_assert_str_eq(c->kafka.properties[2].value, "user");
	ck_assert_str_eq(c->kafka.topics.content.name, "c.in");
	ck_assert_int_eq(c->kafka.topics.content.format, CONFIG_FORMAT_JSON);
	ck_assert_str_eq(c->kafka.topics.decisions.name, "d.in");
	ck_assert_int_eq(c->kafka.topics.decisions.format, CONFIG_FORMAT_JSON);
	ck_assert_str_eq(c->kafka.topics.escalations.name, "e.out");
	ck_assert_str_eq(c->kafka.topics.audit.name, "a.out");
	ck_assert_str_eq(c->kafka.topics.appeals.name, "p.out");
	ck_assert_str_eq(c->kafka.topics.deadletter.name, "dl.out");
	ck_assert_str_eq(c->redis.address, "/run/redis/redis.sock");
	ck_assert_str_eq(c->redis.username, "alice");
	ck_assert_str_eq(c->redis.password, "s3cret");
	ck_assert_int_eq(c->redis.db, 7);
	ck_assert_uint_eq(c->redis.connect_timeout_ms, 250);
	ck_assert_uint_eq(c->redis.command_timeout_ms, 120000);
	ck_assert_str_eq(c->redis.prefix, "t:");
	ck_assert_uint_eq(c->rules.n_files, 1);
	ck_assert_str_eq(c->rules.files[0], "/abs/b.yaml");
	ck_assert_uint_eq(c->pipeline.max_inflight, 500);
	ck_assert_uint_eq(c->pipeline.commit_interval_ms, 200);
	ck_assert_uint_eq(c->pipeline.drain_timeout_ms, 180000);
	ck_assert_uint_eq(c->pipeline.deadletter_max_bytes, 0);
	ck_assert_uint_eq(c->pipeline.poll_batch, 64);
	ck_assert_int_eq(c->log.level, LOG_DEBUG);
	ck_assert_str_eq(c->metrics.listen, "*:9100");

	config_free(c);
	diag_clear(&errs);
	unit_remove_file(path);
	unit_remove_file(pw);
	ck_assert_int_eq(rmdir(dir), 0);
	free(dir);
}
END_TEST

START_TEST(properties_read_secret_files_relative_to_the_config)
{
	char *dir = unit_make_dir();
	char *secret = unit_write_file(dir, "kafka.pw", "p4ss word\r\n\n");
	char *path = unit_write_file(dir, "arbiter.yaml",
				     "kafka:\n"
				     "  brokers: kafka-1:9092,kafka-2:9092\n"
				     "  properties:\n"
				     "    security.protocol: SASL_SSL\n"
				     "    sasl.password: {file: kafka.pw}\n"
				     "    socket.timeout.ms: 60000\n");
	struct diag_list errs = {0};
	struct config *c = NULL;
	ck_assert_int_eq(config_load(path, &c, &errs), 0);
	ck_assert_int_eq(c->kafka.mock_brokers, 0);
	ck_assert_str_eq(c->kafka.brokers, "kafka-1:9092,kafka-2:9092");
	ck_assert_uint_eq(c->kafka.n_properties, 3);
	ck_assert_str_eq(c->kafka.properties[0].key, "security.protocol");
	ck_assert_str_eq(c->kafka.properties[0].value, "SASL_SSL");
	ck_assert_str_eq(c->kafka.properties[1].key, "sasl.password");
	ck_assert_str_eq(c->kafka.properties[1].value, "p4ss word");
	ck_assert_str_eq(c->kafka.properties[2].key, "socket.timeout.ms");
	ck_assert_str_eq(c->kafka.properties[2].value, "60000");
	config_free(c);

	/* An empty secret file is a deployment mistake, not an empty password. */
	char *empty = unit_write_file(dir, "empty.pw", "\n");
	char *bad = unit_write_file(dir, "bad.yaml",
				    "kafka:\n"
				    "  properties:\n"
				    "    sasl.password: {file: empty.pw}\n");
	ck_assert_int_eq(config_load(bad, &c, &errs), -EINVAL);
	ck_assert_uint_eq(errs.n, 1);
	unit_check_error(&errs, 0, bad, 3, 27, "kafka.properties.sasl.password.file", "is empty");

	diag_clear(&errs);
	unit_remove_file(bad);
	unit_remove_file(empty);
	unit_remove_file(path);
	unit_remove_file(secret);
	ck_assert_int_eq(rmdir(dir), 0);
	free(dir);
}
END_TEST

START_TEST(relative_rule_files_resolve_against_the_config_dir)
{
	char *dir = unit_make_dir();
	char *path =
		unit_write_file(dir, "arbiter.yaml",
				"rules:\n"
				"  files: [rules/spam.yaml, /etc/arbiter/abs.yaml, ../up.yaml]\n");
	struct diag_list errs = {0};
	struct config *c = NULL;
	ck_assert_int_eq(config_load(path, &c, &errs), 0);
	ck_assert_uint_eq(c->rules.n_files, 3);
	char *want = NULL;
	ck_assert_int_ge(asprintf(&want, "%s/rules/spam.yaml", dir), 0);
	ck_assert_str_eq(c->rules.files[0], want);
	free(want);
	ck_assert_str_eq(c->rules.files[1], "/etc/arbiter/abs.yaml");
	ck_assert_int_ge(asprintf(&want, "%s/../up.yaml", dir), 0);
	ck_assert_str_eq(c->rules.files[2], want);
	free(want);
	config_free(c);
	unit_remove_file(path);
	ck_assert_int_eq(rmdir(dir), 0);
	free(dir);
}
END_TEST

START_TEST(unknown_key_suggests_the_closest)
{
	expect_one_error("kafka:\n"
			 "  brokers: mock\n"
			 "  topcs:\n"
			 "    content: x\n",
			 3, 3, "kafka.topcs",
			 "unknown key 'kafka.topcs'; did you mean 'kafka.topics'?");
	expect_one_error("kafka:\n  topics:\n    contnet: x\n", 3, 5, "kafka.topics.contnet",
			 "did you mean 'kafka.topics.content'?");
	expect_one_error("redsi:\n  db: 1\n", 1, 1, "redsi", "did you mean 'redis'?");
	/* A key in the wrong section points at the right one. */
	expect_one_error("kafka:\n  db: 1\n", 2, 3, "kafka.db", "did you mean 'redis.db'?");
	expect_one_error("kafka:\n  topics:\n    audit: {name: a, fromat: json}\n", 3, 22,
			 "kafka.topics.audit.fromat", "unknown key 'kafka.topics.audit.fromat'");
	expect_one_error("bogus: 1\n", 1, 1, "bogus", "unknown key 'bogus'");
}
END_TEST

START_TEST(unknown_key_far_from_any_has_no_suggestion)
{
	char *path = unit_write_file(NULL, NULL, "zzzzzzzz: 1\n");
	struct diag_list errs = {0};
	struct config *c = NULL;
	ck_assert_int_eq(config_load(path, &c, &errs), -EINVAL);
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_str_eq(errs.v[0].msg, "unknown key 'zzzzzzzz'");
	diag_clear(&errs);
	unit_remove_file(path);
}
END_TEST

START_TEST(wrong_type)
{
	expect_one_error("pipeline:\n  max_inflight: {a: 1}\n", 2, 17, "pipeline.max_inflight",
			 "expected an integer, got a mapping");
	expect_one_error("pipeline:\n  poll_batch:\n    - 1\n", 3, 5, "pipeline.poll_batch",
			 "expected an integer, got a sequence");
	expect_one_error("redis:\n  db: ten\n", 2, 7, "redis.db",
			 "expected an integer, got \"ten\"");
	expect_one_error("redis:\n  db: 1.5\n", 2, 7, "redis.db", "expected an integer, got 1.5");
	expect_one_error("kafka:\n  group_id: [a]\n", 2, 13, "kafka.group_id",
			 "expected a string, got a sequence");
	expect_one_error("kafka:\n  group_id:\n", 2, 3, "kafka.group_id",
			 "expected a string, got null");
	expect_one_error("redis: 5\n", 1, 8, "redis", "expected a mapping, got 5");
	expect_one_error("rules:\n  files: rules/a.yaml\n", 2, 10, "rules.files",
			 "expected a sequence of strings, got \"rules/a.yaml\"");
	expect_one_error("rules:\n  files: [a.yaml, {x: 1}]\n", 2, 19, "rules.files[1]",
			 "expected a string, got a mapping");
	expect_one_error("kafka:\n  properties: [a]\n", 2, 15, "kafka.properties",
			 "expected a mapping of librdkafka properties, got a sequence");
	expect_one_error("kafka:\n  properties:\n    linger.ms: [1]\n", 3, 16,
			 "kafka.properties.linger.ms",
			 "expected a string, number, boolean or {file: PATH}, got a sequence");
	expect_one_error("kafka:\n  topics:\n    audit: [a]\n", 3, 12, "kafka.topics.audit",
			 "expected a topic name or {name: ...}, got a sequence");
	expect_one_error("kafka:\n  topics:\n    audit: bad/topic\n", 3, 12, "kafka.topics.audit",
			 "expected a topic name of 1 to 249 characters");
	expect_one_error("redis:\n  password: [x]\n", 2, 13, "redis.password",
			 "expected a string or {file: PATH}, got a sequence");
}
END_TEST

START_TEST(out_of_range_int)
{
	expect_one_error("pipeline:\n  max_inflight: 0\n", 2, 17, "pipeline.max_inflight",
			 "expected an integer in [1, 1000000], got 0");
	expect_one_error("kafka:\n  mock_partitions: 257\n", 2, 20, "kafka.mock_partitions",
			 "expected an integer in [1, 256], got 257");
	expect_one_error("redis:\n  db: -1\n", 2, 7, "redis.db",
			 "expected an integer in [0, 15], got -1");
	expect_one_error("pipeline:\n  deadletter_max_bytes: 16777217\n", 2, 25,
			 "pipeline.deadletter_max_bytes",
			 "expected an integer in [0, 16777216], got 16777217");
	expect_one_error("pipeline:\n  poll_batch: 99999999999999999999999\n", 2, 15,
			 "pipeline.poll_batch",
			 "expected an integer in [1, 100000], got 99999999999999999999999");
}
END_TEST

START_TEST(kafka_properties_are_checked_by_librdkafka)
{
	expect_one_error("kafka:\n  properties:\n    lingr.ms: 5\n", 3, 5,
			 "kafka.properties.lingr.ms", "not a librdkafka property");
	expect_one_error("kafka:\n  properties:\n    linger.ms: soon\n", 3, 5,
			 "kafka.properties.linger.ms", "Invalid value");
	expect_one_error("kafka:\n  properties:\n    enable.auto.commit: true\n", 3, 5,
			 "kafka.properties.enable.auto.commit",
			 "cannot be set: arbiterd commits offsets only once");
	expect_one_error("kafka:\n  properties:\n    group.id: g\n", 3, 5,
			 "kafka.properties.group.id", "set kafka.group_id instead");
	struct config *c = expect_ok("kafka:\n  properties:\n    linger.ms: 20\n"
				     "    security.protocol: plaintext\n");
	ck_assert_uint_eq(c->kafka.n_properties, 2);
	config_free(c);
}
END_TEST

START_TEST(bad_enum)
{
	expect_one_error("log:\n  level: verbose\n", 2, 10, "log.level",
			 "expected one of error, warn, info, debug, got \"verbose\"");
	expect_one_error("kafka:\n  topics:\n    content: {name: c, format: xml}\n", 3, 32,
			 "kafka.topics.content.format",
			 "expected one of protobuf, json, got \"xml\"");
	expect_one_error("kafka:\n  topics:\n    audit: {format: json}\n", 3, 13,
			 "kafka.topics.audit.format",
			 "format is allowed only for the input topics");
}
END_TEST

START_TEST(bad_duration)
{
	expect_one_error("pipeline:\n  commit_interval: 5x\n", 2, 20, "pipeline.commit_interval",
			 "expected a duration such as 500ms, 5s, 2m or 1h (a bare number is "
			 "milliseconds), got \"5x\"");
	expect_one_error("pipeline:\n  commit_interval: 5ms\n", 2, 20, "pipeline.commit_interval",
			 "expected a duration in [10ms, 1m], got 5ms");
	expect_one_error("pipeline:\n  drain_timeout: 11m\n", 2, 18, "pipeline.drain_timeout",
			 "expected a duration in [0ms, 10m], got 11m");
	expect_one_error("redis:\n  connect_timeout: -5s\n", 2, 20, "redis.connect_timeout",
			 "got \"-5s\"");

	struct config *c = expect_ok("pipeline:\n  commit_interval: \"2s\"\n  drain_timeout: 0\n"
				     "redis:\n  connect_timeout: 1m\n  command_timeout: 750\n");
	ck_assert_uint_eq(c->pipeline.commit_interval_ms, 2000);
	ck_assert_uint_eq(c->pipeline.drain_timeout_ms, 0);
	ck_assert_uint_eq(c->redis.command_timeout_ms, 750);
	config_free(c);
	expect_one_error("redis:\n  connect_timeout: 1h\n", 2, 20, "redis.connect_timeout",
			 "expected a duration in [1ms, 1m], got 1h");
}
END_TEST

START_TEST(bad_mock_brokers)
{
	static const char *const bad[] = {"mock:0", "mock:10", "mock:x", "mock:"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *text = NULL, *msg = NULL;
		ck_assert_int_ge(asprintf(&text, "kafka:\n  brokers: \"%s\"\n", bad[i]), 0);
		ck_assert_int_ge(asprintf(&msg,
					  "expected \"mock\" or \"mock:N\" with N in [1, 9], got "
					  "\"%s\"",
					  bad[i]),
				 0);
		expect_one_error(text, 2, 12, "kafka.brokers", msg);
		free(text);
		free(msg);
	}
	expect_one_error("kafka:\n  brokers: \"\"\n", 2, 12, "kafka.brokers",
			 "expected a non-empty string");

	struct config *c = expect_ok("kafka:\n  brokers: mock:9\n");
	ck_assert_int_eq(c->kafka.mock_brokers, 9);
	config_free(c);
}
END_TEST

START_TEST(bad_metrics_listen)
{
	const char *msg = "expected \"host:port\" with host \"*\" or an IPv4 address and port in "
			  "[1, 65535] (or \"\" to disable), got ";
	char *want = NULL;
	static const char *const bad[] = {"localhost",     "127.0.0.1:0", "127.0.0.1:65536",
					  "127.0.0.1:",    ":9464",       "127.0.0.1:http",
					  "localhost:9464"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *text = NULL;
		ck_assert_int_ge(asprintf(&text, "metrics:\n  listen: \"%s\"\n", bad[i]), 0);
		ck_assert_int_ge(asprintf(&want, "%s\"%s\"", msg, bad[i]), 0);
		expect_one_error(text, 2, 11, "metrics.listen", want);
		free(text);
		free(want);
	}

	struct config *c = expect_ok("metrics:\n  listen: \"\"\n");
	ck_assert_ptr_null(c->metrics.listen);
	config_free(c);
	c = expect_ok("metrics:\n  listen: 0.0.0.0:65535\n");
	ck_assert_str_eq(c->metrics.listen, "0.0.0.0:65535");
	config_free(c);
}
END_TEST

START_TEST(bad_redis_address)
{
	expect_one_error("redis:\n  address: redis\n", 2, 12, "redis.address",
			 "expected \"host:port\" with port in [1, 65535] or a unix socket path");
	struct config *c = expect_ok("redis:\n  address: \"[::1]:6380\"\n");
	ck_assert_str_eq(c->redis.address, "[::1]:6380");
	char host[CONFIG_HOST_MAX];
	int port = 0;
	config_redis_host_port(c->redis.address, host, &port);
	ck_assert_str_eq(host, "::1");
	ck_assert_int_eq(port, 6380);
	config_free(c);
	config_redis_host_port("redis.internal:16379", host, &port);
	ck_assert_str_eq(host, "redis.internal");
	ck_assert_int_eq(port, 16379);
}
END_TEST

START_TEST(unreadable_secret_file)
{
	char *missing = NULL, *msg = NULL, *text = NULL;
	ck_assert_int_ge(asprintf(&missing, "%s/no-such-secret", unit_tmpdir()), 0);
	ck_assert_int_ge(asprintf(&text, "redis:\n  password: {file: %s}\n", missing), 0);
	ck_assert_int_ge(asprintf(&msg, "cannot read secret file \"%s\": No such file or directory",
				  missing),
			 0);
	expect_one_error(text, 2, 20, "redis.password.file", msg);
	free(text);
	free(msg);

	/* Relative: resolved against the config's directory, and named so. */
	ck_assert_int_ge(asprintf(&msg, "cannot read secret file \"%s/nope.pw\"", unit_tmpdir()),
			 0);
	expect_one_error("kafka:\n"
			 "  properties:\n"
			 "    sasl.password:\n"
			 "      file: nope.pw\n",
			 4, 13, "kafka.properties.sasl.password.file", msg);
	free(msg);
	free(missing);

	expect_one_error("redis:\n  password: {fiel: /x}\n", 2, 14, "redis.password.fiel",
			 "did you mean 'redis.password.file'?");
}
END_TEST

START_TEST(yaml_syntax_error_is_positioned)
{
	/* libyaml's diagnostics become positioned errors. */
	expect_one_error("log:\n  level: info\nredis:\n\tdb: 1\n", 4, 1, NULL,
			 "invalid YAML: tab character may not be used as indentation");
	expect_one_error("log:\n  level: info\nlog:\n  level: debug\n", 3, 1, NULL,
			 "invalid YAML: duplicate key");
	expect_one_error("redis:\n  db: *nowhere\n", 2, 7, NULL,
			 "invalid YAML: alias *nowhere names no anchor defined before it");
	expect_one_error("kafka: {}\n---\nredis: {}\n", 2, 1, NULL,
			 "expected one YAML document, found a second one");
}
END_TEST

/* config_load_text is config_load without the read: the same config from the same bytes,
 * the same positioned errors naming the path given, relative paths against its directory. */
START_TEST(text_loads_as_the_file_would)
{
	char *dir = unit_make_dir();
	char *secret = unit_write_file(dir, "secret", "s3cret\n");
	static const char text[] = "redis:\n  password: {file: secret}\n  db: 3\n"
				   "rules: {files: [r.yaml]}\n";
	char *path = unit_write_file(dir, "arbiter.yaml", text);
	struct diag_list errs = {0};
	struct config *a = NULL, *b = NULL;
	ck_assert_int_eq(config_load(path, &a, &errs), 0);
	/* Not NUL-terminated, and PATH is not read: the file's bytes are gone by then. */
	char *copy = malloc(sizeof(text) - 1);
	memcpy(copy, text, sizeof(text) - 1);
	unit_remove_file(unit_write_file(dir, "arbiter.yaml", "garbage: [\n"));
	ck_assert_int_eq(config_load_text(path, NULL, copy, sizeof(text) - 1, &b, &errs), 0);
	ck_assert_uint_eq(errs.n, 0);
	ck_assert_str_eq(b->redis.password, a->redis.password);
	ck_assert_int_eq(b->redis.db, 3);
	ck_assert_str_eq(b->rules.files[0], a->rules.files[0]);
	ck_assert_str_eq(b->dir, dir);
	config_free(a);
	config_free(b);

	/* Errors are positioned in PATH, as config_load's are. */
	b = (struct config *)&errs;
	ck_assert_int_eq(config_load_text(path, "/base", "redis:\n  db: x\n", 15, &b, &errs),
			 -EINVAL);
	ck_assert_ptr_null(b);
	unit_check_error(&errs, 0, path, 2, 7, "redis.db", "expected an integer");
	diag_clear(&errs);
	/* An empty text gives the defaults; a text past the bound is refused unread. */
	ck_assert_int_eq(config_load_text(path, NULL, NULL, 0, &b, &errs), 0);
	ck_assert_str_eq(b->redis.address, "127.0.0.1:6379");
	config_free(b);
	char *big = calloc(1, (size_t)5 << 20);
	ck_assert_int_eq(config_load_text(path, NULL, big, (size_t)5 << 20, &b, &errs), -EIO);
	ck_assert_ptr_null(b);
	free(big);
	unit_check_error(&errs, 0, path, 0, 0, NULL, "File too large");
	diag_clear(&errs);
	free(copy);
	unit_remove_file(secret);
	free(path);
	free(dir);
}
END_TEST

START_TEST(top_level_must_be_a_mapping)
{
	expect_one_error(
		"- kafka\n- redis\n", 1, 1, NULL,
		"expected a mapping of sections (kafka, redis, ...) at the top level, got a "
		"sequence");
	expect_one_error("\n  just words\n", 2, 3, NULL, "at the top level, got \"just words\"");
}
END_TEST

START_TEST(every_mistake_is_reported_in_file_order)
{
	char *path = unit_write_file(NULL, NULL,
				     "kafka:\n"
				     "  brokers: mock\n"
				     "  mock_partitions: 0\n"
				     "redis:\n"
				     "  db: \"x\"\n"
				     "log:\n"
				     "  levle: info\n");
	struct diag_list errs = {0};
	struct config *c = NULL;
	ck_assert_int_eq(config_load(path, &c, &errs), -EINVAL);
	ck_assert_ptr_null(c);
	ck_assert_uint_eq(errs.n, 3);
	unit_check_error(&errs, 0, path, 3, 20, "kafka.mock_partitions",
			 "expected an integer in [1, 256], got 0");
	unit_check_error(&errs, 1, path, 5, 7, "redis.db", "expected an integer, got \"x\"");
	unit_check_error(&errs, 2, path, 7, 3, "log.levle",
			 "unknown key 'log.levle'; did you mean 'log.level'?");
	diag_clear(&errs);
	unit_remove_file(path);
}
END_TEST

START_TEST(topics_must_be_distinct)
{
	expect_one_error("kafka:\n  topics:\n    audit: content.events\n", 3, 12,
			 "kafka.topics.audit",
			 "topic \"content.events\" is already used by kafka.topics.content");
	/* Only the format given: the default name stays. */
	struct config *c = expect_ok("kafka:\n  topics:\n    decisions: {format: json}\n");
	ck_assert_str_eq(c->kafka.topics.decisions.name, "moderation.decisions");
	ck_assert_int_eq(c->kafka.topics.decisions.format, CONFIG_FORMAT_JSON);
	config_free(c);
}
END_TEST

START_TEST(errors_print_format)
{
	struct diag_list errs = {0};
	diag_error(&errs, "a.yaml", 3, 7, "redis.db", "expected %s", "x");
	diag_error(&errs, "a.yaml", 0, 0, NULL, "cannot read: %s", "gone");
	diag_error(&errs, "b.yaml", 1, 1, NULL, "bare");
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(out);
	diag_print(&errs, out);
	fclose(out);
	ck_assert_str_eq(buf, "a.yaml:3:7: redis.db: expected x\n"
			      "a.yaml: cannot read: gone\n"
			      "b.yaml:1:1: bare\n");
	free(buf);
	diag_clear(&errs);
	ck_assert_uint_eq(errs.n, 0);
	ck_assert_ptr_null(errs.v);
}
END_TEST

START_TEST(format_names)
{
	ck_assert_str_eq(config_format_name(CONFIG_FORMAT_PROTOBUF), "protobuf");
	ck_assert_str_eq(config_format_name(CONFIG_FORMAT_JSON), "json");
}
END_TEST

START_TEST(sample_config_loads_and_documents_the_defaults)
{
	struct diag_list errs = {0};
	struct config *c = NULL;
	int rc = config_load(TEST_CONFIGDIR "/arbiter.yaml", &c, &errs);
	diag_print(&errs, stderr);
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(errs.n, 0);
	check_defaults(c);
	/* The shipped rule files, resolved next to the config, all exist. */
	ck_assert_uint_ge(c->rules.n_files, 1);
	for (size_t i = 0; i < c->rules.n_files; i++) {
		ck_assert_msg(!strncmp(c->rules.files[i], TEST_CONFIGDIR "/rules/",
				       strlen(TEST_CONFIGDIR "/rules/")),
			      "%s", c->rules.files[i]);
		ck_assert_msg(access(c->rules.files[i], R_OK) == 0, "%s", c->rules.files[i]);
	}
	config_free(c);
}
END_TEST

START_TEST(review_queues_load_with_defaults_and_overrides)
{
	struct config *c =
		expect_ok("review:\n"
			  "  queues:\n"
			  "    incitement: {sla: {urgent: 30m, low: 5d}, max_length: 7}\n"
			  "    incitement-sw: {serves: incitement, languages: [SW, sw-KE]}\n"
			  "    ke: {serves: incitement, countries: [ke]}\n"
			  "    plain:\n"
			  "monitors:\n"
			  "  modes: [election-ke]\n"
			  "  per_country_topics: on\n"
			  "  include_excerpt: true\n");
	ck_assert_uint_eq(c->review.n_queues, 4);
	const struct config_queue *q = config_queue_find(c, "incitement");
	ck_assert_ptr_nonnull(q);
	ck_assert_ptr_null(q->serves);
	ck_assert_uint_eq(q->sla_s[CONFIG_BAND_URGENT], 1800);
	ck_assert_uint_eq(q->sla_s[CONFIG_BAND_HIGH], 4 * 3600); /* default kept */
	ck_assert_uint_eq(q->sla_s[CONFIG_BAND_LOW], 5 * 24 * 3600);
	ck_assert_uint_eq(q->max_length, 7);
	q = config_queue_find(c, "incitement-sw");
	ck_assert_str_eq(q->serves, "incitement");
	ck_assert_uint_eq(q->n_languages, 2);
	ck_assert_str_eq(q->languages[0], "sw"); /* tags compare lowercased */
	ck_assert_str_eq(q->languages[1], "sw-ke");
	ck_assert_str_eq(config_queue_find(c, "ke")->countries[0], "KE");
	ck_assert_uint_eq(config_queue_find(c, "plain")->max_length, 100000);
	ck_assert_ptr_null(config_queue_find(c, "nope"));
	ck_assert_uint_eq(c->monitors.n_modes, 1);
	ck_assert(c->monitors.per_country_topics);
	ck_assert(c->monitors.include_excerpt);
	ck_assert_str_eq(config_band_name(CONFIG_BAND_NORMAL), "normal");
	config_free(c);
}
END_TEST

START_TEST(review_queue_mistakes_are_positioned)
{
	expect_one_error("review:\n  queues:\n    a b: {}\n", 3, 5, "review.queues",
			 "expected a queue name");
	expect_one_error("review:\n  queues:\n    a: {sla: {urgnt: 1h}}\n", 3, 15,
			 "review.queues.a.sla", "expected one of urgent, high, normal, low");
	expect_one_error("review:\n  queues:\n    a: {sla: {high: soon}}\n", 3, 21,
			 "review.queues.a.sla.high", "expected a duration in [1s, 365d]");
	expect_one_error("review:\n  queues:\n    a: {max_length: -1}\n", 3, 21,
			 "review.queues.a.max_length", "expected an integer in [0, 100000000]");
	expect_one_error("review:\n  queues:\n    a: {countries: [KEN]}\n", 3, 21,
			 "review.queues.a.countries",
			 "expected an ISO 3166-1 alpha-2 country code");
	expect_one_error("review:\n  queues:\n    a: {languags: [sw]}\n", 3, 9,
			 "review.queues.a.languags", "did you mean 'review.queues.a.languages'");
	expect_one_error("review:\n  queues:\n    a: {serves: b, languages: [sw]}\n", 3, 5,
			 "review.queues.a", "serves \"b\", which is not a declared queue");
	expect_one_error("review:\n  queues:\n    a: {}\n    b: {serves: a}\n", 4, 5,
			 "review.queues.b", "needs languages or countries");
	expect_one_error("review:\n  queues:\n    a: {}\n"
			 "    b: {serves: a, languages: [sw]}\n"
			 "    c: {serves: b, languages: [sw]}\n",
			 5, 5, "review.queues.c", "which itself serves \"a\"");
	expect_one_error("monitors:\n  include_excerpt: maybe\n", 2, 20, "monitors.include_excerpt",
			 "expected true or false");
	expect_one_error("redis:\n  prefix: \"a b\"\n", 2, 11, "redis.prefix", "without spaces");
}
END_TEST

START_TEST(redis_sentinels_name_the_master)
{
	char *pw = unit_write_file(NULL, "sentinel.pw", "hush\n");
	char *text = NULL;
	ck_assert_int_ge(
		asprintf(&text,
			 "redis:\n"
			 "  sentinels: [\"10.0.0.1:26379\", \"[fd00::2]:26379\", s3:26380]\n"
			 "  master_name: arbiter-main\n"
			 "  sentinel_password: {file: %s}\n",
			 pw),
		0);
	struct config *c = expect_ok(text);
	ck_assert_uint_eq(c->redis.n_sentinels, 3);
	ck_assert_str_eq(c->redis.sentinels[1], "[fd00::2]:26379");
	ck_assert_str_eq(c->redis.master_name, "arbiter-main");
	ck_assert_str_eq(c->redis.sentinel_password, "hush");
	/* A failover must not lose an acknowledged write: one replica must have it. */
	ck_assert_int_eq(c->redis.wait_replicas, 1);
	config_free(c);
	free(text);
	c = expect_ok("redis:\n  sentinels: [a:1]\n  master_name: m\n  wait_replicas: 0\n");
	ck_assert_int_eq(c->redis.wait_replicas, 0);
	config_free(c);
	c = expect_ok("redis:\n  wait_replicas: 2\n");
	ck_assert_int_eq(c->redis.wait_replicas, 2);
	config_free(c);
	unit_remove_file(pw);
}
END_TEST

START_TEST(redis_sentinel_mistakes_are_positioned)
{
	expect_one_error(
		"redis:\n  sentinels: [\"a:1\", \"b\", c:2]\n  master_name: m\n", 2, 22,
		"redis.sentinels[1]",
		"expected \"host:port\" (\"[v6]:port\") with port in [1, 65535], got \"b\"");
	expect_one_error("redis:\n  master_name: m\n  sentinels:\n    - a:1\n    - \"::1:5\"\n", 5,
			 7, "redis.sentinels[1]", "got \"::1:5\"");
	expect_one_error("redis:\n  sentinels: [a:1]\n  master_name: m\n  address: h:1\n", 4, 12,
			 "redis.address",
			 "redis.address and redis.sentinels (line 2) exclude each other");
	expect_one_error("redis:\n  sentinels: [a:1]\n", 2, 14, "redis.sentinels",
			 "redis.sentinels needs redis.master_name");
	expect_one_error("redis:\n  master_name: m\n", 2, 16, "redis.master_name",
			 "redis.master_name is for Sentinel");
	expect_one_error("redis:\n  sentinel_password: x\n", 2, 22, "redis.sentinel_password",
			 "redis.sentinel_password is for Sentinel");
	expect_one_error("redis:\n  sentinels: [a:1]\n  master_name: \"my master\"\n", 3, 16,
			 "redis.master_name", "expected a name of 1 to 128 characters");
	expect_one_error("redis:\n  sentinels: a:1\n  master_name: m\n", 2, 14, "redis.sentinels",
			 "expected a sequence of strings");
	expect_one_error("redis:\n  wait_replicas: 17\n", 2, 18, "redis.wait_replicas",
			 "expected an integer in [0, 16]");
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("load");
	tcase_add_test(tc, defaults_without_a_file);
	tcase_add_test(tc, empty_file_and_empty_sections_give_defaults);
	tcase_add_test(tc, missing_file_is_one_error_without_position);
	tcase_add_test(tc, every_key_loads_into_the_struct);
	tcase_add_test(tc, properties_read_secret_files_relative_to_the_config);
	tcase_add_test(tc, relative_rule_files_resolve_against_the_config_dir);
	tcase_add_test(tc, sample_config_loads_and_documents_the_defaults);
	tcase_add_test(tc, review_queues_load_with_defaults_and_overrides);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, unknown_key_suggests_the_closest);
	tcase_add_test(tc, unknown_key_far_from_any_has_no_suggestion);
	tcase_add_test(tc, wrong_type);
	tcase_add_test(tc, out_of_range_int);
	tcase_add_test(tc, bad_enum);
	tcase_add_test(tc, kafka_properties_are_checked_by_librdkafka);
	tcase_add_test(tc, bad_duration);
	tcase_add_test(tc, bad_mock_brokers);
	tcase_add_test(tc, bad_metrics_listen);
	tcase_add_test(tc, bad_redis_address);
	tcase_add_test(tc, redis_sentinels_name_the_master);
	tcase_add_test(tc, redis_sentinel_mistakes_are_positioned);
	tcase_add_test(tc, unreadable_secret_file);
	tcase_add_test(tc, yaml_syntax_error_is_positioned);
	tcase_add_test(tc, top_level_must_be_a_mapping);
	tcase_add_test(tc, every_mistake_is_reported_in_file_order);
	tcase_add_test(tc, topics_must_be_distinct);
	tcase_add_test(tc, errors_print_format);
	tcase_add_test(tc, format_names);
	tcase_add_test(tc, review_queue_mistakes_are_positioned);
	tcase_add_test(tc, text_loads_as_the_file_would);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(config_suite());
}
