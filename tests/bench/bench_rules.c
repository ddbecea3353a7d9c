/* Benchmark of the rules engine alone: events/s on one core for 10, 100 and 1,000 rules over 1k,
 * 10k and 50k terms; the same with windowed counter conditions (both phases, values given as
 * Redis would); and rules matching media against a PDQ hash bank of a million hashes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "hashbank.h"
#include "rules.h"

#define CORPUS 50000

/* Deterministic pseudo-random numbers (xorshift), so runs compare. */
static uint64_t bench_state = 88172645463325252ULL;

static uint64_t bench_rand(void)
{
	bench_state ^= bench_state << 13;
	bench_state ^= bench_state >> 7;
	bench_state ^= bench_state << 17;
	return bench_state;
}

/* Syllables in four scripts, so that terms and texts are not all ASCII. */
static const char *const bench_syl[] = {
	"ka", "ta", "mba", "ri", "so", "ne", "lu", "wo", "zi", "pe", /* Latin */
	"ра", "ко", "ми",  "ду", "ле", "но", "ст", "ви",             /* Cyrillic */
	"का", "री", "सो",  "ने",  "लु",  "मा",                         /* Devanagari */
	"سا", "لم", "كو",  "ري",                                     /* Arabic */
};
#define N_SYL (sizeof(bench_syl) / sizeof(bench_syl[0]))

/* A pseudo-word of 2-4 syllables in one script. */
/* A pseudo-word in SCRIPT (0 Latin, 1 Cyrillic, 2 Devanagari, 3 Arabic), or in a
 * random one for -1. BENCH_LATIN=1 keeps everything Latin, to separate the
 * cost of scanning low-entropy UTF-8 from the rest. */
static void bench_word_in(char *out, size_t len, int want)
{
	static int latin = -1;
	if (latin < 0)
		latin = getenv("BENCH_LATIN") != NULL;
	size_t script = latin     ? 0 :
			want >= 0 ? (size_t)want :
				    bench_rand() % 4,
	       lo[] = {0, 10, 18, 24}, hi[] = {10, 18, 24, N_SYL};
	int n = 2 + (int)(bench_rand() % 3);
	out[0] = '\0';
	for (int i = 0; i < n; i++)
		strncat(out, bench_syl[lo[script] + bench_rand() % (hi[script] - lo[script])],
			len - strlen(out) - 1);
}

static void bench_word(char *out, size_t len)
{
	bench_word_in(out, len, -1);
}

/* Syllables that only list terms use: a policy list names a small part of a
 * language's vocabulary, not a prefix of every word in it. */
static const char *const bench_term_syl[] = {
	"qu", "zh", "xa", "vy", "щу", "жа", "क्ष", "ज्ञ", "ظا", "ضو",
};

/* A list term: two term syllables and its index spelled in three more Latin
 * syllables, so that terms are distinct and the generated texts match one
 * only where it was put on purpose. */
static void bench_term(char *out, size_t len, int t)
{
	out[0] = '\0';
	for (int k = 0; k < 2; k++)
		strncat(out, bench_term_syl[bench_rand() % (getenv("BENCH_LATIN") ? 4 : 10)],
			len - strlen(out) - 1);
	for (int k = 0; k < 3; k++) {
		strncat(out, bench_syl[t % 10], len - strlen(out) - 1);
		t /= 10;
	}
	strncat(out, "x", len - strlen(out) - 1);
}

/* Counter conditions in bench_write_rules: none; on the report-count rules (one in 20), which
 * touch them only when the rest holds; and those plus one rule counting every event. */
enum bench_counters { BENCH_NO_COUNTERS, BENCH_GATED_COUNTERS, BENCH_EVERY_EVENT };

