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

/* Writes the sentinel's config (sentinels rewrite theirs: it must be a file of its own). */
static void redis_sentinel_write_conf(const struct redis_server *rs, const char *path)
{
	FILE *f = fopen(path, "w");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	fprintf(f,
		"port %d\n"
		"bind 127.0.0.1\n"
		"dir %s\n"
		"logfile %s/redis.log\n"
		"sentinel monitor %s 127.0.0.1 %d 1\n"
		"sentinel down-after-milliseconds %s %d\n"
		"sentinel failover-timeout %s 4000\n"
		"sentinel parallel-syncs %s 1\n",
		rs->port, rs->dir, rs->dir, rs->master_name, rs->sentinel_of, rs->master_name,
		rs->down_after_ms, rs->master_name, rs->master_name);
	ck_assert_int_eq(fclose(f), 0);
}

/* Starts redis-server (or redis-sentinel) on rs->port and waits for PING.
 * Returns false when it exited first (the port was taken, most likely; its
 * log says). */
static bool redis_server_spawn(struct redis_server *rs)
{
	char port[16], log[320], replicaof[32], conf[320];
	snprintf(port, sizeof(port), "%d", rs->port);
	snprintf(log, sizeof(log), "%s/redis.log", rs->dir);
	snprintf(replicaof, sizeof(replicaof), "127.0.0.1 %d", rs->replica_of);
	snprintf(conf, sizeof(conf), "%s/sentinel.conf", rs->dir);
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
			      rs->replica_of ? "--replicaof" : NULL,
			      replicaof,
			      NULL};
	const char *sentinel_argv[] = {"redis-sentinel", conf, NULL};
	if (rs->sentinel_of)
		redis_sentinel_write_conf(rs, conf);
	pid_t pid = harness_spawn(rs->sentinel_of ? sentinel_argv : argv, STDIN_FILENO,
				  STDOUT_FILENO, STDERR_FILENO);
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

/* Starts RS as its fields say, on a free port in a fresh directory. */
static void redis_server_launch(struct redis_server *rs)
{
	snprintf(rs->dir, sizeof(rs->dir), "/tmp/arbiter-redis.XXXXXX");
	ck_assert_msg(mkdtemp(rs->dir) != NULL, "mkdtemp: %s", strerror(errno));
	for (int i = 0; i < REDIS_SERVER_PORT_TRIES; i++) {
		rs->port = harness_free_port();
		snprintf(rs->address, sizeof(rs->address), "127.0.0.1:%d", rs->port);
		if (redis_server_spawn(rs))
			return;
	}
	ck_abort_msg("redis-server exited at start %d times; see %s/redis.log",
		     REDIS_SERVER_PORT_TRIES, rs->dir);
}

void redis_server_start(struct redis_server *rs)
{
	memset(rs, 0, sizeof(*rs));
	redis_server_launch(rs);
}

/* The value of FIELD in INFO section SECTION of the server on PORT ("" when missing). */
static void redis_server_info(int port, const char *section, const char *field, char *out,
			      size_t len)
{
	out[0] = '\0';
	redisContext *c = redisConnect("127.0.0.1", port);
	redisReply *r = c && !c->err ? redisCommand(c, "INFO %s", section) : NULL;
	size_t fl = strlen(field);
	for (const char *line = r && r->type == REDIS_REPLY_STRING ? r->str : NULL;
	     line && *line;) {
		const char *eol = strchr(line, '\n');
		size_t ll = eol ? (size_t)(eol - line) : strlen(line);
		while (ll && line[ll - 1] == '\r')
			ll--;
		if (ll > fl && !strncmp(line, field, fl) && line[fl] == ':')
			snprintf(out, len, "%.*s", (int)(ll - fl - 1), line + fl + 1);
		line = eol ? eol + 1 : NULL;
	}
	freeReplyObject(r);
	redisFree(c);
}

void redis_server_start_replica(struct redis_server *rs, const struct redis_server *master)
{
	memset(rs, 0, sizeof(*rs));
	rs->replica_of = master->port;
	redis_server_launch(rs);
	char link[32];
	for (int i = 0; i < 200; i++) {
		redis_server_info(rs->port, "replication", "master_link_status", link,
				  sizeof(link));
		if (!strcmp(link, "up"))
			return;
		usleep(50 * 1000);
	}
	ck_abort_msg("the replica on port %d did not link to its master on port %d", rs->port,
		     master->port);
}

bool redis_sentinel_wait_master(const struct redis_server *rs, const char *name, int port,
				int timeout_s)
{
	for (int i = 0; i < timeout_s * 20; i++) {
		redisContext *c = redisConnect("127.0.0.1", rs->port);
		redisReply *r =
			c && !c->err ?
				redisCommand(c, "SENTINEL get-master-addr-by-name %s", name) :
				NULL;
		bool ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
			  atoi(r->element[1]->str) == port;
		freeReplyObject(r);
		redisFree(c);
		if (ok)
			return true;
		usleep(50 * 1000);
	}
	return false;
}

/* How many replicas sentinel RS knows of master NAME, -1 when it cannot say. */
static int redis_sentinel_replicas(const struct redis_server *rs, const char *name)
{
	redisContext *c = redisConnect("127.0.0.1", rs->port);
	redisReply *r = c && !c->err ? redisCommand(c, "SENTINEL replicas %s", name) : NULL;
	int n = r && r->type == REDIS_REPLY_ARRAY ? (int)r->elements : -1;
	freeReplyObject(r);
	redisFree(c);
	return n;
}

void redis_sentinel_start(struct redis_server *rs, const struct redis_server *master,
			  const char *name, int down_after_ms, int replicas)
{
	memset(rs, 0, sizeof(*rs));
	rs->sentinel_of = master->port;
	rs->down_after_ms = down_after_ms;
	snprintf(rs->master_name, sizeof(rs->master_name), "%s", name);
	redis_server_launch(rs);
	ck_assert_msg(redis_sentinel_wait_master(rs, name, master->port, 10),
		      "sentinel on port %d does not name master %s; see %s/redis.log", rs->port,
		      name, rs->dir);
	/* Replicas are learnt from the master's INFO: a failover needs one. */
	for (int i = 0; i < 300; i++) {
		if (redis_sentinel_replicas(rs, name) >= replicas)
			return;
		usleep(50 * 1000);
	}
	ck_abort_msg("sentinel on port %d does not know %d replica(s) of %s; see %s/redis.log",
		     rs->port, replicas, name, rs->dir);
}

bool redis_server_wait_replicas(const struct redis_server *rs, int n, int timeout_s)
{
	for (int i = 0; i < timeout_s * 20; i++) {
		char role[32], connected[16];
		redis_server_info(rs->port, "replication", "role", role, sizeof(role));
		redis_server_info(rs->port, "replication", "connected_slaves", connected,
				  sizeof(connected));
		int online = 0;
		for (int k = 0; k < atoi(connected); k++) {
			char field[16], v[256];
			snprintf(field, sizeof(field), "slave%d", k);
			redis_server_info(rs->port, "replication", field, v, sizeof(v));
			online += strstr(v, "state=online") != NULL;
		}
		if (!strcmp(role, "master") && online >= n)
			return true;
		usleep(50 * 1000);
	}
	return false;
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
