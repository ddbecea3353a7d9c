/* The consumer's prefetch: messages librdkafka handed over and the pipeline has not taken yet,
 * in arrival order, bounded in count and bytes. */
#pragma once

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>

/* Why it exists: librdkafka 2.0 stops fetching a partition once its own queue holds
 * queued.max.messages.kbytes, and looks again only when its broker thread next wakes, up to
 * a second later. Moving every message out of its queue at once keeps that queue short, so
 * its fetcher never stops on it; this ring bounds the memory instead, by pausing the
 * partitions when full and resuming them at half (kafka.c). */
struct prefetch;

/* A ring for up to MAX_MESSAGES messages and MAX_BYTES of them (payload, key and a fixed
 * overhead each); messages it must drop go to DESTROY (rd_kafka_message_destroy; tests give
 * their own). Returns 0 or -ENOMEM (MAX_MESSAGES 0 is -EINVAL). */
int prefetch_new(size_t max_messages, size_t max_bytes, void (*destroy)(rd_kafka_message_t *),
		 struct prefetch **out);
/* Destroys every message still held, then the ring. NULL is ignored. */
void prefetch_free(struct prefetch *p);

/* Appends M (taken). Past the byte bound it still takes it: a message is never refused once
 * fetched. Returns 0, or -ENOSPC when the ring holds MAX_MESSAGES (M not taken). */
int prefetch_push(struct prefetch *p, rd_kafka_message_t *m);
/* The oldest message (the caller's now), or NULL when empty. */
rd_kafka_message_t *prefetch_pop(struct prefetch *p);
/* Destroys every message held: their partitions were revoked, librdkafka fetches them again
 * for whoever owns them next. */
void prefetch_purge(struct prefetch *p);

size_t prefetch_len(const struct prefetch *p);
size_t prefetch_bytes(const struct prefetch *p);
/* Messages that fit by count. */
size_t prefetch_room(const struct prefetch *p);
/* At either bound: time to pause fetching. */
bool prefetch_full(const struct prefetch *p);
/* At or under half of both bounds: time to resume. */
bool prefetch_low(const struct prefetch *p);

/* What one message counts for against the byte bound. */
size_t prefetch_cost(const rd_kafka_message_t *m);
