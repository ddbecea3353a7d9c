/* Integration: hiredis's asynchronous client on the libuv loop through redis_ev, against a real
 * redis-server: commands of one turn past what the socket takes at once, and a server that
 * dies under a connection. */
#include <check.h>
#include <errno.h>
#include <hiredis/async.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "redis_ev.h"
#include "redis_server.h"

/* SETs of this many bytes each, all issued in one loop turn: 40 MiB, far more than a
 * loopback socket's buffer, so that the write waits for room several times. */
#define EV_SETS 10000
#define EV_VALUE 4096

struct ev_run {
	uv_loop_t loop;
	redisAsyncContext *ac;
	int connected;    /* the connect callback's status + 1; 0: not called */
	int disconnected; /* the disconnect callback's status + 1; 0: not called */
	int ok;           /* +OK replies */
	int lost;         /* callbacks without a reply (the connection went) */
	long long dbsize;
};

static void ev_on_connect(const redisAsyncContext *ac, int status)
{
	struct ev_run *r = ac->data;
	r->connected = status + 1;
}

static void ev_on_disconnect(const redisAsyncContext *ac, int status)
{
	struct ev_run *r = ac->data;
	r->disconnected = status + 1;
	r->ac = NULL;
}

static void ev_on_set(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct ev_run *r = ac->data;
	redisReply *rep = reply;
	(void)privdata;
	if (!rep)
		r->lost++;
	else if (rep->type == REDIS_REPLY_STATUS && !strcmp(rep->str, "OK"))
		r->ok++;
}

static void ev_on_dbsize(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct ev_run *r = ac->data;
	redisReply *rep = reply;
	(void)privdata;
	if (rep && rep->type == REDIS_REPLY_INTEGER)
		r->dbsize = rep->integer;
	redisAsyncDisconnect(ac); /* once what was asked before is answered */
}

static void ev_connect(struct ev_run *r, const struct redis_server *rs)
{
	memset(r, 0, sizeof(*r));
	ck_assert_int_eq(uv_loop_init(&r->loop), 0);
	r->ac = redisAsyncConnect("127.0.0.1", rs->port);
	ck_assert_ptr_nonnull(r->ac);
	ck_assert_int_eq(r->ac->err, 0);
	r->ac->data = r;
	ck_assert_int_eq(redis_ev_attach(r->ac, &r->loop), 0);
	ck_assert_int_eq(redis_ev_attach(r->ac, &r->loop), -EBUSY);
	redisAsyncSetConnectCallback(r->ac, ev_on_connect);
	redisAsyncSetDisconnectCallback(r->ac, ev_on_disconnect);
}

/* Every handle redis_ev opened is closed once hiredis lets the connection go. */
static void ev_finish(struct ev_run *r)
{
	ck_assert_int_eq(uv_run(&r->loop, UV_RUN_DEFAULT), 0);
	ck_assert_int_eq(uv_loop_close(&r->loop), 0);
}

/* Issued from a reply's callback, when the connection is up and nothing waits to be written:
 * the SETs leave in the write at the end of this turn, which the socket cannot take whole. */
static void ev_on_pong(redisAsyncContext *ac, void *reply, void *privdata)
{
	(void)privdata;
	ck_assert_ptr_nonnull(reply);
	char *value = malloc(EV_VALUE + 1);
	ck_assert_ptr_nonnull(value);
	memset(value, 'v', EV_VALUE);
	value[EV_VALUE] = '\0';
	for (int i = 0; i < EV_SETS; i++)
		ck_assert_int_eq(redisAsyncCommand(ac, ev_on_set, NULL, "SET k%d %s", i, value),
				 REDIS_OK);
	ck_assert_int_eq(redisAsyncCommand(ac, ev_on_dbsize, NULL, "DBSIZE"), REDIS_OK);
	free(value);
}

/* A fresh server RS, a connection to it and one command, whose callback FN says what follows;
 * returns when the connection is gone and every handle closed. */
static void ev_serve(struct ev_run *r, struct redis_server *rs, redisCallbackFn *fn, void *privdata,
		     const char *cmd)
{
	redis_server_start(rs);
	ev_connect(r, rs);
	ck_assert_int_eq(redisAsyncCommand(r->ac, fn, privdata, cmd), REDIS_OK);
	ev_finish(r);
}

