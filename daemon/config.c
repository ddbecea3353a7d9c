/* The daemon's configuration: one YAML file, parsed and validated against one table. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include "config.h"
#include "country.h"
#include "langtag.h"
#include "ydoc.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_FILE_MAX (4u << 20) /* larger than any sane config: a wrong path */
#define SECRET_FILE_MAX (64u << 10)
#define SUGGEST_MAX_DIST 2

static_assert(sizeof(enum log_level) == sizeof(int), "enum fields are stored as int");
static_assert(sizeof(enum log_format) == sizeof(int), "enum fields are stored as int");
static_assert(sizeof(enum config_format) == sizeof(int), "enum fields are stored as int");

enum config_type {
	CT_STRING,     /* char * */
	CT_INT,        /* int in [min, max] */
	CT_UINT32,     /* uint32_t in [min, max] */
	CT_DURATION,   /* uint32_t milliseconds in [min, max]: 250, "250ms", "5s", "2m", "1h" */
	CT_ENUM,       /* an int-sized enum: the index of the name in names */
	CT_STRLIST,    /* char ** at off, size_t count at off_n */
	CT_PROPERTIES, /* struct config_kv * at off, size_t count at off_n */
	CT_TOPIC,      /* struct config_topic: a name, or {name: ..., format: ...} */
	CT_SECRET,     /* char *: a scalar, or {file: PATH} read now */
	CT_BOOL,       /* bool: true/false (on/off, yes/no) */
	CT_QUEUES,     /* struct config_queue * at off, size_t count at off_n */
};

#define CF_NULLABLE (1u << 0) /* null or "" stores NULL ("none") */
#define CF_NONEMPTY (1u << 1) /* "" is an error */
#define CF_PATH (1u << 2)     /* relative paths resolve against the config's directory */
#define CF_FORMAT (1u << 3)   /* an input topic: accepts format */
#define CF_SWITCHES (1u << 4) /* CT_PROPERTIES of on/off values, not librdkafka's */
#define CF_SECONDS (1u << 5)  /* CT_DURATION stored in seconds: for spans beyond 49 days */
#define CF_HOSTPORT (1u << 6) /* CT_STRLIST of "host:port" items */

struct config_entry {
	const char *key; /* dotted path in the file */
	enum config_type type;
	unsigned flags;
	size_t off;   /* offsetof the field in struct config */
	size_t off_n; /* CT_STRLIST, CT_PROPERTIES: offsetof the count */
	int64_t min, max;
	int64_t def;
	const char *def_str;
	const char *const *names; /* CT_ENUM, CT_TOPIC format: NULL-terminated */
	/* Checks (and derives from) a stored value. On failure writes
	 * "expected ..., got ..." into msg and returns -EINVAL. */
	int (*validate)(struct config *cfg, char *msg, size_t len);
};

static const char *const format_names[] = {"protobuf", "json", NULL};
static const char *const level_names[] = {"error", "warn", "info", "debug", NULL};
static const char *const log_format_names[] = {"text", "json", NULL};

static int validate_brokers(struct config *cfg, char *msg, size_t len);
static int validate_redis_address(struct config *cfg, char *msg, size_t len);
static int validate_metrics_listen(struct config *cfg, char *msg, size_t len);
static int validate_redis_prefix(struct config *cfg, char *msg, size_t len);
static int validate_redis_master_name(struct config *cfg, char *msg, size_t len);
static const struct config_entry *entry_find(const char *path, size_t *idx);

/* One initializer per table row; clang-format would break each into a block. */
/* clang-format off */
#define FIELD(f) offsetof(struct config, f)
#define STRING(k, f, d, fl, v)                                                                     \
	{.key = k, .type = CT_STRING, .off = FIELD(f), .def_str = d, .flags = fl, .validate = v}
#define INT(k, f, lo, hi, d)                                                                       \
	{.key = k, .type = CT_INT, .off = FIELD(f), .min = lo, .max = hi, .def = d}
#define UINT32(k, f, lo, hi, d)                                                                    \
	{.key = k, .type = CT_UINT32, .off = FIELD(f), .min = lo, .max = hi, .def = d}
#define DURATION(k, f, lo, hi, d)                                                                  \
	{.key = k, .type = CT_DURATION, .off = FIELD(f), .min = lo, .max = hi, .def = d}
#define DURATION_S(k, f, lo, hi, d)                                                                \
	{.key = k, .type = CT_DURATION, .off = FIELD(f), .min = lo, .max = hi, .def = d,             \
	 .flags = CF_SECONDS}
#define ENUM(k, f, n, d) {.key = k, .type = CT_ENUM, .off = FIELD(f), .names = n, .def = d}
#define TOPIC(k, f, d, fl)                                                                         \
	{.key = k, .type = CT_TOPIC, .off = FIELD(f), .def_str = d, .flags = fl,                  \
	 .names = format_names, .def = CONFIG_FORMAT_PROTOBUF}
#define SECRET(k, f) {.key = k, .type = CT_SECRET, .off = FIELD(f), .flags = CF_NULLABLE}
#define BOOL(k, f, d) {.key = k, .type = CT_BOOL, .off = FIELD(f), .def = d}
#define QUEUES(k, f, fn)                                                                           \
	{.key = k, .type = CT_QUEUES, .off = FIELD(f), .off_n = FIELD(fn)}
#define STRLIST(k, f, fn, fl)                                                                      \
	{.key = k, .type = CT_STRLIST, .off = FIELD(f), .off_n = FIELD(fn), .flags = fl}
#define PROPERTIES(k, f, fn, fl)                                                                   \
	{.key = k, .type = CT_PROPERTIES, .off = FIELD(f), .off_n = FIELD(fn), .flags = fl}
/* clang-format on */

#define MS_PER_S 1000
#define MS_PER_MIN (60 * MS_PER_S)
#define MS_PER_H (60 * MS_PER_MIN)
#define MS_PER_D (24 * MS_PER_H)

