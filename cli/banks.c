/*
 * `avmm banks`: where a guest's RAM is, by NUMA node (move_pages query) and,
 * given the machine file's [dram] mapping, by DRAM rank/bank (pagemap, root).
 * Guest RAM is the largest anonymous read-write mapping of the process
 * (avmm maps guest RAM as one private anonymous mapping).
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adapt/session.h"
#include "bankmap/bankmap.h"
#include "cli/cli.h"
#include "common/util.h"
#include "vmm-core/vmm.h"

#define MAPS_MAX (4u << 20)
#define PAGEMAP_CHUNK 65536u

struct view {
	int pid;
	uint64_t start, end;
	struct bankmap_hist h;
	struct bankmap_topo topo;
	struct bankmap_machine mc;
	uint64_t *per_bank;        /* [rank][bank] present pages, when mapped */
	uint64_t mapped_present, hidden;
	int pack_nodes;
	double pack_w, spread_w;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: avmm banks [--name VM | --pid PID] [--machine FILE] [--json]\n\n"
		"Shows where a guest's RAM is: bytes per NUMA node (move_pages in query mode, as\n"
		"numastat -p does) and, when the machine file maps physical addresses to DRAM\n"
		"banks ([dram] bank_masks/rank_masks), bytes per rank and bank (root: pagemap).\n"
		"Guest RAM is the process's largest anonymous read-write mapping.\n"
		"The memory power figures come from a model (W per active and idle rank).\n\n"
		"options:\n"
		"  --name VM       a VM the node agent drives (avmm list)\n"
		"  --pid PID       any process\n"
		"  --machine FILE  the machine file (default $AVMM_MACHINE_FILE or %s)\n"
		"  --json          one JSON object\n"
		"  -h, --help      this help\n", BANKMAP_MACHINE_PATH);
}

static int pid_of_name(const char *name)
{
	struct adapt_session_cfg cfg = { 0 };
	char path[108], *ans = NULL;
	json_t *a, *vm;
	size_t i;
	int pid = -1;

	adapt_agent_socket_path(&cfg, path, sizeof(path));
	if (vmm_ctl_call(path, "{\"cmd\":\"list\"}", &ans)) {
		util_err("--name %s: no node agent answers on %s; give --pid PID instead", name, path);
		return -1;
	}
	a = json_loads(ans, 0, NULL);
	free(ans);
	json_array_foreach(json_object_get(a, "vms"), i, vm)
		if (!strcmp(json_string_value(json_object_get(vm, "name")) ?: "", name))
			pid = (int)json_integer_value(json_object_get(vm, "pid"));
	json_decref(a);
	if (pid < 0)
		util_err("--name %s: the node agent drives no VM of that name (avmm list)", name);
	return pid;
}

static int find_ram(struct view *v)
{
	char rel[64], *buf = malloc(MAPS_MAX);
	int rc;

	snprintf(rel, sizeof(rel), "/proc/%d/maps", v->pid);
	rc = buf ? util_read_file(NULL, rel, buf, MAPS_MAX) : -ENOMEM;
	if (rc >= 0)
		rc = bankmap_maps_largest_anon(buf, &v->start, &v->end);
	free(buf);
	if (rc)
		util_err("%s: %s", rel, rc == -ENOENT ? "no anonymous read-write mapping" : strerror(-rc));
	return rc;
}

static int histogram(struct view *v)
{
	uint64_t pages = (v->end - v->start) / BANKMAP_PAGE_SIZE;
	struct bankmap_sampler *s;
	char why[BANKMAP_WHY_LEN];
	int rc;

	rc = bankmap_sampler_init((void *)v->start, v->end - v->start,
				  (unsigned)UTIL_MIN(pages, BANKMAP_SAMPLER_MAX_PAGES), v->pid, &s);
	for (uint64_t t = 0; !rc && t < bankmap_sampler_pass_ticks(s); t++)
		rc = bankmap_sampler_tick(s, &bankmap_real_ops, why, sizeof(why)) < 0 ? -1 : 0;
	if (rc)
		util_err("%s", why);
	else
		bankmap_sampler_hist(s, &v->h);
	bankmap_sampler_free(s);
	return rc;
}

