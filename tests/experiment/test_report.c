/*
 * The HTML report of `avmm experiment`: where it goes, the time series it
 * draws, a page from made-up figures (hostile text escaped, a source down
 * said unavailable) and a real compare run on KVM, each page checked as a
 * file (self-contained, its data) and in headless Chromium (no errors,
 * charts drawn; screenshots in $AVMM_BUILD/test-output/).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adapt/experiment_int.h"
#include "helpers.h"
#include "tests/lib/report_check.h"

static char err[16384];

static void fini(void)
{
	exp_cleanup();
}

static struct exp_ctx *ctx_new(const char *name, const char *summary, const char *trace, const char *report)
{
	struct exp_ctx *c = calloc(1, sizeof(*c));

	cr_assert_not_null(c);
	snprintf(c->x.name, sizeof(c->x.name), "%s", name);
	snprintf(c->x.summary, sizeof(c->x.summary), "%s", summary);
	snprintf(c->x.trace, sizeof(c->x.trace), "%s", trace);
	snprintf(c->x.report, sizeof(c->x.report), "%s", report);
	return c;
}

Test(report_html, where_it_goes)
{
	static const struct { const char *summary, *trace, *report, *want; } t[] = {
		{ "out/x.csv", "", "", "out/x.html" },                  /* beside the CSV */
		{ "res.d/table", "", "", "res.d/table.html" },           /* no extension */
		{ "a.html", "", "", "a-report.html" },                   /* not over the summary */
		{ "-", "build/cn.jsonl", "", "build/cn.html" },          /* beside the traces */
		{ "-", "", "", "exp.html" },                             /* current folder */
		{ "out.csv", "t.jsonl", "/tmp/r.html", "/tmp/r.html" },  /* named */
		{ "out.csv", "", "none", "" },                           /* none */
	};
	char out[600];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct exp_ctx *c = ctx_new("exp", t[i].summary, t[i].trace, t[i].report);

		adapt_exp_report_path(c, out, sizeof(out));
		cr_assert_str_eq(out, t[i].want, "summary %s trace %s report %s", t[i].summary, t[i].trace,
				 t[i].report);
		free(c);
	}
}

/* A made-up sample k of a run: 100 ms apart, energy up (estimated), no PMU. */
static void fake_sample(struct tel_sample *s, uint64_t t0, int k, double cpu_pct)
{
	memset(s, 0, sizeof(*s));
	s->seq = (uint64_t)k;
	s->t_ns = t0 + (uint64_t)k * 100000000ull;
	s->dt_ns = k ? 100000000ull : 0;
	s->nr_vcpus = 1;
	s->vcpu[0].cpu_time_ns = (uint64_t)(k * cpu_pct * 1e6);
	s->vcpu[0].cpu_pct = cpu_pct;
	s->vcpu[0].run_delay_pct = 100 - cpu_pct;
	s->vcpu[0].exits_per_s = 100 + k;
	s->energy.up = true;
	s->energy.estimated = true;
	s->energy.energy_uj = 5000000 + (uint64_t)k * 6000000;   /* 60 W */
	s->energy.power_w = 60;
	s->src[TEL_SRC_THREAD].up = true;
	snprintf(s->src[TEL_SRC_PERF].why, sizeof(s->src[0].why), "no hardware PMU (test)");
}

Test(report_html, series_thins_out_and_keeps_the_energy_baseline)
{
	struct tel_sample *s = calloc(1, sizeof(*s));
	struct exp_series *se = adapt_exp_series_new(0, 0);
	int k;

	cr_assert(s && se);
	for (k = 0; k < 3000; k++) {
		fake_sample(s, 1000, k, 50);
		adapt_exp_series_add(se, 1000, s);
	}
	/* seq 0 and 1 give no point (no rates yet); 2998 points thinned twice */
	cr_assert_eq(se->stride, 4);
	cr_assert(se->n > EXP_SERIES_MAX / 2 && se->n <= EXP_SERIES_MAX, "%d points", se->n);
	cr_assert_float_eq(se->p[0][EXP_T_S], 0.2, 1e-6);
	for (k = 1; k < se->n; k++)
		cr_assert_float_eq(se->p[k][EXP_T_S] - se->p[k - 1][EXP_T_S], 0.4f, 1e-3, "point %d", k);
	/* energy from the first sample's counter, not from 0 */
	cr_assert_float_eq(se->p[0][EXP_ENERGY_J], 12.0, 1e-3);
	cr_assert(isnan(se->p[0][EXP_IPC]));
	cr_assert(se->energy_up && se->energy_est && !se->hw_up);
	cr_assert_str_eq(se->hw_why, "no hardware PMU (test)");
	free(s);
	free(se->p);
	free(se);
}

