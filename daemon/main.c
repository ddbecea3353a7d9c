/* arbiterd: arguments, signals, the init chain, uv_run and an ordered teardown. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "arbiter_build.h"
#include "kafka_mock.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "pipeline.h"
#include "policy.h"
#include "reload.h"

/* sysexits.h's EX_CONFIG: a configuration that is missing or invalid. */
#define EXIT_CONFIG 78

struct daemon {
	uv_loop_t loop;
	const char *config_path;
	const char *check_path; /* --check-config */
	const char *base_dir;   /* --base-dir: relative paths of the config resolve here */
	const char *log_level;  /* --log-level: wins over log.level, on reload too */
	struct policy *policy;
	struct kafka_mock *mock;
	struct pipeline *pipeline;
	struct metrics_server *metrics;
	struct reload *reload;
	struct notify *notify;
	bool ready_told; /* READY=1 sent */
	uv_signal_t sigterm, sigint, sighup;
	int exit_code;
};

static void daemon_usage(FILE *out)
{
	fprintf(out,
		"Usage: arbiterd [--config FILE] [--base-dir DIR] [--log-level LEVEL]\n"
		"       arbiterd --check-config FILE [--base-dir DIR]\n"
		"\n"
		"Consumes content events and moderation decisions from Kafka and applies\n"
		"the rule files to every content event: actions become audit records,\n"
		"escalations go to the Redis review queues (and to election monitors'\n"
		"topics). Decisions update the content's state in Redis and become audit\n"
		"records; appeals go to a reviewer other than the one who decided. Every\n"
		"audit record carries a DSA statement of reasons and is chained, per input\n"
		"partition, into a hash chain that `arbiterctl audit verify` checks; the\n"
		"audit topic must exist before the daemon starts. What cannot be decoded\n"
		"goes to the dead-letter topic with the reason. Offsets are committed only\n"
		"once every record a message caused is acknowledged. See README.md,\n"
		"docs/operations.md and config/arbiter.yaml.\n"
		"\n"
		"  -c, --config FILE        configuration file (default %s/arbiter.yaml)\n"
		"  -C, --check-config FILE  validate FILE, print every error with file:line:col,\n"
		"                           exit 0 when valid and 1 otherwise; connects nowhere\n"
		"  -b, --base-dir DIR       resolve the config's relative paths (rule files,\n"
		"                           secrets) against DIR instead of the config's own\n"
		"                           directory, e.g. for --check-config /dev/stdin\n"
		"  -l, --log-level LEVEL    error, warn, info or debug (overrides log.level)\n"
		"  -h, --help               show this help\n"
		"  -V, --version            print the version\n"
		"\n"
		"Exit status: 0 after a drain; 78 when the configuration is missing or invalid\n"
		"(a missing one names the example to start from); 1 on another start-up failure\n"
		"or a fatal Kafka error; 2 on a bad option.\n"
		"\n"
		"Signals: SIGTERM/SIGINT drain in-flight work (pipeline.drain_timeout), commit\n"
		"and exit 0; a second one exits at once. SIGHUP reloads the configuration; a\n"
		"configuration that fails validation is logged and the running one is kept.\n"
		"With kafka.brokers: mock the daemon starts an in-process mock Kafka cluster and\n"
		"logs its bootstrap address.\n",
		ARBITER_SYSCONFDIR);
}

static void daemon_stopped(void *opaque, bool fatal)
{
	struct daemon *d = opaque;
	if (fatal)
		d->exit_code = 1;
	uv_stop(&d->loop);
}

/* The first assignment makes the daemon useful: tell systemd, once. */
static void daemon_assigned(void *opaque, size_t partitions)
{
	struct daemon *d = opaque;
	if (d->ready_told)
		return;
	d->ready_told = true;
	notify_ready(d->notify, "serving: %zu partition(s) assigned, ruleset %.12s", partitions,
		     rules_version(d->policy->rules));
}

static void daemon_on_stop_signal(uv_signal_t *sig, int signum)
{
	struct daemon *d = sig->data;
	if (metrics.draining) {
		log_warn(main, "%s again: exiting without waiting for in-flight work",
			 strsignal(signum));
		uv_stop(&d->loop);
		return;
	}
	log_info(main, "%s: shutting down", strsignal(signum));
	notify_stopping(d->notify);
	pipeline_drain(d->pipeline);
}

