/* YAML for the loaders: libyaml's events built into a tree of positioned nodes, bounded in
 * depth, size and alias expansion, with the helpers the config and rules loaders walk it by. */
#include "ydoc.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "strmap.h"

/* ---- the document's memory: one arena, freed at once ---- */

#define YDOC_CHUNK (64u << 10)

struct ydoc_chunk {
	struct ydoc_chunk *next;
	size_t used, size;
	max_align_t data[];
};

struct ydoc {
	struct ydoc_chunk *chunks;
	const struct ydoc_node *root;
};

static void *ydoc_alloc(struct ydoc *d, size_t size)
{
	size = (size + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	struct ydoc_chunk *c = d->chunks;
	if (!c || c->size - c->used < size) {
		size_t cap = size > YDOC_CHUNK ? size : YDOC_CHUNK;
		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->size = cap;
		c->used = 0;
		/* A large block gets a chunk of its own behind the current one, so the
		 * current chunk's free space is not wasted. */
		if (d->chunks && cap > YDOC_CHUNK) {
			c->next = d->chunks->next;
			d->chunks->next = c;
		} else {
			c->next = d->chunks;
			d->chunks = c;
		}
	}
	void *p = (char *)c->data + c->used;
	c->used += size;
	return p;
}

void ydoc_free(struct ydoc *d)
{
	if (!d)
		return;
	for (struct ydoc_chunk *c = d->chunks, *next; c; c = next) {
		next = c->next;
		free(c);
	}
	free(d);
}

/* ---- building the tree from libyaml's events ---- */

/* A collection being built: its node and the children read so far. */
struct ydoc_frame {
	struct ydoc_node *node;
	struct ydoc_node **kids; /* for a mapping: key, value, key, value... */
	size_t n, cap;
	size_t anchor;       /* anchor slot to set when the collection closes, or SIZE_MAX */
	uint64_t nodes_from; /* the document's node count when it opened */
};

struct ydoc_builder {
	const char *file;
	struct diag_list *errs;
	struct ydoc *doc;
	struct ydoc_frame stack[YDOC_MAX_DEPTH];
	size_t depth;
	uint64_t nodes; /* with aliases expanded */
	struct strmap anchor_index;
	struct ydoc_node **anchors;
	uint64_t *anchor_sizes;
	size_t n_anchors, cap_anchors;
	struct ydoc_node *root;
	int docs;
	bool failed, oom;
};

__attribute__((format(printf, 3, 4))) static void
ydoc_error(struct ydoc_builder *b, const yaml_mark_t *m, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag_error(b->errs, b->file, m ? (int)m->line + 1 : 0, m ? (int)m->column + 1 : 0, NULL,
		   "invalid YAML: %s", msg);
	b->failed = true;
}

static struct ydoc_pos ydoc_mark_pos(const yaml_mark_t *m)
{
	return (struct ydoc_pos){(int)m->line + 1, (int)m->column + 1};
}

/* Counts N more nodes against the document's bound. */
static bool ydoc_count(struct ydoc_builder *b, uint64_t n, const yaml_mark_t *m)
{
	b->nodes += n;
	if (b->nodes <= YDOC_MAX_NODES)
		return true;
	ydoc_error(b, m, "more than %u nodes (aliases counted as the nodes they repeat)",
		   YDOC_MAX_NODES);
	return false;
}

static bool ydoc_frame_add(struct ydoc_builder *b, struct ydoc_frame *f, struct ydoc_node *n)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 8;
		struct ydoc_node **k = realloc(f->kids, cap * sizeof(*k));
		if (!k) {
			b->oom = true;
			return false;
		}
		f->kids = k;
		f->cap = cap;
	}
	f->kids[f->n++] = n;
	return true;
}

/* A finished node goes to the collection being built, or becomes the root. */
static bool ydoc_place(struct ydoc_builder *b, struct ydoc_node *n)
{
	if (b->depth == 0) {
		b->root = n;
		return true;
	}
	return ydoc_frame_add(b, &b->stack[b->depth - 1], n);
}

