/* hiredis's asynchronous connections on the libuv loop: a loop turn's writes go out together. */
#ifndef ARBITER_REDIS_EV_H
#define ARBITER_REDIS_EV_H

#include <hiredis/async.h>
#include <uv.h>

/* Attaches AC to LOOP in place of hiredis's own libuv adapter: reads through a uv_poll that
 * stays armed; once connected, what the commands of a loop turn queued is written in one go
 * at the start of the next turn (a uv_idle, which also keeps that turn from waiting in its
 * poll; a uv_check started from another check callback would wait for the next event), and
 * the poll watches for writability only while a write is left over because the socket was
 * full. hiredis's adapter re-arms the poll for
 * every write (four epoll_ctl calls per command round trip), which costs more than the
 * write itself. Returns 0, or -ENOMEM / a libuv error (AC untouched: the caller frees it).
 * The handles close when hiredis frees AC. */
int redis_ev_attach(redisAsyncContext *ac, uv_loop_t *loop);

#endif
