/* libFuzzer target: the condition language's parser alone (rexpr_parse), with the bounds its
 * header promises checked on every tree it returns, and the date parser. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "rules_expr.h"

/* The deepest tree a condition may give (rules_expr.h): nesting times a balanced chain. */
#define FUZZ_REXPR_MAX_DEPTH (REXPR_MAX_NESTING * 13)

/* Nodes and depth of E; aborts past the promised bounds. */
static size_t walk(const struct rexpr *e, unsigned depth)
{
	if (!e)
		return 0;
	if (depth > FUZZ_REXPR_MAX_DEPTH)
		abort();
	switch (e->kind) {
	case REX_AND:
	case REX_OR:
		if (!e->a || !e->b)
			abort();
		return 1 + walk(e->a, depth + 1) + walk(e->b, depth + 1);
	case REX_NOT:
		if (!e->a)
			abort();
		return 1 + walk(e->a, depth + 1);
	default:
		return 1;
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_setup();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *src = malloc(size + 1);
	if (!src)
		return 0;
	memcpy(src, data, size);
	src[size] = '\0';
	struct rexpr *e = NULL;
	size_t err_off = 0;
	char err[256];
	err[0] = '\0';
	int rc = rexpr_parse(src, &e, &err_off, err, sizeof(err));
	if (rc == 0) {
		if (walk(e, 0) > 2 * (size_t)REXPR_MAX_NODES)
			abort();
		rexpr_free(e);
	} else if (rc == -EINVAL) {
		if (e || err_off > strlen(src) || !err[0])
			abort(); /* a refusal is positioned within the source and says why */
	}
	int64_t ms;
	(void)rexpr_parse_date((const char *)data, size, &ms);
	free(src);
	return 0;
}
