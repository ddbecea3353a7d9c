/* Integration-test harness: an in-process mock Kafka cluster, arbiterd as a child process, and
 * readers. */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "arbiter/v1/content_event.pb-c.h"

static const char *const harness_topics[] = {
	"content.events",   "moderation.decisions", "moderation.escalations",
	"moderation.audit", "moderation.appeals",   "arbiter.deadletter",
};

void harness_start(struct harness *h, int partitions)
{
	harness_start_cluster(h, 1, partitions);
}

void harness_start_cluster(struct harness *h, int brokers, int partitions)
{
	memset(h, 0, sizeof(*h));
	ck_assert_int_eq(kafka_mock_start(brokers, &h->mock), 0);
	for (size_t i = 0; i < sizeof(harness_topics) / sizeof(harness_topics[0]); i++)
		ck_assert_int_eq(kafka_mock_topic_create(h->mock, harness_topics[i], partitions),
				 0);
	h->bootstrap = kafka_mock_bootstraps(h->mock);
	snprintf(h->dir, sizeof(h->dir), "/tmp/arbiter-it-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(h->dir));
	snprintf(h->config, sizeof(h->config), "%s/arbiter.yaml", h->dir);
	snprintf(h->log, sizeof(h->log), "%s/arbiterd.log", h->dir);
	snprintf(h->group, sizeof(h->group), "it-%d-%ld", getpid(), (long)time(NULL));

	char err[256];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	ck_assert_int_eq(
		rd_kafka_conf_set(conf, "bootstrap.servers", h->bootstrap, err, sizeof(err)),
		RD_KAFKA_CONF_OK);
	rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof(err));
	rd_kafka_conf_set(conf, "linger.ms", "5", err, sizeof(err));
	h->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	ck_assert_msg(h->producer != NULL, "producer: %s", err);
}

/* The suites run with kafka.exactly_once as configured by default; meson runs the pipeline
 * suite a second time with ARBITER_TEST_EXACTLY_ONCE=false for the at-least-once path. */
bool harness_exactly_once(void)
{
	const char *v = getenv("ARBITER_TEST_EXACTLY_ONCE");
	return !v || strcmp(v, "false") != 0;
}

void harness_write_config(struct harness *h, const char *extra)
{
	harness_write_config_at(h, h->config, extra);
}

void harness_write_config_at(struct harness *h, const char *path, const char *extra)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	unsigned session = h->session_timeout_ms ? h->session_timeout_ms : 6000;
	fprintf(f,
		"kafka:\n"
		"  brokers: \"%s\"\n"
		"  group_id: %s\n"
		"  exactly_once: %s\n"
		"%s%s%s"
		"  properties:\n"
		"    session.timeout.ms: %u\n"
		"    heartbeat.interval.ms: %u\n"
		"    topic.metadata.refresh.interval.ms: 1000\n"
		"%s%s%s"
		"pipeline:\n"
		"  commit_interval: 100ms\n"
		"  drain_timeout: 5s\n"
		"  max_inflight: %u\n"
		"metrics:\n"
		"  listen: \"\"\n"
		"log:\n"
		"  level: %s\n",
		h->bootstrap, h->group, harness_exactly_once() ? "true" : "false",
		h->transactional_id ? "  transactional_id: " : "",
		h->transactional_id ? h->transactional_id : "", h->transactional_id ? "\n" : "",
		session, session / 12 < 500 ? session / 12 : 500,
		h->kafka_debug ? "    debug: \"" : "", h->kafka_debug ? h->kafka_debug : "",
		h->kafka_debug ? "\"\n" : "", h->max_inflight ? h->max_inflight : 10000,
		h->log_level ? h->log_level : "info");
	if (h->redis_address)
		fprintf(f,
			"redis:\n  address: \"%s\"\n  connect_timeout: 500ms\n"
			"  command_timeout: 2s\n",
			h->redis_address);
	if (extra)
		fputs(extra, f);
	ck_assert_int_eq(fclose(f), 0);
}

int harness_produce_reported(struct harness *h, int from, int to, const char *const *langs)
{
	size_t n_langs = 0;
	while (langs[n_langs])
		n_langs++;
	int escalating = 0;
	for (int i = from; i < to; i++) {
		char eid[32], cid[32];
		snprintf(eid, sizeof(eid), "e-%d", i);
		snprintf(cid, sizeof(cid), "c-%d", i);
		Arbiter__V1__ContentEvent ev = ARBITER__V1__CONTENT_EVENT__INIT;
		ev.event_id = eid;
		ev.content_id = cid;
		ev.lang = (char *)langs[(size_t)i % n_langs];
		ev.report_count = i % 10;
		ev.text = "some text";
		escalating += ev.report_count >= 5;
		harness_produce_msg(h, "content.events", cid, &ev.base);
	}
	harness_flush(h);
	return escalating;
}

