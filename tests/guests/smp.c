/* smp - counts the CPUs in the Intel MP table, starts the APs with INIT-SIPI-SIPI
 * through the local APIC (real-mode trampoline copied to 0x8000, switching to
 * protected mode with our GDT), and has every vCPU (BSP included) run a loop of n=
 * iterations and print `AVMM-RESULT guest=smp cpu=<apic id> loop=<n> cycles=<c>`.
 * The CPU list comes from the ACPI MADT when there is one (QEMU), else from the
 * MP table (avmm, SeaBIOS with one CPU per socket).
 * The BSP then waits for all and prints `AVMM-RESULT guest=smp cpus=<N> ...
 * ok=1`.
 * n= loop iterations per vCPU (default 20000), timeout_ms= how long to wait for an
 * AP to check in and for all to finish (default 5000), expect= CPU count that
 * must be found (optional), src=auto|madt|mp (default auto: MADT, else MP table).
 * An AP that does not check in, a count other than
 * expect=, or more CPUs than MAX_CPUS give ok=0 and exit code 1. Without an MP
 * table the guest runs on the BSP alone and reports src=none.
 * write= bytes (default 0): before its loop each vCPU stores one word per 4 KiB
 * page of its own range [write_at + id * write_step, + write) (id: its APIC
 * id; write_at= default 16M, write_step= default write), for the monitor's
 * per-vCPU written-page tests. */
#include "guest.h"

#define MAX_CPUS 16
#define AP_STACK 8192
#define TRAMP_ADDR 0x8000u
#define LAPIC_DEFAULT 0xFEE00000u
#define LAPIC_ID 0x20
#define LAPIC_SVR 0xF0
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define ICR_INIT 0x00004500u     /* INIT, level assert */
#define ICR_SIPI 0x00004600u     /* start-up, level assert; | vector */
#define ICR_BUSY (1u << 12)

void ap_main(void);
extern char ap_tramp_start[], ap_tramp_end[], _end[];

u8 ap_stacks[MAX_CPUS][AP_STACK] __attribute__((aligned(16)));
volatile u32 ap_next_slot;
static volatile u32 checked_in, done_count;
static u32 loop_n;
static u32 write_at, write_bytes, write_step;
static u32 lapic = LAPIC_DEFAULT;

/* AP start: real mode at 0x0800:0000, load our GDT, protected mode, far jump to
 * ap_entry32 (absolute, above 1 MiB). Each AP takes a stack slot with lock xadd. */
__asm__(
	".pushsection .text\n"
	".code16\n"
	".globl ap_tramp_start\n"
	"ap_tramp_start:\n"
	"	cli\n"
	"	cld\n"
	"	lgdtl %cs:(ap_tramp_gdtr - ap_tramp_start)\n"
	"	movl %cr0, %eax\n"
	"	andl $0x9fffffff, %eax\n" /* caches on: clear CD, NW */
	"	orl $1, %eax\n"
	"	movl %eax, %cr0\n"
	"	ljmpl $0x08, $ap_entry32\n"
	"	.balign 4\n"
	"ap_tramp_gdtr:\n"
	"	.word 23\n"
	"	.long gdt\n"
	".globl ap_tramp_end\n"
	"ap_tramp_end:\n"
	".code32\n"
	"ap_entry32:\n"
	"	movw $0x10, %ax\n"
	"	movw %ax, %ds\n"
	"	movw %ax, %es\n"
	"	movw %ax, %fs\n"
	"	movw %ax, %gs\n"
	"	movw %ax, %ss\n"
	"	movl $1, %eax\n"
	"	lock xaddl %eax, ap_next_slot\n"
	"	incl %eax\n"
	"	shll $13, %eax\n" /* * AP_STACK */
	"	addl $ap_stacks, %eax\n"
	"	movl %eax, %esp\n"
	"	call fpu_on\n"
	"	call ap_main\n"
	"1:	cli\n"
	"	hlt\n"
	"	jmp 1b\n"
	".popsection\n");

