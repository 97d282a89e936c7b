/* The driver thread with a fake sampler and recording actuators. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "replay.h"
#include "vmm-core/vmm.h"

struct world {
	pthread_mutex_t lock;
	int ticks, applied, pauses, resumes, published, published_effects;
	bool paused_during_apply;
	int apply_rc;
	bool paused;
};

static struct world w = { .lock = PTHREAD_MUTEX_INITIALIZER };

static int sample(void *arg, const struct tel_sample **out)
{
	static struct tel_sample sample;
	struct tel_sample *s = &sample;
	struct world *x = arg;

	pthread_mutex_lock(&x->lock);
	x->ticks++;
	memset(s, 0, sizeof(*s));
	s->seq = (uint64_t)x->ticks;
	s->t_ns = (uint64_t)x->ticks * 1000000000ull; /* sample time, not the clock */
	s->dt_ns = x->ticks > 1 ? 1000000000ull : 0;
	s->nr_vcpus = 1;
	s->vcpu[0].cpu_pct = 90;
	pthread_mutex_unlock(&x->lock);
	*out = s;
	return 0;
}

static int apply(void *ctx, const struct adapt_change *c, char *msg, size_t len)
{
	struct world *x = ctx;

	pthread_mutex_lock(&x->lock);
	x->applied++;
	x->paused_during_apply = x->paused;
	pthread_mutex_unlock(&x->lock);
	snprintf(msg, len, "mode %d", c->u.paging.mode);
	return x->apply_rc;
}

static int pause_fn(void *arg, int vcpu)
{
	struct world *x = arg;

	x->pauses++;
	x->paused = vcpu == -1;
	return 0;
}

static int resume_fn(void *arg, int vcpu)
{
	struct world *x = arg;

	x->resumes++;
	x->paused = false;
	return 0;
}

static void publish(void *arg, const struct tel_decision *d)
{
	struct world *x = arg;

	x->published++;
	x->published_effects += d->effect[0] != '\0';
}

