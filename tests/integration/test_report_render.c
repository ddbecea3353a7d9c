/* Integration: the HTML report of a ledger on a mock cluster renders in headless Chromium with
 * its charts, and its DOM holds the figures. Skipped (77) when chromium is not installed. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arbiter/v1/appeal_record.pb-c.h"
#include "arbiter/v1/audit_record.pb-c.h"
#include "dsa.h"
#include "harness.h"
#include "ledger.h"
#include "report.h"

#define HOUR 3600000LL
#define CHROMIUM_TIMEOUT_S 90

static char chromium[512];

/* The chromium binary on PATH, into CHROMIUM; false when there is none. */
static bool find_chromium(void)
{
	const char *path = getenv("PATH");
	char *copy = strdup(path ? path : "/usr/bin:/bin"), *save = NULL;
	bool found = false;
	for (char *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
		snprintf(chromium, sizeof(chromium), "%s/chromium", d);
		found = access(chromium, X_OK) == 0;
	}
	free(copy);
	return found;
}

/* --- A ledger whose figures are known ------------------------------------------------- */

struct chain {
	const char *name;
	uint64_t next;
	uint8_t prev[LEDGER_HASH_LEN];
};

static void put(struct harness *h, struct chain *c, Arbiter__V1__AuditRecord *r,
		const char *country, const char *lang, int64_t created, bool detected)
{
	char id[64];
	snprintf(id, sizeof(id), "%s-%04" PRIu64, c->name, c->next);
	r->record_id = id;
	r->content_id = id;
	if (!r->decision_id || !r->decision_id[0])
		r->decision_id = id;
	r->recorded_at_ms = r->decided_at_ms;
	r->source_topic = (char *)(strncmp(c->name, "content", 7) ? "moderation.decisions" :
								    "content.events");
	r->source_offset = (int64_t)c->next;
	struct dsa_input in = {.content_type = ARBITER__V1__CONTENT_TYPE__TEXT,
			       .created_at_ms = created,
			       .lang = lang,
			       .country = country,
			       .automated_detection = detected};
	struct dsa_scratch s;
	dsa_fill(r, &in, &s);
	uint8_t hash[LEDGER_HASH_LEN];
	ck_assert_int_eq(ledger_link(r, c->name, c->next, c->next ? c->prev : NULL, hash), 0);
	harness_produce_msg(h, "moderation.audit", c->name, &r->base);
	memcpy(c->prev, hash, LEDGER_HASH_LEN);
	c->next++;
}

/* March 2026: 40 automated removals in five countries and languages (Somali
 * only twice), 10 human demotions in Kenya during election-ke, 3 appeals of
 * which 2 reversed. Returns the number of actions. */
