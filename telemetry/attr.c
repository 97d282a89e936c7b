/* Per-VM and per-vCPU energy: each tick's node energy split by CPU-time share
 * (energy_attribute: a vCPU gets E x its CPU time / the host's busy time). */
#include <errno.h>

#include "energy/energy.h"
#include "telemetry/tel_int.h"

int tel_energy_split(const struct tel_sample *prev, struct tel_sample *s, uint64_t host_busy_ns)
{
	uint64_t cpu_ns[TEL_MAX_VCPUS], vcpu_uj[TEL_MAX_VCPUS], vm_uj = 0;
	struct energy_attr_out out = { .vcpu_uj = vcpu_uj, .vm_uj = &vm_uj };
	struct energy_attr_in in = { .nr_vcpus = s->nr_vcpus, .vcpu_cpu_ns = cpu_ns, .nr_vms = 1,
				     .host_busy_ns = host_busy_ns };
	int i, rc;

	if (!prev || !prev->energy.up || !s->energy.up || s->energy.energy_uj < prev->energy.energy_uj)
		return -EINVAL;
	in.pkg_delta_uj = s->energy.energy_uj - prev->energy.energy_uj;
	for (i = 0; i < s->nr_vcpus; i++)
		cpu_ns[i] = s->vcpu[i].cpu_time_ns > prev->vcpu[i].cpu_time_ns ?
			    s->vcpu[i].cpu_time_ns - prev->vcpu[i].cpu_time_ns : 0;
	rc = energy_attribute(&in, &out);
	if (rc)
		return rc;
	s->energy.attributed = true;
	s->energy.vm_energy_uj = prev->energy.vm_energy_uj + vm_uj;
	for (i = 0; i < s->nr_vcpus; i++)
		s->vcpu[i].energy_uj = prev->vcpu[i].energy_uj + vcpu_uj[i];
	return 0;
}

void tel_attribute_energy(struct tel *t, const struct tel_sample *prev, struct tel_sample *s)
{
	uint64_t busy_ns = s->energy.host_busy_ns, delta_ns = busy_ns - t->host_busy_ns;
	bool had = t->host_busy_ns != 0;

	if (!busy_ns)
		return; /* the energy hook gave no host busy time */
	t->host_busy_ns = busy_ns;
	if (had)
		tel_energy_split(prev, s, delta_ns);
}
