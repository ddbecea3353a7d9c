/* arbiterctl consume and lag: read a topic's records back as JSON, compare a group's commits to the
 * ends. */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "log.h"
#include "pbjson.h"

/* Returns the partition count of TOPIC, or -1 (logged). */
static int ctl_partitions(rd_kafka_t *rk, const char *topic)
{
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
	const struct rd_kafka_metadata *md = NULL;
	int n = -1;
	rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
	if (err) {
		fprintf(stderr, "arbiterctl: metadata for %s: %s\n", topic, rd_kafka_err2str(err));
	} else if (md->topic_cnt != 1 || md->topics[0].err) {
		fprintf(stderr, "arbiterctl: topic %s: %s\n", topic,
			md->topic_cnt ? rd_kafka_err2str(md->topics[0].err) : "not found");
	} else {
		n = md->topics[0].partition_cnt;
	}
	if (md)
		rd_kafka_metadata_destroy(md);
	rd_kafka_topic_destroy(rkt);
	return n;
}

static rd_kafka_t *ctl_consumer(const char *brokers, const char *group)
{
	char err[256];
	rd_kafka_conf_t *conf = ctl_kafka_conf(brokers);
	if (!conf)
		return NULL;
	if (rd_kafka_conf_set(conf, "group.id", group, err, sizeof(err)) ||
	    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err)) ||
	    rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof(err))) {
		fprintf(stderr, "arbiterctl: %s\n", err);
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
	if (!rk) {
		fprintf(stderr, "arbiterctl: %s\n", err);
		rd_kafka_conf_destroy(conf);
	}
	return rk;
}

static void ctl_consume_usage(FILE *out)
{
	fprintf(out, "Usage: arbiterctl consume --brokers B --topic T [options]\n\n"
		     "Reads every partition of T from the beginning to its current end and\n"
		     "prints each record as one JSON line, decoded with the topic's type.\n\n"
		     "  -b, --brokers B      bootstrap servers\n"
		     "  -t, --topic T        topic to read\n"
		     "  -y, --type TYPE      content, decision, escalation, audit, appeal or\n"
		     "                       deadletter (default: guessed from the topic name)\n"
		     "  -m, --meta           wrap each record: {partition, offset, key, record}\n"
		     "  -c, --count          print only the number of records\n"
		     "  -g, --group-by FIELD print counts of records per value of FIELD\n");
}

int ctl_consume(int argc, char **argv)
{
	static const struct option opts[] = {
		{"brokers", required_argument, NULL, 'b'},
		{"topic", required_argument, NULL, 't'},
		{"type", required_argument, NULL, 'y'},
		{"meta", no_argument, NULL, 'm'},
		{"count", no_argument, NULL, 'c'},
		{"group-by", required_argument, NULL, 'g'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *brokers = NULL, *topic = NULL, *type = NULL, *group_by = NULL;
	bool meta = false, count_only = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "b:t:y:mcg:h", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			brokers = optarg;
			break;
		case 't':
			topic = optarg;
			break;
		case 'y':
			type = optarg;
			break;
		case 'm':
			meta = true;
			break;
		case 'c':
			count_only = true;
			break;
		case 'g':
			group_by = optarg;
			break;
		case 'h':
			ctl_consume_usage(stdout);
			return 0;
		default:
			ctl_consume_usage(stderr);
			return 2;
		}
	}
	if (!brokers || !topic) {
		ctl_consume_usage(stderr);
		return 2;
	}
	const ProtobufCMessageDescriptor *desc = ctl_type_for(type ? type : topic);
	if (!desc) {
		fprintf(stderr, "arbiterctl consume: cannot tell the type of '%s'; give --type\n",
			topic);
		return 2;
	}
	rd_kafka_t *rk = ctl_consumer(brokers, "arbiterctl-consume");
	if (!rk)
		return 1;
	int np = ctl_partitions(rk, topic);
	if (np < 0) {
		rd_kafka_destroy(rk);
		return 1;
	}
	/* Only partitions with something in them are read; each stops at the
	 * end it had when we started. */
	rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(np);
	int64_t *ends = calloc((size_t)np, sizeof(*ends));
	int remaining = 0;
	for (int p = 0; p < np; p++) {
		int64_t lo = 0, hi = 0;
		if (rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 10000) == 0 &&
		    hi > lo) {
			rd_kafka_topic_partition_list_add(parts, topic, p)->offset =
				RD_KAFKA_OFFSET_BEGINNING;
			ends[p] = hi;
			remaining++;
		}
	}
	rd_kafka_assign(rk, parts);
	rd_kafka_topic_partition_list_destroy(parts);

	long n = 0, bad = 0;
	json_t *groups = json_object();
	while (remaining > 0) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 10000);
		if (!m) {
			fprintf(stderr, "arbiterctl consume: no progress for 10 s; stopping\n");
			break;
		}
		if (m->err) {
			if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
				fprintf(stderr, "arbiterctl consume: %s\n",
					rd_kafka_message_errstr(m));
			rd_kafka_message_destroy(m);
			continue;
		}
		bool last = m->offset + 1 >= ends[m->partition];
		ProtobufCMessage *rec = protobuf_c_message_unpack(desc, NULL, m->len, m->payload);
		json_t *j = rec ? pbjson_encode(rec) : NULL;
		if (!j) {
			bad++;
			j = json_pack("{s:s}", "undecodable", "true");
		}
		n++;
		if (group_by) {
			json_t *v = json_object_get(j, group_by);
			char *s = v ? json_dumps(v, JSON_ENCODE_ANY) : strdup("(none)");
			json_t *cnt = json_object_get(groups, s);
			json_object_set_new(groups, s,
					    json_integer(cnt ? json_integer_value(cnt) + 1 : 1));
			free(s);
		} else if (!count_only) {
			if (meta) {
				json_t *w = json_pack("{s:i,s:I,s:s%,s:O}", "partition",
						      m->partition, "offset", (json_int_t)m->offset,
						      "key", m->key ? (const char *)m->key : "",
						      m->key ? m->key_len : (size_t)0, "record", j);
				json_decref(j);
				j = w;
			}
			char *s = json_dumps(j, JSON_COMPACT);
			puts(s);
			free(s);
		}
		json_decref(j);
		if (rec)
			protobuf_c_message_free_unpacked(rec, NULL);
		if (last)
			remaining--;
		rd_kafka_message_destroy(m);
	}
	if (count_only)
		printf("%ld\n", n);
	if (group_by) {
		const char *k;
		json_t *v;
		json_object_foreach(groups, k, v)
			printf("%8" JSON_INTEGER_FORMAT "  %s\n", json_integer_value(v), k);
	}
	json_decref(groups);
	free(ends);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	if (bad)
		fprintf(stderr, "arbiterctl consume: %ld undecodable record(s)\n", bad);
	return bad || remaining ? 1 : 0;
}

