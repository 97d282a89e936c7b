/* adapt: adapt_step(), the pure decision function. */
#include "adapt/adapt_int.h"
#include "paging-mode/pgmode.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const enum adapt_kind order[] = { ADAPT_ENERGY, ADAPT_COREMAP, ADAPT_PAGING, ADAPT_BANKMAP };

void adapt_state_init(struct adapt_state *st)
{
	memset(st, 0, sizeof(*st));
	st->next_id = 1;
}

void adapt_env_init(struct adapt_env *env)
{
	memset(env, 0, sizeof(*env));
	env->paging_mode = ADAPT_PG_UNKNOWN;
}

void adapt_state_reset_goal(struct adapt_state *st)
{
	st->pending = false;
	memset(st->streak, 0, sizeof(st->streak));
	memset(st->banned, 0, sizeof(st->banned));
	st->hist_n = 0; /* scores under another goal do not compare */
	st->period_ns = 0; /* sample fast again */
	st->pg.have = false; /* the paging model's parameters may differ */
}

void adapt_state_not_applied(struct adapt_state *st, const struct adapt_decision *d)
{
	enum adapt_kind k = d->change.kind;

	if ((unsigned)k >= ADAPT_KIND_COUNT)
		return;
	if (d->revert) {
		st->have_cur[k] = false; /* unknown now */
		return;
	}
	if (st->pending && st->pending_d.id == d->id) {
		st->have_cur[k] = st->pending_had_prev;
		if (st->pending_had_prev)
			st->cur[k] = st->pending_prev;
		st->pending = false;
	} else {
		st->have_cur[k] = false;
	}
}

static const char *const hold_names[ADAPT_HOLD_COUNT] = {
	[ADAPT_HOLD_NONE] = "", [ADAPT_HOLD_CONFIRM] = "confirm", [ADAPT_HOLD_BASELINE] = "baseline",
	[ADAPT_HOLD_MEASURING] = "measuring", [ADAPT_HOLD_DWELL] = "dwell",
	[ADAPT_HOLD_HYSTERESIS] = "hysteresis", [ADAPT_HOLD_SLOWDOWN] = "slowdown",
	[ADAPT_HOLD_COOLDOWN] = "cooldown", [ADAPT_HOLD_NO_BETTER_CORE] = "no-better-core",
	[ADAPT_HOLD_DRY_RUN] = "dry-run",
};

const char *adapt_hold_name(enum adapt_hold h)
{
	return (unsigned)h < ADAPT_HOLD_COUNT ? hold_names[h] : "";
}

/* The first hold of a tick is its hold. */
static void hold(struct adapt_out *out, enum adapt_kind k, enum adapt_hold h, uint64_t left_ns)
{
	if (out->hold != ADAPT_HOLD_NONE)
		return;
	out->hold = h;
	out->hold_kind = k;
	out->hold_left_ns = left_ns;
}

/* The period while something changes. */
static uint64_t fast_ns(const struct pol_profile *g)
{
	return g->fast_period_ns && g->fast_period_ns < g->period_ns ? g->fast_period_ns : g->period_ns;
}

static void note(struct adapt_out *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct adapt_out *out, const char *fmt, ...)
{
	va_list ap;

	if (out->note[0])
		return;
	va_start(ap, fmt);
	vsnprintf(out->note, sizeof(out->note), fmt, ap);
	va_end(ap);
}

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

/* Step 2: measure the change in flight; maybe revert it. Returns true
 * while it occupies this tick. */
