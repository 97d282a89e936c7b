/* policies: experiment files, checks across keys and phases (after all
 * entries are read): what is missing, phase times, host-load pairing, and
 * that every named profile loads. */
#include "policies/pol_int.h"

#include <stdint.h>
#include <stdlib.h>

static void check_profile(struct pol_exp_ctx *c, const char *name, int line,
			  const char *const *dirs, int nr_dirs)
{
	struct pol_profile *p = malloc(sizeof(*p));
	char err[512];

	if (!p)
		return;
	if (pol_load(name, dirs, nr_dirs, p, err, sizeof(err)))
		pol_err(c->e, c->file, line, "profile '%s' does not load (%s); fix it or name another", name, err);
	free(p);
}

static int cmp_phase(const void *a, const void *b)
{
	const struct pol_exp_phase *x = a, *y = b;

	return x->at_ns < y->at_ns ? -1 : x->at_ns > y->at_ns;
}

void pol_exp_validate(struct pol_exp_ctx *c, const char *const *dirs, int nr_dirs)
{
	struct pol_experiment *x = c->x;
	bool load_on = false;
	int i;

	if (!x->guest[0])
		pol_err(c->e, c->file, 0, "no guest; add 'guest = PATH' to [experiment]");
	if (!x->duration_ns)
		pol_err(c->e, c->file, 0, "no duration; add 'duration_s = SECONDS' to [experiment]");
	if (!x->profile[0] && !x->nr_compare)
		pol_err(c->e, c->file, 0, "no profile; add 'profile = NAME' or 'compare = static, NAME, ...' to [experiment]");
	if (x->profile[0] && x->nr_compare)
		pol_err(c->e, c->file, c->line_of_compare,
			"both profile and compare are set; with compare each run starts under one listed profile: remove 'profile' (line %d)",
			c->line_of_profile);
	for (i = 0; i < x->nr_phases; i++) {
		struct pol_exp_phase *ph = &x->phase[i];

		if (ph->at_ns == UINT64_MAX)
			pol_err(c->e, c->file, ph->line, "[phase.%d] has no at_s; add 'at_s = SECONDS'", ph->index);
		else if (x->duration_ns && ph->at_ns >= x->duration_ns)
			pol_err(c->e, c->file, c->phase_line[i][0],
				"[phase.%d] at_s = %.3f is not before the end of the run (duration_s = %.3f); move it earlier or run longer",
				ph->index, (double)ph->at_ns / 1e9, (double)x->duration_ns / 1e9);
		if (!ph->profile[0] && ph->load == POL_LOAD_NONE)
			pol_err(c->e, c->file, ph->line, "[phase.%d] does nothing; add 'profile = NAME' or 'host_load = start|stop'", ph->index);
		if (dirs && ph->profile[0])
			check_profile(c, ph->profile, c->phase_line[i][1], dirs, nr_dirs);
	}
	if (dirs && x->profile[0])
		check_profile(c, x->profile, c->line_of_profile, dirs, nr_dirs);
	for (i = 0; dirs && i < x->nr_compare; i++)
		check_profile(c, x->compare[i], c->line_of_compare, dirs, nr_dirs);
	/* in time order: equal times, and host-load start/stop pairing */
	qsort(x->phase, (size_t)x->nr_phases, sizeof(x->phase[0]), cmp_phase);
	for (i = 0; i < x->nr_phases; i++) {
		struct pol_exp_phase *ph = &x->phase[i];

		if (ph->at_ns == UINT64_MAX)
			break;
		if (i && ph->at_ns == x->phase[i - 1].at_ns)
			pol_err(c->e, c->file, ph->line, "[phase.%d] starts at the same time as [phase.%d]; merge them",
				ph->index, x->phase[i - 1].index);
		if (ph->load == POL_LOAD_START && load_on)
			pol_err(c->e, c->file, ph->line, "[phase.%d] starts a host load that is already running; stop it in an earlier phase", ph->index);
		if (ph->load == POL_LOAD_STOP && !load_on)
			pol_err(c->e, c->file, ph->line, "[phase.%d] stops a host load that is not running; start it in an earlier phase", ph->index);
		if (ph->load == POL_LOAD_START)
			load_on = true;
		if (ph->load == POL_LOAD_STOP)
			load_on = false;
	}
}
