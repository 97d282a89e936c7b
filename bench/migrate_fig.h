/* bench/migrate: its options, one run's figures, the host check and the
 * report (header-only, static). */
#ifndef AVMM_BENCH_MIGRATE_FIG_H
#define AVMM_BENCH_MIGRATE_FIG_H

#include <ftw.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_util.h"
#include "bench/migrate_proc.h"

#define MB_MAX_REPS 50

struct mb_cfg {
	int reps;
	const char *mem, *vcpus, *cmdline;
	int wait_pass;          /* migrate once the guest starts this pass */
	const char *profile;    /* avmm's profile; its downtime_ms is QEMU's too */
	int timeout_s;          /* per wait (the trigger line, the target's end) */
	uint64_t downtime_ms;
};

struct mb_fig {
	double total_ms, downtime_ms;
	int rounds;             /* avmm: pre-copy rounds; QEMU: dirty-sync-count */
	uint64_t bytes;         /* moved over the socket */
	uint64_t ram_total;     /* QEMU: ram.total (guest RAM + ROMs); avmm: 0 */
	double pass_ms;         /* one guest pass before the migration (NAN: -w 1) */
	int source_status, target_status, target_ok;
	int done;               /* the run gave figures and its guest finished ok */
};

static inline const char *mb_qemu(void)
{
	const char *q = getenv("QEMU");

	return q && *q ? q : "qemu-system-x86_64";
}

static inline int mb_parse_args(int argc, char **argv, struct mb_cfg *c)
{
	int o;

	while ((o = getopt(argc, argv, "n:m:s:c:w:P:t:")) != -1) {
		switch (o) {
		case 'n': c->reps = atoi(optarg); break;
		case 'm': c->mem = optarg; break;
		case 's': c->vcpus = optarg; break;
		case 'c': c->cmdline = optarg; break;
		case 'w': c->wait_pass = atoi(optarg); break;
		case 'P': c->profile = optarg; break;
		case 't': c->timeout_s = atoi(optarg); break;
		default: goto usage;
		}
	}
	if (optind == argc && c->reps >= 1 && c->reps <= MB_MAX_REPS && c->wait_pass >= 1 &&
	    c->timeout_s >= 1 && atoi(c->vcpus) >= 1)
		return 0;
usage:
	fprintf(stderr, "usage: migrate [-n REPS (1-%d, 5)] [-m MEM (64M)] [-s VCPUS (1)] "
		"[-c MEMWRITE-CMDLINE] [-w PASS (2): migrate when the guest starts it] "
		"[-P PROFILE (balanced)] [-t SECS (120) per wait]\n", MB_MAX_REPS);
	return -1;
}

static inline double mb_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Waits for the guest's "pass 1" line then for the start of pass
 * c->wait_pass in out (pid: the source); f->pass_ms: the time a pass took
 * in between (the guest's write rate on this monitor, for comparison). */
static inline int mb_wait_line(const char *out, pid_t pid, const struct mb_cfg *c, int pass,
				char *why, size_t len)
{
	char line[64];
	int st = 0;

	snprintf(line, sizeof(line), "memwrite: pass %d of", pass);
	if (!mp_wait_text(out, line, pid, c->timeout_s * 1000, &st))
		return 0;
	snprintf(why, len, "the source never printed \"%s\" (%s)", line,
		 st ? "it exited" : "timed out");
	return -1;
}

static inline int mb_wait_trigger(const char *out, pid_t pid, const struct mb_cfg *c,
				  struct mb_fig *f, char *why, size_t len)
{
	double t1;

	f->pass_ms = NAN;
	if (mb_wait_line(out, pid, c, 1, why, len))
		return -1;
	t1 = mb_now_ms();
	if (c->wait_pass == 1)
		return 0;
	if (mb_wait_line(out, pid, c, c->wait_pass, why, len))
		return -1;
	f->pass_ms = (mb_now_ms() - t1) / (c->wait_pass - 1);
	return 0;
}

/* The last bytes a failed monitor printed, to stderr. */
static inline void mb_show_tail(const char *what, const char *file)
{
	char *t = mp_file_text(file);
	size_t n = strlen(t);

	fprintf(stderr, "  %s (%s) ends: %s\n", what, file, n > 600 ? t + n - 600 : t);
	free(t);
}

/* avmm, the guest, QEMU and /dev/kvm: each missing one named. */
static inline int mb_check_host(const char *avmm, const char *elf, const char *qemu)
{
	char cmd[600];
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "migrate: /dev/kvm cannot be opened: both monitors need KVM\n");
		return -1;
	}
	close(fd);
	if (access(avmm, X_OK) || access(elf, R_OK)) {
		fprintf(stderr, "migrate: %s or %s missing: run 'make' and 'make guests' (or set "
			"AVMM_BUILD)\n", avmm, elf);
		return -1;
	}
	snprintf(cmd, sizeof(cmd), "command -v '%s' >/dev/null 2>&1", qemu);
	if (system(cmd)) {
		fprintf(stderr, "migrate: %s not found: install qemu-system-x86 or set QEMU=\n",
			qemu);
		return -1;
	}
	return 0;
}

