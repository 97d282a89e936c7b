/* coremap explicit maps from the profile: validated against the topology (pure). */
#include "coremap/plan_int.h"

#include <errno.h>
#include <stdio.h>

void cm_cpu_range_text(const struct coremap_topo *t, char *buf, size_t len)
{
	int lo = -1, hi = -1, i;

	for (i = 0; i < coremap_topo_nr_pus(t); i++) {
		int os = coremap_topo_pu_os_index(t, i);

		lo = lo < 0 || os < lo ? os : lo;
		hi = os > hi ? os : hi;
	}
	snprintf(buf, len, "this topology has %d CPUs, %d-%d", coremap_topo_nr_pus(t), lo, hi);
}

int cm_plan_explicit(const struct cm_plan *p, int nr_vcpus, const struct coremap_goal *g,
		     int *out, char *why, size_t len)
{
	const struct coremap_topo *t = p->t;
	char range[64];
	int i;

	if (!g || !g->explicit_map || g->nr_explicit <= 0) {
		cm_why(why, len, "explicit map is empty: give one CPU per vCPU (%d vCPUs)",
		       nr_vcpus);
		return -EINVAL;
	}
	if (g->nr_explicit < nr_vcpus) {
		cm_why(why, len, "explicit map has %d entries for %d vCPUs: give one CPU "
		       "per vCPU", g->nr_explicit, nr_vcpus);
		return -EINVAL;
	}
	for (i = 0; i < nr_vcpus; i++) {
		int cpu = g->explicit_map[i], pu = coremap_topo_pu_by_os(t, cpu);

		if (pu < 0) {
			cm_cpu_range_text(t, range, sizeof(range));
			cm_why(why, len, "explicit map: vCPU %d -> CPU %d is out of range (%s; "
			       "an offline CPU is not listed)", i, cpu, range);
			return -EINVAL;
		}
		if (!p->pu[pu].online) {
			cm_why(why, len, "explicit map: vCPU %d -> CPU %d is offline or not "
			       "allowed for this process", i, cpu);
			return -EINVAL;
		}
		if (!p->eligible[pu]) {
			cm_why(why, len, "explicit map: vCPU %d -> CPU %d is a reserved "
			       "housekeeping CPU", i, cpu);
			return -EINVAL;
		}
		out[i] = cpu;
	}
	cm_why(why, len, "explicit map from the profile");
	return 0;
}

