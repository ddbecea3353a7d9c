/* arbiterctl: the operators' tool; dispatches to one ctl_*.c file per subcommand. */
#include "ctl.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arbiter/v1/appeal_record.pb-c.h"
#include "arbiter/v1/audit_record.pb-c.h"
#include "arbiter/v1/content_event.pb-c.h"
#include "arbiter/v1/dead_letter.pb-c.h"
#include "arbiter/v1/escalation.pb-c.h"
#include "arbiter/v1/moderation_decision.pb-c.h"
#include "arbiter_build.h"
#include "diag.h"
#include "log.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
} ctl_commands[] = {
	{"check", ctl_check,
	 "check CONFIG            validate a config and its rule files (every error, file:line:col)"},
	{"test-rules", ctl_test_rules,
	 "test-rules CONFIG       run the tests: cases of the rule files"},
	{"eval", ctl_eval,
	 "eval [--now DATE] CONFIG < events.jsonl   one verdict per event, as JSON"},
	{"produce", ctl_produce,
	 "produce -c CONFIG|-b B --topic T < lines   send JSON lines as records (or as JSON)"},
	{"consume", ctl_consume,
	 "consume -c CONFIG|-b B --topic T   print a topic's records as JSON lines"},
	{"lag", ctl_lag, "lag -c CONFIG|-b B [--group G] [--topic T]   committed vs end offsets"},
	{"review", ctl_review,
	 "review claim|decide|reclaim -c CONFIG ...   work the review queues"},
	{"queues", ctl_queues,
	 "queues -c CONFIG [--json]   depth, claims, age and overdue per queue"},
	{"audit", ctl_audit,
	 "audit verify|export -c CONFIG|-b B ...   check the audit ledger, export DSA statements"},
	{"report", ctl_report,
	 "report -c CONFIG|-b B --out DIR ...   transparency reports from the verified ledger"},
	{"mock-kafka", ctl_mock_kafka,
	 "mock-kafka [--broker-count N] [--partitions P] [-c CONFIG]   a mock Kafka cluster"},
};