/* Remembers ANCHOR for N; a later anchor of the same name replaces it, as YAML says. */
static size_t ydoc_anchor(struct ydoc_builder *b, const char *anchor, struct ydoc_node *n)
{
	if (!anchor)
		return SIZE_MAX;
	uint32_t slot = (uint32_t)b->n_anchors;
	int rc = strmap_put(&b->anchor_index, anchor, strlen(anchor), slot, &slot);
	if (rc < 0) {
		b->oom = true;
		return SIZE_MAX;
	}
	if (rc == 1) {
		if (b->n_anchors == b->cap_anchors) {
			size_t cap = b->cap_anchors ? b->cap_anchors * 2 : 8;
			struct ydoc_node **v = realloc(b->anchors, cap * sizeof(*v));
			uint64_t *s = v ? realloc(b->anchor_sizes, cap * sizeof(*s)) : NULL;
			if (v)
				b->anchors = v;
			if (!s) {
				b->oom = true;
				return SIZE_MAX;
			}
			b->anchor_sizes = s;
			b->cap_anchors = cap;
		}
		b->n_anchors++;
	}
	b->anchors[slot] = n;
	b->anchor_sizes[slot] = 1;
	return slot;
}

static char *ydoc_strdup(struct ydoc_builder *b, const char *s, size_t len)
{
	char *d = ydoc_alloc(b->doc, len + 1);
	if (!d) {
		b->oom = true;
		return NULL;
	}
	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

static bool ydoc_tag_is_explicit(const yaml_char_t *tag)
{
	/* libyaml resolves "!" (the non-specific tag of quoted scalars) to NULL. */
	return tag && tag[0];
}

/* A new node of KIND for EV, counted against the bound; NULL when refused or out of memory. */
static struct ydoc_node *ydoc_node_new(struct ydoc_builder *b, const yaml_event_t *ev,
				       enum ydoc_kind kind)
{
	if (!ydoc_count(b, 1, &ev->start_mark))
		return NULL;
	struct ydoc_node *n = ydoc_alloc(b->doc, sizeof(*n));
	if (!n) {
		b->oom = true;
		return NULL;
	}
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->pos = ydoc_mark_pos(&ev->start_mark);
	return n;
}

static void ydoc_on_scalar(struct ydoc_builder *b, const yaml_event_t *ev)
{
	struct ydoc_node *n = ydoc_node_new(b, ev, YDOC_SCALAR);
	if (!n)
		return;
	switch (ev->data.scalar.style) {
	case YAML_SINGLE_QUOTED_SCALAR_STYLE:
	case YAML_DOUBLE_QUOTED_SCALAR_STYLE:
		n->style = YDOC_QUOTED;
		break;
	case YAML_LITERAL_SCALAR_STYLE:
	case YAML_FOLDED_SCALAR_STYLE:
		n->style = YDOC_BLOCK;
		break;
	default:
		n->style = YDOC_PLAIN;
	}
	n->tagged = ydoc_tag_is_explicit(ev->data.scalar.tag);
	n->len = ev->data.scalar.length;
	n->text = ydoc_strdup(b, (const char *)ev->data.scalar.value, n->len);
	/* A value written as nothing has no token of its own: it takes its key's position. */
	bool empty =
		n->style == YDOC_PLAIN && n->len == 0 && ev->start_mark.index == ev->end_mark.index;
	n->pos = empty ? (struct ydoc_pos){0, 0} : ydoc_mark_pos(&ev->start_mark);
	size_t a = ydoc_anchor(b, (const char *)ev->data.scalar.anchor, n);
	(void)a;
	ydoc_place(b, n);
}

static void ydoc_on_alias(struct ydoc_builder *b, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	uint32_t slot;
	if (!strmap_get(&b->anchor_index, name, strlen(name), &slot)) {
		ydoc_error(b, &ev->start_mark, "alias *%s names no anchor defined before it", name);
		return;
	}
	/* An anchor's collection still open (an alias inside itself) would be a cycle. */
	for (size_t i = 0; i < b->depth; i++) {
		if (b->stack[i].node == b->anchors[slot]) {
			ydoc_error(b, &ev->start_mark, "alias *%s refers to a collection it is in",
				   name);
			return;
		}
	}
	if (!ydoc_count(b, b->anchor_sizes[slot], &ev->start_mark))
		return;
	ydoc_place(b, b->anchors[slot]);
}

static void ydoc_open(struct ydoc_builder *b, const yaml_event_t *ev, enum ydoc_kind kind)
{
	const yaml_char_t *anchor =
		kind == YDOC_MAP ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
	if (b->depth == YDOC_MAX_DEPTH) {
		ydoc_error(b, &ev->start_mark, "nested deeper than %d levels", YDOC_MAX_DEPTH);
		return;
	}
	struct ydoc_node *n = ydoc_node_new(b, ev, kind);
	if (!n)
		return;
	struct ydoc_frame *f = &b->stack[b->depth++];
	/* Counted from here: the collection's size is what an alias to it repeats. */
	*f = (struct ydoc_frame){.node = n, .nodes_from = b->nodes - 1};
	f->anchor = ydoc_anchor(b, (const char *)anchor, n);
}

static int ydoc_key_cmp(const void *a, const void *b)
{
	const struct ydoc_pair *x = a, *y = b;
	size_t n = x->key->len < y->key->len ? x->key->len : y->key->len;
	int c = memcmp(x->key->text, y->key->text, n);
	if (c)
		return c;
	return (x->key->len > y->key->len) - (x->key->len < y->key->len);
}

static bool ydoc_pos_before(struct ydoc_pos a, struct ydoc_pos b)
{
	return a.line < b.line || (a.line == b.line && a.col < b.col);
}

/* Keys must be scalars without NUL bytes, short, and distinct: a key given twice would
 * silently drop one of the values. */
static bool ydoc_check_map(struct ydoc_builder *b, struct ydoc_node *map)
{
	char buf[96];
	for (size_t i = 0; i < map->n; i++) {
		const struct ydoc_node *k = map->pairs[i].key;
		struct ydoc_pos p = ydoc_pos_of(k, map->pos);
		yaml_mark_t m = {.line = (size_t)p.line - 1, .column = (size_t)p.col - 1};
		if (k->kind != YDOC_SCALAR || ydoc_is_null(k)) {
			ydoc_error(b, &m, "a mapping key must be a name, got %s",
				   ydoc_describe(k, buf, sizeof(buf)));
			return false;
		}
		if (memchr(k->text, '\0', k->len) || k->len > YDOC_MAX_KEY_LEN) {
			ydoc_error(b, &m, "a mapping key must be at most %u bytes and hold no NUL",
				   YDOC_MAX_KEY_LEN);
			return false;
		}
	}
	if (map->n < 2)
		return true;
	struct ydoc_pair *sorted = malloc(map->n * sizeof(*sorted));
	if (!sorted) {
		b->oom = true;
		return false;
	}
	memcpy(sorted, map->pairs, map->n * sizeof(*sorted));
	qsort(sorted, map->n, sizeof(*sorted), ydoc_key_cmp);
	bool ok = true;
	for (size_t i = 1; i < map->n && ok; i++) {
		const struct ydoc_node *a = sorted[i - 1].key, *k = sorted[i].key;
		if (a->len != k->len || memcmp(a->text, k->text, k->len))
			continue;
		struct ydoc_pos pa = ydoc_pos_of(a, map->pos), pk = ydoc_pos_of(k, map->pos);
		if (ydoc_pos_before(pk, pa)) {
			struct ydoc_pos t = pa;
			pa = pk;
			pk = t;
		}
		yaml_mark_t m = {.line = (size_t)pk.line - 1, .column = (size_t)pk.col - 1};
		ydoc_error(b, &m, "duplicate key '%s' (first given at %d:%d)", k->text, pa.line,
			   pa.col);
		ok = false;
	}
	free(sorted);
	return ok;
}

static void ydoc_close(struct ydoc_builder *b, const yaml_event_t *ev)
{
	struct ydoc_frame *f = &b->stack[--b->depth];
	struct ydoc_node *n = f->node;
	uint64_t size = b->nodes - f->nodes_from;
	if (n->kind == YDOC_MAP) {
		n->n = f->n / 2;
		n->pairs = n->n ? ydoc_alloc(b->doc, n->n * sizeof(*n->pairs)) : NULL;
		if (n->n && !n->pairs)
			b->oom = true;
		for (size_t i = 0; n->pairs && i < n->n; i++)
			n->pairs[i] = (struct ydoc_pair){f->kids[2 * i], f->kids[2 * i + 1]};
		if (!b->oom && !ydoc_check_map(b, n))
			b->failed = true;
	} else {
		n->n = f->n;
		n->items = n->n ? ydoc_alloc(b->doc, n->n * sizeof(*n->items)) : NULL;
		if (n->n && !n->items)
			b->oom = true;
		else if (n->n)
			memcpy(n->items, f->kids, n->n * sizeof(*n->items));
	}
	if (f->anchor != SIZE_MAX && b->anchors[f->anchor] == n)
		b->anchor_sizes[f->anchor] = size;
	free(f->kids);
	f->kids = NULL;
	(void)ev;
	ydoc_place(b, n);
}

static void ydoc_on_event(struct ydoc_builder *b, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++b->docs > 1) {
			diag_error(b->errs, b->file, (int)ev->start_mark.line + 1,
				   (int)ev->start_mark.column + 1, NULL,
				   "expected one YAML document, found a second one");
			b->failed = true;
		}
		break;
	case YAML_SCALAR_EVENT:
		ydoc_on_scalar(b, ev);
		break;
	case YAML_ALIAS_EVENT:
		ydoc_on_alias(b, ev);
		break;
	case YAML_SEQUENCE_START_EVENT:
		ydoc_open(b, ev, YDOC_SEQ);
		break;
	case YAML_MAPPING_START_EVENT:
		ydoc_open(b, ev, YDOC_MAP);
		break;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		ydoc_close(b, ev);
		break;
	default:
		break;
	}
}

