/* adapt: the coremap proposal: coremap_plan's map for this tick, what it
 * moves and its predicted effect. Pure. */
#include "adapt/adapt_int.h"
#include "adapt/place.h"
#include "coremap/coremap.h"

#include <stdio.h>
#include <string.h>

#define COREMAP_MOVE_COST_NS 50000ull   /* re-pin + cold caches, per vCPU */
/* Model for predictions (the measured effect decides what stays): each
 * extra package in use adds this share of the first one's power, and a
 * memory-bound vCPU given its own memory domain runs this much faster
 * (Bae et al., HPDC 2012: up to +66% performance, -17% power). */
#define PACKAGE_POWER_SHARE 0.30
#define SPREAD_GAIN_PCT 30.0

static enum coremap_strategy strategy_of(enum pol_coremap_strategy s)
{
	switch (s) {
	case POL_CM_PACK:
		return COREMAP_PACK;
	case POL_CM_SPREAD:
		return COREMAP_SPREAD;
	case POL_CM_EXPLICIT:
		return COREMAP_EXPLICIT;
	default:
		return COREMAP_ADAPTIVE;
	}
}

bool adapt_prefers_energy(const struct pol_profile *g)
{
	return g->objective == POL_OBJ_ENERGY || g->objective == POL_OBJ_EDP ||
	       (g->objective == POL_OBJ_WEIGHTED && g->weight_energy >= g->weight_performance);
}

static int packages_used(const struct coremap_topo *t, const int *pcpu, int n)
{
	unsigned long long seen = 0;
	int i, pu, pkg, count = 0;

	for (i = 0; i < n; i++) {
		if (pcpu[i] < 0)
			return -1; /* unpinned: unknown */
		pu = coremap_topo_pu_by_os(t, pcpu[i]);
		pkg = pu < 0 ? -1 : coremap_topo_pu_package(t, pu);
		if (pkg < 0 || pkg >= 64)
			return -1;
		if (!(seen & (1ull << pkg)))
			count++;
		seen |= 1ull << pkg;
	}
	return count;
}

/* Append x to buf[size] at virtual length used, as snprintf would cut it;
 * returns the new virtual length (the text's length were nothing cut). */
static size_t append(char *buf, size_t size, size_t used, const char *x)
{
	for (; *x; x++, used++)
		if (used + 1 < size)
			buf[used] = *x;
	buf[used < size ? used : size - 1] = '\0';
	return used;
}

