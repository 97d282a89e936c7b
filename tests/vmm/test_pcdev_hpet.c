/* Unit tests: the HPET through made-up MMIO exits on a VM struct with the
 * machine's bus, and its interrupts on a real in-kernel irqchip where
 * /dev/kvm opens (the IOAPIC's IRR shows a line held high). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>


#include "common/util.h"
#include "vmm-core/hpet_int.h"
#include "vmm-core/pc.h"
#include "vmm-core/pcdev.h"
#include "tests/vmm/bus_vm.h"
#include "vmm-core/vmm_internal.h"

static struct vmm *vm;
static struct vmm_vcpu *v;
static struct kvm_run *run;

static void setup(void)
{
	vm = bus_vm_new(64ull << 20);
	v = &vm->vcpu[0];
	run = v->run;
}

static void teardown(void)
{
	bus_vm_free(vm);
}

TestSuite(pcdev_hpet, .init = setup, .fini = teardown);
TestSuite(pcdev_hpet_irq);

static uint64_t mmio(uint64_t off, int len)
{
	uint64_t val = 0;

	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = PC_HPET_BASE + off;
	run->mmio.len = (uint32_t)len;
	run->mmio.is_write = 0;
	cr_assert_eq(vmm_exit_dispatch(v), 0);
	memcpy(&val, run->mmio.data, (size_t)len);
	return val;
}

static void mmio_set(uint64_t off, uint64_t val, int len)
{
	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = PC_HPET_BASE + off;
	run->mmio.len = (uint32_t)len;
	run->mmio.is_write = 1;
	memcpy(run->mmio.data, &val, (size_t)len);
	cr_assert_eq(vmm_exit_dispatch(v), 0);
}

Test(pcdev_hpet, capabilities)
{
	uint64_t id = mmio(HPET_ID, 8), tcfg;

	cr_assert_eq(id & 0xff, 1, "revision 1");
	cr_assert_eq((id >> 8) & 0x1f, 2, "3 timers");
	cr_assert(id & (1 << 13), "64-bit counter");
	cr_assert(id & (1 << 15), "legacy replacement capable");
	cr_assert_eq(id >> 32, 10000000ull, "period 10 ns in fs");
	cr_assert_eq(mmio(HPET_ID + 4, 4), 10000000ull, "32-bit read of the high half");
	for (int i = 0; i < 3; i++) {
		tcfg = mmio(HPET_TIMER0 + i * HPET_TIMER_STRIDE, 8);
		cr_assert(tcfg & HPET_TN_PERIODIC_CAP);
		cr_assert(tcfg & HPET_TN_SIZE_CAP);
		cr_assert_eq(tcfg >> 32, HPET_ROUTE_CAP);
	}
	cr_assert_eq(v->ctr.unknown_mmio, 0);
}

Test(pcdev_hpet, counter_runs_only_when_enabled)
{
	uint64_t c0, c1, ns0, ns1;

	cr_assert_eq(mmio(HPET_CONFIG, 8), 0);
	mmio_set(HPET_COUNTER, 0x100000000ull - 5, 8);
	util_sleep_ns(20000000);
	cr_assert_eq(mmio(HPET_COUNTER, 8), 0x100000000ull - 5, "halted: holds what was written");
	cr_assert_eq(mmio(HPET_COUNTER + 4, 4), 0);
	mmio_set(HPET_CONFIG, HPET_CFG_ENABLE, 4);
	c0 = mmio(HPET_COUNTER, 8);
	ns0 = util_now_ns();
	util_sleep_ns(50000000);
	ns1 = util_now_ns();
	c1 = mmio(HPET_COUNTER, 8);
	cr_assert_geq(c1 - c0, (ns1 - ns0) / HPET_TICK_NS, "at least 100 MHz: %llu ticks",
		      (unsigned long long)(c1 - c0));
	cr_assert_eq(mmio(HPET_COUNTER + 4, 4), 1, "carries into the high half");
	mmio_set(HPET_CONFIG, 0, 4);
	c0 = mmio(HPET_COUNTER, 8);
	util_sleep_ns(10000000);
	cr_assert_eq(mmio(HPET_COUNTER, 8), c0, "stopped again");
}

/* A paused VM's HPET: the counter holds, then counts on from there. */
Test(pcdev_hpet, counter_holds_while_the_vm_is_paused)
{
	uint64_t c0, c1, c2, ns0, ns1;

	mmio_set(HPET_CONFIG, HPET_CFG_ENABLE, 4);
	vmm_bus_pause(vm, true);
	c0 = mmio(HPET_COUNTER, 8);
	util_sleep_ns(50000000);
	c1 = mmio(HPET_COUNTER, 8);
	ns0 = util_now_ns();
	vmm_bus_pause(vm, false);
	util_sleep_ns(20000000);
	c2 = mmio(HPET_COUNTER, 8);
	ns1 = util_now_ns();
	cr_assert_eq(c1, c0, "held while paused");
	cr_assert_geq(c2 - c1, 20000000 / HPET_TICK_NS, "counts on after resume");
	cr_assert_leq(c2 - c1, (ns1 - ns0) / HPET_TICK_NS,
		      "only the time since resume is counted: %llu ticks in %llu ns",
		      (unsigned long long)(c2 - c1), (unsigned long long)(ns1 - ns0));
}

