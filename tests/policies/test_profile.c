/* Goal profiles: shipped files, includes, every kind of error with file:line. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policies/pol.h"

static const char *dirs[] = { "policies/profiles" };
static struct pol_profile p;
static char err[4096];
static char tmp[64];

static void mk_tmp(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/avmm-pol-XXXXXX");
	cr_assert_not_null(mkdtemp(tmp));
}

static void rm_tmp(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	cr_assert_eq(system(cmd), 0);
}

static void put(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmp, name);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

static int load_tmp(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", tmp, name);
	return pol_load(path, dirs, 1, &p, err, sizeof(err));
}

static int parse(const char *text)
{
	return pol_parse_buffer(text, strlen(text), "t.ini", dirs, 1, &p, err, sizeof(err));
}

TestSuite(profile, .init = mk_tmp, .fini = rm_tmp);

Test(profile, shipped_profiles_load)
{
	static const char *names[] = { "performance", "energy", "balanced", "powercap", "static" };
	static const enum pol_objective obj[] = { POL_OBJ_PERFORMANCE, POL_OBJ_ENERGY, POL_OBJ_WEIGHTED,
						  POL_OBJ_POWER_CAP, POL_OBJ_PERFORMANCE };
	size_t i;
	int k;

	for (i = 0; i < 5; i++) {
		cr_assert_eq(pol_load(names[i], dirs, 1, &p, err, sizeof(err)), 0, "%s: %s", names[i], err);
		cr_assert_str_eq(p.name, names[i]);
		cr_assert_eq(p.objective, obj[i], "%s", names[i]);
	}
	for (k = 0; k < POL_AD_COUNT; k++)
		cr_assert(!p.enabled[k], "static enables nothing");
}

Test(profile, include_inherits_and_overrides_with_origins)
{
	char out[8192];

	cr_assert_eq(pol_load("powercap", dirs, 1, &p, err, sizeof(err)), 0, "%s", err);
	cr_assert_float_eq(p.power_cap_w, 150, 1e-9);
	cr_assert_float_eq(p.weight_energy, 0.5, 1e-9, "from balanced");
	cr_assert_eq(p.period_ns, 1000000000ull, "from performance");
	cr_assert(p.enabled[POL_AD_ENERGY]);
	cr_assert_eq(pol_format(&p, out, sizeof(out)), 0);
	cr_assert(strstr(out, "weight_energy") && strstr(out, "balanced.ini:"), "%s", out);
	cr_assert(strstr(out, "period_ms                        = 1000         ; policies/profiles/performance.ini:"), "%s", out);
}

Test(profile, format_round_trips)
{
	char out[8192];
	struct pol_profile q;

	cr_assert_eq(pol_load("energy", dirs, 1, &q, err, sizeof(err)), 0);
	cr_assert_eq(pol_format(&q, out, sizeof(out)), 0);
	put("rt.ini", out);
	cr_assert_eq(load_tmp("rt.ini"), 0, "%s\n%s", err, out);
	cr_assert_eq(p.objective, q.objective);
	cr_assert_float_eq(p.max_slowdown_pct, q.max_slowdown_pct, 1e-9);
	cr_assert_eq(p.min_dwell_ns, q.min_dwell_ns);
	cr_assert_eq(memcmp(p.enabled, q.enabled, sizeof(p.enabled)), 0);
}

Test(profile, unknown_key_names_the_line_and_the_known_keys)
{
	cr_assert_eq(parse("[goal]\nobjective = energy\nperiod = 5\n"), -EINVAL);
	cr_assert(strstr(err, "t.ini:3: unknown key 'period' in [goal]; known keys:"), "%s", err);
	cr_assert(strstr(err, "period_ms"), "%s", err);
	cr_assert_eq(parse("[gaol]\nx = 1\n"), -EINVAL);
	cr_assert(strstr(err, "t.ini:2: unknown section [gaol]"), "%s", err);
}

Test(profile, duplicate_key_and_section)
{
	cr_assert_eq(parse("[goal]\nnoise_pct = 1\nnoise_pct = 2\n"), -EINVAL);
	cr_assert(strstr(err, "t.ini:3: duplicate key 'noise_pct' in [goal] (first at line 2)"), "%s", err);
	cr_assert_eq(parse("[goal]\nnoise_pct = 1\n[goal]\nperiod_ms = 100\n"), -EINVAL);
	cr_assert(strstr(err, "t.ini:3: duplicate section [goal]"), "%s", err);
}

Test(profile, out_of_range_and_bad_values)
{
	cr_assert_eq(parse("[goal]\nperiod_ms = 5\n"), -EINVAL);
	cr_assert(strstr(err, "t.ini:2: period_ms = '5' is out of range; use a number in 10..3600000"), "%s", err);
	cr_assert_eq(parse("[goal]\nhysteresis_pct = lots\n"), -EINVAL);
	cr_assert(strstr(err, "is not a number"), "%s", err);
	cr_assert_eq(parse("[goal]\nobjective = fastest\n"), -EINVAL);
	cr_assert(strstr(err, "use performance, energy, edp, power-cap or weighted"), "%s", err);
	cr_assert_eq(parse("[goal]\nconfirm_ticks = 2.5\n"), -EINVAL);
	cr_assert_eq(parse("[coremap]\nreserved_cpus = 3-1\n"), -EINVAL);
	cr_assert_eq(parse("[goal]\nnoise_pct = nan\n"), -EINVAL);
	cr_assert_eq(parse("[goal]\nnoise_pct = inf\n"), -EINVAL);
}

Test(profile, cross_key_rules)
{
	cr_assert_eq(parse("[goal]\nobjective = power-cap\n"), -EINVAL);
	cr_assert(strstr(err, "t.ini:2: objective power-cap needs power_cap_w > 0"), "%s", err);
	cr_assert_eq(parse("[goal]\nobjective = power-cap\npower_cap_w = 100\n[energy]\nenabled = yes\n"), 0, "%s", err);
	cr_assert_eq(parse("[goal]\nobjective = weighted\nweight_performance = 0\nweight_energy = 0\n"), -EINVAL);
	cr_assert_eq(parse("[goal]\nperiod_ms = 2000\nmin_dwell_ms = 1000\n"), -EINVAL);
	cr_assert(strstr(err, "min_dwell_ms (1000) is shorter than period_ms (2000)"), "%s", err);
	cr_assert_eq(parse("[coremap]\nenabled = yes\nstrategy = explicit\n"), -EINVAL);
	cr_assert_eq(parse("[coremap]\nenabled = yes\nstrategy = explicit\nexplicit_map = 1,0\n"), 0);
	cr_assert_eq(p.coremap.nr_explicit, 2);
	cr_assert_eq(p.coremap.explicit_map[0], 1);
}

Test(profile, lines_longer_than_the_parser_takes)
{
	char line[POL_MAX_LINE + 2], text[512];

	/* "summary = " + text: exactly POL_MAX_LINE characters is accepted */
	memset(line, 'a', sizeof(line));
	memcpy(line, "summary = ", 10);
	line[POL_MAX_LINE] = '\0';
	snprintf(text, sizeof(text), "[main]\n%s\n", line);
	cr_assert_eq(parse(text), -EINVAL, "summary longer than 127 characters");
	cr_assert(!strstr(err, "line is"), "%s", err);
	memcpy(line, "summary = ", 10);
	line[POL_MAX_LINE] = 'a';
	line[POL_MAX_LINE + 1] = '\0';
	snprintf(text, sizeof(text), "[main]\n%s\n", line);
	cr_assert_eq(parse(text), -EINVAL);
	cr_assert(strstr(err, "t.ini:2: line is 197 characters, the parser takes at most 196"), "%s", err);
	/* a long comment line is rejected too: libinih would cut it and read the rest */
	memset(line, '#', sizeof(line));
	line[POL_MAX_LINE + 1] = '\0';
	snprintf(text, sizeof(text), "[goal]\n%s\n", line);
	cr_assert_eq(parse(text), -EINVAL);
	cr_assert(strstr(err, "t.ini:2: line is"), "%s", err);
	memset(text, 0, sizeof(text));
	snprintf(text, sizeof(text), "[goal]\nnoise_pct = %0*d5\n", POL_MAX_LINE - 13, 0);
	cr_assert_eq(strlen(strchr(text, 'n')) - 1, (size_t)POL_MAX_LINE);
	cr_assert_eq(parse(text), 0, "%s", err);
	cr_assert_float_eq(p.noise_pct, 5, 1e-9);
}

