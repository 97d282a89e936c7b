/* What the loop publishes into the tel object: the paging cost estimate,
 * decisions (counted once per kind, traced), held ticks, the sampling period
 * and the profile's name, and the hook for more /metrics text. */
#include "telemetry/tel_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int tel_publish_paging(struct tel *t, const struct tel_paging_estimate *e)
{
	pthread_mutex_lock(&t->lock);
	t->paging_est = *e;
	t->have_paging_est = true;
	pthread_mutex_unlock(&t->lock);
	return 0;
}

int tel_latest_paging(struct tel *t, struct tel_paging_estimate *out)
{
	int err = -ENOENT;

	pthread_mutex_lock(&t->lock);
	if (t->have_paging_est) {
		*out = t->paging_est;
		err = 0;
	}
	pthread_mutex_unlock(&t->lock);
	return err;
}

/* A decision comes again once its effect is measured (same time and what).
 * Under the lock; d is already the newest entry. */
static bool seen_before(const struct tel *t, const struct tel_decision *d)
{
	for (uint64_t q = t->nr_dec - 1; q-- > 0 && q + 16 >= t->nr_dec;) {
		const struct tel_decision *e = &t->dec[q % TEL_MAX_DECISIONS];

		if (e->t_ns == d->t_ns && !strcmp(e->what, d->what))
			return true;
	}
	return false;
}

int tel_publish_decision(struct tel *t, const struct tel_decision *d)
{
	int k;

	struct tel_decision *e;

	pthread_mutex_lock(&t->lock);
	e = &t->dec[t->nr_dec % TEL_MAX_DECISIONS];
	*e = *d;
	if (!e->wall_ns)
		e->wall_ns = tel_wall_of(e->t_ns);
	t->nr_dec++;
	for (k = 0; k < t->nr_kinds; k++)
		if (!strncmp(t->kinds[k], d->kind, sizeof(t->kinds[k])))
			break;
	if (k == t->nr_kinds && k < TEL_MAX_KINDS) {
		snprintf(t->kinds[k], sizeof(t->kinds[k]), "%.*s", (int)sizeof(d->kind) - 1,
			 d->kind);
		t->nr_kinds++;
	}
	if (k < TEL_MAX_KINDS && !seen_before(t, d))
		t->kind_counts[k]++; /* once per decision, not again with its effect */
	if (k < TEL_MAX_KINDS && d->apply_ns)
		t->kind_apply_ns[k] = d->apply_ns;
	for (int i = 0; i < t->nr_traces; i++)
		tel_trace_decision(t->traces[i], e);
	pthread_mutex_unlock(&t->lock);
	return 0;
}

int tel_publish_held(struct tel *t, const struct tel_held *h)
{
	pthread_mutex_lock(&t->lock);
	t->held = *h;
	t->have_held = true;
	pthread_mutex_unlock(&t->lock);
	return 0;
}

void tel_set_period(struct tel *t, uint64_t period_ns)
{
	pthread_mutex_lock(&t->lock);
	if (period_ns)
		t->cfg.period_ns = period_ns;
	pthread_mutex_unlock(&t->lock);
}

int tel_set_profile(struct tel *t, const char *name)
{
	char *p, *old;
	int err = 0;

	if (!name || !*name)
		return -EINVAL;
	p = strdup(name);
	if (!p)
		return -ENOMEM;
	pthread_mutex_lock(&t->lock);
	for (int i = 0; i < t->nr_traces && !err; i++)
		err = tel_trace_set_profile(t->traces[i], name);
	old = t->profile;
	t->profile = p;
	t->cfg.profile_name = p;
	pthread_mutex_unlock(&t->lock);
	free(old);
	return err;
}
