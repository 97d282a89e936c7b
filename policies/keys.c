/* policies: the table of profile keys, their defaults and how to set and
 * print each one. */
#include "policies/pol_keys.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define OFF(f) offsetof(struct pol_profile, f)

static const char *const objective_names[] = { "performance", "energy", "edp", "power-cap", "weighted", NULL };
static const char *const strategy_names[] = { "adaptive", "pack", "spread", "explicit", NULL };
static const char *const bmpolicy_names[] = { "adaptive", "local", "interleave", "pack", "explicit", NULL };
/* enum pgmode_page's first three names (keep, 4k, 2m): policies does not
 * include paging-mode */
static const char *const written_names[] = { "auto", "yes", "no", NULL };
static const char *const backing_names[] = { "keep", "4k", "2m", NULL };
static const char *const health_action_names[] = { "migrate", "log", NULL };
static const char *const adaptation_names[] = { "coremap", "bankmap", "paging-mode", "energy" };

const struct pol_key pol_keys[] = {
	{ "main", "summary", PK_STR, OFF(summary), 0, sizeof(((struct pol_profile *)0)->summary), NULL, "one line describing the profile", 0 },
	{ "goal", "objective", PK_ENUM, OFF(objective), 0, 0, objective_names, "performance, energy, edp, power-cap or weighted", 0 },
	{ "goal", "weight_performance", PK_DOUBLE, OFF(weight_performance), 0, 100, NULL, "exponent of progress in the weighted score", 0 },
	{ "goal", "weight_energy", PK_DOUBLE, OFF(weight_energy), 0, 100, NULL, "exponent of power in the weighted score", 0 },
	{ "goal", "max_slowdown_pct", PK_DOUBLE, OFF(max_slowdown_pct), 0, 1000, NULL, "largest slowdown a change may cause, 0 = no limit", 0 },
	{ "goal", "power_cap_w", PK_DOUBLE, OFF(power_cap_w), 0, 100000, NULL, "power cap in W for objective power-cap", 0 },
	{ "goal", "period_ms", PK_MS, OFF(period_ns), 10, 3600000, NULL, "sampling and decision period", 0 },
	{ "goal", "fast_period_ms", PK_MS, OFF(fast_period_ns), 0, 3600000, NULL, "period while run delay, host load or exit rate change (0 = always period_ms)", 0 },
	{ "goal", "steady_sample_ms", PK_MS, OFF(steady_sample_ns), 0, 3600000, NULL, "while steady, a full sample this often (and after each read of the exports); the ticks between read only each vCPU's run delay or CPU time (0 = a full sample every tick)", 0 },
	{ "goal", "hysteresis_pct", PK_DOUBLE, OFF(hysteresis_pct), 0, 100, NULL, "band around each threshold, and the least predicted gain worth a change", 0 },
	{ "goal", "confirm_ticks", PK_INT, OFF(confirm_ticks), 1, 100, NULL, "ticks a proposal must persist before it is applied", 0 },
	{ "goal", "confirm_ms", PK_MS, OFF(confirm_ns), 0, 3600000, NULL, "time a proposal must persist, from the first tick that saw it, before it is applied", 0 },
	{ "goal", "min_dwell_ms", PK_MS, OFF(min_dwell_ns), 0, 86400000, NULL, "minimum time between two changes of one adaptation", 0 },
	{ "goal", "noise_pct", PK_DOUBLE, OFF(noise_pct), 0, 100, NULL, "goal-metric changes smaller than this are noise", 0 },
	{ "goal", "settle_ms", PK_MS, OFF(settle_ns), 0, 3600000, NULL, "time ignored after a change before measuring it", 0 },
	{ "goal", "measure_ticks", PK_INT, OFF(measure_ticks), 1, 100, NULL, "ticks averaged before and after a change", 0 },
	{ "goal", "revert_cooldown_ms", PK_MS, OFF(revert_cooldown_ns), 0, 86400000, NULL, "a reverted change is not retried for this long", 0 },
	{ "coremap", "enabled", PK_BOOL, OFF(enabled[POL_AD_COREMAP]), 0, 0, NULL, "yes or no", 0 },
	{ "coremap", "strategy", PK_ENUM, OFF(coremap.strategy), 0, 0, strategy_names, "adaptive, pack, spread or explicit", 0 },
	{ "coremap", "memory_intensive_llc_per_kinstr", PK_DOUBLE, OFF(coremap.memory_intensive_llc_per_kinstr), 0, 1000, NULL, "LLC misses per 1000 instructions above which a vCPU is memory-intensive", 0 },
	{ "coremap", "noisy_run_delay_pct", PK_DOUBLE, OFF(coremap.noisy_run_delay_pct), 0, 100, NULL, "run delay above which a vCPU's CPU is noisy", 0 },
	{ "coremap", "reserved_cpus", PK_CPULIST, OFF(coremap.reserved), 0, POL_MAX_CPUS, NULL, "host CPUs to keep vCPUs off, e.g. 0,2-3", OFF(coremap.nr_reserved) },
	{ "coremap", "explicit_map", PK_CPULIST, OFF(coremap.explicit_map), 0, POL_MAX_CPUS, NULL, "CPU of vCPU 0, 1, ... for strategy explicit", OFF(coremap.nr_explicit) },
	{ "bankmap", "enabled", PK_BOOL, OFF(enabled[POL_AD_BANKMAP]), 0, 0, NULL, "yes or no", 0 },
	{ "bankmap", "policy", PK_ENUM, OFF(bankmap.policy), 0, 0, bmpolicy_names, "adaptive, local, interleave, pack or explicit", 0 },
	{ "bankmap", "nodes", PK_CPULIST, OFF(bankmap.nodes), 0, POL_MAX_NODES, NULL, "NUMA nodes for explicit and interleave, e.g. 0-1 (none: all, interleave)", OFF(bankmap.nr_nodes) },
	{ "bankmap", "strict", PK_BOOL, OFF(bankmap.strict), 0, 0, NULL, "yes: bind (strict), no: preferred", 0 },
	{ "bankmap", "numa_balancing", PK_BOOL, OFF(bankmap.numa_balancing), 0, 0, NULL, "yes: AutoNUMA may still move bound memory (MPOL_F_NUMA_BALANCING)", 0 },
	{ "bankmap", "sample_pages_per_tick", PK_INT, OFF(bankmap.sample_pages_per_tick), 1, 65536, NULL, "guest pages whose node is queried per tick", 0 },
	{ "bankmap", "migrate_quota_mib_per_s", PK_DOUBLE, OFF(bankmap.migrate_quota_mib_per_s), 0, 1e6, NULL, "MiB/s the worker migrates guest RAM at (0 = no limit)", 0 },
	{ "bankmap", "migrate_ns_per_page", PK_DOUBLE, OFF(bankmap.migrate_ns_per_page), 1, 1e7, NULL, "predicted migration cost per 4 KiB page, ns", 0 },
	{ "bankmap", "migrate_min_remote_pct", PK_DOUBLE, OFF(bankmap.migrate_min_remote_pct), 0, 100, NULL, "share of remote pages above which pages migrate", 0 },
	{ "bankmap", "written_sets", PK_ENUM, OFF(bankmap.written_sets), 0, 0, written_names, "auto (only with more than one NUMA node with memory), yes or no: track each vCPU's written pages (KVM's dirty ring)", 0 },
	{ "paging-mode", "enabled", PK_BOOL, OFF(enabled[POL_AD_PAGING]), 0, 0, NULL, "yes or no", 0 },
	{ "paging-mode", "tlb_misses_per_kinstr_high", PK_DOUBLE, OFF(paging.tlb_misses_per_kinstr_high), 0, 1000, NULL, "TLB misses per 1000 instructions above which shadow paging is favoured", 0 },
	{ "paging-mode", "paging_exits_per_s_high", PK_DOUBLE, OFF(paging.paging_exits_per_s_high), 0, 1e9, NULL, "paging exits per second above which nested paging is favoured", 0 },
	{ "paging-mode", "allow_live_switch", PK_BOOL, OFF(paging.allow_live_switch), 0, 0, NULL, "yes or no: switch the host paging mode while the guest runs, where the backend can", 0 },
	{ "paging-mode", "exit_cost_ns", PK_DOUBLE, OFF(paging.exit_cost_ns), 1, 1e7, NULL, "cost of one paging exit in ns until `avmm paging calibrate` has measured it on this host", 0 },
	{ "paging-mode", "nested_walk_factor", PK_DOUBLE, OFF(paging.nested_walk_factor), 1, 100, NULL, "cost of a nested (2-D) page walk over a native one, 4 KiB backing", 0 },
	{ "paging-mode", "nested_walk_factor_2m", PK_DOUBLE, OFF(paging.nested_walk_factor_2m), 1, 100, NULL, "cost of a nested (2-D) page walk over a native one, 2 MiB backing", 0 },
	{ "paging-mode", "walk_share_2m_factor", PK_DOUBLE, OFF(paging.walk_share_2m_factor), 0, 1, NULL, "share of page-walk cycles left with 2 MiB backing (0..1)", 0 },
	{ "paging-mode", "min_gain_pct", PK_DOUBLE, OFF(paging.min_gain_pct), 0, 100, NULL, "smallest predicted gain (percent of vCPU time) the model asks a backing change for", 0 },
	{ "paging-mode", "mem_available_low_pct", PK_DOUBLE, OFF(paging.mem_available_low_pct), 0, 100, NULL, "host MemAvailable below this percent of MemTotal: back guest RAM with 4 KiB pages", 0 },
	{ "paging-mode", "promote_quota_mib_per_s", PK_DOUBLE, OFF(paging.promote_quota_mib_per_s), 0, 1e6, NULL, "MiB/s the worker promotes or demotes guest RAM at (0 = no limit)", 0 },
	{ "paging-mode", "backing", PK_ENUM, OFF(paging.backing), 0, 0, backing_names, "page size backing guest RAM at start: keep (the guest's hint or --mem-backing), 4k or 2m", 0 },
	{ "energy", "enabled", PK_BOOL, OFF(enabled[POL_AD_ENERGY]), 0, 0, NULL, "yes or no", 0 },
	{ "energy", "cap_step_w", PK_DOUBLE, OFF(energy.cap_step_w), 0.1, 1000, NULL, "largest change of the power cap per decision", 0 },
	{ "energy", "cap_min_w", PK_DOUBLE, OFF(energy.cap_min_w), 0, 100000, NULL, "lowest cap the loop may set", 0 },
	{ "energy", "cap_max_w", PK_DOUBLE, OFF(energy.cap_max_w), 0, 100000, NULL, "highest cap the loop may set", 0 },
	{ "energy", "estimate", PK_BOOL, OFF(energy.estimate), 0, 0, NULL, "yes: without RAPL, estimate power from the model below (labelled estimated)", 0 },
	{ "energy", "estimate_idle_w", PK_DOUBLE, OFF(energy.estimate_idle_w), 0, 100000, NULL, "model: watts of the idle node", 0 },
	{ "energy", "estimate_w_per_busy_core", PK_DOUBLE, OFF(energy.estimate_w_per_busy_core), 0, 10000, NULL, "model: watts each busy host CPU adds", 0 },
	{ "migration", "downtime_ms", PK_MS, OFF(migration.downtime_ns), 1, 600000, NULL, "live migration: stop and copy once the written pages left take this long at the measured rate", 0 },
	{ "migration", "max_rounds", PK_INT, OFF(migration.max_rounds), 1, 1000, NULL, "live migration: stop and copy after this many pre-copy rounds at the latest", 0 },
	{ "migration", "answer_timeout_ms", PK_MS, OFF(migration.answer_timeout_ns), 1000, 3600000, NULL, "live migration: how long either side waits for each of the other's answers (the header, the restored state, the handover) before it gives up; the source then runs on", 0 },
	{ "health", "enabled", PK_BOOL, OFF(health.enabled), 0, 0, NULL, "yes or no: the node agent watches EDAC, thermal throttle and machine-check counts", 0 },
	{ "health", "period_ms", PK_MS, OFF(health.period_ns), 100, 3600000, NULL, "how often the agent reads the health counts", 0 },
	{ "health", "window_ms", PK_MS, OFF(health.window_ns), 1000, 86400000, NULL, "the window the rises below are counted over", 0 },
	{ "health", "ce_max", PK_DOUBLE, OFF(health.ce_max), 0, 1e9, NULL, "corrected memory errors (EDAC, any one controller) per window above which the node is failing", 0 },
	{ "health", "ue_max", PK_DOUBLE, OFF(health.ue_max), 0, 1e9, NULL, "uncorrected memory errors per window above which the node is failing (0: any)", 0 },
	{ "health", "throttle_max", PK_DOUBLE, OFF(health.throttle_max), 0, 1e12, NULL, "thermal throttle events (core and package) per window above which the node is failing", 0 },
	{ "health", "mce_max", PK_DOUBLE, OFF(health.mce_max), 0, 1e9, NULL, "machine-check exceptions per window above which the node is failing (0: any)", 0 },
	{ "health", "action", PK_ENUM, OFF(health.action), 0, 0, health_action_names, "migrate (every VM to the machine file's [migration] target) or log", 0 },
	{ "health", "retry_ms", PK_MS, OFF(health.retry_ns), 1000, 86400000, NULL, "after a failed migration wait this long, doubling on each failure up to 16 times", 0 },
};
const int pol_nr_keys = (int)(sizeof(pol_keys) / sizeof(pol_keys[0]));

