/* coremap internal: the flattened topology and what plan.c prepares for
 * every strategy (not public). */
#ifndef AVMM_COREMAP_PLAN_INT_H
#define AVMM_COREMAP_PLAN_INT_H

#include "coremap/coremap.h"

/* One PU of a loaded topology (topo.c fills these once, at load). */
struct coremap_pu {
	int os_index, package, numa, core, l3;
	bool online;
};

/* The topology's PU records, [coremap_topo_nr_pus(t)], logical order. */
const struct coremap_pu *cm_topo_pus(const struct coremap_topo *t);

struct cm_plan {
	const struct coremap_topo *t;
	const struct coremap_pu *pu; /* [n] */
	int n;              /* PUs in the topology */
	bool *eligible;     /* [n] online and not reserved */
	int *smt_rank;      /* [n] position of the PU inside its core */
	int *pack_pos;      /* [n] position in pack order, -1 not eligible */
	int *pack_order;    /* eligible PUs, pack order */
	int *spread_order;  /* eligible PUs, spread order (SPREAD only) */
	int nr_eligible;
	/* dense group ids per PU: core, pack domain (package x L3), memory
	 * domain (package x NUMA node) */
	int *core_id, *pdom, *mdom;
	int nr_core_ids, nr_pdom, nr_mdom;
};

/* Same memory domain (package x NUMA node) / same core. */
bool cm_same_domain(const struct coremap_topo *t, int a, int b);
bool cm_same_core(const struct coremap_topo *t, int a, int b);
/* Append printf text to why (never overflows; keeps it NUL-terminated). */
void cm_why(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* "this topology has N CPUs, LO-HI" */
void cm_cpu_range_text(const struct coremap_topo *t, char *buf, size_t len);
int cm_plan_explicit(const struct cm_plan *p, int nr_vcpus, const struct coremap_goal *g,
		     int *out, char *why, size_t len);
int cm_plan_adaptive(const struct cm_plan *p, const struct coremap_vcpu_metrics *m,
		     int nr_vcpus, const struct coremap_goal *goal, int *out_pcpu,
		     char *why, size_t why_len);

#endif
