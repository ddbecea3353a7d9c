/* Decoded protobuf messages in one arena each: a single block instead of a malloc per string,
 * repeated field and map entry, and one free instead of a walk over the message. */
#pragma once

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>

/* Unpacks LEN bytes at DATA as a message of type DESC, every part of it in one arena sized
 * from LEN. Returns the message (free with pbarena_free only), or NULL when DATA is not such
 * a message or memory ran out. Thread-safe. */
ProtobufCMessage *pbarena_unpack(const ProtobufCMessageDescriptor *desc, size_t len,
				 const void *data);

/* Frees M, from pbarena_unpack (NULL is ignored). */
void pbarena_free(ProtobufCMessage *m);

/* Whether messages of DESC go in arenas. They do when protobuf-c allocates a message before
 * any of its parts, which pbarena checks once per type (protobuf-c 1.4 does); otherwise
 * pbarena_unpack falls back to protobuf-c's own allocation, slower and just as correct. */
bool pbarena_active(const ProtobufCMessageDescriptor *desc);
