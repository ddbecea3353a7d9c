/* Review queues in Redis, the pure part: routing, key layout, entry encoding and the Lua scripts.
 */
#pragma once

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

#include "arbiter/v1/escalation.pb-c.h"
#include "arbiter/v1/moderation_decision.pb-c.h"
#include "config.h"

/* Layout (PREFIX is redis.prefix, "arbiter:" by default):
 *   PREFIX q:QUEUE:BAND      stream of entries; consumer group "reviewers"
 *   PREFIX q:QUEUE:BAND:ix*  the claim index of its waiting entries, by
 *                            language and by the reviewer an entry excludes
 *                            (queues.c, QUEUES_LUA_INDEX, says which keys)
 *   PREFIX sla:QUEUE         sorted set: escalation id by deadline (ms), of
 *                            every entry not yet decided
 *   PREFIX sla:QUEUE:todo    the same, less the entries the SLA sweeper has
 *                            already counted as overdue
 *   PREFIX seen:ID           dedupe key of escalation ID; while the entry is
 *                            queued its value locates it, "QUEUE BAND
 *                            STREAM-ID", with no expiry; once a reviewer
 *                            decided it, "decided" for review.dedupe_ttl
 *
 * The sweeper reads seen keys, and every script the index keys, that it
 * cannot declare in advance: the scripts run on one Redis (or a primary with
 * replicas), not on Redis Cluster.
 *   PREFIX decision:CONTENT  hash: every decision on the content by id,
 *                            "d:ID" = "DECIDED_MS ACTOR ACTION REVIEWER",
 *                            and "current" = the id of the one an appeal
 *                            naming none is against; with a TTL
 *   PREFIX appeal:APPEAL     hash: an appeal (content_id, filed_ms, the
 *                            decision it is against: decision_id,
 *                            original_action, original_reviewer,
 *                            original_actor, original_decided_ms, named;
 *                            once resolved: resolved_by, outcome,
 *                            resolved_ms)
 *
 * The appeal scripts answer a refusal as an error starting "ARBITER ": the
 * appeal is wrong, not Redis; it goes to the dead-letter topic with the rest
 * of the message as the reason (queues_appeal_reply tells them apart).
 *
 * Every entry is pending in the group from the moment it is added: unclaimed
 * entries belong to the consumer "pool", a claim moves one to the reviewer
 * (XCLAIM) and its idle time is the lease, reclaim moves expired leases back
 * to the pool. Claims can then skip entries a reviewer must not or cannot
 * take (another language, an appeal of their own decision), which reading
 * with ">" could not; the claim index finds the one they may take without
 * looking at the others. */

#define QUEUES_GROUP "reviewers"
#define QUEUES_POOL "pool" /* not a reviewer name: the CLI refuses it */
#define QUEUES_KEY_MAX 192
/* Decisions remembered per content: a producer that sends many cannot grow
 * a hash without bound; the oldest but the current one goes first. */
#define QUEUES_DECISIONS_MAX 100
#define QUEUES_STR_(x) #x
#define QUEUES_STR(x) QUEUES_STR_(x)

/* The appeal scripts' refusals (error replies; the text after "ARBITER " is
 * the dead letter's reason). UNKNOWN_DECISION is followed by the decision id
 * and content id the appeal named. */
#define QUEUES_REFUSAL_NO_DECISION "ARBITER appeal for content with no known decision"
#define QUEUES_REFUSAL_UNKNOWN_DECISION "ARBITER appeal against unknown decision"
#define QUEUES_REFUSAL_NO_APPEAL "ARBITER no such appeal was filed"
#define QUEUES_REFUSAL_SAME_REVIEWER                                                               \
	"ARBITER appeal resolved by the reviewer whose decision is under appeal"

enum queues_script {
	QUEUES_ENQUEUE, /* KEYS seen stream sla todo u h n l; ARGV deadline max id location f v...
			 * -> 1 added, 0 known (dedupe key), -1 full */
	QUEUES_CLAIM,   /* KEYS u h n l; ARGV reviewer ranges -> {band, stream-id, fields} or nil */
	QUEUES_ACK, /* KEYS stream sla todo seen; ARGV stream-id reviewer escalation-id ttl-ms -> 1
		     */
	QUEUES_RECLAIM,     /* KEYS u h n l; ARGV lease-ms now seen-prefix -> {returned, raised} */
	QUEUES_SWEEP,       /* KEYS u h n l todo; ARGV now seen-prefix max -> {overdue, raised} */
	QUEUES_DECISION,    /* KEYS decision; ARGV ttl-s decided action actor reviewer id -> 1 when
			     * it is now the current decision, else 0 */
	QUEUES_APPEAL_FILE, /* KEYS decision appeal; ARGV ttl-s content filed [decision-id]
			     * -> {action, reviewer, decision-id, filed} of the decision under
			     * appeal, or a refusal */
	QUEUES_APPEAL_RESOLVE, /* KEYS appeal decision; ARGV ttl-s reviewer outcome action at id
				* -> the same, or a refusal */
	QUEUES_STATS, /* KEYS u h n l sla; ARGV now -> {overdue, then per band: entries waiting
		       * claimed oldest-ms} (reads only) */
	QUEUES__SCRIPTS
};

