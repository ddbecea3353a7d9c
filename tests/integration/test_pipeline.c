/* Integration: arbiterd against a mock Kafka cluster: accounting, commits, restarts, kill -9,
 * reload. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arbiter/v1/audit_record.pb-c.h"
#include "arbiter/v1/content_event.pb-c.h"
#include "arbiter/v1/dead_letter.pb-c.h"
#include "arbiter/v1/moderation_decision.pb-c.h"
#include "harness.h"
#include "metrics.h"

#define CONTENT "content.events"
#define DECISIONS "moderation.decisions"
#define AUDIT "moderation.audit"
#define DLQ "arbiter.deadletter"

/* What a batch of generated input holds. */
struct mix {
	long content, decisions, malformed;
};

/* Produces N events numbered from FIRST: 60% content, 40% decisions, and one
 * in a hundred malformed in one of several ways. */
static void produce_mix(struct harness *h, long first, long n, struct mix *mix)
{
	for (long i = first; i < first + n; i++) {
		char id[64], cid[64];
		snprintf(id, sizeof(id), "ev-%ld", i);
		snprintf(cid, sizeof(cid), "c-%ld", i % 997);
		if (i % 100 == 42) {
			/* Malformed, in turn: garbage bytes, a missing content id,
			 * an unknown enum value, an empty message. */
			mix->malformed++;
			switch ((i / 100) % 4) {
			case 0:
				harness_produce(h, CONTENT, cid, "\xff\xfe not protobuf", 15);
				break;
			case 1: {
				Arbiter__V1__ContentEvent ev = ARBITER__V1__CONTENT_EVENT__INIT;
				ev.event_id = id;
				harness_produce_msg(h, CONTENT, cid, &ev.base);
				break;
			}
			case 2: {
				Arbiter__V1__ModerationDecision d =
					ARBITER__V1__MODERATION_DECISION__INIT;
				d.decision_id = id;
				d.content_id = cid;
				d.kind = ARBITER__V1__DECISION_KIND__ACTION;
				d.action = 77;
				harness_produce_msg(h, DECISIONS, cid, &d.base);
				break;
			}
			default:
				harness_produce(h, DECISIONS, cid, "", 0);
				break;
			}
		} else if (i % 5 < 3) {
			Arbiter__V1__ContentEvent ev = ARBITER__V1__CONTENT_EVENT__INIT;
			ev.event_id = id;
			ev.content_id = cid;
			ev.text = "a perfectly ordinary post";
			ev.lang = "sw";
			ev.country = "KE";
			ev.surface = ARBITER__V1__SURFACE__POST;
			ev.content_type = ARBITER__V1__CONTENT_TYPE__TEXT;
			harness_produce_msg(h, CONTENT, cid, &ev.base);
			mix->content++;
		} else {
			Arbiter__V1__ModerationDecision d = ARBITER__V1__MODERATION_DECISION__INIT;
			d.decision_id = id;
			d.content_id = cid;
			d.kind = ARBITER__V1__DECISION_KIND__ACTION;
			d.action = ARBITER__V1__ACTION__REMOVE;
			d.actor = ARBITER__V1__ACTOR__HUMAN;
			d.reviewer_id = "rev-1";
			d.category = "STATEMENT_CATEGORY_VIOLENCE";
			d.ground = ARBITER__V1__GROUND__INCOMPATIBLE_CONTENT;
			harness_produce_msg(h, DECISIONS, cid, &d.base);
			mix->decisions++;
		}
	}
	harness_flush(h);
}

/* audit verify's summary says every chain is intact with one record per decision; STRICT:
 * and none written twice or by a fenced writer. */
static void assert_ledger(struct harness *h, long decisions, bool strict)
{
	struct harness_run run;
	int rc = harness_ctl(&run, NULL, "audit verify --brokers %s --topic %s", h->bootstrap,
			     AUDIT);
	fputs(run.out, stderr);
	/* The last line is the summary. */
	size_t n = strlen(run.out);
	while (n > 0 && run.out[n - 1] == '\n')
		run.out[--n] = '\0';
	const char *summary = strrchr(run.out, '\n') ? strrchr(run.out, '\n') + 1 : run.out;
	ck_assert_msg(rc == 0, "audit verify: %s%s", summary, run.err);
	char want[128];
	snprintf(want, sizeof(want), " %ld record(s), %s", decisions,
		 strict ? "0 exact duplicate(s), 0 fenced: intact" : "");
	ck_assert_msg(strstr(summary, want), "expected \"%s\" in: %s", want, summary);
	ck_assert_msg(strstr(summary, ": intact"), "audit verify: %s", summary);
	harness_run_free(&run);
}