static u32 lapic_read(u32 reg) { return *(volatile u32 *)(lapic + reg); }
static void lapic_write(u32 reg, u32 v) { *(volatile u32 *)(lapic + reg) = v; }
static u32 lapic_id(void) { return lapic_read(LAPIC_ID) >> 24; }

static void atomic_inc(volatile u32 *p) { __asm__ volatile("lock incl %0" : "+m"(*p) : : "memory"); }

static u64 run_loop(void)
{
	u32 x = 88172645u, i;
	u64 t0 = rdtsc();

	for (i = 0; i < loop_n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
	}
	__asm__ volatile("" : : "r"(x));
	return rdtsc() - t0;
}

/* Each vCPU's own range, one store per page. */
static void write_range(u32 id)
{
	u32 base = write_at + id * write_step, off;

	for (off = 0; off < write_bytes; off += 4096)
		*(volatile u32 *)(base + off) = id ^ off;
}

static void report_cpu(void)
{
	u32 id = lapic_id();
	u64 c;

	write_range(id);
	c = run_loop();

	gprintf("AVMM-RESULT guest=smp cpu=%u loop=%u cycles=%llu\n", id, loop_n, c);
}

void ap_main(void)
{
	atomic_inc(&checked_in);
	report_cpu();
	atomic_inc(&done_count);
}

/* ---- MP table ---- */
/* BIOS data area word (an asm load: GCC warns about constant addresses in
 * page 0). */
static u32 bda_u16(u32 addr)
{
	u16 v;

	__asm__ volatile("movw (%1), %0" : "=r"(v) : "r"(addr));
	return v;
}

static int checksum_ok(const u8 *p, u32 len)
{
	u8 s = 0;
	u32 i;

	for (i = 0; i < len; i++)
		s += p[i];
	return s == 0;
}

static const u8 *mp_scan(u32 start, u32 len)
{
	u32 a;

	for (a = start; a + 16 <= start + len; a += 16) {
		const u8 *p = (const u8 *)a;

		if (p[0] == '_' && p[1] == 'M' && p[2] == 'P' && p[3] == '_' && p[8] &&
		    checksum_ok(p, p[8] * 16u))
			return p;
	}
	return NULL;
}

/* Fills ids[] with the APIC IDs of the enabled processors; returns the count,
 * 0 when there is no MP table. */
static u32 mp_cpus(u32 *ids, u32 max, int *too_many)
{
	u32 ebda = bda_u16(0x40E) << 4;
	u32 basemem = bda_u16(0x413) * 1024u;
	const u8 *fp = NULL, *ct, *e;
	u32 n = 0, i, count;

	if (ebda >= 0x80000 && ebda < 0xA0000)
		fp = mp_scan(ebda, 1024);
	if (!fp && basemem >= 0x80000 && basemem <= 0xA0000)
		fp = mp_scan(basemem - 1024, 1024);
	if (!fp)
		fp = mp_scan(0xF0000, 0x10000);
	if (!fp)
		return 0;
	if (fp[11]) { /* default configuration: two processors, APIC IDs 0 and 1 */
		ids[0] = 0;
		ids[1] = 1;
		return 2;
	}
	ct = (const u8 *)*(const u32 *)(fp + 4);
	if (!ct || ct[0] != 'P' || ct[1] != 'C' || ct[2] != 'M' || ct[3] != 'P' ||
	    !checksum_ok(ct, *(const u16 *)(ct + 4)))
		return 0;
	if (*(const u32 *)(ct + 36))
		lapic = *(const u32 *)(ct + 36);
	count = *(const u16 *)(ct + 34);
	e = ct + 44;
	for (i = 0; i < count; i++) {
		if (e[0] == 0) {
			if (e[3] & 1) {
				if (n < max)
					ids[n] = e[1];
				else
					*too_many = 1;
				n++;
			}
			e += 20;
		} else if (e[0] <= 4) {
			e += 8;
		} else {
			break;
		}
	}
	return n;
}

