/* adapt: one chunk of simulated time over which nothing changes (equations
 * in adapt/sim.h): cache sharing, memory latency under load, page walks and
 * shadow-paging exits set each entity's instruction rate; the power cap
 * sets the frequency; the counters, energy and busy times accumulate, then
 * migrations progress (sim_migrate.c). */
#include "adapt/sim_int.h"

#include <math.h>
#include <string.h>

static double rnd(struct sim_engine *e)
{
	e->rng ^= e->rng << 13;
	e->rng ^= e->rng >> 7;
	e->rng ^= e->rng << 17;
	return (double)(e->rng >> 11) / 9007199254740992.0;
}

static double walk_cycles(const struct sim_engine *e)
{
	const struct adapt_sim_model *m = e->m;

	if (e->mode != ADAPT_PG_NESTED)
		return m->native_walk_cycles;
	return m->nested_walk_cycles_4k * (1 - e->b2m) + m->nested_walk_cycles_2m * e->b2m;
}

/* Power at frequency factor f; busy cores from the PU loads. */
static double power(const struct sim_engine *e, const int *load, const double *node_traffic, double f)
{
	const struct adapt_sim_model *m = e->m;
	double p = 0, rank_b = m->rank_gib * (double)(1ull << 30);
	int core_seen[SIM_MAX_PUS] = { 0 }, pkg_busy[SIM_MAX_PUS] = { 0 }, i, n;

	for (i = 0; i < e->nr_pus; i++) {
		if (load[i])
			pkg_busy[e->pu_pkg[i] % SIM_MAX_PUS] = 1;
		if (load[i] && !core_seen[e->pu_core[i] % SIM_MAX_PUS]++)
			p += m->core_busy_w * f * f;
	}
	for (i = 0; i < e->nr_pkgs; i++)   /* a package with no busy core sleeps */
		p += pkg_busy[i] ? m->pkg_idle_w : m->pkg_sleep_w >= 0 ? m->pkg_sleep_w : m->pkg_idle_w;
	for (n = 0; n < e->nr_nodes; n++) {
		double ranks = ceil(e->frac[n] * (double)e->mem_bytes / rank_b - 1e-9);

		if (ranks < 1 && node_traffic[n] > 0)
			ranks = 1;
		p += m->dram_rank_w * ranks;
	}
	return p;
}

