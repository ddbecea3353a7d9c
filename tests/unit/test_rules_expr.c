/* Unit tests for the rule condition parser (rules_expr.c): precedence, every literal and operator,
 * every syntax error. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* open_memstream */
#endif
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules_expr.h"
#include "unit.h"

/* 2027-08-01T00:00Z and 2027-08-01T06:30Z in UTC milliseconds. */
#define AUG1_MS 1817078400000LL
#define AUG1_0630_MS 1817101800000LL

static const char *cmp_name(enum rexpr_cmp c)
{
	static const char *const n[] = {"==", "!=", "<", "<=", ">", ">="};
	return n[c];
}

static const char *field_str(const struct rexpr *e, char *buf, size_t len)
{
	if (e->field == RF_SIGNAL || e->field == RF_ATTR)
		snprintf(buf, len, "%s.%s", rexpr_field_name(e->field), e->name);
	else
		snprintf(buf, len, "%s", rexpr_field_name(e->field));
	return buf;
}

/* Renders a tree as a fully parenthesised string, so that a test states the
 * whole shape it expects in one comparison. */
static void render(FILE *f, const struct rexpr *e)
{
	char fb[128];
	switch (e->kind) {
	case REX_AND:
	case REX_OR:
		fprintf(f, "(%s ", e->kind == REX_AND ? "and" : "or");
		render(f, e->a);
		fputc(' ', f);
		render(f, e->b);
		fputc(')', f);
		return;
	case REX_NOT:
		fputs("(not ", f);
		render(f, e->a);
		fputc(')', f);
		return;
	case REX_BOOL:
		fputs(e->bval ? "true" : "false", f);
		return;
	case REX_CMP:
		fprintf(f, "[%s %s ", field_str(e, fb, sizeof(fb)), cmp_name(e->cmp));
		if (e->is_num)
			fprintf(f, "%.17g]", e->num);
		else
			fprintf(f, "'%s']", e->str);
		return;
	case REX_IN:
		fprintf(f, "[%s in ", field_str(e, fb, sizeof(fb)));
		if (e->list) {
			fprintf(f, "%s]", e->list);
			return;
		}
		fputc('{', f);
		for (size_t i = 0; i < e->n_vals; i++) {
			if (i)
				fputc(',', f);
			if (e->is_num)
				fprintf(f, "%.17g", e->nums[i]);
			else
				fprintf(f, "'%s'", e->strs[i]);
		}
		fputs("}]", f);
		return;
	case REX_CONTAINS:
		fprintf(f, "[%s contains_any %s]", field_str(e, fb, sizeof(fb)), e->list);
		return;
	case REX_MATCHES:
		fprintf(f, "[%s matches /%s/%s%s%s]", field_str(e, fb, sizeof(fb)), e->str,
			e->re_flags & REXPR_RE_CASELESS ? "i" : "",
			e->re_flags & REXPR_RE_DOTALL ? "s" : "",
			e->re_flags & REXPR_RE_MULTILINE ? "m" : "");
		return;
	case REX_MEDIA_IN:
		fprintf(f, "[%s any_media_in %s]", field_str(e, fb, sizeof(fb)), e->list);
		return;
	case REX_BANK:
		fprintf(f, "[%s in bank %s within %d]", field_str(e, fb, sizeof(fb)), e->list,
			e->within);
		return;
	case REX_COUNTER: {
		char of[128] = "";
		if (e->distinct) {
			struct rexpr o = {.field = e->of_field, .name = e->of_name};
			field_str(&o, of, sizeof(of));
		}
		fprintf(f, "[%s(%s%sby %s, %lldms) %s %.17g]", e->distinct ? "distinct" : "count",
			of, e->distinct ? ", " : "", field_str(e, fb, sizeof(fb)),
			(long long)e->window_ms, cmp_name(e->cmp), e->num);
		return;
	}
	}
	fputs("?", f);
}

/* Parses SRC, which must succeed; the caller frees with rexpr_free. */
static struct rexpr *parse_ok(const char *src)
{
	struct rexpr *e = (struct rexpr *)&e; /* must be overwritten */
	size_t off = 12345;
	char err[256];
	int rc = rexpr_parse(src, &e, &off, err, sizeof(err));
	ck_assert_msg(rc == 0, "parsing \"%s\" failed at %zu: %s", src, off, err);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(err, "");
	return e;
}

/* Parses SRC and compares the rendered tree with WANT. */
static void expect_tree(const char *src, const char *want)
{
	struct rexpr *e = parse_ok(src);
	char *got = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&got, &len);
	ck_assert_ptr_nonnull(f);
	render(f, e);
	fclose(f);
	ck_assert_msg(!strcmp(got, want), "\"%s\" parsed as %s, expected %s", src, got, want);
	free(got);
	rexpr_free(e);
}

