/* The HTML transparency report: one self-contained page, inline SVG charts, no script. */
#include "report_html.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "report_santaclara.h"

#define HTML_W 920 /* chart width in px */

static const char *const html_palette[DSA_CATEGORIES + 1] = {
	"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948",
	"#b07aa1", "#ff9da7", "#9c755f", "#1f77b4", "#8c564b", "#17becf",
	"#bcbd22", "#d62728", "#393b79", "#637939", "#9e9e9e",
};
static const char *const html_mode_colours[] = {"#ffd966", "#9fd3ff", "#d5b8ff",
						"#b9ecb0", "#ffb3a7", "#c9c9c9"};

/* --- Text -------------------------------------------------------------------------- */

static void html_esc(FILE *out, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", out);
			break;
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		case '\'':
			fputs("&#39;", out);
			break;
		default:
			if ((unsigned char)*s < 0x20)
				fputc(' ', out);
			else
				fputc(*s, out);
		}
	}
}

/* N with thousands separators. */
static const char *html_num(char buf[32], uint64_t n)
{
	char raw[24];
	int len = snprintf(raw, sizeof(raw), "%" PRIu64, n);
	size_t o = 0;
	for (int i = 0; i < len; i++) {
		if (i && (len - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = raw[i];
	}
	buf[o] = '\0';
	return buf;
}

/* A duration for people: "850 ms", "12.3 s", "4.5 min", "2.1 h", "3.2 d". */
static const char *html_duration(char buf[32], uint64_t ms)
{
	if (ms < 1000)
		snprintf(buf, 32, "%" PRIu64 " ms", ms);
	else if (ms < 60000)
		snprintf(buf, 32, "%.1f s", (double)ms / 1000);
	else if (ms < 3600000)
		snprintf(buf, 32, "%.1f min", (double)ms / 60000);
	else if (ms < (uint64_t)REPORT_DAY_MS)
		snprintf(buf, 32, "%.1f h", (double)ms / 3600000);
	else
		snprintf(buf, 32, "%.1f d", (double)ms / (double)REPORT_DAY_MS);
	return buf;
}

static const char *html_pct(char buf[32], uint64_t n, uint64_t d)
{
	if (!d)
		snprintf(buf, 32, "–");
	else
		snprintf(buf, 32, "%.1f %%", 100.0 * (double)n / (double)d);
	return buf;
}

/* "Illegal or harmful speech" for STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH. */
static const char *html_category(char *buf, size_t size, const char *cat)
{
	if (!cat || !cat[0])
		return "(no category)";
	const char *p = strncmp(cat, "STATEMENT_CATEGORY_", 19) ? cat : cat + 19;
	size_t i = 0;
	for (; *p && i + 1 < size; p++, i++) {
		char c = *p == '_' ? ' ' : *p;
		buf[i] = (char)(i == 0 ? c : (c >= 'A' && c <= 'Z' ? c | 0x20 : c));
	}
	buf[i] = '\0';
	if (!strcmp(buf, "Other violation tc"))
		snprintf(buf, size, "Other violation of terms");
	return buf;
}

/* A figure: its raw value in data-value, shown with separators. */
static void html_figure(FILE *out, const char *id, uint64_t v)
{
	char n[32];
	fprintf(out, "<b id=\"%s\" data-value=\"%" PRIu64 "\">%s</b>", id, v, html_num(n, v));
}

static void html_tile(FILE *out, const char *id, uint64_t v, const char *label, const char *sub)
{
	fputs("<div class=\"tile\">", out);
	html_figure(out, id, v);
	fprintf(out, "<span>%s</span>", label);
	if (sub) {
		fputs("<small>", out);
		html_esc(out, sub);
		fputs("</small>", out);
	}
	fputs("</div>\n", out);
}

/* --- Charts ------------------------------------------------------------------------------ */

/* A round axis top at or above MAX: 1, 2 or 5 times a power of ten. */
static uint64_t html_axis_top(uint64_t max)
{
	if (max <= 5)
		return max < 1 ? 1 : max;
	uint64_t p = 1;
	while (p * 10 <= max)
		p *= 10;
	for (uint64_t m = 1;; m = m == 1 ? 2 : m == 2 ? 5 : 10) {
		if (m * p >= max)
			return m * p;
		if (m == 10)
			break;
	}
	return 10 * p;
}

/* Geometry of a time chart: slots of SPAN days along x. Periods longer
 * than a quarter are drawn by week, longer than two years by 30 days. */
struct html_frame {
	double x0, y0, w, h; /* plot area */
	size_t days, span, slots;
	uint64_t top;
};

static void html_frame_init(struct html_frame *fr, const struct report_figures *f, double y0,
			    double h)
{
	*fr = (struct html_frame){.x0 = 56, .y0 = y0, .w = HTML_W - 70, .h = h, .days = f->days};
	fr->span = f->days <= 92 ? 1 : f->days <= 731 ? 7 : 30;
	fr->slots = (f->days + fr->span - 1) / fr->span;
}

static const char *html_slot_name(const struct html_frame *fr)
{
	return fr->span == 1 ? "day" : fr->span == 7 ? "week" : "30 days";
}

/* The sum of column COL over the days of SLOT. */
static uint64_t html_slot(const struct report_figures *f, const struct html_frame *fr, size_t slot,
			  int col)
{
	uint64_t v = 0;
	for (size_t d = slot * fr->span; d < f->days && d < (slot + 1) * fr->span; d++)
		v += f->daily[d][col];
	return v;
}

static double html_x(const struct html_frame *fr, size_t slot)
{
	return fr->x0 + fr->w * (double)slot / (double)fr->slots;
}

static double html_y(const struct html_frame *fr, uint64_t v)
{
	return fr->y0 + fr->h - fr->h * (double)v / (double)fr->top;
}

/* True when a record of slot SLOT carried the mode of BIT. */
static bool html_slot_mode(const struct report_figures *f, const struct html_frame *fr, size_t slot,
			   uint32_t bit)
{
	for (size_t d = slot * fr->span; d < f->days && d < (slot + 1) * fr->span; d++)
		if (f->mode_days[d] & bit)
			return true;
	return false;
}

/* The shaded slots of each mode behind a time chart, and its axes. */
static void html_frame_draw(FILE *out, const struct report_figures *f, const struct html_frame *fr)
{
	for (size_t m = 0; m < f->modes.n; m++) {
		const struct report_row *row = &f->modes.rows[m];
		if (row->bit < 0)
			continue;
		const char *colour =
			html_mode_colours[(size_t)row->bit % (sizeof(html_mode_colours) /
							      sizeof(html_mode_colours[0]))];
		uint32_t bit = 1u << row->bit;
		for (size_t d = 0; d < fr->slots;) {
			if (!html_slot_mode(f, fr, d, bit)) {
				d++;
				continue;
			}
			size_t end = d;
			while (end < fr->slots && html_slot_mode(f, fr, end, bit))
				end++;
			/* Behind the bars, and as a labelled strip above the plot. */
			double x = html_x(fr, d), w = html_x(fr, end) - html_x(fr, d);
			fprintf(out,
				"<rect class=\"mode\" data-mode=\"%d\" x=\"%.1f\" y=\"%.1f\" "
				"width=\"%.1f\" height=\"%.1f\" fill=\"%s\" fill-opacity=\"0.45\">"
				"<title>",
				row->bit, x, fr->y0, w, fr->h, colour);
			html_esc(out, row->name);
			fprintf(out,
				"</title></rect><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
				"height=\"14\" fill=\"%s\"/><text x=\"%.1f\" y=\"%.1f\" "
				"class=\"ax\">",
				x, fr->y0 - 16, w < 2 ? 2 : w, colour, x + 3, fr->y0 - 5);
			html_esc(out, row->name);
			fputs("</text>\n", out);
			d = end;
		}
	}
	/* Gridlines at whole numbers: five steps, or four, or one per unit. */
	uint64_t steps = fr->top % 5 == 0 ? 5 : fr->top % 4 == 0 ? 4 : fr->top;
	char n[32];
	for (uint64_t i = 0; i <= steps; i++) {
		uint64_t v = fr->top * i / steps;
		double y = html_y(fr, v);
		fprintf(out,
			"<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
			"<text x=\"%.1f\" y=\"%.1f\" class=\"ax\" text-anchor=\"end\">%s</text>\n",
			fr->x0, fr->x0 + fr->w, y, y, fr->x0 - 6, y + 4, html_num(n, v));
	}
	/* Up to eight dates along x: month and day, with the year when the
	 * period spans more than one. */
	bool years = f->days > 365 || strncmp(f->from, f->to, 4);
	size_t step = fr->slots <= 8 ? 1 : (fr->slots + 7) / 8;
	for (size_t d = 0; d < fr->slots; d += step) {
		char date[11];
		report_format_date(date, f->from_ms + (int64_t)(d * fr->span) * REPORT_DAY_MS);
		fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" class=\"ax\">%s</text>\n",
			html_x(fr, d) + 1, fr->y0 + fr->h + 16, years ? date : date + 5);
	}
}

/* The legend of modes under a time chart. */
static void html_mode_legend(FILE *out, const struct report_figures *f)
{
	bool any = false;
	for (size_t m = 0; m < f->modes.n; m++) {
		const struct report_row *row = &f->modes.rows[m];
		if (row->bit < 0)
			continue;
		if (!any)
			fputs("<p class=\"legend\">Shaded: when records were made while a mode was "
			      "active: ",
			      out);
		any = true;
		char first[11], last[11];
		report_format_date(first, row->first_ms);
		report_format_date(last, row->last_ms);
		fprintf(out, "<span><i style=\"background:%s\"></i>",
			html_mode_colours[(size_t)row->bit % (sizeof(html_mode_colours) /
							      sizeof(html_mode_colours[0]))]);
		html_esc(out, row->name);
		fprintf(out, " (%s to %s)</span> ", first, last);
	}
	if (any)
		fputs("</p>\n", out);
}

static void html_actions_over_time(FILE *out, const struct report_figures *f)
{
	struct html_frame fr;
	html_frame_init(&fr, f, 24, 220);
	uint64_t max = 0;
	uint64_t per_cat[DSA_CATEGORIES + 1] = {0};
	for (size_t d = 0; d < fr.slots; d++) {
		uint64_t sum = 0;
		for (size_t c = 0; c <= DSA_CATEGORIES; c++) {
			uint64_t v = html_slot(f, &fr, d, REPORT_D_CATEGORY + (int)c);
			sum += v;
			per_cat[c] += v;
		}
		if (sum > max)
			max = sum;
	}
	fr.top = html_axis_top(max);
	fprintf(out, "<h2>Actions per %s, by category</h2>\n", html_slot_name(&fr));
	fprintf(out,
		"<svg id=\"chart-actions\" class=\"chart\" viewBox=\"0 0 %d 274\" width=\"%d\" "
		"height=\"274\" role=\"img\" aria-label=\"Actions per %s by category\">\n",
		HTML_W, HTML_W, html_slot_name(&fr));
	html_frame_draw(out, f, &fr);
	double bw = fr.w / (double)fr.slots;
	double gap = bw > 4 ? 1 : 0;
	for (size_t d = 0; d < fr.slots; d++) {
		uint64_t base = 0;
		for (size_t c = 0; c <= DSA_CATEGORIES; c++) {
			uint64_t v = html_slot(f, &fr, d, REPORT_D_CATEGORY + (int)c);
			if (!v)
				continue;
			double y1 = html_y(&fr, base), y2 = html_y(&fr, base + v);
			fprintf(out,
				"<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
				"height=\"%.1f\" fill=\"%s\"/>",
				html_x(&fr, d) + gap / 2, y2, bw - gap, y1 - y2, html_palette[c]);
			base += v;
		}
	}
	fputs("\n</svg>\n<p class=\"legend\">", out);
	for (size_t c = 0; c <= DSA_CATEGORIES; c++) {
		if (!per_cat[c])
			continue;
		char label[80], n[32];
		fprintf(out, "<span><i style=\"background:%s\"></i>%s %s</span> ", html_palette[c],
			c < DSA_CATEGORIES ?
				html_category(label, sizeof(label), dsa_category_at(c)) :
				"(no DSA category)",
			html_num(n, per_cat[c]));
	}
	fputs("</p>\n", out);
	html_mode_legend(out, f);
}

static void html_appeals_over_time(FILE *out, const struct report_figures *f)
{
	struct html_frame fr;
	html_frame_init(&fr, f, 24, 160);
	uint64_t max = 0;
	for (size_t d = 0; d < fr.slots; d++)
		for (int c = REPORT_D_FILED; c <= REPORT_D_REVERSED; c++)
			if (html_slot(f, &fr, d, c) > max)
				max = html_slot(f, &fr, d, c);
	fr.top = html_axis_top(max);
	fprintf(out, "<h3>Appeals per %s</h3>\n", html_slot_name(&fr));
	fprintf(out,
		"<svg id=\"chart-appeals\" class=\"chart\" viewBox=\"0 0 %d 214\" width=\"%d\" "
		"height=\"214\" role=\"img\" aria-label=\"Appeals per %s\">\n",
		HTML_W, HTML_W, html_slot_name(&fr));
	html_frame_draw(out, f, &fr);
	static const struct {
		int col;
		const char *colour;
	} lines[] = {{REPORT_D_FILED, "#4e79a7"},
		     {REPORT_D_DECIDED, "#59a14f"},
		     {REPORT_D_REVERSED, "#e15759"}};
	double bw = fr.w / (double)fr.slots;
	for (size_t l = 0; l < 3; l++) {
		fprintf(out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"",
			lines[l].colour);
		for (size_t d = 0; d < fr.slots; d++)
			fprintf(out, "%.1f,%.1f ", html_x(&fr, d) + bw / 2,
				html_y(&fr, html_slot(f, &fr, d, lines[l].col)));
		fputs("\"/>\n", out);
	}
	fputs("</svg>\n<p class=\"legend\"><span><i style=\"background:#4e79a7\"></i>filed</span> "
	      "<span><i style=\"background:#59a14f\"></i>decided</span> <span><i "
	      "style=\"background:#e15759\"></i>reversed</span></p>\n",
	      out);
	html_mode_legend(out, f);
}

static void html_distribution(FILE *out, const struct report_hist *h)
{
	uint64_t max = 0;
	for (size_t i = 0; i < REPORT_BINS; i++)
		if (h->bins[i] > max)
			max = h->bins[i];
	uint64_t top = html_axis_top(max);
	double x0 = 56, w = HTML_W - 70, ph = 160, y0 = 10;
	double bw = w / REPORT_BINS;
	fprintf(out,
		"<svg id=\"chart-tta\" class=\"chart\" viewBox=\"0 0 %d 210\" width=\"%d\" "
		"height=\"210\" role=\"img\" aria-label=\"Time from content creation to "
		"action\">\n",
		HTML_W, HTML_W);
	char n[32];
	for (size_t i = 0; i < REPORT_BINS; i++) {
		double bh = ph * (double)h->bins[i] / (double)top;
		double x = x0 + bw * (double)i;
		fprintf(out,
			"<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
			"fill=\"#4e79a7\"/><text x=\"%.1f\" y=\"%.1f\" class=\"ax\" "
			"text-anchor=\"middle\">%s</text><text x=\"%.1f\" y=\"%.1f\" "
			"class=\"val\" text-anchor=\"middle\">%s</text>\n",
			x + 4, y0 + ph - bh, bw - 8, bh, x + bw / 2, y0 + ph + 18,
			report_bin_label(i), x + bw / 2, y0 + ph - bh - 4, html_num(n, h->bins[i]));
	}
	fputs("</svg>\n", out);
}

/* One horizontal bar per row: label, bar, value. */
struct html_bar {
	const char *label;
	uint64_t value;
	const char *note; /* or NULL */
};

static void html_hbars(FILE *out, const char *id, const struct html_bar *bars, size_t n,
		       const char *colour)
{
	uint64_t max = 1;
	for (size_t i = 0; i < n; i++)
		if (bars[i].value > max)
			max = bars[i].value;
	double lw = 190, bw = HTML_W - lw - 160;
	fprintf(out,
		"<svg id=\"%s\" class=\"chart\" viewBox=\"0 0 %d %zu\" width=\"%d\" "
		"height=\"%zu\">\n",
		id, HTML_W, n * 20 + 6, HTML_W, n * 20 + 6);
	char num[32];
	for (size_t i = 0; i < n; i++) {
		double y = 3 + 20.0 * (double)i;
		double w = bw * (double)bars[i].value / (double)max;
		if (bars[i].value && w < 1)
			w = 1;
		fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" class=\"lab\" text-anchor=\"end\">",
			lw - 8, y + 13);
		html_esc(out, bars[i].label);
		fprintf(out,
			"</text><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"15\" "
			"fill=\"%s\"/><text x=\"%.1f\" y=\"%.1f\" class=\"val\">%s",
			lw, y, w, colour, lw + w + 6, y + 12, html_num(num, bars[i].value));
		if (bars[i].note) {
			fputs(" ", out);
			html_esc(out, bars[i].note);
		}
		fputs("</text>\n", out);
	}
	fputs("</svg>\n", out);
}

