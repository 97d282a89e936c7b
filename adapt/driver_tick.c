/* adapt: one tick of the driver: sample, skip it while the VM is paused,
 * take a requested profile, run adapt_step under the lock, attach measured
 * effects to their log entries, count and log why adaptations wait, then
 * carry out the tick's decisions; and the one-time warm-up before the first
 * tick. */
#include "adapt/adapt_drv.h"
#include "adapt/place.h"
#include "common/util.h"

#include <stdio.h>
#include <string.h>

static void take_new_profile(struct adapt_driver *d)
{
	struct tel_decision td;
	bool have;

	pthread_mutex_lock(&d->lock);
	have = d->have_next;
	if (have) {
		memset(&td, 0, sizeof(td));
		td.t_ns = d->sample->t_ns;
		snprintf(td.kind, sizeof(td.kind), "profile");
		snprintf(td.what, sizeof(td.what), "profile %.50s -> %.50s", d->profile.name, d->next.name);
		snprintf(td.why, sizeof(td.why), "requested (objective %s, from %.150s)",
			 pol_objective_name(d->next.objective), d->next.path);
		td.dry_run = d->cfg.dry_run;
		d->profile = d->next;
		__atomic_store_n(&d->have_next, false, __ATOMIC_RELEASE);
		adapt_state_reset_goal(&d->state);
		adapt_drv_log_add(d, 0, &td);
	}
	pthread_mutex_unlock(&d->lock);
	if (have)
		adapt_drv_publish(d, &td);
	/* a fixed placement needs no measurement: this tick, no confirm ticks */
	if (have && adapt_place_is_fixed(&d->profile))
		adapt_driver_place(d, d->sample->nr_vcpus, d->sample->t_ns, "placement");
}

/* Under the lock: count the tick's hold and make the exported form. */
static void count_hold(struct adapt_driver *d, const struct adapt_out *out)
{
	struct tel_held *h = &d->held;
	const char *kind = out->hold ? adapt_kind_name(out->hold_kind) : "";
	const char *reason = adapt_hold_name(out->hold);
	int i;

	h->t_ns = d->sample->t_ns;
	snprintf(h->adaptation, sizeof(h->adaptation), "%s", kind);
	snprintf(h->reason, sizeof(h->reason), "%s", reason);
	h->left_ns = out->hold_left_ns;
	h->period_ns = out->next_period_ns;
	h->full_every_ns = adapt_drv_judge_steady(d, out->hold != ADAPT_HOLD_NONE);
	snprintf(h->note, sizeof(h->note), "%s", out->note);
	d->stats.period_ns = out->next_period_ns;
	if (!out->hold)
		return;
	d->stats.held[out->hold_kind][out->hold]++;
	for (i = 0; i < h->nr; i++)
		if (!strcmp(h->c[i].adaptation, kind) && !strcmp(h->c[i].reason, reason))
			break;
	if (i == h->nr && h->nr < TEL_MAX_HELD) {
		snprintf(h->c[i].adaptation, sizeof(h->c[i].adaptation), "%s", kind);
		snprintf(h->c[i].reason, sizeof(h->c[i].reason), "%s", reason);
		h->c[i].ticks = 0;
		h->nr++;
	}
	if (i < h->nr)
		h->c[i].ticks++;
}

/* At -v, once per change of the hold (not every tick). */
static void log_hold(struct adapt_driver *d, const struct adapt_out *out)
{
	if (out->hold == d->last_hold && (!out->hold || out->hold_kind == d->last_hold_kind))
		return;
	if (out->hold && out->hold_left_ns)
		util_info("%s held: %s, %.1f s left (%s)", adapt_kind_name(out->hold_kind),
			  adapt_hold_name(out->hold), (double)out->hold_left_ns / 1e9, out->note);
	else if (out->hold)
		util_info("%s held: %s (%s)", adapt_kind_name(out->hold_kind),
			  adapt_hold_name(out->hold), out->note);
	else if (d->last_hold)
		util_info("%s no longer held (%s)", adapt_kind_name(d->last_hold_kind),
			  out->nr ? "decided" : out->note);
	d->last_hold = out->hold;
	d->last_hold_kind = out->hold_kind;
}

