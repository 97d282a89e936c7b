/*
 * bench: sim_validate -- the policy simulator against real runs on this host.
 *
 * For each experiment that runs for real here (coremap-noise,
 * noisy-neighbour, profile-switch) it runs the experiment file in the
 * simulator on this host's model (policies/models/host-2core.ini) and
 * compares, per profile and phase, the ratio of the guest's CPU share in
 * that phase to the first phase (the progress measure on a host without a
 * PMU) with the same ratio of the real run: stored CSV summaries
 * (tests/data/sim/real-*.csv, with the date and command in
 * tests/data/sim/README), or fresh real runs with -r (needs
 * build/avmm, /dev/kvm, the guests; about 3 minutes), written over the
 * stored ones in DIR (take them on a quiet host and note it in the README). Then the speed line
 * (one simulated hour, 64 vCPUs on the 4-socket model) and, last,
 * max_ratio_error=X (target <= 0.15).
 *
 *   build/bench/sim_validate [-r] [-d DIR] [-m MODEL] [-s SEED]
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "adapt/adapt.h"
#include "adapt/sim.h"
#include "common/util.h"
#include "policies/pol.h"

static const char *const exps[] = { "coremap-noise", "noisy-neighbour", "profile-switch" };


/* A copy of experiments/NAME.ini writing a CSV summary to csv. */
static int csv_copy(const char *name, const char *dir, const char *csv, char *out, size_t len)
{
	char src[256], line[1024];
	FILE *in, *o;

	snprintf(src, sizeof(src), "policies/experiments/%s.ini", name);
	snprintf(out, len, "%s/%s.ini", dir, name);
	if (!(in = fopen(src, "r")) || !(o = fopen(out, "w"))) {
		if (in)
			fclose(in);
		return -errno;
	}
	while (fgets(line, sizeof(line), in)) {
		if (!strncmp(line, "summary", 7) || !strncmp(line, "format", 6) || !strncmp(line, "trace", 5))
			continue;
		fputs(line, o);
		if (!strncmp(line, "[output]", 8))
			fprintf(o, "summary = %s\nformat = csv\n", csv);
	}
	fclose(in);
	fclose(o);
	return 0;
}

static double ratio_of(const struct adapt_sim_row *r, int n, int i)
{
	int j;

	for (j = i; j >= 0; j--)
		if (!strcmp(r[j].profile, r[i].profile) && !strcmp(r[j].phase, "start"))
			return r[j].cpu > 0 ? r[i].cpu / r[j].cpu : NAN;
	return NAN;
}

static double cpu_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Wall seconds of one simulated hour (CPU seconds in *cpu). */
static double speed_s(double *cpu)
{
	double c0 = cpu_now();

	char err[512], why[160];
	struct adapt_sim_model m;
	struct adapt_sim_workload w;
	struct pol_profile p;
	struct adapt_sim_cfg cfg = { 0 };
	struct adapt_sim *s;
	const char *dirs[POL_MAX_DIRS];
	char storage[POL_MAX_DIRS][POL_PATH_MAX];
	int nd = pol_default_dirs(dirs, storage);
	uint64_t t0;

	if (adapt_sim_model_load("policies/models/4s-16c.ini", &m, err, sizeof(err)) ||
	    pol_load("performance", dirs, nd, &p, err, sizeof(err))) {
		fprintf(stderr, "speed: %s\n", err);
		return NAN;
	}
	adapt_sim_workload_for_guest("stream.elf", &w, why, sizeof(why));
	cfg = (struct adapt_sim_cfg){ .model = &m, .work = &w, .profile = &p, .nr_vcpus = 64,
		.mem_bytes = 64ull << 30, .seed = 1 };
	t0 = util_now_ns();
	if (adapt_sim_create(&cfg, &s, err, sizeof(err))) {
		fprintf(stderr, "speed: %s\n", err);
		return NAN;
	}
	adapt_sim_run_until(s, 3600ull * 1000000000ull);
	adapt_sim_destroy(s);
	*cpu = cpu_now() - c0;
	return (double)(util_now_ns() - t0) / 1e9;
}

int main(int argc, char **argv)
{
	const char *data = "tests/data/sim", *model = "policies/models/host-2core.ini";
	char tmp[] = "/tmp/avmm-simval-XXXXXX", seed[32] = "1";
	bool rerun = false;
	double max_err = 0;
	int e, i, o;

	while ((o = getopt(argc, argv, "rd:m:s:")) != -1) {
		if (o == 'r') rerun = true;
		else if (o == 'd') data = optarg;
		else if (o == 'm') model = optarg;
		else if (o == 's') snprintf(seed, sizeof(seed), "%s", optarg);
		else {
			fprintf(stderr, "usage: sim_validate [-r (rerun the real runs into DIR)] [-d DIR] [-m MODEL] [-s SEED]\n");
			return 2;
		}
	}
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	util_log_set_level(UTIL_LOG_WARN);
	printf("%-16s %-28s %-8s %8s %8s %7s\n", "experiment", "profile", "phase", "real", "sim", "error");
	for (e = 0; e < 3; e++) {
		char csv[512], real[512], ini[512], cmd[2048];
		struct adapt_sim_row rr[32], sr[32];
		int nr, ns;
		char *av[] = { "experiment", "--quiet", "--simulate", (char *)model, "--seed", seed, ini, NULL };

		snprintf(real, sizeof(real), "%s/real-%s.csv", data, exps[e]);
		if (rerun) {
			char fresh[512];

			snprintf(fresh, sizeof(fresh), "%s/real-%s.csv", tmp, exps[e]);
			if (csv_copy(exps[e], tmp, fresh, ini, sizeof(ini)))
				return 1;
			snprintf(cmd, sizeof(cmd), "build/avmm experiment --quiet %s && cp %s %s", ini, fresh, real);
			if (system(cmd))
				fprintf(stderr, "%s: the real run failed; %s kept as it was\n", exps[e], real);
		}
		snprintf(csv, sizeof(csv), "%s/sim-%s.csv", tmp, exps[e]);
		if (csv_copy(exps[e], tmp, csv, ini, sizeof(ini)))
			return 1;
		if (adapt_cli_experiment(7, av) != 0)
			fprintf(stderr, "%s: the simulated run failed\n", exps[e]);
		nr = adapt_sim_read_summary(real, rr, 32);
		ns = adapt_sim_read_summary(csv, sr, 32);
		if (nr <= 0 || ns <= 0) {
			fprintf(stderr, "%s: no rows (real %s: %d, sim: %d)\n", exps[e], real, nr, ns);
			max_err = INFINITY;
			continue;
		}
		for (i = 0; i < ns && i < nr; i++) {
			double a = ratio_of(rr, nr, i), b = ratio_of(sr, ns, i), err;

			if (strcmp(rr[i].phase, sr[i].phase) || !strcmp(sr[i].phase, "start"))
				continue;
			err = fabs(b - a) / a;
			if (!(err <= max_err))
				max_err = err;
			printf("%-16s %-28s %-8s %8.3f %8.3f %7.3f\n", exps[e], sr[i].profile, sr[i].phase, a, b, err);
		}
	}
	{
		double cpu = NAN, wall = speed_s(&cpu);

		printf("speed: one simulated hour, 64 vCPUs, 4-socket model: %.3f s wall, %.3f s CPU\n", wall, cpu);
	}
	{
		char rm[64];

		snprintf(rm, sizeof(rm), "rm -rf %s", tmp);
		if (system(rm))
			fprintf(stderr, "could not remove %s\n", tmp);
	}
	printf("max_ratio_error=%.3f\n", max_err);
	return 0;
}
