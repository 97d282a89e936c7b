/* energy: powercap zones against fake trees under a temp root. */
#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake.h"

#define S 1000000000ull
#define PKG_RANGE 262143328850ull
#define DRAM_RANGE 65712999613ull

/* Two packages with core and dram, a psys zone and an mmio mirror. */
static void two_socket(void)
{
	root = fake_root();
	fake_write(root, "sys/class/powercap/intel-rapl/enabled", "1\n");
	fake_write(root, "sys/class/powercap/intel-rapl-mmio/enabled", "1\n");
	fake_zone(root, "intel-rapl:0", "package-0", 1000000, PKG_RANGE);
	fake_zone(root, "intel-rapl:0:0", "core", 500000, PKG_RANGE);
	fake_zone(root, "intel-rapl:0:1", "dram", 200000, DRAM_RANGE);
	fake_zone(root, "intel-rapl:1", "package-1", 3000000, PKG_RANGE);
	fake_zone(root, "intel-rapl:1:0", "core", 100, PKG_RANGE);
	fake_zone(root, "intel-rapl:1:1", "dram", 100, DRAM_RANGE);
	fake_zone(root, "intel-rapl:2", "psys", 9000000, PKG_RANGE);
	fake_zone(root, "intel-rapl-mmio:0", "package-0", 7, PKG_RANGE);
}

static void open_src(const struct energy_ops *ops)
{
	struct energy_opts o = { .fsroot = root, .backend = ENERGY_POWERCAP, .ops = ops };

	cr_assert_eq(energy_open(&o, &src), 0);
}

static const struct energy_zone_reading *zone(const char *id)
{
	for (int i = 0; i < rd.nr_zones; i++)
		if (!strcmp(rd.zone[i].id, id))
			return &rd.zone[i];
	return NULL;
}

Test(energy_powercap, enumerates_zones_names_parents, .fini = fake_teardown)
{
	two_socket();
	open_src(NULL);
	cr_assert_eq(energy_read(src, 1 * S, -1, &rd), 0);
	cr_assert(rd.up, "%s", rd.why);
	cr_expect_not(rd.estimated);
	cr_expect_not(rd.power_valid, "the first read is the baseline");
	cr_expect_eq(rd.energy_uj, 0);
	cr_assert_eq(rd.nr_zones, 8);
	cr_expect_str_eq(rd.zone[0].id, "intel-rapl:0");
	cr_expect_str_eq(rd.zone[1].id, "intel-rapl:0:0");
	cr_expect_str_eq(rd.zone[1].name, "core");
	cr_expect_eq(rd.zone[1].parent, 0);
	cr_expect_str_eq(rd.zone[2].name, "dram");
	cr_expect_str_eq(rd.zone[3].name, "package-1");
	cr_expect_eq(rd.zone[4].parent, 3);
	cr_expect_str_eq(rd.zone[6].name, "psys");
	cr_expect_str_eq(rd.zone[7].id, "intel-rapl-mmio:0");
	cr_expect(zone("intel-rapl:0")->counted && zone("intel-rapl:1")->counted);
	cr_expect_not(zone("intel-rapl:2")->counted, "psys is not added to packages");
	cr_expect_not(zone("intel-rapl-mmio:0")->counted, "mmio mirrors package-0");
	cr_expect_not(zone("intel-rapl:0:1")->counted);
	cr_expect_eq(zone("intel-rapl:0:1")->range_uj, DRAM_RANGE);
}

