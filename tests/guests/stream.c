/* stream - STREAM triad a[i] = b[i] + s * c[i] over three arrays of size= bytes.
 *
 * Elements are 8 bytes. By default they are 64-bit integers (s = 3): on hosts
 * where KVM runs guest code through its instruction emulator, x87 arithmetic is
 * not emulated and faults the VM. fp=1 uses x87 doubles, as STREAM does (for
 * hosts with VT-x/AMD-V, or QEMU TCG). The memory traffic is the same.
 * size= bytes per array (default 64K), reps= repetitions (default 4).
 * Bytes moved per repetition: 3 * size (two reads, one write), as STREAM counts.
 * Every element of a is checked after the last repetition (inject_error=1 flips
 * one element first, to test that a mismatch gives ok=0 and exit code 1).
 * Result: size, reps, elem (u64|double), bytes (per repetition), cycles (best
 * repetition), ns, mbps (10^6 bytes/s, best) and mbps_avg (when the TSC rate is
 * known), ok. */
#include "guest.h"

static void triad_u64(u64 *a, const u64 *b, const u64 *c, u32 n)
{
	u32 i;

	for (i = 0; i < n; i++)
		a[i] = b[i] + 3 * c[i];
}

static void triad_fp(double *a, const double *b, const double *c, double s, u32 n)
{
	u32 i;

	for (i = 0; i < n; i++)
		a[i] = b[i] + s * c[i];
}

static void init_fp(double *a, double *b, double *c, u32 n)
{
	u32 i;

	for (i = 0; i < n; i++) {
		a[i] = 0.0;
		b[i] = (double)(i & 1023);
		c[i] = 2.0;
	}
}

static u32 check_fp(const double *a, u32 n)
{
	u32 i, wrong = 0;

	for (i = 0; i < n; i++)
		if (a[i] != (double)(i & 1023) + 6.0)
			wrong++;
	return wrong;
}

int main(const char *cmdline)
{
	int bad = 0;
	u64 size = param_u64(cmdline, "size", 64 << 10, &bad);
	u32 reps = (u32)param_u64(cmdline, "reps", 4, &bad);
	int fp = param_u64(cmdline, "fp", 0, &bad) != 0;
	int inject = param_u64(cmdline, "inject_error", 0, &bad) != 0;
	u64 *a, *b, *c;
	u64 t0, t, best = ~0ull, total = 0, bytes;
	u32 n, i, r, wrong = 0;
	char hz[32], extra[96] = "";

	if (bad || reps == 0 || size < 8 || size > 0x40000000ull)
		guest_fail("stream", "bad-parameter");
	n = (u32)(size / 8);
	a = galloc(n * 8, 64);
	b = galloc(n * 8, 64);
	c = galloc(n * 8, 64);
	if (!a || !b || !c) {
		gprintf("stream: 3 arrays of %llu bytes do not fit below 0x%x: lower size= "
			"or give the guest more memory\n", size, mem_top());
		guest_fail("stream", "out-of-memory");
	}
	tsc_hz(cmdline);
	if (fp) {
		init_fp((double *)a, (double *)b, (double *)c, n);
	} else {
		for (i = 0; i < n; i++) {
			a[i] = 0;
			b[i] = i & 1023;
			c[i] = 2;
		}
	}
	for (r = 0; r < reps; r++) {
		t0 = rdtsc();
		if (fp)
			triad_fp((double *)a, (const double *)b, (const double *)c, 3.0, n);
		else
			triad_u64(a, b, c, n);
		t = rdtsc() - t0;
		total += t;
		if (t < best)
			best = t;
	}
	if (inject && n)
		a[n / 2] ^= 1; /* test hook: the check below must catch this */
	if (fp)
		wrong = check_fp((const double *)a, n);
	else
		for (i = 0; i < n; i++)
			if (a[i] != (u64)(i & 1023) + 6)
				wrong++;
	bytes = 3ull * n * 8;
	if (tsc_hz_cached()) {
		u64 ns_best = cycles_to_ns(best), ns_total = cycles_to_ns(total);

		char m1[32], m2[32];

		gsnprintf(extra, sizeof(extra), " ns=%llu mbps=%s mbps_avg=%s", ns_best,
			  fmt_ratio(m1, bytes * 1000, ns_best),
			  fmt_ratio(m2, bytes * reps * 1000, ns_total));
	}
	gprintf("stream: triad over 3 x %u bytes of %s, %u reps, %u wrong elements\n",
		n * 8, fp ? "double" : "u64", reps, wrong);
	gprintf("AVMM-RESULT guest=stream size=%u reps=%u elem=%s bytes=%llu cycles=%llu%s %s ok=%d%s\n",
		n * 8, reps, fp ? "double" : "u64", bytes, best, extra, fmt_tsc_hz(hz), wrong == 0,
		wrong ? " error=verify-mismatch" : "");
	return wrong ? 1 : 0;
}