/* A breakdown as bars of actions, every value its own bar. */
static void html_tally_bars(FILE *out, const char *id, const struct report_tally *t,
			    const char *colour, const char *empty_label)
{
	if (!t->n) {
		fputs("<p class=\"none\">No actions in the period.</p>\n", out);
		return;
	}
	struct html_bar *bars = calloc(t->n, sizeof(*bars));
	if (!bars)
		return;
	char(*notes)[48] = calloc(t->n, sizeof(*notes));
	for (size_t i = 0; i < t->n; i++) {
		bars[i].label = t->rows[i].name[0] ? t->rows[i].name : empty_label;
		bars[i].value = t->rows[i].actions;
		if (notes) {
			char p[32];
			snprintf(notes[i], sizeof(notes[i]), "(%s automated)",
				 html_pct(p, t->rows[i].automated, t->rows[i].actions));
			bars[i].note = notes[i];
		}
	}
	html_hbars(out, id, bars, t->n, colour);
	if (t->dropped)
		fprintf(out,
			"<p class=\"none\">%" PRIu64 " action(s) had a value past the first %d "
			"distinct ones and are not shown.</p>\n",
			t->dropped, REPORT_MAX_KEYS);
	free(notes);
	free(bars);
}

/* A 100 % bar cut into parts. */
static void html_split(FILE *out, const char *id, const char *title, const char *const *labels,
		       const uint64_t *v, const char *const *colours, size_t n)
{
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += v[i];
	fprintf(out,
		"<h3>%s</h3>\n<svg id=\"%s\" class=\"chart\" viewBox=\"0 0 %d 34\" "
		"width=\"%d\" height=\"34\">\n",
		title, id, HTML_W, HTML_W);
	double x = 0;
	for (size_t i = 0; total && i < n; i++) {
		double w = (double)HTML_W * (double)v[i] / (double)total;
		fprintf(out, "<rect x=\"%.1f\" y=\"2\" width=\"%.1f\" height=\"30\" fill=\"%s\"/>",
			x, w, colours[i]);
		x += w;
	}
	fputs("</svg>\n<p class=\"legend\">", out);
	for (size_t i = 0; i < n; i++) {
		char num[32], p[32];
		fprintf(out, "<span><i style=\"background:%s\"></i>%s: %s (%s)</span> ", colours[i],
			labels[i], html_num(num, v[i]), html_pct(p, v[i], total));
	}
	fputs("</p>\n", out);
}

