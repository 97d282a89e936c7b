/* The session's bankmap in the loop: the tick's sample of where guest RAM
 * lives (the harvest of the written-page sets, a bounded move_pages query,
 * each vCPU's remote share, the worker's progress), the migration actuator (the worker moves the pages on its own
 * thread, never a vCPU's; the guest is not paused) and the initial
 * placement as the loop's first bankmap decision. */
#include <errno.h>
#include <numaif.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapt/adapt_drv.h"
#include "adapt/session_bankmap.h"
#include "common/util.h"

/* Guest RAM by node from the histogram, scaled to all of it. */
static void by_node(const struct bankmap_hist *h, uint64_t ram_bytes, struct tel_bankmap_sample *o)
{
	uint64_t seen = h->nr_pages - h->unknown;

	o->nr_nodes = 0;
	for (int n = 0; n < BANKMAP_MAX_NODES && o->nr_nodes < TEL_MAX_NODES; n++) {
		if (!h->pages[n])
			continue;
		o->node[o->nr_nodes] = n;
		o->node_bytes[o->nr_nodes++] = seen ? (uint64_t)((double)h->pages[n] * BANKMAP_PAGE_SIZE *
								 (double)h->nr_pages / (double)seen) : 0;
		o->present_pages += h->pages[n];
	}
	o->ram_bytes = ram_bytes;
	o->nr_pages = h->nr_pages;
	o->absent_pages = h->absent;
	o->unknown_pages = h->unknown;
	o->error_pages = h->errors;
	o->pages_queried = h->pages_queried;
	o->complete = h->complete;
}

/* Each vCPU's remote share: over the pages it wrote in the window where the
 * dirty ring gives a set per vCPU (basis written), else over all resident
 * guest pages (basis all: tracking off, or the VM-wide bitmap). A vCPU none
 * of whose written pages has been sampled yet has no share (no-pages). */
static void remote(struct adapt_bankmap *bm, const struct bankmap_hist *h, const int8_t *status,
		   const struct tel_sample *ts, struct tel_bankmap_sample *o)
{
	struct adapt_bm_written *w = &bm->written;
	bool per_vcpu = w->mode == VMM_DIRTY_RING && status;

	o->nr_vcpus = ts->nr_vcpus;
	o->written_sets = per_vcpu;
	for (int i = 0; i < ts->nr_vcpus && i < TEL_MAX_VCPUS; i++) {
		struct tel_bankmap_vcpu *v = &o->vcpu[i];
		bool mine = per_vcpu && i < w->nr_sets;
		struct bankmap_remote r;
		int cpu = ts->vcpu[i].pcpu;

		v->node = -1;
		v->basis = mine ? TEL_BM_BASIS_WRITTEN : TEL_BM_BASIS_ALL;
		v->written_pages = mine ? w->pages[i] : 0;
		if (i < VMM_MAX_VCPUS)
			w->node[i] = -1;
		if (cpu < 0) {
			v->why = TEL_BM_NO_CPU;
			continue;
		}
		if (cpu >= bm->topo.nr_cpus || cpu >= BANKMAP_MAX_CPUS || bm->topo.cpu_node[cpu] < 0) {
			v->why = TEL_BM_NO_NODE;
			continue;
		}
		v->node = (int16_t)bm->topo.cpu_node[cpu];
		if (i < VMM_MAX_VCPUS)
			w->node[i] = v->node;
		if (mine) {
			if (adapt_bm_written_share(w, i, v->node, status, &r) || r.remote_pct < 0) {
				v->why = TEL_BM_NO_PAGES;
				continue;
			}
			v->remote_pct = r.remote_pct;
		} else if (o->present_pages) {
			v->remote_pct = 100.0 * (double)(o->present_pages - h->pages[v->node]) /
					(double)o->present_pages;
		} else {
			v->why = TEL_BM_NO_PAGES;
			continue;
		}
		v->valid = true;
		v->why = TEL_BM_OK;
	}
}

static void worker_part(struct adapt_bankmap *bm, struct tel_bankmap_sample *o)
{
	struct bankmap_worker_stats w;

	if (!bm->worker)
		return;
	bankmap_worker_stats(bm->worker, &w);
	o->mig_valid = true;
	o->mig_busy = w.busy;
	o->mig_target = w.request ? w.target_node : -1;
	o->mig_requests = bm->requests;
	o->mig_errors = bm->errors;
	o->mig_pages_total = w.pages_total;
	o->mig_pages_done = w.pages_done;
	o->mig_pages_failed = w.pages_failed;
	for (int i = 0; i < BANKMAP_F_NR && i < 5; i++)
		o->mig_failed[i] = w.failed[i];
	o->mig_bytes_moved = w.bytes_moved;
	if (w.why[0])
		snprintf(o->why, sizeof(o->why), "%.159s", w.why);
}

