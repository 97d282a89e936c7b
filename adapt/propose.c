/* adapt: the built-in proposal sources (coremap through coremap_plan, the
 * paging-mode rule, the power-cap controller). All pure. */
#include "adapt/adapt_int.h"
#include "coremap/coremap.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define COREMAP_MOVE_COST_NS 50000ull   /* re-pin + cold caches, per vCPU */
#define PAGING_SWITCH_COST_NS 10000000ull
#define PAGING_EXIT_COST_NS 5000.0      /* one shadow-paging exit, emulated */
/* Model for predictions (the measured effect decides what stays): each
 * extra package in use adds this share of the first one's power, and a
 * memory-bound vCPU given its own memory domain runs this much faster
 * (Bae et al., HPDC 2012: up to +66% performance, -17% power). */
#define PACKAGE_POWER_SHARE 0.30
#define SPREAD_GAIN_PCT 30.0

static enum coremap_strategy strategy_of(enum pol_coremap_strategy s)
{
	switch (s) {
	case POL_CM_PACK:
		return COREMAP_PACK;
	case POL_CM_SPREAD:
		return COREMAP_SPREAD;
	case POL_CM_EXPLICIT:
		return COREMAP_EXPLICIT;
	default:
		return COREMAP_ADAPTIVE;
	}
}

static bool prefers_energy(const struct pol_profile *g)
{
	return g->objective == POL_OBJ_ENERGY || g->objective == POL_OBJ_EDP ||
	       (g->objective == POL_OBJ_WEIGHTED && g->weight_energy >= g->weight_performance);
}

static int packages_used(const struct coremap_topo *t, const int *pcpu, int n)
{
	unsigned long long seen = 0;
	int i, pu, pkg, count = 0;

	for (i = 0; i < n; i++) {
		if (pcpu[i] < 0)
			return -1; /* unpinned: unknown */
		pu = coremap_topo_pu_by_os(t, pcpu[i]);
		pkg = pu < 0 ? -1 : coremap_topo_pu_package(t, pu);
		if (pkg < 0 || pkg >= 64)
			return -1;
		if (!(seen & (1ull << pkg)))
			count++;
		seen |= 1ull << pkg;
	}
	return count;
}

/* Append x to buf[size] at virtual length used, as snprintf would cut it;
 * returns the new virtual length (the text's length were nothing cut). */
static size_t append(char *buf, size_t size, size_t used, const char *x)
{
	for (; *x; x++, used++)
		if (used + 1 < size)
			buf[used] = *x;
	buf[used < size ? used : size - 1] = '\0';
	return used;
}

