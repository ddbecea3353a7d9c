/* libFuzzer target: the BCP 47 functions on a range and a tag (the input split at its first
 * newline), held to langtag.h: a match means a prefix ending at a subtag boundary, counted in
 * subtags, and a well-formed range matches itself. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz_util.h"
#include "langtag.h"

static int subtags(const char *s)
{
	int n = 1;
	for (; *s; s++)
		n += *s == '-';
	return n;
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
	const uint8_t *nl = memchr(data, '\n', size);
	size_t rlen = nl ? (size_t)(nl - data) : size;
	char *range = strndup((const char *)data, rlen);
	char *tag = nl ? strndup((const char *)nl + 1, size - rlen - 1) : strdup("");
	if (!range || !tag)
		abort();
	const char *why = NULL;
	size_t at = SIZE_MAX;
	int ok = langtag_check_range(range, &why, &at);
	if (ok != 0 && (!why || at > strlen(range)))
		abort(); /* a refusal says why, and where within the range */
	if (ok == 0 && subtags(range) > LANGTAG_RANGE_SUBTAGS)
		abort();
	bool indexable = langtag_indexable(tag);
	int m = langtag_match(range, tag);
	if (m < 0 || (m > 0 && !indexable))
		abort();
	if (m > 0) {
		size_t n = strlen(range);
		if (strncasecmp(range, tag, n) || (tag[n] && tag[n] != '-') || m != subtags(range))
			abort(); /* a match is a prefix ending where a subtag ends */
	}
	if (ok == 0 && langtag_indexable(range) && langtag_match(range, range) != subtags(range))
		abort(); /* a well-formed range covers itself */
	free(range);
	free(tag);
	return 0;
}
