/* arbiterctl consume and lag: read a topic's records back as JSON, compare a group's commits to the
 * ends. */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "log.h"
#include "pbjson.h"

static void ctl_consume_usage(FILE *out, const char *name)
{
	fprintf(out,
		"Usage: arbiterctl consume [--config CONFIG] [--brokers B] --topic T [options]\n\n"
		"Reads every partition of T from the beginning to its current end and\n"
		"prints each record (committed ones only) as one JSON line, decoded with\n"
		"the topic's type.\n\n"
		"  -c, --config CONFIG  the daemon's config: its brokers, kafka.properties\n"
		"                       ({file: PATH} secrets) and client id, as arbiterd\n"
		"                       uses them\n"
		"  -b, --brokers B      bootstrap servers (default: kafka.brokers of CONFIG)\n"
		"  -t, --topic T        topic to read\n"
		"  -y, --type TYPE      content, decision, escalation, audit, appeal or\n"
		"                       deadletter (default: guessed from the topic name)\n"
		"  -m, --meta           wrap each record: {partition, offset, key, record}\n"
		"      --count          print only the number of records\n"
		"  -g, --group-by FIELD print counts of records per value of FIELD\n");
}

/* What the command line asks for. */
struct ctl_consume_opts {
	const char *config, *brokers, *topic, *type, *group_by;
	bool meta, count_only;
	const ProtobufCMessageDescriptor *desc;
};

/* Reads and checks the command line into O. Returns CTL_RUN or an exit
 * status. */
static int ctl_consume_parse(int argc, char **argv, struct ctl_consume_opts *o)
{
	const struct ctl_opt opts[] = {
		CTL_CONFIG(&o->config, CTL_OPTIONAL),
		CTL_BROKERS(&o->brokers, CTL_OPTIONAL),
		CTL_TOPIC(&o->topic, CTL_REQUIRED),
		CTL_TYPE(&o->type),
		CTL_FLAG("meta", 'm', &o->meta),
		CTL_FLAG("count", 0, &o->count_only),
		CTL_VALUE("group-by", 'g', &o->group_by, CTL_OPTIONAL),
		{0},
	};
	int rc = ctl_options(argc, argv, opts, ctl_consume_usage, NULL);
	if (rc != CTL_RUN)
		return rc;
	if (!o->brokers && !o->config) {
		fprintf(stderr, "arbiterctl consume: --brokers or --config is required\n\n");
		ctl_consume_usage(stderr, argv[0]);
		return 2;
	}
	o->desc = ctl_type_for(o->type ? o->type : o->topic);
	if (!o->desc) {
		fprintf(stderr, "arbiterctl consume: cannot tell the type of '%s'; give --type\n",
			o->topic);
		return 2;
	}
	return CTL_RUN;
}

/* What one run has read. */
struct ctl_consume {
	const struct ctl_consume_opts *o;
	long n, bad;
	json_t *groups; /* --group-by: count per value */
};

/* Counts record J under its value of --group-by. */
static void ctl_consume_group(struct ctl_consume *s, json_t *j)
{
	json_t *v = json_object_get(j, s->o->group_by);
	char *k = v ? json_dumps(v, JSON_ENCODE_ANY) : strdup("(none)");
	json_t *cnt = json_object_get(s->groups, k);
	json_object_set_new(s->groups, k, json_integer(cnt ? json_integer_value(cnt) + 1 : 1));
	free(k);
}

/* Prints record M as a JSON line, or counts it. */
static int ctl_consume_record(void *opaque, const rd_kafka_message_t *m)
{
	struct ctl_consume *s = opaque;
	const struct ctl_consume_opts *o = s->o;
	ProtobufCMessage *rec = protobuf_c_message_unpack(o->desc, NULL, m->len, m->payload);
	json_t *j = rec ? pbjson_encode(rec) : NULL;
	if (!j) {
		s->bad++;
		j = json_pack("{s:s}", "undecodable", "true");
	}
	s->n++;
	if (o->group_by) {
		ctl_consume_group(s, j);
	} else if (!o->count_only) {
		if (o->meta) {
			json_t *w = json_pack("{s:i,s:I,s:s%,s:O}", "partition", m->partition,
					      "offset", (json_int_t)m->offset, "key",
					      m->key ? (const char *)m->key : "",
					      m->key ? m->key_len : (size_t)0, "record", j);
			json_decref(j);
			j = w;
		}
		char *line = json_dumps(j, JSON_COMPACT);
		puts(line);
		free(line);
	}
	json_decref(j);
	if (rec)
		protobuf_c_message_free_unpacked(rec, NULL);
	return 0;
}

