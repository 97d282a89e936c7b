/* The session's written-page sets (adapt/session_written.c) on fake data:
 * when written_sets turns tracking on, a vCPU's remote share from its written
 * pages on a fake 2-node status array, vmm-core's two-region layout (RAM
 * above the 4 GiB hole), and the migration plan with the written pages of
 * the target node's vCPUs first. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "adapt/session_bankmap.h"

#define NR 1024   /* pages */

static struct bankmap_topo topo(int nodes, int memoryless)
{
	struct bankmap_topo t;

	memset(&t, 0, sizeof(t));
	t.nr_nodes = nodes;
	for (int i = 0; i < nodes; i++)
		t.node[i] = (struct bankmap_node){ .id = i, .nr_cpus = 2,
			.total_bytes = i < nodes - memoryless ? 8ull << 30 : 0 };
	return t;
}

Test(bm_written, written_sets_auto_tracks_only_with_two_memory_nodes)
{
	struct bankmap_topo one = topo(1, 0), two = topo(2, 0), cpu_only = topo(2, 1);
	char why[160];

	cr_expect_eq(adapt_bm_written_choose(POL_BM_WRITTEN_AUTO, &one, why, sizeof(why)),
		     VMM_DIRTY_OFF);
	cr_expect(strstr(why, "1 NUMA node with memory"), "%s", why);
	cr_expect_eq(adapt_bm_written_choose(POL_BM_WRITTEN_AUTO, &cpu_only, why, sizeof(why)),
		     VMM_DIRTY_OFF, "a node without memory holds no guest page");
	cr_expect_eq(adapt_bm_written_choose(POL_BM_WRITTEN_AUTO, &two, why, sizeof(why)),
		     VMM_DIRTY_AUTO, "ring where the host has it, else the bitmap");
	cr_expect(strstr(why, "2 NUMA nodes"), "%s", why);
	cr_expect_eq(adapt_bm_written_choose(POL_BM_WRITTEN_AUTO, NULL, why, sizeof(why)),
		     VMM_DIRTY_OFF, "no topology");
	cr_expect_eq(adapt_bm_written_choose(POL_BM_WRITTEN_YES, &one, why, sizeof(why)),
		     VMM_DIRTY_AUTO);
	cr_expect_eq(adapt_bm_written_choose(POL_BM_WRITTEN_NO, &two, why, sizeof(why)),
		     VMM_DIRTY_OFF);
	cr_expect(strstr(why, "written_sets = no"), "%s", why);
}

static void set_bit(uint64_t *s, uint64_t i) { s[i / 64] |= 1ull << (i % 64); }

/* Pages 0-511 on node 0, 512-1023 on node 1, 1000-1023 never sampled. */
static void two_node_status(int8_t *st)
{
	for (int i = 0; i < NR; i++)
		st[i] = i < 512 ? 0 : i < 1000 ? 1 : BANKMAP_ST_UNKNOWN;
}

static void one_region(struct adapt_bm_written *w, int sets)
{
	struct adapt_bm_region r = { 0, 0, NR };

	cr_assert_eq(adapt_bm_written_init(w, VMM_DIRTY_RING, sets, NR, &r, 1, NR, 5), 0, "%s",
		     w->why);
}

Test(bm_written, remote_share_counts_only_the_pages_the_vcpu_wrote)
{
	struct adapt_bm_written w;
	struct bankmap_remote r;
	int8_t st[NR];

	two_node_status(st);
	one_region(&w, 2);
	/* vcpu0 (on node 0) wrote 600-609 (node 1): all remote; the 478 other
	 * node-1 pages it never wrote do not count, nor do the 512 local ones */
	for (int i = 600; i < 610; i++)
		set_bit(w.set[0], i);
	w.pages[0] = 10;
	cr_assert_eq(adapt_bm_written_share(&w, 0, 0, st, &r), 0);
	cr_expect_eq(r.remote, 10);
	cr_expect_eq(r.local, 0);
	cr_expect_float_eq(r.remote_pct, 100, 1e-9);
	/* the same vCPU seen from node 1: nothing remote */
	cr_assert_eq(adapt_bm_written_share(&w, 0, 1, st, &r), 0);
	cr_expect_float_eq(r.remote_pct, 0, 1e-9);
	/* vcpu1 wrote 3 pages on node 0, 1 on node 1, 2 never sampled: 25% */
	set_bit(w.set[1], 0);
	set_bit(w.set[1], 1);
	set_bit(w.set[1], 2);
	set_bit(w.set[1], 700);
	set_bit(w.set[1], 1001);
	set_bit(w.set[1], 1023);
	cr_assert_eq(adapt_bm_written_share(&w, 1, 0, st, &r), 0);
	cr_expect_eq(r.local, 3);
	cr_expect_eq(r.remote, 1);
	cr_expect_eq(r.unknown, 2);
	cr_expect_float_eq(r.remote_pct, 25, 1e-9);
	/* a new window: nothing written, no share */
	adapt_bm_written_reset(&w, 100);
	cr_expect_eq(w.pages[0], 0);
	cr_expect_eq(w.window_start_ns, 100);
	cr_assert_eq(adapt_bm_written_share(&w, 0, 0, st, &r), 0);
	cr_expect_float_eq(r.remote_pct, -1, 1e-9, "no written page: no share");
	cr_expect_eq(adapt_bm_written_share(&w, 2, 0, st, &r), -EINVAL, "no set 2");
	adapt_bm_written_free(&w);
}