/* The loop's side of a reload: both swaps happen here, between two events. */
static void daemon_reloaded(void *opaque, struct policy *p, struct rules_ctx *ctx)
{
	struct daemon *d = opaque;
	if (!d->pipeline) { /* shutting down: the reload lost the race */
		rules_ctx_free(ctx);
		policy_free(p);
		return;
	}
	const struct config *old = d->policy->cfg;
	if (strcmp(p->cfg->metrics.listen ? p->cfg->metrics.listen : "",
		   old->metrics.listen ? old->metrics.listen : ""))
		log_warn(main, "metrics.listen changed: it takes effect after a restart");
	pipeline_set_config(d->pipeline, p->cfg);
	pipeline_set_rules(d->pipeline, p->rules, ctx);
	if (!d->log_level)
		log_set_level(p->cfg->log.level);
	log_set_format(p->cfg->log.format);
	bool same = !strcmp(rules_version(d->policy->rules), rules_version(p->rules));
	policy_free(d->policy);
	d->policy = p;
	metrics_inc(reloads);
	log_info(main, "reloaded %s: %zu rule(s), ruleset %.12s%s", d->config_path,
		 rules_count(p->rules), rules_version(p->rules), same ? " (unchanged)" : "");
	reload_watch(d->reload, p->rules);
}

static void daemon_on_hup(uv_signal_t *sig, int signum)
{
	struct daemon *d = sig->data;
	log_info(main, "SIGHUP: reloading %s", d->config_path);
	reload_request(d->reload);
}

static void daemon_close_walk(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

/* Parses the command line into D. Returns -1 to go on, or the exit status. */
static int daemon_args(struct daemon *d, int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check-config", required_argument, NULL, 'C'},
		{"base-dir", required_argument, NULL, 'b'},
		{"log-level", required_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "c:C:b:l:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			d->config_path = optarg;
			break;
		case 'C':
			d->check_path = optarg;
			break;
		case 'b':
			d->base_dir = optarg;
			break;
		case 'l':
			d->log_level = optarg;
			break;
		case 'h':
			daemon_usage(stdout);
			return 0;
		case 'V':
			printf("arbiterd %s\n", ARBITER_VERSION);
			return 0;
		default:
			daemon_usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "arbiterd: unexpected argument '%s'\n", argv[optind]);
		daemon_usage(stderr);
		return 2;
	}
	enum log_level l;
	if (d->log_level && log_level_parse(d->log_level, &l) < 0) {
		fprintf(stderr, "arbiterd: --log-level: expected error, warn, info or debug\n");
		return 2;
	}
	if (d->check_path)
		return policy_check(d->check_path, d->base_dir, stdout, stderr);
	return -1;
}

/* Loads the policy, printing every finding: errors end the start, warnings do not. An
 * installed arbiterd has no config until one is made from the example: say how. */
static int daemon_load(struct daemon *d)
{
	struct diag_list diags = {0};
	if (access(d->config_path, F_OK) < 0 && errno == ENOENT) {
		fprintf(stderr,
			"arbiterd: no configuration at %s: copy %s/ (arbiter.yaml, rules/, lists/) "
			"to its directory and set kafka.brokers; see arbiter.yaml(5)\n",
			d->config_path, ARBITER_EXAMPLESDIR);
		return -ENOENT;
	}
	int rc = policy_load_at(d->config_path, d->base_dir, &d->policy, &diags);
	if (rc < 0) {
		diag_print(&diags, stderr);
		diag_clear(&diags);
		return rc;
	}
	log_set_format(d->policy->cfg->log.format);
	enum log_level l = d->policy->cfg->log.level;
	if (d->log_level)
		log_level_parse(d->log_level, &l);
	log_set_level(l);
	log_info(main, "arbiterd %s starting with %s: %zu rule(s), ruleset %.12s", ARBITER_VERSION,
		 d->config_path, rules_count(d->policy->rules), rules_version(d->policy->rules));
	diag_log(&diags, LOG_SUB_config); /* warnings */
	diag_clear(&diags);
	return 0;
}

