/* Fault suite: the arbiterd instances of one consumer group, started, killed, frozen, stopped
 * and restarted like a supervisor would. */
#include "fault_fleet.h"

#include <check.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"

/* A stop drains for at most pipeline.drain_timeout (5 s) and flushes for a second or more. */
#define FAULT_FLEET_STOP_S 30

void fault_fleet_init(struct fault_fleet *f, struct harness *h, int n, const char *extra)
{
	memset(f, 0, sizeof(*f));
	f->h = h;
	f->n = n;
	/* FAULT_KAFKA_DEBUG=eos,cgrp (librdkafka's debug contexts) logs the clients' inner
	 * workings in each instance's log, for a failure that the daemon's own lines do not
	 * explain. */
	const char *debug = getenv("FAULT_KAFKA_DEBUG");
	if (debug && debug[0]) {
		h->kafka_debug = debug;
		h->log_level = "debug";
	}
	for (int i = 0; i < n; i++) {
		struct fault_slot *s = &f->slot[i];
		char tid[32];
		snprintf(s->name, sizeof(s->name), "%c", 'a' + i);
		snprintf(s->config, sizeof(s->config), "%s/arbiter-%s.yaml", h->dir, s->name);
		snprintf(s->log, sizeof(s->log), "%s/arbiterd-%s.log", h->dir, s->name);
		snprintf(tid, sizeof(tid), "fault-%s", s->name);
		h->transactional_id = tid;
		harness_write_config_at(h, s->config, extra);
		h->transactional_id = NULL;
	}
}

/* Writes what the suite does to instance S into its log, in the daemon's time format, so
 * that its lines read in order with the signals it was sent. */
static void fault_fleet_mark(const struct fault_slot *s, const char *what)
{
	FILE *f = fopen(s->log, "a");
	if (!f)
		return;
	char when[LOG_TIMESTAMP_LEN];
	log_timestamp(when);
	fprintf(f, "%s ----- [fault suite] %s\n", when, what);
	fclose(f);
}

void fault_fleet_start(struct fault_fleet *f, int i, double now)
{
	struct fault_slot *s = &f->slot[i];
	ck_assert_msg(s->state == FAULT_SLOT_OFF || s->state == FAULT_SLOT_DEAD,
		      "instance %s started twice", s->name);
	s->pid = harness_daemon_spawn(s->config, s->log);
	s->state = FAULT_SLOT_RUNNING;
	s->restart_at = 0;
	s->started_at = now;
	s->starts++;
}

void fault_fleet_kill(struct fault_fleet *f, int i)
{
	struct fault_slot *s = &f->slot[i];
	ck_assert_int_gt(s->pid, 0);
	fault_fleet_mark(s, "SIGKILL");
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	s->pid = 0;
	s->state = FAULT_SLOT_DEAD;
}

void fault_fleet_leave(struct fault_fleet *f, int i)
{
	struct fault_slot *s = &f->slot[i];
	ck_assert_int_eq(s->state, FAULT_SLOT_RUNNING);
	fault_fleet_mark(s, "SIGTERM");
	kill(s->pid, SIGTERM);
	s->state = FAULT_SLOT_STOPPING;
	s->stop_at = -1;
}

void fault_fleet_freeze(struct fault_fleet *f, int i)
{
	struct fault_slot *s = &f->slot[i];
	ck_assert_int_eq(s->state, FAULT_SLOT_RUNNING);
	fault_fleet_mark(s, "SIGSTOP (a zombie)");
	kill(s->pid, SIGSTOP);
	s->state = FAULT_SLOT_FROZEN;
}

void fault_fleet_thaw(struct fault_fleet *f, int i)
{
	struct fault_slot *s = &f->slot[i];
	if (s->state != FAULT_SLOT_FROZEN)
		return;
	fault_fleet_mark(s, "SIGCONT");
	kill(s->pid, SIGCONT);
	s->state = FAULT_SLOT_RUNNING;
}

