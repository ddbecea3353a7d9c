/* Review queues in Redis, the pure part: routing, key layout, entry encoding and the Lua scripts.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "arbiter/v1/escalation.pb-c.h"
#include "config.h"

/* Layout (PREFIX is redis.prefix, "arbiter:" by default):
 *   PREFIX q:QUEUE:BAND      stream of entries; consumer group "reviewers"
 *   PREFIX sla:QUEUE         sorted set: escalation id by deadline (ms), of
 *                            every entry not yet decided
 *   PREFIX sla:QUEUE:todo    the same, less the entries the SLA sweeper has
 *                            already counted as overdue
 *   PREFIX seen:ID           dedupe key of escalation ID; while the entry is
 *                            queued its value locates it, "QUEUE BAND
 *                            STREAM-ID", with no expiry; once a reviewer
 *                            decided it, "decided" for review.dedupe_ttl
 *
 * The sweeper reads seen keys it cannot declare in advance: the scripts
 * run on one Redis (or a primary with replicas), not on Redis Cluster.
 *   PREFIX decision:CONTENT  hash: the content's last decision (action, actor,
 *                            reviewer, decision_id, decided_ms), with a TTL
 *   PREFIX appeal:APPEAL     hash: an appeal (content_id, filed_ms, the original
 *                            action, reviewer and decision_id, and once
 *                            resolved: resolved_by, outcome, resolved_ms)
 *
 * The appeal scripts answer a refusal as an error starting "ARBITER ": the
 * appeal is wrong, not Redis; it goes to the dead-letter topic with the rest
 * of the message as the reason.
 *
 * Every entry is pending in the group from the moment it is added: unclaimed
 * entries belong to the consumer "pool", a claim moves one to the reviewer
 * (XCLAIM) and its idle time is the lease, reclaim moves expired leases back
 * to the pool. Claims can then skip entries a reviewer must not or cannot
 * take (another language, an appeal of their own decision), which reading
 * with ">" could not. */

#define QUEUES_GROUP "reviewers"
#define QUEUES_POOL "pool" /* not a reviewer name: the CLI refuses it */
#define QUEUES_KEY_MAX 192
/* Entries a claim looks at per band before giving up: bounds the script. */
#define QUEUES_CLAIM_SCAN 1000

enum queues_script {
	QUEUES_ENQUEUE, /* KEYS seen stream sla todo u h n l; ARGV deadline max id location f v...
			 */
	QUEUES_CLAIM,   /* KEYS u h n l; ARGV reviewer langs scan -> {band, id, fields} or nil */
	QUEUES_ACK, /* KEYS stream sla todo seen; ARGV stream-id reviewer escalation-id ttl-ms -> 1
		     */
	QUEUES_RECLAIM,     /* KEYS u h n l; ARGV lease-ms now seen-prefix -> {returned, raised} */
	QUEUES_SWEEP,       /* KEYS u h n l todo; ARGV now seen-prefix max -> {overdue, raised} */
	QUEUES_DECISION,    /* KEYS decision; ARGV ttl-s decided action actor reviewer id -> 0|1 */
	QUEUES_APPEAL_FILE, /* KEYS decision appeal; ARGV ttl-s content filed -> the original */
	QUEUES_APPEAL_RESOLVE, /* KEYS appeal decision; ARGV ttl-s reviewer outcome action at id */
	QUEUES__SCRIPTS
};

/* The Lua source of script S, and its hex SHA-1 for EVALSHA. */
const char *queues_script_body(enum queues_script s);
const char *queues_script_sha(enum queues_script s);
const char *queues_script_name(enum queues_script s);

/* The queue an escalation that rules send to QUEUE goes to, for an event in
 * LANG from COUNTRY: the declared queue serving QUEUE whose languages and
 * countries both match (languages weigh more than countries when several
 * match; declaration order breaks ties), else QUEUE itself. NULL when QUEUE
 * is not declared (queues_check prevents that). */
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
/* Builds the EVALSHA of a decision script: QUEUES_DECISION with ARGS
 * (decided_ms action actor reviewer decision_id) for content CONTENT,
 * QUEUES_APPEAL_FILE with (content_id filed_ms) for appeal APPEAL of
 * CONTENT, QUEUES_APPEAL_RESOLVE with (reviewer outcome new_action
 * resolved_ms decision_id). Returns 0 or -ENOMEM. */
int queues_decision_cmd(const struct config *cfg, enum queues_script s, const char *content,
			const char *appeal, const char *const *args, size_t n_args,
			struct queues_cmd *out);

struct redisReply;
struct records_appeal;

/* Reads R, the answer of an appeal script (QUEUES_APPEAL_FILE or
 * QUEUES_APPEAL_RESOLVE): the decision under appeal as an array of four
 * strings {original action, original reviewer, decision id, filed_ms}.
 * Returns 0 with A's original_action (NONE for a name it does not know),
 * original_reviewer, decision_id (both pointing into R) and filed_at_ms set;
 * -EPERM with *REFUSAL pointing at the reason in R when the script refused
 * the appeal (an error "ARBITER reason"); -EINVAL for any other reply. */
int queues_appeal_reply_parse(const struct redisReply *r, struct records_appeal *a,
			      const char **refusal);

/* Turns an EVALSHA into the same EVAL with the script's body: the fallback
 * when Redis answers NOSCRIPT (restarted, or SCRIPT FLUSH). */
void queues_cmd_use_eval(struct queues_cmd *cmd);
void queues_cmd_free(struct queues_cmd *cmd);
