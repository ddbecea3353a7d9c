/* Unit tests for the pure part of the review queues (queues.c): routing, deadlines, keys, entry
 * encoding, checks. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include <check.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy.h"
#include "queues.h"
#include "records.h"
#include "rules.h"
#include "unit.h"

static struct config *load(const char *text)
{
	char *path = unit_write_file(NULL, "arbiter.yaml", text);
	struct diag_list errs = {0};
	struct config *cfg = NULL;
	int rc = config_load(path, &cfg, &errs);
	diag_print(&errs, stderr);
	ck_assert_int_eq(rc, 0);
	diag_clear(&errs);
	free(path);
	return cfg;
}

static const char routed[] =
	"review:\n"
	"  queues:\n"
	"    incitement: {sla: {urgent: 30m}}\n"
	"    incitement-sw: {serves: incitement, languages: [sw]}\n"
	"    incitement-ke: {serves: incitement, countries: [KE]}\n"
	"    incitement-sw-ke: {serves: incitement, languages: [sw], countries: [KE]}\n"
	"    incitement-bcs: {serves: incitement, languages: [bs, hr, sr]}\n"
	"    hate: {}\n";

START_TEST(routing_prefers_language_then_country_and_falls_back)
{
	struct config *c = load(routed);
	ck_assert_str_eq(queues_route(c, "incitement", "sw", "KE")->name, "incitement-sw-ke");
	ck_assert_str_eq(queues_route(c, "incitement", "sw", "TZ")->name, "incitement-sw");
	ck_assert_str_eq(queues_route(c, "incitement", "en", "KE")->name, "incitement-ke");
	ck_assert_str_eq(queues_route(c, "incitement", "HR", "")->name, "incitement-bcs");
	/* The declared fallback: the queue the rules name. */
	ck_assert_str_eq(queues_route(c, "incitement", "en", "US")->name, "incitement");
	ck_assert_str_eq(queues_route(c, "incitement", "", "")->name, "incitement");
	ck_assert_str_eq(queues_route(c, "hate", "sw", "KE")->name, "hate");
	ck_assert_ptr_null(queues_route(c, "missing", "sw", "KE"));
	config_free(c);
}
END_TEST

/* BCP 47: a queue's tag serves the tags it is a prefix of; the longer of two
 * covering tags wins, and a language match weighs more than a country. */
