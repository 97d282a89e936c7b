/* policies: experiment files (parser and validator). */
#include "policies/pol_int.h"
#include "common/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct exp_ctx {
	const char *file;
	char dir[POL_PATH_MAX];
	struct pol_errs *e;
	struct pol_experiment *x;
	int line_of_profile, line_of_compare, line_of_duration, line_of_guest;
	int phase_line[POL_EXP_MAX_PHASES][2]; /* line of at_s, line of profile */
};

static int copy_str(char *dst, size_t len, const char *v)
{
	if (strlen(v) >= len)
		return -ERANGE;
	strcpy(dst, v);
	return 0;
}

static int parse_seconds(const char *v, double max, uint64_t *ns)
{
	double d;
	int rc = pol_parse_double(v, 0, max, &d);

	if (!rc)
		*ns = (uint64_t)(d * 1e9 + 0.5);
	return rc;
}

static int parse_int(const char *v, int min, int max, int *out)
{
	double d;
	int rc = pol_parse_double(v, min, max, &d);

	if (!rc && d != (int)d)
		rc = -EINVAL;
	if (!rc)
		*out = (int)d;
	return rc;
}

static int parse_compare(struct pol_experiment *x, const char *v)
{
	char buf[POL_MAX_LINE + 1], *save = NULL, *tok;

	snprintf(buf, sizeof(buf), "%s", v);
	x->nr_compare = 0;
	for (tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		if (x->nr_compare >= POL_EXP_MAX_COMPARE || strlen(tok) >= POL_PATH_MAX)
			return -ERANGE;
		strcpy(x->compare[x->nr_compare++], tok);
	}
	return x->nr_compare ? 0 : -EINVAL;
}

static int set_experiment(struct exp_ctx *c, const struct pol_ini_entry *en)
{
	struct pol_experiment *x = c->x;
	const char *k = en->key, *v = en->value;
	int rc;

	if (!strcmp(k, "name"))
		return copy_str(x->name, sizeof(x->name), v);
	if (!strcmp(k, "guest")) {
		c->line_of_guest = en->line;
		if (!*v)
			return -EINVAL;
		if (v[0] == '/' || !strcmp(c->dir, "."))
			return copy_str(x->guest, sizeof(x->guest), v);
		/* relative to the file's folder when it is there, else to the
		 * current folder */
		rc = snprintf(x->guest, sizeof(x->guest), "%s/%s", c->dir, v);
		if (rc < 0 || (size_t)rc >= sizeof(x->guest) || access(x->guest, F_OK))
			return copy_str(x->guest, sizeof(x->guest), v);
		return 0;
	}
	if (!strcmp(k, "cmdline"))
		return copy_str(x->cmdline, sizeof(x->cmdline), v);
	if (!strcmp(k, "vcpus"))
		return parse_int(v, 1, POL_MAX_CPUS, &x->vcpus);
	if (!strcmp(k, "memory")) {
		rc = util_parse_size(v, &x->mem_bytes);
		if (!rc && (x->mem_bytes < (1u << 20) || x->mem_bytes > (1ull << 40)))
			rc = -ERANGE;
		return rc;
	}
	if (!strcmp(k, "profile")) {
		c->line_of_profile = en->line;
		return *v ? copy_str(x->profile, sizeof(x->profile), v) : -EINVAL;
	}
	if (!strcmp(k, "compare")) {
		c->line_of_compare = en->line;
		return parse_compare(x, v);
	}
	if (!strcmp(k, "duration_s")) {
		c->line_of_duration = en->line;
		rc = parse_seconds(v, 86400, &x->duration_ns);
		return !rc && !x->duration_ns ? -ERANGE : rc;
	}
	if (!strcmp(k, "repeat"))
		return parse_int(v, 1, 100, &x->repeat);
	return -ENOENT;
}

static int set_output(struct exp_ctx *c, const struct pol_ini_entry *en)
{
	struct pol_experiment *x = c->x;
	const char *k = en->key, *v = en->value;

	if (!strcmp(k, "trace"))
		return copy_str(x->trace, sizeof(x->trace), v);
	if (!strcmp(k, "summary"))
		return *v ? copy_str(x->summary, sizeof(x->summary), v) : -EINVAL;
	if (!strcmp(k, "format")) {
		if (!strcasecmp(v, "table"))
			x->format = POL_FMT_TABLE;
		else if (!strcasecmp(v, "csv"))
			x->format = POL_FMT_CSV;
		else
			return -EINVAL;
		return 0;
	}
	return -ENOENT;
}

static int set_phase(struct exp_ctx *c, struct pol_exp_phase *ph, int slot,
		     const struct pol_ini_entry *en)
{
	const char *k = en->key, *v = en->value;

	if (!strcmp(k, "at_s")) {
		c->phase_line[slot][0] = en->line;
		return parse_seconds(v, 86400, &ph->at_ns);
	}
	if (!strcmp(k, "profile")) {
		c->phase_line[slot][1] = en->line;
		return *v ? copy_str(ph->profile, sizeof(ph->profile), v) : -EINVAL;
	}
	if (!strcmp(k, "host_load")) {
		if (!strcasecmp(v, "start"))
			ph->load = POL_LOAD_START;
		else if (!strcasecmp(v, "stop"))
			ph->load = POL_LOAD_STOP;
		else if (!strcasecmp(v, "none"))
			ph->load = POL_LOAD_NONE;
		else
			return -EINVAL;
		return 0;
	}
	if (!strcmp(k, "host_load_kind")) {
		if (!strcasecmp(v, "cpu"))
			ph->load_kind = POL_LOADK_CPU;
		else if (!strcasecmp(v, "memory"))
			ph->load_kind = POL_LOADK_MEMORY;
		else
			return -EINVAL;
		return 0;
	}
	if (!strcmp(k, "host_load_threads"))
		return parse_int(v, 1, 256, &ph->load_threads);
	if (!strcmp(k, "host_load_cpus"))
		return pol_parse_cpulist(v, ph->load_cpus, POL_MAX_CPUS, &ph->nr_load_cpus);
	return -ENOENT;
}

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
	"trace, summary, format",
	"at_s, profile, host_load, host_load_kind, host_load_threads, host_load_cpus",
};