Test(profile, include_cycle_and_depth)
{
	put("a.ini", "[main]\ninclude = b\n");
	put("b.ini", "[main]\ninclude = c.ini\n");
	put("c.ini", "[main]\ninclude = a\n");
	cr_assert_eq(load_tmp("a.ini"), -ELOOP);
	cr_assert(strstr(err, "c.ini:2: include cycle:"), "%s", err);
	put("self.ini", "[main]\ninclude = self\n");
	cr_assert_neq(load_tmp("self.ini"), 0);
	cr_assert(strstr(err, "include cycle"), "%s", err);
	put("missing.ini", "[main]\ninclude = nowhere\n");
	cr_assert_neq(load_tmp("missing.ini"), 0);
	cr_assert(strstr(err, "missing.ini:2: include = 'nowhere': no such profile"), "%s", err);
}

Test(profile, syntax_errors_and_continuations)
{
	cr_assert_eq(parse("[goal]\nthis is not ini\n"), -EINVAL);
	cr_assert(strstr(err, "t.ini:2: not a 'key = value' line"), "%s", err);
	cr_assert_eq(parse("[goal]\nnoise_pct = 1\n  period_ms = 100\n"), -EINVAL);
	cr_assert(strstr(err, "t.ini:3: line starts with whitespace"), "%s", err);
	cr_assert_eq(parse("noise_pct = 1\n"), -EINVAL);
	cr_assert(strstr(err, "before any [section]"), "%s", err);
	cr_assert_eq(parse("[goal]\r\nnoise_pct = 1 ; a comment\r\n# another\r\n"), 0, "%s", err);
	cr_assert_float_eq(p.noise_pct, 1, 1e-9);
	cr_assert_eq(pol_parse_buffer("[goal]\nnoise_pct = 1\0\n", 21, "t.ini", dirs, 1, &p, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "NUL byte"), "%s", err);
}

