/* Fault suite: the arbiterd instances of one consumer group, started, killed, frozen, stopped
 * and restarted like a supervisor would. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "harness.h"

#define FAULT_FLEET_MAX 3

enum fault_slot_state {
	FAULT_SLOT_OFF,      /* not started, or left the group */
	FAULT_SLOT_RUNNING,  /* a live process */
	FAULT_SLOT_FROZEN,   /* SIGSTOPped: the zombie */
	FAULT_SLOT_STOPPING, /* SIGTERM sent, not reaped yet */
	FAULT_SLOT_DEAD,     /* killed or exited; a restart is due */
};

struct fault_slot {
	char name[8];
	char config[320];
	char log[320];
	pid_t pid;
	enum fault_slot_state state;
	double stop_at;    /* when SIGTERM was sent */
	double restart_at; /* a supervisor's restart after an exit of its own; 0: none */
	double started_at; /* the suite's clock at the last start */
	int starts;
};

struct fault_fleet {
	struct harness *h;
	struct fault_slot slot[FAULT_FLEET_MAX];
	int n;
	/* what happened that a supervisor sees */
	int self_exits; /* exited on their own with a status (restarted) */
	int crashes;    /* died of a signal we did not send */
	int bad_stops;  /* a SIGTERM that did not end in exit 0 within the bound */
	char problems[1024];
};

/* N instances of H, each with a config of its own (EXTRA appended; a stable
 * kafka.transactional_id per instance, as a StatefulSet gives) and a log; none started. */
void fault_fleet_init(struct fault_fleet *f, struct harness *h, int n, const char *extra);

/* Starts instance I (a join, or a restart) at suite time NOW. */
void fault_fleet_start(struct fault_fleet *f, int i, double now);
/* kill -9 of instance I, reaped at once. */
void fault_fleet_kill(struct fault_fleet *f, int i);
/* SIGTERM to instance I: it leaves the group once drained (fault_fleet_poll reaps it). */
void fault_fleet_leave(struct fault_fleet *f, int i);
/* SIGSTOP / SIGCONT of instance I. */
void fault_fleet_freeze(struct fault_fleet *f, int i);
void fault_fleet_thaw(struct fault_fleet *f, int i);

/* Reaps what exited: a stop that ended, or an instance that died on its own (a crash, or a
 * fatal error's exit 1), which is restarted a second later, as a supervisor would. NOW is the
 * suite's clock in seconds. */
void fault_fleet_poll(struct fault_fleet *f, double now);

/* The index of the CHOICE-th instance (modulo their count) in state STATE, or -1 when none. */
int fault_fleet_pick(const struct fault_fleet *f, enum fault_slot_state state,
		     unsigned long choice);
/* How many instances are in STATE. */
int fault_fleet_count(const struct fault_fleet *f, enum fault_slot_state state);

/* Stops every live instance with SIGTERM and waits for each (frozen ones are thawed first). */
void fault_fleet_stop_all(struct fault_fleet *f);