Test(pcdev_hpet, comparator_halves_and_rejected_sizes)
{
	uint64_t t2 = HPET_TIMER0 + 2 * HPET_TIMER_STRIDE;
	uint8_t b = 0;

	mmio_set(t2 + HPET_TN_CMP, 0x12345678, 4);
	mmio_set(t2 + HPET_TN_CMP + 4, 0x9abcdef0, 4);
	cr_assert_eq(mmio(t2 + HPET_TN_CMP, 8), 0x9abcdef012345678ull);
	mmio_set(t2 + HPET_TN_CFG, HPET_TN_32BIT, 4);
	cr_assert_eq(mmio(t2 + HPET_TN_CMP, 8), 0x12345678ull, "32-bit mode truncates");
	mmio_set(t2 + HPET_TN_CFG, 0xffffffffull, 4);
	cr_assert_eq(mmio(t2 + HPET_TN_CFG, 4) & 0xffff, HPET_TN_WRITABLE | HPET_TN_CAPS,
		     "only writable bits change");
	cr_assert_eq(vmm_bus_mmio(v, PC_HPET_BASE + 1, &b, 1, false), -EINVAL);
}

/* A VM with the in-kernel irqchip, for KVM_IRQ_LINE; the IOAPIC's IRR shows
 * a level-triggered line held high on a masked pin. */
static int irqchip_vm(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC), fd;

	if (kvm < 0)
		cr_skip_test("/dev/kvm cannot be opened: no in-kernel irqchip to raise on");
	fd = ioctl(kvm, KVM_CREATE_VM, 0);
	close(kvm);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ioctl(fd, KVM_CREATE_IRQCHIP, 0), 0);
	return fd;
}

static uint32_t ioapic_irr(int fd)
{
	struct kvm_irqchip chip = { .chip_id = KVM_IRQCHIP_IOAPIC };

	cr_assert_eq(ioctl(fd, KVM_GET_IRQCHIP, &chip), 0);
	return (uint32_t)chip.chip.ioapic.irr;
}

static uint64_t hpet_rw(struct hpet *h, uint64_t off, uint64_t val, bool is_write)
{
	cr_assert_eq(vmm_hpet_access(h, off, (uint8_t *)&val, 8, is_write), 0);
	return val;
}

