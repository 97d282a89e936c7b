/* When the costly readers of guest memory's layout run again (smaps, the
 * one-node bankmap pass), and how often /proc/meminfo is read. */
#include <criterion/criterion.h>

#include "adapt/session_int.h"

Test(memsig, reread_on_faults_after_the_min_age_and_always_after_the_max)
{
	cr_assert(!adapt_mem_reread_due(ADAPT_MEM_MIN_AGE_NS - 1, true));
	cr_assert(adapt_mem_reread_due(ADAPT_MEM_MIN_AGE_NS, true));
	cr_assert(!adapt_mem_reread_due(ADAPT_MEM_MAX_AGE_NS - 1, false));
	cr_assert(adapt_mem_reread_due(ADAPT_MEM_MAX_AGE_NS, false));
}

Test(memsig, meminfo_often_near_the_low_mark_seldom_far_above)
{
	cr_assert_eq(adapt_meminfo_every_ns(-1, 10), ADAPT_MEMINFO_FAST_NS, "unknown");
	cr_assert_eq(adapt_meminfo_every_ns(25, 10), ADAPT_MEMINFO_FAST_NS);
	cr_assert_eq(adapt_meminfo_every_ns(10 + ADAPT_MEMINFO_HEADROOM_PCT, 10),
		     ADAPT_MEMINFO_SLOW_NS);
	cr_assert_eq(adapt_meminfo_every_ns(80, 10), ADAPT_MEMINFO_SLOW_NS);
}
