/* coremap actuator: pin vCPU threads through an ops table, verify, roll back. */
#include "coremap/coremap.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

static int real_set(void *ctx, pid_t tid, const cpu_set_t *set)
{
	(void)ctx;
	return sched_setaffinity(tid, sizeof(*set), set) < 0 ? -errno : 0;
}

static int real_get(void *ctx, pid_t tid, cpu_set_t *set)
{
	(void)ctx;
	CPU_ZERO(set);
	return sched_getaffinity(tid, sizeof(*set), set) < 0 ? -errno : 0;
}

const struct coremap_ops coremap_real_ops = { real_set, real_get, NULL };

static const char *advice(int err)
{
	switch (err) {
	case -EINVAL:
		return "the CPU is offline or outside this process's cpuset "
		       "(see cpuset.cpus.effective of its cgroup)";
	case -EPERM:
		return "no permission to move that thread (run as its owner or with "
		       "CAP_SYS_NICE)";
	case -ESRCH:
		return "the thread no longer exists (did the vCPU exit?)";
	case -EIO:
		return "the mask read back differs from the one set (a cgroup or another "
		       "tool changed it)";
	default:
		return strerror(-err);
	}
}

static int check_input(const pid_t *tids, const int *pcpu, int n,
		       struct coremap_apply_result *res)
{
	int i;

	if (n < 0 || (n > 0 && (!tids || !pcpu))) {
		snprintf(res->why, sizeof(res->why), "coremap_apply: bad arguments (n=%d)", n);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		if (pcpu[i] < 0 || pcpu[i] >= CPU_SETSIZE) {
			res->failed_tid = tids[i];
			res->failed_cpu = pcpu[i];
			snprintf(res->why, sizeof(res->why),
				 "map entry %d (tid %d): %s CPU %d: nothing was changed", i,
				 (int)tids[i], pcpu[i] < 0 ? "empty CPU set," : "out of range",
				 pcpu[i]);
			return -EINVAL;
		}
	}
	return 0;
}

int coremap_apply(const struct coremap_ops *ops, const pid_t *tids, const int *pcpu,
		  int n, struct coremap_apply_result *res)
{
	cpu_set_t *old = NULL, want, got;
	bool *changed = NULL;
	uint64_t t0;
	int i, fail = -1, rc;

	memset(res, 0, sizeof(*res));
	res->failed_cpu = -1;
	rc = check_input(tids, pcpu, n, res);
	if (rc < 0)
		return res->err = rc;
	old = calloc((size_t)n + 1, sizeof(*old));
	changed = calloc((size_t)n + 1, sizeof(*changed));
	if (!old || !changed) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		rc = ops->get_affinity(ops->ctx, tids[i], &old[i]);
		if (rc < 0) {
			fail = i;
			goto out;
		}
	}
	t0 = util_now_ns();
	for (i = 0; i < n; i++) {
		CPU_ZERO(&want);
		CPU_SET(pcpu[i], &want);
		if (CPU_EQUAL(&want, &old[i]))
			continue;
		fail = i;
		rc = ops->set_affinity(ops->ctx, tids[i], &want);
		if (rc < 0)
			goto out;
		changed[i] = true;
		rc = ops->get_affinity(ops->ctx, tids[i], &got);
		if (rc == 0 && !CPU_EQUAL(&want, &got))
			rc = -EIO;
		if (rc < 0)
			goto out;
		res->nr_moved++;
		fail = -1;
	}
	res->latency_ns = util_now_ns() - t0;
	rc = 0;
out:
	if (rc < 0 && fail >= 0) {
		pid_t stuck = 0;

		for (i = 0; i < n; i++) {
			if (!changed[i])
				continue;
			if (ops->set_affinity(ops->ctx, tids[i], &old[i]) == 0)
				res->rolled_back = true;
			else
				stuck = tids[i];
		}
		res->nr_moved = 0;
		res->failed_tid = tids[fail];
		res->failed_cpu = pcpu[fail];
		snprintf(res->why, sizeof(res->why),
			 "pinning tid %d to CPU %d failed: %s: %s; %s", (int)tids[fail],
			 pcpu[fail], strerror(-rc), advice(rc), stuck ?
			 "restoring the previous mask failed for some threads" :
			 "the vCPUs keep their previous CPUs");
		if (stuck)
			res->rolled_back = false;
		util_warn("coremap: %s", res->why);
	} else if (rc < 0) {
		snprintf(res->why, sizeof(res->why), "coremap_apply: %s", strerror(-rc));
	}
	res->err = rc;
	free(changed);
	free(old);
	return rc;
}
