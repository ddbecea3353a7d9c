/* Unit tests for input decoding and validation (event.c). */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "pbarena.h"
#include "pbjson.h"
#include "unit.h"

#ifndef TEST_CONFIGDIR
#define TEST_CONFIGDIR "config"
#endif

static char reason[EVENT_REASON_MAX];

/* --- helpers --- */

static Arbiter__V1__ContentEvent *content_json_ok(const char *json)
{
	Arbiter__V1__ContentEvent *ev = NULL;
	int rc = event_content_decode(CONFIG_FORMAT_JSON, json, strlen(json), &ev, reason);
	ck_assert_msg(rc == 0, "rejected: %s\ninput: %s", reason, json);
	ck_assert_ptr_nonnull(ev);
	return ev;
}

static void content_json_err(const char *json, const char *want)
{
	Arbiter__V1__ContentEvent *ev = (Arbiter__V1__ContentEvent *)&ev;
	int rc = event_content_decode(CONFIG_FORMAT_JSON, json, strlen(json), &ev, reason);
	ck_assert_msg(rc == -EINVAL || rc == -EBADMSG, "accepted: %s", json);
	ck_assert_ptr_null(ev);
	ck_assert_msg(strstr(reason, want) != NULL, "reason \"%s\" lacks \"%s\"", reason, want);
	ck_assert(pbjson_utf8_valid(reason, strlen(reason)));
}

static void decision_json_err(const char *json, const char *want)
{
	Arbiter__V1__ModerationDecision *d = (Arbiter__V1__ModerationDecision *)&d;
	int rc = event_decision_decode(CONFIG_FORMAT_JSON, json, strlen(json), &d, reason);
	ck_assert_msg(rc == -EINVAL || rc == -EBADMSG, "accepted: %s", json);
	ck_assert_ptr_null(d);
	ck_assert_msg(strstr(reason, want) != NULL, "reason \"%s\" lacks \"%s\"", reason, want);
}

static void decision_json_ok(const char *json)
{
	Arbiter__V1__ModerationDecision *d = NULL;
	int rc = event_decision_decode(CONFIG_FORMAT_JSON, json, strlen(json), &d, reason);
	ck_assert_msg(rc == 0, "rejected: %s\ninput: %s", reason, json);
	event_decision_free(d);
}

/* Packs a message with malloc; the caller frees. */
static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
	*len = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(*len + 1);
	ck_assert_uint_eq(protobuf_c_message_pack(m, buf), *len);
	return buf;
}

static int content_pb(const ProtobufCMessage *m, Arbiter__V1__ContentEvent **out)
{
	size_t len;
	uint8_t *buf = pack(m, &len);
	int rc = event_content_decode(CONFIG_FORMAT_PROTOBUF, buf, len, out, reason);
	free(buf);
	return rc;
}

static int decision_pb(const ProtobufCMessage *m, Arbiter__V1__ModerationDecision **out)
{
	size_t len;
	uint8_t *buf = pack(m, &len);
	int rc = event_decision_decode(CONFIG_FORMAT_PROTOBUF, buf, len, out, reason);
	free(buf);
	return rc;
}

/* A valid event on the stack (static strings: never freed). */
static void content_fill(Arbiter__V1__ContentEvent *ev,
			 Arbiter__V1__ContentEvent__SignalsEntry *sig,
			 Arbiter__V1__ContentEvent__SignalsEntry **sigp, Arbiter__V1__Media *media,
			 Arbiter__V1__Media **mediap)
{
	arbiter__v1__content_event__init(ev);
	ev->event_id = "evt-1";
	ev->content_id = "c-1";
	ev->author_id = "u-1";
	ev->surface = ARBITER__V1__SURFACE__POST;
	ev->content_type = ARBITER__V1__CONTENT_TYPE__TEXT;
	ev->text = "Habari za asubuhi";
	ev->lang = "sw";
	ev->country = "KE";
	ev->created_at_ms = 1767225600000;
	arbiter__v1__content_event__signals_entry__init(sig);
	sig->key = "hate";
	sig->value = 0.25f;
	sigp[0] = sig;
	ev->signals = sigp;
	ev->n_signals = 1;
	for (int i = 0; i < 2; i++) {
		arbiter__v1__media__init(&media[i]);
		media[i].kind = ARBITER__V1__CONTENT_TYPE__IMAGE;
		media[i].sha256 =
			"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
		mediap[i] = &media[i];
	}
	ev->media = mediap;
	ev->n_media = 2;
}

