/* The live dashboard in headless Chromium (Debian's chromium): waits until
 * the charts hold data, fails on any console error, saves a screenshot. */
#include "tests/lib/bg_avmm.h"
#include "tests/lib/dashboard.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int attr_int(const char *dom, const char *id, const char *attr)
{
	char pat[128];
	const char *p = dom;

	if (id) {
		snprintf(pat, sizeof(pat), "id=\"%s\"", id);
		p = strstr(dom, pat);
		if (!p)
			return -1;
		/* the attribute is in the same tag */
		while (p > dom && *p != '<')
			p--;
	}
	snprintf(pat, sizeof(pat), "%s=\"", attr);
	p = strstr(p, pat);
	return p ? atoi(p + strlen(pat)) : -1;
}

/* The value of attribute attr in the tag of element id, into out. */
static const char *attr_str(const char *dom, const char *id, const char *attr, char *out,
			    size_t len)
{
	char pat[128];
	const char *p, *end;

	snprintf(pat, sizeof(pat), "id=\"%s\"", id);
	p = strstr(dom, pat);
	out[0] = 0;
	if (!p)
		return out;
	while (p > dom && *p != '<')
		p--;
	end = strchr(p, '>');
	snprintf(pat, sizeof(pat), " %s=\"", attr);
	p = strstr(p, pat);
	if (p && (!end || p < end))
		snprintf(out, len, "%.*s", (int)strcspn(p + strlen(pat), "\""), p + strlen(pat));
	return out;
}

/* A chart's axes: >= 2 wall-clock labels (hh:mm or hh:mm:ss) on x, the
 * unit on every y label. */
static void check_axes(const char *dom, const char *id, const char *unit)
{
	char x[512], y[512], *tok, *save = NULL;
	int n = 0;

	attr_str(dom, id, "data-xlabels", x, sizeof(x));
	attr_str(dom, id, "data-ylabels", y, sizeof(y));
	for (tok = strtok_r(x, "|", &save); tok; tok = strtok_r(NULL, "|", &save), n++)
		cr_assert((strlen(tok) == 5 || strlen(tok) == 8) && tok[2] == ':',
			  "%s: x label '%s' is not a wall-clock time", id, tok);
	cr_assert_geq(n, 2, "%s: %d x-axis label(s), want several", id, n);
	cr_assert(y[0], "%s: no y-axis labels", id);
	save = NULL;
	for (tok = strtok_r(y, "|", &save); tok; tok = strtok_r(NULL, "|", &save))
		cr_assert(strstr(tok, unit), "%s: y label '%s' without its unit %s", id, tok, unit);
}

void dashboard_out_dir(char *dir, size_t len)
{
	const char *b = getenv("AVMM_BUILD");
	char cmd[600];

	snprintf(dir, len, "%s/test-output", b && *b ? b : "build");
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

void dashboard_check(int port, const char *dir, int nr_vcpus, int min_decisions)
{
	char cmd[2048], prof[] = "/tmp/tel-chromium-XXXXXX", dom_path[600], log_path[600],
		png[600];
	const char *flags = "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
		"--disable-background-networking --disable-component-update --disable-sync "
		"--disable-dev-shm-usage --enable-logging=stderr --v=0";
	char *dom, *log;
	struct stat st;

	cr_assert(mkdtemp(prof));
	snprintf(dom_path, sizeof(dom_path), "%s/dashboard-dom.html", dir);
	snprintf(log_path, sizeof(log_path), "%s/dashboard-console.log", dir);
	snprintf(png, sizeof(png), "%s/dashboard.png", dir);
	snprintf(cmd, sizeof(cmd), "timeout 90 %s %s --user-data-dir=%s --virtual-time-budget=5000 "
		 "--window-size=1280,900 --dump-dom http://127.0.0.1:%d/ > '%s' 2> '%s'",
		 CHROMIUM, flags, prof, port, dom_path, log_path);
	cr_assert_eq(system(cmd), 0, "chromium failed: see %s", log_path);
	dom = file_text(dom_path);
	log = file_text(log_path);
	cr_assert(dom && log);
	cr_assert(strstr(dom, "data-samples="), "no dashboard in the DOM: %.200s", dom);
	cr_assert_eq(attr_int(dom, NULL, "data-errors"), 0, "page errors: %s",
		     strstr(dom, "id=\"errors\""));
	cr_assert(!strstr(log, "Uncaught") && !strstr(log, ":ERROR:CONSOLE"),
		  "console error, see %s", log_path);
	cr_assert_geq(attr_int(dom, NULL, "data-samples"), 3);
	cr_assert_gt(attr_int(dom, "c-exits", "data-points"), 2, "exits chart empty");
	cr_assert_gt(attr_int(dom, "c-cpu", "data-points"), 2, "CPU chart empty");
	cr_assert_gt(attr_int(dom, "c-delay", "data-points"), 2, "run-delay chart empty");
	cr_assert_gt(attr_int(dom, "c-power", "data-points"), 2, "power chart empty");
	cr_assert_eq(attr_int(dom, "pcpu", "data-rows"), nr_vcpus, "vCPU->pCPU map");
	cr_assert_geq(attr_int(dom, NULL, "data-decisions"), min_decisions,
		       "decision timeline empty");
	cr_assert(strstr(dom, "hardware counters unavailable") || attr_int(dom, "c-ipc", "data-points") > 0,
		  "IPC chart neither has data nor says why");
	check_axes(dom, "c-exits", "/s");
	check_axes(dom, "c-cpu", "%");
	check_axes(dom, "c-delay", "%");
	check_axes(dom, "c-power", "W");
	if (min_decisions > 0) {
		cr_assert(strstr(dom, "class=\"marker\""), "no decision marker on the charts");
		cr_assert_geq(attr_int(dom, "c-cpu", "data-markers"), 1, "no decision marker on the "
			      "CPU chart");
	}
	free(dom);
	free(log);
	snprintf(cmd, sizeof(cmd), "timeout 90 %s %s --user-data-dir=%s --virtual-time-budget=5000 "
		 "--hide-scrollbars --window-size=1280,900 --screenshot='%s' http://127.0.0.1:%d/ "
		 ">/dev/null 2>>'%s'", CHROMIUM, flags, prof, png, port, log_path);
	cr_assert_eq(system(cmd), 0, "chromium screenshot failed: see %s", log_path);
	cr_assert_eq(stat(png, &st), 0);
	cr_assert_gt(st.st_size, 10000, "screenshot too small to hold charts");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", prof);
	cr_assert_eq(system(cmd), 0);
}

char *dashboard_dump(int port, const char *dom_path)
{
	char cmd[1024], prof[] = "/tmp/tel-chromium-XXXXXX";
	char *dom;

	cr_assert(mkdtemp(prof));
	snprintf(cmd, sizeof(cmd), "timeout 90 %s --headless --no-sandbox --disable-gpu "
		 "--no-first-run --disable-background-networking --disable-dev-shm-usage "
		 "--user-data-dir=%s --virtual-time-budget=3000 --window-size=1280,900 --dump-dom "
		 "http://127.0.0.1:%d/ > '%s' 2>/dev/null", CHROMIUM, prof, port, dom_path);
	cr_assert_eq(system(cmd), 0, "chromium failed on port %d", port);
	dom = file_text(dom_path);
	cr_assert(dom && strstr(dom, "data-samples="), "no dashboard in %s", dom_path);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", prof);
	cr_assert_eq(system(cmd), 0);
	return dom;
}
