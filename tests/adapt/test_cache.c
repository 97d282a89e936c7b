/* The coremap plan cache in adapt_state: adapt_step with it (the built-in
 * source) decides exactly what it decides planning every tick (the public
 * adapt_propose_coremap as a hook), over the recorded replays and over a
 * long synthetic 64-vCPU run. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "coremap/coremap.h"
#include "replay.h"

static void expect_same_decision(const struct adapt_decision *a, const struct adapt_decision *b,
				 const char *ctx)
{
	cr_expect_eq(a->id, b->id, "%s: id", ctx);
	cr_expect_eq(a->t_ns, b->t_ns, "%s: t_ns", ctx);
	cr_expect_eq(a->revert, b->revert, "%s: revert", ctx);
	cr_expect_eq(a->reverts_id, b->reverts_id, "%s: reverts_id", ctx);
	cr_expect_eq(memcmp(&a->change, &b->change, sizeof(a->change)), 0, "%s: change (%s vs %s)",
		     ctx, a->what, b->what);
	cr_expect_str_eq(a->what, b->what, "%s: what", ctx);
	cr_expect_str_eq(a->why, b->why, "%s: why", ctx);
}

static void by_vcpu0(const struct adapt_decision *d, char *variant, size_t len)
{
	if (d->change.kind == ADAPT_COREMAP)
		snprintf(variant, len, "cpu%d", d->change.u.coremap.pcpu[0]);
}

static void by_layout(const struct adapt_decision *d, char *variant, size_t len)
{
	if (d->change.kind == ADAPT_COREMAP)
		snprintf(variant, len, "%s", d->change.u.coremap.pcpu[1] >= 2 ? "spread" : "packed");
}

struct replay_case {
	const char *file, *topo, *profile, *variant0;
	replay_variant_fn fn;
	const double *busy;
	int nr_busy;
};

static uint64_t replay_hits;

static void replay_both(const struct replay_case *c)
{
	static struct replay_result cached, fresh;
	struct coremap_topo *topo;
	struct pol_profile prof;
	struct adapt_env env;
	struct replay rp;
	char ctx[96];
	int i;

	cr_assert_eq(replay_load(c->file, &rp), 0, "load tests/data/%s", c->file);
	cr_assert_eq(coremap_topo_load(c->topo, &topo), 0);
	cr_assert_eq(replay_profile(c->profile, NULL, &prof), 0);
	adapt_env_init(&env);
	env.topo = topo;
	env.pu_busy_pct = c->busy;
	env.nr_pu_busy = c->nr_busy;
	cr_assert_eq(replay_run(&rp, &prof, &env, c->variant0, c->fn, &cached), 0);
	env.propose[ADAPT_COREMAP] = adapt_propose_coremap; /* plans every tick */
	cr_assert_eq(replay_run(&rp, &prof, &env, c->variant0, c->fn, &fresh), 0);
	snprintf(ctx, sizeof(ctx), "%s/%s%s", c->file, c->profile, c->busy ? "/busy" : "");
	cr_expect_eq(fresh.cm_plans + fresh.cm_cache_hits, 0, "%s: the hook path has no cache", ctx);
	cr_expect_gt(cached.cm_plans, 0, "%s: coremap_plan never ran", ctx);
	replay_hits += cached.cm_cache_hits;
	cr_expect_eq(cached.nr_decisions, fresh.nr_decisions, "%s: decisions", ctx);
	cr_expect_eq(cached.nr_reverts, fresh.nr_reverts, "%s: reverts", ctx);
	cr_expect_eq(cached.nr_effects, fresh.nr_effects, "%s: effects", ctx);
	cr_expect_eq(cached.nr_kept, fresh.nr_kept, "%s: kept", ctx);
	cr_expect_str_eq(cached.final_variant, fresh.final_variant, "%s", ctx);
	cr_expect_str_eq(cached.last_note, fresh.last_note, "%s", ctx);
	for (i = 0; i < cached.nr_decisions && i < fresh.nr_decisions && i < 64; i++) {
		cr_expect_eq(cached.t_ns[i], fresh.t_ns[i], "%s: decision %d time", ctx, i);
		expect_same_decision(&cached.d[i], &fresh.d[i], ctx);
	}
	replay_free(&rp);
	coremap_topo_free(topo);
}

