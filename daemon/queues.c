/* Review queues in Redis, the pure part: routing, key layout, entry encoding and the Lua scripts.
 */
#include "queues.h"

#include <assert.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "records.h"

/* ---- scripts ----
 * Each runs atomically in Redis. A script stops at the first failing call
 * without undoing what it did, so every call that can fail comes before the
 * first write, or cannot fail once the group exists (hence the guarded
 * XGROUP CREATE first). */

static const char script_enqueue[] =
	"if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end\n"
	"local max = tonumber(ARGV[2])\n"
	"if max > 0 then\n"
	"  local n = 0\n"
	"  for i = 5, 8 do n = n + redis.call('XLEN', KEYS[i]) end\n"
	"  if n >= max then return -1 end\n"
	"end\n"
	"redis.pcall('XGROUP', 'CREATE', KEYS[2], '" QUEUES_GROUP "', '$', 'MKSTREAM')\n"
	"local id = redis.call('XADD', KEYS[2], '*', unpack(ARGV, 5))\n"
	"redis.call('XREADGROUP', 'GROUP', '" QUEUES_GROUP "', '" QUEUES_POOL "', 'COUNT', 1,"
	" 'STREAMS', KEYS[2], '>')\n"
	"redis.call('SET', KEYS[1], ARGV[4] .. ' ' .. id)\n"
	"redis.call('ZADD', KEYS[3], ARGV[1], ARGV[3])\n"
	"redis.call('ZADD', KEYS[4], ARGV[1], ARGV[3])\n"
	"return 1\n";

/* Oldest first within a band, bands in order; entries that the filter skips
 * stay in the pool for others. Languages compare without case, as
 * BCP 47 tags do. */
static const char script_claim[] =
	"local scan = tonumber(ARGV[3])\n"
	"local langs = string.lower(ARGV[2])\n"
	"for b = 1, #KEYS do\n"
	"  local start, seen = '-', 0\n"
	"  while seen < scan do\n"
	"    local pend = redis.pcall('XPENDING', KEYS[b], '" QUEUES_GROUP "', start, '+', 100,"
	" '" QUEUES_POOL "')\n"
	"    if type(pend) ~= 'table' or pend.err or #pend == 0 then break end\n"
	"    for _, p in ipairs(pend) do\n"
	"      local id = p[1]\n"
	"      seen = seen + 1\n"
	"      start = '(' .. id\n"
	"      local e = redis.call('XRANGE', KEYS[b], id, id)\n"
	"      if #e == 0 then\n"
	"        redis.call('XACK', KEYS[b], '" QUEUES_GROUP "', id)\n"
	"      else\n"
	"        local f = e[1][2]\n"
	"        local lang, excl = '', ''\n"
	"        for i = 1, #f, 2 do\n"
	"          if f[i] == 'lang' then lang = f[i + 1] elseif f[i] == 'exclude' then"
	" excl = f[i + 1] end\n"
	"        end\n"
	"        if (langs == '' or string.find(langs, ',' .. string.lower(lang) .. ',', 1, true))"
	" and excl ~= ARGV[1] then\n"
	"          redis.call('XCLAIM', KEYS[b], '" QUEUES_GROUP "', ARGV[1], 0, id)\n"
	"          return {b - 1, id, f}\n"
	"        end\n"
	"      end\n"
	"    end\n"
	"  end\n"
	"end\n"
	"return false\n";

/* The decided entry leaves its stream and both SLA sets; its dedupe key
 * stays for the dedupe TTL, so that a late redelivery adds nothing. */
static const char script_ack[] =
	"local p = redis.pcall('XPENDING', KEYS[1], '" QUEUES_GROUP "', ARGV[1], ARGV[1], 1)\n"
	"if type(p) ~= 'table' or p.err or #p == 0 then\n"
	"  return redis.error_reply('NOTCLAIMED the entry is not claimed: decided already, or"
	" not in this queue')\n"
	"end\n"
	"if p[1][2] ~= ARGV[2] then\n"
	"  return redis.error_reply('NOTYOURS the entry is held by ' .. p[1][2] .. ': the lease"
	" expired and it was reclaimed')\n"
	"end\n"
	"redis.call('XACK', KEYS[1], '" QUEUES_GROUP "', ARGV[1])\n"
	"redis.call('XDEL', KEYS[1], ARGV[1])\n"
	"redis.call('ZREM', KEYS[2], ARGV[3])\n"
	"redis.call('ZREM', KEYS[3], ARGV[3])\n"
	"redis.call('SET', KEYS[4], 'decided', 'PX', ARGV[4])\n"
	"return 1\n";

