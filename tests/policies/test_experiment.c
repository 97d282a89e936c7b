/* Experiment files: the shipped examples and each validation rule. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "policies/pol.h"

static const char *dirs[] = { "policies/profiles" };
static struct pol_experiment x;
static char err[4096];

static int parse(const char *text)
{
	return pol_exp_parse_buffer(text, strlen(text), "e.ini", dirs, 1, &x, err, sizeof(err));
}

#define HEAD "[experiment]\nguest = g.elf\nduration_s = 30\nprofile = balanced\n"

Test(experiment, shipped_examples_validate)
{
	static const char *files[] = { "policies/experiments/pack-vs-spread.ini",
				       "policies/experiments/noisy-neighbour.ini",
				       "policies/experiments/profile-switch.ini" };
	size_t i;

	for (i = 0; i < 3; i++)
		cr_assert_eq(pol_exp_load(files[i], dirs, 1, &x, err, sizeof(err)), 0, "%s: %s", files[i], err);
	cr_assert_eq(x.nr_phases, 2);
	cr_assert_str_eq(x.phase[1].profile, "powercap");
	cr_assert_eq(x.format, POL_FMT_CSV);
	cr_assert_eq(pol_exp_load(files[0], dirs, 1, &x, err, sizeof(err)), 0);
	cr_assert_eq(x.nr_compare, 3);
	cr_assert_str_eq(x.compare[2], "energy");
	cr_assert_eq(x.vcpus, 2);
	cr_assert_eq(x.mem_bytes, 64ull << 20);
}

Test(experiment, phases_sorted_and_defaults)
{
	cr_assert_eq(parse(HEAD "[phase.2]\nat_s = 20\nhost_load = stop\n[phase.1]\nat_s = 5.5\nhost_load = start\nhost_load_cpus = 0-1\n"), 0, "%s", err);
	cr_assert_eq(x.nr_phases, 2);
	cr_assert_eq(x.phase[0].at_ns, 5500000000ull);
	cr_assert_eq(x.phase[0].load, POL_LOAD_START);
	cr_assert_eq(x.phase[0].nr_load_cpus, 2);
	cr_assert_eq(x.phase[1].load, POL_LOAD_STOP);
	cr_assert_eq(x.vcpus, 1);
	cr_assert_str_eq(x.summary, "-");
	cr_assert_str_eq(x.report, "", "the report's place is the runner's default");
	cr_assert_str_eq(x.name, "e");
}

Test(experiment, report_key)
{
	cr_assert_eq(parse(HEAD "[output]\nreport = out/r.html\n"), 0, "%s", err);
	cr_assert_str_eq(x.report, "out/r.html");
	cr_assert_eq(parse(HEAD "[output]\nreport = none\n"), 0, "%s", err);
	cr_assert_str_eq(x.report, "none");
	cr_assert_eq(parse(HEAD "[output]\nreport =\n"), -EINVAL);
	cr_assert(strstr(err, "e.ini:6:") && strstr(err, "report"), "%s", err);
	cr_assert_eq(parse(HEAD "[output]\nreprot = r.html\n"), -EINVAL);
	cr_assert(strstr(err, "report"), "the known keys listed: %s", err);
}

Test(experiment, validation_errors_name_the_line)
{
	cr_assert_eq(parse(HEAD "[phase.1]\nat_s = 40\nprofile = energy\n"), -EINVAL);
	cr_assert(strstr(err, "e.ini:6: [phase.1] at_s = 40.000 is not before the end"), "%s", err);
	cr_assert_eq(parse(HEAD "[phase.1]\nat_s = 4\nhost_load = stop\n"), -EINVAL);
	cr_assert(strstr(err, "stops a host load that is not running"), "%s", err);
	cr_assert_eq(parse(HEAD "[phase.1]\nat_s = 4\n"), -EINVAL);
	cr_assert(strstr(err, "does nothing"), "%s", err);
	cr_assert_eq(parse(HEAD "[phase.1]\nat_s = 4\nprofile = nosuch\n"), -EINVAL);
	cr_assert(strstr(err, "e.ini:7: profile 'nosuch' does not load"), "%s", err);
	cr_assert_eq(parse(HEAD "compare = static, energy\n"), -EINVAL);
	cr_assert(strstr(err, "both profile and compare"), "%s", err);
	cr_assert_eq(parse(HEAD "vcpus = 65\n"), -EINVAL);
	cr_assert(strstr(err, "e.ini:5: vcpus = '65' is not valid; use a whole number in 1..64"), "%s", err);
	cr_assert_eq(parse(HEAD "colour = red\n"), -EINVAL);
	cr_assert(strstr(err, "unknown key 'colour' in [experiment]"), "%s", err);
	cr_assert_eq(parse(HEAD "[phase.x]\nat_s = 1\n"), -EINVAL);
	cr_assert_eq(parse(HEAD "[phase.1]\nat_s = 4\nprofile = energy\n[phase.2]\nat_s = 4\nprofile = static\n"), -EINVAL);
	cr_assert(strstr(err, "same time"), "%s", err);
	cr_assert_eq(parse("[experiment]\nprofile = static\n"), -EINVAL);
	cr_assert(strstr(err, "no guest") && strstr(err, "no duration"), "%s", err);
	cr_assert_eq(parse(HEAD "[output]\nformat = xml\n"), -EINVAL);
}
