/* Unit tests for the DSA statements of reasons (dsa.c): mapping, JSON shape, validation. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arbiter/v1/audit_record.pb-c.h"
#include "dsa.h"
#include "unit.h"

/* 2024-02-29T12:00:00Z and a day and a half earlier. */
#define DECIDED_MS 1709208000000LL
#define CREATED_MS (DECIDED_MS - 36LL * 3600 * 1000)

/* A record as records.c builds it before dsa_fill: an automated action on
 * illegal content. */
static Arbiter__V1__AuditRecord base_record(Arbiter__V1__Action action)
{
	Arbiter__V1__AuditRecord r = ARBITER__V1__AUDIT_RECORD__INIT;
	r.record_id = "0123456789abcdef0123456789abcdef";
	r.content_id = "c-1";
	r.kind = ARBITER__V1__DECISION_KIND__ACTION;
	r.action = action;
	r.actor = ARBITER__V1__ACTOR__AUTOMATED;
	r.category = "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH";
	r.ground = ARBITER__V1__GROUND__ILLEGAL_CONTENT;
	r.legal_ground = "StGB §130";
	r.explanation = "incitement to hatred against a protected group";
	r.decided_at_ms = DECIDED_MS;
	r.recorded_at_ms = DECIDED_MS + 5;
	static char *rules[] = {"hate-1", "hate-2"};
	r.rule_ids = rules;
	r.n_rule_ids = 2;
	r.ruleset_version = "v42";
	return r;
}

static Arbiter__V1__Media image = {PROTOBUF_C_MESSAGE_INIT(&arbiter__v1__media__descriptor),
				   ARBITER__V1__CONTENT_TYPE__IMAGE, "", ""};

static Arbiter__V1__ContentEvent base_event(void)
{
	static Arbiter__V1__Media *media[] = {&image, &image};
	Arbiter__V1__ContentEvent ev = ARBITER__V1__CONTENT_EVENT__INIT;
	ev.content_id = "c-1";
	ev.content_type = ARBITER__V1__CONTENT_TYPE__TEXT;
	ev.media = media;
	ev.n_media = 2;
	ev.lang = "sw";
	ev.country = "KE";
	ev.created_at_ms = CREATED_MS;
	return ev;
}

/* The statement of R, validated; fails the test when it is refused. */
static json_t *statement(const Arbiter__V1__AuditRecord *r)
{
	json_t *st = dsa_statement_json(r);
	ck_assert_ptr_nonnull(st);
	char why[256] = "";
	int rc = dsa_validate(st, why, sizeof(why));
	char *s = json_dumps(st, JSON_COMPACT);
	ck_assert_msg(rc == 0, "refused (%s): %s", why, s);
	free(s);
	return st;
}

static const char *str(const json_t *st, const char *key)
{
	return json_string_value(json_object_get(st, key));
}

