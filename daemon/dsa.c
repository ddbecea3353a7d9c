/* DSA statements of reasons: filling an AuditRecord's DSA fields, the API's JSON, and its checks.
 */
#include "dsa.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "strmap.h"

/* --- The API's values (sources in dsa.h) ------------------------------------ */

struct dsa_enum {
	const char *const *v;
	size_t n;
};
#define DSA_ENUM(a)                                                                                \
	{                                                                                          \
		a, sizeof(a) / sizeof(a[0])                                                        \
	}

static const char *const dsa_visibilities[] = {
	"DECISION_VISIBILITY_CONTENT_REMOVED",
	"DECISION_VISIBILITY_CONTENT_DISABLED",
	"DECISION_VISIBILITY_CONTENT_DEMOTED",
	"DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED",
	"DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED",
	"DECISION_VISIBILITY_CONTENT_LABELLED",
	"DECISION_VISIBILITY_OTHER",
};
static const char *const dsa_monetaries[] = {
	"DECISION_MONETARY_SUSPENSION",
	"DECISION_MONETARY_TERMINATION",
	"DECISION_MONETARY_OTHER",
};
static const char *const dsa_provisions[] = {
	"DECISION_PROVISION_PARTIAL_SUSPENSION",
	"DECISION_PROVISION_TOTAL_SUSPENSION",
	"DECISION_PROVISION_PARTIAL_TERMINATION",
	"DECISION_PROVISION_TOTAL_TERMINATION",
};
static const char *const dsa_accounts[] = {"DECISION_ACCOUNT_SUSPENDED",
					   "DECISION_ACCOUNT_TERMINATED"};
static const char *const dsa_account_types[] = {"ACCOUNT_TYPE_BUSINESS", "ACCOUNT_TYPE_PRIVATE"};
static const char *const dsa_grounds[] = {"DECISION_GROUND_ILLEGAL_CONTENT",
					  "DECISION_GROUND_INCOMPATIBLE_CONTENT"};
