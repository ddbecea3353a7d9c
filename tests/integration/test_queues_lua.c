/* Integration: the review-queue Lua scripts run directly against a real redis-server: the claim
 * index behind large backlogs, its upkeep and migration, and the decision state appeals use. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include <check.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../unit/langtag_cases.h"
#include "arbiter/v1/escalation.pb-c.h"
#include "queues.h"
#include "redis_server.h"

#define FAR (4102444800000LL) /* 2100-01-01: never overdue */

struct fixture {
	struct redis_server rs;
	redisContext *c;
	struct config *cfg;
};

static void fixture_start(struct fixture *f)
{
	redis_server_start(&f->rs);
	char *path = NULL;
	ck_assert_int_ge(asprintf(&path, "%s/arbiter.yaml", f->rs.dir), 0);
	FILE *fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fputs("review:\n"
	      "  queues:\n"
	      "    q: {max_length: 0}\n"
	      "    t: {}\n"
	      "  appeals_queue: q\n",
	      fp);
	fclose(fp);
	struct diag_list errs = {0};
	ck_assert_int_eq(config_load(path, &f->cfg, &errs), 0);
	free(path);
	f->c = redis_server_connect(&f->rs);
	for (int s = 0; s < QUEUES__SCRIPTS; s++) {
		redisReply *r = redisCommand(f->c, "SCRIPT LOAD %s",
					     queues_script_body((enum queues_script)s));
		ck_assert_msg(r && r->type == REDIS_REPLY_STRING, "loading %s: %s",
			      queues_script_name((enum queues_script)s), r ? r->str : "no reply");
		ck_assert_str_eq(r->str, queues_script_sha((enum queues_script)s));
		freeReplyObject(r);
	}
}

static void fixture_stop(struct fixture *f)
{
	redisFree(f->c);
	config_free(f->cfg);
	redis_server_stop(&f->rs);
}

/* Runs CMD (taken) and returns the reply. */
static redisReply *run(struct fixture *f, struct queues_cmd *cmd)
{
	redisReply *r = redisCommandArgv(f->c, cmd->argc, cmd->argv, cmd->lens);
	ck_assert_msg(r != NULL, "%s: no reply", queues_script_name(cmd->script));
	queues_cmd_free(cmd);
	return r;
}

static long long redis_int(struct fixture *f, const char *fmt, const char *arg)
{
	redisReply *r = redisCommand(f->c, fmt, arg);
	ck_assert_msg(r && r->type == REDIS_REPLY_INTEGER, "%s: not an integer", fmt);
	long long v = r->integer;
	freeReplyObject(r);
	return v;
}

/* The enqueue command of escalation ID in queue Q, as the daemon builds it. */
static void enqueue_cmd(struct fixture *f, const char *q, const char *id, Arbiter__V1__Band band,
			const char *lang, const char *exclude, int64_t deadline,
			struct queues_cmd *cmd)
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
	uint8_t packed[512];
	size_t len = protobuf_c_message_get_packed_size(&es.base);
	ck_assert_uint_lt(len, sizeof(packed));
	protobuf_c_message_pack(&es.base, packed);
	/* The command points to PACKED: it is appended (copied into hiredis's
	 * output buffer) before PACKED goes. */
	ck_assert_int_eq(queues_enqueue_cmd(f->cfg, config_queue_find(f->cfg, q), &es, packed, len,
					    exclude, cmd),
			 0);
	redisAppendCommandArgv(f->c, cmd->argc, cmd->argv, cmd->lens);
	queues_cmd_free(cmd);
}

/* Enqueues and returns the script's answer (1 added, 0 known, -1 full). */
static long long enqueue(struct fixture *f, const char *q, const char *id, Arbiter__V1__Band band,
			 const char *lang, const char *exclude, int64_t deadline)
{
	struct queues_cmd cmd;
	enqueue_cmd(f, q, id, band, lang, exclude, deadline, &cmd);
	redisReply *r = NULL;
	ck_assert_int_eq(redisGetReply(f->c, (void **)&r), REDIS_OK);
	ck_assert_msg(r->type == REDIS_REPLY_INTEGER, "enqueue %s: %s", id,
		      r->type == REDIS_REPLY_ERROR ? r->str : "not an integer");
	long long v = r->integer;
	freeReplyObject(r);
	return v;
}

/* Claims from Q for R with language ranges LANGS ("sw,sr-Latn"; NULL: any);
 * returns the escalation id (malloc'd) or NULL, and the band in *BAND. */
