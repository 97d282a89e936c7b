/* Integration: a fixed-strategy profile's placement holds before the guest's
 * first instruction (real KVM, real pinning): each vCPU thread logs, at -v -v,
 * the CPU it enters the guest on and the CPUs it may use; the trace's first
 * record is the "initial placement" decision, before the first sample. */
#include <criterion/criterion.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	cr_assert_eq(st, 1, "avmm exit %d:\n%s", st, out);
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