/* Parses SRC, which must fail with exactly MSG at offset OFF. */
static void expect_error(const char *src, size_t off, const char *msg)
{
	struct rexpr *e = (struct rexpr *)&e;
	size_t got_off = 99999;
	char err[256];
	int rc = rexpr_parse(src, &e, &got_off, err, sizeof(err));
	ck_assert_msg(rc == -EINVAL, "\"%s\" should fail, rc %d", src, rc);
	ck_assert_ptr_null(e);
	ck_assert_msg(!strcmp(err, msg), "\"%s\": error \"%s\", expected \"%s\"", src, err, msg);
	ck_assert_msg(got_off == off, "\"%s\": error \"%s\" at offset %zu, expected %zu", src, err,
		      got_off, off);
}

/* ---- structure ---- */

START_TEST(precedence_not_over_and_over_or)
{
	expect_tree("reach > 1 or reach > 2 and reach > 3",
		    "(or [reach > 1] (and [reach > 2] [reach > 3]))");
	expect_tree("reach > 1 and reach > 2 or reach > 3",
		    "(or (and [reach > 1] [reach > 2]) [reach > 3])");
	expect_tree("not reach > 1 and reach > 2", "(and (not [reach > 1]) [reach > 2])");
	expect_tree("not reach > 1 or not reach > 2 and reach > 3",
		    "(or (not [reach > 1]) (and (not [reach > 2]) [reach > 3]))");
	expect_tree("not not true", "(not (not true))");
}
END_TEST

START_TEST(and_or_are_left_associative)
{
	expect_tree("true and false and true", "(and (and true false) true)");
	expect_tree("true or false or true", "(or (or true false) true)");
}
END_TEST

START_TEST(parentheses_override_precedence)
{
	expect_tree("(reach > 1 or reach > 2) and reach > 3",
		    "(and (or [reach > 1] [reach > 2]) [reach > 3])");
	expect_tree("not (reach > 1 or reach > 2)", "(not (or [reach > 1] [reach > 2]))");
	expect_tree("((((true))))", "true");
	expect_tree("reach > 1 and (reach > 2 or (reach > 3 and not (reach > 4)))",
		    "(and [reach > 1] (or [reach > 2] (and [reach > 3] (not [reach > 4]))))");
	/* No spaces needed around parentheses. */
	expect_tree("(true)and(false)", "(and true false)");
}
END_TEST

START_TEST(node_offsets_point_into_the_source)
{
	const char *src = "  lang == sw and not (reach >= 10)";
	struct rexpr *e = parse_ok(src);
	ck_assert_int_eq(e->kind, REX_AND);
	ck_assert_uint_eq(e->off, 13); /* the 'and' */
	ck_assert_int_eq(e->a->kind, REX_CMP);
	ck_assert_uint_eq(e->a->off, 2);
	ck_assert_uint_eq(e->a->lit_off, 10);
	ck_assert_int_eq(e->b->kind, REX_NOT);
	ck_assert_uint_eq(e->b->off, 17);
	ck_assert_uint_eq(e->b->a->off, 22);
	ck_assert_uint_eq(e->b->a->lit_off, 31);
	rexpr_free(e);
}
END_TEST

/* ---- fields and operators ---- */

START_TEST(every_comparison_operator)
{
	static const struct {
		const char *src;
		enum rexpr_cmp cmp;
	} c[] = {
		{"reach == 5", RC_EQ}, {"reach != 5", RC_NE}, {"reach < 5", RC_LT},
		{"reach <= 5", RC_LE}, {"reach > 5", RC_GT},  {"reach >= 5", RC_GE},
		{"reach>=5", RC_GE},   {"reach<5", RC_LT},
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct rexpr *e = parse_ok(c[i].src);
		ck_assert_int_eq(e->kind, REX_CMP);
		ck_assert_int_eq(e->field, RF_REACH);
		ck_assert_msg(e->cmp == c[i].cmp, "%s: cmp %d", c[i].src, e->cmp);
		ck_assert(e->is_num);
		ck_assert(e->num == 5.0);
		rexpr_free(e);
	}
}
END_TEST

START_TEST(every_field)
{
	static const struct {
		const char *src;
		enum rexpr_field field;
		const char *name;
	} c[] = {
		{"text == x", RF_TEXT, NULL},
		{"lang == x", RF_LANG, NULL},
		{"country == x", RF_COUNTRY, NULL},
		{"surface == x", RF_SURFACE, NULL},
		{"content_type == x", RF_CONTENT_TYPE, NULL},
		{"author_id == x", RF_AUTHOR_ID, NULL},
		{"reach == 1", RF_REACH, NULL},
		{"report_count == 1", RF_REPORT_COUNT, NULL},
		{"created_at == 1", RF_CREATED_AT, NULL},
		{"signal.hate == 1", RF_SIGNAL, "hate"},
		{"signal.hate-v2.1 == 1", RF_SIGNAL, "hate-v2.1"},
		{"attr.channel == x", RF_ATTR, "channel"},
		{"attr.a_b.c == x", RF_ATTR, "a_b.c"},
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct rexpr *e = parse_ok(c[i].src);
		ck_assert_msg(e->field == c[i].field, "%s: field %d", c[i].src, e->field);
		if (c[i].name)
			ck_assert_str_eq(e->name, c[i].name);
		else
			ck_assert_ptr_null(e->name);
		rexpr_free(e);
	}
	struct rexpr *e = parse_ok("media any_media_in known");
	ck_assert_int_eq(e->field, RF_MEDIA);
	rexpr_free(e);
}
END_TEST

