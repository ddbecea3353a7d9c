/* The audit ledger's writer side: one hash chain per input partition, its head recovered from the
 * audit topic. */
#pragma once

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger.h"
#include "records.h"

/*
 * One chain per input partition, named "TOPIC/PARTITION". The consumer group
 * gives each input partition one owner at a time, so each chain has one
 * writer without any coordination of ours; the owner writes its records in
 * the order it links them, into audit partition PARTITION mod the audit
 * topic's partition count, so that the audit topic alone holds every chain
 * in order. On assignment the new owner reads the chain's head back from that
 * partition (audit_chain_recover) before it handles a message of the input
 * partition; on revoke the old owner flushes what it produced first.
 *
 * Each owner writes under an ownership epoch one above the highest it recovered, so
 * that records a previous owner still writes after the takeover (a zombie: paused past
 * its session timeout, then resumed) are told apart: the verifier counts them as
 * fenced, and recovery neither takes them as the head nor as records the chain holds.
 *
 * A restart redelivers the messages after the last committed offset; their
 * records may be in the chain already. Recovery remembers the record ids of
 * the chain from those offsets on, and audit_chain_holds() tells the writer
 * not to write them again.
 */
struct audit_chain;

/* The chain of input partition PARTITION of TOPIC, written to audit partition
 * AUDIT_PARTITION, whose input is committed up to COMMITTED (the next offset
 * to read; negative when nothing is committed). Records of messages from
 * COMMITTED - MARGIN on are remembered at recovery (MARGIN covers records
 * written out of offset order, such as those that waited for Redis). NULL on
 * ENOMEM. */
struct audit_chain *audit_chain_new(const char *topic, int32_t partition, int32_t audit_partition,
				    int64_t committed, int64_t margin);
void audit_chain_free(struct audit_chain *c);

const char *audit_chain_name(const struct audit_chain *c);
int32_t audit_chain_partition(const struct audit_chain *c);
uint64_t audit_chain_next_sequence(const struct audit_chain *c);

/* Forgets what recovery has read, to read again from further back. */
void audit_chain_recover_reset(struct audit_chain *c);
/* Recovery, fed the audit partition's records in order from some offset to
 * its end: the chain's last record becomes its head. Records of other chains
 * are ignored; undecodable ones too (the verifier reports them). Returns 0 or
 * -ENOMEM. */
int audit_chain_recover(struct audit_chain *c, const rd_kafka_message_t *m);
/* True once recovery has read far enough back: to a record of the chain from
 * before COMMITTED - MARGIN. Reading the whole partition is enough too. */
bool audit_chain_recovered(const struct audit_chain *c);
/* The number of records of the chain recovery remembers. */
size_t audit_chain_remembered(const struct audit_chain *c);

/* The ownership epoch this writer's records carry: one above the highest recovery read
 * (1 for a new chain), or what audit_chain_claim made it. */
uint64_t audit_chain_epoch(const struct audit_chain *c);

/* Claims the chain after recovery under an epoch of at least FLOOR. Two owners can recover
 * the same head: a zombie that has written nothing visible yet, and the instance that takes its
 * partition over. One above the highest epoch read would give both the same epoch, and the
 * zombie's records would fork the chain instead of being fenced. With FLOOR the wall clock in
 * ms at assignment, the later owner's epoch is higher, as long as the owners' clocks differ by
 * less than the time between the two assignments (a session timeout at least). */
void audit_chain_claim(struct audit_chain *c, uint64_t floor);

/* True when the chain holds the record RECORD_ID already (not a fenced writer's copy). */
bool audit_chain_holds(const struct audit_chain *c, const char *record_id);

/* The place of the chain's next record: its chain name, sequence and the
 * previous record's hash (NULL at the start); LINK->writer is NULL, for the
 * caller to set. LINK->hash is for the record's builder to fill. Valid until
 * the chain changes. */
void audit_chain_next(const struct audit_chain *c, struct records_link *link);
/* The record linked by LINK was handed to the producer: it is the head now. */
void audit_chain_advance(struct audit_chain *c, const struct records_link *link);
