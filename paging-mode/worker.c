/*
 * The live actuator's thread: one pthread per worker ("avmm-pgworker"), never
 * a vCPU thread. It waits for a request, then promotes (worker_promote.c) or
 * demotes guest RAM under the MiB/s quota. A new request supersedes the one
 * in flight at the next step (one 2 MiB collapse or one split chunk).
 *
 * Stats are those of the last request: pgmode_worker_request() resets the
 * counters; `backing` keeps the last smaps verification.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/sandbox.h"
#include "common/util.h"
#include "paging-mode/worker_int.h"

/* Waits on w->cond until the absolute monotonic time; w->lock held. */
bool pgw_superseded(struct pgmode_worker *w, uint64_t gen)
{
	bool r;

	pthread_mutex_lock(&w->lock);
	r = w->stop || w->gen != gen;
	pthread_mutex_unlock(&w->lock);
	return r;
}

/* Sleeps until done_bytes / (now - t0_ns) <= quota; false when superseded. */
bool pgw_pace(struct pgmode_worker *w, uint64_t gen, uint64_t t0_ns, uint64_t done_bytes)
{
	bool ok;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		double q = w->quota_mib_per_s;
		uint64_t due;

		if (w->stop || w->gen != gen || q <= 0)
			break;
		due = t0_ns + (uint64_t)((double)done_bytes / (q * 1048576.0) * 1e9);
		if (util_now_ns() >= due)
			break;
		util_cond_wait_until_ns(&w->cond, &w->lock, due);    /* woken early by a new request, quota or stop */
	}
	ok = !w->stop && w->gen == gen;
	pthread_mutex_unlock(&w->lock);
	return ok;
}

void pgw_verify(struct pgmode_worker *w)
{
	struct pgmode_backing b;

	pgmode_read_backing(NULL, 0, (uintptr_t)w->hva, w->bytes, &b);
	pthread_mutex_lock(&w->lock);
	w->st.backing = b;
	pthread_mutex_unlock(&w->lock);
}

static void *worker_main(void *arg)
{
	struct pgmode_worker *w = arg;
	uint64_t gen;
	enum pgmode_page p;

	pthread_setname_np(pthread_self(), "avmm-pgworker");
	util_sandbox_enter(UTIL_SANDBOX_PGWORKER);    /* prints why when it fails */
	pthread_mutex_lock(&w->lock);
	w->started = true;                            /* create returns once set up */
	pthread_cond_broadcast(&w->cond);
	for (;;) {
		while (!w->stop && w->gen == w->done_gen)
			pthread_cond_wait(&w->cond, &w->lock);
		if (w->stop)
			break;
		gen = w->gen;
		p = w->st.target;
		pthread_mutex_unlock(&w->lock);
		if (p == PGMODE_PAGE_2M)
			pgw_promote(w, gen);
		else
			pgw_demote(w, gen);
		pthread_mutex_lock(&w->lock);
		if (w->gen == gen) {
			w->done_gen = gen;
			w->st.busy = false;
			pthread_cond_broadcast(&w->cond);
		}
	}
	w->st.busy = false;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int pgmode_worker_create(void *hva, uint64_t bytes, double quota_mib_per_s,
			 struct pgmode_worker **out)
{
	struct pgmode_worker *w;
	int rc;

	*out = NULL;
	if (!hva || !bytes || ((uintptr_t)hva & 4095) || quota_mib_per_s < 0)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->hva = hva;
	w->bytes = bytes;
	w->quota_mib_per_s = quota_mib_per_s;
	pthread_mutex_init(&w->lock, NULL);
	util_cond_init_mono(&w->cond);
	rc = -pthread_create(&w->thread, NULL, worker_main, w);
	if (rc) {
		pthread_cond_destroy(&w->cond);
		pthread_mutex_destroy(&w->lock);
		free(w);
		return rc;
	}
	pthread_mutex_lock(&w->lock);
	while (!w->started)
		pthread_cond_wait(&w->cond, &w->lock);
	pthread_mutex_unlock(&w->lock);
	*out = w;
	return 0;
}

int pgmode_worker_request(struct pgmode_worker *w, enum pgmode_page p, char *why, size_t len)
{
	if (p == PGMODE_PAGE_1G) {
		snprintf(why, len, "1 GiB backing cannot be set live: it needs hugetlbfs pages at "
			 "allocation (--mem-backing hugetlbfs); ask for 2m or 4k");
		return -EOPNOTSUPP;
	}
	if (p != PGMODE_PAGE_2M && p != PGMODE_PAGE_4K) {
		snprintf(why, len, "backing '%s' is not a page size to set: ask for 2m or 4k",
			 pgmode_page_name(p));
		return -EINVAL;
	}
	pthread_mutex_lock(&w->lock);
	memset(&w->st, 0, offsetof(struct pgmode_worker_stats, backing));
	w->st.target = p;
	w->st.busy = true;
	w->gen++;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	if (len)
		snprintf(why, len, "%s backing requested for %llu MiB of guest RAM",
			 pgmode_page_name(p), (unsigned long long)(w->bytes >> 20));
	return 0;
}

void pgmode_worker_set_quota(struct pgmode_worker *w, double quota_mib_per_s)
{
	pthread_mutex_lock(&w->lock);
	w->quota_mib_per_s = quota_mib_per_s > 0 ? quota_mib_per_s : 0;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

void pgmode_worker_stats(struct pgmode_worker *w, struct pgmode_worker_stats *out)
{
	pthread_mutex_lock(&w->lock);
	*out = w->st;
	pthread_mutex_unlock(&w->lock);
}

int pgmode_worker_wait(struct pgmode_worker *w, uint64_t timeout_ns)
{
	uint64_t until = timeout_ns ? util_now_ns() + timeout_ns : 0;
	int rc = 0;

	pthread_mutex_lock(&w->lock);
	while (w->st.busy && !w->stop) {
		if (!until) {
			pthread_cond_wait(&w->cond, &w->lock);
		} else if (util_now_ns() >= until) {
			rc = -ETIMEDOUT;
			break;
		} else {
			util_cond_wait_until_ns(&w->cond, &w->lock, until);
		}
	}
	pthread_mutex_unlock(&w->lock);
	return rc;
}

void pgmode_worker_destroy(struct pgmode_worker *w)
{
	if (!w)
		return;
	util_thread_stop(&w->lock, &w->cond, &w->stop, w->thread);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
