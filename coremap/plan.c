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

/* Sort v[0..n) ascending (bottom-up merge sort; tmp: [n]). */
static void sort_u64(uint64_t *v, uint64_t *tmp, int n)
{
	uint64_t *a = v, *b = tmp, *x;
	int w, lo, i, j, k;

	for (w = 1; w < n; w *= 2) {
		for (lo = 0; lo < n; lo += 2 * w) {
			int mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;

			for (i = lo, j = mid, k = lo; k < hi; k++)
				b[k] = j >= hi || (i < mid && a[i] <= a[j]) ? a[i++] : a[j++];
		}
		x = a;
		a = b;
		b = x;
	}
	if (a != v)
		memcpy(v, a, sizeof(*v) * (size_t)n);
}

/* Sort the eligible PUs by key[pu][0..KEY_LEN) (the last field is the PU,
 * so the order is total). When the fields fit, each tuple is packed into
 * one integer (the PU in the low bits) and those are sorted; otherwise an
 * insertion sort compares the tuples. packed: [2n] scratch. */
static void sort_by_key(const struct cm_plan *p, int (*key)[KEY_LEN], uint64_t *packed,
			int *order)
{
	int lo[KEY_LEN], shift[KEY_LEN], bits = 0, f, i, j, k = 0;

	for (f = KEY_LEN - 1; f >= 0; f--) {
		int hi = key[0][f], w = 0;

		lo[f] = key[0][f];
		for (i = 1; i < p->n; i++) {
			lo[f] = key[i][f] < lo[f] ? key[i][f] : lo[f];
			hi = key[i][f] > hi ? key[i][f] : hi;
		}
		while (w < 32 && ((int64_t)hi - lo[f]) >> w)
			w++;
		shift[f] = bits;
		bits += w;
	}
	if (bits < 64) {
		for (i = 0; i < p->n; i++) {
			uint64_t v = 0;

			if (!p->eligible[i])
				continue;
			for (f = 0; f < KEY_LEN; f++)
				v |= (uint64_t)((int64_t)key[i][f] - lo[f]) << shift[f];
			packed[k++] = v;
		}
		sort_u64(packed, packed + p->n, k);
		for (i = 0; i < k; i++) /* the PU field is the lowest, shift 0 */
			order[i] = (int)((int64_t)(packed[i] & ((1ull << shift[KEY_LEN - 2]) - 1)) +
					 lo[KEY_LEN - 1]);
		return;
	}
	for (i = 0; i < p->n; i++) {
		if (!p->eligible[i])
			continue;
		for (j = k; j > 0 && tuple_cmp(key[order[j - 1]], key[i], KEY_LEN) > 0; j--)
			order[j] = order[j - 1];
		order[j] = i;
		k++;
	}
}

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

/* Core, pack-domain (package x L3) and memory-domain (package x NUMA) ids.
 * tmp: [4n] scratch. */
static void build_groups(struct cm_plan *p, int *tmp)
{
	int *pkg = tmp + p->n, *second = tmp + 2 * p->n, *zero = tmp + 3 * p->n;
	int i;

	for (i = 0; i < p->n; i++) {
		pkg[i] = p->pu[i].package;
		second[i] = p->pu[i].core;
		zero[i] = 0;
	}
	p->nr_core_ids = group_ids(p->n, second, zero, p->core_id, tmp);
	for (i = 0; i < p->n; i++)
		second[i] = p->pu[i].l3;
	p->nr_pdom = group_ids(p->n, pkg, second, p->pdom, tmp);
	for (i = 0; i < p->n; i++)
		second[i] = p->pu[i].numa;
	p->nr_mdom = group_ids(p->n, pkg, second, p->mdom, tmp);
}

/* Pack: domains (package, L3) that hold all vCPUs on distinct cores first,
 * then topology order; inside a domain one PU per core, then siblings.
 * cnt: [2n] scratch. */
static void build_pack(struct cm_plan *p, int nr_vcpus, int (*key)[KEY_LEN],
		       uint64_t *packed, int *cnt)
{
	const struct coremap_pu *pu = p->pu;
	int i;

	/* distinct cores with an eligible PU, per pack domain: count each
	 * core at its first eligible PU (core_seen in cnt[nr_pdom..]) */
	memset(cnt, 0, sizeof(int) * (size_t)(p->nr_pdom + p->nr_core_ids));
	for (i = 0; i < p->n; i++) {
		if (!p->eligible[i] || cnt[p->nr_pdom + p->core_id[i]])
			continue;
		cnt[p->nr_pdom + p->core_id[i]] = 1;
		cnt[p->pdom[i]]++;
	}
	for (i = 0; i < p->n; i++) {
		key[i][0] = cnt[p->pdom[i]] >= nr_vcpus ? 0 : 1;
		key[i][1] = pu[i].package;
		key[i][2] = pu[i].l3;
		key[i][3] = p->smt_rank[i];
		key[i][4] = pu[i].core;
		key[i][5] = i;
	}
	sort_by_key(p, key, packed, p->pack_order);
	for (i = 0; i < p->n; i++)
		p->pack_pos[i] = -1;
	for (i = 0; i < p->nr_eligible; i++)
		p->pack_pos[p->pack_order[i]] = i;
}

