/* energy: attribution arithmetic (CPU-time share of package energy). */
#include <criterion/criterion.h>
#include <errno.h>

#include "energy/energy.h"

Test(energy_attr, split_by_cpu_time_share)
{
	uint64_t cpu[] = { 500000000, 1000000000, 250000000 };
	int vm[] = { 0, 0, 1 };
	uint64_t vcpu_uj[3], vm_uj[2];
	struct energy_attr_in in = { .pkg_delta_uj = 100000000, .host_busy_ns = 2000000000,
				     .nr_vcpus = 3, .vcpu_cpu_ns = cpu, .vcpu_vm = vm, .nr_vms = 2 };
	struct energy_attr_out out = { .vcpu_uj = vcpu_uj, .vm_uj = vm_uj };

	cr_assert_eq(energy_attribute(&in, &out), 0);
	cr_expect_eq(vcpu_uj[0], 25000000);
	cr_expect_eq(vcpu_uj[1], 50000000);
	cr_expect_eq(vcpu_uj[2], 12500000);
	cr_expect_eq(vm_uj[0], 75000000);
	cr_expect_eq(vm_uj[1], 12500000);
	cr_expect_eq(out.unattributed_uj, 12500000, "host threads' share");
	cr_expect_float_eq(out.denominator_ns, 2e9, 1);
}

Test(energy_attr, vcpu_time_above_host_busy_is_capped_at_all_energy)
{
	/* clock skew between /proc/stat and thread CPU time: never attribute more
	 * than the package energy */
	uint64_t cpu[] = { 800000000, 400000000 };
	uint64_t vcpu_uj[2], vm_uj[1];
	struct energy_attr_in in = { .pkg_delta_uj = 90000000, .host_busy_ns = 1000000000,
				     .nr_vcpus = 2, .vcpu_cpu_ns = cpu, .nr_vms = 1 };
	struct energy_attr_out out = { .vcpu_uj = vcpu_uj, .vm_uj = vm_uj };

	cr_assert_eq(energy_attribute(&in, &out), 0);
	cr_expect_eq(vcpu_uj[0], 60000000);
	cr_expect_eq(vcpu_uj[1], 30000000);
	cr_expect_eq(vm_uj[0], 90000000);
	cr_expect_eq(out.unattributed_uj, 0);
}

Test(energy_attr, nothing_ran_everything_unattributed)
{
	uint64_t cpu[] = { 0, 0 };
	uint64_t vcpu_uj[2] = { 9, 9 }, vm_uj[1] = { 9 };
	struct energy_attr_in in = { .pkg_delta_uj = 5000, .nr_vcpus = 2, .vcpu_cpu_ns = cpu,
				     .nr_vms = 1 };
	struct energy_attr_out out = { .vcpu_uj = vcpu_uj, .vm_uj = vm_uj };

	cr_assert_eq(energy_attribute(&in, &out), 0);
	cr_expect_eq(vcpu_uj[0] + vcpu_uj[1] + vm_uj[0], 0);
	cr_expect_eq(out.unattributed_uj, 5000);
}

Test(energy_attr, rounding_and_large_values)
{
	/* 3 equal vCPUs of 10 uJ: 3 each, 1 left over; huge values do not overflow */
	uint64_t cpu[] = { 1, 1, 1 };
	uint64_t vcpu_uj[3], vm_uj[1];
	struct energy_attr_in in = { .pkg_delta_uj = 10, .host_busy_ns = 3, .nr_vcpus = 3,
				     .vcpu_cpu_ns = cpu, .nr_vms = 1 };
	struct energy_attr_out out = { .vcpu_uj = vcpu_uj, .vm_uj = vm_uj };
	uint64_t big[] = { 3000000000000ull };

	cr_assert_eq(energy_attribute(&in, &out), 0);
	cr_expect_eq(vcpu_uj[0], 3);
	cr_expect_eq(out.unattributed_uj, 1);
	in = (struct energy_attr_in){ .pkg_delta_uj = 4000000000000ull,
				      .host_busy_ns = 6000000000000ull, .nr_vcpus = 1,
				      .vcpu_cpu_ns = big, .nr_vms = 1 };
	cr_assert_eq(energy_attribute(&in, &out), 0);
	cr_expect_eq(vcpu_uj[0], 2000000000000ull);
}

Test(energy_attr, bad_input)
{
	uint64_t cpu[] = { 1 };
	int vm[] = { 2 };
	uint64_t vcpu_uj[1], vm_uj[2];
	struct energy_attr_in in = { .pkg_delta_uj = 10, .nr_vcpus = 1, .vcpu_cpu_ns = cpu,
				     .vcpu_vm = vm, .nr_vms = 2 };
	struct energy_attr_out out = { .vcpu_uj = vcpu_uj, .vm_uj = vm_uj };

	cr_expect_eq(energy_attribute(&in, &out), -EINVAL, "VM index out of range");
	in.vcpu_vm = NULL;
	in.vcpu_cpu_ns = NULL;
	cr_expect_eq(energy_attribute(&in, &out), -EINVAL);
}
