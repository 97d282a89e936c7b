/* policies: checks across the keys of a loaded profile, each message at
 * the file:line that set the key it names. */
#include "policies/pol_keys.h"

#include <errno.h>

/* The file:line that set key `section.key`, for cross-key messages. */
static int origin_of(const struct pol_profile *p, const char *section, const char *key,
		     const char **file)
{
	int idx;

	*file = p->path;
	if (!pol_key_find(section, key, &idx) || p->origin[idx].file < 0)
		return 0;
	*file = p->origin_files[p->origin[idx].file];
	return p->origin[idx].line;
}

int pol_profile_check(const struct pol_profile *p, struct pol_errs *e)
{
	const char *f;
	int line, before = e->count;

	if (p->objective == POL_OBJ_POWER_CAP) {
		line = origin_of(p, "goal", "objective", &f);
		if (p->power_cap_w <= 0)
			pol_err(e, f, line, "objective power-cap needs power_cap_w > 0; add e.g. 'power_cap_w = 150' to [goal]");
		else if (p->power_cap_w < p->energy.cap_min_w || p->power_cap_w > p->energy.cap_max_w)
			pol_err(e, f, line, "power_cap_w = %g is outside [energy] cap_min_w..cap_max_w (%g..%g); widen the range or change the cap",
				p->power_cap_w, p->energy.cap_min_w, p->energy.cap_max_w);
		else if (!p->enabled[POL_AD_ENERGY])
			pol_err(e, f, line, "objective power-cap needs the energy adaptation (it applies the cap); set 'enabled = yes' in [energy]");
	}
	if (p->objective == POL_OBJ_WEIGHTED && p->weight_performance + p->weight_energy <= 0) {
		line = origin_of(p, "goal", "objective", &f);
		pol_err(e, f, line, "objective weighted needs weight_performance + weight_energy > 0; set e.g. weight_performance = 1, weight_energy = 1");
	}
	if (p->energy.cap_min_w > p->energy.cap_max_w) {
		line = origin_of(p, "energy", "cap_min_w", &f);
		pol_err(e, f, line, "cap_min_w = %g is above cap_max_w = %g; swap them", p->energy.cap_min_w, p->energy.cap_max_w);
	}
	if (p->min_dwell_ns && p->min_dwell_ns < p->period_ns) {
		line = origin_of(p, "goal", "min_dwell_ms", &f);
		pol_err(e, f, line, "min_dwell_ms (%g) is shorter than period_ms (%g); use 0 or at least one period",
			(double)p->min_dwell_ns / 1e6, (double)p->period_ns / 1e6);
	}
	/* a fast_period_ms above period_ms is period_ms (a profile that samples
	 * fast all the time may include one that backs off) */
	if (p->fast_period_ns && p->fast_period_ns < 10000000ull) {
		line = origin_of(p, "goal", "fast_period_ms", &f);
		pol_err(e, f, line, "fast_period_ms (%g) must be 0 (off) or at least 10",
			(double)p->fast_period_ns / 1e6);
	}
	if (p->steady_sample_ns && p->steady_sample_ns < p->period_ns) {
		line = origin_of(p, "goal", "steady_sample_ms", &f);
		pol_err(e, f, line, "steady_sample_ms (%g) is shorter than period_ms (%g); use 0 (a full sample every tick) or at least one period",
			(double)p->steady_sample_ns / 1e6, (double)p->period_ns / 1e6);
	}
	if (p->paging.nested_walk_factor_2m > p->paging.nested_walk_factor) {
		line = origin_of(p, "paging-mode", "nested_walk_factor_2m", &f);
		pol_err(e, f, line, "nested_walk_factor_2m (%g) is above nested_walk_factor (%g): 2 MiB host pages shorten the 2-D walk; lower it",
			p->paging.nested_walk_factor_2m, p->paging.nested_walk_factor);
	}
	if (p->enabled[POL_AD_COREMAP] && p->coremap.strategy == POL_CM_EXPLICIT && !p->coremap.nr_explicit) {
		line = origin_of(p, "coremap", "strategy", &f);
		pol_err(e, f, line, "strategy explicit needs explicit_map (CPU of vCPU 0, 1, ...); add e.g. 'explicit_map = 0,1' to [coremap]");
	}
	if (p->enabled[POL_AD_BANKMAP] && p->bankmap.policy == POL_BM_EXPLICIT && !p->bankmap.nr_nodes) {
		line = origin_of(p, "bankmap", "policy", &f);
		pol_err(e, f, line, "policy explicit needs nodes (the NUMA nodes guest RAM goes to); add e.g. 'nodes = 0' to [bankmap]");
	}
	return e->count > before ? -EINVAL : 0;
}
