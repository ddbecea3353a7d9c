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
	struct diag_list errs = {0};
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

/* What every test escalation carries: a regex's commas must survive. */
static const char *const rules[] = {"threat-1", "slur-2"};
static const char *const evidence[] = {"list:slurs", "regex:/kill{1,3}/"};

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
	es.n_rule_ids = sizeof(rules) / sizeof(rules[0]);
	es.rule_ids = (char **)rules;
	es.n_evidence = sizeof(evidence) / sizeof(evidence[0]);
	es.evidence = (char **)evidence;
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

/* Claims from Q for R; returns the claimed entry (json) or NULL when the
 * command said there is nothing (exit 3). */
static json_t *claim_entry(struct fixture *f, const char *q, const char *r, const char *langs)
{
	struct harness_run run;
	int rc = harness_ctl(&run, NULL, "review claim --config %s --queue %s --reviewer %s%s%s",
			     f->h.config, q, r, langs ? " --lang " : "", langs ? langs : "");
	json_t *j = NULL;
	if (rc == 3) {
		ck_assert_msg(strstr(run.err, "nothing in"), "%s", run.err);
	} else {
		ck_assert_msg(rc == 0, "claim exited %d: %s", rc, run.err);
		j = json_loads(run.out, 0, NULL);
		ck_assert_msg(j != NULL, "not JSON: %s", run.out);
		const char *id = json_string_value(json_object_get(j, "id"));
		ck_assert_ptr_nonnull(id);
		/* The escalation protobuf comes back decoded; lists are arrays,
		 * whole even where an item holds a comma. */
		ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "escalation"),
								   "escalation_id")),
				 id);
		json_t *ev = json_object_get(j, "evidence");
		ck_assert_int_eq(json_array_size(ev), 2);
		ck_assert_str_eq(json_string_value(json_array_get(ev, 1)), "regex:/kill{1,3}/");
		ck_assert_int_eq(json_array_size(json_object_get(j, "rules")), 2);
		ck_assert_str_eq(json_string_value(json_object_get(j, "queue")), q);
		ck_assert_ptr_nonnull(json_string_value(json_object_get(j, "stream_id")));
	}
	harness_run_free(&run);
	return j;
}

/* The same, for the escalation id alone (malloc'd), or NULL. */
static char *claim(struct fixture *f, const char *q, const char *r, const char *langs)
{
	json_t *j = claim_entry(f, q, r, langs);
	char *id = j ? strdup(json_string_value(json_object_get(j, "id"))) : NULL;
	json_decref(j);
	return id;
}

/* The consumer holding entry STREAM_ID of stream KEY (malloc'd), or NULL. */
static char *holder(struct fixture *f, const char *key, const char *stream_id)
{
	redisReply *r =
		redisCommand(f->c, "XPENDING %s reviewers %s %s 1", key, stream_id, stream_id);
	ck_assert_ptr_nonnull(r);
	char *who = r->type == REDIS_REPLY_ARRAY && r->elements == 1 ?
			    strdup(r->element[0]->element[1]->str) :
			    NULL;
	freeReplyObject(r);
	return who;
}

static long long redis_int(struct fixture *f, const char *fmt, const char *arg)
{
	redisReply *r = redisCommand(f->c, fmt, arg);
	ck_assert_msg(r && r->type == REDIS_REPLY_INTEGER, "%s: not an integer", fmt);
	long long v = r->integer;
	freeReplyObject(r);
	return v;
}

/* `arbiterctl queues --json`'s FIELD of QUEUE's BAND. */
static long long queues_json(struct fixture *f, const char *queue, const char *band,
			     const char *field)
{
	struct harness_run run;
	ck_assert_int_eq(harness_ctl(&run, NULL, "queues --config %s --json", f->h.config), 0);
	json_t *j = json_loads(run.out, 0, NULL);
	ck_assert_msg(j != NULL, "not JSON: %s", run.out);
	json_t *v = json_object_get(
		json_object_get(json_object_get(json_object_get(j, queue), "bands"), band), field);
	ck_assert_msg(json_is_integer(v), "%s.%s.%s in %s", queue, band, field, run.out);
	long long n = json_integer_value(v);
	json_decref(j);
	harness_run_free(&run);
	return n;
}