START_TEST(every_action_maps_to_its_restriction)
{
	static const struct {
		Arbiter__V1__Action action;
		const char *field, *value;
	} want[] = {
		{ARBITER__V1__ACTION__LABEL, "decision_visibility",
		 "DECISION_VISIBILITY_CONTENT_LABELLED"},
		{ARBITER__V1__ACTION__DEMOTE, "decision_visibility",
		 "DECISION_VISIBILITY_CONTENT_DEMOTED"},
		{ARBITER__V1__ACTION__AGE_RESTRICT, "decision_visibility",
		 "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED"},
		{ARBITER__V1__ACTION__DEMONETIZE, "decision_monetary",
		 "DECISION_MONETARY_SUSPENSION"},
		{ARBITER__V1__ACTION__GEO_BLOCK, "decision_visibility",
		 "DECISION_VISIBILITY_CONTENT_DISABLED"},
		{ARBITER__V1__ACTION__REMOVE, "decision_visibility",
		 "DECISION_VISIBILITY_CONTENT_REMOVED"},
		{ARBITER__V1__ACTION__SUSPEND_ACCOUNT, "decision_account",
		 "DECISION_ACCOUNT_SUSPENDED"},
		{ARBITER__V1__ACTION__TERMINATE_ACCOUNT, "decision_account",
		 "DECISION_ACCOUNT_TERMINATED"},
	};
	static const char *const restrictions[] = {"decision_visibility", "decision_monetary",
						   "decision_provision", "decision_account"};
	/* Every value of the enum, so that a new Action cannot go unmapped. */
	const ProtobufCEnumDescriptor *ed = &arbiter__v1__action__descriptor;
	size_t mapped = 0;
	for (unsigned k = 0; k < ed->n_values; k++) {
		Arbiter__V1__Action a = (Arbiter__V1__Action)ed->values[k].value;
		size_t i = 0;
		while (i < sizeof(want) / sizeof(want[0]) && want[i].action != a)
			i++;
		if (i == sizeof(want) / sizeof(want[0])) {
			ck_assert_msg(a == ARBITER__V1__ACTION__NONE ||
					      a == ARBITER__V1__ACTION__RESTORE ||
					      a == ARBITER__V1__ACTION__ACTION_UNSPECIFIED,
				      "action %s has no mapping", ed->values[k].name);
			ck_assert_ptr_null(dsa_action_map(a));
			continue;
		}
		mapped++;
		ck_assert_ptr_nonnull(dsa_action_map(a));
		Arbiter__V1__AuditRecord r = base_record(a);
		Arbiter__V1__ContentEvent ev = base_event();
		struct dsa_input in = {.event = &ev, .automated_detection = true};
		struct dsa_scratch s;
		ck_assert_int_eq(dsa_fill(&r, &in, &s), 0);
		json_t *st = statement(&r);
		/* Exactly one kind of restriction, with the expected value. */
		for (size_t f = 0; f < 4; f++) {
			json_t *v = json_object_get(st, restrictions[f]);
			if (strcmp(restrictions[f], want[i].field)) {
				ck_assert_msg(!v, "%s: unexpected %s", ed->values[k].name,
					      restrictions[f]);
				continue;
			}
			if (json_is_array(v)) {
				ck_assert_uint_eq(json_array_size(v), 1);
				v = json_array_get(v, 0);
			}
			ck_assert_str_eq(json_string_value(v), want[i].value);
		}
		json_decref(st);
	}
	ck_assert_uint_eq(mapped, sizeof(want) / sizeof(want[0]));
}
END_TEST

/* A decision of rules that rested on counters says so, and on which. */
START_TEST(facts_say_when_behaviour_decided)
{
	Arbiter__V1__AuditRecord r = base_record(ARBITER__V1__ACTION__REMOVE);
	Arbiter__V1__ContentEvent ev = base_event();
	const char *const beh[] = {"count(by: author_id, window: 10m)=20",
				   "distinct(author_id, by: text, window: 1h)=301"};
	struct dsa_input in = {
		.event = &ev, .automated_detection = true, .behaviour = beh, .n_behaviour = 2};
	struct dsa_scratch s;
	ck_assert_int_eq(dsa_fill(&r, &in, &s), 0);
	ck_assert_msg(
		strstr(r.decision_facts,
		       "). The decision rested on the behaviour of accounts, not only on the "
		       "content: count(by: author_id, window: 10m)=20, distinct(author_id, by: "
		       "text, window: 1h)=301. The decision was taken by automated means."),
		"%s", r.decision_facts);
}
END_TEST

