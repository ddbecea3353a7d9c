/* Decoding and validation of input messages (content events, moderation decisions). */
#include "event.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "country.h"
#include "pbarena.h"
#include "pbjson.h"

#define EVENT_QUOTE_MAX 40

/* Times are milliseconds since the epoch, 0 for unknown; anything else must fall in
 * [2000-01-01, 3000-01-01): a deadline or a latency computed from it cannot overflow. */
#define EVENT_TIME_MIN_MS 946684800000LL
#define EVENT_TIME_MAX_MS 32503680000000LL

/* Ids are keys in Redis and in records: a megabyte id is an attack, not an id. */
#define EVENT_ID_MAX_BYTES 256

/* Free text bounded by the DSA statement field it feeds (characters): a decision whose text
 * is over the bound would leave an audit record the API refuses, or one too large for the
 * audit topic. */
static const struct {
	const char *name;
	size_t max_chars;
	const char *why;
} event_text_bounds[] = {
	{"explanation", 5000, "the DSA statement's decision_facts"},
	{"legal_ground", 500, "the DSA statement's legal ground"},
	{"category", 128, "a DSA category"},
	{"queue", 64, "a queue name"},
};

/* What the walk checks of a field, decided by its name: an id (name ends in _id) is bounded
 * in bytes, a time (_at_ms) in range, free text by event_text_bounds[TEXT - 1]; a map's keys
 * must differ. */
#define EVENT_CLASS_ID 0x1
#define EVENT_CLASS_TIME 0x2
#define EVENT_CLASS_MAP 0x4
#define EVENT_CLASS_TEXT(c) ((c) >> 3)

/* Per message type reachable from the input messages: the class of each field, in the
 * descriptor's field order, and its fields by number (the wire scan's lookup). A walk finds its
 * message's type once instead of comparing names or searching per field. */
#define EVENT_TYPES_MAX 32
#define EVENT_CLASSES_MAX 512
#define EVENT_NUMBERS_MAX 64 /* field numbers looked up directly; higher ones by protobuf-c */
static struct event_type {
	const ProtobufCMessageDescriptor *d;
	const unsigned *cls; /* [d->n_fields], in event_classes */
	const ProtobufCFieldDescriptor *by_number[EVENT_NUMBERS_MAX];
} event_types[EVENT_TYPES_MAX];
static size_t event_n_types;
static unsigned event_classes[EVENT_CLASSES_MAX];
static size_t event_n_classes;
static pthread_once_t event_types_once = PTHREAD_ONCE_INIT;

/* Nesting of messages a wire scan follows; ours are two deep. */
#define EVENT_WIRE_MAX_DEPTH 8

/* A walk over a decoded message, with the dotted path of where it is. */
struct event_walk {
	char *reason;
	bool paths; /* build field paths; only needed to word an error */
	struct pbjson_path path;
};

static int event_fail(char reason[EVENT_REASON_MAX], const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int event_fail(char reason[EVENT_REASON_MAX], const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, EVENT_REASON_MAX, fmt, ap);
	va_end(ap);
	/* Reasons go into protobuf strings and JSON: a cut character must not break them. */
	pbjson_utf8_scrub(reason);
	return -EINVAL;
}

static int event_check_message(struct event_walk *w, const ProtobufCMessage *m);

static bool event_has_suffix(const char *name, const char *suffix)
{
	size_t nl = strlen(name), sl = strlen(suffix);
	return nl > sl && !strcmp(name + nl - sl, suffix);
}

static unsigned event_classify(const ProtobufCFieldDescriptor *f)
{
	unsigned cls = 0;
	if (event_has_suffix(f->name, "_id"))
		cls |= EVENT_CLASS_ID;
	if (event_has_suffix(f->name, "_at_ms"))
		cls |= EVENT_CLASS_TIME;
	for (size_t i = 0; i < sizeof(event_text_bounds) / sizeof(event_text_bounds[0]); i++)
		if (!strcmp(f->name, event_text_bounds[i].name))
			cls |= (unsigned)(i + 1) << 3;
	if (pbjson_is_map_field(f))
		cls |= EVENT_CLASS_MAP;
	return cls;
}