/* Lua shared by reclaim and sweep: raise(K, ID, F, SEEN) moves the waiting
 * entry ID (fields F) of band stream KEYS[K] to the urgent stream KEYS[1],
 * keeping its fields and pointing its dedupe key SEEN at the new place. */
#define QUEUES_LUA_RAISE                                                                           \
	"local function raise(k, id, f, seen)\n"                                                   \
	"  local from, q = '', ''\n"                                                               \
	"  for j = 1, #f, 2 do\n"                                                                  \
	"    if f[j] == 'band' then from = f[j + 1]; f[j + 1] = 'urgent'\n"                        \
	"    elseif f[j] == 'queue' then q = f[j + 1] end\n"                                       \
	"  end\n"                                                                                  \
	"  f[#f + 1] = 'raised_from'\n"                                                            \
	"  f[#f + 1] = from\n"                                                                     \
	"  redis.pcall('XGROUP', 'CREATE', KEYS[1], '" QUEUES_GROUP "', '$', 'MKSTREAM')\n"        \
	"  local nid = redis.call('XADD', KEYS[1], '*', unpack(f))\n"                              \
	"  redis.call('XREADGROUP', 'GROUP', '" QUEUES_GROUP "', '" QUEUES_POOL "',"               \
	" 'COUNT', 1, 'STREAMS', KEYS[1], '>')\n"                                                  \
	"  redis.call('XACK', KEYS[k], '" QUEUES_GROUP "', id)\n"                                  \
	"  redis.call('XDEL', KEYS[k], id)\n"                                                      \
	"  redis.call('SET', seen, q .. ' urgent ' .. nid)\n"                                      \
	"end\n"

/* XAUTOCLAIM cannot tell the pool's own idle entries from expired leases,
 * so leases are found per reviewer. An entry that comes back past its
 * deadline is raised then: the sweeper passed it while it was claimed. */
static const char script_reclaim[] = QUEUES_LUA_RAISE
	"local n, raised, now = 0, 0, tonumber(ARGV[2])\n"
	"for b = 1, #KEYS do\n"
	"  local cs = redis.pcall('XINFO', 'CONSUMERS', KEYS[b], '" QUEUES_GROUP "')\n"
	"  if type(cs) == 'table' and not cs.err then\n"
	"    for _, c in ipairs(cs) do\n"
	"      local name = c[2]\n"
	"      if name ~= '" QUEUES_POOL "' then\n"
	"        local pend = redis.call('XPENDING', KEYS[b], '" QUEUES_GROUP "', 'IDLE', ARGV[1],"
	" '-', '+', 1000, name)\n"
	"        for _, p in ipairs(pend) do\n"
	"          local e = redis.call('XCLAIM', KEYS[b], '" QUEUES_GROUP "', '" QUEUES_POOL
	"', 0, p[1])\n"
	"          local f = e[1] and e[1][2]\n"
	"          if f then n = n + 1 end\n"
	"          if b > 1 and f then\n"
	"            local due, esc\n"
	"            for j = 1, #f, 2 do\n"
	"              if f[j] == 'deadline_ms' then due = tonumber(f[j + 1])\n"
	"              elseif f[j] == 'id' then esc = f[j + 1] end\n"
	"            end\n"
	"            if due and esc and due <= now then\n"
	"              raise(b, p[1], f, ARGV[3] .. esc)\n"
	"              raised = raised + 1\n"
	"            end\n"
	"          end\n"
	"        end\n"
	"      end\n"
	"    end\n"
	"  end\n"
	"end\n"
	"return {n, raised}\n";

/* Entries due by now leave the to-do set, each counted once whichever
 * instance sweeps; those waiting in a lower band move to urgent. One that a
 * reviewer holds stays with them; reclaim raises it if it comes back. */
