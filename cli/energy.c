/* `avmm energy` with the same energy defaults as `avmm run`: where nothing
 * measures energy, the machine profile's estimate model (its [energy]
 * estimate, estimate_idle_w, estimate_w_per_busy_core) applies unless
 * --estimate is given; --profile NAME|FILE picks another profile's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/util.h"
#include "energy/energy.h"
#include "policies/pol.h"

#define MAX_ARGS 64

/* The profile's model as "--estimate I,C" into est, or 0 when it has none
 * (estimate = no) or does not load (said why). */
static int profile_estimate(const char *profile, char *est, size_t len)
{
	char storage[POL_MAX_DIRS][POL_PATH_MAX], err[1024];
	const char *dirs[POL_MAX_DIRS];
	struct pol_profile *p = malloc(sizeof(*p));
	int n = pol_default_dirs(dirs, storage), rc = 0;

	if (!p)
		return 0;
	if (pol_load_machine(profile, NULL, dirs, n, p, err, sizeof(err))) {
		util_warn("energy: no estimate model from the profile (%s); give --estimate "
			  "IDLE_W,W_PER_BUSY_CORE", err);
	} else if (p->energy.estimate) {
		snprintf(est, len, "%g,%g", p->energy.estimate_idle_w,
			 p->energy.estimate_w_per_busy_core);
		util_info("energy: where nothing measures energy, the estimate of profile %s "
			  "(as avmm run): %g W idle + %g W per busy CPU", p->name,
			  p->energy.estimate_idle_w, p->energy.estimate_w_per_busy_core);
		rc = 1;
	}
	free(p);
	return rc;
}

int cli_energy(int argc, char **argv)
{
	char *args[MAX_ARGS + 3], est[64];
	const char *profile = NULL;
	bool has_estimate = false, help = false;
	int n = 0;

	if (argc > MAX_ARGS) {
		util_err("avmm energy: too many arguments (%d)", argc);
		return 2;
	}
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--profile") && i + 1 < argc) {
			profile = argv[++i];
			continue;
		}
		if (!strncmp(argv[i], "--profile=", 10)) {
			profile = argv[i] + 10;
			continue;
		}
		has_estimate |= !strcmp(argv[i], "--estimate") || !strncmp(argv[i], "--estimate=", 11);
		help |= !strcmp(argv[i], "--help") || !strcmp(argv[i], "-h");
		args[n++] = argv[i];
	}
	if (!has_estimate && !help && profile_estimate(profile, est, sizeof(est))) {
		args[n++] = "--estimate";
		args[n++] = est;
	}
	args[n] = NULL;
	return energy_cli_main(n, args);
}