START_TEST(statement_carries_every_field_under_the_api_names)
{
	Arbiter__V1__AuditRecord r = base_record(ARBITER__V1__ACTION__REMOVE);
	Arbiter__V1__ContentEvent ev = base_event();
	struct dsa_input in = {.event = &ev, .automated_detection = true};
	struct dsa_scratch s;
	ck_assert_int_eq(dsa_fill(&r, &in, &s), 0);

	/* The record holds the API's values… */
	ck_assert_str_eq(r.decision_ground, "DECISION_GROUND_ILLEGAL_CONTENT");
	ck_assert_uint_eq(r.n_content_type, 2);
	ck_assert_str_eq(r.content_type[0], "CONTENT_TYPE_TEXT");
	ck_assert_str_eq(r.content_type[1], "CONTENT_TYPE_IMAGE");
	ck_assert_str_eq(r.content_language, "SW");
	ck_assert_str_eq(r.content_date, "2024-02-28");
	ck_assert_str_eq(r.application_date, "2024-02-29");
	ck_assert_str_eq(r.source_type, "SOURCE_VOLUNTARY");
	ck_assert(r.automated_detection);
	ck_assert_str_eq(r.automated_decision, "AUTOMATED_DECISION_FULLY");
	ck_assert_str_eq(r.puid, r.record_id);
	ck_assert_int_eq(r.latency_ms, 36LL * 3600 * 1000);
	ck_assert_str_eq(r.lang, "sw");
	ck_assert_str_eq(r.country, "KE");
	ck_assert_ptr_nonnull(strstr(r.decision_facts, "hate-1, hate-2"));
	ck_assert_ptr_nonnull(strstr(r.decision_facts, "automated means"));
	ck_assert_ptr_null(strstr(r.decision_facts, "behaviour"));

	/* …and the statement copies them under the API's names. */
	json_t *st = statement(&r);
	ck_assert_str_eq(str(st, "decision_ground"), "DECISION_GROUND_ILLEGAL_CONTENT");
	ck_assert_str_eq(str(st, "illegal_content_legal_ground"), "StGB §130");
	ck_assert_str_eq(str(st, "illegal_content_explanation"), r.explanation);
	ck_assert_ptr_null(json_object_get(st, "incompatible_content_ground"));
	ck_assert_str_eq(str(st, "category"), "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH");
	ck_assert_str_eq(str(st, "content_language"), "SW");
	ck_assert_str_eq(str(st, "content_date"), "2024-02-28");
	ck_assert_str_eq(str(st, "application_date"), "2024-02-29");
	ck_assert_str_eq(str(st, "automated_detection"), "Yes");
	ck_assert_str_eq(str(st, "automated_decision"), "AUTOMATED_DECISION_FULLY");
	ck_assert_str_eq(str(st, "source_type"), "SOURCE_VOLUNTARY");
	ck_assert_str_eq(str(st, "puid"), r.record_id);
	ck_assert_str_eq(str(st, "decision_facts"), r.decision_facts);
	/* No scope: the whole EEA (the EU and IS, LI, NO). */
	ck_assert_uint_eq(json_array_size(json_object_get(st, "territorial_scope")), 30);
	/* Nothing of ours leaks into the API's shape. */
	ck_assert_ptr_null(json_object_get(st, "latency_ms"));
	ck_assert_ptr_null(json_object_get(st, "lang"));
	ck_assert_ptr_null(json_object_get(st, "record_id"));
	json_decref(st);
}
END_TEST

START_TEST(restore_none_and_appeals_filed_have_no_statement)
{
	const Arbiter__V1__Action none[] = {ARBITER__V1__ACTION__NONE, ARBITER__V1__ACTION__RESTORE,
					    ARBITER__V1__ACTION__ACTION_UNSPECIFIED};
	for (size_t i = 0; i < 3; i++) {
		Arbiter__V1__AuditRecord r = base_record(none[i]);
		Arbiter__V1__ContentEvent ev = base_event();
		struct dsa_input in = {.event = &ev};
		struct dsa_scratch s;
		ck_assert_int_eq(dsa_fill(&r, &in, &s), 0);
		ck_assert(!dsa_has_statement(&r));
		ck_assert_ptr_null(dsa_statement_json(&r));
		ck_assert_uint_eq(r.n_decision_visibility, 0);
		ck_assert_str_eq(r.decision_monetary, "");
		ck_assert_str_eq(r.decision_account, "");
		/* The rest is still recorded, for the transparency numbers. */
		ck_assert_str_eq(r.application_date, "2024-02-29");
		ck_assert_int_gt(r.latency_ms, 0);
	}
	Arbiter__V1__AuditRecord r = base_record(ARBITER__V1__ACTION__REMOVE);
	r.kind = ARBITER__V1__DECISION_KIND__APPEAL_FILED;
	ck_assert(!dsa_has_statement(&r));
	r.kind = ARBITER__V1__DECISION_KIND__APPEAL_RESOLVED;
	ck_assert(dsa_has_statement(&r));
}
END_TEST

