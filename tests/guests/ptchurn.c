/* ptchurn - map, touch and unmap guest pages with paging on: under shadow paging
 * every step is a paging exit (write-protected PTE write, invlpg, page fault).
 *
 * One op: write the PTE of a window page (present, writable, pointing at one of
 * frames= physical pages), invlpg, store a value through the new mapping, check it
 * through the identity map of the frame, clear the PTE, invlpg.
 * n= ops (default 2000), pages= window size in pages (default 64), frames= pool of
 * physical pages (default 16), pgmode=lm|pae|2l (default lm, see paging.c).
 * A value not seen through the identity map gives ok=0 and exit code 1.
 * Result: n, pages, frames, cycles, cycles_per_op, ns_per_op (when the TSC rate is
 * known), pgmode, ok. */
#include "guest.h"

#define MAX_PAGES 1024u

static volatile u32 *ptes[MAX_PAGES];

int main(const char *cmdline)
{
	int bad = 0;
	u32 n = (u32)param_u64(cmdline, "n", 2000, &bad);
	u32 pages = (u32)param_u64(cmdline, "pages", 64, &bad);
	u32 nframes = (u32)param_u64(cmdline, "frames", 16, &bad);
	int mode = paging_mode_from_cmdline(cmdline);
	char hz[32], r1[32], r2[32], ns[48] = "";
	u32 i, base, wrong = 0, frames;
	u64 t0, cyc;

	if (bad || mode <= 0 || pages == 0 || pages > MAX_PAGES || nframes == 0)
		guest_fail("ptchurn", "bad-parameter");
	frames = (u32)galloc(nframes * PAGE_SIZE, PAGE_SIZE);
	if (!frames)
		guest_fail("ptchurn", "out-of-memory");
	tsc_hz(cmdline);
	paging_set_mode(mode);
	if (paging_identity_on(1 << 20))
		guest_fail("ptchurn", "page-tables-do-not-fit");
	/* The window lies above the identity map, so it starts unmapped. */
	base = ((paging_mapped_end() + (4u << 20) - 1) & ~((4u << 20) - 1)) + (4u << 20);
	for (i = 0; i < pages; i++) {
		ptes[i] = paging_pte(base + i * PAGE_SIZE);
		if (!ptes[i]) {
			gprintf("ptchurn: no page table for 0x%x (%s paging)\n", base + i * PAGE_SIZE,
				paging_mode_name(mode));
			guest_fail("ptchurn", "window-unmappable");
		}
		*ptes[i] = 0;
	}

	t0 = rdtsc();
	for (i = 0; i < n; i++) {
		u32 slot = i % pages;
		u32 frame = frames + (i % nframes) * PAGE_SIZE;
		volatile u32 *va = (volatile u32 *)(base + slot * PAGE_SIZE);
		u32 val = i * 2654435761u + 1;

		*ptes[slot] = frame | PTE_P | PTE_W;
		invlpg(va);
		va[i & 1023] = val;
		if (((volatile u32 *)frame)[i & 1023] != val)
			wrong++;
		*ptes[slot] = 0;
		invlpg(va);
	}
	cyc = rdtsc() - t0;
	if (tsc_hz_cached())
		gsnprintf(ns, sizeof(ns), " ns_per_op=%s", fmt_ratio(r2, cycles_to_ns(cyc), n));
	gprintf("ptchurn: %u map/touch/unmap ops over %u pages at 0x%x, %u frames, %u wrong\n",
		n, pages, base, nframes, wrong);
	gprintf("AVMM-RESULT guest=ptchurn n=%u pages=%u frames=%u cycles=%llu cycles_per_op=%s%s "
		"pgmode=%s %s ok=%d%s\n", n, pages, nframes, cyc, fmt_ratio(r1, cyc, n ? n : 1), ns,
		paging_mode_name(mode), fmt_tsc_hz(hz), wrong == 0,
		wrong ? " error=mapping-mismatch" : "");
	return wrong ? 1 : 0;
}
