/* adapt: the power-cap controller. Pure. (paging-mode: propose_paging.c) */
#include "adapt/adapt_int.h"

#include <math.h>
#include <stdio.h>

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
