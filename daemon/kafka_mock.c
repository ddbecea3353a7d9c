/* The embedded Kafka broker: librdkafka's mock cluster, for the default config, demos and tests. */
#include "kafka_mock.h"

#include <errno.h>
#include <stdlib.h>

#include "kafka.h"
#include "log.h"

struct kafka_mock {
	rd_kafka_t *rk; /* the mock cluster needs a handle to live on */
	rd_kafka_mock_cluster_t *cluster;
	int brokers;
};

static void kafka_mock_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	log_write(kafka_log_level(level), LOG_SUB_mock, "%s: %s", fac, buf);
}

int kafka_mock_start(int brokers, struct kafka_mock **out)
{
	char err[256];
	struct kafka_mock *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_conf_set_log_cb(conf, kafka_mock_log);
	/* The cluster's sockets take their options from this handle's: TCP_NODELAY, as a
	 * Kafka broker sets on every connection. With Nagle on, a response written while
	 * the client has not yet acknowledged the last one waits for its delayed ACK
	 * (40 ms on Linux). */
	if (rd_kafka_conf_set(conf, "client.id", "arbiter-mock", err, sizeof(err)) !=
		    RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "socket.nagle.disable", "true", err, sizeof(err)) !=
		    RD_KAFKA_CONF_OK) {
		rd_kafka_conf_destroy(conf);
		free(m);
		return -EINVAL;
	}
	m->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	if (!m->rk) {
		log_error(mock, "cannot create the mock cluster's handle: %s", err);
		rd_kafka_conf_destroy(conf);
		free(m);
		return -EIO;
	}
	m->cluster = rd_kafka_mock_cluster_new(m->rk, brokers);
	if (!m->cluster) {
		log_error(mock, "cannot start a mock cluster of %d brokers", brokers);
		rd_kafka_destroy(m->rk);
		free(m);
		return -EIO;
	}
	m->brokers = brokers;
	*out = m;
	return 0;
}

const char *kafka_mock_bootstraps(const struct kafka_mock *m)
{
	return rd_kafka_mock_cluster_bootstraps(m->cluster);
}

int kafka_mock_topic_create(struct kafka_mock *m, const char *topic, int partitions)
{
	int rf = m->brokers < 3 ? m->brokers : 3;
	rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(m->cluster, topic, partitions, rf);
	if (err && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
		log_error(mock, "cannot create topic %s: %s", topic, rd_kafka_err2str(err));
		return -EIO;
	}
	return 0;
}

rd_kafka_mock_cluster_t *kafka_mock_cluster(struct kafka_mock *m)
{
	return m->cluster;
}

void kafka_mock_stop(struct kafka_mock *m)
{
	if (!m)
		return;
	rd_kafka_mock_cluster_destroy(m->cluster);
	rd_kafka_destroy(m->rk);
	free(m);
}