#define CONTENT_ON_STACK                                                                           \
	Arbiter__V1__ContentEvent ev;                                                              \
	Arbiter__V1__ContentEvent__SignalsEntry sig, *sigp[1];                                     \
	Arbiter__V1__Media media[2], *mediap[2];                                                   \
	content_fill(&ev, &sig, sigp, media, mediap)

static void decision_fill(Arbiter__V1__ModerationDecision *d)
{
	arbiter__v1__moderation_decision__init(d);
	d->decision_id = "dec-1";
	d->content_id = "c-1";
	d->kind = ARBITER__V1__DECISION_KIND__ACTION;
	d->action = ARBITER__V1__ACTION__REMOVE;
	d->actor = ARBITER__V1__ACTOR__HUMAN;
	d->reviewer_id = "rev-0412";
	d->decided_at_ms = 1798761600000;
}

/* --- content events --- */

START_TEST(content_json_valid)
{
	Arbiter__V1__ContentEvent *ev = content_json_ok(
		"{\"event_id\":\"evt-1\",\"content_id\":\"c-1\",\"surface\":\"POST\","
		"\"content_type\":\"TEXT\",\"text\":\"Dobro jutro iz Sarajeva\",\"lang\":\"bs-Latn\","
		"\"country\":\"BA\",\"created_at_ms\":1767225600000,"
		"\"signals\":{\"hate\":0.01,\"spam\":0.2},\"attrs\":{\"client\":\"web\"},"
		"\"reach\":\"1250000\",\"report_count\":2,"
		"\"media\":[{\"kind\":\"IMAGE\",\"sha256\":"
		"\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"}]}");
	ck_assert_str_eq(ev->lang, "bs-Latn");
	ck_assert(ev->reach == 1250000);
	ck_assert_uint_eq(ev->n_media, 1);
	event_content_free(ev);
	event_content_free(NULL);

	static const char *const langs[] = {
		"sw", "id", "hi", "pt-BR", "zh-Hant-TW", "yue", "en-GB-oxendict", "sr-Latn-RS"};
	for (size_t i = 0; i < sizeof(langs) / sizeof(langs[0]); i++) {
		char json[160];
		snprintf(
			json, sizeof(json),
			"{\"event_id\":\"e\",\"content_id\":\"c\",\"lang\":\"%s\",\"country\":\"TH\"}",
			langs[i]);
		event_content_free(content_json_ok(json));
	}
}
END_TEST

START_TEST(content_protobuf_valid)
{
	CONTENT_ON_STACK;
	Arbiter__V1__ContentEvent *out = NULL;
	ck_assert_int_eq(content_pb(&ev.base, &out), 0);
	ck_assert_ptr_nonnull(out);
	ck_assert_str_eq(out->event_id, "evt-1");
	ck_assert_str_eq(out->text, "Habari za asubuhi");
	ck_assert_uint_eq(out->n_signals, 1);
	ck_assert(out->signals[0]->value == 0.25f);
	ck_assert_uint_eq(out->n_media, 2);
	event_content_free(out);
}
END_TEST

/* Decoded messages live in one arena each; a message whose parts outgrow the arena its wire
 * size suggests (a thousand empty media: 2 bytes each on the wire, a struct each decoded)
 * takes more blocks, and every field survives. ASan and valgrind see the frees. */
