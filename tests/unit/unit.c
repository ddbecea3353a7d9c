/* Shared helpers of the unit suites: a scratch directory per run, files in it, and the runner. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include "unit.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char unit_dir[] = "/tmp/arbiter-unit.XXXXXX";

const char *unit_tmpdir(void)
{
	return unit_dir;
}

char *unit_write_file(const char *dir, const char *name, const char *text)
{
	char *path = NULL;
	int fd;
	if (!dir)
		dir = unit_dir;
	if (name) {
		ck_assert_int_ge(asprintf(&path, "%s/%s", dir, name), 0);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	} else {
		ck_assert_int_ge(asprintf(&path, "%s/file.XXXXXX", dir), 0);
		fd = mkstemp(path);
	}
	ck_assert_msg(fd >= 0, "cannot write %s", path);
	size_t len = strlen(text);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

char *unit_make_dir(void)
{
	char *dir = NULL;
	ck_assert_int_ge(asprintf(&dir, "%s/dir.XXXXXX", unit_dir), 0);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	return dir;
}

void unit_remove_file(char *path)
{
	ck_assert_int_eq(unlink(path), 0);
	free(path);
}

void unit_check_error(const struct diag_list *errs, size_t i, const char *file, int line,
		      int col, const char *key, const char *msg)
{
	if (errs->n <= i)
		diag_print(errs, stderr);
	ck_assert_msg(errs->n > i, "expected error #%zu, got %zu errors", i, errs->n);
	const struct diag *e = &errs->v[i];
	ck_assert_msg(strstr(e->msg, msg), "error #%zu \"%s\" lacks \"%s\"", i, e->msg, msg);
	ck_assert_msg(e->line == line && e->col == col, "error #%zu \"%s\" at %d:%d, not %d:%d", i,
		      e->msg, e->line, e->col, line, col);
	if (key)
		ck_assert_msg(e->key && !strcmp(e->key, key), "error #%zu \"%s\": key %s, not %s",
			      i, e->msg, e->key ? e->key : "(null)", key);
	else
		ck_assert_ptr_null(e->key);
	if (file)
		ck_assert_str_eq(e->file, file);
}

static int unit_remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int unit_run(Suite *s)
{
	if (!mkdtemp(unit_dir)) {
		perror("mkdtemp");
		return EXIT_FAILURE;
	}
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (nftw(unit_dir, unit_remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
		fprintf(stderr, "could not remove %s\n", unit_dir);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
