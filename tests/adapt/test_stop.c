/* The loop thread's sleep (common/cond.c): one clock_nanosleep to its due
 * time that util_stop_join cuts short with a signal, also when the thread
 * was created with every signal blocked, and when the stop comes before the
 * thread sleeps; a due time in the past returns at once. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>

#include "common/util.h"

struct sleeper {
	uint32_t stop;
	uint64_t due_ns;
	bool stopped, prepared;
	uint64_t woke_ns;
};

static void *sleep_once(void *arg)
{
	struct sleeper *s = arg;

	util_stop_prepare();
	__atomic_store_n(&s->prepared, true, __ATOMIC_RELEASE);
	s->stopped = util_sleep_until_stop(&s->stop, s->due_ns);
	s->woke_ns = util_now_ns();
	return NULL;
}

/* Starts a sleeper due in due_in_ns, from a thread whose signals are all
 * blocked when block_all (the new thread inherits that mask). */
static pthread_t start(struct sleeper *s, uint64_t due_in_ns, bool block_all)
{
	sigset_t all, old;
	pthread_t th;

	*s = (struct sleeper){ .due_ns = util_now_ns() + due_in_ns };
	sigfillset(&all);
	if (block_all)
		pthread_sigmask(SIG_BLOCK, &all, &old);
	cr_assert_eq(pthread_create(&th, NULL, sleep_once, s), 0);
	if (block_all)
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	return th;
}

static void stop_within(bool block_all, bool wait_prepared)
{
	struct sleeper s;
	pthread_t th = start(&s, 30000000000ull, block_all);   /* 30 s */
	uint64_t t0;

	while (wait_prepared && !__atomic_load_n(&s.prepared, __ATOMIC_ACQUIRE))
		util_sleep_ns(1000000);
	util_sleep_ns(wait_prepared ? 50000000 : 0);   /* asleep by now */
	t0 = util_now_ns();
	util_stop_join(&s.stop, th);
	cr_assert(s.stopped, "the sleep says it was stopped");
	cr_assert_lt(s.woke_ns - t0, 1000000000ull, "stopped after %.3f s, not at once",
		     (double)(s.woke_ns - t0) / 1e9);
}

Test(stop, a_sleep_ends_when_stopped)
{
	stop_within(false, true);
}

Test(stop, a_thread_born_with_signals_blocked_is_stopped_too)
{
	stop_within(true, true);
}

Test(stop, a_stop_before_the_sleep_is_not_lost)
{
	for (int i = 0; i < 20; i++)
		stop_within(i % 2, false);
}

Test(stop, a_due_time_reached_ends_the_sleep_unstopped)
{
	struct sleeper s;
	pthread_t th = start(&s, 20000000, false);   /* 20 ms */

	pthread_join(th, NULL);
	cr_assert_not(s.stopped);
	cr_assert_geq(s.woke_ns, s.due_ns, "woke %lld ns early", (long long)(s.due_ns - s.woke_ns));
	s.due_ns = util_now_ns() - 1000;
	s.woke_ns = util_now_ns();
	cr_assert_not(util_sleep_until_stop(&s.stop, s.due_ns));
	cr_assert_lt(util_now_ns() - s.woke_ns, 10000000ull, "a past due time sleeps");
}
