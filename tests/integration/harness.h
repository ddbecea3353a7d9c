/* Integration-test harness: an in-process mock Kafka cluster, arbiterd as a child process, and
 * readers. */
#pragma once

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
	const char *redis_address; /* written as redis.address (EXTRA must not hold redis:) */
};

/* Starts a mock cluster with every default topic at PARTITIONS partitions, a
 * producer, and a fresh temporary directory. Fails the test on error. */
void harness_start(struct harness *h, int partitions);

/* Writes the daemon's config: brokers, group and fast test timings, then
 * EXTRA (YAML lines appended verbatim; may be NULL). */
void harness_write_config(struct harness *h, const char *extra);

/* Starts arbiterd on the config; stderr goes to the log. */
void harness_daemon_start(struct harness *h);

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
