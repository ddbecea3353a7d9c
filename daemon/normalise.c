/* Normalisation of text for matching: table walks over ASCII and inert code points, utf8proc for
 * the rest. */
#include "normalise.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define NORMALISE_DECOMPOSE_OPTS                                                                   \
	(UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD | UTF8PROC_IGNORE)
/* STABLE makes composition honour the composition exclusions (real NFC). */
#define NORMALISE_COMPOSE_OPTS (UTF8PROC_COMPOSE | UTF8PROC_STABLE)

#define NORMALISE_REPLACEMENT 0xFFFD
/* Decomposed code points buffered before a flush at the next safe point:
 * small enough to stay in L1, large enough to amortise the flush. */
#define NORMALISE_FLUSH_AT 256
#define NORMALISE_SCRATCH_MIN 512
/* Room for one code point's full decomposition (U+FDFA needs 18). */
#define NORMALISE_DECOMP_MAX 32
/* Runs of marks longer than this are sorted by counting, not insertion. */
#define NORMALISE_INSERTION_MAX 8

/* Per ASCII byte: the output byte, ' ' for whitespace, 0 for a control
 * character that is dropped. */
static const char normalise_ascii_plain[128] = {
	0,   0,   0,   0,   0,   0,   0,   0,    0,   ' ', ' ', ' ', ' ',  ' ', 0,   0,
	0,   0,   0,   0,   0,   0,   0,   0,    0,   0,   0,   0,   0,    0,   0,   0,
	' ', '!', '"', '#', '$', '%', '&', '\'', '(', ')', '*', '+', ',',  '-', '.', '/',
	'0', '1', '2', '3', '4', '5', '6', '7',  '8', '9', ':', ';', '<',  '=', '>', '?',
	'@', 'a', 'b', 'c', 'd', 'e', 'f', 'g',  'h', 'i', 'j', 'k', 'l',  'm', 'n', 'o',
	'p', 'q', 'r', 's', 't', 'u', 'v', 'w',  'x', 'y', 'z', '[', '\\', ']', '^', '_',
	'`', 'a', 'b', 'c', 'd', 'e', 'f', 'g',  'h', 'i', 'j', 'k', 'l',  'm', 'n', 'o',
	'p', 'q', 'r', 's', 't', 'u', 'v', 'w',  'x', 'y', 'z', '{', '|',  '}', '~', 0,
};

/* The same with fold_leet: 0->o 1->i 3->e 4->a 5->s 7->t @->a $->s. */
static const char normalise_ascii_leet[128] = {
	0,   0,   0,   0,   0,   0,   0,   0,    0,   ' ', ' ', ' ', ' ',  ' ', 0,   0,
	0,   0,   0,   0,   0,   0,   0,   0,    0,   0,   0,   0,   0,    0,   0,   0,
	' ', '!', '"', '#', 's', '%', '&', '\'', '(', ')', '*', '+', ',',  '-', '.', '/',
	'o', 'i', '2', 'e', 'a', 's', '6', 't',  '8', '9', ':', ';', '<',  '=', '>', '?',
	'a', 'a', 'b', 'c', 'd', 'e', 'f', 'g',  'h', 'i', 'j', 'k', 'l',  'm', 'n', 'o',
	'p', 'q', 'r', 's', 't', 'u', 'v', 'w',  'x', 'y', 'z', '[', '\\', ']', '^', '_',
	'`', 'a', 'b', 'c', 'd', 'e', 'f', 'g',  'h', 'i', 'j', 'k', 'l',  'm', 'n', 'o',
	'p', 'q', 'r', 's', 't', 'u', 'v', 'w',  'x', 'y', 'z', '{', '|',  '}', '~', 0,
};

/* fold_homoglyphs, sorted by code point. Sources are in NFKC-casefold form
 * (lowercase, decomposed letters), as they are met after decomposition. */
struct normalise_glyph {
	uint16_t from;
	char to;
};

static const struct normalise_glyph normalise_glyphs[] = {
	{0x0131, 'i'}, /* ı dotless i */
	{0x0251, 'a'}, /* ɑ */
	{0x0261, 'g'}, /* ɡ script g */
	{0x0269, 'i'}, /* ɩ iota */
	{0x03B1, 'a'}, /* α */
	{0x03B2, 'b'}, /* β (Β) */
	{0x03B3, 'y'}, /* γ */
	{0x03B5, 'e'}, /* ε (Ε) */
	{0x03B6, 'z'}, /* ζ (Ζ) */
	{0x03B7, 'h'}, /* η (Η) */
	{0x03B9, 'i'}, /* ι (Ι) */
	{0x03BA, 'k'}, /* κ (Κ) */
	{0x03BC, 'm'}, /* μ (Μ) */
	{0x03BD, 'v'}, /* ν */
	{0x03BF, 'o'}, /* ο */
	{0x03C1, 'p'}, /* ρ (Ρ) */
	{0x03C4, 't'}, /* τ (Τ) */
	{0x03C5, 'y'}, /* υ (Υ) */
	{0x03C7, 'x'}, /* χ (Χ) */
	{0x03C9, 'w'}, /* ω */
	{0x03F3, 'j'}, /* ϳ yot */
	{0x0430, 'a'}, /* а */
	{0x0432, 'b'}, /* в (В) */
	{0x0435, 'e'}, /* е */
	{0x043A, 'k'}, /* к */
	{0x043C, 'm'}, /* м */
	{0x043D, 'h'}, /* н (Н) */
	{0x043E, 'o'}, /* о */
	{0x0440, 'p'}, /* р */
	{0x0441, 'c'}, /* с */
	{0x0442, 't'}, /* т (Т) */
	{0x0443, 'y'}, /* у */
	{0x0445, 'x'}, /* х */
	{0x0455, 's'}, /* ѕ dze */
	{0x0456, 'i'}, /* і */
	{0x0458, 'j'}, /* ј */
	{0x04AF, 'y'}, /* ү straight u */
	{0x04BB, 'h'}, /* һ shha */
	{0x04CF, 'l'}, /* ӏ palochka */
	{0x0501, 'd'}, /* ԁ komi de */
	{0x051B, 'q'}, /* ԛ qa */
	{0x051D, 'w'}, /* ԝ we */
	{0x0570, 'h'}, /* Armenian հ */
	{0x0578, 'n'}, /* Armenian ո */
	{0x057D, 'u'}, /* Armenian ս */
	{0x0585, 'o'}, /* Armenian օ */
};

struct normalise_range {
	int32_t lo, hi;
};

/* Blocks of the scripts whose marks are diacritics rather than spelling:
 * Latin, Greek, Cyrillic, Hebrew, Arabic. Only letters are looked up. */