START_TEST(field_names_and_kinds)
{
	ck_assert_str_eq(rexpr_field_name(RF_TEXT), "text");
	ck_assert_str_eq(rexpr_field_name(RF_CONTENT_TYPE), "content_type");
	ck_assert_str_eq(rexpr_field_name(RF_CREATED_AT), "created_at");
	ck_assert_str_eq(rexpr_field_name(RF_MEDIA), "media");
	ck_assert_str_eq(rexpr_field_name(RF_SIGNAL), "signal");
	ck_assert_str_eq(rexpr_field_name(RF_ATTR), "attr");
	static const enum rexpr_field numbers[] = {RF_REACH, RF_REPORT_COUNT, RF_CREATED_AT,
						   RF_SIGNAL};
	static const enum rexpr_field strings[] = {RF_TEXT,    RF_LANG,         RF_COUNTRY,
						   RF_SURFACE, RF_CONTENT_TYPE, RF_AUTHOR_ID,
						   RF_ATTR,    RF_MEDIA};
	struct rexpr e = {0};
	for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
		e.field = numbers[i];
		ck_assert(rexpr_is_number(&e));
	}
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		e.field = strings[i];
		ck_assert(!rexpr_is_number(&e));
	}
	/* An attribute is a number when its rule file declares it one. */
	e.field = RF_ATTR;
	for (int t = RA_INT; t <= RA_BOOL; t++) {
		e.attr_type = (enum rexpr_attr_type)t;
		ck_assert(rexpr_is_number(&e));
		ck_assert_int_eq(rexpr_attr_type_parse(rexpr_attr_type_name(e.attr_type)), t);
	}
	ck_assert_int_eq(rexpr_attr_type_parse("integer"), -1);
}
END_TEST

START_TEST(booleans)
{
	struct rexpr *e = parse_ok("true");
	ck_assert_int_eq(e->kind, REX_BOOL);
	ck_assert(e->bval);
	rexpr_free(e);
	e = parse_ok("false");
	ck_assert_int_eq(e->kind, REX_BOOL);
	ck_assert(!e->bval);
	rexpr_free(e);
}
END_TEST

/* ---- literals ---- */

START_TEST(string_literals_and_escapes)
{
	/* \" \\ \n \t are escapes; any other backslash stays, so that a
	 * quoted regex can say "\d". */
	struct rexpr *e = parse_ok("text == \"a\\\"b\\\\c\\nd\\te\\qf\"");
	ck_assert(!e->is_num);
	ck_assert_str_eq(e->str, "a\"b\\c\nd\te\\qf");
	ck_assert_uint_eq(e->lit_off, 8);
	rexpr_free(e);
	e = parse_ok("text == \"\"");
	ck_assert_str_eq(e->str, "");
	rexpr_free(e);
	/* Keywords, operators and UTF-8 are plain characters inside quotes. */
	e = parse_ok("attr.x != \"and or not ( ) [ ] == ç 中\"");
	ck_assert_int_eq(e->cmp, RC_NE);
	ck_assert_str_eq(e->str, "and or not ( ) [ ] == ç 中");
	rexpr_free(e);
}
END_TEST

START_TEST(bare_words_are_strings)
{
	expect_tree("lang == sw", "[lang == 'sw']");
	expect_tree("lang == sw-KE", "[lang == 'sw-KE']");
	expect_tree("author_id == user_42", "[author_id == 'user_42']");
	expect_tree("attr.tier == gold.plus", "[attr.tier == 'gold.plus']");
	/* true/false/in are only keywords where a test is expected. */
	expect_tree("attr.flag == true", "[attr.flag == 'true']");
	expect_tree("lang == in", "[lang == 'in']");
	expect_tree("lang==sw and country==KE", "(and [lang == 'sw'] [country == 'KE'])");
}
END_TEST

START_TEST(number_literals)
{
	expect_tree("reach >= 10000", "[reach >= 10000]");
	expect_tree("signal.x >= 0.5", "[signal.x >= 0.5]");
	expect_tree("signal.x > -0.25", "[signal.x > -0.25]");
	expect_tree("signal.x > -3", "[signal.x > -3]");
	expect_tree("signal.x > +3", "[signal.x > 3]");
	expect_tree("signal.x > .75", "[signal.x > 0.75]");
	expect_tree("signal.x > -.5", "[signal.x > -0.5]");
	expect_tree("reach > 1e3", "[reach > 1000]");
	expect_tree("reach > 0", "[reach > 0]");
	struct rexpr *e = parse_ok("report_count < 12");
	ck_assert(e->is_num);
	ck_assert(e->num == 12.0);
	ck_assert_ptr_null(e->str);
	ck_assert_uint_eq(e->lit_off, 15);
	rexpr_free(e);
}
END_TEST