static char *claim_band(struct fixture *f, const char *q, const char *r, const char *langs,
			int *band)
{
	char buf[256], *ranges[16];
	size_t n = 0;
	snprintf(buf, sizeof(buf), "%s", langs ? langs : "");
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t && n < 16;
	     t = strtok_r(NULL, ",", &save))
		ranges[n++] = t;
	struct queues_cmd cmd;
	ck_assert_int_eq(queues_claim_cmd(f->cfg, q, r, ranges, n, &cmd), 0);
	redisReply *rep = run(f, &cmd);
	char *id = NULL;
	if (rep->type != REDIS_REPLY_NIL) {
		ck_assert_msg(rep->type == REDIS_REPLY_ARRAY && rep->elements == 3, "claim: %s",
			      rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
		if (band)
			*band = (int)rep->element[0]->integer;
		const redisReply *fields = rep->element[2];
		for (size_t i = 0; i + 1 < fields->elements && !id; i += 2)
			if (!strcmp(fields->element[i]->str, "id"))
				id = strdup(fields->element[i + 1]->str);
		ck_assert_ptr_nonnull(id);
	}
	freeReplyObject(rep);
	return id;
}

static char *claim(struct fixture *f, const char *q, const char *r, const char *langs)
{
	return claim_band(f, q, r, langs, NULL);
}

/* Asserts that R's next claim from Q with LANGS is WANT (NULL: nothing). */
#define ck_claims(f, q, r, langs, want)                                                            \
	do {                                                                                       \
		char *got_ = claim(f, q, r, langs);                                                \
		const char *want_ = (want);                                                        \
		ck_assert_msg(want_ ? got_ && !strcmp(got_, want_) : !got_,                        \
			      "%s claims %s from %s: got %s, want %s", r, langs ? langs : "any",   \
			      q, got_ ? got_ : "nothing", want_ ? want_ : "nothing");              \
		free(got_);                                                                        \
	} while (0)

/* The pool's count and the index's own count of band stream KEY agree. */
static void ck_index_whole(struct fixture *f, const char *key)
{
	long long pool = 0;
	redisReply *r = redisCommand(f->c, "XPENDING %s reviewers", key);
	ck_assert_ptr_nonnull(r);
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 4 &&
	    r->element[3]->type == REDIS_REPLY_ARRAY)
		for (size_t i = 0; i < r->element[3]->elements; i++)
			if (!strcmp(r->element[3]->element[i]->element[0]->str, "pool"))
				pool = atoll(r->element[3]->element[i]->element[1]->str);
	freeReplyObject(r);
	r = redisCommand(f->c, "GET %s:ix:n", key);
	long long n = r->type == REDIS_REPLY_STRING ? atoll(r->str) : 0;
	freeReplyObject(r);
	ck_assert_msg(n == pool, "%s: index holds %lld, pool %lld", key, n, pool);
}

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Runs N claims of R from Q in LANGS, expecting ids PREFIX0.. in order, and
 * prints their latency (from the client: a round trip on loopback). */
static void timed_claims(struct fixture *f, const char *what, const char *q, const char *r,
			 const char *langs, const char *prefix, int first, int n)
{
	double *t = calloc((size_t)n, sizeof(*t));
	for (int i = 0; i < n; i++) {
		char want[32];
		snprintf(want, sizeof(want), "%s%d", prefix, first + i);
		double t0 = now_us();
		char *got = claim(f, q, r, langs);
		t[i] = now_us() - t0;
		ck_assert_msg(got && !strcmp(got, want), "%s: got %s, want %s", what,
			      got ? got : "nothing", want);
		free(got);
	}
	qsort(t, (size_t)n, sizeof(*t), cmp_double);
	fprintf(stderr, "claim latency, %s: p50 %.0f us, max %.0f us over %d claims\n", what,
		t[n / 2], t[n - 1], n);
	free(t);
}

#define BACKLOG 100000
#define BATCH 1000

/* The reproduction of issue 11 grown a hundredfold: a Swahili reviewer
 * behind 100,000 English entries, and a reviewer behind 50,000 appeals of
 * her own decisions, each get theirs, in time that does not grow with the
 * backlog. */