static int produce_ledger(struct harness *h, int64_t t0)
{
	static const char *const cats[] = {
		"STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH", "STATEMENT_CATEGORY_VIOLENCE",
		"STATEMENT_CATEGORY_SCAMS_AND_FRAUD", "STATEMENT_CATEGORY_PROTECTION_OF_MINORS"};
	static const char *const countries[] = {"DE", "FR", "KE", "BA", "DE"};
	static const char *const langs[] = {"de", "fr", "sw", "bs", "de"};
	struct chain a = {.name = "content.events/0"}, b = {.name = "moderation.decisions/0"};
	for (int i = 0; i < 40; i++) {
		Arbiter__V1__AuditRecord r = ARBITER__V1__AUDIT_RECORD__INIT;
		char *rule = i % 2 ? "hate.de" : "violence.any";
		r.kind = ARBITER__V1__DECISION_KIND__ACTION;
		r.action = ARBITER__V1__ACTION__REMOVE;
		r.actor = ARBITER__V1__ACTOR__AUTOMATED;
		r.category = (char *)cats[i % 4];
		r.ground = ARBITER__V1__GROUND__INCOMPATIBLE_CONTENT;
		r.legal_ground = "Terms 3.2";
		r.explanation = "violates the terms";
		r.decided_at_ms = t0 + (i % 28) * REPORT_DAY_MS + (i % 5) * HOUR;
		r.n_rule_ids = 1;
		r.rule_ids = &rule;
		bool somali = i == 7 || i == 21;
		put(h, &a, &r, somali ? "SO" : countries[i % 5], somali ? "so" : langs[i % 5],
		    r.decided_at_ms - (1000LL << (i % 12)), true);
	}
	for (int i = 0; i < 10; i++) {
		Arbiter__V1__AuditRecord r = ARBITER__V1__AUDIT_RECORD__INIT;
		char *mode = "election-ke";
		r.kind = ARBITER__V1__DECISION_KIND__ACTION;
		r.action = ARBITER__V1__ACTION__DEMOTE;
		r.actor = ARBITER__V1__ACTOR__HUMAN;
		r.category = "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS";
		r.ground = ARBITER__V1__GROUND__INCOMPATIBLE_CONTENT;
		r.legal_ground = "Terms 7: civic integrity";
		r.explanation = "false claim about polling stations";
		r.decided_at_ms = t0 + (9 + i / 2) * REPORT_DAY_MS + 3 * HOUR;
		r.queue = "election-integrity";
		r.review_deadline_ms = r.decided_at_ms + (i < 8 ? HOUR : -HOUR);
		r.n_modes = 1;
		r.modes = &mode;
		put(h, &b, &r, "KE", "sw", r.decided_at_ms - 5 * HOUR, true);
	}
	for (int i = 0; i < 3; i++) {
		int64_t filed = t0 + (20 + i) * REPORT_DAY_MS, decided = filed + (6 + i) * HOUR;
		for (int resolved = 0; resolved < 2; resolved++) {
			char appeal_id[16], rid[32];
			snprintf(appeal_id, sizeof(appeal_id), "ap-%d", i);
			Arbiter__V1__AuditRecord r = ARBITER__V1__AUDIT_RECORD__INIT;
			r.kind = resolved ? ARBITER__V1__DECISION_KIND__APPEAL_RESOLVED :
					    ARBITER__V1__DECISION_KIND__APPEAL_FILED;
			r.action = resolved ? ARBITER__V1__ACTION__RESTORE :
					      ARBITER__V1__ACTION__ACTION_UNSPECIFIED;
			r.actor = ARBITER__V1__ACTOR__HUMAN;
			r.appeal_id = appeal_id;
			r.appeal_outcome = resolved ?
						   (i < 2 ? ARBITER__V1__APPEAL_OUTCOME__REVERSED :
							    ARBITER__V1__APPEAL_OUTCOME__UPHELD) :
						   0;
			r.decided_at_ms = resolved ? decided : filed;
			r.queue = resolved ? "appeals" : "";
			r.review_deadline_ms = resolved ? filed + 24 * HOUR : 0;
			int64_t source = (int64_t)b.next;
			put(h, &b, &r, "KE", "sw", 0, false);
			Arbiter__V1__AppealRecord ap = ARBITER__V1__APPEAL_RECORD__INIT;
			snprintf(rid, sizeof(rid), "appeal-%d-%d", i, resolved);
			ap.record_id = rid;
			ap.appeal_id = appeal_id;
			ap.resolved = resolved;
			ap.original_action = ARBITER__V1__ACTION__DEMOTE;
			ap.outcome = r.appeal_outcome;
			ap.filed_at_ms = filed;
			ap.resolved_at_ms = resolved ? decided : 0;
			ap.source_topic = "moderation.decisions";
			ap.source_offset = source;
			harness_produce_msg(h, "moderation.appeals", appeal_id, &ap.base);
		}
	}
	harness_flush(h);
	return 50;
}

/* --- Running programs ------------------------------------------------------------------- */

/* Runs ARGV with stdout to OUT and stderr to ERR, killed after TIMEOUT_S.
 * Returns its exit status, or 128 + signal. */
