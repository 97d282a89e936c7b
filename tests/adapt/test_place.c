/* Placements that need no measurement (adapt/place.h): a fixed coremap
 * strategy is decided at once, at start and at the tick that switches such a
 * profile in, and the loop does not decide it again. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "adapt/place.h"
#include "coremap/coremap.h"
#include "replay.h"

static struct tel_sample smp;

static const struct tel_sample *sample_at(int tick, int nr, int pcpu)
{
	memset(&smp, 0, sizeof(smp));
	smp.seq = (uint64_t)tick;
	smp.t_ns = (uint64_t)(tick + 1) * 1000000000ull;
	smp.dt_ns = tick ? 1000000000ull : 0;
	smp.nr_vcpus = nr;
	for (int i = 0; i < nr; i++) {
		smp.vcpu[i].pcpu = pcpu;
		smp.vcpu[i].cpu_pct = 90;
	}
	return &smp;
}

Test(place, fixed_strategies_decide_at_once_and_only_once)
{
	struct coremap_topo *topo;
	struct pol_profile g;
	struct adapt_env env;
	static struct adapt_state st;
	struct adapt_decision d;
	struct adapt_out out;
	char note[256];

	cr_assert_eq(coremap_topo_load("package:2 core:2 pu:1", &topo), 0);
	adapt_env_init(&env);
	env.topo = topo;
	adapt_state_init(&st);

	/* adaptive needs samples: nothing here */
	cr_assert_eq(replay_profile("performance", NULL, &g), 0);
	cr_assert_not(adapt_place_is_fixed(&g));
	cr_assert_eq(adapt_place_fixed(&g, &env, &st, 2, 5, "initial placement", &d, note, sizeof(note)), 0);
	/* coremap off (static): nothing either */
	cr_assert_eq(replay_profile("static", NULL, &g), 0);
	cr_assert_not(adapt_place_is_fixed(&g));

	cr_assert_eq(replay_profile("static", "[coremap]\nenabled = yes\nstrategy = explicit\n"
				    "explicit_map = 3,1\n", &g), 0);
	cr_assert(adapt_place_is_fixed(&g));
	cr_assert_eq(adapt_place_fixed(&g, &env, &st, 2, 5, "initial placement", &d, note, sizeof(note)), 1,
		     "%s", note);
	cr_assert_eq(d.change.kind, ADAPT_COREMAP);
	cr_assert_eq(d.change.u.coremap.nr, 2);
	cr_assert_eq(d.change.u.coremap.pcpu[0], 3);
	cr_assert_eq(d.change.u.coremap.pcpu[1], 1);
	cr_assert_eq(d.t_ns, 5);
	cr_assert_eq(d.id, 1);
	cr_assert_str_eq(d.what, "initial placement: vcpu0->cpu3, vcpu1->cpu1");
	cr_assert(strstr(d.why, "explicit") && strstr(d.why, "needs no measurement"), "%s", d.why);
	cr_assert(st.have_cur[ADAPT_COREMAP]);
	cr_assert_not(st.pending, "the operator's placement is not measured or reverted");
	/* the same map again: nothing */
	cr_assert_eq(adapt_place_fixed(&g, &env, &st, 2, 6, "placement", &d, note, sizeof(note)), 0);
	cr_assert(strstr(note, "already in place"), "%s", note);

	/* the loop starts from it: no coremap decision in 10 ticks, even with
	 * samples that see the vCPUs elsewhere */
	for (int t = 0; t < 10; t++) {
		cr_assert_eq(adapt_step(&g, &env, &st, sample_at(t, 2, 0), &out), 0);
		for (int i = 0; i < out.nr; i++)
			cr_assert_neq(out.d[i].change.kind, ADAPT_COREMAP, "tick %d: %s", t, out.d[i].what);
	}

	/* a map the topology refuses is an error that names the profile */
	cr_assert_eq(replay_profile("static", "[coremap]\nenabled = yes\nstrategy = explicit\n"
				    "explicit_map = 7\n", &g), 0);
	cr_assert_lt(adapt_place_fixed(&g, &env, &st, 1, 7, "placement", &d, note, sizeof(note)), 0);
	cr_assert(strstr(note, "cannot be applied"), "%s", note);

	/* pack and spread are fixed too; from an explicit map, the what says where from */
	cr_assert_eq(replay_profile("static", "[coremap]\nenabled = yes\nstrategy = spread\n", &g), 0);
	cr_assert_eq(adapt_place_fixed(&g, &env, &st, 2, 8, "placement", &d, note, sizeof(note)), 1,
		     "%s", note);
	cr_assert(strstr(d.what, "placement: vcpu0 cpu3->cpu"), "%s", d.what);
	cr_assert_eq(replay_profile("energy", "[coremap]\nstrategy = pack\n", &g), 0);
	cr_assert(adapt_place_is_fixed(&g));

	/* no topology: no decision, and the note says so */
	env.topo = NULL;
	cr_assert_eq(adapt_place_fixed(&g, &env, &st, 2, 9, "placement", &d, note, sizeof(note)), 0);
	cr_assert(strstr(note, "no host topology"), "%s", note);
	coremap_topo_free(topo);
}

