/* Telling the service manager what arbiterd is doing (sd_notify): ready, reloading, stopping,
 * a status line, and the watchdog's keep-alive from the loop. */
#pragma once

#include <uv.h>

struct notify;

/* Starts the watchdog's keep-alive on LOOP when systemd asked for one (WatchdogSec=): a
 * WATCHDOG=1 every half period, sent from the loop, so a stuck loop is restarted. Every call
 * of this module is a no-op when not under systemd (no NOTIFY_SOCKET) or without libsystemd.
 * Returns 0 or a negative errno. */
int notify_new(uv_loop_t *loop, struct notify **out);

/* READY=1 with STATUS= (printf-style): start-up is over, or a reload ended. */
void notify_ready(struct notify *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* RELOADING=1, with the monotonic time systemd 253's notify-reload wants. */
void notify_reloading(struct notify *n);

/* STOPPING=1: the drain has begun. */
void notify_stopping(struct notify *n);

/* Stops the keep-alive and closes its timer; N is freed by the close callback, so the loop
 * must run on. NULL is fine. */
void notify_close(struct notify *n);