/* The target's result: ok=1 on its AVMM-RESULT line, status 0, and the
 * source's guest did not finish there. */
static inline int mb_check_guests(struct mb_fig *f, const char *tgt_out, const char *src_out)
{
	char *t = mp_file_text(tgt_out), *s = mp_file_text(src_out), *r;

	r = strstr(t, "AVMM-RESULT guest=memwrite ");
	f->target_ok = r && strstr(r, " ok=1") && f->target_status == 0 &&
		       !strstr(s, "AVMM-RESULT");
	if (!f->target_ok)
		fprintf(stderr, "migrate: the target's guest did not finish correctly (status %d): "
			"%.400s\n", f->target_status, r ? r : t);
	free(t);
	free(s);
	return f->target_ok ? 0 : -1;
}

/* Median of one figure over the runs that finished ok; NAN when none. */
enum mb_what { MB_TOTAL, MB_DOWNTIME, MB_PASS };

static inline double mb_median(const struct mb_fig *f, int n, enum mb_what w)
{
	double v[MB_MAX_REPS], x;
	int k = 0;

	for (int i = 0; i < n; i++) {
		x = w == MB_TOTAL ? f[i].total_ms : w == MB_DOWNTIME ? f[i].downtime_ms
								      : f[i].pass_ms;
		if (f[i].done && !isnan(x))
			v[k++] = x;
	}
	return k ? bench_median(v, k) : NAN;
}

static inline double mb_median_bytes(const struct mb_fig *f, int n)
{
	double v[MB_MAX_REPS];
	int k = 0;

	for (int i = 0; i < n; i++)
		if (f[i].done)
			v[k++] = (double)f[i].bytes;
	return k ? bench_median(v, k) : NAN;
}

static inline void mb_report(const struct mb_fig *a, const struct mb_fig *q, int n)
{
	double at = mb_median(a, n, MB_TOTAL), ad = mb_median(a, n, MB_DOWNTIME);
	double qt = mb_median(q, n, MB_TOTAL), qd = mb_median(q, n, MB_DOWNTIME);
	int na = 0, nq = 0;

	for (int i = 0; i < n; i++)
		na += a[i].done, nq += q[i].done;
	printf("medians: avmm total %.1f ms, downtime %.1f ms, %.0f bytes (%d of %d runs ok); "
	       "qemu total %.1f ms, downtime %.1f ms, %.0f bytes (%d of %d runs ok)\n", at, ad,
	       mb_median_bytes(a, n), na, n, qt, qd, mb_median_bytes(q, n), nq, n);
	printf("the guest's pass before the migration (its write rate), medians: avmm %.0f ms, "
	       "qemu %.0f ms\n", mb_median(a, n, MB_PASS), mb_median(q, n, MB_PASS));
	printf("note: avmm's downtime runs from the pause to the go sent back for the target's "
	       "word that it holds the whole VM (the target runs on the go); QEMU's (no return "
	       "path) ends when the source has sent the last byte; QEMU reports whole ms\n");
	printf("avmm_total_ms=%.1f avmm_downtime_ms=%.1f qemu_total_ms=%.1f qemu_downtime_ms=%.1f "
	       "total_ratio=%.3f downtime_ratio=%.3f avmm_ok=%d qemu_ok=%d\n", at, ad, qt, qd,
	       at / qt, ad / qd, na, nq);
}

static inline int mb_rm_one(const char *p, const struct stat *sb, int type, struct FTW *f)
{
	remove(p);   /* best effort: go on with the rest */
	return 0;
}

/* Removes dir and what the runs left in it (avmm's state folder included). */
static inline void mb_rmdir(const char *dir)
{
	nftw(dir, mb_rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

#endif
