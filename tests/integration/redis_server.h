/* Integration-test helper: a real redis-server on a free loopback port, killed and restarted at
 * will. */
#pragma once

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <sys/types.h>

struct redis_server {
	pid_t pid;
	int port;
	char dir[256];
	char address[64]; /* "127.0.0.1:PORT" */
	/* What it was started as, so that a restart starts the same. */
	int replica_of;       /* a master's port: started with --replicaof; 0: not */
	int sentinel_of;      /* a sentinel of the master on this port; 0: no sentinel */
	char master_name[64]; /* the sentinel's name for that master */
	int down_after_ms;    /* the sentinel's down-after-milliseconds */
};

/* Starts redis-server on a free loopback port in a fresh temporary directory,
 * with appendonly yes and appendfsync always (so that a kill -9 loses no
 * acknowledged write) and no RDB saves; waits until it answers PING. Fails
 * the test on error. */
void redis_server_start(struct redis_server *rs);

/* Starts a redis-server as redis_server_start does, as a replica of MASTER (--replicaof),
 * and waits until its link to the master is up. */
void redis_server_start_replica(struct redis_server *rs, const struct redis_server *master);

/* Starts redis-sentinel (a config of its own in a fresh directory) on a free loopback port,
 * monitoring MASTER as NAME with quorum 1, down-after-milliseconds DOWN_AFTER_MS and a short
 * failover timeout; waits until it answers PING, names MASTER's address for NAME and knows
 * REPLICAS replicas of it. rs->address is the sentinel's. Fails the test on error. */
void redis_sentinel_start(struct redis_server *rs, const struct redis_server *master,
			  const char *name, int down_after_ms, int replicas);

/* Waits up to TIMEOUT_S for sentinel RS to name PORT as master NAME's port. Returns true when
 * it did. */
bool redis_sentinel_wait_master(const struct redis_server *rs, const char *name, int port,
				int timeout_s);

/* Waits up to TIMEOUT_S until the server on RS reports ROLE master with at least N replicas
 * whose link is up (state "connected" and caught up with its offset). */
bool redis_server_wait_replicas(const struct redis_server *rs, int n, int timeout_s);

/* kill -9, and waits for it. */
void redis_server_kill(struct redis_server *rs);

/* Starts it again on the same port and directory (the same data); waits for PING. */
void redis_server_restart(struct redis_server *rs);

/* Stops it if running and removes the directory. */
void redis_server_stop(struct redis_server *rs);

/* A synchronous connection to it; fails the test on error. */
redisContext *redis_server_connect(const struct redis_server *rs);
