/* bankmap: the migration worker: one pthread running move_pages in batches
 * under a MiB/s quota, with bounded retries, supersede and stop. */
#include "bankmap/bankmap.h"

#include <errno.h>
#include <numaif.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/sandbox.h"
#include "common/util.h"

struct req {
	uint64_t id;
	uintptr_t base;
	int target;
	unsigned batch;
	uint64_t *pages, nr;
};

struct retry { uint64_t page; uint8_t cls; };

struct bankmap_worker {
	pthread_t th;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct bankmap_worker_cfg cfg;
	struct req pending, cur;
	bool has_pending, stop;
	uint64_t next_id;
	struct bankmap_worker_stats st;
	void **addr;
	int *nodes, *status;
	unsigned cap;
	uint64_t start_ns, sent_bytes;
};

/* Under the lock: should the current request end now? */
static bool interrupted(struct bankmap_worker *w)
{
	return w->stop || w->has_pending;
}

/* Sleeps until the monotonic time due_ns, or an interruption. Lock held. */
static void sleep_until(struct bankmap_worker *w, uint64_t due_ns)
{
	while (!interrupted(w) && util_now_ns() < due_ns)
		util_cond_wait_until_ns(&w->cond, &w->lock, due_ns);
}

static int grow(struct bankmap_worker *w, unsigned n)
{
	if (n <= w->cap)
		return 0;
	free(w->addr);
	free(w->nodes);
	free(w->status);
	w->addr = malloc(n * sizeof(*w->addr));
	w->nodes = malloc(n * sizeof(*w->nodes));
	w->status = malloc(n * sizeof(*w->status));
	w->cap = w->addr && w->nodes && w->status ? n : 0;
	return w->cap ? 0 : -ENOMEM;
}

static void set_why(struct bankmap_worker *w, enum bankmap_fail c, uint64_t n)
{
	snprintf(w->st.why, sizeof(w->st.why), "%llu page%s not moved to node %d (%s): %s",
		 (unsigned long long)n, n == 1 ? "" : "s", w->cur.target, bankmap_fail_name(c),
		 bankmap_fail_explain(c));
}

/*
 * One pass over pages[0..nr) in batches; retriable failures go to *again.
 * Lock held on entry and exit (dropped around each move_pages call).
 * Returns -EINTR when interrupted, the call's -errno when it ends the
 * request, else 0.
 */
static int pass(struct bankmap_worker *w, const uint64_t *pages, uint64_t nr,
		struct retry *again, uint64_t *nr_again)
{
	const double bytes_per_ns = w->cfg.quota_mib_s * 1048576.0 / 1e9;

	for (uint64_t off = 0; off < nr; off += w->cur.batch) {
		unsigned n = (unsigned)UTIL_MIN((uint64_t)w->cur.batch, nr - off);
		uint64_t t0, dt;
		long rc;

		if (w->cfg.quota_mib_s > 0)
			sleep_until(w, w->start_ns + (uint64_t)((double)w->sent_bytes / bytes_per_ns));
		if (interrupted(w))
			return -EINTR;
		for (unsigned i = 0; i < n; i++) {
			w->addr[i] = (void *)(w->cur.base + pages[off + i] * BANKMAP_PAGE_SIZE);
			w->nodes[i] = w->cur.target;
		}
		pthread_mutex_unlock(&w->lock);
		t0 = util_now_ns();
		rc = w->cfg.ops->move_pages(w->cfg.ops->ctx, w->cfg.pid, n, w->addr, w->nodes,
					    w->status, MPOL_MF_MOVE);
		dt = util_now_ns() - t0;
		pthread_mutex_lock(&w->lock);
		w->sent_bytes += (uint64_t)n * BANKMAP_PAGE_SIZE;
		w->st.batches++;
		if (dt > w->st.longest_batch_ns)
			w->st.longest_batch_ns = dt;
		if (rc < 0) {
			enum bankmap_fail c = bankmap_fail_of_errno((int)-rc);

			w->st.failed[c] += n;
			w->st.pages_failed += n;
			w->st.call_err = (int)rc;
			snprintf(w->st.why, sizeof(w->st.why), "move_pages(%u pages to node %d) failed: "
				 "%s; request ended (%s)", n, w->cur.target, strerror((int)-rc),
				 bankmap_fail_explain(c));
			return (int)rc;
		}
		for (unsigned i = 0; i < n; i++) {
			int s = w->status[i];
			enum bankmap_fail c;

			if (s == w->cur.target) {
				w->st.pages_done++;
				w->st.bytes_moved += BANKMAP_PAGE_SIZE;
				continue;
			}
			c = s >= 0 ? BANKMAP_F_EBUSY : bankmap_fail_of_errno(-s);
			if (c == BANKMAP_F_ENOMEM || c == BANKMAP_F_EBUSY) {
				again[(*nr_again)++] = (struct retry){ pages[off + i], (uint8_t)c };
				continue;
			}
			w->st.failed[c]++;
			w->st.pages_failed++;
			set_why(w, c, w->st.failed[c]);
		}
	}
	return 0;
}

