/* Taking a sample of the tel object: one sample into the ring (on the
 * caller's thread or telemetry's own), the newest one, and the hooks a sample
 * calls (energy, paging, bankmap). */
#include "telemetry/tel_int.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "common/util.h"

/* own: on telemetry's own thread, whose CPU time between two samples (the
 * wait and the wake-up) is telemetry's cost too. */
UTIL_HOT static const struct tel_sample *sample(struct tel *t, struct tel_sample *out, bool own)
{
	/* on its own thread, one CPU clock read per sample covers it all */
	uint64_t t0 = util_now_ns(), w0 = tel_wall_ns();
	uint64_t c0 = own && t->own_cpu_ns ? 0 : util_thread_cpu_ns();
	uint64_t c1, now;
	struct tel_sample *s, *prev = NULL;
	const char *ev[TEL_MAX_EVENTS];
	double busy = 0;
	int nev;

	pthread_mutex_lock(&t->lock);
	__atomic_store_n(&t->exports_read, false, __ATOMIC_RELAXED);
	nev = t->hw ? t->hw_ops->names(t->hw, ev, TEL_MAX_EVENTS) : 0;
	s = tel_slot(t, t->nr_samples);
	if (t->nr_samples)
		prev = tel_slot(t, t->nr_samples - 1);
	/* the vCPUs' records are written in full by tel_collect */
	memset(s, 0, offsetof(struct tel_sample, vcpu));
	s->seq = t->nr_samples;
	s->t_ns = t0;
	s->wall_ns = w0;
	s->dt_ns = prev ? t0 - prev->t_ns : 0;
	tel_collect(t, s);
	tel_derive(prev, s);
	for (int i = 0; i < s->nr_vcpus; i++)
		busy += s->vcpu[i].cpu_pct / 100.0;
	if (t->energy_fn) {
		int err = t->energy_fn(t->energy_arg, s, busy, &s->energy);

		if (err || !s->energy.up)
			tel_set_down(&t->src[TEL_SRC_ENERGY], "energy source: %s",
				     err ? strerror(-err) : "reported unavailable");
		else
			t->src[TEL_SRC_ENERGY] = (struct tel_source_status){ .up = true };
		if (err)
			s->energy.up = false;
		tel_attribute_energy(t, s);
	}
	if (t->paging_fn && t->paging_fn(t->paging_arg, t0, &s->paging) < 0)
		s->paging.valid = false;
	if (t->bankmap_fn && t->bankmap_fn(t->bankmap_arg, t0, s, &s->bankmap) < 0)
		s->bankmap.valid = false;
	memcpy(s->src, t->src, sizeof(s->src));
	for (int i = 0; i < t->nr_traces; i++)
		tel_trace_sample(t->traces[i], s, ev, nev);
	now = util_now_ns();
	s->tel_sample_ns = now - t0;
	c1 = util_thread_cpu_ns();
	t->sampler_cpu_ns += c1 - (c0 ? c0 : t->own_cpu_ns);
	t->own_cpu_ns = own ? c1 : 0;
	s->tel_cpu_ns = t->sampler_cpu_ns + t->http_cpu_ns;
	t->nr_samples++;
	if (out)
		tel_copy_sample(t, out, s);
	pthread_mutex_unlock(&t->lock);
	return s;
}

UTIL_HOT int tel_sample(struct tel *t, struct tel_sample *out)
{
	sample(t, out, false);
	return 0;
}

UTIL_HOT int tel_sample_ref(struct tel *t, const struct tel_sample **out)
{
	*out = sample(t, NULL, false);
	return 0;
}

UTIL_HOT int tel_sample_own(struct tel *t)
{
	sample(t, NULL, true);
	return 0;
}

int tel_latest(struct tel *t, struct tel_sample *out)
{
	int err = -ENOENT;

	pthread_mutex_lock(&t->lock);
	if (t->nr_samples) {
		tel_copy_sample(t, out, tel_slot(t, t->nr_samples - 1));
		err = 0;
	}
	pthread_mutex_unlock(&t->lock);
	return err;
}

void tel_set_energy_fn(struct tel *t, tel_energy_fn fn, void *arg)
{
	pthread_mutex_lock(&t->lock);
	t->energy_fn = fn;
	t->energy_arg = arg;
	if (fn)
		tel_set_down(&t->src[TEL_SRC_ENERGY], "not sampled yet");
	pthread_mutex_unlock(&t->lock);
}

void tel_set_paging_fn(struct tel *t, tel_paging_fn fn, void *arg)
{
	pthread_mutex_lock(&t->lock);
	t->paging_fn = fn;
	t->paging_arg = arg;
	pthread_mutex_unlock(&t->lock);
}

void tel_set_bankmap_fn(struct tel *t, tel_bankmap_fn fn, void *arg)
{
	pthread_mutex_lock(&t->lock);
	t->bankmap_fn = fn;
	t->bankmap_arg = arg;
	pthread_mutex_unlock(&t->lock);
}
