/* What the libFuzzer targets share: a scratch directory per process, files in it, and quiet
 * logs. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf, nftw */
#endif
#include "fuzz_util.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static char fuzz_dir[4096];
static int fuzz_made;

static int fuzz_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void fuzz_cleanup(void)
{
	if (fuzz_made)
		nftw(fuzz_dir, fuzz_rm, 16, FTW_DEPTH | FTW_PHYS);
}

const char *fuzz_setup(void)
{
	if (fuzz_made)
		return fuzz_dir;
	log_set_level(LOG_ERROR);
	/* Under $TMPDIR, which scripts/fuzz points at its scratch directory: a process that a
	 * sanitizer ends skips atexit, and leaves this behind there. */
	const char *tmp = getenv("TMPDIR");
	snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/arbiter-fuzz.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(fuzz_dir)) {
		perror("fuzz: mkdtemp");
		abort();
	}
	fuzz_made = 1;
	atexit(fuzz_cleanup);
	return fuzz_dir;
}

void fuzz_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0) {
		perror(path);
		abort();
	}
}

char *fuzz_path(const char *dir, const char *name)
{
	char *p = NULL;
	if (asprintf(&p, "%s/%s", dir, name) < 0)
		abort();
	return p;
}
