/* The session's live page-size actuator: a paging-mode worker over guest
 * RAM, its loop actuator, the operator's requests (wrapped into the loop's
 * paging proposal), the tick's paging sample and the profile's initial
 * backing. The control commands are in session_paging_ctl.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "adapt/adapt_drv.h"
#include "adapt/session_int.h"
#include "common/util.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

/* smaps is re-read at once when the worker's request ended, every
 * BACKING_BUSY_NS while it works, and else when adapt_mem_reread_due says
 * (page faults or the host's huge pages moved: after 10 s; in any case after
 * 600 s): one read walks every mapping of the process (about 2.7 ms here). */
#define BACKING_BUSY_NS 1000000000ull

/* Guest RAM is one host mapping (vmm-core/memory.c): from the first region's
 * start to the end of the last. */
int adapt_session_paging_init(struct adapt_session *s)
{
	struct adapt_paging *pg;
	int rc;

	if (s->cfg.agent || !s->vm)
		return 0;   /* the agent cannot madvise another process's memory */
	pg = calloc(1, sizeof(*pg));
	if (!pg)
		return -ENOMEM;
	pthread_mutex_init(&pg->lock, NULL);
	/* anon RAM is mapped MADV_NOHUGEPAGE, thp and hugetlbfs as 2 MiB */
	pg->initial = s->cfg.vm.backing == VMM_BACKING_ANON ? PGMODE_PAGE_4K : PGMODE_PAGE_2M;
	s->paging = pg;
	if ((rc = adapt_session_guest_ram(s->vm, &pg->hva, &pg->bytes))) {
		snprintf(pg->why, sizeof(pg->why), "no guest RAM region to work on");
	} else if (s->cfg.vm.backing == VMM_BACKING_HUGETLBFS) {
		snprintf(pg->why, sizeof(pg->why), "guest RAM is hugetlbfs (--mem-backing "
			 "hugetlbfs): fixed 2 MiB pages, no live page-size change");
	} else if ((rc = pgmode_worker_create(pg->hva, pg->bytes,
					      s->profile.paging.promote_quota_mib_per_s, &pg->w))) {
		snprintf(pg->why, sizeof(pg->why), "the page-size worker did not start: %s",
			 strerror(-rc));
		util_warn("paging-mode: %s; guest RAM keeps its backing", pg->why);
	}
	if (s->tel)
		tel_set_paging_fn(s->tel, adapt_session_paging_sample, s);
	adapt_session_paging_hint_load(s, pg);
	return 0;
}

void adapt_session_paging_exit(struct adapt_session *s)
{
	struct adapt_paging *pg = s->paging;

	if (!pg)
		return;
	if (s->tel) {
		adapt_session_paging_hint_save(s, pg);
		tel_set_paging_fn(s->tel, NULL, NULL);   /* waits for a sample in flight */
	}
	if (s->driver)
		adapt_driver_stop(s->driver);            /* no actuator call after this */
	pgmode_worker_destroy(pg->w);
	adapt_session_memsig_close(s);
	pthread_mutex_destroy(&pg->lock);
	free(pg);
	s->paging = NULL;
}

