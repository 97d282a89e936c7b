/* tel_start/tel_stop: a sampling thread at the configured period. */
#include "telemetry/tel_int.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "common/sandbox.h"
#include "common/util.h"

static void *sampler_main(void *arg)
{
	uint64_t c_start = util_thread_cpu_ns();
	struct tel *t = arg;
	uint64_t next = util_now_ns();

	pthread_setname_np(pthread_self(), "avmm-telemetry");
	util_sandbox_enter(UTIL_SANDBOX_TELEMETRY);    /* prints why when it fails */
	/* The filter's set-up is this thread's CPU time too: count from here. */
	pthread_mutex_lock(&t->lock);
	if (!t->own_cpu_ns)
		t->own_cpu_ns = c_start ? c_start : 1;
	pthread_mutex_unlock(&t->lock);
	pthread_mutex_lock(&t->stop_lock);
	while (!t->stop) {
		pthread_mutex_unlock(&t->stop_lock);
		tel_sample_own(t);
		next += t->cfg.period_ns;
		if (next < util_now_ns())       /* overran: do not try to catch up */
			next = util_now_ns() + t->cfg.period_ns;
		pthread_mutex_lock(&t->stop_lock);
		while (!t->stop && util_cond_wait_until_ns(&t->stop_cond, &t->stop_lock, next) == 0)
			;
	}
	pthread_mutex_unlock(&t->stop_lock);
	return NULL;
}

int tel_start(struct tel *t)
{
	int err;

	if (t->running)
		return -EALREADY;
	pthread_mutex_init(&t->stop_lock, NULL);
	util_cond_init_mono(&t->stop_cond);
	t->stop = false;
	err = pthread_create(&t->thread, NULL, sampler_main, t);
	if (err) {
		util_err("telemetry: cannot start the sampling thread: %s", strerror(err));
		return -err;
	}
	t->running = true;
	return 0;
}

void tel_stop(struct tel *t)
{
	if (!t->running)
		return;
	pthread_mutex_lock(&t->stop_lock);
	t->stop = true;
	pthread_cond_signal(&t->stop_cond);
	pthread_mutex_unlock(&t->stop_lock);
	pthread_join(t->thread, NULL);
	pthread_cond_destroy(&t->stop_cond);
	pthread_mutex_destroy(&t->stop_lock);
	t->running = false;
}
