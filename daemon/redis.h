/* One Redis connection on the daemon's libuv loop: connect, AUTH, SELECT, timeouts and
 * reconnection. */
#pragma once

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "config.h"

struct redis;

/* Called on the loop when the connection becomes usable (UP: connected,
 * authenticated, database selected) or stops being usable. */
typedef void (*redis_state_cb)(void *opaque, bool up);

/* The reply to one command, or NULL when the connection was lost or the
 * reply took longer than redis.command_timeout: the command may or may not
 * have run. REPLY is valid during the call only. */
typedef void (*redis_reply_cb)(void *arg, const redisReply *reply);

/* Creates the connection object for CFG's redis section (CFG must outlive
 * it, or be replaced with redis_set_config). Nothing is connected before
 * redis_start. Returns 0 or -ENOMEM. */
int redis_new(uv_loop_t *loop, const struct config *cfg, redis_state_cb state, void *opaque,
	      struct redis **out);

/* Connects, and keeps reconnecting with capped exponential backoff (100 ms
 * doubling to 5 s) whenever the connection fails or is lost. */
void redis_start(struct redis *r);

bool redis_is_up(const struct redis *r);

/* Sends a command of ARGC arguments, ARGV[i] of LENS[i] bytes (binary-safe).
 * CB is called exactly once, with the reply or NULL.
 * Returns 0, -ENOTCONN when the connection is not up (CB is not called), or
 * -ENOMEM. */
int redis_command(struct redis *r, int argc, const char **argv, const size_t *lens,
		  redis_reply_cb cb, void *arg);

/* Takes CFG for the next connection attempt (address, credentials, db and
 * timeouts); the current connection stays. */
void redis_set_config(struct redis *r, const struct config *cfg);

/* Drops the connection (outstanding callbacks get NULL first), closes the
 * handles and frees R once the loop has run them. */
void redis_free(struct redis *r);
