/* Fault suite: what the cluster held at moments during the run, and the final count of every
 * expected record and review entry: lost, duplicated, repeated by a fault, committed early. */
#include "fault_check.h"

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arbiter/v1/appeal_record.pb-c.h"
#include "arbiter/v1/audit_record.pb-c.h"
#include "arbiter/v1/dead_letter.pb-c.h"
#include "arbiter/v1/escalation.pb-c.h"
#include "ledger.h"
#include "records.h"

/* How long a snapshot may wait on the cluster: a broker may be down. */
#define FAULT_SNAP_TIMEOUT_MS 3000

/* The suite's own clients say nothing: the brokers it takes down would fill the log. */
void fault_quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	(void)level;
	(void)fac;
	(void)buf;
}

void fault_watch_init(struct fault_watch *w, struct harness *h, int partitions)
{
	memset(w, 0, sizeof(*w));
	ck_assert_int_le(partitions, FAULT_PARTS_MAX);
	w->partitions = partitions;
	char err[256];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_conf_set(conf, "bootstrap.servers", h->bootstrap, err, sizeof(err));
	rd_kafka_conf_set(conf, "group.id", h->group, err, sizeof(err));
	rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err));
	rd_kafka_conf_set(conf, "isolation.level", "read_committed", err, sizeof(err));
	/* Leaders move: learn where they went soon. */
	rd_kafka_conf_set(conf, "topic.metadata.refresh.interval.ms", "1000", err, sizeof(err));
	rd_kafka_conf_set_log_cb(conf, fault_quiet_log);
	w->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
	ck_assert_msg(w->rk != NULL, "watch: %s", err);
}

void fault_watch_free(struct fault_watch *w)
{
	if (w->rk)
		rd_kafka_destroy(w->rk);
	free(w->snap);
	free(w->win);
	memset(w, 0, sizeof(*w));
}

static int64_t fault_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Fills S; false when the cluster did not answer in time. */
static bool fault_watch_read(struct fault_watch *w, struct fault_snap *s)
{
	int np = w->partitions;
	rd_kafka_topic_partition_list_t *c = rd_kafka_topic_partition_list_new(FAULT_IN__N * np);
	for (int in = 0; in < FAULT_IN__N; in++)
		for (int p = 0; p < np; p++)
			rd_kafka_topic_partition_list_add(c, fault_model_topic(in), p);
	rd_kafka_resp_err_t err = rd_kafka_committed(w->rk, c, FAULT_SNAP_TIMEOUT_MS);
	bool ok = err == 0;
	if (!ok)
		snprintf(w->why, sizeof(w->why), "committed: %s", rd_kafka_err2str(err));
	for (int i = 0; ok && i < c->cnt; i++) {
		const rd_kafka_topic_partition_t *tp = &c->elems[i];
		if (tp->err) {
			snprintf(w->why, sizeof(w->why), "committed %s[%d]: %s", tp->topic,
				 tp->partition, rd_kafka_err2str(tp->err));
			ok = false;
			break;
		}
		/* No commit yet: nothing below it. */
		s->committed[fault_model_in(tp->topic)][tp->partition] =
			tp->offset < 0 ? 0 : tp->offset;
	}
	rd_kafka_topic_partition_list_destroy(c);
	if (!ok)
		return false;
	/* Then the ends: a timestamp of -1 asks for the latest offset. */
	rd_kafka_topic_partition_list_t *e =
		rd_kafka_topic_partition_list_new(FAULT_OUT_TOPICS * np);
	for (int out = 0; out < FAULT_OUT_TOPICS; out++)
		for (int p = 0; p < np; p++)
			rd_kafka_topic_partition_list_add(e, fault_model_out_topic(out), p)
				->offset = -1;
	err = rd_kafka_offsets_for_times(w->rk, e, FAULT_SNAP_TIMEOUT_MS);
	ok = err == 0;
	if (!ok)
		snprintf(w->why, sizeof(w->why), "ends: %s", rd_kafka_err2str(err));
	for (int i = 0; ok && i < e->cnt; i++) {
		const rd_kafka_topic_partition_t *tp = &e->elems[i];
		if (tp->err || tp->offset < 0) {
			snprintf(w->why, sizeof(w->why), "end of %s[%d]: %s (%ld)", tp->topic,
				 tp->partition, rd_kafka_err2str(tp->err), (long)tp->offset);
			ok = false;
			break;
		}
		for (int out = 0; out < FAULT_OUT_TOPICS; out++)
			if (!strcmp(tp->topic, fault_model_out_topic(out)))
				s->end[out][tp->partition] = tp->offset;
	}
	rd_kafka_topic_partition_list_destroy(e);
	s->ms = fault_now_ms();
	return ok;
}