int ctl_lag(int argc, char **argv)
{
	static const struct option opts[] = {
		{"brokers", required_argument, NULL, 'b'},
		{"topic", required_argument, NULL, 't'},
		{"group", required_argument, NULL, 'g'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *brokers = NULL, *topic = NULL, *group = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "b:t:g:h", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			brokers = optarg;
			break;
		case 't':
			topic = optarg;
			break;
		case 'g':
			group = optarg;
			break;
		case 'h':
		default:
			fprintf(c == 'h' ? stdout : stderr,
				"Usage: arbiterctl lag --brokers B --group G --topic T\n\n"
				"Prints, per partition, the group's committed offset, the end offset\n"
				"and the lag; the last line is the total. Exit 0.\n");
			return c == 'h' ? 0 : 2;
		}
	}
	if (!brokers || !topic || !group) {
		fprintf(stderr, "Usage: arbiterctl lag --brokers B --group G --topic T\n");
		return 2;
	}
	rd_kafka_t *rk = ctl_consumer(brokers, group);
	if (!rk)
		return 1;
	int np = ctl_partitions(rk, topic);
	if (np < 0) {
		rd_kafka_destroy(rk);
		return 1;
	}
	rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(np);
	for (int p = 0; p < np; p++)
		rd_kafka_topic_partition_list_add(parts, topic, p);
	rd_kafka_resp_err_t err = rd_kafka_committed(rk, parts, 10000);
	int rc = 0;
	if (err) {
		fprintf(stderr, "arbiterctl lag: %s\n", rd_kafka_err2str(err));
		rc = 1;
	}
	int64_t total = 0, total_end = 0, total_committed = 0;
	for (int i = 0; !rc && i < parts->cnt; i++) {
		int64_t lo = 0, hi = 0;
		rd_kafka_query_watermark_offsets(rk, topic, parts->elems[i].partition, &lo, &hi,
						 10000);
		int64_t committed = parts->elems[i].offset;
		int64_t lag = committed >= 0 ? hi - committed : hi - lo;
		if (committed >= 0)
			printf("%s[%d] committed=%" PRId64 " end=%" PRId64 " lag=%" PRId64 "\n",
			       topic, parts->elems[i].partition, committed, hi, lag);
		else
			printf("%s[%d] committed=none end=%" PRId64 " lag=%" PRId64 "\n", topic,
			       parts->elems[i].partition, hi, lag);
		total += lag;
		total_end += hi;
		total_committed += committed > 0 ? committed : 0;
	}
	if (!rc)
		printf("total committed=%" PRId64 " end=%" PRId64 " lag=%" PRId64 "\n",
		       total_committed, total_end, total);
	rd_kafka_topic_partition_list_destroy(parts);
	rd_kafka_destroy(rk);
	return rc;
}
