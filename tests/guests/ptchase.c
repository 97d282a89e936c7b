/* ptchase - pointer chase over a random single-cycle permutation, with paging on
 * (identity map, 4 KiB pages): TLB-heavy.
 *
 * size= working set in bytes (default 2M), stride= bytes between slots (default
 * 4096: one hop per page; 64 for one hop per cache line), n= timed hops (default
 * 20000), seed= PRNG seed, pgmode=lm|pae|2l|off (default lm: 4-level paging in
 * 32-bit compatibility mode; off chases with paging off, for comparison).
 * The chain is built with Sattolo's algorithm; an untimed pass of one full cycle
 * touches every slot and checks that the chain returns to its start after exactly
 * size/stride hops (ok=0 and exit 1 otherwise).
 * Result: size, stride, slots, hops, cycles, cycles_per_hop, ns_per_hop (when the
 * TSC rate is known), pgmode, ok. */
#include "guest.h"

int main(const char *cmdline)
{
	int bad = 0;
	u64 size = param_u64(cmdline, "size", 2 << 20, &bad);
	u32 stride = (u32)param_u64(cmdline, "stride", 4096, &bad);
	u32 n = (u32)param_u64(cmdline, "n", 20000, &bad);
	u32 seed = (u32)param_u64(cmdline, "seed", 12345, &bad);
	int mode = paging_mode_from_cmdline(cmdline);
	char hz[32], r1[32], r2[32], ns[48] = "";
	u32 slots, i, j, tmp, *perm, len;
	u8 *ws;
	void **p, **start;
	u64 t0, cyc;

	if (bad || mode < 0 || stride < sizeof(void *) || (stride & (stride - 1)) || size > 0x40000000ull ||
	    size / stride < 2)
		guest_fail("ptchase", "bad-parameter");
	slots = (u32)(size / stride);
	ws = galloc(slots * stride, 4096);
	perm = galloc(slots * sizeof(u32), 16);
	if (!ws || !perm) {
		gprintf("ptchase: working set of %llu bytes does not fit below 0x%x: lower "
			"size= or give the guest more memory\n", size, mem_top());
		guest_fail("ptchase", "out-of-memory");
	}
	if (!seed)
		seed = 1;
	/* Sattolo: i -> perm[i] is one cycle through all slots. */
	for (i = 0; i < slots; i++)
		perm[i] = i;
	for (i = slots - 1; i > 0; i--) {
		j = xorshift32(&seed) % i;
		tmp = perm[i];
		perm[i] = perm[j];
		perm[j] = tmp;
	}
	for (i = 0; i < slots; i++)
		*(void **)(ws + i * stride) = ws + perm[i] * stride;
	tsc_hz(cmdline);
	paging_set_mode(mode);
	if (paging_identity_on(1 << 20))
		guest_fail("ptchase", "page-tables-do-not-fit");

	/* Untimed full cycle: touches every slot (fills TLB/shadow entries) and
	 * checks the chain. */
	start = p = (void **)ws;
	len = 0;
	do {
		p = (void **)*p;
		len++;
	} while (p != start && len <= slots);
	if (len != slots) {
		gprintf("ptchase: chain length %u, want %u\n", len, slots);
		guest_fail("ptchase", "chain-broken");
	}

	t0 = rdtsc();
	for (i = 0; i < n; i++)
		p = (void **)*p;
	cyc = rdtsc() - t0;
	if (tsc_hz_cached())
		gsnprintf(ns, sizeof(ns), " ns_per_hop=%s", fmt_ratio(r2, cycles_to_ns(cyc), n));
	gprintf("ptchase: %u hops over %u slots of %u bytes (pgmode %s), end at %p\n", n, slots,
		stride, paging_mode_name(mode), (void *)p);
	gprintf("AVMM-RESULT guest=ptchase size=%u stride=%u slots=%u hops=%u cycles=%llu "
		"cycles_per_hop=%s%s pgmode=%s %s ok=1\n",
		slots * stride, stride, slots, n, cyc, fmt_ratio(r1, cyc, n), ns, paging_mode_name(mode),
		fmt_tsc_hz(hz));
	return 0;
}
