/* The coremap-noise experiment and its profiles load and say what they should. */
#include <criterion/criterion.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "coremap/coremap.h"
#include "policies/pol.h"

static const char *dirs[] = { "policies/profiles" };

static void repo_root(void)
{
	char src[] = __FILE__;

	/* tests/coremap/test_experiment.c -> the repository root */
	if (strchr(src, '/') && src[0] == '/')
		cr_assert_eq(chdir(dirname(dirname(dirname(src)))), 0);
}

Test(coremap_experiment, noise_profiles_load)
{
	static struct pol_profile p;
	char err[1024];
	enum coremap_strategy s;

	repo_root();
	cr_assert_eq(pol_load("policies/experiments/profiles/coremap-noise-adaptive.ini", dirs, 1, &p, err,
			      sizeof(err)), 0, "%s", err);
	cr_expect_eq(p.coremap.strategy, POL_CM_ADAPTIVE);
	cr_expect(p.enabled[POL_AD_COREMAP]);
	cr_expect_eq(p.coremap.noisy_run_delay_pct, 10.0);
	cr_expect_eq(p.period_ns, 100000000ull);
	cr_expect_eq(coremap_strategy_parse("adaptive", &s), 0);

	cr_assert_eq(pol_load("policies/experiments/profiles/coremap-noise-static.ini", dirs, 1, &p, err,
			      sizeof(err)), 0, "%s", err);
	cr_expect_eq(p.coremap.strategy, POL_CM_EXPLICIT);
	cr_expect_eq(p.coremap.nr_explicit, 1);
	cr_expect_eq(p.coremap.explicit_map[0], 1);
	cr_expect_not(p.enabled[POL_AD_PAGING]);
}

Test(coremap_experiment, noise_experiment_loads)
{
	static struct pol_experiment x;
	char err[1024];

	repo_root();
	cr_assert_eq(pol_exp_load("policies/experiments/coremap-noise.ini", dirs, 1, &x, err,
				  sizeof(err)), 0, "%s", err);
	cr_expect_eq(x.vcpus, 1);
	cr_expect_eq(x.nr_phases, 2);
	cr_expect_eq(x.phase[0].load, POL_LOAD_START);
	cr_expect_eq(x.phase[0].nr_load_cpus, 1);
	cr_expect_eq(x.phase[0].load_cpus[0], 1);
	cr_expect(strstr(x.phase[1].profile, "coremap-noise-adaptive"), "%s", x.phase[1].profile);
}
