/*
 * paging-mode's live actuator, in one run:
 *   (a) promotion throughput: avmm's worker (no quota) vs a raw MADV_COLLAPSE
 *       loop over the same size of touched anonymous memory (marked
 *       MADV_NOHUGEPAGE first, like avmm's default RAM), REPS interleaved
 *       repetitions, median MiB/s; target worker/raw >= 0.9.
 *   (b) the longest guest-visible stall during promotion: the stall guest
 *       touches its memory and timestamps each iteration; it runs in-process
 *       (vmm-core) while the worker promotes its RAM to 2 MiB pages, and once
 *       without promotion (baseline). Longest gap vs the median time of one
 *       collapse step from (a); target <= 2x.
 *   (c) ptchase under `avmm run --mem-backing anon` vs `thp`: median ns per
 *       hop and the ratio. Where KVM emulates guest code (kvm_pvm) this is noise.
 */
#include <fcntl.h>
#include <sys/mman.h>

#include "bench/bench_util.h"
#include "common/util.h"
#include "paging-mode/pgmode.h"
#include "vmm-core/vmm.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

#define REPS 5
#define M (1ull << 20)
#define THROUGHPUT_MIB 256
#define STALL_GUEST_MEM (64ull << 20)
#define STALL_ARGS "size=16M ms=2500"

static double steps_ms[REPS * THROUGHPUT_MIB / 2];
static int nsteps;

/* One region for both sides, refilled before every repetition (mapped anew
 * at the same address: fresh 4 KiB pages, MADV_NOHUGEPAGE like avmm's RAM),
 * and one long-lived worker over it, as avmm keeps one per VM. */
static uint8_t *region;
static const size_t region_len = THROUGHPUT_MIB * M;
static struct pgmode_worker *worker;

static int refill(void)
{
	uint8_t *p = mmap(region, region_len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | (region ? MAP_FIXED : 0), -1, 0);

	if (p == MAP_FAILED)
		return -1;
	region = p;
	madvise(p, region_len, MADV_NOHUGEPAGE);
	for (size_t i = 0; i < region_len; i += 4096)
		p[i] = (uint8_t)i | 1;
	return 0;
}

static uint64_t aligned_bytes(void)
{
	uintptr_t a = ((uintptr_t)region + 2 * M - 1) & ~(2 * M - 1);
	uintptr_t e = ((uintptr_t)region + region_len) & ~(2 * M - 1);

	return e > a ? e - a : 0;
}

/* Raw loop: MADV_HUGEPAGE then MADV_COLLAPSE per aligned 2 MiB (EAGAIN retried
 * once, as the worker does); MiB/s or -1. */
static double raw_mib_per_s(void)
{
	uintptr_t a, e;
	uint64_t t0, t, dt;
	int fails = 0;

	if (refill())
		return -1;
	a = ((uintptr_t)region + 2 * M - 1) & ~(2 * M - 1);
	e = ((uintptr_t)region + region_len) & ~(2 * M - 1);
	t0 = util_now_ns();
	madvise(region, region_len, MADV_HUGEPAGE);
	for (; a < e; a += 2 * M) {
		t = util_now_ns();
		if (madvise((void *)a, 2 * M, MADV_COLLAPSE) &&
		    (errno != EAGAIN || madvise((void *)a, 2 * M, MADV_COLLAPSE))) {
			fprintf(stderr, "pgmode: raw MADV_COLLAPSE at %#lx: %s\n", (unsigned long)a,
				strerror(errno));
			fails++;
		}
		dt = util_now_ns() - t;
		if (nsteps < (int)UTIL_ARRAY_SIZE(steps_ms))
			steps_ms[nsteps++] = (double)dt / 1e6;
	}
	dt = util_now_ns() - t0;
	return fails ? -1 : (double)aligned_bytes() / M / ((double)dt / 1e9);
}

/* The worker over the same region; MiB/s or -1. */
static double worker_mib_per_s(uint64_t *longest_ns)
{
	struct pgmode_worker_stats st;
	char why[PGMODE_WHY];
	uint64_t t0, dt;

	if (refill() || (!worker && pgmode_worker_create(region, region_len, 0, &worker)))
		return -1;
	t0 = util_now_ns();
	if (pgmode_worker_request(worker, PGMODE_PAGE_2M, why, sizeof(why)) ||
	    pgmode_worker_wait(worker, 0))
		return -1;
	dt = util_now_ns() - t0;
	pgmode_worker_stats(worker, &st);
	if (st.collapse_ok * 2 * M != aligned_bytes()) {
		fprintf(stderr, "pgmode: the worker collapsed %llu of %llu ranges: %s\n",
			(unsigned long long)st.collapse_ok,
			(unsigned long long)(aligned_bytes() / (2 * M)), st.last_error);
		return -1;
	}
	*longest_ns = UTIL_MAX(*longest_ns, st.longest_step_ns);
	return (double)(st.collapse_ok * 2 * M) / M / ((double)dt / 1e9);
}