int ctl_consume(int argc, char **argv)
{
	struct ctl_consume_opts o = {0};
	int rc = ctl_consume_parse(argc, argv, &o);
	if (rc != CTL_RUN)
		return rc;
	struct config *cfg = o.config ? ctl_config_load("consume", o.config) : NULL;
	if (o.config && !cfg)
		return 1;
	rd_kafka_conf_t *conf = ctl_kafka_conf_for("consume", o.brokers, cfg);
	config_free(cfg);
	if (!conf)
		return 1;
	/* Each partition is read to the end it had when we started. */
	struct ctl_consume s = {.o = &o, .groups = json_object()};
	rc = ctl_read_topic(conf, o.topic, ctl_consume_record, &s);
	if (o.count_only)
		printf("%ld\n", s.n);
	const char *k;
	json_t *v;
	json_object_foreach(s.groups, k, v)
		printf("%8" JSON_INTEGER_FORMAT "  %s\n", json_integer_value(v), k);
	json_decref(s.groups);
	if (s.bad)
		fprintf(stderr, "arbiterctl consume: %ld undecodable record(s)\n", s.bad);
	return s.bad || rc < 0 ? 1 : 0;
}

static void ctl_lag_usage(FILE *out, const char *name)
{
	fprintf(out,
		"Usage: arbiterctl lag [--config CONFIG] [--brokers B] [--group G] [--topic T]\n\n"
		"Prints, per partition of T, the group's committed offset, the end offset\n"
		"and the lag; the last line is the total. Exit 0.\n\n"
		"  -c, --config CONFIG  the daemon's config: its brokers, kafka.properties\n"
		"                       ({file: PATH} secrets) and client id as arbiterd uses\n"
		"                       them, and the defaults of --group (kafka.group_id)\n"
		"                       and --topic (both input topics)\n"
		"  -b, --brokers B      bootstrap servers (default: kafka.brokers of CONFIG)\n"
		"  -g, --group G        the consumer group\n"
		"  -t, --topic T        the topic\n");
}

/* Prints the lag of each partition in PARTS (committed offsets of TOPIC)
 * and the total. */
static void ctl_lag_print(rd_kafka_t *rk, const char *topic,
			  const rd_kafka_topic_partition_list_t *parts)
{
	int64_t total = 0, total_end = 0, total_committed = 0;
	for (int i = 0; i < parts->cnt; i++) {
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
	printf("total committed=%" PRId64 " end=%" PRId64 " lag=%" PRId64 "\n", total_committed,
	       total_end, total);
}

/* Prints the lag of GROUP (RK's) on TOPIC. Returns 0 or 1 (said). */
static int ctl_lag_topic(rd_kafka_t *rk, const char *topic)
{
	int np = ctl_partition_count(rk, topic);
	if (np < 0)
		return 1;
	rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(np);
	for (int p = 0; p < np; p++)
		rd_kafka_topic_partition_list_add(parts, topic, p);
	rd_kafka_resp_err_t err = rd_kafka_committed(rk, parts, 10000);
	int rc = 0;
	if (err) {
		fprintf(stderr, "arbiterctl lag: %s\n", rd_kafka_err2str(err));
		rc = 1;
	} else {
		ctl_lag_print(rk, topic, parts);
	}
	rd_kafka_topic_partition_list_destroy(parts);
	return rc;
}

int ctl_lag(int argc, char **argv)
{
	const char *config = NULL, *brokers = NULL, *topic = NULL, *group = NULL;
	const struct ctl_opt opts[] = {
		CTL_CONFIG(&config, CTL_OPTIONAL),
		CTL_BROKERS(&brokers, CTL_OPTIONAL),
		CTL_TOPIC(&topic, CTL_OPTIONAL),
		CTL_VALUE("group", 'g', &group, CTL_OPTIONAL),
		{0},
	};
	int rc = ctl_options(argc, argv, opts, ctl_lag_usage, NULL);
	if (rc != CTL_RUN)
		return rc;
	const char *bad = !brokers && !config ? "--brokers or --config is required" :
			  !config && !group   ? "--group is required without --config" :
			  !config && !topic   ? "--topic is required without --config" :
						NULL;
	if (bad) {
		fprintf(stderr, "arbiterctl lag: %s\n\n", bad);
		ctl_lag_usage(stderr, argv[0]);
		return 2;
	}
	struct config *cfg = config ? ctl_config_load("lag", config) : NULL;
	if (config && !cfg)
		return 1;
	rd_kafka_t *rk = ctl_consumer(ctl_kafka_conf_for("lag", brokers, cfg),
				      group ? group : cfg->kafka.group_id);
	rc = rk ? 0 : 1;
	if (rk && topic) {
		rc = ctl_lag_topic(rk, topic);
	} else if (rk) {
		rc = ctl_lag_topic(rk, cfg->kafka.topics.content.name);
		rc |= ctl_lag_topic(rk, cfg->kafka.topics.decisions.name);
	}
	if (rk)
		rd_kafka_destroy(rk);
	config_free(cfg);
	return rc;
}
