/*
 * Integration: the firmware guest (tests/guests/firmware.c) reads fw_cfg,
 * the ACPI tables and SMBIOS from inside a VM, under avmm with 1, 2 and 4
 * vCPUs and, where qemu-system-x86_64 runs, under QEMU too (only what must
 * match: the fw_cfg signature, the CPU count and the RAM size). And an
 * unmodified Linux kernel, where one was fetched, no longer says "DMI not
 * present" or "Boot CPU (id 0) not listed by BIOS".
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "tests/lib/run_helpers.h"
#include "vmm-core/loader.h"
#include "vmm-core/vmm.h"

#define MEM_MIB 128

static char out[16384];

static const char *guest(void)
{
	const char *g = build_path("guests/firmware.elf");

	if (access(g, R_OK))
		cr_skip_test("%s is missing: run 'make guests'", g);
	return g;
}

static unsigned long long val(const char *key)
{
	char v[64] = "";

	cr_assert_eq(result_value(out, "firmware", key, v, sizeof(v)), 0, "no %s= in:\n%s", key,
		     out);
	return strtoull(v, NULL, 0);
}

static void str_is(const char *key, const char *want)
{
	char v[64] = "";

	cr_assert_eq(result_value(out, "firmware", key, v, sizeof(v)), 0, "no %s=", key);
	cr_assert_str_eq(v, want, "%s=%s, want %s:\n%s", key, v, want, out);
}

/* What etc/e820 must sum to: the RAM entries of avmm's map for MEM_MIB. */
static unsigned long long e820_ram_bytes(void)
{
	struct vmm_mem_map map = { .nr = 1, .r = { { 0, (uint64_t)MEM_MIB << 20, (uint8_t *)1 } } };
	struct vmm_e820 e[VMM_E820_MAX];
	unsigned long long ram = 0;
	int n = vmm_e820_build(&map, e, VMM_E820_MAX);

	for (int i = 0; i < n; i++)
		ram += e[i].type == VMM_E820_RAM ? e[i].size : 0;
	return ram;
}

static void run_avmm_vcpus(int n)
{
	char vcpus[8], expect[32];
	const char *args[] = { "run", "--vcpus", vcpus, "--mem", "128M", "--socket", "",
			       guest(), "--cmdline", expect, NULL };
	int rc;

	require_kvm();
	snprintf(vcpus, sizeof(vcpus), "%d", n);
	snprintf(expect, sizeof(expect), "expect_cpus=%d", n);
	rc = run_avmm(out, sizeof(out), args);
	cr_assert_eq(rc, 0, "avmm exited %d (0: the guest passed and powered off):\n%s", rc, out);
	cr_assert_eq(val("ok"), 1);
	cr_assert_eq(val("fwcfg"), 1);
	cr_assert_eq(val("dma"), 1, "fw_cfg offers DMA");
	cr_assert_eq(val("nb_cpus"), (unsigned)n);
	cr_assert_eq(val("max_cpus"), (unsigned)n);
	cr_assert_eq(val("madt_cpus"), (unsigned)n);
	cr_assert_eq(val("ram"), (unsigned long long)MEM_MIB << 20);
	cr_assert_eq(val("e820_ram"), e820_ram_bytes());
	cr_assert_eq(val("rsdp"), 0xe0000);
	cr_assert_eq(val("hpet"), 1);
	cr_assert_eq(val("tables"), 6, "RSDT, XSDT, FADT, DSDT, MADT, HPET");
	str_is("e820_dma", "match");
	str_is("cmdline", "match");
	str_is("smbios", "2.8");
	str_is("dmi_vendor", "avmm");
}

Test(firmware_guest, avmm_1_vcpu, .timeout = 120) { run_avmm_vcpus(1); }
Test(firmware_guest, avmm_2_vcpus, .timeout = 120) { run_avmm_vcpus(2); }
Test(firmware_guest, avmm_4_vcpus, .timeout = 120) { run_avmm_vcpus(4); }

