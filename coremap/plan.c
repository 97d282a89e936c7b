/* coremap strategies: names, validation of the goal's CPU lists, and
 * coremap_plan (working memory on the stack up to CM_STACK_PUS PUs; the
 * orders in plan_order.c, the strategies in explicit.c and adaptive.c). */
#include "coremap/plan_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const strategy_names[] = {
	[COREMAP_PACK] = "pack", [COREMAP_SPREAD] = "spread",
	[COREMAP_EXPLICIT] = "explicit", [COREMAP_ADAPTIVE] = "adaptive",
};

const char *coremap_strategy_name(enum coremap_strategy s)
{
	if ((unsigned)s >= sizeof(strategy_names) / sizeof(strategy_names[0]))
		return "?";
	return strategy_names[s];
}

int coremap_strategy_parse(const char *name, enum coremap_strategy *out)
{
	unsigned i;

	for (i = 0; name && i < sizeof(strategy_names) / sizeof(strategy_names[0]); i++)
		if (strcmp(name, strategy_names[i]) == 0) {
			*out = (enum coremap_strategy)i;
			return 0;
		}
	return -EINVAL;
}

bool cm_same_domain(const struct coremap_topo *t, int a, int b)
{
	const struct coremap_pu *pu = cm_topo_pus(t);

	return pu[a].package == pu[b].package && pu[a].numa == pu[b].numa;
}

bool cm_same_core(const struct coremap_topo *t, int a, int b)
{
	const struct coremap_pu *pu = cm_topo_pus(t);

	return pu[a].core == pu[b].core;
}

/* Check the goal's CPU lists; mark eligible PUs. */
static int validate(struct cm_plan *p, const struct coremap_goal *g, char *why, size_t len)
{
	const struct coremap_topo *t = p->t;
	char range[64];
	int i;

	for (i = 0; i < p->n; i++)
		p->eligible[i] = p->pu[i].online;
	for (i = 0; g && i < g->nr_reserved; i++) {
		int pu = coremap_topo_pu_by_os(t, g->reserved_cpus[i]);

		if (pu < 0) {
			cm_cpu_range_text(t, range, sizeof(range));
			cm_why(why, len, "reserved CPU %d is not in the topology (%s): fix the "
			       "profile's reserved CPU list", g->reserved_cpus[i], range);
			return -EINVAL;
		}
		p->eligible[pu] = false;
	}
	/* rank among the eligible PUs of the same core (PUs of a core are adjacent) */
	for (i = 0; i < p->n; i++) {
		p->smt_rank[i] = 0;
		if (i > 0 && p->pu[i].core == p->pu[i - 1].core)
			p->smt_rank[i] = p->smt_rank[i - 1] + p->eligible[i - 1];
		p->nr_eligible += p->eligible[i];
	}
	if (p->nr_eligible == 0) {
		cm_why(why, len, "no CPU left to run vCPUs on: all %d CPUs are offline or "
		       "reserved for housekeeping", p->n);
		return -EINVAL;
	}
	return 0;
}

static void plan_order(const struct cm_plan *p, const int *order, const char *name,
		       int nr_vcpus, int *out, char *why, size_t len)
{
	int i;

	for (i = 0; i < nr_vcpus; i++)
		out[i] = p->pu[order[i % p->nr_eligible]].os_index;
	cm_why(why, len, "%s: %d vCPUs on %d eligible CPUs", name, nr_vcpus, p->nr_eligible);
	if (nr_vcpus > p->nr_eligible)
		cm_why(why, len, " (oversubscribed: %d vCPUs share CPUs)",
		       nr_vcpus - p->nr_eligible);
}

/* Working memory of one plan: 7 int arrays of n and a count array of
 * 2n + 1; on the stack up to CM_STACK_PUS PUs. */
#define PLAN_INTS(n) (7 * (size_t)(n) + 1)
struct plan_stack {
	int ints[PLAN_INTS(CM_STACK_PUS)];
	bool eligible[CM_STACK_PUS];
};

int coremap_plan(const struct coremap_topo *topo, enum coremap_strategy s,
		 const struct coremap_vcpu_metrics *m, int nr_vcpus,
		 const struct coremap_goal *goal, int *out_pcpu, char *why, size_t why_len)
{
	struct cm_plan p = { .t = topo };
	struct plan_stack stk;
	int *ints = stk.ints, *a, *b, *cnt;
	void *heap = NULL;
	size_t n;
	int rc = -EINVAL;

	if (why && why_len)
		why[0] = '\0';
	if (!topo || !out_pcpu || nr_vcpus <= 0) {
		cm_why(why, why_len, "coremap_plan: need a topology, an output array and "
		       "nr_vcpus >= 1 (got %d)", nr_vcpus);
		return -EINVAL;
	}
	if (s == COREMAP_ADAPTIVE && (!m || !goal)) {
		cm_why(why, why_len, "adaptive mapping needs per-vCPU metrics and a goal");
		return -EINVAL;
	}
	p.n = coremap_topo_nr_pus(topo);
	p.pu = cm_topo_pus(topo);
	p.pre = cm_topo_pre(topo);
	p.core_id = p.pre->core_id;
	p.pdom = p.pre->pdom;
	p.mdom = p.pre->mdom;
	p.nr_core_ids = p.pre->nr_core_ids;
	p.nr_pdom = p.pre->nr_pdom;
	p.nr_mdom = p.pre->nr_mdom;
	n = (size_t)p.n;
	p.eligible = stk.eligible;
	if (n > CM_STACK_PUS) {
		heap = malloc(sizeof(int) * PLAN_INTS(n) + sizeof(bool) * n);
		if (!heap) {
			cm_why(why, why_len, "coremap_plan: out of memory for %zu CPUs", n);
			return -ENOMEM;
		}
		ints = heap;
		p.eligible = (bool *)(void *)(ints + PLAN_INTS(n));
	}
	p.smt_rank = ints;
	p.pack_pos = ints + n;
	p.pack_order = ints + 2 * n;
	p.spread_order = ints + 3 * n;
	a = ints + 4 * n;
	b = ints + 5 * n;
	cnt = ints + 6 * n; /* 2n + 1, overlapping nothing after it */
	rc = validate(&p, goal, why, why_len);
	if (rc < 0)
		goto out;
	if ((unsigned)s > COREMAP_ADAPTIVE) {
		cm_why(why, why_len, "unknown strategy %d (pack, spread, explicit, adaptive)",
		       (int)s);
		rc = -EINVAL;
		goto out;
	}
	if (s == COREMAP_EXPLICIT) {
		rc = cm_plan_explicit(&p, nr_vcpus, goal, out_pcpu, why, why_len);
		goto out;
	}
	if (s == COREMAP_SPREAD) {
		cm_build_spread(&p, a, b, cnt);
		plan_order(&p, p.spread_order, "spread", nr_vcpus, out_pcpu, why, why_len);
		rc = 0;
		goto out;
	}
	cm_build_pack(&p, nr_vcpus, a, b, cnt);
	if (s == COREMAP_PACK) {
		plan_order(&p, p.pack_order, "pack", nr_vcpus, out_pcpu, why, why_len);
		rc = 0;
	} else {
		rc = cm_plan_adaptive(&p, m, nr_vcpus, goal, out_pcpu, why, why_len);
	}
out:
	free(heap);
	return rc;
}
