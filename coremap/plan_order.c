/* coremap: the pack and spread orders of one plan's eligible PUs, by
 * stable counting sorts of the topology's base orders (O(PUs), no
 * allocation: the caller passes the working memory). */
#include "coremap/plan_int.h"

#include <string.h>

/* Stable counting sort of in[0..k) by key[in[j]] in [0, range) into out
 * (cnt: [range + 1]). */
static void counting_sort(const int *in, int k, const int *key, int range, int *cnt, int *out)
{
	int j, r;

	memset(cnt, 0, sizeof(int) * (size_t)(range + 1));
	for (j = 0; j < k; j++)
		cnt[key[in[j]] + 1]++;
	for (r = 0; r < range; r++)
		cnt[r + 1] += cnt[r];
	for (j = 0; j < k; j++)
		out[cnt[key[in[j]]]++] = in[j];
}

/* Pack: domains (package, L3) that hold all vCPUs on distinct cores first,
 * then topology order; inside a domain one PU per core, then siblings:
 * eligible PUs by (fits, package, L3, SMT rank, core, index), as two stable
 * counting sorts of the (core, index) order. a, b: [n]; cnt: [2n + 1]. */
void cm_build_pack(struct cm_plan *p, int nr_vcpus, int *a, int *b, int *cnt)
{
	const struct cm_pre *pre = p->pre;
	int i, k = 0, levels = 0;

	/* distinct cores with an eligible PU, per pack domain: count each
	 * core at its first eligible PU (core_seen in cnt[nr_pdom..]) */
	memset(cnt, 0, sizeof(int) * (size_t)(p->nr_pdom + p->nr_core_ids));
	for (i = 0; i < p->n; i++) {
		if (!p->eligible[i] || cnt[p->nr_pdom + p->core_id[i]])
			continue;
		cnt[p->nr_pdom + p->core_id[i]] = 1;
		cnt[p->pdom[i]]++;
	}
	/* the sort key, (fits, package x L3 rank), in pack_pos for now */
	for (i = 0; i < p->n; i++)
		p->pack_pos[i] = (cnt[p->pdom[i]] >= nr_vcpus ? 0 : pre->nr_pl) + pre->pl_rank[i];
	for (i = 0; i < p->n; i++) {
		int pu = pre->by_core[i];

		if (p->eligible[pu])
			a[k++] = pu;
		levels = p->smt_rank[i] + 1 > levels ? p->smt_rank[i] + 1 : levels;
	}
	counting_sort(a, k, p->smt_rank, levels, cnt, b);
	counting_sort(b, k, p->pack_pos, 2 * pre->nr_pl, cnt, p->pack_order);
	for (i = 0; i < p->n; i++)
		p->pack_pos[i] = -1;
	for (i = 0; i < p->nr_eligible; i++)
		p->pack_pos[p->pack_order[i]] = i;
}

/* Spread: the r-th PU of every memory domain before any (r+1)-th; rank =
 * eligible PUs of the same domain before it in (smt_rank, index) order;
 * eligible PUs by (rank, package, NUMA node, index). slot, a: [n]; cnt:
 * [n + 1]. */
void cm_build_spread(struct cm_plan *p, int *slot, int *a, int *cnt)
{
	const struct cm_pre *pre = p->pre;
	int d, i, r, k = 0, levels = 0;

	for (i = 0; i < p->n; i++)
		levels = p->smt_rank[i] + 1 > levels ? p->smt_rank[i] + 1 : levels;
	for (d = 0; d < p->nr_mdom; d++) {
		const int *mem = pre->mdom_pu + pre->mdom_start[d];
		int nm = pre->mdom_start[d + 1] - pre->mdom_start[d], sum = 0;

		/* cnt[r]: eligible PUs of the domain with smt_rank r, then the
		 * exclusive prefix; walking in index order, each PU takes the
		 * next slot of its level */
		memset(cnt, 0, sizeof(int) * (size_t)levels);
		for (i = 0; i < nm; i++)
			cnt[p->smt_rank[mem[i]]] += p->eligible[mem[i]];
		for (r = 0; r < levels; r++) {
			int c = cnt[r];

			cnt[r] = sum;
			sum += c;
		}
		for (i = 0; i < nm; i++) {
			int *s = &cnt[p->smt_rank[mem[i]]];

			slot[mem[i]] = *s;
			*s += p->eligible[mem[i]];
		}
	}
	for (i = 0; i < p->n; i++) {
		int pu = pre->by_pkg_numa[i];

		if (p->eligible[pu])
			a[k++] = pu;
	}
	counting_sort(a, k, slot, p->n, cnt, p->spread_order);
}
