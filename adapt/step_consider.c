/* adapt: step 3 of adapt_step for one adaptation: ask its proposal source
 * (the built-in one or the environment's), then hold the proposal through
 * dwell, cooldown, confirmation, baseline, slowdown and hysteresis checks;
 * a proposal that passes becomes the tick's decision and the change in
 * flight, with what the machine had before it to revert to. */
#include "adapt/adapt_int.h"
#include "paging-mode/pgmode.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* What the machine had before a change of kind k. */
static bool previous(const struct adapt_env *env, const struct adapt_state *st,
		     const struct tel_sample *s, enum adapt_kind k, struct adapt_change *prev)
{
	int i;

	if (st->have_cur[k]) {
		*prev = st->cur[k];
		return true;
	}
	memset(prev, 0, sizeof(*prev));
	prev->kind = k;
	if (k == ADAPT_COREMAP) {
		prev->u.coremap.nr = s->nr_vcpus;
		for (i = 0; i < s->nr_vcpus; i++)
			prev->u.coremap.pcpu[i] = -1; /* was not pinned */
		return true;
	}
	if (k == ADAPT_ENERGY) {
		prev->u.energy.cap_w = s->energy.power_cap_w;
		return true;
	}
	/* paging-mode: the mode it runs in and the backing smaps shows */
	if (k == ADAPT_PAGING && s->paging.valid && s->paging.rss_bytes) {
		prev->u.paging.mode = env->paging_mode;
		prev->u.paging.backing = (double)(s->paging.bytes_2m + s->paging.bytes_1g) >=
			0.5 * (double)s->paging.rss_bytes ? PGMODE_PAGE_2M : PGMODE_PAGE_4K;
		return true;
	}
	return false;
}

static adapt_propose_fn builtin(enum adapt_kind k)
{
	switch (k) {
	case ADAPT_COREMAP:
		return adapt_propose_coremap;
	case ADAPT_PAGING:
		return adapt_propose_paging;
	case ADAPT_ENERGY:
		return adapt_propose_energy;
	case ADAPT_BANKMAP:
		return adapt_propose_bankmap;
	default:
		return NULL;
	}
}

/* The first vCPU whose smoothed run delay reaches noisy_run_delay_pct under
 * the adaptive strategy (the plan left it where it is), or -1. */
static int delayed_vcpu(const struct pol_profile *g, const struct adapt_state *st,
			const struct tel_sample *s)
{
	int i;

	if (g->coremap.strategy != POL_CM_ADAPTIVE || !(g->coremap.noisy_run_delay_pct > 0) ||
	    !st->have_smooth)
		return -1;
	for (i = 0; i < s->nr_vcpus; i++)
		if (st->run_delay[i] >= g->coremap.noisy_run_delay_pct)
			return i;
	return -1;
}

/* Step 3 for one adaptation; true when it made the tick's decision. */
bool adapt_step_consider(const struct pol_profile *g, const struct adapt_env *env,
		     struct adapt_state *st, const struct tel_sample *s, enum adapt_kind k,
		     struct adapt_out *out)
{
	adapt_propose_fn fn = env->propose[k] ? env->propose[k] : builtin(k);
	const char *name = adapt_kind_name(k);
	struct adapt_proposal p;
	struct adapt_decision *d;
	double a, b, gain, cost_pct;
	uint64_t horizon, seen_ns;
	int rc;

