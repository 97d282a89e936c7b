/* The cost model (pgmode_estimate): each part's formula, what is missing
 * and why, and the decision. Pure: values in, values out. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "paging-mode/pgmode.h"

static struct pgmode_params p;
static struct pgmode_signals in;
static struct pgmode_estimate e;

/* One vCPU busy all the tick, shadow paging, 4 KiB backing, no PMU. */
static void setup(void)
{
	pgmode_params_default(&p);
	memset(&in, 0, sizeof(in));
	in.mode = PGMODE_MODE_SHADOW;
	in.backing_2m_share = 0;
	in.nr_vcpus = 1;
	in.cpu_pct = 100;
	in.paging_exits_per_s = 100;
	in.hw_valid = false;
	snprintf(in.hw_why, sizeof(in.hw_why), "no hardware PMU: page-walk cycles unknown");
	in.collapse_available = true;
	in.nested_available = false;
	in.mem_available_pct = 60;
}

static void with_walk(double share)
{
	in.hw_valid = true;
	in.hw_why[0] = '\0';
	in.walk_cycles_share = share;
}

TestSuite(model, .init = setup);

Test(model, defaults_are_the_documented_ones)
{
	cr_assert_float_eq(p.exit_cost_ns, 5000, 1e-9);
	cr_assert_not(p.exit_cost_calibrated);
	cr_assert_float_eq(p.nested_walk_factor, 6, 1e-9);
	cr_assert_float_eq(p.nested_walk_factor_2m, 5, 1e-9);
	cr_assert_float_eq(p.walk_share_2m_factor, 0.5, 1e-9);
	cr_assert_float_eq(p.min_gain_pct, 2, 1e-9);
	cr_assert_float_eq(p.mem_available_low_pct, 10, 1e-9);
}

Test(model, shadow_part_is_exits_times_cost_over_busy_time)
{
	in.paging_exits_per_s = 20000;     /* x 5000 ns = 0.1 s per s */
	pgmode_estimate(&p, &in, &e);
	cr_assert(e.shadow.valid);
	cr_assert_float_eq(e.shadow.pct, 10, 1e-9);
	in.cpu_pct = 50;                    /* the same exits in half the time */
	pgmode_estimate(&p, &in, &e);
	cr_assert_float_eq(e.shadow.pct, 20, 1e-9);
	in.cpu_pct = 200;                   /* two vCPUs busy */
	pgmode_estimate(&p, &in, &e);
	cr_assert_float_eq(e.shadow.pct, 5, 1e-9);
	in.paging_exits_per_s = 1e9;        /* capped */
	pgmode_estimate(&p, &in, &e);
	cr_assert_float_eq(e.shadow.pct, 100, 1e-9);
}

Test(model, uncalibrated_cost_is_said)
{
	pgmode_estimate(&p, &in, &e);
	cr_assert(strstr(e.shadow.why, "not calibrated"), "%s", e.shadow.why);
	cr_assert(strstr(e.shadow.why, "avmm paging calibrate"), "%s", e.shadow.why);
	p.exit_cost_ns = 2000;
	p.exit_cost_calibrated = true;
	in.paging_exits_per_s = 10000;
	pgmode_estimate(&p, &in, &e);
	cr_assert_float_eq(e.shadow.pct, 2, 1e-9);
	cr_assert(strstr(e.shadow.why, "calibrated"), "%s", e.shadow.why);
	cr_assert_null(strstr(e.shadow.why, "not calibrated"), "%s", e.shadow.why);
}

Test(model, unknown_exit_rate_or_idle_vcpus_make_the_shadow_part_unavailable)
{
	in.paging_exits_per_s = -1;
	snprintf(in.exits_why, sizeof(in.exits_why), "KVM statistics: no KVM VM file descriptor");
	pgmode_estimate(&p, &in, &e);
	cr_assert_not(e.shadow.valid);
	cr_assert(strstr(e.shadow.why, "no KVM VM file descriptor"), "%s", e.shadow.why);
	cr_assert_not(e.now.valid, "neither part: no total");
	cr_assert_eq(e.want, PGMODE_PAGE_KEEP);
	cr_assert(strstr(e.reason, "no estimate"), "%s", e.reason);
	in.paging_exits_per_s = 100;
	in.cpu_pct = 0;
	pgmode_estimate(&p, &in, &e);
	cr_assert_not(e.shadow.valid);
	cr_assert(strstr(e.shadow.why, "no time"), "%s", e.shadow.why);
}

