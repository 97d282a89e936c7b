/*
 * adapt: the data of the `avmm experiment` report, as JSON.
 *
 * {experiment (simulated: "simulated on MODEL, seed N" or null), host, date, avmm_version, profiles, phases, metrics,
 *  summary: [{row, label, values[profile][metric]}], throughput, guest_end,
 *  table_text, runs: [{profile, result, rep, start_unix_ms, trace, stride,
 *  t_s, cpu_s, cpu_pct, delay_pct, exits_per_s, ipc, power_w, energy_j,
 *  hw_why, energy_why, energy_estimated, decisions, decisions_total}],
 *  files: [{kind, path, profile, rep}]}
 * Unknown figures are null, never 0. Series are columns (one array per
 * figure, t_s first), the way the charts take them.
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "adapt/experiment_int.h"

#ifndef AVMM_VERSION
#define AVMM_VERSION "dev"
#endif

static const char *const col_key[EXP_COLS] = {
	"t_s", "cpu_s", "cpu_pct", "delay_pct", "exits_per_s", "ipc", "power_w", "energy_j",
};

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *str_or_null(const char *s) { return s && *s ? json_string(s) : json_null(); }

static json_t *experiment(const struct exp_ctx *c)
{
	const struct pol_experiment *x = &c->x;

	return json_pack("{s:s, s:s, s:s, s:s, s:i, s:I, s:f, s:i, s:b, s:o, s:o}", "name", x->name, "file", x->path,
			 "guest", x->guest, "cmdline", x->cmdline, "vcpus", x->vcpus, "memory_mib",
			 (json_int_t)(x->mem_bytes >> 20), "duration_s", (double)x->duration_ns / 1e9, "repeat",
			 x->repeat, "dry_run", c->dry_run, "interrupted", str_or_null(c->interrupted),
			 "simulated", str_or_null(c->simulated));
}

static json_t *host(void)
{
	struct utsname u;

	if (uname(&u))
		return json_null();
	return json_pack("{s:s, s:s, s:s, s:I}", "name", u.nodename, "kernel", u.release, "machine", u.machine,
			 "cpus", (json_int_t)sysconf(_SC_NPROCESSORS_ONLN));
}

static json_t *date(int64_t unix_ms)
{
	time_t t = (time_t)(unix_ms / 1000);
	struct tm tm;
	char buf[64];

	if (!localtime_r(&t, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S %z", &tm))
		return json_null();
	return json_string(buf);
}

static json_t *phases(const struct exp_ctx *c)
{
	json_t *a = json_array();
	char name[32], what[256];
	double from, to;
	int r;

	for (r = 0; a && r <= c->x.nr_phases; r++) {
		adapt_exp_row_span(&c->x, r, &from, &to);
		what[0] = 0;
		if (r)
			adapt_exp_describe_phase(&c->x.phase[r - 1], what, sizeof(what));
		snprintf(name, sizeof(name), r ? "phase.%d" : "start", r ? c->x.phase[r - 1].index : 0);
		json_array_append_new(a, json_pack("{s:i, s:s, s:f, s:f, s:s, s:b}", "row", r, "name", name,
						   "from_s", from, "to_s", to, "what", what, "shown",
						   adapt_exp_row_shown(c, r)));
	}
	return a;
}

/* Per shown row (and the whole run): values[profile][metric]. */
static json_t *summary(const struct exp_ctx *c, int nres)
{
	json_t *rows = json_array();
	char label[300];
	int r, i, m;

	for (r = 0; rows && r <= c->x.nr_phases + 1; r++) {
		json_t *vals;

		if (!adapt_exp_row_shown(c, r))
			continue;
		vals = json_array();
		if (r <= c->x.nr_phases)
			adapt_exp_row_label(c, r, label, sizeof(label));
		else
			snprintf(label, sizeof(label), "whole run");
		for (i = 0; vals && i < nres; i++) {
			json_t *v = json_array();

			for (m = 0; v && m < EXP_METRICS; m++)
				json_array_append_new(v, num(adapt_exp_metric(c, &c->res[i], r, m)));
			json_array_append_new(vals, v);
		}
		json_array_append_new(rows, json_pack("{s:i, s:s, s:o}", "row", r, "label", label, "values", vals));
	}
	return rows;
}

static json_t *throughput(const struct exp_ctx *c, int nres)
{
	json_t *v = json_array(), *vs = json_array(), *notes = json_array(), *end = json_array();
	const char *key = "";
	int i;

	for (i = 0; i < nres; i++) {
		const struct exp_result *r = &c->res[i];

		if (r->tput_n && !key[0])
			key = r->tput_key;
		json_array_append_new(v, num(adapt_exp_throughput(r)));
		json_array_append_new(vs, num(adapt_exp_throughput(r) / adapt_exp_throughput(&c->res[0])));
		json_array_append_new(notes, str_or_null(r->tput_n ? "" : r->tput_note));
		json_array_append_new(end, json_string(r->end));
	}
	return json_pack("{s:s, s:o, s:o, s:o, s:o}", "key", key, "values", v, "vs_baseline", vs, "notes", notes,
			 "guest_end", end);
}