static size_t append_int(char *buf, size_t size, size_t used, int v)
{
	char tmp[16], *b = tmp + sizeof(tmp) - 1;
	unsigned u = v < 0 ? 0u - (unsigned)v : (unsigned)v;

	*b = '\0';
	do {
		*--b = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--b = '-';
	return append(buf, size, used, b);
}

/* What coremap_plan gets from the profile, the environment and the state. */
struct cm_inputs {
	struct coremap_vcpu_metrics m[ADAPT_MAX_VCPUS];
	struct coremap_goal cg;
	enum coremap_strategy strategy;
	int cur[ADAPT_MAX_VCPUS];
	int n;
};

static void cm_inputs(const struct pol_profile *g, const struct adapt_env *env,
		      const struct adapt_state *st, const struct tel_sample *s,
		      struct cm_inputs *in)
{
	int i;

	in->n = s->nr_vcpus;
	for (i = 0; i < in->n; i++) {
		in->cur[i] = st->have_cur[ADAPT_COREMAP] && i < st->cur[ADAPT_COREMAP].u.coremap.nr ?
			     st->cur[ADAPT_COREMAP].u.coremap.pcpu[i] : s->vcpu[i].pcpu;
		in->m[i].llc_misses_per_kinstr = s->vcpu[i].hw_valid ? st->llc[i] : -1;
		in->m[i].run_delay_pct = st->run_delay[i];
		in->m[i].cpu_pct = st->cpu[i];
		in->m[i].cur_pcpu = in->cur[i];
	}
	memset(&in->cg, 0, sizeof(in->cg));
	in->cg.prefer_energy = prefers_energy(g);
	in->cg.memory_intensive_llc_per_kinstr = g->coremap.memory_intensive_llc_per_kinstr;
	in->cg.noisy_run_delay_pct = g->coremap.noisy_run_delay_pct;
	in->cg.reserved_cpus = g->coremap.reserved;
	in->cg.nr_reserved = g->coremap.nr_reserved;
	in->cg.explicit_map = g->coremap.explicit_map;
	in->cg.nr_explicit = g->coremap.nr_explicit;
	in->cg.pu_busy_pct = env->pu_busy_pct;
	in->cg.nr_pu_busy = env->nr_pu_busy;
	in->strategy = strategy_of(g->coremap.strategy);
}

/* From the plan to the proposal: what moves, and the predictions. */
static int cm_propose(const struct pol_profile *g, const struct adapt_env *env,
		      const struct adapt_state *st, const struct cm_inputs *in, const char *why,
		      struct adapt_proposal *out)
{
	const int *plan = out->change.u.coremap.pcpu, *cur = in->cur;
	int i, n = in->n, moved = 0, before, after;
	double delay = 0, cpu = 0, mem_moved = 0;
	size_t used = 0;

	out->change.u.coremap.nr = n;
	for (i = 0; i < n; i++) {
		cpu += st->cpu[i];
		if (plan[i] == cur[i])
			continue;
		moved++;
		delay += st->run_delay[i];
		if (in->m[i].llc_misses_per_kinstr >= g->coremap.memory_intensive_llc_per_kinstr)
			mem_moved++;
		if (used < sizeof(out->what) - 24) { /* "%svcpu%d cpu%d->cpu%d" */
			size_t sz = sizeof(out->what);

			used = append(out->what, sz, used, used ? ", vcpu" : "vcpu");
			used = append_int(out->what, sz, used, i);
			used = append(out->what, sz, used, " cpu");
			used = append_int(out->what, sz, used, cur[i]);
			used = append(out->what, sz, used, "->cpu");
			used = append_int(out->what, sz, used, plan[i]);
		}
	}
	if (!moved)
		return 0;
	/* predictions: the run delay of moved vCPUs comes back; packages
	 * freed save power, and cost memory-bound vCPUs some speed */
	before = packages_used(env->topo, cur, n);
	after = packages_used(env->topo, plan, n);
	out->perf_pct = cpu > 0 ? 100 * delay / cpu : delay;
	if (before > 0 && after > 0 && after != before) {
		double gm = SPREAD_GAIN_PCT / 100 * mem_moved / n;

		out->power_pct = 100 * ((1 + PACKAGE_POWER_SHARE * (after - 1)) /
					(1 + PACKAGE_POWER_SHARE * (before - 1)) - 1);
		out->perf_pct += 100 * (after > before ? gm : 1 / (1 + gm) - 1);
	}
	out->cost_ns = COREMAP_MOVE_COST_NS * (uint64_t)moved;
	/* pack, spread and explicit are the operator's placement, not a bet:
	 * applied without the gain test, and not reverted */
	out->constraint = g->coremap.strategy != POL_CM_ADAPTIVE;
	snprintf(out->why, sizeof(out->why), "%s%s%s", in->cg.prefer_energy ? "[energy] " : "",
		 out->constraint ? "placement set by the profile: " : "", why);
	out->valid = true;
	return 0;
}

int adapt_propose_coremap(const struct pol_profile *g, const struct adapt_env *env,
			  const struct adapt_state *st, const struct tel_sample *s,
			  void *arg, struct adapt_proposal *out)
{
	struct cm_inputs in;
	char why[sizeof(st->cm_cache.why)];
	int rc;

	out->valid = false;
	if (!env->topo || s->nr_vcpus <= 0)
		return 0;
	cm_inputs(g, env, st, s, &in);
	rc = coremap_plan(env->topo, in.strategy, in.m, in.n, &in.cg, out->change.u.coremap.pcpu,
			  why, sizeof(why));
	if (rc)
		return rc;
	return cm_propose(g, env, st, &in, why, out);
}

/* ---- the coremap_plan cache (adapt_state.cm_cache) ---------------------- */

#define CLS_MEM 1u     /* memory-intensive */
#define CLS_NO_LLC 2u  /* "(no LLC data)" in the plan's why */
#define CLS_DELAYED 4u /* run delay at or above noisy_run_delay_pct */

static double finite_or0(double x)
{
	return isfinite(x) ? x : 0;
}

/* Fill the key from the inputs; false when they cannot be cached. */
static bool cm_key(const struct adapt_env *env, const struct cm_inputs *in, struct adapt_cm_cache *key)
{
	const struct coremap_goal *cg = &in->cg;
	const struct coremap_topo *t = env->topo;
	int i, nr_pus = coremap_topo_nr_pus(t);

	if (nr_pus > ADAPT_CM_CACHE_PUS || cg->nr_reserved < 0 || cg->nr_reserved > POL_MAX_CPUS)
		return false;
	key->topo = t;
	key->strategy = (int)in->strategy;
	key->nr = in->n;
	key->nr_pus = nr_pus;
	memset(key->online, 0, sizeof(key->online));
	for (i = 0; i < nr_pus; i++)
		if (coremap_topo_pu_online(t, i))
			key->online[i / 64] |= 1ull << (i % 64);
	key->nr_reserved = cg->nr_reserved;
	for (i = 0; i < cg->nr_reserved; i++)
		key->reserved[i] = cg->reserved_cpus[i];
	key->nr_explicit = 0;
	if (in->strategy == COREMAP_EXPLICIT) {
		key->nr_explicit = cg->explicit_map ? cg->nr_explicit : -1;
		for (i = 0; i < in->n && i < key->nr_explicit; i++)
			key->explicit_map[i] = cg->explicit_map[i];
	}
	key->prefer_energy = false;
	key->have_busy = false;
	if (in->strategy != COREMAP_ADAPTIVE)
		return true;
	/* adaptive: everything coremap's cost and its why read per vCPU */
	key->prefer_energy = cg->prefer_energy;
	key->have_busy = cg->pu_busy_pct != NULL;
	for (i = 0; i < in->n; i++) {
		const struct coremap_vcpu_metrics *m = &in->m[i];
		double llc = isfinite(m->llc_misses_per_kinstr) ? m->llc_misses_per_kinstr : -1;
		bool delayed = cg->noisy_run_delay_pct > 0 &&
			       finite_or0(m->run_delay_pct) >= cg->noisy_run_delay_pct;

		key->cls[i] = (uint8_t)((llc >= 0 && llc >= cg->memory_intensive_llc_per_kinstr ?
						  CLS_MEM : 0) |
						 (m->llc_misses_per_kinstr < 0 ? CLS_NO_LLC : 0) |
						 (delayed ? CLS_DELAYED : 0));
		key->cur[i] = m->cur_pcpu;
		/* the why shows a delayed vCPU's run delay as %.0f */
		key->delay_rounded[i] = delayed ? nearbyint(m->run_delay_pct) : 0;
		key->cpu_pct[i] = cg->pu_busy_pct ? m->cpu_pct : 0;
	}
	for (i = 0; cg->pu_busy_pct && i < nr_pus; i++) {
		int os = coremap_topo_pu_os_index(t, i);

		key->busy_pct[i] = os >= 0 && os < cg->nr_pu_busy ? cg->pu_busy_pct[os] : -1;
	}
	return true;
}

#define SAME(f) (memcmp(a->f, b->f, sizeof(a->f[0]) * (size_t)(n)) == 0)
static bool cm_key_same(const struct adapt_cm_cache *a, const struct adapt_cm_cache *b)
{
	int n;

	if (a->topo != b->topo || a->strategy != b->strategy ||
	    a->nr != b->nr || a->nr_pus != b->nr_pus ||
	    a->prefer_energy != b->prefer_energy ||
	    a->have_busy != b->have_busy ||
	    a->nr_reserved != b->nr_reserved ||
	    a->nr_explicit != b->nr_explicit)
		return false;
	n = (a->nr_pus + 63) / 64;
	if (!SAME(online))
		return false;
	n = a->nr_reserved;
	if (!SAME(reserved))
		return false;
	n = a->nr_explicit < a->nr ? a->nr_explicit : a->nr;
	if (n > 0 && !SAME(explicit_map))
		return false;
	if (a->strategy != COREMAP_ADAPTIVE)
		return true;
	n = a->nr;
	if (!SAME(cls) || !SAME(cur) || !SAME(delay_rounded))
		return false;
	if (!a->have_busy)
		return true;
	if (!SAME(cpu_pct))
		return false;
	n = a->nr_pus;
	return SAME(busy_pct);
}
#undef SAME

/* Copy the key part (everything but the result) of src into dst. */
static void cm_key_copy(struct adapt_cm_cache *dst, const struct adapt_cm_cache *src)
{
	size_t n = (size_t)src->nr;

	dst->topo = src->topo;
	dst->strategy = src->strategy;
	dst->nr = src->nr;
	dst->nr_pus = src->nr_pus;
	dst->prefer_energy = src->prefer_energy;
	dst->have_busy = src->have_busy;
	memcpy(dst->online, src->online, sizeof(src->online));
	dst->nr_reserved = src->nr_reserved;
	memcpy(dst->reserved, src->reserved, sizeof(int) * (size_t)src->nr_reserved);
	dst->nr_explicit = src->nr_explicit;
	if (src->nr_explicit > 0)
		memcpy(dst->explicit_map, src->explicit_map,
		       sizeof(int) * (size_t)(src->nr_explicit < src->nr ? src->nr_explicit : src->nr));
	if (src->strategy != COREMAP_ADAPTIVE)
		return;
	memcpy(dst->cls, src->cls, sizeof(uint8_t) * n);
	memcpy(dst->cur, src->cur, sizeof(int) * n);
	memcpy(dst->delay_rounded, src->delay_rounded, sizeof(double) * n);
	memcpy(dst->cpu_pct, src->cpu_pct, sizeof(double) * n);
	if (src->have_busy)
		memcpy(dst->busy_pct, src->busy_pct, sizeof(double) * (size_t)src->nr_pus);
}

/*
 * adapt_propose_coremap through the plan cache in st: coremap_plan runs
 * only when an input it depends on differs from the last plan's; the
 * predictions are always computed from this tick's metrics.
 */
int adapt_propose_coremap_cached(const struct pol_profile *g, const struct adapt_env *env,
				 struct adapt_state *st, const struct tel_sample *s,
				 struct adapt_proposal *out)
{
	struct adapt_cm_cache key;
	struct cm_inputs in;
	bool cacheable;
	int rc;

	out->valid = false;
	if (!env->topo || s->nr_vcpus <= 0)
		return 0;
	cm_inputs(g, env, st, s, &in);
	cacheable = cm_key(env, &in, &key);
	if (cacheable && st->cm_cache.valid && cm_key_same(&key, &st->cm_cache)) {
		st->cm_cache_hits++;
		if (st->cm_cache.rc)
			return st->cm_cache.rc;
		memcpy(out->change.u.coremap.pcpu, st->cm_cache.plan, sizeof(int) * (size_t)in.n);
		return cm_propose(g, env, st, &in, st->cm_cache.why, out);
	}
	st->cm_plans++;
	st->cm_cache.valid = false;
	rc = coremap_plan(env->topo, in.strategy, in.m, in.n, &in.cg, out->change.u.coremap.pcpu,
			  st->cm_cache.why, sizeof(st->cm_cache.why));
	if (cacheable) {
		cm_key_copy(&st->cm_cache, &key);
		st->cm_cache.rc = rc;
		memcpy(st->cm_cache.plan, out->change.u.coremap.pcpu, sizeof(int) * (size_t)in.n);
		st->cm_cache.valid = true;
	}
	if (rc)
		return rc;
	return cm_propose(g, env, st, &in, st->cm_cache.why, out);
}

int adapt_propose_paging(const struct pol_profile *g, const struct adapt_env *env,
			 const struct adapt_state *st, const struct tel_sample *s,
			 void *arg, struct adapt_proposal *out)
{
	int mode = st->have_cur[ADAPT_PAGING] ? st->cur[ADAPT_PAGING].u.paging.mode : env->paging_mode;
	double h = g->hysteresis_pct / 100, ex = st->paging_exits, tlb = st->tlb;
	double ex_hi = g->paging.paging_exits_per_s_high, tlb_hi = g->paging.tlb_misses_per_kinstr_high;
	bool hw = s->nr_vcpus > 0;
	int i, nr = s->nr_vcpus > 0 ? s->nr_vcpus : 1;

	out->valid = false;
	if (mode == ADAPT_PG_UNKNOWN || !env->paging_live_switch || !g->paging.allow_live_switch)
		return 0;
	for (i = 0; i < s->nr_vcpus; i++)
		hw = hw && s->vcpu[i].hw_valid;
	if (mode == ADAPT_PG_SHADOW && ex > ex_hi * (1 + h)) {
		out->change.u.paging.mode = ADAPT_PG_NESTED;
		/* time in paging exits comes back; nested walks cost TLB misses */
		out->perf_pct = fmin(90, ex * PAGING_EXIT_COST_NS / 1e9 * 100 / nr);
		if (hw)
			out->perf_pct -= fmin(30, tlb);
		snprintf(out->what, sizeof(out->what), "paging shadow->nested");
		snprintf(out->why, sizeof(out->why), "paging exits %.0f/s > %.0f/s (+%.0f%% band)%s", ex,
			 ex_hi, g->hysteresis_pct, hw ? "" : ", TLB misses unknown (no PMU)");
	} else if (mode == ADAPT_PG_NESTED && hw && tlb > tlb_hi * (1 + h) && ex < ex_hi * (1 - h)) {
		out->change.u.paging.mode = ADAPT_PG_SHADOW;
		out->perf_pct = fmin(30, tlb) - fmin(90, ex * PAGING_EXIT_COST_NS / 1e9 * 100 / nr);
		snprintf(out->what, sizeof(out->what), "paging nested->shadow");
		snprintf(out->why, sizeof(out->why), "TLB misses %.1f/kinstr > %.1f and paging exits %.0f/s < %.0f/s",
			 tlb, tlb_hi, ex, ex_hi);
	} else {
		return 0;
	}
	out->cost_ns = PAGING_SWITCH_COST_NS;
	out->valid = true;
	return 0;
}

int adapt_propose_energy(const struct pol_profile *g, const struct adapt_env *env,
			 const struct adapt_state *st, const struct tel_sample *s,
			 void *arg, struct adapt_proposal *out)
{
	double cap = g->power_cap_w, cur, set, p = s->energy.power_w;
	double h = g->hysteresis_pct / 100, noise = g->noise_pct / 100;

	out->valid = false;
	if (g->objective != POL_OBJ_POWER_CAP || cap <= 0)
		return 0;
	cur = st->have_cur[ADAPT_ENERGY] ? st->cur[ADAPT_ENERGY].u.energy.cap_w : s->energy.power_cap_w;
	if (cur <= 0 || cur > cap + 0.5) {
		set = cap;
		out->constraint = true;
		snprintf(out->why, sizeof(out->why), "the profile caps power at %.1f W; the cap now is %s%.1f W",
			 cap, cur <= 0 ? "none " : "", cur);
	} else if (s->energy.up && !s->energy.estimated && p > cap * (1 + noise) && cur > g->energy.cap_min_w) {
		set = fmax(g->energy.cap_min_w, cur - g->energy.cap_step_w);
		out->constraint = true;
		snprintf(out->why, sizeof(out->why), "power %.1f W above the %.1f W cap with the limit at %.1f W",
			 p, cap, cur);
	} else if (s->energy.up && !s->energy.estimated && cur < cap - 0.5 && p < cur * (1 - h)) {
		set = fmin(cap, cur + g->energy.cap_step_w);
		out->perf_pct = 100 * (set - cur) / cur;
		out->power_pct = 100 * (set - cur) / cur;
		snprintf(out->why, sizeof(out->why), "power %.1f W well under the limit %.1f W (cap %.1f W): relax it",
			 p, cur, cap);
	} else {
		return 0;
	}
	out->change.u.energy.cap_w = set;
	snprintf(out->what, sizeof(out->what), "set cap %.1f W", set);
	out->valid = true;
	return 0;
}