/* Where one node holds all memory nothing can be remote and only faults
 * (or reclaim) change the histogram: once a full pass is done, the next pass
 * starts when adapt_mem_reread_due says (the process took page faults: after
 * 10 s; in any case after 600 s), not every tick (a tick's query of 4096
 * pages costs about 1 ms here). A pass in progress goes on every tick. */
static bool steady_one_node(struct adapt_session *s, struct adapt_bankmap *bm,
			    const struct bankmap_hist *h, uint64_t now_ns)
{
	uint64_t faults;

	if (!bm->have_topo || adapt_bm_memory_nodes(&bm->topo) != 1 || !h->complete ||
	    bm->pass_open)
		return false;
	if (now_ns - bm->check_t_ns < ADAPT_MEM_MIN_AGE_NS)
		return true;   /* faults checked every 10 s, not every tick */
	bm->check_t_ns = now_ns;
	faults = adapt_session_faults(s, now_ns);
	bm->settled |= faults == bm->pass_faults;   /* a check found nothing new */
	return !adapt_mem_reread_due(now_ns - bm->pass_start_ns, faults != bm->pass_faults);
}

/* A pass over guest RAM (as many pages queried as it has): when it began,
 * the page faults of the process's other threads then, and its
 * CPU time, kept for the bench's amortised figure. before: the pages
 * queried before this tick's query. */
static void pass_account(struct adapt_session *s, struct adapt_bankmap *bm,
			 const struct bankmap_hist *h, uint64_t before, uint64_t now_ns,
			 uint64_t cpu_ns)
{
	if (!bm->pass_open) {
		bm->pass_open = true;
		bm->pass_start_ns = now_ns;
		bm->pass_cpu_ns = 0;
		bm->pass_queried0 = before;
		bm->pass_faults = adapt_session_faults(s, 0);
		bm->check_t_ns = now_ns;
	}
	bm->pass_cpu_ns += cpu_ns;
	if (h->pages_queried - bm->pass_queried0 >= h->nr_pages) {
		char what[96];

		bm->pass_open = false;
		bm->pass_cpu_ns_last = bm->pass_cpu_ns;
		bm->settled |= bm->passes >= 1;   /* passed again for the faults since */
		if (bm->passes++ < 2) {
			snprintf(what, sizeof(what), "bankmap's %s pass over guest RAM (%llu pages)%s",
				 bm->passes == 1 ? "first" : "second", (unsigned long long)h->nr_pages,
				 bm->passes == 1 ? "" : " (page faults since the first)");
			adapt_session_oneoff(s, what, bm->pass_cpu_ns);
		}
	}
}

int adapt_session_bankmap_sample(void *arg, uint64_t now_ns, const struct tel_sample *ts,
				 struct tel_bankmap_sample *out)
{
	struct adapt_session *s = arg;
	struct adapt_bankmap *bm = s->bankmap;
	struct bankmap_hist h;
	const int8_t *status;
	uint64_t t0, nr;
	int rc, hrc;

	memset(out, 0, sizeof(*out));
	if (!bm || !bm->sampler)
		return 0;
	pthread_mutex_lock(&bm->lock);
	hrc = adapt_bm_written_harvest(&bm->written, s->vm, now_ns);
	bankmap_sampler_hist(bm->sampler, &h);
	rc = 0;
	if (!steady_one_node(s, bm, &h, now_ns)) {
		uint64_t before = h.pages_queried, c0 = util_thread_cpu_ns();

		t0 = util_now_ns();
		rc = bankmap_sampler_tick(bm->sampler, &bankmap_real_ops, bm->sample_why,
					  sizeof(bm->sample_why));
		out->query_ns = util_now_ns() - t0;
		bm->last_query_ns = now_ns;
		bankmap_sampler_hist(bm->sampler, &h);
		pass_account(s, bm, &h, before, now_ns, util_thread_cpu_ns() - c0);
	}
	status = bankmap_sampler_status(bm->sampler, &nr);
	by_node(&h, bm->bytes, out);
	if (bm->have_topo)
		remote(bm, &h, nr == bm->written.nr_pages ? status : NULL, ts, out);
	adapt_bm_written_export(&bm->written, s->vm, now_ns, out);
	out->valid = true;
	if (rc < 0)
		snprintf(out->why, sizeof(out->why), "%.159s", bm->sample_why);
	else if (hrc < 0)
		snprintf(out->why, sizeof(out->why), "%.159s", bm->written.why);
	worker_part(bm, out);
	pthread_mutex_unlock(&bm->lock);
	return 0;
}

