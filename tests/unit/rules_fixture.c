/* What the rules engine's suites share: rule files loaded into a ruleset, events, verdicts. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf, open_memstream */
#endif
#include "rules_fixture.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbjson.h"
#include "unit.h"

/* Writes DIR/arbiter.yaml naming the rule FILES (paths) and, when MODES is
 * not NULL, a rules.modes flow mapping body such as "crisis-ba: on". */
char *write_config(const char *dir, char *const *files, size_t n, const char *modes)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(f);
	fprintf(f, "rules:\n  files:\n");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "    - %s\n", files[i]);
	if (!n)
		fprintf(f, "    []\n");
	if (modes)
		fprintf(f, "  modes: {%s}\n", modes);
	/* Every queue these tests escalate to: rules naming undeclared queues
	 * do not pass the check. */
	fprintf(f, "review:\n  queues: {q: {}, q1: {}, q-shadow: {}, incitement: {}}\n");
	fclose(f);
	char *path = unit_write_file(dir, "arbiter.yaml", text);
	free(text);
	return path;
}

struct config *load_config(const char *path)
{
	struct diag_list errs = {0};
	struct config *cfg = NULL;
	int rc = config_load(path, &cfg, &errs);
	if (rc)
		diag_print(&errs, stderr);
	ck_assert_int_eq(rc, 0);
	diag_clear(&errs);
	return cfg;
}

/* Writes each of TEXTS (NULL-terminated) as rules<i>.yaml into a fresh
 * directory with a config naming them, and loads the config. */
void setup_files(struct loaded *L, const char *const *texts, const char *modes)
{
	memset(L, 0, sizeof(*L));
	L->dir = unit_make_dir();
	for (size_t i = 0; texts[i]; i++) {
		char name[32];
		snprintf(name, sizeof(name), "rules%zu.yaml", i);
		L->files[L->n_files++] = unit_write_file(L->dir, name, texts[i]);
	}
	L->cfg_path = write_config(L->dir, L->files, L->n_files, modes);
	L->cfg = load_config(L->cfg_path);
}

void teardown(struct loaded *L)
{
	rules_ctx_free(L->ctx);
	rules_free(L->rs);
	config_free(L->cfg);
	for (size_t i = 0; i < L->n_files; i++)
		free(L->files[i]);
	free(L->cfg_path);
	free(L->dir);
	memset(L, 0, sizeof(*L));
}

/* Loads the already set-up config; must succeed. */
void compile_ok(struct loaded *L)
{
	struct diag_list errs = {0};
	int rc = rules_load(L->cfg, &L->rs, &errs);
	if (rc)
		diag_print(&errs, stderr);
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(errs.n, 0);
	ck_assert_ptr_nonnull(L->rs);
	diag_clear(&errs);
	L->ctx = rules_ctx_new(L->rs);
	ck_assert_ptr_nonnull(L->ctx);
}

/* One rule file TEXT, loaded and compiled with a context. */
void load_ok(struct loaded *L, const char *text, const char *modes)
{
	const char *texts[] = {text, NULL};
	setup_files(L, texts, modes);
	compile_ok(L);
}

/* Loads TEXTS, which must be rejected: returns the errors in *ERRS. */
void load_fail(struct loaded *L, const char *const *texts, const char *modes,
	       struct diag_list *errs)
{
	setup_files(L, texts, modes);
	struct ruleset *rs = (struct ruleset *)L; /* must be reset to NULL */
	int rc = rules_load(L->cfg, &rs, errs);
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_ptr_null(rs);
	ck_assert_uint_gt(errs->n, 0);
}

/* One rule file TEXT that must be rejected with exactly one error. */
void expect_one_error(const char *text, int line, int col, const char *key, const char *msg)
{
	struct loaded L;
	struct diag_list errs = {0};
	const char *texts[] = {text, NULL};
	load_fail(&L, texts, NULL, &errs);
	if (errs.n != 1)
		diag_print(&errs, stderr);
	ck_assert_uint_eq(errs.n, 1);
	unit_check_error(&errs, 0, L.files[0], line, col, key, msg);
	diag_clear(&errs);
	teardown(&L);
}

/* Decodes JSON written with ' for " (test texts avoid apostrophes). */
Arbiter__V1__ContentEvent *event(const char *json)
{
	char *j = strdup(json);
	ck_assert_ptr_nonnull(j);
	for (char *c = j; *c; c++)
		if (*c == '\'')
			*c = '"';
	ProtobufCMessage *m = NULL;
	char err[256];
	int rc = pbjson_decode_text(&arbiter__v1__content_event__descriptor, j, strlen(j), &m, err,
				    sizeof(err));
	ck_assert_msg(rc == 0, "bad test event %s: %s", j, err);
	free(j);
	return (Arbiter__V1__ContentEvent *)m;
}

void event_free(Arbiter__V1__ContentEvent *ev)
{
	protobuf_c_message_free_unpacked(&ev->base, NULL);
}

const struct rules_verdict *eval_at(struct loaded *L, const char *json, int64_t now)
{
	Arbiter__V1__ContentEvent *ev = event(json);
	const struct rules_verdict *v = rules_eval(L->ctx, ev, now);
	ck_assert_ptr_nonnull(v);
	event_free(ev);
	return v;
}

const struct rules_verdict *eval(struct loaded *L, const char *json)
{
	return eval_at(L, json, AUG1_MS);
}

/* "a,b" of the rule ids at IDX, in verdict order; BUF holds it. */
const char *ids(const struct ruleset *rs, const uint32_t *idx, size_t n, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? "," : "",
				      rules_rule(rs, idx[i])->id);
	return buf;
}

const char *id_of(const struct ruleset *rs, int32_t i)
{
	return i < 0 ? "(none)" : rules_rule(rs, (size_t)i)->id;
}

/* Evaluates JSON and checks the matched rule ids (in rule order). */
void expect_matched(struct loaded *L, const char *json, int64_t now, const char *want)
{
	char buf[1024];
	const struct rules_verdict *v = eval_at(L, json, now);
	ids(L->rs, v->matched, v->n_matched, buf, sizeof(buf));
	ck_assert_msg(!strcmp(buf, want), "event %s: matched [%s], expected [%s]", json, buf, want);
}

/* Builds one label rule per condition (ids c0, c1, …) under LISTS (a YAML
 * "lists:" body, or NULL), evaluates EVENT once and checks each rule
 * matched exactly when its condition should hold. */
void check_conds(const char *lists, const char *json, const struct cond *c, size_t n)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(f);
	if (lists)
		fprintf(f, "lists:\n%s", lists);
	fprintf(f, "rules:\n");
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "  - id: c%zu\n    when: '", i);
		for (const char *s = c[i].when; *s; s++)
			fprintf(f, *s == '\'' ? "''" : "%c", *s);
		fprintf(f, "'\n    action: label\n");
	}
	fclose(f);
	struct loaded L;
	load_ok(&L, text, NULL);
	free(text);
	const struct rules_verdict *v = eval(&L, json);
	for (size_t i = 0; i < n; i++) {
		bool got = false;
		for (size_t k = 0; k < v->n_matched; k++)
			got |= v->matched[k] == i;
		ck_assert_msg(got == c[i].want, "event %s: '%s' is %s, expected %s", json,
			      c[i].when, got ? "true" : "false", c[i].want ? "true" : "false");
	}
	ck_assert_uint_eq(v->n_shadow, 0);
	teardown(&L);
}