START_TEST(routing_follows_regional_and_script_subtags)
{
	struct config *c = load(
		"review:\n"
		"  queues:\n"
		"    incitement: {}\n"
		"    incitement-sw: {serves: incitement, languages: [sw]}\n"
		"    incitement-sw-ke: {serves: incitement, languages: [sw], countries: [KE]}\n"
		"    incitement-bcs: {serves: incitement, languages: [bs, hr, sr]}\n"
		"    incitement-sr-rs: {serves: incitement, languages: [sr], countries: [RS]}\n"
		"    incitement-sr-latn: {serves: incitement, languages: [SR-LATN]}\n"
		"    incitement-pt-br: {serves: incitement, languages: [pt-BR]}\n");
	static const struct {
		const char *lang, *country, *queue;
	} cases[] = {
		{"sw-KE", "TZ", "incitement-sw"},
		{"sw-TZ", "", "incitement-sw"},
		{"SW-tz", "TZ", "incitement-sw"},
		{"sw-KE", "KE", "incitement-sw-ke"},
		{"sw", "KE", "incitement-sw-ke"},
		{"swh", "TZ", "incitement"}, /* another language, not a subtag */
		{"bs-Latn", "BA", "incitement-bcs"},
		{"bs-Cyrl", "BA", "incitement-bcs"},
		{"hr-HR", "", "incitement-bcs"},
		{"sr", "", "incitement-bcs"},
		{"sr-Cyrl", "", "incitement-bcs"},
		{"sr-Cyrl", "RS", "incitement-sr-rs"},      /* sr and RS over sr alone */
		{"sr-Latn", "", "incitement-sr-latn"},      /* sr-Latn over sr */
		{"sr-Latn-RS", "RS", "incitement-sr-latn"}, /* over sr and RS, too */
		{"sr-latn-ba", "BA", "incitement-sr-latn"},
		{"pt-BR", "", "incitement-pt-br"},
		{"pt", "BR", "incitement"}, /* pt-BR does not cover pt */
		{"pt-PT", "", "incitement"},
		{"", "KE", "incitement"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct config_queue *q =
			queues_route(c, "incitement", cases[i].lang, cases[i].country);
		ck_assert_msg(q && !strcmp(q->name, cases[i].queue), "%s from %s: %s, not %s",
			      cases[i].lang, cases[i].country, q ? q->name : "NULL",
			      cases[i].queue);
	}
	config_free(c);
}
END_TEST

/* The demo's Bosnian content (config/samples, the shipped rule tests) goes to
 * incitement-bcs with the shipped config. */
START_TEST(shipped_config_routes_bosnian_to_bcs)
{
	struct diag_list errs = {0};
	struct config *c = NULL;
	int rc = config_load(TEST_CONFIGDIR "/arbiter.yaml", &c, &errs);
	diag_print(&errs, stderr);
	ck_assert_int_eq(rc, 0);
	diag_clear(&errs);
	ck_assert_str_eq(queues_route(c, "incitement", "bs-Latn", "BA")->name, "incitement-bcs");
	ck_assert_str_eq(queues_route(c, "incitement", "bs-Cyrl", "BA")->name, "incitement-bcs");
	ck_assert_str_eq(queues_route(c, "incitement", "sr-Latn", "RS")->name, "incitement-bcs");
	ck_assert_str_eq(queues_route(c, "incitement", "sw-KE", "KE")->name, "incitement-sw");
	ck_assert_str_eq(queues_route(c, "hate-speech", "sw-TZ", "TZ")->name, "hate-speech-sw");
	config_free(c);
}
END_TEST

START_TEST(queue_languages_must_be_well_formed_tags)
{
	/* Accepted: language[-script][-region]. */
	struct config *c =
		load("review:\n"
		     "  queues:\n"
		     "    a: {}\n"
		     "    b: {serves: a, languages: [sw, sw-KE, sr-Latn, sr-Latn-RS, es-419]}\n");
	config_free(c);
	char *path = unit_write_file(NULL, "bad.yaml",
				     "review:\n"
				     "  queues:\n"
				     "    a: {}\n"
				     "    b: {serves: a, languages: [sw, sr_Latn, sr-Latn-Cyrl]}\n"
				     "    c: {serves: a, languages: [english]}\n");
	struct diag_list errs = {0};
	ck_assert_int_eq(config_load(path, &c, &errs), -EINVAL);
	ck_assert_ptr_null(c);
	ck_assert_uint_eq(errs.n, 3);
	/* Each at its item, saying what a tag is and what is wrong with it. */
	ck_assert_int_eq(errs.v[0].line, 4);
	ck_assert_int_eq(errs.v[0].col, 36);
	ck_assert_msg(strstr(errs.v[0].msg, "language[-script][-region]") &&
			      strstr(errs.v[0].msg, "2 or 3 letters") &&
			      strstr(errs.v[0].msg, "sr_Latn"),
		      "%s", errs.v[0].msg);
	ck_assert_int_eq(errs.v[1].line, 4);
	ck_assert_int_eq(errs.v[1].col, 45);
	ck_assert_msg(strstr(errs.v[1].msg, "after the script") &&
			      strstr(errs.v[1].msg, "sr-Latn-Cyrl"),
		      "%s", errs.v[1].msg);
	ck_assert_int_eq(errs.v[2].line, 5);
	ck_assert_msg(strstr(errs.v[2].msg, "english"), "%s", errs.v[2].msg);
	diag_clear(&errs);
	free(path);
}
END_TEST

START_TEST(deadline_is_the_shorter_sla)
{
	struct config *c = load(routed);
	const struct config_queue *q = config_queue_find(c, "incitement");
	/* The queue promises 30 min for urgent: a rule's 1 h is cut to it. */
	ck_assert_int_eq(queues_deadline(q, CONFIG_BAND_URGENT, 1000, 3600), 1000 + 1800 * 1000);
	/* A rule's 10 min is shorter than the queue's: the rule wins. */
	ck_assert_int_eq(queues_deadline(q, CONFIG_BAND_URGENT, 1000, 600), 1000 + 600 * 1000);
	/* Default high band: 4 h. */
	ck_assert_int_eq(queues_deadline(q, CONFIG_BAND_HIGH, 0, 24 * 3600), 4LL * 3600 * 1000);
	config_free(c);
}
END_TEST

START_TEST(bands_and_keys)
{
	ck_assert_int_eq(queues_band(ARBITER__V1__BAND__URGENT), CONFIG_BAND_URGENT);
	ck_assert_int_eq(queues_band(ARBITER__V1__BAND__LOW), CONFIG_BAND_LOW);
	ck_assert_int_eq(queues_band(ARBITER__V1__BAND__BAND_UNSPECIFIED), CONFIG_BAND_NORMAL);
	for (int b = 0; b < CONFIG_BANDS; b++) {
		ck_assert_int_eq(queues_band(queues_band_pb((enum config_band)b)), b);
		ck_assert_int_eq(queues_band_parse(config_band_name((enum config_band)b)), b);
	}
	ck_assert_int_eq(queues_band_parse("critical"), -1);
	char k[QUEUES_KEY_MAX];
	queues_key_stream(k, "arbiter:", "incitement-sw", CONFIG_BAND_HIGH);
	ck_assert_str_eq(k, "arbiter:q:incitement-sw:high");
	queues_key_sla(k, "x:", "hate");
	ck_assert_str_eq(k, "x:sla:hate");
	queues_key_todo(k, "x:", "hate");
	ck_assert_str_eq(k, "x:sla:hate:todo");
	queues_key_seen(k, "arbiter:", "abc");
	ck_assert_str_eq(k, "arbiter:seen:abc");
	/* Script hashes are SHA-1 hex, distinct per script. */
	for (int s = 0; s < QUEUES__SCRIPTS; s++) {
		ck_assert_uint_eq(strlen(queues_script_sha((enum queues_script)s)), 40);
		for (int t = 0; t < s; t++)
			ck_assert_str_ne(queues_script_sha((enum queues_script)s),
					 queues_script_sha((enum queues_script)t));
	}
}
END_TEST

/* The value of FIELD among the entry's field/value pairs (after the keys and
 * the four script arguments). */
static const char *entry_field(const struct queues_cmd *cmd, const char *field, size_t *len)
{
	for (int i = 3 + 8 + 4; i + 1 < cmd->argc; i += 2) {
		if (!strcmp(cmd->argv[i], field)) {
			*len = cmd->lens[i + 1];
			return cmd->argv[i + 1];
		}
	}
	return NULL;
}

START_TEST(enqueue_command_carries_keys_and_entry)
{
	struct config *c = load(routed);
	const struct config_queue *q = config_queue_find(c, "incitement-sw");
	char *rules[] = {"incitement.sw", "incitement.sw.review"};
	char *modes[] = {"crisis-ba"};
	char *evidence[] = {"list:incitement_sw"};
	Arbiter__V1__Escalation es = ARBITER__V1__ESCALATION__INIT;
	es.escalation_id = "e1d";
	es.content_id = "c-1";
	es.event_id = "ev-1";
	es.queue = "incitement-sw";
	es.band = ARBITER__V1__BAND__URGENT;
	es.deadline_ms = 1800000;
	es.created_at_ms = 1000;
	es.lang = "sw";
	es.country = "KE";
	es.n_rule_ids = 2;
	es.rule_ids = rules;
	es.n_modes = 1;
	es.modes = modes;
	es.n_evidence = 1;
	es.evidence = evidence;
	es.ruleset_version = "abcd";
	es.action = ARBITER__V1__ACTION__REMOVE;
	const uint8_t packed[] = {0x0a, 0x00, 0xff};
	struct queues_cmd cmd;
	ck_assert_int_eq(queues_enqueue_cmd(c, q, &es, packed, sizeof(packed), "rev-7", &cmd), 0);
	ck_assert_str_eq(cmd.argv[0], "EVALSHA");
	ck_assert_str_eq(cmd.argv[1], queues_script_sha(QUEUES_ENQUEUE));
	ck_assert_str_eq(cmd.argv[2], "8");
	ck_assert_str_eq(cmd.argv[3], "arbiter:seen:e1d");
	ck_assert_str_eq(cmd.argv[4], "arbiter:q:incitement-sw:urgent");
	ck_assert_str_eq(cmd.argv[5], "arbiter:sla:incitement-sw");
	ck_assert_str_eq(cmd.argv[6], "arbiter:sla:incitement-sw:todo");
	ck_assert_str_eq(cmd.argv[7], "arbiter:q:incitement-sw:urgent");
	ck_assert_str_eq(cmd.argv[10], "arbiter:q:incitement-sw:low");
	ck_assert_str_eq(cmd.argv[11], "1800000"); /* the deadline scores the SLA sets */
	ck_assert_str_eq(cmd.argv[12], "100000");  /* max_length */
	ck_assert_str_eq(cmd.argv[13], "e1d");
	ck_assert_str_eq(cmd.argv[14], "incitement-sw urgent");
	size_t n;
	ck_assert_str_eq(entry_field(&cmd, "rules", &n), "incitement.sw,incitement.sw.review");
	ck_assert_str_eq(entry_field(&cmd, "band", &n), "urgent");
	ck_assert_str_eq(entry_field(&cmd, "lang", &n), "sw");
	ck_assert_str_eq(entry_field(&cmd, "modes", &n), "crisis-ba");
	ck_assert_str_eq(entry_field(&cmd, "evidence", &n), "list:incitement_sw");
	ck_assert_str_eq(entry_field(&cmd, "action", &n), "REMOVE");
	ck_assert_str_eq(entry_field(&cmd, "exclude", &n), "rev-7");
	ck_assert_str_eq(entry_field(&cmd, "deadline_ms", &n), "1800000");
	/* The protobuf goes as it is, binary-safe. */
	const char *pb = entry_field(&cmd, "escalation", &n);
	ck_assert_uint_eq(n, sizeof(packed));
	ck_assert_int_eq(memcmp(pb, packed, n), 0);
	ck_assert_int_eq(cmd.argc, 15 + 2 * 17); /* command, sha, keys, arguments, 17 fields */

	queues_cmd_use_eval(&cmd);
	ck_assert_str_eq(cmd.argv[0], "EVAL");
	ck_assert_str_eq(cmd.argv[1], queues_script_body(QUEUES_ENQUEUE));
	queues_cmd_free(&cmd);

	ck_assert_int_eq(queues_sweep_cmd(c, q, 5000, &cmd), 0);
	ck_assert_str_eq(cmd.argv[2], "5");
	ck_assert_str_eq(cmd.argv[3], "arbiter:q:incitement-sw:urgent");
	ck_assert_str_eq(cmd.argv[6], "arbiter:q:incitement-sw:low");
	ck_assert_str_eq(cmd.argv[7], "arbiter:sla:incitement-sw:todo");
	ck_assert_str_eq(cmd.argv[8], "5000");
	ck_assert_str_eq(cmd.argv[9], "arbiter:seen:");
	queues_cmd_free(&cmd);
	config_free(c);
}
END_TEST

START_TEST(claim_command_carries_the_ranges_lowercased)
{
	struct config *c = load(routed);
	struct queues_cmd cmd;
	char *ranges[] = {"sw", "SR-Latn", "es-419"};
	ck_assert_int_eq(queues_claim_cmd(c, "incitement", "amina", ranges, 3, &cmd), 0);
	ck_assert_int_eq(cmd.argc, 9);
	ck_assert_str_eq(cmd.argv[0], "EVALSHA");
	ck_assert_str_eq(cmd.argv[1], queues_script_sha(QUEUES_CLAIM));
	ck_assert_str_eq(cmd.argv[2], "4");
	ck_assert_str_eq(cmd.argv[3], "arbiter:q:incitement:urgent");
	ck_assert_str_eq(cmd.argv[6], "arbiter:q:incitement:low");
	ck_assert_str_eq(cmd.argv[7], "amina");
	ck_assert_str_eq(cmd.argv[8], "sw,sr-latn,es-419");
	queues_cmd_free(&cmd);
	/* No range: any language. */
	ck_assert_int_eq(queues_claim_cmd(c, "incitement", "amina", NULL, 0, &cmd), 0);
	ck_assert_str_eq(cmd.argv[8], "");
	queues_cmd_free(&cmd);
	/* A range that could name another key, or is no tag, is refused. */
	char *bad[] = {"sw", "en:x:amina"};
	ck_assert_int_eq(queues_claim_cmd(c, "incitement", "amina", bad, 2, &cmd), -EINVAL);
	char *star[] = {"*"};
	ck_assert_int_eq(queues_claim_cmd(c, "incitement", "amina", star, 1, &cmd), -EINVAL);
	config_free(c);
}
END_TEST

START_TEST(decision_commands_carry_their_arguments)
{
	struct config *c = load("redis: {prefix: \"x:\"}\n"
				"review: {queues: {appeals: {}}, appeals_queue: appeals,"
				" decision_ttl: 30d}\n");
	struct queues_cmd cmd;
	ck_assert_int_eq(queues_decision_state_cmd(c, "post-1", "d-1", ARBITER__V1__ACTION__REMOVE,
						   ARBITER__V1__ACTOR__HUMAN, "rita", 1234, &cmd),
			 0);
	static const char *const state[] = {"EVALSHA", NULL,   "1",      "x:decision:post-1",
					    "2592000", "1234", "REMOVE", "HUMAN",
					    "rita",    "d-1"};
	ck_assert_int_eq(cmd.argc, 10);
	ck_assert_str_eq(cmd.argv[1], queues_script_sha(QUEUES_DECISION));
	for (int i = 0; i < 10; i++)
		if (state[i])
			ck_assert_str_eq(cmd.argv[i], state[i]);
	queues_cmd_free(&cmd);
	/* An automated action has no reviewer. */
	ck_assert_int_eq(queues_decision_state_cmd(c, "post-1", "audit-9",
						   ARBITER__V1__ACTION__GEO_BLOCK,
						   ARBITER__V1__ACTOR__AUTOMATED, NULL, -5, &cmd),
			 0);
	ck_assert_str_eq(cmd.argv[5], "-5");
	ck_assert_str_eq(cmd.argv[6], "GEO_BLOCK");
	ck_assert_str_eq(cmd.argv[7], "AUTOMATED");
	ck_assert_str_eq(cmd.argv[8], "");
	queues_cmd_free(&cmd);

	ck_assert_int_eq(queues_appeal_file_cmd(c, "post-1", "ap-1", 99, "d-1", &cmd), 0);
	static const char *const file[] = {
		"EVALSHA", NULL, "2",  "x:decision:post-1", "x:appeal:ap-1", "2592000",
		"post-1",  "99", "d-1"};
	ck_assert_int_eq(cmd.argc, 9);
	ck_assert_str_eq(cmd.argv[1], queues_script_sha(QUEUES_APPEAL_FILE));
	for (int i = 0; i < 9; i++)
		if (file[i])
			ck_assert_str_eq(cmd.argv[i], file[i]);
	queues_cmd_free(&cmd);
	/* None named: the script falls back to the current decision. */
	ck_assert_int_eq(queues_appeal_file_cmd(c, "post-1", "ap-1", 99, NULL, &cmd), 0);
	ck_assert_str_eq(cmd.argv[8], "");
	queues_cmd_free(&cmd);

	ck_assert_int_eq(queues_appeal_resolve_cmd(c, "post-1", "ap-1", "sam",
						   ARBITER__V1__APPEAL_OUTCOME__REVERSED,
						   ARBITER__V1__ACTION__RESTORE, 555, "d-2", &cmd),
			 0);
	static const char *const resolve[] = {
		"EVALSHA",           NULL,      "2",   "x:appeal:ap-1",
		"x:decision:post-1", "2592000", "sam", "REVERSED",
		"RESTORE",           "555",     "d-2"};
	ck_assert_int_eq(cmd.argc, 11);
	ck_assert_str_eq(cmd.argv[1], queues_script_sha(QUEUES_APPEAL_RESOLVE));
	for (int i = 0; i < 11; i++)
		if (resolve[i])
			ck_assert_str_eq(cmd.argv[i], resolve[i]);
	queues_cmd_free(&cmd);
	config_free(c);
}
END_TEST

/* A reply as hiredis would build it: STR for a string, an error or an integer. */
static redisReply *reply(int type, const char *str)
{
	redisReply *r = calloc(1, sizeof(*r));
	r->type = type;
	if (str) {
		r->str = strdup(str);
		r->len = strlen(str);
	}
	return r;
}

static redisReply *reply_array(size_t n, ...)
{
	redisReply *r = reply(REDIS_REPLY_ARRAY, NULL);
	r->elements = n;
	r->element = calloc(n, sizeof(*r->element));
	va_list ap;
	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		r->element[i] = va_arg(ap, redisReply *);
	va_end(ap);
	return r;
}

static void reply_free(redisReply *r)
{
	for (size_t i = 0; i < r->elements; i++)
		reply_free(r->element[i]);
	free(r->element);
	free(r->str);
	free(r);
}

START_TEST(appeal_replies_are_read_and_refusals_told_apart)
{
	struct queues_appeal a;
	redisReply *r = reply_array(
		4, reply(REDIS_REPLY_STRING, "GEO_BLOCK"), reply(REDIS_REPLY_STRING, "rita"),
		reply(REDIS_REPLY_STRING, "d-1"), reply(REDIS_REPLY_STRING, "5000"));
	ck_assert_int_eq(queues_appeal_reply(r, &a), 0);
	ck_assert_int_eq(a.original_action, ARBITER__V1__ACTION__GEO_BLOCK);
	ck_assert_str_eq(a.original_reviewer, "rita");
	ck_assert_str_eq(a.decision_id, "d-1");
	ck_assert_int_eq(a.filed_ms, 5000);
	ck_assert_ptr_null(a.reason);
	reply_free(r);

	r = reply(REDIS_REPLY_ERROR, QUEUES_REFUSAL_UNKNOWN_DECISION " d-7, which content post-1"
								     " does not have");
	ck_assert_int_eq(queues_appeal_reply(r, &a), -ENOENT);
	ck_assert_str_eq(a.reason, "appeal against unknown decision d-7, which content post-1 "
				   "does not have");
	reply_free(r);
	static const char *const refusals[] = {QUEUES_REFUSAL_NO_DECISION, QUEUES_REFUSAL_NO_APPEAL,
					       QUEUES_REFUSAL_SAME_REVIEWER};
	for (size_t i = 0; i < 3; i++) {
		r = reply(REDIS_REPLY_ERROR, refusals[i]);
		ck_assert_int_eq(queues_appeal_reply(r, &a), -EPERM);
		ck_assert_str_eq(a.reason, refusals[i] + 8);
		reply_free(r);
	}
	/* Anything else is not these scripts' answer. */
	r = reply(REDIS_REPLY_ERROR, "ERR unknown command");
	ck_assert_int_eq(queues_appeal_reply(r, &a), -EPROTO);
	reply_free(r);
	r = reply(REDIS_REPLY_INTEGER, NULL);
	ck_assert_int_eq(queues_appeal_reply(r, &a), -EPROTO);
	reply_free(r);
	r = reply_array(3, reply(REDIS_REPLY_STRING, "REMOVE"), reply(REDIS_REPLY_STRING, ""),
			reply(REDIS_REPLY_STRING, "d"));
	ck_assert_int_eq(queues_appeal_reply(r, &a), -EPROTO);
	reply_free(r);
	r = reply_array(4, reply(REDIS_REPLY_STRING, "REMOVE"), reply(REDIS_REPLY_NIL, NULL),
			reply(REDIS_REPLY_STRING, "d"), reply(REDIS_REPLY_STRING, "1"));
	ck_assert_int_eq(queues_appeal_reply(r, &a), -EPROTO);
	reply_free(r);
	r = reply_array(4, reply(REDIS_REPLY_STRING, "REMOVE"), reply(REDIS_REPLY_STRING, ""),
			reply(REDIS_REPLY_STRING, "d"), reply(REDIS_REPLY_STRING, "12x"));
	ck_assert_int_eq(queues_appeal_reply(r, &a), -EPROTO);
	reply_free(r);
	ck_assert_int_eq(queues_appeal_reply(NULL, &a), -EPROTO);
}
END_TEST

START_TEST(check_names_rules_escalating_to_undeclared_queues)
{
	char *rules = unit_write_file(NULL, "rules.yaml",
				      "modes: {election-ke: {countries: [KE]}}\n"
				      "rules:\n"
				      "  - id: a\n"
				      "    when: reach > 1\n"
				      "    escalate: {queue: hate}\n"
				      "  - id: b\n"
				      "    when: reach > 2\n"
				      "    escalate: {queue: nowhere}\n");
	char *path = unit_write_file(NULL, "check.yaml",
				     "rules: {files: [rules.yaml]}\n"
				     "review: {queues: {hate: {}, other: {}}}\n"
				     "monitors: {modes: [election-ke, election-xx]}\n");
	struct diag_list errs = {0};
	struct policy *p = NULL;
	ck_assert_int_eq(policy_load(path, &p, &errs), -EINVAL);
	ck_assert_ptr_null(p);
	ck_assert_uint_eq(errs.n, 2);
	ck_assert_str_eq(errs.v[0].file, rules);
	ck_assert_int_eq(errs.v[0].line, 6);
	ck_assert_str_eq(errs.v[0].key, "b");
	ck_assert_msg(strstr(errs.v[0].msg, "queue \"nowhere\", which is not declared under "
					    "review.queues") &&
			      strstr(errs.v[0].msg, "(declared: hate, other)"),
		      "%s", errs.v[0].msg);
	ck_assert_str_eq(errs.v[1].key, "monitors.modes");
	ck_assert_msg(strstr(errs.v[1].msg, "mode \"election-xx\" is not declared"), "%s",
		      errs.v[1].msg);
	diag_clear(&errs);
	free(path);
	free(rules);
}
END_TEST

START_TEST(escalation_ids_follow_the_source_and_the_rules_queue)
{
	char *rules = unit_write_file(NULL, "rules2.yaml",
				      "rules:\n"
				      "  - id: a\n"
				      "    when: reach > 1\n"
				      "    escalate: {queue: incitement, band: urgent, sla: 2h}\n");
	struct config *c = load("rules: {files: [rules2.yaml]}\n"
				"review:\n"
				"  queues:\n"
				"    incitement: {sla: {urgent: 30m}}\n"
				"    incitement-sw: {serves: incitement, languages: [sw]}\n");
	struct diag_list errs = {0};
	struct ruleset *rs = NULL;
	ck_assert_int_eq(rules_load(c, &rs, &errs), 0);
	struct rules_ctx *ctx = rules_ctx_new(rs);
	Arbiter__V1__ContentEvent ev = ARBITER__V1__CONTENT_EVENT__INIT;
	ev.event_id = "e";
	ev.content_id = "c";
	ev.lang = "sw";
	ev.reach = 5;
	ev.created_at_ms = 1000;
	const struct rules_verdict *v = rules_eval(ctx, &ev, 1000);
	ck_assert_uint_eq(v->n_escalations, 1);
	const struct config_queue *q = queues_route(c, "incitement", ev.lang, ev.country);
	ck_assert_str_eq(q->name, "incitement-sw");
	struct records_source src = {"content.events", 2, 77}, other = {"content.events", 2, 78};
	struct records_escalation_opts to_sw = {
		.queue = q->name,
		.deadline_ms = queues_deadline(q, CONFIG_BAND_URGENT, 1000, 7200)};
	struct records_escalation_opts plain = {0};
	struct records_buf a, b, d;
	ck_assert_int_eq(records_escalation(&src, &ev, rs, v, 0, &to_sw, 5000, &a), 0);
	ck_assert_int_eq(records_escalation(&src, &ev, rs, v, 0, &plain, 5000, &b), 0);
	ck_assert_int_eq(records_escalation(&other, &ev, rs, v, 0, &plain, 5000, &d), 0);
	Arbiter__V1__Escalation *ea = arbiter__v1__escalation__unpack(NULL, a.len, a.data),
				*eb = arbiter__v1__escalation__unpack(NULL, b.len, b.data),
				*ed = arbiter__v1__escalation__unpack(NULL, d.len, d.data);
	/* Routing changes the queue and the deadline, never the id: a redelivery
	 * routed differently after a reload still finds its dedupe key. */
	ck_assert_str_eq(ea->queue, "incitement-sw");
	ck_assert_str_eq(eb->queue, "incitement");
	ck_assert_str_eq(ea->escalation_id, eb->escalation_id);
	ck_assert_str_ne(ea->escalation_id, ed->escalation_id);
	/* The SLA of the queue it was routed to (incitement-sw: the default
	 * 1 h for urgent), shorter than the rule's 2 h. */
	ck_assert_int_eq(ea->deadline_ms, 1000 + 3600 * 1000);
	ck_assert_int_eq(eb->deadline_ms, 1000 + 7200 * 1000); /* the rule's 2 h */
	ck_assert_str_eq(ea->author_pseudonym, "");            /* no key, no pseudonym */
	ck_assert_str_eq(ea->text_excerpt, "");
	arbiter__v1__escalation__free_unpacked(ea, NULL);
	arbiter__v1__escalation__free_unpacked(eb, NULL);
	arbiter__v1__escalation__free_unpacked(ed, NULL);
	free(a.data);
	free(b.data);
	free(d.data);
	rules_ctx_free(ctx);
	rules_free(rs);
	diag_clear(&errs);
	config_free(c);
	free(rules);
}
END_TEST

/* Replies as hiredis builds them, for the appeal scripts' answers. */
static redisReply str_reply(int type, const char *s)
{
	redisReply r = {.type = type, .str = (char *)s, .len = strlen(s)};
	return r;
}

/* The array of N string replies V (and their storage in EL). */
static redisReply array_reply(redisReply *el, redisReply **ptrs, const char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		el[i] = str_reply(REDIS_REPLY_STRING, v[i]);
		ptrs[i] = &el[i];
	}
	redisReply r = {.type = REDIS_REPLY_ARRAY, .elements = n, .element = ptrs};
	return r;
}

