/* vmm_vm_pause in-process (real KVM, the smp guest on 2 vCPUs): both vCPU
 * threads stop; the loop's per-vCPU resume (as after a remap) does not let a
 * paused VM run; pause/resume twice are refused; the kvmclock is put back;
 * the guest then finishes ok; a stop while paused ends a run. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>

#include "common/util.h"
#include "tests/lib/run_helpers.h"
#include "vmm-core/vmm.h"

static uint64_t cpu_ns(pid_t tid)
{
	char path[64], buf[128];
	unsigned long long ns = 0;

	snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", tid);
	if (util_read_file(NULL, path, buf, sizeof(buf)) > 0)
		sscanf(buf, "%llu", &ns);
	return ns;
}

Test(vm_pause, two_vcpus_and_the_loops_own_resume, .timeout = 60)
{
	struct vmm_config cfg = { .vcpus = 2, .mem_bytes = 32ull << 20,
				  .guest_path = build_path("guests/smp.elf"),
				  .cmdline = "n=150000 timeout_ms=60000 expect=2",
				  .console_path = "/dev/null" };
	struct vmm_vm_pause_info pi, ri;
	struct vmm_result res;
	struct vmm *vm;
	uint64_t a0, a1, b0, b1;

	require_kvm();
	cr_assert_eq(vmm_create(&cfg, &vm), 0);
	cr_assert_eq(vmm_start(vm), 0);
	util_sleep_ns(500000000);   /* the APs are started and looping */
	cr_assert_eq(vmm_vm_pause(vm, &pi), 0);
	cr_assert(pi.paused && pi.clock_saved);
	cr_assert(vmm_vm_paused(vm, NULL));
	cr_assert_eq(vmm_vm_pause(vm, NULL), -EALREADY);
	/* the loop pauses and resumes vCPU 0 around a remap */
	cr_assert_eq(vmm_pause(vm, 0), 0);
	cr_assert_eq(vmm_resume(vm, 0), 0);
	a0 = cpu_ns(vmm_vcpu_tid(vm, 0));
	a1 = cpu_ns(vmm_vcpu_tid(vm, 1));
	util_sleep_ns(300000000);
	b0 = cpu_ns(vmm_vcpu_tid(vm, 0));
	b1 = cpu_ns(vmm_vcpu_tid(vm, 1));
	cr_assert_lt(b0 - a0, 5000000, "vcpu0 ran %llu ns while the VM was paused",
		     (unsigned long long)(b0 - a0));
	cr_assert_lt(b1 - a1, 5000000, "vcpu1 ran %llu ns", (unsigned long long)(b1 - a1));
	cr_assert_eq(vmm_vm_resume(vm, &ri), 0);
	cr_assert_not(ri.paused);
	cr_assert_eq(ri.transitions, 2);
	cr_assert_geq(ri.paused_total_ns, 300000000);
	cr_assert_lt(ri.clock_after_ns - pi.clock_ns, 100000000,
		     "kvmclock advanced %llu ns across a 0.3 s pause",
		     (unsigned long long)(ri.clock_after_ns - pi.clock_ns));
	cr_assert_eq(vmm_vm_resume(vm, NULL), -EALREADY);
	vmm_wait(vm, &res);
	cr_assert_eq(res.end, VMM_END_POWEROFF, "%s", res.why);
	cr_assert_eq(res.exit_status, 0, "smp guest ok (powers off): %s", res.why);
	cr_assert_gt(cpu_ns(vmm_vcpu_tid(vm, 1)) - b1, 50000000, "vcpu1 ran after the resume");
	vmm_destroy(vm);
}

Test(vm_pause, stop_while_paused_ends_the_run, .timeout = 60)
{
	struct vmm_config cfg = { .vcpus = 1, .mem_bytes = 32ull << 20,
				  .guest_path = build_path("guests/compute.elf"),
				  .cmdline = "secs=30", .console_path = "/dev/null" };
	struct vmm_result res;
	struct vmm *vm;

	require_kvm();
	cr_assert_eq(vmm_create(&cfg, &vm), 0);
	cr_assert_eq(vmm_start(vm), 0);
	cr_assert_eq(vmm_vm_pause(vm, NULL), 0);
	vmm_request_stop(vm);
	vmm_wait(vm, &res);
	cr_assert_eq(res.end, VMM_END_STOPPED, "%s", res.why);
	cr_assert_eq(vmm_vm_resume(vm, NULL), 0, "resume after the end: clock not set, no crash");
	vmm_destroy(vm);
}
