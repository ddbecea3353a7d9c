/* Normalisation of text for matching (NFKC casefold, marks, folds) and word boundaries. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Rule terms and event text go through the same normalise_text with the same
 * options, so a term matches however the text spells it. The steps, in order:
 *
 * 1. Decoding. Invalid UTF-8 becomes U+FFFD, one per maximal ill-formed
 *    subsequence (Unicode's recommended practice); encoded surrogates and
 *    overlong forms are ill-formed.
 * 2. NFKC with full case folding (utf8proc STABLE|COMPAT|CASEFOLD|IGNORE):
 *    fullwidth "ＡＢＣ" -> "abc", "ß" and "ẞ" -> "ss", ligatures and math
 *    letters -> their letters. Default-ignorable code points vanish without a
 *    trace, so they cannot split a word: ZWSP U+200B, ZWNJ U+200C, ZWJ
 *    U+200D, U+2060, soft hyphen U+00AD, BOM U+FEFF, bidi controls, variation
 *    selectors, Hangul fillers. There is no Turkish special casing: "İ"
 *    folds to "i" + U+0307 whose dot step 3 drops, so "İ" and "I" both give
 *    "i"; dotless "ı" stays "ı" (see fold_homoglyphs). Thai SARA AM U+0E33
 *    becomes U+0E4D U+0E32 as NFKC says, in terms as in text.
 * 3. Marks. A nonspacing or enclosing mark (Mn, Me) is dropped when its base
 *    (the last code point before it that is not a mark) is a Latin, Greek,
 *    Cyrillic, Hebrew or Arabic letter, or is not a letter at all (digit,
 *    space, punctuation, symbol, U+FFFD, start of text). So "é" and "e" +
 *    U+0301 -> "e", "č ć š ž" -> "c c s z", "й" -> "и", "ё" -> "е", Arabic
 *    harakat, hamza and madda go ("أ" -> "ا"), Hebrew niqqud goes, Greek
 *    iota subscript U+0345 goes although case folding would make it "ι"
 *    ("ᾳ" -> "α"), and "zalgo" stacks go. Letters that do not decompose
 *    stay: "đ", "ł", "ø". After a letter of any other script marks are
 *    kept, because there they are spelling: Devanagari and other Indic
 *    matras, virama, nukta, anusvara, Thai and Lao vowels and tone marks,
 *    Armenian, Syriac, Thaana, etc. Spacing marks (Mc) are always kept.
 *    Control characters (Cc) other than whitespace, and the Arabic tatweel
 *    U+0640 (a pure elongation), are dropped in this step too; like
 *    ignorables they are transparent: a mark after them still belongs to
 *    the base before them.
 *    The result is recomposed (canonical order, then NFC composition).
 * 4. Whitespace. Every run of White_Space (space, \t \n \v \f \r, U+0085,
 *    NBSP, U+1680, U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000)
 *    becomes one ASCII space; leading and trailing space is trimmed.
 * 5. Optional folds, applied to every code point NFKC produced (so fullwidth
 *    "４" folds like "4"):
 *    - fold_leet: 0->o 1->i 3->e 4->a 5->s 7->t @->a $->s. It folds the
 *      digits of ordinary numbers too ("2024" -> "2o2a"); that is fine
 *      because terms are folded the same way.
 *    - fold_homoglyphs: letters that look like a Latin letter (in lower or
 *      upper case, as spoofers use both) become it:
 *        Cyrillic а->a в->b е->e і->i ј->j к->k м->m н->h о->o р->p с->c
 *          т->t у->y х->x ѕ->s һ->h ӏ->l ү->y ԁ->d ԛ->q ԝ->w
 *        Greek α->a β->b γ->y ε->e η->h ι->i κ->k μ->m ν->v ο->o ρ->p
 *          τ->t υ->y χ->x ω->w ζ->z ϳ->j
 *        Armenian հ->h ո->n ս->u օ->o;  Latin ı->i ɑ->a ɡ->g ɩ->i
 *      Marks on them are then dropped like on any Latin letter ("ї" -> "i").
 *      Letters without a lookalike stay, so Cyrillic text becomes mixed.
 *
 * The result is idempotent: normalise_text of its own output returns the
 * same bytes. It never contains NUL, control characters, ignorables, or
 * whitespace other than single ASCII spaces between non-space characters.
 *
 * Speed: runs of printable ASCII and ASCII whitespace are lowercased and
 * collapsed by a table walk without utf8proc; only non-ASCII runs are
 * decoded. A mark after an ASCII character is always dropped (step 3), so an
 * ASCII character never needs to take part in composition and the split is
 * exact. In non-ASCII runs, a BMP code point that maps to itself and cannot
 * compose or reorder with its neighbours (most letters of most scripts, and
 * the vowel signs of Indic ones) is written at once from a table that is
 * built from utf8proc on first use; the rest goes through utf8proc.
 * normalise_text_reference skips that table, and the unit tests check that
 * both give the same bytes for every BMP code point in context. The table is
 * built once under pthread_once and then only read: calls on distinct
 * buffers are safe from any number of threads. */

