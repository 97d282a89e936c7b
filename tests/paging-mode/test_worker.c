/* The live worker on real memory of this process: anonymous RAM marked
 * MADV_NOHUGEPAGE like avmm's default backing, promoted to 2 MiB pages and
 * demoted again, read back from /proc/self/smaps. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/util.h"
#include "paging-mode/pgmode.h"

#define M (1ull << 20)
#define WAIT_NS (120ull * 1000000000ull)

struct ram {
	uint8_t *p;
	size_t len;
};

/* len bytes of anonymous memory between two PROT_NONE guard pages (so the
 * VMA never merges with a neighbour), marked MADV_NOHUGEPAGE like avmm's RAM. */
static struct ram ram_map(size_t len)
{
	uint8_t *g = mmap(NULL, len + 8192, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			  -1, 0);
	struct ram r = { g + 4096, len };

	cr_assert(g != MAP_FAILED);
	cr_assert_eq(mprotect(r.p, len, PROT_READ | PROT_WRITE), 0);
	cr_assert_eq(madvise(r.p, len, MADV_NOHUGEPAGE), 0);
	return r;
}

static void ram_unmap(struct ram r)
{
	munmap(r.p - 4096, r.len + 8192);
}

static uint64_t pattern(size_t i)
{
	return (uint64_t)i * 0x9e3779b97f4a7c15ull ^ 0x5a5a5a5aull;
}

static void fill(struct ram r, size_t from, size_t len)
{
	uint64_t *w = (uint64_t *)(r.p + from);

	for (size_t i = 0; i < len / 8; i++)
		w[i] = pattern(from / 8 + i);
}

static size_t check(struct ram r, size_t from, size_t len)
{
	const uint64_t *w = (const uint64_t *)(r.p + from);
	size_t bad = 0;

	for (size_t i = 0; i < len / 8; i++)
		bad += w[i] != pattern(from / 8 + i);
	return bad;
}

/* VmFlags of the VMA holding p has flag ("nh", "hg"). */
static bool vma_flag(const void *p, const char *flag)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	bool in = false, r = false;

	cr_assert(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, e;

		if (sscanf(line, "%llx-%llx ", &s, &e) == 2 && strchr(line, '-') < strchr(line, ' '))
			in = (uintptr_t)p >= s && (uintptr_t)p < e;
		else if (in && !strncmp(line, "VmFlags:", 8)) {
			char pat[8];

			snprintf(pat, sizeof(pat), " %s", flag);
			r = strstr(line, pat) != NULL;
			break;
		}
	}
	fclose(f);
	return r;
}

static struct pgmode_worker *w;
static struct pgmode_worker_stats st;
static char why[PGMODE_WHY];

