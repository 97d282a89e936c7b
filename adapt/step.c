/* adapt: adapt_step(), the pure decision function: smooth the sample, score
 * it against the goal, let the change in flight be measured first
 * (step_eval.c), else consider each enabled adaptation in order
 * (step_consider.c), and choose the next period; with the helpers these
 * steps share (the tick's hold and note, the fast period) and the hold
 * names. The state's init and resets are in step_state.c. */
#include "adapt/adapt_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const enum adapt_kind order[] = { ADAPT_ENERGY, ADAPT_COREMAP, ADAPT_PAGING, ADAPT_BANKMAP };

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
void adapt_out_hold(struct adapt_out *out, enum adapt_kind k, enum adapt_hold h, uint64_t left_ns)
{
	if (out->hold != ADAPT_HOLD_NONE)
		return;
	out->hold = h;
	out->hold_kind = k;
	out->hold_left_ns = left_ns;
}

/* The period while something changes. */
uint64_t adapt_fast_ns(const struct pol_profile *g)
{
	return g->fast_period_ns && g->fast_period_ns < g->period_ns ? g->fast_period_ns : g->period_ns;
}

void adapt_out_note(struct adapt_out *out, const char *fmt, ...)
{
	va_list ap;

	if (out->note[0])
		return;
	va_start(ap, fmt);
	vsnprintf(out->note, sizeof(out->note), fmt, ap);
	va_end(ap);
}

/* Fast while something changes or waits to be confirmed or measured; a
 * dwell or cooldown that ends before the next tick brings that tick forward. */
static void next_period(const struct pol_profile *g, struct adapt_state *st, struct adapt_out *out)
{
	bool fast = out->changed || out->nr || st->pending || out->hold == ADAPT_HOLD_CONFIRM ||
		    out->hold == ADAPT_HOLD_BASELINE || out->hold == ADAPT_HOLD_MEASURING;
	uint64_t next = adapt_next_period(g, st, fast), quick = adapt_fast_ns(g);

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
	out->changed = adapt_detect_change(env, st, s) || st->probe_moved;
	st->probe_moved = false;
	adapt_smooth(s, st);
	adapt_paging_smooth(s, st);
	valid = adapt_metric(goal, s, st, out, &ls, &lp, &lw);
	/* published when computed anew; a reused one stays with its time */
	if (goal->enabled[POL_AD_PAGING] && adapt_paging_estimate_tick(goal, env, st, s)) {
		adapt_paging_to_tel(&st->pg.e, st->pg.t_ns, &out->paging);
		out->have_paging = true;
	}
	/* the change in flight sees this tick first; the history gets it after */
	if (adapt_step_evaluate(goal, st, s, valid, ls, lp, lw, out)) {
		if (valid && !st->pending)
			adapt_hist_push(st, ls, lp, lw);
		next_period(goal, st, out);
		return 0;
	}
	if (valid && !st->pending)
		adapt_hist_push(st, ls, lp, lw);
	if (!valid)
		adapt_out_note(out, "no goal metric this tick%s", s->dt_ns ? "" : ": first sample");
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (!goal->enabled[order[i]])
			continue;
		if (adapt_step_consider(goal, env, st, s, order[i], out))
			break;
	}
	if (!out->nr)
		adapt_out_note(out, "nothing to change");
	next_period(goal, st, out);
	return 0;
}