static size_t append_int(char *buf, size_t size, size_t used, int v)
{
	char tmp[16], *b = tmp + sizeof(tmp) - 1;
	unsigned u = v < 0 ? 0u - (unsigned)v : (unsigned)v;

	*b = '\0';
	do {
		*--b = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--b = '-';
	return append(buf, size, used, b);
}

void adapt_cm_inputs(const struct pol_profile *g, const struct adapt_env *env,
		     const struct adapt_state *st, const struct tel_sample *s,
		     struct adapt_cm_inputs *in)
{
	int i;

	in->n = s->nr_vcpus;
	for (i = 0; i < in->n; i++) {
		in->cur[i] = st->have_cur[ADAPT_COREMAP] && i < st->cur[ADAPT_COREMAP].u.coremap.nr ?
			     st->cur[ADAPT_COREMAP].u.coremap.pcpu[i] : s->vcpu[i].pcpu;
		in->m[i].llc_misses_per_kinstr = s->vcpu[i].hw_valid ? st->llc[i] : -1;
		in->m[i].run_delay_pct = st->run_delay[i];
		in->m[i].cpu_pct = st->cpu[i];
		in->m[i].cur_pcpu = in->cur[i];
	}
	adapt_cm_goal(g, env, &in->cg, &in->strategy);
	in->mem_node = env->bm_topo && adapt_bm_follows(g) ? adapt_bm_mem_node(s, &in->mem_pages) : -1;
}

void adapt_cm_goal(const struct pol_profile *g, const struct adapt_env *env,
		   struct coremap_goal *cg, enum coremap_strategy *strategy)
{
	memset(cg, 0, sizeof(*cg));
	cg->prefer_energy = adapt_prefers_energy(g);
	cg->memory_intensive_llc_per_kinstr = g->coremap.memory_intensive_llc_per_kinstr;
	cg->noisy_run_delay_pct = g->coremap.noisy_run_delay_pct;
	cg->reserved_cpus = g->coremap.reserved;
	cg->nr_reserved = g->coremap.nr_reserved;
	cg->explicit_map = g->coremap.explicit_map;
	cg->nr_explicit = g->coremap.nr_explicit;
	cg->pu_busy_pct = env->pu_busy_pct;
	cg->nr_pu_busy = env->nr_pu_busy;
	*strategy = strategy_of(g->coremap.strategy);
}

/* Joint with bankmap: each vCPU the plan moves off the node that holds most
 * of guest RAM takes its share (1/n) of it along: the migration's predicted
 * cost. (Without written-page sets the share is even.) */
static uint64_t locality_cost(const struct pol_profile *g, const struct adapt_env *env,
			      const struct adapt_cm_inputs *in, const int *plan)
{
	uint64_t pages = 0;

	if (in->mem_node < 0 || !in->n)
		return 0;
	for (int i = 0; i < in->n; i++)
		if (plan[i] != in->cur[i] && adapt_bm_cpu_node(env, in->cur[i]) == in->mem_node &&
		    adapt_bm_cpu_node(env, plan[i]) != in->mem_node)
			pages += in->mem_pages / (uint64_t)in->n;
	return pages ? adapt_bm_cost_ns(g, pages) : 0;
}

int adapt_cm_propose(const struct pol_profile *g, const struct adapt_env *env,
		     const struct adapt_state *st, const struct adapt_cm_inputs *in,
		     const char *why, struct adapt_proposal *out)
{
	const int *plan = out->change.u.coremap.pcpu, *cur = in->cur;
	int i, n = in->n, moved = 0, before, after;
	double delay = 0, cpu = 0, mem_moved = 0;
	size_t used = 0;

	out->change.u.coremap.nr = n;
	for (i = 0; i < n; i++) {
		cpu += st->cpu[i];
		if (plan[i] == cur[i])
			continue;
		moved++;
		delay += st->run_delay[i];
		if (in->m[i].llc_misses_per_kinstr >= g->coremap.memory_intensive_llc_per_kinstr)
			mem_moved++;
		if (used < sizeof(out->what) - 24) { /* "%svcpu%d cpu%d->cpu%d" */
			size_t sz = sizeof(out->what);

			used = append(out->what, sz, used, used ? ", vcpu" : "vcpu");
			used = append_int(out->what, sz, used, i);
			used = append(out->what, sz, used, " cpu");
			used = append_int(out->what, sz, used, cur[i]);
			used = append(out->what, sz, used, "->cpu");
			used = append_int(out->what, sz, used, plan[i]);
		}
	}
	if (!moved)
		return 0;
	/* predictions: the run delay of moved vCPUs comes back; packages
	 * freed save power, and cost memory-bound vCPUs some speed */
	before = packages_used(env->topo, cur, n);
	after = packages_used(env->topo, plan, n);
	out->perf_pct = cpu > 0 ? 100 * delay / cpu : delay;
	if (before > 0 && after > 0 && after != before) {
		double gm = SPREAD_GAIN_PCT / 100 * mem_moved / n;

		out->power_pct = 100 * ((1 + PACKAGE_POWER_SHARE * (after - 1)) /
					(1 + PACKAGE_POWER_SHARE * (before - 1)) - 1);
		out->perf_pct += 100 * (after > before ? gm : 1 / (1 + gm) - 1);
	}
	out->cost_ns = COREMAP_MOVE_COST_NS * (uint64_t)moved + locality_cost(g, env, in, plan);
	/* pack, spread and explicit are the operator's placement, not a bet:
	 * applied without the gain test, and not reverted */
	out->constraint = g->coremap.strategy != POL_CM_ADAPTIVE;
	adapt_why_join(out->why, sizeof(out->why), in->cg.prefer_energy ? "[energy] " : "",
		       out->constraint ? "placement set by the profile: " : "", why);
	out->valid = true;
	return 0;
}

int adapt_propose_coremap(const struct pol_profile *g, const struct adapt_env *env,
			  const struct adapt_state *st, const struct tel_sample *s,
			  void *arg, struct adapt_proposal *out)
{
	struct adapt_cm_inputs in;
	char why[sizeof(st->cm_cache.why)];
	int rc;

	out->valid = false;
	if (!env->topo || s->nr_vcpus <= 0)
		return 0;
	adapt_cm_inputs(g, env, st, s, &in);
	rc = coremap_plan(env->topo, in.strategy, in.m, in.n, &in.cg, out->change.u.coremap.pcpu,
			  why, sizeof(why));
	if (rc)
		return rc;
	return adapt_cm_propose(g, env, st, &in, why, out);
}
