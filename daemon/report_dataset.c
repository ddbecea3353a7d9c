/* The research data set: a CSV row per action or appeal, identifiers replaced by keyed
 * pseudonyms. */
#include "report_dataset.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "report_csv.h"
#include "report_santaclara.h"

#define DATASET_BLOCK 64    /* SHA-256's block: HMAC pads its key to it */
#define DATASET_MEMO 4096   /* pseudonyms remembered */
#define DATASET_MEMO_KEY 64 /* of values up to this long */

struct dataset_memo {
	char value[DATASET_MEMO_KEY + 1];
	char pseudonym[65];
};

struct report_dataset {
	FILE *out;
	struct report_dataset_filter filter;
	/* HMAC-SHA256 (RFC 2104) with the padded key hashed once: each
	 * pseudonym then costs two copies and two short hashes. */
	EVP_MD_CTX *inner, *outer, *work;
	uint64_t rows;
	char *row; /* the row being written */
	size_t n, cap;
	bool failed;
	int64_t day; /* of DATE */
	char date[11];
	struct dataset_memo memo[DATASET_MEMO];
};

static const char *const dataset_columns[] = {
	"row",
	"record_id",
	"chain",
	"sequence",
	"audit_partition",
	"audit_offset",
	"decided_at",
	"recorded_at",
	"application_date",
	"action",
	"actor",
	"category",
	"decision_ground",
	"decision_visibility",
	"decision_monetary",
	"decision_provision",
	"decision_account",
	"account_type",
	"content_type",
	"content_language",
	"content_date",
	"source_type",
	"automated_detection",
	"automated_decision",
	"territorial_scope",
	"statement_due",
	"rule_ids",
	"ruleset_version",
	"country",
	"lang",
	"modes",
	"queue",
	"review_deadline",
	"sla_met",
	"time_to_action_ms",
	"content_pseudonym",
	"author_pseudonym",
	"reviewer_pseudonym",
	"appeal_pseudonym",
	"appeal_outcome",
	"appeal_filed_at",
	"appeal_decided_at",
	"time_to_decide_ms",
	"action_appealed",
	"appealed_reviewer_pseudonym",
};

static int dataset_hmac_init(struct report_dataset *ds, const char *key)
{
	uint8_t k[DATASET_BLOCK] = {0}, pad[DATASET_BLOCK];
	size_t len = strlen(key);
	if (len > DATASET_BLOCK) {
		unsigned int n = 0;
		if (!EVP_Digest(key, len, k, &n, EVP_sha256(), NULL))
			return -ENOMEM;
	} else {
		memcpy(k, key, len);
	}
	ds->inner = EVP_MD_CTX_new();
	ds->outer = EVP_MD_CTX_new();
	ds->work = EVP_MD_CTX_new();
	if (!ds->inner || !ds->outer || !ds->work)
		return -ENOMEM;
	for (size_t i = 0; i < DATASET_BLOCK; i++)
		pad[i] = k[i] ^ 0x36;
	if (!EVP_DigestInit_ex(ds->inner, EVP_sha256(), NULL) ||
	    !EVP_DigestUpdate(ds->inner, pad, DATASET_BLOCK))
		return -ENOMEM;
	for (size_t i = 0; i < DATASET_BLOCK; i++)
		pad[i] = k[i] ^ 0x5c;
	if (!EVP_DigestInit_ex(ds->outer, EVP_sha256(), NULL) ||
	    !EVP_DigestUpdate(ds->outer, pad, DATASET_BLOCK))
		return -ENOMEM;
	return 0;
}

