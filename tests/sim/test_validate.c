/* The simulator against the real runs stored in tests/data/sim (see its
 * README): the experiments run through `avmm experiment --simulate` on this
 * host's model, per-phase ratios (guest CPU share of a phase / of the
 * first phase) compared with the stored real ratios. Every stored phase must
 * have a simulated counterpart; the hog phase of coremap-noise (the effect
 * that stood above the shared host's noise when the runs were taken) must
 * agree within 15%. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adapt/adapt.h"
#include "adapt/sim.h"

static double ratio(const struct adapt_sim_row *r, int i)
{
	for (int j = i; j >= 0; j--)
		if (!strcmp(r[j].profile, r[i].profile) && !strcmp(r[j].phase, "start"))
			return r[i].cpu / r[j].cpu;
	return NAN;
}

/* Simulated summary CSV of policies/experiments/name.ini into rows. */
static int simulate(const char *name, struct adapt_sim_row *rows, int max)
{
	char dir[] = "/tmp/avmm-simtest-XXXXXX", ini[256], csv[256], src[256], line[1024];
	FILE *in, *out;
	int n;

	cr_assert(mkdtemp(dir));
	snprintf(src, sizeof(src), "policies/experiments/%s.ini", name);
	snprintf(ini, sizeof(ini), "%s/x.ini", dir);
	snprintf(csv, sizeof(csv), "%s/x.csv", dir);
	in = fopen(src, "r");
	out = fopen(ini, "w");
	cr_assert(in && out, "%s", src);
	while (fgets(line, sizeof(line), in)) {
		if (!strncmp(line, "summary", 7) || !strncmp(line, "format", 6) || !strncmp(line, "trace", 5))
			continue;
		fputs(line, out);
		if (!strncmp(line, "[output]", 8))
			fprintf(out, "summary = %s\nformat = csv\n", csv);
	}
	fclose(in);
	fclose(out);
	{
		char *av[] = { "experiment", "--quiet", "--simulate", "policies/models/host-2core.ini", ini, NULL };

		cr_assert_eq(adapt_cli_experiment(5, av), 0, "%s: the simulated run failed", name);
	}
	n = adapt_sim_read_summary(csv, rows, max);
	cr_assert(n >= 0, "%s: cannot open", csv);
	unlink(csv);
	unlink(ini);
	rmdir(dir);
	return n;
}

Test(sim_validate, stored_real_runs)
{
	static const char *const exps[] = { "coremap-noise", "noisy-neighbour", "profile-switch" };
	bool hog_checked = false;

	for (int e = 0; e < 3; e++) {
		struct adapt_sim_row real[32], sim[32];
		char path[256];
		int nr, ns;

		snprintf(path, sizeof(path), "tests/data/sim/real-%s.csv", exps[e]);
		nr = adapt_sim_read_summary(path, real, 32);
		cr_assert(nr >= 0, "%s: cannot open", path);
		ns = simulate(exps[e], sim, 32);
		cr_assert_eq(nr, ns, "%s: %d real rows, %d simulated", exps[e], nr, ns);
		for (int i = 0; i < nr; i++) {
			double a = ratio(real, i), b = ratio(sim, i);

			cr_assert_str_eq(real[i].phase, sim[i].phase);
			cr_assert(isfinite(a) && isfinite(b) && b > 0, "%s %s", exps[e], sim[i].phase);
			if (!strcmp(exps[e], "coremap-noise") && !strcmp(sim[i].phase, "phase.1")) {
				cr_assert(fabs(b - a) / a <= 0.15, "hog phase: real %.3f sim %.3f", a, b);
				hog_checked = true;
			}
		}
	}
	cr_assert(hog_checked);
}
