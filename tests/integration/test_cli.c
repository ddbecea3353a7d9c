/* Integration: arbiterd and arbiterctl as child processes: config check, usage, Kafka tools. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define CONTENT "content.events"

/* Scratch directory of the whole run, made and removed by main(), so that no
 * failing test leaves files behind. Children of the tests write here too. */
static char scratch[256];

/* Three content events; the second is invalid (an unknown enum value). Each
 * field given has a non-default value, so consume prints exactly these back. */
static const char *const events[] = {
	"{\"event_id\":\"ev-1\",\"content_id\":\"c-1\",\"lang\":\"sw\",\"surface\":\"POST\","
	"\"signals\":{\"hate\":0.25,\"spam\":0.5}}",
	"{\"event_id\":\"ev-2\",\"content_id\":\"c-2\",\"lang\":\"en\",\"surface\":\"BILLBOARD\"}",
	"{\"event_id\":\"ev-3\",\"content_id\":\"c-3\",\"lang\":\"bs-Latn\","
	"\"signals\":{\"violence\":0.125}}",
};
#define N_EVENTS (sizeof(events) / sizeof(events[0]))
#define INVALID 1 /* index of the invalid event */

#define ARBITERCTL harness_bin("ARBITERCTL")
#define ARBITERD harness_bin("ARBITERD")

/* Asserts that HAY contains NEEDLE, showing both when it does not. */
#define assert_contains(hay, needle)                                                               \
	ck_assert_msg(strstr((hay), (needle)) != NULL, "expected \"%s\" in:\n%s", (needle), (hay))

