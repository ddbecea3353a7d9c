/* arbiterctl review and queues: reviewers claim, decide and reclaim queue entries; operators see
 * the queues. */
#include <errno.h>
#include <getopt.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "arbiter/v1/escalation.pb-c.h"
#include "arbiter/v1/moderation_decision.pb-c.h"
#include "config.h"
#include "ctl.h"
#include "log.h"
#include "pbjson.h"
#include "queues.h"

/* Exit statuses beyond 0 (done), 1 (failed) and 2 (usage). */
#define CTL_REVIEW_NOTHING 3 /* claim: no entry this reviewer may take */

static int64_t ctl_review_now_ms(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static struct config *ctl_review_config(const char *cmd, const char *path)
{
	struct config_errors errs = {0};
	struct config *cfg = NULL;
	if (config_load(path, &cfg, &errs) < 0) {
		config_errors_print(&errs, stderr);
		fprintf(stderr, "arbiterctl %s: %s: %zu error(s)\n", cmd, path, errs.n);
	}
	config_errors_clear(&errs);
	return cfg;
}

/* A synchronous connection as the daemon makes it: address, AUTH, SELECT and
 * the command timeout from CFG. */
static redisContext *ctl_review_connect(const char *cmd, const struct config *cfg)
{
	const char *a = cfg->redis.address;
	struct timeval ct = {cfg->redis.connect_timeout_ms / 1000,
			     (cfg->redis.connect_timeout_ms % 1000) * 1000};
	redisContext *c;
	if (a[0] == '/') {
		c = redisConnectUnixWithTimeout(a, ct);
	} else {
		char host[256];
		const char *colon = strrchr(a, ':');
		int hl = colon ? (int)(colon - a) : 0;
		if (hl >= 2 && a[0] == '[')
			snprintf(host, sizeof(host), "%.*s", hl - 2, a + 1);
		else
			snprintf(host, sizeof(host), "%.*s", hl, a);
		c = redisConnectWithTimeout(host, colon ? atoi(colon + 1) : 6379, ct);
	}
	if (!c || c->err) {
		fprintf(stderr, "arbiterctl %s: cannot connect to Redis at %s: %s\n", cmd, a,
			c ? c->errstr : "out of memory");
		redisFree(c);
		return NULL;
	}
	struct timeval tt = {cfg->redis.command_timeout_ms / 1000,
			     (cfg->redis.command_timeout_ms % 1000) * 1000};
	redisSetTimeout(c, tt);
	redisReply *r = NULL;
	if (cfg->redis.password && cfg->redis.username)
		r = redisCommand(c, "AUTH %s %s", cfg->redis.username, cfg->redis.password);
	else if (cfg->redis.password)
		r = redisCommand(c, "AUTH %s", cfg->redis.password);
	if (r && r->type != REDIS_REPLY_ERROR) {
		freeReplyObject(r);
		r = NULL;
	}
	if (!r && cfg->redis.db)
		r = redisCommand(c, "SELECT %d", cfg->redis.db);
	if (r && r->type == REDIS_REPLY_ERROR) {
		fprintf(stderr, "arbiterctl %s: Redis at %s: %s\n", cmd, a, r->str);
		freeReplyObject(r);
		redisFree(c);
		return NULL;
	}
	freeReplyObject(r);
	return c;
}

/* Runs SCRIPT with ARGV[0..argc) (after "EVALSHA sha"), falling back to
 * EVAL when Redis does not know it yet. Returns the reply or NULL (printed). */
static redisReply *ctl_review_script(const char *cmd, redisContext *c, enum queues_script s,
				     int argc, const char **argv)
{
	const char *v[24];
	size_t lens[24];
	if (argc + 2 > 24)
		return NULL;
	v[0] = "EVALSHA";
	v[1] = queues_script_sha(s);
	for (int i = 0; i < argc; i++)
		v[i + 2] = argv[i];
	for (int i = 0; i < argc + 2; i++)
		lens[i] = strlen(v[i]);
	redisReply *r = redisCommandArgv(c, argc + 2, v, lens);
	if (r && r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "NOSCRIPT", 8)) {
		freeReplyObject(r);
		v[0] = "EVAL";
		v[1] = queues_script_body(s);
		lens[0] = 4;
		lens[1] = strlen(v[1]);
		r = redisCommandArgv(c, argc + 2, v, lens);
	}
	if (!r)
		fprintf(stderr, "arbiterctl %s: Redis: %s\n", cmd, c->errstr);
	return r;
}

