/* arbiterctl: the operators' tool; dispatches to one ctl_*.c file per subcommand. */
#include "ctl.h"

#include <stdio.h>
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