/* The Lua source of script S, and its hex SHA-1 for EVALSHA. */
const char *queues_script_body(enum queues_script s);
const char *queues_script_sha(enum queues_script s);
const char *queues_script_name(enum queues_script s);

/* The queue an escalation that rules send to QUEUE goes to, for an event in
 * LANG from COUNTRY: the declared queue serving QUEUE whose languages and
 * countries both match, else QUEUE itself. A queue's language covers LANG by
 * BCP 47 basic filtering (langtag_match: "sw" serves "sw-KE"). When several
 * match, the one whose covering language has more subtags wins ("sr-Latn"
 * over "sr"), then one that also names countries; declaration order breaks
 * ties. NULL when QUEUE is not declared (queues_check prevents that). */
const struct config_queue *queues_route(const struct config *cfg, const char *queue,
					const char *lang, const char *country);

/* The deadline of an escalation in band B of Q created at BASE_MS: the
 * shorter of the rule's SLA and the queue's SLA for the band. */
int64_t queues_deadline(const struct config_queue *q, enum config_band b, int64_t base_ms,
			uint32_t rule_sla_s);

/* The config band of a protobuf band (UNSPECIFIED counts as normal). */
enum config_band queues_band(Arbiter__V1__Band b);
Arbiter__V1__Band queues_band_pb(enum config_band b);
/* Parses "urgent", "high", "normal" or "low"; returns -1 for anything else. */
int queues_band_parse(const char *s);

/* The band of an appeal's review entry, urgent enough for ORIGINAL, the
 * action under appeal: high when it is at least as severe as a removal,
 * normal otherwise. */
enum config_band queues_appeal_band(Arbiter__V1__Action original);

/* Key names; each writes a NUL-terminated key into OUT. */
void queues_key_stream(char out[QUEUES_KEY_MAX], const char *prefix, const char *queue,
		       enum config_band b);
void queues_key_sla(char out[QUEUES_KEY_MAX], const char *prefix, const char *queue);
void queues_key_todo(char out[QUEUES_KEY_MAX], const char *prefix, const char *queue);
void queues_key_seen(char out[QUEUES_KEY_MAX], const char *prefix, const char *escalation_id);
void queues_key_decision(char out[QUEUES_KEY_MAX], const char *prefix, const char *content_id);
void queues_key_appeal(char out[QUEUES_KEY_MAX], const char *prefix, const char *appeal_id);

/* A Redis command as argument vectors, owning its memory. */
struct queues_cmd {
	enum queues_script script;
	int argc;
	const char **argv;
	size_t *lens;
	char *heap; /* keys and numbers the vectors point into */
	/* A script of another module (counters.h): its source and name, static; NULL for
	 * SCRIPT's own. */
	const char *body, *name;
};

/* Builds the EVALSHA of QUEUES_ENQUEUE for escalation ES (already routed:
 * es->queue names Q) whose packed form is PACKED. The entry's fields are
 * id, content_id, event_id, queue, band, deadline_ms, created_ms, lang,
 * country, rules, ruleset, modes, evidence, action, exclude (a reviewer who
 * must not claim it; may be NULL) and escalation (the protobuf). Lists are
 * comma-separated. Returns 0 or -ENOMEM. */
int queues_enqueue_cmd(const struct config *cfg, const struct config_queue *q,
		       const Arbiter__V1__Escalation *es, const uint8_t *packed, size_t packed_len,
		       const char *exclude, struct queues_cmd *out);
/* The same for an appeal: the entry also carries appeal_id, which makes
 * `arbiterctl review decide` resolve the appeal. */
int queues_enqueue_appeal_cmd(const struct config *cfg, const struct config_queue *q,
			      const Arbiter__V1__Escalation *es, const uint8_t *packed,
			      size_t packed_len, const char *exclude, const char *appeal_id,
			      struct queues_cmd *out);
/* Builds the EVALSHA of QUEUES_SWEEP for queue Q at NOW_MS. Returns 0 or -ENOMEM. */
int queues_sweep_cmd(const struct config *cfg, const struct config_queue *q, int64_t now_ms,
		     struct queues_cmd *out);
/* What a review queue holds now, per band (urgent first): entries (waiting +
 * claimed), waiting (not claimed), claimed, and the age of the oldest entry
 * (-1 when the band is empty); and the entries past their deadline. */
struct queues_band_stats {
	int64_t entries, waiting, claimed, oldest_age_ms;
};
struct queues_stats {
	int64_t overdue;
	struct queues_band_stats bands[CONFIG_BANDS];
};
/* Builds the EVALSHA of QUEUES_STATS for queue QUEUE at NOW_MS: one atomic
 * read of its four streams and its SLA index, for `arbiterctl queues` and the
 * daemon's queue gauges alike. Returns 0 or -ENOMEM. */
int queues_stats_cmd(const struct config *cfg, const char *queue, int64_t now_ms,
		     struct queues_cmd *out);
/* Reads R, the reply of QUEUES_STATS sent at NOW_MS, into OUT. Returns 0 or
 * -EPROTO (not that script's answer). */