static void event_types_add(const ProtobufCMessageDescriptor *d, int depth)
{
	for (size_t t = 0; t < event_n_types; t++)
		if (event_types[t].d == d)
			return; /* a message used twice */
	if (event_n_types == EVENT_TYPES_MAX || event_n_classes + d->n_fields > EVENT_CLASSES_MAX)
		return; /* full: classified and looked up on the fly */
	struct event_type *t = &event_types[event_n_types++];
	t->d = d;
	t->cls = &event_classes[event_n_classes];
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		event_classes[event_n_classes++] = event_classify(f);
		if (f->id < EVENT_NUMBERS_MAX)
			t->by_number[f->id] = f;
	}
	for (unsigned i = 0; i < d->n_fields; i++)
		if (d->fields[i].type == PROTOBUF_C_TYPE_MESSAGE && depth < EVENT_WIRE_MAX_DEPTH)
			event_types_add(d->fields[i].descriptor, depth + 1);
}

static void event_types_build(void)
{
	event_types_add(&arbiter__v1__content_event__descriptor, 0);
	event_types_add(&arbiter__v1__moderation_decision__descriptor, 0);
}

/* D's entry, or NULL for a type not reachable from the inputs. */
static const struct event_type *event_type_of(const ProtobufCMessageDescriptor *d)
{
	pthread_once(&event_types_once, event_types_build);
	for (size_t t = 0; t < event_n_types; t++)
		if (event_types[t].d == d)
			return &event_types[t];
	return NULL;
}

/* The class of field I of T's type D. */
static unsigned event_field_class(const struct event_type *t, const ProtobufCMessageDescriptor *d,
				  unsigned i)
{
	return t ? t->cls[i] : event_classify(&d->fields[i]);
}

/* Field number N of T's type D, or NULL. */
static const ProtobufCFieldDescriptor *
event_field_numbered(const struct event_type *t, const ProtobufCMessageDescriptor *d, uint64_t n)
{
	if (t && n < EVENT_NUMBERS_MAX)
		return t->by_number[n];
	return n <= UINT32_MAX ? protobuf_c_message_descriptor_get_field(d, (unsigned)n) : NULL;
}

/* Element size in a repeated field, for the types the walk looks into (0: skip). */
static size_t event_elt_size(ProtobufCType type)
{
	switch (type) {
	case PROTOBUF_C_TYPE_ENUM:
		return sizeof(int);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	default:
		return 0;
	}
}

/* A string of field F: ids and free text within their bounds. */
static int event_check_length(struct event_walk *w, unsigned cls, const char *s, size_t len)
{
	if ((cls & EVENT_CLASS_ID) && len > EVENT_ID_MAX_BYTES)
		return event_fail(w->reason, "field '%s' is %zu bytes; an id has at most %d",
				  w->path.s, len, EVENT_ID_MAX_BYTES);
	if (EVENT_CLASS_TEXT(cls)) {
		size_t i = EVENT_CLASS_TEXT(cls) - 1;
		size_t chars = 0;
		for (size_t k = 0; k < len; k++)
			chars += ((unsigned char)s[k] & 0xC0) != 0x80;
		if (chars > event_text_bounds[i].max_chars)
			return event_fail(
				w->reason,
				"field '%s' is %zu characters; at most %zu are taken (%s)",
				w->path.s, chars, event_text_bounds[i].max_chars,
				event_text_bounds[i].why);
	}
	return 0;
}

/* A time of field F (one named *_at_ms): 0, or within the sane range. */
static int event_check_time(struct event_walk *w, unsigned cls, int64_t v)
{
	if (!(cls & EVENT_CLASS_TIME) || v == 0)
		return 0;
	if (v < EVENT_TIME_MIN_MS || v >= EVENT_TIME_MAX_MS)
		return event_fail(w->reason,
				  "field '%s' is %lld: expected milliseconds since the epoch "
				  "between 2000 and 3000, or 0 for unknown",
				  w->path.s, (long long)v);
	return 0;
}

/* One value of field F at SRC: enums known, strings UTF-8 and bounded, times in range,
 * sub-messages recursively. */
