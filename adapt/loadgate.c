/* adapt: when a tick reads the host's per-CPU load. The vCPUs' own signals,
 * which the sample reads anyway (run delay, CPU share, exit rate), say when
 * contention may have changed; the host-wide file is read then, while the
 * loop samples fast, while a vCPU waits (the coremap rule then looks for a
 * quieter CPU), and at least every ADAPT_LOAD_MAX_TICKS samples. */
#include "adapt/adapt_int.h"

#include <math.h>

static const char *const due_names[ADAPT_LOAD_DUE_COUNT] = {
	[ADAPT_LOAD_KEEP] = "keep", [ADAPT_LOAD_FIRST] = "first", [ADAPT_LOAD_FAST] = "fast",
	[ADAPT_LOAD_AGE] = "age", [ADAPT_LOAD_JUMP] = "jump", [ADAPT_LOAD_DELAYED] = "delayed",
};

const char *adapt_load_due_name(enum adapt_load_due d)
{
	return (unsigned)d < ADAPT_LOAD_DUE_COUNT ? due_names[d] : "?";
}

static bool moved(double now, double ref)
{
	return isfinite(now) != isfinite(ref) ||
	       (isfinite(now) && fabs(now - ref) >= ADAPT_JUMP_PCT);
}

enum adapt_load_due adapt_load_due(const struct adapt_load_gate *g, const struct tel_sample *s,
				   uint64_t period_ns, uint64_t steady_ns, double noisy_pct)
{
	int i;

	if (!g->read_ns || g->nr != s->nr_vcpus || !s->dt_ns || s->t_ns < g->read_ns)
		return ADAPT_LOAD_FIRST;
	if (!period_ns || period_ns < steady_ns)
		return ADAPT_LOAD_FAST;
	if (g->kept + 1 >= ADAPT_LOAD_MAX_TICKS)
		return ADAPT_LOAD_AGE;
	for (i = 0; i < s->nr_vcpus; i++) {
		const struct tel_vcpu_sample *v = &s->vcpu[i];

		if (noisy_pct > 0 && isfinite(v->run_delay_pct) && v->run_delay_pct >= noisy_pct / 2)
			return ADAPT_LOAD_DELAYED;
		if (moved(v->run_delay_pct, g->delay_pct[i]) || moved(v->cpu_pct, g->cpu_pct[i]) ||
		    adapt_exits_jumped(v->exits_per_s, g->exits[i]))
			return ADAPT_LOAD_JUMP;
	}
	return ADAPT_LOAD_KEEP;
}

void adapt_load_gate_note(struct adapt_load_gate *g, const struct tel_sample *s,
			  enum adapt_load_due due)
{
	int i, n = s->nr_vcpus < ADAPT_MAX_VCPUS ? s->nr_vcpus : ADAPT_MAX_VCPUS;

	if ((unsigned)due < ADAPT_LOAD_DUE_COUNT)
		g->count[due]++;
	if (due == ADAPT_LOAD_KEEP) {
		g->kept++;
		return;
	}
	g->kept = 0;
	g->read_ns = s->t_ns ? s->t_ns : 1;
	g->nr = n;
	for (i = 0; i < n; i++) {
		g->delay_pct[i] = s->vcpu[i].run_delay_pct;
		g->cpu_pct[i] = s->vcpu[i].cpu_pct;
		g->exits[i] = s->vcpu[i].exits_per_s;
	}
}
