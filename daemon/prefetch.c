/* The consumer's prefetch: a bounded ring of fetched messages (see prefetch.h). */
#include "prefetch.h"

#include <errno.h>
#include <stdlib.h>

struct prefetch {
	rd_kafka_message_t **ring;
	size_t cap, head, len;
	size_t bytes, max_bytes;
	void (*destroy)(rd_kafka_message_t *);
};

/* librdkafka's own bookkeeping per message, roughly: the message, its op and its share of
 * the fetch buffer's headers. */
#define PREFETCH_OVERHEAD 192

size_t prefetch_cost(const rd_kafka_message_t *m)
{
	return m->len + m->key_len + PREFETCH_OVERHEAD;
}

int prefetch_new(size_t max_messages, size_t max_bytes, void (*destroy)(rd_kafka_message_t *),
		 struct prefetch **out)
{
	*out = NULL;
	if (max_messages == 0)
		return -EINVAL;
	struct prefetch *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->ring = calloc(max_messages, sizeof(*p->ring));
	if (!p->ring) {
		free(p);
		return -ENOMEM;
	}
	p->cap = max_messages;
	p->max_bytes = max_bytes;
	p->destroy = destroy;
	*out = p;
	return 0;
}

void prefetch_purge(struct prefetch *p)
{
	rd_kafka_message_t *m;
	while ((m = prefetch_pop(p)))
		p->destroy(m);
}

void prefetch_free(struct prefetch *p)
{
	if (!p)
		return;
	prefetch_purge(p);
	free(p->ring);
	free(p);
}

int prefetch_push(struct prefetch *p, rd_kafka_message_t *m)
{
	if (p->len == p->cap)
		return -ENOSPC;
	p->ring[(p->head + p->len) % p->cap] = m;
	p->len++;
	p->bytes += prefetch_cost(m);
	return 0;
}

rd_kafka_message_t *prefetch_pop(struct prefetch *p)
{
	if (!p->len)
		return NULL;
	rd_kafka_message_t *m = p->ring[p->head];
	p->ring[p->head] = NULL;
	p->head = (p->head + 1) % p->cap;
	p->len--;
	p->bytes -= prefetch_cost(m);
	return m;
}

size_t prefetch_len(const struct prefetch *p)
{
	return p->len;
}

size_t prefetch_bytes(const struct prefetch *p)
{
	return p->bytes;
}

size_t prefetch_room(const struct prefetch *p)
{
	return p->cap - p->len;
}

bool prefetch_full(const struct prefetch *p)
{
	return p->len == p->cap || p->bytes >= p->max_bytes;
}

bool prefetch_low(const struct prefetch *p)
{
	return p->len <= p->cap / 2 && p->bytes <= p->max_bytes / 2;
}