/* The ledger is intact: every chain continuous, one record per decision and
 * none written twice. */
static void assert_ledger_intact(struct harness *h, long decisions)
{
	assert_ledger(h, decisions, true);
}

static bool all_committed(struct harness *h)
{
	return harness_wait_committed(h, CONTENT, 60) && harness_wait_committed(h, DECISIONS, 60);
}

/* Distinct audit record ids, and the decision ids they name. */
struct audit_seen {
	long records;
	long undecodable;
	char **ids;
	size_t n_ids, cap;
};

static void audit_collect(void *opaque, const rd_kafka_message_t *m)
{
	struct audit_seen *s = opaque;
	Arbiter__V1__AuditRecord *r = arbiter__v1__audit_record__unpack(NULL, m->len, m->payload);
	s->records++;
	if (!r) {
		s->undecodable++;
		return;
	}
	for (size_t i = 0; i < s->n_ids; i++) {
		if (!strcmp(s->ids[i], r->decision_id)) {
			arbiter__v1__audit_record__free_unpacked(r, NULL);
			return;
		}
	}
	if (s->n_ids == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 1024;
		s->ids = realloc(s->ids, s->cap * sizeof(*s->ids));
	}
	s->ids[s->n_ids++] = strdup(r->decision_id);
	arbiter__v1__audit_record__free_unpacked(r, NULL);
}

static void audit_seen_free(struct audit_seen *s)
{
	for (size_t i = 0; i < s->n_ids; i++)
		free(s->ids[i]);
	free(s->ids);
}

/* Every decision has exactly one audit record, in intact chains. */
static void assert_one_audit_record_each(struct harness *h, long decisions)
{
	struct audit_seen seen = {0};
	harness_read(h, AUDIT, audit_collect, &seen);
	ck_assert_int_eq((long)seen.n_ids, decisions);
	ck_assert_int_eq(seen.records, decisions);
	assert_ledger_intact(h, decisions);
	audit_seen_free(&seen);
}

static void deadletter_check(void *opaque, const rd_kafka_message_t *m)
{
	long *n = opaque;
	Arbiter__V1__DeadLetter *dl = arbiter__v1__dead_letter__unpack(NULL, m->len, m->payload);
	ck_assert_ptr_nonnull(dl);
	ck_assert_msg(dl->reason && dl->reason[0], "dead letter without a reason");
	ck_assert(!strcmp(dl->source_topic, CONTENT) || !strcmp(dl->source_topic, DECISIONS));
	ck_assert_int_ge(dl->source_offset, 0);
	(*n)++;
	arbiter__v1__dead_letter__free_unpacked(dl, NULL);
}

START_TEST(ten_thousand_mixed_events_are_accounted_for)
{
	struct harness h;
	struct mix mix = {0};
	harness_start(&h, 4);
	harness_write_config(&h, NULL);
	produce_mix(&h, 0, 10000, &mix);
	ck_assert_int_eq(mix.malformed, 100);
	harness_daemon_start(&h);

	ck_assert_msg(all_committed(&h), "committed offsets never reached the end offsets");
	struct audit_seen seen = {0};
	harness_read(&h, AUDIT, audit_collect, &seen);
	ck_assert_int_eq(seen.undecodable, 0);
	ck_assert_int_eq(seen.records, mix.decisions);
	ck_assert_int_eq((long)seen.n_ids, mix.decisions);
	long dl = 0;
	harness_read(&h, DLQ, deadletter_check, &dl);
	ck_assert_int_eq(dl, mix.malformed);

	ck_assert_int_eq(harness_daemon_stop(&h, SIGTERM), 0);
	ck_assert(harness_log_contains(&h, "drained"));
	audit_seen_free(&seen);
	harness_stop(&h);
}
END_TEST

