/* arbiterctl review and queues: reviewers claim, decide and reclaim queue entries; operators see
 * the queues. */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "arbiter/v1/escalation.pb-c.h"
#include "arbiter/v1/moderation_decision.pb-c.h"
#include "config.h"
#include "ctl.h"
#include "langtag.h"
#include "log.h"
#include "pbjson.h"
#include "queues.h"

/* Exit statuses beyond 0 (done), 1 (failed) and 2 (usage). */
#define CTL_REVIEW_NOTHING 3 /* claim: no entry this reviewer may take */

/* One subcommand's Redis connection: every message names the command and
 * the server. */
struct ctl_review_redis {
	const char *cmd; /* "review claim", "queues", ... */
	const struct config *cfg;
	redisContext *c;
};

static struct config *ctl_review_config(const char *cmd, const char *path)
{
	struct diag_list errs = {0};
	struct config *cfg = NULL;
	if (config_load(path, &cfg, &errs) < 0) {
		diag_print(&errs, stderr);
		fprintf(stderr, "arbiterctl %s: %s: %zu error(s)\n", cmd, path, errs.n);
	}
	diag_clear(&errs);
	return cfg;
}

/* Says why WHAT failed: R is an error reply, any other unexpected reply, or
 * NULL when the connection failed or timed out. */
static void ctl_review_fail(const struct ctl_review_redis *s, const char *what, const redisReply *r)
{
	fprintf(stderr, "arbiterctl %s: Redis at %s: %s: %s\n", s->cmd, s->cfg->redis.address, what,
		!r                           ? s->c->errstr :
		r->type == REDIS_REPLY_ERROR ? r->str :
					       "unexpected reply");
}

/* Takes R, the reply to WHAT: 0 when it is not an error, else -EIO (said). */
static int ctl_review_check(const struct ctl_review_redis *s, const char *what, redisReply *r)
{
	int rc = r && r->type != REDIS_REPLY_ERROR ? 0 : -EIO;
	if (rc)
		ctl_review_fail(s, what, r);
	freeReplyObject(r);
	return rc;
}

/* Connects as the daemon does: address, AUTH, SELECT and the command timeout
 * from s->cfg. Returns 0 or -EIO (said). */
static int ctl_review_connect(struct ctl_review_redis *s)
{
	const struct config *cfg = s->cfg;
	const char *a = cfg->redis.address;
	struct timeval ct = {cfg->redis.connect_timeout_ms / 1000,
			     (cfg->redis.connect_timeout_ms % 1000) * 1000};
	if (a[0] == '/') {
		s->c = redisConnectUnixWithTimeout(a, ct);
	} else {
		char host[CONFIG_HOST_MAX];
		int port;
		config_redis_host_port(a, host, &port);
		s->c = redisConnectWithTimeout(host, port, ct);
	}
	if (!s->c || s->c->err) {
		fprintf(stderr, "arbiterctl %s: cannot connect to Redis at %s: %s\n", s->cmd, a,
			s->c ? s->c->errstr : "out of memory");
		goto fail;
	}
	struct timeval tt = {cfg->redis.command_timeout_ms / 1000,
			     (cfg->redis.command_timeout_ms % 1000) * 1000};
	redisSetTimeout(s->c, tt);
	if (cfg->redis.password &&
	    ctl_review_check(s, "AUTH",
			     cfg->redis.username ?
				     redisCommand(s->c, "AUTH %s %s", cfg->redis.username,
						  cfg->redis.password) :
				     redisCommand(s->c, "AUTH %s", cfg->redis.password)))
		goto fail;
	if (cfg->redis.db &&
	    ctl_review_check(s, "SELECT", redisCommand(s->c, "SELECT %d", cfg->redis.db)))
		goto fail;
	return 0;
fail:
	redisFree(s->c);
	s->c = NULL;
	return -EIO;
}

struct redisContext *ctl_redis_connect(const char *cmd, const struct config *cfg)
{
	struct ctl_review_redis s = {.cmd = cmd, .cfg = cfg};
	return ctl_review_connect(&s) < 0 ? NULL : s.c;
}

