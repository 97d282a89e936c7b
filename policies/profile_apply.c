/* policies: applying a profile file's entries to the profile through the
 * key table, with messages for unknown sections, unknown keys and bad
 * values. */
#include "policies/pol_keys.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

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

int pol_profile_apply(struct pol_errs *e, const char *file, const struct pol_ini *ini,
		      int file_idx, struct pol_profile *p)
{
	char keys[512];
	int i, idx, rc, bad = 0;

	for (i = 0; i < ini->n; i++) {
		const struct pol_ini_entry *en = &ini->e[i];
		const struct pol_key *k;

		if (!strcmp(en->section, "main") && !strcmp(en->key, "include"))
			continue;
		if (!known_section(en->section)) {
			char names[160] = "";

			for (int j = 0; pol_sections[j]; j++)
				snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
					 j ? ", " : "", pol_sections[j]);
			pol_err(e, file, en->line, "unknown section [%s]; use one of: %s", en->section,
				names);
			bad = 1;
			continue;
		}
		k = pol_key_find(en->section, en->key, &idx);
		if (!k) {
			known_keys(en->section, keys, sizeof(keys));
			pol_err(e, file, en->line, "unknown key '%s' in [%s]; known keys: %s", en->key,
				en->section, keys);
			bad = 1;
			continue;
		}
		rc = pol_key_set(k, p, en->value);
		if (rc) {
			key_error(e, file, en, k, rc);
			bad = 1;
			continue;
		}
		p->origin[idx].file = (int16_t)file_idx;
		p->origin[idx].line = (int16_t)(en->line > INT16_MAX ? INT16_MAX : en->line);
	}
	return bad ? -EINVAL : 0;
}
