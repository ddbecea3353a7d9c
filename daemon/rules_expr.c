/* The rule condition language: a hand-written lexer and recursive-descent parser. */
#include "rules_expr.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"

/* The grammar (docs/rules.md has the user's version):
 *   expr   := and ("or" and)*
 *   and    := unary ("and" unary)*
 *   unary  := "not" unary | "(" expr ")" | "true" | "false" | test
 *   test   := field cmp value
 *           | field "in" ( "[" value ("," value)* "]" | LIST )
 *           | "text" "contains_any" LIST | "text" "matches" (STRING | REGEX)
 *           | "media" "any_media_in" LIST
 *           | "media" "in" "bank" NAME ["within" NUMBER]
 *           | counter cmp NUMBER
 *   counter := "count" "(" "by" ":" cfield "," "window" ":" DURATION ")"
 *            | "distinct" "(" cfield "," "by" ":" cfield "," "window" ":" DURATION ")"
 *   cfield  := "author_id" | "text" | "url" | "media" | "attr." NAME
 * (keyword arguments in any order). A hand-written parser (rather than a generator) keeps the error
 * messages precise and the build free of bison/flex for forty lines of grammar. */

enum rexpr_tok {
	T_END,
	T_IDENT,
	T_STRING,
	T_NUMBER,
	T_DATE,
	T_REGEX,
	T_LPAREN,
	T_RPAREN,
	T_LBRACK,
	T_RBRACK,
	T_COMMA,
	T_COLON,
	T_CMP,
	T_ERROR,
};

struct rexpr_parser {
	const char *src;
	size_t pos;
	/* The current token. */
	enum rexpr_tok tok;
	size_t tok_off, tok_len;
	char *text; /* T_STRING, T_REGEX: unescaped; T_IDENT: copy */
	double num;
	enum rexpr_cmp cmp;
	unsigned re_flags;
	/* The first error. */
	bool failed;
	size_t err_off;
	char *err;
	size_t errlen;
	bool oom;
	/* Bounds: nesting of ( and not, and nodes made. */
	unsigned depth;
	unsigned nodes;
};

static const struct {
	const char *name;
	enum rexpr_field field;
} rexpr_fields[] = {
	{"text", RF_TEXT},
	{"lang", RF_LANG},
	{"country", RF_COUNTRY},
	{"surface", RF_SURFACE},
	{"content_type", RF_CONTENT_TYPE},
	{"author_id", RF_AUTHOR_ID},
	{"reach", RF_REACH},
	{"report_count", RF_REPORT_COUNT},
	{"created_at", RF_CREATED_AT},
	{"media", RF_MEDIA},
};

const char *rexpr_field_name(enum rexpr_field f)
{
	for (size_t i = 0; i < sizeof(rexpr_fields) / sizeof(rexpr_fields[0]); i++)
		if (rexpr_fields[i].field == f)
			return rexpr_fields[i].name;
	return f == RF_SIGNAL ? "signal" : f == RF_URL ? "url" : "attr";
}

bool rexpr_is_number(const struct rexpr *e)
{
	enum rexpr_field f = e->field;
	return f == RF_REACH || f == RF_REPORT_COUNT || f == RF_CREATED_AT || f == RF_SIGNAL ||
	       (f == RF_ATTR && e->attr_type != RA_STRING);
}

static const char *const rexpr_attr_types[] = {"string", "int", "float", "bool"};

const char *rexpr_attr_type_name(enum rexpr_attr_type t)
{
	return (unsigned)t < 4 ? rexpr_attr_types[t] : "?";
}

int rexpr_attr_type_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (!strcmp(s, rexpr_attr_types[i]))
			return i;
	return -1;
}

__attribute__((format(printf, 3, 4))) static void rexpr_fail(struct rexpr_parser *p, size_t off,
							     const char *fmt, ...)
{
	if (p->failed)
		return;
	p->failed = true;
	p->err_off = off;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->err, p->errlen, fmt, ap);
	va_end(ap);
}

static bool rexpr_is_ident_start(char c)
{
	return isalpha((unsigned char)c) || c == '_';
}

static bool rexpr_is_ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '-';
}

