/* The DSA harmonised transparency template's CSV parts, filled from a report's figures. */
#include "report_csv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>
#include <sys/types.h>

/* --- RFC 4180 ------------------------------------------------------------------- */

void report_csv_cell(FILE *out, const char *s)
{
	if (!s)
		return;
	if (!s[strcspn(s, ",\"\r\n")]) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

void report_csv_end(FILE *out)
{
	fputs("\r\n", out);
}

/* A record being written: cells are separated as they come. */
struct report_csv {
	FILE *out;
	bool started;
};

static void report_csv_str(struct report_csv *c, const char *s)
{
	if (c->started)
		fputc(',', c->out);
	c->started = true;
	report_csv_cell(c->out, s);
}

static void report_csv_u64(struct report_csv *c, uint64_t v)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	report_csv_str(c, buf);
}

static void report_csv_empty(struct report_csv *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		report_csv_str(c, "");
}

static void report_csv_row_end(struct report_csv *c)
{
	report_csv_end(c->out);
	c->started = false;
}

/* A header or any row of fixed cells. */
static void report_csv_cells(struct report_csv *c, const char *const *cells, size_t n)
{
	for (size_t i = 0; i < n; i++)
		report_csv_str(c, cells[i]);
	report_csv_row_end(c);
}

#define REPORT_CSV_N(a) (sizeof(a) / sizeof((a)[0]))

/* --- The template's rows --------------------------------------------------------- */

static const char report_all[] = "All";
static const char report_platforms[] = "Only for providers of online platforms";
static const char report_hosting[] =
	"Only for providers of hosting services, including online platforms";
static const char report_vlops[] = "Only for VLOPs";
static const char report_vlops_vloses[] = "Only for VLOPs and VLOSEs";

#define REPORT_NOT_FROM "Not from this source: "

/* A category and its KEYWORD_* specifications, as the template lists them. */
struct report_csv_category {
	const char *name;
	const char *const *keywords; /* NULL-terminated; KEYWORD_OTHER last */
};

#define KW(...)                                                                                    \
	(const char *const[])                                                                      \
	{                                                                                          \
		__VA_ARGS__, "KEYWORD_OTHER", NULL                                                 \
	}

