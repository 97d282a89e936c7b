/* adapt: quiet ticks. A steady machine needs no full sample every period:
 * between full samples every steady_sample_ms, a tick looks at each vCPU's
 * run delay (its steal-time area) or CPU time alone, and a share that moved
 * brings the full sample (and with it the fast period) at once; an
 * exporter that read since the last full sample brings one too, so a
 * scrape finds figures no older than its own interval. Pure: the profile,
 * the state, the last sample and the probe in, a reason out. */
#include "adapt/adapt_int.h"
#include "common/util.h"

#include <math.h>

static const char *const why_names[ADAPT_FULL_COUNT] = {
	[ADAPT_FULL_NONE] = "quiet", [ADAPT_FULL_OFF] = "off", [ADAPT_FULL_UNSTEADY] = "unsteady",
	[ADAPT_FULL_DUE] = "due", [ADAPT_FULL_JUMP] = "jump", [ADAPT_FULL_STALE] = "stale",
	[ADAPT_FULL_READ] = "read", [ADAPT_FULL_ASKED] = "asked",
};

const char *adapt_full_why_name(enum adapt_full_why w)
{
	return (unsigned)w < ADAPT_FULL_COUNT ? why_names[w] : "?";
}

enum adapt_full_why adapt_steady_why(const struct pol_profile *g, const struct adapt_state *st,
				     bool held, const struct tel_sample *last)
{
	if (!g->steady_sample_ns || g->steady_sample_ns <= g->period_ns)
		return ADAPT_FULL_OFF;
	if (held || st->pending || st->period_ns != g->period_ns)
		return ADAPT_FULL_UNSTEADY;
	for (int k = 0; k < ADAPT_KIND_COUNT; k++)
		if (st->streak[k])
			return ADAPT_FULL_UNSTEADY;
	if (!last->t_ns || !last->dt_ns)
		return ADAPT_FULL_STALE;
	return ADAPT_FULL_NONE;
}

/* half a period of slack: a tick that comes a little early still counts */
uint64_t adapt_full_due_ns(const struct pol_profile *g, const struct tel_sample *last)
{
	return last->t_ns + g->steady_sample_ns - g->period_ns / 2;
}

UTIL_HOT static bool moved(double now, double ref)
{
	return isfinite(now) && isfinite(ref) && fabs(now - ref) >= ADAPT_JUMP_PCT;
}

UTIL_HOT
enum adapt_full_why adapt_probe_jumped(const struct tel_sample *last, const struct tel_probe *p,
				       int *vcpu)
{
	if (p->stale || p->nr_vcpus != last->nr_vcpus)
		return ADAPT_FULL_STALE;
	for (int i = 0; i < p->nr_vcpus; i++) {
		if (moved(p->cpu_pct[i], last->vcpu[i].cpu_pct) ||
		    moved(p->run_delay_pct[i], last->vcpu[i].run_delay_pct)) {
			*vcpu = i;
			return ADAPT_FULL_JUMP;
		}
	}
	return p->exports_read ? ADAPT_FULL_READ : ADAPT_FULL_NONE;
}