Test(energy_powercap, power_over_the_interval, .fini = fake_teardown)
{
	two_socket();
	open_src(NULL);
	cr_assert_eq(energy_read(src, 1 * S, -1, &rd), 0);
	fake_set_energy(root, "intel-rapl:0", 1000000 + 50000000);  /* +50 J */
	fake_set_energy(root, "intel-rapl:1", 3000000 + 30000000);  /* +30 J */
	fake_set_energy(root, "intel-rapl:0:1", 200000 + 4000000);  /* dram +4 J */
	cr_assert_eq(energy_read(src, 3 * S, -1, &rd), 0);          /* over 2 s */
	cr_assert(rd.up, "%s", rd.why);
	cr_assert(rd.power_valid);
	cr_expect_eq(rd.dt_ns, 2 * S);
	cr_expect_eq(rd.energy_uj, 80000000);
	cr_expect_eq(rd.delta_uj, 80000000);
	cr_expect_float_eq(rd.power_w, 40.0, 1e-9);
	cr_expect_float_eq(zone("intel-rapl:0")->power_w, 25.0, 1e-9);
	cr_expect_float_eq(zone("intel-rapl:0:1")->power_w, 2.0, 1e-9);
	cr_expect_eq(zone("intel-rapl:0:1")->energy_uj, 4000000);
	cr_expect_str_eq(rd.note, "");
	/* read well within half the wrap time: at 1000 W assumed, dram's 65.7 kJ
	 * wraps in 65.7 s, so at most every 32.8 s */
	cr_expect(rd.max_interval_ns > 32 * S && rd.max_interval_ns < 33 * S,
		  "%llu", (unsigned long long)rd.max_interval_ns);
	cr_expect_eq(energy_read(src, 2 * S, -1, &rd), -EINVAL, "time went backwards");
}

Test(energy_powercap, wraparound_uses_each_zones_range, .fini = fake_teardown)
{
	root = fake_root();
	fake_zone(root, "intel-rapl:0", "package-0", 990000, 1000000);      /* 1 J range */
	fake_zone(root, "intel-rapl:0:1", "dram", 60000, 100000);           /* 0.1 J */
	open_src(NULL);
	energy_read(src, 1 * S, -1, &rd);
	fake_set_energy(root, "intel-rapl:0", 190000);     /* 10000 to wrap + 190000 */
	fake_set_energy(root, "intel-rapl:0:1", 10000);    /* 40000 to wrap + 10000 */
	energy_read(src, 2 * S, -1, &rd);
	cr_assert(rd.up, "%s", rd.why);
	cr_expect_eq(rd.delta_uj, 200000);
	cr_expect_eq(zone("intel-rapl:0:1")->energy_uj, 50000);
	fake_set_energy(root, "intel-rapl:0", 290000);
	energy_read(src, 3 * S, -1, &rd);
	cr_expect_eq(rd.energy_uj, 300000, "cumulative across the wrap");
	cr_expect_float_eq(rd.power_w, 0.1, 1e-9);
	/* a 0.1 J range at 1000 W assumed wraps in 0.1 ms: the interval note */
	cr_expect(strstr(rd.note, "exceeds"), "note: %s", rd.note);
}

Test(energy_powercap, missing_dram_zone_is_fine, .fini = fake_teardown)
{
	root = fake_root();
	fake_zone(root, "intel-rapl:0", "package-0", 0, PKG_RANGE);
	fake_zone(root, "intel-rapl:0:0", "core", 0, PKG_RANGE);
	open_src(NULL);
	energy_read(src, 1 * S, -1, &rd);
	fake_set_energy(root, "intel-rapl:0", 7000000);
	energy_read(src, 2 * S, -1, &rd);
	cr_assert(rd.up, "%s", rd.why);
	cr_expect_eq(rd.nr_zones, 2);
	cr_expect_null(zone("intel-rapl:0:1"));
	cr_expect_float_eq(rd.power_w, 7.0, 1e-9);
	cr_expect_str_eq(rd.note, "");
}

Test(energy_powercap, eacces_is_unavailable_with_the_fix, .fini = fake_teardown)
{
	/* Tests run as root, where chmod 000 does not deny reads: the denial
	 * comes from the injectable ops, exactly as the kernel's -EACCES would. */
	static struct fake_ctx fc;
	static struct energy_ops ops;

	fc = (struct fake_ctx){ .deny = "energy_uj", .deny_err = EACCES };
	ops = fake_ops(&fc);

	two_socket();
	open_src(&ops);
	cr_assert_eq(energy_read(src, 1 * S, -1, &rd), 0);
	cr_expect_not(rd.up);
	cr_expect_eq(rd.energy_uj, 0);
	cr_expect_not(rd.estimated, "no silent fallback to the estimate");
	cr_expect(strstr(rd.why, "unavailable: "), "%s", rd.why);
	cr_expect(strstr(rd.why, "intel-rapl:0/energy_uj"), "%s", rd.why);
	cr_expect(strstr(rd.why, "root-only") && strstr(rd.why, "udev"), "%s", rd.why);
}