static const char *const dsa_content_types[] = {
	"CONTENT_TYPE_APP",     "CONTENT_TYPE_AUDIO",           "CONTENT_TYPE_IMAGE",
	"CONTENT_TYPE_PRODUCT", "CONTENT_TYPE_SYNTHETIC_MEDIA", "CONTENT_TYPE_TEXT",
	"CONTENT_TYPE_VIDEO",   "CONTENT_TYPE_OTHER",
};
static const char *const dsa_categories[] = {
	"STATEMENT_CATEGORY_ANIMAL_WELFARE",
	"STATEMENT_CATEGORY_CONSUMER_INFORMATION",
	"STATEMENT_CATEGORY_CYBER_VIOLENCE",
	"STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN",
	"STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS",
	"STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
	"STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS",
	"STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS",
	"STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE",
	"STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
	"STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
	"STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
	"STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
	"STATEMENT_CATEGORY_SELF_HARM",
	"STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS",
	"STATEMENT_CATEGORY_VIOLENCE",
};
static const char *const dsa_keywords[] = {
	"KEYWORD_ADULT_SEXUAL_MATERIAL",
	"KEYWORD_AGE_SPECIFIC_RESTRICTIONS",
	"KEYWORD_AGE_SPECIFIC_RESTRICTIONS_MINORS",
	"KEYWORD_ANIMAL_HARM",
	"KEYWORD_BIOMETRIC_DATA_BREACH",
	"KEYWORD_BULLYING_AGAINST_GIRLS",
	"KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL",
	"KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE",
	"KEYWORD_CONTENT_PROMOTING_EATING_DISORDERS",
	"KEYWORD_COORDINATED_HARM",
	"KEYWORD_COPYRIGHT_INFRINGEMENT",
	"KEYWORD_CYBER_BULLYING_INTIMIDATION",
	"KEYWORD_CYBER_HARASSMENT",
	"KEYWORD_CYBER_HARASSMENT_AGAINST_WOMEN",
	"KEYWORD_CYBER_INCITEMENT",
	"KEYWORD_CYBER_STALKING",
	"KEYWORD_CYBER_STALKING_AGAINST_WOMEN",
	"KEYWORD_DATA_FALSIFICATION",
	"KEYWORD_DEFAMATION",
	"KEYWORD_DESIGN_INFRINGEMENT",
	"KEYWORD_DISCRIMINATION",
	"KEYWORD_FEMALE_GENDERED_DISINFORMATION",
	"KEYWORD_GEOGRAPHIC_INDICATIONS_INFRINGEMENT",
	"KEYWORD_GEOGRAPHICAL_REQUIREMENTS",
	"KEYWORD_GOODS_SERVICES_NOT_PERMITTED",
	"KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS",
	"KEYWORD_HATE_SPEECH",
	"KEYWORD_HIDDEN_ADVERTISEMENT",
	"KEYWORD_HUMAN_EXPLOITATION",
	"KEYWORD_HUMAN_TRAFFICKING",
	"KEYWORD_ILLEGAL_ORGANIZATIONS",
	"KEYWORD_IMPERSONATION_ACCOUNT_HIJACKING",
	"KEYWORD_INAUTHENTIC_ACCOUNTS",
	"KEYWORD_INAUTHENTIC_LISTINGS",
	"KEYWORD_INAUTHENTIC_USER_REVIEWS",
	"KEYWORD_INCITEMENT_AGAINST_WOMEN",
	"KEYWORD_INCITEMENT_VIOLENCE_HATRED",
	"KEYWORD_INSUFFICIENT_INFORMATION_ON_TRADERS",
	"KEYWORD_LANGUAGE_REQUIREMENTS",
	"KEYWORD_MISINFORMATION_DISINFORMATION",
	"KEYWORD_MISLEADING_INFO_CONSUMER_RIGHTS",
	"KEYWORD_MISLEADING_INFO_GOODS_SERVICES",
	"KEYWORD_MISSING_PROCESSING_GROUND",
	"KEYWORD_NON_CONSENSUAL_IMAGE_SHARING",
	"KEYWORD_NON_CONSENSUAL_IMAGE_SHARING_AGAINST_WOMEN",
	"KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE",
	"KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE_AGAINST_WOMEN",
	"KEYWORD_NONCOMPLIANCE_PRICING",
	"KEYWORD_NUDITY",
	"KEYWORD_PATENT_INFRINGEMENT",
	"KEYWORD_PHISHING",
	"KEYWORD_PROHIBITED_PRODUCTS",
	"KEYWORD_PYRAMID_SCHEMES",
	"KEYWORD_RIGHT_TO_BE_FORGOTTEN",
	"KEYWORD_RISK_ENVIRONMENTAL_DAMAGE",
	"KEYWORD_RISK_PUBLIC_HEALTH",
	"KEYWORD_SELF_MUTILATION",
	"KEYWORD_STALKING",
	"KEYWORD_SUICIDE",
	"KEYWORD_TERRORIST_CONTENT",
	"KEYWORD_TRADE_SECRET_INFRINGEMENT",
	"KEYWORD_TRADEMARK_INFRINGEMENT",
	"KEYWORD_TRAFFICKING_WOMEN_GIRLS",
	"KEYWORD_UNLAWFUL_SALE_ANIMALS",
	"KEYWORD_UNSAFE_CHALLENGES",
	"KEYWORD_UNSAFE_PRODUCTS",
	"KEYWORD_VIOLATION_EU_LAW",
	"KEYWORD_VIOLATION_NATIONAL_LAW",
	"KEYWORD_OTHER",
};
/* EUROPEAN_COUNTRY_CODES: the EU (Greece as GR) and IS, LI, NO. */
static const char *const dsa_countries[] = {
	"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE",
	"IS", "IT", "LI", "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE", "SI", "SK",
};
/* ALL_LANGUAGES: ISO 639-1, upper case. */
static const char *const dsa_languages[] = {
	"AB", "AA", "AF", "AK", "SQ", "AM", "AR", "AN", "HY", "AS", "AV", "AE", "AY", "AZ", "BM",
	"BA", "EU", "BE", "BN", "BH", "BI", "BS", "BR", "BG", "MY", "CA", "KM", "CH", "CE", "NY",
	"ZH", "CU", "CV", "KW", "CO", "CR", "HR", "CS", "DA", "DV", "NL", "DZ", "EN", "EO", "ET",
	"EE", "FO", "FJ", "FI", "FR", "FF", "GD", "GL", "LG", "KA", "DE", "KI", "EL", "KL", "GN",
	"GU", "HT", "HA", "HE", "HZ", "HI", "HO", "HU", "IS", "IO", "IG", "ID", "IA", "IE", "IU",
	"IK", "GA", "IT", "JA", "JV", "KN", "KR", "KS", "KK", "RW", "KV", "KG", "KO", "KJ", "KU",
	"KY", "LO", "LA", "LV", "LB", "LI", "LN", "LT", "LU", "MK", "MG", "MS", "ML", "MT", "GV",
	"MI", "MR", "MH", "RO", "MN", "NA", "NV", "ND", "NG", "NE", "SE", "NO", "NB", "NN", "II",
	"OC", "OJ", "OR", "OM", "OS", "PI", "PA", "PS", "FA", "PL", "PT", "QU", "RM", "RN", "RU",
	"SM", "SG", "SA", "SC", "SR", "SN", "SD", "SI", "SK", "SL", "SO", "ST", "NR", "ES", "SU",
	"SW", "SS", "SV", "TL", "TY", "TG", "TA", "TT", "TE", "TH", "BO", "TI", "TO", "TS", "TN",
	"TR", "TK", "TW", "UG", "UK", "UR", "UZ", "VE", "VI", "VO", "WA", "CY", "FY", "WO", "XH",
	"YI", "YO", "ZA", "ZU",
};
static const char *const dsa_sources[] = {"SOURCE_VOLUNTARY", "SOURCE_ARTICLE_16",
					  "SOURCE_TRUSTED_FLAGGER",
					  "SOURCE_TYPE_OTHER_NOTIFICATION"};
static const char *const dsa_automated_decisions[] = {
	"AUTOMATED_DECISION_FULLY",
	"AUTOMATED_DECISION_PARTIALLY",
	"AUTOMATED_DECISION_NOT_AUTOMATED",
};
static const char *const dsa_yes_no[] = {"Yes", "No"};

static const struct dsa_enum dsa_eea = DSA_ENUM(dsa_countries);
static const struct dsa_enum dsa_langs = DSA_ENUM(dsa_languages);

static bool dsa_in(struct dsa_enum e, const char *s)
{
	for (size_t i = 0; i < e.n; i++)
		if (!strcmp(e.v[i], s))
			return true;
	return false;
}

bool dsa_category_valid(const char *s)
{
	return dsa_in((struct dsa_enum)DSA_ENUM(dsa_categories), s);
}

_Static_assert(sizeof(dsa_categories) / sizeof(dsa_categories[0]) == DSA_CATEGORIES,
	       "DSA_CATEGORIES is the number of categories");

const char *dsa_category_at(size_t i)
{
	return i < DSA_CATEGORIES ? dsa_categories[i] : NULL;
}

int dsa_category_index(const char *s)
{
	for (int i = 0; s && i < DSA_CATEGORIES; i++)
		if (!strcmp(dsa_categories[i], s))
			return i;
	return -1;
}

/* --- Mapping ------------------------------------------------------------------ */

