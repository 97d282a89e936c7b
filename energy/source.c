/* energy: the source object: backend choice, totals, estimate, cross-check. */
#include "energy/energy-int.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"

static int open_meas(struct energy_src *s, struct energy_meas *m, enum energy_backend b)
{
	memset(m, 0, sizeof(*m));
	m->papi_set = -1;
	switch (b) {
	case ENERGY_POWERCAP: return energy_powercap_open(s, m);
	case ENERGY_PERF:     return energy_perf_open(s, m);
	case ENERGY_PAPI:     return energy_papi_open(s, m);
	default:              return -EINVAL;
	}
}

static void close_meas(struct energy_src *s, struct energy_meas *m)
{
	if (m->kind == ENERGY_PERF)
		energy_perf_close(s, m);
	else if (m->kind == ENERGY_PAPI)
		energy_papi_close(s, m);
	m->up = false;
}

static int open_auto(struct energy_src *s)
{
	static const enum energy_backend order[] = { ENERGY_POWERCAP, ENERGY_PERF, ENERGY_PAPI };
	char why[3][ENERGY_WHY_LEN];
	int rc;

	for (unsigned i = 0; i < UTIL_ARRAY_SIZE(order); i++) {
		rc = open_meas(s, &s->prim, order[i]);
		if (rc)
			return rc;
		if (s->prim.up)
			return 0;
		util_fmt(why[i], sizeof(why[i]), "%s", s->prim.why + (strncmp(s->prim.why,
			 "unavailable: ", 13) ? 0 : 13));
		if (i + 1 < UTIL_ARRAY_SIZE(order))
			close_meas(s, &s->prim);
	}
	util_fmt(s->prim.source, sizeof(s->prim.source), "none (auto: powercap, perf, papi)");
	util_fmt(s->prim.why, sizeof(s->prim.why), "unavailable: powercap: %.160s; perf: %.160s; "
		 "papi: %.150s", why[0], why[1], why[2]);
	return 0;
}

static int check_opts(const struct energy_opts *o)
{
	bool model = o->backend == ENERGY_ESTIMATE || o->fallback_estimate;

	if ((unsigned)o->backend > ENERGY_ESTIMATE)
		return -EINVAL;
	if (o->cross != ENERGY_AUTO && o->cross != ENERGY_NONE && o->cross != ENERGY_PERF &&
	    o->cross != ENERGY_PAPI)
		return -EINVAL;
	if (model && (!(o->model.idle_w >= 0) || !(o->model.w_per_busy_core >= 0) ||
		      o->model.idle_w + o->model.w_per_busy_core <= 0))
		return -EINVAL;
	if (o->nr_host_cores < 0)
		return -EINVAL;
	if (o->fsroot && strlen(o->fsroot) >= sizeof(((struct energy_src *)0)->fsroot))
		return -ENAMETOOLONG;
	return 0;
}

int energy_open(const struct energy_opts *o, struct energy_src **out)
{
	struct energy_src *s;
	int rc;

	rc = check_opts(o);
	if (rc)
		return rc;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->o = *o;
	util_fmt(s->fsroot, sizeof(s->fsroot), "%s", o->fsroot ? o->fsroot : "/");
	s->o.fsroot = s->fsroot;
	s->ops = o->ops ? o->ops : &energy_real_ops;
	s->last_busy_cores = -1;
	s->nr_cores = o->nr_host_cores ? o->nr_host_cores : (int)sysconf(_SC_NPROCESSORS_ONLN);
	s->prim.papi_set = s->cross.papi_set = -1;
	if (o->backend == ENERGY_ESTIMATE) {
		s->estimate = true;
		util_fmt(s->est_why, sizeof(s->est_why), "estimated: the estimate was asked "
			 "for (backend=estimate)");
	} else {
		rc = o->backend == ENERGY_AUTO ? open_auto(s) : open_meas(s, &s->prim, o->backend);
		if (rc)
			goto fail;
		if (!s->prim.up && o->fallback_estimate) {
			s->estimate = true;
			util_fmt(s->est_why, sizeof(s->est_why), "estimated: measured energy %s",
				 s->prim.why);
		}
	}
	if ((o->cross == ENERGY_PERF || o->cross == ENERGY_PAPI) && s->prim.up &&
	    s->prim.kind != o->cross) {
		rc = open_meas(s, &s->cross, o->cross);
		if (rc)
			goto fail;
		s->use_cross = true;
	}
	*out = s;
	return 0;
fail:
	energy_close(s);
	return rc;
}

void energy_close(struct energy_src *s)
{
	if (!s)
		return;
	close_meas(s, &s->prim);
	close_meas(s, &s->cross);
	free(s);
}

static void sample_meas(struct energy_src *s, struct energy_meas *m)
{
	if (!m->up)
		return;
	if (m->kind == ENERGY_POWERCAP)
		energy_powercap_sample(s, m);
	else if (m->kind == ENERGY_PERF)
		energy_perf_sample(s, m);
	else if (m->kind == ENERGY_PAPI)
		energy_papi_sample(s, m);
}