/* KEYS: the four band streams of QUEUE, into KEYS (4 × QUEUES_KEY_MAX). */
static void ctl_review_band_keys(const struct config *cfg, const char *queue,
				 char keys[CONFIG_BANDS][QUEUES_KEY_MAX])
{
	for (int b = 0; b < CONFIG_BANDS; b++)
		queues_key_stream(keys[b], cfg->redis.prefix, queue, (enum config_band)b);
}

/* ---- claim ---- */

static json_t *ctl_review_split(const char *s)
{
	json_t *a = json_array();
	while (s && *s) {
		const char *comma = strchr(s, ',');
		size_t n = comma ? (size_t)(comma - s) : strlen(s);
		json_array_append_new(a, json_stringn(s, n));
		s = comma ? comma + 1 : NULL;
	}
	return a;
}

/* The entry's fields as JSON: lists split, the Escalation decoded. */
static json_t *ctl_review_entry_json(const redisReply *fields, const char *stream_id)
{
	json_t *o = json_object();
	for (size_t i = 0; i + 1 < fields->elements; i += 2) {
		const char *k = fields->element[i]->str;
		const redisReply *v = fields->element[i + 1];
		if (!strcmp(k, "escalation")) {
			Arbiter__V1__Escalation *e = arbiter__v1__escalation__unpack(
				NULL, v->len, (const uint8_t *)v->str);
			json_object_set_new(o, k, e ? pbjson_encode(&e->base) : json_null());
			arbiter__v1__escalation__free_unpacked(e, NULL);
		} else if (!strcmp(k, "rules") || !strcmp(k, "modes") || !strcmp(k, "evidence")) {
			json_object_set_new(o, k, ctl_review_split(v->str));
		} else if (!strcmp(k, "deadline_ms") || !strcmp(k, "created_ms")) {
			json_object_set_new(o, k, json_integer(strtoll(v->str, NULL, 10)));
		} else {
			json_object_set_new(o, k, json_stringn(v->str, v->len));
		}
	}
	json_object_set_new(o, "stream_id", json_string(stream_id));
	return o;
}

