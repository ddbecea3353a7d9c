/* The DSA harmonised transparency template (Implementing Regulation (EU) 2024/2835, Annex I) as
 * its CSV parts, filled from a report's figures; RFC 4180 cells for every CSV writer. */
#pragma once

#include <stdio.h>

#include "report.h"

/*
 * The Commission publishes the quantitative and qualitative templates as
 * eleven CSV parts (one per sheet of its XLSX version). Each part is written
 * here with the template's own header row, row order, row labels
 * (STATEMENT_CATEGORY_* and KEYWORD_* values, indicators and scopes) and
 * "Applicability" column; the "Service" column holds the service's name and
 * "Reporting period" the period as FROM/TO.
 *
 * What the ledger knows fills the cells: own-initiative measures by
 * category and type of restriction (parts 5 and 6), the internal
 * complaint-handling system (part 7), the use of automated means (part 8),
 * the report's identification (part 1) and the categories used (part 2).
 * A row the ledger cannot know (orders of Member States, notices,
 * out-of-court settlements, KEYWORD_* specifications, accuracy, human
 * resources, recipients, qualitative descriptions) is written all the same,
 * with empty values and, in its first contextual-information cell (or its
 * value, where the template has no such cell and takes text), the words
 * "Not from this source", so that a reader can tell a zero from an unknown.
 *
 * Every file is UTF-8, fields separated by commas, records ended by CRLF,
 * quoted as RFC 4180 says. Median times are in days, as decimals; the
 * contextual information of each states the number of values and the
 * resolution (report.h).
 */

#define REPORT_CSV_PARTS 11

/* The file name of template part PART (1 to REPORT_CSV_PARTS), such as
 * "dsa_part05_own_initiative_illegal.csv"; NULL for another number. */
const char *report_csv_part_name(int part);

/* Writes template part PART of F to OUT. Returns 0, -EINVAL for no such
 * part, -EIO when OUT fails. */
int report_csv_part(const struct report_figures *f, int part, FILE *out);

/* Writes S as one RFC 4180 field: as it is, or quoted (its quotes doubled)
 * when it holds a comma, a quote, CR or LF. NULL is an empty field. */
void report_csv_cell(FILE *out, const char *s);

/* Ends a CSV record (CRLF). */
void report_csv_end(FILE *out);
