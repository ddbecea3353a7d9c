/* Windowed counters of the rules, the pure part: the Lua script and its command and reply for one
 * event's counter operations, and an in-process store with the same meaning. */
#include "counters.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"

/* ARGV holds six values per operation, KEYS one:
 *   count:    'c', time, time - window, cap, ttl, member
 *   distinct: 'd', bucket, buckets, 0, ttl, member
 * Times and buckets come as decimal strings from C: no float formatting of 13-digit numbers in
 * Lua. Returns one integer per operation. */
static const char counters_lua[] =
	"local out = {}\n"
	"for i = 1, #KEYS do\n"
	"  local a = (i - 1) * 6\n"
	"  local k, ttl, m = KEYS[i], ARGV[a + 5], ARGV[a + 6]\n"
	"  if ARGV[a + 1] == 'c' then\n"
	"    local at, lo, cap = ARGV[a + 2], ARGV[a + 3], tonumber(ARGV[a + 4])\n"
	"    redis.call('ZADD', k, 'NX', at, m)\n"
	"    redis.call('ZREMRANGEBYSCORE', k, '-inf', lo)\n"
	"    local n = redis.call('ZCARD', k)\n"
	"    if n > cap then redis.call('ZREMRANGEBYRANK', k, 0, n - cap - 1) end\n"
	"    redis.call('PEXPIRE', k, ttl)\n"
	"    out[i] = redis.call('ZCOUNT', k, '(' .. lo, at)\n"
	"  else\n"
	"    local b, nb = tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])\n"
	"    local cur = k .. ':' .. ARGV[a + 2]\n"
	"    redis.call('PFADD', cur, m)\n"
	"    redis.call('PEXPIRE', cur, ttl)\n"
	"    local ks = {}\n"
	"    for j = 0, nb - 1 do ks[j + 1] = k .. ':' .. string.format('%d', b - j) end\n"
	"    out[i] = redis.call('PFCOUNT', unpack(ks))\n"
	"  end\n"
	"end\n"
	"return out\n";

static char counters_sha[41];
static pthread_once_t counters_sha_once = PTHREAD_ONCE_INIT;

static void counters_hash_script(void)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	EVP_Digest(counters_lua, strlen(counters_lua), md, &n, EVP_sha1(), NULL);
	for (unsigned i = 0; i < n && i < 20; i++)
		snprintf(&counters_sha[2 * i], 3, "%02x", md[i]);
}

const char *counters_script_body(void)
{
	return counters_lua;
}

const char *counters_script_sha(void)
{
	pthread_once(&counters_sha_once, counters_hash_script);
	return counters_sha;
}

/* A DISTINCT counter's bucket length: a tenth of the window, at least a second. */
static int64_t counters_bucket_ms(int64_t window_ms)
{
	int64_t b = window_ms / COUNTERS_BUCKETS;
	return b < 1000 ? 1000 : b;
}

#define COUNTERS_ARGS 6
#define COUNTERS_ARG_MAX 24 /* an int64 in decimal, a sign and a NUL */

int counters_cmd(const struct config *cfg, const struct ruleset *rs,
		 const struct rules_counter_op *ops, size_t n, struct queues_cmd *out)
{
	memset(out, 0, sizeof(*out));
	const char *prefix = cfg->redis.prefix ? cfg->redis.prefix : "";
	size_t key_max = strlen(prefix) + 4 + 16 + 1 + RULES_DIGEST_HEX + 1;
	size_t argc = 3 + n * (1 + COUNTERS_ARGS);
	out->argv = calloc(argc, sizeof(*out->argv));
	out->lens = calloc(argc, sizeof(*out->lens));
	/* Everything is copied: the command may be sent again (NOSCRIPT, a lost connection) long
	 * after OPS were reused. */
	out->heap = malloc(COUNTERS_ARG_MAX +
			   n * (key_max + COUNTERS_ARGS * COUNTERS_ARG_MAX + RULES_DIGEST_HEX + 1));
	if (!out->argv || !out->lens || !out->heap) {
		queues_cmd_free(out);
		return -ENOMEM;
	}
	out->body = counters_lua;
	out->name = "counters";
	char *w = out->heap;
	int a = 0;
/* Appends LEN bytes at S as the next argument. */
#define COUNTERS_ARG(s, len)                                                                       \
	do {                                                                                       \
		out->argv[a] = (s);                                                                \
		out->lens[a++] = (len);                                                            \
	} while (0)
/* Formats the next argument into the heap. */
#define COUNTERS_FMT(...)                                                                          \
	do {                                                                                       \
		int len_ = sprintf(w, __VA_ARGS__);                                                \
		COUNTERS_ARG(w, (size_t)len_);                                                     \
		w += len_ + 1;                                                                     \
	} while (0)
	COUNTERS_ARG("EVALSHA", 7);
	COUNTERS_ARG(counters_script_sha(), 40);
	COUNTERS_FMT("%zu", n);
	for (size_t i = 0; i < n; i++) {
		const struct rules_counter_info *c = rules_counter(rs, ops[i].counter);
		bool count = c->kind == RULES_COUNT;
		COUNTERS_FMT("%s%s:%s:%.*s", prefix, count ? "ctr" : "ctd", c->id, RULES_DIGEST_HEX,
			     ops[i].by);
	}
	for (size_t i = 0; i < n; i++) {
		const struct rules_counter_info *c = rules_counter(rs, ops[i].counter);
		int64_t at = ops[i].at_ms;
		if (c->kind == RULES_COUNT) {
			COUNTERS_ARG("c", 1);
			COUNTERS_FMT("%" PRId64, at);
			COUNTERS_FMT("%" PRId64, at - c->window_ms);
			COUNTERS_FMT("%" PRIu32, c->cap);
			COUNTERS_FMT("%" PRId64, c->window_ms + counters_bucket_ms(c->window_ms));
		} else {
			int64_t b = counters_bucket_ms(c->window_ms);
			COUNTERS_ARG("d", 1);
			COUNTERS_FMT("%" PRId64, at / b);
			COUNTERS_FMT("%" PRId64, (c->window_ms + b - 1) / b + 1);
			COUNTERS_ARG("0", 1);
			COUNTERS_FMT("%" PRId64, c->window_ms + b);
		}
		COUNTERS_FMT("%.*s", RULES_DIGEST_HEX, ops[i].member);
	}
#undef COUNTERS_FMT
#undef COUNTERS_ARG
	out->argc = a;
	return 0;
}