/* ---- ACPI MADT ---- */
static const u8 *rsdp_scan(u32 start, u32 len)
{
	u32 a;

	for (a = start; a + 20 <= start + len; a += 16) {
		const u8 *p = (const u8 *)a;

		if (!memcmp(p, "RSD PTR ", 8) && checksum_ok(p, 20))
			return p;
	}
	return NULL;
}

/* Like mp_cpus, from the ACPI MADT (enabled local APIC entries); 0 without one.
 * SeaBIOS lists one MP-table entry per package (QEMU's -smp N gives one socket
 * of N cores), so the MADT, when there is one, is the better count. */
static u32 madt_cpus(u32 *ids, u32 max, int *too_many)
{
	u32 ebda = bda_u16(0x40E) << 4;
	const u8 *rsdp = NULL, *rsdt, *t, *e, *end;
	u32 i, nt, n = 0;

	if (ebda >= 0x80000 && ebda < 0xA0000)
		rsdp = rsdp_scan(ebda, 1024);
	if (!rsdp)
		rsdp = rsdp_scan(0xE0000, 0x20000);
	if (!rsdp)
		return 0;
	rsdt = (const u8 *)*(const u32 *)(rsdp + 16);
	if (!rsdt || memcmp(rsdt, "RSDT", 4) || !checksum_ok(rsdt, *(const u32 *)(rsdt + 4)))
		return 0;
	nt = (*(const u32 *)(rsdt + 4) - 36) / 4;
	for (i = 0; i < nt; i++) {
		t = (const u8 *)*(const u32 *)(rsdt + 36 + 4 * i);
		if (t && !memcmp(t, "APIC", 4) && checksum_ok(t, *(const u32 *)(t + 4)))
			break;
	}
	if (i == nt)
		return 0;
	if (*(const u32 *)(t + 36))
		lapic = *(const u32 *)(t + 36);
	end = t + *(const u32 *)(t + 4);
	for (e = t + 44; e + 2 <= end && e[1] >= 2; e += e[1]) {
		if (e[0] != 0 || !(*(const u32 *)(e + 4) & 1))
			continue;
		if (n < max)
			ids[n] = e[3];
		else
			*too_many = 1;
		n++;
	}
	return n;
}

/* ---- AP start-up ---- */
static void icr_send(u32 apic_id, u32 lo)
{
	u32 i;

	lapic_write(LAPIC_ICR_HI, apic_id << 24);
	lapic_write(LAPIC_ICR_LO, lo);
	for (i = 0; i < 100000 && (lapic_read(LAPIC_ICR_LO) & ICR_BUSY); i++)
		cpu_relax();
}

/* Waits until *v >= target; 0 on success, -1 on timeout. */
static int wait_for(volatile u32 *v, u32 target, u32 timeout_ms)
{
	u64 hz = tsc_hz_cached(), t0 = rdtsc(), lim;
	u32 i;

	if (hz) {
		lim = muldiv64(timeout_ms, hz, 1000);
		while (*v < target)
			if (rdtsc() - t0 > lim)
				return -1;
			else
				cpu_relax();
		return 0;
	}
	for (i = 0; *v < target; i++) {
		if (i >= timeout_ms * 1000u)
			return -1;
		(void)inb(0x80); /* >= ~1 us each */
	}
	return 0;
}

