/* Integration-test harness: an in-process mock Kafka cluster, arbiterd as a child process, and
 * readers. */
#pragma once

#include <check.h>
#include <librdkafka/rdkafka.h>
#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "kafka_mock.h"

struct harness {
	struct kafka_mock *mock;
	const char *bootstrap;
	rd_kafka_t *producer;
	char dir[256];    /* temporary directory: config, logs */
	char config[320]; /* dir/arbiter.yaml */
	char log[320];    /* dir/arbiterd.log: every daemon run appends */
	char group[64];
	pid_t daemon;
	/* Overrides for harness_write_config; zero/NULL keeps the default. */
	unsigned max_inflight;
	const char *log_level;
	const char *kafka_debug;      /* librdkafka's debug contexts for the daemons, or NULL */
	const char *redis_address;    /* written as redis.address (EXTRA must not hold redis:) */
	unsigned session_timeout_ms;  /* kafka session.timeout.ms; 0: 6000 */
	const char *transactional_id; /* kafka.transactional_id; NULL: none (the default) */
};

/* Starts a mock cluster with every default topic at PARTITIONS partitions, a
 * producer, and a fresh temporary directory. Fails the test on error. */
void harness_start(struct harness *h, int partitions);
/* The same on a mock cluster of BROKERS brokers, whose partition leaders are spread over
 * them (the fault suite moves leaders and takes brokers down). */
void harness_start_cluster(struct harness *h, int brokers, int partitions);

/* Whether the daemons under test run with kafka.exactly_once (ARBITER_TEST_EXACTLY_ONCE). */
bool harness_exactly_once(void);
/* Writes the daemon's config: brokers, group and fast test timings, then
 * EXTRA (YAML lines appended verbatim; may be NULL). */
void harness_write_config(struct harness *h, const char *extra);
/* The same config written to PATH instead of h->config (one per instance of a fleet). */
void harness_write_config_at(struct harness *h, const char *path, const char *extra);

/* A loopback TCP port the kernel just handed out: free unless another process takes it
 * before the caller binds it. */
int harness_free_port(void);

/* Writes TEXT to the file NAME in the test's directory (rule files, lists). Fails the test
 * on error. */
void harness_write_file(struct harness *h, const char *name, const char *text);

/* Starts arbiterd on the config, stderr to the log, and waits (up to 10 s) until it has
 * subscribed, its signal handlers in place, or has exited. */
void harness_daemon_start(struct harness *h);

/* Starts arbiterd on CONFIG with its stdout and stderr appended to LOG, dying with the test;
 * returns its pid. h->daemon is left alone: the caller waits for the child. */
pid_t harness_daemon_spawn(const char *config, const char *log);

/* Sends SIG and waits for the daemon; returns its exit status, or 128+signal
 * when it was killed. */
int harness_daemon_stop(struct harness *h, int sig);

/* True while the daemon process is alive. */
bool harness_daemon_alive(struct harness *h);

/* Produces one message and, when FLUSH, waits until all are acknowledged. */
void harness_produce(struct harness *h, const char *topic, const char *key, const void *value,
		     size_t len);
void harness_produce_msg(struct harness *h, const char *topic, const char *key,
			 const ProtobufCMessage *msg);
void harness_flush(struct harness *h);
/* Produces content events e-FROM..e-(TO-1) (content c-I, text "some text", report_count
 * I % 10, language LANGS[I % n] of the NULL-terminated LANGS) and flushes; returns how many
 * have report_count >= 5, the ones rules on reports escalate. */
int harness_produce_reported(struct harness *h, int from, int to, const char *const *langs);

/* Number of records in TOPIC (sum of end offsets; topics are never compacted here). */
int64_t harness_count(struct harness *h, const char *topic);

/* Waits up to TIMEOUT_S for the group's committed offsets of TOPIC to reach
 * its end offsets. Returns true when they did. */
bool harness_wait_committed(struct harness *h, const char *topic, int timeout_s);

/* The group's committed offset of each partition of TOPIC into OUT (up to
 * N partitions; -1 when none). Returns the number of partitions. */
int harness_committed(struct harness *h, const char *topic, int64_t *out, int n);

/* Waits up to TIMEOUT_S for TOPIC to hold at least N records. */
bool harness_wait_count(struct harness *h, const char *topic, int64_t n, int timeout_s);

/* Calls FN for every record of TOPIC, from the beginning to the current end. */
void harness_read(struct harness *h, const char *topic,
		  void (*fn)(void *opaque, const rd_kafka_message_t *m), void *opaque);

/* True when the daemon's log contains NEEDLE. */
bool harness_log_contains(struct harness *h, const char *needle);

/* Stops the daemon if running, the producer and the mock; removes the directory. */
void harness_stop(struct harness *h);

/* ---- child processes: arbiterctl, arbiterd ---- */

/* How long one child may run before it is killed and the test fails. */
#define HARNESS_RUN_TIMEOUT_S 60

/* What a child did. */
struct harness_run {
	int status; /* exit status, or 128 + signal */
	char *out;  /* stdout, NUL-terminated */
	char *err;  /* stderr, NUL-terminated */
};

/* Runs ARGV (the program's path first, NULL-terminated) with INPUT on its
 * stdin (nothing when NULL) and collects its output and exit status into R.
 * The child dies with the test. Fails the test when it cannot run or runs
 * longer than HARNESS_RUN_TIMEOUT_S. */
void harness_runv(struct harness_run *r, const char *input, const char *const *argv);
/* The same with the arguments given one by one after PROG, up to NULL. */
void harness_run(struct harness_run *r, const char *input, const char *prog, ...)
	__attribute__((sentinel));
/* Runs arbiterctl ($ARBITERCTL) with the arguments of the shell command line
 * FMT (printf-formatted, quoted as for sh, which may redirect) and INPUT on
 * its stdin, as harness_runv. Returns its exit status; R may be NULL when
 * that is all that matters. */
int harness_ctl(struct harness_run *r, const char *input, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same with ARGS, the arguments one by one (NULL-terminated): no shell. */
int harness_ctlv(struct harness_run *r, const char *input, const char *const *args);
void harness_run_free(struct harness_run *r);

/* The path in environment variable VAR (ARBITERCTL, ARBITERD: meson test
 * sets them); fails the test when it is not set. */
const char *harness_bin(const char *var);
/* An empty anonymous file, for a child's standard streams. */
int harness_anon_file(void);
/* The whole content of FD from its start, NUL-terminated (malloc'd); closes
 * FD. */
char *harness_slurp(int fd);
/* Forks and execs ARGV (a program's path, or its name to look for in PATH)
 * with IN, OUT and ERR as its standard streams and no other descriptor of
 * the test; the child starts with default signal handling and dies with
 * the test. */
pid_t harness_spawn(const char *const *argv, int in, int out, int err);
/* Waits up to TIMEOUT_S for PID. Returns its exit status (128 + signal when
 * it was killed), or -1 when it did not exit in time: then it is killed. */
int harness_wait(pid_t pid, int timeout_s);

/* Runs suite S; returns main's exit status. */
int harness_main(Suite *s);
