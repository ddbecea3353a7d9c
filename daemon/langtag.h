/* BCP 47 language tags: the ranges queues and reviewers name, and which content tags they cover. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* A range names at most language, script and region: "sr", "sr-Latn",
 * "sr-Latn-RS", "es-419". The claim script's index holds these prefixes of
 * every entry's tag (see queues.c), so a range never needs more. */
#define LANGTAG_RANGE_SUBTAGS 3
/* A tag longer than this, or not made of [A-Za-z0-9] subtags joined by "-",
 * is covered by no range (events are validated before, see event.c). */
#define LANGTAG_TAG_MAX 64

/* Checks that S is a well-formed range language[-script][-region]: a 2- or
 * 3-letter language, then optionally a 4-letter script, then optionally a
 * 2-letter or 3-digit region, joined by "-", in any case. Returns 0, or
 * -EINVAL with *WHY (when not NULL) set to a static sentence saying what is
 * wrong and *AT (when not NULL) to the offset in S where it starts. */
int langtag_check_range(const char *s, const char **why, size_t *at);

/* How specifically language range RANGE covers language tag TAG, by RFC 4647
 * basic filtering without case: when RANGE equals TAG or is a prefix of it
 * that ends where a subtag ends ("sw" covers "sw-KE", "sr-Latn" covers
 * "sr-Latn-RS"), the number of subtags in RANGE (1 for "sw", 2 for
 * "sr-Latn"); 0 when it does not ("sr-Latn" does not cover "sr-Cyrl" nor
 * "sr"), when either is empty, or when TAG is not [A-Za-z0-9] subtags joined
 * by "-" of at most LANGTAG_TAG_MAX bytes. Pure; the claim script mirrors it
 * (queues.c, QUEUES_LUA_INDEX). */
int langtag_match(const char *range, const char *tag);

/* Whether TAG is made of [A-Za-z0-9] subtags joined by "-", at most
 * LANGTAG_TAG_MAX bytes: the tags a range can cover. */
bool langtag_indexable(const char *tag);
