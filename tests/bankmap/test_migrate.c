/* bankmap migration: the plan (written pages first), the predicted cost, and
 * the worker through the recording fake (batches, targets, quota, failures
 * and retries, supersede, stop while busy). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bankmap/bankmap.h"
#include "common/util.h"

#define NR 2048                                   /* 8 MiB of pages */
static char mem[NR * 4096ull] __attribute__((aligned(4096)));
static struct bankmap_fake f;
static struct bankmap_ops ops;
static struct bankmap_worker *w;

static void setup(void)
{
	cr_assert_eq(bankmap_fake_init(&f, mem, NR, 0x3, 0, &ops), 0);
}

static void teardown(void)
{
	bankmap_worker_destroy(w);
	w = NULL;
	bankmap_fake_free(&f);
}

static void start(double quota, unsigned retries)
{
	struct bankmap_worker_cfg c = { .ops = &ops, .quota_mib_s = quota, .max_retries = retries,
					.retry_delay_ns = 1000000 };

	cr_assert_eq(bankmap_worker_start(&c, &w), 0);
}

Test(bankmap_mplan, written_pages_first_then_the_rest)
{
	int8_t st[10] = { 0, 0, 1, 0, BANKMAP_ST_ABSENT, 0, 0, 0, BANKMAP_ST_UNKNOWN, 0 };
	uint64_t first[] = { 7, 3, 7, 2 };
	struct bankmap_mplan p;

	cr_assert_eq(bankmap_migrate_plan(10, st, 1, first, 4, 3, &p), 0);
	cr_expect_eq(p.nr_first, 2, "7 and 3 (7 once; 2 is already on node 1)");
	cr_expect_eq(p.pages[0], 7);
	cr_expect_eq(p.pages[1], 3);
	uint64_t rest[] = { 0, 1, 5, 6, 8, 9 };
	cr_assert_eq(p.nr_pages, 8);
	for (int i = 0; i < 6; i++)
		cr_expect_eq(p.pages[2 + i], rest[i], "page %d: %llu", 2 + i,
			     (unsigned long long)p.pages[2 + i]);
	cr_expect_eq(p.skipped_on_target, 1);
	cr_expect_eq(p.skipped_absent, 1);
	cr_expect_eq(p.nr_batches, 3);
	bankmap_mplan_free(&p);
	cr_assert_eq(bankmap_migrate_plan(10, NULL, 0, NULL, 0, 4, &p), 0);
	cr_expect_eq(p.nr_pages, 10, "no status: every page");
	bankmap_mplan_free(&p);
	first[0] = 10;
	cr_expect_eq(bankmap_migrate_plan(10, st, 1, first, 1, 4, &p), -EINVAL);
	cr_expect_eq(bankmap_migrate_plan(10, st, -1, NULL, 0, 4, &p), -EINVAL);
	cr_expect_eq(bankmap_migrate_plan(10, st, 1, NULL, 0, 0, &p), -EINVAL);
}

Test(bankmap_mplan, predicted_cost)
{
	struct bankmap_cost c;

	bankmap_migrate_predict(1000, 0, 0, &c);
	cr_expect_eq(c.cpu_ns, 85000, "the documented default 85 ns/page");
	cr_expect_eq(c.wall_ns, 85000);
	bankmap_migrate_predict(1000, 200, 0, &c);
	cr_expect_eq(c.cpu_ns, 200000);
	bankmap_migrate_predict(25600, 0, 100, &c);   /* 100 MiB at 100 MiB/s: 1 s */
	cr_expect_eq(c.cpu_ns, 2176000);
	cr_expect_eq(c.wall_ns, 1000000000);
}

Test(bankmap_worker, batches_and_targets, .init = setup, .fini = teardown)
{
	uint64_t first[] = { 100, 5 };
	struct bankmap_worker_stats s;
	struct bankmap_mplan p;
	long id;

	cr_assert_eq(bankmap_migrate_plan(NR, NULL, 1, first, 2, 512, &p), 0);
	start(0, 3);
	id = bankmap_worker_submit(w, mem, &p);
	cr_assert_gt(id, 0);
	cr_assert_eq(bankmap_worker_wait(w, 5000000000ull), 0);
	bankmap_worker_stats(w, &s);
	cr_expect_eq(s.request, (uint64_t)id);
	cr_expect_eq(s.pages_total, NR);
	cr_expect_eq(s.pages_done, NR);
	cr_expect_eq(s.pages_failed, 0);
	cr_expect_eq(s.bytes_moved, NR * 4096ull);
	cr_expect_eq(s.batches, 4);
	cr_expect_gt(s.longest_batch_ns, 0);
	cr_expect_eq(f.nr_calls, 4);
	for (int i = 0; i < f.nr_calls; i++) {
		cr_expect_eq(f.calls[i].op, 'm');
		cr_expect_eq(f.calls[i].node, 1);
		cr_expect_eq(f.calls[i].count, 512);
	}
	cr_expect_eq(f.calls[0].addr, (uintptr_t)mem + 100 * 4096, "written pages first");
	for (int i = 0; i < NR; i++)
		cr_assert_eq(f.page_node[i], 1, "page %d on node %d", i, f.page_node[i]);
	bankmap_mplan_free(&p);
}

