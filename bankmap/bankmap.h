/*
 * bankmap: where guest memory lives. NUMA placement when guest RAM is created,
 * a cheap per-node view of it, page migration on a worker thread, and a view
 * (observe and model, never act) at DRAM bank/rank level.
 *
 * Topology: bankmap_topo_load() lists the memory nodes with their total and
 * free bytes and the distance table (libnuma on the live machine, or
 * <fsroot>/sys/devices/system/node/{online,nodeN/meminfo,nodeN/distance} for
 * fake trees), and takes the node of every CPU from coremap's topology (hwloc:
 * live, synthetic or XML), so there is one topology parser. struct
 * bankmap_topo is a plain value: tests may fill it by hand.
 *
 * Placement (pure, bankmap_plan_place): libvirt's <numatune> words in
 * brackets.
 *   LOCAL      the nodes of the vCPUs' pCPUs (placement follows the coremap);
 *   INTERLEAVE pages round-robin over the given nodes, or all nodes
 *              (mode="interleave", for bandwidth);
 *   PACK       the fewest nodes, by free memory, that hold the guest, so the
 *              other nodes' DIMMs can idle (for the energy goal);
 *   EXPLICIT   the given node list (nodeset="...").
 * strict=true gives MPOL_BIND (mode="strict": allocation fails rather than
 * spill); false gives MPOL_PREFERRED / MPOL_PREFERRED_MANY (mode="preferred").
 * numa_balancing=true adds MPOL_F_NUMA_BALANCING to a strict binding so the
 * kernel's AutoNUMA may still migrate within the nodes (Linux 5.12+; without
 * it an explicit policy turns AutoNUMA off for that memory). A node that does
 * not exist is refused with a message naming it and the nodes that do.
 * bankmap_bind() applies a plan to a range with mbind through the ops table.
 *
 * Observation: a bankmap_sampler queries move_pages in query mode (nodes =
 * NULL) for at most max_pages pages per tick, with a stride that rotates, so
 * every tick is a uniform sample of the range and ceil(pages / max_pages)
 * ticks cover every page; it keeps each page's last seen node (1 byte per
 * 4 KiB page) and a histogram of them. bankmap_remote_share() is pure: a
 * vCPU's node, its written pages (from the dirty ring or a dirty bitmap; plain
 * input here) and the page statuses give its remote-access share.
 *
 * Migration: bankmap_migrate_plan() (pure) orders the pages to move: a vCPU's
 * written pages first, then the rest, skipping pages already on the target
 * and pages never touched. A bankmap_worker runs plans on its own pthread
 * (never a vCPU thread) in batches of move_pages under a MiB/s quota, counts
 * pages moved and failed by errno class, retries the retriable failures
 * (EBUSY, ENOMEM, pages left where they were) a bounded number of times, and
 * takes a newer request in place of the one it runs (supersede). The
 * predicted cost (bankmap_migrate_predict) is pages x ns_per_page (default
 * BANKMAP_MIGRATE_NS_PER_PAGE, measured on the development host) or the
 * quota's duration when that is longer.
 *
 * Banks (observe and model): bankmap_bank_of()/bankmap_rank_of() map a
 * physical frame to a bank and rank with XOR masks (bank bit i = parity of
 * (physical address & bank_mask[i])), read from the machine file's [dram]
 * section (BANKMAP_MACHINE_PATH). The memory power model,
 *   P = active_ranks x rank_active_w + idle_ranks x rank_idle_w,
 * with all ranks of a node that holds guest pages counted active, is a model:
 * every figure derived from it is labelled "model".
 *
 * Units: _bytes bytes, _ns nanoseconds (monotonic), _pct percent 0..100,
 * _mib_s MiB per second, _w watts. Pages are 4 KiB (BANKMAP_PAGE_SIZE);
 * "page index" is (address - range start) / 4096, the guest page number
 * relative to the start of guest RAM's host mapping.
 * Threading: planners and parsers are pure and reentrant; a sampler belongs to
 * one thread; a worker's functions may be called from any thread (it locks).
 * Errors: 0 or a negative errno; a readable reason (what failed, on which
 * node/file/range, what to do) goes to `why` or the result's why.
 */
#ifndef AVMM_BANKMAP_H
#define AVMM_BANKMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct coremap_topo;

