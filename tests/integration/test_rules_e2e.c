/* Integration: verdicts arbiterd acts on (audit and escalation records) equal what arbiterctl eval
 * says. */
#include <check.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arbiter/v1/audit_record.pb-c.h"
#include "arbiter/v1/content_event.pb-c.h"
#include "arbiter/v1/escalation.pb-c.h"
#include "harness.h"
#include "log.h"
#include "pbjson.h"
#include "queues.h"
#include "redis_server.h"

static const char rules_yaml[] =
	"lists:\n"
	"  threats: [\"kata kabisa\", waondoe, \"ubij ih\"]\n"
	"  claims: [\"rigged election\", \"ballots burned\"]\n"
	"modes:\n"
	"  election-ke: {countries: [KE], from: 2027-08-01, until: 2027-08-20}\n"
	"rules:\n"
	"  - id: threat\n"
	"    when: text contains_any threats and signal.violence >= 0.5\n"
	"    action: remove\n"
	"    escalate: {queue: incitement, band: urgent, sla: 1h}\n"
	"    category: STATEMENT_CATEGORY_VIOLENCE\n"
	"  - id: threat.low\n"
	"    when: text contains_any threats\n"
	"    action: label\n"
	"  - id: claims\n"
	"    modes: [election-ke]\n"
	"    when: text contains_any claims and reach >= 1000\n"
	"    action: label\n"
	"    escalate: {queue: election-integrity, band: high, sla: 4h, monitors: true}\n"
	"  - id: spam\n"
	"    when: text matches /buy\\s+now/i and surface in [comment, message]\n"
	"    action: demote\n"
	"  - id: reports\n"
	"    when: report_count >= 5\n"
	"    escalate: {queue: reported, band: normal, sla: 1d}\n"
	"  - id: shadow.hate\n"
	"    shadow: true\n"
	"    when: signal.hate >= 0.7\n"
	"    action: demote\n";

/* Builds event I as a JSON line: a deterministic mix that hits every rule. */
static char *event_json(int i)
{
	static const char *const texts[] = {
		"habari za leo",      "tutawaondoe WAONDOE",
		"kata kabisa sasa",   "the RIGGED  election",
		"Buy   now cheap",    "ballots burned here",
		"whatever waondoewe", "ubij ih",
	};
	static const char *const countries[] = {"KE", "BA", "ID", "KE"};
	char buf[1024];
	snprintf(buf, sizeof(buf),
		 "{\"event_id\":\"e-%d\",\"content_id\":\"c-%d\",\"text\":\"%s\",\"lang\":\"sw\","
		 "\"country\":\"%s\",\"surface\":\"%s\",\"reach\":%d,\"report_count\":%d,"
		 "\"created_at_ms\":%lld,\"signals\":{\"violence\":%.2f,\"hate\":%.2f}}",
		 i, i, texts[i % 8], countries[i % 4], i % 3 ? "COMMENT" : "POST", (i * 37) % 5000,
		 i % 7, /* inside the election window for half of them */
		 i % 2 ? 1817424000000LL : 1790000000000LL, (i % 10) / 10.0, (i % 9) / 10.0);
	return strdup(buf);
}

struct seen {
	json_t *audit; /* content_id -> {action, rules} */
	json_t *esc;   /* event_id -> [queues], from the review queues in Redis */
	json_t *fed;   /* event_id -> [queues], from the monitors' topic */
	const char *version;
	int version_mismatch;
	int64_t since_ms; /* the wall clock before the daemon started */
	int out_of_time;  /* audit records stamped outside since_ms .. when read */
};

static void read_audit(void *opaque, const rd_kafka_message_t *m)
{
	struct seen *s = opaque;
	Arbiter__V1__AuditRecord *r = arbiter__v1__audit_record__unpack(NULL, m->len, m->payload);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->actor, ARBITER__V1__ACTOR__AUTOMATED);
	json_t *j = pbjson_encode(&r->base);
	json_object_set(s->audit, r->content_id, j);
	json_decref(j);
	if (strcmp(r->ruleset_version, s->version))
		s->version_mismatch++;
	/* The daemon decided and recorded it by the wall clock, while the test ran. */
	int64_t now = log_now_ms();
	if (r->decided_at_ms < s->since_ms || r->decided_at_ms > now ||
	    r->recorded_at_ms < s->since_ms || r->recorded_at_ms > now)
		s->out_of_time++;
	arbiter__v1__audit_record__free_unpacked(r, NULL);
}

/* Adds the escalation packed in DATA to BY_EVENT: event_id -> [queue]. */
static void add_escalation(json_t *by_event, const void *data, size_t len)
{
	Arbiter__V1__Escalation *e = arbiter__v1__escalation__unpack(NULL, len, data);
	ck_assert_ptr_nonnull(e);
	json_t *list = json_object_get(by_event, e->event_id);
	if (!list) {
		list = json_array();
		json_object_set_new(by_event, e->event_id, list);
	}
	json_array_append_new(list, json_string(e->queue));
	arbiter__v1__escalation__free_unpacked(e, NULL);
}

