/* The pipeline's partitions: assignment with each partition's audit chain recovered from the
 * audit topic, and revocation after a last commit. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "pipeline_impl.h"

void pipeline_parts_unref(struct pipeline_part *part)
{
	if (--part->refs == 0) {
		offsets_window_free(part->win);
		audit_chain_free(part->chain);
		free(part);
	}
}

struct pipeline_part *pipeline_parts_get(struct pipeline *p, enum kafka_input in, int32_t partition)
{
	if (partition < 0 || (size_t)partition >= p->n_parts[in])
		return NULL;
	return p->parts[in][partition];
}

enum kafka_input pipeline_parts_input(struct pipeline *p, const char *topic)
{
	for (int i = 0; i < KAFKA_IN__COUNT; i++)
		if (strcmp(kafka_input_topic(p->kafka, (enum kafka_input)i), topic) == 0)
			return (enum kafka_input)i;
	return KAFKA_IN__COUNT;
}

static void pipeline_parts_chain_record(void *opaque, const rd_kafka_message_t *m)
{
	struct audit_chain *c = opaque;
	if (audit_chain_recover(c, m) < 0)
		log_warn(pipeline,
			 "audit chain %s: out of memory remembering its records; "
			 "redelivered messages may write theirs again",
			 audit_chain_name(c));
}

/* The chain of input partition PARTITION of IN, its head read back from the
 * audit topic: the newest records first, further back until a record of the
 * chain from before the committed offset turns up (every record of a message
 * that may be redelivered is then known) or the partition's start is
 * reached. Blocks the loop, on purpose: nothing of the partition may be
 * handled before. NULL when the audit topic cannot be read. */
static struct audit_chain *pipeline_parts_chain_recover(struct pipeline *p, enum kafka_input in,
							int32_t partition)
{
	const char *topic = kafka_input_topic(p->kafka, in);
	const char *audit = kafka_output_topic(p->kafka, KAFKA_OUT_AUDIT);
	int64_t committed;
	if (kafka_committed(p->kafka, in, partition, 30000, &committed) < 0)
		return NULL;
	/* Records can come out of offset order by as much as is in flight. */
	int64_t margin = (int64_t)p->cfg->pipeline.max_inflight;
	struct audit_chain *c = audit_chain_new(topic, partition, partition % p->audit_partitions,
						committed, margin);
	if (!c)
		return NULL;
	/* From the newest thousand records back, eight times further each time
	 * the chain's records from before the window are not reached yet. */
	int64_t count = 1000;
	for (;;) {
		bool whole = false;
		audit_chain_recover_reset(c);
		int rc = kafka_read_tail(p->kafka, KAFKA_OUT_AUDIT, audit_chain_partition(c), count,
					 30000, pipeline_parts_chain_record, c, &whole);
		if (rc < 0) {
			log_error(pipeline,
				  "audit chain %s: cannot read its head from %s[%" PRId32 "]: %s",
				  audit_chain_name(c), audit, audit_chain_partition(c),
				  strerror(-rc));
			audit_chain_free(c);
			return NULL;
		}
		if (audit_chain_recovered(c) || whole)
			break;
		count *= 8;
	}
	audit_chain_claim(c, (uint64_t)log_now_ms());
	log_info(pipeline,
		 "audit chain %s continues at sequence %" PRIu64 " in %s[%" PRId32
		 "] (%zu record(s) of uncommitted input known)",
		 audit_chain_name(c), audit_chain_next_sequence(c), audit, audit_chain_partition(c),
		 audit_chain_remembered(c));
	return c;
}

/* Who writes our audit records, "HOST/PID/MEMBER-ID": each join may bring a
 * new member id. */
static void pipeline_parts_writer(struct pipeline *p)
{
	char host[HOST_NAME_MAX + 1] = "", member[200];
	gethostname(host, sizeof(host));
	host[sizeof(host) - 1] = '\0';
	kafka_member_id(p->kafka, member, sizeof(member));
	snprintf(p->writer, sizeof(p->writer), "%.64s/%ld/%.200s", host, (long)getpid(), member);
}

/* Makes room for partition PARTITION of IN. Returns 0 or -ENOMEM. */
static int pipeline_parts_grow(struct pipeline *p, enum kafka_input in, int32_t partition)
{
	size_t need = (size_t)partition + 1;
	if (need <= p->n_parts[in])
		return 0;
	struct pipeline_part **v = realloc(p->parts[in], need * sizeof(*v));
	if (!v)
		return -ENOMEM;
	memset(v + p->n_parts[in], 0, (need - p->n_parts[in]) * sizeof(*v));
	p->parts[in] = v;
	p->n_parts[in] = need;
	return 0;
}

/* Partition PARTITION of IN, newly assigned, with its audit chain
 * recovered. NULL when out of memory or when the chain cannot be recovered
 * (then the pipeline stops); said either way. */
static struct pipeline_part *pipeline_parts_new(struct pipeline *p, enum kafka_input in,
						int32_t partition)
{
	struct pipeline_part *part = calloc(1, sizeof(*part));
	if (part)
		part->win = offsets_window_new();
	if (!part || !part->win) {
		free(part);
		log_error(pipeline, "out of memory on assignment");
		return NULL;
	}
	part->input = in;
	part->partition = partition;
	part->refs = 1;
	part->chain = pipeline_parts_chain_recover(p, in, partition);
	if (!part->chain) {
		/* Writing a chain whose head is unknown would fork it. */
		offsets_window_free(part->win);
		free(part);
		log_error(pipeline, "cannot recover the audit chain of %s[%" PRId32 "]: stopping",
			  kafka_input_topic(p->kafka, in), partition);
		pipeline_on_fatal(p, "audit chain recovery failed");
		return NULL;
	}
	return part;
}

