/* Integration: arbiterd's life as a service: what it tells systemd (sd_notify), hostile rule
 * files on reload, and a missing configuration at start. */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "arbiter/v1/content_event.pb-c.h"
#include "harness.h"

#ifndef TEST_CONFIGDIR
#error "meson defines TEST_CONFIGDIR"
#endif
#define HOSTILE TEST_CONFIGDIR "/../tests/unit/hostile/"

#define AUDIT "moderation.audit"

static const char rules_ok[] = "lists:\n"
			       "  words: [forbidden]\n"
			       "rules:\n"
			       "  - id: word\n"
			       "    description: a forbidden word\n"
			       "    when: text contains_any words\n"
			       "    action: label\n"
			       "    category: STATEMENT_CATEGORY_VIOLENCE\n"
			       "    legal_ground: Terms 1\n";

static void write_text(const char *dir, const char *name, const void *text, size_t len)
{
	char path[400];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, len, f), len);
	fclose(f);
}

static void copy_file(const char *from, const char *dir, const char *name)
{
	FILE *f = fopen(from, "rb");
	ck_assert_ptr_nonnull(f);
	static char buf[1 << 17];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	write_text(dir, name, buf, n);
}

/* Produces N content events, each with the forbidden word: each is an action of rule "word". */
static void produce_forbidden(struct harness *h, int first, int n)
{
	for (int i = first; i < first + n; i++) {
		char id[32];
		snprintf(id, sizeof(id), "ev-%d", i);
		Arbiter__V1__ContentEvent ev = ARBITER__V1__CONTENT_EVENT__INIT;
		ev.event_id = id;
		ev.content_id = id;
		ev.text = "a forbidden word";
		harness_produce_msg(h, "content.events", id, &ev.base);
	}
	harness_flush(h);
}

/* A datagram socket at DIR/notify, as systemd's NOTIFY_SOCKET. */
static int notify_socket(const char *dir, char *path, size_t len)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(path, len, "%s/notify", dir);
	ck_assert_uint_lt(strlen(path), sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Waits up to TIMEOUT_MS for a datagram holding WANT (keep-alives and others are skipped);
 * copies it to GOT. */
static bool notify_wait(int fd, const char *want, int timeout_ms, char *got, size_t len)
{
	for (int waited = 0; waited < timeout_ms; waited += 50) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 50) <= 0)
			continue;
		ssize_t n = recv(fd, got, len - 1, 0);
		if (n < 0)
			continue;
		got[n] = '\0';
		if (strstr(got, want))
			return true;
		waited -= 50; /* a message is not a wait */
	}
	return false;
}

START_TEST(tells_systemd_ready_reloading_stopping_and_keeps_the_watchdog_fed)
{
	struct harness h;
	harness_start(&h, 2);
	write_text(h.dir, "rules.yaml", rules_ok, strlen(rules_ok));
	harness_write_config(&h, "rules: {files: [rules.yaml]}\n");
	char path[400], got[512];
	int fd = notify_socket(h.dir, path, sizeof(path));
	setenv("NOTIFY_SOCKET", path, 1);
	setenv("WATCHDOG_USEC", "400000", 1);
	harness_daemon_start(&h);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");

	ck_assert_msg(notify_wait(fd, "READY=1", 30000, got, sizeof(got)), "no READY=1");
	ck_assert_ptr_nonnull(strstr(got, "STATUS=serving: "));
	ck_assert_ptr_nonnull(strstr(got, "partition(s) assigned, ruleset "));
	/* The keep-alive comes from the loop, every half period. */
	ck_assert(notify_wait(fd, "WATCHDOG=1", 2000, got, sizeof(got)));
	ck_assert(notify_wait(fd, "WATCHDOG=1", 2000, got, sizeof(got)));

	kill(h.daemon, SIGHUP);
	ck_assert(notify_wait(fd, "RELOADING=1", 5000, got, sizeof(got)));
	ck_assert_ptr_nonnull(strstr(got, "MONOTONIC_USEC="));
	ck_assert(notify_wait(fd, "READY=1", 10000, got, sizeof(got)));
	ck_assert_ptr_nonnull(strstr(got, "STATUS=running ruleset "));

	/* A reload that fails says so, and the service is ready again on the old policy. */
	write_text(h.dir, "rules.yaml", "rules: [", 8);
	kill(h.daemon, SIGHUP);
	ck_assert(notify_wait(fd, "RELOADING=1", 5000, got, sizeof(got)));
	ck_assert(notify_wait(fd, "READY=1", 10000, got, sizeof(got)));
	ck_assert_ptr_nonnull(strstr(got, "STATUS=reload rejected with 1 error(s)"));

	kill(h.daemon, SIGTERM);
	ck_assert(notify_wait(fd, "STOPPING=1", 5000, got, sizeof(got)));
	ck_assert_int_eq(harness_daemon_stop(&h, 0), 0);
	close(fd);
	harness_stop(&h);
}
END_TEST

