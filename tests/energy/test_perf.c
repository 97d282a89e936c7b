/* energy: perf power PMU parsing (fake trees), cross-check, and the live PMU. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "common/util.h"
#include "fake.h"

#define S 1000000000ull
#define J_PER_COUNT 2.3283064365386962890625e-10   /* 2^-32 J, as the kernel states */

static void power_pmu(const char *cpumask)
{
	const char *d = "sys/bus/event_source/devices/power";
	char p[256];

	root = fake_root();
	snprintf(p, sizeof(p), "%s/type", d);
	fake_write(root, p, "9\n");
	snprintf(p, sizeof(p), "%s/cpumask", d);
	fake_write(root, p, "%s\n", cpumask);
	snprintf(p, sizeof(p), "%s/events/energy-pkg", d);
	fake_write(root, p, "event=0x02\n");
	snprintf(p, sizeof(p), "%s/events/energy-pkg.scale", d);
	fake_write(root, p, "2.3283064365386962890625e-10\n");
	snprintf(p, sizeof(p), "%s/events/energy-pkg.unit", d);
	fake_write(root, p, "Joules\n");
	snprintf(p, sizeof(p), "%s/events/energy-ram", d);
	fake_write(root, p, "event=0x03\n");
	snprintf(p, sizeof(p), "%s/events/energy-ram.scale", d);
	fake_write(root, p, "2.3283064365386962890625e-10\n");
}

Test(energy_perf, parses_events_per_package, .fini = fake_teardown)
{
	static struct fake_ctx fc;
	static struct energy_ops ops;

	fc = (struct fake_ctx){ .step = 1000 };
	ops = fake_ops(&fc);
	struct energy_opts o = { .backend = ENERGY_PERF, .ops = &ops };

	power_pmu("0,28");
	o.fsroot = root;
	cr_assert_eq(energy_open(&o, &src), 0);
	cr_expect_eq(fc.nfds, 4, "2 events x 2 packages");
	cr_expect_eq(fc.sleeps, 1, "one liveness probe");
	energy_read(src, 1 * S, -1, &rd);
	cr_assert(rd.up, "%s", rd.why);
	cr_assert_eq(rd.nr_zones, 4);
	cr_expect_str_eq(rd.zone[0].id, "perf:energy-pkg:cpu0");
	cr_expect_str_eq(rd.zone[0].name, "package-0");
	cr_expect_str_eq(rd.zone[1].name, "dram");
	cr_expect_eq(rd.zone[1].parent, 0);
	cr_expect_str_eq(rd.zone[2].name, "package-1");
	cr_expect_str_eq(rd.zone[2].id, "perf:energy-pkg:cpu28");
	cr_expect(rd.zone[0].counted && rd.zone[2].counted && !rd.zone[1].counted);
	/* 10 J per package in 2^-32 J counts over 2 s: 10 W total... per package 5 W */
	fc.count[0] += (uint64_t)(10.0 / J_PER_COUNT);
	fc.count[2] += (uint64_t)(6.0 / J_PER_COUNT);
	energy_read(src, 3 * S, -1, &rd);
	cr_assert(rd.up, "%s", rd.why);
	cr_expect_float_eq(rd.power_w, 8.0, 1e-3);
	cr_expect_float_eq(rd.zone[0].power_w, 5.0, 1e-3);
	cr_expect_eq(rd.zone[0].range_uj, 0, "perf counts are 64-bit");
}

Test(energy_perf, stuck_pmu_is_unavailable, .fini = fake_teardown)
{
	struct fake_ctx fc = { .step = 0 };    /* opens, never advances */
	struct energy_ops ops = fake_ops(&fc);
	struct energy_opts o = { .backend = ENERGY_PERF, .ops = &ops };

	power_pmu("0");
	o.fsroot = root;
	cr_assert_eq(energy_open(&o, &src), 0);
	energy_read(src, 1 * S, -1, &rd);
	cr_expect_not(rd.up);
	cr_expect(strstr(rd.why, "stays at 0") && strstr(rd.why, "hypervisor"), "%s", rd.why);
}

Test(energy_perf, open_denied_says_why, .fini = fake_teardown)
{
	static struct fake_ctx fc;
	static struct energy_ops ops;

	fc = (struct fake_ctx){ .perf_open_err = -EACCES };
	ops = fake_ops(&fc);
	struct energy_opts o = { .backend = ENERGY_PERF, .ops = &ops };

	power_pmu("0");
	fake_write(root, "proc/sys/kernel/perf_event_paranoid", "2\n");
	o.fsroot = root;
	cr_assert_eq(energy_open(&o, &src), 0);
	energy_read(src, 1 * S, -1, &rd);
	cr_expect_not(rd.up);
	cr_expect(strstr(rd.why, "perf_event_open(power/energy-pkg/, cpu 0)") &&
		  strstr(rd.why, "CAP_PERFMON") && strstr(rd.why, "paranoid is 2"), "%s", rd.why);
}

