/* One Redis connection on the daemon's libuv loop: connect (to redis.address, or to the master
 * Sentinel names), AUTH, SELECT, timeouts, reconnection, and WAIT for replicas. */
#include "redis.h"

#include <errno.h>
#include <hiredis/async.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "redis_ev.h"
#include "sentinel.h"

#define REDIS_BACKOFF_MIN_MS 100
#define REDIS_BACKOFF_MAX_MS 5000

/* What a request is for, and so what its reply does. */
enum redis_req_kind {
	REDIS_REQ_CALLER,    /* redis_command's: CB gets the reply */
	REDIS_REQ_HANDSHAKE, /* AUTH, SELECT: an error drops the connection */
	REDIS_REQ_ROLE,      /* with Sentinel, in the handshake: the server must be the master */
	REDIS_REQ_REPLICAS,  /* with redis.wait_replicas, in the handshake: WAIT, replicas up */
	REDIS_REQ_SENTINEL,  /* AUTH to a sentinel, then SENTINEL get-master-addr-by-name */
	REDIS_REQ_HELD,      /* a caller's command under redis.wait_replicas: a WAIT confirms it */
	REDIS_REQ_WAIT,      /* WAIT for the HELD commands of its batch (SEQ) and before */
};

/* A command sent on the current connection and not answered yet. Replies
 * come in order, so the head is always the oldest: the one a timeout is
 * measured on. */
struct redis_req {
	struct redis_req *prev, *next;
	struct redis *r;
	enum redis_req_kind kind;
	redis_reply_cb cb; /* CALLER and HELD: the caller's */
	void *arg;
	uint64_t seq; /* HELD and WAIT: the batch, the WAIT that confirms HELD ones */
	uint64_t sent_ms;
};

/* A HELD command's successful reply (a copy), waiting for the WAIT of its batch. */
struct redis_held {
	struct redis_held *next;
	redis_reply_cb cb;
	void *arg;
	uint64_t seq;
	redisReply *reply;
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

	/* Sentinel: ac is a sentinel's connection while ASKING. A round asks each sentinel
	 * once, starting with the one that answered last. */
	bool asking;
	size_t sentinel_cur, sentinel_next, sentinel_asked, sentinel_good;
	char round_why[320];                 /* why the last sentinel of a round failed */
	char master[SENTINEL_ADDR_MAX];      /* the master a sentinel named; "" without Sentinel */
	char where[SENTINEL_ADDR_MAX + 160]; /* redis_where's */
	redisAsyncContext *sub;              /* subscribed to a sentinel's +switch-master */

	/* redis.wait_replicas: commands are held in batches, one WAIT each, one WAIT out at
	 * a time; the batch's WAIT goes once the loop has sent what it had (a check handle). */
	uv_check_t batch_end;
	uint64_t batch; /* the batch commands sent now belong to */
	size_t batch_n; /* commands in it */
	bool waiting;   /* a WAIT is out */
	struct redis_held *held_head, *held_tail;
};

static void redis_connect(struct redis *r);
static void redis_open(struct redis *r, const char *address);
static void redis_ask_next(struct redis *r, const char *why);
static void redis_ask_sentinel(struct redis *r);
static void redis_subscribe(struct redis *r);
static void redis_release(struct redis *r, uint64_t seq, bool ok);
static int redis_send(struct redis *r, enum redis_req_kind kind, int argc, const char **argv,
		      const size_t *lens, redis_reply_cb cb, void *arg, struct redis_req **out);

/* Where the connection goes, for messages: redis.address, or the master and where a sentinel
 * said it is. */
