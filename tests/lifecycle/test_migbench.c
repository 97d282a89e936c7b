/* bench/migrate once (one repetition, a 32 MiB memwrite guest): avmm→avmm
 * and QEMU→QEMU over TCP on 127.0.0.1 both migrate the running guest, both
 * targets finish it with ok=1, and the figure lines are there with figures
 * that are numbers (a ratio of two measured times, bytes at least what the
 * guest wrote). Skips without /dev/kvm or qemu-system-x86_64. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench_util.h"
#include "tests/lib/run_helpers.h"

#define GUEST_BYTES (8u << 20)

static double key(const char *line, const char *k)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "%s=", k);
	p = strstr(line, pat);
	cr_assert(p, "no %s= on the last line: %s", k, line);
	return strtod(p + strlen(pat), NULL);
}

Test(migbench, one_repetition_both_monitors, .timeout = 300)
{
	static char out[1 << 16];
	char cmdline[64], want[64];
	const char *bin = build_path("bench/migrate");
	char *const argv[] = { (char *)bin, "-n", "1", "-m", "32M", "-c", cmdline, "-w", "2",
			       "-t", "120", NULL };
	char *last, *med;
	int rc;

	require_kvm();
	if (system("command -v qemu-system-x86_64 >/dev/null 2>&1"))
		cr_skip_test("qemu-system-x86_64 is not installed (Debian: qemu-system-x86)");
	cr_assert_eq(access(bin, X_OK), 0, "%s missing: make %s", bin, bin);
	snprintf(cmdline, sizeof(cmdline), "bytes=%u stride=4096 passes=10", GUEST_BYTES);
	setenv("AVMM_BUILD", build_path(""), 0);
	rc = bench_exec(argv, out, sizeof(out));
	cr_assert_eq(rc, 0, "bench/migrate exit status %d:\n%s", rc, out);
	cr_assert(strstr(out, "run 1 avmm: total ") && strstr(out, "run 1 qemu: total "),
		  "a figure line per monitor:\n%s", out);
	cr_assert(strstr(out, "downtime_ms "), "avmm's downtime budget is printed:\n%s", out);
	snprintf(want, sizeof(want), "qemu: downtime-limit %ld ms, max-bandwidth",
		 strtol(strstr(out, "downtime_ms ") + 12, NULL, 10));
	cr_assert(strstr(out, want), "QEMU gets avmm's downtime budget (%s):\n%s", want, out);
	med = strstr(out, "medians: ");
	cr_assert(med, "a medians line:\n%s", out);
	last = strstr(out, "avmm_total_ms=");
	cr_assert(last && last > med, "the key=value line comes last:\n%s", out);
	cr_assert_eq(key(last, "avmm_ok"), 1, "the avmm target's guest ended ok=1:\n%s", out);
	cr_assert_eq(key(last, "qemu_ok"), 1, "the QEMU target's guest ended ok=1:\n%s", out);
	cr_assert(strstr(strstr(out, "run 1 avmm:"), "guest ok=1") &&
		  strstr(strstr(out, "run 1 qemu:"), "guest ok=1"), "%s", out);
	cr_assert_gt(key(last, "avmm_total_ms"), 0);
	cr_assert_gt(key(last, "qemu_total_ms"), 0);
	cr_assert_geq(key(last, "avmm_total_ms"), key(last, "avmm_downtime_ms"),
		      "downtime is part of the total: %s", last);
	cr_assert(isfinite(key(last, "total_ratio")) && key(last, "total_ratio") > 0, "%s", last);
	cr_assert(isfinite(key(last, "downtime_ratio")), "%s", last);
	/* both moved at least the pages the guest wrote */
	cr_assert_geq(strtod(strstr(strstr(out, "run 1 avmm:"), "pre-copy rounds, ") + 17, NULL),
		      GUEST_BYTES, "%s", out);
	cr_assert_geq(strtod(strstr(strstr(out, "run 1 qemu:"), "syncs, ") + 7, NULL),
		      GUEST_BYTES, "%s", out);
}