START_TEST(date_literals)
{
	struct rexpr *e = parse_ok("created_at >= 2027-08-01");
	ck_assert(e->is_num);
	ck_assert_int_eq((int64_t)e->num, AUG1_MS);
	rexpr_free(e);
	e = parse_ok("created_at < 2027-08-01T06:30Z");
	ck_assert(e->is_num);
	ck_assert_int_eq((int64_t)e->num, AUG1_0630_MS);
	rexpr_free(e);
	e = parse_ok("(created_at >= 2027-08-01T06:30:15Z)");
	ck_assert_int_eq((int64_t)e->num, AUG1_0630_MS + 15000);
	rexpr_free(e);
	e = parse_ok("created_at in [2027-08-01, 2027-08-01T06:30Z]");
	ck_assert_int_eq(e->kind, REX_IN);
	ck_assert(e->is_num);
	ck_assert_uint_eq(e->n_vals, 2);
	ck_assert_int_eq((int64_t)e->nums[0], AUG1_MS);
	ck_assert_int_eq((int64_t)e->nums[1], AUG1_0630_MS);
	rexpr_free(e);
}
END_TEST

START_TEST(parse_date_exact_epoch_ms)
{
	int64_t ms = 0;
	ck_assert_int_eq(rexpr_parse_date("2027-08-01", 10, &ms), 0);
	ck_assert_int_eq(ms, AUG1_MS);
	ck_assert_int_eq(rexpr_parse_date("2027-08-01T06:30Z", 17, &ms), 0);
	ck_assert_int_eq(ms, AUG1_0630_MS);
	ck_assert_int_eq(rexpr_parse_date("2027-08-20", 10, &ms), 0);
	ck_assert_int_eq(ms, 1818720000000LL);
	ck_assert_int_eq(rexpr_parse_date("1970-01-01", 10, &ms), 0);
	ck_assert_int_eq(ms, 0);
	ck_assert_int_eq(rexpr_parse_date("1969-12-31", 10, &ms), 0);
	ck_assert_int_eq(ms, -86400000LL);
	ck_assert_int_eq(rexpr_parse_date("2000-03-01", 10, &ms), 0);
	ck_assert_int_eq(ms, 951868800000LL);
	ck_assert_int_eq(rexpr_parse_date("2024-02-29T23:59:59Z", 20, &ms), 0);
	ck_assert_int_eq(ms, 1709251199000LL);
	/* LEN bounds the text: what follows is not read. */
	ck_assert_int_eq(rexpr_parse_date("2027-08-01 and more", 10, &ms), 0);
	ck_assert_int_eq(ms, AUG1_MS);
}
END_TEST

START_TEST(parse_date_rejects_malformed)
{
	static const char *const bad[] = {
		"2027-8-1",          "2027-08-1",           "27-08-01",
		"2027/08/01",        "2027-13-01",          "2027-00-10",
		"2027-08-00",        "2027-08-32",          "2027-08-01T06:30",
		"2027-08-01T24:00Z", "2027-08-01T06:60Z",   "2027-08-01T0630Z",
		"2027-08-01x",       "2027-08-01T06:30Zx",  "",
		"2027-08-01T06Z",    "2027-08-01T06:30:15", "20270801",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t ms = 42;
		ck_assert_msg(rexpr_parse_date(bad[i], strlen(bad[i]), &ms) == -EINVAL,
			      "\"%s\" accepted", bad[i]);
	}
	/* Too long for any date. */
	const char *longs = "2027-08-01T06:30:15Z-and-some-more-text";
	int64_t ms;
	ck_assert_int_eq(rexpr_parse_date(longs, strlen(longs), &ms), -EINVAL);
}
END_TEST

/* A day past the end of its month is a typo, not the first days of the
 * next month: `until: 2027-02-30` must not silently mean March 2nd. */
START_TEST(parse_date_rejects_days_past_the_month)
{
	static const char *const bad[] = {"2027-02-29", "2027-02-30", "2027-04-31", "2027-06-31",
					  "2027-09-31", "2027-11-31", "2100-02-29"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t ms = 42;
		ck_assert_msg(rexpr_parse_date(bad[i], strlen(bad[i]), &ms) == -EINVAL,
			      "\"%s\" accepted", bad[i]);
	}
	int64_t ms;
	ck_assert_int_eq(rexpr_parse_date("2028-02-29", 10, &ms), 0);
	ck_assert_int_eq(rexpr_parse_date("2000-02-29", 10, &ms), 0);
	ck_assert_int_eq(rexpr_parse_date("2027-01-31", 10, &ms), 0);
	ck_assert_int_eq(rexpr_parse_date("2027-12-31T23:59:59Z", 20, &ms), 0);
}
END_TEST

