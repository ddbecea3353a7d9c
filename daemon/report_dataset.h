/* The research data set: one CSV row per action or appeal of a period, pseudonymised, no text. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "report.h"

/*
 * For researchers and election monitors: every decision of kind ACTION and
 * every appeal filed or decided in the period, one row each, with the DSA
 * statement's fields, rule ids, country, language, modes, review queue and
 * SLA, latencies and the record's place in its chain (chain, sequence,
 * partition and offset), so that any row can be checked against the
 * verified ledger. No text is written (no explanation, legal ground or
 * decision facts), and every identifier that could lead to a person is a
 * keyed pseudonym: lowercase hex of HMAC-SHA256 under the data set's key of
 * the content id, the author and reviewer pseudonyms the ledger holds, and
 * the appeal id. The same value always gets the same pseudonym within one
 * data set, so rows link to each other; a data set made with another key
 * links to nothing, and nothing links back without the key.
 * docs/reports.md documents every column.
 */

struct report_dataset;

/* Rows only of records whose country is COUNTRY (any case) and that carry
 * mode MODE; NULL keeps every record. */
struct report_dataset_filter {
	const char *country;
	const char *mode;
};

/* A data set written to OUT (its header row at once), pseudonymised under
 * KEY. Returns 0 and *DS, -EINVAL (no key), -ENOMEM. */
int report_dataset_new(FILE *out, const char *key, const struct report_dataset_filter *filter,
		       struct report_dataset **ds);
void report_dataset_free(struct report_dataset *ds);

/* Writes the row of REC, read at PARTITION and OFFSET of the audit topic,
 * with AP the appeal record of the same decision (or NULL), unless REC is
 * neither an action nor an appeal or the filter leaves it out. The caller
 * feeds only records of the period. Returns 1 when a row was written, 0
 * when not, -EIO when OUT fails. */
int report_dataset_add(struct report_dataset *ds, const Arbiter__V1__AuditRecord *rec,
		       const struct report_appeal *ap, int32_t partition, int64_t offset);

/* Rows written so far. */
uint64_t report_dataset_rows(const struct report_dataset *ds);

/* Writes the hex HMAC-SHA256 of VALUE under the data set's key into OUT;
 * "" for an empty VALUE. */
void report_dataset_pseudonym(struct report_dataset *ds, const char *value, char out[65]);
