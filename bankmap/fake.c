/* bankmap: the recording fake of mbind / move_pages / get_mempolicy. */
#include "bankmap/bankmap.h"

#include <errno.h>
#include <numaif.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

static void record(struct bankmap_fake *f, char op, uintptr_t addr, unsigned long count,
		   int node, uint64_t mask, unsigned flags)
{
	if (f->nr_calls < BANKMAP_FAKE_MAX_CALLS)
		f->calls[f->nr_calls] = (struct bankmap_fake_call){
			.op = op, .addr = addr, .count = count, .node = node, .mask = mask,
			.flags = flags, .t_ns = util_now_ns(),
		};
	f->nr_calls++;
}

static int64_t page_of(const struct bankmap_fake *f, const void *p)
{
	uintptr_t a = (uintptr_t)p;

	if (a < f->base || (a - f->base) / BANKMAP_PAGE_SIZE >= f->nr_pages)
		return -1;
	return (int64_t)((a - f->base) / BANKMAP_PAGE_SIZE);
}

static int fake_mbind(void *ctx, void *addr, unsigned long len, int mode,
		      const unsigned long *nodemask, unsigned long maxnode, unsigned flags)
{
	struct bankmap_fake *f = ctx;
	uint64_t mask = nodemask ? nodemask[0] : 0;
	int rc = 0;

	pthread_mutex_lock(f->lock);
	record(f, 'b', (uintptr_t)addr, len / BANKMAP_PAGE_SIZE, mode, mask, flags);
	if (!mask || (mask & ~f->node_mask))
		rc = -EINVAL;
	else {
		f->mbind_mode = mode;
		f->mbind_mask = mask;
		f->mbind_flags = flags;
	}
	pthread_mutex_unlock(f->lock);
	return rc;
}

static void busy_wait(uint64_t ns)
{
	uint64_t end = util_now_ns() + ns;

	while (util_now_ns() < end)
		;
}

static long fake_move_pages(void *ctx, int pid, unsigned long count, void **pages,
			    const int *nodes, int *status, int flags)
{
	struct bankmap_fake *f = ctx;
	long not_moved = 0;
	uint64_t moved = 0;

	pthread_mutex_lock(f->lock);
	record(f, nodes ? 'm' : 'q', count ? (uintptr_t)pages[0] : 0, count,
	       nodes && count ? nodes[0] : -1, 0, (unsigned)flags);
	if (nodes && f->call_errno) {
		pthread_mutex_unlock(f->lock);
		return -f->call_errno;
	}
	for (unsigned long i = 0; i < count; i++) {
		int64_t pg = page_of(f, pages[i]);

		if (pg < 0) {
			status[i] = -EFAULT;
			continue;
		}
		if (!nodes) {
			status[i] = f->page_node[pg];
			continue;
		}
		if (nodes[i] < 0 || nodes[i] >= BANKMAP_MAX_NODES || !(f->node_mask >> nodes[i] & 1)) {
			/* like the kernel: the call stops with ENODEV */
			pthread_mutex_unlock(f->lock);
			return -ENODEV;
		}
		if (f->page_node[pg] < 0) {
			status[i] = f->page_node[pg];
			continue;
		}
		if (f->fail_every && (uint64_t)pg % f->fail_every == f->fail_phase &&
		    f->attempts[pg] < f->fail_times) {
			f->attempts[pg]++;
			status[i] = -f->fail_errno;
			not_moved++;
			continue;
		}
		if (f->page_node[pg] != nodes[i]) {
			f->page_node[pg] = (int8_t)nodes[i];
			moved++;
		}
		status[i] = nodes[i];
	}
	f->pages_moved += moved;
	pthread_mutex_unlock(f->lock);
	if (f->per_page_delay_ns)
		busy_wait(f->per_page_delay_ns * count);
	return not_moved;
}

static int fake_get_mempolicy(void *ctx, int *mode, unsigned long *nodemask,
			      unsigned long maxnode, void *addr, unsigned long flags)
{
	struct bankmap_fake *f = ctx;
	int64_t pg;
	int rc = 0;

	pthread_mutex_lock(f->lock);
	record(f, 'g', (uintptr_t)addr, 1, -1, 0, (unsigned)flags);
	pg = page_of(f, addr);
	if ((flags & MPOL_F_NODE) && (flags & MPOL_F_ADDR)) {
		if (pg < 0 || f->page_node[pg] < 0)
			rc = -EFAULT;
		else if (mode)
			*mode = f->page_node[pg];
	} else {
		if (mode)
			*mode = f->mbind_mode;
		if (nodemask)
			nodemask[0] = f->mbind_mask;
	}
	pthread_mutex_unlock(f->lock);
	return rc;
}

int bankmap_fake_init(struct bankmap_fake *f, void *base, uint64_t nr_pages,
		      uint64_t node_mask, int start_node, struct bankmap_ops *ops)
{
	memset(f, 0, sizeof(*f));
	f->lock = malloc(sizeof(pthread_mutex_t));
	f->page_node = malloc(nr_pages ? nr_pages : 1);
	f->attempts = calloc(nr_pages ? nr_pages : 1, 1);
	if (!f->lock || !f->page_node || !f->attempts) {
		bankmap_fake_free(f);
		return -ENOMEM;
	}
	pthread_mutex_init(f->lock, NULL);
	f->base = (uintptr_t)base;
	f->nr_pages = nr_pages;
	f->node_mask = node_mask;
	memset(f->page_node, start_node, nr_pages);
	*ops = (struct bankmap_ops){ .mbind = fake_mbind, .move_pages = fake_move_pages,
				     .get_mempolicy = fake_get_mempolicy, .ctx = f };
	return 0;
}

void bankmap_fake_free(struct bankmap_fake *f)
{
	if (f->lock)
		pthread_mutex_destroy(f->lock);
	free(f->lock);
	free(f->page_node);
	free(f->attempts);
	f->lock = NULL;
	f->page_node = NULL;
	f->attempts = NULL;
}