static const struct normalise_range normalise_strip_blocks[] = {
	{0x0000, 0x052F},   /* Latin, IPA, Greek, Cyrillic, Cyrillic Supplement */
	{0x0590, 0x06FF},   /* Hebrew, Arabic */
	{0x0750, 0x077F},   /* Arabic Supplement */
	{0x0870, 0x08FF},   /* Arabic Extended-B, -A */
	{0x1C80, 0x1C8F},   /* Cyrillic Extended-C */
	{0x1D00, 0x1DBF},   /* Phonetic Extensions */
	{0x1E00, 0x1FFF},   /* Latin Extended Additional, Greek Extended */
	{0x2C60, 0x2C7F},   /* Latin Extended-C */
	{0xA640, 0xA69F},   /* Cyrillic Extended-B */
	{0xA720, 0xA7FF},   /* Latin Extended-D */
	{0xAB30, 0xAB6F},   /* Latin Extended-E */
	{0xFB00, 0xFDFF},   /* Latin and Hebrew presentation forms, Arabic Presentation Forms-A */
	{0xFE70, 0xFEFF},   /* Arabic Presentation Forms-B */
	{0x10780, 0x107BF}, /* Latin Extended-F */
	{0x10EC0, 0x10EFF}, /* Arabic Extended-C */
	{0x1DF00, 0x1DFFF}, /* Latin Extended-G */
	{0x1E030, 0x1E08F}, /* Cyrillic Extended-D */
};

/* Scripts written without spaces between words (see normalise.h). */
static const struct normalise_range normalise_spaceless_blocks[] = {
	{0x0E00, 0x0E7F},   /* Thai */
	{0x0E80, 0x0EFF},   /* Lao */
	{0x0F00, 0x0FFF},   /* Tibetan */
	{0x1000, 0x109F},   /* Myanmar */
	{0x1780, 0x17FF},   /* Khmer */
	{0x1950, 0x19FF},   /* Tai Le, New Tai Lue, Khmer Symbols */
	{0x1A20, 0x1AAF},   /* Tai Tham */
	{0x2E80, 0x2FDF},   /* CJK Radicals Supplement, Kangxi Radicals */
	{0x3005, 0x3007},   /* 々 〆 〇 */
	{0x3021, 0x3029},   /* Hangzhou numerals */
	{0x3031, 0x3035},   /* kana repeat marks */
	{0x3038, 0x303C},   /* Suzhou numerals, 〻 〼 */
	{0x3040, 0x312F},   /* Hiragana, Katakana, Bopomofo */
	{0x31A0, 0x31BF},   /* Bopomofo Extended */
	{0x31F0, 0x31FF},   /* Katakana Phonetic Extensions */
	{0x3400, 0x4DBF},   /* CJK Extension A */
	{0x4E00, 0x9FFF},   /* CJK Unified Ideographs */
	{0xA000, 0xA4CF},   /* Yi */
	{0xA9E0, 0xA9FF},   /* Myanmar Extended-B */
	{0xAA60, 0xAADF},   /* Myanmar Extended-A, Tai Viet */
	{0xF900, 0xFAFF},   /* CJK Compatibility Ideographs */
	{0xFF66, 0xFF9F},   /* halfwidth Katakana */
	{0x16FE0, 0x16FFF}, /* Ideographic Symbols */
	{0x17000, 0x18D8F}, /* Tangut, Khitan */
	{0x1B000, 0x1B2FF}, /* Kana Supplement and Extended, Nushu */
	{0x20000, 0x323AF}, /* CJK Extensions B to H, Compatibility Supplement */
};

/* Script groups by 128-code-point block of the BMP (see normalise_scripts);
 * blocks not listed are NORMALISE_SCRIPT_OTHER. The grain is coarse on
 * purpose: any fixed map from code points to groups keeps term pruning exact,
 * a finer one only prunes more. */
struct normalise_script_range {
	int32_t lo, hi;
	uint32_t group;
};

static const struct normalise_script_range normalise_script_blocks[] = {
	{0x0080, 0x02FF, NORMALISE_SCRIPT_LATIN},
	{0x0380, 0x03FF, NORMALISE_SCRIPT_GREEK},
	{0x0400, 0x057F, NORMALISE_SCRIPT_CYRILLIC}, /* with the start of Armenian */
	{0x0580, 0x05FF, NORMALISE_SCRIPT_HEBREW},
	{0x0600, 0x08FF, NORMALISE_SCRIPT_ARABIC}, /* with Syriac, Thaana, NKo */
	{0x0900, 0x097F, NORMALISE_SCRIPT_DEVANAGARI},
	{0x0980, 0x0DFF, NORMALISE_SCRIPT_INDIC},
	{0x0E00, 0x0EFF, NORMALISE_SCRIPT_THAI},   /* Thai, Lao */
	{0x0F00, 0x107F, NORMALISE_SCRIPT_SEASIA}, /* Tibetan, Myanmar */
	{0x1100, 0x11FF, NORMALISE_SCRIPT_HANGUL},
	{0x1780, 0x1AFF, NORMALISE_SCRIPT_SEASIA}, /* Khmer, Mongolian, Tai Le, Tai Tham */
	{0x1D00, 0x1EFF, NORMALISE_SCRIPT_LATIN},
	{0x1F00, 0x1FFF, NORMALISE_SCRIPT_GREEK},
	{0x2000, 0x2BFF, NORMALISE_SCRIPT_SYMBOL},
	{0x2E00, 0x2E7F, NORMALISE_SCRIPT_SYMBOL},
	{0x2E80, 0x2FFF, NORMALISE_SCRIPT_HAN},
	{0x3000, 0x31FF, NORMALISE_SCRIPT_KANA}, /* with CJK punctuation and Bopomofo */
	{0x3200, 0x9FFF, NORMALISE_SCRIPT_HAN},
	{0xA700, 0xA7FF, NORMALISE_SCRIPT_LATIN},
	{0xA800, 0xA8FF, NORMALISE_SCRIPT_INDIC},
	{0xA900, 0xAAFF, NORMALISE_SCRIPT_SEASIA},
	{0xAB00, 0xAB7F, NORMALISE_SCRIPT_LATIN},
	{0xAC00, 0xD7FF, NORMALISE_SCRIPT_HANGUL},
	{0xF900, 0xFAFF, NORMALISE_SCRIPT_HAN},
	{0xFB00, 0xFB7F, NORMALISE_SCRIPT_HEBREW},
	{0xFB80, 0xFDFF, NORMALISE_SCRIPT_ARABIC},
	{0xFE00, 0xFE7F, NORMALISE_SCRIPT_SYMBOL},
	{0xFE80, 0xFEFF, NORMALISE_SCRIPT_ARABIC},
	{0xFF00, 0xFFFF, NORMALISE_SCRIPT_SYMBOL},
};

/* What normalise_fast says of a BMP code point that maps to itself and takes
 * no part in composition or reordering (an inert code point), as flags so
 * that the hot loop does not branch on them. 0: not inert, take the utf8proc
 * path. */
enum {
	NORMALISE_FAST_INERT = 0x01,
	NORMALISE_FAST_NS = 0x02,    /* Mn or Me: dropped when the base strips */
	NORMALISE_FAST_HOLD = 0x04,  /* a mark: the strip state stays */
	NORMALISE_FAST_STRIP = 0x08, /* marks after it are dropped */
	NORMALISE_FAST_FIRST = 0x10, /* starts compositions: inert only before an inert
				      * code point, printable ASCII or the end */
	NORMALISE_FAST_GLYPH = 0x80, /* a fold_homoglyphs source: utf8proc path then */
	NORMALISE_FAST_STRIP_BASE = NORMALISE_FAST_INERT | NORMALISE_FAST_STRIP,
	NORMALISE_FAST_KEEP_BASE = NORMALISE_FAST_INERT,
	NORMALISE_FAST_OTHER = NORMALISE_FAST_INERT | NORMALISE_FAST_STRIP,
	NORMALISE_FAST_MARK_NS = NORMALISE_FAST_INERT | NORMALISE_FAST_NS | NORMALISE_FAST_HOLD,
	NORMALISE_FAST_MARK_SC = NORMALISE_FAST_INERT | NORMALISE_FAST_HOLD,
	NORMALISE_FAST_KEEP_FIRST = NORMALISE_FAST_INERT | NORMALISE_FAST_FIRST,
};