/* Writes CONTENT to NAME in the scratch directory; PATH receives its path. */
static void write_file(char *path, size_t size, const char *name, const char *content)
{
	snprintf(path, size, "%s/%s", scratch, name);
	FILE *f = fopen(path, "w");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	fputs(content, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* The lines of S (without their newlines) in a NULL-terminated array; one
 * free() of the array frees them too (they point into a copy after it). */
static char **split_lines(const char *s, size_t *n)
{
	size_t count = 0;
	for (const char *p = s; *p; p++)
		count += *p == '\n';
	if (*s && s[strlen(s) - 1] != '\n')
		count++;
	size_t len = strlen(s);
	char **v = malloc((count + 1) * sizeof(*v) + len + 1);
	ck_assert_ptr_nonnull(v);
	char *copy = (char *)(v + count + 1);
	memcpy(copy, s, len + 1);
	size_t i = 0;
	for (char *line = copy; *line && i < count; i++) {
		v[i] = line;
		char *nl = strchr(line, '\n');
		if (!nl)
			break;
		*nl = '\0';
		line = nl + 1;
	}
	v[count] = NULL;
	*n = count;
	return v;
}

/* All events, one per line. */
static char *events_input(void)
{
	size_t len = 0;
	for (size_t i = 0; i < N_EVENTS; i++)
		len += strlen(events[i]) + 1;
	char *s = malloc(len + 1), *p = s;
	ck_assert_ptr_nonnull(s);
	for (size_t i = 0; i < N_EVENTS; i++)
		p += sprintf(p, "%s\n", events[i]);
	return s;
}

/* Index in events[] of the event whose event_id is that of GOT, or -1. */
static int event_index(json_t *got)
{
	const char *id = json_string_value(json_object_get(got, "event_id"));
	for (size_t i = 0; id && i < N_EVENTS; i++) {
		json_t *want = json_loads(events[i], 0, NULL);
		ck_assert_ptr_nonnull(want);
		bool same = !strcmp(json_string_value(json_object_get(want, "event_id")), id);
		json_decref(want);
		if (same)
			return (int)i;
	}
	return -1;
}

/* Parses a consume output line and asserts it equals events[I] field for
 * field (event_id, content_id, lang, surface, signals: every field set). */
static void assert_event_line(const char *line, size_t i)
{
	json_error_t jerr;
	json_t *got = json_loads(line, 0, &jerr);
	ck_assert_msg(got != NULL, "consume printed bad JSON (%s): %s", jerr.text, line);
	json_t *want = json_loads(events[i], 0, NULL);
	ck_assert_ptr_nonnull(want);
	static const char *const fields[] = {"event_id", "content_id", "lang", "surface",
					     "signals"};
	for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
		json_t *a = json_object_get(got, fields[f]), *b = json_object_get(want, fields[f]);
		ck_assert_msg((!a && !b) || (a && b && json_equal(a, b)),
			      "field %s differs: got %s, sent %s", fields[f], line, events[i]);
	}
	/* Nothing more, nothing less: the encoder writes every non-default field. */
	ck_assert_msg(json_equal(got, want), "got %s, sent %s", line, events[i]);
	json_decref(want);
	json_decref(got);
}

/* harness_start, and an empty daemon log: no daemon runs here, and harness_stop
 * prints the log's tail. */
static void start_cluster(struct harness *h)
{
	harness_start(h, 3);
	int fd = open(h->log, O_WRONLY | O_CREAT, 0644);
	ck_assert_int_ge(fd, 0);
	close(fd);
}

/* --- 1. Config checks -------------------------------------------------------- */

/* Three mistakes, one per kind: an unknown key, an integer out of range and a
 * bad enum value, at 3:3, 5:7 and 7:10. */
static const char bad_config[] = "kafka:\n"
				 "  brokers: mock\n"
				 "  grup_id: arbiter\n"
				 "redis:\n"
				 "  db: 99\n"
				 "log:\n"
				 "  level: loud\n";

static const char good_config[] = "kafka:\n"
				  "  brokers: mock\n"
				  "  group_id: arbiter\n"
				  "redis:\n"
				  "  db: 15\n"
				  "log:\n"
				  "  level: debug\n"
				  "metrics:\n"
				  "  listen: \"\"\n";

START_TEST(check_reports_every_error_with_its_position)
{
	char path[320];
	write_file(path, sizeof(path), "bad.yaml", bad_config);
	char want[3][512];
	snprintf(want[0], sizeof(want[0]), "%s:3:3: kafka.grup_id: unknown key", path);
	snprintf(want[1], sizeof(want[1]), "%s:5:7: redis.db: expected an integer in [0, 15]",
		 path);
	snprintf(want[2], sizeof(want[2]), "%s:7:10: log.level: ", path);
	char count[400];
	snprintf(count, sizeof(count), "%s: 3 error(s)", path);

	struct harness_run d, c;
	harness_run(&d, NULL, ARBITERD, "--check-config", path, NULL);
	harness_run(&c, NULL, ARBITERCTL, "check", path, NULL);
	const struct harness_run *both[] = {&d, &c};
	for (size_t i = 0; i < 2; i++) {
		const struct harness_run *r = both[i];
		ck_assert_msg(r->status == 1, "%s exited %d", i ? "arbiterctl check" : "arbiterd",
			      r->status);
		for (size_t k = 0; k < 3; k++)
			assert_contains(r->err, want[k]);
		assert_contains(r->err, "did you mean 'kafka.group_id'");
		assert_contains(r->err, "got 99");
		assert_contains(r->err, "\"loud\"");
		assert_contains(r->err, count);
		ck_assert_str_eq(r->out, "");
	}
	/* One check shared by both tools: the same report, byte for byte. */
	ck_assert_str_eq(d.err, c.err);
	harness_run_free(&d);
	harness_run_free(&c);
	unlink(path);
}
END_TEST

START_TEST(check_accepts_a_valid_file)
{
	char path[320], ok[400];
	write_file(path, sizeof(path), "good.yaml", good_config);
	/* "PATH: ok", perhaps followed by a summary (rule count, version). */
	snprintf(ok, sizeof(ok), "%s: ok", path);
	struct harness_run d, c;
	harness_run(&d, NULL, ARBITERD, "--check-config", path, NULL);
	harness_run(&c, NULL, ARBITERCTL, "check", path, NULL);
	const struct harness_run *both[] = {&d, &c};
	for (size_t i = 0; i < 2; i++) {
		const struct harness_run *r = both[i];
		ck_assert_msg(r->status == 0, "%s exited %d:\n%s",
			      i ? "arbiterctl check" : "arbiterd", r->status, r->err);
		ck_assert_msg(!strncmp(r->out, ok, strlen(ok)) &&
				      strchr(r->out, '\n') == r->out + strlen(r->out) - 1,
			      "expected one line \"%s...\", got \"%s\"", ok, r->out);
	}
	ck_assert_str_eq(d.out, c.out);
	harness_run_free(&d);
	harness_run_free(&c);
	unlink(path);
}
END_TEST

START_TEST(check_of_a_missing_file_says_so)
{
	char path[320], want[512];
	snprintf(path, sizeof(path), "%s/no-such-config.yaml", scratch);
	snprintf(want, sizeof(want), "%s: cannot read the config file: %s", path, strerror(ENOENT));
	struct harness_run r;
	harness_run(&r, NULL, ARBITERD, "--check-config", path, NULL);
	ck_assert_int_eq(r.status, 1);
	assert_contains(r.err, want);
	ck_assert_str_eq(r.out, "");
	harness_run_free(&r);
	harness_run(&r, NULL, ARBITERCTL, "check", path, NULL);
	ck_assert_int_eq(r.status, 1);
	assert_contains(r.err, want);
	ck_assert_str_eq(r.out, "");
	harness_run_free(&r);
}
END_TEST

/* --- 2. Usage and exit codes --------------------------------------------------- */

START_TEST(arbiterd_usage)
{
	struct harness_run r;
	harness_run(&r, NULL, ARBITERD, "--help", NULL);
	ck_assert_int_eq(r.status, 0);
	assert_contains(r.out, "--config");
	assert_contains(r.out, "--check-config");
	assert_contains(r.out, "SIGHUP");
	harness_run_free(&r);

	harness_run(&r, NULL, ARBITERD, "--no-such-option", NULL);
	ck_assert_int_eq(r.status, 2);
	assert_contains(r.err, "Usage: arbiterd");
	harness_run_free(&r);

	harness_run(&r, NULL, ARBITERD, "stray-argument", NULL);
	ck_assert_int_eq(r.status, 2);
	assert_contains(r.err, "unexpected argument 'stray-argument'");
	harness_run_free(&r);
}
END_TEST

START_TEST(arbiterctl_usage)
{
	struct harness_run r;
	harness_run(&r, NULL, ARBITERCTL, NULL);
	ck_assert_int_eq(r.status, 2);
	assert_contains(r.err, "Usage: arbiterctl COMMAND");
	harness_run_free(&r);

	harness_run(&r, NULL, ARBITERCTL, "nosuch", NULL);
	ck_assert_int_eq(r.status, 2);
	assert_contains(r.err, "unknown command 'nosuch'\n");
	harness_run_free(&r);
	harness_run(&r, NULL, ARBITERCTL, "reveiw", NULL);
	ck_assert_int_eq(r.status, 2);
	assert_contains(r.err, "unknown command 'reveiw'; did you mean 'review'?");
	harness_run_free(&r);
	harness_run(&r, NULL, ARBITERCTL, "review", "claimm", "--config", "x.yaml", NULL);
	ck_assert_int_eq(r.status, 2);
	assert_contains(r.err, "unknown subcommand 'claimm'; did you mean 'claim'?");
	harness_run_free(&r);
	/* The broker count is --broker-count: --brokers names a cluster everywhere. */
	harness_run(&r, NULL, ARBITERCTL, "mock-kafka", "--brokers", "2", NULL);
	ck_assert_int_eq(r.status, 2);
	harness_run_free(&r);
	harness_run(&r, NULL, ARBITERCTL, "mock-kafka", "--broker-count", "10", NULL);
	ck_assert_int_eq(r.status, 2);
	assert_contains(r.err, "--broker-count 1..9");
	harness_run_free(&r);
	harness_run(&r, NULL, ARBITERCTL, "consume", "--topic", CONTENT, NULL);
	ck_assert_int_eq(r.status, 2);
	assert_contains(r.err, "--brokers or --config is required");
	harness_run_free(&r);

	harness_run(&r, NULL, ARBITERCTL, "--help", NULL);
	ck_assert_int_eq(r.status, 0);
	assert_contains(r.out, "mock-kafka");
	harness_run_free(&r);

	harness_run(&r, NULL, ARBITERCTL, "produce", "--help", NULL);
	ck_assert_int_eq(r.status, 0);
	assert_contains(r.out, "Usage: arbiterctl produce");
	assert_contains(r.out, "--send-invalid");
	harness_run_free(&r);

	/* Missing required options: usage error, nothing attempted. */
	harness_run(&r, NULL, ARBITERCTL, "produce", "--topic", CONTENT, NULL);
	ck_assert_int_eq(r.status, 2);
	harness_run_free(&r);
	harness_run(&r, NULL, ARBITERCTL, "produce", "--brokers", "127.0.0.1:1", "--topic", CONTENT,
		    "--linger", "5s", NULL);
	ck_assert_int_eq(r.status, 2);
	assert_contains(r.err, "--linger: expected milliseconds, 0 to 1000");
	harness_run_free(&r);
	harness_run(&r, NULL, ARBITERCTL, "check", NULL);
	ck_assert_int_eq(r.status, 2);
	harness_run_free(&r);
}
END_TEST

/* --- 3. produce and consume through a mock cluster ------------------------------ */

START_TEST(produce_skips_invalid_lines_and_consume_reads_the_rest_back)
{
	struct harness h;
	start_cluster(&h);
	char *input = events_input();
	struct harness_run r;
	harness_run(&r, input, ARBITERCTL, "produce", "--brokers", h.bootstrap, "--topic", CONTENT,
		    NULL);
	ck_assert_msg(r.status == 1, "produce exited %d:\n%s", r.status, r.err);
	assert_contains(r.err, "skipped 1 invalid line");
	assert_contains(r.err, "stdin:2: skipped: field 'surface': unknown enum value");
	assert_contains(r.err, "produced 2 message(s)");
	harness_run_free(&r);
	ck_assert_int_eq(harness_count(&h, CONTENT), 2);

	harness_run(&r, NULL, ARBITERCTL, "consume", "--brokers", h.bootstrap, "--topic", CONTENT,
		    NULL);
	ck_assert_msg(r.status == 0, "consume exited %d:\n%s", r.status, r.err);
	size_t n;
	char **lines = split_lines(r.out, &n);
	ck_assert_msg(n == 2, "expected 2 lines, got %zu:\n%s", n, r.out);
	bool seen[N_EVENTS] = {false};
	for (size_t i = 0; i < n; i++) {
		json_t *got = json_loads(lines[i], 0, NULL);
		ck_assert_msg(got != NULL, "not JSON: %s", lines[i]);
		int k = event_index(got);
		json_decref(got);
		ck_assert_msg(k >= 0 && k != INVALID, "unexpected record %s", lines[i]);
		ck_assert_msg(!seen[k], "record printed twice: %s", lines[i]);
		seen[k] = true;
		assert_event_line(lines[i], (size_t)k);
	}
	free(lines);
	harness_run_free(&r);
	free(input);
	harness_stop(&h);
}
END_TEST

/* Raw records of a topic, in no particular order. */
struct raw {
	char *value[16];
	char *key[16];
	size_t n;
};

static void raw_collect(void *opaque, const rd_kafka_message_t *m)
{
	struct raw *raw = opaque;
	ck_assert_uint_lt(raw->n, 16);
	raw->value[raw->n] = strndup(m->payload ? (const char *)m->payload : "", m->len);
	raw->key[raw->n] = strndup(m->key ? (const char *)m->key : "", m->key_len);
	raw->n++;
}

static void raw_free(struct raw *raw)
{
	for (size_t i = 0; i < raw->n; i++) {
		free(raw->value[i]);
		free(raw->key[i]);
	}
	raw->n = 0;
}

/* Index in RAW of the record whose value is exactly S, or -1. */
static int raw_find(const struct raw *raw, const char *s)
{
	for (size_t i = 0; i < raw->n; i++)
		if (!strcmp(raw->value[i], s))
			return (int)i;
	return -1;
}

START_TEST(send_invalid_sends_raw_bytes_that_consume_reports)
{
	struct harness h;
	start_cluster(&h);
	char *input = events_input();
	struct harness_run r;
	harness_run(&r, input, ARBITERCTL, "produce", "--brokers", h.bootstrap, "--topic", CONTENT,
		    "--send-invalid", NULL);
	ck_assert_msg(r.status == 0, "produce exited %d:\n%s", r.status, r.err);
	assert_contains(r.err, "produced 3 message(s)");
	ck_assert_ptr_null(strstr(r.err, "skipped"));
	harness_run_free(&r);

	harness_run(&r, NULL, ARBITERCTL, "consume", "--brokers", h.bootstrap, "--topic", CONTENT,
		    "--count", NULL);
	ck_assert_str_eq(r.out, "3\n");
	ck_assert_int_eq(r.status, 1);
	assert_contains(r.err, "1 undecodable record(s)");
	harness_run_free(&r);

	harness_run(&r, NULL, ARBITERCTL, "consume", "--brokers", h.bootstrap, "--topic", CONTENT,
		    NULL);
	ck_assert_int_eq(r.status, 1);
	assert_contains(r.err, "1 undecodable record(s)");
	size_t n, undecodable = 0;
	char **lines = split_lines(r.out, &n);
	ck_assert_msg(n == 3, "expected 3 lines, got %zu:\n%s", n, r.out);
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(lines[i], "{\"undecodable\":\"true\"}")) {
			undecodable++;
			continue;
		}
		json_t *got = json_loads(lines[i], 0, NULL);
		ck_assert_msg(got != NULL, "not JSON: %s", lines[i]);
		int k = event_index(got);
		json_decref(got);
		ck_assert_msg(k >= 0 && k != INVALID, "unexpected record %s", lines[i]);
		assert_event_line(lines[i], (size_t)k);
	}
	ck_assert_int_eq(undecodable, 1);
	free(lines);
	harness_run_free(&r);

	/* The invalid line went out as it was typed, keyed by its content_id. */
	struct raw raw = {0};
	harness_read(&h, CONTENT, raw_collect, &raw);
	ck_assert_int_eq(raw.n, 3);
	int k = raw_find(&raw, events[INVALID]);
	ck_assert_msg(k >= 0, "the invalid line was not sent as raw bytes");
	ck_assert_str_eq(raw.key[k], "c-2");
	raw_free(&raw);
	free(input);
	harness_stop(&h);
}
END_TEST

