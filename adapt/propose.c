/* adapt: the paging-mode rule and the power-cap controller. Pure. */
#include "adapt/adapt_int.h"

#include <math.h>
#include <stdio.h>

#define PAGING_SWITCH_COST_NS 10000000ull
#define PAGING_EXIT_COST_NS 5000.0      /* one shadow-paging exit, emulated */

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
