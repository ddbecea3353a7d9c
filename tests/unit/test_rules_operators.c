/* Unit tests for the rules engine's operators: every field, every comparison, lists, media hashes,
 * booleans. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf, open_memstream */
#endif
#include <check.h>

#include "rules_fixture.h"
#include "unit.h"

/* ===== operators on every field ===== */

START_TEST(text_equality_is_exact)
{
	CONDS(NULL, "{'text':'Hello World'}", {"text == \"Hello World\"", true},
	      {"text == \"hello world\"", false}, {"text == Hello", false},
	      {"text != \"Hello World\"", false}, {"text != \"x\"", true},
	      {"text in [\"a\", \"Hello World\"]", true}, {"text in [\"hello world\"]", false});
	CONDS(NULL, "{}", {"text == \"\"", true}, {"text != x", true}, {"text == x", false});
}
END_TEST

START_TEST(lang_matches_by_primary_subtag)
{
	CONDS(NULL, "{'lang':'sw-KE'}", {"lang == sw", true}, {"lang == SW", true},
	      {"lang == \"sw\"", true}, {"lang == sw-KE", true}, {"lang == sw-ke", true},
	      {"lang == s", false}, {"lang == sw-TZ", false}, {"lang == en", false},
	      {"lang != sw", false}, {"lang != en", true}, {"lang != sw-TZ", true},
	      {"lang in [en, sw]", true}, {"lang in [en, fr]", false},
	      {"lang in [en, sw-KE]", true});
	CONDS(NULL, "{'lang':'sw'}", {"lang == sw", true}, {"lang == sw-KE", false},
	      {"lang == swa", false}, {"lang in [sw-KE, sw-TZ]", false}, {"lang != sw-KE", true});
	CONDS(NULL, "{'lang':'swa'}", {"lang == sw", false}, {"lang == swa", true});
	CONDS(NULL, "{}", {"lang == sw", false}, {"lang != sw", true}, {"lang in [sw]", false});
}
END_TEST

START_TEST(country_is_case_insensitive)
{
	CONDS(NULL, "{'country':'ke'}", {"country == KE", true}, {"country == ke", true},
	      {"country == Ke", true}, {"country == TZ", false}, {"country != KE", false},
	      {"country != TZ", true}, {"country in [TZ, KE]", true},
	      {"country in [TZ, UG]", false});
	CONDS(NULL, "{'country':'KE'}", {"country == ke", true}, {"country in [ke]", true});
}
END_TEST

START_TEST(surface_and_content_type_by_enum_name)
{
	CONDS(NULL, "{'surface':'COMMENT','content_type':'IMAGE'}", {"surface == comment", true},
	      {"surface == COMMENT", true}, {"surface == Comment", true},
	      {"surface == post", false}, {"surface != post", true}, {"surface != comment", false},
	      {"surface in [post, comment]", true}, {"surface in [post, ad]", false},
	      {"content_type == image", true}, {"content_type == IMAGE", true},
	      {"content_type == \"Image\"", true}, {"content_type == video", false},
	      {"content_type != text", true}, {"content_type in [video, image]", true},
	      {"content_type in [video, audio]", false});
	/* Unset enums equal no name. */
	CONDS(NULL, "{}", {"surface == post", false}, {"surface != post", true},
	      {"content_type in [text, image]", false});
}
END_TEST

START_TEST(author_id_is_exact)
{
	CONDS(NULL, "{'author_id':'u-123'}", {"author_id == u-123", true},
	      {"author_id == \"u-123\"", true}, {"author_id == U-123", false},
	      {"author_id == u-12", false}, {"author_id != u-123", false},
	      {"author_id != u-124", true}, {"author_id in [a, u-123]", true},
	      {"author_id in [a, b]", false});
}
END_TEST

START_TEST(reach_and_report_count)
{
	CONDS(NULL, "{'reach':10000,'report_count':3}", {"reach >= 10000", true},
	      {"reach > 10000", false}, {"reach == 10000", true}, {"reach != 10000", false},
	      {"reach != 9999", true}, {"reach < 10001", true}, {"reach < 10000", false},
	      {"reach <= 10000", true}, {"reach <= 9999", false}, {"reach > 9999.5", true},
	      {"reach in [1, 10000]", true}, {"reach in [1, 2]", false}, {"report_count > 2", true},
	      {"report_count >= 4", false}, {"report_count == 3", true},
	      {"report_count != 3", false}, {"report_count < 3", false},
	      {"report_count <= 3", true}, {"report_count in [3, 4]", true},
	      {"report_count in [4]", false});
	/* Absent numbers are zero, unlike signals. */
	CONDS(NULL, "{}", {"reach == 0", true}, {"reach > 0", false}, {"report_count < 1", true});
}
END_TEST