#define FAR (4102444800000LL) /* 2100-01-01: never overdue */

START_TEST(enqueue_is_idempotent_and_bounded)
{
	struct fixture f;
	fixture_start(&f, NULL);
	ck_assert_int_eq(enqueue(&f, "q", "a", ARBITER__V1__BAND__HIGH, "en", NULL, FAR), 1);
	ck_assert_int_eq(enqueue(&f, "q", "a", ARBITER__V1__BAND__HIGH, "en", NULL, FAR), 0);
	/* However long the entry waits, its dedupe key stays while it is queued. */
	ck_assert_int_eq(redis_int(&f, "PTTL %s", "arbiter:seen:a"), -1);
	/* Even routed elsewhere, a redelivery finds the dedupe key. */
	ck_assert_int_eq(enqueue(&f, "q-sw", "a", ARBITER__V1__BAND__LOW, "sw", NULL, FAR), 0);
	ck_assert_int_eq(redis_int(&f, "XLEN %s", "arbiter:q:q:high"), 1);
	ck_assert_int_eq(redis_int(&f, "EXISTS %s", "arbiter:q:q-sw:low"), 0);
	for (int i = 0; i < 4; i++) {
		char id[8];
		snprintf(id, sizeof(id), "b%d", i);
		ck_assert_int_eq(enqueue(&f, "q", id, ARBITER__V1__BAND__LOW, "en", NULL, FAR), 1);
	}
	/* max_length 5 over every band: full, and nothing added. */
	ck_assert_int_eq(enqueue(&f, "q", "c", ARBITER__V1__BAND__URGENT, "en", NULL, FAR), -1);
	ck_assert_int_eq(redis_int(&f, "EXISTS %s", "arbiter:seen:c"), 0);
	ck_assert_int_eq(redis_int(&f, "EXISTS %s", "arbiter:q:q:urgent"), 0);
	ck_assert_int_eq(redis_int(&f, "ZCARD %s", "arbiter:sla:q"), 5);

	ck_assert_int_eq(queues_json(&f, "q", "high", "entries"), 1);
	ck_assert_int_eq(queues_json(&f, "q", "low", "waiting"), 4);
	ck_assert_int_eq(queues_json(&f, "q", "low", "claimed"), 0);
	ck_assert_int_eq(queues_json(&f, "q", "urgent", "entries"), 0); /* no stream */
	ck_assert_int_eq(queues_json(&f, "q-sw", "normal", "entries"), 0);
	/* Entries enqueued just now. */
	ck_assert_int_le(queues_json(&f, "q", "low", "oldest_age_ms"), 60 * 1000);
	char *id = claim(&f, "q", "ana", NULL);
	ck_assert_str_eq(id, "a");
	free(id);
	ck_assert_int_eq(queues_json(&f, "q", "high", "waiting"), 0);
	ck_assert_int_eq(queues_json(&f, "q", "high", "claimed"), 1);
	struct harness_run run;
	ck_assert_int_eq(harness_ctl(&run, NULL, "queues --config %s", f.h.config), 0);
	ck_assert_msg(strstr(run.out, "high") && strstr(run.out, "q-sw"), "%s", run.out);
	harness_run_free(&run);
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
	 * skips the English entries, which stay for others. */
	char *id = claim(&f, "q", "rita", NULL);
	ck_assert_str_eq(id, "high-1");
	free(id);
	id = claim(&f, "q", "emir", "bs,hr");
	ck_assert_str_eq(id, "high-2");
	free(id);
	ck_assert_ptr_null(claim(&f, "q", "emir", "bs"));
	/* Language tags compare without case, as BCP 47 says. (q is full.) */
	ck_assert_int_eq(
		enqueue(&f, "q-sw", "high-pt", ARBITER__V1__BAND__HIGH, "pt-BR", NULL, FAR), 1);
	id = claim(&f, "q-sw", "joao", "PT-br");
	ck_assert_str_eq(id, "high-pt");
	free(id);
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
	/* The pool's name, and no name, are refused. */
	struct harness_run run;
	ck_assert_int_eq(harness_ctl(&run, NULL,
				     "review claim --config %s --queue q --reviewer pool",
				     f.h.config),
			 2);
	ck_assert_msg(strstr(run.err, "not a reviewer name"), "%s", run.err);
	harness_run_free(&run);
	ck_assert_int_eq(harness_ctl(NULL, NULL, "review claim --config %s --queue q --reviewer ''",
				     f.h.config),
			 2);
	ck_assert_int_eq(harness_ctl(NULL, NULL,
				     "review claim --config %s --queue nope --reviewer x",
				     f.h.config),
			 2);
	fixture_stop(&f);
}
END_TEST

