/* hiredis's asynchronous connections on the libuv loop: a loop turn's writes go out together. */
#include "redis_ev.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

struct redis_ev {
	redisAsyncContext *ac; /* NULL once hiredis let go of it */
	uv_poll_t poll;        /* readable, and writable while a write waits for room */
	uv_idle_t flush;       /* writes what the turn queued, first thing next turn */
	int want;              /* UV_READABLE | UV_WRITABLE the poll should watch */
	int armed;             /* what it watches */
	bool pending;          /* hiredis has output for the flush */
	int open;              /* handles not closed yet: freed at 0 */
};

static void redis_ev_poll_cb(uv_poll_t *h, int status, int events);

/* Points the poll at WANT, when that changes: libuv re-registers the descriptor on every
 * uv_poll_start. */
static void redis_ev_watch(struct redis_ev *e)
{
	if (e->want == e->armed)
		return;
	e->armed = e->want;
	if (e->want)
		uv_poll_start(&e->poll, e->want, redis_ev_poll_cb);
	else
		uv_poll_stop(&e->poll);
}

static void redis_ev_poll_cb(uv_poll_t *h, int status, int events)
{
	struct redis_ev *e = h->data;
	if (status < 0) {
		/* libuv stopped the poll: a read says what broke (hiredis disconnects), or
		 * finds nothing and the poll is armed again. */
		e->armed = 0;
		if (e->ac)
			redisAsyncHandleRead(e->ac);
		if (e->ac)
			redis_ev_watch(e);
		return;
	}
	if (e->ac && (events & UV_READABLE))
		redisAsyncHandleRead(e->ac);
	if (e->ac && (events & UV_WRITABLE))
		redisAsyncHandleWrite(e->ac);
}

static void redis_ev_flush_cb(uv_idle_t *h)
{
	struct redis_ev *e = h->data;
	uv_idle_stop(&e->flush);
	if (!e->ac || !e->pending)
		return;
	redisAsyncHandleWrite(e->ac); /* calls del_write when all went, add_write if not */
	if (e->ac && e->pending) {
		/* The socket is full: wait until it takes more, not a turn at a time. */
		uv_idle_stop(&e->flush);
		e->want |= UV_WRITABLE;
		redis_ev_watch(e);
	}
}

static void redis_ev_add_read(void *privdata)
{
	struct redis_ev *e = privdata;
	e->want |= UV_READABLE;
	redis_ev_watch(e);
}

static void redis_ev_del_read(void *privdata)
{
	struct redis_ev *e = privdata;
	e->want &= ~UV_READABLE;
	redis_ev_watch(e);
}

static void redis_ev_add_write(void *privdata)
{
	struct redis_ev *e = privdata;
	e->pending = true;
	if (!e->ac || !(e->ac->c.flags & REDIS_CONNECTED) || (e->want & UV_WRITABLE)) {
		/* Connecting (writable says the connect finished), or already waiting for
		 * room. */
		e->want |= UV_WRITABLE;
		redis_ev_watch(e);
		return;
	}
	uv_idle_start(&e->flush, redis_ev_flush_cb);
}

static void redis_ev_del_write(void *privdata)
{
	struct redis_ev *e = privdata;
	e->pending = false;
	e->want &= ~UV_WRITABLE;
	redis_ev_watch(e);
}

static void redis_ev_closed(uv_handle_t *h)
{
	struct redis_ev *e = h->data;
	if (--e->open == 0)
		free(e);
}

static void redis_ev_cleanup(void *privdata)
{
	struct redis_ev *e = privdata;
	e->ac = NULL;
	uv_close((uv_handle_t *)&e->poll, redis_ev_closed);
	uv_close((uv_handle_t *)&e->flush, redis_ev_closed);
}

int redis_ev_attach(redisAsyncContext *ac, uv_loop_t *loop)
{
	if (ac->ev.data)
		return -EBUSY;
	struct redis_ev *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	int rc = uv_poll_init(loop, &e->poll, ac->c.fd);
	if (rc < 0) {
		free(e);
		return rc;
	}
	uv_idle_init(loop, &e->flush);
	e->poll.data = e->flush.data = e;
	e->open = 2;
	e->ac = ac;
	ac->ev.data = e;
	ac->ev.addRead = redis_ev_add_read;
	ac->ev.delRead = redis_ev_del_read;
	ac->ev.addWrite = redis_ev_add_write;
	ac->ev.delWrite = redis_ev_del_write;
	ac->ev.cleanup = redis_ev_cleanup;
	return 0;
}
