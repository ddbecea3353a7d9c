/* arbiterctl produce: send JSON lines from stdin to a topic, as JSON or converted to protobuf. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "log.h"
#include "pbjson.h"

static void ctl_produce_usage(FILE *out, const char *name)
{
	fprintf(out,
		"Usage: arbiterctl produce [--config CONFIG] [--brokers B] --topic T [options]\n"
		"                          < lines.jsonl\n\n"
		"Sends one message per input line (JSON objects with the proto field names),\n"
		"keyed by the line's content_id, and waits until every one is acknowledged.\n\n"
		"  -c, --config CONFIG the daemon's config: its brokers, kafka.properties\n"
		"                      ({file: PATH} secrets) and client id as arbiterd uses\n"
		"                      them, and the format of its input topics\n"
		"  -b, --brokers B     bootstrap servers, e.g. 127.0.0.1:9092 (default:\n"
		"                      kafka.brokers of CONFIG)\n"
		"  -t, --topic T       topic to produce to\n"
		"  -f, --format F      json (send lines as they are) or protobuf (convert each\n"
		"                      line to the topic's message type); default: the format\n"
		"                      CONFIG gives T when T is an input topic, else protobuf\n"
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
		log_error(ctl, "delivery failed: %s", rd_kafka_err2str(m->err));
	}
}

/* What the command line asks for. */
struct ctl_produce_opts {
	const char *config, *brokers, *topic, *type, *format, *linger;
	struct config *cfg; /* --config's, or NULL */
	bool send_invalid;
	bool json;                              /* --format json: lines go as they are */
	const ProtobufCMessageDescriptor *desc; /* otherwise, converted to this */
};

/* Reads and checks the command line into O. Returns CTL_RUN or an exit
 * status. */
static int ctl_produce_parse(int argc, char **argv, struct ctl_produce_opts *o)
{
	const struct ctl_opt opts[] = {
		CTL_CONFIG(&o->config, CTL_OPTIONAL),
		CTL_BROKERS(&o->brokers, CTL_OPTIONAL),
		CTL_TOPIC(&o->topic, CTL_REQUIRED),
		CTL_VALUE("format", 'f', &o->format, CTL_OPTIONAL),
		CTL_TYPE(&o->type),
		CTL_FLAG("send-invalid", 0, &o->send_invalid),
		CTL_VALUE("linger", 0, &o->linger, CTL_OPTIONAL),
		{0},
	};
	int rc = ctl_options(argc, argv, opts, ctl_produce_usage, NULL);
	if (rc != CTL_RUN)
		return rc;
	long ms;
	if (o->linger && ctl_number(o->linger, 0, 1000, &ms) < 0) {
		fprintf(stderr, "arbiterctl produce: --linger: expected milliseconds, 0 to 1000\n");
		return 2;
	}
	if (o->format && strcmp(o->format, "json") && strcmp(o->format, "protobuf")) {
		fprintf(stderr, "arbiterctl produce: --format: expected json or protobuf\n");
		return 2;
	}
	if (!o->brokers && !o->config) {
		fprintf(stderr, "arbiterctl produce: --brokers or --config is required\n\n");
		ctl_produce_usage(stderr, argv[0]);
		return 2;
	}
	if (o->config && !(o->cfg = ctl_config_load("produce", o->config)))
		return 1;
	o->json = o->format && !strcmp(o->format, "json");
	/* The daemon reads its input topics in the format the config gives them. */
	const struct config_topic *in[] = {o->cfg ? &o->cfg->kafka.topics.content : NULL,
					   o->cfg ? &o->cfg->kafka.topics.decisions : NULL};
	for (size_t i = 0; !o->format && o->cfg && i < 2; i++)
		if (!strcmp(o->topic, in[i]->name))
			o->json = in[i]->format == CONFIG_FORMAT_JSON;
	o->desc = ctl_type_for(o->type ? o->type : o->topic);
	if (!o->json && !o->desc) {
		fprintf(stderr,
			"arbiterctl produce: cannot tell the message type of topic '%s'; "
			"give --type\n",
			o->topic);
		return 2;
	}
	return CTL_RUN;
}

/* An idempotent producer for O with its delivery reports counted; NULL
 * when it cannot be made (said). */