START_TEST(claims_see_past_a_backlog_of_100000)
{
	struct fixture f;
	fixture_start(&f);
	/* Speed, not durability, for building the backlog. */
	freeReplyObject(redisCommand(f.c, "CONFIG SET appendonly no"));
	double t0 = now_us();
	struct queues_cmd cmd;
	for (int i = 0; i < BACKLOG; i += BATCH) {
		for (int j = i; j < i + BATCH; j++) {
			char id[32];
			snprintf(id, sizeof(id), "e%d", j);
			/* The first half are appeals of rita's decisions. */
			enqueue_cmd(&f, "q", id, ARBITER__V1__BAND__URGENT, "en",
				    j < BACKLOG / 2 ? "rita" : NULL, FAR, &cmd);
		}
		for (int j = i; j < i + BATCH; j++) {
			redisReply *r = NULL;
			ck_assert_int_eq(redisGetReply(f.c, (void **)&r), REDIS_OK);
			ck_assert_msg(r->type == REDIS_REPLY_INTEGER && r->integer == 1,
				      "enqueue e%d: %s", j,
				      r->type == REDIS_REPLY_ERROR ? r->str : "not added");
			freeReplyObject(r);
		}
	}
	fprintf(stderr, "enqueued %d entries in %.1f s (pipelined, %d at a time)\n", BACKLOG,
		(now_us() - t0) / 1e6, BATCH);
	for (int i = 0; i < 100; i++) {
		char id[32];
		snprintf(id, sizeof(id), "sw%d", i);
		ck_assert_int_eq(enqueue(&f, "q", id, ARBITER__V1__BAND__URGENT,
					 i % 2 ? "sw-KE" : "sw", NULL, FAR),
				 1);
	}
	ck_assert_int_eq(enqueue(&f, "q", "sw-high", ARBITER__V1__BAND__HIGH, "sw", NULL, FAR), 1);
	ck_assert_int_eq(redis_int(&f, "XLEN %s", "arbiter:q:q:urgent"), BACKLOG + 100);

	timed_claims(&f, "--lang sw behind 100000 en entries", "q", "amina", "sw", "sw", 0, 100);
	int band = -1;
	char *id = claim_band(&f, "q", "amina", "sw", &band);
	ck_assert_str_eq(id, "sw-high");
	ck_assert_int_eq(band, CONFIG_BAND_HIGH);
	free(id);
	ck_claims(&f, "q", "amina", "sw", NULL);
	double t1 = now_us();
	ck_claims(&f, "q", "amina", "fr,de,sw-TZ", NULL);
	fprintf(stderr,
		"claim latency, nothing for --lang fr,de,sw-TZ behind %d entries: %.0f us\n",
		BACKLOG, now_us() - t1);
	timed_claims(&f, "rita behind 50000 appeals of her decisions", "q", "rita", NULL, "e",
		     BACKLOG / 2, 100);
	timed_claims(&f, "rita --lang en behind the rest of them", "q", "rita", "en", "e",
		     BACKLOG / 2 + 100, 100);
	/* Anyone else takes the oldest, appeals of rita's decisions first. */
	timed_claims(&f, "any language, oldest first", "q", "ben", NULL, "e", 0, 100);
	ck_index_whole(&f, "arbiter:q:q:urgent");
	/* What an upgrade costs once: a claim that finds no index builds it. */
	freeReplyObject(redisCommand(f.c, "DEL arbiter:q:q:urgent:ix arbiter:q:q:urgent:ix:heads "
					  "arbiter:q:q:urgent:ix:n"));
	double t2 = now_us();
	ck_claims(&f, "q", "ben", NULL, "e100");
	fprintf(stderr, "claim that rebuilds the index of %d waiting entries: %.2f s\n",
		BACKLOG - 300, (now_us() - t2) / 1e6);
	ck_index_whole(&f, "arbiter:q:q:urgent");
	ck_claims(&f, "q", "rita", NULL, "e50200");
	fixture_stop(&f);
}
END_TEST

/* Appeals against several reviewers interleave: each reviewer gets the
 * oldest entry not against them, in stream order. */
START_TEST(exclusions_of_several_reviewers_keep_the_order)
{
	struct fixture f;
	fixture_start(&f);
	static const struct {
		const char *id, *lang, *excl;
	} entries[] = {
		{"a1", "sw", "rita"}, {"a2", "sw-KE", "ben"}, {"a3", "sw", "rita"},
		{"a4", "sw", NULL},   {"a5", "sw", "ben"},    {"a6", "en", "ana"},
		{"a7", "sw", "ana"},
	};
	for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++)
		ck_assert_int_eq(enqueue(&f, "q", entries[i].id, ARBITER__V1__BAND__HIGH,
					 entries[i].lang, entries[i].excl, FAR),
				 1);
	ck_claims(&f, "q", "rita", "sw", "a2");
	ck_claims(&f, "q", "ben", "sw", "a1");
	ck_claims(&f, "q", "rita", "sw", "a4");
	ck_claims(&f, "q", "ben", NULL, "a3");
	ck_claims(&f, "q", "ana", "sw", "a5"); /* a6 is English, a7 hers */
	ck_claims(&f, "q", "ana", NULL, NULL);
	ck_claims(&f, "q", "rita", "sw", "a7");
	ck_claims(&f, "q", "rita", "sw", NULL);
	ck_claims(&f, "q", "rita", "en", "a6");
	ck_index_whole(&f, "arbiter:q:q:high");
	/* Nothing is left in the index, nor among the heads. */
	ck_assert_int_eq(redis_int(&f, "EXISTS %s", "arbiter:q:q:high:ix"), 0);
	ck_assert_int_eq(redis_int(&f, "EXISTS %s", "arbiter:q:q:high:ix:heads"), 0);
	fixture_stop(&f);
}
END_TEST