static const struct report_csv_category report_csv_categories[] = {
	{"STATEMENT_CATEGORY_ANIMAL_WELFARE",
	 KW("KEYWORD_ANIMAL_HARM", "KEYWORD_UNLAWFUL_SALE_ANIMALS")},
	{"STATEMENT_CATEGORY_CONSUMER_INFORMATION",
	 KW("KEYWORD_HIDDEN_ADVERTISEMENT", "KEYWORD_INSUFFICIENT_INFORMATION_ON_TRADERS",
	    "KEYWORD_MISLEADING_INFO_GOODS_SERVICES", "KEYWORD_MISLEADING_INFO_CONSUMER_RIGHTS",
	    "KEYWORD_NONCOMPLIANCE_PRICING")},
	{"STATEMENT_CATEGORY_CYBER_VIOLENCE",
	 KW("KEYWORD_CYBER_BULLYING_INTIMIDATION", "KEYWORD_CYBER_HARASSMENT",
	    "KEYWORD_CYBER_INCITEMENT", "KEYWORD_CYBER_STALKING",
	    "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING", "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE")},
	{"STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN",
	 KW("KEYWORD_BULLYING_AGAINST_GIRLS", "KEYWORD_CYBER_HARASSMENT_AGAINST_WOMEN",
	    "KEYWORD_CYBER_STALKING_AGAINST_WOMEN", "KEYWORD_FEMALE_GENDERED_DISINFORMATION",
	    "KEYWORD_INCITEMENT_AGAINST_WOMEN",
	    "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING_AGAINST_WOMEN",
	    "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE_AGAINST_WOMEN")},
	{"STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS",
	 KW("KEYWORD_BIOMETRIC_DATA_BREACH", "KEYWORD_DATA_FALSIFICATION",
	    "KEYWORD_MISSING_PROCESSING_GROUND", "KEYWORD_RIGHT_TO_BE_FORGOTTEN")},
	{"STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
	 KW("KEYWORD_DEFAMATION", "KEYWORD_DISCRIMINATION", "KEYWORD_HATE_SPEECH")},
	{"STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS",
	 KW("KEYWORD_COPYRIGHT_INFRINGEMENT", "KEYWORD_DESIGN_INFRINGEMENT",
	    "KEYWORD_GEOGRAPHIC_INDICATIONS_INFRINGEMENT", "KEYWORD_PATENT_INFRINGEMENT",
	    "KEYWORD_TRADE_SECRET_INFRINGEMENT", "KEYWORD_TRADEMARK_INFRINGEMENT")},
	{"STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS",
	 KW("KEYWORD_MISINFORMATION_DISINFORMATION", "KEYWORD_VIOLATION_EU_LAW",
	    "KEYWORD_VIOLATION_NATIONAL_LAW")},
	{"STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
	 KW("KEYWORD_AGE_SPECIFIC_RESTRICTIONS_MINORS", "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL",
	    "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE",
	    "KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS", "KEYWORD_UNSAFE_CHALLENGES")},
	{"STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
	 KW("KEYWORD_ILLEGAL_ORGANIZATIONS", "KEYWORD_RISK_ENVIRONMENTAL_DAMAGE",
	    "KEYWORD_RISK_PUBLIC_HEALTH", "KEYWORD_TERRORIST_CONTENT")},
	{"STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
	 KW("KEYWORD_IMPERSONATION_ACCOUNT_HIJACKING", "KEYWORD_INAUTHENTIC_ACCOUNTS",
	    "KEYWORD_INAUTHENTIC_LISTINGS", "KEYWORD_INAUTHENTIC_USER_REVIEWS", "KEYWORD_PHISHING",
	    "KEYWORD_PYRAMID_SCHEMES")},
	{"STATEMENT_CATEGORY_SELF_HARM", KW("KEYWORD_CONTENT_PROMOTING_EATING_DISORDERS",
					    "KEYWORD_SELF_MUTILATION", "KEYWORD_SUICIDE")},
	{"STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS",
	 KW("KEYWORD_PROHIBITED_PRODUCTS", "KEYWORD_UNSAFE_PRODUCTS")},
	{"STATEMENT_CATEGORY_VIOLENCE",
	 KW("KEYWORD_COORDINATED_HARM", "KEYWORD_INCITEMENT_VIOLENCE_HATRED",
	    "KEYWORD_HUMAN_EXPLOITATION", "KEYWORD_HUMAN_TRAFFICKING",
	    "KEYWORD_TRAFFICKING_WOMEN_GIRLS")},
	/* Part 6 only: incompatibility with the terms and conditions. */
	{"STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
	 KW("KEYWORD_ADULT_SEXUAL_MATERIAL", "KEYWORD_AGE_SPECIFIC_RESTRICTIONS",
	    "KEYWORD_GEOGRAPHICAL_REQUIREMENTS", "KEYWORD_GOODS_SERVICES_NOT_PERMITTED",
	    "KEYWORD_LANGUAGE_REQUIREMENTS", "KEYWORD_NUDITY")},
};
/* Parts 3 to 5 list the categories of illegal content: all but the last. */
#define REPORT_CSV_ILLEGAL_CATEGORIES (REPORT_CSV_N(report_csv_categories) - 1)

static const char report_keyword_note[] =
	REPORT_NOT_FROM "the ledger records no KEYWORD_* specification of a category";
static const char report_other_description[] = "Description of the sub-category \"Other\"";

/* The start of a row of parts 3 to 11: applicability, service, period. */
static void report_csv_lead(struct report_csv *c, const struct report_figures *f,
			    const char *applicability)
{
	char period[32];
	snprintf(period, sizeof(period), "%s/%s", f->from, f->to);
	report_csv_str(c, applicability);
	report_csv_str(c, f->service);
	report_csv_str(c, period);
}

/* A median in days (four decimals) into BUF, "" when H is empty. */
static const char *report_csv_days(char *buf, size_t size, const struct report_hist *h)
{
	if (!h->n)
		return "";
	uint64_t ms = report_hist_quantile(h, 500);
	snprintf(buf, size, "%.4f", (double)ms / (double)REPORT_DAY_MS);
	return buf;
}

/* --- Part 1: identification ---------------------------------------------------------- */

static void report_csv_part1(const struct report_figures *f, struct report_csv *c)
{
	static const char *const head[] = {"Applicability", "Service", "Indicator", "Value"};
	report_csv_cells(c, head, REPORT_CSV_N(head));
	char published[11] = "";
	if (f->generated_ms > 0)
		report_format_date(published, f->generated_ms);
	const char *rows[][2] = {
		{"Name of the service provider", f->provider},
		{"Date of the publication of the report", published},
		{"Date of the publication of the latest previous report", ""},
		{"Starting date of reporting period", f->from},
		{"Ending date of reporting period", f->to},
	};
	for (size_t i = 0; i < REPORT_CSV_N(rows); i++) {
		report_csv_str(c, report_all);
		report_csv_str(c, f->service);
		report_csv_str(c, rows[i][0]);
		report_csv_str(c, rows[i][1]);
		report_csv_row_end(c);
	}
}