/* --- Sections ------------------------------------------------------------------------------ */

static void html_verification(FILE *out, const struct report_figures *f)
{
	char n1[32], n2[32];
	if (!f->verified) {
		fputs("<section id=\"verification\" class=\"broken\"><h2>Ledger not "
		      "verified</h2></section>\n",
		      out);
		return;
	}
	if (!f->chains_broken) {
		fprintf(out,
			"<section id=\"verification\" class=\"ok\"><h2>Ledger verified: "
			"intact</h2><p>%s audit record(s) in %zu chain(s) read from the start of "
			"the audit topic, every hash chain intact (%s exact duplicate(s), rewritten "
			"after a crash, counted once). Every figure below is computed from these "
			"records; each chain's head at the period's end is listed at the bottom, "
			"to be compared with heads anchored elsewhere.</p></section>\n",
			html_num(n1, f->ledger_records), f->n_chains,
			html_num(n2, f->ledger_duplicates));
		return;
	}
	fprintf(out,
		"<section id=\"verification\" class=\"broken\"><h2>Ledger BROKEN: %zu chain(s) "
		"with breaks</h2><p>%s audit record(s) read. This report was made with "
		"<code>--allow-breaks</code>: the figures count the records as they stand, %s "
		"of them in the period at a break. Where the breaks are:</p><ul "
		"id=\"breaks\">\n",
		f->chains_broken, html_num(n1, f->ledger_records), html_num(n2, f->at_breaks));
	for (size_t i = 0; i < f->n_chains; i++) {
		const struct report_chain *c = &f->chains[i];
		if (!c->verified || c->verify.first == LEDGER_OK)
			continue;
		fputs("<li><b>", out);
		html_esc(out, c->name);
		fprintf(out, "</b>: %s at partition %" PRId32 " offset %" PRId64 ": ",
			ledger_break_name(c->verify.first), c->verify.at.partition,
			c->verify.at.offset);
		html_esc(out, c->verify.detail);
		if (c->verify.breaks > 1)
			fprintf(out, " (%" PRIu64 " breaks in all)", c->verify.breaks);
		fputs("</li>\n", out);
	}
	fputs("</ul></section>\n", out);
}

