/* One Redis connection on the daemon's libuv loop: connect, AUTH, SELECT, timeouts and
 * reconnection. */
#include "redis.h"

#include <errno.h>
#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define REDIS_BACKOFF_MIN_MS 100
#define REDIS_BACKOFF_MAX_MS 5000

/* A command sent on the current connection and not answered yet. Replies
 * come in order, so the head is always the oldest: the one a timeout is
 * measured on. */
struct redis_req {
	struct redis_req *prev, *next;
	struct redis *r;
	redis_reply_cb cb; /* NULL for the handshake's own commands */
	void *arg;
	uint64_t sent_ms;
};

enum redis_state { REDIS_IDLE, REDIS_CONNECTING, REDIS_HANDSHAKE, REDIS_UP };

struct redis {
	uv_loop_t *loop;
	const struct config *cfg;
	redis_state_cb state_cb;
	void *opaque;

	redisAsyncContext *ac;
	enum redis_state state;
	uv_timer_t timer;    /* connect timeout, then reconnect backoff */
	uv_timer_t watchdog; /* command timeouts */
	uint64_t backoff_ms;
	struct redis_req *head, *tail;
	int handshake_left;
	bool closing;
	bool logged_down; /* one error line per outage, not one per attempt */
	int open_handles;
};

static void redis_connect(struct redis *r);

static void redis_req_unlink(struct redis *r, struct redis_req *q)
{
	if (q->prev)
		q->prev->next = q->next;
	else
		r->head = q->next;
	if (q->next)
		q->next->prev = q->prev;
	else
		r->tail = q->prev;
}

static void redis_set_state(struct redis *r, enum redis_state s)
{
	bool was_up = r->state == REDIS_UP;
	r->state = s;
	if (was_up != (s == REDIS_UP) && !r->closing)
		r->state_cb(r->opaque, s == REDIS_UP);
}

static void redis_backoff_cb(uv_timer_t *t)
{
	redis_connect(t->data);
}

/* The connection is gone (or never came): try again later. */
static void redis_lost(struct redis *r, const char *why)
{
	r->ac = NULL;
	redis_set_state(r, REDIS_IDLE);
	uv_timer_stop(&r->watchdog);
	if (r->closing)
		return;
	if (!r->logged_down) {
		log_error(redis, "%s: %s; retrying with backoff up to %d ms",
			  r->cfg->redis.address, why, REDIS_BACKOFF_MAX_MS);
		r->logged_down = true;
	} else {
		log_debug(redis, "%s: %s", r->cfg->redis.address, why);
	}
	uv_timer_start(&r->timer, redis_backoff_cb, r->backoff_ms, 0);
	r->backoff_ms =
		r->backoff_ms * 2 > REDIS_BACKOFF_MAX_MS ? REDIS_BACKOFF_MAX_MS : r->backoff_ms * 2;
}

/* Drops the context. The state goes down first, so that the callbacks
 * hiredis now runs with NULL send nothing on the dying context; the
 * disconnect callback that follows finds r->ac changed and does nothing. */
static void redis_drop(struct redis *r, const char *why)
{
	redisAsyncContext *ac = r->ac;
	if (!ac)
		return;
	r->ac = NULL;
	redis_set_state(r, REDIS_IDLE);
	redisAsyncFree(ac);
	redis_lost(r, why);
}

static void redis_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct redis_req *q = privdata;
	struct redis *r = q->r;
	redis_req_unlink(r, q);
	const redisReply *rep = reply;
	if (q->cb) {
		q->cb(q->arg, rep);
	} else if (r->state == REDIS_HANDSHAKE && r->ac == ac) {
		/* AUTH or SELECT. */
		if (!rep || rep->type == REDIS_REPLY_ERROR) {
			char why[256];
			snprintf(why, sizeof(why), "handshake failed: %s",
				 rep ? rep->str : "connection lost");
			free(q);
			redis_drop(r, why);
			return;
		}
		if (--r->handshake_left == 0) {
			if (r->logged_down)
				log_info(redis, "%s: connected again", r->cfg->redis.address);
			else
				log_info(redis, "%s: connected", r->cfg->redis.address);
			r->logged_down = false;
			r->backoff_ms = REDIS_BACKOFF_MIN_MS;
			redis_set_state(r, REDIS_UP);
		}
	}
	free(q);
}

static int redis_send(struct redis *r, int argc, const char **argv, const size_t *lens,
		      redis_reply_cb cb, void *arg)
{
	struct redis_req *q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->r = r;
	q->cb = cb;
	q->arg = arg;
	q->sent_ms = uv_now(r->loop);
	if (!r->ac || redisAsyncCommandArgv(r->ac, redis_reply, q, argc, argv, lens) != REDIS_OK) {
		/* The context is closing (hiredis refuses commands then) or out
		 * of memory: either way, not sent. */
		free(q);
		return -ENOTCONN;
	}
	q->prev = r->tail;
	if (r->tail)
		r->tail->next = q;
	else
		r->head = q;
	r->tail = q;
	return 0;
}

static void redis_watchdog_cb(uv_timer_t *t)
{
	struct redis *r = t->data;
	if (!r->head || r->state == REDIS_CONNECTING)
		return;
	uint64_t age = uv_now(r->loop) - r->head->sent_ms;
	if (age >= r->cfg->redis.command_timeout_ms) {
		char why[96];
		snprintf(why, sizeof(why), "no reply within %u ms",
			 r->cfg->redis.command_timeout_ms);
		redis_drop(r, why);
	}
}

