/* Node health signals under an injectable root: EDAC error counts, thermal
 * throttle counts, machine-check exceptions (see tel.h). Read by the node
 * agent once a period; each source is up or down with the reason. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "telemetry/tel.h"

#define EDAC_MC "/sys/devices/system/edac/mc"
#define CPU_DIR "/sys/devices/system/cpu"
#define MAX_PACKAGES 64

const char *tel_health_src_name(enum tel_health_src s)
{
	static const char *const names[] = { "edac", "throttle", "mce" };

	return (unsigned)s < TEL_HEALTH_SRC_COUNT ? names[s] : "?";
}

/* Marks source s down with a reason built like printf. */
#define down(o, s, ...) \
	((o)->up[s] = false, (void)snprintf((o)->why[s], sizeof((o)->why[s]), __VA_ARGS__))

/* A decimal count file; -errno when absent, -EINVAL when not a number. */
static int read_count(const char *root, const char *path, uint64_t *out)
{
	char buf[64];
	int n = util_read_file(root, path, buf, sizeof(buf));

	if (n < 0)
		return n;
	return util_parse_u64(buf, out);
}

/* "prefixN" -> N, or -1. */
static int suffix_index(const char *name, const char *prefix)
{
	size_t n = strlen(prefix);
	long v;

	if (strncmp(name, prefix, n) || !name[n] || util_parse_int(name + n, 0, 1 << 20, &v))
		return -1;
	return (int)v;
}