/* Every key of the file. config/arbiter.yaml documents each one. */
static const struct config_entry config_table[] = {
	STRING("kafka.brokers", kafka.brokers, "mock", CF_NONEMPTY, validate_brokers),
	INT("kafka.mock_partitions", kafka.mock_partitions, 1, 256, 4),
	STRING("kafka.group_id", kafka.group_id, "arbiter", CF_NONEMPTY, NULL),
	STRING("kafka.client_id", kafka.client_id, "arbiterd", CF_NONEMPTY, NULL),
	BOOL("kafka.exactly_once", kafka.exactly_once, true),
	STRING("kafka.transactional_id", kafka.transactional_id, NULL, CF_NULLABLE, NULL),
	PROPERTIES("kafka.properties", kafka.properties, kafka.n_properties, 0),
	TOPIC("kafka.topics.content", kafka.topics.content, "content.events", CF_FORMAT),
	TOPIC("kafka.topics.decisions", kafka.topics.decisions, "moderation.decisions", CF_FORMAT),
	TOPIC("kafka.topics.escalations", kafka.topics.escalations, "moderation.escalations", 0),
	TOPIC("kafka.topics.audit", kafka.topics.audit, "moderation.audit", 0),
	TOPIC("kafka.topics.appeals", kafka.topics.appeals, "moderation.appeals", 0),
	TOPIC("kafka.topics.deadletter", kafka.topics.deadletter, "arbiter.deadletter", 0),

	STRING("redis.address", redis.address, "127.0.0.1:6379", CF_NONEMPTY,
	       validate_redis_address),
	STRLIST("redis.sentinels", redis.sentinels, redis.n_sentinels, CF_HOSTPORT),
	STRING("redis.master_name", redis.master_name, NULL, CF_NULLABLE,
	       validate_redis_master_name),
	SECRET("redis.sentinel_password", redis.sentinel_password),
	INT("redis.wait_replicas", redis.wait_replicas, 0, 16, 0),
	STRING("redis.username", redis.username, NULL, CF_NULLABLE, NULL),
	SECRET("redis.password", redis.password),
	INT("redis.db", redis.db, 0, 15, 0),
	DURATION("redis.connect_timeout", redis.connect_timeout_ms, 1, MS_PER_MIN, 2 * MS_PER_S),
	DURATION("redis.command_timeout", redis.command_timeout_ms, 1, 10 * MS_PER_MIN,
		 5 * MS_PER_S),
	STRING("redis.prefix", redis.prefix, "arbiter:", 0, validate_redis_prefix),

	QUEUES("review.queues", review.queues, review.n_queues),
	DURATION("review.dedupe_ttl", review.dedupe_ttl_ms, MS_PER_MIN, 30u * MS_PER_D,
		 7u * MS_PER_D),
	DURATION("review.lease", review.lease_ms, MS_PER_S, MS_PER_D, 15 * MS_PER_MIN),
	DURATION("review.sweep_interval", review.sweep_interval_ms, 100, 10 * MS_PER_MIN,
		 10 * MS_PER_S),
	STRING("review.appeals_queue", review.appeals_queue, NULL, CF_NULLABLE, NULL),
	DURATION_S("review.decision_ttl", review.decision_ttl_s, MS_PER_D, 1000LL * MS_PER_D,
		   400LL * MS_PER_D),

	STRLIST("monitors.modes", monitors.modes, monitors.n_modes, 0),
	BOOL("monitors.per_country_topics", monitors.per_country_topics, false),
	BOOL("monitors.include_excerpt", monitors.include_excerpt, false),
	UINT32("monitors.excerpt_max_bytes", monitors.excerpt_max_bytes, 0, 65536, 280),
	SECRET("monitors.pseudonym_key", monitors.pseudonym_key),

	STRLIST("rules.files", rules.files, rules.n_files, CF_PATH),
	PROPERTIES("rules.modes", rules.modes, rules.n_modes, CF_SWITCHES),

	UINT32("pipeline.max_inflight", pipeline.max_inflight, 1, 1000000, 10000),
	DURATION("pipeline.commit_interval", pipeline.commit_interval_ms, 10, MS_PER_MIN, MS_PER_S),
	DURATION("pipeline.drain_timeout", pipeline.drain_timeout_ms, 0, 10 * MS_PER_MIN,
		 10 * MS_PER_S),
	UINT32("pipeline.deadletter_max_bytes", pipeline.deadletter_max_bytes, 0, 16 << 20,
	       64 << 10),
	UINT32("pipeline.poll_batch", pipeline.poll_batch, 1, 100000, 1000),
	UINT32("pipeline.prefetch_bytes", pipeline.prefetch_bytes, 1 << 20, 1U << 30, 16 << 20),

	ENUM("log.level", log.level, level_names, LOG_INFO),
	ENUM("log.format", log.format, log_format_names, LOG_FORMAT_TEXT),

	STRING("metrics.listen", metrics.listen, "127.0.0.1:9464", CF_NULLABLE,
	       validate_metrics_listen),
};

#define N_ENTRIES (sizeof(config_table) / sizeof(config_table[0]))

struct loader {
	struct config *cfg;
	struct diag_list *errs;
	const char *file;
	bool oom;
	struct ydoc_pos at[N_ENTRIES]; /* where each entry was set; line 0 if defaulted */
};

/* ---- errors ---- */

__attribute__((format(printf, 4, 5))) static void ld_error(struct loader *ld, struct ydoc_pos p,
							   const char *key, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag_error(ld->errs, ld->file, p.line, p.col, key, "%s", msg);
}

static char *ld_strdup(struct loader *ld, const char *s)
{
	char *d = strdup(s);
	if (!d)
		ld->oom = true;
	return d;
}

/* ---- "did you mean" ---- */

struct suggestion {
	const char *word;
	const char *best;
	size_t best_len;
	int dist;
};

static void suggest_try(struct suggestion *s, const char *cand, size_t len)
{
	int d = diag_edit_distance(s->word, strlen(s->word), cand, len);
	if (d <= SUGGEST_MAX_DIST && d < s->dist) {
		s->best = cand;
		s->best_len = len;
		s->dist = d;
	}
}

static void report_unknown(struct loader *ld, struct ydoc_pos p, const char *path, const char *best,
			   size_t best_len)
{
	if (best)
		ld_error(ld, p, path, "unknown key '%s'; did you mean '%.*s'?", path, (int)best_len,
			 best);
	else
		ld_error(ld, p, path, "unknown key '%s'", path);
}

/* An unknown key of the table: suggest the closest key or section, else a
 * key of the same name in another section ("kafka.db" -> "redis.db"). */
static void unknown_table_key(struct loader *ld, struct ydoc_pos p, const char *path)
{
	struct suggestion s = {.word = path, .dist = SUGGEST_MAX_DIST + 1};
	for (size_t i = 0; i < N_ENTRIES; i++) {
		const char *k = config_table[i].key;
		for (const char *dot = strchr(k, '.'); dot; dot = strchr(dot + 1, '.'))
			suggest_try(&s, k, (size_t)(dot - k));
		suggest_try(&s, k, strlen(k));
	}
	if (!s.best) {
		const char *last = strrchr(path, '.');
		last = last ? last + 1 : path;
		for (size_t i = 0; i < N_ENTRIES && !s.best; i++) {
			const char *k = config_table[i].key;
			const char *klast = strrchr(k, '.');
			if (klast && !strcmp(klast + 1, last)) {
				s.best = k;
				s.best_len = strlen(k);
			}
		}
	}
	report_unknown(ld, p, path, s.best, s.best_len);
}

/* An unknown key of a small fixed mapping such as {name, format}. */
static void unknown_sub_key(struct loader *ld, struct ydoc_pos p, const char *parent,
			    const char *key, const char *const *cands)
{
	char *path = NULL, *best = NULL;
	struct suggestion s = {.word = key, .dist = SUGGEST_MAX_DIST + 1};
	for (size_t i = 0; cands[i]; i++)
		suggest_try(&s, cands[i], strlen(cands[i]));
	if (asprintf(&path, "%s.%s", parent, key) < 0) {
		ld->oom = true;
		return;
	}
	if (s.best && asprintf(&best, "%s.%.*s", parent, (int)s.best_len, s.best) < 0)
		best = NULL;
	report_unknown(ld, p, path, best, best ? strlen(best) : 0);
	free(best);
	free(path);
}

/* ---- values ---- */

static void *field_ptr(struct config *cfg, size_t off)
{
	return (char *)cfg + off;
}

static void replace_str(char **slot, char *s)
{
	free(*slot);
	*slot = s;
}

static char *resolve_path(const char *dir, const char *path)
{
	char *r;
	if (path[0] == '/' || !dir || !strcmp(dir, "."))
		return strdup(path);
	if (asprintf(&r, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", path) < 0)
		return NULL;
	return r;
}

static int parse_int(const char *s, int64_t *out)
{
	const char *p = s + (*s == '-' || *s == '+');
	if (!*p)
		return -EINVAL;
	for (const char *q = p; *q; q++)
		if (*q < '0' || *q > '9')
			return -EINVAL;
	errno = 0;
	long long v = strtoll(s, NULL, 10);
	if (errno == ERANGE)
		return -ERANGE;
	*out = v;
	return 0;
}

/* "250" (milliseconds), "250ms", "5s", "2m", "1h". */
int config_parse_duration(const char *s, int64_t *out)
{
	static const struct {
		const char *unit;
		int64_t ms;
	} units[] = {{"", 1},
		     {"ms", 1},
		     {"s", MS_PER_S},
		     {"m", MS_PER_MIN},
		     {"h", 60 * MS_PER_MIN},
		     {"d", 24 * 60 * MS_PER_MIN}};
	const char *p = s;
	while (*p >= '0' && *p <= '9')
		p++;
	if (p == s)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(p, units[i].unit))
			continue;
		errno = 0;
		unsigned long long v = strtoull(s, NULL, 10);
		if (errno == ERANGE ||
		    v > (unsigned long long)INT64_MAX / (unsigned long long)units[i].ms)
			return -ERANGE;
		*out = (int64_t)v * units[i].ms;
		return 0;
	}
	return -EINVAL;
}

static const char *fmt_duration(int64_t ms, char *buf, size_t len)
{
	if (ms != 0 && ms % MS_PER_D == 0)
		snprintf(buf, len, "%lldd", (long long)(ms / MS_PER_D));
	else if (ms != 0 && ms % (60 * MS_PER_MIN) == 0)
		snprintf(buf, len, "%lldh", (long long)(ms / (60 * MS_PER_MIN)));
	else if (ms != 0 && ms % MS_PER_MIN == 0)
		snprintf(buf, len, "%lldm", (long long)(ms / MS_PER_MIN));
	else if (ms != 0 && ms % MS_PER_S == 0)
		snprintf(buf, len, "%llds", (long long)(ms / MS_PER_S));
	else
		snprintf(buf, len, "%lldms", (long long)ms);
	return buf;
}

