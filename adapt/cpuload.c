/* Host load from <fsroot>/proc/stat, read once per tick: busy % per CPU for
 * the coremap noise rule, the host's busy CPUs for the energy model and its
 * cumulative busy time for the per-vCPU energy attribution. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adapt/session.h"
#include "common/util.h"
#include "energy/energy.h"

#define STAT_BYTES 65536

/* The real /proc/stat stays open and is re-read from offset 0 (an open and a
 * close per tick were a third of the steady loop's CPU time here); a fake
 * tree under fsroot is read anew each time. */
static int read_stat(struct adapt_cpu_load *l, const char *fsroot)
{
	ssize_t n;

	if (fsroot && *fsroot && strcmp(fsroot, "/"))
		return util_read_file(fsroot, "/proc/stat", l->buf, STAT_BYTES);
	if (!l->stat_open) {
		l->stat_fd = open("/proc/stat", O_RDONLY | O_CLOEXEC);
		if (l->stat_fd < 0)
			return -errno;
		l->stat_open = true;
	}
	n = pread(l->stat_fd, l->buf, STAT_BYTES - 1, 0);
	if (n < 0)
		return -errno;
	l->buf[n] = 0;
	return (int)n;
}

void adapt_cpu_load_close(struct adapt_cpu_load *l)
{
	if (l->stat_open)
		close(l->stat_fd);
	l->stat_open = false;
	free(l->buf);
	l->buf = NULL;
}

int adapt_cpu_busy_pct(struct adapt_cpu_load *l, const char *fsroot, double *pct, int max)
{
	uint64_t busy[ADAPT_CPU_LOAD_MAX], total[ADAPT_CPU_LOAD_MAX], db = 0, dt = 0, sum = 0;
	static long hz;
	int n, i;

	if (!hz)
		hz = sysconf(_SC_CLK_TCK);
	if (!l->buf && !(l->buf = malloc(STAT_BYTES)))
		return -ENOMEM;
	n = read_stat(l, fsroot);
	if (n >= 0)
		n = energy_parse_proc_stat_cpus(l->buf, busy, total, ADAPT_CPU_LOAD_MAX);
	if (n < 0)
		return n;
	for (i = 0; i < n; i++) {
		uint64_t dbi = busy[i] - l->busy[i], dti = total[i] - l->total[i];
		bool ok = l->have && dti && busy[i] >= l->busy[i];

		if (i < max)
			pct[i] = ok ? 100.0 * (double)dbi / (double)dti : 0;
		if (ok) {
			db += dbi;
			dt += dti;
		}
		sum += busy[i];
		l->busy[i] = busy[i];
		l->total[i] = total[i];
	}
	/* USER_HZ is coarse: an interval without a tick keeps the last figure */
	if (dt)
		l->busy_cores = (double)n * (double)db / (double)dt;
	l->busy_ns = sum * (1000000000ull / (uint64_t)(hz > 0 ? hz : 100));
	l->have = true;
	return UTIL_MIN(n, max);
}
