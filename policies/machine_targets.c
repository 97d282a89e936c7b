/* policies: the machine file's [migration] section, where the node agent
 * moves its VMs when the node is predicted to fail (see pol.h). */
#include "policies/pol_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm-core/vmm.h"

static int set_addr(char *dst, size_t len, const char *v, const char *file, int line,
		    struct pol_errs *e)
{
	struct vmm_migrate_addr a;
	char why[256];

	if (strlen(v) >= len || vmm_migrate_addr_parse(v, &a, why, sizeof(why))) {
		pol_err(e, file, line, "[migration] target '%.120s': %s; write unix:PATH or "
			"tcp:HOST:PORT", v, strlen(v) >= len ? "too long" : why);
		return -EINVAL;
	}
	snprintf(dst, len, "%s", v);
	return 0;
}

static int take(struct pol_targets *out, const struct pol_ini_entry *en, const char *file,
		struct pol_errs *e)
{
	const char *vm;

	if (!strcmp(en->key, "target"))
		return set_addr(out->target, sizeof(out->target), en->value, file, en->line, e);
	if (strncmp(en->key, "target.", 7) || !vmm_ctl_valid_name(en->key + 7)) {
		pol_err(e, file, en->line, "[migration] unknown key '%s'; the keys are target and "
			"target.NAME (NAME a VM name)", en->key);
		return -EINVAL;
	}
	vm = en->key + 7;
	if (out->nr == POL_MAX_TARGETS) {
		pol_err(e, file, en->line, "[migration] more than %d target.NAME keys",
			POL_MAX_TARGETS);
		return -EINVAL;
	}
	snprintf(out->per_vm[out->nr].vm, sizeof(out->per_vm[0].vm), "%s", vm);
	return set_addr(out->per_vm[out->nr++].addr, sizeof(out->per_vm[0].addr), en->value,
			file, en->line, e);
}

int pol_targets_parse(const char *text, const char *name, struct pol_targets *out,
		      char *err, size_t err_len)
{
	struct pol_ini ini = { 0 };
	struct pol_errs e;
	bool seen = false;
	int rc;

	memset(out, 0, sizeof(*out));
	snprintf(out->path, sizeof(out->path), "%s", name);
	pol_errs_init(&e, err, err_len);
	rc = pol_ini_collect(text, strlen(text), name, &ini, &e);
	for (int i = 0; !rc && i < ini.n; i++) {
		if (strcmp(ini.e[i].section, "migration"))
			continue;   /* [dram] and others belong to other modules */
		seen = true;
		if (take(out, &ini.e[i], name, &e))
			rc = -EINVAL;
	}
	pol_ini_free(&ini);
	if (!rc && !seen)
		snprintf(out->why, sizeof(out->why), "%s has no [migration] section", name);
	else if (!rc && !out->target[0] && !out->nr)
		snprintf(out->why, sizeof(out->why), "%s: [migration] names no target", name);
	return rc;
}

int pol_targets_load(const char *path, struct pol_targets *out, char *err, size_t err_len)
{
	struct pol_errs e;
	char *text = NULL;
	size_t len;
	int rc;

	if (!path)
		path = getenv("AVMM_MACHINE_FILE");
	if (!path || !*path)
		path = POL_MACHINE_FILE;
	memset(out, 0, sizeof(*out));
	pol_errs_init(&e, err, err_len);
	rc = pol_read_text(path, &text, &len, &e);
	if (rc == -ENOENT) {
		snprintf(out->path, sizeof(out->path), "%s", path);
		snprintf(out->why, sizeof(out->why), "no machine file %s", path);
		pol_errs_init(&e, err, err_len);
		return 0;
	}
	if (!rc)
		rc = pol_targets_parse(text, path, out, err, err_len);
	free(text);
	return rc;
}

const char *pol_target_for(const struct pol_targets *t, const char *vm)
{
	for (int i = 0; i < t->nr; i++)
		if (!strcmp(t->per_vm[i].vm, vm))
			return t->per_vm[i].addr;
	return t->target[0] ? t->target : NULL;
}