/* ---- the driver: at start, and at a profile switch ---------------------- */

static struct {
	int ticks, applied, published;
	struct adapt_change last;
	char kinds[16][16], what[16][128];
} w;

static int fake_sample(void *arg, const struct tel_sample **s)
{
	w.ticks++;
	*s = sample_at(w.ticks, 1, 0);
	return 0;
}

static int fake_apply(void *ctx, const struct adapt_change *c, char *msg, size_t len)
{
	w.applied++;
	w.last = *c;
	snprintf(msg, len, "pinned");
	return 0;
}

static void fake_publish(void *arg, const struct tel_decision *d)
{
	if (w.published < 16) {
		snprintf(w.kinds[w.published], sizeof(w.kinds[0]), "%s", d->kind);
		snprintf(w.what[w.published], sizeof(w.what[0]), "%s", d->what);
	}
	w.published++;
}

static struct coremap_topo *drv_topo;

static void fake_warmup(void *arg, struct adapt_env *env)
{
	env->topo = drv_topo;
}

static struct adapt_driver *make(const char *profile, const char *extra)
{
	struct adapt_driver_cfg cfg;
	struct adapt_driver *d;
	struct adapt_actuator a = { .name = "fake-coremap", .kind = ADAPT_COREMAP, .apply = fake_apply };
	static struct pol_profile g;

	memset(&w, 0, sizeof(w));
	cr_assert_eq(coremap_topo_load("package:1 core:2 pu:1", &drv_topo), 0);
	cr_assert_eq(replay_profile(profile, extra, &g), 0);
	memset(&cfg, 0, sizeof(cfg));
	cfg.profile = &g;
	cfg.sample = fake_sample;
	cfg.publish = fake_publish;
	cfg.warmup = fake_warmup;
	adapt_env_init(&cfg.env);
	cr_assert_eq(adapt_driver_create(&cfg, &d), 0);
	cr_assert_eq(adapt_driver_register(d, &a), 0);
	return d;
}

static const char explicit1[] = "[coremap]\nenabled = yes\nstrategy = explicit\nexplicit_map = 1\n";

Test(place, driver_places_at_start_then_the_loop_keeps_it)
{
	struct adapt_driver *d = make("static", explicit1);
	struct adapt_driver_stats st;

	/* before the loop's first tick (and its warm-up) */
	cr_assert_eq(adapt_driver_place(d, 1, 1, "initial placement"), 1);
	cr_assert_eq(w.applied, 1);
	cr_assert_eq(w.last.u.coremap.pcpu[0], 1);
	cr_assert_str_eq(w.kinds[0], "coremap");
	cr_assert(strstr(w.what[0], "initial placement: vcpu0->cpu1"), "%s", w.what[0]);
	for (int i = 0; i < 8; i++)
		cr_assert_eq(adapt_driver_tick(d), 0);
	cr_assert_eq(w.applied, 1, "the loop decided the same pin again");
	adapt_driver_stats(d, &st);
	cr_assert_eq(st.applied, 1);
	cr_assert_eq(st.decisions, 1);
	adapt_driver_destroy(d);
	coremap_topo_free(drv_topo);
}

Test(place, switch_to_a_fixed_profile_applies_at_the_next_tick)
{
	struct adapt_driver *d = make("static", NULL);
	static struct pol_profile fixed;

	for (int i = 0; i < 3; i++)
		cr_assert_eq(adapt_driver_tick(d), 0);
	cr_assert_eq(w.applied, 0);
	/* static + explicit keeps performance's confirm_ticks = 3 and dwell:
	 * neither applies to a placement that needs no measurement */
	cr_assert_eq(replay_profile("static", explicit1, &fixed), 0);
	cr_assert_geq(fixed.confirm_ticks, 3);
	cr_assert_eq(adapt_driver_set_profile(d, &fixed), 0);
	cr_assert_eq(adapt_driver_tick(d), 0);
	cr_assert_eq(w.applied, 1, "not applied at the tick that took the profile");
	cr_assert_eq(w.last.u.coremap.pcpu[0], 1);
	cr_assert_str_eq(w.kinds[0], "profile");
	cr_assert_str_eq(w.kinds[1], "coremap");
	cr_assert(strstr(w.what[1], "placement: vcpu0->cpu1"), "%s", w.what[1]);
	for (int i = 0; i < 8; i++)
		cr_assert_eq(adapt_driver_tick(d), 0);
	cr_assert_eq(w.applied, 1);
	/* to another fixed map: again at once */
	cr_assert_eq(replay_profile("static", "[coremap]\nenabled = yes\nstrategy = explicit\n"
				    "explicit_map = 0\n", &fixed), 0);
	cr_assert_eq(adapt_driver_set_profile(d, &fixed), 0);
	cr_assert_eq(adapt_driver_tick(d), 0);
	cr_assert_eq(w.applied, 2);
	cr_assert_eq(w.last.u.coremap.pcpu[0], 0);
	cr_assert(strstr(w.what[3], "vcpu0 cpu1->cpu0"), "%s", w.what[3]);
	adapt_driver_destroy(d);
	coremap_topo_free(drv_topo);
}
