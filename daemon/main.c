/* arbiterd: arguments, signals, the init chain, uv_run and an ordered teardown. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "arbiter_build.h"
#include "config.h"
#include "dsa.h"
#include "kafka_mock.h"
#include "log.h"
#include "metrics.h"
#include "pipeline.h"
#include "queues.h"
#include "rules.h"

struct daemon {
	uv_loop_t loop;
	const char *config_path;
	struct config *cfg;
	struct ruleset *rules;
	struct kafka_mock *mock;
	struct pipeline *pipeline;
	struct metrics_server *metrics;
	uv_signal_t sigterm, sigint, sighup;
	uv_fs_event_t **watches; /* one per directory holding a rule or list file */
	size_t n_watches;
	uv_timer_t debounce; /* an editor's save is several events: reload once */
	int exit_code;
	bool reloading;
	bool log_level_forced; /* --log-level wins over log.level, on reload too */
	bool reload_again;     /* a SIGHUP arrived while a reload was compiling */
};

/* A reload compiled off the loop. */
struct daemon_reload {
	uv_work_t work;
	struct daemon *d;
	struct config *cfg;
	struct ruleset *rules;
	struct rules_ctx *ctx;
	struct config_errors errs;
};

static void daemon_usage(FILE *out)
{
	fprintf(out,
		"Usage: arbiterd [--config FILE] [--log-level LEVEL]\n"
		"       arbiterd --check-config FILE\n"
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
		"  -l, --log-level LEVEL    error, warn, info or debug (overrides log.level)\n"
		"  -h, --help               show this help\n"
		"  -V, --version            print the version\n"
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

static void daemon_on_stop_signal(uv_signal_t *sig, int signum)
{
	struct daemon *d = sig->data;
	if (metrics.draining) {
		log_warn("main", "%s again: exiting without waiting for in-flight work",
			 strsignal(signum));
		uv_stop(&d->loop);
		return;
	}
	log_info("main", "%s: shutting down", strsignal(signum));
	pipeline_drain(d->pipeline);
}

/* Logs the rules that restrict content without a complete statement of
 * reasons: they run, but their audit records fall short of the DSA. */
static void daemon_warn_rules(const struct ruleset *rs)
{
	struct config_errors w = {0};
	dsa_rules_warnings(rs, &w);
	for (size_t i = 0; i < w.n; i++)
		log_warn("config", "%s:%d:%d: %s: %s", w.v[i].file, w.v[i].line, w.v[i].col,
			 w.v[i].key, w.v[i].msg);
	config_errors_clear(&w);
}

/* Off the loop: the config, every rule and list file, the Hyperscan
 * databases and a fresh evaluation context. Nothing is shared with the
 * running ruleset, so the loop keeps evaluating meanwhile. */
static void daemon_reload_work(uv_work_t *w)
{
	struct daemon_reload *r = w->data;
	if (config_load(r->d->config_path, &r->cfg, &r->errs) < 0)
		return;
	if (rules_load(r->cfg, &r->rules, &r->errs) < 0 ||
	    queues_check(r->cfg, r->rules, &r->errs) < 0) {
		rules_free(r->rules);
		r->rules = NULL;
		config_free(r->cfg);
		r->cfg = NULL;
		return;
	}
	r->ctx = rules_ctx_new(r->rules);
	if (!r->ctx) {
		config_errors_add(&r->errs, r->d->config_path, 0, 0, NULL,
				  "out of memory building the rules context");
		rules_free(r->rules);
		r->rules = NULL;
		config_free(r->cfg);
		r->cfg = NULL;
	}
}

static void daemon_watch(struct daemon *d);

static void daemon_reload(struct daemon *d);

static void daemon_reload_done(uv_work_t *w, int status)
{
	struct daemon_reload *r = w->data;
	struct daemon *d = r->d;
	d->reloading = false;
	if (!d->pipeline) {
		/* Shutting down: the reload lost the race. */
		rules_ctx_free(r->ctx);
		rules_free(r->rules);
		config_free(r->cfg);
	} else if (!r->cfg) {
		metrics_inc(reload_failures);
		log_error("main",
			  "reload of %s rejected with %zu error(s); keeping the running "
			  "configuration",
			  d->config_path, r->errs.n);
		for (size_t i = 0; i < r->errs.n; i++) {
			const struct config_error *e = &r->errs.v[i];
			log_error("config", "%s:%d:%d: %s%s%s", e->file, e->line, e->col,
				  e->key ? e->key : "", e->key ? ": " : "", e->msg);
		}
	} else {
		if (strcmp(r->cfg->metrics.listen ? r->cfg->metrics.listen : "",
			   d->cfg->metrics.listen ? d->cfg->metrics.listen : ""))
			log_warn("main", "metrics.listen changed: it takes effect after a restart");
		/* Both swaps happen here, between two events. */
		pipeline_set_config(d->pipeline, r->cfg);
		pipeline_set_rules(d->pipeline, r->rules, r->ctx);
		if (!d->log_level_forced)
			log_set_level(r->cfg->log.level);
		bool same = !strcmp(rules_version(d->rules), rules_version(r->rules));
		rules_free(d->rules);
		d->rules = r->rules;
		config_free(d->cfg);
		d->cfg = r->cfg;
		metrics_inc(reloads);
		log_info("main", "reloaded %s: %zu rule(s), ruleset %.12s%s", d->config_path,
			 rules_count(d->rules), rules_version(d->rules),
			 same ? " (unchanged)" : "");
		if (!same)
			daemon_warn_rules(d->rules);
		daemon_watch(d);
	}
	config_errors_clear(&r->errs);
	free(r);
	if (d->reload_again && status == 0) {
		d->reload_again = false;
		daemon_reload(d);
	}
}

static void daemon_reload(struct daemon *d)
{
	if (d->reloading) {
		d->reload_again = true;
		return;
	}
	struct daemon_reload *r = calloc(1, sizeof(*r));
	if (!r) {
		log_error("main", "out of memory: reload skipped");
		return;
	}
	r->d = d;
	r->work.data = r;
	/* Validation reads files: keep it off the loop. */
	if (uv_queue_work(&d->loop, &r->work, daemon_reload_work, daemon_reload_done) < 0) {
		free(r);
		return;
	}
	d->reloading = true;
}

static void daemon_debounce_cb(uv_timer_t *t)
{
	struct daemon *d = t->data;
	log_info("main", "rule files changed: reloading");
	daemon_reload(d);
}

static void daemon_on_file_change(uv_fs_event_t *h, const char *filename, int events, int status)
{
	struct daemon *d = h->data;
	if (status < 0) {
		log_warn("main", "watching %s: %s", h->path ? h->path : "?", uv_strerror(status));
		return;
	}
	/* Only files of the ruleset count (editors leave swap files about). */
	const char *const *files;
	size_t n = rules_files(d->rules, &files);
	bool ours = !filename;
	for (size_t i = 0; i < n && !ours; i++) {
		const char *base = strrchr(files[i], '/');
		ours = !strcmp(base ? base + 1 : files[i], filename);
	}
	/* Kubernetes swaps a ConfigMap by renaming a "..data" link. */
	if (ours || (filename && !strcmp(filename, "..data")))
		uv_timer_start(&d->debounce, daemon_debounce_cb, 300, 0);
}

static void daemon_watch_closed(uv_handle_t *h)
{
	free(h);
}

static void daemon_unwatch(struct daemon *d)
{
	for (size_t i = 0; i < d->n_watches; i++)
		uv_close((uv_handle_t *)d->watches[i], daemon_watch_closed);
	free(d->watches);
	d->watches = NULL;
	d->n_watches = 0;
}

/* Watches every directory holding a rule or list file: a directory, not the
 * file, because editors and ConfigMaps replace files by renaming. */
static void daemon_watch(struct daemon *d)
{
	daemon_unwatch(d);
	const char *const *files;
	size_t n = rules_files(d->rules, &files);
	d->watches = calloc(n + 1, sizeof(*d->watches));
	for (size_t i = 0; d->watches && i < n; i++) {
		char dir[4096];
		const char *slash = strrchr(files[i], '/');
		snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - files[i]) : 1,
			 slash ? files[i] : ".");
		if (!dir[0])
			snprintf(dir, sizeof(dir), "/");
		bool seen = false;
		for (size_t k = 0; k < d->n_watches && !seen; k++) {
			char path[4096];
			size_t len = sizeof(path);
			seen = uv_fs_event_getpath(d->watches[k], path, &len) == 0 &&
			       !strcmp(path, dir);
		}
		if (seen)
			continue;
		uv_fs_event_t *w = malloc(sizeof(*w));
		if (!w || uv_fs_event_init(&d->loop, w) < 0) {
			free(w);
			continue;
		}
		w->data = d;
		int rc = uv_fs_event_start(w, daemon_on_file_change, dir, 0);
		if (rc < 0) {
			log_warn("main", "cannot watch %s: %s; reload with SIGHUP", dir,
				 uv_strerror(rc));
			uv_close((uv_handle_t *)w, daemon_watch_closed);
			continue;
		}
		d->watches[d->n_watches++] = w;
	}
}

