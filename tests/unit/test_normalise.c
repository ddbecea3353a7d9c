/* Unit tests for text normalisation and word boundaries (normalise.c). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <utf8proc.h>

#include "normalise.h"
#include "unit.h"

static const struct normalise_opts plain = {false, false};
static const struct normalise_opts leet = {true, false};
static const struct normalise_opts glyphs = {false, true};
static const struct normalise_opts both = {true, true};

static const struct normalise_opts *const all_opts[] = {&plain, &leet, &glyphs, &both};

struct norm_case {
	const char *name;
	const struct normalise_opts *opts;
	const char *in;
	const char *out;
};

/* Every case is also checked for idempotence under every option set. */
static const struct norm_case cases[] = {
	{"ascii lowercased", &plain, "Hello WORLD", "hello world"},
	{"fullwidth latin", &plain, "ＡＢＣ ｄｅｆ１２３！", "abc def123!"},
	{"fullwidth digits fold with leet", &leet, "Ｈ４Ｔ３", "hate"},
	{"math bold letters", &plain, "\U0001D407\U0001D41A\U0001D42D\U0001D41E", "hate"},
	{"ligature", &plain, "ﬁne ﬀ", "fine ff"},
	/* No Turkish special casing: İ folds to i + U+0307, whose dot goes. */
	{"turkish dotted capital I", &plain, "İSTANBUL İstanbul", "istanbul istanbul"},
	{"turkish dotless i stays", &plain, "ıstanbul ILIK", "ıstanbul ilik"},
	{"turkish dotless i with homoglyphs", &glyphs, "ıstanbul", "istanbul"},
	{"german sharp s", &plain, "Straße STRASSE ẞ", "strasse strasse ss"},
	{"precomposed e acute", &plain, "Café CAFÉ", "cafe cafe"},
	{"combining acute", &plain, "Cafe\u0301 CAFE\u0301", "cafe cafe"},
	{"e then combining acute", &plain, "e\u0301", "e"},
	{"stacked marks on ascii", &plain, "h\u0336\u0301\u0323a\u0308t\u0303e\u0327", "hate"},
	{"marks across ignorables and controls", &plain, "e\u200B\u0301x\x01\u0301", "ex"},
	{"bosnian latin", &plain, "Čačak ćevapi Đurđevdan ŠUMA žaba",
	 "cacak cevapi đurđevdan suma zaba"},
	{"polish and nordic letters stay", &plain, "Łódź Øre", "łodz øre"},
	{"serbian cyrillic kept", &plain, "Добро јутро, ДРУГЕ! Ђорђе", "добро јутро, друге! ђорђе"},
	{"serbian cyrillic homoglyphs", &glyphs, "Добро јутро, ДРУГЕ! Ђорђе",
	 "дoбpo jytpo, дpyгe! ђopђe"},
	{"cyrillic diacritics", &plain, "Йод ёлка ЇЖАК", "иод елка іжак"},
	{"cyrillic lookalike spoof", &glyphs, "раураl НАТЕ", "paypal hate"},
	{"greek lookalike spoof", &glyphs, "ΗΑΤΕ ΚΙΤ", "hate kit"},
	{"greek tonos stripped", &plain, "Καλημέρα", "καλημερα"},
	{"greek iota subscript", &plain, "ᾳ α\u0345 ᾼ ᾯ", "α α α ω"},
	{"ypogegrammeni on latin", &plain, "h\u0345a\u0345te", "hate"},
	{"arabic harakat dropped", &plain, "مَرْحَبًا بِكُمْ", "مرحبا بكم"},
	{"arabic hamza and madda dropped", &plain, "أهلاً آمين", "اهلا امين"},
	{"arabic tatweel dropped", &plain, "مـــرحبا", "مرحبا"},
	{"arabic presentation forms", &plain, "ﻣﺮﺣﺒﺎ", "مرحبا"},
	{"hebrew niqqud dropped", &plain, "שָׁלוֹם", "שלום"},
	{"devanagari matras kept", &plain, "हिंसा", "हिंसा"},
	{"devanagari sentence kept", &plain, "नमस्ते दुनिया", "नमस्ते दुनिया"},
	/* U+0958 is excluded from composition: NFKC leaves KA + NUKTA. */
	{"devanagari nukta letter", &plain, "\u0958ानून", "\u0915\u093Cानून"},
	{"devanagari marks reordered", &plain, "\u0915\u0951\u093C", "\u0915\u093C\u0951"},
	{"bengali two-part vowel composes", &plain, "\u0995\u09C7\u09BE", "\u0995\u09CB"},
	{"thai kept", &plain, "สวัสดีครับ ตลาด", "สวัสดีครับ ตลาด"},
	/* NFKC splits SARA AM U+0E33 into NIKHAHIT U+0E4D + SARA AA U+0E32. */
	{"thai sara am", &plain, "น้ำ", "\u0E19\u0E49\u0E4D\u0E32"},
	{"chinese kept", &plain, "早上好，世界", "早上好,世界"},
	{"japanese", &plain, "ｶﾀｶﾅ ひらがな", "カタカナ ひらがな"},
	{"hangul", &plain, "\u1112\u1161\u11AB\u1100\u1173\u11AF 한글", "한글 한글"},
	{"zero width space in word", &plain, "ha\u200Bte", "hate"},
	{"zwj zwnj word joiner bom", &plain, "\uFEFFh\u200Ca\u200Dt\u2060e", "hate"},
	{"soft hyphen", &plain, "ha\u00ADte", "hate"},
	{"bidi override", &plain, "h\u202Eat\u202Ce", "hate"},
	{"variation selector", &plain, "a\uFE0Fb", "ab"},
	{"whitespace collapsed", &plain, "a\u00A0\u00A0b\t\tc \n d\u3000e\u2028f\r\ng\xc2\x85h",
	 "a b c d e f g h"},
	{"whitespace trimmed", &plain, "  \t hi \u00A0 ", "hi"},
	{"only whitespace", &plain, " \t\u3000\u00A0 ", ""},
	{"controls dropped", &plain,
	 "h\x01\x7f"
	 "a\x1bt\xc2\x80"
	 "e",
	 "hate"},
	{"control between jamo", &plain, "\u1100\x01\u1161", "\uAC00"},
	{"leet folded", &leet, "H4T3 sp33ch @ss $1gn 7057", "hate speech ass sign tost"},
	{"leet off", &plain, "H4T3 sp33ch @ss $1gn", "h4t3 sp33ch @ss $1gn"},
	{"both folds", &both, "Н4Т3", "hate"},
	{"invalid bytes", &plain,
	 "a\xff"
	 "b\xc3(c",
	 "a\uFFFDb\uFFFD(c"},
	{"overlong and surrogate", &plain, "\xc0\xaf\xe0\x80\xaf\xed\xa0\x80",
	 "\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD"},
	{"past U+10FFFF", &plain, "x\xf4\x90\x80\x80y", "x\uFFFD\uFFFD\uFFFD\uFFFDy"},
	{"truncated sequences", &plain, "\xe4\xb8 \xf0\x9f\x98", "\uFFFD \uFFFD"},
	{"emoji kept", &plain, "ok 👍🏽 ❤️", "ok 👍🏽 ❤"},
	{"empty", &plain, "", ""},
};

