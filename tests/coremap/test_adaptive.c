/* coremap adaptive strategy: memory-intensity, goal, noise avoidance, stability. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "coremap/coremap.h"

static struct coremap_topo *load(const char *src)
{
	struct coremap_topo *t;

	cr_assert_eq(coremap_topo_load(src, &t), 0, "load %s", src);
	return t;
}

static const struct coremap_goal perf = {
	.memory_intensive_llc_per_kinstr = 5.0, .noisy_run_delay_pct = 10.0,
};

#define QUIET(llc, cur) { (llc), 0.0, 90.0, (cur) }

static int pkg(struct coremap_topo *t, int os)
{
	return coremap_topo_pu_package(t, coremap_topo_pu_by_os(t, os));
}

Test(coremap_adaptive, delayed_vcpu_leaves_the_hog_core)
{
	struct coremap_topo *t = load("core:2 pu:1"); /* the shape of this machine */
	struct coremap_vcpu_metrics m[] = { { -1, 48.0, 52.0, 1 } };
	double busy[] = { 3.0, 100.0 };
	struct coremap_goal g = perf;
	char why[512];
	int out[1];

	g.pu_busy_pct = busy;
	g.nr_pu_busy = 2;
	cr_assert_eq(coremap_plan(t, COREMAP_ADAPTIVE, m, 1, &g, out, why, sizeof(why)), 0);
	cr_expect_eq(out[0], 0, "%s", why);
	cr_expect(strstr(why, "cpu1->cpu0"), "%s", why);
	cr_expect(strstr(why, "run delay 48%"), "%s", why);
	cr_expect(strstr(why, "host load 48%"), "host load = busy - own cpu: %s", why);

	/* without per-CPU busy data the delay alone marks the CPU noisy */
	g.pu_busy_pct = NULL;
	cr_assert_eq(coremap_plan(t, COREMAP_ADAPTIVE, m, 1, &g, out, why, sizeof(why)), 0);
	cr_expect_eq(out[0], 0, "%s", why);
	coremap_topo_free(t);
}

Test(coremap_adaptive, quiet_vcpu_stays)
{
	struct coremap_topo *t = load("core:2 pu:1");
	struct coremap_vcpu_metrics m[] = { { -1, 2.0, 95.0, 1 } };
	double busy[] = { 3.0, 100.0 };
	struct coremap_goal g = perf;
	char why[512];
	int out[1];

	g.pu_busy_pct = busy;
	g.nr_pu_busy = 2;
	cr_assert_eq(coremap_plan(t, COREMAP_ADAPTIVE, m, 1, &g, out, why, sizeof(why)), 0);
	cr_expect_eq(out[0], 1, "%s", why);
	cr_expect(strstr(why, "stays on cpu1"), "%s", why);
	coremap_topo_free(t);
}

Test(coremap_adaptive, noise_avoidance_skips_reserved_cores)
{
	struct coremap_topo *t = load("package:1 core:4 pu:1");
	struct coremap_vcpu_metrics m[] = { { -1, 50.0, 50.0, 1 } };
	double busy[] = { 0.0, 100.0, 0.0, 0.0 };
	int reserved[] = { 0 };
	struct coremap_goal g = perf;
	char why[512];
	int out[1];

	g.pu_busy_pct = busy;
	g.nr_pu_busy = 4;
	g.reserved_cpus = reserved;
	g.nr_reserved = 1;
	cr_assert_eq(coremap_plan(t, COREMAP_ADAPTIVE, m, 1, &g, out, why, sizeof(why)), 0);
	cr_expect(out[0] == 2 || out[0] == 3, "moved to %d: %s", out[0], why);
	coremap_topo_free(t);
}

Test(coremap_adaptive, delayed_vcpu_picks_the_quietest_cpu)
{
	struct coremap_topo *t = load("package:1 core:4 pu:1");
	struct coremap_vcpu_metrics m[] = { { -1, 40.0, 60.0, 0 }, QUIET(-1, 1) };
	double busy[] = { 100.0, 90.0, 70.0, 20.0 };
	struct coremap_goal g = perf;
	char why[512];
	int out[2];

	g.pu_busy_pct = busy;
	g.nr_pu_busy = 4;
	cr_assert_eq(coremap_plan(t, COREMAP_ADAPTIVE, m, 2, &g, out, why, sizeof(why)), 0);
	cr_expect_eq(out[1], 1, "the quiet vCPU stays: %s", why);
	cr_expect_eq(out[0], 3, "CPU 3 has the least host load: %s", why);
	coremap_topo_free(t);
}

