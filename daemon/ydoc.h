/* YAML for the loaders (config, rules): one document parsed with libyaml into a small tree of
 * positioned nodes, under bounds that hostile files cannot get past. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "diag.h"

/* A position in a file, 1-based; line 0 means "no position". */
struct ydoc_pos {
	int line, col;
};

enum ydoc_kind { YDOC_SCALAR = 0, YDOC_SEQ, YDOC_MAP };
enum ydoc_style { YDOC_PLAIN = 0, YDOC_QUOTED, YDOC_BLOCK /* | or > */ };

struct ydoc_pair;

/* A node of the document. Nodes reached through an alias are shared, not copied: a walk must
 * not modify them. Every string is NUL-terminated and owned by the document. */
struct ydoc_node {
	enum ydoc_kind kind;
	enum ydoc_style style; /* scalars */
	bool tagged;           /* has an explicit tag ("!!str 1"): never a null */
	struct ydoc_pos pos;   /* where it starts; line 0 for a null written as nothing */
	const char *text;      /* scalars: the value, which may hold NUL bytes: see len */
	size_t len;
	size_t n;                 /* items of a sequence, pairs of a mapping */
	struct ydoc_node **items; /* YDOC_SEQ */
	struct ydoc_pair *pairs;  /* YDOC_MAP, in file order; keys are distinct scalars */
};

struct ydoc_pair {
	struct ydoc_node *key, *value;
};

/* What one document may hold. A file past a bound is refused with a positioned error. */
#define YDOC_MAX_DEPTH 64       /* nesting of collections */
#define YDOC_MAX_NODES 2000000u /* nodes, each alias counted as the nodes it stands for */
#define YDOC_MAX_KEY_LEN 1024u  /* bytes of a mapping key */

struct ydoc;

/* Parses TEXT (the LEN bytes of FILE, for positions) as one YAML document. Refuses, with an
 * error positioned in FILE in ERRS: invalid UTF-8 and control characters (libyaml's own
 * checks), a second document, nesting deeper than YDOC_MAX_DEPTH, more than YDOC_MAX_NODES
 * nodes once aliases are expanded, an alias to an unknown anchor, a key that is not a
 * scalar, and a key given twice in one mapping. Sets *doc (free with ydoc_free) and
 * *root (NULL for an empty file). Returns 0, -EINVAL when an error was reported (*doc is
 * NULL then), or -ENOMEM. Memory is linear in LEN whatever the aliases. */
int ydoc_load(const char *file, const char *text, size_t len, struct diag_list *errs,
	      struct ydoc **doc, const struct ydoc_node **root);
void ydoc_free(struct ydoc *doc);

/* Where N starts; FALLBACK (usually its key) for a missing node or a null written as nothing. */
struct ydoc_pos ydoc_pos_of(const struct ydoc_node *n, struct ydoc_pos fallback);

/* True for a missing node, and an untagged plain "~", "null", "Null", "NULL" or "". */
bool ydoc_is_null(const struct ydoc_node *n);
bool ydoc_is_map(const struct ydoc_node *n);
bool ydoc_is_seq(const struct ydoc_node *n);

/* The text of a non-null scalar without NUL bytes, or NULL for anything else. */
const char *ydoc_scalar(const struct ydoc_node *n);

/* The value of KEY in mapping MAP, or NULL (also when MAP is not a mapping). */
const struct ydoc_node *ydoc_get(const struct ydoc_node *map, const char *key);

/* What was found, for "got ...": "a mapping", "a sequence", "null", or the scalar itself
 * (quoted unless it reads as a number or boolean), in BUF. */
const char *ydoc_describe(const struct ydoc_node *n, char *buf, size_t len);

/* Visits the pairs of mapping MAP in file order with each key and value and their positions
 * (the parser refuses a key that is not a non-null scalar or holds a NUL byte, so key->text
 * is a plain C string). FALLBACK positions MAP when it has no position of its own; a value
 * written as nothing is positioned at its key. Stops at the first non-zero return of FN,
 * which it returns. */
typedef int (*ydoc_pair_fn)(void *arg, const struct ydoc_node *key, struct ydoc_pos key_pos,
			    const struct ydoc_node *value, struct ydoc_pos value_pos);
int ydoc_map_each(const struct ydoc_node *map, struct ydoc_pos fallback, ydoc_pair_fn fn,
		  void *arg);

/* Checks the keys of mapping MAP against ALLOWED (NULL-terminated): an unknown key is an
 * error in ERRS naming WHAT ("a rule") and the closest allowed key. Returns how many. */
size_t ydoc_check_keys(const struct ydoc_node *map, const char *const *allowed, const char *what,
		       const char *file, struct diag_list *errs);

/* N as JSON, with the YAML core schema for plain scalars (null, true/false, integers and
 * floats; everything else a string); quoted and block scalars are strings. NULL on
 * allocation failure. */
json_t *ydoc_to_json(const struct ydoc_node *n);

/* Reads a whole file of at most MAX bytes, NUL-terminated. Returns 0, -EFBIG, -ENOMEM or
 * the negative errno of open/read. */
int ydoc_read_file(const char *path, size_t max, char **out, size_t *lenp);
