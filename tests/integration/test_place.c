/* Integration: a fixed-strategy profile's placement holds before the guest's
 * first instruction (real KVM, real pinning): each vCPU thread logs, at -v -v,
 * the CPU it enters the guest on and the CPUs it may use; the trace's first
 * record is the "initial placement" decision, before the first sample. */
#include <criterion/criterion.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "tests/lib/run_helpers.h"

static char out[1 << 16];

static int last_cpu(void)
{
	cpu_set_t set;
	int c;

	cr_assert_eq(sched_getaffinity(0, sizeof(set), &set), 0);
	for (c = CPU_SETSIZE - 1; c > 0 && !CPU_ISSET(c, &set); c--)
		;
	return c;
}

/* Runs the hello guest under a profile given as INI text; returns the trace. */
static char *run_with(const char *profile_text, char *profile, char *trace)
{
	FILE *f;
	char *text;
	long n;
	int fd, st;

	fd = mkstemps(profile, 4);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, profile_text, strlen(profile_text)), (ssize_t)strlen(profile_text));
	close(fd);
	close(mkstemps(trace, 6));
	st = run_avmm(out, sizeof(out), (const char *[]){ "-v", "-v", "run", "--socket", "",
			 "--profile", profile, "--trace", trace, build_path("guests/hello.elf"), NULL });
	unlink(profile);
	cr_assert_eq(st, 0, "avmm exit %d:\n%s", st, out);
	f = fopen(trace, "r");
	cr_assert_not_null(f, "no trace %s", trace);
	text = calloc(1, 1 << 20);
	n = (long)fread(text, 1, (1 << 20) - 1, f);
	fclose(f);
	unlink(trace);
	cr_assert_gt(n, 0);
	return text;
}

Test(place, explicit_pin_holds_before_the_first_instruction)
{
	char profile[] = "/tmp/avmm-place-XXXXXX.ini", trace[] = "/tmp/avmm-place-XXXXXX.jsonl";
	char ini[256], want[96];
	int cpu = last_cpu();
	char *tr, *first;

	require_kvm();
	snprintf(ini, sizeof(ini), "[main]\ninclude = static\n[coremap]\nenabled = yes\n"
		 "strategy = explicit\nexplicit_map = %d\n", cpu);
	tr = run_with(ini, profile, trace);
	/* the vCPU thread's first KVM_RUN: on that CPU, allowed only that one */
	snprintf(want, sizeof(want), "vcpu0: enters the guest on cpu%d (allowed CPUs %d)", cpu, cpu);
	cr_assert_not_null(strstr(out, want), "no '%s' in:\n%s", want, out);
	/* the decision, first in the trace, applied, before the first sample */
	first = strstr(tr, "\"type\":\"decision\"");
	cr_assert_not_null(first, "no decision in the trace:\n%s", tr);
	cr_assert(!strstr(tr, "\"type\":\"sample\"") || strstr(tr, "\"type\":\"sample\"") > first,
		  "a sample came before the placement:\n%s", tr);
	snprintf(want, sizeof(want), "initial placement: vcpu0->cpu%d\"", cpu);
	cr_assert_not_null(strstr(tr, want), "no '%s' in:\n%s", want, tr);
	cr_assert_null(strstr(tr, "failed"), "%s", tr);
	cr_assert_null(strstr(tr, "\"apply_ns\":0,"), "not applied:\n%s", tr);
	free(tr);
}

