/*
 * adapt: the paging-mode proposal. Pure.
 *
 * Each tick the cost model (pgmode_estimate) gets this tick's signals: the
 * paging mode and the share of guest RAM backed by 2 MiB pages (the sample's
 * smaps figures, else what the loop last set), the vCPUs' smoothed CPU time
 * and paging exits (pf_taken + invlpg + tlb_flush), the page-walk share of
 * guest cycles when every vCPU has hardware counters (else the reason from
 * the sources' status), the live lever (MADV_COLLAPSE) and whether the next
 * run could be nested, host memory and the goal. Its `want` becomes an
 * ADAPT_PAGING change of the backing (the host mode stays: it never changes
 * live, except through the old rule below where the backend can switch and
 * the profile allows it). The change runs on the actuator's worker thread
 * (no vCPU pause: cost 0); memory pressure, and the goal packing memory
 * within max_slowdown_pct, are constraints (no gain test, not reverted).
 */
#include "adapt/adapt_int.h"
#include "paging-mode/pgmode.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define PAGING_SWITCH_COST_NS 10000000ull

static bool all_hw(const struct tel_sample *s)
{
	int i;

	for (i = 0; i < s->nr_vcpus; i++)
		if (!s->vcpu[i].hw_valid)
			return false;
	return s->nr_vcpus > 0;
}

void adapt_paging_smooth(const struct tel_sample *s, struct adapt_state *st)
{
	uint64_t cyc = 0, walk = 0, dtlb = 0;
	int i;

	if (!all_hw(s)) {
		st->have_hw_prev = false;
		st->walk_state = 0;
		return;
	}
	for (i = 0; st->have_hw_prev && i < s->nr_vcpus; i++) {
		const struct tel_vcpu_sample *v = &s->vcpu[i];

		/* a counter that went down was reset: nothing over this tick */
		cyc += v->cycles >= st->prev_cycles[i] ? v->cycles - st->prev_cycles[i] : 0;
		walk += v->walk_cycles >= st->prev_walk[i] ? v->walk_cycles - st->prev_walk[i] : 0;
		dtlb += v->dtlb_misses >= st->prev_dtlb[i] ? v->dtlb_misses - st->prev_dtlb[i] : 0;
	}
	if (st->have_hw_prev) {
		if (!cyc) {
			st->walk_state = 3;
		} else if (!walk && dtlb) {
			st->walk_state = 2;
		} else {
			double share = (double)walk / (double)cyc;

			st->walk_share = st->walk_state == 1 ? (st->walk_share + share) / 2 : share;
			st->walk_state = 1;
		}
	}
	for (i = 0; i < s->nr_vcpus; i++) {
		st->prev_cycles[i] = s->vcpu[i].cycles;
		st->prev_walk[i] = s->vcpu[i].walk_cycles;
		st->prev_dtlb[i] = s->vcpu[i].dtlb_misses;
	}
	st->have_hw_prev = true;
}

/* Why the page-walk share is unknown. */
static void hw_why(const struct adapt_state *st, const struct tel_sample *s, char *why, size_t len)
{
	const struct tel_source_status *perf = &s->src[TEL_SRC_PERF], *papi = &s->src[TEL_SRC_PAPI];
	int i;

	if (!s->nr_vcpus) {
		snprintf(why, len, "no vCPUs sampled");
	} else if (all_hw(s)) {
		snprintf(why, len, "%s", st->walk_state == 2 ? "the PMU has no page-walk cycles event" :
			 st->walk_state == 3 ? "no cycles counted this tick" :
			 "page-walk cycles: first sample with counters");
	} else if (!perf->up && perf->why[0]) {
		snprintf(why, len, "page-walk cycles unknown: %.130s", perf->why);
	} else if (!papi->up && papi->why[0] && strncmp(papi->why, "not selected", 12)) {
		snprintf(why, len, "page-walk cycles unknown: %.130s", papi->why);
	} else {
		for (i = 0; i < s->nr_vcpus && s->vcpu[i].hw_valid; i++)
			;
		snprintf(why, len, "page-walk cycles unknown: no hardware counters on vcpu%d", i);
	}
}

static enum pgmode_page backing_now(const struct adapt_state *st, const struct tel_sample *s,
				    double *share)
{
	const struct tel_paging_sample *p = &s->paging;

	*share = -1;
	if (p->valid && p->rss_bytes) {
		*share = fmin(1, (double)(p->bytes_2m + p->bytes_1g) / (double)p->rss_bytes);
		return *share >= 0.5 ? PGMODE_PAGE_2M : PGMODE_PAGE_4K;
	}
	if (st->have_cur[ADAPT_PAGING] && st->cur[ADAPT_PAGING].u.paging.backing != PGMODE_PAGE_KEEP) {
		*share = st->cur[ADAPT_PAGING].u.paging.backing == PGMODE_PAGE_2M ? 1 : 0;
		return (enum pgmode_page)st->cur[ADAPT_PAGING].u.paging.backing;
	}
	return PGMODE_PAGE_KEEP; /* unknown */
}