Test(profile, machine_default_and_override)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/none", tmp);
	cr_assert_eq(pol_load_machine(NULL, path, dirs, 1, &p, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(p.name, POL_FALLBACK_PROFILE, "no file: the fallback");
	put("profile", "# the machine's goal\n\n  energy  \n");
	snprintf(path, sizeof(path), "%s/profile", tmp);
	cr_assert_eq(pol_load_machine(NULL, path, dirs, 1, &p, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(p.name, "energy");
	cr_assert_eq(pol_load_machine("static", path, dirs, 1, &p, err, sizeof(err)), 0);
	cr_assert_str_eq(p.name, "static", "--profile wins");
	setenv("AVMM_PROFILE_FILE", path, 1);
	cr_assert_eq(pol_load_machine(NULL, NULL, dirs, 1, &p, err, sizeof(err)), 0);
	cr_assert_str_eq(p.name, "energy");
	unsetenv("AVMM_PROFILE_FILE");
	put("profile", "\n");
	cr_assert_eq(pol_load_machine(NULL, path, dirs, 1, &p, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "names no profile"), "%s", err);
	cr_assert_eq(pol_load("no-such", dirs, 1, &p, err, sizeof(err)), -ENOENT);
	cr_assert(strstr(err, "no such profile"), "%s", err);
}

Test(profile, a_failed_load_leaves_the_output_alone)
{
	cr_assert_eq(pol_load("energy", dirs, 1, &p, err, sizeof(err)), 0);
	cr_assert_eq(parse("[goal]\nobjective = performance\nnoise_pct = 500\n"), -EINVAL);
	cr_assert_eq(p.objective, POL_OBJ_ENERGY, "staging copy: nothing half-applied");
}
