/*
 * adapt: `avmm experiment --simulate MODEL [--workload FILE] [--seed N] FILE`.
 *
 * Runs the experiment's profiles x repeats in the simulator instead of on a
 * guest: the same phases (profile switch through the driver, host load as
 * simulated hogs) at the same virtual times, each simulated sample summed
 * into the same rows by the real runner's code, then the same summary and
 * CSV (experiment_report.c). The throughput column is the simulated guest
 * instructions per second (sim_instr_per_s); each run's end says "simulated".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapt/experiment_int.h"
#include "adapt/sim.h"
#include "common/util.h"

static void on_sample(void *arg, const struct tel_sample *s)
{
	adapt_exp_account(arg, s);
}

static int run_one(struct exp_ctx *c, int ri, int rep, const struct adapt_sim_model *m,
		   const struct adapt_sim_workload *w, uint64_t seed)
{
	const struct pol_experiment *x = &c->x;
	struct exp_run run = { .c = c, .r = &c->res[ri], .rep = rep, .lock = PTHREAD_MUTEX_INITIALIZER };
	struct pol_profile *p = malloc(sizeof(*p));
	struct adapt_sim_cfg cfg = { 0 };
	struct adapt_sim *s = NULL;
	uint64_t base = adapt_sim_base_ns();
	double instr, energy;
	char err[1024];
	int i, rc;

	if (!p)
		return -ENOMEM;
	rc = pol_load(c->run_spec[ri], c->dirs, c->nr_dirs, p, err, sizeof(err));
	if (rc) {
		util_err("%s: profile %s: %s", x->path, c->run_spec[ri], err);
		goto out;
	}
	cfg = (struct adapt_sim_cfg){ .model = m, .work = w, .profile = p, .nr_vcpus = x->vcpus,
		.mem_bytes = x->mem_bytes, .seed = seed + (uint64_t)rep, .dry_run = c->dry_run,
		.on_sample = on_sample, .arg = &run };
	run.t0 = run.row_start[0] = base;
	adapt_exp_progress(c, "%s: profile %s, simulated run %d/%d on %s", x->name, run.r->profile, rep + 1,
			   x->repeat, m->name);
	rc = adapt_sim_create(&cfg, &s, err, sizeof(err));
	if (rc) {
		util_err("%s: %s", x->path, err);
		snprintf(run.r->end, sizeof(run.r->end), "did not start: %.100s", err);
		run.r->failed = true;
		goto out;
	}
	for (i = 0; i < x->nr_phases && x->phase[i].at_ns < x->duration_ns; i++) {
		const struct pol_exp_phase *ph = &x->phase[i];

		adapt_sim_run_until(s, ph->at_ns);
		run.cur = i + 1;
		run.row_start[run.cur] = base + ph->at_ns;
		if (ph->profile[0])
			adapt_sim_set_profile(s, &c->phase_prof[i]);
		if (ph->load == POL_LOAD_START)
			adapt_sim_load_start(s, ph->load_kind == POL_LOADK_MEMORY, ph->load_threads,
					     ph->load_cpus, ph->nr_load_cpus);
		else if (ph->load == POL_LOAD_STOP)
			adapt_sim_load_stop(s);
	}
	adapt_sim_run_until(s, x->duration_ns);
	adapt_exp_finish_rows(&run, base + x->duration_ns);
	adapt_exp_count_decisions(&run, adapt_sim_driver(s));
	adapt_sim_totals(s, &instr, &energy);
	snprintf(run.r->tput_key, sizeof(run.r->tput_key), "sim_instr_per_s");
	run.r->tput_sum += instr / ((double)x->duration_ns / 1e9);
	run.r->tput_n++;
	snprintf(run.r->end, sizeof(run.r->end), "simulated (model %.40s, seed %llu)", m->name,
		 (unsigned long long)cfg.seed);
	run.r->reps_done++;
out:
	adapt_sim_destroy(s);
	free(p);
	return rc;
}

int adapt_sim_experiment(struct exp_ctx *c, const char *model, const char *workload, uint64_t seed)
{
	struct adapt_sim_model *m = malloc(sizeof(*m));
	struct adapt_sim_workload *w = malloc(sizeof(*w));
	char err[1024], why[160];
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
	for (i = 0; i < c->nr_runs; i++)
		for (rep = 0; rep < c->x.repeat; rep++)
			failed += run_one(c, i, rep, m, w, seed) < 0;
	if (adapt_exp_write_summary(c))
		failed++;
	free(m);
	free(w);
	return failed ? 1 : 0;
}