/* The reader's errors (bad UTF-8, control characters) carry a byte offset, not a mark. */
static yaml_mark_t ydoc_offset_mark(const char *text, size_t len, size_t off)
{
	yaml_mark_t m = {.index = off};
	for (size_t i = 0; i < off && i < len; i++) {
		/* Line breaks as YAML counts them: \n, \r\n, and a lone \r. */
		bool crlf = text[i] == '\r' && i + 1 < len && text[i + 1] == '\n';
		if ((text[i] == '\n' || text[i] == '\r') && !crlf) {
			m.line++;
			m.column = 0;
		} else if (((unsigned char)text[i] & 0xC0) != 0x80 && !crlf) {
			m.column++;
		}
	}
	return m;
}

static void ydoc_parser_error(struct ydoc_builder *b, const yaml_parser_t *p, const char *text,
			      size_t len)
{
	const char *what = p->problem ? p->problem : "syntax error";
	const yaml_mark_t *m = &p->problem_mark;
	if (p->error == YAML_MEMORY_ERROR) {
		b->oom = true;
	} else if (p->error == YAML_READER_ERROR) {
		yaml_mark_t at = ydoc_offset_mark(text, len, p->problem_offset);
		ydoc_error(b, &at, "%s", what);
	} else if (m->index < len && text[m->index] == '\t') {
		/* libyaml's words for the commonest mistake are "found character that cannot
		 * start any token". */
		ydoc_error(b, m, "tab character may not be used as indentation");
	} else if (p->context) {
		ydoc_error(b, m, "%s %s (which started at %zu:%zu)", p->context, what,
			   p->context_mark.line + 1, p->context_mark.column + 1);
	} else {
		ydoc_error(b, m, "%s", what);
	}
}

