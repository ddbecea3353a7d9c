/* The daemon's side of the review queues: idempotent enqueue that survives Redis outages, and the
 * SLA sweeper. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "arbiter/v1/escalation.pb-c.h"
#include "config.h"
#include "queues.h"
#include "redis.h"

struct review;

/* Redis became usable (UP) or stopped being usable: the pipeline pauses its
 * input while it is not. */
typedef void (*review_state_cb)(void *opaque, bool up);

/* An enqueue finished: STATUS 0 when the entry is in its queue (added now,
 * or found by its dedupe key), -ECANCELED when the daemon is closing before
 * Redis acknowledged it (the input stays uncommitted). */
typedef void (*review_done_cb)(void *arg, int status);

/* Creates the review client for CFG's redis and review sections and starts
 * connecting. Returns 0 or -ENOMEM. */
int review_new(uv_loop_t *loop, const struct config *cfg, review_state_cb state, void *opaque,
	       struct review **out);

/* Enqueues escalation ES (routed: es->queue is Q's name; PACKED is its
 * protobuf, copied) for a reviewer, with EXCLUDE (or NULL) as the reviewer
 * who must not claim it. Never drops it: while Redis is down or the queue
 * is full the entry waits and is sent again; a redelivered escalation finds
 * its dedupe key and adds nothing. DONE is called once. Returns 0 or
 * -ENOMEM (DONE is not called). */
int review_enqueue(struct review *rv, const struct config_queue *q,
		   const Arbiter__V1__Escalation *es, const uint8_t *packed, size_t packed_len,
		   const char *exclude, review_done_cb done, void *arg);

/* The same for an appeal of decision under appeal APPEAL_ID. */
int review_enqueue_appeal(struct review *rv, const struct config_queue *q,
			  const Arbiter__V1__Escalation *es, const uint8_t *packed,
			  size_t packed_len, const char *exclude, const char *appeal_id,
			  review_done_cb done, void *arg);

/* The answer to a review_call: a reply (an error starting "ARBITER " is the
 * script refusing, see queues.h), or NULL when the daemon closes first. */
typedef void (*review_reply_cb)(void *arg, const redisReply *reply);

/* Runs script command CMD (taken: freed by RV) until Redis answers it,
 * through outages like an enqueue, then calls CB once. The scripts it is
 * for are idempotent, so a command that may have run is sent again. */
void review_call(struct review *rv, struct queues_cmd *cmd, review_reply_cb cb, void *arg);

bool review_is_up(const struct review *rv);

/* Entries waiting for Redis or for a reply. */
size_t review_pending(const struct review *rv);

/* Takes a reloaded config: new queues get their groups, the sweeper its
 * interval; connection settings apply at the next reconnect. */
void review_set_config(struct review *rv, const struct config *cfg);

/* Cancels what is pending (DONE with -ECANCELED), closes the connection and
 * frees RV once the loop has closed its handles. */
void review_free(struct review *rv);