static void html_summary(FILE *out, const struct report_figures *f)
{
	char sub[96], p[32], d[32];
	fputs("<section id=\"summary\" class=\"tiles\">\n", out);
	snprintf(sub, sizeof(sub), "%s detected by automated means",
		 html_pct(p, f->auto_detected, f->actions));
	html_tile(out, "tile-actions", f->actions, "actions taken", sub);
	snprintf(sub, sizeof(sub), "%s of actions", html_pct(p, f->decided_fully, f->actions));
	html_tile(out, "tile-automated", f->decided_fully, "decided by automated means", sub);
	if (f->time_to_action.n)
		snprintf(sub, sizeof(sub), "median time to action %s",
			 html_duration(d, report_hist_quantile(&f->time_to_action, 500)));
	else
		snprintf(sub, sizeof(sub), "no time to action known");
	html_tile(out, "tile-statements", f->statements, "statements of reasons due", sub);
	const struct report_complaints *c = &f->complaints[REPORT_C_ALL];
	snprintf(sub, sizeof(sub), "%" PRIu64 " decided", c->decided);
	html_tile(out, "tile-appeals", c->filed, "appeals filed", sub);
	snprintf(sub, sizeof(sub), "%s of appeals decided", html_pct(p, c->reversed, c->decided));
	html_tile(out, "tile-reversed", c->reversed, "decisions reversed", sub);
	fputs("</section>\n", out);
}

