/* The seccomp filters bankmap runs under, on this host's real move_pages:
 * the migration worker's own kind (bmworker) and the telemetry thread's
 * query-only move_pages (the per-tick sample when the loop does not run).
 * Kill mode: a forbidden call ends the test process with status 159. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "bankmap/bankmap.h"
#include "common/sandbox.h"

#define PAGES 256

static void *touched(void)
{
	void *p = mmap(NULL, PAGES * BANKMAP_PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	cr_assert_neq(p, MAP_FAILED);
	memset(p, 1, PAGES * BANKMAP_PAGE_SIZE);
	return p;
}

Test(bankmap_sandbox, the_worker_migrates_under_its_own_filter, .timeout = 30)
{
	struct bankmap_worker_cfg cfg = { .ops = &bankmap_real_ops, .quota_mib_s = 64, .sandbox = true };
	struct bankmap_worker *w;
	struct bankmap_worker_stats st;
	struct bankmap_mplan mp;
	void *p = touched();

	util_sandbox_set_mode(UTIL_SANDBOX_KILL);
	cr_assert_eq(bankmap_worker_start(&cfg, &w), 0);
	cr_assert_eq(bankmap_migrate_plan(PAGES, NULL, 0, NULL, 0, 64, &mp), 0);
	cr_assert_gt(bankmap_worker_submit(w, p, &mp), 0);
	cr_assert_eq(bankmap_worker_wait(w, 10000000000ull), 0);
	bankmap_worker_stats(w, &st);
	cr_assert_eq(st.pages_total, PAGES);
	cr_assert_eq(st.pages_done + st.pages_failed, PAGES, "%s", st.why);
	cr_assert_eq(st.pages_failed, 0, "%s", st.why);
	bankmap_mplan_free(&mp);
	bankmap_worker_destroy(w);
	munmap(p, PAGES * BANKMAP_PAGE_SIZE);
}

static void *query(void *arg)
{
	struct bankmap_sampler *s = arg;
	char why[BANKMAP_WHY_LEN];
	long rc;

	if (util_sandbox_enter(UTIL_SANDBOX_TELEMETRY))
		return (void *)-1L;
	rc = bankmap_sampler_tick(s, &bankmap_real_ops, why, sizeof(why));
	return (void *)rc;
}

Test(bankmap_sandbox, the_telemetry_thread_may_query_where_pages_are, .timeout = 30)
{
	struct bankmap_sampler *s;
	struct bankmap_hist h;
	pthread_t th;
	void *ret;
	void *p = touched();

	util_sandbox_set_mode(UTIL_SANDBOX_KILL);
	cr_assert_eq(bankmap_sampler_init(p, PAGES * BANKMAP_PAGE_SIZE, PAGES, 0, &s), 0);
	cr_assert_eq(pthread_create(&th, NULL, query, s), 0);
	pthread_join(th, &ret);
	cr_assert_eq((long)ret, PAGES, "queried %ld pages", (long)ret);
	bankmap_sampler_hist(s, &h);
	cr_assert_eq(h.pages[0], PAGES, "every touched page on node 0");
	bankmap_sampler_free(s);
	munmap(p, PAGES * BANKMAP_PAGE_SIZE);
}
