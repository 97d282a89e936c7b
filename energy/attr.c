/* energy: per-VM / per-vCPU attribution by CPU-time share (pure). */
#include "energy/energy.h"

#include <errno.h>
#include <string.h>

int energy_attribute(const struct energy_attr_in *in, struct energy_attr_out *out)
{
	unsigned __int128 sum = 0, given = 0, denom;

	if (in->nr_vcpus < 0 || in->nr_vms < 0 || (in->nr_vcpus && !in->vcpu_cpu_ns) ||
	    (in->nr_vcpus && !out->vcpu_uj) || (in->nr_vms && !out->vm_uj))
		return -EINVAL;
	for (int i = 0; i < in->nr_vcpus; i++) {
		int vm = in->vcpu_vm ? in->vcpu_vm[i] : 0;

		if (vm < 0 || (vm >= in->nr_vms && in->nr_vms))
			return -EINVAL;
		if (!in->nr_vms && in->vcpu_vm)
			return -EINVAL;
		sum += in->vcpu_cpu_ns[i];
	}
	if (in->nr_vms)
		memset(out->vm_uj, 0, sizeof(*out->vm_uj) * (size_t)in->nr_vms);
	denom = sum > in->host_busy_ns ? sum : in->host_busy_ns;
	out->denominator_ns = (double)denom;
	for (int i = 0; i < in->nr_vcpus; i++) {
		uint64_t e = 0;

		if (denom)
			e = (uint64_t)((unsigned __int128)in->pkg_delta_uj * in->vcpu_cpu_ns[i] / denom);
		out->vcpu_uj[i] = e;
		if (in->nr_vms)
			out->vm_uj[in->vcpu_vm ? in->vcpu_vm[i] : 0] += e;
		given += e;
	}
	out->unattributed_uj = in->pkg_delta_uj - (uint64_t)given;
	return 0;
}