static void html_time_to_action(FILE *out, const struct report_figures *f)
{
	const struct report_hist *h = &f->time_to_action;
	char a[32], b[32], c[32], n[32];
	fputs("<section id=\"time-to-action\"><h2>Time from the content's creation to action</h2>\n",
	      out);
	if (!h->n) {
		fputs("<p class=\"none\">No action with a known creation time.</p></section>\n",
		      out);
		return;
	}
	fprintf(out,
		"<p>Of %s action(s) whose content's creation time is known: median "
		"<b id=\"tta-p50\" data-value=\"%" PRIu64 "\">%s</b>, p90 <b id=\"tta-p90\" "
		"data-value=\"%" PRIu64 "\">%s</b>, p99 <b id=\"tta-p99\" data-value=\"%" PRIu64
		"\">%s</b>.",
		html_num(n, h->n), report_hist_quantile(h, 500),
		html_duration(a, report_hist_quantile(h, 500)), report_hist_quantile(h, 900),
		html_duration(b, report_hist_quantile(h, 900)), report_hist_quantile(h, 990),
		html_duration(c, report_hist_quantile(h, 990)));
	if (f->tta_unknown)
		fprintf(out, " %s action(s) without it are left out.", html_num(n, f->tta_unknown));
	fputs("</p>\n", out);
	html_distribution(out, h);
	if (f->tta_automated.n && f->tta_human.n)
		fprintf(out, "<p>Median for automated decisions %s, for human decisions %s.</p>\n",
			html_duration(a, report_hist_quantile(&f->tta_automated, 500)),
			html_duration(b, report_hist_quantile(&f->tta_human, 500)));
	fputs("</section>\n", out);
}