static int run(char *const argv[], const char *out, const char *err, int timeout_s)
{
	pid_t parent = getpid(), pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		setpgid(0, 0); /* chromium's children die with it */
		if (getppid() != parent || !freopen(out, "w", stdout) || !freopen(err, "w", stderr))
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	int status = 0;
	pid_t done = 0;
	for (int i = 0; i < timeout_s * 20 && done == 0; i++) {
		done = waitpid(pid, &status, WNOHANG);
		if (done == 0)
			usleep(50 * 1000);
	}
	if (done == 0) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s: %s", path, strerror(errno));
	char *buf = NULL;
	size_t len = 0;
	FILE *o = open_memstream(&buf, &len);
	int c;
	while ((c = fgetc(f)) != EOF)
		fputc(c, o);
	fclose(f);
	fclose(o);
	return buf;
}

/* Runs headless chromium on URL with EXTRA (its output flag); STDOUT_PATH
 * gets what it prints. */
static int chromium_run(const char *dir, const char *url, const char *extra,
			const char *stdout_path)
{
	char profile[400], err[400], flag[600];
	snprintf(profile, sizeof(profile), "--user-data-dir=%s/chromium-profile", dir);
	snprintf(err, sizeof(err), "%s/chromium.err", dir);
	snprintf(flag, sizeof(flag), "%s", extra);
	char *argv[] = {chromium,
			"--headless",
			"--no-sandbox",
			"--disable-gpu",
			"--disable-quic",
			"--no-first-run",
			"--disable-background-networking",
			"--disable-component-update",
			"--disable-sync",
			"--disable-dev-shm-usage",
			"--hide-scrollbars",
			"--window-size=1280,1400",
			profile,
			flag,
			(char *)url,
			NULL};
	int rc = run(argv, stdout_path, err, CHROMIUM_TIMEOUT_S);
	if (rc) {
		char *text = slurp(err);
		fprintf(stderr, "chromium exited %d:\n%s\n", rc, text);
		free(text);
	}
	return rc;
}

/* Decodes the PNG at PATH (python3, zlib) and prints "W H COLOURS INK": its
 * size, the number of distinct colours and the per-mille of pixels that are
 * not near white. */
static const char png_stats[] =
	"import sys, zlib, struct\n"
	"d = open(sys.argv[1], 'rb').read()\n"
	"assert d[:8] == b'\\x89PNG\\r\\n\\x1a\\n'\n"
	"i, idat, w = 8, b'', 0\n"
	"while i < len(d):\n"
	"    n, t = struct.unpack('>I4s', d[i:i + 8]); c = d[i + 8:i + 8 + n]; i += 12 + n\n"
	"    if t == b'IHDR': w, h, depth, ct = struct.unpack('>IIBB', c[:10])\n"
	"    elif t == b'IDAT': idat += c\n"
	"assert depth == 8 and ct in (2, 6)\n"
	"bpp = 4 if ct == 6 else 3\n"
	"raw = zlib.decompress(idat); stride = w * bpp\n"
	"prev = bytearray(stride); colours = set(); ink = 0; pos = 0\n"
	"for y in range(h):\n"
	"    f = raw[pos]; row = bytearray(raw[pos + 1:pos + 1 + stride]); pos += 1 + stride\n"
	"    for x in range(stride):\n"
	"        a = row[x - bpp] if x >= bpp else 0; b = prev[x]; c = prev[x - bpp] if x >= bpp "
	"else 0\n"
	"        if f == 1: row[x] = (row[x] + a) & 255\n"
	"        elif f == 2: row[x] = (row[x] + b) & 255\n"
	"        elif f == 3: row[x] = (row[x] + (a + b) // 2) & 255\n"
	"        elif f == 4:\n"
	"            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)\n"
	"            row[x] = (row[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & "
	"255\n"
	"    for x in range(0, stride, bpp):\n"
	"        px = bytes(row[x:x + 3]); colours.add(px)\n"
	"        if min(px) < 235: ink += 1\n"
	"    prev = row\n"
	"print(w, h, len(colours), ink * 1000 // (w * h))\n";