static int ctl_review_claim(const struct config *cfg, redisContext *c, const char *queue,
			    const char *reviewer, const char *langs)
{
	char keys[CONFIG_BANDS][QUEUES_KEY_MAX], filter[512] = "", scan[16];
	ctl_review_band_keys(cfg, queue, keys);
	if (langs && *langs) {
		/* ",sw,bs,": the script looks for ",LANG," in it. */
		snprintf(filter, sizeof(filter), ",%s,", langs);
		for (char *p = filter; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p + 32);
	}
	snprintf(scan, sizeof(scan), "%d", QUEUES_CLAIM_SCAN);
	const char *argv[] = {"4", keys[0], keys[1], keys[2], keys[3], reviewer, filter, scan};
	redisReply *r = ctl_review_script("review claim", c, QUEUES_CLAIM, 8, argv);
	if (!r)
		return 1;
	int rc = 0;
	if (r->type == REDIS_REPLY_NIL) {
		fprintf(stderr, "arbiterctl review claim: nothing in %s for %s%s%s\n", queue,
			reviewer, langs ? " in " : "", langs ? langs : "");
		rc = CTL_REVIEW_NOTHING;
	} else if (r->type == REDIS_REPLY_ARRAY && r->elements == 3) {
		json_t *o = ctl_review_entry_json(r->element[2], r->element[1]->str);
		json_dumpf(o, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(o);
	} else {
		fprintf(stderr, "arbiterctl review claim: %s\n",
			r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
		rc = 1;
	}
	freeReplyObject(r);
	return rc;
}

/* ---- decide ---- */

/* The entry ID as the decision needs it: its location and fields. */
struct ctl_review_entry {
	char queue[QUEUES_KEY_MAX], band[16], stream_id[64];
	char stream[QUEUES_KEY_MAX];
	redisReply *fields; /* owned */
	redisReply *range;
};

static const char *ctl_review_field(const struct ctl_review_entry *e, const char *name)
{
	for (size_t i = 0; i + 1 < e->fields->elements; i += 2)
		if (!strcmp(e->fields->element[i]->str, name))
			return e->fields->element[i + 1]->str;
	return "";
}

/* Finds entry ID and checks that REVIEWER holds it. */
static int ctl_review_locate(const struct config *cfg, redisContext *c, const char *id,
			     const char *reviewer, struct ctl_review_entry *e)
{
	char key[QUEUES_KEY_MAX];
	queues_key_seen(key, cfg->redis.prefix, id);
	redisReply *r = redisCommand(c, "GET %s", key);
	int rc = 1;
	if (!r) {
		fprintf(stderr, "arbiterctl review decide: Redis: %s\n", c->errstr);
		return 1;
	}
	if (r->type != REDIS_REPLY_STRING)
		fprintf(stderr, "arbiterctl review decide: no escalation %s\n", id);
	else if (!strcmp(r->str, "decided"))
		fprintf(stderr, "arbiterctl review decide: %s was decided already\n", id);
	else if (sscanf(r->str, "%191s %15s %63s", e->queue, e->band, e->stream_id) != 3 ||
		 queues_band_parse(e->band) < 0)
		fprintf(stderr, "arbiterctl review decide: %s: unexpected location \"%s\"\n", key,
			r->str);
	else
		rc = 0;
	freeReplyObject(r);
	if (rc)
		return rc;
	queues_key_stream(e->stream, cfg->redis.prefix, e->queue,
			  (enum config_band)queues_band_parse(e->band));
	r = redisCommand(c, "XPENDING %s %s %s %s 1", e->stream, QUEUES_GROUP, e->stream_id,
			 e->stream_id);
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 1 || r->element[0]->elements < 2) {
		fprintf(stderr,
			"arbiterctl review decide: %s is not claimed by anyone: claim it "
			"first\n",
			id);
		freeReplyObject(r);
		return 1;
	}
	const char *holder = r->element[0]->element[1]->str;
	if (strcmp(holder, reviewer)) {
		fprintf(stderr, "arbiterctl review decide: %s is held by %s, not %s: %s\n", id,
			holder, reviewer,
			strcmp(holder, QUEUES_POOL) ? "someone else claimed it" :
						      "your lease expired and it was reclaimed");
		freeReplyObject(r);
		return 1;
	}
	freeReplyObject(r);
	e->range = redisCommand(c, "XRANGE %s %s %s", e->stream, e->stream_id, e->stream_id);
	if (!e->range || e->range->type != REDIS_REPLY_ARRAY || e->range->elements != 1) {
		fprintf(stderr, "arbiterctl review decide: %s: entry %s is gone\n", e->stream,
			e->stream_id);
		return 1;
	}
	e->fields = e->range->element[0]->element[1];
	return 0;
}

static int ctl_review_enum(const ProtobufCEnumDescriptor *d, const char *name, int *out)
{
	char up[64];
	size_t n = 0;
	for (; name[n] && n + 1 < sizeof(up); n++)
		up[n] = (char)(name[n] >= 'a' && name[n] <= 'z' ? name[n] - 32 : name[n]);
	up[n] = '\0';
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value_by_name(d, up);
	if (!v || v->value == 0)
		return -EINVAL;
	*out = v->value;
	return 0;
}

static int ctl_review_dr_err;

static void ctl_review_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	ctl_review_dr_err = m->err;
}

/* Produces D to the decisions topic and waits for the acknowledgement. */
static int ctl_review_produce(const struct config *cfg, const char *brokers,
			      const Arbiter__V1__ModerationDecision *d)
{
	char err[256];
	rd_kafka_conf_t *conf = ctl_kafka_conf(brokers);
	if (!conf)
		return 1;
	rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof(err));
	rd_kafka_conf_set(conf, "message.timeout.ms", "30000", err, sizeof(err));
	rd_kafka_conf_set_dr_msg_cb(conf, ctl_review_dr);
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	if (!rk) {
		fprintf(stderr, "arbiterctl review decide: %s\n", err);
		rd_kafka_conf_destroy(conf);
		return 1;
	}
	void *payload;
	size_t len;
	if (cfg->kafka.topics.decisions.format == CONFIG_FORMAT_JSON) {
		json_t *j = pbjson_encode(&d->base);
		payload = json_dumps(j, JSON_COMPACT);
		len = payload ? strlen(payload) : 0;
		json_decref(j);
	} else {
		len = protobuf_c_message_get_packed_size(&d->base);
		payload = malloc(len ? len : 1);
		if (payload)
			protobuf_c_message_pack(&d->base, payload);
	}
	ctl_review_dr_err = -1;
	rd_kafka_resp_err_t e =
		payload ? rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(cfg->kafka.topics.decisions.name),
					    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE),
					    RD_KAFKA_V_VALUE(payload, len),
					    RD_KAFKA_V_KEY(d->content_id, strlen(d->content_id)),
					    RD_KAFKA_V_END) :
			  RD_KAFKA_RESP_ERR__FAIL;
	if (e) {
		free(payload);
		ctl_review_dr_err = e;
	}
	rd_kafka_flush(rk, 35000);
	rd_kafka_destroy(rk);
	if (ctl_review_dr_err) {
		fprintf(stderr,
			"arbiterctl review decide: the decision was not delivered to %s (%s); the "
			"entry stays claimed\n",
			cfg->kafka.topics.decisions.name,
			ctl_review_dr_err < 0 ?
				"timed out" :
				rd_kafka_err2str((rd_kafka_resp_err_t)ctl_review_dr_err));
		return 1;
	}
	return 0;
}