const struct dsa_action *dsa_action_map(Arbiter__V1__Action action)
{
	static const struct dsa_action label = {.visibility =
							"DECISION_VISIBILITY_CONTENT_LABELLED"};
	static const struct dsa_action demote = {.visibility =
							 "DECISION_VISIBILITY_CONTENT_DEMOTED"};
	static const struct dsa_action age = {.visibility =
						      "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED"};
	static const struct dsa_action demonetize = {.monetary = "DECISION_MONETARY_SUSPENSION"};
	static const struct dsa_action geo = {.visibility = "DECISION_VISIBILITY_CONTENT_DISABLED"};
	static const struct dsa_action remove = {.visibility =
							 "DECISION_VISIBILITY_CONTENT_REMOVED"};
	static const struct dsa_action suspend = {.account = "DECISION_ACCOUNT_SUSPENDED"};
	static const struct dsa_action terminate = {.account = "DECISION_ACCOUNT_TERMINATED"};
	switch (action) {
	case ARBITER__V1__ACTION__LABEL:
		return &label;
	case ARBITER__V1__ACTION__DEMOTE:
		return &demote;
	case ARBITER__V1__ACTION__AGE_RESTRICT:
		return &age;
	case ARBITER__V1__ACTION__DEMONETIZE:
		return &demonetize;
	case ARBITER__V1__ACTION__GEO_BLOCK:
		return &geo;
	case ARBITER__V1__ACTION__REMOVE:
		return &remove;
	case ARBITER__V1__ACTION__SUSPEND_ACCOUNT:
		return &suspend;
	case ARBITER__V1__ACTION__TERMINATE_ACCOUNT:
		return &terminate;
	default:
		return NULL;
	}
}

const char *dsa_ground_name(Arbiter__V1__Ground ground)
{
	switch (ground) {
	case ARBITER__V1__GROUND__ILLEGAL_CONTENT:
		return "DECISION_GROUND_ILLEGAL_CONTENT";
	case ARBITER__V1__GROUND__INCOMPATIBLE_CONTENT:
		return "DECISION_GROUND_INCOMPATIBLE_CONTENT";
	default:
		return NULL;
	}
}

const char *dsa_content_type_name(Arbiter__V1__ContentType type)
{
	switch (type) {
	case ARBITER__V1__CONTENT_TYPE__TEXT:
		return "CONTENT_TYPE_TEXT";
	case ARBITER__V1__CONTENT_TYPE__IMAGE:
		return "CONTENT_TYPE_IMAGE";
	case ARBITER__V1__CONTENT_TYPE__VIDEO:
		return "CONTENT_TYPE_VIDEO";
	case ARBITER__V1__CONTENT_TYPE__AUDIO:
		return "CONTENT_TYPE_AUDIO";
	case ARBITER__V1__CONTENT_TYPE__SYNTHETIC_MEDIA:
		return "CONTENT_TYPE_SYNTHETIC_MEDIA";
	case ARBITER__V1__CONTENT_TYPE__LINK:
	case ARBITER__V1__CONTENT_TYPE__OTHER:
		return "CONTENT_TYPE_OTHER";
	default:
		return NULL;
	}
}