/* What an inert code point does in one strip state (a step byte of a step word, below). */
enum {
	NORMALISE_STEP_GO = 0x01,    /* inert: written, or dropped */
	NORMALISE_STEP_DROP = 0x02,  /* dropped: an NS mark after a stripping base */
	NORMALISE_STEP_STRIP = 0x08, /* the strip state after it; also the shift to its byte */
	NORMALISE_STEP_FIRST = 0x10, /* NORMALISE_FAST_FIRST */
	NORMALISE_STEP_GLYPH = 0x80, /* NORMALISE_FAST_GLYPH */
};

/* Built once by normalise_init from utf8proc itself, then only read. */
static pthread_once_t normalise_once = PTHREAD_ONCE_INIT;
static uint8_t normalise_fast[0x10000];
/* A step word: what a code point does in either strip state, its step byte for a base that
 * keeps marks in bits 0-7 and for one that strips them in bits 8-15 (so that the hot loop
 * shifts by the last byte's NORMALISE_STEP_STRIP instead of waiting on a load for it), and its
 * script group (normalise_block_group) in bits 16-31; 0 for a code point that is not inert.
 * normalise_step_word holds the two step bytes by NORMALISE_FAST_* flags; normalise_step_of
 * adds the group. */
static uint32_t normalise_step_word[256];
/* The step word of the code point that two bytes spell, at the index a two-byte load of them
 * gives (on either byte order); 0 where they do not spell one. */
static uint32_t normalise_fast_pair[0x10000];
/* The same of the code point spelled by 0xE0 and the two bytes indexed so (U+0800 to U+0FFF:
 * the scripts of South and Southeast Asia); 0 for an overlong spelling. */
static uint32_t normalise_fast_e0[0x10000];
static uint16_t normalise_block_group[0x10000 >> 7];

/* State of one normalise_text call. */
struct normalise_ctx {
	struct normalise_buf *out;
	const char *ascii;  /* normalise_ascii_plain or _leet */
	bool glyphs;        /* fold_homoglyphs */
	bool fast;          /* inert code points bypass utf8proc */
	uint32_t scripts;   /* NORMALISE_SCRIPT_* of what was written */
	bool pending_space; /* whitespace seen since the last character written */
	bool strip;         /* marks after the current base are dropped */
	bool reorder;       /* scratch may hold marks out of canonical order */
	bool compose;       /* scratch holds something that may compose */
	int last_ccc;       /* combining class of the last code point in scratch */
	size_t n;           /* code points in out->scratch */
};

static bool normalise_in_ranges(int32_t cp, const struct normalise_range *r, size_t n)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cp < r[mid].lo)
			hi = mid;
		else if (cp > r[mid].hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

/* The Latin letter CP looks like, or 0. */
static int32_t normalise_glyph(int32_t cp)
{
	size_t lo = 0, hi = sizeof(normalise_glyphs) / sizeof(normalise_glyphs[0]);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cp < normalise_glyphs[mid].from)
			hi = mid;
		else if (cp > normalise_glyphs[mid].from)
			lo = mid + 1;
		else
			return (unsigned char)normalise_glyphs[mid].to;
	}
	return 0;
}

static bool normalise_is_mark_cat(int cat)
{
	return cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_MC ||
	       cat == UTF8PROC_CATEGORY_ME;
}

static bool normalise_is_letter_cat(int cat)
{
	return cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO;
}

/* Hangul vowel and trailing-consonant jamo compose with the code point before
 * them although they are not marks. */
static bool normalise_is_hangul_vt(int32_t cp)
{
	return (cp >= 0x1161 && cp <= 0x1175) || (cp >= 0x11A8 && cp <= 0x11C2);
}

/* The script group of CP (see normalise_scripts). */
static uint32_t normalise_group(int32_t cp)
{
	if (cp < 0x80)
		return (uint32_t)((cp | 0x20) - 'a') < 26 ? NORMALISE_SCRIPT_LATIN : 0;
	if (cp < 0x10000)
		return normalise_block_group[cp >> 7];
	if (cp >= 0x1F000 && cp <= 0x1FFFF)
		return NORMALISE_SCRIPT_SYMBOL; /* emoji and other pictographs */
	if (cp >= 0x20000 && cp <= 0x3FFFF)
		return NORMALISE_SCRIPT_HAN;
	return NORMALISE_SCRIPT_OTHER;
}

/* Whether a spacing mark that can be second in a composition composes with
 * CP: such marks are kept even after a letter whose other marks are dropped. */
static bool normalise_composes_with_mc(int32_t cp, const int32_t *mc, size_t n_mc)
{
	for (size_t i = 0; i < n_mc; i++) {
		int32_t pair[2] = {cp, mc[i]};
		if (utf8proc_normalize_utf32(pair, 2, (utf8proc_option_t)NORMALISE_COMPOSE_OPTS) !=
		    2)
			return true;
	}
	return false;
}

/* The normalise_fast entry of BMP code point CP: non-zero only when the
 * utf8proc path would write CP itself and nothing around it could compose
 * or reorder with it, so that writing it at once, after what came before,
 * gives the same bytes. The strip state it leaves is the one
 * normalise_push_decomposed would. MC lists the spacing marks that can be
 * second in a composition. */
static uint8_t normalise_fast_kind(int32_t cp, const int32_t *mc, size_t n_mc)
{
	const utf8proc_property_t *p = utf8proc_get_property(cp);
	int cat = p->category;
	/* ASCII has its own walk; Hangul composes by arithmetic, not by table. */
	if (cp < 0x80 || (cp >= 0x1100 && cp <= 0x11FF) || (cp >= 0xA960 && cp <= 0xA97F) ||
	    (cp >= 0xAC00 && cp <= 0xDFFF))
		return 0;
	/* Changes, vanishes, or takes part in canonical reordering. */
	if (p->decomp_seqindex != UINT16_MAX || p->casefold_seqindex != UINT16_MAX ||
	    p->ignorable || p->combining_class)
		return 0;
	/* Whitespace, dropped controls and tatweel. */
	if (cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL ||
	    cat == UTF8PROC_CATEGORY_ZP || cat == UTF8PROC_CATEGORY_CC || cp == 0x85 ||
	    cp == 0x0640)
		return 0;
	if (normalise_is_letter_cat(cat)) {
		bool strip = cp < 0x0530 ||
			     normalise_in_ranges(cp, normalise_strip_blocks,
						 sizeof(normalise_strip_blocks) /
							 sizeof(normalise_strip_blocks[0]));
		uint8_t glyph = cp <= 0x0585 && normalise_glyph(cp) ? NORMALISE_FAST_GLYPH : 0;
		uint8_t kind = strip ? NORMALISE_FAST_STRIP_BASE : NORMALISE_FAST_KEEP_BASE;
		if (p->comb_index == UINT16_MAX)
			return kind | glyph;
		/* A letter that starts compositions ("а" + U+0306 is "й") is
		 * still inert where every mark that could compose with it is
		 * dropped, unless a kept spacing mark composes with it. */
		if (strip && !normalise_composes_with_mc(cp, mc, n_mc))
			return kind | glyph;
		/* Devanagari NA composes with a nukta: it is written at once only
		 * where the next code point cannot compose with it. */
		return strip ? 0 : NORMALISE_FAST_KEEP_FIRST | glyph;
	}
	if (p->comb_index != UINT16_MAX)
		return 0;
	if (cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_ME)
		return NORMALISE_FAST_MARK_NS;
	if (cat == UTF8PROC_CATEGORY_MC)
		return NORMALISE_FAST_MARK_SC;
	return NORMALISE_FAST_OTHER;
}