static void bench_write_rules(const char *dir, int rules, int terms, char ***term_out,
			      enum bench_counters counters)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/rules.yaml", dir);
	FILE *f = fopen(path, "w");
	int lists = rules / 2 > 0 ? rules / 2 : 1;
	char **all = calloc((size_t)terms, sizeof(char *));
	fprintf(f, "lists:\n");
	for (int l = 0; l < lists; l++) {
		char lp[512];
		snprintf(lp, sizeof(lp), "%s/list%d.txt", dir, l);
		FILE *lf = fopen(lp, "w");
		for (int t = l; t < terms; t += lists) {
			char w1[96], w2[64];
			bench_term(w1, sizeof(w1), t);
			if (bench_rand() % 3 == 0) { /* a phrase */
				bench_word(w2, sizeof(w2));
				strncat(w1, " ", sizeof(w1) - strlen(w1) - 1);
				strncat(w1, w2, sizeof(w1) - strlen(w1) - 1);
			}
			fprintf(lf, "%s\n", w1);
			all[t] = strdup(w1);
		}
		fclose(lf);
		fprintf(f, "  l%d: {file: list%d.txt}\n", l, l);
	}
	static const char *const langs[] = {"sw", "bs", "hi", "ar", "id"};
	fprintf(f, "rules:\n");
	for (int r = 0; r < rules; r++) {
		fprintf(f, "  - id: r%d\n", r);
		int kind = r % 20;
		if (kind == 0 && getenv("BENCH_NO_REGEX"))
			fprintf(f, "    when: report_count >= 7 and reach > 19990\n");
		else if (kind == 0)
			fprintf(f, "    when: text matches /(buy|win)\\s+now\\s+%d/i\n", r);
		else if (kind == 1 && counters != BENCH_NO_COUNTERS)
			fprintf(f,
				"    when: report_count >= %d and reach > 19800 and "
				"count(by:author_id, window:10m) >= 5\n",
				5 + r % 3);
		else if (kind == 1)
			fprintf(f, "    when: report_count >= %d and reach > 19800\n", 5 + r % 3);
		else
			fprintf(f,
				"    when: lang == \"%s\" and text contains_any l%d and "
				"signal.violence >= 0.5\n",
				langs[r % 5], r % lists);
		if (r % 2)
			fprintf(f, "    escalate: {queue: q%d, band: high, sla: 4h}\n", r % 10);
		fprintf(f, "    action: %s\n", r % 3 ? "remove" : "label");
		if (kind == 3)
			fprintf(f, "    shadow: true\n");
	}
	if (counters == BENCH_EVERY_EVENT)
		fprintf(f, "  - id: campaign\n"
			   "    when: distinct(author_id, by:text, window:1h) >= 300\n"
			   "    action: label\n");
	fclose(f);
	snprintf(path, sizeof(path), "%s/arbiter.yaml", dir);
	f = fopen(path, "w");
	fprintf(f, "rules:\n  files: [rules.yaml]\n");
	fclose(f);
	*term_out = all;
}

/* Events of 10-60 words, each event in one script as real posts mostly are
 * (BENCH_MIXED=1 mixes scripts word by word); one in 50 carries a term. */
static Arbiter__V1__ContentEvent **bench_corpus(char **terms, int n_terms)
{
	static const char *const langs[] = {"sw", "bs", "hi", "ar", "id"};
	Arbiter__V1__ContentEvent **evs = calloc(CORPUS, sizeof(*evs));
	for (int i = 0; i < CORPUS; i++) {
		Arbiter__V1__ContentEvent *ev = calloc(1, sizeof(*ev));
		arbiter__v1__content_event__init(ev);
		char text[2048] = "";
		int words = 10 + (int)(bench_rand() % 51);
		int script = getenv("BENCH_MIXED") ? -1 : i % 4;
		for (int w = 0; w < words; w++) {
			char word[64];
			bench_word_in(word, sizeof(word), script);
			strncat(text, word, sizeof(text) - strlen(text) - 2);
			strcat(text, " ");
		}
		if (i % 50 == 0)
			strncat(text, terms[bench_rand() % (uint64_t)n_terms],
				sizeof(text) - strlen(text) - 1);
		static char authors[1000][8];
		if (!authors[i % 1000][0])
			snprintf(authors[i % 1000], sizeof(authors[0]), "a%d", i % 1000);
		ev->event_id = "e";
		ev->content_id = "c";
		ev->author_id = authors[i % 1000];
		ev->text = strdup(text);
		ev->lang = (char *)langs[i % 5];
		ev->reach = bench_rand() % 20000;
		ev->report_count = (uint32_t)(bench_rand() % 8);
		Arbiter__V1__ContentEvent__SignalsEntry *s = calloc(1, sizeof(*s));
		arbiter__v1__content_event__signals_entry__init(s);
		s->key = "violence";
		s->value = (float)(bench_rand() % 1000) / 1000.0f;
		ev->n_signals = 1;
		ev->signals = calloc(1, sizeof(*ev->signals));
		ev->signals[0] = s;
		evs[i] = ev;
	}
	return evs;
}

/* CLOCK's time in seconds: CLOCK_MONOTONIC for wall time, CLOCK_THREAD_CPUTIME_ID for this
 * thread's CPU. */