static void check_norm(const struct normalise_opts *o, const char *in, size_t len, const char *want,
		       const char *name)
{
	struct normalise_buf b = {0};
	ck_assert_int_eq(normalise_text(o, in, len, &b), 0);
	ck_assert_msg(b.len == strlen(want) && strcmp(b.data, want) == 0, "%s: got [%s] want [%s]",
		      name, b.data, want);
	normalise_buf_free(&b);
}

/* normalise(normalise(x)) == normalise(x), reusing one buffer per step.
 * Hot loops call this and check their output by hand: every ck_assert marks
 * a point through the fork's pipe, which costs a system call. */
static void check_idempotent(const struct normalise_opts *o, const char *in, size_t len,
			     struct normalise_buf *a, struct normalise_buf *b)
{
	if (normalise_text(o, in, len, a) != 0 || normalise_text(o, a->data, a->len, b) != 0)
		ck_abort_msg("normalise_text failed");
	if (a->len != b->len || memcmp(a->data, b->data, a->len) != 0)
		ck_abort_msg("not idempotent: [%.*s] -> [%s] -> [%s]", (int)len, in, a->data,
			     b->data);
}

START_TEST(table_case)
{
	const struct norm_case *c = &cases[_i];
	check_norm(c->opts, c->in, strlen(c->in), c->out, c->name);
}
END_TEST

START_TEST(table_case_idempotent)
{
	const struct norm_case *c = &cases[_i];
	struct normalise_buf a = {0}, b = {0};
	for (size_t k = 0; k < sizeof(all_opts) / sizeof(all_opts[0]); k++)
		check_idempotent(all_opts[k], c->in, strlen(c->in), &a, &b);
	normalise_buf_free(&a);
	normalise_buf_free(&b);
}
END_TEST

START_TEST(null_input_and_opts)
{
	struct normalise_buf b = {0};
	ck_assert_int_eq(normalise_text(NULL, NULL, 0, &b), 0);
	ck_assert_ptr_nonnull(b.data);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(b.data, "");
	ck_assert_int_eq(normalise_text(NULL, "AbC", 3, &b), 0);
	ck_assert_str_eq(b.data, "abc");
	normalise_buf_free(&b);
	ck_assert_ptr_null(b.data);
	normalise_buf_free(&b);
	normalise_buf_free(NULL);
}
END_TEST