static struct pol_exp_phase *phase_for(struct exp_ctx *c, const struct pol_ini_entry *en, int *slot)
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

static void apply_entry(struct exp_ctx *c, const struct pol_ini_entry *en)
{
	struct pol_exp_phase *ph;
	int rc, kind, slot = 0;

	if (!strcmp(en->section, "experiment")) {
		kind = 0;
		rc = set_experiment(c, en);
	} else if (!strcmp(en->section, "output")) {
		kind = 1;
		rc = set_output(c, en);
	} else if (!strncmp(en->section, "phase.", 6)) {
		kind = 2;
		ph = phase_for(c, en, &slot);
		if (!ph)
			return;
		rc = set_phase(c, ph, slot, en);
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

static void check_profile(struct exp_ctx *c, const char *name, int line,
			  const char *const *dirs, int nr_dirs)
{
	struct pol_profile *p = malloc(sizeof(*p));
	char err[512];

	if (!p)
		return;
	if (pol_load(name, dirs, nr_dirs, p, err, sizeof(err)))
		pol_err(c->e, c->file, line, "profile '%s' does not load (%s); fix it or name another", name, err);
	free(p);
}

static int cmp_phase(const void *a, const void *b)
{
	const struct pol_exp_phase *x = a, *y = b;

	return x->at_ns < y->at_ns ? -1 : x->at_ns > y->at_ns;
}

static void validate(struct exp_ctx *c, const char *const *dirs, int nr_dirs)
{
	struct pol_experiment *x = c->x;
	bool load_on = false;
	int i;

	if (!x->guest[0])
		pol_err(c->e, c->file, 0, "no guest; add 'guest = PATH' to [experiment]");
	if (!x->duration_ns)
		pol_err(c->e, c->file, 0, "no duration; add 'duration_s = SECONDS' to [experiment]");
	if (!x->profile[0] && !x->nr_compare)
		pol_err(c->e, c->file, 0, "no profile; add 'profile = NAME' or 'compare = static, NAME, ...' to [experiment]");
	if (x->profile[0] && x->nr_compare)
		pol_err(c->e, c->file, c->line_of_compare,
			"both profile and compare are set; with compare each run starts under one listed profile: remove 'profile' (line %d)",
			c->line_of_profile);
	for (i = 0; i < x->nr_phases; i++) {
		struct pol_exp_phase *ph = &x->phase[i];

		if (ph->at_ns == UINT64_MAX)
			pol_err(c->e, c->file, ph->line, "[phase.%d] has no at_s; add 'at_s = SECONDS'", ph->index);
		else if (x->duration_ns && ph->at_ns >= x->duration_ns)
			pol_err(c->e, c->file, c->phase_line[i][0],
				"[phase.%d] at_s = %.3f is not before the end of the run (duration_s = %.3f); move it earlier or run longer",
				ph->index, (double)ph->at_ns / 1e9, (double)x->duration_ns / 1e9);
		if (!ph->profile[0] && ph->load == POL_LOAD_NONE)
			pol_err(c->e, c->file, ph->line, "[phase.%d] does nothing; add 'profile = NAME' or 'host_load = start|stop'", ph->index);
		if (dirs && ph->profile[0])
			check_profile(c, ph->profile, c->phase_line[i][1], dirs, nr_dirs);
	}
	if (dirs && x->profile[0])
		check_profile(c, x->profile, c->line_of_profile, dirs, nr_dirs);
	for (i = 0; dirs && i < x->nr_compare; i++)
		check_profile(c, x->compare[i], c->line_of_compare, dirs, nr_dirs);
	/* in time order: equal times, and host-load start/stop pairing */
	qsort(x->phase, (size_t)x->nr_phases, sizeof(x->phase[0]), cmp_phase);
	for (i = 0; i < x->nr_phases; i++) {
		struct pol_exp_phase *ph = &x->phase[i];

		if (ph->at_ns == UINT64_MAX)
			break;
		if (i && ph->at_ns == x->phase[i - 1].at_ns)
			pol_err(c->e, c->file, ph->line, "[phase.%d] starts at the same time as [phase.%d]; merge them",
				ph->index, x->phase[i - 1].index);
		if (ph->load == POL_LOAD_START && load_on)
			pol_err(c->e, c->file, ph->line, "[phase.%d] starts a host load that is already running; stop it in an earlier phase", ph->index);
		if (ph->load == POL_LOAD_STOP && !load_on)
			pol_err(c->e, c->file, ph->line, "[phase.%d] stops a host load that is not running; start it in an earlier phase", ph->index);
		if (ph->load == POL_LOAD_START)
			load_on = true;
		if (ph->load == POL_LOAD_STOP)
			load_on = false;
	}
}

static int parse_exp(const char *text, size_t len, const char *origin, const char *const *dirs,
		     int nr_dirs, struct pol_experiment *out, char *err, size_t err_len)
{
	struct pol_ini ini = { 0 };
	struct pol_errs e;
	struct exp_ctx *c = NULL;
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
	validate(c, dirs, dirs ? nr_dirs : 0);
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
