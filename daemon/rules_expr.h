/* The rule condition language: lexer and parser into a typed tree (pure, no I/O). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rexpr_kind {
	REX_AND,
	REX_OR,
	REX_NOT,
	REX_CMP,      /* field op literal */
	REX_IN,       /* field in [literals] | field in LIST */
	REX_CONTAINS, /* text contains_any LIST */
	REX_MATCHES,  /* text matches "regex" or /regex/flags */
	REX_MEDIA_IN, /* media any_media_in LIST */
	REX_BOOL,     /* true | false */
	REX_COUNTER,  /* count(by: F, window: W) cmp N | distinct(F, by: F, window: W) cmp N */
	REX_BANK,     /* media in bank NAME [within D] */
};

enum rexpr_field {
	RF_TEXT,
	RF_LANG,
	RF_COUNTRY,
	RF_SURFACE,
	RF_CONTENT_TYPE,
	RF_AUTHOR_ID,
	RF_REACH,
	RF_REPORT_COUNT,
	RF_CREATED_AT,
	RF_SIGNAL, /* signal.<name> */
	RF_ATTR,   /* attr.<name> */
	RF_MEDIA,
	RF_URL, /* the first http(s) URL of the text: counters only */
};

enum rexpr_cmp { RC_EQ, RC_NE, RC_LT, RC_LE, RC_GT, RC_GE };

/* The type a rule file declares for an attribute (attributes: {NAME: TYPE}); undeclared
 * attributes are strings. */
enum rexpr_attr_type { RA_STRING = 0, RA_INT, RA_FLOAT, RA_BOOL };

/* Regex flags of /re/flags: i (caseless), s (dot matches newline), m (multiline). */
#define REXPR_RE_CASELESS 1u
#define REXPR_RE_DOTALL 2u
#define REXPR_RE_MULTILINE 4u

struct rexpr {
	enum rexpr_kind kind;
	size_t off; /* where the node starts in the source, for errors */
	enum rexpr_field field;
	char *name;                     /* RF_SIGNAL/RF_ATTR name */
	enum rexpr_attr_type attr_type; /* RF_ATTR: set by the loader */
	char *list;                     /* the LIST of IN/CONTAINS/MEDIA_IN, or NULL */
	size_t list_off;
	enum rexpr_cmp cmp;
	bool is_num; /* REX_CMP and REX_IN literals: numbers, or strings */
	double num;
	char *str;
	size_t lit_off;
	char **strs; /* REX_IN with literals */
	double *nums;
	size_t *val_offs; /* where each literal of REX_IN starts */
	size_t n_vals;
	unsigned re_flags;
	bool bval;
	struct rexpr *a, *b; /* AND/OR: both; NOT: a */
	/* REX_COUNTER: FIELD/NAME is what events are grouped by (by:); distinct counts the
	 * values of OF_FIELD/OF_NAME. CMP, NUM and LIT_OFF hold the comparison. */
	bool distinct;
	enum rexpr_field of_field;
	char *of_name;
	int64_t window_ms;
	/* REX_BANK: LIST/LIST_OFF name the bank; WITHIN is the distance, -1 when not given. */
	int within;
	size_t within_off;
	/* Filled by the compiler. */
	uint32_t atom;  /* CONTAINS/MATCHES: fired-atom index; IN/MEDIA_IN with a list: set;
			 * COUNTER: the ruleset's counter; BANK: the bank */
	int enum_val;   /* surface/content_type literal, resolved */
	int *enum_vals; /* REX_IN on surface/content_type */
};

/* What one condition may hold: parentheses and `not` nested this deep, and this many nodes
 * (tests, and/or/not). A chain of `and` (or `or`) is built as a balanced tree, so no tree is
 * deeper than REXPR_MAX_NESTING x (1 + log2 REXPR_MAX_NODES) levels: every recursive walk of a
 * condition is bounded by that, whatever a rule file holds. */
#define REXPR_MAX_NESTING 32
#define REXPR_MAX_NODES 4096

/* Parses SRC. On success returns 0 and *out. On a syntax error, or a condition past the
 * bounds above, returns -EINVAL, sets *err_off to the offending offset and ERR to what was
 * expected ("expected a value after '>=', got end of condition"). -ENOMEM. */
int rexpr_parse(const char *src, struct rexpr **out, size_t *err_off, char *err, size_t errlen);
void rexpr_free(struct rexpr *e);

/* "text", "signal", "attr", … for messages. */
const char *rexpr_field_name(enum rexpr_field f);
/* True for fields compared as numbers: reach, report_count, created_at, signals, and
 * attributes declared int, float or bool. */
bool rexpr_is_number(const struct rexpr *e);

/* "int", "float", "string", "bool"; and back, -1 for none of them. */
const char *rexpr_attr_type_name(enum rexpr_attr_type t);
int rexpr_attr_type_parse(const char *s);

/* Counter windows: from REXPR_WINDOW_MIN_MS to REXPR_WINDOW_MAX_MS (1 s to 7 days). */
#define REXPR_WINDOW_MIN_MS 1000LL
#define REXPR_WINDOW_MAX_MS (7LL * 86400000)

/* Parses "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM[:SS]Z" as UTC milliseconds.
 * Returns 0 or -EINVAL. */
int rexpr_parse_date(const char *s, size_t len, int64_t *ms);
