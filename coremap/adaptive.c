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

static double finite_or(double x, double dflt)
{
	return isfinite(x) ? x : dflt;
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

/* "; vcpuI <class> ...": what was decided for vCPU i, appended to the why
 * text until it is full (no printf). */
static void explain(const struct cm_plan *p, const struct coremap_vcpu_metrics *m,
		    const struct vc *v, int i, int to, const double *load, struct cm_text *tx)
{
	int os_to = p->pu[to].os_index;

	if (cm_text_full(tx))
		return; /* full: nothing more would show */
	cm_text_str(tx, "; vcpu");
	cm_text_int(tx, i);
	cm_text_str(tx, v[i].mem ? " memory-intensive" : " compute");
	if (m[i].llc_misses_per_kinstr < 0)
		cm_text_str(tx, "(no LLC data)");
	if (v[i].delayed && v[i].cur >= 0) {
		cm_text_str(tx, " run delay ");
		cm_text_f0(tx, m[i].run_delay_pct);
		cm_text_str(tx, "% on cpu");
		cm_text_int(tx, m[i].cur_pcpu);
		cm_text_str(tx, " (host load ");
		cm_text_f0(tx, load[v[i].cur]);
		cm_text_str(tx, "%)");
	}
	if (v[i].cur == to) {
		cm_text_str(tx, " stays on cpu");
		cm_text_int(tx, os_to);
		return;
	}
	if (v[i].cur < 0) {
		cm_text_str(tx, " ->cpu");
	} else {
		cm_text_str(tx, " cpu");
		cm_text_int(tx, m[i].cur_pcpu);
		cm_text_str(tx, "->cpu");
	}
	cm_text_int(tx, os_to);
	cm_text_str(tx, " (host load ");
	cm_text_f0(tx, load[to]);
	cm_text_str(tx, "%)");
}

/* Working memory of one adaptive plan. The cost of a PU for the next vCPU
 * is local[pu] (host load, pack order, noisy, sharing a core with vCPUs
 * placed so far) plus a term per domain: W_SPREAD per memory-intensive
 * vCPU in its memory domain (memory-intensive vCPUs under a performance
 * goal) or W_NEW_DOMAIN while its pack domain is unused (everything else).
 * The domain terms are constant over a cell (cm_pre), so the minimum of
 * local[] per cell, kept as vCPUs are placed, gives the cheapest PU in
 * O(cells) per vCPU. */
struct work {
	struct vc *v;
	int *assigned;      /* [nr] logical PU or -1 */
	double *load;       /* [n] host load % */
	bool *noisy;        /* [n] */
	double *local;      /* [n] INFINITY: not eligible; the stay bonus is not in it */
	double *cell_min;   /* [nr_cells] minimum of local[] over the cell ... */
	bool *cell_stale;   /* [nr_cells] ... unless stale */
	int *nr_mem;        /* [nr_mdom] memory-intensive vCPUs placed there */
	bool *pdom_used;    /* [nr_pdom] */
	/* [nr_cells] the domain term of the cell's PUs: W_SPREAD per
	 * memory-intensive vCPU in the memory domain; W_NEW_DOMAIN while the
	 * pack domain is unused */
	double *term_spread, *term_pack;
	int *order;         /* [nr] the vCPUs in placement order */
	void *heap;         /* beyond CM_STACK_PUS PUs or CM_STACK_VCPUS vCPUs */
};

struct work_stack {
	double d[5 * CM_STACK_PUS];
	struct vc v[CM_STACK_VCPUS];
	int ints[2 * CM_STACK_VCPUS + CM_STACK_PUS];
	bool b[3 * CM_STACK_PUS];
};

static int work_init(const struct cm_plan *p, int nr, struct work *w, struct work_stack *stk)
{
	size_t n = (size_t)p->n, nv = (size_t)nr;
	double *d = stk->d;
	struct vc *v = stk->v;
	int *ints = stk->ints;
	bool *b = stk->b;
	int c;

	memset(w, 0, sizeof(*w));
	if (n > CM_STACK_PUS || nv > CM_STACK_VCPUS) {
		w->heap = malloc(sizeof(double) * 5 * n + sizeof(struct vc) * nv +
				 sizeof(int) * (2 * nv + n) + sizeof(bool) * 3 * n);
		if (!w->heap)
			return -ENOMEM;
		d = w->heap;
		v = (struct vc *)(void *)(d + 5 * n);
		ints = (int *)(void *)(v + nv);
		b = (bool *)(void *)(ints + 2 * nv + n);
	}
	/* cells, memory and pack domains: at most n each */
	w->load = d;
	w->local = d + n;
	w->cell_min = d + 2 * n;
	w->term_spread = d + 3 * n;
	w->term_pack = d + 4 * n;
	w->v = v;
	w->assigned = ints;
	w->order = ints + nv;
	w->nr_mem = ints + 2 * nv;
	w->noisy = b;
	w->pdom_used = b + n;
	w->cell_stale = b + 2 * n;
	memset(b, 0, sizeof(bool) * 2 * n);
	memset(w->cell_stale, 1, sizeof(bool) * (size_t)p->pre->nr_cells);
	memset(w->nr_mem, 0, sizeof(int) * (size_t)p->nr_mdom);
	for (c = 0; c < p->pre->nr_cells; c++) {
		w->term_spread[c] = 0;
		w->term_pack[c] = W_NEW_DOMAIN;
	}
	return 0;
}

static inline double cell_min(const struct cm_pre *pre, struct work *w, int cell)
{
	if (w->cell_stale[cell]) {
		double m = INFINITY;
		int pu;

		for (pu = pre->cell_start[cell]; pu < pre->cell_start[cell + 1]; pu++)
			m = w->local[pu] < m ? w->local[pu] : m;
		w->cell_min[cell] = m;
		w->cell_stale[cell] = false;
	}
	return w->cell_min[cell];
}

/*
 * The cheapest eligible PU for vCPU i (lowest index on a tie). Costs are
 * within rounding of the reference cost(); PUs within COST_EPS of the
 * best, whose order could depend on that rounding, are compared again with
 * cost().
 */
static int best_pu(const struct cm_plan *p, const struct coremap_goal *g, struct work *w,
		   int i, int nr)
{
	const struct cm_pre *pre = p->pre;
	bool sp = w->v[i].mem && !g->prefer_energy;
	const double *term = sp ? w->term_spread : w->term_pack;
	double best_c = INFINITY, lim, saved = 0, saved_min = 0;
	int c, pu, best = -1, nr_near = 0, cur = w->v[i].cur, cc = -1;

	if (cur >= 0) { /* staying put is cheaper by W_STAY */
		cc = pre->cell_of[cur];
		saved_min = cell_min(pre, w, cc);
		saved = w->local[cur];
		w->local[cur] = saved - W_STAY;
		w->cell_min[cc] = w->local[cur] < saved_min ? w->local[cur] : saved_min;
	}
	for (c = 0; c < pre->nr_cells; c++) {
		double x = cell_min(pre, w, c) + term[c];

		best_c = x < best_c ? x : best_c;
	}
	/* the first PU at the best cost, and whether another one is close */
	lim = best_c + COST_EPS;
	for (c = 0; c < pre->nr_cells; c++) {
		if (w->cell_min[c] + term[c] > lim)
			continue;
		for (pu = pre->cell_start[c]; pu < pre->cell_start[c + 1]; pu++)
			if (w->local[pu] + term[c] <= lim) { /* usually one PU: then it is the best */
				best = best < 0 ? pu : best;
				nr_near++;
			}
	}
	if (nr_near > 1) {
		best_c = INFINITY;
		for (c = 0; c < pre->nr_cells; c++) {
			for (pu = pre->cell_start[c]; pu < pre->cell_start[c + 1]; pu++) {
				double x;

				if (w->local[pu] + term[c] > lim)
					continue;
				x = cost(p, g, w->v, i, nr, w->assigned, w->load, w->noisy, pu);
				if (x < best_c) {
					best_c = x;
					best = pu;
				}
			}
		}
	}
	if (cur >= 0) {
		w->local[cur] = saved;
		w->cell_min[cc] = saved_min;
	}
	return best;
}

/* vCPU i now runs on q: update what the next vCPUs see. */
static void place(const struct cm_plan *p, struct work *w, int i, int q)
{
	const struct cm_pre *pre = p->pre;
	int k, g = p->core_id[q];

	w->assigned[i] = q;
	for (k = pre->core_start[g]; k < pre->core_start[g + 1]; k++) {
		int x = pre->core_pu[k];

		w->local[x] += x == q ? W_SHARE_PU : W_SHARE_CORE;
		w->cell_stale[pre->cell_of[x]] = true;
	}
	g = p->mdom[q];
	if (w->v[i].mem) {
		w->nr_mem[g]++;
		for (k = 0; k < pre->nr_cells; k++)
			if (pre->cell_mdom[k] == g)
				w->term_spread[k] = W_SPREAD * w->nr_mem[g];
	}
	g = p->pdom[q];
	if (!w->pdom_used[g]) {
		w->pdom_used[g] = true;
		for (k = 0; k < pre->nr_cells; k++)
			if (pre->cell_pdom[k] == g)
				w->term_pack[k] = 0;
	}
}

int cm_plan_adaptive(const struct cm_plan *p, const struct coremap_vcpu_metrics *m,
		     int nr, const struct coremap_goal *g, int *out, char *why, size_t len)
{
	struct work_stack stk;
	struct cm_text tx;
	struct work w;
	int i, k, pu, pass, cnt[5] = { 0 };

	if (work_init(p, nr, &w, &stk) < 0) {
		cm_why(why, len, "adaptive mapping: out of memory for %d vCPUs on %d CPUs", nr, p->n);
		return -ENOMEM;
	}
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
		w.local[pu] = p->eligible[pu] ? c : INFINITY;
	}
	cm_why(why, len, "adaptive (%s goal)", g->prefer_energy ? "energy" : "performance");
	cm_text_init(&tx, why, len);
	/* memory-intensive first, then compute; quiet before delayed */
	for (i = 0; i < nr; i++) /* the pass of each vCPU, 0..3 */
		cnt[1 + 2 * !w.v[i].mem + w.v[i].delayed]++;
	for (pass = 0; pass < 4; pass++)
		cnt[pass + 1] += cnt[pass];
	for (i = 0; i < nr; i++)
		w.order[cnt[2 * !w.v[i].mem + w.v[i].delayed]++] = i;
	for (k = 0; k < nr; k++) {
		int best;

		i = w.order[k];
		best = best_pu(p, g, &w, i, nr);
		place(p, &w, i, best);
		out[i] = p->pu[best].os_index;
		explain(p, m, w.v, i, best, w.load, &tx);
	}
	if (nr > p->nr_eligible)
		cm_why(why, len, "; oversubscribed: %d vCPUs on %d CPUs", nr, p->nr_eligible);
	free(w.heap);
	return 0;
}
