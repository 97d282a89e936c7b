/* coremap actuator: the recording fake, real threads, and a real vCPU thread. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/util.h"
#include "coremap/coremap.h"
#include "vmm-core/vmm.h"

/* ------------------------------------------------------------ fake ops */

Test(coremap_apply, fake_records_and_verifies)
{
	struct coremap_fake f;
	struct coremap_ops ops;
	struct coremap_apply_result res;
	pid_t tids[] = { 100, 101 };
	int cpus[] = { 1, 0 };

	coremap_fake_init(&f, 2, &ops);
	cr_assert_eq(coremap_apply(&ops, tids, cpus, 2, &res), 0, "%s", res.why);
	cr_expect_eq(res.nr_moved, 2);
	cr_expect_eq(f.nr_calls, 2);
	cr_expect_eq(f.calls[0].tid, 100);
	cr_expect_eq(f.calls[0].cpu, 1);
	cr_expect_eq(f.calls[1].cpu, 0);
	cr_expect(CPU_ISSET(1, &f.mask[0]) && CPU_COUNT(&f.mask[0]) == 1);
	/* already there: nothing to do */
	cr_assert_eq(coremap_apply(&ops, tids, cpus, 2, &res), 0);
	cr_expect_eq(res.nr_moved, 0);
	cr_expect_eq(f.nr_calls, 2);
}

Test(coremap_apply, fake_einval_rolls_back_and_names_tid_and_cpu)
{
	struct coremap_fake f;
	struct coremap_ops ops;
	struct coremap_apply_result res;
	pid_t tids[] = { 200, 201 };
	int cpus[] = { 0, 1 };

	coremap_fake_init(&f, 2, &ops);
	f.fail_cpu = 1;
	f.fail_cpu_err = -EINVAL;
	cr_assert_eq(coremap_apply(&ops, tids, cpus, 2, &res), -EINVAL);
	cr_expect_eq(res.err, -EINVAL);
	cr_expect_eq(res.failed_tid, 201);
	cr_expect_eq(res.failed_cpu, 1);
	cr_expect(res.rolled_back);
	cr_expect_eq(res.nr_moved, 0);
	cr_expect(strstr(res.why, "tid 201 to CPU 1"), "%s", res.why);
	cr_expect(strstr(res.why, "offline or outside this process's cpuset"), "%s", res.why);
	cr_expect(strstr(res.why, "keep their previous CPUs"), "%s", res.why);
	/* tid 200 was moved to CPU 0 and then given its old mask (CPUs 0-1) back */
	cr_expect_eq(CPU_COUNT(&f.mask[0]), 2, "old map restored");
	cr_expect_eq(f.calls[f.nr_calls - 1].tid, 200);
}

Test(coremap_apply, fake_eperm_and_readback_mismatch)
{
	struct coremap_fake f;
	struct coremap_ops ops;
	struct coremap_apply_result res;
	pid_t tids[] = { 300 };
	int cpus[] = { 1 };

	coremap_fake_init(&f, 2, &ops);
	f.fail_tid = 300;
	f.fail_tid_err = -EPERM;
	cr_expect_eq(coremap_apply(&ops, tids, cpus, 1, &res), -EPERM);
	cr_expect(strstr(res.why, "tid 300") && strstr(res.why, "permission"), "%s", res.why);
	cr_expect_not(res.rolled_back, "nothing had changed");

	coremap_fake_init(&f, 2, &ops);
	f.lie_on_readback = true;
	cr_expect_eq(coremap_apply(&ops, tids, cpus, 1, &res), -EIO);
	cr_expect(strstr(res.why, "read back differs"), "%s", res.why);
	cr_expect(res.rolled_back);
}

