/* Integration-test helper: a real redis-server on a free loopback port, killed and restarted at
 * will. */
#include "redis_server.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

/* Another process may take the port between our close and redis-server's
 * bind: start tries this many ports before failing the test. */
#define REDIS_SERVER_PORT_TRIES 5

/* A port the kernel just handed out: free unless someone races us. */
static int redis_server_free_port(void)
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

static bool redis_server_pings(int port)
{
	redisContext *c = redisConnect("127.0.0.1", port);
	bool ok = false;
	if (c && !c->err) {
		redisReply *r = redisCommand(c, "PING");
		ok = r && r->type == REDIS_REPLY_STATUS;
		freeReplyObject(r);
	}
	redisFree(c);
	return ok;
}

/* Starts redis-server on rs->port and waits for PING. Returns false when it
 * exited first (the port was taken, most likely; its log says). */
static bool redis_server_spawn(struct redis_server *rs)
{
	char port[16], log[320];
	snprintf(port, sizeof(port), "%d", rs->port);
	snprintf(log, sizeof(log), "%s/redis.log", rs->dir);
	/* Append-only, synced each write: a kill -9 loses no acknowledged write. */
	const char *argv[] = {"redis-server",
			      "--port",
			      port,
			      "--bind",
			      "127.0.0.1",
			      "--dir",
			      rs->dir,
			      "--save",
			      "",
			      "--appendonly",
			      "yes",
			      "--appendfsync",
			      "always",
			      "--logfile",
			      log,
			      NULL};
	pid_t pid = harness_spawn(argv, STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO);
	rs->pid = pid;
	for (int i = 0; i < 100; i++) {
		if (redis_server_pings(rs->port))
			return true;
		if (waitpid(pid, NULL, WNOHANG) == pid) {
			rs->pid = 0;
			return false;
		}
		usleep(50 * 1000);
	}
	ck_abort_msg("redis-server on port %d did not answer PING; see %s", rs->port, log);
	return false;
}

void redis_server_start(struct redis_server *rs)
{
	memset(rs, 0, sizeof(*rs));
	snprintf(rs->dir, sizeof(rs->dir), "/tmp/arbiter-redis.XXXXXX");
	ck_assert_msg(mkdtemp(rs->dir) != NULL, "mkdtemp: %s", strerror(errno));
	for (int i = 0; i < REDIS_SERVER_PORT_TRIES; i++) {
		rs->port = redis_server_free_port();
		snprintf(rs->address, sizeof(rs->address), "127.0.0.1:%d", rs->port);
		if (redis_server_spawn(rs))
			return;
	}
	ck_abort_msg("redis-server exited at start %d times; see %s/redis.log",
		     REDIS_SERVER_PORT_TRIES, rs->dir);
}

void redis_server_kill(struct redis_server *rs)
{
	if (rs->pid <= 0)
		return;
	kill(rs->pid, SIGKILL);
	waitpid(rs->pid, NULL, 0);
	rs->pid = 0;
}

void redis_server_restart(struct redis_server *rs)
{
	redis_server_kill(rs);
	ck_assert_msg(redis_server_spawn(rs),
		      "redis-server did not restart on port %d; see %s/redis.log", rs->port,
		      rs->dir);
}

static int redis_server_unlink(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(path) < 0)
		fprintf(stderr, "redis_server: cannot remove %s: %s\n", path, strerror(errno));
	return 0;
}

void redis_server_stop(struct redis_server *rs)
{
	if (rs->pid > 0) {
		kill(rs->pid, SIGTERM);
		waitpid(rs->pid, NULL, 0);
		rs->pid = 0;
	}
	if (rs->dir[0]) {
		nftw(rs->dir, redis_server_unlink, 8, FTW_DEPTH | FTW_PHYS);
		rs->dir[0] = '\0';
	}
}

redisContext *redis_server_connect(const struct redis_server *rs)
{
	redisContext *c = redisConnect("127.0.0.1", rs->port);
	ck_assert_msg(c && !c->err, "cannot connect to redis-server at %s: %s", rs->address,
		      c ? c->errstr : "out of memory");
	return c;
}