static void html_appeals(FILE *out, const struct report_figures *f)
{
	const struct report_complaints *c = &f->complaints[REPORT_C_ALL];
	char p[32], d[32];
	fputs("<section id=\"appeals\"><h2>Appeals and reversals</h2>\n", out);
	fputs("<p>Filed ", out);
	html_figure(out, "appeals-filed", c->filed);
	fputs(", decided ", out);
	html_figure(out, "appeals-decided", c->decided);
	fputs(": upheld ", out);
	html_figure(out, "appeals-upheld", c->upheld);
	fputs(", modified ", out);
	html_figure(out, "appeals-modified", c->modified);
	fputs(", reversed ", out);
	html_figure(out, "appeals-reversed", c->reversed);
	fprintf(out, " (reversal rate %s).", html_pct(p, c->reversed, c->decided));
	if (c->time.n)
		fprintf(out, " Median time to decide %s.",
			html_duration(d, report_hist_quantile(&c->time, 500)));
	fputs(" An action later reversed counts as an action in the period it was taken and "
	      "as a reversal in the period the appeal was decided.</p>\n",
	      out);
	struct html_bar bars[] = {{"upheld", c->upheld, NULL},
				  {"modified", c->modified, NULL},
				  {"reversed", c->reversed, NULL}};
	html_hbars(out, "chart-outcomes", bars, 3, "#59a14f");
	html_appeals_over_time(out, f);
	fputs("</section>\n", out);
}

static void html_automation(FILE *out, const struct report_figures *f)
{
	fputs("<section id=\"automation\"><h2>Automated and human</h2>\n", out);
	static const char *const det_labels[] = {"detected by automated means",
						 "detected otherwise"};
	static const char *const det_colours[] = {"#4e79a7", "#f28e2b"};
	uint64_t det[] = {f->auto_detected, f->actions - f->auto_detected};
	html_split(out, "chart-detection", "Detection of the actions", det_labels, det, det_colours,
		   2);
	static const char *const dec_labels[] = {"fully automated", "partially automated",
						 "not automated"};
	static const char *const dec_colours[] = {"#4e79a7", "#76b7b2", "#f28e2b"};
	uint64_t dec[] = {f->decided_fully, f->decided_partially, f->decided_not};
	html_split(out, "chart-decision", "Decision on the actions", dec_labels, dec, dec_colours,
		   3);
	fputs("</section>\n", out);
}

