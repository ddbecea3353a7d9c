/* Integration: the review queue scripts and arbiterctl review/queues against a real redis-server.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include <check.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arbiter/v1/escalation.pb-c.h"
#include "arbiter/v1/moderation_decision.pb-c.h"
#include "harness.h"
#include "queues.h"
#include "redis_server.h"

struct fixture {
	struct harness h;
	struct redis_server rs;
	redisContext *c;
	struct config *cfg;
};

static void fixture_start(struct fixture *f, const char *review_extra)
{
	harness_start(&f->h, 1);
	redis_server_start(&f->rs);
	f->h.redis_address = f->rs.address;
	char *extra = NULL;
	ck_assert_int_ge(asprintf(&extra,
				  "review:\n"
				  "  queues:\n"
				  "    q: {max_length: 5}\n"
				  "    q-sw: {serves: q, languages: [sw]}\n"
				  "%s",
				  review_extra ? review_extra : ""),
			 0);
	harness_write_config(&f->h, extra);
	free(extra);
	struct config_errors errs = {0};
	ck_assert_int_eq(config_load(f->h.config, &f->cfg, &errs), 0);
	f->c = redis_server_connect(&f->rs);
}

static void fixture_stop(struct fixture *f)
{
	redisFree(f->c);
	config_free(f->cfg);
	harness_stop(&f->h);
	redis_server_stop(&f->rs);
}

/* Enqueues escalation ID in queue Q as the daemon does; returns the script's
 * answer (1 added, 0 known, -1 full). */
static long long enqueue(struct fixture *f, const char *q, const char *id, Arbiter__V1__Band band,
			 const char *lang, const char *exclude, int64_t deadline)
{
	Arbiter__V1__Escalation es = ARBITER__V1__ESCALATION__INIT;
	char cid[64];
	snprintf(cid, sizeof(cid), "content-%s", id);
	es.escalation_id = (char *)id;
	es.content_id = cid;
	es.event_id = cid;
	es.queue = (char *)q;
	es.band = band;
	es.lang = (char *)lang;
	es.deadline_ms = deadline;
	es.ruleset_version = "v";
	size_t len = protobuf_c_message_get_packed_size(&es.base);
	uint8_t *packed = malloc(len + 1);
	protobuf_c_message_pack(&es.base, packed);
	struct queues_cmd cmd;
	ck_assert_int_eq(queues_enqueue_cmd(f->cfg, config_queue_find(f->cfg, q), &es, packed, len,
					    exclude, &cmd),
			 0);
	queues_cmd_use_eval(&cmd);
	redisReply *r = redisCommandArgv(f->c, cmd.argc, cmd.argv, cmd.lens);
	ck_assert_ptr_nonnull(r);
	ck_assert_msg(r->type == REDIS_REPLY_INTEGER, "enqueue: %s",
		      r->type == REDIS_REPLY_ERROR ? r->str : "not an integer");
	long long v = r->integer;
	freeReplyObject(r);
	queues_cmd_free(&cmd);
	free(packed);
	return v;
}

/* Runs arbiterctl with ARGS (a shell fragment); returns its exit status and
 * its stdout in *OUT (malloc'd). */
static int ctl(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int ctl(char **out, const char *fmt, ...)
{
	char *args = NULL, *cmd = NULL;
	va_list ap;
	va_start(ap, fmt);
	ck_assert_int_ge(vasprintf(&args, fmt, ap), 0);
	va_end(ap);
	ck_assert_int_ge(asprintf(&cmd, "%s %s", getenv("ARBITERCTL"), args), 0);
	FILE *p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	size_t cap = 0, len = 0;
	char *buf = NULL, chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0) {
		if (len + n + 1 > cap) {
			cap = (len + n + 1) * 2;
			buf = realloc(buf, cap);
		}
		memcpy(buf + len, chunk, n);
		len += n;
	}
	if (buf)
		buf[len] = '\0';
	int st = pclose(p);
	free(args);
	free(cmd);
	if (out)
		*out = buf ? buf : strdup("");
	else
		free(buf);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Claims from Q for R; returns the claimed escalation id (malloc'd) or NULL
 * when the command said there is nothing (exit 3). */
static char *claim(struct fixture *f, const char *q, const char *r, const char *langs)
{
	char *out;
	int rc = ctl(&out, "review claim --config %s --queue %s --reviewer %s%s%s", f->h.config, q,
		     r, langs ? " --lang " : "", langs ? langs : "");
	if (rc == 3) {
		free(out);
		return NULL;
	}
	ck_assert_msg(rc == 0, "claim exited %d", rc);
	json_t *j = json_loads(out, 0, NULL);
	ck_assert_ptr_nonnull(j);
	char *id = strdup(json_string_value(json_object_get(j, "id")));
	/* The escalation protobuf comes back decoded. */
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "escalation"),
							   "escalation_id")),
			 id);
	json_decref(j);
	free(out);
	return id;
}

