/* adapt: the node-health decision (see adapt.h): rises of the EDAC, thermal
 * throttle and machine-check counts over a window against the profile's
 * [health] limits. Pure: no I/O, no clock; time comes in the sample. */
#include <stdio.h>
#include <string.h>

#include "adapt/adapt.h"
#include "common/util.h"

#define EDAC_RANGE (1ull << 32)   /* the kernel keeps ce_count/ue_count in a u32 */

uint64_t adapt_health_delta(uint64_t prev, uint64_t cur, uint64_t range)
{
	uint64_t q;

	if (cur >= prev)
		return cur - prev;
	q = range ? range / 4 : (1ull << 62);
	if (prev >= (range ? range : 0) - q && cur < q)
		return (range ? range - prev : -prev) + cur;   /* wrapped */
	return cur;                                         /* reset */
}

void adapt_health_init(struct adapt_health_state *st)
{
	memset(st, 0, sizeof(*st));
}

static bool same_mcs(const struct tel_health_sample *a, const struct tel_health_sample *b)
{
	if (a->nr_mc != b->nr_mc)
		return false;
	for (int m = 0; m < a->nr_mc; m++)
		if (a->mc[m].index != b->mc[m].index)
			return false;
	return true;
}

/* The running totals move on by this sample's increases. */
static void accumulate(struct adapt_health_state *st, const struct tel_health_sample *s)
{
	struct adapt_health_totals *t = &st->now;

	if (s->up[TEL_HEALTH_EDAC] && st->have[TEL_HEALTH_EDAC] && same_mcs(s, &st->prev))
		for (int m = 0; m < s->nr_mc; m++) {
			t->ce[m] += adapt_health_delta(st->prev.mc[m].ce, s->mc[m].ce, EDAC_RANGE);
			t->ue[m] += adapt_health_delta(st->prev.mc[m].ue, s->mc[m].ue, EDAC_RANGE);
		}
	else if (s->up[TEL_HEALTH_EDAC] && st->have[TEL_HEALTH_EDAC]) {
		/* controllers came or went: a new baseline, the old rises forgotten */
		memset(t->ce, 0, sizeof(t->ce));
		memset(t->ue, 0, sizeof(t->ue));
		for (int i = 0; i < st->nr_hist; i++) {
			memset(st->hist[i].ce, 0, sizeof(st->hist[i].ce));
			memset(st->hist[i].ue, 0, sizeof(st->hist[i].ue));
		}
	}
	if (s->up[TEL_HEALTH_THROTTLE] && st->have[TEL_HEALTH_THROTTLE])
		t->throttle += adapt_health_delta(st->prev.throttle_core, s->throttle_core, 0) +
			       adapt_health_delta(st->prev.throttle_package, s->throttle_package, 0);
	if (s->up[TEL_HEALTH_MCE] && st->have[TEL_HEALTH_MCE])
		t->mce += adapt_health_delta(st->prev.mce, s->mce, 0);
	for (int k = 0; k < TEL_HEALTH_SRC_COUNT; k++)
		st->have[k] = s->up[k];
	st->prev = *s;
	t->t_ns = s->t_ns;
}

/* Keeps a total every window/64, so the ring always reaches a window back;
 * returns the newest one at least a window old (else the oldest). */
static const struct adapt_health_totals *window_start(struct adapt_health_state *st,
						       uint64_t window_ns)
{
	const struct adapt_health_totals *newest = st->nr_hist ?
		&st->hist[(st->head + st->nr_hist - 1) % ADAPT_HEALTH_HIST] : NULL;
	const struct adapt_health_totals *base;

	if (!newest || st->now.t_ns - newest->t_ns >= window_ns / 64) {
		if (st->nr_hist == ADAPT_HEALTH_HIST)
			st->head = (st->head + 1) % ADAPT_HEALTH_HIST;
		else
			st->nr_hist++;
		st->hist[(st->head + st->nr_hist - 1) % ADAPT_HEALTH_HIST] = st->now;
	}
	base = &st->hist[st->head];
	for (int i = 0; i < st->nr_hist; i++) {
		const struct adapt_health_totals *h = &st->hist[(st->head + i) % ADAPT_HEALTH_HIST];

		if (st->now.t_ns - h->t_ns >= window_ns)
			base = h;
	}
	return base;
}

static void over(struct adapt_health_verdict *out, const char *what, uint64_t rise, double max,
		 uint64_t span_ns, uint64_t window_ns)
{
	if (out->failing || (double)rise <= max)
		return;
	out->failing = true;
	snprintf(out->reason, sizeof(out->reason), "%s rose %llu in %.0f s > threshold %g per %.0f s",
		 what, (unsigned long long)rise, (double)span_ns / 1e9, max, (double)window_ns / 1e9);
}

int adapt_health_step(const struct pol_profile *p, struct adapt_health_state *st,
		      const struct tel_health_sample *s, struct adapt_health_verdict *out)
{
	const struct adapt_health_totals *b;
	uint64_t w = p->health.window_ns;
	size_t used = 0;
	char what[64];

	memset(out, 0, sizeof(*out));
	accumulate(st, s);
	b = window_start(st, w);
	out->span_ns = st->now.t_ns - b->t_ns;
	for (int k = 0; k < TEL_HEALTH_SRC_COUNT; k++) {
		int n;

		if (s->up[k]) {
			out->nr_up++;
			continue;
		}
		n = snprintf(out->unavailable + used, sizeof(out->unavailable) - used, "%s%s: %s",
			     used ? "; " : "", tel_health_src_name(k), s->why[k]);
		if (n > 0)
			used = UTIL_MIN(used + (size_t)n, sizeof(out->unavailable) - 1);
	}
	if (!p->health.enabled)
		return 0;
	for (int m = 0; s->up[TEL_HEALTH_EDAC] && m < s->nr_mc; m++) {
		uint64_t ue = st->now.ue[m] - b->ue[m], ce = st->now.ce[m] - b->ce[m];

		snprintf(what, sizeof(what), "EDAC mc%d uncorrected errors", s->mc[m].index);
		over(out, what, ue, p->health.ue_max, out->span_ns, w);
		if (s->mc[m].worst[0])
			snprintf(what, sizeof(what), "EDAC mc%d corrected errors (most on %s)",
				 s->mc[m].index, s->mc[m].worst);
		else
			snprintf(what, sizeof(what), "EDAC mc%d corrected errors", s->mc[m].index);
		over(out, what, ce, p->health.ce_max, out->span_ns, w);
		out->ue_rise = UTIL_MAX(out->ue_rise, ue);
		out->ce_rise = UTIL_MAX(out->ce_rise, ce);
	}
	if (s->up[TEL_HEALTH_MCE]) {
		out->mce_rise = st->now.mce - b->mce;
		over(out, "machine-check exceptions", out->mce_rise, p->health.mce_max,
		     out->span_ns, w);
	}
	if (s->up[TEL_HEALTH_THROTTLE]) {
		out->throttle_rise = st->now.throttle - b->throttle;
		over(out, "thermal throttle events", out->throttle_rise, p->health.throttle_max,
		     out->span_ns, w);
	}
	return 0;
}
