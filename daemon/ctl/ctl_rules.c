/* arbiterctl test-rules and eval: the rules engine in the hands of ops and policy staff. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "event.h"
#include "log.h"
#include "policy.h"
#include "rules_expr.h"

/* Loads the policy at PATH as arbiterd would, printing every error and warning. */
static int ctl_rules_load(const char *path, struct policy **p)
{
	struct diag_list diags = {0};
	int rc = policy_load(path, p, &diags);
	diag_print(&diags, stderr);
	if (rc < 0)
		fprintf(stderr, "%s: %zu error(s)\n", path, diags.n_errors);
	diag_clear(&diags);
	return rc;
}

int ctl_test_rules(int argc, char **argv)
{
	if (argc != 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fprintf(argc == 2 ? stdout : stderr,
			"Usage: arbiterctl test-rules CONFIG\n\n"
			"Loads CONFIG's rule files and runs every tests: case in them; prints each\n"
			"failure with what was expected and what came out, then a count. Exit 0\n"
			"when all pass, 1 on any failure or load error.\n");
		return argc == 2 ? 0 : 2;
	}
	struct policy *p = NULL;
	int rc = ctl_rules_load(argv[1], &p);
	int failed = rc < 0 ? 1 : rules_run_tests(p->rules, stdout);
	policy_free(p);
	return failed != 0 ? 1 : 0;
}

int ctl_eval(int argc, char **argv)
{
	static const struct option opts[] = {
		{"now", required_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int64_t now = log_now_ms();
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "n:h", opts, NULL)) != -1) {
		if (c == 'n' && rexpr_parse_date(optarg, strlen(optarg), &now) == 0)
			continue;
		fprintf(c == 'h' ? stdout : stderr,
			"Usage: arbiterctl eval [--now DATE] CONFIG < events.jsonl\n\n"
			"Evaluates each content event (one JSON object per line, proto field names)\n"
			"against CONFIG's rules and prints one verdict per event as a JSON line:\n"
			"matched rules, applied action, escalations, shadow hits, evidence, active\n"
			"modes and ruleset version. --now sets the time for mode windows of events\n"
			"without created_at_ms (default: now). Invalid lines are reported on stderr\n"
			"with their reason, and make the exit status 1.\n");
		return c == 'h' ? 0 : 2;
	}
	if (optind != argc - 1) {
		fprintf(stderr, "Usage: arbiterctl eval [--now DATE] CONFIG < events.jsonl\n");
		return 2;
	}
	struct policy *p = NULL;
	if (ctl_rules_load(argv[optind], &p) < 0)
		return 1;
	const struct ruleset *rs = p->rules;
	struct rules_ctx *ctx = rules_ctx_new(rs);
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long lineno = 0, bad = 0;
	while (ctx && (len = getline(&line, &cap, stdin)) >= 0) {
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (!len)
			continue;
		Arbiter__V1__ContentEvent *ev = NULL;
		char reason[EVENT_REASON_MAX];
		/* The daemon's own decoder: what it would dead-letter, eval rejects. */
		if (event_content_decode(CONFIG_FORMAT_JSON, line, (size_t)len, &ev, reason) < 0) {
			fprintf(stderr, "stdin:%ld: %s\n", lineno, reason);
			bad++;
			continue;
		}
		const struct rules_verdict *v = rules_eval(ctx, ev, now);
		json_t *j = v ? rules_verdict_json(rs, ev, v) : NULL;
		char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
		if (s)
			puts(s);
		free(s);
		json_decref(j);
		event_content_free(ev);
	}
	free(line);
	rules_ctx_free(ctx);
	policy_free(p);
	return bad ? 1 : 0;
}
