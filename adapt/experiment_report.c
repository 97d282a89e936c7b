/*
 * adapt: the summary of `avmm experiment`.
 *
 * The goal metrics per phase row and for the whole run, profiles side by
 * side, as a table (with the guest's throughput, its ratio to the first
 * profile, how each guest ended and the decisions taken) or as CSV, one
 * line per profile and row. Unknown figures print as "-" (n/a for IPC) in
 * the table and empty in CSV, never as zero.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "adapt/experiment_int.h"
#include "common/util.h"

enum metric { M_SECS, M_SAMPLES, M_CPU, M_DELAY, M_EXITS, M_IPC, M_POWER, M_ENERGY, M_DECISIONS, M_COUNT };
static const char *const metric_name[M_COUNT] = {
	"seconds", "samples", "guest CPU %", "run delay %", "exits/s", "IPC", "power W", "energy J", "decisions",
};
static const char *const metric_csv[M_COUNT] = {
	"secs", "samples", "guest_cpu_pct", "run_delay_pct", "exits_per_s", "ipc", "power_w", "energy_j", "decisions",
};

static double ratio(double sum, double w) { return w > 0 ? sum / w : NAN; }

double adapt_exp_throughput(const struct exp_result *r) { return r->tput_n ? r->tput_sum / r->tput_n : NAN; }

/* The whole run: every row summed. */
static void row_total(const struct exp_ctx *c, const struct exp_result *r, struct exp_row *t)
{
	int i;

	memset(t, 0, sizeof(*t));
	for (i = 0; i <= c->x.nr_phases; i++) {
		const struct exp_row *w = &r->row[i];

		t->dur_s += w->dur_s;
		t->w_s += w->w_s;
		t->cpu += w->cpu;
		t->delay += w->delay;
		t->exits += w->exits;
		t->ipc += w->ipc;
		t->ipc_w += w->ipc_w;
		t->power += w->power;
		t->power_w += w->power_w;
		t->energy_j += w->energy_j;
		t->energy_up |= w->energy_up;
		t->energy_est |= w->energy_est;
		t->samples += w->samples;
		t->decisions += w->decisions;
	}
	t->reps = r->reps_done;
}

/* Row r of a result; r past the last phase is the whole run (in *tot). */
static const struct exp_row *row_at(const struct exp_ctx *c, const struct exp_result *r, int row,
				    struct exp_row *tot)
{
	if (row <= c->x.nr_phases)
		return &r->row[row];
	row_total(c, r, tot);
	return tot;
}

static double metric(const struct exp_row *w, enum metric m)
{
	int reps = w->reps > 0 ? w->reps : 1;

	switch (m) {
	case M_SECS: return w->reps ? w->dur_s / reps : NAN;
	case M_SAMPLES: return w->samples;
	case M_CPU: return ratio(w->cpu, w->w_s);
	case M_DELAY: return ratio(w->delay, w->w_s);
	case M_EXITS: return ratio(w->exits, w->w_s);
	case M_IPC: return ratio(w->ipc, w->ipc_w);
	case M_POWER: return ratio(w->power, w->power_w);
	case M_ENERGY: return w->energy_up ? w->energy_j / reps : NAN;
	case M_DECISIONS: return w->decisions;
	default: return NAN;
	}
}

_Static_assert(M_COUNT == EXP_METRICS, "EXP_METRICS in experiment_int.h");

const char *adapt_exp_metric_key(int m) { return m >= 0 && m < M_COUNT ? metric_csv[m] : "?"; }
const char *adapt_exp_metric_label(int m) { return m >= 0 && m < M_COUNT ? metric_name[m] : "?"; }

double adapt_exp_metric(const struct exp_ctx *c, const struct exp_result *r, int row, int m)
{
	struct exp_row tot;

	return m >= 0 && m < M_COUNT ? metric(row_at(c, r, row, &tot), (enum metric)m) : NAN;
}

static void fmt_metric(const struct exp_row *w, enum metric m, bool csv, char *out, size_t len)
{
	double v = metric(w, m);

	if (!isfinite(v))
		snprintf(out, len, "%s", csv ? "" : m == M_IPC ? "n/a" : "-");
	else if (m == M_SAMPLES || m == M_DECISIONS || m == M_EXITS)
		snprintf(out, len, "%.0f", v);
	else if (m == M_SECS || m == M_IPC)
		snprintf(out, len, "%.2f", v);
	else
		snprintf(out, len, "%.1f%s", v, !csv && (m == M_POWER || m == M_ENERGY) && w->energy_est ? "*" : "");
}

