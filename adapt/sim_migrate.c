/* adapt: the simulated VM's memory placement: the VM's share of guest RAM
 * per node, the share still to move, and the page migration and 2 MiB
 * collapse that progress each chunk under their quotas. */
#include "adapt/sim_int.h"

#include <math.h>
#include <string.h>

/* The VM's share per node: the mean of the vCPUs' shares. */
void sim_frac_update(struct sim_engine *e)
{
	int v, n;

	memset(e->frac, 0, sizeof(e->frac));
	for (v = 0; v < e->nr_vcpus; v++)
		for (n = 0; n < e->nr_nodes; n++)
			e->frac[n] += e->vfrac[v][n] / e->nr_vcpus;
}

double sim_mig_left(const struct sim_engine *e)
{
	double d = 0;
	int v, n;

	for (v = 0; v < e->nr_vcpus; v++)
		for (n = 0; n < e->nr_nodes; n++)
			d += fabs(e->vfrac[v][n] - e->vtgt[v][n]) / 2 / e->nr_vcpus;
	return d;
}

void sim_migrate(struct sim_engine *e, double dt)
{
	double d, rate, step;
	int n, v;

	if (e->migrating) {
		d = sim_mig_left(e);
		rate = e->m->migrate_ns_per_page > 0 ? 1e9 / e->m->migrate_ns_per_page : 1e12;
		if (e->mig_quota_mib_s > 0 && e->mig_quota_mib_s * 256 < rate)
			rate = e->mig_quota_mib_s * 256;
		step = rate * dt * 4096.0 / (double)e->mem_bytes;
		if (step >= d) {
			step = d;
			e->migrating = false;
		}
		for (v = 0; d > 0 && v < e->nr_vcpus; v++)
			for (n = 0; n < e->nr_nodes; n++)
				e->vfrac[v][n] += (e->vtgt[v][n] - e->vfrac[v][n]) * step / d;
		sim_frac_update(e);
		e->mig_pages_done += step * (double)e->mem_bytes / 4096;
		e->mig_bytes += (uint64_t)(step * (double)e->mem_bytes);
	}
	if (e->b2m != e->b2m_tgt) {
		double mib_s = e->m->collapse_ms_per_2m > 0 ? 2000.0 / e->m->collapse_ms_per_2m : 1e9;

		if (e->quota_mib_s > 0 && e->quota_mib_s < mib_s)
			mib_s = e->quota_mib_s;
		step = mib_s * dt * (double)(1 << 20) / (double)e->mem_bytes;
		if (fabs(e->b2m_tgt - e->b2m) <= step)
			e->b2m = e->b2m_tgt;
		else
			e->b2m += e->b2m_tgt > e->b2m ? step : -step;
		e->collapse_ok += (uint64_t)(step * (double)e->mem_bytes / (2 << 20));
	}
}
