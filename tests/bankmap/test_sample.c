/* bankmap observation: the rotating histogram sampler through the fake, and
 * the remote-access share of a vCPU's written pages. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bankmap/bankmap.h"

#define NR 1000
static char mem[NR * 4096] __attribute__((aligned(4096)));
static struct bankmap_fake f;

Test(bankmap_sample, rotation_covers_the_range_within_bounds)
{
	struct bankmap_sampler *s;
	struct bankmap_hist h;
	struct bankmap_ops ops;
	char why[256];

	cr_assert_eq(bankmap_fake_init(&f, mem, NR, 0x3, 0, &ops), 0);
	for (int i = 0; i < NR; i++)   /* 1/4 on node 1, 1/10 absent */
		f.page_node[i] = i % 10 == 9 ? -ENOENT : i % 4 == 1 ? 1 : 0;
	cr_assert_eq(bankmap_sampler_init(mem, sizeof(mem), 64, 0, &s), 0);
	cr_expect_eq(bankmap_sampler_pass_ticks(s), 16);
	for (int k = 0; k < 16; k++) {
		int n = bankmap_sampler_tick(s, &ops, why, sizeof(why));

		cr_assert_gt(n, 0, "%s", why);
		cr_expect_leq(n, 64, "tick %d queried %d pages", k, n);
		cr_expect_eq(f.calls[f.nr_calls - 1].op, 'q');
		bankmap_sampler_hist(s, &h);
		cr_expect_eq(h.complete, k == 15, "complete after tick %d: %d", k, h.complete);
	}
	bankmap_sampler_hist(s, &h);
	cr_expect_eq(h.unknown, 0);
	cr_expect_eq(h.absent, 100);
	cr_expect_eq(h.pages[1], 200, "250 pages %% 4 == 1, 50 of them %% 20 == 9: %llu",
		     (unsigned long long)h.pages[1]);
	cr_expect_eq(h.pages[0] + h.pages[1] + h.absent, NR);
	cr_expect_eq(h.pages_queried, NR);
	/* the pages move: the next pass sees it, counts stay consistent */
	memset(f.page_node, 1, NR);
	for (int k = 0; k < 16; k++)
		bankmap_sampler_tick(s, &ops, why, sizeof(why));
	bankmap_sampler_hist(s, &h);
	cr_expect_eq(h.pages[1], NR);
	cr_expect_eq(h.pages[0], 0);
	bankmap_sampler_free(s);
	bankmap_fake_free(&f);
}

Test(bankmap_sample, one_tick_is_a_uniform_sample)
{
	struct bankmap_sampler *s;
	struct bankmap_hist h;
	struct bankmap_ops ops;
	char why[256];

	cr_assert_eq(bankmap_fake_init(&f, mem, NR, 0x3, 0, &ops), 0);
	for (int i = NR / 2; i < NR; i++)
		f.page_node[i] = 1;
	cr_assert_eq(bankmap_sampler_init(mem, sizeof(mem), 100, 0, &s), 0);
	cr_assert_eq(bankmap_sampler_tick(s, &ops, why, sizeof(why)), 100);
	bankmap_sampler_hist(s, &h);
	cr_expect_eq(h.pages[0], 50, "a contiguous chunk would see only node 0");
	cr_expect_eq(h.pages[1], 50);
	cr_expect_eq(h.unknown, NR - 100);
	bankmap_sampler_free(s);
	bankmap_fake_free(&f);
}

Test(bankmap_sample, bad_arguments)
{
	struct bankmap_sampler *s;

	cr_expect_eq(bankmap_sampler_init(mem + 1, 4096, 8, 0, &s), -EINVAL);
	cr_expect_eq(bankmap_sampler_init(mem, 0, 8, 0, &s), -EINVAL);
	cr_expect_eq(bankmap_sampler_init(mem, 4096, 0, 0, &s), -EINVAL);
	cr_expect_eq(bankmap_sampler_init(mem, 4096, BANKMAP_SAMPLER_MAX_PAGES + 1, 0, &s), -EINVAL);
}

Test(bankmap_remote, list_and_bitmap)
{
	int8_t st[8] = { 0, 0, 1, 1, 1, BANKMAP_ST_ABSENT, BANKMAP_ST_UNKNOWN, 0 };
	uint64_t list[] = { 0, 2, 3, 5 }, bitmap[1] = { (1u << 2) | (1u << 3) | (1u << 4) | (1u << 7) };
	struct bankmap_remote r;

	cr_assert_eq(bankmap_remote_share(0, list, 4, NULL, st, 8, &r), 0);
	cr_expect_eq(r.local, 1);
	cr_expect_eq(r.remote, 2);
	cr_expect_eq(r.unknown, 1);
	cr_expect_float_eq(r.remote_pct, 200.0 / 3, 1e-9);
	cr_assert_eq(bankmap_remote_share(1, NULL, 0, bitmap, st, 8, &r), 0);
	cr_expect_eq(r.local, 3);
	cr_expect_eq(r.remote, 1);
	cr_expect_float_eq(r.remote_pct, 25.0, 1e-9);
	list[0] = 8;
	cr_expect_eq(bankmap_remote_share(0, list, 4, NULL, st, 8, &r), -EINVAL);
	bitmap[0] = 1u << 9;
	cr_expect_eq(bankmap_remote_share(0, NULL, 0, bitmap, st, 8, &r), -EINVAL);
	cr_assert_eq(bankmap_remote_share(0, NULL, 0, NULL, st, 8, &r), 0);
	cr_expect_float_eq(r.remote_pct, -1, 1e-9, "no written page known: no share");
}
