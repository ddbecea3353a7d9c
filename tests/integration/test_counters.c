/* Integration: windowed counters in a real redis-server: the script's answers (and the in-memory
 * store's, which must agree), state shared by two daemon runs, redelivered messages counted once,
 * bursts at their threshold, and input paused while Redis is away. */
#include <check.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arbiter/v1/audit_record.pb-c.h"
#include "arbiter/v1/content_event.pb-c.h"
#include "arbiter/v1/escalation.pb-c.h"
#include "counters.h"
#include "harness.h"
#include "redis_server.h"

#define PARTS 2
#define BURST "count(by: author_id, window: 10m)"

/* A ruleset loaded from TEXT in DIR, with the config that names it. */
struct loaded_rules {
	struct config *cfg;
	struct ruleset *rs;
};

static void load_rules(const char *dir, const char *text, struct loaded_rules *out)
{
	char path[400];
	snprintf(path, sizeof(path), "%s/rules.yaml", dir);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/counters.yaml", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("redis: {prefix: \"t:\"}\nrules: {files: [rules.yaml]}\n", f);
	fclose(f);
	struct diag_list errs = {0};
	ck_assert_int_eq(config_load(path, &out->cfg, &errs), 0);
	int rc = rules_load(out->cfg, &out->rs, &errs);
	if (rc)
		diag_print(&errs, stderr);
	ck_assert_int_eq(rc, 0);
	diag_clear(&errs);
}

/* Runs one operation through the script: its value. */
static uint64_t redis_op(redisContext *c, const struct loaded_rules *L,
			 const struct rules_counter_op *op)
{
	struct queues_cmd cmd;
	ck_assert_int_eq(counters_cmd(L->cfg, L->rs, op, 1, &cmd), 0);
	redisReply *r = redisCommandArgv(c, cmd.argc, cmd.argv, cmd.lens);
	ck_assert_ptr_nonnull(r);
	if (r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "NOSCRIPT", 8)) {
		freeReplyObject(r);
		queues_cmd_use_eval(&cmd);
		r = redisCommandArgv(c, cmd.argc, cmd.argv, cmd.lens);
	}
	uint64_t v = 0;
	ck_assert_msg(counters_reply(r, 1, &v) == 0, "reply type %d: %s", r->type,
		      r->type == REDIS_REPLY_ERROR ? r->str : "");
	freeReplyObject(r);
	queues_cmd_free(&cmd);
	return v;
}

/* The script and the in-memory store answer every step alike, as the rules mean them. */
START_TEST(script_and_memory_agree)
{
	struct redis_server srv;
	redis_server_start(&srv);
	redisContext *c = redis_server_connect(&srv);
	struct loaded_rules L;
	load_rules(
		srv.dir,
		"rules:\n"
		"  - {id: burst, when: 'count(by: author_id, window: 10s) >= 3', action: label}\n"
		"  - {id: campaign, when: 'distinct(author_id, by: text, window: 10s) >= 3',"
		" action: label}\n",
		&L);
	ck_assert_uint_eq(rules_counter_count(L.rs), 2);
	ck_assert_uint_eq(rules_counter(L.rs, 0)->cap, 4);
	struct counters_mem *mem = counters_mem_new();
	static const struct {
		uint32_t counter;
		int64_t at;
		const char *member;
		uint64_t want;
	} steps[] = {
		{0, 1000000, "e1", 1}, {0, 1000000, "e2", 2},
		{0, 1001000, "e3", 3}, {0, 1002000, "e2", 3}, /* redelivered */
		{0, 1005000, "e4", 4}, {0, 1005000, "e5", 4}, /* past the cap: the oldest goes */
		{0, 1011000, "e6", 3}, /* e1..e3 left the window: e4, e5, e6 */
		{0, 1030000, "e7", 1}, {1, 2000000, "a", 1},
		{1, 2000500, "b", 2},  {1, 2001000, "a", 2}, /* an author already counted */
		{1, 2009000, "c", 3},  {1, 2030000, "d", 1},
	};
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct rules_counter_op op = {.counter = steps[i].counter, .at_ms = steps[i].at};
		snprintf(op.by, sizeof(op.by), "%s", "group-1");
		snprintf(op.member, sizeof(op.member), "%s", steps[i].member);
		uint64_t mv = 0;
		ck_assert_int_eq(counters_mem_run(mem, L.rs, &op, 1, &mv), 0);
		uint64_t rv = redis_op(c, &L, &op);
		ck_assert_msg(rv == steps[i].want && mv == steps[i].want,
			      "step %zu: redis %llu, memory %llu, expected %llu", i,
			      (unsigned long long)rv, (unsigned long long)mv,
			      (unsigned long long)steps[i].want);
	}
	/* Every key the script made expires. */
	redisReply *keys = redisCommand(c, "KEYS t:*");
	ck_assert_uint_ge(keys->elements, 3);
	for (size_t i = 0; i < keys->elements; i++) {
		redisReply *t = redisCommand(c, "PTTL %s", keys->element[i]->str);
		ck_assert_msg(t->integer > 0 && t->integer <= 11000, "%s: pttl %lld",
			      keys->element[i]->str, t->integer);
		freeReplyObject(t);
	}
	freeReplyObject(keys);
	/* Several operations are one call, one value each. */
	struct rules_counter_op two[2] = {{.counter = 0, .at_ms = 1030000},
					  {.counter = 1, .at_ms = 2030000}};
	strcpy(two[0].by, "group-1");
	strcpy(two[0].member, "e8");
	strcpy(two[1].by, "group-1");
	strcpy(two[1].member, "e");
	struct queues_cmd cmd;
	ck_assert_int_eq(counters_cmd(L.cfg, L.rs, two, 2, &cmd), 0);
	queues_cmd_use_eval(&cmd);
	redisReply *r = redisCommandArgv(c, cmd.argc, cmd.argv, cmd.lens);
	uint64_t v[2];
	ck_assert_int_eq(counters_reply(r, 2, v), 0);
	ck_assert_uint_eq(v[0], 2);
	ck_assert_uint_eq(v[1], 2);
	ck_assert_int_eq(counters_reply(r, 3, v), -EPROTO);
	freeReplyObject(r);
	queues_cmd_free(&cmd);
	counters_mem_free(mem);
	rules_free(L.rs);
	config_free(L.cfg);
	redisFree(c);
	redis_server_stop(&srv);
}
END_TEST