int ydoc_load(const char *file, const char *text, size_t len, struct diag_list *errs,
	      struct ydoc **out, const struct ydoc_node **root)
{
	*out = NULL;
	*root = NULL;
	struct ydoc_builder b = {.file = file, .errs = errs};
	b.doc = calloc(1, sizeof(*b.doc));
	if (!b.doc)
		return -ENOMEM;
	yaml_parser_t p;
	if (!yaml_parser_initialize(&p)) {
		free(b.doc);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);
	for (bool done = false; !done && !b.failed && !b.oom;) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&p, &ev)) {
			ydoc_parser_error(&b, &p, text, len);
			break;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		ydoc_on_event(&b, &ev);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	for (size_t i = 0; i < b.depth; i++)
		free(b.stack[i].kids);
	free(b.anchors);
	free(b.anchor_sizes);
	strmap_free(&b.anchor_index);
	if (b.oom) {
		ydoc_free(b.doc);
		return -ENOMEM;
	}
	if (b.failed) {
		ydoc_free(b.doc);
		return -EINVAL;
	}
	b.doc->root = b.root;
	*out = b.doc;
	*root = b.root;
	return 0;
}

/* ---- reading the tree ---- */

struct ydoc_pos ydoc_pos_of(const struct ydoc_node *n, struct ydoc_pos fallback)
{
	return n && n->pos.line ? n->pos : fallback;
}