static void ctl_usage(FILE *out)
{
	fprintf(out, "Usage: arbiterctl COMMAND [ARGS]\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(ctl_commands) / sizeof(ctl_commands[0]); i++)
		fprintf(out, "  %s\n", ctl_commands[i].help);
	fprintf(out,
		"\nEvery command that talks to Kafka or Redis takes -c/--config CONFIG, the\n"
		"daemon's config, and connects with the client settings arbiterd would use:\n"
		"kafka.brokers, kafka.properties ({file: PATH} secrets), kafka.client_id, the\n"
		"topics, and redis (address or sentinels, credentials, db, prefix);\n"
		"-b/--brokers overrides kafka.brokers.\n"
		"'arbiterctl COMMAND --help' describes one command.\n");
}

const ProtobufCMessageDescriptor *ctl_type_for(const char *name)
{
	static const struct {
		const char *word;
		const ProtobufCMessageDescriptor *desc;
	} map[] = {
		{"deadletter", &arbiter__v1__dead_letter__descriptor},
		{"escalation", &arbiter__v1__escalation__descriptor},
		{"audit", &arbiter__v1__audit_record__descriptor},
		{"appeal", &arbiter__v1__appeal_record__descriptor},
		{"decision", &arbiter__v1__moderation_decision__descriptor},
		{"content", &arbiter__v1__content_event__descriptor},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strstr(name, map[i].word))
			return map[i].desc;
	return NULL;
}

/* Options get codes above every character: a letter is its own code. */
#define CTL_OPT_CODE 256
#define CTL_OPTS_MAX 32

/* Builds getopt_long's tables for OPTS and --help. Returns 0 or -EINVAL
 * when there are more options than the tables hold. */
static int ctl_options_tables(const struct ctl_opt *opts, struct option *longs, char *shorts)
{
	size_t n = 0, k = 0;
	for (; opts[n].name; n++) {
		if (!log_assert(n < CTL_OPTS_MAX))
			return -EINVAL;
		bool arg = opts[n].kind != CTL_OPT_FLAG;
		longs[n] = (struct option){opts[n].name, arg ? required_argument : no_argument,
					   NULL, CTL_OPT_CODE + (int)n};
		if (opts[n].letter) {
			shorts[k++] = (char)opts[n].letter;
			if (arg)
				shorts[k++] = ':';
		}
	}
	longs[n++] = (struct option){"help", no_argument, NULL, 'h'};
	longs[n] = (struct option){0};
	shorts[k++] = 'h';
	shorts[k] = '\0';
	return 0;
}

/* The option getopt_long answered C for, or NULL. */
static const struct ctl_opt *ctl_options_find(const struct ctl_opt *opts, int c)
{
	for (size_t i = 0; opts[i].name; i++)
		if (c == CTL_OPT_CODE + (int)i || (opts[i].letter && c == opts[i].letter))
			return &opts[i];
	return NULL;
}

int ctl_options(int argc, char **argv, const struct ctl_opt *opts,
		void (*usage)(FILE *out, const char *name), int *first)
{
	struct option longs[CTL_OPTS_MAX + 2];
	char shorts[2 * CTL_OPTS_MAX + 2];
	if (ctl_options_tables(opts, longs, shorts) < 0)
		return 2;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
		const struct ctl_opt *o = c == 'h' ? NULL : ctl_options_find(opts, c);
		if (!o) {
			usage(c == 'h' ? stdout : stderr, argv[0]);
			return c == 'h' ? 0 : 2;
		}
		if (o->kind == CTL_OPT_VALUE) {
			*(const char **)o->out = optarg;
		} else if (o->kind == CTL_OPT_FLAG) {
			*(bool *)o->out = true;
		} else {
			struct ctl_list *l = o->out;
			int max = (int)(sizeof(l->v) / sizeof(l->v[0]));
			if (l->n == max) {
				fprintf(stderr, "arbiterctl %s: --%s: at most %d\n", argv[0],
					o->name, max);
				return 2;
			}
			l->v[l->n++] = optarg;
		}
	}
	for (size_t i = 0; opts[i].name; i++) {
		if (opts[i].required && !*(const char **)opts[i].out) {
			fprintf(stderr, "arbiterctl %s: --%s is required\n\n", argv[0],
				opts[i].name);
			usage(stderr, argv[0]);
			return 2;
		}
	}
	if (first)
		*first = optind;
	return CTL_RUN;
}

void ctl_unknown(const char *where, const char *what, const char *word, const char *const *names)
{
	const char *best = diag_suggest(word, names, 2);
	if (best)
		fprintf(stderr, "%s: unknown %s '%s'; did you mean '%s'?\n\n", where, what, word,
			best);
	else
		fprintf(stderr, "%s: unknown %s '%s'\n\n", where, what, word);
}

int ctl_number(const char *s, long min, long max, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (end == s || *end || errno || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

rd_kafka_t *ctl_consumer(rd_kafka_conf_t *conf, const char *group)
{
	char err[256];
	if (!conf)
		return NULL;
	/* Nothing is committed, and only committed records count: read_committed is
	 * librdkafka's default, said here so that no property can change it. */
	if (rd_kafka_conf_set(conf, "group.id", group, err, sizeof(err)) ||
	    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err)) ||
	    rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof(err)) ||
	    rd_kafka_conf_set(conf, "isolation.level", "read_committed", err, sizeof(err))) {
		fprintf(stderr, "arbiterctl: %s\n", err);
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
	if (!rk) {
		fprintf(stderr, "arbiterctl: %s\n", err);
		rd_kafka_conf_destroy(conf);
	}
	return rk;
}

int ctl_partition_count(rd_kafka_t *rk, const char *topic)
{
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
	const struct rd_kafka_metadata *md = NULL;
	int n = -1;
	rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
	if (err) {
		fprintf(stderr, "arbiterctl: metadata for %s: %s\n", topic, rd_kafka_err2str(err));
	} else if (md->topic_cnt != 1 || md->topics[0].err) {
		fprintf(stderr, "arbiterctl: topic %s: %s\n", topic,
			md->topic_cnt ? rd_kafka_err2str(md->topics[0].err) : "not found");
	} else {
		n = md->topics[0].partition_cnt;
	}
	if (md)
		rd_kafka_metadata_destroy(md);
	rd_kafka_topic_destroy(rkt);
	return n;
}

