/* adapt: the driver thread: sample -> adapt_step -> actuate, the decision
 * log, profile swaps. */
#include "adapt/adapt_drv.h"
#include "adapt/place.h"
#include "common/sandbox.h"
#include "common/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int adapt_driver_create(const struct adapt_driver_cfg *cfg, struct adapt_driver **out)
{
	struct adapt_driver *d;
	pthread_condattr_t ca;

	if (!cfg || !cfg->profile || !cfg->sample || !out)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->cfg = *cfg;
	d->cfg.profile = NULL;
	d->cfg.env.dry_run = cfg->dry_run;
	d->profile = *cfg->profile;
	adapt_state_init(&d->state);
	pthread_mutex_init(&d->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->cond, &ca);
	pthread_condattr_destroy(&ca);
	*out = d;
	return 0;
}

int adapt_driver_register(struct adapt_driver *d, const struct adapt_actuator *a)
{
	int i, rc = 0;

	if (!a || !a->apply || (unsigned)a->kind >= ADAPT_KIND_COUNT)
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	for (i = 0; i < d->nr_act; i++)
		if (d->act[i].kind == a->kind)
			rc = -EEXIST;
	if (!rc && d->nr_act >= ADAPT_MAX_ACTUATORS)
		rc = -ENOSPC;
	if (!rc)
		d->act[d->nr_act++] = *a;
	pthread_mutex_unlock(&d->lock);
	return rc;
}

/* Under the lock. */
static struct adapt_log_entry *log_add(struct adapt_driver *d, uint64_t id, const struct tel_decision *td)
{
	struct adapt_log_entry *e = &d->log[d->log_next % ADAPT_LOG_SIZE];

	e->id = id;
	e->d = *td;
	d->log_next++;
	return e;
}

static struct adapt_log_entry *log_find(struct adapt_driver *d, uint64_t id)
{
	uint64_t i, n = d->log_next < ADAPT_LOG_SIZE ? d->log_next : ADAPT_LOG_SIZE;

	for (i = 1; i <= n; i++) {
		struct adapt_log_entry *e = &d->log[(d->log_next - i) % ADAPT_LOG_SIZE];

		if (e->id == id)
			return e;
	}
	return NULL;
}

/* Each decision, and again when its effect is measured: exported, and in
 * the log at -v. */
static void publish(struct adapt_driver *d, const struct tel_decision *td)
{
	util_info("%s %s: %s (%s)%s%s", td->effect[0] ? "effect of" : "decision", td->kind,
		  td->what, td->why, td->effect[0] ? ": " : "", td->effect);
	if (d->cfg.publish)
		d->cfg.publish(d->cfg.publish_arg, td);
}

static const struct adapt_actuator *actuator_for(struct adapt_driver *d, enum adapt_kind k)
{
	int i;

	for (i = 0; i < d->nr_act; i++)
		if (d->act[i].kind == k)
			return &d->act[i];
	return NULL;
}

static void take_new_profile(struct adapt_driver *d)
{
	struct tel_decision td;
	bool have;

	pthread_mutex_lock(&d->lock);
	have = d->have_next;
	if (have) {
		memset(&td, 0, sizeof(td));
		td.t_ns = d->sample.t_ns;
		snprintf(td.kind, sizeof(td.kind), "profile");
		snprintf(td.what, sizeof(td.what), "profile %.50s -> %.50s", d->profile.name, d->next.name);
		snprintf(td.why, sizeof(td.why), "requested (objective %s, from %.150s)",
			 pol_objective_name(d->next.objective), d->next.path);
		td.dry_run = d->cfg.dry_run;
		d->profile = d->next;
		d->have_next = false;
		adapt_state_reset_goal(&d->state);
		log_add(d, 0, &td);
	}
	pthread_mutex_unlock(&d->lock);
	if (have)
		publish(d, &td);
	/* a fixed placement needs no measurement: this tick, no confirm ticks */
	if (have && adapt_place_is_fixed(&d->profile))
		adapt_driver_place(d, d->sample.nr_vcpus, d->sample.t_ns, "placement");
}

/* Carry out one decision; returns the exported form with the outcome. */
static void actuate(struct adapt_driver *d, const struct adapt_decision *dec, struct tel_decision *td)
{
	const struct adapt_actuator *a;
	char msg[96] = "";
	uint64_t t0, dt;
	int rc;

	pthread_mutex_lock(&d->lock);
	a = actuator_for(d, dec->change.kind);
	pthread_mutex_unlock(&d->lock);
	adapt_decision_to_tel(dec, NULL, d->cfg.dry_run, td);
	if (d->cfg.dry_run || !a) {
		if (!a && !d->cfg.dry_run)
			snprintf(td->effect, sizeof(td->effect), "not applied: no %s actuator registered",
				 adapt_kind_name(dec->change.kind));
		adapt_state_not_applied(&d->state, dec);
		pthread_mutex_lock(&d->lock);
		d->stats.not_applied++;
		pthread_mutex_unlock(&d->lock);
		return;
	}
	t0 = util_now_ns();
	if (a->needs_pause && d->cfg.pause)
		rc = d->cfg.pause(d->cfg.vm_arg, -1);
	else
		rc = 0;
	if (!rc) {
		rc = a->apply(a->ctx, &dec->change, msg, sizeof(msg));
		if (a->needs_pause && d->cfg.resume)
			d->cfg.resume(d->cfg.vm_arg, -1);
	} else {
		snprintf(msg, sizeof(msg), "pausing the vCPUs failed: %s", strerror(-rc));
	}
	dt = util_now_ns() - t0;
	pthread_mutex_lock(&d->lock);
	if (a->needs_pause && dt > d->stats.pause_ns_max)
		d->stats.pause_ns_max = dt;
	if (rc) {
		d->stats.failed++;
		snprintf(td->effect, sizeof(td->effect), "failed: %.80s", msg[0] ? msg : strerror(-rc));
	} else {
		td->apply_ns = dt;
		d->stats.applied++;
		d->stats.reverts += dec->revert;
	}
	pthread_mutex_unlock(&d->lock);
	if (rc) {
		util_warn("%s actuator %s: %s", adapt_kind_name(dec->change.kind), a->name, td->effect);
		adapt_state_not_applied(&d->state, dec);
	}
}