int dsa_date(char out[11], int64_t ms)
{
	out[0] = '\0';
	/* 253402300800 s is 10000-01-01: four digits of year at most. */
	if (ms <= 0 || ms / 1000 >= 253402300800LL)
		return -EINVAL;
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	if (!gmtime_r(&t, &tm))
		return -EINVAL;
	/* The year has 4 digits (checked above); the compiler cannot know. */
	char buf[32];
	snprintf(buf, sizeof(buf), "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	memcpy(out, buf, 11);
	return 0;
}

/* --- Filling a record ----------------------------------------------------------- */

/* Adds the DSA name of TYPE to the record's content types unless there. */
static void dsa_add_content_type(Arbiter__V1__AuditRecord *r, struct dsa_scratch *s,
				 Arbiter__V1__ContentType type)
{
	const char *name = dsa_content_type_name(type);
	if (!name)
		return;
	for (size_t i = 0; i < r->n_content_type; i++)
		if (!strcmp(r->content_type[i], name))
			goto described;
	if (r->n_content_type < DSA_MAX_CONTENT_TYPES)
		s->content_types[r->n_content_type++] = (char *)name;
described:
	/* CONTENT_TYPE_OTHER needs content_type_other: say which of ours it was. */
	if (type == ARBITER__V1__CONTENT_TYPE__LINK || type == ARBITER__V1__CONTENT_TYPE__OTHER) {
		const char *what = type == ARBITER__V1__CONTENT_TYPE__LINK ? "Link" : "Other media";
		if (strstr(s->content_type_other, what))
			return;
		size_t n = strlen(s->content_type_other);
		snprintf(s->content_type_other + n, sizeof(s->content_type_other) - n, "%s%s",
			 n ? ", " : "", what);
	}
}

static void dsa_fill_content_types(Arbiter__V1__AuditRecord *r, const struct dsa_input *in,
				   struct dsa_scratch *s)
{
	r->content_type = s->content_types;
	r->n_content_type = 0;
	const Arbiter__V1__ContentEvent *ev = in->event;
	if (!ev) {
		dsa_add_content_type(r, s, in->content_type);
	} else {
		dsa_add_content_type(r, s, ev->content_type);
		for (size_t i = 0; i < ev->n_media; i++)
			dsa_add_content_type(r, s, ev->media[i]->kind);
		if (ev->surface == ARBITER__V1__SURFACE__MARKETPLACE &&
		    r->n_content_type < DSA_MAX_CONTENT_TYPES)
			s->content_types[r->n_content_type++] = "CONTENT_TYPE_PRODUCT";
	}
	r->content_type_other = s->content_type_other;
}

/* The API's content_language of a BCP-47 tag: its primary subtag when that
 * is an ISO 639-1 code the API knows; "" otherwise (the field is optional). */
static void dsa_language(char out[3], const char *lang)
{
	out[0] = '\0';
	if (!lang || strlen(lang) < 2 || (lang[2] && lang[2] != '-' && lang[2] != '_'))
		return;
	char code[3] = {(char)(lang[0] & ~0x20), (char)(lang[1] & ~0x20), '\0'};
	if (dsa_in(dsa_langs, code))
		memcpy(out, code, 3);
}

/* Drops a UTF-8 sequence cut short at the end of S (snprintf cuts bytes). */
static void dsa_utf8_trim(char *s)
{
	size_t n = strlen(s), i = n;
	while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
		i--;
	if (i == 0)
		return;
	unsigned char lead = (unsigned char)s[i - 1];
	size_t want = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
	if (n - (i - 1) < want)
		s[i - 1] = '\0';
}

/* decision_facts when the caller has none: what the record knows of how the
 * decision came about. */
static void dsa_compose_facts(char *out, size_t size, const Arbiter__V1__AuditRecord *r,
			      const struct dsa_input *in)
{
	static const char *const sources[] = {
		[DSA_SOURCE_VOLUNTARY] = "Found on the provider's own initiative",
		[DSA_SOURCE_ARTICLE_16] = "Acted on a notice submitted under Article 16 DSA",
		[DSA_SOURCE_TRUSTED_FLAGGER] = "Acted on a notice from a trusted flagger",
		[DSA_SOURCE_OTHER_NOTIFICATION] = "Acted on a notification",
	};
	size_t n = (size_t)snprintf(
		out, size, "%s; the content was %sdetected by automated means.",
		sources[in->source <= DSA_SOURCE_OTHER_NOTIFICATION ? in->source : 0],
		in->automated_detection ? "" : "not ");
	for (size_t i = 0; n < size && i < r->n_rule_ids; i++)
		n += (size_t)snprintf(out + n, size - n, "%s%s",
				      i ? ", " : " Matched rules: ", r->rule_ids[i]);
	if (n < size && r->n_rule_ids && r->ruleset_version && r->ruleset_version[0])
		n += (size_t)snprintf(out + n, size - n, " (ruleset %s)", r->ruleset_version);
	if (n < size && r->n_rule_ids)
		n += (size_t)snprintf(out + n, size - n, ".");
	if (n < size && in->n_behaviour)
		n += (size_t)snprintf(
			out + n, size - n,
			" The decision rested on the behaviour of accounts, not only on "
			"the content:");
	for (size_t i = 0; n < size && i < in->n_behaviour; i++)
		n += (size_t)snprintf(out + n, size - n, "%s %s", i ? "," : "", in->behaviour[i]);
	if (n < size && in->n_behaviour)
		n += (size_t)snprintf(out + n, size - n, ".");
	if (n < size)
		n += (size_t)snprintf(
			out + n, size - n, " The decision was taken %s%s.",
			r->actor == ARBITER__V1__ACTOR__AUTOMATED ? "by automated means" :
								    "by a human reviewer",
			r->kind == ARBITER__V1__DECISION_KIND__APPEAL_RESOLVED ? " on appeal" : "");
	dsa_utf8_trim(out);
}

static char *dsa_str(const char *s)
{
	return (char *)(s ? s : "");
}

int dsa_fill_memo(Arbiter__V1__AuditRecord *r, const struct dsa_input *in, struct dsa_scratch *s,
		  struct dsa_memo *memo)
{
	memset(s, 0, sizeof(*s));
	const Arbiter__V1__ContentEvent *ev = in->event;
	int64_t created = ev ? ev->created_at_ms : in->created_at_ms;
	const char *lang = ev ? ev->lang : in->lang;
	const char *country = ev ? ev->country : in->country;

	const struct dsa_action *a = dsa_action_map(r->action);
	r->n_decision_visibility = 0;
	r->decision_visibility = s->visibility;
	if (a && a->visibility)
		s->visibility[r->n_decision_visibility++] = (char *)a->visibility;
	r->decision_monetary = dsa_str(a ? a->monetary : NULL);
	r->decision_provision = dsa_str(a ? a->provision : NULL);
	r->decision_account = dsa_str(a ? a->account : NULL);
	r->account_type =
		dsa_str(in->account_type == DSA_ACCOUNT_BUSINESS ? "ACCOUNT_TYPE_BUSINESS" :
			in->account_type == DSA_ACCOUNT_PRIVATE  ? "ACCOUNT_TYPE_PRIVATE" :
								   NULL);
	r->decision_ground = dsa_str(dsa_ground_name(r->ground));
	dsa_fill_content_types(r, in, s);
	dsa_language(s->content_language, lang);
	r->content_language = s->content_language;
	dsa_date(s->content_date, created);
	r->content_date = s->content_date;
	/* A decision without its own time took effect when it was recorded. */
	int64_t decided = r->decided_at_ms > 0 ? r->decided_at_ms : r->recorded_at_ms;
	dsa_date(s->application_date, decided);
	r->application_date = s->application_date;
	r->source_type = (char *)
		dsa_sources[in->source <= DSA_SOURCE_OTHER_NOTIFICATION ? in->source :
									  DSA_SOURCE_VOLUNTARY];
	r->automated_detection = in->automated_detection;
	/* A human deciding on what automation found and laid out is "partially"
	 * automated; a human acting on a notice alone is not automated. */
	r->automated_decision = r->actor == ARBITER__V1__ACTOR__AUTOMATED ?
					"AUTOMATED_DECISION_FULLY" :
				r->actor != ARBITER__V1__ACTOR__HUMAN ? "" :
				in->automated_detection ? "AUTOMATED_DECISION_PARTIALLY" :
							  "AUTOMATED_DECISION_NOT_AUTOMATED";
	if (in->decision_facts && in->decision_facts[0]) {
		r->decision_facts = (char *)in->decision_facts;
	} else {
		dsa_compose_facts(s->facts, sizeof(s->facts), r, in);
		r->decision_facts = s->facts;
	}
	r->puid = dsa_str(r->record_id);
	r->latency_ms = created > 0 && decided >= created ? decided - created : 0;
	r->lang = dsa_str(lang);
	r->country = dsa_str(country);
	return dsa_memo_check(memo, r);
}

int dsa_fill(Arbiter__V1__AuditRecord *r, const struct dsa_input *in, struct dsa_scratch *s)
{
	return dsa_fill_memo(r, in, s, NULL);
}

/* --- The API's JSON ----------------------------------------------------------- */

bool dsa_has_statement(const Arbiter__V1__AuditRecord *r)
{
	if (!dsa_action_map(r->action) || r->kind == ARBITER__V1__DECISION_KIND__APPEAL_FILED)
		return false;
	/* An upheld appeal restricts nothing new: the statement of the decision
	 * under appeal stands. */
	if (r->kind == ARBITER__V1__DECISION_KIND__APPEAL_RESOLVED &&
	    r->appeal_outcome == ARBITER__V1__APPEAL_OUTCOME__UPHELD)
		return false;
	if (r->n_territorial_scope == 0)
		return true;
	for (size_t i = 0; i < r->n_territorial_scope; i++)
		if (dsa_in(dsa_eea, r->territorial_scope[i]))
			return true;
	return false;
}

/* The length in bytes of the first MAX characters of S. */
static size_t dsa_chars(const char *s, size_t max)
{
	size_t chars = 0, i = 0;
	for (; s[i]; i++) {
		if (((unsigned char)s[i] & 0xC0) != 0x80 && chars++ == max)
			break;
	}
	return i;
}

/* Sets KEY to S cut to MAX characters (0: no limit), unless S is empty. */
static void dsa_set_text(json_t *o, const char *key, const char *s, size_t max)
{
	if (!s || !s[0])
		return;
	json_object_set_new(o, key, json_stringn(s, max ? dsa_chars(s, max) : strlen(s)));
}

static void dsa_set_array(json_t *o, const char *key, char **v, size_t n)
{
	if (!n)
		return;
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	json_object_set_new(o, key, a);
}

json_t *dsa_statement_json(const Arbiter__V1__AuditRecord *r)
{
	if (!dsa_has_statement(r))
		return NULL;
	json_t *o = json_object();
	if (!o)
		return NULL;
	dsa_set_array(o, "decision_visibility", r->decision_visibility, r->n_decision_visibility);
	dsa_set_text(o, "decision_monetary", r->decision_monetary, 0);
	dsa_set_text(o, "decision_provision", r->decision_provision, 0);
	dsa_set_text(o, "decision_account", r->decision_account, 0);
	dsa_set_text(o, "account_type", r->account_type, 0);
	dsa_set_text(o, "decision_ground", r->decision_ground, 0);
	/* One text pair, under the names of the record's ground. */
	if (r->decision_ground && !strcmp(r->decision_ground, "DECISION_GROUND_ILLEGAL_CONTENT")) {
		dsa_set_text(o, "illegal_content_legal_ground", r->legal_ground, 500);
		dsa_set_text(o, "illegal_content_explanation", r->explanation, 2000);
	} else if (r->decision_ground &&
		   !strcmp(r->decision_ground, "DECISION_GROUND_INCOMPATIBLE_CONTENT")) {
		dsa_set_text(o, "incompatible_content_ground", r->legal_ground, 500);
		dsa_set_text(o, "incompatible_content_explanation", r->explanation, 2000);
	}
	dsa_set_array(o, "content_type", r->content_type, r->n_content_type);
	for (size_t i = 0; i < r->n_content_type; i++)
		if (!strcmp(r->content_type[i], "CONTENT_TYPE_OTHER"))
			dsa_set_text(o, "content_type_other", r->content_type_other, 500);
	dsa_set_text(o, "category", r->category, 0);
	/* The API takes EEA countries only; no scope means the whole EEA. */
	json_t *scope = json_array();
	for (size_t i = 0; i < r->n_territorial_scope; i++)
		if (dsa_in(dsa_eea, r->territorial_scope[i]))
			json_array_append_new(scope, json_string(r->territorial_scope[i]));
	for (size_t i = 0; !r->n_territorial_scope && i < dsa_eea.n; i++)
		json_array_append_new(scope, json_string(dsa_countries[i]));
	json_object_set_new(o, "territorial_scope", scope);
	dsa_set_text(o, "content_language", r->content_language, 0);
	dsa_set_text(o, "content_date", r->content_date, 0);
	dsa_set_text(o, "application_date", r->application_date, 0);
	dsa_set_text(o, "decision_facts", r->decision_facts, 5000);
	dsa_set_text(o, "source_type", r->source_type, 0);
	json_object_set_new(o, "automated_detection",
			    json_string(r->automated_detection ? "Yes" : "No"));
	dsa_set_text(o, "automated_decision", r->automated_decision, 0);
	dsa_set_text(o, "puid", r->puid, 0);
	return o;
}

/* --- Validation ------------------------------------------------------------------ */

enum dsa_kind { DSA_TEXT, DSA_VALUE, DSA_VALUES, DSA_DATE, DSA_CONTENT_ID };

/* One field the API takes. MAX: characters of a text; REQUIRED: must be
 * present and non-empty whatever the other fields say. */
static const struct dsa_field {
	const char *name;
	enum dsa_kind kind;
	struct dsa_enum values;
	size_t max;
	bool required;
} dsa_fields[] = {
	{"content_id", DSA_CONTENT_ID},
	{"content_id_ean", DSA_TEXT, {0}, 13},
	{"decision_visibility", DSA_VALUES, DSA_ENUM(dsa_visibilities)},
	{"decision_visibility_other", DSA_TEXT, {0}, 500},
	{"decision_monetary", DSA_VALUE, DSA_ENUM(dsa_monetaries)},
	{"decision_monetary_other", DSA_TEXT, {0}, 500},
	{"decision_provision", DSA_VALUE, DSA_ENUM(dsa_provisions)},
	{"decision_account", DSA_VALUE, DSA_ENUM(dsa_accounts)},
	{"account_type", DSA_VALUE, DSA_ENUM(dsa_account_types)},
	{"category_specification", DSA_VALUES, DSA_ENUM(dsa_keywords)},
	{"category_specification_other", DSA_TEXT, {0}, 500},
	{"decision_ground", DSA_VALUE, DSA_ENUM(dsa_grounds), 0, true},
	{"decision_ground_reference_url", DSA_TEXT, {0}, 500},
	{"illegal_content_legal_ground", DSA_TEXT, {0}, 500},
	{"illegal_content_explanation", DSA_TEXT, {0}, 2000},
	{"incompatible_content_ground", DSA_TEXT, {0}, 500},
	{"incompatible_content_explanation", DSA_TEXT, {0}, 2000},
	{"incompatible_content_illegal", DSA_VALUE, DSA_ENUM(dsa_yes_no)},
	{"content_type", DSA_VALUES, DSA_ENUM(dsa_content_types), 0, true},
	{"content_type_other", DSA_TEXT, {0}, 500},
	{"category", DSA_VALUE, DSA_ENUM(dsa_categories), 0, true},
	{"category_addition", DSA_VALUES, DSA_ENUM(dsa_categories)},
	{"territorial_scope", DSA_VALUES, DSA_ENUM(dsa_countries)},
	{"content_language", DSA_VALUE, DSA_ENUM(dsa_languages)},
	{"content_date", DSA_DATE, {0}, 0, true},
	{"application_date", DSA_DATE, {0}, 0, true},
	{"end_date_account_restriction", DSA_DATE},
	{"end_date_monetary_restriction", DSA_DATE},
	{"end_date_service_restriction", DSA_DATE},
	{"end_date_visibility_restriction", DSA_DATE},
	{"decision_facts", DSA_TEXT, {0}, 5000, true},
	{"source_type", DSA_VALUE, DSA_ENUM(dsa_sources), 0, true},
	{"source_identity", DSA_TEXT, {0}, 500},
	{"automated_detection", DSA_VALUE, DSA_ENUM(dsa_yes_no), 0, true},
	{"automated_decision", DSA_VALUE, DSA_ENUM(dsa_automated_decisions), 0, true},
	{"puid", DSA_TEXT, {0}, 500, true},
};

__attribute__((format(printf, 3, 4))) static int dsa_fail(char *why, size_t len, const char *fmt,
							  ...)
{
	if (why && len) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(why, len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

bool dsa_is_date(const char *s)
{
	int y, m, d;
	char tail;
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' ||
	    sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3)
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return false;
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m >= 1 && m <= 12 && d >= 1 && d <= days[m - 1] + (m == 2 && leap);
}

static bool dsa_all_of(const char *s, const char *set)
{
	return s[0] && strspn(s, set) == strlen(s);
}

/* Checks one present, non-null field against its kind. */
static int dsa_check_field(const struct dsa_field *f, const json_t *v, char *why, size_t len)
{
	switch (f->kind) {
	case DSA_TEXT: {
		if (!json_is_string(v))
			return dsa_fail(why, len, "%s: expected a string", f->name);
		const char *s = json_string_value(v);
		size_t bytes = json_string_length(v);
		if (f->max && dsa_chars(s, f->max) < bytes)
			return dsa_fail(why, len, "%s: longer than %zu characters", f->name,
					f->max);
		return 0;
	}
	case DSA_VALUE:
		if (!json_is_string(v))
			return dsa_fail(why, len, "%s: expected a string", f->name);
		if (!dsa_in(f->values, json_string_value(v)))
			return dsa_fail(why, len, "%s: \"%s\" is not one of the API's values",
					f->name, json_string_value(v));
		return 0;
	case DSA_VALUES: {
		if (!json_is_array(v))
			return dsa_fail(why, len, "%s: expected an array", f->name);
		size_t i;
		const json_t *e;
		json_array_foreach(v, i, e)
		{
			if (!json_is_string(e) || !dsa_in(f->values, json_string_value(e)))
				return dsa_fail(why, len, "%s[%zu]: not one of the API's values",
						f->name, i);
		}
		return 0;
	}
	case DSA_DATE:
		if (!json_is_string(v) || !dsa_is_date(json_string_value(v)))
			return dsa_fail(why, len, "%s: expected a date YYYY-MM-DD", f->name);
		if (strcmp(json_string_value(v), "2038-01-01") > 0)
			return dsa_fail(why, len, "%s: after 2038-01-01", f->name);
		return 0;
	case DSA_CONTENT_ID: {
		const char *k;
		const json_t *e;
		if (!json_is_object(v))
			return dsa_fail(why, len, "%s: expected an object", f->name);
		json_object_foreach((json_t *)v, k, e)
		{
			if (strcmp(k, "EAN-13") || !json_is_string(e) ||
			    json_string_length(e) != 13 ||
			    !dsa_all_of(json_string_value(e), "0123456789"))
				return dsa_fail(why, len, "%s: only \"EAN-13\": 13 digits",
						f->name);
		}
		return 0;
	}
	}
	return 0;
}

/* The field NAME when present and neither null nor empty. */
static const json_t *dsa_get(const json_t *st, const char *name)
{
	const json_t *v = json_object_get(st, name);
	if (!v || json_is_null(v) || (json_is_string(v) && !json_string_length(v)) ||
	    (json_is_array(v) && !json_array_size(v)))
		return NULL;
	return v;
}

static bool dsa_is(const json_t *st, const char *name, const char *value)
{
	const json_t *v = dsa_get(st, name);
	if (json_is_string(v))
		return !strcmp(json_string_value(v), value);
	size_t i;
	const json_t *e;
	json_array_foreach(v, i, e)
	{
		if (json_is_string(e) && !strcmp(json_string_value(e), value))
			return true;
	}
	return false;
}

/* Field NAME is needed exactly when COND holds: the API requires it then,
 * and drops it otherwise (which we treat as our mistake). */
static int dsa_when(const json_t *st, const char *name, bool cond, const char *because, char *why,
		    size_t len)
{
	bool present = dsa_get(st, name) != NULL;
	if (cond && !present)
		return dsa_fail(why, len, "%s: required when %s", name, because);
	if (!cond && present)
		return dsa_fail(why, len, "%s: only taken when %s", name, because);
	return 0;
}

int dsa_validate(const json_t *st, char *why, size_t len)
{
	if (!json_is_object(st))
		return dsa_fail(why, len, "a statement is a JSON object");
	/* Each field the API takes, looked up in the statement's hash; then any key left over
	 * is one it does not take. */
	size_t known = 0;
	for (size_t i = 0; i < sizeof(dsa_fields) / sizeof(dsa_fields[0]); i++) {
		const json_t *v = json_object_get(st, dsa_fields[i].name);
		if (!v)
			continue;
		known++;
		if (json_is_null(v))
			continue;
		int rc = dsa_check_field(&dsa_fields[i], v, why, len);
		if (rc)
			return rc;
	}
	if (known < json_object_size(st)) {
		const char *key;
		const json_t *v;
		json_object_foreach((json_t *)st, key, v)
		{
			size_t i = 0;
			while (i < sizeof(dsa_fields) / sizeof(dsa_fields[0]) &&
			       strcmp(dsa_fields[i].name, key))
				i++;
			if (i == sizeof(dsa_fields) / sizeof(dsa_fields[0]))
				return dsa_fail(why, len, "%s: not a field of the API", key);
		}
	}
	for (size_t i = 0; i < sizeof(dsa_fields) / sizeof(dsa_fields[0]); i++)
		if (dsa_fields[i].required && !dsa_get(st, dsa_fields[i].name))
			return dsa_fail(why, len, "%s: required", dsa_fields[i].name);
	if (!dsa_get(st, "decision_visibility") && !dsa_get(st, "decision_monetary") &&
	    !dsa_get(st, "decision_provision") && !dsa_get(st, "decision_account"))
		return dsa_fail(why, len,
				"one of decision_visibility, decision_monetary, "
				"decision_provision, decision_account is required");
	bool illegal = dsa_is(st, "decision_ground", "DECISION_GROUND_ILLEGAL_CONTENT");
	const struct {
		const char *name;
		bool cond;
		const char *because;
	} conds[] = {
		{"illegal_content_legal_ground", illegal, "decision_ground is illegal content"},
		{"illegal_content_explanation", illegal, "decision_ground is illegal content"},
		{"incompatible_content_ground", !illegal,
		 "decision_ground is incompatible content"},
		{"incompatible_content_explanation", !illegal,
		 "decision_ground is incompatible content"},
		{"decision_visibility_other",
		 dsa_is(st, "decision_visibility", "DECISION_VISIBILITY_OTHER"),
		 "decision_visibility has DECISION_VISIBILITY_OTHER"},
		{"decision_monetary_other",
		 dsa_is(st, "decision_monetary", "DECISION_MONETARY_OTHER"),
		 "decision_monetary is DECISION_MONETARY_OTHER"},
		{"content_type_other", dsa_is(st, "content_type", "CONTENT_TYPE_OTHER"),
		 "content_type has CONTENT_TYPE_OTHER"},
	};
	for (size_t i = 0; i < sizeof(conds) / sizeof(conds[0]); i++) {
		int rc = dsa_when(st, conds[i].name, conds[i].cond, conds[i].because, why, len);
		if (rc)
			return rc;
	}
	if (illegal && dsa_get(st, "incompatible_content_illegal"))
		return dsa_fail(why, len,
				"incompatible_content_illegal: only taken when decision_ground "
				"is incompatible content");
	if (dsa_is(st, "source_type", "SOURCE_VOLUNTARY") && dsa_get(st, "source_identity"))
		return dsa_fail(why, len, "source_identity: not taken with SOURCE_VOLUNTARY");
	const char *content = json_string_value(dsa_get(st, "content_date"));
	const char *applied = json_string_value(dsa_get(st, "application_date"));
	if (strcmp(content, "2000-01-01") < 0)
		return dsa_fail(why, len, "content_date: before 2000-01-01");
	if (strcmp(applied, "2020-01-01") < 0)
		return dsa_fail(why, len, "application_date: before 2020-01-01");
	static const char *const ends[] = {
		"end_date_account_restriction", "end_date_monetary_restriction",
		"end_date_service_restriction", "end_date_visibility_restriction"};
	for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
		const json_t *e = dsa_get(st, ends[i]);
		if (e && strcmp(json_string_value(e), applied) < 0)
			return dsa_fail(why, len, "%s: before application_date", ends[i]);
	}
	if (!dsa_all_of(json_string_value(dsa_get(st, "puid")),
			"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"))
		return dsa_fail(why, len, "puid: only letters, digits, '-' and '_'");
	const json_t *url = dsa_get(st, "decision_ground_reference_url");
	if (url && strncmp(json_string_value(url), "https://", 8) &&
	    strncmp(json_string_value(url), "http://", 7))
		return dsa_fail(why, len, "decision_ground_reference_url: not a URL");
	const json_t *ean = dsa_get(st, "content_id_ean");
	if (ean &&
	    (json_string_length(ean) != 13 || !dsa_all_of(json_string_value(ean), "0123456789")))
		return dsa_fail(why, len, "content_id_ean: 13 digits");
	return 0;
}

int dsa_check(const Arbiter__V1__AuditRecord *r, char *why, size_t len)
{
	if (!dsa_has_statement(r))
		return 0;
	json_t *st = dsa_statement_json(r);
	if (!st)
		return -ENOMEM;
	int rc = dsa_validate(st, why, len);
	json_decref(st);
	return rc;
}

#define DSA_DATE_MEMO 64

struct dsa_memo {
	struct strmap shapes; /* key: a probe's fields; value: -dsa_check */
	size_t max;
	struct {
		char s[11];
		bool ok;
	} dates[DSA_DATE_MEMO];
};

struct dsa_memo *dsa_memo_new(size_t max_shapes)
{
	struct dsa_memo *m = calloc(1, sizeof(*m));
	if (m)
		m->max = max_shapes;
	return m;
}

void dsa_memo_free(struct dsa_memo *m)
{
	if (!m)
		return;
	strmap_free(&m->shapes);
	free(m);
}

/* --- Complete statements, remembered by shape ------------------------------------------ */

/*
 * dsa_check builds a statement's JSON and validates it: about 20 µs, more
 * than the rest of an audit record costs arbiterd or the report. Its outcome depends on a
 * record's texts (legal ground, explanation, decision facts,
 * content_type_other) only through whether each is present and valid UTF-8
 * (dsa_statement_json cuts them to the API's lengths at character
 * boundaries), on its puid only through the API's rule (1 to 500 of
 * [A-Za-z0-9_-]), and on its dates only through the API's ranges. So a
 * probe (the record with those fields replaced by one stand-in each, valid
 * or not as they are) has the same outcome, and probes repeat: the outcome
 * is kept per probe, exactly, for up to the memo's bound of them. A field
 * whose validity is not decided here is kept as it is in the probe.
 */

/* True when S is valid UTF-8 (RFC 3629: shortest forms, no surrogates,
 * nothing past U+10FFFF), as jansson requires of a string. */
static bool dsa_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		unsigned c = *p;
		size_t n = c < 0x80           ? 0 :
			   (c & 0xE0) == 0xC0 ? 1 :
			   (c & 0xF0) == 0xE0 ? 2 :
			   (c & 0xF8) == 0xF0 ? 3 :
						9;
		if (n == 9 || (n == 1 && c < 0xC2) || (n == 3 && c > 0xF4))
			return false;
		uint32_t cp = n ? c & (0x3Fu >> n) : c;
		for (size_t i = 1; i <= n; i++) {
			if ((p[i] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (p[i] & 0x3F);
		}
		if ((n == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
			return false;
		p += n + 1;
	}
	return true;
}

/* The stand-in of a text: "" when absent, "x" when it would be taken. */
static char *dsa_text_probe(char *s)
{
	return !s || !s[0] ? "" : dsa_utf8(s) ? "x" : s;
}

/* dsa_is_date(S), remembered: a ledger's dates repeat from record to record. */
static bool dsa_memo_is_date(struct dsa_memo *m, const char *s)
{
	if (strlen(s) != 10)
		return false;
	unsigned slot =
		((unsigned char)s[9] + 10u * (unsigned char)s[8] + 31u * (unsigned char)s[6]) %
		DSA_DATE_MEMO;
	if (!strcmp(m->dates[slot].s, s))
		return m->dates[slot].ok;
	memcpy(m->dates[slot].s, s, 11);
	return m->dates[slot].ok = dsa_is_date(s);
}

/* The stand-in of a date the API takes in [LO, 2038-01-01]. */
static char *dsa_date_probe(struct dsa_memo *m, char *s, const char *lo, char *valid)
{
	bool ok = s && dsa_memo_is_date(m, s) && strcmp(s, lo) >= 0 && strcmp(s, "2038-01-01") <= 0;
	return ok ? valid : s;
}

/* Appends S and a separator to KEY (SIZE bytes, N used); *N becomes SIZE
 * when it does not fit. */
static void dsa_key_add(char *key, size_t size, size_t *n, const char *s)
{
	size_t len = s ? strlen(s) : 0;
	if (*n + len + 1 >= size) {
		*n = size;
		return;
	}
	memcpy(key + *n, s, len);
	key[*n + len] = 0x1f;
	*n += len + 1;
}

int dsa_memo_check(struct dsa_memo *m, const Arbiter__V1__AuditRecord *rec)
{
	if (!m)
		return dsa_check(rec, NULL, 0);
	if (!dsa_has_statement(rec))
		return 0;
	Arbiter__V1__AuditRecord probe = *rec;
	probe.legal_ground = dsa_text_probe(rec->legal_ground);
	probe.explanation = dsa_text_probe(rec->explanation);
	probe.decision_facts = dsa_text_probe(rec->decision_facts);
	probe.content_type_other = dsa_text_probe(rec->content_type_other);
	const char *puid = rec->puid ? rec->puid : "";
	size_t len = strlen(puid);
	bool puid_ok =
		len && len <= 500 &&
		strspn(puid, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") ==
			len;
	probe.puid = puid_ok ? "p" : rec->puid;
	probe.content_date = dsa_date_probe(m, rec->content_date, "2000-01-01", "2001-01-01");
	probe.application_date =
		dsa_date_probe(m, rec->application_date, "2020-01-01", "2021-01-01");
	/* The key: every field the statement is made of, as the probe has it.
	 * A key that does not fit is not kept. */
	char key[4096];
	size_t n = 0;
	char *const *lists[] = {probe.decision_visibility, probe.content_type,
				probe.territorial_scope};
	size_t counts[] = {probe.n_decision_visibility, probe.n_content_type,
			   probe.n_territorial_scope};
	for (size_t l = 0; l < 3; l++) {
		for (size_t i = 0; i < counts[l]; i++)
			dsa_key_add(key, sizeof(key), &n, lists[l][i]);
		dsa_key_add(key, sizeof(key), &n, "|");
	}
	const char *fields[] = {probe.decision_monetary,
				probe.decision_provision,
				probe.decision_account,
				probe.account_type,
				probe.decision_ground,
				probe.legal_ground,
				probe.explanation,
				probe.content_type_other,
				probe.category,
				probe.content_language,
				probe.content_date,
				probe.application_date,
				probe.decision_facts,
				probe.source_type,
				probe.automated_decision,
				probe.puid,
				probe.automated_detection ? "Yes" : "No"};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		dsa_key_add(key, sizeof(key), &n, fields[i]);
	bool fits = n < sizeof(key);
	uint32_t rc;
	if (fits && strmap_get(&m->shapes, key, n, &rc))
		return -(int)rc;
	int got = dsa_check(&probe, NULL, 0);
	if (fits && got != -ENOMEM && m->shapes.n < m->max)
		(void)strmap_put(&m->shapes, key, n, (uint32_t)-got,
				 NULL); /* a cache: -ENOMEM costs time only */
	return got;
}
