/* Policy reload: loaded on the thread pool, swapped in on the loop; rule files watched. */
#include "reload.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"

#define RELOAD_DEBOUNCE_MS 300 /* an editor's save is several events: reload once */

struct reload {
	uv_loop_t *loop;
	const char *path;
	struct notify *notify;
	reload_done_cb done;
	void *opaque;
	uv_timer_t debounce;
	uv_fs_event_t **watches; /* one per directory holding a rule or list file */
	size_t n_watches;
	char **watched_files; /* basenames of the ruleset's files */
	size_t n_watched_files;
	unsigned open_handles;
	bool running, again, closing;
};

/* One load on the thread pool. */
struct reload_job {
	uv_work_t work;
	struct reload *r;
	struct policy *policy;
	struct rules_ctx *ctx;
	struct diag_list diags;
	int rc;
};

static void reload_maybe_free(struct reload *r)
{
	if (!r->closing || r->open_handles || r->running)
		return;
	for (size_t i = 0; i < r->n_watched_files; i++)
		free(r->watched_files[i]);
	free(r->watched_files);
	free(r->watches);
	free(r);
}

/* Off the loop: the config, every rule and list file, the Hyperscan databases and a fresh
 * evaluation context. Nothing is shared with the running policy. */
static void reload_work(uv_work_t *w)
{
	struct reload_job *j = w->data;
	j->rc = policy_load(j->r->path, &j->policy, &j->diags);
	if (j->rc == 0) {
		j->ctx = rules_ctx_new(j->policy->rules);
		if (!j->ctx) {
			diag_error(&j->diags, j->r->path, 0, 0, NULL,
				   "out of memory building the rules context");
			j->rc = -ENOMEM;
		}
	}
}

static void reload_log_rejected(const struct reload *r, const struct reload_job *j)
{
	metrics_inc(reload_failures);
	log_error(main, "reload of %s rejected with %zu error(s); keeping the running policy",
		  r->path, j->diags.n_errors);
	diag_log(&j->diags, LOG_SUB_config);
}

static void reload_after(uv_work_t *w, int status)
{
	struct reload_job *j = w->data;
	struct reload *r = j->r;
	r->running = false;
	if (r->closing || status < 0) {
		rules_ctx_free(j->ctx);
		policy_free(j->policy);
	} else if (j->rc < 0) {
		reload_log_rejected(r, j);
		notify_ready(r->notify,
			     "reload rejected with %zu error(s); the running policy is kept",
			     j->diags.n_errors);
		policy_free(j->policy);
	} else {
		diag_log(&j->diags, LOG_SUB_config); /* warnings, at every load */
		notify_ready(r->notify, "running ruleset %.12s (%zu rule(s))",
			     rules_version(j->policy->rules), rules_count(j->policy->rules));
		r->done(r->opaque, j->policy, j->ctx);
	}
	diag_clear(&j->diags);
	free(j);
	if (r->again && !r->closing) {
		r->again = false;
		reload_request(r);
	}
	reload_maybe_free(r);
}

void reload_request(struct reload *r)
{
	if (r->closing)
		return;
	if (r->running) {
		r->again = true;
		return;
	}
	struct reload_job *j = calloc(1, sizeof(*j));
	if (!j) {
		log_error(main, "out of memory: reload skipped");
		return;
	}
	j->r = r;
	j->work.data = j;
	int rc = uv_queue_work(r->loop, &j->work, reload_work, reload_after);
	if (rc < 0) {
		log_error(main, "reload of %s not started: %s", r->path, uv_strerror(rc));
		free(j);
		return;
	}
	r->running = true;
	notify_reloading(r->notify);
}

static void reload_debounce_cb(uv_timer_t *t)
{
	struct reload *r = t->data;
	log_info(main, "rule files changed: reloading %s", r->path);
	reload_request(r);
}