/* A command that must succeed; NULL when it did not (said). */
static redisReply *ctl_review_command(const struct ctl_review_redis *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static redisReply *ctl_review_command(const struct ctl_review_redis *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	redisReply *r = redisvCommand(s->c, fmt, ap);
	va_end(ap);
	if (r && r->type != REDIS_REPLY_ERROR)
		return r;
	char what[16];
	snprintf(what, sizeof(what), "%.*s", (int)strcspn(fmt, " "), fmt);
	ctl_review_fail(s, what, r);
	freeReplyObject(r);
	return NULL;
}

#define CTL_REVIEW_SCRIPT_ARGS 16

/* Runs script SC with ARGV (numkeys, keys, args), falling back to EVAL when
 * Redis does not know it yet. Returns the reply, which may be an error the
 * script raised, or NULL when Redis could not be asked (said). */
static redisReply *ctl_review_script(const struct ctl_review_redis *s, enum queues_script sc,
				     int argc, const char **argv)
{
	const char *v[CTL_REVIEW_SCRIPT_ARGS + 2];
	size_t lens[CTL_REVIEW_SCRIPT_ARGS + 2];
	/* The callers' fixed argument lists fit. */
	if (!log_assert(argc <= CTL_REVIEW_SCRIPT_ARGS))
		return NULL;
	v[0] = "EVALSHA";
	v[1] = queues_script_sha(sc);
	for (int i = 0; i < argc; i++)
		v[i + 2] = argv[i];
	for (int i = 0; i < argc + 2; i++)
		lens[i] = strlen(v[i]);
	redisReply *r = redisCommandArgv(s->c, argc + 2, v, lens);
	if (r && r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "NOSCRIPT", 8)) {
		freeReplyObject(r);
		v[0] = "EVAL";
		v[1] = queues_script_body(sc);
		lens[0] = 4;
		lens[1] = strlen(v[1]);
		r = redisCommandArgv(s->c, argc + 2, v, lens);
	}
	if (!r) {
		char what[32];
		snprintf(what, sizeof(what), "the %s script", queues_script_name(sc));
		ctl_review_fail(s, what, NULL);
	}
	return r;
}

/* KEYS: the four band streams of QUEUE, most urgent first. */
static void ctl_review_band_keys(const struct config *cfg, const char *queue,
				 char keys[CONFIG_BANDS][QUEUES_KEY_MAX])
{
	for (int b = 0; b < CONFIG_BANDS; b++)
		queues_key_stream(keys[b], cfg->redis.prefix, queue, (enum config_band)b);
}

/* ---- claim ---- */