/* Fills normalise_step_word from what the flags mean: an NS mark after a stripping base is
 * dropped; after a code point the strip state is its own (_STRIP) or, for a mark (_HOLD), the
 * one before it. */
static void normalise_step_init(void)
{
	for (unsigned e = 0; e < 256; e++) {
		if (!(e & NORMALISE_FAST_INERT))
			continue;
		uint32_t word = 0;
		for (unsigned st = 0; st < 2; st++) {
			bool drop = st && (e & NORMALISE_FAST_NS),
			     after = (st && (e & NORMALISE_FAST_HOLD)) ||
				     (e & NORMALISE_FAST_STRIP);
			uint32_t x = NORMALISE_STEP_GO | (drop ? NORMALISE_STEP_DROP : 0u) |
				     (after ? NORMALISE_STEP_STRIP : 0u) |
				     (e & NORMALISE_FAST_FIRST ? NORMALISE_STEP_FIRST : 0u) |
				     (e & NORMALISE_FAST_GLYPH ? NORMALISE_STEP_GLYPH : 0u);
			word |= x << (st ? NORMALISE_STEP_STRIP : 0u);
		}
		normalise_step_word[e] = word;
	}
}

/* The step word of BMP code point CP. */
static inline uint32_t normalise_step_of(uint32_t cp)
{
	return normalise_step_word[normalise_fast[cp]] | (uint32_t)normalise_block_group[cp >> 7]
								 << 16;
}

/* Fills TABLE with the step word of the code point ((X & MASK) << 6) | (Y & 0x3F) for every
 * byte X from LO to HI and continuation byte Y, at the index a two-byte load of X Y gives. */
static void normalise_fill_pairs(uint32_t *table, unsigned lo, unsigned hi, unsigned mask)
{
	for (unsigned x = lo; x <= hi; x++)
		for (unsigned y = 0x80; y <= 0xBF; y++) {
			unsigned char bytes[2] = {(unsigned char)x, (unsigned char)y};
			uint16_t at;
			memcpy(&at, bytes, sizeof(at));
			table[at] = normalise_step_of(((x & mask) << 6) | (y & 0x3Fu));
		}
}

static void normalise_init(void)
{
	size_t n_blocks = sizeof(normalise_block_group) / sizeof(normalise_block_group[0]);
	for (size_t b = 0; b < n_blocks; b++) {
		int32_t cp = (int32_t)(b << 7);
		normalise_block_group[b] = NORMALISE_SCRIPT_OTHER;
		for (size_t r = 0;
		     r < sizeof(normalise_script_blocks) / sizeof(normalise_script_blocks[0]); r++)
			if (cp >= normalise_script_blocks[r].lo &&
			    cp <= normalise_script_blocks[r].hi)
				normalise_block_group[b] =
					(uint16_t)normalise_script_blocks[r].group;
	}
	int32_t mc[64];
	size_t n_mc = 0;
	for (int32_t cp = 0x80; cp < 0x110000; cp++) {
		const utf8proc_property_t *p = utf8proc_get_property(cp);
		if (p->category == UTF8PROC_CATEGORY_MC && p->comb_index != UINT16_MAX) {
			if (n_mc == sizeof(mc) / sizeof(mc[0]))
				return; /* a Unicode this table did not foresee: no fast path */
			mc[n_mc++] = cp;
		}
	}
	for (int32_t cp = 0x80; cp < 0x10000; cp++)
		normalise_fast[cp] = normalise_fast_kind(cp, mc, n_mc);
	normalise_step_init();
	normalise_fill_pairs(normalise_fast_pair, 0xC2, 0xDF, 0x1F); /* a lead, a continuation */
	normalise_fill_pairs(normalise_fast_e0, 0xA0, 0xBF, 0x3F);   /* after 0xE0: no overlong */
}

/* Decodes one code point from the N > 0 bytes at S into *CP and returns the
 * bytes it took. Ill-formed input gives U+FFFD for each maximal subpart. */
static size_t normalise_decode(const unsigned char *s, size_t n, int32_t *cp)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xBF;
	size_t need;
	int32_t v;
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		need = 1;
		v = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		need = 2;
		v = c & 0x0F;
		if (c == 0xE0)
			lo = 0xA0; /* overlong */
		else if (c == 0xED)
			hi = 0x9F; /* surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 3;
		v = c & 0x07;
		if (c == 0xF0)
			lo = 0x90; /* overlong */
		else if (c == 0xF4)
			hi = 0x8F; /* past U+10FFFF */
	} else {
		*cp = NORMALISE_REPLACEMENT;
		return 1;
	}
	size_t i;
	for (i = 1; i <= need; i++) {
		if (i >= n || s[i] < lo || s[i] > hi) {
			*cp = NORMALISE_REPLACEMENT;
			return i;
		}
		v = (v << 6) | (s[i] & 0x3F);
		lo = 0x80;
		hi = 0xBF;
	}
	*cp = v;
	return i;
}