Test(energy_powercap, eacces_on_one_package_is_partial, .fini = fake_teardown)
{
	static struct fake_ctx fc;
	static struct energy_ops ops;

	fc = (struct fake_ctx){ .deny = "intel-rapl:1/energy_uj", .deny_err = EACCES };
	ops = fake_ops(&fc);

	two_socket();
	open_src(&ops);
	energy_read(src, 1 * S, -1, &rd);
	fake_set_energy(root, "intel-rapl:0", 1000000 + 5000000);
	energy_read(src, 2 * S, -1, &rd);
	cr_assert(rd.up, "%s", rd.why);
	cr_expect_float_eq(rd.power_w, 5.0, 1e-9);
	cr_expect(strstr(rd.note, "partial: 1 of 2"), "%s", rd.note);
	cr_expect(strstr(rd.note, "root-only"), "%s", rd.note);
	cr_expect_not(zone("intel-rapl:1")->up);
}

Test(energy_powercap, non_numeric_content, .fini = fake_teardown)
{
	root = fake_root();
	fake_zone(root, "intel-rapl:0", "package-0", 0, PKG_RANGE);
	fake_write(root, "sys/class/powercap/intel-rapl:0/energy_uj", "n/a\n");
	open_src(NULL);
	energy_read(src, 1 * S, -1, &rd);
	cr_expect_not(rd.up);
	cr_expect(strstr(rd.why, "non-numeric") && strstr(rd.why, "'n/a"), "%s", rd.why);
	energy_close(src);
	/* garbage appearing mid-run */
	fake_zone(root, "intel-rapl:1", "package-1", 0, PKG_RANGE);
	fake_set_energy(root, "intel-rapl:0", 0);
	open_src(NULL);
	energy_read(src, 1 * S, -1, &rd);
	fake_write(root, "sys/class/powercap/intel-rapl:0/energy_uj", "12abc\n");
	fake_set_energy(root, "intel-rapl:1", 2000000);
	energy_read(src, 2 * S, -1, &rd);
	cr_assert(rd.up, "%s", rd.why);
	cr_expect_float_eq(rd.power_w, 2.0, 1e-9);
	cr_expect(strstr(zone("intel-rapl:0")->why, "'12abc"), "%s", zone("intel-rapl:0")->why);
	cr_expect(strstr(rd.note, "partial"), "%s", rd.note);
}

Test(energy_powercap, zero_range_zone_not_used, .fini = fake_teardown)
{
	root = fake_root();
	fake_zone(root, "intel-rapl:0", "package-0", 100, 0);
	open_src(NULL);
	energy_read(src, 1 * S, -1, &rd);
	cr_expect_not(rd.up);
	cr_expect(strstr(rd.why, "max_energy_range_uj is 0"), "%s", rd.why);
	energy_close(src);
	fake_zone(root, "intel-rapl:1", "package-1", 100, PKG_RANGE);
	open_src(NULL);
	energy_read(src, 1 * S, -1, &rd);
	fake_set_energy(root, "intel-rapl:0", 50);            /* ignored: no range */
	fake_set_energy(root, "intel-rapl:1", 1000100);
	energy_read(src, 2 * S, -1, &rd);
	cr_assert(rd.up, "%s", rd.why);
	cr_expect_eq(rd.delta_uj, 1000000);
	cr_expect(strstr(rd.note, "max_energy_range_uj is 0"), "%s", rd.note);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	return remove(p);
}

Test(energy_powercap, zone_vanishing_mid_run, .fini = fake_teardown)
{
	char dir[512];

	two_socket();
	open_src(NULL);
	energy_read(src, 1 * S, -1, &rd);
	snprintf(dir, sizeof(dir), "%s/sys/class/powercap/intel-rapl:1", root);
	cr_assert_eq(nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS), 0);
	fake_set_energy(root, "intel-rapl:0", 1000000 + 3000000);
	cr_assert_eq(energy_read(src, 2 * S, -1, &rd), 0);
	cr_assert(rd.up, "%s", rd.why);
	cr_expect_float_eq(rd.power_w, 3.0, 1e-9);
	cr_expect_not(zone("intel-rapl:1")->up);
	cr_expect(strstr(zone("intel-rapl:1")->why, "vanished"), "%s", zone("intel-rapl:1")->why);
	cr_expect(strstr(rd.note, "partial: 1 of 2"), "%s", rd.note);
	/* it comes back with an unrelated value: re-baselined, not a huge delta */
	fake_zone(root, "intel-rapl:1", "package-1", 777777777, PKG_RANGE);
	fake_set_energy(root, "intel-rapl:0", 1000000 + 4000000);
	energy_read(src, 3 * S, -1, &rd);
	cr_expect_eq(rd.delta_uj, 1000000);
	fake_set_energy(root, "intel-rapl:1", 777777777 + 2000000);
	energy_read(src, 4 * S, -1, &rd);
	cr_expect_eq(rd.delta_uj, 2000000);
	cr_expect_str_eq(rd.note, "");
	cr_expect_eq(rd.energy_uj, 3000000 + 1000000 + 2000000);
	/* every zone gone: unavailable, never zero */
	snprintf(dir, sizeof(dir), "%s/sys/class/powercap", root);
	cr_assert_eq(nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS), 0);
	energy_read(src, 5 * S, -1, &rd);
	cr_expect_not(rd.up);
	cr_expect(strstr(rd.why, "vanished"), "%s", rd.why);
}

