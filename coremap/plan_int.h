/* coremap internal: the flattened topology, what depends on it alone
 * (computed once at load, plan_pre.c) and what plan.c prepares for every
 * strategy (not public). */
#ifndef AVMM_COREMAP_PLAN_INT_H
#define AVMM_COREMAP_PLAN_INT_H

#include "coremap/coremap.h"

/* One PU of a loaded topology (topo.c fills these once, at load). */
struct coremap_pu {
	int os_index, package, numa, core, l3;
	bool online;
};

/* An hwloc XML topology held in memory: xml[len] must be NUL (topo.c; the
 * fuzzer's entry). Errors as coremap_topo_load. */
int cm_topo_load_xml(const char *xml, size_t len, struct coremap_topo **out);

/* The topology's PU records, [coremap_topo_nr_pus(t)], logical order. */
const struct coremap_pu *cm_topo_pus(const struct coremap_topo *t);

/* Up to this many PUs (vCPUs) a plan keeps its working memory on the
 * stack; larger topologies (calls) take one heap block. */
#define CM_STACK_PUS 256
#define CM_STACK_VCPUS 256
#define CM_CELL 8

/* What depends only on the topology (not on online state, reservations or
 * metrics): built by cm_pre_build when the topology is loaded. */
struct cm_pre {
	/* dense group ids per PU in order of first appearance: core, pack
	 * domain (package x L3), memory domain (package x NUMA node) */
	int *core_id, *pdom, *mdom;
	int nr_core_ids, nr_pdom, nr_mdom;
	/* members of each group in index order (CSR: start [nr + 1], pu [n]) */
	int *core_start, *core_pu, *pdom_start, *pdom_pu, *mdom_start, *mdom_pu;
	int *pl_rank;     /* [n] rank of (package, L3) in lexicographic order */
	int nr_pl;
	int *by_core;     /* [n] PUs by (core, index) */
	int *by_pkg_numa; /* [n] PUs by (package, NUMA node, index) */
	int *by_os;       /* [os_max + 1] OS index -> logical, -1 none; NULL: search */
	int os_max;
	/* cells: runs of at most CM_CELL adjacent PUs of one pack domain and
	 * one memory domain (start [nr_cells + 1], their domains, and each
	 * PU's cell) */
	int *cell_start, *cell_pdom, *cell_mdom, *cell_of;
	int nr_cells;
	void *block;      /* the one allocation behind the arrays */
};

/* Fill pre from the n PU records (plan_pre.c); 0 or -ENOMEM. */
int cm_pre_build(const struct coremap_pu *pu, int n, struct cm_pre *pre);
void cm_pre_free(struct cm_pre *pre);
const struct cm_pre *cm_topo_pre(const struct coremap_topo *t);

struct cm_plan {
	const struct coremap_topo *t;
	const struct coremap_pu *pu; /* [n] */
	const struct cm_pre *pre;
	int n;              /* PUs in the topology */
	bool *eligible;     /* [n] online and not reserved */
	int *smt_rank;      /* [n] position of the PU inside its core */
	int *pack_pos;      /* [n] position in pack order, -1 not eligible */
	int *pack_order;    /* eligible PUs, pack order */
	int *spread_order;  /* eligible PUs, spread order (SPREAD only) */
	int nr_eligible;
	/* the topology's dense group ids (pre's) */
	const int *core_id, *pdom, *mdom;
	int nr_core_ids, nr_pdom, nr_mdom;
};

/* The pack / spread order of the eligible PUs into p->pack_order (and
 * p->pack_pos) / p->spread_order (plan_order.c). Working memory: a, b,
 * slot: [n]; cnt: [2n + 1]. */
void cm_build_pack(struct cm_plan *p, int nr_vcpus, int *a, int *b, int *cnt);
void cm_build_spread(struct cm_plan *p, int *slot, int *a, int *cnt);

/* Same memory domain (package x NUMA node) / same core. */
bool cm_same_domain(const struct coremap_topo *t, int a, int b);
bool cm_same_core(const struct coremap_topo *t, int a, int b);
/* Append printf text to why (never overflows; keeps it NUL-terminated;
 * plan_text.c). */
void cm_why(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Appending to a why buffer without printf: the same text cm_why would
 * give for "%s", "%d" and "%.0f", cut at the buffer's end. used: the
 * text's length so far. */
struct cm_text {
	char *s;
	size_t len, used;
};
void cm_text_init(struct cm_text *t, char *s, size_t len);
static inline bool cm_text_full(const struct cm_text *t)
{
	return !t->s || t->len == 0 || t->used >= t->len - 1;
}
void cm_text_str(struct cm_text *t, const char *x);
void cm_text_int(struct cm_text *t, long long v);
void cm_text_f0(struct cm_text *t, double x); /* like "%.0f" */

/* "this topology has N CPUs, LO-HI" */
void cm_cpu_range_text(const struct coremap_topo *t, char *buf, size_t len);
int cm_plan_explicit(const struct cm_plan *p, int nr_vcpus, const struct coremap_goal *g,
		     int *out, char *why, size_t len);
int cm_plan_adaptive(const struct cm_plan *p, const struct coremap_vcpu_metrics *m,
		     int nr_vcpus, const struct coremap_goal *goal, int *out_pcpu,
		     char *why, size_t why_len);

#endif