static void reload_on_change(uv_fs_event_t *h, const char *filename, int events, int status)
{
	struct reload *r = h->data;
	(void)events;
	if (status < 0) {
		log_warn(main, "watching %s: %s", h->path ? h->path : "?", uv_strerror(status));
		return;
	}
	/* Only files of the ruleset count (editors leave swap files about). */
	bool ours = !filename;
	for (size_t i = 0; i < r->n_watched_files && !ours; i++)
		ours = !strcmp(r->watched_files[i], filename);
	/* Kubernetes swaps a ConfigMap by renaming a "..data" link. */
	if (ours || (filename && !strcmp(filename, "..data")))
		uv_timer_start(&r->debounce, reload_debounce_cb, RELOAD_DEBOUNCE_MS, 0);
}

static void reload_handle_closed(uv_handle_t *h)
{
	struct reload *r = h->data;
	if (h->type == UV_FS_EVENT)
		free(h);
	r->open_handles--;
	reload_maybe_free(r);
}

static void reload_unwatch(struct reload *r)
{
	for (size_t i = 0; i < r->n_watches; i++)
		uv_close((uv_handle_t *)r->watches[i], reload_handle_closed);
	r->n_watches = 0;
	for (size_t i = 0; i < r->n_watched_files; i++)
		free(r->watched_files[i]);
	r->n_watched_files = 0;
}

/* Starts watching DIR unless it is watched already. */
static void reload_watch_dir(struct reload *r, const char *dir)
{
	for (size_t k = 0; k < r->n_watches; k++) {
		char path[4096];
		size_t len = sizeof(path);
		if (uv_fs_event_getpath(r->watches[k], path, &len) == 0 && !strcmp(path, dir))
			return;
	}
	uv_fs_event_t *w = malloc(sizeof(*w));
	if (!w || uv_fs_event_init(r->loop, w) < 0) {
		free(w);
		log_warn(main, "cannot watch %s; reload with SIGHUP", dir);
		return;
	}
	w->data = r;
	r->open_handles++;
	int rc = uv_fs_event_start(w, reload_on_change, dir, 0);
	if (rc < 0) {
		log_warn(main, "cannot watch %s: %s; reload with SIGHUP", dir, uv_strerror(rc));
		uv_close((uv_handle_t *)w, reload_handle_closed);
		return;
	}
	r->watches[r->n_watches++] = w;
}

void reload_watch(struct reload *r, const struct ruleset *rules)
{
	reload_unwatch(r);
	const char *const *files;
	size_t n = rules_files(rules, &files);
	uv_fs_event_t **w = realloc(r->watches, (n + 1) * sizeof(*w));
	char **names = realloc(r->watched_files, (n + 1) * sizeof(*names));
	if (w)
		r->watches = w;
	if (names)
		r->watched_files = names;
	if (!w || !names) {
		log_warn(main, "out of memory: rule files are not watched; reload with SIGHUP");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const char *slash = strrchr(files[i], '/');
		char dir[4096];
		if (!slash)
			snprintf(dir, sizeof(dir), ".");
		else if (slash == files[i])
			snprintf(dir, sizeof(dir), "/");
		else
			snprintf(dir, sizeof(dir), "%.*s", (int)(slash - files[i]), files[i]);
		char *base = strdup(slash ? slash + 1 : files[i]);
		if (base)
			r->watched_files[r->n_watched_files++] = base;
		reload_watch_dir(r, dir);
	}
}

int reload_new(uv_loop_t *loop, const char *path, struct notify *notify, reload_done_cb done,
	       void *opaque, struct reload **out)
{
	struct reload *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	*r = (struct reload){
		.loop = loop, .path = path, .notify = notify, .done = done, .opaque = opaque};
	int rc = uv_timer_init(loop, &r->debounce);
	if (rc < 0) {
		free(r);
		return rc;
	}
	r->debounce.data = r;
	r->open_handles = 1;
	*out = r;
	return 0;
}

void reload_close(struct reload *r)
{
	if (!r)
		return;
	r->closing = true;
	reload_unwatch(r);
	uv_close((uv_handle_t *)&r->debounce, reload_handle_closed);
}