Test(model, missing_pmu_makes_the_walk_part_unavailable_with_the_reason)
{
	in.paging_exits_per_s = 20000;
	pgmode_estimate(&p, &in, &e);
	cr_assert_not(e.walk.valid);
	cr_assert_float_eq(e.walk.pct, 0, 1e-9, "no invented number");
	cr_assert(strstr(e.walk.why, "no hardware PMU"), "%s", e.walk.why);
	cr_assert(e.now.valid);
	cr_assert_float_eq(e.now.pct, 10, 1e-9);
	cr_assert(strstr(e.now.why, "at least"), "%s", e.now.why);
	cr_assert(strstr(e.now.why, "no hardware PMU"), "%s", e.now.why);
	cr_assert_not(e.alt_2m.valid);
	cr_assert_not(e.alt_4k.valid);
	cr_assert(strstr(e.alt_2m.why, "no hardware PMU"), "%s", e.alt_2m.why);
}

Test(model, walk_part_and_backing_alternatives)
{
	in.paging_exits_per_s = 20000;   /* shadow 10% */
	with_walk(0.08);
	pgmode_estimate(&p, &in, &e);
	cr_assert(e.walk.valid);
	cr_assert_float_eq(e.walk.pct, 8, 1e-9);
	cr_assert_float_eq(e.now.pct, 18, 1e-9);
	cr_assert_float_eq(e.alt_2m.pct, 10 + 8 * 0.5, 1e-9);
	cr_assert_float_eq(e.alt_4k.pct, 18, 1e-9);
	/* backed by 2 MiB already: the walk at 4 KiB would be twice as long */
	in.backing_2m_share = 1;
	pgmode_estimate(&p, &in, &e);
	cr_assert_float_eq(e.alt_4k.pct, 10 + 16, 1e-9);
	cr_assert_float_eq(e.alt_2m.pct, 18, 1e-9);
	/* half and half */
	in.backing_2m_share = 0.5;
	pgmode_estimate(&p, &in, &e);
	cr_assert_float_eq(e.alt_4k.pct, 10 + 8 / 0.75, 1e-9);
}

Test(model, other_mode_under_shadow)
{
	in.paging_exits_per_s = 20000;
	pgmode_estimate(&p, &in, &e);
	cr_assert_not(e.alt_mode.valid);
	cr_assert(strstr(e.alt_mode.why, "cannot run nested"), "%s", e.alt_mode.why);
	in.nested_available = true;
	pgmode_estimate(&p, &in, &e);
	cr_assert_not(e.alt_mode.valid, "the 2-D walk cost needs the walk part");
	cr_assert(strstr(e.alt_mode.why, "no hardware PMU"), "%s", e.alt_mode.why);
	with_walk(0.01);
	pgmode_estimate(&p, &in, &e);
	cr_assert(e.alt_mode.valid);
	cr_assert_float_eq(e.alt_mode.pct, 1 * 5, 1e-9);
}

Test(model, other_mode_under_nested_is_not_invented)
{
	in.mode = PGMODE_MODE_NESTED;
	with_walk(0.12);
	pgmode_estimate(&p, &in, &e);
	cr_assert_not(e.alt_mode.valid);
	cr_assert(strstr(e.alt_mode.why, "cannot be measured under nested"), "%s", e.alt_mode.why);
	cr_assert(strstr(e.alt_mode.why, "2.0%"), "walks / nested factor 6: %s", e.alt_mode.why);
}

Test(model, tlb_heavy_wants_2m)
{
	in.mode = PGMODE_MODE_NESTED;
	with_walk(0.20);
	pgmode_estimate(&p, &in, &e);
	cr_assert_eq(e.want, PGMODE_PAGE_2M, "%s", e.reason);
	cr_assert_float_eq(e.gain_pct, 10, 1e-9);
	cr_assert_eq(e.want_mode, PGMODE_MODE_NESTED);
	cr_assert(strstr(e.recommend, "page-walk overhead 20%"), "%s", e.recommend);
	cr_assert(strstr(e.recommend, "2 MiB backing predicted 10%"), "%s", e.recommend);
	/* mostly 2 MiB already: the rest gains little */
	in.backing_2m_share = 0.95;
	pgmode_estimate(&p, &in, &e);
	cr_assert_eq(e.want, PGMODE_PAGE_KEEP);
	cr_assert(strstr(e.reason, "steady"), "%s", e.reason);
	/* ... and when it would gain, it is done already */
	with_walk(0.6);
	pgmode_estimate(&p, &in, &e);
	cr_assert_eq(e.want, PGMODE_PAGE_KEEP);
	cr_assert(strstr(e.reason, "already 95% 2 MiB"), "%s", e.reason);
}

