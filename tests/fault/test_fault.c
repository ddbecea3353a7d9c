/* The seeded fault suite: a stream of mixed events through three arbiterd instances on a mock
 * cluster and a real redis-server while kill -9, Redis crashes, broker faults, rebalances and a
 * zombie strike at seeded moments; then every expected record is counted. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fault_check.h"
#include "fault_fleet.h"
#include "fault_model.h"
#include "harness.h"
#include "redis_server.h"

#define PARTITIONS 6
#define BROKERS 3
#define INSTANCES 3
/* Short, so that a kill -9 or the zombie costs a few seconds of stalled partitions, not ten. */
#define SESSION_MS 3000
/* A snapshot for the early-commit check this often, between the faults' own. */
#define SNAP_EVERY_S 2.0
/* After a fault's end, how long its writer may still have been writing. */
#define WINDOW_TAIL_S 3.0
#define DRAIN_TIMEOUT_S 240

static const char rules_yaml[] =
	"rules:\n"
	"  - id: fault.threat\n"
	"    description: Threats of violence, removed and reviewed; monitors see them\n"
	"    when: signal.violence >= 0.9\n"
	"    action: remove\n"
	"    category: STATEMENT_CATEGORY_VIOLENCE\n"
	"    legal_ground: \"Terms 4.1: threats\"\n"
	"    escalate: {queue: threats, band: urgent, sla: 4h, monitors: true}\n"
	"  - id: fault.spam\n"
	"    description: Spam, demoted\n"
	"    when: signal.spam >= 0.9\n"
	"    action: demote\n"
	"    category: STATEMENT_CATEGORY_SCAMS_AND_FRAUD\n"
	"    legal_ground: \"Terms 7: spam\"\n"
	"  - id: fault.hate\n"
	"    description: Possible hate speech, reviewed without an action\n"
	"    when: signal.hate >= 0.8\n"
	"    escalate: {queue: hate, band: normal, sla: 24h}\n";

static const char config_extra[] = "rules: {files: [rules.yaml]}\n"
				   "review:\n"
				   "  queues: {threats: {}, hate: {}, appeals: {}}\n"
				   "  appeals_queue: appeals\n";

/* What the plan can do. */
enum step_kind {
	STEP_JOIN,
	STEP_LEAVE,
	STEP_KILL,
	STEP_RESTART,
	STEP_FREEZE,
	STEP_THAW,
	STEP_REDIS_KILL,
	STEP_REDIS_RESTART,
	STEP_BROKER_DOWN,
	STEP_BROKER_UP,
	STEP_LEADER,
	STEP_RTT,
	STEP_RTT_OFF,
	STEP_CLOSE, /* a window's end snapshot */
};

struct step {
	double at;
	enum step_kind kind;
	uint64_t choice; /* drawn at plan time: which instance, broker, partition */
	double dur;      /* how long the fault lasts */
	int slot, win;   /* set when a follow-up is scheduled */
};

/* Counts of what was injected, for the figure line. */
enum fault_count {
	C_KILL,
	C_REDIS,
	C_DOWN,
	C_LEADER,
	C_RTT,
	C_JOIN,
	C_LEAVE,
	C_ZOMBIE,
	C__N,
};

struct suite {
	struct harness h;
	struct redis_server rs;
	struct fault_fleet fleet;
	struct fault_watch watch;
	struct fault_model model;
	rd_kafka_t *producer;
	struct step *steps;
	size_t n_steps, cap_steps;
	int counts[C__N];
	int broker_down; /* the broker down now, 0 when none */
	double t0;
	long delivered, failed;
};