static void banks(struct view *v)
{
	const struct bankmap_dram_map *m = &v->mc.map;
	uint64_t pages = (v->end - v->start) / BANKMAP_PAGE_SIZE, *e = malloc(PAGEMAP_CHUNK * 8);
	size_t cells = (size_t)1 << (m->nr_bank_bits + m->nr_rank_bits);

	v->per_bank = calloc(cells, sizeof(*v->per_bank));
	for (uint64_t off = 0; e && v->per_bank && off < pages; off += PAGEMAP_CHUNK) {
		uint64_t n = UTIL_MIN((uint64_t)PAGEMAP_CHUNK, pages - off), pfn;

		if (bankmap_pagemap_read(NULL, v->pid, v->start + off * BANKMAP_PAGE_SIZE, n, e))
			break;
		for (uint64_t i = 0; i < n; i++) {
			if (!bankmap_pagemap_entry(e[i], &pfn))
				continue;
			if (!pfn) {
				v->hidden++;
				continue;
			}
			v->mapped_present++;
			v->per_bank[((size_t)bankmap_rank_of(pfn, m) << m->nr_bank_bits) |
				    bankmap_bank_of(pfn, m)]++;
		}
	}
	free(e);
}

static void print_text(const struct view *v)
{
	uint64_t bytes = v->end - v->start, known = 0;
	const struct bankmap_dram_map *m = &v->mc.map;

	for (int i = 0; i < BANKMAP_MAX_NODES; i++)
		known += v->h.pages[i];
	printf("guest RAM of pid %d: %#llx-%#llx (%.1f MiB), the largest anonymous read-write "
	       "mapping in /proc/%d/maps\n", v->pid, (unsigned long long)v->start,
	       (unsigned long long)v->end, bytes / 1048576.0, v->pid);
	printf("%-6s %12s %7s %12s %12s\n", "node", "guest MiB", "share", "node MiB", "free MiB");
	for (int i = 0; i < v->topo.nr_nodes; i++) {
		const struct bankmap_node *n = &v->topo.node[i];
		uint64_t p = v->h.pages[n->id];

		printf("%-6d %12.1f %6.1f%% %12llu %12llu\n", n->id, p * 4096.0 / 1048576.0,
		       known ? 100.0 * p / known : 0.0, (unsigned long long)(n->total_bytes >> 20),
		       (unsigned long long)(n->free_bytes >> 20));
	}
	printf("not present (never touched): %.1f MiB; other errors: %llu pages "
	       "(move_pages query of %llu pages)\n", v->h.absent * 4096.0 / 1048576.0,
	       (unsigned long long)v->h.errors, (unsigned long long)v->h.pages_queried);
	if (!v->mc.has_map) {
		printf("bank/rank: no DRAM mapping configured (%s).\n%s\n", v->mc.why, bankmap_dram_howto);
	} else if (!v->mapped_present) {
		printf("bank/rank: %s: physical frames hidden (%llu present pages without a PFN): "
		       "run as root to read /proc/%d/pagemap\n", v->hidden ? "pagemap" : "no page present",
		       (unsigned long long)v->hidden, v->pid);
	} else {
		printf("bank/rank (mapping%s%s; a page is counted at its first byte):\n",
		       v->mc.source[0] ? " from " : "", v->mc.source);
		printf("%-5s %-5s %12s\n", "rank", "bank", "guest MiB");
		for (size_t c = 0; c < (size_t)1 << (m->nr_bank_bits + m->nr_rank_bits); c++)
			printf("%-5zu %-5zu %12.2f\n", c >> m->nr_bank_bits,
			       c & (((size_t)1 << m->nr_bank_bits) - 1), v->per_bank[c] * 4096.0 / 1048576.0);
	}
	printf("memory power (model, not a measurement): pack on %d node(s) %.1f W, spread over "
	       "%d node(s) %.1f W; %d ranks per node, %.2f W per active rank, %.2f W per idle rank\n",
	       v->pack_nodes, v->pack_w, v->topo.nr_nodes, v->spread_w, v->mc.power.ranks_per_node,
	       v->mc.power.rank_active_w, v->mc.power.rank_idle_w);
}