START_TEST(created_at_against_dates)
{
	CONDS(NULL, "{'created_at_ms':1817101800000}", {"created_at >= 2027-08-01", true},
	      {"created_at < 2027-08-01", false}, {"created_at < 2027-08-01T06:30Z", false},
	      {"created_at <= 2027-08-01T06:30Z", true}, {"created_at > 2027-08-01T06:30Z", false},
	      {"created_at == 2027-08-01T06:30Z", true}, {"created_at != 2027-08-01T06:30Z", false},
	      {"created_at != 2027-08-01", true}, {"created_at < 2027-08-02", true},
	      {"created_at >= 1817101800000", true}, {"created_at > 1817101800000", false},
	      {"created_at in [2027-08-01, 2027-08-01T06:30Z]", true},
	      {"created_at in [2027-08-01]", false});
	/* Without created_at_ms no comparison holds. */
	CONDS(NULL, "{}", {"created_at < 2027-08-01", false}, {"created_at >= 2027-08-01", false},
	      {"created_at != 2027-08-01", false}, {"not created_at >= 2027-08-01", true});
}
END_TEST

START_TEST(signals_and_missing_signals)
{
	CONDS(NULL, "{'signals':{'hate':0.5,'spam':0.25}}", {"signal.hate >= 0.5", true},
	      {"signal.hate > 0.5", false}, {"signal.hate == 0.5", true},
	      {"signal.hate != 0.5", false}, {"signal.hate != 0.25", true},
	      {"signal.hate < 0.75", true}, {"signal.hate < 0.5", false},
	      {"signal.hate <= 0.5", true}, {"signal.hate <= 0.25", false},
	      {"signal.spam in [0.25, 1]", true}, {"signal.spam in [0.5, 1]", false},
	      {"signal.missing > 0.1", false}, {"signal.missing < 0.1", false},
	      {"signal.missing == 0", false}, {"signal.missing != 0.5", false},
	      {"signal.missing >= -1", false}, {"signal.missing in [0]", false},
	      {"not signal.missing > 0.1", true});
}
END_TEST

/* Signals are floats: a score written 0.7 must meet a threshold written 0.7. */
START_TEST(signal_thresholds_hold_at_their_float_value)
{
	CONDS(NULL, "{'signals':{'hate':0.7,'x':0.3}}", {"signal.hate >= 0.7", true},
	      {"signal.hate == 0.7", true}, {"signal.hate <= 0.7", true},
	      {"signal.hate > 0.7", false}, {"signal.hate < 0.7", false},
	      {"signal.hate != 0.7", false}, {"signal.x in [0.1, 0.3]", true});
}
END_TEST

START_TEST(attrs)
{
	CONDS(NULL, "{'attrs':{'channel':'news','empty':''}}", {"attr.channel == news", true},
	      {"attr.channel == News", false}, {"attr.channel != news", false},
	      {"attr.channel != sport", true}, {"attr.channel in [sport, news]", true},
	      {"attr.channel in [sport]", false}, {"attr.missing == news", false},
	      {"attr.missing in [news]", false}, {"attr.empty == \"\"", true},
	      /* A missing attribute compares as the empty string (docs/rules.md). */
	      {"attr.missing != \"true\"", true}, {"attr.missing == \"\"", true});
}
END_TEST

START_TEST(in_named_list)
{
	const char *lists = "  langs: [sw, en]\n"
			    "  authors: [U-1, u-2]\n"
			    "  channels: [News]\n"
			    "  surfaces: [comment, ad]\n"
			    "  types: [image]\n";
	CONDS(lists,
	      "{'lang':'SW','author_id':'u-1','attrs':{'channel':'NEWS'},'surface':'COMMENT',"
	      "'content_type':'VIDEO','country':'KE'}",
	      {"lang in langs", true}, {"author_id in authors", true},
	      {"attr.channel in channels", true}, {"surface in surfaces", true},
	      {"content_type in types", false}, {"country in langs", false},
	      {"attr.missing in channels", false}, {"not content_type in types", true});
	CONDS(lists, "{'lang':'fr','author_id':'u-3','content_type':'IMAGE'}",
	      {"lang in langs", false}, {"author_id in authors", false},
	      {"content_type in types", true}, {"surface in surfaces", false});
	/* lang in LIST compares primary subtags like lang == and lang in [..]. */
	CONDS("  langs: [sw, en]\n  regional: [sw-KE]\n", "{'lang':'sw-KE'}",
	      {"lang in langs", true}, {"lang in regional", true}, {"lang in [sw, en]", true});
	CONDS("  langs: [sw, en]\n  regional: [sw-KE]\n", "{'lang':'sw'}", {"lang in langs", true},
	      {"lang in regional", false});
	CONDS("  langs: [sw, en]\n  regional: [sw-KE]\n", "{'lang':'swa-KE'}",
	      {"lang in langs", false}, {"lang in regional", false});
	/* Only lang: an attribute with a dash is compared whole. */
	CONDS("  langs: [sw]\n", "{'attrs':{'k':'sw-KE'}}", {"attr.k in langs", false});
	/* An empty value is never in a list. */
	CONDS("  empties: [x]\n", "{'author_id':'','attrs':{'k':''}}",
	      {"author_id in empties", false}, {"attr.k in empties", false});
}
END_TEST