int harness_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_msg(fd >= 0, "socket: %s", strerror(errno));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	ck_assert_msg(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "bind: %s", strerror(errno));
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

void harness_write_file(struct harness *h, const char *name, const char *text)
{
	char path[400];
	snprintf(path, sizeof(path), "%s/%s", h->dir, name);
	FILE *f = fopen(path, "w");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* Lines of the daemon's log that contain NEEDLE. */
static int harness_log_count(struct harness *h, const char *needle)
{
	FILE *f = fopen(h->log, "r");
	if (!f)
		return 0;
	char line[4096];
	int n = 0;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

/* The line pipeline_start logs, after arbiterd handles its signals. */
#define HARNESS_STARTED "subscribed to "

void harness_daemon_start(struct harness *h)
{
	int started = harness_log_count(h, HARNESS_STARTED);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = open(h->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, STDERR_FILENO);
			dup2(fd, STDOUT_FILENO);
		}
		execl(ARBITERD_PATH, "arbiterd", "--config", h->config, (char *)NULL);
		_exit(127);
	}
	h->daemon = pid;
	/* Until it handles SIGTERM: a test whose work is done at once would otherwise stop
	 * it with a signal that kills it before its handler is in place. A daemon that
	 * exits (a bad config) is left for the test to reap. */
	siginfo_t si;
	for (int i = 0; i < 200 && harness_log_count(h, HARNESS_STARTED) == started; i++) {
		si.si_pid = 0;
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid)
			break;
		usleep(50 * 1000);
	}
}

pid_t harness_daemon_spawn(const char *config, const char *log)
{
	int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	ck_assert_msg(fd >= 0, "%s: %s", log, strerror(errno));
	const char *argv[] = {ARBITERD_PATH, "--config", config, NULL};
	pid_t pid = harness_spawn(argv, STDIN_FILENO, fd, fd);
	close(fd);
	return pid;
}

int harness_daemon_stop(struct harness *h, int sig)
{
	if (h->daemon <= 0)
		return -1;
	kill(h->daemon, sig);
	int status = 0;
	/* Generous bound: a drain takes at most drain_timeout (5 s). */
	for (int i = 0; i < 300; i++) {
		pid_t r = waitpid(h->daemon, &status, WNOHANG);
		if (r == h->daemon) {
			h->daemon = 0;
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		}
		usleep(100 * 1000);
	}
	kill(h->daemon, SIGKILL);
	waitpid(h->daemon, &status, 0);
	h->daemon = 0;
	ck_abort_msg("arbiterd did not exit within 30 s of signal %d", sig);
	return -1;
}

bool harness_daemon_alive(struct harness *h)
{
	if (h->daemon <= 0)
		return false;
	int status;
	return waitpid(h->daemon, &status, WNOHANG) == 0;
}