START_TEST(format_json_sends_lines_unchanged)
{
	struct harness h;
	start_cluster(&h);
	char *input = events_input();
	struct harness_run r;
	harness_run(&r, input, ARBITERCTL, "produce", "--brokers", h.bootstrap, "--topic", CONTENT,
		    "--format", "json", NULL);
	ck_assert_msg(r.status == 0, "produce exited %d:\n%s", r.status, r.err);
	assert_contains(r.err, "produced 3 message(s)");
	harness_run_free(&r);

	struct raw raw = {0};
	harness_read(&h, CONTENT, raw_collect, &raw);
	ck_assert_int_eq(raw.n, N_EVENTS);
	for (size_t i = 0; i < N_EVENTS; i++) {
		int k = raw_find(&raw, events[i]);
		ck_assert_msg(k >= 0, "line %zu not found byte for byte: %s", i + 1, events[i]);
		char key[8];
		snprintf(key, sizeof(key), "c-%zu", i + 1);
		ck_assert_str_eq(raw.key[k], key);
	}
	raw_free(&raw);
	free(input);
	harness_stop(&h);
}
END_TEST

START_TEST(produce_consume_and_lag_take_their_settings_from_config)
{
	struct harness h;
	start_cluster(&h);
	/* The config names the cluster, the group and a JSON content topic. */
	char path[400], text[512];
	snprintf(path, sizeof(path), "%s/cli.yaml", h.dir);
	snprintf(text, sizeof(text),
		 "kafka:\n  brokers: \"%s\"\n  group_id: %s-cfg\n  client_id: cli-test\n"
		 "  topics:\n    content: {name: " CONTENT ", format: json}\n",
		 h.bootstrap, h.group);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	char *input = events_input();
	struct harness_run r;
	/* No --brokers, no --format: the lines go as the daemon reads that topic. */
	harness_run(&r, input, ARBITERCTL, "produce", "--config", path, "--topic", CONTENT, NULL);
	ck_assert_msg(r.status == 0, "produce exited %d:\n%s", r.status, r.err);
	harness_run_free(&r);
	struct raw raw = {0};
	harness_read(&h, CONTENT, raw_collect, &raw);
	ck_assert_int_eq(raw.n, N_EVENTS);
	for (size_t i = 0; i < N_EVENTS; i++)
		ck_assert_msg(raw_find(&raw, events[i]) >= 0, "line %zu not sent as it is", i + 1);
	raw_free(&raw);

	harness_run(&r, NULL, ARBITERCTL, "consume", "-c", path, "--topic", CONTENT, "--count",
		    "--type", "content", NULL);
	ck_assert_int_eq(r.status, 1); /* JSON lines are no protobuf: counted, undecodable */
	ck_assert_str_eq(r.out, "3\n");
	harness_run_free(&r);

	/* The config's group on both input topics; nothing committed yet. */
	harness_run(&r, NULL, ARBITERCTL, "lag", "--config", path, NULL);
	ck_assert_msg(r.status == 0, "lag exited %d:\n%s", r.status, r.err);
	assert_contains(r.out, CONTENT "[0] committed=none");
	assert_contains(r.out, "total committed=0 end=3 lag=3\n");
	assert_contains(r.out, "moderation.decisions[0] committed=none");
	assert_contains(r.out, "total committed=0 end=0 lag=0\n");
	harness_run_free(&r);
	free(input);
	harness_stop(&h);
}
END_TEST

