/* adapt_step on recorded sample sequences (the csv files in tests/data). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "coremap/coremap.h"
#include "replay.h"

static struct coremap_topo *topo;
static struct replay rp;
static struct pol_profile prof;
static struct replay_result res;

static void teardown(void)
{
	replay_free(&rp);
	coremap_topo_free(topo);
	topo = NULL;
}

static void load(const char *file, const char *topo_desc)
{
	cr_assert_eq(replay_load(file, &rp), 0, "load tests/data/%s", file);
	cr_assert_eq(coremap_topo_load(topo_desc, &topo), 0, "topology %s", topo_desc);
}

/* vCPU 0's CPU names the variant: "cpu1" */
static void by_vcpu0(const struct adapt_decision *d, char *variant, size_t len)
{
	if (d->change.kind == ADAPT_COREMAP)
		snprintf(variant, len, "cpu%d", d->change.u.coremap.pcpu[0]);
}

TestSuite(replay, .fini = teardown);

Test(replay, hog_moves_vcpu_once_and_keeps_it)
{
	struct adapt_env env;

	load("hog.csv", "package:1 core:2 pu:1");
	cr_assert_eq(replay_profile("performance", NULL, &prof), 0);
	adapt_env_init(&env);
	env.topo = topo;
	cr_assert_eq(replay_run(&rp, &prof, &env, "cpu0", by_vcpu0, &res), 0);
	cr_assert_eq(res.nr_decisions, 1, "one move, got %d (%s)", res.nr_decisions, res.last_note);
	cr_assert_eq(res.d[0].change.u.coremap.pcpu[0], 1);
	cr_assert_geq(res.t_ns[0], 20000000000ull, "moved before the hog came");
	cr_assert_leq(res.t_ns[0], 26000000000ull, "moved late: %llu", (unsigned long long)res.t_ns[0]);
	cr_assert_eq(res.nr_reverts, 0);
	cr_assert_eq(res.nr_kept, 1, "the move was measured and kept");
	cr_assert_str_eq(res.final_variant, "cpu1");
	cr_assert(strstr(res.d[0].what, "vcpu0 cpu0->cpu1"), "what: %s", res.d[0].what);
}

Test(replay, static_profile_never_changes_anything)
{
	struct adapt_env env;

	load("hog.csv", "package:1 core:2 pu:1");
	cr_assert_eq(replay_profile("static", NULL, &prof), 0);
	adapt_env_init(&env);
	env.topo = topo;
	cr_assert_eq(replay_run(&rp, &prof, &env, "cpu0", by_vcpu0, &res), 0);
	cr_assert_eq(res.nr_decisions, 0);
}

Test(replay, worse_change_is_reverted_and_not_retried)
{
	static const double busy[] = { 90, 5 }; /* cpu1 looks idle */
	struct adapt_env env;
	int i;

	load("worse.csv", "package:1 core:2 pu:1");
	cr_assert_eq(replay_profile("performance", "[goal]\nrevert_cooldown_ms = 60000\n", &prof), 0);
	adapt_env_init(&env);
	env.topo = topo;
	env.pu_busy_pct = busy;
	env.nr_pu_busy = 2;
	cr_assert_eq(replay_run(&rp, &prof, &env, "cpu0", by_vcpu0, &res), 0);
	cr_assert_geq(res.nr_decisions, 2, "note: %s", res.last_note);
	cr_assert_eq(res.d[0].change.u.coremap.pcpu[0], 1);
	cr_assert(res.d[1].revert, "second decision reverts the first");
	cr_assert_eq(res.d[1].reverts_id, res.d[0].id);
	cr_assert(strstr(res.d[1].why, "score -"), "why: %s", res.d[1].why);
	/* 120 s with a 60 s cooldown: at most one retry, after the cooldown */
	cr_assert_leq(res.nr_decisions, 4);
	for (i = 2; i < res.nr_decisions && i < 64; i++)
		cr_assert_geq(res.t_ns[i] - res.t_ns[1], 60000000000ull, "retried within the cooldown");
}

