/* telemetry: tel_energy_split, the per-VM / per-vCPU energy of one tick
 * (the live attribution hook and the policy simulator both use it). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>

#include "telemetry/tel.h"

static struct tel_sample *two(void)
{
	struct tel_sample *s = calloc(2, sizeof(*s));

	cr_assert_not_null(s);
	for (int i = 0; i < 2; i++) {
		s[i].nr_vcpus = 2;
		s[i].energy.up = true;
	}
	s[0].energy.energy_uj = 1000000;
	s[0].energy.vm_energy_uj = 10;
	s[0].vcpu[0].energy_uj = 4;
	s[0].vcpu[1].energy_uj = 6;
	s[0].vcpu[0].cpu_time_ns = 1000000000;
	s[1].energy.energy_uj = 2000000;
	s[1].vcpu[0].cpu_time_ns = 1050000000;   /* +50 ms */
	s[1].vcpu[1].cpu_time_ns = 25000000;     /* +25 ms */
	return s;
}

Test(tel_energy, split_by_cpu_share_cumulative_from_prev)
{
	struct tel_sample *s = two();

	/* 1 J over a tick in which the host was busy 100 ms */
	cr_assert_eq(tel_energy_split(&s[0], &s[1], 100000000), 0);
	cr_assert(s[1].energy.attributed);
	cr_assert_eq(s[1].vcpu[0].energy_uj, 4 + 500000);
	cr_assert_eq(s[1].vcpu[1].energy_uj, 6 + 250000);
	cr_assert_eq(s[1].energy.vm_energy_uj, 10 + 750000);
	free(s);
}

Test(tel_energy, no_split_when_a_reading_is_down_or_went_back)
{
	struct tel_sample *s = two();

	s[0].energy.up = false;
	cr_assert_eq(tel_energy_split(&s[0], &s[1], 100000000), -EINVAL);
	cr_assert_not(s[1].energy.attributed);
	s[0].energy.up = true;
	s[1].energy.energy_uj = 999999;
	cr_assert_eq(tel_energy_split(&s[0], &s[1], 100000000), -EINVAL);
	cr_assert_eq(tel_energy_split(NULL, &s[1], 100000000), -EINVAL);
	cr_assert_not(s[1].energy.attributed);
	free(s);
}
