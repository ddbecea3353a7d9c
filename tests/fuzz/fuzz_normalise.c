/* libFuzzer target: text normalisation on arbitrary bytes, held to what normalise.h promises:
 * the fast path gives the reference's bytes, the result is idempotent, well-formed UTF-8
 * without NUL, controls or stray spaces, and its script groups are normalise_scripts' own.
 * The first byte picks the folds; the rest is the text. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "normalise.h"
#include "pbjson.h"

static struct normalise_buf fast, ref, again;

static void fail(const char *what, const uint8_t *in, size_t len)
{
	fprintf(stderr, "normalise: %s (input of %zu bytes; fast \"%s\", reference \"%s\")\n", what,
		len, fast.data ? fast.data : "", ref.data ? ref.data : "");
	(void)in;
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_setup();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct normalise_opts o = {.fold_leet = data[0] & 1, .fold_homoglyphs = data[0] & 2};
	const char *in = (const char *)data + 1;
	size_t len = size - 1;
	if (normalise_text(&o, in, len, &fast) != 0 ||
	    normalise_text_reference(&o, in, len, &ref) != 0)
		return 0; /* out of memory */
	if (fast.len != ref.len || memcmp(fast.data, ref.data, fast.len))
		fail("fast path and reference differ", data, size);
	if (fast.data[fast.len] != '\0' || memchr(fast.data, '\0', fast.len))
		fail("NUL inside, or no NUL after", data, size);
	if (!pbjson_utf8_valid(fast.data, fast.len))
		fail("not well-formed UTF-8", data, size);
	if (fast.len && (fast.data[0] == ' ' || fast.data[fast.len - 1] == ' '))
		fail("leading or trailing space", data, size);
	for (size_t i = 0; i < fast.len; i++) {
		unsigned char c = (unsigned char)fast.data[i];
		bool c1 = c == 0xC2 && (unsigned char)fast.data[i + 1] >= 0x80 &&
			  (unsigned char)fast.data[i + 1] <= 0x9F; /* U+0080..U+009F */
		if (c < 0x20 || c == 0x7f || c1 || (c == ' ' && fast.data[i + 1] == ' '))
			fail("a control character or a run of spaces", data, size);
	}
	if (fast.scripts != normalise_scripts(fast.data, fast.len))
		fail("scripts differ from normalise_scripts", data, size);
	if (normalise_text(&o, fast.data, fast.len, &again) == 0 &&
	    (again.len != fast.len || memcmp(again.data, fast.data, fast.len)))
		fail("not idempotent", data, size);
	/* Word boundaries at every offset of the input read as text (any bytes: read safely). */
	char *text = malloc(len + 1);
	if (text) {
		memcpy(text, in, len);
		text[len] = '\0';
		size_t n = strlen(text);
		for (size_t i = 0; i <= n && i < 256; i++) {
			(void)normalise_boundary_before(text, i);
			(void)normalise_boundary_after(text, n, i);
		}
		free(text);
	}
	return 0;
}
