/* start.c - C side of start-up: multiboot info, .bss, exit, memory allocator. */
#include "guest.h"

#define MB_BOOT_MAGIC 0x2BADB002u
#define MBI_FLAG_MEM (1u << 0)
#define MBI_FLAG_CMDLINE (1u << 2)
#define CMDLINE_MAX 1024
#define FALLBACK_MEM_TOP (16u << 20)

struct mb_info {
	u32 flags;
	u32 mem_lower;  /* KiB below 1 MiB */
	u32 mem_upper;  /* KiB from 1 MiB to the first hole */
	u32 boot_device;
	u32 cmdline;
};

extern char __bss_start[], __bss_end[], _end[];
void guest_start(u32 magic, u32 mbi_addr);

/* In .data so that zeroing .bss does not erase it. */
static char cmdline_buf[CMDLINE_MAX] __attribute__((section(".data"))) = { 1 };
static u32 mem_top_v __attribute__((section(".data"))) = 1;
static int mem_known __attribute__((section(".data"))) = 1;
static u32 alloc_next;
static u32 mbi_v __attribute__((section(".data"))) = 1;

void guest_exit_debug(u32 code)
{
	outl(GUEST_EXIT_PORT, code);
	for (;;)
		__asm__ volatile("cli; hlt");
}

/* Success: ACPI soft-off (S5) through PM1a control, as an OS shuts down; a
 * monitor without the PM block ignores the write and gets debug-exit 0.
 * avmm ends the VM on the write itself; QEMU only queues a shutdown request
 * for its main loop and lets the vCPU go on, so wait (port reads, one exit
 * each: well over 10 ms anywhere) before falling back, or the debug-exit
 * would win the race and QEMU would exit 1. */
void guest_exit(u32 code)
{
	if (code == 0) {
		outw(GUEST_PM1A_CNT, GUEST_SLP_TYP_S5 | GUEST_SLP_EN);
		for (u32 i = 0; i < 50000; i++)
			(void)inb(0x80);
	}
	guest_exit_debug(code);
}

void guest_fail(const char *name, const char *why)
{
	gprintf("AVMM-RESULT guest=%s ok=0 error=%s\n", name, why);
	guest_exit(1);
}

void *galloc(u32 bytes, u32 align)
{
	u32 a = align ? align : 16;
	u32 p = (alloc_next + a - 1) & ~(a - 1);

	if (p < alloc_next || p + bytes < p || p + bytes > mem_top_v)
		return NULL;
	alloc_next = p + bytes;
	return (void *)p;
}

u32 galloc_top(void) { return alloc_next; }
u32 mem_top(void) { return mem_top_v; }
int mem_top_known(void) { return mem_known; }
u32 mb_info(void) { return mbi_v; }

void guest_start(u32 magic, u32 mbi_addr)
{
	const struct mb_info *mbi = (const struct mb_info *)mbi_addr;
	u32 i = 0;

	/* Copy what we need from the loader's info before touching memory. */
	cmdline_buf[0] = 0;
	if (magic == MB_BOOT_MAGIC && (mbi->flags & MBI_FLAG_CMDLINE) && mbi->cmdline) {
		const char *s = (const char *)mbi->cmdline;
		for (; i < CMDLINE_MAX - 1 && s[i]; i++)
			cmdline_buf[i] = s[i];
	}
	cmdline_buf[i] = 0;
	mbi_v = magic == MB_BOOT_MAGIC ? mbi_addr : 0;
	mem_known = magic == MB_BOOT_MAGIC && (mbi->flags & MBI_FLAG_MEM);
	mem_top_v = mem_known ? 0x100000u + mbi->mem_upper * 1024u : FALLBACK_MEM_TOP;
	if (mem_top_v > 0xFEC00000u) /* stay below the IOAPIC/LAPIC window */
		mem_top_v = 0xFEC00000u;

	memset(__bss_start, 0, (u32)(__bss_end - __bss_start));
	alloc_next = (u32)_end;

	if (magic != MB_BOOT_MAGIC) {
		gprintf("guest: bad multiboot magic 0x%x in EAX (want 0x2badb002): "
			"load this kernel with a Multiboot v1 loader\n", magic);
		guest_fail("unknown", "bad-multiboot-magic");
	}
	guest_exit((u32)main(cmdline_buf));
}