START_TEST(regex_literals_and_flags)
{
	expect_tree("text matches /ab+c/", "[text matches /ab+c/]");
	expect_tree("text matches /ab+c/i", "[text matches /ab+c/i]");
	expect_tree("text matches /x/s", "[text matches /x/s]");
	expect_tree("text matches /x/m", "[text matches /x/m]");
	expect_tree("text matches /x/msi", "[text matches /x/ism]");
	/* An escaped '/' loses its backslash; other escapes reach the regex engine. */
	struct rexpr *e = parse_ok("text matches /https?:\\/\\/x\\.com\\/\\d+/i and reach > 1");
	ck_assert_int_eq(e->kind, REX_AND);
	ck_assert_int_eq(e->a->kind, REX_MATCHES);
	ck_assert_str_eq(e->a->str, "https?://x\\.com/\\d+");
	ck_assert_uint_eq(e->a->re_flags, REXPR_RE_CASELESS);
	ck_assert_uint_eq(e->a->lit_off, 13);
	rexpr_free(e);
	/* A quoted regex: string escapes apply, no flags. */
	e = parse_ok("text matches \"a\\\\d+\\\"\"");
	ck_assert_int_eq(e->kind, REX_MATCHES);
	ck_assert_str_eq(e->str, "a\\d+\"");
	ck_assert_uint_eq(e->re_flags, 0);
	rexpr_free(e);
	/* "\d" reaches the regex engine as \d too. */
	e = parse_ok("text matches \"\\d+ subscribers\"");
	ck_assert_str_eq(e->str, "\\d+ subscribers");
	rexpr_free(e);
	/* In /.../ a backslash before a quote stays. */
	e = parse_ok("text matches /say \\\"hi\\\"/");
	ck_assert_str_eq(e->str, "say \\\"hi\\\"");
	rexpr_free(e);
}
END_TEST

START_TEST(in_literal_lists)
{
	expect_tree("lang in [sw, \"en\", fr-CA]", "[lang in {'sw','en','fr-CA'}]");
	expect_tree("reach in [1, 2.5, -3]", "[reach in {1,2.5,-3}]");
	expect_tree("surface in [post]", "[surface in {'post'}]");
	expect_tree("content_type in [\"IMAGE\",video]", "[content_type in {'IMAGE','video'}]");
	expect_tree("not lang in [sw] and true", "(and (not [lang in {'sw'}]) true)");
	/* A trailing comma is tolerated. */
	expect_tree("lang in [sw,]", "[lang in {'sw'}]");
	struct rexpr *e = parse_ok("country in [KE, TZ, UG]");
	ck_assert_int_eq(e->kind, REX_IN);
	ck_assert_ptr_null(e->list);
	ck_assert(!e->is_num);
	ck_assert_uint_eq(e->n_vals, 3);
	ck_assert_str_eq(e->strs[2], "UG");
	rexpr_free(e);
}
END_TEST

START_TEST(in_named_list)
{
	struct rexpr *e = parse_ok("author_id in blocked_authors");
	ck_assert_int_eq(e->kind, REX_IN);
	ck_assert_int_eq(e->field, RF_AUTHOR_ID);
	ck_assert_str_eq(e->list, "blocked_authors");
	ck_assert_uint_eq(e->list_off, 13);
	ck_assert_uint_eq(e->n_vals, 0);
	rexpr_free(e);
	expect_tree("lang in langs or attr.k in keys", "(or [lang in langs] [attr.k in keys])");
}
END_TEST

START_TEST(contains_any_matches_any_media_in)
{
	struct rexpr *e = parse_ok("text contains_any incitement_sw");
	ck_assert_int_eq(e->kind, REX_CONTAINS);
	ck_assert_int_eq(e->field, RF_TEXT);
	ck_assert_str_eq(e->list, "incitement_sw");
	ck_assert_uint_eq(e->list_off, 18);
	rexpr_free(e);
	e = parse_ok("media any_media_in known_hashes");
	ck_assert_int_eq(e->kind, REX_MEDIA_IN);
	ck_assert_int_eq(e->field, RF_MEDIA);
	ck_assert_str_eq(e->list, "known_hashes");
	ck_assert_uint_eq(e->list_off, 19);
	rexpr_free(e);
	expect_tree("lang == sw and text contains_any incitement_sw and signal.violence >= 0.5",
		    "(and (and [lang == 'sw'] [text contains_any incitement_sw]) "
		    "[signal.violence >= 0.5])");
	expect_tree("text contains_any a or not text matches /b/ or media any_media_in c",
		    "(or (or [text contains_any a] (not [text matches /b/])) "
		    "[media any_media_in c])");
}
END_TEST

START_TEST(counters_and_banks)
{
	expect_tree("count(by: author_id, window: 10m) >= 20",
		    "[count(by author_id, 600000ms) >= 20]");
	expect_tree("count(window:1h,by:attr.ip) > 5", "[count(by attr.ip, 3600000ms) > 5]");
	expect_tree("count ( by : url , window : 2d ) == 0", "[count(by url, 172800000ms) == 0]");
	expect_tree("distinct(author_id, by: text, window: 1h) >= 300",
		    "[distinct(author_id, by text, 3600000ms) >= 300]");
	expect_tree("distinct(attr.ip, by: attr.device, window: 7d) < 3",
		    "[distinct(attr.ip, by attr.device, 604800000ms) < 3]");
	expect_tree("distinct(url, by: author_id, window: 1s) <= 1",
		    "[distinct(url, by author_id, 1000ms) <= 1]");
	expect_tree("lang == sw and count(by: media, window: 30s) >= 3",
		    "(and [lang == 'sw'] [count(by media, 30000ms) >= 3])");
	expect_tree("not count(by: author_id, window: 1m) < 2",
		    "(not [count(by author_id, 60000ms) < 2])");
	expect_tree("media in bank terror_pdq within 31", "[media in bank terror_pdq within 31]");
	expect_tree("media in bank csam_md5", "[media in bank csam_md5 within -1]");
	expect_tree("media in bank b within 0 or media in bank c",
		    "(or [media in bank b within 0] [media in bank c within -1])");
	/* count and distinct without '(' are no fields. */
	expect_error("count >= 20", 0,
		     "count is a counter: write count(by: FIELD, window: DURATION) >= N");
	expect_error("reach > 1 or distinct > 2", 13,
		     "distinct is a counter: write distinct(FIELD, by: FIELD, window: DURATION) "
		     ">= N");
	/* A list named bank is still a list for other fields. */
	expect_tree("lang in bank", "[lang in bank]");
}
END_TEST