void adapt_session_bankmap_env(struct adapt_session *s, struct adapt_env *env)
{
	if (s->bankmap && s->bankmap->have_topo)
		env->bm_topo = &s->bankmap->topo;
}

/* The actuator: bind the range to the target (new pages go there), then the
 * worker moves the pages that are elsewhere, in batches under the quota: the
 * written pages of the vCPUs on the target first, then the rest. */
static int apply_bankmap(void *ctx, const struct adapt_change *c, char *msg, size_t len)
{
	struct adapt_session *s = ctx;
	struct adapt_bankmap *bm = s->bankmap;
	struct bankmap_plan plan = { .policy = BANKMAP_EXPLICIT };
	struct bankmap_mplan mp;
	const int8_t *status;
	uint64_t nr, *first = NULL;
	size_t nr_first = 0;
	char why[BANKMAP_WHY_LEN];
	long id;
	int rc, node = c->u.bankmap.node;

	if (bm->initial) {
		bm->initial = false;
		snprintf(msg, len, "guest RAM was bound before the guest ran");
		return 0;
	}
	if (node < 0 || node >= BANKMAP_MAX_NODES || !bm->worker) {
		snprintf(msg, len, node < 0 ? "no single target node: nothing to migrate"
			 : "no migration worker");
		return node < 0 ? 0 : -ENODEV;
	}
	plan.mode = s->profile.bankmap.strict ? MPOL_BIND : MPOL_PREFERRED;
	plan.nodemask = 1ull << node;
	if ((rc = bankmap_bind(bm->hva, bm->bytes, &plan, &bankmap_real_ops, &bm->topo, why,
			       sizeof(why)))) {
		bm->errors++;
		snprintf(msg, len, "%s", why);
		return rc;
	}
	pthread_mutex_lock(&bm->lock);
	status = bm->sampler ? bankmap_sampler_status(bm->sampler, &nr) : NULL;
	if (!status)
		nr = bm->bytes / BANKMAP_PAGE_SIZE;
	rc = bm->written.nr_pages == nr ? adapt_bm_written_first(&bm->written, node, &first,
								   &nr_first) : 0;
	if (!rc)
		rc = bankmap_migrate_plan(nr, status, node, first, nr_first, BM_BATCH_PAGES, &mp);
	if (!rc)   /* a new window: the pages written from now on */
		adapt_bm_written_reset(&bm->written, util_now_ns());
	pthread_mutex_unlock(&bm->lock);
	free(first);
	if (rc) {
		bm->errors++;
		snprintf(msg, len, "planning the migration to node %d: %s", node, strerror(-rc));
		return rc;
	}
	id = mp.nr_pages ? bankmap_worker_submit(bm->worker, bm->hva, &mp) : 0;
	if (id < 0) {
		bm->errors++;
		snprintf(msg, len, "the worker refused the migration: %s", strerror((int)-id));
	} else {
		bm->requests += mp.nr_pages ? 1 : 0;
		snprintf(msg, len, "worker moves %llu pages to node %d (%llu written first) at <= %.0f MiB/s",
			 (unsigned long long)mp.nr_pages, node, (unsigned long long)mp.nr_first,
			 s->profile.bankmap.migrate_quota_mib_per_s);
	}
	bankmap_mplan_free(&mp);
	return id < 0 ? (int)id : 0;
}

/* The initial placement as a decision: in the log, the traces, /metrics and
 * the dashboard timeline; the loop's state holds it (not measured, not
 * reverted: the operator's placement). */
static void initial_decision(struct adapt_session *s, struct adapt_bankmap *bm)
{
	struct adapt_driver *d = s->driver;
	struct adapt_decision dec;

	memset(&dec, 0, sizeof(dec));
	pthread_mutex_lock(&d->lock);
	dec.id = d->state.next_id++;
	dec.t_ns = util_now_ns();
	dec.change = bm->change;
	snprintf(dec.what, sizeof(dec.what), "%s", bm->what);
	snprintf(dec.why, sizeof(dec.why), "%s", bm->why);
	d->state.cur[ADAPT_BANKMAP] = bm->change;
	d->state.have_cur[ADAPT_BANKMAP] = true;
	d->stats.decisions++;
	pthread_mutex_unlock(&d->lock);
	bm->initial = true;
	adapt_drv_carry_out(d, &dec);
	bm->initial = false;
}

int adapt_session_bankmap_register(struct adapt_session *s)
{
	/* the worker migrates on its own thread: no pause */
	struct adapt_actuator a = { "bankmap", ADAPT_BANKMAP, false, apply_bankmap, s };
	int rc;

	if (!s->bankmap || !s->driver)
		return 0;
	rc = adapt_driver_register(s->driver, &a);
	if (!rc && s->bankmap->placed)
		initial_decision(s, s->bankmap);
	return rc;
}
