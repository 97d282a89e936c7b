/* Thread CPU time, run delay and last CPU from procfs (real and fake trees). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/util.h"
#include "telemetry/tel_int.h"

Test(proc, parse_schedstat)
{
	uint64_t c, d;

	cr_assert_eq(tel_parse_schedstat("123 456 7\n", &c, &d), 0);
	cr_assert_eq(c, 123);
	cr_assert_eq(d, 456);
	cr_assert_eq(tel_parse_schedstat("123 456\n", &c, &d), -EINVAL);
	cr_assert_eq(tel_parse_schedstat("1 2 3 x\n", &c, &d), -EINVAL);
	cr_assert_eq(tel_parse_schedstat("", &c, &d), -EINVAL);
}

Test(proc, parse_stat_cpu_with_hostile_comm)
{
	char buf[1024];
	int cpu = -5;

	/* comm with spaces and a ')' ; fields 3..52 numbered by their position */
	strcpy(buf, "4242 (avmm) vcpu 0)) S");
	for (int f = 4; f <= 52; f++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), " %d", f == 39 ? 7 : f);
	strcat(buf, "\n");
	cr_assert_eq(tel_parse_stat_cpu(buf, &cpu), 0);
	cr_assert_eq(cpu, 7);
	cr_assert_eq(tel_parse_stat_cpu("1 (x) S 1 2 3\n", &cpu), -EINVAL);
	cr_assert_eq(tel_parse_stat_cpu("no parens", &cpu), -EINVAL);
}

Test(proc, own_thread_cpu_time_grows)
{
	struct tel_thread th;
	char why[160] = "";
	uint64_t c0, d0, c1, d1;
	int cpu0, cpu1;
	volatile uint64_t x = 0;

	cr_assert_eq(tel_thread_open(NULL, (pid_t)syscall(SYS_gettid), &th, why, sizeof(why)), 0,
		     "%s", why);
	cr_assert_eq(tel_thread_read(&th, &c0, &d0), 0);
	cpu0 = tel_thread_pcpu(&th);
	for (uint64_t i = 0; i < 20000000; i++)
		x += i;
	cr_assert_neq(x, 0);
	cr_assert_eq(tel_thread_read(&th, &c1, &d1), 0);
	cpu1 = tel_thread_pcpu(&th);
	cr_assert_gt(c1, c0 + 1000000, "cpu time %llu -> %llu", (unsigned long long)c0,
		     (unsigned long long)c1);
	cr_assert_geq(d1, d0);
	cr_assert(cpu0 >= 0 && cpu1 >= 0 && cpu1 < 4096);
	tel_thread_close(&th);
}

static void put(const char *dir, const char *name, const char *text)
{
	char p[300];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	cr_assert(f, "%s", p);
	fputs(text, f);
	fclose(f);
}

Test(proc, fake_tree_and_missing_thread)
{
	char root[] = "/tmp/tel-proc-XXXXXX", dir[256], why[160] = "", cmd[400];
	struct tel_thread th;
	uint64_t c, d;
	int cpu;

	cr_assert(mkdtemp(root));
	snprintf(dir, sizeof(dir), "%s/proc/self/task/77", root);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s", dir);
	cr_assert_eq(system(cmd), 0);
	put(dir, "schedstat", "5000 250 9\n");
	put(dir, "stat", "77 (x) S 1\n");
	cr_assert_eq(tel_thread_open(root, 77, &th, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(tel_thread_read(&th, &c, &d), 0);
	cpu = tel_thread_pcpu(&th);
	cr_assert_eq(c, 5000);
	cr_assert_eq(d, 250);
	cr_assert_eq(cpu, -1, "a stat without field 39 gives unknown, not 0");
	tel_thread_close(&th);
	cr_assert_eq(tel_thread_open(root, 78, &th, why, sizeof(why)), -ENOENT);
	cr_assert(strstr(why, "/proc/self/task/78/schedstat"), "%s", why);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	cr_assert_eq(system(cmd), 0);
}