/* The same guest under QEMU: its fw_cfg must say what avmm's says. */
Test(firmware_guest, qemu_agrees_on_fw_cfg, .timeout = 200)
{
	const char *qemu = getenv("QEMU") ? getenv("QEMU") : "qemu-system-x86_64";
	char cmd[1024];
	size_t len = 0;
	FILE *p;
	int st;

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null", qemu);
	if (system(cmd) != 0)
		cr_skip_test("%s is not installed (qemu-system-x86)", qemu);
	snprintf(cmd, sizeof(cmd), "timeout 150 %s %s -smp 2 -m %d -display none -no-reboot "
		 "-serial stdio -monitor none -device isa-debug-exit,iobase=0xf4,iosize=0x04 "
		 "-kernel %s -append expect_cpus=2 2>&1 </dev/null", qemu,
		 access("/dev/kvm", R_OK | W_OK) == 0 ? "-enable-kvm" : "", MEM_MIB, guest());
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	while (len < sizeof(out) - 1 && fgets(out + len, (int)(sizeof(out) - len), p))
		len += strlen(out + len);
	st = pclose(p);
	if (!strstr(out, "AVMM-RESULT guest=firmware"))
		cr_skip_test("QEMU gave no result line (status %d; KVM or QEMU unusable here?):\n%s",
			     WEXITSTATUS(st), out);
	cr_assert_eq(WEXITSTATUS(st), 0, "QEMU exit %d (0: ACPI power-off):\n%s", WEXITSTATUS(st), out);
	cr_assert_eq(val("fwcfg"), 1);
	cr_assert_eq(val("nb_cpus"), 2);
	cr_assert_eq(val("madt_cpus"), 2);
	/* QEMU's RAM size is -m, possibly rounded up to its RAM alignment */
	cr_assert(val("ram") >= (unsigned long long)MEM_MIB << 20 &&
		  val("ram") - ((unsigned long long)MEM_MIB << 20) < (2ull << 20), "ram=%llu",
		  val("ram"));
	str_is("e820_dma", "match");
	cr_assert_eq(val("ok"), 1, "the guest's checks pass on QEMU's firmware too");
}

/* Seconds of host time the kernel gets to reach the CPU count line (where
 * guest code runs through KVM's emulator, about 3 minutes for 40 s of
 * guest time). */
static int linux_seconds(void)
{
	const char *s = getenv("AVMM_LINUX_FW_S");

	return s ? atoi(s) : 200;
}

/* Debian's cloud kernel through PVH with one vCPU, as in issue 14. */
Test(firmware_linux, no_dmi_or_boot_cpu_complaints, .timeout = 260)
{
	char console[] = "/tmp/avmm-fwlinux-XXXXXX", buf[16384] = "";
	const char *image = build_path("linux/vmlinux");
	struct vmm_config cfg = { .vcpus = 1, .mem_bytes = 256ull << 20, .console_path = console,
				  .cmdline = "console=ttyS0 earlyprintk=serial,ttyS0,115200 panic=-1",
				  .guest_path = image };
	struct vmm_result res;
	struct vmm *vm;
	int fd, n = 0;

	require_kvm();
	if (access(image, R_OK))
		cr_skip_test("%s is missing: tests/loaders/fetch-kernel.sh could not fetch Debian's "
			     "kernel package", image);
	fd = mkstemp(console);
	close(fd);
	cr_assert_eq(vmm_create(&cfg, &vm), 0);
	cr_assert_eq(vmm_start(vm), 0);
	for (int i = 0; i < linux_seconds() * 10 && !vmm_ended(vm); i++) {
		util_sleep_ns(100000000);
		n = util_read_file(NULL, console, buf, sizeof(buf));
		if (n > 0 && strstr(buf, "smpboot: Allowing"))
			break;
	}
	vmm_request_stop(vm);
	vmm_wait(vm, &res);
	vmm_destroy(vm);
	n = util_read_file(NULL, console, buf, sizeof(buf));
	unlink(console);
	if (n <= 0 || !strstr(buf, "smpboot: Allowing"))
		cr_skip_test("Linux did not reach its CPU count line within %d s (it ended: %s); "
			     "this host runs guest code through KVM's emulator: raise AVMM_LINUX_FW_S. "
			     "Log so far:\n%s", linux_seconds(), res.why, n > 0 ? buf : "");
	cr_assert_null(strstr(buf, "DMI not present"), "%s", buf);
	cr_assert_null(strstr(buf, "not listed by BIOS"), "%s", buf);
	cr_assert_not_null(strstr(buf, "DMI: avmm avmm-pc"), "%s", buf);
	cr_assert_not_null(strstr(buf, "ACPI: RSDP 0x00000000000E0000"), "%s", buf);
	cr_assert_not_null(strstr(buf, "ACPI: Using ACPI (MADT) for SMP configuration"), "%s", buf);
	cr_assert_not_null(strstr(buf, "smpboot: Allowing 1 CPUs"), "%s", buf);
}
