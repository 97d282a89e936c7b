/* energy: the labelled estimate, fallback rules, export labels, CLI errors. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake.h"

#define S 1000000000ull

Test(energy_estimate, model_power_and_energy, .fini = fake_teardown)
{
	struct energy_opts o = { .backend = ENERGY_ESTIMATE, .nr_host_cores = 4,
				 .model = { .idle_w = 40, .w_per_busy_core = 12 } };

	cr_assert_eq(energy_open(&o, &src), 0);
	energy_read(src, 1 * S, 2.0, &rd);
	cr_expect(rd.up && rd.estimated);
	cr_expect_not(rd.power_valid);
	energy_read(src, 3 * S, 2.0, &rd);
	cr_expect(rd.up && rd.estimated && rd.power_valid);
	cr_expect_float_eq(rd.power_w, 64.0, 1e-9);
	cr_expect_eq(rd.energy_uj, 128000000);
	cr_expect_str_eq(rd.source, "model: 40.0 W idle + 12.0 W per busy core");
	cr_expect(strstr(rd.why, "backend=estimate"), "%s", rd.why);
	cr_expect_eq(rd.backend, ENERGY_ESTIMATE);
	energy_read(src, 4 * S, 9.0, &rd);            /* clamped to 4 cores */
	cr_expect_float_eq(rd.power_w, 88.0, 1e-9);
	cr_expect_eq(rd.energy_uj, 216000000);
}

Test(energy_estimate, busy_cores_from_proc_stat, .fini = fake_teardown)
{
	struct energy_opts o = { .backend = ENERGY_ESTIMATE, .nr_host_cores = 2,
				 .model = { .idle_w = 40, .w_per_busy_core = 12 } };

	root = fake_root();
	o.fsroot = root;
	fake_write(root, "proc/stat", "cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 1 1 1 1\n");
	cr_assert_eq(energy_open(&o, &src), 0);
	energy_read(src, 1 * S, -1, &rd);
	fake_write(root, "proc/stat", "cpu  250 0 150 1000 0 0 0 0 0 0\n");  /* half busy */
	energy_read(src, 2 * S, -1, &rd);
	cr_expect(rd.power_valid);
	cr_expect_float_eq(rd.power_w, 52.0, 1e-9);
}

Test(energy_estimate, fallback_only_when_asked, .fini = fake_teardown)
{
	struct energy_opts o = { .backend = ENERGY_POWERCAP, .nr_host_cores = 2,
				 .model = { .idle_w = 10, .w_per_busy_core = 5 } };

	root = fake_root();
	o.fsroot = root;
	cr_assert_eq(energy_open(&o, &src), 0);
	energy_read(src, 1 * S, 1, &rd);
	cr_expect(!rd.up && !rd.estimated, "not asked: unavailable, not estimated");
	energy_close(src);
	o.fallback_estimate = true;
	cr_assert_eq(energy_open(&o, &src), 0);
	energy_read(src, 1 * S, 1, &rd);
	energy_read(src, 2 * S, 1, &rd);
	cr_expect(rd.up && rd.estimated);
	cr_expect_float_eq(rd.power_w, 15.0, 1e-9);
	cr_expect(!strncmp(rd.why, "estimated: measured energy unavailable: no /sys/class/powercap",
			   62), "%s", rd.why);
}

Test(energy_estimate, measured_never_silently_replaced, .fini = fake_teardown)
{
	struct energy_opts o = { .backend = ENERGY_POWERCAP, .fallback_estimate = true,
				 .model = { .idle_w = 10, .w_per_busy_core = 5 } };

	root = fake_root();
	fake_zone(root, "intel-rapl:0", "package-0", 0, 1000000000);
	o.fsroot = root;
	cr_assert_eq(energy_open(&o, &src), 0);
	energy_read(src, 1 * S, 1, &rd);
	cr_expect(rd.up && !rd.estimated);
	fake_write(root, "sys/class/powercap/intel-rapl:0/energy_uj", "oops\n");
	energy_read(src, 2 * S, 1, &rd);
	cr_expect(!rd.up && !rd.estimated, "down mid-run: unavailable, not the model");
	cr_expect(strstr(rd.why, "non-numeric"), "%s", rd.why);
}

static char *prom(const struct energy_reading *r, const struct energy_attr_out *a)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert(f);
	cr_assert_eq(energy_write_prom(f, r, a, a ? 2 : 0, a ? 1 : 0), 0);
	fclose(f);
	return buf;
}

static void every_value_labelled(char *text, const char *label)
{
	int n = 0;

	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		if (line[0] == '#')
			continue;
		if (strstr(line, "cross_diff"))
			continue;
		cr_expect(strstr(line, label), "unlabelled: %s", line);
		n++;
	}
	cr_expect(n >= 4, "%d values", n);
}

