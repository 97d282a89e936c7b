/* energy: telemetry sample, Prometheus lines and the zone listing. */
#include "energy/energy-int.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "common/util.h"

void energy_fill_tel(const struct energy_reading *r, double power_cap_w,
		     struct tel_energy_sample *out, struct tel_source_status *st)
{
	out->up = r->up;
	out->estimated = r->estimated;
	out->energy_uj = r->energy_uj;
	out->power_w = r->up && r->power_valid ? r->power_w : NAN;
	out->power_cap_w = power_cap_w;
	if (!st)
		return;
	st->up = r->up;
	util_fmt(st->why, sizeof(st->why), "%s", !r->up || r->estimated ? r->why : r->note);
}

static void prom_escape(char *out, size_t len, const char *s)
{
	size_t o = 0;

	for (; *s && o + 2 < len; s++) {
		if (*s == '"' || *s == '\\')
			out[o++] = '\\';
		out[o++] = *s == '\n' ? ' ' : *s;
	}
	out[o] = '\0';
}

int energy_write_prom(FILE *f, const struct energy_reading *r,
		      const struct energy_attr_out *a, int nr_vcpus, int nr_vms)
{
	const char *est = r->estimated ? "true" : "false";
	const char *src = energy_backend_name(r->backend);
	char why[ENERGY_WHY_LEN * 2];

	prom_escape(why, sizeof(why), r->up ? (r->estimated ? r->why : r->note) : r->why);
	fprintf(f, "# TYPE avmm_energy_up gauge\n"
		"avmm_energy_up{source=\"%s\",estimated=\"%s\",why=\"%s\"} %d\n",
		src, est, why, r->up);
	if (!r->up)
		return ferror(f) ? -EIO : 0;
	fprintf(f, "# TYPE avmm_energy_joules_total counter\n"
		"avmm_energy_joules_total{source=\"%s\",estimated=\"%s\"} %.6f\n",
		src, est, (double)r->energy_uj / 1e6);
	if (r->power_valid)
		fprintf(f, "# TYPE avmm_energy_power_watts gauge\n"
			"avmm_energy_power_watts{source=\"%s\",estimated=\"%s\"} %.3f\n",
			src, est, r->power_w);
	for (int i = 0; i < r->nr_zones; i++) {
		const struct energy_zone_reading *z = &r->zone[i];

		if (!z->up)
			continue;
		fprintf(f, "avmm_energy_zone_joules_total{zone=\"%s\",id=\"%s\",source=\"%s\","
			"estimated=\"%s\"} %.6f\n", z->name, z->id, src, est,
			(double)z->energy_uj / 1e6);
		if (z->power_valid)
			fprintf(f, "avmm_energy_zone_power_watts{zone=\"%s\",id=\"%s\",source=\"%s\","
				"estimated=\"%s\"} %.3f\n", z->name, z->id, src, est, z->power_w);
	}
	if (r->cross_valid)
		fprintf(f, "avmm_energy_cross_diff_pct{source=\"%s\",cross=\"%s\"} %.2f\n",
			src, r->cross_source, r->cross_diff_pct);
	for (int i = 0; a && i < nr_vcpus; i++)
		fprintf(f, "avmm_energy_vcpu_joules_total{vcpu=\"%d\",method=\"cpu-time-share\","
			"source=\"%s\",estimated=\"%s\"} %.6f\n", i, src, est,
			(double)a->vcpu_uj[i] / 1e6);
	for (int i = 0; a && i < nr_vms; i++)
		fprintf(f, "avmm_energy_vm_joules_total{vm=\"%d\",method=\"cpu-time-share\","
			"source=\"%s\",estimated=\"%s\"} %.6f\n", i, src, est,
			(double)a->vm_uj[i] / 1e6);
	if (a)
		fprintf(f, "avmm_energy_unattributed_joules_total{source=\"%s\",estimated=\"%s\"} "
			"%.6f\n", src, est, (double)a->unattributed_uj / 1e6);
	return ferror(f) ? -EIO : 0;
}

static void describe_meas(const struct energy_meas *m, FILE *f, const char *role)
{
	fprintf(f, "%s: %s%s%s\n", role, m->source, m->up ? "" : " -- ", m->up ? "" : m->why);
	for (int i = 0; i < m->nr; i++) {
		const struct energy_zone *z = &m->z[i];

		fprintf(f, "  %-*s%-22s %-10s %s range %.3f J%s", z->r.parent >= 0 ? 4 : 2, "",
			z->r.id, z->r.name, z->r.counted ? "[total]" : "       ",
			(double)z->r.range_uj / 1e6, z->r.wrap32 ? " (32-bit)" : "");
		if (z->max_power_w > 0)
			fprintf(f, ", max %.1f W", z->max_power_w);
		fprintf(f, "%s%s\n", z->r.up ? "" : "  unavailable: ", z->r.up ? "" : z->r.why);
	}
}

void energy_describe(const struct energy_src *s, FILE *f)
{
	if (s->estimate) {
		fprintf(f, "source: model %.1f W idle + %.1f W per busy core (%d cores) -- "
			"ESTIMATED\n  %s\n", s->o.model.idle_w, s->o.model.w_per_busy_core,
			s->nr_cores, s->est_why);
		if (s->prim.nr)
			describe_meas(&s->prim, f, "measured (not used)");
	} else {
		describe_meas(&s->prim, f, "source");
	}
	if (s->use_cross)
		describe_meas(&s->cross, f, "cross-check");
}
