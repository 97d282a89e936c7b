/* adapt: the paging model's estimate, reused while its inputs hold. The
 * model formats its texts (reasons, recommendations, each part's how) with
 * floating-point printf, which was a fifth of a steady tick here: a tick
 * whose inputs moved less than noise keeps the last estimate (at most
 * ADAPT_PG_REUSE_NS old), and the driver publishes only a new one. Pure. */
#include "adapt/adapt_int.h"

#include <math.h>
#include <string.h>

/* a and b within noise of each other: both unknown (< 0), or apart by less
 * than rel of the larger and abs */
static bool near(double a, double b, double rel, double abs_)
{
	if (a < 0 || b < 0)
		return (a < 0) == (b < 0);
	return fabs(a - b) < abs_ || fabs(a - b) <= rel * fmax(a, b);
}

/* Whether the model would say what it said on these inputs: the same
 * parameters, flags and reasons, and rates that moved less than noise (10%
 * of the exit rate or 50 exits/s, 2 points of CPU or 5% of it, 1% of the
 * backing share, 0.5 points of available memory, 0.2 points of walk share,
 * 10% of TLB misses). */
static bool same_inputs(const struct pgmode_params *pa, const struct pgmode_signals *a,
			const struct pgmode_params *pb, const struct pgmode_signals *b)
{
	return pa->exit_cost_ns == pb->exit_cost_ns &&
	       pa->exit_cost_calibrated == pb->exit_cost_calibrated &&
	       pa->nested_walk_factor == pb->nested_walk_factor &&
	       pa->nested_walk_factor_2m == pb->nested_walk_factor_2m &&
	       pa->walk_share_2m_factor == pb->walk_share_2m_factor &&
	       pa->min_gain_pct == pb->min_gain_pct &&
	       pa->mem_available_low_pct == pb->mem_available_low_pct && a->mode == b->mode && a->nr_vcpus == b->nr_vcpus &&
	       a->hw_valid == b->hw_valid && a->nested_available == b->nested_available &&
	       a->collapse_available == b->collapse_available &&
	       a->prefer_energy == b->prefer_energy &&
	       near(a->backing_2m_share, b->backing_2m_share, 0, 0.01) &&
	       near(a->cpu_pct, b->cpu_pct, 0.05, 2) &&
	       near(a->paging_exits_per_s, b->paging_exits_per_s, 0.1, 50) &&
	       near(a->mem_available_pct, b->mem_available_pct, 0, 0.5) &&
	       (!a->hw_valid || (near(a->walk_cycles_share, b->walk_cycles_share, 0, 0.002) &&
				 near(a->tlb_misses_per_kinstr, b->tlb_misses_per_kinstr, 0.1, 0.01))) &&
	       !strcmp(a->exits_why, b->exits_why) && !strcmp(a->hw_why, b->hw_why) &&
	       !strcmp(a->collapse_why, b->collapse_why);
}

bool adapt_paging_estimate_tick(const struct pol_profile *g, const struct adapt_env *env,
				struct adapt_state *st, const struct tel_sample *s)
{
	struct adapt_pg_cache *c = &st->pg;
	struct pgmode_params p;
	struct pgmode_signals in;

	adapt_paging_inputs(g, env, st, s, &p, &in);
	c->tick_ns = s->t_ns;
	if (c->have && s->t_ns >= c->t_ns && s->t_ns - c->t_ns < ADAPT_PG_REUSE_NS &&
	    same_inputs(&p, &in, &c->p, &c->in)) {
		c->reused++;
		return false;
	}
	pgmode_estimate(&p, &in, &c->e);
	c->p = p;
	c->in = in;
	c->t_ns = s->t_ns;
	c->have = true;
	c->computed++;
	return true;
}
