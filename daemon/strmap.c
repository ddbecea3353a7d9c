/* A string -> uint32 hash map with linear probing; keys are copied, never removed. */
#include "strmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint64_t strmap_hash(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h ^ (h >> 29);
}

static size_t strmap_find(const struct strmap *m, const char *key, size_t len)
{
	size_t i = (size_t)strmap_hash(key, len) & m->mask;
	while (m->keys[i] && (m->lens[i] != len || memcmp(m->keys[i], key, len)))
		i = (i + 1) & m->mask;
	return i;
}

static int strmap_grow(struct strmap *m)
{
	size_t cap = m->mask ? (m->mask + 1) * 2 : 16;
	struct strmap g = {.mask = cap - 1, .n = m->n};
	g.keys = calloc(cap, sizeof(*g.keys));
	g.lens = calloc(cap, sizeof(*g.lens));
	g.vals = calloc(cap, sizeof(*g.vals));
	if (!g.keys || !g.lens || !g.vals) {
		free(g.keys);
		free(g.lens);
		free(g.vals);
		return -ENOMEM;
	}
	for (size_t i = 0; m->mask && i <= m->mask; i++) {
		if (!m->keys[i])
			continue;
		size_t j = strmap_find(&g, m->keys[i], m->lens[i]);
		g.keys[j] = m->keys[i];
		g.lens[j] = m->lens[i];
		g.vals[j] = m->vals[i];
	}
	free(m->keys);
	free(m->lens);
	free(m->vals);
	*m = g;
	return 0;
}

int strmap_put(struct strmap *m, const char *key, size_t len, uint32_t val, uint32_t *existing)
{
	/* Keep the load under 1/2 so that probes stay short. */
	if (!m->mask || (m->n + 1) * 2 > m->mask + 1) {
		int rc = strmap_grow(m);
		if (rc < 0)
			return rc;
	}
	size_t i = strmap_find(m, key, len);
	if (m->keys[i]) {
		if (existing)
			*existing = m->vals[i];
		return 0;
	}
	char *k = malloc(len + 1);
	if (!k)
		return -ENOMEM;
	memcpy(k, key, len);
	k[len] = '\0';
	m->keys[i] = k;
	m->lens[i] = len;
	m->vals[i] = val;
	m->n++;
	return 1;
}

bool strmap_get(const struct strmap *m, const char *key, size_t len, uint32_t *val)
{
	if (!m->mask)
		return false;
	size_t i = strmap_find(m, key, len);
	if (!m->keys[i])
		return false;
	if (val)
		*val = m->vals[i];
	return true;
}

size_t strmap_memory(const struct strmap *m)
{
	size_t bytes = m->mask ? (m->mask + 1) * (sizeof(char *) + sizeof(size_t) + 4) : 0;
	for (size_t i = 0; m->mask && i <= m->mask; i++)
		if (m->keys[i])
			bytes += m->lens[i] + 1;
	return bytes;
}

void strmap_free(struct strmap *m)
{
	for (size_t i = 0; m->mask && i <= m->mask; i++)
		free(m->keys[i]);
	free(m->keys);
	free(m->lens);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}