static const char script_sweep[] = QUEUES_LUA_RAISE
	"local due = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])\n"
	"local overdue, raised = 0, 0\n"
	"local bands = {urgent = 1, high = 2, normal = 3, low = 4}\n"
	"for _, esc in ipairs(due) do\n"
	"  overdue = overdue + 1\n"
	"  redis.call('ZREM', KEYS[5], esc)\n"
	"  local loc = redis.call('GET', ARGV[2] .. esc) or ''\n"
	"  local band, id = string.match(loc, '^%S+ (%S+) (%S+)$')\n"
	"  local k = band and bands[band]\n"
	"  if k and k > 1 then\n"
	"    local p = redis.pcall('XPENDING', KEYS[k], '" QUEUES_GROUP "', id, id, 1)\n"
	"    if type(p) == 'table' and not p.err and #p == 1 and p[1][2] == '" QUEUES_POOL
	"' then\n"
	"      local e = redis.call('XRANGE', KEYS[k], id, id)\n"
	"      if #e == 1 then\n"
	"        raise(k, id, e[1][2], ARGV[2] .. esc)\n"
	"        raised = raised + 1\n"
	"      end\n"
	"    end\n"
	"  end\n"
	"end\n"
	"return {overdue, raised}\n";

/* A decision older than the one recorded (a redelivery, or an out-of-order
 * producer) does not overwrite it. */
static const char script_decision[] =
	"local cur = redis.call('HGET', KEYS[1], 'decided_ms')\n"
	"if cur and tonumber(cur) > tonumber(ARGV[2]) then return 0 end\n"
	"redis.call('HSET', KEYS[1], 'decided_ms', ARGV[2], 'action', ARGV[3], 'actor', ARGV[4],"
	" 'reviewer', ARGV[5], 'decision_id', ARGV[6])\n"
	"redis.call('EXPIRE', KEYS[1], ARGV[1])\n"
	"return 1\n";

/* The appeal remembers the decision it is about when it is filed: a later
 * decision on the content does not change who may not resolve it. */
static const char script_appeal_file[] =
	"local d = redis.call('HMGET', KEYS[1], 'action', 'reviewer', 'decision_id')\n"
	"if not d[1] then\n"
	"  return redis.error_reply('ARBITER appeal for content with no known decision')\n"
	"end\n"
	"if redis.call('EXISTS', KEYS[2]) == 0 then\n"
	"  redis.call('HSET', KEYS[2], 'content_id', ARGV[2], 'filed_ms', ARGV[3],"
	" 'original_action', d[1], 'original_reviewer', d[2], 'decision_id', d[3])\n"
	"  redis.call('EXPIRE', KEYS[2], ARGV[1])\n"
	"end\n"
	"return redis.call('HMGET', KEYS[2], 'original_action', 'original_reviewer', 'decision_id',"
	" 'filed_ms')\n";

static const char script_appeal_resolve[] =
	"local a = redis.call('HMGET', KEYS[1], 'original_action', 'original_reviewer',"
	" 'decision_id', 'filed_ms', 'resolved_by')\n"
	"if not a[1] then return redis.error_reply('ARBITER no such appeal was filed') end\n"
	"if a[2] ~= '' and a[2] == ARGV[2] then\n"
	"  return redis.error_reply('ARBITER appeal resolved by the reviewer whose decision is"
	" under appeal')\n"
	"end\n"
	"if not a[5] then\n"
	"  redis.call('HSET', KEYS[1], 'resolved_by', ARGV[2], 'outcome', ARGV[3], 'resolved_ms',"
	" ARGV[5])\n"
	"  if ARGV[3] ~= 'UPHELD' then\n"
	"    redis.call('HSET', KEYS[2], 'decided_ms', ARGV[5], 'action', ARGV[4], 'actor', 'HUMAN',"
	" 'reviewer', ARGV[2], 'decision_id', ARGV[6])\n"
	"    redis.call('EXPIRE', KEYS[2], ARGV[1])\n"
	"  end\n"
	"end\n"
	"return {a[1], a[2], a[3], a[4]}\n";

