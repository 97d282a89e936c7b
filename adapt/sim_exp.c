/*
 * adapt: `avmm experiment --simulate MODEL [--workload FILE] [--seed N] FILE`.
 *
 * Runs the experiment's profiles x repeats in the simulator instead of on a
 * guest: the same phases (profile switch through the driver, host load as
 * simulated hogs) at the same virtual times, each simulated sample summed
 * into the same rows and time series by the real runner's code, then the
 * same summary and CSV (experiment_report.c), HTML report
 * (experiment_html.c) and traces (telemetry's trace writer: a sample line
 * per tick, a line per decision). The throughput column is the simulated
 * guest instructions per second (sim_instr_per_s).
 *
 * Nothing of it can pass for a measurement: each run's end says
 * "simulated (model M, seed N)", the report carries "simulated on M, seed
 * N" (c->simulated) in its title, a banner and its data, and every trace
 * record's run_id ends in "-simulated-M-seedN", a JSON-lines trace opening
 * with a {"type": "simulation", "note": ...} line. Trace times: t_ns is
 * virtual (from 1 s), wall_ns the wall clock at the run's start plus the
 * virtual time (the simulated timeline as if it had started then).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapt/experiment_int.h"
#include "adapt/sim.h"
#include "common/util.h"
#include "telemetry/tel.h"

/* One simulated run: the runner's run, and its trace. */
struct sim_run {
	struct exp_run run;
	struct tel_trace *trace;
	struct tel_sample *scratch;        /* the sample with its wall time */
	uint64_t wall0_ns;                 /* wall clock of virtual time 0 */
};

static uint64_t wall_of(const struct sim_run *sr, uint64_t t_ns)
{
	return sr->wall0_ns + (t_ns - adapt_sim_base_ns());
}

static void on_sample(void *arg, const struct tel_sample *s)
{
	struct sim_run *sr = arg;

	adapt_exp_account(&sr->run, s);
	if (!sr->trace || !sr->scratch)
		return;
	memcpy(sr->scratch, s, sizeof(*s));
	sr->scratch->wall_ns = wall_of(sr, s->t_ns);
	tel_trace_sample(sr->trace, sr->scratch, NULL, 0);
}

static void on_decision(void *arg, const struct tel_decision *d)
{
	struct sim_run *sr = arg;
	struct tel_decision td = *d;

	if (!sr->trace)
		return;
	if (!td.wall_ns)
		td.wall_ns = wall_of(sr, td.t_ns);
	tel_trace_decision(sr->trace, &td);
}

/* The run's trace (none when the file has no [output] trace), labelled. */
static void open_trace(struct sim_run *sr, const struct pol_profile *p, const char *model, uint64_t seed)
{
	const struct exp_ctx *c = sr->run.c;
	char path[POL_PATH_MAX + POL_NAME_MAX + 16], run_id[POL_NAME_MAX * 3 + 64];
	struct tel_config tc = { 0 };

	if (!c->x.trace[0])
		return;
	adapt_exp_trace_path(c, sr->run.r->profile, sr->run.rep, path, sizeof(path));
	snprintf(run_id, sizeof(run_id), "%s-%s-r%d-simulated-%s-seed%llu", c->x.name, sr->run.r->profile,
		 sr->run.rep + 1, model, (unsigned long long)seed);
	tc.run_id = run_id;
	tc.profile_name = p->name;
	tc.vm_name = c->x.name;
	sr->scratch = malloc(sizeof(*sr->scratch));
	if (!sr->scratch || tel_trace_open(path, &tc, c->x.vcpus, &sr->trace)) {
		util_warn("%s: no trace for the simulated %s run (see above)", c->x.path, sr->run.r->profile);
		return;
	}
	if (sr->run.series)
		snprintf(sr->run.series->trace, sizeof(sr->run.series->trace), "%s", path);
	tel_trace_note(sr->trace, "simulation", c->simulated);
	adapt_exp_progress(c, "  trace %s", path);
}