START_TEST(territorial_scope_keeps_the_eea)
{
	Arbiter__V1__AuditRecord r = base_record(ARBITER__V1__ACTION__GEO_BLOCK);
	Arbiter__V1__ContentEvent ev = base_event();
	struct dsa_input in = {.event = &ev, .automated_detection = true};
	struct dsa_scratch s;
	char *outside[] = {"KE", "US"};
	r.territorial_scope = outside;
	r.n_territorial_scope = 2;
	ck_assert_int_eq(dsa_fill(&r, &in, &s), 0);
	/* Outside the EEA the DSA does not apply: no statement. */
	ck_assert(!dsa_has_statement(&r));

	char *mixed[] = {"KE", "DE", "NO"};
	r.territorial_scope = mixed;
	r.n_territorial_scope = 3;
	ck_assert_int_eq(dsa_fill(&r, &in, &s), 0);
	json_t *st = statement(&r);
	json_t *scope = json_object_get(st, "territorial_scope");
	ck_assert_uint_eq(json_array_size(scope), 2);
	ck_assert_str_eq(json_string_value(json_array_get(scope, 0)), "DE");
	ck_assert_str_eq(json_string_value(json_array_get(scope, 1)), "NO");
	json_decref(st);
}
END_TEST

START_TEST(incompatible_content_uses_the_contractual_names)
{
	Arbiter__V1__AuditRecord r = base_record(ARBITER__V1__ACTION__DEMOTE);
	r.ground = ARBITER__V1__GROUND__INCOMPATIBLE_CONTENT;
	r.category = "STATEMENT_CATEGORY_SCAMS_AND_FRAUD";
	r.legal_ground = "Terms of service §4.2 (spam)";
	r.explanation = "repeated commercial posts";
	Arbiter__V1__ContentEvent ev = base_event();
	struct dsa_input in = {.event = &ev, .automated_detection = true};
	struct dsa_scratch s;
	ck_assert_int_eq(dsa_fill(&r, &in, &s), 0);
	json_t *st = statement(&r);
	ck_assert_str_eq(str(st, "decision_ground"), "DECISION_GROUND_INCOMPATIBLE_CONTENT");
	ck_assert_str_eq(str(st, "incompatible_content_ground"), r.legal_ground);
	ck_assert_str_eq(str(st, "incompatible_content_explanation"), r.explanation);
	ck_assert_ptr_null(json_object_get(st, "illegal_content_legal_ground"));
	ck_assert_ptr_null(json_object_get(st, "illegal_content_explanation"));
	json_decref(st);
}
END_TEST

START_TEST(human_decisions_are_partially_or_not_automated)
{
	Arbiter__V1__AuditRecord r = base_record(ARBITER__V1__ACTION__REMOVE);
	r.actor = ARBITER__V1__ACTOR__HUMAN;
	char *scope[] = {"FR"};
	r.territorial_scope = scope;
	r.n_territorial_scope = 1;
	/* A decision from moderation.decisions: no event, what it says of the content. */
	struct dsa_input in = {.content_type = ARBITER__V1__CONTENT_TYPE__VIDEO,
			       .created_at_ms = CREATED_MS,
			       .lang = "fr-CA",
			       .country = "FR",
			       .automated_detection = true,
			       .source = DSA_SOURCE_TRUSTED_FLAGGER,
			       .account_type = DSA_ACCOUNT_PRIVATE,
			       .decision_facts = "Reviewed after a trusted flagger's notice."};
	struct dsa_scratch s;
	ck_assert_int_eq(dsa_fill(&r, &in, &s), 0);
	ck_assert_str_eq(r.automated_decision, "AUTOMATED_DECISION_PARTIALLY");
	json_t *st = statement(&r);
	ck_assert_str_eq(str(st, "source_type"), "SOURCE_TRUSTED_FLAGGER");
	ck_assert_str_eq(str(st, "account_type"), "ACCOUNT_TYPE_PRIVATE");
	ck_assert_str_eq(str(st, "content_language"), "FR");
	ck_assert_str_eq(str(st, "decision_facts"), "Reviewed after a trusted flagger's notice.");
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(st, "content_type"), 0)),
			 "CONTENT_TYPE_VIDEO");
	json_decref(st);

	in.automated_detection = false;
	in.source = DSA_SOURCE_ARTICLE_16;
	ck_assert_int_eq(dsa_fill(&r, &in, &s), 0);
	ck_assert_str_eq(r.automated_decision, "AUTOMATED_DECISION_NOT_AUTOMATED");
	st = statement(&r);
	ck_assert_str_eq(str(st, "automated_detection"), "No");
	ck_assert_str_eq(str(st, "source_type"), "SOURCE_ARTICLE_16");
	json_decref(st);
}
END_TEST

