/* Host load from <fsroot>/proc/stat, read once per tick: busy % per CPU for
 * the coremap noise rule, the host's busy CPUs for the energy model and its
 * cumulative busy time for the per-vCPU energy attribution. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adapt/session.h"
#include "common/util.h"
#include "energy/energy.h"

#define STAT_BYTES 65536

int adapt_cpu_busy_pct(struct adapt_cpu_load *l, const char *fsroot, double *pct, int max)
{
	uint64_t busy[ADAPT_CPU_LOAD_MAX], total[ADAPT_CPU_LOAD_MAX], db = 0, dt = 0, sum = 0;
	long hz = sysconf(_SC_CLK_TCK);
	char *buf = malloc(STAT_BYTES);
	int n, i;

	if (!buf)
		return -ENOMEM;
	n = util_read_file(fsroot, "/proc/stat", buf, STAT_BYTES);
	if (n >= 0)
		n = energy_parse_proc_stat_cpus(buf, busy, total, ADAPT_CPU_LOAD_MAX);
	free(buf);
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
