/* JSON <-> protobuf-c messages, driven by the generated descriptors. */
#pragma once

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>

/* A field path such as "media[1].kind" or "signals[\"hate\"]", grown and
 * shrunk while walking a message, for error messages. Starts as {0}. */
#define PBJSON_PATH_MAX 192
struct pbjson_path {
	size_t len;
	char s[PBJSON_PATH_MAX];
};

/* Appends printf-style text (truncating at the capacity); returns the length
 * to restore with pbjson_path_pop. */
size_t pbjson_path_push(struct pbjson_path *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void pbjson_path_pop(struct pbjson_path *p, size_t old);

/* Builds a message of type DESC from a JSON object whose keys are the proto
 * field names (snake_case). Enums are given by value name ("REMOVE"); maps as
 * JSON objects; repeated fields as arrays; bytes as base64 strings; 64-bit
 * integers as numbers or decimal strings. Unknown keys, wrong types, unknown
 * enum names and out-of-range numbers are errors. JSON null leaves the field
 * at its default.
 * On success returns 0 and *out (free with protobuf_c_message_free_unpacked(*out,
 * NULL)). On failure returns -EINVAL (-ENOMEM when out of memory), *out is NULL
 * and ERR holds a reason naming the field with its path, e.g.
 * "field 'media[1].kind': unknown enum value \"GIF\"" or
 * "unknown field 'media[0].size'". Integers also accept decimal strings,
 * floating-point fields "NaN", "Infinity" and "-Infinity", enums their number
 * (proto3 enums are open: the caller checks the value is known). */
int pbjson_decode(const ProtobufCMessageDescriptor *desc, const json_t *obj, ProtobufCMessage **out,
		  char *err, size_t errlen);

/* Parses one JSON text (e.g. a Kafka message value) and decodes it as above.
 * Parse errors are reported as "bad JSON: <what> at column C" (with the line
 * when it is not the first); duplicate keys are parse errors. */
int pbjson_decode_text(const ProtobufCMessageDescriptor *desc, const char *text, size_t len,
		       ProtobufCMessage **out, char *err, size_t errlen);

/* The inverse mapping: every field that differs from its default is written;
 * enums as names (unknown values as numbers); bytes as base64; 64-bit
 * integers as numbers (a uint64 above INT64_MAX, which jansson cannot hold, as
 * a decimal string); non-finite floats as "NaN"/"Infinity"/"-Infinity"; floats
 * as the shortest double that reads back as the same float; strings that are
 * not valid UTF-8 with U+FFFD in place of the bad bytes. Returns a new
 * reference or NULL on allocation failure. */
json_t *pbjson_encode(const ProtobufCMessage *msg);

/* Whether S[0..LEN) is well-formed UTF-8 (no overlongs, surrogates or code
 * points past U+10FFFF). Protobuf strings must be; protobuf-c does not check. */
bool pbjson_utf8_valid(const char *s, size_t len);

/* Replaces, in place, every byte of the NUL-terminated S that is not part of a
 * well-formed UTF-8 sequence with '?' (e.g. a character cut by truncation). */
void pbjson_utf8_scrub(char *s);

/* Renders S[0..LEN) into BUF as a double-quoted literal for an error message:
 * quotes and backslashes escaped, control characters and bytes that are not
 * UTF-8 as \xNN, shortened with "..." on a character boundary to fit SIZE (at
 * least 8). Returns BUF. */
const char *pbjson_quote(char *buf, size_t size, const char *s, size_t len);

/* Whether F is a map field: protobuf-c represents map<K, V> as a repeated
 * message "<Name>Entry" with fields key = 1 and value = 2. */
bool pbjson_is_map_field(const ProtobufCFieldDescriptor *f);
