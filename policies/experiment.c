/* policies: experiment files: reading one, its sections ([experiment],
 * [output], [phase.N]) and the messages for unknown or bad keys. The keys'
 * values: experiment_keys.c; the checks after reading: experiment_check.c. */
#include "policies/pol_int.h"
#include "common/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *help_for(const char *section, const char *key)
{
	static const struct { const char *s, *k, *h; } h[] = {
		{ "experiment", "vcpus", "a whole number in 1..64" },
		{ "experiment", "memory", "a size in 1M..1T such as 64M or 2G" },
		{ "experiment", "duration_s", "seconds, more than 0 and at most 86400" },
		{ "experiment", "repeat", "a whole number in 1..100" },
		{ "experiment", "compare", "a comma list of at most 8 profiles, e.g. static, performance, energy" },
		{ "output", "format", "table or csv" },
		{ "phase", "at_s", "seconds from the start, 0..86400" },
		{ "phase", "host_load", "start, stop or none" },
		{ "phase", "host_load_kind", "cpu or memory" },
		{ "phase", "host_load_threads", "a whole number in 1..256" },
		{ "phase", "host_load_cpus", "a CPU list like 0,2-3" },
	};
	size_t i;

	for (i = 0; i < sizeof(h) / sizeof(h[0]); i++)
		if (!strcmp(h[i].s, section) && !strcmp(h[i].k, key))
			return h[i].h;
	return "a shorter, non-empty value";
}

static const char *const known[3] = {
	"name, guest, cmdline, vcpus, memory, profile, compare, duration_s, repeat",
	"trace, summary, format, report",
	"at_s, profile, host_load, host_load_kind, host_load_threads, host_load_cpus",
};

static struct pol_exp_phase *phase_for(struct pol_exp_ctx *c, const struct pol_ini_entry *en, int *slot)
{
	struct pol_experiment *x = c->x;
	long n;
	int i;

	if (util_parse_int(en->section + 6, 1, 999, &n)) {
		pol_err(c->e, c->file, en->line, "section [%s]: phases are [phase.N] with N in 1..999", en->section);
		return NULL;
	}
	for (i = 0; i < x->nr_phases; i++)
		if (x->phase[i].index == n) {
			*slot = i;
			return &x->phase[i];
		}
	if (x->nr_phases >= POL_EXP_MAX_PHASES) {
		pol_err(c->e, c->file, en->line, "more than %d phases; split the experiment", POL_EXP_MAX_PHASES);
		return NULL;
	}
	*slot = x->nr_phases;
	x->phase[x->nr_phases].index = (int)n;
	x->phase[x->nr_phases].line = en->line;
	x->phase[x->nr_phases].load_threads = 1;
	x->phase[x->nr_phases].at_ns = UINT64_MAX;
	return &x->phase[x->nr_phases++];
}

static void apply_entry(struct pol_exp_ctx *c, const struct pol_ini_entry *en)
{
	struct pol_exp_phase *ph;
	int rc, kind, slot = 0;

	if (!strcmp(en->section, "experiment")) {
		kind = 0;
		rc = pol_exp_set_experiment(c, en);
	} else if (!strcmp(en->section, "output")) {
		kind = 1;
		rc = pol_exp_set_output(c, en);
	} else if (!strncmp(en->section, "phase.", 6)) {
		kind = 2;
		ph = phase_for(c, en, &slot);
		if (!ph)
			return;
		rc = pol_exp_set_phase(c, ph, slot, en);
	} else {
		pol_err(c->e, c->file, en->line, "unknown section [%s]; use [experiment], [output] or [phase.N]", en->section);
		return;
	}
	if (rc == -ENOENT)
		pol_err(c->e, c->file, en->line, "unknown key '%s' in [%s]; known keys: %s", en->key, en->section, known[kind]);
	else if (rc)
		pol_err(c->e, c->file, en->line, "%s = '%s' is not valid; use %s", en->key, en->value,
			help_for(kind == 2 ? "phase" : en->section, en->key));
}

static int parse_exp(const char *text, size_t len, const char *origin, const char *const *dirs,
		     int nr_dirs, struct pol_experiment *out, char *err, size_t err_len)
{
	struct pol_ini ini = { 0 };
	struct pol_errs e;
	struct pol_exp_ctx *c = NULL;
	struct pol_experiment *x = NULL;
	const char *slash, *base;
	int i, rc;

	pol_errs_init(&e, err, err_len);
	c = calloc(1, sizeof(*c));
	x = calloc(1, sizeof(*x));
	rc = -ENOMEM;
	if (!c || !x)
		goto out;
	c->file = origin;
	c->e = &e;
	c->x = x;
	slash = strrchr(origin, '/');
	snprintf(c->dir, sizeof(c->dir), "%.*s", slash ? (int)(slash - origin) : 1, slash ? origin : ".");
	x->vcpus = 1;
	x->mem_bytes = 64ull << 20;
	x->repeat = 1;
	strcpy(x->summary, "-");
	snprintf(x->path, sizeof(x->path), "%s", origin);
	base = slash ? slash + 1 : origin;
	snprintf(x->name, sizeof(x->name), "%.*s", (int)strcspn(base, "."), base);
	rc = pol_ini_collect(text, len, origin, &ini, &e);
	if (rc == -ENOMEM)
		goto out;
	for (i = 0; i < ini.n; i++)
		apply_entry(c, &ini.e[i]);
	pol_exp_validate(c, dirs, dirs ? nr_dirs : 0);
	rc = e.count ? -EINVAL : 0;
	if (!rc)
		*out = *x;
out:
	pol_ini_free(&ini);
	free(c);
	free(x);
	return rc;
}

int pol_exp_parse_buffer(const char *text, size_t len, const char *origin,
			 const char *const *dirs, int nr_dirs,
			 struct pol_experiment *out, char *err, size_t err_len)
{
	return parse_exp(text ? text : "", text ? len : 0, origin ? origin : "<buffer>", dirs,
			 nr_dirs, out, err, err_len);
}

int pol_exp_load(const char *path, const char *const *dirs, int nr_dirs,
		 struct pol_experiment *out, char *err, size_t err_len)
{
	struct pol_errs e;
	char *text = NULL;
	size_t len = 0;
	int rc;

	pol_errs_init(&e, err, err_len);
	rc = pol_read_text(path, &text, &len, &e);
	if (rc)
		return rc;
	rc = parse_exp(text, len, path, dirs, nr_dirs, out, err, err_len);
	free(text);
	return rc;
}
