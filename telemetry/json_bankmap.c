/* The "bankmap" object of a sample (samples JSON, JSON-lines traces, the
 * dashboard): guest RAM by node, the sampler, per-vCPU remote shares and
 * written-page sets, the written-page tracking ("written") and the migration
 * worker. */
#include "telemetry/tel_int.h"

json_t *tel_bankmap_json(const struct tel_bankmap_sample *b)
{
	json_t *o, *nodes, *vcpus, *mig, *dirty;

	if (!b->valid)
		return json_null();
	nodes = json_object();
	vcpus = json_array();
	for (int i = 0; i < b->nr_nodes && nodes; i++) {
		char k[16];

		snprintf(k, sizeof(k), "%d", b->node[i]);
		json_object_set_new(nodes, k, json_integer((json_int_t)b->node_bytes[i]));
	}
	for (int i = 0; i < b->nr_vcpus && i < TEL_MAX_VCPUS && vcpus; i++) {
		const struct tel_bankmap_vcpu *v = &b->vcpu[i];

		json_array_append_new(vcpus, json_pack("{s:i, s:o, s:s, s:s, s:o}", "node", v->node,
						       "remote_pct", v->valid ? json_real(v->remote_pct) : json_null(),
						       "why", tel_bm_why_name(v->why),
						       "basis", tel_bm_basis_name(v->basis),
						       "written_pages", b->dirty.per_vcpu ?
						       json_integer((json_int_t)v->written_pages) : json_null()));
	}
	dirty = json_pack("{s:s, s:b, s:i, s:I, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:s}",
			  "mode", tel_dirty_mode_name(b->dirty.mode), "per_vcpu", b->dirty.per_vcpu,
			  "ring_entries", (int)b->dirty.ring_entries,
			  "window_ns", (json_int_t)b->dirty.window_ns,
			  "vm_written_pages", b->dirty.mode == TEL_DIRTY_BITMAP ?
			  json_integer((json_int_t)b->dirty.vm_written_pages) : json_null(),
			  "harvest_ns", (json_int_t)b->dirty.harvest_ns,
			  "harvests", (json_int_t)b->dirty.harvests,
			  "entries", (json_int_t)b->dirty.entries,
			  "ring_full_exits", (json_int_t)b->dirty.ring_full_exits,
			  "ring_overflows", (json_int_t)b->dirty.ring_overflows,
			  "lost_entries", (json_int_t)b->dirty.lost_entries, "why", b->dirty.why);
	mig = !b->mig_valid ? json_null() :
		json_pack("{s:b, s:i, s:I, s:I, s:I, s:I, s:I, s:I}", "busy", b->mig_busy,
			  "target", b->mig_target, "requests", (json_int_t)b->mig_requests,
			  "pages_total", (json_int_t)b->mig_pages_total,
			  "pages_done", (json_int_t)b->mig_pages_done,
			  "pages_failed", (json_int_t)b->mig_pages_failed,
			  "bytes_moved", (json_int_t)b->mig_bytes_moved,
			  "errors", (json_int_t)b->mig_errors);
	o = json_pack("{s:I, s:o, s:I, s:I, s:I, s:I, s:b, s:I, s:b, s:o, s:o, s:o, s:s}",
		      "ram_bytes", (json_int_t)b->ram_bytes, "node_bytes", nodes,
		      "present_pages", (json_int_t)b->present_pages,
		      "absent_pages", (json_int_t)b->absent_pages,
		      "unknown_pages", (json_int_t)b->unknown_pages,
		      "pages_queried", (json_int_t)b->pages_queried, "complete", b->complete,
		      "query_ns", (json_int_t)b->query_ns, "written_sets", b->written_sets,
		      "vcpus", vcpus, "written", dirty ? dirty : json_null(), "migration", mig,
		      "why", b->why);
	return o ? o : json_null();
}

/* CSV: columns after the vCPUs' (empty cells when not sampled). Node bytes
 * and remote shares as "node=bytes;..." and "vcpu=pct;..." text cells. */
const char tel_bankmap_csv_cols[] = ",guest_node_bytes,guest_present_pages,bankmap_complete,"
	"vcpu_remote_pct,migration_busy,migration_pages_total,migration_pages_done,"
	"migration_pages_failed";

void tel_bankmap_csv(FILE *f, const struct tel_bankmap_sample *b)
{
	if (!b->valid) {
		fputs(",,,,,,,,", f);
		return;
	}
	fputc(',', f);
	for (int i = 0; i < b->nr_nodes; i++)
		fprintf(f, "%s%d=%llu", i ? ";" : "", b->node[i], (unsigned long long)b->node_bytes[i]);
	fprintf(f, ",%llu,%d,", (unsigned long long)b->present_pages, b->complete);
	for (int i = 0, n = 0; i < b->nr_vcpus && i < TEL_MAX_VCPUS; i++)
		if (b->vcpu[i].valid)
			fprintf(f, "%s%d=%.2f", n++ ? ";" : "", i, b->vcpu[i].remote_pct);
	if (b->mig_valid)
		fprintf(f, ",%d,%llu,%llu,%llu", b->mig_busy, (unsigned long long)b->mig_pages_total,
			(unsigned long long)b->mig_pages_done, (unsigned long long)b->mig_pages_failed);
	else
		fputs(",,,,", f);
}
