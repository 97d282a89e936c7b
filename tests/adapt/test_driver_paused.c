/* The driver and a VM the operator paused: ticks while paused (or straddling
 * a pause or resume) sample but make no decision and no hold, and are
 * counted as paused_ticks; once running again the loop decides as before. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "replay.h"

struct pworld {
	int samples, applied;
	bool paused;
	uint64_t transitions;
};

static struct pworld pw;

static int p_sample(void *arg, const struct tel_sample **out)
{
	static struct tel_sample sample;
	struct tel_sample *s = &sample;
	struct pworld *x = arg;

	x->samples++;
	memset(s, 0, sizeof(*s));
	s->seq = (uint64_t)x->samples;
	s->t_ns = (uint64_t)x->samples * 1000000000ull;
	s->dt_ns = x->samples > 1 ? 1000000000ull : 0;
	s->nr_vcpus = 1;
	s->vcpu[0].cpu_pct = x->paused ? 0 : 90;   /* a paused vCPU looks idle/slow */
	*out = s;
	return 0;
}

static int p_apply(void *ctx, const struct adapt_change *c, char *msg, size_t len)
{
	struct pworld *x = ctx;

	x->applied++;
	snprintf(msg, len, "applied");
	return 0;
}

static bool p_paused(void *arg, uint64_t *transitions)
{
	struct pworld *x = arg;

	*transitions = x->transitions;
	return x->paused;
}

static int p_propose(const struct pol_profile *g, const struct adapt_env *env,
		     const struct adapt_state *st, const struct tel_sample *s, void *arg,
		     struct adapt_proposal *out)
{
	out->valid = true;
	out->change.u.paging.mode = ADAPT_PG_NESTED;
	out->perf_pct = 50;
	snprintf(out->what, sizeof(out->what), "paging shadow->nested");
	snprintf(out->why, sizeof(out->why), "test input");
	return 0;
}

static void set_paused(bool on)
{
	pw.paused = on;
	pw.transitions++;
}

Test(driver_paused, no_decision_no_hold_while_paused)
{
	struct adapt_actuator a = { .name = "fake-paging", .kind = ADAPT_PAGING,
				    .apply = p_apply, .ctx = &pw };
	struct adapt_driver_cfg cfg;
	struct adapt_driver_stats st;
	struct adapt_driver *d;
	struct pol_profile g;
	uint64_t held = 0;

	memset(&pw, 0, sizeof(pw));
	cr_assert_eq(replay_profile("performance", "[goal]\nperiod_ms = 10\nconfirm_ticks = 3\n"
				    "min_dwell_ms = 0\n", &g), 0);
	g.enabled[POL_AD_COREMAP] = false;
	memset(&cfg, 0, sizeof(cfg));
	cfg.profile = &g;
	cfg.sample = p_sample;
	cfg.sample_arg = &pw;
	cfg.paused = p_paused;
	cfg.vm_arg = &pw;
	adapt_env_init(&cfg.env);
	cfg.env.propose[ADAPT_PAGING] = p_propose;
	cr_assert_eq(adapt_driver_create(&cfg, &d), 0);
	cr_assert_eq(adapt_driver_register(d, &a), 0);

	set_paused(true);
	for (int i = 0; i < 10; i++)
		cr_assert_eq(adapt_driver_tick(d), 0);
	adapt_driver_stats(d, &st);
	cr_assert_eq(pw.samples, 10, "a paused tick still samples (stat, exporters)");
	cr_assert_eq(st.ticks, 0, "no adapt_step while paused");
	cr_assert_eq(st.paused_ticks, 10);
	cr_assert_eq(st.decisions, 0);
	for (int k = 0; k < ADAPT_KIND_COUNT; k++)
		for (int h = 1; h < ADAPT_HOLD_COUNT; h++)
			held += st.held[k][h];
	cr_assert_eq(held, 0, "no hold counted while paused");
	cr_assert_eq(pw.applied, 0);

	set_paused(false);
	cr_assert_eq(adapt_driver_tick(d), 0);   /* straddles the resume: skipped */
	adapt_driver_stats(d, &st);
	cr_assert_eq(st.paused_ticks, 11);
	cr_assert_eq(st.ticks, 0);
	for (int i = 0; i < 8; i++)
		cr_assert_eq(adapt_driver_tick(d), 0);
	adapt_driver_stats(d, &st);
	cr_assert_eq(st.paused_ticks, 11);
	cr_assert_eq(st.ticks, 8);
	cr_assert_eq(pw.applied, 1, "running again, the loop decides (after confirm_ticks)");
	adapt_driver_destroy(d);
}

Test(driver_paused, no_callback_never_paused)
{
	struct adapt_driver_cfg cfg;
	struct adapt_driver_stats st;
	struct adapt_driver *d;
	struct pol_profile g;

	memset(&pw, 0, sizeof(pw));
	cr_assert_eq(replay_profile("performance", "[goal]\nperiod_ms = 10\n", &g), 0);
	memset(&cfg, 0, sizeof(cfg));
	cfg.profile = &g;
	cfg.sample = p_sample;
	cfg.sample_arg = &pw;
	adapt_env_init(&cfg.env);
	cr_assert_eq(adapt_driver_create(&cfg, &d), 0);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(adapt_driver_tick(d), 0);
	adapt_driver_stats(d, &st);
	cr_assert_eq(st.ticks, 3);
	cr_assert_eq(st.paused_ticks, 0);
	adapt_driver_destroy(d);
}