/* Sum of the counted zones' deltas; nvalid/ncounted say how complete. */
static uint64_t meas_delta(const struct energy_meas *m, int *nvalid, int *ncounted,
			   int *nup, const char **first_why)
{
	uint64_t sum = 0;

	*nvalid = *ncounted = *nup = 0;
	*first_why = NULL;
	for (int i = 0; i < m->nr; i++) {
		const struct energy_zone *z = &m->z[i];

		if (!z->r.counted)
			continue;
		(*ncounted)++;
		*nup += z->r.up;
		if (z->delta_valid) {
			(*nvalid)++;
			sum += z->last_delta_uj;
		} else if (!*first_why && z->r.why[0]) {
			*first_why = z->r.why;
		}
	}
	return sum;
}

static uint64_t meas_max_interval(const struct energy_meas *m)
{
	uint64_t best = 0;

	for (int i = 0; i < m->nr; i++) {
		const struct energy_zone *z = &m->z[i];
		uint64_t range = z->r.wrap32 ? (1ull << 32) : z->r.range_uj, h;

		if (!z->r.up || !range)
			continue;
		h = energy_half_wrap_ns(range, z->max_power_w);
		if (!best || h < best)
			best = h;
	}
	return best;
}

static void read_measured(struct energy_src *s, uint64_t dt, struct energy_reading *r)
{
	struct energy_meas *m = &s->prim;
	int nvalid, ncounted, nup;
	const char *why;
	uint64_t d;

	r->backend = m->kind;
	util_fmt(r->source, sizeof(r->source), "%s", m->source);
	if (!m->up) {
		util_fmt(r->why, sizeof(r->why), "%s", m->why);
		return;
	}
	sample_meas(s, m);
	d = meas_delta(m, &nvalid, &ncounted, &nup, &why);
	r->nr_zones = m->nr;
	for (int i = 0; i < m->nr; i++) {
		struct energy_zone *z = &m->z[i];

		if (z->delta_valid && dt) {
			z->r.power_w = (double)z->last_delta_uj * 1e3 / (double)dt;
			z->r.power_valid = true;
		}
		r->zone[i] = z->r;
	}
	r->max_interval_ns = meas_max_interval(m);
	if (!nup || (dt && !nvalid)) {
		util_fmt(r->why, sizeof(r->why), "unavailable: %s",
			 why ? why : "no counted zone could be read");
		return;
	}
	r->up = true;
	if (dt && nvalid < ncounted)
		util_fmt(r->note, sizeof(r->note), "partial: %d of %d counted zones (%s)",
			 nvalid, ncounted, why ? why : "re-baselined");
	s->total_uj += d;
	r->delta_uj = d;
	r->energy_uj = s->total_uj;
	if (dt) {
		r->power_w = (double)d * 1e3 / (double)dt;
		r->power_valid = true;
	}
}

static void read_cross(struct energy_src *s, uint64_t dt, struct energy_reading *r)
{
	struct energy_meas *m = &s->cross;
	int nvalid, ncounted, nup;
	const char *why;
	uint64_t d;

	util_fmt(r->cross_source, sizeof(r->cross_source), "%s", m->source);
	if (!m->up) {
		util_fmt(r->cross_why, sizeof(r->cross_why), "%s", m->why);
		return;
	}
	sample_meas(s, m);
	d = meas_delta(m, &nvalid, &ncounted, &nup, &why);
	r->cross_up = nup > 0;
	if (!r->cross_up)
		util_fmt(r->cross_why, sizeof(r->cross_why), "unavailable: %s", why ? why : "?");
	if (!dt || nvalid != ncounted || !r->power_valid)
		return;
	r->cross_power_w = (double)d * 1e3 / (double)dt;
	if (r->power_w > 0) {
		r->cross_diff_pct = 100.0 * (r->cross_power_w - r->power_w) / r->power_w;
		r->cross_valid = true;
	}
}

int energy_read(struct energy_src *s, uint64_t now_ns, double busy_cores,
		struct energy_reading *out)
{
	uint64_t dt = 0;

	if (s->have_t && now_ns < s->last_t_ns)
		return -EINVAL;
	if (s->have_t)
		dt = now_ns - s->last_t_ns;
	/* not the zones (32 of them, 10 KiB: a fifth of a steady loop tick's CPU
	 * time here): each reader fills the zones it reports, 0 .. nr_zones - 1 */
	memset(out, 0, offsetof(struct energy_reading, zone));
	memset(&out->cross_up, 0, sizeof(*out) - offsetof(struct energy_reading, cross_up));
	out->t_ns = now_ns;
	out->dt_ns = dt;
	if (s->estimate)
		energy_read_estimate(s, dt, busy_cores, out);
	else
		read_measured(s, dt, out);
	if (s->use_cross)
		read_cross(s, dt, out);
	if (out->max_interval_ns && dt > out->max_interval_ns && !out->note[0])
		util_fmt(out->note, sizeof(out->note), "read interval %.3f s exceeds %.3f s "
			 "(half the shortest wrap time): a wrap may have been missed",
			 (double)dt / 1e9, (double)out->max_interval_ns / 1e9);
	s->have_t = true;
	s->last_t_ns = now_ns;
	return 0;
}
