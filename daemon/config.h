/* The daemon's configuration: one YAML file, parsed and validated as one table. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "diag.h"
#include "log.h"

/* Wire format of a Kafka input topic. */
enum config_format { CONFIG_FORMAT_PROTOBUF = 0, CONFIG_FORMAT_JSON };

struct config_topic {
	char *name;
	enum config_format format; /* meaningful for input topics only */
};

/* One librdkafka property; a value given as {file: PATH} has been read already. */
struct config_kv {
	char *key;
	char *value;
};

/* Review bands, most urgent first: the order claims follow. */
enum config_band {
	CONFIG_BAND_URGENT = 0,
	CONFIG_BAND_HIGH,
	CONFIG_BAND_NORMAL,
	CONFIG_BAND_LOW,
	CONFIG_BANDS
};

/* A review queue (review.queues.NAME). A queue that `serves` another takes
 * the escalations rules send to that one when the event's language and
 * country match its own lists: language and country routing, with the served
 * queue as the fallback. */
struct config_queue {
	char *name;
	char *serves;     /* NULL: takes what rules send to NAME */
	char **languages; /* lowercase; empty: any */
	size_t n_languages;
	char **countries; /* uppercase; empty: any */
	size_t n_countries;
	uint32_t sla_s[CONFIG_BANDS]; /* deadline after the event, per band */
	uint32_t max_length;          /* waiting entries over every band; 0: unbounded */
	int line, col;                /* where it is declared */
};

struct config {
	char *path; /* the file this was loaded from, as given */
	char *dir;  /* its directory: relative paths in the file resolve against it */

	struct {
		char *brokers;       /* "mock", "mock:N" or a bootstrap list */
		int mock_brokers;    /* N of "mock:N" (1 for "mock"); 0 when not mock */
		int mock_partitions; /* partitions of each topic the embedded mock creates */
		char *group_id;
		char *client_id;
		/* Records and the input offsets that caused them commit in one Kafka
		 * transaction (KIP-447); false: the idempotent producer alone. */
		bool exactly_once;
		char *transactional_id;       /* NULL: "GROUP-HOST-PID", unique per instance */
		struct config_kv *properties; /* passed to both consumer and producer */
		size_t n_properties;
		struct {
			struct config_topic content, decisions;                      /* inputs */
			struct config_topic escalations, audit, appeals, deadletter; /* outputs */
		} topics;
	} kafka;

	struct {
		char *address;    /* "host:port" or a unix socket path (starts with '/') */
		char **sentinels; /* "host:port" of each sentinel; none: redis.address */
		size_t n_sentinels;
		char *master_name;       /* what the sentinels call the master; set with them */
		char *sentinel_password; /* the sentinels' own; NULL for none */
		int wait_replicas;       /* WAIT for this many replicas before a write counts */
		char *username;          /* ACL user, NULL for none */
		char *password;          /* NULL for none; {file: PATH} already read */
		int db;
		uint32_t connect_timeout_ms;
		uint32_t command_timeout_ms;
		char *prefix;    /* key prefix, default "arbiter:" */
		bool configured; /* the file has a redis: section (rules with counters need one) */
	} redis;

	struct {
		struct config_queue *queues; /* none: escalations reach no Redis queue */
		size_t n_queues;
		uint32_t dedupe_ttl_ms; /* how long an escalation id is remembered */
		uint32_t lease_ms;      /* a claim older than this may be reclaimed */
		uint32_t sweep_interval_ms;
		char *appeals_queue;     /* where appeals go; NULL: appeals are refused */
		uint32_t decision_ttl_s; /* how long decisions are remembered for appeals */
	} review;

	struct {
		char **modes; /* every escalation while one of these modes is active is fed */
		size_t n_modes;
		bool per_country_topics; /* topic.<CC> instead of topic */
		bool include_excerpt;
		uint32_t excerpt_max_bytes;
		char *pseudonym_key; /* HMAC key for author ids; NULL: author ids left out */
	} monitors;

	struct {
		char **files; /* resolved against dir */
		size_t n_files;
		struct config_kv *modes; /* mode name -> "on" or "off", overriding the rule files */
		size_t n_modes;
	} rules;

	struct {
		uint32_t max_inflight; /* messages between poll and commit, all partitions */
		uint32_t commit_interval_ms;
		uint32_t drain_timeout_ms;     /* shutdown: how long in-flight work may finish */
		uint32_t deadletter_max_bytes; /* raw bytes kept in a DeadLetter */
		uint32_t poll_batch;           /* messages handled per loop iteration */
		uint32_t prefetch_bytes;       /* fetched and not yet handled, at most */
	} pipeline;

	struct {
		enum log_level level;
		enum log_format format; /* text, or one JSON object a line */
	} log;

	struct {
		char *listen; /* "host:port"; NULL or "" disables the HTTP endpoint */
	} metrics;
};

/* Loads and validates PATH. On success returns 0 and sets *out (free with
 * config_free). On failure returns -EINVAL (or -ENOENT/-EIO for an unreadable
 * file), leaves *out NULL and appends every error found to errs, not only the
 * first. No network or Kafka/Redis access happens here. */
int config_load(const char *path, struct config **out, struct diag_list *errs);

/* config_load, with relative paths in the file resolved against BASE_DIR instead of the
 * file's own directory (for a config read from /dev/stdin); NULL: the file's directory. */
int config_load_at(const char *path, const char *base_dir, struct config **out,
		   struct diag_list *errs);

/* config_load_at on the LEN bytes at TEXT (need not be NUL-terminated) as if they had been
 * read from PATH, which names the file in errors and, unless BASE_DIR is given, is where
 * relative paths resolve; PATH itself is not read. The same bound, checks and returns. */
int config_load_text(const char *path, const char *base_dir, const char *text, size_t len,
		     struct config **out, struct diag_list *errs);

/* Built-in defaults, as if loaded from an empty file at PATH (may be NULL). */
struct config *config_default(const char *path);

void config_free(struct config *cfg);

const char *config_format_name(enum config_format f);

/* "urgent", "high", "normal", "low". */
const char *config_band_name(enum config_band b);

/* Splits a validated TCP redis.address, "host:port" or "[v6]:port", into
 * HOST (brackets dropped, truncated to CONFIG_HOST_MAX - 1 bytes) and PORT.
 * Not for a unix socket path (one starting with '/'). */
#define CONFIG_HOST_MAX 256
void config_redis_host_port(const char *address, char host[CONFIG_HOST_MAX], int *port);

/* The queue named NAME, or NULL. */
const struct config_queue *config_queue_find(const struct config *cfg, const char *name);

/* Parses a duration: a bare number of milliseconds, or a number with ms, s,
 * m, h or d. Returns 0, -EINVAL or -ERANGE. */
int config_parse_duration(const char *s, int64_t *ms);
