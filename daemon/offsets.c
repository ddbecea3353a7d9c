/* Per-partition in-flight window over a growable ring of (offset, done) slots. */
#include "offsets.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct offsets_slot {
	int64_t offset;
	bool done;
};

struct offsets_window {
	struct offsets_slot *ring; /* capacity is a power of two */
	size_t mask;
	uint64_t head;         /* seq of the oldest unfinished (or any) tracked slot */
	uint64_t tail;         /* seq the next tracked message gets */
	int64_t last_tracked;  /* -1 before the first */
	int64_t last_finished; /* offset of the newest slot popped off the head, -1 if none */
	int64_t committed;     /* last offset handed to a commit, -1 if none */
};

#define OFFSETS_INITIAL_CAP 64

struct offsets_window *offsets_window_new(void)
{
	struct offsets_window *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->ring = calloc(OFFSETS_INITIAL_CAP, sizeof(*w->ring));
	if (!w->ring) {
		free(w);
		return NULL;
	}
	w->mask = OFFSETS_INITIAL_CAP - 1;
	w->last_tracked = -1;
	w->last_finished = -1;
	w->committed = -1;
	return w;
}

void offsets_window_free(struct offsets_window *w)
{
	if (!w)
		return;
	free(w->ring);
	free(w);
}

/* Doubles the ring, keeping each seq at index seq & mask. */
static int offsets_window_grow(struct offsets_window *w)
{
	size_t cap = (w->mask + 1) * 2;
	struct offsets_slot *ring = calloc(cap, sizeof(*ring));
	if (!ring)
		return -ENOMEM;
	for (uint64_t s = w->head; s < w->tail; s++)
		ring[s & (cap - 1)] = w->ring[s & w->mask];
	free(w->ring);
	w->ring = ring;
	w->mask = cap - 1;
	return 0;
}

int offsets_window_track(struct offsets_window *w, int64_t offset, uint64_t *seq)
{
	if (offset < 0 || offset <= w->last_tracked)
		return -EINVAL;
	if (w->tail - w->head > w->mask) {
		int rc = offsets_window_grow(w);
		if (rc < 0)
			return rc;
	}
	struct offsets_slot *s = &w->ring[w->tail & w->mask];
	s->offset = offset;
	s->done = false;
	w->last_tracked = offset;
	*seq = w->tail++;
	return 0;
}

int offsets_window_done(struct offsets_window *w, uint64_t seq)
{
	if (seq < w->head || seq >= w->tail)
		return -EINVAL;
	struct offsets_slot *s = &w->ring[seq & w->mask];
	if (s->done)
		return -EINVAL;
	s->done = true;
	while (w->head < w->tail && w->ring[w->head & w->mask].done) {
		w->last_finished = w->ring[w->head & w->mask].offset;
		w->head++;
	}
	return 0;
}

int64_t offsets_window_commit_offset(const struct offsets_window *w)
{
	if (w->head < w->tail) {
		int64_t lowest = w->ring[w->head & w->mask].offset;
		/* Nothing finished yet, but a head past offset 0 still lets us
		 * commit up to it only if something before it finished. */
		return w->last_finished >= 0 ? lowest : -1;
	}
	return w->last_finished >= 0 ? w->last_finished + 1 : -1;
}

bool offsets_window_dirty(const struct offsets_window *w)
{
	int64_t off = offsets_window_commit_offset(w);
	return off >= 0 && off != w->committed;
}

void offsets_window_committed(struct offsets_window *w, int64_t offset)
{
	w->committed = offset;
}

size_t offsets_window_inflight(const struct offsets_window *w)
{
	return (size_t)(w->tail - w->head);
}