START_TEST(consume_group_by_counts_per_value)
{
	struct harness h;
	start_cluster(&h);
	const char *input = "{\"event_id\":\"g-1\",\"content_id\":\"c-1\",\"lang\":\"sw\"}\n"
			    "{\"event_id\":\"g-2\",\"content_id\":\"c-2\",\"lang\":\"en\"}\n"
			    "{\"event_id\":\"g-3\",\"content_id\":\"c-3\",\"lang\":\"sw\"}\n"
			    "{\"event_id\":\"g-4\",\"content_id\":\"c-4\"}\n"
			    "{\"event_id\":\"g-5\",\"content_id\":\"c-5\",\"lang\":\"sw\"}\n";
	struct harness_run r;
	harness_run(&r, input, ARBITERCTL, "produce", "--brokers", h.bootstrap, "--topic", CONTENT,
		    NULL);
	ck_assert_msg(r.status == 0, "produce exited %d:\n%s", r.status, r.err);
	harness_run_free(&r);

	harness_run(&r, NULL, ARBITERCTL, "consume", "--brokers", h.bootstrap, "--topic", CONTENT,
		    "--group-by", "lang", NULL);
	ck_assert_msg(r.status == 0, "consume exited %d:\n%s", r.status, r.err);
	size_t n;
	char **lines = split_lines(r.out, &n);
	ck_assert_msg(n == 3, "expected 3 groups, got %zu:\n%s", n, r.out);
	long sw = 0, en = 0, none = 0;
	for (size_t i = 0; i < n; i++) {
		long count;
		char value[64];
		ck_assert_msg(sscanf(lines[i], "%ld %63s", &count, value) == 2, "bad line: %s",
			      lines[i]);
		if (!strcmp(value, "\"sw\""))
			sw = count;
		else if (!strcmp(value, "\"en\""))
			en = count;
		else if (!strcmp(value, "(none)"))
			none = count;
		else
			ck_abort_msg("unexpected group: %s", lines[i]);
	}
	ck_assert_int_eq(sw, 3);
	ck_assert_int_eq(en, 1);
	ck_assert_int_eq(none, 1);
	free(lines);
	harness_run_free(&r);
	harness_stop(&h);
}
END_TEST

