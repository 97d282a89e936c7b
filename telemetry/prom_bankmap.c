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

const char *tel_bm_basis_name(int basis)
{
	static const char *const n[TEL_BM_BASIS_COUNT] = { "all", "written" };

	return (unsigned)basis < TEL_BM_BASIS_COUNT ? n[basis] : "unknown";
}

const char *tel_dirty_mode_name(int mode)
{
	static const char *const n[] = { "off", "ring", "bitmap" };

	return (unsigned)mode < 3 ? n[mode] : "unknown";
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

/* Written-page tracking: the mode (info), the sets' sizes and the ring's
 * counters. */
static void written(FILE *f, const char *vm, const struct tel_bankmap_sample *b)
{
	const struct tel_bankmap_dirty *d = &b->dirty;
	char k[16];

	tel_prom_family(f, "avmm_dirty_tracking_info", "gauge", "Written-page tracking in use: mode "
	       "ring (KVM's dirty ring, one set per vCPU), bitmap (the slots' dirty bitmap, one "
	       "set for the VM) or off; why says how it was chosen");
	fprintf(f, "avmm_dirty_tracking_info{vm=\"");
	tel_prom_esc(f, vm);
	fprintf(f, "\",mode=\"%s\",per_vcpu=\"%s\",why=\"", tel_dirty_mode_name(d->mode),
		d->per_vcpu ? "yes" : "no");
	tel_prom_esc(f, d->why);
	fprintf(f, "\"} 1\n");
	tel_prom_family(f, "avmm_bankmap_written_sets", "gauge", "1 when the vCPUs' remote shares are "
	       "taken over their written pages, 0 when over all resident guest pages");
	tel_prom_one(f, "avmm_bankmap_written_sets", vm, NULL, NULL, b->written_sets);
	if (d->mode == TEL_DIRTY_OFF)
		return;
	tel_prom_family(f, "avmm_dirty_window_seconds", "gauge", "The written-page sets hold the pages "
	       "written in this long (since the window began: every 10 s and at each migration)");
	tel_prom_one(f, "avmm_dirty_window_seconds", vm, NULL, NULL, (double)d->window_ns * 1e-9);
	if (d->per_vcpu) {
		tel_prom_family(f, "avmm_vcpu_written_pages", "gauge", "Guest pages the vCPU wrote in the "
		       "window (KVM's dirty ring)");
		for (int i = 0; i < b->nr_vcpus && i < TEL_MAX_VCPUS; i++) {
			snprintf(k, sizeof(k), "%d", i);
			tel_prom_one(f, "avmm_vcpu_written_pages", vm, "vcpu", k, (double)b->vcpu[i].written_pages);
		}
	} else {
		tel_prom_family(f, "avmm_guest_written_pages", "gauge", "Guest pages the VM wrote in the "
		       "window (the slots' dirty bitmap: one set for all vCPUs)");
		tel_prom_one(f, "avmm_guest_written_pages", vm, NULL, NULL, (double)d->vm_written_pages);
	}
	tel_prom_family(f, "avmm_dirty_harvest_seconds", "gauge", "Time of the last tick's harvest of "
	       "every written-page set");
	tel_prom_one(f, "avmm_dirty_harvest_seconds", vm, NULL, NULL, (double)d->harvest_ns * 1e-9);
	tel_prom_family(f, "avmm_dirty_harvests_total", "counter", "Harvests of written-page sets");
	tel_prom_one(f, "avmm_dirty_harvests_total", vm, NULL, NULL, (double)d->harvests);
	tel_prom_family(f, "avmm_dirty_entries_total", "counter", "Dirty-ring entries (ring) or set bits "
	       "(bitmap) read");
	tel_prom_one(f, "avmm_dirty_entries_total", vm, NULL, NULL, (double)d->entries);
	if (!d->per_vcpu)
		return;
	tel_prom_family(f, "avmm_dirty_ring_full_exits_total", "counter", "vCPU exits on a full dirty "
	       "ring (its entries go to its pending set; the vCPU runs on)");
	tel_prom_one(f, "avmm_dirty_ring_full_exits_total", vm, NULL, NULL, (double)d->ring_full_exits);
	tel_prom_family(f, "avmm_dirty_ring_overflows_total", "counter", "Dirty rings the kernel overran "
	       "(a host bug, e.g. kvm_pvm's emulator)");
	tel_prom_one(f, "avmm_dirty_ring_overflows_total", vm, NULL, NULL, (double)d->ring_overflows);
	tel_prom_family(f, "avmm_dirty_lost_entries_total", "counter", "Dirty-ring entries overwritten in "
	       "overrun rings: up to this many written pages may be missing from the sets");
	tel_prom_one(f, "avmm_dirty_lost_entries_total", vm, NULL, NULL, (double)d->lost_entries);
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
	       "in the window (all resident guest pages without a per-vCPU written set: see "
	       "avmm_bankmap_written_sets) on another node than its CPU's; only vCPUs whose "
	       "share is known");
	for (int i = 0; i < b->nr_vcpus && i < TEL_MAX_VCPUS; i++) {
		if (!b->vcpu[i].valid)
			continue;
		snprintf(k, sizeof(k), "%d", i);
		tel_prom_one(f, "avmm_vcpu_remote_memory_pct", vm, "vcpu", k, b->vcpu[i].remote_pct);
	}
	written(f, vm, b);
	if (b->mig_valid)
		worker(f, vm, b);
}
