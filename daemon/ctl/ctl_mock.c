/* arbiterctl mock-kafka: a standalone mock Kafka cluster for tests, demos and kcat. */
#include <errno.h>
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

static void ctl_mock_usage(FILE *out, const char *name)
{
	fprintf(out, "Usage: arbiterctl mock-kafka [options]\n\n"
		     "Runs librdkafka's mock Kafka cluster on loopback until SIGTERM or SIGINT,\n"
		     "with the topics of a config created, and prints its bootstrap address.\n\n"
		     "  -n, --broker-count N     number of brokers (default 1)\n"
		     "  -p, --partitions P       partitions per topic (default 4)\n"
		     "  -c, --config FILE        create the topics named in FILE (default: the\n"
		     "                           default topic names)\n"
		     "  -T, --topic NAME[:P]     create another topic (repeatable)\n"
		     "  -o, --bootstrap-file F   also write the address to F (atomically)\n");
}

/* What the command line asks for. */
struct ctl_mock_opts {
	const char *broker_count, *partitions, *config, *bootstrap_file;
	struct ctl_list topics; /* NAME[:P] */
	long n_brokers, n_partitions;
};

/* Reads and checks the command line into O. Returns CTL_RUN or an exit
 * status. */
static int ctl_mock_parse(int argc, char **argv, struct ctl_mock_opts *o)
{
	const struct ctl_opt opts[] = {
		CTL_VALUE("broker-count", 'n', &o->broker_count, CTL_OPTIONAL),
		CTL_VALUE("partitions", 'p', &o->partitions, CTL_OPTIONAL),
		CTL_CONFIG(&o->config, CTL_OPTIONAL),
		CTL_LIST("topic", 'T', &o->topics),
		CTL_VALUE("bootstrap-file", 'o', &o->bootstrap_file, CTL_OPTIONAL),
		{0},
	};
	int rc = ctl_options(argc, argv, opts, ctl_mock_usage, NULL);
	if (rc != CTL_RUN)
		return rc;
	o->n_brokers = 1;
	o->n_partitions = 4;
	if ((o->broker_count && ctl_number(o->broker_count, 1, 9, &o->n_brokers) < 0) ||
	    (o->partitions && ctl_number(o->partitions, 1, 1024, &o->n_partitions) < 0)) {
		fprintf(stderr,
			"arbiterctl mock-kafka: --broker-count 1..9, --partitions 1..1024\n");
		return 2;
	}
	return CTL_RUN;
}

/* Creates the topics of CFG and those O names. Returns 0 or -EIO (said). */
static int ctl_mock_topics(struct kafka_mock *m, const struct config *cfg,
			   const struct ctl_mock_opts *o)
{
	const struct config_topic *topics[] = {
		&cfg->kafka.topics.content,     &cfg->kafka.topics.decisions,
		&cfg->kafka.topics.escalations, &cfg->kafka.topics.audit,
		&cfg->kafka.topics.appeals,     &cfg->kafka.topics.deadletter,
	};
	for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++)
		if (kafka_mock_topic_create(m, topics[i]->name, (int)o->n_partitions) < 0)
			return -EIO;
	for (int i = 0; i < o->topics.n; i++) {
		char name[256];
		long p = o->n_partitions;
		snprintf(name, sizeof(name), "%s", o->topics.v[i]);
		char *colon = strrchr(name, ':');
		if (colon) {
			*colon = '\0';
			p = atoi(colon + 1);
		}
		if (p < 1 || kafka_mock_topic_create(m, name, (int)p) < 0)
			return -EIO;
	}
	return 0;
}

/* Says where the cluster is: BS on stdout and, with --bootstrap-file, in
 * that file (written whole or not at all). Returns 0 or -EIO (said). */
static int ctl_mock_announce(const char *bs, const struct ctl_mock_opts *o)
{
	if (o->bootstrap_file) {
		char tmp[4096];
		snprintf(tmp, sizeof(tmp), "%s.tmp", o->bootstrap_file);
		FILE *f = fopen(tmp, "w");
		if (!f || fprintf(f, "%s\n", bs) < 0 || fclose(f) != 0 ||
		    rename(tmp, o->bootstrap_file) != 0) {
			perror(o->bootstrap_file);
			return -EIO;
		}
	}
	printf("%s\n", bs);
	fflush(stdout);
	return 0;
}

/* Runs the cluster of O until SIGTERM or SIGINT. Returns the exit status. */
static int ctl_mock_run(const struct ctl_mock_opts *o)
{
	struct config *cfg =
		o->config ? ctl_config_load("mock-kafka", o->config) : config_default(NULL);
	if (!cfg)
		return 1;
	log_set_level(LOG_WARN);

	/* Block the stop signals before librdkafka starts its threads (they
	 * inherit the mask), then wait for one with sigwait: no handler, no
	 * window between writing the address and being ready to stop. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);

	int rc = 1;
	struct kafka_mock *m = NULL;
	if (kafka_mock_start((int)o->n_brokers, &m) == 0 && ctl_mock_topics(m, cfg, o) == 0 &&
	    ctl_mock_announce(kafka_mock_bootstraps(m), o) == 0) {
		int sig;
		sigwait(&stop, &sig);
		/* A stale file must not look like a live cluster. */
		if (o->bootstrap_file)
			unlink(o->bootstrap_file);
		rc = 0;
	}
	kafka_mock_stop(m);
	config_free(cfg);
	return rc;
}

int ctl_mock_kafka(int argc, char **argv)
{
	struct ctl_mock_opts o = {0};
	int rc = ctl_mock_parse(argc, argv, &o);
	return rc == CTL_RUN ? ctl_mock_run(&o) : rc;
}