/* On the sampling thread (telemetry's, or the loop's through tel_sample). */
int adapt_session_paging_sample(void *arg, uint64_t now_ns, struct tel_paging_sample *out)
{
	struct adapt_session *s = arg;
	struct adapt_paging *pg = s->paging;
	struct pgmode_worker_stats st;
	uint64_t age, faults;
	bool moved;

	if (!pg || !pg->bytes)
		return 0;
	adapt_session_meminfo(s, now_ns);
	memset(&st, 0, sizeof(st));
	if (pg->w)
		pgmode_worker_stats(pg->w, &st);
	moved = false;
	if (pg->backing_t_ns && now_ns - pg->check_t_ns >= ADAPT_MEM_MIN_AGE_NS) {
		/* the host's huge pages count only where khugepaged may work on guest
		 * RAM (thp backing, or promoted to 2 MiB): elsewhere RAM is
		 * MADV_NOHUGEPAGE and other processes' THP are not ours */
		bool thp = pg->initial == PGMODE_PAGE_2M || st.target == PGMODE_PAGE_2M;

		faults = adapt_session_faults(s, now_ns);   /* every 10 s, not every tick */
		moved = faults != pg->read_faults ||
			(thp && s->memsig.anon_huge_kib != pg->read_huge_kib);
		pg->check_t_ns = now_ns;
		pg->settled |= !moved;   /* a fault check found nothing new since the read */
	}
	age = now_ns - pg->backing_t_ns;
	/* a request that ended (or began and ended) since the last read shows at once */
	if (!pg->backing_t_ns || adapt_mem_reread_due(age, moved) || (st.busy && age >= BACKING_BUSY_NS) ||
	    (!st.busy && (pg->was_busy || st.target != pg->read_target ||
			  st.ranges_done != pg->read_done))) {
		uint64_t c0 = util_thread_cpu_ns();

		pg->read_target = st.target;
		pg->read_done = st.ranges_done;
		if (pgmode_read_backing(s->cfg.fsroot, 0, (uint64_t)(uintptr_t)pg->hva, pg->bytes,
					&pg->backing) && !pg->backing.why[0])
			snprintf(pg->backing.why, sizeof(pg->backing.why), "smaps not readable");
		pg->backing_t_ns = now_ns;
		pg->read_faults = adapt_session_faults(s, 0);
		pg->check_t_ns = now_ns;
		pg->read_huge_kib = s->memsig.anon_huge_kib;
		pg->smaps_ns_last = util_thread_cpu_ns() - c0;
		pg->settled |= pg->smaps_reads >= 1;   /* re-read for the faults since */
		if (pg->smaps_reads++ < 2)
			adapt_session_oneoff(s, pg->smaps_reads == 1 ?
					     "first smaps read (page sizes of guest RAM)" :
					     "smaps read again (page faults since the first)",
					     pg->smaps_ns_last);
	}
	pg->was_busy = st.busy;
	out->valid = pg->backing.valid;
	out->ram_bytes = pg->bytes;
	out->rss_bytes = pg->backing.rss;
	out->bytes_4k = pg->backing.bytes_4k;
	out->bytes_2m = pg->backing.bytes_2m;
	out->bytes_1g = pg->backing.bytes_1g;
	out->backing_t_ns = pg->backing_t_ns;
	out->target = st.target;
	out->busy = st.busy;
	out->ranges_total = st.ranges_total;
	out->ranges_done = st.ranges_done;
	out->collapse_ok = st.collapse_ok;
	out->err_einval = st.err_einval;
	out->err_eagain = st.err_eagain;
	out->err_enomem = st.err_enomem;
	out->err_other = st.err_other;
	out->collapse_errors = st.err_einval + st.err_eagain + st.err_enomem + st.err_other;
	out->quota_mib_per_s = pg->w ? s->profile.paging.promote_quota_mib_per_s : 0;
	out->mem_available_pct = s->memsig.mem_available_pct;
	snprintf(out->why, sizeof(out->why), "%.159s", !pg->backing.valid ? pg->backing.why :
		 !pg->w ? pg->why : st.last_error);
	return 0;
}

int adapt_session_apply_paging(void *ctx, const struct adapt_change *c, char *msg, size_t len)
{
	struct adapt_session *s = ctx;
	struct adapt_paging *pg = s->paging;
	enum pgmode_page b = (enum pgmode_page)c->u.paging.backing;
	char why[PGMODE_WHY] = "";
	int rc;

	if (b == PGMODE_PAGE_KEEP) {
		snprintf(msg, len, "the host paging mode is fixed while KVM is loaded: "
			 "`avmm paging host-mode` between runs");
		return -EOPNOTSUPP;
	}
	if (!pg || !pg->w) {
		snprintf(msg, len, "%s", pg ? pg->why : "no guest RAM in this process");
		return -ENODEV;
	}
	rc = pgmode_worker_request(pg->w, b, why, sizeof(why));
	if (rc) {
		snprintf(msg, len, "%s", why[0] ? why : strerror(-rc));
		return rc;
	}
	pthread_mutex_lock(&pg->lock);
	if (pg->op_req == b) {
		pg->op_req = PGMODE_PAGE_KEEP;   /* the operator's request is carried out */
		pg->op_set = b;
		pg->op_set_ns = util_now_ns();
	} else {
		pg->op_set = PGMODE_PAGE_KEEP;   /* the loop's own choice ends the pin */
	}
	pthread_mutex_unlock(&pg->lock);
	snprintf(msg, len, "worker: %llu MiB to %s at %.0f MiB/s%s",
		 (unsigned long long)(pg->bytes >> 20), pgmode_page_name(b),
		 s->profile.paging.promote_quota_mib_per_s,
		 s->profile.paging.promote_quota_mib_per_s > 0 ? "" : " (no quota)");
	return 0;
}