Test(energy_export, estimated_values_labelled, .fini = fake_teardown)
{
	struct energy_opts o = { .backend = ENERGY_ESTIMATE, .nr_host_cores = 2,
				 .model = { .idle_w = 40, .w_per_busy_core = 12 } };
	uint64_t vcpu_uj[2] = { 1000000, 2000000 }, vm_uj[1] = { 3000000 };
	struct energy_attr_out a = { .vcpu_uj = vcpu_uj, .vm_uj = vm_uj, .unattributed_uj = 5 };
	struct tel_energy_sample ts;
	struct tel_source_status st;
	char *text;

	cr_assert_eq(energy_open(&o, &src), 0);
	energy_read(src, 1 * S, 1, &rd);
	energy_fill_tel(&rd, 0, &ts, &st);
	cr_expect(ts.up && ts.estimated && isnan(ts.power_w), "no power before an interval");
	energy_read(src, 2 * S, 1, &rd);
	energy_fill_tel(&rd, 150, &ts, &st);
	cr_expect(ts.up && ts.estimated);
	cr_expect_float_eq(ts.power_w, 52.0, 1e-9);
	cr_expect_eq(ts.energy_uj, 52000000);
	cr_expect_float_eq(ts.power_cap_w, 150.0, 1e-9);
	cr_expect(strstr(st.why, "estimated"), "%s", st.why);
	text = prom(&rd, &a);
	cr_expect(strstr(text, "avmm_energy_power_watts{source=\"estimate\",estimated=\"true\"} 52.000"),
		  "%s", text);
	cr_expect(strstr(text, "avmm_energy_vcpu_joules_total{vcpu=\"1\",method=\"cpu-time-share\""),
		  "%s", text);
	every_value_labelled(text, "estimated=\"true\"");
	free(text);
}

Test(energy_export, measured_values_labelled_false, .fini = fake_teardown)
{
	struct energy_opts o = { .backend = ENERGY_POWERCAP };
	char *text;

	root = fake_root();
	fake_zone(root, "intel-rapl:0", "package-0", 0, 1000000000);
	o.fsroot = root;
	cr_assert_eq(energy_open(&o, &src), 0);
	energy_read(src, 1 * S, -1, &rd);
	fake_set_energy(root, "intel-rapl:0", 3000000);
	energy_read(src, 2 * S, -1, &rd);
	text = prom(&rd, NULL);
	cr_expect(strstr(text, "avmm_energy_zone_power_watts{zone=\"package-0\",id=\"intel-rapl:0\","
			 "source=\"powercap\",estimated=\"false\"} 3.000"), "%s", text);
	every_value_labelled(text, "estimated=\"false\"");
	free(text);
}

Test(energy_export, unavailable_is_not_zero, .fini = fake_teardown)
{
	struct energy_opts o = { .backend = ENERGY_POWERCAP };
	struct tel_energy_sample ts;
	struct tel_source_status st;
	char *text;

	root = fake_root();
	o.fsroot = root;
	cr_assert_eq(energy_open(&o, &src), 0);
	energy_read(src, 1 * S, -1, &rd);
	energy_fill_tel(&rd, 0, &ts, &st);
	cr_expect(!ts.up && !st.up && isnan(ts.power_w));
	cr_expect(strstr(st.why, "no /sys/class/powercap"), "%s", st.why);
	text = prom(&rd, NULL);
	cr_expect(strstr(text, "avmm_energy_up{") && strstr(text, "} 0\n"), "%s", text);
	cr_expect_null(strstr(text, "avmm_energy_joules_total"), "%s", text);
	free(text);
}

static int cli(int n, ...)
{
	char *argv[16];
	va_list ap;

	va_start(ap, n);
	for (int i = 0; i < n; i++)
		argv[i] = va_arg(ap, char *);
	va_end(ap);
	argv[n] = NULL;
	return energy_cli_main(n, argv);
}

Test(energy_cli, argument_errors)
{
	cr_expect_eq(cli(2, "energy", "--help"), 0);
	cr_expect_eq(cli(3, "energy", "--cap", "-5"), 2);
	cr_expect_eq(cli(3, "energy", "--interval", "abc"), 2);
	cr_expect_eq(cli(3, "energy", "--interval", "0"), 2);
	cr_expect_eq(cli(2, "energy", "extra"), 2);
	cr_expect_eq(cli(2, "energy", "--bogus"), 2);
	cr_expect_eq(cli(3, "energy", "--window", "5"), 2, "--window needs --cap");
	cr_expect_eq(cli(3, "energy", "--backend", "estimate"), 2, "needs a model");
	cr_expect_eq(cli(3, "energy", "--estimate", "40"), 2);
	cr_expect_eq(cli(3, "energy", "--backend", "rapl"), 2);
	cr_expect_eq(cli(3, "energy", "--cross", "powercap"), 2);
	cr_expect_eq(cli(2, "energy", "--fsroot"), 2);
}

Test(energy_cli, readings_from_a_fake_tree, .fini = fake_teardown)
{
	root = fake_root();
	cr_expect_eq(cli(7, "energy", "--fsroot", root, "--interval", "0.01", "--backend",
			 "powercap"), 1, "no powercap and no estimate asked: nonzero");
	fake_write(root, "proc/stat", "cpu  1 0 1 8 0 0 0 0 0 0\n");
	cr_expect_eq(cli(7, "energy", "--fsroot", root, "--interval", "0.01", "--estimate",
			 "40,12"), 0);
	fake_zone(root, "intel-rapl:0", "package-0", 0, 1000000000);
	cr_expect_eq(cli(7, "energy", "--fsroot", root, "--interval", "0.01", "--count", "2"), 0);
}
