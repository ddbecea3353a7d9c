/* Integration: failover with arbiterd's default group timings. One of two instances is killed
 * with SIGKILL (it never leaves the group); the time until the other consumes its partitions is
 * printed, and only a generous bound is asserted. */
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define PARTITIONS 4
#define BOUND_S 30

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A config without any group timing: session.timeout.ms and heartbeat.interval.ms are
 * arbiterd's own defaults. */
static void write_config(struct harness *h)
{
	FILE *f = fopen(h->config, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f,
		"kafka:\n"
		"  brokers: \"%s\"\n"
		"  group_id: %s\n"
		"  topics:\n"
		"    content: {name: content.events, format: json}\n"
		"pipeline:\n"
		"  commit_interval: 100ms\n"
		"metrics:\n"
		"  listen: \"\"\n",
		h->bootstrap, h->group);
	ck_assert_int_eq(fclose(f), 0);
}

/* Starts arbiterd with its log in DIR/NAME. */
static pid_t start_instance(struct harness *h, const char *name)
{
	char log[400];
	snprintf(log, sizeof(log), "%s/%s", h->dir, name);
	int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	const char *argv[] = {harness_bin("ARBITERD"), "--config", h->config, NULL};
	pid_t pid = harness_spawn(argv, null, fd, fd);
	close(fd);
	close(null);
	return pid;
}

static bool log_has(struct harness *h, const char *name, const char *needle)
{
	char path[400], line[4096];
	snprintf(path, sizeof(path), "%s/%s", h->dir, name);
	FILE *f = fopen(path, "r");
	bool found = false;
	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, needle) != NULL;
	if (f)
		fclose(f);
	return found;
}

/* Waits up to TIMEOUT_S for the group's committed offset of every partition of content.events
 * to reach WANT (messages per partition). */
static bool wait_all_committed(struct harness *h, int64_t want, int timeout_s)
{
	double end = now_s() + timeout_s;
	while (now_s() < end) {
		int64_t off[PARTITIONS];
		for (int p = 0; p < PARTITIONS; p++)
			off[p] = -1;
		harness_committed(h, "content.events", off, PARTITIONS);
		bool all = true;
		for (int p = 0; p < PARTITIONS; p++)
			all = all && off[p] >= want;
		if (all)
			return true;
		usleep(100 * 1000);
	}
	return false;
}

/* One message to each partition of content.events. */
static void produce_round(struct harness *h, int round)
{
	for (int p = 0; p < PARTITIONS; p++) {
		char msg[128];
		int n = snprintf(msg, sizeof(msg),
				 "{\"event_id\":\"e-%d-%d\",\"content_id\":\"c-%d-%d\"}", round, p,
				 round, p);
		ck_assert_int_eq(rd_kafka_producev(h->producer, RD_KAFKA_V_TOPIC("content.events"),
						   RD_KAFKA_V_PARTITION(p),
						   RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
						   RD_KAFKA_V_VALUE(msg, (size_t)n),
						   RD_KAFKA_V_END),
				 0);
	}
	harness_flush(h);
}

START_TEST(kill_nine_fails_over_in_seconds)
{
	struct harness h;
	harness_start(&h, PARTITIONS);
	write_config(&h);
	pid_t a = start_instance(&h, "a.log");
	pid_t b = start_instance(&h, "b.log");
	/* Both in the group, each with its share, and each consuming it. */
	double t = now_s();
	while (now_s() - t < 60 && !(log_has(&h, "a.log", "assigned 4 partition(s)") &&
				     log_has(&h, "b.log", "assigned 4 partition(s)")))
		usleep(100 * 1000);
	ck_assert_msg(log_has(&h, "a.log", "assigned 4 partition(s)") &&
			      log_has(&h, "b.log", "assigned 4 partition(s)"),
		      "the two instances never shared the partitions");
	produce_round(&h, 0);
	ck_assert(wait_all_committed(&h, 1, 60));

	ck_assert_int_eq(kill(b, SIGKILL), 0);
	ck_assert_int_eq(harness_wait(b, 10), 128 + SIGKILL);
	double killed = now_s();
	produce_round(&h, 1);
	bool over = wait_all_committed(&h, 2, BOUND_S + 30);
	double took = now_s() - killed;
	printf("failover after kill -9: the survivor consumed every partition %.1f s after the "
	       "kill (session.timeout.ms and heartbeat.interval.ms: arbiterd's defaults)\n",
	       took);
	fflush(stdout);
	if (!over || took >= BOUND_S) {
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "tail -n 30 '%s/a.log' '%s/b.log' >&2", h.dir, h.dir);
		if (system(cmd) != 0)
			fprintf(stderr, "(no instance logs)\n");
	}
	ck_assert_msg(over, "the killed instance's partitions were not consumed within %d s",
		      BOUND_S + 30);
	ck_assert_msg(took < BOUND_S, "failover took %.1f s, over %d s", took, BOUND_S);
	ck_assert(log_has(&h, "a.log", "assigned 8 partition(s)"));

	ck_assert_int_eq(kill(a, SIGTERM), 0);
	ck_assert_int_eq(harness_wait(a, 30), 0);
	harness_stop(&h);
}
END_TEST

static Suite *failover_suite(void)
{
	Suite *s = suite_create("failover");
	TCase *tc = tcase_create("failover");
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, kill_nine_fails_over_in_seconds);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return harness_main(failover_suite());
}
