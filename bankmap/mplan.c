/* bankmap: the migration planner and cost prediction (pure), failure classes. */
#include "bankmap/bankmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool skip(const int8_t *status, uint64_t i, int target, struct bankmap_mplan *out)
{
	if (!status)
		return false;
	if (status[i] == target) {
		out->skipped_on_target++;
		return true;
	}
	if (status[i] == BANKMAP_ST_ABSENT) {
		out->skipped_absent++;
		return true;
	}
	return false;
}

int bankmap_migrate_plan(uint64_t nr_pages, const int8_t *status, int target_node,
			 const uint64_t *first, size_t nr_first, unsigned batch_pages,
			 struct bankmap_mplan *out)
{
	uint64_t *taken = NULL, n = 0;

	memset(out, 0, sizeof(*out));
	if (target_node < 0 || target_node >= BANKMAP_MAX_NODES || !batch_pages ||
	    (nr_first && !first))
		return -EINVAL;
	for (size_t k = 0; k < nr_first; k++)
		if (first[k] >= nr_pages)
			return -EINVAL;
	out->pages = malloc((nr_pages ? nr_pages : 1) * sizeof(*out->pages));
	taken = calloc((nr_pages + 63) / 64 + 1, sizeof(*taken));
	if (!out->pages || !taken) {
		free(taken);
		bankmap_mplan_free(out);
		return -ENOMEM;
	}
	for (size_t k = 0; k < nr_first; k++) {
		uint64_t i = first[k];

		if (taken[i / 64] >> (i % 64) & 1)
			continue;
		taken[i / 64] |= 1ull << (i % 64);
		if (!skip(status, i, target_node, out))
			out->pages[n++] = i;
	}
	out->nr_first = n;
	for (uint64_t i = 0; i < nr_pages; i++) {
		if (taken[i / 64] >> (i % 64) & 1)
			continue;
		if (!skip(status, i, target_node, out))
			out->pages[n++] = i;
	}
	free(taken);
	out->nr_pages = n;
	out->target_node = target_node;
	out->batch_pages = batch_pages;
	out->nr_batches = (n + batch_pages - 1) / batch_pages;
	return 0;
}

void bankmap_mplan_free(struct bankmap_mplan *p)
{
	free(p->pages);
	p->pages = NULL;
	p->nr_pages = 0;
}

void bankmap_migrate_predict(uint64_t pages, double ns_per_page, double quota_mib_s,
			     struct bankmap_cost *out)
{
	double cpu = (double)pages * (ns_per_page > 0 ? ns_per_page : BANKMAP_MIGRATE_NS_PER_PAGE);
	double wall = cpu;

	if (quota_mib_s > 0) {
		double q = (double)pages * BANKMAP_PAGE_SIZE / (quota_mib_s * 1048576.0) * 1e9;

		if (q > wall)
			wall = q;
	}
	out->cpu_ns = (uint64_t)cpu;
	out->wall_ns = (uint64_t)wall;
}

static const char *const fail_names[BANKMAP_F_NR] = {
	"ENOMEM", "EBUSY", "ENODEV", "not-present", "other",
};
static const char *const fail_explain[BANKMAP_F_NR] = {
	"the target node has no free memory: free memory there or pick another node; retried later",
	"the page is busy (pinned for I/O or DMA, locked or under writeback) or was left where it "
	"was; retried later",
	"the target node does not exist or has no memory online; not retried: pick a node that exists",
	"the page is not present (never touched) or not mapped (EFAULT/ENOENT): nothing to move",
	"another error (EACCES: page shared with another process; EPERM; EINVAL); not retried",
};

const char *bankmap_fail_name(enum bankmap_fail f)
{
	return (unsigned)f < BANKMAP_F_NR ? fail_names[f] : "?";
}

const char *bankmap_fail_explain(enum bankmap_fail f)
{
	return (unsigned)f < BANKMAP_F_NR ? fail_explain[f] : "?";
}

enum bankmap_fail bankmap_fail_of_errno(int err)
{
	switch (err) {
	case ENOMEM: return BANKMAP_F_ENOMEM;
	case EBUSY: case EAGAIN: return BANKMAP_F_EBUSY;
	case ENODEV: return BANKMAP_F_ENODEV;
	case ENOENT: case EFAULT: return BANKMAP_F_ABSENT;
	default: return BANKMAP_F_OTHER;
	}
}