#define BANKMAP_MAX_NODES 64          /* node ids 0..63: a nodemask is one uint64_t */
#define BANKMAP_MAX_CPUS 1024
#define BANKMAP_PAGE_SIZE 4096ull
#define BANKMAP_WHY_LEN 256
#define BANKMAP_NODE_DIR "/sys/devices/system/node"

/* ---------------------------------------------------------------- topology */

struct bankmap_node {
	int id;                       /* OS node number */
	uint64_t total_bytes, free_bytes;
	int nr_cpus;                  /* CPUs of the coremap topology on this node */
};

struct bankmap_topo {
	int nr_nodes;
	struct bankmap_node node[BANKMAP_MAX_NODES];        /* ascending id */
	uint8_t distance[BANKMAP_MAX_NODES][BANKMAP_MAX_NODES]; /* by position in node[] */
	int nr_cpus;                  /* entries of cpu_node (max OS index + 1) */
	int cpu_node[BANKMAP_MAX_CPUS]; /* OS CPU index -> node id, -1 unknown */
	char source[128];
};

/*
 * ct: coremap's topology (CPU -> node); may be NULL (no CPU table). fsroot
 * NULL or "/": libnuma (numa_node_size64, numa_distance); anything else: the
 * node files under it. -ENODEV: no NUMA information (libnuma unavailable, no
 * node directory); -EINVAL: unreadable files, or a CPU on a node that has no
 * memory entry (why names it).
 */
int bankmap_topo_load(const struct coremap_topo *ct, const char *fsroot,
		      struct bankmap_topo *out, char *why, size_t why_len);
/* Position of node id in t->node[], -ENOENT if it does not exist. */
int bankmap_topo_index(const struct bankmap_topo *t, int node);
uint64_t bankmap_topo_mask(const struct bankmap_topo *t);   /* all node ids */
/* "0-1,3" for a mask. 0 or -ENAMETOOLONG. */
int bankmap_nodemask_format(uint64_t mask, char *buf, size_t len);

/* Parsers of the node files (pure). */
int bankmap_parse_nodelist(const char *s, uint64_t *mask);       /* "0-1,3" */
int bankmap_parse_meminfo(const char *buf, uint64_t *total_bytes, uint64_t *free_bytes);
int bankmap_parse_distance(const char *buf, uint8_t *out, int max, int *nr);

/* -------------------------------------------------------------- placement */

enum bankmap_policy { BANKMAP_LOCAL, BANKMAP_INTERLEAVE, BANKMAP_PACK, BANKMAP_EXPLICIT };
const char *bankmap_policy_name(enum bankmap_policy p);          /* "local" ... */
int bankmap_policy_parse(const char *name, enum bankmap_policy *out);

struct bankmap_place_req {
	enum bankmap_policy policy;
	bool strict;                  /* MPOL_BIND; else MPOL_PREFERRED(_MANY) */
	bool numa_balancing;          /* MPOL_F_NUMA_BALANCING (strict only) */
	const int *vcpu_pcpus;        /* LOCAL (and PACK tie-break): OS CPU per vCPU */
	int nr_vcpus;
	const int *nodes;             /* EXPLICIT; INTERLEAVE (optional: all nodes) */
	int nr_nodes;
	uint64_t guest_bytes;         /* PACK */
};

struct bankmap_plan {
	enum bankmap_policy policy;
	int mode;                     /* MPOL_BIND, MPOL_INTERLEAVE, MPOL_PREFERRED, MPOL_PREFERRED_MANY */
	unsigned mode_flags;          /* MPOL_F_NUMA_BALANCING or 0 */
	unsigned mbind_flags;         /* 0 before first touch; MPOL_MF_MOVE to move existing pages */
	uint64_t nodemask;            /* bit n = node n */
	char why[BANKMAP_WHY_LEN];
};

/* Pure. -EINVAL (why says): an unknown node (naming it and the nodes that
 * exist), an empty list, LOCAL without vCPU CPUs or with a CPU of no node. */
int bankmap_plan_place(const struct bankmap_topo *t, const struct bankmap_place_req *r,
		       struct bankmap_plan *out);
/* "bind"/"interleave"/"preferred"/"preferred-many" */
const char *bankmap_mode_name(int mode);

/* ---------------------------------------------------------------- ops */