static double suite_clock(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double suite_now(const struct suite *s)
{
	return suite_clock() - s->t0;
}

static long env_long(const char *name, long dflt)
{
	const char *v = getenv(name);
	return v && v[0] ? strtol(v, NULL, 10) : dflt;
}

/* ---- the plan ---- */

static void plan_add(struct suite *s, struct step st)
{
	if (s->n_steps == s->cap_steps) {
		s->cap_steps = s->cap_steps ? s->cap_steps * 2 : 128;
		s->steps = realloc(s->steps, s->cap_steps * sizeof(*s->steps));
		ck_assert_ptr_nonnull(s->steps);
	}
	/* Kept sorted by time; a step added for the same time runs after those there. */
	size_t i = s->n_steps;
	while (i > 0 && s->steps[i - 1].at > st.at) {
		s->steps[i] = s->steps[i - 1];
		i--;
	}
	s->steps[i] = st;
	s->n_steps++;
}

/* The seeded faults over a window of W seconds. */
static void plan_make(struct suite *s, struct fault_rng *r, double w, int kills)
{
	/* Instance a starts at 0; b and c join under load; two of them leave and come back. */
	plan_add(s, (struct step){.at = 0, .kind = STEP_JOIN, .slot = 0});
	plan_add(s, (struct step){.at = fault_rng_range(r, 0.03, 0.10) * w,
				  .kind = STEP_JOIN,
				  .slot = 1});
	plan_add(s, (struct step){.at = fault_rng_range(r, 0.12, 0.22) * w,
				  .kind = STEP_JOIN,
				  .slot = 2});
	plan_add(s, (struct step){.at = fault_rng_range(r, 0.42, 0.50) * w,
				  .kind = STEP_LEAVE,
				  .choice = fault_rng_next(r),
				  .dur = fault_rng_range(r, 3, 8)});
	plan_add(s, (struct step){.at = fault_rng_range(r, 0.74, 0.82) * w,
				  .kind = STEP_LEAVE,
				  .choice = fault_rng_next(r),
				  .dur = fault_rng_range(r, 3, 8)});
	for (int i = 0; i < kills; i++)
		plan_add(s, (struct step){.at = fault_rng_range(r, 0.02, 0.92) * w,
					  .kind = STEP_KILL,
					  .choice = fault_rng_next(r),
					  .dur = fault_rng_range(r, 0.2, 2.5)});
	plan_add(s, (struct step){.at = fault_rng_range(r, 0.30, 0.65) * w,
				  .kind = STEP_FREEZE,
				  .choice = fault_rng_next(r),
				  .dur = SESSION_MS / 1000.0 + fault_rng_range(r, 1.5, 3)});
	plan_add(s, (struct step){.at = fault_rng_range(r, 0.10, 0.45) * w,
				  .kind = STEP_REDIS_KILL,
				  .dur = fault_rng_range(r, 0.5, 2.5)});
	plan_add(s, (struct step){.at = fault_rng_range(r, 0.55, 0.90) * w,
				  .kind = STEP_REDIS_KILL,
				  .dur = fault_rng_range(r, 0.5, 2.5)});
	/* One broker down at a time: four slots of the window, one fault in each. */
	for (int i = 0; i < 4; i++)
		plan_add(s, (struct step){.at = (0.05 + 0.21 * i + fault_rng_range(r, 0, 0.15)) * w,
					  .kind = STEP_BROKER_DOWN,
					  .choice = fault_rng_next(r),
					  .dur = fault_rng_range(r, 1, 3)});
	for (int i = 0; i < 10; i++)
		plan_add(s, (struct step){.at = fault_rng_range(r, 0.02, 0.95) * w,
					  .kind = STEP_LEADER,
					  .choice = fault_rng_next(r)});
	for (int i = 0; i < 4; i++)
		plan_add(s, (struct step){.at = fault_rng_range(r, 0.02, 0.90) * w,
					  .kind = STEP_RTT,
					  .choice = fault_rng_next(r),
					  .dur = fault_rng_range(r, 2, 5)});
}

/* ---- running it ---- */

static int suite_window(struct suite *s, const char *kind)
{
	int snap = fault_watch_snap(&s->watch, suite_now(s));
	return fault_watch_open(&s->watch, kind, snap);
}

static void suite_close_later(struct suite *s, int win, double after)
{
	plan_add(s, (struct step){.at = suite_now(s) + after, .kind = STEP_CLOSE, .win = win});
}

/* Runs step ST now, or puts it back for later when now is not its moment. */
static void suite_step(struct suite *s, struct step st)
{
	double now = suite_now(s);
	rd_kafka_mock_cluster_t *mc = kafka_mock_cluster(s->h.mock);
	struct step again = st;
	again.at = now + 0.5;
	/* A fault that needs a snapshot waits for the brokers to be up: the snapshot would fail. */
	bool needs_snap = st.kind == STEP_KILL || st.kind == STEP_FREEZE ||
			  st.kind == STEP_REDIS_KILL || st.kind == STEP_LEADER ||
			  st.kind == STEP_RTT || st.kind == STEP_BROKER_DOWN;
	if (needs_snap && s->broker_down) {
		plan_add(s, again);
		return;
	}
	switch (st.kind) {
	case STEP_JOIN: {
		enum fault_slot_state state = s->fleet.slot[st.slot].state;
		if (state == FAULT_SLOT_STOPPING) { /* still draining: join once it left */
			plan_add(s, again);
			return;
		}
		if (state != FAULT_SLOT_OFF && state != FAULT_SLOT_DEAD)
			break;
		fault_fleet_start(&s->fleet, st.slot, now);
		s->counts[C_JOIN]++;
		break;
	}
	case STEP_LEAVE: {
		/* Someone must stay to take the partitions over. */
		if (fault_fleet_count(&s->fleet, FAULT_SLOT_RUNNING) < 2) {
			plan_add(s, again);
			return;
		}
		int i = fault_fleet_pick(&s->fleet, FAULT_SLOT_RUNNING, st.choice);
		/* One that just started has no SIGTERM handler yet: it would die of it. */
		if (now - s->fleet.slot[i].started_at < 5) {
			plan_add(s, again);
			return;
		}
		if (!harness_exactly_once())
			suite_close_later(s, suite_window(s, "leave"), st.dur + WINDOW_TAIL_S);
		fault_fleet_leave(&s->fleet, i);
		s->counts[C_LEAVE]++;
		plan_add(s, (struct step){.at = now + st.dur, .kind = STEP_JOIN, .slot = i});
		break;
	}
	case STEP_KILL: {
		int i = fault_fleet_pick(&s->fleet, FAULT_SLOT_RUNNING, st.choice);
		if (i < 0) {
			plan_add(s, again);
			return;
		}
		fault_fleet_kill(&s->fleet, i);
		/* The snapshot after the kill: what it left uncommitted, what it had written. */
		int win = suite_window(s, "kill");
		s->watch.win[win].end = s->watch.win[win].start;
		s->counts[C_KILL]++;
		plan_add(s, (struct step){.at = now + st.dur, .kind = STEP_RESTART, .slot = i});
		break;
	}
	case STEP_RESTART:
		if (s->fleet.slot[st.slot].state == FAULT_SLOT_DEAD)
			fault_fleet_start(&s->fleet, st.slot, now);
		break;
	case STEP_FREEZE: {
		if (fault_fleet_count(&s->fleet, FAULT_SLOT_RUNNING) < 2) {
			plan_add(s, again);
			return;
		}
		int i = fault_fleet_pick(&s->fleet, FAULT_SLOT_RUNNING, st.choice);
		int win = suite_window(s, "zombie");
		fault_fleet_freeze(&s->fleet, i);
		s->counts[C_ZOMBIE]++;
		plan_add(s, (struct step){
				    .at = now + st.dur, .kind = STEP_THAW, .slot = i, .win = win});
		break;
	}
	case STEP_THAW:
		fault_fleet_thaw(&s->fleet, st.slot);
		suite_close_later(s, st.win, WINDOW_TAIL_S);
		break;
	case STEP_REDIS_KILL: {
		redis_server_kill(&s->rs);
		int win = suite_window(s, "redis");
		s->counts[C_REDIS]++;
		plan_add(s,
			 (struct step){.at = now + st.dur, .kind = STEP_REDIS_RESTART, .win = win});
		break;
	}
	case STEP_REDIS_RESTART:
		redis_server_restart(&s->rs);
		suite_close_later(s, st.win, WINDOW_TAIL_S);
		break;
	case STEP_BROKER_DOWN: {
		int b = 1 + (int)(st.choice % BROKERS);
		int win = suite_window(s, "broker down");
		ck_assert_int_eq(rd_kafka_mock_broker_set_down(mc, b), 0);
		s->broker_down = b;
		s->counts[C_DOWN]++;
		plan_add(s, (struct step){.at = now + st.dur,
					  .kind = STEP_BROKER_UP,
					  .slot = b,
					  .win = win});
		break;
	}
	case STEP_BROKER_UP:
		ck_assert_int_eq(rd_kafka_mock_broker_set_up(mc, st.slot), 0);
		s->broker_down = 0;
		suite_close_later(s, st.win, WINDOW_TAIL_S);
		break;
	case STEP_LEADER: {
		/* Any topic, inputs and outputs alike. */
		static const char *const topics[] = {
			"content.events",   "moderation.decisions", "moderation.escalations",
			"moderation.audit", "moderation.appeals",   "arbiter.deadletter"};
		uint64_t c = st.choice;
		const char *topic = topics[c % 6];
		int part = (int)((c / 6) % PARTITIONS),
		    b = 1 + (int)((c / 6 / PARTITIONS) % BROKERS);
		int win = suite_window(s, "leader");
		ck_assert_int_eq(rd_kafka_mock_partition_set_leader(mc, topic, part, b), 0);
		s->counts[C_LEADER]++;
		suite_close_later(s, win, WINDOW_TAIL_S);
		break;
	}
	case STEP_RTT: {
		int b = 1 + (int)(st.choice % BROKERS);
		int ms = 20 + (int)((st.choice / BROKERS) % 180);
		int win = suite_window(s, "rtt");
		ck_assert_int_eq(rd_kafka_mock_broker_set_rtt(mc, b, ms), 0);
		s->counts[C_RTT]++;
		plan_add(s,
			 (struct step){
				 .at = now + st.dur, .kind = STEP_RTT_OFF, .slot = b, .win = win});
		break;
	}
	case STEP_RTT_OFF:
		ck_assert_int_eq(rd_kafka_mock_broker_set_rtt(mc, st.slot, 0), 0);
		suite_close_later(s, st.win, WINDOW_TAIL_S);
		break;
	case STEP_CLOSE:
		if (s->broker_down) {
			plan_add(s, again);
			return;
		}
		s->watch.win[st.win].end = fault_watch_snap(&s->watch, now);
		break;
	}
}

static void suite_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	(void)rk;
	struct suite *s = opaque;
	if (m->err) {
		s->failed++;
		return;
	}
	s->delivered++;
	fault_model_delivered(&s->model, m);
}