/* Spread: the r-th PU of every memory domain before any (r+1)-th; rank =
 * eligible PUs of the same domain before it in (smt_rank, index) order.
 * cnt: [nr_mdom * (max smt_rank + 1)] scratch. */
static void build_spread(struct cm_plan *p, int (*key)[KEY_LEN], uint64_t *packed, int *cnt)
{
	const struct coremap_pu *pu = p->pu;
	int i, r, levels = 0;

	for (i = 0; i < p->n; i++)
		levels = p->smt_rank[i] + 1 > levels ? p->smt_rank[i] + 1 : levels;
	/* cnt[d * levels + r]: eligible PUs of domain d with smt_rank r */
	memset(cnt, 0, sizeof(int) * (size_t)(p->nr_mdom * levels));
	for (i = 0; i < p->n; i++)
		if (p->eligible[i])
			cnt[p->mdom[i] * levels + p->smt_rank[i]]++;
	/* exclusive prefix over the ranks of each domain */
	for (i = 0; i < p->nr_mdom; i++) {
		int sum = 0;

		for (r = 0; r < levels; r++) {
			int c = cnt[i * levels + r];

			cnt[i * levels + r] = sum;
			sum += c;
		}
	}
	/* walking in index order, each PU takes the next slot of its level */
	for (i = 0; i < p->n; i++) {
		int *slot = &cnt[p->mdom[i] * levels + p->smt_rank[i]];

		key[i][0] = *slot;
		*slot += p->eligible[i];
		key[i][1] = pu[i].package;
		key[i][2] = pu[i].numa;
		key[i][3] = key[i][4] = 0;
		key[i][5] = i;
	}
	sort_by_key(p, key, packed, p->spread_order);
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

int coremap_plan(const struct coremap_topo *topo, enum coremap_strategy s,
		 const struct coremap_vcpu_metrics *m, int nr_vcpus,
		 const struct coremap_goal *goal, int *out_pcpu, char *why, size_t why_len)
{
	struct cm_plan p = { .t = topo };
	int (*key)[KEY_LEN] = NULL;
	uint64_t *packed;
	int *ints = NULL, *scratch;
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
	n = (size_t)p.n;
	/* one block: 7 int arrays of n, scratch of 4n, the packed keys (2n),
	 * the keys, eligible */
	rc = -ENOMEM;
	ints = malloc(sizeof(int) * (n * 11 + 1) + sizeof(*key) * n + sizeof(uint64_t) * 2 * n +
		      sizeof(bool) * n);
	if (!ints)
		goto out;
	p.smt_rank = ints;
	p.pack_pos = ints + n;
	p.pack_order = ints + 2 * n;
	p.spread_order = ints + 3 * n;
	p.core_id = ints + 4 * n;
	p.pdom = ints + 5 * n;
	p.mdom = ints + 6 * n;
	scratch = ints + 7 * n; /* 4n: groups, pack counts, spread counts */
	packed = (uint64_t *)(void *)(ints + 11 * n + (n & 1)); /* 8-byte aligned */
	key = (int (*)[KEY_LEN])(void *)(packed + 2 * n);
	p.eligible = (bool *)(void *)(key + n);
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
	build_groups(&p, scratch);
	if (s == COREMAP_SPREAD) {
		int levels = 0, i;
		int *cnt = scratch;

		for (i = 0; i < p.n; i++)
			levels = p.smt_rank[i] + 1 > levels ? p.smt_rank[i] + 1 : levels;
		if ((size_t)p.nr_mdom * (size_t)levels > 4 * n)
			cnt = malloc(sizeof(int) * (size_t)p.nr_mdom * (size_t)levels);
		rc = -ENOMEM;
		if (!cnt)
			goto out;
		build_spread(&p, key, packed, cnt);
		if (cnt != scratch)
			free(cnt);
		plan_order(&p, p.spread_order, "spread", nr_vcpus, out_pcpu, why, why_len);
		rc = 0;
		goto out;
	}
	build_pack(&p, nr_vcpus, key, packed, scratch);
	if (s == COREMAP_PACK) {
		plan_order(&p, p.pack_order, "pack", nr_vcpus, out_pcpu, why, why_len);
		rc = 0;
	} else {
		rc = cm_plan_adaptive(&p, m, nr_vcpus, goal, out_pcpu, why, why_len);
	}
out:
	free(ints);
	return rc;
}