Test(coremap_adaptive, memory_intensive_spread_for_performance)
{
	struct coremap_topo *t = load("package:2 core:4 pu:2");
	struct coremap_vcpu_metrics m[] = { QUIET(20.0, -1), QUIET(20.0, -1) };
	char why[512];
	int out[2];

	cr_assert_eq(coremap_plan(t, COREMAP_ADAPTIVE, m, 2, &perf, out, why, sizeof(why)), 0);
	cr_expect_neq(pkg(t, out[0]), pkg(t, out[1]), "%d %d: %s", out[0], out[1], why);
	cr_expect(strstr(why, "memory-intensive"), "%s", why);
	coremap_topo_free(t);
}

Test(coremap_adaptive, compute_bound_packed)
{
	struct coremap_topo *t = load("package:2 core:4 pu:2");
	struct coremap_vcpu_metrics m[] = { QUIET(0.5, -1), QUIET(0.5, -1), QUIET(-1, -1) };
	char why[512];
	int out[3];

	cr_assert_eq(coremap_plan(t, COREMAP_ADAPTIVE, m, 3, &perf, out, why, sizeof(why)), 0);
	cr_expect_eq(pkg(t, out[0]), pkg(t, out[1]), "%s", why);
	cr_expect_eq(pkg(t, out[0]), pkg(t, out[2]), "no LLC data = compute: %s", why);
	for (int i = 0; i < 3; i++)
		for (int j = i + 1; j < 3; j++)
			cr_expect_neq(coremap_topo_pu_core(t, coremap_topo_pu_by_os(t, out[i])),
				      coremap_topo_pu_core(t, coremap_topo_pu_by_os(t, out[j])),
				      "distinct cores before SMT siblings: %s", why);
	cr_expect(strstr(why, "(no LLC data)"), "%s", why);
	coremap_topo_free(t);
}

Test(coremap_adaptive, energy_goal_packs_memory_intensive_too)
{
	struct coremap_topo *t = load("package:2 core:4 pu:2");
	struct coremap_vcpu_metrics m[] = { QUIET(20.0, -1), QUIET(20.0, -1) };
	struct coremap_goal g = perf;
	char why[512];
	int out[2];

	g.prefer_energy = true;
	cr_assert_eq(coremap_plan(t, COREMAP_ADAPTIVE, m, 2, &g, out, why, sizeof(why)), 0);
	cr_expect_eq(pkg(t, out[0]), pkg(t, out[1]), "%s", why);
	cr_expect(strstr(why, "energy goal"), "%s", why);
	coremap_topo_free(t);
}

Test(coremap_adaptive, mixed_on_four_sockets)
{
	struct coremap_topo *t = load("package:4 numa:1 core:8 pu:1");
	struct coremap_vcpu_metrics m[] = {
		QUIET(30.0, -1), QUIET(0.1, -1), QUIET(30.0, -1), QUIET(0.1, -1), QUIET(30.0, -1),
	};
	char why[1024];
	int out[5];

	cr_assert_eq(coremap_plan(t, COREMAP_ADAPTIVE, m, 5, &perf, out, why, sizeof(why)), 0);
	cr_expect_neq(pkg(t, out[0]), pkg(t, out[2]), "%s", why);
	cr_expect_neq(pkg(t, out[0]), pkg(t, out[4]), "%s", why);
	cr_expect_neq(pkg(t, out[2]), pkg(t, out[4]), "%s", why);
	cr_expect_eq(pkg(t, out[1]), pkg(t, out[3]), "compute vCPUs packed: %s", why);
	coremap_topo_free(t);
}