/* --- 4. lag ---------------------------------------------------------------------- */

/* The lag output: per partition, then the total. */
struct lag {
	int n;
	int64_t committed[8], end[8], lag[8];
	int64_t total_committed, total_end, total_lag;
	bool total;
};

static void lag_parse(const char *out, struct lag *l)
{
	memset(l, 0, sizeof(*l));
	size_t n;
	char **lines = split_lines(out, &n);
	for (size_t i = 0; i < n; i++) {
		int p;
		int64_t c, e, g;
		if (sscanf(lines[i],
			   CONTENT "[%d] committed=%" SCNd64 " end=%" SCNd64 " lag=%" SCNd64, &p,
			   &c, &e, &g) == 4) {
			ck_assert_msg(!l->total, "a partition after the total: %s", out);
			ck_assert_int_eq(p, l->n);
			ck_assert_int_lt(l->n, 8);
			l->committed[l->n] = c;
			l->end[l->n] = e;
			l->lag[l->n] = g;
			l->n++;
		} else if (sscanf(lines[i],
				  CONTENT "[%d] committed=none end=%" SCNd64 " lag=%" SCNd64, &p,
				  &e, &g) == 3) {
			/* Nothing committed yet: librdkafka's "no offset" (-1001). */
			ck_assert_msg(!l->total, "a partition after the total: %s", out);
			ck_assert_int_eq(p, l->n);
			ck_assert_int_lt(l->n, 8);
			l->committed[l->n] = -1001;
			l->end[l->n] = e;
			l->lag[l->n] = g;
			l->n++;
		} else if (sscanf(lines[i],
				  "total committed=%" SCNd64 " end=%" SCNd64 " lag=%" SCNd64, &c,
				  &e, &g) == 3) {
			ck_assert_msg(!l->total && i == n - 1, "total not last: %s", out);
			l->total = true;
			l->total_committed = c;
			l->total_end = e;
			l->total_lag = g;
		} else {
			ck_abort_msg("unexpected lag line: %s", lines[i]);
		}
	}
	free(lines);
}