#define FAR (4102444800000LL) /* 2100-01-01: never overdue */

START_TEST(enqueue_is_idempotent_and_bounded)
{
	struct fixture f;
	fixture_start(&f, NULL);
	ck_assert_int_eq(enqueue(&f, "q", "a", ARBITER__V1__BAND__HIGH, "en", NULL, FAR), 1);
	ck_assert_int_eq(enqueue(&f, "q", "a", ARBITER__V1__BAND__HIGH, "en", NULL, FAR), 0);
	/* Even routed elsewhere, a redelivery finds the dedupe key. */
	ck_assert_int_eq(enqueue(&f, "q-sw", "a", ARBITER__V1__BAND__LOW, "sw", NULL, FAR), 0);
	for (int i = 0; i < 4; i++) {
		char id[8];
		snprintf(id, sizeof(id), "b%d", i);
		ck_assert_int_eq(enqueue(&f, "q", id, ARBITER__V1__BAND__LOW, "en", NULL, FAR), 1);
	}
	/* max_length 5 over every band: full, and nothing added. */
	ck_assert_int_eq(enqueue(&f, "q", "c", ARBITER__V1__BAND__URGENT, "en", NULL, FAR), -1);
	redisReply *r = redisCommand(f.c, "EXISTS arbiter:seen:c");
	ck_assert_int_eq(r->integer, 0);
	freeReplyObject(r);
	char *out;
	ck_assert_int_eq(ctl(&out, "queues --config %s --json", f.h.config), 0);
	json_t *j = json_loads(out, 0, NULL);
	json_t *bands = json_object_get(json_object_get(j, "q"), "bands");
	ck_assert_int_eq(
		json_integer_value(json_object_get(json_object_get(bands, "high"), "entries")), 1);
	ck_assert_int_eq(
		json_integer_value(json_object_get(json_object_get(bands, "low"), "waiting")), 4);
	ck_assert_int_eq(
		json_integer_value(json_object_get(json_object_get(bands, "urgent"), "entries")),
		0);
	json_decref(j);
	free(out);
	fixture_stop(&f);
}
END_TEST

START_TEST(claims_follow_band_then_age_with_filters)
{
	struct fixture f;
	fixture_start(&f, NULL);
	enqueue(&f, "q", "low-1", ARBITER__V1__BAND__LOW, "en", NULL, FAR);
	enqueue(&f, "q", "high-1", ARBITER__V1__BAND__HIGH, "en", NULL, FAR);
	enqueue(&f, "q", "high-2", ARBITER__V1__BAND__HIGH, "bs", NULL, FAR);
	enqueue(&f, "q", "urgent-mine", ARBITER__V1__BAND__URGENT, "en", "rita", FAR);
	enqueue(&f, "q", "high-3", ARBITER__V1__BAND__HIGH, "en", NULL, FAR);

	/* rita may not take the appeal of her own decision; a Bosnian reader
	 * skips the English entries. */
	char *id = claim(&f, "q", "rita", NULL);
	ck_assert_str_eq(id, "high-1");
	free(id);
	id = claim(&f, "q", "emir", "bs,hr");
	ck_assert_str_eq(id, "high-2");
	free(id);
	ck_assert_ptr_null(claim(&f, "q", "emir", "bs"));
	id = claim(&f, "q", "sam", NULL);
	ck_assert_str_eq(id, "urgent-mine");
	free(id);
	id = claim(&f, "q", "rita", NULL);
	ck_assert_str_eq(id, "high-3");
	free(id);
	id = claim(&f, "q", "rita", NULL);
	ck_assert_str_eq(id, "low-1");
	free(id);
	ck_assert_ptr_null(claim(&f, "q", "rita", NULL));
	/* Names the pool uses are refused. */
	ck_assert_int_eq(ctl(NULL, "review claim --config %s --queue q --reviewer pool 2>/dev/null",
			     f.h.config),
			 2);
	fixture_stop(&f);
}
END_TEST