_Static_assert(sizeof(pol_keys) / sizeof(pol_keys[0]) <= POL_MAX_KEYS, "raise POL_MAX_KEYS");

const char *const pol_sections[] = { "main", "goal", "coremap", "bankmap", "paging-mode", "energy", "migration", "health", NULL };

const char *pol_objective_name(enum pol_objective o)
{
	return (unsigned)o < POL_OBJ_COUNT ? objective_names[o] : NULL;
}

const char *pol_adaptation_name(enum pol_adaptation a)
{
	return (unsigned)a < POL_AD_COUNT ? adaptation_names[a] : NULL;
}

void pol_defaults(struct pol_profile *p)
{
	int i;

	memset(p, 0, sizeof(*p));
	p->objective = POL_OBJ_PERFORMANCE;
	p->weight_performance = 1;
	p->weight_energy = 0;
	p->period_ns = 1000000000ull;
	p->hysteresis_pct = 10;
	p->confirm_ticks = 3;
	p->min_dwell_ns = 10000000000ull;
	p->noise_pct = 3;
	p->settle_ns = 1000000000ull;
	p->measure_ticks = 3;
	p->revert_cooldown_ns = 60000000000ull;
	p->coremap.strategy = POL_CM_ADAPTIVE;
	p->coremap.memory_intensive_llc_per_kinstr = 10;
	p->coremap.noisy_run_delay_pct = 25;
	p->bankmap.policy = POL_BM_ADAPTIVE;
	p->bankmap.migrate_min_remote_pct = 20;
	p->bankmap.strict = true;
	p->bankmap.sample_pages_per_tick = 4096;
	p->bankmap.migrate_quota_mib_per_s = 256;
	p->bankmap.migrate_ns_per_page = 85; /* BANKMAP_MIGRATE_NS_PER_PAGE */
	p->bankmap.written_sets = POL_BM_WRITTEN_AUTO;
	p->paging.tlb_misses_per_kinstr_high = 5;
	p->paging.paging_exits_per_s_high = 10000;
	/* the cost model's defaults (pgmode_params_default) */
	p->paging.exit_cost_ns = 5000;
	p->paging.nested_walk_factor = 6;
	p->paging.nested_walk_factor_2m = 5;
	p->paging.walk_share_2m_factor = 0.5;
	p->paging.min_gain_pct = 2;
	p->paging.mem_available_low_pct = 10;
	p->paging.promote_quota_mib_per_s = 256;
	p->paging.backing = 0; /* keep */
	p->migration.downtime_ns = 300000000ull;
	p->migration.max_rounds = 30;
	p->migration.answer_timeout_ns = 120000000000ull;
	p->health.enabled = true;
	p->health.period_ns = 1000000000ull;
	p->health.window_ns = 60000000000ull;
	p->health.retry_ns = 30000000000ull;
	p->health.ce_max = 10;
	p->health.ue_max = 0;
	p->health.throttle_max = 1000;
	p->health.mce_max = 0;
	p->health.action = POL_HEALTH_MIGRATE;
	p->energy.cap_step_w = 5;
	p->energy.cap_min_w = 10;
	p->energy.cap_max_w = 1000;
	p->energy.estimate = true;
	p->energy.estimate_idle_w = 40;
	p->energy.estimate_w_per_busy_core = 12;
	for (i = 0; i < POL_MAX_KEYS; i++) {
		p->origin[i].file = -1;
		p->origin[i].line = 0;
	}
}