/* A paused VM is not slow: a tick while it is paused, or whose interval saw
 * a pause or resume, measures nothing and decides nothing. */
static bool vm_paused(struct adapt_driver *d)
{
	uint64_t tr = 0;
	bool now;

	if (!d->cfg.paused)
		return false;
	now = d->cfg.paused(d->cfg.vm_arg, &tr);
	if (!now && tr == d->pause_transitions)
		return false;
	d->pause_transitions = tr;
	pthread_mutex_lock(&d->lock);
	d->stats.paused_ticks++;
	snprintf(d->last_note, sizeof(d->last_note), "%s", now ? "VM paused: no decision, no "
		 "measurement" : "VM resumed during the tick: no decision, no measurement");
	pthread_mutex_unlock(&d->lock);
	return true;
}

int adapt_driver_tick(struct adapt_driver *d)
{
	struct tel_held held;
	struct adapt_out out;
	struct tel_decision td;
	uint64_t t0, dt;
	int i, rc;

	__atomic_store_n(&d->want_full, false, __ATOMIC_RELAXED);  /* this tick sees it */
	rc = d->cfg.sample(d->cfg.sample_arg, &d->sample);
	if (rc) {
		pthread_mutex_lock(&d->lock);
		d->stats.sample_errors++;
		pthread_mutex_unlock(&d->lock);
		return rc;
	}
	if (vm_paused(d))
		return 0;
	take_new_profile(d);
	pthread_mutex_lock(&d->lock);
	t0 = util_now_ns();
	rc = adapt_step(&d->profile, &d->cfg.env, &d->state, d->sample, &out);
	dt = util_now_ns() - t0;
	d->stats.ticks++;
	d->stats.step_ns_total += dt;
	if (dt > d->stats.step_ns_max)
		d->stats.step_ns_max = dt;
	d->stats.decisions += (uint64_t)out.nr;
	d->stats.pg_computed = d->state.pg.computed;
	d->stats.pg_reused = d->state.pg.reused;
	snprintf(d->last_note, sizeof(d->last_note), "%s", out.note);
	if (!rc) {
		d->next_period_ns = out.next_period_ns;
		count_hold(d, &out);
		held = d->held;
	}
	/* effects of earlier decisions */
	for (i = 0; !rc && i < out.nr_effects; i++) {
		struct adapt_log_entry *e = adapt_drv_log_find(d, out.effect[i].id);

		if (!e)
			continue;
		snprintf(e->d.effect, sizeof(e->d.effect), "%s", out.effect[i].text);
		td = e->d;
		pthread_mutex_unlock(&d->lock);
		adapt_drv_publish(d, &td);
		pthread_mutex_lock(&d->lock);
	}
	pthread_mutex_unlock(&d->lock);
	if (rc)
		return rc;
	log_hold(d, &out);
	if (d->cfg.held)
		d->cfg.held(d->cfg.held_arg, &held);
	if (out.have_paging && d->cfg.paging)
		d->cfg.paging(d->cfg.paging_arg, &out.paging);
	for (i = 0; i < out.nr; i++)
		adapt_drv_carry_out(d, &out.d[i]);
	return 0;
}

UTIL_HOT void adapt_drv_warmup(struct adapt_driver *d)
{
	if (!d->warm && d->cfg.warmup)
		d->cfg.warmup(d->cfg.warmup_arg, &d->cfg.env);
	if (!d->warm) {
		pthread_mutex_lock(&d->lock);
		d->stats.warm = true;
		pthread_mutex_unlock(&d->lock);
	}
	d->warm = true;
}