Test(energy_powercap, truncated_32bit_values, .fini = fake_teardown)
{
	root = fake_root();
	fake_zone(root, "intel-rapl:0", "package-0", 4294000000ull, PKG_RANGE);
	fake_write(root, "sys/class/powercap/intel-rapl:0/constraint_0_max_power_uw", "200000000\n");
	open_src(NULL);
	energy_read(src, 1 * S, -1, &rd);
	cr_expect(rd.max_interval_ns > 655 * S, "full range at 200 W: %llu",
		  (unsigned long long)rd.max_interval_ns);
	fake_set_energy(root, "intel-rapl:0", 4294967000ull);
	energy_read(src, 2 * S, -1, &rd);
	fake_set_energy(root, "intel-rapl:0", 1704);     /* wrapped at 2^32, not at the range */
	energy_read(src, 3 * S, -1, &rd);
	cr_assert(rd.up, "%s", rd.why);
	cr_expect_eq(rd.delta_uj, 296 + 1704);
	cr_expect(rd.zone[0].wrap32);
	cr_expect(strstr(rd.zone[0].why, "2^32"), "%s", rd.zone[0].why);
	/* the read interval follows the 32-bit wrap: 4294.97 J / 200 W / 2 */
	cr_expect(rd.max_interval_ns > 10 * S && rd.max_interval_ns < 11 * S,
		  "%llu", (unsigned long long)rd.max_interval_ns);
}

Test(energy_powercap, no_powercap_dir, .fini = fake_teardown)
{
	struct energy_opts o = { .backend = ENERGY_POWERCAP };

	root = fake_root();
	o.fsroot = root;
	cr_assert_eq(energy_open(&o, &src), 0);
	energy_read(src, 1 * S, 0.5, &rd);
	cr_expect_not(rd.up);
	cr_expect_not(rd.estimated);
	cr_expect_eq(rd.energy_uj, 0);
	cr_expect_str_eq(rd.why, "unavailable: no /sys/class/powercap (RAPL not exposed on "
			 "this machine)");
	energy_close(src);
	/* auto reports every backend it tried; PAPI does not read fake trees */
	o.backend = ENERGY_AUTO;
	cr_assert_eq(energy_open(&o, &src), 0);
	energy_read(src, 1 * S, 0.5, &rd);
	cr_expect_not(rd.up);
	cr_expect(strstr(rd.why, "powercap: no /sys/class/powercap") &&
		  strstr(rd.why, "perf: no perf power PMU") && strstr(rd.why, "papi: "),
		  "%s", rd.why);
}

Test(energy_powercap, bad_options, .fini = fake_teardown)
{
	struct energy_opts o = { .backend = ENERGY_ESTIMATE };

	cr_expect_eq(energy_open(&o, &src), -EINVAL, "estimate without a model");
	o.model.idle_w = -1;
	o.model.w_per_busy_core = 5;
	cr_expect_eq(energy_open(&o, &src), -EINVAL);
	o.backend = ENERGY_POWERCAP;
	o.cross = ENERGY_ESTIMATE;
	cr_expect_eq(energy_open(&o, &src), -EINVAL);
	o.backend = (enum energy_backend)99;
	o.cross = ENERGY_NONE;
	cr_expect_eq(energy_open(&o, &src), -EINVAL);
	cr_expect_null(src);
}