void harness_produce(struct harness *h, const char *topic, const char *key, const void *value,
		     size_t len)
{
	rd_kafka_resp_err_t err;
	while ((err = rd_kafka_producev(h->producer, RD_KAFKA_V_TOPIC(topic),
					RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
					RD_KAFKA_V_VALUE((void *)value, len),
					RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
					RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
		rd_kafka_poll(h->producer, 50);
	ck_assert_msg(err == 0, "produce: %s", rd_kafka_err2str(err));
	rd_kafka_poll(h->producer, 0);
}

void harness_produce_msg(struct harness *h, const char *topic, const char *key,
			 const ProtobufCMessage *msg)
{
	size_t len = protobuf_c_message_get_packed_size(msg);
	uint8_t *buf = malloc(len + 1);
	protobuf_c_message_pack(msg, buf);
	harness_produce(h, topic, key, buf, len);
	free(buf);
}

void harness_flush(struct harness *h)
{
	ck_assert_int_eq(rd_kafka_flush(h->producer, 30000), 0);
}

static rd_kafka_t *harness_consumer(struct harness *h, const char *group)
{
	char err[256];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_conf_set(conf, "bootstrap.servers", h->bootstrap, err, sizeof(err));
	rd_kafka_conf_set(conf, "group.id", group, err, sizeof(err));
	rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err));
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
	ck_assert_msg(rk != NULL, "consumer: %s", err);
	return rk;
}

static int harness_partitions(rd_kafka_t *rk, const char *topic)
{
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
	const struct rd_kafka_metadata *md;
	ck_assert_int_eq(rd_kafka_metadata(rk, 0, rkt, &md, 10000), 0);
	int n = md->topics[0].partition_cnt;
	rd_kafka_metadata_destroy(md);
	rd_kafka_topic_destroy(rkt);
	return n;
}

int64_t harness_count(struct harness *h, const char *topic)
{
	int64_t total = 0;
	int np = harness_partitions(h->producer, topic);
	for (int p = 0; p < np; p++) {
		int64_t lo, hi;
		ck_assert_int_eq(
			rd_kafka_query_watermark_offsets(h->producer, topic, p, &lo, &hi, 10000),
			0);
		total += hi;
	}
	return total;
}

bool harness_wait_committed(struct harness *h, const char *topic, int timeout_s)
{
	rd_kafka_t *rk = harness_consumer(h, h->group);
	int np = harness_partitions(rk, topic);
	bool ok = false;
	for (int tries = 0; tries < timeout_s * 5 && !ok; tries++) {
		rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(np);
		for (int p = 0; p < np; p++)
			rd_kafka_topic_partition_list_add(parts, topic, p);
		ok = rd_kafka_committed(rk, parts, 10000) == 0;
		for (int i = 0; ok && i < parts->cnt; i++) {
			int64_t lo, hi;
			rd_kafka_query_watermark_offsets(rk, topic, parts->elems[i].partition, &lo,
							 &hi, 10000);
			int64_t c = parts->elems[i].offset;
			if (hi > 0 && c != hi)
				ok = false;
			/* A commit past the end would mean a bug in the window. */
			ck_assert_int_le(c, hi);
		}
		rd_kafka_topic_partition_list_destroy(parts);
		if (!ok)
			usleep(200 * 1000);
	}
	rd_kafka_destroy(rk);
	return ok;
}

int harness_committed(struct harness *h, const char *topic, int64_t *out, int n)
{
	rd_kafka_t *rk = harness_consumer(h, h->group);
	int np = harness_partitions(rk, topic);
	rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(np);
	for (int p = 0; p < np; p++)
		rd_kafka_topic_partition_list_add(parts, topic, p);
	ck_assert_int_eq(rd_kafka_committed(rk, parts, 10000), 0);
	for (int i = 0; i < parts->cnt && i < n; i++)
		out[parts->elems[i].partition] = parts->elems[i].offset;
	rd_kafka_topic_partition_list_destroy(parts);
	rd_kafka_destroy(rk);
	return np;
}

bool harness_wait_count(struct harness *h, const char *topic, int64_t n, int timeout_s)
{
	for (int tries = 0; tries < timeout_s * 10; tries++) {
		if (harness_count(h, topic) >= n)
			return true;
		usleep(100 * 1000);
	}
	return false;
}

void harness_read(struct harness *h, const char *topic,
		  void (*fn)(void *opaque, const rd_kafka_message_t *m), void *opaque)
{
	rd_kafka_t *rk = harness_consumer(h, "harness-reader");
	int np = harness_partitions(rk, topic);
	rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(np);
	int64_t *ends = calloc((size_t)np, sizeof(*ends));
	int remaining = 0;
	for (int p = 0; p < np; p++) {
		int64_t lo, hi;
		rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 10000);
		ends[p] = hi;
		if (hi > lo) {
			rd_kafka_topic_partition_list_add(parts, topic, p)->offset =
				RD_KAFKA_OFFSET_BEGINNING;
			remaining++;
		}
	}
	rd_kafka_assign(rk, parts);
	rd_kafka_topic_partition_list_destroy(parts);
	while (remaining > 0) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 10000);
		ck_assert_msg(m != NULL, "no progress reading %s", topic);
		if (!m->err) {
			fn(opaque, m);
			if (m->offset + 1 == ends[m->partition])
				remaining--;
		}
		rd_kafka_message_destroy(m);
	}
	free(ends);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
}

bool harness_log_contains(struct harness *h, const char *needle)
{
	return harness_log_count(h, needle) > 0;
}

void harness_stop(struct harness *h)
{
	if (h->daemon > 0)
		harness_daemon_stop(h, SIGKILL);
	if (h->producer) {
		rd_kafka_flush(h->producer, 5000);
		rd_kafka_destroy(h->producer);
	}
	kafka_mock_stop(h->mock);
	/* The daemon's log ends up in the test log, where a failure is read. */
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "tail -n 40 '%s' >&2", h->log);
	if (system(cmd) != 0)
		fprintf(stderr, "(no daemon log)\n");
	if (getenv("ARBITER_KEEP_TEST_DIR")) {
		fprintf(stderr, "kept %s\n", h->dir);
		return;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", h->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", h->dir);
}