/* The claim script's index answers as langtag_match does, case by case. */
START_TEST(claims_cover_tags_as_langtag_match_does)
{
	struct fixture f;
	fixture_start(&f);
	for (size_t i = 0; i < sizeof(langtag_cases) / sizeof(langtag_cases[0]); i++) {
		const struct langtag_case *c = &langtag_cases[i];
		char id[32];
		snprintf(id, sizeof(id), "lt%zu", i);
		ck_assert_int_eq(enqueue(&f, "t", id, ARBITER__V1__BAND__NORMAL, c->tag, NULL, FAR),
				 1);
		char *got = claim(&f, "t", "x", c->range);
		ck_assert_msg(c->want ? got && !strcmp(got, id) : !got,
			      "claim --lang %s of an entry in \"%s\": %s, want %s", c->range,
			      c->tag, got ? got : "nothing", c->want ? id : "nothing");
		free(got);
		if (!c->want) /* any language takes it */
			ck_claims(&f, "t", "y", NULL, id);
	}
	/* Several ranges: any of them. */
	enqueue(&f, "t", "m1", ARBITER__V1__BAND__NORMAL, "bs-Cyrl", NULL, FAR);
	enqueue(&f, "t", "m2", ARBITER__V1__BAND__NORMAL, "hr", NULL, FAR);
	enqueue(&f, "t", "m3", ARBITER__V1__BAND__NORMAL, "sr-Latn-RS", NULL, FAR);
	enqueue(&f, "t", "m4", ARBITER__V1__BAND__NORMAL, "sr-Cyrl", NULL, FAR);
	ck_claims(&f, "t", "x", "sr-Latn,hr", "m2");
	ck_claims(&f, "t", "x", "sr-Latn,hr", "m3");
	ck_claims(&f, "t", "x", "sr-Latn,hr", NULL);
	ck_claims(&f, "t", "x", "bs,sr", "m1");
	ck_claims(&f, "t", "x", "bs,sr", "m4");
	ck_index_whole(&f, "arbiter:q:t:normal");
	fixture_stop(&f);
}
END_TEST

static void reclaim(struct fixture *f, long long now, long long *returned, long long *raised)
{
	char keys[CONFIG_BANDS][QUEUES_KEY_MAX], now_s[24];
	for (int b = 0; b < CONFIG_BANDS; b++)
		queues_key_stream(keys[b], "arbiter:", "q", (enum config_band)b);
	snprintf(now_s, sizeof(now_s), "%lld", now);
	redisReply *r = redisCommand(f->c, "EVALSHA %s 4 %s %s %s %s 0 %s arbiter:seen:",
				     queues_script_sha(QUEUES_RECLAIM), keys[0], keys[1], keys[2],
				     keys[3], now_s);
	ck_assert_msg(r && r->type == REDIS_REPLY_ARRAY, "reclaim: %s", r ? r->str : "no reply");
	*returned = r->element[0]->integer;
	*raised = r->element[1]->integer;
	freeReplyObject(r);
}

/* Reclaim returns an entry to its place; the sweeper and reclaim move raised
 * entries to the urgent band's index. */
START_TEST(reclaim_and_sweep_keep_the_index)
{
	struct fixture f;
	fixture_start(&f);
	enqueue(&f, "q", "n1", ARBITER__V1__BAND__NORMAL, "sw", NULL, FAR);
	enqueue(&f, "q", "n2", ARBITER__V1__BAND__NORMAL, "sw", NULL, FAR);
	ck_claims(&f, "q", "amina", "sw", "n1");
	long long returned, raised;
	reclaim(&f, 1000, &returned, &raised); /* lease 0: every claim has expired */
	ck_assert_int_eq(returned, 1);
	ck_assert_int_eq(raised, 0);
	ck_claims(&f, "q", "juma", "sw", "n1"); /* back before n2 */
	ck_claims(&f, "q", "juma", "sw", "n2");

	/* Overdue while waiting: the sweeper raises it. */
	enqueue(&f, "q", "late", ARBITER__V1__BAND__LOW, "sw-KE", "rita", 1000);
	struct queues_cmd cmd;
	ck_assert_int_eq(queues_sweep_cmd(f.cfg, config_queue_find(f.cfg, "q"), 5000, &cmd), 0);
	redisReply *r = run(&f, &cmd);
	ck_assert_int_eq(r->element[1]->integer, 1);
	freeReplyObject(r);
	ck_claims(&f, "q", "rita", NULL, NULL); /* still an appeal of hers */
	int band = -1;
	char *id = claim_band(&f, "q", "amina", "sw-KE", &band);
	ck_assert_str_eq(id, "late");
	ck_assert_int_eq(band, CONFIG_BAND_URGENT);
	free(id);

	/* Overdue while claimed: reclaim raises it on its way back. */
	enqueue(&f, "q", "held", ARBITER__V1__BAND__HIGH, "sw", NULL, 1000);
	ck_claims(&f, "q", "amina", "sw", "held");
	reclaim(&f, 5000, &returned, &raised);
	ck_assert_int_eq(returned, 4); /* n1, n2, late and held: amina's and juma's leases */
	ck_assert_int_eq(raised, 1);
	for (int b = 0; b < CONFIG_BANDS; b++) {
		char key[QUEUES_KEY_MAX];
		queues_key_stream(key, "arbiter:", "q", (enum config_band)b);
		ck_index_whole(&f, key);
	}
	ck_claims(&f, "q", "ben", "sw", "late");
	band = -1;
	id = claim_band(&f, "q", "ben", "sw", &band);
	ck_assert_str_eq(id, "held");
	ck_assert_int_eq(band, CONFIG_BAND_URGENT);
	free(id);
	ck_claims(&f, "q", "ben", "sw", "n1");
	ck_claims(&f, "q", "ben", "sw", "n2");
	ck_claims(&f, "q", "ben", NULL, NULL);
	fixture_stop(&f);
}
END_TEST