START_TEST(length_is_respected)
{
	check_norm(&plain, "HATE SPEECH", 4, "hate", "prefix");
	check_norm(&plain, "h\xc3\xa9", 2, "h\uFFFD", "cut inside a sequence");
	check_norm(&plain, "a\0b\0", 4, "ab", "nul bytes dropped");
}
END_TEST

/* 1 MiB through one buffer: it grows, and the next short call reuses it. */
START_TEST(long_input_grows_buffer)
{
	static const char unit[] = "Ab\u00A0Ç \u0939\u093F\u0902\u0938\u093E 中文 ";
	static const char want[] = "ab c \u0939\u093F\u0902\u0938\u093E 中文";
	size_t ulen = strlen(unit), reps = (1u << 20) / ulen + 1, len = ulen * reps;
	char *in = malloc(len);
	ck_assert_ptr_nonnull(in);
	for (size_t i = 0; i < reps; i++)
		memcpy(in + i * ulen, unit, ulen);
	struct normalise_buf b = {0};
	ck_assert_int_eq(normalise_text(&plain, in, len, &b), 0);
	size_t wlen = strlen(want);
	ck_assert_uint_eq(b.len, reps * (wlen + 1) - 1);
	for (size_t i = 0; i < reps; i++) {
		const char *unit_out = b.data + i * (wlen + 1);
		if (memcmp(unit_out, want, wlen) != 0 || (i + 1 < reps && unit_out[wlen] != ' '))
			ck_abort_msg("unit %zu differs", i);
	}
	ck_assert_uint_ge(b.cap, b.len + 1);
	ck_assert_int_eq(b.data[b.len], '\0');
	size_t cap = b.cap;
	ck_assert_int_eq(normalise_text(&plain, "X", 1, &b), 0);
	ck_assert_str_eq(b.data, "x");
	ck_assert_uint_eq(b.cap, cap);
	normalise_buf_free(&b);
	free(in);
}
END_TEST

/* A compatibility character that expands 11x (U+FDFA is 18 code points). */
START_TEST(expansion_grows_buffer)
{
	enum { N = 20000 };
	char *in = malloc(3 * N);
	ck_assert_ptr_nonnull(in);
	for (int i = 0; i < N; i++)
		memcpy(in + 3 * i, "\uFDFA", 3);
	struct normalise_buf a = {0}, b = {0};
	ck_assert_int_eq(normalise_text(&plain, in, 3 * N, &a), 0);
	ck_assert_uint_gt(a.len, 10 * 3 * N);
	check_idempotent(&plain, in, 3 * N, &a, &b);
	normalise_buf_free(&a);
	normalise_buf_free(&b);
	free(in);
}
END_TEST

/* 200k marks: dropped after a Latin letter, kept (and sorted, in linear time)
 * after a Devanagari one. */
START_TEST(long_mark_runs)
{
	enum { N = 200000 };
	static const char *const marks[] = {"\u0301", "\u0323", "\u093C", "\u0951"};
	char *in = malloc(3 + 6 * N);
	ck_assert_ptr_nonnull(in);
	struct normalise_buf a = {0}, b = {0};
	for (int base = 0; base < 2; base++) {
		size_t len = 0;
		memcpy(in, base ? "\u0915" : "e", base ? 3 : 1);
		len = base ? 3 : 1;
		for (int i = 0; i < N; i++) {
			const char *m = marks[i % 4];
			memcpy(in + len, m, strlen(m));
			len += strlen(m);
		}
		clock_t t0 = clock();
		ck_assert_int_eq(normalise_text(&plain, in, len, &a), 0);
		ck_assert_msg((double)(clock() - t0) / CLOCKS_PER_SEC < 10.0, "mark run too slow");
		if (!base) {
			ck_assert_str_eq(a.data, "e");
		} else {
			ck_assert_uint_eq(a.len, len);
			/* ccc 7 nukta first, then 220, then 230s. */
			ck_assert(memcmp(a.data + 3, "\u093C", 3) == 0);
			ck_assert(memcmp(a.data + a.len - 3, "\u0951", 3) == 0);
		}
		check_idempotent(&plain, in, len, &a, &b);
	}
	normalise_buf_free(&a);
	normalise_buf_free(&b);
	free(in);
}
END_TEST