Test(coremap_adaptive, energy_goal_pulls_a_lone_vcpu_into_the_used_socket)
{
	struct coremap_topo *t = load("package:2 core:4 pu:1");
	struct coremap_vcpu_metrics m[] = { QUIET(0.1, 0), QUIET(0.1, 5) };
	struct coremap_goal g = perf;
	char why[512];
	int out[2];

	g.prefer_energy = true;
	cr_assert_eq(coremap_plan(t, COREMAP_ADAPTIVE, m, 2, &g, out, why, sizeof(why)), 0);
	cr_expect_eq(out[0], 0, "%s", why);
	cr_expect_eq(pkg(t, out[1]), 0, "%s", why);
	coremap_topo_free(t);
}

Test(coremap_adaptive, pure_and_deterministic)
{
	struct coremap_topo *t = load("package:2 core:4 pu:2");
	struct coremap_vcpu_metrics m[] = { QUIET(9.0, 3), { 1.0, 30.0, 60.0, 3 }, QUIET(0.0, 8) };
	double busy[16] = { [3] = 100.0 };
	struct coremap_goal g = perf;
	char why1[512], why2[512];
	int a[3], b[3];

	g.pu_busy_pct = busy;
	g.nr_pu_busy = 16;
	cr_assert_eq(coremap_plan(t, COREMAP_ADAPTIVE, m, 3, &g, a, why1, sizeof(why1)), 0);
	cr_assert_eq(coremap_plan(t, COREMAP_ADAPTIVE, m, 3, &g, b, why2, sizeof(why2)), 0);
	cr_expect_arr_eq(a, b, sizeof(a));
	cr_expect_str_eq(why1, why2);
	cr_expect_neq(a[0], a[1], "two vCPUs do not share a CPU when CPUs are free: %s", why1);
	coremap_topo_free(t);
}

Test(coremap_adaptive, oversubscribed_balances)
{
	struct coremap_topo *t = load("core:2 pu:1");
	struct coremap_vcpu_metrics m[] = { QUIET(-1, -1), QUIET(-1, -1), QUIET(-1, -1) };
	char why[512];
	int out[3], on0 = 0;

	cr_assert_eq(coremap_plan(t, COREMAP_ADAPTIVE, m, 3, &perf, out, why, sizeof(why)), 0);
	for (int i = 0; i < 3; i++)
		on0 += out[i] == 0;
	cr_expect(on0 == 1 || on0 == 2, "%s", why);
	cr_expect(strstr(why, "oversubscribed"), "%s", why);
	coremap_topo_free(t);
}

Test(coremap_adaptive, no_move_without_a_clear_gain)
{
	struct coremap_topo *t = load("core:2 pu:1");
	/* delayed on CPU 0 (host load 78%), the other CPU has a 100% hog */
	struct coremap_vcpu_metrics m[] = { { -1, 74.0, 22.0, 0 } };
	double busy[] = { 100.0, 100.0 };
	struct coremap_goal g = perf;
	char why[512];
	int out[1];

	g.pu_busy_pct = busy;
	g.nr_pu_busy = 2;
	cr_assert_eq(coremap_plan(t, COREMAP_ADAPTIVE, m, 1, &g, out, why, sizeof(why)), 0);
	cr_expect_eq(out[0], 0, "%s", why);
	coremap_topo_free(t);
}

Test(coremap_adaptive, no_ping_pong_when_every_cpu_is_busy)
{
	struct coremap_topo *t = load("core:2 pu:1");
	double busy[] = { 100.0, 100.0 };
	struct coremap_goal g = perf;
	char why[512];
	int out[1], cur = 0;

	g.pu_busy_pct = busy;
	g.nr_pu_busy = 2;
	for (int tick = 0; tick < 4; tick++) {
		/* host load on ours: 100 - 15 = 85%, the other CPU 100% */
		struct coremap_vcpu_metrics m[] = { { -1, 85.0, 15.0, cur } };

		cr_assert_eq(coremap_plan(t, COREMAP_ADAPTIVE, m, 1, &g, out, why, sizeof(why)), 0);
		cr_expect_eq(out[0], cur, "tick %d: %s", tick, why);
		cur = out[0];
	}
	coremap_topo_free(t);
}
