/* The files the metrics server serves as they are, built into the binary
 * (the Makefile makes each a C array): the dashboard, its chart code
 * (charts.js) and the chart library under it (uPlot, vendored under
 * vendor/uplot with its licence), so the dashboard works with no network. */
#include "telemetry/tel_int.h"

#include <string.h>

#define ASSET(sym) extern const unsigned char asset_##sym[]; \
	extern const unsigned int asset_##sym##_len
ASSET(dashboard_html);
ASSET(charts_js);
ASSET(vendor_uplot_uPlot_iife_min_js);
ASSET(vendor_uplot_uPlot_min_css);
ASSET(vendor_uplot_LICENSE);

#define ENTRY(url, type, sym) { url, type, asset_##sym, &asset_##sym##_len }
static const struct tel_asset assets[] = {
	ENTRY("/", "text/html; charset=utf-8", dashboard_html),
	ENTRY("/index.html", "text/html; charset=utf-8", dashboard_html),
	ENTRY("/charts.js", "text/javascript; charset=utf-8", charts_js),
	ENTRY("/uplot.js", "text/javascript; charset=utf-8", vendor_uplot_uPlot_iife_min_js),
	ENTRY("/uplot.css", "text/css; charset=utf-8", vendor_uplot_uPlot_min_css),
	ENTRY("/licenses/uplot.txt", "text/plain; charset=utf-8", vendor_uplot_LICENSE),
};

const struct tel_asset *tel_asset_find(const char *url)
{
	for (size_t i = 0; i < sizeof(assets) / sizeof(assets[0]); i++)
		if (!strcmp(url, assets[i].url))
			return &assets[i];
	return NULL;
}
