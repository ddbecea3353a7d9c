/* DSA statements of reasons: our actions, grounds and media in the EU Transparency Database's
 * terms. */
#pragma once

/*
 * Every field name, value, length and rule here is taken from the DSA
 * Transparency Database itself, github.com/digital-services-act/transparency-database
 * at commit 69e80a0bc8eb3cbfbe8246e898194c3bdf490a4b (2026-06-24), the schema
 * in force since 1 July 2025:
 *   app/Http/Requests/StatementStoreRequest.php  fields, required and conditional
 *                                                rules, lengths, date formats and ranges
 *   app/Models/Statement.php                     enum values (DECISION_VISIBILITIES, …, KEYWORDS)
 *   app/Services/EuropeanCountriesService.php    territorial_scope: EU + IS, LI, NO
 *   app/Services/EuropeanLanguagesService.php    content_language: ALL_LANGUAGES
 *   app/Http/Controllers/Api/v1/StatementMultipleAPIController.php
 *                                                POST /api/v1/statements {"statements": [1..100]}
 *   resources/markdown/api-documentation.md
 * https://transparency.dsa.ec.europa.eu/page/api-documentation
 *
 * What the API requires of a statement: decision_ground, content_type (≥ 1),
 * category, content_date (YYYY-MM-DD, 2000-01-01..2038-01-01), application_date
 * (YYYY-MM-DD, 2020-01-01..2038-01-01), decision_facts (≤ 5000 characters),
 * source_type, automated_detection ("Yes"/"No"), automated_decision and puid
 * (≤ 500 of [A-Za-z0-9_-]); at least one of decision_visibility,
 * decision_monetary, decision_provision, decision_account; with
 * DECISION_GROUND_ILLEGAL_CONTENT illegal_content_legal_ground (≤ 500) and
 * illegal_content_explanation (≤ 2000), with DECISION_GROUND_INCOMPATIBLE_CONTENT
 * incompatible_content_ground (≤ 500) and incompatible_content_explanation (≤ 2000);
 * *_other fields with the *_OTHER values. territorial_scope and content_language
 * are optional; the API drops the other ground's fields silently.
 *
 * Our actions as statements (Article 17(1) DSA: visibility, monetary, service,
 * account restrictions):
 *   LABEL             decision_visibility DECISION_VISIBILITY_CONTENT_LABELLED
 *   DEMOTE            decision_visibility DECISION_VISIBILITY_CONTENT_DEMOTED
 *   AGE_RESTRICT      decision_visibility DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED
 *   DEMONETIZE        decision_monetary   DECISION_MONETARY_SUSPENSION (payments for
 *                     the content stop and come back if the decision is reversed;
 *                     termination would end the monetisation relationship itself)
 *   GEO_BLOCK         decision_visibility DECISION_VISIBILITY_CONTENT_DISABLED (access
 *                     disabled in territorial_scope; "removed" would be everywhere)
 *   REMOVE            decision_visibility DECISION_VISIBILITY_CONTENT_REMOVED
 *   SUSPEND_ACCOUNT   decision_account    DECISION_ACCOUNT_SUSPENDED
 *   TERMINATE_ACCOUNT decision_account    DECISION_ACCOUNT_TERMINATED
 *   NONE, RESTORE     no statement: nothing is restricted (RESTORE lifts a
 *                     restriction); ACTION_UNSPECIFIED neither.
 * No action maps to decision_provision: account actions are reported once, as
 * account restrictions.
 */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arbiter/v1/audit_record.pb-c.h"
#include "arbiter/v1/content_event.pb-c.h"

/* The batch endpoint takes 1 to 100 statements per call. */
#define DSA_BATCH_MAX 100

/* What the decision acted upon (source_type). Zero, the default, is the
 * platform's own initiative: what a rule firing on an event is. */
enum dsa_source {
	DSA_SOURCE_VOLUNTARY = 0,      /* SOURCE_VOLUNTARY */
	DSA_SOURCE_ARTICLE_16,         /* SOURCE_ARTICLE_16: a notice under Art. 16 */
	DSA_SOURCE_TRUSTED_FLAGGER,    /* SOURCE_TRUSTED_FLAGGER */
	DSA_SOURCE_OTHER_NOTIFICATION, /* SOURCE_TYPE_OTHER_NOTIFICATION */
};

/* The account_type of the content's author; unknown leaves it out. */
enum dsa_account_type { DSA_ACCOUNT_UNKNOWN = 0, DSA_ACCOUNT_BUSINESS, DSA_ACCOUNT_PRIVATE };

/* What the record builder knows beyond the record's own fields. */
struct dsa_input {
	/* The content decided on, when known: its content_type, the kinds of its
	 * media and a MARKETPLACE surface (CONTENT_TYPE_PRODUCT) give
	 * content_type; created_at_ms, lang and country the rest. */
	const Arbiter__V1__ContentEvent *event;
	/* Used without EVENT (a decision from moderation.decisions). */
	Arbiter__V1__ContentType content_type;
	int64_t created_at_ms; /* 0: unknown, and the statement lacks content_date */
	const char *lang;      /* BCP 47 */
	const char *country;   /* ISO 3166-1 alpha-2 */