/* Commits OFFSET of PARTITION for GROUP, as a consumer of the group would. */
static void commit_offset(struct harness *h, const char *group, int partition, int64_t offset)
{
	char err[256];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_conf_set(conf, "bootstrap.servers", h->bootstrap, err, sizeof(err));
	rd_kafka_conf_set(conf, "group.id", group, err, sizeof(err));
	rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err));
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
	ck_assert_msg(rk != NULL, "consumer: %s", err);
	rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(parts, CONTENT, partition)->offset = offset;
	rd_kafka_resp_err_t e = rd_kafka_commit(rk, parts, 0);
	ck_assert_msg(e == 0, "commit: %s", rd_kafka_err2str(e));
	rd_kafka_topic_partition_list_destroy(parts);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
}

START_TEST(lag_of_a_group_that_committed_nothing_is_everything)
{
	struct harness h;
	start_cluster(&h);
	enum { N = 7 };
	for (int i = 0; i < N; i++) {
		char key[16];
		snprintf(key, sizeof(key), "k-%d", i);
		harness_produce(&h, CONTENT, key, "x", 1);
	}
	harness_flush(&h);
	char group[80];
	snprintf(group, sizeof(group), "%s-lag", h.group);

	struct harness_run r;
	struct lag l;
	harness_run(&r, NULL, ARBITERCTL, "lag", "--brokers", h.bootstrap, "--group", group,
		    "--topic", CONTENT, NULL);
	ck_assert_msg(r.status == 0, "lag exited %d:\n%s", r.status, r.err);
	lag_parse(r.out, &l);
	ck_assert_msg(l.total, "no total line:\n%s", r.out);
	ck_assert_int_eq(l.n, 3);
	ck_assert_int_eq(l.total_lag, N);
	ck_assert_int_eq(l.total_end, N);
	ck_assert_int_eq(l.total_committed, 0);
	int64_t sum = 0;
	int busiest = 0;
	for (int p = 0; p < l.n; p++) {
		ck_assert_int_eq(l.lag[p], l.end[p]);
		sum += l.lag[p];
		if (l.end[p] > l.end[busiest])
			busiest = p;
	}
	ck_assert_int_eq(sum, N);
	harness_run_free(&r);

	/* Once the group has committed part of one partition, only the rest lags. */
	int64_t end = l.end[busiest];
	ck_assert_int_ge(end, 2); /* 7 records over 3 partitions */
	commit_offset(&h, group, busiest, end - 1);
	harness_run(&r, NULL, ARBITERCTL, "lag", "--brokers", h.bootstrap, "--group", group,
		    "--topic", CONTENT, NULL);
	ck_assert_msg(r.status == 0, "lag exited %d:\n%s", r.status, r.err);
	lag_parse(r.out, &l);
	ck_assert(l.total);
	ck_assert_int_eq(l.committed[busiest], end - 1);
	ck_assert_int_eq(l.lag[busiest], 1);
	ck_assert_int_eq(l.total_committed, end - 1);
	ck_assert_int_eq(l.total_lag, N - (end - 1));
	harness_run_free(&r);
	harness_stop(&h);
}
END_TEST

