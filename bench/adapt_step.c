/* Benchmark: adapt_step for 64 vCPUs on a 2-package, 64-CPU topology with
 * every adaptation enabled (coremap_plan runs each tick), and again with the
 * coremap proposal off (the loop's own cost). Prints medians and p99 in µs
 * and, last, ratio_vs_target=median/20µs of the full step (<= 1 meets it).
 * Build: cc -O2 -I. -D_GNU_SOURCE bench/adapt_step.c -Wl,--start-group
 * $(BUILD)/lib/lib*.a -Wl,--end-group $(SYS_LIBS) -o $(BUILD)/bench/adapt_step
 * Run from the source tree (it loads policies/profiles/performance.ini). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapt/adapt.h"
#include "common/util.h"
#include "coremap/coremap.h"

#define ROUNDS 400
#define TARGET_US 20.0

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int run(const struct pol_profile *g, const struct adapt_env *env, double *us)
{
	static struct tel_sample s;
	struct adapt_state st;
	struct adapt_out out;
	unsigned seed = 1;
	int i, v, decisions = 0;

	memset(&s, 0, sizeof(s));
	adapt_state_init(&st);
	s.nr_vcpus = 64;
	for (i = 0; i < ROUNDS; i++) {
		uint64_t t0;

		s.seq = (uint64_t)i + 1;
		s.t_ns = (uint64_t)(i + 1) * 1000000000ull;
		s.dt_ns = i ? 1000000000ull : 0;
		s.energy.up = true;
		s.energy.power_w = 200 + rand_r(&seed) % 20;
		for (v = 0; v < 64; v++) {
			struct tel_vcpu_sample *x = &s.vcpu[v];

			x->pcpu = v;
			x->hw_valid = true;
			x->cpu_pct = 60 + rand_r(&seed) % 40;
			x->run_delay_pct = rand_r(&seed) % 40;
			x->llc_misses_per_kinstr = rand_r(&seed) % 20;
			x->tlb_misses_per_kinstr = rand_r(&seed) % 10;
			x->paging_exits_per_s = rand_r(&seed) % 20000;
			x->instructions += (uint64_t)(x->cpu_pct * 1e7);
		}
		t0 = util_now_ns();
		adapt_step(g, env, &st, &s, &out);
		us[i] = (double)(util_now_ns() - t0) / 1e3;
		decisions += out.nr;
	}
	qsort(us, ROUNDS, sizeof(us[0]), cmp);
	return decisions;
}

int main(void)
{
	static const char *dirs[] = { "policies/profiles" };
	static double us[ROUNDS], loop_us[ROUNDS];
	struct pol_profile g;
	struct coremap_topo *topo;
	struct adapt_env env;
	char err[1024];
	int decisions;

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
	decisions = run(&g, &env, us);
	g.enabled[POL_AD_COREMAP] = false;
	run(&g, &env, loop_us);
	printf("adapt_step 64 vCPUs, 64 CPUs (package:2 core:16 pu:2), %d rounds, %d decisions\n",
	       ROUNDS, decisions);
	printf("median_us=%.2f p99_us=%.2f max_us=%.2f target_us=%.0f\n", us[ROUNDS / 2],
	       us[ROUNDS * 99 / 100], us[ROUNDS - 1], TARGET_US);
	printf("without coremap_plan (the loop alone): median_us=%.2f p99_us=%.2f\n",
	       loop_us[ROUNDS / 2], loop_us[ROUNDS * 99 / 100]);
	printf("ratio_vs_target=%.3f\n", us[ROUNDS / 2] / TARGET_US);
	coremap_topo_free(topo);
	return 0;
}