/* An entry as the scripts before the index added it: stream, pool, dedupe key. */
static void enqueue_unindexed(struct fixture *f, const char *id, const char *band, const char *lang)
{
	char key[QUEUES_KEY_MAX];
	snprintf(key, sizeof(key), "arbiter:q:q:%s", band);
	freeReplyObject(redisCommand(f->c, "XGROUP CREATE %s reviewers $ MKSTREAM", key));
	redisReply *r = redisCommand(f->c, "XADD %s * id %s queue q band %s lang %s exclude %s",
				     key, id, band, lang, "");
	ck_assert_int_eq(r->type, REDIS_REPLY_STRING);
	freeReplyObject(redisCommand(f->c, "SET arbiter:seen:%s %s", id, r->str));
	freeReplyObject(r);
	freeReplyObject(
		redisCommand(f->c, "XREADGROUP GROUP reviewers pool COUNT 1 STREAMS %s >", key));
}

/* Entries enqueued before the index existed (an upgrade), or by an older
 * arbiterd during a rolling upgrade, are indexed when a script next meets
 * their stream; an entry claimed behind the index's back is skipped. */
START_TEST(old_entries_are_indexed_on_first_use)
{
	struct fixture f;
	fixture_start(&f);
	for (int i = 0; i < 1500; i++) {
		char id[32];
		snprintf(id, sizeof(id), "old-en%d", i);
		enqueue_unindexed(&f, id, "urgent", "en");
	}
	enqueue_unindexed(&f, "old-sw", "urgent", "sw-TZ");
	ck_assert_int_eq(redis_int(&f, "EXISTS %s", "arbiter:q:q:urgent:ix:n"), 0);
	ck_claims(&f, "q", "amina", "sw", "old-sw");
	ck_index_whole(&f, "arbiter:q:q:urgent");
	/* A rolling upgrade: an older instance adds one more, unindexed. */
	enqueue(&f, "q", "new-sw", ARBITER__V1__BAND__URGENT, "sw", NULL, FAR);
	enqueue_unindexed(&f, "old-sw2", "urgent", "sw");
	ck_claims(&f, "q", "amina", "sw", "new-sw");
	ck_claims(&f, "q", "amina", "sw", "old-sw2");
	/* An older arbiterctl claims old-en0 without touching the index. */
	redisReply *r = redisCommand(f.c, "XRANGE arbiter:q:q:urgent - + COUNT 1");
	char *sid = strdup(r->element[0]->element[0]->str);
	freeReplyObject(r);
	freeReplyObject(redisCommand(f.c, "XCLAIM arbiter:q:q:urgent reviewers bob 0 %s", sid));
	free(sid);
	/* ... and an older arbiterd adds one: the counts agree again, but the
	 * index's head is held by bob. The claim finds out and rebuilds. */
	enqueue_unindexed(&f, "old-en-late", "urgent", "en");
	ck_claims(&f, "q", "ben", "en", "old-en1");
	ck_index_whole(&f, "arbiter:q:q:urgent");
	fixture_stop(&f);
}
END_TEST

/* ---- decision state ---- */

static long long decide(struct fixture *f, const char *content, const char *id,
			Arbiter__V1__Action action, Arbiter__V1__Actor actor, const char *reviewer,
			int64_t at)
{
	struct queues_cmd cmd;
	ck_assert_int_eq(
		queues_decision_state_cmd(f->cfg, content, id, action, actor, reviewer, at, &cmd),
		0);
	redisReply *r = run(f, &cmd);
	ck_assert_msg(r->type == REDIS_REPLY_INTEGER, "decision: %s",
		      r->type == REDIS_REPLY_ERROR ? r->str : "not an integer");
	long long v = r->integer;
	freeReplyObject(r);
	return v;
}

/* What appeal_file or appeal_resolve answered, copied. */
struct answer {
	int rc;
	Arbiter__V1__Action action;
	char reviewer[64], decision[64], reason[512];
	long long filed;
};

