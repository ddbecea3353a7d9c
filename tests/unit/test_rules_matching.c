/* Unit tests for text matching in the rules engine: normalisation, word boundaries in every script,
 * list files. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf, open_memstream */
#endif
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "normalise.h"
#include "pbjson.h"
#include "rules.h"
#include "rules_fixture.h"
#include "unit.h"

/* ===== normalisation and word boundaries ===== */

static const char *const boundary_rules =
	"lists:\n"
	"  latin: [hate, \"kill   them\", café, ćevapi, straße]\n"
	"  cao: [cao]\n"
	"  dak: [dak]\n"
	"  cyr: [мир]\n"
	"  ar: [كلب]\n"
	"  deva: [मार]\n"
	"  zh: [中国]\n"
	"  ja: [殺す]\n"
	"  th: [ฆ่า]\n"
	"  th1: [ฆ]\n"
	"  ko: [바보]\n"
	"rules:\n"
	"  - {id: latin, when: text contains_any latin, action: label}\n"
	"  - {id: cao, when: text contains_any cao, action: label}\n"
	"  - {id: dak, when: text contains_any dak, action: label}\n"
	"  - {id: cyr, when: text contains_any cyr, action: label}\n"
	"  - {id: ar, when: text contains_any ar, action: label}\n"
	"  - {id: deva, when: text contains_any deva, action: label}\n"
	"  - {id: zh, when: text contains_any zh, action: label}\n"
	"  - {id: ja, when: text contains_any ja, action: label}\n"
	"  - {id: th, when: text contains_any th, action: label}\n"
	"  - {id: th1, when: text contains_any th1, action: label}\n"
	"  - {id: ko, when: text contains_any ko, action: label}\n";

/* TEXT (plain UTF-8, no quotes) must fire exactly the rules WANT. */
static void expect_hits(struct loaded *L, const char *text, const char *want)
{
	json_t *j = json_pack("{s:s}", "text", text);
	char *s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	ProtobufCMessage *m = NULL;
	char err[256];
	ck_assert_int_eq(pbjson_decode_text(&arbiter__v1__content_event__descriptor, s, strlen(s),
					    &m, err, sizeof(err)),
			 0);
	free(s);
	const struct rules_verdict *v = rules_eval(L->ctx, (Arbiter__V1__ContentEvent *)m, 0);
	ck_assert_ptr_nonnull(v);
	char buf[512];
	ids(L->rs, v->matched, v->n_matched, buf, sizeof(buf));
	ck_assert_msg(!strcmp(buf, want), "\"%s\" fired [%s], expected [%s]", text, buf, want);
	protobuf_c_message_free_unpacked(m, NULL);
}

START_TEST(latin_word_boundaries)
{
	struct loaded L;
	load_ok(&L, boundary_rules, NULL);
	expect_hits(&L, "whatever", "");
	expect_hits(&L, "hater", "");
	expect_hits(&L, "chate", "");
	expect_hits(&L, "hate_speech", "");
	expect_hits(&L, "hate2", "");
	expect_hits(&L, "I hate it", "latin");
	expect_hits(&L, "hate", "latin");
	expect_hits(&L, "(hate).", "latin");
	expect_hits(&L, "whatever, hate!", "latin");
	expect_hits(&L, "I-hate-it", "latin");
	/* A phrase matches across any run of whitespace, but only whole. */
	expect_hits(&L, "KILL them", "latin");
	expect_hits(&L, "kill\n\n\tthem all", "latin");
	expect_hits(&L, "kill\u00A0them", "latin");
	expect_hits(&L, "killthem", "");
	expect_hits(&L, "skill them", "");
	expect_hits(&L, "kill themselves", "");
	teardown(&L);
}
END_TEST

