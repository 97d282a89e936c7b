/* Host load per CPU from <fsroot>/proc/stat, for the coremap noise rule. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapt/session.h"
#include "common/util.h"

int adapt_parse_cpu_ticks(const char *buf, uint64_t *busy, uint64_t *total, int max)
{
	const char *line = buf;
	int n = 0;

	memset(busy, 0, sizeof(*busy) * (size_t)max);
	memset(total, 0, sizeof(*total) * (size_t)max);
	for (; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		unsigned long long v[8] = { 0 };
		int cpu, k;

		if (strncmp(line, "cpu", 3) || line[3] < '0' || line[3] > '9')
			continue;
		k = sscanf(line + 3, "%d %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &v[0],
			   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
		if (k < 5 || cpu < 0)
			return -EINVAL;
		if (cpu >= max)
			continue;
		for (int i = 0; i < 8; i++)
			total[cpu] += v[i];
		busy[cpu] = total[cpu] - v[3] - v[4]; /* all but idle and iowait */
		if (cpu + 1 > n)
			n = cpu + 1;
	}
	return n;
}

int adapt_cpu_busy_pct(struct adapt_cpu_load *l, const char *fsroot, double *pct, int max)
{
	uint64_t busy[ADAPT_CPU_LOAD_MAX], total[ADAPT_CPU_LOAD_MAX];
	char *buf = malloc(65536);
	int n, i;

	if (!buf)
		return -ENOMEM;
	n = util_read_file(fsroot, "/proc/stat", buf, 65536);
	if (n >= 0)
		n = adapt_parse_cpu_ticks(buf, busy, total, ADAPT_CPU_LOAD_MAX);
	free(buf);
	if (n < 0)
		return n;
	for (i = 0; i < n && i < max; i++) {
		uint64_t db = busy[i] - l->busy[i], dt = total[i] - l->total[i];

		pct[i] = l->have && dt && busy[i] >= l->busy[i] ? 100.0 * (double)db / (double)dt : 0;
		l->busy[i] = busy[i];
		l->total[i] = total[i];
	}
	l->have = true;
	return UTIL_MIN(n, max);
}
