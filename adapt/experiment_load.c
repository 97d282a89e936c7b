/*
 * adapt: loading an `avmm experiment` file and the plan `--check` prints.
 *
 * Loads the experiment (policies/pol.h) and everything it names before any
 * run starts: the guest must be readable, every profile (compare list,
 * single profile, phases) must load, and every host-load CPU must be one
 * this process may run on. Each message names the file (and line) and the
 * fix.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adapt/experiment_int.h"
#include "common/util.h"

/* A goal profile given where an experiment file was expected. */
static bool is_profile(const char *file)
{
	bool exp = false, prof = false;
	char *line = NULL;
	size_t cap = 0;
	FILE *f = fopen(file, "r");

	if (!f)
		return false;
	while (getline(&line, &cap, f) > 0) {
		const char *p = line + strspn(line, " \t");

		exp |= !strncmp(p, "[experiment]", 12);
		prof |= !strncmp(p, "[main]", 6) || !strncmp(p, "[goal]", 6);
	}
	free(line);
	fclose(f);
	return prof && !exp;
}

/* The profiles: one run per compare entry (or the single profile), and
 * the ones the phases switch to; host-load CPUs. p is scratch. */
static int load_profiles(struct exp_ctx *c, const char *file, struct pol_profile *p)
{
	const struct pol_experiment *x = &c->x;
	char err[2048];
	int i;

	c->nr_runs = x->nr_compare ? x->nr_compare : 1;
	for (i = 0; i < c->nr_runs; i++) {
		snprintf(c->run_spec[i], sizeof(c->run_spec[i]), "%s", x->nr_compare ? x->compare[i] : x->profile);
		if (pol_load(c->run_spec[i], c->dirs, c->nr_dirs, p, err, sizeof(err))) {
			util_err("%s: profile %s: %s", file, c->run_spec[i], err);
			return -EINVAL;
		}
		snprintf(c->res[i].profile, sizeof(c->res[i].profile), "%s", p->name);
	}
	for (i = 0; i < x->nr_phases; i++) {
		const struct pol_exp_phase *ph = &x->phase[i];

		if (ph->profile[0] && pol_load(ph->profile, c->dirs, c->nr_dirs, &c->phase_prof[i], err, sizeof(err))) {
			util_err("%s:%d: [phase.%d] profile = %s: %s", file, ph->line, ph->index, ph->profile, err);
			return -EINVAL;
		}
		if (ph->load == POL_LOAD_START &&
		    adapt_hostload_check_cpus(ph->load_cpus, ph->nr_load_cpus, err, sizeof(err))) {
			util_err("%s:%d: [phase.%d] %s", file, ph->line, ph->index, err);
			return -EINVAL;
		}
	}
	return 0;
}

int adapt_exp_load(struct exp_ctx *c, const char *file)
{
	struct pol_experiment *x = &c->x;
	struct pol_profile *p = malloc(sizeof(*p));
	char err[2048];
	int rc;

	if (!p)
		return -ENOMEM;
	c->nr_dirs = pol_default_dirs(c->dirs, c->dir_storage);
	rc = pol_exp_load(file, c->dirs, c->nr_dirs, x, err, sizeof(err));
	if (rc && is_profile(file)) {
		util_err("%s is a goal profile (it has [main] or [goal] and no [experiment]); experiments "
			 "name it in profile, compare or a phase; check it with 'avmm policy check %s'", file, file);
		goto out;
	}
	if (rc) {
		fprintf(stderr, "%s", err);
		if (*err && err[strlen(err) - 1] != '\n')
			fputc('\n', stderr);
		goto out;
	}
	rc = -EINVAL;
	if (!c->simulate && access(x->guest, R_OK)) {
		util_err("%s: guest = %s: %s (relative paths resolve against the file's folder, then the "
			 "current folder); build the guests with 'make guests' or fix the path",
			 file, x->guest, strerror(errno));
		goto out;
	}
	rc = load_profiles(c, file, p);
out:
	free(p);
	return rc;
}

void adapt_exp_print_plan(FILE *f, const struct exp_ctx *c)
{
	const struct pol_experiment *x = &c->x;
	char what[256], report[POL_PATH_MAX + 16];
	int i;

	fprintf(f, "%s: valid\n", x->path);
	fprintf(f, "  name      %s\n  guest     %s '%s', %d vCPU%s, %llu MiB\n", x->name, x->guest,
		x->cmdline, x->vcpus, x->vcpus > 1 ? "s" : "", (unsigned long long)(x->mem_bytes >> 20));
	fprintf(f, "  runs     ");
	for (i = 0; i < c->nr_runs; i++)
		fprintf(f, "%s %s", i ? "," : "", c->res[i].profile);
	fprintf(f, " (x%d each), %.2f s each, about %.0f s in all\n", x->repeat,
		(double)x->duration_ns / 1e9, (double)x->duration_ns / 1e9 * c->nr_runs * x->repeat);
	fprintf(f, "  timeline  %7.2f s  start under the run's profile\n", 0.0);
	for (i = 0; i < x->nr_phases; i++) {
		adapt_exp_describe_phase(&x->phase[i], what, sizeof(what));
		fprintf(f, "            %7.2f s  [phase.%d] %s\n", (double)x->phase[i].at_ns / 1e9,
			x->phase[i].index, what);
	}
	fprintf(f, "            %7.2f s  stop the guest if it still runs\n", (double)x->duration_ns / 1e9);
	adapt_exp_report_path(c, report, sizeof(report));
	fprintf(f, "  output    trace %s, summary %s (%s), report %s\n", x->trace[0] ? x->trace : "none",
		strcmp(x->summary, "-") ? x->summary : "stdout", x->format == POL_FMT_CSV ? "csv" : "table",
		report[0] ? report : "none");
}
