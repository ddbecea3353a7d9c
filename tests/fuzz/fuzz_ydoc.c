/* libFuzzer target: the YAML tree (ydoc_load on libyaml), then every reader the loaders use
 * on every node, and the whole tree as JSON (ydoc_to_json, as rule tests' events are read). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "ydoc.h"

static const char *const allowed[] = {"id", "when", "action", "rules", "lists", NULL};

static int on_pair(void *arg, const struct ydoc_node *key, struct ydoc_pos key_pos,
		   const struct ydoc_node *value, struct ydoc_pos value_pos)
{
	(void)value;
	(void)value_pos;
	size_t *n = arg;
	/* The parser promises keys that are plain C strings, positioned. */
	if (!key || key->kind != YDOC_SCALAR || strlen(key->text) != key->len || key_pos.line < 1)
		abort();
	++*n;
	return 0;
}

/* Every node, depth first, through an explicit stack: nodes reached through aliases are
 * visited again (as a loader would), up to a budget. */
static void walk(const struct ydoc_node *root, struct diag_list *errs)
{
	enum { STACK = 4096, BUDGET = 200000 };
	static const struct ydoc_node *stack[STACK];
	size_t top = 0, seen = 0;
	char buf[96];
	stack[top++] = root;
	while (top && seen++ < BUDGET) {
		const struct ydoc_node *n = stack[--top];
		(void)ydoc_describe(n, buf, sizeof(buf));
		(void)ydoc_is_null(n);
		(void)ydoc_pos_of(n, (struct ydoc_pos){1, 1});
		const char *s = ydoc_scalar(n);
		if (s && strlen(s) != n->len)
			abort(); /* ydoc_scalar is for scalars without NUL */
		if (ydoc_is_map(n)) {
			size_t pairs = 0;
			ydoc_map_each(n, (struct ydoc_pos){1, 1}, on_pair, &pairs);
			if (pairs != n->n)
				abort();
			ydoc_check_keys(n, allowed, "a fuzzed mapping", "fuzz.yaml", errs);
			for (size_t i = 0; i < n->n; i++) {
				if (ydoc_get(n, n->pairs[i].key->text) == NULL)
					abort(); /* every key is found */
				if (top < STACK)
					stack[top++] = n->pairs[i].value;
			}
		} else if (ydoc_is_seq(n)) {
			for (size_t i = 0; i < n->n && top < STACK; i++)
				stack[top++] = n->items[i];
		}
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
	struct diag_list errs = {0};
	struct ydoc *doc = NULL;
	const struct ydoc_node *root = NULL;
	int rc = ydoc_load("fuzz.yaml", (const char *)data, size, &errs, &doc, &root);
	if (rc == 0) {
		if (root)
			walk(root, &errs);
		json_t *j = ydoc_to_json(root);
		json_decref(j);
		ydoc_free(doc);
	} else if (rc == -EINVAL && (doc || errs.n_errors == 0)) {
		abort(); /* a refusal says why, and leaves no tree */
	}
	diag_clear(&errs);
	return 0;
}
