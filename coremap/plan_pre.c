/* coremap: what depends on the topology alone, computed once when it is
 * loaded (struct cm_pre): dense group ids, CSR members, pack/spread base
 * orders, (package, L3) ranks, cells and an OS-index table. */
#include "coremap/plan_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Dense ids for the PUs' (a, b) pairs in order of first appearance (a, b:
 * [n]; first: [n] scratch). Returns the number of groups. */
static int group_ids(int n, const int *a, const int *b, int *id, int *first)
{
	int i, g, nr = 0;

	for (i = 0; i < n; i++) {
		if (i > 0 && a[i] == a[i - 1] && b[i] == b[i - 1]) { /* the usual case */
			id[i] = id[i - 1];
			continue;
		}
		for (g = nr - 1; g >= 0; g--)
			if (a[first[g]] == a[i] && b[first[g]] == b[i])
				break;
		if (g < 0) {
			g = nr++;
			first[g] = i;
		}
		id[i] = g;
	}
	return nr;
}

/* Members of each group in index order (CSR). */
static void group_members(const int *id, int nr, int n, int *start, int *members)
{
	int i;

	memset(start, 0, sizeof(int) * (size_t)(nr + 1));
	for (i = 0; i < n; i++)
		start[id[i] + 1]++;
	for (i = 0; i < nr; i++)
		start[i + 1] += start[i];
	for (i = 0; i < n; i++) /* start[g] runs ahead while filling ... */
		members[start[id[i]]++] = i;
	for (i = nr; i > 0; i--) /* ... and is put back */
		start[i] = start[i - 1];
	start[0] = 0;
}

static int cmp_pair(int a1, int b1, int i1, int a2, int b2, int i2)
{
	if (a1 != a2)
		return a1 < a2 ? -1 : 1;
	if (b1 != b2)
		return b1 < b2 ? -1 : 1;
	return i1 < i2 ? -1 : i1 > i2;
}

/* order = the PUs by (a, b, index) (bottom-up merge sort; tmp: [n]). */
static void sort_by_pair(int n, const int *a, const int *b, int *order, int *tmp)
{
	int w, lo, i, j, k, *x = order, *y = tmp, *sw;

	for (i = 0; i < n; i++)
		order[i] = i;
	for (w = 1; w < n; w *= 2) {
		for (lo = 0; lo < n; lo += 2 * w) {
			int mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;

			for (i = lo, j = mid, k = lo; k < hi; k++)
				y[k] = j >= hi || (i < mid && cmp_pair(a[x[i]], b[x[i]], x[i], a[x[j]],
								       b[x[j]], x[j]) <= 0) ?
				       x[i++] : x[j++];
		}
		sw = x;
		x = y;
		y = sw;
	}
	if (x != order)
		memcpy(order, x, sizeof(int) * (size_t)n);
}

