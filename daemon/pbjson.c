/* JSON <-> protobuf-c messages, generic over the generated descriptors (no per-message code). */
#include "pbjson.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Deeper JSON than any arbiter message needs; bounds recursion on hostile input. */
#define PBJSON_MAX_DEPTH 64
#define PBJSON_QUOTE_MAX 48

#define PBJSON_MEMBER(msg, off) ((void *)((char *)(msg) + (off)))
#define PBJSON_CMEMBER(msg, off) ((const void *)((const char *)(msg) + (off)))

struct pbjson_dec {
	char *err;
	size_t errlen;
	int depth;
	struct pbjson_path path;
};

/* --- UTF-8 --- */

/* Length of the well-formed UTF-8 sequence at S (N bytes available), 0 if there is none. */
static size_t pbjson_utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)))
		return 0;
	if (len == 4 && (cp < 0x10000 || cp > 0x10ffff))
		return 0;
	return len;
}

bool pbjson_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		/* Most text is ASCII: eight bytes at a time while no high bit is set. */
		uint64_t w;
		while (len - i >= 8 && (memcpy(&w, p + i, 8), !(w & 0x8080808080808080ULL)))
			i += 8;
		if (i == len)
			break;
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		size_t n = pbjson_utf8_seq(p + i, len - i);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

void pbjson_utf8_scrub(char *s)
{
	unsigned char *p = (unsigned char *)s;
	size_t len = strlen(s);
	size_t i = 0;

	while (i < len) {
		size_t n = pbjson_utf8_seq(p + i, len - i);
		if (n == 0) {
			p[i] = '?';
			n = 1;
		}
		i += n;
	}
}

/* A malloc'd copy of S[0..LEN) with every byte that is not UTF-8 replaced by U+FFFD. */
static char *pbjson_utf8_fix(const char *s, size_t len, size_t *outlen)
{
	const unsigned char *p = (const unsigned char *)s;
	char *out = malloc(len * 3 + 1);
	size_t o = 0;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len;) {
		size_t n = pbjson_utf8_seq(p + i, len - i);
		if (n == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		} else {
			memcpy(out + o, s + i, n);
			o += n;
			i += n;
		}
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

/* Escapes the character at S[I] into TMP (at least 5 bytes); returns the bytes
 * consumed and sets *TN to the bytes written. */
static size_t pbjson_quote_char(const char *s, size_t len, size_t i, char *tmp, size_t *tn)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = pbjson_utf8_seq(p + i, len - i);

	if (n == 0 || p[i] < 0x20 || p[i] == 0x7f) {
		static const char hex[] = "0123456789abcdef";
		tmp[0] = '\\';
		tmp[1] = 'x';
		tmp[2] = hex[p[i] >> 4];
		tmp[3] = hex[p[i] & 15];
		*tn = 4;
		return 1;
	}
	if (p[i] == '"' || p[i] == '\\') {
		tmp[0] = '\\';
		tmp[1] = (char)p[i];
		*tn = 2;
		return 1;
	}
	memcpy(tmp, s + i, n);
	*tn = n;
	return n;
}