void report_dataset_pseudonym(struct report_dataset *ds, const char *value, char out[65])
{
	out[0] = '\0';
	if (!value || !value[0])
		return;
	uint8_t h[32];
	unsigned int n = 0;
	if (!EVP_MD_CTX_copy_ex(ds->work, ds->inner) ||
	    !EVP_DigestUpdate(ds->work, value, strlen(value)) ||
	    !EVP_DigestFinal_ex(ds->work, h, &n) || !EVP_MD_CTX_copy_ex(ds->work, ds->outer) ||
	    !EVP_DigestUpdate(ds->work, h, sizeof(h)) || !EVP_DigestFinal_ex(ds->work, h, &n))
		return;
	report_hex(out, h);
}

int report_dataset_new(FILE *out, const char *key, const struct report_dataset_filter *filter,
		       struct report_dataset **dsp)
{
	*dsp = NULL;
	if (!key || !key[0])
		return -EINVAL;
	struct report_dataset *ds = calloc(1, sizeof(*ds));
	if (!ds)
		return -ENOMEM;
	ds->out = out;
	if (filter)
		ds->filter = *filter;
	if (dataset_hmac_init(ds, key)) {
		report_dataset_free(ds);
		return -ENOMEM;
	}
	for (size_t i = 0; i < sizeof(dataset_columns) / sizeof(dataset_columns[0]); i++) {
		if (i)
			fputc(',', out);
		fputs(dataset_columns[i], out);
	}
	report_csv_end(out);
	*dsp = ds;
	return 0;
}

void report_dataset_free(struct report_dataset *ds)
{
	if (!ds)
		return;
	EVP_MD_CTX_free(ds->inner);
	EVP_MD_CTX_free(ds->outer);
	EVP_MD_CTX_free(ds->work);
	free(ds->row);
	free(ds);
}

uint64_t report_dataset_rows(const struct report_dataset *ds)
{
	return ds->rows;
}

/* --- Cells -------------------------------------------------------------------------------------
 */

/* A row is assembled in DS->row and written with one fwrite: the data set
 * is written at the rate records are read. */
static void dataset_grow(struct report_dataset *ds, size_t more)
{
	if (ds->n + more <= ds->cap || ds->failed)
		return;
	size_t cap = ds->cap ? ds->cap : 4096;
	while (cap < ds->n + more)
		cap *= 2;
	char *row = realloc(ds->row, cap);
	if (!row) {
		ds->failed = true;
		return;
	}
	ds->row = row;
	ds->cap = cap;
}

static void dataset_raw(struct report_dataset *ds, const char *s, size_t len)
{
	dataset_grow(ds, len);
	if (ds->failed)
		return;
	memcpy(ds->row + ds->n, s, len);
	ds->n += len;
}

/* A separator and S, quoted as RFC 4180 says when it must be. */
static void dataset_sep(struct report_dataset *ds, const char *s)
{
	dataset_raw(ds, ",", 1);
	if (!s || !s[0])
		return;
	size_t len = strlen(s);
	if (!s[strcspn(s, ",\"\r\n")]) {
		dataset_raw(ds, s, len);
		return;
	}
	dataset_raw(ds, "\"", 1);
	for (const char *p = s; *p; p++) {
		if (*p == '"')
			dataset_raw(ds, "\"", 1);
		dataset_raw(ds, p, 1);
	}
	dataset_raw(ds, "\"", 1);
}

static void dataset_i64(struct report_dataset *ds, int64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), ",%" PRId64, v);
	dataset_raw(ds, buf, n > 0 ? (size_t)n : 0);
}

/* An instant as ISO 8601 UTC with milliseconds; empty for 0. The date of
 * the last day written is kept. */