static void read_fed(void *opaque, const rd_kafka_message_t *m)
{
	struct seen *s = opaque;
	add_escalation(s->fed, m->payload, m->len);
}

/* Every entry of every band of QUEUE, into s->esc. */
static void read_queue(struct seen *s, redisContext *rc, const char *queue)
{
	for (int b = 0; b < CONFIG_BANDS; b++) {
		char key[QUEUES_KEY_MAX];
		queues_key_stream(key, "arbiter:", queue, (enum config_band)b);
		redisReply *r = redisCommand(rc, "XRANGE %s - +", key);
		ck_assert_ptr_nonnull(r);
		ck_assert_int_eq(r->type, REDIS_REPLY_ARRAY);
		for (size_t i = 0; i < r->elements; i++) {
			redisReply *fields = r->element[i]->element[1];
			for (size_t k = 0; k + 1 < fields->elements; k += 2)
				if (!strcmp(fields->element[k]->str, "escalation"))
					add_escalation(s->esc, fields->element[k + 1]->str,
						       fields->element[k + 1]->len);
		}
		freeReplyObject(r);
	}
}

static bool same_strings(json_t *a, json_t *b)
{
	if (json_array_size(a) != json_array_size(b))
		return false;
	size_t i, k;
	json_t *x, *y;
	json_array_foreach(a, i, x)
	{
		bool found = false;
		json_array_foreach(b, k, y) found |= json_equal(x, y);
		if (!found)
			return false;
	}
	return true;
}

START_TEST(daemon_verdicts_equal_eval)
{
	enum { N = 2000 };
	struct harness h;
	struct redis_server rs;
	int64_t since_ms = log_now_ms();
	harness_start(&h, 3);
	redis_server_start(&rs);
	h.redis_address = rs.address;
	char events[400];
	harness_write_file(&h, "rules.yaml", rules_yaml);
	harness_write_config(
		&h, "rules:\n  files: [rules.yaml]\n"
		    "review:\n  queues: {incitement: {}, election-integrity: {}, reported: {}}\n");

	/* The same events go to Kafka (as protobuf) and to eval (as JSON). */
	snprintf(events, sizeof(events), "%s/events.jsonl", h.dir);
	FILE *f = fopen(events, "w");
	for (int i = 0; i < N; i++) {
		char *line = event_json(i);
		fprintf(f, "%s\n", line);
		ProtobufCMessage *msg = NULL;
		char err[256];
		ck_assert_int_eq(pbjson_decode_text(&arbiter__v1__content_event__descriptor, line,
						    strlen(line), &msg, err, sizeof(err)),
				 0);
		char key[32];
		snprintf(key, sizeof(key), "c-%d", i);
		harness_produce_msg(&h, "content.events", key, msg);
		protobuf_c_message_free_unpacked(msg, NULL);
		free(line);
	}
	fclose(f);
	harness_flush(&h);
	harness_daemon_start(&h);
	ck_assert(harness_wait_committed(&h, "content.events", 60));
	ck_assert_int_eq(harness_daemon_stop(&h, SIGTERM), 0);

	struct harness_run run;
	ck_assert_int_eq(harness_ctl(&run, NULL, "eval %s < %s", h.config, events), 0);
	json_t *verdicts = json_array();
	for (char *line = strtok(run.out, "\n"); line; line = strtok(NULL, "\n"))
		json_array_append_new(verdicts, json_loads(line, 0, NULL));
	harness_run_free(&run);
	ck_assert_int_eq(json_array_size(verdicts), N);

	struct seen s = {.audit = json_object(),
			 .esc = json_object(),
			 .fed = json_object(),
			 .since_ms = since_ms};
	s.version =
		json_string_value(json_object_get(json_array_get(verdicts, 0), "ruleset_version"));
	harness_read(&h, "moderation.audit", read_audit, &s);
	harness_read(&h, "moderation.escalations", read_fed, &s);
	redisContext *rc = redis_server_connect(&rs);
	read_queue(&s, rc, "incitement");
	read_queue(&s, rc, "election-integrity");
	read_queue(&s, rc, "reported");
	redisFree(rc);
	ck_assert_int_eq(s.version_mismatch, 0);
	ck_assert_int_eq(s.out_of_time, 0);

	size_t i;
	json_t *v;
	long acted = 0, escalated = 0, monitored = 0;
	json_array_foreach(verdicts, i, v)
	{
		const char *cid = json_string_value(json_object_get(v, "content_id"));
		const char *eid = json_string_value(json_object_get(v, "event_id"));
		const char *action = json_string_value(json_object_get(v, "action"));
		json_t *rec = json_object_get(s.audit, cid);
		if (!strcmp(action, "none")) {
			ck_assert_msg(rec == NULL, "%s: eval says none, daemon acted", cid);
		} else {
			acted++;
			ck_assert_msg(rec != NULL, "%s: eval says %s, daemon wrote nothing", cid,
				      action);
			char upper[32];
			size_t n = 0;
			for (const char *c = action; *c && n + 1 < sizeof(upper); c++)
				upper[n++] = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
			upper[n] = '\0';
			ck_assert_str_eq(json_string_value(json_object_get(rec, "action")), upper);
			ck_assert_msg(same_strings(json_object_get(rec, "rule_ids"),
						   json_object_get(v, "matched")),
				      "%s: rule ids differ", cid);
		}
		/* Every escalation is in its review queue once; those of rules
		 * with monitors: true are on the monitors' topic too. */
		json_t *want = json_array(), *want_fed = json_array(), *e;
		size_t k;
		json_array_foreach(json_object_get(v, "escalations"), k, e)
		{
			json_array_append(want, json_object_get(e, "queue"));
			if (json_is_true(json_object_get(e, "monitors")))
				json_array_append(want_fed, json_object_get(e, "queue"));
		}
		json_t *none = json_array();
		json_t *got = json_object_get(s.esc, eid), *fed = json_object_get(s.fed, eid);
		escalated += json_array_size(want) > 0;
		ck_assert_msg(same_strings(want, got ? got : none), "%s: escalations differ", eid);
		ck_assert_msg(same_strings(want_fed, fed ? fed : none),
			      "%s: monitored escalations differ", eid);
		monitored += json_array_size(want_fed);
		json_decref(none);
		json_decref(want);
		json_decref(want_fed);
	}
	/* The mix really exercises the rules. */
	ck_assert_int_gt(acted, N / 10);
	ck_assert_int_gt(escalated, N / 10);
	ck_assert_int_gt(monitored, 0);
	ck_assert_int_eq(json_object_size(s.audit), acted);
	json_decref(verdicts);
	json_decref(s.audit);
	json_decref(s.esc);
	json_decref(s.fed);
	harness_stop(&h);
	redis_server_stop(&rs);
}
END_TEST

