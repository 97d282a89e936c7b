/* The node agent's /metrics part of the health watch (agent_health.c):
 * the raw counts of the sources that are up, their rises over the window,
 * the prediction and the migrations, as Prometheus text. */
#include <stdio.h>

#include "adapt/session_int.h"

/* /metrics: the raw counts of the sources that are up, their rises over the
 * window, the prediction and the migrations (called under telemetry's lock;
 * takes only the health lock). */
static void prom(void *arg, FILE *f)
{
	struct agent_health *h = arg;
	static const char *const rise_name[] = { "ce", "ue", "throttle", "mce" };
	uint64_t rise[4];

	pthread_mutex_lock(&h->lock);
	if (!h->have)
		goto out;
	fprintf(f, "# HELP avmm_health_source_up 1 if the node-health source is read, 0 if this "
		"host lacks it (the agent's log says why)\n# TYPE avmm_health_source_up gauge\n");
	for (int k = 0; k < TEL_HEALTH_SRC_COUNT; k++)
		fprintf(f, "avmm_health_source_up{source=\"%s\"} %d\n", tel_health_src_name(k),
			h->last.up[k] ? 1 : 0);
	if (h->last.up[TEL_HEALTH_EDAC]) {
		fprintf(f, "# HELP avmm_health_edac_errors EDAC error count of a memory controller "
			"(raw: it may reset)\n# TYPE avmm_health_edac_errors gauge\n");
		for (int m = 0; m < h->last.nr_mc; m++)
			fprintf(f, "avmm_health_edac_errors{mc=\"%d\",type=\"corrected\"} %llu\n"
				"avmm_health_edac_errors{mc=\"%d\",type=\"uncorrected\"} %llu\n",
				h->last.mc[m].index, (unsigned long long)h->last.mc[m].ce,
				h->last.mc[m].index, (unsigned long long)h->last.mc[m].ue);
	}
	if (h->last.up[TEL_HEALTH_THROTTLE])
		fprintf(f, "# HELP avmm_health_thermal_throttle_events Thermal throttle count (raw)\n"
			"# TYPE avmm_health_thermal_throttle_events gauge\n"
			"avmm_health_thermal_throttle_events{level=\"core\"} %llu\n"
			"avmm_health_thermal_throttle_events{level=\"package\"} %llu\n",
			(unsigned long long)h->last.throttle_core,
			(unsigned long long)h->last.throttle_package);
	if (h->last.up[TEL_HEALTH_MCE])
		fprintf(f, "# HELP avmm_health_machine_check_exceptions Machine-check exceptions, "
			"all CPUs (raw)\n# TYPE avmm_health_machine_check_exceptions gauge\n"
			"avmm_health_machine_check_exceptions %llu\n",
			(unsigned long long)h->last.mce);
	rise[0] = h->v.ce_rise;
	rise[1] = h->v.ue_rise;
	rise[2] = h->v.throttle_rise;
	rise[3] = h->v.mce_rise;
	fprintf(f, "# HELP avmm_health_window_rise Rise of each signal over the [health] window "
		"(EDAC: the largest controller's)\n# TYPE avmm_health_window_rise gauge\n");
	for (int i = 0; i < 4; i++)
		fprintf(f, "avmm_health_window_rise{signal=\"%s\"} %llu\n", rise_name[i],
			(unsigned long long)rise[i]);
	fprintf(f, "# HELP avmm_health_predicted_failure 1 while the node is predicted to fail\n"
		"# TYPE avmm_health_predicted_failure gauge\navmm_health_predicted_failure %d\n"
		"# HELP avmm_health_predictions_total Times the node became predicted to fail\n"
		"# TYPE avmm_health_predictions_total counter\navmm_health_predictions_total %llu\n"
		"# HELP avmm_health_migrations_total VMs the health watch migrated, by result\n"
		"# TYPE avmm_health_migrations_total counter\n"
		"avmm_health_migrations_total{result=\"ok\"} %llu\n"
		"avmm_health_migrations_total{result=\"failed\"} %llu\n"
		"avmm_health_migrations_total{result=\"unconfirmed\"} %llu\n", h->v.failing ? 1 : 0,
		(unsigned long long)h->predicted_total, (unsigned long long)h->migrated_ok,
		(unsigned long long)h->migrated_failed, (unsigned long long)h->migrated_unconfirmed);
out:
	pthread_mutex_unlock(&h->lock);
}

void adapt_agent_health_config(const struct adapt_session *s, struct tel_config *c)
{
	if (s->agent && s->agent->health) {
		c->prom_extra_fn = prom;
		c->prom_extra_arg = s->agent->health;
	}
}
