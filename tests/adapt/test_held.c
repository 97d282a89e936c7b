/* Why the loop waits (adapt_out.hold, counted by reason) on recorded sample
 * sequences, and the adaptive period: fast while something changes, back to
 * period_ms when steady, a new noise source answered within 500 ms. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "coremap/coremap.h"
#include "replay.h"

static struct coremap_topo *topo;
static struct replay rp;
static struct pol_profile prof;
static struct replay_result res;
static struct adapt_env env;

static void teardown(void)
{
	replay_free(&rp);
	coremap_topo_free(topo);
	topo = NULL;
}

static void load(const char *file, const char *profile, const char *extra)
{
	cr_assert_eq(replay_load(file, &rp), 0, "load tests/data/%s", file);
	cr_assert_eq(coremap_topo_load("package:1 core:2 pu:1", &topo), 0);
	cr_assert_eq(replay_profile(profile, extra, &prof), 0);
	adapt_env_init(&env);
	env.topo = topo;
}

/* vCPU 0's CPU names the variant; unpinned (a revert to the start) is
 * where it started, cpu0 */
static void by_vcpu0(const struct adapt_decision *d, char *variant, size_t len)
{
	if (d->change.kind == ADAPT_COREMAP)
		snprintf(variant, len, "cpu%d", d->change.u.coremap.pcpu[0] < 0 ? 0 :
			 d->change.u.coremap.pcpu[0]);
}

static int total(enum adapt_kind k)
{
	int n = 0;

	for (int h = 1; h < ADAPT_HOLD_COUNT; h++)
		n += res.held[k][h];
	return n;
}

TestSuite(held, .fini = teardown);

Test(held, names)
{
	cr_assert_str_eq(adapt_hold_name(ADAPT_HOLD_DWELL), "dwell");
	cr_assert_str_eq(adapt_hold_name(ADAPT_HOLD_NO_BETTER_CORE), "no-better-core");
	cr_assert_str_eq(adapt_hold_name(ADAPT_HOLD_DRY_RUN), "dry-run");
	cr_assert_str_eq(adapt_hold_name(ADAPT_HOLD_NONE), "");
	cr_assert_str_eq(adapt_hold_name(ADAPT_HOLD_COUNT), "");
}

/* The case: a vCPU at 50% run delay where every CPU is as busy.
 * Nothing moves, and not one tick is silent about why. */
Test(held, contended_vcpu_is_never_silent)
{
	static const double busy[] = { 100, 100 };

	load("contended.csv", "balanced", NULL);
	env.pu_busy_pct = busy;
	env.nr_pu_busy = 2;
	cr_assert_eq(replay_run(&rp, &prof, &env, "cpu0", by_vcpu0, &res), 0);
	cr_assert_eq(res.nr_decisions, 0, "moved: %s", res.d[0].what);
	cr_assert_eq(res.ticks, 40);
	/* the first sample has no rates; every later tick says no-better-core */
	cr_assert_eq(res.held[ADAPT_COREMAP][ADAPT_HOLD_NO_BETTER_CORE], 39, "%s", res.last_note);
	cr_assert_eq(total(ADAPT_COREMAP), 39);
	for (int i = 1; i < res.ticks; i++)
		cr_assert_eq(res.hold[i], ADAPT_HOLD_NO_BETTER_CORE, "tick %d: %s", i,
			     adapt_hold_name(res.hold[i]));
}

/* A hog arrives at 20 s: confirmation, then the move, then its measurement. */
Test(held, hog_confirm_then_measuring)
{
	load("hog.csv", "performance", NULL);
	cr_assert_eq(replay_run(&rp, &prof, &env, "cpu0", by_vcpu0, &res), 0);
	cr_assert_eq(res.nr_decisions, 1);
	cr_assert_geq(res.held[ADAPT_COREMAP][ADAPT_HOLD_CONFIRM], 1);
	cr_assert_leq(res.held[ADAPT_COREMAP][ADAPT_HOLD_CONFIRM], 2);
	/* settle_ms 1000 + measure_ticks 3 at 1 s rows (the third closes it) */
	cr_assert_geq(res.held[ADAPT_COREMAP][ADAPT_HOLD_MEASURING], 2);
	cr_assert_leq(res.held[ADAPT_COREMAP][ADAPT_HOLD_MEASURING], 5);
	cr_assert_eq(res.held[ADAPT_COREMAP][ADAPT_HOLD_DWELL], 0, "nothing proposed in the dwell");
	cr_assert_eq(res.held[ADAPT_COREMAP][ADAPT_HOLD_NO_BETTER_CORE], 0);
	for (int i = 0; i < res.ticks; i++)
		if (res.hold_t_ns[i] < 20000000000ull)
			cr_assert_eq(res.hold[i], ADAPT_HOLD_NONE, "held before the hog at tick %d", i);
}