static int cmp_mc(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* The DIMM or csrow of mcN with the most corrected errors. */
static void worst_part(const char *root, const char *mcdir, struct tel_health_sample *o, int m)
{
	char path[PATH_MAX], file[PATH_MAX + 32];
	struct dirent *e;
	uint64_t ce;
	DIR *d;

	if (util_path(path, sizeof(path), root, mcdir) || !(d = opendir(path)))
		return;
	while ((e = readdir(d))) {
		const char *leaf = suffix_index(e->d_name, "dimm") >= 0 ? "dimm_ce_count" :
				   suffix_index(e->d_name, "csrow") >= 0 ? "ce_count" : NULL;

		if (!leaf)
			continue;
		snprintf(file, sizeof(file), "%s/%s/%s", mcdir, e->d_name, leaf);
		if (!read_count(root, file, &ce) && (ce > o->mc[m].worst_ce || !o->mc[m].worst[0])) {
			o->mc[m].worst_ce = ce;
			snprintf(o->mc[m].worst, sizeof(o->mc[m].worst), "%.23s", e->d_name);
		}
	}
	closedir(d);
}

static void read_edac(const char *root, struct tel_health_sample *o)
{
	char path[PATH_MAX], file[128];
	int idx[TEL_HEALTH_MAX_MC], n = 0;
	struct dirent *e;
	DIR *d;

	if (util_path(path, sizeof(path), root, EDAC_MC) || !(d = opendir(path))) {
		down(o, TEL_HEALTH_EDAC, "%s%s: no EDAC memory controller: the host's EDAC driver "
		     "is not loaded (modprobe the one for its memory controller) or it has none "
		     "(a VM)", root && strcmp(root, "/") ? root : "", EDAC_MC);
		return;
	}
	while ((e = readdir(d)) && n < TEL_HEALTH_MAX_MC)
		if (suffix_index(e->d_name, "mc") >= 0)
			idx[n++] = suffix_index(e->d_name, "mc");
	closedir(d);
	if (!n) {
		down(o, TEL_HEALTH_EDAC, "%s%s has no mcN: EDAC registered no memory controller",
		     root && strcmp(root, "/") ? root : "", EDAC_MC);
		return;
	}
	qsort(idx, (size_t)n, sizeof(idx[0]), cmp_mc);
	for (int m = 0; m < n; m++) {
		char mcdir[64];
		int rc;

		snprintf(mcdir, sizeof(mcdir), EDAC_MC "/mc%d", idx[m]);
		o->mc[m].index = idx[m];
		snprintf(file, sizeof(file), "%s/ce_count", mcdir);
		rc = read_count(root, file, &o->mc[m].ce);
		if (!rc) {
			snprintf(file, sizeof(file), "%s/ue_count", mcdir);
			rc = read_count(root, file, &o->mc[m].ue);
		}
		if (rc) {
			down(o, TEL_HEALTH_EDAC, "%s: %s: check the EDAC sysfs files' permissions",
			     file, strerror(-rc));
			return;
		}
		worst_part(root, mcdir, o, m);
	}
	o->nr_mc = n;
	o->up[TEL_HEALTH_EDAC] = true;
}

static void read_throttle(const char *root, struct tel_health_sample *o)
{
	char path[PATH_MAX], file[128];
	uint64_t pkg_seen[MAX_PACKAGES] = { 0 }, v;
	struct dirent *e;
	DIR *d;

	if (util_path(path, sizeof(path), root, CPU_DIR) || !(d = opendir(path))) {
		down(o, TEL_HEALTH_THROTTLE, "%s%s: not found", root ? root : "", CPU_DIR);
		return;
	}
	while ((e = readdir(d))) {
		int cpu = suffix_index(e->d_name, "cpu");
		long pkg = 0;
		char buf[32];

		if (cpu < 0)
			continue;
		snprintf(file, sizeof(file), CPU_DIR "/cpu%d/thermal_throttle/core_throttle_count", cpu);
		if (read_count(root, file, &v))
			continue;
		o->throttle_core += v;
		o->nr_cpus++;
		snprintf(file, sizeof(file), CPU_DIR "/cpu%d/topology/physical_package_id", cpu);
		if (util_read_file(root, file, buf, sizeof(buf)) > 0)
			util_parse_int(buf, 0, MAX_PACKAGES - 1, &pkg);
		snprintf(file, sizeof(file), CPU_DIR "/cpu%d/thermal_throttle/package_throttle_count",
			 cpu);
		if (!read_count(root, file, &v) && v + 1 > pkg_seen[pkg])
			pkg_seen[pkg] = v + 1;   /* each CPU of a package shows the same count */
	}
	closedir(d);
	for (int p = 0; p < MAX_PACKAGES; p++)
		o->throttle_package += pkg_seen[p] ? pkg_seen[p] - 1 : 0;
	if (!o->nr_cpus)
		down(o, TEL_HEALTH_THROTTLE, "no %s%s/cpuN/thermal_throttle: the CPU reports no "
		     "thermal throttling to this kernel (no x86 thermal interrupt, or a VM)",
		     root && strcmp(root, "/") ? root : "", CPU_DIR);
	else
		o->up[TEL_HEALTH_THROTTLE] = true;
}

int tel_health_parse_interrupts(const char *text, const char *row, uint64_t *sum)
{
	size_t n = strlen(row);

	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *p = l;

		while (*p == ' ')
			p++;
		if (strncmp(p, row, n) || p[n] != ':')
			continue;
		*sum = 0;
		for (p += n + 1;;) {
			char *end;
			unsigned long long v;

			while (*p == ' ' || *p == '\t')
				p++;
			if (!isdigit((unsigned char)*p))
				return 0;   /* the description follows the per-CPU counts */
			v = strtoull(p, &end, 10);
			*sum += v;
			p = end;
		}
	}
	return -ENOENT;
}

static void read_mce(const char *root, struct tel_health_sample *o)
{
	char *buf = malloc(1 << 18);
	int n = buf ? util_read_file(root, "/proc/interrupts", buf, 1 << 18) : -ENOMEM;

	if (n < 0)
		down(o, TEL_HEALTH_MCE, "%s/proc/interrupts: %s", root && strcmp(root, "/") ? root : "",
		     strerror(-n));
	else if (tel_health_parse_interrupts(buf, "MCE", &o->mce))
		down(o, TEL_HEALTH_MCE, "no MCE row in %s/proc/interrupts%s: this kernel takes no "
		     "machine-check exceptions (no CONFIG_X86_MCE, or a VM without MCE)",
		     root && strcmp(root, "/") ? root : "", "");
	else
		o->up[TEL_HEALTH_MCE] = true;
	free(buf);
}

int tel_health_read(const char *fsroot, uint64_t now_ns, struct tel_health_sample *out)
{
	memset(out, 0, sizeof(*out));
	out->t_ns = now_ns;
	read_edac(fsroot, out);
	read_throttle(fsroot, out);
	read_mce(fsroot, out);
	return 0;
}
