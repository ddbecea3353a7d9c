/* Unit tests for the rules engine (rules_load.c, rules_eval.c, rules_test.c): every operator, every
 * compile error, matching, modes, verdicts, reload. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf, open_memstream */
#endif
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "dsa.h"
#include "normalise.h"
#include "pbjson.h"
#include "rules.h"
#include "unit.h"

/* 2027-08-01T00:00Z, 2027-08-01T06:30Z and 2027-08-20T00:00Z in UTC milliseconds. */
#define AUG1_MS 1817078400000LL
#define AUG1_0630_MS 1817101800000LL
#define AUG20_MS 1818720000000LL
#define DAY_MS 86400000LL

/* 64 hex digits each, for media hash lists. */
#define SHA_A "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12"
#define SHA_A_UP "AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12AB12"
#define PDQ_B "cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34"
#define PDQ_B_UP "CD34CD34CD34CD34CD34CD34CD34CD34CD34CD34CD34CD34CD34CD34CD34CD34"
#define SHA_OTHER "0000000000000000000000000000000000000000000000000000000000000001"

/* Writes DIR/arbiter.yaml naming the rule FILES (paths) and, when MODES is
 * not NULL, a rules.modes flow mapping body such as "crisis-ba: on". */
static char *write_config(const char *dir, char *const *files, size_t n, const char *modes)
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

/* A config and the ruleset it loads, with one evaluation context. */
struct loaded {
	char *dir;
	char *cfg_path;
	char *files[4];
	size_t n_files;
	struct config *cfg;
	struct ruleset *rs;
	struct rules_ctx *ctx;
};

static struct config *load_config(const char *path)
{
	struct config_errors errs = {0};
	struct config *cfg = NULL;
	int rc = config_load(path, &cfg, &errs);
	if (rc)
		config_errors_print(&errs, stderr);
	ck_assert_int_eq(rc, 0);
	config_errors_clear(&errs);
	return cfg;
}

/* Writes each of TEXTS (NULL-terminated) as rules<i>.yaml into a fresh
 * directory with a config naming them, and loads the config. */
static void setup_files(struct loaded *L, const char *const *texts, const char *modes)
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

static void teardown(struct loaded *L)
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
static void compile_ok(struct loaded *L)
{
	struct config_errors errs = {0};
	int rc = rules_load(L->cfg, &L->rs, &errs);
	if (rc)
		config_errors_print(&errs, stderr);
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(errs.n, 0);
	ck_assert_ptr_nonnull(L->rs);
	config_errors_clear(&errs);
	L->ctx = rules_ctx_new(L->rs);
	ck_assert_ptr_nonnull(L->ctx);
}

/* One rule file TEXT, loaded and compiled with a context. */
static void load_ok(struct loaded *L, const char *text, const char *modes)
{
	const char *texts[] = {text, NULL};
	setup_files(L, texts, modes);
	compile_ok(L);
}

/* Loads TEXTS, which must be rejected: returns the errors in *ERRS. */
static void load_fail(struct loaded *L, const char *const *texts, const char *modes,
		      struct config_errors *errs)
{
	setup_files(L, texts, modes);
	struct ruleset *rs = (struct ruleset *)L; /* must be reset to NULL */
	int rc = rules_load(L->cfg, &rs, errs);
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_ptr_null(rs);
	ck_assert_uint_gt(errs->n, 0);
}

static void check_error(const struct config_errors *errs, size_t i, const char *file, int line,
			int col, const char *key, const char *msg)
{
	if (errs->n <= i)
		config_errors_print(errs, stderr);
	ck_assert_msg(errs->n > i, "expected error #%zu, got %zu errors", i, errs->n);
	const struct config_error *e = &errs->v[i];
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

/* One rule file TEXT that must be rejected with exactly one error. */
static void expect_one_error(const char *text, int line, int col, const char *key, const char *msg)
{
	struct loaded L;
	struct config_errors errs = {0};
	const char *texts[] = {text, NULL};
	load_fail(&L, texts, NULL, &errs);
	if (errs.n != 1)
		config_errors_print(&errs, stderr);
	ck_assert_uint_eq(errs.n, 1);
	check_error(&errs, 0, L.files[0], line, col, key, msg);
	config_errors_clear(&errs);
	teardown(&L);
}

/* ---- events and verdicts ---- */

/* Decodes JSON written with ' for " (test texts avoid apostrophes). */
static Arbiter__V1__ContentEvent *event(const char *json)
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

static void event_free(Arbiter__V1__ContentEvent *ev)
{
	protobuf_c_message_free_unpacked(&ev->base, NULL);
}

static const struct rules_verdict *eval_at(struct loaded *L, const char *json, int64_t now)
{
	Arbiter__V1__ContentEvent *ev = event(json);
	const struct rules_verdict *v = rules_eval(L->ctx, ev, now);
	ck_assert_ptr_nonnull(v);
	event_free(ev);
	return v;
}

static const struct rules_verdict *eval(struct loaded *L, const char *json)
{
	return eval_at(L, json, AUG1_MS);
}

/* "a,b" of the rule ids at IDX, in verdict order; BUF holds it. */
static const char *ids(const struct ruleset *rs, const uint32_t *idx, size_t n, char *buf,
		       size_t len)
{
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? "," : "",
				      rules_rule(rs, idx[i])->id);
	return buf;
}

static const char *id_of(const struct ruleset *rs, int32_t i)
{
	return i < 0 ? "(none)" : rules_rule(rs, (size_t)i)->id;
}

/* Evaluates JSON and checks the matched rule ids (in rule order). */
static void expect_matched(struct loaded *L, const char *json, int64_t now, const char *want)
{
	char buf[1024];
	const struct rules_verdict *v = eval_at(L, json, now);
	ids(L->rs, v->matched, v->n_matched, buf, sizeof(buf));
	ck_assert_msg(!strcmp(buf, want), "event %s: matched [%s], expected [%s]", json, buf, want);
}

/* One condition and whether it holds. */
struct cond {
	const char *when;
	bool want;
};

/* Builds one label rule per condition (ids c0, c1, …) under LISTS (a YAML
 * "lists:" body, or NULL), evaluates EVENT once and checks each rule
 * matched exactly when its condition should hold. */
static void check_conds(const char *lists, const char *json, const struct cond *c, size_t n)
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

#define CONDS(lists, json, ...)                                                                    \
	do {                                                                                       \
		static const struct cond c_[] = {__VA_ARGS__};                                     \
		check_conds(lists, json, c_, sizeof(c_) / sizeof(c_[0]));                          \
	} while (0)

/* ===== operators on every field ===== */

START_TEST(text_equality_is_exact)
{
	CONDS(NULL, "{'text':'Hello World'}", {"text == \"Hello World\"", true},
	      {"text == \"hello world\"", false}, {"text == Hello", false},
	      {"text != \"Hello World\"", false}, {"text != \"x\"", true},
	      {"text in [\"a\", \"Hello World\"]", true}, {"text in [\"hello world\"]", false});
	CONDS(NULL, "{}", {"text == \"\"", true}, {"text != x", true}, {"text == x", false});
}
END_TEST

START_TEST(lang_matches_by_primary_subtag)
{
	CONDS(NULL, "{'lang':'sw-KE'}", {"lang == sw", true}, {"lang == SW", true},
	      {"lang == \"sw\"", true}, {"lang == sw-KE", true}, {"lang == sw-ke", true},
	      {"lang == s", false}, {"lang == sw-TZ", false}, {"lang == en", false},
	      {"lang != sw", false}, {"lang != en", true}, {"lang != sw-TZ", true},
	      {"lang in [en, sw]", true}, {"lang in [en, fr]", false},
	      {"lang in [en, sw-KE]", true});
	CONDS(NULL, "{'lang':'sw'}", {"lang == sw", true}, {"lang == sw-KE", false},
	      {"lang == swa", false}, {"lang in [sw-KE, sw-TZ]", false}, {"lang != sw-KE", true});
	CONDS(NULL, "{'lang':'swa'}", {"lang == sw", false}, {"lang == swa", true});
	CONDS(NULL, "{}", {"lang == sw", false}, {"lang != sw", true}, {"lang in [sw]", false});
}
END_TEST

START_TEST(country_is_case_insensitive)
{
	CONDS(NULL, "{'country':'ke'}", {"country == KE", true}, {"country == ke", true},
	      {"country == Ke", true}, {"country == TZ", false}, {"country != KE", false},
	      {"country != TZ", true}, {"country in [TZ, KE]", true},
	      {"country in [TZ, UG]", false});
	CONDS(NULL, "{'country':'KE'}", {"country == ke", true}, {"country in [ke]", true});
}
END_TEST

START_TEST(surface_and_content_type_by_enum_name)
{
	CONDS(NULL, "{'surface':'COMMENT','content_type':'IMAGE'}", {"surface == comment", true},
	      {"surface == COMMENT", true}, {"surface == Comment", true},
	      {"surface == post", false}, {"surface != post", true}, {"surface != comment", false},
	      {"surface in [post, comment]", true}, {"surface in [post, ad]", false},
	      {"content_type == image", true}, {"content_type == IMAGE", true},
	      {"content_type == \"Image\"", true}, {"content_type == video", false},
	      {"content_type != text", true}, {"content_type in [video, image]", true},
	      {"content_type in [video, audio]", false});
	/* Unset enums equal no name. */
	CONDS(NULL, "{}", {"surface == post", false}, {"surface != post", true},
	      {"content_type in [text, image]", false});
}
END_TEST

START_TEST(author_id_is_exact)
{
	CONDS(NULL, "{'author_id':'u-123'}", {"author_id == u-123", true},
	      {"author_id == \"u-123\"", true}, {"author_id == U-123", false},
	      {"author_id == u-12", false}, {"author_id != u-123", false},
	      {"author_id != u-124", true}, {"author_id in [a, u-123]", true},
	      {"author_id in [a, b]", false});
}
END_TEST

START_TEST(reach_and_report_count)
{
	CONDS(NULL, "{'reach':10000,'report_count':3}", {"reach >= 10000", true},
	      {"reach > 10000", false}, {"reach == 10000", true}, {"reach != 10000", false},
	      {"reach != 9999", true}, {"reach < 10001", true}, {"reach < 10000", false},
	      {"reach <= 10000", true}, {"reach <= 9999", false}, {"reach > 9999.5", true},
	      {"reach in [1, 10000]", true}, {"reach in [1, 2]", false}, {"report_count > 2", true},
	      {"report_count >= 4", false}, {"report_count == 3", true},
	      {"report_count != 3", false}, {"report_count < 3", false},
	      {"report_count <= 3", true}, {"report_count in [3, 4]", true},
	      {"report_count in [4]", false});
	/* Absent numbers are zero, unlike signals. */
	CONDS(NULL, "{}", {"reach == 0", true}, {"reach > 0", false}, {"report_count < 1", true});
}
END_TEST

START_TEST(created_at_against_dates)
{
	CONDS(NULL, "{'created_at_ms':1817101800000}", {"created_at >= 2027-08-01", true},
	      {"created_at < 2027-08-01", false}, {"created_at < 2027-08-01T06:30Z", false},
	      {"created_at <= 2027-08-01T06:30Z", true}, {"created_at > 2027-08-01T06:30Z", false},
	      {"created_at == 2027-08-01T06:30Z", true}, {"created_at != 2027-08-01T06:30Z", false},
	      {"created_at != 2027-08-01", true}, {"created_at < 2027-08-02", true},
	      {"created_at >= 1817101800000", true}, {"created_at > 1817101800000", false},
	      {"created_at in [2027-08-01, 2027-08-01T06:30Z]", true},
	      {"created_at in [2027-08-01]", false});
	/* Without created_at_ms no comparison holds. */
	CONDS(NULL, "{}", {"created_at < 2027-08-01", false}, {"created_at >= 2027-08-01", false},
	      {"created_at != 2027-08-01", false}, {"not created_at >= 2027-08-01", true});
}
END_TEST

START_TEST(signals_and_missing_signals)
{
	CONDS(NULL, "{'signals':{'hate':0.5,'spam':0.25}}", {"signal.hate >= 0.5", true},
	      {"signal.hate > 0.5", false}, {"signal.hate == 0.5", true},
	      {"signal.hate != 0.5", false}, {"signal.hate != 0.25", true},
	      {"signal.hate < 0.75", true}, {"signal.hate < 0.5", false},
	      {"signal.hate <= 0.5", true}, {"signal.hate <= 0.25", false},
	      {"signal.spam in [0.25, 1]", true}, {"signal.spam in [0.5, 1]", false},
	      {"signal.missing > 0.1", false}, {"signal.missing < 0.1", false},
	      {"signal.missing == 0", false}, {"signal.missing != 0.5", false},
	      {"signal.missing >= -1", false}, {"signal.missing in [0]", false},
	      {"not signal.missing > 0.1", true});
}
END_TEST

/* Signals are floats: a score written 0.7 must meet a threshold written 0.7. */
START_TEST(signal_thresholds_hold_at_their_float_value)
{
	CONDS(NULL, "{'signals':{'hate':0.7,'x':0.3}}", {"signal.hate >= 0.7", true},
	      {"signal.hate == 0.7", true}, {"signal.hate <= 0.7", true},
	      {"signal.hate > 0.7", false}, {"signal.hate < 0.7", false},
	      {"signal.hate != 0.7", false}, {"signal.x in [0.1, 0.3]", true});
}
END_TEST

