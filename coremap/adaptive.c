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
#include <string.h>

#define W_SHARE_PU   1000.0 /* another of our vCPUs already on that CPU */
#define W_SHARE_CORE 100.0  /* ... on its SMT sibling */
#define W_HOST_LOAD  2.0    /* per % of host (non-vCPU) load */
#define W_NOISY      50.0   /* the current CPU of a delayed vCPU, without busy data */
#define W_SPREAD     200.0  /* per memory-intensive vCPU already in the domain */
#define W_NEW_DOMAIN 40.0   /* packing: opening an unused pack domain (> W_STAY) */
#define W_STAY       30.0   /* staying where it is: a move must gain 15% host load */
#define W_ORDER      0.001  /* tie-break: pack order */

#define COST_EPS     1e-6   /* far above the rounding of any cost sum here */

struct vc {
	bool mem, delayed;
	int cur;      /* logical PU or -1 */
};

/* Members of each group (core, pack domain, memory domain), CSR form. */
struct groups {
	int *start; /* [nr + 1] */
	int *pu;    /* [n] */
};

static double finite_or(double x, double dflt)
{
	return isfinite(x) ? x : dflt;
}

static void build_groups(const int *id, int nr, int n, int *start, int *members)
{
	int i;

	memset(start, 0, sizeof(int) * (size_t)(nr + 1));
	for (i = 0; i < n; i++)
		start[id[i] + 1]++;
	for (i = 0; i < nr; i++)
		start[i + 1] += start[i];
	for (i = 0; i < n; i++) /* start[g] runs ahead while filling ... */
		members[start[id[i]]++] = i;
	for (i = nr; i > 0; i--) /* ... and is put back */
		start[i] = start[i - 1];
	start[0] = 0;
}

/* Host load per PU: busy % minus the cpu % of our vCPUs that ran there
 * (subtracted in vCPU order). */
static void host_load(const struct cm_plan *p, const struct coremap_vcpu_metrics *m,
		      const struct vc *v, int nr, const struct coremap_goal *g, double *load)
{
	int i, j;

	for (i = 0; i < p->n; i++) {
		int os = p->pu[i].os_index;

		load[i] = !g->pu_busy_pct || os >= g->nr_pu_busy ? NAN :
			  finite_or(g->pu_busy_pct[os], 0);
	}
	for (j = 0; j < nr; j++)
		if (v[j].cur >= 0 && !isnan(load[v[j].cur]))
			load[v[j].cur] -= finite_or(m[j].cpu_pct, 0);
	for (i = 0; i < p->n; i++)
		load[i] = isnan(load[i]) ? 0 : load[i] < 0 ? 0 : load[i] > 100 ? 100 : load[i];
}

/* The cost of vCPU self on pu, summed term by term over the vCPUs placed
 * so far: the reference the fast path below is checked against. */
static double cost(const struct cm_plan *p, const struct coremap_goal *g, const struct vc *v,
		   int self, int nr, const int *assigned, const double *load,
		   const bool *noisy, int pu)
{
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
		else if (p->core_id[q] == p->core_id[pu])
			c += W_SHARE_CORE;
		if (v[self].mem && !g->prefer_energy && v[j].mem && p->mdom[q] == p->mdom[pu])
			c += W_SPREAD;
		if (p->pdom[q] == p->pdom[pu])
			domain_used = true;
	}
	if (!(v[self].mem && !g->prefer_energy) && !domain_used)
		c += W_NEW_DOMAIN;
	return c;
}