/* --- Part 2: categories -------------------------------------------------------------- */

static void report_csv_part2(const struct report_figures *f, struct report_csv *c)
{
	static const char *const head[] = {
		"Category label", "Category description",
		"Category of illegal content / incompatible with the terms and conditions",
		"Contextual information"};
	report_csv_cells(c, head, REPORT_CSV_N(head));
	/* The ledger's categories are the DSA's own: each one used is its own label. */
	for (size_t i = 0; i < DSA_CATEGORIES; i++) {
		uint64_t n = 0;
		for (int g = 0; g < REPORT_GROUNDS; g++)
			n += f->own[g][i][REPORT_M_MEASURES];
		if (!n)
			continue;
		char ctx[160];
		snprintf(ctx, sizeof(ctx),
			 "The audit ledger records this category as it is; %" PRIu64
			 " own-initiative measure(s) in the period",
			 n);
		report_csv_str(c, dsa_category_at(i));
		report_csv_str(c, "");
		report_csv_str(c, dsa_category_at(i));
		report_csv_str(c, ctx);
		report_csv_row_end(c);
	}
}

/* --- Parts 3 and 4: orders and notices, which the ledger does not record ---------------- */

static void report_csv_unknown_rows(const struct report_figures *f, struct report_csv *c,
				    const char *applicability, const char *scope, size_t values,
				    size_t contexts, const char *note, const char *last_category,
				    const char *total_note)
{
	for (size_t i = 0; i <= REPORT_CSV_ILLEGAL_CATEGORIES + 1; i++) {
		const char *cat = i == 0 ? "TOTAL" :
				  i <= REPORT_CSV_ILLEGAL_CATEGORIES ?
					   report_csv_categories[i - 1].name :
					   last_category;
		const char *const *kw = i == 0 || i > REPORT_CSV_ILLEGAL_CATEGORIES ?
						NULL :
						report_csv_categories[i - 1].keywords;
		for (ssize_t k = -1; k < 0 || (kw && kw[k]); k++) {
			report_csv_lead(c, f, applicability);
			report_csv_str(c, k < 0 ? cat : kw[k]);
			report_csv_str(c, "");
			if (scope)
				report_csv_str(c, scope);
			report_csv_empty(c, values);
			report_csv_str(c, i == 0 && total_note ? total_note : note);
			report_csv_empty(c, contexts - 1);
			report_csv_row_end(c);
		}
	}
}

static void report_csv_part3(const struct report_figures *f, struct report_csv *c)
{
	static const char *const head[] = {
		"Applicability",
		"Service",
		"Reporting period",
		"Category of illegal content",
		report_other_description,
		"Scope",
		"Number of orders to act against illegal content received",
		"Number of specific items of information included in the total number of orders to "
		"act against illegal content",
		"Median time to inform the authority of the receipt of the order to act against "
		"illegal content",
		"Median time to give effect to the order to act against illegal content",
		"Number of orders to provide information",
		"Median time to inform the authority of the receipt of the order to provide "
		"information",
		"Median time to give effect to the order to provide information",
		"Contextual information on number of orders to act against illegal content received",
		"Contextual information on number of specific items of information included in the "
		"total number of orders to act against illegal content",
		"Contextual information on Median time to inform the authority of the receipt of the "
		"order to act against illegal content",
		"Contextual information on Median time to give effect to the order to act against "
		"illegal content",
		"Contextual information on Number of orders to provide information",
		"Contextual information on Median time to inform the authority of the receipt of the "
		"order to provide information",
		"Contextual information on Median time to give effect to the order to provide "
		"information",
	};
	report_csv_cells(c, head, REPORT_CSV_N(head));
	report_csv_unknown_rows(f, c, report_all, "TOTAL", 7, 7,
				REPORT_NOT_FROM "the ledger does not record orders of Member State "
						"authorities",
				"STATEMENT_CATEGORY_NOT_SPECIFIED_ORDER", NULL);
}