static const char *const script_bodies[QUEUES__SCRIPTS] = {
	[QUEUES_ENQUEUE] = script_enqueue,
	[QUEUES_CLAIM] = script_claim,
	[QUEUES_ACK] = script_ack,
	[QUEUES_RECLAIM] = script_reclaim,
	[QUEUES_SWEEP] = script_sweep,
	[QUEUES_DECISION] = script_decision,
	[QUEUES_APPEAL_FILE] = script_appeal_file,
	[QUEUES_APPEAL_RESOLVE] = script_appeal_resolve,
};
static const char *const script_names[QUEUES__SCRIPTS] = {
	[QUEUES_ENQUEUE] = "enqueue",
	[QUEUES_CLAIM] = "claim",
	[QUEUES_ACK] = "ack",
	[QUEUES_RECLAIM] = "reclaim",
	[QUEUES_SWEEP] = "sweep",
	[QUEUES_DECISION] = "decision",
	[QUEUES_APPEAL_FILE] = "appeal-file",
	[QUEUES_APPEAL_RESOLVE] = "appeal-resolve",
};
static char script_shas[QUEUES__SCRIPTS][41];
static pthread_once_t script_shas_once = PTHREAD_ONCE_INIT;

static void queues_hash_scripts(void)
{
	for (int s = 0; s < QUEUES__SCRIPTS; s++) {
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned int n = 0;
		EVP_Digest(script_bodies[s], strlen(script_bodies[s]), md, &n, EVP_sha1(), NULL);
		for (unsigned i = 0; i < n && i < 20; i++)
			snprintf(&script_shas[s][2 * i], 3, "%02x", md[i]);
	}
}

const char *queues_script_body(enum queues_script s)
{
	return script_bodies[s];
}

const char *queues_script_sha(enum queues_script s)
{
	pthread_once(&script_shas_once, queues_hash_scripts);
	return script_shas[s];
}

const char *queues_script_name(enum queues_script s)
{
	return script_names[s];
}

/* ---- routing ---- */

static bool queues_has(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcasecmp(v[i], s))
			return true;
	return false;
}

const struct config_queue *queues_route(const struct config *cfg, const char *queue,
					const char *lang, const char *country)
{
	const struct config_queue *best = NULL;
	int best_score = 0;
	for (size_t i = 0; i < cfg->review.n_queues; i++) {
		const struct config_queue *q = &cfg->review.queues[i];
		if (!q->serves || strcmp(q->serves, queue))
			continue;
		if (q->n_languages && !(lang && queues_has(q->languages, q->n_languages, lang)))
			continue;
		if (q->n_countries &&
		    !(country && queues_has(q->countries, q->n_countries, country)))
			continue;
		int score = (q->n_languages ? 2 : 0) + (q->n_countries ? 1 : 0);
		if (score > best_score) {
			best = q;
			best_score = score;
		}
	}
	return best ? best : config_queue_find(cfg, queue);
}

int64_t queues_deadline(const struct config_queue *q, enum config_band b, int64_t base_ms,
			uint32_t rule_sla_s)
{
	uint32_t sla = rule_sla_s;
	if (q && (unsigned)b < CONFIG_BANDS && q->sla_s[b] && (!sla || q->sla_s[b] < sla))
		sla = q->sla_s[b];
	/* Input times are validated to [2000, 3000); saturate anyway rather than wrap. */
	int64_t deadline;
	if (__builtin_add_overflow(base_ms, (int64_t)sla * 1000, &deadline))
		return INT64_MAX;
	return deadline;
}

enum config_band queues_band(Arbiter__V1__Band b)
{
	switch (b) {
	case ARBITER__V1__BAND__URGENT:
		return CONFIG_BAND_URGENT;
	case ARBITER__V1__BAND__HIGH:
		return CONFIG_BAND_HIGH;
	case ARBITER__V1__BAND__LOW:
		return CONFIG_BAND_LOW;
	default:
		return CONFIG_BAND_NORMAL;
	}
}

Arbiter__V1__Band queues_band_pb(enum config_band b)
{
	static const Arbiter__V1__Band map[CONFIG_BANDS] = {
		ARBITER__V1__BAND__URGENT, ARBITER__V1__BAND__HIGH, ARBITER__V1__BAND__NORMAL,
		ARBITER__V1__BAND__LOW};
	return (unsigned)b < CONFIG_BANDS ? map[b] : ARBITER__V1__BAND__NORMAL;
}

enum config_band queues_appeal_band(Arbiter__V1__Action original)
{
	int removal = rules_action_severity(ARBITER__V1__ACTION__REMOVE);
	return rules_action_severity(original) >= removal ? CONFIG_BAND_HIGH : CONFIG_BAND_NORMAL;
}

int queues_band_parse(const char *s)
{
	for (int b = 0; b < CONFIG_BANDS; b++)
		if (!strcmp(s, config_band_name((enum config_band)b)))
			return b;
	return -1;
}