int counters_reply(const redisReply *r, size_t n, uint64_t *values)
{
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != n)
		return -EPROTO;
	for (size_t i = 0; i < n; i++) {
		const redisReply *e = r->element[i];
		if (e->type != REDIS_REPLY_INTEGER || e->integer < 0)
			return -EPROTO;
		values[i] = (uint64_t)e->integer;
	}
	return 0;
}

/* ---- the in-process store ---- */

struct counters_entry {
	char member[RULES_DIGEST_HEX + 1];
	int64_t at_ms;
};

struct counters_group {
	struct counters_entry *v;
	size_t n, cap;
};

struct counters_mem {
	struct strmap index; /* "ID:BY" -> group */
	struct counters_group *groups;
	size_t n_groups, cap_groups;
	size_t entries;
};

struct counters_mem *counters_mem_new(void)
{
	return calloc(1, sizeof(struct counters_mem));
}

void counters_mem_free(struct counters_mem *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n_groups; i++)
		free(m->groups[i].v);
	free(m->groups);
	strmap_free(&m->index);
	free(m);
}

/* The group of counter C for BY, made when new; NULL on ENOMEM. */
static struct counters_group *counters_mem_group(struct counters_mem *m,
						 const struct rules_counter_info *c, const char *by)
{
	char key[16 + 1 + RULES_DIGEST_HEX + 1];
	int len = snprintf(key, sizeof(key), "%s:%s", c->id, by);
	uint32_t gi = (uint32_t)m->n_groups;
	if (m->n_groups == m->cap_groups) {
		size_t cap = m->cap_groups ? m->cap_groups * 2 : 64;
		struct counters_group *g = realloc(m->groups, cap * sizeof(*g));
		if (!g)
			return NULL;
		m->groups = g;
		m->cap_groups = cap;
	}
	int put = strmap_put(&m->index, key, (size_t)len, gi, &gi);
	if (put < 0)
		return NULL;
	if (put == 1)
		m->groups[m->n_groups++] = (struct counters_group){0};
	return &m->groups[gi];
}

/* One operation on group G of counter C: the same steps as the script, exactly. */
static int counters_mem_op(struct counters_mem *m, struct counters_group *g,
			   const struct rules_counter_info *c, const struct rules_counter_op *op,
			   uint64_t *value)
{
	int64_t lo = op->at_ms - c->window_ms;
	size_t w = 0;
	bool found = false;
	for (size_t i = 0; i < g->n; i++) {
		struct counters_entry *e = &g->v[i];
		if (!strcmp(e->member, op->member)) {
			found = true;
			/* count keeps the first time (ZADD NX); distinct the latest bucket. */
			if (c->kind == RULES_DISTINCT && op->at_ms > e->at_ms)
				e->at_ms = op->at_ms;
		}
		if (e->at_ms > lo)
			g->v[w++] = *e;
	}
	m->entries -= g->n - w;
	g->n = w;
	if (!found && op->at_ms > lo) {
		if (m->entries >= COUNTERS_MEM_MAX)
			return -ENOSPC;
		if (g->n == g->cap) {
			size_t cap = g->cap ? g->cap * 2 : 8;
			struct counters_entry *v = realloc(g->v, cap * sizeof(*v));
			if (!v)
				return -ENOMEM;
			g->v = v;
			g->cap = cap;
		}
		struct counters_entry *e = &g->v[g->n++];
		memcpy(e->member, op->member, sizeof(e->member));
		e->at_ms = op->at_ms;
		m->entries++;
	}
	if (c->kind == RULES_COUNT && g->n > c->cap) {
		/* The oldest go first, as ZREMRANGEBYRANK does. */
		size_t drop = g->n - c->cap;
		for (size_t k = 0; k < drop; k++) {
			size_t oldest = 0;
			for (size_t i = 1; i < g->n; i++)
				if (g->v[i].at_ms < g->v[oldest].at_ms)
					oldest = i;
			g->v[oldest] = g->v[--g->n];
			m->entries--;
		}
	}
	uint64_t n = 0;
	for (size_t i = 0; i < g->n; i++)
		n += g->v[i].at_ms > lo && g->v[i].at_ms <= op->at_ms;
	*value = n;
	return 0;
}

int counters_mem_run(struct counters_mem *m, const struct ruleset *rs,
		     const struct rules_counter_op *ops, size_t n, uint64_t *values)
{
	for (size_t i = 0; i < n; i++) {
		const struct rules_counter_info *c = rules_counter(rs, ops[i].counter);
		struct counters_group *g = c ? counters_mem_group(m, c, ops[i].by) : NULL;
		if (!g)
			return -ENOMEM;
		int rc = counters_mem_op(m, g, c, &ops[i], &values[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}