static void suite_producer(struct suite *s)
{
	char err[256];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_conf_set(conf, "bootstrap.servers", s->h.bootstrap, err, sizeof(err));
	/* Idempotent, for the order: an appeal must follow its decision through leader moves
	 * and retries (without idempotence a retry to a new leader can pass a later batch).
	 * One request in flight: the mock checks the sequence numbers of transactional
	 * producers only, and an idempotent producer that sees a later batch acknowledged takes
	 * an earlier one whose answer it lost as delivered (librdkafka's implicit ack), which a
	 * broker would have refused out of sequence and the mock may never have stored. With
	 * one request in flight per partition (idempotence drains before a retry and before a
	 * new leader) there is never a later batch: a retry may store a batch twice, which the
	 * model counts, and never loses one. */
	rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof(err));
	rd_kafka_conf_set(conf, "max.in.flight.requests.per.connection", "1", err, sizeof(err));
	rd_kafka_conf_set(conf, "linger.ms", "5", err, sizeof(err));
	/* Retried for ever: the brokers go down now and then. */
	rd_kafka_conf_set(conf, "message.timeout.ms", "0", err, sizeof(err));
	rd_kafka_conf_set_dr_msg_cb(conf, suite_dr_cb);
	rd_kafka_conf_set_log_cb(conf, fault_quiet_log);
	rd_kafka_conf_set_opaque(conf, s);
	s->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	ck_assert_msg(s->producer != NULL, "producer: %s", err);
}