const char *pbjson_quote(char *buf, size_t size, const char *s, size_t len)
{
	size_t max = size - 3; /* quotes and NUL */
	size_t full = 0, tn, o = 0;
	char tmp[8];

	for (size_t i = 0; i < len;) {
		i += pbjson_quote_char(s, len, i, tmp, &tn);
		full += tn;
	}
	size_t limit = full <= max ? max : max - 3;
	buf[o++] = '"';
	for (size_t i = 0; i < len;) {
		size_t n = pbjson_quote_char(s, len, i, tmp, &tn);
		if (o - 1 + tn > limit)
			break;
		memcpy(buf + o, tmp, tn);
		o += tn;
		i += n;
	}
	if (full > max) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

/* --- decoding: errors and paths --- */

static int pbjson_fail(struct pbjson_dec *d, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Fills ERR with "field '<path>': <what>" (just <what> at the top level). */
static int pbjson_fail(struct pbjson_dec *d, int rc, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	if (!d->err || d->errlen == 0)
		return rc;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (d->path.len > 0)
		snprintf(d->err, d->errlen, "field '%s': %s", d->path.s, what);
	else
		snprintf(d->err, d->errlen, "%s", what);
	pbjson_utf8_scrub(d->err);
	return rc;
}

static int pbjson_oom(struct pbjson_dec *d)
{
	return pbjson_fail(d, -ENOMEM, "out of memory");
}

size_t pbjson_path_push(struct pbjson_path *p, const char *fmt, ...)
{
	size_t old = p->len;
	va_list ap;

	if (old < sizeof(p->s) - 1) {
		va_start(ap, fmt);
		int n = vsnprintf(p->s + old, sizeof(p->s) - old, fmt, ap);
		va_end(ap);
		if (n > 0) {
			size_t end = old + (size_t)n;
			p->len = end < sizeof(p->s) - 1 ? end : sizeof(p->s) - 1;
		}
	}
	return old;
}

void pbjson_path_pop(struct pbjson_path *p, size_t old)
{
	p->len = old;
	p->s[old] = '\0';
}

static size_t pbjson_path_field(struct pbjson_dec *d, const char *name)
{
	return d->path.len ? pbjson_path_push(&d->path, ".%s", name) :
			     pbjson_path_push(&d->path, "%s", name);
}

static size_t pbjson_path_key(struct pbjson_dec *d, const char *key)
{
	char q[PBJSON_QUOTE_MAX];
	return pbjson_path_push(&d->path, "[%s]", pbjson_quote(q, sizeof(q), key, strlen(key)));
}

/* "unknown field '<path>.<key>'", the key (anything a client sent) made printable. */
static int pbjson_fail_unknown(struct pbjson_dec *d, const char *key)
{
	char safe[64];
	size_t n = 0;

	for (; key[n] && n < sizeof(safe) - 1; n++) {
		unsigned char c = (unsigned char)key[n];
		safe[n] = c < 0x20 || c == 0x7f || c == '\'' ? '?' : (char)c;
	}
	safe[n] = '\0';
	pbjson_path_field(d, safe);
	if (d->err && d->errlen) {
		snprintf(d->err, d->errlen, "unknown field '%s'", d->path.s);
		pbjson_utf8_scrub(d->err);
	}
	return -EINVAL;
}

static const char *pbjson_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
		return "integer";
	case JSON_REAL:
		return "real number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	case JSON_NULL:
		return "null";
	}
	return "?";
}

/* --- descriptors --- */

static size_t pbjson_elt_size(ProtobufCType type)
{
	switch (type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_ENUM:
		return sizeof(int32_t);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return sizeof(int64_t);
	case PROTOBUF_C_TYPE_FLOAT:
		return sizeof(float);
	case PROTOBUF_C_TYPE_DOUBLE:
		return sizeof(double);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	}
	return 0;
}

bool pbjson_is_map_field(const ProtobufCFieldDescriptor *f)
{
	if (f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_MESSAGE)
		return false;
	const ProtobufCMessageDescriptor *e = f->descriptor;
	size_t n = strlen(e->short_name);
	if (e->n_fields != 2 || n <= 5 || strcmp(e->short_name + n - 5, "Entry") != 0)
		return false;
	const ProtobufCFieldDescriptor *k = &e->fields[0], *v = &e->fields[1];
	if (k->id != 1 || v->id != 2 || strcmp(k->name, "key") != 0 ||
	    strcmp(v->name, "value") != 0)
		return false;
	switch (k->type) {
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_DOUBLE:
	case PROTOBUF_C_TYPE_BYTES:
	case PROTOBUF_C_TYPE_MESSAGE:
	case PROTOBUF_C_TYPE_ENUM:
		return false;
	default:
		return true;
	}
}

/* --- base64 (RFC 4648; decoding also takes the URL-safe alphabet and no padding) --- */

static const char pbjson_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int pbjson_b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

