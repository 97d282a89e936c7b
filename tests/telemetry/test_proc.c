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

Test(proc, cpu_time_from_the_thread_clock_or_schedstat)
{
	char root[] = "/tmp/tel-proc-XXXXXX", dir[256], why[160] = "", cmd[400];
	struct tel_thread th;
	uint64_t c0, c1, d;
	volatile uint64_t x = 0;

	/* the real /proc, a thread of this process: its CPU clock */
	cr_assert_eq(tel_thread_open("/", (pid_t)syscall(SYS_gettid), &th, why, sizeof(why)), 0,
		     "%s", why);
	cr_assert(th.has_clock);
	cr_assert_eq(tel_thread_cpu(&th, &c0), 0);
	for (uint64_t i = 0; i < 20000000; i++)
		x += i;
	cr_assert_neq(x, 0);
	cr_assert_eq(tel_thread_cpu(&th, &c1), 0);
	cr_assert_gt(c1, c0 + 1000000);
	cr_assert_eq(tel_thread_read(&th, &c0, &d), 0);
	cr_assert_leq(c0, c1 + 1000000, "schedstat %llu, clock %llu", (unsigned long long)c0,
		      (unsigned long long)c1);
	tel_thread_close(&th);

	/* a fake tree is not this process: schedstat */
	cr_assert(mkdtemp(root));
	snprintf(dir, sizeof(dir), "%s/proc/self/task/%d", root, (int)syscall(SYS_gettid));
	snprintf(cmd, sizeof(cmd), "mkdir -p %s", dir);
	cr_assert_eq(system(cmd), 0);
	put(dir, "schedstat", "4242 7 1\n");
	put(dir, "stat", "1 (x) S 1\n");
	cr_assert_eq(tel_thread_open(root, (pid_t)syscall(SYS_gettid), &th, why, sizeof(why)), 0,
		     "%s", why);
	cr_assert(!th.has_clock);
	cr_assert_eq(tel_thread_cpu(&th, &c0), 0);
	cr_assert_eq(c0, 4242);
	tel_thread_close(&th);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	cr_assert_eq(system(cmd), 0);
}

/* The run delay is re-read every few samples: its rate is over the reads. */
Test(proc, run_delay_rate_over_the_reads_and_carried_between)
{
	static struct tel_sample p, c;

	p.nr_vcpus = c.nr_vcpus = 1;
	p.vcpu[0] = (struct tel_vcpu_sample){ .tid = 5, .run_delay_ns = 1000000,
					      .run_delay_t_ns = 1000000000 };
	p.vcpu[0].run_delay_pct = 3.0;
	c.vcpu[0] = p.vcpu[0];
	c.t_ns = 1100000000;
	c.dt_ns = 100000000;
	tel_derive(&p, &c);                    /* not re-read: carried */
	cr_assert_float_eq(c.vcpu[0].run_delay_pct, 3.0, 1e-9);
	c.vcpu[0].run_delay_ns = 41000000;     /* re-read 400 ms after: +40 ms */
	c.vcpu[0].run_delay_t_ns = 1400000000;
	tel_derive(&p, &c);
	cr_assert_float_eq(c.vcpu[0].run_delay_pct, 10.0, 1e-9);
	p.vcpu[0].run_delay_t_ns = c.vcpu[0].run_delay_t_ns = 0;   /* unknown: over dt */
	tel_derive(&p, &c);
	cr_assert_float_eq(c.vcpu[0].run_delay_pct, 40.0, 1e-9);
}