Test(coremap_apply, bad_maps_rejected_before_any_change)
{
	struct coremap_fake f;
	struct coremap_ops ops;
	struct coremap_apply_result res;
	pid_t tids[] = { 1, 2 };
	int empty[] = { 0, -1 }, big[] = { CPU_SETSIZE, 0 };

	coremap_fake_init(&f, 2, &ops);
	cr_expect_eq(coremap_apply(&ops, tids, empty, 2, &res), -EINVAL);
	cr_expect(strstr(res.why, "empty CPU set"), "%s", res.why);
	cr_expect_eq(res.failed_tid, 2);
	cr_expect_eq(coremap_apply(&ops, tids, big, 2, &res), -EINVAL);
	cr_expect(strstr(res.why, "out of range CPU 1024"), "%s", res.why);
	cr_expect_eq(coremap_apply(&ops, tids, empty, -1, &res), -EINVAL);
	cr_expect_eq(f.nr_calls, 0, "nothing was touched");
	/* the fake, like the kernel, refuses a CPU that does not exist */
	int absent[] = { 7 };
	cr_expect_eq(coremap_apply(&ops, tids, absent, 1, &res), -EINVAL);
}

/* ------------------------------------------------------------ real threads */

struct spinner {
	pthread_t th;
	atomic_int tid, cpu, seq;
	atomic_bool stop;
};

static void *spin(void *arg)
{
	struct spinner *s = arg;
	volatile unsigned x = 0;

	s->tid = (int)syscall(SYS_gettid);
	while (!s->stop) {
		for (int i = 0; i < 20000; i++)
			x += (unsigned)i;
		s->cpu = sched_getcpu();
		s->seq++;
		usleep(200);
	}
	return NULL;
}

static void spinner_start(struct spinner *s)
{
	memset(s, 0, sizeof(*s));
	cr_assert_eq(pthread_create(&s->th, NULL, spin, s), 0);
	while (!s->tid)
		usleep(100);
}

static void spinner_stop(struct spinner *s)
{
	s->stop = true;
	pthread_join(s->th, NULL);
}

/* CPU the thread runs on, as seen by the thread itself after `cpu` was set. */
static int observed_cpu(struct spinner *s)
{
	int seq = s->seq;

	while (s->seq < seq + 2)
		usleep(100);
	return s->cpu;
}

/* "processor" (field 39) of /proc/self/task/TID/stat. */
static int proc_last_cpu(pid_t tid)
{
	char path[64], buf[1024], *p;
	int field = 2;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	if (util_read_file(NULL, path, buf, sizeof(buf)) < 0)
		return -1;
	p = strrchr(buf, ')');
	if (!p)
		return -1;
	for (p++; *p && field < 39; p++)
		if (*p == ' ')
			field++;
	return atoi(p);
}

static void two_cpus(int cpu[2])
{
	cpu_set_t mine;
	int c, n = 0;

	sched_getaffinity(0, sizeof(mine), &mine);
	for (c = 0; c < CPU_SETSIZE && n < 2; c++)
		if (CPU_ISSET(c, &mine))
			cpu[n++] = c;
	if (n < 2)
		cr_skip_test("needs 2 CPUs in this process's affinity mask (has %d)", n);
}

static bool pinned_to(pid_t tid, int cpu)
{
	cpu_set_t set;

	cr_assert_eq(sched_getaffinity(tid, sizeof(set), &set), 0);
	return CPU_COUNT(&set) == 1 && CPU_ISSET(cpu, &set);
}

Test(coremap_apply, real_threads_move_and_run_there)
{
	struct spinner a, b;
	struct coremap_apply_result res;
	int cpu[2], map[2];
	pid_t tids[2];

	two_cpus(cpu);
	spinner_start(&a);
	spinner_start(&b);
	tids[0] = a.tid;
	tids[1] = b.tid;
	for (int round = 0; round < 2; round++) {
		map[0] = cpu[round];
		map[1] = cpu[1 - round];
		cr_assert_eq(coremap_apply(&coremap_real_ops, tids, map, 2, &res), 0, "%s", res.why);
		cr_expect_eq(res.nr_moved, 2);
		cr_expect_gt(res.latency_ns, 0);
		cr_expect_lt(res.latency_ns, 200000000ull, "remap took %llu ns",
			     (unsigned long long)res.latency_ns);
		cr_expect(pinned_to(tids[0], map[0]));
		cr_expect(pinned_to(tids[1], map[1]));
		cr_expect_eq(observed_cpu(&a), map[0], "sched_getcpu in thread a");
		cr_expect_eq(observed_cpu(&b), map[1], "sched_getcpu in thread b");
		cr_expect_eq(proc_last_cpu(tids[0]), map[0], "/proc processor of thread a");
	}
	spinner_stop(&a);
	spinner_stop(&b);
}

