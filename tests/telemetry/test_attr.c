/* Energy attribution over host-load readings (telemetry/attr.c): a hook that
 * keeps its last host busy time defers the split to its next reading, which
 * covers the whole gap; the samples in between carry the cumulative shares. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "telemetry/tel_int.h"

static struct tel_sample s;

static void tick(struct tel *t, uint64_t busy_ns, uint64_t uj, uint64_t cpu0_ns)
{
	memset(&s, 0, sizeof(s));
	s.nr_vcpus = 2;
	s.energy.up = true;
	s.energy.host_busy_ns = busy_ns;
	s.energy.energy_uj = uj;
	s.vcpu[0].cpu_time_ns = cpu0_ns;
	tel_attribute_energy(t, &s);
}

Test(attr, split_waits_for_a_new_host_reading_then_covers_the_gap)
{
	struct tel *t = calloc(1, sizeof(*t));

	cr_assert(t);
	tick(t, 1000000000, 0, 0);                    /* the first reading: references */
	cr_assert(!s.energy.attributed);
	tick(t, 1000000000, 10000000, 500000000);     /* kept reading: nothing split yet */
	cr_assert(!s.energy.attributed);
	tick(t, 2000000000, 20000000, 1000000000);    /* +1 s busy, vcpu0 all of it */
	cr_assert(s.energy.attributed);
	cr_assert_eq(s.energy.vm_energy_uj, 20000000, "%llu",
		     (unsigned long long)s.energy.vm_energy_uj);
	cr_assert_eq(s.vcpu[0].energy_uj, 20000000);
	cr_assert_eq(s.vcpu[1].energy_uj, 0);
	tick(t, 2000000000, 30000000, 1200000000);    /* kept: the shares are carried */
	cr_assert(s.energy.attributed);
	cr_assert_eq(s.energy.vm_energy_uj, 20000000);
	cr_assert_eq(s.vcpu[0].energy_uj, 20000000);
	tick(t, 4000000000, 40000000, 1200000000);    /* +2 s busy, none of it vcpu0's */
	cr_assert_eq(s.energy.vm_energy_uj, 20000000 + 20000000 * 200000000ull / 2000000000);
	free(t);
}