static json_t *ctl_review_strings(char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* A comma-separated list field: only for an entry whose protobuf does not
 * decode, since items may hold commas (a regex's "{1,3}" in evidence). */
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

/* The entry's fields as JSON: the Escalation decoded, lists as arrays. */
static json_t *ctl_review_entry_json(const redisReply *fields, const char *stream_id)
{
	Arbiter__V1__Escalation *es = NULL;
	for (size_t i = 0; i + 1 < fields->elements && !es; i += 2) {
		const redisReply *v = fields->element[i + 1];
		if (!strcmp(fields->element[i]->str, "escalation"))
			es = arbiter__v1__escalation__unpack(NULL, v->len, (const uint8_t *)v->str);
	}
	json_t *o = json_object();
	for (size_t i = 0; i + 1 < fields->elements; i += 2) {
		const char *k = fields->element[i]->str;
		const redisReply *v = fields->element[i + 1];
		json_t *j;
		if (!strcmp(k, "escalation"))
			j = es ? pbjson_encode(&es->base) : json_null();
		else if (es && !strcmp(k, "rules"))
			j = ctl_review_strings(es->rule_ids, es->n_rule_ids);
		else if (es && !strcmp(k, "modes"))
			j = ctl_review_strings(es->modes, es->n_modes);
		else if (es && !strcmp(k, "evidence"))
			j = ctl_review_strings(es->evidence, es->n_evidence);
		else if (!strcmp(k, "rules") || !strcmp(k, "modes") || !strcmp(k, "evidence"))
			j = ctl_review_split(v->str);
		else if (!strcmp(k, "deadline_ms") || !strcmp(k, "created_ms"))
			j = json_integer(strtoll(v->str, NULL, 10));
		else
			j = json_stringn(v->str, v->len);
		json_object_set_new(o, k, j);
	}
	json_object_set_new(o, "stream_id", json_string(stream_id));
	arbiter__v1__escalation__free_unpacked(es, NULL);
	return o;
}

/* Splits the --lang list "sw, sr-Latn" into RANGES (pointing into BUF).
 * Returns their number, or -1 when one is not a range (said). */
static int ctl_review_ranges(const char *langs, char *buf, size_t len, char **ranges, int max)
{
	int n = 0;
	snprintf(buf, len, "%s", langs ? langs : "");
	for (char *save = NULL, *t = strtok_r(buf, ", ", &save); t;
	     t = strtok_r(NULL, ", ", &save)) {
		const char *why;
		if (n == max) {
			fprintf(stderr, "arbiterctl review claim: --lang: at most %d languages\n",
				max);
			return -1;
		}
		if (langtag_check_range(t, &why, NULL) < 0) {
			fprintf(stderr,
				"arbiterctl review claim: --lang: \"%s\" is not a language tag "
				"language[-script][-region] such as sw, sw-KE or sr-Latn: %s\n",
				t, why);
			return -1;
		}
		ranges[n++] = t;
	}
	return n;
}

static int ctl_review_claim(const struct ctl_review_redis *s, const char *queue,
			    const char *reviewer, const char *langs)
{
	char buf[512], *ranges[32];
	int n = ctl_review_ranges(langs, buf, sizeof(buf), ranges, 32);
	if (n < 0)
		return 2;
	struct queues_cmd cmd;
	if (queues_claim_cmd(s->cfg, queue, reviewer, ranges, (size_t)n, &cmd) < 0) {
		fprintf(stderr, "arbiterctl review claim: out of memory\n");
		return 1;
	}
	/* argv[0..1] are EVALSHA and the hash; the helper adds them again. */
	redisReply *r = ctl_review_script(s, QUEUES_CLAIM, cmd.argc - 2, cmd.argv + 2);
	queues_cmd_free(&cmd);
	if (!r)
		return 1;
	int rc = 0;
	if (r->type == REDIS_REPLY_NIL) {
		fprintf(stderr, "arbiterctl review claim: nothing in %s for %s%s%s\n", queue,
			reviewer, langs ? " in " : "", langs ? langs : "");
		rc = CTL_REVIEW_NOTHING;
	} else if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
		   r->element[1]->type == REDIS_REPLY_STRING &&
		   r->element[2]->type == REDIS_REPLY_ARRAY) {
		json_t *o = ctl_review_entry_json(r->element[2], r->element[1]->str);
		json_dumpf(o, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(o);
	} else {
		ctl_review_fail(s, "the claim script", r);
		rc = 1;
	}
	freeReplyObject(r);
	return rc;
}

/* ---- decide ---- */

/* The entry a decision is about: its location and fields. */
struct ctl_review_entry {
	char queue[QUEUES_KEY_MAX], band[16], stream_id[64];
	char stream[QUEUES_KEY_MAX];
	redisReply *range;        /* owned: the XRANGE reply */
	const redisReply *fields; /* in range */
};

/* The value of field NAME of entry E, or NULL. */
static const redisReply *ctl_review_value(const struct ctl_review_entry *e, const char *name)
{
	for (size_t i = 0; i + 1 < e->fields->elements; i += 2)
		if (!strcmp(e->fields->element[i]->str, name))
			return e->fields->element[i + 1];
	return NULL;
}

static const char *ctl_review_field(const struct ctl_review_entry *e, const char *name)
{
	const redisReply *v = ctl_review_value(e, name);
	return v ? v->str : "";
}

/* The Escalation protobuf of entry E, or NULL (none, or undecodable). */
static Arbiter__V1__Escalation *ctl_review_escalation(const struct ctl_review_entry *e)
{
	const redisReply *v = ctl_review_value(e, "escalation");
	return v ? arbiter__v1__escalation__unpack(NULL, v->len, (const uint8_t *)v->str) : NULL;
}

/* Finds escalation ID through its dedupe key and checks that REVIEWER holds
 * it. Returns 0 or an exit status (said). */
static int ctl_review_locate(const struct ctl_review_redis *s, const char *id, const char *reviewer,
			     struct ctl_review_entry *e)
{
	char key[QUEUES_KEY_MAX];
	queues_key_seen(key, s->cfg->redis.prefix, id);
	redisReply *r = ctl_review_command(s, "GET %s", key);
	if (!r)
		return 1;
	int rc = 1;
	if (r->type != REDIS_REPLY_STRING)
		fprintf(stderr, "arbiterctl review decide: no escalation %s (%s does not exist)\n",
			id, key);
	else if (!strcmp(r->str, "decided"))
		fprintf(stderr, "arbiterctl review decide: %s: already decided\n", id);
	else if (sscanf(r->str, "%191s %15s %63s", e->queue, e->band, e->stream_id) != 3 ||
		 queues_band_parse(e->band) < 0)
		fprintf(stderr, "arbiterctl review decide: %s: unexpected location \"%s\"\n", key,
			r->str);
	else
		rc = 0;
	freeReplyObject(r);
	if (rc)
		return rc;
	queues_key_stream(e->stream, s->cfg->redis.prefix, e->queue,
			  (enum config_band)queues_band_parse(e->band));
	r = ctl_review_command(s, "XPENDING %s %s %s %s 1", e->stream, QUEUES_GROUP, e->stream_id,
			       e->stream_id);
	if (!r)
		return 1;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 1 ||
	    r->element[0]->type != REDIS_REPLY_ARRAY || r->element[0]->elements < 2) {
		fprintf(stderr, "arbiterctl review decide: %s is not in %s any more\n", id,
			e->stream);
		freeReplyObject(r);
		return 1;
	}
	const char *holder = r->element[0]->element[1]->str;
	if (!strcmp(holder, QUEUES_POOL)) {
		fprintf(stderr,
			"arbiterctl review decide: %s is not claimed by %s: your lease expired "
			"and it went back to the queue (or you never claimed it)\n",
			id, reviewer);
		rc = 1;
	} else if (strcmp(holder, reviewer)) {
		/* Claims only come from the pool: if REVIEWER had it, the lease
		 * ran out before HOLDER took it. */
		fprintf(stderr,
			"arbiterctl review decide: %s is held by %s, not %s: your lease expired "
			"and it was given to another reviewer (or you never claimed it)\n",
			id, holder, reviewer);
		rc = 1;
	}
	freeReplyObject(r);
	if (rc)
		return rc;
	e->range = ctl_review_command(s, "XRANGE %s %s %s", e->stream, e->stream_id, e->stream_id);
	if (!e->range)
		return 1;
	if (e->range->type != REDIS_REPLY_ARRAY || e->range->elements != 1 ||
	    e->range->element[0]->elements != 2) {
		fprintf(stderr, "arbiterctl review decide: %s: entry %s is gone\n", e->stream,
			e->stream_id);
		return 1;
	}
	e->fields = e->range->element[0]->element[1];
	return 0;
}

/* Accepts an enum value's name in any case ("remove", "REMOVE"); not its
 * UNSPECIFIED zero. */
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

/* The delivery report lands in the message's opaque: the one message this
 * command sends. */
static void ctl_review_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	(void)rk;
	(void)opaque;
	*(int *)m->_private = m->err;
}

