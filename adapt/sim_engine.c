/* adapt: the simulator's engine (equations in adapt/sim.h): the machine
 * and VM set up from the model's topology, and virtual time advanced in
 * chunks cut at every phase, noise, arrival and pending pin, each chunk
 * run by sim_chunk (sim_chunk.c) on the entities that run then
 * (sim_active.c). */
#include "adapt/sim_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

int sim_engine_init(struct sim_engine *e, const struct adapt_sim_model *m,
		    const struct adapt_sim_workload *w, int nr_vcpus, uint64_t mem_bytes, uint64_t seed,
		    char *err, size_t err_len)
{
	int i, rc;

	memset(e, 0, sizeof(*e));
	e->m = m;
	e->w = w;
	if (nr_vcpus < 1 || nr_vcpus > ADAPT_MAX_VCPUS) {
		snprintf(err, err_len, "%d vCPUs: the simulator takes 1..%d", nr_vcpus, ADAPT_MAX_VCPUS);
		return -EINVAL;
	}
	rc = coremap_topo_load(m->topology, &e->topo);
	if (rc) {
		snprintf(err, err_len, "%s: topology '%s' does not load (%s): give an hwloc synthetic "
			 "string such as 'pack:2 numa:1 core:16 pu:1' or an XML path", m->path, m->topology,
			 strerror(-rc));
		return rc;
	}
	e->nr_pus = coremap_topo_nr_pus(e->topo);
	if (e->nr_pus > SIM_MAX_PUS) {
		snprintf(err, err_len, "%s: %d PUs; the simulator takes up to %d", m->path, e->nr_pus, SIM_MAX_PUS);
		coremap_topo_free(e->topo);
		return -E2BIG;
	}
	e->nr_pkgs = coremap_topo_nr_packages(e->topo);
	for (i = 0; i < e->nr_pus; i++) {
		int n = coremap_topo_pu_numa(e->topo, i), l3 = coremap_topo_pu_l3(e->topo, i);

		e->pu_os[i] = coremap_topo_pu_os_index(e->topo, i);
		e->pu_pkg[i] = coremap_topo_pu_package(e->topo, i);
		e->pu_core[i] = coremap_topo_pu_core(e->topo, i);
		e->pu_node[i] = n < 0 ? 0 : n % SIM_NODES;
		e->pu_l3[i] = l3 < 0 ? e->pu_pkg[i] : l3;
		if (e->pu_node[i] + 1 > e->nr_nodes)
			e->nr_nodes = e->pu_node[i] + 1;
		if (e->pu_l3[i] + 1 > e->nr_l3)
			e->nr_l3 = e->pu_l3[i] + 1;
		if (e->pu_pkg[i] + 1 > e->nr_pkgs)
			e->nr_pkgs = e->pu_pkg[i] + 1;
	}
	e->nr_vcpus = nr_vcpus;
	e->mem_bytes = mem_bytes ? mem_bytes : 1ull << 30;
	e->seed = e->rng = seed * 0x9E3779B97F4A7C15ull + 1;
	e->f = 1;
	for (i = 0; i < nr_vcpus; i++)
		e->vpin[i] = e->vpin_next[i] = e->vpu[i] = -1;
	for (i = 0; i < SIM_MAX_ENTS; i++)
		e->ent[i].pu = -1;
	e->frac[0] = 1;
	for (i = 0; i < nr_vcpus; i++)
		e->vfrac[i][0] = 1;
	return 0;
}

void sim_engine_free(struct sim_engine *e)
{
	coremap_topo_free(e->topo);
	e->topo = NULL;
}

void sim_engine_advance(struct sim_engine *e, uint64_t dt_ns)
{
	struct sim_runnable a[SIM_MAX_ENTS];
	uint64_t end = e->now_ns + dt_ns;

	while (e->now_ns < end) {
		double t = (double)e->now_ns / 1e9, next_s = 1e18;
		uint64_t next = end, nx;
		int n, i;

		if (e->pin_pending && e->now_ns >= e->pin_at_ns) {
			for (i = 0; i < e->nr_vcpus; i++) {
				const struct adapt_sim_phase *p = sim_phase_at(e->w, i, t, &next_s);

				/* a moved vCPU refills its working set from memory */
				if (p && e->vpin_next[i] >= 0 && e->vpu[i] >= 0 && e->vpin_next[i] != e->vpu[i])
					e->refill_s[i] += p->wss_mib * (1 << 20) / (e->m->bw_gbs * 1e9);
				e->vpin[i] = e->vpin_next[i];
			}
			e->pin_pending = false;
			next_s = 1e18;
		}
		n = sim_active(e, t, a, &next_s);
		nx = next_s < 1e9 * 1e6 ? (uint64_t)ceil(next_s * 1e9) : UINT64_MAX;
		if (nx > e->now_ns && nx < next)
			next = nx;
		if (e->pin_pending && e->pin_at_ns > e->now_ns && e->pin_at_ns < next)
			next = e->pin_at_ns;
		if (next <= e->now_ns)
			next = e->now_ns + 1000;
		sim_chunk(e, a, n, (double)(next - e->now_ns) / 1e9);
		e->now_ns = next;
	}
}