/* A decision id derived from the escalation and the reviewer: deciding again
 * after a failed acknowledgement repeats the same decision. */
static void ctl_review_decision_id(char out[33], const char *id, const char *reviewer)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	EVP_DigestUpdate(ctx, "review\0", 7);
	EVP_DigestUpdate(ctx, id, strlen(id) + 1);
	EVP_DigestUpdate(ctx, reviewer, strlen(reviewer));
	EVP_DigestFinal_ex(ctx, md, &n);
	EVP_MD_CTX_free(ctx);
	for (int i = 0; i < 16; i++)
		snprintf(&out[2 * i], 3, "%02x", md[i]);
}

struct ctl_review_verdict {
	const char *action, *category, *ground, *legal_ground, *reason, *brokers, *outcome;
};

static int ctl_review_decide(const struct config *cfg, redisContext *c, const char *queue,
			     const char *id, const char *reviewer,
			     const struct ctl_review_verdict *vd)
{
	int action = 0, ground = 0;
	if (ctl_review_enum(&arbiter__v1__action__descriptor, vd->action, &action) < 0) {
		fprintf(stderr,
			"arbiterctl review decide: --action: unknown action \"%s\" "
			"(remove, demote, label, age_restrict, ..., none)\n",
			vd->action);
		return 2;
	}
	if (vd->ground && ctl_review_enum(&arbiter__v1__ground__descriptor, vd->ground, &ground)) {
		fprintf(stderr, "arbiterctl review decide: --ground: expected illegal_content or "
				"incompatible_content\n");
		return 2;
	}
	if (vd->category && strncmp(vd->category, "STATEMENT_CATEGORY_", 19)) {
		fprintf(stderr, "arbiterctl review decide: --category: expected a "
				"STATEMENT_CATEGORY_* value of the DSA database\n");
		return 2;
	}
	int outcome = 0;
	if (vd->outcome &&
	    ctl_review_enum(&arbiter__v1__appeal_outcome__descriptor, vd->outcome, &outcome)) {
		fprintf(stderr, "arbiterctl review decide: --outcome: expected upheld, reversed or "
				"modified\n");
		return 2;
	}
	struct ctl_review_entry e = {0};
	int rc = ctl_review_locate(cfg, c, id, reviewer, &e);
	const char *appeal_id = rc == 0 ? ctl_review_field(&e, "appeal_id") : "";
	if (rc == 0 && appeal_id[0] && !vd->outcome) {
		fprintf(stderr,
			"arbiterctl review decide: %s is an appeal: give --outcome "
			"upheld|reversed|modified\n",
			id);
		rc = 2;
	} else if (rc == 0 && !appeal_id[0] && vd->outcome) {
		fprintf(stderr,
			"arbiterctl review decide: --outcome is for appeals; %s is not one\n", id);
		rc = 2;
	}
	if (rc == 0 && strcmp(e.queue, queue)) {
		fprintf(stderr, "arbiterctl review decide: %s is in queue %s, not %s\n", id,
			e.queue, queue);
		rc = 1;
	}
	if (rc) {
		freeReplyObject(e.range);
		return rc;
	}

	char decision_id[33];
	ctl_review_decision_id(decision_id, id, reviewer);
	Arbiter__V1__ModerationDecision d = ARBITER__V1__MODERATION_DECISION__INIT;
	d.decision_id = decision_id;
	d.content_id = (char *)ctl_review_field(&e, "content_id");
	d.event_id = (char *)ctl_review_field(&e, "event_id");
	d.kind = appeal_id[0] ? ARBITER__V1__DECISION_KIND__APPEAL_RESOLVED :
				ARBITER__V1__DECISION_KIND__ACTION;
	d.appeal_id = (char *)appeal_id;
	d.appeal_outcome = (Arbiter__V1__AppealOutcome)outcome;
	d.action = (Arbiter__V1__Action)action;
	d.actor = ARBITER__V1__ACTOR__HUMAN;
	d.reviewer_id = (char *)reviewer;
	d.queue = (char *)queue;
	d.category = (char *)(vd->category ? vd->category : "");
	d.ground = (Arbiter__V1__Ground)ground;
	d.legal_ground = (char *)(vd->legal_ground ? vd->legal_ground : "");
	d.explanation = (char *)(vd->reason ? vd->reason : "");
	d.decided_at_ms = ctl_review_now_ms();
	d.lang = (char *)ctl_review_field(&e, "lang");
	d.country = (char *)ctl_review_field(&e, "country");

	rc = ctl_review_produce(cfg, vd->brokers, &d);
	if (rc == 0) {
		char sla[QUEUES_KEY_MAX], seen[QUEUES_KEY_MAX];
		queues_key_sla(sla, cfg->redis.prefix, e.queue);
		queues_key_seen(seen, cfg->redis.prefix, id);
		const char *argv[] = {"3", e.stream, sla, seen, e.stream_id, reviewer, id};
		redisReply *r = ctl_review_script("review decide", c, QUEUES_ACK, 7, argv);
		if (!r || r->type == REDIS_REPLY_ERROR) {
			/* The decision is out; deciding again repeats the same one. */
			fprintf(stderr,
				"arbiterctl review decide: decision %s sent, but the entry was not "
				"acknowledged: %s\n",
				decision_id, r ? r->str : c->errstr);
			rc = 1;
		}
		freeReplyObject(r);
	}
	if (rc == 0) {
		json_t *j = pbjson_encode(&d.base);
		json_dumpf(j, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(j);
	}
	freeReplyObject(e.range);
	return rc;
}

/* ---- reclaim ---- */

static int ctl_review_reclaim(const struct config *cfg, redisContext *c, const char *only)
{
	int rc = 0;
	char lease[24];
	snprintf(lease, sizeof(lease), "%" PRIu32, cfg->review.lease_ms);
	for (size_t i = 0; i < cfg->review.n_queues; i++) {
		const char *name = cfg->review.queues[i].name;
		if (only && strcmp(only, name))
			continue;
		char keys[CONFIG_BANDS][QUEUES_KEY_MAX];
		ctl_review_band_keys(cfg, name, keys);
		const char *argv[] = {"4", keys[0], keys[1], keys[2], keys[3], lease};
		redisReply *r = ctl_review_script("review reclaim", c, QUEUES_RECLAIM, 6, argv);
		if (r && r->type == REDIS_REPLY_INTEGER) {
			printf("%s: %lld returned\n", name, r->integer);
		} else {
			fprintf(stderr, "arbiterctl review reclaim: %s: %s\n", name,
				r && r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
			rc = 1;
		}
		freeReplyObject(r);
	}
	return rc;
}

/* ---- the commands ---- */

static void ctl_review_usage(FILE *out)
{
	fprintf(out,
		"Usage: arbiterctl review claim   --config CONFIG --queue Q --reviewer R [--lang L,..]\n"
		"       arbiterctl review decide  --config CONFIG --queue Q --id ID --reviewer R\n"
		"                                 --action A [--category C] [--ground G]\n"
		"                                 [--legal-ground TEXT] [--reason TEXT] [--brokers B]\n"
		"                                 [--outcome upheld|reversed|modified]\n"
		"       arbiterctl review reclaim --config CONFIG [--queue Q]\n\n"
		"claim    takes the waiting entry of queue Q that R may review, most urgent band\n"
		"         first and oldest first within a band, skipping entries in languages\n"
		"         outside --lang and appeals of R's own decisions; prints it as JSON and\n"
		"         holds it for R (a lease of review.lease). Exit 3 when there is none.\n"
		"decide   checks that R holds entry ID (the escalation id), sends R's decision\n"
		"         (a ModerationDecision, actor HUMAN) to the decisions topic, waits for\n"
		"         Kafka to acknowledge it, then removes the entry from the queue. If the\n"
		"         decision cannot be delivered the entry stays claimed. A is an action\n"
		"         (remove, demote, label, age_restrict, demonetize, geo_block,\n"
		"         suspend_account, terminate_account, restore, none); C a\n"
		"         STATEMENT_CATEGORY_* value; G illegal_content or\n"
		"         incompatible_content. --brokers overrides kafka.brokers (needed when\n"
		"         it is \"mock\").\n"
		"         An appeal (an entry with an appeal_id) is resolved instead: give\n"
		"         --outcome, and as A the action that stands after it (restore for a\n"
		"         reversal). The reviewer whose decision is under appeal never gets it.\n"
		"reclaim  returns entries whose lease expired to their queue.\n\n"
		"Redis connection settings (address, credentials, db, prefix) come from CONFIG.\n"
		"Exit status: 0 done, 1 failed, 2 usage error, 3 nothing to claim.\n");
}

int ctl_review(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"queue", required_argument, NULL, 'q'},
		{"reviewer", required_argument, NULL, 'r'},
		{"lang", required_argument, NULL, 'l'},
		{"id", required_argument, NULL, 'i'},
		{"action", required_argument, NULL, 'a'},
		{"category", required_argument, NULL, 'C'},
		{"ground", required_argument, NULL, 'g'},
		{"legal-ground", required_argument, NULL, 'L'},
		{"reason", required_argument, NULL, 'R'},
		{"brokers", required_argument, NULL, 'b'},
		{"outcome", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		ctl_review_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	const char *sub = argv[1];
	const char *config = NULL, *queue = NULL, *reviewer = NULL, *langs = NULL, *id = NULL;
	struct ctl_review_verdict vd = {0};
	int c;
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'q':
			queue = optarg;
			break;
		case 'r':
			reviewer = optarg;
			break;
		case 'l':
			langs = optarg;
			break;
		case 'i':
			id = optarg;
			break;
		case 'a':
			vd.action = optarg;
			break;
		case 'C':
			vd.category = optarg;
			break;
		case 'g':
			vd.ground = optarg;
			break;
		case 'L':
			vd.legal_ground = optarg;
			break;
		case 'R':
			vd.reason = optarg;
			break;
		case 'b':
			vd.brokers = optarg;
			break;
		case 'o':
			vd.outcome = optarg;
			break;
		case 'h':
			ctl_review_usage(stdout);
			return 0;
		default:
			ctl_review_usage(stderr);
			return 2;
		}
	}
	bool claim = !strcmp(sub, "claim"), decide = !strcmp(sub, "decide"),
	     reclaim = !strcmp(sub, "reclaim");
	if ((!claim && !decide && !reclaim) || optind + 1 != argc || !config ||
	    ((claim || decide) && (!queue || !reviewer)) || (decide && (!id || !vd.action))) {
		ctl_review_usage(stderr);
		return 2;
	}
	if (reviewer && (!*reviewer || !strcmp(reviewer, QUEUES_POOL) || strchr(reviewer, ' '))) {
		fprintf(stderr, "arbiterctl review: --reviewer: \"%s\" is not a reviewer name\n",
			reviewer);
		return 2;
	}
	struct config *cfg = ctl_review_config("review", config);
	if (!cfg)
		return 1;
	int rc = 2;
	if (queue && !config_queue_find(cfg, queue)) {
		fprintf(stderr, "arbiterctl review: no queue \"%s\" in %s\n", queue, config);
		goto out;
	}
	if (decide && !vd.brokers) {
		if (cfg->kafka.mock_brokers) {
			fprintf(stderr,
				"arbiterctl review decide: kafka.brokers is \"%s\": give --brokers "
				"with the cluster's bootstrap address\n",
				cfg->kafka.brokers);
			goto out;
		}
		vd.brokers = cfg->kafka.brokers;
	}
	redisContext *rc_ = ctl_review_connect("review", cfg);
	rc = 1;
	if (!rc_)
		goto out;
	if (claim)
		rc = ctl_review_claim(cfg, rc_, queue, reviewer, langs);
	else if (decide)
		rc = ctl_review_decide(cfg, rc_, queue, id, reviewer, &vd);
	else
		rc = ctl_review_reclaim(cfg, rc_, queue);
	redisFree(rc_);
out:
	config_free(cfg);
	return rc;
}