static void pipeline_parts_abort(struct pipeline *p);

void pipeline_parts_assigned(void *opaque, const rd_kafka_topic_partition_list_t *parts)
{
	struct pipeline *p = opaque;
	if (p->txn_void) {
		/* Voided after the last revoke, with nothing assigned: no revoke came to end it. */
		p->txn_void = false;
		pipeline_parts_abort(p);
	}
	pipeline_parts_writer(p);
	for (int i = 0; i < parts->cnt; i++) {
		const rd_kafka_topic_partition_t *tp = &parts->elems[i];
		enum kafka_input in = pipeline_parts_input(p, tp->topic);
		if (in == KAFKA_IN__COUNT || tp->partition < 0)
			continue;
		if (pipeline_parts_grow(p, in, tp->partition) < 0) {
			log_error(pipeline, "out of memory on assignment");
			continue;
		}
		if (p->parts[in][tp->partition])
			continue;
		struct pipeline_part *part = pipeline_parts_new(p, in, tp->partition);
		if (!part)
			continue;
		p->parts[in][tp->partition] = part;
		metrics_add(assigned_partitions, 1);
		metrics_kafka_partition(tp->topic, tp->partition, true);
	}
	metrics_group_assigned(true);
	if (p->hooks.assigned)
		p->hooks.assigned(p->hooks.opaque, (size_t)parts->cnt);
}

/* Aborts the open transaction at a revoke: it holds records of input that the partitions'
 * next owners handle again, which must never commit beside theirs. */
static void pipeline_parts_abort(struct pipeline *p)
{
	/* At most 2 s on the loop: with the brokers away the abort goes on in the background,
	 * input paused, and each commit tick tries to finish it. */
	int rc = kafka_txn_abort(p->kafka, true);
	p->released_since = 0;
	p->produced_since = false;
	if (rc == -EPERM || rc == -EIO)
		pipeline_on_fatal(p, "the transactional producer cannot abort");
}

void pipeline_parts_revoked(void *opaque, const rd_kafka_topic_partition_list_t *parts)
{
	struct pipeline *p = opaque;
	metrics_group_assigned(false);
	/* A record refused meanwhile (its report served while the transaction ends) voids the
	 * transaction this revoke ends anyway: no rejoin for it, and nothing left void after. */
	p->revoking = true;
	/* Commit what finished before giving the partitions away; what is
	 * still in flight will be redelivered to the next owner, and the
	 * records it produces carry the same ids. A lost assignment is owned
	 * by someone else already: its commit would be refused. */
	if (kafka_assignment_lost(p->kafka) || p->txn_void) {
		if (p->txn_void)
			log_info(pipeline, "after the aborted transaction: the input since the "
					   "last commit will be redelivered");
		else
			log_warn(pipeline, "assignment lost: finished messages since the last "
					   "commit will be redelivered");
		if (p->transactional)
			pipeline_parts_abort(p);
	} else if (p->transactional) {
		/* Flushes, and commits the transaction with every finished offset. A
		 * transaction left open would commit later, with our next batch. */
		if (pipeline_commit(p, parts, true) == -EAGAIN) {
			log_warn(pipeline, "cannot commit at the revoke: the transaction is "
					   "aborted, and the input since the last commit will be "
					   "redelivered");
			pipeline_parts_abort(p);
		}
	} else {
		/* The next owner reads each chain's head back from the audit
		 * topic: what we produced must be there before it does. */
		if (kafka_outq_len(p->kafka) > 0 &&
		    kafka_flush(p->kafka, pipeline_flush_ms(p, true)) < 0)
			log_warn(pipeline,
				 "%d record(s) still unacknowledged at revoke: the next owner "
				 "may find a gap in an audit chain",
				 kafka_outq_len(p->kafka));
		pipeline_commit(p, parts, true);
	}
	for (int i = 0; i < parts->cnt; i++) {
		const rd_kafka_topic_partition_t *tp = &parts->elems[i];
		enum kafka_input in = pipeline_parts_input(p, tp->topic);
		struct pipeline_part *part =
			in == KAFKA_IN__COUNT ? NULL : pipeline_parts_get(p, in, tp->partition);
		if (!part)
			continue;
		p->parts[in][tp->partition] = NULL;
		part->revoked = true;
		pipeline_msg_drop_held(p, part);
		metrics_add(assigned_partitions, -1);
		metrics_kafka_partition(tp->topic, tp->partition, false);
		pipeline_parts_unref(part);
	}
	p->txn_void = false;
	p->postponed_since = 0;
	p->revoking = false;
}

void pipeline_parts_free(struct pipeline *p)
{
	for (int in = 0; in < KAFKA_IN__COUNT; in++) {
		for (size_t i = 0; i < p->n_parts[in]; i++)
			if (p->parts[in][i])
				pipeline_parts_unref(p->parts[in][i]);
		free(p->parts[in]);
		p->parts[in] = NULL;
		p->n_parts[in] = 0;
	}
}