const struct pol_key *pol_key_find(const char *section, const char *key, int *idx)
{
	int i;

	for (i = 0; i < pol_nr_keys; i++) {
		if (!strcmp(pol_keys[i].section, section) && !strcmp(pol_keys[i].key, key)) {
			*idx = i;
			return &pol_keys[i];
		}
	}
	return NULL;
}

int pol_key_set(const struct pol_key *k, struct pol_profile *p, const char *v)
{
	char *base = (char *)p + k->off;
	double d;
	int rc;

	switch (k->type) {
	case PK_STR:
		if (strlen(v) >= (size_t)k->max)
			return -ERANGE;
		strcpy(base, v);
		return 0;
	case PK_DOUBLE:
		return pol_parse_double(v, k->min, k->max, (double *)base);
	case PK_MS:
		rc = pol_parse_double(v, k->min, k->max, &d);
		if (!rc)
			*(uint64_t *)base = (uint64_t)(d * 1e6 + 0.5);
		return rc;
	case PK_INT:
		return pol_parse_int(v, (int)k->min, (int)k->max, (int *)base);
	case PK_BOOL:
		return pol_parse_bool(v, (bool *)base);
	case PK_ENUM:
		return pol_parse_word(v, k->names, (int *)base);
	case PK_CPULIST:
		return pol_parse_cpulist(v, (int *)base, (int)k->max, (int *)((char *)p + k->off2));
	}
	return -EINVAL;
}

