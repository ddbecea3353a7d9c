/* What the libFuzzer targets share: a scratch directory per process, files in it, the source
 * tree's sample config, and quiet logs. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifndef FUZZ_SRCDIR
#error "meson defines FUZZ_SRCDIR, the project's source root"
#endif

/* Logs at error level only, and a scratch directory made once (removed at exit). Returns the
 * directory's path; aborts when it cannot be made (a harness failure, not a finding). */
const char *fuzz_setup(void);

/* Writes the LEN bytes at DATA to PATH, replacing it; aborts on failure. */
void fuzz_write_file(const char *path, const void *data, size_t len);

/* A malloc'd copy of "DIR/NAME"; aborts when out of memory. */
char *fuzz_path(const char *dir, const char *name);
