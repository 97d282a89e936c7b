/*
 * paging-mode: the cost model. Pure: no I/O, no clock, no globals.
 *
 * All parts are percent of the vCPUs' busy time (B = cpu_pct / 100 x 1e9 ns
 * per second, the CPU time the vCPUs got, summed).
 *
 *   shadow   = min(100, paging_exits_per_s x exit_cost_ns / B x 100)
 *              valid whenever the exit rate is known and B > 0; its why says
 *              whether exit_cost_ns was calibrated on this host or is the
 *              profile's default.
 *   walk     = min(100, walk_cycles_share x 100)
 *              valid only with hardware counters (else the hw_why).
 *   now      = shadow + walk, the parts that exist (a lower bound, said so,
 *              when one is missing; invalid when both are).
 * Backing: with f = walk_share_2m_factor and s = the 2 MiB share of resident
 * guest RAM (unknown: taken as 0), the walk part at 4 KiB backing is
 *   W4 = walk / ((1 - s) + s x f)
 *   alt_2m = shadow + W4 x f        alt_4k = shadow + W4
 * (the paging exits do not depend on the backing: guest page-table writes
 * exit whatever backs the RAM). Both need the walk part.
 * The other host mode, for the next run:
 *   under shadow: nested with 2 MiB backing has no shadow page-table exits,
 *     its walks are 2-D: alt_mode = W4 x nested_walk_factor_2m (needs walk).
 *   under nested: shadow's exits cannot be measured (page-table writes do
 *     not exit under nested paging): alt_mode is unavailable; its why gives
 *     the walk part shadow paging would leave (walk / factor).
 * Decision (first that holds):
 *   memory pressure (mem_available_pct < mem_available_low_pct)  -> 4K
 *   prefer_energy (the goal packs memory)                        -> 4K
 *   TLB-heavy: walk valid and now - alt_2m >= min_gain_pct       -> 2M
 *   paging-exit heavy under shadow (shadow >= min_gain_pct)      -> want_mode
 *     nested (when the host has it) with 2 MiB backing; live 2M (its gain
 *     now is the walk part's, 0 and said so when that is unknown)
 *   otherwise KEEP (steady, or the gain below min_gain_pct).
 * 2M needs the collapse lever (else KEEP, naming it and why); a backing
 * already >= 90% 2 MiB (or <= 5% for 4K) is KEEP.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "paging-mode/pgmode.h"

#define DONE_2M_SHARE 0.9
#define DONE_4K_SHARE 0.05

void pgmode_params_default(struct pgmode_params *p)
{
	memset(p, 0, sizeof(*p));
	p->exit_cost_ns = 5000;          /* until `avmm paging calibrate` */
	p->exit_cost_calibrated = false;
	p->nested_walk_factor = 6;       /* 24 references for a 2-D 4K/4K walk vs 4 */
	p->nested_walk_factor_2m = 5;    /* about 20 with 2 MiB host pages vs 4 */
	p->walk_share_2m_factor = 0.5;
	p->min_gain_pct = 2;
	p->mem_available_low_pct = 10;
}

