/* policies: profile includes: resolving `include = NAME` next to the
 * including file and in the profile folders, and refusing cycles. */
#include "policies/pol_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void dir_of(const char *path, char *dir, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (!slash) {
		snprintf(dir, len, ".");
		return;
	}
	snprintf(dir, len, "%.*s", (int)(slash - path), path);
	if (!*dir)
		snprintf(dir, len, "/");
}

void pol_dirs_list(const char *const *dirs, int n, char *out, size_t len)
{
	size_t used = 0;
	int i, w;

	snprintf(out, len, "(no folders)");
	for (i = 0; i < n; i++) {
		w = snprintf(out + used, len - used, "%s%s", i ? ", " : "", dirs[i]);
		if (w < 0 || (size_t)w >= len - used)
			return;
		used += (size_t)w;
	}
}

static bool in_chain(const struct pol_load_ctx *c, const char *path)
{
	char canon[PATH_MAX];
	int i;

	if (!realpath(path, canon))
		snprintf(canon, sizeof(canon), "%s", path);
	for (i = 0; i < c->depth; i++)
		if (!strcmp(c->chain[i], canon))
			return true;
	return false;
}

int pol_include(struct pol_load_ctx *c, const char *file, const struct pol_ini_entry *inc,
		struct pol_profile *p)
{
	char dir[POL_PATH_MAX], ppath[POL_PATH_MAX];
	int rc;

	if (strchr(inc->value, ',')) {
		pol_err(c->e, file, inc->line, "include takes one profile; chain them (a includes b, b includes c)");
		return -EINVAL;
	}
	dir_of(file, dir, sizeof(dir));
	rc = pol_resolve(inc->value, dir, c->dirs, c->nr_dirs, ppath, sizeof(ppath));
	if (rc == -EINVAL) {
		pol_err(c->e, file, inc->line, "include = '%s' is not a profile name or path; use a name like 'balanced' or a path", inc->value);
		return rc;
	}
	if (rc) {
		char where[512];

		pol_dirs_list(c->dirs, c->nr_dirs, where, sizeof(where));
		pol_err(c->e, file, inc->line, "include = '%s': no such profile (looked next to this file and in: %s); check the name or set AVMM_PROFILE_DIR",
			inc->value, where);
		return -ENOENT;
	}
	if (in_chain(c, ppath)) {
		char chain[1024];
		size_t used = 0;
		int i, w;

		chain[0] = '\0';
		for (i = 0; i < c->depth; i++) {
			w = snprintf(chain + used, sizeof(chain) - used, "%s -> ", c->chain[i]);
			if (w < 0 || (size_t)w >= sizeof(chain) - used)
				break;
			used += (size_t)w;
		}
		pol_err(c->e, file, inc->line, "include cycle: %s%s; remove one of these includes", chain, ppath);
		return -ELOOP;
	}
	return pol_load_file(c, ppath, NULL, 0, p);
}
