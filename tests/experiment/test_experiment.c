/*
 * avmm experiment on real KVM: a short compute-guest run with a host load
 * phase, a compare of static and balanced, SIGINT in the middle of a run,
 * --check on good and bad files, and the host-load threads themselves.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adapt/experiment_int.h"
#include "common/util.h"
#include "helpers.h"

/* A joined thread can linger in /proc/self/task for a moment after its exit. */
static int threads_settled(int want)
{
	int n = exp_nr_threads();

	for (int i = 0; i < 100 && n != want; i++) {
		util_sleep_ns(10000000);
		n = exp_nr_threads();
	}
	return n;
}

static char err[16384];

static void fini(void)
{
	exp_cleanup();
}

static double num(const char *csv, const char *profile, const char *phase, const char *col)
{
	char v[64];

	cr_assert(exp_csv_field(csv, profile, phase, col, v, sizeof(v)),
		  "no %s for %s/%s in:\n%s", col, profile ? profile : "*", phase, csv);
	cr_assert(v[0], "%s of %s/%s is empty in:\n%s", col, profile ? profile : "*", phase, csv);
	return strtod(v, NULL);
}

Test(experiment, phases_with_host_load, .fini = fini, .timeout = 60)
{
	char guest[512], text[2048], v[64], csvpath[600];
	const char *ini, *dir;
	int threads_before = exp_nr_threads(), rc;
	char *csv;

	exp_need_kvm_guest(guest, sizeof(guest));
	dir = exp_tmpdir();
	exp_write("fast.ini", "[main]\ninclude = static\n[goal]\nperiod_ms = 200\n");
	snprintf(text, sizeof(text),
		 "[experiment]\nname = t1\nguest = %s\ncmdline = ms=2000\nmemory = 32M\n"
		 "profile = %s/fast.ini\nduration_s = 2.6\n"
		 "[output]\nsummary = %s/out.csv\nformat = csv\ntrace = %s/trace.jsonl\n"
		 "[phase.1]\nat_s = 0.7\nhost_load = start\nhost_load_kind = cpu\n"
		 "host_load_threads = 1\nhost_load_cpus = %d\n"
		 "[phase.2]\nat_s = 1.4\nhost_load = stop\n",
		 guest, dir, dir, dir, exp_first_cpu());
	ini = exp_write("t1.ini", text);
	rc = exp_run(err, sizeof(err), "--quiet", ini, NULL);
	cr_assert_eq(rc, 0, "exit %d:\n%s", rc, err);
	snprintf(csvpath, sizeof(csvpath), "%s/out.csv", dir);
	csv = exp_slurp(csvpath);
	cr_assert_not_null(csv, "no summary at %s", csvpath);
	/* a row per phase plus the whole run, with sane figures */
	cr_assert_float_eq(num(csv, "fast", "start", "secs"), 0.7, 0.15);
	cr_assert_float_eq(num(csv, "fast", "phase.1", "secs"), 0.7, 0.15);
	cr_assert_gt(num(csv, "fast", "phase.2", "secs"), 0.1);
	cr_assert_geq(num(csv, "fast", "phase.1", "samples"), 2);
	cr_assert_geq(num(csv, "fast", "all", "samples"), 6);
	for (const char *const *ph = (const char *const[]){ "start", "phase.1", "all", NULL }; *ph; ph++) {
		double cpu = num(csv, "fast", *ph, "guest_cpu_pct");
		double delay = num(csv, "fast", *ph, "run_delay_pct");

		cr_assert(cpu > 0 && cpu <= 110, "%s: guest CPU %.1f%%", *ph, cpu);
		cr_assert(delay >= 0 && delay <= 110, "%s: run delay %.1f%%", *ph, delay);
		cr_assert_geq(num(csv, "fast", *ph, "exits_per_s"), 0);
	}
	/* energy: RAPL or the labelled estimate, never a silent zero */
	cr_assert(exp_csv_field(csv, "fast", "all", "energy_estimated", v, sizeof(v)));
	if (v[0])
		cr_assert_gt(num(csv, "fast", "all", "energy_j"), 0);
	cr_assert(exp_csv_field(csv, "fast", "all", "throughput_key", v, sizeof(v)));
	cr_assert_str_eq(v, "ops_per_s");
	cr_assert_gt(num(csv, "fast", "all", "throughput"), 0);
	cr_assert(exp_csv_field(csv, "fast", "all", "guest_end", v, sizeof(v)));
	cr_assert_str_eq(v, "ok");
	free(csv);
	/* the trace got the profile name before its extension */
	snprintf(text, sizeof(text), "%s/trace-fast.jsonl", dir);
	cr_assert_eq(access(text, R_OK), 0, "no trace %s", text);
	unlink(text);
	/* the load threads (and every other) are gone */
	cr_assert_eq(threads_settled(threads_before), threads_before);
}