/* --- 5. mock-kafka ------------------------------------------------------------------ */

/* Starts arbiterctl mock-kafka in the background, stdin from /dev/null. */
static pid_t mock_kafka_spawn(const char *bootstrap_file, const char *partitions, int out, int err)
{
	const char *argv[] = {
		ARBITERCTL, "mock-kafka", "--bootstrap-file", bootstrap_file, "--partitions",
		partitions, NULL};
	int in = open("/dev/null", O_RDONLY);
	ck_assert_int_ge(in, 0);
	pid_t pid = harness_spawn(argv, in, out, err);
	close(in);
	return pid;
}

START_TEST(mock_kafka_serves_until_sigterm)
{
	char bootstrap_file[320];
	snprintf(bootstrap_file, sizeof(bootstrap_file), "%s/mock-%d.bootstrap", scratch,
		 (int)getpid());
	int out = harness_anon_file(), err = harness_anon_file();
	pid_t pid = mock_kafka_spawn(bootstrap_file, "3", out, err);

	/* The file appears, atomically, once the cluster is up: at most 10 s. */
	bool up = false;
	for (int i = 0; i < 100 && !up; i++) {
		up = access(bootstrap_file, F_OK) == 0;
		int status;
		if (!up && waitpid(pid, &status, WNOHANG) == pid) {
			char *e = harness_slurp(err);
			ck_abort_msg("mock-kafka exited (status 0x%x) before it was up:\n%s",
				     (unsigned)status, e);
		}
		if (!up)
			usleep(100 * 1000);
	}
	if (!up)
		kill(pid, SIGKILL);
	ck_assert_msg(up, "%s did not appear within 10 s", bootstrap_file);

	FILE *f = fopen(bootstrap_file, "r");
	ck_assert_ptr_nonnull(f);
	char content[256] = "";
	size_t len = fread(content, 1, sizeof(content) - 1, f);
	fclose(f);
	content[len] = '\0';
	unsigned port = 0;
	int used = 0;
	ck_assert_msg(sscanf(content, "127.0.0.1:%5u%n", &port, &used) == 1 && port > 0 &&
			      port < 65536 && !strcmp(content + used, "\n"),
		      "bootstrap file holds \"%s\"", content);
	char brokers[64];
	snprintf(brokers, sizeof(brokers), "127.0.0.1:%u", port);

	struct harness_run r;
	char input[512];
	snprintf(input, sizeof(input), "%s\n", events[0]);
	harness_run(&r, input, ARBITERCTL, "produce", "--brokers", brokers, "--topic", CONTENT,
		    NULL);
	ck_assert_msg(r.status == 0, "produce exited %d:\n%s", r.status, r.err);
	assert_contains(r.err, "produced 1 message(s)");
	harness_run_free(&r);

	harness_run(&r, NULL, ARBITERCTL, "consume", "--brokers", brokers, "--topic", CONTENT,
		    NULL);
	ck_assert_msg(r.status == 0, "consume exited %d:\n%s", r.status, r.err);
	size_t n;
	char **lines = split_lines(r.out, &n);
	ck_assert_msg(n == 1, "expected 1 line, got %zu:\n%s", n, r.out);
	assert_event_line(lines[0], 0);
	free(lines);
	harness_run_free(&r);

	/* --partitions 3 took: lag lists three partitions. */
	harness_run(&r, NULL, ARBITERCTL, "lag", "--brokers", brokers, "--group", "cli-mock",
		    "--topic", CONTENT, NULL);
	ck_assert_int_eq(r.status, 0);
	struct lag l;
	lag_parse(r.out, &l);
	ck_assert_int_eq(l.n, 3);
	ck_assert_int_eq(l.total_end, 1);
	harness_run_free(&r);

	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	int status = harness_wait(pid, 10);
	char *mock_out = harness_slurp(out), *mock_err = harness_slurp(err);
	ck_assert_msg(status == 0, "mock-kafka exited %d after SIGTERM:\n%s", status, mock_err);
	/* It also printed the address on stdout. */
	ck_assert_str_eq(mock_out, content);
	free(mock_out);
	free(mock_err);
	unlink(bootstrap_file);
}
END_TEST