/* Produces D to the decisions topic and waits for the acknowledgement.
 * Returns 0 or 1 (said). */
static int ctl_review_produce(const struct config *cfg, const char *brokers,
			      const Arbiter__V1__ModerationDecision *d)
{
	char err[256];
	rd_kafka_conf_t *conf = ctl_kafka_conf(brokers);
	if (!conf)
		return 1;
	if (rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof(err)) ||
	    rd_kafka_conf_set(conf, "message.timeout.ms", "30000", err, sizeof(err))) {
		fprintf(stderr, "arbiterctl review decide: %s\n", err);
		rd_kafka_conf_destroy(conf);
		return 1;
	}
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
	int dr = -1; /* no report yet */
	rd_kafka_resp_err_t e =
		payload ? rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(cfg->kafka.topics.decisions.name),
					    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE),
					    RD_KAFKA_V_VALUE(payload, len),
					    RD_KAFKA_V_KEY(d->content_id, strlen(d->content_id)),
					    RD_KAFKA_V_OPAQUE(&dr), RD_KAFKA_V_END) :
			  RD_KAFKA_RESP_ERR__FAIL;
	if (e) {
		free(payload);
		dr = e;
	}
	rd_kafka_flush(rk, 35000);
	rd_kafka_destroy(rk);
	if (dr) {
		fprintf(stderr,
			"arbiterctl review decide: the decision was not delivered to %s at %s (%s); "
			"the entry stays claimed\n",
			cfg->kafka.topics.decisions.name, brokers,
			dr < 0 ? "timed out" : rd_kafka_err2str((rd_kafka_resp_err_t)dr));
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

/* Checks the verdict's names before anything touches Redis or Kafka.
 * Returns 0 or 2 (said). */
static int ctl_review_verdict_parse(const struct ctl_review_verdict *vd, int *action, int *ground,
				    int *outcome)
{
	*ground = *outcome = 0;
	if (ctl_review_enum(&arbiter__v1__action__descriptor, vd->action, action) < 0) {
		fprintf(stderr,
			"arbiterctl review decide: --action: unknown action \"%s\" "
			"(remove, demote, label, age_restrict, ..., none)\n",
			vd->action);
		return 2;
	}
	if (vd->ground && ctl_review_enum(&arbiter__v1__ground__descriptor, vd->ground, ground)) {
		fprintf(stderr, "arbiterctl review decide: --ground: expected illegal_content or "
				"incompatible_content\n");
		return 2;
	}
	if (vd->category && strncmp(vd->category, "STATEMENT_CATEGORY_", 19)) {
		fprintf(stderr, "arbiterctl review decide: --category: expected a "
				"STATEMENT_CATEGORY_* value of the DSA database\n");
		return 2;
	}
	/* A restriction's statement of reasons names its category, the law or
	 * terms clause relied on and why; leaving content up (none) or putting
	 * it back (restore) restricts nothing. */
	if (!vd->ground)
		*ground = ARBITER__V1__GROUND__INCOMPATIBLE_CONTENT;
	bool restricts =
		*action != ARBITER__V1__ACTION__NONE && *action != ARBITER__V1__ACTION__RESTORE;
	const char *missing = !restricts                              ? NULL :
			      !vd->category                           ? "--category" :
			      !vd->legal_ground || !*vd->legal_ground ? "--legal-ground" :
			      !vd->reason || !*vd->reason             ? "--reason" :
									NULL;
	if (missing) {
		fprintf(stderr,
			"arbiterctl review decide: %s is required for --action %s: the DSA "
			"statement of reasons of a restriction needs it\n",
			missing, vd->action);
		return 2;
	}
	if (vd->outcome &&
	    ctl_review_enum(&arbiter__v1__appeal_outcome__descriptor, vd->outcome, outcome)) {
		fprintf(stderr, "arbiterctl review decide: --outcome: expected upheld, reversed or "
				"modified\n");
		return 2;
	}
	return 0;
}

static int ctl_review_decide(const struct ctl_review_redis *s, const char *queue, const char *id,
			     const char *reviewer, const struct ctl_review_verdict *vd)
{
	int action, ground, outcome;
	int rc = ctl_review_verdict_parse(vd, &action, &ground, &outcome);
	if (rc)
		return rc;
	struct ctl_review_entry e = {0};
	rc = ctl_review_locate(s, id, reviewer, &e);
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
	} else if (rc == 0 && strcmp(e.queue, queue)) {
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
	d.decided_at_ms = log_now_ms();
	d.lang = (char *)ctl_review_field(&e, "lang");
	d.country = (char *)ctl_review_field(&e, "country");
	/* What the statement of reasons needs about the content, from the
	 * escalation the entry carries. */
	Arbiter__V1__Escalation *es = ctl_review_escalation(&e);
	if (es) {
		d.content_type = es->content_type;
		d.content_created_at_ms = es->content_created_at_ms;
		d.automated_detection = es->automated_detection;
		d.n_modes = es->n_modes;
		d.modes = es->modes;
		d.review_deadline_ms = es->deadline_ms;
		d.author_pseudonym = es->author_pseudonym;
	}

	/* Delivered first, acknowledged second: a decision that does not reach
	 * Kafka leaves the entry claimed, to be decided again. */
	rc = ctl_review_produce(s->cfg, vd->brokers, &d);
	if (rc == 0) {
		char sla[QUEUES_KEY_MAX], todo[QUEUES_KEY_MAX], seen[QUEUES_KEY_MAX], ttl[24];
		queues_key_sla(sla, s->cfg->redis.prefix, e.queue);
		queues_key_todo(todo, s->cfg->redis.prefix, e.queue);
		queues_key_seen(seen, s->cfg->redis.prefix, id);
		snprintf(ttl, sizeof(ttl), "%" PRIu64, (uint64_t)s->cfg->review.dedupe_ttl_ms);
		const char *argv[] = {"4",         e.stream, sla, todo, seen,
				      e.stream_id, reviewer, id,  ttl};
		redisReply *r = ctl_review_script(s, QUEUES_ACK, 9, argv);
		if (r && r->type == REDIS_REPLY_ERROR)
			/* Sent; deciding again repeats the same decision id. */
			fprintf(stderr,
				"arbiterctl review decide: decision %s was sent, but the entry was "
				"not acknowledged: %s\n",
				decision_id, r->str);
		rc = r && r->type != REDIS_REPLY_ERROR ? 0 : 1;
		freeReplyObject(r);
	}
	arbiter__v1__escalation__free_unpacked(es, NULL);
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

static int ctl_review_reclaim(const struct ctl_review_redis *s, const char *only)
{
	int rc = 0;
	char lease[24], now[24], seen[QUEUES_KEY_MAX];
	snprintf(lease, sizeof(lease), "%" PRIu32, s->cfg->review.lease_ms);
	snprintf(now, sizeof(now), "%" PRId64, log_now_ms());
	queues_key_seen(seen, s->cfg->redis.prefix, "");
	for (size_t i = 0; i < s->cfg->review.n_queues; i++) {
		const char *name = s->cfg->review.queues[i].name;
		if (only && strcmp(only, name))
			continue;
		char keys[CONFIG_BANDS][QUEUES_KEY_MAX];
		ctl_review_band_keys(s->cfg, name, keys);
		const char *argv[] = {"4", keys[0], keys[1], keys[2], keys[3], lease, now, seen};
		redisReply *r = ctl_review_script(s, QUEUES_RECLAIM, 8, argv);
		if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
		    r->element[0]->type == REDIS_REPLY_INTEGER &&
		    r->element[1]->type == REDIS_REPLY_INTEGER) {
			printf("%s: %lld returned, %lld of them past the deadline and raised to "
			       "urgent\n",
			       name, r->element[0]->integer, r->element[1]->integer);
		} else {
			if (r)
				ctl_review_fail(s, name, r);
			rc = 1;
		}
		freeReplyObject(r);
	}
	return rc;
}

/* ---- the commands ---- */

static const struct {
	const char *name, *synopsis, *text;
} ctl_review_help[] = {
	{"claim", "claim   --config CONFIG --queue Q --reviewer R [--lang L,...]",
	 "claim    takes the waiting entry of queue Q that R may review, most urgent band\n"
	 "         first and oldest first within a band, whatever waits before it. With\n"
	 "         --lang, only entries whose language one of L covers (BCP 47 tags\n"
	 "         language[-script][-region], any case: sw takes sw and sw-KE, sr-Latn\n"
	 "         takes sr-Latn-RS but not sr-Cyrl or sr); never appeals of R's own\n"
	 "         decisions, which stay for other reviewers. Prints it as one JSON\n"
	 "         object (the queue fields, stream_id and the escalation) and holds it\n"
	 "         for R for review.lease. Exit 3 when there is none.\n"},
	{"decide",
	 "decide  --config CONFIG --queue Q --id ID --reviewer R --action A\n"
	 "                                 [--category C] [--ground G] [--legal-ground TEXT]\n"
	 "                                 [--reason TEXT] [--brokers B]\n"
	 "                                 [--outcome upheld|reversed|modified]",
	 "decide   checks that R holds entry ID (the escalation id), sends R's decision\n"
	 "         (a ModerationDecision, actor HUMAN, keyed by content id) to\n"
	 "         kafka.topics.decisions, waits for Kafka to acknowledge it, then removes\n"
	 "         the entry from the queue and prints the decision as JSON. If it cannot\n"
	 "         be delivered the entry stays claimed; if R's lease expired nothing is\n"
	 "         sent. A is an action: none, label, demote, age_restrict, demonetize,\n"
	 "         geo_block, remove, suspend_account, terminate_account, restore (any\n"
	 "         case). C is a STATEMENT_CATEGORY_* value of the DSA database; G is\n"
	 "         illegal_content or incompatible_content (the default); --legal-ground\n"
	 "         the law or terms-of-service clause relied on; --reason the explanation.\n"
	 "         C, --legal-ground and --reason are required unless A is none or\n"
	 "         restore: the statement of reasons of a restriction needs them.\n"
	 "         --brokers overrides kafka.brokers (needed when it\n"
	 "         is \"mock\"). An appeal (an entry with an appeal_id) is resolved\n"
	 "         instead: give --outcome, and as A the action that stands after it\n"
	 "         (restore for a reversal).\n"},
	{"reclaim", "reclaim --config CONFIG [--queue Q]",
	 "reclaim  returns entries held longer than review.lease to their queue, in Q or\n"
	 "         in every declared queue, raising to urgent those past their deadline;\n"
	 "         prints \"QUEUE: N returned, M of them ... raised to urgent\" per queue.\n"},
};

/* The usage of subcommand SUB, or of all of them when SUB is not one. */
static void ctl_review_usage(FILE *out, const char *sub)
{
	size_t n = sizeof(ctl_review_help) / sizeof(ctl_review_help[0]), one = n;
	for (size_t i = 0; sub && i < n; i++)
		if (!strcmp(sub, ctl_review_help[i].name))
			one = i;
	for (size_t i = 0; i < n; i++)
		if (one == n || one == i)
			fprintf(out, "%s arbiterctl review %s\n",
				i == 0 || one == i ? "Usage:" : "      ",
				ctl_review_help[i].synopsis);
	putc('\n', out);
	for (size_t i = 0; i < n; i++)
		if (one == n || one == i)
			fputs(ctl_review_help[i].text, out);
	fprintf(out,
		"\nRedis settings (address, credentials, db, timeouts, prefix) and the queues\n"
		"come from CONFIG.\n"
		"Exit status: 0 done, 1 failed, 2 usage error, 3 nothing to claim.\n");
}

/* What the command line asks for. */
struct ctl_review_opts {
	const char *sub; /* claim, decide or reclaim */
	const char *config, *queue, *reviewer, *langs, *id;
	struct ctl_review_verdict vd;
};

/* Reads and checks the command line into O. Returns CTL_RUN or an exit
 * status. */
static int ctl_review_parse(int argc, char **argv, struct ctl_review_opts *o)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		ctl_review_usage(argc < 2 ? stderr : stdout, NULL);
		return argc < 2 ? 2 : 0;
	}
	o->sub = argv[1];
	struct ctl_review_verdict *vd = &o->vd;
	const struct ctl_opt opts[] = {
		CTL_CONFIG(&o->config, CTL_OPTIONAL),
		CTL_VALUE("queue", 0, &o->queue, CTL_OPTIONAL),
		CTL_VALUE("reviewer", 0, &o->reviewer, CTL_OPTIONAL),
		CTL_VALUE("lang", 0, &o->langs, CTL_OPTIONAL),
		CTL_VALUE("id", 0, &o->id, CTL_OPTIONAL),
		CTL_VALUE("action", 0, &vd->action, CTL_OPTIONAL),
		CTL_VALUE("category", 0, &vd->category, CTL_OPTIONAL),
		CTL_VALUE("ground", 0, &vd->ground, CTL_OPTIONAL),
		CTL_VALUE("legal-ground", 0, &vd->legal_ground, CTL_OPTIONAL),
		CTL_VALUE("reason", 0, &vd->reason, CTL_OPTIONAL),
		CTL_BROKERS(&vd->brokers, CTL_OPTIONAL),
		CTL_VALUE("outcome", 0, &vd->outcome, CTL_OPTIONAL),
		{0},
	};
	int first;
	int rc = ctl_options(argc - 1, argv + 1, opts, ctl_review_usage, &first);
	if (rc != CTL_RUN)
		return rc;
	bool claim = !strcmp(o->sub, "claim"), decide = !strcmp(o->sub, "decide"),
	     reclaim = !strcmp(o->sub, "reclaim");
	if (!claim && !decide && !reclaim)
		fprintf(stderr, "arbiterctl review: unknown subcommand \"%s\"\n\n", o->sub);
	if ((!claim && !decide && !reclaim) || first + 1 != argc || !o->config ||
	    ((claim || decide) && (!o->queue || !o->reviewer)) ||
	    (decide && (!o->id || !vd->action))) {
		ctl_review_usage(stderr, o->sub);
		return 2;
	}
	const char *r = o->reviewer;
	if (r && (!*r || !strcmp(r, QUEUES_POOL) || strchr(r, ' '))) {
		fprintf(stderr,
			"arbiterctl review: --reviewer: \"%s\" is not a reviewer name (empty, "
			"\"" QUEUES_POOL "\" and names with spaces are not)\n",
			r);
		return 2;
	}
	char lang_buf[512], *lang_ranges[32];
	if (claim && ctl_review_ranges(o->langs, lang_buf, sizeof(lang_buf), lang_ranges, 32) < 0)
		return 2; /* before anything is connected */
	return CTL_RUN;
}

