/* YAML and file helpers shared by the loaders (config, rules): positioned nodes, collected
 * diagnostics. */
#pragma once

#include <libfyaml.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* A position in a file, 1-based; line 0 means "no position". */
struct yaml_pos {
	int line, col;
};

struct yaml_doc;

/* Parses TEXT (the contents of FILE) as one YAML document with anchors and
 * aliases resolved. Syntax errors, and a second document, are appended to
 * ERRS positioned in FILE; libfyaml prints nothing. Sets *root to the root
 * node (NULL for an empty file) owned by *doc. Returns 0, -EINVAL when an
 * error was reported, or -ENOMEM. *doc is set (free it) whenever 0 or
 * -EINVAL is returned with a document. */
int yaml_doc_load(const char *file, const char *text, size_t len, struct config_errors *errs,
		  struct yaml_doc **doc, struct fy_node **root);
void yaml_doc_free(struct yaml_doc *doc);

/* Where a node starts. A null written as nothing ("key:") has no token and is
 * reported at FALLBACK, usually its key. Quoted scalars point at the quote. */
struct yaml_pos yaml_node_pos(struct fy_node *fyn, struct yaml_pos fallback);

/* True for a missing node, "~", "null" and an empty plain scalar. */
bool yaml_node_is_null(struct fy_node *fyn);

/* What was found, for "got ...": "a mapping", "a sequence", "null", or the
 * scalar itself (quoted unless it reads as a number or boolean), in BUF. */
const char *yaml_describe(struct fy_node *fyn, char *buf, size_t len);

/* Optimal string alignment distance (a swap of two letters is one edit);
 * strings longer than YAML_SUGGEST_MAX_LEN compare as far apart. */
#define YAML_SUGGEST_MAX_LEN 128
int yaml_edit_distance(const char *a, size_t la, const char *b, size_t lb);

/* Reads a whole file of at most MAX bytes, NUL-terminated. Returns 0,
 * -EFBIG, -ENOMEM or the negative errno of open/read. */
int yaml_read_file(const char *path, size_t max, char **out, size_t *lenp);