static size_t normalise_encode(char *dst, int32_t cp)
{
	unsigned char *d = (unsigned char *)dst;
	if (cp < 0x80) {
		d[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		d[0] = (unsigned char)(0xC0 | (cp >> 6));
		d[1] = (unsigned char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		d[0] = (unsigned char)(0xE0 | (cp >> 12));
		d[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		d[2] = (unsigned char)(0x80 | (cp & 0x3F));
		return 3;
	}
	d[0] = (unsigned char)(0xF0 | (cp >> 18));
	d[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
	d[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
	d[3] = (unsigned char)(0x80 | (cp & 0x3F));
	return 4;
}

static int normalise_reserve(struct normalise_buf *b, size_t need)
{
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	char *data = realloc(b->data, cap);
	if (!data)
		return -ENOMEM;
	b->data = data;
	b->cap = cap;
	return 0;
}

static int normalise_reserve_scratch(struct normalise_buf *b, size_t need)
{
	if (need <= b->scratch_cap)
		return 0;
	size_t cap = b->scratch_cap ? b->scratch_cap : NORMALISE_SCRATCH_MIN;
	while (cap < need)
		cap *= 2;
	if (cap > SIZE_MAX / sizeof(*b->scratch))
		return -ENOMEM;
	int32_t *s = realloc(b->scratch, cap * sizeof(*s));
	if (!s)
		return -ENOMEM;
	b->scratch = s;
	b->scratch_cap = cap;
	return 0;
}

void normalise_buf_free(struct normalise_buf *b)
{
	if (!b)
		return;
	free(b->data);
	free(b->scratch);
	memset(b, 0, sizeof(*b));
}

/* Writes M, an ASCII byte's table entry, at DST: a space is left pending until something
 * follows it, a control (0) vanishes. Returns the new end of the output. */
static inline char *normalise_ascii_put(char m, char *dst, const char *start, bool *pending)
{
	if (m == ' ') {
		*pending = true;
	} else if (m) {
		if (*pending && dst != start)
			*dst++ = ' ';
		*pending = false;
		*dst++ = m;
	}
	return dst;
}

#ifdef __SSE2__
/* Writes the 16 bytes at IN as the table walk would, when they are printable ASCII or single
 * spaces that the table maps to themselves or (A-Z) to lowercase: what most text is. Returns
 * the new end of the output, or NULL (nothing written) for any other 16 bytes: a control, a
 * tab or newline, two spaces in a row, a space the walk would drop, a byte the leet table
 * changes, a non-ASCII byte. A last space is not written but left pending, as the walk
 * leaves it. Writes up to 17 bytes at DST. */
static inline char *normalise_ascii16(const unsigned char *in, char *dst, const char *start,
				      bool *pending, bool leet)
{
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)in);
	__m128i printable = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(0x1F)),
					  _mm_cmplt_epi8(v, _mm_set1_epi8(0x7F)));
	if (leet) { /* digits, '@' and '$' are letters there */
		__m128i digit = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
					      _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)));
		__m128i sym = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('@')),
					   _mm_cmpeq_epi8(v, _mm_set1_epi8('$')));
		printable = _mm_andnot_si128(_mm_or_si128(digit, sym), printable);
	}
	if (_mm_movemask_epi8(printable) != 0xFFFF)
		return NULL;
	unsigned sp = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')));
	if (sp & (sp >> 1))
		return NULL; /* collapsed to one */
	if ((sp & 1) && (*pending || dst == start))
		return NULL; /* collapsed into the pending one, or dropped at the start */
	__m128i upper = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('A' - 1)),
				      _mm_cmplt_epi8(v, _mm_set1_epi8('Z' + 1)));
	v = _mm_or_si128(v, _mm_and_si128(upper, _mm_set1_epi8(0x20)));
	if (*pending && dst != start)
		*dst++ = ' ';
	_mm_storeu_si128((__m128i *)(void *)dst, v);
	*pending = sp >> 15;
	return dst + 16 - *pending;
}
#endif

/* Writes the ASCII run at IN[*POS] that needs no utf8proc: printable
 * characters and whitespace (through the table), and control characters
 * (dropped). Stops at the first non-ASCII byte. The caller reserved room for
 * one output byte per input byte, and one more. */
static void normalise_ascii_run(struct normalise_ctx *c, const unsigned char *in, size_t len,
				size_t *pos)
{
	const char *tab = c->ascii;
	char *start = c->out->data, *dst = start + c->out->len, *run = dst;
	bool pending = c->pending_space;
	size_t i = *pos;
#ifdef __SSE2__
	/* Sixteen bytes at a time while they are plain text; the reference (not fast) walks
	 * byte by byte, so that the tests compare the two. */
	bool leet = tab == normalise_ascii_leet;
	while (c->fast && i + 16 <= len) {
		char *end = normalise_ascii16(in + i, dst, start, &pending, leet);
		if (end) {
			dst = end;
			i += 16;
			continue;
		}
		/* Through the next sixteen bytes the table's way, then try again. */
		for (size_t stop = i + 16; i < stop; i++) {
			if (in[i] >= 0x80)
				goto done;
			dst = normalise_ascii_put(tab[in[i]], dst, start, &pending);
		}
	}
#endif
	for (; i < len && in[i] < 0x80; i++)
		dst = normalise_ascii_put(tab[in[i]], dst, start, &pending);
#ifdef __SSE2__
done:
#endif
	c->out->len = (size_t)(dst - start);
	c->pending_space = pending;
	/* Looked for after the walk, and only until found: a test per byte in
	 * the walk cost a fifth of its speed. */
	for (; run < dst && !(c->scripts & NORMALISE_SCRIPT_LATIN); run++)
		if ((unsigned char)(*run - 'a') < 26)
			c->scripts |= NORMALISE_SCRIPT_LATIN;
	*pos = i;
}

/* Sorts the marks of each run of non-starters in scratch by combining class,
 * keeping the order of equal classes: the canonical ordering of NFD. */
static int normalise_reorder(struct normalise_ctx *c)
{
	size_t n = c->n;
	for (size_t i = 0; i < n;) {
		if (!utf8proc_get_property(c->out->scratch[i])->combining_class) {
			i++;
			continue;
		}
		size_t j = i + 1;
		while (j < n && utf8proc_get_property(c->out->scratch[j])->combining_class)
			j++;
		size_t run = j - i;
		if (run <= NORMALISE_INSERTION_MAX) {
			int32_t *s = c->out->scratch;
			for (size_t k = i + 1; k < j; k++) {
				int32_t cp = s[k];
				int ccc = utf8proc_get_property(cp)->combining_class;
				size_t m = k;
				while (m > i &&
				       utf8proc_get_property(s[m - 1])->combining_class > ccc) {
					s[m] = s[m - 1];
					m--;
				}
				s[m] = cp;
			}
		} else {
			/* Counting sort through the spare scratch after the data: an
			 * adversarial run of marks costs linear time. */
			int rc = normalise_reserve_scratch(c->out, n + run);
			if (rc < 0)
				return rc;
			int32_t *s = c->out->scratch, *tmp = s + n;
			size_t count[257] = {0};
			for (size_t k = i; k < j; k++)
				count[utf8proc_get_property(s[k])->combining_class + 1]++;
			for (size_t k = 1; k < 257; k++)
				count[k] += count[k - 1];
			for (size_t k = i; k < j; k++)
				tmp[count[utf8proc_get_property(s[k])->combining_class]++] = s[k];
			memcpy(s + i, tmp, run * sizeof(*s));
		}
		i = j;
	}
	return 0;
}

/* Reorders and recomposes the decomposed code points in scratch and writes
 * them out as UTF-8. */
static int normalise_flush(struct normalise_ctx *c)
{
	size_t n = c->n;
	if (!n)
		return 0;
	if (c->reorder) {
		int rc = normalise_reorder(c);
		if (rc < 0)
			return rc;
	}
	int32_t *s = c->out->scratch;
	if (c->compose)
		n = (size_t)utf8proc_normalize_utf32(s, (utf8proc_ssize_t)n,
						     (utf8proc_option_t)NORMALISE_COMPOSE_OPTS);
	int rc = normalise_reserve(c->out, c->out->len + 4 * n + 2);
	if (rc < 0)
		return rc;
	char *start = c->out->data, *dst = start + c->out->len;
	bool pending = c->pending_space;
	uint32_t scripts = c->scripts;
	for (size_t k = 0; k < n; k++) {
		if (s[k] == ' ') {
			pending = true;
			continue;
		}
		if (pending && dst != start)
			*dst++ = ' ';
		pending = false;
		dst += normalise_encode(dst, s[k]);
		scripts |= normalise_group(s[k]);
	}
	c->out->len = (size_t)(dst - start);
	c->pending_space = pending;
	c->scripts = scripts;
	c->n = 0;
	c->reorder = false;
	c->compose = false;
	c->last_ccc = 0;
	return 0;
}