int fault_watch_snap(struct fault_watch *w, double t)
{
	if (w->n_snap == w->cap_snap) {
		w->cap_snap = w->cap_snap ? w->cap_snap * 2 : 256;
		w->snap = realloc(w->snap, (size_t)w->cap_snap * sizeof(*w->snap));
		ck_assert_ptr_nonnull(w->snap);
	}
	struct fault_snap *s = &w->snap[w->n_snap];
	memset(s, 0, sizeof(*s));
	s->t = t;
	s->ok = fault_watch_read(w, s);
	if (!s->ok) {
		/* A leader moved: refresh what the client knows and try once more. */
		const struct rd_kafka_metadata *md;
		if (rd_kafka_metadata(w->rk, 1, NULL, &md, FAULT_SNAP_TIMEOUT_MS) == 0)
			rd_kafka_metadata_destroy(md);
		s->ok = fault_watch_read(w, s);
	}
	if (!s->ok)
		w->failed++;
	return w->n_snap++;
}

int fault_watch_open(struct fault_watch *w, const char *kind, int start)
{
	if (w->n_win == w->cap_win) {
		w->cap_win = w->cap_win ? w->cap_win * 2 : 64;
		w->win = realloc(w->win, (size_t)w->cap_win * sizeof(*w->win));
		ck_assert_ptr_nonnull(w->win);
	}
	w->win[w->n_win] = (struct fault_window){.kind = kind, .start = start, .end = -1};
	return w->n_win++;
}

/* The last usable snapshot taken at or before wall clock MS (FIRST_AFTER: the first at or
 * after it); -1 when none. */
static int fault_watch_at(const struct fault_watch *w, int64_t ms, bool first_after)
{
	int found = -1;
	for (int i = 0; i < w->n_snap; i++) {
		if (!w->snap[i].ok)
			continue;
		if (!first_after && w->snap[i].ms <= ms)
			found = i;
		if (first_after && w->snap[i].ms >= ms)
			return i;
	}
	return found;
}