static struct answer answer_of(redisReply *r)
{
	struct answer a = {0};
	struct queues_appeal qa;
	a.rc = queues_appeal_reply(r, &qa);
	ck_assert_msg(a.rc != -EPROTO, "unexpected reply: %s",
		      r->type == REDIS_REPLY_ERROR ? r->str : "?");
	if (a.rc == 0) {
		a.action = qa.original_action;
		snprintf(a.reviewer, sizeof(a.reviewer), "%s", qa.original_reviewer);
		snprintf(a.decision, sizeof(a.decision), "%s", qa.decision_id);
		a.filed = qa.filed_ms;
	} else {
		snprintf(a.reason, sizeof(a.reason), "%s", qa.reason);
	}
	freeReplyObject(r);
	return a;
}

static struct answer file_appeal(struct fixture *f, const char *content, const char *appeal,
				 const char *decision, int64_t at)
{
	struct queues_cmd cmd;
	ck_assert_int_eq(queues_appeal_file_cmd(f->cfg, content, appeal, at, decision, &cmd), 0);
	return answer_of(run(f, &cmd));
}

static struct answer resolve_appeal(struct fixture *f, const char *content, const char *appeal,
				    const char *reviewer, Arbiter__V1__AppealOutcome outcome,
				    Arbiter__V1__Action action, int64_t at, const char *id)
{
	struct queues_cmd cmd;
	ck_assert_int_eq(queues_appeal_resolve_cmd(f->cfg, content, appeal, reviewer, outcome,
						   action, at, id, &cmd),
			 0);
	return answer_of(run(f, &cmd));
}

/* The current decision's id of CONTENT (static buffer), or "". */
static const char *current(struct fixture *f, const char *content)
{
	static char id[64];
	redisReply *r = redisCommand(f->c, "HGET arbiter:decision:%s current", content);
	snprintf(id, sizeof(id), "%s", r->type == REDIS_REPLY_STRING ? r->str : "");
	freeReplyObject(r);
	return id;
}

/* The case, both ways round: rita geo-blocked the content at 1000;
 * a rule processed later (5000) removes it. Either way, an appeal naming no
 * decision is against rita's, and she may not resolve it. */
START_TEST(a_human_decision_is_never_replaced_by_an_automated_one)
{
	struct fixture f;
	fixture_start(&f);
	/* Human first, then automated. */
	ck_assert_int_eq(decide(&f, "c1", "h1", ARBITER__V1__ACTION__GEO_BLOCK,
				ARBITER__V1__ACTOR__HUMAN, "rita", 1000),
			 1);
	ck_assert_int_eq(decide(&f, "c1", "auto1", ARBITER__V1__ACTION__REMOVE,
				ARBITER__V1__ACTOR__AUTOMATED, "", 5000),
			 0);
	/* Automated first, then human. */
	ck_assert_int_eq(decide(&f, "c2", "auto2", ARBITER__V1__ACTION__REMOVE,
				ARBITER__V1__ACTOR__AUTOMATED, "", 5000),
			 1);
	ck_assert_int_eq(decide(&f, "c2", "h2", ARBITER__V1__ACTION__GEO_BLOCK,
				ARBITER__V1__ACTOR__HUMAN, "rita", 1000),
			 1);
	const char *contents[] = {"c1", "c2"}, *humans[] = {"h1", "h2"};
	for (int i = 0; i < 2; i++) {
		ck_assert_str_eq(current(&f, contents[i]), humans[i]);
		char appeal[16];
		snprintf(appeal, sizeof(appeal), "ap-%d", i);
		struct answer a = file_appeal(&f, contents[i], appeal, NULL, 7000);
		ck_assert_int_eq(a.rc, 0);
		ck_assert_int_eq(a.action, ARBITER__V1__ACTION__GEO_BLOCK);
		ck_assert_str_eq(a.reviewer, "rita");
		ck_assert_str_eq(a.decision, humans[i]);
		ck_assert_int_eq(a.filed, 7000);
		a = resolve_appeal(&f, contents[i], appeal, "rita",
				   ARBITER__V1__APPEAL_OUTCOME__UPHELD,
				   ARBITER__V1__ACTION__GEO_BLOCK, 8000, "r1");
		ck_assert_int_eq(a.rc, -EPERM);
		ck_assert_msg(strstr(a.reason, "reviewer whose decision is under appeal"), "%s",
			      a.reason);
	}
	/* An unspecified actor counts as human: automated systems say so. */
	ck_assert_int_eq(decide(&f, "c3", "u1", ARBITER__V1__ACTION__LABEL,
				ARBITER__V1__ACTOR__ACTOR_UNSPECIFIED, "", 1000),
			 1);
	ck_assert_int_eq(decide(&f, "c3", "auto3", ARBITER__V1__ACTION__REMOVE,
				ARBITER__V1__ACTOR__AUTOMATED, "", 9000),
			 0);
	fixture_stop(&f);
}
END_TEST

/* Between decisions of one kind the latest decision time wins, then the
 * greater id: the same state whatever order they arrive in. */
