/* Fault suite: the seeded input stream and, for each input message, the records and review entries
 * it must cause. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

/* splitmix64: one seed gives the whole stream and the whole fault plan. */
struct fault_rng {
	uint64_t s;
};
uint64_t fault_rng_next(struct fault_rng *r);
/* Uniform in [0, N) (N > 0). */
uint64_t fault_rng_below(struct fault_rng *r, uint64_t n);
/* Uniform in [LO, HI). */
double fault_rng_range(struct fault_rng *r, double lo, double hi);

enum fault_in { FAULT_IN_CONTENT, FAULT_IN_DECISIONS, FAULT_IN__N };

/* What an input can cause: the four output topics, then an entry in a Redis review queue. */
enum fault_out {
	FAULT_OUT_ESCALATION,
	FAULT_OUT_AUDIT,
	FAULT_OUT_APPEAL,
	FAULT_OUT_DEADLETTER,
	FAULT_OUT_REVIEW,
	FAULT_OUT__N,
};
#define FAULT_OUT_TOPICS FAULT_OUT_REVIEW /* the first ones are Kafka topics */

/* Review queues the suite's rules and appeals use. */
enum fault_queue { FAULT_Q_THREATS, FAULT_Q_HATE, FAULT_Q_APPEALS, FAULT_Q__N };

/* What kind of input an event is. */
enum fault_kind {
	FAULT_K_BENIGN,        /* content no rule matches: nothing */
	FAULT_K_THREAT,        /* removed by a rule, reviewed (threats) and fed to monitors */
	FAULT_K_SPAM,          /* demoted by a rule: an audit record */
	FAULT_K_HATE,          /* reviewed (hate) without an action */
	FAULT_K_ACTION,        /* a reviewer's decision: an audit record */
	FAULT_K_FILED,         /* an appeal of an ACTION: appeal record, audit, appeals entry */
	FAULT_K_RESOLVED,      /* an appeal resolved by another reviewer: appeal record, audit */
	FAULT_K_SAME_REVIEWER, /* resolved by the decision's reviewer: dead letter */
	FAULT_K_NO_DECISION,   /* an appeal of content without a decision: dead letter */
	FAULT_K_GARBAGE,       /* not protobuf: dead letter */
	FAULT_K_NO_CONTENT_ID, /* a content event without content_id: dead letter */
	FAULT_K_BAD_ENUM,      /* a decision with an unknown action: dead letter */
	FAULT_K_EMPTY,         /* an empty decision message: dead letter */
	FAULT_K__N,
};

/* One event of the stream and what it must cause. */
struct fault_event {
	uint8_t kind;   /* enum fault_kind */
	uint8_t in;     /* enum fault_in */
	uint8_t expect; /* bit 1 << enum fault_out for each output it must have */
	uint8_t queue;  /* enum fault_queue of its review entry */
	int32_t ref;    /* the event index of the decision an appeal is against; -1 */
	int32_t copies; /* input messages that carry it (the mock may store a retried one twice) */
	int32_t dr_partition; /* where the producer's delivery report put it; -1 before one */
	int64_t dr_offset;
};

/* One input message as the input topic holds it: the event it carries. Every message is an
 * input of its own to arbiterd, with records of its own (their ids derive from its offset). */
struct fault_input {
	int32_t ev;
	uint8_t in;
	int32_t partition;
	int64_t offset;
};

/* The header that names a message's event (the daemon ignores headers). */
#define FAULT_MODEL_HEADER "fault-event"

/* The stream: N events, generated one by one so that a caller can send them as it goes. */
struct fault_model {
	struct fault_rng rng;
	struct fault_event *ev;
	long n, made;
	/* events of each kind made so far */
	long by_kind[FAULT_K__N];
	/* ACTION events not yet appealed, and FILED events not yet resolved (indexes) */
	int32_t *decided, *filed;
	long n_decided, n_filed;
	/* the input topics as read back: inputs in topic, partition, offset order */
	int partitions;
	struct fault_input *inputs;
	long n_inputs;
	long extra_inputs;               /* messages beyond one per event */
	int64_t *n_offsets[FAULT_IN__N]; /* per partition */
	int64_t *base[FAULT_IN__N];      /* per partition: index of its first input */
};

/* A model of N events from SEED over PARTITIONS input partitions. Returns 0 or -ENOMEM. */
int fault_model_init(struct fault_model *m, uint64_t seed, long n, int partitions);
void fault_model_free(struct fault_model *m);

/* An encoded input message. */
struct fault_msg {
	const char *topic;
	char key[48];
	uint8_t *value; /* malloc'd; may be NULL with len 0 (the empty message) */
	size_t len;
};

/* Makes the next event (index m->made, then advanced) into MSG. Returns its index, or -1 when
 * all are made. */
long fault_model_next(struct fault_model *m, struct fault_msg *msg);

/* Reads the input topics back through H's clients: every message and the event its header
 * names. Fails the test when a message names none, or an event is in no message. */
struct harness;
void fault_model_read_inputs(struct fault_model *m, struct harness *h);

/* The input at OFFSET of PARTITION of input topic IN, or -1. */
long fault_model_at(const struct fault_model *m, int in, int32_t partition, int64_t offset);

/* The input topic's name. */
const char *fault_model_topic(int in);
/* enum fault_in of TOPIC, or -1. */
int fault_model_in(const char *topic);

/* Notes where the delivery report of M, a message of the stream, says it was stored. */
void fault_model_delivered(struct fault_model *m, const rd_kafka_message_t *msg);
/* The Kafka topic of output OUT (< FAULT_OUT_TOPICS). */
const char *fault_model_out_topic(int out);
/* The name of review queue Q. */
const char *fault_model_queue(int q);
/* The record id kind arbiterd derives OUT's id with for event E ("audit", "escalation/threats",
 * "appeal-entry", …). */
const char *fault_model_id_kind(const struct fault_event *e, int out);
/* A word that the dead letter's reason of event E contains. */
const char *fault_model_reason(const struct fault_event *e);
/* Name of enum fault_out OUT, for messages. */
const char *fault_model_out_name(int out);
