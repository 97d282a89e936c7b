/* Halt watchdog: a guest that executed cli; hlt ends with status 8 and a
 * message; a guest idle with interrupts on, or busy without exits, is left
 * alone. Real KVM (the avmm binary, or vmm_create for timing control). */
#include <criterion/criterion.h>
#include <string.h>

#include "common/util.h"
#include "tests/lib/run_helpers.h"
#include "vmm-core/vmm.h"

static char out[1 << 16];

static int run_hello(const char *vcpus, const char *cmdline)
{
	require_kvm();
	return run_avmm(out, sizeof(out), (const char *[]){ "run", "--no-adapt", "--socket", "",
			"--halt-watchdog", "1", "--vcpus", vcpus, build_path("guests/hello.elf"),
			"--cmdline", cmdline, NULL });
}

/* It waited forever with no message. */
Test(watchdog, cli_hlt_ends_the_run_with_a_message)
{
	uint64_t t0 = util_now_ns();
	int st = run_hello("1", "halt=cli");
	double s = (double)(util_now_ns() - t0) / 1e9;

	cr_assert_eq(st, 8, "status %d:\n%s", st, out);
	cr_assert(strstr(out, "every vCPU has been halted with interrupts off for 1 s (vcpu0 at rip "),
		  "%s", out);
	cr_assert(strstr(out, "cli; hlt"), "%s", out);
	cr_assert_lt(s, 10, "took %.1f s", s);
}

/* The AP never started: it waits for a SIPI only the halted BSP could send. */
Test(watchdog, cli_hlt_with_an_ap_never_started)
{
	int st = run_hello("2", "halt=cli");

	cr_assert_eq(st, 8, "status %d:\n%s", st, out);
}

/* 3 s halted between 100 Hz timer interrupts: no userspace exit all along. */
Test(watchdog, idle_waiting_for_a_timer_is_left_alone)
{
	int st = run_hello("1", "idle_ms=3000");

	cr_assert_eq(st, 0, "status %d:\n%s", st, out);
	cr_assert(strstr(out, "idle: 300 ticks"), "%s", out);
	cr_assert_null(strstr(out, "halted with interrupts off"), "%s", out);
}

static struct vmm *start(const char *guest, const char *cmdline, uint64_t watchdog_ms)
{
	struct vmm_config cfg = { .vcpus = 1, .mem_bytes = 16ull << 20,
				  .guest_path = build_path(guest), .cmdline = cmdline,
				  .console_path = "/dev/null", .halt_watchdog_ms = watchdog_ms };
	struct vmm *vm;

	require_kvm();
	cr_assert_eq(vmm_create(&cfg, &vm), 0);
	cr_assert_eq(vmm_start(vm), 0);
	return vm;
}

/* Halted with interrupts on and nothing armed: undecidable, never ended. */
Test(watchdog, sti_hlt_is_not_ended)
{
	struct vmm *vm = start("guests/hello.elf", "halt=sti", 300);
	struct vmm_result res;

	util_sleep_ns(2000000000ull);
	cr_assert(!vmm_ended(vm), "the watchdog ended a guest halted with interrupts on");
	vmm_request_stop(vm);
	vmm_wait(vm, &res);
	vmm_destroy(vm);
	cr_assert_eq(res.end, VMM_END_STOPPED, "%s", res.why);
}

Test(watchdog, off_leaves_cli_hlt_alone)
{
	struct vmm *vm = start("guests/hello.elf", "halt=cli", VMM_HALT_WATCHDOG_OFF);
	struct vmm_result res;

	util_sleep_ns(1500000000ull);
	cr_assert(!vmm_ended(vm));
	vmm_request_stop(vm);
	vmm_wait(vm, &res);
	vmm_destroy(vm);
	cr_assert_eq(res.end, VMM_END_STOPPED);
}

/* Seconds of guest code without a userspace exit: looked at every 200 ms,
 * found running, and it ends on its own. */
Test(watchdog, busy_without_exits_runs_to_its_end)
{
	struct vmm *vm = start("guests/compute.elf", "n=50000", 200);
	struct vmm_result res;

	vmm_wait(vm, &res);
	vmm_destroy(vm);
	cr_assert_eq(res.end, VMM_END_POWEROFF, "%s: %s", vmm_end_name(res.end), res.why);
	cr_assert_eq(res.exit_status, 0, "%s", res.why);
}
