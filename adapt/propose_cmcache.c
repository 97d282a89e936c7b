/* adapt: the coremap_plan cache (adapt_state.cm_cache): the plan is made
 * again only when an input it depends on changed. Pure. */
#include "adapt/adapt_int.h"
#include "coremap/coremap.h"

#include <math.h>
#include <string.h>

#define CLS_MEM 1u     /* memory-intensive */
#define CLS_NO_LLC 2u  /* "(no LLC data)" in the plan's why */
#define CLS_DELAYED 4u /* run delay at or above noisy_run_delay_pct */

static double finite_or0(double x)
{
	return isfinite(x) ? x : 0;
}

/* Fill the key from the inputs; false when they cannot be cached. */
static bool cm_key(const struct adapt_env *env, const struct adapt_cm_inputs *in, struct adapt_cm_cache *key)
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
	struct adapt_cm_inputs in;
	bool cacheable;
	int rc;

	out->valid = false;
	if (!env->topo || s->nr_vcpus <= 0)
		return 0;
	adapt_cm_inputs(g, env, st, s, &in);
	cacheable = cm_key(env, &in, &key);
	if (cacheable && st->cm_cache.valid && cm_key_same(&key, &st->cm_cache)) {
		st->cm_cache_hits++;
		if (st->cm_cache.rc)
			return st->cm_cache.rc;
		memcpy(out->change.u.coremap.pcpu, st->cm_cache.plan, sizeof(int) * (size_t)in.n);
		return adapt_cm_propose(g, env, st, &in, st->cm_cache.why, out);
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
	return adapt_cm_propose(g, env, st, &in, st->cm_cache.why, out);
}