Test(coremap_apply, real_einval_keeps_the_old_map)
{
	struct spinner a, b;
	struct coremap_apply_result res;
	cpu_set_t before_a, after_a;
	int cpu[2], offline = CPU_SETSIZE - 1, map[2];
	pid_t tids[2];

	two_cpus(cpu);
	if (sysconf(_SC_NPROCESSORS_CONF) > offline)
		cr_skip_test("CPU %d exists here", offline);
	spinner_start(&a);
	spinner_start(&b);
	tids[0] = a.tid;
	tids[1] = b.tid;
	sched_getaffinity(tids[0], sizeof(before_a), &before_a);
	map[0] = cpu[1];
	map[1] = offline;
	cr_expect_eq(coremap_apply(&coremap_real_ops, tids, map, 2, &res), -EINVAL);
	cr_expect_eq(res.failed_tid, tids[1]);
	cr_expect_eq(res.failed_cpu, offline);
	cr_expect(res.rolled_back);
	cr_expect(strstr(res.why, "Invalid argument"), "%s", res.why);
	sched_getaffinity(tids[0], sizeof(after_a), &after_a);
	cr_expect(CPU_EQUAL(&before_a, &after_a), "thread a got its old mask back");
	spinner_stop(&a);
	spinner_stop(&b);
}

Test(coremap_apply, real_missing_thread_is_esrch)
{
	struct coremap_apply_result res;
	pid_t tid = 0x7ffffff0;
	int cpu = 0;

	cr_expect_eq(coremap_apply(&coremap_real_ops, &tid, &cpu, 1, &res), -ESRCH);
	cr_expect(strstr(res.why, "no longer exists"), "%s", res.why);
}

/* ------------------------------------------------------------ a real vCPU */

Test(coremap_apply, real_vcpu_thread_of_running_guest)
{
	char guest[512], console[] = "/tmp/coremap-console-XXXXXX";
	struct vmm_config cfg = { .vcpus = 1, .mem_bytes = 32ull << 20 };
	struct coremap_apply_result res;
	struct vmm_result vr;
	struct vmm *vm;
	int cpu[2], fd;
	pid_t tid;

	two_cpus(cpu);
	fd = open("/dev/kvm", O_RDWR);
	if (fd < 0)
		cr_skip_test("/dev/kvm: %s", strerror(errno));
	close(fd);
	snprintf(guest, sizeof(guest), "%s/guests/compute.elf",
		 getenv("AVMM_BUILD") ? getenv("AVMM_BUILD") : "build");
	if (access(guest, R_OK) < 0)
		cr_skip_test("%s not built (make guests)", guest);
	fd = mkstemp(console);
	cr_assert_geq(fd, 0);
	close(fd);
	cfg.guest_path = guest;
	cfg.cmdline = "n=1000000000000"; /* stopped long before it ends, even at native speed */
	cfg.console_path = console;
	cr_assert_eq(vmm_create(&cfg, &vm), 0);
	cr_assert_eq(vmm_start(vm), 0);
	tid = vmm_vcpu_tid(vm, 0);
	cr_assert_gt(tid, 0);
	for (int round = 0; round < 2; round++) {
		int want = cpu[1 - round];

		cr_assert_eq(coremap_apply(&coremap_real_ops, &tid, &want, 1, &res), 0, "%s", res.why);
		cr_expect(pinned_to(tid, want));
		util_sleep_ns(100 * 1000 * 1000);
		cr_expect_eq(proc_last_cpu(tid), want, "the vCPU thread ran on CPU %d", want);
	}
	cr_expect_not(vmm_ended(vm), "the guest was still running while we moved it");
	vmm_request_stop(vm);
	vmm_wait(vm, &vr);
	vmm_destroy(vm);
	unlink(console);
}