START_TEST(decoded_messages_live_in_arenas)
{
	ck_assert(pbarena_active(&arbiter__v1__content_event__descriptor));
	ck_assert(pbarena_active(&arbiter__v1__moderation_decision__descriptor));
	enum { N = 1000 };
	Arbiter__V1__ContentEvent ev = ARBITER__V1__CONTENT_EVENT__INIT;
	Arbiter__V1__Media media[N], *ptrs[N];
	for (size_t i = 0; i < N; i++) {
		arbiter__v1__media__init(&media[i]);
		ptrs[i] = &media[i];
	}
	ev.event_id = "evt-arena";
	ev.content_id = "c-arena";
	ev.text = "Habari";
	ev.n_media = N;
	ev.media = ptrs;
	Arbiter__V1__ContentEvent *out = NULL;
	ck_assert_int_eq(content_pb(&ev.base, &out), 0);
	ck_assert_ptr_nonnull(out);
	ck_assert_str_eq(out->event_id, "evt-arena");
	ck_assert_str_eq(out->text, "Habari");
	ck_assert_uint_eq(out->n_media, N);
	for (size_t i = 0; i < N; i++)
		ck_assert_ptr_nonnull(out->media[i]);
	event_content_free(out);
	/* JSON input ends up in an arena too, freed the same way. */
	event_content_free(content_json_ok("{\"event_id\":\"e\",\"content_id\":\"c\"}"));
}
END_TEST

START_TEST(content_empty_and_undecodable)
{
	Arbiter__V1__ContentEvent *out = (Arbiter__V1__ContentEvent *)&out;
	ck_assert_int_eq(event_content_decode(CONFIG_FORMAT_PROTOBUF, "", 0, &out, reason),
			 -EBADMSG);
	ck_assert_ptr_null(out);
	ck_assert_str_eq(reason, "empty message");
	ck_assert_int_eq(event_content_decode(CONFIG_FORMAT_JSON, "", 0, &out, reason), -EBADMSG);
	ck_assert_str_eq(reason, "empty message");
	ck_assert_int_eq(event_content_decode(CONFIG_FORMAT_JSON, NULL, 0, &out, reason), -EBADMSG);
	ck_assert_str_eq(reason, "empty message");

	/* Wire type 7 does not exist. */
	static const uint8_t garbage[] = {0x0f, 0xff, 0xfe, 0x00, 0x13};
	ck_assert_int_eq(event_content_decode(CONFIG_FORMAT_PROTOBUF, garbage, sizeof(garbage),
					      &out, reason),
			 -EBADMSG);
	ck_assert_ptr_null(out);
	ck_assert_str_eq(reason, "undecodable protobuf (expected arbiter.v1.ContentEvent)");

	/* JSON sent to a protobuf topic is (almost always) garbage too. */
	const char *json = "{\"event_id\":\"e\",\"content_id\":\"c\"}";
	ck_assert_int_eq(
		event_content_decode(CONFIG_FORMAT_PROTOBUF, json, strlen(json), &out, reason),
		-EBADMSG);
	ck_assert_ptr_null(out);
}
END_TEST

/* Dead letters are counted by class: what is no message of its type at all (-EBADMSG) apart
 * from a message that fails validation (-EINVAL). */
