/*
 * common: condition variables on the monotonic clock, stopping a worker
 * thread that waits on one, and a periodic thread's sleep that a stop word
 * and a signal end.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

static struct timespec timespec_of(uint64_t ns)
{
	return (struct timespec){ .tv_sec = (time_t)(ns / 1000000000ull),
				  .tv_nsec = (long)(ns % 1000000000ull) };
}

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
	struct timespec ts = timespec_of(due_ns);

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

#define STOP_SIG (SIGRTMIN + 4)
#define STOP_RESEND_NS 2000000ull

static void on_stop_sig(int sig)
{
	(void)sig;
}

static pthread_once_t stop_sig_once = PTHREAD_ONCE_INIT;

static void stop_sig_init(void)
{
	struct sigaction sa = { .sa_handler = on_stop_sig, .sa_flags = SA_RESTART };

	sigemptyset(&sa.sa_mask);
	sigaction(STOP_SIG, &sa, NULL);
}

void util_stop_prepare(void)
{
	sigset_t set;

	pthread_once(&stop_sig_once, stop_sig_init);
	sigemptyset(&set);
	sigaddset(&set, STOP_SIG);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

UTIL_HOT bool util_sleep_until_stop(uint32_t *stop, uint64_t due_ns)
{
	struct timespec ts = timespec_of(due_ns);

	while (!__atomic_load_n(stop, __ATOMIC_ACQUIRE) &&
	       clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
	return __atomic_load_n(stop, __ATOMIC_ACQUIRE);
}

void util_stop_join(uint32_t *stop, pthread_t th)
{
	/* the handler is in place before the first signal: a real-time
	 * signal's default action ends the process */
	pthread_once(&stop_sig_once, stop_sig_init);
	__atomic_store_n(stop, 1, __ATOMIC_RELEASE);
	for (;;) {
		struct timespec ts = timespec_of(util_now_ns() + STOP_RESEND_NS);

		pthread_kill(th, STOP_SIG);
		if (pthread_clockjoin_np(th, NULL, CLOCK_MONOTONIC, &ts) != ETIMEDOUT)
			return;
	}
}
