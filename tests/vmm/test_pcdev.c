/* Unit tests: the PC platform devices RTC, ACPI PM and PCI through made-up
 * port exits on a VM struct with the machine's bus (test_pcdev_hpet.c: the
 * HPET; test_pcdev_guest.c: all of them from inside a guest). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


#include "common/util.h"
#include "vmm-core/pc.h"
#include "vmm-core/pcdev.h"
#include "tests/vmm/bus_vm.h"
#include "vmm-core/vmm_internal.h"

static struct vmm *vm;
static struct vmm_vcpu *v;
static struct kvm_run *run;

static void setup_mem(uint64_t mem_bytes)
{
	vm = bus_vm_new(mem_bytes);
	v = &vm->vcpu[0];
	run = v->run;
}

static void setup(void) { setup_mem(128ull << 20); }

static void teardown(void)
{
	bus_vm_free(vm);
}

static int io(uint16_t port, uint32_t *val, int size, bool is_write)
{
	return vmm_pio(v, port, (uint8_t *)val, size, is_write);
}
static void out8(uint16_t port, uint8_t val) { uint32_t x = val; io(port, &x, 1, true); }
static void out16(uint16_t port, uint16_t val) { uint32_t x = val; io(port, &x, 2, true); }
static void out32(uint16_t port, uint32_t val) { io(port, &val, 4, true); }
static uint8_t in8(uint16_t port) { uint32_t x = 0; io(port, &x, 1, false); return (uint8_t)x; }
static uint16_t in16(uint16_t port) { uint32_t x = 0; io(port, &x, 2, false); return (uint16_t)x; }
static uint32_t in32(uint16_t port) { uint32_t x = 0; io(port, &x, 4, false); return x; }

static uint8_t cmos(uint8_t reg) { out8(PC_RTC_PORT, reg); return in8(PC_RTC_PORT + 1); }
static void cmos_set(uint8_t reg, uint8_t val) { out8(PC_RTC_PORT, reg); out8(PC_RTC_PORT + 1, val); }

TestSuite(pcdev_rtc, .init = setup, .fini = teardown);
TestSuite(pcdev_pm, .init = setup, .fini = teardown);
TestSuite(pcdev_pci, .init = setup, .fini = teardown);
TestSuite(pcdev_pure);

/* ---------------- CMOS / RTC ---------------- */

struct clock { unsigned sec, min, hour, mday, mon, year, century; };

static void read_clock(struct clock *c, bool bcd)
{
	unsigned (*d)(uint8_t) = vmm_rtc_from_bcd;
	uint8_t r[7] = { cmos(0), cmos(2), cmos(4), cmos(7), cmos(8), cmos(9), cmos(0x32) };

	if (!bcd)
		d = NULL;
	c->sec = d ? d(r[0]) : r[0];
	c->min = d ? d(r[1]) : r[1];
	c->hour = d ? d(r[2] & 0x7f) : r[2] & 0x7f;
	c->mday = d ? d(r[3]) : r[3];
	c->mon = d ? d(r[4]) : r[4];
	c->year = d ? d(r[5]) : r[5];
	c->century = d ? d(r[6]) : r[6];
}

/* The host's UTC seconds from CLOCK_REALTIME, the clock the RTC follows
 * (time() may lag it by a tick near a second's edge). */
static time_t realtime_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec;
}

/* Reads the clock and the host's UTC time within one second. */
static void clock_and_host(struct clock *c, struct tm *host, bool bcd)
{
	for (int tries = 0; tries < 5; tries++) {
		time_t t0 = realtime_s(), t1;

		read_clock(c, bcd);
		t1 = realtime_s();
		if (t0 == t1) {
			gmtime_r(&t0, host);
			return;
		}
	}
	cr_assert_fail("the host clock moved on during every read");
}

Test(pcdev_rtc, clock_is_the_hosts_utc_time_in_bcd)
{
	struct clock c;
	struct tm h;

	cr_assert_eq(cmos(0x0b) & 0x06, 0x02, "default: BCD, 24-hour");
	clock_and_host(&c, &h, true);
	cr_assert_eq(c.sec, (unsigned)h.tm_sec);
	cr_assert_eq(c.min, (unsigned)h.tm_min);
	cr_assert_eq(c.hour, (unsigned)h.tm_hour);
	cr_assert_eq(c.mday, (unsigned)h.tm_mday);
	cr_assert_eq(c.mon, (unsigned)h.tm_mon + 1);
	cr_assert_eq(c.century * 100 + c.year, (unsigned)h.tm_year + 1900);
	cr_assert_geq(c.century * 100 + c.year, 2024u);
}

