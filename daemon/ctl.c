/* arbiterctl: the operators' tool; dispatches to one ctl_*.c file per subcommand. */
#include "ctl.h"

#include <errno.h>
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
	{"produce", ctl_produce, "produce --brokers B --topic T [--format json|protobuf] < lines"},
	{"consume", ctl_consume,
	 "consume --brokers B --topic T   print a topic's records as JSON lines"},
	{"lag", ctl_lag, "lag --brokers B --group G --topic T   committed vs end offsets"},
	{"review", ctl_review,
	 "review claim|decide|reclaim --config CONFIG ...   work the review queues"},
	{"queues", ctl_queues,
	 "queues --config CONFIG [--json]   depth, claims, age and overdue per queue"},
	{"audit", ctl_audit,
	 "audit verify|export --brokers B ...   check the audit ledger, export DSA statements"},
	{"report", ctl_report,
	 "report --brokers B --out DIR ...   transparency reports from the verified ledger"},
	{"mock-kafka", ctl_mock_kafka,
	 "mock-kafka [--brokers N] [--partitions P] [--bootstrap-file F]"},
};

static void ctl_usage(FILE *out)
{
	fprintf(out, "Usage: arbiterctl COMMAND [ARGS]\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(ctl_commands) / sizeof(ctl_commands[0]); i++)
		fprintf(out, "  %s\n", ctl_commands[i].help);
	fprintf(out, "\n'arbiterctl COMMAND --help' describes one command.\n");
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

static void ctl_kafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	log_write(level <= 3 ? LOG_ERROR :
		  level == 4 ? LOG_WARN :
			       LOG_DEBUG,
		  "kafka", "%s: %s", fac, buf);
}

rd_kafka_conf_t *ctl_kafka_conf(const char *brokers)
{
	char err[256];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_conf_set_log_cb(conf, ctl_kafka_log);
	if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, sizeof(err)) ||
	    rd_kafka_conf_set(conf, "client.id", "arbiterctl", err, sizeof(err))) {
		log_error("ctl", "%s", err);
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	return conf;
}

int ctl_read_topic(const char *brokers, const char *topic,
		   int (*fn)(void *opaque, const rd_kafka_message_t *m), void *opaque)
{
	rd_kafka_conf_t *conf = ctl_kafka_conf(brokers);
	return conf ? ctl_read_topic_conf(conf, topic, fn, opaque) : -EIO;
}

int ctl_read_topic_conf(rd_kafka_conf_t *conf, const char *topic,
			int (*fn)(void *opaque, const rd_kafka_message_t *m), void *opaque)
{
	char err[256];
	/* A group id is needed to consume, though nothing is committed; only
	 * committed records count (read_committed is librdkafka's default,
	 * said here so that no property can change it). */
	if (rd_kafka_conf_set(conf, "group.id", "arbiterctl-read", err, sizeof(err)) ||
	    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err)) ||
	    rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof(err)) ||
	    rd_kafka_conf_set(conf, "isolation.level", "read_committed", err, sizeof(err))) {
		fprintf(stderr, "arbiterctl: %s\n", err);
		rd_kafka_conf_destroy(conf);
		return -EIO;
	}
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
	if (!rk) {
		fprintf(stderr, "arbiterctl: %s\n", err);
		rd_kafka_conf_destroy(conf);
		return -EIO;
	}
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
	rd_kafka_resp_err_t kerr = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
	int np = -1;
	if (kerr)
		fprintf(stderr, "arbiterctl: metadata for %s: %s\n", topic, rd_kafka_err2str(kerr));
	else if (md->topic_cnt != 1 || md->topics[0].err)
		fprintf(stderr, "arbiterctl: topic %s: %s\n", topic,
			md->topic_cnt ? rd_kafka_err2str(md->topics[0].err) : "not found");
	else
		np = md->topics[0].partition_cnt;
	if (md)
		rd_kafka_metadata_destroy(md);
	rd_kafka_topic_destroy(rkt);
	int rc = np < 0 ? -EIO : 0;

	/* Each partition stops at the end it had now: later records are for
	 * the next run, and reading never waits for them. */
	int64_t *ends = calloc(np > 0 ? (size_t)np : 1, sizeof(*ends));
	rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(np > 0 ? np : 1);
	int remaining = 0;
	for (int p = 0; !rc && p < np; p++) {
		int64_t lo = 0, hi = 0;
		kerr = rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 10000);
		if (kerr) {
			fprintf(stderr, "arbiterctl: %s[%d]: %s\n", topic, p,
				rd_kafka_err2str(kerr));
			rc = -EIO;
		} else if (hi > lo) {
			rd_kafka_topic_partition_list_add(parts, topic, p)->offset =
				RD_KAFKA_OFFSET_BEGINNING;
			ends[p] = hi;
			remaining++;
		}
	}
	if (!rc && remaining)
		rd_kafka_assign(rk, parts);
	rd_kafka_topic_partition_list_destroy(parts);
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
	fprintf(stderr, "arbiterctl: unknown command '%s'\n\n", argv[1]);
	ctl_usage(stderr);
	return 2;
}
