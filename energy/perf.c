/* energy: RAPL through the perf "power" PMU (power/energy-pkg/ and friends). */
#include "energy/energy-int.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#define PROBE_NS 30000000ull  /* a live RAPL counter advances every ~1 ms */
#define MAX_EVENTS 8

struct pevent {
	char name[32];          /* "energy-pkg" */
	uint64_t config;
	double scale;           /* Joules per count */
};

static const char *zone_name(const char *ev)
{
	static const char *const map[][2] = {
		{ "energy-pkg", "package" }, { "energy-cores", "core" },
		{ "energy-gpu", "uncore" }, { "energy-ram", "dram" }, { "energy-psys", "psys" },
	};

	for (unsigned i = 0; i < UTIL_ARRAY_SIZE(map); i++)
		if (!strcmp(ev, map[i][0]))
			return map[i][1];
	return ev;
}

static int ev_cmp(const void *a, const void *b)
{
	const struct pevent *x = a, *y = b;
	bool px = !strcmp(x->name, "energy-pkg"), py = !strcmp(y->name, "energy-pkg");

	if (px != py)
		return px ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int read_events(struct energy_src *s, struct pevent *ev, int max, char *why, size_t wl)
{
	char path[PATH_MAX], buf[128];
	struct dirent *de;
	DIR *d;
	int n = 0, rc;

	rc = util_path(path, sizeof(path), s->fsroot, ENERGY_PERF_PMU_DIR "/events");
	if (rc)
		return rc;
	d = opendir(path);
	if (!d) {
		energy_explain(-errno, ENERGY_PERF_PMU_DIR "/events", NULL, false, why, wl);
		return -ENOENT;
	}
	while ((de = readdir(d)) && n < max) {
		struct pevent *e = &ev[n];
		char *end;

		if (strncmp(de->d_name, "energy-", 7) || strchr(de->d_name, '.') ||
		    strlen(de->d_name) >= sizeof(e->name))
			continue;
		util_fmt(e->name, sizeof(e->name), "%s", de->d_name);
		util_fmt(path, sizeof(path), ENERGY_PERF_PMU_DIR "/events/%s", e->name);
		rc = s->ops->read_file(s->ops->ctx, s->fsroot, path, buf, sizeof(buf));
		if (rc < 0 || energy_parse_perf_event(buf, &e->config)) {
			util_warn("%s: cannot parse '%.*s' (expected event=0xNN); event skipped",
				  path, rc < 0 ? 40 : (int)strcspn(buf, "\n"),
				  rc < 0 ? strerror(-rc) : buf);
			continue;
		}
		e->scale = 1.0;
		util_fmt(path, sizeof(path), ENERGY_PERF_PMU_DIR "/events/%s.scale", e->name);
		if (s->ops->read_file(s->ops->ctx, s->fsroot, path, buf, sizeof(buf)) > 0) {
			e->scale = strtod(buf, &end);
			if (end == buf || !(e->scale > 0)) {
				util_warn("%s: bad scale '%.*s' (expected Joules per count); "
					  "event skipped", path, (int)strcspn(buf, "\n"), buf);
				continue;
			}
		}
		n++;
	}
	closedir(d);
	if (!n)
		util_fmt(why, wl, "%s/events has no usable energy-* event", ENERGY_PERF_PMU_DIR);
	else
		qsort(ev, (size_t)n, sizeof(*ev), ev_cmp);
	return n ? n : -ENOENT;
}

static void open_zone(struct energy_src *s, struct energy_meas *m, uint32_t type,
		      const struct pevent *e, int cpu, int pkg, int pkg_zone)
{
	struct energy_zone *z = &m->z[m->nr++];
	const char *zn = zone_name(e->name);
	int fd;

	memset(z, 0, sizeof(*z));
	z->papi_idx = -1;
	z->r.parent = strcmp(zn, "package") && strcmp(zn, "psys") ? pkg_zone : -1;
	util_fmt(z->r.id, sizeof(z->r.id), "perf:%s:cpu%d", e->name, cpu);
	if (!strcmp(zn, "package"))
		util_fmt(z->r.name, sizeof(z->r.name), "package-%d", pkg);
	else
		util_fmt(z->r.name, sizeof(z->r.name), "%s", zn);
	util_fmt(z->ctl, sizeof(z->ctl), "perf");
	z->uj_per_count = e->scale * 1e6;
	fd = s->ops->perf_open(s->ops->ctx, type, e->config, cpu);
	z->fd = fd;
	z->r.up = fd >= 0;
	if (fd < 0) {
		char what[96], para[32] = "?";

		s->ops->read_file(s->ops->ctx, s->fsroot, "/proc/sys/kernel/perf_event_paranoid",
				  para, sizeof(para));
		para[strcspn(para, "\n")] = '\0';
		util_fmt(what, sizeof(what), "perf_event_open(power/%s/, cpu %d)", e->name, cpu);
		if (fd == -EACCES || fd == -EPERM)
			util_fmt(z->r.why, sizeof(z->r.why), "%s: permission denied: needs root "
				 "or CAP_PERFMON (perf_event_paranoid is %s)", what, para);
		else
			energy_explain(fd, what, NULL, false, z->r.why, sizeof(z->r.why));
	}
}

/* Reads the counters twice PROBE_NS apart: a PMU that opens but whose
 * counters stand still is a hypervisor's empty shell. */
static bool probe_live(struct energy_src *s, struct energy_meas *m, char *why, size_t wl)
{
	uint64_t first[ENERGY_MAX_ZONES] = { 0 }, v;
	int nopen = 0;

	for (int i = 0; i < m->nr; i++)
		if (m->z[i].fd >= 0 && !s->ops->perf_read(s->ops->ctx, m->z[i].fd, &v))
			first[i] = v, nopen++;
	if (!nopen)
		return false;
	s->ops->sleep_ns(s->ops->ctx, PROBE_NS);
	for (int i = 0; i < m->nr; i++)
		if (m->z[i].fd >= 0 && !s->ops->perf_read(s->ops->ctx, m->z[i].fd, &v) &&
		    v != first[i])
			return true;
	util_fmt(why, wl, "unavailable: perf event %s opens but stays at %llu over %llu ms "
		 "(a hypervisor exposing the PMU without the RAPL MSRs)",
		 m->z[0].r.id, (unsigned long long)first[0], PROBE_NS / 1000000);
	return false;
}

int energy_perf_open(struct energy_src *s, struct energy_meas *m)
{
	struct pevent ev[MAX_EVENTS];
	char buf[256], why[ENERGY_WHY_LEN] = "";
	int cpus[64], ncpu, nev, rc;
	uint64_t type;

	m->kind = ENERGY_PERF;
	util_fmt(m->source, sizeof(m->source), "perf power PMU");
	rc = s->ops->read_file(s->ops->ctx, s->fsroot, ENERGY_PERF_PMU_DIR "/type", buf,
			       sizeof(buf));
	if (rc >= 0)
		rc = energy_parse_uj(buf, &type);
	if (rc == -ENOENT) {
		util_fmt(m->why, sizeof(m->why), "unavailable: no perf power PMU (%s missing: "
			 "RAPL not exposed)", ENERGY_PERF_PMU_DIR);
		return 0;
	}
	if (rc < 0) {
		energy_explain(rc, ENERGY_PERF_PMU_DIR "/type", buf, false, why, sizeof(why));
		util_fmt(m->why, sizeof(m->why), "unavailable: %s", why);
		return 0;
	}
	ncpu = 1;
	cpus[0] = 0;
	if (s->ops->read_file(s->ops->ctx, s->fsroot, ENERGY_PERF_PMU_DIR "/cpumask", buf,
			      sizeof(buf)) > 0) {
		rc = energy_parse_cpulist(buf, cpus, (int)UTIL_ARRAY_SIZE(cpus));
		ncpu = rc > 0 ? rc : 1;
	}
	nev = read_events(s, ev, MAX_EVENTS, why, sizeof(why));
	if (nev < 0) {
		util_fmt(m->why, sizeof(m->why), "unavailable: %s", why);
		return 0;
	}
	if (strcmp(s->fsroot, "/") && s->ops->perf_open == energy_real_ops.perf_open) {
		util_fmt(m->why, sizeof(m->why), "unavailable: perf events come from the real "
			 "kernel, not the fsroot %s", s->fsroot);
		return 0;
	}
	for (int p = 0; p < ncpu; p++) {
		int pkg_zone = -1;

		for (int e = 0; e < nev && m->nr < ENERGY_MAX_ZONES; e++) {
			if (!strcmp(ev[e].name, "energy-pkg"))
				pkg_zone = m->nr;
			open_zone(s, m, (uint32_t)type, &ev[e], cpus[p], p, pkg_zone);
		}
	}
	energy_pick_counted(m);
	util_fmt(m->source, sizeof(m->source), "perf power PMU (type %llu, %d event%s x %d cpu%s)",
		 (unsigned long long)type, nev, nev > 1 ? "s" : "", ncpu, ncpu > 1 ? "s" : "");
	m->up = probe_live(s, m, m->why, sizeof(m->why));
	if (!m->up && !m->why[0])
		util_fmt(m->why, sizeof(m->why), "unavailable: %s", m->z[0].r.why);
	if (!m->up)
		energy_perf_close(s, m);
	return 0;
}

void energy_perf_sample(struct energy_src *s, struct energy_meas *m)
{
	for (int i = 0; i < m->nr; i++) {
		struct energy_zone *z = &m->z[i];
		uint64_t v = 0;
		int rc;

		if (z->fd < 0) {
			z->delta_valid = false;
			continue;
		}
		rc = s->ops->perf_read(s->ops->ctx, z->fd, &v);
		energy_zone_update(z, rc, (uint64_t)((double)v * z->uj_per_count), z->r.id, NULL);
	}
}

void energy_perf_close(struct energy_src *s, struct energy_meas *m)
{
	for (int i = 0; i < m->nr; i++) {
		if (m->z[i].fd >= 0)
			s->ops->perf_close(s->ops->ctx, m->z[i].fd);
		m->z[i].fd = -1;
	}
}