START_TEST(restart_resumes_without_reprocessing)
{
	struct harness h;
	struct mix mix = {0};
	harness_start(&h, 2);
	harness_write_config(&h, NULL);
	produce_mix(&h, 0, 2000, &mix);
	harness_daemon_start(&h);
	ck_assert(all_committed(&h));
	ck_assert_int_eq(harness_daemon_stop(&h, SIGTERM), 0);
	ck_assert_int_eq(harness_count(&h, AUDIT), mix.decisions);

	produce_mix(&h, 2000, 1000, &mix);
	harness_daemon_start(&h);
	ck_assert(all_committed(&h));
	ck_assert_int_eq(harness_daemon_stop(&h, SIGTERM), 0);
	/* Exactly one record per decision across both runs: nothing the first
	 * run committed was handled again. */
	ck_assert_int_eq(harness_count(&h, AUDIT), mix.decisions);
	/* Both runs wrote the same chains, continued where the first stopped. */
	assert_ledger_intact(&h, mix.decisions);
	ck_assert_int_eq(harness_count(&h, DLQ), mix.malformed);
	harness_stop(&h);
}
END_TEST

START_TEST(kill_9_mid_stream_loses_nothing)
{
	struct harness h;
	struct mix mix = {0};
	harness_start(&h, 4);
	/* Slow commits widen the uncommitted window the kill cuts into. */
	harness_write_config(&h, NULL);
	produce_mix(&h, 0, 20000, &mix);
	harness_daemon_start(&h);
	ck_assert(harness_wait_count(&h, AUDIT, mix.decisions / 4, 60));
	ck_assert_int_eq(harness_daemon_stop(&h, SIGKILL), 128 + SIGKILL);

	harness_daemon_start(&h);
	ck_assert(all_committed(&h));
	ck_assert_int_eq(harness_daemon_stop(&h, SIGTERM), 0);

	struct audit_seen seen = {0};
	harness_read(&h, AUDIT, audit_collect, &seen);
	/* Every valid decision has its record, once: the restarted writer
	 * found the records of the window the kill left uncommitted in the
	 * chains it recovered, and did not write them again. */
	ck_assert_int_eq((long)seen.n_ids, mix.decisions);
	ck_assert_int_eq(seen.records, mix.decisions);
	ck_assert(harness_log_contains(&h, "record(s) of uncommitted input known"));
	assert_ledger_intact(&h, mix.decisions);
	audit_seen_free(&seen);
	harness_stop(&h);
}
END_TEST

START_TEST(bad_config_on_sighup_keeps_the_old_one)
{
	struct harness h;
	struct mix mix = {0};
	harness_start(&h, 2);
	harness_write_config(&h, NULL);
	harness_daemon_start(&h);
	produce_mix(&h, 0, 500, &mix);
	ck_assert(all_committed(&h));

	/* Break the file and ask for a reload. */
	harness_write_config(&h, "redis:\n  db: 99\n");
	kill(h.daemon, SIGHUP);
	for (int i = 0; i < 50 && !harness_log_contains(&h, "rejected"); i++)
		usleep(100 * 1000);
	ck_assert_msg(harness_log_contains(&h, "rejected"), "the reload was not rejected");
	ck_assert(harness_log_contains(&h, "arbiter.yaml:18:7: redis.db: expected an integer in"));
	ck_assert(harness_daemon_alive(&h));

	/* Still working on the old configuration. */
	produce_mix(&h, 500, 500, &mix);
	ck_assert(all_committed(&h));
	ck_assert_int_eq(harness_count(&h, AUDIT), mix.decisions);

	/* A good file is taken. */
	harness_write_config(&h, "redis:\n  db: 3\n");
	kill(h.daemon, SIGHUP);
	for (int i = 0; i < 50 && !harness_log_contains(&h, "reloaded"); i++)
		usleep(100 * 1000);
	ck_assert(harness_log_contains(&h, "reloaded"));
	ck_assert_int_eq(harness_daemon_stop(&h, SIGTERM), 0);
	harness_stop(&h);
}
END_TEST

