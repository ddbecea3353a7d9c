/* The audit ledger's writer side: one hash chain per input partition, its head recovered from the
 * audit topic. */
#include "audit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arbiter/v1/audit_record.pb-c.h"
#include "strmap.h"

struct audit_chain {
	char name[320];
	int32_t audit_partition;
	int64_t remember_from; /* source offsets from here on are remembered */
	uint64_t next_seq;
	uint8_t head[LEDGER_HASH_LEN]; /* hash of the last record, when next_seq > 0 */
	bool far_enough;               /* recovery read a record from before remember_from */
	struct strmap recent;          /* record ids of the chain from remember_from on */
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
	c->next_seq = 0;
	c->far_enough = false;
}

int audit_chain_recover(struct audit_chain *c, const rd_kafka_message_t *m)
{
	Arbiter__V1__AuditRecord *r = arbiter__v1__audit_record__unpack(NULL, m->len, m->payload);
	if (!r)
		return 0;
	int rc = 0;
	if (r->chain && !strcmp(r->chain, c->name) && r->hash.len == LEDGER_HASH_LEN) {
		c->next_seq = r->sequence + 1;
		memcpy(c->head, r->hash.data, LEDGER_HASH_LEN);
		if (r->source_offset < c->remember_from) {
			c->far_enough = true;
		} else if (strmap_put(&c->recent, r->record_id, strlen(r->record_id), 1, NULL) <
			   0) {
			rc = -ENOMEM;
		}
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
	uint32_t v;
	return strmap_get(&c->recent, record_id, strlen(record_id), &v);
}

void audit_chain_next(const struct audit_chain *c, struct records_link *link)
{
	link->chain = c->name;
	link->sequence = c->next_seq;
	link->prev_hash = c->next_seq ? c->head : NULL;
	link->writer = NULL;
}

void audit_chain_advance(struct audit_chain *c, const struct records_link *link)
{
	memcpy(c->head, link->hash, LEDGER_HASH_LEN);
	c->next_seq = link->sequence + 1;
}
