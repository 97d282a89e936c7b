/* adapt internal: the session's bankmap state, shared by
 * session_bankmap.c (placement, lifecycle) and session_bankmap_loop.c
 * (the tick's sample, the migration actuator, the initial decision). */
#ifndef AVMM_ADAPT_SESSION_BANKMAP_H
#define AVMM_ADAPT_SESSION_BANKMAP_H

#include <pthread.h>

#include "adapt/session_int.h"
#include "bankmap/bankmap.h"

#define BM_BATCH_PAGES 512             /* pages per move_pages call of the worker */

/*
 * Written-page sets (session_written.c; whether to track them:
 * session_written_track.c). Each tick the sampling thread harvests every vCPU's dirty ring (RING: one set per vCPU) or the slots'
 * bitmap (BITMAP: one set for the VM) into the session's sets: bitmaps over
 * guest frames (bit n = gpa n * 4096, as vmm_dirty_harvest fills them), one
 * bit per guest page per set (32 KiB per GiB of guest RAM per vCPU). The
 * window: a set holds the pages written since the window began; it restarts
 * every BM_WRITTEN_WINDOW_NS and after each migration decision (the pages a
 * vCPU writes now, not those of a minute ago). Harvest cost is bounded by
 * the ring (about 45 ns per entry here); a remote share scans one set
 * (guest pages / 64 words).
 */
#define BM_WRITTEN_WINDOW_NS 10000000000ull
#define BM_DIRTY_RING_ENTRIES 4096u
#define BM_MAX_REGIONS 4

/* Guest RAM region: guest frames [pfn, pfn + pages) are pages [page, page +
 * pages) of guest RAM's host range (the sampler's page indices). */
struct adapt_bm_region { uint64_t pfn, page, pages; };

struct adapt_bm_written {
	enum vmm_dirty_track mode;         /* OFF, RING or BITMAP: what is in use */
	int nr_sets;                       /* RING: the vCPUs; BITMAP: 1; OFF: 0 */
	uint64_t bits;                     /* of each set: guest frames */
	uint64_t *set[VMM_MAX_VCPUS];
	uint64_t pages[VMM_MAX_VCPUS];     /* bits set in each */
	int16_t node[VMM_MAX_VCPUS];       /* the vCPU's node at the last sample, -1 */
	int nr_regions;
	struct adapt_bm_region region[BM_MAX_REGIONS];
	uint64_t nr_pages;                 /* guest RAM's host range, in pages */
	uint64_t window_start_ns, harvest_ns;
	char why[160];                     /* how the mode was chosen; a harvest failure */
};

/* Pure: the dirty tracking the profile's written_sets asks for, given the
 * memory topology (NULL: unknown, then auto stays off). */
enum vmm_dirty_track adapt_bm_written_choose(enum pol_bm_written w, const struct bankmap_topo *t,
					     char *why, size_t why_len);
/* Sets for nr_sets sets of bits frames over these regions (each region's pfn
 * a multiple of 64). -EINVAL (why says), -ENOMEM. */
int adapt_bm_written_init(struct adapt_bm_written *w, enum vmm_dirty_track mode, int nr_sets,
			  uint64_t bits, const struct adapt_bm_region *r, int nr_regions,
			  uint64_t nr_pages, uint64_t now_ns);
void adapt_bm_written_free(struct adapt_bm_written *w);
/* Empties every set: a new window from now_ns. */
void adapt_bm_written_reset(struct adapt_bm_written *w, uint64_t now_ns);
/* Harvests every set from the VM (restarting the window when it is over).
 * 0 or the first -errno of vmm_dirty_harvest (why says). */
int adapt_bm_written_harvest(struct adapt_bm_written *w, struct vmm *vm, uint64_t now_ns);
/* Remote share of set i's pages for a vCPU on node (bankmap_remote_share
 * over each region, summed). status: the sampler's, w->nr_pages entries. */
int adapt_bm_written_share(const struct adapt_bm_written *w, int i, int node,
			   const int8_t *status, struct bankmap_remote *out);
/* The pages (indices of guest RAM's host range, ascending) in the union of
 * the sets whose bit is in set_mask: malloc'd, *nr of them (0: NULL). */
int adapt_bm_written_pages(const struct adapt_bm_written *w, uint64_t set_mask,
			   uint64_t **pages, size_t *nr);
/* The pages that go first in a migration to node: the union of the sets of
 * the vCPUs on node at the last sample (w->node), every set when none is. */
int adapt_bm_written_first(const struct adapt_bm_written *w, int node, uint64_t **pages,
			   size_t *nr);
/* The tick's tracking mode, counters and window for telemetry (o->dirty). */
void adapt_bm_written_export(const struct adapt_bm_written *w, struct vmm *vm, uint64_t now_ns,
			     struct tel_bankmap_sample *o);
struct adapt_bankmap;
/* After the VM and bankmap's topology: the sets (logged at -v). */
void adapt_session_bankmap_written(struct adapt_session *s, struct adapt_bankmap *bm);

struct adapt_bankmap {
	pthread_mutex_t lock;          /* sampler, counters */
	void *hva;
	uint64_t bytes;
	bool have_topo;
	struct bankmap_topo topo;
	struct coremap_topo *ct;
	struct bankmap_sampler *sampler;
	struct bankmap_worker *worker;
	uint64_t requests, errors;
	bool placed, initial;          /* bound at start; its decision not yet carried out */
	struct adapt_change change;    /* the placement made */
	char what[128], why[192];
	char sample_why[160];
	uint64_t last_query_ns;        /* the sampler's last tick */
	/* passes over guest RAM (session_bankmap_loop.c): on a one-node host the
	 * next begins only when adapt_mem_reread_due says */
	bool pass_open;
	uint64_t pass_start_ns, pass_queried0, pass_faults, pass_cpu_ns;
	uint64_t passes, pass_cpu_ns_last;  /* whole passes; the last one's CPU time */
	uint64_t check_t_ns;               /* the last fault check (or pass start) */
	bool settled;                      /* passed again, or checked clean, after the first */
	struct adapt_bm_written written;
};

/* Nodes of t that hold memory. */
int adapt_bm_memory_nodes(const struct bankmap_topo *t);

#endif
