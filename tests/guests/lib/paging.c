/* paging.c - 2-level 32-bit paging with 4 KiB pages, identity mapped. */
#include "guest.h"

#define PT_SPAN (4u << 20)

static u32 *pd;
static u32 mapped_end;

static u32 round_up(u32 v, u32 a) { return (v + a - 1) & ~(a - 1); }

int paging_identity_on(u32 extra_bytes)
{
	u32 end, ntab, va, i, t;
	u32 *pt;

	/* Page tables come from galloc too: size the map so it covers them. */
	end = round_up(galloc_top() + extra_bytes, PT_SPAN);
	for (;;) {
		ntab = end / PT_SPAN;
		if (round_up(galloc_top() + extra_bytes + (ntab + 1) * PAGE_SIZE + PAGE_SIZE,
			     PT_SPAN) <= end)
			break;
		end += PT_SPAN;
	}
	if (end > mem_top())
		end = round_up(mem_top(), PT_SPAN);
	pd = galloc(PAGE_SIZE, PAGE_SIZE);
	if (!pd)
		return -1;
	memset(pd, 0, PAGE_SIZE);
	for (t = 0; t < end / PT_SPAN; t++) {
		pt = galloc(PAGE_SIZE, PAGE_SIZE);
		if (!pt)
			return -1;
		for (i = 0; i < 1024; i++) {
			va = t * PT_SPAN + i * PAGE_SIZE;
			pt[i] = va | PTE_P | PTE_W;
		}
		pd[t] = (u32)pt | PTE_P | PTE_W;
	}
	mapped_end = end;
	write_cr3((u32)pd);
	write_cr0(read_cr0() | 0x80000000u);
	return 0;
}

volatile u32 *paging_pte(u32 va)
{
	u32 di = va >> 22, ti = (va >> 12) & 1023;
	u32 *pt;

	if (!pd)
		return NULL;
	if (!(pd[di] & PTE_P)) {
		pt = galloc(PAGE_SIZE, PAGE_SIZE);
		if (!pt || (u32)pt + PAGE_SIZE > mapped_end)
			return NULL;
		memset(pt, 0, PAGE_SIZE);
		pd[di] = (u32)pt | PTE_P | PTE_W;
	}
	pt = (u32 *)(pd[di] & ~0xfffu);
	return &pt[ti];
}

u32 paging_mapped_end(void) { return mapped_end; }