static void promote(struct ram r, double quota)
{
	cr_assert_eq(pgmode_worker_create(r.p, r.len, quota, &w), 0);
	cr_assert_eq(pgmode_worker_request(w, PGMODE_PAGE_2M, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(pgmode_worker_wait(w, WAIT_NS), 0, "promotion did not finish in 120 s");
	pgmode_worker_stats(w, &st);
}

static void sums_add_up(void)
{
	cr_assert_eq(st.ranges_done, st.ranges_total, "%llu of %llu ranges done",
		     (unsigned long long)st.ranges_done, (unsigned long long)st.ranges_total);
	cr_assert_eq(st.collapse_ok + st.err_einval + st.err_eagain + st.err_enomem + st.err_other +
		     st.ranges_skipped, st.ranges_total);
}

Test(worker, promotes_touched_ram_to_2m_with_data_intact)
{
	struct ram r = ram_map(64 * M);

	fill(r, 0, r.len);
	cr_assert(vma_flag(r.p, "nh"));
	promote(r, 0);
	cr_assert(!st.busy);
	cr_assert_eq(st.target, PGMODE_PAGE_2M);
	sums_add_up();
	cr_assert(st.backing.valid, "%s", st.backing.why);
	cr_assert_geq(st.backing.rss, 63 * M);
	cr_assert_geq((double)st.backing.bytes_2m, 0.9 * (double)st.backing.rss,
		      "AnonHugePages %llu KiB of %llu KiB resident (%s)",
		      (unsigned long long)st.backing.bytes_2m >> 10,
		      (unsigned long long)st.backing.rss >> 10, st.last_error);
	cr_assert_gt(st.collapse_ok, 0);
	cr_assert_eq(st.err_einval + st.err_enomem + st.err_other, 0, "%s", st.last_error);
	cr_assert_gt(st.longest_step_ns, 0);
	cr_assert(vma_flag(r.p, "hg"), "MADV_HUGEPAGE replaced MADV_NOHUGEPAGE");
	cr_assert_eq(check(r, 0, r.len), 0, "data changed by the collapse");
	pgmode_worker_destroy(w);
	ram_unmap(r);
}

Test(worker, untouched_ranges_are_skipped_not_errors)
{
	struct ram r = ram_map(64 * M);

	fill(r, 0, 16 * M);
	r.p[40 * M] = 1;               /* one page in an otherwise empty range */
	promote(r, 0);
	sums_add_up();
	cr_assert_eq(st.err_einval, 0, "%s", st.last_error);
	/* 16 MiB touched from an unaligned start: 7-8 full ranges, plus the one page */
	cr_assert_geq(st.collapse_ok, 8);
	cr_assert_leq(st.collapse_ok, 10);
	cr_assert_geq(st.ranges_skipped, st.ranges_total - 10);
	cr_assert_eq(check(r, 0, 16 * M), 0);
	cr_assert_eq(r.p[40 * M], 1);
	pgmode_worker_destroy(w);
	ram_unmap(r);
}

Test(worker, einval_counted_and_explained)
{
	char path[] = "/tmp/avmm-pgmode-XXXXXX";
	int fd = mkstemp(path);
	size_t len = 16 * M;
	uint8_t *p;

	/* a writable private mapping of a regular file: MADV_COLLAPSE answers EINVAL
	 * (measured here on ext4; shared anonymous memory with shmem THP 'never' too) */
	cr_assert(fd >= 0);
	unlink(path);
	cr_assert_eq(ftruncate(fd, (off_t)len), 0);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	cr_assert(p != MAP_FAILED);
	memset(p, 7, len);
	cr_assert_eq(pgmode_worker_create(p, len, 0, &w), 0);
	cr_assert_eq(pgmode_worker_request(w, PGMODE_PAGE_2M, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(pgmode_worker_wait(w, WAIT_NS), 0);
	pgmode_worker_stats(w, &st);
	sums_add_up();
	cr_assert_gt(st.err_einval, 0, "a file mapping cannot be collapsed (ok %llu)",
		     (unsigned long long)st.collapse_ok);
	cr_assert(strstr(st.last_error, "EINVAL") && strstr(st.last_error, "2 MiB page"),
		  "%s", st.last_error);
	cr_assert_eq(p[len - 1], 7, "the memory stays usable");
	pgmode_worker_destroy(w);
	munmap(p, len);
	close(fd);
}

Test(worker, quota_respected)
{
	struct ram r = ram_map(34 * M);
	uint64_t t0;

	fill(r, 0, r.len);
	/* 34 MiB unaligned hold 16 full 2 MiB ranges: 32 MiB at 16 MiB/s */
	t0 = util_now_ns();
	promote(r, 16);
	cr_assert_eq(st.collapse_ok, 16, "%s", st.last_error);
	cr_assert_geq(util_now_ns() - t0, 1800000000ull, "32 MiB at 16 MiB/s took %.2f s",
		      (double)(util_now_ns() - t0) / 1e9);
	pgmode_worker_destroy(w);
	ram_unmap(r);
}

Test(worker, request_4k_after_2m)
{
	struct ram r = ram_map(32 * M);
	uint64_t huge;
	int fd;

	fill(r, 0, r.len);
	promote(r, 0);
	huge = st.backing.bytes_2m;
	cr_assert_gt(huge, 0);
	cr_assert_eq(pgmode_worker_request(w, PGMODE_PAGE_4K, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(pgmode_worker_wait(w, WAIT_NS), 0);
	pgmode_worker_stats(w, &st);
	cr_assert_eq(st.target, PGMODE_PAGE_4K);
	cr_assert(vma_flag(r.p, "nh"), "MADV_NOHUGEPAGE set");
	cr_assert_eq(st.ranges_done, st.ranges_total);
	cr_assert_eq(check(r, 0, r.len), 0);
	fd = open("/sys/kernel/debug/split_huge_pages", O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;

		cr_assert(strstr(st.last_error, "split_huge_pages"), "%s", st.last_error);
		pgmode_worker_destroy(w);
		ram_unmap(r);
		cr_skip_test("MADV_NOHUGEPAGE checked; the split itself needs root, debugfs mounted "
			     "and no kernel lockdown: /sys/kernel/debug/split_huge_pages: %s",
			     strerror(err));
	}
	close(fd);
	cr_assert_eq(st.err_other, 0, "%s", st.last_error);
	cr_assert_lt(st.backing.bytes_2m, huge / 10, "2 MiB bytes %llu -> %llu after the split",
		     (unsigned long long)huge, (unsigned long long)st.backing.bytes_2m);
	pgmode_worker_destroy(w);
	ram_unmap(r);
}

Test(worker, new_request_supersedes)
{
	struct ram r = ram_map(64 * M);
	uint64_t t0;

	fill(r, 0, r.len);
	/* 64 MiB at 4 MiB/s would take 16 s */
	cr_assert_eq(pgmode_worker_create(r.p, r.len, 4, &w), 0);
	cr_assert_eq(pgmode_worker_request(w, PGMODE_PAGE_2M, why, sizeof(why)), 0);
	util_sleep_ns(600000000ull);
	pgmode_worker_stats(w, &st);
	cr_assert(st.busy);
	cr_assert_lt(st.ranges_done, st.ranges_total);
	t0 = util_now_ns();
	cr_assert_eq(pgmode_worker_request(w, PGMODE_PAGE_4K, why, sizeof(why)), 0);
	cr_assert_eq(pgmode_worker_wait(w, 10000000000ull), 0, "the 4k request did not finish");
	cr_assert_lt(util_now_ns() - t0, 5000000000ull);
	pgmode_worker_stats(w, &st);
	cr_assert_eq(st.target, PGMODE_PAGE_4K);
	cr_assert_eq(st.collapse_ok, 0, "the counters are the 4k request's");
	cr_assert(vma_flag(r.p, "nh"));
	pgmode_worker_destroy(w);
	cr_assert_eq(check(r, 0, r.len), 0);
	ram_unmap(r);
}

Test(worker, destroy_while_busy)
{
	struct ram r = ram_map(64 * M);
	uint64_t t0;

	fill(r, 0, r.len);
	cr_assert_eq(pgmode_worker_create(r.p, r.len, 2, &w), 0);
	cr_assert_eq(pgmode_worker_request(w, PGMODE_PAGE_2M, why, sizeof(why)), 0);
	util_sleep_ns(300000000ull);
	pgmode_worker_stats(w, &st);
	cr_assert(st.busy);
	t0 = util_now_ns();
	pgmode_worker_destroy(w);
	cr_assert_lt(util_now_ns() - t0, 1000000000ull, "destroy waited for the request");
	cr_assert_eq(check(r, 0, r.len), 0);
	ram_unmap(r);
}

Test(worker, bad_requests_refused_with_reason)
{
	struct ram r = ram_map(4 * M);

	cr_assert_eq(pgmode_worker_create(r.p + 1, r.len, 0, &w), -EINVAL);
	cr_assert_eq(pgmode_worker_create(r.p, r.len, 0, &w), 0);
	cr_assert_eq(pgmode_worker_request(w, PGMODE_PAGE_1G, why, sizeof(why)), -EOPNOTSUPP);
	cr_assert(strstr(why, "hugetlbfs"), "%s", why);
	cr_assert_eq(pgmode_worker_request(w, PGMODE_PAGE_KEEP, why, sizeof(why)), -EINVAL);
	pgmode_worker_stats(w, &st);
	cr_assert_not(st.busy);
	cr_assert_eq(pgmode_worker_wait(w, 1000), 0, "nothing in flight");
	pgmode_worker_destroy(w);
	ram_unmap(r);
}