static int throughput(double *median_step_ms)
{
	double raw[REPS], wk[REPS], r, k;
	uint64_t longest = 0;

	for (int i = 0; i < REPS; i++) {
		wk[i] = worker_mib_per_s(&longest);
		raw[i] = raw_mib_per_s();
		if (wk[i] < 0 || raw[i] < 0) {
			fprintf(stderr, "pgmode: promotion failed (kernel < 6.1 or THP 'never'?)\n");
			return -1;
		}
	}
	pgmode_worker_destroy(worker);
	munmap(region, region_len);
	r = bench_median(raw, REPS);
	k = bench_median(wk, REPS);
	printf("(a) fastest of %d: worker %.0f MiB/s, raw %.0f MiB/s (ratio %.3f)\n", REPS,
	       wk[REPS - 1], raw[REPS - 1], wk[REPS - 1] / raw[REPS - 1]);
	*median_step_ms = bench_median(steps_ms, nsteps);
	printf("(a) promotion of %d MiB touched memory, median of %d: worker %.0f MiB/s, raw "
	       "MADV_COLLAPSE loop %.0f MiB/s; one collapse step median %.2f ms, the worker's "
	       "longest %.2f ms\n", THROUGHPUT_MIB, REPS, k, r, *median_step_ms,
	       (double)longest / 1e6);
	printf("throughput_ratio=%.3f (target >= 0.9)\n", k / r);
	return 0;
}

/* ---- (b) the stall guest, in-process ---------------------------------- */

struct stall_run {
	double max_gap_ms;
	uint64_t collapse_ok, longest_step_ns, ram_2m, ram_rss;
};

static int read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, len - 1);

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = 0;
	return n > 0 ? 0 : -1;
}

/* One run of the stall guest; with promote, the worker promotes its RAM to
 * 2 MiB pages once the guest has touched its working set. */
static int run_stall(bool promote, struct stall_run *out)
{
	char guest[512], console[] = "/tmp/avmm-pgmode-stall-XXXXXX", text[8192];
	struct vmm_config cfg = { .vcpus = 1, .mem_bytes = STALL_GUEST_MEM,
				  .backing = VMM_BACKING_ANON, .console_path = console,
				  .console_rate_bps = VMM_CONSOLE_UNLIMITED, .cmdline = STALL_ARGS };
	struct pgmode_worker *w = NULL;
	struct pgmode_worker_stats st = { 0 };
	struct vmm_result res;
	struct vmm *vm = NULL;
	uint64_t gpa, bytes, t0;
	void *hva;
	int fd = mkstemp(console), rc = -1;
	char why[PGMODE_WHY];

	snprintf(guest, sizeof(guest), "%s/guests/stall.elf", bench_build());
	cfg.guest_path = guest;
	if (fd < 0)
		return -1;
	close(fd);
	if (vmm_create(&cfg, &vm) || vmm_start(vm))
		goto out;
	for (t0 = util_now_ns(); util_now_ns() - t0 < 60000000000ull; util_sleep_ns(5000000))
		if (!read_text(console, text, sizeof(text)) && strstr(text, "stall: ready"))
			break;
	if (promote) {
		if (vmm_ram_region(vm, 0, &hva, &gpa, &bytes) ||
		    pgmode_worker_create(hva, bytes, 0, &w) ||
		    pgmode_worker_request(w, PGMODE_PAGE_2M, why, sizeof(why)) ||
		    pgmode_worker_wait(w, 0))
			goto out;
		pgmode_worker_stats(w, &st);
	}
	vmm_wait(vm, &res);
	if (read_text(console, text, sizeof(text)) || !strstr(text, "ok=1") ||
	    bench_result(text, "max_gap_ns") < 0) {
		fprintf(stderr, "pgmode: the stall guest failed (%s):\n%s\n", res.why, text);
		goto out;
	}
	out->max_gap_ms = bench_result(text, "max_gap_ns") / 1e6;
	out->collapse_ok = st.collapse_ok;
	out->longest_step_ns = st.longest_step_ns;
	out->ram_2m = st.backing.bytes_2m;
	out->ram_rss = st.backing.rss;
	rc = promote && !st.collapse_ok ? -1 : 0;
	if (rc)
		fprintf(stderr, "pgmode: nothing collapsed in the guest's RAM: %s\n", st.last_error);
out:
	pgmode_worker_destroy(w);
	if (vm)
		vmm_destroy(vm);
	unlink(console);
	return rc;
}