/* Waits up to 5 s for the Nth "rejected" line of the log. */
static bool rejected_times(struct harness *h, int n)
{
	for (int i = 0; i < 50; i++) {
		FILE *f = fopen(h->log, "r");
		int seen = 0;
		char line[4096];
		while (f && fgets(line, sizeof(line), f))
			seen += strstr(line, "rejected with") != NULL;
		if (f)
			fclose(f);
		if (seen >= n)
			return true;
		usleep(100 * 1000);
	}
	return false;
}

/* The files that crashed, hung or exhausted a reload now each get a rejection, and the rules
 * the daemon had keep acting. */
START_TEST(hostile_rule_files_on_reload_keep_the_running_rules)
{
	struct harness h;
	harness_start(&h, 2);
	write_text(h.dir, "rules.yaml", rules_ok, strlen(rules_ok));
	harness_write_config(&h, "rules: {files: [rules.yaml]}\n");
	harness_daemon_start(&h);
	produce_forbidden(&h, 0, 20);
	ck_assert(harness_wait_count(&h, AUDIT, 20, 30));

	static const char *const hostile[] = {"crash-6-bytes.yaml", "hang-2-bytes.yaml",
					      "alias-bomb.yaml", "deep-parens.yaml"};
	for (int i = 0; i < 4; i++) {
		char from[512];
		snprintf(from, sizeof(from), "%s%s", HOSTILE, hostile[i]);
		copy_file(from, h.dir, "rules.yaml");
		kill(h.daemon, SIGHUP);
		ck_assert_msg(rejected_times(&h, i + 1), "%s: the reload was not rejected",
			      hostile[i]);
		ck_assert_msg(harness_daemon_alive(&h), "%s took the daemon down", hostile[i]);
		/* Still acting on the rules it had. */
		produce_forbidden(&h, 100 * (i + 1), 5);
		ck_assert_msg(harness_wait_count(&h, AUDIT, 20 + 5 * (i + 1), 30),
			      "%s: the running rules stopped acting", hostile[i]);
	}
	/* A corrected file is applied, and the daemon still exits cleanly. */
	write_text(h.dir, "rules.yaml", rules_ok, strlen(rules_ok));
	kill(h.daemon, SIGHUP);
	for (int i = 0; i < 50 && !harness_log_contains(&h, "reloaded"); i++)
		usleep(100 * 1000);
	ck_assert(harness_log_contains(&h, "reloaded"));
	ck_assert_int_eq(harness_daemon_stop(&h, SIGTERM), 0);
	harness_stop(&h);
}
END_TEST

START_TEST(a_missing_config_names_the_example_and_exits_78)
{
	const char *argv[] = {harness_bin("ARBITERD"), "--config", "/nonexistent/arbiter.yaml",
			      NULL};
	struct harness_run r;
	harness_runv(&r, NULL, argv);
	ck_assert_int_eq(r.status, 78);
	ck_assert_msg(strstr(r.err, "no configuration at /nonexistent/arbiter.yaml: copy "), "%s",
		      r.err);
	ck_assert_ptr_nonnull(strstr(r.err, "/share/doc/arbiter/examples/"));
	harness_run_free(&r);
	/* An invalid one exits 78 as well: systemd does not restart on it. */
	char dir[] = "/tmp/arbiter-lifecycle-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	write_text(dir, "bad.yaml", "redis: {db: many}\n", 18);
	char path[64];
	snprintf(path, sizeof(path), "%s/bad.yaml", dir);
	const char *argv2[] = {harness_bin("ARBITERD"), "--config", path, NULL};
	harness_runv(&r, NULL, argv2);
	ck_assert_int_eq(r.status, 78);
	ck_assert_ptr_nonnull(strstr(r.err, "redis.db: expected an integer"));
	harness_run_free(&r);
	unlink(path);
	rmdir(dir);
}
END_TEST

static Suite *lifecycle_suite(void)
{
	Suite *s = suite_create("lifecycle");
	TCase *tc = tcase_create("lifecycle");
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, tells_systemd_ready_reloading_stopping_and_keeps_the_watchdog_fed);
	tcase_add_test(tc, hostile_rule_files_on_reload_keep_the_running_rules);
	tcase_add_test(tc, a_missing_config_names_the_example_and_exits_78);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return harness_main(lifecycle_suite());
}
