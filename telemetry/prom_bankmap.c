/* Prometheus series of where guest RAM lives (bankmap): guest RAM by NUMA
 * node, the sampler's coverage and cost, each vCPU's remote share and the
 * migration worker's progress. Nothing when the bankmap hook is not set. */
#include "telemetry/tel_int.h"

#include <stdio.h>

const char *const tel_bm_fail_names[5] = { "enomem", "ebusy", "enodev", "absent", "other" };

const char *tel_bm_why_name(int why)
{
	static const char *const n[TEL_BM_WHY_COUNT] = { "ok", "no-cpu", "no-node", "no-pages" };

	return (unsigned)why < TEL_BM_WHY_COUNT ? n[why] : "unknown";
}

static void worker(FILE *f, const char *vm, const struct tel_bankmap_sample *b)
{
	static const char *const kinds[] = { "total", "done", "failed" };
	const uint64_t v[] = { b->mig_pages_total, b->mig_pages_done, b->mig_pages_failed };

	tel_prom_family(f, "avmm_bankmap_migration_pages", "gauge", "Pages of the current or last "
	       "migration request: total, done (moved), failed (after retries)");
	for (int i = 0; i < 3; i++)
		tel_prom_one(f, "avmm_bankmap_migration_pages", vm, "state", kinds[i], (double)v[i]);
	tel_prom_family(f, "avmm_bankmap_migration_failed_pages", "gauge", "Pages of the last request "
	       "that failed, by class (enomem: no memory on the target; ebusy: pinned or "
	       "locked, retried later; enodev: no such node; absent: never touched)");
	for (int i = 0; i < 5; i++)
		tel_prom_one(f, "avmm_bankmap_migration_failed_pages", vm, "class", tel_bm_fail_names[i],
		    (double)b->mig_failed[i]);
	tel_prom_family(f, "avmm_bankmap_migration_busy", "gauge", "1 while the worker migrates");
	tel_prom_one(f, "avmm_bankmap_migration_busy", vm, NULL, NULL, b->mig_busy);
	tel_prom_family(f, "avmm_bankmap_migration_requests_total", "counter", "Migration requests given "
	       "to the worker");
	tel_prom_one(f, "avmm_bankmap_migration_requests_total", vm, NULL, NULL, (double)b->mig_requests);
	tel_prom_family(f, "avmm_bankmap_migration_errors_total", "counter", "Migration requests the "
	       "worker could not start or that a move_pages call ended");
	tel_prom_one(f, "avmm_bankmap_migration_errors_total", vm, NULL, NULL, (double)b->mig_errors);
	tel_prom_family(f, "avmm_bankmap_migrated_bytes", "gauge", "Bytes moved by the current or last "
	       "request");
	tel_prom_one(f, "avmm_bankmap_migrated_bytes", vm, NULL, NULL, (double)b->mig_bytes_moved);
}

void tel_prom_bankmap(FILE *f, const char *vm, const struct tel_sample *s)
{
	const struct tel_bankmap_sample *b = &s->bankmap;
	char k[16];

	if (!b->valid)
		return;
	tel_prom_family(f, "avmm_guest_memory_bytes", "gauge", "Guest RAM resident on each NUMA node "
	       "(move_pages query sample, scaled to all of guest RAM; exact once every page "
	       "was sampled)");
	for (int i = 0; i < b->nr_nodes; i++) {
		snprintf(k, sizeof(k), "%d", b->node[i]);
		tel_prom_one(f, "avmm_guest_memory_bytes", vm, "node", k, (double)b->node_bytes[i]);
	}
	tel_prom_family(f, "avmm_guest_memory_sampled_pages", "gauge", "Guest pages by what the last "
	       "query of each said: present (on a node), absent (never touched), unknown (not "
	       "sampled yet), error");
	tel_prom_one(f, "avmm_guest_memory_sampled_pages", vm, "state", "present", (double)b->present_pages);
	tel_prom_one(f, "avmm_guest_memory_sampled_pages", vm, "state", "absent", (double)b->absent_pages);
	tel_prom_one(f, "avmm_guest_memory_sampled_pages", vm, "state", "unknown", (double)b->unknown_pages);
	tel_prom_one(f, "avmm_guest_memory_sampled_pages", vm, "state", "error", (double)b->error_pages);
	tel_prom_family(f, "avmm_guest_memory_sample_complete", "gauge", "1 once every guest page was "
	       "queried at least once");
	tel_prom_one(f, "avmm_guest_memory_sample_complete", vm, NULL, NULL, b->complete);
	tel_prom_family(f, "avmm_bankmap_query_seconds", "gauge", "Time of the last tick's bounded "
	       "move_pages query");
	tel_prom_one(f, "avmm_bankmap_query_seconds", vm, NULL, NULL, (double)b->query_ns * 1e-9);
	tel_prom_family(f, "avmm_vcpu_remote_memory_pct", "gauge", "Share of the vCPU's written pages "
	       "(all resident guest pages without a written-page set) on another node than its "
	       "CPU's; only vCPUs whose share is known");
	for (int i = 0; i < b->nr_vcpus && i < TEL_MAX_VCPUS; i++) {
		if (!b->vcpu[i].valid)
			continue;
		snprintf(k, sizeof(k), "%d", i);
		tel_prom_one(f, "avmm_vcpu_remote_memory_pct", vm, "vcpu", k, b->vcpu[i].remote_pct);
	}
	if (b->mig_valid)
		worker(f, vm, b);
}