static int stall(double *stall_ms, double *base_ms)
{
	double on[REPS], off[REPS], own[REPS], worst = 0;
	struct stall_run r = { 0 }, base;

	for (int i = 0; i < REPS; i++) {
		if (run_stall(true, &r))
			return -1;
		on[i] = r.max_gap_ms;
		own[i] = r.max_gap_ms / ((double)r.longest_step_ns / 1e6);
		worst = UTIL_MAX(worst, on[i]);
		if (run_stall(false, &base))
			return -1;
		off[i] = base.max_gap_ms;
	}
	*stall_ms = bench_median(on, REPS);
	*base_ms = bench_median(off, REPS);
	printf("(b) stall guest (%s, %llu MiB RAM, kept at 4 KiB until promoted), median of %d "
	       "runs: longest gap %.2f ms with promotion (worst %.2f ms), %.2f ms without; last "
	       "promotion: %llu ranges collapsed, longest step %.2f ms, RAM %llu of %llu KiB "
	       "resident in 2 MiB pages\n", STALL_ARGS,
	       (unsigned long long)(STALL_GUEST_MEM >> 20), REPS, *stall_ms, worst, *base_ms,
	       (unsigned long long)r.collapse_ok, (double)r.longest_step_ns / 1e6,
	       (unsigned long long)r.ram_2m >> 10, (unsigned long long)r.ram_rss >> 10);
	printf("    longest gap / the same run's longest collapse step: median %.2f\n",
	       bench_median(own, REPS));
	return 0;
}

/* ---- (c) ptchase, 4 KiB vs 2 MiB backing --------------------------------- */

static void ptchase(void)
{
	static char out[1 << 16];
	char avmm[512], guest[512];
	const char *backing[2] = { "anon", "thp" };
	double ns[2][REPS];

	snprintf(avmm, sizeof(avmm), "%s/avmm", bench_build());
	snprintf(guest, sizeof(guest), "%s/guests/ptchase.elf", bench_build());
	for (int i = 0; i < REPS; i++)
		for (int b = 0; b < 2; b++) {
			char *argv[] = { avmm, "run", guest, "--mem-backing", (char *)backing[b],
					 "--cmdline", "size=4M n=20000", NULL };

			if (bench_exec(argv, out, sizeof(out)) != 0 ||
			    (ns[b][i] = bench_result(out, "ns_per_hop")) <= 0) {
				fprintf(stderr, "pgmode: ptchase under %s failed:\n%s\n", backing[b], out);
				return;
			}
		}
	printf("(c) ptchase size=4M n=20000, median of %d: %.1f ns/hop with 4 KiB backing (anon), "
	       "%.1f with 2 MiB (thp)\n", REPS, bench_median(ns[0], REPS), bench_median(ns[1], REPS));
	printf("note: where KVM emulates guest code (kvm_pvm: no VT-x/AMD-V here) a hop costs "
	       "microseconds of emulation and the backing's TLB effect is noise\n");
	printf("ptchase_ratio_2m_vs_4k=%.3f\n", bench_median(ns[1], REPS) / bench_median(ns[0], REPS));
}

/* argv[1]: the parts to run (default "abc"; b needs a for the step time). */
int main(int argc, char **argv)
{
	const char *parts = argc > 1 ? argv[1] : "abc";
	double step_ms = 0, stall_ms, base_ms;

	util_log_set_level(UTIL_LOG_ERROR);
	if (strchr(parts, 'a') || strchr(parts, 'b'))
		if (throughput(&step_ms))
			return 1;
	if (strchr(parts, 'b') && stall(&stall_ms, &base_ms) == 0)
		printf("stall_ratio=%.2f (longest stall %.2f ms / one collapse step %.2f ms; "
		       "target <= 2; without promotion the guest's longest gap was %.2f ms)\n",
		       stall_ms / step_ms, stall_ms, step_ms, base_ms);
	if (strchr(parts, 'c'))
		ptchase();
	return 0;
}