int fault_watch_read_log(struct fault_watch *w, const char *log)
{
	FILE *f = fopen(log, "r");
	if (!f)
		return 0;
	char line[1024];
	int n = 0;
	while (fgets(line, sizeof(line), f)) {
		struct tm tm = {0};
		int ms;
		if (!strstr(line, "commit failed:") ||
		    sscanf(line, "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7)
			continue;
		tm.tm_year -= 1900;
		tm.tm_mon -= 1;
		int64_t at = (int64_t)timegm(&tm) * 1000 + ms;
		int start = fault_watch_at(w, at, false), end = fault_watch_at(w, at, true);
		if (start < 0 || end < 0)
			continue;
		int k = fault_watch_open(w, "commit failed", start);
		w->win[k].end = end;
		w->win[k].mock_offsets = true;
		n++;
	}
	fclose(f);
	return n;
}

/* ---- the final check ---- */

/* One copy of an expected output: a record at PART/OFF of its topic, or a review entry in
 * queue PART with stream id milliseconds OFF. */
struct fault_copy {
	int32_t msg;
	uint8_t out;
	uint8_t in_chain; /* audit: counted by the chain (neither fenced nor an exact duplicate) */
	int32_t part;
	int64_t off;
};

/* An audit record as the verifier classified it. */
struct fault_audit {
	int32_t msg;
	int chain;
	uint64_t seq, epoch;
	bool dup, fenced;
	int32_t part;
	int64_t off;
};

struct fault_reader {
	const struct fault_model *m;
	struct fault_result *r;
	struct fault_copy *copies;
	size_t n_copies, cap_copies;
	struct ledger_verifier *lv;
	struct fault_audit *audits;
	size_t n_audits, cap_audits;
	char *chains[64];
	int n_chains;
	int out; /* the topic being read */
};

static void fault_note(struct fault_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fault_note(struct fault_result *r, const char *fmt, ...)
{
	size_t used = strlen(r->detail);
	if (used + 2 >= sizeof(r->detail))
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->detail + used, sizeof(r->detail) - used, fmt, ap);
	va_end(ap);
}

static void fault_add_copy(struct fault_reader *rd, long msg, int out, bool in_chain, int32_t part,
			   int64_t off)
{
	if (rd->n_copies == rd->cap_copies) {
		rd->cap_copies = rd->cap_copies ? rd->cap_copies * 2 : 65536;
		rd->copies = realloc(rd->copies, rd->cap_copies * sizeof(*rd->copies));
		ck_assert_ptr_nonnull(rd->copies);
	}
	rd->copies[rd->n_copies++] = (struct fault_copy){.msg = (int32_t)msg,
							 .out = (uint8_t)out,
							 .in_chain = in_chain,
							 .part = part,
							 .off = off};
}

/* The event input MSG carries. */
static const struct fault_event *fault_ev(const struct fault_model *m, long msg)
{
	return &m->ev[m->inputs[msg].ev];
}

/* The input a record names as its source, when its id is the one arbiterd derives for OUT;
 * -1 (counted) otherwise. */
static long fault_source(struct fault_reader *rd, int out, const char *id, const char *topic,
			 int32_t partition, int64_t offset)
{
	long msg = fault_model_at(rd->m, fault_model_in(topic), partition, offset);
	if (msg < 0) {
		rd->r->unexpected++;
		fault_note(rd->r, "a %s names no input (%s[%d]@%ld); ", fault_model_out_name(out),
			   topic, partition, (long)offset);
		return -1;
	}
	const struct fault_event *e = fault_ev(rd->m, msg);
	char want[RECORDS_ID_LEN + 1];
	struct records_source src = {topic, partition, offset};
	records_id(want, fault_model_id_kind(e, out), &src);
	if (strcmp(id, want) != 0) {
		rd->r->unexpected++;
		fault_note(rd->r, "%s of event %ld has id %s, not %s; ", fault_model_out_name(out),
			   msg, id, want);
		return -1;
	}
	return msg;
}

static void fault_read_escalation(struct fault_reader *rd, const rd_kafka_message_t *m)
{
	Arbiter__V1__Escalation *es = arbiter__v1__escalation__unpack(NULL, m->len, m->payload);
	if (!es) {
		rd->r->unexpected++;
		fault_note(rd->r, "undecodable escalation; ");
		return;
	}
	long msg = fault_source(rd, FAULT_OUT_ESCALATION, es->escalation_id, es->source_topic,
				es->source_partition, es->source_offset);
	if (msg >= 0)
		fault_add_copy(rd, msg, FAULT_OUT_ESCALATION, false, m->partition, m->offset);
	arbiter__v1__escalation__free_unpacked(es, NULL);
}

static void fault_read_appeal(struct fault_reader *rd, const rd_kafka_message_t *m)
{
	Arbiter__V1__AppealRecord *a = arbiter__v1__appeal_record__unpack(NULL, m->len, m->payload);
	if (!a) {
		rd->r->unexpected++;
		fault_note(rd->r, "undecodable appeal record; ");
		return;
	}
	long msg = fault_source(rd, FAULT_OUT_APPEAL, a->record_id, a->source_topic,
				a->source_partition, a->source_offset);
	if (msg >= 0) {
		const struct fault_event *e = fault_ev(rd->m, msg);
		char want[32];
		snprintf(want, sizeof(want), "d-%d", e->ref);
		if (strcmp(a->decision_id, want) != 0 ||
		    a->resolved != (e->kind == FAULT_K_RESOLVED)) {
			rd->r->unexpected++;
			fault_note(rd->r,
				   "appeal record of event %ld is against %s (resolved %d); ", msg,
				   a->decision_id, a->resolved);
		}
		fault_add_copy(rd, msg, FAULT_OUT_APPEAL, false, m->partition, m->offset);
	}
	arbiter__v1__appeal_record__free_unpacked(a, NULL);
}

static void fault_read_deadletter(struct fault_reader *rd, const rd_kafka_message_t *m)
{
	Arbiter__V1__DeadLetter *d = arbiter__v1__dead_letter__unpack(NULL, m->len, m->payload);
	if (!d) {
		rd->r->unexpected++;
		fault_note(rd->r, "undecodable dead letter; ");
		return;
	}
	long msg = fault_source(rd, FAULT_OUT_DEADLETTER, d->record_id, d->source_topic,
				d->source_partition, d->source_offset);
	if (msg >= 0) {
		const struct fault_event *e = fault_ev(rd->m, msg);
		const char *why = fault_model_reason(e);
		if (!why[0] || !strstr(d->reason, why)) {
			rd->r->unexpected++;
			/* An appeal's decision stored after it would explain a refusal. */
			char refs[96] = "";
			if (e->ref >= 0) {
				const struct fault_event *ref = &rd->m->ev[e->ref];
				snprintf(refs, sizeof(refs),
					 " (its decision, event %d, was stored at [%d]@%ld)",
					 e->ref, ref->dr_partition, (long)ref->dr_offset);
			}
			fault_note(rd->r,
				   "input %ld (kind %d, at %s[%d]@%ld) dead-lettered: %s%s; ", msg,
				   e->kind, d->source_topic, d->source_partition,
				   (long)d->source_offset, d->reason, refs);
		}
		fault_add_copy(rd, msg, FAULT_OUT_DEADLETTER, false, m->partition, m->offset);
	}
	arbiter__v1__dead_letter__free_unpacked(d, NULL);
}

static int fault_chain_index(struct fault_reader *rd, const char *name)
{
	for (int i = 0; i < rd->n_chains; i++)
		if (!strcmp(rd->chains[i], name))
			return i;
	ck_assert_int_lt(rd->n_chains, 64);
	rd->chains[rd->n_chains] = strdup(name);
	return rd->n_chains++;
}

static void fault_read_audit(struct fault_reader *rd, const rd_kafka_message_t *m)
{
	struct ledger_fed fed;
	ck_assert_int_eq(
		ledger_verify_feed(rd->lv, m->partition, m->offset, m->payload, m->len, NULL, &fed),
		0);
	if (!fed.record) {
		rd->r->unexpected++;
		fault_note(rd->r, "undecodable audit record at %d@%ld; ", m->partition,
			   (long)m->offset);
		return;
	}
	Arbiter__V1__AuditRecord *a = fed.record;
	if (fed.brk != LEDGER_OK)
		fault_note(rd->r, "audit record at %d@%ld: %s; ", m->partition, (long)m->offset,
			   ledger_break_name(fed.brk));
	long msg = fault_source(rd, FAULT_OUT_AUDIT, a->record_id, a->source_topic,
				a->source_partition, a->source_offset);
	if (msg >= 0) {
		if (rd->n_audits == rd->cap_audits) {
			rd->cap_audits = rd->cap_audits ? rd->cap_audits * 2 : 65536;
			rd->audits = realloc(rd->audits, rd->cap_audits * sizeof(*rd->audits));
			ck_assert_ptr_nonnull(rd->audits);
		}
		rd->audits[rd->n_audits++] = (struct fault_audit){
			.msg = (int32_t)msg,
			.chain = fault_chain_index(rd, a->chain),
			.seq = a->sequence,
			.epoch = a->chain_epoch,
			.dup = fed.duplicate,
			.fenced = fed.fenced,
			.part = m->partition,
			.off = m->offset,
		};
	}
	arbiter__v1__audit_record__free_unpacked(a, NULL);
}

static void fault_read_cb(void *opaque, const rd_kafka_message_t *m)
{
	struct fault_reader *rd = opaque;
	switch (rd->out) {
	case FAULT_OUT_ESCALATION:
		fault_read_escalation(rd, m);
		break;
	case FAULT_OUT_AUDIT:
		fault_read_audit(rd, m);
		break;
	case FAULT_OUT_APPEAL:
		fault_read_appeal(rd, m);
		break;
	default:
		fault_read_deadletter(rd, m);
		break;
	}
}

static int fault_audit_by_chain_seq(const void *a, const void *b)
{
	const struct fault_audit *x = a, *y = b;
	if (x->chain != y->chain)
		return x->chain < y->chain ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return 0;
}

/* The chains as the verifier settles them: a record is fenced when a record at or before its
 * sequence has a higher epoch, including records read after it (a takeover seen late). Every
 * record the chains keep becomes a copy. */
static void fault_settle_audit(struct fault_reader *rd)
{
	qsort(rd->audits, rd->n_audits, sizeof(*rd->audits), fault_audit_by_chain_seq);
	size_t i = 0;
	while (i < rd->n_audits) {
		int chain = rd->audits[i].chain;
		uint64_t max_epoch = 0;
		while (i < rd->n_audits && rd->audits[i].chain == chain) {
			size_t j = i;
			uint64_t seq = rd->audits[i].seq;
			for (; j < rd->n_audits && rd->audits[j].chain == chain &&
			       rd->audits[j].seq == seq;
			     j++)
				if (!rd->audits[j].dup && rd->audits[j].epoch > max_epoch)
					max_epoch = rd->audits[j].epoch;
			for (size_t k = i; k < j; k++) {
				struct fault_audit *a = &rd->audits[k];
				bool fenced = !a->dup && (a->fenced || a->epoch < max_epoch);
				rd->r->fenced += fenced;
				rd->r->exact_dups += a->dup;
				fault_add_copy(rd, a->msg, FAULT_OUT_AUDIT, !a->dup && !fenced,
					       a->part, a->off);
				rd->r->chain_records += !a->dup && !fenced;
			}
			i = j;
		}
	}
	const struct ledger_chain_report *reps;
	size_t n = ledger_verify_reports(rd->lv, &reps);
	long records = 0, fenced = 0, dups = 0;
	for (size_t k = 0; k < n; k++) {
		records += (long)reps[k].records;
		fenced += (long)reps[k].fenced;
		dups += (long)reps[k].duplicates;
		if (reps[k].breaks)
			fault_note(rd->r, "chain %s: %s; ", reps[k].chain, reps[k].detail);
	}
	/* The verifier's counts and ours must agree, or the ids we count are not the chains'. */
	if (records != rd->r->chain_records || fenced != rd->r->fenced || dups != rd->r->exact_dups)
		fault_note(rd->r,
			   "the verifier counts %ld records, %ld fenced, %ld duplicates; we count "
			   "%ld, %ld, %ld; ",
			   records, fenced, dups, rd->r->chain_records, rd->r->fenced,
			   rd->r->exact_dups);
	if (records != rd->r->chain_records)
		rd->r->unexpected++;
	if (getenv("FAULT_DUMP_CHAINS"))
		for (size_t k = 0; k < rd->n_audits; k++) {
			const struct fault_audit *a = &rd->audits[k];
			fprintf(stderr,
				"chain %s seq %lu epoch %lu dup %d fenced %d at %d@%ld msg %d\n",
				rd->chains[a->chain], (unsigned long)a->seq,
				(unsigned long)a->epoch, a->dup, a->fenced, a->part, (long)a->off,
				a->msg);
		}
}

static const char *const fault_bands[] = {"urgent", "high", "normal", "low"};

/* Every entry of every review queue's band streams. */
static void fault_read_redis(struct fault_reader *rd, redisContext *c)
{
	for (int q = 0; q < FAULT_Q__N; q++) {
		for (size_t b = 0; b < sizeof(fault_bands) / sizeof(fault_bands[0]); b++) {
			char key[128], from[64] = "-";
			snprintf(key, sizeof(key), "arbiter:q:%s:%s", fault_model_queue(q),
				 fault_bands[b]);
			for (;;) {
				redisReply *r =
					redisCommand(c, "XRANGE %s %s + COUNT 5000", key, from);
				ck_assert_msg(r && r->type == REDIS_REPLY_ARRAY, "XRANGE %s: %s",
					      key, r && r->str ? r->str : c->errstr);
				size_t n = r->elements;
				for (size_t i = 0; i < n; i++) {
					redisReply *e = r->element[i];
					const char *sid = e->element[0]->str;
					redisReply *f = e->element[1];
					const char *id = "";
					Arbiter__V1__Escalation *es = NULL;
					for (size_t k = 0; k + 1 < f->elements; k += 2) {
						const char *name = f->element[k]->str;
						redisReply *v = f->element[k + 1];
						if (!strcmp(name, "id"))
							id = v->str;
						else if (!strcmp(name, "escalation"))
							es = arbiter__v1__escalation__unpack(
								NULL, v->len, (uint8_t *)v->str);
					}
					if (!es) {
						rd->r->unexpected++;
						fault_note(rd->r,
							   "review entry %s %s undecodable; ", key,
							   sid);
						continue;
					}
					long msg = fault_source(
						rd, FAULT_OUT_REVIEW, id, es->source_topic,
						es->source_partition, es->source_offset);
					if (msg >= 0 && fault_ev(rd->m, msg)->queue != q) {
						rd->r->unexpected++;
						fault_note(rd->r, "event %ld queued in %s; ", msg,
							   fault_model_queue(q));
					}
					if (msg >= 0)
						fault_add_copy(rd, msg, FAULT_OUT_REVIEW, false, q,
							       strtoll(sid, NULL, 10));
					arbiter__v1__escalation__free_unpacked(es, NULL);
				}
				if (n > 0)
					snprintf(from, sizeof(from), "(%s",
						 r->element[n - 1]->element[0]->str);
				freeReplyObject(r);
				if (n < 5000)
					break;
			}
		}
	}
}

static int fault_copy_cmp(const void *a, const void *b)
{
	const struct fault_copy *x = a, *y = b;
	if (x->msg != y->msg)
		return x->msg < y->msg ? -1 : 1;
	if (x->out != y->out)
		return x->out < y->out ? -1 : 1;
	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	return 0;
}

/* The first usable snapshot from I on, or NULL. */
static const struct fault_snap *fault_snap_from(const struct fault_watch *w, int i)
{
	for (; i >= 0 && i < w->n_snap; i++)
		if (w->snap[i].ok)
			return &w->snap[i];
	return NULL;
}

/* True when a fault explains copy B of event EV's output OUT following copy A: the input was
 * uncommitted when the fault struck, B was written after it, A before its writer stopped. */
static int fault_explained(const struct fault_watch *w, const struct fault_input *e, int out,
			   const struct fault_copy *a, const struct fault_copy *b)
{
	int why = 0;
	if (a->part != b->part)
		return 0;
	for (int i = 0; i < w->n_win; i++) {
		const struct fault_window *win = &w->win[i];
		const struct fault_snap *s = &w->snap[win->start];
		const struct fault_snap *end = fault_snap_from(w, win->end);
		if (!s->ok || !end || win->end < 0)
			continue;
		if (e->offset >= s->committed[e->in][e->partition] &&
		    b->off >= s->end[out][b->part] && a->off < end->end[out][a->part]) {
			if (!w->win[i].mock_offsets)
				return 1;
			why = 2;
		}
	}
	return why;
}

/* When copy C was first seen (the time of the first snapshot that holds it), -1 if never. */
static double fault_written_at(const struct fault_watch *w, int out, const struct fault_copy *c)
{
	for (int i = 0; i < w->n_snap; i++) {
		const struct fault_snap *s = &w->snap[i];
		if (s->ok &&
		    (out == FAULT_OUT_REVIEW ? c->off <= s->ms : c->off < s->end[out][c->part]))
			return s->t;
	}
	return -1;
}

/* No input offset was committed before what it caused was there: for every snapshot, every
 * input below its committed offsets has each expected output's first copy below the ends read
 * after them. FIRST holds, per event and output, the index of its first copy (-1: none). */
static void fault_check_commits(const struct fault_model *m, const struct fault_watch *w,
				const struct fault_copy *copies, const long *first,
				struct fault_result *r)
{
	for (int si = 0; si < w->n_snap; si++) {
		const struct fault_snap *s = &w->snap[si];
		if (!s->ok)
			continue;
		r->commit_snaps++;
		for (int in = 0; in < FAULT_IN__N; in++) {
			for (int p = 0; p < w->partitions; p++) {
				for (int64_t o = 0; o < s->committed[in][p]; o++) {
					long msg = fault_model_at(m, in, p, o);
					r->commit_offsets++;
					if (msg < 0) {
						r->commit_violations++;
						fault_note(
							r,
							"%s[%d] committed at %ld, past its end; ",
							fault_model_topic(in), p,
							(long)s->committed[in][p]);
						break;
					}
					const struct fault_event *e = fault_ev(m, msg);
					for (int out = 0; out < FAULT_OUT__N; out++) {
						if (!(e->expect & (1 << out)))
							continue;
						long k = first[msg * FAULT_OUT__N + out];
						const struct fault_copy *c =
							k >= 0 ? &copies[k] : NULL;
						bool there =
							c &&
							(out == FAULT_OUT_REVIEW ?
								 c->off <= s->ms :
								 c->off < s->end[out][c->part]);
						if (!there && c) {
							r->commit_violations++;
							fault_note(r,
								   "%s[%d]@%ld committed at %.1f s "
								   "before its %s; ",
								   fault_model_topic(in), p,
								   (long)o, s->t,
								   fault_model_out_name(out));
						}
					}
				}
			}
		}
	}
}

void fault_check_run(struct harness *h, redisContext *redis, const struct fault_model *m,
		     const struct fault_watch *w, struct fault_result *r)
{
	memset(r, 0, sizeof(*r));
	struct fault_reader rd = {.m = m, .r = r};
	rd.lv = ledger_verifier_new();
	ck_assert_ptr_nonnull(rd.lv);
	for (int out = 0; out < FAULT_OUT_TOPICS; out++) {
		rd.out = out;
		if (harness_count(h, fault_model_out_topic(out)) > 0)
			harness_read(h, fault_model_out_topic(out), fault_read_cb, &rd);
	}
	fault_settle_audit(&rd);
	fault_read_redis(&rd, redis);
	qsort(rd.copies, rd.n_copies, sizeof(*rd.copies), fault_copy_cmp);

	/* Per event and output: its copies, in order. */
	long *first = malloc((size_t)(m->n_inputs ? m->n_inputs : 1) * FAULT_OUT__N * sizeof(long));
	ck_assert_ptr_nonnull(first);
	for (long k = 0; k < m->n_inputs * FAULT_OUT__N; k++)
		first[k] = -1;
	size_t i = 0;
	for (long msg = 0; msg < m->n_inputs; msg++) {
		const struct fault_input *in = &m->inputs[msg];
		const struct fault_event *e = fault_ev(m, msg);
		for (int out = 0; out < FAULT_OUT__N; out++) {
			size_t from = i;
			while (i < rd.n_copies && rd.copies[i].msg == msg &&
			       rd.copies[i].out == out)
				i++;
			/* The copies that count: for audit records, the chains' own. */
			size_t n = 0, last = 0;
			int why = 0;
			for (size_t k = from; k < i; k++) {
				const struct fault_copy *c = &rd.copies[k];
				if (out == FAULT_OUT_AUDIT && !c->in_chain)
					continue;
				if (n == 0)
					first[msg * FAULT_OUT__N + out] = (long)k;
				else if (out == FAULT_OUT_AUDIT || out == FAULT_OUT_REVIEW ||
					 !(why = fault_explained(w, in, out, &rd.copies[last],
								 c))) {
					r->duplicated[out]++;
					fault_note(r,
						   "%s of %s[%d]@%ld twice, at %d@%ld (%.1f s) and "
						   "%d@%ld (%.1f s); ",
						   fault_model_out_name(out),
						   fault_model_topic(in->in), in->partition,
						   (long)in->offset, rd.copies[last].part,
						   (long)rd.copies[last].off,
						   fault_written_at(w, out, &rd.copies[last]),
						   c->part, (long)c->off,
						   fault_written_at(w, out, c));
				} else {
					r->repeated++;
					r->repeated_by[out]++;
					r->repeated_offsets += why == 2;
				}
				last = k;
				n++;
			}
			bool expected = e->expect & (1 << out);
			if (expected && n == 0) {
				r->lost[out]++;
				fault_note(r, "%s of %s[%d]@%ld (event %d, kind %d) lost; ",
					   fault_model_out_name(out), fault_model_topic(in->in),
					   in->partition, (long)in->offset, in->ev, e->kind);
			} else if (expected) {
				r->checked[out]++;
			} else if (i > from) {
				r->unexpected++;
				fault_note(r, "unexpected %s of %s[%d]@%ld (event %d, kind %d); ",
					   fault_model_out_name(out), fault_model_topic(in->in),
					   in->partition, (long)in->offset, in->ev, e->kind);
			}
		}
	}
	fault_check_commits(m, w, rd.copies, first, r);
	free(first);
	free(rd.copies);
	free(rd.audits);
	for (int k = 0; k < rd.n_chains; k++)
		free(rd.chains[k]);
	ledger_verifier_free(rd.lv);
}

long fault_result_lost(const struct fault_result *r)
{
	long n = 0;
	for (int out = 0; out < FAULT_OUT__N; out++)
		n += r->lost[out];
	return n;
}

long fault_result_duplicated(const struct fault_result *r)
{
	long n = 0;
	for (int out = 0; out < FAULT_OUT__N; out++)
		n += r->duplicated[out];
	return n;
}
