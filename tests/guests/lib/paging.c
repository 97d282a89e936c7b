/* paging.c - identity paging with 4 KiB pages, three ways:
 *   lm  - IA-32e 4-level paging, staying in 32-bit compatibility mode (CR4.PAE,
 *         EFER.LME, CR0.PG with the 32-bit code segment): the default, because it
 *         is what every x86-64 host runs, including KVM without VT-x (kvm-pvm),
 *         which refuses legacy 32-bit paging with #GP;
 *   pae - 32-bit PAE paging (3 levels);
 *   2l  - classic 2-level 32-bit paging.
 * lm and pae use 64-bit entries; paging_pte() returns the low word. */
#include "guest.h"

#define CR0_PG 0x80000000u
#define CR4_PAE 0x20u
#define MSR_EFER 0xC0000080u
#define EFER_LME 0x100u

static int mode = PAGING_LM;
static void *top;      /* CR3 target: PML4, PDPT or page directory */
static u64 *pd64[4];   /* lm/pae: one page directory per GiB */
static u32 mapped_end;

static u32 round_up(u32 v, u32 a) { return (v + a - 1) & ~(a - 1); }
static u32 read_cr4(void) { u32 v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
static void write_cr4(u32 v) { __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory"); }

void paging_set_mode(int m) { mode = m; }
int paging_mode(void) { return mode; }

const char *paging_mode_name(int m)
{
	return m == PAGING_LM ? "lm" : m == PAGING_PAE ? "pae" : m == PAGING_2L ? "2l" : "off";
}

int paging_mode_from_cmdline(const char *cmdline)
{
	char v[8];

	if (!param_str(cmdline, "pgmode", v, sizeof(v)))
		return PAGING_LM;
	if (!memcmp(v, "lm", 3))
		return PAGING_LM;
	if (!memcmp(v, "pae", 4))
		return PAGING_PAE;
	if (!memcmp(v, "2l", 3))
		return PAGING_2L;
	if (!memcmp(v, "off", 4))
		return PAGING_OFF;
	return -1;
}

/* Allocates a zeroed table page. */
static void *table_alloc(void)
{
	void *p = galloc(PAGE_SIZE, PAGE_SIZE);

	if (p)
		memset(p, 0, PAGE_SIZE);
	return p;
}

static int build_upper(u32 end)
{
	u64 *pdpt;
	u32 i;

	top = table_alloc();
	if (!top)
		return -1;
	if (mode == PAGING_2L)
		return 0;
	pdpt = top;
	if (mode == PAGING_LM) {
		pdpt = table_alloc();
		if (!pdpt)
			return -1;
		((u64 *)top)[0] = (u32)pdpt | PTE_P | PTE_W;
	}
	for (i = 0; i < 4 && (u64)i * 0x40000000u < end; i++) {
		pd64[i] = table_alloc();
		if (!pd64[i])
			return -1;
		/* Legacy-PAE PDPTEs have no R/W bit (reserved). */
		pdpt[i] = (u32)pd64[i] | PTE_P | (mode == PAGING_LM ? PTE_W : 0);
	}
	return 0;
}

int paging_identity_on(u32 extra_bytes)
{
	u32 span = mode == PAGING_2L ? (4u << 20) : (2u << 20);
	u32 per = mode == PAGING_2L ? 1024 : 512;
	u32 end, ntab, t, i;

	if (mode == PAGING_OFF)
		return 0;
	/* Page tables come from galloc too: size the map so it covers them. */
	end = round_up(galloc_top() + extra_bytes, span);
	for (;;) {
		ntab = end / span;
		if (round_up(galloc_top() + extra_bytes + (ntab + 8) * PAGE_SIZE, span) <= end)
			break;
		end += span;
	}
	if (end > round_up(mem_top(), span))
		end = round_up(mem_top(), span);
	if (build_upper(end))
		return -1;
	for (t = 0; t < end / span; t++) {
		void *pt = table_alloc();

		if (!pt)
			return -1;
		for (i = 0; i < per; i++) {
			u32 pa = t * span + i * PAGE_SIZE;

			if (mode == PAGING_2L)
				((u32 *)pt)[i] = pa | PTE_P | PTE_W;
			else
				((u64 *)pt)[i] = pa | PTE_P | PTE_W;
		}
		if (mode == PAGING_2L)
			((u32 *)top)[t] = (u32)pt | PTE_P | PTE_W;
		else
			pd64[t / 512][t % 512] = (u32)pt | PTE_P | PTE_W;
	}
	mapped_end = end;
	if (mode != PAGING_2L)
		write_cr4(read_cr4() | CR4_PAE);
	write_cr3((u32)top);
	if (mode == PAGING_LM) {
		u32 lo, hi;

		__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(MSR_EFER));
		__asm__ volatile("wrmsr" : : "a"(lo | EFER_LME), "d"(hi), "c"(MSR_EFER));
	}
	write_cr0(read_cr0() | CR0_PG);
	return 0;
}

volatile u32 *paging_pte(u32 va)
{
	void *pt;

	if (!top)
		return NULL;
	if (mode != PAGING_2L) {
		u64 *pd = pd64[va >> 30], *pde;

		if (!pd)
			return NULL;
		pde = &pd[(va >> 21) & 511];
		if (!(*pde & PTE_P)) {
			pt = table_alloc();
			if (!pt || (u32)pt + PAGE_SIZE > mapped_end)
				return NULL;
			*pde = (u32)pt | PTE_P | PTE_W;
		}
		return (volatile u32 *)&((u64 *)(u32)(*pde & ~0xfffull))[(va >> 12) & 511];
	} else {
		u32 *pde = &((u32 *)top)[va >> 22];

		if (!(*pde & PTE_P)) {
			pt = table_alloc();
			if (!pt || (u32)pt + PAGE_SIZE > mapped_end)
				return NULL;
			*pde = (u32)pt | PTE_P | PTE_W;
		}
		return &((u32 *)(*pde & ~0xfffu))[(va >> 12) & 1023];
	}
}

u32 paging_mapped_end(void) { return mapped_end; }