/* Returns 0, -EINVAL for malformed input or -ENOMEM; an empty input gives {0, NULL}. */
static int pbjson_b64_decode(const char *s, size_t len, ProtobufCBinaryData *out)
{
	size_t pad = 0;

	while (pad < 2 && len > pad && s[len - 1 - pad] == '=')
		pad++;
	size_t n = len - pad;
	if (pad > 0 && (len % 4 != 0 || n % 4 == 0))
		return -EINVAL;
	if (n % 4 == 1)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (pbjson_b64_val((unsigned char)s[i]) < 0)
			return -EINVAL;
	size_t olen = n / 4 * 3 + (n % 4 == 2 ? 1 : n % 4 == 3 ? 2 : 0);
	out->len = 0;
	out->data = NULL;
	if (olen == 0)
		return 0;
	uint8_t *o = malloc(olen);
	if (!o)
		return -ENOMEM;
	size_t k = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		acc = (acc << 6) | (uint32_t)pbjson_b64_val((unsigned char)s[i]);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			o[k++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	out->data = o;
	out->len = k;
	return 0;
}

static json_t *pbjson_b64_encode(const ProtobufCBinaryData *b)
{
	size_t olen = (b->len + 2) / 3 * 4;
	char *o = malloc(olen + 1);
	size_t k = 0;

	if (!o)
		return NULL;
	for (size_t i = 0; i < b->len; i += 3) {
		uint32_t v = (uint32_t)b->data[i] << 16;
		if (i + 1 < b->len)
			v |= (uint32_t)b->data[i + 1] << 8;
		if (i + 2 < b->len)
			v |= b->data[i + 2];
		o[k++] = pbjson_b64[(v >> 18) & 63];
		o[k++] = pbjson_b64[(v >> 12) & 63];
		o[k++] = i + 1 < b->len ? pbjson_b64[(v >> 6) & 63] : '=';
		o[k++] = i + 2 < b->len ? pbjson_b64[v & 63] : '=';
	}
	o[k] = '\0';
	json_t *j = json_stringn(o, k);
	free(o);
	return j;
}

/* --- decoding: scalars --- */

/* Parses an optional '-' and decimal digits, nothing else. Returns false on
 * bad syntax; *overflow is set when the magnitude exceeds UINT64_MAX. */
static bool pbjson_parse_decimal(const char *s, size_t len, bool *neg, uint64_t *mag,
				 bool *overflow)
{
	size_t i = 0;

	*neg = false;
	*mag = 0;
	*overflow = false;
	if (i < len && s[i] == '-') {
		*neg = true;
		i++;
	}
	if (i == len)
		return false;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		unsigned dgt = (unsigned)(s[i] - '0');
		if (*mag > (UINT64_MAX - dgt) / 10)
			*overflow = true;
		else
			*mag = *mag * 10 + dgt;
	}
	return true;
}

/* Reads an integer JSON value (integer, integral real or decimal string) as
 * a signed value within [LO, HI]; TNAME names the type in errors. */
static int pbjson_dec_signed(struct pbjson_dec *d, const json_t *v, int64_t lo, int64_t hi,
			     const char *tname, int64_t *out)
{
	char q[PBJSON_QUOTE_MAX];
	int64_t x;

	if (json_is_integer(v)) {
		x = (int64_t)json_integer_value(v);
	} else if (json_is_real(v)) {
		double r = json_real_value(v);
		if (r != trunc(r))
			return pbjson_fail(d, -EINVAL, "%.17g is not an integer", r);
		if (r < -9223372036854775808.0 || r >= 9223372036854775808.0)
			return pbjson_fail(d, -EINVAL, "%.17g is out of range for %s", r, tname);
		x = (int64_t)r;
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v);
		size_t len = json_string_length(v);
		bool neg, ovf;
		uint64_t mag;
		if (!pbjson_parse_decimal(s, len, &neg, &mag, &ovf))
			return pbjson_fail(d, -EINVAL, "%s is not an integer",
					   pbjson_quote(q, sizeof(q), s, len));
		if (ovf || (neg && mag > (uint64_t)INT64_MAX + 1) || (!neg && mag > INT64_MAX))
			return pbjson_fail(d, -EINVAL, "%s is out of range for %s",
					   pbjson_quote(q, sizeof(q), s, len), tname);
		x = neg ? (mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag) :
			  (int64_t)mag;
	} else {
		return pbjson_fail(d, -EINVAL, "expected an integer, got %s", pbjson_type_name(v));
	}
	if (x < lo || x > hi)
		return pbjson_fail(d, -EINVAL, "%" PRId64 " is out of range for %s", x, tname);
	*out = x;
	return 0;
}

static int pbjson_dec_unsigned(struct pbjson_dec *d, const json_t *v, uint64_t hi,
			       const char *tname, uint64_t *out)
{
	char q[PBJSON_QUOTE_MAX];
	uint64_t x;

	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);
		if (i < 0)
			return pbjson_fail(d, -EINVAL,
					   "%" JSON_INTEGER_FORMAT " is out of range for %s", i,
					   tname);
		x = (uint64_t)i;
	} else if (json_is_real(v)) {
		double r = json_real_value(v);
		if (r != trunc(r))
			return pbjson_fail(d, -EINVAL, "%.17g is not an integer", r);
		if (r < 0 || r >= 18446744073709551616.0)
			return pbjson_fail(d, -EINVAL, "%.17g is out of range for %s", r, tname);
		x = (uint64_t)r;
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v);
		size_t len = json_string_length(v);
		bool neg, ovf;
		uint64_t mag;
		if (!pbjson_parse_decimal(s, len, &neg, &mag, &ovf))
			return pbjson_fail(d, -EINVAL, "%s is not an integer",
					   pbjson_quote(q, sizeof(q), s, len));
		if (ovf || (neg && mag != 0))
			return pbjson_fail(d, -EINVAL, "%s is out of range for %s",
					   pbjson_quote(q, sizeof(q), s, len), tname);
		x = mag;
	} else {
		return pbjson_fail(d, -EINVAL, "expected an integer, got %s", pbjson_type_name(v));
	}
	if (x > hi)
		return pbjson_fail(d, -EINVAL, "%" PRIu64 " is out of range for %s", x, tname);
	*out = x;
	return 0;
}