START_TEST(attrs)
{
	CONDS(NULL, "{'attrs':{'channel':'news','empty':''}}", {"attr.channel == news", true},
	      {"attr.channel == News", false}, {"attr.channel != news", false},
	      {"attr.channel != sport", true}, {"attr.channel in [sport, news]", true},
	      {"attr.channel in [sport]", false}, {"attr.missing == news", false},
	      {"attr.missing in [news]", false}, {"attr.empty == \"\"", true},
	      /* A missing attribute compares as the empty string (docs/rules.md). */
	      {"attr.missing != \"true\"", true}, {"attr.missing == \"\"", true});
}
END_TEST

START_TEST(in_named_list)
{
	const char *lists = "  langs: [sw, en]\n"
			    "  authors: [U-1, u-2]\n"
			    "  channels: [News]\n"
			    "  surfaces: [comment, ad]\n"
			    "  types: [image]\n";
	CONDS(lists,
	      "{'lang':'SW','author_id':'u-1','attrs':{'channel':'NEWS'},'surface':'COMMENT',"
	      "'content_type':'VIDEO','country':'KE'}",
	      {"lang in langs", true}, {"author_id in authors", true},
	      {"attr.channel in channels", true}, {"surface in surfaces", true},
	      {"content_type in types", false}, {"country in langs", false},
	      {"attr.missing in channels", false}, {"not content_type in types", true});
	CONDS(lists, "{'lang':'fr','author_id':'u-3','content_type':'IMAGE'}",
	      {"lang in langs", false}, {"author_id in authors", false},
	      {"content_type in types", true}, {"surface in surfaces", false});
	/* lang in LIST compares primary subtags like lang == and lang in [..]. */
	CONDS("  langs: [sw, en]\n  regional: [sw-KE]\n", "{'lang':'sw-KE'}",
	      {"lang in langs", true}, {"lang in regional", true}, {"lang in [sw, en]", true});
	CONDS("  langs: [sw, en]\n  regional: [sw-KE]\n", "{'lang':'sw'}", {"lang in langs", true},
	      {"lang in regional", false});
	CONDS("  langs: [sw, en]\n  regional: [sw-KE]\n", "{'lang':'swa-KE'}",
	      {"lang in langs", false}, {"lang in regional", false});
	/* Only lang: an attribute with a dash is compared whole. */
	CONDS("  langs: [sw]\n", "{'attrs':{'k':'sw-KE'}}", {"attr.k in langs", false});
	/* An empty value is never in a list. */
	CONDS("  empties: [x]\n", "{'author_id':'','attrs':{'k':''}}",
	      {"author_id in empties", false}, {"attr.k in empties", false});
}
END_TEST

START_TEST(contains_any_and_not)
{
	const char *lists = "  bad: [hate, \"kill them\"]\n"
			    "  other: [spam]\n";
	CONDS(lists, "{'text':'I HATE this'}", {"text contains_any bad", true},
	      {"text contains_any other", false}, {"not text contains_any other", true},
	      {"not text contains_any bad", false},
	      {"text contains_any bad and text contains_any other", false},
	      {"text contains_any bad or text contains_any other", true});
	CONDS(lists, "{}", {"text contains_any bad", false}, {"not text contains_any bad", true});
}
END_TEST

START_TEST(matches_runs_on_normalised_text)
{
	CONDS(NULL, "{'text':'Buy CHEAP   pills\\nat x.com/123'}",
	      {"text matches /cheap pills/", true}, {"text matches \"cheap pills at\"", true},
	      {"text matches /CHEAP/", false}, {"text matches /CHEAP/i", true},
	      {"text matches /x\\.com\\/\\d+/", true},
	      {"text matches \"x\\\\.com/\\\\d{4}\"", false}, {"text matches /^buy/", true},
	      {"text matches /^cheap/", false}, {"text matches /123$/", true},
	      {"text matches /buy.*123/s", true}, {"text matches /^buy/m", true},
	      {"text matches /pills$/m", false}, {"text matches \"\\d{3}$\"", true},
	      {"text matches \"\\d{4}\"", false}, {"not text matches /viagra/", true});
	/* Accents are stripped before the regex sees the text. */
	CONDS(NULL, "{'text':'VOCÊ GANHOU, PARABÉNS'}", {"text matches /voce ganhou/", true},
	      {"text matches /parabéns/", false}, {"text matches /parabens$/", true});
}
END_TEST

START_TEST(any_media_in_sha256_and_pdq)
{
	const char *lists = "  known: {kind: hashes, terms: [" SHA_A_UP ", " PDQ_B "]}\n";
	CONDS(lists, "{'media':[{'sha256':'" SHA_OTHER "'},{'sha256':'" SHA_A "'}]}",
	      {"media any_media_in known", true}, {"not media any_media_in known", false});
	CONDS(lists, "{'media':[{'kind':'IMAGE','pdq':'" PDQ_B_UP "'}]}",
	      {"media any_media_in known", true});
	CONDS(lists, "{'media':[{'sha256':'" SHA_OTHER "','pdq':'" SHA_OTHER "'}]}",
	      {"media any_media_in known", false});
	CONDS(lists, "{'text':'" SHA_A "'}", {"media any_media_in known", false});
}
END_TEST

START_TEST(boolean_combinations)
{
	CONDS(NULL, "{'lang':'sw','reach':50}", {"true", true}, {"false", false},
	      {"lang == sw and reach > 10", true}, {"lang == sw and reach > 100", false},
	      {"lang == en or reach > 10", true}, {"lang == en or reach > 100", false},
	      {"not lang == en", true}, {"not (lang == sw and reach > 10)", false},
	      {"lang == en or lang == sw and reach > 10", true},
	      {"(lang == en or lang == sw) and reach > 100", false},
	      {"not lang == sw or reach == 50", true}, {"not not lang == sw", true});
}
END_TEST

/* ===== normalisation and word boundaries ===== */

static const char *const boundary_rules =
	"lists:\n"
	"  latin: [hate, \"kill   them\", café, ćevapi, straße]\n"
	"  cao: [cao]\n"
	"  dak: [dak]\n"
	"  cyr: [мир]\n"
	"  ar: [كلب]\n"
	"  deva: [मार]\n"
	"  zh: [中国]\n"
	"  ja: [殺す]\n"
	"  th: [ฆ่า]\n"
	"  th1: [ฆ]\n"
	"  ko: [바보]\n"
	"rules:\n"
	"  - {id: latin, when: text contains_any latin, action: label}\n"
	"  - {id: cao, when: text contains_any cao, action: label}\n"
	"  - {id: dak, when: text contains_any dak, action: label}\n"
	"  - {id: cyr, when: text contains_any cyr, action: label}\n"
	"  - {id: ar, when: text contains_any ar, action: label}\n"
	"  - {id: deva, when: text contains_any deva, action: label}\n"
	"  - {id: zh, when: text contains_any zh, action: label}\n"
	"  - {id: ja, when: text contains_any ja, action: label}\n"
	"  - {id: th, when: text contains_any th, action: label}\n"
	"  - {id: th1, when: text contains_any th1, action: label}\n"
	"  - {id: ko, when: text contains_any ko, action: label}\n";

/* TEXT (plain UTF-8, no quotes) must fire exactly the rules WANT. */
static void expect_hits(struct loaded *L, const char *text, const char *want)
{
	json_t *j = json_pack("{s:s}", "text", text);
	char *s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	ProtobufCMessage *m = NULL;
	char err[256];
	ck_assert_int_eq(pbjson_decode_text(&arbiter__v1__content_event__descriptor, s, strlen(s),
					    &m, err, sizeof(err)),
			 0);
	free(s);
	const struct rules_verdict *v = rules_eval(L->ctx, (Arbiter__V1__ContentEvent *)m, 0);
	ck_assert_ptr_nonnull(v);
	char buf[512];
	ids(L->rs, v->matched, v->n_matched, buf, sizeof(buf));
	ck_assert_msg(!strcmp(buf, want), "\"%s\" fired [%s], expected [%s]", text, buf, want);
	protobuf_c_message_free_unpacked(m, NULL);
}

START_TEST(latin_word_boundaries)
{
	struct loaded L;
	load_ok(&L, boundary_rules, NULL);
	expect_hits(&L, "whatever", "");
	expect_hits(&L, "hater", "");
	expect_hits(&L, "chate", "");
	expect_hits(&L, "hate_speech", "");
	expect_hits(&L, "hate2", "");
	expect_hits(&L, "I hate it", "latin");
	expect_hits(&L, "hate", "latin");
	expect_hits(&L, "(hate).", "latin");
	expect_hits(&L, "whatever, hate!", "latin");
	expect_hits(&L, "I-hate-it", "latin");
	/* A phrase matches across any run of whitespace, but only whole. */
	expect_hits(&L, "KILL them", "latin");
	expect_hits(&L, "kill\n\n\tthem all", "latin");
	expect_hits(&L, "kill\u00A0them", "latin");
	expect_hits(&L, "killthem", "");
	expect_hits(&L, "skill them", "");
	expect_hits(&L, "kill themselves", "");
	teardown(&L);
}
END_TEST

START_TEST(case_fullwidth_and_ignorables)
{
	struct loaded L;
	load_ok(&L, boundary_rules, NULL);
	expect_hits(&L, "HaTe", "latin");
	expect_hits(&L, "ＨＡＴＥ", "latin");
	expect_hits(&L, "ha\u200Dte", "latin");
	expect_hits(&L, "h\u200Ba\u200Ct\u2060e", "latin");
	expect_hits(&L, "ha\u00ADte", "latin");
	expect_hits(&L, "\uFEFFhate\u200D", "latin");
	expect_hits(&L, "STRASSE", "latin");
	expect_hits(&L, "Straße", "latin");
	expect_hits(&L, "ki\u200Dll them", "latin");
	/* Fullwidth letters do not make a word boundary disappear either. */
	expect_hits(&L, "ｗｈａｔｅｖｅｒ", "");
	teardown(&L);
}
END_TEST

START_TEST(diacritics_fold_both_ways)
{
	struct loaded L;
	load_ok(&L, boundary_rules, NULL);
	/* Marks on Latin letters go, in terms and in text alike. */
	expect_hits(&L, "ćao", "cao");
	expect_hits(&L, "ČAO", "cao");
	expect_hits(&L, "c\u0301ao", "cao");
	expect_hits(&L, "cao", "cao");
	expect_hits(&L, "cevapi", "latin");
	expect_hits(&L, "ĆEVAPI", "latin");
	expect_hits(&L, "CAFE", "latin");
	expect_hits(&L, "cafe\u0301", "latin");
	/* Letters that do not decompose stay themselves. */
	expect_hits(&L, "đak", "");
	expect_hits(&L, "dak", "dak");
	teardown(&L);
}
END_TEST

START_TEST(cyrillic_word_boundaries)
{
	struct loaded L;
	load_ok(&L, boundary_rules, NULL);
	expect_hits(&L, "мировой", "");
	expect_hits(&L, "примир", "");
	expect_hits(&L, "за мир!", "cyr");
	expect_hits(&L, "МИР", "cyr");
	expect_hits(&L, "«мир»", "cyr");
	teardown(&L);
}
END_TEST

START_TEST(arabic_word_boundaries)
{
	struct loaded L;
	load_ok(&L, boundary_rules, NULL);
	expect_hits(&L, "كلب كبير", "ar");
	expect_hits(&L, "هذا كلب.", "ar");
	/* Harakat are dropped: a vowelled spelling matches. */
	expect_hits(&L, "كَلْبٌ", "ar");
	expect_hits(&L, "الكلب", "");
	expect_hits(&L, "كلبي", "");
	teardown(&L);
}
END_TEST

START_TEST(devanagari_word_boundaries)
{
	struct loaded L;
	load_ok(&L, boundary_rules, NULL);
	expect_hits(&L, "उसे मार दो", "deva");
	expect_hits(&L, "मार", "deva");
	expect_hits(&L, "मार।", "deva");
	/* Followed by a vowel sign (matra) or another letter: another word. */
	expect_hits(&L, "मारो", "");
	expect_hits(&L, "मारना", "");
	expect_hits(&L, "समार", "");
	teardown(&L);
}
END_TEST

START_TEST(cjk_and_thai_match_as_substrings)
{
	struct loaded L;
	load_ok(&L, boundary_rules, NULL);
	expect_hits(&L, "我爱中国人民", "zh");
	expect_hits(&L, "中国", "zh");
	expect_hits(&L, "在中国abc", "zh");
	expect_hits(&L, "あいつを殺すぞ", "ja");
	expect_hits(&L, "จะฆ่าเขา", "th");
	/* A Thai consonant without its tone mark and vowel is not the term ฆ่า,
	 * and term ฆ must not cut ฆ off its tone mark. */
	expect_hits(&L, "ฆ เขา", "th1");
	/* Korean is written with spaces: no substring matching. */
	expect_hits(&L, "바보야", "");
	expect_hits(&L, "바보 야", "ko");
	teardown(&L);
}
END_TEST

/* Syllables of several script groups, with symbols and digits, for random terms and texts. */
static const char *const script_syl[] = {
	"ka", "ri", "so", "ра", "ко", "ми", "का", "री", "सो", "سا", "لم",  "กา",
	"ข่",  "中", "国", "αβ", "γα", "한", "글", "€",  "12", "‰",  "so€",
};