Test(experiment, compare_static_balanced, .fini = fini, .timeout = 60)
{
	char guest[512], text[1024], path[600];
	const char *dir;
	char *out;
	int rc;

	exp_need_kvm_guest(guest, sizeof(guest));
	dir = exp_tmpdir();
	snprintf(text, sizeof(text),
		 "[experiment]\nguest = %s\ncmdline = ms=1800\nmemory = 32M\n"
		 "compare = static, balanced\nduration_s = 2.5\n"
		 "[output]\nsummary = %s/out.txt\n", guest, dir);
	rc = exp_run(err, sizeof(err), "--quiet", exp_write("cmp.ini", text), NULL);
	cr_assert_eq(rc, 0, "exit %d:\n%s", rc, err);
	snprintf(path, sizeof(path), "%s/out.txt", dir);
	out = exp_slurp(path);
	cr_assert_not_null(out);
	/* profiles side by side, the baseline first, the throughput ratio */
	cr_assert_not_null(strstr(out, "static"), "%s", out);
	cr_assert_not_null(strstr(out, "balanced"), "%s", out);
	cr_assert_lt(strstr(out, "static") - out, strstr(out, "balanced") - out);
	cr_assert_not_null(strstr(out, "throughput ops_per_s"), "%s", out);
	{
		const char *vs = strstr(out, "  vs static");
		double base, other;

		cr_assert_not_null(vs, "%s", out);
		cr_assert_eq(sscanf(vs, "  vs static %lf %lf", &base, &other), 2, "%s", vs);
		cr_assert_float_eq(base, 1.0, 1e-9);
		cr_assert(other > 0.2 && other < 5, "balanced/static = %.3f", other);
	}
	cr_assert_not_null(strstr(out, "guest CPU %"));
	cr_assert_not_null(strstr(out, "whole run"));
	free(out);
}

static pthread_t main_thread;

static void *interrupt_later(void *arg)
{
	sigset_t set;

	(void)arg;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	util_sleep_ns(1200000000ull);
	pthread_kill(main_thread, SIGINT);
	return NULL;
}

Test(experiment, sigint_stops_run_and_load, .fini = fini, .timeout = 60)
{
	char guest[512], text[1024], path[600], v[64];
	const char *dir;
	pthread_t th;
	uint64_t t0;
	char *csv;
	int before, rc;

	exp_need_kvm_guest(guest, sizeof(guest));
	dir = exp_tmpdir();
	exp_write("fast.ini", "[main]\ninclude = static\n[goal]\nperiod_ms = 200\n");
	snprintf(text, sizeof(text),
		 "[experiment]\nguest = %s\ncmdline = ms=20000\nmemory = 32M\n"
		 "compare = %s/fast.ini, balanced\nduration_s = 20\n"
		 "[output]\nsummary = %s/out.csv\nformat = csv\n"
		 "[phase.1]\nat_s = 0.5\nhost_load = start\nhost_load_kind = memory\n",
		 guest, dir, dir);
	before = exp_nr_threads();
	main_thread = pthread_self();
	pthread_create(&th, NULL, interrupt_later, NULL);
	t0 = util_now_ns();
	rc = exp_run(err, sizeof(err), "--quiet", exp_write("int.ini", text), NULL);
	pthread_join(th, NULL);
	cr_assert_eq(rc, 128 + SIGINT, "exit %d:\n%s", rc, err);
	cr_assert_lt(util_now_ns() - t0, 8000000000ull, "the run did not stop soon after SIGINT");
	cr_assert_eq(threads_settled(before), before, "threads left behind");
	snprintf(path, sizeof(path), "%s/out.csv", dir);
	csv = exp_slurp(path);
	cr_assert_not_null(csv, "no summary after SIGINT");
	cr_assert(exp_csv_field(csv, "fast", "start", "interrupted", v, sizeof(v)), "%s", csv);
	cr_assert_str_eq(v, "yes");
	cr_assert(exp_csv_field(csv, "fast", "phase.1", "guest_end", v, sizeof(v)), "%s", csv);
	cr_assert_str_eq(v, "stopped by SIGINT");
	/* the second profile never ran: no rows for it */
	cr_assert_not(exp_csv_field(csv, "balanced", "start", "secs", v, sizeof(v)));
	free(csv);
	/* the report is written too, and says it was interrupted */
	snprintf(path, sizeof(path), "%s/out.html", dir);
	csv = exp_slurp(path);
	cr_assert_not_null(csv, "no report after SIGINT");
	cr_assert_not_null(strstr(csv, "\"interrupted\":\"interrupted by SIGINT at "), "no interruption in the report");
	free(csv);
}

