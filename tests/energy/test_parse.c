/* energy: parsing, wrap arithmetic and messages (pure functions). */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "energy/energy.h"

Test(energy_parse, uj_values)
{
	uint64_t v = 7;

	cr_expect_eq(energy_parse_uj("123456\n", &v), 0);
	cr_expect_eq(v, 123456);
	cr_expect_eq(energy_parse_uj("0", &v), 0);
	cr_expect_eq(v, 0);
	cr_expect_eq(energy_parse_uj("18446744073709551615\n", &v), 0);
	cr_expect_eq(v, UINT64_MAX);
}

Test(energy_parse, uj_rejects_non_numeric)
{
	uint64_t v = 42;

	cr_expect_eq(energy_parse_uj("abc\n", &v), -EINVAL);
	cr_expect_eq(energy_parse_uj("12ab", &v), -EINVAL);
	cr_expect_eq(energy_parse_uj("-5", &v), -EINVAL);
	cr_expect_eq(energy_parse_uj("1.5", &v), -EINVAL);
	cr_expect_eq(energy_parse_uj("", &v), -ENODATA);
	cr_expect_eq(energy_parse_uj("\n", &v), -ENODATA);
	cr_expect_eq(energy_parse_uj("99999999999999999999999", &v), -ERANGE);
	cr_expect_eq(v, 42, "out-parameter untouched on error");
}

Test(energy_wrap, plain_and_wrapped)
{
	bool w32 = false;
	uint64_t d;

	cr_expect_eq(energy_wrap_delta(100, 250, 1000, &w32, &d), 0);
	cr_expect_eq(d, 150);
	/* wraps to 0 after range-1: 900 -> 999 -> 0 -> 50 is 100 + 50 */
	cr_expect_eq(energy_wrap_delta(900, 50, 1000, &w32, &d), 0);
	cr_expect_eq(d, 150);
	cr_expect_not(w32);
	/* real RAPL package range */
	cr_expect_eq(energy_wrap_delta(262143328000ull, 1000ull, 262143328850ull, &w32, &d), 0);
	cr_expect_eq(d, 1850);
}

Test(energy_wrap, zero_range_is_64bit)
{
	bool w32 = false;
	uint64_t d;

	cr_expect_eq(energy_wrap_delta(UINT64_MAX - 9, 5, 0, &w32, &d), 0);
	cr_expect_eq(d, 15);
}

Test(energy_wrap, truncated_32bit_detected)
{
	bool w32 = false;
	uint64_t d, range = 262143328850ull, prev = 4294967000ull;

	/* the zone claims a 262 kJ range but its value wrapped at 2^32 uJ */
	cr_expect_eq(energy_wrap_delta(prev, 704, range, &w32, &d), 0);
	cr_expect_eq(d, 296 + 704);
	cr_expect(w32, "32-bit truncation detected");
	/* from now on the zone wraps at 2^32 */
	cr_expect_eq(energy_wrap_delta(4294960000ull, 10, range, &w32, &d), 0);
	cr_expect_eq(d, 7296 + 10);
}

Test(energy_wrap, implausible_backwards_jump)
{
	bool w32 = false;
	uint64_t d = 99;

	/* 300 -> 100 in a 1000 range would be a wrap of 800, more than half the
	 * range, which reads under half the wrap time cannot see: a reset */
	cr_expect_eq(energy_wrap_delta(300, 100, 1000, &w32, &d), -ERANGE);
	cr_expect_eq(d, 99);
	/* large values that 2^32 cannot explain either */
	cr_expect_eq(energy_wrap_delta(100000000000ull, 5, 262143328850ull, &w32, &d), -ERANGE);
	cr_expect_not(w32);
}

Test(energy_wrap, half_wrap_time)
{
	/* 262143.32885 J at 100 W wraps in 2621 s; half is 1310.7 s */
	uint64_t ns = energy_half_wrap_ns(262143328850ull, 100.0);

	cr_expect(ns > 1310000000000ull && ns < 1311000000000ull, "got %llu", (unsigned long long)ns);
	/* 2^32 uJ at the assumed 1000 W: 4294.97 J / 1000 W / 2 = 2.147 s */
	ns = energy_half_wrap_ns(1ull << 32, 0);
	cr_expect(ns > 2140000000ull && ns < 2150000000ull, "got %llu", (unsigned long long)ns);
	cr_expect_eq(energy_half_wrap_ns(0, 100), 0);
}

