/* pio-loop - n= port writes (outb) to port= (default 0x80): one VM exit each.
 * Result: n, cycles, cycles_per_exit, ns_per_exit (when the TSC rate is known). */
#include "guest.h"

int main(const char *cmdline)
{
	int bad = 0;
	u32 n = (u32)param_u64(cmdline, "n", 10000, &bad);
	u16 port = (u16)param_u64(cmdline, "port", 0x80, &bad);
	char hz[32], r1[32], r2[32], ns[48] = "";
	u64 t0, t1, cyc;
	u32 i;

	if (bad)
		guest_fail("pio-loop", "bad-parameter");
	tsc_hz(cmdline);
	t0 = rdtsc();
	for (i = 0; i < n; i++)
		outb(port, (u8)i);
	t1 = rdtsc();
	cyc = t1 - t0;
	if (tsc_hz_cached())
		gsnprintf(ns, sizeof(ns), " ns_per_exit=%s", fmt_ratio(r2, cycles_to_ns(cyc), n));
	gprintf("pio-loop: %u writes to port 0x%x\n", n, port);
	gprintf("AVMM-RESULT guest=pio-loop n=%u port=0x%x cycles=%llu cycles_per_exit=%s%s %s ok=1\n",
		n, port, cyc, fmt_ratio(r1, cyc, n), ns, fmt_tsc_hz(hz));
	return 0;
}
