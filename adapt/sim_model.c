/* adapt: the simulator's machine model file (see adapt/sim.h and
 * policies/models/). Sections [machine] [memory] [power] [paging]
 * [actuators]; unknown keys and out-of-range values are file:line errors. */
#include "adapt/sim_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void adapt_sim_model_default(struct adapt_sim_model *m)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "default");
	snprintf(m->topology, sizeof(m->topology), "pack:1 core:2 pu:1");
	m->ghz = 2.5;
	m->l3_mib = 32;
	m->smt_throughput = 1.25;
	m->guest_speed = 1;
	m->node_gib = 16;
	m->bw_gbs = 20;
	m->lat_ns = 90;
	m->remote_factor = 1.6;
	m->pkg_idle_w = 30;
	m->pkg_sleep_w = -1;
	m->core_busy_w = 5;
	m->dram_rank_w = 1.5;
	m->rank_gib = 8;
	m->shadow_exit_ns = 2000;
	m->native_walk_cycles = 30;
	m->nested_walk_cycles_4k = 120;
	m->nested_walk_cycles_2m = 60;
	m->tlb_2m_factor = 0.3;
	m->paging_mode = ADAPT_PG_NESTED;
	m->nested_available = true;
	m->pin_us = 50;
	m->migrate_ns_per_page = 85;
	m->collapse_ms_per_2m = 12;
	m->base_exits_per_s = 1000;
}

struct key { const char *sec, *name; size_t off; double lo, hi; };
#define K(s, n, f, lo, hi) { s, n, offsetof(struct adapt_sim_model, f), lo, hi }
static const struct key keys[] = {
	K("machine", "ghz", ghz, 0.1, 10), K("machine", "l3_mib", l3_mib, 0.1, 4096),
	K("machine", "smt_throughput", smt_throughput, 1, 2),
	K("machine", "guest_speed", guest_speed, 1e-6, 1), K("machine", "jitter_pct", jitter_pct, 0, 50),
	K("memory", "node_gib", node_gib, 0.1, 1 << 20), K("memory", "bandwidth_gbs", bw_gbs, 0.1, 10000),
	K("memory", "latency_ns", lat_ns, 1, 10000), K("memory", "remote_factor", remote_factor, 1, 10),
	K("power", "package_idle_w", pkg_idle_w, 0, 2000), K("power", "core_busy_w", core_busy_w, 0, 500),
	K("power", "package_sleep_w", pkg_sleep_w, 0, 2000),
	K("power", "dram_rank_w", dram_rank_w, 0, 100), K("power", "rank_gib", rank_gib, 0.1, 1024),
	K("paging", "shadow_exit_ns", shadow_exit_ns, 1, 1e7),
	K("paging", "native_walk_cycles", native_walk_cycles, 0, 1e5),
	K("paging", "nested_walk_cycles_4k", nested_walk_cycles_4k, 0, 1e5),
	K("paging", "nested_walk_cycles_2m", nested_walk_cycles_2m, 0, 1e5),
	K("paging", "tlb_2m_factor", tlb_2m_factor, 0, 1),
	K("actuators", "pin_us", pin_us, 0, 1e7), K("actuators", "migrate_ns_per_page", migrate_ns_per_page, 0, 1e7),
	K("actuators", "collapse_ms_per_2m", collapse_ms_per_2m, 0, 1e5),
	K("machine", "base_exits_per_s", base_exits_per_s, 0, 1e8),
};

static int on_key(void *arg, const char *sec, const char *k, const char *v, char *msg, size_t len)
{
	struct adapt_sim_model *m = arg;
	size_t i;

	if (!strcmp(sec, "machine") && !strcmp(k, "name")) {
		snprintf(m->name, sizeof(m->name), "%s", v);
		return 0;
	}
	if (!strcmp(sec, "machine") && !strcmp(k, "topology")) {
		if (!*v || strlen(v) >= sizeof(m->topology)) {
			snprintf(msg, len, "give an hwloc synthetic string or an XML path");
			return -EINVAL;
		}
		snprintf(m->topology, sizeof(m->topology), "%s", v);
		return 0;
	}
	if (!strcmp(sec, "machine") && !strcmp(k, "pmu"))
		return sim_bool(v, &m->pmu, msg, len);
	if (!strcmp(sec, "machine") && !strcmp(k, "rapl"))
		return sim_bool(v, &m->rapl, msg, len);
	if (!strcmp(sec, "paging") && !strcmp(k, "live_mode_switch"))
		return sim_bool(v, &m->live_mode_switch, msg, len);
	if (!strcmp(sec, "paging") && !strcmp(k, "nested_available"))
		return sim_bool(v, &m->nested_available, msg, len);
	if (!strcmp(sec, "paging") && !strcmp(k, "mode")) {
		if (strcmp(v, "shadow") && strcmp(v, "nested")) {
			snprintf(msg, len, "'%s': write shadow or nested", v);
			return -EINVAL;
		}
		m->paging_mode = !strcmp(v, "nested") ? ADAPT_PG_NESTED : ADAPT_PG_SHADOW;
		return 0;
	}
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(sec, keys[i].sec) && !strcmp(k, keys[i].name))
			return sim_num(v, keys[i].lo, keys[i].hi, (double *)((char *)m + keys[i].off), msg, len);
	snprintf(msg, len, "unknown key (see adapt/sim.h and policies/models/*.ini for the keys)");
	return -EINVAL;
}

int adapt_sim_model_parse(const char *text, const char *origin, struct adapt_sim_model *m,
			  char *err, size_t err_len)
{
	struct adapt_sim_model tmp;
	int rc;

	adapt_sim_model_default(&tmp);
	snprintf(tmp.path, sizeof(tmp.path), "%s", origin);
	rc = sim_ini_each(text, origin, on_key, &tmp, err, err_len);
	if (!rc)
		*m = tmp;   /* validated into a staging copy, then taken */
	return rc;
}

int adapt_sim_model_load(const char *path, struct adapt_sim_model *m, char *err, size_t err_len)
{
	char *text;
	int rc = sim_read_file(path, &text, err, err_len);

	if (rc)
		return rc;
	rc = adapt_sim_model_parse(text, path, m, err, err_len);
	free(text);
	return rc;
}
