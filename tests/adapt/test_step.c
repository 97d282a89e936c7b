/* adapt_step with hand-made proposals: objectives, dwell, confirmation. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "replay.h"

struct fake { double perf, power; int n; bool alternate; };

static int fake_propose(const struct pol_profile *g, const struct adapt_env *env,
			const struct adapt_state *st, const struct tel_sample *s, void *arg,
			struct adapt_proposal *out)
{
	struct fake *f = arg;

	out->valid = true;
	out->change.u.paging.mode = f->alternate ? (int)(s->seq % 2) : ADAPT_PG_NESTED;
	if (f->alternate && st->have_cur[ADAPT_PAGING])
		out->change.u.paging.mode = !st->cur[ADAPT_PAGING].u.paging.mode;
	out->perf_pct = f->perf;
	out->power_pct = f->power;
	snprintf(out->what, sizeof(out->what), "fake");
	snprintf(out->why, sizeof(out->why), "test");
	f->n++;
	return 0;
}

/* A steady workload, 1 vCPU at 90%, 100 W; returns decisions made. */
static int run(const char *profile, const char *extra, struct fake *f, int ticks, uint64_t *t_ns)
{
	static struct tel_sample s;
	struct pol_profile g;
	struct adapt_env env;
	struct adapt_state st;
	struct adapt_out out;
	int t, n = 0;

	cr_assert_eq(replay_profile(profile, extra, &g), 0);
	g.enabled[POL_AD_COREMAP] = false;
	g.enabled[POL_AD_PAGING] = true;
	adapt_env_init(&env);
	env.propose[ADAPT_PAGING] = fake_propose;
	env.propose_arg[ADAPT_PAGING] = f;
	adapt_state_init(&st);
	memset(&s, 0, sizeof(s));
	s.nr_vcpus = 1;
	s.energy.up = true;
	s.energy.power_w = 100;
	for (t = 1; t <= ticks; t++) {
		s.seq = (uint64_t)t;
		s.t_ns = (uint64_t)t * 1000000000ull;
		s.dt_ns = t > 1 ? 1000000000ull : 0;
		s.vcpu[0].cpu_pct = 90 + (t % 3) * 0.1;
		cr_assert_eq(adapt_step(&g, &env, &st, &s, &out), 0);
		if (out.nr && t_ns && n < 16)
			t_ns[n] = s.t_ns;
		n += out.nr;
	}
	return n;
}

Test(objectives, faster_but_hungrier_change)
{
	/* +20% progress for +30% power */
	struct fake f = { .perf = 20, .power = 30 };

	cr_assert_eq(run("performance", NULL, &f, 8, NULL), 1, "performance takes it");
	cr_assert_eq(run("energy", NULL, &f, 8, NULL), 0, "energy refuses it (1.2/1.3 < 1)");
	cr_assert_eq(run("performance", "[goal]\nobjective = edp\n", &f, 8, NULL), 1,
		     "edp takes it (1.2^2/1.3 = +10.8%%)");
	cr_assert_eq(run("balanced", NULL, &f, 8, NULL), 0, "weighted 1:0.5 refuses it (+5.2%%)");
}

Test(objectives, slower_but_frugal_change)
{
	/* -10% progress for -30% power */
	struct fake f = { .perf = -10, .power = -30 };

	cr_assert_eq(run("performance", NULL, &f, 8, NULL), 0);
	cr_assert_eq(run("energy", NULL, &f, 8, NULL), 1, "energy takes it (0.9/0.7)");
	cr_assert_eq(run("energy", "[goal]\nmax_slowdown_pct = 5\n", &f, 8, NULL), 0,
		     "but not past max_slowdown_pct");
}

Test(loop, confirmation_and_baseline_before_the_first_change)
{
	struct fake f = { .perf = 50 };
	uint64_t t[16];

	cr_assert_eq(run("performance", "[goal]\nconfirm_ticks = 4\nmeasure_ticks = 2\n", &f, 3, t), 0);
	cr_assert_eq(run("performance", "[goal]\nconfirm_ticks = 4\nmeasure_ticks = 2\n", &f, 4, t), 1);
	cr_assert_eq(t[0], 4000000000ull, "applied on the 4th consecutive proposal");
	/* no change before measure_ticks scores exist (the first sample has none) */
	cr_assert_eq(run("performance", "[goal]\nconfirm_ticks = 1\nmeasure_ticks = 5\n", &f, 10, t), 1);
	cr_assert_eq(t[0], 6000000000ull);
}

Test(loop, dwell_between_changes)
{
	struct fake f = { .perf = 50, .alternate = true };
	uint64_t t[16];
	int n, i;

	n = run("performance", "[goal]\nmin_dwell_ms = 7000\nconfirm_ticks = 1\nsettle_ms = 0\nmeasure_ticks = 1\n",
		&f, 60, t);
	cr_assert_geq(n, 5);
	for (i = 1; i < n && i < 16; i++)
		cr_assert_geq(t[i] - t[i - 1], 7000000000ull, "changes %d and %d closer than the dwell", i - 1, i);
}

Test(loop, alternating_proposals_are_never_confirmed)
{
	/* a proposal that flips every tick never reaches 3 confirmations */
	struct fake f = { .perf = 50, .alternate = true };

	cr_assert_eq(run("performance", "[goal]\nconfirm_ticks = 3\n", &f, 30, NULL) <= 1, 1);
}

Test(loop, bad_arguments)
{
	struct pol_profile g;
	struct adapt_env env;
	struct adapt_state st;
	struct adapt_out out;
	static struct tel_sample s;

	cr_assert_eq(replay_profile("performance", NULL, &g), 0);
	adapt_env_init(&env);
	adapt_state_init(&st);
	s.nr_vcpus = TEL_MAX_VCPUS + 1;
	cr_assert_eq(adapt_step(&g, &env, &st, &s, &out), -EINVAL);
	cr_assert_eq(adapt_step(NULL, &env, &st, &s, &out), -EINVAL);
}
