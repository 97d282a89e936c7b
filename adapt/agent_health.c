/* The node agent's health watch (proactive fault tolerance): once per
 * [health] period it reads the node's EDAC, thermal throttle and
 * machine-check counts under --fsroot, asks the pure adapt_health_step
 * whether the node is predicted to fail, and on a prediction migrates every
 * registered VM to the machine file's [migration] target the way `avmm ctl
 * migrate` does (connect, pass the socket to the VM's control socket). A
 * refused migration is retried after retry_ms, doubling each time. Every
 * prediction and migration is a decision (kind "health") with its reason. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapt/session_int.h"
#include "common/util.h"

#define MAX_BACKOFF 16

int adapt_agent_health_init(struct adapt_session *s)
{
	struct agent_health *h = calloc(1, sizeof(*h));
	char err[1024];
	const char *t;

	if (!h)
		return -ENOMEM;
	pthread_mutex_init(&h->lock, NULL);
	adapt_health_init(&h->st);
	s->agent->health = h;
	if (pol_targets_load(s->cfg.machine_file, &h->targets, err, sizeof(err))) {
		util_err("agent: machine file: %s", err);
		return -EINVAL;
	}
	t = pol_target_for(&h->targets, "");
	if (t || h->targets.nr)
		util_info("agent: migration target %s (%d per-VM) from %s", t ? t : "none",
			  h->targets.nr, h->targets.path);
	else
		util_info("agent: no migration target (%s): on a predicted node failure the "
			  "agent only logs", h->targets.why);
	return 0;
}

void adapt_agent_health_exit(struct adapt_session *s)
{
	if (!s->agent || !s->agent->health)
		return;
	pthread_mutex_destroy(&s->agent->health->lock);
	free(s->agent->health);
	s->agent->health = NULL;
}

static void publish(struct adapt_session *s, const char *what, const char *why,
		    const char *effect)
{
	struct tel_decision d = { .t_ns = util_now_ns() };

	snprintf(d.kind, sizeof(d.kind), "health");
	snprintf(d.what, sizeof(d.what), "%s", what);
	snprintf(d.why, sizeof(d.why), "%s", why);
	snprintf(d.effect, sizeof(d.effect), "%s", effect);
	d.dry_run = s->cfg.dry_run;
	if (s->tel)
		tel_publish_decision(s->tel, &d);
}

/* One VM to addr: 0, or -errno with why (the summary when it moved). */
static int migrate_one(const char *ctl, const char *addr, char *why, size_t len)
{
	enum vmm_migrate_stage stage;
	char *ans = NULL;
	int rc;

	if (!ctl[0]) {
		snprintf(why, len, "its control socket is unknown (it registered without one)");
		return -ENOENT;
	}
	rc = vmm_migrate_request(ctl, addr, &ans, &stage, why, len);
	free(ans);
	return rc;
}