Test(pcdev_rtc, binary_and_12_hour_modes)
{
	struct clock c;
	struct tm h;
	unsigned want;
	uint8_t hour;

	cmos_set(0x0b, 0x04);            /* binary, 12-hour */
	clock_and_host(&c, &h, false);
	cr_assert_eq(c.min, (unsigned)h.tm_min);
	cr_assert_eq(c.year, (unsigned)(h.tm_year + 1900) % 100);
	hour = cmos(4);
	want = h.tm_hour % 12 ? (unsigned)h.tm_hour % 12 : 12;
	if (time(NULL) % 3600 > 5) {     /* not near an hour boundary */
		cr_assert_eq(hour & 0x7f, want, "hour 0x%x, host %d", hour, h.tm_hour);
		cr_assert_eq(!!(hour & 0x80), h.tm_hour >= 12, "PM bit of 0x%x", hour);
	}
}

Test(pcdev_rtc, writes_move_the_guest_clock_not_the_hosts)
{
	struct clock c;
	struct tm h;

	cmos_set(0x09, 0x31);            /* year 31 (BCD) */
	cmos_set(0x32, 0x20);
	clock_and_host(&c, &h, true);
	cr_assert_eq(c.century * 100 + c.year, 2031u);
	cr_assert_lt(h.tm_year + 1900, 2031, "the host clock moved");
	cr_assert_eq(c.min, (unsigned)h.tm_min, "other fields keep running");
}

Test(pcdev_rtc, set_bit_freezes_the_clock_until_cleared)
{
	cmos_set(0x0b, 0x82);            /* SET, 24-hour, BCD */
	cmos_set(0x04, 0x23);
	cmos_set(0x02, 0x59);
	cmos_set(0x00, 0x58);
	util_sleep_ns(1100000000ull);
	cr_assert_eq(cmos(0x00), 0x58, "frozen while SET");
	cr_assert_eq(cmos(0x0a) & 0x80, 0, "no update in progress while SET");
	cmos_set(0x0b, 0x02);
	cr_assert_eq(cmos(0x04), 0x23);
	cr_assert_eq(cmos(0x02), 0x59);
	cr_assert(cmos(0x00) == 0x58 || cmos(0x00) == 0x59);
}

Test(pcdev_rtc, nvram_and_nmi_mask_bit)
{
	cmos_set(0x80 | 0x40, 0x5a);     /* NMI masked, register 0x40 */
	cr_assert_eq(cmos(0x40), 0x5a, "bit 7 of the index is the NMI mask, not the index");
	cmos_set(0x7f, 0xa5);
	cr_assert_eq(cmos(0x7f), 0xa5);
	cr_assert_eq(in8(PC_RTC_PORT), 0xff, "the index port is write-only");
}

Test(pcdev_rtc, status_registers)
{
	uint8_t c;

	cr_assert_eq(cmos(0x0d), 0x80, "register D: battery good");
	cmos_set(0x0d, 0x00);
	cr_assert_eq(cmos(0x0d), 0x80, "register D is read-only");
	cr_assert_eq(cmos(0x0a) & 0x7f, 0x26);
	cmos(0x0c);
	util_sleep_ns(1050000000ull);
	c = cmos(0x0c);
	cr_assert(c & 0x10, "update-ended flag after a second: 0x%x", c);
	cr_assert(c & 0x40, "periodic flag (1024 Hz): 0x%x", c);
	cr_assert_eq(c & 0x80, 0, "no interrupt enabled, no IRQF: 0x%x", c);
	c = cmos(0x0c);
	cr_assert_eq(c & 0x10, 0, "reading C cleared UF: 0x%x", c);
}

/* A run of UIP reads is timed only while the test watches it: two reads
 * more than 500 us apart (each is a few us) mean the thread was not running
 * in between, and the run is timed afresh from the later read. A run still
 * set at the end counts too (a stuck UIP). */