int queues_stats_reply(const redisReply *r, int64_t now_ms, struct queues_stats *out);
/* Builds the EVALSHA of a decision script: QUEUES_DECISION with ARGS
 * (decided_ms action actor reviewer decision_id) for content CONTENT,
 * QUEUES_APPEAL_FILE with (content_id filed_ms [decision_id]) for appeal
 * APPEAL of CONTENT, QUEUES_APPEAL_RESOLVE with (reviewer outcome new_action
 * resolved_ms decision_id). The typed builders below are the same with
 * checked arguments. Returns 0 or -ENOMEM. */
int queues_decision_cmd(const struct config *cfg, enum queues_script s, const char *content,
			const char *appeal, const char *const *args, size_t n_args,
			struct queues_cmd *out);

/* Builds the EVALSHA of QUEUES_CLAIM for REVIEWER in queue QUEUE: the
 * waiting entry of the most urgent band, oldest first, that REVIEWER may
 * take. An entry is theirs to take when it does not exclude them and, given
 * RANGES (N_RANGES language ranges language[-script][-region], any case), one
 * covers its language (langtag_match: "sw" takes "sw-KE", "sr-Latn" takes
 * "sr-Latn-RS" but not "sr-Cyrl"); with none, any entry, with or without a
 * language. Returns 0, -EINVAL (a range langtag_check_range refuses) or
 * -ENOMEM. */
int queues_claim_cmd(const struct config *cfg, const char *queue, const char *reviewer,
		     char *const *ranges, size_t n_ranges, struct queues_cmd *out);

/* Builds the EVALSHA of QUEUES_DECISION: decision DECISION_ID on CONTENT_ID,
 * ACTION by ACTOR (REVIEWER, "" when automated), taken at DECIDED_MS. Every
 * decision is kept by id; the current one (what an appeal naming none is
 * against) is the best by: human over automated (any actor but AUTOMATED is
 * human), then later DECIDED_MS, then greater id; whatever order they arrive
 * in. The reply is 1 when this one is now current, else 0. Returns 0 or
 * -ENOMEM. */
int queues_decision_state_cmd(const struct config *cfg, const char *content_id,
			      const char *decision_id, Arbiter__V1__Action action,
			      Arbiter__V1__Actor actor, const char *reviewer, int64_t decided_ms,
			      struct queues_cmd *out);

/* Builds the EVALSHA of QUEUES_APPEAL_FILE: appeal APPEAL_ID of CONTENT_ID
 * filed at FILED_MS, against decision DECISION_ID (a reviewer's decision_id,
 * or the decision_id of the audit record of a rule's action), or when it is
 * NULL or "", against the content's current decision. A redelivered appeal
 * gets what was recorded the first time. Read the reply with
 * queues_appeal_reply. Returns 0 or -ENOMEM. */
int queues_appeal_file_cmd(const struct config *cfg, const char *content_id, const char *appeal_id,
			   int64_t filed_ms, const char *decision_id, struct queues_cmd *out);

/* Builds the EVALSHA of QUEUES_APPEAL_RESOLVE: REVIEWER resolves appeal
 * APPEAL_ID of CONTENT_ID with OUTCOME at RESOLVED_MS in decision
 * DECISION_ID; unless UPHELD, NEW_ACTION becomes a human decision on the
 * content (as queues_decision_state_cmd). Read the reply with
 * queues_appeal_reply. Returns 0 or -ENOMEM. */
int queues_appeal_resolve_cmd(const struct config *cfg, const char *content_id,
			      const char *appeal_id, const char *reviewer,
			      Arbiter__V1__AppealOutcome outcome, Arbiter__V1__Action new_action,
			      int64_t resolved_ms, const char *decision_id, struct queues_cmd *out);

/* An appeal as the appeal scripts answer it. Strings point into the reply. */
struct queues_appeal {
	Arbiter__V1__Action original_action; /* of the decision under appeal */
	const char *original_reviewer;       /* "" when that decision was automated */
	const char *decision_id;             /* the decision under appeal */
	int64_t filed_ms;
	const char *reason; /* a refusal: the dead letter's reason, without "ARBITER " */
};

/* Reads R, the reply of QUEUES_APPEAL_FILE or QUEUES_APPEAL_RESOLVE, into
 * OUT. Returns 0 (the appeal and the decision it is against), -ENOENT (the
 * decision the appeal names is not known for its content), -EPERM (another
 * refusal: no decision known for the content, no such appeal, resolved by
 * the reviewer under appeal), with OUT->reason set for both, or -EPROTO (not
 * an answer of these scripts: log it; Redis errors other than "ARBITER "
 * refusals are retried by review_call and never reach here). */
int queues_appeal_reply(const redisReply *r, struct queues_appeal *out);

/* Turns an EVALSHA into the same EVAL with the script's body: the fallback
 * when Redis answers NOSCRIPT (restarted, or SCRIPT FLUSH). */
void queues_cmd_use_eval(struct queues_cmd *cmd);
/* The name of CMD's script, for messages. */
const char *queues_cmd_name(const struct queues_cmd *cmd);
void queues_cmd_free(struct queues_cmd *cmd);