/* The loop's paging proposal: the operator's request while it differs from
 * the backing the loop has set (a constraint: no gain test, not reverted),
 * else the built-in cost model's; what the operator set is not undone by a
 * mere predicted gain for the profile's revert_cooldown_ms (a constraint,
 * e.g. memory pressure, still is). Runs under the driver's lock. */
static int model_proposal(const struct pol_profile *g, const struct adapt_env *env,
			  const struct adapt_state *st, const struct tel_sample *smp,
			  struct adapt_paging *pg, struct adapt_proposal *out)
{
	enum pgmode_page pin;
	uint64_t since;
	int rc = adapt_propose_paging(g, env, st, smp, NULL, out);

	if (rc < 0 || !out->valid || out->constraint)
		return rc;
	pthread_mutex_lock(&pg->lock);
	pin = pg->op_set;
	since = pg->op_set_ns;
	pthread_mutex_unlock(&pg->lock);
	if (pin != PGMODE_PAGE_KEEP && out->change.u.paging.backing != (int)pin &&
	    smp->t_ns < since + g->revert_cooldown_ns)
		out->valid = false;   /* the operator's backing holds */
	return rc;
}

static int propose_paging(const struct pol_profile *g, const struct adapt_env *env,
			  const struct adapt_state *st, const struct tel_sample *smp, void *arg,
			  struct adapt_proposal *out)
{
	struct adapt_session *s = arg;
	struct adapt_paging *pg = s->paging;
	const struct adapt_change *cur = &st->cur[ADAPT_PAGING];
	enum pgmode_page req = PGMODE_PAGE_KEEP, now;

	if (!pg)
		return adapt_propose_paging(g, env, st, smp, NULL, out);
	now = st->have_cur[ADAPT_PAGING] && cur->u.paging.backing ?
		(enum pgmode_page)cur->u.paging.backing : pg->initial;
	pthread_mutex_lock(&pg->lock);
	req = pg->op_req;
	if (req == now)
		pg->op_req = req = PGMODE_PAGE_KEEP;
	pthread_mutex_unlock(&pg->lock);
	if (req == PGMODE_PAGE_KEEP)
		return model_proposal(g, env, st, smp, pg, out);
	memset(out, 0, sizeof(*out));
	out->valid = true;
	out->constraint = true;
	out->change.kind = ADAPT_PAGING;
	out->change.u.paging.mode = st->have_cur[ADAPT_PAGING] ? cur->u.paging.mode : env->paging_mode;
	out->change.u.paging.backing = req;
	snprintf(out->what, sizeof(out->what), "backing %s->%s (operator)", pgmode_page_name(now),
		 pgmode_page_name(req));
	snprintf(out->why, sizeof(out->why), "the operator asked for %s pages backing guest RAM "
		 "(avmm ctl backing)", pgmode_page_name(req));
	return 0;
}

static void estimate_fn(void *arg, const struct tel_paging_estimate *e)
{
	struct adapt_session *s = arg;

	if (s->tel)
		tel_publish_paging(s->tel, e);
}

void adapt_session_paging_loop(struct adapt_session *s, struct adapt_driver_cfg *c)
{
	c->env.propose[ADAPT_PAGING] = propose_paging;
	c->env.propose_arg[ADAPT_PAGING] = s;
	c->paging = estimate_fn;
	c->paging_arg = s;
}

/* MADV_COLLAPSE on a scratch range populated under 4 KiB pages. */
static bool collapse_works(char *why, size_t len)
{
	size_t sz = 4u << 20, huge = 2u << 20;
	char *p = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *a;
	int rc = 0;

	if (p == MAP_FAILED) {
		snprintf(why, len, "no scratch range to try MADV_COLLAPSE on: %s", strerror(errno));
		return false;
	}
	a = (char *)(((uintptr_t)p + huge - 1) & ~(uintptr_t)(huge - 1));
	madvise(a, huge, MADV_NOHUGEPAGE);
	a[0] = 1;
	if (madvise(a, huge, MADV_HUGEPAGE) || madvise(a, huge, MADV_COLLAPSE))
		rc = errno;
	munmap(p, sz);
	if (!rc || rc == EAGAIN || rc == ENOMEM) {
		snprintf(why, len, "MADV_COLLAPSE works on anonymous memory%s",
			 rc ? " (no free 2 MiB page on the try)" : "");
		return true;
	}
	snprintf(why, len, "MADV_COLLAPSE on a scratch range: %s%s", strerror(rc),
		 rc == EINVAL ? " (Linux < 6.1, or THP disabled: see "
		 "/sys/kernel/mm/transparent_hugepage/enabled)" : "");
	return false;
}