START_TEST(decode_failures_are_classed)
{
	Arbiter__V1__ContentEvent *ev = NULL;
	static const char *const undecodable[] = {"[1,2]", "{\"event_id\":", "not json",
						  "{\"no_such_field\":1}"};
	for (size_t i = 0; i < sizeof(undecodable) / sizeof(undecodable[0]); i++)
		ck_assert_msg(event_content_decode(CONFIG_FORMAT_JSON, undecodable[i],
						   strlen(undecodable[i]), &ev, reason) == -EBADMSG,
			      "%s: %s", undecodable[i], reason);
	static const char *const invalid[] = {"{\"content_id\":\"c\"}",
					      "{\"event_id\":\"e\",\"content_id\":\"c\","
					      "\"country\":\"XX\"}"};
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
		ck_assert_msg(event_content_decode(CONFIG_FORMAT_JSON, invalid[i],
						   strlen(invalid[i]), &ev, reason) == -EINVAL,
			      "%s: %s", invalid[i], reason);
	Arbiter__V1__ModerationDecision *d = NULL;
	ck_assert_int_eq(event_decision_decode(CONFIG_FORMAT_PROTOBUF, "\x0f\xff", 2, &d, reason),
			 -EBADMSG);
	ck_assert_int_eq(
		event_decision_decode(CONFIG_FORMAT_JSON, "{\"content_id\":\"c\"}", 18, &d, reason),
		-EINVAL);
}
END_TEST

START_TEST(content_truncated_protobuf)
{
	CONTENT_ON_STACK;
	size_t len;
	uint8_t *buf = pack(&ev.base, &len);
	size_t failed = 0;
	/* Every cut inside a length-delimited field or varint must fail cleanly. */
	for (size_t cut = 1; cut < len; cut++) {
		Arbiter__V1__ContentEvent *out = NULL;
		int rc = event_content_decode(CONFIG_FORMAT_PROTOBUF, buf, cut, &out, reason);
		if (rc < 0) {
			ck_assert_ptr_null(out);
			failed++;
		} else {
			event_content_free(out);
		}
	}
	ck_assert_uint_gt(failed, len / 2);
	Arbiter__V1__ContentEvent *out = NULL;
	ck_assert_int_eq(event_content_decode(CONFIG_FORMAT_PROTOBUF, buf, len - 3, &out, reason),
			 -EBADMSG);
	ck_assert_str_eq(reason, "undecodable protobuf (expected arbiter.v1.ContentEvent)");
	free(buf);
}
END_TEST

START_TEST(content_bad_json)
{
	content_json_err("{\"event_id\":\"e\",", "bad JSON: ");
	content_json_err("not json", "bad JSON: ");
	content_json_err("{\"event_id\":\"e\",\"content_id\":\"c\",\"bogus\":1}",
			 "unknown field 'bogus'");
	content_json_err("{\"event_id\":\"e\",\"content_id\":\"c\",\"surface\":\"REEL\"}",
			 "field 'surface': unknown enum value \"REEL\"");
	content_json_err("{\"event_id\":\"e\",\"content_id\":\"c\",\"report_count\":\"many\"}",
			 "field 'report_count': \"many\" is not an integer");
	content_json_err("[]", "expected a JSON object, got array");
}
END_TEST

START_TEST(content_missing_ids)
{
	content_json_err("{\"content_id\":\"c\"}", "missing event_id");
	content_json_err("{\"event_id\":\"\",\"content_id\":\"c\"}", "missing event_id");
	content_json_err("{\"event_id\":\"e\"}", "missing content_id");
	content_json_err("{}", "missing event_id");

	CONTENT_ON_STACK;
	Arbiter__V1__ContentEvent *out = NULL;
	ev.content_id = "";
	ck_assert_int_eq(content_pb(&ev.base, &out), -EINVAL);
	ck_assert_str_eq(reason, "missing content_id");
}
END_TEST

