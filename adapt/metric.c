/* adapt: the goal metric (progress, power, score) and the input smoothing. */
#include "adapt/adapt_int.h"
#include "common/util.h"

#include <math.h>
#include <string.h>

void adapt_weights(const struct pol_profile *g, double *a, double *b)
{
	switch (g->objective) {
	case POL_OBJ_ENERGY:
		*a = 1;
		*b = 1;
		break;
	case POL_OBJ_EDP:
		*a = 2;
		*b = 1;
		break;
	case POL_OBJ_WEIGHTED:
		*a = g->weight_performance;
		*b = g->weight_energy;
		break;
	case POL_OBJ_POWER_CAP:
	case POL_OBJ_PERFORMANCE:
	default:
		*a = 1;
		*b = 0;
		break;
	}
}

/* Progress from instructions when every vCPU has hardware counters, else
 * the CPU time the vCPUs got. Updates the counters kept in st. */
static double progress(const struct tel_sample *s, struct adapt_state *st, bool *from_instr)
{
	double dt_s, sum = 0;
	bool hw = s->nr_vcpus > 0;
	int i;

	for (i = 0; i < s->nr_vcpus; i++)
		hw = hw && s->vcpu[i].hw_valid;
	*from_instr = false;
	if (hw && st->have_prev && s->t_ns > st->prev_t_ns) {
		dt_s = (double)(s->t_ns - st->prev_t_ns) / 1e9;
		for (i = 0; i < s->nr_vcpus; i++)
			sum += (double)util_counter_delta(st->prev_instr[i], s->vcpu[i].instructions, 0);
		sum /= dt_s;
		*from_instr = true;
	} else if (!hw && s->dt_ns) {
		for (i = 0; i < s->nr_vcpus; i++)
			sum += s->vcpu[i].cpu_pct;
	}
	for (i = 0; i < s->nr_vcpus; i++)
		st->prev_instr[i] = s->vcpu[i].instructions;
	st->prev_t_ns = s->t_ns;
	st->have_prev = true;
	return sum;
}

void adapt_smooth(const struct tel_sample *s, struct adapt_state *st)
{
	double tlb = 0, pexits = 0, w = 0;
	int i;

	if (!s->dt_ns)
		return;   /* the first sample has no rates: nothing to average in */
	for (i = 0; i < s->nr_vcpus; i++) {
		const struct tel_vcpu_sample *v = &s->vcpu[i];

		if (!st->have_smooth) {
			st->llc[i] = v->llc_misses_per_kinstr;
			st->run_delay[i] = v->run_delay_pct;
			st->cpu[i] = v->cpu_pct;
		} else {
			st->llc[i] = (st->llc[i] + v->llc_misses_per_kinstr) / 2;
			st->run_delay[i] = (st->run_delay[i] + v->run_delay_pct) / 2;
			st->cpu[i] = (st->cpu[i] + v->cpu_pct) / 2;
		}
		tlb += v->tlb_misses_per_kinstr * (v->cpu_pct > 0 ? v->cpu_pct : 1);
		w += v->cpu_pct > 0 ? v->cpu_pct : 1;
		pexits += v->paging_exits_per_s;
	}
	tlb = w > 0 ? tlb / w : 0;
	st->tlb = st->have_smooth ? (st->tlb + tlb) / 2 : tlb;
	st->paging_exits = st->have_smooth ? (st->paging_exits + pexits) / 2 : pexits;
	st->have_smooth = s->nr_vcpus > 0;
}

/* Fills out->score/perf/power_w; returns false when this tick gives no
 * goal metric (first sample, no progress). */
bool adapt_metric(const struct pol_profile *g, const struct tel_sample *s,
		  struct adapt_state *st, struct adapt_out *out, double *lscore,
		  double *lperf, double *lpower)
{
	double a, b, perf, power = NAN, score;
	bool from_instr;

	adapt_weights(g, &a, &b);
	perf = progress(s, st, &from_instr);
	if (s->energy.up && s->energy.power_w > 0)
		power = s->energy.power_w;
	out->perf = perf;
	out->power_w = power;
	out->score = NAN;
	if (!(perf > 0))
		return false;
	score = a * log(perf);
	if (b > 0 && !isnan(power))
		score -= b * log(power);
	/* power-cap: power over the cap costs 10x its relative excess */
	if (g->objective == POL_OBJ_POWER_CAP && g->power_cap_w > 0 && !isnan(power) &&
	    power > g->power_cap_w)
		score -= 10 * log(power / g->power_cap_w);
	out->score = score;
	*lscore = score;
	*lperf = log(perf);
	*lpower = isnan(power) ? NAN : log(power);
	return true;
}

void adapt_hist_push(struct adapt_state *st, double lscore, double lperf, double lpower)
{
	if (st->hist_n == ADAPT_HIST) {
		memmove(st->hist_score, st->hist_score + 1, sizeof(double) * (ADAPT_HIST - 1));
		memmove(st->hist_perf, st->hist_perf + 1, sizeof(double) * (ADAPT_HIST - 1));
		memmove(st->hist_power, st->hist_power + 1, sizeof(double) * (ADAPT_HIST - 1));
		st->hist_n--;
	}
	st->hist_score[st->hist_n] = lscore;
	st->hist_perf[st->hist_n] = lperf;
	st->hist_power[st->hist_n] = lpower;
	st->hist_n++;
}

/* Mean of the newest n entries; noise = 2 sigma of the score, in percent. */
void adapt_hist_mean(const struct adapt_state *st, int n, double *score, double *perf,
		     double *power, double *noise_pct)
{
	double s = 0, p = 0, w = 0, var = 0;
	int i, from = st->hist_n - n;

	if (from < 0)
		from = 0;
	n = st->hist_n - from;
	for (i = from; i < st->hist_n; i++) {
		s += st->hist_score[i];
		p += st->hist_perf[i];
		w += st->hist_power[i]; /* NAN propagates: power unknown */
	}
	s /= n;
	for (i = from; i < st->hist_n; i++)
		var += (st->hist_score[i] - s) * (st->hist_score[i] - s);
	var = n > 1 ? var / (n - 1) : 0;
	*score = s;
	*perf = p / n;
	*power = w / n;
	*noise_pct = expm1(2 * sqrt(var)) * 100;
}
