/* Unit tests for the YAML tree (ydoc.c): positions, scalars, and the bounds that hostile files
 * meet: bytes that crashed or hung the previous parser, alias bombs, depth, duplicates. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ydoc.h"

/* Loads LEN bytes of TEXT, expecting failure with one error at LINE:COL (0: any) whose
 * message holds WANT. */
static void expect_error(const char *text, size_t len, int line, int col, const char *want)
{
	struct diag_list errs = {0};
	struct ydoc *doc = NULL;
	const struct ydoc_node *root = NULL;
	ck_assert_int_eq(ydoc_load("f.yaml", text, len, &errs, &doc, &root), -EINVAL);
	ck_assert_ptr_null(doc);
	ck_assert_ptr_null(root);
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_uint_eq(errs.n_errors, 1);
	ck_assert_str_eq(errs.v[0].file, "f.yaml");
	ck_assert_msg(strstr(errs.v[0].msg, want), "\"%s\" lacks \"%s\"", errs.v[0].msg, want);
	if (line) {
		ck_assert_int_eq(errs.v[0].line, line);
		ck_assert_int_eq(errs.v[0].col, col);
	}
	diag_clear(&errs);
}

static const struct ydoc_node *load_ok(const char *text, struct ydoc **doc)
{
	struct diag_list errs = {0};
	const struct ydoc_node *root = NULL;
	int rc = ydoc_load("f.yaml", text, strlen(text), &errs, doc, &root);
	ck_assert_msg(rc == 0, "%s", errs.n ? errs.v[0].msg : "?");
	diag_clear(&errs);
	return root;
}

START_TEST(positions_and_scalars)
{
	struct ydoc *doc;
	const struct ydoc_node *root = load_ok("a: 1\nb:\n  - 'x'\n  - \"y\\0z\"\nc:\n", &doc);
	ck_assert(ydoc_is_map(root));
	ck_assert_uint_eq(root->n, 3);
	const struct ydoc_node *a = ydoc_get(root, "a");
	ck_assert_str_eq(ydoc_scalar(a), "1");
	ck_assert_int_eq(a->pos.line, 1);
	ck_assert_int_eq(a->pos.col, 4);
	const struct ydoc_node *b = ydoc_get(root, "b");
	ck_assert(ydoc_is_seq(b));
	ck_assert_int_eq(b->items[0]->style, YDOC_QUOTED);
	ck_assert_int_eq(b->items[0]->pos.col, 5); /* the quote */
	/* A NUL byte is kept, with the length, and such a scalar is no plain C string. */
	ck_assert_uint_eq(b->items[1]->len, 3);
	ck_assert_ptr_null(ydoc_scalar(b->items[1]));
	/* A value written as nothing is null, positioned at its key. */
	const struct ydoc_node *c = ydoc_get(root, "c");
	ck_assert(ydoc_is_null(c));
	struct ydoc_pos kp = {5, 1};
	ck_assert_int_eq(ydoc_pos_of(c, kp).line, 5);
	ck_assert_ptr_null(ydoc_get(root, "d"));
	ydoc_free(doc);

	root = load_ok("", &doc);
	ck_assert_ptr_null(root);
	ydoc_free(doc);
}
END_TEST

START_TEST(to_json_follows_the_core_schema)
{
	struct ydoc *doc;
	const struct ydoc_node *root =
		load_ok("{i: 12, f: 0.5, t: true, n: ~, s: '12', p: abc, l: [1, x]}", &doc);
	json_t *j = ydoc_to_json(root);
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	ck_assert_str_eq(s, "{\"f\":0.5,\"i\":12,\"l\":[1,\"x\"],\"n\":null,\"p\":\"abc\","
			    "\"s\":\"12\",\"t\":true}");
	free(s);
	json_decref(j);
	ydoc_free(doc);
}
END_TEST

/* The inputs that took libfyaml 0.7.12 down, found by fuzzing. */
START_TEST(inputs_that_broke_the_previous_parser)
{
	/* SIGSEGV in libfyaml's parser cleanup. */
	expect_error("\x3f\x20\x65\x3a\x09\x00", 6, 0, 0, "invalid YAML");
	/* An endless loop in libfyaml's directive scanner: '%' and a byte that is not UTF-8. */
	expect_error("\x25\x83", 2, 1, 2, "invalid YAML: invalid leading UTF-8 octet");
	/* Invalid UTF-8 and control characters anywhere. */
	expect_error("a: \"\xff\"\n", 7, 1, 5, "invalid leading UTF-8 octet");
	expect_error("a: b\x01\n", 6, 1, 5, "control characters are not allowed");
}
END_TEST

