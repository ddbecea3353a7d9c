/* Unit tests for the audit chain writer (audit.c): linking, recovery from an audit partition, and
 * what a redelivery must not write again. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arbiter/v1/audit_record.pb-c.h"
#include "arbiter/v1/moderation_decision.pb-c.h"
#include "audit.h"
#include "ledger.h"
#include "records.h"
#include "unit.h"

#define MAX_MSGS 64

/* An audit partition as recovery reads it. */
struct partition {
	rd_kafka_message_t m[MAX_MSGS];
	size_t n;
};

static void partition_free(struct partition *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->m[i].payload);
}

static void partition_append(struct partition *p, const struct records_buf *buf)
{
	ck_assert_uint_lt(p->n, MAX_MSGS);
	rd_kafka_message_t *m = &p->m[p->n];
	memset(m, 0, sizeof(*m));
	m->payload = malloc(buf->len);
	ck_assert_ptr_nonnull(m->payload);
	memcpy(m->payload, buf->data, buf->len);
	m->len = buf->len;
	m->offset = (int64_t)p->n++;
}

/* Writes the audit record of the decision at OFFSET of TOPIC[PARTITION] as the
 * chain's next record, as the pipeline does; false when the chain held it. */
static bool write_as(struct audit_chain *c, struct partition *p, const char *topic,
		     int32_t partition, int64_t offset, const char *writer)
{
	struct records_source src = {topic, partition, offset};
	char id[RECORDS_ID_LEN + 1];
	records_id(id, "audit", &src);
	if (audit_chain_holds(c, id))
		return false;
	Arbiter__V1__ModerationDecision d = ARBITER__V1__MODERATION_DECISION__INIT;
	char did[32];
	snprintf(did, sizeof(did), "d-%lld", (long long)offset);
	d.decision_id = did;
	d.content_id = "c-1";
	d.kind = ARBITER__V1__DECISION_KIND__ACTION;
	d.action = ARBITER__V1__ACTION__NONE;
	d.actor = ARBITER__V1__ACTOR__HUMAN;
	d.decided_at_ms = 1790000000000LL + offset;
	struct records_link link;
	struct records_buf buf;
	audit_chain_next(c, &link);
	link.writer = writer;
	ck_assert_int_ge(records_audit_decision(&src, &d, NULL, 1, &link, &buf), 0);
	partition_append(p, &buf);
	audit_chain_advance(c, &link);
	free(buf.data);
	return true;
}

static bool write_decision(struct audit_chain *c, struct partition *p, const char *topic,
			   int32_t partition, int64_t offset)
{
	return write_as(c, p, topic, partition, offset, "host-a/1/member-1");
}

/* Feeds recovery the partition from FROM to its end. */
static void recover(struct audit_chain *c, const struct partition *p, size_t from)
{
	audit_chain_recover_reset(c);
	for (size_t i = from; i < p->n; i++)
		ck_assert_int_eq(audit_chain_recover(c, &p->m[i]), 0);
}

static char first_detail[400];

/* Verifies the partition; returns the number of breaks over all chains, and
 * the first break's words in first_detail. */
static uint64_t verify(const struct partition *p, size_t *chains, uint64_t *records)
{
	first_detail[0] = '\0';
	struct ledger_verifier *v = ledger_verifier_new();
	ck_assert_ptr_nonnull(v);
	for (size_t i = 0; i < p->n; i++)
		ck_assert_int_eq(
			ledger_verify_add(v, 0, p->m[i].offset, p->m[i].payload, p->m[i].len), 0);
	const struct ledger_chain_report *r;
	size_t n = ledger_verify_reports(v, &r);
	uint64_t breaks = 0;
	*records = 0;
	for (size_t i = 0; i < n; i++) {
		breaks += r[i].breaks;
		*records += r[i].records;
		if (r[i].breaks && !first_detail[0])
			snprintf(first_detail, sizeof(first_detail), "%s", r[i].detail);
	}
	*chains = n;
	ledger_verifier_free(v);
	return breaks;
}