START_TEST(counter_and_bank_errors)
{
	expect_error("count(window: 10m) >= 2", 17, "count(...) needs by: FIELD");
	expect_error("count(by: author_id) >= 2", 19,
		     "count(...) needs window: DURATION, such as 10m");
	expect_error("count() >= 2", 6, "expected by: or window: in count(...), got ')'");
	expect_error("count(by: lang, window: 1m) > 1", 10,
		     "expected a field to group events by (author_id, text, url, media or "
		     "attr.NAME), got 'lang'");
	expect_error("count(by author_id, window: 1m) > 1", 9,
		     "expected ':' after 'by', got 'author_id'");
	expect_error("count(by: text, by: url, window: 1m) > 1", 16,
		     "by: is given twice in count(...)");
	expect_error("count(by: text, window: 10) > 1", 24,
		     "expected a window such as 10m or 1h (1s to 7d), got '10'");
	expect_error("count(by: text, window: 8d) > 1", 24,
		     "expected a window such as 10m or 1h (1s to 7d), got '8d'");
	expect_error("count(by: text, window: 0s) > 1", 24,
		     "expected a window such as 10m or 1h (1s to 7d), got '0s'");
	expect_error("count(by: text, window: 10 m) > 1", 24,
		     "expected a window such as 10m or 1h (1s to 7d), got '10'");
	expect_error("count(by: text, window: ) > 1", 24,
		     "expected a window such as 10m or 1h (1s to 7d), got ')'");
	expect_error("count(by: text, window: 1m > 1", 27,
		     "expected ',' or ')' in count(...), got '>'");
	expect_error("count(by: text, window: 1m)", 27,
		     "expected a comparison (>=, >, <=, <, ==, !=) after count(...), got end of "
		     "condition");
	expect_error("count(by: text, window: 1m) >= lots", 31,
		     "expected a number after the comparison of count(...), got 'lots'");
	expect_error("distinct(by: text, window: 1m) > 1", 9,
		     "expected the field whose distinct values are counted (author_id, text, url, "
		     "media or attr.NAME), got 'by'");
	expect_error("distinct(author_id by: text, window: 1m) > 1", 19,
		     "expected ',' or ')' in distinct(...), got 'by'");
	expect_error("distinct(text, by: text, window: 1m) > 1", 0,
		     "distinct(X, by: X, ...) is always 1: count another field");
	expect_error("media in bank", 13,
		     "expected a bank name after 'in bank', got end of condition");
	expect_error("media in bank within 3", 14,
		     "expected a bank name after 'in bank', got 'within'");
	expect_error("media in bank b within", 22,
		     "expected a Hamming distance in bits (0 to 64) after 'within', got end of "
		     "condition");
	expect_error("media in bank b within -1", 23,
		     "expected a Hamming distance in bits (0 to 64) after 'within', got '-1'");
	expect_error("media in bank b within 3.5", 23,
		     "expected a Hamming distance in bits (0 to 64) after 'within', got '3.5'");
	expect_error("media foo", 6,
		     "expected 'any_media_in LIST' or 'in bank NAME' after media, got 'foo'");
}
END_TEST

/* ---- syntax errors ---- */

START_TEST(error_unknown_field)
{
	expect_error("lnag == sw", 0, "unknown field 'lnag'; did you mean 'lang'?");
	expect_error("reach > 1 and raech > 2", 14, "unknown field 'raech'; did you mean 'reach'?");
	expect_error("countyr == KE", 0, "unknown field 'countyr'; did you mean 'country'?");
	expect_error("signals.hate > 0.5", 0,
		     "unknown field 'signals.hate'; did you mean 'signal.<name>'?");
	expect_error("signal > 0.5", 0, "unknown field 'signal'; did you mean 'signal.<name>'?");
	expect_error("attrs.k == x", 0, "unknown field 'attrs.k'; did you mean 'attr.<name>'?");
	expect_error("(foo == 1)", 1,
		     "unknown field 'foo' (expected text, lang, country, surface, content_type, "
		     "author_id, reach, report_count, created_at, signal.<name>, attr.<name>, "
		     "media, count(...) or distinct(...))");
}
END_TEST