START_TEST(backpressure_pauses_and_resumes)
{
	struct harness h;
	struct mix mix = {0};
	harness_start(&h, 2);
	/* A bound far below the backlog: the consumer must pause on it, resume
	 * as records are acknowledged, and still account for everything. */
	h.max_inflight = 64;
	h.log_level = "debug";
	harness_write_config(&h, NULL);
	produce_mix(&h, 0, 1500, &mix);
	harness_daemon_start(&h);
	ck_assert(all_committed(&h));
	/* Exactly at the bound: the consumer takes no more than it allows. */
	ck_assert(harness_log_contains(&h, "paused at 64 in flight"));
	ck_assert(!harness_log_contains(&h, "paused at 65 in flight"));
	ck_assert(harness_log_contains(&h, "resumed at 32 in flight"));
	ck_assert_int_eq(harness_count(&h, AUDIT), mix.decisions);
	ck_assert_int_eq(harness_count(&h, DLQ), mix.malformed);
	ck_assert_int_eq(harness_daemon_stop(&h, SIGTERM), 0);
	harness_stop(&h);
}
END_TEST

/* Two instances in one group: the second joins mid-stream (a rebalance
 * revokes and reassigns partitions under load), then the first leaves
 * (another). Every decision still has its audit record. */
START_TEST(rebalance_between_two_instances_loses_nothing)
{
	struct harness h;
	struct mix mix = {0};
	harness_start(&h, 4);
	harness_write_config(&h, NULL);
	produce_mix(&h, 0, 20000, &mix);
	harness_daemon_start(&h);
	pid_t first = h.daemon;
	ck_assert(harness_wait_count(&h, AUDIT, mix.decisions / 5, 60));
	harness_daemon_start(&h); /* joins the group: partitions are split */
	pid_t second = h.daemon;
	produce_mix(&h, 20000, 4000, &mix);
	for (int i = 0; i < 100 && !harness_log_contains(&h, "revoking"); i++)
		usleep(100 * 1000);
	ck_assert(harness_log_contains(&h, "revoking"));
	h.daemon = first; /* the first leaves: the second takes everything */
	ck_assert_int_eq(harness_daemon_stop(&h, SIGTERM), 0);
	h.daemon = second;
	ck_assert(all_committed(&h));
	ck_assert_int_eq(harness_daemon_stop(&h, SIGTERM), 0);

	/* Each chain changed writers twice, and stayed one chain. */
	assert_one_audit_record_each(&h, mix.decisions);
	long dl = 0;
	harness_read(&h, DLQ, deadletter_check, &dl);
	ck_assert_int_ge(dl, mix.malformed);
	harness_stop(&h);
}
END_TEST

/* Starts a daemon on EVENTS mixed events over PARTITIONS partitions; returns its pid. */
static pid_t start_on_mixed_events(struct harness *h, struct mix *mix, int partitions, long events)
{
	harness_start(h, partitions);
	harness_write_config(h, NULL);
	produce_mix(h, 0, events, mix);
	harness_daemon_start(h);
	return h->daemon;
}

/* The zombie: an instance paused (SIGSTOP) past its session timeout while another takes its
 * partitions over, then resumed. What it still writes from what it had fetched is fenced by
 * the chains' epochs: audit verify finds every chain intact, with exactly one record per
 * decision in the chains. */
START_TEST(a_paused_instance_is_fenced_when_it_comes_back)
{
	struct harness h;
	struct mix mix = {0};
	pid_t zombie = start_on_mixed_events(&h, &mix, 4, 30000);
	ck_assert(harness_wait_count(&h, AUDIT, 200, 60));
	/* Frozen early, with much of the backlog fetched and not yet handled: what it
	 * handles when it comes back is a zombie's work. */
	ck_assert_int_eq(kill(zombie, SIGSTOP), 0);
	produce_mix(&h, 30000, 3000, &mix);
	harness_daemon_start(&h); /* takes everything over once the zombie's session is out */
	pid_t heir = h.daemon;
	for (int i = 0; i < 300 && !harness_log_contains(&h, "continues at sequence"); i++)
		usleep(100 * 1000);
	/* Past the session timeout (6 s): the heir owns the partitions and writes. */
	sleep(8);
	ck_assert_int_eq(kill(zombie, SIGCONT), 0);
	produce_mix(&h, 33000, 3000, &mix);
	ck_assert_msg(all_committed(&h), "committed offsets never reached the end offsets");
	h.daemon = zombie;
	ck_assert_int_eq(harness_daemon_stop(&h, SIGTERM), 0);
	h.daemon = heir;
	ck_assert_int_eq(harness_daemon_stop(&h, SIGTERM), 0);

	/* What the zombie wrote after the heir took over counts as fenced. */
	assert_ledger(&h, mix.decisions, false);
	struct audit_seen seen = {0};
	harness_read(&h, AUDIT, audit_collect, &seen);
	ck_assert_int_eq((long)seen.n_ids, mix.decisions);
	audit_seen_free(&seen);
	harness_stop(&h);
}
END_TEST

