/* bankmap: memory nodes (libnuma or a node tree under fsroot), distances, and
 * the node of each CPU from coremap's topology. */
#include "bankmap/bankmap.h"

#include <ctype.h>
#include <errno.h>
#include <numa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "coremap/coremap.h"

int bankmap_parse_nodelist(const char *s, uint64_t *mask)
{
	uint64_t m = 0;
	char *end;

	while (*s && isspace((unsigned char)*s))
		s++;
	while (*s && *s != '\n') {
		unsigned long a, b;

		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		a = b = strtoul(s, &end, 10);
		s = end;
		if (*s == '-') {
			if (!isdigit((unsigned char)s[1]))
				return -EINVAL;
			b = strtoul(s + 1, &end, 10);
			s = end;
		}
		if (a > b || b >= BANKMAP_MAX_NODES)
			return -ERANGE;
		for (unsigned long i = a; i <= b; i++)
			m |= 1ull << i;
		if (*s == ',')
			s++;
		else if (*s && *s != '\n' && !isspace((unsigned char)*s))
			return -EINVAL;
		while (*s == ' ')
			s++;
	}
	*mask = m;
	return 0;
}

int bankmap_nodemask_format(uint64_t mask, char *buf, size_t len)
{
	size_t used = 0;
	int i = 0, n;

	if (!len)
		return -ENAMETOOLONG;
	buf[0] = '\0';
	while (i < BANKMAP_MAX_NODES) {
		int j = i;

		if (!(mask >> i & 1)) {
			i++;
			continue;
		}
		while (j + 1 < BANKMAP_MAX_NODES && (mask >> (j + 1) & 1))
			j++;
		n = j > i ? snprintf(buf + used, len - used, "%s%d-%d", used ? "," : "", i, j)
			  : snprintf(buf + used, len - used, "%s%d", used ? "," : "", i);
		if (n < 0 || (size_t)n >= len - used)
			return -ENAMETOOLONG;
		used += (size_t)n;
		i = j + 1;
	}
	if (!used)
		return util_fmt(buf, len, "none");
	return 0;
}

/* "Node 0 MemTotal:  7563480 kB" lines. */
int bankmap_parse_meminfo(const char *buf, uint64_t *total_bytes, uint64_t *free_bytes)
{
	bool have_total = false, have_free = false;
	const char *line;

	for (line = buf; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		unsigned long long kb;
		char key[32];
		int node;

		if (sscanf(line, "Node %d %31[^:]: %llu kB", &node, key, &kb) != 3)
			continue;
		if (!strcmp(key, "MemTotal")) {
			*total_bytes = (uint64_t)kb * 1024;
			have_total = true;
		} else if (!strcmp(key, "MemFree")) {
			*free_bytes = (uint64_t)kb * 1024;
			have_free = true;
		}
	}
	return have_total && have_free ? 0 : -EINVAL;
}

int bankmap_parse_distance(const char *buf, uint8_t *out, int max, int *nr)
{
	const char *s = buf;
	char *end;
	int n = 0;

	for (;;) {
		unsigned long v;

		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s || *s == '\n')
			break;
		v = strtoul(s, &end, 10);
		if (end == s || v > 255 || n >= max)
			return -EINVAL;
		out[n++] = (uint8_t)v;
		s = end;
	}
	*nr = n;
	return n ? 0 : -EINVAL;
}

int bankmap_topo_index(const struct bankmap_topo *t, int node)
{
	for (int i = 0; i < t->nr_nodes; i++)
		if (t->node[i].id == node)
			return i;
	return -ENOENT;
}

uint64_t bankmap_topo_mask(const struct bankmap_topo *t)
{
	uint64_t m = 0;

	for (int i = 0; i < t->nr_nodes; i++)
		m |= 1ull << t->node[i].id;
	return m;
}

static int load_libnuma(struct bankmap_topo *t, char *why, size_t why_len)
{
	int max;

	if (numa_available() < 0) {
		snprintf(why, why_len, "libnuma: numa_available() failed: this kernel has no NUMA "
			 "support (CONFIG_NUMA) or /sys/devices/system/node is missing");
		return -ENODEV;
	}
	max = numa_max_node();
	for (int n = 0; n <= max && n < BANKMAP_MAX_NODES; n++) {
		long long free_b = 0, total;

		if (!numa_bitmask_isbitset(numa_nodes_ptr, (unsigned)n))
			continue;
		total = numa_node_size64(n, &free_b);
		if (total < 0)
			continue;   /* CPU-only node */
		t->node[t->nr_nodes].id = n;
		t->node[t->nr_nodes].total_bytes = (uint64_t)total;
		t->node[t->nr_nodes].free_bytes = (uint64_t)free_b;
		t->nr_nodes++;
	}
	for (int i = 0; i < t->nr_nodes; i++)
		for (int j = 0; j < t->nr_nodes; j++)
			t->distance[i][j] = (uint8_t)numa_distance(t->node[i].id, t->node[j].id);
	snprintf(t->source, sizeof(t->source), "libnuma");
	return 0;
}

