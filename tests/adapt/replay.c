#include "replay.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *data_dir(void)
{
	return "tests/data";
}

int replay_load(const char *name, struct replay *r)
{
	char path[512], line[512];
	FILE *f;
	int cap = 0;

	memset(r, 0, sizeof(*r));
	snprintf(path, sizeof(path), "%s/%s", data_dir(), name);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		struct replay_row w;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%lf,%15[^,],%d,%d,%lf,%lf,%lf,%lf,%lf,%lf", &w.t_s, w.variant, &w.vcpu,
			   &w.pcpu, &w.cpu, &w.delay, &w.llc, &w.tlb, &w.pexits, &w.power) != 10) {
			fclose(f);
			return -EINVAL;
		}
		if (r->n == cap) {
			cap = cap ? cap * 2 : 256;
			r->rows = realloc(r->rows, (size_t)cap * sizeof(*r->rows));
			if (!r->rows) {
				fclose(f);
				return -ENOMEM;
			}
		}
		r->rows[r->n++] = w;
	}
	fclose(f);
	return r->n ? 0 : -ENODATA;
}

void replay_free(struct replay *r)
{
	free(r->rows);
	r->rows = NULL;
}

/* The sample at row index i's time, for variant. Returns the index after. */
static int build(struct replay *r, int i, const char *variant, struct tel_sample *s)
{
	double t = r->rows[i].t_s;
	int j;

	memset(s, 0, sizeof(*s));
	s->seq = ++r->seq;
	s->t_ns = (uint64_t)(t * 1e9);
	s->dt_ns = r->prev_t_ns ? s->t_ns - r->prev_t_ns : 0;
	for (j = i; j < r->n && r->rows[j].t_s == t; j++) {
		const struct replay_row *w = &r->rows[j];
		struct tel_vcpu_sample *v;

		if (strcmp(w->variant, "*") && strcmp(w->variant, variant))
			continue;
		if (w->vcpu >= TEL_MAX_VCPUS)
			continue;
		v = &s->vcpu[w->vcpu];
		if (w->vcpu + 1 > s->nr_vcpus)
			s->nr_vcpus = w->vcpu + 1;
		v->pcpu = w->pcpu;
		v->cpu_pct = w->cpu;
		v->run_delay_pct = w->delay;
		v->paging_exits_per_s = w->pexits;
		v->hw_valid = w->llc >= 0;
		v->llc_misses_per_kinstr = w->llc;
		v->tlb_misses_per_kinstr = w->tlb;
		/* instructions follow the CPU time the vCPU got */
		r->instr[w->vcpu] += (uint64_t)(w->cpu * 1e7 * (double)s->dt_ns / 1e9);
		v->instructions = r->instr[w->vcpu];
		if (w->power >= 0) {
			s->energy.up = true;
			s->energy.power_w = w->power;
		}
	}
	r->prev_t_ns = s->t_ns;
	return j;
}

int replay_run(struct replay *r, const struct pol_profile *g, const struct adapt_env *env,
	       const char *variant0, replay_variant_fn fn, struct replay_result *res)
{
	static struct tel_sample s;
	struct adapt_state st;
	struct adapt_out out;
	char variant[16];
	int i = 0, k, rc;

	memset(res, 0, sizeof(*res));
	memset(r->instr, 0, sizeof(r->instr));
	r->prev_t_ns = 0;
	r->seq = 0;
	snprintf(variant, sizeof(variant), "%s", variant0);
	adapt_state_init(&st);
	while (i < r->n) {
		i = build(r, i, variant, &s);
		rc = adapt_step(g, env, &st, &s, &out);
		if (rc)
			return rc;
		snprintf(res->last_note, sizeof(res->last_note), "%s", out.note);
		if (out.hold)
			res->held[out.hold_kind][out.hold]++;
		if (res->ticks < REPLAY_TICKS) {
			res->hold[res->ticks] = out.hold;
			res->hold_t_ns[res->ticks] = s.t_ns;
			res->hold_left_ns[res->ticks] = out.hold_left_ns;
			res->period_ns[res->ticks] = out.next_period_ns;
		}
		res->ticks++;
		for (k = 0; k < out.nr_effects; k++) {
			res->nr_effects++;
			res->nr_kept += !out.effect[k].reverted;
		}
		for (k = 0; k < out.nr; k++) {
			if (res->nr_decisions < 64) {
				res->d[res->nr_decisions] = out.d[k];
				res->t_ns[res->nr_decisions] = s.t_ns;
			}
			res->nr_decisions++;
			res->nr_reverts += out.d[k].revert;
			if (fn)
				fn(&out.d[k], variant, sizeof(variant));
		}
	}
	snprintf(res->final_variant, sizeof(res->final_variant), "%s", variant);
	res->cm_plans = st.cm_plans;
	res->cm_cache_hits = st.cm_cache_hits;
	return 0;
}

int replay_profile(const char *name, const char *extra, struct pol_profile *out)
{
	const char *dirs[] = { "policies/profiles" };
	char text[2048], err[2048];
	int rc;

	snprintf(text, sizeof(text), "[main]\ninclude = %s\n%s", name, extra ? extra : "");
	rc = pol_parse_buffer(text, strlen(text), "test.ini", dirs, 1, out, err, sizeof(err));
	if (rc)
		fprintf(stderr, "replay_profile: %s\n", err);
	return rc;
}