Test(coremap_cache, replays_decide_the_same)
{
	static const double busy2[] = { 90, 5 }, busy4[] = { 30, 30, 30, 30 };
	const struct replay_case cases[] = {
		{ "hog.csv", "package:1 core:2 pu:1", "performance", "cpu0", by_vcpu0, NULL, 0 },
		{ "worse.csv", "package:1 core:2 pu:1", "performance", "cpu0", by_vcpu0, busy2, 2 },
		{ "worse.csv", "package:1 core:2 pu:1", "performance", "cpu0", by_vcpu0, NULL, 0 },
		{ "noisy.csv", "package:2 core:2 pu:1", "performance", "*", NULL, busy4, 4 },
		{ "noisy.csv", "package:2 core:2 pu:1", "performance", "*", NULL, NULL, 0 },
		{ "memory.csv", "package:2 core:2 pu:1", "performance", "packed", by_layout, NULL, 0 },
		{ "memory.csv", "package:2 core:2 pu:1", "energy", "packed", by_layout, NULL, 0 },
		{ "memory.csv", "package:2 core:2 pu:1", "energy", "spread", by_layout, NULL, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		replay_both(&cases[i]);
	cr_expect_gt(replay_hits, 100, "the cache was hardly used: %llu hits",
		     (unsigned long long)replay_hits);
}

#define SYN_VCPUS 48

/* 48 vCPUs on 64 CPUs for 600 ticks: classes flip now and then, run delay
 * wanders around the noisy threshold, and decisions are carried out. */
static void synthetic(const double *busy, int nr_busy, int *plans, int *hits)
{
	static struct tel_sample s;
	static struct adapt_state st[2];
	struct adapt_out out[2];
	struct coremap_topo *topo;
	struct pol_profile prof;
	struct adapt_env env[2];
	unsigned seed = 7;
	int t, v, k, nr_dec = 0;

	cr_assert_eq(coremap_topo_load("package:2 core:16 pu:2", &topo), 0);
	cr_assert_eq(replay_profile("performance", "[goal]\nconfirm_ticks = 1\nmin_dwell_ms = 2000\nhysteresis_pct = 1\n", &prof), 0);
	for (k = 0; k < 2; k++) {
		adapt_env_init(&env[k]);
		env[k].topo = topo;
		env[k].pu_busy_pct = busy;
		env[k].nr_pu_busy = nr_busy;
		adapt_state_init(&st[k]);
	}
	env[1].propose[ADAPT_COREMAP] = adapt_propose_coremap;
	memset(&s, 0, sizeof(s));
	s.nr_vcpus = SYN_VCPUS;
	for (v = 0; v < SYN_VCPUS; v++) {
		s.vcpu[v].pcpu = v;
		s.vcpu[v].hw_valid = true;
		s.vcpu[v].llc_misses_per_kinstr = v % 3 ? 2 : 25;
	}
	for (t = 0; t < 600; t++) {
		s.seq = (uint64_t)t + 1;
		s.t_ns = (uint64_t)(t + 1) * 1000000000ull;
		s.dt_ns = t ? 1000000000ull : 0;
		s.energy.up = true;
		s.energy.power_w = 200 + rand_r(&seed) % 5;
		for (v = 0; v < SYN_VCPUS; v++) {
			struct tel_vcpu_sample *x = &s.vcpu[v];

			if (rand_r(&seed) % 1500 == 0) /* a phase change */
				x->llc_misses_per_kinstr = x->llc_misses_per_kinstr > 10 ? 2 : 25;
			x->cpu_pct = 80 + rand_r(&seed) % 20;
			x->run_delay_pct = v % 4 == 1 && t % 200 > 100 ? 20 + rand_r(&seed) % 12 : 2;
			x->tlb_misses_per_kinstr = 1;
			x->paging_exits_per_s = 100;
			x->instructions += (uint64_t)(x->cpu_pct * 1e7);
		}
		for (k = 0; k < 2; k++)
			cr_assert_eq(adapt_step(&prof, &env[k], &st[k], &s, &out[k]), 0);
		cr_assert_eq(out[0].nr, out[1].nr, "tick %d: %d vs %d decisions", t, out[0].nr, out[1].nr);
		cr_assert_str_eq(out[0].note, out[1].note, "tick %d", t);
		cr_assert_eq(out[0].nr_effects, out[1].nr_effects, "tick %d", t);
		for (k = 0; k < out[0].nr; k++) {
			expect_same_decision(&out[0].d[k], &out[1].d[k], "synthetic");
			if (out[0].d[k].change.kind == ADAPT_COREMAP)
				for (v = 0; v < SYN_VCPUS; v++)
					s.vcpu[v].pcpu = out[0].d[k].change.u.coremap.pcpu[v];
			nr_dec++;
		}
	}
	cr_expect_gt(nr_dec, 0, "the run made no decision at all: %s", out[0].note);
	*plans = (int)st[0].cm_plans;
	*hits = (int)st[0].cm_cache_hits;
	coremap_topo_free(topo);
}

Test(coremap_cache, synthetic_48_vcpus_decide_the_same)
{
	int plans, hits;

	synthetic(NULL, 0, &plans, &hits);
	cr_expect_gt(plans, 1, "classes changed: coremap_plan must run again");
	cr_expect_gt(hits, plans, "steady ticks reuse the plan (%d plans, %d hits)", plans, hits);
}

Test(coremap_cache, synthetic_with_host_load_decides_the_same)
{
	static double busy[64];
	int plans, hits, i;

	for (i = 0; i < 64; i++)
		busy[i] = i % 7 == 3 ? 100 : 90;
	synthetic(busy, 64, &plans, &hits);
	cr_expect_gt(plans, 1);
}