static const char burst_rules[] = "attributes: {account_age_days: int}\n"
				  "rules:\n"
				  "  - id: burst\n"
				  "    description: A new account posting again and again\n"
				  "    when: 'attr.account_age_days < 2 and " BURST " >= 3'\n"
				  "    action: label\n"
				  "    category: STATEMENT_CATEGORY_OTHER_VIOLATION_TC\n"
				  "    escalate: {queue: bursts, monitors: true}\n";

static void write_daemon_config(struct harness *h, const char *rules, const char *extra)
{
	harness_write_file(h, "rules.yaml", rules);
	harness_write_config(h, extra);
}

static void produce(struct harness *h, const char *event_id, const char *author, const char *age)
{
	Arbiter__V1__ContentEvent ev = ARBITER__V1__CONTENT_EVENT__INIT;
	Arbiter__V1__ContentEvent__AttrsEntry attr = ARBITER__V1__CONTENT_EVENT__ATTRS_ENTRY__INIT;
	Arbiter__V1__ContentEvent__AttrsEntry *attrs[] = {&attr};
	attr.key = "account_age_days";
	attr.value = (char *)age;
	ev.event_id = (char *)event_id;
	ev.content_id = (char *)event_id;
	ev.author_id = (char *)author;
	ev.text = "buy followers";
	ev.n_attrs = 1;
	ev.attrs = attrs;
	harness_produce_msg(h, "content.events", author, &ev.base);
	harness_flush(h);
}

struct seen {
	int escalations;
	char evidence[8][128];
	int facts; /* audit records whose statement says the decision rested on behaviour */
};

static void read_escalation(void *opaque, const rd_kafka_message_t *m)
{
	struct seen *s = opaque;
	Arbiter__V1__Escalation *e =
		arbiter__v1__escalation__unpack(NULL, m->len, (const uint8_t *)m->payload);
	ck_assert_ptr_nonnull(e);
	for (size_t i = 0; i < e->n_evidence; i++)
		if (!strncmp(e->evidence[i], "counter:", 8) && s->escalations < 8)
			snprintf(s->evidence[s->escalations], sizeof(s->evidence[0]), "%s",
				 e->evidence[i]);
	s->escalations++;
	arbiter__v1__escalation__free_unpacked(e, NULL);
}

static void read_audit(void *opaque, const rd_kafka_message_t *m)
{
	struct seen *s = opaque;
	Arbiter__V1__AuditRecord *a =
		arbiter__v1__audit_record__unpack(NULL, m->len, (const uint8_t *)m->payload);
	ck_assert_ptr_nonnull(a);
	s->facts += strstr(a->decision_facts,
			   "rested on the behaviour of accounts, not only on the content: " BURST
			   "=") != NULL;
	arbiter__v1__audit_record__free_unpacked(a, NULL);
}

/* Two daemon runs share the counters; a redelivered event counts once; the burst fires at
 * its threshold and again above it, never below. */
