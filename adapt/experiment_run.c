/*
 * adapt: `avmm experiment [--check] [--dry-run] [--quiet] FILE`.
 *
 * Runs an experiment file (policies/pol.h) once per profile (the compare
 * list or the single profile) and per repeat: a session (adapt/session.h)
 * per run, with its timeline (experiment_timeline.c) on the calling thread
 * and its telemetry summed per phase (experiment_metrics.c), then the
 * summary (experiment_report.c). SIGINT/SIGTERM stay blocked while it runs:
 * the run in progress is stopped, host loads are stopped, and what was
 * measured so far is printed.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adapt/adapt.h"
#include "adapt/experiment_int.h"
#include "adapt/session.h"
#include "adapt/sim.h"
#include "common/sandbox.h"
#include "common/util.h"

void adapt_exp_progress(const struct exp_ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->quiet)
		return;
	if (c->tty)
		fputs("\r\033[K", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void adapt_exp_trace_path(const struct exp_ctx *c, const char *profile, int rep, char *out, size_t len)
{
	const char *t = c->x.trace, *slash = strrchr(t, '/'), *dot = strrchr(t, '.');
	char suffix[POL_NAME_MAX + 16];

	if (!dot || (slash && dot < slash))
		dot = t + strlen(t);
	if (c->x.repeat > 1)
		snprintf(suffix, sizeof(suffix), "-%s-r%d", profile, rep + 1);
	else
		snprintf(suffix, sizeof(suffix), "-%s", profile);
	snprintf(out, len, "%.*s%s%s", (int)(dot - t), t, suffix, dot);
}

static void note_end(struct exp_result *r, const struct vmm_result *res, const char *stopped_why)
{
	if (res->end == VMM_END_STOPPED)
		snprintf(r->end, sizeof(r->end), "%s", stopped_why);
	else if (vmm_result_success(res->end, res->exit_status))
		snprintf(r->end, sizeof(r->end), "ok");
	else {
		snprintf(r->end, sizeof(r->end), "%s, status %d: %.80s", vmm_end_name(res->end),
			 res->exit_status, res->why);
		if (res->end == VMM_END_ERROR || res->end == VMM_END_SHUTDOWN ||
		    res->end == VMM_END_DEBUG_EXIT)
			r->failed = true;
	}
}

/* The run's console file (a fresh temporary) and its session, not started. */
static int open_run(struct exp_run *run, int ri, char *console, size_t console_len)
{
	struct exp_ctx *c = run->c;
	const struct pol_experiment *x = &c->x;
	struct adapt_session_cfg cfg = { 0 };
	char trace[POL_PATH_MAX + POL_NAME_MAX + 16], run_id[POL_NAME_MAX * 2 + 40];
	const char *tmp = getenv("TMPDIR");
	int fd, rc;

	snprintf(console, console_len, "%s/avmm-exp-console-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	fd = mkstemp(console);
	if (fd < 0) {
		rc = -errno;
		util_err("cannot create a console file %s: %s; set TMPDIR to a writable folder", console, strerror(-rc));
		return rc;
	}
	close(fd);
	snprintf(run_id, sizeof(run_id), "%s-%s-r%d-%d", x->name, run->r->profile, run->rep + 1, (int)getpid());
	cfg.vm.vcpus = x->vcpus;
	cfg.vm.mem_bytes = x->mem_bytes;
	cfg.vm.console_path = console;
	cfg.vm.guest_path = x->guest;
	cfg.vm.cmdline = x->cmdline[0] ? x->cmdline : NULL;
	cfg.profile = c->run_spec[ri];
	cfg.name = x->name;
	cfg.socket_path = "";
	cfg.run_id = run_id;
	cfg.dry_run = c->dry_run;
	cfg.no_agent = true; /* each run is driven by the profile it compares, never an agent */
	cfg.every_tick = true; /* its phases are measured from every period's sample */
	if (x->trace[0]) {
		adapt_exp_trace_path(c, run->r->profile, run->rep, trace, sizeof(trace));
		cfg.traces[cfg.nr_traces++] = trace;
		if (run->series)
			snprintf(run->series->trace, sizeof(run->series->trace), "%s", trace);
	}
	adapt_exp_progress(c, "%s: profile %s, run %d/%d", x->name, run->r->profile, run->rep + 1, x->repeat);
	if (x->trace[0])
		adapt_exp_progress(c, "  trace %s", trace);
	rc = adapt_session_open(&cfg, &run->s);
	if (rc) {
		util_err("%s: the %s run could not start (%s); see the messages above", x->path,
			 run->r->profile, strerror(-rc));
		snprintf(run->r->end, sizeof(run->r->end), "did not start: %s", strerror(-rc));
		run->r->failed = true;
		unlink(console);
	}
	return rc;
}

/* 0, 1 when interrupted, <0 when the run could not be done. */
static int run_one(struct exp_ctx *c, int ri, int rep)
{
	struct exp_run run = { .c = c, .r = &c->res[ri], .rep = rep, .lock = PTHREAD_MUTEX_INITIALIZER };
	struct vmm_result res = { 0 };
	char console[POL_PATH_MAX], why[32];
	bool collecting = false;
	int rc, trc;

	run.series = adapt_exp_series_new(ri, rep);
	if (!run.series)
		util_warn("out of memory for the %s run's time series: the report has no charts for it",
			  run.r->profile);
	rc = open_run(&run, ri, console, sizeof(console));
	if (rc) {
		adapt_exp_series_keep(c, run.series);   /* listed as a run without points */
		return rc;
	}
	/* One sample before the vCPUs run: telemetry opens each vCPU's KVM
	 * stats fd on its first sample, and that ioctl waits for the vCPU to
	 * leave KVM_RUN, which a compute guest hardly ever does. */
	tel_sample(adapt_session_tel(run.s), NULL);
	rc = adapt_session_start(run.s);
	run.t0 = util_now_ns();
	run.row_start[0] = run.t0;
	if (run.series)
		run.series->start_unix_ms = adapt_exp_wall_ms();
	if (rc) {
		util_err("%s: the %s run could not start the guest (%s)", c->x.path, run.r->profile, strerror(-rc));
		adapt_session_stop(run.s);
		trc = rc;
	} else {
		collecting = adapt_exp_collect_start(&run);
		if (!collecting)
			util_warn("no collector thread: the summary will have no samples for this run");
		trc = adapt_exp_timeline(&run);
		if (trc || !vmm_ended(adapt_session_vmm(run.s)))
			adapt_session_stop(run.s);
	}
	adapt_session_wait(run.s, &res);
	adapt_hostload_stop(run.load);
	run.load = NULL;
	adapt_exp_collect_end(&run, collecting);
	adapt_session_close(run.s);
	snprintf(why, sizeof(why), "stopped by %s", adapt_exp_signal_name(c->signo));
	note_end(run.r, &res, trc == 1 ? why : rc || trc ? "stopped after an error" : "stopped at duration");
	if (rc)
		run.r->failed = true;
	adapt_exp_read_throughput(run.r, console);
	unlink(console);
	run.r->reps_done++;
	adapt_exp_series_keep(c, run.series);
	return trc;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: avmm experiment [--check] [--dry-run] [--quiet] [--seccomp MODE]\n"
		   "                       [--simulate MODEL [--workload FILE] [--seed N]] FILE\n\n"
		   "Runs what the experiment file describes (policies/experiments/ has examples)\n"
		   "once per profile in its compare list and per repeat, applies each phase at\n"
		   "its time, and prints the goal metrics per phase, profiles side by side.\n"
		   "Beside the summary it writes a self-contained HTML report (charts of every\n"
		   "metric per phase and profile; [output] report = PATH or none) and lists\n"
		   "the files written (summary, report, a trace per profile and repeat).\n\n"
		   "  --check    validate the file (profiles, guest, host-load CPUs), print the plan\n"
		   "  --dry-run  the control loop decides and logs but changes nothing\n"
		   "  --quiet    no progress on stderr\n"
		   "  --seccomp MODE  the VMs' thread filters as in avmm run: kill (default),\n"
		   "             log or off\n"
		   "  --simulate MODEL  run it in the policy simulator on the machine model\n"
		   "             MODEL (policies/models/), with the real control loop; the\n"
		   "             same summary, report and traces, labelled simulated\n"
		   "  --workload FILE   the simulated workload (default: from the guest's name)\n"
		   "  --seed N   the simulator's seed (default 1)\n"
		   "  -h, --help this help\n\n"
		   "exit status: 0 done, 1 a run failed, 2 bad arguments or file,\n"
		   "130/143 stopped by SIGINT/SIGTERM (the summary shows what was measured).\n");
}

