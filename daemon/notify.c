/* sd_notify for arbiterd: readiness, reloads, stopping, status and the watchdog keep-alive. */
#include "notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arbiter_build.h"
#include "log.h"

#if ARBITER_WITH_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

struct notify {
	uv_timer_t watchdog;
	bool watching;
};

static void notify_send(const char *state)
{
#if ARBITER_WITH_SYSTEMD
	int rc = sd_notify(0, state);
	if (rc < 0)
		log_warn(main, "sd_notify: %s", strerror(-rc));
#else
	(void)state;
#endif
}

static void notify_watchdog_cb(uv_timer_t *t)
{
	(void)t;
	notify_send("WATCHDOG=1");
}

int notify_new(uv_loop_t *loop, struct notify **out)
{
	struct notify *n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	int rc = uv_timer_init(loop, &n->watchdog);
	if (rc < 0) {
		free(n);
		return rc;
	}
	n->watchdog.data = n;
#if ARBITER_WITH_SYSTEMD
	uint64_t usec = 0;
	if (sd_watchdog_enabled(0, &usec) > 0 && usec >= 2000) {
		uint64_t every_ms = usec / 2000;
		uv_timer_start(&n->watchdog, notify_watchdog_cb, every_ms, every_ms);
		n->watching = true;
		log_info(main, "systemd watchdog: keep-alive every %llu ms",
			 (unsigned long long)every_ms);
	}
#endif
	*out = n;
	return 0;
}

void notify_ready(struct notify *n, const char *fmt, ...)
{
	(void)n;
	char status[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(status, sizeof(status), fmt, ap);
	va_end(ap);
	char msg[300];
	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", status);
	notify_send(msg);
}

void notify_reloading(struct notify *n)
{
	(void)n;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	char msg[96];
	snprintf(msg, sizeof(msg), "RELOADING=1\nSTATUS=reloading\nMONOTONIC_USEC=%llu",
		 (unsigned long long)ts.tv_sec * 1000000ull +
			 (unsigned long long)ts.tv_nsec / 1000);
	notify_send(msg);
}

void notify_stopping(struct notify *n)
{
	(void)n;
	notify_send("STOPPING=1\nSTATUS=draining in-flight work");
}

static void notify_closed(uv_handle_t *h)
{
	free(h->data);
}

void notify_close(struct notify *n)
{
	if (n)
		uv_close((uv_handle_t *)&n->watchdog, notify_closed);
}