#define KAFKA_API_END_TXN 26 /* the EndTxn request's ApiKey in the Kafka protocol */

/* A transaction the coordinator refuses to commit is aborted: its records are void and its
 * offsets uncommitted, so the instance rejoins and handles that input again. Every decision
 * ends with one audit record in intact chains, and every offset is committed. */
START_TEST(an_aborted_transaction_is_handled_again)
{
	struct harness h;
	struct mix mix = {0};
	harness_start(&h, 2);
	harness_write_config(&h, NULL);
	produce_mix(&h, 0, 3000, &mix);
	rd_kafka_mock_push_request_errors(kafka_mock_cluster(h.mock), KAFKA_API_END_TXN, 1,
					  RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID);
	harness_daemon_start(&h);
	ck_assert_msg(all_committed(&h), "committed offsets never reached the end offsets");
	ck_assert_int_eq(harness_daemon_stop(&h, SIGTERM), 0);
	ck_assert(harness_log_contains(&h, "transaction aborted: rejoining"));
	/* Nothing finished under the aborted transaction was committed at the rejoin's revoke:
	 * it was handled again. */
	ck_assert(harness_log_contains(&h, "after the aborted transaction: the input since the "
					   "last commit will be redelivered"));
	struct audit_seen seen = {0};
	harness_read(&h, AUDIT, audit_collect, &seen);
	ck_assert_int_eq((long)seen.n_ids, mix.decisions);
	assert_ledger_intact(&h, mix.decisions);
	audit_seen_free(&seen);
	harness_stop(&h);
}
END_TEST

#define KAFKA_API_PRODUCE 0 /* the Produce request's ApiKey */
#define REFUSED_PRODUCES 2  /* one Produce request per partition: most hold audit records */

/* Records Kafka refuses inside a transaction void it: the transaction could never commit (the
 * coordinator asks for an abort), so the instance aborts it and rejoins at once, and handles
 * that input again. An audit record among them no longer stops the instance, and a refused
 * record is not retried into the next transaction. (A policy violation: a refusal that, unlike
 * an authorisation failure, does not make librdkafka take the topic for gone until its next
 * metadata refresh, minutes later.) */
START_TEST(a_refused_record_voids_its_transaction)
{
	struct harness h;
	struct mix mix = {0};
	harness_start(&h, 2);
	harness_write_config(&h, NULL);
	produce_mix(&h, 0, 3000, &mix);
	for (int i = 0; i < REFUSED_PRODUCES; i++)
		rd_kafka_mock_push_request_errors(kafka_mock_cluster(h.mock), KAFKA_API_PRODUCE, 1,
						  RD_KAFKA_RESP_ERR_POLICY_VIOLATION);
	harness_daemon_start(&h);
	ck_assert_msg(all_committed(&h), "committed offsets never reached the end offsets");
	ck_assert_msg(harness_daemon_alive(&h), "arbiterd stopped on a refused record");
	ck_assert_int_eq(harness_daemon_stop(&h, SIGTERM), 0);
	ck_assert(harness_log_contains(&h, "a record was refused"));
	ck_assert(!harness_log_contains(&h, "retrying"));
	assert_one_audit_record_each(&h, mix.decisions);
	harness_stop(&h);
}
END_TEST

#define BUSY_END_TXNS 60 /* EndTxn refused as busy, retried 100 ms apart: several seconds */

/* A commit the coordinator keeps answering "busy" outlasts a commit tick's 2 s: it is left
 * pending, input paused, and the next ticks resume it until it finishes; nothing is committed
 * twice or lost. (Before, the loop waited for it up to the transaction timeout, 30 s.) The
 * backlog is long enough that messages are still in flight when the commit is left pending
 * (under ASan, every run): their records, refused by the transaction being committed, void
 * the next one, and they are handled again after a rejoin. (Before, the instance stopped:
 * "refused by the producer".) */