static int mode_now(const struct adapt_env *env, const struct adapt_state *st)
{
	/* a change made before the host was probed (the start's backing) keeps no mode */
	if (st->have_cur[ADAPT_PAGING] && st->cur[ADAPT_PAGING].u.paging.mode != ADAPT_PG_UNKNOWN)
		return st->cur[ADAPT_PAGING].u.paging.mode;
	return env->paging_mode;
}

/* The model's parameters and this tick's signals (cheap; the model's texts
 * are not). */
void adapt_paging_inputs(const struct pol_profile *g, const struct adapt_env *env,
			 const struct adapt_state *st, const struct tel_sample *s,
			 struct pgmode_params *pp, struct pgmode_signals *inp)
{
	const struct tel_source_status *kvm = &s->src[TEL_SRC_KVM_STATS];
	struct pgmode_params p;
	struct pgmode_signals in;
	int i;

	pgmode_params_default(&p);
	p.exit_cost_calibrated = env->paging_exit_cost_ns > 0;
	p.exit_cost_ns = p.exit_cost_calibrated ? env->paging_exit_cost_ns : g->paging.exit_cost_ns;
	p.nested_walk_factor = g->paging.nested_walk_factor;
	p.nested_walk_factor_2m = g->paging.nested_walk_factor_2m;
	p.walk_share_2m_factor = g->paging.walk_share_2m_factor;
	p.min_gain_pct = g->paging.min_gain_pct;
	p.mem_available_low_pct = g->paging.mem_available_low_pct;

	memset(&in, 0, sizeof(in));
	in.mode = (enum pgmode_mode)mode_now(env, st);
	backing_now(st, s, &in.backing_2m_share);
	in.nr_vcpus = s->nr_vcpus;
	for (i = 0; i < s->nr_vcpus; i++)
		in.cpu_pct += st->have_smooth ? st->cpu[i] : s->vcpu[i].cpu_pct;
	in.paging_exits_per_s = -1;
	if (!kvm->up && kvm->why[0])
		snprintf(in.exits_why, sizeof(in.exits_why), "KVM statistics: %.150s", kvm->why);
	else if (!st->have_smooth)
		snprintf(in.exits_why, sizeof(in.exits_why), "no rates before the second sample");
	else
		in.paging_exits_per_s = st->paging_exits;
	in.hw_valid = all_hw(s) && st->walk_state == 1;
	in.walk_cycles_share = in.hw_valid ? st->walk_share : 0;
	in.tlb_misses_per_kinstr = in.hw_valid ? st->tlb : 0;
	if (!in.hw_valid)
		hw_why(st, s, in.hw_why, sizeof(in.hw_why));
	in.nested_available = env->paging_nested_available;
	in.collapse_available = env->paging_collapse;
	snprintf(in.collapse_why, sizeof(in.collapse_why), "%s",
		 env->paging_collapse_why[0] ? env->paging_collapse_why : "the host did not report it");
	in.mem_available_pct = s->paging.valid ? s->paging.mem_available_pct : -1;
	in.prefer_energy = adapt_prefers_energy(g);
	*pp = p;
	*inp = in;
}

void adapt_paging_estimate(const struct pol_profile *g, const struct adapt_env *env,
			   const struct adapt_state *st, const struct tel_sample *s,
			   struct pgmode_estimate *e)
{
	struct pgmode_params p;
	struct pgmode_signals in;

	adapt_paging_inputs(g, env, st, s, &p, &in);
	pgmode_estimate(&p, &in, e);
}


void adapt_paging_to_tel(const struct pgmode_estimate *e, uint64_t t_ns, struct tel_paging_estimate *out)
{
	const struct pgmode_part *parts[TEL_PG_PARTS] = { &e->shadow, &e->walk, &e->now, &e->alt_2m,
							  &e->alt_4k, &e->alt_mode };
	int i;

	memset(out, 0, sizeof(*out));
	out->t_ns = t_ns;
	for (i = 0; i < TEL_PG_PARTS; i++) {
		out->part[i].valid = parts[i]->valid;
		out->part[i].pct = parts[i]->pct;
		snprintf(out->part[i].why, sizeof(out->part[i].why), "%.159s", parts[i]->why);
	}
	snprintf(out->want, sizeof(out->want), "%s", pgmode_page_name(e->want));
	snprintf(out->want_mode, sizeof(out->want_mode), "%s", pgmode_mode_name(e->want_mode));
	snprintf(out->reason, sizeof(out->reason), "%s", e->reason);
	snprintf(out->recommend, sizeof(out->recommend), "%s", e->recommend);
}

