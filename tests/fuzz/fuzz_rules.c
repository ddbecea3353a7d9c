/* libFuzzer target: a rule file through the policy loader (config, rule file, lists, the
 * condition checker, the Hyperscan compile, the checks between config and rules), then its
 * own tests: cases and the sample events through the compiled rules. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "event.h"
#include "fuzz_util.h"
#include "policy.h"

/* Sample events evaluated against every ruleset that loads. */
#define FUZZ_EVENTS 24

static char *cfg_path, *rules_path;
static FILE *devnull;
static Arbiter__V1__ContentEvent *events[FUZZ_EVENTS];
static size_t n_events;

/* Every few lines of config/samples/content.jsonl, decoded once. */
static void load_events(void)
{
	FILE *f = fopen(FUZZ_SRCDIR "/config/samples/content.jsonl", "r");
	if (!f) {
		perror("fuzz_rules: content.jsonl");
		abort();
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	for (size_t i = 0; n_events < FUZZ_EVENTS && (len = getline(&line, &cap, f)) > 0; i++) {
		char reason[EVENT_REASON_MAX];
		if (i % 7 == 0 && event_content_decode(CONFIG_FORMAT_JSON, line, (size_t)len,
						       &events[n_events], reason) == 0)
			n_events++;
	}
	free(line);
	fclose(f);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *dir = fuzz_setup();
	/* DIR/rules/fuzz.yaml is the input; "../lists/NAME" reaches the sample lists. */
	char *rules_dir = fuzz_path(dir, "rules");
	char *lists = fuzz_path(dir, "lists");
	if (mkdir(rules_dir, 0700) || symlink(FUZZ_SRCDIR "/config/lists", lists)) {
		perror("fuzz_rules: scratch tree");
		abort();
	}
	rules_path = fuzz_path(rules_dir, "fuzz.yaml");
	cfg_path = fuzz_path(dir, "arbiter.yaml");
	/* The sample config's queues and monitored mode, and short names for short inputs. */
	static const char cfg[] =
		"rules: {files: [rules/fuzz.yaml]}\n"
		"review:\n"
		"  queues:\n"
		"    incitement: {sla: {urgent: 1h, high: 2h}}\n"
		"    incitement-sw: {serves: incitement, languages: [sw]}\n"
		"    hate-speech: {}\n"
		"    election-integrity: {sla: {urgent: 30m, high: 4h}}\n"
		"    election-integrity-ke: {serves: election-integrity, countries: [KE]}\n"
		"    scams: {sla: {normal: 48h}}\n"
		"    ads-review: {sla: {low: 7d}}\n"
		"    q: {}\n"
		"monitors: {modes: []}\n";
	fuzz_write_file(cfg_path, cfg, sizeof(cfg) - 1);
	free(rules_dir);
	free(lists);
	devnull = fopen("/dev/null", "w");
	if (!devnull)
		abort();
	load_events();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_write_file(rules_path, data, size);
	struct diag_list diags = {0};
	struct policy *p = NULL;
	int rc = policy_load(cfg_path, &p, &diags);
	if (rc == -EINVAL && diags.n_errors == 0)
		abort(); /* refused without saying why */
	diag_print(&diags, devnull);
	if (rc == 0) {
		rules_run_tests(p->rules, devnull);
		struct rules_ctx *ctx = rules_ctx_new(p->rules);
		for (size_t i = 0; ctx && i < n_events; i++) {
			const struct rules_verdict *v = rules_eval(ctx, events[i], 1767225600000);
			if (!v)
				continue;
			json_t *j = rules_verdict_json(p->rules, events[i], v);
			json_decref(j);
		}
		rules_ctx_free(ctx);
		policy_free(p);
	}
	diag_clear(&diags);
	return 0;
}