/* Checks O against CFG, the config it names: the queue is declared, and a
 * decision knows where Kafka is. Returns CTL_RUN or an exit status (said). */
static int ctl_review_check_config(const char *cmd, struct ctl_review_opts *o,
				   const struct config *cfg)
{
	if (o->queue && !config_queue_find(cfg, o->queue)) {
		fprintf(stderr, "arbiterctl %s: no queue \"%s\" in %s\n", cmd, o->queue, o->config);
		return 2;
	}
	if (!strcmp(o->sub, "decide") && !o->vd.brokers) {
		if (cfg->kafka.mock_brokers) {
			fprintf(stderr,
				"arbiterctl review decide: kafka.brokers is \"%s\": give --brokers "
				"with the cluster's bootstrap address\n",
				cfg->kafka.brokers);
			return 2;
		}
		o->vd.brokers = cfg->kafka.brokers;
	}
	return CTL_RUN;
}

/* Runs subcommand O->sub against the Redis of O's config. Returns the exit
 * status. */
static int ctl_review_run(struct ctl_review_opts *o)
{
	char cmd[32];
	snprintf(cmd, sizeof(cmd), "review %s", o->sub);
	struct config *cfg = ctl_review_config(cmd, o->config);
	if (!cfg)
		return 1;
	int rc = ctl_review_check_config(cmd, o, cfg);
	struct ctl_review_redis s = {.cmd = cmd, .cfg = cfg};
	if (rc == CTL_RUN && ctl_review_connect(&s) < 0)
		rc = 1;
	if (rc == CTL_RUN) {
		if (!strcmp(o->sub, "claim"))
			rc = ctl_review_claim(&s, o->queue, o->reviewer, o->langs);
		else if (!strcmp(o->sub, "decide"))
			rc = ctl_review_decide(&s, o->queue, o->id, o->reviewer, &o->vd);
		else
			rc = ctl_review_reclaim(&s, o->queue);
		redisFree(s.c);
	}
	config_free(cfg);
	return rc;
}