/* ---- keys ---- */

void queues_key_stream(char out[QUEUES_KEY_MAX], const char *prefix, const char *queue,
		       enum config_band b)
{
	snprintf(out, QUEUES_KEY_MAX, "%.64sq:%.64s:%s", prefix, queue, config_band_name(b));
}

void queues_key_sla(char out[QUEUES_KEY_MAX], const char *prefix, const char *queue)
{
	snprintf(out, QUEUES_KEY_MAX, "%.64ssla:%.64s", prefix, queue);
}

void queues_key_todo(char out[QUEUES_KEY_MAX], const char *prefix, const char *queue)
{
	snprintf(out, QUEUES_KEY_MAX, "%.64ssla:%.64s:todo", prefix, queue);
}

void queues_key_seen(char out[QUEUES_KEY_MAX], const char *prefix, const char *escalation_id)
{
	snprintf(out, QUEUES_KEY_MAX, "%.64sseen:%.64s", prefix, escalation_id);
}

void queues_key_decision(char out[QUEUES_KEY_MAX], const char *prefix, const char *content_id)
{
	snprintf(out, QUEUES_KEY_MAX, "%.64sdecision:%.100s", prefix, content_id);
}

void queues_key_appeal(char out[QUEUES_KEY_MAX], const char *prefix, const char *appeal_id)
{
	snprintf(out, QUEUES_KEY_MAX, "%.64sappeal:%.100s", prefix, appeal_id);
}

/* ---- the enqueue command ---- */

/* Builds strings into one heap block, then points the vectors at them: the
 * block's final address is known only once every string is written. */
struct queues_builder {
	char *heap;
	size_t len, cap;
	size_t *offs; /* into heap, or SIZE_MAX for an external argument */
	const char **ext;
	size_t *lens;
	int argc, max;
	bool oom;
};