START_TEST(a_commit_that_times_out_is_resumed)
{
	struct harness h;
	struct mix mix = {0};
	rd_kafka_resp_err_t busy[BUSY_END_TXNS];
	for (size_t i = 0; i < BUSY_END_TXNS; i++)
		busy[i] = RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS;
	harness_start(&h, 2);
	harness_write_config(&h, NULL);
	produce_mix(&h, 0, 12000, &mix);
	rd_kafka_mock_push_request_errors_array(kafka_mock_cluster(h.mock), KAFKA_API_END_TXN,
						BUSY_END_TXNS, busy);
	harness_daemon_start(&h);
	ck_assert_msg(all_committed(&h), "committed offsets never reached the end offsets");
	ck_assert_int_eq(harness_daemon_stop(&h, SIGTERM), 0);
	ck_assert(harness_log_contains(&h, "transaction: commit: "));
	ck_assert(harness_log_contains(&h, "resumed at the next commit tick"));
	ck_assert(harness_log_contains(&h, "the commit resumed has finished"));
	assert_one_audit_record_each(&h, mix.decisions);
	harness_stop(&h);
}
END_TEST

#define HELD_PRODUCE_MS 10000 /* one Produce answered this late holds every later answer */

/* A revoke whose records the brokers do not acknowledge in time cannot commit, and its
 * partitions go on: the next owners handle their input since the last commit again. The open
 * transaction's records must never commit beside theirs, so the revoke aborts it. Every
 * decision ends with one audit record, none twice, in intact chains. (The mock keeps aborted
 * records visible to every reader; what the abort shows here is that the records still
 * queued are never sent. Left open, the transaction committed them with the instance's next
 * batch: 13,377 audit records for 12,000 decisions.) */
START_TEST(a_revoke_that_cannot_commit_aborts_its_transaction)
{
	struct harness h;
	struct mix mix = {0};
	pid_t first = start_on_mixed_events(&h, &mix, 4, 30000);
	ck_assert(harness_wait_count(&h, AUDIT, 200, 60));
	/* Mid-stream, the broker answers the first's next Produce (and all after it on that
	 * connection) 10 s late: its records wait unacknowledged, past its revoke's wait for
	 * them (half the session: 3 s). The abort then waits for them too, and the next
	 * transaction is refused once (the mock wants the epoch bumped): voided in turn. */
	ck_assert_int_eq(rd_kafka_mock_broker_push_request_error_rtts(
				 kafka_mock_cluster(h.mock), 1, KAFKA_API_PRODUCE, 1,
				 RD_KAFKA_RESP_ERR_NO_ERROR, HELD_PRODUCE_MS),
			 0);
	harness_daemon_start(&h); /* joins the group: the first's partitions are revoked */
	pid_t second = h.daemon;
	ck_assert_msg(all_committed(&h), "committed offsets never reached the end offsets");
	h.daemon = first;
	ck_assert_int_eq(harness_daemon_stop(&h, SIGTERM), 0);
	h.daemon = second;
	ck_assert_int_eq(harness_daemon_stop(&h, SIGTERM), 0);

	assert_one_audit_record_each(&h, mix.decisions);
	ck_assert(harness_log_contains(&h, "cannot commit at the revoke"));
	harness_stop(&h);
}
END_TEST

/* Starts a daemon on 3,000 mixed events over 2 partitions and takes the cluster's only broker
 * down once the daemon has written records (some in its open transaction). */
static void take_the_broker_down_midstream(struct harness *h, struct mix *mix)
{
	start_on_mixed_events(h, mix, 2, 3000);
	for (int i = 0; i < 300 && harness_count(h, AUDIT) == 0; i++)
		usleep(10 * 1000);
	ck_assert_int_gt(harness_count(h, AUDIT), 0);
	ck_assert_int_eq(rd_kafka_mock_broker_set_down(kafka_mock_cluster(h->mock), 1), 0);
}

/* A stop while the broker does not answer ends in the drain's time and a few seconds, exit 0:
 * the loop hears the signal within a commit tick (1 s for its records, 2 s for the
 * coordinator to take its offsets), and the transactional calls end
 * with the drain's deadline (at least 2 s each), not after the transaction timeout (30 s, for
 * the commit and again for the revoke's abort). Nothing is lost: the restarted instance
 * handles again what the given-up transaction held. */
