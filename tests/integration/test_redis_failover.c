/* Integration: arbiterd and arbiterctl find the Redis master through Sentinel and follow its
 * failovers without losing or doubling an escalation. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include <check.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arbiter/v1/content_event.pb-c.h"
#include "harness.h"
#include "queues.h"
#include "redis_server.h"

#define PARTS 3
#define MASTER "arbiter-test"
#define PREFIX "t1:"
#define DB 3
#define BATCH 200

static const char rules_yaml[] = "rules:\n"
				 "  - id: reported\n"
				 "    when: report_count >= 5\n"
				 "    escalate: {queue: reports, band: high, sla: 4h}\n";

/* Events FROM..TO-1; returns how many escalate (report_count >= 5). */
static int produce_events(struct harness *h, int from, int to)
{
	static const char *const langs[] = {"en", NULL};
	return harness_produce_reported(h, from, to, langs);
}

/* The config: Redis through the sentinel, in database DB under PREFIX. */
static void write_config(struct harness *h, const struct redis_server *sentinel)
{
	harness_write_file(h, "rules.yaml", rules_yaml);
	char *extra = NULL;
	ck_assert_int_ge(asprintf(&extra,
				  "rules:\n  files: [rules.yaml]\n"
				  "review:\n  queues:\n    reports: {}\n"
				  "redis:\n"
				  "  sentinels: [\"127.0.0.1:1\", \"%s\"]\n" /* the first is down */
				  "  master_name: " MASTER "\n"
				  "  db: %d\n"
				  "  prefix: \"" PREFIX "\"\n"
				  "  connect_timeout: 500ms\n"
				  "  command_timeout: 2s\n",
				  sentinel->address, DB),
			 0);
	harness_write_config(h, extra);
	free(extra);
}

/* Every entry of queue "reports" on the server RS: how many, how many twice. */
static void count_entries(const struct redis_server *rs, int *entries, int *duplicates)
{
	redisContext *c = redis_server_connect(rs);
	freeReplyObject(redisCommand(c, "SELECT %d", DB));
	json_t *ids = json_object();
	*entries = *duplicates = 0;
	for (int b = 0; b < CONFIG_BANDS; b++) {
		char key[QUEUES_KEY_MAX];
		queues_key_stream(key, PREFIX, "reports", (enum config_band)b);
		redisReply *r = redisCommand(c, "XRANGE %s - +", key);
		ck_assert_ptr_nonnull(r);
		ck_assert_int_eq(r->type, REDIS_REPLY_ARRAY);
		for (size_t i = 0; i < r->elements; i++) {
			redisReply *fields = r->element[i]->element[1];
			for (size_t k = 0; k + 1 < fields->elements; k += 2) {
				if (strcmp(fields->element[k]->str, "id"))
					continue;
				const char *id = fields->element[k + 1]->str;
				(*entries)++;
				*duplicates += json_object_get(ids, id) != NULL;
				json_object_set_new(ids, id, json_true());
			}
		}
		freeReplyObject(r);
	}
	json_decref(ids);
	redisFree(c);
}

/* Asks the sentinel for a failover, again while it says one cannot start yet. */
static void sentinel_failover(const struct redis_server *sentinel)
{
	redisContext *c = redis_server_connect(sentinel);
	for (int i = 0; i < 100; i++) {
		redisReply *r = redisCommand(c, "SENTINEL FAILOVER %s", MASTER);
		ck_assert_ptr_nonnull(r);
		bool ok = r->type == REDIS_REPLY_STATUS;
		if (!ok)
			fprintf(stderr, "SENTINEL FAILOVER: %s\n", r->str);
		freeReplyObject(r);
		if (ok)
			break;
		usleep(200 * 1000);
	}
	redisFree(c);
}

