/* policies: loading a goal profile: the file and its includes (depth
 * first, before its own keys), then the checks across keys. Includes:
 * profile_include.c; keys: profile_apply.c; checks: profile_check.c. */
#include "policies/pol_keys.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pol_load_file(struct pol_load_ctx *c, const char *path, const char *text, size_t len,
		  struct pol_profile *p)
{
	struct pol_ini ini = { 0 };
	char canon[PATH_MAX], *buf = NULL;
	int i, rc, syntax, file_idx = -1;

	if (c->depth > POL_MAX_INCLUDE_DEPTH) {
		pol_err(c->e, path, 0, "includes nest deeper than %d; flatten the chain", POL_MAX_INCLUDE_DEPTH);
		return -ELOOP;
	}
	if (!text) {
		if (!realpath(path, canon))
			snprintf(canon, sizeof(canon), "%s", path);
		rc = pol_read_text(path, &buf, &len, c->e);
		if (rc)
			return rc;
		text = buf;
	} else {
		snprintf(canon, sizeof(canon), "%s", path);
	}
	snprintf(c->chain[c->depth], PATH_MAX, "%s", canon);
	c->depth++;
	syntax = pol_ini_collect(text, len, path, &ini, c->e);
	if (syntax == -ENOMEM) {
		rc = syntax;
		goto out;
	}
	/* go on after syntax errors, to report the other problems too */
	for (i = 0; i < ini.n; i++) {
		if (!strcmp(ini.e[i].section, "main") && !strcmp(ini.e[i].key, "include")) {
			syntax = pol_include(c, path, &ini.e[i], p) ?: syntax;
			if (syntax == -ENOMEM) {
				rc = syntax;
				goto out;
			}
		}
	}
	for (i = 0; i <= POL_MAX_INCLUDE_DEPTH; i++) {
		if (!p->origin_files[i][0]) {
			snprintf(p->origin_files[i], POL_PATH_MAX, "%s", path);
			file_idx = i;
			break;
		}
	}
	rc = pol_profile_apply(c->e, path, &ini, file_idx, p);
	if (!rc)
		rc = syntax;
out:
	c->depth--;
	pol_ini_free(&ini);
	free(buf);
	return rc;
}

static void name_from(const char *path, char *name, size_t len)
{
	const char *b = strrchr(path, '/');
	size_t n;

	b = b ? b + 1 : path;
	n = strlen(b);
	if (n > 4 && !strcmp(b + n - 4, ".ini"))
		n -= 4;
	snprintf(name, len, "%.*s", (int)n, b);
}

static int load_top(const char *path, const char *text, size_t len, const char *const *dirs,
		    int nr_dirs, struct pol_profile *out, char *err, size_t err_len)
{
	struct pol_errs e;
	struct pol_load_ctx *c;
	struct pol_profile *p;
	int rc = -ENOMEM;

	pol_errs_init(&e, err, err_len);
	c = calloc(1, sizeof(*c));
	p = malloc(sizeof(*p));
	if (!c || !p)
		goto out;
	c->dirs = dirs;
	c->nr_dirs = dirs ? nr_dirs : 0;
	c->e = &e;
	pol_defaults(p);
	snprintf(p->path, sizeof(p->path), "%s", path);
	name_from(path, p->name, sizeof(p->name));
	rc = pol_load_file(c, path, text, len, p);
	if (!rc)
		rc = pol_profile_check(p, &e);
	if (!rc)
		*out = *p; /* only a valid profile reaches the caller */
out:
	free(c);
	free(p);
	return rc;
}

int pol_parse_buffer(const char *text, size_t len, const char *origin, const char *const *dirs,
		     int nr_dirs, struct pol_profile *out, char *err, size_t err_len)
{
	return load_top(origin ? origin : "<buffer>", text ? text : "", text ? len : 0, dirs,
			nr_dirs, out, err, err_len);
}

int pol_load(const char *name_or_path, const char *const *dirs, int nr_dirs,
	     struct pol_profile *out, char *err, size_t err_len)
{
	char path[POL_PATH_MAX];
	struct pol_errs e;
	int rc;

	rc = pol_resolve(name_or_path, NULL, dirs, dirs ? nr_dirs : 0, path, sizeof(path));
	if (rc) {
		pol_errs_init(&e, err, err_len);
		if (rc == -EINVAL)
			pol_err(&e, name_or_path, 0, "not a profile name or path; use a name like 'balanced' or a path to a .ini file");
		else {
			char where[512];

			pol_dirs_list(dirs, dirs ? nr_dirs : 0, where, sizeof(where));
			pol_err(&e, name_or_path, 0, "no such profile (searched: %s); check the name, run `avmm policy list`, or set AVMM_PROFILE_DIR",
				where);
		}
		return rc == -EINVAL ? -EINVAL : -ENOENT;
	}
	return load_top(path, NULL, 0, dirs, nr_dirs, out, err, err_len);
}
