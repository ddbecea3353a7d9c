/* arbiterctl subcommands: each takes the arguments after its name and returns an exit status. */
#pragma once

#include <librdkafka/rdkafka.h>
#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stdio.h>

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

/* A connection to CFG's Redis as arbiterd makes it (address, AUTH, SELECT, timeouts), for
 * subcommand CMD; NULL when it fails (said on stderr). Free with redisFree. */
struct config;
struct redisContext;
struct redisContext *ctl_redis_connect(const char *cmd, const struct config *cfg);

/* The message type carried by a topic, by name or by its default name
 * ("content", "decision", "escalation", "audit", "appeal", "deadletter"
 * or a topic whose name contains one of them). NULL when unknown. */
const ProtobufCMessageDescriptor *ctl_type_for(const char *name);

/* A client config for BROKERS with our log callback; NULL on a bad property
 * (logged). */
rd_kafka_conf_t *ctl_kafka_conf(const char *brokers);

/* Reads every partition of TOPIC from its start to the end it had when
 * called, calling FN for each message (partitions interleave; offsets of one
 * partition come in order). FN returns 0, or a negative errno to stop.
 * Returns 0, FN's error, or -EIO when the topic cannot be read to its end
 * (said on stderr). */
int ctl_read_topic(const char *brokers, const char *topic,
		   int (*fn)(void *opaque, const rd_kafka_message_t *m), void *opaque);

/* ctl_read_topic with a client config of the caller's (consumed, whatever
 * the outcome); reads committed records only. */
int ctl_read_topic_conf(rd_kafka_conf_t *conf, const char *topic,
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

/* Reads S, a whole decimal number from MIN to MAX, into *OUT. Returns 0 or
 * -EINVAL. */
int ctl_number(const char *s, long min, long max, long *out);

/* ---- Kafka ---- */

/* A consumer of GROUP on BROKERS that commits nothing and reports partition
 * ends; NULL when it cannot be made (said on stderr). */
rd_kafka_t *ctl_consumer(const char *brokers, const char *group);
/* The same with a client config of the caller's (consumed, whatever the outcome). */
rd_kafka_t *ctl_consumer_conf(rd_kafka_conf_t *conf, const char *group);

/* The number of partitions of TOPIC, or -1 (said on stderr). */
int ctl_partition_count(rd_kafka_t *rk, const char *topic);
