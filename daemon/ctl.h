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

/* The message type carried by a topic, by name or by its default name
 * ("content", "decision", "escalation", "audit", "appeal", "deadletter"
 * or a topic whose name contains one of them). NULL when unknown. */
const ProtobufCMessageDescriptor *ctl_type_for(const char *name);

/* A client config for BROKERS with our log callback; NULL on a bad property
 * (logged). */
rd_kafka_conf_t *ctl_kafka_conf(const char *brokers);