static double bench_now(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long bench_hwm_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = 0;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

/* Loads DIR's config and ruleset; exits on failure. */
static void bench_load(const char *dir, struct config **cfg, struct ruleset **rs, double *ms)
{
	char cfgpath[600];
	snprintf(cfgpath, sizeof(cfgpath), "%s/arbiter.yaml", dir);
	struct diag_list errs = {0};
	double t0 = bench_now(CLOCK_MONOTONIC);
	if (config_load(cfgpath, cfg, &errs) < 0 || rules_load(*cfg, rs, &errs) < 0) {
		diag_print(&errs, stderr);
		exit(1);
	}
	*ms = (bench_now(CLOCK_MONOTONIC) - t0) * 1000;
	diag_clear(&errs);
}

#define BENCH_WINDOWS 3

/* Evaluates EVS for SECONDS of this thread's CPU: both phases where an event asks for counters,
 * with VALUE for each (below every threshold: the verdicts stay those of the plain engine).
 * Returns events per CPU second, the best of BENCH_WINDOWS windows of SECONDS / BENCH_WINDOWS
 * each, as the other micro-benchmarks take theirs, so that the figure is the engine's and not the
 * shared machine's slow spells (which move a single window's rate by a third here); the share
 * flagged and the share that asked for counters in *FLAGGED and *ASKED. */
static double bench_run(const struct ruleset *rs, Arbiter__V1__ContentEvent **evs, int n_evs,
			double seconds, double *flagged, double *asked)
{
	struct rules_ctx *ctx = rules_ctx_new(rs);
	size_t nc = rules_counter_count(rs) + 1;
	struct rules_counter_op *ops = calloc(nc, sizeof(*ops));
	uint64_t *values = calloc(nc, sizeof(*values));
	long n = 0, fl = 0, ask = 0;
	double best = 0;
	for (int w = 0; w < BENCH_WINDOWS; w++) {
		long wn = 0;
		double t0 = bench_now(CLOCK_THREAD_CPUTIME_ID), t1;
		do {
			for (int i = 0; i < n_evs; i++) {
				const struct rules_counter_op *want;
				size_t k;
				const struct rules_verdict *v =
					rules_eval_begin(ctx, evs[i], 0, &want, &k);
				if (k) {
					memcpy(ops, want, k * sizeof(*ops));
					for (size_t j = 0; j < k; j++)
						values[j] = 2;
					v = rules_eval_finish(ctx, evs[i], 0, ops, values, k);
					ask++;
				}
				fl += v->action != ARBITER__V1__ACTION__NONE || v->n_escalations;
			}
			wn += n_evs;
			t1 = bench_now(CLOCK_THREAD_CPUTIME_ID);
		} while (t1 - t0 < seconds / BENCH_WINDOWS);
		n += wn;
		if ((double)wn / (t1 - t0) > best)
			best = (double)wn / (t1 - t0);
	}
	*flagged = 100.0 * (double)fl / (double)n;
	*asked = 100.0 * (double)ask / (double)n;
	free(ops);
	free(values);
	rules_ctx_free(ctx);
	return best;
}

static void bench_free_corpus(Arbiter__V1__ContentEvent **evs)
{
	for (int i = 0; i < CORPUS; i++) {
		free(evs[i]->text);
		free(evs[i]->signals[0]);
		free(evs[i]->signals);
		free(evs[i]);
	}
	free(evs);
}

static void bench_rm(const char *dir)
{
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

/* One row: RULES rules over TERMS terms, with COUNTERS. */
static void bench_row(int rules, int terms, enum bench_counters counters, double seconds)
{
	static const char *const what[] = {"", "gated counters", "+ every event"};
	char dir[] = "/tmp/bench-rules-XXXXXX";
	if (!mkdtemp(dir))
		exit(1);
	char **terms_v;
	bench_write_rules(dir, rules, terms, &terms_v, counters);
	struct config *cfg = NULL;
	struct ruleset *rs = NULL;
	double compile_ms, flagged, asked;
	bench_load(dir, &cfg, &rs, &compile_ms);
	Arbiter__V1__ContentEvent **evs = bench_corpus(terms_v, terms);
	double rate = bench_run(rs, evs, CORPUS, seconds, &flagged, &asked);
	printf("%6d %7d %11.0f %12.0f %9.0f %7.1f%% %11.1f", rules, terms, compile_ms, rate,
	       1e9 / rate, flagged, (double)rules_memory(rs) / (1024.0 * 1024.0));
	if (counters != BENCH_NO_COUNTERS)
		printf("  %-15s %zu counters, %.2f%% of events ask Redis", what[counters],
		       rules_counter_count(rs), asked);
	printf("\n");
	fflush(stdout);
	rules_free(rs);
	config_free(cfg);
	bench_free_corpus(evs);
	for (int t = 0; t < terms; t++)
		free(terms_v[t]);
	free(terms_v);
	bench_rm(dir);
}

/* A bank of N random PDQ hashes and one rule on it; events with one random image each (a
 * random query: the index's usual work, as nearly every image is unknown). */
static void bench_bank(size_t n, double seconds)
{
	char dir[] = "/tmp/bench-rules-XXXXXX", path[600];
	if (!mkdtemp(dir))
		exit(1);
	snprintf(path, sizeof(path), "%s/bank.txt", dir);
	FILE *f = fopen(path, "w");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%016llx%016llx%016llx%016llx\n", (unsigned long long)bench_rand(),
			(unsigned long long)bench_rand(), (unsigned long long)bench_rand(),
			(unsigned long long)bench_rand());
	fclose(f);
	snprintf(path, sizeof(path), "%s/rules.yaml", dir);
	f = fopen(path, "w");
	fprintf(f, "banks: {b: {algorithm: pdq, file: bank.txt, min_quality: 50}}\n"
		   "rules: [{id: known, when: media in bank b within 31, action: remove}]\n");
	fclose(f);
	snprintf(path, sizeof(path), "%s/arbiter.yaml", dir);
	f = fopen(path, "w");
	fprintf(f, "rules: {files: [rules.yaml]}\n");
	fclose(f);
	struct config *cfg = NULL;
	struct ruleset *rs = NULL;
	double load_ms, flagged, asked;
	bench_load(dir, &cfg, &rs, &load_ms);
	enum { N_EVS = 20000 };
	Arbiter__V1__ContentEvent **evs = calloc(N_EVS, sizeof(*evs));
	for (int i = 0; i < N_EVS; i++) {
		Arbiter__V1__ContentEvent *ev = calloc(1, sizeof(*ev));
		arbiter__v1__content_event__init(ev);
		Arbiter__V1__Media *m = calloc(1, sizeof(*m));
		arbiter__v1__media__init(m);
		m->pdq = malloc(65);
		snprintf(m->pdq, 65, "%016llx%016llx%016llx%016llx",
			 (unsigned long long)bench_rand(), (unsigned long long)bench_rand(),
			 (unsigned long long)bench_rand(), (unsigned long long)bench_rand());
		m->pdq_quality = 90;
		ev->n_media = 1;
		ev->media = calloc(1, sizeof(*ev->media));
		ev->media[0] = m;
		ev->event_id = "e";
		ev->content_id = "c";
		evs[i] = ev;
	}
	double rate = bench_run(rs, evs, N_EVS, seconds, &flagged, &asked);
	printf("bank: %zu PDQ hashes (loaded in %.0f ms, %.1f MiB), media in bank within 31: "
	       "%.0f lookups/s through the engine (one random image per event, %.1f%% matched)\n",
	       hashbank_size(rules_bank(rs, 0, NULL)), load_ms,
	       (double)hashbank_memory(rules_bank(rs, 0, NULL)) / (1024.0 * 1024.0), rate, flagged);
	for (int i = 0; i < N_EVS; i++) {
		free(evs[i]->media[0]->pdq);
		free(evs[i]->media[0]);
		free(evs[i]->media);
		free(evs[i]);
	}
	free(evs);
	rules_free(rs);
	config_free(cfg);
	bench_rm(dir);
}

int main(void)
{
	static const int rule_counts[] = {10, 100, 1000};
	static const int term_counts[] = {1000, 10000, 50000};
	printf("events/s: one thread's CPU time, the best of %d windows per row\n", BENCH_WINDOWS);
	printf("%6s %7s %11s %12s %9s %8s %11s\n", "rules", "terms", "compile ms", "events/s",
	       "ns/event", "flagged", "ruleset MiB");
	/* BENCH_RULES=N and BENCH_TERMS=N run one row only, for profiling. */
	const char *only_rules = getenv("BENCH_RULES"), *only_terms = getenv("BENCH_TERMS");
	/* BENCH_SECONDS=N times each row for N seconds of CPU (2 by default), so that a profile is
	 * not mostly set-up. */
	double seconds = getenv("BENCH_SECONDS") ? atof(getenv("BENCH_SECONDS")) : 2.0;
	for (size_t ri = 0; ri < 3; ri++) {
		for (size_t ti = 0; ti < 3; ti++) {
			if ((only_rules && atoi(only_rules) != rule_counts[ri]) ||
			    (only_terms && atoi(only_terms) != term_counts[ti]))
				continue;
			bench_row(rule_counts[ri], term_counts[ti], BENCH_NO_COUNTERS, seconds);
		}
	}
	printf("peak RSS of this process: %.1f MiB\n", (double)bench_hwm_kib() / 1024.0);
	/* BENCH_COUNTERS=0 and BENCH_BANK=0 skip the rows below. */
	const char *bc = getenv("BENCH_COUNTERS"), *bb = getenv("BENCH_BANK");
	if (!bc || atoi(bc)) {
		printf("with windowed counters (both phases; Redis's answer given, not fetched):\n");
		bench_row(1000, 50000, BENCH_NO_COUNTERS, seconds);
		bench_row(1000, 50000, BENCH_GATED_COUNTERS, seconds);
		bench_row(1000, 50000, BENCH_EVERY_EVENT, seconds);
	}
	if (!bb || atoi(bb))
		bench_bank(1000000, seconds);
	return 0;
}
