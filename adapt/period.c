/* adapt: the adaptive period. Pure: the sample against the smoothed past
 * (in the state) says whether something changed; the loop then samples at
 * fast_period_ms and, once steady, doubles its period back to period_ms
 * (as DAMON backs off its own work rate). */
#include "adapt/adapt_int.h"

#include <math.h>

static bool jumped(double now, double ref, double points)
{
	return isfinite(now) && isfinite(ref) && fabs(now - ref) >= points;
}

bool adapt_exits_jumped(double now, double ref)
{
	double hi = fmax(now, ref), lo = fmin(now, ref);

	return hi - lo >= ADAPT_JUMP_EXITS_PER_S && hi >= lo * ADAPT_JUMP_EXITS_FACTOR;
}

/* Whether a vCPU runs on OS CPU cpu (the map the loop set, else where the
 * sample saw it): load that comes and goes on other CPUs is not noise on
 * this VM, and does not make the loop sample fast. */
static bool runs_vcpu(const struct adapt_state *st, const struct tel_sample *s, int cpu)
{
	const struct adapt_change *c = &st->cur[ADAPT_COREMAP];

	for (int i = 0; i < s->nr_vcpus; i++) {
		int on = st->have_cur[ADAPT_COREMAP] && i < c->u.coremap.nr && c->u.coremap.pcpu[i] >= 0
			 ? c->u.coremap.pcpu[i] : s->vcpu[i].pcpu;

		if (on == cpu)
			return true;
	}
	return false;
}

/* Run before adapt_smooth: st->run_delay and st->cpu are still the past. */
bool adapt_detect_change(const struct adapt_env *env, struct adapt_state *st,
			 const struct tel_sample *s)
{
	int i, n = env->pu_busy_pct ? env->nr_pu_busy : 0;
	bool changed = false, ref = st->have_ref;

	if (!s->dt_ns)
		return false;   /* no rates in this sample */
	if (n > ADAPT_CM_CACHE_PUS)
		n = ADAPT_CM_CACHE_PUS;
	for (i = 0; i < s->nr_vcpus; i++) {
		const struct tel_vcpu_sample *v = &s->vcpu[i];

		if (ref && st->have_smooth &&
		    (jumped(v->run_delay_pct, st->run_delay[i], ADAPT_JUMP_PCT) ||
		     jumped(v->cpu_pct, st->cpu[i], ADAPT_JUMP_PCT) ||
		     adapt_exits_jumped(v->exits_per_s, st->ref_exits[i])))
			changed = true;
		st->ref_exits[i] = ref ? (st->ref_exits[i] + v->exits_per_s) / 2 : v->exits_per_s;
	}
	for (i = 0; i < n; i++) {
		double b = env->pu_busy_pct[i];

		if (!isfinite(b))
			continue;
		if (ref && i < st->nr_ref_busy && jumped(b, st->ref_busy[i], ADAPT_JUMP_BUSY_PCT) &&
		    runs_vcpu(st, s, i))
			changed = true;
		st->ref_busy[i] = ref && i < st->nr_ref_busy ? (st->ref_busy[i] + b) / 2 : b;
	}
	st->nr_ref_busy = n;
	st->have_ref = true;
	return changed;
}

uint64_t adapt_next_period(const struct pol_profile *g, struct adapt_state *st, bool fast)
{
	uint64_t slow = g->period_ns, quick = g->fast_period_ns, next;

	if (!quick || quick >= slow) {
		next = slow;
	} else if (fast || !st->period_ns) {
		next = quick;
	} else {
		next = st->period_ns * 2;
		if (next < quick)
			next = quick;
		if (next > slow)
			next = slow;
	}
	st->period_ns = next;
	return next;
}
