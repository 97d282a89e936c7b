/* Checks of the `avmm experiment` HTML report: as a file (self-contained,
 * its data) and in headless Chromium (Debian's chromium), like the
 * dashboard's (tests/lib/dashboard.c); used by tests/experiment (real runs)
 * and tests/sim (simulated runs). */
#include "tests/lib/bg_avmm.h"
#include "tests/lib/report_check.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/lib/dashboard.h"

#define DATA_OPEN "<script type=\"application/json\" id=\"avmm-report-data\">"

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* Every attribute or CSS url() that loads something must stay in the page. */
static void assert_no_remote(const char *html, const char *attr)
{
	static const char *const remote[] = { "http:", "https:", "//", "file:", "ftp:" };
	const char *p = html;

	while ((p = strcasestr(p, attr))) {
		const char *v = p + strlen(attr);

		while (*v == '"' || *v == '\'' || *v == ' ')
			v++;
		for (size_t i = 0; i < sizeof(remote) / sizeof(remote[0]); i++)
			cr_assert(strncasecmp(v, remote[i], strlen(remote[i])),
				  "the report loads something from elsewhere: %.80s", p);
		p = v;
	}
}

json_t *report_static_check(const char *html)
{
	const char *d = strstr(html, DATA_OPEN), *end;
	json_error_t je;
	json_t *data;
	char *text;

	cr_assert(!strncmp(html, "<!DOCTYPE html>", 15), "not an HTML page: %.80s", html);
	assert_no_remote(html, "src=");
	assert_no_remote(html, "href=");
	assert_no_remote(html, "url(");
	assert_no_remote(html, "@import");
	cr_assert_null(strcasestr(html, "<link"), "a <link> element: the page should inline everything");
	cr_assert_eq(count(html, "var uPlot=function()"), 1, "uPlot is not inlined once");
	cr_assert_eq(count(html, ".uplot {"), 1, "uPlot's CSS is not inlined");
	cr_assert_not_null(strstr(html, "avmm-report-data"), "no report script");
	cr_assert_not_null(d, "no data element");
	d += strlen(DATA_OPEN);
	end = strstr(d, "</script>");
	cr_assert_not_null(end);
	/* the data can hold no tag: every '<' in it is \u003c */
	cr_assert_null(memchr(d, '<', (size_t)(end - d)));
	text = strndup(d, (size_t)(end - d));
	data = json_loads(text, 0, &je);
	cr_assert_not_null(data, "the data is not JSON: %s at %d: %.120s", je.text, je.position, text);
	free(text);
	return data;
}

static int body_attr(const char *dom, const char *attr)
{
	const char *b = strstr(dom, "<body"), *e = b ? strchr(b, '>') : NULL, *p;
	char pat[64];

	snprintf(pat, sizeof(pat), "%s=\"", attr);
	p = b ? strstr(b, pat) : NULL;
	return p && p < e ? atoi(p + strlen(pat)) : -1;
}

/* Every chart's div has points; returns how many charts there are. */
static int charts_with_points(const char *dom)
{
	int n = 0;

	for (const char *p = dom; (p = strstr(p, "class=\"chart\"")); p++) {
		const char *e = strchr(p, '>'), *dp = strstr(p, "data-points=\"");

		cr_assert(dp && dp < e, "a chart without data-points: %.200s", p);
		cr_assert_gt(atoi(dp + 13), 0, "an empty chart: %.200s", p);
		n++;
	}
	return n;
}

static void chromium(const char *prof, const char *extra, const char *url, const char *out,
		     const char *log)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd),
		 "timeout 90 %s --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
		 "--disable-background-networking --disable-component-update --disable-sync "
		 "--disable-dev-shm-usage --host-resolver-rules='MAP * ~NOTFOUND' --enable-logging=stderr "
		 "--v=0 --user-data-dir=%s --virtual-time-budget=3000 %s '%s' %s 2>> '%s'",
		 CHROMIUM, prof, extra, url, out, log);
	cr_assert_eq(system(cmd), 0, "chromium failed: see %s", log);
}

char *report_chromium_check(const char *path, const char *name, int min_charts, int want_unavailable)
{
	char dir[512], prof[] = "/tmp/exp-chromium-XXXXXX", url[700], dom_path[700], log_path[700],
		png[700], extra[800], cmd[800];
	char *dom, *log;
	struct stat st;

	if (access(CHROMIUM, X_OK))
		cr_skip_test("no %s (Debian package chromium)", CHROMIUM);
	dashboard_out_dir(dir, sizeof(dir));
	cr_assert(mkdtemp(prof));
	snprintf(url, sizeof(url), "file://%s", path);
	snprintf(dom_path, sizeof(dom_path), "%s/%s.html", dir, name);
	snprintf(log_path, sizeof(log_path), "%s/%s.log", dir, name);
	snprintf(png, sizeof(png), "%s/%s.png", dir, name);
	unlink(log_path);
	snprintf(extra, sizeof(extra), "> '%s'", dom_path);
	chromium(prof, "--window-size=1280,900 --dump-dom", url, extra, log_path);
	dom = file_text(dom_path);
	log = file_text(log_path);
	cr_assert(dom && log);
	cr_assert_eq(body_attr(dom, "data-errors"), 0, "page errors: %.600s", strstr(dom, "id=\"errors\""));
	cr_assert(!strstr(log, "Uncaught") && !strstr(log, ":ERROR:CONSOLE"), "console error, see %s", log_path);
	cr_assert_null(strstr(log, "net::ERR"), "the page tried the network, see %s", log_path);
	cr_assert_geq(body_attr(dom, "data-charts"), min_charts, "charts drawn, DOM in %s", dom_path);
	cr_assert_eq(body_attr(dom, "data-unavailable"), want_unavailable, "charts said unavailable");
	cr_assert_eq(count(dom, "class=\"unavailable\""), want_unavailable);
	cr_assert_eq(charts_with_points(dom), body_attr(dom, "data-charts"));
	/* uPlot draws on a canvas per chart */
	cr_assert_geq(count(dom, "<canvas"), body_attr(dom, "data-charts"), "no canvas: charts not drawn");
	free(log);
	snprintf(extra, sizeof(extra), "--hide-scrollbars --window-size=1280,4200 --screenshot='%s'", png);
	chromium(prof, extra, url, ">/dev/null", log_path);
	cr_assert_eq(stat(png, &st), 0);
	cr_assert_gt(st.st_size, 50000, "screenshot too small to hold charts");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", prof);
	cr_assert_eq(system(cmd), 0);
	return dom;
}