START_TEST(case_fullwidth_and_ignorables)
{
	struct loaded L;
	load_ok(&L, boundary_rules, NULL);
	expect_hits(&L, "HaTe", "latin");
	expect_hits(&L, "ＨＡＴＥ", "latin");
	expect_hits(&L, "ha\u200Dte", "latin");
	expect_hits(&L, "h\u200Ba\u200Ct\u2060e", "latin");
	expect_hits(&L, "ha\u00ADte", "latin");
	expect_hits(&L, "\uFEFFhate\u200D", "latin");
	expect_hits(&L, "STRASSE", "latin");
	expect_hits(&L, "Straße", "latin");
	expect_hits(&L, "ki\u200Dll them", "latin");
	/* Fullwidth letters do not make a word boundary disappear either. */
	expect_hits(&L, "ｗｈａｔｅｖｅｒ", "");
	teardown(&L);
}
END_TEST

START_TEST(diacritics_fold_both_ways)
{
	struct loaded L;
	load_ok(&L, boundary_rules, NULL);
	/* Marks on Latin letters go, in terms and in text alike. */
	expect_hits(&L, "ćao", "cao");
	expect_hits(&L, "ČAO", "cao");
	expect_hits(&L, "c\u0301ao", "cao");
	expect_hits(&L, "cao", "cao");
	expect_hits(&L, "cevapi", "latin");
	expect_hits(&L, "ĆEVAPI", "latin");
	expect_hits(&L, "CAFE", "latin");
	expect_hits(&L, "cafe\u0301", "latin");
	/* Letters that do not decompose stay themselves. */
	expect_hits(&L, "đak", "");
	expect_hits(&L, "dak", "dak");
	teardown(&L);
}
END_TEST

START_TEST(cyrillic_word_boundaries)
{
	struct loaded L;
	load_ok(&L, boundary_rules, NULL);
	expect_hits(&L, "мировой", "");
	expect_hits(&L, "примир", "");
	expect_hits(&L, "за мир!", "cyr");
	expect_hits(&L, "МИР", "cyr");
	expect_hits(&L, "«мир»", "cyr");
	teardown(&L);
}
END_TEST

START_TEST(arabic_word_boundaries)
{
	struct loaded L;
	load_ok(&L, boundary_rules, NULL);
	expect_hits(&L, "كلب كبير", "ar");
	expect_hits(&L, "هذا كلب.", "ar");
	/* Harakat are dropped: a vowelled spelling matches. */
	expect_hits(&L, "كَلْبٌ", "ar");
	expect_hits(&L, "الكلب", "");
	expect_hits(&L, "كلبي", "");
	teardown(&L);
}
END_TEST

START_TEST(devanagari_word_boundaries)
{
	struct loaded L;
	load_ok(&L, boundary_rules, NULL);
	expect_hits(&L, "उसे मार दो", "deva");
	expect_hits(&L, "मार", "deva");
	expect_hits(&L, "मार।", "deva");
	/* Followed by a vowel sign (matra) or another letter: another word. */
	expect_hits(&L, "मारो", "");
	expect_hits(&L, "मारना", "");
	expect_hits(&L, "समार", "");
	teardown(&L);
}
END_TEST

START_TEST(cjk_and_thai_match_as_substrings)
{
	struct loaded L;
	load_ok(&L, boundary_rules, NULL);
	expect_hits(&L, "我爱中国人民", "zh");
	expect_hits(&L, "中国", "zh");
	expect_hits(&L, "在中国abc", "zh");
	expect_hits(&L, "あいつを殺すぞ", "ja");
	expect_hits(&L, "จะฆ่าเขา", "th");
	/* A Thai consonant without its tone mark and vowel is not the term ฆ่า,
	 * and term ฆ must not cut ฆ off its tone mark. */
	expect_hits(&L, "ฆ เขา", "th1");
	/* Korean is written with spaces: no substring matching. */
	expect_hits(&L, "바보야", "");
	expect_hits(&L, "바보 야", "ko");
	teardown(&L);
}
END_TEST