static const char *redis_where(struct redis *r)
{
	const struct config *cfg = r->cfg;
	if (!cfg->redis.n_sentinels)
		return cfg->redis.address;
	snprintf(r->where, sizeof(r->where), "master %s%s%s", cfg->redis.master_name,
		 r->master[0] ? " at " : "", r->master);
	return r->where;
}

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
	if (r->asking && !r->closing) {
		/* A sentinel failed us: the next one is asked. */
		r->ac = NULL;
		r->asking = false;
		uv_timer_stop(&r->watchdog);
		redis_set_state(r, REDIS_IDLE);
		redis_ask_next(r, why);
		return;
	}
	r->asking = false;
	r->ac = NULL;
	redis_set_state(r, REDIS_IDLE);
	uv_timer_stop(&r->watchdog);
	/* No WAIT will confirm what the connection held. */
	r->waiting = false;
	r->batch_n = 0;
	redis_release(r, UINT64_MAX, false);
	if (r->closing)
		return;
	if (!r->logged_down) {
		log_error(redis, "%s: %s; retrying with backoff up to %d ms", redis_where(r), why,
			  REDIS_BACKOFF_MAX_MS);
		r->logged_down = true;
	} else {
		log_debug(redis, "%s: %s", redis_where(r), why);
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

/* A deep copy of REP (malloc'd: redis_reply_free), or NULL. */
static redisReply *redis_reply_copy(const redisReply *rep);

static void redis_reply_free(redisReply *c)
{
	if (!c)
		return;
	for (size_t i = 0; c->element && i < c->elements; i++)
		redis_reply_free(c->element[i]);
	free(c->element);
	free(c->str);
	free(c);
}

static redisReply *redis_reply_copy(const redisReply *rep)
{
	redisReply *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->type = rep->type;
	c->integer = rep->integer;
	if (rep->str) {
		c->str = malloc(rep->len + 1);
		if (!c->str)
			goto fail;
		memcpy(c->str, rep->str, rep->len);
		c->str[rep->len] = '\0';
		c->len = rep->len;
	}
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements) {
		c->element = calloc(rep->elements, sizeof(*c->element));
		if (!c->element)
			goto fail;
		c->elements = rep->elements;
		/* hiredis's reader nests arrays a few levels deep at most. */
		for (size_t i = 0; i < rep->elements; i++)
			if (!(c->element[i] = redis_reply_copy(rep->element[i])))
				goto fail;
	}
	return c;
fail:
	redis_reply_free(c);
	return NULL;
}

/* The server says it is no master: a failover demoted it, or Sentinel has not promoted
 * another yet. */
static bool redis_demoted(const redisReply *rep)
{
	return rep && rep->type == REDIS_REPLY_ERROR &&
	       (!strncmp(rep->str, "READONLY", 8) || !strncmp(rep->str, "MASTERDOWN", 10));
}

/* Hands REP to CB. A demoted master's refusal goes as NULL, once the connection was dropped:
 * the command did not run, and is sent again to the master found next. */
static void redis_deliver(struct redis *r, redisAsyncContext *ac, redis_reply_cb cb, void *arg,
			  const redisReply *rep)
{
	if (redis_demoted(rep)) {
		if (r->ac == ac) {
			char why[160];
			snprintf(why, sizeof(why), "no longer the master (%.100s)", rep->str);
			redis_drop(r, why);
		}
		rep = NULL;
	}
	cb(arg, rep);
}

/* AUTH, SELECT or ROLE answered on the connection being set up. */
static void redis_reply_handshake(struct redis *r, enum redis_req_kind kind, const redisReply *rep)
{
	char why[256];
	if (!rep || rep->type == REDIS_REPLY_ERROR) {
		snprintf(why, sizeof(why), "handshake failed: %s",
			 rep ? rep->str : "connection lost");
		redis_drop(r, why);
		return;
	}
	char role[40];
	int m = kind == REDIS_REQ_ROLE ? sentinel_role_reply(rep, role, sizeof(role)) : 1;
	if (m != 1) {
		snprintf(why, sizeof(why), "not the master but %s; asking the sentinels again",
			 m < 0 ? "something that does not answer ROLE" : role);
		redis_drop(r, why);
		return;
	}
	/* A master without its replicas would lose what it acknowledges in a failover:
	 * not usable (the input waits) until enough are back. */
	long long want = r->cfg->redis.wait_replicas;
	if (kind == REDIS_REQ_REPLICAS &&
	    (rep->type != REDIS_REPLY_INTEGER || rep->integer < want)) {
		snprintf(why, sizeof(why),
			 "only %lld of the %lld replica(s) of redis.wait_replicas are connected",
			 rep->type == REDIS_REPLY_INTEGER ? rep->integer : 0LL, want);
		redis_drop(r, why);
		return;
	}
	if (--r->handshake_left > 0)
		return;
	if (r->logged_down)
		log_info(redis, "%s: connected again", redis_where(r));
	else
		log_info(redis, "%s: connected", redis_where(r));
	r->logged_down = false;
	r->backoff_ms = REDIS_BACKOFF_MIN_MS;
	redis_set_state(r, REDIS_UP);
	if (r->cfg->redis.n_sentinels && r->state == REDIS_UP)
		redis_subscribe(r);
}