/* One pseudo-word of 1-3 syllables into OUT (appended). */
static void script_word(char *out, size_t len, unsigned *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	int n = 1 + (int)((*seed >> 16) % 3);
	for (int i = 0; i < n; i++) {
		*seed = *seed * 1103515245u + 12345u;
		strncat(out, script_syl[(*seed >> 16) % (sizeof(script_syl) / sizeof(*script_syl))],
			len - strlen(out) - 1);
	}
}

/* Whether normalised TERM occurs in normalised TEXT on word boundaries: the definition the
 * engine's scan must give. */
static bool naive_hit(const char *text, const char *term)
{
	size_t tl = strlen(term), len = strlen(text);
	for (const char *p = strstr(text, term); p; p = strstr(p + 1, term)) {
		size_t from = (size_t)(p - text);
		if (normalise_boundary_before(text, from) &&
		    normalise_boundary_after(text, len, from + tl))
			return true;
	}
	return false;
}

/* Terms in one script, in several, or in none (symbols, digits) are found exactly where a naive
 * search finds them, whichever scripts the text has: the per-script databases skip nothing. */
START_TEST(terms_found_whatever_their_scripts)
{
	enum { N_TERMS = 60, N_TEXTS = 3000 };
	char terms[N_TERMS][64];
	unsigned seed = 777;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(f);
	fprintf(f, "lists:\n");
	for (int t = 0; t < N_TERMS; t++) {
		terms[t][0] = '\0';
		script_word(terms[t], sizeof(terms[t]), &seed);
		if (t % 4 == 0) { /* a phrase */
			strcat(terms[t], " ");
			script_word(terms[t], sizeof(terms[t]), &seed);
		}
		fprintf(f, "  l%d: [\"%s\"]\n", t, terms[t]);
	}
	fprintf(f, "rules:\n");
	for (int t = 0; t < N_TERMS; t++)
		fprintf(f, "  - {id: r%d, when: text contains_any l%d, action: label}\n", t, t);
	fclose(f);
	struct loaded L;
	load_ok(&L, text, NULL);
	free(text);
	struct normalise_buf nt = {0}, nterm = {0};
	int hits = 0;
	for (int i = 0; i < N_TEXTS; i++) {
		char body[512] = "";
		seed = seed * 1103515245u + 12345u;
		int words = 1 + (int)((seed >> 16) % 8);
		for (int w = 0; w < words; w++) {
			seed = seed * 1103515245u + 12345u;
			if ((seed >> 16) % 5 == 0)
				strncat(body, terms[(seed >> 8) % N_TERMS],
					sizeof(body) - strlen(body) - 1);
			else
				script_word(body, sizeof(body), &seed);
			seed = seed * 1103515245u + 12345u;
			strncat(body, (seed >> 16) % 3 ? " " : "", sizeof(body) - strlen(body) - 1);
		}
		ck_assert_int_eq(normalise_text(NULL, body, strlen(body), &nt), 0);
		char want[1024] = "";
		size_t o = 0;
		for (int t = 0; t < N_TERMS; t++) {
			ck_assert_int_eq(normalise_text(NULL, terms[t], strlen(terms[t]), &nterm),
					 0);
			if (naive_hit(nt.data, nterm.data))
				o += (size_t)snprintf(want + o, sizeof(want) - o, "%sr%d",
						      o ? "," : "", t);
		}
		hits += o > 0;
		expect_hits(&L, body, want);
	}
	ck_assert_int_gt(hits, N_TEXTS / 4);
	normalise_buf_free(&nt);
	normalise_buf_free(&nterm);
	teardown(&L);
}
END_TEST

START_TEST(optional_folds)
{
	const char *rules = "lists:\n"
			    "  bad: [hate, h4te]\n"
			    "rules:\n"
			    "  - {id: bad, when: text contains_any bad, action: label}\n";
	char *folded = NULL;
	ck_assert_int_ge(asprintf(&folded, "normalise: {fold: [leet, homoglyphs]}\n%s", rules), 0);
	struct loaded L;
	load_ok(&L, rules, NULL);
	expect_hits(&L, "h4t3", "");
	expect_hits(&L, "h4te", "bad");
	expect_hits(&L, "\u04bb\u0430t\u0435", ""); /* Cyrillic һ а е */
	teardown(&L);
	load_ok(&L, folded, NULL);
	expect_hits(&L, "h4t3", "bad");
	expect_hits(&L, "H@T3", "bad");
	expect_hits(&L, "\u04bb\u0430t\u0435", "bad");
	expect_hits(&L, "\u0397\u0391\u03a4\u0395", "bad"); /* Greek capitals */
	expect_hits(&L, "wh4tever", "");
	teardown(&L);
	free(folded);
}
END_TEST

/* ===== modes ===== */

static const char *const mode_rules =
	"modes:\n"
	"  election-ke: {countries: [KE], from: 2027-08-01, until: 2027-08-20}\n"
	"  crisis-ba: {countries: [ba], enabled: false}\n"
	"  later: {from: 2027-08-01T06:30Z}\n"
	"  dormant: {enabled: false}\n"
	"  on-by-default: {enabled: true, description: switched off by ops}\n"
	"rules:\n"
	"  - {id: election, modes: [election-ke], when: 'true', action: label}\n"
	"  - {id: crisis, modes: [crisis-ba], when: 'true', action: label}\n"
	"  - {id: either, modes: [crisis-ba, election-ke], when: 'true', action: label}\n"
	"  - {id: later, modes: [later], when: 'true', action: label}\n"
	"  - {id: dormant, modes: [dormant], when: 'true', action: label}\n"
	"  - {id: default, modes: [on-by-default], when: 'true', action: label}\n"
	"  - {id: always, modes: [], when: 'true', action: label}\n";

START_TEST(modes_by_date_window)
{
	struct loaded L;
	load_ok(&L, mode_rules, NULL);
	const char *ke = "{'country':'KE'}";
	expect_matched(&L, ke, AUG1_MS - 1, "default,always");
	expect_matched(&L, ke, AUG1_MS, "election,either,default,always");
	expect_matched(&L, ke, AUG1_0630_MS - 1, "election,either,default,always");
	expect_matched(&L, ke, AUG1_0630_MS, "election,either,later,default,always");
	expect_matched(&L, ke, AUG20_MS - 1, "election,either,later,default,always");
	/* until is exclusive. */
	expect_matched(&L, ke, AUG20_MS, "later,default,always");
	/* The verdict names the active modes in declaration order. */
	const struct rules_verdict *v = eval_at(&L, ke, AUG1_0630_MS);
	ck_assert_uint_eq(v->n_modes, 3);
	ck_assert_str_eq(v->modes[0], "election-ke");
	ck_assert_str_eq(v->modes[1], "later");
	ck_assert_str_eq(v->modes[2], "on-by-default");
	teardown(&L);
}
END_TEST

START_TEST(modes_by_country)
{
	struct loaded L;
	load_ok(&L, mode_rules, NULL);
	int64_t in = AUG1_MS + 3 * DAY_MS;
	expect_matched(&L, "{'country':'ke'}", in, "election,either,later,default,always");
	expect_matched(&L, "{'country':'TZ'}", in, "later,default,always");
	expect_matched(&L, "{}", in, "later,default,always");
	/* crisis-ba is declared but disabled. */
	expect_matched(&L, "{'country':'BA'}", in, "later,default,always");
	teardown(&L);
}
END_TEST

START_TEST(created_at_is_used_over_now)
{
	struct loaded L;
	load_ok(&L, mode_rules, NULL);
	/* Created inside the window, evaluated long after. */
	expect_matched(&L, "{'country':'KE','created_at_ms':1817337600000}", AUG20_MS + 30 * DAY_MS,
		       "election,either,later,default,always");
	/* Created before it, evaluated inside it. */
	expect_matched(&L, "{'country':'KE','created_at_ms':1816992000000}", AUG1_MS + DAY_MS,
		       "default,always");
	teardown(&L);
}
END_TEST

START_TEST(config_switches_modes)
{
	struct loaded L;
	load_ok(&L, mode_rules, "crisis-ba: on, election-ke: off, dormant: on, on-by-default: off");
	int64_t in = AUG1_MS + 3 * DAY_MS;
	expect_matched(&L, "{'country':'BA'}", in, "crisis,either,later,dormant,always");
	expect_matched(&L, "{'country':'KE'}", in, "later,dormant,always");
	teardown(&L);
	/* true/false spellings work too. */
	load_ok(&L, mode_rules, "crisis-ba: true");
	expect_matched(&L, "{'country':'BA'}", AUG1_MS - 1, "crisis,either,default,always");
	teardown(&L);
}
END_TEST

START_TEST(rules_expose_their_modes)
{
	struct loaded L;
	load_ok(&L, mode_rules, NULL);
	ck_assert_uint_eq(rules_count(L.rs), 7);
	const struct rules_rule *r = rules_rule(L.rs, 2);
	ck_assert_str_eq(r->id, "either");
	ck_assert_str_eq(r->modes[0], "crisis-ba");
	ck_assert_str_eq(r->modes[1], "election-ke");
	ck_assert_ptr_null(r->modes[2]);
	r = rules_rule(L.rs, 6);
	ck_assert(!r->modes || !r->modes[0]);
	teardown(&L);
}
END_TEST

/* ===== verdicts ===== */

START_TEST(shadow_rules_are_counted_never_acted_on)
{
	struct loaded L;
	load_ok(&L,
		"lists: {bad: [bad]}\n"
		"rules:\n"
		"  - id: live\n"
		"    when: signal.hate >= 0.5\n"
		"    action: label\n"
		"  - id: shadow.remove\n"
		"    shadow: true\n"
		"    when: signal.hate >= 0.5\n"
		"    action: terminate_account\n"
		"    escalate: {queue: q-shadow, band: urgent}\n"
		"  - id: shadow.only\n"
		"    shadow: true\n"
		"    when: text contains_any bad\n"
		"  - id: shadow.off\n"
		"    shadow: false\n"
		"    when: reach > 5\n"
		"    action: demote\n",
		NULL);
	char buf[256];
	const struct rules_verdict *v = eval(&L, "{'text':'bad','signals':{'hate':0.9}}");
	ck_assert_str_eq(ids(L.rs, v->matched, v->n_matched, buf, sizeof(buf)), "live");
	ck_assert_str_eq(ids(L.rs, v->shadow, v->n_shadow, buf, sizeof(buf)),
			 "shadow.remove,shadow.only");
	ck_assert_int_eq(v->action, ARBITER__V1__ACTION__LABEL);
	ck_assert_str_eq(id_of(L.rs, v->action_rule), "live");
	ck_assert_uint_eq(v->n_escalations, 0);
	/* Only shadow rules hold: nothing happens. */
	v = eval(&L, "{'text':'bad'}");
	ck_assert_uint_eq(v->n_matched, 0);
	ck_assert_str_eq(ids(L.rs, v->shadow, v->n_shadow, buf, sizeof(buf)), "shadow.only");
	ck_assert_int_eq(v->action, ARBITER__V1__ACTION__NONE);
	ck_assert_int_eq(v->action_rule, -1);
	ck_assert_uint_eq(v->n_escalations, 0);
	/* shadow: false is an ordinary rule. */
	v = eval(&L, "{'reach':10}");
	ck_assert_str_eq(ids(L.rs, v->matched, v->n_matched, buf, sizeof(buf)), "shadow.off");
	ck_assert_uint_eq(v->n_shadow, 0);
	ck_assert_int_eq(v->action, ARBITER__V1__ACTION__DEMOTE);
	ck_assert(rules_rule(L.rs, 1)->shadow);
	ck_assert(!rules_rule(L.rs, 3)->shadow);
	teardown(&L);
}
END_TEST

static const Arbiter__V1__Action by_severity[] = {
	ARBITER__V1__ACTION__NONE,
	ARBITER__V1__ACTION__LABEL,
	ARBITER__V1__ACTION__DEMOTE,
	ARBITER__V1__ACTION__AGE_RESTRICT,
	ARBITER__V1__ACTION__DEMONETIZE,
	ARBITER__V1__ACTION__GEO_BLOCK,
	ARBITER__V1__ACTION__REMOVE,
	ARBITER__V1__ACTION__SUSPEND_ACCOUNT,
	ARBITER__V1__ACTION__TERMINATE_ACCOUNT,
};
static const char *const by_severity_names[] = {
	"none",      "label",  "demote",          "age_restrict",      "demonetize",
	"geo_block", "remove", "suspend_account", "terminate_account",
};
#define N_ACTIONS (sizeof(by_severity) / sizeof(by_severity[0]))

START_TEST(action_severity_order)
{
	for (size_t i = 1; i < N_ACTIONS; i++)
		ck_assert_int_gt(rules_action_severity(by_severity[i]),
				 rules_action_severity(by_severity[i - 1]));
	ck_assert_int_lt(rules_action_severity(ARBITER__V1__ACTION__RESTORE),
			 rules_action_severity(ARBITER__V1__ACTION__NONE));
	ck_assert_int_lt(rules_action_severity(ARBITER__V1__ACTION__ACTION_UNSPECIFIED),
			 rules_action_severity(ARBITER__V1__ACTION__NONE));
}
END_TEST

/* One rule per action, in a shuffled order, each switched on by its own
 * signal; every pair must resolve to the more severe one. */