/* Where everything went: the summary, the report, each run's trace. */
void adapt_exp_print_files(const struct exp_ctx *c, const char *report)
{
	const struct exp_series *se;

	adapt_exp_progress(c, "files written:");
	if (strcmp(c->x.summary, "-"))
		adapt_exp_progress(c, "  summary  %s", c->x.summary);
	if (report[0] && !access(report, F_OK))
		adapt_exp_progress(c, "  report   %s", report);
	for (se = c->series; se; se = se->next)
		if (se->trace[0] && !access(se->trace, F_OK))
			adapt_exp_progress(c, "  trace    %s (%s, run %d)", se->trace, c->res[se->result].profile,
					   se->rep + 1);
}

static int run_all(struct exp_ctx *c)
{
	char report[POL_PATH_MAX + 16];
	sigset_t old;
	int i, rep, failed = 0, sig;

	c->start_unix_ms = adapt_exp_wall_ms();
	adapt_exp_signals_block(c, &old);
	for (i = 0; i < c->nr_runs && !c->signo; i++) {
		for (rep = 0; rep < c->x.repeat && !c->signo; rep++) {
			if (run_one(c, i, rep) < 0)
				failed++;
			sig = adapt_exp_signal_pending(c);
			if (sig && !c->signo) {
				c->signo = sig;
				snprintf(c->interrupted, sizeof(c->interrupted), "interrupted by %s after the %s run %d",
					 adapt_exp_signal_name(sig), c->res[i].profile, rep + 1);
			}
		}
	}
	adapt_exp_signals_restore(c, &old);
	for (i = 0; i < c->nr_runs; i++)
		failed += c->res[i].failed;
	if (adapt_exp_write_summary(c))
		failed++;
	adapt_exp_report_path(c, report, sizeof(report));
	if (report[0] && adapt_exp_write_report(c, report))
		failed++;
	adapt_exp_print_files(c, report);
	if (c->signo)
		return 128 + c->signo;
	return failed ? 1 : 0;
}