static void names_join(const char *const *names, char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = '\0';
	for (size_t i = 0; names[i] && off < len; i++) {
		int n = snprintf(buf + off, len - off, "%s%s", i ? ", " : "", names[i]);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

static int match_name(const char *const *names, const char *s)
{
	for (int i = 0; names[i]; i++)
		if (!strcmp(names[i], s))
			return i;
	return -1;
}

static bool is_topic_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 249 || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
			return false;
	return true;
}

/* "host:port", "[v6]:port"; port in [1, 65535]. */
static bool is_host_port(const char *s)
{
	const char *colon = strrchr(s, ':');
	if (!colon || colon == s)
		return false;
	if (s[0] == '[') {
		if (colon[-1] != ']' || colon - s < 3)
			return false;
	} else if (memchr(s, ':', (size_t)(colon - s))) {
		return false; /* a bare IPv6 address needs brackets */
	}
	for (const char *p = s; p < colon; p++)
		if (*p == ' ' || *p == '\t' || *p == '/')
			return false;
	int64_t port;
	return parse_int(colon + 1, &port) == 0 && colon[1] != '+' && colon[1] != '-' &&
	       port >= 1 && port <= 65535;
}

static int validate_brokers(struct config *cfg, char *msg, size_t len)
{
	const char *b = cfg->kafka.brokers;
	if (!strcmp(b, "mock")) {
		cfg->kafka.mock_brokers = 1;
		return 0;
	}
	if (!strncmp(b, "mock:", 5)) {
		if (b[5] >= '1' && b[5] <= '9' && b[6] == '\0') {
			cfg->kafka.mock_brokers = b[5] - '0';
			return 0;
		}
		snprintf(msg, len, "expected \"mock\" or \"mock:N\" with N in [1, 9], got \"%s\"",
			 b);
		return -EINVAL;
	}
	cfg->kafka.mock_brokers = 0;
	return 0;
}

static int validate_redis_address(struct config *cfg, char *msg, size_t len)
{
	const char *a = cfg->redis.address;
	if (a[0] == '/' || is_host_port(a))
		return 0;
	snprintf(msg, len,
		 "expected \"host:port\" with port in [1, 65535] or a unix socket path starting "
		 "with \"/\", got \"%s\"",
		 a);
	return -EINVAL;
}

void config_redis_host_port(const char *address, char host[CONFIG_HOST_MAX], int *port)
{
	const char *colon = strrchr(address, ':');
	size_t hl = colon ? (size_t)(colon - address) : strlen(address);
	if (hl >= 2 && address[0] == '[' && address[hl - 1] == ']')
		snprintf(host, CONFIG_HOST_MAX, "%.*s", (int)(hl - 2), address + 1);
	else
		snprintf(host, CONFIG_HOST_MAX, "%.*s", (int)hl, address);
	*port = colon ? atoi(colon + 1) : 6379;
}

/* The name goes into SENTINEL commands and comes back in +switch-master messages, which
 * separate their words with spaces. */
static int validate_redis_master_name(struct config *cfg, char *msg, size_t len)
{
	const char *s = cfg->redis.master_name;
	size_t n = s ? strlen(s) : 0;
	bool ok = !s || n <= 128;
	for (size_t i = 0; ok && i < n; i++)
		ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		     (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-';
	if (ok)
		return 0;
	snprintf(msg, len,
		 "expected a name of 1 to 128 characters from a-z A-Z 0-9 . _ -, got \"%.80s\"", s);
	return -EINVAL;
}

/* metrics_server_start() binds "*" or an IPv4 address only. */
/* The prefix is part of every key, and of values the Lua scripts split on spaces. */
static int validate_redis_prefix(struct config *cfg, char *msg, size_t len)
{
	const char *s = cfg->redis.prefix;
	if (strlen(s) <= 64 && !strpbrk(s, " \t\r\n"))
		return 0;
	snprintf(msg, len, "expected at most 64 characters without spaces, got \"%.80s\"", s);
	return -EINVAL;
}

static int validate_metrics_listen(struct config *cfg, char *msg, size_t len)
{
	const char *l = cfg->metrics.listen;
	if (!l)
		return 0;
	const char *colon = strrchr(l, ':');
	if (colon && is_host_port(l)) {
		char host[INET_ADDRSTRLEN];
		struct in_addr a;
		size_t n = (size_t)(colon - l);
		if (n < sizeof(host)) {
			memcpy(host, l, n);
			host[n] = '\0';
			if (!strcmp(host, "*") || inet_pton(AF_INET, host, &a) == 1)
				return 0;
		}
	}
	snprintf(msg, len,
		 "expected \"host:port\" with host \"*\" or an IPv4 address and port in [1, 65535] "
		 "(or \"\" to disable), got \"%s\"",
		 l);
	return -EINVAL;
}

/* A non-null scalar, else an error "expected <what>, got ...". */
static const char *want_scalar(struct loader *ld, const char *key, const struct ydoc_node *v,
			       struct ydoc_pos p, const char *what)
{
	char buf[96];
	const char *s = ydoc_scalar(v);
	if (!s)
		ld_error(ld, p, key, "expected %s, got %s", what,
			 ydoc_describe(v, buf, sizeof(buf)));
	return s;
}

static int set_string(struct loader *ld, const struct config_entry *e, const struct ydoc_node *v,
		      struct ydoc_pos p)
{
	char **slot = field_ptr(ld->cfg, e->off);
	if ((e->flags & CF_NULLABLE) && ydoc_is_null(v)) {
		replace_str(slot, NULL);
		return 0;
	}
	const char *s = want_scalar(ld, e->key, v, p, "a string");
	if (!s)
		return -EINVAL;
	if (!*s && (e->flags & CF_NULLABLE)) {
		replace_str(slot, NULL);
		return 0;
	}
	if (!*s && (e->flags & CF_NONEMPTY)) {
		ld_error(ld, p, e->key, "expected a non-empty string, got \"\"");
		return -EINVAL;
	}
	replace_str(slot, ld_strdup(ld, s));
	return 0;
}

static int set_number(struct loader *ld, const struct config_entry *e, const struct ydoc_node *v,
		      struct ydoc_pos p)
{
	char buf[96], lo[32], hi[32];
	bool dur = e->type == CT_DURATION;
	const char *what = dur ? "a duration such as 500ms, 5s, 2m or 1h (a bare number is "
				 "milliseconds)" :
				 "an integer";
	const char *s = want_scalar(ld, e->key, v, p, what);
	if (!s)
		return -EINVAL;
	int64_t n = 0;
	int rc = dur ? config_parse_duration(s, &n) : parse_int(s, &n);
	if (rc == -EINVAL) {
		ld_error(ld, p, e->key, "expected %s, got %s", what,
			 ydoc_describe(v, buf, sizeof(buf)));
		return rc;
	}
	if (rc == -ERANGE || n < e->min || n > e->max) {
		if (dur) /* a well-formed duration reads best as written: 20m, not "20m" */
			ld_error(ld, p, e->key, "expected a duration in [%s, %s], got %s",
				 fmt_duration(e->min, lo, sizeof(lo)),
				 fmt_duration(e->max, hi, sizeof(hi)), s);
		else
			ld_error(ld, p, e->key, "expected an integer in [%lld, %lld], got %s",
				 (long long)e->min, (long long)e->max,
				 ydoc_describe(v, buf, sizeof(buf)));
		return -ERANGE;
	}
	if (e->type == CT_INT)
		*(int *)field_ptr(ld->cfg, e->off) = (int)n;
	else if (e->flags & CF_SECONDS)
		*(uint32_t *)field_ptr(ld->cfg, e->off) = (uint32_t)(n / MS_PER_S);
	else
		*(uint32_t *)field_ptr(ld->cfg, e->off) = (uint32_t)n;
	return 0;
}

static int get_enum(struct loader *ld, const char *key, const char *const *names,
		    const struct ydoc_node *v, struct ydoc_pos p, int *out)
{
	char buf[96], list[128];
	names_join(names, list, sizeof(list));
	int i = -1;
	if (ydoc_scalar(v))
		i = match_name(names, ydoc_scalar(v));
	if (i < 0) {
		ld_error(ld, p, key, "expected one of %s, got %s", list,
			 ydoc_describe(v, buf, sizeof(buf)));
		return -EINVAL;
	}
	*out = i;
	return 0;
}

static int set_enum(struct loader *ld, const struct config_entry *e, const struct ydoc_node *v,
		    struct ydoc_pos p)
{
	return get_enum(ld, e->key, e->names, v, p, (int *)field_ptr(ld->cfg, e->off));
}

static int get_topic_name(struct loader *ld, const char *key, const struct ydoc_node *v,
			  struct ydoc_pos p, char **out)
{
	char buf[96];
	const char *s = want_scalar(ld, key, v, p, "a topic name");
	if (!s)
		return -EINVAL;
	if (!is_topic_name(s)) {
		ld_error(ld, p, key,
			 "expected a topic name of 1 to 249 characters from a-z A-Z 0-9 . _ -, "
			 "got %s",
			 ydoc_describe(v, buf, sizeof(buf)));
		return -EINVAL;
	}
	*out = ld_strdup(ld, s);
	return 0;
}

/* One key of {name: ..., format: ...}. */
struct topic_walk {
	struct loader *ld;
	const struct config_entry *e;
	char *name;
	int format;
	int rc;
};

static int topic_key(void *arg, const struct ydoc_node *k, struct ydoc_pos kp,
		     const struct ydoc_node *val, struct ydoc_pos vp)
{
	const char *ks = k->text;
	static const char *const input_keys[] = {"name", "format", NULL};
	static const char *const output_keys[] = {"name", NULL};
	struct topic_walk *w = arg;
	struct loader *ld = w->ld;
	const struct config_entry *e = w->e;
	char sub[160];
	snprintf(sub, sizeof(sub), "%s.%s", e->key, ks);
	if (!strcmp(ks, "name")) {
		char *n = NULL;
		if (get_topic_name(ld, sub, val, vp, &n))
			w->rc = -EINVAL;
		else
			replace_str(&w->name, n);
	} else if (!strcmp(ks, "format") && (e->flags & CF_FORMAT)) {
		if (get_enum(ld, sub, format_names, val, vp, &w->format))
			w->rc = -EINVAL;
	} else if (!strcmp(ks, "format")) {
		ld_error(ld, kp, sub,
			 "format is allowed only for the input topics (kafka.topics.content, "
			 "kafka.topics.decisions)");
		w->rc = -EINVAL;
	} else {
		unknown_sub_key(ld, kp, e->key, ks,
				(e->flags & CF_FORMAT) ? input_keys : output_keys);
		w->rc = -EINVAL;
	}
	return 0;
}

static int set_topic(struct loader *ld, const struct config_entry *e, const struct ydoc_node *v,
		     struct ydoc_pos p)
{
	struct config_topic *t = field_ptr(ld->cfg, e->off);
	char buf[96];
	if (!ydoc_is_map(v)) {
		char *name = NULL;
		if (!ydoc_scalar(v)) {
			ld_error(ld, p, e->key, "expected a topic name or {name: ...%s}, got %s",
				 (e->flags & CF_FORMAT) ? ", format: ..." : "",
				 ydoc_describe(v, buf, sizeof(buf)));
			return -EINVAL;
		}
		if (get_topic_name(ld, e->key, v, p, &name))
			return -EINVAL;
		replace_str(&t->name, name);
		return 0;
	}
	/* {name: ..., format: ...}: either may be left out and keeps its default. */
	struct topic_walk w = {.ld = ld, .e = e, .format = (int)t->format};
	ydoc_map_each(v, p, topic_key, &w);
	if (w.rc) {
		free(w.name);
		return w.rc;
	}
	if (w.name)
		replace_str(&t->name, w.name);
	t->format = (enum config_format)w.format;
	return 0;
}

/* Reads the secret file PATH (relative to the config's directory) into *out. */
static int read_secret(struct loader *ld, const char *key, const char *path, struct ydoc_pos p,
		       char **out)
{
	char *full = resolve_path(ld->cfg->dir, path);
	if (!full) {
		ld->oom = true;
		return -ENOMEM;
	}
	char *data = NULL;
	size_t len = 0;
	int rc = ydoc_read_file(full, SECRET_FILE_MAX, &data, &len);
	if (rc == -ENOMEM) {
		ld->oom = true;
	} else if (rc) {
		ld_error(ld, p, key, "cannot read secret file \"%s\": %s", full, strerror(-rc));
	} else {
		while (len && (data[len - 1] == '\n' || data[len - 1] == '\r'))
			data[--len] = '\0';
		if (len == 0 || memchr(data, '\0', len)) {
			ld_error(ld, p, key, "secret file \"%s\" is %s", full,
				 len ? "binary (it holds a NUL byte)" : "empty");
			rc = -EINVAL;
		}
	}
	free(full);
	if (rc) {
		free(data);
		return rc;
	}
	*out = data;
	return 0;
}

/* A scalar, or {file: PATH} whose contents (less trailing newlines) are the
 * value. "what" names the accepted forms for "expected ...". */
static int get_secret(struct loader *ld, const char *key, const struct ydoc_node *v,
		      struct ydoc_pos p, const char *what, char **out)
{
	static const char *const secret_keys[] = {"file", NULL};
	char buf[96];
	*out = NULL;
	if (ydoc_scalar(v)) {
		*out = ld_strdup(ld, ydoc_scalar(v));
		return 0;
	}
	if (!ydoc_is_map(v)) {
		ld_error(ld, p, key, "expected %s, got %s", what,
			 ydoc_describe(v, buf, sizeof(buf)));
		return -EINVAL;
	}
	const struct ydoc_node *file = NULL;
	struct ydoc_pos fp = p;
	int rc = 0;
	for (size_t i = 0; i < v->n; i++) {
		const struct ydoc_node *k = v->pairs[i].key;
		struct ydoc_pos kp = ydoc_pos_of(k, p);
		if (!strcmp(k->text, "file")) {
			file = v->pairs[i].value;
			fp = ydoc_pos_of(file, kp);
		} else {
			unknown_sub_key(ld, kp, key, k->text, secret_keys);
			rc = -EINVAL;
		}
	}
	if (rc)
		return rc;
	char sub[160];
	snprintf(sub, sizeof(sub), "%s.file", key);
	if (!file) { /* every other key was reported: the mapping is empty */
		ld_error(ld, p, key, "expected %s, got an empty mapping", what);
		return -EINVAL;
	}
	const char *path = want_scalar(ld, sub, file, fp, "a file path");
	if (!path)
		return -EINVAL;
	if (!*path) {
		ld_error(ld, fp, sub, "expected a file path, got \"\"");
		return -EINVAL;
	}
	return read_secret(ld, sub, path, fp, out);
}

static int set_secret(struct loader *ld, const struct config_entry *e, const struct ydoc_node *v,
		      struct ydoc_pos p)
{
	char **slot = field_ptr(ld->cfg, e->off);
	char *s;
	if (ydoc_is_null(v)) {
		replace_str(slot, NULL);
		return 0;
	}
	if (get_secret(ld, e->key, v, p, "a string or {file: PATH}", &s))
		return -EINVAL;
	if (s && !*s) {
		free(s);
		s = NULL;
	}
	replace_str(slot, s);
	return 0;
}

static int set_strlist(struct loader *ld, const struct config_entry *e, const struct ydoc_node *v,
		       struct ydoc_pos p)
{
	char ***slot = field_ptr(ld->cfg, e->off);
	size_t *n_slot = field_ptr(ld->cfg, e->off_n);
	char buf[96];
	if (ydoc_is_null(v))
		return 0;
	if (!ydoc_is_seq(v)) {
		ld_error(ld, p, e->key, "expected a sequence of strings, got %s",
			 ydoc_describe(v, buf, sizeof(buf)));
		return -EINVAL;
	}
	size_t n = v->n, i = 0;
	char **list = calloc(n + 1, sizeof(*list));
	int rc = 0;
	if (!list) {
		ld->oom = true;
		return -ENOMEM;
	}
	for (; i < n; i++) {
		const struct ydoc_node *item = v->items[i];
		char key[160];
		struct ydoc_pos ip = ydoc_pos_of(item, p);
		snprintf(key, sizeof(key), "%s[%zu]", e->key, i);
		const char *s = want_scalar(ld, key, item, ip, "a string");
		if (!s) {
			rc = -EINVAL;
			continue;
		}
		if (!*s) {
			ld_error(ld, ip, key, "expected a non-empty string, got \"\"");
			rc = -EINVAL;
			continue;
		}
		if ((e->flags & CF_HOSTPORT) && !is_host_port(s)) {
			ld_error(
				ld, ip, key,
				"expected \"host:port\" (\"[v6]:port\") with port in [1, 65535], got %s",
				ydoc_describe(item, buf, sizeof(buf)));
			rc = -EINVAL;
			continue;
		}
		list[i] = (e->flags & CF_PATH) ? resolve_path(ld->cfg->dir, s) : strdup(s);
		if (!list[i])
			ld->oom = true;
	}
	if (rc || ld->oom) {
		for (size_t j = 0; j < n; j++)
			free(list[j]);
		free(list);
		return rc ? rc : -ENOMEM;
	}
	for (size_t j = 0; j < *n_slot; j++)
		free((*slot)[j]);
	free(*slot);
	*slot = list;
	*n_slot = n;
	return 0;
}

static void free_properties(struct config_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

/* Properties arbiterd owns: the reliability contract or another key sets them. */
static const struct {
	const char *name;
	const char *why;
} config_owned_properties[] = {
	{"bootstrap.servers", "set kafka.brokers instead"},
	{"group.id", "set kafka.group_id instead"},
	{"client.id", "set kafka.client_id instead"},
	{"transactional.id", "set kafka.transactional_id instead (with kafka.exactly_once)"},
	{"isolation.level", "arbiterd reads committed records only"},
	{"enable.auto.commit", "arbiterd commits offsets only once a message's side effects are "
			       "acknowledged"},
	{"enable.auto.offset.store", "arbiterd commits offsets only once a message's side effects "
				     "are acknowledged"},
	{"enable.idempotence", "the producer must be idempotent so that retries never duplicate"},
	{"message.timeout.ms", "records are retried until acknowledged, never dropped"},
	{"partition.assignment.strategy",
	 "librdkafka 2.0 can skip messages under cooperative rebalancing; arbiterd uses the "
	 "eager range,roundrobin assignors"},
};

/* Asks librdkafka itself whether it takes NAME=VALUE, so that a typo in a
 * property is caught by --check-config, not at connect time. Values read from
 * a file are secrets: librdkafka's message (which may quote them) is not shown. */
static int check_property(struct loader *ld, struct ydoc_pos p, const char *key, const char *name,
			  const char *value, bool from_file)
{
	for (size_t i = 0; i < sizeof(config_owned_properties) / sizeof(config_owned_properties[0]);
	     i++) {
		if (!strcmp(name, config_owned_properties[i].name)) {
			ld_error(ld, p, key, "cannot be set: %s", config_owned_properties[i].why);
			return -EINVAL;
		}
	}
	char err[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_conf_res_t res = rd_kafka_conf_set(conf, name, value, err, sizeof(err));
	rd_kafka_conf_destroy(conf);
	if (res == RD_KAFKA_CONF_OK)
		return 0;
	if (res == RD_KAFKA_CONF_UNKNOWN)
		ld_error(ld, p, key,
			 "not a librdkafka property (see librdkafka's CONFIGURATION.md)");
	else if (from_file)
		ld_error(ld, p, key, "librdkafka rejects the value read from the file");
	else
		ld_error(ld, p, key, "%s", err);
	return -EINVAL;
}

/* A mode switch: true/false/on/off, stored as "on" or "off". */
static int check_switch(struct loader *ld, struct ydoc_pos p, const char *key, char **value)
{
	static const char *const on[] = {"true", "on", "yes", "True", "On", "Yes", "TRUE", "ON"};
	static const char *const off[] = {"false", "off", "no",    "False",
					  "Off",   "No",  "FALSE", "OFF"};
	for (size_t i = 0; i < sizeof(on) / sizeof(on[0]); i++) {
		const char *to = !strcmp(*value, on[i])  ? "on" :
				 !strcmp(*value, off[i]) ? "off" :
							   NULL;
		if (to) {
			char *d = ld_strdup(ld, to);
			free(*value);
			*value = d;
			return d ? 0 : -ENOMEM;
		}
	}
	ld_error(ld, p, key, "expected on or off, got \"%s\"", *value);
	return -EINVAL;
}

/* For a collection entry: 1 when V is a mapping to walk, 0 when it is null (nothing to
 * set), or -EINVAL with an error "expected WHAT". */
static int want_mapping(struct loader *ld, const struct config_entry *e, const struct ydoc_node *v,
			struct ydoc_pos p, const char *what)
{
	char buf[96];
	if (ydoc_is_null(v))
		return 0;
	if (ydoc_is_map(v))
		return 1;
	ld_error(ld, p, e->key, "expected %s, got %s", what, ydoc_describe(v, buf, sizeof(buf)));
	return -EINVAL;
}

/* The properties read so far, for set_properties' walk. */
struct properties_walk {
	struct loader *ld;
	const struct config_entry *e;
	struct config_kv *kv;
	size_t n;
	int rc;
};

static int property_key(void *arg, const struct ydoc_node *k, struct ydoc_pos kp,
			const struct ydoc_node *val, struct ydoc_pos vp)
{
	const char *ks = k->text;
	struct properties_walk *w = arg;
	struct loader *ld = w->ld;
	const struct config_entry *e = w->e;
	char key[256];
	snprintf(key, sizeof(key), "%s.%s", e->key, ks);
	if (!*ks) {
		ld_error(ld, kp, e->key, "expected a property name, got \"\"");
		w->rc = -EINVAL;
		return 0;
	}
	char *value;
	if (get_secret(ld, key, val, vp, "a string, number, boolean or {file: PATH}", &value)) {
		w->rc = -EINVAL;
		return 0;
	}
	if (e->flags & CF_SWITCHES ? check_switch(ld, kp, key, &value) < 0 :
				     check_property(ld, kp, key, ks, value, ydoc_is_map(val)) < 0) {
		free(value);
		w->rc = -EINVAL;
		return 0;
	}
	w->kv[w->n].key = ld_strdup(ld, ks);
	w->kv[w->n].value = value;
	w->n++;
	return 0;
}

static int set_properties(struct loader *ld, const struct config_entry *e,
			  const struct ydoc_node *v, struct ydoc_pos p)
{
	struct config_kv **slot = field_ptr(ld->cfg, e->off);
	size_t *n_slot = field_ptr(ld->cfg, e->off_n);
	int rc = want_mapping(ld, e, v, p, "a mapping of librdkafka properties");
	if (rc <= 0)
		return rc;
	struct properties_walk w = {.ld = ld, .e = e, .kv = calloc(v->n + 1, sizeof(*w.kv))};
	if (w.kv)
		ydoc_map_each(v, p, property_key, &w);
	if (!w.kv || w.rc || ld->oom) {
		ld->oom |= !w.kv;
		free_properties(w.kv, w.n);
		return w.rc ? w.rc : -ENOMEM;
	}
	free_properties(*slot, *n_slot);
	*slot = w.kv;
	*n_slot = w.n;
	return 0;
}

static int set_bool(struct loader *ld, const struct config_entry *e, const struct ydoc_node *v,
		    struct ydoc_pos p)
{
	char buf[96];
	const char *s = want_scalar(ld, e->key, v, p, "true or false");
	if (!s)
		return -EINVAL;
	static const char *const yes[] = {"true", "on", "yes", "True", "On", "Yes", "TRUE", "ON"};
	static const char *const no[] = {"false", "off", "no",    "False",
					 "Off",   "No",  "FALSE", "OFF"};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcmp(s, yes[i]) || !strcmp(s, no[i])) {
			*(bool *)field_ptr(ld->cfg, e->off) = !strcmp(s, yes[i]);
			return 0;
		}
	}
	ld_error(ld, p, e->key, "expected true or false, got %s",
		 ydoc_describe(v, buf, sizeof(buf)));
	return -EINVAL;
}

/* ---- review.queues ---- */

static const char *const band_names[] = {"urgent", "high", "normal", "low", NULL};
static const uint32_t band_default_sla_s[CONFIG_BANDS] = {3600, 4 * 3600, 24 * 3600, 72 * 3600};
#define QUEUE_NAME_MAX 64
#define QUEUE_DEFAULT_MAX_LENGTH 100000

/* Queue names become Redis key parts and CLI arguments: keep them plain. */
static bool is_queue_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > QUEUE_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

static void free_queue(struct config_queue *q)
{
	free(q->name);
	free(q->serves);
	for (size_t i = 0; i < q->n_languages; i++)
		free(q->languages[i]);
	free(q->languages);
	for (size_t i = 0; i < q->n_countries; i++)
		free(q->countries[i]);
	free(q->countries);
}

static void free_queues(struct config_queue *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free_queue(&v[i]);
	free(v);
}

/* A list of language tags (lowercased) or country codes (two letters, uppercased). */
static int get_codes(struct loader *ld, const char *key, const struct ydoc_node *v,
		     struct ydoc_pos p, bool countries, char ***out, size_t *n_out)
{
	char buf[96];
	const char *what = countries ? "a sequence of two-letter country codes such as [KE, TZ]" :
				       "a sequence of language tags such as [sw, bs]";
	if (!ydoc_is_seq(v)) {
		ld_error(ld, p, key, "expected %s, got %s", what,
			 ydoc_describe(v, buf, sizeof(buf)));
		return -EINVAL;
	}
	size_t n = v->n, i = 0;
	char **list = calloc(n + 1, sizeof(*list));
	int rc = 0;
	if (!list) {
		ld->oom = true;
		return -ENOMEM;
	}
	for (; i < n; i++) {
		const struct ydoc_node *item = v->items[i];
		struct ydoc_pos ip = ydoc_pos_of(item, p);
		const char *s = want_scalar(ld, key, item, ip,
					    countries ? "a country code" : "a language tag");
		size_t len = s ? strlen(s) : 0;
		bool ok = s && len > 0 && len <= 16;
		const char *why = NULL;
		for (size_t j = 0; ok && countries && j < len; j++)
			ok = (s[j] | 0x20) >= 'a' && (s[j] | 0x20) <= 'z';
		if (ok && countries) {
			char up[3] = {(char)(s[0] & ~0x20), len == 2 ? (char)(s[1] & ~0x20) : 0, 0};
			ok = len == 2 && country_is_iso3166(up);
		}
		if (ok && !countries)
			ok = langtag_check_range(s, &why, NULL) == 0;
		if (!ok) {
			if (s)
				ld_error(ld, ip, key, "expected %s%s%s, got %s",
					 countries ?
						 "an ISO 3166-1 alpha-2 country code" :
						 "a BCP 47 language tag language[-script][-region] "
						 "such as sw, sw-KE or sr-Latn",
					 why ? ": " : "", why ? why : "",
					 ydoc_describe(item, buf, sizeof(buf)));
			rc = -EINVAL;
			continue;
		}
		list[i] = ld_strdup(ld, s);
		for (char *c = list[i]; c && *c; c++)
			*c = countries ? (char)((*c >= 'a' && *c <= 'z') ? *c - 32 : *c) :
					 (char)((*c >= 'A' && *c <= 'Z') ? *c + 32 : *c);
	}
	if (rc || ld->oom) {
		for (size_t j = 0; j < n; j++)
			free(list[j]);
		free(list);
		return rc ? rc : -ENOMEM;
	}
	*out = list;
	*n_out = n;
	return 0;
}

/* One band of an sla mapping. */
struct sla_walk {
	struct loader *ld;
	const char *key;
	uint32_t *sla_s;
	int rc;
};

static int sla_band(void *arg, const struct ydoc_node *k, struct ydoc_pos kp,
		    const struct ydoc_node *val, struct ydoc_pos vp)
{
	struct sla_walk *w = arg;
	char buf[96];
	int band = -1;
	if (get_enum(w->ld, w->key, band_names, k, kp, &band)) {
		w->rc = -EINVAL;
		return 0;
	}
	char sub[256];
	snprintf(sub, sizeof(sub), "%.200s.%s", w->key, band_names[band]);
	const char *s = want_scalar(w->ld, sub, val, vp, "a duration such as 30m, 4h or 1d");
	int64_t ms = 0;
	if (!s) {
		w->rc = -EINVAL;
	} else if (config_parse_duration(s, &ms) || ms < MS_PER_S || ms > 365LL * MS_PER_D) {
		ld_error(w->ld, vp, sub,
			 "expected a duration in [1s, 365d] such as 30m, 4h or 1d, got %s",
			 ydoc_describe(val, buf, sizeof(buf)));
		w->rc = -EINVAL;
	} else {
		w->sla_s[band] = (uint32_t)(ms / MS_PER_S);
	}
	return 0;
}

/* sla: {urgent: 1h, high: 4h, normal: 24h, low: 3d}; bands left out keep the default. */
static int get_sla(struct loader *ld, const char *key, const struct ydoc_node *v, struct ydoc_pos p,
		   uint32_t sla_s[CONFIG_BANDS])
{
	char buf[96];
	if (!ydoc_is_map(v)) {
		ld_error(ld, p, key,
			 "expected {urgent: DURATION, high: ..., normal: ..., low: ...}, "
			 "got %s",
			 ydoc_describe(v, buf, sizeof(buf)));
		return -EINVAL;
	}
	struct sla_walk w = {.ld = ld, .key = key, .sla_s = sla_s};
	ydoc_map_each(v, p, sla_band, &w);
	return w.rc;
}

/* One key of a queue's mapping. */
struct queue_walk {
	struct loader *ld;
	const char *key;
	struct config_queue *q;
	int rc;
};

static int queue_key(void *arg, const struct ydoc_node *k, struct ydoc_pos kp,
		     const struct ydoc_node *val, struct ydoc_pos vp)
{
	static const char *const keys[] = {"serves", "languages",  "countries",
					   "sla",    "max_length", NULL};
	struct queue_walk *w = arg;
	struct loader *ld = w->ld;
	struct config_queue *q = w->q;
	const char *ks = k->text;
	char buf[96], sub[256];
	int rc = 0;
	snprintf(sub, sizeof(sub), "%.160s.%.64s", w->key, ks);
	if (!strcmp(ks, "serves")) {
		const char *s = want_scalar(ld, sub, val, vp, "a queue name");
		if (s && !is_queue_name(s)) {
			ld_error(ld, vp, sub, "expected a queue name, got %s",
				 ydoc_describe(val, buf, sizeof(buf)));
			s = NULL;
		}
		if (s)
			replace_str(&q->serves, ld_strdup(ld, s));
		else
			rc = -EINVAL;
	} else if (!strcmp(ks, "languages")) {
		rc = get_codes(ld, sub, val, vp, false, &q->languages, &q->n_languages);
	} else if (!strcmp(ks, "countries")) {
		rc = get_codes(ld, sub, val, vp, true, &q->countries, &q->n_countries);
	} else if (!strcmp(ks, "sla")) {
		rc = get_sla(ld, sub, val, vp, q->sla_s);
	} else if (!strcmp(ks, "max_length")) {
		const char *s = want_scalar(ld, sub, val, vp, "an integer");
		int64_t n = -1;
		if (s && (parse_int(s, &n) || n < 0 || n > 100000000)) {
			ld_error(ld, vp, sub,
				 "expected an integer in [0, 100000000] (0: unbounded), got %s",
				 ydoc_describe(val, buf, sizeof(buf)));
			s = NULL;
		}
		if (s)
			q->max_length = (uint32_t)n;
		else
			rc = -EINVAL;
	} else {
		unknown_sub_key(ld, kp, w->key, ks, keys);
		rc = -EINVAL;
	}
	if (rc)
		w->rc = -EINVAL;
	return 0;
}

static int get_queue(struct loader *ld, const char *key, const struct ydoc_node *v,
		     struct ydoc_pos p, struct config_queue *q)
{
	char buf[96];
	memcpy(q->sla_s, band_default_sla_s, sizeof(q->sla_s));
	q->max_length = QUEUE_DEFAULT_MAX_LENGTH;
	if (ydoc_is_null(v))
		return 0;
	if (!ydoc_is_map(v)) {
		ld_error(ld, p, key,
			 "expected a mapping {serves, languages, countries, sla, max_length} or "
			 "{}, got %s",
			 ydoc_describe(v, buf, sizeof(buf)));
		return -EINVAL;
	}
	struct queue_walk w = {.ld = ld, .key = key, .q = q};
	ydoc_map_each(v, p, queue_key, &w);
	return w.rc;
}

/* The queues read so far, for set_queues' walk. */
struct queues_walk {
	struct loader *ld;
	const struct config_entry *e;
	struct config_queue *qs;
	size_t n;
	int rc;
};

static int queues_entry(void *arg, const struct ydoc_node *k, struct ydoc_pos kp,
			const struct ydoc_node *val, struct ydoc_pos vp)
{
	struct queues_walk *w = arg;
	struct loader *ld = w->ld;
	const char *ks = k->text;
	char buf[96], key[160];
	snprintf(key, sizeof(key), "%s.%s", w->e->key, ks);
	if (!is_queue_name(ks)) {
		ld_error(ld, kp, w->e->key,
			 "expected a queue name of 1 to %d characters from a-z A-Z 0-9 . _ -, "
			 "got %s",
			 QUEUE_NAME_MAX, ydoc_describe(k, buf, sizeof(buf)));
		w->rc = -EINVAL;
		return 0;
	}
	struct config_queue *q = &w->qs[w->n++];
	q->name = ld_strdup(ld, ks);
	q->line = kp.line;
	q->col = kp.col;
	if (get_queue(ld, key, val, vp, q))
		w->rc = -EINVAL;
	return 0;
}

static int set_queues(struct loader *ld, const struct config_entry *e, const struct ydoc_node *v,
		      struct ydoc_pos p)
{
	struct config_queue **slot = field_ptr(ld->cfg, e->off);
	size_t *n_slot = field_ptr(ld->cfg, e->off_n);
	int rc = want_mapping(ld, e, v, p,
			      "a mapping of queue names to {serves, languages, countries, sla, "
			      "max_length}");
	if (rc <= 0)
		return rc;
	struct queues_walk w = {.ld = ld, .e = e, .qs = calloc(v->n + 1, sizeof(*w.qs))};
	if (w.qs)
		ydoc_map_each(v, p, queues_entry, &w);
	if (!w.qs || w.rc || ld->oom) {
		ld->oom |= !w.qs;
		free_queues(w.qs, w.n);
		return w.rc ? w.rc : -ENOMEM;
	}
	free_queues(*slot, *n_slot);
	*slot = w.qs;
	*n_slot = w.n;
	return 0;
}

/* With Sentinel the sentinels name the master: redis.address is then nobody's, and the
 * sentinels and the master's name go together. */
static void check_redis(struct loader *ld)
{
	struct config *cfg = ld->cfg;
	size_t addr = 0, sent = 0, name = 0, pw = 0, wait = 0;
	entry_find("redis.address", &addr);
	entry_find("redis.sentinels", &sent);
	entry_find("redis.master_name", &name);
	entry_find("redis.sentinel_password", &pw);
	entry_find("redis.wait_replicas", &wait);
	/* A list refused entry by entry counts as given: its mistakes are reported already. */
	bool refused = false;
	for (size_t i = 0; i < ld->errs->n && !refused; i++)
		refused = ld->errs->v[i].key && !strncmp(ld->errs->v[i].key, "redis.sentinels", 15);
	bool sentinels = cfg->redis.n_sentinels > 0;
	if (refused)
		return;
	if (sentinels && ld->at[addr].line)
		ld_error(ld, ld->at[addr], "redis.address",
			 "redis.address and redis.sentinels (line %d) exclude each other: with "
			 "Sentinel the master's address comes from the sentinels; remove one",
			 ld->at[sent].line);
	if (sentinels && !cfg->redis.master_name)
		ld_error(ld, ld->at[sent], "redis.sentinels",
			 "redis.sentinels needs redis.master_name, the name the sentinels monitor "
			 "the master by");
	if (!sentinels && cfg->redis.master_name)
		ld_error(ld, ld->at[name], "redis.master_name",
			 "redis.master_name is for Sentinel: redis.sentinels names no sentinel");
	if (!sentinels && cfg->redis.sentinel_password)
		ld_error(ld, ld->at[pw], "redis.sentinel_password",
			 "redis.sentinel_password is for Sentinel: redis.sentinels names no "
			 "sentinel");
	/* A failover promotes a replica that may lack the last writes: with Sentinel a
	 * write counts only once a replica has it, unless the file says otherwise. */
	if (!ld->at[wait].line)
		cfg->redis.wait_replicas = sentinels ? 1 : 0;
}

/* Routing must end in a queue that exists: a served queue is declared and
 * serves no other one, and a queue that serves another says whom it is for. */
static void check_queues(struct loader *ld)
{
	const struct config *cfg = ld->cfg;
	if (cfg->review.appeals_queue && !config_queue_find(cfg, cfg->review.appeals_queue)) {
		size_t idx = 0;
		entry_find("review.appeals_queue", &idx);
		ld_error(ld, ld->at[idx], "review.appeals_queue",
			 "queue \"%s\" is not declared under review.queues",
			 cfg->review.appeals_queue);
	}
	for (size_t i = 0; i < cfg->review.n_queues; i++) {
		const struct config_queue *q = &cfg->review.queues[i];
		struct ydoc_pos at = {q->line, q->col};
		char key[160];
		snprintf(key, sizeof(key), "review.queues.%s", q->name);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(cfg->review.queues[j].name, q->name))
				ld_error(ld, at, key, "queue declared twice (first at line %d)",
					 cfg->review.queues[j].line);
		if (!q->serves)
			continue;
		const struct config_queue *s = config_queue_find(cfg, q->serves);
		if (!s)
			ld_error(ld, at, key, "serves \"%s\", which is not a declared queue",
				 q->serves);
		else if (s == q)
			ld_error(ld, at, key, "a queue cannot serve itself");
		else if (s->serves)
			ld_error(ld, at, key,
				 "serves \"%s\", which itself serves \"%s\"; name the queue rules "
				 "escalate to",
				 q->serves, s->serves);
		if (!q->n_languages && !q->n_countries)
			ld_error(
				ld, at, key,
				"a queue that serves another needs languages or countries to route "
				"by");
	}
}

static int set_entry(struct loader *ld, const struct config_entry *e, const struct ydoc_node *v,
		     struct ydoc_pos p)
{
	switch (e->type) {
	case CT_STRING:
		return set_string(ld, e, v, p);
	case CT_INT:
	case CT_UINT32:
	case CT_DURATION:
		return set_number(ld, e, v, p);
	case CT_ENUM:
		return set_enum(ld, e, v, p);
	case CT_STRLIST:
		return set_strlist(ld, e, v, p);
	case CT_PROPERTIES:
		return set_properties(ld, e, v, p);
	case CT_TOPIC:
		return set_topic(ld, e, v, p);
	case CT_SECRET:
		return set_secret(ld, e, v, p);
	case CT_BOOL:
		return set_bool(ld, e, v, p);
	case CT_QUEUES:
		return set_queues(ld, e, v, p);
	}
	return -EINVAL;
}

/* ---- the walk ---- */

static const struct config_entry *entry_find(const char *path, size_t *idx)
{
	for (size_t i = 0; i < N_ENTRIES; i++) {
		if (!strcmp(config_table[i].key, path)) {
			*idx = i;
			return &config_table[i];
		}
	}
	return NULL;
}

static bool is_section(const char *path)
{
	size_t n = strlen(path);
	for (size_t i = 0; i < N_ENTRIES; i++)
		if (!strncmp(config_table[i].key, path, n) && config_table[i].key[n] == '.')
			return true;
	return false;
}

/* The table's keys under PREFIX (NULL at the top level), for walk_mapping. */
struct table_walk {
	struct loader *ld;
	const char *prefix;
};

static void walk_mapping(struct loader *ld, const struct ydoc_node *map, const char *prefix,
			 struct ydoc_pos at);

static int table_key(void *arg, const struct ydoc_node *k, struct ydoc_pos kp,
		     const struct ydoc_node *v, struct ydoc_pos vp)
{
	struct table_walk *w = arg;
	struct loader *ld = w->ld;
	char buf[96], *path;
	if ((w->prefix ? asprintf(&path, "%s.%s", w->prefix, k->text) :
			 asprintf(&path, "%s", k->text)) < 0) {
		ld->oom = true;
		return -ENOMEM;
	}
	size_t idx;
	const struct config_entry *e = entry_find(path, &idx);
	if (!strcmp(path, "redis"))
		ld->cfg->redis.configured = true;
	if (e) {
		char msg[512];
		if (set_entry(ld, e, v, vp) == 0) {
			ld->at[idx] = vp;
			if (e->validate && e->validate(ld->cfg, msg, sizeof(msg)))
				ld_error(ld, vp, e->key, "%s", msg);
		}
	} else if (is_section(path)) {
		if (ydoc_is_map(v))
			walk_mapping(ld, v, path, vp);
		else if (!ydoc_is_null(v)) /* "redis:" alone is an empty section */
			ld_error(ld, vp, path, "expected a mapping, got %s",
				 ydoc_describe(v, buf, sizeof(buf)));
	} else {
		unknown_table_key(ld, kp, path);
	}
	free(path);
	return 0;
}

/* Sections nest as deep as the table's dotted keys, a few levels: the recursion is bounded
 * by the table, whatever the file holds. */
static void walk_mapping(struct loader *ld, const struct ydoc_node *map, const char *prefix,
			 struct ydoc_pos at)
{
	struct table_walk w = {.ld = ld, .prefix = prefix};
	ydoc_map_each(map, at, table_key, &w);
}

/* Two roles sharing a topic would feed the daemon its own output, or mix
 * record types for subscribers. */
static void check_topics(struct loader *ld)
{
	for (size_t i = 0; i < N_ENTRIES; i++) {
		if (config_table[i].type != CT_TOPIC)
			continue;
		const struct config_topic *a = field_ptr(ld->cfg, config_table[i].off);
		for (size_t j = 0; j < i; j++) {
			if (config_table[j].type != CT_TOPIC)
				continue;
			const struct config_topic *b = field_ptr(ld->cfg, config_table[j].off);
			if (strcmp(a->name, b->name))
				continue;
			/* Blame whichever of the two comes later in the file. */
			struct ydoc_pos pi = ld->at[i], pj = ld->at[j];
			bool later_i =
				pi.line > pj.line || (pi.line == pj.line && pi.col >= pj.col);
			size_t x = later_i ? i : j, y = later_i ? j : i;
			ld_error(ld, ld->at[x], config_table[x].key,
				 "topic \"%s\" is already used by %s; every topic must be distinct",
				 a->name, config_table[y].key);
		}
	}
}

/* ---- the document ---- */

static void load_document(struct loader *ld, const char *text, size_t len)
{
	struct ydoc *doc = NULL;
	const struct ydoc_node *root = NULL;
	int rc = ydoc_load(ld->file, text, len, ld->errs, &doc, &root);
	if (rc == -ENOMEM)
		ld->oom = true;
	struct ydoc_pos start = {1, 1};
	char buf[96];
	if (root && ydoc_is_map(root))
		walk_mapping(ld, root, NULL, start);
	else if (root && !ydoc_is_null(root))
		ld_error(
			ld, ydoc_pos_of(root, start), NULL,
			"expected a mapping of sections (kafka, redis, ...) at the top level, got %s",
			ydoc_describe(root, buf, sizeof(buf)));
	ydoc_free(doc);
}

/* ---- public ---- */

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

static void apply_default(struct config *cfg, const struct config_entry *e, bool *oom)
{
	void *f = field_ptr(cfg, e->off);
	switch (e->type) {
	case CT_STRING:
	case CT_SECRET:
		*(char **)f = e->def_str ? strdup(e->def_str) : NULL;
		*oom |= e->def_str && !*(char **)f;
		break;
	case CT_INT:
	case CT_ENUM:
		*(int *)f = (int)e->def;
		break;
	case CT_UINT32:
	case CT_DURATION:
		*(uint32_t *)f = (uint32_t)((e->flags & CF_SECONDS) ? e->def / MS_PER_S : e->def);
		break;
	case CT_TOPIC:
		((struct config_topic *)f)->name = strdup(e->def_str);
		((struct config_topic *)f)->format = (enum config_format)e->def;
		*oom |= !((struct config_topic *)f)->name;
		break;
	case CT_BOOL:
		*(bool *)f = e->def != 0;
		break;
	case CT_STRLIST:
	case CT_PROPERTIES:
	case CT_QUEUES:
		*(void **)f = NULL;
		*(size_t *)field_ptr(cfg, e->off_n) = 0;
		break;
	}
}

struct config *config_default(const char *path)
{
	struct config *cfg = calloc(1, sizeof(*cfg));
	bool oom = false;
	char msg[512];
	if (!cfg)
		return NULL;
	cfg->path = path ? strdup(path) : NULL;
	cfg->dir = path ? dir_of(path) : strdup(".");
	oom = (path && !cfg->path) || !cfg->dir;
	for (size_t i = 0; i < N_ENTRIES; i++)
		apply_default(cfg, &config_table[i], &oom);
	for (size_t i = 0; i < N_ENTRIES && !oom; i++) {
		/* Validators derive fields too (kafka.mock_brokers). */
		int rc = config_table[i].validate ?
				 config_table[i].validate(cfg, msg, sizeof(msg)) :
				 0;
		assert(rc == 0 && "a default fails its own validator");
		(void)rc;
	}
	if (oom) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < N_ENTRIES; i++) {
		const struct config_entry *e = &config_table[i];
		void *f = field_ptr(cfg, e->off);
		switch (e->type) {
		case CT_STRING:
		case CT_SECRET:
			free(*(char **)f);
			break;
		case CT_TOPIC:
			free(((struct config_topic *)f)->name);
			break;
		case CT_STRLIST:
			for (size_t j = 0; j < *(size_t *)field_ptr(cfg, e->off_n); j++)
				free((*(char ***)f)[j]);
			free(*(char ***)f);
			break;
		case CT_PROPERTIES:
			free_properties(*(struct config_kv **)f,
					*(size_t *)field_ptr(cfg, e->off_n));
			break;
		case CT_QUEUES:
			free_queues(*(struct config_queue **)f,
				    *(size_t *)field_ptr(cfg, e->off_n));
			break;
		default:
			break;
		}
	}
	free(cfg->path);
	free(cfg->dir);
	free(cfg);
}

