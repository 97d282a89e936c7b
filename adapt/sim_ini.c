/* adapt: the simulator's small INI reader: [section], key = value, # or ;
 * comments; every callback error is reported as "origin:line: ...". */
#include "adapt/sim_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *trim(char *s)
{
	char *e;

	s += strspn(s, " \t");
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = 0;
	return s;
}

int sim_ini_each(const char *text, const char *origin, sim_ini_fn fn, void *arg, char *err, size_t err_len)
{
	char section[64] = "", msg[256];
	const char *p = text;
	int line = 0, rc;

	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char buf[1024], *s, *eq;

		line++;
		if (n >= sizeof(buf)) {
			snprintf(err, err_len, "%s:%d: line longer than %zu characters", origin, line, sizeof(buf) - 1);
			return -EINVAL;
		}
		memcpy(buf, p, n);
		buf[n] = 0;
		p = nl ? nl + 1 : NULL;
		s = trim(buf);
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *e = strchr(s, ']');

			if (!e || e[1] || e - s - 1 >= (long)sizeof(section)) {
				snprintf(err, err_len, "%s:%d: bad section header '%s': write [name]", origin, line, s);
				return -EINVAL;
			}
			*e = 0;
			snprintf(section, sizeof(section), "%s", s + 1);
			continue;
		}
		eq = strchr(s, '=');
		if (!eq) {
			snprintf(err, err_len, "%s:%d: '%s' is not key = value", origin, line, s);
			return -EINVAL;
		}
		*eq = 0;
		msg[0] = 0;
		rc = fn(arg, section, trim(s), trim(eq + 1), msg, sizeof(msg));
		if (rc) {
			snprintf(err, err_len, "%s:%d: [%s] %s: %s", origin, line, section, trim(s), msg);
			return rc;
		}
	}
	return 0;
}

int sim_num(const char *v, double lo, double hi, double *out, char *msg, size_t len)
{
	char *end;
	double d = strtod(v, &end);

	if (end == v || *end || !isfinite(d)) {
		snprintf(msg, len, "'%s' is not a number", v);
		return -EINVAL;
	}
	if (d < lo || d > hi) {
		snprintf(msg, len, "%g is out of range [%g, %g]", d, lo, hi);
		return -ERANGE;
	}
	*out = d;
	return 0;
}

int sim_bool(const char *v, bool *out, char *msg, size_t len)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1"))
		*out = true;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0"))
		*out = false;
	else {
		snprintf(msg, len, "'%s' is not yes or no", v);
		return -EINVAL;
	}
	return 0;
}

int sim_read_file(const char *path, char **out, char *err, size_t err_len)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0, n = 0, r;
	int rc = 0;

	if (!f) {
		rc = -errno;
		snprintf(err, err_len, "%s: %s; give the path of a readable file", path, strerror(-rc));
		return rc;
	}
	do {
		if (n + 4097 > cap) {
			char *nb = realloc(buf, cap = cap * 2 + 8192);

			if (!nb) {
				rc = -ENOMEM;
				break;
			}
			buf = nb;
		}
		r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
	} while (r > 0 && n < (1u << 20));
	fclose(f);
	if (rc) {
		free(buf);
		snprintf(err, err_len, "%s: out of memory", path);
		return rc;
	}
	buf[n] = 0;
	*out = buf;
	return 0;
}
