/* The Grafana dashboard parses and only queries metrics tel exports; the
 * full metric set (every source up) passes the strict checker. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "promcheck.h"
#include "telemetry/tel_int.h"

static char *full_metrics(void)
{
	static struct tel_sample s;
	struct tel_source_status src[TEL_SRC_COUNT];
	const char *kinds[] = { "coremap", "paging-mode" };
	uint64_t counts[] = { 2, 1 };
	struct tel_prom_in in = { .s = &s, .vm = "v\"1\\", .run_id = "r", .profile = "p",
				  .src = src, .kinds = kinds, .kind_counts = counts, .nr_kinds = 2,
				  .period_ns = 100000000 };
	char *buf = NULL;
	size_t len;
	FILE *f = open_memstream(&buf, &len);

	for (int i = 0; i < TEL_SRC_COUNT; i++)
		src[i] = s.src[i] = (struct tel_source_status){ .up = i != TEL_SRC_PAPI };
	s.nr_vcpus = 2;
	for (int i = 0; i < 2; i++) {
		s.vcpu[i] = (struct tel_vcpu_sample){ .tid = 10 + i, .pcpu = i, .hw_valid = true,
			.hw_host_valid = true, .cycles = 1000, .instructions = 1500, .ipc = 1.5,
			.multiplex_ratio = 0.5, .exits = 5 };
	}
	s.energy = (struct tel_energy_sample){ .up = true, .energy_uj = 5000000, .power_w = 20,
					      .attributed = true, .vm_energy_uj = 2000000 };
	cr_assert_eq(tel_prom_render(&in, f), 0);
	fclose(f);
	return buf;
}

Test(grafana, full_metric_set_is_valid_and_escaped)
{
	char err[200], *m = full_metrics();

	cr_assert_eq(promcheck(m, err, sizeof(err)), 0, "%s\n%s", err, m);
	cr_assert(strstr(m, "vm=\"v\\\"1\\\\\""), "label value not escaped");
	cr_assert(strstr(m, "avmm_vcpu_cycles_total{vm=\"v\\\"1\\\\\",vcpu=\"0\",source=\"perf\","
			    "mode=\"host\"} 0\n"));
	cr_assert(strstr(m, "avmm_energy_joules_total{vm=\"v\\\"1\\\\\",source=\"energy\","
			    "estimated=\"false\"} 5\n"));
	free(m);
}

Test(grafana, dashboard_queries_exported_metrics)
{
	json_error_t je;
	json_t *d = json_load_file("telemetry/dashboards/avmm.json", 0, &je), *p;
	char *m = full_metrics();
	regex_t re;
	regmatch_t rm;
	size_t i;
	int checked = 0;

	cr_assert(d, "telemetry/dashboards/avmm.json: %s (line %d)", je.text, je.line);
	cr_assert_eq(regcomp(&re, "avmm_[a-z_0-9]+", REG_EXTENDED), 0);
	json_array_foreach(json_object_get(d, "panels"), i, p) {
		const char *e = json_string_value(json_object_get(
			json_array_get(json_object_get(p, "targets"), 0), "expr"));
		char name[128], want[140];

		cr_assert(e, "panel %zu without a query", i);
		for (; !regexec(&re, e, 1, &rm, 0); e += rm.rm_eo) {
			snprintf(name, sizeof(name), "%.*s", (int)(rm.rm_eo - rm.rm_so), e + rm.rm_so);
			snprintf(want, sizeof(want), "\n%s{", name);
			cr_assert(strstr(m, want), "dashboard queries %s, which is not exported", name);
			checked++;
		}
	}
	cr_assert_geq(checked, 10);
	regfree(&re);
	json_decref(d);
	free(m);
}