/* Where row r starts and ends on the timeline, in seconds. */
void adapt_exp_row_span(const struct pol_experiment *x, int r, double *from, double *to)
{
	*from = r && r <= x->nr_phases ? (double)x->phase[r - 1].at_ns / 1e9 : 0;
	*to = r < x->nr_phases ? (double)x->phase[r].at_ns / 1e9 : (double)x->duration_ns / 1e9;
}

void adapt_exp_row_label(const struct exp_ctx *c, int r, char *out, size_t len)
{
	const struct pol_experiment *x = &c->x;
	double from, to;
	char what[200];

	adapt_exp_row_span(x, r, &from, &to);
	if (!r) {
		snprintf(out, len, "start %.2f-%.2f s", from, to);
		return;
	}
	adapt_exp_describe_phase(&x->phase[r - 1], what, sizeof(what));
	snprintf(out, len, "phase.%d %.2f-%.2f s: %s", x->phase[r - 1].index, from, to, what);
}

/* Row 0 is empty when the first phase starts at 0 s. */
bool adapt_exp_row_shown(const struct exp_ctx *c, int r)
{
	return r > c->x.nr_phases || r || !c->x.nr_phases || c->x.phase[0].at_ns > 0;
}

/* ---- table -------------------------------------------------------------- */

static void print_header(FILE *f, const struct exp_ctx *c)
{
	const struct pol_experiment *x = &c->x;

	fprintf(f, "experiment %s (%s): %s '%s', %d vCPU%s, %llu MiB, %.2f s x %d%s\n", x->name, x->path,
		x->guest, x->cmdline, x->vcpus, x->vcpus > 1 ? "s" : "",
		(unsigned long long)(x->mem_bytes >> 20), (double)x->duration_ns / 1e9, x->repeat,
		c->dry_run ? ", dry run (decisions logged, not applied)" : "");
	if (c->interrupted[0])
		fprintf(f, "INTERRUPTED: %s\n", c->interrupted);
}

/* The metric rows; true when an energy figure is estimated. */
static bool print_metrics(FILE *f, const struct exp_ctx *c, int nres)
{
	struct exp_row tot;
	char buf[256], v[32];
	bool est = false;
	int i, r, m;

	for (r = 0; r <= c->x.nr_phases + 1; r++) {
		if (!adapt_exp_row_shown(c, r))
			continue;
		if (r <= c->x.nr_phases)
			adapt_exp_row_label(c, r, buf, sizeof(buf));
		fprintf(f, "%s\n", r <= c->x.nr_phases ? buf : "whole run");
		for (m = 0; m < M_COUNT; m++) {
			fprintf(f, "  %-26s", metric_name[m]);
			for (i = 0; i < nres; i++) {
				const struct exp_row *w = row_at(c, &c->res[i], r, &tot);

				est |= w->energy_est;
				fmt_metric(w, m, false, v, sizeof(v));
				fprintf(f, " %14s", v);
			}
			fputc('\n', f);
		}
	}
	return est;
}

/* Each profile's mean throughput, or (vs_first) its ratio to the first's. */
static void print_tput_row(FILE *f, const struct exp_ctx *c, int nres, const char *label, bool vs_first)
{
	char v[32];
	int i;

	fprintf(f, "%-28s", label);
	for (i = 0; i < nres; i++) {
		double t = adapt_exp_throughput(&c->res[i]);

		if (vs_first)
			t /= adapt_exp_throughput(&c->res[0]);
		if (isfinite(t))
			snprintf(v, sizeof(v), "%.*f", vs_first ? 3 : 1, t);
		else
			snprintf(v, sizeof(v), "-");
		fprintf(f, " %14s", v);
	}
	fputc('\n', f);
}

static void print_tput(FILE *f, const struct exp_ctx *c, int nres)
{
	char buf[256];
	int i;

	for (i = 0; i < nres; i++)
		if (c->res[i].tput_n) {
			snprintf(buf, sizeof(buf), "  throughput %s", c->res[i].tput_key);
			break;
		}
	if (i == nres)
		snprintf(buf, sizeof(buf), "  throughput");
	print_tput_row(f, c, nres, buf, false);
	if (nres > 1) {
		snprintf(buf, sizeof(buf), "  vs %s", c->res[0].profile);
		print_tput_row(f, c, nres, buf, true);
	}
	fprintf(f, "%-28s", "  guest end");
	for (i = 0; i < nres; i++)
		fprintf(f, " %14.14s", c->res[i].end);
	fputc('\n', f);
	for (i = 0; i < nres; i++) {
		if (c->res[i].tput_note[0] && !c->res[i].tput_n)
			fprintf(f, "%s: throughput unknown: %s\n", c->res[i].profile, c->res[i].tput_note);
		if (strcmp(c->res[i].end, "ok") && strcmp(c->res[i].end, "stopped at duration"))
			fprintf(f, "%s: guest end: %s\n", c->res[i].profile, c->res[i].end);
	}
}

