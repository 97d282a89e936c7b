/* Exit status of avmm run: the debug-exit statuses never collide with 0
 * (reset), 2 (bad args), 4 (crash) or 128+signal. Real KVM through the avmm
 * binary, and the mapping itself. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "tests/lib/run_helpers.h"
#include "vmm-core/vmm.h"

static char out[1 << 16];

static int run_hello_exit(const char *value)
{
	char cmd[32];

	snprintf(cmd, sizeof(cmd), "exit=%s", value);
	require_kvm();
	return run_avmm(out, sizeof(out), (const char *[]){ "run", "--no-adapt", "--socket", "",
			build_path("guests/hello.elf"), "--cmdline", cmd, NULL });
}

/* The bundled guests power off (ACPI S5) on success: status 0; a guest that
 * writes 0 to the debug-exit port still gets QEMU's 1. */
Test(exit_status, success_powers_off_and_debug_exit_0_stays_1)
{
	int st;

	require_kvm();
	st = run_avmm(out, sizeof(out), (const char *[]){ "-v", "run", "--no-adapt", "--socket", "",
		      build_path("guests/hello.elf"), NULL });
	cr_assert_eq(st, 0, "hello: status %d, want 0 (power-off); output:\n%s", st, out);
	cr_assert(strstr(out, "guest ended: poweroff"), "%s", out);
	st = run_hello_exit("0");
	cr_assert_eq(st, 1, "exit=0: status %d, want 1 (debug-exit 0); output:\n%s", st, out);
}

Test(exit_status, small_values_are_qemu_compatible)
{
	int st = run_hello_exit("5");

	cr_assert_eq(st, 11, "exit=5: status %d, want 11; output:\n%s", st, out);
	st = run_hello_exit("63");
	cr_assert_eq(st, 127, "exit=63: status %d, want 127; output:\n%s", st, out);
}

/* 71 gave 143 (as if stopped by SIGTERM), 128 gave 1 (as if the guest wrote 0). */
Test(exit_status, value_71_is_not_sigterm)
{
	int st = run_hello_exit("71");

	cr_assert_eq(st, 6, "exit=71: status %d, want 6; output:\n%s", st, out);
	cr_assert(strstr(out, "wrote 71 to the debug-exit port"), "value not logged:\n%s", out);
}

Test(exit_status, value_128_is_not_success)
{
	int st = run_hello_exit("128");

	cr_assert_eq(st, 6, "exit=128: status %d, want 6; output:\n%s", st, out);
	cr_assert(strstr(out, "wrote 128 to the debug-exit port"), "value not logged:\n%s", out);
}

Test(exit_status, mapping_has_no_collisions)
{
	static const int reserved[] = { 0, 2, 4, 129, 130, 131, 143 };
	uint64_t v;
	size_t i;

	for (v = 0; v <= 0xffffffffull; v = v < 1024 ? v + 1 : v * 3 + 1) {
		int st = vmm_debug_exit_status((uint32_t)v);

		cr_assert(st > 0 && st < 128, "v=%llu gives %d", (unsigned long long)v, st);
		for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
			cr_assert_neq(st, reserved[i], "v=%llu gives %d", (unsigned long long)v, st);
		if (v < 64)
			cr_assert_eq(st, (int)((v << 1) | 1));
		else
			cr_assert_eq(st, VMM_STATUS_DEBUG_EXIT_BIG);
	}
	cr_assert_eq(vmm_debug_exit_status(0xffffffffu), 6);
}