/* Sends the next event; false when the producer's queue is full (try again later). */
static bool suite_send(struct suite *s, struct fault_msg *msg, long i)
{
	/* The event's index rides in a header: what the topic holds is read back by it. */
	int32_t ev = (int32_t)i;
	rd_kafka_resp_err_t err = rd_kafka_producev(
		s->producer, RD_KAFKA_V_TOPIC(msg->topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
		RD_KAFKA_V_VALUE(msg->value, msg->len), RD_KAFKA_V_KEY(msg->key, strlen(msg->key)),
		RD_KAFKA_V_HEADER(FAULT_MODEL_HEADER, &ev, sizeof(ev)), RD_KAFKA_V_END);
	if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
		return false;
	ck_assert_msg(err == 0, "produce: %s", rd_kafka_err2str(err));
	return true;
}

/* Sends the stream over W seconds while the plan runs, then lets the plan's follow-ups end. */
static void suite_run(struct suite *s, double w)
{
	struct fault_msg msg = {0};
	long pending = -1;
	double next_snap = SNAP_EVERY_S;
	size_t next = 0;
	for (;;) {
		double now = suite_now(s);
		long due = now >= w ? s->model.n : (long)(now / w * (double)s->model.n);
		while (s->model.made < due || pending >= 0) {
			if (pending < 0)
				pending = fault_model_next(&s->model, &msg);
			if (!suite_send(s, &msg, pending))
				break;
			free(msg.value);
			pending = -1;
		}
		rd_kafka_poll(s->producer, 0);
		while (next < s->n_steps && s->steps[next].at <= now) {
			struct step st = s->steps[next];
			/* Steps added meanwhile go after NEXT: remove it first. */
			memmove(&s->steps[next], &s->steps[next + 1],
				(s->n_steps - next - 1) * sizeof(*s->steps));
			s->n_steps--;
			suite_step(s, st);
		}
		fault_fleet_poll(&s->fleet, now);
		if (now >= next_snap && !s->broker_down) {
			fault_watch_snap(&s->watch, now);
			next_snap = now + SNAP_EVERY_S;
		}
		if (s->model.made == s->model.n && pending < 0 && next == s->n_steps && now >= w)
			break;
		usleep(5 * 1000);
	}
}

/* Waits until the group has committed every input offset; takes snapshots meanwhile. */
static bool suite_drain(struct suite *s)
{
	double until = suite_now(s) + DRAIN_TIMEOUT_S;
	while (suite_now(s) < until) {
		fault_fleet_poll(&s->fleet, suite_now(s));
		int k = fault_watch_snap(&s->watch, suite_now(s));
		const struct fault_snap *snap = &s->watch.snap[k];
		bool done = snap->ok;
		for (int in = 0; done && in < FAULT_IN__N; in++)
			for (int p = 0; done && p < PARTITIONS; p++)
				done = snap->committed[in][p] == s->model.n_offsets[in][p];
		if (done)
			return true;
		sleep(1);
	}
	const struct fault_snap *last = &s->watch.snap[s->watch.n_snap - 1];
	fprintf(stderr,
		"fault: last snapshot %s (%s); committed / end:", last->ok ? "ok" : "failed",
		s->watch.why);
	for (int in = 0; in < FAULT_IN__N; in++)
		for (int p = 0; p < PARTITIONS; p++)
			fprintf(stderr, " %s[%d] %ld/%ld", fault_model_topic(in), p,
				(long)last->committed[in][p], (long)s->model.n_offsets[in][p]);
	fprintf(stderr, "\n");
	return false;
}

/* arbiterctl audit verify: intact, with RECORDS records in the chains. */
static void suite_verify(struct suite *s, long records, char *summary, size_t len)
{
	struct harness_run run;
	int rc = harness_ctl(&run, NULL, "audit verify --brokers %s --topic moderation.audit",
			     s->h.bootstrap);
	size_t n = strlen(run.out);
	while (n > 0 && run.out[n - 1] == '\n')
		run.out[--n] = '\0';
	const char *last = strrchr(run.out, '\n') ? strrchr(run.out, '\n') + 1 : run.out;
	snprintf(summary, len, "%s", last);
	if (rc != 0 || !strstr(last, ": intact"))
		fprintf(stderr, "%s\n%s", run.out, run.err);
	ck_assert_msg(rc == 0 && strstr(last, ": intact"), "audit verify: %s", last);
	char want[64];
	snprintf(want, sizeof(want), " %ld record(s), ", records);
	ck_assert_msg(strstr(last, want), "audit verify counts other than %ld records: %s", records,
		      last);
	harness_run_free(&run);
}

static void suite_tail_logs(const struct suite *s)
{
	for (int i = 0; i < s->fleet.n; i++) {
		char cmd[400];
		snprintf(cmd, sizeof(cmd), "echo '--- %s' >&2; tail -n 15 '%s' >&2",
			 s->fleet.slot[i].log, s->fleet.slot[i].log);
		if (system(cmd) != 0)
			fprintf(stderr, "(no log %s)\n", s->fleet.slot[i].log);
	}
}

START_TEST(faults_lose_and_duplicate_nothing)
{
	static struct suite s;
	memset(&s, 0, sizeof(s));
	uint64_t seed = (uint64_t)env_long("FAULT_SEED", 0);
	if (!getenv("FAULT_SEED")) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		seed = ((uint64_t)ts.tv_sec * 1000003u ^ (uint64_t)ts.tv_nsec) % 1000000000u;
	}
	long events = env_long("FAULT_EVENTS", 50000);
	int kills = (int)env_long("FAULT_KILLS", 20);
	double w = (double)env_long("FAULT_WINDOW_S", 100);
	printf("fault: seed %llu (replay: FAULT_SEED=%llu meson test -C build fault)\n",
	       (unsigned long long)seed, (unsigned long long)seed);
	fflush(stdout);

	s.t0 = suite_clock();
	harness_start_cluster(&s.h, BROKERS, PARTITIONS);
	fprintf(stderr, "fault: logs in %s (kept when the suite fails)\n", s.h.dir);
	redis_server_start(&s.rs);
	s.h.redis_address = s.rs.address;
	s.h.session_timeout_ms = SESSION_MS;
	harness_write_file(&s.h, "rules.yaml", rules_yaml);
	fault_fleet_init(&s.fleet, &s.h, INSTANCES, config_extra);
	fault_watch_init(&s.watch, &s.h, PARTITIONS);
	ck_assert_int_eq(fault_model_init(&s.model, seed, events, PARTITIONS), 0);
	suite_producer(&s);
	struct fault_rng plan_rng = {seed ^ 0x5eed5eed5eedULL};
	plan_make(&s, &plan_rng, w, kills);

	s.t0 = suite_clock();
	struct timespec t0;
	clock_gettime(CLOCK_REALTIME, &t0);
	fprintf(stderr, "fault: the run starts at %ld.%03ld (the daemons' logs are in UTC)\n",
		(long)t0.tv_sec, t0.tv_nsec / 1000000);
	suite_run(&s, w);
	double t_run = suite_now(&s);
	ck_assert_int_eq(rd_kafka_flush(s.producer, 60000), 0);
	ck_assert_int_eq(s.failed, 0);
	ck_assert_int_eq(s.delivered, events);
	/* What the inputs hold: the mock stores a retried batch of a producer that is not
	 * transactional twice, so an event may be in two messages, each an input of its own. */
	fault_model_read_inputs(&s.model, &s.h);
	bool drained = suite_drain(&s);
	double t_drain = suite_now(&s);
	if (!drained)
		suite_tail_logs(&s);
	ck_assert_msg(drained, "the group did not commit every input offset within %d s",
		      DRAIN_TIMEOUT_S);
	fault_fleet_stop_all(&s.fleet);

	/* The offset commits that failed after their transaction committed: the mock forgets
	 * those offsets (it keeps no transactional ones), so their input comes again. */
	int failed_commits = 0;
	for (int i = 0; i < s.fleet.n; i++)
		failed_commits += fault_watch_read_log(&s.watch, s.fleet.slot[i].log);
	struct fault_result r;
	redisContext *rc = redis_server_connect(&s.rs);
	fault_check_run(&s.h, rc, &s.model, &s.watch, &r);
	redisFree(rc);
	if (r.detail[0])
		fprintf(stderr, "fault: %s\n", r.detail);
	char summary[256];
	suite_verify(&s, r.chain_records, summary, sizeof(summary));
	double t_all = suite_now(&s);

	const long *k = s.model.by_kind;
	long bad = k[FAULT_K_GARBAGE] + k[FAULT_K_NO_CONTENT_ID] + k[FAULT_K_BAD_ENUM] +
		   k[FAULT_K_EMPTY];
	printf("fault: seed %llu, %ld events (content %ld, decisions %ld, appeals filed %ld, "
	       "resolved %ld, refused %ld, bad %ld; %ld stored twice by the mock); faults: kill -9 %d, redis kill %d, broker "
	       "down %d, leader moves %d, rtt %d, joins %d, leaves %d, zombie %d, fatal exits %d; "
	       "checked: audit %ld, escalations %ld, appeals %ld, dead letters %ld, review entries "
	       "%ld, commit snapshots %d (%ld offsets, %ld early); lost %ld, duplicated %ld; "
	       "repeated ids the mock shows %ld (escalations %ld, appeals %ld, dead letters %ld): %ld "
	       "from aborted transactions it cannot hide, %ld from committed ones whose offsets it "
	       "did not keep (%d failed commits); fenced zombie audit records %ld; %.0f s (run %.0f, drain %.0f, check %.0f)\n",
	       (unsigned long long)seed, events,
	       k[FAULT_K_BENIGN] + k[FAULT_K_THREAT] + k[FAULT_K_SPAM] + k[FAULT_K_HATE],
	       k[FAULT_K_ACTION], k[FAULT_K_FILED], k[FAULT_K_RESOLVED],
	       k[FAULT_K_SAME_REVIEWER] + k[FAULT_K_NO_DECISION], bad, s.model.extra_inputs,
	       s.counts[C_KILL], s.counts[C_REDIS], s.counts[C_DOWN], s.counts[C_LEADER],
	       s.counts[C_RTT], s.counts[C_JOIN], s.counts[C_LEAVE], s.counts[C_ZOMBIE],
	       s.fleet.self_exits, r.checked[FAULT_OUT_AUDIT], r.checked[FAULT_OUT_ESCALATION],
	       r.checked[FAULT_OUT_APPEAL], r.checked[FAULT_OUT_DEADLETTER],
	       r.checked[FAULT_OUT_REVIEW], r.commit_snaps, r.commit_offsets, r.commit_violations,
	       fault_result_lost(&r), fault_result_duplicated(&r), r.repeated,
	       r.repeated_by[FAULT_OUT_ESCALATION], r.repeated_by[FAULT_OUT_APPEAL],
	       r.repeated_by[FAULT_OUT_DEADLETTER], r.repeated - r.repeated_offsets,
	       r.repeated_offsets, failed_commits, r.fenced, t_all, t_run, t_drain - t_run,
	       t_all - t_drain);
	fflush(stdout);
	fprintf(stderr, "fault: audit verify: %s; snapshots %d (%d failed), windows %d\n", summary,
		s.watch.n_snap, s.watch.failed, s.watch.n_win);
	/* Flushed: a failing check's process ends without flushing stdout. */
	if (s.fleet.problems[0])
		printf("fault: %s\n", s.fleet.problems);
	fflush(stdout);
	bool ok = fault_result_lost(&r) == 0 && fault_result_duplicated(&r) == 0 &&
		  r.unexpected == 0 && r.commit_violations == 0 && s.fleet.crashes == 0 &&
		  s.fleet.bad_stops == 0 && s.counts[C_KILL] == kills;
	if (!ok)
		suite_tail_logs(&s);
	ck_assert_msg(ok,
		      "seed %llu: lost %ld, duplicated %ld, unexpected %ld, committed early %ld, "
		      "crashes %d, bad stops %d, kills %d of %d",
		      (unsigned long long)seed, fault_result_lost(&r), fault_result_duplicated(&r),
		      r.unexpected, r.commit_violations, s.fleet.crashes, s.fleet.bad_stops,
		      s.counts[C_KILL], kills);

	rd_kafka_destroy(s.producer);
	fault_watch_free(&s.watch);
	fault_model_free(&s.model);
	free(s.steps);
	redis_server_stop(&s.rs);
	harness_stop(&s.h);
}
END_TEST

static Suite *fault_suite(void)
{
	Suite *s = suite_create("fault");
	TCase *tc = tcase_create("faults");
	tcase_set_timeout(tc, 1200);
	tcase_add_test(tc, faults_lose_and_duplicate_nothing);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return harness_main(fault_suite());
}
