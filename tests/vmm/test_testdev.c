/* --testdev (vmm-core/testdev.c): QEMU's pc-testdev through made-up port and
 * MMIO accesses on a VM struct, the IRQ lines on a real in-kernel irqchip. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/lib/run_helpers.h"
#include "vmm-core/pc.h"
#include "vmm-core/vmm_internal.h"

#define RAM_BYTES (2u << 20)   /* the whole bus starts: fw_cfg and the ACPI tables need the first MiB */

static struct vmm *vm;
static struct vmm_vcpu *v;

static void start(bool testdev)
{
	struct vmm_config cfg = { .testdev = testdev, .vcpus = 1, .mem_bytes = RAM_BYTES };

	vm = calloc(1, sizeof(*vm));
	cr_assert(vm);
	vm->vm_fd = -1;
	vm->mem.nr = 1;
	vm->mem.r[0].bytes = RAM_BYTES;
	vm->mem.r[0].hva = mmap(NULL, RAM_BYTES, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert(vm->mem.r[0].hva != MAP_FAILED);
	v = &vm->vcpu[0];
	v->vm = vm;
	cr_assert_eq(vmm_bus_init(vm, &cfg), 0);
}

static void stop(void)
{
	vmm_bus_exit(vm);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	munmap(vm->mem.r[0].hva, RAM_BYTES);
	free(vm);
}

static uint64_t pio(uint16_t port, int size, bool wr, uint64_t val)
{
	uint8_t d[8];

	memcpy(d, &val, 8);
	cr_assert_eq(vmm_bus_pio(v, port, d, size, wr), 0, "port 0x%x", port);
	val = 0;
	memcpy(&val, d, (size_t)size);
	return val;
}

static uint64_t mmio(uint64_t gpa, int len, bool wr, uint64_t val)
{
	uint8_t d[8];

	memcpy(d, &val, 8);
	cr_assert_eq(vmm_bus_mmio(v, gpa, d, len, wr), 0, "gpa 0x%llx", (unsigned long long)gpa);
	val = 0;
	memcpy(&val, d, (size_t)len);
	return val;
}

Test(testdev, off_by_default)
{
	uint8_t d[4] = { 0 };

	start(false);
	cr_expect_eq(vmm_bus_pio(v, PC_TESTDEV_PORT, d, 4, false), -ENOENT);
	cr_expect_eq(vmm_bus_pio(v, PC_TESTDEV_IRQ_PORT, d, 1, true), -ENOENT);
	cr_expect_eq(vmm_bus_mmio(v, PC_TESTDEV_MMIO, d, 4, false), -ENOENT);
	stop();
}

Test(testdev, scratch_register_byte_lanes)
{
	start(true);
	pio(0xe0, 4, true, 0x12345678);
	cr_expect_eq(pio(0xe0, 4, false, 0), 0x12345678);
	cr_expect_eq(pio(0xe2, 2, false, 0), 0x1234, "16 bits at offset 2");
	cr_expect_eq(pio(0xe1, 1, false, 0), 0x56);
	pio(0xe3, 1, true, 0xab);
	cr_expect_eq(pio(0xe0, 4, false, 0), 0xab345678);
	pio(0xe1, 4, true, 0xaabbccdd); /* past the register: the top byte is lost */
	cr_expect_eq(pio(0xe0, 4, false, 0), 0xbbccdd78);
	cr_expect_eq(pio(0xe1, 4, false, 0), 0x00bbccdd);
	/* 0xe8-0xeb: the same register, a byte per port */
	cr_expect_eq(pio(0xe8, 4, false, 0), 0xbbccdd78);
	cr_expect_eq(pio(0xeb, 1, false, 0), 0xbb);
	pio(0xea, 2, true, 0x0102);
	cr_expect_eq(pio(0xe0, 4, false, 0), 0x0102dd78);
	stop();
}

Test(testdev, mmio_ram_of_every_size)
{
	start(true);
	mmio(PC_TESTDEV_MMIO, 8, true, 0x1122334455667788ull);
	cr_expect_eq(mmio(PC_TESTDEV_MMIO, 8, false, 0), 0x1122334455667788ull);
	cr_expect_eq(mmio(PC_TESTDEV_MMIO + 4, 4, false, 0), 0x11223344);
	cr_expect_eq(mmio(PC_TESTDEV_MMIO + 2, 2, false, 0), 0x5566);
	cr_expect_eq(mmio(PC_TESTDEV_MMIO + 7, 1, false, 0), 0x11);
	mmio(PC_TESTDEV_MMIO + 1, 2, true, 0xbeef);
	cr_expect_eq(mmio(PC_TESTDEV_MMIO, 4, false, 0), 0x55beef88);
	mmio(PC_TESTDEV_MMIO + 0xfff8, 8, true, 0xa5a5a5a5a5a5a5a5ull);
	cr_expect_eq(mmio(PC_TESTDEV_MMIO + 0xfffc, 4, false, 0), 0xa5a5a5a5, "last bytes");
	cr_expect_eq(mmio(PC_TESTDEV_MMIO + 0x1000, 4, false, 0), 0, "fresh RAM reads 0");
	stop();
}

Test(testdev, flush_keeps_the_page)
{
	uint8_t *ram;

	start(true);
	ram = vm->mem.r[0].hva;
	memset(ram + 0x2000, 0x5c, 4096);
	pio(0xe4, 4, true, 0x2123);  /* any address in the page */
	cr_expect_eq(ram[0x2000], 0x5c, "contents kept and readable again");
	ram[0x2fff] = 0x11;           /* and writable */
	cr_expect_eq(ram[0x2fff], 0x11);
	pio(0xe4, 4, true, 0x7fff0000); /* not RAM: ignored */
	pio(0xe4, 2, true, 0x2000);     /* 2-byte write: invalid, ignored */
	cr_expect_eq(pio(0xe4, 4, false, 0), 0xffffffffu, "no read side");
	stop();
}

/* IRQ line N on the in-kernel IOAPIC: its IRR bit follows the line (the pin
 * stays masked, as after reset, so nothing is delivered). */
Test(testdev, irq_lines_drive_the_ioapic)
{
	struct kvm_irqchip chip = { .chip_id = KVM_IRQCHIP_IOAPIC };
	int kvm;

	require_kvm();
	start(true);
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	cr_assert(kvm >= 0);
	vm->vm_fd = ioctl(kvm, KVM_CREATE_VM, 0);
	close(kvm);
	cr_assert(vm->vm_fd >= 0, "KVM_CREATE_VM: errno %d", errno);
	cr_assert_eq(ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0), 0, "errno %d", errno);
	pio(PC_TESTDEV_IRQ_PORT + 10, 1, true, 1);
	cr_assert_eq(ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &chip), 0);
	cr_expect(chip.chip.ioapic.irr & (1u << 10), "IRR 0x%x: line 10 not raised",
		  chip.chip.ioapic.irr);
	pio(PC_TESTDEV_IRQ_PORT + 10, 1, true, 0);
	pio(PC_TESTDEV_IRQ_PORT + 23, 1, true, 0x80);
	cr_assert_eq(ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &chip), 0);
	cr_expect_not(chip.chip.ioapic.irr & (1u << 10), "line 10 not lowered");
	cr_expect(chip.chip.ioapic.irr & (1u << 23), "line 23 (last) not raised");
	pio(PC_TESTDEV_IRQ_PORT + 5, 4, true, 1); /* 4-byte write: invalid, ignored */
	cr_assert_eq(ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &chip), 0);
	cr_expect_not(chip.chip.ioapic.irr & (1u << 5));
	stop();
}

static char out[1 << 14];

/* The guest's own checks, through the avmm binary; without --testdev the
 * ports are not there. */
Test(testdev, guest_with_and_without)
{
	char val[64];
	int st;

	require_kvm();
	st = run_avmm(out, sizeof(out), (const char *[]){ "run", "--socket", "", "--no-adapt",
		"--testdev", build_path("guests/testdev.elf"), NULL });
	cr_expect_eq(st, 0, "exit status %d; output:\n%s", st, out);
	cr_assert_eq(result_value(out, "testdev", "ok", val, sizeof(val)), 0, "%s", out);
	cr_expect_str_eq(val, "1", "%s", out);
	st = run_avmm(out, sizeof(out), (const char *[]){ "run", "--socket", "", "--no-adapt",
		build_path("guests/testdev.elf"), NULL });
	cr_expect_eq(st, 3, "exit status %d; output:\n%s", st, out);
	cr_assert_eq(result_value(out, "testdev", "error", val, sizeof(val)), 0, "%s", out);
	cr_expect_str_eq(val, "no-testdev");
}