/* Notes a problem for the final report (the first ones only). */
static void fault_fleet_problem(struct fault_fleet *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fault_fleet_problem(struct fault_fleet *f, const char *fmt, ...)
{
	size_t used = strlen(f->problems);
	if (used + 1 >= sizeof(f->problems))
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->problems + used, sizeof(f->problems) - used, fmt, ap);
	va_end(ap);
}

/* The last error line of LOG, for a report. */
static void fault_fleet_last_error(const char *log, char *out, size_t len)
{
	snprintf(out, len, "no error logged");
	FILE *f = fopen(log, "r");
	if (!f)
		return;
	char line[1024];
	while (fgets(line, sizeof(line), f)) {
		const char *e = strstr(line, " error ");
		if (!e)
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(out, len, "%s", e + 1);
	}
	fclose(f);
}

void fault_fleet_poll(struct fault_fleet *f, double now)
{
	for (int i = 0; i < f->n; i++) {
		struct fault_slot *s = &f->slot[i];
		if (s->pid <= 0 || s->state == FAULT_SLOT_FROZEN)
			continue;
		if (s->state == FAULT_SLOT_STOPPING && s->stop_at < 0)
			s->stop_at = now;
		int status;
		pid_t r = waitpid(s->pid, &status, WNOHANG);
		if (r != s->pid) {
			if (s->state == FAULT_SLOT_STOPPING &&
			    now - s->stop_at > FAULT_FLEET_STOP_S) {
				f->bad_stops++;
				fault_fleet_problem(
					f, "instance %s hung on SIGTERM (%d s, at %.1f s); ",
					s->name, FAULT_FLEET_STOP_S, now);
				fault_fleet_kill(f, i);
				s->state = FAULT_SLOT_OFF;
			}
			continue;
		}
		int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		s->pid = 0;
		if (s->state == FAULT_SLOT_STOPPING) {
			s->state = FAULT_SLOT_OFF;
			if (code != 0) {
				f->bad_stops++;
				fault_fleet_problem(f,
						    "instance %s left with status %d (at %.1f s); ",
						    s->name, code, now);
			}
			continue;
		}
		/* Died on its own while it should be running. */
		if (WIFSIGNALED(status)) {
			f->crashes++;
			fault_fleet_problem(f, "instance %s died of signal %d; ", s->name,
					    WTERMSIG(status));
		} else {
			f->self_exits++;
			char why[256];
			fault_fleet_last_error(s->log, why, sizeof(why));
			fault_fleet_problem(f, "instance %s exited with status %d (%s); ", s->name,
					    code, why);
		}
		s->state = FAULT_SLOT_DEAD;
		s->restart_at = now + 1;
	}
	for (int i = 0; i < f->n; i++) {
		struct fault_slot *s = &f->slot[i];
		if (s->state == FAULT_SLOT_DEAD && s->restart_at > 0 && now >= s->restart_at)
			fault_fleet_start(f, i, now);
	}
}

int fault_fleet_count(const struct fault_fleet *f, enum fault_slot_state state)
{
	int n = 0;
	for (int i = 0; i < f->n; i++)
		n += f->slot[i].state == state;
	return n;
}

int fault_fleet_pick(const struct fault_fleet *f, enum fault_slot_state state, unsigned long choice)
{
	int n = fault_fleet_count(f, state);
	if (n == 0)
		return -1;
	unsigned long k = choice % (unsigned long)n;
	for (int i = 0; i < f->n; i++)
		if (f->slot[i].state == state && k-- == 0)
			return i;
	return -1;
}

void fault_fleet_stop_all(struct fault_fleet *f)
{
	for (int i = 0; i < f->n; i++) {
		fault_fleet_thaw(f, i);
		if (f->slot[i].state == FAULT_SLOT_RUNNING)
			fault_fleet_leave(f, i);
	}
	for (int t = 0; fault_fleet_count(f, FAULT_SLOT_STOPPING) > 0; t++) {
		fault_fleet_poll(f, t * 0.1);
		usleep(100 * 1000);
	}
}