Test(bankmap_worker, quota_is_a_lower_bound_on_time, .init = setup, .fini = teardown)
{
	struct bankmap_worker_stats s;
	struct bankmap_mplan p;

	/* 8 MiB at 32 MiB/s in 64-page (256 KiB) batches: >= (8 MiB - 256 KiB) / 32 MiB/s */
	cr_assert_eq(bankmap_migrate_plan(NR, NULL, 1, NULL, 0, 64, &p), 0);
	start(32, 3);
	cr_assert_gt(bankmap_worker_submit(w, mem, &p), 0);
	cr_assert_eq(bankmap_worker_wait(w, 10000000000ull), 0);
	bankmap_worker_stats(w, &s);
	cr_expect_eq(s.pages_done, NR);
	cr_expect_geq(s.elapsed_ns, 242000000ull, "8 MiB at 32 MiB/s took %llu ns",
		      (unsigned long long)s.elapsed_ns);
	cr_expect_lt(s.elapsed_ns, 2000000000ull, "and not far more: %llu ns",
		     (unsigned long long)s.elapsed_ns);
	/* the recorded calls are spaced by the quota: 256 KiB every ~7.8 ms */
	uint64_t span = f.calls[f.nr_calls - 1].t_ns - f.calls[0].t_ns;
	cr_expect_geq(span, 31ull * 7800000, "span %llu", (unsigned long long)span);
	bankmap_mplan_free(&p);
}

Test(bankmap_worker, failures_counted_explained_and_retried, .init = setup, .fini = teardown)
{
	struct bankmap_worker_stats s;
	struct bankmap_mplan p;

	for (int i = 0; i < 16; i++)
		f.page_node[i] = -ENOENT;          /* never touched */
	f.fail_every = 10;                         /* pages 3, 13, 23 ...: EBUSY twice */
	f.fail_phase = 3;
	f.fail_errno = EBUSY;
	f.fail_times = 2;
	cr_assert_eq(bankmap_migrate_plan(NR, NULL, 1, NULL, 0, 256, &p), 0);
	start(0, 3);
	cr_assert_gt(bankmap_worker_submit(w, mem, &p), 0);
	cr_assert_eq(bankmap_worker_wait(w, 5000000000ull), 0);
	bankmap_worker_stats(w, &s);
	cr_expect_eq(s.failed[BANKMAP_F_ABSENT], 16);
	cr_expect_eq(s.failed[BANKMAP_F_EBUSY], 0, "two failures, three retries: all moved");
	cr_expect_eq(s.retry_rounds, 2);
	cr_expect_eq(s.retried_pages, 2 * 203, "pages 3 and 13 are absent: 203 busy pages, twice (%llu)",
		     (unsigned long long)s.retried_pages);
	cr_expect_eq(s.pages_done, NR - 16);
	cr_expect_eq(s.pages_failed, 16);
	cr_expect(strstr(s.why, "not present"), "%s", s.why);
	bankmap_mplan_free(&p);
}

Test(bankmap_worker, retries_are_bounded, .init = setup, .fini = teardown)
{
	struct bankmap_worker_stats s;
	struct bankmap_mplan p;

	f.fail_every = 2;                          /* even pages: ENOMEM for ever */
	f.fail_phase = 0;
	f.fail_errno = ENOMEM;
	f.fail_times = 100;
	cr_assert_eq(bankmap_migrate_plan(64, NULL, 1, NULL, 0, 16, &p), 0);
	start(0, 2);
	cr_assert_gt(bankmap_worker_submit(w, mem, &p), 0);
	cr_assert_eq(bankmap_worker_wait(w, 5000000000ull), 0);
	bankmap_worker_stats(w, &s);
	cr_expect_eq(s.retry_rounds, 2);
	cr_expect_eq(s.failed[BANKMAP_F_ENOMEM], 32);
	cr_expect_eq(s.pages_done, 32);
	cr_expect(strstr(s.why, "ENOMEM") && strstr(s.why, "no free memory"), "%s", s.why);
	bankmap_mplan_free(&p);
}