static void report_csv_part4(const struct report_figures *f, struct report_csv *c)
{
	static const char *const head[] = {
		"Applicability",
		"Service",
		"Reporting period",
		"Category of illegal content",
		report_other_description,
		"Number of notices received ",
		"Number of notices received from Trusted flaggers",
		"Number of specific items of information included in the total number of notices",
		"Number of specific items of information included in the total number of notices by "
		"Trusted Flaggers (Trusted Flagger notices)",
		"Median time to take action",
		"Median time to take action (Trusted Flagger notices)",
		"Number of actions taken on the basis of the law",
		"Number of actions taken on the basis of the law (Trusted Flagger notices)",
		"Number of actions taken on the basis of the terms and conditions of the service",
		"Number of actions taken on the basis of the terms and conditions of the service "
		"(Trusted Flagger notices)",
		"Contextual information on Number of notices received ",
		"Contextual information on Number of notices received from Trusted flaggers",
		"Contextual information on Number of specific items of information included in the "
		"total number of notices",
		"Contextual information on Number of specific items of information included in the "
		"total number of notices by Trusted Flaggers (Trusted Flagger notices)",
		"Contextual information on Median time to take action",
		"Contextual information on Median time to take action (Trusted Flagger notices)",
		"Contextual information on Number of actions taken on the basis of the law",
		"Contextual information on Number of actions taken on the basis of the law (Trusted "
		"Flagger notices)",
		"Contextual information on Number of actions taken on the basis of the terms and "
		"conditions of the service",
		"Contextual information on Number of actions taken on the basis of the terms and "
		"conditions of the service (Trusted Flagger notices)",
	};
	report_csv_cells(c, head, REPORT_CSV_N(head));
	char total[300];
	snprintf(total, sizeof(total),
		 REPORT_NOT_FROM "the ledger does not record notices; it holds %" PRIu64
				 " measure(s) of the period taken on a notice (a source_type "
				 "other than SOURCE_VOLUNTARY)",
		 f->on_notice);
	report_csv_unknown_rows(f, c, report_hosting, NULL, 10, 10,
				REPORT_NOT_FROM "the ledger does not record notices",
				"STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE", total);
}

/* --- Parts 5 and 6: own-initiative measures ------------------------------------------------ */

static void report_csv_own_head(struct report_csv *c, const char *category_column)
{
	static const char *const values[] = {
		"Number of measures taken at the provider's own initiative ",
		"Number of measures taken after detection with solely automated means ",
		"Visibility restriction Removal",
		"Visibility restriction Disable",
		"Visibility restriction Demoted",
		"Visibility restriction Age restricted",
		"Visibility restriction Interaction restricted",
		"Visibility restriction Labelled ",
		"Visibility restriction Other",
		"Monetary restriction Suspension",
		"Monetary restriction Termination",
		"Monetary restriction Other",
		"Provision of the service Suspension",
		"Provision of the service Termination",
		"Account restriction Suspension",
		"Account restriction Termination",
	};
	_Static_assert(REPORT_CSV_N(values) == REPORT_M_ACCOUNT_END + 1,
		       "one column per measure counted");
	report_csv_str(c, "Applicability");
	report_csv_str(c, "Service");
	report_csv_str(c, "Reporting period");
	report_csv_str(c, category_column);
	report_csv_str(c, report_other_description);
	for (size_t i = 0; i < REPORT_CSV_N(values); i++)
		report_csv_str(c, values[i]);
	for (size_t i = 0; i < REPORT_CSV_N(values); i++) {
		char name[160];
		snprintf(name, sizeof(name), "Contextual Information on %s", values[i]);
		report_csv_str(c, name);
	}
	report_csv_row_end(c);
}

/* One row of counts M, with WORDS in the first contextual cell. */
static void report_csv_own_row(const struct report_figures *f, struct report_csv *c,
			       const char *category, const uint64_t *m, const char *words)
{
	report_csv_lead(c, f, report_all);
	report_csv_str(c, category);
	report_csv_str(c, "");
	for (int i = 0; i <= REPORT_M_ACCOUNT_END; i++) {
		if (m)
			report_csv_u64(c, m[i]);
		else
			report_csv_str(c, "");
	}
	report_csv_str(c, words);
	report_csv_empty(c, REPORT_M_ACCOUNT_END);
	report_csv_row_end(c);
}

static void report_csv_method(char *buf, size_t size, const uint64_t *m)
{
	snprintf(buf, size,
		 "Decided fully automated: %" PRIu64 "; partially automated: %" PRIu64
		 "; not automated: %" PRIu64,
		 m[REPORT_M_FULLY_AUTOMATED], m[REPORT_M_PARTIALLY], m[REPORT_M_NOT_AUTOMATED]);
}