/* The host's paging mode and levers (sysfs only; the MADV_COLLAPSE try is
 * collapse_works) and the calibrated cost of one paging exit. */
static void host_paging(struct adapt_session *s, struct adapt_env *env)
{
	struct pgmode_host h;
	char dir[256], why[256];
	double cost_ns;

	if (pgmode_probe(s->cfg.fsroot, PGMODE_PROBE_NO_SYSCALLS, &h) == 0) {
		env->paging_mode = h.mode == PGMODE_MODE_NESTED ? ADAPT_PG_NESTED
				 : h.mode == PGMODE_MODE_SHADOW ? ADAPT_PG_SHADOW : ADAPT_PG_UNKNOWN;
		env->paging_nested_available = h.nested.available || h.host_switch.available;
	}
	pgmode_state_dir(dir, sizeof(dir));
	if (pgmode_calibration_load(dir, &cost_ns, why, sizeof(why)) == 0) {
		env->paging_exit_cost_ns = cost_ns;
		util_info("paging-mode: one paging exit costs %.0f ns on this host (calibrated)", cost_ns);
	} else {
		util_info("paging-mode: %s; the profile's exit_cost_ns is used", why);
	}
}

/* On the loop thread at warm-up (slow probes stay off the start path). */
void adapt_session_paging_warmup(struct adapt_session *s, struct adapt_env *env)
{
	struct adapt_paging *pg = s->paging;

	if (!pg)
		return;
	host_paging(s, env);
	if (!pg->w) {
		env->paging_collapse = false;
		snprintf(env->paging_collapse_why, sizeof(env->paging_collapse_why), "%.159s", pg->why);
		return;
	}
	env->paging_collapse = collapse_works(env->paging_collapse_why,
					      sizeof(env->paging_collapse_why));
}

/* The profile's [paging-mode] backing (4k or 2m) when the VM starts: a
 * placement that needs no measurement, a decision in the loop's log. */
int adapt_session_paging_start(struct adapt_session *s)
{
	struct adapt_paging *pg = s->paging;
	enum pgmode_page b = (enum pgmode_page)s->profile.paging.backing;
	struct adapt_driver *d = s->driver;
	struct adapt_decision dec;
	char why[PGMODE_WHY];
	bool hint = false;

	if (pg && b == PGMODE_PAGE_KEEP && pg->hint.backing != PGMODE_PAGE_KEEP) {
		b = pg->hint.backing;
		hint = true;
	}
	if (!pg || !pg->w || (b != PGMODE_PAGE_4K && b != PGMODE_PAGE_2M))
		return 0;
	util_info("paging-mode: guest RAM starts on %s pages: %s", pgmode_page_name(b),
		  hint ? pg->hint.recommend : "the profile's [paging-mode] backing");
	if (!d) {
		if (pgmode_worker_request(pg->w, b, why, sizeof(why)))
			util_warn("paging-mode: initial backing %s: %s", pgmode_page_name(b), why);
		return 0;
	}
	memset(&dec, 0, sizeof(dec));
	pthread_mutex_lock(&d->lock);
	dec.id = d->state.next_id++;
	dec.t_ns = util_now_ns();
	dec.change.kind = ADAPT_PAGING;
	dec.change.u.paging.mode = d->cfg.env.paging_mode;
	dec.change.u.paging.backing = b;
	snprintf(dec.what, sizeof(dec.what), "initial backing %s", pgmode_page_name(b));
	if (hint)
		snprintf(dec.why, sizeof(dec.why), "the last run of this guest: %.160s",
			 pg->hint.recommend);
	else
		snprintf(dec.why, sizeof(dec.why), "set by the profile %.64s ([paging-mode] "
			 "backing), needs no measurement", d->profile.name);
	d->state.cur[ADAPT_PAGING] = dec.change;
	d->state.have_cur[ADAPT_PAGING] = true;
	d->state.changed[ADAPT_PAGING] = true;
	d->state.last_change_ns[ADAPT_PAGING] = dec.t_ns;
	d->stats.decisions++;
	pthread_mutex_unlock(&d->lock);
	adapt_drv_carry_out(d, &dec);
	return 0;
}
