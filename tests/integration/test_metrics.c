/*
 * Integration: `avmm run --metrics` under host noise. The avmm process starts
 * pinned to CPU 0 where a host hog runs; the adaptive profile's loop must move
 * the vCPU away, and the metrics and the dashboard must show the run and the
 * decision (headless Chromium; screenshot under $AVMM_BUILD/test-output).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "tests/lib/hog.h"
#include "tests/lib/dashboard.h"
#include "tests/lib/promtool.h"
#include "tests/lib/run_helpers.h"

/* Allowed CPUs of the avmm-vcpu0 thread of pid, e.g. "1", from procfs. */
static void vcpu0_allowed(pid_t pid, char *out, size_t len)
{
	char path[128], buf[4096];
	const char *p;

	*out = '\0';
	for (int tid = pid; tid < pid + 64; tid++) {
		snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", pid, tid);
		if (util_read_file(NULL, path, buf, sizeof(buf)) <= 0 || strcmp(buf, "avmm-vcpu0\n"))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
		if (util_read_file(NULL, path, buf, sizeof(buf)) > 0 &&
		    (p = strstr(buf, "Cpus_allowed_list:")))
			snprintf(out, len, "%.*s", (int)strcspn(p + 19, "\n"), p + 19);
		return;
	}
}

/* GET path from 127.0.0.1:port into buf; returns the body or NULL. */
static char *http_get(int port, const char *path, char *buf, size_t len)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	size_t have = 0;
	ssize_t n;
	char req[128];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (void *)&a, sizeof(a))) {
		close(fd);
		return NULL;
	}
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
	if (write(fd, req, strlen(req)) < 0)
		have = 0;
	while (have + 1 < len && (n = read(fd, buf + have, len - have - 1)) > 0)
		have += n;
	buf[have] = '\0';
	close(fd);
	return strstr(buf, "\r\n\r\n");
}

static pid_t start_pinned_avmm(int port, const char *sock)
{
	char addr[32];
	pid_t pid;

	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	pid = fork();
	if (pid == 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(0, &set);
		sched_setaffinity(0, sizeof(set), &set); /* the vCPU starts on the hog's CPU */
		freopen("/dev/null", "w", stdout);
		execl(build_path("avmm"), "avmm", "run", "--metrics", addr, "--socket", sock,
		      "--profile", "policies/experiments/profiles/coremap-noise-adaptive.ini",
		      build_path("guests/compute.elf"), "--cmdline", "secs=30", (char *)NULL);
		_exit(127);
	}
	return pid;
}

Test(metrics, noisy_core_is_left_and_everything_is_exported, .timeout = 240)
{
	static char buf[1 << 18];
	char sock[64], dir[512], allowed[64];
	int port = 20000 + getpid() % 20000, status, i;
	struct hog h;
	char *body = NULL;
	pid_t pid;

	require_kvm();
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		cr_skip_test("needs 2 host CPUs to move a vCPU off a noisy one");
	snprintf(sock, sizeof(sock), "/tmp/avmm-metrics-%d.sock", (int)getpid());
	cr_assert_eq(hog_start(&h, 0), 0);
	pid = start_pinned_avmm(port, sock);
	for (i = 0; i < 200; i++) { /* the loop's move: a decision counted in /metrics */
		util_sleep_ns(100000000);
		body = http_get(port, "/metrics", buf, sizeof(buf));
		if (body && strstr(body, "avmm_decisions_total{vm=\"avmm\",kind=\"coremap\"}"))
			break;
	}
	cr_assert(body, "no metrics served on port %d", port);
	cr_assert(strstr(body, "avmm_decisions_total{vm=\"avmm\",kind=\"coremap\"}"),
		  "the loop did not move the vCPU off the hog's CPU within 20 s:\n%s", body);
	vcpu0_allowed(pid, allowed, sizeof(allowed));
	cr_assert_str_eq(allowed, "1", "the vCPU thread must now be pinned to CPU 1, away from "
			 "the hog on CPU 0 (allowed: '%s')", allowed);
	cr_assert(strstr(body, "avmm_source_up{vm=\"avmm\",source=\"kvm\"} 1"), "%s", body);
	cr_assert(strstr(body, "avmm_source_up{vm=\"avmm\",source=\"perf\"}"), "%s", body);
	if (access("/sys/class/powercap", F_OK))
		cr_assert(strstr(body, "estimated=\"true\""), "RAPL is absent: energy must be "
			  "labelled estimated:\n%s", body);
	cr_assert(strstr(body, "avmm_vcpu_energy_joules_total{vm=\"avmm\",vcpu=\"0\""), "%s", body);
	/* Prometheus's own checker on what a real run serves (the body after
	 * the HTTP header) */
	static char ptool[4096];
	int rc = promtool_check(body + 4, ptool, sizeof(ptool));
	cr_assert(rc == 0 || rc == -ENOENT, "promtool check metrics refuses /metrics (%d):\n%s",
		  rc, ptool);
	if (rc == -ENOENT)
		cr_log_warn("promtool check not run: %s", ptool);
	hog_stop(&h);
	if (access(CHROMIUM, X_OK) == 0) {
		dashboard_out_dir(dir, sizeof(dir));
		dashboard_check(port, dir, 1, 1);
	}
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGTERM);
	if (access(CHROMIUM, X_OK))
		cr_skip_test("metrics checked; no %s (Debian package chromium) for the dashboard",
			     CHROMIUM);
}