static void print_decisions(FILE *f, const struct exp_ctx *c, int nres)
{
	int i, j;

	for (i = 0; i < nres; i++) {
		const struct exp_result *res = &c->res[i];

		fprintf(f, "decisions under %s:%s\n", res->profile, res->nr_listed ? "" : " none");
		for (j = 0; j < res->nr_listed; j++) {
			const struct exp_listed *l = &res->listed[j];

			fprintf(f, "  run %d %7.2f s  %-11s %s%s (%s)%s%s\n", l->rep + 1, l->t_s, l->d.kind,
				l->d.what, l->d.dry_run ? " [dry run]" : "", l->d.why,
				l->d.effect[0] ? " -> " : "", l->d.effect);
		}
	}
}

int adapt_exp_nr_results(const struct exp_ctx *c)
{
	int i, nres = 0;

	for (i = 0; i < c->nr_runs; i++)
		if (c->res[i].reps_done)
			nres = i + 1;
	return nres;
}

void adapt_exp_print_table(FILE *f, const struct exp_ctx *c)
{
	bool est;
	int i, nres = adapt_exp_nr_results(c);

	print_header(f, c);
	fprintf(f, "%-28s", "");
	for (i = 0; i < nres; i++)
		fprintf(f, " %14s", c->res[i].profile);
	fputc('\n', f);
	est = print_metrics(f, c, nres);
	print_tput(f, c, nres);
	if (est)
		fprintf(f, "* estimated from a model (no RAPL energy counters on this host)\n");
	print_decisions(f, c, nres);
}

/* ---- CSV ---------------------------------------------------------------- */

static void print_csv(FILE *f, const struct exp_ctx *c)
{
	const struct pol_experiment *x = &c->x;
	struct exp_row tot;
	char v[32], label[32];
	int i, r, m;

	fprintf(f, "experiment,profile,phase,start_s,end_s");
	for (m = 0; m < M_COUNT; m++)
		fprintf(f, ",%s", metric_csv[m]);
	fprintf(f, ",energy_estimated,throughput_key,throughput,throughput_vs_baseline,guest_end,interrupted\n");
	for (i = 0; i < c->nr_runs; i++) {
		const struct exp_result *res = &c->res[i];
		double t = adapt_exp_throughput(res), t0 = adapt_exp_throughput(&c->res[0]);

		if (!res->reps_done)
			continue;
		for (r = 0; r <= x->nr_phases + 1; r++) {
			const struct exp_row *w = row_at(c, res, r, &tot);
			double from, to;

			if (!adapt_exp_row_shown(c, r))
				continue;
			adapt_exp_row_span(x, r, &from, &to);
			if (r > x->nr_phases)
				snprintf(label, sizeof(label), "all");
			else if (r)
				snprintf(label, sizeof(label), "phase.%d", x->phase[r - 1].index);
			else
				snprintf(label, sizeof(label), "start");
			fprintf(f, "%s,%s,%s,%.3f,%.3f", x->name, res->profile, label, from, to);
			for (m = 0; m < M_COUNT; m++) {
				fmt_metric(w, m, true, v, sizeof(v));
				fprintf(f, ",%s", v);
			}
			fprintf(f, ",%s,%s,", w->energy_up ? (w->energy_est ? "yes" : "no") : "",
				res->tput_key);
			if (isfinite(t))
				fprintf(f, "%.3f", t);
			fputc(',', f);
			if (isfinite(t / t0))
				fprintf(f, "%.4f", t / t0);
			fprintf(f, ",\"%s\",%s\n", res->end, c->interrupted[0] ? "yes" : "no");
		}
	}
}

int adapt_exp_write_summary(const struct exp_ctx *c)
{
	const char *path = c->x.summary;
	bool to_stdout = !strcmp(path, "-");
	char why[512];
	FILE *f = to_stdout ? stdout : util_fopen_output(path, why, sizeof(why));

	if (!f) {
		util_err("%s: summary: %s; name a writable path or '-' for stdout", c->x.path, why);
		adapt_exp_print_table(stdout, c);
		return -EIO;
	}
	if (c->x.format == POL_FMT_CSV)
		print_csv(f, c);
	else
		adapt_exp_print_table(f, c);
	if (to_stdout) {
		fflush(f);
	} else {
		if (fclose(f)) {
			util_err("%s: summary = %s: write failed", c->x.path, path);
			return -EIO;
		}
		adapt_exp_progress(c, "summary written to %s", path);
	}
	return 0;
}