START_TEST(most_severe_action_wins)
{
	static const size_t order[] = {4, 1, 8, 0, 6, 2, 7, 3, 5};
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	fprintf(f, "rules:\n");
	for (size_t k = 0; k < N_ACTIONS; k++) {
		const char *a = by_severity_names[order[k]];
		fprintf(f, "  - {id: r.%s, when: signal.%s > 0, action: %s%s}\n", a, a, a,
			order[k] == 0 ? ", escalate: {queue: q}" : "");
	}
	fclose(f);
	struct loaded L;
	load_ok(&L, text, NULL);
	free(text);
	for (size_t i = 0; i < N_ACTIONS; i++) {
		for (size_t j = i; j < N_ACTIONS; j++) {
			char json[256], want[64];
			if (i == j)
				snprintf(json, sizeof(json), "{'signals':{'%s':1}}",
					 by_severity_names[i]);
			else
				snprintf(json, sizeof(json), "{'signals':{'%s':1,'%s':1}}",
					 by_severity_names[i], by_severity_names[j]);
			const struct rules_verdict *v = eval(&L, json);
			ck_assert_uint_eq(v->n_matched, i == j ? 1 : 2);
			ck_assert_msg(v->action == by_severity[j], "%s: action %d, expected %s",
				      json, v->action, by_severity_names[j]);
			if (j == 0) {
				ck_assert_int_eq(v->action_rule, -1);
			} else {
				snprintf(want, sizeof(want), "r.%s", by_severity_names[j]);
				ck_assert_str_eq(id_of(L.rs, v->action_rule), want);
			}
		}
	}
	/* All at once. */
	const struct rules_verdict *v = eval(
		&L, "{'signals':{'none':1,'label':1,'demote':1,'age_restrict':1,'demonetize':1,"
		    "'geo_block':1,'remove':1,'suspend_account':1,'terminate_account':1}}");
	ck_assert_uint_eq(v->n_matched, N_ACTIONS);
	ck_assert_int_eq(v->action, ARBITER__V1__ACTION__TERMINATE_ACCOUNT);
	ck_assert_str_eq(id_of(L.rs, v->action_rule), "r.terminate_account");
	/* Nothing matched. */
	v = eval(&L, "{}");
	ck_assert_uint_eq(v->n_matched, 0);
	ck_assert_int_eq(v->action, ARBITER__V1__ACTION__NONE);
	ck_assert_int_eq(v->action_rule, -1);
	teardown(&L);
}
END_TEST

START_TEST(equal_severity_keeps_the_first_rule)
{
	struct loaded L;
	load_ok(&L,
		"rules:\n"
		"  - {id: a, when: signal.a > 0, action: label}\n"
		"  - {id: b, when: signal.b > 0, action: remove}\n"
		"  - {id: c, when: signal.c > 0, action: remove}\n",
		NULL);
	const struct rules_verdict *v = eval(&L, "{'signals':{'a':1,'b':1,'c':1}}");
	ck_assert_int_eq(v->action, ARBITER__V1__ACTION__REMOVE);
	ck_assert_str_eq(id_of(L.rs, v->action_rule), "b");
	v = eval(&L, "{'signals':{'a':1,'c':1}}");
	ck_assert_str_eq(id_of(L.rs, v->action_rule), "c");
	teardown(&L);
}
END_TEST

START_TEST(escalations_merge_per_queue)
{
	struct loaded L;
	load_ok(&L,
		"rules:\n"
		"  - {id: e1, when: signal.e1 > 0, action: label,"
		" escalate: {queue: q1, band: normal, sla: 4h}}\n"
		"  - {id: e2, when: signal.e2 > 0, action: label,"
		" escalate: {queue: q1, band: urgent, sla: 8h, monitors: true}}\n"
		"  - {id: e3, when: signal.e3 > 0, escalate: {queue: q1, band: high, sla: 30m}}\n"
		"  - {id: e4, when: signal.e4 > 0, escalate: {queue: q2}}\n"
		"  - {id: e5, when: signal.e5 > 0, action: demote,"
		" escalate: {queue: q2, band: low, sla: 2d, monitors: false}}\n",
		NULL);
	const struct rules_verdict *v =
		eval(&L, "{'signals':{'e1':1,'e2':1,'e3':1,'e4':1,'e5':1}}");
	ck_assert_uint_eq(v->n_matched, 5);
	ck_assert_uint_eq(v->n_escalations, 2);
	const struct rules_verdict_escalation *q1 = &v->escalations[0], *q2 = &v->escalations[1];
	ck_assert_str_eq(q1->esc.queue, "q1");
	ck_assert_int_eq(q1->esc.band, ARBITER__V1__BAND__URGENT);
	ck_assert_uint_eq(q1->esc.sla_s, 1800);
	ck_assert(q1->esc.monitors);
	ck_assert_str_eq(id_of(L.rs, (int32_t)q1->first_rule), "e1");
	/* Defaults: band normal, SLA 24h, no monitors; merged with low/2d. */
	ck_assert_str_eq(q2->esc.queue, "q2");
	ck_assert_int_eq(q2->esc.band, ARBITER__V1__BAND__NORMAL);
	ck_assert_uint_eq(q2->esc.sla_s, 86400);
	ck_assert(!q2->esc.monitors);
	ck_assert_str_eq(id_of(L.rs, (int32_t)q2->first_rule), "e4");
	ck_assert_int_eq(v->action, ARBITER__V1__ACTION__DEMOTE);

	v = eval(&L, "{'signals':{'e3':1,'e1':1}}");
	ck_assert_uint_eq(v->n_escalations, 1);
	ck_assert_int_eq(v->escalations[0].esc.band, ARBITER__V1__BAND__HIGH);
	ck_assert_uint_eq(v->escalations[0].esc.sla_s, 1800);
	ck_assert(!v->escalations[0].esc.monitors);
	ck_assert_str_eq(id_of(L.rs, (int32_t)v->escalations[0].first_rule), "e1");

	/* Only an escalating rule: matched, escalated, no action. */
	v = eval(&L, "{'signals':{'e3':1}}");
	ck_assert_uint_eq(v->n_matched, 1);
	ck_assert_int_eq(v->action, ARBITER__V1__ACTION__NONE);
	ck_assert_int_eq(v->action_rule, -1);
	ck_assert_uint_eq(v->n_escalations, 1);
	ck_assert_str_eq(id_of(L.rs, (int32_t)v->escalations[0].first_rule), "e3");

	v = eval(&L, "{'signals':{'e5':1,'e4':1}}");
	ck_assert_uint_eq(v->n_escalations, 1);
	ck_assert_int_eq(v->escalations[0].esc.band, ARBITER__V1__BAND__NORMAL);
	ck_assert_uint_eq(v->escalations[0].esc.sla_s, 86400);
	teardown(&L);
}
END_TEST

START_TEST(rules_without_a_text_trigger_are_always_evaluated)
{
	struct loaded L;
	load_ok(&L,
		"lists: {a: [alpha], b: [beta]}\n"
		"rules:\n"
		"  - {id: or_signal, when: text contains_any a or signal.x > 0.5, action: label}\n"
		"  - {id: not_a, when: not text contains_any a, action: label}\n"
		"  - {id: a_and_signal, when: text contains_any a and signal.x > 0.5, action: label}\n"
		"  - {id: a_or_b, when: text contains_any a or text matches /beta/, action: label}\n"
		"  - {id: reach, when: reach > 10, action: label}\n"
		"  - {id: not_re, when: not text matches /gamma/, action: label}\n",
		NULL);
	expect_matched(&L, "{'text':'nothing here','signals':{'x':0.9}}", 0,
		       "or_signal,not_a,not_re");
	expect_matched(&L, "{'text':'alpha','signals':{'x':0.1}}", 0, "or_signal,a_or_b,not_re");
	expect_matched(&L, "{'text':'alpha','signals':{'x':0.9}}", 0,
		       "or_signal,a_and_signal,a_or_b,not_re");
	expect_matched(&L, "{'signals':{'x':0.9}}", 0, "or_signal,not_a,not_re");
	expect_matched(&L, "{'reach':11,'text':'beta gamma'}", 0, "not_a,a_or_b,reach");
	expect_matched(&L, "{'text':'gamma'}", 0, "not_a");
	teardown(&L);
}
END_TEST

/* Rules that spell one condition share its evaluation; conditions that differ in any operand,
 * operator, field name, literal or list stay apart. */
START_TEST(rules_sharing_a_condition)
{
	struct loaded L;
	load_ok(&L,
		"lists: {a: [alpha], b: [beta]}\n"
		"modes: {off: {enabled: false}}\n"
		"rules:\n"
		"  - {id: r1, when: reach > 10, action: label}\n"
		"  - {id: r2, when: reach > 10, action: remove}\n"
		"  - {id: r3, when: reach > 10, modes: [off], action: remove}\n"
		"  - {id: r4, when: reach >= 10, action: label}\n"
		"  - {id: r5, when: reach > 11, action: label}\n"
		"  - {id: x, when: signal.x > 0.5, action: label}\n"
		"  - {id: y, when: signal.y > 0.5, action: label}\n"
		"  - {id: sw, when: lang == \"sw\", action: label}\n"
		"  - {id: sw_bs, when: 'lang in [\"sw\", \"bs\"]', action: label}\n"
		"  - {id: bs, when: 'lang in [\"bs\"]', action: label}\n"
		"  - {id: ca, when: text contains_any a, action: label}\n"
		"  - {id: cb, when: text contains_any b, action: label}\n"
		"  - {id: and, when: reach > 10 and report_count > 1, action: label}\n"
		"  - {id: or, when: reach > 10 or report_count > 1, action: label}\n"
		"  - {id: not, when: not reach > 10, action: label}\n"
		"  - {id: r1_again, when: reach > 10, action: label}\n",
		NULL);
	expect_matched(&L, "{'reach':11}", 0, "r1,r2,r4,or,r1_again");
	expect_matched(&L, "{'reach':10}", 0, "r4,not");
	expect_matched(&L, "{'reach':12,'report_count':2}", 0, "r1,r2,r4,r5,and,or,r1_again");
	expect_matched(&L, "{'signals':{'y':0.9},'report_count':2}", 0, "y,or,not");
	expect_matched(&L, "{'lang':'bs','text':'beta'}", 0, "sw_bs,bs,cb,not");
	expect_matched(&L, "{'lang':'sw','text':'alpha beta'}", 0, "sw,sw_bs,ca,cb,not");
	teardown(&L);
}
END_TEST

START_TEST(evidence_names_lists_and_regexes)
{
	struct loaded L;
	load_ok(&L,
		"lists: {a: [alpha], b: [beta], c: [gamma, alpha]}\n"
		"rules:\n"
		"  - {id: r1, when: text contains_any a and reach > 100, action: label}\n"
		"  - {id: r2, when: text matches /be+ta/, action: label}\n"
		"  - {id: r3, when: text contains_any c or text contains_any a, action: label}\n",
		NULL);
	/* A term in two lists fires both. */
	const struct rules_verdict *v = eval(&L, "{'text':'alpha beeeta'}");
	ck_assert_uint_eq(v->n_evidence, 3);
	bool la = false, lc = false, re = false;
	for (size_t i = 0; i < v->n_evidence; i++) {
		la |= !strcmp(v->evidence[i], "list:a");
		lc |= !strcmp(v->evidence[i], "list:c");
		re |= !strcmp(v->evidence[i], "regex:/be+ta/");
	}
	ck_assert(la && lc && re);
	char buf[64];
	ck_assert_str_eq(ids(L.rs, v->matched, v->n_matched, buf, sizeof(buf)), "r2,r3");
	v = eval(&L, "{'text':'nothing'}");
	ck_assert_uint_eq(v->n_evidence, 0);
	teardown(&L);
}
END_TEST

START_TEST(verdict_json_fields)
{
	struct loaded L;
	load_ok(&L,
		"lists: {bad: [bad]}\n"
		"modes: {m: {}}\n"
		"rules:\n"
		"  - id: r.remove\n"
		"    modes: [m]\n"
		"    when: text contains_any bad\n"
		"    action: remove\n"
		"    escalate: {queue: incitement, band: urgent, sla: 1h, monitors: true}\n"
		"  - {id: r.label, when: reach > 5, action: label}\n"
		"  - {id: r.shadow, shadow: true, when: reach > 5, action: remove}\n",
		NULL);
	Arbiter__V1__ContentEvent *ev =
		event("{'event_id':'e-1','content_id':'c-1','text':'so bad','reach':10}");
	const struct rules_verdict *v = rules_eval(L.ctx, ev, 0);
	json_t *j = rules_verdict_json(L.rs, ev, v);
	ck_assert_ptr_nonnull(j);
	char *got = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	char *want = NULL;
	ck_assert_int_ge(
		asprintf(
			&want,
			"{\"action\":\"remove\",\"action_rule\":\"r.remove\",\"content_id\":\"c-1\","
			"\"escalations\":[{\"band\":\"urgent\",\"monitors\":true,\"queue\":"
			"\"incitement\",\"rule\":\"r.remove\",\"sla_s\":3600}],\"event_id\":\"e-1\","
			"\"evidence\":[\"list:bad\"],\"matched\":[\"r.remove\",\"r.label\"],"
			"\"modes\":[\"m\"],\"ruleset_version\":\"%s\",\"shadow\":[\"r.shadow\"]}",
			rules_version(L.rs)),
		0);
	ck_assert_str_eq(got, want);
	free(got);
	free(want);
	json_decref(j);
	event_free(ev);

	/* Nothing matched: action none, action_rule null, empty arrays. */
	ev = event("{}");
	v = rules_eval(L.ctx, ev, 0);
	j = rules_verdict_json(L.rs, ev, v);
	ck_assert_str_eq(json_string_value(json_object_get(j, "action")), "none");
	ck_assert(json_is_null(json_object_get(j, "action_rule")));
	ck_assert_str_eq(json_string_value(json_object_get(j, "event_id")), "");
	ck_assert_str_eq(json_string_value(json_object_get(j, "content_id")), "");
	ck_assert_uint_eq(json_array_size(json_object_get(j, "matched")), 0);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "shadow")), 0);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "escalations")), 0);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "evidence")), 0);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "modes")), 1);
	json_decref(j);
	event_free(ev);
	teardown(&L);
}
END_TEST