START_TEST(expired_lease_is_reclaimed)
{
	struct fixture f;
	fixture_start(&f, "  lease: 1s\n");
	enqueue(&f, "q", "e1", ARBITER__V1__BAND__NORMAL, "en", NULL, FAR);
	char *id = claim(&f, "q", "ana", NULL);
	ck_assert_str_eq(id, "e1");
	free(id);
	ck_assert_ptr_null(claim(&f, "q", "ben", NULL));
	char *out;
	ck_assert_int_eq(ctl(&out, "review reclaim --config %s --queue q", f.h.config), 0);
	ck_assert_str_eq(out, "q: 0 returned\n"); /* the lease is still running */
	free(out);
	usleep(1200 * 1000);
	ck_assert_int_eq(ctl(&out, "review reclaim --config %s --queue q", f.h.config), 0);
	ck_assert_str_eq(out, "q: 1 returned\n");
	free(out);
	id = claim(&f, "q", "ben", NULL);
	ck_assert_str_eq(id, "e1");
	free(id);
	/* ana's lease is gone: her decision is refused before anything is sent. */
	ck_assert_int_eq(ctl(NULL,
			     "review decide --config %s --brokers %s --queue q --id e1 "
			     "--reviewer ana --action remove 2>/dev/null",
			     f.h.config, f.h.bootstrap),
			 1);
	ck_assert_int_eq(harness_count(&f.h, "moderation.decisions"), 0);
	fixture_stop(&f);
}
END_TEST

static void sweep(struct fixture *f, long long *overdue, long long *raised)
{
	struct queues_cmd cmd;
	ck_assert_int_eq(queues_sweep_cmd(f->cfg, config_queue_find(f->cfg, "q"), FAR - 1, &cmd),
			 0);
	queues_cmd_use_eval(&cmd);
	redisReply *r = redisCommandArgv(f->c, cmd.argc, cmd.argv, cmd.lens);
	ck_assert_ptr_nonnull(r);
	ck_assert_msg(r->type == REDIS_REPLY_ARRAY, "sweep: %s",
		      r->type == REDIS_REPLY_ERROR ? r->str : "not an array");
	*overdue = r->element[0]->integer;
	*raised = r->element[1]->integer;
	freeReplyObject(r);
	queues_cmd_free(&cmd);
}

START_TEST(overdue_entries_are_raised_once)
{
	struct fixture f;
	fixture_start(&f, NULL);
	enqueue(&f, "q", "late", ARBITER__V1__BAND__NORMAL, "en", NULL, 1000);
	enqueue(&f, "q", "late-claimed", ARBITER__V1__BAND__LOW, "en", NULL, 2000);
	enqueue(&f, "q", "late-urgent", ARBITER__V1__BAND__URGENT, "en", NULL, 3000);
	/* Claimed entries stay with their reviewer: claim the low one (the
	 * urgent and normal ones come first, so claim three and keep one). */
	char *a = claim(&f, "q", "x", NULL), *b = claim(&f, "q", "x", NULL),
	     *c = claim(&f, "q", "x", NULL);
	ck_assert_str_eq(c, "late-claimed");
	free(a);
	free(b);
	free(c);
	/* Give the two others back to the pool. */
	static const enum config_band back[] = {CONFIG_BAND_URGENT, CONFIG_BAND_NORMAL};
	char key[QUEUES_KEY_MAX];
	redisReply *r;
	for (int i = 0; i < 2; i++) {
		queues_key_stream(key, "arbiter:", "q", back[i]);
		r = redisCommand(f.c, "XPENDING %s reviewers - + 10 x", key);
		for (size_t k = 0; k < r->elements; k++)
			freeReplyObject(redisCommand(f.c, "XCLAIM %s reviewers pool 0 %s", key,
						     r->element[k]->element[0]->str));
		freeReplyObject(r);
	}
	long long overdue, raised;
	sweep(&f, &overdue, &raised);
	ck_assert_int_eq(overdue, 3);
	ck_assert_int_eq(raised, 1); /* normal -> urgent; urgent stays, claimed stays */
	sweep(&f, &overdue, &raised);
	ck_assert_int_eq(overdue, 0);
	ck_assert_int_eq(raised, 0);
	r = redisCommand(f.c, "GET arbiter:seen:late");
	ck_assert_msg(!strncmp(r->str, "q urgent ", 9), "%s", r->str);
	freeReplyObject(r);
	r = redisCommand(f.c, "XLEN arbiter:q:q:normal");
	ck_assert_int_eq(r->integer, 0);
	freeReplyObject(r);
	r = redisCommand(f.c, "XLEN arbiter:q:q:urgent");
	ck_assert_int_eq(r->integer, 2);
	freeReplyObject(r);
	fixture_stop(&f);
}
END_TEST

