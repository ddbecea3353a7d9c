/* The embedded Kafka broker: librdkafka's mock cluster behind one small module. */
#pragma once

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

/* librdkafka marks the mock API experimental; nothing outside this module and
 * tests that inject faults touches it. */
struct kafka_mock;

/* Starts a mock cluster of BROKERS brokers listening on loopback. Returns 0
 * and *out, or -ENOMEM / -EIO. */
int kafka_mock_start(int brokers, struct kafka_mock **out);

/* The bootstrap address list ("127.0.0.1:port,…"), valid until stop. */
const char *kafka_mock_bootstraps(const struct kafka_mock *m);

/* Creates TOPIC with PARTITIONS partitions (replication min(brokers, 3)).
 * Creating an existing topic is not an error. Returns 0 or -EIO. */
int kafka_mock_topic_create(struct kafka_mock *m, const char *topic, int partitions);

/* The raw cluster, for fault injection in tests. */
rd_kafka_mock_cluster_t *kafka_mock_cluster(struct kafka_mock *m);

/* Stops the brokers; clients still connected see them go away. NULL is a no-op. */
void kafka_mock_stop(struct kafka_mock *m);