static int fmt_cpulist(char *out, size_t len, const int *c, int n)
{
	size_t used = 0;
	int i = 0, j, w;

	out[0] = '\0';
	if (!n)
		return snprintf(out, len, "none") < (int)len ? 0 : -ENAMETOOLONG;
	while (i < n) {
		for (j = i; j + 1 < n && c[j + 1] == c[j] + 1; j++)
			;
		if (j > i + 1)
			w = snprintf(out + used, len - used, "%s%d-%d", used ? "," : "", c[i], c[j]);
		else {
			w = snprintf(out + used, len - used, "%s%d", used ? "," : "", c[i]);
			j = i;
		}
		if (w < 0 || (size_t)w >= len - used)
			return -ENAMETOOLONG;
		used += (size_t)w;
		i = j + 1;
	}
	return 0;
}

int pol_key_format(const struct pol_key *k, const struct pol_profile *p, char *out, size_t len)
{
	const char *base = (const char *)p + k->off;
	int w = 0;

	switch (k->type) {
	case PK_STR:
		w = snprintf(out, len, "%s", base);
		break;
	case PK_DOUBLE:
		w = snprintf(out, len, "%g", *(const double *)base);
		break;
	case PK_MS:
		w = snprintf(out, len, "%g", (double)*(const uint64_t *)base / 1e6);
		break;
	case PK_INT:
		w = snprintf(out, len, "%d", *(const int *)base);
		break;
	case PK_BOOL:
		w = snprintf(out, len, "%s", *(const bool *)base ? "yes" : "no");
		break;
	case PK_ENUM:
		w = snprintf(out, len, "%s", k->names[*(const int *)base]);
		break;
	case PK_CPULIST:
		return fmt_cpulist(out, len, (const int *)base, *(const int *)((const char *)p + k->off2));
	}
	return w < 0 || (size_t)w >= len ? -ENAMETOOLONG : 0;
}
