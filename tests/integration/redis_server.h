/* Integration-test helper: a real redis-server on a free loopback port, killed and restarted at
 * will. */
#pragma once

#include <hiredis/hiredis.h>
#include <sys/types.h>

struct redis_server {
	pid_t pid;
	int port;
	char dir[256];
	char address[64]; /* "127.0.0.1:PORT" */
};

/* Starts redis-server on a free loopback port in a fresh temporary directory,
 * with appendonly yes and appendfsync always (so that a kill -9 loses no
 * acknowledged write) and no RDB saves; waits until it answers PING. Fails
 * the test on error. */
void redis_server_start(struct redis_server *rs);

/* kill -9, and waits for it. */
void redis_server_kill(struct redis_server *rs);

/* Starts it again on the same port and directory (the same data); waits for PING. */
void redis_server_restart(struct redis_server *rs);

/* Stops it if running and removes the directory. */
void redis_server_stop(struct redis_server *rs);

/* A synchronous connection to it; fails the test on error. */
redisContext *redis_server_connect(const struct redis_server *rs);