/* The hog moves to the vCPU's new CPU 9 s after the vCPU did: the move back
 * waits out min_dwell_ms, and says how long is left, counting down. */
Test(held, dwell_counts_down)
{
	uint64_t prev_left = UINT64_MAX;
	int dwell = 0;

	load("hog2.csv", "performance", "[goal]\nmin_dwell_ms = 20000\n");
	cr_assert_eq(replay_run(&rp, &prof, &env, "cpu0", by_vcpu0, &res), 0);
	cr_assert_eq(res.nr_decisions, 2, "%s", res.last_note);
	cr_assert_geq(res.t_ns[1] - res.t_ns[0], 20000000000ull, "moved back within the dwell");
	cr_assert_geq(res.held[ADAPT_COREMAP][ADAPT_HOLD_DWELL], 8);
	for (int i = 0; i < res.ticks; i++) {
		if (res.hold[i] != ADAPT_HOLD_DWELL)
			continue;
		dwell++;
		cr_assert_lt(res.hold_left_ns[i], prev_left, "the time left counts down");
		cr_assert_eq(res.hold_left_ns[i], res.t_ns[0] + 20000000000ull - res.hold_t_ns[i]);
		prev_left = res.hold_left_ns[i];
	}
	cr_assert_eq(dwell, res.held[ADAPT_COREMAP][ADAPT_HOLD_DWELL]);
}

/* A move that made things worse is reverted; the same move is then held
 * by the cooldown. */
Test(held, cooldown_after_revert)
{
	static const double busy[] = { 90, 5 };

	load("worse.csv", "performance", "[goal]\nrevert_cooldown_ms = 60000\n");
	env.pu_busy_pct = busy;
	env.nr_pu_busy = 2;
	cr_assert_eq(replay_run(&rp, &prof, &env, "cpu0", by_vcpu0, &res), 0);
	cr_assert_geq(res.nr_reverts, 1);
	cr_assert_geq(res.held[ADAPT_COREMAP][ADAPT_HOLD_COOLDOWN], 30, "cooldown ticks: %d (%s)",
		      res.held[ADAPT_COREMAP][ADAPT_HOLD_COOLDOWN], res.last_note);
	for (int i = 0; i < res.ticks; i++)
		if (res.hold[i] == ADAPT_HOLD_COOLDOWN)
			cr_assert_leq(res.hold_left_ns[i], 60000000000ull);
}

Test(held, dry_run_is_a_hold)
{
	load("hog.csv", "performance", NULL);
	env.dry_run = true;
	cr_assert_eq(replay_run(&rp, &prof, &env, "cpu0", NULL, &res), 0);
	cr_assert_geq(res.nr_decisions, 1);
	/* each decision's tick is held as dry-run (the variant stays cpu0, so
	 * the same move comes again after the dwell) */
	cr_assert_eq(res.held[ADAPT_COREMAP][ADAPT_HOLD_DRY_RUN], res.nr_decisions);
}

/* A proposal whose predicted gain is below hysteresis_pct is held every
 * tick for that reason, and does not keep the loop sampling fast. */
static int small_gain(const struct pol_profile *g, const struct adapt_env *e,
		      const struct adapt_state *st, const struct tel_sample *s, void *arg,
		      struct adapt_proposal *out)
{
	out->valid = true;
	out->change.u.paging.mode = ADAPT_PG_NESTED;
	out->perf_pct = 4;
	snprintf(out->what, sizeof(out->what), "small");
	return 0;
}

static void steady(struct tel_sample *s, uint64_t t_ns, uint64_t dt_ns, double cpu, double delay)
{
	memset(s, 0, sizeof(*s));
	s->seq++;
	s->t_ns = t_ns;
	s->dt_ns = dt_ns;
	s->nr_vcpus = 1;
	s->vcpu[0].pcpu = 0;
	s->vcpu[0].cpu_pct = cpu;
	s->vcpu[0].run_delay_pct = delay;
}

Test(held, hysteresis_and_slow_period)
{
	static struct tel_sample s;
	struct adapt_state st;
	struct adapt_out out;
	int hyst = 0;

	cr_assert_eq(replay_profile("performance", NULL, &prof), 0);
	prof.enabled[POL_AD_COREMAP] = false;
	prof.enabled[POL_AD_PAGING] = true;
	adapt_env_init(&env);
	env.propose[ADAPT_PAGING] = small_gain;
	adapt_state_init(&st);
	for (int t = 1; t <= 30; t++) {
		steady(&s, (uint64_t)t * 1000000000ull, t > 1 ? 1000000000ull : 0, 90, 1);
		cr_assert_eq(adapt_step(&prof, &env, &st, &s, &out), 0);
		cr_assert_eq(out.nr, 0);
		hyst += out.hold == ADAPT_HOLD_HYSTERESIS;
		if (t > 10) {
			cr_assert_eq(out.hold, ADAPT_HOLD_HYSTERESIS, "tick %d: %s", t, out.note);
			cr_assert_eq(out.hold_kind, ADAPT_PAGING);
			cr_assert_eq(out.next_period_ns, prof.period_ns, "tick %d: %llu ns", t,
				     (unsigned long long)out.next_period_ns);
		}
	}
	cr_assert_geq(hyst, 20);
}