/* A sentinel answered: AUTH's OK, or where the master is. */
static void redis_reply_sentinel(struct redis *r, redisAsyncContext *ac, const redisReply *rep)
{
	char why[256], addr[SENTINEL_ADDR_MAX];
	if (rep && rep->type == REDIS_REPLY_STATUS)
		return; /* AUTH: the address comes next */
	if (!rep || r->sentinel_cur >= r->cfg->redis.n_sentinels) {
		/* Lost, or a reload took this sentinel away. */
		redis_drop(r, rep ? "no longer a configured sentinel" : "connection lost");
		return;
	}
	if (sentinel_master_reply(rep, addr, why, sizeof(why)) < 0) {
		redis_drop(r, why);
		return;
	}
	log_debug(redis, "sentinel %s: master %s is at %s",
		  r->cfg->redis.sentinels[r->sentinel_cur], r->cfg->redis.master_name, addr);
	snprintf(r->master, sizeof(r->master), "%s", addr);
	r->sentinel_good = r->sentinel_cur;
	/* Done with the sentinel; its callbacks find ac changed and do nothing. */
	r->ac = NULL;
	r->asking = false;
	uv_timer_stop(&r->watchdog);
	redis_set_state(r, REDIS_IDLE);
	redisAsyncFree(ac);
	redis_open(r, r->master);
}

/* Hands every held reply of batches up to SEQ to its caller: the reply when OK, else NULL
 * (the command may or may not be on a replica: not done). */
static void redis_release(struct redis *r, uint64_t seq, bool ok)
{
	while (r->held_head && r->held_head->seq <= seq) {
		struct redis_held *h = r->held_head;
		r->held_head = h->next;
		if (!r->held_head)
			r->held_tail = NULL;
		h->cb(h->arg, ok ? h->reply : NULL);
		redis_reply_free(h->reply);
		free(h);
	}
}

/* A HELD command answered: a success waits for its batch's WAIT, a failure goes at once. */
static void redis_reply_held(struct redis *r, redisAsyncContext *ac, struct redis_req *q,
			     const redisReply *rep)
{
	struct redis_held *h = NULL;
	if (rep && rep->type != REDIS_REPLY_ERROR && r->ac == ac) {
		h = calloc(1, sizeof(*h));
		if (h && !(h->reply = redis_reply_copy(rep))) {
			free(h);
			h = NULL;
		}
	}
	if (!h) {
		/* An error, a lost connection, or no memory to hold a success (not done). */
		redis_deliver(r, ac, q->cb, q->arg,
			      rep && rep->type == REDIS_REPLY_ERROR ? rep : NULL);
		return;
	}
	h->cb = q->cb;
	h->arg = q->arg;
	h->seq = q->seq;
	if (r->held_tail)
		r->held_tail->next = h;
	else
		r->held_head = h;
	r->held_tail = h;
}

static void redis_wait_send(struct redis *r);

/* WAIT answered: its batch and those before count once enough replicas have them. */
static void redis_reply_wait(struct redis *r, redisAsyncContext *ac, struct redis_req *q,
			     const redisReply *rep)
{
	if (r->ac != ac)
		return; /* an old connection's: redis_lost released its batches */
	r->waiting = false;
	long long want = r->cfg->redis.wait_replicas;
	if (rep && rep->type == REDIS_REPLY_INTEGER && rep->integer >= want) {
		redis_release(r, q->seq, true);
		redis_wait_send(r);
		return;
	}
	/* Too few replicas: the writes could be lost in a failover. The connection goes
	 * (input pauses) and they are sent again once it is back. */
	char why[200];
	if (rep && rep->type == REDIS_REPLY_INTEGER)
		snprintf(why, sizeof(why),
			 "only %lld of the %lld replica(s) of redis.wait_replicas acknowledged a "
			 "write in time",
			 rep->integer, want);
	else
		snprintf(why, sizeof(why), "WAIT failed: %.100s",
			 !rep                           ? "connection lost" :
			 rep->type == REDIS_REPLY_ERROR ? rep->str :
							  "unexpected reply");
	redis_drop(r, why);
}

/* WAIT's arguments for redis.wait_replicas into ARGV and LENS (N and T hold the numbers): it
 * answers within half the command timeout, before the watchdog would give up on it. */
