/* arbiterctl subcommands: each takes the arguments after its name and returns an exit status. */
#pragma once

#include <librdkafka/rdkafka.h>
#include <protobuf-c/protobuf-c.h>

int ctl_check(int argc, char **argv);
int ctl_produce(int argc, char **argv);
int ctl_consume(int argc, char **argv);
int ctl_lag(int argc, char **argv);
int ctl_mock_kafka(int argc, char **argv);
int ctl_test_rules(int argc, char **argv);
int ctl_eval(int argc, char **argv);
int ctl_review(int argc, char **argv);
int ctl_queues(int argc, char **argv);
int ctl_audit(int argc, char **argv);
int ctl_report(int argc, char **argv);

/* The message type carried by a topic, by name or by its default name
 * ("content", "decision", "escalation", "audit", "appeal", "deadletter"
 * or a topic whose name contains one of them). NULL when unknown. */
const ProtobufCMessageDescriptor *ctl_type_for(const char *name);

/* A client config for BROKERS with our log callback; NULL on a bad property
 * (logged). */
rd_kafka_conf_t *ctl_kafka_conf(const char *brokers);

/* Reads every partition of TOPIC from its start to the end it had when
 * called, calling FN for each message (partitions interleave; offsets of one
 * partition come in order). FN returns 0, or a negative errno to stop.
 * Returns 0, FN's error, or -EIO when the topic cannot be read to its end
 * (said on stderr). */
int ctl_read_topic(const char *brokers, const char *topic,
		   int (*fn)(void *opaque, const rd_kafka_message_t *m), void *opaque);

/* ctl_read_topic with a client config of the caller's (consumed, whatever
 * the outcome); reads committed records only. */
int ctl_read_topic_conf(rd_kafka_conf_t *conf, const char *topic,
			int (*fn)(void *opaque, const rd_kafka_message_t *m), void *opaque);
