/* bankmap: DRAM bank/rank of a frame (XOR masks), the machine file's [dram]
 * section, and the memory power model. */
#include "bankmap/bankmap.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

const char bankmap_dram_howto[] =
	"Bank and rank are a platform-specific XOR function of the physical address. Put it in "
	"the [dram] section of the machine file as bank_masks = MASK, MASK, ... (one "
	"physical-address mask per bank-index bit) and rank_masks = ...: take the masks from the "
	"platform vendor's documentation (memory controller address mapping, e.g. the BIOS and "
	"Kernel Developer's Guide) or measure them with DRAMA-style reverse engineering (row-buffer "
	"conflict timing, Pessl et al., USENIX Security 2016).";

static unsigned fold(uint64_t addr, const uint64_t *masks, int n)
{
	unsigned v = 0;

	for (int i = 0; i < n; i++)
		v |= (unsigned)__builtin_parityll(addr & masks[i]) << i;
	return v;
}

unsigned bankmap_bank_of(uint64_t pfn, const struct bankmap_dram_map *map)
{
	return fold(pfn * BANKMAP_PAGE_SIZE, map->bank_mask, map->nr_bank_bits);
}

unsigned bankmap_rank_of(uint64_t pfn, const struct bankmap_dram_map *map)
{
	return fold(pfn * BANKMAP_PAGE_SIZE, map->rank_mask, map->nr_rank_bits);
}

double bankmap_power_model_w(const struct bankmap_power_model *m, int nr_nodes,
			     int nr_active_nodes)
{
	int ranks = m->ranks_per_node * nr_nodes;
	int active = m->ranks_per_node * UTIL_MIN(nr_active_nodes, nr_nodes);

	return active * m->rank_active_w + (ranks - active) * m->rank_idle_w;
}

static int parse_masks(const char *v, uint64_t *out, int *nr)
{
	char *end;
	int n = 0;

	while (*v) {
		unsigned long long m;

		while (isspace((unsigned char)*v) || *v == ',')
			v++;
		if (!*v)
			break;
		if (n >= BANKMAP_MAX_BITS)
			return -E2BIG;
		errno = 0;
		m = strtoull(v, &end, 0);
		if (end == v || errno || !m)
			return -EINVAL;
		out[n++] = m;
		v = end;
		if (*v && !isspace((unsigned char)*v) && *v != ',')
			return -EINVAL;
	}
	*nr = n;
	return n ? 0 : -EINVAL;
}

static int parse_pos(const char *v, double *out)
{
	char *end;

	*out = strtod(v, &end);
	return end == v || *end || *out < 0 ? -EINVAL : 0;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int set_key(struct bankmap_machine *m, const char *k, const char *v)
{
	double d;
	int rc;

	if (!strcmp(k, "bank_masks")) {
		rc = parse_masks(v, m->map.bank_mask, &m->map.nr_bank_bits);
		m->has_map = !rc;
		return rc;
	}
	if (!strcmp(k, "rank_masks"))
		return parse_masks(v, m->map.rank_mask, &m->map.nr_rank_bits);
	if (!strcmp(k, "source"))
		return util_fmt(m->source, sizeof(m->source), "%s", v);
	if (parse_pos(v, &d))
		return -EINVAL;
	if (!strcmp(k, "rank_active_w"))
		m->power.rank_active_w = d;
	else if (!strcmp(k, "rank_idle_w"))
		m->power.rank_idle_w = d;
	else if (!strcmp(k, "ranks_per_node") && d >= 1 && d <= 64 && d == (int)d)
		m->power.ranks_per_node = (int)d;
	else
		return -ENOENT;
	return 0;
}

static void defaults(struct bankmap_machine *m)
{
	memset(m, 0, sizeof(*m));
	m->power = (struct bankmap_power_model){ BANKMAP_RANK_ACTIVE_W, BANKMAP_RANK_IDLE_W,
						 BANKMAP_RANKS_PER_NODE };
}

int bankmap_machine_parse(const char *text, const char *name, struct bankmap_machine *out)
{
	char line[1024];
	bool in_dram = false, seen = false;
	int lineno = 0;

	defaults(out);
	while (*text) {
		size_t len = strcspn(text, "\n");
		char *s, *eq;
		int rc;

		lineno++;
		if (len >= sizeof(line)) {
			snprintf(out->why, sizeof(out->why), "%s:%d: line too long", name, lineno);
			return -EINVAL;
		}
		memcpy(line, text, len);
		line[len] = '\0';
		text += len + (text[len] == '\n');
		s = trim(line);
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			in_dram = !strcmp(s, "[dram]");
			seen |= in_dram;
			continue;
		}
		if (!in_dram)
			continue;
		eq = strchr(s, '=');
		if (!eq) {
			snprintf(out->why, sizeof(out->why), "%s:%d: expected key = value", name, lineno);
			return -EINVAL;
		}
		*eq++ = '\0';
		s = trim(s);
		if (strcmp(s, "source"))     /* an inline comment ends every value but source's text */
			eq[strcspn(eq, ";#")] = '\0';
		rc = set_key(out, s, trim(eq));
		if (rc == -ENOENT) {
			snprintf(out->why, sizeof(out->why), "%s:%d: unknown key '%s' in [dram]; use "
				 "bank_masks, rank_masks, rank_active_w, rank_idle_w, ranks_per_node or "
				 "source", name, lineno, s);
			return -EINVAL;
		}
		if (rc) {
			snprintf(out->why, sizeof(out->why), "%s:%d: bad value for %s: masks are "
				 "non-zero numbers (0x...) separated by commas, at most %d; watts are "
				 ">= 0; ranks_per_node 1..64", name, lineno, s, BANKMAP_MAX_BITS);
			return -EINVAL;
		}
	}
	if (!seen)
		snprintf(out->why, sizeof(out->why), "%s has no [dram] section", name);
	else if (!out->has_map)
		snprintf(out->why, sizeof(out->why), "%s: [dram] has no bank_masks", name);
	return 0;
}

int bankmap_machine_load(const char *path, struct bankmap_machine *out)
{
	char *text;
	FILE *f;
	long len;
	int rc;

	if (!path)
		path = getenv("AVMM_MACHINE_FILE");
	if (!path || !*path)
		path = BANKMAP_MACHINE_PATH;
	defaults(out);
	f = fopen(path, "re");
	if (!f) {
		rc = -errno;
		snprintf(out->why, sizeof(out->why), "%s: %s", path, strerror(-rc));
		return rc == -ENOENT ? 0 : rc;
	}
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	if (len < 0 || len > (1 << 20) || !(text = calloc(1, (size_t)len + 1))) {
		fclose(f);
		snprintf(out->why, sizeof(out->why), "%s: unreadable or larger than 1 MiB", path);
		return -EFBIG;
	}
	if (fread(text, 1, (size_t)len, f) != (size_t)len) {
		free(text);
		fclose(f);
		snprintf(out->why, sizeof(out->why), "%s: read error", path);
		return -EIO;
	}
	fclose(f);
	rc = bankmap_machine_parse(text, path, out);
	free(text);
	return rc;
}