/* vmm-core's layout of a guest bigger than the 32-bit hole: frames 0-255 are
 * pages 0-255 of the host range, frames 1024-1279 (above the hole) pages
 * 256-511. */
Test(bm_written, regions_above_the_hole_map_to_their_host_pages)
{
	struct adapt_bm_region r[2] = { { 0, 0, 256 }, { 1024, 256, 256 } };
	struct adapt_bm_written w;
	struct bankmap_remote rem;
	uint64_t *pages;
	size_t n;
	int8_t st[512];

	memset(st, 0, sizeof(st));
	st[261] = 1;
	st[262] = 1;
	cr_assert_eq(adapt_bm_written_init(&w, VMM_DIRTY_RING, 1, 1280, r, 2, 512, 0), 0, "%s", w.why);
	set_bit(w.set[0], 1024 + 5);   /* page 261: node 1 */
	set_bit(w.set[0], 7);          /* page 7: node 0 */
	cr_assert_eq(adapt_bm_written_share(&w, 0, 0, st, &rem), 0);
	cr_expect_eq(rem.remote, 1, "frame 1029 is page 261, on node 1");
	cr_expect_eq(rem.local, 1);
	cr_expect_float_eq(rem.remote_pct, 50, 1e-9);
	cr_assert_eq(adapt_bm_written_pages(&w, 1, &pages, &n), 0);
	cr_assert_eq(n, 2);
	cr_expect_eq(pages[0], 7);
	cr_expect_eq(pages[1], 261);
	free(pages);
	adapt_bm_written_free(&w);
	r[1].pfn = 1000;   /* not a multiple of 64 frames */
	cr_expect_eq(adapt_bm_written_init(&w, VMM_DIRTY_RING, 1, 1280, r, 2, 512, 0), -EINVAL);
	cr_expect(strstr(w.why, "not 256 KiB aligned"), "%s", w.why);
}

/* Migration to node 0: the pages written by the vCPUs on node 0 go first
 * (those already on node 0 are skipped), then the rest; a vCPU on node 1
 * does not put its pages first. */
Test(bm_written, migration_plan_puts_the_target_vcpus_written_pages_first)
{
	struct adapt_bm_written w;
	struct bankmap_mplan p;
	uint64_t *first;
	size_t n;
	int8_t st[NR];

	two_node_status(st);
	one_region(&w, 3);
	w.node[0] = 0;
	w.node[1] = 1;
	w.node[2] = 0;
	set_bit(w.set[0], 900);
	set_bit(w.set[0], 10);    /* already on node 0 */
	set_bit(w.set[1], 513);   /* vcpu1 is on node 1 */
	set_bit(w.set[2], 600);
	set_bit(w.set[2], 900);   /* both wrote it: once */
	cr_assert_eq(adapt_bm_written_first(&w, 0, &first, &n), 0);
	cr_assert_eq(n, 3, "10, 600, 900");
	cr_assert_eq(bankmap_migrate_plan(NR, st, 0, first, n, 512, &p), 0);
	cr_expect_eq(p.nr_first, 2, "600 and 900 (10 is on node 0 already)");
	cr_expect_eq(p.pages[0], 600);
	cr_expect_eq(p.pages[1], 900);
	cr_expect_eq(p.pages[2], 512, "then the rest in order, 513 among them");
	cr_expect_eq(p.nr_pages, 512, "512-999 on node 1, 1000-1023 not sampled (moved)");
	bankmap_mplan_free(&p);
	free(first);
	/* to node 1: vcpu1's page */
	cr_assert_eq(adapt_bm_written_first(&w, 1, &first, &n), 0);
	cr_assert_eq(n, 1);
	cr_expect_eq(first[0], 513);
	free(first);
	/* no vCPU on the target (node 2): every vCPU's pages go first */
	cr_assert_eq(adapt_bm_written_first(&w, 2, &first, &n), 0);
	cr_expect_eq(n, 4, "10, 513, 600, 900");
	free(first);
	/* the VM-wide bitmap: its one set */
	adapt_bm_written_free(&w);
	cr_assert_eq(adapt_bm_written_init(&w, VMM_DIRTY_BITMAP, 1, NR,
					   &(struct adapt_bm_region){ 0, 0, NR }, 1, NR, 0), 0);
	set_bit(w.set[0], 42);
	cr_assert_eq(adapt_bm_written_first(&w, 0, &first, &n), 0);
	cr_assert_eq(n, 1);
	cr_expect_eq(first[0], 42);
	free(first);
	adapt_bm_written_free(&w);
	/* tracking off: nothing first */
	cr_assert_eq(adapt_bm_written_first(&w, 0, &first, &n), 0);
	cr_expect_eq(n, 0);
	cr_expect_null(first);
}