static void fill_result(struct exp_result *r, const char *profile, double cpu_pct, double tput)
{
	snprintf(r->profile, sizeof(r->profile), "%s", profile);
	for (int i = 0; i < 3; i++) {
		struct exp_row *w = &r->row[i];

		w->dur_s = w->w_s = 1;
		w->cpu = cpu_pct;
		w->delay = 100 - cpu_pct;
		w->exits = 100;
		w->power = 60;
		w->power_w = 1;
		w->energy_j = 60;
		w->energy_up = w->energy_est = true;
		w->samples = 10;
		w->reps = 1;
	}
	r->reps_done = 1;
	r->tput_sum = tput;
	r->tput_n = 1;
	snprintf(r->tput_key, sizeof(r->tput_key), "ops_per_s");
	snprintf(r->end, sizeof(r->end), "ok");
}

#define HOSTILE "t<b>&\"</script><!--"

Test(report_html, made_up_figures_escaped_and_drawn, .fini = fini, .timeout = 120)
{
	const char *dir = exp_tmpdir();
	struct exp_ctx *c;
	struct tel_sample *s = calloc(1, sizeof(*s));
	struct exp_listed l = { .t_s = 1.5 };
	char path[600], csv[600];
	json_t *data, *runs, *vs;
	char *html, *dom;
	int i, k;

	snprintf(csv, sizeof(csv), "%s/out.csv", dir);
	c = ctx_new(HOSTILE, csv, "", "");
	snprintf(c->x.path, sizeof(c->x.path), "%s/x.ini", dir);
	snprintf(c->x.guest, sizeof(c->x.guest), "compute.elf");
	c->x.vcpus = 1;
	c->x.mem_bytes = 32 << 20;
	c->x.duration_ns = 3000000000ull;
	c->x.repeat = 1;
	c->x.nr_phases = 2;
	c->x.phase[0] = (struct pol_exp_phase){ .index = 1, .at_ns = 1000000000ull, .load = POL_LOAD_START,
						.load_threads = 1, .nr_load_cpus = 1 };
	c->x.phase[1] = (struct pol_exp_phase){ .index = 2, .at_ns = 2000000000ull, .load = POL_LOAD_STOP };
	c->nr_runs = 2;
	c->start_unix_ms = adapt_exp_wall_ms();
	fill_result(&c->res[0], "static", 50, 1000);
	fill_result(&c->res[1], "balanced", 80, 1500);
	snprintf(l.d.kind, sizeof(l.d.kind), "coremap");
	snprintf(l.d.what, sizeof(l.d.what), "vcpu0 cpu1->cpu0");
	snprintf(l.d.why, sizeof(l.d.why), "run delay 50%% </script><!-- %s", HOSTILE);
	for (i = 0; i < 2; i++) {
		struct exp_series *se = adapt_exp_series_new(i, 0);

		cr_assert_not_null(se);
		for (k = 0; k < 31; k++) {
			fake_sample(s, 1000, k, i ? 80 : 50);
			adapt_exp_series_add(se, 1000, s);
		}
		if (i)
			adapt_exp_series_decision(se, &l);
		adapt_exp_series_keep(c, se);
	}
	snprintf(path, sizeof(path), "%s/out.html", dir);
	cr_assert_eq(adapt_exp_write_report(c, path), 0);
	adapt_exp_series_free(c);
	free(c);
	free(s);

	html = exp_slurp(path);
	cr_assert_not_null(html);
	data = report_static_check(html);
	/* the text came through intact, as data, never as markup */
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(data, "experiment"), "name")), HOSTILE);
	cr_assert_not_null(strstr(html, "<title>avmm experiment: t&lt;b&gt;&amp;&quot;&lt;/script&gt;&lt;!--</title>"));
	runs = json_object_get(data, "runs");
	cr_assert_eq(json_array_size(runs), 2);
	cr_assert_eq(json_array_size(json_object_get(json_array_get(runs, 0), "t_s")), 29);
	cr_assert(json_is_null(json_array_get(json_object_get(json_array_get(runs, 0), "ipc"), 0)));
	cr_assert_eq(json_array_size(json_object_get(data, "summary")), 4, "start, 2 phases, whole run");
	vs = json_object_get(json_object_get(data, "throughput"), "vs_baseline");
	cr_assert_float_eq(json_number_value(json_array_get(vs, 1)), 1.5, 1e-9);
	json_decref(data);
	free(html);
	/* progress, CPU, run delay, exits, power, energy; IPC says why not */
	dom = report_chromium_check(path, "experiment-report-made-up", 6, 1);
	cr_assert_not_null(strstr(dom, "<h1>avmm experiment: t&lt;b&gt;&amp;\"&lt;/script&gt;&lt;!--</h1>"),
			   "the name as text in the heading");
	cr_assert_not_null(strstr(dom, "IPC: unavailable: no hardware PMU (test)"));
	cr_assert_not_null(strstr(dom, "* estimated from a model"));
	cr_assert_not_null(strstr(dom, ">D1<"), "the decision is not listed");
	cr_assert_not_null(strstr(dom, "run delay 50% &lt;/script&gt;&lt;!--"), "the decision's reason");
	free(dom);
}