static void daemon_on_hup(uv_signal_t *sig, int signum)
{
	struct daemon *d = sig->data;
	log_info("main", "SIGHUP: reloading %s", d->config_path);
	daemon_reload(d);
}

static void daemon_close_walk(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check-config", required_argument, NULL, 'C'},
		{"log-level", required_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{0},
	};
	static struct daemon d = {.exit_code = 0};
	const char *log_level = NULL;
	char default_path[512];
	snprintf(default_path, sizeof(default_path), "%s/arbiter.yaml", ARBITER_SYSCONFDIR);
	d.config_path = default_path;

	int c;
	while ((c = getopt_long(argc, argv, "c:C:l:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			d.config_path = optarg;
			break;
		case 'C':
			return rules_check_config(optarg, stdout, stderr);
		case 'l':
			log_level = optarg;
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

	int rc;
	const char *bootstrap;
	struct config_errors errs = {0};
	d.exit_code = 1;

	if (config_load(d.config_path, &d.cfg, &errs) < 0) {
		config_errors_print(&errs, stderr);
		config_errors_clear(&errs);
		return 1;
	}
	log_set_level(d.cfg->log.level);
	if (log_level) {
		enum log_level l;
		if (log_level_parse(log_level, &l) < 0) {
			fprintf(stderr,
				"arbiterd: --log-level: expected error, warn, info or debug\n");
			goto out_config;
		}
		log_set_level(l);
		d.log_level_forced = true;
	}
	log_info("main", "arbiterd %s starting with %s", ARBITER_VERSION, d.config_path);
	if (rules_load(d.cfg, &d.rules, &errs) < 0 || queues_check(d.cfg, d.rules, &errs) < 0) {
		config_errors_print(&errs, stderr);
		config_errors_clear(&errs);
		goto out_config;
	}
	log_info("main", "%zu rule(s) loaded, ruleset %.12s", rules_count(d.rules),
		 rules_version(d.rules));
	daemon_warn_rules(d.rules);

	rc = uv_loop_init(&d.loop);
	if (rc < 0) {
		log_error("main", "uv_loop_init: %s", uv_strerror(rc));
		goto out_config;
	}

	bootstrap = d.cfg->kafka.brokers;
	if (d.cfg->kafka.mock_brokers > 0) {
		if (kafka_mock_start(d.cfg->kafka.mock_brokers, &d.mock) < 0)
			goto out_loop;
		const struct config_topic *topics[] = {
			&d.cfg->kafka.topics.content,     &d.cfg->kafka.topics.decisions,
			&d.cfg->kafka.topics.escalations, &d.cfg->kafka.topics.audit,
			&d.cfg->kafka.topics.appeals,     &d.cfg->kafka.topics.deadletter,
		};
		for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++)
			if (kafka_mock_topic_create(d.mock, topics[i]->name,
						    d.cfg->kafka.mock_partitions) < 0)
				goto out_mock;
		bootstrap = kafka_mock_bootstraps(d.mock);
		log_info("main", "embedded mock Kafka cluster (%d broker(s)) at %s",
			 d.cfg->kafka.mock_brokers, bootstrap);
	}

	if (d.cfg->metrics.listen && d.cfg->metrics.listen[0]) {
		rc = metrics_server_start(d.cfg->metrics.listen, &d.metrics);
		if (rc < 0) {
			log_error("main", "metrics.listen %s: %s", d.cfg->metrics.listen,
				  strerror(-rc));
			goto out_mock;
		}
	}

	if (pipeline_new(&d.loop, d.cfg, d.rules, daemon_stopped, &d, &d.pipeline) < 0)
		goto out_metrics;
	uv_timer_init(&d.loop, &d.debounce);
	d.debounce.data = &d;
	daemon_watch(&d);

	uv_signal_init(&d.loop, &d.sigterm);
	uv_signal_init(&d.loop, &d.sigint);
	uv_signal_init(&d.loop, &d.sighup);
	d.sigterm.data = d.sigint.data = d.sighup.data = &d;
	uv_signal_start(&d.sigterm, daemon_on_stop_signal, SIGTERM);
	uv_signal_start(&d.sigint, daemon_on_stop_signal, SIGINT);
	uv_signal_start(&d.sighup, daemon_on_hup, SIGHUP);
	signal(SIGPIPE, SIG_IGN);

	if (pipeline_start(d.pipeline, bootstrap) < 0)
		goto out_pipeline;

	d.exit_code = 0;
	uv_run(&d.loop, UV_RUN_DEFAULT);

out_pipeline:
	pipeline_free(d.pipeline);
	d.pipeline = NULL;
	daemon_unwatch(&d);
	uv_signal_stop(&d.sigterm);
	uv_signal_stop(&d.sigint);
	uv_signal_stop(&d.sighup);
	/* Closes the signal handles and anything else still open, then lets
	 * every close callback (and a pending reload) run. */
	uv_walk(&d.loop, daemon_close_walk, NULL);
	uv_run(&d.loop, UV_RUN_DEFAULT);
out_metrics:
	metrics_server_stop(d.metrics);
out_mock:
	kafka_mock_stop(d.mock);
out_loop:
	if (uv_loop_close(&d.loop) == UV_EBUSY)
		log_warn("main", "loop closed with handles still open");
out_config:
	rules_free(d.rules);
	config_free(d.cfg);
	log_info("main", "exit %d", d.exit_code);
	return d.exit_code;
}