/* kafka.brokers: mock: an in-process cluster with the configured topics. Sets *bootstrap. */
static int daemon_start_mock(struct daemon *d, const char **bootstrap)
{
	const struct config *cfg = d->policy->cfg;
	*bootstrap = cfg->kafka.brokers;
	if (cfg->kafka.mock_brokers <= 0)
		return 0;
	log_warn(main,
		 "kafka.brokers is %s: an in-process mock cluster whose data dies with "
		 "the process, for development and tests only",
		 cfg->kafka.brokers);
	if (kafka_mock_start(cfg->kafka.mock_brokers, &d->mock) < 0)
		return -1;
	const struct config_topic *topics[] = {
		&cfg->kafka.topics.content,     &cfg->kafka.topics.decisions,
		&cfg->kafka.topics.escalations, &cfg->kafka.topics.audit,
		&cfg->kafka.topics.appeals,     &cfg->kafka.topics.deadletter,
	};
	for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++)
		if (kafka_mock_topic_create(d->mock, topics[i]->name, cfg->kafka.mock_partitions) <
		    0)
			return -1;
	*bootstrap = kafka_mock_bootstraps(d->mock);
	log_info(main, "embedded mock Kafka cluster (%d broker(s)) at %s", cfg->kafka.mock_brokers,
		 *bootstrap);
	return 0;
}

static int daemon_start_metrics(struct daemon *d)
{
	const char *listen = d->policy->cfg->metrics.listen;
	if (!listen || !listen[0])
		return 0;
	int rc = metrics_server_start(listen, &d->metrics);
	if (rc < 0)
		log_error(main, "metrics.listen %s: %s", listen, strerror(-rc));
	return rc;
}

static int daemon_signal(struct daemon *d, uv_signal_t *h, uv_signal_cb cb, int signum)
{
	int rc = uv_signal_init(&d->loop, h);
	h->data = d;
	if (rc == 0)
		rc = uv_signal_start(h, cb, signum);
	if (rc < 0)
		log_error(main, "cannot handle %s: %s", strsignal(signum), uv_strerror(rc));
	return rc;
}

static int daemon_start_signals(struct daemon *d)
{
	signal(SIGPIPE, SIG_IGN);
	if (daemon_signal(d, &d->sigterm, daemon_on_stop_signal, SIGTERM) < 0 ||
	    daemon_signal(d, &d->sigint, daemon_on_stop_signal, SIGINT) < 0 ||
	    daemon_signal(d, &d->sighup, daemon_on_hup, SIGHUP) < 0)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	static struct daemon d = {.exit_code = 1};
	static char default_path[512];
	snprintf(default_path, sizeof(default_path), "%s/arbiter.yaml", ARBITER_SYSCONFDIR);
	d.config_path = default_path;
	int rc = daemon_args(&d, argc, argv);
	if (rc >= 0)
		return rc;

	const char *bootstrap;
	if (daemon_load(&d) < 0)
		return EXIT_CONFIG; /* systemd: RestartPreventExitStatus=78, no restart loop */
	rc = uv_loop_init(&d.loop);
	if (rc < 0) {
		log_error(main, "uv_loop_init: %s", uv_strerror(rc));
		goto out_policy;
	}
	if (daemon_start_mock(&d, &bootstrap) < 0)
		goto out_mock;
	/* Before the endpoint: /livez watches this loop's heartbeat. */
	if (metrics_loop_start(&d.loop) < 0 || daemon_start_metrics(&d) < 0)
		goto out_handles;
	static const struct pipeline_hooks hooks = {
		.stopped = daemon_stopped, .assigned = daemon_assigned, .opaque = &d};
	if (pipeline_new(&d.loop, d.policy->cfg, d.policy->rules, &hooks, &d.pipeline) < 0)
		goto out_handles;
	if (notify_new(&d.loop, &d.notify) < 0 ||
	    reload_new(&d.loop, d.config_path, d.notify, daemon_reloaded, &d, &d.reload) < 0)
		goto out_handles;
	reload_watch(d.reload, d.policy->rules);
	if (daemon_start_signals(&d) < 0 || pipeline_start(d.pipeline, bootstrap) < 0)
		goto out_handles;

	d.exit_code = 0;
	uv_run(&d.loop, UV_RUN_DEFAULT);

out_handles:
	pipeline_free(d.pipeline);
	d.pipeline = NULL;
	reload_close(d.reload);
	notify_close(d.notify);
	metrics_loop_stop();
	/* Closes the signal handles and anything else still open, then lets every close
	 * callback (and a reload still on the thread pool) run. */
	uv_walk(&d.loop, daemon_close_walk, NULL);
	uv_run(&d.loop, UV_RUN_DEFAULT);
	metrics_server_stop(d.metrics);
out_mock:
	kafka_mock_stop(d.mock);
	if (uv_loop_close(&d.loop) == UV_EBUSY)
		log_warn(main, "loop closed with handles still open");
out_policy:
	policy_free(d.policy);
	log_info(main, "exit %d", d.exit_code);
	return d.exit_code;
}
