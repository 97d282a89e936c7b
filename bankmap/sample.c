/* bankmap: the per-node histogram by bounded move_pages queries, and the
 * remote-access share of a vCPU's written pages (pure). */
#include "bankmap/bankmap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bankmap_sampler {
	uintptr_t base;
	uint64_t nr_pages, stride, phase;
	unsigned max_pages;
	int pid;
	int8_t *status;
	uint64_t seen;                    /* pages sampled at least once */
	struct bankmap_hist h;
	void **pages;
	int *st;
	uint64_t *idx;
};

int bankmap_sampler_init(void *base, uint64_t bytes, unsigned max_pages, int pid,
			 struct bankmap_sampler **out)
{
	struct bankmap_sampler *s;

	if (!bytes || ((uintptr_t)base & (BANKMAP_PAGE_SIZE - 1)) || !max_pages ||
	    max_pages > BANKMAP_SAMPLER_MAX_PAGES)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->base = (uintptr_t)base;
	s->nr_pages = (bytes + BANKMAP_PAGE_SIZE - 1) / BANKMAP_PAGE_SIZE;
	s->max_pages = max_pages;
	s->stride = (s->nr_pages + max_pages - 1) / max_pages;
	s->pid = pid;
	s->status = malloc(s->nr_pages);
	s->pages = calloc(max_pages, sizeof(*s->pages));
	s->st = calloc(max_pages, sizeof(*s->st));
	s->idx = calloc(max_pages, sizeof(*s->idx));
	if (!s->status || !s->pages || !s->st || !s->idx) {
		bankmap_sampler_free(s);
		return -ENOMEM;
	}
	memset(s->status, BANKMAP_ST_UNKNOWN, s->nr_pages);
	s->h.nr_pages = s->nr_pages;
	s->h.unknown = s->nr_pages;
	*out = s;
	return 0;
}

void bankmap_sampler_free(struct bankmap_sampler *s)
{
	if (!s)
		return;
	free(s->status);
	free(s->pages);
	free(s->st);
	free(s->idx);
	free(s);
}

uint64_t bankmap_sampler_pass_ticks(const struct bankmap_sampler *s)
{
	return s->stride;
}

static uint64_t *slot(struct bankmap_hist *h, int8_t st)
{
	if (st >= 0)
		return &h->pages[st];
	return st == BANKMAP_ST_UNKNOWN ? &h->unknown : st == BANKMAP_ST_ABSENT ? &h->absent
									     : &h->errors;
}

static int8_t status_of(int st)
{
	if (st >= 0 && st < BANKMAP_MAX_NODES)
		return (int8_t)st;
	if (st == -ENOENT || st == -EFAULT)
		return BANKMAP_ST_ABSENT;
	return BANKMAP_ST_ERROR;
}

int bankmap_sampler_tick(struct bankmap_sampler *s, const struct bankmap_ops *ops,
			 char *why, size_t why_len)
{
	unsigned n = 0;
	long rc;

	/* this tick: pages phase, phase + stride, ... (a uniform sample) */
	for (uint64_t i = s->phase; i < s->nr_pages && n < s->max_pages; i += s->stride) {
		s->idx[n] = i;
		s->pages[n++] = (void *)(s->base + i * BANKMAP_PAGE_SIZE);
	}
	rc = ops->move_pages(ops->ctx, s->pid, n, s->pages, NULL, s->st, 0);
	if (rc < 0) {
		snprintf(why, why_len, "move_pages(pid %d, %u pages from %#lx, query): %s%s", s->pid,
			 n, (unsigned long)s->base, strerror((int)-rc),
			 rc == -EPERM ? ": querying another process needs root or CAP_SYS_NICE" :
			 rc == -ESRCH ? ": the process is gone" : "");
		return (int)rc;
	}
	for (unsigned k = 0; k < n; k++) {
		int8_t old = s->status[s->idx[k]], now = status_of(s->st[k]);

		if (old == BANKMAP_ST_UNKNOWN && now != BANKMAP_ST_UNKNOWN)
			s->seen++;
		(*slot(&s->h, old))--;
		(*slot(&s->h, now))++;
		s->status[s->idx[k]] = now;
	}
	s->phase = (s->phase + 1) % s->stride;
	s->h.ticks++;
	s->h.pages_queried += n;
	s->h.complete = s->seen == s->nr_pages;
	return (int)n;
}

void bankmap_sampler_hist(const struct bankmap_sampler *s, struct bankmap_hist *out)
{
	*out = s->h;
}

const int8_t *bankmap_sampler_status(const struct bankmap_sampler *s, uint64_t *nr_pages)
{
	*nr_pages = s->nr_pages;
	return s->status;
}

static void count(int vcpu_node, int8_t st, struct bankmap_remote *out)
{
	if (st < 0)
		out->unknown++;
	else if (st == vcpu_node)
		out->local++;
	else
		out->remote++;
}

int bankmap_remote_share(int vcpu_node, const uint64_t *pages, size_t nr,
			 const uint64_t *bitmap, const int8_t *status, uint64_t nr_pages,
			 struct bankmap_remote *out)
{
	memset(out, 0, sizeof(*out));
	out->remote_pct = -1;
	if (vcpu_node < 0 || !status || (!pages && nr) || (pages && bitmap))
		return -EINVAL;
	for (size_t i = 0; pages && i < nr; i++) {
		if (pages[i] >= nr_pages)
			return -EINVAL;
		count(vcpu_node, status[pages[i]], out);
	}
	for (uint64_t w = 0; bitmap && w < (nr_pages + 63) / 64; w++) {
		uint64_t bits = bitmap[w];

		while (bits) {
			uint64_t i = w * 64 + (uint64_t)__builtin_ctzll(bits);

			bits &= bits - 1;
			if (i >= nr_pages)
				return -EINVAL;
			count(vcpu_node, status[i], out);
		}
	}
	if (out->local + out->remote)
		out->remote_pct = 100.0 * (double)out->remote / (double)(out->local + out->remote);
	return 0;
}