static int propose(const struct pol_profile *g, const struct adapt_env *env,
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

static struct adapt_driver *make(bool dry_run, struct pol_profile *g)
{
	struct adapt_driver_cfg cfg;
	struct adapt_driver *d;
	struct adapt_actuator a = { .name = "fake-paging", .kind = ADAPT_PAGING, .needs_pause = true,
				    .apply = apply, .ctx = &w };
	static const char *dirs[] = { "policies/profiles" };

	memset(&w.ticks, 0, sizeof(w) - offsetof(struct world, ticks));
	cr_assert_eq(replay_profile("performance", "[goal]\nperiod_ms = 10\nconfirm_ticks = 1\nmin_dwell_ms = 0\n", g), 0);
	g->enabled[POL_AD_COREMAP] = false;
	memset(&cfg, 0, sizeof(cfg));
	cfg.profile = g;
	cfg.sample = sample;
	cfg.sample_arg = &w;
	cfg.publish = publish;
	cfg.publish_arg = &w;
	cfg.pause = pause_fn;
	cfg.resume = resume_fn;
	cfg.vm_arg = &w;
	adapt_env_init(&cfg.env);
	cfg.env.propose[ADAPT_PAGING] = propose;
	cfg.dry_run = dry_run;
	cfg.profile_dirs = dirs;
	cfg.nr_profile_dirs = 1;
	cr_assert_eq(adapt_driver_create(&cfg, &d), 0);
	cr_assert_eq(adapt_driver_register(d, &a), 0);
	cr_assert_eq(adapt_driver_register(d, &a), -EEXIST);
	return d;
}

Test(driver, thread_samples_decides_pauses_and_applies)
{
	struct pol_profile g;
	struct adapt_driver *d = make(false, &g);
	struct adapt_driver_stats st;
	struct tel_decision log[8];
	int n, i;

	cr_assert_eq(adapt_driver_start(d), 0);
	for (i = 0; i < 300 && w.published_effects == 0; i++)
		usleep(10000);
	adapt_driver_stop(d);
	adapt_driver_stats(d, &st);
	cr_assert_geq(st.ticks, 5);
	cr_assert_eq(w.applied, 1, "one change (the proposal stays the same)");
	cr_assert(w.paused_during_apply, "the actuator ran with the vCPUs paused");
	cr_assert_eq(w.pauses, w.resumes);
	n = adapt_driver_log(d, log, 8);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(log[0].kind, "paging-mode");
	cr_assert(strstr(log[0].what, "shadow->nested"), "%s", log[0].what);
	cr_assert(strstr(log[0].why, "test input"), "%s", log[0].why);
	cr_assert(strstr(log[0].effect, "kept"), "effect: '%s'", log[0].effect);
	cr_assert_eq(w.published, 2, "published when made and when measured");
	cr_assert_lt(st.step_ns_max, 1000000ull);
	adapt_driver_destroy(d);
}

Test(driver, dry_run_never_calls_apply)
{
	struct pol_profile g;
	struct adapt_driver *d = make(true, &g);
	struct tel_decision log[8];
	int i, n;

	for (i = 0; i < 20; i++)
		cr_assert_eq(adapt_driver_tick(d), 0);
	cr_assert_eq(w.applied, 0);
	cr_assert_eq(w.pauses, 0);
	n = adapt_driver_log(d, log, 8);
	cr_assert_geq(n, 1, "dry run still decides and logs");
	cr_assert(log[0].dry_run);
	cr_assert(strstr(log[0].what, "[dry-run]"));
	adapt_driver_destroy(d);
}

Test(driver, failed_actuator_is_logged_and_not_measured)
{
	struct pol_profile g;
	struct adapt_driver *d = make(false, &g);
	struct adapt_driver_stats st;
	struct tel_decision log[8];
	int i;

	w.apply_rc = -EPERM;
	for (i = 0; i < 6; i++)
		cr_assert_eq(adapt_driver_tick(d), 0);
	adapt_driver_stats(d, &st);
	cr_assert_geq(st.failed, 1);
	cr_assert_eq(st.applied, 0);
	cr_assert_eq(adapt_driver_log(d, log, 8) >= 1, 1);
	cr_assert(strstr(log[0].effect, "failed"), "%s", log[0].effect);
	adapt_driver_destroy(d);
}

Test(driver, ctl_profile_validates_then_swaps)
{
	struct pol_profile g, cur;
	struct adapt_driver *d = make(true, &g);
	struct tel_decision log[8];
	char *ans;
	int err = 0, n;

	ans = adapt_ctl_profile("{\"cmd\":\"profile\",\"name\":\"no-such-profile\"}", NULL, d, &err);
	cr_assert(ans && strstr(ans, "\"ok\":false") && strstr(ans, "no such profile"), "%s", ans);
	free(ans);
	adapt_driver_get_profile(d, &cur);
	cr_assert_str_eq(cur.name, "test");
	ans = adapt_ctl_profile("{\"cmd\":\"profile\",\"name\":\"energy\"}", NULL, d, &err);
	cr_assert(ans && strstr(ans, "\"ok\":true") && strstr(ans, "\"objective\":\"energy\""), "%s", ans);
	free(ans);
	cr_assert_eq(adapt_driver_tick(d), 0);
	adapt_driver_get_profile(d, &cur);
	cr_assert_str_eq(cur.name, "energy");
	n = adapt_driver_log(d, log, 8);
	cr_assert_geq(n, 1);
	cr_assert_str_eq(log[0].kind, "profile");
	cr_assert(strstr(log[0].what, "test -> energy"), "%s", log[0].what);
	ans = adapt_ctl_profile("{\"cmd\":\"profile\"}", NULL, d, &err);
	cr_assert(ans && strstr(ans, "\"profile\":\"energy\""), "%s", ans);
	free(ans);
	adapt_driver_destroy(d);
}

/* Over the control socket a path is root's only, and a file that is not a
 * profile is never echoed back (it could be /etc/shadow). */
Test(driver, ctl_profile_paths_only_from_root_and_never_echoed)
{
	struct pol_profile g, cur;
	struct adapt_driver *d = make(true, &g);
	struct vmm_ctl_peer user = { .pid = 1, .uid = 1000, .gid = 1000 };
	struct vmm_ctl_peer root = { .pid = 1, .uid = 0, .gid = 0 };
	char path[] = "/tmp/avmm-secret-XXXXXX", req[256], *ans;
	int err = 0, fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "secret_key_name = hunter2\n", 26), 26);
	close(fd);
	snprintf(req, sizeof(req), "{\"cmd\":\"profile\",\"name\":\"%s\"}", path);
	ans = adapt_ctl_profile(req, &user, d, &err);
	cr_assert(ans && strstr(ans, "\"ok\":false") && strstr(ans, "only from root"), "%s", ans);
	free(ans);
	ans = adapt_ctl_profile(req, &root, d, &err);
	cr_assert(ans && strstr(ans, "\"ok\":false"), "%s", ans);
	cr_assert(!strstr(ans, "secret_key_name") && !strstr(ans, "hunter2"), "echoed: %s", ans);
	free(ans);
	ans = adapt_ctl_profile("{\"cmd\":\"profile\",\"name\":\"/tmp\"}", &root, d, &err);
	cr_assert(ans && strstr(ans, "regular file"), "%s", ans);
	free(ans);
	/* a name from the profile folders is anyone's (allowed on the socket) */
	ans = adapt_ctl_profile("{\"cmd\":\"profile\",\"name\":\"energy\"}", &user, d, &err);
	cr_assert(ans && strstr(ans, "\"ok\":true"), "%s", ans);
	free(ans);
	cr_assert_eq(adapt_driver_tick(d), 0);
	adapt_driver_get_profile(d, &cur);
	cr_assert_str_eq(cur.name, "energy");
	unlink(path);
	adapt_driver_destroy(d);
}
