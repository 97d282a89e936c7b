/* bankmap on this host's real kernel: mbind to node 0, move_pages query,
 * the histogram, a request for a node that does not exist refused while the
 * memory stays usable, the worker with the real move_pages, `avmm banks`. */
#include <criterion/criterion.h>
#include <errno.h>
#include <numaif.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bankmap/bankmap.h"
#include "coremap/coremap.h"
#include "tests/lib/run_helpers.h"

#define BYTES (64ull << 20)
#define PAGES (BYTES / 4096)
static char *mem;
static struct bankmap_topo topo;

static void setup(void)
{
	struct coremap_topo *ct;
	char why[256] = "";

	cr_assert_eq(coremap_topo_load(NULL, &ct), 0);
	if (bankmap_topo_load(ct, NULL, &topo, why, sizeof(why)))
		cr_skip_test("no NUMA information on this host: %s", why);
	coremap_topo_free(ct);
	mem = mmap(NULL, BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(mem, MAP_FAILED);
}

static void teardown(void)
{
	if (mem)
		munmap(mem, BYTES);
	mem = NULL;
}

/* 64 MiB bound to node 0 (strict) before first touch, then touched. */
static void bind_node0_and_touch(void)
{
	int nodes[] = { 0 };
	struct bankmap_place_req r = { .policy = BANKMAP_EXPLICIT, .strict = true,
				       .nodes = nodes, .nr_nodes = 1 };
	struct bankmap_plan p;
	char why[256];

	cr_assert_eq(bankmap_plan_place(&topo, &r, &p), 0, "%s", p.why);
	cr_assert_eq(bankmap_bind(mem, BYTES, &p, &bankmap_real_ops, &topo, why, sizeof(why)), 0,
		     "%s", why);
	memset(mem, 0x5a, BYTES);
}

TestSuite(bankmap_real, .init = setup, .fini = teardown);

Test(bankmap_real, bound_to_node0_every_page_status_0)
{
	struct bankmap_sampler *s;
	struct bankmap_hist h;
	const int8_t *st;
	uint64_t n, bad = 0;
	unsigned long mask = 0;
	char why[256];
	int mode = -1;

	bind_node0_and_touch();
	cr_assert_eq(get_mempolicy(&mode, &mask, 65, mem, MPOL_F_ADDR), 0);
	cr_expect_eq(mode, MPOL_BIND);
	cr_expect_eq(mask, 1ul);
	cr_assert_eq(bankmap_sampler_init(mem, BYTES, PAGES, 0, &s), 0);
	cr_assert_eq(bankmap_sampler_tick(s, &bankmap_real_ops, why, sizeof(why)), (int)PAGES, "%s", why);
	st = bankmap_sampler_status(s, &n);
	cr_assert_eq(n, PAGES);
	for (uint64_t i = 0; i < n; i++)
		bad += st[i] != 0;
	cr_expect_eq(bad, 0, "%llu of %llu pages not on node 0", (unsigned long long)bad,
		     (unsigned long long)n);
	bankmap_sampler_hist(s, &h);
	cr_expect(h.complete);
	cr_expect_eq(h.pages[0], PAGES, "histogram: 100%% node 0 (%llu of %llu)",
		     (unsigned long long)h.pages[0], (unsigned long long)PAGES);
	bankmap_sampler_free(s);
}

Test(bankmap_real, bounded_sampling_covers_the_range)
{
	struct bankmap_sampler *s;
	struct bankmap_hist h;
	char why[256];

	bind_node0_and_touch();
	munmap(mem + BYTES / 2, 4096 * 16);   /* a hole: not mapped */
	cr_assert_eq(bankmap_sampler_init(mem, BYTES, 1024, 0, &s), 0);
	for (uint64_t t = 0; t < bankmap_sampler_pass_ticks(s); t++)
		cr_assert_leq(bankmap_sampler_tick(s, &bankmap_real_ops, why, sizeof(why)), 1024, "%s", why);
	bankmap_sampler_hist(s, &h);
	cr_expect(h.complete);
	cr_expect_eq(h.absent, 16, "the 16 unmapped pages: %llu", (unsigned long long)h.absent);
	cr_expect_eq(h.pages[0], PAGES - 16);
	bankmap_sampler_free(s);
}

Test(bankmap_real, node1_refused_and_memory_usable)
{
	int nodes[] = { 1 };
	struct bankmap_place_req r = { .policy = BANKMAP_EXPLICIT, .strict = true,
				       .nodes = nodes, .nr_nodes = 1 };
	struct bankmap_worker_cfg c = { .ops = &bankmap_real_ops };
	struct bankmap_worker_stats ws;
	struct bankmap_worker *w;
	struct bankmap_mplan mp;
	struct bankmap_plan p;
	char why[256];
	int node = -1;

	if (bankmap_topo_index(&topo, 1) >= 0)
		cr_skip_test("this host has a node 1: the refusal needs a machine without one");
	bind_node0_and_touch();
	/* the planner names the node and the nodes that exist */
	cr_expect_eq(bankmap_plan_place(&topo, &r, &p), -EINVAL);
	cr_expect(strstr(p.why, "node 1 does not exist") && strstr(p.why, "existing nodes: 0,"),
		  "%s", p.why);
	/* the kernel refuses mbind to node 1 (EINVAL), explained */
	p = (struct bankmap_plan){ .mode = MPOL_BIND, .nodemask = 2, .mbind_flags = MPOL_MF_MOVE };
	cr_expect_eq(bankmap_bind(mem, BYTES, &p, &bankmap_real_ops, NULL, why, sizeof(why)), -EINVAL);
	cr_expect(strstr(why, "EINVAL") && strstr(why, "not online"), "%s", why);
	/* move_pages to node 1 through the worker: ENODEV, counted and explained */
	cr_assert_eq(bankmap_migrate_plan(PAGES, NULL, 1, NULL, 0, 512, &mp), 0);
	cr_assert_eq(bankmap_worker_start(&c, &w), 0);
	cr_assert_gt(bankmap_worker_submit(w, mem, &mp), 0);
	cr_assert_eq(bankmap_worker_wait(w, 10000000000ull), 0);
	bankmap_worker_stats(w, &ws);
	cr_expect_eq(ws.call_err, -ENODEV, "move_pages to node 1: %d (%s)", ws.call_err, ws.why);
	cr_expect_gt(ws.failed[BANKMAP_F_ENODEV], 0);
	cr_expect_eq(ws.pages_done, 0);
	cr_expect(strstr(ws.why, "does not exist"), "%s", ws.why);
	bankmap_worker_destroy(w);
	bankmap_mplan_free(&mp);
	/* still usable, still on node 0 */
	for (uint64_t i = 0; i < BYTES; i += 4096)
		cr_assert_eq(mem[i], 0x5a);
	memset(mem, 0x33, BYTES);
	cr_expect_eq(mem[BYTES - 1], 0x33);
	cr_assert_eq(get_mempolicy(&node, NULL, 0, mem + BYTES / 2, MPOL_F_NODE | MPOL_F_ADDR), 0);
	cr_expect_eq(node, 0);
}

Test(bankmap_real, worker_moves_to_node0)
{
	struct bankmap_worker_cfg c = { .ops = &bankmap_real_ops };
	struct bankmap_worker_stats ws;
	struct bankmap_worker *w;
	struct bankmap_mplan mp;
	uint64_t first[] = { 10, 11, 12 };

	memset(mem, 1, BYTES);
	cr_assert_eq(bankmap_migrate_plan(PAGES, NULL, 0, first, 3, 1024, &mp), 0);
	cr_assert_eq(bankmap_worker_start(&c, &w), 0);
	cr_assert_gt(bankmap_worker_submit(w, mem, &mp), 0);
	cr_assert_eq(bankmap_worker_wait(w, 10000000000ull), 0);
	bankmap_worker_stats(w, &ws);
	cr_expect_eq(ws.pages_done, PAGES, "%s", ws.why);
	cr_expect_eq(ws.pages_failed, 0, "%s", ws.why);
	cr_expect_eq(ws.batches, PAGES / 1024);
	bankmap_worker_destroy(w);
	bankmap_mplan_free(&mp);
}

Test(bankmap_real, numa_balancing_binding)
{
	struct bankmap_plan p = { .mode = MPOL_BIND, .mode_flags = MPOL_F_NUMA_BALANCING, .nodemask = 1 };
	char why[256];

	cr_assert_eq(bankmap_bind(mem, BYTES, &p, &bankmap_real_ops, &topo, why, sizeof(why)), 0,
		     "%s", why);
	cr_expect(strstr(why, "AutoNUMA"), "either with or explicitly without: %s", why);
}

static pid_t start_holder(void)
{
	int fd[2];
	pid_t pid;
	char c;

	cr_assert_eq(pipe(fd), 0);
	pid = fork();
	if (pid == 0) {
		char *m = mmap(NULL, 32 << 20, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (m != MAP_FAILED)
			memset(m, 7, 24 << 20);     /* 24 of 32 MiB touched */
		(void)!write(fd[1], "x", 1);
		pause();
		_exit(0);
	}
	close(fd[1]);
	cr_assert_eq(read(fd[0], &c, 1), 1);
	close(fd[0]);
	return pid;
}

/* `avmm banks` reads the holder's largest anonymous mapping: under
 * AddressSanitizer that is the shadow (terabytes), not the test's 32 MiB. */
static void skip_under_asan(void)
{
#if defined(__SANITIZE_ADDRESS__)
	cr_skip_test("AddressSanitizer build: its shadow mapping (terabytes), not the holder's "
		     "32 MiB, is the holder's largest anonymous mapping; run without SAN=1");
#endif
}

static void stop_holder(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

Test(bankmap_cli, banks_pid_without_dram_mapping, .timeout = 60)
{
	static char out[16384];
	char pidarg[16];
	pid_t pid;
	const char *args[] = { "banks", "--pid", pidarg, "--machine", "/nonexistent/machine.ini", NULL };
	int rc;

	skip_under_asan();
	pid = start_holder();
	snprintf(pidarg, sizeof(pidarg), "%d", (int)pid);
	rc = run_avmm(out, sizeof(out), args);
	stop_holder(pid);
	cr_assert_eq(rc, 0, "%s", out);
	cr_expect(strstr(out, "node") && strstr(out, "guest MiB"), "%s", out);
	cr_expect(strstr(out, "\n0 ") && strstr(out, " 24.0 "), "node 0 holds the 24 MiB touched: %s", out);
	cr_expect(strstr(out, "(32.0 MiB)"), "%s", out);
	cr_expect(strstr(out, "not present (never touched): 8.0 MiB"), "%s", out);
	cr_expect(strstr(out, "no DRAM mapping configured") && strstr(out, "DRAMA"), "%s", out);
	cr_expect(strstr(out, "memory power (model"), "%s", out);
}

Test(bankmap_cli, banks_pid_with_dram_mapping, .timeout = 60)
{
	static char out[16384];
	char path[] = "/tmp/avmm-machine-XXXXXX", pidarg[16];
	const char *args[] = { "banks", "--pid", pidarg, "--machine", path, NULL };
	int fd = mkstemp(path), rc;
	pid_t pid;

	skip_under_asan();
	if (geteuid() != 0)
		cr_skip_test("pagemap PFNs need root");
	cr_assert_geq(fd, 0);
	dprintf(fd, "[dram]\nbank_masks = 0x2000, 0x4000\nrank_masks = 0x8000\nsource = test masks\n");
	close(fd);
	pid = start_holder();
	snprintf(pidarg, sizeof(pidarg), "%d", (int)pid);
	rc = run_avmm(out, sizeof(out), args);
	stop_holder(pid);
	unlink(path);
	cr_assert_eq(rc, 0, "%s", out);
	cr_expect(strstr(out, "bank/rank (mapping from test masks"), "%s", out);
	cr_expect(strstr(out, "\n1     3     "), "rank 1 bank 3 listed: %s", out);
}

Test(bankmap_cli, banks_help_and_usage)
{
	static char out[8192];
	const char *help[] = { "banks", "--help", NULL }, *none[] = { "banks", NULL };

	cr_expect_eq(run_avmm(out, sizeof(out), help), 0);
	cr_expect(strstr(out, "usage: avmm banks") && strstr(out, "--machine FILE"), "%s", out);
	cr_expect_eq(run_avmm(out, sizeof(out), none), 2);
	cr_expect(strstr(out, "exactly one of --name VM or --pid PID"), "%s", out);
}
