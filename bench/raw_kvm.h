/* The floor for the benchmarks: the same VM set-up as avmm (vmm_create),
 * driven by a minimal single-threaded KVM_RUN loop that only handles the
 * serial port, the debug-exit port and ACPI power-off. Header-only, for bench programs. */
#ifndef AVMM_BENCH_RAW_KVM_H
#define AVMM_BENCH_RAW_KVM_H

#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm-core/vmm.h"

/* Runs guest with cmdline to its power-off (S5) or debug exit; serial output into out. */
static inline int bench_raw_run(const char *guest, const char *cmdline, char *out, size_t len)
{
	struct vmm_config cfg = { .vcpus = 1, .mem_bytes = 64ull << 20, .guest_path = guest,
				  .cmdline = cmdline, .console_path = "/dev/null" };
	size_t have = 0;
	struct kvm_run *run;
	struct vmm *vm;
	int kvm, fd, sz, done = 0;

	if (vmm_create(&cfg, &vm))
		return -1;
	kvm = open("/dev/kvm", O_RDWR);
	fd = vmm_vcpu_fd(vm, 0);
	sz = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	run = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	while (!done && ioctl(fd, KVM_RUN, 0) == 0) {
		uint8_t *d = (uint8_t *)run + run->io.data_offset;

		if (run->exit_reason != KVM_EXIT_IO) {
			fprintf(stderr, "raw: unexpected exit %u\n", run->exit_reason);
			break;
		}
		if (run->io.port == 0xf4)
			done = 1;
		else if (run->io.port == 0x604 && run->io.direction == KVM_EXIT_IO_OUT &&
			 run->io.size >= 2 && (d[1] & 0x20))
			done = 1;   /* ACPI PM1a control with SLP_EN: the guests' power-off */
		else if (run->io.direction == KVM_EXIT_IO_OUT && run->io.port == 0x3f8 &&
			 have + 1 < len)
			out[have++] = (char)d[0];
		else if (run->io.direction == KVM_EXIT_IO_IN)
			memset(d, run->io.port == 0x3fd ? 0x60 : 0xff, run->io.size);
	}
	out[have] = '\0';
	munmap(run, sz);
	close(kvm);
	vmm_destroy(vm);
	return done ? 0 : -1;
}

#endif
