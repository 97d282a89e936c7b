/* adapt: carrying out a decision: the actuator registered for its kind
 * (the vCPUs paused around it when the actuator asks), the outcome counted
 * in the stats, the decision log (a ring of ADAPT_LOG_SIZE, searched by
 * decision id when its effect is measured) and publishing each entry. */
#include "adapt/adapt_drv.h"
#include "common/util.h"

#include <stdio.h>
#include <string.h>

/* Under the lock. */
struct adapt_log_entry *adapt_drv_log_add(struct adapt_driver *d, uint64_t id, const struct tel_decision *td)
{
	struct adapt_log_entry *e = &d->log[d->log_next % ADAPT_LOG_SIZE];

	e->id = id;
	e->d = *td;
	d->log_next++;
	return e;
}

struct adapt_log_entry *adapt_drv_log_find(struct adapt_driver *d, uint64_t id)
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
void adapt_drv_publish(struct adapt_driver *d, const struct tel_decision *td)
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

void adapt_drv_carry_out(struct adapt_driver *d, const struct adapt_decision *dec)
{
	struct tel_decision td;

	actuate(d, dec, &td);
	pthread_mutex_lock(&d->lock);
	adapt_drv_log_add(d, dec->id, &td);
	pthread_mutex_unlock(&d->lock);
	adapt_drv_publish(d, &td);
}
