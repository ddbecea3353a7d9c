/* Integration-test helper: a real redis-server on a free loopback port, killed and restarted at
 * will. */
#include "redis_server.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* A port the kernel just handed out: free unless someone races us, which
 * the PING wait then reports. */
static int redis_server_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static void redis_server_spawn(struct redis_server *rs)
{
	char port[16], log[320];
	snprintf(port, sizeof(port), "%d", rs->port);
	snprintf(log, sizeof(log), "%s/redis.log", rs->dir);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1",
		       "--dir", rs->dir, "--save", "", "--appendonly", "yes", "--appendfsync",
		       "always", "--logfile", log, (char *)NULL);
		_exit(127);
	}
	rs->pid = pid;
	for (int i = 0; i < 100; i++) {
		redisContext *c = redisConnect("127.0.0.1", rs->port);
		if (c && !c->err) {
			redisReply *r = redisCommand(c, "PING");
			bool ok = r && r->type == REDIS_REPLY_STATUS;
			freeReplyObject(r);
			redisFree(c);
			if (ok)
				return;
		} else if (c) {
			redisFree(c);
		}
		int st;
		ck_assert_msg(waitpid(pid, &st, WNOHANG) == 0, "redis-server exited; see %s", log);
		usleep(50 * 1000);
	}
	ck_abort_msg("redis-server on port %d did not answer PING; see %s", rs->port, log);
}

void redis_server_start(struct redis_server *rs)
{
	memset(rs, 0, sizeof(*rs));
	snprintf(rs->dir, sizeof(rs->dir), "/tmp/arbiter-redis.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(rs->dir));
	rs->port = redis_server_free_port();
	snprintf(rs->address, sizeof(rs->address), "127.0.0.1:%d", rs->port);
	redis_server_spawn(rs);
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
	redis_server_spawn(rs);
}

void redis_server_stop(struct redis_server *rs)
{
	if (rs->pid > 0) {
		kill(rs->pid, SIGTERM);
		waitpid(rs->pid, NULL, 0);
		rs->pid = 0;
	}
	if (rs->dir[0]) {
		char cmd[320];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", rs->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", rs->dir);
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