int rexpr_parse_date(const char *s, size_t len, int64_t *ms)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
	char buf[32];
	if (len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (sscanf(buf, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
		return -EINVAL;
	if (buf[n] == 'T') {
		int m = 0;
		if (sscanf(buf + n, "T%2d:%2d%n", &h, &mi, &m) != 2)
			return -EINVAL;
		n += m;
		if (buf[n] == ':') {
			if (sscanf(buf + n, ":%2d%n", &sec, &m) != 1)
				return -EINVAL;
			n += m;
		}
		if (buf[n++] != 'Z')
			return -EINVAL;
	}
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (buf[n] || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap) ||
	    h > 23 || mi > 59 || sec > 60)
		return -EINVAL;
	/* Days from civil (Howard Hinnant's algorithm): no timegm, no TZ. */
	int yy = y - (mo <= 2);
	int era = (yy >= 0 ? yy : yy - 399) / 400;
	unsigned yoe = (unsigned)(yy - era * 400);
	unsigned doy = (unsigned)((153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1);
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	int64_t days = (int64_t)era * 146097 + (int64_t)doe - 719468;
	*ms = ((days * 24 + h) * 60 + mi) * 60000LL + sec * 1000LL;
	return 0;
}

/* Reads the next token into p. */
/* After '=', '!', '<' or '>' (C): a comparison. */
static void rexpr_lex_cmp(struct rexpr_parser *p, char c, size_t start)
{
	const char *s = p->src;
	p->tok = T_CMP;
	if (s[p->pos] == '=') {
		p->pos++;
		p->cmp = c == '=' ? RC_EQ : c == '!' ? RC_NE : c == '<' ? RC_LE : RC_GE;
	} else if (c == '<' || c == '>') {
		p->cmp = c == '<' ? RC_LT : RC_GT;
	} else {
		p->tok = T_ERROR;
		rexpr_fail(p, start, "expected '%c=', got '%c'", c, c);
	}
}

/* The flags after a regex's closing '/'. */
static void rexpr_lex_re_flags(struct rexpr_parser *p)
{
	const char *s = p->src;
	p->re_flags = 0;
	while (isalpha((unsigned char)s[p->pos])) {
		char f = s[p->pos];
		if (f == 'i')
			p->re_flags |= REXPR_RE_CASELESS;
		else if (f == 's')
			p->re_flags |= REXPR_RE_DOTALL;
		else if (f == 'm')
			p->re_flags |= REXPR_RE_MULTILINE;
		else
			rexpr_fail(p, p->pos, "unknown regex flag '%c' (expected i, s or m)", f);
		p->pos++;
	}
}

/* After '"' or '/' (C): a string, or a regex. Escapes are kept for the regex engine except
 * the escaped delimiter itself. */
static void rexpr_lex_quoted(struct rexpr_parser *p, char c, size_t start)
{
	const char *s = p->src;
	char *out = malloc(strlen(s + start) + 1);
	size_t n = 0;
	if (!out) {
		p->oom = true;
		p->tok = T_ERROR;
		return;
	}
	for (;;) {
		char ch = s[p->pos];
		if (!ch) {
			free(out);
			p->tok = T_ERROR;
			rexpr_fail(p, start, "unterminated %s", c == '"' ? "string" : "regex");
			return;
		}
		p->pos++;
		if (ch == c)
			break;
		if (ch == '\\' && s[p->pos]) {
			char e = s[p->pos++];
			if (c == '"' && (e == '"' || e == '\\'))
				out[n++] = e;
			else if (c == '"' && (e == 'n' || e == 't'))
				out[n++] = e == 'n' ? '\n' : '\t';
			else if (e == c)
				out[n++] = '/';
			else {
				out[n++] = '\\';
				out[n++] = e;
			}
			continue;
		}
		out[n++] = ch;
	}
	out[n] = '\0';
	p->text = out;
	p->tok = c == '"' ? T_STRING : T_REGEX;
	p->re_flags = 0;
	if (c == '/')
		rexpr_lex_re_flags(p);
}

/* A date (2027-08-01) or a number, starting at START. */
static void rexpr_lex_number(struct rexpr_parser *p, size_t start)
{
	const char *s = p->src;
	size_t end = start;
	while (s[end] && (isalnum((unsigned char)s[end]) || s[end] == '.' || s[end] == '-' ||
			  s[end] == '+' || s[end] == ':'))
		end++;
	int64_t ms;
	if (end - start >= 10 && rexpr_parse_date(s + start, end - start, &ms) == 0) {
		p->tok = T_DATE;
		p->num = (double)ms;
		p->pos = end;
		return;
	}
	char *e;
	p->num = strtod(s + start, &e);
	p->pos = (size_t)(e - s);
	p->tok = T_NUMBER;
	if (e == s + start || rexpr_is_ident_char(*e)) {
		p->tok = T_ERROR;
		rexpr_fail(p, start, "expected a number, got '%.*s'", (int)(end - start),
			   s + start);
	}
}

static void rexpr_lex_ident(struct rexpr_parser *p, size_t start)
{
	const char *s = p->src;
	while (rexpr_is_ident_char(s[p->pos]))
		p->pos++;
	/* A trailing '.' or '-' belongs to what follows. */
	while (p->pos > start + 1 && (s[p->pos - 1] == '.' || s[p->pos - 1] == '-'))
		p->pos--;
	p->tok = T_IDENT;
	p->text = strndup(s + start, p->pos - start);
	if (!p->text)
		p->oom = true;
}

/* Reads the next token into P. */
static void rexpr_next(struct rexpr_parser *p)
{
	const char *s = p->src;
	free(p->text);
	p->text = NULL;
	while (s[p->pos] && isspace((unsigned char)s[p->pos]))
		p->pos++;
	size_t start = p->pos;
	p->tok_off = start;
	char c = s[start];
	if (!c) {
		p->tok = T_END;
		p->tok_len = 0;
		return;
	}
	p->pos++;
	static const char punct[] = "()[],:";
	static const enum rexpr_tok punct_tok[] = {T_LPAREN, T_RPAREN, T_LBRACK,
						   T_RBRACK, T_COMMA,  T_COLON};
	const char *pc = strchr(punct, c);
	if (pc)
		p->tok = punct_tok[pc - punct];
	else if (c == '=' || c == '!' || c == '<' || c == '>')
		rexpr_lex_cmp(p, c, start);
	else if (c == '"' || c == '/')
		rexpr_lex_quoted(p, c, start);
	else if (isdigit((unsigned char)c) ||
		 ((c == '-' || c == '+' || c == '.') &&
		  (isdigit((unsigned char)s[p->pos]) || s[p->pos] == '.')))
		rexpr_lex_number(p, start);
	else if (rexpr_is_ident_start(c))
		rexpr_lex_ident(p, start);
	else {
		p->tok = T_ERROR;
		rexpr_fail(p, start, "unexpected character '%c'", c);
	}
	p->tok_len = p->pos - start;
}

static bool rexpr_is_kw(const struct rexpr_parser *p, const char *kw)
{
	return p->tok == T_IDENT && p->text && !strcmp(p->text, kw);
}

static const char *rexpr_describe_tok(const struct rexpr_parser *p, char *buf, size_t len)
{
	if (p->tok == T_END)
		return "end of condition";
	snprintf(buf, len, "'%.*s'", (int)(p->tok_len > 40 ? 40 : p->tok_len), p->src + p->tok_off);
	return buf;
}

static struct rexpr *rexpr_node(struct rexpr_parser *p, enum rexpr_kind kind, size_t off)
{
	if (++p->nodes > REXPR_MAX_NODES) {
		rexpr_fail(p, off,
			   "condition too large: more than %d tests and operators; use a "
			   "list (in LIST, contains_any LIST) for long alternatives",
			   REXPR_MAX_NODES);
		return NULL;
	}
	struct rexpr *e = calloc(1, sizeof(*e));
	if (!e) {
		p->oom = true;
		return NULL;
	}
	e->kind = kind;
	e->off = off;
	return e;
}

static struct rexpr *rexpr_or(struct rexpr_parser *p);

/* Suggests the closest field for an unknown name. */
static void rexpr_unknown_field(struct rexpr_parser *p, const char *name, size_t off)
{
	const char *best = NULL;
	int best_d = 3;
	static const char *const extra[] = {"signal.", "attr."};
	for (size_t i = 0; i < sizeof(rexpr_fields) / sizeof(rexpr_fields[0]); i++) {
		int d = diag_edit_distance(name, strlen(name), rexpr_fields[i].name,
					   strlen(rexpr_fields[i].name));
		if (d < best_d) {
			best_d = d;
			best = rexpr_fields[i].name;
		}
	}
	for (size_t i = 0; i < 2 && !best; i++)
		if (!strncmp(name, extra[i], strlen(extra[i]) - 1))
			best = extra[i][0] == 's' ? "signal.<name>" : "attr.<name>";
	if (best)
		rexpr_fail(p, off, "unknown field '%s'; did you mean '%s'?", name, best);
	else
		rexpr_fail(p, off,
			   "unknown field '%s' (expected text, lang, country, surface, "
			   "content_type, author_id, reach, report_count, created_at, "
			   "signal.<name>, attr.<name>, media, count(...) or distinct(...))",
			   name);
}

/* A literal value: string, number or date. */
static bool rexpr_value(struct rexpr_parser *p, bool *is_num, double *num, char **str, size_t *off,
			const char *after)
{
	char buf[64];
	*off = p->tok_off;
	if (p->tok == T_STRING || (p->tok == T_IDENT && !rexpr_is_kw(p, "and") &&
				   !rexpr_is_kw(p, "or") && !rexpr_is_kw(p, "not"))) {
		/* A bare word is a string too: lang == sw reads naturally. */
		*is_num = false;
		*str = p->text;
		p->text = NULL;
		rexpr_next(p);
		return true;
	}
	if (p->tok == T_NUMBER || p->tok == T_DATE) {
		*is_num = true;
		*num = p->num;
		rexpr_next(p);
		return true;
	}
	rexpr_fail(p, p->tok_off, "expected a value after %s, got %s", after,
		   rexpr_describe_tok(p, buf, sizeof(buf)));
	return false;
}

/* The field named by the current identifier (and NAME for signal.X and attr.X), or false. */
static bool rexpr_field_of(struct rexpr_parser *p, enum rexpr_field *field, char **name)
{
	const char *id = p->text;
	*name = NULL;
	for (size_t i = 0; i < sizeof(rexpr_fields) / sizeof(rexpr_fields[0]); i++) {
		if (!strcmp(id, rexpr_fields[i].name)) {
			*field = rexpr_fields[i].field;
			return true;
		}
	}
	const char *sub = !strncmp(id, "signal.", 7) ? id + 7 :
			  !strncmp(id, "attr.", 5)   ? id + 5 :
						       NULL;
	if (!sub || !*sub)
		return false;
	*field = id[0] == 's' ? RF_SIGNAL : RF_ATTR;
	*name = strdup(sub);
	if (!*name)
		p->oom = true;
	return true;
}

/* Frees E and returns NULL, for the error paths of the tests below. */
static struct rexpr *rexpr_drop(struct rexpr *e)
{
	rexpr_free(e);
	return NULL;
}

/* field cmp value, the comparison token current. */
static struct rexpr *rexpr_test_cmp(struct rexpr_parser *p, struct rexpr *e)
{
	e->cmp = p->cmp;
	char op[8];
	snprintf(op, sizeof(op), "'%.*s'", (int)p->tok_len, p->src + p->tok_off);
	rexpr_next(p);
	if (!rexpr_value(p, &e->is_num, &e->num, &e->str, &e->lit_off, op))
		return rexpr_drop(e);
	return e;
}

/* Appends one value of an `in [...]` list to E. */
static bool rexpr_in_value(struct rexpr_parser *p, struct rexpr *e, size_t *cap)
{
	bool is_num = false;
	double num = 0;
	char *str = NULL;
	size_t voff;
	if (!rexpr_value(p, &is_num, &num, &str, &voff, "'['") || p->oom) {
		free(str);
		return false;
	}
	if (e->n_vals && is_num != e->is_num) {
		rexpr_fail(p, voff, "mixed strings and numbers in a list");
		free(str);
		return false;
	}
	e->is_num = is_num;
	if (e->n_vals == *cap) {
		*cap = *cap ? *cap * 2 : 4;
		char **ns = realloc(e->strs, *cap * sizeof(*ns));
		if (ns)
			e->strs = ns;
		double *nn = realloc(e->nums, *cap * sizeof(*nn));
		if (nn)
			e->nums = nn;
		size_t *no = realloc(e->val_offs, *cap * sizeof(*no));
		if (no)
			e->val_offs = no;
		if (!ns || !nn || !no) {
			p->oom = true;
			free(str);
			return false;
		}
	}
	e->strs[e->n_vals] = str;
	e->nums[e->n_vals] = num;
	e->val_offs[e->n_vals] = voff;
	e->n_vals++;
	return true;
}

/* field in [v, ...] | field in LIST, after "in". */
static struct rexpr *rexpr_test_in(struct rexpr_parser *p, struct rexpr *e)
{
	char buf[64];
	e->kind = REX_IN;
	if (p->tok == T_IDENT) {
		e->list = p->text;
		e->list_off = p->tok_off;
		p->text = NULL;
		rexpr_next(p);
		return e;
	}
	if (p->tok != T_LBRACK) {
		rexpr_fail(p, p->tok_off, "expected '[' or a list name after 'in', got %s",
			   rexpr_describe_tok(p, buf, sizeof(buf)));
		return rexpr_drop(e);
	}
	rexpr_next(p);
	size_t cap = 0;
	while (p->tok != T_RBRACK) {
		if (!rexpr_in_value(p, e, &cap))
			return rexpr_drop(e);
		if (p->tok == T_COMMA) {
			rexpr_next(p);
		} else if (p->tok != T_RBRACK) {
			rexpr_fail(p, p->tok_off, "expected ',' or ']', got %s",
				   rexpr_describe_tok(p, buf, sizeof(buf)));
			return rexpr_drop(e);
		}
	}
	if (!e->n_vals) {
		rexpr_fail(p, p->tok_off, "an empty list never matches");
		return rexpr_drop(e);
	}
	rexpr_next(p);
	return e;
}

/* text contains_any LIST | media any_media_in LIST, the keyword current. */
static struct rexpr *rexpr_test_list(struct rexpr_parser *p, struct rexpr *e)
{
	char buf[64];
	bool media = rexpr_is_kw(p, "any_media_in");
	if (media != (e->field == RF_MEDIA) || (!media && e->field != RF_TEXT)) {
		rexpr_fail(p, p->tok_off,
			   media ? "any_media_in applies to media, not %s" :
				   "contains_any applies to text, not %s",
			   rexpr_field_name(e->field));
		return rexpr_drop(e);
	}
	e->kind = media ? REX_MEDIA_IN : REX_CONTAINS;
	rexpr_next(p);
	if (p->tok != T_IDENT) {
		rexpr_fail(p, p->tok_off, "expected a list name, got %s",
			   rexpr_describe_tok(p, buf, sizeof(buf)));
		return rexpr_drop(e);
	}
	e->list = p->text;
	e->list_off = p->tok_off;
	p->text = NULL;
	rexpr_next(p);
	return e;
}

/* text matches "re" | text matches /re/flags, the keyword current. */
static struct rexpr *rexpr_test_matches(struct rexpr_parser *p, struct rexpr *e)
{
	char buf[64];
	if (e->field != RF_TEXT) {
		rexpr_fail(p, p->tok_off, "matches applies to text, not %s",
			   rexpr_field_name(e->field));
		return rexpr_drop(e);
	}
	e->kind = REX_MATCHES;
	rexpr_next(p);
	if (p->tok != T_STRING && p->tok != T_REGEX) {
		rexpr_fail(p, p->tok_off, "expected a regex (\"...\" or /.../flags), got %s",
			   rexpr_describe_tok(p, buf, sizeof(buf)));
		return rexpr_drop(e);
	}
	e->str = p->text;
	e->lit_off = p->tok_off;
	e->re_flags = p->tok == T_REGEX ? p->re_flags : 0;
	p->text = NULL;
	rexpr_next(p);
	return e;
}

/* ---- counters and banks ---- */

/* A counter's field at the current token (WHAT it is for, in the error): author_id, text, url,
 * media or attr.NAME. */
static bool rexpr_counter_field(struct rexpr_parser *p, enum rexpr_field *f, char **name,
				const char *what)
{
	static const struct {
		const char *name;
		enum rexpr_field field;
	} ok[] = {{"author_id", RF_AUTHOR_ID},
		  {"text", RF_TEXT},
		  {"url", RF_URL},
		  {"media", RF_MEDIA}};
	char buf[64];
	*name = NULL;
	for (size_t i = 0; p->tok == T_IDENT && i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (!strcmp(p->text, ok[i].name)) {
			*f = ok[i].field;
			rexpr_next(p);
			return true;
		}
	}
	if (p->tok == T_IDENT && !strncmp(p->text, "attr.", 5) && p->text[5]) {
		*f = RF_ATTR;
		*name = strdup(p->text + 5);
		if (!*name) {
			p->oom = true;
			return false;
		}
		rexpr_next(p);
		return true;
	}
	rexpr_fail(p, p->tok_off, "expected %s (author_id, text, url, media or attr.NAME), got %s",
		   what, rexpr_describe_tok(p, buf, sizeof(buf)));
	return false;
}

/* The window after "window:" (the colon current), read from the source since 10m is no token:
 * digits and a unit, s, m, h or d. */
static bool rexpr_window(struct rexpr_parser *p, int64_t *ms)
{
	const char *s = p->src;
	size_t i = p->pos;
	while (s[i] && isspace((unsigned char)s[i]))
		i++;
	size_t start = i;
	int64_t n = 0;
	bool big = false;
	while (isdigit((unsigned char)s[i])) {
		big |= n > 100000000;
		n = big ? n : n * 10 + (s[i] - '0');
		i++;
	}
	size_t unit_at = i;
	while (isalnum((unsigned char)s[i]) || s[i] == '.' || s[i] == '_')
		i++;
	int64_t unit = 0;
	if (i - unit_at == 1)
		unit = s[unit_at] == 's' ? 1000 :
		       s[unit_at] == 'm' ? 60000 :
		       s[unit_at] == 'h' ? 3600000 :
		       s[unit_at] == 'd' ? 86400000 :
					   0;
	if (unit_at == start || !unit || big || n * unit < REXPR_WINDOW_MIN_MS ||
	    n * unit > REXPR_WINDOW_MAX_MS) {
		size_t end = i > start ? i : start + (s[start] != '\0');
		rexpr_fail(p, start, "expected a window such as 10m or 1h (1s to 7d), got '%.*s'",
			   (int)(end - start > 40 ? 40 : end - start), s + start);
		return false;
	}
	*ms = n * unit;
	p->pos = i;
	rexpr_next(p);
	return true;
}

/* The arguments of count( or distinct( after the '(' (the first argument current) up to and
 * past the ')'. */
static bool rexpr_counter_args(struct rexpr_parser *p, struct rexpr *e, const char *fn)
{
	char buf[64];
	bool have_by = false, have_window = false, first = !e->distinct;
	for (;;) {
		if (!first) {
			if (p->tok == T_RPAREN)
				break;
			if (p->tok != T_COMMA) {
				rexpr_fail(p, p->tok_off, "expected ',' or ')' in %s(...), got %s",
					   fn, rexpr_describe_tok(p, buf, sizeof(buf)));
				return false;
			}
			rexpr_next(p);
		}
		first = false;
		size_t aoff = p->tok_off;
		bool is_by = rexpr_is_kw(p, "by"), is_window = rexpr_is_kw(p, "window");
		if (!is_by && !is_window) {
			rexpr_fail(p, aoff, "expected by: or window: in %s(...), got %s", fn,
				   rexpr_describe_tok(p, buf, sizeof(buf)));
			return false;
		}
		if (is_by ? have_by : have_window) {
			rexpr_fail(p, aoff, "%s: is given twice in %s(...)",
				   is_by ? "by" : "window", fn);
			return false;
		}
		rexpr_next(p);
		if (p->tok != T_COLON) {
			rexpr_fail(p, p->tok_off, "expected ':' after '%s', got %s",
				   is_by ? "by" : "window",
				   rexpr_describe_tok(p, buf, sizeof(buf)));
			return false;
		}
		if (is_window) {
			if (!rexpr_window(p, &e->window_ms))
				return false;
			have_window = true;
			continue;
		}
		rexpr_next(p);
		if (!rexpr_counter_field(p, &e->field, &e->name, "a field to group events by"))
			return false;
		have_by = true;
	}
	if (!have_by || !have_window) {
		rexpr_fail(p, p->tok_off, "%s(...) needs %s", fn,
			   !have_by ? "by: FIELD" : "window: DURATION, such as 10m");
		return false;
	}
	rexpr_next(p);
	return true;
}

/* count(...) or distinct(...) and its comparison, the name current and '(' next. */
static struct rexpr *rexpr_counter(struct rexpr_parser *p)
{
	char buf[64];
	struct rexpr *e = rexpr_node(p, REX_COUNTER, p->tok_off);
	if (!e)
		return NULL;
	e->distinct = rexpr_is_kw(p, "distinct");
	const char *fn = e->distinct ? "distinct" : "count";
	rexpr_next(p); /* the '(' */
	rexpr_next(p);
	if (e->distinct && !rexpr_counter_field(p, &e->of_field, &e->of_name,
						"the field whose distinct values are counted"))
		return rexpr_drop(e);
	if (!rexpr_counter_args(p, e, fn))
		return rexpr_drop(e);
	if (e->distinct && e->of_field == e->field &&
	    (e->field != RF_ATTR || !strcmp(e->name, e->of_name))) {
		rexpr_fail(p, e->off, "distinct(X, by: X, ...) is always 1: count another field");
		return rexpr_drop(e);
	}
	if (p->tok != T_CMP) {
		rexpr_fail(p, p->tok_off,
			   "expected a comparison (>=, >, <=, <, ==, !=) after %s(...), got %s", fn,
			   rexpr_describe_tok(p, buf, sizeof(buf)));
		return rexpr_drop(e);
	}
	e->cmp = p->cmp;
	rexpr_next(p);
	if (p->tok != T_NUMBER) {
		rexpr_fail(p, p->tok_off,
			   "expected a number after the comparison of %s(...), got %s", fn,
			   rexpr_describe_tok(p, buf, sizeof(buf)));
		return rexpr_drop(e);
	}
	e->is_num = true;
	e->num = p->num;
	e->lit_off = p->tok_off;
	rexpr_next(p);
	return e;
}

/* True when the current identifier is count or distinct followed by '(': a counter. */
static bool rexpr_at_counter(const struct rexpr_parser *p)
{
	if (!rexpr_is_kw(p, "count") && !rexpr_is_kw(p, "distinct"))
		return false;
	size_t i = p->pos;
	while (p->src[i] && isspace((unsigned char)p->src[i]))
		i++;
	return p->src[i] == '(';
}

/* media in bank NAME [within D], after "in" with "bank" current. */
static struct rexpr *rexpr_test_bank(struct rexpr_parser *p, struct rexpr *e)
{
	char buf[64];
	e->kind = REX_BANK;
	e->within = -1;
	rexpr_next(p);
	if (p->tok != T_IDENT || rexpr_is_kw(p, "and") || rexpr_is_kw(p, "or") ||
	    rexpr_is_kw(p, "within")) {
		rexpr_fail(p, p->tok_off, "expected a bank name after 'in bank', got %s",
			   rexpr_describe_tok(p, buf, sizeof(buf)));
		return rexpr_drop(e);
	}
	e->list = p->text;
	e->list_off = p->tok_off;
	p->text = NULL;
	rexpr_next(p);
	if (!rexpr_is_kw(p, "within"))
		return e;
	rexpr_next(p);
	if (p->tok != T_NUMBER || p->num < 0 || p->num > 1000 || p->num != (double)(int)p->num) {
		rexpr_fail(p, p->tok_off,
			   "expected a Hamming distance in bits (0 to 64) after 'within', got %s",
			   rexpr_describe_tok(p, buf, sizeof(buf)));
		return rexpr_drop(e);
	}
	e->within = (int)p->num;
	e->within_off = p->tok_off;
	rexpr_next(p);
	return e;
}

/* test := true | false | field followed by one of the forms above. */
static struct rexpr *rexpr_test(struct rexpr_parser *p)
{
	char buf[64];
	size_t off = p->tok_off;
	if (p->tok != T_IDENT) {
		rexpr_fail(p, off, "expected a field, 'not' or '(', got %s",
			   rexpr_describe_tok(p, buf, sizeof(buf)));
		return NULL;
	}
	if (rexpr_is_kw(p, "true") || rexpr_is_kw(p, "false")) {
		struct rexpr *e = rexpr_node(p, REX_BOOL, off);
		if (e)
			e->bval = rexpr_is_kw(p, "true");
		rexpr_next(p);
		return e;
	}
	if (rexpr_at_counter(p))
		return rexpr_counter(p);
	if (rexpr_is_kw(p, "count") || rexpr_is_kw(p, "distinct")) {
		rexpr_fail(p, off, "%s is a counter: write %s >= N", p->text,
			   p->text[0] == 'c' ? "count(by: FIELD, window: DURATION)" :
					       "distinct(FIELD, by: FIELD, window: DURATION)");
		return NULL;
	}
	enum rexpr_field field;
	char *name;
	if (!rexpr_field_of(p, &field, &name)) {
		rexpr_unknown_field(p, p->text, off);
		return NULL;
	}
	struct rexpr *e = rexpr_node(p, REX_CMP, off);
	if (!e) {
		free(name);
		return NULL;
	}
	e->field = field;
	e->name = name;
	rexpr_next(p);
	if (p->tok == T_CMP)
		return rexpr_test_cmp(p, e);
	if (rexpr_is_kw(p, "in")) {
		rexpr_next(p);
		if (field == RF_MEDIA && rexpr_is_kw(p, "bank"))
			return rexpr_test_bank(p, e);
		return rexpr_test_in(p, e);
	}
	if (rexpr_is_kw(p, "contains_any") || rexpr_is_kw(p, "any_media_in"))
		return rexpr_test_list(p, e);
	if (rexpr_is_kw(p, "matches"))
		return rexpr_test_matches(p, e);
	if (field == RF_MEDIA)
		rexpr_fail(p, p->tok_off,
			   "expected 'any_media_in LIST' or 'in bank NAME' after media, got %s",
			   rexpr_describe_tok(p, buf, sizeof(buf)));
	else
		rexpr_fail(p, p->tok_off,
			   "expected an operator (==, !=, <, <=, >, >=, in [...], in LIST%s) after "
			   "%s, got %s",
			   field == RF_TEXT ? ", contains_any, matches" : "",
			   rexpr_field_name(field), rexpr_describe_tok(p, buf, sizeof(buf)));
	return rexpr_drop(e);
}

static struct rexpr *rexpr_unary(struct rexpr_parser *p);

/* ( expr ), the '(' current. */
static struct rexpr *rexpr_group(struct rexpr_parser *p)
{
	char buf[64];
	size_t off = p->tok_off;
	rexpr_next(p);
	struct rexpr *e = rexpr_or(p);
	if (!e)
		return NULL;
	if (p->tok != T_RPAREN) {
		rexpr_fail(p, p->tok_off, "expected ')' to close the '(' at offset %zu, got %s",
			   off + 1, rexpr_describe_tok(p, buf, sizeof(buf)));
		rexpr_free(e);
		return NULL;
	}
	rexpr_next(p);
	return e;
}

/* not unary, the 'not' current. */
static struct rexpr *rexpr_not(struct rexpr_parser *p)
{
	size_t off = p->tok_off;
	rexpr_next(p);
	struct rexpr *a = rexpr_unary(p);
	if (!a)
		return NULL;
	struct rexpr *e = rexpr_node(p, REX_NOT, off);
	if (!e) {
		rexpr_free(a);
		return NULL;
	}
	e->a = a;
	return e;
}

/* unary := "not" unary | "(" expr ")" | test; the recursion is bounded by REXPR_MAX_NESTING. */
static struct rexpr *rexpr_unary(struct rexpr_parser *p)
{
	bool nests = rexpr_is_kw(p, "not") || p->tok == T_LPAREN;
	if (!nests)
		return rexpr_test(p);
	if (++p->depth > REXPR_MAX_NESTING) {
		rexpr_fail(p, p->tok_off, "condition nested deeper than %d levels of ( and not",
			   REXPR_MAX_NESTING);
		return NULL;
	}
	struct rexpr *e = p->tok == T_LPAREN ? rexpr_group(p) : rexpr_not(p);
	p->depth--;
	return e;
}

/* Operands of one and/or chain, and the offsets of the operators between them. */
struct rexpr_chain {
	struct rexpr **v;
	size_t *ops;
	size_t n, cap;
};

static void rexpr_chain_free(struct rexpr_chain *c)
{
	for (size_t i = 0; i < c->n; i++)
		rexpr_free(c->v[i]);
	free(c->v);
	free(c->ops);
}

static bool rexpr_chain_add(struct rexpr_parser *p, struct rexpr_chain *c, struct rexpr *e,
			    size_t op)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 8;
		struct rexpr **v = realloc(c->v, cap * sizeof(*v));
		if (v)
			c->v = v;
		size_t *o = v ? realloc(c->ops, cap * sizeof(*o)) : NULL;
		if (!o) {
			p->oom = true;
			rexpr_free(e);
			return false;
		}
		c->ops = o;
		c->cap = cap;
	}
	c->v[c->n] = e;
	c->ops[c->n++] = op;
	return true;
}

