/*
 * Integration: quiet ticks under the shipped `performance` profile. A real
 * `avmm run -v` of a compute guest, started on CPU 0 with nothing else
 * there, settles: the log says it went quiet and /metrics counts the probes.
 * Then a host hog starts on CPU 0: the next probe sees the vCPU's run delay
 * rise ("sampling now"; read from KVM's steal-time area where this KVM has
 * MSR filters) and the loop moves the vCPU to CPU 1 within a few seconds,
 * not at the next full sample. The same with a guest that keeps its own
 * steal-time area (as Linux does): the look reads that area in guest RAM.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "tests/lib/hog.h"
#include "tests/lib/bg_avmm.h"
#include "tests/lib/run_helpers.h"

static pid_t start(const char *log, const char *sock, const char *guest, const char *cmdline)
{
	pid_t pid = fork();

	if (pid == 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(0, &set);
		sched_setaffinity(0, sizeof(set), &set);
		if (!freopen(log, "w", stderr) || !freopen("/dev/null", "w", stdout))
			_exit(126);
		setenv("AVMM_PROFILE_DIR", "policies/profiles", 1);
		execl(build_path("avmm"), "avmm", "-v", "run", "--no-agent", "--socket", sock,
		      "--profile", "performance", build_path(guest), "--cmdline", cmdline,
		      (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* CPU cpu's busy share over the next second, from /proc/stat. */
static double cpu_busy_pct(int cpu)
{
	unsigned long long v[2][8] = { { 0 } };
	char want[16], line[256];

	snprintf(want, sizeof(want), "cpu%d ", cpu);
	for (int k = 0; k < 2; k++) {
		FILE *f = fopen("/proc/stat", "r");

		while (f && fgets(line, sizeof(line), f))
			if (!strncmp(line, want, strlen(want)))
				sscanf(line + strlen(want), "%llu %llu %llu %llu %llu %llu %llu %llu",
				       &v[k][0], &v[k][1], &v[k][2], &v[k][3], &v[k][4], &v[k][5],
				       &v[k][6], &v[k][7]);
		if (f)
			fclose(f);
		if (!k)
			util_sleep_ns(1000000000);
	}
	double all = 0, idle = (double)(v[1][3] + v[1][4]) - (double)(v[0][3] + v[0][4]);

	for (int i = 0; i < 8; i++)
		all += (double)v[1][i] - (double)v[0][i];
	return all > 0 ? 100.0 * (all - idle) / all : -1;
}

/* Waits up to ms for what to appear in the log; returns the log or NULL. */
static char *wait_log(const char *log, const char *what, int ms)
{
	char *text = NULL;

	for (int i = 0; i <= ms / 100; i++) {
		free(text);
		text = file_text(log);
		if (text && strstr(text, what))
			return text;
		util_sleep_ns(100000000);
	}
	free(text);
	return NULL;
}

static void steady_then_hog(const char *guest, const char *cmdline)
{
	char log[64], sock[64], *text = NULL, *quiet, *seen = NULL;
	double moved_s = 0;
	uint64_t t_hog;
	struct hog h;
	pid_t pid;
	int status;

	require_kvm();
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		cr_skip_test("needs 2 host CPUs to move a vCPU off a noisy one");
	snprintf(log, sizeof(log), "/tmp/avmm-quiet-%d.log", (int)getpid());
	snprintf(sock, sizeof(sock), "/tmp/avmm-quiet-%d.sock", (int)getpid());
	pid = start(log, sock, guest, cmdline);
	quiet = wait_log(log, "steady: a full sample every 30.0 s", 30000);
	if (quiet && !strstr(quiet, "decision coremap:")) {
		util_sleep_ns(1500000000);   /* a quiet tick or more */
		t_hog = util_now_ns();
		cr_assert_eq(hog_start(&h, 0), 0);
		seen = wait_log(log, "sampling now", 4000);
		text = wait_log(log, "decision coremap:", 8000);
		moved_s = (double)(util_now_ns() - t_hog) / 1e9;
		hog_stop(&h);
	}
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	cr_assert(quiet, "the loop never went quiet under performance in 30 s:\n%s", file_text(log));
	cr_assert_null(strstr(quiet, "decision coremap:"), "moved with no noise:\n%s", quiet);
	if (kvm_has_msr_filter())
		cr_assert(strstr(quiet, "(1 of 1 read from memory"), "the quiet look reads the "
			  "vCPU's steal-time area, with no system call:\n%s", quiet);
	cr_assert(seen, "no probe saw the hog within 4 s (a full sample comes every 30 s):\n%s",
		  file_text(log));
	if (!text && strstr(file_text(log), "held: no-better-core")) {
		double busy = cpu_busy_pct(1);

		if (busy > 25)
			cr_skip_test("the probe saw the hog, but cpu1 was %.0f%% busy with other work: "
				     "the loop rightly found no better core, so the move is unchecked",
				     busy);
	}
	cr_assert(text, "the vCPU was not moved off the hog's CPU within 8 s:\n%s", file_text(log));
	cr_assert(strstr(text, "cpu0->cpu1"), "%s", text);
	cr_log_info("moved %.2f s after the hog started", moved_s);
	free(quiet);
	free(seen);
	free(text);
	unlink(log);
}

Test(quiet, steady_run_goes_quiet_and_a_new_hog_is_left_within_seconds, .timeout = 120)
{
	steady_then_hog("guests/compute.elf", "secs=60");
}

Test(quiet, a_guest_with_its_own_steal_time_area_is_looked_at_there, .timeout = 120)
{
	steady_then_hog("guests/steal.elf", "n=10 ms=60000");
}
