/* What `avmm experiment --simulate` writes beside its summary: the real
 * runner's HTML report (checked as tests/experiment checks a real one) and
 * telemetry's JSON-lines traces, both labelled as simulated; the trace's
 * records have the keys a real run's trace has (a real run on /dev/kvm,
 * skipped where there is none). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adapt/adapt.h"
#include "adapt/sim.h"
#include "tests/lib/bg_avmm.h"
#include "tests/lib/report_check.h"

#define LABEL "simulated on host-2core, seed 1"

static char dir[] = "/tmp/avmm-simout-XXXXXX";

static void setup(void) { cr_assert(mkdtemp(dir)); }

static void fini(void)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

/* policies/experiments/coremap-noise.ini with its outputs in dir under
 * stem (stem.csv, stem.jsonl) and, for a real run, a short guest. */
static const char *write_ini(const char *stem, bool real)
{
	static char ini[600];
	char line[1024];
	FILE *in = fopen("policies/experiments/coremap-noise.ini", "r"), *out;

	snprintf(ini, sizeof(ini), "%s/%s.ini", dir, stem);
	out = fopen(ini, "w");
	cr_assert(in && out);
	while (fgets(line, sizeof(line), in)) {
		if (!strncmp(line, "summary", 7) || !strncmp(line, "format", 6) || !strncmp(line, "trace", 5) ||
		    !strncmp(line, "report", 6))
			continue;
		if (real && !strncmp(line, "cmdline", 7))
			snprintf(line, sizeof(line), "cmdline = ms=2500\n");
		if (real && !strncmp(line, "duration_s", 10))
			snprintf(line, sizeof(line), "duration_s = 2\n");
		if (real && !strncmp(line, "at_s = 8", 8))
			snprintf(line, sizeof(line), "at_s = 0.7\n");
		if (real && !strncmp(line, "at_s = 16", 9))
			snprintf(line, sizeof(line), "at_s = 1.4\n");
		fputs(line, out);
		if (!strncmp(line, "[output]", 8))
			fprintf(out, "summary = %s/%s.csv\nformat = csv\ntrace = %s/%s.jsonl\n", dir, stem, dir, stem);
	}
	fclose(in);
	fclose(out);
	return ini;
}

static int run(const char *ini, bool simulate)
{
	char *sim[] = { "experiment", "--quiet", "--simulate", "policies/models/host-2core.ini", (char *)ini, NULL };
	char *real[] = { "experiment", "--quiet", (char *)ini, NULL };

	return simulate ? adapt_cli_experiment(5, sim) : adapt_cli_experiment(3, real);
}

Test(sim_outputs, report_as_a_real_one_labelled_simulated, .init = setup, .fini = fini)
{
	struct adapt_sim_row rows[8];
	char path[600];
	json_t *data, *x, *runs, *r, *cpu_s, *sum, *dec;
	char *html;
	size_t i;
	int n;
	bool moved = false;

	cr_assert_eq(run(write_ini("sim", false), true), 0);
	snprintf(path, sizeof(path), "%s/sim.html", dir);
	html = file_text(path);
	cr_assert_not_null(html, "no report beside the summary (%s)", path);
	data = report_static_check(html);
	cr_assert_not_null(strstr(html, "<title>avmm experiment: coremap-noise (" LABEL ")</title>"));
	cr_assert_not_null(strstr(html, "id=\"simulated\">SIMULATED, not measured: " LABEL), "no banner");
	x = json_object_get(data, "experiment");
	cr_assert_str_eq(json_string_value(json_object_get(x, "simulated")), LABEL);
	/* the summary's rows are the CSV's (guest CPU %, metric 2) */
	snprintf(path, sizeof(path), "%s/sim.csv", dir);
	n = adapt_sim_read_summary(path, rows, 8);
	cr_assert_eq(n, 3, "start, phase.1, phase.2 in %s", path);
	sum = json_object_get(data, "summary");
	for (i = 0; i < (size_t)n; i++) {
		json_t *v = json_array_get(json_array_get(json_object_get(json_array_get(sum, i), "values"), 0), 2);

		cr_assert_float_eq(json_number_value(v), rows[i].cpu, 0.051, "row %zu: page %g, CSV %g", i,
				   json_number_value(v), rows[i].cpu);
	}
	/* one run's series over the 24 virtual seconds, progress never going back */
	runs = json_object_get(data, "runs");
	cr_assert_eq(json_array_size(runs), 1);
	r = json_array_get(runs, 0);
	cpu_s = json_object_get(r, "cpu_s");
	cr_assert_geq(json_array_size(cpu_s), 50);
	for (i = 1; i < json_array_size(cpu_s); i++)
		cr_assert_geq(json_number_value(json_array_get(cpu_s, i)), json_number_value(json_array_get(cpu_s, i - 1)));
	cr_assert_float_eq(json_number_value(json_array_get(json_object_get(r, "t_s"), json_array_size(cpu_s) - 1)),
			   24, 0.5, "the series ends at the virtual duration");
	dec = json_object_get(r, "decisions");
	for (i = 0; i < json_array_size(dec); i++)
		moved |= !!strstr(json_string_value(json_object_get(json_array_get(dec, i), "what")), "cpu1->cpu0");
	cr_assert(moved, "the loop's move off the hogged CPU is among the report's decisions");
	snprintf(path, sizeof(path), "%s/sim-coremap-noise-static.jsonl", dir);
	cr_assert_str_eq(json_string_value(json_object_get(r, "trace")), path, "the run's trace is named");
	json_decref(data);
	free(html);
}