static void read_decision(void *opaque, const rd_kafka_message_t *m)
{
	Arbiter__V1__ModerationDecision **out = opaque;
	*out = arbiter__v1__moderation_decision__unpack(NULL, m->len, m->payload);
}

START_TEST(decide_produces_the_decision_then_acknowledges)
{
	struct fixture f;
	fixture_start(&f, NULL);
	enqueue(&f, "q-sw", "e9", ARBITER__V1__BAND__HIGH, "sw", NULL, FAR);
	char *id = claim(&f, "q-sw", "zawadi", "sw");
	ck_assert_str_eq(id, "e9");
	free(id);
	char *out;
	ck_assert_int_eq(ctl(&out,
			     "review decide --config %s --brokers %s --queue q-sw --id e9 "
			     "--reviewer zawadi --action remove --ground illegal_content "
			     "--category STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH "
			     "--reason 'call to violence'",
			     f.h.config, f.h.bootstrap),
			 0);
	free(out);
	ck_assert(harness_wait_count(&f.h, "moderation.decisions", 1, 10));
	Arbiter__V1__ModerationDecision *d = NULL;
	harness_read(&f.h, "moderation.decisions", read_decision, &d);
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(d->content_id, "content-e9");
	ck_assert_int_eq(d->actor, ARBITER__V1__ACTOR__HUMAN);
	ck_assert_int_eq(d->action, ARBITER__V1__ACTION__REMOVE);
	ck_assert_int_eq(d->ground, ARBITER__V1__GROUND__ILLEGAL_CONTENT);
	ck_assert_str_eq(d->reviewer_id, "zawadi");
	ck_assert_str_eq(d->queue, "q-sw");
	ck_assert_str_eq(d->explanation, "call to violence");
	ck_assert_str_eq(d->lang, "sw");
	arbiter__v1__moderation_decision__free_unpacked(d, NULL);
	/* Acknowledged: out of the stream and the SLA index, remembered as decided. */
	redisReply *r = redisCommand(f.c, "XLEN arbiter:q:q-sw:high");
	ck_assert_int_eq(r->integer, 0);
	freeReplyObject(r);
	r = redisCommand(f.c, "ZCARD arbiter:sla:q-sw");
	ck_assert_int_eq(r->integer, 0);
	freeReplyObject(r);
	r = redisCommand(f.c, "GET arbiter:seen:e9");
	ck_assert_str_eq(r->str, "decided");
	freeReplyObject(r);
	ck_assert_int_eq(ctl(NULL,
			     "review decide --config %s --brokers %s --queue q-sw --id e9 "
			     "--reviewer zawadi --action remove 2>/dev/null",
			     f.h.config, f.h.bootstrap),
			 1);
	ck_assert_int_eq(harness_count(&f.h, "moderation.decisions"), 1);
	fixture_stop(&f);
}
END_TEST

static Suite *review_suite(void)
{
	Suite *s = suite_create("review");
	TCase *tc = tcase_create("cli");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, enqueue_is_idempotent_and_bounded);
	tcase_add_test(tc, claims_follow_band_then_age_with_filters);
	tcase_add_test(tc, expired_lease_is_reclaimed);
	tcase_add_test(tc, overdue_entries_are_raised_once);
	tcase_add_test(tc, decide_produces_the_decision_then_acknowledges);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(review_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