static void run(struct bankmap_worker *w)
{
	struct retry *again = malloc((w->cur.nr ? w->cur.nr : 1) * sizeof(*again));
	uint64_t *list = malloc((w->cur.nr ? w->cur.nr : 1) * sizeof(*list)), nr_again = 0;
	int rc;

	if (!again || !list || grow(w, w->cur.batch)) {
		w->st.call_err = -ENOMEM;
		snprintf(w->st.why, sizeof(w->st.why), "out of memory for a plan of %llu pages",
			 (unsigned long long)w->cur.nr);
		goto out;
	}
	rc = pass(w, w->cur.pages, w->cur.nr, again, &nr_again);
	for (unsigned r = 0; !rc && nr_again && r < w->cfg.max_retries; r++) {
		uint64_t n = nr_again;

		sleep_until(w, util_now_ns() + w->cfg.retry_delay_ns);
		if (interrupted(w)) {
			rc = -EINTR;
			break;
		}
		for (uint64_t i = 0; i < n; i++)
			list[i] = again[i].page;
		nr_again = 0;
		w->st.retry_rounds++;
		w->st.retried_pages += n;
		rc = pass(w, list, n, again, &nr_again);
	}
	if (!rc) {
		for (uint64_t i = 0; i < nr_again; i++) {
			w->st.failed[again[i].cls]++;
			w->st.pages_failed++;
			set_why(w, again[i].cls, w->st.failed[again[i].cls]);
		}
	}
	if (rc == -EINTR && w->has_pending)
		w->st.superseded++;
out:
	free(again);
	free(list);
}

static void *worker_main(void *arg)
{
	struct bankmap_worker *w = arg;

	pthread_setname_np(pthread_self(), "avmm-bmworker");
	if (w->cfg.sandbox)
		util_sandbox_enter(UTIL_SANDBOX_BMWORKER);   /* prints why when it fails */
	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->stop && !w->has_pending)
			pthread_cond_wait(&w->cond, &w->lock);
		if (w->stop)
			break;
		free(w->cur.pages);
		w->cur = w->pending;
		w->pending = (struct req){ 0 };
		w->has_pending = false;
		w->st = (struct bankmap_worker_stats){
			.request = w->cur.id, .busy = true, .target_node = w->cur.target,
			.pages_total = w->cur.nr, .superseded = w->st.superseded,
		};
		w->start_ns = util_now_ns();
		w->sent_bytes = 0;
		run(w);
		w->st.elapsed_ns = util_now_ns() - w->start_ns;
		w->st.busy = false;
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int bankmap_worker_start(const struct bankmap_worker_cfg *cfg, struct bankmap_worker **out)
{
	struct bankmap_worker *w;
	sigset_t all, old;
	int rc;

	if (!cfg || !cfg->ops || !cfg->ops->move_pages)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->cfg = *cfg;
	if (!w->cfg.max_retries)
		w->cfg.max_retries = 3;
	if (!w->cfg.retry_delay_ns)
		w->cfg.retry_delay_ns = 50ull * 1000 * 1000;
	pthread_mutex_init(&w->lock, NULL);
	util_cond_init_mono(&w->cond);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);   /* the thread inherits: no signals there */
	rc = -pthread_create(&w->th, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		pthread_cond_destroy(&w->cond);
		pthread_mutex_destroy(&w->lock);
		free(w);
		return rc;
	}
	pthread_setname_np(w->th, "avmm-bankmap");
	*out = w;
	return 0;
}

long bankmap_worker_submit(struct bankmap_worker *w, void *base, const struct bankmap_mplan *p)
{
	struct req r = { .base = (uintptr_t)base, .target = p->target_node,
			 .batch = p->batch_pages, .nr = p->nr_pages };
	long id;

	if (!p->batch_pages || p->target_node < 0 || ((uintptr_t)base & (BANKMAP_PAGE_SIZE - 1)))
		return -EINVAL;
	r.pages = malloc((p->nr_pages ? p->nr_pages : 1) * sizeof(*r.pages));
	if (!r.pages)
		return -ENOMEM;
	if (p->nr_pages)
		memcpy(r.pages, p->pages, p->nr_pages * sizeof(*r.pages));
	pthread_mutex_lock(&w->lock);
	if (w->has_pending) {             /* queued and never started: replaced */
		free(w->pending.pages);
		w->st.superseded++;
	}
	r.id = ++w->next_id;
	id = (long)r.id;
	w->pending = r;
	w->has_pending = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return id;
}

void bankmap_worker_stats(struct bankmap_worker *w, struct bankmap_worker_stats *out)
{
	pthread_mutex_lock(&w->lock);
	*out = w->st;
	if (w->st.busy)
		out->elapsed_ns = util_now_ns() - w->start_ns;
	out->busy = w->st.busy || w->has_pending;
	pthread_mutex_unlock(&w->lock);
}

int bankmap_worker_wait(struct bankmap_worker *w, uint64_t timeout_ns)
{
	uint64_t due = util_now_ns() + timeout_ns;
	int rc = 0;

	pthread_mutex_lock(&w->lock);
	while (w->st.busy || w->has_pending) {
		if (util_now_ns() >= due) {
			rc = -ETIMEDOUT;
			break;
		}
		util_cond_wait_until_ns(&w->cond, &w->lock, due);
	}
	pthread_mutex_unlock(&w->lock);
	return rc;
}

void bankmap_worker_destroy(struct bankmap_worker *w)
{
	if (!w)
		return;
	util_thread_stop(&w->lock, &w->cond, &w->stop, w->th);
	free(w->pending.pages);
	free(w->cur.pages);
	free(w->addr);
	free(w->nodes);
	free(w->status);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