/* Under the lock: count the tick's hold and make the exported form. */
static void count_hold(struct adapt_driver *d, const struct adapt_out *out)
{
	struct tel_held *h = &d->held;
	const char *kind = out->hold ? adapt_kind_name(out->hold_kind) : "";
	const char *reason = adapt_hold_name(out->hold);
	int i;

	h->t_ns = d->sample.t_ns;
	snprintf(h->adaptation, sizeof(h->adaptation), "%s", kind);
	snprintf(h->reason, sizeof(h->reason), "%s", reason);
	h->left_ns = out->hold_left_ns;
	h->period_ns = out->next_period_ns;
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
	rc = adapt_step(&d->profile, &d->cfg.env, &d->state, &d->sample, &out);
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
		struct adapt_log_entry *e = log_find(d, out.effect[i].id);

		if (!e)
			continue;
		snprintf(e->d.effect, sizeof(e->d.effect), "%s", out.effect[i].text);
		td = e->d;
		pthread_mutex_unlock(&d->lock);
		publish(d, &td);
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

void adapt_drv_carry_out(struct adapt_driver *d, const struct adapt_decision *dec)
{
	struct tel_decision td;

	actuate(d, dec, &td);
	pthread_mutex_lock(&d->lock);
	log_add(d, dec->id, &td);
	pthread_mutex_unlock(&d->lock);
	publish(d, &td);
}

void adapt_drv_warmup(struct adapt_driver *d)
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

/* The first tick comes one period after start, like every other. */
static void *loop(void *arg)
{
	struct adapt_driver *d = arg;
	struct timespec ts;
	uint64_t next = util_now_ns(), period;

	/* Named here, before its filter, so a seccomp report names it. */
	pthread_setname_np(pthread_self(), "avmm-adapt");
	util_sandbox_enter(UTIL_SANDBOX_DRIVER);       /* prints why when it fails */
	pthread_mutex_lock(&d->lock);
	for (;;) {
		/* adapt_step's choice (fast while something changes), the
		 * profile's fast period before the first tick and after a swap */
		period = d->have_next ? (d->next.fast_period_ns ? d->next.fast_period_ns : d->next.period_ns)
				      : d->next_period_ns ? d->next_period_ns
				      : d->profile.fast_period_ns ? d->profile.fast_period_ns
				      : d->profile.period_ns;
		if (period > d->profile.period_ns && !d->have_next)
			period = d->profile.period_ns;
		next += period;
		if (next < util_now_ns())
			next = util_now_ns(); /* overran: do not catch up in a burst */
		ts.tv_sec = (time_t)(next / 1000000000ull);
		ts.tv_nsec = (long)(next % 1000000000ull);
		while (!d->stop && util_now_ns() < next)
			if (pthread_cond_timedwait(&d->cond, &d->lock, &ts) == ETIMEDOUT)
				break;
		if (d->stop)
			break;
		pthread_mutex_unlock(&d->lock);
		adapt_drv_warmup(d);
		adapt_driver_tick(d);
		pthread_mutex_lock(&d->lock);
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

int adapt_driver_start(struct adapt_driver *d)
{
	int rc;

	if (d->running)
		return -EALREADY;
	d->stop = false;
	rc = -pthread_create(&d->thread, NULL, loop, d);
	if (rc)
		return rc;
	d->running = true;
	return 0;
}

void adapt_driver_stop(struct adapt_driver *d)
{
	if (!d || !d->running)
		return;
	pthread_mutex_lock(&d->lock);
	d->stop = true;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
	pthread_join(d->thread, NULL);
	d->running = false;
}

void adapt_driver_destroy(struct adapt_driver *d)
{
	if (!d)
		return;
	adapt_driver_stop(d);
	pthread_cond_destroy(&d->cond);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

int adapt_driver_set_profile(struct adapt_driver *d, const struct pol_profile *p)
{
	if (!d || !p)
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	d->next = *p;
	d->have_next = true;
	pthread_mutex_unlock(&d->lock);
	return 0;
}

void adapt_driver_get_profile(struct adapt_driver *d, struct pol_profile *out)
{
	pthread_mutex_lock(&d->lock);
	*out = d->have_next ? d->next : d->profile;
	pthread_mutex_unlock(&d->lock);
}

int adapt_driver_log(struct adapt_driver *d, struct tel_decision *out, int max)
{
	uint64_t n, i;

	pthread_mutex_lock(&d->lock);
	n = d->log_next < ADAPT_LOG_SIZE ? d->log_next : ADAPT_LOG_SIZE;
	if (max >= 0 && n > (uint64_t)max)
		n = (uint64_t)max;
	for (i = 0; i < n; i++)
		out[i] = d->log[(d->log_next - n + i) % ADAPT_LOG_SIZE].d;
	pthread_mutex_unlock(&d->lock);
	return (int)n;
}

void adapt_driver_held(struct adapt_driver *d, struct tel_held *out)
{
	pthread_mutex_lock(&d->lock);
	*out = d->held;
	pthread_mutex_unlock(&d->lock);
}

void adapt_driver_stats(struct adapt_driver *d, struct adapt_driver_stats *out)
{
	pthread_mutex_lock(&d->lock);
	*out = d->stats;
	pthread_mutex_unlock(&d->lock);
}