static int event_check_value(struct event_walk *w, const ProtobufCFieldDescriptor *f, unsigned cls,
			     const void *src)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_ENUM: {
		int v = *(const int *)src;
		if (!protobuf_c_enum_descriptor_get_value(f->descriptor, v))
			return event_fail(w->reason, "unknown enum value %d for field '%s'", v,
					  w->path.s);
		return 0;
	}
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)src;
		size_t len = s ? strlen(s) : 0;
		if (s && !pbjson_utf8_valid(s, len))
			return event_fail(w->reason, "field '%s' is not valid UTF-8", w->path.s);
		return event_check_length(w, cls, s, len);
	}
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		return event_check_time(w, cls, *(const int64_t *)src);
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *sub = *(ProtobufCMessage *const *)src;
		return sub ? event_check_message(w, sub) : 0;
	}
	default:
		return 0;
	}
}

static int event_key_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Maps up to this many entries are checked pair by pair: no allocation, no sort. */
#define EVENT_MAP_PAIRWISE 8

/* A map given the same key twice: proto3 keeps the last, JSON input refuses it. Refused here
 * too, so that both formats mean the same. N log N, whatever N. */
static int event_check_map_keys(struct event_walk *w, const ProtobufCFieldDescriptor *kf,
				ProtobufCMessage *const *arr, size_t n)
{
	if (kf->type != PROTOBUF_C_TYPE_STRING || n < 2)
		return 0;
	const char *few[EVENT_MAP_PAIRWISE];
	const char **keys = n <= EVENT_MAP_PAIRWISE ? few : malloc(n * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (!arr[i])
			continue;
		const char *k = *(char *const *)((const char *)arr[i] + kf->offset);
		keys[m++] = k ? k : "";
	}
	const char *twice = NULL;
	if (keys == few) {
		for (size_t i = 1; i < m && !twice; i++)
			for (size_t j = 0; j < i && !twice; j++)
				if (!strcmp(keys[j], keys[i]))
					twice = keys[i];
	} else {
		qsort(keys, m, sizeof(*keys), event_key_cmp);
		for (size_t i = 1; i < m && !twice; i++)
			if (!strcmp(keys[i - 1], keys[i]))
				twice = keys[i];
	}
	int rc = 0;
	char q[EVENT_QUOTE_MAX];
	if (twice)
		rc = event_fail(w->reason, "field '%s' has the key %s twice", w->path.s,
				pbjson_quote(q, sizeof(q), twice, strlen(twice)));
	if (keys != few)
		free(keys);
	return rc;
}

static int event_check_map(struct event_walk *w, const ProtobufCFieldDescriptor *f,
			   ProtobufCMessage *const *arr, size_t n)
{
	const ProtobufCMessageDescriptor *ed = f->descriptor;
	const ProtobufCFieldDescriptor *kf = &ed->fields[0], *vf = &ed->fields[1];
	unsigned vcls = event_field_class(event_type_of(ed), ed, 1);
	char q[EVENT_QUOTE_MAX];
	int krc = event_check_map_keys(w, kf, arr, n);
	if (krc < 0)
		return krc;

	for (size_t i = 0; i < n; i++) {
		const char *e = (const char *)arr[i];
		size_t old;
		if (!e)
			continue;
		if (kf->type == PROTOBUF_C_TYPE_STRING) {
			const char *k = *(char *const *)(e + kf->offset);
			if (!k)
				k = "";
			if (!pbjson_utf8_valid(k, strlen(k)))
				return event_fail(w->reason,
						  "field '%s' has a key that is not valid UTF-8",
						  w->path.s);
			old = w->paths ?
				      pbjson_path_push(&w->path, "[%s]",
						       pbjson_quote(q, sizeof(q), k, strlen(k))) :
				      0;
		} else {
			old = w->paths ? pbjson_path_push(&w->path, "[%zu]", i) : 0;
		}
		int rc = event_check_value(w, vf, vcls, e + vf->offset);
		if (rc < 0)
			return rc;
		if (w->paths)
			pbjson_path_pop(&w->path, old);
	}
	return 0;
}