START_TEST(content_unknown_enum_numbers)
{
	CONTENT_ON_STACK;
	Arbiter__V1__ContentEvent *out = NULL;
	ev.surface = 99;
	ck_assert_int_eq(content_pb(&ev.base, &out), -EINVAL);
	ck_assert_ptr_null(out);
	ck_assert_str_eq(reason, "unknown enum value 99 for field 'surface'");

	ev.surface = ARBITER__V1__SURFACE__POST;
	ev.content_type = -3;
	ck_assert_int_eq(content_pb(&ev.base, &out), -EINVAL);
	ck_assert_str_eq(reason, "unknown enum value -3 for field 'content_type'");

	ev.content_type = ARBITER__V1__CONTENT_TYPE__TEXT;
	media[1].kind = 42;
	ck_assert_int_eq(content_pb(&ev.base, &out), -EINVAL);
	ck_assert_str_eq(reason, "unknown enum value 42 for field 'media[1].kind'");

	content_json_err("{\"event_id\":\"e\",\"content_id\":\"c\",\"surface\":42}",
			 "unknown enum value 42 for field 'surface'");
	content_json_err("{\"event_id\":\"e\",\"content_id\":\"c\",\"media\":[{},{\"kind\":8}]}",
			 "unknown enum value 8 for field 'media[1].kind'");
}
END_TEST

START_TEST(content_signals_finite)
{
	CONTENT_ON_STACK;
	Arbiter__V1__ContentEvent *out = NULL;
	sig.value = NAN;
	ck_assert_int_eq(content_pb(&ev.base, &out), -EINVAL);
	ck_assert_str_eq(reason, "signal 'hate' is not a finite number");
	sig.value = INFINITY;
	ck_assert_int_eq(content_pb(&ev.base, &out), -EINVAL);
	ck_assert_str_eq(reason, "signal 'hate' is not a finite number");

	content_json_err("{\"event_id\":\"e\",\"content_id\":\"c\",\"signals\":{\"spam\":0.1,"
			 "\"violence\":\"NaN\"}}",
			 "signal 'violence' is not a finite number");
	content_json_err(
		"{\"event_id\":\"e\",\"content_id\":\"c\",\"signals\":{\"hate\":\"-Infinity\"}}",
		"signal 'hate' is not a finite number");
	content_json_err(
		"{\"event_id\":\"e\",\"content_id\":\"c\",\"signals\":{\"hate\":1e39}}",
		"field 'signals[\"hate\"]': 9.9999999999999994e+38 is out of range for float");
}
END_TEST

START_TEST(content_lang_country)
{
	static const char *const bad_langs[] = {
		"e",  "english", "en_US", "en-", "en--US", "en-toolongsubtag",
		"1a", "en US",   "-en",   "ñe"};
	for (size_t i = 0; i < sizeof(bad_langs) / sizeof(bad_langs[0]); i++) {
		char json[160], want[80];
		snprintf(json, sizeof(json),
			 "{\"event_id\":\"e\",\"content_id\":\"c\",\"lang\":\"%s\"}", bad_langs[i]);
		snprintf(want, sizeof(want), "field 'lang': \"%s\" is not a BCP-47 language tag",
			 bad_langs[i]);
		content_json_err(json, want);
	}
	static const char *const bad_countries[] = {"ke",       "Ke", "KEN", "K", "K1",
						    "\\u00c9U", "XX", "ZZ",  "EU"};
	for (size_t i = 0; i < sizeof(bad_countries) / sizeof(bad_countries[0]); i++) {
		char json[160];
		snprintf(json, sizeof(json),
			 "{\"event_id\":\"e\",\"content_id\":\"c\",\"country\":\"%s\"}",
			 bad_countries[i]);
		content_json_err(json, "is not an ISO 3166-1 alpha-2 code");
	}
	content_json_err("{\"event_id\":\"e\",\"content_id\":\"c\",\"country\":\"ke\"}",
			 "field 'country': \"ke\" is not an ISO 3166-1 alpha-2 code");
	/* Control characters and long values are escaped and shortened in the reason. */
	content_json_err("{\"event_id\":\"e\",\"content_id\":\"c\",\"lang\":\"a\\nb\"}",
			 "field 'lang': \"a\\x0ab\" is not");
	content_json_err(
		"{\"event_id\":\"e\",\"content_id\":\"c\",\"lang\":"
		"\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}",
		"...\" is not a BCP-47 language tag");
}
END_TEST

