/* coremap strategies: validation, pack/spread orders, explicit maps (pure). */
#include "coremap/plan_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
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

void cm_why(char *why, size_t len, const char *fmt, ...)
{
	size_t used;
	va_list ap;

	if (!why || len == 0)
		return;
	used = strnlen(why, len - 1);
	why[used] = '\0';
	va_start(ap, fmt);
	vsnprintf(why + used, len - used, fmt, ap);
	va_end(ap);
}

bool cm_same_domain(const struct coremap_topo *t, int a, int b)
{
	return coremap_topo_pu_package(t, a) == coremap_topo_pu_package(t, b) &&
	       coremap_topo_pu_numa(t, a) == coremap_topo_pu_numa(t, b);
}

bool cm_same_core(const struct coremap_topo *t, int a, int b)
{
	return coremap_topo_pu_core(t, a) == coremap_topo_pu_core(t, b);
}

static bool same_pack_domain(const struct coremap_topo *t, int a, int b)
{
	return coremap_topo_pu_package(t, a) == coremap_topo_pu_package(t, b) &&
	       coremap_topo_pu_l3(t, a) == coremap_topo_pu_l3(t, b);
}

/* Lexicographic compare of two small int tuples. */
static int tuple_cmp(const int *x, const int *y, int len)
{
	int i;

	for (i = 0; i < len; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}

#define KEY_LEN 6
/* Insertion-sort the eligible PUs by key[pu][0..KEY_LEN). */
static void sort_by_key(const struct cm_plan *p, int (*key)[KEY_LEN], int *order)
{
	int i, j, k = 0;

	for (i = 0; i < p->n; i++) {
		if (!p->eligible[i])
			continue;
		for (j = k; j > 0 && tuple_cmp(key[order[j - 1]], key[i], KEY_LEN) > 0; j--)
			order[j] = order[j - 1];
		order[j] = i;
		k++;
	}
}

/* Pack: domains (package, L3) that hold all vCPUs on distinct cores first,
 * then topology order; inside a domain one PU per core, then siblings. */
static void build_orders(struct cm_plan *p, int nr_vcpus, int (*key)[KEY_LEN])
{
	const struct coremap_topo *t = p->t;
	int i, j;

	for (i = 0; i < p->n; i++) {
		int cores = 0, k;

		/* distinct cores with an eligible PU in i's pack domain */
		for (j = 0; j < p->n; j++) {
			if (!p->eligible[j] || !same_pack_domain(t, i, j))
				continue;
			for (k = 0; k < j; k++)
				if (p->eligible[k] && cm_same_core(t, j, k))
					break;
			cores += k == j;
		}
		key[i][0] = cores >= nr_vcpus ? 0 : 1;
		key[i][1] = coremap_topo_pu_package(t, i);
		key[i][2] = coremap_topo_pu_l3(t, i);
		key[i][3] = p->smt_rank[i];
		key[i][4] = coremap_topo_pu_core(t, i);
		key[i][5] = i;
	}
	sort_by_key(p, key, p->pack_order);
	for (i = 0; i < p->n; i++)
		p->pack_pos[i] = -1;
	for (i = 0; i < p->nr_eligible; i++)
		p->pack_pos[p->pack_order[i]] = i;

	/* Spread: the r-th PU of every memory domain before any (r+1)-th. */
	for (i = 0; i < p->n; i++) {
		int rank = 0;

		for (j = 0; j < p->n; j++)
			if (p->eligible[j] && cm_same_domain(t, i, j) &&
			    (p->smt_rank[j] < p->smt_rank[i] ||
			     (p->smt_rank[j] == p->smt_rank[i] && j < i)))
				rank++;
		key[i][0] = rank;
		key[i][1] = coremap_topo_pu_package(t, i);
		key[i][2] = coremap_topo_pu_numa(t, i);
		key[i][3] = key[i][4] = 0;
		key[i][5] = i;
	}
	sort_by_key(p, key, p->spread_order);
}

/* Check the goal's CPU lists; mark eligible PUs. */
static int validate(struct cm_plan *p, const struct coremap_goal *g, char *why, size_t len)
{
	const struct coremap_topo *t = p->t;
	char range[64];
	int i;

	cm_cpu_range_text(t, range, sizeof(range));
	for (i = 0; i < p->n; i++)
		p->eligible[i] = coremap_topo_pu_online(t, i);
	for (i = 0; g && i < g->nr_reserved; i++) {
		int pu = coremap_topo_pu_by_os(t, g->reserved_cpus[i]);

		if (pu < 0) {
			cm_why(why, len, "reserved CPU %d is not in the topology (%s): fix the "
			       "profile's reserved CPU list", g->reserved_cpus[i], range);
			return -EINVAL;
		}
		p->eligible[pu] = false;
	}
	/* rank among the eligible PUs of the same core (PUs of a core are adjacent) */
	for (i = 0; i < p->n; i++) {
		p->smt_rank[i] = 0;
		if (i > 0 && cm_same_core(t, i, i - 1))
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
		out[i] = coremap_topo_pu_os_index(p->t, order[i % p->nr_eligible]);
	cm_why(why, len, "%s: %d vCPUs on %d eligible CPUs", name, nr_vcpus, p->nr_eligible);
	if (nr_vcpus > p->nr_eligible)
		cm_why(why, len, " (oversubscribed: %d vCPUs share CPUs)",
		       nr_vcpus - p->nr_eligible);
}

int coremap_plan(const struct coremap_topo *topo, enum coremap_strategy s,
		 const struct coremap_vcpu_metrics *m, int nr_vcpus,
		 const struct coremap_goal *goal, int *out_pcpu, char *why, size_t why_len)
{
	struct cm_plan p = { .t = topo };
	int (*key)[KEY_LEN] = NULL;
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
	p.eligible = calloc((size_t)p.n, sizeof(*p.eligible));
	p.smt_rank = calloc((size_t)p.n, sizeof(int));
	p.pack_pos = calloc((size_t)p.n, sizeof(int));
	p.pack_order = calloc((size_t)p.n, sizeof(int));
	p.spread_order = calloc((size_t)p.n, sizeof(int));
	key = calloc((size_t)p.n, sizeof(*key));
	rc = -ENOMEM;
	if (!p.eligible || !p.smt_rank || !p.pack_pos || !p.pack_order || !p.spread_order || !key)
		goto out;
	rc = validate(&p, goal, why, why_len);
	if (rc < 0)
		goto out;
	build_orders(&p, nr_vcpus, key);
	switch (s) {
	case COREMAP_PACK:
		plan_order(&p, p.pack_order, "pack", nr_vcpus, out_pcpu, why, why_len);
		break;
	case COREMAP_SPREAD:
		plan_order(&p, p.spread_order, "spread", nr_vcpus, out_pcpu, why, why_len);
		break;
	case COREMAP_EXPLICIT:
		rc = cm_plan_explicit(&p, nr_vcpus, goal, out_pcpu, why, why_len);
		break;
	case COREMAP_ADAPTIVE:
		rc = cm_plan_adaptive(&p, m, nr_vcpus, goal, out_pcpu, why, why_len);
		break;
	default:
		cm_why(why, why_len, "unknown strategy %d (pack, spread, explicit, adaptive)",
		       (int)s);
		rc = -EINVAL;
	}
out:
	free(key);
	free(p.spread_order);
	free(p.pack_order);
	free(p.pack_pos);
	free(p.smt_rank);
	free(p.eligible);
	return rc;
}