static int pbjson_dec_double(struct pbjson_dec *d, const json_t *v, double *out)
{
	char q[PBJSON_QUOTE_MAX];

	if (json_is_integer(v)) {
		*out = (double)json_integer_value(v);
	} else if (json_is_real(v)) {
		*out = json_real_value(v);
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v);
		if (strcmp(s, "NaN") == 0)
			*out = NAN;
		else if (strcmp(s, "Infinity") == 0)
			*out = INFINITY;
		else if (strcmp(s, "-Infinity") == 0)
			*out = -INFINITY;
		else
			return pbjson_fail(d, -EINVAL, "%s is not a number",
					   pbjson_quote(q, sizeof(q), s, json_string_length(v)));
	} else {
		return pbjson_fail(d, -EINVAL, "expected a number, got %s", pbjson_type_name(v));
	}
	return 0;
}

static int pbjson_dec_string(struct pbjson_dec *d, const json_t *v, char **out)
{
	if (!json_is_string(v))
		return pbjson_fail(d, -EINVAL, "expected a string, got %s", pbjson_type_name(v));
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	if (memchr(s, '\0', len))
		return pbjson_fail(d, -EINVAL, "string contains a NUL character");
	char *c = malloc(len + 1);
	if (!c)
		return pbjson_oom(d);
	memcpy(c, s, len + 1);
	*out = c;
	return 0;
}

static int pbjson_dec_enum(struct pbjson_dec *d, const ProtobufCEnumDescriptor *ed, const json_t *v,
			   int32_t *out)
{
	char q[PBJSON_QUOTE_MAX];

	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value_by_name(ed, s);
		if (!ev || strlen(s) != json_string_length(v))
			return pbjson_fail(d, -EINVAL, "unknown enum value %s",
					   pbjson_quote(q, sizeof(q), s, json_string_length(v)));
		*out = ev->value;
		return 0;
	}
	if (json_is_integer(v) || json_is_real(v)) {
		int64_t x;
		int rc = pbjson_dec_signed(d, v, INT32_MIN, INT32_MAX, "enum", &x);
		if (rc == 0)
			*out = (int32_t)x;
		return rc;
	}
	return pbjson_fail(d, -EINVAL, "expected an enum value name, got %s", pbjson_type_name(v));
}

static int pbjson_dec_message(struct pbjson_dec *d, const ProtobufCMessageDescriptor *desc,
			      const json_t *v, ProtobufCMessage **out);

/* Decodes one value of field F's type into DST; writes DST only on success. */
static int pbjson_dec_value(struct pbjson_dec *d, const ProtobufCFieldDescriptor *f,
			    const json_t *v, void *dst)
{
	int64_t i = 0;
	uint64_t u = 0;
	double r = 0;
	int rc;

	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		rc = pbjson_dec_signed(d, v, INT32_MIN, INT32_MAX, "int32", &i);
		if (rc == 0)
			*(int32_t *)dst = (int32_t)i;
		return rc;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		rc = pbjson_dec_signed(d, v, INT64_MIN, INT64_MAX, "int64", &i);
		if (rc == 0)
			*(int64_t *)dst = i;
		return rc;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		rc = pbjson_dec_unsigned(d, v, UINT32_MAX, "uint32", &u);
		if (rc == 0)
			*(uint32_t *)dst = (uint32_t)u;
		return rc;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		rc = pbjson_dec_unsigned(d, v, UINT64_MAX, "uint64", &u);
		if (rc == 0)
			*(uint64_t *)dst = u;
		return rc;
	case PROTOBUF_C_TYPE_FLOAT:
		rc = pbjson_dec_double(d, v, &r);
		/* Past this a double rounds to infinity as a float (FLT_MAX + half an ulp). */
		if (rc == 0 && isfinite(r) && fabs(r) >= 0x1.ffffffp+127)
			rc = pbjson_fail(d, -EINVAL, "%.17g is out of range for float", r);
		if (rc == 0)
			*(float *)dst = (float)r;
		return rc;
	case PROTOBUF_C_TYPE_DOUBLE:
		rc = pbjson_dec_double(d, v, &r);
		if (rc == 0)
			*(double *)dst = r;
		return rc;
	case PROTOBUF_C_TYPE_BOOL:
		if (!json_is_boolean(v))
			return pbjson_fail(d, -EINVAL, "expected a boolean, got %s",
					   pbjson_type_name(v));
		*(protobuf_c_boolean *)dst = json_is_true(v);
		return 0;
	case PROTOBUF_C_TYPE_ENUM: {
		int32_t e = 0;
		rc = pbjson_dec_enum(d, f->descriptor, v, &e);
		if (rc == 0)
			*(int32_t *)dst = e;
		return rc;
	}
	case PROTOBUF_C_TYPE_STRING:
		return pbjson_dec_string(d, v, (char **)dst);
	case PROTOBUF_C_TYPE_BYTES: {
		if (!json_is_string(v))
			return pbjson_fail(d, -EINVAL, "expected a base64 string, got %s",
					   pbjson_type_name(v));
		ProtobufCBinaryData b;
		rc = pbjson_b64_decode(json_string_value(v), json_string_length(v), &b);
		if (rc == -ENOMEM)
			return pbjson_oom(d);
		if (rc < 0)
			return pbjson_fail(d, -EINVAL, "invalid base64");
		*(ProtobufCBinaryData *)dst = b;
		return 0;
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		return pbjson_dec_message(d, f->descriptor, v, (ProtobufCMessage **)dst);
	}
	return pbjson_fail(d, -EINVAL, "unsupported field type %d", (int)f->type);
}

