/* Unit tests for the log module (log.c): levels, and log_assert in this build type. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "unit.h"

START_TEST(levels_parse_and_name)
{
	const char *names[] = {"error", "warn", "info", "debug"};
	for (int i = 0; i < 4; i++) {
		enum log_level l = LOG_ERROR;
		ck_assert_int_eq(log_level_parse(names[i], &l), 0);
		ck_assert_int_eq(l, i);
		ck_assert_str_eq(log_level_name(l), names[i]);
	}
	enum log_level l = LOG_INFO;
	ck_assert_int_eq(log_level_parse("verbose", &l), -EINVAL);
	ck_assert_int_eq(log_level_parse("INFO", &l), -EINVAL);
	ck_assert_int_eq(l, LOG_INFO);
	ck_assert_str_eq(log_level_name((enum log_level)7), "?");
}
END_TEST

START_TEST(assert_that_holds_is_true_and_silent)
{
	int n = 0;
	ck_assert(log_assert(++n == 1));
	ck_assert_int_eq(n, 1); /* evaluated once */
}
END_TEST

/* What a child that breaks an invariant did. */
struct broken {
	int status;
	char log[1024];
};

/* Breaks an invariant in a child whose stderr goes to a file: it exits 7
 * when log_assert returned false, and dies of SIGABRT when it aborted. */
static void break_invariant(struct broken *b)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/assert.XXXXXX", unit_tmpdir());
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	unlink(path);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(fd, STDERR_FILENO);
		signal(SIGABRT, SIG_DFL);
		int two = 2;
		bool held = log_assert(two == 3);
		_exit(held ? 0 : 7);
	}
	ck_assert_int_eq(waitpid(pid, &b->status, 0), pid);
	ssize_t n = pread(fd, b->log, sizeof(b->log) - 1, 0);
	ck_assert_int_ge(n, 0);
	b->log[n] = '\0';
	close(fd);
}

START_TEST(broken_invariant_is_logged_with_its_place)
{
	struct broken b;
	break_invariant(&b);
	ck_assert_msg(strstr(b.log, "[assert] ") && strstr(b.log, "test_log.c:") &&
			      strstr(b.log, "break_invariant: broken invariant: two == 3"),
		      "log: %s", b.log);
#ifdef NDEBUG
	/* Release: carries on, and the caller sees the false. */
	ck_assert(WIFEXITED(b.status) && WEXITSTATUS(b.status) == 7);
#else
	/* Test and debug builds: stops there. */
	ck_assert(WIFSIGNALED(b.status) && WTERMSIG(b.status) == SIGABRT);
#endif
}
END_TEST

/* Runs FN in a child whose stderr is a file (with JOURNAL_STREAM set when JOURNAL); the lines
 * it wrote into OUT. */
static void capture(void (*fn)(void), bool journal, char *out, size_t len)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/log.XXXXXX", unit_tmpdir());
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	unlink(path);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(fd, STDERR_FILENO);
		if (journal)
			setenv("JOURNAL_STREAM", "8:1234", 1);
		else
			unsetenv("JOURNAL_STREAM");
		fn();
		_exit(0);
	}
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ssize_t n = pread(fd, out, len - 1, 0);
	ck_assert_int_ge(n, 0);
	out[n] = '\0';
	close(fd);
}

static void write_lines(void)
{
	log_set_level(LOG_INFO);
	log_set_subsys_level(LOG_SUB_kafka, LOG_ERROR);
	log_info(kafka, "not written: kafka logs errors only");
	log_debug(pipeline, "not written: info is the level");
	log_warn_at(pipeline,
		    LOG_FIELDS(LOG_STR("topic", "content.events"), LOG_NUM("partition", 3),
			       LOG_NUM("offset", 42)),
		    "a \"quoted\" word\tand a tab");
	log_error(config, "bad %s", "file");
}

static void write_json(void)
{
	log_set_format(LOG_FORMAT_JSON);
	write_lines();
}

START_TEST(text_json_and_journald_lines)
{
	char out[4096];
	capture(write_lines, false, out, sizeof(out));
	ck_assert_ptr_null(strstr(out, "not written"));
	ck_assert_msg(strstr(out, "Z warn  [pipeline] a \"quoted\" word\tand a tab\n"), "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "Z error [config] bad file\n"));

	capture(write_json, false, out, sizeof(out));
	ck_assert_msg(strstr(out,
			     "\"level\":\"warn\",\"subsystem\":\"pipeline\",\"msg\":\"a "
			     "\\\"quoted\\\" word\\u0009and a tab\",\"topic\":\"content.events\","
			     "\"partition\":3,\"offset\":42}\n"),
		      "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "{\"ts\":\""));
	ck_assert_ptr_nonnull(strstr(out, "\"subsystem\":\"config\",\"msg\":\"bad file\"}\n"));

	/* journald: the priority first, no timestamp of ours. */
	capture(write_lines, true, out, sizeof(out));
	ck_assert_msg(!strncmp(out, "<4>warn  [pipeline] a ", 22), "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "\n<3>error [config] bad file\n"));
}
END_TEST

START_TEST(subsystems_and_formats_parse)
{
	for (int i = 0; i < LOG_SUBSYS_COUNT; i++)
		ck_assert_int_eq(log_subsys_parse(log_subsys_name((enum log_subsys)i)), i);
	ck_assert_int_eq(log_subsys_parse("nope"), -1);
	enum log_format f;
	ck_assert_int_eq(log_format_parse("json", &f), 0);
	ck_assert_int_eq(f, LOG_FORMAT_JSON);
	ck_assert_int_eq(log_format_parse("xml", &f), -EINVAL);
}
END_TEST

static Suite *log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("log");
	tcase_add_test(tc, levels_parse_and_name);
	tcase_add_test(tc, assert_that_holds_is_true_and_silent);
	tcase_add_test(tc, broken_invariant_is_logged_with_its_place);
	tcase_add_test(tc, text_json_and_journald_lines);
	tcase_add_test(tc, subsystems_and_formats_parse);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(log_suite());
}