static void dataset_time(struct report_dataset *ds, int64_t ms)
{
	dataset_raw(ds, ",", 1);
	if (ms <= 0)
		return;
	int64_t day = ms / REPORT_DAY_MS, in_day = ms % REPORT_DAY_MS;
	if (day != ds->day || !ds->date[0]) {
		report_format_date(ds->date, ms);
		ds->day = day;
	}
	char t[32];
	unsigned h = (unsigned)(in_day / 3600000), m = (unsigned)(in_day / 60000 % 60),
		 sec = (unsigned)(in_day / 1000 % 60), milli = (unsigned)(in_day % 1000);
	memcpy(t, ds->date, 10);
	t[10] = 'T';
	t[11] = (char)('0' + h / 10);
	t[12] = (char)('0' + h % 10);
	t[13] = ':';
	t[14] = (char)('0' + m / 10);
	t[15] = (char)('0' + m % 10);
	t[16] = ':';
	t[17] = (char)('0' + sec / 10);
	t[18] = (char)('0' + sec % 10);
	t[19] = '.';
	t[20] = (char)('0' + milli / 100);
	t[21] = (char)('0' + milli / 10 % 10);
	t[22] = (char)('0' + milli % 10);
	t[23] = 'Z';
	dataset_raw(ds, t, 24);
}

/* Values joined with ';' as one cell. */
static void dataset_list(struct report_dataset *ds, char **v, size_t n)
{
	if (n == 1) {
		dataset_sep(ds, v[0]);
		return;
	}
	size_t len = 0;
	for (size_t i = 0; i < n; i++)
		len += strlen(v[i]) + 1;
	if (!len) {
		dataset_raw(ds, ",", 1);
		return;
	}
	char *buf = malloc(len);
	if (!buf) {
		ds->failed = true;
		return;
	}
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(v[i]);
		if (i)
			buf[o++] = ';';
		memcpy(buf + o, v[i], l);
		o += l;
	}
	buf[o] = '\0';
	dataset_sep(ds, buf);
	free(buf);
}

/* The pseudonym of VALUE as a cell; pseudonyms of values that repeat
 * (authors, reviewers) are remembered. */
static void dataset_pseudonym(struct report_dataset *ds, const char *value, bool repeats)
{
	char p[65];
	if (!repeats || !value || !value[0] || strlen(value) > DATASET_MEMO_KEY) {
		report_dataset_pseudonym(ds, value, p);
		dataset_sep(ds, p);
		return;
	}
	uint64_t h = 1469598103934665603ULL;
	for (const char *c = value; *c; c++)
		h = (h ^ (unsigned char)*c) * 1099511628211ULL;
	struct dataset_memo *m = &ds->memo[h % DATASET_MEMO];
	if (strcmp(m->value, value)) {
		snprintf(m->value, sizeof(m->value), "%s", value);
		report_dataset_pseudonym(ds, value, m->pseudonym);
	}
	dataset_sep(ds, m->pseudonym);
}

static const char *dataset_enum(const ProtobufCEnumDescriptor *d, int v)
{
	const ProtobufCEnumValue *e = protobuf_c_enum_descriptor_get_value(d, v);
	return e && v ? e->name : "";
}

static bool dataset_keep(const struct report_dataset *ds, const Arbiter__V1__AuditRecord *rec)
{
	if (ds->filter.country && strcasecmp(rec->country ? rec->country : "", ds->filter.country))
		return false;
	if (!ds->filter.mode)
		return true;
	for (size_t i = 0; i < rec->n_modes; i++)
		if (!strcmp(rec->modes[i], ds->filter.mode))
			return true;
	return false;
}

