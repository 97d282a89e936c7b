/* The pcdev test guest under the avmm binary: every PC platform device from
 * inside, an HPET interrupt through the IOAPIC, ACPI S5 power-off, and a
 * reset that names the CMOS shutdown status. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/run_helpers.h"

static char out[1 << 16];

static int run_pcdev(const char *cmdline)
{
	require_kvm();
	return run_avmm(out, sizeof(out), (const char *[]){ "-v", "run",
			build_path("guests/pcdev.elf"), "--cmdline", cmdline, NULL });
}

static void expect_value(const char *key, const char *want)
{
	char v[64];

	cr_assert_eq(result_value(out, "pcdev", key, v, sizeof(v)), 0, "no %s:\n%s", key, out);
	cr_assert_str_eq(v, want, "%s:\n%s", key, out);
}

Test(pcdev_guest, reads_every_device_and_takes_an_hpet_interrupt)
{
	char v[64];
	int st = run_pcdev("");

	cr_assert_eq(st, 0, "exit status %d; output:\n%s", st, out);
	expect_value("ok", "1");
	expect_value("pci", "8086:1237");
	expect_value("hpet_period_fs", "10000000");
	expect_value("hpet_timers", "3");
	expect_value("hpet_pin", "16");
	expect_value("hpet_irqs", "1");
	cr_assert_eq(result_value(out, "pcdev", "year", v, sizeof(v)), 0);
	cr_assert_geq(atoi(v), 2024);
}

Test(pcdev_guest, acpi_s5_powers_off_with_status_0)
{
	int st = run_pcdev("end=s5 irq=0");

	cr_assert_eq(st, 0, "exit status %d; output:\n%s", st, out);
	expect_value("ok", "1");
	cr_assert(strstr(out, "guest ended: poweroff"), "%s", out);
}

Test(pcdev_guest, reset_names_the_cmos_shutdown_status)
{
	int st = run_pcdev("end=reset irq=0");

	cr_assert_eq(st, 0, "exit status %d; output:\n%s", st, out);
	cr_assert(strstr(out, "guest ended: reset (vcpu0: guest reset through port 0xcf9; CMOS "
			  "shutdown status 0x0a: jump via 40:67 without EOI)"), "%s", out);
}
