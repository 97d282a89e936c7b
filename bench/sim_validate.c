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
 * Beside the ratios: each phase's guest CPU share itself (real, simulated,
 * relative error) and the loop's decisions in it (real/simulated; printed,
 * not part of max_ratio_error).
 *
 * Each experiment is simulated under seeds SEED, SEED+1 and SEED+2: the
 * "sim" column is SEED's ratio, "spread" the largest minus the smallest
 * ratio over the three, and max_ratio_error the worst error of any seed.
 * The 1-minute load average is printed first (from FSROOT/proc/loadavg):
 * real runs taken with -r on a host busy with other work (load average
 * above 0.5 on these 2 cores) measure that work too, and -r says so.
 *
 *   build/bench/sim_validate [-r] [-d DIR] [-m MODEL] [-s SEED] [-f FSROOT]
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

#define SEEDS 3
#define QUIET_LOAD 0.5   /* above: the real runs share the 2 cores with other work */

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
		if (!strncmp(line, "summary", 7) || !strncmp(line, "format", 6) || !strncmp(line, "trace", 5) ||
		    !strncmp(line, "report", 6))
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

/* The 1-minute load average from fsroot/proc/loadavg (NAN: unreadable). */
static double load_avg(const char *fsroot)
{
	char path[512], buf[128];
	FILE *f;
	double l = NAN;

	snprintf(path, sizeof(path), "%s/proc/loadavg", fsroot);
	f = fopen(path, "r");
	if (!f)
		return NAN;
	if (fgets(buf, sizeof(buf), f) && sscanf(buf, "%lf", &l) != 1)
		l = NAN;
	fclose(f);
	return l;
}

/* Simulated summary rows of experiment e under seed: 0 or -1. */
static int simulate(int e, const char *tmp, const char *model, unsigned long long seed,
		    struct adapt_sim_row *rows, int *n)
{
	char csv[512], ini[512], seed_s[32];
	char *av[] = { "experiment", "--quiet", "--simulate", (char *)model, "--seed", seed_s, ini, NULL };

	snprintf(seed_s, sizeof(seed_s), "%llu", seed);
	snprintf(csv, sizeof(csv), "%s/sim-%s-seed%llu.csv", tmp, exps[e], seed);
	if (csv_copy(exps[e], tmp, csv, ini, sizeof(ini)))
		return -1;
	if (adapt_cli_experiment(7, av) != 0)
		fprintf(stderr, "%s: the simulated run (seed %llu) failed\n", exps[e], seed);
	*n = adapt_sim_read_summary(csv, rows, 32);
	return *n > 0 ? 0 : -1;
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
	w.ph[0].vcpus = ~0ull;   /* its memory-bound phase on every vCPU */
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
	const char *data = "tests/data/sim", *model = "policies/models/host-2core.ini", *fsroot = "";
	char tmp[] = "/tmp/avmm-simval-XXXXXX";
	unsigned long long seed = 1;
	bool rerun = false;
	double max_err = 0, max_spread = 0, max_cpu_err = 0, load;
	int e, i, k, o, nr_phases = 0, dec_differ = 0;

	while ((o = getopt(argc, argv, "rd:m:s:f:")) != -1) {
		if (o == 'r') rerun = true;
		else if (o == 'd') data = optarg;
		else if (o == 'm') model = optarg;
		else if (o == 's') seed = strtoull(optarg, NULL, 0);
		else if (o == 'f') fsroot = optarg;
		else {
			fprintf(stderr, "usage: sim_validate [-r (rerun the real runs into DIR)] [-d DIR] [-m MODEL] "
				"[-s SEED] [-f FSROOT]\n");
			return 2;
		}
	}
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	util_log_set_level(UTIL_LOG_WARN);
	load = load_avg(fsroot);
	printf("load average at start (1 min): %.2f%s\n", load, isnan(load) ? " (unreadable)" : "");
	if (rerun && !(load <= QUIET_LOAD))
		fprintf(stderr, "warning: the host is not quiet (load average %.2f > %.1f): the real runs "
			"taken now measure the other work too; rerun -r on a quiet host "
			"(tests/data/sim/README)\n", load, QUIET_LOAD);
	printf("%-16s %-22s %-8s %6s %6s %6s %6s | %6s %6s %6s | %s\n", "experiment", "profile", "phase", "real",
	       "sim", "error", "spread", "cpu%", "sim", "error", "decisions real/sim");
	for (e = 0; e < 3; e++) {
		char real[512], ini[512], cmd[2048];
		struct adapt_sim_row rr[32], sr[SEEDS][32];
		int nr, ns[SEEDS];

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
		nr = adapt_sim_read_summary(real, rr, 32);
		for (k = 0; k < SEEDS; k++)
			if (simulate(e, tmp, model, seed + (unsigned long long)k, sr[k], &ns[k]) || ns[k] != ns[0])
				break;
		if (nr <= 0 || k < SEEDS) {
			fprintf(stderr, "%s: no rows or rows that differ (real %s: %d, sim seed %llu: %d)\n", exps[e],
				real, nr, seed + (unsigned long long)(k < SEEDS ? k : 0), k < SEEDS ? ns[k] : ns[0]);
			max_err = INFINITY;
			continue;
		}
		for (i = 0; i < ns[0] && i < nr; i++) {
			double a = ratio_of(rr, nr, i), lo = INFINITY, hi = -INFINITY, err;
			double cpu_err = fabs(sr[0][i].cpu - rr[i].cpu) / rr[i].cpu;

			if (strcmp(rr[i].phase, sr[0][i].phase))
				continue;
			if (!(cpu_err <= max_cpu_err))
				max_cpu_err = cpu_err;
			nr_phases++;
			dec_differ += rr[i].decisions != sr[0][i].decisions;
			if (!strcmp(sr[0][i].phase, "start")) {
				printf("%-16s %-22s %-8s %6s %6s %6s %6s | %6.1f %6.1f %6.3f | %d/%d\n", exps[e],
				       sr[0][i].profile, sr[0][i].phase, "", "", "", "", rr[i].cpu, sr[0][i].cpu, cpu_err,
				       rr[i].decisions, sr[0][i].decisions);
				continue;
			}
			for (k = 0; k < SEEDS; k++) {
				double b = ratio_of(sr[k], ns[k], i);

				err = fabs(b - a) / a;
				if (!(err <= max_err))
					max_err = err;
				lo = fmin(lo, b);
				hi = fmax(hi, b);
			}
			if (!(hi - lo <= max_spread))
				max_spread = hi - lo;
			printf("%-16s %-22s %-8s %6.3f %6.3f %6.3f %6.3f | %6.1f %6.1f %6.3f | %d/%d\n", exps[e],
			       sr[0][i].profile, sr[0][i].phase, a, ratio_of(sr[0], ns[0], i),
			       fabs(ratio_of(sr[0], ns[0], i) - a) / a, hi - lo, rr[i].cpu, sr[0][i].cpu, cpu_err,
			       rr[i].decisions, sr[0][i].decisions);
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
	printf("seeds %llu-%llu: largest spread of a phase ratio %.3f\n", seed, seed + SEEDS - 1, max_spread);
	printf("guest CPU share per phase: largest error %.3f; the loop's decisions differ in %d of %d phases\n",
	       max_cpu_err, dec_differ, nr_phases);
	printf("max_ratio_error=%.3f\n", max_err);
	return 0;
}
