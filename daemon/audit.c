/* The audit ledger's writer side: one hash chain per input partition, its head recovered from the
 * audit topic. */
#include "audit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arbiter/v1/audit_record.pb-c.h"
#include "strmap.h"

/* Where an ownership epoch starts in the chain: records of lower epochs from SEQ on are a
 * previous owner's, written after the chain moved on. */
struct audit_epoch_start {
	uint64_t epoch, seq;
};

/* A record recovery remembers: its place, to tell whether it was fenced. */
struct audit_recent {
	uint64_t epoch, seq;
};

struct audit_chain {
	char name[320];
	int32_t audit_partition;
	int64_t remember_from; /* source offsets from here on are remembered */
	uint64_t next_seq;
	uint64_t head_epoch;
	uint8_t head[LEDGER_HASH_LEN];  /* hash of the last record, when next_seq > 0 */
	uint64_t write_epoch;           /* ours: see audit_chain_epoch; 0 until known */
	bool far_enough;                /* recovery read a record from before remember_from */
	struct strmap recent;           /* record ids of the chain from remember_from on */
	struct audit_recent *recent_at; /* by the index recent maps to */
	size_t n_recent, cap_recent;
	struct audit_epoch_start *starts; /* by epoch, ascending */
	size_t n_starts;
};

struct audit_chain *audit_chain_new(const char *topic, int32_t partition, int32_t audit_partition,
				    int64_t committed, int64_t margin)
{
	struct audit_chain *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	snprintf(c->name, sizeof(c->name), "%s/%d", topic, (int)partition);
	c->audit_partition = audit_partition;
	c->remember_from = committed > margin ? committed - margin : 0;
	return c;
}

void audit_chain_free(struct audit_chain *c)
{
	if (!c)
		return;
	strmap_free(&c->recent);
	free(c->recent_at);
	free(c->starts);
	free(c);
}

const char *audit_chain_name(const struct audit_chain *c)
{
	return c->name;
}

int32_t audit_chain_partition(const struct audit_chain *c)
{
	return c->audit_partition;
}

uint64_t audit_chain_next_sequence(const struct audit_chain *c)
{
	return c->next_seq;
}

size_t audit_chain_remembered(const struct audit_chain *c)
{
	return c->recent.n;
}

void audit_chain_recover_reset(struct audit_chain *c)
{
	strmap_free(&c->recent);
	memset(&c->recent, 0, sizeof(c->recent));
	c->n_recent = 0;
	c->n_starts = 0;
	c->next_seq = 0;
	c->head_epoch = 0;
	c->write_epoch = 0;
	c->far_enough = false;
}

/* True when a record of EPOCH at SEQ was written after a later epoch took the chain over. */
static bool audit_chain_fenced(const struct audit_chain *c, uint64_t epoch, uint64_t seq)
{
	for (size_t i = c->n_starts; i-- > 0 && c->starts[i].epoch > epoch;)
		if (c->starts[i].seq <= seq)
			return true;
	return false;
}

/* Notes that EPOCH is seen at SEQ: the lowest sequence of each epoch is where it starts. */
static int audit_chain_note_epoch(struct audit_chain *c, uint64_t epoch, uint64_t seq)
{
	size_t i = 0;
	while (i < c->n_starts && c->starts[i].epoch < epoch)
		i++;
	if (i < c->n_starts && c->starts[i].epoch == epoch) {
		if (seq < c->starts[i].seq)
			c->starts[i].seq = seq;
		return 0;
	}
	struct audit_epoch_start *v = realloc(c->starts, (c->n_starts + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	c->starts = v;
	memmove(&v[i + 1], &v[i], (c->n_starts - i) * sizeof(*v));
	v[i] = (struct audit_epoch_start){epoch, seq};
	c->n_starts++;
	return 0;
}

static int audit_chain_remember(struct audit_chain *c, const Arbiter__V1__AuditRecord *r)
{
	if (c->n_recent == c->cap_recent) {
		size_t cap = c->cap_recent ? c->cap_recent * 2 : 64;
		struct audit_recent *v = realloc(c->recent_at, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		c->recent_at = v;
		c->cap_recent = cap;
	}
	uint32_t at = (uint32_t)c->n_recent;
	int put = strmap_put(&c->recent, r->record_id, strlen(r->record_id), at, &at);
	if (put < 0)
		return -ENOMEM;
	if (put == 1)
		c->n_recent++;
	/* A record id seen twice (a zombie's copy and its successor's): keep the later epoch. */
	if (put == 1 || r->chain_epoch > c->recent_at[at].epoch)
		c->recent_at[at] = (struct audit_recent){r->chain_epoch, r->sequence};
	return 0;
}

int audit_chain_recover(struct audit_chain *c, const rd_kafka_message_t *m)
{
	Arbiter__V1__AuditRecord *r = arbiter__v1__audit_record__unpack(NULL, m->len, m->payload);
	if (!r)
		return 0;
	int rc = 0;
	if (r->chain && !strcmp(r->chain, c->name) && r->hash.len == LEDGER_HASH_LEN) {
		rc = audit_chain_note_epoch(c, r->chain_epoch, r->sequence);
		/* The head is the last record of the latest epoch: a fenced writer's later
		 * records are not. */
		bool newer = r->chain_epoch > c->head_epoch ||
			     (r->chain_epoch == c->head_epoch && r->sequence + 1 >= c->next_seq);
		if (newer) {
			c->next_seq = r->sequence + 1;
			c->head_epoch = r->chain_epoch;
			memcpy(c->head, r->hash.data, LEDGER_HASH_LEN);
		}
		if (r->source_offset < c->remember_from)
			c->far_enough = true;
		else if (!rc)
			rc = audit_chain_remember(c, r);
	}
	arbiter__v1__audit_record__free_unpacked(r, NULL);
	return rc;
}

bool audit_chain_recovered(const struct audit_chain *c)
{
	return c->far_enough;
}

bool audit_chain_holds(const struct audit_chain *c, const char *record_id)
{
	uint32_t at;
	if (!strmap_get(&c->recent, record_id, strlen(record_id), &at))
		return false;
	/* A fenced copy does not count: the chain does not hold it. */
	return !audit_chain_fenced(c, c->recent_at[at].epoch, c->recent_at[at].seq);
}

uint64_t audit_chain_epoch(const struct audit_chain *c)
{
	return c->write_epoch ? c->write_epoch :
	       c->n_starts    ? c->starts[c->n_starts - 1].epoch + 1 :
				1;
}

void audit_chain_claim(struct audit_chain *c, uint64_t floor)
{
	uint64_t e = audit_chain_epoch(c);
	c->write_epoch = e > floor ? e : floor;
}

void audit_chain_next(const struct audit_chain *c, struct records_link *link)
{
	link->chain = c->name;
	link->sequence = c->next_seq;
	link->prev_hash = c->next_seq ? c->head : NULL;
	link->writer = NULL;
	link->epoch = audit_chain_epoch(c);
	link->dsa_memo = NULL;
}

void audit_chain_advance(struct audit_chain *c, const struct records_link *link)
{
	memcpy(c->head, link->hash, LEDGER_HASH_LEN);
	c->next_seq = link->sequence + 1;
	c->head_epoch = c->write_epoch = link->epoch;
}
