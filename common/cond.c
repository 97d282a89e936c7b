/*
 * common: condition variables on the monotonic clock, stopping a worker
 * thread that waits on one, and a periodic thread's sleep that a stop word
 * ends.
 */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

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

/* FUTEX_WAIT_BITSET's timeout is absolute, on CLOCK_MONOTONIC. */
bool util_sleep_until_stop(uint32_t *stop, uint64_t due_ns)
{
	struct timespec ts = { .tv_sec = (time_t)(due_ns / 1000000000ull),
			       .tv_nsec = (long)(due_ns % 1000000000ull) };

	while (!__atomic_load_n(stop, __ATOMIC_ACQUIRE) && util_now_ns() < due_ns)
		if (syscall(SYS_futex, stop, FUTEX_WAIT_BITSET_PRIVATE, 0, &ts, NULL,
			    FUTEX_BITSET_MATCH_ANY) && errno == ETIMEDOUT)
			break;
	return __atomic_load_n(stop, __ATOMIC_ACQUIRE);
}

void util_stop_wake(uint32_t *stop)
{
	__atomic_store_n(stop, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, stop, FUTEX_WAKE_PRIVATE, 1 << 30, NULL, NULL, 0);
}
