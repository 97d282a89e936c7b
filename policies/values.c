/* policies: value parsers, profile name resolution, search directories. */
#include "policies/pol_int.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

int pol_parse_double(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	while (isspace((unsigned char)*s))
		s++;
	if (!*s)
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno == ERANGE)
		return -EINVAL;
	while (isspace((unsigned char)*end))
		end++;
	if (*end || !isfinite(v))
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int pol_parse_int(const char *s, int min, int max, int *out)
{
	double d;
	int rc = pol_parse_double(s, min, max, &d);

	if (!rc && d != (int)d)
		rc = -EINVAL;
	if (!rc)
		*out = (int)d;
	return rc;
}

int pol_parse_word(const char *s, const char *const *names, int *out)
{
	for (int i = 0; names[i]; i++) {
		if (!strcasecmp(s, names[i])) {
			*out = i;
			return 0;
		}
	}
	return -EINVAL;
}

int pol_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1", "enable", "enabled" };
	static const char *const no[] = { "no", "false", "off", "0", "disable", "disabled" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_cpu(const char **s, int *v)
{
	long n = 0;

	if (!isdigit((unsigned char)**s))
		return -EINVAL;
	while (isdigit((unsigned char)**s)) {
		n = n * 10 + (**s - '0');
		if (n >= 4096)
			return -ERANGE;
		(*s)++;
	}
	*v = (int)n;
	return 0;
}

/* "0-3,8,10-11"; "" or "none" is the empty list. */
int pol_parse_cpulist(const char *s, int *cpus, int max, int *nr)
{
	int n = 0, a, b, rc;

	while (isspace((unsigned char)*s))
		s++;
	if (!*s || !strcasecmp(s, "none")) {
		*nr = 0;
		return 0;
	}
	for (;;) {
		while (isspace((unsigned char)*s))
			s++;
		rc = parse_cpu(&s, &a);
		if (rc)
			return rc;
		b = a;
		if (*s == '-') {
			s++;
			rc = parse_cpu(&s, &b);
			if (rc)
				return rc;
			if (b < a)
				return -EINVAL;
		}
		for (; a <= b; a++) {
			if (n >= max)
				return -ERANGE;
			cpus[n++] = a;
		}
		while (isspace((unsigned char)*s))
			s++;
		if (!*s)
			break;
		if (*s++ != ',')
			return -EINVAL;
	}
	*nr = n;
	return 0;
}

static bool is_file(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static bool valid_name(const char *s)
{
	if (!*s || strlen(s) >= POL_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
			return false;
	return true;
}

int pol_resolve(const char *name_or_path, const char *base_dir,
		const char *const *dirs, int nr_dirs, char *path, size_t len)
{
	size_t n = strlen(name_or_path);
	int i, w;

	if (strchr(name_or_path, '/') || (n > 4 && !strcmp(name_or_path + n - 4, ".ini"))) {
		if (name_or_path[0] != '/' && base_dir && *base_dir)
			w = snprintf(path, len, "%s/%s", base_dir, name_or_path);
		else
			w = snprintf(path, len, "%s", name_or_path);
		if (w < 0 || (size_t)w >= len)
			return -ENAMETOOLONG;
		return is_file(path) ? 0 : -ENOENT;
	}
	if (!valid_name(name_or_path))
		return -EINVAL;
	if (base_dir && *base_dir) {
		w = snprintf(path, len, "%s/%s.ini", base_dir, name_or_path);
		if (w > 0 && (size_t)w < len && is_file(path))
			return 0;
	}
	for (i = 0; i < nr_dirs; i++) {
		w = snprintf(path, len, "%s/%s.ini", dirs[i], name_or_path);
		if (w < 0 || (size_t)w >= len)
			continue;
		if (is_file(path))
			return 0;
	}
	return -ENOENT;
}

static int add_dir(const char **dirs, char storage[POL_MAX_DIRS][POL_PATH_MAX], int n,
		   const char *a, const char *b)
{
	struct stat st;
	int w;

	if (n >= POL_MAX_DIRS)
		return n;
	w = snprintf(storage[n], POL_PATH_MAX, "%s%s", a, b);
	if (w < 0 || w >= POL_PATH_MAX)
		return n;
	if (stat(storage[n], &st) || !S_ISDIR(st.st_mode))
		return n;
	dirs[n] = storage[n];
	return n + 1;
}

int pol_default_dirs(const char **dirs, char storage[POL_MAX_DIRS][POL_PATH_MAX])
{
	char exe[PATH_MAX];
	const char *env = getenv("AVMM_PROFILE_DIR");
	ssize_t r;
	int n = 0;

	if (env && *env)
		n = add_dir(dirs, storage, n, env, "");
	r = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (r > 0) {
		char *slash;

		exe[r] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			n = add_dir(dirs, storage, n, exe, "/../policies/profiles");
			n = add_dir(dirs, storage, n, exe, "/../../policies/profiles");
			/* build/san/tests/X: the sanitizer build's test binaries */
			n = add_dir(dirs, storage, n, exe, "/../../../policies/profiles");
			n = add_dir(dirs, storage, n, exe, "/../share/avmm/profiles");
		}
	}
	n = add_dir(dirs, storage, n, "/usr/share/avmm/profiles", "");
	n = add_dir(dirs, storage, n, "/etc/avmm/profiles", "");
	return n;
}