static double csv_num(const char *csv, const char *profile, const char *phase, const char *col)
{
	char v[64];

	cr_assert(exp_csv_field(csv, profile, phase, col, v, sizeof(v)), "no %s for %s/%s", col, profile, phase);
	return v[0] ? strtod(v, NULL) : NAN;
}

/* The page's figure is the CSV's (both unknown, or within tol, relative
 * for large ones: the CSV prints 3 decimals, the page 7 digits). */
static void same(json_t *page, double csv, double tol, const char *what)
{
	if (isnan(csv)) {
		cr_assert(json_is_null(page), "%s: unknown in the CSV, not in the page", what);
		return;
	}
	cr_assert(json_is_number(page), "%s: %g in the CSV, unknown in the page", what, csv);
	cr_assert_float_eq(json_number_value(page), csv, tol + 1e-6 * fabs(csv), "%s: page %g, CSV %g", what,
			   json_number_value(page), csv);
}

/* Charts that cannot be drawn: every run's column null. */
static int unavailable(json_t *runs, const char *key)
{
	size_t i, j;

	for (i = 0; i < json_array_size(runs); i++) {
		json_t *col = json_object_get(json_array_get(runs, i), key);

		for (j = 0; j < json_array_size(col); j++)
			if (json_is_number(json_array_get(col, j)))
				return 0;
	}
	return 1;
}