/* Parses the array of the N strings V into A. */
static int parse_strings(const char *const *v, size_t n, struct queues_appeal *a)
{
	redisReply el[8], *ptrs[8];
	ck_assert_uint_le(n, 8);
	redisReply r = array_reply(el, ptrs, v, n);
	return queues_appeal_reply(&r, a);
}

START_TEST(appeal_replies_give_the_decision_under_appeal)
{
	struct queues_appeal a;
	const char *filed[] = {"REMOVE", "rev-7", "d-42", "1700000000123"};
	ck_assert_int_eq(parse_strings(filed, 4, &a), 0);
	ck_assert_int_eq(a.original_action, ARBITER__V1__ACTION__REMOVE);
	ck_assert_str_eq(a.original_reviewer, "rev-7");
	ck_assert_str_eq(a.decision_id, "d-42");
	ck_assert_int_eq(a.filed_ms, 1700000000123LL);
	ck_assert_ptr_null(a.reason);

	/* An automated decision has no reviewer; an action name this build
	 * does not know stands for no action. */
	const char *automated[] = {"FROBNICATE", "", "audit-id", "0"};
	ck_assert_int_eq(parse_strings(automated, 4, &a), 0);
	ck_assert_int_eq(a.original_action, ARBITER__V1__ACTION__NONE);
	ck_assert_str_eq(a.original_reviewer, "");
	ck_assert_int_eq(a.filed_ms, 0);
}
END_TEST

