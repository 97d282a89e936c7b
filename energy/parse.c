/* energy: parsing, counter wrap and error messages (pure functions). */
#include "energy/energy.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

static const char *const backend_names[] = {
	[ENERGY_AUTO] = "auto", [ENERGY_POWERCAP] = "powercap", [ENERGY_PERF] = "perf",
	[ENERGY_PAPI] = "papi", [ENERGY_ESTIMATE] = "estimate", [ENERGY_NONE] = "none",
};

const char *energy_backend_name(enum energy_backend b)
{
	if ((unsigned)b >= UTIL_ARRAY_SIZE(backend_names))
		return "?";
	return backend_names[b];
}

int energy_backend_parse(const char *s, enum energy_backend *out)
{
	for (unsigned i = 0; i < UTIL_ARRAY_SIZE(backend_names); i++) {
		if (!strcmp(s, backend_names[i])) {
			*out = (enum energy_backend)i;
			return 0;
		}
	}
	return -EINVAL;
}

int energy_parse_uj(const char *buf, uint64_t *out)
{
	const char *p = buf;

	while (isspace((unsigned char)*p))
		p++;
	if (!*p)
		return -ENODATA;
	if (*p == '-')
		return -EINVAL;
	return util_parse_u64(p, out);
}

#define WRAP32 (1ull << 32)

int energy_wrap_delta(uint64_t prev, uint64_t cur, uint64_t range_uj, bool *wrap32,
		      uint64_t *delta_uj)
{
	uint64_t range = *wrap32 ? WRAP32 : range_uj;

	if (cur >= prev) {
		*delta_uj = cur - prev;
		return 0;
	}
	if (range == 0) {               /* 64-bit counter */
		*delta_uj = cur - prev;
		return 0;
	}
	if (prev < range) {
		uint64_t d = (range - prev) + cur;

		if (d <= range / 2) {
			*delta_uj = d;
			return 0;
		}
	}
	/* A wrap that the zone's own range cannot explain within half a range:
	 * a counter truncated to 32 bits while max_energy_range_uj is wider. */
	if (!*wrap32 && range_uj > WRAP32 && prev < WRAP32 && cur < WRAP32) {
		uint64_t d = (WRAP32 - prev) + cur;

		if (d <= WRAP32 / 2) {
			*wrap32 = true;
			*delta_uj = d;
			return 0;
		}
	}
	return -ERANGE;
}

uint64_t energy_half_wrap_ns(uint64_t range_uj, double max_power_w)
{
	double s;

	if (range_uj == 0)
		return 0;
	if (max_power_w <= 0)
		max_power_w = ENERGY_ASSUMED_MAX_W;
	s = (double)range_uj / 1e6 / max_power_w / 2.0;
	return (uint64_t)(s * 1e9);
}

void energy_explain(int err, const char *path, const char *content, bool writing,
		    char *out, size_t len)
{
	if (err > 0)
		err = -err;
	switch (err) {
	case -EACCES:
	case -EPERM:
		if (writing)
			util_fmt(out, len, "%s: permission denied writing it: power limits "
				 "need root (run avmm as root)", path);
		else if (strstr(path, "energy_uj"))
			util_fmt(out, len, "%s: permission denied: energy_uj is root-only "
				 "since Linux 5.10 (CVE-2020-8694); run as root, or grant read "
				 "access with a udev rule: SUBSYSTEM==\"powercap\", "
				 "ACTION==\"add\", RUN+=\"/bin/chmod o+r /sys%%p/energy_uj\" "
				 "(or chmod o+r /sys/class/powercap/*/energy_uj after each boot)",
				 path);
		else
			util_fmt(out, len, "%s: permission denied: run as root", path);
		break;
	case -ENOENT:
		util_fmt(out, len, "%s: no such file (the zone vanished or this kernel "
			 "does not expose it)", path);
		break;
	case -ENODATA:
		util_fmt(out, len, "%s: empty", path);
		break;
	case -EINVAL:
		util_fmt(out, len, "%s: non-numeric content '%.40s' (expected a decimal "
			 "number)", path, content ? content : "");
		break;
	case -ERANGE:
		util_fmt(out, len, "%s: value '%.40s' out of range", path,
			 content ? content : "");
		break;
	default:
		util_fmt(out, len, "%s: %s", path, strerror(-err));
		break;
	}
	/* Keep single-line messages: drop the newline sysfs values carry. */
	for (char *p = out; *p; p++)
		if (*p == '\n')
			*p = ' ';
}

