/* Quiet ticks: the pure rules (quiet.c) and the driver thread taking full
 * samples every steady_sample_ms, probing between them, and sampling at
 * once when a probe shows a vCPU moved. */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "replay.h"

static struct pol_profile quiet_profile(void)
{
	struct pol_profile g;

	cr_assert_eq(replay_profile("performance", "[goal]\nperiod_ms = 1000\nsteady_sample_ms = 10000\n", &g), 0);
	return g;
}

static void steady_state(const struct pol_profile *g, struct adapt_state *st, struct tel_sample *s)
{
	adapt_state_init(st);
	st->period_ns = g->period_ns;
	memset(s, 0, sizeof(*s));
	s->t_ns = 50000000000ull;
	s->dt_ns = 1000000000ull;
	s->nr_vcpus = 2;
	s->vcpu[0].cpu_pct = 100;
	s->vcpu[1].cpu_pct = 20;
	s->vcpu[0].run_delay_pct = s->vcpu[1].run_delay_pct = 0;
}

Test(quiet, steady_machine_may_go_quiet_until_the_full_sample_is_due)
{
	struct pol_profile g = quiet_profile();
	struct adapt_state st;
	struct tel_sample s;

	steady_state(&g, &st, &s);
	cr_assert_eq(adapt_steady_why(&g, &st, false, &s), ADAPT_FULL_NONE);
	/* 10 s after the sample, less half a period of slack */
	cr_assert_eq(adapt_full_due_ns(&g, &s), s.t_ns + 10000000000ull - 500000000ull);
	cr_assert_str_eq(adapt_full_why_name(ADAPT_FULL_NONE), "quiet");
	cr_assert_str_eq(adapt_full_why_name(ADAPT_FULL_JUMP), "jump");
}

Test(quiet, off_unless_steady_sample_ms_is_above_the_period)
{
	struct pol_profile g = quiet_profile();
	struct adapt_state st;
	struct tel_sample s;

	steady_state(&g, &st, &s);
	g.steady_sample_ns = 0;
	cr_assert_eq(adapt_steady_why(&g, &st, false, &s), ADAPT_FULL_OFF);
	g.steady_sample_ns = g.period_ns;
	cr_assert_eq(adapt_steady_why(&g, &st, false, &s), ADAPT_FULL_OFF);
}

Test(quiet, anything_in_progress_keeps_full_ticks)
{
	struct pol_profile g = quiet_profile();
	struct adapt_state st;
	struct tel_sample s;

	steady_state(&g, &st, &s);
	cr_assert_eq(adapt_steady_why(&g, &st, true, &s), ADAPT_FULL_UNSTEADY, "a hold");
	st.period_ns = g.fast_period_ns;
	cr_assert_eq(adapt_steady_why(&g, &st, false, &s), ADAPT_FULL_UNSTEADY, "sampling fast");
	steady_state(&g, &st, &s);
	st.pending = true;
	cr_assert_eq(adapt_steady_why(&g, &st, false, &s), ADAPT_FULL_UNSTEADY, "measuring");
	steady_state(&g, &st, &s);
	st.streak[ADAPT_COREMAP] = 1;
	cr_assert_eq(adapt_steady_why(&g, &st, false, &s), ADAPT_FULL_UNSTEADY, "confirming");
	steady_state(&g, &st, &s);
	s.dt_ns = 0;
	cr_assert_eq(adapt_steady_why(&g, &st, false, &s), ADAPT_FULL_STALE, "no rates yet");
}

Test(quiet, a_probe_that_moved_ten_points_brings_the_full_sample)
{
	struct pol_profile g = quiet_profile();
	struct adapt_state st;
	struct tel_sample s;
	struct tel_probe p = { .nr_vcpus = 2 };
	int v = -1;

	steady_state(&g, &st, &s);
	p.cpu_pct[0] = 91;       /* 9 points: noise */
	p.cpu_pct[1] = 29.5;
	p.run_delay_pct[0] = p.run_delay_pct[1] = NAN;   /* the clock alone */
	cr_assert_eq(adapt_probe_jumped(&s, &p, &v), ADAPT_FULL_NONE);
	p.cpu_pct[1] = 30;       /* vCPU 1 went from 20% to 30% */
	cr_assert_eq(adapt_probe_jumped(&s, &p, &v), ADAPT_FULL_JUMP);
	cr_assert_eq(v, 1);
	p.cpu_pct[1] = NAN;      /* unknown is not a move */
	cr_assert_eq(adapt_probe_jumped(&s, &p, &v), ADAPT_FULL_NONE);
	p.run_delay_pct[0] = 12; /* schedstat's run delay, where the probe has it */
	cr_assert_eq(adapt_probe_jumped(&s, &p, &v), ADAPT_FULL_JUMP);
	cr_assert_eq(v, 0);
	p.run_delay_pct[0] = NAN;
	p.stale = true;
	cr_assert_eq(adapt_probe_jumped(&s, &p, &v), ADAPT_FULL_STALE);
	p.stale = false;
	p.nr_vcpus = 3;
	cr_assert_eq(adapt_probe_jumped(&s, &p, &v), ADAPT_FULL_STALE, "a vCPU more");
}

