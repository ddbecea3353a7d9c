/* Decoding and validation of input messages (content events, moderation decisions). */
#pragma once

#include <stddef.h>

#include "arbiter/v1/content_event.pb-c.h"
#include "arbiter/v1/moderation_decision.pb-c.h"
#include "config.h"

/* Reasons are short, human-readable and name the field at fault; they end up
 * in DeadLetter.reason. */
#define EVENT_REASON_MAX 256

/* Decodes a content event from VALUE (protobuf or one JSON object, per FMT)
 * and validates it: event_id and content_id present, every enum value known,
 * signal scores finite. Returns 0 with *out set (free with
 * event_content_free), or with REASON filled and *out NULL: -EBADMSG when
 * VALUE is not a message of that type in that format (empty, undecodable
 * protobuf, JSON that does not map onto the message), -EINVAL when it is one
 * that fails validation, -ENOMEM. */
int event_content_decode(enum config_format fmt, const void *value, size_t len,
			 Arbiter__V1__ContentEvent **out, char reason[EVENT_REASON_MAX]);
void event_content_free(Arbiter__V1__ContentEvent *ev);

/* Same for a moderation decision: decision_id, content_id and kind required,
 * every enum value known; APPEAL_* kinds need appeal_id, APPEAL_RESOLVED
 * needs appeal_outcome. */
int event_decision_decode(enum config_format fmt, const void *value, size_t len,
			  Arbiter__V1__ModerationDecision **out, char reason[EVENT_REASON_MAX]);
void event_decision_free(Arbiter__V1__ModerationDecision *d);