START_TEST(commands_of_one_turn_past_a_full_socket_are_all_answered)
{
	struct redis_server rs;
	redis_server_start(&rs);
	struct ev_run r;
	ev_connect(&r, &rs);
	/* Issued before the connection is up, as arbiterd's first commands are. */
	ck_assert_int_eq(redisAsyncCommand(r.ac, ev_on_set, NULL, "SET before connected"),
			 REDIS_OK);
	ck_assert_int_eq(redisAsyncCommand(r.ac, ev_on_pong, NULL, "PING"), REDIS_OK);
	ev_finish(&r);
	ck_assert_int_eq(r.connected, REDIS_OK + 1);
	ck_assert_int_eq(r.ok, EV_SETS + 1);
	ck_assert_int_eq(r.lost, 0);
	ck_assert_int_eq(r.dbsize, EV_SETS + 1);
	ck_assert_int_eq(r.disconnected, REDIS_OK + 1);
	redis_server_stop(&rs);
}
END_TEST

/* A command a turn after the last was answered goes out too: the write of a later turn. */
static void ev_on_second(redisAsyncContext *ac, void *reply, void *privdata)
{
	ev_on_set(ac, reply, privdata);
	redisAsyncDisconnect(ac);
}

static void ev_on_first(redisAsyncContext *ac, void *reply, void *privdata)
{
	ev_on_set(ac, reply, privdata);
	redisAsyncCommand(ac, ev_on_second, NULL, "SET second 2");
}

START_TEST(a_command_of_a_later_turn_is_written)
{
	struct redis_server rs;
	struct ev_run r;
	ev_serve(&r, &rs, ev_on_first, NULL, "SET first 1");
	ck_assert_int_eq(r.ok, 2);
	redisContext *c = redis_server_connect(&rs);
	redisReply *rep = redisCommand(c, "MGET first second");
	ck_assert_ptr_nonnull(rep);
	ck_assert_int_eq((int)rep->elements, 2);
	ck_assert_str_eq(rep->element[0]->str, "1");
	ck_assert_str_eq(rep->element[1]->str, "2");
	freeReplyObject(rep);
	redisFree(c);
	redis_server_stop(&rs);
}
END_TEST

/* A command issued from a check callback (redis.c sends its WAIT from one) goes out without
 * waiting for some other event to wake the loop: here there is none, and the run would hang. */
static uv_check_t ev_check;

static void ev_check_cb(uv_check_t *h)
{
	redisAsyncContext *ac = h->data;
	uv_check_stop(h);
	uv_close((uv_handle_t *)h, NULL);
	redisAsyncCommand(ac, ev_on_second, NULL, "SET from-check 3");
}

static void ev_on_pong_check(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct ev_run *r = ac->data;
	(void)privdata;
	ck_assert_ptr_nonnull(reply);
	uv_check_init(&r->loop, &ev_check);
	ev_check.data = ac;
	uv_check_start(&ev_check, ev_check_cb);
}

START_TEST(a_command_from_a_check_callback_is_written)
{
	struct redis_server rs;
	struct ev_run r;
	ev_serve(&r, &rs, ev_on_pong_check, NULL, "PING");
	ck_assert_int_eq(r.ok, 1);
	ck_assert_int_eq(r.disconnected, REDIS_OK + 1);
	redis_server_stop(&rs);
}
END_TEST

/* The server is killed while a connection is open: the next command's callback gets no reply,
 * the disconnect is said with an error, and the handles close. */
static void ev_on_ping(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct redis_server *rs = privdata;
	struct ev_run *r = ac->data;
	if (reply)
		r->ok++;
	redis_server_kill(rs);
	redisAsyncCommand(ac, ev_on_set, NULL, "SET after kill");
}

START_TEST(a_server_killed_under_a_connection_is_said_and_the_handles_close)
{
	struct redis_server rs;
	struct ev_run r;
	ev_serve(&r, &rs, ev_on_ping, &rs, "PING");
	ck_assert_int_eq(r.ok, 1);
	ck_assert_int_eq(r.lost, 1);
	ck_assert_int_eq(r.disconnected, REDIS_ERR + 1);
	redis_server_stop(&rs);
}
END_TEST

static Suite *redis_ev_suite(void)
{
	Suite *s = suite_create("redis_ev");
	TCase *tc = tcase_create("loop");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, commands_of_one_turn_past_a_full_socket_are_all_answered);
	tcase_add_test(tc, a_command_of_a_later_turn_is_written);
	tcase_add_test(tc, a_command_from_a_check_callback_is_written);
	tcase_add_test(tc, a_server_killed_under_a_connection_is_said_and_the_handles_close);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(redis_ev_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