Test(pcdev_rtc, update_in_progress_is_brief_and_never_stuck)
{
	uint64_t prev = util_now_ns(), end = prev + 1100000000ull, run_start = 0, longest = 0;
	uint64_t seen = 0;

	while (prev < end) {
		bool uip = cmos(0x0a) & 0x80;
		uint64_t now = util_now_ns();

		if (now - prev > 500000ull)
			run_start = 0;
		prev = now;
		if (uip && !run_start)
			run_start = now;
		if (uip)
			seen++;
		if (!uip && run_start) {
			longest = UTIL_MAX(longest, now - run_start);
			run_start = 0;
		}
	}
	if (run_start)
		longest = UTIL_MAX(longest, prev - run_start);
	cr_assert_gt(seen, 0, "UIP never set within a second");
	cr_assert_lt(longest, 2000000ull, "UIP held for %llu ns", (unsigned long long)longest);
}

Test(pcdev_rtc, memory_size_bytes_as_qemu)
{
	cr_assert_eq(cmos(0x15) | cmos(0x16) << 8, 640);
	cr_assert_eq(cmos(0x17) | cmos(0x18) << 8, 65535, "127 MiB above 1 MiB caps at 65535 KiB");
	cr_assert_eq(cmos(0x30) | cmos(0x31) << 8, 65535);
	cr_assert_eq(cmos(0x34) | cmos(0x35) << 8, (128 - 16) * 16, "64 KiB units above 16 MiB");
	cr_assert_eq(cmos(0x5b) | cmos(0x5c) << 8 | cmos(0x5d) << 16, 0);
}

Test(pcdev_rtc, shutdown_status_named_on_reset)
{
	cmos_set(VMM_CMOS_SHUTDOWN, 0x0a);
	cr_assert_eq(vmm_rtc_shutdown_status(vm), 0x0a);
	out8(0x64, 0xfe);
	cr_assert_eq(vm->result.end, VMM_END_RESET);
	cr_assert_eq(vm->result.exit_status, 0);
	cr_assert(strstr(vm->result.why, "CMOS shutdown status 0x0a: jump via 40:67"), "%s",
		  vm->result.why);
}

Test(pcdev_pure, bcd_and_encoding)
{
	struct tm tm = { .tm_sec = 7, .tm_min = 45, .tm_hour = 0, .tm_mday = 31, .tm_mon = 11,
			 .tm_year = 2099 - 1900, .tm_wday = 6 };

	cr_assert_eq(vmm_rtc_to_bcd(59), 0x59);
	cr_assert_eq(vmm_rtc_from_bcd(0x59), 59);
	cr_assert_eq(vmm_rtc_encode(&tm, 0x04, 0x00), 0x12, "midnight is 12 AM");
	tm.tm_hour = 13;
	cr_assert_eq(vmm_rtc_encode(&tm, 0x04, 0x00), 0x81, "1 PM");
	cr_assert_eq(vmm_rtc_encode(&tm, 0x04, 0x06), 13);
	cr_assert_eq(vmm_rtc_encode(&tm, 0x06, 0x02), 7, "day of week 1-7, Sunday 1");
	cr_assert_eq(vmm_rtc_encode(&tm, 0x32, 0x02), 0x20);
	cr_assert_eq(vmm_rtc_decode(&tm, 0x04, 0x92, 0x00), 0);
	cr_assert_eq(tm.tm_hour, 24 - 12 + 0, "12 PM is noon");
	cr_assert_eq(vmm_rtc_decode(&tm, 0x0a, 0, 0), -EINVAL);
}

/* ---------------- ACPI PM ---------------- */

Test(pcdev_pure, pm_timer_ticks)
{
	cr_assert_eq(vmm_pm_timer_ticks(1000000000ull), PC_PM_TMR_HZ);
	cr_assert_eq(vmm_pm_timer_ticks(5000000000ull), (5ull * PC_PM_TMR_HZ) & 0xffffff,
		     "24 bits wrap");
}