/* A map key arrives as a JSON object key, always a string. */
static int pbjson_dec_map_key(struct pbjson_dec *d, const ProtobufCFieldDescriptor *kf,
			      const char *key, void *dst)
{
	char q[PBJSON_QUOTE_MAX];

	if (kf->type == PROTOBUF_C_TYPE_STRING) {
		char *c = strdup(key);
		if (!c)
			return pbjson_oom(d);
		*(char **)dst = c;
		return 0;
	}
	if (kf->type == PROTOBUF_C_TYPE_BOOL) {
		if (strcmp(key, "true") != 0 && strcmp(key, "false") != 0)
			return pbjson_fail(d, -EINVAL, "map key %s is not a boolean",
					   pbjson_quote(q, sizeof(q), key, strlen(key)));
		*(protobuf_c_boolean *)dst = key[0] == 't';
		return 0;
	}
	json_t *s = json_string(key);
	if (!s)
		return pbjson_oom(d);
	int rc = pbjson_dec_value(d, kf, s, dst);
	json_decref(s);
	return rc;
}

static int pbjson_dec_map(struct pbjson_dec *d, const ProtobufCFieldDescriptor *f,
			  ProtobufCMessage *msg, const json_t *v)
{
	const ProtobufCMessageDescriptor *ed = f->descriptor;

	if (!json_is_object(v))
		return pbjson_fail(d, -EINVAL, "expected an object, got %s", pbjson_type_name(v));
	size_t n = json_object_size(v);
	if (n == 0)
		return 0;
	ProtobufCMessage **arr = calloc(n, sizeof(*arr));
	if (!arr)
		return pbjson_oom(d);
	/* From here on MSG owns the array: a failure frees what was decoded. */
	*(ProtobufCMessage ***)PBJSON_MEMBER(msg, f->offset) = arr;
	*(size_t *)PBJSON_MEMBER(msg, f->quantifier_offset) = n;

	size_t i = 0;
	json_t *obj = (json_t *)v; /* jansson's iterators take no const */
	for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
		const char *key = json_object_iter_key(it);
		const json_t *val = json_object_iter_value(it);
		size_t old = pbjson_path_key(d, key);
		ProtobufCMessage *e = malloc(ed->sizeof_message);
		if (!e)
			return pbjson_oom(d);
		protobuf_c_message_init(ed, e);
		arr[i++] = e;
		int rc = pbjson_dec_map_key(d, &ed->fields[0], key,
					    PBJSON_MEMBER(e, ed->fields[0].offset));
		if (rc == 0)
			rc = pbjson_dec_value(d, &ed->fields[1], val,
					      PBJSON_MEMBER(e, ed->fields[1].offset));
		if (rc < 0)
			return rc;
		pbjson_path_pop(&d->path, old);
	}
	return 0;
}