void sim_chunk(struct sim_engine *e, struct sim_runnable *a, int n, double dt)
{
	const struct adapt_sim_model *m = e->m;
	int load[SIM_MAX_PUS], core_busy[SIM_MAX_PUS] = { 0 }, i, it, k;
	double wss[SIM_MAX_PUS] = { 0 }, u[SIM_NODES] = { 0 }, traffic[SIM_NODES], rate[SIM_MAX_ENTS] = { 0 };
	double mpki[SIM_MAX_ENTS], f = 1, p0, gs = m->guest_speed, l3 = m->l3_mib;

	sim_place(e, a, n, load);
	for (i = 0; i < e->nr_pus; i++) {
		e->pu_busy[i] = load[i] ? 1 : 0;
		e->host_busy_s += e->pu_busy[i] * dt;
		if (load[i])
			core_busy[e->pu_core[i] % SIM_MAX_PUS]++;
	}
	for (i = 0; i < n; i++)
		wss[e->pu_l3[e->ent[a[i].slot].pu] % SIM_MAX_PUS] += a[i].wss_mib;
	for (i = 0; i < n; i++) {
		double r = wss[e->pu_l3[e->ent[a[i].slot].pu] % SIM_MAX_PUS] / l3;

		mpki[i] = a[i].mpki * sqrt(r < 1 ? 1 : r > 4 ? 4 : r);
	}
	memset(traffic, 0, sizeof(traffic));
	for (it = 0; it < 4; it++) {
		double nt[SIM_NODES] = { 0 };

		for (i = 0; i < n; i++) {
			int pu = e->ent[a[i].slot].pu, nd = e->pu_node[pu];
			double lat = 0, tau, share = 1.0 / load[pu];

			if (core_busy[e->pu_core[pu] % SIM_MAX_PUS] > 1)
				share *= m->smt_throughput / 2;
			for (k = 0; k < e->nr_nodes; k++) {
				double fr = a[i].vcpu ? e->vfrac[a[i].slot][k] : (k == nd);
				double uu = u[k] > 0.95 ? 0.95 : u[k];

				lat += fr * m->lat_ns * (k == nd ? 1 : m->remote_factor) * (1 + uu * uu / (1 - uu));
			}
			tau = 1 / (a[i].ips * f) + mpki[i] / 1000 * lat * 1e-9 / a[i].mlp;
			if (a[i].vcpu) {
				double tlb = a[i].tlb * (1 - e->b2m * (1 - m->tlb_2m_factor));

				tau += tlb / 1000 * walk_cycles(e) / (m->ghz * 1e9 * f);
				if (e->mode != ADAPT_PG_NESTED)
					tau += a[i].pt / a[i].ips * m->shadow_exit_ns * 1e-9;
			}
			rate[i] = share * (a[i].vcpu ? gs : 1) / tau;   /* instructions per second of wall time */
			for (k = 0; k < e->nr_nodes; k++)
				nt[k] += rate[i] * mpki[i] / 1000 * 64 * (a[i].vcpu ? e->vfrac[a[i].slot][k] : (k == nd));
		}
		for (k = 0; k < e->nr_nodes; k++) {
			u[k] = it ? (u[k] + nt[k] / (m->bw_gbs * 1e9)) / 2 : nt[k] / (m->bw_gbs * 1e9);
			traffic[k] = nt[k];
		}
		if (it == 0) {   /* the power cap sets f before the memory iterations settle */
			p0 = power(e, load, traffic, 1);
			if (e->cap_w > 0 && p0 > e->cap_w) {
				double stat = power(e, load, traffic, 0), dyn = p0 - stat;

				f = dyn > 0 ? sqrt(fmax(0.09, (e->cap_w - stat) / dyn)) : 1;
				f = f > 1 ? 1 : f;
			}
		}
	}
	e->f = f;
	e->power_w = power(e, load, traffic, f);
	e->energy_j += e->power_w * dt;
	for (i = 0; i < n; i++) {
		int v = a[i].slot, pu = e->ent[v].pu;
		double on = dt / load[pu], run = on, ins, jit;

		if (!a[i].vcpu)
			continue;
		e->vpu[v] = pu;
		e->cpu_s[v] += on;
		e->delay_s[v] += dt - on;
		if (e->refill_s[v] > 0) {        /* a moved vCPU refills its cache */
			double r = e->refill_s[v] < on ? e->refill_s[v] : on;

			e->refill_s[v] -= r;
			run -= r;
		}
		jit = 1 + m->jitter_pct / 100 * (2 * rnd(e) - 1);
		ins = rate[i] * (run / on) * dt * jit;
		e->instr[v] += ins;
		e->instr_total += ins;
		e->cycles[v] += on * m->ghz * 1e9 * f * gs;
		e->llc[v] += ins * mpki[i] / 1000;
		{
			double tlb = ins * a[i].tlb * (1 - e->b2m * (1 - m->tlb_2m_factor)) / 1000;

			e->dtlb[v] += tlb;
			e->walk[v] += tlb * walk_cycles(e);
		}
		if (e->mode != ADAPT_PG_NESTED)
			e->pf[v] += ins * a[i].pt / a[i].ips / gs;
		e->exits[v] += on * m->base_exits_per_s + (e->mode != ADAPT_PG_NESTED ? ins * a[i].pt / a[i].ips / gs : 0);
		e->busy_s += on;
	}
	sim_migrate(e, dt);
}