Test(bankmap_worker, nonexistent_node_ends_the_request, .init = setup, .fini = teardown)
{
	struct bankmap_worker_stats s;
	struct bankmap_mplan p;

	cr_assert_eq(bankmap_migrate_plan(NR, NULL, 5, NULL, 0, 256, &p), 0);
	start(0, 3);
	cr_assert_gt(bankmap_worker_submit(w, mem, &p), 0);
	cr_assert_eq(bankmap_worker_wait(w, 5000000000ull), 0);
	bankmap_worker_stats(w, &s);
	cr_expect_eq(s.call_err, -ENODEV);
	cr_expect_eq(s.failed[BANKMAP_F_ENODEV], 256);
	cr_expect_eq(s.batches, 1, "not one batch more");
	cr_expect(strstr(s.why, "does not exist"), "%s", s.why);
	cr_expect_eq(f.page_node[0], 0, "nothing moved");
	bankmap_mplan_free(&p);
}

Test(bankmap_worker, a_newer_request_supersedes, .init = setup, .fini = teardown)
{
	struct bankmap_worker_stats s;
	struct bankmap_mplan p1, p0;
	long id;

	f.per_page_delay_ns = 20000;               /* 64 pages: ~1.3 ms per batch */
	cr_assert_eq(bankmap_migrate_plan(NR, NULL, 1, NULL, 0, 64, &p1), 0);
	cr_assert_eq(bankmap_migrate_plan(64, NULL, 0, NULL, 0, 64, &p0), 0);
	start(0, 3);
	cr_assert_gt(bankmap_worker_submit(w, mem, &p1), 0);
	util_sleep_ns(5000000);
	id = bankmap_worker_submit(w, mem, &p0);
	cr_assert_eq(bankmap_worker_wait(w, 10000000000ull), 0);
	bankmap_worker_stats(w, &s);
	cr_expect_eq(s.request, (uint64_t)id);
	cr_expect_eq(s.superseded, 1);
	cr_expect_eq(s.target_node, 0);
	cr_expect_eq(s.pages_done, 64);
	cr_expect_lt(f.pages_moved, NR + 64, "the first request stopped early: %llu moved",
		     (unsigned long long)f.pages_moved);
	cr_expect_eq(f.page_node[0], 0);
	cr_expect_eq(f.page_node[NR - 1], 0, "the last pages were never moved");
	bankmap_mplan_free(&p1);
	bankmap_mplan_free(&p0);
}

Test(bankmap_worker, destroy_while_busy, .init = setup, .fini = teardown)
{
	struct bankmap_worker_stats s;
	struct bankmap_mplan p;
	uint64_t t0;

	cr_assert_eq(bankmap_migrate_plan(NR, NULL, 1, NULL, 0, 16, &p), 0);
	start(1, 3);                               /* 1 MiB/s: 8 s for all */
	cr_assert_gt(bankmap_worker_submit(w, mem, &p), 0);
	util_sleep_ns(20000000);
	bankmap_worker_stats(w, &s);
	cr_expect(s.busy);
	t0 = util_now_ns();
	bankmap_worker_destroy(w);
	w = NULL;
	cr_expect_lt(util_now_ns() - t0, 100000000ull, "stops at once, not after the quota");
	cr_expect_lt(f.pages_moved, NR);
	bankmap_mplan_free(&p);
}

Test(bankmap_fail, names_and_classes)
{
	cr_expect_eq(bankmap_fail_of_errno(ENOMEM), BANKMAP_F_ENOMEM);
	cr_expect_eq(bankmap_fail_of_errno(EBUSY), BANKMAP_F_EBUSY);
	cr_expect_eq(bankmap_fail_of_errno(ENODEV), BANKMAP_F_ENODEV);
	cr_expect_eq(bankmap_fail_of_errno(EFAULT), BANKMAP_F_ABSENT);
	cr_expect_eq(bankmap_fail_of_errno(ENOENT), BANKMAP_F_ABSENT);
	cr_expect_eq(bankmap_fail_of_errno(EACCES), BANKMAP_F_OTHER);
	cr_expect_str_eq(bankmap_fail_name(BANKMAP_F_EBUSY), "EBUSY");
	cr_expect(strstr(bankmap_fail_explain(BANKMAP_F_ENOMEM), "retried"));
}