Test(replay, noisy_input_does_not_flap)
{
	static const double busy[] = { 30, 30, 30, 30 };
	struct adapt_env env;
	int i;

	load("noisy.csv", "package:2 core:2 pu:1");
	cr_assert_eq(replay_profile("performance", NULL, &prof), 0);
	adapt_env_init(&env);
	env.topo = topo;
	env.pu_busy_pct = busy;
	env.nr_pu_busy = 4;
	cr_assert_eq(replay_run(&rp, &prof, &env, "*", NULL, &res), 0);
	/* 180 ticks of noise: a change at most every dwell, none back and forth */
	cr_assert_leq(res.nr_decisions, 3, "%d decisions on noise", res.nr_decisions);
	for (i = 1; i < res.nr_decisions && i < 64; i++)
		cr_assert_geq(res.t_ns[i] - res.t_ns[i - 1], prof.min_dwell_ns);
}

static void by_layout(const struct adapt_decision *d, char *variant, size_t len)
{
	if (d->change.kind == ADAPT_COREMAP)
		snprintf(variant, len, "%s", d->change.u.coremap.pcpu[1] >= 2 ? "spread" : "packed");
}

Test(replay, performance_spreads_memory_bound_vcpus)
{
	struct adapt_env env;

	load("memory.csv", "package:2 core:2 pu:1");
	cr_assert_eq(replay_profile("performance", NULL, &prof), 0);
	adapt_env_init(&env);
	env.topo = topo;
	cr_assert_eq(replay_run(&rp, &prof, &env, "packed", by_layout, &res), 0);
	cr_assert_str_eq(res.final_variant, "spread", "decisions %d: %s", res.nr_decisions, res.last_note);
	cr_assert_eq(res.nr_reverts, 0);
}

Test(replay, energy_keeps_memory_bound_vcpus_packed)
{
	struct adapt_env env;

	load("memory.csv", "package:2 core:2 pu:1");
	cr_assert_eq(replay_profile("energy", NULL, &prof), 0);
	adapt_env_init(&env);
	env.topo = topo;
	cr_assert_eq(replay_run(&rp, &prof, &env, "packed", by_layout, &res), 0);
	cr_assert_str_eq(res.final_variant, "packed", "%s", res.nr_decisions ? res.d[0].what : "");
}

Test(replay, energy_packs_spread_vcpus)
{
	struct adapt_env env;

	load("memory.csv", "package:2 core:2 pu:1");
	cr_assert_eq(replay_profile("energy", NULL, &prof), 0);
	adapt_env_init(&env);
	env.topo = topo;
	cr_assert_eq(replay_run(&rp, &prof, &env, "spread", by_layout, &res), 0);
	cr_assert_str_eq(res.final_variant, "packed", "decisions %d: %s", res.nr_decisions, res.last_note);
}

static void by_cap(const struct adapt_decision *d, char *variant, size_t len)
{
	if (d->change.kind == ADAPT_ENERGY)
		snprintf(variant, len, "%s", d->change.u.energy.cap_w > 0 ? "capped" : "uncapped");
}

Test(replay, power_cap_sets_the_cap_and_keeps_it)
{
	struct adapt_env env;

	load("power.csv", "package:1 core:2 pu:1");
	cr_assert_eq(replay_profile("powercap", NULL, &prof), 0);
	adapt_env_init(&env);
	env.topo = topo;
	cr_assert_eq(replay_run(&rp, &prof, &env, "uncapped", by_cap, &res), 0);
	cr_assert_geq(res.nr_decisions, 1);
	cr_assert_eq(res.d[0].change.kind, ADAPT_ENERGY);
	cr_assert_float_eq(res.d[0].change.u.energy.cap_w, 150, 0.01);
	cr_assert(strstr(res.d[0].what, "set cap 150"), "%s", res.d[0].what);
	cr_assert_eq(res.nr_reverts, 0, "a constraint is not reverted for costing speed");
	cr_assert_str_eq(res.final_variant, "capped");
}

Test(replay, performance_sets_no_cap)
{
	struct adapt_env env;

	load("power.csv", "package:1 core:2 pu:1");
	cr_assert_eq(replay_profile("performance", "[energy]\nenabled = yes\n", &prof), 0);
	adapt_env_init(&env);
	env.topo = topo;
	cr_assert_eq(replay_run(&rp, &prof, &env, "uncapped", by_cap, &res), 0);
	cr_assert_eq(res.nr_decisions, 0);
}
