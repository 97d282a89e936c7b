/* energy: RAPL through PAPI's "powercap" component (ENERGY_UJ events).
 * libpapi is loaded on first use, only where /sys/class/powercap exists. */
#include "energy/energy-int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/papi.h"
#include "common/util.h"

static int papi_init(char *why, size_t wl)
{
	char msg[ENERGY_WHY_LEN - 16];

	if (util_papi_init(msg, sizeof(msg))) {
		util_fmt(why, wl, "unavailable: %s", msg);
		return -ENODEV;
	}
	return 0;
}

/* "powercap:::ENERGY_UJ:ZONE1_SUBZONE0" -> "/sys/class/powercap/intel-rapl:1:0". */
static void zone_from_event(struct energy_src *s, struct energy_zone *z, const char *ev)
{
	const char *p = strstr(ev, ":ZONE");
	char path[160], buf[64];
	int zn = -1, sub = -1;

	if (p)
		sscanf(p, ":ZONE%d_SUBZONE%d", &zn, &sub);
	if (sub >= 0)
		util_fmt(z->dir, sizeof(z->dir), ENERGY_POWERCAP_DIR "/intel-rapl:%d:%d", zn, sub);
	else
		util_fmt(z->dir, sizeof(z->dir), ENERGY_POWERCAP_DIR "/intel-rapl:%d", zn);
	util_fmt(z->r.id, sizeof(z->r.id), "papi:%s", p ? p + 1 : ev);
	util_fmt(z->ctl, sizeof(z->ctl), "papi");
	util_fmt(path, sizeof(path), "%s/name", z->dir);
	if (s->ops->read_file(s->ops->ctx, s->fsroot, path, buf, sizeof(buf)) > 0)
		util_fmt(z->r.name, sizeof(z->r.name), "%.*s", (int)strcspn(buf, "\n"), buf);
	else
		util_fmt(z->r.name, sizeof(z->r.name), sub >= 0 ? "zone%d-sub%d" : "zone%d",
			 zn, sub);
	z->r.parent = -1;
	util_fmt(path, sizeof(path), "%s/max_energy_range_uj", z->dir);
	if (s->ops->read_file(s->ops->ctx, s->fsroot, path, buf, sizeof(buf)) > 0)
		energy_parse_uj(buf, &z->r.range_uj);
}

static void link_parents(struct energy_meas *m)
{
	for (int i = 0; i < m->nr; i++) {
		const char *last = strrchr(m->z[i].dir, ':');

		for (int j = 0; j < m->nr && strchr(strchr(m->z[i].dir, ':') + 1, ':'); j++)
			if (j != i && !strncmp(m->z[j].dir, m->z[i].dir, (size_t)(last - m->z[i].dir)) &&
			    !m->z[j].dir[last - m->z[i].dir])
				m->z[i].r.parent = j;
	}
}

static int add_events(struct energy_src *s, struct energy_meas *m, int cid)
{
	int code = PAPI_NATIVE_MASK, rc;
	char name[PAPI_MAX_STR_LEN];

	rc = util_papi.enum_cmp_event(&code, PAPI_ENUM_FIRST, cid);
	while (rc == PAPI_OK && m->nr < ENERGY_MAX_ZONES) {
		if (util_papi.event_code_to_name(code, name) == PAPI_OK &&
		    strstr(name, ":ENERGY_UJ:") && util_papi.add_event(m->papi_set, code) == PAPI_OK) {
			struct energy_zone *z = &m->z[m->nr];

			memset(z, 0, sizeof(*z));
			z->fd = -1;
			z->papi_idx = m->papi_nvals++;
			zone_from_event(s, z, name);
			z->r.up = true;
			m->nr++;
		}
		rc = util_papi.enum_cmp_event(&code, PAPI_ENUM_EVENTS, cid);
	}
	return m->nr;
}

int energy_papi_open(struct energy_src *s, struct energy_meas *m)
{
	const PAPI_component_info_t *ci;
	int cid, rc;

	m->kind = ENERGY_PAPI;
	m->papi_set = PAPI_NULL;
	util_fmt(m->source, sizeof(m->source), "PAPI powercap component");
	if (strcmp(s->fsroot, "/")) {
		util_fmt(m->why, sizeof(m->why), "unavailable: PAPI reads the real /sys, not "
			 "the fsroot %s", s->fsroot);
		return 0;
	}
	/* PAPI's powercap component reads that tree; without it PAPI is not loaded */
	if (access(ENERGY_POWERCAP_DIR, F_OK) && errno == ENOENT) {
		util_fmt(m->why, sizeof(m->why), "unavailable: no %s, which PAPI's powercap "
			 "component reads (RAPL not exposed on this machine)",
			 ENERGY_POWERCAP_DIR);
		return 0;
	}
	if (papi_init(m->why, sizeof(m->why)))
		return 0;
	cid = util_papi.get_component_index("powercap");
	if (cid < 0) {
		util_fmt(m->why, sizeof(m->why), "unavailable: PAPI %d.%d has no \"powercap\" "
			 "component (this libpapi was built without it)",
			 PAPI_VERSION_MAJOR(PAPI_VERSION), PAPI_VERSION_MINOR(PAPI_VERSION));
		return 0;
	}
	ci = util_papi.get_component_info(cid);
	if (!ci || ci->disabled) {
		util_fmt(m->why, sizeof(m->why), "unavailable: PAPI powercap component disabled: "
			 "%s", ci ? ci->disabled_reason : "no component info");
		return 0;
	}
	rc = util_papi.create_eventset(&m->papi_set);
	if (rc != PAPI_OK) {
		util_fmt(m->why, sizeof(m->why), "unavailable: PAPI_create_eventset: %s",
			 util_papi.strerror(rc));
		m->papi_set = PAPI_NULL;
		return 0;
	}
	if (!add_events(s, m, cid)) {
		util_fmt(m->why, sizeof(m->why), "unavailable: PAPI powercap component lists "
			 "no ENERGY_UJ event");
		goto fail;
	}
	rc = util_papi.start(m->papi_set);
	if (rc != PAPI_OK) {
		util_fmt(m->why, sizeof(m->why), "unavailable: util_papi.start(powercap): %s",
			 util_papi.strerror(rc));
		goto fail;
	}
	link_parents(m);
	energy_pick_counted(m);
	m->up = true;
	return 0;
fail:
	energy_papi_close(s, m);
	return 0;
}

void energy_papi_sample(struct energy_src *s, struct energy_meas *m)
{
	int rc = util_papi.read(m->papi_set, m->papi_vals);

	for (int i = 0; i < m->nr; i++) {
		long long v = m->papi_vals[m->z[i].papi_idx];

		energy_zone_update(&m->z[i], rc != PAPI_OK ? -EIO : (v < 0 ? -ERANGE : 0),
				   v < 0 ? 0 : (uint64_t)v, m->z[i].r.id, NULL);
	}
}

void energy_papi_close(struct energy_src *s, struct energy_meas *m)
{
	long long vals[ENERGY_MAX_ZONES];

	if (m->papi_set == PAPI_NULL || m->papi_set < 0)
		return;
	util_papi.stop(m->papi_set, vals);
	util_papi.cleanup_eventset(m->papi_set);
	util_papi.destroy_eventset(&m->papi_set);
	m->papi_set = PAPI_NULL;
}
