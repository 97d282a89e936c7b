/* The session's written-page sets for bankmap: the per-tick harvest of each
 * vCPU's dirty ring into the session's bitmaps, the window, the remote share
 * of a vCPU's written pages, and the pages that go first when guest RAM
 * migrates. See session_bankmap.h for the window and the costs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapt/session_bankmap.h"
#include "common/util.h"

int adapt_bm_written_init(struct adapt_bm_written *w, enum vmm_dirty_track mode, int nr_sets,
			  uint64_t bits, const struct adapt_bm_region *r, int nr_regions,
			  uint64_t nr_pages, uint64_t now_ns)
{
	uint64_t words = (bits + 63) / 64;

	memset(w, 0, sizeof(*w));
	for (int i = 0; i < VMM_MAX_VCPUS; i++)
		w->node[i] = -1;
	if (nr_sets < 1 || nr_sets > VMM_MAX_VCPUS || nr_regions < 1 || nr_regions > BM_MAX_REGIONS ||
	    !bits) {
		snprintf(w->why, sizeof(w->why), "%d sets of %llu frames over %d regions: not possible",
			 nr_sets, (unsigned long long)bits, nr_regions);
		return -EINVAL;
	}
	for (int i = 0; i < nr_regions; i++) {
		if (r[i].pfn % 64 || r[i].pfn + r[i].pages > bits || r[i].page + r[i].pages > nr_pages) {
			snprintf(w->why, sizeof(w->why), "guest RAM region at gpa 0x%llx (%llu pages) is "
				 "not 256 KiB aligned or lies outside the set: no written-page sets",
				 (unsigned long long)(r[i].pfn << 12), (unsigned long long)r[i].pages);
			return -EINVAL;
		}
		w->region[i] = r[i];
	}
	for (int i = 0; i < nr_sets; i++) {
		w->set[i] = calloc(words, sizeof(uint64_t));
		if (!w->set[i]) {
			adapt_bm_written_free(w);
			snprintf(w->why, sizeof(w->why), "no memory for %d sets of %llu KiB", nr_sets,
				 (unsigned long long)(words * 8 / 1024));
			return -ENOMEM;
		}
	}
	w->mode = mode;
	w->nr_sets = nr_sets;
	w->bits = bits;
	w->nr_regions = nr_regions;
	w->nr_pages = nr_pages;
	w->window_start_ns = now_ns;
	return 0;
}

void adapt_bm_written_free(struct adapt_bm_written *w)
{
	for (int i = 0; i < VMM_MAX_VCPUS; i++) {
		free(w->set[i]);
		w->set[i] = NULL;
	}
	w->nr_sets = 0;
	w->mode = VMM_DIRTY_OFF;
}

void adapt_bm_written_reset(struct adapt_bm_written *w, uint64_t now_ns)
{
	for (int i = 0; i < w->nr_sets; i++) {
		memset(w->set[i], 0, (w->bits + 63) / 64 * sizeof(uint64_t));
		w->pages[i] = 0;
	}
	w->window_start_ns = now_ns;
}

int adapt_bm_written_harvest(struct adapt_bm_written *w, struct vmm *vm, uint64_t now_ns)
{
	uint64_t t0 = util_now_ns();
	int err = 0;

	if (!w->nr_sets)
		return 0;
	if (now_ns - w->window_start_ns >= BM_WRITTEN_WINDOW_NS)
		adapt_bm_written_reset(w, now_ns);
	for (int i = 0; i < w->nr_sets; i++) {
		uint64_t added = 0;
		int rc = vmm_dirty_harvest(vm, w->mode == VMM_DIRTY_RING ? i : -1, w->set[i], w->bits,
					   &added);

		if (rc && !err) {
			err = rc;
			if (w->mode == VMM_DIRTY_RING)
				snprintf(w->why, sizeof(w->why), "harvesting vcpu%d's dirty ring: %s", i,
					 strerror(-rc));
			else
				snprintf(w->why, sizeof(w->why), "harvesting the VM's dirty bitmap: %s",
					 strerror(-rc));
		}
		w->pages[i] += added;
	}
	w->harvest_ns = util_now_ns() - t0;
	return err;
}

int adapt_bm_written_share(const struct adapt_bm_written *w, int i, int node,
			   const int8_t *status, struct bankmap_remote *out)
{
	memset(out, 0, sizeof(*out));
	out->remote_pct = -1;
	if (i < 0 || i >= w->nr_sets || !status)
		return -EINVAL;
	for (int r = 0; r < w->nr_regions; r++) {
		const struct adapt_bm_region *g = &w->region[r];
		struct bankmap_remote part;
		int rc = bankmap_remote_share(node, NULL, 0, w->set[i] + g->pfn / 64, status + g->page,
					      g->pages, &part);

		if (rc)
			return rc;
		out->local += part.local;
		out->remote += part.remote;
		out->unknown += part.unknown;
	}
	if (out->local + out->remote)
		out->remote_pct = 100.0 * (double)out->remote / (double)(out->local + out->remote);
	return 0;
}

int adapt_bm_written_pages(const struct adapt_bm_written *w, uint64_t set_mask,
			   uint64_t **pages, size_t *nr)
{
	size_t n = 0, cap = 0;
	uint64_t *p = NULL;

	*pages = NULL;
	*nr = 0;
	for (int r = 0; r < w->nr_regions; r++) {
		const struct adapt_bm_region *g = &w->region[r];

		for (uint64_t k = 0; k < (g->pages + 63) / 64; k++) {
			uint64_t bits = 0;

			for (int i = 0; i < w->nr_sets; i++)
				if (set_mask >> i & 1)
					bits |= w->set[i][g->pfn / 64 + k];
			for (; bits; bits &= bits - 1) {
				uint64_t off = k * 64 + (uint64_t)__builtin_ctzll(bits);

				if (off >= g->pages)
					break;
				if (n == cap) {
					uint64_t *q = realloc(p, (cap = cap ? cap * 2 : 1024) * sizeof(*p));

					if (!q) {
						free(p);
						return -ENOMEM;
					}
					p = q;
				}
				p[n++] = g->page + off;
			}
		}
	}
	*pages = p;
	*nr = n;
	return 0;
}

/* The written pages that go first in a migration to node: those of the
 * vCPUs on that node at the last sample (every vCPU's when none is known to
 * be there), or the VM's with the VM-wide bitmap. */
int adapt_bm_written_first(const struct adapt_bm_written *w, int node, uint64_t **pages,
			   size_t *nr)
{
	uint64_t mask = 0;

	*pages = NULL;
	*nr = 0;
	if (!w->nr_sets)
		return 0;
	for (int i = 0; w->mode == VMM_DIRTY_RING && i < w->nr_sets && i < 64; i++)
		if (w->node[i] == node)
			mask |= 1ull << i;
	if (!mask)
		mask = w->nr_sets >= 64 ? ~0ull : (1ull << w->nr_sets) - 1;
	return adapt_bm_written_pages(w, mask, pages, nr);
}