/* ---- queues ---- */

struct ctl_queues_band {
	long long depth, waiting, claimed, oldest_age_ms;
};

static void ctl_queues_band(redisContext *c, const char *key, int64_t now,
			    struct ctl_queues_band *b)
{
	memset(b, 0, sizeof(*b));
	b->oldest_age_ms = -1;
	redisReply *r = redisCommand(c, "XLEN %s", key);
	if (r && r->type == REDIS_REPLY_INTEGER)
		b->depth = r->integer;
	freeReplyObject(r);
	r = redisCommand(c, "XINFO CONSUMERS %s %s", key, QUEUES_GROUP);
	for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
		const redisReply *cons = r->element[i];
		const char *name = NULL;
		long long pending = 0;
		for (size_t k = 0; k + 1 < cons->elements; k += 2) {
			if (!strcmp(cons->element[k]->str, "name"))
				name = cons->element[k + 1]->str;
			else if (!strcmp(cons->element[k]->str, "pending"))
				pending = cons->element[k + 1]->integer;
		}
		if (name && !strcmp(name, QUEUES_POOL))
			b->waiting += pending;
		else
			b->claimed += pending;
	}
	freeReplyObject(r);
	r = redisCommand(c, "XRANGE %s - + COUNT 1", key);
	if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1)
		b->oldest_age_ms = now - strtoll(r->element[0]->element[0]->str, NULL, 10);
	freeReplyObject(r);
}