/* Walks every field of M generically, so content events and decisions share one check. */
static int event_check_message(struct event_walk *w, const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *desc = m->descriptor;
	const struct event_type *t = event_type_of(desc);
	const char *base = (const char *)m;

	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &desc->fields[i];
		unsigned cls = event_field_class(t, desc, i);
		int rc = 0;

		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)(base + f->quantifier_offset) != f->id)
			continue;
		size_t old = !w->paths   ? 0 :
			     w->path.len ? pbjson_path_push(&w->path, ".%s", f->name) :
					   pbjson_path_push(&w->path, "%s", f->name);
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + f->quantifier_offset);
			const char *arr = *(char *const *)(base + f->offset);
			if (n > 0 && arr && (cls & EVENT_CLASS_MAP)) {
				rc = event_check_map(w, f, (ProtobufCMessage *const *)arr, n);
			} else if (n > 0 && arr) {
				size_t sz = event_elt_size(f->type);
				for (size_t j = 0; sz && j < n && rc == 0; j++) {
					size_t o = w->paths ?
							   pbjson_path_push(&w->path, "[%zu]", j) :
							   0;
					rc = event_check_value(w, f, cls, arr + j * sz);
					if (rc == 0 && w->paths)
						pbjson_path_pop(&w->path, o);
				}
			}
		} else {
			rc = event_check_value(w, f, cls, base + f->offset);
		}
		if (rc < 0)
			return rc;
		if (w->paths)
			pbjson_path_pop(&w->path, old);
	}
	return 0;
}

/* Every enum value known to its descriptor (proto3 enums are open: unpack keeps
 * any number) and every string valid UTF-8, at any depth. */
static int event_check_fields(const ProtobufCMessage *m, char reason[EVENT_REASON_MAX])
{
	/* The common case is valid input: check without building paths, and
	 * walk again with them only to word the reason of a failure. */
	struct event_walk w = {.reason = reason};
	if (event_check_message(&w, m) == 0)
		return 0;
	w.paths = true;
	return event_check_message(&w, m);
}

static bool event_is_alpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool event_is_alnum(char c)
{
	return event_is_alpha(c) || (c >= '0' && c <= '9');
}

/* BCP-47-ish: [A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*, e.g. "sw", "bs-Latn", "zh-Hant-TW". */
static bool event_lang_ok(const char *s)
{
	size_t n = 0;
	if (strlen(s) > 64) /* the longest tags in use are about 15 */
		return false;

	while (event_is_alpha(s[n]))
		n++;
	if (n < 2 || n > 3)
		return false;
	s += n;
	while (*s == '-') {
		s++;
		n = 0;
		while (event_is_alnum(s[n]))
			n++;
		if (n < 1 || n > 8)
			return false;
		s += n;
	}
	return *s == '\0';
}

static int event_check_lang_country(const char *field_lang, const char *lang,
				    const char *field_country, const char *country,
				    char reason[EVENT_REASON_MAX])
{
	char q[EVENT_QUOTE_MAX];

	if (lang && lang[0] && !event_lang_ok(lang))
		return event_fail(reason, "field '%s': %s is not a BCP-47 language tag", field_lang,
				  pbjson_quote(q, sizeof(q), lang, strlen(lang)));
	if (country && country[0] && !country_is_iso3166(country))
		return event_fail(reason, "field '%s': %s is not an ISO 3166-1 alpha-2 code",
				  field_country,
				  pbjson_quote(q, sizeof(q), country, strlen(country)));
	return 0;
}

