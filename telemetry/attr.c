/* Per-VM and per-vCPU energy: the node's energy split by CPU-time share
 * (energy_attribute: a vCPU gets E x its CPU time / the host's busy time),
 * over the interval between two readings of the host's busy time. A hook
 * that keeps its last reading (the loop reads /proc/stat only when the
 * vCPUs say something moved) defers the split to its next reading, which
 * then covers the whole gap; the samples in between carry the cumulative
 * values of the last split. The simulator splits each tick against the
 * previous sample (tel_energy_split). */
#include <errno.h>

#include "energy/energy.h"
#include "telemetry/tel_int.h"

/* s's energy pkg_delta_uj over busy_ns, by each vCPU's CPU time since
 * ref_cpu_ns (a thread that restarted gets no share). */
static int split_by_share(const struct tel_sample *s, const uint64_t *ref_cpu_ns,
			  uint64_t busy_ns, uint64_t pkg_delta_uj, uint64_t *vcpu_uj,
			  uint64_t *vm_uj)
{
	uint64_t cpu_ns[TEL_MAX_VCPUS];
	struct energy_attr_out out = { .vcpu_uj = vcpu_uj, .vm_uj = vm_uj };
	struct energy_attr_in in = { .nr_vcpus = s->nr_vcpus, .vcpu_cpu_ns = cpu_ns, .nr_vms = 1,
				     .host_busy_ns = busy_ns, .pkg_delta_uj = pkg_delta_uj };

	*vm_uj = 0;
	for (int i = 0; i < s->nr_vcpus; i++)
		cpu_ns[i] = s->vcpu[i].cpu_time_ns > ref_cpu_ns[i] ?
			    s->vcpu[i].cpu_time_ns - ref_cpu_ns[i] : 0;
	return energy_attribute(&in, &out);
}

int tel_energy_split(const struct tel_sample *prev, struct tel_sample *s, uint64_t host_busy_ns)
{
	uint64_t ref[TEL_MAX_VCPUS], vcpu_uj[TEL_MAX_VCPUS], vm_uj;
	int i, rc;

	if (!prev || !prev->energy.up || !s->energy.up || s->energy.energy_uj < prev->energy.energy_uj)
		return -EINVAL;
	for (i = 0; i < s->nr_vcpus; i++)
		ref[i] = prev->vcpu[i].cpu_time_ns;
	rc = split_by_share(s, ref, host_busy_ns, s->energy.energy_uj - prev->energy.energy_uj,
			    vcpu_uj, &vm_uj);
	if (rc)
		return rc;
	s->energy.attributed = true;
	s->energy.vm_energy_uj = prev->energy.vm_energy_uj + vm_uj;
	for (i = 0; i < s->nr_vcpus; i++)
		s->vcpu[i].energy_uj = prev->vcpu[i].energy_uj + vcpu_uj[i];
	return 0;
}

/* The references of the next split: this sample. */
static void mark(struct tel *t, const struct tel_sample *s)
{
	t->attr_busy_ns = s->energy.host_busy_ns;
	t->attr_uj = s->energy.energy_uj;
	for (int i = 0; i < s->nr_vcpus; i++)
		t->attr_cpu_ns[i] = s->vcpu[i].cpu_time_ns;
}

static void split(struct tel *t, const struct tel_sample *s)
{
	uint64_t vcpu_uj[TEL_MAX_VCPUS], vm_uj;

	if (split_by_share(s, t->attr_cpu_ns, s->energy.host_busy_ns - t->attr_busy_ns,
			   s->energy.energy_uj - t->attr_uj, vcpu_uj, &vm_uj))
		return;
	t->attr_have = true;
	t->attr_vm_uj += vm_uj;
	for (int i = 0; i < s->nr_vcpus; i++)
		t->attr_vcpu_uj[i] += vcpu_uj[i];
}

void tel_attribute_energy(struct tel *t, struct tel_sample *s)
{
	uint64_t busy_ns = s->energy.host_busy_ns;

	if (!busy_ns || !s->energy.up)
		return; /* no host busy time, or no energy this tick */
	if (!t->attr_busy_ns || s->energy.energy_uj < t->attr_uj || busy_ns < t->attr_busy_ns ||
	    t->attr_nr != s->nr_vcpus) {
		mark(t, s);   /* the first reading, or the source restarted */
		t->attr_nr = s->nr_vcpus;
	} else if (busy_ns != t->attr_busy_ns) {
		split(t, s);
		mark(t, s);
	}
	if (!t->attr_have)
		return;
	s->energy.attributed = true;
	s->energy.vm_energy_uj = t->attr_vm_uj;
	for (int i = 0; i < s->nr_vcpus; i++)
		s->vcpu[i].energy_uj = t->attr_vcpu_uj[i];
}
