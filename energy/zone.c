/* energy: per-zone counter state shared by the measured backends. */
#include "energy/energy-int.h"

#include <errno.h>
#include <string.h>

#include "common/util.h"

void energy_zone_update(struct energy_zone *z, int rc, uint64_t raw_uj, const char *what,
			const char *content)
{
	uint64_t d;
	bool was32 = z->r.wrap32;

	z->delta_valid = false;
	z->r.power_valid = false;
	if (rc < 0) {
		energy_explain(rc, what, content, false, z->r.why, sizeof(z->r.why));
		z->r.up = false;
		z->have_prev = false;   /* re-baseline when it comes back */
		return;
	}
	z->r.up = true;
	z->r.why[0] = '\0';
	if (!z->have_prev) {
		z->have_prev = true;
		z->prev_raw_uj = raw_uj;
		return;
	}
	if (energy_wrap_delta(z->prev_raw_uj, raw_uj, z->r.range_uj, &z->r.wrap32, &d)) {
		util_fmt(z->r.why, sizeof(z->r.why), "%s went back from %llu to %llu, more than "
			 "a wrap explains (counter reset, or reads further apart than half "
			 "the wrap time); re-baselined", what, (unsigned long long)z->prev_raw_uj,
			 (unsigned long long)raw_uj);
		z->r.up = false;
		z->prev_raw_uj = raw_uj;
		return;
	}
	if (z->r.wrap32 && !was32)
		util_fmt(z->r.why, sizeof(z->r.why), "%s wraps at 2^32 although "
			 "max_energy_range_uj is %llu: treated as a 32-bit counter", what,
			 (unsigned long long)z->r.range_uj);
	z->prev_raw_uj = raw_uj;
	z->last_delta_uj = d;
	z->delta_valid = true;
	z->r.energy_uj += d;
}

void energy_pick_counted(struct energy_meas *m)
{
	int npkg = 0;

	for (int i = 0; i < m->nr; i++) {
		struct energy_zone *z = &m->z[i];

		z->r.counted = z->r.parent < 0 && strcmp(z->ctl, "intel-rapl-mmio") &&
			       !strncmp(z->r.name, "package", 7);
		npkg += z->r.counted;
	}
	if (npkg)
		return;
	for (int i = 0; i < m->nr; i++) {
		if (m->z[i].r.parent < 0 && !strcmp(m->z[i].r.name, "psys")) {
			m->z[i].r.counted = true;
			return;
		}
	}
	for (int i = 0; i < m->nr; i++)
		if (m->z[i].r.parent < 0 && strcmp(m->z[i].ctl, "intel-rapl-mmio"))
			m->z[i].r.counted = true;
}
