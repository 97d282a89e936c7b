/* adapt: the simulator's entities that run at a virtual time: the phase
 * each vCPU runs, the workload's noise threads, the experiment's host load
 * and background VMs' vCPUs, each in its slot; and where each runs (pinned
 * first, then the least-loaded PU, as the host scheduler would). */
#include "adapt/sim_int.h"

#include <math.h>
#include <string.h>

/* Entity slots: vCPUs, workload noise threads, the experiment's host load,
 * background VM vCPUs. */
#define SLOT_NOISE ADAPT_MAX_VCPUS
#define SLOT_XLOAD (SLOT_NOISE + SIM_MAX_NOISE * 8)
#define SLOT_BG (SLOT_XLOAD + 8)

const struct adapt_sim_phase *sim_phase_at(const struct adapt_sim_workload *w, int v, double t, double *next_s)
{
	const struct adapt_sim_phase *last = NULL;
	double len = 0, start = 0;
	int i;

	for (i = 0; i < w->nr_phases; i++)
		if (w->ph[i].vcpus >> v & 1)
			len += w->ph[i].dur_s;
	if (len <= 0)
		return NULL;
	if (w->cycle && t >= len)
		start = floor(t / len) * len;
	for (i = 0; i < w->nr_phases; i++) {
		if (!(w->ph[i].vcpus >> v & 1))
			continue;
		last = &w->ph[i];
		if (t < start + w->ph[i].dur_s) {
			*next_s = start + w->ph[i].dur_s;
			return last;
		}
		start += w->ph[i].dur_s;
	}
	*next_s = 1e18;   /* past the last phase: it goes on */
	return last;
}

static int pu_of_os(const struct sim_engine *e, int os)
{
	int pu = coremap_topo_pu_by_os(e->topo, os);

	return pu >= 0 && pu < e->nr_pus ? pu : -1;
}


/* The entities that run now. */
int sim_active(struct sim_engine *e, double t, struct sim_runnable *a, double *next_s)
{
	const struct adapt_sim_workload *w = e->w;
	int n = 0, i, k;

	for (i = 0; i < e->nr_vcpus; i++) {
		double nx = 1e18;
		const struct adapt_sim_phase *p = sim_phase_at(w, i, t, &nx);

		if (nx < *next_s)
			*next_s = nx;
		if (!p)
			continue;
		a[n++] = (struct sim_runnable){ i, e->vpin[i], p->ips, p->llc_mpki, p->wss_mib, p->mlp,
			p->pt_updates_per_s, p->tlb_mpki, true, -1 };
	}
	for (i = 0; i < w->nr_noise; i++) {
		const struct adapt_sim_noise *z = &w->noise[i];
		bool on = t >= z->start_s && (z->stop_s <= 0 || t < z->stop_s);

		if (z->start_s > t && z->start_s < *next_s)
			*next_s = z->start_s;
		if (z->stop_s > t && z->stop_s < *next_s)
			*next_s = z->stop_s;
		for (k = 0; on && k < z->threads && k < 8; k++)
			a[n++] = (struct sim_runnable){ SLOT_NOISE + i * 8 + k,
				z->nr_cpus ? pu_of_os(e, z->cpus[k % z->nr_cpus]) : -1, 2e9,
				z->kind ? 60 : 0, z->kind ? 64 : 0.1, 8, 0, 0, false, -2 };
	}
	for (k = 0; e->xload_on && k < e->xload.threads && k < 8; k++)
		a[n++] = (struct sim_runnable){ SLOT_XLOAD + k,
			e->xload.nr_cpus ? pu_of_os(e, e->xload.cpus[k % e->xload.nr_cpus]) : -1, 2e9,
			e->xload.kind ? 60 : 0, e->xload.kind ? 64 : 0.1, 8, 0, 0, false, -2 };
	for (i = 0; i < w->nr_bgvms; i++) {
		const struct adapt_sim_bgvm *b = &w->bg[i];
		bool on = t >= b->arrive_s && (b->depart_s <= 0 || t < b->depart_s);

		if (b->arrive_s > t && b->arrive_s < *next_s)
			*next_s = b->arrive_s;
		if (b->depart_s > t && b->depart_s < *next_s)
			*next_s = b->depart_s;
		for (k = 0; on && k < b->vcpus && k < 16; k++)
			a[n++] = (struct sim_runnable){ SLOT_BG + i * 16 + k, -1, b->ips, b->llc_mpki, b->wss_mib,
				b->mlp, 0, 0, false, -2 };
	}
	return n;
}

/* Pinned first, then each floating one on the least-loaded PU (its last PU
 * on a tie, then the lowest). */
void sim_place(struct sim_engine *e, struct sim_runnable *a, int n, int *load)
{
	int i, p;

	memset(load, 0, sizeof(int) * (size_t)e->nr_pus);
	for (i = 0; i < n; i++)
		if (a[i].pin >= 0)
			load[a[i].pin]++;
	int pkg[SIM_MAX_PUS] = { 0 };

	for (p = 0; p < e->nr_pus; p++)
		pkg[e->pu_pkg[p] % SIM_MAX_PUS] += load[p];
	for (i = 0; i < n; i++) {
		int best = -1, last = e->ent[a[i].slot].pu;

		if (a[i].pin >= 0) {
			e->ent[a[i].slot].pu = a[i].pin;
			continue;
		}
		/* least-loaded PU; ties: the last one, then the least-loaded
		 * package (the scheduler spreads over idle packages), the lowest */
		for (p = 0; p < e->nr_pus; p++) {
			if (best >= 0 && load[p] > load[best])
				continue;
			if (best < 0 || load[p] < load[best] || (best != last && p == last) ||
			    (best != last && pkg[e->pu_pkg[p] % SIM_MAX_PUS] < pkg[e->pu_pkg[best] % SIM_MAX_PUS]))
				best = p;
		}
		load[best]++;
		pkg[e->pu_pkg[best] % SIM_MAX_PUS]++;
		e->ent[a[i].slot].pu = best;
	}
}
