/* A string -> uint32 hash map (open addressing), for rule lists and term deduplication. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Written here rather than taken from a library: glib would be a dependency
 * for one small table, and hsearch(3) has one global table per process. */
struct strmap {
	char **keys; /* owned copies; NULL marks an empty slot */
	size_t *lens;
	uint32_t *vals;
	size_t mask; /* capacity - 1, a power of two; 0 before the first put */
	size_t n;
};

/* Inserts KEY (copied) with VAL unless present. Returns 1 when inserted, 0
 * when KEY was already there (its value unchanged, *existing set when not
 * NULL), -ENOMEM. */
int strmap_put(struct strmap *m, const char *key, size_t len, uint32_t val, uint32_t *existing);

/* Looks KEY up; returns true and *val when present. */
bool strmap_get(const struct strmap *m, const char *key, size_t len, uint32_t *val);

/* Heap bytes held. */
size_t strmap_memory(const struct strmap *m);

void strmap_free(struct strmap *m);
