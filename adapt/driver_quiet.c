/* adapt: the driver's quiet ticks. While steady, a tick probes each vCPU
 * (cfg.probe: its run delay from memory, else its CPU time) instead of
 * taking the full sample; the full tick comes every steady_sample_ms, at
 * once when a probe shows a vCPU moved, after an exporter read or on a
 * request (adapt_driver_want_full), and is
 * counted by why it was full. The loop says at -v when it goes quiet and
 * what woke it. */
#include "adapt/adapt_drv.h"
#include "common/util.h"

#include <math.h>

/* Without the lock: the loop thread is the only writer, and a reader's
 * copy of an aligned counter is whole. */
UTIL_HOT static void count(struct adapt_driver *d, enum adapt_full_why why)
{
	uint64_t *c = why == ADAPT_FULL_NONE ? &d->stats.quiet_ticks : &d->stats.full_why[why];

	__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

uint64_t adapt_drv_judge_steady(struct adapt_driver *d, bool held)
{
	d->steady_why = d->cfg.probe ? adapt_steady_why(&d->profile, &d->state, held, d->sample)
				     : ADAPT_FULL_OFF;
	d->full_due_ns = adapt_full_due_ns(&d->profile, d->sample);
	return d->steady_why == ADAPT_FULL_NONE ? d->profile.steady_sample_ns : 0;
}

/* The state changes only in full ticks: judged after each (before the
 * first, steady_why is OFF). */
UTIL_HOT static enum adapt_full_why due(const struct adapt_driver *d, uint64_t now_ns)
{
	if (d->steady_why != ADAPT_FULL_NONE)
		return d->steady_why;
	if (__atomic_load_n(&d->want_full, __ATOMIC_ACQUIRE))
		return ADAPT_FULL_ASKED;
	return now_ns >= d->full_due_ns ? ADAPT_FULL_DUE : ADAPT_FULL_NONE;
}

UTIL_HOT bool adapt_drv_quiet_tick(struct adapt_driver *d, uint64_t now_ns)
{
	const struct tel_vcpu_sample *v;
	enum adapt_full_why why;
	int i = -1;

	if (!d->cfg.probe)
		return false;
	why = due(d, now_ns);
	if (why == ADAPT_FULL_NONE)
		why = d->cfg.probe(d->cfg.probe_arg, now_ns, &d->probe) ? ADAPT_FULL_STALE
			: adapt_probe_jumped(d->sample, &d->probe, &i);
	count(d, why);
	/* said once per quiet stretch: a full sample that was only due goes on with it */
	if (why == ADAPT_FULL_NONE && !d->quiet)
		util_info("steady: a full sample every %.1f s, between them a look at each vCPU "
			  "every %.1f s (%d of %d read from memory: KVM's steal-time area%s)",
			  (double)d->profile.steady_sample_ns / 1e9,
			  (double)d->profile.period_ns / 1e9, d->probe.nr_from_memory,
			  d->probe.nr_vcpus, d->probe.nr_remote ? ", the guest's own, read from "
			  "the VM process's memory" : "");
	v = why == ADAPT_FULL_JUMP ? &d->sample->vcpu[i] : NULL;
	if (v && isfinite(d->probe.cpu_pct[i]) && fabs(d->probe.cpu_pct[i] - v->cpu_pct) >= ADAPT_JUMP_PCT)
		util_info("vcpu%d's CPU share is %.0f%% (%.0f%% at the last sample): sampling now", i,
			  d->probe.cpu_pct[i], v->cpu_pct);
	else if (v)
		util_info("vcpu%d's run delay is %.0f%% (%.0f%% at the last sample): sampling now", i,
			  d->probe.run_delay_pct[i], v->run_delay_pct);
	d->state.probe_moved = why == ADAPT_FULL_JUMP;
	if (why != ADAPT_FULL_DUE && why != ADAPT_FULL_READ && why != ADAPT_FULL_ASKED)
		/* those keep it quiet */
		d->quiet = why == ADAPT_FULL_NONE;
	return why == ADAPT_FULL_NONE;
}