Test(report_html, real_compare_beside_the_csv, .fini = fini, .timeout = 120)
{
	char guest[512], text[2048], csvpath[600], path[600], cwd[256];
	const char *dir, *profiles[2] = { "quick-static", "quick-balanced" };
	json_t *data, *runs, *files, *sum;
	char *csv, *html;
	size_t i, j;
	int rc, traces = 0;

	exp_need_kvm_guest(guest, sizeof(guest));
	cr_assert_not_null(getcwd(cwd, sizeof(cwd)));
	dir = exp_tmpdir();
	snprintf(text, sizeof(text),
		 "[experiment]\nname = rep\nguest = %s\ncmdline = ms=1500\nmemory = 32M\n"
		 "compare = %s/policies/experiments/profiles/quick-static.ini, "
		 "%s/policies/experiments/profiles/quick-balanced.ini\nduration_s = 2.5\n"
		 "[output]\nsummary = %s/out.csv\nformat = csv\ntrace = %s/trace.jsonl\n"
		 "[phase.1]\nat_s = 0.6\nhost_load = start\nhost_load_kind = cpu\nhost_load_threads = 1\n"
		 "host_load_cpus = %d\n[phase.2]\nat_s = 1.4\nhost_load = stop\n",
		 guest, cwd, cwd, dir, dir, exp_first_cpu());
	rc = exp_run(err, sizeof(err), exp_write("rep.ini", text), NULL);
	cr_assert_eq(rc, 0, "exit %d:\n%s", rc, err);
	snprintf(csvpath, sizeof(csvpath), "%s/out.csv", dir);
	snprintf(path, sizeof(path), "%s/out.html", dir);
	cr_assert_not_null(strstr(err, "files written:"), "%s", err);
	cr_assert_not_null(strstr(err, path), "the report's path is not said:\n%s", err);
	csv = exp_slurp(csvpath);
	html = exp_slurp(path);
	cr_assert(csv && html, "no summary or no report beside it");
	data = report_static_check(html);
	/* the summary as the CLI's, figures as in the CSV */
	cr_assert_not_null(strstr(html, "throughput ops_per_s"), "no summary table in the page");
	cr_assert_eq(json_array_size(json_object_get(data, "profiles")), 2);
	sum = json_array_get(json_object_get(data, "summary"), json_array_size(json_object_get(data, "summary")) - 1);
	cr_assert_str_eq(json_string_value(json_object_get(sum, "label")), "whole run");
	for (i = 0; i < 2; i++) {
		json_t *vals = json_array_get(json_object_get(sum, "values"), i);
		json_t *tp = json_object_get(data, "throughput");

		cr_assert_str_eq(json_string_value(json_array_get(json_object_get(data, "profiles"), i)), profiles[i]);
		same(json_array_get(vals, 2), csv_num(csv, profiles[i], "all", "guest_cpu_pct"), 0.051, "CPU");
		same(json_array_get(json_object_get(tp, "values"), i), csv_num(csv, profiles[i], "all", "throughput"),
		     0.01, "throughput");
		same(json_array_get(json_object_get(tp, "vs_baseline"), i),
		     csv_num(csv, profiles[i], "all", "throughput_vs_baseline"), 0.0001, "vs baseline");
	}
	/* a series per run, the guest's progress never going back */
	runs = json_object_get(data, "runs");
	cr_assert_eq(json_array_size(runs), 2);
	for (i = 0; i < 2; i++) {
		json_t *r = json_array_get(runs, i), *cpu_s = json_object_get(r, "cpu_s");
		double dec = csv_num(csv, profiles[i], "all", "decisions");

		cr_assert_geq(json_array_size(cpu_s), 5, "run %zu: too few points", i);
		for (j = 1; j < json_array_size(cpu_s); j++)
			cr_assert_geq(json_number_value(json_array_get(cpu_s, j)),
				      json_number_value(json_array_get(cpu_s, j - 1)), "point %zu of run %zu", j, i);
		cr_assert_float_eq((double)json_integer_value(json_object_get(r, "decisions_total")), dec, 1e-9);
	}
	/* every file written is listed, in the page and on stderr */
	files = json_object_get(data, "files");
	for (i = 0; i < json_array_size(files); i++) {
		const char *kind = json_string_value(json_object_get(json_array_get(files, i), "kind"));
		const char *p = json_string_value(json_object_get(json_array_get(files, i), "path"));

		cr_assert_eq(access(p, R_OK), 0, "%s %s listed but missing", kind, p);
		cr_assert_not_null(strstr(err, p), "%s not said on stderr:\n%s", p, err);
		traces += !strcmp(kind, "trace");
	}
	cr_assert_eq(traces, 2, "a trace per profile");
	free(report_chromium_check(path, "experiment-report", 4, unavailable(runs, "ipc") +
				   unavailable(runs, "power_w") + unavailable(runs, "energy_j")));
	json_decref(data);
	free(csv);
	free(html);
}
