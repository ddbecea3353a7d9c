/* Language range / tag cases shared by the langtag unit suite and the claim script's end-to-end
 * test, so that the C matcher and its Lua mirror are held to the same answers. */
#pragma once

struct langtag_case {
	const char *range, *tag;
	int want; /* langtag_match: subtags of RANGE when it covers TAG, else 0 */
};

static const struct langtag_case langtag_cases[] = {
	{"sw", "sw", 1},
	{"sw", "sw-KE", 1},
	{"sw", "SW-tz", 1},
	{"SW", "sw-KE", 1},
	{"sw", "swh", 0}, /* a prefix of the text, not of the subtags */
	{"sw", "en", 0},
	{"sw", "", 0},
	{"sw-KE", "sw", 0}, /* a range never covers a shorter tag */
	{"sw-KE", "sw-KE", 2},
	{"sw-ke", "SW-KE", 2},
	{"sw-KE", "sw-TZ", 0},
	{"sr-Latn", "sr-Latn", 2},
	{"sr-Latn", "sr-Latn-RS", 2},
	{"sr-Latn", "sr-latn-rs", 2},
	{"sr-Latn", "sr-Cyrl", 0},
	{"sr-Latn", "sr", 0},
	{"sr", "sr-Cyrl-BA", 1},
	{"sr-RS", "sr-Latn-RS", 0}, /* basic filtering: no skipping of the script */
	{"sr-Latn-RS", "sr-Latn-RS", 3},
	{"sr-Latn-RS", "sr-Latn-RS-x-town", 3},
	{"bs", "bs-Latn", 1},
	{"bs", "bs-Cyrl", 1},
	{"pt-BR", "pt-br", 2},
	{"zh", "zh-Hant-TW", 1},
	{"zh-Hant", "zh-Hant-TW", 2},
	{"zh-Hans", "zh-Hant-TW", 0},
	{"es-419", "es-419", 2},
	{"es", "es-419", 1},
};