START_TEST(links_other_media_and_listings)
{
	static Arbiter__V1__Media link = {PROTOBUF_C_MESSAGE_INIT(&arbiter__v1__media__descriptor),
					  ARBITER__V1__CONTENT_TYPE__LINK, "", ""};
	static Arbiter__V1__Media *media[] = {&link, &link};
	Arbiter__V1__AuditRecord r = base_record(ARBITER__V1__ACTION__LABEL);
	Arbiter__V1__ContentEvent ev = base_event();
	ev.content_type = ARBITER__V1__CONTENT_TYPE__OTHER;
	ev.media = media;
	ev.surface = ARBITER__V1__SURFACE__MARKETPLACE;
	ev.lang = "fil"; /* no ISO 639-1 code: left out, it is optional */
	struct dsa_input in = {.event = &ev, .automated_detection = true};
	struct dsa_scratch s;
	ck_assert_int_eq(dsa_fill(&r, &in, &s), 0);
	json_t *st = statement(&r);
	json_t *types = json_object_get(st, "content_type");
	ck_assert_uint_eq(json_array_size(types), 2);
	ck_assert_str_eq(json_string_value(json_array_get(types, 0)), "CONTENT_TYPE_OTHER");
	ck_assert_str_eq(json_string_value(json_array_get(types, 1)), "CONTENT_TYPE_PRODUCT");
	ck_assert_str_eq(str(st, "content_type_other"), "Other media, Link");
	ck_assert_ptr_null(json_object_get(st, "content_language"));
	json_decref(st);
}
END_TEST

START_TEST(incomplete_statements_are_reported)
{
	Arbiter__V1__AuditRecord r = base_record(ARBITER__V1__ACTION__REMOVE);
	struct dsa_input in = {.content_type = ARBITER__V1__CONTENT_TYPE__TEXT};
	struct dsa_scratch s;
	char why[256];
	/* The content's creation time is unknown: no content_date. */
	ck_assert_int_eq(dsa_fill(&r, &in, &s), -EINVAL);
	ck_assert_int_eq(dsa_check(&r, why, sizeof(why)), -EINVAL);
	ck_assert_str_eq(why, "content_date: required");

	in.created_at_ms = CREATED_MS;
	r.ground = ARBITER__V1__GROUND__GROUND_UNSPECIFIED;
	ck_assert_int_eq(dsa_fill(&r, &in, &s), -EINVAL);
	ck_assert_int_eq(dsa_check(&r, why, sizeof(why)), -EINVAL);
	ck_assert_str_eq(why, "decision_ground: required");

	r = base_record(ARBITER__V1__ACTION__REMOVE);
	r.legal_ground = "";
	ck_assert_int_eq(dsa_fill(&r, &in, &s), -EINVAL);
	ck_assert_int_eq(dsa_check(&r, why, sizeof(why)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "illegal_content_legal_ground: required"));

	r = base_record(ARBITER__V1__ACTION__REMOVE);
	r.category = "STATEMENT_CATEGORY_PORNOGRAPHY_OR_SEXUALIZED_CONTENT"; /* API v1 only */
	ck_assert_int_eq(dsa_fill(&r, &in, &s), -EINVAL);
}
END_TEST

START_TEST(long_texts_are_cut_to_the_api_lengths_in_characters)
{
	/* 2,500 two-byte characters: 2,000 are kept, whole. */
	char *text = malloc(5001);
	for (int i = 0; i < 2500; i++)
		memcpy(text + 2 * i, "\xc3\xa9", 2);
	text[5000] = '\0';
	Arbiter__V1__AuditRecord r = base_record(ARBITER__V1__ACTION__REMOVE);
	r.explanation = text;
	Arbiter__V1__ContentEvent ev = base_event();
	struct dsa_input in = {.event = &ev};
	struct dsa_scratch s;
	ck_assert_int_eq(dsa_fill(&r, &in, &s), 0);
	json_t *st = statement(&r);
	ck_assert_uint_eq(json_string_length(json_object_get(st, "illegal_content_explanation")),
			  4000);
	json_decref(st);
	free(text);
}
END_TEST