static void set(struct pgmode_part *pt, bool valid, double pct, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void set(struct pgmode_part *pt, bool valid, double pct, const char *fmt, ...)
{
	va_list ap;

	pt->valid = valid;
	pt->pct = valid ? pct : 0;
	va_start(ap, fmt);
	vsnprintf(pt->why, sizeof(pt->why), fmt, ap);
	va_end(ap);
}

static double clamp100(double v)
{
	return v < 0 ? 0 : v > 100 ? 100 : v;
}

static void part_shadow(const struct pgmode_params *p, const struct pgmode_signals *in,
			struct pgmode_part *out)
{
	double busy_ns = in->cpu_pct / 100 * 1e9;
	const char *how = p->exit_cost_calibrated ? "calibrated" :
		"profile default, not calibrated: run `avmm paging calibrate`";

	if (!(in->paging_exits_per_s >= 0))
		set(out, false, 0, "paging exit rate unknown: %.150s",
		    in->exits_why[0] ? in->exits_why : "no KVM statistics");
	else if (!(busy_ns > 0))
		set(out, false, 0, "the vCPUs ran no time this tick");
	else
		set(out, true, clamp100(in->paging_exits_per_s * p->exit_cost_ns / busy_ns * 100),
		    "%.0f paging exits/s x %.0f ns (%s) over %.0f%% vCPU time", in->paging_exits_per_s,
		    p->exit_cost_ns, how, in->cpu_pct);
}

static void part_walk(const struct pgmode_signals *in, struct pgmode_part *out)
{
	if (!in->hw_valid)
		set(out, false, 0, "%.170s", in->hw_why[0] ? in->hw_why : "no hardware counters: page-walk cycles unknown");
	else
		set(out, true, clamp100(in->walk_cycles_share * 100),
		    "page-walk cycles %.1f%% of guest cycles (%.2f TLB misses/kinstr)",
		    in->walk_cycles_share * 100, in->tlb_misses_per_kinstr);
}

/* now, alt_2m, alt_4k, alt_mode from the two parts; *w4 the walk part at
 * 4 KiB backing (when walk is valid). */
static void alternatives(const struct pgmode_params *p, const struct pgmode_signals *in,
			 struct pgmode_estimate *e, double *w4)
{
	const struct pgmode_part *sh = &e->shadow, *wk = &e->walk;
	double s = in->backing_2m_share >= 0 ? fmin(in->backing_2m_share, 1) : 0;
	double f = p->walk_share_2m_factor, shp = sh->valid ? sh->pct : 0;
	const char *other = in->mode == PGMODE_MODE_NESTED ? "shadow" : "nested";

	if (sh->valid && wk->valid)
		set(&e->now, true, sh->pct + wk->pct, "paging exits %.1f%% + page walks %.1f%%", sh->pct, wk->pct);
	else if (sh->valid)
		set(&e->now, true, sh->pct, "at least: paging exits %.1f%%; page walks unavailable (%.100s)",
		    sh->pct, wk->why);
	else if (wk->valid)
		set(&e->now, true, wk->pct, "at least: page walks %.1f%%; paging exits unavailable (%.100s)",
		    wk->pct, sh->why);
	else
		set(&e->now, false, 0, "no part available: %.80s; %.80s", sh->why, wk->why);

	*w4 = 0;
	if (!wk->valid) {
		set(&e->alt_2m, false, 0, "page-walk part unavailable: %.150s", wk->why);
		set(&e->alt_4k, false, 0, "page-walk part unavailable: %.150s", wk->why);
	} else {
		*w4 = wk->pct / ((1 - s) + s * f);
		set(&e->alt_2m, true, clamp100(shp + *w4 * f), "walks %.1f%% x %.2f with 2 MiB backing%s",
		    *w4, f, sh->valid ? " + paging exits unchanged" : "; paging exits unknown");
		set(&e->alt_4k, true, clamp100(shp + *w4), "walks %.1f%% at 4 KiB backing%s", *w4,
		    sh->valid ? " + paging exits unchanged" : "; paging exits unknown");
	}
	if (in->mode == PGMODE_MODE_SHADOW && !in->nested_available)
		set(&e->alt_mode, false, 0, "this host cannot run nested paging (shadow only)");
	else if (in->mode == PGMODE_MODE_SHADOW && wk->valid)
		set(&e->alt_mode, true, clamp100(*w4 * p->nested_walk_factor_2m),
		    "nested, 2 MiB backing: no paging exits; 2-D walks %.1f%% x %.1f", *w4,
		    p->nested_walk_factor_2m);
	else if (in->mode == PGMODE_MODE_SHADOW)
		set(&e->alt_mode, false, 0, "nested removes the paging exits; its 2-D walk cost is unknown: %.100s",
		    wk->why);
	else if (in->mode == PGMODE_MODE_NESTED && wk->valid)
		set(&e->alt_mode, false, 0,
		    "shadow would leave walks of about %.1f%%; its paging-exit cost cannot be measured under nested paging",
		    wk->pct / ((1 - s) * p->nested_walk_factor + s * p->nested_walk_factor_2m));
	else
		set(&e->alt_mode, false, 0, "%s paging: the current mode is %s", other,
		    in->mode == PGMODE_MODE_NESTED ? "nested; shadow's exit cost cannot be measured under it" :
		    "unknown");
}

/* A percentage as people write it: 12%, 3.4%. */
static const char *pct(char *buf, size_t len, double v)
{
	snprintf(buf, len, v >= 9.95 ? "%.0f%%" : "%.1f%%", v);
	return buf;
}

static void want_2m(const struct pgmode_signals *in, struct pgmode_estimate *e, double gain,
		    const char *because)
{
	if (in->backing_2m_share >= DONE_2M_SHARE) {
		snprintf(e->reason, sizeof(e->reason), "%.100s; guest RAM already %.0f%% 2 MiB pages", because,
			 in->backing_2m_share * 100);
	} else if (!in->collapse_available) {
		snprintf(e->reason, sizeof(e->reason), "%.70s; the live 2 MiB lever is unavailable: %.75s",
			 because, in->collapse_why[0] ? in->collapse_why : "MADV_COLLAPSE not usable");
	} else {
		e->want = PGMODE_PAGE_2M;
		e->gain_pct = gain;
		snprintf(e->reason, sizeof(e->reason), "%s", because);
	}
}

static void want_4k(const struct pgmode_signals *in, struct pgmode_estimate *e, const char *because)
{
	if (in->backing_2m_share >= 0 && in->backing_2m_share <= DONE_4K_SHARE) {
		snprintf(e->reason, sizeof(e->reason), "%.120s; guest RAM already 4 KiB pages", because);
		return;
	}
	e->want = PGMODE_PAGE_4K;
	e->gain_pct = e->now.valid && e->alt_4k.valid ? e->now.pct - e->alt_4k.pct : 0;
	snprintf(e->reason, sizeof(e->reason), "%.120s%s", because,
		 e->alt_4k.valid ? "" : "; its cost is not predicted (page walks unknown)");
}

static void recommend(const struct pgmode_signals *in, struct pgmode_estimate *e)
{
	char a[16], b[16], *r = e->recommend;
	size_t n = sizeof(e->recommend), used;

	if (in->mode == PGMODE_MODE_SHADOW && e->shadow.valid) {
		snprintf(r, n, "measured shadow-paging overhead %s", pct(a, sizeof(a), e->shadow.pct));
		used = strlen(r);
		if (e->alt_mode.valid)
			snprintf(r + used, n - used, "; nested paging with 2 MiB backing predicted %s",
				 pct(b, sizeof(b), e->alt_mode.pct));
		else if (e->want_mode == PGMODE_MODE_NESTED)
			snprintf(r + used, n - used, "; nested paging with 2 MiB backing recommended (its walk cost not predicted)");
		else if (!in->nested_available)
			snprintf(r + used, n - used, "; this host has no nested paging");
	} else if (e->walk.valid) {
		snprintf(r, n, "measured %s page-walk overhead %s", pgmode_mode_name(in->mode),
			 pct(a, sizeof(a), e->walk.pct));
	} else {
		snprintf(r, n, "no paging overhead measured: %.150s", e->now.why);
		return;
	}
	used = strlen(r);
	if (e->want == PGMODE_PAGE_2M && e->alt_2m.valid)
		snprintf(r + used, n - used, "; 2 MiB backing predicted %s", pct(a, sizeof(a), e->alt_2m.pct));
	else if (e->want == PGMODE_PAGE_2M)
		snprintf(r + used, n - used, "; 2 MiB backing");
	else if (e->want == PGMODE_PAGE_4K)
		snprintf(r + used, n - used, "; 4 KiB backing (%s)",
			 in->prefer_energy ? "the goal packs memory" : "memory pressure");
}

static void decide(const struct pgmode_params *p, const struct pgmode_signals *in,
		   struct pgmode_estimate *e)
{
	double gain2m = e->now.valid && e->alt_2m.valid ? e->now.pct - e->alt_2m.pct : NAN;
	char because[PGMODE_WHY], a[16], b[16] = "";

	e->want = PGMODE_PAGE_KEEP;
	e->want_mode = in->mode;
	if (in->mem_available_pct >= 0 && in->mem_available_pct < p->mem_available_low_pct) {
		snprintf(because, sizeof(because), "host memory available %.1f%% < %.1f%%: 4 KiB backing can be reclaimed",
			 in->mem_available_pct, p->mem_available_low_pct);
		want_4k(in, e, because);
	} else if (in->prefer_energy) {
		want_4k(in, e, "the goal packs memory: 4 KiB backing");
	} else if (e->walk.valid && gain2m >= p->min_gain_pct) {
		snprintf(because, sizeof(because), "page walks %s of vCPU time: 2 MiB backing predicted to gain %s",
			 pct(a, sizeof(a), e->walk.pct), pct(b, sizeof(b), gain2m));
		want_2m(in, e, gain2m, because);
	} else if (in->mode == PGMODE_MODE_SHADOW && e->shadow.valid && e->shadow.pct >= p->min_gain_pct) {
		if (in->nested_available)
			e->want_mode = PGMODE_MODE_NESTED;
		if (e->walk.valid)
			snprintf(b, sizeof(b), "%s", pct(a, sizeof(a), isnan(gain2m) ? 0 : gain2m));
		snprintf(because, sizeof(because), "paging exits %s of vCPU time under shadow paging: %s; 2 MiB backing now%s%s",
			 pct(a, sizeof(a), e->shadow.pct),
			 in->nested_available ? "nested + 2 MiB for the next run" : "no nested paging here",
			 e->walk.valid ? ", predicted gain " : " (gain not predicted: page walks unknown)",
			 e->walk.valid ? b : "");
		want_2m(in, e, e->walk.valid && !isnan(gain2m) ? gain2m : 0, because);
	} else if (!e->now.valid) {
		snprintf(e->reason, sizeof(e->reason), "no estimate: %.170s", e->now.why);
	} else {
		snprintf(e->reason, sizeof(e->reason), "steady: paging overhead %s%s, 2 MiB backing gains %s (< %.1f%%)",
			 pct(a, sizeof(a), e->now.pct), e->walk.valid && e->shadow.valid ? "" : " (at least)",
			 isnan(gain2m) ? "unknown" : pct(b, sizeof(b), gain2m), p->min_gain_pct);
	}
	recommend(in, e);
}

void pgmode_estimate(const struct pgmode_params *p, const struct pgmode_signals *in,
		     struct pgmode_estimate *out)
{
	double w4;

	memset(out, 0, sizeof(*out));
	part_shadow(p, in, &out->shadow);
	part_walk(in, &out->walk);
	alternatives(p, in, out, &w4);
	decide(p, in, out);
}
