/* Redis Sentinel: the master's address and role from the sentinels' and the server's replies. */
#include "sentinel.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A host as a sentinel names one: an address or a name, nothing a command or a log line could
 * be confused by. */
static bool sentinel_host_ok(const char *s, size_t n)
{
	if (n == 0 || n >= CONFIG_HOST_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == '/' || s[i] == '[' || s[i] == ']' ||
		    (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

/* PORT (N bytes) as a number in [1, 65535], or -1. */
static int sentinel_port(const char *s, size_t n)
{
	if (n == 0 || n > 5)
		return -1;
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v >= 1 && v <= 65535 ? v : -1;
}

/* "host:port" (brackets around an IPv6 host) into ADDR; false when either is malformed. */
static bool sentinel_format(const char *host, size_t hl, const char *port, size_t pl,
			    char addr[SENTINEL_ADDR_MAX])
{
	int p = sentinel_port(port, pl);
	if (!sentinel_host_ok(host, hl) || p < 0)
		return false;
	bool v6 = memchr(host, ':', hl) != NULL;
	snprintf(addr, SENTINEL_ADDR_MAX, "%s%.*s%s:%d", v6 ? "[" : "", (int)hl, host,
		 v6 ? "]" : "", p);
	return true;
}

int sentinel_master_reply(const redisReply *r, char addr[SENTINEL_ADDR_MAX], char *why, size_t len)
{
	if (r && r->type == REDIS_REPLY_NIL) {
		snprintf(why, len, "it monitors no master of that name");
		return -ENOENT;
	}
	if (r && r->type == REDIS_REPLY_ERROR) {
		snprintf(why, len, "%.200s", r->str);
		return -EPROTO;
	}
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    r->element[1]->type != REDIS_REPLY_STRING) {
		snprintf(why, len, "unexpected reply to SENTINEL get-master-addr-by-name");
		return -EPROTO;
	}
	const redisReply *h = r->element[0], *p = r->element[1];
	if (!sentinel_format(h->str, h->len, p->str, p->len, addr)) {
		snprintf(why, len, "it names a malformed address");
		return -EPROTO;
	}
	return 0;
}

int sentinel_role_reply(const redisReply *r, char *role, size_t len)
{
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
	    (r->element[0]->type != REDIS_REPLY_STRING &&
	     r->element[0]->type != REDIS_REPLY_STATUS))
		return -EPROTO;
	const redisReply *e = r->element[0];
	snprintf(role, len, "%.*s", (int)(e->len < 32 ? e->len : 32), e->str);
	return e->len == 6 && !memcmp(e->str, "master", 6) ? 1 : 0;
}

int sentinel_switch_reply(const redisReply *r, const char *name, char addr[SENTINEL_ADDR_MAX])
{
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 3)
		return 0;
	for (size_t i = 0; i < 3; i++)
		if (r->element[i]->type != REDIS_REPLY_STRING)
			return 0;
	if (strcmp(r->element[0]->str, "message") || strcmp(r->element[1]->str, "+switch-master"))
		return 0;
	/* NAME OLD-IP OLD-PORT NEW-IP NEW-PORT, one space apart. */
	const char *w[5], *s = r->element[2]->str, *end = s + r->element[2]->len;
	size_t wl[5];
	int n = 0;
	while (s < end && n < 5) {
		const char *sp = memchr(s, ' ', (size_t)(end - s));
		const char *e = sp ? sp : end;
		w[n] = s;
		wl[n++] = (size_t)(e - s);
		s = sp ? sp + 1 : end;
	}
	if (n != 5 || s != end || wl[0] != strlen(name) || memcmp(w[0], name, wl[0]))
		return 0;
	return sentinel_format(w[3], wl[3], w[4], wl[4], addr) ? 1 : 0;
}

/* Asks the sentinel at ADDRESS. Returns 0 with the master's address, or a negative errno with
 * WHY set. */
static int sentinel_ask(const struct config *cfg, const char *address,
			char master[SENTINEL_ADDR_MAX], char *why, size_t len)
{
	char host[CONFIG_HOST_MAX];
	int port;
	config_redis_host_port(address, host, &port);
	uint32_t ct = cfg->redis.connect_timeout_ms, tt = cfg->redis.command_timeout_ms;
	redisContext *c = redisConnectWithTimeout(host, port,
						  (struct timeval){ct / 1000, (ct % 1000) * 1000});
	if (!c || c->err) {
		snprintf(why, len, "cannot connect: %s", c ? c->errstr : "out of memory");
		redisFree(c);
		return -EHOSTUNREACH;
	}
	redisSetTimeout(c, (struct timeval){tt / 1000, (tt % 1000) * 1000});
	int rc = 0;
	redisReply *r = NULL;
	if (cfg->redis.sentinel_password) {
		r = redisCommand(c, "AUTH %s", cfg->redis.sentinel_password);
		if (!r || r->type == REDIS_REPLY_ERROR) {
			snprintf(why, len, "AUTH: %s", r ? r->str : c->errstr);
			rc = -EACCES;
		}
		freeReplyObject(r);
	}
	if (!rc) {
		r = redisCommand(c, "SENTINEL get-master-addr-by-name %s", cfg->redis.master_name);
		if (!r) {
			snprintf(why, len, "%s", c->errstr);
			rc = -EIO;
		} else {
			rc = sentinel_master_reply(r, master, why, len);
		}
		freeReplyObject(r);
	}
	redisFree(c);
	return rc;
}

int sentinel_resolve(const struct config *cfg, char addr[SENTINEL_ADDR_MAX], char *why, size_t len)
{
	size_t off = 0;
	why[0] = '\0';
	for (size_t i = 0; i < cfg->redis.n_sentinels; i++) {
		char one[256];
		if (sentinel_ask(cfg, cfg->redis.sentinels[i], addr, one, sizeof(one)) == 0)
			return 0;
		if (off < len) {
			int n = snprintf(why + off, len - off, "%ssentinel %s: %s", off ? "; " : "",
					 cfg->redis.sentinels[i], one);
			off += n > 0 ? (size_t)n : 0;
		}
	}
	return -EHOSTUNREACH;
}