int report_dataset_add(struct report_dataset *ds, const Arbiter__V1__AuditRecord *rec,
		       const struct report_appeal *ap, int32_t partition, int64_t offset)
{
	const char *row = rec->kind == ARBITER__V1__DECISION_KIND__ACTION       ? "action" :
			  rec->kind == ARBITER__V1__DECISION_KIND__APPEAL_FILED ? "appeal_filed" :
			  rec->kind == ARBITER__V1__DECISION_KIND__APPEAL_RESOLVED ?
										  "appeal_decided" :
										  NULL;
	if (!row || !dataset_keep(ds, rec))
		return 0;
	ds->n = 0;
	ds->failed = false;
	dataset_raw(ds, row, strlen(row));
	dataset_sep(ds, rec->record_id);
	dataset_sep(ds, rec->chain);
	dataset_i64(ds, (int64_t)rec->sequence);
	dataset_i64(ds, partition);
	dataset_i64(ds, offset);
	dataset_time(ds, rec->decided_at_ms);
	dataset_time(ds, rec->recorded_at_ms);
	dataset_sep(ds, rec->application_date);
	dataset_sep(ds, dataset_enum(&arbiter__v1__action__descriptor, rec->action));
	dataset_sep(ds, dataset_enum(&arbiter__v1__actor__descriptor, rec->actor));
	dataset_sep(ds, rec->category);
	dataset_sep(ds, rec->decision_ground);
	dataset_list(ds, rec->decision_visibility, rec->n_decision_visibility);
	dataset_sep(ds, rec->decision_monetary);
	dataset_sep(ds, rec->decision_provision);
	dataset_sep(ds, rec->decision_account);
	dataset_sep(ds, rec->account_type);
	dataset_list(ds, rec->content_type, rec->n_content_type);
	dataset_sep(ds, rec->content_language);
	dataset_sep(ds, rec->content_date);
	dataset_sep(ds, rec->source_type);
	dataset_sep(ds, rec->automated_detection ? "true" : "false");
	dataset_sep(ds, rec->automated_decision);
	dataset_list(ds, rec->territorial_scope, rec->n_territorial_scope);
	dataset_sep(ds, dsa_has_statement(rec) ? "true" : "false");
	dataset_list(ds, rec->rule_ids, rec->n_rule_ids);
	dataset_sep(ds, rec->ruleset_version);
	dataset_sep(ds, rec->country);
	dataset_sep(ds, rec->lang);
	dataset_list(ds, rec->modes, rec->n_modes);
	dataset_sep(ds, rec->queue);
	dataset_time(ds, rec->review_deadline_ms);
	dataset_sep(ds, rec->review_deadline_ms <= 0                       ? "" :
			report_record_time(rec) <= rec->review_deadline_ms ? "true" :
									     "false");
	if (rec->kind == ARBITER__V1__DECISION_KIND__ACTION && rec->latency_ms > 0)
		dataset_i64(ds, rec->latency_ms);
	else
		dataset_raw(ds, ",", 1);
	dataset_pseudonym(ds, rec->content_id, false);
	dataset_pseudonym(ds, rec->author_pseudonym, true);
	dataset_pseudonym(ds, rec->reviewer_pseudonym, true);
	dataset_pseudonym(ds,
			  rec->appeal_id && rec->appeal_id[0] ? rec->appeal_id :
			  ap                                  ? ap->appeal_id :
								"",
			  false);
	bool decided = rec->kind == ARBITER__V1__DECISION_KIND__APPEAL_RESOLVED;
	dataset_sep(ds, decided ? dataset_enum(&arbiter__v1__appeal_outcome__descriptor,
					       rec->appeal_outcome) :
				  "");
	bool appeal = rec->kind != ARBITER__V1__DECISION_KIND__ACTION;
	dataset_time(ds, appeal && ap ? ap->filed_at_ms : 0);
	dataset_time(ds, decided ? report_record_time(rec) : 0);
	if (decided && ap && ap->filed_at_ms > 0 && report_record_time(rec) >= ap->filed_at_ms)
		dataset_i64(ds, report_record_time(rec) - ap->filed_at_ms);
	else
		dataset_raw(ds, ",", 1);
	dataset_sep(ds, appeal && ap ? dataset_enum(&arbiter__v1__action__descriptor,
						    ap->original_action) :
				       "");
	dataset_pseudonym(ds, appeal && ap ? ap->original_reviewer : "", true);
	dataset_raw(ds, "\r\n", 2);
	if (ds->failed || fwrite(ds->row, 1, ds->n, ds->out) != ds->n)
		return -EIO;
	ds->rows++;
	return 1;
}
