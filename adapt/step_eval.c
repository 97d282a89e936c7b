/* adapt: step 2 of adapt_step: the change in flight is left to settle,
 * then measured over measure_ticks against the baseline taken before it;
 * its effect is reported, and a change that made the score worse than the
 * noise (or slower than max_slowdown_pct) is reverted and held off for
 * revert_cooldown_ns. */
#include "adapt/adapt_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Step 2: measure the change in flight; maybe revert it. Returns true
 * while it occupies this tick. */
bool adapt_step_evaluate(const struct pol_profile *g, struct adapt_state *st,
		     const struct tel_sample *s, bool valid, double ls, double lp, double lw,
		     struct adapt_out *out)
{
	struct adapt_decision *d = &st->pending_d;
	struct adapt_effect *ef;
	double ds, dp, dw, thr;
	int n;
	enum adapt_kind k = d->change.kind;
	bool worse;

	if (!st->pending)
		return false;
	if (s->t_ns < d->t_ns + g->settle_ns) {
		adapt_out_note(out, "%s: change settling (%.1f of %.1f s)", adapt_kind_name(k),
		     (double)(s->t_ns - d->t_ns) / 1e9, (double)g->settle_ns / 1e9);
		adapt_out_hold(out, k, ADAPT_HOLD_MEASURING, d->t_ns + g->settle_ns - s->t_ns +
		     (uint64_t)g->measure_ticks * adapt_fast_ns(g));
		return true;
	}
	if (valid) {
		st->after_score += ls;
		st->after_perf += lp;
		st->after_power += lw;
		st->after_n++;
	}
	if (st->after_n < g->measure_ticks) {
		adapt_out_note(out, "%s: measuring the change (%d of %d ticks)", adapt_kind_name(k),
		     st->after_n, g->measure_ticks);
		adapt_out_hold(out, k, ADAPT_HOLD_MEASURING, (uint64_t)(g->measure_ticks - st->after_n) * adapt_fast_ns(g));
		return true;
	}
	n = st->after_n;
	ds = expm1(st->after_score / n - st->base_score) * 100;
	dp = expm1(st->after_perf / n - st->base_perf) * 100;
	dw = expm1(st->after_power / n - st->base_power) * 100; /* NAN: power unknown */
	thr = fmax(g->noise_pct, st->base_noise_pct);
	worse = !st->pending_constraint &&
		(ds < -thr || (g->max_slowdown_pct > 0 && dp < -g->max_slowdown_pct));
	st->pending = false;
	ef = &out->effect[out->nr_effects++];
	ef->id = d->id;
	ef->score_pct = ds;
	ef->perf_pct = dp;
	ef->power_pct = dw;
	ef->reverted = worse && st->pending_had_prev;
	snprintf(ef->text, sizeof(ef->text), "score %+.1f%% perf %+.1f%% power %+.1f%%: %s", ds, dp,
		 isnan(dw) ? 0.0 : dw,
		 !worse ? "kept" : st->pending_had_prev ? "reverted" : "worse, nothing to revert to");
	if (!ef->reverted)
		return false;
	/* the revert */
	{
		struct adapt_decision *r = &out->d[out->nr++];

		memset(r, 0, sizeof(*r));
		r->id = st->next_id++;
		r->t_ns = s->t_ns;
		r->revert = true;
		r->reverts_id = d->id;
		r->change = st->pending_prev;
		snprintf(r->what, sizeof(r->what), "revert #%llu: %.100s", (unsigned long long)d->id, d->what);
		snprintf(r->why, sizeof(r->why),
			 "after %d ticks score %+.1f%% (perf %+.1f%%) vs before; noise %.1f%%%s",
			 n, ds, dp, thr,
			 g->max_slowdown_pct > 0 && dp < -g->max_slowdown_pct ? ", slower than max_slowdown_pct" : "");
		st->banned[k] = true;
		st->banned_change[k] = d->change;
		st->banned_until_ns[k] = s->t_ns + g->revert_cooldown_ns;
		st->cur[k] = st->pending_prev;
		st->have_cur[k] = true;
		st->last_change_ns[k] = s->t_ns;
		st->changed[k] = true;
	}
	return true;
}
