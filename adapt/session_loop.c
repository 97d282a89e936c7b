/* The session's control loop: the driver with its sample and publish
 * hooks, the topology warm-up, and the coremap actuator. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapt/session_int.h"
#include "common/hoststate.h"
#include "common/util.h"

/* The thread's CPUs before avmm first changes them, in the journal. */
static int journal_affinity(struct adapt_session *s, pid_t tid, char *msg, size_t len)
{
	cpu_set_t cur;
	int rc;

	if (!s->state)
		return 0;
	if (sched_getaffinity(tid, sizeof(cur), &cur) < 0) {
		snprintf(msg, len, "reading thread %d's CPUs: %s", tid, strerror(errno));
		return -errno;
	}
	rc = util_state_save_affinity(s->state, tid, &cur);
	if (rc)
		snprintf(msg, len, "not pinning thread %d: its CPUs could not be saved to %s",
			 tid, util_state_path(s->state));
	return rc;
}

int adapt_session_nr_vcpus(const struct adapt_session *s)
{
	return s->agent ? s->agent->nr_slots : vmm_nr_vcpus(s->vm);
}

pid_t adapt_session_vcpu_tid(const struct adapt_session *s, int i)
{
	return s->agent ? s->agent->slot[i].tid : vmm_vcpu_tid(s->vm, i);
}

/* pcpu -1 unpins: the thread gets back the CPUs the process started with. */
static int unpin(struct adapt_session *s, pid_t tid, char *msg, size_t len)
{
	if (sched_setaffinity(tid, sizeof(s->start_cpus), &s->start_cpus) == 0)
		return 0;
	snprintf(msg, len, "unpinning thread %d: %s", tid, strerror(errno));
	return -errno;
}

static int apply_coremap(void *ctx, const struct adapt_change *c, char *msg, size_t len)
{
	struct adapt_session *s = ctx;
	struct coremap_apply_result r;
	pid_t tids[ADAPT_MAX_VCPUS];
	int cpus[ADAPT_MAX_VCPUS], i, n = 0, rc;

	for (i = 0; i < c->u.coremap.nr && i < adapt_session_nr_vcpus(s); i++) {
		if (adapt_session_vcpu_tid(s, i) <= 0)
			continue; /* not started (or gone): nothing to pin */
		if ((rc = journal_affinity(s, adapt_session_vcpu_tid(s, i), msg, len)))
			return rc;
		if (c->u.coremap.pcpu[i] >= 0) {
			tids[n] = adapt_session_vcpu_tid(s, i);
			cpus[n++] = c->u.coremap.pcpu[i];
		} else if ((rc = unpin(s, adapt_session_vcpu_tid(s, i), msg, len))) {
			return rc;
		}
	}
	rc = coremap_apply(&coremap_real_ops, tids, cpus, n, &r);
	if (rc)
		snprintf(msg, len, "%s", r.why);
	else
		snprintf(msg, len, "pinned %d vCPU thread(s) in %.1f us", r.nr_moved,
			 r.latency_ns / 1e3);
	return rc;
}

/* The loop's sample; the session's energy hook inside it also refreshes the
 * host load per CPU that the coremap proposal reads (env.pu_busy_pct). */
static int session_sample(void *arg, const struct tel_sample **out)
{
	struct adapt_session *s = arg;

	return tel_sample_ref(s->tel, out);
}

UTIL_HOT static int session_probe(void *arg, uint64_t now_ns, struct tel_probe *out)
{
	struct adapt_session *s = arg;

	return tel_probe(s->tel, now_ns, out);
}

/* A decision to telemetry; after a profile switch (the control socket's
 * "profile", an experiment's phase) telemetry names the new profile: the
 * driver has taken it before it publishes the switch. */
static void tel_publish_fn(void *arg, const struct tel_decision *d)
{
	struct adapt_session *s = arg;
	struct pol_profile *p;

	if (!strcmp(d->kind, "profile") && s->driver && (p = malloc(sizeof(*p)))) {
		adapt_driver_get_profile(s->driver, p);
		if (tel_set_profile(s->tel, p->name))
			util_warn("telemetry still names the old profile: out of memory");
		free(p);
	}
	tel_publish_decision(s->tel, d);
}