static bool evaluate(const struct pol_profile *g, struct adapt_state *st,
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
		note(out, "%s: change settling (%.1f of %.1f s)", adapt_kind_name(k),
		     (double)(s->t_ns - d->t_ns) / 1e9, (double)g->settle_ns / 1e9);
		hold(out, k, ADAPT_HOLD_MEASURING, d->t_ns + g->settle_ns - s->t_ns +
		     (uint64_t)g->measure_ticks * fast_ns(g));
		return true;
	}
	if (valid) {
		st->after_score += ls;
		st->after_perf += lp;
		st->after_power += lw;
		st->after_n++;
	}
	if (st->after_n < g->measure_ticks) {
		note(out, "%s: measuring the change (%d of %d ticks)", adapt_kind_name(k),
		     st->after_n, g->measure_ticks);
		hold(out, k, ADAPT_HOLD_MEASURING, (uint64_t)(g->measure_ticks - st->after_n) * fast_ns(g));
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
static bool consider(const struct pol_profile *g, const struct adapt_env *env,
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
			hold(out, k, ADAPT_HOLD_NO_BETTER_CORE, 0);
		return false;
	}
	if (st->changed[k] && s->t_ns < st->last_change_ns[k] + g->min_dwell_ns) {
		st->streak[k] = 0;
		note(out, "%s: dwell, %.1f s of %.1f s", name, (double)(s->t_ns - st->last_change_ns[k]) / 1e9,
		     (double)g->min_dwell_ns / 1e9);
		hold(out, k, ADAPT_HOLD_DWELL, st->last_change_ns[k] + g->min_dwell_ns - s->t_ns);
		return false;
	}
	if (st->banned[k] && s->t_ns < st->banned_until_ns[k] &&
	    adapt_change_same(&p.change, &st->banned_change[k])) {
		st->streak[k] = 0;
		note(out, "%s: proposal was reverted, held for %.0f s more", name,
		     (double)(st->banned_until_ns[k] - s->t_ns) / 1e9);
		hold(out, k, ADAPT_HOLD_COOLDOWN, st->banned_until_ns[k] - s->t_ns);
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
		note(out, "%s: proposal seen %d of %d ticks, %.2f of %.2f s", name, st->streak[k],
		     g->confirm_ticks, (double)seen_ns / 1e9, (double)g->confirm_ns / 1e9);
		hold(out, k, ADAPT_HOLD_CONFIRM, seen_ns < g->confirm_ns ? g->confirm_ns - seen_ns : 0);
		return false;
	}
	if (!p.constraint && st->hist_n < g->measure_ticks) {
		note(out, "%s: collecting a baseline (%d of %d ticks)", name, st->hist_n, g->measure_ticks);
		hold(out, k, ADAPT_HOLD_BASELINE, (uint64_t)(g->measure_ticks - st->hist_n) * fast_ns(g));
		return false;
	}
	adapt_weights(g, &a, &b);
	gain = a * log1p(fmax(p.perf_pct, -99) / 100) - b * log1p(fmax(p.power_pct, -99) / 100);
	gain = expm1(gain) * 100;
	horizon = g->min_dwell_ns ? g->min_dwell_ns : g->period_ns;
	cost_pct = (double)p.cost_ns / (double)horizon * 100;
	if (!p.constraint) {
		if (g->max_slowdown_pct > 0 && p.perf_pct < -g->max_slowdown_pct) {
			note(out, "%s: predicted slowdown %.1f%% beyond max_slowdown_pct %.1f", name, -p.perf_pct,
			     g->max_slowdown_pct);
			hold(out, k, ADAPT_HOLD_SLOWDOWN, 0);
			return false;
		}
		if (gain < g->hysteresis_pct + cost_pct) {
			note(out, "%s: predicted gain %.1f%% below hysteresis + cost (%.1f%%)", name, gain,
			     g->hysteresis_pct + cost_pct);
			hold(out, k, ADAPT_HOLD_HYSTERESIS, 0);
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
		hold(out, k, ADAPT_HOLD_DRY_RUN, 0);
	return true;
}

/* Fast while something changes or waits to be confirmed or measured; a
 * dwell or cooldown that ends before the next tick brings that tick forward. */
static void next_period(const struct pol_profile *g, struct adapt_state *st, struct adapt_out *out)
{
	bool fast = out->changed || out->nr || st->pending || out->hold == ADAPT_HOLD_CONFIRM ||
		    out->hold == ADAPT_HOLD_BASELINE || out->hold == ADAPT_HOLD_MEASURING;
	uint64_t next = adapt_next_period(g, st, fast), quick = fast_ns(g);

	if ((out->hold == ADAPT_HOLD_DWELL || out->hold == ADAPT_HOLD_COOLDOWN) &&
	    out->hold_left_ns < next) {
		next = out->hold_left_ns > quick ? out->hold_left_ns : quick;
		st->period_ns = next;
	}
	out->next_period_ns = next;
}

int adapt_step(const struct pol_profile *goal, const struct adapt_env *env,
	       struct adapt_state *st, const struct tel_sample *s, struct adapt_out *out)
{
	double ls = 0, lp = 0, lw = 0;
	bool valid;
	size_t i;

	if (!goal || !env || !st || !s || !out || s->nr_vcpus < 0 || s->nr_vcpus > ADAPT_MAX_VCPUS)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->changed = adapt_detect_change(env, st, s);
	adapt_smooth(s, st);
	adapt_paging_smooth(s, st);
	valid = adapt_metric(goal, s, st, out, &ls, &lp, &lw);
	/* published when computed anew; a reused one stays with its time */
	if (goal->enabled[POL_AD_PAGING] && adapt_paging_estimate_tick(goal, env, st, s)) {
		adapt_paging_to_tel(&st->pg.e, st->pg.t_ns, &out->paging);
		out->have_paging = true;
	}
	/* the change in flight sees this tick first; the history gets it after */
	if (evaluate(goal, st, s, valid, ls, lp, lw, out)) {
		if (valid && !st->pending)
			adapt_hist_push(st, ls, lp, lw);
		next_period(goal, st, out);
		return 0;
	}
	if (valid && !st->pending)
		adapt_hist_push(st, ls, lp, lw);
	if (!valid)
		note(out, "no goal metric this tick%s", s->dt_ns ? "" : ": first sample");
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (!goal->enabled[order[i]])
			continue;
		if (consider(goal, env, st, s, order[i], out))
			break;
	}
	if (!out->nr)
		note(out, "nothing to change");
	next_period(goal, st, out);
	return 0;
}