START_TEST(content_invalid_utf8_via_protobuf)
{
	CONTENT_ON_STACK;
	Arbiter__V1__ContentEvent *out = NULL;
	ev.text = "caf\xc3";
	ck_assert_int_eq(content_pb(&ev.base, &out), -EINVAL);
	ck_assert_str_eq(reason, "field 'text' is not valid UTF-8");

	ev.text = "ok";
	media[0].pdq = "\xff";
	ck_assert_int_eq(content_pb(&ev.base, &out), -EINVAL);
	ck_assert_str_eq(reason, "field 'media[0].pdq' is not valid UTF-8");

	media[0].pdq = "";
	Arbiter__V1__ContentEvent__AttrsEntry a = ARBITER__V1__CONTENT_EVENT__ATTRS_ENTRY__INIT;
	Arbiter__V1__ContentEvent__AttrsEntry *ap[] = {&a};
	a.key = "k\xed\xa0\x80";
	a.value = "v";
	ev.attrs = ap;
	ev.n_attrs = 1;
	ck_assert_int_eq(content_pb(&ev.base, &out), -EINVAL);
	ck_assert_str_eq(reason, "field 'attrs' has a key that is not valid UTF-8");

	a.key = "client";
	a.value = "\xc0\xaf";
	ck_assert_int_eq(content_pb(&ev.base, &out), -EINVAL);
	ck_assert_str_eq(reason, "field 'attrs[\"client\"]' is not valid UTF-8");

	a.value = "android";
	ck_assert_int_eq(content_pb(&ev.base, &out), 0);
	event_content_free(out);
}
END_TEST

/* --- decisions --- */

START_TEST(decision_valid)
{
	decision_json_ok("{\"decision_id\":\"d\",\"content_id\":\"c\",\"kind\":\"ACTION\","
			 "\"action\":\"REMOVE\",\"actor\":\"HUMAN\",\"reviewer_id\":\"rev-1\","
			 "\"queue\":\"hate-speech-sw\","
			 "\"category\":\"STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH\","
			 "\"ground\":\"ILLEGAL_CONTENT\",\"territorial_scope\":[\"KE\",\"DE\"],"
			 "\"decided_at_ms\":1798761600000,\"lang\":\"sw\",\"country\":\"KE\"}");
	decision_json_ok("{\"decision_id\":\"d\",\"content_id\":\"c\",\"kind\":\"ACTION\","
			 "\"action\":\"NONE\",\"actor\":\"AUTOMATED\"}");
	decision_json_ok("{\"decision_id\":\"d\",\"content_id\":\"c\",\"kind\":\"APPEAL_FILED\","
			 "\"appeal_id\":\"apl-1\"}");
	decision_json_ok(
		"{\"decision_id\":\"d\",\"content_id\":\"c\",\"kind\":\"APPEAL_RESOLVED\","
		"\"appeal_id\":\"apl-1\",\"appeal_outcome\":\"REVERSED\",\"action\":\"RESTORE\"}");

	Arbiter__V1__ModerationDecision d, *out = NULL;
	decision_fill(&d);
	ck_assert_int_eq(decision_pb(&d.base, &out), 0);
	ck_assert_str_eq(out->reviewer_id, "rev-0412");
	event_decision_free(out);
	event_decision_free(NULL);
}
END_TEST

