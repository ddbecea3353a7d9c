/* Integration: escalations reach their review queue in Redis exactly once, through redelivery and a
 * Redis crash. */
#include <check.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "arbiter/v1/content_event.pb-c.h"
#include "arbiter/v1/escalation.pb-c.h"
#include "harness.h"
#include "queues.h"
#include "records.h"
#include "redis_server.h"

#define PARTS 3

static const char rules_yaml[] = "rules:\n"
				 "  - id: reported\n"
				 "    when: report_count >= 5\n"
				 "    escalate: {queue: reports, band: high, sla: 4h}\n"
				 "  - id: reported.sw\n"
				 "    when: report_count >= 8 and lang == \"sw\"\n"
				 "    action: demote\n"
				 "    escalate: {queue: reports, band: urgent, sla: 1h}\n";

static const char queues_yaml[] = "rules:\n  files: [rules.yaml]\n"
				  "review:\n"
				  "  queues:\n"
				  "    reports: {}\n"
				  "    reports-sw: {serves: reports, languages: [sw]}\n";

/* Events FROM..TO-1; returns how many escalate (report_count >= 5). */
static int produce_events(struct harness *h, int from, int to)
{
	static const char *const langs[] = {"en", "sw", "sw", NULL};
	return harness_produce_reported(h, from, to, langs);
}

static void write_rules(struct harness *h)
{
	harness_write_file(h, "rules.yaml", rules_yaml);
	harness_write_config(h, queues_yaml);
}

struct entry_stats {
	int entries;
	int duplicates;
	int misrouted; /* a Swahili event outside reports-sw, or the reverse */
	json_t *ids;   /* escalation id -> stream id time (ms) */
};

/* Reads every entry of both queues. */
static void read_entries(struct redis_server *rs, struct entry_stats *st)
{
	static const char *const queues[] = {"reports", "reports-sw"};
	redisContext *rc = redis_server_connect(rs);
	st->ids = json_object();
	for (int q = 0; q < 2; q++) {
		for (int b = 0; b < CONFIG_BANDS; b++) {
			char key[QUEUES_KEY_MAX];
			queues_key_stream(key, "arbiter:", queues[q], (enum config_band)b);
			redisReply *r = redisCommand(rc, "XRANGE %s - +", key);
			ck_assert_ptr_nonnull(r);
			ck_assert_int_eq(r->type, REDIS_REPLY_ARRAY);
			for (size_t i = 0; i < r->elements; i++) {
				redisReply *fields = r->element[i]->element[1];
				const char *id = NULL, *lang = NULL;
				for (size_t k = 0; k + 1 < fields->elements; k += 2) {
					if (!strcmp(fields->element[k]->str, "id"))
						id = fields->element[k + 1]->str;
					if (!strcmp(fields->element[k]->str, "lang"))
						lang = fields->element[k + 1]->str;
				}
				ck_assert_ptr_nonnull(id);
				st->entries++;
				if (json_object_get(st->ids, id))
					st->duplicates++;
				json_object_set_new(
					st->ids, id,
					json_integer(atoll(r->element[i]->element[0]->str)));
				st->misrouted += (!strcmp(lang, "sw")) != (q == 1);
			}
			freeReplyObject(r);
		}
	}
	redisFree(rc);
}

START_TEST(redelivered_input_adds_no_entry)
{
	enum { N = 400 };
	struct harness h;
	struct redis_server rs;
	harness_start(&h, PARTS);
	redis_server_start(&rs);
	h.redis_address = rs.address;
	write_rules(&h);
	int want = produce_events(&h, 0, N);

	harness_daemon_start(&h);
	ck_assert(harness_wait_committed(&h, "content.events", 60));
	ck_assert_int_eq(harness_daemon_stop(&h, SIGTERM), 0);
	struct entry_stats first = {0};
	read_entries(&rs, &first);
	ck_assert_int_eq(first.entries, want);
	ck_assert_int_eq(first.duplicates, 0);
	ck_assert_int_eq(first.misrouted, 0);

	/* A second group reads the same messages again: every escalation
	 * finds its dedupe key. */
	size_t gl = strlen(h.group);
	ck_assert_uint_lt(gl + 6, sizeof(h.group));
	memcpy(h.group + gl, "-again", 7);
	write_rules(&h);
	harness_daemon_start(&h);
	ck_assert(harness_wait_committed(&h, "content.events", 60));
	ck_assert_int_eq(harness_daemon_stop(&h, SIGTERM), 0);
	struct entry_stats again = {0};
	read_entries(&rs, &again);
	ck_assert_int_eq(again.entries, want);
	ck_assert_int_eq(again.duplicates, 0);
	ck_assert(json_equal(first.ids, again.ids));
	json_decref(first.ids);
	json_decref(again.ids);
	harness_stop(&h);
	redis_server_stop(&rs);
}
END_TEST

