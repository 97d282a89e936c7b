/* pcdev - the PC platform devices from inside a guest: the CMOS/RTC date,
 * the ACPI PM timer, the PCI host bridge through configuration mechanism #1,
 * the HPET's counter and one HPET interrupt through the IOAPIC.
 *
 * RTC: waits for UIP to clear, reads seconds..year and the century byte in
 * the form register B says (BCD or binary, 12/24 h); the date must be sane
 * (year >= min_year=, default 2024). PM timer (port pm_tmr=, default 0x608):
 * must advance; with a known TSC rate its rate over ~20 ms must be within a
 * factor of two of 3.579545 MHz. PCI: 00:00.0 must read 8086:1237 with class
 * 06.00.00, 00:1f.7 must be absent (vendor 0xffff). HPET (0xfed00000):
 * revision, timers and period read from its capabilities; the counter must
 * advance once enabled. Interrupt (irq=1, default): timer 2 in one-shot,
 * edge mode, routed to the lowest IOAPIC pin its route capability offers,
 * vector 0x40 to this CPU's local APIC; PIT channel 0 is stopped first (QEMU
 * wires it to IOAPIC pin 2 too). Waits up to spins= (2000000) loop turns.
 * The handler drops the interrupt frame and jumps back into the wait loop
 * (no iret: the emulator of some hosts lacks it, see hello.c).
 *
 * Result: year month day pm_ticks [pm_hz] pci hpet_rev hpet_timers
 * hpet_period_fs hpet_ticks [hpet_pin hpet_irqs] ok.
 * end=s5: after the result line, power off through ACPI (PM1a control at
 * pm_cnt=, default 0x604: SLP_TYP 0 = S5, SLP_EN) whatever the result (the
 * monitor exits with 0; without end=, success powers off at 0x604 through the
 * guest library and a failure writes 1 to the debug-exit port); end=reset:
 * CMOS shutdown status 0x0a, then the reset control register 0xcf9. */
#include "guest.h"

#define HPET_BASE 0xfed00000u
#define IOAPIC_BASE 0xfec00000u
#define LAPIC_BASE 0xfee00000u
#define VECTOR 0x40

static u64 idt[256];
volatile u32 hpet_irqs;

__asm__(".text\n"
	"irq_wait:\n"
	"	movl 4(%esp), %ecx\n"
	"irq_check:\n"
	"	cmpl $0, hpet_irqs\n"
	"	jne 1f\n"
	"	sti\n"
	"	nop\n"
	"	cli\n"
	"	decl %ecx\n"
	"	jnz irq_check\n"
	"1:	movl hpet_irqs, %eax\n"
	"	ret\n"
	"hpet_isr:\n"
	"	addl $12, %esp\n"
	"	incl hpet_irqs\n"
	"	movl $0, 0xfee000b0\n"          /* local APIC EOI */
	"	jmp irq_check\n"
	"other_isr:\n"
	"	addl $12, %esp\n"
	"	jmp irq_check\n");
u32 irq_wait(u32 spins);
extern char hpet_isr[], other_isr[];