START_TEST(a_new_chain_starts_at_genesis)
{
	struct audit_chain *c = audit_chain_new("moderation.decisions", 5, 1, -1001, 100);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(audit_chain_name(c), "moderation.decisions/5");
	ck_assert_int_eq(audit_chain_partition(c), 1);
	struct records_link link;
	audit_chain_next(c, &link);
	ck_assert_str_eq(link.chain, "moderation.decisions/5");
	ck_assert_uint_eq(link.sequence, 0);
	ck_assert_ptr_null(link.prev_hash);
	/* Nothing read: an empty partition is read whole, and nothing recovered. */
	ck_assert(!audit_chain_recovered(c));
	audit_chain_free(c);
}
END_TEST

/* A restart: the new writer finds the head among other chains' records and
 * continues the chain; the verifier sees one continuous chain. */
START_TEST(recovery_continues_the_chain_after_a_restart)
{
	struct partition p = {0};
	struct audit_chain *a = audit_chain_new("moderation.decisions", 0, 0, -1001, 10);
	struct audit_chain *b = audit_chain_new("moderation.decisions", 2, 0, -1001, 10);
	for (int64_t off = 0; off < 6; off++) {
		ck_assert(write_decision(a, &p, "moderation.decisions", 0, off));
		ck_assert(write_decision(b, &p, "moderation.decisions", 2, off));
	}
	audit_chain_free(a);

	/* Everything up to offset 6 was committed: nothing is redelivered. */
	a = audit_chain_new("moderation.decisions", 0, 0, 6, 0);
	recover(a, &p, 0);
	ck_assert(audit_chain_recovered(a));
	ck_assert_uint_eq(audit_chain_next_sequence(a), 6);
	ck_assert_uint_eq(audit_chain_remembered(a), 0);
	for (int64_t off = 6; off < 9; off++)
		ck_assert(write_decision(a, &p, "moderation.decisions", 0, off));

	size_t chains;
	uint64_t records;
	ck_assert_uint_eq(verify(&p, &chains, &records), 0);
	ck_assert_uint_eq(chains, 2);
	ck_assert_uint_eq(records, 15);
	audit_chain_free(a);
	audit_chain_free(b);
	partition_free(&p);
}
END_TEST

/* A crash after writing records whose offsets were not committed: the
 * redelivered messages find their records and write nothing twice. */
START_TEST(redelivered_messages_write_nothing_twice)
{
	struct partition p = {0};
	struct audit_chain *a = audit_chain_new("content.events", 3, 0, -1001, 4);
	for (int64_t off = 0; off < 10; off++)
		ck_assert(write_decision(a, &p, "content.events", 3, off));
	audit_chain_free(a);

	/* Committed up to 7; the margin (4) reaches back to 3. */
	a = audit_chain_new("content.events", 3, 0, 7, 4);
	recover(a, &p, 0);
	ck_assert(audit_chain_recovered(a));
	ck_assert_uint_eq(audit_chain_remembered(a), 7); /* offsets 3..9 */
	ck_assert_uint_eq(audit_chain_next_sequence(a), 10);
	for (int64_t off = 7; off < 12; off++)
		ck_assert_int_eq(write_decision(a, &p, "content.events", 3, off), off >= 10);

	size_t chains;
	uint64_t records;
	ck_assert_uint_eq(verify(&p, &chains, &records), 0);
	ck_assert_uint_eq(records, 12);
	audit_chain_free(a);
	partition_free(&p);
}
END_TEST

/* Reading only the newest records may stop short of the committed offset:
 * recovery says so, and reading from further back finds it all. */
