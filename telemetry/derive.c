/* Derived metrics over one tick: pure, from two consecutive samples. */
#include "telemetry/tel_int.h"

#include "common/util.h"

UTIL_HOT static double per_s(uint64_t d, uint64_t dt_ns)
{
	return dt_ns ? (double)d * 1e9 / (double)dt_ns : 0.0;
}

UTIL_HOT static double ratio(uint64_t num, uint64_t den, double mult)
{
	return den ? (double)num * mult / (double)den : 0.0;
}

UTIL_HOT
static void derive_vcpu(const struct tel_vcpu_sample *p, struct tel_vcpu_sample *c,
			uint64_t dt)
{
	uint64_t d_ins, d_cyc;

	/* 64-bit cumulative counters never wrap; one that went down was reset
	 * (thread gone, source reopened): no rate over that tick */
#define D(f) (c->f >= p->f ? c->f - p->f : 0)
	c->exits_per_s = per_s(D(exits), dt);
	/* the exits shadow paging costs: guest page faults KVM takes, INVLPG,
	 * and TLB flushes (CR3 loads); mmu_pte_write is not added (each such
	 * write first exits as a fault counted in pf_taken) */
	c->paging_exits_per_s = per_s(D(pf_taken) + D(invlpg) + D(tlb_flush), dt);
	/* over the time between the two reads of the CPU clock when known:
	 * one thread runs on one core at a time, so this stays <= 100% */
	if (c->cpu_t_ns && p->cpu_t_ns && c->cpu_t_ns > p->cpu_t_ns)
		c->cpu_pct = 100.0 * per_s(D(cpu_time_ns), c->cpu_t_ns - p->cpu_t_ns) / 1e9;
	else
		c->cpu_pct = 100.0 * per_s(D(cpu_time_ns), dt) / 1e9;
	/* the run delay is re-read every few samples: its rate is over the
	 * time between the reads, held until the next read */
	if (c->run_delay_t_ns && p->run_delay_t_ns) {
		uint64_t dt_d = c->run_delay_t_ns - p->run_delay_t_ns;

		c->run_delay_pct = dt_d ? 100.0 * per_s(D(run_delay_ns), dt_d) / 1e9 :
			p->run_delay_pct;
	} else {
		c->run_delay_pct = 100.0 * per_s(D(run_delay_ns), dt) / 1e9;
	}
	if (c->hw_valid && p->hw_valid) {
		d_ins = D(instructions);
		d_cyc = D(cycles);
		c->ipc = ratio(d_ins, d_cyc, 1.0);
		c->tlb_misses_per_kinstr = ratio(D(dtlb_misses), d_ins, 1000.0);
		c->llc_misses_per_kinstr = ratio(D(llc_misses), d_ins, 1000.0);
	}
#undef D
}

UTIL_HOT void tel_derive(const struct tel_sample *prev, struct tel_sample *cur)
{
	for (int i = 0; i < cur->nr_vcpus && i < TEL_MAX_VCPUS; i++) {
		struct tel_vcpu_sample *c = &cur->vcpu[i];

		c->ipc = c->exits_per_s = c->paging_exits_per_s = 0;
		c->tlb_misses_per_kinstr = c->llc_misses_per_kinstr = 0;
		c->cpu_pct = c->run_delay_pct = 0;
		/* no rates over a restart of the thread or the first tick */
		if (!prev || !cur->dt_ns || i >= prev->nr_vcpus || prev->vcpu[i].tid != c->tid)
			continue;
		derive_vcpu(&prev->vcpu[i], c, cur->dt_ns);
	}
}