static void qb_reserve(struct queues_builder *b, size_t more)
{
	if (b->oom || b->len + more <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 1024;
	while (cap < b->len + more)
		cap *= 2;
	char *h = realloc(b->heap, cap);
	if (!h) {
		b->oom = true;
		return;
	}
	b->heap = h;
	b->cap = cap;
}

static void qb_add(struct queues_builder *b, const char *s, size_t len)
{
	if (b->oom || b->argc == b->max) {
		b->oom = true;
		return;
	}
	qb_reserve(b, len + 1);
	if (b->oom)
		return;
	memcpy(b->heap + b->len, s, len);
	b->heap[b->len + len] = '\0';
	b->offs[b->argc] = b->len;
	b->lens[b->argc++] = len;
	b->len += len + 1;
}

static void qb_str(struct queues_builder *b, const char *s)
{
	qb_add(b, s ? s : "", s ? strlen(s) : 0);
}

static void qb_i64(struct queues_builder *b, int64_t v)
{
	char n[24];
	qb_add(b, n, (size_t)snprintf(n, sizeof(n), "%" PRId64, v));
}

/* An argument the command points to without copying (the packed record). */
static void qb_ext(struct queues_builder *b, const void *p, size_t len)
{
	if (b->oom || b->argc == b->max) {
		b->oom = true;
		return;
	}
	b->offs[b->argc] = SIZE_MAX;
	b->ext[b->argc] = p;
	b->lens[b->argc++] = len;
}

static void qb_join(struct queues_builder *b, char *const *v, size_t n)
{
	size_t len = 0;
	for (size_t i = 0; i < n; i++)
		len += strlen(v[i]) + 1;
	char *s = malloc(len + 1), *w = s;
	if (!s) {
		b->oom = true;
		return;
	}
	for (size_t i = 0; i < n; i++)
		w += sprintf(w, "%s%s", i ? "," : "", v[i]);
	*w = '\0';
	qb_add(b, s, (size_t)(w - s));
	free(s);
}

#define QUEUES_MAX_ARGS 60

static void qb_init(struct queues_builder *b, enum queues_script s)
{
	memset(b, 0, sizeof(*b));
	b->max = QUEUES_MAX_ARGS;
	b->offs = calloc(b->max, sizeof(*b->offs));
	b->ext = calloc(b->max, sizeof(*b->ext));
	b->lens = calloc(b->max, sizeof(*b->lens));
	if (!b->offs || !b->ext || !b->lens)
		b->oom = true;
	qb_str(b, "EVALSHA");
	qb_str(b, queues_script_sha(s));
}

/* The four band streams of queue NAME, as keys. */
static void qb_band_keys(struct queues_builder *b, const char *prefix, const char *name)
{
	char key[QUEUES_KEY_MAX];
	for (int i = 0; i < CONFIG_BANDS; i++) {
		queues_key_stream(key, prefix, name, (enum config_band)i);
		qb_str(b, key);
	}
}

static int qb_finish(struct queues_builder *b, enum queues_script s, struct queues_cmd *out)
{
	out->argv = b->oom ? NULL : calloc((size_t)b->argc, sizeof(*out->argv));
	if (!out->argv) {
		free(b->heap);
		free(b->offs);
		free(b->ext);
		free(b->lens);
		return -ENOMEM;
	}
	for (int i = 0; i < b->argc; i++)
		out->argv[i] = b->offs[i] == SIZE_MAX ? b->ext[i] : b->heap + b->offs[i];
	out->script = s;
	out->argc = b->argc;
	out->lens = b->lens;
	out->heap = b->heap;
	free(b->offs);
	free(b->ext);
	return 0;
}

int queues_enqueue_cmd(const struct config *cfg, const struct config_queue *q,
		       const Arbiter__V1__Escalation *es, const uint8_t *packed, size_t packed_len,
		       const char *exclude, struct queues_cmd *out)
{
	return queues_enqueue_appeal_cmd(cfg, q, es, packed, packed_len, exclude, NULL, out);
}

int queues_enqueue_appeal_cmd(const struct config *cfg, const struct config_queue *q,
			      const Arbiter__V1__Escalation *es, const uint8_t *packed,
			      size_t packed_len, const char *exclude, const char *appeal_id,
			      struct queues_cmd *out)
{
	struct queues_builder b;
	char key[QUEUES_KEY_MAX], loc[QUEUES_KEY_MAX];
	const char *prefix = cfg->redis.prefix;
	enum config_band band = queues_band(es->band);
	memset(out, 0, sizeof(*out));
	qb_init(&b, QUEUES_ENQUEUE);
	qb_str(&b, "8");
	queues_key_seen(key, prefix, es->escalation_id);
	qb_str(&b, key);
	queues_key_stream(key, prefix, q->name, band);
	qb_str(&b, key);
	queues_key_sla(key, prefix, q->name);
	qb_str(&b, key);
	queues_key_todo(key, prefix, q->name);
	qb_str(&b, key);
	qb_band_keys(&b, prefix, q->name);
	qb_i64(&b, es->deadline_ms);
	qb_i64(&b, q->max_length);
	qb_str(&b, es->escalation_id);
	snprintf(loc, sizeof(loc), "%.64s %s", q->name, config_band_name(band));
	qb_str(&b, loc);

	static const char *const fields[] = {
		"id",         "content_id", "event_id", "queue",     "band",      "deadline_ms",
		"created_ms", "lang",       "country",  "rules",     "ruleset",   "modes",
		"evidence",   "action",     "exclude",  "appeal_id", "escalation"};
	static_assert(sizeof(fields) / sizeof(fields[0]) == 17, "one name per field written below");
	const ProtobufCEnumValue *action =
		protobuf_c_enum_descriptor_get_value(&arbiter__v1__action__descriptor, es->action);
	size_t f = 0;
	qb_str(&b, fields[f++]);
	qb_str(&b, es->escalation_id);
	qb_str(&b, fields[f++]);
	qb_str(&b, es->content_id);
	qb_str(&b, fields[f++]);
	qb_str(&b, es->event_id);
	qb_str(&b, fields[f++]);
	qb_str(&b, q->name);
	qb_str(&b, fields[f++]);
	qb_str(&b, config_band_name(band));
	qb_str(&b, fields[f++]);
	qb_i64(&b, es->deadline_ms);
	qb_str(&b, fields[f++]);
	qb_i64(&b, es->created_at_ms);
	qb_str(&b, fields[f++]);
	qb_str(&b, es->lang);
	qb_str(&b, fields[f++]);
	qb_str(&b, es->country);
	qb_str(&b, fields[f++]);
	qb_join(&b, es->rule_ids, es->n_rule_ids);
	qb_str(&b, fields[f++]);
	qb_str(&b, es->ruleset_version);
	qb_str(&b, fields[f++]);
	qb_join(&b, es->modes, es->n_modes);
	qb_str(&b, fields[f++]);
	qb_join(&b, es->evidence, es->n_evidence);
	qb_str(&b, fields[f++]);
	qb_str(&b, action ? action->name : "NONE");
	qb_str(&b, fields[f++]);
	qb_str(&b, exclude);
	qb_str(&b, fields[f++]);
	qb_str(&b, appeal_id);
	qb_str(&b, fields[f++]);
	qb_ext(&b, packed, packed_len);
	return qb_finish(&b, QUEUES_ENQUEUE, out);
}

int queues_sweep_cmd(const struct config *cfg, const struct config_queue *q, int64_t now_ms,
		     struct queues_cmd *out)
{
	struct queues_builder b;
	char key[QUEUES_KEY_MAX];
	const char *prefix = cfg->redis.prefix;
	memset(out, 0, sizeof(*out));
	qb_init(&b, QUEUES_SWEEP);
	qb_str(&b, "5");
	qb_band_keys(&b, prefix, q->name);
	queues_key_todo(key, prefix, q->name);
	qb_str(&b, key);
	qb_i64(&b, now_ms);
	queues_key_seen(key, prefix, "");
	qb_str(&b, key);
	qb_i64(&b, 1000);
	return qb_finish(&b, QUEUES_SWEEP, out);
}

int queues_decision_cmd(const struct config *cfg, enum queues_script s, const char *content,
			const char *appeal, const char *const *args, size_t n_args,
			struct queues_cmd *out)
{
	struct queues_builder b;
	char key[QUEUES_KEY_MAX];
	memset(out, 0, sizeof(*out));
	qb_init(&b, s);
	qb_str(&b, s == QUEUES_DECISION ? "1" : "2");
	queues_key_decision(key, cfg->redis.prefix, content);
	char akey[QUEUES_KEY_MAX];
	queues_key_appeal(akey, cfg->redis.prefix, appeal ? appeal : "");
	if (s == QUEUES_APPEAL_RESOLVE) {
		qb_str(&b, akey);
		qb_str(&b, key);
	} else {
		qb_str(&b, key);
		if (s == QUEUES_APPEAL_FILE)
			qb_str(&b, akey);
	}
	qb_i64(&b, cfg->review.decision_ttl_s);
	for (size_t i = 0; i < n_args; i++)
		qb_str(&b, args[i]);
	return qb_finish(&b, s, out);
}

/* The scripts' refusals: "ARBITER " and the reason. */
#define QUEUES_REFUSAL "ARBITER "

int queues_appeal_reply_parse(const redisReply *r, struct records_appeal *a, const char **refusal)
{
	size_t pre = strlen(QUEUES_REFUSAL);
	if (r->type == REDIS_REPLY_ERROR && r->len > pre && !strncmp(r->str, QUEUES_REFUSAL, pre)) {
		*refusal = r->str + pre;
		return -EPERM;
	}
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 4)
		return -EINVAL;
	for (size_t i = 0; i < 4; i++)
		if (r->element[i]->type != REDIS_REPLY_STRING)
			return -EINVAL;
	/* filed_ms is a number of milliseconds the script stored itself. */
	const char *filed = r->element[3]->str;
	char *end;
	errno = 0;
	long long ms = strtoll(filed, &end, 10);
	if (end == filed || *end || errno)
		return -EINVAL;
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value_by_name(
		&arbiter__v1__action__descriptor, r->element[0]->str);
	a->original_action = v ? (Arbiter__V1__Action)v->value : ARBITER__V1__ACTION__NONE;
	a->original_reviewer = r->element[1]->str;
	a->decision_id = r->element[2]->str;
	a->filed_at_ms = ms;
	return 0;
}

void queues_cmd_use_eval(struct queues_cmd *cmd)
{
	cmd->argv[0] = "EVAL";
	cmd->lens[0] = 4;
	cmd->argv[1] = queues_script_body(cmd->script);
	cmd->lens[1] = strlen(cmd->argv[1]);
}

void queues_cmd_free(struct queues_cmd *cmd)
{
	free(cmd->argv);
	free(cmd->lens);
	free(cmd->heap);
	memset(cmd, 0, sizeof(*cmd));
}