	if (!fn)
		return false;
	memset(&p, 0, sizeof(p));
	/* the built-in coremap source reuses its last plan when it can */
	rc = !env->propose[k] && k == ADAPT_COREMAP ? adapt_propose_coremap_cached(g, env, st, s, &p)
						     : fn(g, env, st, s, env->propose_arg[k], &p);
	p.change.kind = k;
	if (rc < 0 || !p.valid || (st->have_cur[k] && adapt_change_same(&p.change, &st->cur[k]))) {
		st->streak[k] = 0;
		if (k == ADAPT_COREMAP && delayed_vcpu(g, st, s) >= 0)
			adapt_out_hold(out, k, ADAPT_HOLD_NO_BETTER_CORE, 0);
		return false;
	}
	if (st->changed[k] && s->t_ns < st->last_change_ns[k] + g->min_dwell_ns) {
		st->streak[k] = 0;
		adapt_out_note(out, "%s: dwell, %.1f s of %.1f s", name, (double)(s->t_ns - st->last_change_ns[k]) / 1e9,
		     (double)g->min_dwell_ns / 1e9);
		adapt_out_hold(out, k, ADAPT_HOLD_DWELL, st->last_change_ns[k] + g->min_dwell_ns - s->t_ns);
		return false;
	}
	if (st->banned[k] && s->t_ns < st->banned_until_ns[k] &&
	    adapt_change_same(&p.change, &st->banned_change[k])) {
		st->streak[k] = 0;
		adapt_out_note(out, "%s: proposal was reverted, held for %.0f s more", name,
		     (double)(st->banned_until_ns[k] - s->t_ns) / 1e9);
		adapt_out_hold(out, k, ADAPT_HOLD_COOLDOWN, st->banned_until_ns[k] - s->t_ns);
		return false;
	}
	if (st->streak[k] && adapt_change_same(&p.change, &st->streak_change[k])) {
		st->streak[k]++;
	} else {
		st->streak[k] = 1;
		st->streak_change[k] = p.change;
		st->streak_since_ns[k] = s->t_ns - (s->dt_ns < s->t_ns ? s->dt_ns : s->t_ns);
	}
	seen_ns = s->t_ns - st->streak_since_ns[k];
	if (st->streak[k] < g->confirm_ticks || seen_ns < g->confirm_ns) {
		adapt_out_note(out, "%s: proposal seen %d of %d ticks, %.2f of %.2f s", name, st->streak[k],
		     g->confirm_ticks, (double)seen_ns / 1e9, (double)g->confirm_ns / 1e9);
		adapt_out_hold(out, k, ADAPT_HOLD_CONFIRM, seen_ns < g->confirm_ns ? g->confirm_ns - seen_ns : 0);
		return false;
	}
	if (!p.constraint && st->hist_n < g->measure_ticks) {
		adapt_out_note(out, "%s: collecting a baseline (%d of %d ticks)", name, st->hist_n, g->measure_ticks);
		adapt_out_hold(out, k, ADAPT_HOLD_BASELINE, (uint64_t)(g->measure_ticks - st->hist_n) * adapt_fast_ns(g));
		return false;
	}
	adapt_weights(g, &a, &b);
	gain = a * log1p(fmax(p.perf_pct, -99) / 100) - b * log1p(fmax(p.power_pct, -99) / 100);
	gain = expm1(gain) * 100;
	horizon = g->min_dwell_ns ? g->min_dwell_ns : g->period_ns;
	cost_pct = (double)p.cost_ns / (double)horizon * 100;
	if (!p.constraint) {
		if (g->max_slowdown_pct > 0 && p.perf_pct < -g->max_slowdown_pct) {
			adapt_out_note(out, "%s: predicted slowdown %.1f%% beyond max_slowdown_pct %.1f", name, -p.perf_pct,
			     g->max_slowdown_pct);
			adapt_out_hold(out, k, ADAPT_HOLD_SLOWDOWN, 0);
			return false;
		}
		if (gain < g->hysteresis_pct + cost_pct) {
			adapt_out_note(out, "%s: predicted gain %.1f%% below hysteresis + cost (%.1f%%)", name, gain,
			     g->hysteresis_pct + cost_pct);
			adapt_out_hold(out, k, ADAPT_HOLD_HYSTERESIS, 0);
			return false;
		}
	}
	d = &out->d[out->nr++];
	memset(d, 0, sizeof(*d));
	d->id = st->next_id++;
	d->t_ns = s->t_ns;
	d->change = p.change;
	snprintf(d->what, sizeof(d->what), "%s", p.what);
	snprintf(d->why, sizeof(d->why), "%.120s; predicted score %+.1f%% (perf %+.1f%%, power %+.1f%%), cost %.2f%%",
		 p.why, gain, p.perf_pct, p.power_pct, cost_pct);
	st->pending_had_prev = previous(env, st, s, k, &st->pending_prev);
	st->pending = st->hist_n >= g->measure_ticks;
	st->pending_constraint = p.constraint;
	st->pending_d = *d;
	if (st->pending)
		adapt_hist_mean(st, g->measure_ticks, &st->base_score, &st->base_perf,
				&st->base_power, &st->base_noise_pct);
	st->after_n = 0;
	st->after_score = st->after_perf = st->after_power = 0;
	st->cur[k] = p.change;
	st->have_cur[k] = true;
	st->changed[k] = true;
	st->last_change_ns[k] = s->t_ns;
	st->streak[k] = 0;
	if (env->dry_run)
		adapt_out_hold(out, k, ADAPT_HOLD_DRY_RUN, 0);
	return true;
}
