/* adapt: the simulator's physics (equations in adapt/sim.h). */
#include "adapt/sim_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Entity slots: vCPUs, workload noise threads, the experiment's host load,
 * background VM vCPUs. */
#define SLOT_NOISE ADAPT_MAX_VCPUS
#define SLOT_XLOAD (SLOT_NOISE + SIM_MAX_NOISE * 8)
#define SLOT_BG (SLOT_XLOAD + 8)

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

static double rnd(struct sim_engine *e)
{
	e->rng ^= e->rng << 13;
	e->rng ^= e->rng >> 7;
	e->rng ^= e->rng << 17;
	return (double)(e->rng >> 11) / 9007199254740992.0;
}

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

struct act { int slot, pin; double ips, mpki, wss_mib, mlp, pt, tlb; bool vcpu; int node_local; };

/* The entities that run now. */
static int active(struct sim_engine *e, double t, struct act *a, double *next_s)
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
		a[n++] = (struct act){ i, e->vpin[i], p->ips, p->llc_mpki, p->wss_mib, p->mlp,
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
			a[n++] = (struct act){ SLOT_NOISE + i * 8 + k,
				z->nr_cpus ? pu_of_os(e, z->cpus[k % z->nr_cpus]) : -1, 2e9,
				z->kind ? 60 : 0, z->kind ? 64 : 0.1, 8, 0, 0, false, -2 };
	}
	for (k = 0; e->xload_on && k < e->xload.threads && k < 8; k++)
		a[n++] = (struct act){ SLOT_XLOAD + k,
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
			a[n++] = (struct act){ SLOT_BG + i * 16 + k, -1, b->ips, b->llc_mpki, b->wss_mib,
				b->mlp, 0, 0, false, -2 };
	}
	return n;
}

/* Pinned first, then each floating one on the least-loaded PU (its last PU
 * on a tie, then the lowest). */
static void place(struct sim_engine *e, struct act *a, int n, int *load)
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

static void migrate(struct sim_engine *e, double dt)
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

static void chunk(struct sim_engine *e, struct act *a, int n, double dt)
{
	const struct adapt_sim_model *m = e->m;
	int load[SIM_MAX_PUS], core_busy[SIM_MAX_PUS] = { 0 }, i, it, k;
	double wss[SIM_MAX_PUS] = { 0 }, u[SIM_NODES] = { 0 }, traffic[SIM_NODES], rate[SIM_MAX_ENTS] = { 0 };
	double mpki[SIM_MAX_ENTS], f = 1, p0, gs = m->guest_speed, l3 = m->l3_mib;

	place(e, a, n, load);
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
	migrate(e, dt);
}

void sim_engine_advance(struct sim_engine *e, uint64_t dt_ns)
{
	struct act a[SIM_MAX_ENTS];
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
		n = active(e, t, a, &next_s);
		nx = next_s < 1e9 * 1e6 ? (uint64_t)ceil(next_s * 1e9) : UINT64_MAX;
		if (nx > e->now_ns && nx < next)
			next = nx;
		if (e->pin_pending && e->pin_at_ns > e->now_ns && e->pin_at_ns < next)
			next = e->pin_at_ns;
		if (next <= e->now_ns)
			next = e->now_ns + 1000;
		chunk(e, a, n, (double)(next - e->now_ns) / 1e9);
		e->now_ns = next;
	}
}
