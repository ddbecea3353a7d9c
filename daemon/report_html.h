/* A report's figures as one self-contained HTML page with inline SVG charts. */
#pragma once

#include <stdio.h>

#include "report.h"

/*
 * One file a person opens in a browser, with nothing fetched from anywhere:
 * no script, no font, no image but inline SVG, styles inline. Its first
 * screen says whether the ledger verified (and where every break is when it
 * did not) and gives the headline figures and the actions over time by
 * category, with the days an election or crisis mode was seen on records
 * shaded; then the time to action as a distribution, every country and every
 * language (none folded into "other"), appeals and reversals, automated and
 * human shares, SLA compliance per queue, rules, modes, and each chain's head
 * at the period's end. Every text from the ledger is escaped. Key figures
 * carry their raw value in a data-value attribute.
 */

/* Writes the page to OUT. Returns 0 or -EIO. */
int report_html_write(const struct report_figures *f, FILE *out);