/* Syllables of several script groups, with symbols and digits, for random terms and texts. */
static const char *const script_syl[] = {
	"ka", "ri", "so", "ра", "ко", "ми", "का", "री", "सो", "سا", "لم",  "กา",
	"ข่",  "中", "国", "αβ", "γα", "한", "글", "€",  "12", "‰",  "so€",
};

/* One pseudo-word of 1-3 syllables into OUT (appended). */
static void script_word(char *out, size_t len, unsigned *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	int n = 1 + (int)((*seed >> 16) % 3);
	for (int i = 0; i < n; i++) {
		*seed = *seed * 1103515245u + 12345u;
		strncat(out, script_syl[(*seed >> 16) % (sizeof(script_syl) / sizeof(*script_syl))],
			len - strlen(out) - 1);
	}
}

/* Whether normalised TERM occurs in normalised TEXT on word boundaries: the definition the
 * engine's scan must give. */
static bool naive_hit(const char *text, const char *term)
{
	size_t tl = strlen(term), len = strlen(text);
	for (const char *p = strstr(text, term); p; p = strstr(p + 1, term)) {
		size_t from = (size_t)(p - text);
		if (normalise_boundary_before(text, from) &&
		    normalise_boundary_after(text, len, from + tl))
			return true;
	}
	return false;
}

/* Terms in one script, in several, or in none (symbols, digits) are found exactly where a naive
 * search finds them, whichever scripts the text has: the per-script databases skip nothing. */
START_TEST(terms_found_whatever_their_scripts)
{
	enum { N_TERMS = 60, N_TEXTS = 3000 };
	char terms[N_TERMS][64];
	unsigned seed = 777;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(f);
	fprintf(f, "lists:\n");
	for (int t = 0; t < N_TERMS; t++) {
		terms[t][0] = '\0';
		script_word(terms[t], sizeof(terms[t]), &seed);
		if (t % 4 == 0) { /* a phrase */
			strcat(terms[t], " ");
			script_word(terms[t], sizeof(terms[t]), &seed);
		}
		fprintf(f, "  l%d: [\"%s\"]\n", t, terms[t]);
	}
	fprintf(f, "rules:\n");
	for (int t = 0; t < N_TERMS; t++)
		fprintf(f, "  - {id: r%d, when: text contains_any l%d, action: label}\n", t, t);
	fclose(f);
	struct loaded L;
	load_ok(&L, text, NULL);
	free(text);
	struct normalise_buf nt = {0}, nterm = {0};
	int hits = 0;
	for (int i = 0; i < N_TEXTS; i++) {
		char body[512] = "";
		seed = seed * 1103515245u + 12345u;
		int words = 1 + (int)((seed >> 16) % 8);
		for (int w = 0; w < words; w++) {
			seed = seed * 1103515245u + 12345u;
			if ((seed >> 16) % 5 == 0)
				strncat(body, terms[(seed >> 8) % N_TERMS],
					sizeof(body) - strlen(body) - 1);
			else
				script_word(body, sizeof(body), &seed);
			seed = seed * 1103515245u + 12345u;
			strncat(body, (seed >> 16) % 3 ? " " : "", sizeof(body) - strlen(body) - 1);
		}
		ck_assert_int_eq(normalise_text(NULL, body, strlen(body), &nt), 0);
		char want[1024] = "";
		size_t o = 0;
		for (int t = 0; t < N_TERMS; t++) {
			ck_assert_int_eq(normalise_text(NULL, terms[t], strlen(terms[t]), &nterm),
					 0);
			if (naive_hit(nt.data, nterm.data))
				o += (size_t)snprintf(want + o, sizeof(want) - o, "%sr%d",
						      o ? "," : "", t);
		}
		hits += o > 0;
		expect_hits(&L, body, want);
	}
	ck_assert_int_gt(hits, N_TEXTS / 4);
	normalise_buf_free(&nt);
	normalise_buf_free(&nterm);
	teardown(&L);
}
END_TEST

