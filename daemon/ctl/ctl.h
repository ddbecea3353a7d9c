/* arbiterctl subcommands: each takes the arguments after its name and returns an exit status. */
#pragma once

#include <hiredis/hiredis.h>
#include <librdkafka/rdkafka.h>
#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stdio.h>

#include "config.h"

int ctl_check(int argc, char **argv);
int ctl_produce(int argc, char **argv);
int ctl_consume(int argc, char **argv);
int ctl_lag(int argc, char **argv);
int ctl_mock_kafka(int argc, char **argv);
int ctl_test_rules(int argc, char **argv);
int ctl_eval(int argc, char **argv);
int ctl_review(int argc, char **argv);
int ctl_queues(int argc, char **argv);
int ctl_audit(int argc, char **argv);
int ctl_report(int argc, char **argv);

/* The message type carried by a topic, by name or by its default name
 * ("content", "decision", "escalation", "audit", "appeal", "deadletter"
 * or a topic whose name contains one of them). NULL when unknown. */
const ProtobufCMessageDescriptor *ctl_type_for(const char *name);

/* ---- clients: the daemon's settings (ctl_client.c) ---- */

/* The config at PATH, loaded and checked as arbiterd loads it; NULL after printing its
 * errors on stderr, CMD naming the command. */
struct config *ctl_config_load(const char *cmd, const char *path);

/* The bootstrap servers: OVERRIDE (--brokers) when given, else CFG's kafka.brokers. NULL
 * (said on stderr, naming CMD) when neither names a cluster: no CFG, or kafka.brokers is the
 * daemon's embedded mock, whose address only the caller can know. */
const char *ctl_brokers(const char *cmd, const char *override, const struct config *cfg);

/* A Kafka client config with the client settings arbiterd would use with CFG:
 * bootstrap.servers (ctl_brokers), client.id (kafka.client_id; "arbiterctl" without CFG),
 * kafka.properties with their {file: PATH} secrets (set by kafka_conf_properties, as the
 * daemon's clients get them) and arbiterd's librdkafka log callback. CFG may be NULL when
 * BROKERS_OVERRIDE is given. The caller adds its own settings after. NULL when no cluster is
 * named or librdkafka refuses a setting (said on stderr, naming CMD). */
rd_kafka_conf_t *ctl_kafka_conf_for(const char *cmd, const char *brokers_override,
				    const struct config *cfg);

/* A synchronous connection to CFG's Redis, made as arbiterd makes its own: to the master the
 * sentinels of redis.sentinels name for redis.master_name (its ROLE checked), or to
 * redis.address; then AUTH, SELECT redis.db and redis.command_timeout. Writes the server's
 * address into WHERE (LEN bytes) for messages. NULL when it cannot be made (said on stderr,
 * naming CMD). */
redisContext *ctl_redis_connect(const char *cmd, const struct config *cfg, char *where, size_t len);

/* Reads every partition of TOPIC from its start to the end it had when
 * called, calling FN for each message (partitions interleave; offsets of one
 * partition come in order), with client config CONF (consumed, whatever the
 * outcome; NULL fails) and committed records only. FN returns 0, or a
 * negative errno to stop. Returns 0, FN's error, or -EIO when the topic
 * cannot be read to its end (said on stderr). */
int ctl_read_topic(rd_kafka_conf_t *conf, const char *topic,
		   int (*fn)(void *opaque, const rd_kafka_message_t *m), void *opaque);

/* ---- options ---- */

/* What an option does with what follows it on the command line. */
enum ctl_opt_kind {
	CTL_OPT_VALUE, /* takes a value: OUT is a const char ** */
	CTL_OPT_FLAG,  /* takes none: OUT is a bool *, set when given */
	CTL_OPT_LIST,  /* takes a value, repeatable: OUT is a struct ctl_list * */
};

/* The values of a repeatable option, in command-line order. */
struct ctl_list {
	const char *v[64];
	int n;
};

/* One option of a command: --NAME, and -LETTER unless LETTER is 0. A
 * REQUIRED value must be given. */
struct ctl_opt {
	const char *name;
	int letter;
	enum ctl_opt_kind kind;
	void *out;
	bool required;
};

#define CTL_REQUIRED true
#define CTL_OPTIONAL false
/* Table entries. OUT's type is checked by the compiler: TYPE for KIND. */
#define CTL_OPT(name, letter, kind, type, out, need)                                               \
	{                                                                                          \
		(name), (letter), (kind), (void *)(1 ? (out) : (type)NULL), (need)                 \
	}
#define CTL_VALUE(name, letter, out, need)                                                         \
	CTL_OPT(name, letter, CTL_OPT_VALUE, const char **, out, need)
#define CTL_FLAG(name, letter, out) CTL_OPT(name, letter, CTL_OPT_FLAG, bool *, out, false)
#define CTL_LIST(name, letter, out)                                                                \
	CTL_OPT(name, letter, CTL_OPT_LIST, struct ctl_list *, out, false)
/* The options the commands share, spelled alike everywhere. */
#define CTL_BROKERS(out, need) CTL_VALUE("brokers", 'b', (out), (need))
#define CTL_TOPIC(out, need) CTL_VALUE("topic", 't', (out), (need))
#define CTL_CONFIG(out, need) CTL_VALUE("config", 'c', (out), (need))
#define CTL_TYPE(out) CTL_VALUE("type", 'y', (out), CTL_OPTIONAL)

/* What a command's parse step returns when the command is to run; any other
 * value is the exit status to return at once. */
#define CTL_RUN (-1)

/* Parses the options of ARGV (ARGV[0] names the command or subcommand)
 * against OPTS, ended by an entry whose name is NULL, and --help/-h.
 * Returns CTL_RUN with *FIRST (unless FIRST is NULL) the index of the first
 * argument that is not an option; 0 after printing USAGE (called with
 * ARGV[0]) to stdout for --help; 2 after printing it to stderr for an
 * unknown option, a missing value, too many values of a list or a required
 * option left out (getopt or a message says which). */
int ctl_options(int argc, char **argv, const struct ctl_opt *opts,
		void (*usage)(FILE *out, const char *name), int *first);

/* Says on stderr "WHERE: unknown WHAT 'WORD'", with "did you mean" the closest of NAMES
 * (NULL-terminated) within two edits, and a blank line. */
void ctl_unknown(const char *where, const char *what, const char *word, const char *const *names);

/* Reads S, a whole decimal number from MIN to MAX, into *OUT. Returns 0 or
 * -EINVAL. */
int ctl_number(const char *s, long min, long max, long *out);

/* ---- Kafka ---- */

/* A consumer of GROUP with client config CONF (consumed, whatever the outcome;
 * NULL fails) that commits nothing, reads committed records only and reports
 * partition ends; NULL when it cannot be made (said on stderr). */
rd_kafka_t *ctl_consumer(rd_kafka_conf_t *conf, const char *group);

/* The number of partitions of TOPIC, or -1 (said on stderr). */
int ctl_partition_count(rd_kafka_t *rk, const char *topic);