/* A statement the API takes, in the shape of its documentation's example. */
static const char valid[] =
	"{\"decision_visibility\":[\"DECISION_VISIBILITY_CONTENT_DISABLED\"],"
	"\"decision_monetary\":\"DECISION_MONETARY_TERMINATION\","
	"\"end_date_monetary_restriction\":\"2023-08-08\","
	"\"decision_provision\":\"DECISION_PROVISION_TOTAL_SUSPENSION\","
	"\"decision_account\":\"DECISION_ACCOUNT_SUSPENDED\","
	"\"account_type\":\"ACCOUNT_TYPE_BUSINESS\","
	"\"decision_ground\":\"DECISION_GROUND_INCOMPATIBLE_CONTENT\","
	"\"decision_ground_reference_url\":\"https://www.anurl.com\","
	"\"content_type\":[\"CONTENT_TYPE_VIDEO\",\"CONTENT_TYPE_AUDIO\"],"
	"\"category\":\"STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN\","
	"\"category_specification\":[\"KEYWORD_CYBER_STALKING\"],"
	"\"incompatible_content_ground\":\"incompatible content grounds\","
	"\"incompatible_content_explanation\":\"incompatible content explanation\","
	"\"incompatible_content_illegal\":\"Yes\","
	"\"territorial_scope\":[\"PT\",\"ES\",\"DE\"],"
	"\"content_language\":\"EN\",\"content_date\":\"2023-08-08\","
	"\"content_id\":{\"EAN-13\":\"0123456789123\"},"
	"\"application_date\":\"2023-08-08\",\"decision_facts\":\"facts about the decision\","
	"\"source_type\":\"SOURCE_TRUSTED_FLAGGER\",\"automated_detection\":\"No\","
	"\"automated_decision\":\"AUTOMATED_DECISION_PARTIALLY\",\"puid\":\"TK421\"}";

/* VALID with KEY set to the JSON VALUE (NULL: removed); must be refused with
 * a reason containing WANT. */
static void assert_refused(const char *key, const char *value, const char *want)
{
	json_t *st = json_loads(valid, 0, NULL);
	ck_assert_ptr_nonnull(st);
	if (value)
		json_object_set_new(st, key, json_loads(value, JSON_DECODE_ANY, NULL));
	else
		json_object_del(st, key);
	char why[256] = "";
	ck_assert_msg(dsa_validate(st, why, sizeof(why)) == -EINVAL, "%s=%s accepted", key,
		      value ? value : "(none)");
	ck_assert_msg(strstr(why, want) != NULL, "%s=%s: \"%s\" lacks \"%s\"", key,
		      value ? value : "(none)", why, want);
	json_decref(st);
}

START_TEST(validate_accepts_the_documented_example)
{
	json_t *st = json_loads(valid, 0, NULL);
	char why[256] = "";
	ck_assert_msg(dsa_validate(st, why, sizeof(why)) == 0, "%s", why);
	json_decref(st);
}
END_TEST

