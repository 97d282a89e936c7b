/* coremap CLI: `avmm topo [--json] [--synthetic STR | --xml FILE]`. */
#include "coremap/coremap.h"

#include <errno.h>
#include <hwloc.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
	"usage: avmm topo [--json] [--synthetic \"package:2 core:4 pu:2\" | --xml FILE]\n\n"
	"Prints the topology the control loop maps vCPUs onto (from hwloc): the tree of\n"
	"packages, NUMA nodes, caches, cores and PUs, then one line per CPU with its\n"
	"package, NUMA node, core, L3 and whether it is online.\n\n"
	"options:\n"
	"  --json                 the same as one JSON object (packages, numa_nodes,\n"
	"                         cores, pus, caches), for scripts\n"
	"  --synthetic STR        an hwloc synthetic topology instead of this machine's,\n"
	"                         e.g. \"package:2 numa:1 core:8 pu:2\" (what-if, tests)\n"
	"  --xml FILE             an hwloc XML export (lstopo FILE.xml) of another machine\n"
	"  -h, --help             this help\n\n"
	"examples:\n"
	"  avmm topo                                   this machine\n"
	"  avmm topo --json | jq '.pus | length'       how many CPUs\n"
	"  avmm topo --synthetic \"package:2 core:4 pu:2\"  a 2-socket machine\n\n"
	"exit status: 0, 1 when the topology cannot be loaded, 2 on bad arguments.\n";

static void print_tree(hwloc_topology_t hw, hwloc_obj_t o, int depth)
{
	char type[64], attr[256];
	hwloc_obj_t c;

	hwloc_obj_type_snprintf(type, sizeof(type), o, 0);
	hwloc_obj_attr_snprintf(attr, sizeof(attr), o, " ", 0);
	printf("%*s%s L#%u", depth * 2, "", type, o->logical_index);
	if (o->type == HWLOC_OBJ_PU || o->type == HWLOC_OBJ_NUMANODE ||
	    o->type == HWLOC_OBJ_PACKAGE)
		printf(" P#%u", o->os_index);
	printf("%s%s\n", attr[0] ? " " : "", attr);
	for (c = o->memory_first_child; c; c = c->next_sibling)
		print_tree(hw, c, depth + 1);
	for (c = o->first_child; c; c = c->next_sibling)
		print_tree(hw, c, depth + 1);
}

static void print_text(const struct coremap_topo *t)
{
	hwloc_topology_t hw = coremap_topo_hwloc(t);
	int i;

	printf("topology %s: %d package(s), %d NUMA node(s), %d L3 cache(s), %d core(s), "
	       "%d PU(s)\n", coremap_topo_source(t), coremap_topo_nr_packages(t),
	       coremap_topo_nr_numa(t), coremap_topo_nr_l3(t), coremap_topo_nr_cores(t),
	       coremap_topo_nr_pus(t));
	print_tree(hw, hwloc_get_root_obj(hw), 0);
	printf("%-6s %-7s %-5s %-5s %-4s %s\n", "cpu", "package", "numa", "core", "l3", "online");
	for (i = 0; i < coremap_topo_nr_pus(t); i++)
		printf("%-6d %-7d %-5d %-5d %-4d %s\n", coremap_topo_pu_os_index(t, i),
		       coremap_topo_pu_package(t, i), coremap_topo_pu_numa(t, i),
		       coremap_topo_pu_core(t, i), coremap_topo_pu_l3(t, i),
		       coremap_topo_pu_online(t, i) ? "yes" : "no");
}

static json_t *caches_json(hwloc_topology_t hw)
{
	json_t *arr = json_array();
	hwloc_obj_t o = NULL;

	for (int d = 0; d < hwloc_topology_get_depth(hw); d++) {
		for (o = hwloc_get_next_obj_by_depth(hw, d, NULL); o;
		     o = hwloc_get_next_obj_by_depth(hw, d, o)) {
			json_t *c;

			if (!hwloc_obj_type_is_cache(o->type))
				continue;
			c = json_pack("{s:i, s:s, s:I, s:i}", "level", (int)o->attr->cache.depth,
				      "type", o->attr->cache.type == HWLOC_OBJ_CACHE_INSTRUCTION ?
				      "instruction" : o->attr->cache.type == HWLOC_OBJ_CACHE_DATA ?
				      "data" : "unified",
				      "size_bytes", (json_int_t)o->attr->cache.size,
				      "pus", hwloc_bitmap_weight(o->cpuset));
			json_array_append_new(arr, c);
		}
	}
	return arr;
}

static int print_json(const struct coremap_topo *t)
{
	json_t *root, *pus = json_array();
	char *text;
	int i;

	for (i = 0; i < coremap_topo_nr_pus(t); i++)
		json_array_append_new(pus, json_pack("{s:i, s:i, s:i, s:i, s:i, s:b}",
			"os_index", coremap_topo_pu_os_index(t, i),
			"package", coremap_topo_pu_package(t, i),
			"numa", coremap_topo_pu_numa(t, i), "core", coremap_topo_pu_core(t, i),
			"l3", coremap_topo_pu_l3(t, i), "online", coremap_topo_pu_online(t, i)));
	root = json_pack("{s:s, s:i, s:i, s:i, s:i, s:i, s:o, s:o}",
			 "source", coremap_topo_source(t),
			 "packages", coremap_topo_nr_packages(t), "numa_nodes", coremap_topo_nr_numa(t),
			 "l3_caches", coremap_topo_nr_l3(t), "cores", coremap_topo_nr_cores(t),
			 "pus", coremap_topo_nr_pus(t), "caches", caches_json(coremap_topo_hwloc(t)),
			 "pu", pus);
	if (!root)
		return 1;
	text = json_dumps(root, JSON_INDENT(2));
	json_decref(root);
	if (!text)
		return 1;
	printf("%s\n", text);
	free(text);
	return 0;
}

int coremap_cli_topo(int argc, char **argv)
{
	const char *src = NULL;
	struct coremap_topo *t;
	bool json = false;
	int i, rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if ((strcmp(argv[i], "--synthetic") == 0 || strcmp(argv[i], "--xml") == 0) &&
			   i + 1 < argc && !src) {
			if (strcmp(argv[i], "--xml") == 0 && access(argv[i + 1], R_OK) < 0) {
				fprintf(stderr, "avmm topo: cannot read XML topology %s: %s\n",
					argv[i + 1], strerror(errno));
				return 1;
			}
			src = argv[++i];
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage, stdout);
			return 0;
		} else {
			fprintf(stderr, "avmm topo: unexpected argument \"%s\"\n%s", argv[i], usage);
			return 2;
		}
	}
	rc = coremap_topo_load(src, &t);
	if (rc < 0) {
		fprintf(stderr, "avmm topo: cannot load the topology %s\n", src ? src : "(live)");
		return 1;
	}
	if (json)
		rc = print_json(t);
	else
		print_text(t);
	fflush(stdout);
	coremap_topo_free(t);
	return rc;
}