Test(model, missing_lever_keeps_and_says_which)
{
	with_walk(0.20);
	in.collapse_available = false;
	snprintf(in.collapse_why, sizeof(in.collapse_why), "THP disabled (enabled = never)");
	pgmode_estimate(&p, &in, &e);
	cr_assert_eq(e.want, PGMODE_PAGE_KEEP);
	cr_assert(strstr(e.reason, "live 2 MiB lever"), "%s", e.reason);
	cr_assert(strstr(e.reason, "enabled = never"), "%s", e.reason);
}

Test(model, paging_exit_heavy_shadow_recommends_nested_with_2m)
{
	in.paging_exits_per_s = 24000;   /* 12% */
	in.nested_available = true;
	pgmode_estimate(&p, &in, &e);
	cr_assert_eq(e.want_mode, PGMODE_MODE_NESTED);
	cr_assert_eq(e.want, PGMODE_PAGE_2M, "%s", e.reason);
	cr_assert_float_eq(e.gain_pct, 0, 1e-9, "no gain invented without the walk part");
	cr_assert(strstr(e.reason, "not predicted"), "%s", e.reason);
	cr_assert(strstr(e.recommend, "measured shadow-paging overhead 12%"), "%s", e.recommend);
	cr_assert(strstr(e.recommend, "nested paging with 2 MiB backing"), "%s", e.recommend);
	/* with counters the other mode is priced */
	with_walk(0.006);
	pgmode_estimate(&p, &in, &e);
	cr_assert_eq(e.want_mode, PGMODE_MODE_NESTED);
	cr_assert(strstr(e.recommend, "nested paging with 2 MiB backing predicted 3.0%"), "%s", e.recommend);
	/* a host without nested paging: said, the mode stays */
	in.nested_available = false;
	pgmode_estimate(&p, &in, &e);
	cr_assert_eq(e.want_mode, PGMODE_MODE_SHADOW);
	cr_assert(strstr(e.recommend, "no nested paging"), "%s", e.recommend);
}

Test(model, memory_pressure_wants_4k)
{
	with_walk(0.20);                  /* would want 2M otherwise */
	in.backing_2m_share = 1;
	in.mem_available_pct = 5;
	pgmode_estimate(&p, &in, &e);
	cr_assert_eq(e.want, PGMODE_PAGE_4K, "%s", e.reason);
	cr_assert(strstr(e.reason, "memory available 5.0%"), "%s", e.reason);
	cr_assert_float_eq(e.gain_pct, -20, 1e-9, "walks 20%% at 2 MiB are 40%% at 4 KiB");
	/* already 4 KiB */
	in.backing_2m_share = 0;
	pgmode_estimate(&p, &in, &e);
	cr_assert_eq(e.want, PGMODE_PAGE_KEEP);
}

Test(model, energy_goal_wants_4k)
{
	in.prefer_energy = true;
	in.backing_2m_share = 0.8;
	pgmode_estimate(&p, &in, &e);
	cr_assert_eq(e.want, PGMODE_PAGE_4K, "%s", e.reason);
	cr_assert(strstr(e.reason, "packs memory"), "%s", e.reason);
	cr_assert(strstr(e.reason, "not predicted"), "no PMU: the cost is not priced: %s", e.reason);
}

Test(model, steady_keeps)
{
	in.paging_exits_per_s = 100;      /* 0.05% */
	with_walk(0.01);                  /* 2 MiB gains 0.5% */
	pgmode_estimate(&p, &in, &e);
	cr_assert_eq(e.want, PGMODE_PAGE_KEEP);
	cr_assert_eq(e.want_mode, PGMODE_MODE_SHADOW);
	cr_assert(strstr(e.reason, "steady"), "%s", e.reason);
	cr_assert_float_eq(e.gain_pct, 0, 1e-9);
	/* the same without counters */
	in.hw_valid = false;
	pgmode_estimate(&p, &in, &e);
	cr_assert_eq(e.want, PGMODE_PAGE_KEEP);
	cr_assert(strstr(e.reason, "unknown"), "%s", e.reason);
}

Test(model, pure_same_inputs_same_outputs)
{
	struct pgmode_estimate a, b;

	in.paging_exits_per_s = 30000;
	with_walk(0.05);
	pgmode_estimate(&p, &in, &a);
	pgmode_estimate(&p, &in, &b);
	cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0);
}
