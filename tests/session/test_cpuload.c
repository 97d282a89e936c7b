/* Host load per CPU for the coremap noise rule (adapt/cpuload.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adapt/session.h"
#include "energy/energy.h"

Test(cpuload, parses_per_cpu_lines)
{
	const char *stat = "cpu  10 0 10 80 0 0 0 0 0 0\n"
			   "cpu0 5 0 5 40 0 0 0 0 0 0\n"
			   "cpu1 1 0 1 90 8 0 0 0 0 0\n"
			   "intr 123\n";
	uint64_t busy[4], total[4];

	cr_assert_eq(energy_parse_proc_stat_cpus(stat, busy, total, 4), 2);
	cr_assert_eq(busy[0], 10);
	cr_assert_eq(total[0], 50);
	cr_assert_eq(busy[1], 2, "iowait is not busy");
	cr_assert_eq(total[1], 100);
}

Test(cpuload, rejects_garbage)
{
	uint64_t busy[4], total[4];

	cr_assert_eq(energy_parse_proc_stat_cpus("cpu0 x y\n", busy, total, 4), -EINVAL);
}

static void write_stat(const char *root, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/proc/stat", root);
	f = fopen(path, "w");
	cr_assert(f);
	fputs(text, f);
	fclose(f);
}

Test(cpuload, busy_pct_between_two_reads_of_a_fake_tree)
{
	char root[] = "/tmp/avmm-cpuload-XXXXXX", dir[300];
	struct adapt_cpu_load l = { .busy_cores = -1 };
	double pct[4];

	cr_assert(mkdtemp(root));
	snprintf(dir, sizeof(dir), "%s/proc", root);
	mkdir(dir, 0755);
	write_stat(root, "cpu0 0 0 0 100 0 0 0 0\ncpu1 0 0 0 100 0 0 0 0\n");
	cr_assert_eq(adapt_cpu_busy_pct(&l, root, pct, 4), 2);
	cr_assert_float_eq(pct[0], 0, 1e-9, "first read: no interval yet");
	cr_assert_float_eq(l.busy_cores, -1, 1e-9, "no interval yet: not known");
	write_stat(root, "cpu0 100 0 0 100 0 0 0 0\ncpu1 25 0 0 175 0 0 0 0\n");
	cr_assert_eq(adapt_cpu_busy_pct(&l, root, pct, 4), 2);
	cr_assert_float_eq(pct[0], 100, 1e-9);
	cr_assert_float_eq(pct[1], 25, 1e-9);
	cr_assert_float_eq(l.busy_cores, 1.25, 1e-9, "2 CPUs x 125 busy of 400 ticks");
	cr_assert_eq(l.busy_ns, 125 * (1000000000ull / (uint64_t)sysconf(_SC_CLK_TCK)));
	snprintf(dir, sizeof(dir), "rm -rf %s", root);
	cr_assert_eq(system(dir), 0);
	cr_assert_lt(adapt_cpu_busy_pct(&l, root, pct, 4), 0, "missing /proc/stat is an error");
	adapt_cpu_load_close(&l);
}