START_TEST(validate_refuses_wrong_names_values_and_shapes)
{
	assert_refused("decision_visiblity", "[\"DECISION_VISIBILITY_CONTENT_REMOVED\"]",
		       "decision_visiblity: not a field");
	assert_refused("latency_ms", "12", "latency_ms: not a field");
	assert_refused("decision_visibility", "[\"DECISION_VISIBILITY_CONTENT_HIDDEN\"]",
		       "decision_visibility[0]");
	assert_refused("decision_visibility", "\"DECISION_VISIBILITY_CONTENT_REMOVED\"",
		       "expected an array");
	assert_refused("decision_account", "\"DECISION_ACCOUNT_BANNED\"", "decision_account");
	assert_refused("category", "\"STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE\"", "category");
	assert_refused("category", NULL, "category: required");
	assert_refused("content_type", "[]", "content_type: required");
	assert_refused("content_type", "[\"CONTENT_TYPE_LINK\"]", "content_type[0]");
	assert_refused("automated_detection", "\"yes\"", "automated_detection");
	assert_refused("automated_detection", "true", "automated_detection");
	assert_refused("automated_decision", "\"AUTOMATED_DECISION_NOT\"", "automated_decision");
	assert_refused("source_type", "\"SOURCE_TYPE_VOLUNTARY\"", "source_type");
	assert_refused("territorial_scope", "[\"DE\",\"US\"]", "territorial_scope[1]");
	assert_refused("territorial_scope", "[\"EL\"]", "territorial_scope[0]");
	assert_refused("content_language", "\"en\"", "content_language");
	assert_refused("content_date", "\"2023-02-29\"", "content_date: expected a date");
	assert_refused("content_date", "\"2023-8-8\"", "content_date: expected a date");
	assert_refused("content_date", "\"1999-12-31\"", "content_date: before 2000-01-01");
	assert_refused("application_date", "\"2019-12-31\"", "before 2020-01-01");
	assert_refused("application_date", "\"2038-01-02\"", "after 2038-01-01");
	assert_refused("end_date_monetary_restriction", "\"2023-08-07\"", "before application");
	assert_refused("puid", "\"TK 421\"", "puid");
	assert_refused("puid", NULL, "puid: required");
	assert_refused("decision_facts", NULL, "decision_facts: required");
	assert_refused("incompatible_content_ground", NULL,
		       "incompatible_content_ground: required");
	assert_refused("illegal_content_explanation", "\"x\"", "only taken when");
	assert_refused("decision_ground", "\"DECISION_GROUND_ILLEGAL_CONTENT\"",
		       "illegal_content_legal_ground: required");
	assert_refused("content_type", "[\"CONTENT_TYPE_OTHER\"]", "content_type_other: required");
	assert_refused("decision_monetary", "\"DECISION_MONETARY_OTHER\"",
		       "decision_monetary_other: required");
	assert_refused("content_id", "{\"EAN-13\":\"123\"}", "content_id");
	assert_refused("decision_ground_reference_url", "\"www.anurl.com\"", "not a URL");

	/* No restriction at all. */
	json_t *st = json_loads(valid, 0, NULL);
	json_object_del(st, "decision_visibility");
	json_object_del(st, "decision_monetary");
	json_object_del(st, "end_date_monetary_restriction");
	json_object_del(st, "decision_provision");
	json_object_del(st, "decision_account");
	char why[256];
	ck_assert_int_eq(dsa_validate(st, why, sizeof(why)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "one of decision_visibility"));
	json_decref(st);

	/* A text one character too long. */
	char *text = malloc(2002);
	memset(text, 'x', 2001);
	text[2001] = '\0';
	st = json_loads(valid, 0, NULL);
	json_object_set_new(st, "incompatible_content_explanation", json_string(text));
	ck_assert_int_eq(dsa_validate(st, why, sizeof(why)), -EINVAL);
	ck_assert_str_eq(why, "incompatible_content_explanation: longer than 2000 characters");
	free(text);
	json_decref(st);

	json_t *array = json_array();
	ck_assert_int_eq(dsa_validate(array, why, sizeof(why)), -EINVAL);
	json_decref(array);
}
END_TEST

START_TEST(source_identity_only_with_a_notice)
{
	json_t *st = json_loads(valid, 0, NULL);
	json_object_set_new(st, "source_identity", json_string("a trusted flagger"));
	char why[256] = "";
	ck_assert_msg(dsa_validate(st, why, sizeof(why)) == 0, "%s", why);
	/* The API ignores it on the platform's own initiative: our mistake. */
	json_object_set_new(st, "source_type", json_string("SOURCE_VOLUNTARY"));
	ck_assert_int_eq(dsa_validate(st, why, sizeof(why)), -EINVAL);
	ck_assert_str_eq(why, "source_identity: not taken with SOURCE_VOLUNTARY");
	json_decref(st);
}
END_TEST

START_TEST(dates_are_utc_days)
{
	char d[11];
	ck_assert_int_eq(dsa_date(d, DECIDED_MS), 0);
	ck_assert_str_eq(d, "2024-02-29");
	ck_assert_int_eq(dsa_date(d, 946684799999LL), 0); /* 1999-12-31T23:59:59.999Z */
	ck_assert_str_eq(d, "1999-12-31");
	ck_assert_int_eq(dsa_date(d, 0), -EINVAL);
	ck_assert_str_eq(d, "");
	ck_assert_int_eq(dsa_date(d, -5), -EINVAL);
	ck_assert(dsa_is_date("2024-02-29"));
	ck_assert(!dsa_is_date("2023-02-29"));
	ck_assert(!dsa_is_date("2023-13-01"));
	ck_assert(!dsa_is_date("2023-01-01x"));
	ck_assert(!dsa_is_date("+023-01-01"));
}
END_TEST