static json_t *decisions(const struct exp_series *se)
{
	json_t *a = json_array();
	int i;

	for (i = 0; a && i < se->nr_dec; i++) {
		const struct exp_listed *l = &se->dec[i];

		json_array_append_new(a, json_pack("{s:f, s:s, s:s, s:s, s:s, s:b, s:f}", "t_s", l->t_s, "kind",
						   l->d.kind, "what", l->d.what, "why", l->d.why, "effect",
						   l->d.effect, "dry_run", l->d.dry_run, "apply_ms",
						   (double)l->d.apply_ns / 1e6));
	}
	return a;
}

static json_t *run(const struct exp_ctx *c, const struct exp_series *se)
{
	json_t *o = json_pack("{s:s, s:i, s:i, s:I, s:o, s:i, s:o, s:o, s:b, s:o, s:i}", "profile",
			      c->res[se->result].profile, "result", se->result, "rep", se->rep + 1,
			      "start_unix_ms", (json_int_t)se->start_unix_ms, "trace", str_or_null(se->trace),
			      "stride", se->stride, "hw_why", str_or_null(se->hw_up ? "" : se->hw_why),
			      "energy_why", str_or_null(se->energy_up ? "" : se->energy_why), "energy_estimated",
			      se->energy_est, "decisions", decisions(se), "decisions_total", se->dec_total);
	int k, i;

	for (k = 0; o && k < EXP_COLS; k++) {
		json_t *col = json_array();

		for (i = 0; col && i < se->n; i++)
			json_array_append_new(col, num(se->p[i][k]));
		json_object_set_new(o, col_key[k], col ? col : json_null());
	}
	return o;
}

static void add_file(json_t *files, const char *kind, const char *path, const char *profile, int rep)
{
	json_array_append_new(files, json_pack("{s:s, s:s, s:o, s:o}", "kind", kind, "path", path, "profile",
					       str_or_null(profile), "rep", rep ? json_integer(rep) : json_null()));
}

static json_t *runs_and_files(const struct exp_ctx *c, const char *report, json_t **files)
{
	json_t *runs = json_array();
	const struct exp_series *se;

	*files = json_array();
	if (!runs || !*files)
		return runs;
	if (strcmp(c->x.summary, "-"))
		add_file(*files, "summary", c->x.summary, NULL, 0);
	add_file(*files, "report", report, NULL, 0);
	for (se = c->series; se; se = se->next) {
		json_array_append_new(runs, run(c, se));
		if (se->trace[0] && !access(se->trace, F_OK))
			add_file(*files, "trace", se->trace, c->res[se->result].profile, se->rep + 1);
	}
	return runs;
}

static json_t *metrics(void)
{
	json_t *a = json_array();
	int m;

	for (m = 0; a && m < EXP_METRICS; m++)
		json_array_append_new(a, json_pack("{s:s, s:s}", "key", adapt_exp_metric_key(m), "label",
						   adapt_exp_metric_label(m)));
	return a;
}

/* Every '<' as \u003c: no "</script>" or "<!--" in the script element. */
static char *script_safe(const char *s)
{
	size_t n = 0, i;
	char *out, *p;

	for (i = 0; s[i]; i++)
		n += s[i] == '<' ? 6 : 1;
	out = p = malloc(n + 1);
	if (!out)
		return NULL;
	for (i = 0; s[i]; i++) {
		if (s[i] == '<') {
			memcpy(p, "\\u003c", 6);
			p += 6;
		} else {
			*p++ = s[i];
		}
	}
	*p = 0;
	return out;
}

char *adapt_exp_report_json(const struct exp_ctx *c, const char *report_path, const char *table)
{
	int nres = adapt_exp_nr_results(c), i;
	json_t *root, *profiles = json_array(), *files = NULL, *runs;
	char *text, *safe;

	for (i = 0; profiles && i < nres; i++)
		json_array_append_new(profiles, json_string(c->res[i].profile));
	runs = runs_and_files(c, report_path, &files);
	root = json_pack("{s:o, s:o, s:o, s:s, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "experiment",
			 experiment(c), "host", host(), "date", date(c->start_unix_ms), "avmm_version",
			 AVMM_VERSION, "start_unix_ms", (json_int_t)c->start_unix_ms, "profiles", profiles,
			 "phases", phases(c), "metrics", metrics(), "summary", summary(c, nres), "throughput",
			 throughput(c, nres), "table_text", str_or_null(table), "runs", runs, "files", files);
	if (!root)
		return NULL;
	text = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(7));
	json_decref(root);
	if (!text)
		return NULL;
	safe = script_safe(text);
	free(text);
	return safe;
}