static void redis_wait_args(const struct redis *r, char n[16], char t[16], const char *argv[3],
			    size_t lens[3])
{
	uint32_t ms = r->cfg->redis.command_timeout_ms / 2;
	snprintf(n, 16, "%d", r->cfg->redis.wait_replicas);
	snprintf(t, 16, "%u", ms ? ms : 1);
	argv[0] = "WAIT";
	argv[1] = n;
	argv[2] = t;
	lens[0] = 4;
	lens[1] = strlen(n);
	lens[2] = strlen(t);
}

/* Sends the WAIT of the current batch, unless it is empty or a WAIT is out (whose answer
 * sends this one). */
static void redis_wait_send(struct redis *r)
{
	if (r->waiting || !r->batch_n || r->state != REDIS_UP)
		return;
	char n[16], t[16];
	const char *wv[3];
	size_t wl[3];
	redis_wait_args(r, n, t, wv, wl);
	struct redis_req *q = NULL;
	if (redis_send(r, REDIS_REQ_WAIT, 3, wv, wl, NULL, NULL, &q) < 0) {
		redis_drop(r, "cannot send WAIT");
		return;
	}
	q->seq = r->batch++;
	r->batch_n = 0;
	r->waiting = true;
}

static void redis_batch_end_cb(uv_check_t *c)
{
	struct redis *r = c->data;
	uv_check_stop(c);
	redis_wait_send(r);
}

static void redis_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct redis_req *q = privdata;
	struct redis *r = q->r;
	redis_req_unlink(r, q);
	const redisReply *rep = reply;
	switch (q->kind) {
	case REDIS_REQ_CALLER:
		redis_deliver(r, ac, q->cb, q->arg, rep);
		break;
	case REDIS_REQ_HELD:
		redis_reply_held(r, ac, q, rep);
		break;
	case REDIS_REQ_WAIT:
		redis_reply_wait(r, ac, q, rep);
		break;
	case REDIS_REQ_SENTINEL:
		if (r->ac == ac && r->asking)
			redis_reply_sentinel(r, ac, rep);
		break;
	case REDIS_REQ_HANDSHAKE:
	case REDIS_REQ_ROLE:
	case REDIS_REQ_REPLICAS:
		if (r->state == REDIS_HANDSHAKE && r->ac == ac && !r->asking)
			redis_reply_handshake(r, q->kind, rep);
		break;
	}
	free(q);
}

/* Writes N in decimal at P; returns the end. */
static char *redis_put_len(char *p, size_t n)
{
	char d[24];
	size_t k = 0;
	do
		d[k++] = (char)('0' + n % 10);
	while (n /= 10);
	while (k)
		*p++ = d[--k];
	return p;
}

/* ARGC arguments as one RESP array ("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"), at OUT when it holds
 * CAP bytes, else in a malloc'd buffer; returns it (NULL when out of memory), its length at *LEN.
 * hiredis's own formatter builds the same bytes with a format call per argument: a review queue
 * entry has some fifty, and that was 4% of the event loop's instructions (with 2% of events
 * escalated) where this is under 1%. */
static char *redis_format(int argc, const char **argv, const size_t *lens, char *out, size_t cap,
			  size_t *len)
{
	size_t n = 1 + 20 + 2;
	for (int i = 0; i < argc; i++)
		n += 1 + 20 + 2 + lens[i] + 2;
	char *buf = n <= cap ? out : malloc(n), *p = buf;
	if (!buf)
		return NULL;
	*p++ = '*';
	p = redis_put_len(p, (size_t)argc);
	*p++ = '\r';
	*p++ = '\n';
	for (int i = 0; i < argc; i++) {
		*p++ = '$';
		p = redis_put_len(p, lens[i]);
		*p++ = '\r';
		*p++ = '\n';
		memcpy(p, argv[i], lens[i]);
		p += lens[i];
		*p++ = '\r';
		*p++ = '\n';
	}
	*len = (size_t)(p - buf);
	return buf;
}