START_TEST(same_kind_the_latest_decision_time_wins)
{
	struct fixture f;
	fixture_start(&f);
	static const struct {
		const char *id;
		Arbiter__V1__Actor actor;
		int64_t at;
	} ds[] = {
		{"a-early", ARBITER__V1__ACTOR__AUTOMATED, 1000},
		{"a-late", ARBITER__V1__ACTOR__AUTOMATED, 4000},
		{"h-early", ARBITER__V1__ACTOR__HUMAN, 2000},
		{"h-late", ARBITER__V1__ACTOR__HUMAN, 3000},
		{"h-tie", ARBITER__V1__ACTOR__HUMAN, 3000}, /* "h-tie" > "h-late" */
	};
	/* Every order of the five (5! = 120), each on its own content. */
	int perm[5] = {0, 1, 2, 3, 4}, n = 0;
	for (;;) {
		char content[16];
		snprintf(content, sizeof(content), "p%d", n++);
		for (int i = 0; i < 5; i++)
			decide(&f, content, ds[perm[i]].id, ARBITER__V1__ACTION__DEMOTE,
			       ds[perm[i]].actor,
			       ds[perm[i]].actor == ARBITER__V1__ACTOR__HUMAN ? "x" : "",
			       ds[perm[i]].at);
		ck_assert_msg(!strcmp(current(&f, content), "h-tie"), "order %d%d%d%d%d: %s",
			      perm[0], perm[1], perm[2], perm[3], perm[4], current(&f, content));
		/* Next permutation (lexicographic). */
		int i = 3;
		while (i >= 0 && perm[i] > perm[i + 1])
			i--;
		if (i < 0)
			break;
		int j = 4;
		while (perm[j] < perm[i])
			j--;
		int t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
		for (int a = i + 1, b = 4; a < b; a++, b--) {
			t = perm[a];
			perm[a] = perm[b];
			perm[b] = t;
		}
	}
	ck_assert_int_eq(n, 120);
	/* Automated ones alone: the later. */
	decide(&f, "auto", "a2", ARBITER__V1__ACTION__REMOVE, ARBITER__V1__ACTOR__AUTOMATED, "",
	       4000);
	ck_assert_int_eq(decide(&f, "auto", "a1", ARBITER__V1__ACTION__LABEL,
				ARBITER__V1__ACTOR__AUTOMATED, "", 1000),
			 0);
	struct answer a = file_appeal(&f, "auto", "ap-auto", NULL, 5000);
	ck_assert_int_eq(a.rc, 0);
	ck_assert_str_eq(a.decision, "a2");
	ck_assert_int_eq(a.action, ARBITER__V1__ACTION__REMOVE);
	ck_assert_str_eq(a.reviewer, "");
	fixture_stop(&f);
}
END_TEST

START_TEST(an_appeal_is_against_the_decision_it_names)
{
	struct fixture f;
	fixture_start(&f);
	decide(&f, "c1", "h1", ARBITER__V1__ACTION__GEO_BLOCK, ARBITER__V1__ACTOR__HUMAN, "rita",
	       1000);
	decide(&f, "c1", "auto1", ARBITER__V1__ACTION__REMOVE, ARBITER__V1__ACTOR__AUTOMATED, "",
	       5000);
	decide(&f, "c2", "h2", ARBITER__V1__ACTION__LABEL, ARBITER__V1__ACTOR__HUMAN, "ben", 1000);
	/* Against the rule's action, though rita's is current. */
	struct answer a = file_appeal(&f, "c1", "ap-auto", "auto1", 6000);
	ck_assert_int_eq(a.rc, 0);
	ck_assert_int_eq(a.action, ARBITER__V1__ACTION__REMOVE);
	ck_assert_str_eq(a.reviewer, "");
	ck_assert_str_eq(a.decision, "auto1");
	/* Against rita's, named. */
	a = file_appeal(&f, "c1", "ap-h", "h1", 6000);
	ck_assert_int_eq(a.rc, 0);
	ck_assert_int_eq(a.action, ARBITER__V1__ACTION__GEO_BLOCK);
	ck_assert_str_eq(a.reviewer, "rita");
	/* A redelivery gets what was filed, whatever happened since. */
	decide(&f, "c1", "h3", ARBITER__V1__ACTION__RESTORE, ARBITER__V1__ACTOR__HUMAN, "sam",
	       9000);
	a = file_appeal(&f, "c1", "ap-h", "h1", 6000);
	ck_assert_int_eq(a.rc, 0);
	ck_assert_str_eq(a.decision, "h1");
	ck_assert_str_eq(a.reviewer, "rita");
	/* A decision the content does not have: unknown, or another content's. */
	static const char *const unknown[] = {"nope", "h2"};
	for (int i = 0; i < 2; i++) {
		a = file_appeal(&f, "c1", "ap-x", unknown[i], 6000);
		ck_assert_int_eq(a.rc, -ENOENT);
		ck_assert_msg(strstr(a.reason, unknown[i]) && strstr(a.reason, "c1") &&
				      !strncmp(a.reason, "appeal against unknown decision", 31),
			      "%s", a.reason);
	}
	ck_assert_int_eq(redis_int(&f, "EXISTS %s", "arbiter:appeal:ap-x"), 0);
	a = file_appeal(&f, "c9", "ap-y", "h1", 6000);
	ck_assert_int_eq(a.rc, -ENOENT);
	/* Naming none on content with no decision: the older refusal. */
	a = file_appeal(&f, "c9", "ap-z", NULL, 6000);
	ck_assert_int_eq(a.rc, -EPERM);
	ck_assert_str_eq(a.reason, "appeal for content with no known decision");
	/* The appeal against the rule's action has no reviewer to keep out;
	 * a reversal becomes the current decision (human, latest). */
	a = resolve_appeal(&f, "c1", "ap-auto", "rita", ARBITER__V1__APPEAL_OUTCOME__REVERSED,
			   ARBITER__V1__ACTION__RESTORE, 10000, "r-1");
	ck_assert_int_eq(a.rc, 0);
	ck_assert_str_eq(a.decision, "auto1");
	ck_assert_str_eq(current(&f, "c1"), "r-1");
	a = resolve_appeal(&f, "c1", "no-such", "rita", ARBITER__V1__APPEAL_OUTCOME__UPHELD,
			   ARBITER__V1__ACTION__REMOVE, 10000, "r-2");
	ck_assert_int_eq(a.rc, -EPERM);
	ck_assert_str_eq(a.reason, "no such appeal was filed");
	fixture_stop(&f);
}
END_TEST

