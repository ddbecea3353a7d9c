/* Decoded protobuf messages in one arena each (see pbarena.h). */
#include "pbarena.h"

#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

/* A block added when the arena's own ran out (a message larger than its wire size hinted). */
struct pbarena_chunk {
	struct pbarena_chunk *next;
	alignas(max_align_t) unsigned char data[];
};

/* The message is the first allocation, at data: pbarena_free finds the arena from it. */
struct pbarena {
	struct pbarena_chunk *chunks;
	unsigned char *cur; /* free space left in the current block */
	size_t left;
	alignas(max_align_t) unsigned char data[];
};

#define PBARENA_ALIGN (alignof(max_align_t))
#define PBARENA_MIN_CHUNK 1024

static void *pbarena_alloc(void *opaque, size_t size)
{
	struct pbarena *a = opaque;
	size = (size + PBARENA_ALIGN - 1) & ~(PBARENA_ALIGN - 1);
	if (size > a->left) {
		size_t cap = size > PBARENA_MIN_CHUNK ? size : PBARENA_MIN_CHUNK;
		struct pbarena_chunk *c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->next = a->chunks;
		a->chunks = c;
		a->cur = c->data;
		a->left = cap;
	}
	void *p = a->cur;
	a->cur += size;
	a->left -= size;
	return p;
}

/* Parts are freed with the arena; protobuf-c frees nothing during a successful unpack, and
 * on a failed one the arena goes whole. */
static void pbarena_release(void *opaque, void *ptr)
{
	(void)opaque;
	(void)ptr;
}

static struct pbarena *pbarena_new(size_t len)
{
	/* Strings and bytes fit in the wire size; structs, pointers and a NUL per string
	 * rarely take more than as much again. */
	size_t cap = 256 + 2 * len;
	if (cap < len)
		return NULL;
	cap = (cap + PBARENA_ALIGN - 1) & ~(PBARENA_ALIGN - 1);
	struct pbarena *a = malloc(sizeof(*a) + cap);
	if (!a)
		return NULL;
	a->chunks = NULL;
	a->cur = a->data;
	a->left = cap;
	return a;
}

static void pbarena_destroy(struct pbarena *a)
{
	while (a->chunks) {
		struct pbarena_chunk *c = a->chunks;
		a->chunks = c->next;
		free(c);
	}
	free(a);
}

/* Types probed: whether protobuf-c allocates their message first (1), or not (2). */
#define PBARENA_TYPES 8
static struct {
	_Atomic(const ProtobufCMessageDescriptor *) desc;
	atomic_int state;
} pbarena_types[PBARENA_TYPES];

/* An unpack of nothing: the message alone, or whatever protobuf-c allocates first. */
static int pbarena_probe(const ProtobufCMessageDescriptor *desc)
{
	struct pbarena *a = pbarena_new(0);
	if (!a)
		return 2;
	ProtobufCAllocator al = {pbarena_alloc, pbarena_release, a};
	ProtobufCMessage *m = protobuf_c_message_unpack(desc, &al, 0, (const uint8_t *)"");
	int state = m && (void *)m == (void *)a->data ? 1 : 2;
	pbarena_destroy(a);
	return state;
}

bool pbarena_active(const ProtobufCMessageDescriptor *desc)
{
	for (size_t i = 0; i < PBARENA_TYPES; i++) {
		const ProtobufCMessageDescriptor *d = atomic_load(&pbarena_types[i].desc);
		if (d == desc) {
			int s = atomic_load(&pbarena_types[i].state);
			if (s)
				return s == 1;
			break; /* being probed by another thread: probe too, same answer */
		}
		if (!d) {
			const ProtobufCMessageDescriptor *none = NULL;
			if (!atomic_compare_exchange_strong(&pbarena_types[i].desc, &none, desc) &&
			    none != desc)
				continue; /* another type took the slot */
			int s = pbarena_probe(desc);
			atomic_store(&pbarena_types[i].state, s);
			return s == 1;
		}
	}
	return pbarena_probe(desc) == 1; /* more types than slots: probed each time */
}

ProtobufCMessage *pbarena_unpack(const ProtobufCMessageDescriptor *desc, size_t len,
				 const void *data)
{
	if (!pbarena_active(desc))
		return protobuf_c_message_unpack(desc, NULL, len, data);
	struct pbarena *a = pbarena_new(len);
	if (!a)
		return NULL;
	ProtobufCAllocator al = {pbarena_alloc, pbarena_release, a};
	ProtobufCMessage *m = protobuf_c_message_unpack(desc, &al, len, data);
	if (!m)
		pbarena_destroy(a);
	return m;
}

void pbarena_free(ProtobufCMessage *m)
{
	if (!m)
		return;
	if (!pbarena_active(m->descriptor)) {
		protobuf_c_message_free_unpacked(m, NULL);
		return;
	}
	pbarena_destroy((struct pbarena *)((unsigned char *)m - offsetof(struct pbarena, data)));
}