START_TEST(appeal_refusals_carry_their_reason)
{
	struct queues_appeal a;
	redisReply r =
		str_reply(REDIS_REPLY_ERROR,
			  "ARBITER appeal resolved by the reviewer whose decision is under appeal");
	ck_assert_int_eq(queues_appeal_reply(&r, &a), -EPERM);
	ck_assert_str_eq(a.reason,
			 "appeal resolved by the reviewer whose decision is under appeal");

	/* Errors of Redis's own, or a refusal without a reason, are not
	 * refusals of the appeal. */
	const char *not_refusals[] = {
		"ERR unknown command",         "ARBITER", "ARBITER ", "ARBITERX y",
		"NOSCRIPT No matching script", ""};
	for (size_t i = 0; i < sizeof(not_refusals) / sizeof(not_refusals[0]); i++) {
		r = str_reply(REDIS_REPLY_ERROR, not_refusals[i]);
		ck_assert_msg(queues_appeal_reply(&r, &a) == -EPROTO, "\"%s\"", not_refusals[i]);
		ck_assert_ptr_null(a.reason);
	}
}
END_TEST

START_TEST(malformed_appeal_replies_are_rejected)
{
	struct queues_appeal a;
	/* Too few and too many fields. */
	const char *v[] = {"REMOVE", "rev-7", "d-42", "1700000000123", "extra"};
	ck_assert_int_eq(parse_strings(v, 3, &a), -EPROTO);
	ck_assert_int_eq(parse_strings(v, 5, &a), -EPROTO);
	ck_assert_int_eq(parse_strings(v, 0, &a), -EPROTO);
	/* filed_ms that is not a whole number of milliseconds. */
	const char *bad_ms[] = {"", "12x", "x12", "1.5", "99999999999999999999999"};
	for (size_t i = 0; i < sizeof(bad_ms) / sizeof(bad_ms[0]); i++) {
		const char *w[] = {"REMOVE", "rev-7", "d-42", bad_ms[i]};
		ck_assert_msg(parse_strings(w, 4, &a) == -EPROTO, "filed_ms \"%s\"", bad_ms[i]);
	}
	/* A field that is not a string: HMGET answers nil for a missing one. */
	redisReply el[4], *ptrs[4];
	redisReply r = array_reply(el, ptrs, v, 4);
	el[1] = (redisReply){.type = REDIS_REPLY_NIL};
	ck_assert_int_eq(queues_appeal_reply(&r, &a), -EPROTO);
	el[1] = (redisReply){.type = REDIS_REPLY_INTEGER, .integer = 7};
	ck_assert_int_eq(queues_appeal_reply(&r, &a), -EPROTO);
	/* Not an array at all. */
	redisReply other[] = {
		{.type = REDIS_REPLY_NIL},
		{.type = REDIS_REPLY_INTEGER, .integer = 1},
		str_reply(REDIS_REPLY_STRING, "REMOVE"),
		str_reply(REDIS_REPLY_STATUS, "OK"),
	};
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		ck_assert_int_eq(queues_appeal_reply(&other[i], &a), -EPROTO);
	ck_assert_ptr_null(a.reason);
}
END_TEST