struct bankmap_ops {
	/* Like the syscalls, but 0 / a count or -errno (never -1 + errno). */
	int (*mbind)(void *ctx, void *addr, unsigned long len, int mode,
		     const unsigned long *nodemask, unsigned long maxnode, unsigned flags);
	/* nodes NULL: query. Returns the number of pages not moved (>= 0) or
	 * -errno for the whole call; status[i] = node or -errno per page. */
	long (*move_pages)(void *ctx, int pid, unsigned long count, void **pages,
			   const int *nodes, int *status, int flags);
	int (*get_mempolicy)(void *ctx, int *mode, unsigned long *nodemask,
			     unsigned long maxnode, void *addr, unsigned long flags);
	void *ctx;
};
/* libnuma's numaif.h wrappers; ctx unused. */
extern const struct bankmap_ops bankmap_real_ops;

/*
 * Recording fake: pages of one range [base, base + nr_pages * 4096) live on
 * fake_node[i] (-ENOENT: not present); nodes outside node_mask give ENODEV
 * (move_pages) / EINVAL (mbind) like the kernel. Failures can be injected per
 * page for the first fail_times attempts on it. Thread-safe (a mutex).
 */
#define BANKMAP_FAKE_MAX_CALLS 4096
struct bankmap_fake_call {
	char op;                      /* 'b' mbind, 'm' move, 'q' query, 'g' get_mempolicy */
	uintptr_t addr;               /* first page */
	unsigned long count;          /* pages (len / 4096 for mbind) */
	int node;                     /* target (first), -1 query; mbind: mode */
	uint64_t mask;                /* mbind nodemask */
	unsigned flags;
	uint64_t t_ns;                /* monotonic, at the call */
};
struct bankmap_fake {
	void *lock;                   /* private (pthread_mutex_t *) */
	uintptr_t base;
	uint64_t nr_pages;
	int8_t *page_node;            /* per page: node or -ENOENT (not present) */
	uint64_t node_mask;           /* nodes that exist */
	int nr_calls;                 /* may exceed the array: later calls not recorded */
	struct bankmap_fake_call calls[BANKMAP_FAKE_MAX_CALLS];
	uint64_t pages_moved;
	uint64_t per_page_delay_ns;   /* busy-wait per moved page (throughput tests) */
	/* injection: pages with index % fail_every == fail_phase fail with
	 * fail_errno for their first fail_times attempts (fail_every 0: none). */
	uint64_t fail_every, fail_phase;
	int fail_errno, fail_times;
	uint8_t *attempts;            /* private: per page */
	int call_errno;               /* != 0: every move_pages call fails with it */
	int mbind_mode;               /* last mbind */
	uint64_t mbind_mask;
	unsigned mbind_flags;
};
/* All pages start on start_node (-ENOENT: not present). ops points at it. */
int bankmap_fake_init(struct bankmap_fake *f, void *base, uint64_t nr_pages,
		      uint64_t node_mask, int start_node, struct bankmap_ops *ops);
void bankmap_fake_free(struct bankmap_fake *f);

/*
 * mbind(hva, bytes) with the plan. t (may be NULL) lets a node that does not
 * exist be refused before the call, naming the nodes that do; the kernel's
 * EINVAL is explained the same way. A kernel without MPOL_F_NUMA_BALANCING
 * (EINVAL with the flag) is bound without it and why says so.
 */
int bankmap_bind(void *hva, uint64_t bytes, const struct bankmap_plan *plan,
		 const struct bankmap_ops *ops, const struct bankmap_topo *t,
		 char *why, size_t why_len);

/* ------------------------------------------------------------ observation */

#define BANKMAP_ST_UNKNOWN   (-1)     /* not sampled yet */
#define BANKMAP_ST_ABSENT    (-2)     /* not present (never touched) or not mapped */
#define BANKMAP_ST_ERROR     (-3)     /* another per-page error */

struct bankmap_hist {
	uint64_t pages[BANKMAP_MAX_NODES]; /* by node id: pages last seen there */
	uint64_t absent, errors, unknown;  /* pages */
	uint64_t nr_pages;                 /* of the range */
	uint64_t ticks, pages_queried;     /* since init */
	bool complete;                     /* every page sampled at least once */
};

struct bankmap_sampler;
/* pid 0 = this process. max_pages 1..BANKMAP_SAMPLER_MAX_PAGES per tick. */
#define BANKMAP_SAMPLER_MAX_PAGES 65536
int bankmap_sampler_init(void *base, uint64_t bytes, unsigned max_pages, int pid,
			 struct bankmap_sampler **out);