static void report_csv_own(const struct report_figures *f, struct report_csv *c,
			   enum report_ground g)
{
	bool illegal = g == REPORT_ILLEGAL;
	report_csv_own_head(c, illegal ? "Category of illegal content" :
					 "Category of incompatibility with the provider's terms "
					 "and conditions");
	size_t n = illegal ? REPORT_CSV_ILLEGAL_CATEGORIES : REPORT_CSV_N(report_csv_categories);
	/* Measures whose category has no row in this part count in TOTAL only. */
	const uint64_t(*own)[REPORT_MEASURES] = f->own[g];
	uint64_t listed = 0;
	for (size_t i = 0; i < n; i++) {
		int k = dsa_category_index(report_csv_categories[i].name);
		listed += k >= 0 ? own[k][REPORT_M_MEASURES] : 0;
	}
	char words[600];
	report_csv_method(words, sizeof(words), own[REPORT_CAT_TOTAL]);
	size_t len = strlen(words);
	uint64_t unlisted = own[REPORT_CAT_TOTAL][REPORT_M_MEASURES] - listed;
	if (unlisted)
		len += (size_t)snprintf(words + len, sizeof(words) - len,
					". %" PRIu64 " measure(s) with a category that has no row "
					"in this part are counted in TOTAL only",
					unlisted);
	if (illegal && f->own[REPORT_NO_GROUND][REPORT_CAT_TOTAL][REPORT_M_MEASURES])
		snprintf(words + len, sizeof(words) - len,
			 ". %" PRIu64 " measure(s) without a decision ground are in neither part 5 "
			 "nor part 6",
			 f->own[REPORT_NO_GROUND][REPORT_CAT_TOTAL][REPORT_M_MEASURES]);
	report_csv_own_row(f, c, "TOTAL", own[REPORT_CAT_TOTAL], words);
	for (size_t i = 0; i < n; i++) {
		const struct report_csv_category *cat = &report_csv_categories[i];
		int k = dsa_category_index(cat->name);
		report_csv_method(words, sizeof(words), own[k < 0 ? REPORT_CAT_NONE : k]);
		report_csv_own_row(f, c, cat->name, own[k < 0 ? REPORT_CAT_NONE : k], words);
		for (size_t w = 0; cat->keywords[w]; w++)
			report_csv_own_row(f, c, cat->keywords[w], NULL, report_keyword_note);
	}
}

/* --- Part 7: complaints ----------------------------------------------------------------- */

/* A row of parts 7 to 10: lead, section, indicator, scope, value, context. */
static void report_csv_indicator(const struct report_figures *f, struct report_csv *c,
				 const char *applicability, const char *section,
				 const char *indicator, const char *scope, const char *value,
				 const char *context, bool has_context)
{
	report_csv_lead(c, f, applicability);
	report_csv_str(c, section);
	report_csv_str(c, indicator);
	report_csv_str(c, scope);
	report_csv_str(c, value);
	if (has_context)
		report_csv_str(c, context);
	report_csv_row_end(c);
}

static const char *report_csv_num(char *buf, size_t size, uint64_t v)
{
	snprintf(buf, size, "%" PRIu64, v);
	return buf;
}

/* The rows of one kind of complaint: total, outcomes, median. */
static void report_csv_complaints(const struct report_figures *f, struct report_csv *c,
				  const char *applicability, const char *indicator,
				  const struct report_complaints *k, bool omitted)
{
	static const char section[] = "Internal complaints mechanism";
	char v[32], ctx[300];
	snprintf(ctx, sizeof(ctx),
		 "Complaints filed in the period (APPEAL_FILED audit records); %" PRIu64
		 " decided in it",
		 k->decided);
	report_csv_indicator(f, c, applicability, section, indicator, "Total number",
			     report_csv_num(v, sizeof(v), k->filed), ctx, true);
	report_csv_indicator(f, c, report_platforms, section, indicator, "Decisions upheld",
			     report_csv_num(v, sizeof(v), k->upheld),
			     "Complaints decided in the period with outcome UPHELD", true);
	report_csv_indicator(f, c, report_platforms, section, indicator,
			     "Decisions partially reversed",
			     report_csv_num(v, sizeof(v), k->modified),
			     "Complaints decided in the period with outcome MODIFIED", true);
	report_csv_indicator(f, c, report_platforms, section, indicator, "Decisions reversed",
			     report_csv_num(v, sizeof(v), k->reversed),
			     "Complaints decided in the period with outcome REVERSED", true);
	if (k->time.n)
		snprintf(ctx, sizeof(ctx),
			 "Days from filing to decision, median of the %" PRIu64
			 " complaint(s) decided in the period whose filing time is known: %" PRIu64
			 " ms (exact below 256 ms, otherwise at most 1/128 below)",
			 k->time.n, report_hist_quantile(&k->time, 500));
	else
		snprintf(ctx, sizeof(ctx),
			 "No complaint with a known filing time was decided in "
			 "the period");
	report_csv_indicator(f, c, report_platforms, section, indicator, "Median time",
			     report_csv_days(v, sizeof(v), &k->time), ctx, true);
	if (omitted)
		report_csv_indicator(
			f, c, report_platforms, section, indicator, "Decision omitted", "",
			REPORT_NOT_FROM "the ledger records no complaint left without a decision",
			true);
}

