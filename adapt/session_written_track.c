/* Whether the session tracks written pages for bankmap (the profile's
 * [bankmap] written_sets, decided before the VM is created), the sets made
 * once the VM exists (logged at -v), and the tracking figures each tick
 * exports. The sets themselves: session_written.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapt/session_bankmap.h"
#include "common/util.h"

int adapt_bm_memory_nodes(const struct bankmap_topo *t)
{
	int n = 0;

	for (int i = 0; i < t->nr_nodes; i++)
		n += t->node[i].total_bytes > 0;
	return n;
}

enum vmm_dirty_track adapt_bm_written_choose(enum pol_bm_written w, const struct bankmap_topo *t,
					     char *why, size_t why_len)
{
	int n = t ? adapt_bm_memory_nodes(t) : 0;

	switch (w) {
	case POL_BM_WRITTEN_NO:
		snprintf(why, why_len, "off: written_sets = no");
		return VMM_DIRTY_OFF;
	case POL_BM_WRITTEN_YES:
		snprintf(why, why_len, "on: written_sets = yes");
		return VMM_DIRTY_AUTO;
	default:
		break;
	}
	if (!t) {
		snprintf(why, why_len, "off: no NUMA topology, so no remote share to refine "
			 "(written_sets = auto; yes tracks anyway)");
		return VMM_DIRTY_OFF;
	}
	if (n <= 1) {
		snprintf(why, why_len, "off: %d NUMA node with memory, nothing can be remote "
			 "(written_sets = auto; yes tracks anyway)", n);
		return VMM_DIRTY_OFF;
	}
	snprintf(why, why_len, "on: %d NUMA nodes with memory (written_sets = auto)", n);
	return VMM_DIRTY_AUTO;
}

/* Before vmm_create (bankmap on, not an agent): the tracking written_sets
 * asks for, unless the caller already set one. */
void adapt_session_bankmap_track(struct adapt_session *s)
{
	struct bankmap_topo *t;
	char why[BANKMAP_WHY_LEN];
	bool have;

	if (s->cfg.agent || !s->profile.enabled[POL_AD_BANKMAP] ||
	    s->cfg.vm.dirty_track != VMM_DIRTY_OFF)
		return;
	t = malloc(sizeof(*t));
	have = t && !bankmap_topo_load(NULL, s->cfg.fsroot, t, why, sizeof(why));
	s->cfg.vm.dirty_track = adapt_bm_written_choose(s->profile.bankmap.written_sets,
							have ? t : NULL, s->bm_track_why,
							sizeof(s->bm_track_why));
	free(t);
	if (s->cfg.vm.dirty_track != VMM_DIRTY_OFF && !s->cfg.vm.dirty_ring_entries)
		s->cfg.vm.dirty_ring_entries = BM_DIRTY_RING_ENTRIES;
}

/* After the VM and bankmap's topology: the sets, one per vCPU (ring) or one
 * for the VM (bitmap); says at -v what is tracked and why. */
void adapt_session_bankmap_written(struct adapt_session *s, struct adapt_bankmap *bm)
{
	struct adapt_bm_written *w = &bm->written;
	struct adapt_bm_region r[BM_MAX_REGIONS];
	struct vmm_dirty_info di;
	uint64_t gpa, n;
	void *p;
	int nr = 0, rc;

	vmm_dirty_info(s->vm, &di);
	if (di.mode == VMM_DIRTY_OFF) {
		snprintf(w->why, sizeof(w->why), "%s", s->bm_track_why[0] ? s->bm_track_why : "off");
		util_info("bankmap: written-page sets %s; remote shares over all resident guest pages",
			  w->why);
		return;
	}
	for (int i = 0; nr < BM_MAX_REGIONS && vmm_ram_region(s->vm, i, &p, &gpa, &n) == 0; i++)
		r[nr++] = (struct adapt_bm_region){ gpa / BANKMAP_PAGE_SIZE,
			((uintptr_t)p - (uintptr_t)bm->hva) / BANKMAP_PAGE_SIZE, n / BANKMAP_PAGE_SIZE };
	rc = adapt_bm_written_init(w, di.mode, di.mode == VMM_DIRTY_RING ? vmm_nr_vcpus(s->vm) : 1,
				   di.pfn_bits, r, nr, bm->bytes / BANKMAP_PAGE_SIZE, util_now_ns());
	if (rc) {
		util_warn("bankmap: written-page sets off: %s", w->why);
		return;
	}
	snprintf(w->why, sizeof(w->why), "%.60s; %.96s", s->bm_track_why, di.why);
	util_info("bankmap: written-page sets %s", w->why);
}

/* The tick's tracking figures for telemetry. */
void adapt_bm_written_export(const struct adapt_bm_written *w, struct vmm *vm, uint64_t now_ns,
			     struct tel_bankmap_sample *o)
{
	struct tel_bankmap_dirty *d = &o->dirty;
	struct vmm_dirty_info di;

	snprintf(d->why, sizeof(d->why), "%s", w->why);
	if (!w->nr_sets)
		return;
	vmm_dirty_info(vm, &di);
	d->mode = w->mode == VMM_DIRTY_RING ? TEL_DIRTY_RING : TEL_DIRTY_BITMAP;
	d->per_vcpu = di.per_vcpu;
	d->ring_entries = di.ring_entries;
	d->window_ns = now_ns - w->window_start_ns;
	d->vm_written_pages = w->mode == VMM_DIRTY_BITMAP ? w->pages[0] : 0;
	d->harvest_ns = w->harvest_ns;
	d->harvests = di.harvests;
	d->entries = di.entries;
	d->ring_full_exits = di.ring_full_exits;
	d->ring_overflows = di.ring_overflows;
	d->lost_entries = di.lost_entries;
}