static inline u32 inl(u16 port)
{
	u32 v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline u32 rd32(u32 a) { return *(volatile u32 *)a; }
static inline void wr32(u32 a, u32 v) { *(volatile u32 *)a = v; }

static u8 cmos(u8 reg)
{
	outb(0x70, reg);
	return inb(0x71);
}

static u32 bcd(u8 v, u8 reg_b) { return reg_b & 4 ? v : (u32)(v >> 4) * 10 + (v & 15); }

static u32 pci_read(u32 dev, u32 fn, u32 reg)
{
	outl(0xcf8, 0x80000000u | dev << 11 | fn << 8 | reg);
	return inl(0xcfc);
}

static u64 hpet_counter(void)
{
	u32 hi, lo;

	do {
		hi = rd32(HPET_BASE + 0xf4);
		lo = rd32(HPET_BASE + 0xf0);
	} while (hi != rd32(HPET_BASE + 0xf4));
	return (u64)hi << 32 | lo;
}

static u64 gate(void *handler)
{
	u32 off = (u32)handler;

	return (u64)(off & 0xffffu) | (0x08ull << 16) | (0x8eull << 40) | ((u64)(off >> 16) << 48);
}

static void ioapic_write(u32 reg, u32 val)
{
	wr32(IOAPIC_BASE, reg);
	wr32(IOAPIC_BASE + 0x10, val);
}

/* Timer 2, one shot in ~1 ms, on the lowest pin of its route capability. */
static u32 hpet_interrupt(u32 spins, u32 period_fs, u32 *pin_out)
{
	struct { u16 limit; u32 base; } __attribute__((packed)) desc = { sizeof(idt) - 1, (u32)idt };
	u32 cap = rd32(HPET_BASE + 0x144), pin = 0, i, apic_id;

	if (!cap)
		return 0;
	while (!(cap & (1u << pin)))
		pin++;
	*pin_out = pin;
	for (i = 0; i < 256; i++)
		idt[i] = gate(other_isr);
	idt[VECTOR] = gate(hpet_isr);
	__asm__ volatile("lidt %0" : : "m"(desc));
	outb(0x21, 0xff);                          /* PICs masked */
	outb(0xa1, 0xff);
	outb(0x43, 0x30);                          /* PIT 0: mode 0, no count: stopped */
	wr32(LAPIC_BASE + 0xf0, 0x1ff);            /* APIC on, spurious vector 0xff */
	wr32(LAPIC_BASE + 0x80, 0);                /* TPR 0 */
	apic_id = rd32(LAPIC_BASE + 0x20) >> 24;
	ioapic_write(0x11 + 2 * pin, apic_id << 24);
	ioapic_write(0x10 + 2 * pin, VECTOR);      /* fixed, physical, edge, high, unmasked */
	wr32(HPET_BASE + 0x140, (pin << 9) | 4);   /* edge, interrupt on, one shot, 64-bit */
	wr32(HPET_BASE + 0x148 + 4, 0);
	wr32(HPET_BASE + 0x148, (u32)hpet_counter() + (u32)(1000000000000ull / period_fs));
	i = irq_wait(spins);
	wr32(HPET_BASE + 0x140, 0);
	ioapic_write(0x10 + 2 * pin, 0x10000);     /* masked again */
	return i;
}

int main(const char *cmdline)
{
	u32 min_year = (u32)param_u64(cmdline, "min_year", 2024, 0);
	u32 spins = (u32)param_u64(cmdline, "spins", 2000000, 0);
	u16 pm_port = (u16)param_u64(cmdline, "pm_tmr", 0x608, 0);
	int want_irq = (int)param_u64(cmdline, "irq", 1, 0);
	u32 i, b, year, mon, day, hour, min, sec, pm0, pm1, id, pin = 0, irqs = 0;
	u32 rev, timers, period_fs;
	u64 hz = tsc_hz(cmdline), c0, c1, t0;
	char pm_hz[40] = "", irq_text[64] = "", how[8] = "";
	const char *err = 0;

	/* RTC */
	for (i = 0; i < 100000 && (cmos(0x0a) & 0x80); i++)
		cpu_relax();
	b = cmos(0x0b);
	sec = bcd(cmos(0x00), (u8)b);
	min = bcd(cmos(0x02), (u8)b);
	hour = cmos(0x04);
	hour = (b & 2) ? bcd((u8)hour, (u8)b) : bcd(hour & 0x7f, (u8)b) % 12 + (hour & 0x80 ? 12 : 0);
	day = bcd(cmos(0x07), (u8)b);
	mon = bcd(cmos(0x08), (u8)b);
	year = bcd(cmos(0x32), (u8)b) * 100 + bcd(cmos(0x09), (u8)b);
	gprintf("rtc: %u-%02u-%02u %02u:%02u:%02u UTC (register B 0x%x)\n", year, mon, day, hour,
		min, sec, b);
	if (year < min_year || mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 ||
	    min > 59 || sec > 59)
		err = "rtc-date";

	/* PM timer */
	pm0 = inl(pm_port) & 0xffffff;
	for (i = 0; i < 100000 && (inl(pm_port) & 0xffffff) == pm0; i++)
		cpu_relax();
	pm1 = inl(pm_port) & 0xffffff;
	if (pm1 == pm0 && !err)
		err = "pm-timer-stuck";
	if (hz) {
		t0 = rdtsc();
		pm0 = inl(pm_port);
		udelay_tsc(20000);
		pm1 = inl(pm_port);
		c0 = muldiv64((pm1 - pm0) & 0xffffff, hz, rdtsc() - t0);
		gsnprintf(pm_hz, sizeof(pm_hz), " pm_hz=%llu", (unsigned long long)c0);
		if ((c0 < 3579545 / 2 || c0 > 3579545 * 2) && !err)
			err = "pm-timer-rate";
	}
	gprintf("pm timer: %u ticks%s\n", (pm1 - pm0) & 0xffffff, pm_hz);

	/* PCI */
	id = pci_read(0, 0, 0);
	gprintf("pci 00:00.0: %04x:%04x class %06x; 00:1f.7: %08x\n", id & 0xffff, id >> 16,
		pci_read(0, 0, 8) >> 8, pci_read(31, 7, 0));
	if ((id != 0x12378086u || pci_read(0, 0, 8) >> 8 != 0x060000u) && !err)
		err = "pci-host-bridge";
	if ((pci_read(31, 7, 0) & 0xffff) != 0xffff && !err)
		err = "pci-absent-device";

	/* HPET */
	rev = rd32(HPET_BASE) & 0xff;
	timers = ((rd32(HPET_BASE) >> 8) & 0x1f) + 1;
	period_fs = rd32(HPET_BASE + 4);
	wr32(HPET_BASE + 0x10, 1);
	c0 = hpet_counter();
	for (i = 0; i < 100000 && hpet_counter() == c0; i++)
		cpu_relax();
	c1 = hpet_counter();
	gprintf("hpet: rev %u, %u timers, period %u fs, counter %llu -> %llu\n", rev, timers,
		period_fs, (unsigned long long)c0, (unsigned long long)c1);
	if ((rev == 0 || timers < 3 || period_fs == 0 || period_fs > 100000000u) && !err)
		err = "hpet-capabilities";
	if (c1 == c0 && !err)
		err = "hpet-counter-stuck";
	if (want_irq && !err) {
		irqs = hpet_interrupt(spins, period_fs, &pin);
		gsnprintf(irq_text, sizeof(irq_text), " hpet_pin=%u hpet_irqs=%u", pin, irqs);
		gprintf("hpet: timer 2 on IOAPIC pin %u: %u interrupt(s)\n", pin, irqs);
		if (!irqs)
			err = "hpet-no-interrupt";
	}
	wr32(HPET_BASE + 0x10, 0);

	gprintf("AVMM-RESULT guest=pcdev year=%u month=%u day=%u pm_ticks=%u%s pci=%04x:%04x "
		"hpet_rev=%u hpet_timers=%u hpet_period_fs=%u hpet_ticks=%llu%s ok=%d%s%s\n",
		year, mon, day, (pm1 - pm0) & 0xffffff, pm_hz, id & 0xffff, id >> 16, rev, timers,
		period_fs, (unsigned long long)(c1 - c0), irq_text, !err, err ? " error=" : "",
		err ? err : "");
	param_str(cmdline, "end", how, sizeof(how));
	if (!memcmp(how, "s5", 3)) {
		outw((u16)param_u64(cmdline, "pm_cnt", 0x604, 0), 0x2000);
	} else if (!memcmp(how, "reset", 6)) {
		outb(0x70, 0x0f);
		outb(0x71, 0x0a);
		outb(0xcf9, 0x06);
	}
	return err ? 1 : 0;
}
