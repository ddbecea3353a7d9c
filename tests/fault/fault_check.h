/* Fault suite: what the cluster held at moments during the run, and the final count of every
 * expected record and review entry: lost, duplicated, repeated by a fault, committed early. */
#pragma once

#include <hiredis/hiredis.h>
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdint.h>

#include "fault_model.h"
#include "harness.h"

#define FAULT_PARTS_MAX 16

/* The cluster at one moment: the group's committed input offsets, read first, then the end
 * offsets of the output topics, then the clock. Whatever an input below a committed offset
 * caused must already sit below these ends (or, in Redis, carry a stream id of no later
 * millisecond): its offset may commit only once its effects are acknowledged. */
struct fault_snap {
	double t; /* the suite's clock, s */
	bool ok;  /* false when the cluster could not be read in time (a broker down) */
	int64_t committed[FAULT_IN__N][FAULT_PARTS_MAX];
	int64_t end[FAULT_OUT_TOPICS][FAULT_PARTS_MAX];
	int64_t ms; /* wall clock, ms */
};

/* What a fault may leave behind: the records of input that was uncommitted when it struck,
 * written again by whoever handles that input next. START is the snapshot at (or just before)
 * the fault, END one taken when the faulty writer can no longer write (for a kill -9 the same
 * one; for the zombie, seconds after it was resumed). */
struct fault_window {
	const char *kind;
	int start, end; /* snapshot indexes; END -1 until taken */
	/* A plain offset commit that failed after its transaction committed (a rebalance was in
	 * progress): the mock keeps no transactional offsets, so it redelivers input whose
	 * records a committed transaction holds. A real broker keeps them with the records. */
	bool mock_offsets;
};

struct fault_watch {
	rd_kafka_t *rk; /* a client of the group that never joins it: reads its offsets */
	int partitions;
	struct fault_snap *snap;
	int n_snap, cap_snap;
	struct fault_window *win;
	int n_win, cap_win;
	int failed;    /* snapshots that could not be taken */
	char why[160]; /* why the last one failed */
};

/* A librdkafka log callback that drops everything (for the suite's own clients). */
void fault_quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf);

/* A watch on H's group and topics (PARTITIONS per topic). */
void fault_watch_init(struct fault_watch *w, struct harness *h, int partitions);
void fault_watch_free(struct fault_watch *w);
/* Takes a snapshot at suite time T; returns its index (its ok flag says whether it worked). */
int fault_watch_snap(struct fault_watch *w, double t);
/* Opens a window of KIND (a static string) at snapshot START; returns its index. */
int fault_watch_open(struct fault_watch *w, const char *kind, int start);
/* Adds a window for every failed offset commit that arbiterd's log LOG reports ("commit
 * failed"), from the last snapshot before it to the first after it. Returns how many. */
int fault_watch_read_log(struct fault_watch *w, const char *log);

/* What the final check found. */
struct fault_result {
	long checked[FAULT_OUT__N];    /* expected, and present */
	long lost[FAULT_OUT__N];       /* expected, and absent */
	long duplicated[FAULT_OUT__N]; /* present more than once, no fault explaining it */
	long repeated; /* extra copies of escalations, appeals, dead letters that a fault explains
			*/
	long repeated_offsets; /* of which a failed commit after a committed transaction explains */
	long repeated_by[FAULT_OUT__N];
	long unexpected;    /* records nobody expected, or with wrong ids or content */
	long fenced;        /* audit records of a zombie, outside the chains */
	long exact_dups;    /* audit records the verifier found written twice, outside the chains */
	long chain_records; /* audit records in the chains */
	int commit_snaps;   /* snapshots checked for early commits */
	long commit_offsets; /* input offsets checked across them */
	long commit_violations;
	char detail[4096]; /* the first problems, in words */
};

/* Reads every output topic (read_committed) and the Redis review queues through REDIS, and
 * checks them against model M (indexed) and the snapshots and windows of W. */
void fault_check_run(struct harness *h, redisContext *redis, const struct fault_model *m,
		     const struct fault_watch *w, struct fault_result *r);

/* Totals over the outputs. */
long fault_result_lost(const struct fault_result *r);
long fault_result_duplicated(const struct fault_result *r);
