/* When a tick reads the host's per-CPU load (adapt_load_due): at the first
 * sample, while the loop samples fast, when a vCPU's run delay, CPU share or
 * exit rate moved from the last reading, while a vCPU waits, and at least
 * every ADAPT_LOAD_MAX_TICKS samples; otherwise the steady tick keeps
 * the last reading. */
#include <criterion/criterion.h>
#include <string.h>

#include "adapt/adapt.h"

#define STEADY_NS 1000000000ull
#define FAST_NS 100000000ull

static struct tel_sample s;

static void at(uint64_t t_ns, double delay_pct, double cpu_pct, double exits)
{
	memset(&s, 0, sizeof(s));
	s.t_ns = t_ns;
	s.dt_ns = STEADY_NS;
	s.nr_vcpus = 2;
	for (int i = 0; i < 2; i++) {
		s.vcpu[i].run_delay_pct = delay_pct;
		s.vcpu[i].cpu_pct = cpu_pct;
		s.vcpu[i].exits_per_s = exits;
	}
}

static enum adapt_load_due due(struct adapt_load_gate *g, uint64_t period_ns)
{
	enum adapt_load_due d = adapt_load_due(g, &s, period_ns, STEADY_NS, 25);

	adapt_load_gate_note(g, &s, d);
	return d;
}

TestSuite(loadgate);

Test(loadgate, steady_ticks_keep_the_reading_until_its_age)
{
	struct adapt_load_gate g;
	int t, kept = 0;

	memset(&g, 0, sizeof(g));
	at(STEADY_NS, 1, 30, 500);
	cr_assert_eq(due(&g, 0), ADAPT_LOAD_FIRST);
	for (t = 2; t < 2 + ADAPT_LOAD_MAX_TICKS - 1; t++) {
		at((uint64_t)t * STEADY_NS, 2, 33, 600);   /* within noise of the reading */
		kept += due(&g, STEADY_NS) == ADAPT_LOAD_KEEP;
	}
	cr_assert_eq(kept, ADAPT_LOAD_MAX_TICKS - 1);
	at((uint64_t)t * STEADY_NS, 2, 33, 600);
	cr_assert_eq(due(&g, STEADY_NS), ADAPT_LOAD_AGE, "%s", adapt_load_due_name(due(&g, STEADY_NS)));
	cr_assert_eq(g.count[ADAPT_LOAD_KEEP], (uint64_t)kept);
}

Test(loadgate, a_moved_vcpu_signal_reads_at_once)
{
	struct adapt_load_gate g;

	memset(&g, 0, sizeof(g));
	at(STEADY_NS, 1, 90, 500);
	due(&g, 0);
	at(2 * STEADY_NS, 1, 45, 500);           /* a hog halves the vCPU's share */
	cr_assert_eq(due(&g, STEADY_NS), ADAPT_LOAD_JUMP);
	at(3 * STEADY_NS, 1, 45, 500);           /* the new reading is the reference */
	cr_assert_eq(due(&g, STEADY_NS), ADAPT_LOAD_KEEP);
	at(4 * STEADY_NS, 1, 45, 5000);          /* exits x10 */
	cr_assert_eq(due(&g, STEADY_NS), ADAPT_LOAD_JUMP);
	at(5 * STEADY_NS, 12, 45, 5000);         /* run delay +11 points */
	cr_assert_eq(due(&g, STEADY_NS), ADAPT_LOAD_JUMP);
	at(6 * STEADY_NS, 12, 45, 5000);
	cr_assert_eq(due(&g, STEADY_NS), ADAPT_LOAD_KEEP);
}

Test(loadgate, fast_loop_and_waiting_vcpus_read_every_tick)
{
	struct adapt_load_gate g;

	memset(&g, 0, sizeof(g));
	at(STEADY_NS, 1, 50, 500);
	due(&g, 0);
	at(STEADY_NS + FAST_NS, 1, 50, 500);
	cr_assert_eq(due(&g, FAST_NS), ADAPT_LOAD_FAST);
	at(2 * STEADY_NS, 13, 50, 500);          /* half of noisy_run_delay_pct 25 */
	cr_assert_eq(due(&g, STEADY_NS), ADAPT_LOAD_DELAYED);
	at(3 * STEADY_NS, 13, 50, 500);          /* no jump now, but it still waits */
	cr_assert_eq(due(&g, STEADY_NS), ADAPT_LOAD_DELAYED);
	s.nr_vcpus = 1;                          /* the VM's vCPUs changed */
	cr_assert_eq(due(&g, STEADY_NS), ADAPT_LOAD_FIRST);
}