START_TEST(decision_required_fields)
{
	decision_json_err("{\"content_id\":\"c\",\"kind\":\"ACTION\",\"action\":\"REMOVE\"}",
			  "missing decision_id");
	decision_json_err("{\"decision_id\":\"d\",\"kind\":\"ACTION\",\"action\":\"REMOVE\"}",
			  "missing content_id");
	decision_json_err("{\"decision_id\":\"d\",\"content_id\":\"c\",\"action\":\"REMOVE\"}",
			  "missing kind");
	decision_json_err("{\"decision_id\":\"d\",\"content_id\":\"c\",\"kind\":\"ACTION\"}",
			  "missing action (required for ACTION)");
	decision_json_err("{\"decision_id\":\"d\",\"content_id\":\"c\",\"kind\":\"APPEAL_FILED\"}",
			  "missing appeal_id (required for APPEAL_FILED)");
	decision_json_err(
		"{\"decision_id\":\"d\",\"content_id\":\"c\",\"kind\":\"APPEAL_RESOLVED\","
		"\"appeal_outcome\":\"UPHELD\"}",
		"missing appeal_id (required for APPEAL_RESOLVED)");
	decision_json_err(
		"{\"decision_id\":\"d\",\"content_id\":\"c\",\"kind\":\"APPEAL_RESOLVED\","
		"\"appeal_id\":\"a\"}",
		"missing appeal_outcome (required for APPEAL_RESOLVED)");
	decision_json_err("{\"decision_id\":\"d\",\"content_id\":\"c\",\"kind\":\"ACTION\","
			  "\"action\":\"REMOVE\",\"territorial_scope\":[\"DE\",\"eu\"]}",
			  "field 'territorial_scope[1]': \"eu\" is not an ISO 3166-1 alpha-2 code");
	decision_json_err("{\"decision_id\":\"d\",\"content_id\":\"c\",\"kind\":\"ACTION\","
			  "\"action\":\"REMOVE\",\"lang\":\"sw_KE\"}",
			  "field 'lang': \"sw_KE\" is not a BCP-47 language tag");
	decision_json_err("{\"decision_id\":\"d\",\"content_id\":\"c\",\"kind\":\"ACTION\","
			  "\"action\":\"REMOVE\",\"country\":\"KEN\"}",
			  "field 'country': \"KEN\" is not an ISO 3166-1 alpha-2 code");
	decision_json_err("{\"decision_id\":\"d\",\"content_id\":\"c\",\"kind\":\"ACTION\","
			  "\"action\":\"DELETE\"}",
			  "field 'action': unknown enum value \"DELETE\"");
	decision_json_err("{\"decision_id\":\"d\",\"content_id\":\"c\",\"decided_at_ms\":true}",
			  "field 'decided_at_ms': expected an integer, got boolean");
	decision_json_err("", "empty message");
	decision_json_err("{", "bad JSON: ");
}
END_TEST

START_TEST(decision_unknown_enum_numbers)
{
	Arbiter__V1__ModerationDecision d, *out = (Arbiter__V1__ModerationDecision *)&out;
	decision_fill(&d);
	d.action = 99;
	ck_assert_int_eq(decision_pb(&d.base, &out), -EINVAL);
	ck_assert_ptr_null(out);
	ck_assert_str_eq(reason, "unknown enum value 99 for field 'action'");

	decision_fill(&d);
	d.kind = 7;
	ck_assert_int_eq(decision_pb(&d.base, &out), -EINVAL);
	ck_assert_str_eq(reason, "unknown enum value 7 for field 'kind'");

	decision_fill(&d);
	d.kind = ARBITER__V1__DECISION_KIND__APPEAL_RESOLVED;
	d.appeal_id = "apl-1";
	d.appeal_outcome = 4;
	ck_assert_int_eq(decision_pb(&d.base, &out), -EINVAL);
	ck_assert_str_eq(reason, "unknown enum value 4 for field 'appeal_outcome'");

	decision_fill(&d);
	d.ground = 3;
	ck_assert_int_eq(decision_pb(&d.base, &out), -EINVAL);
	ck_assert_str_eq(reason, "unknown enum value 3 for field 'ground'");

	decision_fill(&d);
	d.actor = 12;
	ck_assert_int_eq(decision_pb(&d.base, &out), -EINVAL);
	ck_assert_str_eq(reason, "unknown enum value 12 for field 'actor'");

	decision_fill(&d);
	d.decision_id = "";
	ck_assert_int_eq(decision_pb(&d.base, &out), -EINVAL);
	ck_assert_str_eq(reason, "missing decision_id");

	static const uint8_t garbage[] = {0x22, 0x05, 0x01};
	ck_assert_int_eq(event_decision_decode(CONFIG_FORMAT_PROTOBUF, garbage, sizeof(garbage),
					       &out, reason),
			 -EBADMSG);
	ck_assert_str_eq(reason, "undecodable protobuf (expected arbiter.v1.ModerationDecision)");
	ck_assert_int_eq(event_decision_decode(CONFIG_FORMAT_PROTOBUF, garbage, 0, &out, reason),
			 -EBADMSG);
	ck_assert_str_eq(reason, "empty message");
}
END_TEST