START_TEST(bursts_across_restarts_and_redelivery)
{
	struct harness h;
	struct redis_server srv;
	harness_start(&h, PARTS);
	redis_server_start(&srv);
	h.redis_address = srv.address;
	write_daemon_config(&h, burst_rules,
			    "rules: {files: [rules.yaml]}\nreview: {queues: {bursts: {}}}\n");
	harness_daemon_start(&h);
	produce(&h, "e1", "alice", "1");
	produce(&h, "e2", "alice", "1");
	produce(&h, "o1", "olga", "400"); /* an old account: never counted */
	produce(&h, "o2", "olga", "400");
	produce(&h, "o3", "olga", "400");
	ck_assert(harness_wait_committed(&h, "content.events", 60));
	ck_assert_int_eq(harness_daemon_stop(&h, SIGTERM), 0);
	ck_assert_int_eq(harness_count(&h, "moderation.escalations"), 0);

	/* A new run: Redis still has alice's two posts. */
	harness_daemon_start(&h);
	produce(&h, "e2", "alice", "1"); /* the same event again */
	ck_assert(harness_wait_committed(&h, "content.events", 60));
	ck_assert_int_eq(harness_count(&h, "moderation.escalations"), 0);
	produce(&h, "e3", "alice", "1");
	produce(&h, "e4", "alice", "1");
	ck_assert(harness_wait_committed(&h, "content.events", 60));
	ck_assert(harness_wait_count(&h, "moderation.escalations", 2, 30));
	ck_assert_int_eq(harness_daemon_stop(&h, SIGTERM), 0);

	struct seen s = {0};
	harness_read(&h, "moderation.escalations", read_escalation, &s);
	harness_read(&h, "moderation.audit", read_audit, &s);
	ck_assert_int_eq(s.escalations, 2);
	bool three = false, four = false;
	for (int i = 0; i < 2; i++) {
		three |= !strcmp(s.evidence[i], "counter:" BURST "=3");
		four |= !strcmp(s.evidence[i], "counter:" BURST "=4");
	}
	ck_assert_msg(three && four, "evidence %s, %s", s.evidence[0], s.evidence[1]);
	ck_assert_int_eq(s.facts, 2);
	/* In Redis: alice's four distinct events, with a TTL; olga has no key. */
	redisContext *c = redis_server_connect(&srv);
	redisReply *keys = redisCommand(c, "KEYS arbiter:ctr:*");
	ck_assert_uint_eq(keys->elements, 1);
	redisReply *n = redisCommand(c, "ZCARD %s", keys->element[0]->str);
	ck_assert_int_eq(n->integer, 4);
	freeReplyObject(n);
	n = redisCommand(c, "PTTL %s", keys->element[0]->str);
	ck_assert_int_gt(n->integer, 0);
	freeReplyObject(n);
	freeReplyObject(keys);
	redisFree(c);
	ck_assert(harness_log_contains(&h, "waiting for Redis"));
	harness_stop(&h);
	redis_server_stop(&srv);
}
END_TEST

/* Counters without any review queue still need Redis: while it is away the input waits, and
 * nothing is decided on a guess. */
START_TEST(redis_away_pauses_counting)
{
	struct harness h;
	struct redis_server srv;
	harness_start(&h, PARTS);
	redis_server_start(&srv);
	h.redis_address = srv.address;
	write_daemon_config(&h,
			    "rules:\n"
			    "  - id: burst\n"
			    "    when: 'count(by: author_id, window: 10m) >= 2'\n"
			    "    action: label\n",
			    "rules: {files: [rules.yaml]}\n");
	harness_daemon_start(&h);
	produce(&h, "e1", "bob", "1");
	ck_assert(harness_wait_committed(&h, "content.events", 60));
	ck_assert_int_eq(harness_count(&h, "moderation.audit"), 0);

	redis_server_kill(&srv);
	for (int i = 0; i < 100 && !harness_log_contains(&h, "input paused"); i++)
		usleep(50 * 1000);
	ck_assert(harness_log_contains(&h, "input paused"));
	produce(&h, "e2", "bob", "1");
	usleep(1500 * 1000);
	ck_assert(!harness_wait_committed(&h, "content.events", 1));
	ck_assert_int_eq(harness_count(&h, "moderation.audit"), 0);

	redis_server_restart(&srv);
	ck_assert(harness_wait_committed(&h, "content.events", 60));
	ck_assert(harness_wait_count(&h, "moderation.audit", 1, 30));
	ck_assert_int_eq(harness_daemon_stop(&h, SIGTERM), 0);
	ck_assert_int_eq(harness_count(&h, "moderation.audit"), 1);
	harness_stop(&h);
	redis_server_stop(&srv);
}
END_TEST

static Suite *counters_suite(void)
{
	Suite *s = suite_create("counters");
	TCase *tc = tcase_create("redis");
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, script_and_memory_agree);
	tcase_add_test(tc, bursts_across_restarts_and_redelivery);
	tcase_add_test(tc, redis_away_pauses_counting);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return harness_main(counters_suite());
}