/* ---- child processes ---- */

const char *harness_bin(const char *var)
{
	const char *p = getenv(var);
	ck_assert_msg(p && p[0], "%s is not set: run this suite through meson test", var);
	return p;
}

int harness_anon_file(void)
{
	int fd = memfd_create("harness", MFD_CLOEXEC);
	ck_assert_msg(fd >= 0, "memfd_create: %s", strerror(errno));
	return fd;
}

char *harness_slurp(int fd)
{
	off_t size = lseek(fd, 0, SEEK_END);
	ck_assert_int_ge(size, 0);
	char *buf = malloc((size_t)size + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(pread(fd, buf, (size_t)size, 0), size);
	buf[size] = '\0';
	close(fd);
	return buf;
}

pid_t harness_spawn(const char *const *argv, int in, int out, int err)
{
	pid_t parent = getpid();
	pid_t pid = fork();
	ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		/* Dies with the test, so that a failed assertion leaves nothing behind. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		/* Whatever the runner blocked or ignored, the child starts clean. */
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		dup2(in, STDIN_FILENO);
		dup2(out, STDOUT_FILENO);
		dup2(err, STDERR_FILENO);
		/* It holds none of the test's sockets: a mock broker's listener
		 * would otherwise outlive its cluster. */
		close_range(3, ~0U, 0);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

int harness_wait(pid_t pid, int timeout_s)
{
	int status;
	for (long i = 0; i < timeout_s * 100L; i++) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		ck_assert_int_ne(r, -1);
		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		usleep(10 * 1000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

void harness_runv(struct harness_run *r, const char *input, const char *const *argv)
{
	int in = harness_anon_file(), out = harness_anon_file(), err = harness_anon_file();
	if (input) {
		size_t len = strlen(input);
		ck_assert_int_eq(write(in, input, len), (ssize_t)len);
		ck_assert_int_eq(lseek(in, 0, SEEK_SET), 0);
	}
	pid_t pid = harness_spawn(argv, in, out, err);
	close(in);
	r->status = harness_wait(pid, HARNESS_RUN_TIMEOUT_S);
	r->out = harness_slurp(out);
	r->err = harness_slurp(err);
	ck_assert_msg(r->status >= 0, "%s %s did not exit within %d s; stderr:\n%s", argv[0],
		      argv[1] ? argv[1] : "", HARNESS_RUN_TIMEOUT_S, r->err);
	ck_assert_msg(r->status != 127, "could not run %s", argv[0]);
}

void harness_run(struct harness_run *r, const char *input, const char *prog, ...)
{
	const char *argv[32];
	int argc = 0;
	argv[argc++] = prog;
	va_list ap;
	va_start(ap, prog);
	const char *a;
	while ((a = va_arg(ap, const char *)) != NULL) {
		ck_assert_int_lt(argc, 31);
		argv[argc++] = a;
	}
	va_end(ap);
	argv[argc] = NULL;
	harness_runv(r, input, argv);
}

/* harness_runv into R, or into a run of its own when R is NULL; returns
 * the exit status. */
static int harness_run_status(struct harness_run *r, const char *input, const char *const *argv)
{
	struct harness_run own;
	harness_runv(r ? r : &own, input, argv);
	int status = r ? r->status : own.status;
	if (!r)
		harness_run_free(&own);
	return status;
}

int harness_ctl(struct harness_run *r, const char *input, const char *fmt, ...)
{
	char *args = NULL, *line = NULL;
	va_list ap;
	va_start(ap, fmt);
	ck_assert_int_ge(vasprintf(&args, fmt, ap), 0);
	va_end(ap);
	/* exec: the shell becomes arbiterctl, which a timeout then kills. */
	ck_assert_int_ge(asprintf(&line, "exec '%s' %s", harness_bin("ARBITERCTL"), args), 0);
	const char *argv[] = {"/bin/sh", "-c", line, NULL};
	int status = harness_run_status(r, input, argv);
	free(line);
	free(args);
	return status;
}

int harness_ctlv(struct harness_run *r, const char *input, const char *const *args)
{
	const char *argv[32];
	int argc = 0;
	argv[argc++] = harness_bin("ARBITERCTL");
	for (; args[argc - 1]; argc++) {
		ck_assert_int_lt(argc, 31);
		argv[argc] = args[argc - 1];
	}
	argv[argc] = NULL;
	return harness_run_status(r, input, argv);
}

void harness_run_free(struct harness_run *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

int harness_main(Suite *s)
{
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
