/* Unit tests for hash banks in rules: banks: sections, media in bank conditions at the edges of
 * their distance, PDQ quality, exact banks, positioned errors, and a bank file edited and
 * reloaded. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rules.h"
#include "rules_fixture.h"
#include "unit.h"

#define PDQ_BASE "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
#define MD5_A "0123456789abcdef0123456789abcdef"

/* BASE with the NBITS bits 0, 7, 14, ... (distinct positions: 7 is prime to 256) flipped. */
static void pdq_flip(const char *base, int nbits, char out[65])
{
	unsigned char b[32];
	for (int i = 0; i < 32; i++) {
		unsigned v;
		sscanf(base + 2 * i, "%2x", &v);
		b[i] = (unsigned char)v;
	}
	for (int i = 0; i < nbits; i++) {
		int bit = (i * 7) % 256;
		b[bit / 8] ^= (unsigned char)(1u << (bit % 8));
	}
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* L with rule file TEXT and bank file NAME holding BANK, loaded. */
static void load_with_bank(struct loaded *L, const char *text, const char *name, const char *bank)
{
	const char *texts[] = {text, NULL};
	setup_files(L, texts, NULL);
	free(unit_write_file(L->dir, name, bank));
	compile_ok(L);
}

static const char pdq_rules[] = "banks:\n"
				"  terror: {algorithm: pdq, file: terror.txt, min_quality: 50}\n"
				"rules:\n"
				"  - id: known\n"
				"    when: media in bank terror within 31\n"
				"    action: remove\n"
				"  - id: exact\n"
				"    when: media in bank terror within 0\n"
				"    escalate: {queue: q}\n";

/* An event with one image of hash PDQ and QUALITY (none when negative). */
static const struct rules_verdict *eval_pdq(struct loaded *L, const char *pdq, int quality)
{
	char json[300];
	if (quality < 0)
		snprintf(json, sizeof(json), "{'media': [{'kind': 'IMAGE', 'pdq': '%s'}]}", pdq);
	else
		snprintf(json, sizeof(json),
			 "{'media': [{'kind': 'IMAGE', 'pdq': '%s', 'pdq_quality': %d}]}", pdq,
			 quality);
	return eval(L, json);
}

START_TEST(pdq_distance_edges)
{
	struct loaded L;
	char bank[512], h[65];
	snprintf(bank, sizeof(bank),
		 "# a sample export\n%s,isis-flag-01\n"
		 "0000000000000000000000000000000000000000000000000000000000000000 blank\n",
		 PDQ_BASE);
	load_with_bank(&L, pdq_rules, "terror.txt", bank);
	ck_assert_uint_eq(rules_bank_count(L.rs), 1);
	unsigned mq = 0;
	const struct hashbank *hb = rules_bank(L.rs, 0, &mq);
	ck_assert_ptr_nonnull(hb);
	ck_assert_uint_eq(hashbank_size(hb), 2);
	ck_assert_uint_eq(mq, 50);
	ck_assert_ptr_null(rules_bank(L.rs, 1, NULL));
	char buf[64];
	static const struct {
		int bits;
		const char *rules;
	} cases[] = {{0, "known,exact"}, {30, "known"}, {31, "known"}, {32, ""}, {64, ""}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pdq_flip(PDQ_BASE, cases[i].bits, h);
		const struct rules_verdict *v = eval_pdq(&L, h, 90);
		ck_assert_msg(!strcmp(ids(L.rs, v->matched, v->n_matched, buf, sizeof(buf)),
				      cases[i].rules),
			      "%d bits: matched [%s]", cases[i].bits, buf);
		char want[64];
		snprintf(want, sizeof(want), "bank:terror:isis-flag-01@%d", cases[i].bits);
		ck_assert_uint_eq(v->n_evidence, cases[i].bits <= 31);
		if (v->n_evidence)
			ck_assert_str_eq(v->evidence[0], want);
	}
	/* Upper case hex reads the same; a malformed hash is no match. */
	pdq_flip(PDQ_BASE, 3, h);
	char up[65];
	for (int i = 0; i < 65; i++)
		up[i] = (char)(h[i] >= 'a' && h[i] <= 'f' ? h[i] - 32 : h[i]);
	ck_assert_uint_eq(eval_pdq(&L, up, 90)->n_matched, 1);
	ck_assert_uint_eq(eval_pdq(&L, "f8f8", 90)->n_matched, 0);
	char bad[65] = PDQ_BASE;
	bad[0] = 'z';
	ck_assert_uint_eq(eval_pdq(&L, bad, 90)->n_matched, 0);
	/* The nearest of an event's images speaks. */
	pdq_flip(PDQ_BASE, 20, h);
	char json[400];
	snprintf(json, sizeof(json),
		 "{'media': [{'pdq': '%s', 'pdq_quality': 99}, {'pdq': '%s', 'pdq_quality': 99}]}",
		 h, PDQ_BASE);
	const struct rules_verdict *v = eval(&L, json);
	ck_assert_uint_eq(v->n_matched, 2);
	ck_assert_str_eq(v->evidence[0], "bank:terror:isis-flag-01@0");
	teardown(&L);
}
END_TEST

START_TEST(low_quality_hashes_are_ignored)
{
	struct loaded L;
	char bank[128];
	snprintf(bank, sizeof(bank), "%s\n", PDQ_BASE);
	load_with_bank(&L, pdq_rules, "terror.txt", bank);
	ck_assert_uint_eq(eval_pdq(&L, PDQ_BASE, 49)->n_matched, 0);
	ck_assert_uint_eq(eval_pdq(&L, PDQ_BASE, -1)->n_matched, 0); /* no quality: 0 */
	const struct rules_verdict *v = eval_pdq(&L, PDQ_BASE, 50);
	ck_assert_uint_eq(v->n_matched, 2);
	ck_assert_str_eq(v->evidence[0], "bank:terror:@0"); /* no label */
	teardown(&L);
	/* Without min_quality every hash counts. */
	load_with_bank(&L,
		       "banks: {b: {algorithm: pdq, file: b.txt}}\n"
		       "rules: [{id: r, when: media in bank b within 10, action: label}]\n",
		       "b.txt", bank);
	ck_assert_uint_eq(eval_pdq(&L, PDQ_BASE, -1)->n_matched, 1);
	teardown(&L);
}
END_TEST

START_TEST(exact_banks)
{
	struct loaded L;
	const char *texts[] = {
		"banks:\n"
		"  md5s: {algorithm: md5, file: lists/md5.txt}\n"
		"  shas: {algorithm: sha256, file: lists/sha.txt, description: from a partner}\n"
		"lists: {hashes: {kind: hashes, terms: [" MD5_A "]}}\n"
		"rules:\n"
		"  - {id: by-md5, when: media in bank md5s, action: remove}\n"
		"  - {id: by-sha, when: media in bank shas, action: remove}\n"
		"  - {id: listed, when: media any_media_in hashes, action: label}\n",
		NULL};
	setup_files(&L, texts, NULL);
	char *sub = NULL;
	ck_assert_int_ge(asprintf(&sub, "%s/lists", L.dir), 0);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	free(unit_write_file(sub, "md5.txt", MD5_A "  csam-series-7\n"));
	free(unit_write_file(sub, "sha.txt", SHA_A ",leaked-doc\n"));
	free(sub);
	compile_ok(&L);
	char buf[64];
	const struct rules_verdict *v =
		eval(&L, "{'media': [{'md5': '0123456789ABCDEF0123456789ABCDEF'}]}");
	ck_assert_str_eq(ids(L.rs, v->matched, v->n_matched, buf, sizeof(buf)), "by-md5,listed");
	ck_assert_str_eq(v->evidence[0], "bank:md5s:csam-series-7@0");
	v = eval(&L, "{'media': [{'md5': '0123456789abcdef0123456789abcdee'}]}");
	ck_assert_uint_eq(v->n_matched, 0);
	v = eval(&L, "{'media': [{'kind': 'VIDEO'}, {'sha256': '" SHA_A "'}]}");
	ck_assert_str_eq(ids(L.rs, v->matched, v->n_matched, buf, sizeof(buf)), "by-sha");
	ck_assert_str_eq(v->evidence[0], "bank:shas:leaked-doc@0");
	/* A sha256 where the md5 bank looks is not read as one. */
	v = eval(&L, "{'media': [{'md5': '" SHA_A "'}]}");
	ck_assert_uint_eq(v->n_matched, 0);
	teardown(&L);
}
END_TEST

/* Errors in a rule file with BANK as b.txt: exactly one, at LINE:COL. */
static void bank_error(const char *text, const char *bank, const char *file, int line, int col,
		       const char *key, const char *msg)
{
	struct loaded L;
	struct diag_list errs = {0};
	const char *texts[] = {text, NULL};
	setup_files(&L, texts, NULL);
	if (bank)
		free(unit_write_file(L.dir, "b.txt", bank));
	struct ruleset *rs = NULL;
	ck_assert_int_eq(rules_load(L.cfg, &rs, &errs), -EINVAL);
	ck_assert_ptr_null(rs);
	if (errs.n != 1)
		diag_print(&errs, stderr);
	ck_assert_uint_eq(errs.n, 1);
	char *path = NULL;
	if (file)
		ck_assert_int_ge(asprintf(&path, "%s/%s", L.dir, file), 0);
	unit_check_error(&errs, 0, path ? path : L.files[0], line, col, key, msg);
	free(path);
	diag_clear(&errs);
	teardown(&L);
}

START_TEST(bank_errors)
{
	const char *pdq = PDQ_BASE "\n";
	const char *md5 = MD5_A "\n";
	bank_error("banks: {b: {algorithm: pdq, file: b.txt}}\n"
		   "rules: [{id: r, when: media in bank bb within 3, action: label}]\n",
		   pdq, NULL, 2, 37, "r", "unknown bank 'bb'; did you mean 'b'?");
	bank_error("rules: [{id: r, when: media in bank x within 3, action: label}]\n", NULL, NULL,
		   1, 37, "r", "unknown bank 'x' (banks are declared under banks:)");
	bank_error("banks: {b: {algorithm: md5, file: b.txt}}\n"
		   "rules: [{id: r, when: media in bank b within 3, action: label}]\n",
		   md5, NULL, 2, 46, "r",
		   "bank 'b' holds md5 hashes, matched exactly: drop 'within 3'");
	bank_error("banks: {b: {algorithm: pdq, file: b.txt}}\n"
		   "rules: [{id: r, when: media in bank b, action: label}]\n",
		   pdq, NULL, 2, 37, "r",
		   "bank 'b' holds PDQ hashes, matched within a Hamming distance: write media in "
		   "bank b within 31 (0 to 64 bits)");
	bank_error("banks: {b: {algorithm: pdq, file: b.txt}}\n"
		   "rules: [{id: r, when: media in bank b within 65, action: label}]\n",
		   pdq, NULL, 2, 46, "r", "a distance of at most 64 bits of PDQ's 256, got 65");
	bank_error("banks: {b: {algorithm: phash, file: b.txt}}\n", pdq, NULL, 1, 24, "banks.b",
		   "expected algorithm: pdq, md5 or sha256, got \"phash\"");
	bank_error("banks: {b: {algorithm: md5, file: b.txt, min_quality: 50}}\n", md5, NULL, 1, 55,
		   "banks.b", "min_quality applies to PDQ banks only (this one is md5)");
	bank_error("banks: {b: {algorithm: pdq, file: b.txt, min_quality: 101}}\n", pdq, NULL, 1,
		   55, "banks.b", "expected min_quality: a PDQ quality from 0 to 100, got 101");
	bank_error("banks: {b: {algorithm: pdq}}\n", NULL, NULL, 1, 9, "banks.b",
		   "expected file: the path of the bank file, got none");
	bank_error("banks: {b: {algorithm: pdq, file: gone.txt}}\n", NULL, NULL, 1, 35, "banks.b",
		   "cannot read bank file");
	/* A device would be read up to the bound: refused before reading. */
	bank_error("banks: {b: {algorithm: pdq, file: /dev/zero}}\n", NULL, NULL, 1, 35, "banks.b",
		   "cannot read bank file \"/dev/zero\": not a regular file");
	bank_error(
		"banks: {b: [x]}\n", NULL, NULL, 1, 12, "banks.b",
		"expected {algorithm: pdq|md5|sha256, file: PATH, min_quality: N}, got a sequence");
	bank_error("banks: {b: {algorithm: pdq, file: b.txt, min_qualty: 5}}\n", pdq, NULL, 1, 42,
		   "min_qualty", "unknown key 'min_qualty' in a bank; did you mean 'min_quality'?");
	/* Lines of the bank file are positioned in it: an MD5 in a PDQ bank. */
	bank_error("banks: {b: {algorithm: pdq, file: b.txt}}\n", PDQ_BASE "\n" MD5_A " oops\n",
		   "b.txt", 2, 1, "b", "expected a hash of 64 hex digits, found 32");
}
END_TEST

START_TEST(duplicate_bank_across_files)
{
	struct loaded L;
	struct diag_list errs = {0};
	const char *texts[] = {"banks: {b: {algorithm: pdq, file: b.txt}}\n",
			       "banks:\n  b: {algorithm: md5, file: b.txt}\n", NULL};
	setup_files(&L, texts, NULL);
	free(unit_write_file(L.dir, "b.txt", PDQ_BASE "\n"));
	struct ruleset *rs = NULL;
	ck_assert_int_eq(rules_load(L.cfg, &rs, &errs), -EINVAL);
	ck_assert_uint_eq(errs.n, 1);
	unit_check_error(&errs, 0, L.files[1], 2, 3, "banks.b", "bank 'b' is already defined at");
	diag_clear(&errs);
	teardown(&L);
}
END_TEST

/* A bank file edited and the policy loaded again gives the new bank and a new version; the
 * bank is one of the ruleset's files, so arbiterd watches it. */
START_TEST(bank_edit_reloaded)
{
	struct loaded L;
	char h[65], bank[256];
	pdq_flip(PDQ_BASE, 40, h);
	snprintf(bank, sizeof(bank), "%s old\n", PDQ_BASE);
	load_with_bank(&L, pdq_rules, "terror.txt", bank);
	const char *const *files;
	size_t nf = rules_files(L.rs, &files);
	ck_assert_uint_eq(nf, 2);
	ck_assert_ptr_nonnull(strstr(files[1], "/terror.txt"));
	char version[65];
	snprintf(version, sizeof(version), "%s", rules_version(L.rs));
	size_t memory = rules_memory(L.rs);
	ck_assert_uint_eq(eval_pdq(&L, h, 90)->n_matched, 0);

	snprintf(bank, sizeof(bank), "%s old\n%s new\n", PDQ_BASE, h);
	free(unit_write_file(L.dir, "terror.txt", bank));
	struct ruleset *rs = NULL;
	struct diag_list errs = {0};
	ck_assert_int_eq(rules_load(L.cfg, &rs, &errs), 0);
	struct rules_ctx *ctx = rules_ctx_new(rs);
	ck_assert_str_ne(rules_version(rs), version);
	ck_assert_uint_eq(hashbank_size(rules_bank(rs, 0, NULL)), 2);
	ck_assert_uint_gt(rules_memory(rs), memory);
	rules_ctx_free(L.ctx);
	rules_free(L.rs);
	L.rs = rs;
	L.ctx = ctx;
	const struct rules_verdict *v = eval_pdq(&L, h, 90);
	ck_assert_uint_eq(v->n_matched, 2);
	ck_assert_str_eq(v->evidence[0], "bank:terror:new@0");

	/* A broken edit fails the load: the running ruleset is the caller's to keep. */
	free(unit_write_file(L.dir, "terror.txt", "not a hash\n"));
	rs = NULL;
	ck_assert_int_eq(rules_load(L.cfg, &rs, &errs), -EINVAL);
	ck_assert_ptr_null(rs);
	ck_assert_uint_eq(eval_pdq(&L, h, 90)->n_matched, 2);
	diag_clear(&errs);
	teardown(&L);
}
END_TEST

/* A large bank counts in the ruleset's memory. */
START_TEST(bank_memory_counts)
{
	struct loaded L;
	size_t n = 5000;
	char *bank = malloc(n * 66 + 1), *w = bank;
	for (size_t i = 0; i < n; i++) {
		w += sprintf(w, "%016zx%048zx\n", i * 2654435761u, i);
	}
	load_with_bank(&L, pdq_rules, "terror.txt", bank);
	free(bank);
	const struct hashbank *hb = rules_bank(L.rs, 0, NULL);
	ck_assert_uint_eq(hashbank_size(hb), n);
	ck_assert_uint_ge(rules_memory(L.rs), hashbank_memory(hb));
	ck_assert_uint_gt(hashbank_memory(hb), n * 32);
	teardown(&L);
}
END_TEST

static Suite *rules_banks_suite(void)
{
	Suite *s = suite_create("rules_banks");
	TCase *tc = tcase_create("match");
	tcase_add_test(tc, pdq_distance_edges);
	tcase_add_test(tc, low_quality_hashes_are_ignored);
	tcase_add_test(tc, exact_banks);
	suite_add_tcase(s, tc);
	tc = tcase_create("load");
	tcase_add_test(tc, bank_errors);
	tcase_add_test(tc, duplicate_bank_across_files);
	tcase_add_test(tc, bank_edit_reloaded);
	tcase_add_test(tc, bank_memory_counts);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(rules_banks_suite());
}
