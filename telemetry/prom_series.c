/* Prometheus text exposition (format 0.0.4), its pieces shared by prom*.c: a
 * label value escaped, a family's HELP and TYPE, a value (NaN and infinities
 * spelled out), one series with its labels, and the labels of a vCPU's
 * series. */
#include "telemetry/tel_int.h"

#include <math.h>

void tel_prom_esc(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

void tel_prom_family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void tel_prom_value(FILE *f, double v)
{
	if (isnan(v))
		fputs(" NaN\n", f);
	else if (isinf(v))
		fputs(v > 0 ? " +Inf\n" : " -Inf\n", f);
	else
		fprintf(f, " %.10g\n", v);
}

void tel_prom_series(FILE *f, const char *name, const struct tel_prom_lbl *l, double v)
{
	fprintf(f, "%s{vm=\"", name);
	tel_prom_esc(f, l->vm);
	fputc('"', f);
	if (l->vcpu >= 0)
		fprintf(f, ",vcpu=\"%d\"", l->vcpu);
	if (l->source)
		fprintf(f, ",source=\"%s\"", l->source);
	if (l->k) {
		fprintf(f, ",%s=\"", l->k);
		tel_prom_esc(f, l->v);
		fputc('"', f);
	}
	fputc('}', f);
	tel_prom_value(f, v);
}

void tel_prom_one(FILE *f, const char *name, const char *vm, const char *k, const char *v,
		  double x)
{
	struct tel_prom_lbl l = { vm, -1, NULL, k, v };

	tel_prom_series(f, name, &l, x);
}

/* The labels of vCPU i's series: its VM and its index there. */
struct tel_prom_lbl tel_prom_vlbl(const struct tel_prom_in *in, int i, const char *src,
				  const char *k, const char *v)
{
	struct tel_prom_lbl l = { in->vcpu_vm ? in->vcpu_vm[i] : in->vm,
			 in->vcpu_idx ? in->vcpu_idx[i] : i, src, k, v };

	return l;
}