Test(pcdev_hpet_irq, one_shot_comparator_raises_its_ioapic_pin)
{
	int fd = irqchip_vm(), pin = 20;
	uint64_t t2 = HPET_TIMER0 + 2 * HPET_TIMER_STRIDE, end;
	struct hpet *h;

	cr_assert_eq(vmm_hpet_create(fd, &h), 0);
	hpet_rw(h, t2 + HPET_TN_CFG, HPET_TN_LEVEL | HPET_TN_INT_ENB |
		(uint64_t)pin << HPET_TN_ROUTE_SHIFT, true);
	hpet_rw(h, t2 + HPET_TN_CMP, 200000, true);          /* 2 ms after the start */
	cr_assert_eq(vmm_hpet_gsi(h, 2), pin);
	hpet_rw(h, HPET_CONFIG, HPET_CFG_ENABLE, true);
	end = util_now_ns() + 2000000000ull;
	while (!(hpet_rw(h, HPET_ISR, 0, false) & 4) && util_now_ns() < end)
		util_sleep_ns(1000000);
	cr_assert_eq(hpet_rw(h, HPET_ISR, 0, false), 4, "timer 2's status bit");
	cr_assert(ioapic_irr(fd) & (1u << pin), "IOAPIC pin %d raised: irr 0x%x", pin,
		  ioapic_irr(fd));
	cr_assert_eq(h->timer[2].fired, 1);
	util_sleep_ns(20000000);
	cr_assert_eq(h->timer[2].fired, 1, "one-shot: once");
	hpet_rw(h, HPET_ISR, 4, true);
	cr_assert_eq(hpet_rw(h, HPET_ISR, 0, false), 0, "write 1 to clear");
	cr_assert_eq(ioapic_irr(fd) & (1u << pin), 0, "line lowered");
	cr_assert_eq(h->irq_errors, 0);
	vmm_hpet_destroy(h);
	close(fd);
}

Test(pcdev_hpet_irq, periodic_timer_keeps_firing_and_legacy_route)
{
	int fd = irqchip_vm();
	struct hpet *h;
	uint64_t fired;

	cr_assert_eq(vmm_hpet_create(fd, &h), 0);
	hpet_rw(h, HPET_CONFIG, HPET_CFG_LEGACY, true);
	cr_assert_eq(vmm_hpet_gsi(h, 0), 0, "legacy: timer 0 on ISA IRQ 0");
	cr_assert_eq(vmm_hpet_gsi(h, 1), PC_RTC_IRQ, "legacy: timer 1 on IRQ 8");
	/* Linux's sequence: SETVAL, first comparator, then the period */
	hpet_rw(h, HPET_TIMER0 + HPET_TN_CFG, HPET_TN_INT_ENB | HPET_TN_PERIODIC | HPET_TN_SETVAL,
		true);
	hpet_rw(h, HPET_TIMER0 + HPET_TN_CMP, 100000, true);  /* 1 ms */
	hpet_rw(h, HPET_TIMER0 + HPET_TN_CMP, 100000, true);  /* period 1 ms */
	cr_assert_eq(h->timer[0].period, 100000);
	hpet_rw(h, HPET_CONFIG, HPET_CFG_LEGACY | HPET_CFG_ENABLE, true);
	util_sleep_ns(50000000);
	fired = h->timer[0].fired;
	cr_assert_geq(fired, 5, "%llu interrupts in 50 ms at 1 kHz", (unsigned long long)fired);
	cr_assert_leq(fired, 60);
	cr_assert_eq(hpet_rw(h, HPET_ISR, 0, false), 0, "edge-triggered: no status bit");
	cr_assert_gt(hpet_rw(h, HPET_TIMER0 + HPET_TN_CMP, 0, false), 100000, "comparator advances");
	hpet_rw(h, HPET_CONFIG, 0, true);
	fired = h->timer[0].fired;
	util_sleep_ns(10000000);
	cr_assert_eq(h->timer[0].fired, fired, "disabled: no more interrupts");
	cr_assert_eq(h->irq_errors, 0);
	vmm_hpet_destroy(h);
	close(fd);
}