START_TEST(error_missing_value)
{
	expect_error("reach >=", 8, "expected a value after '>=', got end of condition");
	expect_error("reach >=   ", 11, "expected a value after '>=', got end of condition");
	expect_error("reach > ) ", 8, "expected a value after '>', got ')'");
	expect_error("lang == and reach > 1", 8, "expected a value after '==', got 'and'");
	expect_error("lang != or", 8, "expected a value after '!=', got 'or'");
	expect_error("lang in [sw, sw2, ", 18, "expected a value after '[', got end of condition");
	expect_error("lang in [,sw]", 9, "expected a value after '[', got ','");
}
END_TEST

START_TEST(error_unterminated_string_and_regex)
{
	expect_error("text == \"abc", 8, "unterminated string");
	expect_error("lang == sw and text == \"a\\\"", 23, "unterminated string");
	expect_error("text matches /abc", 13, "unterminated regex");
	expect_error("text matches /a\\/", 13, "unterminated regex");
}
END_TEST

START_TEST(error_unknown_regex_flag)
{
	expect_error("text matches /a/ix", 17, "unknown regex flag 'x' (expected i, s or m)");
	expect_error("text matches /a/g", 16, "unknown regex flag 'g' (expected i, s or m)");
}
END_TEST

START_TEST(error_mixed_list_types)
{
	expect_error("reach in [1, \"a\"]", 13, "mixed strings and numbers in a list");
	expect_error("lang in [sw, en, 5]", 17, "mixed strings and numbers in a list");
	expect_error("created_at in [2027-08-01, x]", 27, "mixed strings and numbers in a list");
}
END_TEST

START_TEST(error_empty_list)
{
	expect_error("lang in []", 9, "an empty list never matches");
	expect_error("reach in [ ] or true", 11, "an empty list never matches");
}
END_TEST

START_TEST(error_trailing_garbage)
{
	expect_error("reach > 1 foo", 10, "expected 'and', 'or' or end of condition, got 'foo'");
	expect_error("reach > 1)", 9, "expected 'and', 'or' or end of condition, got ')'");
	expect_error("true true", 5, "expected 'and', 'or' or end of condition, got 'true'");
	expect_error("lang == sw en", 11, "expected 'and', 'or' or end of condition, got 'en'");
}
END_TEST

START_TEST(error_unclosed_paren)
{
	expect_error("(reach > 1", 10,
		     "expected ')' to close the '(' at offset 1, got end of condition");
	expect_error("true and (reach > 1 or (lang == sw)", 35,
		     "expected ')' to close the '(' at offset 10, got end of condition");
	expect_error("(reach > 1 lang == sw)", 11,
		     "expected ')' to close the '(' at offset 1, got 'lang'");
}
END_TEST

START_TEST(error_operator_misuse)
{
	expect_error("lang contains_any words", 5, "contains_any applies to text, not lang");
	expect_error("signal.x contains_any words", 9, "contains_any applies to text, not signal");
	expect_error("media contains_any words", 6, "contains_any applies to text, not media");
	expect_error("text any_media_in hashes", 5, "any_media_in applies to media, not text");
	expect_error("attr.k any_media_in hashes", 7, "any_media_in applies to media, not attr");
	expect_error("lang matches /x/", 5, "matches applies to text, not lang");
	/* media with ==, or any string field with <, parses: the loader rejects it. */
	expect_tree("media == x", "[media == 'x']");
	expect_tree("lang < x", "[lang < 'x']");
}
END_TEST

START_TEST(error_other_kinds)
{
	expect_error("lang = sw", 5, "expected '==', got '='");
	expect_error("lang ! sw", 5, "expected '!=', got '!'");
	expect_error(
		"reach 5", 6,
		"expected an operator (==, !=, <, <=, >, >=, in [...], in LIST) after reach, got '5'");
	expect_error(
		"text", 4,
		"expected an operator (==, !=, <, <=, >, >=, in [...], in LIST, contains_any, matches) after "
		"text, got end of condition");
	expect_error("reach > 10k", 8, "expected a number, got '10k'");
	expect_error("created_at > 2027-08-01T99:00Z", 13,
		     "expected a number, got '2027-08-01T99:00Z'");
	expect_error("lang in 5", 8, "expected '[' or a list name after 'in', got '5'");
	expect_error("lang in [a b]", 11, "expected ',' or ']', got 'b'");
	expect_error("text contains_any", 17, "expected a list name, got end of condition");
	expect_error("text contains_any \"x\"", 18, "expected a list name, got '\"x\"'");
	expect_error("media any_media_in (x)", 19, "expected a list name, got '('");
	expect_error("text matches 5", 13, "expected a regex (\"...\" or /.../flags), got '5'");
	expect_error("reach > 1 and", 13, "expected a field, 'not' or '(', got end of condition");
	expect_error("not", 3, "expected a field, 'not' or '(', got end of condition");
	expect_error("()", 1, "expected a field, 'not' or '(', got ')'");
	expect_error("lang == @", 8, "unexpected character '@'");
	expect_error("reach > 1 && reach < 2", 10, "unexpected character '&'");
}
END_TEST