static void ctl_queues_usage(FILE *out)
{
	fprintf(out,
		"Usage: arbiterctl queues --config CONFIG [--json]\n\n"
		"Per declared review queue and band: entries (waiting + claimed), waiting,\n"
		"claimed, and the age of the oldest; per queue, entries past their deadline.\n");
}

int ctl_queues(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *config = NULL;
	bool as_json = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'j':
			as_json = true;
			break;
		case 'h':
			ctl_queues_usage(stdout);
			return 0;
		default:
			ctl_queues_usage(stderr);
			return 2;
		}
	}
	if (!config || optind != argc) {
		ctl_queues_usage(stderr);
		return 2;
	}
	struct config *cfg = ctl_review_config("queues", config);
	if (!cfg)
		return 1;
	redisContext *rc = ctl_review_connect("queues", cfg);
	if (!rc) {
		config_free(cfg);
		return 1;
	}
	int64_t now = ctl_review_now_ms();
	json_t *all = json_object();
	if (!as_json)
		printf("%-24s %-7s %8s %8s %8s %12s\n", "queue", "band", "entries", "waiting",
		       "claimed", "oldest");
	for (size_t i = 0; i < cfg->review.n_queues; i++) {
		const char *name = cfg->review.queues[i].name;
		char keys[CONFIG_BANDS][QUEUES_KEY_MAX], sla[QUEUES_KEY_MAX];
		ctl_review_band_keys(cfg, name, keys);
		queues_key_sla(sla, cfg->redis.prefix, name);
		redisReply *r = redisCommand(rc, "ZCOUNT %s -inf %lld", sla, (long long)now);
		long long overdue = r && r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
		freeReplyObject(r);
		json_t *q = json_object(), *bands = json_object();
		for (int b = 0; b < CONFIG_BANDS; b++) {
			struct ctl_queues_band st;
			ctl_queues_band(rc, keys[b], now, &st);
			json_object_set_new(
				bands, config_band_name((enum config_band)b),
				json_pack("{sI sI sI so}", "entries", st.depth, "waiting",
					  st.waiting, "claimed", st.claimed, "oldest_age_ms",
					  st.oldest_age_ms < 0 ? json_null() :
								 json_integer(st.oldest_age_ms)));
			if (as_json || !st.depth)
				continue;
			char age[32];
			snprintf(age, sizeof(age), "%llds", st.oldest_age_ms / 1000);
			printf("%-24s %-7s %8lld %8lld %8lld %12s\n", name,
			       config_band_name((enum config_band)b), st.depth, st.waiting,
			       st.claimed, age);
		}
		json_object_set_new(q, "bands", bands);
		json_object_set_new(q, "overdue", json_integer(overdue));
		json_object_set_new(all, name, q);
		if (!as_json && overdue)
			printf("%-24s %-7s %8lld past the deadline\n", name, "", overdue);
	}
	if (as_json) {
		json_dumpf(all, stdout, JSON_COMPACT);
		putchar('\n');
	}
	json_decref(all);
	redisFree(rc);
	config_free(cfg);
	return 0;
}