static void report_csv_part7(const struct report_figures *f, struct report_csv *c)
{
	static const char *const head[] = {
		"Applicability", "Service", "Reporting period",      "Section", "Indicator",
		"Scope",         "Value",   "Contextual Information"};
	report_csv_cells(c, head, REPORT_CSV_N(head));
	static const char section[] = "Internal complaints mechanism";
	report_csv_complaints(f, c, report_all,
			      "Number of complaints submitted to the internal-complaints mechanism",
			      &f->complaints[REPORT_C_ALL], true);
	char v[32];
	report_csv_indicator(f, c, report_platforms, section,
			     "Number of restrictions newly imposed as a result of an internal "
			     "complaint",
			     "Total number", report_csv_num(v, sizeof(v), f->on_complaint),
			     "APPEAL_RESOLVED audit records of the period due a statement of "
			     "reasons",
			     true);
	static const struct {
		const char *indicator;
		enum report_complaint_type type;
	} kinds[] = {
		{"Complaint regarding a decision to remove or disable access to or restrict "
		 "visibility of information",
		 REPORT_C_VISIBILITY},
		{"Complaint regarding a decision to suspend or terminate the provision of the service",
		 REPORT_C_PROVISION},
		{"Complaint regarding a decision to suspend or terminate an account ",
		 REPORT_C_ACCOUNT},
		{"Complaint regarding a decision to restrict the ability to monetise information",
		 REPORT_C_MONETARY},
	};
	for (size_t i = 0; i < REPORT_CSV_N(kinds); i++)
		report_csv_complaints(f, c, report_platforms, kinds[i].indicator,
				      &f->complaints[kinds[i].type], false);
	static const char *const notices[] = {
		"Complaint regarding a decision not to take action on a notice submitted in "
		"accordance with Article 16",
		"Complaint regarding a decision not to take action on a notice submitted by a "
		"Trusted Flagger in accordance with Article 16",
	};
	static const char *const outcomes[] = {"Total number", "Decisions upheld",
					       "Decisions partially reversed", "Decisions reversed",
					       "Median time"};
	for (size_t i = 0; i < REPORT_CSV_N(notices); i++)
		for (size_t k = 0; k < REPORT_CSV_N(outcomes); k++)
			report_csv_indicator(
				f, c, report_platforms, section, notices[i], outcomes[k], "",
				REPORT_NOT_FROM "the ledger does not record notices", true);
	static const char *const ods[] = {"Total number",
					  "Decisions upheld",
					  "Decisions partially reversed",
					  "Decisions reversed",
					  "Median time",
					  "Decision omitted",
					  "Percentage of outcomes implemented"};
	for (size_t k = 0; k < REPORT_CSV_N(ods); k++)
		report_csv_indicator(f, c, report_platforms,
				     "Out-of-court dispute settlement bodies",
				     "Number of disputes submitted to out-of-court dispute "
				     "settlement bodies",
				     ods[k], "",
				     REPORT_NOT_FROM "the ledger does not record out-of-court "
						     "dispute settlements",
				     true);
	static const char *const repeated[] = {
		"Number of suspensions enacted for the provision of manifestly illegal content ",
		"Number of suspensions enacted for the provision of manifestly unfounded notices",
		"Number of suspensions enacted for the provision of manifestly unfounded complaints",
	};
	for (size_t k = 0; k < REPORT_CSV_N(repeated); k++)
		report_csv_indicator(f, c, report_platforms,
				     "Suspensions imposed on repeated offenders", repeated[k],
				     "Total number", "",
				     REPORT_NOT_FROM "the ledger does not record why an account "
						     "was suspended (Article 23)",
				     true);
}

/* --- Part 8: automated means ----------------------------------------------------------------- */