/* Issue 11's reproduction: a Swahili reviewer claiming from a mixed queue
 * whose urgent band holds 1,000 English entries before the Swahili ones. */
START_TEST(claims_see_past_a_thousand_entries_of_other_languages)
{
	struct fixture f;
	fixture_start(&f, "    mixed: {}\n");
	for (int i = 0; i < 1000; i++) {
		char id[16];
		snprintf(id, sizeof(id), "en-%d", i);
		ck_assert_int_eq(
			enqueue(&f, "mixed", id, ARBITER__V1__BAND__URGENT, "en", NULL, FAR), 1);
	}
	enqueue(&f, "mixed", "sw-urgent", ARBITER__V1__BAND__URGENT, "sw", NULL, FAR);
	enqueue(&f, "mixed", "sw-high", ARBITER__V1__BAND__HIGH, "sw", NULL, FAR);
	char *id = claim(&f, "mixed", "amina", "sw");
	ck_assert_str_eq(id, "sw-urgent");
	free(id);
	id = claim(&f, "mixed", "amina", "sw");
	ck_assert_str_eq(id, "sw-high");
	free(id);
	ck_assert_ptr_null(claim(&f, "mixed", "amina", "sw"));
	/* Regional and script subtags: sw takes sw-KE; sr-Latn takes
	 * sr-Latn-RS, not sr-Cyrl. */
	enqueue(&f, "mixed", "sr-cyrl", ARBITER__V1__BAND__URGENT, "sr-Cyrl", NULL, FAR);
	enqueue(&f, "mixed", "sr-latn-rs", ARBITER__V1__BAND__URGENT, "sr-Latn-RS", NULL, FAR);
	enqueue(&f, "mixed", "sw-ke", ARBITER__V1__BAND__LOW, "sw-KE", NULL, FAR);
	id = claim(&f, "mixed", "amina", "sw");
	ck_assert_str_eq(id, "sw-ke");
	free(id);
	id = claim(&f, "mixed", "dragan", "SR-latn");
	ck_assert_str_eq(id, "sr-latn-rs");
	free(id);
	ck_assert_ptr_null(claim(&f, "mixed", "dragan", "sr-Latn"));
	id = claim(&f, "mixed", "dragan", "'bs, sr'"); /* spaces allowed */
	ck_assert_str_eq(id, "sr-cyrl");
	free(id);
	/* --lang takes tags, checked before anything is connected. */
	struct harness_run run;
	ck_assert_int_eq(
		harness_ctl(&run, NULL,
			    "review claim --config %s --queue mixed --reviewer amina --lang "
			    "sw,sr_Latn",
			    f.h.config),
		2);
	ck_assert_msg(strstr(run.err, "\"sr_Latn\" is not a language tag"), "%s", run.err);
	harness_run_free(&run);
	id = claim(&f, "mixed", "ana", NULL);
	ck_assert_str_eq(id, "en-0");
	free(id);
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
	struct harness_run run;
	ck_assert_int_eq(
		harness_ctl(&run, NULL, "review reclaim --config %s --queue q", f.h.config), 0);
	/* the lease is still running */
	ck_assert_str_eq(run.out,
			 "q: 0 returned, 0 of them past the deadline and raised to urgent\n");
	harness_run_free(&run);
	usleep(1200 * 1000);
	/* Every declared queue by default. */
	ck_assert_int_eq(harness_ctl(&run, NULL, "review reclaim --config %s", f.h.config), 0);
	ck_assert_str_eq(run.out,
			 "q: 1 returned, 0 of them past the deadline and raised to urgent\n"
			 "q-sw: 0 returned, 0 of them past the deadline and raised to urgent\n");
	harness_run_free(&run);
	id = claim(&f, "q", "ben", NULL);
	ck_assert_str_eq(id, "e1");
	free(id);
	/* ana's lease is gone: her decision is refused before anything is sent. */
	ck_assert_int_eq(
		harness_ctl(&run, NULL,
			    "review decide --config %s --brokers %s --queue q --id e1 "
			    "--reviewer ana --action remove "
			    "--category STATEMENT_CATEGORY_VIOLENCE --legal-ground 'Terms 4.1' "
			    "--reason threat",
			    f.h.config, f.h.bootstrap),
		1);
	ck_assert_msg(strstr(run.err, "lease expired"), "%s", run.err);
	harness_run_free(&run);
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
	enqueue(&f, "q", "late-claimed", ARBITER__V1__BAND__NORMAL, "en", NULL, 2000);
	enqueue(&f, "q", "late", ARBITER__V1__BAND__NORMAL, "en", NULL, 1000);
	enqueue(&f, "q", "late-urgent", ARBITER__V1__BAND__URGENT, "en", NULL, 3000);
	/* Claimed entries stay with their reviewer: x takes the urgent one and
	 * the oldest normal one, and gives the urgent one back. */
	char *a = claim(&f, "q", "x", NULL), *b = claim(&f, "q", "x", NULL);
	ck_assert_str_eq(a, "late-urgent");
	ck_assert_str_eq(b, "late-claimed");
	free(a);
	free(b);
	redisReply *r = redisCommand(f.c, "XPENDING arbiter:q:q:urgent reviewers - + 10 x");
	ck_assert_int_eq(r->elements, 1);
	freeReplyObject(redisCommand(f.c, "XCLAIM arbiter:q:q:urgent reviewers pool 0 %s",
				     r->element[0]->element[0]->str));
	freeReplyObject(r);

	long long overdue, raised;
	sweep(&f, &overdue, &raised);
	ck_assert_int_eq(overdue, 3);
	ck_assert_int_eq(raised, 1); /* normal -> urgent; urgent stays, claimed stays */
	sweep(&f, &overdue, &raised);
	ck_assert_int_eq(overdue, 0);
	ck_assert_int_eq(raised, 0);

	/* The seen key locates the raised entry, which keeps its id and fields. */
	r = redisCommand(f.c, "GET arbiter:seen:late");
	ck_assert_msg(!strncmp(r->str, "q urgent ", 9), "%s", r->str);
	char *sid = strdup(r->str + 9);
	freeReplyObject(r);
	r = redisCommand(f.c, "XRANGE arbiter:q:q:urgent %s %s", sid, sid);
	ck_assert_int_eq(r->elements, 1);
	const redisReply *fields = r->element[0]->element[1];
	ck_assert_str_eq(fields->element[0]->str, "id");
	ck_assert_str_eq(fields->element[1]->str, "late");
	freeReplyObject(r);
	char *who = holder(&f, "arbiter:q:q:urgent", sid);
	ck_assert_str_eq(who, "pool"); /* waiting, claimable */
	free(who);
	free(sid);
	ck_assert_int_eq(redis_int(&f, "XLEN %s", "arbiter:q:q:normal"), 1); /* the claimed one */
	ck_assert_int_eq(redis_int(&f, "XLEN %s", "arbiter:q:q:urgent"), 2);
	r = redisCommand(f.c, "GET arbiter:seen:late-claimed");
	ck_assert_msg(!strncmp(r->str, "q normal ", 9), "%s", r->str);
	freeReplyObject(r);
	/* In urgent, the raised entry comes after the one already there: oldest first. */
	char *id = claim(&f, "q", "y", NULL);
	ck_assert_str_eq(id, "late-urgent");
	free(id);
	json_t *j = claim_entry(&f, "q", "y", NULL);
	ck_assert_str_eq(json_string_value(json_object_get(j, "id")), "late");
	ck_assert_str_eq(json_string_value(json_object_get(j, "band")), "urgent");
	ck_assert_str_eq(json_string_value(json_object_get(j, "raised_from")), "normal");
	json_decref(j);
	fixture_stop(&f);
}
END_TEST