int ctl_review(int argc, char **argv)
{
	struct ctl_review_opts o = {0};
	int rc = ctl_review_parse(argc, argv, &o);
	return rc == CTL_RUN ? ctl_review_run(&o) : rc;
}

/* ---- queues ---- */

struct ctl_queues_band {
	long long depth, waiting, claimed, oldest_age_ms; /* age -1: empty */
};

/* The counts of band stream KEY; a stream or group not created yet counts
 * as empty. Returns 0 or -EIO (said). */
static int ctl_queues_band(const struct ctl_review_redis *s, const char *key, int64_t now,
			   struct ctl_queues_band *b)
{
	memset(b, 0, sizeof(*b));
	b->oldest_age_ms = -1;
	redisReply *r = ctl_review_command(s, "XLEN %s", key);
	if (!r)
		return -EIO;
	b->depth = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
	freeReplyObject(r);
	if (!b->depth)
		return 0;
	/* Every entry is pending: the pool's are waiting, the others' claimed. */
	r = ctl_review_command(s, "XINFO CONSUMERS %s %s", key, QUEUES_GROUP);
	if (!r)
		return -EIO;
	for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
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
	/* A stream id starts with its entry's time in ms. */
	r = ctl_review_command(s, "XRANGE %s - + COUNT 1", key);
	if (!r)
		return -EIO;
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 1)
		b->oldest_age_ms = now - strtoll(r->element[0]->element[0]->str, NULL, 10);
	freeReplyObject(r);
	return 0;
}