START_TEST(changed_rule_file_is_reloaded_and_a_broken_one_rejected)
{
	struct harness h;
	harness_start(&h, 1);
	harness_write_file(&h, "rules.yaml",
			   "rules:\n  - id: a\n    when: report_count >= 5\n    action: label\n");
	harness_write_config(&h, "rules:\n  files: [rules.yaml]\n");
	harness_daemon_start(&h);
	for (int i = 0; i < 100 && !harness_log_contains(&h, "assigned"); i++)
		usleep(100 * 1000);

	/* A broken edit: rejected, the old ruleset keeps running. */
	harness_write_file(&h, "rules.yaml",
			   "rules:\n  - id: a\n    when: report_count >= \n    action: label\n");
	for (int i = 0; i < 50 && !harness_log_contains(&h, "rejected"); i++)
		usleep(100 * 1000);
	ck_assert(harness_log_contains(&h, "rules.yaml:3:26: a: expected a value after '>='"));

	Arbiter__V1__ContentEvent ev = ARBITER__V1__CONTENT_EVENT__INIT;
	ev.event_id = "e1";
	ev.content_id = "c1";
	ev.report_count = 9;
	harness_produce_msg(&h, "content.events", "c1", &ev.base);
	harness_flush(&h);
	ck_assert(harness_wait_count(&h, "moderation.audit", 1, 30));

	/* A good edit is picked up without a signal. */
	harness_write_file(&h, "rules.yaml",
			   "rules:\n  - id: b\n    when: report_count >= 5\n    action: remove\n");
	for (int i = 0; i < 50 && !harness_log_contains(&h, "reloaded"); i++)
		usleep(100 * 1000);
	ck_assert(harness_log_contains(&h, "rule files changed: reloading"));
	ev.event_id = "e2";
	ev.content_id = "c2";
	harness_produce_msg(&h, "content.events", "c2", &ev.base);
	harness_flush(&h);
	ck_assert(harness_wait_count(&h, "moderation.audit", 2, 30));
	ck_assert_int_eq(harness_daemon_stop(&h, SIGTERM), 0);
	harness_stop(&h);
}
END_TEST

static Suite *rules_e2e_suite(void)
{
	Suite *s = suite_create("rules_e2e");
	TCase *tc = tcase_create("daemon");
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, daemon_verdicts_equal_eval);
	tcase_add_test(tc, changed_rule_file_is_reloaded_and_a_broken_one_rejected);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return harness_main(rules_e2e_suite());
}