static int64_t now_ms(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

START_TEST(redis_crash_loses_nothing_and_doubles_nothing)
{
	enum { N = 600 };
	struct harness h;
	struct redis_server rs;
	harness_start(&h, PARTS);
	redis_server_start(&rs);
	h.redis_address = rs.address;
	write_rules(&h);
	harness_daemon_start(&h);
	int want = produce_events(&h, 0, N);
	ck_assert(harness_wait_committed(&h, "content.events", 60));

	/* Redis dies; events keep coming. */
	redis_server_kill(&rs);
	want += produce_events(&h, N, 2 * N);
	for (int i = 0; i < 100 && !harness_log_contains(&h, "input paused"); i++)
		usleep(50 * 1000);
	ck_assert(harness_log_contains(&h, "review queues unreachable: input paused"));
	usleep(1500 * 1000);
	int64_t held[PARTS], end[PARTS];
	ck_assert_int_eq(harness_committed(&h, "content.events", held, PARTS), PARTS);
	/* The new events cannot all be committed: their escalations wait. */
	ck_assert_int_lt(held[0] + held[1] + held[2], 2 * N);

	int64_t restarted = now_ms();
	redis_server_restart(&rs);
	ck_assert(harness_wait_committed(&h, "content.events", 60));
	ck_assert(harness_log_contains(&h, "review queues reachable: input resumed"));
	ck_assert_int_eq(harness_committed(&h, "content.events", end, PARTS), PARTS);
	ck_assert_int_eq(harness_daemon_stop(&h, SIGTERM), 0);

	struct entry_stats st = {0};
	read_entries(&rs, &st);
	ck_assert_int_eq(st.duplicates, 0);
	ck_assert_int_eq(st.misrouted, 0);
	ck_assert_int_eq(st.entries, want);
	/* Offsets never passed an unacknowledged escalation: what was added
	 * after the restart comes from offsets not committed during the
	 * outage. */
	redisContext *rc = redis_server_connect(&rs);
	int late = 0;
	const char *id;
	json_t *t;
	json_object_foreach(st.ids, id, t)
	{
		if (json_integer_value(t) < restarted)
			continue;
		char key[QUEUES_KEY_MAX];
		queues_key_seen(key, "arbiter:", id);
		redisReply *loc = redisCommand(rc, "GET %s", key);
		ck_assert_int_eq(loc->type, REDIS_REPLY_STRING);
		char queue[64], band[16], sid[64];
		ck_assert_int_eq(sscanf(loc->str, "%63s %15s %63s", queue, band, sid), 3);
		queues_key_stream(key, "arbiter:", queue,
				  (enum config_band)queues_band_parse(band));
		redisReply *r = redisCommand(rc, "XRANGE %s %s %s", key, sid, sid);
		ck_assert_int_eq(r->elements, 1);
		redisReply *fields = r->element[0]->element[1];
		for (size_t k = 0; k + 1 < fields->elements; k += 2) {
			if (strcmp(fields->element[k]->str, "escalation"))
				continue;
			Arbiter__V1__Escalation *e = arbiter__v1__escalation__unpack(
				NULL, fields->element[k + 1]->len,
				(const uint8_t *)fields->element[k + 1]->str);
			ck_assert_ptr_nonnull(e);
			ck_assert_int_ge(e->source_offset, held[e->source_partition]);
			arbiter__v1__escalation__free_unpacked(e, NULL);
			late++;
		}
		freeReplyObject(r);
		freeReplyObject(loc);
	}
	ck_assert_int_gt(late, 0);
	redisFree(rc);
	json_decref(st.ids);
	harness_stop(&h);
	redis_server_stop(&rs);
}
END_TEST

START_TEST(hung_redis_times_out_and_pauses_the_input)
{
	enum { N = 300 };
	struct harness h;
	struct redis_server rs;
	harness_start(&h, PARTS);
	redis_server_start(&rs);
	h.redis_address = rs.address; /* the harness sets command_timeout: 2s */
	write_rules(&h);
	harness_daemon_start(&h);
	int want = produce_events(&h, 0, N);
	ck_assert(harness_wait_committed(&h, "content.events", 60));

	/* A Redis that accepts connections but never answers. */
	kill(rs.pid, SIGSTOP);
	want += produce_events(&h, N, 2 * N);
	for (int i = 0; i < 100 && !harness_log_contains(&h, "no reply within"); i++)
		usleep(100 * 1000);
	ck_assert(harness_log_contains(&h, "no reply within 2000 ms"));
	ck_assert(harness_log_contains(&h, "review queues unreachable: input paused"));
	kill(rs.pid, SIGCONT);
	ck_assert(harness_wait_committed(&h, "content.events", 60));
	ck_assert_int_eq(harness_daemon_stop(&h, SIGTERM), 0);

	struct entry_stats st = {0};
	read_entries(&rs, &st);
	ck_assert_int_eq(st.duplicates, 0);
	ck_assert_int_eq(st.entries, want);
	json_decref(st.ids);
	harness_stop(&h);
	redis_server_stop(&rs);
}
END_TEST

struct fed {
	int n, pseudonymised, excerpts, plain_country;
	const char *country; /* expected on every record read; NULL: none */
};

static void read_fed(void *opaque, const rd_kafka_message_t *m)
{
	struct fed *f = opaque;
	Arbiter__V1__Escalation *e = arbiter__v1__escalation__unpack(NULL, m->len, m->payload);
	ck_assert_ptr_nonnull(e);
	f->n++;
	char want[65];
	records_pseudonym(want, "s3cret", "author-1");
	f->pseudonymised += !strcmp(e->author_pseudonym, want);
	f->excerpts += !strcmp(e->text_excerpt, "kata kab"); /* 8 bytes, on a boundary */
	ck_assert(e->monitors);
	ck_assert_str_eq(e->country, f->country ? f->country : "");
	arbiter__v1__escalation__free_unpacked(e, NULL);
}

START_TEST(monitors_get_pseudonymised_per_country_feeds)
{
	struct harness h;
	struct redis_server rs;
	harness_start(&h, 1);
	redis_server_start(&rs);
	h.redis_address = rs.address;
	harness_write_file(&h, "rules.yaml",
			   "modes: {election-ke: {countries: [KE]}}\n"
			   "rules:\n"
			   "  - id: watched\n"
			   "    when: report_count >= 5\n"
			   "    escalate: {queue: reports, monitors: true}\n"
			   "  - id: in-mode\n"
			   "    modes: [election-ke]\n"
			   "    when: report_count == 1\n"
			   "    escalate: {queue: reports}\n"
			   "  - id: unwatched\n"
			   "    when: report_count == 2\n"
			   "    escalate: {queue: reports}\n");
	harness_write_file(&h, "key", "s3cret\n");
	harness_write_config(&h, "rules: {files: [rules.yaml]}\n"
				 "review: {queues: {reports: {}}}\n"
				 "monitors:\n"
				 "  modes: [election-ke]\n"
				 "  per_country_topics: true\n"
				 "  include_excerpt: true\n"
				 "  excerpt_max_bytes: 9\n"
				 "  pseudonym_key: {file: key}\n");
	/* KE: watched (fed), in-mode (fed by monitors.modes); TZ: unwatched
	 * and outside the mode (not fed); no country: watched (fed to the
	 * plain topic). */
	static const struct {
		const char *country;
		int reports;
	} evs[] = {{"KE", 7}, {"KE", 1}, {"TZ", 2}, {"", 6}};
	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
		char id[16];
		snprintf(id, sizeof(id), "c-%zu", i);
		Arbiter__V1__ContentEvent ev = ARBITER__V1__CONTENT_EVENT__INIT;
		ev.event_id = id;
		ev.content_id = id;
		ev.author_id = "author-1";
		ev.text = "kata kab\xc3\xa9isa"; /* the 9th byte is inside é */
		ev.country = (char *)evs[i].country;
		ev.report_count = evs[i].reports;
		harness_produce_msg(&h, "content.events", id, &ev.base);
	}
	harness_flush(&h);
	harness_daemon_start(&h);
	ck_assert(harness_wait_committed(&h, "content.events", 60));
	ck_assert_int_eq(harness_daemon_stop(&h, SIGTERM), 0);

	struct fed ke = {.country = "KE"}, plain = {0};
	harness_read(&h, "moderation.escalations.KE", read_fed, &ke);
	harness_read(&h, "moderation.escalations", read_fed, &plain);
	ck_assert_int_eq(ke.n, 2);
	ck_assert_int_eq(plain.n, 1);
	struct fed tz = {.country = "TZ"};
	harness_read(&h, "moderation.escalations.TZ", read_fed, &tz);
	ck_assert_int_eq(tz.n, 0);
	ck_assert_int_eq(ke.pseudonymised + plain.pseudonymised, 3);
	ck_assert_int_eq(ke.excerpts + plain.excerpts, 3);
	/* Every escalation is in the review queue, fed or not. */
	struct entry_stats st = {0};
	read_entries(&rs, &st);
	ck_assert_int_eq(st.entries, 4);
	json_decref(st.ids);
	harness_stop(&h);
	redis_server_stop(&rs);
}
END_TEST

static Suite *queues_e2e_suite(void)
{
	Suite *s = suite_create("queues_e2e");
	TCase *tc = tcase_create("redis");
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, redelivered_input_adds_no_entry);
	tcase_add_test(tc, redis_crash_loses_nothing_and_doubles_nothing);
	tcase_add_test(tc, monitors_get_pseudonymised_per_country_feeds);
	tcase_add_test(tc, hung_redis_times_out_and_pauses_the_input);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return harness_main(queues_e2e_suite());
}