static void explain(const struct cm_plan *p, const struct coremap_vcpu_metrics *m,
		    const struct vc *v, int i, int to, const double *load, char *why, size_t len)
{
	int os_to = p->pu[to].os_index;

	if (!why || len == 0 || strnlen(why, len) >= len - 1)
		return; /* full: nothing more would show */
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

/* Working memory of one adaptive plan. */
struct work {
	struct vc *v;
	int *assigned;      /* [nr] logical PU or -1 */
	double *load;       /* [n] host load % */
	bool *noisy;        /* [n] */
	/* [n] cost per PU for the next vCPU, kept up to date as vCPUs are
	 * placed (INFINITY: not eligible); the stay bonus is not in it */
	double *c_spread;   /* memory-intensive vCPUs under a performance goal */
	double *c_pack;     /* everything else */
	bool *pdom_used;    /* [nr_pdom] */
	struct groups core, pdom, mdom;
};

static int work_alloc(const struct cm_plan *p, int nr, struct work *w)
{
	size_t n = (size_t)p->n;

	memset(w, 0, sizeof(*w));
	w->load = malloc(sizeof(double) * 3 * n);
	w->v = calloc((size_t)nr, sizeof(*w->v));
	w->assigned = malloc(sizeof(int) * ((size_t)nr + 3 * n + 3 +
					    (size_t)p->nr_core_ids + (size_t)p->nr_pdom +
					    (size_t)p->nr_mdom));
	w->noisy = calloc(n + (size_t)p->nr_pdom, sizeof(bool));
	if (!w->load || !w->v || !w->assigned || !w->noisy)
		return -ENOMEM;
	w->c_spread = w->load + n;
	w->c_pack = w->c_spread + n;
	w->core.pu = w->assigned + nr;
	w->pdom.pu = w->core.pu + n;
	w->mdom.pu = w->pdom.pu + n;
	w->core.start = w->mdom.pu + n;
	w->pdom.start = w->core.start + p->nr_core_ids + 1;
	w->mdom.start = w->pdom.start + p->nr_pdom + 1;
	w->pdom_used = w->noisy + n;
	return 0;
}

static void work_free(struct work *w)
{
	free(w->noisy);
	free(w->assigned);
	free(w->v);
	free(w->load);
}

/*
 * The cheapest eligible PU for vCPU i (lowest index on a tie). The costs
 * are sums kept per PU as vCPUs are placed, so this is O(PUs) per vCPU with
 * no branch in the scans; PUs within COST_EPS of the best, whose order could
 * depend on how the sums were rounded, are compared again with the
 * reference cost().
 */
static int best_pu(const struct cm_plan *p, const struct coremap_goal *g, struct work *w,
		   int i, int nr)
{
	double *c = w->v[i].mem && !g->prefer_energy ? w->c_spread : w->c_pack;
	double m0 = INFINITY, m1 = INFINITY, m2 = INFINITY, m3 = INFINITY, best_c, lim;
	double saved = 0;
	int pu, best, nr_near = 0, cur = w->v[i].cur, n = p->n;

	if (cur >= 0) { /* staying put is cheaper by W_STAY */
		saved = c[cur];
		c[cur] = saved - W_STAY;
	}
	/* four independent minimum chains */
	for (pu = 0; pu + 3 < n; pu += 4) {
		m0 = c[pu] < m0 ? c[pu] : m0;
		m1 = c[pu + 1] < m1 ? c[pu + 1] : m1;
		m2 = c[pu + 2] < m2 ? c[pu + 2] : m2;
		m3 = c[pu + 3] < m3 ? c[pu + 3] : m3;
	}
	for (; pu < n; pu++)
		m0 = c[pu] < m0 ? c[pu] : m0;
	m0 = m1 < m0 ? m1 : m0;
	m2 = m3 < m2 ? m3 : m2;
	best_c = m2 < m0 ? m2 : m0;
	/* the first PU at the best cost, and whether another one is close */
	lim = best_c + COST_EPS;
	for (pu = 0, best = -1; pu < n; pu++)
		if (c[pu] <= lim) { /* usually one PU: then it is the best */
			best = best < 0 ? pu : best;
			nr_near++;
		}
	if (nr_near > 1) {
		best_c = INFINITY;
		for (pu = 0; pu < n; pu++) {
			double x;

			if (c[pu] > lim)
				continue;
			x = cost(p, g, w->v, i, nr, w->assigned, w->load, w->noisy, pu);
			if (x < best_c) {
				best_c = x;
				best = pu;
			}
		}
	}
	if (cur >= 0)
		c[cur] = saved;
	return best;
}

/* vCPU i now runs on q: update the sums the next vCPUs see. */
static void place(const struct cm_plan *p, struct work *w, int i, int q)
{
	int k;

	w->assigned[i] = q;
	for (k = w->core.start[p->core_id[q]]; k < w->core.start[p->core_id[q] + 1]; k++) {
		int x = w->core.pu[k];
		double add = x == q ? W_SHARE_PU : W_SHARE_CORE;

		w->c_spread[x] += add;
		w->c_pack[x] += add;
	}
	if (w->v[i].mem)
		for (k = w->mdom.start[p->mdom[q]]; k < w->mdom.start[p->mdom[q] + 1]; k++)
			w->c_spread[w->mdom.pu[k]] += W_SPREAD;
	if (!w->pdom_used[p->pdom[q]]) {
		w->pdom_used[p->pdom[q]] = true;
		for (k = w->pdom.start[p->pdom[q]]; k < w->pdom.start[p->pdom[q] + 1]; k++)
			w->c_pack[w->pdom.pu[k]] -= W_NEW_DOMAIN;
	}
}

int cm_plan_adaptive(const struct cm_plan *p, const struct coremap_vcpu_metrics *m,
		     int nr, const struct coremap_goal *g, int *out, char *why, size_t len)
{
	struct work w;
	int i, pu, pass, rc = -ENOMEM;

	if (work_alloc(p, nr, &w) < 0)
		goto out;
	for (i = 0; i < nr; i++) {
		double llc = finite_or(m[i].llc_misses_per_kinstr, -1);
		struct vc *v = &w.v[i];

		v->mem = llc >= 0 && llc >= g->memory_intensive_llc_per_kinstr;
		v->delayed = g->noisy_run_delay_pct > 0 &&
			     finite_or(m[i].run_delay_pct, 0) >= g->noisy_run_delay_pct;
		v->cur = m[i].cur_pcpu >= 0 ? coremap_topo_pu_by_os(p->t, m[i].cur_pcpu) : -1;
		if (v->cur < 0)
			v->cur = -1;
		if (v->delayed && v->cur >= 0)
			w.noisy[v->cur] = true;
		w.assigned[i] = -1;
	}
	host_load(p, m, w.v, nr, g, w.load);
	for (pu = 0; pu < p->n; pu++) {
		double c = W_HOST_LOAD * w.load[pu] + W_ORDER * p->pack_pos[pu];

		if (w.noisy[pu] && !g->pu_busy_pct)
			c += W_NOISY;
		w.c_spread[pu] = p->eligible[pu] ? c : INFINITY;
		w.c_pack[pu] = p->eligible[pu] ? c + W_NEW_DOMAIN : INFINITY;
	}
	build_groups(p->core_id, p->nr_core_ids, p->n, w.core.start, w.core.pu);
	build_groups(p->pdom, p->nr_pdom, p->n, w.pdom.start, w.pdom.pu);
	build_groups(p->mdom, p->nr_mdom, p->n, w.mdom.start, w.mdom.pu);
	cm_why(why, len, "adaptive (%s goal)", g->prefer_energy ? "energy" : "performance");
	/* memory-intensive first, then compute; quiet before delayed */
	for (pass = 0; pass < 4; pass++) {
		for (i = 0; i < nr; i++) {
			int best;

			if (w.v[i].mem != (pass < 2) || w.v[i].delayed != (pass % 2 == 1))
				continue;
			best = best_pu(p, g, &w, i, nr);
			place(p, &w, i, best);
			out[i] = p->pu[best].os_index;
			explain(p, m, w.v, i, best, w.load, why, len);
		}
	}
	if (nr > p->nr_eligible)
		cm_why(why, len, "; oversubscribed: %d vCPUs on %d CPUs", nr, p->nr_eligible);
	rc = 0;
out:
	work_free(&w);
	return rc;
}