static int pbjson_dec_repeated(struct pbjson_dec *d, const ProtobufCFieldDescriptor *f,
			       ProtobufCMessage *msg, const json_t *v)
{
	if (!json_is_array(v))
		return pbjson_fail(d, -EINVAL, "expected an array, got %s", pbjson_type_name(v));
	size_t n = json_array_size(v);
	if (n == 0)
		return 0;
	size_t sz = pbjson_elt_size(f->type);
	/* Zeroed, so that a failure half way leaves only NULLs for free_unpacked to skip. */
	char *arr = calloc(n, sz);
	if (!arr)
		return pbjson_oom(d);
	*(void **)PBJSON_MEMBER(msg, f->offset) = arr;
	*(size_t *)PBJSON_MEMBER(msg, f->quantifier_offset) = n;
	for (size_t i = 0; i < n; i++) {
		size_t old = pbjson_path_push(&d->path, "[%zu]", i);
		int rc = pbjson_dec_value(d, f, json_array_get(v, i), arr + i * sz);
		if (rc < 0)
			return rc;
		pbjson_path_pop(&d->path, old);
	}
	return 0;
}

static int pbjson_dec_field(struct pbjson_dec *d, const ProtobufCMessageDescriptor *desc,
			    const ProtobufCFieldDescriptor *f, ProtobufCMessage *msg,
			    const json_t *v)
{
	void *dst = PBJSON_MEMBER(msg, f->offset);
	int rc;

	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return pbjson_is_map_field(f) ? pbjson_dec_map(d, f, msg, v) :
						pbjson_dec_repeated(d, f, msg, v);
	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
		uint32_t *which = PBJSON_MEMBER(msg, f->quantifier_offset);
		if (*which != 0 && *which != f->id) {
			const ProtobufCFieldDescriptor *other =
				protobuf_c_message_descriptor_get_field(desc, *which);
			return pbjson_fail(d, -EINVAL, "'%s' of the same oneof is set too",
					   other ? other->name : "?");
		}
		rc = pbjson_dec_value(d, f, v, dst);
		if (rc == 0)
			*which = f->id;
		return rc;
	}
	rc = pbjson_dec_value(d, f, v, dst);
	/* Optional scalars and bytes carry has_<name>; strings and messages are pointers. */
	if (rc == 0 && f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
	    f->type != PROTOBUF_C_TYPE_MESSAGE)
		*(protobuf_c_boolean *)PBJSON_MEMBER(msg, f->quantifier_offset) = 1;
	return rc;
}

/* The field KEY names: its proto name ("event_id"), or the lowerCamelCase name the proto3 JSON
 * mapping gives it ("eventId"), which parsers must accept. NULL for neither. */
static const ProtobufCFieldDescriptor *
pbjson_field_by_json_name(const ProtobufCMessageDescriptor *desc, const char *key)
{
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field_by_name(desc, key);
	if (f)
		return f;
	char snake[128];
	size_t n = 0;
	for (const char *c = key; *c; c++) {
		if (n + 3 > sizeof(snake) || *c == '_')
			return NULL; /* a camel name has no '_' */
		if (*c >= 'A' && *c <= 'Z') {
			snake[n++] = '_';
			snake[n++] = (char)(*c - 'A' + 'a');
		} else {
			snake[n++] = *c;
		}
	}
	snake[n] = '\0';
	return protobuf_c_message_descriptor_get_field_by_name(desc, snake);
}

/* Builds a message the way protobuf_c_message_unpack does (malloc, init, owned
 * members), so that protobuf_c_message_free_unpacked releases it. */
static int pbjson_dec_message(struct pbjson_dec *d, const ProtobufCMessageDescriptor *desc,
			      const json_t *v, ProtobufCMessage **out)
{
	if (!json_is_object(v))
		return pbjson_fail(d, -EINVAL, "expected an object, got %s", pbjson_type_name(v));
	if (d->depth >= PBJSON_MAX_DEPTH)
		return pbjson_fail(d, -EINVAL, "nested too deeply");
	ProtobufCMessage *msg = malloc(desc->sizeof_message);
	if (!msg)
		return pbjson_oom(d);
	protobuf_c_message_init(desc, msg);
	d->depth++;

	int rc = 0;
	json_t *obj = (json_t *)v; /* jansson's iterators take no const */
	bool *seen = calloc(desc->n_fields + 1, sizeof(*seen));
	if (!seen) {
		protobuf_c_message_free_unpacked(msg, NULL);
		return pbjson_oom(d);
	}
	for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
		const char *key = json_object_iter_key(it);
		const json_t *val = json_object_iter_value(it);
		const ProtobufCFieldDescriptor *f = pbjson_field_by_json_name(desc, key);
		if (!f) {
			rc = pbjson_fail_unknown(d, key);
			break;
		}
		if (seen[f - desc->fields]) {
			rc = pbjson_fail(d, -EINVAL, "field '%s' given twice (as %s and %s)",
					 f->name, f->name, key);
			break;
		}
		seen[f - desc->fields] = true;
		size_t old = pbjson_path_field(d, key);
		if (!json_is_null(val))
			rc = pbjson_dec_field(d, desc, f, msg, val);
		if (rc < 0)
			break;
		pbjson_path_pop(&d->path, old);
	}
	free(seen);
	d->depth--;
	if (rc < 0) {
		protobuf_c_message_free_unpacked(msg, NULL);
		return rc;
	}
	*out = msg;
	return 0;
}

