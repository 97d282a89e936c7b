/*
 * Integration: `avmm ctl profile NAME` on a running avmm, and everything
 * shows the new profile: `avmm stat`, avmm_info{profile} and
 * avmm_telemetry_period_seconds (the new profile's period) in /metrics
 * (checked by promtool too), the dashboard header (headless Chromium), and
 * the profile column of the JSON-lines and CSV traces from the switch on.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "tests/lib/dashboard.h"
#include "tests/lib/httpget.h"
#include "tests/lib/promtool.h"
#include "tests/lib/run_helpers.h"

static char dir[] = "/tmp/avmm-profsw-XXXXXX";
static char sock[96], jsonl[96], csv[96], out[1 << 16];

/* A profile of our own: the shipped ones share their periods; this one
 * samples every 300 ms, steadily (no fast period). */
static void write_profile(void)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/uxslow.ini", dir);
	f = fopen(path, "w");
	cr_assert(f);
	fputs("[main]\nsummary = test: a steady 300 ms period\ninclude = performance\n\n"
	      "[goal]\nperiod_ms = 300\nfast_period_ms = 0\n", f);
	fclose(f);
	setenv("AVMM_PROFILE_DIR", dir, 1);
}

static pid_t start(int port)
{
	char addr[32];
	pid_t pid;
	int i;

	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		freopen("/dev/null", "w", stdout);
		execl(build_path("avmm"), "avmm", "run", "--metrics", addr, "--socket", sock,
		      "--trace", jsonl, "--trace", csv, "--profile", "balanced",
		      build_path("guests/compute.elf"), "--cmdline", "secs=40", (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 150 && access(sock, F_OK); i++)
		util_sleep_ns(20000000);
	cr_assert_eq(access(sock, F_OK), 0, "avmm did not open its control socket %s", sock);
	return pid;
}

/* /metrics once it names profile uxslow at its 300 ms period (within 5 s). */
static char *metrics_after_switch(int port)
{
	char *body = NULL;

	for (int i = 0; i < 50; i++) {
		free(body);
		body = NULL;
		util_sleep_ns(100000000);
		if (http_get(port, "/metrics", &body, NULL, 0) == 200 &&
		    strstr(body, "profile=\"uxslow\"} 1\n") &&
		    strstr(body, "avmm_telemetry_period_seconds{vm=\"avmm\"} 0.3\n"))
			break;
	}
	return body;
}

/* The profile column of the first and last records of a trace. */
static void trace_profiles(const char *path, const char *pat, char *first, char *last, size_t len)
{
	char line[1 << 14];
	FILE *f = fopen(path, "r");
	const char *p;

	cr_assert(f, "no trace %s", path);
	first[0] = last[0] = 0;
	while (fgets(line, sizeof(line), f)) {
		if (!(p = strstr(line, pat)))
			continue;
		p += strlen(pat);
		snprintf(last, len, "%.*s", (int)strcspn(p, "\""), p);
		if (!first[0])
			snprintf(first, len, "%s", last);
	}
	fclose(f);
}

Test(profile_switch, everything_shows_the_new_profile, .timeout = 240)
{
	int port = 20000 + (getpid() + 7) % 20000, st, status, rc;
	char first[64], last[64], path[600], odir[512], ptool[4096];
	char *body, *dom;
	pid_t pid;

	require_kvm();
	cr_assert(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/ctl.sock", dir);
	snprintf(jsonl, sizeof(jsonl), "%s/t.jsonl", dir);
	snprintf(csv, sizeof(csv), "%s/t.csv", dir);
	write_profile();
	pid = start(port);
	util_sleep_ns(1500000000);   /* samples under the first profile */
	st = run_avmm(out, sizeof(out), (const char *[]){ "ctl", "--socket", sock, "profile",
			 "uxslow", NULL });
	cr_assert_eq(st, 0, "%s", out);

	body = metrics_after_switch(port);
	cr_assert(body && strstr(body, "avmm_info{vm=\"avmm\",run_id=\""), "no /metrics");
	cr_assert(strstr(body, ",profile=\"uxslow\"} 1\n"), "avmm_info keeps the old profile:\n%s",
		  body);
	cr_assert(strstr(body, "avmm_telemetry_period_seconds{vm=\"avmm\"} 0.3\n"),
		  "the period is not the new profile's 300 ms:\n%s", body);
	rc = promtool_check(body, ptool, sizeof(ptool));
	cr_assert(rc == 0 || rc == -ENOENT, "promtool check metrics refuses /metrics (%d):\n%s",
		  rc, ptool);
	if (rc == -ENOENT)
		cr_log_warn("promtool check not run: %s", ptool);
	free(body);

	st = run_avmm(out, sizeof(out), (const char *[]){ "stat", "--socket", sock, "--once", NULL });
	cr_assert_eq(st, 0, "%s", out);
	cr_assert(strstr(out, "profile uxslow"), "avmm stat keeps the old profile:\n%s", out);
	cr_assert(strstr(out, "period 300 ms"), "avmm stat: not the new period:\n%s", out);

	if (access(CHROMIUM, X_OK) == 0) {
		dashboard_out_dir(odir, sizeof(odir));
		snprintf(path, sizeof(path), "%s/dashboard-profile-switch.html", odir);
		dom = dashboard_dump(port, path);
		cr_assert(strstr(dom, "id=\"profile\" data-profile=\"uxslow\">uxslow<"),
			  "the dashboard header keeps the old profile: %s", path);
		cr_assert(strstr(dom, "[profile] profile balanced -&gt; uxslow"),
			  "the switch is not on the decision list: %s", path);
		free(dom);
	} else {
		cr_log_warn("dashboard header not checked: no %s (Debian package chromium)", CHROMIUM);
	}

	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGTERM);
	trace_profiles(jsonl, "\"profile\":\"", first, last, sizeof(first));
	cr_assert_str_eq(first, "balanced");
	cr_assert_str_eq(last, "uxslow", "the JSON-lines trace keeps the old profile");
	trace_profiles(csv, "\",\"", first, last, sizeof(first));
	cr_assert_str_eq(first, "balanced");
	cr_assert_str_eq(last, "uxslow", "the CSV trace keeps the old profile");
	unlink(jsonl);
	unlink(csv);
	snprintf(path, sizeof(path), "%s/uxslow.ini", dir);
	unlink(path);
	rmdir(dir);
}
