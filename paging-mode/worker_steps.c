/*
 * The worker's two jobs, one step at a time under the quota.
 *
 * Promote (2m): madvise(MADV_HUGEPAGE) over the whole range (this clears the
 * MADV_NOHUGEPAGE that avmm's default anon backing sets), rank the 2 MiB-
 * aligned ranges by resident 4 KiB pages (mincore), most populated first,
 * leave those with none resident (MADV_COLLAPSE answers EINVAL on untouched
 * memory; they are counted as skipped, not as errors), then MADV_COLLAPSE
 * each. EAGAIN (pages busy) is retried once after the others. A partial
 * 2 MiB range at either end of guest RAM cannot hold a 2 MiB page and is
 * left out. Memory the guest touches later faults in as 2 MiB pages anyway
 * (MADV_HUGEPAGE).
 *
 * Demote (4k): madvise(MADV_NOHUGEPAGE) stops new 2 MiB pages; the ones
 * already there are split by writing "<pid>,0x<start>,0x<end>" to the
 * kernel's debugfs split_huge_pages (root, debugfs mounted). Without it the
 * 2 MiB pages stay until the kernel splits them (reclaim, migration,
 * compaction); last_error says so.
 *
 * The backing is read back from /proc/self/smaps every PGW_VERIFY_EVERY bytes
 * while reading it costs under 1/PGW_VERIFY_SHARE of the job's time (smaps
 * walks the page tables of all guest RAM, so on a big guest a fixed interval
 * would cost more than the collapses), and always at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/util.h"
#include "paging-mode/worker_int.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

#define SPLIT_PATH "/sys/kernel/debug/split_huge_pages"
#define PGW_VERIFY_SHARE 50

struct verify_pace {
	uint64_t t0_ns, spent_ns, since_bytes;
};

/* After bytes more of work: verifies when due and affordable. */
static void verify_paced(struct pgmode_worker *w, struct verify_pace *v, uint64_t bytes)
{
	uint64_t t = util_now_ns();

	v->since_bytes += bytes;
	if (v->since_bytes < PGW_VERIFY_EVERY || v->spent_ns * PGW_VERIFY_SHARE > t - v->t0_ns)
		return;
	pgw_verify(w);
	v->spent_ns += util_now_ns() - t;
	v->since_bytes = 0;
}

struct rank {
	uint64_t addr;
	uint32_t resident;     /* 4 KiB pages */
	int eagain;            /* EAGAIN answers so far */
};

/* Most resident first; ties by address, so the order is reproducible. */
static int by_resident(const void *a, const void *b)
{
	const struct rank *x = a, *y = b;

	if (x->resident != y->resident)
		return x->resident < y->resident ? 1 : -1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Runs the statements on st under the lock when gen is still the request in force. */
#define UPDATE(w, gen, ...) do { \
	pthread_mutex_lock(&(w)->lock); \
	if ((w)->gen == (gen)) { struct pgmode_worker_stats *st = &(w)->st; __VA_ARGS__; } \
	pthread_mutex_unlock(&(w)->lock); \
} while (0)

static void explain(char *out, size_t len, uint64_t addr, int err)
{
	const char *what;

	switch (err) {
	case EINVAL:
		what = "the range cannot hold a 2 MiB page (marked MADV_NOHUGEPAGE, a shared or "
		       "file mapping, THP 'never', or a kernel before 6.1 without MADV_COLLAPSE)";
		break;
	case EAGAIN:
		what = "its pages stayed busy (locked, pinned or under migration) after one retry; "
		       "a later request may succeed";
		break;
	case ENOMEM:
		what = "no free 2 MiB page could be made (memory fragmented or the cgroup at its "
		       "limit); compaction (echo 1 > /proc/sys/vm/compact_memory) may help";
		break;
	default:
		what = strerror(err);
	}
	snprintf(out, len, "MADV_COLLAPSE at 0x%llx: %s: %s", (unsigned long long)addr,
		 err == EINVAL ? "EINVAL" : err == EAGAIN ? "EAGAIN" : err == ENOMEM ? "ENOMEM" :
		 "error", what);
}

/* The 2 MiB-aligned ranges, ranked; returns how many have resident pages. */
static size_t rank_ranges(struct pgmode_worker *w, struct rank *r, size_t n)
{
	uint64_t first = ((uintptr_t)w->hva + PGW_2M - 1) & ~(PGW_2M - 1);
	unsigned char vec[PGW_2M / 4096];
	size_t i, j, live = 0;

	for (i = 0; i < n; i++) {
		r[i].addr = first + i * PGW_2M;
		r[i].resident = 0;
		r[i].eagain = 0;
		if (mincore((void *)(uintptr_t)r[i].addr, PGW_2M, vec))
			continue;
		for (j = 0; j < sizeof(vec); j++)
			r[i].resident += vec[j] & 1;
		live += r[i].resident > 0;
	}
	qsort(r, n, sizeof(*r), by_resident);
	return live;
}