START_TEST(the_html_report_renders_with_its_charts)
{
	struct harness h;
	harness_start(&h, 2);
	FILE *log = fopen(h.log, "w");
	fclose(log);
	int64_t t0;
	ck_assert_int_eq(report_day_start("2026-03-01", &t0), 0);
	int actions = produce_ledger(&h, t0);

	char out[400], err[400], dir[400], url[600];
	snprintf(dir, sizeof(dir), "%s/report", h.dir);
	snprintf(out, sizeof(out), "%s/ctl.out", h.dir);
	snprintf(err, sizeof(err), "%s/ctl.err", h.dir);
	char *ctl = getenv("ARBITERCTL");
	ck_assert_ptr_nonnull(ctl);
	char *argv[] = {ctl,         "report",     "--brokers", (char *)h.bootstrap,
			"--from",    "2026-03-01", "--to",      "2026-03-31",
			"--out",     dir,          "--format",  "html",
			"--service", "Example",    NULL};
	int rc = run(argv, out, err, 60);
	char *text = slurp(err);
	ck_assert_msg(rc == 0, "report exited %d: %s", rc, text);
	free(text);

	/* A screenshot of the first screen: not blank, charts in colour. */
	char png[400], flag[500];
	snprintf(png, sizeof(png), "%s/screen.png", h.dir);
	snprintf(flag, sizeof(flag), "--screenshot=%s", png);
	snprintf(url, sizeof(url), "file://%s/report.html", dir);
	ck_assert_int_eq(chromium_run(h.dir, url, flag, out), 0);
	char stats[400];
	snprintf(stats, sizeof(stats), "%s/stats.txt", h.dir);
	char *py[] = {"/usr/bin/env", "python3", "-c", (char *)png_stats, png, NULL};
	ck_assert_int_eq(run(py, stats, err, 60), 0);
	text = slurp(stats);
	int w = 0, hgt = 0, colours = 0, ink = 0;
	ck_assert_int_eq(sscanf(text, "%d %d %d %d", &w, &hgt, &colours, &ink), 4);
	free(text);
	ck_assert_int_eq(w, 1280);
	ck_assert_int_eq(hgt, 1400);
	ck_assert_msg(colours >= 40, "only %d colours", colours); /* palette, text, shading */
	ck_assert_msg(ink >= 30, "only %d per mille of the page drawn", ink);
	/* REPORT_RENDER_KEEP=DIR keeps the page and its screenshot, to look at. */
	const char *keep = getenv("REPORT_RENDER_KEEP");
	if (keep && keep[0]) {
		char *cp = NULL;
		ck_assert_int_ge(asprintf(&cp, "cp %s/report.html %s %s/", dir, png, keep), 0);
		ck_assert_int_eq(system(cp), 0);
		free(cp);
	}

	/* The DOM holds the figures. */
	char dom[400];
	snprintf(dom, sizeof(dom), "%s/dom.html", h.dir);
	ck_assert_int_eq(chromium_run(h.dir, url, "--dump-dom", dom), 0);
	text = slurp(dom);
	char want[200];
	snprintf(want, sizeof(want), "id=\"tile-actions\" data-value=\"%d\"", actions);
	ck_assert_msg(strstr(text, want), "no %s", want);
	ck_assert_ptr_nonnull(strstr(text, "id=\"appeals-filed\" data-value=\"3\""));
	ck_assert_ptr_nonnull(strstr(text, "id=\"appeals-reversed\" data-value=\"2\""));
	ck_assert_ptr_nonnull(strstr(text, "Ledger verified: intact"));
	ck_assert_ptr_nonnull(strstr(text, "id=\"chart-actions\""));
	ck_assert_ptr_nonnull(strstr(text, "class=\"mode\" data-mode=\"0\""));
	/* Somali, with two actions, has a bar of its own. */
	ck_assert_ptr_nonnull(strstr(text, ">so</text>"));
	ck_assert_ptr_nonnull(strstr(text, "election-ke (2026-03-10 to 2026-03-14)"));
	free(text);
	harness_stop(&h);
}
END_TEST

int main(void)
{
	if (!find_chromium()) {
		fprintf(stderr, "chromium is not installed (scripts/setup installs it): skipped\n");
		return 77;
	}
	Suite *s = suite_create("report_render");
	TCase *tc = tcase_create("render");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, the_html_report_renders_with_its_charts);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