static rd_kafka_t *ctl_produce_producer(const struct ctl_produce_opts *o)
{
	rd_kafka_conf_t *conf = ctl_kafka_conf_for("produce", o->brokers, o->cfg);
	if (!conf)
		return NULL;
	char err[256];
	rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof(err));
	rd_kafka_conf_set(conf, "linger.ms", o->linger ? o->linger : "20", err, sizeof(err));
	rd_kafka_conf_set_dr_msg_cb(conf, ctl_produce_dr);
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	if (!rk) {
		fprintf(stderr, "arbiterctl produce: %s\n", err);
		rd_kafka_conf_destroy(conf);
	}
	return rk;
}

/* One run of the command: its producer and what became of the lines. */
struct ctl_produce {
	const struct ctl_produce_opts *o;
	rd_kafka_t *rk;
	long lineno, sent, skipped;
};

/* Sends LINE (LEN bytes, a JSON object) keyed by its content_id: converted
 * to protobuf unless --format json, as it is when it does not convert and
 * --send-invalid is given, skipped (said) otherwise. */
static void ctl_produce_line(struct ctl_produce *s, char *line, size_t len)
{
	const struct ctl_produce_opts *o = s->o;
	void *payload = line;
	size_t plen = len;
	int flags = RD_KAFKA_MSG_F_COPY;
	char key[256] = "";
	json_t *obj = json_loadb(line, len, 0, NULL);
	json_t *cid = json_is_object(obj) ? json_object_get(obj, "content_id") : NULL;
	if (json_is_string(cid))
		snprintf(key, sizeof(key), "%s", json_string_value(cid));
	ProtobufCMessage *msg = NULL;
	char why[256];
	if (!o->json && pbjson_decode(o->desc, obj, &msg, why, sizeof(why)) == 0) {
		plen = protobuf_c_message_get_packed_size(msg);
		payload = malloc(plen ? plen : 1);
		protobuf_c_message_pack(msg, payload);
		protobuf_c_message_free_unpacked(msg, NULL);
		flags = RD_KAFKA_MSG_F_FREE;
	} else if (!o->json && !o->send_invalid) {
		fprintf(stderr, "stdin:%ld: skipped: %s\n", s->lineno,
			obj ? why : "not a JSON object");
		s->skipped++;
		json_decref(obj);
		return;
	}
	json_decref(obj);
	rd_kafka_resp_err_t e;
	while ((e = rd_kafka_producev(s->rk, RD_KAFKA_V_TOPIC(o->topic), RD_KAFKA_V_MSGFLAGS(flags),
				      RD_KAFKA_V_VALUE(payload, plen),
				      RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_END)) ==
	       RD_KAFKA_RESP_ERR__QUEUE_FULL)
		rd_kafka_poll(s->rk, 100);
	if (e) {
		fprintf(stderr, "stdin:%ld: %s\n", s->lineno, rd_kafka_err2str(e));
		if (flags == RD_KAFKA_MSG_F_FREE)
			free(payload);
		s->skipped++;
		return;
	}
	s->sent++;
	rd_kafka_poll(s->rk, 0);
}

/* Sends every line of stdin, waits for their acknowledgements and says how
 * it went. Returns the exit status. */
static int ctl_produce_run(const struct ctl_produce_opts *o)
{
	struct ctl_produce s = {.o = o, .rk = ctl_produce_producer(o)};
	if (!s.rk)
		return 1;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, stdin)) >= 0) {
		s.lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len > 0)
			ctl_produce_line(&s, line, (size_t)len);
	}
	free(line);
	if (rd_kafka_flush(s.rk, 30000) == RD_KAFKA_RESP_ERR__TIMED_OUT) {
		int left = rd_kafka_outq_len(s.rk);
		fprintf(stderr, "arbiterctl produce: %d message(s) not acknowledged after 30 s\n",
			left);
		ctl_produce_failed += left;
	}
	rd_kafka_destroy(s.rk);
	fprintf(stderr, "produced %ld message(s) to %s", s.sent - ctl_produce_failed, o->topic);
	if (s.skipped)
		fprintf(stderr, ", skipped %ld invalid line(s)", s.skipped);
	if (ctl_produce_failed)
		fprintf(stderr, ", %d failed", ctl_produce_failed);
	fprintf(stderr, "\n");
	return (s.skipped || ctl_produce_failed) ? 1 : 0;
}

int ctl_produce(int argc, char **argv)
{
	struct ctl_produce_opts o = {0};
	int rc = ctl_produce_parse(argc, argv, &o);
	if (rc == CTL_RUN)
		rc = ctl_produce_run(&o);
	config_free(o.cfg);
	return rc;
}
