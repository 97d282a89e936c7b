/* Integration: pause/resume and stop of running vCPU threads (real KVM). */
#include <criterion/criterion.h>
#include <errno.h>
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
