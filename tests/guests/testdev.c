/* testdev - QEMU's pc-testdev from inside (avmm run --testdev; QEMU
 * -device pc-testdev): the scratch register at 0xe0 (32/16/8-bit lanes, and
 * a byte per port at 0xe8), the MMIO RAM at 0xff000000 (1, 2 and 4 bytes),
 * the page-flush port 0xe4 on a page of the guest's own (its contents must
 * survive), and IRQ line 5 through port 0x2005, seen in the 8259's IRR (the
 * line is masked: nothing is delivered).
 * Result: reg mmio flush irq ok; error=no-testdev when 0xe0 is not there. */
#include "guest.h"

#define TD_PORT 0xe0
#define TD_FLUSH 0xe4
#define TD_BYTES 0xe8
#define TD_IRQ 0x2000
#define TD_MMIO 0xff000000u
#define TD_LINE 5

static inline u16 inw(u16 port)
{
	u16 v;
	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline u32 inl(u16 port)
{
	u32 v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static const char *check_reg(void)
{
	u32 v;

	outl(TD_PORT, 0x12345678u);
	v = inl(TD_PORT);
	if (v == 0xffffffffu)
		return "no-testdev";
	if (v != 0x12345678u)
		return "reg-readback";
	if (inw(TD_PORT + 2) != 0x1234 || inb(TD_PORT + 1) != 0x56)
		return "reg-lanes";
	outb(TD_BYTES + 3, 0xab);
	outw(TD_PORT, 0xbeef);
	if (inl(TD_PORT) != 0xab34beefu || inb(TD_BYTES) != 0xef)
		return "reg-bytes";
	return NULL;
}

static const char *check_mmio(void)
{
	volatile u32 *w = (volatile u32 *)TD_MMIO;
	volatile u16 *h = (volatile u16 *)TD_MMIO;
	volatile u8 *b = (volatile u8 *)TD_MMIO;

	w[0] = 0x11223344u;
	w[1] = 0x55667788u;
	if (w[0] != 0x11223344u || w[1] != 0x55667788u)
		return "mmio-word";
	if (h[1] != 0x1122 || b[4] != 0x88)
		return "mmio-narrow";
	b[0x3fff] = 0x5a;
	h[0x1000] = 0xcafe;
	if (b[0x3fff] != 0x5a || h[0x1000] != 0xcafe || b[0x2000] != 0xfe)
		return "mmio-offsets";
	return NULL;
}

static const char *check_flush(void)
{
	u32 *page = galloc(PAGE_SIZE, PAGE_SIZE), i;

	if (!page)
		return "no-memory";
	for (i = 0; i < PAGE_SIZE / 4; i++)
		page[i] = i * 2654435761u;
	outl(TD_FLUSH, (u32)page + 0x123);
	for (i = 0; i < PAGE_SIZE / 4; i++)
		if (page[i] != i * 2654435761u)
			return "flush-lost-data";
	page[7] = 7; /* writable again */
	return page[7] == 7 ? NULL : "flush-not-writable";
}

static const char *check_irq(void)
{
	u8 irr;

	outb(0x21, 0xff);          /* every 8259 line masked */
	outb(TD_IRQ + TD_LINE, 1);
	outb(0x20, 0x0a);          /* OCW3: read IRR */
	irr = inb(0x20);
	outb(TD_IRQ + TD_LINE, 0);
	return irr & (1u << TD_LINE) ? NULL : "irq-not-raised";
}

int main(const char *cmdline)
{
	const char *err = check_reg();

	(void)cmdline;

	if (!err)
		err = check_mmio();
	if (!err)
		err = check_flush();
	if (!err)
		err = check_irq();
	if (err) {
		gprintf("AVMM-RESULT guest=testdev ok=0 error=%s\n", err);
		return 1;
	}
	gprintf("AVMM-RESULT guest=testdev reg=ok mmio=ok flush=ok irq=ok ok=1\n");
	return 0;
}
