/* The policy loader: config, ruleset and the checks between them, in one call for arbiterd's
 * start and reload, arbiterctl check, test-rules and eval. */
#include "policy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dsa.h"

/* A rule that escalates to a queue the config does not declare would lose its escalations. */
static void policy_check_queues(const struct policy *p, struct diag_list *diags)
{
	const struct config *cfg = p->cfg;
	for (size_t i = 0; i < rules_count(p->rules); i++) {
		const struct rules_rule *r = rules_rule(p->rules, i);
		if (!r->has_escalate || config_queue_find(cfg, r->escalate.queue))
			continue;
		char names[512];
		size_t off = 0;
		names[0] = '\0';
		for (size_t j = 0; j < cfg->review.n_queues && off < sizeof(names); j++) {
			int n = snprintf(names + off, sizeof(names) - off, "%s%s", j ? ", " : "",
					 cfg->review.queues[j].name);
			off += n > 0 ? (size_t)n : 0;
		}
		diag_error(diags, r->file, r->line, 1, r->id,
			   "escalates to queue \"%s\", which is not declared under review.queues "
			   "of %s (%s%s)",
			   r->escalate.queue, cfg->path ? cfg->path : "the config",
			   cfg->review.n_queues ? "declared: " : "none declared", names);
	}
}

/* Monitors following a mode no rule file declares would never be fed. */
static void policy_check_modes(const struct policy *p, struct diag_list *diags)
{
	const struct config *cfg = p->cfg;
	for (size_t i = 0; i < cfg->monitors.n_modes; i++) {
		if (rules_mode_declared(p->rules, cfg->monitors.modes[i]))
			continue;
		diag_error(diags, cfg->path, 0, 0, "monitors.modes",
			   "mode \"%s\" is not declared in any rule file", cfg->monitors.modes[i]);
	}
}

/* Counters live in Redis, shared by every instance: a ruleset with counters needs the config to
 * say where Redis is, rather than fall back to a default no one chose. */
static void policy_check_counters(const struct policy *p, struct diag_list *diags)
{
	if (!rules_counter_count(p->rules) || p->cfg->redis.configured)
		return;
	const struct rules_counter_info *c = rules_counter(p->rules, 0);
	const struct rules_rule *r = rules_rule(p->rules, c->rule);
	diag_error(diags, r->file, r->line, 1, r->id,
		   "uses %s, a windowed counter kept in Redis: %s needs a redis: section "
		   "(redis.address)",
		   c->name, p->cfg->path ? p->cfg->path : "the config");
}

static const char *policy_action_name(Arbiter__V1__Action a)
{
	const ProtobufCEnumValue *v =
		protobuf_c_enum_descriptor_get_value(&arbiter__v1__action__descriptor, (int)a);
	return v ? v->name : "?";
}

/* A rule that restricts content runs without category, legal ground or description, but
 * its audit records' statements of reasons fall short of the DSA: warn, at the rule. */
static void policy_warn_statements(const struct policy *p, struct diag_list *diags)
{
	for (size_t i = 0; i < rules_count(p->rules); i++) {
		const struct rules_rule *r = rules_rule(p->rules, i);
		if (r->shadow || !dsa_action_map(r->action))
			continue;
		const char *need[] = {
			!r->category ? "category" : NULL,
			!r->legal_ground || !r->legal_ground[0] ? "legal_ground" : NULL,
			!r->description || !r->description[0] ? "description" : NULL,
		};
		size_t total = 0;
		for (size_t k = 0; k < 3; k++)
			total += need[k] != NULL;
		if (!total)
			continue;
		/* "category, legal_ground or description", as many as are missing. */
		char missing[64] = "";
		for (size_t k = 0, m = 0; k < 3; k++) {
			if (!need[k])
				continue;
			size_t len = strlen(missing);
			snprintf(missing + len, sizeof(missing) - len, "%s%s",
				 !m             ? "" :
				 m + 1 == total ? " or " :
						  ", ",
				 need[k]);
			m++;
		}
		diag_warn(diags, r->file, r->line, 1, r->id,
			  "restricts content (%s) without %s: its DSA statement of reasons will "
			  "lack it, and audit export --dsa will leave it out",
			  policy_action_name(r->action), missing);
	}
}

int policy_load(const char *path, struct policy **out, struct diag_list *diags)
{
	return policy_load_at(path, NULL, out, diags);
}

int policy_load_at(const char *path, const char *base_dir, struct policy **out,
		   struct diag_list *diags)
{
	*out = NULL;
	struct policy *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	size_t errors = diags->n_errors;
	int rc = config_load_at(path, base_dir, &p->cfg, diags);
	if (rc == 0)
		rc = rules_load(p->cfg, &p->rules, diags);
	if (rc == 0) {
		policy_check_queues(p, diags);
		policy_check_modes(p, diags);
		policy_check_counters(p, diags);
		if (diags->n_errors > errors)
			rc = -EINVAL;
	}
	if (rc == 0)
		policy_warn_statements(p, diags);
	if (rc == 0 && diags->oom)
		rc = -ENOMEM;
	if (rc < 0) {
		policy_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	rules_free(p->rules);
	config_free(p->cfg);
	free(p);
}

int policy_check(const char *path, const char *base_dir, FILE *out, FILE *err)
{
	struct diag_list diags = {0};
	struct policy *p = NULL;
	int rc = policy_load_at(path, base_dir, &p, &diags);
	diag_print(&diags, err);
	if (rc < 0) {
		fprintf(err, "%s: %zu error(s)\n", path, diags.n_errors);
	} else {
		size_t warnings = diags.n - diags.n_errors;
		fprintf(out, "%s: ok (%zu rule(s), ruleset %.12s", path, rules_count(p->rules),
			rules_version(p->rules));
		if (rules_counter_count(p->rules))
			fprintf(out, "; %zu counter(s)", rules_counter_count(p->rules));
		for (size_t i = 0; i < rules_bank_count(p->rules); i++) {
			const struct hashbank *b = rules_bank(p->rules, i, NULL);
			fprintf(out, "%s %s %zu %s hash(es)",
				i ? "," : "; banks:", hashbank_name(b), hashbank_size(b),
				hashbank_algo_name(hashbank_algo(b)));
		}
		if (warnings)
			fprintf(out, "; %zu warning(s)", warnings);
		fputs(")\n", out);
	}
	policy_free(p);
	diag_clear(&diags);
	return rc < 0 ? 1 : 0;
}