static int run_one(struct exp_ctx *c, int ri, int rep, const struct adapt_sim_model *m,
		   const struct adapt_sim_workload *w, uint64_t seed)
{
	const struct pol_experiment *x = &c->x;
	struct sim_run sr = { .run = { .c = c, .r = &c->res[ri], .rep = rep,
				       .lock = PTHREAD_MUTEX_INITIALIZER } };
	struct exp_run *run = &sr.run;
	struct pol_profile *p = malloc(sizeof(*p));
	struct adapt_sim_cfg cfg = { 0 };
	struct adapt_sim *s = NULL;
	uint64_t base = adapt_sim_base_ns();
	double instr, energy;
	char err[1024];
	int i, rc;

	run->series = adapt_exp_series_new(ri, rep);
	if (!p) {
		rc = -ENOMEM;
		goto out;
	}
	rc = pol_load(c->run_spec[ri], c->dirs, c->nr_dirs, p, err, sizeof(err));
	if (rc) {
		util_err("%s: profile %s: %s", x->path, c->run_spec[ri], err);
		goto out;
	}
	cfg = (struct adapt_sim_cfg){ .model = m, .work = w, .profile = p, .nr_vcpus = x->vcpus,
		.mem_bytes = x->mem_bytes, .seed = seed + (uint64_t)rep, .dry_run = c->dry_run,
		.on_sample = on_sample, .on_decision = on_decision, .arg = &sr };
	run->t0 = run->row_start[0] = base;
	adapt_exp_progress(c, "%s: profile %s, simulated run %d/%d on %s", x->name, run->r->profile, rep + 1,
			   x->repeat, m->name);
	sr.wall0_ns = (uint64_t)adapt_exp_wall_ms() * 1000000ull;
	if (run->series)
		run->series->start_unix_ms = (int64_t)(sr.wall0_ns / 1000000ull);
	open_trace(&sr, p, m->name, cfg.seed);
	rc = adapt_sim_create(&cfg, &s, err, sizeof(err));
	if (rc) {
		util_err("%s: %s", x->path, err);
		snprintf(run->r->end, sizeof(run->r->end), "did not start: %.100s", err);
		run->r->failed = true;
		goto out;
	}
	for (i = 0; i < x->nr_phases && x->phase[i].at_ns < x->duration_ns; i++) {
		const struct pol_exp_phase *ph = &x->phase[i];

		adapt_sim_run_until(s, ph->at_ns);
		run->cur = i + 1;
		run->row_start[run->cur] = base + ph->at_ns;
		if (ph->profile[0]) {
			adapt_sim_set_profile(s, &c->phase_prof[i]);
			if (sr.trace)
				tel_trace_set_profile(sr.trace, c->phase_prof[i].name);
		}
		if (ph->load == POL_LOAD_START)
			adapt_sim_load_start(s, ph->load_kind == POL_LOADK_MEMORY, ph->load_threads,
					     ph->load_cpus, ph->nr_load_cpus);
		else if (ph->load == POL_LOAD_STOP)
			adapt_sim_load_stop(s);
	}
	adapt_sim_run_until(s, x->duration_ns);
	adapt_exp_finish_rows(run, base + x->duration_ns);
	adapt_exp_count_decisions(run, adapt_sim_driver(s));
	adapt_sim_totals(s, &instr, &energy);
	snprintf(run->r->tput_key, sizeof(run->r->tput_key), "sim_instr_per_s");
	run->r->tput_sum += instr / ((double)x->duration_ns / 1e9);
	run->r->tput_n++;
	snprintf(run->r->end, sizeof(run->r->end), "simulated (model %.40s, seed %llu)", m->name,
		 (unsigned long long)cfg.seed);
	run->r->reps_done++;
out:
	adapt_sim_destroy(s);
	tel_trace_close(sr.trace);
	free(sr.scratch);
	adapt_exp_series_keep(c, run->series);   /* a failed run: listed without points */
	free(p);
	return rc;
}

int adapt_sim_experiment(struct exp_ctx *c, const char *model, const char *workload, uint64_t seed)
{
	struct adapt_sim_model *m = malloc(sizeof(*m));
	struct adapt_sim_workload *w = malloc(sizeof(*w));
	char err[1024], why[160], report[POL_PATH_MAX + 16];
	int i, rep, failed = 0, rc;

	if (!m || !w) {
		free(m);
		free(w);
		util_err("out of memory");
		return 1;
	}
	rc = adapt_sim_model_load(model, m, err, sizeof(err));
	if (!rc && workload)
		rc = adapt_sim_workload_load(workload, w, err, sizeof(err));
	if (rc) {
		util_err("%s", err);
		free(m);
		free(w);
		return 2;
	}
	if (!workload) {
		adapt_sim_workload_for_guest(c->x.guest, w, why, sizeof(why));
		adapt_exp_progress(c, "%s: simulated workload %s", c->x.name, why);
	}
	snprintf(c->simulated, sizeof(c->simulated), "simulated on %.60s, seed %llu%s%.60s", m->name,
		 (unsigned long long)seed, workload ? ", workload " : "", workload ? workload : "");
	c->start_unix_ms = adapt_exp_wall_ms();
	for (i = 0; i < c->nr_runs; i++)
		for (rep = 0; rep < c->x.repeat; rep++)
			failed += run_one(c, i, rep, m, w, seed) < 0;
	if (adapt_exp_write_summary(c))
		failed++;
	adapt_exp_report_path(c, report, sizeof(report));
	if (report[0] && adapt_exp_write_report(c, report))
		failed++;
	adapt_exp_print_files(c, report);
	free(m);
	free(w);
	return failed ? 1 : 0;
}