/* Every VM not moved yet; the agent's lock is not held while a VM moves. */
static void migrate_all(struct adapt_session *s, struct agent_health *h, const char *reason,
			uint64_t retry_ns)
{
	struct adapt_agent *a = s->agent;
	struct { char name[72], ctl[108]; pid_t pid; } vm[AGENT_MAX_VMS];
	int n = 0, failed = 0;

	pthread_mutex_lock(&a->lock);
	for (int i = 0; i < a->nr_vms; i++)
		if (!a->vm[i].migrated) {
			snprintf(vm[n].name, sizeof(vm[n].name), "%s", a->vm[i].name);
			snprintf(vm[n].ctl, sizeof(vm[n].ctl), "%s", a->vm[i].ctl);
			vm[n++].pid = a->vm[i].pid;
		}
	pthread_mutex_unlock(&a->lock);
	for (int k = 0; k < n; k++) {
		const char *addr = pol_target_for(&h->targets, vm[k].name);
		char what[128], why[300];
		int rc;

		snprintf(what, sizeof(what), "migrate VM %s (pid %d) to %s", vm[k].name,
			 (int)vm[k].pid, addr ? addr : "(no target)");
		if (!addr) {
			snprintf(why, sizeof(why), "no migration target: add [migration] target = "
				 "tcp:HOST:PORT to %s", h->targets.path);
			rc = -ENOENT;
		} else if (s->cfg.dry_run) {
			snprintf(why, sizeof(why), "dry run");
			rc = 0;
		} else {
			rc = migrate_one(vm[k].ctl, addr, why, sizeof(why));
		}
		if (rc == -EINPROGRESS) {   /* it may run there: never tried again, left paused */
			util_warn("agent: health: %s unconfirmed, the VM is paused here (resume it "
				  "only if the target does not run it): %s", what, why);
		} else if (rc) {
			failed++;
			util_warn("agent: health: %s failed, the VM runs on here: %s", what, why);
		} else {
			util_info("agent: health: %s: %s", what, why);
		}
		publish(s, what, reason, rc == -EINPROGRESS ? "unconfirmed, paused here" :
			rc ? "failed, runs on here" : "done");
		pthread_mutex_lock(&h->lock);
		if (rc == -EINPROGRESS)
			h->migrated_unconfirmed++;
		else if (rc)
			h->migrated_failed++;
		else if (!s->cfg.dry_run)
			h->migrated_ok++;
		pthread_mutex_unlock(&h->lock);
		pthread_mutex_lock(&a->lock);
		for (int i = 0; (!rc || rc == -EINPROGRESS) && i < a->nr_vms; i++)
			if (a->vm[i].pid == vm[k].pid)
				a->vm[i].migrated = true;
		pthread_mutex_unlock(&a->lock);
	}
	if (!failed) {
		h->backoff_ns = 0;
		h->retry_at_ns = 0;
		return;
	}
	h->backoff_ns = h->backoff_ns ? UTIL_MIN(h->backoff_ns * 2, retry_ns * MAX_BACKOFF) :
					retry_ns;
	h->retry_at_ns = util_now_ns() + h->backoff_ns;
	util_warn("agent: health: %d of %d migration(s) failed; next try in %.0f s", failed, n,
		  (double)h->backoff_ns / 1e9);
}

int adapt_agent_health_tick(struct adapt_session *s)
{
	struct agent_health *h = s->agent->health;
	struct pol_profile *p = malloc(sizeof(*p));
	struct tel_health_sample smp;
	struct adapt_health_verdict v;
	uint64_t now = util_now_ns();
	bool was;
	int wait_ms = 1000;

	if (!p || !h)
		goto out;
	pthread_mutex_lock(&s->agent->lock);
	if (s->driver)
		adapt_driver_get_profile(s->driver, p);   /* a switched profile counts */
	else
		*p = s->profile;
	pthread_mutex_unlock(&s->agent->lock);
	if (!p->health.enabled)
		goto out;
	if (now < h->next_ns) {
		wait_ms = (int)((h->next_ns - now) / 1000000) + 1;
		goto out;
	}
	h->next_ns = now + p->health.period_ns;
	wait_ms = (int)(p->health.period_ns / 1000000);
	tel_health_read(s->cfg.fsroot, now, &smp);
	adapt_health_step(p, &h->st, &smp, &v);
	if (strcmp(v.unavailable, h->unavailable)) {
		snprintf(h->unavailable, sizeof(h->unavailable), "%s", v.unavailable);
		if (v.unavailable[0])
			util_info("agent: health: %d of %d sources read; unavailable: %s", v.nr_up,
				  TEL_HEALTH_SRC_COUNT, v.unavailable);
	}
	pthread_mutex_lock(&h->lock);
	was = h->have && h->v.failing;
	h->last = smp;
	h->v = v;
	h->have = true;
	if (v.failing && !was)
		h->predicted_total++;
	pthread_mutex_unlock(&h->lock);
	if (v.failing && !was) {
		util_warn("agent: health: node predicted to fail: %s (action %s)", v.reason,
			  p->health.action == POL_HEALTH_LOG ? "log" : "migrate every VM");
		publish(s, "predicted node failure", v.reason,
			p->health.action == POL_HEALTH_LOG ? "logged (action log)" : "migrating");
	} else if (!v.failing && was) {
		util_info("agent: health: no longer predicted to fail");
		h->backoff_ns = h->retry_at_ns = 0;
	}
	if (v.failing && p->health.action == POL_HEALTH_MIGRATE && now >= h->retry_at_ns)
		migrate_all(s, h, v.reason, p->health.retry_ns);
out:
	free(p);
	return UTIL_MAX(wait_ms, 10);
}