/* Decision state kept by the scripts before decisions by id is read as the
 * content's one decision; the hash stays bounded. */
START_TEST(old_decision_state_migrates_and_state_is_bounded)
{
	struct fixture f;
	fixture_start(&f);
	freeReplyObject(redisCommand(f.c,
				     "HSET arbiter:decision:old decided_ms 100 action REMOVE actor "
				     "HUMAN reviewer rita decision_id d-old"));
	struct answer a = file_appeal(&f, "old", "ap-old", NULL, 200);
	ck_assert_int_eq(a.rc, 0);
	ck_assert_int_eq(a.action, ARBITER__V1__ACTION__REMOVE);
	ck_assert_str_eq(a.reviewer, "rita");
	ck_assert_str_eq(a.decision, "d-old");
	ck_assert_int_eq(redis_int(&f, "HEXISTS arbiter:decision:old %s", "decided_ms"), 0);
	ck_assert_str_eq(current(&f, "old"), "d-old");
	/* A later automated action does not replace rita's migrated decision. */
	ck_assert_int_eq(decide(&f, "old", "auto", ARBITER__V1__ACTION__LABEL,
				ARBITER__V1__ACTOR__AUTOMATED, "", 300),
			 0);

	/* A human decision first, then more automated ones than are kept. */
	decide(&f, "busy", "human", ARBITER__V1__ACTION__REMOVE, ARBITER__V1__ACTOR__HUMAN, "ana",
	       1);
	for (int i = 0; i < QUEUES_DECISIONS_MAX + 20; i++) {
		char id[16];
		snprintf(id, sizeof(id), "a%d", i);
		decide(&f, "busy", id, ARBITER__V1__ACTION__LABEL, ARBITER__V1__ACTOR__AUTOMATED,
		       "", 1000 + i);
	}
	ck_assert_int_eq(redis_int(&f, "HLEN %s", "arbiter:decision:busy"),
			 QUEUES_DECISIONS_MAX + 1);
	ck_assert_str_eq(current(&f, "busy"), "human");
	/* The oldest automated ones went, the newest stay. */
	ck_assert_int_eq(file_appeal(&f, "busy", "ap-b1", "a0", 5000).rc, -ENOENT);
	a = file_appeal(&f, "busy", "ap-b2", "a119", 5000);
	ck_assert_int_eq(a.rc, 0);
	ck_assert_int_eq(a.action, ARBITER__V1__ACTION__LABEL);
	/* Remembered for review.decision_ttl (400 days by default). */
	ck_assert_int_gt(redis_int(&f, "TTL %s", "arbiter:decision:busy"), 399LL * 86400);
	fixture_stop(&f);
}
END_TEST

static Suite *queues_lua_suite(void)
{
	Suite *s = suite_create("queues_lua");
	TCase *tc = tcase_create("claims");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, claims_see_past_a_backlog_of_100000);
	tcase_add_test(tc, exclusions_of_several_reviewers_keep_the_order);
	tcase_add_test(tc, claims_cover_tags_as_langtag_match_does);
	tcase_add_test(tc, reclaim_and_sweep_keep_the_index);
	tcase_add_test(tc, old_entries_are_indexed_on_first_use);
	suite_add_tcase(s, tc);
	tc = tcase_create("decisions");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, a_human_decision_is_never_replaced_by_an_automated_one);
	tcase_add_test(tc, same_kind_the_latest_decision_time_wins);
	tcase_add_test(tc, an_appeal_is_against_the_decision_it_names);
	tcase_add_test(tc, old_decision_state_migrates_and_state_is_bounded);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(queues_lua_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