/* A deadline earlier than one already swept is still found: the to-do set
 * is not a cursor. */
START_TEST(an_earlier_deadline_after_a_sweep_is_still_raised)
{
	struct fixture f;
	fixture_start(&f, NULL);
	enqueue(&f, "q", "first", ARBITER__V1__BAND__HIGH, "en", NULL, 5000);
	long long overdue, raised;
	sweep(&f, &overdue, &raised);
	ck_assert_int_eq(overdue, 1);
	ck_assert_int_eq(raised, 1);
	enqueue(&f, "q", "earlier", ARBITER__V1__BAND__LOW, "en", NULL, 1000);
	enqueue(&f, "q", "tie", ARBITER__V1__BAND__LOW, "en", NULL, 1000);
	sweep(&f, &overdue, &raised);
	ck_assert_int_eq(overdue, 2);
	ck_assert_int_eq(raised, 2);
	ck_assert_int_eq(redis_int(&f, "XLEN %s", "arbiter:q:q:urgent"), 3);
	ck_assert_int_eq(redis_int(&f, "ZCARD %s", "arbiter:sla:q:todo"), 0);
	/* Still overdue for `arbiterctl queues` until decided. */
	ck_assert_int_eq(redis_int(&f, "ZCARD %s", "arbiter:sla:q"), 3);
	fixture_stop(&f);
}
END_TEST