static void html_sla(FILE *out, const struct report_figures *f)
{
	fputs("<section id=\"sla\"><h2>Review queues: SLA compliance</h2>\n", out);
	if (!f->queues.n) {
		fputs("<p class=\"none\">No decision from a review queue in the period.</p>"
		      "</section>\n",
		      out);
		return;
	}
	fputs("<table><tr><th>queue</th><th>decisions</th><th>actions</th><th>with a "
	      "deadline</th><th>met</th><th>missed</th><th>compliance</th></tr>\n",
	      out);
	for (size_t i = 0; i < f->queues.n; i++) {
		const struct report_row *q = &f->queues.rows[i];
		char a[32], b[32], c[32], d[32], e[32], p[32];
		fputs("<tr><td>", out);
		html_esc(out, q->name);
		fprintf(out,
			"</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td "
			"class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td "
			"class=\"n\">%s</td></tr>\n",
			html_num(a, q->decisions), html_num(b, q->actions),
			html_num(c, q->sla_met + q->sla_missed), html_num(d, q->sla_met),
			html_num(e, q->sla_missed),
			html_pct(p, q->sla_met, q->sla_met + q->sla_missed));
	}
	fputs("</table>\n", out);
	struct html_bar *bars = calloc(f->queues.n, sizeof(*bars));
	char(*notes)[64] = calloc(f->queues.n, sizeof(*notes));
	if (bars && notes) {
		for (size_t i = 0; i < f->queues.n; i++) {
			const struct report_row *q = &f->queues.rows[i];
			uint64_t with = q->sla_met + q->sla_missed;
			bars[i].label = q->name;
			bars[i].value = q->sla_met;
			char p[32];
			snprintf(notes[i], sizeof(notes[i]), "met of %" PRIu64 " (%s)", with,
				 html_pct(p, q->sla_met, with));
			bars[i].note = notes[i];
		}
		html_hbars(out, "chart-sla", bars, f->queues.n, "#59a14f");
	}
	free(notes);
	free(bars);
	fputs("</section>\n", out);
}

static void html_rules_and_modes(FILE *out, const struct report_figures *f)
{
	char a[32], b[32], c[32];
	fputs("<section id=\"rules\"><h2>Rules</h2>\n", out);
	if (!f->rules.n) {
		fputs("<p class=\"none\">No action named a rule.</p>\n", out);
	} else {
		fputs("<p>An action counts for every rule that matched it.</p><table><tr><th>rule"
		      "</th><th>actions</th><th>automated</th></tr>\n",
		      out);
		for (size_t i = 0; i < f->rules.n; i++) {
			fputs("<tr><td>", out);
			html_esc(out, f->rules.rows[i].name);
			fprintf(out, "</td><td class=\"n\">%s</td><td class=\"n\">%s</td></tr>\n",
				html_num(a, f->rules.rows[i].actions),
				html_num(b, f->rules.rows[i].automated));
		}
		fputs("</table>\n", out);
	}
	fputs("</section>\n<section id=\"modes\"><h2>Election and crisis modes</h2>\n", out);
	if (!f->modes.n) {
		fputs("<p class=\"none\">No record of the period was made while a mode was "
		      "active.</p>\n",
		      out);
	} else {
		fputs("<table><tr><th>mode</th><th>records</th><th>actions</th><th>first "
		      "record</th><th>last record</th></tr>\n",
		      out);
		for (size_t i = 0; i < f->modes.n; i++) {
			const struct report_row *m = &f->modes.rows[i];
			char first[11], last[11];
			report_format_date(first, m->first_ms);
			report_format_date(last, m->last_ms);
			fputs("<tr><td>", out);
			html_esc(out, m->name);
			fprintf(out,
				"</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td>%s</td>"
				"<td>%s</td></tr>\n",
				html_num(a, m->decisions), html_num(c, m->actions), first, last);
		}
		fputs("</table>\n", out);
	}
	fputs("</section>\n", out);
}

static void html_chains(FILE *out, const struct report_figures *f)
{
	fputs("<section id=\"chains\"><h2>Chains and their heads at the period's end</h2>\n"
	      "<table><tr><th>chain</th><th>records in the period</th><th>sequences</th>"
	      "<th>head at the period's end</th><th>verification</th></tr>\n",
	      out);
	for (size_t i = 0; i < f->n_chains; i++) {
		const struct report_chain *c = &f->chains[i];
		char n[32], hex[2 * LEDGER_HASH_LEN + 1];
		fputs("<tr><td>", out);
		html_esc(out, c->name);
		fprintf(out, "</td><td class=\"n\">%s</td><td>", html_num(n, c->counted));
		if (c->counted)
			fprintf(out, "%" PRIu64 "–%" PRIu64, c->first_seq, c->last_seq);
		fputs("</td><td>", out);
		if (c->has_head) {
			report_hex(hex, c->head_hash);
			fprintf(out, "%" PRIu64 " <code class=\"hash\">%s</code>", c->head_sequence,
				hex);
		} else {
			fputs("none yet", out);
		}
		fputs("</td><td>", out);
		if (!c->verified)
			fputs("not verified", out);
		else if (c->verify.first == LEDGER_OK)
			fprintf(out, "intact, %" PRIu64 " records", c->verify.records);
		else
			fprintf(out,
				"<b class=\"bad\">%s</b> at partition %" PRId32 " offset %" PRId64,
				ledger_break_name(c->verify.first), c->verify.at.partition,
				c->verify.at.offset);
		fputs("</td></tr>\n", out);
	}
	fputs("</table></section>\n", out);
}