/* Nine anchors, each a list of ten of the previous one: a billion leaves from a few
 * hundred bytes. The tree shares nodes, and the count of expanded nodes stops it early. */
START_TEST(alias_bombs_are_refused)
{
	char text[2048];
	size_t n = (size_t)snprintf(text, sizeof(text), "a0: &a0 [x]\n");
	for (int i = 1; i < 10; i++) {
		n += (size_t)snprintf(text + n, sizeof(text) - n, "a%d: &a%d [", i, i);
		for (int k = 0; k < 10; k++)
			n += (size_t)snprintf(text + n, sizeof(text) - n, "%s*a%d", k ? ", " : "",
					      i - 1);
		n += (size_t)snprintf(text + n, sizeof(text) - n, "]\n");
	}
	expect_error(text, n, 0, 0, "more than 2000000 nodes");

	/* A few aliases are fine, and read as what they name. */
	struct ydoc *doc;
	const struct ydoc_node *root = load_ok("base: &b {q: 1}\nx: *b\ny: *b\n", &doc);
	ck_assert_str_eq(ydoc_scalar(ydoc_get(ydoc_get(root, "y"), "q")), "1");
	ydoc_free(doc);

	expect_error("a: *nowhere\n", 12, 1, 4, "alias *nowhere names no anchor");
}
END_TEST

START_TEST(depth_is_bounded)
{
	size_t depth = 100000;
	char *text = malloc(depth + 1);
	ck_assert_ptr_nonnull(text);
	memset(text, '[', depth);
	text[depth] = '\0';
	expect_error(text, depth, 1, 65, "nested deeper than 64 levels");
	for (size_t i = 0; i < depth; i++)
		text[i] = i % 2 ? ' ' : '-';
	expect_error(text, depth, 0, 0, "nested deeper than 64 levels");
	free(text);
	/* 64 levels are fine. */
	char ok[200];
	memset(ok, '[', 64);
	memset(ok + 64, ']', 64);
	ok[128] = '\0';
	struct ydoc *doc;
	ck_assert(ydoc_is_seq(load_ok(ok, &doc)));
	ydoc_free(doc);
}
END_TEST

START_TEST(keys_are_distinct_names)
{
	expect_error("a: 1\nb: 2\na: 3\n", 14, 3, 1, "duplicate key 'a' (first given at 1:1)");
	expect_error("? [a]\n: 1\n", 10, 1, 3, "a mapping key must be a name");
	expect_error("~: 1\n", 5, 1, 1, "a mapping key must be a name");
	expect_error("a: 1\n---\nb: 2\n", 14, 2, 1, "expected one YAML document");
	expect_error("a:\n\tb: 1\n", 9, 2, 1, "tab character may not be used as indentation");
}
END_TEST

START_TEST(map_each_and_check_keys)
{
	struct ydoc *doc;
	const struct ydoc_node *root = load_ok("name: x\nfromat: y\n", &doc);
	struct diag_list errs = {0};
	static const char *const allowed[] = {"name", "format", NULL};
	ck_assert_uint_eq(ydoc_check_keys(root, allowed, "a topic", "f.yaml", &errs), 1);
	ck_assert_str_eq(errs.v[0].msg, "unknown key 'fromat' in a topic; did you mean 'format'?");
	ck_assert_int_eq(errs.v[0].line, 2);
	diag_clear(&errs);
	ydoc_free(doc);
}
END_TEST

static Suite *ydoc_suite(void)
{
	Suite *s = suite_create("ydoc");
	TCase *tc = tcase_create("ydoc");
	tcase_add_test(tc, positions_and_scalars);
	tcase_add_test(tc, to_json_follows_the_core_schema);
	tcase_add_test(tc, inputs_that_broke_the_previous_parser);
	tcase_add_test(tc, alias_bombs_are_refused);
	tcase_add_test(tc, depth_is_bounded);
	tcase_add_test(tc, keys_are_distinct_names);
	tcase_add_test(tc, map_each_and_check_keys);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ydoc_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