int pbjson_decode(const ProtobufCMessageDescriptor *desc, const json_t *obj, ProtobufCMessage **out,
		  char *err, size_t errlen)
{
	struct pbjson_dec d = {.err = err, .errlen = errlen};

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (!obj || !json_is_object(obj))
		return pbjson_fail(&d, -EINVAL, "expected a JSON object, got %s",
				   obj ? pbjson_type_name(obj) : "nothing");
	return pbjson_dec_message(&d, desc, obj, out);
}

int pbjson_decode_text(const ProtobufCMessageDescriptor *desc, const char *text, size_t len,
		       ProtobufCMessage **out, char *err, size_t errlen)
{
	json_error_t je;

	*out = NULL;
	json_t *root = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		if (err && errlen) {
			if (je.line > 1)
				snprintf(err, errlen, "bad JSON: %s at line %d column %d", je.text,
					 je.line, je.column);
			else
				snprintf(err, errlen, "bad JSON: %s at column %d", je.text,
					 je.column);
			pbjson_utf8_scrub(err);
		}
		return -EINVAL;
	}
	int rc = pbjson_decode(desc, root, out, err, errlen);
	json_decref(root);
	return rc;
}

/* --- encoding --- */

/* The shortest decimal that reads back as F, so that 0.9f is written 0.9. */
static double pbjson_float_to_double(float f)
{
	char buf[32];

	for (int prec = 6; prec <= 9; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, (double)f);
		double d = strtod(buf, NULL);
		if ((float)d == f)
			return d;
	}
	return (double)f;
}

static json_t *pbjson_enc_double(double v)
{
	if (isnan(v))
		return json_string("NaN");
	if (isinf(v))
		return json_string(v > 0 ? "Infinity" : "-Infinity");
	return json_real(v);
}

static json_t *pbjson_enc_string(const char *s)
{
	if (!s)
		s = "";
	size_t len = strlen(s);
	if (pbjson_utf8_valid(s, len))
		return json_stringn(s, len);
	size_t flen;
	char *fixed = pbjson_utf8_fix(s, len, &flen);
	if (!fixed)
		return NULL;
	json_t *j = json_stringn(fixed, flen);
	free(fixed);
	return j;
}

static json_t *pbjson_enc_message(const ProtobufCMessage *msg);

static json_t *pbjson_enc_value(const ProtobufCFieldDescriptor *f, const void *src)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		return json_integer(*(const int32_t *)src);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return json_integer(*(const uint32_t *)src);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		return json_integer(*(const int64_t *)src);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64: {
		uint64_t u = *(const uint64_t *)src;
		if (u <= INT64_MAX)
			return json_integer((json_int_t)u);
		char buf[24];
		snprintf(buf, sizeof(buf), "%" PRIu64, u);
		return json_string(buf);
	}
	case PROTOBUF_C_TYPE_FLOAT: {
		float v = *(const float *)src;
		return pbjson_enc_double(isfinite(v) ? pbjson_float_to_double(v) : (double)v);
	}
	case PROTOBUF_C_TYPE_DOUBLE:
		return pbjson_enc_double(*(const double *)src);
	case PROTOBUF_C_TYPE_BOOL:
		return json_boolean(*(const protobuf_c_boolean *)src);
	case PROTOBUF_C_TYPE_ENUM: {
		int32_t e = *(const int32_t *)src;
		const ProtobufCEnumValue *ev =
			protobuf_c_enum_descriptor_get_value(f->descriptor, e);
		return ev ? json_string(ev->name) : json_integer(e);
	}
	case PROTOBUF_C_TYPE_STRING:
		return pbjson_enc_string(*(char *const *)src);
	case PROTOBUF_C_TYPE_BYTES:
		return pbjson_b64_encode(src);
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *m = *(ProtobufCMessage *const *)src;
		return m ? pbjson_enc_message(m) : json_object();
	}
	}
	return NULL;
}

