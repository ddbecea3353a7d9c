/* Unit tests for BCP 47 language ranges and tags (langtag.c). */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "langtag.h"
#include "langtag_cases.h"

START_TEST(ranges_are_language_script_region)
{
	static const char *const good[] = {"sw",         "SW",      "swh",    "sw-KE",
					   "sr-Latn",    "sr-latn", "sr-RS",  "sr-Latn-RS",
					   "zh-Hant-TW", "es-419",  "bs-Cyrl"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(langtag_check_range(good[i], NULL, NULL) == 0, "%s", good[i]);
	static const struct {
		const char *s;
		size_t at;
		const char *why;
	} bad[] = {
		{"", 0, "language subtag"},
		{"s", 0, "language subtag"},
		{"english", 0, "language subtag"},
		{"s1", 0, "language subtag"},
		{"sr_Latn", 0, "language subtag"},
		{"sr-", 3, "after the language"},
		{"sr-Latn-Cyrl", 8, "after the script"},
		{"sr-RS-Latn", 6, "nothing may follow the region"},
		{"sr-Latn-RS-x", 11, "nothing may follow the region"},
		{"sr-Lat1", 3, "after the language"},
		{"es-41", 3, "after the language"},
		{"sw KE", 0, "language subtag"},
		{"sw-KE,", 3, "after the language"},
		{"*", 0, "language subtag"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = NULL;
		size_t at = 99;
		ck_assert_msg(langtag_check_range(bad[i].s, &why, &at) == -EINVAL, "%s", bad[i].s);
		ck_assert_msg(why && strstr(why, bad[i].why), "%s: %s", bad[i].s, why);
		ck_assert_msg(at == bad[i].at, "%s: at %zu", bad[i].s, at);
	}
}
END_TEST

START_TEST(ranges_cover_tags_by_their_subtags)
{
	for (size_t i = 0; i < sizeof(langtag_cases) / sizeof(langtag_cases[0]); i++) {
		const struct langtag_case *c = &langtag_cases[i];
		ck_assert_msg(langtag_match(c->range, c->tag) == c->want,
			      "%s covers %s: %d, not %d", c->range, c->tag,
			      langtag_match(c->range, c->tag), c->want);
	}
	/* Tags no range covers: not subtags joined by "-", or too long. */
	ck_assert_int_eq(langtag_match("en", "en-"), 0);
	ck_assert_int_eq(langtag_match("en", "en--US"), 0);
	ck_assert_int_eq(langtag_match("en", "en US"), 0);
	ck_assert_int_eq(langtag_match("en", "en-ü"), 0);
	ck_assert_int_eq(langtag_match("", "en"), 0);
	ck_assert_int_eq(langtag_match(NULL, "en"), 0);
	ck_assert_int_eq(langtag_match("en", NULL), 0);
	char longtag[LANGTAG_TAG_MAX + 2];
	memset(longtag, 'a', sizeof(longtag) - 1);
	longtag[sizeof(longtag) - 1] = '\0';
	memcpy(longtag, "en-", 3);
	ck_assert(!langtag_indexable(longtag));
	ck_assert_int_eq(langtag_match("en", longtag), 0);
	longtag[LANGTAG_TAG_MAX] = '\0';
	ck_assert(langtag_indexable(longtag));
	ck_assert_int_eq(langtag_match("en", longtag), 1);
}
END_TEST

static Suite *langtag_suite(void)
{
	Suite *s = suite_create("langtag");
	TCase *tc = tcase_create("pure");
	tcase_add_test(tc, ranges_are_language_script_region);
	tcase_add_test(tc, ranges_cover_tags_by_their_subtags);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(langtag_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