START_TEST(rule_fields_are_exposed)
{
	struct loaded L;
	load_ok(&L,
		"lists:\n"
		"  incitement_sw: [placeholder-one]\n"
		"rules:\n"
		"  - id: incitement.sw\n"
		"    description: Calls to violence in Swahili\n"
		"    when: lang == \"sw\" and text contains_any incitement_sw and signal.violence >= 0.5\n"
		"    action: REMOVE\n"
		"    escalate: {queue: incitement, band: Urgent, sla: 1h}\n"
		"    category: STATEMENT_CATEGORY_VIOLENCE\n"
		"    ground: illegal_content\n"
		"    legal_ground: \"Penal Code s. 96\"\n"
		"  - id: minimal\n"
		"    when: true\n"
		"    action: label\n",
		NULL);
	ck_assert_uint_eq(rules_count(L.rs), 2);
	const struct rules_rule *r = rules_rule(L.rs, 0);
	ck_assert_str_eq(r->id, "incitement.sw");
	ck_assert_str_eq(r->description, "Calls to violence in Swahili");
	ck_assert_str_eq(r->file, L.files[0]);
	ck_assert_int_eq(r->line, 4);
	ck_assert_int_eq(r->action, ARBITER__V1__ACTION__REMOVE);
	ck_assert_str_eq(r->category, "STATEMENT_CATEGORY_VIOLENCE");
	ck_assert_int_eq(r->ground, ARBITER__V1__GROUND__ILLEGAL_CONTENT);
	ck_assert_str_eq(r->legal_ground, "Penal Code s. 96");
	ck_assert(!r->shadow);
	ck_assert(r->has_escalate);
	ck_assert_str_eq(r->escalate.queue, "incitement");
	ck_assert_int_eq(r->escalate.band, ARBITER__V1__BAND__URGENT);
	ck_assert_uint_eq(r->escalate.sla_s, 3600);
	ck_assert(!r->escalate.monitors);
	r = rules_rule(L.rs, 1);
	ck_assert_str_eq(r->id, "minimal");
	ck_assert_int_eq(r->line, 12);
	ck_assert_ptr_null(r->description);
	ck_assert_ptr_null(r->category);
	ck_assert_ptr_null(r->legal_ground);
	ck_assert_int_eq(r->ground, ARBITER__V1__GROUND__INCOMPATIBLE_CONTENT);
	ck_assert(!r->has_escalate);
	ck_assert_uint_gt(rules_memory(L.rs), 0);
	expect_matched(&L, "{'lang':'sw-KE','text':'PLACEHOLDER-ONE!','signals':{'violence':0.5}}",
		       0, "incitement.sw,minimal");
	expect_matched(&L, "{'lang':'sw','text':'placeholder-one','signals':{'violence':0.25}}", 0,
		       "minimal");
	teardown(&L);
}
END_TEST

START_TEST(no_rule_files_give_an_empty_ruleset)
{
	struct loaded L;
	const char *none[] = {NULL};
	setup_files(&L, none, NULL);
	compile_ok(&L);
	ck_assert_uint_eq(rules_count(L.rs), 0);
	ck_assert_uint_eq(strlen(rules_version(L.rs)), 64);
	const struct rules_verdict *v = eval(&L, "{'text':'anything','reach':5}");
	ck_assert_uint_eq(v->n_matched, 0);
	ck_assert_uint_eq(v->n_shadow, 0);
	ck_assert_int_eq(v->action, ARBITER__V1__ACTION__NONE);
	ck_assert_int_eq(v->action_rule, -1);
	teardown(&L);
}
END_TEST

/* ===== lists ===== */

START_TEST(list_files_terms_and_comments)
{
	struct loaded L;
	memset(&L, 0, sizeof(L));
	L.dir = unit_make_dir();
	char *sub = NULL;
	ck_assert_int_ge(asprintf(&sub, "%s/lists", L.dir), 0);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	char *words = unit_write_file(sub, "words.txt",
				      "# a comment\n"
				      "\n"
				      "  first term  \n"
				      "second\r\n"
				      "#not a term\n"
				      "third");
	char *hashes = unit_write_file(sub, "hashes.txt", "# digests\n" SHA_A_UP "\n" PDQ_B "\n");
	L.files[L.n_files++] =
		unit_write_file(L.dir, "rules0.yaml",
				"lists:\n"
				"  words: {file: lists/words.txt, terms: [inline]}\n"
				"  hashes: {file: lists/hashes.txt, kind: hashes}\n"
				"rules:\n"
				"  - {id: w, when: text contains_any words, action: label}\n"
				"  - {id: h, when: media any_media_in hashes, action: remove}\n");
	L.cfg_path = write_config(L.dir, L.files, L.n_files, NULL);
	L.cfg = load_config(L.cfg_path);
	compile_ok(&L);
	expect_matched(&L, "{'text':'the FIRST  term here'}", 0, "w");
	expect_matched(&L, "{'text':'second'}", 0, "w");
	expect_matched(&L, "{'text':'third'}", 0, "w");
	expect_matched(&L, "{'text':'inline'}", 0, "w");
	expect_matched(&L, "{'text':'a comment'}", 0, "");
	expect_matched(&L, "{'text':'not a term'}", 0, "");
	expect_matched(&L, "{'text':'first'}", 0, "");
	expect_matched(&L, "{'media':[{'sha256':'" SHA_A "'}]}", 0, "h");
	teardown(&L);
	free(words);
	free(hashes);
	free(sub);
}
END_TEST

/* ===== version ===== */

START_TEST(version_follows_the_files)
{
	struct loaded L;
	memset(&L, 0, sizeof(L));
	L.dir = unit_make_dir();
	char *list = unit_write_file(L.dir, "words.txt", "alpha\n");
	L.files[L.n_files++] =
		unit_write_file(L.dir, "rules0.yaml",
				"lists: {w: {file: words.txt}}\n"
				"rules:\n"
				"  - {id: w, when: text contains_any w, action: label}\n");
	L.cfg_path = write_config(L.dir, L.files, L.n_files, NULL);
	L.cfg = load_config(L.cfg_path);
	compile_ok(&L);
	/* Rule files, then list files, for watching. */
	const char *const *files = NULL;
	ck_assert_uint_eq(rules_files(L.rs, &files), 2);
	ck_assert_str_eq(files[0], L.files[0]);
	ck_assert_str_eq(files[1], list);
	char v1[65];
	ck_assert_uint_eq(strlen(rules_version(L.rs)), 64);
	ck_assert_uint_eq(strspn(rules_version(L.rs), "0123456789abcdef"), 64);
	snprintf(v1, sizeof(v1), "%s", rules_version(L.rs));

	/* Same files: same version. */
	struct ruleset *again = NULL;
	struct config_errors errs = {0};
	ck_assert_int_eq(rules_load(L.cfg, &again, &errs), 0);
	ck_assert_str_eq(rules_version(again), v1);
	rules_free(again);

	/* A changed list file: another version. */
	free(unit_write_file(L.dir, "words.txt", "alpha\nbeta\n"));
	ck_assert_int_eq(rules_load(L.cfg, &again, &errs), 0);
	ck_assert_str_ne(rules_version(again), v1);
	rules_free(again);

	/* A changed rule file: another version. */
	free(unit_write_file(L.dir, "words.txt", "alpha\n"));
	free(unit_write_file(L.dir, "rules0.yaml",
			     "lists: {w: {file: words.txt}}\n"
			     "rules:\n"
			     "  - {id: w, when: text contains_any w, action: remove}\n"));
	ck_assert_int_eq(rules_load(L.cfg, &again, &errs), 0);
	ck_assert_str_ne(rules_version(again), v1);
	rules_free(again);

	/* Back to the original contents: the original version. */
	free(unit_write_file(L.dir, "rules0.yaml",
			     "lists: {w: {file: words.txt}}\n"
			     "rules:\n"
			     "  - {id: w, when: text contains_any w, action: label}\n"));
	ck_assert_int_eq(rules_load(L.cfg, &again, &errs), 0);
	ck_assert_str_eq(rules_version(again), v1);
	rules_free(again);
	ck_assert_uint_eq(errs.n, 0);
	free(list);
	teardown(&L);
}
END_TEST

/* The version covers what decides verdicts: file names and contents and
 * the mode switches, not the directory the files were read from. */
START_TEST(version_covers_mode_switches_not_directories)
{
	const char *text = "modes: {m: {enabled: false}}\n"
			   "rules:\n"
			   "  - {id: r, modes: [m], when: 'true', action: label}\n";
	struct loaded a, b, on, off;
	load_ok(&a, text, NULL);
	load_ok(&b, text, NULL);
	ck_assert_str_ne(a.dir, b.dir);
	ck_assert_str_eq(rules_version(a.rs), rules_version(b.rs));
	load_ok(&on, text, "m: on");
	load_ok(&off, text, "m: off");
	ck_assert_str_ne(rules_version(on.rs), rules_version(a.rs));
	ck_assert_str_ne(rules_version(on.rs), rules_version(off.rs));
	expect_matched(&on, "{}", 0, "r");
	expect_matched(&off, "{}", 0, "");
	teardown(&a);
	teardown(&b);
	teardown(&on);
	teardown(&off);
}
END_TEST

/* ===== rules_run_tests and rules_check_config ===== */

static char *run_tests(const struct ruleset *rs, int *rc)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	ck_assert_ptr_nonnull(f);
	*rc = rules_run_tests(rs, f);
	fclose(f);
	return out;
}

static const char *const tested_rules =
	"lists: {bad: [bad], mild: [mild]}\n"
	"modes: {window: {from: 2027-08-01, until: 2027-08-02}}\n"
	"rules:\n"
	"  - id: r.remove\n"
	"    when: text contains_any bad\n"
	"    action: remove\n"
	"    escalate: {queue: q1}\n"
	"  - {id: r.label, when: text contains_any mild, action: label}\n"
	"  - {id: r.shadow, shadow: true, when: reach > 5, action: remove}\n"
	"  - {id: r.window, modes: [window], when: reach > 100, action: demote}\n"
	"tests:\n"
	"  - name: bad is removed\n"
	"    event: {text: so bad, reach: 10}\n"
	"    expect: {action: remove, escalations: [q1], rules: [r.remove], shadow: [r.shadow]}\n"
	"  - name: inside the window\n"
	"    now: 2027-08-01T12:00Z\n"
	"    event: {reach: 1000}\n"
	"    expect: {action: demote, rules: [r.window]}\n"
	"  - name: created_at decides\n"
	"    now: 2027-09-01\n"
	"    event: {reach: 1000, created_at_ms: 1817078400000}\n"
	"    expect: {action: demote}\n"
	"  - name: nothing\n"
	"    event: {}\n"
	"    expect: {action: none, escalations: [], rules: [], shadow: []}\n";