	bool automated_detection; /* the content was found by automated means */
	enum dsa_source source;
	enum dsa_account_type account_type;
	const char *decision_facts; /* NULL or "": composed from the record */
	/* The rules' decision rested on the behaviour of accounts (windowed counters), not only
	 * on the content: the composed facts say so and name these ("count(...)=20"). */
	const char *const *behaviour;
	size_t n_behaviour;
};

#define DSA_MAX_CONTENT_TYPES 9
#define DSA_FACTS_LEN 1024

/* Storage the filled record points into; the caller keeps it alive until the
 * record is packed. */
struct dsa_scratch {
	char *visibility[1];
	char *content_types[DSA_MAX_CONTENT_TYPES];
	char content_type_other[32];
	char content_language[3];
	char content_date[11];
	char application_date[11];
	char facts[DSA_FACTS_LEN];
};

/* The restriction an action is, in the API's values (NULL: that kind of
 * restriction is not part of it). */
struct dsa_action {
	const char *visibility;
	const char *monetary;
	const char *provision;
	const char *account;
};

/* The restriction ACTION is, or NULL when it has no statement (NONE, RESTORE,
 * unspecified or unknown). */
const struct dsa_action *dsa_action_map(Arbiter__V1__Action action);

/* True when S is one of the API's STATEMENT_CATEGORY_* values. */
bool dsa_category_valid(const char *s);

/* The API's STATEMENT_CATEGORY_* values, in its order: their number, the
 * I-th (NULL when I is out of range), and the index of S (-1 when S is not
 * one of them). */
#define DSA_CATEGORIES 16
const char *dsa_category_at(size_t i);
int dsa_category_index(const char *s);

/* DECISION_GROUND_* for GROUND; NULL when unspecified. */
const char *dsa_ground_name(Arbiter__V1__Ground ground);

/* CONTENT_TYPE_* for TYPE; NULL when unspecified. LINK and OTHER are
 * CONTENT_TYPE_OTHER (the API has no links), described by content_type_other. */
const char *dsa_content_type_name(Arbiter__V1__ContentType type);

/* Writes the UTC date of MS as YYYY-MM-DD. Returns 0, or -EINVAL when MS is
 * not positive or past year 9999 (OUT is then ""). */
int dsa_date(char out[11], int64_t ms);

/* True when S is a calendar date written YYYY-MM-DD, as the API's dates are. */
bool dsa_is_date(const char *s);

/* Fills R's DSA fields (24 to 42) from the record's own action, actor,
 * ground, kind, rule_ids, ruleset_version, decided_at_ms and record_id,
 * which must be set first, and from IN. Strings point into S, IN and static
 * tables. Returns 0 when R carries a complete statement or needs none,
 * -EINVAL when a statement is due but lacks what the API requires (the
 * fields are filled as far as they can be; dsa_check says what is missing),
 * -ENOMEM. The record is worth writing in every case: the ledger holds every
 * action. */
int dsa_fill(Arbiter__V1__AuditRecord *r, const struct dsa_input *in, struct dsa_scratch *s);

/* What dsa_check said of statements by their shape. dsa_check's outcome depends on a
 * record's texts only through whether each is present and valid UTF-8, on its puid only
 * through the API's rule and on its dates only through the API's ranges; records alike in
 * everything else have the same outcome, and they repeat (a rule's statement differs from
 * record to record in its puid, dates and facts). Not thread-safe: one memo per thread. */
struct dsa_memo;

/* dsa_fill, checking through MEMO (dsa_memo_check; NULL: dsa_check). */
int dsa_fill_memo(Arbiter__V1__AuditRecord *r, const struct dsa_input *in, struct dsa_scratch *s,
		  struct dsa_memo *memo);

/* True when R is due a statement of reasons: a restricting action (see the
 * table above), taken or decided on appeal (not an appeal being filed, nor
 * one upheld, whose decision has its statement already), whose
 * territorial scope is everywhere or includes a country of the EEA. */
bool dsa_has_statement(const Arbiter__V1__AuditRecord *r);

/* R's statement in the API's JSON shape, with exactly the API's field names:
 * the EEA part of the territorial scope (all of the EEA when the record has
 * none), the ground's legal ground and explanation under the ground's own
 * names, texts cut to the API's lengths in characters. NULL when R has no
 * statement or memory runs out. */
json_t *dsa_statement_json(const Arbiter__V1__AuditRecord *r);

/* Checks STATEMENT against the API's field list, types, values, lengths,
 * dates and conditions (stricter than the API in one way: a field the API
 * would silently drop, such as the other ground's explanation, is an error,
 * since we never mean to send one). Returns 0, or -EINVAL with the first
 * problem in WHY. */
int dsa_validate(const json_t *statement, char *why, size_t len);

/* dsa_validate on R's statement; 0 as well when R has none. */
int dsa_check(const Arbiter__V1__AuditRecord *r, char *why, size_t len);

/* A memo of at most MAX_SHAPES shapes (beyond them, outcomes are computed, not kept);
 * NULL when out of memory. */
struct dsa_memo *dsa_memo_new(size_t max_shapes);
void dsa_memo_free(struct dsa_memo *m);

/* dsa_check(R, NULL, 0), remembered in M by R's shape (M NULL: not remembered). */
int dsa_memo_check(struct dsa_memo *m, const Arbiter__V1__AuditRecord *r);