START_TEST(contains_any_and_not)
{
	const char *lists = "  bad: [hate, \"kill them\"]\n"
			    "  other: [spam]\n";
	CONDS(lists, "{'text':'I HATE this'}", {"text contains_any bad", true},
	      {"text contains_any other", false}, {"not text contains_any other", true},
	      {"not text contains_any bad", false},
	      {"text contains_any bad and text contains_any other", false},
	      {"text contains_any bad or text contains_any other", true});
	CONDS(lists, "{}", {"text contains_any bad", false}, {"not text contains_any bad", true});
}
END_TEST

START_TEST(matches_runs_on_normalised_text)
{
	CONDS(NULL, "{'text':'Buy CHEAP   pills\\nat x.com/123'}",
	      {"text matches /cheap pills/", true}, {"text matches \"cheap pills at\"", true},
	      {"text matches /CHEAP/", false}, {"text matches /CHEAP/i", true},
	      {"text matches /x\\.com\\/\\d+/", true},
	      {"text matches \"x\\\\.com/\\\\d{4}\"", false}, {"text matches /^buy/", true},
	      {"text matches /^cheap/", false}, {"text matches /123$/", true},
	      {"text matches /buy.*123/s", true}, {"text matches /^buy/m", true},
	      {"text matches /pills$/m", false}, {"text matches \"\\d{3}$\"", true},
	      {"text matches \"\\d{4}\"", false}, {"not text matches /viagra/", true});
	/* Accents are stripped before the regex sees the text. */
	CONDS(NULL, "{'text':'VOCÊ GANHOU, PARABÉNS'}", {"text matches /voce ganhou/", true},
	      {"text matches /parabéns/", false}, {"text matches /parabens$/", true});
}
END_TEST

START_TEST(any_media_in_sha256_and_pdq)
{
	const char *lists = "  known: {kind: hashes, terms: [" SHA_A_UP ", " PDQ_B "]}\n";
	CONDS(lists, "{'media':[{'sha256':'" SHA_OTHER "'},{'sha256':'" SHA_A "'}]}",
	      {"media any_media_in known", true}, {"not media any_media_in known", false});
	CONDS(lists, "{'media':[{'kind':'IMAGE','pdq':'" PDQ_B_UP "'}]}",
	      {"media any_media_in known", true});
	CONDS(lists, "{'media':[{'sha256':'" SHA_OTHER "','pdq':'" SHA_OTHER "'}]}",
	      {"media any_media_in known", false});
	CONDS(lists, "{'text':'" SHA_A "'}", {"media any_media_in known", false});
}
END_TEST

START_TEST(boolean_combinations)
{
	CONDS(NULL, "{'lang':'sw','reach':50}", {"true", true}, {"false", false},
	      {"lang == sw and reach > 10", true}, {"lang == sw and reach > 100", false},
	      {"lang == en or reach > 10", true}, {"lang == en or reach > 100", false},
	      {"not lang == en", true}, {"not (lang == sw and reach > 10)", false},
	      {"lang == en or lang == sw and reach > 10", true},
	      {"(lang == en or lang == sw) and reach > 100", false},
	      {"not lang == sw or reach == 50", true}, {"not not lang == sw", true});
}
END_TEST

static Suite *rules_operators_suite(void)
{
	Suite *s = suite_create("rules_operators");
	TCase *tc = tcase_create("operators");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, text_equality_is_exact);
	tcase_add_test(tc, lang_matches_by_primary_subtag);
	tcase_add_test(tc, country_is_case_insensitive);
	tcase_add_test(tc, surface_and_content_type_by_enum_name);
	tcase_add_test(tc, author_id_is_exact);
	tcase_add_test(tc, reach_and_report_count);
	tcase_add_test(tc, created_at_against_dates);
	tcase_add_test(tc, signals_and_missing_signals);
	tcase_add_test(tc, signal_thresholds_hold_at_their_float_value);
	tcase_add_test(tc, attrs);
	tcase_add_test(tc, in_named_list);
	tcase_add_test(tc, contains_any_and_not);
	tcase_add_test(tc, matches_runs_on_normalised_text);
	tcase_add_test(tc, any_media_in_sha256_and_pdq);
	tcase_add_test(tc, boolean_combinations);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(rules_operators_suite());
}