int cm_pre_build(const struct coremap_pu *pu, int n, struct cm_pre *pre)
{
	int *ints, *a, *b, *tmp, i, os_max = -1;
	size_t nn = (size_t)n, by_os_len;

	memset(pre, 0, sizeof(*pre));
	for (i = 0; i < n; i++)
		os_max = pu[i].os_index > os_max ? pu[i].os_index : os_max;
	/* a table from OS index to PU unless the numbering is very sparse */
	by_os_len = os_max >= 0 && (size_t)os_max < 16 * nn + 1024 ? (size_t)os_max + 1 : 0;
	/* 3 ids, 3 CSR (n + nr + 1 each, nr <= n), pl_rank, 2 orders, 4 cell
	 * arrays (cells <= n), 3n of load-time scratch, by_os */
	ints = calloc(nn * 19 + 4 + by_os_len, sizeof(int));
	if (!ints)
		return -ENOMEM;
	pre->block = ints;
	pre->core_id = ints;
	pre->pdom = ints + nn;
	pre->mdom = ints + 2 * nn;
	pre->core_pu = ints + 3 * nn;
	pre->pdom_pu = ints + 4 * nn;
	pre->mdom_pu = ints + 5 * nn;
	pre->pl_rank = ints + 6 * nn;
	pre->by_core = ints + 7 * nn;
	pre->by_pkg_numa = ints + 8 * nn;
	pre->cell_pdom = ints + 9 * nn;
	pre->cell_mdom = ints + 10 * nn;
	pre->cell_of = ints + 11 * nn;
	pre->core_start = ints + 12 * nn;     /* n + 1 each */
	pre->pdom_start = ints + 13 * nn + 1;
	pre->mdom_start = ints + 14 * nn + 2;
	pre->cell_start = ints + 15 * nn + 3;
	a = ints + 16 * nn + 4;
	b = a + nn;
	tmp = b + nn;
	pre->by_os = by_os_len ? tmp + nn : NULL;
	pre->os_max = os_max;
	for (i = 0; i < n; i++) {
		a[i] = pu[i].package;
		b[i] = pu[i].core;
	}
	for (i = 0; i < n; i++)
		tmp[i] = 0;
	pre->nr_core_ids = group_ids(n, b, tmp, pre->core_id, pre->core_pu);
	for (i = 0; i < n; i++)
		b[i] = pu[i].l3;
	pre->nr_pdom = group_ids(n, a, b, pre->pdom, pre->core_pu);
	for (i = 0; i < n; i++)
		b[i] = pu[i].numa;
	pre->nr_mdom = group_ids(n, a, b, pre->mdom, pre->core_pu);
	group_members(pre->core_id, pre->nr_core_ids, n, pre->core_start, pre->core_pu);
	group_members(pre->pdom, pre->nr_pdom, n, pre->pdom_start, pre->pdom_pu);
	group_members(pre->mdom, pre->nr_mdom, n, pre->mdom_start, pre->mdom_pu);
	/* (package, NUMA node, index) */
	sort_by_pair(n, a, b, pre->by_pkg_numa, tmp);
	/* (core, index) */
	for (i = 0; i < n; i++)
		b[i] = pu[i].core;
	sort_by_pair(n, b, b, pre->by_core, tmp);
	/* rank of (package, L3): walk the PUs in that order */
	for (i = 0; i < n; i++)
		b[i] = pu[i].l3;
	sort_by_pair(n, a, b, tmp, pre->pl_rank); /* pl_rank: scratch until filled */
	pre->nr_pl = 0;
	for (i = 0; i < n; i++) {
		int x = tmp[i], y = i ? tmp[i - 1] : -1;

		if (i && pu[x].package == pu[y].package && pu[x].l3 == pu[y].l3)
			pre->pl_rank[x] = pre->pl_rank[y];
		else
			pre->pl_rank[x] = pre->nr_pl++;
	}
	/* cells */
	for (i = 0, pre->nr_cells = 0; i < n; i++) {
		int c = pre->nr_cells, first = i ? pre->cell_start[c - 1] : 0;

		if (!i || pre->pdom[i] != pre->cell_pdom[c - 1] ||
		    pre->mdom[i] != pre->cell_mdom[c - 1] || i - first >= CM_CELL) {
			pre->cell_start[c] = i;
			pre->cell_pdom[c] = pre->pdom[i];
			pre->cell_mdom[c] = pre->mdom[i];
			pre->nr_cells = ++c;
		}
		pre->cell_of[i] = pre->nr_cells - 1;
	}
	pre->cell_start[pre->nr_cells] = n;
	for (i = 0; i < (int)by_os_len; i++)
		pre->by_os[i] = -1;
	for (i = n - 1; i >= 0 && by_os_len; i--) /* the first PU wins */
		if (pu[i].os_index >= 0)
			pre->by_os[pu[i].os_index] = i;
	return 0;
}

void cm_pre_free(struct cm_pre *pre)
{
	free(pre->block);
	memset(pre, 0, sizeof(*pre));
}