/* Operands [lo, hi) of C joined by KIND as a balanced tree: and/or are associative, and the
 * operands keep their order, so evaluation is unchanged and the depth is logarithmic.
 * Takes the operands; returns NULL when a node cannot be made (the operands then freed). */
static struct rexpr *rexpr_balance(struct rexpr_parser *p, struct rexpr_chain *c,
				   enum rexpr_kind kind, size_t lo, size_t hi)
{
	if (hi - lo == 1) {
		struct rexpr *e = c->v[lo];
		c->v[lo] = NULL;
		return e;
	}
	size_t mid = lo + (hi - lo + 1) / 2; /* three operands keep their left-leaning shape */
	struct rexpr *e = rexpr_node(p, kind, c->ops[mid]);
	if (!e)
		return NULL;
	e->a = rexpr_balance(p, c, kind, lo, mid);
	e->b = e->a ? rexpr_balance(p, c, kind, mid, hi) : NULL;
	if (!e->b) {
		rexpr_free(e);
		return NULL;
	}
	return e;
}

/* and := unary ("and" unary)*; or := and ("or" and)*. */
static struct rexpr *rexpr_binary(struct rexpr_parser *p, bool is_or)
{
	struct rexpr_chain c = {0};
	struct rexpr *e = is_or ? rexpr_binary(p, false) : rexpr_unary(p);
	if (!e || !rexpr_chain_add(p, &c, e, 0)) {
		rexpr_chain_free(&c);
		return NULL;
	}
	while (rexpr_is_kw(p, is_or ? "or" : "and")) {
		size_t off = p->tok_off;
		rexpr_next(p);
		e = is_or ? rexpr_binary(p, false) : rexpr_unary(p);
		if (!e || !rexpr_chain_add(p, &c, e, off)) {
			rexpr_chain_free(&c);
			return NULL;
		}
	}
	e = rexpr_balance(p, &c, is_or ? REX_OR : REX_AND, 0, c.n);
	rexpr_chain_free(&c);
	return e;
}

