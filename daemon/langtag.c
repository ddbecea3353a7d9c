/* BCP 47 language tags: the ranges queues and reviewers name, and which content tags they cover. */
#include "langtag.h"

#include <errno.h>
#include <string.h>

/* ASCII only: a locale must not change what a tag is. */
static bool langtag_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool langtag_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char langtag_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

/* The length of the subtag at S (up to "-" or the end), and what it holds. */
static size_t langtag_subtag(const char *s, bool *letters, bool *digits)
{
	size_t n = 0;
	*letters = *digits = true;
	for (; s[n] && s[n] != '-'; n++) {
		*letters = *letters && langtag_alpha(s[n]);
		*digits = *digits && langtag_digit(s[n]);
	}
	return n;
}

static int langtag_fail(const char **why, size_t *at, const char *text, size_t where)
{
	if (why)
		*why = text;
	if (at)
		*at = where;
	return -EINVAL;
}

int langtag_check_range(const char *s, const char **why, size_t *at)
{
	bool letters, digits;
	size_t off = 0, n = langtag_subtag(s, &letters, &digits);
	if (n < 2 || n > 3 || !letters)
		return langtag_fail(why, at, "the language subtag must be 2 or 3 letters", 0);
	off = n;
	bool script = false, region = false;
	while (s[off] == '-') {
		off++;
		n = langtag_subtag(s + off, &letters, &digits);
		if (!region && !script && n == 4 && letters) {
			script = true;
		} else if (!region && ((n == 2 && letters) || (n == 3 && digits))) {
			region = true;
		} else {
			return langtag_fail(
				why, at,
				region ? "nothing may follow the region subtag" :
				script ? "after the script, only a region: 2 letters or "
					 "3 digits" :
					 "after the language, a script (4 letters) or a "
					 "region (2 letters or 3 digits)",
				off);
		}
		off += n;
	}
	if (s[off])
		return langtag_fail(why, at, "subtags are letters and digits joined by \"-\"", off);
	return 0;
}

bool langtag_indexable(const char *tag)
{
	size_t n = strlen(tag);
	if (n == 0 || n > LANGTAG_TAG_MAX || tag[0] == '-' || tag[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (tag[i] == '-' ? tag[i + 1] == '-' :
				    !langtag_alpha(tag[i]) && !langtag_digit(tag[i]))
			return false;
	}
	return true;
}

int langtag_match(const char *range, const char *tag)
{
	if (!range || !tag || !range[0] || !langtag_indexable(tag))
		return 0;
	size_t i = 0;
	int subtags = 1;
	for (; range[i]; i++) {
		if (langtag_lower(range[i]) != langtag_lower(tag[i]))
			return 0;
		subtags += range[i] == '-';
	}
	return tag[i] == '\0' || tag[i] == '-' ? subtags : 0;
}