void bankmap_sampler_free(struct bankmap_sampler *s);
/* One bounded query (one move_pages call of <= max_pages pages). Returns the
 * number of pages queried or -errno of the call (why says). */
int bankmap_sampler_tick(struct bankmap_sampler *s, const struct bankmap_ops *ops,
			 char *why, size_t why_len);
void bankmap_sampler_hist(const struct bankmap_sampler *s, struct bankmap_hist *out);
/* Per page: node id or BANKMAP_ST_*; valid until bankmap_sampler_free. */
const int8_t *bankmap_sampler_status(const struct bankmap_sampler *s, uint64_t *nr_pages);
/* Ticks for a full pass: ceil(nr_pages / max_pages). */
uint64_t bankmap_sampler_pass_ticks(const struct bankmap_sampler *s);

struct bankmap_remote {
	uint64_t local, remote, unknown;   /* written pages by where they are */
	double remote_pct;                 /* remote / (local + remote); -1 none known */
};
/* Pure. Written pages as a list of page indices (duplicates count once per
 * entry) or as a bitmap (bit i = page i, nr_pages bits); one of the two.
 * -EINVAL: an index >= nr_pages, or vcpu_node < 0. */
int bankmap_remote_share(int vcpu_node, const uint64_t *pages, size_t nr,
			 const uint64_t *bitmap, const int8_t *status, uint64_t nr_pages,
			 struct bankmap_remote *out);

/* -------------------------------------------------------------- migration */

#define BANKMAP_MIGRATE_NS_PER_PAGE 85.0   /* move_pages to node 0, this host (4 KiB) */

struct bankmap_mplan {
	int target_node;
	uint64_t *pages;              /* page indices in order; owned */
	uint64_t nr_pages;
	uint64_t nr_first;            /* the leading ones from the written set */
	uint64_t skipped_on_target, skipped_absent;
	unsigned batch_pages;
	uint64_t nr_batches;
};
/*
 * Pure. status (may be NULL: unknown, nothing skipped) is the sampler's
 * per-page view; first[] the vCPU's written pages (any order, duplicates
 * ignored). -EINVAL: target < 0 or >= BANKMAP_MAX_NODES, a page index out of
 * range, batch_pages 0; -ENOMEM.
 */
int bankmap_migrate_plan(uint64_t nr_pages, const int8_t *status, int target_node,
			 const uint64_t *first, size_t nr_first, unsigned batch_pages,
			 struct bankmap_mplan *out);
void bankmap_mplan_free(struct bankmap_mplan *p);

struct bankmap_cost {
	uint64_t cpu_ns;              /* pages x ns_per_page: the worker's own time */
	uint64_t wall_ns;             /* max(cpu_ns, bytes / quota) */
};
/* Pure. ns_per_page <= 0: BANKMAP_MIGRATE_NS_PER_PAGE; quota <= 0: none. */
void bankmap_migrate_predict(uint64_t pages, double ns_per_page, double quota_mib_s,
			     struct bankmap_cost *out);

enum bankmap_fail { BANKMAP_F_ENOMEM, BANKMAP_F_EBUSY, BANKMAP_F_ENODEV,
		    BANKMAP_F_ABSENT, BANKMAP_F_OTHER, BANKMAP_F_NR };
/* "ENOMEM" ... and one line on what it means and what happens next. */
const char *bankmap_fail_name(enum bankmap_fail f);
const char *bankmap_fail_explain(enum bankmap_fail f);
enum bankmap_fail bankmap_fail_of_errno(int err);   /* err > 0 */

struct bankmap_worker_cfg {
	const struct bankmap_ops *ops;
	int pid;                      /* 0 = this process */
	double quota_mib_s;           /* <= 0: no quota */
	unsigned max_retries;         /* rounds over the retriable failures (default 3) */
	uint64_t retry_delay_ns;      /* before each round (default 50 ms) */
	bool sandbox;                 /* the thread enters its seccomp filter (bmworker) */
};

struct bankmap_worker_stats {
	uint64_t request;             /* id of the current/last request, 0 none */
	bool busy;
	int target_node;
	uint64_t pages_total, pages_done, pages_failed;    /* this request */
	uint64_t failed[BANKMAP_F_NR];                     /* pages failed, by class (final) */
	uint64_t retried_pages, retry_rounds;
	uint64_t bytes_moved, batches, longest_batch_ns, elapsed_ns;
	uint64_t superseded;          /* requests replaced before they finished */
	int call_err;                 /* -errno that ended the request, 0 */
	char why[BANKMAP_WHY_LEN];    /* last failure, explained */
};

