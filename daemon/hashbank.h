/* Hash banks: lists of known media hashes (PDQ, MD5, SHA-256) loaded from hash-sharing exports,
 * matched exactly (MD5, SHA-256) or by Hamming distance through a multi-index (PDQ). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "diag.h"

enum hashbank_algo {
	HASHBANK_PDQ = 0, /* 256-bit perceptual hash, matched within a Hamming distance */
	HASHBANK_MD5,     /* 128-bit, exact */
	HASHBANK_SHA256,  /* 256-bit, exact */
};

#define HASHBANK_MAX_HASH 32    /* bytes of the longest hash (PDQ, SHA-256) */
#define HASHBANK_MAX_LINE 1024  /* bytes of one line of a bank file, without its newline */
#define HASHBANK_MAX_ERRORS 100 /* bad lines reported one by one; the rest are counted */
#define HASHBANK_DEFAULT_MAX_FILE_BYTES (256u << 20)
#define HASHBANK_DEFAULT_MAX_ENTRIES (4u << 20)
/* PDQ banks this large or larger are indexed; smaller ones are scanned (4096 hashes: 128 KiB,
 * some 200,000 scans/s), sparing them the index's fixed 4 MiB of bucket offsets. */
#define HASHBANK_INDEX_MIN_ENTRIES 4096

/* Bounds of one load; a NULL limits pointer means the defaults above. A zero field means its
 * default too. */
struct hashbank_limits {
	size_t max_file_bytes; /* a longer text or file is refused whole */
	size_t max_entries;    /* hash lines (duplicates included); more are refused */
};

/* The answer of a query. Pointers stay valid as long as the bank. */
struct hashbank_hit {
	size_t index;        /* entry number: order of first appearance in the file, from 0 */
	unsigned distance;   /* bits differing; always 0 for MD5 and SHA-256 */
	const uint8_t *hash; /* the entry's hash, hashbank_hash_bytes() long */
	const char *label;   /* the entry's label, "" when it has none */
};

struct hashbank;

/* "pdq", "md5", "sha256" (also "sha-256"), case-insensitive. Returns 0 or -EINVAL. */
int hashbank_algo_parse(const char *name, enum hashbank_algo *out);

/* The lowercase name of ALGO ("pdq", "md5", "sha256"); "?" for a value out of range. */
const char *hashbank_algo_name(enum hashbank_algo algo);

/* Bytes of one hash of ALGO: 32 for PDQ and SHA-256, 16 for MD5; 0 for a value out of range. */
size_t hashbank_hash_bytes(enum hashbank_algo algo);

/* Decodes LEN hex digits (either case, nothing else: no prefix, no spaces) into OUT, the first
 * two digits giving OUT[0]. LEN must be exactly twice hashbank_hash_bytes(ALGO). Returns 0 or
 * -EINVAL; OUT is unspecified on failure. */
int hashbank_parse_hex(enum hashbank_algo algo, const char *hex, size_t len,
		       uint8_t out[HASHBANK_MAX_HASH]);

/* Builds bank NAME of ALGO from TEXT (LEN bytes, no terminator needed), the content of PATH
 * (PATH only names the file in findings). The format is that of hash-sharing exports such as
 * ThreatExchange and HMA: one hex hash per line (either case), optionally followed by blanks
 * or a comma (or both) and a label: the rest of the line, trimmed, UTF-8 without control
 * characters. Blank lines, lines whose first non-blank is '#', leading blanks and a CR before
 * the newline are ignored; anything else (a CSV header line too) is a bad line. A hash given
 * twice is one entry, numbered where it first appeared, with the first non-empty label given
 * for it. Findings name PATH and carry NAME as their key.
 * Every bad line gets an error in ERRS with its line and column (the first HASHBANK_MAX_ERRORS
 * one by one, then one count of the rest), and the bank is refused. A text over the byte bound
 * is refused unread, a line with more hashes than the entry bound stops the load, each with one
 * error. A bank without entries loads, with a warning.
 * Returns 0 with *OUT set; or, with *OUT NULL, -EINVAL (bad lines or too many hashes), -EFBIG
 * (over the byte bound) or -ENOMEM. Memory while loading peaks near twice the bank's
 * hashbank_memory(); the bank keeps the result only. */
int hashbank_load(const char *name, enum hashbank_algo algo, const char *path, const char *text,
		  size_t len, const struct hashbank_limits *limits, struct diag_list *errs,
		  struct hashbank **out);

/* hashbank_load on the content of the file at PATH, read up to the file bound (a larger file
 * is refused without being read whole). An unreadable file is an error at line 0.
 * Returns as hashbank_load, or the negative errno of the failed read. */
int hashbank_load_file(const char *name, enum hashbank_algo algo, const char *path,
		       const struct hashbank_limits *limits, struct diag_list *errs,
		       struct hashbank **out);

/* Frees BANK (NULL is fine). No query may be running on it. */
void hashbank_free(struct hashbank *bank);

const char *hashbank_name(const struct hashbank *bank);
enum hashbank_algo hashbank_algo(const struct hashbank *bank);

/* Distinct hashes in BANK. */
size_t hashbank_size(const struct hashbank *bank);

/* Hash lines of the file that repeated an earlier hash (merged into it). */
size_t hashbank_duplicates(const struct hashbank *bank);

/* Bytes BANK holds on the heap: hashes, labels and index. */
size_t hashbank_memory(const struct hashbank *bank);

/* Entry INDEX of BANK: its hash and label ("" when none) through the pointers that are not NULL.
 * Returns 0, or -ERANGE when INDEX >= hashbank_size(BANK). */
int hashbank_entry(const struct hashbank *bank, size_t index, const uint8_t **hash,
		   const char **label);

/* Looks Q (hashbank_hash_bytes() long) up in BANK. For PDQ: the entry nearest to Q in Hamming
 * distance, if it is within MAX_DISTANCE bits (values over 256 count as 256); of equally near
 * entries, the one first in the file. For MD5 and SHA-256: the entry equal to Q; MAX_DISTANCE is
 * ignored. Returns 1 with *HIT filled, 0 when nothing matches, -EINVAL for a NULL argument.
 * BANK is never written: any number of threads may query one bank at once; a query uses about
 * 28 KiB of stack and no heap.
 * Cost: an indexed PDQ bank (HASHBANK_INDEX_MIN_ENTRIES or more) answers a query within 47 bits
 * (55 from 262,144 hashes) through its index: on a million random hashes within 31 in about
 * 10 us, within 47 in about 150 us; wider queries and smaller banks scan every entry (a
 * million in about 2 ms). A bank built to defeat the index (a million hashes all
 * within a few bits of each other) costs up to 16 scans' worth per query. */
int hashbank_match(const struct hashbank *bank, const uint8_t *q, unsigned max_distance,
		   struct hashbank_hit *hit);