static struct rexpr *rexpr_or(struct rexpr_parser *p)
{
	return rexpr_binary(p, true);
}

int rexpr_parse(const char *src, struct rexpr **out, size_t *err_off, char *err, size_t errlen)
{
	char buf[64];
	struct rexpr_parser p = {.src = src, .err = err, .errlen = errlen};
	*out = NULL;
	err[0] = '\0';
	rexpr_next(&p);
	struct rexpr *e = p.tok == T_END ? NULL : rexpr_or(&p);
	if (p.tok == T_END && !e && !p.failed)
		rexpr_fail(&p, 0, "empty condition");
	if (e && p.tok != T_END)
		rexpr_fail(&p, p.tok_off, "expected 'and', 'or' or end of condition, got %s",
			   rexpr_describe_tok(&p, buf, sizeof(buf)));
	free(p.text);
	if (p.oom) {
		rexpr_free(e);
		return -ENOMEM;
	}
	if (p.failed) {
		rexpr_free(e);
		*err_off = p.err_off;
		return -EINVAL;
	}
	*out = e;
	return 0;
}

void rexpr_free(struct rexpr *e)
{
	if (!e)
		return;
	rexpr_free(e->a);
	rexpr_free(e->b);
	free(e->name);
	free(e->of_name);
	free(e->list);
	free(e->str);
	for (size_t i = 0; i < e->n_vals; i++)
		free(e->strs[i]);
	free(e->strs);
	free(e->nums);
	free(e->val_offs);
	free(e->enum_vals);
	free(e);
}
