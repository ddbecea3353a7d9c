/* Santa Clara Principles numbers of a report's figures: JSON (jansson) and CSV. */
#pragma once

#include <jansson.h>
#include <stdio.h>

#include "report.h"

/*
 * The numbers the Santa Clara Principles ask for, from the ledger: actions by
 * category, country, language, rule, review queue and mode; automated and
 * human detection and decision; time from the content's creation to action
 * (p50, p90, p99 and coarse bins); appeals filed, decided, upheld, modified
 * and reversed, and the time to decide them; review SLA compliance per
 * queue; and the ledger's verification, with each chain's head at the
 * period's end. docs/reports.md lists every field.
 */

/* The numbers as one JSON object; NULL when memory runs out. */
json_t *report_santaclara_json(const struct report_figures *f);

/* Writes the JSON object, indented, to OUT. Returns 0, -ENOMEM or -EIO. */
int report_santaclara_write_json(const struct report_figures *f, FILE *out);

/* Writes the numbers as CSV rows "section,key,metric,value" (RFC 4180, one
 * per number) to OUT. Returns 0 or -EIO. */
int report_santaclara_write_csv(const struct report_figures *f, FILE *out);

/* A hash as lowercase hex into OUT (2 * LEDGER_HASH_LEN + 1 bytes). */
void report_hex(char *out, const uint8_t *hash);

/* The share N / D with four decimals, as a JSON real; null when D is 0. */
json_t *report_share(uint64_t n, uint64_t d);