/* The sweeper leaves a claimed entry with its reviewer; when the lease runs
 * out, reclaim raises it on its way back to the pool. */
START_TEST(an_overdue_entry_whose_lease_expires_is_raised_by_reclaim)
{
	struct fixture f;
	fixture_start(&f, "  lease: 1s\n");
	enqueue(&f, "q", "held", ARBITER__V1__BAND__NORMAL, "en", NULL, 1000);
	enqueue(&f, "q", "fresh", ARBITER__V1__BAND__NORMAL, "en", NULL, FAR);
	char *id = claim(&f, "q", "ana", NULL);
	ck_assert_str_eq(id, "held");
	free(id);
	id = claim(&f, "q", "ana", NULL);
	ck_assert_str_eq(id, "fresh");
	free(id);
	long long overdue, raised;
	sweep(&f, &overdue, &raised);
	ck_assert_int_eq(overdue, 1);
	ck_assert_int_eq(raised, 0);
	usleep(1200 * 1000);
	struct harness_run run;
	ck_assert_int_eq(
		harness_ctl(&run, NULL, "review reclaim --config %s --queue q", f.h.config), 0);
	ck_assert_str_eq(run.out,
			 "q: 2 returned, 1 of them past the deadline and raised to urgent\n");
	harness_run_free(&run);
	redisReply *r = redisCommand(f.c, "GET arbiter:seen:held");
	ck_assert_msg(!strncmp(r->str, "q urgent ", 9), "%s", r->str);
	freeReplyObject(r);
	json_t *j = claim_entry(&f, "q", "ben", NULL);
	ck_assert_str_eq(json_string_value(json_object_get(j, "id")), "held");
	ck_assert_str_eq(json_string_value(json_object_get(j, "raised_from")), "normal");
	json_decref(j);
	id = claim(&f, "q", "ben", NULL);
	ck_assert_str_eq(id, "fresh"); /* not overdue: back in normal */
	free(id);
	fixture_stop(&f);
}
END_TEST

static void read_decision(void *opaque, const rd_kafka_message_t *m)
{
	Arbiter__V1__ModerationDecision **out = opaque;
	ck_assert_ptr_null(*out); /* exactly one */
	*out = arbiter__v1__moderation_decision__unpack(NULL, m->len, m->payload);
	ck_assert_ptr_nonnull(*out);
	ck_assert_int_eq(m->key_len, strlen((*out)->content_id));
	ck_assert(!memcmp(m->key, (*out)->content_id, m->key_len));
}