START_TEST(a_short_window_asks_for_more)
{
	struct partition p = {0};
	struct audit_chain *a = audit_chain_new("content.events", 0, 0, -1001, 0);
	struct audit_chain *b = audit_chain_new("content.events", 1, 0, -1001, 0);
	for (int64_t off = 0; off < 5; off++)
		ck_assert(write_decision(a, &p, "content.events", 0, off));
	for (int64_t off = 0; off < 20; off++)
		ck_assert(write_decision(b, &p, "content.events", 1, off));
	audit_chain_free(a);

	a = audit_chain_new("content.events", 0, 0, 3, 0);
	recover(a, &p, p.n - 10); /* chain 1's records only */
	ck_assert(!audit_chain_recovered(a));
	ck_assert_uint_eq(audit_chain_next_sequence(a), 0);
	recover(a, &p, 0);
	ck_assert(audit_chain_recovered(a));
	ck_assert_uint_eq(audit_chain_next_sequence(a), 5);
	ck_assert_uint_eq(audit_chain_remembered(a), 2); /* offsets 3 and 4 */
	ck_assert(!write_decision(a, &p, "content.events", 0, 4));
	ck_assert(write_decision(a, &p, "content.events", 0, 5));

	size_t chains;
	uint64_t records;
	ck_assert_uint_eq(verify(&p, &chains, &records), 0);
	ck_assert_uint_eq(records, 26);
	audit_chain_free(a);
	audit_chain_free(b);
	partition_free(&p);
}
END_TEST

/* A writer that never recovered the chain (a bug) forks it at the genesis: the verifier finds
 * it and names it. */
START_TEST(a_second_writer_shows_as_a_break)
{
	struct partition p = {0};
	struct audit_chain *a = audit_chain_new("content.events", 0, 0, -1001, 0);
	for (int64_t off = 0; off < 4; off++)
		ck_assert(write_decision(a, &p, "content.events", 0, off));
	struct audit_chain *stray = audit_chain_new("content.events", 0, 0, -1001, 0);
	ck_assert(write_as(stray, &p, "content.events", 0, 9, "host-z/7/member-0"));
	size_t chains;
	uint64_t records;
	ck_assert_uint_gt(verify(&p, &chains, &records), 0);
	ck_assert_msg(strstr(first_detail, "sequence 0 is already held") &&
			      strstr(first_detail, "(written by host-z/7/member-0)"),
		      "%s", first_detail);
	audit_chain_free(a);
	audit_chain_free(stray);
	partition_free(&p);
}
END_TEST

/* A zombie that has written nothing visible when its successor recovers: both read the same
 * head, and one above the highest epoch read would be the same for both. Claimed at their
 * assignment times, the successor's epoch is the higher, and the zombie's late records are
 * fenced, not a fork. */
START_TEST(a_zombie_unseen_at_takeover_is_fenced_by_the_claim)
{
	struct partition p = {0};
	struct audit_chain *a = audit_chain_new("content.events", 0, 0, -1001, 100);
	for (int64_t off = 0; off < 2; off++)
		ck_assert(write_decision(a, &p, "content.events", 0, off));
	struct audit_chain *z = audit_chain_new("content.events", 0, 0, 2, 100);
	recover(z, &p, 0);
	audit_chain_claim(z, 1796000000000ULL);
	struct audit_chain *b = audit_chain_new("content.events", 0, 0, 2, 100);
	recover(b, &p, 0); /* the same head: Z has written nothing yet */
	ck_assert_uint_eq(audit_chain_next_sequence(b), audit_chain_next_sequence(z));
	audit_chain_claim(b, 1796000006000ULL); /* a session timeout later */
	ck_assert_uint_gt(audit_chain_epoch(b), audit_chain_epoch(z));
	/* Z writes 2 and 3, then B its own 2 and 3: Z's are fenced. */
	ck_assert(write_as(z, &p, "content.events", 0, 2, "host-z/1/member-1"));
	ck_assert(write_as(z, &p, "content.events", 0, 3, "host-z/1/member-1"));
	ck_assert(write_as(b, &p, "content.events", 0, 2, "host-b/2/member-2"));
	ck_assert(write_as(b, &p, "content.events", 0, 3, "host-b/2/member-2"));
	size_t chains;
	uint64_t records;
	ck_assert_msg(verify(&p, &chains, &records) == 0, "%s", first_detail);
	ck_assert_uint_eq(records, 4);
	/* A claim never lowers the epoch recovery gives. */
	struct audit_chain *c = audit_chain_new("content.events", 0, 0, 4, 100);
	recover(c, &p, 0);
	uint64_t e = audit_chain_epoch(c);
	audit_chain_claim(c, 1);
	ck_assert_uint_eq(audit_chain_epoch(c), e);
	ck_assert_uint_eq(e, audit_chain_epoch(b) + 1);
	audit_chain_free(a);
	audit_chain_free(z);
	audit_chain_free(b);
	audit_chain_free(c);
	partition_free(&p);
}
END_TEST

