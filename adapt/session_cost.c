/* What the session's loop does besides its ticks: the one-off work of the
 * start and the recurring work a steady tick skips, for a reader who
 * measures a steady tick (adapt_session_cost, bench/tel_sample). */
#include <stdio.h>
#include <string.h>

#include "adapt/adapt_drv.h"
#include "adapt/session_bankmap.h"
#include "common/util.h"

void adapt_session_oneoff(struct adapt_session *s, const char *what, uint64_t cpu_ns)
{
	struct adapt_oneoff *o;

	pthread_mutex_lock(&s->cost_lock);
	if (s->nr_oneoff < ADAPT_ONEOFF_MAX) {
		o = &s->oneoff[s->nr_oneoff++];
		snprintf(o->what, sizeof(o->what), "%s", what);
		o->t_ns = util_now_ns();
		o->cpu_ns = cpu_ns;
	}
	pthread_mutex_unlock(&s->cost_lock);
}

static uint64_t load(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

void adapt_session_cost(struct adapt_session *s, struct adapt_session_cost *out)
{
	struct adapt_driver_stats ds = { 0 };
	bool energy, pg_ok = true, bm_ok = true;

	memset(out, 0, sizeof(*out));
	if (s->driver)
		adapt_driver_stats(s->driver, &ds);
	pthread_mutex_lock(&s->cost_lock);
	out->nr_oneoff = s->nr_oneoff;
	memcpy(out->oneoff, s->oneoff, sizeof(out->oneoff));
	energy = s->energy_tried;
	pthread_mutex_unlock(&s->cost_lock);
	out->reread_max_age_ns = ADAPT_MEM_MAX_AGE_NS;
	if (s->paging) {
		out->smaps_reads = load(&s->paging->smaps_reads);
		out->smaps_cpu_ns = load(&s->paging->smaps_ns_last);
	}
	if (s->bankmap && s->bankmap->sampler) {
		out->bm_passes = load(&s->bankmap->passes);
		out->bm_pass_cpu_ns = load(&s->bankmap->pass_cpu_ns_last);
	}
	for (int i = 0; i < ADAPT_LOAD_DUE_COUNT && i < (int)UTIL_ARRAY_SIZE(out->load_due); i++)
		out->load_due[i] = load(&s->load_gate.count[i]);
	/* the memory readers re-read once for the guest's start-up page faults,
	 * or find none, at their first fault check ADAPT_MEM_MIN_AGE_NS after
	 * the first read: then the start is over (a later re-read is
	 * steady-state work: in a window, or amortised) */
	if (s->paging)
		pg_ok = __atomic_load_n(&s->paging->settled, __ATOMIC_RELAXED);
	if (s->bankmap && s->bankmap->sampler)
		bm_ok = __atomic_load_n(&s->bankmap->settled, __ATOMIC_RELAXED);
	out->warm = (!s->driver || ds.warm) && energy && pg_ok && bm_ok;
}