/* An age as a person reads it: 45s, 12m, 5h, 3d. */
static void ctl_queues_age(char *out, size_t len, long long ms)
{
	long long sec = ms / 1000;
	if (sec < 120)
		snprintf(out, len, "%llds", sec);
	else if (sec < 120 * 60)
		snprintf(out, len, "%lldm", sec / 60);
	else if (sec < 48 * 3600)
		snprintf(out, len, "%lldh", sec / 3600);
	else
		snprintf(out, len, "%lldd", sec / 86400);
}

static void ctl_queues_usage(FILE *out, const char *name)
{
	fprintf(out,
		"Usage: arbiterctl queues --config CONFIG [--json]\n\n"
		"Per review queue declared in CONFIG and per band (urgent, high, normal, low):\n"
		"entries (waiting + claimed), waiting (not claimed), claimed, and the age of\n"
		"the oldest entry; per queue, entries past their deadline (overdue). The table\n"
		"shows the bands that hold entries; --json prints one object:\n"
		"  {QUEUE: {\"bands\": {BAND: {\"entries\", \"waiting\", \"claimed\",\n"
		"          \"oldest_age_ms\" (null when empty)}}, \"overdue\": N}}\n"
		"Exit status: 0 done, 1 failed, 2 usage error.\n");
}