/* Starts mock-kafka, spins until its bootstrap file exists and sends SIGTERM at
 * once. Returns the exit status. */
static int mock_kafka_term_when_up(const char *bootstrap_file)
{
	unlink(bootstrap_file);
	int out = harness_anon_file(), err = harness_anon_file();
	pid_t pid = mock_kafka_spawn(bootstrap_file, "1", out, err);
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	bool up = false;
	do {
		up = access(bootstrap_file, F_OK) == 0;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (!up && t.tv_sec - t0.tv_sec < 10);
	kill(pid, up ? SIGTERM : SIGKILL);
	int status = harness_wait(pid, 10);
	close(out);
	close(err);
	unlink(bootstrap_file);
	ck_assert_msg(up, "%s did not appear within 10 s", bootstrap_file);
	return status;
}

/* The bootstrap file is the readiness signal: from the moment it exists,
 * SIGTERM must mean a clean exit 0, within a bound.
 * Two races lived here once: stop handlers installed only after the file
 * was written, and a pause() loop that could miss a signal; ctl_mock.c now
 * blocks the signals before librdkafka's threads start and sigwait()s.
 * Each try takes 0.1 to 2 s: librdkafka's mock cluster sometimes answers a
 * topic creation only after its 1 s poll timeout. */
START_TEST(mock_kafka_sigterm_right_after_bootstrap_file_exits_0)
{
	char bootstrap_file[320];
	snprintf(bootstrap_file, sizeof(bootstrap_file), "%s/race-%d.bootstrap", scratch,
		 (int)getpid());
	for (int i = 0; i < 10; i++) {
		int status = mock_kafka_term_when_up(bootstrap_file);
		ck_assert_msg(status != -1,
			      "try %d: mock-kafka did not exit within 10 s of SIGTERM sent right "
			      "after it wrote its bootstrap file",
			      i + 1);
		ck_assert_msg(status == 0,
			      "try %d: mock-kafka exited %d on SIGTERM right after writing its "
			      "bootstrap file",
			      i + 1, status);
	}
}
END_TEST

static Suite *cli_suite(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("config");
	tcase_add_test(tc, check_reports_every_error_with_its_position);
	tcase_add_test(tc, check_accepts_a_valid_file);
	tcase_add_test(tc, check_of_a_missing_file_says_so);
	suite_add_tcase(s, tc);

	tc = tcase_create("usage");
	tcase_add_test(tc, arbiterd_usage);
	tcase_add_test(tc, arbiterctl_usage);
	suite_add_tcase(s, tc);

	tc = tcase_create("kafka");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, produce_skips_invalid_lines_and_consume_reads_the_rest_back);
	tcase_add_test(tc, send_invalid_sends_raw_bytes_that_consume_reports);
	tcase_add_test(tc, format_json_sends_lines_unchanged);
	tcase_add_test(tc, consume_group_by_counts_per_value);
	tcase_add_test(tc, produce_consume_and_lag_take_their_settings_from_config);
	tcase_add_test(tc, lag_of_a_group_that_committed_nothing_is_everything);
	suite_add_tcase(s, tc);

	tc = tcase_create("mock-kafka");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, mock_kafka_serves_until_sigterm);
	tcase_add_test(tc, mock_kafka_sigterm_right_after_bootstrap_file_exits_0);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	snprintf(scratch, sizeof(scratch), "/tmp/arbiter-cli-XXXXXX");
	if (!mkdtemp(scratch)) {
		perror("mkdtemp");
		return EXIT_FAILURE;
	}
	int rc = harness_main(cli_suite());
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", scratch);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", scratch);
	return rc;
}
