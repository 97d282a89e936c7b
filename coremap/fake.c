/* coremap recording fake of the affinity ops, for tests of callers. */
#include "coremap/coremap.h"

#include <errno.h>
#include <string.h>

static int slot(struct coremap_fake *f, pid_t tid)
{
	int i;

	for (i = 0; i < f->nr_threads; i++)
		if (f->tid[i] == tid)
			return i;
	if (f->nr_threads >= COREMAP_FAKE_MAX)
		return -ENOSPC;
	f->tid[i] = tid;
	CPU_ZERO(&f->mask[i]);
	for (int c = 0; c < f->nr_cpus; c++)
		CPU_SET(c, &f->mask[i]);
	f->nr_threads++;
	return i;
}

static int first_cpu(const cpu_set_t *set)
{
	int c;

	for (c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, set))
			return c;
	return -1;
}

static int fake_set(void *ctx, pid_t tid, const cpu_set_t *set)
{
	struct coremap_fake *f = ctx;
	int s = slot(f, tid), cpu = first_cpu(set), c, usable = 0;

	if (f->nr_calls < COREMAP_FAKE_MAX)
		f->calls[f->nr_calls++] = (struct coremap_fake_call){ tid, cpu };
	if (s < 0)
		return s;
	if (f->fail_tid && tid == f->fail_tid)
		return f->fail_tid_err;
	if (f->fail_cpu_err && CPU_COUNT(set) == 1 && CPU_ISSET(f->fail_cpu, set))
		return f->fail_cpu_err;
	for (c = 0; c < f->nr_cpus; c++)
		usable += CPU_ISSET(c, set) ? 1 : 0;
	if (!usable)
		return -EINVAL; /* like the kernel: no online CPU in the mask */
	f->mask[s] = *set;
	return 0;
}

static int fake_get(void *ctx, pid_t tid, cpu_set_t *set)
{
	struct coremap_fake *f = ctx;
	int s = slot(f, tid), c;

	if (s < 0)
		return s;
	*set = f->mask[s];
	if (f->lie_on_readback) {
		CPU_ZERO(set);
		for (c = 0; c < f->nr_cpus; c++)
			CPU_SET(c, set);
	}
	return 0;
}

void coremap_fake_init(struct coremap_fake *f, int nr_cpus, struct coremap_ops *ops)
{
	memset(f, 0, sizeof(*f));
	f->nr_cpus = nr_cpus;
	f->fail_cpu = -1;
	ops->set_affinity = fake_set;
	ops->get_affinity = fake_get;
	ops->ctx = f;
}
