/* Per-partition in-flight window: which offsets are done, and how far it is safe to commit. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Messages of one partition are tracked in the order they were polled; each is
 * finished independently (in any order) and the commit position is the lowest
 * unfinished offset. Offsets need not be contiguous (compaction, transaction
 * markers), only increasing. */
struct offsets_window;

/* Returns a new empty window, or NULL on allocation failure. */
struct offsets_window *offsets_window_new(void);
void offsets_window_free(struct offsets_window *w);

/* Starts tracking OFFSET, which must be greater than every offset tracked
 * before. Sets *seq to the handle to pass to offsets_window_done. Returns 0,
 * -EINVAL for a non-increasing offset, or -ENOMEM. */
int offsets_window_track(struct offsets_window *w, int64_t offset, uint64_t *seq);

/* Marks the message SEQ finished. Finishing an unknown or already finished
 * SEQ is a broken invariant and returns -EINVAL without changing anything. */
int offsets_window_done(struct offsets_window *w, uint64_t seq);

/* The offset to commit: the lowest unfinished offset, or one past the last
 * finished offset when nothing is in flight; -1 when nothing was ever
 * finished (so there is nothing to commit). */
int64_t offsets_window_commit_offset(const struct offsets_window *w);

/* True when the commit offset moved since the last offsets_window_committed. */
bool offsets_window_dirty(const struct offsets_window *w);

/* Records that OFFSET was handed to a commit. */
void offsets_window_committed(struct offsets_window *w, int64_t offset);

/* Number of tracked messages not yet finished. */
size_t offsets_window_inflight(const struct offsets_window *w);