Test(experiment, check_bad_file_names_line, .fini = fini)
{
	const char *ini;
	char want[600];
	int rc;

	exp_tmpdir();
	ini = exp_write("bad.ini", "[experiment]\nguest = /nonexistent.elf\nvcpus = many\n"
				   "profile = static\nduration_s = 1\n");
	rc = exp_run(err, sizeof(err), "--check", ini, NULL);
	cr_assert_eq(rc, 2);
	snprintf(want, sizeof(want), "%s:3:", ini);
	cr_assert_not_null(strstr(err, want), "no '%s' in:\n%s", want, err);
	cr_assert_not_null(strstr(err, "vcpus"), "%s", err);

	/* a phase past the end, with its line */
	ini = exp_write("bad2.ini", "[experiment]\nguest = /bin/sh\nprofile = static\nduration_s = 1\n"
				    "[phase.1]\nat_s = 5\nhost_load = start\n");
	rc = exp_run(err, sizeof(err), "--check", ini, NULL);
	cr_assert_eq(rc, 2);
	snprintf(want, sizeof(want), "%s:6:", ini);
	cr_assert_not_null(strstr(err, want), "no '%s' in:\n%s", want, err);
}

Test(experiment, check_missing_guest_and_bad_cpu, .fini = fini)
{
	const char *ini;
	int rc;

	exp_tmpdir();
	ini = exp_write("g.ini", "[experiment]\nguest = /nonexistent/compute.elf\nprofile = static\nduration_s = 1\n");
	rc = exp_run(err, sizeof(err), "--check", ini, NULL);
	cr_assert_eq(rc, 2);
	cr_assert_not_null(strstr(err, "/nonexistent/compute.elf"), "%s", err);
	cr_assert_not_null(strstr(err, ini), "%s", err);

	ini = exp_write("c.ini", "[experiment]\nguest = /bin/sh\nprofile = static\nduration_s = 2\n"
				 "[phase.1]\nat_s = 1\nhost_load = start\nhost_load_cpus = 1023\n");
	rc = exp_run(err, sizeof(err), "--check", ini, NULL);
	cr_assert_eq(rc, 2);
	cr_assert_not_null(strstr(err, "CPU 1023"), "%s", err);
}

Test(experiment, check_prints_plan, .fini = fini)
{
	const char *ini;
	char out[600];
	char *plan;
	int rc, fd, saved;

	exp_tmpdir();
	ini = exp_write("ok.ini", "[experiment]\nname = plan\nguest = /bin/sh\ncompare = static, balanced\n"
				  "duration_s = 3\nrepeat = 2\n[phase.1]\nat_s = 1\nprofile = energy\n");
	snprintf(out, sizeof(out), "%s/plan.txt", exp_tmpdir());
	fflush(stdout);
	saved = dup(1);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 1);
	close(fd);
	rc = exp_run(err, sizeof(err), "--check", ini, NULL);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	cr_assert_eq(rc, 0, "%s", err);
	plan = exp_slurp(out);
	cr_assert_not_null(plan);
	cr_assert_not_null(strstr(plan, "static, balanced (x2 each)"), "%s", plan);
	cr_assert_not_null(strstr(plan, "profile -> energy"), "%s", plan);
	cr_assert_not_null(strstr(plan, "about 12 s"), "%s", plan);
	free(plan);
}

Test(experiment, profile_given_as_experiment, .fini = fini)
{
	const char *ini;

	exp_tmpdir();
	ini = exp_write("p.ini", "[main]\ninclude = static\n[goal]\nperiod_ms = 200\n");
	cr_assert_eq(exp_run(err, sizeof(err), "--check", ini, NULL), 2);
	cr_assert_not_null(strstr(err, "is a goal profile"), "%s", err);
	cr_assert_eq(exp_run(err, sizeof(err), NULL), 2);
}

Test(hostload, cpu_and_memory_threads_run_and_stop)
{
	struct adapt_hostload *hl = NULL;
	int cpu = exp_first_cpu(), before = exp_nr_threads();
	char e[256];

	cr_assert_eq(adapt_hostload_start(POL_LOADK_CPU, 2, &cpu, 1, &hl, e, sizeof(e)), 0, "%s", e);
	cr_assert_eq(exp_nr_threads(), before + 2);
	util_sleep_ns(100000000);
	cr_assert_gt(adapt_hostload_work(hl), 0);
	adapt_hostload_stop(hl);
	cr_assert_eq(threads_settled(before), before);

	hl = NULL;
	cr_assert_eq(adapt_hostload_start(POL_LOADK_MEMORY, 1, NULL, 0, &hl, e, sizeof(e)), 0, "%s", e);
	util_sleep_ns(400000000);
	cr_assert_gt(adapt_hostload_work(hl), 0, "no pass over the buffer in 400 ms");
	adapt_hostload_stop(hl);
	cr_assert_eq(threads_settled(before), before);
	adapt_hostload_stop(NULL);
}

Test(hostload, refuses_cpus_outside_the_set)
{
	struct adapt_hostload *hl = NULL;
	int bad[2] = { exp_first_cpu(), 1023 };
	char e[256] = "";

	cr_assert_eq(adapt_hostload_start(POL_LOADK_CPU, 1, bad, 2, &hl, e, sizeof(e)), -EINVAL);
	cr_assert_null(hl);
	cr_assert_not_null(strstr(e, "CPU 1023"), "%s", e);
	cr_assert_eq(adapt_hostload_start(POL_LOADK_CPU, 0, NULL, 0, &hl, e, sizeof(e)), -EINVAL);
}