Test(energy_perf, bad_event_files, .fini = fake_teardown)
{
	static struct fake_ctx fc;
	static struct energy_ops ops;

	fc = (struct fake_ctx){ .step = 5 };
	ops = fake_ops(&fc);
	struct energy_opts o = { .backend = ENERGY_PERF, .ops = &ops };

	power_pmu("0");
	fake_write(root, "sys/bus/event_source/devices/power/events/energy-pkg", "garbage\n");
	fake_write(root, "sys/bus/event_source/devices/power/events/energy-ram.scale", "x\n");
	o.fsroot = root;
	cr_assert_eq(energy_open(&o, &src), 0);
	energy_read(src, 1 * S, -1, &rd);
	cr_expect_not(rd.up);
	cr_expect(strstr(rd.why, "no usable energy-* event"), "%s", rd.why);
	cr_expect_eq(fc.nfds, 0);
}

Test(energy_perf, cross_check_against_powercap, .fini = fake_teardown)
{
	static struct fake_ctx fc;
	static struct energy_ops ops;

	fc = (struct fake_ctx){ .step = 100 };
	ops = fake_ops(&fc);
	struct energy_opts o = { .backend = ENERGY_POWERCAP, .cross = ENERGY_PERF, .ops = &ops };

	power_pmu("0");
	fake_zone(root, "intel-rapl:0", "package-0", 1000, 262143328850ull);
	o.fsroot = root;
	cr_assert_eq(energy_open(&o, &src), 0);
	energy_read(src, 1 * S, -1, &rd);
	cr_expect(rd.cross_up, "%s", rd.cross_why);
	fake_set_energy(root, "intel-rapl:0", 1000 + 20000000);     /* 20 J */
	fc.count[0] += (uint64_t)(21.0 / J_PER_COUNT);              /* perf says 21 J */
	energy_read(src, 2 * S, -1, &rd);
	cr_assert(rd.up && rd.cross_valid, "%s / %s", rd.why, rd.cross_why);
	cr_expect_float_eq(rd.power_w, 20.0, 1e-9);
	cr_expect_float_eq(rd.cross_power_w, 21.0, 1e-3);
	cr_expect_float_eq(rd.cross_diff_pct, 5.0, 1e-2);
	cr_expect_eq(rd.backend, ENERGY_POWERCAP, "the primary stays the total");
}

Test(energy_perf, live_pmu_reports_up_or_why)
{
	struct energy_opts o = { .backend = ENERGY_PERF };

	cr_assert_eq(energy_open(&o, &src), 0);
	energy_read(src, 1 * S, -1, &rd);
	if (!rd.up) {
		/* here: no PMU, or (on this CI VM) one that reads 0 */
		cr_expect(!strncmp(rd.why, "unavailable: ", 13) && strlen(rd.why) > 30, "%s", rd.why);
		energy_close(src);
		src = NULL;
		cr_skip_test("no live RAPL through perf: %s", rd.why);
	}
	util_sleep_ns(100000000);
	energy_read(src, 1 * S + 100000000, -1, &rd);
	cr_expect(rd.up && rd.power_valid && rd.power_w > 0 && rd.power_w < 5000,
		  "live perf power %f W", rd.power_w);
	energy_close(src);
	src = NULL;
}

Test(energy_papi, live_component_reports_up_or_why)
{
	struct energy_opts o = { .backend = ENERGY_PAPI };

	cr_assert_eq(energy_open(&o, &src), 0);
	energy_read(src, 1 * S, -1, &rd);
	if (!rd.up) {
		cr_expect(strstr(rd.why, "powercap") || strstr(rd.why, "PAPI"), "%s", rd.why);
		energy_close(src);
		src = NULL;
		cr_skip_test("no PAPI powercap component: %s", rd.why);
	}
	util_sleep_ns(100000000);
	energy_read(src, 1 * S + 100000000, -1, &rd);
	cr_expect(rd.up && rd.power_valid && rd.power_w > 0, "live PAPI power %f W", rd.power_w);
	energy_close(src);
	src = NULL;
}

Test(energy_powercap_live, real_sysfs_reports_up_or_why)
{
	struct energy_opts o = { .backend = ENERGY_POWERCAP };

	cr_assert_eq(energy_open(&o, &src), 0);
	energy_read(src, util_now_ns(), -1, &rd);
	if (!rd.up) {
		cr_expect(!strncmp(rd.why, "unavailable: ", 13), "%s", rd.why);
		energy_close(src);
		src = NULL;
		cr_skip_test("no live powercap: %s", rd.why);
	}
	util_sleep_ns(200000000);
	energy_read(src, util_now_ns(), -1, &rd);
	cr_expect(rd.up && rd.power_valid && rd.power_w > 0 && rd.power_w < 5000,
		  "live powercap power %f W", rd.power_w);
	energy_close(src);
	src = NULL;
}

Test(energy_perf, fake_tree_with_real_ops_is_not_opened, .fini = fake_teardown)
{
	struct energy_opts o = { .backend = ENERGY_PERF };

	power_pmu("0");
	o.fsroot = root;
	cr_assert_eq(energy_open(&o, &src), 0);
	energy_read(src, 1 * S, -1, &rd);
	cr_expect_not(rd.up);
	cr_expect(strstr(rd.why, "real kernel, not the fsroot"), "%s", rd.why);
}