START_TEST(optional_folds)
{
	const char *rules = "lists:\n"
			    "  bad: [hate, h4te]\n"
			    "rules:\n"
			    "  - {id: bad, when: text contains_any bad, action: label}\n";
	char *folded = NULL;
	ck_assert_int_ge(asprintf(&folded, "normalise: {fold: [leet, homoglyphs]}\n%s", rules), 0);
	struct loaded L;
	load_ok(&L, rules, NULL);
	expect_hits(&L, "h4t3", "");
	expect_hits(&L, "h4te", "bad");
	expect_hits(&L, "\u04bb\u0430t\u0435", ""); /* Cyrillic һ а е */
	teardown(&L);
	load_ok(&L, folded, NULL);
	expect_hits(&L, "h4t3", "bad");
	expect_hits(&L, "H@T3", "bad");
	expect_hits(&L, "\u04bb\u0430t\u0435", "bad");
	expect_hits(&L, "\u0397\u0391\u03a4\u0395", "bad"); /* Greek capitals */
	expect_hits(&L, "wh4tever", "");
	teardown(&L);
	free(folded);
}
END_TEST

/* ===== lists ===== */

START_TEST(list_files_terms_and_comments)
{
	struct loaded L;
	memset(&L, 0, sizeof(L));
	L.dir = unit_make_dir();
	char *sub = NULL;
	ck_assert_int_ge(asprintf(&sub, "%s/lists", L.dir), 0);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	char *words = unit_write_file(sub, "words.txt",
				      "# a comment\n"
				      "\n"
				      "  first term  \n"
				      "second\r\n"
				      "#not a term\n"
				      "third");
	char *hashes = unit_write_file(sub, "hashes.txt", "# digests\n" SHA_A_UP "\n" PDQ_B "\n");
	L.files[L.n_files++] =
		unit_write_file(L.dir, "rules0.yaml",
				"lists:\n"
				"  words: {file: lists/words.txt, terms: [inline]}\n"
				"  hashes: {file: lists/hashes.txt, kind: hashes}\n"
				"rules:\n"
				"  - {id: w, when: text contains_any words, action: label}\n"
				"  - {id: h, when: media any_media_in hashes, action: remove}\n");
	L.cfg_path = write_config(L.dir, L.files, L.n_files, NULL);
	L.cfg = load_config(L.cfg_path);
	compile_ok(&L);
	expect_matched(&L, "{'text':'the FIRST  term here'}", 0, "w");
	expect_matched(&L, "{'text':'second'}", 0, "w");
	expect_matched(&L, "{'text':'third'}", 0, "w");
	expect_matched(&L, "{'text':'inline'}", 0, "w");
	expect_matched(&L, "{'text':'a comment'}", 0, "");
	expect_matched(&L, "{'text':'not a term'}", 0, "");
	expect_matched(&L, "{'text':'first'}", 0, "");
	expect_matched(&L, "{'media':[{'sha256':'" SHA_A "'}]}", 0, "h");
	teardown(&L);
	free(words);
	free(hashes);
	free(sub);
}
END_TEST

static Suite *rules_matching_suite(void)
{
	Suite *s = suite_create("rules_matching");
	TCase *tc = tcase_create("matching");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, latin_word_boundaries);
	tcase_add_test(tc, case_fullwidth_and_ignorables);
	tcase_add_test(tc, diacritics_fold_both_ways);
	tcase_add_test(tc, cyrillic_word_boundaries);
	tcase_add_test(tc, arabic_word_boundaries);
	tcase_add_test(tc, devanagari_word_boundaries);
	tcase_add_test(tc, cjk_and_thai_match_as_substrings);
	tcase_add_test(tc, terms_found_whatever_their_scripts);
	tcase_add_test(tc, optional_folds);
	tcase_add_test(tc, list_files_terms_and_comments);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(rules_matching_suite());
}
