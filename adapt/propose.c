/* adapt: the built-in proposal sources (coremap through coremap_plan, the
 * paging-mode rule, the power-cap controller). All pure. */
#include "adapt/adapt_int.h"
#include "coremap/coremap.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define COREMAP_MOVE_COST_NS 50000ull   /* re-pin + cold caches, per vCPU */
#define PAGING_SWITCH_COST_NS 10000000ull
#define PAGING_EXIT_COST_NS 5000.0      /* one shadow-paging exit, emulated */
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

static bool prefers_energy(const struct pol_profile *g)
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

int adapt_propose_coremap(const struct pol_profile *g, const struct adapt_env *env,
			  const struct adapt_state *st, const struct tel_sample *s,
			  void *arg, struct adapt_proposal *out)
{
	struct coremap_vcpu_metrics m[ADAPT_MAX_VCPUS];
	struct coremap_goal cg;
	int cur[ADAPT_MAX_VCPUS], *plan = out->change.u.coremap.pcpu;
	int i, n = s->nr_vcpus, moved = 0, rc, before, after;
	double delay = 0, cpu = 0, mem_moved = 0;
	size_t used = 0;
	char why[160];

	out->valid = false;
	if (!env->topo || n <= 0)
		return 0;
	for (i = 0; i < n; i++) {
		cur[i] = st->have_cur[ADAPT_COREMAP] && i < st->cur[ADAPT_COREMAP].u.coremap.nr ?
			 st->cur[ADAPT_COREMAP].u.coremap.pcpu[i] : s->vcpu[i].pcpu;
		m[i].llc_misses_per_kinstr = s->vcpu[i].hw_valid ? st->llc[i] : -1;
		m[i].run_delay_pct = st->run_delay[i];
		m[i].cpu_pct = st->cpu[i];
		m[i].cur_pcpu = cur[i];
		cpu += st->cpu[i];
	}
	memset(&cg, 0, sizeof(cg));
	cg.prefer_energy = prefers_energy(g);
	cg.memory_intensive_llc_per_kinstr = g->coremap.memory_intensive_llc_per_kinstr;
	cg.noisy_run_delay_pct = g->coremap.noisy_run_delay_pct;
	cg.reserved_cpus = g->coremap.reserved;
	cg.nr_reserved = g->coremap.nr_reserved;
	cg.explicit_map = g->coremap.explicit_map;
	cg.nr_explicit = g->coremap.nr_explicit;
	cg.pu_busy_pct = env->pu_busy_pct;
	cg.nr_pu_busy = env->nr_pu_busy;
	rc = coremap_plan(env->topo, strategy_of(g->coremap.strategy), m, n, &cg, plan, why, sizeof(why));
	if (rc)
		return rc;
	out->change.u.coremap.nr = n;
	for (i = 0; i < n; i++) {
		if (plan[i] == cur[i])
			continue;
		moved++;
		delay += st->run_delay[i];
		if (m[i].llc_misses_per_kinstr >= g->coremap.memory_intensive_llc_per_kinstr)
			mem_moved++;
		if (used < sizeof(out->what) - 24) {
			int w = snprintf(out->what + used, sizeof(out->what) - used, "%svcpu%d cpu%d->cpu%d",
					 used ? ", " : "", i, cur[i], plan[i]);

			used += w > 0 ? (size_t)w : 0;
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
		double g = SPREAD_GAIN_PCT / 100 * mem_moved / n;

		out->power_pct = 100 * ((1 + PACKAGE_POWER_SHARE * (after - 1)) /
					(1 + PACKAGE_POWER_SHARE * (before - 1)) - 1);
		out->perf_pct += 100 * (after > before ? g : 1 / (1 + g) - 1);
	}
	out->cost_ns = COREMAP_MOVE_COST_NS * (uint64_t)moved;
	snprintf(out->why, sizeof(out->why), "%s%s", cg.prefer_energy ? "[energy] " : "", why);
	out->valid = true;
	return 0;
}

int adapt_propose_paging(const struct pol_profile *g, const struct adapt_env *env,
			 const struct adapt_state *st, const struct tel_sample *s,
			 void *arg, struct adapt_proposal *out)
{
	int mode = st->have_cur[ADAPT_PAGING] ? st->cur[ADAPT_PAGING].u.paging.mode : env->paging_mode;
	double h = g->hysteresis_pct / 100, ex = st->paging_exits, tlb = st->tlb;
	double ex_hi = g->paging.paging_exits_per_s_high, tlb_hi = g->paging.tlb_misses_per_kinstr_high;
	bool hw = s->nr_vcpus > 0;
	int i, nr = s->nr_vcpus > 0 ? s->nr_vcpus : 1;

	out->valid = false;
	if (mode == ADAPT_PG_UNKNOWN || !env->paging_live_switch || !g->paging.allow_live_switch)
		return 0;
	for (i = 0; i < s->nr_vcpus; i++)
		hw = hw && s->vcpu[i].hw_valid;
	if (mode == ADAPT_PG_SHADOW && ex > ex_hi * (1 + h)) {
		out->change.u.paging.mode = ADAPT_PG_NESTED;
		/* time in paging exits comes back; nested walks cost TLB misses */
		out->perf_pct = fmin(90, ex * PAGING_EXIT_COST_NS / 1e9 * 100 / nr);
		if (hw)
			out->perf_pct -= fmin(30, tlb);
		snprintf(out->what, sizeof(out->what), "paging shadow->nested");
		snprintf(out->why, sizeof(out->why), "paging exits %.0f/s > %.0f/s (+%.0f%% band)%s", ex,
			 ex_hi, g->hysteresis_pct, hw ? "" : ", TLB misses unknown (no PMU)");
	} else if (mode == ADAPT_PG_NESTED && hw && tlb > tlb_hi * (1 + h) && ex < ex_hi * (1 - h)) {
		out->change.u.paging.mode = ADAPT_PG_SHADOW;
		out->perf_pct = fmin(30, tlb) - fmin(90, ex * PAGING_EXIT_COST_NS / 1e9 * 100 / nr);
		snprintf(out->what, sizeof(out->what), "paging nested->shadow");
		snprintf(out->why, sizeof(out->why), "TLB misses %.1f/kinstr > %.1f and paging exits %.0f/s < %.0f/s",
			 tlb, tlb_hi, ex, ex_hi);
	} else {
		return 0;
	}
	out->cost_ns = PAGING_SWITCH_COST_NS;
	out->valid = true;
	return 0;
}

int adapt_propose_energy(const struct pol_profile *g, const struct adapt_env *env,
			 const struct adapt_state *st, const struct tel_sample *s,
			 void *arg, struct adapt_proposal *out)
{
	double cap = g->power_cap_w, cur, set, p = s->energy.power_w;
	double h = g->hysteresis_pct / 100, noise = g->noise_pct / 100;

	out->valid = false;
	if (g->objective != POL_OBJ_POWER_CAP || cap <= 0)
		return 0;
	cur = st->have_cur[ADAPT_ENERGY] ? st->cur[ADAPT_ENERGY].u.energy.cap_w : s->energy.power_cap_w;
	if (cur <= 0 || cur > cap + 0.5) {
		set = cap;
		out->constraint = true;
		snprintf(out->why, sizeof(out->why), "the profile caps power at %.1f W; the cap now is %s%.1f W",
			 cap, cur <= 0 ? "none " : "", cur);
	} else if (s->energy.up && !s->energy.estimated && p > cap * (1 + noise) && cur > g->energy.cap_min_w) {
		set = fmax(g->energy.cap_min_w, cur - g->energy.cap_step_w);
		out->constraint = true;
		snprintf(out->why, sizeof(out->why), "power %.1f W above the %.1f W cap with the limit at %.1f W",
			 p, cap, cur);
	} else if (s->energy.up && !s->energy.estimated && cur < cap - 0.5 && p < cur * (1 - h)) {
		set = fmin(cap, cur + g->energy.cap_step_w);
		out->perf_pct = 100 * (set - cur) / cur;
		out->power_pct = 100 * (set - cur) / cur;
		snprintf(out->why, sizeof(out->why), "power %.1f W well under the limit %.1f W (cap %.1f W): relax it",
			 p, cur, cap);
	} else {
		return 0;
	}
	out->change.u.energy.cap_w = set;
	snprintf(out->what, sizeof(out->what), "set cap %.1f W", set);
	out->valid = true;
	return 0;
}