static size_t put_utf8(char *d, int32_t cp)
{
	if (cp < 0x80) {
		d[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		d[0] = (char)(0xC0 | (cp >> 6));
		d[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		d[0] = (char)(0xE0 | (cp >> 12));
		d[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		d[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	d[0] = (char)(0xF0 | (cp >> 18));
	d[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	d[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	d[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Every scalar value alone, after a Latin letter and after a Devanagari one,
 * and followed by a mark: idempotent under every option set. */
START_TEST(every_code_point_idempotent)
{
	static const char *const before[] = {"", "a", "\u0915"};
	struct normalise_buf a = {0}, b = {0};
	for (int32_t cp = 1; cp < 0x110000; cp++) {
		if (cp >= 0xD800 && cp < 0xE000)
			continue;
		for (size_t k = 0; k < sizeof(before) / sizeof(before[0]); k++) {
			char s[16];
			size_t n = strlen(before[k]);
			memcpy(s, before[k], n);
			n += put_utf8(s + n, cp);
			memcpy(s + n, "\u0301", 2);
			const struct normalise_opts *o = all_opts[(cp + k) % 4];
			check_idempotent(o, s, n, &a, &b);
			check_idempotent(o, s, n + 2, &a, &b);
		}
	}
	normalise_buf_free(&a);
	normalise_buf_free(&b);
}
END_TEST

/* Up to MAX - 1 pieces of POOL[0..NP), picked by *SEED, at S and within CAP bytes; returns
 * their length. */
static size_t random_text(char *s, size_t cap, const char *const *pool, size_t np, unsigned max,
			  unsigned *seed)
{
	size_t n = 0;
	*seed = *seed * 1103515245u + 12345u;
	unsigned count = (*seed >> 16) % max;
	for (unsigned j = 0; j < count; j++) {
		*seed = *seed * 1103515245u + 12345u;
		const char *p = pool[(*seed >> 16) % np];
		size_t len = strlen(p);
		if (n + len > cap)
			break;
		memcpy(s + n, p, len);
		n += len;
	}
	return n;
}

/* Random strings of awkward pieces, valid and not: no crash, idempotent,
 * output well-formed with no control characters or doubled spaces. */
START_TEST(random_strings)
{
	static const char *const pieces[] = {
		"a",      "Z",      "4",        "@",        " ",      "\t",     "\x01",
		"\x7f",   "\xff",   "\xe0\xa4", "\xc2\x85", "\u0301", "\u0323", "\u0345",
		"\u0915", "\u093F", "\u0902",   "\u093C",   "\u094D", "\u1100", "\u1161",
		"\u11A8", "\uAC00", "\u200B",   "\u00AD",   "\u00DF", "\u0130", "\u0430",
		"\u0439", "\u0627", "\u064E",   "\u0654",   "\u0640", "\u0E01", "\u0E48",
		"\u0E33", "\u4E2D", "\uFF21",   "\u3000",   "\u00A0", "\u03B1", "\u1FB3",
		"\uFDFA", "\u0B47", "\u0B3E",   "\u1025",   "\u102E", "\u20DD", "\U0001F44D",
		"\u05B0", "\u05D0",
	};
	enum { NP = sizeof(pieces) / sizeof(pieces[0]) };
	struct normalise_buf a = {0}, b = {0};
	char s[512];
	unsigned seed = 12345;
	for (int it = 0; it < 20000; it++) {
		size_t n = random_text(s, sizeof(s), pieces, NP, 60, &seed);
		const struct normalise_opts *o = all_opts[it % 4];
		check_idempotent(o, s, n, &a, &b);
		for (size_t k = 0; k < a.len; k++) {
			unsigned char ch = (unsigned char)a.data[k];
			if (ch < 0x20 || ch == 0x7F ||
			    (ch == ' ' && (k == 0 || k + 1 == a.len || a.data[k + 1] == ' ')))
				ck_abort_msg("bad byte %#x at %zu in [%s]", ch, k, a.data);
		}
	}
	normalise_buf_free(&a);
	normalise_buf_free(&b);
}
END_TEST

/* The fast path against the reference on IN, with the same options; both must also report the
 * scripts of what they wrote. Returns false (after saying why) on a difference; ck_abort is left
 * to the caller, so that hot loops stay cheap. */
static bool same_as_reference(const struct normalise_opts *o, const char *in, size_t len,
			      struct normalise_buf *fast, struct normalise_buf *ref)
{
	if (normalise_text(o, in, len, fast) != 0 || normalise_text_reference(o, in, len, ref) != 0)
		ck_abort_msg("normalise_text failed");
	if (fast->len != ref->len || memcmp(fast->data, ref->data, ref->len) != 0) {
		fprintf(stderr, "fast [%s] reference [%s] for [%.*s]\n", fast->data, ref->data,
			(int)len, in);
		return false;
	}
	if (fast->scripts != ref->scripts ||
	    fast->scripts != normalise_scripts(ref->data, ref->len)) {
		fprintf(stderr, "scripts %#x reference %#x recomputed %#x for [%s]\n",
			fast->scripts, ref->scripts, normalise_scripts(ref->data, ref->len),
			ref->data);
		return false;
	}
	return true;
}

/* Every BMP scalar value between bases that strip or keep marks, and before marks that compose,
 * reorder or do neither: the table of inert code points changes nothing. */
START_TEST(fast_path_every_bmp_code_point)
{
	static const char *const before[] = {"", "a", "\u0915", "\u0430", "\u0928", "\u0301"};
	static const char *const after[] = {"",       "\u0301", "\u093C",    "\u09BE",
					    "\u094D", "x",      "\x01\u093C"};
	struct normalise_buf a = {0}, b = {0};
	for (int32_t cp = 0x80; cp < 0x10000; cp++) {
		if (cp >= 0xD800 && cp < 0xE000)
			continue;
		for (size_t k = 0; k < sizeof(before) / sizeof(before[0]); k++) {
			for (size_t m = 0; m < sizeof(after) / sizeof(after[0]); m++) {
				char s[32];
				size_t n = strlen(before[k]);
				memcpy(s, before[k], n);
				n += put_utf8(s + n, cp);
				memcpy(s + n, after[m], strlen(after[m]));
				n += strlen(after[m]);
				const struct normalise_opts *o = all_opts[(cp + k + m) % 4];
				if (!same_as_reference(o, s, n, &a, &b))
					ck_abort_msg("U+%04X differs (before %zu, after %zu)", cp,
						     k, m);
			}
		}
	}
	normalise_buf_free(&a);
	normalise_buf_free(&b);
}
END_TEST

/* Every BMP scalar value before every code point that takes part in a canonical composition (and
 * every Hangul vowel and trailing consonant): "X M1 X M2 X ...", under every option set. */
START_TEST(fast_path_every_composition_partner)
{
	int32_t partners[2048];
	size_t np = 0;
	for (int32_t cp = 0x80; cp < 0x110000 && np < 2048; cp++) {
		if (cp >= 0xD800 && cp < 0xE000)
			continue;
		const utf8proc_property_t *p = utf8proc_get_property(cp);
		if (p->comb_index != UINT16_MAX || (cp >= 0x1161 && cp <= 0x11C2))
			partners[np++] = cp;
	}
	ck_assert_uint_lt(np, 2048);
	char *s = malloc(np * 8 + 8);
	ck_assert_ptr_nonnull(s);
	struct normalise_buf a = {0}, b = {0};
	for (int32_t cp = 0x80; cp < 0x10000; cp++) {
		if (cp >= 0xD800 && cp < 0xE000)
			continue;
		char x[4];
		size_t xl = put_utf8(x, cp), n = 0;
		for (size_t i = 0; i < np; i++) {
			memcpy(s + n, x, xl);
			n += xl;
			n += put_utf8(s + n, partners[i]);
		}
		if (!same_as_reference(all_opts[cp % 4], s, n, &a, &b))
			ck_abort_msg("U+%04X before composition partners differs", cp);
	}
	normalise_buf_free(&a);
	normalise_buf_free(&b);
	free(s);
}
END_TEST

/* Random text of up to 100 bytes, mostly ASCII, over what ends a sixteen-byte block of plain
 * text: upper case, single and double spaces, tabs, newlines, controls, DEL, the digits and
 * signs leet folds, punctuation, and now and then a letter with a mark or a Cyrillic one; at
 * every offset of the blocks and every option set, the same bytes as the byte-by-byte walk. */
START_TEST(fast_path_ascii_blocks)
{
	static const char *const pool[] = {
		"a",      "q",    "Z",    "M",     " ",     " ",       "  ",     "\t",
		"\n",     "\x01", "\x7f", "0",     "1",     "4",       "9",      "@",
		"$",      ".",    ",",    "!",     "~",     "e\u0301", "\u0416", "\u0627",
		"\u00a0", "word", "Word", "WORD ", " the ", "l33t",    "a@b",
	};
	enum { NP = sizeof(pool) / sizeof(pool[0]) };
	struct normalise_buf a = {0}, b = {0};
	char s[100];
	unsigned seed = 1616;
	for (int it = 0; it < 200000; it++) {
		/* Half of them plain words and single spaces, so that whole blocks are plain. */
		size_t n = random_text(s, sizeof(s), pool, it % 2 ? 6 : NP, 40, &seed);
		if (!same_as_reference(all_opts[it % 4], s, n, &a, &b))
			ck_abort_msg("text %d differs", it);
	}
	normalise_buf_free(&a);
	normalise_buf_free(&b);
}
END_TEST

/* Random words of one script at a time (each word is a run of inert code points of one length,
 * which the fast path takes in one loop) broken by what ends such a run: a letter that starts
 * compositions (Devanagari NA, RA) before a nukta, a control, a space, its end or a mark; a mark
 * after a space; upper case; letters that are not inert; and ill-formed bytes (overlong, among
 * them Cyrillic a in three bytes, surrogate, truncated, a stray continuation byte). The same bytes
 * and scripts as the reference, under every option set. */
START_TEST(fast_path_words)
{
	static const char *const pool[3][16] = {
		{"\u0440\u0430", "\u043a\u043e", "\u043c\u0438", "\u0416", "\u0439", "\u0301",
		 "\u0441\u0442", "\u0430\u0301", "\xC0\x80", "\xD0", "\x80", "\u0456", " ", "  ",
		 "\x01", "."},
		{"\u0915\u093e", "\u0928", "\u0930", "\u093c", "\u0928\u093c", "\u0932\u0941",
		 "\u0938\u094b", "\u0928\u0947", "\xE0\x90\xB0", "\xED\xA0\x80", "\xE0\xA4", " ",
		 "\x01", "\u0929", "\u0941", "a"},
		{"\u0633\u0627", "\u0644\u0645", "\u0643\u0648", "\u0623", "\u064e", "\u0627\u0654",
		 "\u0640", "\u0631\u064a", "\xC1\xBF", "\xD8", " ", "\u0301", "\x01", "1", "\u00a0",
		 "\u0661"},
	};
	struct normalise_buf a = {0}, b = {0};
	char s[160];
	unsigned seed = 2026;
	for (int it = 0; it < 150000; it++) {
		/* Mostly the script's plain syllables and single spaces. */
		size_t n = random_text(s, sizeof(s), pool[it % 3], it % 4 ? 8 : 16, 40, &seed);
		if (!same_as_reference(all_opts[it % 4], s, n, &a, &b))
			ck_abort_msg("text %d differs", it);
	}
	normalise_buf_free(&a);
	normalise_buf_free(&b);
}
END_TEST

/* Random sequences over a pool heavy in marks, composition partners, controls, ignorables and
 * whitespace, with any BMP code point mixed in. */
START_TEST(fast_path_random_sequences)
{
	static const int32_t pool[] = {
		'a',    'Z',    '4',    ' ',    0x01,   0x0301, 0x0323, 0x0345, 0x0306, 0x0308,
		0x0915, 0x0928, 0x093C, 0x093F, 0x0941, 0x094D, 0x0902, 0x0951, 0x0995, 0x09C7,
		0x09BE, 0x09D7, 0x0B47, 0x0B3E, 0x0BC6, 0x0BBE, 0x0CC6, 0x0CD5, 0x0D46, 0x0D3E,
		0x1025, 0x102E, 0x1100, 0x1161, 0x11A8, 0xAC00, 0x200B, 0x00AD, 0x0640, 0x0627,
		0x0653, 0x0654, 0x064E, 0x0430, 0x0438, 0x0418, 0x03B1, 0x1FB3, 0x05D0, 0x05B0,
		0x0E01, 0x0E48, 0x0E33, 0x304B, 0x3099, 0x309A, 0x30AB, 0x4E2D, 0x00A0, 0x3000,
		0x0085, 0xFFFD, 0x20DD, 0x0F71, 0x0F72, 0x0F40, 0x1B05, 0x1B35, 0x0570, 0x0585,
	};
	enum { NP = sizeof(pool) / sizeof(pool[0]) };
	struct normalise_buf a = {0}, b = {0};
	char s[128];
	unsigned seed = 4242;
	for (int it = 0; it < 100000; it++) {
		size_t n = 0;
		seed = seed * 1103515245u + 12345u;
		int count = 1 + (int)((seed >> 16) % 12);
		for (int j = 0; j < count; j++) {
			seed = seed * 1103515245u + 12345u;
			int32_t cp = pool[(seed >> 16) % NP];
			if ((seed & 3) == 0) { /* any BMP scalar value */
				seed = seed * 1103515245u + 12345u;
				cp = 0x80 + (int32_t)((seed >> 8) % (0x10000 - 0x80));
				if (cp >= 0xD800 && cp < 0xE000)
					cp = 0x0915;
			}
			n += put_utf8(s + n, cp);
		}
		if (!same_as_reference(all_opts[it % 4], s, n, &a, &b))
			ck_abort_msg("sequence %d differs", it);
	}
	normalise_buf_free(&a);
	normalise_buf_free(&b);
}
END_TEST

START_TEST(scripts_reported)
{
	static const struct {
		const char *in;
		uint32_t want;
	} script_cases[] = {
		{"", 0},
		{"123 !?", 0},
		{"Hello", NORMALISE_SCRIPT_LATIN},
		{"Добро утро", NORMALISE_SCRIPT_CYRILLIC},
		{"hi Добро", NORMALISE_SCRIPT_LATIN | NORMALISE_SCRIPT_CYRILLIC},
		{"नमस्ते", NORMALISE_SCRIPT_DEVANAGARI},
		{"مرحبا", NORMALISE_SCRIPT_ARABIC},
		{"早上好，世界", NORMALISE_SCRIPT_HAN}, /* the fullwidth comma folds to ASCII */
		{"ok 👍", NORMALISE_SCRIPT_LATIN | NORMALISE_SCRIPT_SYMBOL},
		{"ＡＢＣ", NORMALISE_SCRIPT_LATIN},
	};
	struct normalise_buf b = {0};
	for (size_t i = 0; i < sizeof(script_cases) / sizeof(script_cases[0]); i++) {
		ck_assert_int_eq(
			normalise_text(&plain, script_cases[i].in, strlen(script_cases[i].in), &b),
			0);
		ck_assert_msg(b.scripts == script_cases[i].want, "[%s]: %#x, want %#x",
			      script_cases[i].in, b.scripts, script_cases[i].want);
		ck_assert_uint_eq(normalise_scripts(b.data, b.len), script_cases[i].want);
	}
	/* With fold_homoglyphs a Cyrillic spoof is Latin. */
	ck_assert_int_eq(normalise_text(&glyphs, "раураl", strlen("раураl"), &b), 0);
	ck_assert_uint_eq(b.scripts, NORMALISE_SCRIPT_LATIN);
	normalise_buf_free(&b);
}
END_TEST

/* Boundaries of NEEDLE found in HAY (already normalised). */
static void find(const char *hay, const char *needle, bool *before, bool *after)
{
	const char *p = strstr(hay, needle);
	ck_assert_msg(p != NULL, "[%s] not in [%s]", needle, hay);
	size_t from = (size_t)(p - hay), to = from + strlen(needle);
	*before = normalise_boundary_before(hay, from);
	*after = normalise_boundary_after(hay, strlen(hay), to);
}

static void check_bounds(const char *hay, const char *needle, bool want_before, bool want_after)
{
	bool before, after;
	find(hay, needle, &before, &after);
	ck_assert_msg(before == want_before && after == want_after,
		      "[%s] in [%s]: before %d after %d, want %d %d", needle, hay, before, after,
		      want_before, want_after);
}

START_TEST(boundaries_latin)
{
	check_bounds("the hate speech", "hate", true, true);
	ck_assert(normalise_boundary_before("the hate speech", 4));
	ck_assert(normalise_boundary_after("the hate speech", 15, 8));
	check_bounds("whatever", "hate", false, false);
	check_bounds("hate", "hate", true, true);
	check_bounds("hateful", "hate", true, false);
	check_bounds("(hate)", "hate", true, true);
	check_bounds("hate_speech", "hate", true, false);
	check_bounds("hate2", "hate", true, false);
}
END_TEST

START_TEST(boundaries_cyrillic_arabic)
{
	check_bounds("мир и", "мир", true, true);
	check_bounds("мировой", "мир", true, false);
	check_bounds("за мировой", "мир", true, false);
	check_bounds("смирно", "мир", false, false);
	check_bounds("السلام عليكم", "السلام", true, true);
	check_bounds("السلام عليكم", "سلام", false, true);
	check_bounds("عليكم", "علي", true, false);
}
END_TEST

START_TEST(boundaries_devanagari)
{
	/* हिंसा = HA, VOWEL SIGN I (Mc), ANUSVARA (Mn), SA, VOWEL SIGN AA (Mc). */
	check_bounds("हिंसा नहीं", "हिंसा", true, true);
	check_bounds("हिंसा नहीं", "नहीं", true, true);
	check_bounds("हिंसा", "ह", true, false);  /* followed by a matra */
	check_bounds("हिंसा", "हिं", true, false); /* followed by a letter */
	check_bounds("हिंसा", "सा", false, true); /* preceded by a mark */
	check_bounds("अहिंसा", "हिंसा", false, true);
}
END_TEST

START_TEST(boundaries_spaceless)
{
	check_bounds("我们去市场买水果", "市场", true, true);
	check_bounds("我们去市场买水果", "我们", true, true);
	check_bounds("ไปตลาดเพื่อซื้อ", "ตลาด", true, true);
	/* Not between a Thai consonant and its vowel or tone mark. */
	check_bounds("ไปตลาดเพื่อซื้อ", "เพ", true, false);
	check_bounds("ไปตลาดเพื่อซื้อ", "ื่อ", false, true);
	check_bounds("我hate你", "hate", true, true);
	check_bounds("カタカナです", "カタカナ", true, true);
	/* Korean puts spaces between words. */
	check_bounds("사랑해요 친구", "사랑", true, false);
	check_bounds("사랑해요 친구", "사랑해요", true, true);
}
END_TEST

START_TEST(boundaries_edges_and_bad_bytes)
{
	ck_assert(normalise_boundary_before("abc", 0));
	ck_assert(normalise_boundary_after("abc", 3, 3));
	ck_assert(!normalise_boundary_before("abc", 3));
	ck_assert(!normalise_boundary_after("abc", 3, 0));
	ck_assert(normalise_boundary_before("\xff"
					    "a",
					    1));
	ck_assert(normalise_boundary_after("a\x80", 2, 1));
	ck_assert(normalise_boundary_before("\x80\x80\x80\x80"
					    "a",
					    4));
	ck_assert(normalise_boundary_after("a\xe4\xb8", 3, 1));
	ck_assert(normalise_boundary_before("\xe4\xb8\xad\xe4", 3));
}
END_TEST

START_TEST(classifiers)
{
	ck_assert(normalise_is_word_cp('a'));
	ck_assert(normalise_is_word_cp('Z'));
	ck_assert(normalise_is_word_cp('7'));
	ck_assert(normalise_is_word_cp('_'));
	ck_assert(!normalise_is_word_cp('-'));
	ck_assert(!normalise_is_word_cp(' '));
	ck_assert(normalise_is_word_cp(0x0301));  /* combining acute */
	ck_assert(normalise_is_word_cp(0x093F));  /* Devanagari vowel sign I */
	ck_assert(normalise_is_word_cp(0x0966));  /* Devanagari digit zero */
	ck_assert(normalise_is_word_cp(0x203F));  /* undertie, Pc */
	ck_assert(!normalise_is_word_cp(0x3000)); /* ideographic space */
	ck_assert(!normalise_is_word_cp(0xFFFD));
	ck_assert(!normalise_is_word_cp(-1));
	ck_assert(!normalise_is_word_cp(0x110000));
	ck_assert(normalise_is_spaceless_cp(0x4E2D));  /* 中 */
	ck_assert(normalise_is_spaceless_cp(0x20000)); /* CJK Extension B */
	ck_assert(normalise_is_spaceless_cp(0x3042));  /* あ */
	ck_assert(normalise_is_spaceless_cp(0x30AB));  /* カ */
	ck_assert(normalise_is_spaceless_cp(0x0E01));  /* Thai */
	ck_assert(normalise_is_spaceless_cp(0x0E81));  /* Lao */
	ck_assert(normalise_is_spaceless_cp(0x1780));  /* Khmer */
	ck_assert(normalise_is_spaceless_cp(0x1000));  /* Myanmar */
	ck_assert(normalise_is_spaceless_cp(0x0F40));  /* Tibetan */
	ck_assert(!normalise_is_spaceless_cp(0xAC00)); /* Hangul */
	ck_assert(!normalise_is_spaceless_cp('a'));
	ck_assert(!normalise_is_spaceless_cp(0x0939)); /* Devanagari */
	ck_assert(!normalise_is_spaceless_cp(0x0627)); /* Arabic */
}
END_TEST

static Suite *normalise_suite(void)
{
	Suite *s = suite_create("normalise");
	TCase *tc = tcase_create("text");
	tcase_set_timeout(tc, 30); /* room for valgrind */
	int n = (int)(sizeof(cases) / sizeof(cases[0]));
	tcase_add_loop_test(tc, table_case, 0, n);
	tcase_add_loop_test(tc, table_case_idempotent, 0, n);
	tcase_add_test(tc, null_input_and_opts);
	tcase_add_test(tc, length_is_respected);
	tcase_add_test(tc, long_input_grows_buffer);
	tcase_add_test(tc, expansion_grows_buffer);
	tcase_add_test(tc, long_mark_runs);
	tcase_add_test(tc, random_strings);
	suite_add_tcase(s, tc);

	TCase *slow = tcase_create("exhaustive");
	tcase_set_timeout(slow, 120);
	tcase_add_test(slow, every_code_point_idempotent);
	tcase_add_test(slow, fast_path_every_bmp_code_point);
	tcase_add_test(slow, fast_path_every_composition_partner);
	tcase_add_test(slow, fast_path_random_sequences);
	tcase_add_test(slow, fast_path_ascii_blocks);
	tcase_add_test(slow, fast_path_words);
	suite_add_tcase(s, slow);

	TCase *tb = tcase_create("boundaries");
	tcase_add_test(tb, boundaries_latin);
	tcase_add_test(tb, boundaries_cyrillic_arabic);
	tcase_add_test(tb, boundaries_devanagari);
	tcase_add_test(tb, boundaries_spaceless);
	tcase_add_test(tb, boundaries_edges_and_bad_bytes);
	tcase_add_test(tb, classifiers);
	tcase_add_test(tb, scripts_reported);
	suite_add_tcase(s, tb);
	return s;
}

int main(void)
{
	return unit_run(normalise_suite());
}