Test(pcdev_pm, timer_runs_at_least_at_3_58_mhz)
{
	uint32_t t0, t1;
	uint64_t ns0, ns1;

	t0 = in32(PC_PM_TMR);
	ns0 = util_now_ns();
	util_sleep_ns(100000000ull);
	ns1 = util_now_ns();
	t1 = in32(PC_PM_TMR);
	cr_assert_eq(t0 >> 24, 0u, "24-bit timer");
	cr_assert_geq((t1 - t0) & 0xffffff, (ns1 - ns0) * PC_PM_TMR_HZ / 1000000000ull,
		      "%u ticks over %llu ns", (t1 - t0) & 0xffffff, (unsigned long long)(ns1 - ns0));
	cr_assert_eq(in16(PC_PM_TMR + 2) >> 8, 0, "the top byte of the timer reads 0");
}

/* A paused VM's PM timer holds (as its kvmclock), then counts on. */
Test(pcdev_pm, timer_holds_while_the_vm_is_paused)
{
	uint32_t t0, t1, t2;
	uint64_t ns0, ns1;

	vmm_bus_pause(vm, true);
	t0 = in32(PC_PM_TMR);
	util_sleep_ns(50000000ull);
	t1 = in32(PC_PM_TMR);
	ns0 = util_now_ns();
	vmm_bus_pause(vm, false);
	util_sleep_ns(20000000ull);
	t2 = in32(PC_PM_TMR);
	ns1 = util_now_ns();
	cr_assert_eq(t1, t0, "held while paused: %u then %u", t0, t1);
	cr_assert_geq((t2 - t1) & 0xffffff, 20000000ull * PC_PM_TMR_HZ / 1000000000ull,
		      "counts on after resume");
	cr_assert_leq((t2 - t1) & 0xffffff, (ns1 - ns0) * PC_PM_TMR_HZ / 1000000000ull + 1,
		      "only the time since resume is counted: %u ticks in %llu ns",
		      (t2 - t1) & 0xffffff, (unsigned long long)(ns1 - ns0));
}

Test(pcdev_pm, sci_enabled_gpe_zero_and_enable_register)
{
	cr_assert_eq(in16(PC_PM1A_CNT) & 1, 1, "SCI_EN: always in ACPI mode");
	out16(PC_PM1A_CNT, 0);
	cr_assert_eq(in16(PC_PM1A_CNT) & 1, 1);
	cr_assert_eq(in32(PC_GPE0_BLK), 0u);
	out16(PC_PM1A_EVT + 2, 0x0121);
	cr_assert_eq(in16(PC_PM1A_EVT + 2), 0x0121);
	cr_assert_eq(in8(PC_PM1A_EVT + 3), 0x01, "byte access to the enable register");
}

Test(pcdev_pm, timer_status_set_on_bit_23_toggle_and_cleared_by_writing_1)
{
	util_sleep_ns(2400000000ull);    /* 2^23 ticks = 2.34 s */
	cr_assert_eq(in16(PC_PM1A_EVT) & 1, 1, "TMR_STS");
	out16(PC_PM1A_EVT, 0);
	cr_assert_eq(in16(PC_PM1A_EVT) & 1, 1, "writing 0 leaves it");
	out16(PC_PM1A_EVT, 1);
	cr_assert_eq(in16(PC_PM1A_EVT) & 1, 0, "writing 1 clears it");
}

Test(pcdev_pm, s5_powers_off_with_status_0)
{
	uint32_t cnt = (PC_PM_SLP_TYP_S5 << 10) | 0x2000;

	cr_assert_eq(io(PC_PM1A_CNT, &cnt, 2, true), 1);
	cr_assert_eq(vm->result.end, VMM_END_POWEROFF);
	cr_assert_eq(vm->result.exit_status, 0);
	cr_assert_str_eq(vmm_end_name(vm->result.end), "poweroff");
	cr_assert(strstr(vm->result.why, "S5"), "%s", vm->result.why);
}

Test(pcdev_pm, other_sleep_types_do_not_end_the_vm)
{
	out16(PC_PM1A_CNT, (PC_PM_SLP_TYP_S3 << 10) | 0x2000);
	cr_assert_eq(vm->result.end, VMM_END_RUNNING);
	out16(PC_PM1A_CNT, PC_PM_SLP_TYP_S5 << 10);
	cr_assert_eq(vm->result.end, VMM_END_RUNNING, "no SLP_EN, no power-off");
}