/* Takes one code point of the decomposed, case-folded stream: applies the
 * folds, drops marks, controls and tatweel, maps whitespace to ' ', and
 * appends the rest to scratch, flushing first at a safe point when full. */
static int normalise_push_decomposed(struct normalise_ctx *c, int32_t cp,
				     const utf8proc_property_t *p)
{
	int ccc = 0; /* only marks have a non-zero combining class */
	bool mark = false;
	int32_t g;
	int cat = p->category;
	if (cp < 0x80) {
		char m = c->ascii[cp];
		if (!m)
			return 0;
		cp = (unsigned char)m;
		c->strip = true;
	} else if (cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_ME) {
		if (c->strip)
			return 0;
		mark = true;
		ccc = p->combining_class;
	} else if (cat == UTF8PROC_CATEGORY_MC) {
		mark = true;
		ccc = p->combining_class;
	} else if (cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL ||
		   cat == UTF8PROC_CATEGORY_ZP || cp == 0x85) {
		cp = ' ';
		c->strip = true;
	} else if (cat == UTF8PROC_CATEGORY_CC || cp == 0x0640) {
		return 0; /* transparent: the base stays what it was */
	} else if (!normalise_is_letter_cat(cat)) {
		c->strip = true;
	} else if (c->glyphs && cp <= 0x0585 && (g = normalise_glyph(cp))) {
		cp = g;
		c->strip = true;
	} else {
		c->strip = cp < 0x0530 ||
			   normalise_in_ranges(cp, normalise_strip_blocks,
					       sizeof(normalise_strip_blocks) /
						       sizeof(normalise_strip_blocks[0]));
	}
	bool second = mark || normalise_is_hangul_vt(cp);
	if (!second && c->n >= NORMALISE_FLUSH_AT) {
		/* Nothing before a starter that is neither a mark nor a Hangul
		 * vowel or trailing consonant composes or reorders with it or
		 * anything after it. */
		int rc = normalise_flush(c);
		if (rc < 0)
			return rc;
	}
	if (c->n == c->out->scratch_cap) {
		int rc = normalise_reserve_scratch(c->out, c->n + 1);
		if (rc < 0)
			return rc;
	}
	c->out->scratch[c->n++] = cp;
	if (ccc && ccc < c->last_ccc)
		c->reorder = true;
	c->last_ccc = ccc;
	/* A mark that takes part in no composition cannot make one; the
	 * reference path composes anyway, to be the plain definition. */
	if (second && (!c->fast || p->comb_index != UINT16_MAX || !mark))
		c->compose = true;
	return 0;
}

/* Decomposes one non-ASCII code point (NFKD, case folded, ignorables
 * dropped) and pushes the result. */
static int normalise_push(struct normalise_ctx *c, int32_t cp)
{
	const utf8proc_property_t *p = utf8proc_get_property(cp);
	if (p->decomp_seqindex == UINT16_MAX && p->casefold_seqindex == UINT16_MAX &&
	    !p->ignorable && !(cp >= 0xAC00 && cp <= 0xD7A3))
		return normalise_push_decomposed(c, cp, p); /* maps to itself */

	int32_t local[NORMALISE_DECOMP_MAX], *d = local;
	int boundclass = 0;
	utf8proc_ssize_t n;
	/* YPOGEGRAMMENI is the one mark that case folding turns into a letter
	 * (iota): decide on it as a mark first, and take the Greek letters that
	 * hold it apart before folding, so that "ᾳ" and "α" + U+0345 agree. */
	if (cp == 0x0345 && c->strip)
		return 0;
	if (cp >= 0x1F80 && cp <= 0x1FFC && p->decomp_seqindex != UINT16_MAX && !p->decomp_type) {
		n = utf8proc_decompose_char(cp, d, NORMALISE_DECOMP_MAX, UTF8PROC_DECOMPOSE,
					    &boundclass);
		if (n > 1 && n <= NORMALISE_DECOMP_MAX && d[n - 1] == 0x0345) {
			int rc = 0;
			for (utf8proc_ssize_t k = 0; k < n && rc == 0; k++)
				rc = normalise_push(c, d[k]);
			return rc;
		}
	}
	n = utf8proc_decompose_char(cp, d, NORMALISE_DECOMP_MAX,
				    (utf8proc_option_t)NORMALISE_DECOMPOSE_OPTS, &boundclass);
	if (n > NORMALISE_DECOMP_MAX) { /* no such code point in Unicode 15; be safe */
		d = malloc((size_t)n * sizeof(*d));
		if (!d)
			return -ENOMEM;
		n = utf8proc_decompose_char(cp, d, n, (utf8proc_option_t)NORMALISE_DECOMPOSE_OPTS,
					    &boundclass);
	}
	int rc = 0;
	for (utf8proc_ssize_t k = 0; k < n && rc == 0; k++)
		rc = normalise_push_decomposed(c, d[k], utf8proc_get_property(d[k]));
	if (d != local)
		free(d);
	return rc;
}

/* Decodes the code point at IN[I] when it is spelled as a well-formed two- or three-byte
 * sequence: sets *CP and *K (its length) and returns its normalise_fast entry, 0 when it is not
 * inert (or is a homoglyph source and GLYPHS is set). Otherwise returns 0 and leaves *K alone. */
static inline uint8_t normalise_inert_at(const unsigned char *in, size_t len, size_t i, bool glyphs,
					 int32_t *cp, size_t *k)
{
	unsigned b = in[i];
	int32_t v;
	size_t n;
	if (b >= 0xC2 && b <= 0xDF) {
		if (i + 1 >= len || (in[i + 1] & 0xC0) != 0x80)
			return 0;
		v = (int32_t)(((b & 0x1F) << 6) | (in[i + 1] & 0x3Fu));
		n = 2;
	} else if (b >= 0xE0 && b <= 0xEF) {
		if (i + 2 >= len || (in[i + 1] & 0xC0) != 0x80 || (in[i + 2] & 0xC0) != 0x80)
			return 0;
		v = (int32_t)(((b & 0x0F) << 12) | ((in[i + 1] & 0x3Fu) << 6) |
			      (in[i + 2] & 0x3Fu));
		if (v < 0x800 || (v >= 0xD800 && v <= 0xDFFF))
			return 0; /* overlong, or a surrogate */
		n = 3;
	} else {
		return 0;
	}
	*cp = v;
	*k = n;
	uint8_t e = normalise_fast[v];
	return glyphs && (e & NORMALISE_FAST_GLYPH) ? 0 : e;
}

/* Whether B leads a sequence of K (2 or 3) bytes that can spell a code point. */
static inline bool normalise_leads(unsigned b, size_t k)
{
	return k == 2 ? b - 0xC2u <= 0xDFu - 0xC2u : b - 0xE0u <= 0xEFu - 0xE0u;
}

