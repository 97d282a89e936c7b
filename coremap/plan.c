/* coremap strategies: what depends on the topology alone (once, at load),
 * validation, pack/spread orders (O(PUs) per plan, no allocation up to
 * CM_STACK_PUS PUs), why text without printf (pure). */
#include "coremap/plan_int.h"

#include <errno.h>
#include <math.h>
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
	if (used == len - 1)
		return; /* full: formatting more would only cost time */
	va_start(ap, fmt);
	vsnprintf(why + used, len - used, fmt, ap);
	va_end(ap);
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

/* ---- text without printf ------------------------------------------------ */

void cm_text_init(struct cm_text *t, char *s, size_t len)
{
	t->s = s;
	t->len = len;
	t->used = s && len ? strnlen(s, len - 1) : 0;
	if (s && len)
		s[t->used] = '\0';
}

void cm_text_str(struct cm_text *t, const char *x)
{
	size_t room, k;

	if (cm_text_full(t))
		return;
	room = t->len - 1 - t->used;
	for (k = 0; k < room && x[k]; k++)
		t->s[t->used + k] = x[k];
	t->used += k;
	t->s[t->used] = '\0';
}

void cm_text_int(struct cm_text *t, long long v)
{
	char buf[24], *e = buf + sizeof(buf) - 1, *b = e;
	unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;

	*e = '\0';
	do {
		*--b = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--b = '-';
	cm_text_str(t, b);
}

/* "%.0f": round to nearest in the current mode, as printf does; values
 * beyond exact integers (and NaN, infinities) go through printf. */
void cm_text_f0(struct cm_text *t, double x)
{
	char buf[48];
	double r;

	if (cm_text_full(t))
		return;
	if (!(fabs(x) < 1e15)) {
		snprintf(buf, sizeof(buf), "%.0f", x);
		cm_text_str(t, buf);
		return;
	}
	r = nearbyint(x);
	if (signbit(r))
		cm_text_str(t, "-");
	cm_text_int(t, (long long)fabs(r));
}

/* ---- what depends on the topology alone (at load) ----------------------- */

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
	/* the longest run of adjacent PUs of one core bounds the SMT ranks */
	for (i = 0, pre->max_run = 0; i < n; i++) {
		int r = 1;

		while (i + 1 < n && pu[i + 1].core == pu[i].core) {
			i++;
			r++;
		}
		pre->max_run = r > pre->max_run ? r : pre->max_run;
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

/* ---- per plan ------------------------------------------------------------ */

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
static void build_pack(struct cm_plan *p, int nr_vcpus, int *a, int *b, int *cnt)
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
static void build_spread(struct cm_plan *p, int *slot, int *a, int *cnt)
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
		build_spread(&p, a, b, cnt);
		plan_order(&p, p.spread_order, "spread", nr_vcpus, out_pcpu, why, why_len);
		rc = 0;
		goto out;
	}
	build_pack(&p, nr_vcpus, a, b, cnt);
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