/* Keys of the trace's records: per type, top level; of samples also the
 * vCPU objects' and the energy object's. */
struct keys { json_t *top[3], *vcpu, *energy; int n[3]; };
static const char *const types[3] = { "simulation", "sample", "decision" };

static void add_keys(json_t *set, json_t *o)
{
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v)
		json_object_set_new(set, k, json_true());
}

static void read_trace(const char *path, struct keys *k, const char *run_id_end)
{
	FILE *f = fopen(path, "r");
	char line[65536];
	json_error_t je;

	cr_assert_not_null(f, "no trace %s", path);
	for (int t = 0; t < 3; t++)
		k->top[t] = json_object();
	k->vcpu = json_object();
	k->energy = json_object();
	while (fgets(line, sizeof(line), f)) {
		json_t *o = json_loads(line, 0, &je);
		const char *type, *id;
		int t;

		cr_assert_not_null(o, "%s: not JSON: %s: %.100s", path, je.text, line);
		type = json_string_value(json_object_get(o, "type"));
		for (t = 0; t < 3 && strcmp(type ? type : "", types[t]); t++)
			;
		cr_assert_lt(t, 3, "%s: a record of type %s", path, type ? type : "(none)");
		k->n[t]++;
		add_keys(k->top[t], o);
		if (t == 1) {
			add_keys(k->vcpu, json_array_get(json_object_get(o, "vcpus"), 0));
			if (json_is_object(json_object_get(o, "energy")))
				add_keys(k->energy, json_object_get(o, "energy"));
		}
		id = json_string_value(json_object_get(o, "run_id"));
		if (run_id_end) {
			cr_assert(id && strlen(id) > strlen(run_id_end) &&
				  !strcmp(id + strlen(id) - strlen(run_id_end), run_id_end),
				  "run_id %s does not end in %s", id ? id : "(none)", run_id_end);
			if (t == 0)
				cr_assert_str_eq(json_string_value(json_object_get(o, "note")), LABEL);
		}
		json_decref(o);
	}
	fclose(f);
}

static void same_keys(json_t *real, json_t *sim, const char *what)
{
	const char *k;
	json_t *v;

	json_object_foreach(real, k, v)
		cr_assert_not_null(json_object_get(sim, k), "%s: the real trace has \"%s\", the simulated one not", what, k);
	json_object_foreach(sim, k, v)
		cr_assert_not_null(json_object_get(real, k), "%s: the simulated trace has \"%s\", the real one not", what, k);
}

Test(sim_outputs, trace_has_the_keys_of_a_real_trace, .init = setup, .fini = fini, .timeout = 60)
{
	struct keys sim = { 0 }, real = { 0 };
	char path[600], guest[600];
	const char *b = getenv("AVMM_BUILD");

	cr_assert_eq(run(write_ini("sim", false), true), 0);
	snprintf(path, sizeof(path), "%s/sim-coremap-noise-static.jsonl", dir);
	read_trace(path, &sim, "-simulated-host-2core-seed1");
	cr_assert_eq(sim.n[0], 1, "one simulation line");
	cr_assert_geq(sim.n[1], 50, "a sample per tick of 24 virtual seconds");
	cr_assert_geq(sim.n[2], 2, "the initial placement and the move are in the trace");

	snprintf(guest, sizeof(guest), "%s/guests/compute.elf", b ? b : "build");
	if (access("/dev/kvm", R_OK | W_OK) || access(guest, R_OK))
		cr_skip_test("no /dev/kvm or no %s (make guests): no real trace to compare with", guest);
	cr_assert_eq(access("build/guests/compute.elf", R_OK), 0, "the experiment file names build/guests");
	cr_assert_eq(run(write_ini("real", true), false), 0, "the real run failed");
	snprintf(path, sizeof(path), "%s/real-coremap-noise-static.jsonl", dir);
	read_trace(path, &real, NULL);
	cr_assert_geq(real.n[1], 3);
	cr_assert_geq(real.n[2], 1);
	same_keys(real.top[1], sim.top[1], "sample");
	same_keys(real.top[2], sim.top[2], "decision");
	same_keys(real.vcpu, sim.vcpu, "sample vcpus[0]");
	same_keys(real.energy, sim.energy, "sample energy");
	for (int t = 0; t < 3; t++) {
		json_decref(sim.top[t]);
		json_decref(real.top[t]);
	}
	json_decref(sim.vcpu);
	json_decref(real.vcpu);
	json_decref(sim.energy);
	json_decref(real.energy);
}

/* The simulated report in headless Chromium, as tests/experiment draws a
 * real one: no page error, the charts drawn, IPC unavailable (the host
 * model has no PMU), the banner and the (simulated) heading in the DOM. */
Test(sim_outputs, report_draws_in_chromium, .init = setup, .fini = fini, .timeout = 200)
{
	char path[600], *dom;

	cr_assert_eq(run(write_ini("sim", false), true), 0);
	snprintf(path, sizeof(path), "%s/sim.html", dir);
	dom = report_chromium_check(path, "sim-report", 4, 1);
	cr_assert_not_null(strstr(dom, "<h1>avmm experiment: coremap-noise (simulated)</h1>"));
	cr_assert_not_null(strstr(dom, "SIMULATED, not measured: " LABEL));
	cr_assert_not_null(strstr(dom, LABEL " (a model, not this host)"), "the machine row");
	free(dom);
}
