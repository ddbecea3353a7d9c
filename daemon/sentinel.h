/* Redis Sentinel: what the sentinels answer about the master, for arbiterd's connection and
 * arbiterctl's. */
#pragma once

#include <hiredis/hiredis.h>
#include <stddef.h>

#include "config.h"

/* Room for "host:port" or "[v6]:port". */
#define SENTINEL_ADDR_MAX (CONFIG_HOST_MAX + 8)

/* Reads R, a sentinel's reply to SENTINEL get-master-addr-by-name: [host, port]. Writes the
 * master's address into ADDR as redis.address spells one ("host:port", "[v6]:port"). Returns
 * 0, -ENOENT when the sentinel monitors no master of that name (a nil reply), or -EPROTO for
 * anything else (an error, a malformed host or port: said in WHY). */
int sentinel_master_reply(const redisReply *r, char addr[SENTINEL_ADDR_MAX], char *why, size_t len);

/* Reads R, the reply to ROLE. Returns 1 when the server is a master, 0 when it is anything
 * else (its role's name in ROLE), -EPROTO when R is no ROLE reply. */
int sentinel_role_reply(const redisReply *r, char *role, size_t len);

/* Reads R, a message of a subscription to +switch-master ("message", "+switch-master",
 * "NAME OLD-IP OLD-PORT NEW-IP NEW-PORT"). Returns 1 when it says that master NAME moved,
 * with the new address in ADDR; 0 for any other message or master. */
int sentinel_switch_reply(const redisReply *r, const char *name, char addr[SENTINEL_ADDR_MAX]);

/* Asks CFG's sentinels (redis.sentinels in order, each within redis.connect_timeout and
 * redis.command_timeout, with redis.sentinel_password) where master redis.master_name is,
 * synchronously: for arbiterctl. Returns 0 with its address in ADDR, or -EHOSTUNREACH with
 * what each sentinel answered in WHY. */
int sentinel_resolve(const struct config *cfg, char addr[SENTINEL_ADDR_MAX], char *why, size_t len);
