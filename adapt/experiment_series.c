/*
 * adapt: each `avmm experiment` run's time series, for the report's charts.
 *
 * The collector thread adds every new sample (the same ones the summary
 * sums) as one point: seconds from the guest's start, the CPU time its
 * vCPUs got so far (the guest's progress), their mean CPU and run-delay
 * shares, exits/s, IPC and power (NaN when the source is down) and the
 * energy since the run's first sample. The buffer is allocated before the
 * run (the collector's sandbox and its timing want no allocation there);
 * when it is full every other point goes and the stride doubles, so a long
 * run keeps EXP_SERIES_MAX / 2..EXP_SERIES_MAX evenly spaced points.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adapt/experiment_int.h"

struct exp_series *adapt_exp_series_new(int result, int rep)
{
	struct exp_series *se = calloc(1, sizeof(*se));

	if (!se)
		return NULL;
	se->p = calloc(EXP_SERIES_MAX, sizeof(*se->p));
	if (!se->p) {
		free(se);
		return NULL;
	}
	se->result = result;
	se->rep = rep;
	se->stride = 1;
	return se;
}

/* Keep every other point; from now on every 2 x stride-th sample. */
static void thin_out(struct exp_series *se)
{
	int i;

	for (i = 0; 2 * i < se->n; i++)
		memcpy(se->p[i], se->p[2 * i], sizeof(se->p[i]));
	se->n = i;
	se->stride *= 2;
}

static void note_sources(struct exp_series *se, const struct tel_sample *s)
{
	const struct tel_source_status *perf = &s->src[TEL_SRC_PERF], *papi = &s->src[TEL_SRC_PAPI];
	const struct tel_source_status *en = &s->src[TEL_SRC_ENERGY];

	if (!perf->up && !papi->up && perf->why[0])
		snprintf(se->hw_why, sizeof(se->hw_why), "%s", perf->why);
	if (!s->energy.up && en->why[0])
		snprintf(se->energy_why, sizeof(se->energy_why), "%s", en->why);
	se->energy_est |= s->energy.up && s->energy.estimated;
}

void adapt_exp_series_add(struct exp_series *se, uint64_t t0_ns, const struct tel_sample *s)
{
	double cpu_s = 0, cpu = 0, delay = 0, exits = 0, ipc = 0;
	float *p;
	int i, nr_ipc = 0;

	if (!se)
		return;
	if (s->energy.up && !se->have_e0) {
		se->e0_uj = s->energy.energy_uj;
		se->have_e0 = true;
	}
	note_sources(se, s);
	/* as the summary: rates start with seq 2, sane samples only; and the
	 * vCPU threads read (not the sample taken after they ended, whose CPU
	 * times are unknown, not 0) */
	if (s->seq < 2 || !s->dt_ns || s->nr_vcpus <= 0 || s->t_ns < t0_ns || !adapt_exp_sample_sane(s) ||
	    !s->src[TEL_SRC_THREAD].up)
		return;
	if (se->seen++ % se->stride)
		return;
	if (se->n == EXP_SERIES_MAX)
		thin_out(se);
	for (i = 0; i < s->nr_vcpus && i < TEL_MAX_VCPUS; i++) {
		const struct tel_vcpu_sample *v = &s->vcpu[i];

		cpu_s += (double)v->cpu_time_ns / 1e9;
		cpu += v->cpu_pct;
		delay += v->run_delay_pct;
		exits += v->exits_per_s;
		if (v->hw_valid && isfinite(v->ipc)) {
			ipc += v->ipc;
			nr_ipc++;
		}
	}
	p = se->p[se->n++];
	p[EXP_T_S] = (float)((double)(s->t_ns - t0_ns) / 1e9);
	p[EXP_CPU_S] = (float)cpu_s;
	p[EXP_CPU_PCT] = (float)(cpu / s->nr_vcpus);
	p[EXP_DELAY_PCT] = (float)(delay / s->nr_vcpus);
	p[EXP_EXITS_PER_S] = (float)exits;
	p[EXP_IPC] = nr_ipc ? (float)(ipc / nr_ipc) : NAN;
	se->hw_up |= nr_ipc > 0;
	p[EXP_POWER_W] = s->energy.up && isfinite(s->energy.power_w) ? (float)s->energy.power_w : NAN;
	p[EXP_ENERGY_J] = NAN;
	if (s->energy.up && se->have_e0 && s->energy.energy_uj >= se->e0_uj) {
		p[EXP_ENERGY_J] = (float)((double)(s->energy.energy_uj - se->e0_uj) / 1e6);
		se->energy_up = true;
	}
}

void adapt_exp_series_decision(struct exp_series *se, const struct exp_listed *l)
{
	if (!se)
		return;
	se->dec_total++;
	if (se->nr_dec < EXP_SERIES_DECISIONS)
		se->dec[se->nr_dec++] = *l;
}

void adapt_exp_series_keep(struct exp_ctx *c, struct exp_series *se)
{
	if (!se)
		return;
	if (!c->series_tail)
		c->series_tail = &c->series;
	*c->series_tail = se;
	c->series_tail = &se->next;
}

void adapt_exp_series_free(struct exp_ctx *c)
{
	struct exp_series *se = c->series, *next;

	for (; se; se = next) {
		next = se->next;
		free(se->p);
		free(se);
	}
	c->series = NULL;
	c->series_tail = NULL;
}

int64_t adapt_exp_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