/* Whether the code point at IN[I] lets an inert code point that starts compositions stand
 * before it: the end, printable ASCII (an ASCII control is skipped, so it does not), or an inert
 * code point spelled in well-formed bytes. */
static inline bool normalise_ends_composition(const unsigned char *in, size_t len, size_t i,
					      bool glyphs)
{
	int32_t cp;
	size_t k;
	return i >= len || (in[i] < 0x80 ? normalise_ascii_plain[in[i]] != 0 :
					   normalise_inert_at(in, len, i, glyphs, &cp, &k) != 0);
}

/* Writes the inert code points spelled in K (2 or 3) well-formed bytes from IN[*POS] on, as
 * normalise_fast_run would, and advances *POS past them, going on through single ASCII spaces
 * into words spelled at the same length; stops at the first code point that is not one or
 * (GLYPHS set) is a homoglyph source, or at anything else. Text in one script is mostly such
 * runs, and a loop that knows the length decodes each code point in a few instructions. A code
 * point that starts compositions is settled after the run, so that it costs no branch: when
 * what follows cannot stand after it, the run steps back over it. It is a letter and sets the
 * strip state itself, so only the output needs stepping back; its script stays, as what
 * utf8proc makes of it is in its block (the unit tests compare the scripts of both paths). To
 * be called with nothing in scratch. START: the output's start, where no space goes. *PENDING:
 * a space to write before the first code point written (0 at the start of the output); the
 * strip state is at *STRIP. Both are left as after the run. */
static inline char *normalise_fast_same(const unsigned char *in, size_t len, size_t *pos, size_t k,
					bool glyphs, const char *start, char *dst, unsigned *strip,
					unsigned *pending, uint32_t *scripts)
{
	unsigned go = NORMALISE_STEP_GO | (glyphs ? NORMALISE_STEP_GLYPH : 0u),
		 st = *strip ? NORMALISE_STEP_STRIP : 0u, pend = *pending, first = 0;
	uint32_t words = 0; /* the step words of what was written, or'ed: their groups */
	size_t i = *pos;
	for (;;) {
		while (i + k <= len) {
			uint32_t v;
			if (k == 2) {
				uint16_t at; /* a lead and a continuation, or a 0 entry */
				memcpy(&at, in + i, sizeof(at));
				v = normalise_fast_pair[at];
			} else if (in[i] == 0xE0) {
				uint16_t at; /* two continuations, or a 0 entry */
				memcpy(&at, in + i + 1, sizeof(at));
				v = normalise_fast_e0[at];
			} else {
				uint32_t w = in[i] | (uint32_t)in[i + 1] << 8 |
					     (uint32_t)in[i + 2] << 16;
				if ((w & 0xC0C0F0u) != 0x8080E0u)
					break; /* not a lead of three and two continuations */
				uint32_t cp =
					(w & 0x0Fu) << 12 | (w & 0x3F00u) >> 2 | (w >> 16 & 0x3Fu);
				if (cp < 0x800)
					break; /* overlong (a surrogate is not inert) */
				v = normalise_step_of(cp);
			}
			unsigned x = v >> st & 0xFFu;
			if ((x & go) != NORMALISE_STEP_GO)
				break; /* not inert, or (GLYPHS) a homoglyph source */
			st = x & NORMALISE_STEP_STRIP;
			first = x & NORMALISE_STEP_FIRST;
			i += k;
			if (x & NORMALISE_STEP_DROP)
				continue;
			if (pend) {
				*dst++ = ' ';
				pend = 0;
			}
			memcpy(dst, in + i - k, k);
			dst += k;
			words |= v;
		}
		/* On through one ASCII space into a word spelled at the same length, as the walk
		 * would go: the space is left pending and strips the marks after it. A space
		 * ends any composition, so the last code point is settled. */
		if (i + 1 + k > len || in[i] != ' ' || dst == start ||
		    !normalise_leads(in[i + 1], k))
			break;
		i++;
		pend = 1;
		st = NORMALISE_STEP_STRIP;
		first = 0;
	}
	if (first && !normalise_ends_composition(in, len, i, glyphs)) {
		/* utf8proc decides what the last one composes with. A space written before it
		 * stays: what utf8proc makes of a letter is never empty. */
		i -= k;
		dst -= k;
	}
	*pos = i;
	*strip = st != 0;
	*pending = pend;
	*scripts |= words >> 16;
	return dst;
}

/* Writes the inert code points from IN[*POS] on, and the ASCII between them, up to the first code
 * point that is neither (or an inert one not spelled as two or three well-formed bytes, or
 * printable ASCII while scratch holds something), and advances *POS past them. Nothing before an
 * inert code point composes or reorders with it or with anything after it, so scratch is flushed
 * before the first one written and they follow. ASCII is written as normalise_ascii_run would,
 * and leaves the strip state as the start of the next Unicode run would. Each code point takes
 * at most as many bytes out as in, and at most one pending space goes before them. Once scratch
 * is empty, words spelled at one length go through normalise_fast_same; the walk here takes the
 * rest one at a time. */
__attribute__((noinline)) static int
normalise_fast_run(struct normalise_ctx *c, const unsigned char *in, size_t len, size_t *pos)
{
	size_t i = *pos, k;
	int32_t cp;
	struct normalise_buf *out = c->out;
	int rc = normalise_reserve(out, out->len + (len - i) + 2);
	if (rc < 0)
		return rc;
	const char *ascii = c->ascii;
	bool glyphs = c->glyphs;
	unsigned strip = c->strip, pending = c->pending_space;
	uint32_t scripts = c->scripts;
	char *start = out->data, *dst = start + out->len;
	while (i < len) {
		unsigned b = in[i];
		if (b < 0x80) {
			char m = ascii[b];
			if (!m) {
				i++; /* a control: dropped, and transparent */
				continue;
			}
			if (c->n)
				break; /* printable ASCII ends what scratch holds */
			i++;
			strip = 1;
			if (m == ' ') {
				pending = 1;
				continue;
			}
			if (pending && dst != start)
				*dst++ = ' ';
			pending = 0;
			*dst++ = m;
			if ((unsigned char)(m - 'a') < 26)
				scripts |= NORMALISE_SCRIPT_LATIN;
			continue;
		}
		if (!c->n) { /* the common case: a loop for each length */
			bool three = normalise_leads(b, 3);
			unsigned pend = pending && dst != start;
			if (three)
				dst = normalise_fast_same(in, len, &i, 3, glyphs, start, dst,
							  &strip, &pend, &scripts);
			else
				dst = normalise_fast_same(in, len, &i, 2, glyphs, start, dst,
							  &strip, &pend, &scripts);
			if (dst != start) /* else nothing was written, and the space stays */
				pending = pend;
			/* Stopped at a code point of its length: one that is not inert as
			 * spelled, or starts compositions before what cannot follow it;
			 * the walk below would stop there too. */
			if (i < len && in[i] >= 0x80 && normalise_leads(in[i], 3) == three)
				break;
			continue;
		}
		uint8_t e = normalise_inert_at(in, len, i, glyphs, &cp, &k);
		if (!e)
			break;
		if (e & NORMALISE_FAST_FIRST) {
			/* No second of a composition is inert, and a starter ends
			 * what can compose with it; an ASCII control would be
			 * skipped, so it does not. */
			size_t j = i + k, k2;
			int32_t cp2;
			if (j < len &&
			    (in[j] < 0x80 ? !normalise_ascii_plain[in[j]] :
					    !normalise_inert_at(in, len, j, glyphs, &cp2, &k2)))
				break;
		}
		unsigned drop = strip & !!(e & NORMALISE_FAST_NS);
		strip = (strip & !!(e & NORMALISE_FAST_HOLD)) | !!(e & NORMALISE_FAST_STRIP);
		if (drop) {
			i += k; /* nothing written, nothing flushed */
			continue;
		}
		if (c->n) {
			out->len = (size_t)(dst - start);
			c->scripts = scripts;
			rc = normalise_flush(c);
			if (!rc)
				rc = normalise_reserve(out, out->len + (len - i) + 2);
			if (rc < 0)
				return rc;
			pending = c->pending_space;
			scripts = c->scripts;
			start = out->data;
			dst = start + out->len;
		}
		if (pending && dst != start)
			*dst++ = ' ';
		pending = 0;
		dst[0] = (char)in[i];
		dst[1] = (char)in[i + 1];
		if (k == 3)
			dst[2] = (char)in[i + 2];
		dst += k;
		i += k;
		scripts |= normalise_block_group[cp >> 7];
	}
	out->len = (size_t)(dst - start);
	c->strip = strip;
	c->pending_space = pending;
	c->scripts = scripts;
	*pos = i;
	return 0;
}

