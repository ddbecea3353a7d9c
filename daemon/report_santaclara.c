/* Santa Clara Principles numbers: a report's figures as JSON, and the same numbers as CSV rows. */
#include "report_santaclara.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "report_csv.h"

void report_hex(char *out, const uint8_t *hash)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < LEDGER_HASH_LEN; i++) {
		out[2 * i] = hex[hash[i] >> 4];
		out[2 * i + 1] = hex[hash[i] & 0xf];
	}
	out[2 * LEDGER_HASH_LEN] = '\0';
}

json_t *report_share(uint64_t n, uint64_t d)
{
	if (!d)
		return json_null();
	return json_real(round((double)n / (double)d * 10000.0) / 10000.0);
}

static json_t *report_u64(uint64_t v)
{
	return json_integer((json_int_t)v);
}

static json_t *report_hist_json(const struct report_hist *h)
{
	json_t *o = json_object();
	json_object_set_new(o, "count", report_u64(h->n));
	if (h->n) {
		json_object_set_new(o, "p50", report_u64(report_hist_quantile(h, 500)));
		json_object_set_new(o, "p90", report_u64(report_hist_quantile(h, 900)));
		json_object_set_new(o, "p99", report_u64(report_hist_quantile(h, 990)));
		json_object_set_new(o, "min", report_u64(h->min));
		json_object_set_new(o, "max", report_u64(h->max));
	}
	json_t *bins = json_array();
	for (size_t i = 0; i < REPORT_BINS; i++)
		json_array_append_new(bins, json_pack("{s:s,s:I}", "name", report_bin_label(i),
						      "count", (json_int_t)h->bins[i]));
	json_object_set_new(o, "bins", bins);
	return o;
}