static bool event_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (unsigned shift = 0; *p < end && shift < 64; shift += 7) {
		uint8_t b = *(*p)++;
		*v |= (uint64_t)(b & 0x7F) << shift;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

/* protobuf-c hands strings over NUL-terminated, so a NUL inside one would hide the rest of it
 * from every check and from the rules ("hello\0forbidden phrase"). The wire still has the
 * lengths: refuse a string field of DESC (at any depth) that holds a NUL byte. */
static int event_wire_nul(const ProtobufCMessageDescriptor *desc, const uint8_t *p, size_t len,
			  int depth, char reason[EVENT_REASON_MAX])
{
	const uint8_t *end = p + len;
	const struct event_type *t = event_type_of(desc);
	while (p < end) {
		uint64_t key, n;
		if (!event_varint(&p, end, &key))
			return event_fail(reason, "undecodable protobuf (expected %s)", desc->name);
		switch (key & 7) {
		case 0:
			if (!event_varint(&p, end, &n))
				return event_fail(reason, "undecodable protobuf");
			continue;
		case 1:
		case 5:
			n = (key & 7) == 1 ? 8 : 4;
			break;
		case 2:
			if (!event_varint(&p, end, &n) || n > (uint64_t)(end - p))
				return event_fail(reason, "undecodable protobuf");
			break;
		default:
			return event_fail(reason, "undecodable protobuf (wire type %u)",
					  (unsigned)(key & 7));
		}
		if (n > (uint64_t)(end - p))
			return event_fail(reason, "undecodable protobuf");
		const ProtobufCFieldDescriptor *f =
			(key & 7) == 2 ? event_field_numbered(t, desc, key >> 3) : NULL;
		if (f && f->type == PROTOBUF_C_TYPE_STRING && memchr(p, '\0', n))
			return event_fail(reason, "field '%s' holds a NUL byte", f->name);
		if (f && f->type == PROTOBUF_C_TYPE_MESSAGE && depth < EVENT_WIRE_MAX_DEPTH) {
			int rc = event_wire_nul(f->descriptor, p, n, depth + 1, reason);
			if (rc < 0)
				return rc;
		}
		p += n;
	}
	return 0;
}

/* Moves *M, decoded from JSON, into an arena like a message decoded from protobuf, so that
 * every decoded message is freed the same way. Returns 0 or -ENOMEM (*M freed and NULL). */
static int event_rehome(const ProtobufCMessageDescriptor *desc, ProtobufCMessage **m)
{
	size_t len = protobuf_c_message_get_packed_size(*m);
	uint8_t *buf = malloc(len ? len : 1);
	ProtobufCMessage *copy = NULL;
	if (buf) {
		protobuf_c_message_pack(*m, buf);
		copy = pbarena_unpack(desc, len, buf);
		free(buf);
	}
	protobuf_c_message_free_unpacked(*m, NULL);
	*m = copy;
	return copy ? 0 : -ENOMEM;
}

/* Turns VALUE into a message of type DESC per FMT; the reason says why not: -EBADMSG when it
 * is no message of that type at all, -EINVAL when it holds what no field may. */
static int event_decode(const ProtobufCMessageDescriptor *desc, enum config_format fmt,
			const void *value, size_t len, ProtobufCMessage **out,
			char reason[EVENT_REASON_MAX])
{
	*out = NULL;
	reason[0] = '\0';
	if (len == 0 || !value) {
		event_fail(reason, "empty message");
		return -EBADMSG;
	}
	if (fmt == CONFIG_FORMAT_JSON) {
		int rc = pbjson_decode_text(desc, value, len, out, reason, EVENT_REASON_MAX);
		if (rc == -ENOMEM)
			return rc;
		if (rc < 0)
			return -EBADMSG;
		return event_rehome(desc, out);
	}
	*out = pbarena_unpack(desc, len, value);
	if (!*out) {
		event_fail(reason, "undecodable protobuf (expected %s)", desc->name);
		return -EBADMSG;
	}
	/* No zero byte anywhere, no NUL in a string: most messages skip the walk. */
	if (memchr(value, '\0', len) && event_wire_nul(desc, value, len, 0, reason) < 0) {
		pbarena_free(*out);
		*out = NULL;
		return -EINVAL;
	}
	return 0;
}

static int event_validate_content(const Arbiter__V1__ContentEvent *ev,
				  char reason[EVENT_REASON_MAX])
{
	if (!ev->event_id || !ev->event_id[0])
		return event_fail(reason, "missing event_id");
	if (!ev->content_id || !ev->content_id[0])
		return event_fail(reason, "missing content_id");
	int rc = event_check_fields(&ev->base, reason);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < ev->n_signals; i++) {
		const Arbiter__V1__ContentEvent__SignalsEntry *s = ev->signals[i];
		if (s && !isfinite(s->value))
			return event_fail(reason, "signal '%.64s' is not a finite number",
					  s->key ? s->key : "");
	}
	return event_check_lang_country("lang", ev->lang, "country", ev->country, reason);
}