START_TEST(escalations_follow_the_master_through_failovers_exactly_once)
{
	struct harness h;
	struct redis_server a, b, sentinel;
	harness_start(&h, PARTS);
	h.log_level = "debug"; /* each try on a master without its replica is a debug line */
	redis_server_start(&a);
	redis_server_start_replica(&b, &a);
	redis_sentinel_start(&sentinel, &a, MASTER, 500, 1);
	write_config(&h, &sentinel);
	harness_daemon_start(&h);
	int want = produce_events(&h, 0, BATCH);
	ck_assert(harness_wait_committed(&h, "content.events", 60));
	ck_assert(harness_log_contains(&h, "master " MASTER " at "));

	/* The master dies. The sentinel promotes the replica, which has no replica of
	 * its own: no write counts there (redis.wait_replicas is 1 with Sentinel), so
	 * the input waits, whatever arrives meanwhile. */
	redis_server_kill(&a);
	want += produce_events(&h, BATCH, 2 * BATCH);
	ck_assert_msg(redis_sentinel_wait_master(&sentinel, MASTER, b.port, 30),
		      "no failover to the replica; see %s/redis.log", sentinel.dir);
	want += produce_events(&h, 2 * BATCH, 3 * BATCH);
	for (int i = 0;
	     i < 100 && !harness_log_contains(&h, "of redis.wait_replicas are connected"); i++)
		usleep(100 * 1000);
	ck_assert(harness_log_contains(&h, "only 0 of the 1 replica(s) of redis.wait_replicas are "
					   "connected"));
	ck_assert(harness_log_contains(&h, "review queues unreachable: input paused"));
	ck_assert(harness_daemon_alive(&h));

	/* The old master comes back; the sentinel makes it the new master's replica,
	 * and every held escalation goes in. */
	redis_server_restart(&a);
	ck_assert_msg(redis_server_wait_replicas(&b, 1, 40),
		      "the old master did not become a replica; see %s/redis.log", sentinel.dir);
	ck_assert(harness_wait_committed(&h, "content.events", 60));

	/* A planned failover back, while events flow. */
	want += produce_events(&h, 3 * BATCH, 4 * BATCH);
	sentinel_failover(&sentinel);
	want += produce_events(&h, 4 * BATCH, 5 * BATCH);
	ck_assert_msg(redis_sentinel_wait_master(&sentinel, MASTER, a.port, 30),
		      "no failover back; see %s/redis.log", sentinel.dir);
	ck_assert(redis_server_wait_replicas(&a, 1, 40));
	want += produce_events(&h, 5 * BATCH, 6 * BATCH);
	ck_assert(harness_wait_committed(&h, "content.events", 60));
	ck_assert(harness_daemon_alive(&h));

	int entries, duplicates;
	count_entries(&a, &entries, &duplicates);
	ck_assert_int_eq(duplicates, 0);
	ck_assert_int_eq(entries, want);
	ck_assert_int_eq(harness_daemon_stop(&h, SIGTERM), 0);

	/* arbiterctl finds the master the same way, in the config's db and prefix: its
	 * claim comes from what the daemon wrote. */
	struct harness_run run;
	ck_assert_int_eq(harness_ctl(&run, NULL,
				     "review claim --config %s --queue reports --reviewer ana",
				     h.config),
			 0);
	json_t *j = json_loads(run.out, 0, NULL);
	ck_assert_msg(j && json_string_value(json_object_get(j, "id")), "%s%s", run.out, run.err);
	json_decref(j);
	harness_run_free(&run);
	ck_assert_int_eq(harness_ctl(&run, NULL, "queues --config %s --json", h.config), 0);
	j = json_loads(run.out, 0, NULL);
	json_t *band =
		json_object_get(json_object_get(json_object_get(j, "reports"), "bands"), "high");
	ck_assert_int_eq(json_integer_value(json_object_get(band, "entries")), want);
	ck_assert_int_eq(json_integer_value(json_object_get(band, "claimed")), 1);
	json_decref(j);
	harness_run_free(&run);

	/* With no sentinel that knows the master, it says so and names them. */
	redis_server_stop(&sentinel);
	ck_assert_int_eq(harness_ctl(&run, NULL, "queues --config %s", h.config), 1);
	ck_assert_msg(strstr(run.err, "no sentinel named the master " MASTER) &&
			      strstr(run.err, "127.0.0.1:1") && strstr(run.err, sentinel.address),
		      "%s", run.err);
	harness_run_free(&run);

	harness_stop(&h);
	redis_server_stop(&a);
	redis_server_stop(&b);
}
END_TEST

static Suite *redis_failover_suite(void)
{
	Suite *s = suite_create("redis_failover");
	TCase *tc = tcase_create("sentinel");
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, escalations_follow_the_master_through_failovers_exactly_once);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return harness_main(redis_failover_suite());
}