Test(place, pack_is_fixed_too)
{
	char profile[] = "/tmp/avmm-place-XXXXXX.ini", trace[] = "/tmp/avmm-place-XXXXXX.jsonl";
	char *tr, *p;
	int a = -1, b = -2;

	require_kvm();
	tr = run_with("[main]\ninclude = static\n[coremap]\nenabled = yes\nstrategy = pack\n",
		      profile, trace);
	p = strstr(out, "vcpu0: enters the guest on cpu");
	cr_assert_not_null(p, "%s", out);
	cr_assert_eq(sscanf(p, "vcpu0: enters the guest on cpu%d (allowed CPUs %d)", &a, &b), 2, "%s", p);
	cr_assert_eq(a, b, "%s", p);
	/* one CPU allowed, no list */
	cr_assert_null(memchr(p, ',', (size_t)(strchr(p, ')') - p)), "pinned to several CPUs: %s", p);
	cr_assert_not_null(strstr(tr, "initial placement: vcpu0->cpu"), "%s", tr);
	free(tr);
}

/* Allowed CPUs of pid's avmm-vcpu0 thread ("0-1", "1"), "" before it exists. */
static void vcpu0_allowed(pid_t pid, char *buf, size_t len)
{
	char path[128], text[4096], *p;
	FILE *f;

	*buf = '\0';
	for (int tid = pid; tid < pid + 64; tid++) {
		snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", pid, tid);
		if (!(f = fopen(path, "r")))
			continue;
		p = fgets(text, sizeof(text), f);
		fclose(f);
		if (!p || strcmp(text, "avmm-vcpu0\n"))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
		if (!(f = fopen(path, "r")))
			return;
		text[fread(text, 1, sizeof(text) - 1, f)] = '\0';
		fclose(f);
		if ((p = strstr(text, "Cpus_allowed_list:\t")))
			snprintf(buf, len, "%.*s", (int)strcspn(p + 19, "\n"), p + 19);
		return;
	}
}

/* avmm ctl profile FILE with a fixed map on a running avmm: pinned at the
 * next tick, within static's 1 s period (its confirm_ticks, 3, would take
 * 2 to 3 s). */
Test(place, ctl_switch_to_a_fixed_profile_pins_at_the_next_tick, .timeout = 40)
{
	char sock[64], profile[] = "/tmp/avmm-place-XXXXXX.ini", ini[256], allowed[64] = "", want[16];
	int cpu = last_cpu(), st, fd, status;
	uint64_t t0, dt = 0;
	pid_t pid;

	require_kvm();
	if (geteuid())
		cr_skip_test("avmm ctl takes a profile path only from root");
	snprintf(sock, sizeof(sock), "/tmp/avmm-place-%d.sock", (int)getpid());
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		freopen("/dev/null", "w", stdout);
		execl(build_path("avmm"), "avmm", "run", "--socket", sock, "--profile", "static",
		      build_path("guests/compute.elf"), "--cmdline", "secs=20", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100 && access(sock, F_OK); i++)
		usleep(20000);
	cr_assert_eq(access(sock, F_OK), 0, "no control socket %s", sock);
	usleep(300000);
	vcpu0_allowed(pid, allowed, sizeof(allowed));
	snprintf(want, sizeof(want), "%d", cpu);
	cr_assert_str_neq(allowed, want, "pinned before the switch");
	snprintf(ini, sizeof(ini), "[main]\ninclude = static\n[coremap]\nenabled = yes\n"
		 "strategy = explicit\nexplicit_map = %d\n", cpu);
	fd = mkstemps(profile, 4);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, ini, strlen(ini)), (ssize_t)strlen(ini));
	close(fd);
	st = run_avmm(out, sizeof(out), (const char *[]){ "ctl", "--socket", sock, "profile",
			 profile, NULL });
	t0 = util_now_ns();
	unlink(profile);
	cr_assert_eq(st, 0, "%s", out);
	while (util_now_ns() - t0 < 5000000000ull) {
		vcpu0_allowed(pid, allowed, sizeof(allowed));
		dt = util_now_ns() - t0;
		if (!strcmp(allowed, want))
			break;
		usleep(20000);
	}
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	cr_assert_str_eq(allowed, want, "not pinned to CPU %d 5 s after the switch", cpu);
	cr_assert_lt(dt, 1800000000ull, "pinned %.2f s after the switch: it waited for confirm "
		     "ticks", dt / 1e9);
}