bool ydoc_is_null(const struct ydoc_node *n)
{
	if (!n)
		return true;
	if (n->kind != YDOC_SCALAR || n->style != YDOC_PLAIN || n->tagged)
		return false;
	const char *s = n->text;
	switch (n->len) {
	case 0:
		return true;
	case 1:
		return s[0] == '~';
	case 4:
		return !memcmp(s, "null", 4) || !memcmp(s, "Null", 4) || !memcmp(s, "NULL", 4);
	default:
		return false;
	}
}

bool ydoc_is_map(const struct ydoc_node *n)
{
	return n && n->kind == YDOC_MAP;
}

bool ydoc_is_seq(const struct ydoc_node *n)
{
	return n && n->kind == YDOC_SEQ;
}

const char *ydoc_scalar(const struct ydoc_node *n)
{
	if (!n || n->kind != YDOC_SCALAR || ydoc_is_null(n) || memchr(n->text, '\0', n->len))
		return NULL;
	return n->text;
}

const struct ydoc_node *ydoc_get(const struct ydoc_node *map, const char *key)
{
	if (!ydoc_is_map(map))
		return NULL;
	size_t len = strlen(key);
	for (size_t i = 0; i < map->n; i++) {
		const struct ydoc_node *k = map->pairs[i].key;
		if (k->len == len && !memcmp(k->text, key, len))
			return map->pairs[i].value;
	}
	return NULL;
}

static bool ydoc_text_is_plain_value(const char *s)
{
	if (!strcmp(s, "true") || !strcmp(s, "false") || !strcmp(s, "True") ||
	    !strcmp(s, "False") || !strcmp(s, "TRUE") || !strcmp(s, "FALSE"))
		return true;
	char *end;
	(void)strtod(s, &end);
	return *s && !*end;
}

const char *ydoc_describe(const struct ydoc_node *n, char *buf, size_t len)
{
	if (ydoc_is_null(n))
		return "null";
	if (n->kind == YDOC_MAP)
		return "a mapping";
	if (n->kind == YDOC_SEQ)
		return "a sequence";
	int show = n->len > 64 ? 61 : (int)n->len;
	const char *more = n->len > 64 ? "..." : "";
	if (n->style == YDOC_PLAIN && n->len <= 64 && !memchr(n->text, '\0', n->len)) {
		snprintf(buf, len, "%.*s", show, n->text);
		if (ydoc_text_is_plain_value(buf))
			return buf;
	}
	snprintf(buf, len, "\"%.*s%s\"", show, n->text, more);
	return buf;
}