/* The old live mode switch (DAV2M-style rule with a hysteresis band), only
 * where the backend switches the host mode live and the profile allows it. */
static bool live_mode_switch(const struct pol_profile *g, const struct adapt_env *env,
			     const struct adapt_state *st, const struct tel_sample *s, double exit_cost_ns,
			     struct adapt_proposal *out)
{
	int mode = mode_now(env, st);
	double h = g->hysteresis_pct / 100, ex = st->paging_exits, tlb = st->tlb;
	double ex_hi = g->paging.paging_exits_per_s_high, tlb_hi = g->paging.tlb_misses_per_kinstr_high;
	double busy = 0;
	bool hw = all_hw(s);
	int i;

	for (i = 0; i < s->nr_vcpus; i++)
		busy += s->vcpu[i].cpu_pct;
	busy = busy > 0 ? busy / 100 : 1;   /* vCPU-seconds per second */
	if (mode == ADAPT_PG_UNKNOWN || !env->paging_live_switch || !g->paging.allow_live_switch)
		return false;
	if (mode == ADAPT_PG_SHADOW && ex > ex_hi * (1 + h)) {
		out->change.u.paging.mode = ADAPT_PG_NESTED;
		out->perf_pct = fmin(90, ex * exit_cost_ns / 1e9 * 100 / busy);
		if (hw)
			out->perf_pct -= fmin(30, tlb);
		snprintf(out->what, sizeof(out->what), "paging shadow->nested");
		snprintf(out->why, sizeof(out->why), "paging exits %.0f/s > %.0f/s (+%.0f%% band)%s", ex,
			 ex_hi, g->hysteresis_pct, hw ? "" : ", TLB misses unknown (no PMU)");
	} else if (mode == ADAPT_PG_NESTED && hw && tlb > tlb_hi * (1 + h) && ex < ex_hi * (1 - h)) {
		out->change.u.paging.mode = ADAPT_PG_SHADOW;
		out->perf_pct = fmin(30, tlb) - fmin(90, ex * exit_cost_ns / 1e9 * 100 / busy);
		snprintf(out->what, sizeof(out->what), "paging nested->shadow");
		snprintf(out->why, sizeof(out->why), "TLB misses %.1f/kinstr > %.1f and paging exits %.0f/s < %.0f/s",
			 tlb, tlb_hi, ex, ex_hi);
	} else {
		return false;
	}
	out->change.u.paging.backing = PGMODE_PAGE_KEEP;
	out->cost_ns = PAGING_SWITCH_COST_NS;
	out->valid = true;
	return true;
}

int adapt_propose_paging(const struct pol_profile *g, const struct adapt_env *env,
			 const struct adapt_state *st, const struct tel_sample *s,
			 void *arg, struct adapt_proposal *out)
{
	struct pgmode_estimate e;
	enum pgmode_page cur;
	double share;
	bool pressure;

	out->valid = false;
	if (live_mode_switch(g, env, st, s, env->paging_exit_cost_ns > 0 ? env->paging_exit_cost_ns :
			     g->paging.exit_cost_ns, out))
		return 0;
	/* adapt_step's estimate of this tick when it made one */
	if (st->pg.have && st->pg.tick_ns == s->t_ns)
		e = st->pg.e;
	else
		adapt_paging_estimate(g, env, st, s, &e);
	if (e.want == PGMODE_PAGE_KEEP)
		return 0;
	cur = backing_now(st, s, &share);
	out->change.u.paging.mode = mode_now(env, st);
	out->change.u.paging.backing = e.want;
	out->perf_pct = e.gain_pct;
	out->cost_ns = 0; /* the worker thread does it; the vCPUs are not paused */
	pressure = s->paging.valid && s->paging.mem_available_pct >= 0 &&
		   s->paging.mem_available_pct < g->paging.mem_available_low_pct;
	/* memory pressure, or the goal packing memory unless that is predicted
	 * slower than max_slowdown_pct (then the loop holds it: slowdown) */
	out->constraint = e.want == PGMODE_PAGE_4K &&
		(pressure || !(g->max_slowdown_pct > 0 && e.gain_pct < -g->max_slowdown_pct));
	snprintf(out->what, sizeof(out->what), "backing %s->%s", share < 0 ? "?" :
		 share > 0.05 && share < 0.9 ? "mixed" : pgmode_page_name(cur), pgmode_page_name(e.want));
	snprintf(out->why, sizeof(out->why), "%s", e.reason);
	out->valid = true;
	return 0;
}