static void report_csv_part8(const struct report_figures *f, struct report_csv *c)
{
	static const char *const head[] = {
		"Applicability", "Service", "Reporting period",      "Section", "Indicator",
		"Scope",         "Value",   "Contextual Information"};
	report_csv_cells(c, head, REPORT_CSV_N(head));
	static const char section[] = "Use of automated means for content moderation";
	static const char solely[] = "Number of measures solely taken by automated means ";
	static const char not_taken[] = "Number of measures not taken by automated means";
	static const char *const accuracy[] = {"Accuracy of the automated means - Accuracy",
					       "Accuracy of the automated means - Precision",
					       "Accuracy of the automated means - Recall"};
	static const char no_accuracy[] =
		REPORT_NOT_FROM "the ledger does not measure the accuracy of automated means";
	char v[32], ctx[300];
	uint64_t own_fully = 0, own_not = 0, own_partially = 0;
	for (int g = 0; g < REPORT_GROUNDS; g++) {
		own_fully += f->own[g][REPORT_CAT_TOTAL][REPORT_M_FULLY_AUTOMATED];
		own_not += f->own[g][REPORT_CAT_TOTAL][REPORT_M_NOT_AUTOMATED];
		own_partially += f->own[g][REPORT_CAT_TOTAL][REPORT_M_PARTIALLY];
	}
	const struct {
		const char *scope;
		uint64_t fully, not_automated, partially;
	} scopes[] = {
		{"Total number", f->measures_fully, f->measures_not, f->measures_partially},
		{"Own-initiative ", own_fully, own_not, own_partially},
	};
	for (size_t s = 0; s < REPORT_CSV_N(scopes); s++) {
		report_csv_indicator(f, c, report_all, section, solely, scopes[s].scope,
				     report_csv_num(v, sizeof(v), scopes[s].fully),
				     "Measures with automated_decision AUTOMATED_DECISION_FULLY",
				     true);
		snprintf(ctx, sizeof(ctx),
			 "Measures with automated_decision AUTOMATED_DECISION_NOT_AUTOMATED; "
			 "%" PRIu64 " more were decided by people on what automated means "
			 "found (AUTOMATED_DECISION_PARTIALLY)",
			 scopes[s].partially);
		report_csv_indicator(f, c, report_all, section, not_taken, scopes[s].scope,
				     report_csv_num(v, sizeof(v), scopes[s].not_automated), ctx,
				     true);
		for (size_t a = 0; a < REPORT_CSV_N(accuracy); a++)
			report_csv_indicator(f, c, report_all, section, accuracy[a],
					     scopes[s].scope, "", no_accuracy, true);
	}
	static const char *const nam[] = {"NAM Total", "NAM Trusted Flagger"};
	static const char *const nam_ind[] = {
		"Number of notices solely processed by automated means ",
		"Number of notices not processed by automated means", NULL};
	for (size_t s = 0; s < REPORT_CSV_N(nam); s++) {
		const char *app = s ? report_platforms : report_hosting;
		for (size_t i = 0; nam_ind[i]; i++)
			report_csv_indicator(f, c, app, section, nam_ind[i], nam[s], "",
					     REPORT_NOT_FROM "the ledger does not record notices",
					     true);
		for (size_t a = 0; a < REPORT_CSV_N(accuracy); a++)
			report_csv_indicator(f, c, app, section, accuracy[a], nam[s], "",
					     no_accuracy, true);
	}
	for (size_t l = 0; l < REPORT_EU_LANGUAGES; l++) {
		const uint64_t *m = f->by_language[l];
		const char *lang = report_eu_language(l);
		report_csv_indicator(f, c, report_vlops, section, solely, lang,
				     report_csv_num(v, sizeof(v), m[REPORT_M_FULLY_AUTOMATED]),
				     "Measures whose content_language is this language", true);
		report_csv_indicator(f, c, report_vlops, section, not_taken, lang,
				     report_csv_num(v, sizeof(v), m[REPORT_M_NOT_AUTOMATED]),
				     "Measures whose content_language is this language", true);
		for (size_t a = 0; a < REPORT_CSV_N(accuracy); a++)
			report_csv_indicator(f, c, report_vlops, section, accuracy[a], lang, "",
					     no_accuracy, true);
	}
}

/* --- Parts 9 to 11: what the ledger cannot know -------------------------------------------- */

static void report_csv_part9(const struct report_figures *f, struct report_csv *c)
{
	static const char *const head[] = {
		"Applicability", "Service", "Reporting period",      "Section", "Indicator",
		"Scope",         "Value",   "Contextual information"};
	report_csv_cells(c, head, REPORT_CSV_N(head));
	static const char section[] = "Human resources dedicated to content moderation ";
	static const char note[] =
		REPORT_NOT_FROM "the ledger does not record the provider's human resources";
	report_csv_indicator(f, c, report_vlops, section,
			     "Number of internal moderators employed by the provider",
			     "Total number", "", note, true);
	report_csv_indicator(f, c, report_vlops, section,
			     "Number of external moderators contracted by the provider",
			     "Total number", "", note, true);
	static const char linguistic[] =
		"Number of total moderators with sufficient linguistic expertise ";
	report_csv_indicator(f, c, report_vlops, section, linguistic, "Total number", "", note,
			     true);
	for (size_t l = 0; l < REPORT_EU_LANGUAGES; l++)
		report_csv_indicator(f, c, report_vlops, section, linguistic, report_eu_language(l),
				     "", note, true);
}