/* ---------------- PCI ---------------- */

static uint32_t conf_addr(int bus, int dev, int fn, int reg)
{
	return 0x80000000u | (uint32_t)bus << 16 | (uint32_t)dev << 11 | (uint32_t)fn << 8 |
	       (uint32_t)reg;
}

Test(pcdev_pci, host_bridge_identity)
{
	out32(PC_PCI_CONF_ADDR, conf_addr(0, 0, 0, 0));
	cr_assert_eq(in32(PC_PCI_CONF_ADDR), conf_addr(0, 0, 0, 0));
	cr_assert_eq(in32(PC_PCI_CONF_DATA), 0x12378086u);
	out32(PC_PCI_CONF_ADDR, conf_addr(0, 0, 0, 8));
	cr_assert_eq(in32(PC_PCI_CONF_DATA) >> 8, 0x060000u, "class: host bridge");
	out32(PC_PCI_CONF_ADDR, conf_addr(0, 0, 0, 0x0c));
	cr_assert_eq(in8(PC_PCI_CONF_DATA + 2), 0x00, "header type 0");
}

Test(pcdev_pci, sub_dword_accesses_at_their_offset)
{
	out32(PC_PCI_CONF_ADDR, conf_addr(0, 0, 0, 0));
	cr_assert_eq(in16(PC_PCI_CONF_DATA), 0x8086);
	cr_assert_eq(in16(PC_PCI_CONF_DATA + 2), 0x1237);
	cr_assert_eq(in8(PC_PCI_CONF_DATA + 1), 0x80);
	cr_assert_eq(in8(PC_PCI_CONF_DATA + 3), 0x12);
}

Test(pcdev_pci, absent_functions_and_disabled_cycles_read_all_ones)
{
	out32(PC_PCI_CONF_ADDR, conf_addr(0, 1, 0, 0));
	cr_assert_eq(in32(PC_PCI_CONF_DATA), 0xffffffffu);
	out32(PC_PCI_CONF_ADDR, conf_addr(0, 0, 1, 0));
	cr_assert_eq(in16(PC_PCI_CONF_DATA), 0xffff);
	out32(PC_PCI_CONF_ADDR, conf_addr(1, 0, 0, 0));
	cr_assert_eq(in16(PC_PCI_CONF_DATA), 0xffff);
	out32(PC_PCI_CONF_ADDR, conf_addr(0, 0, 0, 0) & ~0x80000000u);
	cr_assert_eq(in32(PC_PCI_CONF_DATA), 0xffffffffu, "enable bit clear");
}

Test(pcdev_pci, read_only_fields_ignore_writes)
{
	out32(PC_PCI_CONF_ADDR, conf_addr(0, 0, 0, 0));
	out32(PC_PCI_CONF_DATA, 0xdeadbeef);
	cr_assert_eq(in32(PC_PCI_CONF_DATA), 0x12378086u);
	out32(PC_PCI_CONF_ADDR, conf_addr(0, 0, 0, 0x0c));
	out8(PC_PCI_CONF_DATA + 1, 0x40);          /* latency timer: writable */
	cr_assert_eq(in8(PC_PCI_CONF_DATA + 1), 0x40);
	out8(PC_PCI_CONF_DATA + 2, 0x80);          /* header type: read-only */
	cr_assert_eq(in8(PC_PCI_CONF_DATA + 2), 0x00);
	out32(PC_PCI_CONF_ADDR, conf_addr(0, 1, 0, 0x0c));
	out32(PC_PCI_CONF_DATA, 0x12345678);       /* absent: dropped */
	cr_assert_eq(in32(PC_PCI_CONF_DATA), 0xffffffffu);
}

Test(pcdev_pci, byte_access_to_0xcf9_is_still_the_reset_register)
{
	out32(PC_PCI_CONF_ADDR, conf_addr(0, 0, 0, 0));
	out8(PC_RESET_PORT, PC_RESET_VALUE);
	cr_assert_eq(vm->result.end, VMM_END_RESET);
	cr_assert(strstr(vm->result.why, "port 0xcf9"), "%s", vm->result.why);
	cr_assert(strstr(vm->result.why, "shutdown status 0x00: normal reset"), "%s",
		  vm->result.why);
}