Test(energy_explain, eacces_gives_the_fix)
{
	char m[ENERGY_WHY_LEN];

	energy_explain(-EACCES, "/sys/class/powercap/intel-rapl:0/energy_uj", NULL, false,
		       m, sizeof(m));
	cr_expect(strstr(m, "/sys/class/powercap/intel-rapl:0/energy_uj"), "%s", m);
	cr_expect(strstr(m, "root-only"), "%s", m);
	cr_expect(strstr(m, "run as root"), "%s", m);
	cr_expect(strstr(m, "udev"), "%s", m);
	cr_expect(strstr(m, "chmod"), "%s", m);
	energy_explain(-EPERM, "x/constraint_0_power_limit_uw", NULL, true, m, sizeof(m));
	cr_expect(strstr(m, "constraint_0_power_limit_uw") && strstr(m, "root"), "%s", m);
}

Test(energy_explain, other_errors_name_file_and_value)
{
	char m[ENERGY_WHY_LEN];

	energy_explain(-EINVAL, "z/energy_uj", "abc\n", false, m, sizeof(m));
	cr_expect(strstr(m, "z/energy_uj") && strstr(m, "'abc '") && strstr(m, "non-numeric"),
		  "%s", m);
	cr_expect_null(strchr(m, '\n'));
	energy_explain(-ENOENT, "z/energy_uj", NULL, false, m, sizeof(m));
	cr_expect(strstr(m, "vanished"), "%s", m);
	energy_explain(-EIO, "z/energy_uj", NULL, false, m, sizeof(m));
	cr_expect(strstr(m, "z/energy_uj") && strstr(m, "error"), "%s", m);
}

Test(energy_parse, perf_event_and_cpulist)
{
	uint64_t c = 0;
	int cpus[8];

	cr_expect_eq(energy_parse_perf_event("event=0x02\n", &c), 0);
	cr_expect_eq(c, 2);
	cr_expect_eq(energy_parse_perf_event("event=0x05,umask=0x0", &c), 0);
	cr_expect_eq(c, 5);
	cr_expect_eq(energy_parse_perf_event("config=3", &c), -EINVAL);
	cr_expect_eq(energy_parse_perf_event("event=zz", &c), -EINVAL);
	cr_expect_eq(energy_parse_cpulist("0,28\n", cpus, 8), 2);
	cr_expect_eq(cpus[1], 28);
	cr_expect_eq(energy_parse_cpulist("0-2,8", cpus, 8), 4);
	cr_expect_eq(cpus[3], 8);
	cr_expect_eq(energy_parse_cpulist("0-9", cpus, 8), -E2BIG);
	cr_expect_eq(energy_parse_cpulist("x", cpus, 8), -EINVAL);
	cr_expect_eq(energy_parse_cpulist("\n", cpus, 8), -ENODATA);
	/* found by fuzzing: numbers past INT_MAX came back truncated (negative) */
	cr_expect_eq(energy_parse_cpulist("977777777777777,2", cpus, 8), -ERANGE);
	cr_expect_eq(energy_parse_cpulist("0-9223372036854775807", cpus, 8), -ERANGE);
	cr_expect_eq(energy_parse_cpulist("2147483647", cpus, 8), 1);
	cr_expect_eq(cpus[0], 2147483647);
}

Test(energy_parse, proc_stat)
{
	uint64_t busy, total;

	cr_expect_eq(energy_parse_proc_stat("cpu  100 5 50 1000 20 3 2 7 40 0\ncpu0 1 2 3 4\n",
					    &busy, &total), 0);
	cr_expect_eq(busy, 100 + 5 + 50 + 3 + 2);
	cr_expect_eq(total, busy + 1000 + 20 + 7);
	cr_expect_eq(energy_parse_proc_stat("intr 1 2 3", &busy, &total), -EINVAL);
	cr_expect_eq(energy_parse_proc_stat("cpu  1 2", &busy, &total), -EINVAL);
}

Test(energy_model, power_clamped)
{
	struct energy_model m = { .idle_w = 40, .w_per_busy_core = 12 };

	cr_expect_float_eq(energy_model_power_w(&m, 0, 2), 40.0, 1e-9);
	cr_expect_float_eq(energy_model_power_w(&m, 1.5, 2), 58.0, 1e-9);
	cr_expect_float_eq(energy_model_power_w(&m, 5, 2), 64.0, 1e-9);
	cr_expect_float_eq(energy_model_power_w(&m, -1, 2), 40.0, 1e-9);
}

Test(energy_parse, backend_names)
{
	enum energy_backend b;

	cr_expect_eq(energy_backend_parse("perf", &b), 0);
	cr_expect_eq(b, ENERGY_PERF);
	cr_expect_str_eq(energy_backend_name(ENERGY_ESTIMATE), "estimate");
	cr_expect_eq(energy_backend_parse("rapl", &b), -EINVAL);
}
