/* Integration: pause/resume and stop of running vCPU threads (real KVM). */
#include <criterion/criterion.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "tests/lib/run_helpers.h"
#include "vmm-core/vmm.h"

static uint64_t thread_cpu_ns(pid_t tid)
{
	char path[64], buf[128];
	unsigned long long ns = 0;

	snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", tid);
	if (util_read_file(NULL, path, buf, sizeof(buf)) > 0)
		sscanf(buf, "%llu", &ns);
	return ns;
}

static struct vmm *start_compute(int vcpus)
{
	struct vmm_config cfg = { .vcpus = vcpus, .mem_bytes = 32ull << 20,
				  .guest_path = build_path("guests/compute.elf"),
				  .cmdline = "secs=30", .console_path = "/dev/null" };
	struct vmm *vm;

	require_kvm();
	cr_assert_eq(vmm_create(&cfg, &vm), 0);
	cr_assert_eq(vmm_start(vm), 0);
	return vm;
}

Test(pause, paused_vcpu_gets_no_cpu_time_and_resumes)
{
	struct vmm *vm = start_compute(1);
	pid_t tid = vmm_vcpu_tid(vm, 0);
	struct vmm_result res;
	uint64_t a, b, c;
	char name[32] = "";
	char path[64];

	cr_assert_gt(tid, 0);
	snprintf(path, sizeof(path), "/proc/self/task/%d/comm", tid);
	util_read_file(NULL, path, name, sizeof(name));
	cr_assert_str_eq(name, "avmm-vcpu0\n");
	util_sleep_ns(100000000);
	cr_assert_eq(vmm_pause(vm, -1), 0);
	a = thread_cpu_ns(tid);
	util_sleep_ns(200000000);
	b = thread_cpu_ns(tid);
	cr_assert_lt(b - a, 5000000, "paused vCPU ran %llu ns", (unsigned long long)(b - a));
	cr_assert_eq(vmm_resume(vm, -1), 0);
	util_sleep_ns(200000000);
	c = thread_cpu_ns(tid);
	cr_assert_gt(c - b, 50000000, "resumed vCPU ran only %llu ns", (unsigned long long)(c - b));
	vmm_request_stop(vm);
	vmm_wait(vm, &res);
	cr_assert_eq(res.end, VMM_END_STOPPED, "%s", res.why);
	vmm_destroy(vm);
}

Test(pause, one_vcpu_of_two)
{
	struct vmm *vm = start_compute(2);
	struct vmm_result res;

	cr_assert_eq(vmm_pause(vm, 1), 0);
	cr_assert_eq(vmm_pause(vm, 5), -EINVAL);
	cr_assert_eq(vmm_resume(vm, 1), 0);
	cr_assert_gt(vmm_vcpu_tid(vm, 1), 0);
	cr_assert_neq(vmm_vcpu_tid(vm, 0), vmm_vcpu_tid(vm, 1));
	vmm_request_stop(vm);
	vmm_wait(vm, &res);
	cr_assert_eq(res.end, VMM_END_STOPPED);
	vmm_destroy(vm);
}

/* vmm_vcpu_pcpu reads the vCPU thread's rseq area: it follows the thread
 * from CPU to CPU while the guest computes inside KVM_RUN, and is -1 once
 * the thread has ended. */
Test(pause, vcpu_cpu_follows_pinning_without_leaving_the_guest)
{
	struct vmm *vm = start_compute(1);
	pid_t tid = vmm_vcpu_tid(vm, 0);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct vmm_result res;
	cpu_set_t set;

	if (!util_rseq_cpu_id())
		cr_skip_test("glibc runs without rseq (GLIBC_TUNABLES glibc.pthread.rseq=0)");
	for (int k = 0; k < 4; k++) {
		int want = (int)(k % (ncpu < 2 ? 1 : 2)), got = -1;

		CPU_ZERO(&set);
		CPU_SET(want, &set);
		cr_assert_eq(sched_setaffinity(tid, sizeof(set), &set), 0, "%s", strerror(errno));
		for (int w = 0; w < 100 && got != want; w++) {
			util_sleep_ns(10000000);
			got = vmm_vcpu_pcpu(vm, 0);
		}
		cr_assert_eq(got, want, "vCPU thread pinned to CPU %d, read CPU %d", want, got);
	}
	cr_assert_eq(vmm_vcpu_pcpu(vm, 1), -1);
	cr_assert_eq(vmm_vcpu_pcpu(vm, -1), -1);
	vmm_request_stop(vm);
	vmm_wait(vm, &res);
	cr_assert_eq(vmm_vcpu_pcpu(vm, 0), -1);
	vmm_destroy(vm);
}

/* vmm_start_held: the threads exist with their TIDs, run no guest code until
 * released, and a placement made meanwhile holds from the first instruction. */
Test(pause, held_start_places_before_the_first_instruction)
{
	struct vmm_config cfg = { .vcpus = 1, .mem_bytes = 32ull << 20,
				  .guest_path = build_path("guests/compute.elf"),
				  .cmdline = "secs=30", .console_path = "/dev/null" };
	struct vmm_vcpu_counters ctr;
	struct vmm_result res;
	cpu_set_t set, got;
	struct vmm *vm;
	pid_t tid;
	int cpu;

	require_kvm();
	cr_assert_eq(sched_getaffinity(0, sizeof(set), &set), 0);
	for (cpu = CPU_SETSIZE - 1; cpu >= 0 && !CPU_ISSET(cpu, &set); cpu--)
		;
	cr_assert_eq(vmm_create(&cfg, &vm), 0);
	cr_assert_eq(vmm_start_held(vm), 0);
	tid = vmm_vcpu_tid(vm, 0);
	cr_assert_gt(tid, 0);
	util_sleep_ns(200000000);
	vmm_vcpu_counters(vm, 0, &ctr);
	cr_assert_eq(ctr.exits, 0, "a held vCPU entered the guest");
	cr_assert_lt(thread_cpu_ns(tid), 50000000ull, "a held vCPU ran");
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	cr_assert_eq(sched_setaffinity(tid, sizeof(set), &set), 0);
	cr_assert_eq(vmm_resume(vm, -1), 0);
	util_sleep_ns(300000000);
	cr_assert_gt(thread_cpu_ns(tid), 100000000ull, "the released vCPU did not run");
	if (vmm_vcpu_pcpu(vm, 0) >= 0) /* -1 without rseq */
		cr_assert_eq(vmm_vcpu_pcpu(vm, 0), cpu);
	cr_assert_eq(sched_getaffinity(tid, sizeof(got), &got), 0);
	cr_assert(CPU_EQUAL(&got, &set));
	vmm_request_stop(vm);
	vmm_wait(vm, &res);
	cr_assert_eq(res.end, VMM_END_STOPPED, "%s", res.why);
	vmm_destroy(vm);
}