int adapt_cli_experiment(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "check", no_argument, NULL, 'c' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "seccomp", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ "simulate", required_argument, NULL, 'M' },
		{ "workload", required_argument, NULL, 'W' },
		{ "seed", required_argument, NULL, 'E' },
		{ 0 },
	};
	struct exp_ctx *c;
	const char *model = NULL, *workload = NULL;
	unsigned long long seed = 1;
	bool check = false;
	int o, rc;

	c = calloc(1, sizeof(*c));
	if (!c) {
		util_err("out of memory");
		return 1;
	}
	optind = 0; /* full rescan: the CLI may be called more than once (tests) */
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'c': check = true; break;
		case 'n': c->dry_run = true; break;
		case 'q': c->quiet = true; break;
		case 'S':
			if (util_sandbox_set_mode_arg(optarg)) {
				free(c);
				return 2;
			}
			break;
		case 'M': model = optarg; c->simulate = true; break;
		case 'W': workload = optarg; break;
		case 'E': seed = strtoull(optarg, NULL, 0); break;
		case 'h': usage(stdout); free(c); return 0;
		default: usage(stderr); free(c); return 2;
		}
	}
	if (optind != argc - 1) {
		util_err("experiment: expected one FILE, got %d", argc - optind);
		usage(stderr);
		free(c);
		return 2;
	}
	c->tty = isatty(STDERR_FILENO);
	rc = adapt_exp_load(c, argv[optind]);
	if (rc) {
		free(c);
		return rc == -ENOMEM ? 1 : 2;
	}
	if (check) {
		adapt_exp_print_plan(stdout, c);
		free(c);
		return 0;
	}
	rc = model ? adapt_sim_experiment(c, model, workload, seed) : run_all(c);
	adapt_exp_series_free(c);
	free(c);
	return rc;
}