/* A takeover while the previous owner is paused (a zombie): the new owner recovers under a
 * higher epoch; what the old one writes after is fenced. The next owner after that takes the
 * new owner's head, not the zombie's, and does not count the zombie's copy of a record as
 * held. */
START_TEST(a_takeover_fences_the_previous_owner)
{
	struct partition p = {0};
	struct audit_chain *a = audit_chain_new("content.events", 0, 0, -1001, 100);
	for (int64_t off = 0; off < 4; off++)
		ck_assert(write_decision(a, &p, "content.events", 0, off));
	ck_assert_uint_eq(audit_chain_epoch(a), 1);
	/* B takes over: committed up to 4. */
	struct audit_chain *b = audit_chain_new("content.events", 0, 0, 4, 100);
	recover(b, &p, 0);
	ck_assert_uint_eq(audit_chain_epoch(b), 2);
	ck_assert(write_as(b, &p, "content.events", 0, 4, "host-b/2/member-2"));
	/* A, resumed, still writes 4 and 5 after B's 4. */
	ck_assert(write_as(a, &p, "content.events", 0, 4, "host-a/1/member-1"));
	ck_assert(write_as(a, &p, "content.events", 0, 5, "host-a/1/member-1"));
	ck_assert(write_as(b, &p, "content.events", 0, 5, "host-b/2/member-2"));
	size_t chains;
	uint64_t records;
	ck_assert_msg(verify(&p, &chains, &records) == 0, "%s", first_detail);
	ck_assert_uint_eq(records, 6); /* 0..3 by A, 4 and 5 by B */
	/* C takes over from B: B's head, epoch 3; B's records of 4 and 5 are held, A's copies
	 * are not what makes them held. */
	struct audit_chain *c = audit_chain_new("content.events", 0, 0, 4, 100);
	recover(c, &p, 0);
	ck_assert_uint_eq(audit_chain_epoch(c), 3);
	ck_assert_uint_eq(audit_chain_next_sequence(c), 6);
	ck_assert(!write_as(c, &p, "content.events", 0, 5, "host-c/3/member-3"));
	ck_assert(write_as(c, &p, "content.events", 0, 6, "host-c/3/member-3"));
	ck_assert_msg(verify(&p, &chains, &records) == 0, "%s", first_detail);
	ck_assert_uint_eq(records, 7);
	audit_chain_free(a);
	audit_chain_free(b);
	audit_chain_free(c);
	partition_free(&p);
}
END_TEST

static Suite *audit_suite(void)
{
	Suite *s = suite_create("audit");
	TCase *tc = tcase_create("chain");
	tcase_add_test(tc, a_new_chain_starts_at_genesis);
	tcase_add_test(tc, recovery_continues_the_chain_after_a_restart);
	tcase_add_test(tc, redelivered_messages_write_nothing_twice);
	tcase_add_test(tc, a_short_window_asks_for_more);
	tcase_add_test(tc, a_second_writer_shows_as_a_break);
	tcase_add_test(tc, a_takeover_fences_the_previous_owner);
	tcase_add_test(tc, a_zombie_unseen_at_takeover_is_fenced_by_the_claim);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(audit_suite());
}
