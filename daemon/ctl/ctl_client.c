/* arbiterctl's Kafka and Redis clients, set up from the daemon's config exactly as arbiterd sets up
 * its own. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "ctl.h"
#include "kafka.h"
#include "log.h"
#include "sentinel.h"

struct config *ctl_config_load(const char *cmd, const char *path)
{
	struct diag_list errs = {0};
	struct config *cfg = NULL;
	if (config_load(path, &cfg, &errs) < 0) {
		diag_print(&errs, stderr);
		fprintf(stderr, "arbiterctl %s: %s: %zu error(s)\n", cmd, path,
			errs.n_errors ? errs.n_errors : (size_t)1);
	}
	diag_clear(&errs);
	return cfg;
}

const char *ctl_brokers(const char *cmd, const char *override, const struct config *cfg)
{
	if (override)
		return override;
	if (!cfg) {
		fprintf(stderr, "arbiterctl %s: give --brokers or --config\n", cmd);
		return NULL;
	}
	if (cfg->kafka.mock_brokers) {
		fprintf(stderr,
			"arbiterctl %s: kafka.brokers of %s is \"%s\", the daemon's embedded mock: "
			"give --brokers with the cluster's bootstrap address\n",
			cmd, cfg->path ? cfg->path : "the config", cfg->kafka.brokers);
		return NULL;
	}
	return cfg->kafka.brokers;
}

rd_kafka_conf_t *ctl_kafka_conf_for(const char *cmd, const char *brokers_override,
				    const struct config *cfg)
{
	const char *brokers = ctl_brokers(cmd, brokers_override, cfg);
	if (!brokers)
		return NULL;
	char err[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	kafka_conf_log(conf);
	const char *client_id = cfg ? cfg->kafka.client_id : "arbiterctl";
	int rc = 0;
	if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, sizeof(err)) ||
	    rd_kafka_conf_set(conf, "client.id", client_id, err, sizeof(err))) {
		fprintf(stderr, "arbiterctl %s: %s\n", cmd, err);
		rc = -EINVAL;
	}
	/* The properties as the daemon's clients get them: the same function sets them. */
	if (!rc && cfg && kafka_conf_properties(conf, cfg) < 0) {
		fprintf(stderr, "arbiterctl %s: kafka.properties of %s refused (said above)\n", cmd,
			cfg->path ? cfg->path : "the config");
		rc = -EINVAL;
	}
	if (rc) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	return conf;
}

/* ---- Redis ---- */

/* Sends a handshake command; false (said, naming the server) when it failed. */
static bool ctl_redis_ok(const char *cmd, const char *where, redisContext *c, const char *what,
			 redisReply *r)
{
	bool ok = r && r->type != REDIS_REPLY_ERROR;
	if (!ok)
		fprintf(stderr, "arbiterctl %s: Redis at %s: %s: %s\n", cmd, where, what,
			r ? r->str : c->errstr);
	freeReplyObject(r);
	return ok;
}

/* With Sentinel, the server must still be the master: a failover may have moved it since
 * the sentinel answered. */
static bool ctl_redis_is_master(const char *cmd, const struct config *cfg, const char *where,
				redisContext *c)
{
	redisReply *r = redisCommand(c, "ROLE");
	char role[40] = "";
	int rc = r && r->type != REDIS_REPLY_ERROR ? sentinel_role_reply(r, role, sizeof(role)) :
						     -EIO;
	if (rc < 0)
		fprintf(stderr, "arbiterctl %s: Redis at %s: ROLE: %s\n", cmd, where,
			r ? (r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply") :
			    c->errstr);
	else if (rc == 0)
		fprintf(stderr,
			"arbiterctl %s: Redis at %s is a %s, not the master %s: a failover is under "
			"way; try again\n",
			cmd, where, role, cfg->redis.master_name);
	freeReplyObject(r);
	return rc == 1;
}

redisContext *ctl_redis_connect(const char *cmd, const struct config *cfg, char *where, size_t len)
{
	const char *a = cfg->redis.address;
	char master[SENTINEL_ADDR_MAX];
	if (cfg->redis.n_sentinels) {
		char why[1024];
		if (sentinel_resolve(cfg, master, why, sizeof(why)) < 0) {
			fprintf(stderr, "arbiterctl %s: no sentinel named the master %s: %s\n", cmd,
				cfg->redis.master_name, why);
			return NULL;
		}
		a = master;
	}
	snprintf(where, len, "%s", a);
	uint32_t ctm = cfg->redis.connect_timeout_ms, ttm = cfg->redis.command_timeout_ms;
	struct timeval ct = {ctm / 1000, (ctm % 1000) * 1000};
	redisContext *c;
	if (a[0] == '/') {
		c = redisConnectUnixWithTimeout(a, ct);
	} else {
		char host[CONFIG_HOST_MAX];
		int port;
		config_redis_host_port(a, host, &port);
		c = redisConnectWithTimeout(host, port, ct);
	}
	if (!c || c->err) {
		fprintf(stderr, "arbiterctl %s: cannot connect to Redis at %s: %s\n", cmd, a,
			c ? c->errstr : "out of memory");
		redisFree(c);
		return NULL;
	}
	redisSetTimeout(c, (struct timeval){ttm / 1000, (ttm % 1000) * 1000});
	bool ok = true;
	if (cfg->redis.password)
		ok = ctl_redis_ok(cmd, a, c, "AUTH",
				  cfg->redis.username ?
					  redisCommand(c, "AUTH %s %s", cfg->redis.username,
						       cfg->redis.password) :
					  redisCommand(c, "AUTH %s", cfg->redis.password));
	if (ok && cfg->redis.db)
		ok = ctl_redis_ok(cmd, a, c, "SELECT", redisCommand(c, "SELECT %d", cfg->redis.db));
	if (ok && cfg->redis.n_sentinels)
		ok = ctl_redis_is_master(cmd, cfg, a, c);
	if (!ok) {
		redisFree(c);
		return NULL;
	}
	return c;
}