/* Script groups: what normalise_scripts reports, one bit each. A group is
 * decided by a code point's 128-code-point block (ASCII: letters are Latin,
 * the rest no group), so it is coarse but fixed: a literal found in a text
 * has all its groups among the text's, which is what lets the rules engine
 * skip terms whose groups the text lacks. */
enum normalise_script {
	NORMALISE_SCRIPT_SYMBOL = 1u << 0, /* non-ASCII punctuation, symbols, emoji */
	NORMALISE_SCRIPT_LATIN = 1u << 1,
	NORMALISE_SCRIPT_OTHER = 1u << 2, /* combining marks, and scripts not below */
	NORMALISE_SCRIPT_GREEK = 1u << 3,
	NORMALISE_SCRIPT_CYRILLIC = 1u << 4,
	NORMALISE_SCRIPT_HEBREW = 1u << 5,
	NORMALISE_SCRIPT_ARABIC = 1u << 6,
	NORMALISE_SCRIPT_DEVANAGARI = 1u << 7,
	NORMALISE_SCRIPT_INDIC = 1u << 8,   /* Bengali to Sinhala */
	NORMALISE_SCRIPT_THAI = 1u << 9,    /* and Lao */
	NORMALISE_SCRIPT_SEASIA = 1u << 10, /* Tibetan, Myanmar, Khmer, Tai scripts */
	NORMALISE_SCRIPT_HANGUL = 1u << 11,
	NORMALISE_SCRIPT_KANA = 1u << 12, /* and CJK punctuation, Bopomofo */
	NORMALISE_SCRIPT_HAN = 1u << 13,
};

struct normalise_opts {
	bool fold_leet;
	bool fold_homoglyphs;
};

/* Reusable output buffer. Zero-initialise it ({0}); normalise_text grows it
 * as needed and keeps the memory for the next call; free it with
 * normalise_buf_free. */
struct normalise_buf {
	char *data;         /* NUL-terminated output; NULL before first use */
	size_t len;         /* bytes before the NUL */
	size_t cap;         /* bytes allocated for data */
	uint32_t scripts;   /* normalise_scripts of data, by normalise_text */
	int32_t *scratch;   /* private: decomposed code points between flushes */
	size_t scratch_cap; /* private: entries allocated for scratch */
};

/* Frees the buffer's memory and leaves it zeroed (reusable). NULL is a no-op. */
void normalise_buf_free(struct normalise_buf *b);

/* Writes the normalised form of the LEN bytes at IN into OUT, replacing its
 * contents; OUT->data is NUL-terminated. O may be NULL for no folds; IN may
 * be NULL when LEN is 0. Never fails on bad input. Returns 0, or -ENOMEM
 * with OUT left empty (still valid to reuse or free). */
int normalise_text(const struct normalise_opts *o, const char *in, size_t len,
		   struct normalise_buf *out);

/* normalise_text without the table of inert code points: every non-ASCII
 * code point goes through utf8proc. Same contract and same output; slower.
 * It is the definition the fast path is tested against. */
int normalise_text_reference(const struct normalise_opts *o, const char *in, size_t len,
			     struct normalise_buf *out);

/* The NORMALISE_SCRIPT_* groups of the code points in the LEN bytes at TEXT
 * (ill-formed bytes count as U+FFFD). For normalise_text output it equals
 * the buffer's scripts. */
uint32_t normalise_scripts(const char *text, size_t len);

/* Word-boundary tests for a literal match at [FROM, TO) of normalised text
 * (normalise_text output: valid UTF-8, no NUL inside; anything else is read
 * safely, ill-formed bytes counting as U+FFFD). The match's edge is bounded
 * when, in this order:
 *   - FROM is the start of the text, or TO its end: yes;
 *   - the code point just after the edge is a mark: no, a match must not cut
 *     a letter off its matra, vowel sign or tone mark;
 *   - the code point outside the match is not a word character: yes;
 *   - the code point on either side is in a script written without spaces
 *     (normalise_is_spaceless_cp): yes, there any position between two
 *     letters may be a word boundary;
 *   - otherwise: no. */

/* Boundary at the start FROM of a match. TEXT must be NUL-terminated
 * (normalise_buf data is) and FROM at most its length. */
bool normalise_boundary_before(const char *text, size_t from);

/* Boundary at the end TO of a match within the LEN bytes of TEXT; TO at most
 * LEN. */
bool normalise_boundary_after(const char *text, size_t len, size_t to);

/* Word characters: letters, marks, numbers and connector punctuation
 * (general categories L*, M*, N*, Pc). */
bool normalise_is_word_cp(int32_t cp);

/* Code points of scripts written without spaces between words: Han (with
 * radicals, compatibility ideographs and iteration marks such as 々),
 * Hiragana, Katakana, Bopomofo, Yi, Tangut and Khitan, Thai, Lao, Khmer,
 * Myanmar, Tibetan (its tsheg separates syllables, not words), Tai Le, New
 * Tai Lue, Tai Tham, Tai Viet. Hangul is not among them: Korean puts spaces
 * between words. */
bool normalise_is_spaceless_cp(int32_t cp);
