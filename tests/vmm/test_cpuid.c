/* CPUID as each vCPU sees it, read back with KVM_GET_CPUID2 from a created,
 * not started VM (real KVM). */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "tests/lib/run_helpers.h"
#include "vmm-core/vmm.h"

static struct kvm_cpuid_entry2 leaf1(struct vmm *vm, int vcpu)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 512 * sizeof(c->entries[0]));
	struct kvm_cpuid_entry2 e = { 0 };
	uint32_t i;

	cr_assert(c);
	c->nent = 512;
	cr_assert_eq(ioctl(vmm_vcpu_fd(vm, vcpu), KVM_GET_CPUID2, c), 0,
		     "KVM_GET_CPUID2 on vcpu%d: errno %d", vcpu, errno);
	for (i = 0; i < c->nent; i++)
		if (c->entries[i].function == 1)
			e = c->entries[i];
	free(c);
	cr_assert_eq(e.function, 1, "vcpu%d has no CPUID leaf 1", vcpu);
	return e;
}

static void check_vcpus(int n)
{
	struct vmm_config cfg = { .vcpus = n, .mem_bytes = 16ull << 20,
				  .guest_path = build_path("guests/hello.elf"),
				  .console_path = "/dev/null" };
	struct vmm *vm;
	int i;

	require_kvm();
	cr_assert_eq(vmm_create(&cfg, &vm), 0);
	for (i = 0; i < n; i++) {
		struct kvm_cpuid_entry2 e = leaf1(vm, i);

		cr_expect_eq((e.ebx >> 16) & 0xff, (uint32_t)n,
			     "vcpu%d of %d: leaf 1 EBX[23:16] = %u", i, n, (e.ebx >> 16) & 0xff);
		cr_expect_eq(e.ebx >> 24, (uint32_t)i, "vcpu%d: initial APIC id %u", i, e.ebx >> 24);
		if (n > 1)
			cr_expect(e.edx & (1u << 28), "vcpu%d of %d: HTT clear", i, n);
	}
	vmm_destroy(vm);
}

Test(cpuid, logical_processor_count_on_every_vcpu)
{
	check_vcpus(4);
}

Test(cpuid, one_vcpu_counts_one)
{
	check_vcpus(1);
}

/* --cpu: the table KVM holds for each vCPU, and what the guest reads. */
Test(cpuid, cpu_model_shapes_every_vcpu)
{
	struct vmm_config cfg = { .vcpus = 2, .mem_bytes = 16ull << 20,
				  .guest_path = build_path("guests/hello.elf"),
				  .console_path = "/dev/null", .cpu_model = "host,-x2apic" };
	struct vmm *vm;

	require_kvm();
	cr_assert_eq(vmm_create(&cfg, &vm), 0);
	for (int i = 0; i < 2; i++) {
		struct kvm_cpuid_entry2 e = leaf1(vm, i);

		cr_expect_eq(e.ecx & (1u << 21), 0, "vcpu%d: x2APIC still listed", i);
		cr_expect_eq(e.ebx >> 24, (uint32_t)i, "vcpu%d: APIC id kept", i);
	}
	vmm_destroy(vm);
	cfg.cpu_model = "host,+no-such-flag";
	cr_expect_eq(vmm_create(&cfg, &vm), -EINVAL);
}

static char out[1 << 14];

static void run_cpuid_guest(const char *cpu, const char *cmdline, const char *key,
			    const char *want)
{
	char v[64];
	int st;

	st = run_avmm(out, sizeof(out), (const char *[]){ "run", "--socket", "", "--no-adapt",
		"--cpu", cpu, build_path("guests/cpuid.elf"), "--cmdline", cmdline, NULL });
	cr_assert_eq(st, 0, "--cpu %s: exit status %d; output:\n%s", cpu, st, out);
	cr_assert_eq(result_value(out, "cpuid", key, v, sizeof(v)), 0, "%s", out);
	cr_expect_str_eq(v, want, "--cpu %s: %s=%s, want %s", cpu, key, v, want);
}

/* The guest checks leaf 1 ECX bit 21 itself (x2apic=0: fails otherwise). */
Test(cpuid, guest_sees_x2apic_hidden_and_vendor)
{
	require_kvm();
	run_cpuid_guest("host", "", "ok", "1");
	if (!strstr(out, "x2apic=1"))
		cr_skip_test("this host's KVM does not offer x2APIC: nothing to hide");
	run_cpuid_guest("host,-x2apic", "x2apic=0", "x2apic", "0");
	run_cpuid_guest("qemu64,-x2apic,vendor=AuthenticAMD", "x2apic=0 vendor=AuthenticAMD",
			"vendor", "AuthenticAMD");
}
