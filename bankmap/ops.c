/* bankmap: the real ops (libnuma's numaif.h) and the bind actuator. */
#include "bankmap/bankmap.h"

#include <errno.h>
#include <numaif.h>
#include <stdio.h>
#include <string.h>

static int real_mbind(void *ctx, void *addr, unsigned long len, int mode,
		      const unsigned long *nodemask, unsigned long maxnode, unsigned flags)
{
	return mbind(addr, len, mode, nodemask, maxnode, flags) ? -errno : 0;
}

static long real_move_pages(void *ctx, int pid, unsigned long count, void **pages,
			    const int *nodes, int *status, int flags)
{
	long rc = move_pages(pid, count, pages, nodes, status, flags);

	return rc < 0 ? -errno : rc;
}

static int real_get_mempolicy(void *ctx, int *mode, unsigned long *nodemask,
			      unsigned long maxnode, void *addr, unsigned long flags)
{
	return get_mempolicy(mode, nodemask, maxnode, addr, flags) ? -errno : 0;
}

const struct bankmap_ops bankmap_real_ops = {
	.mbind = real_mbind, .move_pages = real_move_pages,
	.get_mempolicy = real_get_mempolicy, .ctx = NULL,
};

static int explain(int rc, const struct bankmap_plan *plan, void *hva, uint64_t bytes,
		   const struct bankmap_topo *t, char *why, size_t why_len)
{
	char want[128], have[128] = "unknown";

	bankmap_nodemask_format(plan->nodemask, want, sizeof(want));
	if (t)
		bankmap_nodemask_format(bankmap_topo_mask(t), have, sizeof(have));
	if (rc == -EINVAL)
		snprintf(why, why_len, "mbind(%s, nodes %s) on %llu MiB at %p: EINVAL: a node is "
			 "not online here or the range is not page-aligned (existing nodes: %s)",
			 bankmap_mode_name(plan->mode), want, (unsigned long long)(bytes >> 20), hva, have);
	else if (rc == -EIO)
		snprintf(why, why_len, "mbind(%s, nodes %s) on %llu MiB at %p: EIO: pages already "
			 "placed elsewhere could not be moved (MPOL_MF_MOVE); retry or bind before "
			 "first touch", bankmap_mode_name(plan->mode), want,
			 (unsigned long long)(bytes >> 20), hva);
	else
		snprintf(why, why_len, "mbind(%s, nodes %s) on %llu MiB at %p: %s",
			 bankmap_mode_name(plan->mode), want, (unsigned long long)(bytes >> 20), hva,
			 strerror(-rc));
	return rc;
}

int bankmap_bind(void *hva, uint64_t bytes, const struct bankmap_plan *plan,
		 const struct bankmap_ops *ops, const struct bankmap_topo *t,
		 char *why, size_t why_len)
{
	unsigned long mask[1];
	char want[128], have[128];
	int rc;

	if (!plan->nodemask || ((uintptr_t)hva & (BANKMAP_PAGE_SIZE - 1)) || !bytes) {
		snprintf(why, why_len, "bind: empty nodemask, zero length or %p not page-aligned", hva);
		return -EINVAL;
	}
	if (t && (plan->nodemask & ~bankmap_topo_mask(t))) {
		uint64_t bad = plan->nodemask & ~bankmap_topo_mask(t);

		bankmap_nodemask_format(bankmap_topo_mask(t), have, sizeof(have));
		snprintf(why, why_len, "bind refused: node %d does not exist on this machine "
			 "(existing nodes: %s); guest RAM left as it was", __builtin_ctzll(bad), have);
		return -EINVAL;
	}
	mask[0] = (unsigned long)plan->nodemask;
	rc = ops->mbind(ops->ctx, hva, bytes, plan->mode | (int)plan->mode_flags, mask,
			BANKMAP_MAX_NODES + 1, plan->mbind_flags);
	bankmap_nodemask_format(plan->nodemask, want, sizeof(want));
	if (rc == -EINVAL && plan->mode_flags) {
		rc = ops->mbind(ops->ctx, hva, bytes, plan->mode, mask, BANKMAP_MAX_NODES + 1,
				plan->mbind_flags);
		if (!rc) {
			snprintf(why, why_len, "bound %llu MiB at %p: %s on nodes %s, without AutoNUMA "
				 "balancing (this kernel refuses MPOL_F_NUMA_BALANCING; Linux 5.12+)",
				 (unsigned long long)(bytes >> 20), hva, bankmap_mode_name(plan->mode), want);
			return 0;
		}
	}
	if (rc)
		return explain(rc, plan, hva, bytes, t, why, why_len);
	snprintf(why, why_len, "bound %llu MiB at %p: %s on nodes %s%s",
		 (unsigned long long)(bytes >> 20), hva, bankmap_mode_name(plan->mode), want,
		 plan->mode_flags ? " with AutoNUMA balancing" : "");
	return 0;
}
