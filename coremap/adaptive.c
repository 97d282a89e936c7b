/*
 * coremap adaptive strategy (pure): a greedy assignment by cost.
 *
 * After the HPDC 2012 vcore-mapping idea, memory-intensive vCPUs are spread
 * over memory domains (more cache and bandwidth) when the goal is
 * performance, and everything else is packed (fewer domains awake for the
 * same work). Noise avoidance: host load on a CPU (its busy % minus our own
 * vCPUs' share) costs; without per-CPU busy data the current CPU of a vCPU
 * with high run delay is marked noisy instead. So a delayed vCPU moves to
 * the quietest eligible CPU, but not when every CPU is as busy. Staying
 * where it is earns a small bonus, so a move must gain more than that (no
 * ping-pong between two similarly loaded CPUs).
 */
#include "coremap/plan_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

#define W_SHARE_PU   1000.0 /* another of our vCPUs already on that CPU */
#define W_SHARE_CORE 100.0  /* ... on its SMT sibling */
#define W_HOST_LOAD  2.0    /* per % of host (non-vCPU) load */
#define W_NOISY      50.0   /* the current CPU of a delayed vCPU, without busy data */
#define W_SPREAD     200.0  /* per memory-intensive vCPU already in the domain */
#define W_NEW_DOMAIN 40.0   /* packing: opening an unused pack domain (> W_STAY) */
#define W_STAY       30.0   /* staying where it is: a move must gain 15% host load */
#define W_ORDER      0.001  /* tie-break: pack order */

struct vc {
	bool mem, delayed;
	int cur;      /* logical PU or -1 */
};

static double finite_or(double x, double dflt)
{
	return isfinite(x) ? x : dflt;
}

static bool same_pack_domain(const struct coremap_topo *t, int a, int b)
{
	return coremap_topo_pu_package(t, a) == coremap_topo_pu_package(t, b) &&
	       coremap_topo_pu_l3(t, a) == coremap_topo_pu_l3(t, b);
}

/* Host load per PU: busy % minus the cpu % of our vCPUs that ran there. */
static void host_load(const struct cm_plan *p, const struct coremap_vcpu_metrics *m,
		      int nr, const struct coremap_goal *g, double *load)
{
	int i, j;

	for (i = 0; i < p->n; i++) {
		int os = coremap_topo_pu_os_index(p->t, i);
		double v;

		load[i] = 0;
		if (!g->pu_busy_pct || os >= g->nr_pu_busy)
			continue;
		v = finite_or(g->pu_busy_pct[os], 0);
		for (j = 0; j < nr; j++)
			if (m[j].cur_pcpu == os)
				v -= finite_or(m[j].cpu_pct, 0);
		load[i] = v < 0 ? 0 : v > 100 ? 100 : v;
	}
}

static double cost(const struct cm_plan *p, const struct coremap_goal *g, const struct vc *v,
		   int self, int nr, const int *assigned, const double *load,
		   const bool *noisy, int pu)
{
	const struct coremap_topo *t = p->t;
	bool domain_used = false;
	double c = W_HOST_LOAD * load[pu] + W_ORDER * p->pack_pos[pu];
	int j;

	if (noisy[pu] && !g->pu_busy_pct)
		c += W_NOISY;
	if (v[self].cur == pu)
		c -= W_STAY; /* a move must gain more than this (hysteresis) */
	for (j = 0; j < nr; j++) {
		int q = assigned[j];

		if (q < 0)
			continue;
		if (q == pu)
			c += W_SHARE_PU;
		else if (cm_same_core(t, q, pu))
			c += W_SHARE_CORE;
		if (v[self].mem && !g->prefer_energy && v[j].mem && cm_same_domain(t, q, pu))
			c += W_SPREAD;
		if (same_pack_domain(t, q, pu))
			domain_used = true;
	}
	if (!(v[self].mem && !g->prefer_energy) && !domain_used)
		c += W_NEW_DOMAIN;
	return c;
}

static void explain(const struct cm_plan *p, const struct coremap_vcpu_metrics *m,
		    const struct vc *v, int i, int to, const double *load, char *why, size_t len)
{
	int os_to = coremap_topo_pu_os_index(p->t, to);

	cm_why(why, len, "; vcpu%d %s", i, v[i].mem ? "memory-intensive" : "compute");
	if (m[i].llc_misses_per_kinstr < 0)
		cm_why(why, len, "(no LLC data)");
	if (v[i].delayed && v[i].cur >= 0)
		cm_why(why, len, " run delay %.0f%% on cpu%d (host load %.0f%%)",
		       m[i].run_delay_pct, m[i].cur_pcpu, load[v[i].cur]);
	if (v[i].cur == to)
		cm_why(why, len, " stays on cpu%d", os_to);
	else if (v[i].cur < 0)
		cm_why(why, len, " ->cpu%d (host load %.0f%%)", os_to, load[to]);
	else
		cm_why(why, len, " cpu%d->cpu%d (host load %.0f%%)", m[i].cur_pcpu, os_to,
		       load[to]);
}

int cm_plan_adaptive(const struct cm_plan *p, const struct coremap_vcpu_metrics *m,
		     int nr, const struct coremap_goal *g, int *out, char *why, size_t len)
{
	struct vc *v = calloc((size_t)nr, sizeof(*v));
	int *assigned = calloc((size_t)nr, sizeof(int));
	double *load = calloc((size_t)p->n, sizeof(double));
	bool *noisy = calloc((size_t)p->n, sizeof(bool));
	int i, pass, rc = -ENOMEM;

	if (!v || !assigned || !load || !noisy)
		goto out;
	host_load(p, m, nr, g, load);
	for (i = 0; i < nr; i++) {
		double llc = finite_or(m[i].llc_misses_per_kinstr, -1);

		v[i].mem = llc >= 0 && llc >= g->memory_intensive_llc_per_kinstr;
		v[i].delayed = g->noisy_run_delay_pct > 0 &&
			       finite_or(m[i].run_delay_pct, 0) >= g->noisy_run_delay_pct;
		v[i].cur = m[i].cur_pcpu >= 0 ? coremap_topo_pu_by_os(p->t, m[i].cur_pcpu) : -1;
		if (v[i].cur < 0)
			v[i].cur = -1;
		if (v[i].delayed && v[i].cur >= 0)
			noisy[v[i].cur] = true;
		assigned[i] = -1;
	}
	cm_why(why, len, "adaptive (%s goal)", g->prefer_energy ? "energy" : "performance");
	/* memory-intensive first, then compute; quiet before delayed */
	for (pass = 0; pass < 4; pass++) {
		for (i = 0; i < nr; i++) {
			double best_c = INFINITY;
			int pu, best = -1;

			if (v[i].mem != (pass < 2) || v[i].delayed != (pass % 2 == 1))
				continue;
			for (pu = 0; pu < p->n; pu++) {
				double c;

				if (!p->eligible[pu])
					continue;
				c = cost(p, g, v, i, nr, assigned, load, noisy, pu);
				if (c < best_c) {
					best_c = c;
					best = pu;
				}
			}
			assigned[i] = best;
			out[i] = coremap_topo_pu_os_index(p->t, best);
			explain(p, m, v, i, best, load, why, len);
		}
	}
	if (nr > p->nr_eligible)
		cm_why(why, len, "; oversubscribed: %d vCPUs on %d CPUs", nr, p->nr_eligible);
	rc = 0;
out:
	free(noisy);
	free(load);
	free(assigned);
	free(v);
	return rc;
}