int ydoc_map_each(const struct ydoc_node *map, struct ydoc_pos fallback, ydoc_pair_fn fn, void *arg)
{
	if (!ydoc_is_map(map))
		return 0;
	struct ydoc_pos at = ydoc_pos_of(map, fallback);
	for (size_t i = 0; i < map->n; i++) {
		const struct ydoc_pair *pr = &map->pairs[i];
		struct ydoc_pos kp = ydoc_pos_of(pr->key, at);
		int rc = fn(arg, pr->key, kp, pr->value, ydoc_pos_of(pr->value, kp));
		if (rc)
			return rc;
	}
	return 0;
}

size_t ydoc_check_keys(const struct ydoc_node *map, const char *const *allowed, const char *what,
		       const char *file, struct diag_list *errs)
{
	size_t n = 0;
	for (size_t i = 0; ydoc_is_map(map) && i < map->n; i++) {
		const struct ydoc_node *k = map->pairs[i].key;
		bool ok = false;
		for (const char *const *a = allowed; *a && !ok; a++)
			ok = !strcmp(*a, k->text);
		if (ok)
			continue;
		struct ydoc_pos kp = ydoc_pos_of(k, map->pos);
		const char *best = diag_suggest(k->text, allowed, 2);
		if (best)
			diag_error(errs, file, kp.line, kp.col, k->text,
				   "unknown key '%s' in %s; did you mean '%s'?", k->text, what,
				   best);
		else
			diag_error(errs, file, kp.line, kp.col, k->text, "unknown key '%s' in %s",
				   k->text, what);
		n++;
	}
	return n;
}

/* A plain scalar as the YAML core schema reads it. */
static json_t *ydoc_plain_json(const struct ydoc_node *n)
{
	const char *s = n->text;
	if (ydoc_is_null(n))
		return json_null();
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
		return json_true();
	if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
		return json_false();
	if (n->len && n->len < 32 && !memchr(s, '\0', n->len)) {
		char *end;
		errno = 0;
		long long v = strtoll(s, &end, 10);
		if (!*end && !errno && (s[0] == '-' || s[0] == '+' || (s[0] >= '0' && s[0] <= '9')))
			return json_integer(v);
		double d = strtod(s, &end);
		if (!*end && !errno && ((s[0] >= '0' && s[0] <= '9') || s[0] == '-' || s[0] == '.'))
			return json_real(d);
	}
	return json_stringn(s, n->len);
}

/* Depth is bounded by the parser (YDOC_MAX_DEPTH), and so is this recursion. */
json_t *ydoc_to_json(const struct ydoc_node *n)
{
	if (!n)
		return json_null();
	if (n->kind == YDOC_SCALAR)
		return n->style == YDOC_PLAIN && !n->tagged ? ydoc_plain_json(n) :
							      json_stringn(n->text, n->len);
	json_t *j = n->kind == YDOC_MAP ? json_object() : json_array();
	for (size_t i = 0; j && i < n->n; i++) {
		const struct ydoc_node *v = n->kind == YDOC_MAP ? n->pairs[i].value : n->items[i];
		json_t *c = ydoc_to_json(v);
		int rc = !c                  ? -1 :
			 n->kind == YDOC_MAP ? json_object_setn_new(j, n->pairs[i].key->text,
								    n->pairs[i].key->len, c) :
					       json_array_append_new(j, c);
		if (rc < 0) {
			json_decref(j);
			return NULL;
		}
	}
	return j;
}

int ydoc_read_file(const char *path, size_t max, char **out, size_t *lenp)
{
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return -errno;
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	int rc = 0;
	if (!buf) {
		fclose(fp);
		return -ENOMEM;
	}
	for (;;) {
		if (len + 1 >= cap) {
			char *nb = cap > max ? NULL : realloc(buf, cap * 2);
			if (!nb) {
				rc = cap > max ? -EFBIG : -ENOMEM;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		errno = 0;
		size_t n = fread(buf + len, 1, cap - len - 1, fp);
		len += n;
		if (n == 0) {
			if (ferror(fp))
				rc = errno ? -errno : -EIO;
			break;
		}
	}
	fclose(fp);
	if (!rc && len > max)
		rc = -EFBIG;
	if (rc) {
		free(buf);
		return rc;
	}
	buf[len] = '\0';
	*out = buf;
	*lenp = len;
	return 0;
}
