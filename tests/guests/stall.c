/* stall - the longest pause the guest sees while it keeps touching its memory.
 *
 * Fills a working set of size= bytes (default 8M; one word per 4 KiB page, so
 * the host populates every page), prints "stall: ready", then for ms= (default
 * 1500; needs a known TSC rate, else n= iterations, default 200000) visits
 * the pages one 2 MiB range after the other (page k of range 0, of range 1,
 * ..., then page k+1), so every range is touched every few iterations: each
 * iteration checks the page's signature word, writes a second word and
 * timestamps itself with rdtsc. The longest gap between two
 * iterations is what the guest felt of the host's work meanwhile (e.g. the
 * monitor collapsing its memory into 2 MiB pages). Every page is checked again
 * at the end (error=verify-mismatch when one changed).
 * Result: size pages iters max_gap_cycles mean_gap_cycles [max_gap_ns
 * mean_gap_ns] tsc_hz ok. */
#include "guest.h"

#define SIG(p) (0xa5a50000u ^ (p) * 2654435761u)

int main(const char *cmdline)
{
	int bad = 0;
	u64 size = param_u64(cmdline, "size", 8 << 20, &bad);
	u64 ms = param_u64(cmdline, "ms", 1500, &bad);
	u64 n = param_u64(cmdline, "n", 200000, &bad);
	u32 pages, p, k, nr, wrong = 0, words = PAGE_SIZE / 4, per = (2u << 20) / PAGE_SIZE;
	u64 hz, t, last, t0, until, gap, max_gap = 0, iters = 0;
	char hzs[32], r[32], ns[96] = "";
	volatile u32 *ws;

	if (bad || size < PAGE_SIZE || size > 0x40000000ull)
		guest_fail("stall", "bad-parameter");
	pages = (u32)(size / PAGE_SIZE);
	ws = galloc(pages * PAGE_SIZE, PAGE_SIZE);
	if (!ws) {
		gprintf("stall: %llu bytes do not fit below 0x%x: lower size= or give the guest "
			"more memory\n", size, mem_top());
		guest_fail("stall", "out-of-memory");
	}
	hz = tsc_hz(cmdline);
	for (p = 0; p < pages; p++)
		ws[p * words] = SIG(p);
	gprintf("stall: ready, %u pages\n", pages);
	until = hz && param_present(cmdline, "n") == 0 ? muldiv64(ms, hz, 1000) : 0;
	nr = pages / per ? pages / per : 1;
	t0 = last = rdtsc();
	for (k = 0;; k = k + 1 == nr * per ? 0 : k + 1) {
		p = (k % nr) * per + (k / nr) % per;
		if (p >= pages)
			continue;
		if (ws[p * words] != SIG(p))
			wrong++;
		ws[p * words + 1] = (u32)iters;
		t = rdtsc();
		gap = t - last;
		if (gap > max_gap)
			max_gap = gap;
		last = t;
		iters++;
		if (until ? t - t0 >= until : iters >= n)
			break;
	}
	for (p = 0; p < pages; p++)
		wrong += ws[p * words] != SIG(p);
	if (hz)
		gsnprintf(ns, sizeof(ns), " max_gap_ns=%llu mean_gap_ns=%s", cycles_to_ns(max_gap),
			  fmt_ratio(r, cycles_to_ns(last - t0), iters));
	gprintf("AVMM-RESULT guest=stall size=%u pages=%u iters=%llu max_gap_cycles=%llu "
		"mean_gap_cycles=%llu%s %s ok=%d%s\n", pages * PAGE_SIZE, pages, iters, max_gap,
		udiv64(last - t0, iters), ns, fmt_tsc_hz(hzs), wrong == 0,
		wrong ? " error=verify-mismatch" : "");
	return wrong ? 1 : 0;
}
