/* adapt: the driver object and its thread: create, register actuators,
 * start and stop the loop (one tick per period), profile swaps requested
 * from other threads, and the locked reads of its log, hold and stats. The
 * tick itself is in driver_tick.c, actuation and the decision log in
 * driver_act.c. */
#include "adapt/adapt_drv.h"
#include "common/sandbox.h"
#include "common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

int adapt_driver_create(const struct adapt_driver_cfg *cfg, struct adapt_driver **out)
{
	struct adapt_driver *d;

	if (!cfg || !cfg->profile || !cfg->sample || !out)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->cfg = *cfg;
	d->cfg.profile = NULL;
	d->cfg.env.dry_run = cfg->dry_run;
	d->profile = *cfg->profile;
	d->steady_why = ADAPT_FULL_OFF;   /* until the first full tick judges it */
	adapt_state_init(&d->state);
	pthread_mutex_init(&d->lock, NULL);
	*out = d;
	return 0;
}

int adapt_driver_register(struct adapt_driver *d, const struct adapt_actuator *a)
{
	int i, rc = 0;

	if (!a || !a->apply || (unsigned)a->kind >= ADAPT_KIND_COUNT)
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	for (i = 0; i < d->nr_act; i++)
		if (d->act[i].kind == a->kind)
			rc = -EEXIST;
	if (!rc && d->nr_act >= ADAPT_MAX_ACTUATORS)
		rc = -ENOSPC;
	if (!rc)
		d->act[d->nr_act++] = *a;
	pthread_mutex_unlock(&d->lock);
	return rc;
}

UTIL_HOT static bool swap_waits(struct adapt_driver *d)
{
	return __atomic_load_n(&d->have_next, __ATOMIC_ACQUIRE);
}

/* adapt_step's choice (fast while something changes), the profile's fast
 * period before the first tick and after a swap. On the loop thread: only
 * a waiting swap needs the lock. */
UTIL_HOT static uint64_t next_period(struct adapt_driver *d)
{
	uint64_t period = 0;

	if (swap_waits(d)) {
		pthread_mutex_lock(&d->lock);
		if (d->have_next)
			period = d->next.fast_period_ns ? d->next.fast_period_ns : d->next.period_ns;
		pthread_mutex_unlock(&d->lock);
		if (period)
			return period;
	}
	period = d->next_period_ns ? d->next_period_ns
		 : d->profile.fast_period_ns ? d->profile.fast_period_ns : d->profile.period_ns;
	return period > d->profile.period_ns ? d->profile.period_ns : period;
}

/* The first tick comes one period after start, like every other. */
UTIL_HOT static void *loop(void *arg)
{
	struct adapt_driver *d = arg;
	uint64_t next = util_now_ns();

	/* Named here, before its filter, so a seccomp report names it. */
	pthread_setname_np(pthread_self(), "avmm-adapt");
	util_stop_prepare();
	util_sandbox_enter(UTIL_SANDBOX_DRIVER);       /* prints why when it fails */
	for (;;) {
		next += next_period(d);
		if (next < util_now_ns())
			next = util_now_ns(); /* overran: do not catch up in a burst */
		if (util_sleep_until_stop(&d->stop, next))
			break;
		adapt_drv_warmup(d);
		if (swap_waits(d) || !adapt_drv_quiet_tick(d, next))
			adapt_driver_tick(d);
	}
	return NULL;
}

void adapt_driver_want_full(struct adapt_driver *d)
{
	__atomic_store_n(&d->want_full, true, __ATOMIC_RELEASE);
}

int adapt_driver_start(struct adapt_driver *d)
{
	int rc;

	if (d->running)
		return -EALREADY;
	d->stop = 0;
	rc = -pthread_create(&d->thread, NULL, loop, d);
	if (rc)
		return rc;
	d->running = true;
	return 0;
}

void adapt_driver_stop(struct adapt_driver *d)
{
	if (!d || !d->running)
		return;
	util_stop_join(&d->stop, d->thread);
	d->running = false;
}

void adapt_driver_destroy(struct adapt_driver *d)
{
	if (!d)
		return;
	adapt_driver_stop(d);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

int adapt_driver_set_profile(struct adapt_driver *d, const struct pol_profile *p)
{
	if (!d || !p)
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	d->next = *p;
	__atomic_store_n(&d->have_next, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&d->lock);
	return 0;
}

void adapt_driver_get_profile(struct adapt_driver *d, struct pol_profile *out)
{
	pthread_mutex_lock(&d->lock);
	*out = d->have_next ? d->next : d->profile;
	pthread_mutex_unlock(&d->lock);
}

int adapt_driver_log(struct adapt_driver *d, struct tel_decision *out, int max)
{
	uint64_t n, i;

	pthread_mutex_lock(&d->lock);
	n = d->log_next < ADAPT_LOG_SIZE ? d->log_next : ADAPT_LOG_SIZE;
	if (max >= 0 && n > (uint64_t)max)
		n = (uint64_t)max;
	for (i = 0; i < n; i++)
		out[i] = d->log[(d->log_next - n + i) % ADAPT_LOG_SIZE].d;
	pthread_mutex_unlock(&d->lock);
	return (int)n;
}

void adapt_driver_held(struct adapt_driver *d, struct tel_held *out)
{
	pthread_mutex_lock(&d->lock);
	*out = d->held;
	pthread_mutex_unlock(&d->lock);
}

void adapt_driver_stats(struct adapt_driver *d, struct adapt_driver_stats *out)
{
	pthread_mutex_lock(&d->lock);
	*out = d->stats;
	pthread_mutex_unlock(&d->lock);
}
