/* energy: the labelled estimate, P = idle_w + w_per_busy_core * busy_cores. */
#include "energy/energy-int.h"

#include <string.h>

#include "common/util.h"

/* Busy cores over the interval from /proc/stat; -1 unreadable, -2 no tick yet
 * (USER_HZ is coarse: then the last figure is reused when there is one). */
static double busy_from_stat(struct energy_src *s)
{
	uint64_t busy, total;
	double cores = s->last_busy_cores >= 0 ? s->last_busy_cores : -2;

	if (energy_read_host_cpu_ns(s->fsroot, &busy, &total))
		return -1;
	if (s->have_stat && total > s->prev_total_ns) {
		cores = (double)s->nr_cores * (double)(busy - s->prev_busy_ns) /
			(double)(total - s->prev_total_ns);
		s->last_busy_cores = cores;
	}
	if (!s->have_stat || total > s->prev_total_ns) {
		s->prev_busy_ns = busy;
		s->prev_total_ns = total;
	}
	s->have_stat = true;
	return cores;
}

void energy_read_estimate(struct energy_src *s, uint64_t dt, double busy_cores,
			  struct energy_reading *r)
{
	const struct energy_model *md = &s->o.model;
	struct energy_zone_reading *z = &r->zone[0];
	double p;

	r->backend = ENERGY_ESTIMATE;
	r->estimated = true;
	/* formatted once: floating-point printf was a tenth of the steady loop's tick */
	if (!s->est_source[0])
		util_fmt(s->est_source, sizeof(s->est_source), "model: %.1f W idle + %.1f W per "
			 "busy core", md->idle_w, md->w_per_busy_core);
	memcpy(r->source, s->est_source, sizeof(r->source));
	memcpy(r->why, s->est_why, UTIL_MIN(sizeof(r->why), sizeof(s->est_why)));
	r->why[sizeof(r->why) - 1] = 0;
	if (busy_cores < 0)
		busy_cores = busy_from_stat(s);
	r->up = true;
	r->nr_zones = 1;
	memset(z, 0, sizeof(*z));
	memcpy(z->id, "model", sizeof("model"));
	memcpy(z->name, "node", sizeof("node"));
	z->parent = -1;
	z->counted = z->up = true;
	if (dt && busy_cores >= 0) {
		p = energy_model_power_w(md, busy_cores, s->nr_cores);
		s->est_uj_frac += p * (double)dt / 1e3;
		r->delta_uj = (uint64_t)s->est_uj_frac;
		s->est_uj_frac -= (double)r->delta_uj;
		s->total_uj += r->delta_uj;
		r->power_w = z->power_w = p;
		r->power_valid = z->power_valid = true;
	} else if (dt) {
		util_fmt(r->note, sizeof(r->note), "no busy-core figure (%s/proc/stat %s): no "
			 "estimate this tick", strcmp(s->fsroot, "/") ? s->fsroot : "",
			 busy_cores == -1 ? "unreadable" : "has not ticked since the last read");
	}
	r->energy_uj = z->energy_uj = s->total_uj;
}
