/* policies: experiment files, the keys of [experiment], [output] and
 * [phase.N] and their values (the sections and the file: experiment.c). */
#include "policies/pol_int.h"
#include "common/util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char *const format_names[] = { "table", "csv", NULL };
static const char *const load_names[] = { "none", "start", "stop", NULL };
static const char *const load_kind_names[] = { "cpu", "memory", NULL };

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

int pol_exp_set_experiment(struct pol_exp_ctx *c, const struct pol_ini_entry *en)
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
		return pol_parse_int(v, 1, POL_MAX_CPUS, &x->vcpus);
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
		return pol_parse_int(v, 1, 100, &x->repeat);
	return -ENOENT;
}

int pol_exp_set_output(struct pol_exp_ctx *c, const struct pol_ini_entry *en)
{
	struct pol_experiment *x = c->x;
	const char *k = en->key, *v = en->value;
	int rc, w;

	if (!strcmp(k, "trace"))
		return copy_str(x->trace, sizeof(x->trace), v);
	if (!strcmp(k, "summary"))
		return *v ? copy_str(x->summary, sizeof(x->summary), v) : -EINVAL;
	if (!strcmp(k, "report"))
		return *v ? copy_str(x->report, sizeof(x->report), v) : -EINVAL;
	if (!strcmp(k, "format")) {
		rc = pol_parse_word(v, format_names, &w);
		if (!rc)
			x->format = (enum pol_exp_format)w;
		return rc;
	}
	return -ENOENT;
}

int pol_exp_set_phase(struct pol_exp_ctx *c, struct pol_exp_phase *ph, int slot,
		      const struct pol_ini_entry *en)
{
	const char *k = en->key, *v = en->value;
	int rc, w;

	if (!strcmp(k, "at_s")) {
		c->phase_line[slot][0] = en->line;
		return parse_seconds(v, 86400, &ph->at_ns);
	}
	if (!strcmp(k, "profile")) {
		c->phase_line[slot][1] = en->line;
		return *v ? copy_str(ph->profile, sizeof(ph->profile), v) : -EINVAL;
	}
	if (!strcmp(k, "host_load")) {
		rc = pol_parse_word(v, load_names, &w);
		if (!rc)
			ph->load = (enum pol_load_action)w;
		return rc;
	}
	if (!strcmp(k, "host_load_kind")) {
		rc = pol_parse_word(v, load_kind_names, &w);
		if (!rc)
			ph->load_kind = (enum pol_load_kind)w;
		return rc;
	}
	if (!strcmp(k, "host_load_threads"))
		return pol_parse_int(v, 1, 256, &ph->load_threads);
	if (!strcmp(k, "host_load_cpus"))
		return pol_parse_cpulist(v, ph->load_cpus, POL_MAX_CPUS, &ph->nr_load_cpus);
	return -ENOENT;
}