START_TEST(run_tests_passing)
{
	struct loaded L;
	load_ok(&L, tested_rules, NULL);
	int rc;
	char *out = run_tests(L.rs, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(out, "4 test(s), 0 failed\n");
	free(out);
	teardown(&L);
}
END_TEST

START_TEST(run_tests_failing)
{
	char *text = NULL;
	ck_assert_int_ge(
		asprintf(&text,
			 "%s"
			 "  - name: mild is removed\n"
			 "    event: {text: mild}\n"
			 "    expect: {action: remove}\n"
			 "  - name: everything wrong\n"
			 "    event: {text: mild, reach: 10}\n"
			 "    expect: {action: label, escalations: [q1, q2], rules: [r.remove],"
			 " shadow: []}\n"
			 "  - name: outside the window\n"
			 "    now: 2027-08-02\n"
			 "    event: {reach: 1000}\n"
			 "    expect: {action: demote}\n",
			 tested_rules),
		0);
	struct loaded L;
	load_ok(&L, text, NULL);
	free(text);
	int rc;
	char *out = run_tests(L.rs, &rc);
	ck_assert_int_eq(rc, 3);
	char *want = NULL;
	ck_assert_int_ge(asprintf(&want,
				  "FAIL %s:26: mild is removed\n"
				  "    expected action remove, got label\n"
				  "FAIL %s:29: everything wrong\n"
				  "    expected escalations [q1, q2], got []\n"
				  "    expected matched rules [r.remove], got [r.label]\n"
				  "    expected shadow hits [], got [r.shadow]\n"
				  "FAIL %s:32: outside the window\n"
				  "    expected action demote, got none\n"
				  "7 test(s), 3 failed\n",
				  L.files[0], L.files[0], L.files[0]),
			 0);
	ck_assert_str_eq(out, want);
	free(want);
	free(out);
	teardown(&L);
}
END_TEST

START_TEST(tests_may_name_rules_of_other_files)
{
	struct loaded L;
	const char *texts[] = {
		"tests:\n"
		"  - name: uses b\n"
		"    event: {reach: 7}\n"
		"    expect: {rules: [b.rule]}\n",
		"rules:\n"
		"  - {id: b.rule, when: reach > 5, action: label}\n",
		NULL,
	};
	setup_files(&L, texts, NULL);
	compile_ok(&L);
	int rc;
	char *out = run_tests(L.rs, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(out, "1 test(s), 0 failed\n");
	free(out);
	teardown(&L);
}
END_TEST

START_TEST(check_config_reports)
{
	struct loaded L;
	load_ok(&L, tested_rules, NULL);
	char *out = NULL, *err = NULL;
	size_t ol = 0, el = 0;
	FILE *fo = open_memstream(&out, &ol), *fe = open_memstream(&err, &el);
	ck_assert_int_eq(rules_check_config(L.cfg_path, fo, fe), 0);
	fclose(fo);
	fclose(fe);
	char *want = NULL;
	/* Its rules act without statement fields: valid, with a warning each. */
	ck_assert_int_ge(asprintf(&want, "%s: ok (4 rule(s), ruleset %.12s; 3 warning(s))\n",
				  L.cfg_path, rules_version(L.rs)),
			 0);
	ck_assert_str_eq(out, want);
	int warnings = 0;
	for (const char *p = err; (p = strstr(p, ": warning: restricts content (")); p++)
		warnings++;
	ck_assert_int_eq(warnings, 3);
	free(out);
	free(err);
	free(want);

	free(unit_write_file(L.dir, "rules0.yaml",
			     "rules:\n"
			     "  - {id: a, when: lnag == sw, action: label}\n"
			     "  - {id: b, when: reach > 1, action: explode}\n"));
	fo = open_memstream(&out, &ol);
	fe = open_memstream(&err, &el);
	ck_assert_int_eq(rules_check_config(L.cfg_path, fo, fe), 1);
	fclose(fo);
	fclose(fe);
	ck_assert_str_eq(out, "");
	ck_assert_ptr_nonnull(strstr(err, "unknown field 'lnag'"));
	ck_assert_ptr_nonnull(strstr(err, "got \"explode\""));
	ck_assert_int_ge(asprintf(&want, "%s: 2 error(s)\n", L.cfg_path), 0);
	ck_assert_int_ge(strlen(err), strlen(want));
	ck_assert_str_eq(err + strlen(err) - strlen(want), want);
	free(want);
	free(out);
	free(err);
	teardown(&L);
}
END_TEST

/* ===== reload ===== */

START_TEST(reload_gives_independent_rulesets)
{
	struct loaded A;
	memset(&A, 0, sizeof(A));
	A.dir = unit_make_dir();
	char *list = unit_write_file(A.dir, "words.txt", "alpha\n");
	A.files[A.n_files++] =
		unit_write_file(A.dir, "rules0.yaml",
				"lists: {w: {file: words.txt}}\n"
				"rules:\n"
				"  - {id: w, when: text contains_any w, action: label}\n");
	A.cfg_path = write_config(A.dir, A.files, A.n_files, NULL);
	A.cfg = load_config(A.cfg_path);
	compile_ok(&A);
	char va[65];
	snprintf(va, sizeof(va), "%s", rules_version(A.rs));

	/* The files change; B is compiled from them while A keeps running. */
	free(unit_write_file(A.dir, "words.txt", "beta\n"));
	free(unit_write_file(A.dir, "rules0.yaml",
			     "lists: {w: {file: words.txt}}\n"
			     "rules:\n"
			     "  - {id: w2, when: text contains_any w, action: remove}\n"
			     "  - {id: big, when: reach > 5, action: demote}\n"));
	struct config_errors errs = {0};
	struct ruleset *b = NULL;
	ck_assert_int_eq(rules_load(A.cfg, &b, &errs), 0);
	struct rules_ctx *cb = rules_ctx_new(b);
	ck_assert_ptr_nonnull(cb);
	ck_assert_str_ne(rules_version(b), va);

	for (int round = 0; round < 2; round++) {
		Arbiter__V1__ContentEvent *alpha = event("{'text':'alpha','reach':10}");
		Arbiter__V1__ContentEvent *beta = event("{'text':'beta'}");
		const struct rules_verdict *v = rules_eval(A.ctx, alpha, 0);
		ck_assert_int_eq(v->action, ARBITER__V1__ACTION__LABEL);
		ck_assert_str_eq(id_of(A.rs, v->action_rule), "w");
		v = rules_eval(cb, alpha, 0);
		ck_assert_int_eq(v->action, ARBITER__V1__ACTION__DEMOTE);
		ck_assert_str_eq(id_of(b, v->action_rule), "big");
		v = rules_eval(A.ctx, beta, 0);
		ck_assert_int_eq(v->action, ARBITER__V1__ACTION__NONE);
		v = rules_eval(cb, beta, 0);
		ck_assert_int_eq(v->action, ARBITER__V1__ACTION__REMOVE);
		ck_assert_str_eq(id_of(b, v->action_rule), "w2");
		event_free(alpha);
		event_free(beta);
	}
	ck_assert_str_eq(rules_version(A.rs), va);

	/* A bad edit is rejected; the running rulesets are untouched. */
	free(unit_write_file(A.dir, "rules0.yaml",
			     "lists: {w: {file: words.txt}}\n"
			     "rules:\n"
			     "  - {id: w3, when: text contains_any nowhere, action: remove}\n"));
	struct ruleset *c = (struct ruleset *)&errs;
	ck_assert_int_eq(rules_load(A.cfg, &c, &errs), -EINVAL);
	ck_assert_ptr_null(c);
	ck_assert_uint_eq(errs.n, 1);
	config_errors_clear(&errs);
	/* A missing rule file too. */
	ck_assert_int_eq(unlink(A.files[0]), 0);
	c = (struct ruleset *)&errs;
	ck_assert_int_eq(rules_load(A.cfg, &c, &errs), -EINVAL);
	ck_assert_ptr_null(c);
	check_error(&errs, 0, A.files[0], 0, 0, NULL,
		    "cannot read the rule file: No such file or directory");
	config_errors_clear(&errs);

	/* Retiring A leaves B working. */
	rules_ctx_free(A.ctx);
	A.ctx = NULL;
	rules_free(A.rs);
	A.rs = NULL;
	const struct rules_verdict *v =
		eval_at(&(struct loaded){.rs = b, .ctx = cb}, "{'text':'so beta'}", 0);
	ck_assert_int_eq(v->action, ARBITER__V1__ACTION__REMOVE);
	rules_ctx_free(cb);
	rules_free(b);
	free(list);
	teardown(&A);
}
END_TEST

/* Two contexts of one ruleset do not share evaluation state. */
START_TEST(contexts_are_independent)
{
	struct loaded L;
	load_ok(&L,
		"lists: {w: [alpha]}\n"
		"rules:\n"
		"  - {id: w, when: text contains_any w, action: label}\n",
		NULL);
	struct rules_ctx *c2 = rules_ctx_new(L.rs);
	Arbiter__V1__ContentEvent *alpha = event("{'text':'alpha'}");
	Arbiter__V1__ContentEvent *none = event("{'text':'omega'}");
	const struct rules_verdict *v1 = rules_eval(L.ctx, alpha, 0);
	const struct rules_verdict *v2 = rules_eval(c2, none, 0);
	ck_assert_uint_eq(v1->n_matched, 1);
	ck_assert_uint_eq(v2->n_matched, 0);
	v2 = rules_eval(c2, alpha, 0);
	v1 = rules_eval(L.ctx, none, 0);
	ck_assert_uint_eq(v1->n_matched, 0);
	ck_assert_uint_eq(v2->n_matched, 1);
	/* Many events through one context: no stale matches. */
	for (int i = 0; i < 1000; i++) {
		const struct rules_verdict *v = rules_eval(L.ctx, i % 3 ? none : alpha, 0);
		ck_assert_uint_eq(v->n_matched, i % 3 ? 0 : 1);
	}
	event_free(alpha);
	event_free(none);
	rules_ctx_free(c2);
	teardown(&L);
}
END_TEST

/* ===== compile errors ===== */

START_TEST(error_unknown_field)
{
	expect_one_error("rules:\n"
			 "  - id: r1\n"
			 "    when: lnag == sw\n"
			 "    action: remove\n",
			 3, 11, "r1", "unknown field 'lnag'; did you mean 'lang'?");
	/* Quoted: the column still points at the field. */
	expect_one_error("rules:\n"
			 "  - id: r1\n"
			 "    when: 'reach > 1 and lnag == sw'\n"
			 "    action: remove\n",
			 3, 26, "r1", "unknown field 'lnag'");
	/* On a continuation line of a plain scalar. */
	expect_one_error("rules:\n"
			 "  - id: r1\n"
			 "    when: reach > 1\n"
			 "      and lnag == sw\n"
			 "    action: remove\n",
			 4, 11, "r1", "unknown field 'lnag'");
	/* In a block scalar. */
	expect_one_error("rules:\n"
			 "  - id: r1\n"
			 "    when: |\n"
			 "      reach > 1 and\n"
			 "        lnag == sw\n"
			 "    action: remove\n",
			 5, 9, "r1", "unknown field 'lnag'");
}
END_TEST

START_TEST(error_syntax_is_positioned)
{
	expect_one_error("rules:\n"
			 "  - id: r1\n"
			 "    when: 'reach >= '\n"
			 "    action: remove\n",
			 3, 21, "r1", "expected a value after '>=', got end of condition");
	expect_one_error("rules:\n"
			 "  - {id: r1, when: text matches /a/x, action: remove}\n",
			 2, 36, "r1", "unknown regex flag 'x' (expected i, s or m)");
}
END_TEST

START_TEST(error_unknown_list)
{
	expect_one_error("rules:\n"
			 "  - id: r1\n"
			 "    when: text contains_any nolist\n"
			 "    action: remove\n",
			 3, 29, "r1", "unknown list 'nolist'");
	expect_one_error("rules:\n"
			 "  - id: r1\n"
			 "    when: lang in nolist\n"
			 "    action: remove\n",
			 3, 19, "r1", "unknown list 'nolist'");
	expect_one_error("rules:\n"
			 "  - id: r1\n"
			 "    when: media any_media_in nolist\n"
			 "    action: remove\n",
			 3, 30, "r1", "unknown list 'nolist'");
}
END_TEST

START_TEST(error_unknown_mode)
{
	expect_one_error("modes: {m1: {}}\n"
			 "rules:\n"
			 "  - id: r1\n"
			 "    modes: [m1, nomode]\n"
			 "    when: 'true'\n"
			 "    action: remove\n",
			 4, 17, "r1", "unknown mode \"nomode\"");
}
END_TEST

START_TEST(error_type_mismatch)
{
	expect_one_error("rules:\n  - id: r1\n    when: reach > \"x\"\n    action: remove\n", 3, 19,
			 "r1", "reach is a number: compare it with a number");
	expect_one_error("rules:\n  - id: r1\n    when: created_at > x\n    action: remove\n", 3,
			 24, "r1", "created_at is a number: compare it with a number or a date");
	expect_one_error("rules:\n  - id: r1\n    when: lang == 5\n    action: remove\n", 3, 19,
			 "r1", "lang is a string: compare it with a string such as \"x\"");
	expect_one_error("rules:\n  - id: r1\n    when: signal.x == high\n    action: remove\n", 3,
			 23, "r1", "signal is a number: compare it with a number");
	expect_one_error("rules:\n  - id: r1\n    when: lang < x\n    action: remove\n", 3, 11,
			 "r1", "lang is a string: only == and != compare it");
	expect_one_error("rules:\n  - id: r1\n    when: attr.a >= 1\n    action: remove\n", 3, 11,
			 "r1", "attr is a string: only == and != compare it");
	expect_one_error("rules:\n  - id: r1\n    when: reach > 1 and reach in [a]\n"
			 "    action: remove\n",
			 3, 25, "r1", "reach is a number: compare it with a number");
	expect_one_error("lists: {l: [a]}\n"
			 "rules:\n  - id: r1\n    when: reach in l\n    action: remove\n",
			 4, 20, "r1", "reach is a number: 'in LIST' needs a string field");
	expect_one_error("rules:\n  - id: r1\n    when: media == x\n    action: remove\n", 3, 11,
			 "r1", "media takes any_media_in LIST");
	expect_one_error("rules:\n  - id: r1\n    when: surface == blog\n    action: remove\n", 3,
			 22, "r1",
			 "unknown surface \"blog\" (expected one of post, comment, ad, message, "
			 "profile, story, livestream, marketplace, group)");
	expect_one_error("rules:\n  - id: r1\n    when: content_type == gif\n    action: remove\n",
			 3, 27, "r1",
			 "unknown content_type \"gif\" (expected one of text, image, video, audio, "
			 "link, synthetic_media, other)");
	expect_one_error("lists: {h: {kind: hashes, terms: [" SHA_A "]}}\n"
			 "rules:\n  - id: r1\n    when: text contains_any h\n    action: remove\n",
			 4, 29, "r1", "list 'h' holds media hashes: contains_any needs terms");
	expect_one_error("lists: {t: [a]}\n"
			 "rules:\n  - id: r1\n    when: media any_media_in t\n    action: remove\n",
			 4, 30, "r1",
			 "list 't' holds terms: any_media_in needs a list of kind hashes");
}
END_TEST

/* An unknown enum name inside a literal list points at that name. */
START_TEST(error_unknown_enum_in_list_points_at_it)
{
	expect_one_error("rules:\n  - id: r1\n    when: surface in [post, blog]\n"
			 "    action: remove\n",
			 3, 29, "r1", "unknown surface \"blog\"");
}
END_TEST

START_TEST(error_bad_regex)
{
	expect_one_error("rules:\n  - id: r1\n    when: text matches /a(/\n    action: remove\n", 3,
			 24, "r1", "bad regex: ");
	expect_one_error("rules:\n  - id: r1\n    when: reach > 1 or text matches \"[z-a]\"\n"
			 "    action: remove\n",
			 3, 37, "r1", "bad regex: ");
	expect_one_error("rules:\n  - id: r1\n    when: text matches /\\bword\\b/\n"
			 "    action: remove\n",
			 3, 24, "r1", "bad regex: \\b unsupported in UCP mode");
}
END_TEST

START_TEST(error_duplicate_rule_id)
{
	struct loaded L;
	struct config_errors errs = {0};
	const char *texts[] = {"rules:\n"
			       "  - id: r1\n"
			       "    when: 'true'\n"
			       "    action: label\n"
			       "  - id: r1\n"
			       "    when: 'false'\n"
			       "    action: remove\n",
			       NULL};
	load_fail(&L, texts, NULL, &errs);
	ck_assert_uint_eq(errs.n, 1);
	char *msg = NULL;
	ck_assert_int_ge(
		asprintf(&msg, "duplicate rule id 'r1' (first defined at %s:2)", L.files[0]), 0);
	check_error(&errs, 0, L.files[0], 5, 9, "r1", msg);
	free(msg);
	config_errors_clear(&errs);
	teardown(&L);

	/* Across files. */
	const char *two[] = {"rules:\n  - {id: r1, when: 'true', action: label}\n",
			     "rules:\n  - {id: r0, when: 'true', action: label}\n"
			     "  - {id: r1, when: 'true', action: label}\n",
			     NULL};
	load_fail(&L, two, NULL, &errs);
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_int_ge(
		asprintf(&msg, "duplicate rule id 'r1' (first defined at %s:2)", L.files[0]), 0);
	check_error(&errs, 0, L.files[1], 3, 10, "r1", msg);
	free(msg);
	config_errors_clear(&errs);
	teardown(&L);
}
END_TEST

START_TEST(error_duplicate_list_and_mode)
{
	struct loaded L;
	struct config_errors errs = {0};
	const char *texts[] = {"lists:\n  words: [a]\nmodes:\n  m: {}\n",
			       "modes:\n  m: {}\nlists:\n  other: [c]\n  words: [b]\n", NULL};
	load_fail(&L, texts, NULL, &errs);
	ck_assert_uint_eq(errs.n, 2);
	char *msg = NULL;
	/* Lists of every file come before modes of that file. */
	ck_assert_int_ge(asprintf(&msg, "list 'words' is already defined at %s:2:3", L.files[0]),
			 0);
	check_error(&errs, 0, L.files[1], 5, 3, "lists.words", msg);
	free(msg);
	ck_assert_int_ge(asprintf(&msg, "mode 'm' is already defined at %s:4:3", L.files[0]), 0);
	check_error(&errs, 1, L.files[1], 2, 3, "modes.m", msg);
	free(msg);
	config_errors_clear(&errs);
	teardown(&L);
}
END_TEST

START_TEST(error_bad_action)
{
	static const char *const names =
		"expected an action (none, label, demote, age_restrict, demonetize, geo_block, "
		"remove, suspend_account, terminate_account), got ";
	char *msg = NULL;
	ck_assert_int_ge(asprintf(&msg, "%s\"explode\"", names), 0);
	expect_one_error("rules:\n  - id: r1\n    when: 'true'\n    action: explode\n", 4, 13, "r1",
			 msg);
	free(msg);
	ck_assert_int_ge(asprintf(&msg, "%s\"restore\"", names), 0);
	expect_one_error("rules:\n  - id: r1\n    when: 'true'\n    action: restore\n", 4, 13, "r1",
			 msg);
	free(msg);
	ck_assert_int_ge(asprintf(&msg, "%s\"ACTION_UNSPECIFIED\"", names), 0);
	expect_one_error("rules:\n  - id: r1\n    when: 'true'\n    action: ACTION_UNSPECIFIED\n",
			 4, 13, "r1", msg);
	free(msg);
	expect_one_error("rules:\n  - id: r1\n    when: 'true'\n    action: [remove]\n", 4, 13,
			 "r1", "got a sequence");
}
END_TEST

START_TEST(error_bad_escalate)
{
	expect_one_error("rules:\n  - id: r1\n    when: 'true'\n"
			 "    escalate: {queue: q, band: asap}\n",
			 4, 32, "r1", "expected a band: urgent, high, normal or low, got \"asap\"");
	expect_one_error(
		"rules:\n  - id: r1\n    when: 'true'\n"
		"    escalate: {queue: q, sla: soon}\n",
		4, 31, "r1",
		"expected an SLA with a unit, such as 30m, 4h or 2d (1s to 365d), got \"soon\"");
	expect_one_error(
		"rules:\n  - id: r1\n    when: 'true'\n"
		"    escalate: {queue: q, sla: 500ms}\n",
		4, 31, "r1",
		"expected an SLA with a unit, such as 30m, 4h or 2d (1s to 365d), got \"500ms\"");
	expect_one_error(
		"rules:\n  - id: r1\n    when: 'true'\n"
		"    escalate: {queue: q, sla: 3600}\n",
		4, 31, "r1",
		"expected an SLA with a unit, such as 30m, 4h or 2d (1s to 365d), got 3600");
	expect_one_error("rules:\n  - id: r1\n    when: 'true'\n"
			 "    escalate: {queue: q, sla: 366d}\n",
			 4, 31, "r1", "got \"366d\"");
	expect_one_error("rules:\n  - id: r1\n    when: 'true'\n"
			 "    escalate: {queue: q, monitors: maybe}\n",
			 4, 36, "r1", "expected true or false, got \"maybe\"");
	expect_one_error("rules:\n  - id: r1\n    when: 'true'\n"
			 "    escalate: {band: high}\n",
			 4, 15, "r1", "escalate needs a queue");
}
END_TEST

/* A malformed escalate is one mistake: it must not also count as a rule that
 * neither acts nor escalates (a malformed action does not either). */
START_TEST(error_bad_escalate_is_not_cascaded)
{
	expect_one_error("rules:\n  - id: r1\n    when: 'true'\n"
			 "    escalate: urgent\n",
			 4, 15, "r1", "expected {queue: NAME, band: urgent|high|normal|low");
	expect_one_error("rules:\n  - id: r1\n    when: 'true'\n"
			 "    action: explode\n",
			 4, 13, "r1", "expected an action");
}
END_TEST

START_TEST(error_bad_category_and_ground)
{
	expect_one_error("rules:\n  - id: r1\n    when: 'true'\n    action: label\n"
			 "    category: VIOLENCE\n",
			 5, 15, "r1",
			 "expected a DSA category such as STATEMENT_CATEGORY_VIOLENCE "
			 "(docs/rules.md lists them), got \"VIOLENCE\"");
	expect_one_error("rules:\n  - id: r1\n    when: 'true'\n    action: label\n"
			 "    ground: LEGAL\n",
			 5, 13, "r1",
			 "expected ILLEGAL_CONTENT or INCOMPATIBLE_CONTENT, got \"LEGAL\"");
	expect_one_error("rules:\n  - id: r1\n    when: 'true'\n    action: label\n"
			 "    shadow: yes\n",
			 5, 13, "r1", "expected true or false, got \"yes\"");
}
END_TEST

START_TEST(error_rule_that_does_nothing)
{
	expect_one_error("rules:\n"
			 "  - id: r1\n"
			 "    when: 'true'\n"
			 "    description: forgot the action\n",
			 2, 5, "r1",
			 "rule 'r1' neither acts nor escalates: give it an action, an escalate, or "
			 "mark it shadow");
}
END_TEST

START_TEST(error_unknown_keys)
{
	expect_one_error("rules:\n"
			 "  - id: r1\n"
			 "    when: 'true'\n"
			 "    action: label\n"
			 "    descripton: typo\n",
			 5, 5, "descripton",
			 "unknown key 'descripton' in a rule; did you mean 'description'?");
	expect_one_error("rule:\n  - id: r1\n", 1, 1, "rule",
			 "unknown key 'rule' in a rule file; did you mean 'rules'?");
	expect_one_error("rules:\n"
			 "  - id: r1\n"
			 "    when: 'true'\n"
			 "    escalate: {queue: q, monitor: true}\n",
			 4, 26, "monitor",
			 "unknown key 'monitor' in escalate; did you mean 'monitors'?");
	expect_one_error("modes:\n  m: {countrys: [KE]}\n", 2, 7, "countrys",
			 "unknown key 'countrys' in a mode; did you mean 'countries'?");
	/* Far from every key: no suggestion. */
	struct loaded L;
	struct config_errors errs = {0};
	const char *texts[] = {"rules:\n"
			       "  - id: r1\n"
			       "    when: 'true'\n"
			       "    action: label\n"
			       "    colour: red\n",
			       NULL};
	load_fail(&L, texts, NULL, &errs);
	ck_assert_uint_eq(errs.n, 1);
	check_error(&errs, 0, L.files[0], 5, 5, "colour", "unknown key 'colour' in a rule");
	ck_assert_ptr_null(strstr(errs.v[0].msg, "did you mean"));
	config_errors_clear(&errs);
	teardown(&L);
}
END_TEST

START_TEST(error_missing_when_or_id)
{
	expect_one_error("rules:\n"
			 "  - id: r1\n"
			 "    action: label\n",
			 2, 5, "r1", "every rule needs a when: condition");
	expect_one_error("rules:\n"
			 "  - action: label\n"
			 "    when: 'true'\n",
			 2, 5, "rules", "every rule needs an id");
	expect_one_error("rules:\n"
			 "  - id: 'bad id!'\n"
			 "    when: 'true'\n"
			 "    action: label\n",
			 2, 9, "bad id!", "rule ids use letters, digits, '.', '_' and '-' only");
	expect_one_error("rules:\n"
			 "  - id: r1\n"
			 "    when: ''\n"
			 "    action: label\n",
			 3, 12, "r1", "empty condition");
}
END_TEST

START_TEST(error_bad_test_event)
{
	expect_one_error("rules:\n"
			 "  - {id: r1, when: 'true', action: label}\n"
			 "tests:\n"
			 "  - name: t1\n"
			 "    event: {lang: sw, bogus: 1}\n"
			 "    expect: {action: label}\n",
			 5, 12, "t1", "event: unknown field 'bogus'");
	expect_one_error("rules:\n"
			 "  - {id: r1, when: 'true', action: label}\n"
			 "tests:\n"
			 "  - name: t1\n"
			 "    event: {surface: BLOG}\n"
			 "    expect: {action: label}\n",
			 5, 12, "t1", "event: field 'surface'");
	expect_one_error("rules:\n"
			 "  - {id: r1, when: 'true', action: label}\n"
			 "tests:\n"
			 "  - name: t1\n"
			 "    expect: {action: label}\n",
			 4, 5, "t1", "a test needs event: a mapping with the ContentEvent fields");
	expect_one_error("rules:\n"
			 "  - {id: r1, when: 'true', action: label}\n"
			 "tests:\n"
			 "  - name: t1\n"
			 "    event: {}\n",
			 4, 5, "t1", "a test needs expect: {action, escalations, rules, shadow}");
	expect_one_error("rules:\n"
			 "  - {id: r1, when: 'true', action: label}\n"
			 "tests:\n"
			 "  - name: t1\n"
			 "    event: {}\n"
			 "    expect: {action: smite}\n",
			 6, 22, "t1", "expected an action, got \"smite\"");
}
END_TEST

START_TEST(error_expect_names_unknown_rule)
{
	struct loaded L;
	struct config_errors errs = {0};
	const char *texts[] = {"rules:\n"
			       "  - {id: r1, when: 'true', action: label}\n"
			       "tests:\n"
			       "  - name: t1\n"
			       "    event: {}\n"
			       "    expect: {rules: [r1, nope], shadow: [nope2]}\n",
			       NULL};
	load_fail(&L, texts, NULL, &errs);
	ck_assert_uint_eq(errs.n, 2);
	check_error(&errs, 0, L.files[0], 4, 5, "t1", "expect names unknown rule 'nope'");
	check_error(&errs, 1, L.files[0], 4, 5, "t1", "expect names unknown rule 'nope2'");
	config_errors_clear(&errs);
	teardown(&L);
}
END_TEST

START_TEST(error_list_problems)
{
	struct loaded L;
	struct config_errors errs = {0};
	const char *texts[] = {"lists:\n  l: {file: missing.txt}\n", NULL};
	load_fail(&L, texts, NULL, &errs);
	ck_assert_uint_eq(errs.n, 1);
	char *msg = NULL;
	ck_assert_int_ge(
		asprintf(&msg,
			 "cannot read list file \"%s/missing.txt\": No such file or directory",
			 L.dir),
		0);
	check_error(&errs, 0, L.files[0], 2, 13, "lists.l", msg);
	free(msg);
	config_errors_clear(&errs);
	teardown(&L);

	/* A bad digest in a list file points into the list file. */
	memset(&L, 0, sizeof(L));
	L.dir = unit_make_dir();
	char *hashes = unit_write_file(L.dir, "h.txt", "# digests\n" SHA_A "\nnot-hex\n");
	L.files[L.n_files++] =
		unit_write_file(L.dir, "rules0.yaml", "lists:\n  h: {kind: hashes, file: h.txt}\n");
	L.cfg_path = write_config(L.dir, L.files, L.n_files, NULL);
	L.cfg = load_config(L.cfg_path);
	struct ruleset *rs = NULL;
	ck_assert_int_eq(rules_load(L.cfg, &rs, &errs), -EINVAL);
	ck_assert_uint_eq(errs.n, 1);
	check_error(&errs, 0, hashes, 3, 1, "lists.h", "expected a hex digest, got \"not-hex\"");
	config_errors_clear(&errs);
	free(hashes);
	teardown(&L);

	expect_one_error("lists:\n  l: [ok, \"\u200B\"]\n", 2, 11, "lists.l",
			 "term \"\u200B\" is empty once normalised");
	expect_one_error("lists:\n  l: {kind: words, terms: [a]}\n", 2, 13, "lists.l",
			 "expected kind terms or hashes, got \"words\"");
	expect_one_error("lists:\n  l: {kind: terms}\n", 2, 3, "lists.l",
			 "a list needs file: or terms:");
	expect_one_error("lists:\n  l: oops\n", 2, 6, "lists.l",
			 "expected a list of terms, {file: PATH} or {terms: [...]}, got \"oops\"");
}
END_TEST

START_TEST(error_mode_problems)
{
	expect_one_error(
		"modes:\n  m: {from: 2027-13-01}\n", 2, 13, "modes.m",
		"expected a date such as 2027-08-01 or 2027-08-01T06:00Z, got \"2027-13-01\"");
	expect_one_error("modes:\n  m: {from: 2027-08-20, until: 2027-08-01}\n", 2, 3, "modes.m",
			 "until must be after from");
	expect_one_error("modes:\n  m: {countries: [KE, KEN]}\n", 2, 23, "modes.m",
			 "expected an ISO 3166-1 alpha-2 code such as KE, got \"KEN\"");
	expect_one_error("modes:\n  m: {enabled: sometimes}\n", 2, 16, "modes.m",
			 "expected true or false, got \"sometimes\"");
}
END_TEST

START_TEST(error_config_names_unknown_mode)
{
	struct loaded L;
	struct config_errors errs = {0};
	const char *texts[] = {"modes: {m: {}}\n", NULL};
	load_fail(&L, texts, "m: on, nomode: on", &errs);
	ck_assert_uint_eq(errs.n, 1);
	check_error(&errs, 0, L.cfg_path, 0, 0, "rules.modes.nomode",
		    "no rule file declares a mode named 'nomode'");
	config_errors_clear(&errs);
	teardown(&L);
}
END_TEST

START_TEST(error_normalise_must_agree)
{
	struct loaded L;
	struct config_errors errs = {0};
	const char *texts[] = {"normalise: {fold: [leet]}\n", "normalise: {fold: [homoglyphs]}\n",
			       NULL};
	load_fail(&L, texts, NULL, &errs);
	ck_assert_uint_eq(errs.n, 1);
	check_error(&errs, 0, L.files[1], 1, 12, "normalise",
		    "every rule file must normalise the same way");
	config_errors_clear(&errs);
	teardown(&L);
	expect_one_error("normalise: {fold: [leet, capitals]}\n", 1, 26, "normalise.fold",
			 "expected leet or homoglyphs, got \"capitals\"");
}
END_TEST

START_TEST(every_error_of_a_file_is_reported)
{
	struct loaded L;
	struct config_errors errs = {0};
	const char *texts[] = {"lists:\n"                               /* 1 */
			       "  words: [hate]\n"                      /* 2 */
			       "modes:\n"                               /* 3 */
			       "  m1: {countries: [KE]}\n"              /* 4 */
			       "rules:\n"                               /* 5 */
			       "  - id: a\n"                            /* 6 */
			       "    when: lnag == sw\n"                 /* 7 */
			       "    action: remove\n"                   /* 8 */
			       "  - id: b\n"                            /* 9 */
			       "    when: text contains_any nowords\n"  /* 10 */
			       "    action: label\n"                    /* 11 */
			       "  - id: c\n"                            /* 12 */
			       "    when: reach > \"x\" or lang < y\n"  /* 13 */
			       "    action: bogus\n"                    /* 14 */
			       "  - id: a\n"                            /* 15 */
			       "    when: 'true'\n"                     /* 16 */
			       "    action: label\n"                    /* 17 */
			       "  - id: d\n"                            /* 18 */
			       "    modes: [m2]\n"                      /* 19 */
			       "    when: text matches /a(/\n"          /* 20 */
			       "    escalate: {queue: q, band: asap}\n" /* 21 */
			       "tests:\n"                               /* 22 */
			       "  - name: t\n"                          /* 23 */
			       "    event: {lang: sw}\n"                /* 24 */
			       "    expect: {rules: [zz]}\n",           /* 25 */
			       NULL};
	load_fail(&L, texts, NULL, &errs);
	if (errs.n != 10)
		config_errors_print(&errs, stderr);
	ck_assert_uint_eq(errs.n, 10);
	const char *f = L.files[0];
	check_error(&errs, 0, f, 7, 11, "a", "unknown field 'lnag'");
	check_error(&errs, 1, f, 10, 29, "b", "unknown list 'nowords'");
	check_error(&errs, 2, f, 14, 13, "c", "expected an action");
	check_error(&errs, 3, f, 13, 19, "c", "reach is a number");
	check_error(&errs, 4, f, 13, 26, "c", "lang is a string: only == and !=");
	check_error(&errs, 5, f, 15, 9, "a", "duplicate rule id 'a'");
	check_error(&errs, 6, f, 21, 32, "d", "expected a band");
	check_error(&errs, 7, f, 19, 13, "d", "unknown mode \"m2\"");
	check_error(&errs, 8, f, 20, 24, "d", "bad regex");
	check_error(&errs, 9, f, 23, 5, "t", "expect names unknown rule 'zz'");
	config_errors_clear(&errs);
	teardown(&L);
}
END_TEST

START_TEST(errors_of_several_files_are_all_reported)
{
	struct loaded L;
	struct config_errors errs = {0};
	const char *texts[] = {"rules:\n  - {id: a, when: lnag == x, action: label}\n",
			       "rules:\n  - {id: b, when: reach > 1, action: smite}\n",
			       "rules: {not: a list}\n", NULL};
	load_fail(&L, texts, NULL, &errs);
	ck_assert_uint_eq(errs.n, 3);
	check_error(&errs, 0, L.files[0], 2, 19, "a", "unknown field 'lnag'");
	check_error(&errs, 1, L.files[1], 2, 38, "b", "got \"smite\"");
	check_error(&errs, 2, L.files[2], 1, 8, "rules", "expected a list, got a mapping");
	config_errors_clear(&errs);
	teardown(&L);
}
END_TEST

/* A rule that restricts content without what its statement of reasons
 * needs is loaded, and named in a warning. */
START_TEST(restricting_rules_without_a_statement_are_warned)
{
	struct loaded L;
	load_ok(&L,
		"rules:\n"
		"  - {id: full, description: d, when: signal.a > 0, action: remove,\n"
		"     category: STATEMENT_CATEGORY_VIOLENCE, legal_ground: Terms 2}\n"
		"  - {id: bare, when: signal.b > 0, action: demote}\n"
		"  - {id: nolaw, description: d, when: signal.c > 0, action: label,\n"
		"     category: STATEMENT_CATEGORY_VIOLENCE}\n"
		"  - {id: trial, shadow: true, when: signal.d > 0, action: remove}\n",
		NULL);
	struct config_errors w = {0};
	ck_assert_uint_eq(dsa_rules_warnings(L.rs, &w), 2);
	ck_assert_uint_eq(w.n, 2);
	ck_assert_str_eq(w.v[0].key, "bare");
	ck_assert_int_eq(w.v[0].line, 4);
	ck_assert_msg(strstr(w.v[0].msg, "restricts content (DEMOTE) without category, "
					 "legal_ground or description"),
		      "%s", w.v[0].msg);
	ck_assert_str_eq(w.v[1].key, "nolaw");
	ck_assert_msg(strstr(w.v[1].msg, "without legal_ground: "), "%s", w.v[1].msg);
	config_errors_clear(&w);
	teardown(&L);

	/* The shipped rules give every restriction its statement. */
	struct config *cfg = load_config(TEST_CONFIGDIR "/arbiter.yaml");
	struct ruleset *rs = NULL;
	struct config_errors errs = {0};
	ck_assert_int_eq(rules_load(cfg, &rs, &errs), 0);
	ck_assert_uint_eq(dsa_rules_warnings(rs, &w), 0);
	rules_free(rs);
	config_free(cfg);
}
END_TEST

static Suite *rules_suite(void)
{
	Suite *s = suite_create("rules");
	TCase *tc = tcase_create("operators");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, text_equality_is_exact);
	tcase_add_test(tc, lang_matches_by_primary_subtag);
	tcase_add_test(tc, country_is_case_insensitive);
	tcase_add_test(tc, surface_and_content_type_by_enum_name);
	tcase_add_test(tc, author_id_is_exact);
	tcase_add_test(tc, reach_and_report_count);
	tcase_add_test(tc, created_at_against_dates);
	tcase_add_test(tc, signals_and_missing_signals);
	tcase_add_test(tc, signal_thresholds_hold_at_their_float_value);
	tcase_add_test(tc, attrs);
	tcase_add_test(tc, in_named_list);
	tcase_add_test(tc, contains_any_and_not);
	tcase_add_test(tc, matches_runs_on_normalised_text);
	tcase_add_test(tc, any_media_in_sha256_and_pdq);
	tcase_add_test(tc, boolean_combinations);
	suite_add_tcase(s, tc);

	tc = tcase_create("matching");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, latin_word_boundaries);
	tcase_add_test(tc, case_fullwidth_and_ignorables);
	tcase_add_test(tc, diacritics_fold_both_ways);
	tcase_add_test(tc, cyrillic_word_boundaries);
	tcase_add_test(tc, arabic_word_boundaries);
	tcase_add_test(tc, devanagari_word_boundaries);
	tcase_add_test(tc, cjk_and_thai_match_as_substrings);
	tcase_add_test(tc, terms_found_whatever_their_scripts);
	tcase_add_test(tc, optional_folds);
	tcase_add_test(tc, list_files_terms_and_comments);
	suite_add_tcase(s, tc);

	tc = tcase_create("modes");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, modes_by_date_window);
	tcase_add_test(tc, modes_by_country);
	tcase_add_test(tc, created_at_is_used_over_now);
	tcase_add_test(tc, config_switches_modes);
	tcase_add_test(tc, rules_expose_their_modes);
	suite_add_tcase(s, tc);

	tc = tcase_create("verdicts");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, shadow_rules_are_counted_never_acted_on);
	tcase_add_test(tc, action_severity_order);
	tcase_add_test(tc, most_severe_action_wins);
	tcase_add_test(tc, equal_severity_keeps_the_first_rule);
	tcase_add_test(tc, escalations_merge_per_queue);
	tcase_add_test(tc, rules_without_a_text_trigger_are_always_evaluated);
	tcase_add_test(tc, rules_sharing_a_condition);
	tcase_add_test(tc, evidence_names_lists_and_regexes);
	tcase_add_test(tc, verdict_json_fields);
	tcase_add_test(tc, rule_fields_are_exposed);
	tcase_add_test(tc, no_rule_files_give_an_empty_ruleset);
	tcase_add_test(tc, version_follows_the_files);
	tcase_add_test(tc, version_covers_mode_switches_not_directories);
	tcase_add_test(tc, run_tests_passing);
	tcase_add_test(tc, run_tests_failing);
	tcase_add_test(tc, tests_may_name_rules_of_other_files);
	tcase_add_test(tc, check_config_reports);
	tcase_add_test(tc, reload_gives_independent_rulesets);
	tcase_add_test(tc, contexts_are_independent);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, error_unknown_field);
	tcase_add_test(tc, error_syntax_is_positioned);
	tcase_add_test(tc, error_unknown_list);
	tcase_add_test(tc, error_unknown_mode);
	tcase_add_test(tc, error_type_mismatch);
	tcase_add_test(tc, error_unknown_enum_in_list_points_at_it);
	tcase_add_test(tc, error_bad_regex);
	tcase_add_test(tc, error_duplicate_rule_id);
	tcase_add_test(tc, error_duplicate_list_and_mode);
	tcase_add_test(tc, error_bad_action);
	tcase_add_test(tc, error_bad_escalate);
	tcase_add_test(tc, error_bad_escalate_is_not_cascaded);
	tcase_add_test(tc, error_bad_category_and_ground);
	tcase_add_test(tc, error_rule_that_does_nothing);
	tcase_add_test(tc, error_unknown_keys);
	tcase_add_test(tc, error_missing_when_or_id);
	tcase_add_test(tc, error_bad_test_event);
	tcase_add_test(tc, error_expect_names_unknown_rule);
	tcase_add_test(tc, error_list_problems);
	tcase_add_test(tc, error_mode_problems);
	tcase_add_test(tc, error_config_names_unknown_mode);
	tcase_add_test(tc, error_normalise_must_agree);
	tcase_add_test(tc, every_error_of_a_file_is_reported);
	tcase_add_test(tc, errors_of_several_files_are_all_reported);
	tcase_add_test(tc, restricting_rules_without_a_statement_are_warned);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(rules_suite());
}
