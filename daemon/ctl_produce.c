/* arbiterctl produce: send JSON lines from stdin to a topic, as JSON or converted to protobuf. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "log.h"
#include "pbjson.h"

static void ctl_produce_usage(FILE *out)
{
	fprintf(out,
		"Usage: arbiterctl produce --brokers B --topic T [options] < lines.jsonl\n\n"
		"Sends one message per input line (JSON objects with the proto field names),\n"
		"keyed by the line's content_id, and waits until every one is acknowledged.\n\n"
		"  -b, --brokers B     bootstrap servers, e.g. 127.0.0.1:9092\n"
		"  -t, --topic T       topic to produce to\n"
		"  -f, --format F      json (send lines as they are) or protobuf (default:\n"
		"                      convert each line to the topic's message type)\n"
		"  -y, --type TYPE     message type: content, decision, escalation, audit,\n"
		"                      appeal, deadletter (default: guessed from the topic)\n"
		"      --send-invalid  send lines that do not convert as raw bytes (to\n"
		"                      exercise the dead-letter path); default: skip them\n"
		"      --linger MS     how long the producer gathers a batch (linger.ms,\n"
		"                      0..1000, default 20); 0 sends each line at once\n"
		"\nExit status: 0 when every line was sent, 1 when some were skipped or failed.\n");
}

static int ctl_produce_failed;

static void ctl_produce_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	if (m->err) {
		ctl_produce_failed++;
		log_error("produce", "delivery failed: %s", rd_kafka_err2str(m->err));
	}
}

int ctl_produce(int argc, char **argv)
{
	static const struct option opts[] = {
		{"brokers", required_argument, NULL, 'b'}, {"topic", required_argument, NULL, 't'},
		{"format", required_argument, NULL, 'f'},  {"type", required_argument, NULL, 'y'},
		{"send-invalid", no_argument, NULL, 'I'},  {"linger", required_argument, NULL, 'L'},
		{"help", no_argument, NULL, 'h'},          {0},
	};
	const char *brokers = NULL, *topic = NULL, *type = NULL, *linger = "20";
	bool json = false, send_invalid = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "b:t:f:y:h", opts, NULL)) != -1) {
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
		case 'I':
			send_invalid = true;
			break;
		case 'L': {
			char *end;
			long ms = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end || ms < 0 || ms > 1000) {
				fprintf(stderr,
					"arbiterctl produce: --linger: expected milliseconds, "
					"0 to 1000\n");
				return 2;
			}
			linger = optarg;
			break;
		}
		case 'f':
			if (!strcmp(optarg, "json")) {
				json = true;
			} else if (strcmp(optarg, "protobuf")) {
				fprintf(stderr,
					"arbiterctl produce: --format: expected json or protobuf\n");
				return 2;
			}
			break;
		case 'h':
			ctl_produce_usage(stdout);
			return 0;
		default:
			ctl_produce_usage(stderr);
			return 2;
		}
	}
	if (!brokers || !topic) {
		ctl_produce_usage(stderr);
		return 2;
	}
	const ProtobufCMessageDescriptor *desc = ctl_type_for(type ? type : topic);
	if (!json && !desc) {
		fprintf(stderr,
			"arbiterctl produce: cannot tell the message type of topic '%s'; "
			"give --type\n",
			topic);
		return 2;
	}

	rd_kafka_conf_t *conf = ctl_kafka_conf(brokers);
	if (!conf)
		return 1;
	char err[256];
	rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof(err));
	rd_kafka_conf_set(conf, "linger.ms", linger, err, sizeof(err));
	rd_kafka_conf_set_dr_msg_cb(conf, ctl_produce_dr);
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	if (!rk) {
		fprintf(stderr, "arbiterctl produce: %s\n", err);
		rd_kafka_conf_destroy(conf);
		return 1;
	}

	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long lineno = 0, sent = 0, skipped = 0;
	while ((len = getline(&line, &cap, stdin)) >= 0) {
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0)
			continue;
		void *payload = line;
		size_t plen = (size_t)len;
		int flags = RD_KAFKA_MSG_F_COPY;
		char key[256] = "";
		json_t *obj = json_loadb(line, (size_t)len, 0, NULL);
		json_t *cid = json_is_object(obj) ? json_object_get(obj, "content_id") : NULL;
		if (json_is_string(cid))
			snprintf(key, sizeof(key), "%s", json_string_value(cid));
		if (!json) {
			ProtobufCMessage *msg = NULL;
			char why[256];
			if (pbjson_decode(desc, obj, &msg, why, sizeof(why)) < 0) {
				if (!obj)
					snprintf(why, sizeof(why), "not a JSON object");
				if (!send_invalid) {
					fprintf(stderr, "stdin:%ld: skipped: %s\n", lineno, why);
					skipped++;
					json_decref(obj);
					continue;
				}
			} else {
				plen = protobuf_c_message_get_packed_size(msg);
				payload = malloc(plen ? plen : 1);
				protobuf_c_message_pack(msg, payload);
				protobuf_c_message_free_unpacked(msg, NULL);
				flags = RD_KAFKA_MSG_F_FREE;
			}
		}
		json_decref(obj);
		rd_kafka_resp_err_t e;
		while ((e = rd_kafka_producev(
				rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(flags),
				RD_KAFKA_V_VALUE(payload, plen), RD_KAFKA_V_KEY(key, strlen(key)),
				RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
			rd_kafka_poll(rk, 100);
		if (e) {
			fprintf(stderr, "stdin:%ld: %s\n", lineno, rd_kafka_err2str(e));
			if (flags == RD_KAFKA_MSG_F_FREE)
				free(payload);
			skipped++;
			continue;
		}
		sent++;
		rd_kafka_poll(rk, 0);
	}
	free(line);
	if (rd_kafka_flush(rk, 30000) == RD_KAFKA_RESP_ERR__TIMED_OUT) {
		int left = rd_kafka_outq_len(rk);
		fprintf(stderr, "arbiterctl produce: %d message(s) not acknowledged after 30 s\n",
			left);
		ctl_produce_failed += left;
	}
	rd_kafka_destroy(rk);
	fprintf(stderr, "produced %ld message(s) to %s", sent - ctl_produce_failed, topic);
	if (skipped)
		fprintf(stderr, ", skipped %ld invalid line(s)", skipped);
	if (ctl_produce_failed)
		fprintf(stderr, ", %d failed", ctl_produce_failed);
	fprintf(stderr, "\n");
	return (skipped || ctl_produce_failed) ? 1 : 0;
}