static void report_csv_part10(const struct report_figures *f, struct report_csv *c)
{
	static const char *const head[] = {"Applicability", "Service",   "Reporting period",
					   "Section",       "Indicator", "Scope",
					   "Value"};
	report_csv_cells(c, head, REPORT_CSV_N(head));
	/* No contextual cell: the values are left empty (docs/reports.md says why). */
	static const char indicator[] =
		"Number of average monthly active recipients during the reporting period ";
	static const char *const countries[] = {"TOTAL", "AT", "BE", "BG", "CY", "CZ", "DE",
						"DK",    "EE", "ES", "FI", "FR", "GR", "HR",
						"HU",    "IE", "IT", "LT", "LU", "LV", "MT",
						"NL",    "PL", "PT", "RO", "SE", "SI", "SK"};
	for (size_t i = 0; i < REPORT_CSV_N(countries); i++)
		report_csv_indicator(f, c, report_vlops_vloses, "AMAR", indicator, countries[i], "",
				     NULL, false);
}

static void report_csv_part11(const struct report_figures *f, struct report_csv *c)
{
	static const char *const head[] = {"Applicability", "Service", "Reporting period",
					   "Indicator", "Value"};
	report_csv_cells(c, head, REPORT_CSV_N(head));
	static const struct {
		const char *applicability, *indicator;
	} rows[] = {
		{report_all, "Summary of the content moderation engaged in at the providers’ own "
			     "initiative"},
		{report_all, "Meaningful and comprehensible information regarding content "
			     "moderation engaged in at the providers' own initiative"},
		{report_all, "Qualitative description of the automated means"},
		{report_all, "Qualitative description of indicators of accuracy and possible rate "
			     "of error of automated means"},
		{report_all, "Specification of the precise purposes to apply automated means"},
		{report_all, "Safeguards applied to the use of automated means"},
		{report_vlops, "High-level description of the content moderation governance "
			       "structure"},
		{report_vlops, "Qualifications of the human resources dedicated to content "
			       "moderation"},
		{report_vlops, "Training given to human resources dedicated to content moderation"},
		{report_vlops, "Support given to human resources dedicated to content moderation "},
		{report_vlops,
		 "Methodology used to compute the number of human resources dedicated "
		 "to content moderation  "},
	};
	for (size_t i = 0; i < REPORT_CSV_N(rows); i++) {
		report_csv_lead(c, f, rows[i].applicability);
		report_csv_str(c, rows[i].indicator);
		report_csv_str(c, REPORT_NOT_FROM "a qualitative description is the provider's to "
						  "write");
		report_csv_row_end(c);
	}
}

/* --- Parts ------------------------------------------------------------------------------------ */

static const char *const report_csv_names[REPORT_CSV_PARTS] = {
	"dsa_part01_summary.csv",
	"dsa_part02_categories_names.csv",
	"dsa_part03_member_states_orders.csv",
	"dsa_part04_notices.csv",
	"dsa_part05_own_initiative_illegal.csv",
	"dsa_part06_own_initiative_TC.csv",
	"dsa_part07_appeals_and_recidivism.csv",
	"dsa_part08_automated_means.csv",
	"dsa_part09_human_resources.csv",
	"dsa_part10_AMAR.csv",
	"dsa_part11_qualitative.csv",
};

const char *report_csv_part_name(int part)
{
	return part >= 1 && part <= REPORT_CSV_PARTS ? report_csv_names[part - 1] : NULL;
}

int report_csv_part(const struct report_figures *f, int part, FILE *out)
{
	struct report_csv c = {.out = out};
	switch (part) {
	case 1:
		report_csv_part1(f, &c);
		break;
	case 2:
		report_csv_part2(f, &c);
		break;
	case 3:
		report_csv_part3(f, &c);
		break;
	case 4:
		report_csv_part4(f, &c);
		break;
	case 5:
		report_csv_own(f, &c, REPORT_ILLEGAL);
		break;
	case 6:
		report_csv_own(f, &c, REPORT_INCOMPATIBLE);
		break;
	case 7:
		report_csv_part7(f, &c);
		break;
	case 8:
		report_csv_part8(f, &c);
		break;
	case 9:
		report_csv_part9(f, &c);
		break;
	case 10:
		report_csv_part10(f, &c);
		break;
	case 11:
		report_csv_part11(f, &c);
		break;
	default:
		return -EINVAL;
	}
	return ferror(out) ? -EIO : 0;
}