Test(quiet, a_read_of_the_exports_brings_the_next_full_sample)
{
	struct pol_profile g = quiet_profile();
	struct adapt_state st;
	struct tel_sample s;
	struct tel_probe p = { .nr_vcpus = 2 };
	int v = -1;

	steady_state(&g, &st, &s);
	p.cpu_pct[0] = p.cpu_pct[1] = NAN;
	p.run_delay_pct[0] = p.run_delay_pct[1] = 0;   /* from the steal-time areas */
	cr_assert_eq(adapt_probe_jumped(&s, &p, &v), ADAPT_FULL_NONE);
	p.exports_read = true;    /* a scrape since the last full sample */
	cr_assert_eq(adapt_probe_jumped(&s, &p, &v), ADAPT_FULL_READ);
	cr_assert_str_eq(adapt_full_why_name(ADAPT_FULL_READ), "read");
	p.run_delay_pct[1] = 40;  /* a move says more: it also speeds the loop up */
	cr_assert_eq(adapt_probe_jumped(&s, &p, &v), ADAPT_FULL_JUMP);
	cr_assert_eq(v, 1);
}

/* The driver thread: a fake VM whose vCPU runs at cpu_pct. */
static struct {
	pthread_mutex_t lock;
	double cpu_pct;
	int samples, probes;
} vm = { .lock = PTHREAD_MUTEX_INITIALIZER };

static int fake_sample(void *arg, const struct tel_sample **out)
{
	static struct tel_sample sample;
	static uint64_t last_ns;
	struct tel_sample *s = &sample;
	uint64_t now = util_now_ns();

	pthread_mutex_lock(&vm.lock);
	memset(s, 0, sizeof(*s));
	s->seq = (uint64_t)vm.samples++;
	s->t_ns = now;
	s->dt_ns = last_ns ? now - last_ns : 0;
	s->nr_vcpus = 1;
	s->vcpu[0].cpu_pct = vm.cpu_pct;
	s->vcpu[0].run_delay_pct = 0;
	pthread_mutex_unlock(&vm.lock);
	last_ns = now;
	*out = s;
	return 0;
}

static int fake_probe(void *arg, uint64_t now_ns, struct tel_probe *p)
{
	pthread_mutex_lock(&vm.lock);
	vm.probes++;
	p->t_ns = now_ns;
	p->nr_vcpus = 1;
	p->stale = false;
	p->cpu_pct[0] = vm.cpu_pct;
	p->run_delay_pct[0] = NAN;
	pthread_mutex_unlock(&vm.lock);
	return 0;
}

static void set_cpu(double pct)
{
	pthread_mutex_lock(&vm.lock);
	vm.cpu_pct = pct;
	pthread_mutex_unlock(&vm.lock);
}

static int samples(void)
{
	int n;

	pthread_mutex_lock(&vm.lock);
	n = vm.samples;
	pthread_mutex_unlock(&vm.lock);
	return n;
}

Test(quiet, driver_probes_between_full_samples_and_samples_at_once_on_a_move)
{
	struct adapt_driver_cfg cfg;
	struct adapt_driver_stats st;
	struct adapt_driver *d;
	struct pol_profile g;
	int before, i;

	cr_assert_eq(replay_profile("performance", "[goal]\nperiod_ms = 20\nfast_period_ms = 0\n"
				    "steady_sample_ms = 400\n", &g), 0);
	g.enabled[POL_AD_COREMAP] = false;
	memset(&cfg, 0, sizeof(cfg));
	cfg.profile = &g;
	cfg.sample = fake_sample;
	cfg.probe = fake_probe;
	adapt_env_init(&cfg.env);
	set_cpu(90);
	cr_assert_eq(adapt_driver_create(&cfg, &d), 0);
	cr_assert_eq(adapt_driver_start(d), 0);
	usleep(1300000);
	adapt_driver_stats(d, &st);
	/* 65 periods: the first full ticks, then one every 400 ms */
	cr_assert_geq(st.quiet_ticks, 40, "quiet ticks: %llu", (unsigned long long)st.quiet_ticks);
	cr_assert_leq(st.ticks, 8, "full ticks: %llu", (unsigned long long)st.ticks);
	cr_assert_geq(st.full_why[ADAPT_FULL_DUE], 2);
	cr_assert_eq(st.full_why[ADAPT_FULL_JUMP], 0);
	cr_assert_eq(st.ticks, (uint64_t)samples());
	/* a request for the loop (e.g. `avmm ctl backing`): the next tick is full */
	before = samples();
	adapt_driver_want_full(d);
	for (i = 0; i < 100 && samples() == before; i++)
		usleep(2000);
	cr_assert_gt(samples(), before, "the request waited for the due time");
	adapt_driver_stats(d, &st);
	cr_assert_eq(st.full_why[ADAPT_FULL_ASKED], 1);
	/* the vCPU drops to 40%: the next period samples, not the next due time */
	before = samples();
	set_cpu(40);
	for (i = 0; i < 100 && samples() == before; i++)
		usleep(2000);
	cr_assert_gt(samples(), before);
	cr_assert_lt(i * 2, 100, "sampled %d ms after the move (period 20 ms)", i * 2);
	adapt_driver_stop(d);
	adapt_driver_stats(d, &st);
	cr_assert_geq(st.full_why[ADAPT_FULL_JUMP], 1);
	adapt_driver_destroy(d);
}
