/* librdkafka's statistics turned into gauges: the lag of every partition this instance owns, the
 * input topics' partition counts, and whether any broker is reachable. */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_impl.h"

/* One assigned input partition; its lag is -1 until statistics tell it. */
struct lag_part {
	char *topic;
	int32_t partition;
	int64_t lag;
};

#define KAFKA_MAX_INPUTS 4

/* Written on the loop, read by the HTTP thread, under the lock. Bounded: one entry per
 * assigned partition, one per input topic. */
static pthread_mutex_t kafka_lock = PTHREAD_MUTEX_INITIALIZER;
static struct lag_part *parts;
static size_t n_parts, cap_parts;
static char *inputs_seen[KAFKA_MAX_INPUTS];
static int64_t input_partitions[KAFKA_MAX_INPUTS];
static int64_t brokers_connected = -1; /* -1: no statistics yet */

static struct lag_part *kafka_find(const char *topic, int32_t partition)
{
	for (size_t i = 0; i < n_parts; i++)
		if (parts[i].partition == partition && !strcmp(parts[i].topic, topic))
			return &parts[i];
	return NULL;
}

void metrics_kafka_partition(const char *topic, int32_t partition, bool assigned)
{
	pthread_mutex_lock(&kafka_lock);
	struct lag_part *p = kafka_find(topic, partition);
	if (assigned && !p) {
		if (n_parts == cap_parts) {
			size_t cap = cap_parts ? cap_parts * 2 : 16;
			struct lag_part *v = realloc(parts, cap * sizeof(*v));
			if (v) {
				parts = v;
				cap_parts = cap;
			}
		}
		char *t = n_parts < cap_parts ? strdup(topic) : NULL;
		/* Out of memory: the partition is simply not exported. */
		if (t)
			parts[n_parts++] = (struct lag_part){t, partition, -1};
	} else if (!assigned && p) {
		free(p->topic);
		*p = parts[--n_parts];
	}
	pthread_mutex_unlock(&kafka_lock);
}

void metrics_kafka_brokers_down(void)
{
	metrics_set(brokers_down, true);
}