/* The loop as the driver runs it: each tick at the period adapt_step asked
 * for. A vCPU alone on cpu0 for 20 s (the loop backs off to period_ms);
 * a host hog lands on cpu0 at 20.05 s. From the first tick whose sample
 * covers the hog, the move to cpu1 is decided within 500 ms; the steady
 * part runs at period_ms. */
Test(held, reaction_within_500ms_from_the_tick_that_sees_it)
{
	static struct tel_sample s;
	static double busy[2];
	struct adapt_state st;
	struct adapt_out out;
	uint64_t t = 0, period, hog_ns = 20050000000ull, seen_ns = 0, moved_ns = 0;
	int pcpu = 0, steady_ticks = 0, ticks = 0;

	cr_assert_eq(coremap_topo_load("package:1 core:2 pu:1", &topo), 0);
	cr_assert_eq(replay_profile("performance", NULL, &prof), 0);
	cr_assert_eq(prof.fast_period_ns, 100000000ull, "the shipped profile samples fast at 100 ms");
	adapt_env_init(&env);
	env.topo = topo;
	env.pu_busy_pct = busy;
	env.nr_pu_busy = 2;
	adapt_state_init(&st);
	period = prof.fast_period_ns;   /* the driver's first tick */
	while (t < 40000000000ull) {
		uint64_t prev = t, hogged = 0;

		t += period;
		if (pcpu == 0 && t > hog_ns)   /* the part of this interval with the hog */
			hogged = t - (prev > hog_ns ? prev : hog_ns);
		double share = prev ? (double)hogged / (double)(t - prev) : 0;

		steady(&s, t, prev ? t - prev : 0, 97 - 47 * share, 1 + 48 * share);
		busy[0] = pcpu == 0 ? 97 + 3 * share : (t > hog_ns ? 100 : 1);
		busy[1] = pcpu == 1 ? 97 : 1;
		cr_assert_eq(adapt_step(&prof, &env, &st, &s, &out), 0);
		ticks++;
		if (hogged && !seen_ns)
			seen_ns = t;
		if (out.nr && out.d[0].change.kind == ADAPT_COREMAP) {
			cr_assert_eq(moved_ns, 0, "moved twice (%s)", out.d[0].what);
			moved_ns = t;
			pcpu = out.d[0].change.u.coremap.pcpu[0];
		}
		if (t > 10000000000ull && t < hog_ns)
			steady_ticks++;
		if (t > 10000000000ull && t + period < hog_ns)
			cr_assert_eq(out.next_period_ns, prof.period_ns, "steady at %.1f s: %llu ns",
				     t / 1e9, (unsigned long long)out.next_period_ns);
		period = out.next_period_ns;
		cr_assert_geq(period, prof.fast_period_ns);
		cr_assert_leq(period, prof.period_ns);
	}
	cr_assert_eq(pcpu, 1, "moved off the hog");
	cr_assert_neq(seen_ns, 0);
	cr_assert_leq(moved_ns - seen_ns, 500000000ull, "seen at %.2f s, moved at %.2f s",
		      seen_ns / 1e9, moved_ns / 1e9);
	cr_assert_leq(steady_ticks, 11, "%d ticks in the 10 steady seconds", steady_ticks);
	cr_assert_leq(ticks, 120, "%d ticks in 40 s", ticks);
}

/* Load that comes and goes on a CPU no vCPU runs on is not noise on this
 * VM: the loop stays at period_ms. The same load on the vCPU's CPU makes it
 * sample fast. */
Test(held, only_load_on_the_vcpus_cpus_makes_it_fast)
{
	static struct tel_sample s;
	static double busy[2];
	struct adapt_state st;
	struct adapt_out out;

	cr_assert_eq(replay_profile("performance", NULL, &prof), 0);
	adapt_env_init(&env);
	env.pu_busy_pct = busy;
	env.nr_pu_busy = 2;
	for (int other = 1; other >= 0; other--) {
		adapt_state_init(&st);
		for (int t = 1; t <= 20; t++) {
			busy[0] = other ? 97 : (t % 2 ? 97 : 50);
			busy[1] = other ? (t % 2 ? 100 : 0) : 1;
			steady(&s, (uint64_t)t * 1000000000ull, t > 1 ? 1000000000ull : 0, 97, 1);
			cr_assert_eq(adapt_step(&prof, &env, &st, &s, &out), 0);
		}
		if (other)
			cr_assert_eq(out.next_period_ns, prof.period_ns, "load on cpu1 made it fast");
		else
			cr_assert_eq(out.next_period_ns, prof.fast_period_ns, "load on cpu0 did not");
	}
}