struct bankmap_worker;
/* Starts the thread (all signals blocked in it). */
int bankmap_worker_start(const struct bankmap_worker_cfg *cfg, struct bankmap_worker **out);
/* Copies the plan; a request still running stops after its current batch and
 * is counted superseded. base = start of the range the page indices are in.
 * Returns the request id (> 0) or -errno. */
long bankmap_worker_submit(struct bankmap_worker *w, void *base, const struct bankmap_mplan *p);
void bankmap_worker_stats(struct bankmap_worker *w, struct bankmap_worker_stats *out);
/* Until idle; 0, or -ETIMEDOUT. */
int bankmap_worker_wait(struct bankmap_worker *w, uint64_t timeout_ns);
/* Stops after the current batch, joins, frees. NULL is fine. */
void bankmap_worker_destroy(struct bankmap_worker *w);

/* ------------------------------------------------------------------ banks */

#define BANKMAP_MACHINE_PATH "/etc/avmm/machine.ini"  /* or $AVMM_MACHINE_FILE */
#define BANKMAP_MAX_BITS 16
#define BANKMAP_RANK_ACTIVE_W 2.5    /* model defaults, per rank */
#define BANKMAP_RANK_IDLE_W 0.5
#define BANKMAP_RANKS_PER_NODE 4

struct bankmap_dram_map {
	int nr_bank_bits, nr_rank_bits;
	uint64_t bank_mask[BANKMAP_MAX_BITS];  /* physical-address bits XORed into bank bit i */
	uint64_t rank_mask[BANKMAP_MAX_BITS];
};

struct bankmap_power_model {
	double rank_active_w, rank_idle_w;
	int ranks_per_node;
};

struct bankmap_machine {
	bool has_map;                 /* [dram] bank_masks given */
	struct bankmap_dram_map map;
	struct bankmap_power_model power;
	char source[128];             /* [dram] source = free text (where the masks come from) */
	char why[BANKMAP_WHY_LEN];    /* why there is no map, or what is wrong */
};

/* Pure: bank and rank of a 4 KiB frame (evaluated at its first byte). */
unsigned bankmap_bank_of(uint64_t pfn, const struct bankmap_dram_map *map);
unsigned bankmap_rank_of(uint64_t pfn, const struct bankmap_dram_map *map);

/*
 * The [dram] section of a machine file (other sections are ignored):
 *   bank_masks = 0x2040, 0x24000, ...  one per bank-index bit, bit 0 first
 *   rank_masks = 0x10000000           one per rank-index bit (optional)
 *   rank_active_w = 2.5  rank_idle_w = 0.5  ranks_per_node = 4   (model)
 *   source = text
 * Parse: name is used in messages. Unknown keys, bad numbers, more than
 * BANKMAP_MAX_BITS masks, a zero mask: -EINVAL with name:line in why.
 * Load: path NULL = $AVMM_MACHINE_FILE or BANKMAP_MACHINE_PATH; a missing
 * file or section is 0 with has_map false and why saying so.
 */
int bankmap_machine_parse(const char *text, const char *name, struct bankmap_machine *out);
int bankmap_machine_load(const char *path, struct bankmap_machine *out);
/* How to obtain a mapping: one paragraph for the CLI. */
extern const char bankmap_dram_howto[];

/* Model: ranks of the nodes in use active, the rest idle. */
double bankmap_power_model_w(const struct bankmap_power_model *m, int nr_nodes,
			     int nr_active_nodes);
/* Nodes pack would use for guest_bytes (free memory, fewest first). */
int bankmap_pack_nodes(const struct bankmap_topo *t, uint64_t guest_bytes);

/* ------------------------------------------------------------------ procfs */

/* Pure: the largest anonymous read-write mapping in a /proc/PID/maps text. */
int bankmap_maps_largest_anon(const char *maps, uint64_t *start, uint64_t *end);
/* Pure: a pagemap entry: true when present, *pfn (0 when hidden: not root). */
bool bankmap_pagemap_entry(uint64_t entry, uint64_t *pfn);
/* n entries of <fsroot>/proc/PID/pagemap from vaddr. 0 or -errno. */
int bankmap_pagemap_read(const char *fsroot, int pid, uint64_t vaddr, uint64_t n,
			 uint64_t *entries);

#endif
