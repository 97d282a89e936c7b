/* adapt: placements that need no measurement (see place.h): planned with
 * coremap_plan, applied through the coremap actuator at start and at a
 * profile switch. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "adapt/adapt_drv.h"
#include "adapt/place.h"
#include "adapt/session_int.h"
#include "common/util.h"

bool adapt_place_is_fixed(const struct pol_profile *g)
{
	return g->enabled[POL_AD_COREMAP] && g->coremap.strategy != POL_CM_ADAPTIVE;
}

static void describe(const struct adapt_state *st, const int *plan, int n, const char *label,
		     char *what, size_t len)
{
	const struct adapt_change *cur = &st->cur[ADAPT_COREMAP];
	size_t used = (size_t)snprintf(what, len, "%s:", label);
	int i;

	for (i = 0; i < n && used < len; i++) {
		if (st->have_cur[ADAPT_COREMAP] && i < cur->u.coremap.nr && cur->u.coremap.pcpu[i] >= 0)
			used += (size_t)snprintf(what + used, len - used, "%s vcpu%d cpu%d->cpu%d",
						 i ? "," : "", i, cur->u.coremap.pcpu[i], plan[i]);
		else
			used += (size_t)snprintf(what + used, len - used, "%s vcpu%d->cpu%d",
						 i ? "," : "", i, plan[i]);
	}
}

int adapt_place_fixed(const struct pol_profile *g, const struct adapt_env *env,
		      struct adapt_state *st, int nr_vcpus, uint64_t t_ns, const char *label,
		      struct adapt_decision *d, char *note, size_t note_len)
{
	struct coremap_goal cg;
	enum coremap_strategy strategy;
	struct adapt_change c;
	char why[160];
	int rc;

	note[0] = '\0';
	if (!adapt_place_is_fixed(g) || nr_vcpus <= 0)
		return 0;
	if (nr_vcpus > ADAPT_MAX_VCPUS)
		return -EINVAL;
	adapt_cm_goal(g, env, &cg, &strategy);
	if (!env->topo) {
		snprintf(note, note_len, "no host topology: profile %s's %s placement is not applied",
			 g->name, coremap_strategy_name(strategy));
		return 0;
	}
	memset(&c, 0, sizeof(c));
	c.kind = ADAPT_COREMAP;
	c.u.coremap.nr = nr_vcpus;
	rc = coremap_plan(env->topo, strategy, NULL, nr_vcpus, &cg, c.u.coremap.pcpu, why, sizeof(why));
	if (rc) {
		snprintf(note, note_len, "profile %s: its %s placement cannot be applied: %s", g->name,
			 coremap_strategy_name(strategy), why);
		return rc;
	}
	if (st->have_cur[ADAPT_COREMAP] && adapt_change_same(&c, &st->cur[ADAPT_COREMAP])) {
		snprintf(note, note_len, "profile %s's %s placement is already in place", g->name,
			 coremap_strategy_name(strategy));
		return 0;
	}
	memset(d, 0, sizeof(*d));
	d->id = st->next_id++;
	d->t_ns = t_ns;
	d->change = c;
	describe(st, c.u.coremap.pcpu, nr_vcpus, label, d->what, sizeof(d->what));
	snprintf(d->why, sizeof(d->why), "placement set by the profile %.32s (%.8s), needs no "
		 "measurement: %.90s", g->name, coremap_strategy_name(strategy), why);
	/* as an applied change that is not measured */
	if (st->pending && st->pending_d.change.kind == ADAPT_COREMAP)
		st->pending = false;
	st->cur[ADAPT_COREMAP] = c;
	st->have_cur[ADAPT_COREMAP] = true;
	st->changed[ADAPT_COREMAP] = true;
	st->last_change_ns[ADAPT_COREMAP] = t_ns;
	st->streak[ADAPT_COREMAP] = 0;
	return 1;
}

int adapt_driver_place(struct adapt_driver *d, int nr_vcpus, uint64_t t_ns, const char *label)
{
	struct adapt_decision dec;
	char note[256];
	int rc;

	adapt_drv_warmup(d);
	pthread_mutex_lock(&d->lock);
	rc = adapt_place_fixed(&d->profile, &d->cfg.env, &d->state, nr_vcpus, t_ns, label, &dec,
			       note, sizeof(note));
	if (rc > 0)
		d->stats.decisions++;
	pthread_mutex_unlock(&d->lock);
	if (rc < 0 || (!rc && note[0] && !strstr(note, "already in place")))
		util_warn("%s", note);
	else if (note[0])
		util_debug("%s", note);
	if (rc > 0)
		adapt_drv_carry_out(d, &dec);
	return rc;
}

int adapt_session_start_vm(struct adapt_session *s)
{
	int rc;

	if (!s->driver || !adapt_place_is_fixed(&s->profile))
		return vmm_start(s->vm);
	rc = vmm_start_held(s->vm);
	if (rc)
		return rc;
	adapt_driver_place(s->driver, vmm_nr_vcpus(s->vm), util_now_ns(), "initial placement");
	return vmm_resume(s->vm, -1);
}
