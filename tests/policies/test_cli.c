/* `avmm policy check` through pol_cli_policy. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdlib.h>

#include "policies/pol.h"

static void redirect(void)
{
	cr_redirect_stdout();
	cr_redirect_stderr();
	setenv("AVMM_PROFILE_DIR", "policies/profiles", 1);
}

Test(cli, check_valid_profile, .init = redirect)
{
	char *argv[] = { "policy", "check", "balanced", NULL };

	cr_assert_eq(pol_cli_policy(3, argv), 0);
	fflush(stdout);
	cr_assert_stdout_neq_str("");
}

Test(cli, check_invalid_profile, .init = redirect)
{
	char *argv[] = { "policy", "check", "tests/data/bad-profile.ini", NULL };

	cr_assert_eq(pol_cli_policy(3, argv), 1);
}

Test(cli, usage, .init = redirect)
{
	char *argv[] = { "policy", "frobnicate", NULL };

	cr_assert_eq(pol_cli_policy(2, argv), 2);
	cr_assert_eq(pol_cli_policy(1, argv), 2);
}
