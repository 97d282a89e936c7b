/* adapt: one simulated VM under the real control loop: the adapt driver
 * (ticked on the calling thread at the period it asks for) with the
 * simulated actuators of sim_act.c, the timeline. */
#include "adapt/place.h"
#include "adapt/sim_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


uint64_t adapt_sim_base_ns(void) { return SIM_BASE_NS; }
uint64_t adapt_sim_now_ns(const struct adapt_sim *s) { return s->e.now_ns; }
struct adapt_driver *adapt_sim_driver(struct adapt_sim *s) { return s->d; }

void adapt_sim_totals(const struct adapt_sim *s, double *instr, double *energy_j)
{
	*instr = s->e.instr_total;
	*energy_j = s->e.energy_j;
}

static int sample(void *arg, const struct tel_sample **out)
{
	struct adapt_sim *s = arg;
	int i;

	sim_sample_fill(&s->e, s->seq++, s->have_prev ? &s->prev : NULL, &s->cur);
	s->prev = s->cur;
	s->have_prev = true;
	for (i = 0; i < s->e.nr_pus; i++)
		if (s->e.pu_os[i] >= 0 && s->e.pu_os[i] < SIM_MAX_PUS)
			s->busy_pct[s->e.pu_os[i]] = 100 * s->e.pu_busy[i];
	*out = &s->cur;
	if (s->cfg.on_sample)
		s->cfg.on_sample(s->cfg.arg, &s->cur);
	return 0;
}

int adapt_sim_create(const struct adapt_sim_cfg *cfg, struct adapt_sim **out, char *err, size_t err_len)
{
	struct adapt_sim *s = calloc(1, sizeof(*s));
	struct adapt_driver_cfg dc = { 0 };
	const struct tel_sample *first;
	char note[256];
	int rc;

	if (!s)
		return -ENOMEM;
	s->cfg = *cfg;
	s->model = *cfg->model;
	s->work = *cfg->work;
	s->profile = *cfg->profile;
	rc = sim_engine_init(&s->e, &s->model, &s->work, cfg->nr_vcpus, cfg->mem_bytes, cfg->seed, err, err_len);
	if (rc) {
		free(s);
		return rc;
	}
	/* a real session samples guest RAM by node only when its first
	 * profile has bankmap on (adapt_session_bankmap_init) */
	s->e.bankmap_sampled = s->profile.enabled[POL_AD_BANKMAP];
	s->e.mode = s->work.paging_mode != ADAPT_PG_UNKNOWN ? s->work.paging_mode : s->model.paging_mode;
	sim_bankmap_topo(&s->e, &s->bt);
	dc.profile = &s->profile;
	dc.sample = sample;
	dc.sample_arg = s;
	dc.dry_run = cfg->dry_run;
	if (cfg->on_decision) {
		dc.publish = cfg->on_decision;
		dc.publish_arg = cfg->arg;
	}
	adapt_env_init(&dc.env);
	dc.env.topo = s->e.topo;
	dc.env.pu_busy_pct = s->busy_pct;
	dc.env.nr_pu_busy = SIM_MAX_PUS;
	dc.env.paging_mode = s->e.mode;
	dc.env.paging_live_switch = s->model.live_mode_switch;
	dc.env.paging_collapse = true;
	dc.env.paging_nested_available = s->model.nested_available;
	dc.env.paging_exit_cost_ns = s->model.shadow_exit_ns;
	dc.env.bm_topo = &s->bt;
	rc = adapt_driver_create(&dc, &s->d);
	if (!rc)
		rc = sim_register_actuators(s);
	if (rc) {
		snprintf(err, err_len, "the control loop could not be set up: %s", strerror(-rc));
		adapt_sim_destroy(s);
		return rc;
	}
	/* the first sample: the baseline every rate starts from */
	sample(s, &first);
	if (adapt_place_is_fixed(&s->profile) &&
	    adapt_driver_place(s->d, cfg->nr_vcpus, SIM_BASE_NS, "initial placement") < 0) {
		snprintf(err, err_len, "the profile's placement does not fit the model %s", s->model.name);
		(void)note;
		adapt_sim_destroy(s);
		return -EINVAL;
	}
	sim_engine_advance(&s->e, 1000);   /* floating vCPUs find their first CPU */
	sim_initial_memory(s);
	s->next_tick_ns = s->profile.period_ns ? s->profile.period_ns : 1000000000ull;
	*out = s;
	return 0;
}

void adapt_sim_destroy(struct adapt_sim *s)
{
	if (!s)
		return;
	adapt_driver_destroy(s->d);
	sim_engine_free(&s->e);
	free(s);
}

int adapt_sim_run_until(struct adapt_sim *s, uint64_t t_ns)
{
	while (s->e.now_ns < t_ns) {
		uint64_t to = s->next_tick_ns < t_ns ? s->next_tick_ns : t_ns;
		struct adapt_driver_stats st;

		sim_engine_advance(&s->e, to - s->e.now_ns);
		if (s->e.now_ns < s->next_tick_ns)
			continue;
		adapt_driver_tick(s->d);
		adapt_driver_stats(s->d, &st);
		s->next_tick_ns += st.period_ns ? st.period_ns : s->profile.period_ns ? s->profile.period_ns : 1000000000ull;
	}
	return 0;
}

int adapt_sim_load_start(struct adapt_sim *s, int kind, int threads, const int *cpus, int nr_cpus)
{
	struct adapt_sim_noise *x = &s->e.xload;
	int i;

	memset(x, 0, sizeof(*x));
	x->kind = kind;
	x->threads = threads < 1 ? 1 : threads > 8 ? 8 : threads;
	for (i = 0; cpus && i < nr_cpus && i < 8; i++)
		x->cpus[x->nr_cpus++] = cpus[i];
	s->e.xload_on = true;
	return 0;
}

void adapt_sim_load_stop(struct adapt_sim *s)
{
	s->e.xload_on = false;
}

int adapt_sim_set_profile(struct adapt_sim *s, const struct pol_profile *p)
{
	s->profile = *p;
	return adapt_driver_set_profile(s->d, p);
}
