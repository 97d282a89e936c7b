/* bankmap: the placement planner (pure): policy + topology -> mbind plan. */
#include "bankmap/bankmap.h"

#include <errno.h>
#include <numaif.h>
#include <stdio.h>
#include <string.h>

static const char *const policy_names[] = { "local", "interleave", "pack", "explicit" };

const char *bankmap_policy_name(enum bankmap_policy p)
{
	return (unsigned)p < 4 ? policy_names[p] : "?";
}

int bankmap_policy_parse(const char *name, enum bankmap_policy *out)
{
	for (int i = 0; i < 4; i++)
		if (name && !strcmp(name, policy_names[i])) {
			*out = (enum bankmap_policy)i;
			return 0;
		}
	return -EINVAL;
}

const char *bankmap_mode_name(int mode)
{
	switch (mode & ~MPOL_F_NUMA_BALANCING) {
	case MPOL_BIND: return "bind";
	case MPOL_INTERLEAVE: return "interleave";
	case MPOL_PREFERRED: return "preferred";
	case MPOL_PREFERRED_MANY: return "preferred-many";
	case MPOL_DEFAULT: return "default";
	default: return "?";
	}
}

static int refuse_node(const struct bankmap_topo *t, struct bankmap_plan *out, int node,
		       const char *what)
{
	char have[128];

	bankmap_nodemask_format(bankmap_topo_mask(t), have, sizeof(have));
	snprintf(out->why, sizeof(out->why), "%s: node %d does not exist on this machine "
		 "(existing nodes: %.60s, from %.60s); name one of those", what, node, have, t->source);
	return -EINVAL;
}

static int pack_order_cmp(const struct bankmap_topo *t, int a, int b, uint64_t local)
{
	const struct bankmap_node *x = &t->node[a], *y = &t->node[b];
	bool lx = local >> x->id & 1, ly = local >> y->id & 1;

	if (x->free_bytes != y->free_bytes)
		return x->free_bytes > y->free_bytes ? -1 : 1;
	if (lx != ly)
		return lx ? -1 : 1;
	return x->id - y->id;
}

/* Fewest nodes by free memory (ties: the vCPUs' nodes, then lower id). */
static uint64_t pack_mask(const struct bankmap_topo *t, uint64_t guest_bytes, uint64_t local,
			  bool *fits)
{
	int order[BANKMAP_MAX_NODES];
	uint64_t mask = 0, sum = 0;

	for (int i = 0; i < t->nr_nodes; i++) {
		int j = i;

		while (j > 0 && pack_order_cmp(t, i, order[j - 1], local) < 0) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
	*fits = false;
	for (int k = 0; k < t->nr_nodes; k++) {
		mask |= 1ull << t->node[order[k]].id;
		sum += t->node[order[k]].free_bytes;
		if (sum >= guest_bytes) {
			*fits = true;
			break;
		}
	}
	return mask;
}

int bankmap_pack_nodes(const struct bankmap_topo *t, uint64_t guest_bytes)
{
	bool fits;

	return __builtin_popcountll(pack_mask(t, guest_bytes, 0, &fits));
}

static int local_mask(const struct bankmap_topo *t, const struct bankmap_place_req *r,
		      struct bankmap_plan *out, uint64_t *mask)
{
	*mask = 0;
	for (int i = 0; i < r->nr_vcpus && r->vcpu_pcpus; i++) {
		int cpu = r->vcpu_pcpus[i], node = cpu >= 0 && cpu < t->nr_cpus ? t->cpu_node[cpu] : -1;

		if (node < 0 || bankmap_topo_index(t, node) < 0) {
			snprintf(out->why, sizeof(out->why), "local: vCPU %d runs on CPU %d, which has "
				 "no memory node in the topology (%d CPUs known); map the vCPUs first "
				 "or use interleave/explicit", i, cpu, t->nr_cpus);
			return -EINVAL;
		}
		*mask |= 1ull << node;
	}
	return 0;
}

int bankmap_plan_place(const struct bankmap_topo *t, const struct bankmap_place_req *r,
		       struct bankmap_plan *out)
{
	uint64_t mask = 0, all = bankmap_topo_mask(t), local = 0;
	char nodes[128], note[96] = "";
	bool fits = true;
	int rc, n;

	memset(out, 0, sizeof(*out));
	out->policy = r->policy;
	if (!t->nr_nodes) {
		snprintf(out->why, sizeof(out->why), "no memory node in the topology");
		return -EINVAL;
	}
	if (r->vcpu_pcpus && r->nr_vcpus > 0 && local_mask(t, r, out, &local) && r->policy == BANKMAP_LOCAL)
		return -EINVAL;
	switch (r->policy) {
	case BANKMAP_LOCAL:
		if (!r->vcpu_pcpus || r->nr_vcpus <= 0) {
			snprintf(out->why, sizeof(out->why), "local: no vCPU placement given; "
				 "local follows the coremap, so plan the vCPUs first");
			return -EINVAL;
		}
		mask = local;
		break;
	case BANKMAP_INTERLEAVE:
	case BANKMAP_EXPLICIT:
		if (r->policy == BANKMAP_EXPLICIT && (!r->nodes || r->nr_nodes <= 0)) {
			snprintf(out->why, sizeof(out->why), "explicit: empty node list; give a nodeset such as 0 or 0-1");
			return -EINVAL;
		}
		for (int i = 0; r->nodes && i < r->nr_nodes; i++) {
			if (r->nodes[i] < 0 || r->nodes[i] >= BANKMAP_MAX_NODES || !(all >> r->nodes[i] & 1))
				return refuse_node(t, out, r->nodes[i], bankmap_policy_name(r->policy));
			mask |= 1ull << r->nodes[i];
		}
		if (!mask)
			mask = all;
		break;
	case BANKMAP_PACK:
		mask = pack_mask(t, r->guest_bytes, local, &fits);
		if (!fits)
			snprintf(note, sizeof(note), "; the guest (%llu MiB) exceeds the free memory of "
				 "all nodes", (unsigned long long)(r->guest_bytes >> 20));
		break;
	default:
		snprintf(out->why, sizeof(out->why), "unknown policy %d", (int)r->policy);
		return -EINVAL;
	}
	n = __builtin_popcountll(mask);
	if (r->policy == BANKMAP_INTERLEAVE)
		out->mode = MPOL_INTERLEAVE;
	else if (r->strict)
		out->mode = MPOL_BIND;
	else
		out->mode = n == 1 ? MPOL_PREFERRED : MPOL_PREFERRED_MANY;
	if (r->numa_balancing && out->mode == MPOL_BIND)
		out->mode_flags = MPOL_F_NUMA_BALANCING;
	else if (r->numa_balancing)
		snprintf(note + strlen(note), sizeof(note) - strlen(note),
			 "; numa_balancing ignored (it applies to strict binding only)");
	out->nodemask = mask;
	rc = bankmap_nodemask_format(mask, nodes, sizeof(nodes));
	if (rc)
		return rc;
	snprintf(out->why, sizeof(out->why), "%s: %s on node%s %s (%d of %d)%s%s",
		 bankmap_policy_name(r->policy), bankmap_mode_name(out->mode), n > 1 ? "s" : "",
		 nodes, n, t->nr_nodes, out->mode_flags ? " with AutoNUMA balancing" : "", note);
	return 0;
}
