/* Fault suite: the seeded input stream and, for each input message, the records and review entries
 * it must cause. */
#include "fault_model.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arbiter/v1/content_event.pb-c.h"
#include "arbiter/v1/moderation_decision.pb-c.h"
#include "harness.h"

#define FAULT_REVIEWERS 7

uint64_t fault_rng_next(struct fault_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t fault_rng_below(struct fault_rng *r, uint64_t n)
{
	return fault_rng_next(r) % n;
}

double fault_rng_range(struct fault_rng *r, double lo, double hi)
{
	return lo + (hi - lo) * (double)(fault_rng_next(r) >> 11) / (double)(1ULL << 53);
}

static const char *const fault_in_topics[FAULT_IN__N] = {"content.events", "moderation.decisions"};
static const char *const fault_out_topics[FAULT_OUT_TOPICS] = {
	"moderation.escalations", "moderation.audit", "moderation.appeals", "arbiter.deadletter"};
static const char *const fault_queues[FAULT_Q__N] = {"threats", "hate", "appeals"};
static const char *const fault_out_names[FAULT_OUT__N] = {"escalation", "audit", "appeal",
							  "dead letter", "review entry"};

const char *fault_model_topic(int in)
{
	return fault_in_topics[in];
}

int fault_model_in(const char *topic)
{
	for (int i = 0; i < FAULT_IN__N; i++)
		if (!strcmp(topic, fault_in_topics[i]))
			return i;
	return -1;
}

const char *fault_model_out_topic(int out)
{
	return fault_out_topics[out];
}

const char *fault_model_queue(int q)
{
	return fault_queues[q];
}

const char *fault_model_out_name(int out)
{
	return fault_out_names[out];
}

const char *fault_model_id_kind(const struct fault_event *e, int out)
{
	switch (out) {
	case FAULT_OUT_ESCALATION:
		return "escalation/threats";
	case FAULT_OUT_AUDIT:
		return "audit";
	case FAULT_OUT_APPEAL:
		return "appeal";
	case FAULT_OUT_DEADLETTER:
		return "deadletter";
	default:
		return e->queue == FAULT_Q_APPEALS ? "appeal-entry" :
		       e->queue == FAULT_Q_HATE    ? "escalation/hate" :
						     "escalation/threats";
	}
}

const char *fault_model_reason(const struct fault_event *e)
{
	switch (e->kind) {
	case FAULT_K_SAME_REVIEWER:
		return "reviewer whose decision is under appeal";
	case FAULT_K_NO_DECISION:
		return "no known decision";
	case FAULT_K_GARBAGE:
		return "undecodable protobuf";
	case FAULT_K_NO_CONTENT_ID:
		return "missing content_id";
	case FAULT_K_BAD_ENUM:
		return "unknown enum value";
	case FAULT_K_EMPTY:
		return "empty message";
	default:
		return "";
	}
}

int fault_model_init(struct fault_model *m, uint64_t seed, long n, int partitions)
{
	memset(m, 0, sizeof(*m));
	m->rng.s = seed;
	m->n = n;
	m->partitions = partitions;
	m->ev = calloc((size_t)n, sizeof(*m->ev));
	m->decided = calloc((size_t)n, sizeof(*m->decided));
	m->filed = calloc((size_t)n, sizeof(*m->filed));
	if (!m->ev || !m->decided || !m->filed) {
		fault_model_free(m);
		return -ENOMEM;
	}
	return 0;
}

void fault_model_free(struct fault_model *m)
{
	free(m->ev);
	free(m->decided);
	free(m->filed);
	free(m->inputs);
	for (int i = 0; i < FAULT_IN__N; i++) {
		free(m->n_offsets[i]);
		free(m->base[i]);
	}
	memset(m, 0, sizeof(*m));
}

/* Takes a random element out of LIST (N of them). */
static int32_t fault_model_take(struct fault_rng *r, int32_t *list, long *n)
{
	long i = (long)fault_rng_below(r, (uint64_t)*n);
	int32_t v = list[i];
	list[i] = list[--*n];
	return v;
}

/* The kind of the next event, from the rng and what can be appealed so far. */
static enum fault_kind fault_model_pick(struct fault_model *m, int32_t *ref)
{
	unsigned u = (unsigned)fault_rng_below(&m->rng, 1000);
	*ref = -1;
	if (u < 10) {
		static const enum fault_kind bad[] = {FAULT_K_GARBAGE, FAULT_K_NO_CONTENT_ID,
						      FAULT_K_BAD_ENUM, FAULT_K_EMPTY};
		return bad[fault_rng_below(&m->rng, 4)];
	}
	if (u < 15)
		return FAULT_K_NO_DECISION;
	if (u < 595) {
		unsigned c = (unsigned)fault_rng_below(&m->rng, 100);
		return c < 10 ? FAULT_K_THREAT :
		       c < 20 ? FAULT_K_SPAM :
		       c < 27 ? FAULT_K_HATE :
				FAULT_K_BENIGN;
	}
	if (u >= 865 && u < 935 && m->n_decided > 0) {
		*ref = fault_model_take(&m->rng, m->decided, &m->n_decided);
		return FAULT_K_FILED;
	}
	if (u >= 935 && m->n_filed > 0) {
		*ref = fault_model_take(&m->rng, m->filed, &m->n_filed);
		return fault_rng_below(&m->rng, 10) == 0 ? FAULT_K_SAME_REVIEWER : FAULT_K_RESOLVED;
	}
	return FAULT_K_ACTION;
}

static void fault_model_pack(const ProtobufCMessage *pb, struct fault_msg *msg)
{
	msg->len = protobuf_c_message_get_packed_size(pb);
	msg->value = malloc(msg->len ? msg->len : 1);
	if (msg->value)
		protobuf_c_message_pack(pb, msg->value);
	else
		msg->len = 0;
}

static void fault_model_content(long i, enum fault_kind kind, struct fault_msg *msg)
{
	char eid[32], cid[32];
	snprintf(eid, sizeof(eid), "e-%ld", i);
	snprintf(cid, sizeof(cid), "c-%ld", i);
	Arbiter__V1__ContentEvent ev = ARBITER__V1__CONTENT_EVENT__INIT;
	Arbiter__V1__ContentEvent__SignalsEntry sig =
		ARBITER__V1__CONTENT_EVENT__SIGNALS_ENTRY__INIT;
	Arbiter__V1__ContentEvent__SignalsEntry *sigs[] = {&sig};
	ev.event_id = eid;
	ev.content_id = kind == FAULT_K_NO_CONTENT_ID ? "" : cid;
	ev.author_id = "author-1";
	ev.text = "a post of the fault suite";
	ev.lang = "sw";
	ev.country = "KE";
	ev.surface = ARBITER__V1__SURFACE__POST;
	ev.content_type = ARBITER__V1__CONTENT_TYPE__TEXT;
	sig.key = kind == FAULT_K_THREAT ? "violence" : kind == FAULT_K_SPAM ? "spam" : "hate";
	sig.value = kind == FAULT_K_BENIGN ? 0.1f : 0.95f;
	ev.n_signals = 1;
	ev.signals = sigs;
	snprintf(msg->key, sizeof(msg->key), "%s", cid);
	fault_model_pack(&ev.base, msg);
}

static void fault_model_decision(struct fault_model *m, long i, enum fault_kind kind, int32_t ref,
				 struct fault_msg *msg)
{
	char did[32], cid[32], aid[32], against[32], reviewer[16];
	Arbiter__V1__ModerationDecision d = ARBITER__V1__MODERATION_DECISION__INIT;
	snprintf(did, sizeof(did), "d-%ld", i);
	d.decision_id = did;
	d.content_id = cid;
	d.reviewer_id = reviewer;
	d.lang = "sw";
	d.country = "KE";
	switch (kind) {
	case FAULT_K_ACTION:
	case FAULT_K_BAD_ENUM:
		snprintf(cid, sizeof(cid), "c-%ld", i);
		snprintf(reviewer, sizeof(reviewer), "rev-%ld", i % FAULT_REVIEWERS);
		d.kind = ARBITER__V1__DECISION_KIND__ACTION;
		d.action = kind == FAULT_K_BAD_ENUM ? 77 : ARBITER__V1__ACTION__REMOVE;
		d.actor = ARBITER__V1__ACTOR__HUMAN;
		d.category = "STATEMENT_CATEGORY_VIOLENCE";
		d.ground = ARBITER__V1__GROUND__INCOMPATIBLE_CONTENT;
		d.legal_ground = "Terms 4.1";
		break;
	case FAULT_K_FILED:
		snprintf(cid, sizeof(cid), "c-%d", ref);
		snprintf(aid, sizeof(aid), "ap-%ld", i);
		snprintf(against, sizeof(against), "d-%d", ref);
		reviewer[0] = '\0';
		d.kind = ARBITER__V1__DECISION_KIND__APPEAL_FILED;
		d.appeal_id = aid;
		/* Named or not: both find the reviewer's decision. */
		if (i % 2)
			d.appealed_decision_id = against;
		break;
	case FAULT_K_RESOLVED:
	case FAULT_K_SAME_REVIEWER: {
		int32_t action = m->ev[ref].ref;
		long orig = action % FAULT_REVIEWERS;
		snprintf(cid, sizeof(cid), "c-%d", action);
		snprintf(aid, sizeof(aid), "ap-%d", ref);
		snprintf(reviewer, sizeof(reviewer), "rev-%ld",
			 kind == FAULT_K_SAME_REVIEWER ?
				 orig :
				 (orig + 1 + (long)fault_rng_below(&m->rng, FAULT_REVIEWERS - 1)) %
					 FAULT_REVIEWERS);
		d.kind = ARBITER__V1__DECISION_KIND__APPEAL_RESOLVED;
		d.appeal_id = aid;
		d.actor = ARBITER__V1__ACTOR__HUMAN;
		if (fault_rng_below(&m->rng, 2)) {
			d.appeal_outcome = ARBITER__V1__APPEAL_OUTCOME__REVERSED;
			d.action = ARBITER__V1__ACTION__RESTORE;
		} else {
			d.appeal_outcome = ARBITER__V1__APPEAL_OUTCOME__UPHELD;
			d.action = ARBITER__V1__ACTION__REMOVE;
		}
		break;
	}
	default: /* FAULT_K_NO_DECISION */
		snprintf(cid, sizeof(cid), "c-none-%ld", i);
		snprintf(aid, sizeof(aid), "ap-%ld", i);
		reviewer[0] = '\0';
		d.kind = ARBITER__V1__DECISION_KIND__APPEAL_FILED;
		d.appeal_id = aid;
		break;
	}
	snprintf(msg->key, sizeof(msg->key), "%s", cid);
	fault_model_pack(&d.base, msg);
}

long fault_model_next(struct fault_model *m, struct fault_msg *msg)
{
	if (m->made >= m->n)
		return -1;
	long i = m->made++;
	int32_t ref;
	enum fault_kind kind = fault_model_pick(m, &ref);
	struct fault_event *e = &m->ev[i];
	*e = (struct fault_event){.kind = (uint8_t)kind, .ref = ref, .dr_partition = -1};
	if (kind == FAULT_K_RESOLVED || kind == FAULT_K_SAME_REVIEWER)
		e->ref = m->ev[ref].ref; /* the decision under appeal */
	m->by_kind[kind]++;
	memset(msg, 0, sizeof(*msg));
	switch (kind) {
	case FAULT_K_BENIGN:
	case FAULT_K_THREAT:
	case FAULT_K_SPAM:
	case FAULT_K_HATE:
	case FAULT_K_NO_CONTENT_ID:
		e->in = FAULT_IN_CONTENT;
		fault_model_content(i, kind, msg);
		break;
	case FAULT_K_GARBAGE:
		e->in = FAULT_IN_CONTENT;
		snprintf(msg->key, sizeof(msg->key), "bad-%ld", i);
		msg->len = 15;
		msg->value = malloc(msg->len);
		if (msg->value)
			memcpy(msg->value, "\xff\xfe not protobuf", msg->len);
		else
			msg->len = 0;
		break;
	case FAULT_K_EMPTY:
		e->in = FAULT_IN_DECISIONS;
		snprintf(msg->key, sizeof(msg->key), "bad-%ld", i);
		break;
	default:
		e->in = FAULT_IN_DECISIONS;
		fault_model_decision(m, i, kind, ref, msg);
		break;
	}
	msg->topic = fault_in_topics[e->in];
	switch (kind) {
	case FAULT_K_THREAT:
		e->expect =
			1 << FAULT_OUT_AUDIT | 1 << FAULT_OUT_ESCALATION | 1 << FAULT_OUT_REVIEW;
		e->queue = FAULT_Q_THREATS;
		break;
	case FAULT_K_SPAM:
	case FAULT_K_ACTION:
		e->expect = 1 << FAULT_OUT_AUDIT;
		break;
	case FAULT_K_HATE:
		e->expect = 1 << FAULT_OUT_REVIEW;
		e->queue = FAULT_Q_HATE;
		break;
	case FAULT_K_FILED:
		e->expect = 1 << FAULT_OUT_APPEAL | 1 << FAULT_OUT_AUDIT | 1 << FAULT_OUT_REVIEW;
		e->queue = FAULT_Q_APPEALS;
		break;
	case FAULT_K_RESOLVED:
		e->expect = 1 << FAULT_OUT_APPEAL | 1 << FAULT_OUT_AUDIT;
		break;
	case FAULT_K_BENIGN:
		break;
	default:
		e->expect = 1 << FAULT_OUT_DEADLETTER;
		break;
	}
	if (kind == FAULT_K_ACTION)
		m->decided[m->n_decided++] = (int32_t)i;
	else if (kind == FAULT_K_FILED)
		m->filed[m->n_filed++] = (int32_t)i;
	return i;
}

/* The event of the stream that MSG carries in its header, or -1. */
static int32_t fault_model_event_of(const struct fault_model *m, const rd_kafka_message_t *msg)
{
	rd_kafka_headers_t *hdrs = NULL;
	const void *v = NULL;
	size_t len = 0;
	int32_t ev = -1;
	if (rd_kafka_message_headers(msg, &hdrs) == 0 &&
	    rd_kafka_header_get_last(hdrs, FAULT_MODEL_HEADER, &v, &len) == 0 && len == sizeof(ev))
		memcpy(&ev, v, sizeof(ev));
	return ev >= 0 && ev < m->made ? ev : -1;
}

void fault_model_delivered(struct fault_model *m, const rd_kafka_message_t *msg)
{
	int32_t ev = fault_model_event_of(m, msg);
	ck_assert_msg(ev >= 0, "a delivery report of no event of the stream");
	m->ev[ev].dr_partition = msg->partition;
	m->ev[ev].dr_offset = msg->offset;
}

/* Appends input message M to the model (as fault_model_read_inputs reads it). */
static void fault_model_read_cb(void *opaque, const rd_kafka_message_t *msg)
{
	struct fault_model *m = opaque;
	int32_t ev = fault_model_event_of(m, msg);
	int in = fault_model_in(rd_kafka_topic_name(msg->rkt));
	ck_assert_msg(ev >= 0 && in >= 0,
		      "%s[%d]@%ld carries no event of the stream (key %.*s len %zu)",
		      rd_kafka_topic_name(msg->rkt), msg->partition, (long)msg->offset,
		      (int)msg->key_len, (const char *)msg->key, msg->len);
	ck_assert_int_lt(msg->partition, m->partitions);
	ck_assert_int_lt(msg->offset, m->n_offsets[in][msg->partition]);
	struct fault_input *i = &m->inputs[m->base[in][msg->partition] + msg->offset];
	*i = (struct fault_input){
		.ev = ev, .in = (uint8_t)in, .partition = msg->partition, .offset = msg->offset};
	m->ev[ev].copies++;
}

void fault_model_read_inputs(struct fault_model *m, struct harness *h)
{
	size_t np = (size_t)m->partitions;
	long total = 0;
	for (int in = 0; in < FAULT_IN__N; in++) {
		m->n_offsets[in] = calloc(np, sizeof(int64_t));
		m->base[in] = calloc(np + 1, sizeof(int64_t));
		ck_assert(m->n_offsets[in] && m->base[in]);
		for (size_t p = 0; p < np; p++) {
			int64_t lo, hi;
			ck_assert_int_eq(
				rd_kafka_query_watermark_offsets(h->producer, fault_in_topics[in],
								 (int32_t)p, &lo, &hi, 10000),
				0);
			ck_assert_int_eq(lo, 0);
			m->n_offsets[in][p] = hi;
			m->base[in][p] = total;
			total += hi;
		}
		m->base[in][np] = total;
	}
	m->n_inputs = total;
	m->inputs = malloc((size_t)(total ? total : 1) * sizeof(*m->inputs));
	ck_assert_ptr_nonnull(m->inputs);
	for (long k = 0; k < total; k++)
		m->inputs[k].ev = -1;
	for (int in = 0; in < FAULT_IN__N; in++)
		harness_read(h, fault_in_topics[in], fault_model_read_cb, m);
	for (long k = 0; k < total; k++)
		ck_assert_msg(m->inputs[k].ev >= 0, "input %ld was not read back", k);
	for (long ev = 0; ev < m->made; ev++) {
		const struct fault_event *e = &m->ev[ev];
		if (e->copies == 0) {
			/* What the producer was told, and what the mock holds there. */
			long at = fault_model_at(m, e->in, e->dr_partition, e->dr_offset);
			ck_abort_msg("event %ld is in no input topic: its delivery report said "
				     "%s[%d]@%ld, where the topic holds event %d",
				     ev, fault_in_topics[e->in], e->dr_partition,
				     (long)e->dr_offset, at >= 0 ? m->inputs[at].ev : -1);
		}
		m->extra_inputs += e->copies - 1;
	}
}

long fault_model_at(const struct fault_model *m, int in, int32_t partition, int64_t offset)
{
	if (in < 0 || in >= FAULT_IN__N || !m->n_offsets[in] || partition < 0 ||
	    partition >= m->partitions || offset < 0 || offset >= m->n_offsets[in][partition])
		return -1;
	return (long)(m->base[in][partition] + offset);
}
