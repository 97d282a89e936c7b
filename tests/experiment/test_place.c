/*
 * The shipped coremap-noise experiment (policies/experiments/coremap-noise.ini)
 * ten times faster: its static profile's explicit pin (vCPU 0 on CPU 1) holds
 * from the start, before the guest's first instruction, not from the loop's
 * first decision; the static phases run pinned.
 */
#include <criterion/criterion.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

static char err[16384];

static void fini(void)
{
	exp_cleanup();
}

/* The shipped file with times / 10, the guest, the profiles' and the
 * trace's paths made absolute; every line it changes must be there. */
static const char *scaled(const char *guest, const char *dir)
{
	static const char *const want[] = { "guest = ", "cmdline = ms=23000", "duration_s = 24",
					    "at_s = 8", "at_s = 16", "trace = ", "summary = " };
	static char text[8192];
	char cwd[256], *src = exp_slurp("policies/experiments/coremap-noise.ini"), *line, *save;
	size_t used = 0;
	int seen[7] = { 0 };

	cr_assert_not_null(src, "policies/experiments/coremap-noise.ini is missing");
	cr_assert_not_null(getcwd(cwd, sizeof(cwd)));
	for (line = strtok_r(src, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char out[600];
		double v;

		for (int i = 0; i < 7; i++)
			seen[i] += !strncmp(line, want[i], strlen(want[i]));
		if (!strncmp(line, "guest = ", 8))
			snprintf(out, sizeof(out), "guest = %s", guest);
		else if (!strncmp(line, "cmdline = ms=", 13))
			snprintf(out, sizeof(out), "cmdline = ms=%d", atoi(line + 13) / 10);
		else if (sscanf(line, "duration_s = %lf", &v) == 1)
			snprintf(out, sizeof(out), "duration_s = %g", v / 10);
		else if (sscanf(line, "at_s = %lf", &v) == 1)
			snprintf(out, sizeof(out), "at_s = %g", v / 10);
		else if (!strncmp(line, "profile = policies/", 19))
			snprintf(out, sizeof(out), "profile = %s/%s", cwd, line + 10);
		else if (!strncmp(line, "trace = ", 8))
			snprintf(out, sizeof(out), "trace = %s/cn.jsonl", dir);
		else if (!strncmp(line, "summary = ", 10))
			snprintf(out, sizeof(out), "summary = %s/out.txt", dir);
		else
			snprintf(out, sizeof(out), "%s", line);
		used += (size_t)snprintf(text + used, sizeof(text) - used, "%s\n", out);
		cr_assert_lt(used, sizeof(text));
	}
	for (int i = 0; i < 7; i++)
		cr_assert_eq(seen[i], 1, "the shipped file has no single '%s' line any more", want[i]);
	free(src);
	return exp_write("cn.ini", text);
}

static unsigned long long field(const char *rec, const char *key)
{
	const char *p = strstr(rec, key);

	cr_assert_not_null(p, "no %s in %.300s", key, rec);
	return strtoull(p + strlen(key), NULL, 10);
}

Test(experiment_place, coremap_noise_static_phases_are_pinned_from_the_start, .fini = fini,
     .timeout = 60)
{
	char guest[512], path[600], *trace, *line, *save;
	unsigned long long placed_ns = 0, switch_ns = 0;
	int rc, samples_before_switch = 0, decisions = 0;
	const char *dir;
	cpu_set_t set;

	exp_need_kvm_guest(guest, sizeof(guest));
	cr_assert_eq(sched_getaffinity(0, sizeof(set), &set), 0);
	if (!CPU_ISSET(1, &set))
		cr_skip_test("the experiment pins to CPU 1, which this test may not use");
	dir = exp_tmpdir();
	rc = exp_run(err, sizeof(err), "--quiet", scaled(guest, dir), NULL);
	cr_assert_eq(rc, 0, "exit %d:\n%s", rc, err);
	snprintf(path, sizeof(path), "%s/cn-coremap-noise-static.jsonl", dir);
	trace = exp_slurp(path);
	cr_assert_not_null(trace, "no trace %s", path);
	for (line = strtok_r(trace, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		bool sample = strstr(line, "\"type\":\"sample\"") != NULL;

		if (!sample && strstr(line, "\"type\":\"decision\"") && decisions++ == 0) {
			/* the first decision: the profile's pin, applied */
			cr_assert(strstr(line, "\"kind\":\"coremap\"") &&
				  strstr(line, "initial placement: vcpu0->cpu1\""), "%s", line);
			cr_assert_gt(field(line, "\"apply_ns\":"), 0, "not applied: %s", line);
			placed_ns = field(line, "\"t_ns\":");
		}
		if (!sample && strstr(line, "\"kind\":\"profile\"") && !switch_ns)
			switch_ns = field(line, "\"t_ns\":");
		/* the runner's sample before the start (opens the stats fds) */
		if (!sample || strstr(line, "vCPU threads not started yet"))
			continue;
		cr_assert_gt(placed_ns, 0, "a sample before the placement: %.300s", line);
		cr_assert_leq(placed_ns, field(line, "\"t_ns\":"));
		if (switch_ns)
			continue;
		/* static phases: the vCPU on CPU 1 (the hog's, from 0.8 s) */
		samples_before_switch++;
		cr_assert_eq(field(line, "\"pcpu\":"), 1, "static phase sample off CPU 1: %.400s", line);
	}
	cr_assert_gt(placed_ns, 0, "no initial placement in the trace");
	cr_assert_gt(switch_ns, 0, "no switch to the adaptive profile in the trace");
	cr_assert_geq(samples_before_switch, 1);
	free(trace);
}
