/* Reloading the policy without a restart: on request (SIGHUP) or when a rule or list file
 * changes, the policy is loaded off the loop and handed to the loop whole, or not at all. */
#pragma once

#include <uv.h>

#include "notify.h"
#include "policy.h"
#include "rules.h"

/* Called on the loop with a policy that loaded cleanly and a fresh evaluation context for
 * its ruleset; both become the callee's. */
typedef void (*reload_done_cb)(void *opaque, struct policy *p, struct rules_ctx *ctx);

struct reload;

/* Reloads PATH on request, telling systemd through NOTIFY (may be NULL) that it is reloading
 * and when it is done. A policy that fails to load is logged with every error and counted
 * (arbiter_reload_failures_total); the running one is kept. Returns 0 or -ENOMEM. */
int reload_new(uv_loop_t *loop, const char *path, struct notify *notify, reload_done_cb done,
	       void *opaque, struct reload **out);

/* Starts a reload; one requested while another runs happens once, after it. */
void reload_request(struct reload *r);

/* Watches the directories of RULES' files (editors and Kubernetes ConfigMaps replace files
 * by renaming), replacing earlier watches; a change reloads after a short debounce. */
void reload_watch(struct reload *r, const struct ruleset *rules);

/* Closes every handle; a load still running on the thread pool is discarded when it ends.
 * The loop must run on for the close callbacks, after which R is freed. */
void reload_close(struct reload *r);