static void print_json(const struct view *v)
{
	json_t *o = json_object(), *nodes = json_array(), *bk = json_array();
	const struct bankmap_dram_map *m = &v->mc.map;
	char *text;

	for (int i = 0; i < v->topo.nr_nodes; i++)
		json_array_append_new(nodes, json_pack("{s:i,s:I,s:I,s:I}", "node", v->topo.node[i].id,
			"guest_bytes", (json_int_t)(v->h.pages[v->topo.node[i].id] * 4096),
			"total_bytes", (json_int_t)v->topo.node[i].total_bytes,
			"free_bytes", (json_int_t)v->topo.node[i].free_bytes));
	for (size_t c = 0; v->mc.has_map && v->per_bank &&
			   c < (size_t)1 << (m->nr_bank_bits + m->nr_rank_bits); c++)
		json_array_append_new(bk, json_pack("{s:I,s:I,s:I}", "rank", (json_int_t)(c >> m->nr_bank_bits),
			"bank", (json_int_t)(c & (((size_t)1 << m->nr_bank_bits) - 1)),
			"guest_bytes", (json_int_t)(v->per_bank[c] * 4096)));
	json_object_set_new(o, "pid", json_integer(v->pid));
	json_object_set_new(o, "ram_start", json_integer((json_int_t)v->start));
	json_object_set_new(o, "ram_bytes", json_integer((json_int_t)(v->end - v->start)));
	json_object_set_new(o, "nodes", nodes);
	json_object_set_new(o, "absent_bytes", json_integer((json_int_t)(v->h.absent * 4096)));
	json_object_set_new(o, "dram_map", v->mc.has_map ? json_true() : json_false());
	json_object_set_new(o, "dram_why", json_string(v->mc.has_map ? "" : v->mc.why));
	json_object_set_new(o, "banks", bk);
	json_object_set_new(o, "power_model", json_pack("{s:b,s:i,s:f,s:i,s:f}", "model", 1,
		"pack_nodes", v->pack_nodes, "pack_w", v->pack_w, "spread_nodes", v->topo.nr_nodes,
		"spread_w", v->spread_w));
	text = json_dumps(o, JSON_COMPACT);
	puts(text ?: "{}");
	free(text);
	json_decref(o);
}

int cli_banks(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' }, { "pid", required_argument, NULL, 'p' },
		{ "machine", required_argument, NULL, 'm' }, { "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' }, { 0 },
	};
	const char *name = NULL, *machine = NULL;
	struct view *v = calloc(1, sizeof(*v));
	char why[BANKMAP_WHY_LEN] = "";
	bool json = false;
	long pid = -1;
	int o, rc = 1;

	if (!v)
		return 1;
	optind = 1;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'n': name = optarg; break;
		case 'p':
			if (util_parse_int(optarg, 1, 1 << 22, &pid)) {
				util_err("--pid %s: not a process id", optarg);
				goto usage;
			}
			break;
		case 'm': machine = optarg; break;
		case 'j': json = true; break;
		case 'h': usage(stdout); free(v); return 0;
		default: goto usage;
		}
	}
	if (!name == (pid < 0) || optind < argc) {
		util_err("banks: give exactly one of --name VM or --pid PID");
		goto usage;
	}
	v->pid = name ? pid_of_name(name) : (int)pid;
	if (v->pid < 0 || find_ram(v) || histogram(v))
		goto out;
	if (bankmap_topo_load(NULL, NULL, &v->topo, why, sizeof(why))) {
		util_err("%s", why);
		goto out;
	}
	if (bankmap_machine_load(machine, &v->mc)) {
		util_err("%s", v->mc.why);
		goto out;
	}
	if (v->mc.has_map)
		banks(v);
	v->pack_nodes = bankmap_pack_nodes(&v->topo, v->end - v->start);
	v->pack_w = bankmap_power_model_w(&v->mc.power, v->topo.nr_nodes, v->pack_nodes);
	v->spread_w = bankmap_power_model_w(&v->mc.power, v->topo.nr_nodes, v->topo.nr_nodes);
	if (json)
		print_json(v);
	else
		print_text(v);
	rc = 0;
out:
	free(v->per_bank);
	free(v);
	return rc;
usage:
	usage(stderr);
	free(v);
	return 2;
}