int energy_parse_perf_event(const char *buf, uint64_t *config)
{
	const char *p = strstr(buf, "event=");
	char *end;
	unsigned long long v;

	if (!p)
		return -EINVAL;
	p += 6;
	errno = 0;
	v = strtoull(p, &end, 0);
	if (end == p || errno)
		return -EINVAL;
	if (*end && *end != ',' && !isspace((unsigned char)*end))
		return -EINVAL;
	*config = v;
	return 0;
}

int energy_parse_cpulist(const char *buf, int *cpus, int max)
{
	const char *p = buf;
	int n = 0;

	while (*p && !isspace((unsigned char)*p)) {
		char *end;
		long a, b;

		a = strtol(p, &end, 10);
		if (end == p || a < 0)
			return -EINVAL;
		if (a > INT_MAX)
			return -ERANGE; /* not a CPU number (cpus[] holds ints) */
		b = a;
		p = end;
		if (*p == '-') {
			p++;
			b = strtol(p, &end, 10);
			if (end == p || b < a)
				return -EINVAL;
			if (b > INT_MAX)
				return -ERANGE;
			p = end;
		}
		for (long c = a; c <= b; c++) {
			if (n >= max)
				return -E2BIG;
			cpus[n++] = (int)c;
		}
		if (*p == ',')
			p++;
		else if (*p && !isspace((unsigned char)*p))
			return -EINVAL;
	}
	return n ? n : -ENODATA;
}

/* The tick counts after a "cpu" or "cpuN" label. */
static int parse_cpu_ticks(const char *fields, uint64_t *busy_ticks, uint64_t *total_ticks)
{
	unsigned long long v[10] = { 0 };
	int n = sscanf(fields, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
		       &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);

	if (n < 4)
		return -EINVAL;
	/* user nice system idle iowait irq softirq steal guest guest_nice;
	 * guest time is already part of user (and guest_nice of nice). */
	*busy_ticks = v[0] + v[1] + v[2] + v[5] + v[6];
	*total_ticks = *busy_ticks + v[3] + v[4] + v[7];
	return 0;
}

int energy_parse_proc_stat(const char *buf, uint64_t *busy_ticks, uint64_t *total_ticks)
{
	if (strncmp(buf, "cpu ", 4))
		return -EINVAL;
	return parse_cpu_ticks(buf + 4, busy_ticks, total_ticks);
}

int energy_parse_proc_stat_cpus(const char *buf, uint64_t *busy_ticks, uint64_t *total_ticks,
				int max)
{
	const char *line;
	int n = 0;

	memset(busy_ticks, 0, sizeof(*busy_ticks) * (size_t)max);
	memset(total_ticks, 0, sizeof(*total_ticks) * (size_t)max);
	for (line = buf; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		char *end;
		long cpu;

		if (strncmp(line, "cpu", 3) || line[3] < '0' || line[3] > '9')
			continue;
		cpu = strtol(line + 3, &end, 10);
		if (cpu >= max)
			continue;
		if (parse_cpu_ticks(end, &busy_ticks[cpu], &total_ticks[cpu]))
			return -EINVAL;
		if (cpu + 1 > n)
			n = (int)cpu + 1;
	}
	return n;
}

double energy_model_power_w(const struct energy_model *m, double busy_cores, int nr_cores)
{
	if (busy_cores < 0)
		busy_cores = 0;
	if (nr_cores > 0 && busy_cores > nr_cores)
		busy_cores = nr_cores;
	return m->idle_w + m->w_per_busy_core * busy_cores;
}
