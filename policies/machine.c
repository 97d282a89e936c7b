/* policies: the machine's default profile, and printing a profile. */
#include "policies/pol_keys.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pol_load_machine(const char *override, const char *default_path,
		     const char *const *dirs, int nr_dirs, struct pol_profile *out,
		     char *err, size_t err_len)
{
	struct pol_errs e;
	char *text = NULL, *s, *end, name[POL_PATH_MAX];
	size_t len;
	int rc;

	if (override)
		return pol_load(override, dirs, nr_dirs, out, err, err_len);
	if (!default_path)
		default_path = getenv("AVMM_PROFILE_FILE");
	if (!default_path || !*default_path)
		default_path = POL_MACHINE_DEFAULT_PATH;
	pol_errs_init(&e, err, err_len);
	rc = pol_read_text(default_path, &text, &len, &e);
	if (rc == -ENOENT) {
		pol_errs_init(&e, err, err_len);
		return pol_load(POL_FALLBACK_PROFILE, dirs, nr_dirs, out, err, err_len);
	}
	if (rc)
		return rc;
	/* first line that is not blank or a comment */
	for (s = text; *s; s = end + (*end != '\0')) {
		end = s + strcspn(s, "\n");
		while (s < end && isspace((unsigned char)*s))
			s++;
		if (s == end || *s == '#' || *s == ';')
			continue;
		while (end > s && isspace((unsigned char)end[-1]))
			end--;
		break;
	}
	if (!*s) {
		pol_err(&e, default_path, 0, "names no profile; write a profile name (e.g. balanced) or a path into it");
		rc = -EINVAL;
		goto out;
	}
	if ((size_t)(end - s) >= sizeof(name)) {
		pol_err(&e, default_path, 1, "profile name too long; use a name or a shorter path");
		rc = -EINVAL;
		goto out;
	}
	snprintf(name, sizeof(name), "%.*s", (int)(end - s), s);
	rc = pol_load(name, dirs, nr_dirs, out, err, err_len);
out:
	free(text);
	return rc;
}

int pol_format(const struct pol_profile *p, char *buf, size_t len)
{
	const char *section = "";
	char val[512], where[POL_PATH_MAX + 16];
	size_t used = 0;
	int i, w;

	w = snprintf(buf, len, "# effective profile '%s' (%s)\n", p->name, p->path);
	if (w < 0 || (size_t)w >= len)
		return -ENAMETOOLONG;
	used = (size_t)w;
	for (i = 0; i < pol_nr_keys; i++) {
		const struct pol_key *k = &pol_keys[i];

		if (pol_key_format(k, p, val, sizeof(val)))
			return -ENAMETOOLONG;
		if (p->origin[i].file >= 0)
			snprintf(where, sizeof(where), "%s:%d", p->origin_files[p->origin[i].file],
				 p->origin[i].line);
		else
			snprintf(where, sizeof(where), "default");
		w = snprintf(buf + used, len - used, "%s%s%s%s%-32s = %-12s ; %s\n",
			     strcmp(section, k->section) ? (used > 0 && *section ? "\n" : "") : "",
			     strcmp(section, k->section) ? "[" : "",
			     strcmp(section, k->section) ? k->section : "",
			     strcmp(section, k->section) ? "]\n" : "", k->key, val, where);
		if (w < 0 || (size_t)w >= len - used)
			return -ENAMETOOLONG;
		used += (size_t)w;
		section = k->section;
	}
	return 0;
}