START_TEST(a_stop_with_the_broker_down_ends_in_time)
{
	struct harness h;
	struct mix mix = {0};
	take_the_broker_down_midstream(&h, &mix);
	usleep(300 * 1000);
	int64_t t0 = metrics_mono_ns();
	int code = harness_daemon_stop(&h, SIGTERM); /* fails the test past 30 s */
	printf("a stop with the broker down took %.1f s (exit %d)\n",
	       (double)(metrics_mono_ns() - t0) / 1e9, code);
	ck_assert_int_eq(code, 0);
	ck_assert_int_eq(rd_kafka_mock_broker_set_up(kafka_mock_cluster(h.mock), 1), 0);
	harness_daemon_start(&h);
	ck_assert_msg(all_committed(&h), "committed offsets never reached the end offsets");
	ck_assert_int_eq(harness_daemon_stop(&h, SIGTERM), 0);
	assert_ledger_intact(&h, mix.decisions);
	harness_stop(&h);
}
END_TEST

/* The brokers away for longer than the group session (6 s): the assignment is lost and the
 * open transaction must be aborted, which cannot finish while they are away. The abort holds
 * the loop 2 s, not the transaction timeout (30 s: the watchdog's patience), and goes on in
 * the background with input paused; once the brokers are back a commit tick finishes it, the
 * instance takes its partitions again and handles the input, with the ledger intact. (The
 * abort held the loop 30 s before, and after an outage longer than that the instance stopped
 * at its first record: "refused by the producer".) */
START_TEST(an_outage_past_the_session_is_ridden_out)
{
	struct harness h;
	struct mix mix = {0};
	take_the_broker_down_midstream(&h, &mix);
	for (int i = 0; i < 300 && !harness_log_contains(&h, "assignment lost"); i++)
		usleep(100 * 1000);
	ck_assert(harness_log_contains(&h, "assignment lost"));
	sleep(5); /* past the abort's 2 s */
	ck_assert_int_eq(rd_kafka_mock_broker_set_up(kafka_mock_cluster(h.mock), 1), 0);
	ck_assert_msg(all_committed(&h), "committed offsets never reached the end offsets");
	ck_assert_msg(harness_daemon_alive(&h), "arbiterd stopped over the outage");
	ck_assert_int_eq(harness_daemon_stop(&h, SIGTERM), 0);
	if (harness_exactly_once()) {
		ck_assert(harness_log_contains(&h, "resumed at the next commit tick"));
		ck_assert(harness_log_contains(&h, "the abort resumed has finished"));
	}
	/* Without transactions, records retried over the outage land after the next owner's
	 * (the same instance's) first ones: fenced, as a zombie's. */
	assert_ledger(&h, mix.decisions, harness_exactly_once());
	harness_stop(&h);
}
END_TEST

static Suite *pipeline_suite(void)
{
	Suite *s = suite_create("pipeline");
	TCase *tc = tcase_create("daemon");
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, ten_thousand_mixed_events_are_accounted_for);
	tcase_add_test(tc, restart_resumes_without_reprocessing);
	tcase_add_test(tc, kill_9_mid_stream_loses_nothing);
	tcase_add_test(tc, bad_config_on_sighup_keeps_the_old_one);
	tcase_add_test(tc, backpressure_pauses_and_resumes);
	tcase_add_test(tc, rebalance_between_two_instances_loses_nothing);
	tcase_add_test(tc, a_paused_instance_is_fenced_when_it_comes_back);
	if (harness_exactly_once()) {
		tcase_add_test(tc, an_aborted_transaction_is_handled_again);
		tcase_add_test(tc, a_revoke_that_cannot_commit_aborts_its_transaction);
		tcase_add_test(tc, a_commit_that_times_out_is_resumed);
		tcase_add_test(tc, a_refused_record_voids_its_transaction);
	}
	suite_add_tcase(s, tc);
	TCase *stop = tcase_create("stop");
	tcase_set_timeout(stop, 180);
	tcase_add_test(stop, a_stop_with_the_broker_down_ends_in_time);
	tcase_add_test(stop, an_outage_past_the_session_is_ridden_out);
	suite_add_tcase(s, stop);
	return s;
}

int main(void)
{
	return harness_main(pipeline_suite());
}
