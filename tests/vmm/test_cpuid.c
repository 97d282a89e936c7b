/* CPUID as each vCPU sees it, read back with KVM_GET_CPUID2 from a created,
 * not started VM (real KVM). */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
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
