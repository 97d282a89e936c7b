/*
 * common: condition variables on the monotonic clock, and stopping a worker
 * thread that waits on one.
 */
#include <pthread.h>
#include <time.h>

#include "common/util.h"

void util_cond_init_mono(pthread_cond_t *cond)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &ca);
	pthread_condattr_destroy(&ca);
}

int util_cond_wait_until_ns(pthread_cond_t *cond, pthread_mutex_t *lock, uint64_t due_ns)
{
	struct timespec ts = { .tv_sec = (time_t)(due_ns / 1000000000ull),
			       .tv_nsec = (long)(due_ns % 1000000000ull) };

	return pthread_cond_timedwait(cond, lock, &ts);
}

void util_thread_stop(pthread_mutex_t *lock, pthread_cond_t *cond, bool *stop, pthread_t th)
{
	pthread_mutex_lock(lock);
	*stop = true;
	pthread_cond_broadcast(cond);
	pthread_mutex_unlock(lock);
	pthread_join(th, NULL);
}