int ctl_queues(int argc, char **argv)
{
	const char *config = NULL;
	bool as_json = false;
	const struct ctl_opt opts[] = {
		CTL_CONFIG(&config, CTL_REQUIRED),
		CTL_FLAG("json", 'j', &as_json),
		{0},
	};
	int first;
	int rc = ctl_options(argc, argv, opts, ctl_queues_usage, &first);
	if (rc != CTL_RUN)
		return rc;
	if (first != argc) {
		ctl_queues_usage(stderr, argv[0]);
		return 2;
	}
	struct config *cfg = ctl_review_config("queues", config);
	if (!cfg)
		return 1;
	struct ctl_review_redis s = {.cmd = "queues", .cfg = cfg};
	if (ctl_review_connect(&s) < 0) {
		config_free(cfg);
		return 1;
	}
	int64_t now = log_now_ms();
	rc = 0;
	json_t *all = json_object();
	if (!as_json)
		printf("%-24s %-7s %8s %8s %8s %8s\n", "queue", "band", "entries", "waiting",
		       "claimed", "oldest");
	for (size_t i = 0; i < cfg->review.n_queues && !rc; i++) {
		const char *name = cfg->review.queues[i].name;
		char keys[CONFIG_BANDS][QUEUES_KEY_MAX], sla[QUEUES_KEY_MAX];
		ctl_review_band_keys(cfg, name, keys);
		queues_key_sla(sla, cfg->redis.prefix, name);
		redisReply *r = ctl_review_command(&s, "ZCOUNT %s -inf %lld", sla, (long long)now);
		if (!r) {
			rc = 1;
			break;
		}
		long long overdue = r->integer, total = 0;
		freeReplyObject(r);
		json_t *q = json_object(), *bands = json_object();
		json_object_set_new(all, name, q);
		json_object_set_new(q, "bands", bands);
		json_object_set_new(q, "overdue", json_integer(overdue));
		for (int b = 0; b < CONFIG_BANDS && !rc; b++) {
			struct ctl_queues_band st;
			const char *band = config_band_name((enum config_band)b);
			if (ctl_queues_band(&s, keys[b], now, &st) < 0) {
				rc = 1;
				break;
			}
			total += st.depth;
			json_object_set_new(
				bands, band,
				json_pack("{sI sI sI so}", "entries", st.depth, "waiting",
					  st.waiting, "claimed", st.claimed, "oldest_age_ms",
					  st.oldest_age_ms < 0 ? json_null() :
								 json_integer(st.oldest_age_ms)));
			if (as_json || !st.depth)
				continue;
			char age[32];
			ctl_queues_age(age, sizeof(age), st.oldest_age_ms);
			printf("%-24s %-7s %8lld %8lld %8lld %8s\n", name, band, st.depth,
			       st.waiting, st.claimed, age);
		}
		if (as_json || rc)
			continue;
		if (!total)
			printf("%-24s %-7s %8d %8d %8d %8s\n", name, "-", 0, 0, 0, "-");
		if (overdue)
			printf("%-24s %-7s %8lld overdue\n", name, "", overdue);
	}
	if (as_json && !rc) {
		json_dumpf(all, stdout, JSON_COMPACT);
		putchar('\n');
	}
	json_decref(all);
	redisFree(s.c);
	config_free(cfg);
	return rc;
}
