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

static void esc(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{vm="VM"[,k="v"]} value */
static void one(FILE *f, const char *name, const char *vm, const char *k, const char *v, double x)
{
	fprintf(f, "%s{vm=\"", name);
	esc(f, vm);
	fputc('"', f);
	if (k)
		fprintf(f, ",%s=\"%s\"", k, v);
	fprintf(f, "} %.10g\n", x);
}

static void worker(FILE *f, const char *vm, const struct tel_bankmap_sample *b)
{
	static const char *const kinds[] = { "total", "done", "failed" };
	const uint64_t v[] = { b->mig_pages_total, b->mig_pages_done, b->mig_pages_failed };

	family(f, "avmm_bankmap_migration_pages", "gauge", "Pages of the current or last "
	       "migration request: total, done (moved), failed (after retries)");
	for (int i = 0; i < 3; i++)
		one(f, "avmm_bankmap_migration_pages", vm, "state", kinds[i], (double)v[i]);
	family(f, "avmm_bankmap_migration_failed_pages", "gauge", "Pages of the last request "
	       "that failed, by class (enomem: no memory on the target; ebusy: pinned or "
	       "locked, retried later; enodev: no such node; absent: never touched)");
	for (int i = 0; i < 5; i++)
		one(f, "avmm_bankmap_migration_failed_pages", vm, "class", tel_bm_fail_names[i],
		    (double)b->mig_failed[i]);
	family(f, "avmm_bankmap_migration_busy", "gauge", "1 while the worker migrates");
	one(f, "avmm_bankmap_migration_busy", vm, NULL, NULL, b->mig_busy);
	family(f, "avmm_bankmap_migration_requests_total", "counter", "Migration requests given "
	       "to the worker");
	one(f, "avmm_bankmap_migration_requests_total", vm, NULL, NULL, (double)b->mig_requests);
	family(f, "avmm_bankmap_migration_errors_total", "counter", "Migration requests the "
	       "worker could not start or that a move_pages call ended");
	one(f, "avmm_bankmap_migration_errors_total", vm, NULL, NULL, (double)b->mig_errors);
	family(f, "avmm_bankmap_migrated_bytes", "gauge", "Bytes moved by the current or last "
	       "request");
	one(f, "avmm_bankmap_migrated_bytes", vm, NULL, NULL, (double)b->mig_bytes_moved);
}

/* Written-page tracking: the mode (info), the sets' sizes and the ring's
 * counters. */
static void written(FILE *f, const char *vm, const struct tel_bankmap_sample *b)
{
	const struct tel_bankmap_dirty *d = &b->dirty;
	char k[16];

	family(f, "avmm_dirty_tracking_info", "gauge", "Written-page tracking in use: mode "
	       "ring (KVM's dirty ring, one set per vCPU), bitmap (the slots' dirty bitmap, one "
	       "set for the VM) or off; why says how it was chosen");
	fprintf(f, "avmm_dirty_tracking_info{vm=\"");
	esc(f, vm);
	fprintf(f, "\",mode=\"%s\",per_vcpu=\"%s\",why=\"", tel_dirty_mode_name(d->mode),
		d->per_vcpu ? "yes" : "no");
	esc(f, d->why);
	fprintf(f, "\"} 1\n");
	family(f, "avmm_bankmap_written_sets", "gauge", "1 when the vCPUs' remote shares are "
	       "taken over their written pages, 0 when over all resident guest pages");
	one(f, "avmm_bankmap_written_sets", vm, NULL, NULL, b->written_sets);
	if (d->mode == TEL_DIRTY_OFF)
		return;
	family(f, "avmm_dirty_window_seconds", "gauge", "The written-page sets hold the pages "
	       "written in this long (since the window began: every 10 s and at each migration)");
	one(f, "avmm_dirty_window_seconds", vm, NULL, NULL, (double)d->window_ns * 1e-9);
	if (d->per_vcpu) {
		family(f, "avmm_vcpu_written_pages", "gauge", "Guest pages the vCPU wrote in the "
		       "window (KVM's dirty ring)");
		for (int i = 0; i < b->nr_vcpus && i < TEL_MAX_VCPUS; i++) {
			snprintf(k, sizeof(k), "%d", i);
			one(f, "avmm_vcpu_written_pages", vm, "vcpu", k, (double)b->vcpu[i].written_pages);
		}
	} else {
		family(f, "avmm_guest_written_pages", "gauge", "Guest pages the VM wrote in the "
		       "window (the slots' dirty bitmap: one set for all vCPUs)");
		one(f, "avmm_guest_written_pages", vm, NULL, NULL, (double)d->vm_written_pages);
	}
	family(f, "avmm_dirty_harvest_seconds", "gauge", "Time of the last tick's harvest of "
	       "every written-page set");
	one(f, "avmm_dirty_harvest_seconds", vm, NULL, NULL, (double)d->harvest_ns * 1e-9);
	family(f, "avmm_dirty_harvests_total", "counter", "Harvests of written-page sets");
	one(f, "avmm_dirty_harvests_total", vm, NULL, NULL, (double)d->harvests);
	family(f, "avmm_dirty_entries_total", "counter", "Dirty-ring entries (ring) or set bits "
	       "(bitmap) read");
	one(f, "avmm_dirty_entries_total", vm, NULL, NULL, (double)d->entries);
	if (!d->per_vcpu)
		return;
	family(f, "avmm_dirty_ring_full_exits_total", "counter", "vCPU exits on a full dirty "
	       "ring (its entries go to its pending set; the vCPU runs on)");
	one(f, "avmm_dirty_ring_full_exits_total", vm, NULL, NULL, (double)d->ring_full_exits);
	family(f, "avmm_dirty_ring_overflows_total", "counter", "Dirty rings the kernel overran "
	       "(a host bug, e.g. kvm_pvm's emulator)");
	one(f, "avmm_dirty_ring_overflows_total", vm, NULL, NULL, (double)d->ring_overflows);
	family(f, "avmm_dirty_lost_entries_total", "counter", "Dirty-ring entries overwritten in "
	       "overrun rings: up to this many written pages may be missing from the sets");
	one(f, "avmm_dirty_lost_entries_total", vm, NULL, NULL, (double)d->lost_entries);
}

void tel_prom_bankmap(FILE *f, const char *vm, const struct tel_sample *s)
{
	const struct tel_bankmap_sample *b = &s->bankmap;
	char k[16];

	if (!b->valid)
		return;
	family(f, "avmm_guest_memory_bytes", "gauge", "Guest RAM resident on each NUMA node "
	       "(move_pages query sample, scaled to all of guest RAM; exact once every page "
	       "was sampled)");
	for (int i = 0; i < b->nr_nodes; i++) {
		snprintf(k, sizeof(k), "%d", b->node[i]);
		one(f, "avmm_guest_memory_bytes", vm, "node", k, (double)b->node_bytes[i]);
	}
	family(f, "avmm_guest_memory_sampled_pages", "gauge", "Guest pages by what the last "
	       "query of each said: present (on a node), absent (never touched), unknown (not "
	       "sampled yet), error");
	one(f, "avmm_guest_memory_sampled_pages", vm, "state", "present", (double)b->present_pages);
	one(f, "avmm_guest_memory_sampled_pages", vm, "state", "absent", (double)b->absent_pages);
	one(f, "avmm_guest_memory_sampled_pages", vm, "state", "unknown", (double)b->unknown_pages);
	one(f, "avmm_guest_memory_sampled_pages", vm, "state", "error", (double)b->error_pages);
	family(f, "avmm_guest_memory_sample_complete", "gauge", "1 once every guest page was "
	       "queried at least once");
	one(f, "avmm_guest_memory_sample_complete", vm, NULL, NULL, b->complete);
	family(f, "avmm_bankmap_query_seconds", "gauge", "Time of the last tick's bounded "
	       "move_pages query");
	one(f, "avmm_bankmap_query_seconds", vm, NULL, NULL, (double)b->query_ns * 1e-9);
	family(f, "avmm_vcpu_remote_memory_pct", "gauge", "Share of the vCPU's written pages "
	       "in the window (all resident guest pages without a per-vCPU written set: see "
	       "avmm_bankmap_written_sets) on another node than its CPU's; only vCPUs whose "
	       "share is known");
	for (int i = 0; i < b->nr_vcpus && i < TEL_MAX_VCPUS; i++) {
		if (!b->vcpu[i].valid)
			continue;
		snprintf(k, sizeof(k), "%d", i);
		one(f, "avmm_vcpu_remote_memory_pct", vm, "vcpu", k, b->vcpu[i].remote_pct);
	}
	written(f, vm, b);
	if (b->mig_valid)
		worker(f, vm, b);
}
