/* The run-delay page (vmm-core/steal.c): each vCPU's KVM steal-time area in
 * avmm's own memory counts its thread's run delay, and a guest that keeps
 * its own area takes the MSR over (avmm notes where that area is in its
 * memory, and KVM writes it there) and gives it back. Real KVM guests. */
#include <criterion/criterion.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/steal.h"
#include "common/util.h"
#include "tests/lib/hog.h"
#include "tests/lib/run_helpers.h"
#include "vmm-core/vmm.h"

#define MIB (1024ull * 1024)

static struct vmm *start_guest(const char *guest, const char *cmdline)
{
	struct vmm_config cfg = { .vcpus = 1, .mem_bytes = 32 * MIB,
				  .guest_path = build_path(guest), .cmdline = cmdline,
				  .console_path = "/dev/null" };
	struct vmm *vm;

	require_kvm();
	if (!kvm_has_msr_filter())
		cr_skip_test("this host's KVM has no MSR filter (KVM_CAP_X86_MSR_FILTER): avmm "
			     "leaves its steal-time page unused and reads the run delay from "
			     "schedstat");
	cr_assert_eq(vmm_create(&cfg, &vm), 0);
	if (!vmm_vcpu_steal(vm, 0)) {
		vmm_destroy(vm);
		cr_skip_test("this host's KVM refused avmm's steal-time page (see -v -v): the run "
			     "delay is read from schedstat only");
	}
	cr_assert_eq(vmm_start(vm), 0);
	return vm;
}

static uint64_t schedstat_delay_ns(pid_t tid)
{
	char path[64];
	unsigned long long run = 0, delay = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", (int)tid);
	f = fopen(path, "r");
	cr_assert(f && fscanf(f, "%llu %llu", &run, &delay) == 2, "%s", path);
	fclose(f);
	return delay;
}

static uint64_t area_ns(const struct util_steal_area *a)
{
	uint64_t ns = 0;

	cr_assert(util_steal_read(a, &ns), "avmm's area is not in use (guest_area %u)",
		  a->guest_area);
	return ns;
}

Test(steal, own_area_counts_the_run_delay_of_the_vcpu_thread, .timeout = 60)
{
	struct vmm *vm = start_guest("guests/compute.elf", "ms=20000");
	const struct util_steal_area *a = vmm_vcpu_steal(vm, 0);
	int cpu = (int)sysconf(_SC_NPROCESSORS_ONLN) - 1;
	uint64_t s0, s1, d0, d1, quiet_ns;
	struct vmm_result res;
	cpu_set_t set;
	struct hog h;
	pid_t tid;

	for (int i = 0; i < 200 && !(tid = vmm_vcpu_tid(vm, 0)); i++)
		util_sleep_ns(10000000);
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	cr_assert_eq(sched_setaffinity(tid, sizeof(set), &set), 0);
	util_sleep_ns(300000000);
	/* alone on its CPU (as far as this host lets it be) */
	s0 = area_ns(a);
	util_sleep_ns(500000000);
	quiet_ns = area_ns(a) - s0;
	/* a hog on the same CPU: the thread waits about half the time */
	cr_assert_eq(hog_start(&h, cpu), 0);
	util_sleep_ns(200000000);
	s0 = area_ns(a);
	d0 = schedstat_delay_ns(tid);
	util_sleep_ns(1000000000);
	s1 = area_ns(a);
	d1 = schedstat_delay_ns(tid);
	hog_stop(&h);
	vmm_request_stop(vm);
	vmm_wait(vm, &res);
	vmm_destroy(vm);
	cr_log_info("run delay over 1 s with a hog: area %.0f ms, schedstat %.0f ms (alone: "
		    "%.0f ms in 0.5 s)", (double)(s1 - s0) / 1e6, (double)(d1 - d0) / 1e6,
		    (double)quiet_ns / 1e6);
	cr_assert_gt(s1 - s0, 200000000ull, "the area counted %.0f ms of run delay with a hog",
		     (double)(s1 - s0) / 1e6);
	/* the same figure as schedstat's, up to one scheduling slice at either end */
	cr_assert_lt(llabs((long long)(s1 - s0) - (long long)(d1 - d0)), 60000000ll,
		     "area %.0f ms, schedstat %.0f ms", (double)(s1 - s0) / 1e6,
		     (double)(d1 - d0) / 1e6);
}

static const struct util_steal_area *run_to_end(const char *cmdline, struct vmm **vm)
{
	struct vmm_result res;

	*vm = start_guest("guests/steal.elf", cmdline);
	vmm_wait(*vm, &res);
	cr_assert_eq(res.end, VMM_END_POWEROFF, "%s", res.why);
	cr_assert_eq(res.exit_status, 0, "the guest's own area was never written: %s", res.why);
	return vmm_vcpu_steal(*vm, 0);
}

Test(steal, a_guest_with_its_own_area_takes_the_msr_and_gives_it_back, .timeout = 60)
{
	struct vmm *vm;
	const struct util_steal_area *a = run_to_end("n=200", &vm);
	uint64_t ns;

	const struct util_steal_area *g;
	void *ram;
	uint64_t gpa, bytes;

	/* KVM wrote the guest's area (its exit status), and avmm's is marked */
	cr_assert_eq(a->guest_area, 1u);
	cr_assert_not(util_steal_read(a, &ns), "a taken-over area reads as none");
	/* with where the guest's area is: in guest RAM, as KVM left it */
	g = (const struct util_steal_area *)(uintptr_t)util_steal_guest_hva(a);
	cr_assert_eq(vmm_ram_region(vm, 0, &ram, &gpa, &bytes), 0);
	cr_assert((const char *)g >= (const char *)ram &&
		  (const char *)(g + 1) <= (const char *)ram + bytes,
		  "the guest's area %p is not in guest RAM (%p, %llu bytes)", (const void *)g, ram,
		  (unsigned long long)bytes);
	cr_assert(util_steal_read_any(g, &ns) && g->version > 0,
		  "KVM never wrote the area avmm points at (version %u)", g->version);
	vmm_destroy(vm);
	a = run_to_end("n=200 off=1", &vm);
	cr_assert_eq(a->guest_area, 0u, "avmm's area is back once the guest turned its own off");
	cr_assert_eq(util_steal_guest_hva(a), 0ull);
	cr_assert(util_steal_read(a, &ns));
	vmm_destroy(vm);
}