START_TEST(error_empty_condition)
{
	expect_error("", 0, "empty condition");
	expect_error("   \t\n ", 0, "empty condition");
}
END_TEST

START_TEST(error_message_is_truncated_to_the_buffer)
{
	struct rexpr *e = NULL;
	size_t off = 0;
	char err[16];
	memset(err, 'x', sizeof(err));
	ck_assert_int_eq(rexpr_parse("foo == 1", &e, &off, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_null(e);
	ck_assert_uint_eq(strlen(err), sizeof(err) - 1);
	ck_assert_str_eq(err, "unknown field '");
}
END_TEST

START_TEST(long_token_is_shortened_in_messages)
{
	char src[200];
	snprintf(src, sizeof(src), "reach > 1 %s",
		 "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghij");
	expect_error(src, 10,
		     "expected 'and', 'or' or end of condition, got "
		     "'abcdefghijabcdefghijabcdefghijabcdefghij'");
}
END_TEST

/* The depth of a tree, to show it stays logarithmic in the length of a chain. */
static int tree_depth(const struct rexpr *e)
{
	if (!e)
		return 0;
	int a = tree_depth(e->a), b = tree_depth(e->b);
	return 1 + (a > b ? a : b);
}

/* Inputs that overflowed the stack of every recursive walk (parser, checker, trigger and key
 * walks, evaluator): bounded now, with a positioned error. */
START_TEST(deep_and_large_conditions_are_bounded)
{
	size_t n = 30000;
	char *src = malloc(n * 9 + 16);
	ck_assert_ptr_nonnull(src);
	memset(src, '(', n);
	strcpy(src + n, "true");
	expect_error(src, 32, "condition nested deeper than 32 levels of ( and not");
	size_t o = 0;
	for (size_t i = 0; i < 15000; i++)
		o += (size_t)sprintf(src + o, "not ");
	strcpy(src + o, "true");
	expect_error(src, 128, "condition nested deeper than 32 levels of ( and not");
	o = 0;
	for (size_t i = 0; i < 15000; i++)
		o += (size_t)sprintf(src + o, "true and ");
	strcpy(src + o, "true");
	/* Past REXPR_MAX_NODES nodes the error names where the condition grew too large. */
	struct rexpr *e = NULL;
	size_t off = 0;
	char err[256];
	ck_assert_int_eq(rexpr_parse(src, &e, &off, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "condition too large: more than 4096"));
	ck_assert_uint_lt(off, o);
	/* A long chain within the bounds parses into a shallow tree. */
	o = 0;
	for (size_t i = 0; i < 1000; i++)
		o += (size_t)sprintf(src + o, "%sreach > %zu", i ? " or " : "", i);
	e = parse_ok(src);
	ck_assert_int_le(tree_depth(e), 11);
	rexpr_free(e);
	free(src);
}
END_TEST

static Suite *rules_expr_suite(void)
{
	Suite *s = suite_create("rules_expr");
	TCase *tc = tcase_create("structure");
	tcase_add_test(tc, precedence_not_over_and_over_or);
	tcase_add_test(tc, and_or_are_left_associative);
	tcase_add_test(tc, parentheses_override_precedence);
	tcase_add_test(tc, node_offsets_point_into_the_source);
	tcase_add_test(tc, every_comparison_operator);
	tcase_add_test(tc, every_field);
	tcase_add_test(tc, field_names_and_kinds);
	tcase_add_test(tc, booleans);
	suite_add_tcase(s, tc);

	tc = tcase_create("literals");
	tcase_add_test(tc, string_literals_and_escapes);
	tcase_add_test(tc, bare_words_are_strings);
	tcase_add_test(tc, number_literals);
	tcase_add_test(tc, date_literals);
	tcase_add_test(tc, parse_date_exact_epoch_ms);
	tcase_add_test(tc, parse_date_rejects_malformed);
	tcase_add_test(tc, parse_date_rejects_days_past_the_month);
	tcase_add_test(tc, regex_literals_and_flags);
	tcase_add_test(tc, in_literal_lists);
	tcase_add_test(tc, in_named_list);
	tcase_add_test(tc, contains_any_matches_any_media_in);
	tcase_add_test(tc, counters_and_banks);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, error_unknown_field);
	tcase_add_test(tc, error_missing_value);
	tcase_add_test(tc, error_unterminated_string_and_regex);
	tcase_add_test(tc, error_unknown_regex_flag);
	tcase_add_test(tc, error_mixed_list_types);
	tcase_add_test(tc, error_empty_list);
	tcase_add_test(tc, error_trailing_garbage);
	tcase_add_test(tc, error_unclosed_paren);
	tcase_add_test(tc, error_operator_misuse);
	tcase_add_test(tc, error_other_kinds);
	tcase_add_test(tc, counter_and_bank_errors);
	tcase_add_test(tc, deep_and_large_conditions_are_bounded);
	tcase_add_test(tc, error_empty_condition);
	tcase_add_test(tc, error_message_is_truncated_to_the_buffer);
	tcase_add_test(tc, long_token_is_shortened_in_messages);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(rules_expr_suite());
}