static void redis_on_connect(const redisAsyncContext *ac, int status)
{
	struct redis *r = ac->data;
	if (r->ac != ac)
		return;
	uv_timer_stop(&r->timer);
	if (status != REDIS_OK) {
		/* hiredis frees the context after this callback. */
		char why[160];
		snprintf(why, sizeof(why), "cannot connect: %s", ac->errstr);
		redis_lost(r, why);
		return;
	}
	redis_set_state(r, REDIS_HANDSHAKE);
	const struct config *cfg = r->cfg;
	const char *argv[3];
	size_t lens[3];
	int n = 0;
	r->handshake_left = 0;
	if (cfg->redis.password) {
		argv[n++] = "AUTH";
		if (cfg->redis.username)
			argv[n++] = cfg->redis.username;
		argv[n++] = cfg->redis.password;
		for (int i = 0; i < n; i++)
			lens[i] = strlen(argv[i]);
		r->handshake_left++;
		if (redis_send(r, n, argv, lens, NULL, NULL) < 0)
			r->handshake_left--;
	}
	char db[16];
	snprintf(db, sizeof(db), "%d", cfg->redis.db);
	const char *sel[2] = {"SELECT", db};
	size_t sel_lens[2] = {6, strlen(db)};
	/* SELECT even for db 0: the handshake always has a reply to wait for. */
	r->handshake_left++;
	if (redis_send(r, 2, sel, sel_lens, NULL, NULL) < 0) {
		redis_drop(r, "out of memory");
		return;
	}
	uv_timer_start(&r->watchdog, redis_watchdog_cb, 100, 100);
}

static void redis_on_disconnect(const redisAsyncContext *ac, int status)
{
	struct redis *r = ac->data;
	if (r->ac != ac)
		return;
	redis_lost(r, status == REDIS_OK ? "disconnected" :
					   (ac->errstr[0] ? ac->errstr : "connection lost"));
}

static void redis_connect_timeout_cb(uv_timer_t *t)
{
	struct redis *r = t->data;
	char why[96];
	snprintf(why, sizeof(why), "no connection within %u ms", r->cfg->redis.connect_timeout_ms);
	redis_drop(r, why);
}

static void redis_connect(struct redis *r)
{
	const char *a = r->cfg->redis.address;
	redisAsyncContext *ac;
	if (a[0] == '/') {
		ac = redisAsyncConnectUnix(a);
	} else {
		char host[CONFIG_HOST_MAX];
		int port;
		config_redis_host_port(a, host, &port);
		ac = redisAsyncConnect(host, port);
	}
	if (!ac) {
		redis_lost(r, "out of memory");
		return;
	}
	if (ac->err) {
		char why[160];
		snprintf(why, sizeof(why), "cannot connect: %s", ac->errstr);
		redisAsyncFree(ac);
		redis_lost(r, why);
		return;
	}
	ac->data = r;
	if (redisLibuvAttach(ac, r->loop) != REDIS_OK) {
		redisAsyncFree(ac);
		redis_lost(r, "cannot attach to the event loop");
		return;
	}
	redisAsyncSetConnectCallback(ac, redis_on_connect);
	redisAsyncSetDisconnectCallback(ac, redis_on_disconnect);
	r->ac = ac;
	redis_set_state(r, REDIS_CONNECTING);
	uv_timer_start(&r->timer, redis_connect_timeout_cb, r->cfg->redis.connect_timeout_ms, 0);
}

int redis_new(uv_loop_t *loop, const struct config *cfg, redis_state_cb state, void *opaque,
	      struct redis **out)
{
	struct redis *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->loop = loop;
	r->cfg = cfg;
	r->state_cb = state;
	r->opaque = opaque;
	r->backoff_ms = REDIS_BACKOFF_MIN_MS;
	uv_timer_init(loop, &r->timer);
	uv_timer_init(loop, &r->watchdog);
	r->timer.data = r->watchdog.data = r;
	r->open_handles = 2;
	*out = r;
	return 0;
}

void redis_start(struct redis *r)
{
	if (r->state == REDIS_IDLE && !uv_is_active((uv_handle_t *)&r->timer))
		redis_connect(r);
}

bool redis_is_up(const struct redis *r)
{
	return r->state == REDIS_UP;
}

int redis_command(struct redis *r, int argc, const char **argv, const size_t *lens,
		  redis_reply_cb cb, void *arg)
{
	if (r->state != REDIS_UP)
		return -ENOTCONN;
	return redis_send(r, argc, argv, lens, cb, arg);
}

void redis_set_config(struct redis *r, const struct config *cfg)
{
	r->cfg = cfg;
}

static void redis_handle_closed(uv_handle_t *h)
{
	struct redis *r = h->data;
	if (--r->open_handles == 0)
		free(r);
}

void redis_free(struct redis *r)
{
	if (!r)
		return;
	r->closing = true;
	redisAsyncContext *ac = r->ac;
	r->ac = NULL;
	r->state = REDIS_IDLE;
	if (ac)
		redisAsyncFree(ac);
	uv_close((uv_handle_t *)&r->timer, redis_handle_closed);
	uv_close((uv_handle_t *)&r->watchdog, redis_handle_closed);
}