static int redis_send(struct redis *r, enum redis_req_kind kind, int argc, const char **argv,
		      const size_t *lens, redis_reply_cb cb, void *arg, struct redis_req **out)
{
	struct redis_req *q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->r = r;
	q->kind = kind;
	q->cb = cb;
	q->arg = arg;
	q->sent_ms = uv_now(r->loop);
	char local[4096];
	size_t len;
	char *cmd = redis_format(argc, argv, lens, local, sizeof(local), &len);
	if (!cmd) {
		free(q);
		return -ENOMEM;
	}
	int rc = r->ac ? redisAsyncFormattedCommand(r->ac, redis_reply, q, cmd, len) : REDIS_ERR;
	if (cmd != local)
		free(cmd);
	if (rc != REDIS_OK) {
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
	if (out)
		*out = q;
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

/* The handshake's checks after AUTH and SELECT: with Sentinel, ROLE (the sentinel's answer
 * may be stale by now: a failover moves the master); with redis.wait_replicas, a WAIT, which
 * counts the replicas connected as nothing was written yet. Returns 0 or a negative errno. */
static int redis_handshake_checks(struct redis *r)
{
	const struct config *cfg = r->cfg;
	const char *role[1] = {"ROLE"}, *wv[3];
	size_t role_len[1] = {4}, wl[3];
	char n[16], t[16];
	int rc = 0;
	if (cfg->redis.n_sentinels) {
		r->handshake_left++;
		rc = redis_send(r, REDIS_REQ_ROLE, 1, role, role_len, NULL, NULL, NULL);
	}
	if (!rc && cfg->redis.wait_replicas) {
		redis_wait_args(r, n, t, wv, wl);
		r->handshake_left++;
		rc = redis_send(r, REDIS_REQ_REPLICAS, 3, wv, wl, NULL, NULL, NULL);
	}
	return rc;
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
	if (r->asking) {
		redis_ask_sentinel(r);
		return;
	}
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
		if (redis_send(r, REDIS_REQ_HANDSHAKE, n, argv, lens, NULL, NULL, NULL) < 0)
			r->handshake_left--;
	}
	char db[16];
	snprintf(db, sizeof(db), "%d", cfg->redis.db);
	const char *sel[2] = {"SELECT", db};
	size_t sel_lens[2] = {6, strlen(db)};
	/* SELECT even for db 0: the handshake always has a reply to wait for. */
	r->handshake_left++;
	if (redis_send(r, REDIS_REQ_HANDSHAKE, 2, sel, sel_lens, NULL, NULL, NULL) < 0) {
		redis_drop(r, "out of memory");
		return;
	}
	if (redis_handshake_checks(r) < 0) {
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

/* Asks the sentinel just connected to where the master is (redis_reply_sentinel reads it). */
static void redis_ask_sentinel(struct redis *r)
{
	const struct config *cfg = r->cfg;
	int rc = 0;
	if (!cfg->redis.n_sentinels || !cfg->redis.master_name) {
		redis_drop(r, "Sentinel is no longer configured"); /* a reload took it away */
		return;
	}
	if (cfg->redis.sentinel_password) {
		const char *argv[2] = {"AUTH", cfg->redis.sentinel_password};
		size_t lens[2] = {4, strlen(argv[1])};
		rc = redis_send(r, REDIS_REQ_SENTINEL, 2, argv, lens, NULL, NULL, NULL);
	}
	const char *argv[3] = {"SENTINEL", "get-master-addr-by-name", cfg->redis.master_name};
	size_t lens[3] = {8, 23, strlen(cfg->redis.master_name)};
	if (!rc)
		rc = redis_send(r, REDIS_REQ_SENTINEL, 3, argv, lens, NULL, NULL, NULL);
	if (rc) {
		redis_drop(r, "out of memory");
		return;
	}
	uv_timer_start(&r->watchdog, redis_watchdog_cb, 100, 100);
}

/* Asks the next sentinel of this round; when every one was asked (WHY says how the last one
 * failed), the round failed: backoff, then a new round. */
static void redis_ask_next(struct redis *r, const char *why)
{
	const struct config *cfg = r->cfg;
	size_t n = cfg->redis.n_sentinels;
	if (why && r->sentinel_cur < n) {
		snprintf(r->round_why, sizeof(r->round_why), "sentinel %s: %s",
			 cfg->redis.sentinels[r->sentinel_cur], why);
		log_debug(redis, "%s", r->round_why);
	}
	if (r->sentinel_asked >= n) {
		char msg[400];
		snprintf(msg, sizeof(msg), "no sentinel says where it is (%s)", r->round_why);
		r->master[0] = '\0';
		redis_lost(r, msg);
		return;
	}
	r->sentinel_cur = r->sentinel_next < n ? r->sentinel_next : 0; /* a reload may shorten */
	r->sentinel_next = (r->sentinel_cur + 1) % n;
	r->sentinel_asked++;
	r->asking = true;
	redis_open(r, cfg->redis.sentinels[r->sentinel_cur]);
}

static void redis_connect(struct redis *r)
{
	size_t n = r->cfg->redis.n_sentinels;
	if (n) {
		/* The sentinel that answered last is asked first. */
		r->sentinel_asked = 0;
		r->sentinel_next = r->sentinel_good < n ? r->sentinel_good : 0;
		r->round_why[0] = '\0';
		redis_ask_next(r, NULL);
		return;
	}
	r->master[0] = '\0';
	redis_open(r, r->cfg->redis.address);
}

/* Connects to ADDRESS ("host:port" or a unix socket path): the server, or a sentinel while
 * r->asking. */
static void redis_open(struct redis *r, const char *a)
{
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
	if (redis_ev_attach(ac, r->loop) < 0) {
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
	uv_check_init(loop, &r->batch_end);
	r->timer.data = r->watchdog.data = r->batch_end.data = r;
	r->open_handles = 3;
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
	if (!r->cfg->redis.wait_replicas)
		return redis_send(r, REDIS_REQ_CALLER, argc, argv, lens, cb, arg, NULL);
	struct redis_req *q = NULL;
	int rc = redis_send(r, REDIS_REQ_HELD, argc, argv, lens, cb, arg, &q);
	if (rc < 0)
		return rc;
	q->seq = r->batch;
	if (r->batch_n++ == 0)
		uv_check_start(&r->batch_end, redis_batch_end_cb);
	return 0;
}

/* A message on the subscription to a sentinel's +switch-master: when it moves our master
 * elsewhere, the connection goes at once rather than when the old master stops answering. */
static void redis_on_switch(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct redis *r = privdata;
	if (r->sub != ac)
		return;
	const redisReply *rep = reply;
	if (!rep) {
		r->sub = NULL; /* gone: subscribed again on the next connection */
		return;
	}
	char addr[SENTINEL_ADDR_MAX], why[SENTINEL_ADDR_MAX + 64];
	if (r->closing || !r->cfg->redis.master_name ||
	    sentinel_switch_reply(rep, r->cfg->redis.master_name, addr) != 1)
		return;
	log_info(redis, "sentinels moved master %s to %s", r->cfg->redis.master_name, addr);
	if (r->ac && !r->asking && strcmp(addr, r->master)) {
		snprintf(why, sizeof(why), "failover to %s", addr);
		r->backoff_ms = REDIS_BACKOFF_MIN_MS;
		redis_drop(r, why);
	}
}

static void redis_sub_on_connect(const redisAsyncContext *ac, int status)
{
	struct redis *r = ac->data;
	if (r->sub == ac && status != REDIS_OK)
		r->sub = NULL; /* hiredis frees it */
}

static void redis_sub_on_disconnect(const redisAsyncContext *ac, int status)
{
	struct redis *r = ac->data;
	if (r->sub == ac)
		r->sub = NULL;
}

/* Subscribes to +switch-master on the sentinel that named the master, unless subscribed. */
static void redis_subscribe(struct redis *r)
{
	const struct config *cfg = r->cfg;
	if (r->sub || r->sentinel_good >= cfg->redis.n_sentinels)
		return;
	char host[CONFIG_HOST_MAX];
	int port;
	config_redis_host_port(cfg->redis.sentinels[r->sentinel_good], host, &port);
	redisAsyncContext *ac = redisAsyncConnect(host, port);
	if (!ac || ac->err || redis_ev_attach(ac, r->loop) < 0) {
		if (ac)
			redisAsyncFree(ac);
		log_debug(redis, "sentinel %s: cannot subscribe to +switch-master",
			  cfg->redis.sentinels[r->sentinel_good]);
		return;
	}
	ac->data = r;
	redisAsyncSetConnectCallback(ac, redis_sub_on_connect);
	redisAsyncSetDisconnectCallback(ac, redis_sub_on_disconnect);
	r->sub = ac;
	if (cfg->redis.sentinel_password)
		redisAsyncCommand(ac, NULL, NULL, "AUTH %s", cfg->redis.sentinel_password);
	redisAsyncCommand(ac, redis_on_switch, r, "SUBSCRIBE +switch-master");
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
	redisAsyncContext *sub = r->sub;
	r->sub = NULL;
	if (sub)
		redisAsyncFree(sub);
	/* Held replies whose WAIT never went: not done. */
	redis_release(r, UINT64_MAX, false);
	uv_close((uv_handle_t *)&r->timer, redis_handle_closed);
	uv_close((uv_handle_t *)&r->watchdog, redis_handle_closed);
	uv_close((uv_handle_t *)&r->batch_end, redis_handle_closed);
}