/* Object keys are strings: a map's non-string keys are written in decimal. */
static json_t *pbjson_enc_map(const ProtobufCFieldDescriptor *f, ProtobufCMessage *const *arr,
			      size_t n)
{
	const ProtobufCMessageDescriptor *ed = f->descriptor;
	const ProtobufCFieldDescriptor *kf = &ed->fields[0], *vf = &ed->fields[1];
	json_t *o = json_object();

	if (!o)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (!arr[i])
			continue;
		const void *k = PBJSON_CMEMBER(arr[i], kf->offset);
		char buf[24];
		char *fixed = NULL;
		const char *key = buf;
		switch (kf->type) {
		case PROTOBUF_C_TYPE_STRING: {
			key = *(char *const *)k ? *(char *const *)k : "";
			size_t len = strlen(key), flen;
			if (!pbjson_utf8_valid(key, len)) {
				fixed = pbjson_utf8_fix(key, len, &flen);
				if (!fixed)
					goto fail;
				key = fixed;
			}
			break;
		}
		case PROTOBUF_C_TYPE_BOOL:
			key = *(const protobuf_c_boolean *)k ? "true" : "false";
			break;
		case PROTOBUF_C_TYPE_UINT32:
		case PROTOBUF_C_TYPE_FIXED32:
			snprintf(buf, sizeof(buf), "%" PRIu32, *(const uint32_t *)k);
			break;
		case PROTOBUF_C_TYPE_UINT64:
		case PROTOBUF_C_TYPE_FIXED64:
			snprintf(buf, sizeof(buf), "%" PRIu64, *(const uint64_t *)k);
			break;
		case PROTOBUF_C_TYPE_INT64:
		case PROTOBUF_C_TYPE_SINT64:
		case PROTOBUF_C_TYPE_SFIXED64:
			snprintf(buf, sizeof(buf), "%" PRId64, *(const int64_t *)k);
			break;
		default:
			snprintf(buf, sizeof(buf), "%" PRId32, *(const int32_t *)k);
			break;
		}
		json_t *v = pbjson_enc_value(vf, PBJSON_CMEMBER(arr[i], vf->offset));
		int rc = v ? json_object_set_new(o, key, v) : -1;
		free(fixed);
		if (rc < 0)
			goto fail;
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

static json_t *pbjson_enc_repeated(const ProtobufCFieldDescriptor *f, const void *arr, size_t n)
{
	size_t sz = pbjson_elt_size(f->type);
	json_t *a = json_array();

	if (!a)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		json_t *v = pbjson_enc_value(f, (const char *)arr + i * sz);
		if (!v || json_array_append_new(a, v) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static bool pbjson_is_zero(const ProtobufCFieldDescriptor *f, const void *src)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)src;
		return !s || !s[0];
	}
	case PROTOBUF_C_TYPE_BYTES:
		return ((const ProtobufCBinaryData *)src)->len == 0;
	case PROTOBUF_C_TYPE_MESSAGE:
		return *(ProtobufCMessage *const *)src == NULL;
	default: {
		/* Bitwise, so that -0.0 counts as set, as on the wire. */
		const unsigned char *p = src;
		for (size_t i = 0; i < pbjson_elt_size(f->type); i++)
			if (p[i])
				return false;
		return true;
	}
	}
}

static json_t *pbjson_enc_message(const ProtobufCMessage *msg)
{
	const ProtobufCMessageDescriptor *desc = msg->descriptor;
	json_t *o = json_object();

	if (!o)
		return NULL;
	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &desc->fields[i];
		const void *src = PBJSON_CMEMBER(msg, f->offset);
		json_t *v;

		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			if (*(const uint32_t *)PBJSON_CMEMBER(msg, f->quantifier_offset) != f->id)
				continue;
			v = pbjson_enc_value(f, src);
		} else if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)PBJSON_CMEMBER(msg, f->quantifier_offset);
			const void *arr = *(void *const *)src;
			if (n == 0 || !arr)
				continue;
			v = pbjson_is_map_field(f) ? pbjson_enc_map(f, arr, n) :
						     pbjson_enc_repeated(f, arr, n);
		} else if (f->label == PROTOBUF_C_LABEL_OPTIONAL) {
			if (f->type == PROTOBUF_C_TYPE_STRING ||
			    f->type == PROTOBUF_C_TYPE_MESSAGE) {
				const void *p = *(void *const *)src;
				if (!p || p == f->default_value)
					continue;
			} else if (!*(const protobuf_c_boolean *)PBJSON_CMEMBER(
					   msg, f->quantifier_offset)) {
				continue;
			}
			v = pbjson_enc_value(f, src);
		} else if (f->label == PROTOBUF_C_LABEL_NONE) {
			if (pbjson_is_zero(f, src))
				continue;
			v = pbjson_enc_value(f, src);
		} else {
			v = pbjson_enc_value(f, src);
		}
		if (!v || json_object_set_new(o, f->name, v) < 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

json_t *pbjson_encode(const ProtobufCMessage *msg)
{
	return pbjson_enc_message(msg);
}
