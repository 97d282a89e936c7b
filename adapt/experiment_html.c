/*
 * adapt: the HTML report of `avmm experiment`.
 *
 * One self-contained file (no network): uPlot's CSS and JS (vendored in
 * telemetry/vendor/uplot, built in as assets), the experiment's data as
 * JSON (experiment_json.c) and adapt/experiment_report.js, which draws the
 * header, the summary table, one chart per metric (runs overlaid, phases
 * shaded, decisions as markers) and the files written. Without JavaScript
 * the page still shows the summary as the CLI prints it.
 *
 * Where it goes: [output] report = PATH ("none": nowhere); unset, beside
 * the summary file, else beside the traces, else NAME.html in the current
 * folder, always with the extension .html.
 *
 * A simulated run (c->simulated set) says so in the title and in a banner
 * at the top of the page, drawn without JavaScript too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapt/experiment_int.h"
#include "common/util.h"

extern const unsigned char asset_vendor_uplot_uPlot_iife_min_js[], asset_vendor_uplot_uPlot_min_css[];
extern const unsigned int asset_vendor_uplot_uPlot_iife_min_js_len, asset_vendor_uplot_uPlot_min_css_len;
extern const unsigned char asset_experiment_report_js[], asset_experiment_report_css[];
extern const unsigned int asset_experiment_report_js_len, asset_experiment_report_css_len;

/* path with its extension (if its last component has one) as .html; a
 * path that already ends in .html gets "-report.html" */
static void with_html_ext(const char *path, char *out, size_t len)
{
	const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
	size_t stem;

	if (!dot || (slash && dot < slash) || dot == (slash ? slash + 1 : path))
		dot = path + strlen(path);
	stem = (size_t)(dot - path);
	snprintf(out, len, "%.*s%s", (int)stem, path, strcmp(dot, ".html") ? ".html" : "-report.html");
}

void adapt_exp_report_path(const struct exp_ctx *c, char *out, size_t len)
{
	const struct pol_experiment *x = &c->x;

	if (!strcmp(x->report, "none"))
		snprintf(out, len, "%s", "");
	else if (x->report[0])
		snprintf(out, len, "%s", x->report);
	else if (strcmp(x->summary, "-"))
		with_html_ext(x->summary, out, len);
	else if (x->trace[0])
		with_html_ext(x->trace, out, len);
	else
		snprintf(out, len, "%s.html", x->name);
}

/* Text as HTML character data. */
static void put_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

static void put_asset(FILE *f, const char *open, const unsigned char *a, unsigned int len, const char *close)
{
	fputs(open, f);
	fwrite(a, 1, len, f);
	fputs(close, f);
}

/* The CLI's table, for readers without JavaScript (malloc'd, or NULL). */
static char *table_text(const struct exp_ctx *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		return NULL;
	adapt_exp_print_table(m, c);
	if (fclose(m)) {
		free(buf);
		return NULL;
	}
	return buf;
}

static void put_page(FILE *f, const struct exp_ctx *c, const char *json, const char *table)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>avmm experiment: ", f);
	put_escaped(f, c->x.name);
	if (c->simulated[0]) {
		fputs(" (", f);
		put_escaped(f, c->simulated);
		fputc(')', f);
	}
	fputs("</title>\n<!-- written by avmm experiment; self-contained (no network): uPlot 1.6.32 "
	      "(MIT licence, (c) Leon Sorokin; licence text in the avmm sources, "
	      "telemetry/vendor/uplot/LICENSE) and the report's script are inlined -->\n", f);
	put_asset(f, "<style>\n", asset_vendor_uplot_uPlot_min_css, asset_vendor_uplot_uPlot_min_css_len, "\n</style>\n");
	put_asset(f, "<style>\n", asset_experiment_report_css, asset_experiment_report_css_len, "\n</style>\n");
	fputs("</head>\n<body data-errors=\"0\">\n", f);
	if (c->simulated[0]) {   /* before everything, with or without JavaScript */
		fputs("<p class=\"warn\" id=\"simulated\">SIMULATED, not measured: ", f);
		put_escaped(f, c->simulated);
		fputs(" (avmm experiment --simulate; model results)</p>\n", f);
	}
	fputs("<noscript><p>The charts need JavaScript; the summary as "
	      "<code>avmm experiment</code> printed it:</p>\n<pre>", f);
	put_escaped(f, table ? table : "(no summary: out of memory)");
	fputs("</pre></noscript>\n<div id=\"report\"></div>\n<div id=\"errors\"></div>\n"
	      "<script type=\"application/json\" id=\"avmm-report-data\">", f);
	fputs(json, f);
	fputs("</script>\n", f);
	put_asset(f, "<script>\n", asset_vendor_uplot_uPlot_iife_min_js, asset_vendor_uplot_uPlot_iife_min_js_len, "\n</script>\n");
	put_asset(f, "<script>\n", asset_experiment_report_js, asset_experiment_report_js_len, "\n</script>\n");
	fputs("</body>\n</html>\n", f);
}

int adapt_exp_write_report(const struct exp_ctx *c, const char *path)
{
	char why[512], *table = table_text(c), *json = adapt_exp_report_json(c, path, table);
	FILE *f;
	int rc = 0;

	if (!json) {
		util_err("%s: report %s: out of memory building its data", c->x.path, path);
		free(table);
		return -ENOMEM;
	}
	f = util_fopen_output(path, why, sizeof(why));
	if (!f) {
		util_err("%s: report: %s; name a writable path with [output] report = PATH (or none)",
			 c->x.path, why);
		rc = -EIO;
		goto out;
	}
	put_page(f, c, json, table);
	if (fclose(f)) {
		util_err("%s: report %s: write failed (disk full?)", c->x.path, path);
		rc = -EIO;
		goto out;
	}
	adapt_exp_progress(c, "report written to %s (open it in a browser)", path);
out:
	free(json);
	free(table);
	return rc;
}