#define KAFKA_API_PRODUCE 0 /* the Produce request's ApiKey in the Kafka protocol */

START_TEST(decide_produces_the_decision_then_acknowledges)
{
	struct fixture f;
	fixture_start(&f, NULL);
	enqueue(&f, "q-sw", "e9", ARBITER__V1__BAND__HIGH, "sw", NULL, FAR);
	json_t *j = claim_entry(&f, "q-sw", "zawadi", "sw");
	ck_assert_str_eq(json_string_value(json_object_get(j, "id")), "e9");
	char *sid = strdup(json_string_value(json_object_get(j, "stream_id")));
	json_decref(j);
	ck_assert_int_eq(redis_int(&f, "ZCARD %s", "arbiter:sla:q-sw"), 1);
	static const char decide[] = "review decide --config %s --brokers %s --queue q-sw --id e9 "
				     "--reviewer zawadi --action remove --ground illegal_content "
				     "--category STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH "
				     "--legal-ground 'Penal Code s. 96' "
				     "--reason 'call to violence'";

	/* Kafka refuses the decision: nothing acknowledged, still zawadi's. */
	rd_kafka_mock_push_request_errors(kafka_mock_cluster(f.h.mock), KAFKA_API_PRODUCE, 1,
					  RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
	struct harness_run run;
	ck_assert_int_eq(harness_ctl(&run, NULL, decide, f.h.config, f.h.bootstrap), 1);
	ck_assert_msg(strstr(run.err, "not delivered") && strstr(run.err, "stays claimed"), "%s",
		      run.err);
	ck_assert_str_eq(run.out, "");
	harness_run_free(&run);
	char *who = holder(&f, "arbiter:q:q-sw:high", sid);
	ck_assert_str_eq(who, "zawadi");
	free(who);
	ck_assert_int_eq(harness_count(&f.h, "moderation.decisions"), 0);

	ck_assert_int_eq(harness_ctl(&run, NULL, decide, f.h.config, f.h.bootstrap), 0);
	j = json_loads(run.out, 0, NULL);
	ck_assert_msg(j != NULL, "not JSON: %s", run.out);
	harness_run_free(&run);
	ck_assert(harness_wait_count(&f.h, "moderation.decisions", 1, 10));
	Arbiter__V1__ModerationDecision *d = NULL;
	harness_read(&f.h, "moderation.decisions", read_decision, &d);
	ck_assert_str_eq(d->decision_id, json_string_value(json_object_get(j, "decision_id")));
	ck_assert_str_eq(d->content_id, "content-e9");
	ck_assert_str_eq(d->event_id, "content-e9");
	ck_assert_int_eq(d->kind, ARBITER__V1__DECISION_KIND__ACTION);
	ck_assert_int_eq(d->actor, ARBITER__V1__ACTOR__HUMAN);
	ck_assert_int_eq(d->action, ARBITER__V1__ACTION__REMOVE);
	ck_assert_int_eq(d->ground, ARBITER__V1__GROUND__ILLEGAL_CONTENT);
	ck_assert_str_eq(d->category, "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH");
	ck_assert_str_eq(d->reviewer_id, "zawadi");
	ck_assert_str_eq(d->queue, "q-sw");
	ck_assert_str_eq(d->explanation, "call to violence");
	ck_assert_str_eq(d->lang, "sw");
	ck_assert_int_gt(d->decided_at_ms, 0);
	arbiter__v1__moderation_decision__free_unpacked(d, NULL);
	json_decref(j);
	/* Acknowledged: out of the stream and the SLA index, remembered as decided. */
	ck_assert_int_eq(redis_int(&f, "XLEN %s", "arbiter:q:q-sw:high"), 0);
	ck_assert_int_eq(redis_int(&f, "ZCARD %s", "arbiter:sla:q-sw"), 0);
	redisReply *r = redisCommand(f.c, "GET arbiter:seen:e9");
	ck_assert_str_eq(r->str, "decided");
	freeReplyObject(r);
	/* Remembered for review.dedupe_ttl (7 days by default) from the decision. */
	long long pttl = redis_int(&f, "PTTL %s", "arbiter:seen:e9");
	ck_assert_int_gt(pttl, 6LL * 24 * 3600 * 1000);
	ck_assert_int_le(pttl, 7LL * 24 * 3600 * 1000);
	ck_assert_int_eq(queues_json(&f, "q-sw", "high", "entries"), 0);
	ck_assert_int_eq(queues_json(&f, "q-sw", "high", "claimed"), 0);

	ck_assert_int_eq(harness_ctl(&run, NULL, decide, f.h.config, f.h.bootstrap), 1);
	ck_assert_msg(strstr(run.err, "already decided"), "%s", run.err);
	harness_run_free(&run);
	ck_assert_int_eq(harness_count(&f.h, "moderation.decisions"), 1);
	free(sid);
	fixture_stop(&f);
}
END_TEST

/* Counts the records read per partition, into an int[8]. */
static void read_partition(void *opaque, const rd_kafka_message_t *m)
{
	int *parts = opaque;
	parts[m->partition]++;
}

/* Writes to PATH the fixture's config with EXTRA_KAFKA (lines of the kafka section) and
 * EXTRA_PROPERTIES (lines of kafka.properties) added. */
static void write_variant(struct fixture *f, const char *path, const char *extra_kafka,
			  const char *extra_properties)
{
	FILE *in = fopen(f->h.config, "r");
	FILE *out = fopen(path, "w");
	ck_assert(in && out);
	char line[1024];
	while (fgets(line, sizeof(line), in)) {
		fputs(line, out);
		if (!strcmp(line, "kafka:\n"))
			fputs(extra_kafka, out);
		if (!strcmp(line, "  properties:\n"))
			fputs(extra_properties, out);
	}
	fclose(in);
	ck_assert_int_eq(fclose(out), 0);
}

START_TEST(decide_sends_with_the_configs_kafka_settings)
{
	enum { P = 8 };
	struct fixture f;
	fixture_start(&f, NULL);
	ck_assert_int_eq(kafka_mock_topic_create(f.h.mock, "decisions.p8", P), 0);
	/* A content id whose partition differs under the Java client's partitioner
	 * (murmur2) and librdkafka's default (CRC32): where the decision lands says
	 * which one the client was configured with. */
	char id[32], cid[48];
	int want = -1;
	for (int i = 0; i < 100 && want < 0; i++) {
		snprintf(id, sizeof(id), "p%d", i);
		snprintf(cid, sizeof(cid), "content-%s", id);
		int32_t m = rd_kafka_msg_partitioner_murmur2(NULL, cid, strlen(cid), P, NULL, NULL);
		int32_t c =
			rd_kafka_msg_partitioner_consistent(NULL, cid, strlen(cid), P, NULL, NULL);
		if (m != c)
			want = m;
	}
	ck_assert_int_ge(want, 0);
	enqueue(&f, "q", id, ARBITER__V1__BAND__HIGH, "en", NULL, FAR);
	free(claim(&f, "q", "ana", NULL));
	char path[400];
	snprintf(path, sizeof(path), "%s/partitioned.yaml", f.h.dir);
	write_variant(&f, path, "  topics: {decisions: decisions.p8}\n",
		      "    partitioner: murmur2\n");
	/* No --brokers: the config's. */
	struct harness_run run;
	ck_assert_int_eq(harness_ctl(&run, NULL,
				     "review decide --config %s --queue q --id %s --reviewer ana "
				     "--action none",
				     path, id),
			 0);
	harness_run_free(&run);
	ck_assert(harness_wait_count(&f.h, "decisions.p8", 1, 10));
	int parts[P] = {0};
	harness_read(&f.h, "decisions.p8", read_partition, parts);
	ck_assert_int_eq(parts[want], 1);
	ck_assert_int_eq(harness_count(&f.h, "moderation.decisions"), 0);
	fixture_stop(&f);
}
END_TEST

START_TEST(decide_refuses_bad_verdicts_before_sending)
{
	struct fixture f;
	fixture_start(&f, NULL);
	enqueue(&f, "q", "v1", ARBITER__V1__BAND__HIGH, "en", NULL, FAR);
	char *id = claim(&f, "q", "ana", NULL);
	free(id);
	static const char *const bad[] = {
		"--action disable --category STATEMENT_CATEGORY_VIOLENCE",
		"--action remove", /* a restriction names its category */
		/* ... the law or terms clause relied on, and why */
		"--action remove --category STATEMENT_CATEGORY_VIOLENCE --reason threat",
		"--action remove --category STATEMENT_CATEGORY_VIOLENCE --legal-ground 'Terms 4.1'",
		"--action remove --category VIOLENCE",
		"--action remove --category STATEMENT_CATEGORY_VIOLENCE --ground bad",
		"--action none --outcome upheld", /* not an appeal */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(
			harness_ctl(NULL, NULL,
				    "review decide --config %s --brokers %s --queue q --id v1 "
				    "--reviewer ana %s",
				    f.h.config, f.h.bootstrap, bad[i]) == 2,
			"%s", bad[i]);
	ck_assert_int_eq(harness_ctl(NULL, NULL,
				     "review decide --config %s --brokers %s --queue q-sw --id v1 "
				     "--reviewer ana --action NONE",
				     f.h.config, f.h.bootstrap),
			 1); /* another queue's entry */
	ck_assert_int_eq(harness_count(&f.h, "moderation.decisions"), 0);
	ck_assert_int_eq(harness_ctl(NULL, NULL,
				     "review decide --config %s --brokers %s --queue q --id v1 "
				     "--reviewer ana --action NONE",
				     f.h.config, f.h.bootstrap),
			 0);
	ck_assert(harness_wait_count(&f.h, "moderation.decisions", 1, 10));
	fixture_stop(&f);
}
END_TEST

START_TEST(errors_name_the_server)
{
	struct fixture f;
	fixture_start(&f, NULL);
	struct harness_run run;
	ck_assert_int_eq(harness_ctl(&run, NULL, "review claim --help"), 0);
	ck_assert_msg(strstr(run.out, "review claim") && !strstr(run.out, "review decide") &&
			      strstr(run.out, "Exit status") &&
			      strstr(run.out, "3 nothing to claim"),
		      "%s", run.out);
	harness_run_free(&run);
	ck_assert_int_eq(harness_ctl(NULL, NULL, "review claim --config %s", f.h.config), 2);
	ck_assert_int_eq(harness_ctl(NULL, NULL, "queues"), 2);
	redis_server_kill(&f.rs);
	ck_assert_int_eq(harness_ctl(&run, NULL, "queues --config %s", f.h.config), 1);
	ck_assert_msg(strstr(run.err, f.rs.address), "%s", run.err);
	harness_run_free(&run);
	redis_server_restart(&f.rs);
	redisFree(f.c);
	f.c = redis_server_connect(&f.rs);
	/* A server that wants a password: AUTH fails, and says so. */
	freeReplyObject(redisCommand(f.c, "CONFIG SET requirepass sesame"));
	ck_assert_int_eq(harness_ctl(&run, NULL, "queues --config %s", f.h.config), 1);
	ck_assert_msg(strstr(run.err, f.rs.address) && strstr(run.err, "NOAUTH"), "%s", run.err);
	harness_run_free(&run);
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
	tcase_add_test(tc, claims_see_past_a_thousand_entries_of_other_languages);
	tcase_add_test(tc, expired_lease_is_reclaimed);
	tcase_add_test(tc, overdue_entries_are_raised_once);
	tcase_add_test(tc, an_earlier_deadline_after_a_sweep_is_still_raised);
	tcase_add_test(tc, an_overdue_entry_whose_lease_expires_is_raised_by_reclaim);
	tcase_add_test(tc, decide_produces_the_decision_then_acknowledges);
	tcase_add_test(tc, decide_refuses_bad_verdicts_before_sending);
	tcase_add_test(tc, decide_sends_with_the_configs_kafka_settings);
	tcase_add_test(tc, errors_name_the_server);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return harness_main(review_suite());
}
