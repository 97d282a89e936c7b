/* policies: loading a goal profile (includes, keys, cross-key validation). */
#include "policies/pol_keys.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct load_ctx {
	const char *const *dirs;
	int nr_dirs;
	struct pol_errs *e;
	char chain[POL_MAX_INCLUDE_DEPTH + 1][PATH_MAX]; /* canonical paths */
	int depth;
};

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

static void known_keys(const char *section, char *out, size_t len)
{
	size_t used = 0;
	int i, w;

	out[0] = '\0';
	for (i = 0; i < pol_nr_keys; i++) {
		if (strcmp(pol_keys[i].section, section))
			continue;
		w = snprintf(out + used, len - used, "%s%s", used ? ", " : "", pol_keys[i].key);
		if (w < 0 || (size_t)w >= len - used)
			return;
		used += (size_t)w;
	}
	if (!strcmp(section, "main"))
		snprintf(out + used, len - used, "%sinclude", used ? ", " : "");
}

static bool known_section(const char *s)
{
	int i;

	for (i = 0; pol_sections[i]; i++)
		if (!strcmp(pol_sections[i], s))
			return true;
	return false;
}

static void key_error(struct pol_errs *e, const char *file, const struct pol_ini_entry *en,
		      const struct pol_key *k, int rc)
{
	if (k->type == PK_DOUBLE || k->type == PK_MS || k->type == PK_INT)
		pol_err(e, file, en->line, "%s = '%s' %s; use a %s in %.10g..%.10g (%s)", en->key, en->value,
			rc == -ERANGE ? "is out of range" : "is not a number",
			k->type == PK_INT ? "whole number" : "number", k->min, k->max, k->help);
	else if (k->type == PK_STR)
		pol_err(e, file, en->line, "%s is too long; keep it under %d characters", en->key, (int)k->max);
	else
		pol_err(e, file, en->line, "%s = '%s' is not valid; use %s", en->key, en->value, k->help);
}

static int load_file(struct load_ctx *c, const char *path, const char *text, size_t len,
		     struct pol_profile *p);

static void dirs_list(const char *const *dirs, int n, char *out, size_t len)
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

static bool in_chain(const struct load_ctx *c, const char *path)
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

static int do_include(struct load_ctx *c, const char *file, const struct pol_ini_entry *inc,
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

		dirs_list(c->dirs, c->nr_dirs, where, sizeof(where));
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
	return load_file(c, ppath, NULL, 0, p);
}

static int apply(struct load_ctx *c, const char *file, const struct pol_ini *ini, int file_idx,
		 struct pol_profile *p)
{
	char keys[512];
	int i, idx, rc, bad = 0;

	for (i = 0; i < ini->n; i++) {
		const struct pol_ini_entry *en = &ini->e[i];
		const struct pol_key *k;

		if (!strcmp(en->section, "main") && !strcmp(en->key, "include"))
			continue;
		if (!known_section(en->section)) {
			pol_err(c->e, file, en->line, "unknown section [%s]; use main, goal, coremap, bankmap, paging-mode or energy",
				en->section);
			bad = 1;
			continue;
		}
		k = pol_key_find(en->section, en->key, &idx);
		if (!k) {
			known_keys(en->section, keys, sizeof(keys));
			pol_err(c->e, file, en->line, "unknown key '%s' in [%s]; known keys: %s", en->key,
				en->section, keys);
			bad = 1;
			continue;
		}
		rc = pol_key_set(k, p, en->value);
		if (rc) {
			key_error(c->e, file, en, k, rc);
			bad = 1;
			continue;
		}
		p->origin[idx].file = (int16_t)file_idx;
		p->origin[idx].line = (int16_t)(en->line > INT16_MAX ? INT16_MAX : en->line);
	}
	return bad ? -EINVAL : 0;
}

static int load_file(struct load_ctx *c, const char *path, const char *text, size_t len,
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
			syntax = do_include(c, path, &ini.e[i], p) ?: syntax;
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
	rc = apply(c, path, &ini, file_idx, p);
	if (!rc)
		rc = syntax;
out:
	c->depth--;
	pol_ini_free(&ini);
	free(buf);
	return rc;
}

/* The file:line that set key `section.key`, for cross-key messages. */
static int origin_of(const struct pol_profile *p, const char *section, const char *key,
		     const char **file)
{
	int idx;

	*file = p->path;
	if (!pol_key_find(section, key, &idx) || p->origin[idx].file < 0)
		return 0;
	*file = p->origin_files[p->origin[idx].file];
	return p->origin[idx].line;
}

static int validate(const struct pol_profile *p, struct pol_errs *e)
{
	const char *f;
	int line, before = e->count;

	if (p->objective == POL_OBJ_POWER_CAP) {
		line = origin_of(p, "goal", "objective", &f);
		if (p->power_cap_w <= 0)
			pol_err(e, f, line, "objective power-cap needs power_cap_w > 0; add e.g. 'power_cap_w = 150' to [goal]");
		else if (p->power_cap_w < p->energy.cap_min_w || p->power_cap_w > p->energy.cap_max_w)
			pol_err(e, f, line, "power_cap_w = %g is outside [energy] cap_min_w..cap_max_w (%g..%g); widen the range or change the cap",
				p->power_cap_w, p->energy.cap_min_w, p->energy.cap_max_w);
		else if (!p->enabled[POL_AD_ENERGY])
			pol_err(e, f, line, "objective power-cap needs the energy adaptation (it applies the cap); set 'enabled = yes' in [energy]");
	}
	if (p->objective == POL_OBJ_WEIGHTED && p->weight_performance + p->weight_energy <= 0) {
		line = origin_of(p, "goal", "objective", &f);
		pol_err(e, f, line, "objective weighted needs weight_performance + weight_energy > 0; set e.g. weight_performance = 1, weight_energy = 1");
	}
	if (p->energy.cap_min_w > p->energy.cap_max_w) {
		line = origin_of(p, "energy", "cap_min_w", &f);
		pol_err(e, f, line, "cap_min_w = %g is above cap_max_w = %g; swap them", p->energy.cap_min_w, p->energy.cap_max_w);
	}
	if (p->min_dwell_ns && p->min_dwell_ns < p->period_ns) {
		line = origin_of(p, "goal", "min_dwell_ms", &f);
		pol_err(e, f, line, "min_dwell_ms (%g) is shorter than period_ms (%g); use 0 or at least one period",
			(double)p->min_dwell_ns / 1e6, (double)p->period_ns / 1e6);
	}
	if (p->enabled[POL_AD_COREMAP] && p->coremap.strategy == POL_CM_EXPLICIT && !p->coremap.nr_explicit) {
		line = origin_of(p, "coremap", "strategy", &f);
		pol_err(e, f, line, "strategy explicit needs explicit_map (CPU of vCPU 0, 1, ...); add e.g. 'explicit_map = 0,1' to [coremap]");
	}
	return e->count > before ? -EINVAL : 0;
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
	struct load_ctx *c;
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
	rc = load_file(c, path, text, len, p);
	if (!rc)
		rc = validate(p, &e);
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

			dirs_list(dirs, dirs ? nr_dirs : 0, where, sizeof(where));
			pol_err(&e, name_or_path, 0, "no such profile (searched: %s); check the name, run `avmm policy list`, or set AVMM_PROFILE_DIR",
				where);
		}
		return rc == -EINVAL ? -EINVAL : -ENOENT;
	}
	return load_top(path, NULL, 0, dirs, nr_dirs, out, err, err_len);
}