static int load_tree(struct bankmap_topo *t, const char *root, char *why, size_t why_len)
{
	char path[128], buf[4096];
	uint64_t online;
	int rc;

	rc = util_read_file(root, BANKMAP_NODE_DIR "/online", buf, sizeof(buf));
	if (rc < 0) {
		snprintf(why, why_len, "%s%s/online: %s (no NUMA node tree under this root)",
			 root, BANKMAP_NODE_DIR, strerror(-rc));
		return -ENODEV;
	}
	if (bankmap_parse_nodelist(buf, &online)) {
		snprintf(why, why_len, "%s%s/online: cannot parse '%.40s'", root, BANKMAP_NODE_DIR, buf);
		return -EINVAL;
	}
	for (int n = 0; n < BANKMAP_MAX_NODES; n++) {
		struct bankmap_node *nd = &t->node[t->nr_nodes];

		if (!(online >> n & 1))
			continue;
		snprintf(path, sizeof(path), BANKMAP_NODE_DIR "/node%d/meminfo", n);
		if (util_read_file(root, path, buf, sizeof(buf)) < 0 ||
		    bankmap_parse_meminfo(buf, &nd->total_bytes, &nd->free_bytes)) {
			snprintf(why, why_len, "%s%s: unreadable or without MemTotal/MemFree", root, path);
			return -EINVAL;
		}
		nd->id = n;
		t->nr_nodes++;
	}
	for (int i = 0; i < t->nr_nodes; i++) {
		uint8_t d[BANKMAP_MAX_NODES];
		int nr;

		snprintf(path, sizeof(path), BANKMAP_NODE_DIR "/node%d/distance", t->node[i].id);
		if (util_read_file(root, path, buf, sizeof(buf)) < 0 ||
		    bankmap_parse_distance(buf, d, BANKMAP_MAX_NODES, &nr)) {
			snprintf(why, why_len, "%s%s: unreadable or not a list of numbers", root, path);
			return -EINVAL;
		}
		/* the file lists every online node in order, memory-less ones too */
		for (int j = 0, k = 0; j < BANKMAP_MAX_NODES && k < nr; j++) {
			int pos;

			if (!(online >> j & 1))
				continue;
			pos = bankmap_topo_index(t, j);
			if (pos >= 0)
				t->distance[i][pos] = d[k];
			k++;
		}
	}
	snprintf(t->source, sizeof(t->source), "%s%s", root, BANKMAP_NODE_DIR);
	return 0;
}

int bankmap_topo_load(const struct coremap_topo *ct, const char *fsroot,
		      struct bankmap_topo *out, char *why, size_t why_len)
{
	bool live = !fsroot || !strcmp(fsroot, "/") || !*fsroot;
	int rc;

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < BANKMAP_MAX_CPUS; i++)
		out->cpu_node[i] = -1;
	rc = live ? load_libnuma(out, why, why_len) : load_tree(out, fsroot, why, why_len);
	if (rc)
		return rc;
	if (!out->nr_nodes) {
		snprintf(why, why_len, "%s: no node with memory", out->source);
		return -ENODEV;
	}
	if (!ct)
		return 0;
	for (int pu = 0; pu < coremap_topo_nr_pus(ct); pu++) {
		int cpu = coremap_topo_pu_os_index(ct, pu), node = coremap_topo_pu_numa(ct, pu), pos;

		if (cpu < 0 || cpu >= BANKMAP_MAX_CPUS)
			continue;
		if (cpu >= out->nr_cpus)
			out->nr_cpus = cpu + 1;
		out->cpu_node[cpu] = node;
		if (node < 0)
			continue;
		pos = bankmap_topo_index(out, node);
		if (pos < 0 && live)
			continue;   /* a memory-less node: the kernel allocates nearby */
		if (pos < 0) {
			char have[128];

			bankmap_nodemask_format(bankmap_topo_mask(out), have, sizeof(have));
			snprintf(why, why_len, "CPU %d is on node %d of %s, but %s has no memory "
				 "entry for node %d (nodes %s): topology and node tree disagree",
				 cpu, node, coremap_topo_source(ct), out->source, node, have);
			return -EINVAL;
		}
		out->node[pos].nr_cpus++;
	}
	return 0;
}