/* --- the sample files --- */

/* Decodes every line of PATH; returns the number rejected and checks each
 * rejection has a reason of its own (the samples hold one mistake of each kind). */
static size_t samples_check(const char *path, bool decisions, size_t *total)
{
	FILE *f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	char *line = NULL;
	size_t cap = 0, bad = 0;
	ssize_t n;
	char seen[16][EVENT_REASON_MAX];

	*total = 0;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		(*total)++;
		int rc;
		if (decisions) {
			Arbiter__V1__ModerationDecision *d = NULL;
			rc = event_decision_decode(CONFIG_FORMAT_JSON, line, (size_t)n, &d, reason);
			event_decision_free(d);
		} else {
			Arbiter__V1__ContentEvent *ev = NULL;
			rc = event_content_decode(CONFIG_FORMAT_JSON, line, (size_t)n, &ev, reason);
			event_content_free(ev);
		}
		if (rc == 0)
			continue;
		ck_assert(rc == -EINVAL || rc == -EBADMSG);
		ck_assert_uint_lt(bad, 16);
		for (size_t i = 0; i < bad; i++)
			ck_assert_msg(strcmp(seen[i], reason) != 0, "reason repeated: %s", reason);
		strcpy(seen[bad++], reason);
	}
	free(line);
	fclose(f);
	return bad;
}

START_TEST(sample_content_file)
{
	size_t total, bad = samples_check(TEST_CONFIGDIR "/samples/content.jsonl", false, &total);
	ck_assert_uint_ge(total, 250);
	ck_assert_uint_eq(bad, 9);
}
END_TEST

START_TEST(sample_decisions_file)
{
	size_t total, bad = samples_check(TEST_CONFIGDIR "/samples/decisions.jsonl", true, &total);
	ck_assert_uint_ge(total, 100);
	ck_assert_uint_eq(bad, 5);
}
END_TEST

static Suite *event_suite(void)
{
	Suite *s = suite_create("event");
	TCase *tc = tcase_create("content");
	tcase_add_test(tc, content_json_valid);
	tcase_add_test(tc, content_protobuf_valid);
	tcase_add_test(tc, decoded_messages_live_in_arenas);
	tcase_add_test(tc, content_empty_and_undecodable);
	tcase_add_test(tc, decode_failures_are_classed);
	tcase_add_test(tc, content_truncated_protobuf);
	tcase_add_test(tc, content_bad_json);
	tcase_add_test(tc, content_missing_ids);
	tcase_add_test(tc, content_unknown_enum_numbers);
	tcase_add_test(tc, content_signals_finite);
	tcase_add_test(tc, content_lang_country);
	tcase_add_test(tc, content_invalid_utf8_via_protobuf);
	suite_add_tcase(s, tc);

	tc = tcase_create("decisions");
	tcase_add_test(tc, decision_valid);
	tcase_add_test(tc, decision_required_fields);
	tcase_add_test(tc, decision_unknown_enum_numbers);
	suite_add_tcase(s, tc);

	tc = tcase_create("samples");
	tcase_add_test(tc, sample_content_file);
	tcase_add_test(tc, sample_decisions_file);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(event_suite());
}