int config_load(const char *path, struct config **out, struct diag_list *errs)
{
	return config_load_at(path, NULL, out, errs);
}

int config_load_at(const char *path, const char *base_dir, struct config **out,
		   struct diag_list *errs)
{
	if (!path || !out || !errs)
		return -EINVAL;
	*out = NULL;

	char *text = NULL;
	size_t len = 0;
	int rc = ydoc_read_file(path, CONFIG_FILE_MAX, &text, &len);
	if (rc == -ENOMEM)
		return rc;
	if (rc) {
		diag_error(errs, path, 0, 0, NULL, "cannot read the config file: %s",
			   strerror(-rc));
		return rc == -ENOENT ? -ENOENT : -EIO;
	}
	rc = config_load_text(path, base_dir, text, len, out, errs);
	free(text);
	return rc;
}

int config_load_text(const char *path, const char *base_dir, const char *text, size_t len,
		     struct config **out, struct diag_list *errs)
{
	if (!path || !out || !errs || (!text && len))
		return -EINVAL;
	*out = NULL;
	if (len > CONFIG_FILE_MAX) {
		diag_error(errs, path, 0, 0, NULL, "cannot read the config file: %s",
			   strerror(EFBIG));
		return -EIO;
	}

	struct loader ld = {.errs = errs, .file = path};
	size_t n_before = errs->n_errors;
	ld.cfg = config_default(path);
	if (ld.cfg && base_dir) {
		free(ld.cfg->dir);
		ld.cfg->dir = strdup(base_dir);
	}
	if (!ld.cfg || !ld.cfg->dir) {
		config_free(ld.cfg);
		return -ENOMEM;
	}
	load_document(&ld, text ? text : "", len);
	if (!ld.oom) {
		check_topics(&ld);
		check_queues(&ld);
		check_redis(&ld);
	}

	if (ld.oom) {
		config_free(ld.cfg);
		return -ENOMEM;
	}
	if (errs->n_errors > n_before) {
		config_free(ld.cfg);
		return -EINVAL;
	}
	*out = ld.cfg;
	return 0;
}

const char *config_format_name(enum config_format f)
{
	return (unsigned)f < sizeof(format_names) / sizeof(format_names[0]) - 1 ? format_names[f] :
										  "?";
}

const char *config_band_name(enum config_band b)
{
	return (unsigned)b < CONFIG_BANDS ? band_names[b] : "?";
}

const struct config_queue *config_queue_find(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->review.n_queues; i++)
		if (!strcmp(cfg->review.queues[i].name, name))
			return &cfg->review.queues[i];
	return NULL;
}
