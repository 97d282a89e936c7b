/* adapt: the bankmap proposal (pure): migrate guest RAM to the node the
 * vCPUs run on. Two triggers, checked in this order:
 *   1. the coremap's current placement (the loop's state) put the pinned
 *      vCPUs on a node that holds less of guest RAM than another node;
 *   2. a vCPU's remote share (the sample's, from its written pages or all
 *      resident pages) is at least migrate_min_remote_pct: the vCPU with the
 *      highest share gives the target, its node.
 * "Stays above" is the loop's confirm_ticks/confirm_ms. Prediction: a remote
 * access costs d(remote)/d(local) local ones (the SLIT distances, 10 local,
 * 20-21 one hop), so making a share r of a memory-bound vCPU's accesses
 * local saves r x (1 - d_local/d_remote) of its time: that is perf_pct (an
 * upper bound). Without distances BM_DEFAULT_PENALTY is used. */
#include "adapt/adapt_int.h"
#include "bankmap/bankmap.h"

#include <stdio.h>
#include <string.h>

#define BM_DEFAULT_PENALTY 0.5   /* 1 - 10/20: one hop on a 2-socket machine */

int adapt_bm_cpu_node(const struct adapt_env *env, int cpu)
{
	const struct bankmap_topo *t = env->bm_topo;

	if (!t || cpu < 0 || cpu >= t->nr_cpus || cpu >= BANKMAP_MAX_CPUS)
		return -1;
	return t->cpu_node[cpu];
}

int adapt_bm_mem_node(const struct tel_sample *s, uint64_t *pages)
{
	const struct tel_bankmap_sample *b = &s->bankmap;
	uint64_t best = 0;
	int node = -1;

	for (int i = 0; b->valid && i < b->nr_nodes && i < TEL_MAX_NODES; i++) {
		if (b->node_bytes[i] > best) {
			best = b->node_bytes[i];
			node = b->node[i];
		}
	}
	if (pages)
		*pages = best / BANKMAP_PAGE_SIZE;
	return node;
}

uint64_t adapt_bm_cost_ns(const struct pol_profile *g, uint64_t pages)
{
	struct bankmap_cost c;

	bankmap_migrate_predict(pages, g->bankmap.migrate_ns_per_page,
				g->bankmap.migrate_quota_mib_per_s, &c);
	return c.cpu_ns;
}

bool adapt_bm_follows(const struct pol_profile *g)
{
	return g->enabled[POL_AD_BANKMAP] &&
	       (g->bankmap.policy == POL_BM_ADAPTIVE || g->bankmap.policy == POL_BM_LOCAL);
}

/* 1 - d(a,a)/d(a,b); BM_DEFAULT_PENALTY when the table does not say. */
static double penalty(const struct bankmap_topo *t, int a, int b)
{
	int ia = bankmap_topo_index(t, a), ib = bankmap_topo_index(t, b);
	double dl, dr;

	if (ia < 0 || ib < 0)
		return BM_DEFAULT_PENALTY;
	dl = t->distance[ia][ia];
	dr = t->distance[ia][ib];
	return dl > 0 && dr > dl ? 1 - dl / dr : BM_DEFAULT_PENALTY;
}

/* Trigger 1: the node most pinned vCPUs are on, when memory is elsewhere. */
static int coremap_node(const struct adapt_env *env, const struct adapt_state *st, int *nr_on)
{
	const struct adapt_change *c = &st->cur[ADAPT_COREMAP];
	int count[BANKMAP_MAX_NODES] = { 0 }, best = -1;

	if (!st->have_cur[ADAPT_COREMAP])
		return -1;
	for (int i = 0; i < c->u.coremap.nr && i < ADAPT_MAX_VCPUS; i++) {
		int n = adapt_bm_cpu_node(env, c->u.coremap.pcpu[i]);

		if (n >= 0 && n < BANKMAP_MAX_NODES && ++count[n] > (best >= 0 ? count[best] : 0))
			best = n;
	}
	*nr_on = best >= 0 ? count[best] : 0;
	return best;
}

static uint64_t bytes_on(const struct tel_bankmap_sample *b, int node)
{
	for (int i = 0; i < b->nr_nodes && i < TEL_MAX_NODES; i++)
		if (b->node[i] == node)
			return b->node_bytes[i];
	return 0;
}

int adapt_propose_bankmap(const struct pol_profile *g, const struct adapt_env *env,
			  const struct adapt_state *st, const struct tel_sample *s,
			  void *arg, struct adapt_proposal *out)
{
	const struct tel_bankmap_sample *b = &s->bankmap;
	uint64_t total = 0, move_pages, mem_pages;
	int target = -1, vcpu = -1, nr_on = 0, mem_node;
	double share = 0;
	char reason[112];

	out->valid = false;
	if (!env->bm_topo || !b->valid || !adapt_bm_follows(g))
		return 0;
	mem_node = adapt_bm_mem_node(s, &mem_pages);
	for (int i = 0; i < b->nr_nodes && i < TEL_MAX_NODES; i++)
		total += b->node_bytes[i];
	if (mem_node < 0 || !total)
		return 0;
	target = coremap_node(env, st, &nr_on);
	if (target >= 0 && target != mem_node && bytes_on(b, target) < bytes_on(b, mem_node)) {
		share = 100.0 * (double)(total - bytes_on(b, target)) / (double)total;
		snprintf(reason, sizeof(reason), "the coremap put %d vCPU(s) on node %d, %.0f%% of "
			 "guest RAM is elsewhere (mostly node %d)", nr_on, target, share, mem_node);
	} else {
		target = -1;
		for (int i = 0; i < b->nr_vcpus && i < s->nr_vcpus && i < TEL_MAX_VCPUS; i++) {
			const struct tel_bankmap_vcpu *v = &b->vcpu[i];

			if (v->valid && v->node >= 0 && v->remote_pct >= g->bankmap.migrate_min_remote_pct &&
			    v->remote_pct > share) {
				share = v->remote_pct;
				target = v->node;
				vcpu = i;
			}
		}
		if (target < 0)
			return 0;
		snprintf(reason, sizeof(reason), "vcpu%d on node %d: %.0f%% of its pages remote "
			 "(>= migrate_min_remote_pct %.0f)", vcpu, target, share,
			 g->bankmap.migrate_min_remote_pct);
	}
	move_pages = (total - bytes_on(b, target)) / BANKMAP_PAGE_SIZE;
	if (!move_pages)
		return 0;
	out->change.u.bankmap.policy = (int)g->bankmap.policy;
	out->change.u.bankmap.node = target;
	out->perf_pct = share * penalty(env->bm_topo, target, mem_node);
	out->cost_ns = adapt_bm_cost_ns(g, move_pages);
	snprintf(out->what, sizeof(out->what), "migrate guest RAM to node %d (%llu pages, %.1f MiB)",
		 target, (unsigned long long)move_pages,
		 (double)move_pages * BANKMAP_PAGE_SIZE / (1024.0 * 1024.0));
	snprintf(out->why, sizeof(out->why), "%s; predicted migration %.2f ms of worker time",
		 reason, (double)out->cost_ns / 1e6);
	out->valid = true;
	return 0;
}