/* A breakdown as [{"name", "actions", "automated", "automated_detection"}, ...]. */
static json_t *report_tally_json(const struct report_tally *t, bool queue, bool mode)
{
	json_t *a = json_array();
	for (size_t i = 0; i < t->n; i++) {
		const struct report_row *r = &t->rows[i];
		json_t *o = json_pack("{s:s,s:I,s:I,s:I}", "name", r->name, "actions",
				      (json_int_t)r->actions, "automated", (json_int_t)r->automated,
				      "automated_detection", (json_int_t)r->auto_detected);
		if (queue || mode)
			json_object_set_new(o, "decisions", report_u64(r->decisions));
		if (queue) {
			uint64_t with = r->sla_met + r->sla_missed;
			json_object_set_new(o, "with_deadline", report_u64(with));
			json_object_set_new(o, "sla_met", report_u64(r->sla_met));
			json_object_set_new(o, "sla_missed", report_u64(r->sla_missed));
			json_object_set_new(o, "sla_compliance", report_share(r->sla_met, with));
		}
		if (mode) {
			char first[11], last[11];
			report_format_date(first, r->first_ms);
			report_format_date(last, r->last_ms);
			json_object_set_new(o, "first_record", json_string(first));
			json_object_set_new(o, "last_record", json_string(last));
		}
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *report_complaints_json(const struct report_complaints *c)
{
	json_t *o = json_pack("{s:I,s:I,s:I,s:I,s:I}", "filed", (json_int_t)c->filed, "decided",
			      (json_int_t)c->decided, "upheld", (json_int_t)c->upheld, "modified",
			      (json_int_t)c->modified, "reversed", (json_int_t)c->reversed);
	json_object_set_new(o, "reversal_rate", report_share(c->reversed, c->decided));
	json_object_set_new(o, "time_to_decide_ms", report_hist_json(&c->time));
	return o;
}

static json_t *report_chain_json(const struct report_chain *c)
{
	char hex[2 * LEDGER_HASH_LEN + 1];
	json_t *o = json_pack("{s:s,s:I}", "name", c->name, "records_in_period",
			      (json_int_t)c->counted);
	if (c->counted) {
		json_object_set_new(o, "first_sequence_in_period", report_u64(c->first_seq));
		json_object_set_new(o, "last_sequence_in_period", report_u64(c->last_seq));
	}
	if (c->has_head) {
		report_hex(hex, c->head_hash);
		json_object_set_new(o, "head_at_period_end",
				    json_pack("{s:I,s:s}", "sequence", (json_int_t)c->head_sequence,
					      "hash", hex));
	} else {
		json_object_set_new(o, "head_at_period_end", json_null());
	}
	if (c->verified) {
		const struct ledger_chain_report *v = &c->verify;
		json_t *ver = json_pack("{s:s,s:I,s:I,s:I}", "status", ledger_break_name(v->first),
					"records", (json_int_t)v->records, "duplicates",
					(json_int_t)v->duplicates, "breaks", (json_int_t)v->breaks);
		if (v->first != LEDGER_OK) {
			json_object_set_new(ver, "partition", json_integer(v->at.partition));
			json_object_set_new(ver, "offset", json_integer(v->at.offset));
			json_object_set_new(ver, "detail", json_string(v->detail));
		}
		if (v->has_head) {
			report_hex(hex, v->head_hash);
			json_object_set_new(ver, "head_sequence", report_u64(v->head_sequence));
			json_object_set_new(ver, "head_hash", json_string(hex));
		}
		json_object_set_new(o, "verification", ver);
	}
	return o;
}

json_t *report_santaclara_json(const struct report_figures *f)
{
	json_t *root = json_object();
	if (!root)
		return NULL;
	char generated[11] = "";
	if (f->generated_ms > 0)
		report_format_date(generated, f->generated_ms);
	json_object_set_new(root, "report",
			    json_pack("{s:s,s:s,s:s,s:s,s:s}", "from", f->from, "to", f->to,
				      "generated", generated, "provider", f->provider, "service",
				      f->service));

	json_t *ledger = json_pack(
		"{s:b,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "verified", f->verified, "intact",
		f->verified && !f->chains_broken, "chains_broken", (json_int_t)f->chains_broken,
		"records", (json_int_t)f->ledger_records, "duplicates",
		(json_int_t)f->ledger_duplicates, "undecodable", (json_int_t)f->undecodable,
		"records_in_period", (json_int_t)f->in_period, "records_at_breaks_in_period",
		(json_int_t)f->at_breaks, "appeal_records", (json_int_t)f->appeal_records);
	json_t *chains = json_array();
	for (size_t i = 0; i < f->n_chains; i++)
		json_array_append_new(chains, report_chain_json(&f->chains[i]));
	json_object_set_new(ledger, "chains", chains);
	json_object_set_new(root, "ledger", ledger);

	json_t *actions = json_object();
	json_object_set_new(actions, "total", report_u64(f->actions));
	json_t *by_action = json_array();
	for (int a = 1; a <= ARBITER__V1__ACTION__RESTORE; a++) {
		const ProtobufCEnumValue *v =
			protobuf_c_enum_descriptor_get_value(&arbiter__v1__action__descriptor, a);
		json_array_append_new(by_action,
				      json_pack("{s:s,s:I}", "name", v ? v->name : "?", "decisions",
						(json_int_t)f->by_action[a]));
	}
	json_object_set_new(actions, "decisions_by_action", by_action);
	json_object_set_new(actions, "by_category",
			    report_tally_json(&f->categories, false, false));
	json_object_set_new(actions, "by_country", report_tally_json(&f->countries, false, false));
	json_object_set_new(actions, "by_language", report_tally_json(&f->languages, false, false));
	json_object_set_new(actions, "by_rule", report_tally_json(&f->rules, false, false));
	json_object_set_new(actions, "by_queue", report_tally_json(&f->queues, true, false));
	json_object_set_new(actions, "by_mode", report_tally_json(&f->modes, false, true));
	json_object_set_new(actions, "dropped",
			    json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "category",
				      (json_int_t)f->categories.dropped, "country",
				      (json_int_t)f->countries.dropped, "language",
				      (json_int_t)f->languages.dropped, "rule",
				      (json_int_t)f->rules.dropped, "queue",
				      (json_int_t)f->queues.dropped, "mode",
				      (json_int_t)f->modes.dropped));
	json_object_set_new(root, "actions", actions);

	json_object_set_new(root, "detection",
			    json_pack("{s:I,s:I,s:o}", "automated", (json_int_t)f->auto_detected,
				      "not_automated", (json_int_t)(f->actions - f->auto_detected),
				      "automated_share",
				      report_share(f->auto_detected, f->actions)));
	json_object_set_new(root, "decision",
			    json_pack("{s:I,s:I,s:I,s:o}", "fully_automated",
				      (json_int_t)f->decided_fully, "partially_automated",
				      (json_int_t)f->decided_partially, "not_automated",
				      (json_int_t)f->decided_not, "fully_automated_share",
				      report_share(f->decided_fully, f->actions)));

	json_t *tta = report_hist_json(&f->time_to_action);
	json_object_set_new(tta, "unknown", report_u64(f->tta_unknown));
	json_object_set_new(tta, "automated", report_hist_json(&f->tta_automated));
	json_object_set_new(tta, "human", report_hist_json(&f->tta_human));
	json_object_set_new(root, "time_to_action_ms", tta);

	json_t *appeals = report_complaints_json(&f->complaints[REPORT_C_ALL]);
	static const char *const types[REPORT_C_TYPES] = {
		[REPORT_C_VISIBILITY] = "visibility", [REPORT_C_PROVISION] = "provision",
		[REPORT_C_ACCOUNT] = "account",       [REPORT_C_MONETARY] = "monetary",
		[REPORT_C_OTHER] = "other",
	};
	json_t *by_type = json_array();
	for (int t = REPORT_C_VISIBILITY; t < REPORT_C_TYPES; t++) {
		json_t *o = report_complaints_json(&f->complaints[t]);
		json_object_set_new(o, "name", json_string(types[t]));
		json_array_append_new(by_type, o);
	}
	json_object_set_new(appeals, "by_restriction_appealed", by_type);
	json_object_set_new(root, "appeals", appeals);

	json_object_set_new(root, "statements",
			    json_pack("{s:I,s:I,s:I,s:I}", "due", (json_int_t)f->statements,
				      "incomplete", (json_int_t)f->statements_incomplete,
				      "on_complaint", (json_int_t)f->on_complaint, "on_notice",
				      (json_int_t)f->on_notice));
	return root;
}

int report_santaclara_write_json(const struct report_figures *f, FILE *out)
{
	json_t *j = report_santaclara_json(f);
	if (!j)
		return -ENOMEM;
	int rc = json_dumpf(j, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
	json_decref(j);
	fputc('\n', out);
	return rc || ferror(out) ? -EIO : 0;
}

/* --- CSV: the JSON's numbers, one per row --------------------------------------------- */

static void report_csv_value(FILE *out, const json_t *v)
{
	char buf[64];
	switch (json_typeof(v)) {
	case JSON_INTEGER:
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		report_csv_cell(out, buf);
		break;
	case JSON_REAL:
		snprintf(buf, sizeof(buf), "%.4f", json_real_value(v));
		report_csv_cell(out, buf);
		break;
	case JSON_STRING:
		report_csv_cell(out, json_string_value(v));
		break;
	case JSON_TRUE:
		report_csv_cell(out, "true");
		break;
	case JSON_FALSE:
		report_csv_cell(out, "false");
		break;
	default:
		break; /* null: an empty value */
	}
}

/* Rows for V under SECTION and KEY, its path so far in METRIC. Arrays of
 * objects are keyed by their "name". */
static void report_csv_flat(FILE *out, const char *section, const char *key, const char *metric,
			    const json_t *v)
{
	char path[256];
	if (json_is_object(v)) {
		const char *k;
		const json_t *e;
		json_object_foreach((json_t *)v, k, e)
		{
			if (!strcmp(k, "name") && key[0])
				continue;
			snprintf(path, sizeof(path), "%s%s%s", metric, metric[0] ? "." : "", k);
			report_csv_flat(out, section, key, path, e);
		}
		return;
	}
	if (json_is_array(v)) {
		size_t i;
		const json_t *e;
		json_array_foreach(v, i, e)
		{
			const char *name = json_string_value(json_object_get(e, "name"));
			char sub[256];
			snprintf(sub, sizeof(sub), "%s%s%s", key, key[0] ? "/" : "",
				 name ? name : "");
			report_csv_flat(out, section, sub, metric, e);
		}
		return;
	}
	report_csv_cell(out, section);
	fputc(',', out);
	report_csv_cell(out, key);
	fputc(',', out);
	report_csv_cell(out, metric);
	fputc(',', out);
	report_csv_value(out, v);
	report_csv_end(out);
}

int report_santaclara_write_csv(const struct report_figures *f, FILE *out)
{
	json_t *j = report_santaclara_json(f);
	if (!j)
		return -ENOMEM;
	fputs("section,key,metric,value", out);
	report_csv_end(out);
	const char *k;
	json_t *e;
	json_object_foreach(j, k, e)
	{
		report_csv_flat(out, k, "", "", e);
	}
	json_decref(j);
	return ferror(out) ? -EIO : 0;
}