/* The stats script's command (what `arbiterctl queues` and the daemon's gauges read) and its
 * reply: the counts per band, ages from the stream ids, nothing made up from a wrong reply. */
START_TEST(stats_command_and_reply)
{
	struct config *c = load("review:\n  queues:\n    scams: {}\n");
	struct queues_cmd cmd;
	ck_assert_int_eq(queues_stats_cmd(c, "scams", 5000, &cmd), 0);
	ck_assert_str_eq(cmd.argv[0], "EVALSHA");
	ck_assert_str_eq(cmd.argv[1], queues_script_sha(QUEUES_STATS));
	ck_assert_str_eq(cmd.argv[2], "5");
	ck_assert_str_eq(cmd.argv[3], "arbiter:q:scams:urgent");
	ck_assert_str_eq(cmd.argv[6], "arbiter:q:scams:low");
	ck_assert_str_eq(cmd.argv[7], "arbiter:sla:scams");
	ck_assert_str_eq(cmd.argv[8], "5000");
	ck_assert_int_eq(cmd.argc, 9);
	ck_assert_str_eq(queues_script_name(QUEUES_STATS), "stats");
	queues_cmd_free(&cmd);
	config_free(c);

	long long v[17] = {3, 2, 1, 1, 1000, 0, 0, 0, -1, 5, 5, 0, 9000, 1, 0, 1, 20000};
	redisReply el[17], *ptrs[17];
	for (int i = 0; i < 17; i++) {
		el[i] = (redisReply){.type = REDIS_REPLY_INTEGER, .integer = v[i]};
		ptrs[i] = &el[i];
	}
	redisReply r = {.type = REDIS_REPLY_ARRAY, .elements = 17, .element = ptrs};
	struct queues_stats st;
	ck_assert_int_eq(queues_stats_reply(&r, 10000, &st), 0);
	ck_assert_int_eq(st.overdue, 3);
	ck_assert_int_eq(st.bands[CONFIG_BAND_URGENT].entries, 2);
	ck_assert_int_eq(st.bands[CONFIG_BAND_URGENT].waiting, 1);
	ck_assert_int_eq(st.bands[CONFIG_BAND_URGENT].claimed, 1);
	ck_assert_int_eq(st.bands[CONFIG_BAND_URGENT].oldest_age_ms, 9000);
	ck_assert_int_eq(st.bands[CONFIG_BAND_HIGH].oldest_age_ms, -1); /* empty */
	ck_assert_int_eq(st.bands[CONFIG_BAND_NORMAL].oldest_age_ms, 1000);
	/* Redis's clock ahead of ours: a new entry, not a negative age. */
	ck_assert_int_eq(st.bands[CONFIG_BAND_LOW].oldest_age_ms, 0);

	r.elements = 16;
	ck_assert_int_eq(queues_stats_reply(&r, 10000, &st), -EPROTO);
	r.elements = 17;
	el[5] = (redisReply){.type = REDIS_REPLY_STRING, .str = (char *)"1", .len = 1};
	ck_assert_int_eq(queues_stats_reply(&r, 10000, &st), -EPROTO);
	redisReply err = {.type = REDIS_REPLY_ERROR, .str = (char *)"NOSCRIPT", .len = 8};
	ck_assert_int_eq(queues_stats_reply(&err, 10000, &st), -EPROTO);
	ck_assert_int_eq(queues_stats_reply(NULL, 10000, &st), -EPROTO);
}
END_TEST