static const char html_style[] =
	"body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;"
	"color:#1d2733;background:#f5f6f8}"
	"main{max-width:960px;margin:0 auto;padding:12px 20px 40px;background:#fff}"
	"h1{font-size:24px;margin:8px 0 2px}h2{font-size:18px;margin:22px 0 8px}"
	"h3{font-size:14px;margin:12px 0 4px}"
	"header p{margin:0;color:#56606b}"
	"#verification{border-radius:6px;padding:2px 14px;margin:12px 0}"
	"#verification h2{margin:8px 0 4px;font-size:16px}#verification p{margin:4px 0 8px}"
	".ok{background:#e6f4ea;border:1px solid #7bc58f}"
	".broken{background:#fdecea;border:1px solid #e57373}"
	".tiles{display:flex;gap:10px;flex-wrap:wrap;margin:10px 0}"
	".tile{flex:1 1 150px;border:1px solid #dde1e6;border-radius:6px;padding:8px 12px}"
	".tile b{display:block;font-size:26px}.tile span{display:block;font-size:13px}"
	".tile small{color:#56606b;font-size:12px}"
	".chart{display:block;max-width:100%;height:auto}"
	".ax{font-size:11px;fill:#56606b}.val{font-size:11px;fill:#1d2733}"
	".lab{font-size:12px;fill:#1d2733}"
	".legend{font-size:12px;margin:4px 0}.legend span{margin-right:10px;white-space:nowrap}"
	".legend i{display:inline-block;width:10px;height:10px;margin-right:4px}"
	"table{border-collapse:collapse;font-size:13px;width:100%}"
	"th,td{border-bottom:1px solid #e3e6ea;padding:3px 6px;text-align:left}"
	"td.n{text-align:right;font-variant-numeric:tabular-nums}"
	".hash{font-size:11px;word-break:break-all}.bad{color:#c62828}.none{color:#56606b}"
	"footer{font-size:12px;color:#56606b;margin-top:24px}";

int report_html_write(const struct report_figures *f, FILE *out)
{
	char generated[11] = "";
	if (f->generated_ms > 0)
		report_format_date(generated, f->generated_ms);
	fprintf(out,
		"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
		"<title>Transparency report %s to %s</title><style>%s</style></head>\n"
		"<body><main>\n<header><h1>Transparency report</h1><p>",
		f->from, f->to, html_style);
	if (f->provider[0] || f->service[0]) {
		html_esc(out, f->provider);
		fputs(f->provider[0] && f->service[0] ? " · " : "", out);
		html_esc(out, f->service);
		fputs(" · ", out);
	}
	fprintf(out,
		"<span id=\"period\">%s to %s</span> (UTC) · from the verified audit ledger, "
		"made %s</p></header>\n",
		f->from, f->to, generated);
	html_verification(out, f);
	html_summary(out, f);
	fputs("<section id=\"over-time\">\n", out);
	html_actions_over_time(out, f);
	fputs("</section>\n", out);
	html_time_to_action(out, f);
	fputs("<section id=\"countries\"><h2>Actions by country</h2>\n", out);
	html_tally_bars(out, "chart-countries", &f->countries, "#4e79a7", "(no country)");
	fputs("</section>\n<section id=\"languages\"><h2>Actions by language</h2><p>Every "
	      "language is shown, however few its actions.</p>\n",
	      out);
	html_tally_bars(out, "chart-languages", &f->languages, "#76b7b2", "(no language)");
	fputs("</section>\n<section id=\"categories\"><h2>Actions by category</h2>\n", out);
	html_tally_bars(out, "chart-categories", &f->categories, "#f28e2b", "(no category)");
	fputs("</section>\n", out);
	html_appeals(out, f);
	html_automation(out, f);
	html_sla(out, f);
	html_rules_and_modes(out, f);
	html_chains(out, f);
	char n[32];
	fprintf(out,
		"<footer><p>Actions: decisions of kind ACTION that restrict something, anywhere; "
		"statements of reasons: restrictions in the EEA, as <code>arbiterctl audit export "
		"--dsa</code> writes them (%s in the period, %" PRIu64
		" of them incomplete). Times to action and to decide an appeal are exact below "
		"256 ms and at most 1/128 below the exact value above. Made by <code>arbiterctl "
		"report</code>; the same figures are in the CSV and JSON files beside this "
		"page.</p></footer>\n</main></body></html>\n",
		html_num(n, f->statements), f->statements_incomplete);
	return ferror(out) ? -EIO : 0;
}
