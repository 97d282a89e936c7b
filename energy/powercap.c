/* energy: RAPL zones through powercap sysfs (intel-rapl, intel-rapl-mmio). */
#include "energy/energy-int.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

static bool known_control_type(const char *id)
{
	size_t n = strcspn(id, ":");

	if (!id[n])
		return false;       /* the control type itself, not a zone */
	return (n == 10 && !strncmp(id, "intel-rapl", n)) ||
	       (n == 15 && !strncmp(id, "intel-rapl-mmio", n));
}

/* "intel-rapl:0:1" < "intel-rapl:1" < "intel-rapl-mmio:0". */
static int zone_cmp(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	size_t nx = strcspn(x, ":"), ny = strcspn(y, ":");
	int c = strncmp(x, y, nx < ny ? nx : ny);

	if (c || nx != ny)
		return c ? c : (nx < ny ? -1 : 1);
	x += nx;
	y += ny;
	while (*x == ':' && *y == ':') {
		long vx = strtol(x + 1, (char **)&x, 10), vy = strtol(y + 1, (char **)&y, 10);

		if (vx != vy)
			return vx < vy ? -1 : 1;
	}
	return (*x == ':') - (*y == ':');
}

static int list_zones(const char *root, char ***ids, int *nr)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int rc, n = 0;
	char **v = NULL;

	rc = util_path(path, sizeof(path), root, ENERGY_POWERCAP_DIR);
	if (rc)
		return rc;
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char **nv;

		if (!known_control_type(de->d_name))
			continue;
		nv = realloc(v, sizeof(*v) * (size_t)(n + 1));
		if (!nv || !(nv[n] = strdup(de->d_name))) {
			v = nv ? nv : v;
			rc = -ENOMEM;
			goto out;
		}
		v = nv;
		n++;
	}
	if (n)
		qsort(v, (size_t)n, sizeof(*v), zone_cmp);
out:
	closedir(d);
	if (rc) {
		for (int i = 0; i < n; i++)
			free(v[i]);
		free(v);
		return rc;
	}
	*ids = v;
	*nr = n;
	return 0;
}

static int read_u64(struct energy_src *s, const char *dir, const char *file, uint64_t *v,
		    char *why, size_t whylen)
{
	char path[PATH_MAX], buf[64];
	int rc;

	util_fmt(path, sizeof(path), "%s/%s", dir, file);
	rc = s->ops->read_file(s->ops->ctx, s->fsroot, path, buf, sizeof(buf));
	if (rc >= 0)
		rc = energy_parse_uj(buf, v);
	if (rc < 0 && why)
		energy_explain(rc, path, buf, false, why, whylen);
	return rc;
}

static void setup_zone(struct energy_src *s, struct energy_meas *m, const char *id)
{
	struct energy_zone *z = &m->z[m->nr];
	char buf[64], path[PATH_MAX];
	uint64_t v;
	const char *colon2;

	memset(z, 0, sizeof(*z));
	z->fd = -1;
	z->papi_idx = -1;
	z->r.parent = -1;
	util_fmt(z->r.id, sizeof(z->r.id), "%s", id);
	util_fmt(z->ctl, sizeof(z->ctl), "%.*s", (int)strcspn(id, ":"), id);
	util_fmt(z->dir, sizeof(z->dir), "%s/%s", ENERGY_POWERCAP_DIR, id);
	util_fmt(path, sizeof(path), "%s/name", z->dir);
	if (s->ops->read_file(s->ops->ctx, s->fsroot, path, buf, sizeof(buf)) > 0)
		util_fmt(z->r.name, sizeof(z->r.name), "%.*s", (int)strcspn(buf, "\n"), buf);
	else
		util_fmt(z->r.name, sizeof(z->r.name), "%s", id);
	colon2 = strchr(strchr(id, ':') + 1, ':');
	if (colon2) {
		for (int i = 0; i < m->nr; i++)
			if (!strncmp(m->z[i].r.id, id, (size_t)(colon2 - id)) &&
			    !m->z[i].r.id[colon2 - id])
				z->r.parent = i;
	}
	if (!read_u64(s, z->dir, "constraint_0_max_power_uw", &v, NULL, 0))
		z->max_power_w = (double)v / 1e6;
	z->r.up = true;
	if (read_u64(s, z->dir, "max_energy_range_uj", &z->r.range_uj, z->r.why,
		     sizeof(z->r.why)) < 0) {
		z->r.up = false;
	} else if (z->r.range_uj == 0) {
		z->r.up = false;
		util_fmt(z->r.why, sizeof(z->r.why), "%s/max_energy_range_uj is 0: "
			 "wraparound cannot be handled, zone not used", z->dir);
	} else if (read_u64(s, z->dir, "energy_uj", &v, z->r.why, sizeof(z->r.why)) < 0) {
		z->r.up = false;    /* probe only: the first energy_read is the baseline */
	}
	m->nr++;
}

int energy_powercap_open(struct energy_src *s, struct energy_meas *m)
{
	char **ids = NULL;
	int nr = 0, rc;

	m->kind = ENERGY_POWERCAP;
	util_fmt(m->source, sizeof(m->source), "powercap");
	rc = list_zones(s->fsroot, &ids, &nr);
	if (rc == -ENOENT) {
		util_fmt(m->why, sizeof(m->why), "unavailable: no %s (RAPL not exposed on "
			 "this machine)",
			 ENERGY_POWERCAP_DIR);
		return 0;
	}
	if (rc == -ENOMEM)
		return rc;
	if (rc) {
		char why[ENERGY_WHY_LEN];

		energy_explain(rc, ENERGY_POWERCAP_DIR, NULL, false, why, sizeof(why));
		util_fmt(m->why, sizeof(m->why), "unavailable: %s", why);
		return 0;
	}
	for (int i = 0; i < nr && m->nr < ENERGY_MAX_ZONES; i++)
		setup_zone(s, m, ids[i]);
	for (int i = 0; i < nr; i++)
		free(ids[i]);
	free(ids);
	if (!m->nr) {
		util_fmt(m->why, sizeof(m->why), "unavailable: %s has no intel-rapl zone",
			 ENERGY_POWERCAP_DIR);
		return 0;
	}
	energy_pick_counted(m);
	for (int i = 0; i < m->nr; i++) {
		if (m->z[i].r.counted && m->z[i].r.up) {
			m->up = true;
			break;
		}
	}
	for (int i = 0; !m->up && i < m->nr; i++) {
		if (m->z[i].r.counted) {
			util_fmt(m->why, sizeof(m->why), "unavailable: %s", m->z[i].r.why);
			break;
		}
	}
	return 0;
}

void energy_powercap_sample(struct energy_src *s, struct energy_meas *m)
{
	for (int i = 0; i < m->nr; i++) {
		struct energy_zone *z = &m->z[i];
		char path[PATH_MAX], buf[64] = "";
		uint64_t v = 0;
		int rc;

		if (z->r.range_uj == 0) {   /* set up as unusable */
			z->delta_valid = false;
			continue;
		}
		util_fmt(path, sizeof(path), "%s/energy_uj", z->dir);
		rc = s->ops->read_file(s->ops->ctx, s->fsroot, path, buf, sizeof(buf));
		if (rc >= 0)
			rc = energy_parse_uj(buf, &v);
		energy_zone_update(z, rc, v, path, buf);
	}
}