int main(const char *cmdline)
{
	int bad = 0, too_many = 0, ok = 1;
	u32 timeout_ms = (u32)param_u64(cmdline, "timeout_ms", 5000, &bad);
	u32 expect = (u32)param_u64(cmdline, "expect", 0, &bad);
	u32 ids[MAX_CPUS], ncpu, bsp, i, started = 0, mp, top_id;
	const char *why = "", *src = "none", *madt;
	char want[8] = "auto";

	loop_n = (u32)param_u64(cmdline, "n", 20000, &bad);
	write_at = (u32)param_u64(cmdline, "write_at", 16u << 20, &bad);
	write_bytes = (u32)param_u64(cmdline, "write", 0, &bad);
	write_step = (u32)param_u64(cmdline, "write_step", write_bytes, &bad);
	if (bad || write_bytes % 4096 || write_at % 4096 || write_step < write_bytes)
		guest_fail("smp", "bad-parameter");
	tsc_hz(cmdline);
	if (param_str(cmdline, "src", want, sizeof(want)) && memcmp(want, "mp", 3) &&
	    memcmp(want, "madt", 5) && memcmp(want, "auto", 5))
		guest_fail("smp", "bad-parameter");
	mp = mp_cpus(ids, MAX_CPUS, &too_many);
	ncpu = want[0] == 'm' && want[1] == 'p' ? 0 : madt_cpus(ids, MAX_CPUS, &too_many);
	madt = want[0] == 'm' && want[1] == 'p' ? "not searched" : ncpu ? "found" : "none";
	if (ncpu)
		src = "madt";
	else if (!(want[0] == 'm' && want[1] == 'a') && (ncpu = mp_cpus(ids, MAX_CPUS, &too_many)))
		src = "mp";
	bsp = lapic_id();
	gprintf("smp: MP table: %u CPU(s); ACPI MADT: %s; using %s: %u CPU(s), BSP APIC ID %u, "
		"LAPIC at 0x%x\n", mp, madt, src,
		ncpu ? ncpu : 1, bsp, lapic);
	if (too_many) {
		gprintf("smp: more than %u CPUs listed: raise MAX_CPUS in smp.c\n", MAX_CPUS);
		guest_fail("smp", "too-many-cpus");
	}
	for (i = 0, top_id = bsp; i < ncpu; i++)
		top_id = ids[i] > top_id ? ids[i] : top_id;
	if (write_bytes && (write_at < (u32)_end ||
			    (u64)write_at + (u64)top_id * write_step + write_bytes > mem_top())) {
		gprintf("smp: write ranges 0x%x + %u x %u bytes must lie above the image (0x%x) "
			"and within guest RAM (0x%x)\n", write_at, top_id + 1, write_step,
			(u32)_end, mem_top());
		guest_fail("smp", "bad-range");
	}
	if (ncpu > 1) {
		lapic_write(LAPIC_SVR, lapic_read(LAPIC_SVR) | 0x100 | 0xff); /* APIC on */
		memcpy((void *)TRAMP_ADDR, ap_tramp_start, (u32)(ap_tramp_end - ap_tramp_start));
		for (i = 0; i < ncpu; i++) {
			if (ids[i] == bsp)
				continue;
			icr_send(ids[i], ICR_INIT);
			udelay_tsc(10000);
			icr_send(ids[i], ICR_SIPI | (TRAMP_ADDR >> 12));
			udelay_tsc(200);
			icr_send(ids[i], ICR_SIPI | (TRAMP_ADDR >> 12));
			if (wait_for(&checked_in, started + 1, timeout_ms)) {
				gprintf("smp: AP with APIC ID %u did not start within %u ms\n",
					ids[i], timeout_ms);
				ok = 0;
				why = " error=ap-timeout";
				break;
			}
			started++;
		}
	}
	report_cpu();
	if (ok && wait_for(&done_count, started, timeout_ms)) {
		gprintf("smp: only %u of %u APs finished within %u ms\n", done_count, started,
			timeout_ms);
		ok = 0;
		why = " error=ap-timeout";
	}
	if (ncpu == 0)
		ncpu = 1;
	if (ok && expect && expect != ncpu) {
		gprintf("smp: found %u CPUs, expect=%u\n", ncpu, expect);
		ok = 0;
		why = " error=cpu-count";
	}
	gprintf("AVMM-RESULT guest=smp cpus=%u started=%u src=%s ok=%d%s\n", ncpu, started + 1,
		src, ok, why);
	return ok ? 0 : 1;
}