static const char *event_kind_name(int kind)
{
	const ProtobufCEnumValue *v =
		protobuf_c_enum_descriptor_get_value(&arbiter__v1__decision_kind__descriptor, kind);
	return v ? v->name : "?";
}

static int event_validate_decision(const Arbiter__V1__ModerationDecision *d,
				   char reason[EVENT_REASON_MAX])
{
	if (!d->decision_id || !d->decision_id[0])
		return event_fail(reason, "missing decision_id");
	if (!d->content_id || !d->content_id[0])
		return event_fail(reason, "missing content_id");
	int rc = event_check_fields(&d->base, reason);
	if (rc < 0)
		return rc;
	switch (d->kind) {
	case ARBITER__V1__DECISION_KIND__DECISION_KIND_UNSPECIFIED:
		return event_fail(reason, "missing kind");
	case ARBITER__V1__DECISION_KIND__ACTION:
		if (d->action == ARBITER__V1__ACTION__ACTION_UNSPECIFIED)
			return event_fail(reason, "missing action (required for ACTION)");
		break;
	case ARBITER__V1__DECISION_KIND__APPEAL_FILED:
	case ARBITER__V1__DECISION_KIND__APPEAL_RESOLVED:
		if (!d->appeal_id || !d->appeal_id[0])
			return event_fail(reason, "missing appeal_id (required for %s)",
					  event_kind_name(d->kind));
		if (d->kind == ARBITER__V1__DECISION_KIND__APPEAL_RESOLVED &&
		    d->appeal_outcome == ARBITER__V1__APPEAL_OUTCOME__APPEAL_OUTCOME_UNSPECIFIED)
			return event_fail(reason,
					  "missing appeal_outcome (required for APPEAL_RESOLVED)");
		break;
	default:
		break;
	}
	for (size_t i = 0; i < d->n_territorial_scope; i++) {
		char field[40];
		snprintf(field, sizeof(field), "territorial_scope[%zu]", i);
		rc = event_check_lang_country("lang", NULL, field, d->territorial_scope[i], reason);
		if (rc < 0)
			return rc;
	}
	return event_check_lang_country("lang", d->lang, "country", d->country, reason);
}

int event_content_decode(enum config_format fmt, const void *value, size_t len,
			 Arbiter__V1__ContentEvent **out, char reason[EVENT_REASON_MAX])
{
	ProtobufCMessage *m;

	*out = NULL;
	int rc = event_decode(&arbiter__v1__content_event__descriptor, fmt, value, len, &m, reason);
	if (rc < 0)
		return rc;
	Arbiter__V1__ContentEvent *ev = (Arbiter__V1__ContentEvent *)m;
	rc = event_validate_content(ev, reason);
	if (rc < 0) {
		event_content_free(ev);
		return rc;
	}
	*out = ev;
	return 0;
}

void event_content_free(Arbiter__V1__ContentEvent *ev)
{
	if (ev)
		pbarena_free(&ev->base);
}

int event_decision_decode(enum config_format fmt, const void *value, size_t len,
			  Arbiter__V1__ModerationDecision **out, char reason[EVENT_REASON_MAX])
{
	ProtobufCMessage *m;

	*out = NULL;
	int rc = event_decode(&arbiter__v1__moderation_decision__descriptor, fmt, value, len, &m,
			      reason);
	if (rc < 0)
		return rc;
	Arbiter__V1__ModerationDecision *d = (Arbiter__V1__ModerationDecision *)m;
	rc = event_validate_decision(d, reason);
	if (rc < 0) {
		event_decision_free(d);
		return rc;
	}
	*out = d;
	return 0;
}

void event_decision_free(Arbiter__V1__ModerationDecision *d)
{
	if (d)
		pbarena_free(&d->base);
}