/* Normalises the run at IN[*POS] that starts with a non-ASCII byte and goes
 * on up to the next printable or whitespace ASCII byte. Control characters
 * inside it are dropped without breaking it, so they cannot keep a base
 * from its mark or two Hangul jamo apart. */
static int normalise_unicode_run(struct normalise_ctx *c, const unsigned char *in, size_t len,
				 size_t *pos)
{
	size_t i = *pos;
	c->strip = true; /* after ASCII or at the start: no base keeps marks */
	while (i < len) {
		int32_t cp;
		size_t k = 0;
		int rc;
		if (in[i] < 0x80) {
			if (normalise_ascii_plain[in[i]])
				break;
			i++;
			continue;
		}
		/* Entered at an inert code point only, so that runs of marks and
		 * the ASCII between them pay no call. */
		if (c->fast && normalise_inert_at(in, len, i, c->glyphs, &cp, &k)) {
			size_t before = i;
			rc = normalise_fast_run(c, in, len, &i);
			if (rc < 0)
				return rc;
			if (i != before)
				continue;
		}
		if (!k) /* not decoded yet */
			k = normalise_decode(in + i, len - i, &cp);
		i += k;
		rc = normalise_push(c, cp);
		if (rc < 0)
			return rc;
	}
	*pos = i;
	return normalise_flush(c);
}

static int normalise_run(const struct normalise_opts *o, const char *in, size_t len,
			 struct normalise_buf *out, bool fast)
{
	pthread_once(&normalise_once, normalise_init);
	struct normalise_ctx c = {
		.out = out,
		.ascii = o && o->fold_leet ? normalise_ascii_leet : normalise_ascii_plain,
		.glyphs = o && o->fold_homoglyphs,
		.fast = fast,
	};
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0;
	int rc;
	out->len = 0;
	out->scripts = 0;
	if (len > SIZE_MAX / 4) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = normalise_reserve(out, len + 1);
	if (rc < 0)
		goto fail;
	while (i < len) {
		if (s[i] < 0x80) {
			rc = normalise_reserve(out, out->len + (len - i) + 1);
			if (rc < 0)
				goto fail;
			normalise_ascii_run(&c, s, len, &i);
		} else {
			rc = normalise_unicode_run(&c, s, len, &i);
			if (rc < 0)
				goto fail;
		}
	}
	out->data[out->len] = '\0';
	out->scripts = c.scripts;
	return 0;
fail:
	out->len = 0;
	if (out->data)
		out->data[0] = '\0';
	return rc;
}

int normalise_text(const struct normalise_opts *o, const char *in, size_t len,
		   struct normalise_buf *out)
{
	return normalise_run(o, in, len, out, true);
}

int normalise_text_reference(const struct normalise_opts *o, const char *in, size_t len,
			     struct normalise_buf *out)
{
	return normalise_run(o, in, len, out, false);
}

uint32_t normalise_scripts(const char *text, size_t len)
{
	pthread_once(&normalise_once, normalise_init);
	const unsigned char *s = (const unsigned char *)text;
	uint32_t scripts = 0;
	for (size_t i = 0; i < len;) {
		int32_t cp;
		i += normalise_decode(s + i, len - i, &cp);
		scripts |= normalise_group(cp);
	}
	return scripts;
}

bool normalise_is_word_cp(int32_t cp)
{
	if (cp < 0x80)
		return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
		       (cp >= '0' && cp <= '9') || cp == '_';
	int cat = (int)utf8proc_category(cp);
	return (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_NO) ||
	       cat == UTF8PROC_CATEGORY_PC;
}

bool normalise_is_spaceless_cp(int32_t cp)
{
	if (cp < 0x0E00)
		return false;
	return normalise_in_ranges(cp, normalise_spaceless_blocks,
				   sizeof(normalise_spaceless_blocks) /
					   sizeof(normalise_spaceless_blocks[0]));
}

/* The code point ending just before POS > 0, or U+FFFD if the bytes there
 * are not one well-formed sequence. */
static int32_t normalise_cp_before(const unsigned char *s, size_t pos)
{
	size_t start = pos - 1;
	while (start > 0 && pos - start < 4 && (s[start] & 0xC0) == 0x80)
		start--;
	int32_t cp;
	if (start + normalise_decode(s + start, pos - start, &cp) != pos)
		return NORMALISE_REPLACEMENT;
	return cp;
}

static bool normalise_is_mark(int32_t cp)
{
	return cp >= 0x0300 && normalise_is_mark_cat((int)utf8proc_category(cp));
}

bool normalise_boundary_before(const char *text, size_t from)
{
	const unsigned char *s = (const unsigned char *)text;
	if (from == 0)
		return true;
	int32_t cur = -1, prev = normalise_cp_before(s, from);
	if (s[from]) {
		size_t n = 1;
		while (n < 4 && s[from + n])
			n++;
		normalise_decode(s + from, n, &cur);
		if (normalise_is_mark(cur))
			return false;
	}
	if (!normalise_is_word_cp(prev))
		return true;
	return normalise_is_spaceless_cp(prev) || normalise_is_spaceless_cp(cur);
}

bool normalise_boundary_after(const char *text, size_t len, size_t to)
{
	const unsigned char *s = (const unsigned char *)text;
	if (to >= len)
		return true;
	int32_t cur;
	normalise_decode(s + to, len - to, &cur);
	if (normalise_is_mark(cur))
		return false;
	if (!normalise_is_word_cp(cur))
		return true;
	if (normalise_is_spaceless_cp(cur))
		return true;
	return to > 0 && normalise_is_spaceless_cp(normalise_cp_before(s, to));
}