/* A variant of the base record: what dsa_check must say of it is what it says with a memo. */
static void memo_variant(int k, Arbiter__V1__AuditRecord *r, struct dsa_input *in)
{
	static char long_text[3000];
	memset(long_text, 'a', sizeof(long_text) - 1);
	*r = base_record(k == 9 ? ARBITER__V1__ACTION__NONE : ARBITER__V1__ACTION__REMOVE);
	*in = (struct dsa_input){.content_type = ARBITER__V1__CONTENT_TYPE__TEXT,
				 .created_at_ms = CREATED_MS};
	switch (k) {
	case 1:
		in->created_at_ms = 0;
		break; /* no content_date */
	case 2:
		r->legal_ground = "";
		break; /* absent */
	case 3:
		r->legal_ground = "\xff\xfe";
		break; /* not UTF-8 */
	case 4:
		r->explanation = long_text;
		break; /* cut, still valid */
	case 5:
		r->record_id = "not a puid!";
		break; /* outside the API's rule */
	case 6:
		in->created_at_ms = 631152000000LL;
		break; /* 1990: before the range */
	case 7:
		r->category = "STATEMENT_CATEGORY_NONE";
		break; /* no such category */
	case 8:
		in->decision_facts = "\xc3\x28";
		break; /* facts not UTF-8 */
	case 10:
		r->record_id = "fedcba9876543210fedcba9876543210";
		break; /* same shape as 0 */
	case 11:
		in->created_at_ms = CREATED_MS - 86400000LL * 400;
		break; /* another valid day */
	default:
		break;
	}
}

START_TEST(a_memo_says_what_dsa_check_says)
{
	struct dsa_memo *big = dsa_memo_new(1024), *tiny = dsa_memo_new(1);
	ck_assert_ptr_nonnull(big);
	ck_assert_ptr_nonnull(tiny);
	int complete = 0, incomplete = 0;
	for (int round = 0; round < 2; round++) { /* the second round is answered by the memo */
		for (int k = 0; k < 12; k++) {
			Arbiter__V1__AuditRecord r;
			struct dsa_input in;
			struct dsa_scratch s;
			memo_variant(k, &r, &in);
			int want = dsa_fill(&r, &in, &s);
			ck_assert_int_eq(want, dsa_check(&r, NULL, 0));
			ck_assert_msg(dsa_memo_check(big, &r) == want, "variant %d, round %d", k,
				      round);
			ck_assert_msg(dsa_memo_check(tiny, &r) == want, "variant %d, round %d", k,
				      round);
			ck_assert_int_eq(dsa_memo_check(NULL, &r), want);
			struct dsa_scratch s2;
			memo_variant(k, &r, &in);
			ck_assert_int_eq(dsa_fill_memo(&r, &in, &s2, big), want);
			if (round == 0)
				want == 0 ? complete++ : incomplete++;
		}
	}
	/* Both outcomes were among the variants, so the memo had each to give. */
	ck_assert_int_ge(complete, 4);
	ck_assert_int_ge(incomplete, 5);
	dsa_memo_free(big);
	dsa_memo_free(tiny);
	dsa_memo_free(NULL);
}
END_TEST

static Suite *dsa_suite(void)
{
	Suite *s = suite_create("dsa");
	TCase *tc = tcase_create("dsa");
	tcase_add_test(tc, every_action_maps_to_its_restriction);
	tcase_add_test(tc, statement_carries_every_field_under_the_api_names);
	tcase_add_test(tc, facts_say_when_behaviour_decided);
	tcase_add_test(tc, restore_none_and_appeals_filed_have_no_statement);
	tcase_add_test(tc, territorial_scope_keeps_the_eea);
	tcase_add_test(tc, incompatible_content_uses_the_contractual_names);
	tcase_add_test(tc, human_decisions_are_partially_or_not_automated);
	tcase_add_test(tc, links_other_media_and_listings);
	tcase_add_test(tc, incomplete_statements_are_reported);
	tcase_add_test(tc, long_texts_are_cut_to_the_api_lengths_in_characters);
	tcase_add_test(tc, validate_accepts_the_documented_example);
	tcase_add_test(tc, validate_refuses_wrong_names_values_and_shapes);
	tcase_add_test(tc, source_identity_only_with_a_notice);
	tcase_add_test(tc, dates_are_utc_days);
	tcase_add_test(tc, a_memo_says_what_dsa_check_says);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(dsa_suite());
}
