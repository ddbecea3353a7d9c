/* arbiterctl mock-kafka: a standalone mock Kafka cluster for tests, demos and kcat. */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"
#include "kafka_mock.h"
#include "log.h"

static void ctl_mock_usage(FILE *out)
{
	fprintf(out, "Usage: arbiterctl mock-kafka [options]\n\n"
		     "Runs librdkafka's mock Kafka cluster on loopback until SIGTERM or SIGINT,\n"
		     "with the topics of a config created, and prints its bootstrap address.\n\n"
		     "  -n, --brokers N          number of brokers (default 1)\n"
		     "  -p, --partitions P       partitions per topic (default 4)\n"
		     "  -c, --config FILE        create the topics named in FILE (default: the\n"
		     "                           default topic names)\n"
		     "  -T, --topic NAME[:P]     create another topic (repeatable)\n"
		     "  -o, --bootstrap-file F   also write the address to F (atomically)\n");
}

int ctl_mock_kafka(int argc, char **argv)
{
	static const struct option opts[] = {
		{"brokers", required_argument, NULL, 'n'},
		{"partitions", required_argument, NULL, 'p'},
		{"config", required_argument, NULL, 'c'},
		{"topic", required_argument, NULL, 'T'},
		{"bootstrap-file", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int brokers = 1, partitions = 4, c, rc = 1;
	const char *config_path = NULL, *bootstrap_file = NULL;
	const char *extra[64];
	int n_extra = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "n:p:c:T:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			brokers = atoi(optarg);
			break;
		case 'p':
			partitions = atoi(optarg);
			break;
		case 'c':
			config_path = optarg;
			break;
		case 'T':
			if (n_extra < 64)
				extra[n_extra++] = optarg;
			break;
		case 'o':
			bootstrap_file = optarg;
			break;
		case 'h':
			ctl_mock_usage(stdout);
			return 0;
		default:
			ctl_mock_usage(stderr);
			return 2;
		}
	}
	if (brokers < 1 || brokers > 9 || partitions < 1 || partitions > 1024) {
		fprintf(stderr, "arbiterctl mock-kafka: --brokers 1..9, --partitions 1..1024\n");
		return 2;
	}
	struct diag_list errs = {0};
	struct config *cfg = NULL;
	if (config_path) {
		if (config_load(config_path, &cfg, &errs) < 0) {
			diag_print(&errs, stderr);
			diag_clear(&errs);
			return 1;
		}
	} else {
		cfg = config_default(NULL);
	}
	log_set_level(LOG_WARN);

	/* Block the stop signals before librdkafka starts its threads (they
	 * inherit the mask), then wait for one with sigwait: no handler, no
	 * window between writing the address and being ready to stop. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);

	struct kafka_mock *m = NULL;
	if (kafka_mock_start(brokers, &m) < 0)
		goto out;
	const struct config_topic *topics[] = {
		&cfg->kafka.topics.content,     &cfg->kafka.topics.decisions,
		&cfg->kafka.topics.escalations, &cfg->kafka.topics.audit,
		&cfg->kafka.topics.appeals,     &cfg->kafka.topics.deadletter,
	};
	for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++)
		if (kafka_mock_topic_create(m, topics[i]->name, partitions) < 0)
			goto out;
	for (int i = 0; i < n_extra; i++) {
		char name[256];
		int p = partitions;
		snprintf(name, sizeof(name), "%s", extra[i]);
		char *colon = strrchr(name, ':');
		if (colon) {
			*colon = '\0';
			p = atoi(colon + 1);
		}
		if (p < 1 || kafka_mock_topic_create(m, name, p) < 0)
			goto out;
	}

	const char *bs = kafka_mock_bootstraps(m);
	if (bootstrap_file) {
		char tmp[4096];
		snprintf(tmp, sizeof(tmp), "%s.tmp", bootstrap_file);
		FILE *f = fopen(tmp, "w");
		if (!f || fprintf(f, "%s\n", bs) < 0 || fclose(f) != 0 ||
		    rename(tmp, bootstrap_file) != 0) {
			perror(bootstrap_file);
			goto out;
		}
	}
	printf("%s\n", bs);
	fflush(stdout);

	int sig;
	sigwait(&stop, &sig);
	if (bootstrap_file)
		unlink(bootstrap_file); /* a stale file must not look like a live cluster */
	rc = 0;
out:
	kafka_mock_stop(m);
	config_free(cfg);
	return rc;
}