START_TEST(appeals_of_removals_and_worse_are_high)
{
	const Arbiter__V1__Action high[] = {ARBITER__V1__ACTION__REMOVE,
					    ARBITER__V1__ACTION__SUSPEND_ACCOUNT,
					    ARBITER__V1__ACTION__TERMINATE_ACCOUNT};
	const Arbiter__V1__Action normal[] = {
		ARBITER__V1__ACTION__NONE,       ARBITER__V1__ACTION__LABEL,
		ARBITER__V1__ACTION__DEMOTE,     ARBITER__V1__ACTION__AGE_RESTRICT,
		ARBITER__V1__ACTION__DEMONETIZE, ARBITER__V1__ACTION__GEO_BLOCK,
		ARBITER__V1__ACTION__RESTORE,    ARBITER__V1__ACTION__ACTION_UNSPECIFIED};
	for (size_t i = 0; i < sizeof(high) / sizeof(high[0]); i++)
		ck_assert_int_eq(queues_appeal_band(high[i]), CONFIG_BAND_HIGH);
	for (size_t i = 0; i < sizeof(normal) / sizeof(normal[0]); i++)
		ck_assert_int_eq(queues_appeal_band(normal[i]), CONFIG_BAND_NORMAL);
}
END_TEST

static Suite *queues_suite(void)
{
	Suite *s = suite_create("queues");
	TCase *tc = tcase_create("pure");
	tcase_add_test(tc, routing_prefers_language_then_country_and_falls_back);
	tcase_add_test(tc, routing_follows_regional_and_script_subtags);
	tcase_add_test(tc, shipped_config_routes_bosnian_to_bcs);
	tcase_add_test(tc, queue_languages_must_be_well_formed_tags);
	tcase_add_test(tc, claim_command_carries_the_ranges_lowercased);
	tcase_add_test(tc, decision_commands_carry_their_arguments);
	tcase_add_test(tc, appeal_replies_are_read_and_refusals_told_apart);
	tcase_add_test(tc, deadline_is_the_shorter_sla);
	tcase_add_test(tc, bands_and_keys);
	tcase_add_test(tc, enqueue_command_carries_keys_and_entry);
	tcase_add_test(tc, check_names_rules_escalating_to_undeclared_queues);
	tcase_add_test(tc, escalation_ids_follow_the_source_and_the_rules_queue);
	tcase_add_test(tc, appeal_replies_give_the_decision_under_appeal);
	tcase_add_test(tc, appeal_refusals_carry_their_reason);
	tcase_add_test(tc, malformed_appeal_replies_are_rejected);
	tcase_add_test(tc, appeals_of_removals_and_worse_are_high);
	tcase_add_test(tc, stats_command_and_reply);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(queues_suite());
}