/* Assigns RK every partition of TOPIC (NP of them) that holds records, from
 * its start, and writes the end each has now into ENDS. Returns how many
 * were assigned, or -EIO (said on stderr). */
static int ctl_read_assign(rd_kafka_t *rk, const char *topic, int np, int64_t *ends)
{
	rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(np > 0 ? np : 1);
	int assigned = 0, rc = 0;
	for (int p = 0; !rc && p < np; p++) {
		int64_t lo = 0, hi = 0;
		rd_kafka_resp_err_t kerr =
			rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 10000);
		if (kerr) {
			fprintf(stderr, "arbiterctl: %s[%d]: %s\n", topic, p,
				rd_kafka_err2str(kerr));
			rc = -EIO;
		} else if (hi > lo) {
			rd_kafka_topic_partition_list_add(parts, topic, p)->offset =
				RD_KAFKA_OFFSET_BEGINNING;
			ends[p] = hi;
			assigned++;
		}
	}
	if (!rc && assigned)
		rd_kafka_assign(rk, parts);
	rd_kafka_topic_partition_list_destroy(parts);
	return rc ? rc : assigned;
}

int ctl_read_topic(rd_kafka_conf_t *conf, const char *topic,
		   int (*fn)(void *opaque, const rd_kafka_message_t *m), void *opaque)
{
	/* A group id is needed to consume, though nothing is committed. */
	rd_kafka_t *rk = ctl_consumer(conf, "arbiterctl-read");
	if (!rk)
		return -EIO;
	int np = ctl_partition_count(rk, topic);
	/* Each partition stops at the end it had now: later records are for
	 * the next run, and reading never waits for them. */
	int64_t *ends = calloc(np > 0 ? (size_t)np : 1, sizeof(*ends));
	int remaining = np < 0 ? -EIO : ends ? ctl_read_assign(rk, topic, np, ends) : -ENOMEM;
	int rc = remaining < 0 ? remaining : 0;
	while (!rc && remaining > 0) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 10000);
		if (!m) {
			fprintf(stderr, "arbiterctl: %s: no progress for 10 s; stopping\n", topic);
			rc = -EIO;
			break;
		}
		int32_t p = m->partition;
		bool end = false;
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			/* Transaction markers take offsets no message has: the
			 * end may come as an EOF rather than as a last message. */
			end = m->offset >= ends[p];
		} else if (m->err) {
			fprintf(stderr, "arbiterctl: %s: %s\n", topic, rd_kafka_message_errstr(m));
		} else if (m->offset < ends[p]) {
			rc = fn(opaque, m);
			end = m->offset + 1 >= ends[p];
		}
		if (end && ends[p] >= 0) {
			ends[p] = -1; /* done: nothing more is read from it */
			remaining--;
		}
		rd_kafka_message_destroy(m);
	}
	free(ends);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		ctl_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("arbiterctl %s\n", ARBITER_VERSION);
		return 0;
	}
	log_set_level(LOG_WARN);
	for (size_t i = 0; i < sizeof(ctl_commands) / sizeof(ctl_commands[0]); i++)
		if (!strcmp(argv[1], ctl_commands[i].name))
			return ctl_commands[i].run(argc - 1, argv + 1);
	const char *names[sizeof(ctl_commands) / sizeof(ctl_commands[0]) + 1];
	for (size_t i = 0; i < sizeof(ctl_commands) / sizeof(ctl_commands[0]); i++)
		names[i] = ctl_commands[i].name;
	names[sizeof(ctl_commands) / sizeof(ctl_commands[0])] = NULL;
	ctl_unknown("arbiterctl", "command", argv[1], names);
	ctl_usage(stderr);
	return 2;
}