/* One MADV_COLLAPSE; returns 0 or the errno. */
static int collapse_one(struct pgmode_worker *w, uint64_t gen, struct rank *r, bool last_try)
{
	uint64_t t = util_now_ns(), dt;
	int err = madvise((void *)(uintptr_t)r->addr, PGW_2M, MADV_COLLAPSE) ? errno : 0;

	dt = util_now_ns() - t;
	if (err == EAGAIN && !last_try) {
		r->eagain++;
		UPDATE(w, gen, st->longest_step_ns = UTIL_MAX(st->longest_step_ns, dt));
		return err;
	}
	UPDATE(w, gen, {
		st->longest_step_ns = UTIL_MAX(st->longest_step_ns, dt);
		st->ranges_done++;
		if (!err) {
			st->collapse_ok++;
			st->bytes_done += PGW_2M;
		} else {
			st->err_einval += err == EINVAL;
			st->err_eagain += err == EAGAIN;
			st->err_enomem += err == ENOMEM;
			st->err_other += err != EINVAL && err != EAGAIN && err != ENOMEM;
			explain(st->last_error, sizeof(st->last_error), r->addr, err);
		}
	});
	return err;
}

void pgw_promote(struct pgmode_worker *w, uint64_t gen)
{
	uint64_t first = ((uintptr_t)w->hva + PGW_2M - 1) & ~(PGW_2M - 1);
	uint64_t end = ((uintptr_t)w->hva + w->bytes) & ~(PGW_2M - 1);
	size_t n = end > first ? (end - first) / PGW_2M : 0, live, i;
	uint64_t t0, tried = 0;
	struct verify_pace vp = { 0 };
	struct rank *r = NULL;
	int pass, err;

	if (madvise(w->hva, w->bytes, MADV_HUGEPAGE)) {
		err = errno;
		UPDATE(w, gen, st->err_other++; snprintf(st->last_error, sizeof(st->last_error),
			"madvise(MADV_HUGEPAGE) over guest RAM: %s (THP 'never', or a kernel without "
			"THP)", strerror(err)));
		goto out;
	}
	r = n ? calloc(n, sizeof(*r)) : NULL;
	if (n && !r) {
		UPDATE(w, gen, st->err_enomem++; snprintf(st->last_error, sizeof(st->last_error),
			"cannot rank %zu ranges: out of memory", n));
		goto out;
	}
	live = rank_ranges(w, r, n);
	UPDATE(w, gen, st->ranges_total = n; st->ranges_skipped = n - live;
	       st->ranges_done = n - live);
	t0 = vp.t0_ns = util_now_ns();
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < live; i++) {
			if (pass && r[i].eagain != 1)
				continue;
			if (!pgw_pace(w, gen, t0, tried))
				goto out;
			collapse_one(w, gen, &r[i], pass == 1);
			tried += PGW_2M;
			verify_paced(w, &vp, PGW_2M);
		}
	}
out:
	free(r);
	pgw_verify(w);
}

static int split_chunk(int fd, uint64_t start, uint64_t end)
{
	char line[96];
	int n = snprintf(line, sizeof(line), "%d,0x%llx,0x%llx", (int)getpid(),
			 (unsigned long long)start, (unsigned long long)end);

	return write(fd, line, (size_t)n) == n ? 0 : (errno ? errno : EIO);
}

void pgw_demote(struct pgmode_worker *w, uint64_t gen)
{
	uint64_t start = (uintptr_t)w->hva, end = start + w->bytes, a, b, t, dt, t0;
	uint64_t n = (w->bytes + PGW_2M - 1) / PGW_2M;
	struct verify_pace vp = { 0 };
	int fd, err;

	UPDATE(w, gen, st->ranges_total = n);
	if (madvise(w->hva, w->bytes, MADV_NOHUGEPAGE)) {
		err = errno;
		UPDATE(w, gen, st->err_other++; snprintf(st->last_error, sizeof(st->last_error),
			"madvise(MADV_NOHUGEPAGE) over guest RAM: %s", strerror(err)));
		goto out;
	}
	fd = open(SPLIT_PATH, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		UPDATE(w, gen, st->ranges_done = n; snprintf(st->last_error,
			sizeof(st->last_error), "MADV_NOHUGEPAGE set; the 2 MiB pages already there "
			"stay until the kernel splits them: %s: %s (%s)", SPLIT_PATH, strerror(err),
			err == ENOENT ? "needs debugfs mounted" : err == EPERM ?
			"kernel lockdown restricts debugfs" : "needs root"));
		goto out;
	}
	t0 = vp.t0_ns = util_now_ns();
	for (a = start; a < end; a = b) {
		b = UTIL_MIN(end, a + PGW_SPLIT_CHUNK);
		if (!pgw_pace(w, gen, t0, a - start))
			break;
		t = util_now_ns();
		err = split_chunk(fd, a, b);
		dt = util_now_ns() - t;
		UPDATE(w, gen, {
			st->longest_step_ns = UTIL_MAX(st->longest_step_ns, dt);
			st->ranges_done += (b - a + PGW_2M - 1) / PGW_2M;
			if (err) {
				st->err_other++;
				snprintf(st->last_error, sizeof(st->last_error), "%s at 0x%llx: %s",
					 SPLIT_PATH, (unsigned long long)a, strerror(err));
			} else {
				st->bytes_done += b - a;
			}
		});
		verify_paced(w, &vp, b - a);
	}
	close(fd);
out:
	pgw_verify(w);
}
