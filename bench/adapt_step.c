/* Benchmark: adapt_step for 64 vCPUs on a 2-package, 64-CPU synthetic
 * topology (package:2 core:16 pu:2) with every adaptation enabled, in two
 * cases:
 *   steady  the vCPUs keep their classes (memory-intensive or not, noisy or
 *           not) and CPUs while their metrics jitter: the coremap proposal
 *           reuses its last plan (cache hits);
 *   worst   every vCPU's LLC misses and run delay are drawn anew each tick,
 *           so classes change and coremap_plan runs every tick;
 * and, for reference, the loop with the coremap proposal off. Prints medians
 * and p99 in µs, how often coremap_plan ran, and last
 * ratio_vs_target=median/20µs of the worst case (<= 1 meets the target).
 * Build: make BUILD=build build/bench/adapt_step; run from the source tree
 * (it loads policies/profiles/performance.ini). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapt/adapt.h"
#include "common/util.h"
#include "coremap/coremap.h"

#define ROUNDS 400
#define NR_VCPUS 64
#define TARGET_US 20.0

enum bench_case { STEADY, WORST };

struct result {
	double median_us, p99_us, max_us;
	int decisions;
	uint64_t plans, hits;
};

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void fill(struct tel_sample *s, enum bench_case c, unsigned *seed)
{
	int v;

	s->energy.up = true;
	s->energy.power_w = 200 + rand_r(seed) % 20;
	for (v = 0; v < NR_VCPUS; v++) {
		struct tel_vcpu_sample *x = &s->vcpu[v];

		x->hw_valid = true;
		x->cpu_pct = 60 + rand_r(seed) % 40;
		x->tlb_misses_per_kinstr = rand_r(seed) % 10;
		x->paging_exits_per_s = rand_r(seed) % 20000;
		x->instructions += (uint64_t)(x->cpu_pct * 1e7);
		if (c == WORST) {
			/* around both thresholds (10 LLC misses/kinstr, 25% delay) */
			x->run_delay_pct = rand_r(seed) % 40;
			x->llc_misses_per_kinstr = rand_r(seed) % 20;
		} else {
			/* a third memory-bound, all quiet; values jitter */
			x->run_delay_pct = rand_r(seed) % 5;
			x->llc_misses_per_kinstr = (v % 3 ? 2 : 30) + rand_r(seed) % 3;
		}
	}
}

static void run(const struct pol_profile *g, const struct adapt_env *env, enum bench_case c,
		struct result *r)
{
	static struct tel_sample s;
	static struct adapt_state st;
	static double us[ROUNDS];
	struct adapt_out out;
	unsigned seed = 1;
	int i, k, v;

	memset(&s, 0, sizeof(s));
	memset(r, 0, sizeof(*r));
	adapt_state_init(&st);
	s.nr_vcpus = NR_VCPUS;
	for (i = 0; i < NR_VCPUS; i++)
		s.vcpu[i].pcpu = i;
	for (i = 0; i < ROUNDS; i++) {
		uint64_t t0;

		s.seq = (uint64_t)i + 1;
		s.t_ns = (uint64_t)(i + 1) * 1000000000ull;
		s.dt_ns = i ? 1000000000ull : 0;
		fill(&s, c, &seed);
		t0 = util_now_ns();
		adapt_step(g, env, &st, &s, &out);
		us[i] = (double)(util_now_ns() - t0) / 1e3;
		r->decisions += out.nr;
		/* decisions are carried out: the vCPUs run where they were put */
		for (k = 0; k < out.nr; k++)
			for (v = 0; out.d[k].change.kind == ADAPT_COREMAP && v < NR_VCPUS; v++)
				s.vcpu[v].pcpu = out.d[k].change.u.coremap.pcpu[v];
	}
	qsort(us, ROUNDS, sizeof(us[0]), cmp);
	r->median_us = us[ROUNDS / 2];
	r->p99_us = us[ROUNDS * 99 / 100];
	r->max_us = us[ROUNDS - 1];
	r->plans = st.cm_plans;
	r->hits = st.cm_cache_hits;
}

static void print(const char *name, const struct result *r)
{
	printf("%-7s median_us=%.2f p99_us=%.2f max_us=%.2f coremap_plan_runs=%llu cache_hits=%llu "
	       "decisions=%d\n", name, r->median_us, r->p99_us, r->max_us,
	       (unsigned long long)r->plans, (unsigned long long)r->hits, r->decisions);
}

int main(void)
{
	static const char *dirs[] = { "policies/profiles" };
	struct result steady, worst, loop;
	struct pol_profile g;
	struct coremap_topo *topo;
	struct adapt_env env;
	char err[1024];

	if (pol_load("performance", dirs, 1, &g, err, sizeof(err))) {
		fprintf(stderr, "adapt_step bench: %s (run from the source tree)\n", err);
		return 1;
	}
	g.paging.allow_live_switch = true;
	if (coremap_topo_load("package:2 core:16 pu:2", &topo)) {
		fprintf(stderr, "adapt_step bench: cannot load the synthetic topology\n");
		return 1;
	}
	adapt_env_init(&env);
	env.topo = topo;
	env.paging_mode = ADAPT_PG_SHADOW;
	env.paging_live_switch = true;
	run(&g, &env, STEADY, &steady);
	run(&g, &env, WORST, &worst);
	g.enabled[POL_AD_COREMAP] = false;
	run(&g, &env, WORST, &loop);
	printf("adapt_step, %d vCPUs on 64 CPUs (package:2 core:16 pu:2), %d ticks per case, "
	       "target %.0f us\n", NR_VCPUS, ROUNDS, TARGET_US);
	print("steady", &steady);
	print("worst", &worst);
	printf("without the coremap proposal (the loop alone): median_us=%.2f p99_us=%.2f\n",
	       loop.median_us, loop.p99_us);
	printf("ratio_vs_target_steady=%.3f\n", steady.median_us / TARGET_US);
	printf("ratio_vs_target=%.3f\n", worst.median_us / TARGET_US);
	coremap_topo_free(topo);
	return 0;
}
