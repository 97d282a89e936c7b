/*
 * bankmap, in one run:
 *  1. migration throughput: the same 128 MiB of touched anonymous pages moved
 *     with a raw move_pages loop (1024-page batches, this thread) and through
 *     avmm's migration worker (its own thread, no quota, the same batches,
 *     submit to done), REPS interleaved repetitions (alternating which goes
 *     first); medians in MiB/s and the ratio worker/raw (target >= 0.9). On
 *     a one-node host both move pages to node 0, where they already are: the
 *     kernel still looks up and checks every page, but copies nothing (the
 *     output says so).
 *  2. histogram sampling: one bankmap_sampler tick (move_pages query of
 *     TICK_PAGES pages) over the same range; median ns per tick and per page,
 *     and what that is per GiB of guest RAM: a full pass (262144 pages) and a
 *     tick that samples 1% of a GiB.
 * Last line: worker_vs_raw=X query_ns_per_page=Y full_pass_ms_per_gib=Z
 */
#include <numaif.h>
#include <string.h>
#include <sys/mman.h>

#include "bench/bench_util.h"
#include "bankmap/bankmap.h"
#include "common/util.h"

#define BYTES (128ull << 20)
#define PAGES (BYTES / 4096)
#define BATCH 1024
#define REPS 7
#define TICK_PAGES 4096
#define TICKS 64

static void **addr;
static int *nodes, *status;

static double raw_pass(char *mem, int node, uint64_t *fails)
{
	uint64_t t0 = util_now_ns();

	for (uint64_t off = 0; off < PAGES; off += BATCH) {
		for (int i = 0; i < BATCH; i++) {
			addr[i] = mem + (off + i) * 4096;
			nodes[i] = node;
		}
		if (move_pages(0, BATCH, addr, nodes, status, MPOL_MF_MOVE) < 0)
			(*fails) += BATCH;
		for (int i = 0; i < BATCH; i++)
			*fails += status[i] != node;
	}
	return (double)(util_now_ns() - t0);
}

static double worker_pass(struct bankmap_worker *w, char *mem, const struct bankmap_mplan *p,
			  uint64_t *fails)
{
	struct bankmap_worker_stats s;
	uint64_t t0 = util_now_ns();

	if (bankmap_worker_submit(w, mem, p) < 0 || bankmap_worker_wait(w, 60000000000ull))
		return -1;
	t0 = util_now_ns() - t0;
	bankmap_worker_stats(w, &s);
	*fails += s.pages_failed + (s.pages_total - s.pages_done - s.pages_failed);
	return (double)t0;
}

int main(void)
{
	struct bankmap_worker_cfg cfg = { .ops = &bankmap_real_ops };
	double raw[REPS], wrk[REPS], tick[TICKS], mib = BYTES / 1048576.0;
	uint64_t raw_fail = 0, wrk_fail = 0;
	struct bankmap_sampler *s;
	struct bankmap_worker *w;
	struct bankmap_mplan plan;
	struct bankmap_topo topo;
	char why[256];
	int target = 0, rc;
	char *mem;

	addr = calloc(BATCH, sizeof(*addr));
	nodes = calloc(BATCH, sizeof(*nodes));
	status = calloc(BATCH, sizeof(*status));
	mem = mmap(NULL, BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!addr || !nodes || !status || mem == MAP_FAILED)
		return 1;
	madvise(mem, BYTES, MADV_NOHUGEPAGE);   /* 4 KiB pages, like the estimate */
	memset(mem, 1, BYTES);
	if (bankmap_topo_load(NULL, NULL, &topo, why, sizeof(why))) {
		fprintf(stderr, "bankmap bench: %s\n", why);
		return 1;
	}
	if (topo.nr_nodes > 1)
		target = topo.node[1].id;
	printf("migration of %.0f MiB (%llu pages of 4 KiB) in %d-page batches, %d reps; "
	       "%d node(s) here: %s\n", mib, (unsigned long long)PAGES, BATCH, REPS, topo.nr_nodes,
	       topo.nr_nodes > 1 ? "pages alternate between the first two nodes" :
	       "target node 0, where the pages already are (lookup and checks, no copy)");
	if ((rc = bankmap_migrate_plan(PAGES, NULL, target, NULL, 0, BATCH, &plan)) ||
	    (rc = bankmap_worker_start(&cfg, &w))) {
		fprintf(stderr, "bankmap bench: plan/worker: %s\n", strerror(-rc));
		return 1;
	}
	for (int r = 0; r < REPS; r++) {
		int back = topo.nr_nodes > 1 ? topo.node[0].id : 0;

		/* alternate which goes first; put the pages back after each pass */
		for (int k = 0; k < 2; k++) {
			if ((k + r) % 2 == 0)
				raw[r] = raw_pass(mem, target, &raw_fail);
			else if ((wrk[r] = worker_pass(w, mem, &plan, &wrk_fail)) < 0)
				return 1;
			if (topo.nr_nodes > 1)
				raw_pass(mem, back, &(uint64_t){ 0 });
		}
	}
	bankmap_worker_destroy(w);
	bankmap_mplan_free(&plan);
	double raw_ns = bench_median(raw, REPS), wrk_ns = bench_median(wrk, REPS);
	double raw_mibs = mib / (raw_ns / 1e9), wrk_mibs = mib / (wrk_ns / 1e9);
	printf("raw move_pages loop: median %.2f ms, %.0f MiB/s, %.1f ns/page (%llu page failures)\n",
	       raw_ns / 1e6, raw_mibs, raw_ns / PAGES, (unsigned long long)raw_fail);
	printf("avmm worker:         median %.2f ms, %.0f MiB/s, %.1f ns/page (%llu page failures)\n",
	       wrk_ns / 1e6, wrk_mibs, wrk_ns / PAGES, (unsigned long long)wrk_fail);

	if (bankmap_sampler_init(mem, BYTES, TICK_PAGES, 0, &s))
		return 1;
	for (int t = 0; t < TICKS; t++) {
		uint64_t t0 = util_now_ns();

		if (bankmap_sampler_tick(s, &bankmap_real_ops, why, sizeof(why)) != TICK_PAGES) {
			fprintf(stderr, "bankmap bench: %s\n", why);
			return 1;
		}
		tick[t] = (double)(util_now_ns() - t0);
	}
	bankmap_sampler_free(s);
	double tick_ns = bench_median(tick, TICKS), per_page = tick_ns / TICK_PAGES;
	printf("histogram tick (%d pages queried of a %.0f MiB range): median %.1f us, %.1f ns/page; "
	       "per GiB of guest RAM: full pass %.2f ms, a 1%% tick (2621 pages) %.1f us\n",
	       TICK_PAGES, mib, tick_ns / 1e3, per_page, per_page * 262144 / 1e6,
	       per_page * 2621 / 1e3);
	printf("worker_vs_raw=%.3f query_ns_per_page=%.1f full_pass_ms_per_gib=%.2f (target "
	       "worker_vs_raw >= 0.9)\n", wrk_mibs / raw_mibs, per_page, per_page * 262144 / 1e6);
	munmap(mem, BYTES);
	return 0;
}