static int64_t kafka_int(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

/* The messages after the committed offset: the end is the last stable offset
 * (read_committed) when known, else the high watermark; before any commit, the
 * whole partition from its low watermark. -1 when unknown. */
static int64_t kafka_lag(const json_t *tp)
{
	int64_t end = kafka_int(tp, "ls_offset");
	if (end < 0)
		end = kafka_int(tp, "hi_offset");
	if (end < 0)
		return -1;
	int64_t from = kafka_int(tp, "committed_offset");
	if (from < 0)
		from = kafka_int(tp, "lo_offset");
	if (from < 0)
		return -1;
	return end > from ? end - from : 0;
}

/* The cluster's brokers (by node id) with a connection UP, and whether any
 * broker at all, a bootstrap one not yet known by id included, is UP. The
 * internal and logical (coordinator) handles are no brokers of their own. */
static void kafka_brokers(const json_t *brokers, int64_t *up, bool *any_up)
{
	const char *name;
	const json_t *b;
	int64_t seen[64];
	size_t n_seen = 0;
	*up = 0;
	*any_up = false;
	json_object_foreach((json_t *)brokers, name, b)
	{
		const char *source = json_string_value(json_object_get(b, "source"));
		const char *state = json_string_value(json_object_get(b, "state"));
		if (!source || !state || strcmp(state, "UP") ||
		    (strcmp(source, "learned") && strcmp(source, "configured")))
			continue;
		*any_up = true;
		int64_t id = kafka_int(b, "nodeid");
		bool dup = id < 0;
		for (size_t i = 0; i < n_seen && !dup; i++)
			dup = seen[i] == id;
		if (dup)
			continue;
		if (n_seen < sizeof(seen) / sizeof(seen[0]))
			seen[n_seen++] = id;
		(*up)++;
	}
}

/* Partitions of TOPIC's statistics: its "partitions" object less the
 * unassigned pseudo-partition -1 and those the metadata does not know. */
static int64_t kafka_topic_partitions(const json_t *topic)
{
	const json_t *ps = json_object_get(topic, "partitions");
	if (!json_is_object(ps))
		return -1;
	const char *key;
	const json_t *tp;
	int64_t n = 0;
	json_object_foreach((json_t *)ps, key, tp)
	{
		if (kafka_int(tp, "partition") < 0 || json_is_true(json_object_get(tp, "unknown")))
			continue;
		n++;
	}
	return n;
}

void metrics_kafka_stats(const char *json, size_t len, const char *const *inputs, size_t n_inputs)
{
	json_error_t err;
	json_t *root = json_loadb(json, len, 0, &err);
	if (!json_is_object(root)) {
		json_decref(root);
		return;
	}
	const json_t *brokers = json_object_get(root, "brokers");
	int64_t up = -1;
	bool any_up = false;
	if (json_is_object(brokers) && json_object_size(brokers) > 0) {
		kafka_brokers(brokers, &up, &any_up);
		metrics_set(brokers_down, !any_up);
	}
	const json_t *topics = json_object_get(root, "topics");

	pthread_mutex_lock(&kafka_lock);
	if (up >= 0)
		brokers_connected = up;
	for (size_t i = 0; i < n_parts; i++) {
		const json_t *t = json_object_get(topics, parts[i].topic);
		char key[16];
		snprintf(key, sizeof(key), "%d", (int)parts[i].partition);
		const json_t *tp = json_object_get(json_object_get(t, "partitions"), key);
		if (json_is_object(tp))
			parts[i].lag = kafka_lag(tp);
	}
	for (size_t i = 0; i < n_inputs && i < KAFKA_MAX_INPUTS; i++) {
		if (!inputs[i])
			continue;
		if (!inputs_seen[i] || strcmp(inputs_seen[i], inputs[i])) {
			char *copy = strdup(inputs[i]);
			if (!copy)
				continue;
			free(inputs_seen[i]);
			inputs_seen[i] = copy;
			input_partitions[i] = -1;
		}
		const json_t *t = json_object_get(topics, inputs[i]);
		if (json_is_object(t))
			input_partitions[i] = kafka_topic_partitions(t);
	}
	pthread_mutex_unlock(&kafka_lock);
	json_decref(root);
}

void metrics_kafka_render_lag(struct metrics_buf *b, const struct metrics_family *f)
{
	pthread_mutex_lock(&kafka_lock);
	for (size_t i = 0; i < n_parts; i++) {
		if (parts[i].lag < 0)
			continue;
		metrics_printf(b, "%s{topic=\"", f->name);
		metrics_label(b, parts[i].topic);
		metrics_printf(b, "\",partition=\"%d\"} %lld\n", (int)parts[i].partition,
			       (long long)parts[i].lag);
	}
	pthread_mutex_unlock(&kafka_lock);
}

void metrics_kafka_render_group_lag(struct metrics_buf *b, const struct metrics_family *f)
{
	int64_t sum = 0;
	pthread_mutex_lock(&kafka_lock);
	for (size_t i = 0; i < n_parts; i++)
		if (parts[i].lag > 0)
			sum += parts[i].lag;
	pthread_mutex_unlock(&kafka_lock);
	metrics_printf(b, "%s %lld\n", f->name, (long long)sum);
}

void metrics_kafka_render_partitions(struct metrics_buf *b, const struct metrics_family *f)
{
	pthread_mutex_lock(&kafka_lock);
	for (size_t i = 0; i < KAFKA_MAX_INPUTS; i++) {
		if (!inputs_seen[i] || input_partitions[i] < 0)
			continue;
		metrics_printf(b, "%s{topic=\"", f->name);
		metrics_label(b, inputs_seen[i]);
		metrics_printf(b, "\"} %lld\n", (long long)input_partitions[i]);
	}
	pthread_mutex_unlock(&kafka_lock);
}

void metrics_kafka_render_brokers(struct metrics_buf *b, const struct metrics_family *f)
{
	pthread_mutex_lock(&kafka_lock);
	int64_t n = brokers_connected;
	pthread_mutex_unlock(&kafka_lock);
	if (n >= 0)
		metrics_printf(b, "%s %lld\n", f->name, (long long)n);
}

void metrics_kafka_reset(void)
{
	pthread_mutex_lock(&kafka_lock);
	for (size_t i = 0; i < n_parts; i++)
		free(parts[i].topic);
	free(parts);
	parts = NULL;
	n_parts = cap_parts = 0;
	for (size_t i = 0; i < KAFKA_MAX_INPUTS; i++) {
		free(inputs_seen[i]);
		inputs_seen[i] = NULL;
		input_partitions[i] = -1;
	}
	brokers_connected = -1;
	pthread_mutex_unlock(&kafka_lock);
}
