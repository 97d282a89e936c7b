/* Per-VM and per-vCPU energy: the node's energy split by CPU-time share
 * (energy_attribute: a vCPU gets E x its CPU time / the host's busy time),
 * over the interval between two readings of the host's busy time. A hook
 * that keeps its last reading (the loop reads /proc/stat only when the
 * vCPUs say something moved) defers the split to its next reading, which
 * then covers the whole gap; the samples in between carry the cumulative
 * values of the last split. */
#include "energy/energy.h"
#include "telemetry/tel_int.h"

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
	uint64_t cpu_ns[TEL_MAX_VCPUS], vcpu_uj[TEL_MAX_VCPUS], vm_uj = 0;
	struct energy_attr_out out = { .vcpu_uj = vcpu_uj, .vm_uj = &vm_uj };
	struct energy_attr_in in = {
		.nr_vcpus = s->nr_vcpus, .vcpu_cpu_ns = cpu_ns, .nr_vms = 1,
		.host_busy_ns = s->energy.host_busy_ns - t->attr_busy_ns,
		.pkg_delta_uj = s->energy.energy_uj - t->attr_uj,
	};
	int i;

	for (i = 0; i < s->nr_vcpus; i++)   /* a thread that restarted: no share */
		cpu_ns[i] = s->vcpu[i].cpu_time_ns > t->attr_cpu_ns[i] ?
			    s->vcpu[i].cpu_time_ns - t->attr_cpu_ns[i] : 0;
	if (energy_attribute(&in, &out))
		return;
	t->attr_have = true;
	t->attr_vm_uj += vm_uj;
	for (i = 0; i < s->nr_vcpus; i++)
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
