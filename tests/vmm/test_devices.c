/* Unit tests: port devices and exit decoding, on a VM struct without KVM. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm-core/vmm_internal.h"

static struct vmm *vm;
static struct vmm_vcpu *v;
static struct kvm_run *run;
static char path[] = "/tmp/avmm-serial-XXXXXX";

static void setup(void)
{
	int fd = mkstemp(path);

	cr_assert(fd >= 0);
	close(fd);
	vm = calloc(1, sizeof(*vm));
	run = calloc(1, 4096);
	pthread_mutex_init(&vm->end_lock, NULL);
	cr_assert_eq(vmm_devices_init(vm, path), 0);
	v = &vm->vcpu[0];
	v->vm = vm;
	v->fd = -1;
	v->run = run;
	v->run_bytes = 4096;
}

static void teardown(void)
{
	vmm_devices_exit(vm);
	unlink(path);
	free(run);
	free(vm);
}

static void out8(uint16_t port, uint8_t val)
{
	vmm_pio(v, port, &val, 1, true);
}

static uint8_t in8(uint16_t port)
{
	uint8_t val = 0;

	vmm_pio(v, port, &val, 1, false);
	return val;
}

TestSuite(devices, .init = setup, .fini = teardown);
TestSuite(exits, .init = setup, .fini = teardown);

Test(devices, serial_transmits_to_console)
{
	char buf[64] = "";
	FILE *f;

	cr_assert_eq(in8(0x3fd) & 0x60, 0x60, "LSR must say the transmitter is empty");
	out8(0x3f8, 'H');
	out8(0x3f8, 'i');
	out8(0x3f8, '\n');
	out8(0x3fb, 0x80); /* DLAB: divisor latch, not output */
	out8(0x3f8, 0x01);
	cr_assert_eq(in8(0x3f8), 0x01);
	out8(0x3fb, 0x03);
	vmm_devices_exit(vm);
	f = fopen(path, "r");
	cr_assert(fgets(buf, sizeof(buf), f));
	fclose(f);
	cr_assert_str_eq(buf, "Hi\n");
	vmm_devices_init(vm, path);
}

Test(devices, serial_loopback_mirrors_modem_control)
{
	out8(0x3fc, 0x10 | 0x02); /* loop + RTS -> CTS */
	cr_assert_eq(in8(0x3fe) & 0x10, 0x10);
	out8(0x3fc, 0x00);
	cr_assert_eq(in8(0x3fe), 0xb0);
}

Test(devices, debug_exit_status)
{
	uint32_t val = 3;

	cr_assert_eq(vmm_pio(v, 0xf4, (uint8_t *)&val, 4, true), 1);
	cr_assert_eq(vm->result.end, VMM_END_DEBUG_EXIT);
	cr_assert_eq(vm->result.exit_status, 7);
	cr_assert(vm->stop);
}

Test(devices, keyboard_controller_reset)
{
	cr_assert_eq(in8(0x64), 0);
	out8(0x64, 0xfe);
	cr_assert_eq(vm->result.end, VMM_END_RESET);
	cr_assert_eq(vm->result.exit_status, 0);
}

Test(devices, unknown_port_counted_not_fatal)
{
	uint32_t val = 0;

	vmm_pio(v, 0x1234, (uint8_t *)&val, 4, false);
	cr_assert_eq(val, 0xffffffffu);
	out8(0x1234, 1);
	cr_assert_eq(v->ctr.unknown_pio, 2);
	cr_assert_eq(vm->result.end, VMM_END_RUNNING);
}

Test(devices, mmio_read_returns_ones)
{
	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = 0xfed00000;
	run->mmio.len = 4;
	run->mmio.is_write = 0;
	cr_assert_eq(vmm_exit_dispatch(v), 0);
	cr_assert_eq(run->mmio.data[0], 0xff);
	cr_assert_eq(v->ctr.unknown_mmio, 1);
}

Test(devices, pio_exit_with_count_handles_each_element)
{
	uint8_t *data = (uint8_t *)run + 1024;

	run->exit_reason = KVM_EXIT_IO;
	run->io.direction = KVM_EXIT_IO_OUT;
	run->io.port = 0x80;
	run->io.size = 1;
	run->io.count = 3;
	run->io.data_offset = 1024;
	memset(data, 0, 3);
	cr_assert_eq(vmm_exit_dispatch(v), 0);
	cr_assert_eq(v->ctr.pio_exits, 1);
}

/* Found by fuzzing: the data was followed wherever data_offset pointed. */
Test(devices, pio_exit_outside_kvm_run_is_refused)
{
	run->exit_reason = KVM_EXIT_IO;
	run->io.direction = KVM_EXIT_IO_IN;
	run->io.port = 0x1234;
	run->io.size = 4;
	run->io.count = 2;
	run->io.data_offset = 4096 - 4;
	cr_assert_eq(vmm_exit_dispatch(v), 1);
	cr_assert_eq(vm->result.end, VMM_END_ERROR);
	cr_assert(strstr(vm->result.why, "malformed KVM_EXIT_IO"), "%s", vm->result.why);
	cr_assert_eq(v->ctr.unknown_pio, 0);
}

Test(exits, internal_error_is_decoded)
{
	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
	run->internal.ndata = 1;
	run->internal.data[0] = 0x42;
	cr_assert_eq(vmm_exit_dispatch(v), 1);
	cr_assert_eq(vm->result.end, VMM_END_ERROR);
	cr_assert(strstr(vm->result.why, "instruction emulation failed"), "%s", vm->result.why);
	cr_assert(strstr(vm->result.why, "0x42"), "%s", vm->result.why);
}

Test(exits, failed_entry_is_decoded)
{
	run->exit_reason = KVM_EXIT_FAIL_ENTRY;
	run->fail_entry.hardware_entry_failure_reason = 0x21;
	cr_assert_eq(vmm_exit_dispatch(v), 1);
	cr_assert(strstr(vm->result.why, "VM entry failed, hardware reason 0x21"), "%s",
		  vm->result.why);
	cr_assert_eq(vm->result.exit_status, 4);
}

Test(exits, shutdown_is_triple_fault)
{
	run->exit_reason = KVM_EXIT_SHUTDOWN;
	cr_assert_eq(vmm_exit_dispatch(v), 1);
	cr_assert_eq(vm->result.end, VMM_END_SHUTDOWN);
	cr_assert(strstr(vm->result.why, "triple fault"));
}

Test(exits, unknown_reason_named)
{
	run->exit_reason = 999;
	cr_assert_eq(vmm_exit_dispatch(v), 1);
	cr_assert(strstr(vm->result.why, "unhandled KVM exit reason 999"), "%s", vm->result.why);
}

Test(exits, first_end_wins)
{
	run->exit_reason = KVM_EXIT_SHUTDOWN;
	vmm_exit_dispatch(v);
	out8(0x64, 0xfe);
	cr_assert_eq(vm->result.end, VMM_END_SHUTDOWN);
	cr_assert_str_eq(vmm_end_name(vm->result.end), "triple-fault");
}