/* Why the loop waits, and the period it samples at, to telemetry. */
static void tel_held_fn(void *arg, const struct tel_held *h)
{
	struct adapt_session *s = arg;

	__atomic_store_n(&s->loop_period_ns, h->period_ns, __ATOMIC_RELAXED);
	if (!s->tel)
		return;
	tel_publish_held(s->tel, h);
	tel_set_period(s->tel, h->period_ns);
}

/* On the loop thread, one period after start: the host topology (hwloc
 * takes tens of ms) for the coremap proposals. */
static void warmup(void *arg, struct adapt_env *env)
{
	struct adapt_session *s = arg;
	uint64_t c0 = util_thread_cpu_ns(), c1;

	if (coremap_topo_load(NULL, &s->topo))
		util_warn("no host topology: vCPU mapping stays as it is");
	env->topo = s->topo;
	c1 = util_thread_cpu_ns();
	adapt_session_oneoff(s, "warm-up: host topology (hwloc)", c1 - c0);
	if (s->paging) {
		adapt_session_paging_warmup(s, env);
		adapt_session_oneoff(s, "warm-up: paging-mode probe and MADV_COLLAPSE try",
				     util_thread_cpu_ns() - c1);
	}
}

int adapt_session_loop_init(struct adapt_session *s)
{
	struct adapt_driver_cfg c = {
		.profile = &s->profile,
		.sample = session_sample, .sample_arg = s,
		.publish = tel_publish_fn, .publish_arg = s,
		.held = tel_held_fn, .held_arg = s,
		/* the agent pins other processes' threads, which need no pause */
		.pause = s->vm ? adapt_vmm_pause : NULL, .resume = s->vm ? adapt_vmm_resume : NULL,
		.paused = s->vm ? adapt_vmm_paused : NULL,
		.vm_arg = s->vm,
		.dry_run = s->cfg.dry_run,
		.profile_dirs = s->dirs, .nr_profile_dirs = s->nr_dirs,
	};
	struct adapt_actuator cm = { "coremap", ADAPT_COREMAP, false, apply_coremap, s };
	struct adapt_actuator en = { "energy", ADAPT_ENERGY, false, adapt_session_apply_energy, s };
	/* the worker promotes or demotes on its own thread: no pause */
	struct adapt_actuator pg = { "paging-mode", ADAPT_PAGING, false, adapt_session_apply_paging, s };
	int rc;

	if (s->cfg.no_adapt)
		return 0;
	adapt_env_init(&c.env);
	c.env.pu_busy_pct = s->pu_busy_pct;
	c.env.nr_pu_busy = ADAPT_CPU_LOAD_MAX;
	c.warmup = warmup;
	c.warmup_arg = s;
	/* a trace has one record per period, an experiment's phases are
	 * measured from every period's sample: no quiet ticks then */
	if (!s->cfg.nr_traces && !s->cfg.every_tick) {
		c.probe = session_probe;
		c.probe_arg = s;
	}
	if (s->paging)
		adapt_session_paging_loop(s, &c);
	adapt_session_bankmap_env(s, &c.env);
	rc = adapt_driver_create(&c, &s->driver);
	if (rc)
		return rc;
	rc = adapt_driver_register(s->driver, &cm);
	if (!rc)
		rc = adapt_driver_register(s->driver, &en);
	if (!rc && s->paging)
		rc = adapt_driver_register(s->driver, &pg);
	if (!rc)
		rc = adapt_session_bankmap_register(s);   /* its actuator, the initial placement */
	if (!rc && s->ctl && !s->agent)   /* the agent's "profile" follows its rebuilds */
		rc = adapt_driver_ctl_register(s->driver, s->ctl);
	return rc;
}

void adapt_session_loop_exit(struct adapt_session *s)
{
	if (s->driver) {
		adapt_driver_stop(s->driver);
		adapt_driver_destroy(s->driver);
	}
	coremap_topo_free(s->topo);
	s->driver = NULL;
	s->topo = NULL;
}
