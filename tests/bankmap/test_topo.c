/* bankmap topology: fake 2- and 4-node trees with hwloc synthetic/XML CPUs. */
#include <criterion/criterion.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bankmap/bankmap.h"
#include "coremap/coremap.h"
#include "tests/bankmap/tree.h"

static const uint64_t total2[] = { 8192, 8192 }, free2[] = { 6000, 2000 };
static const uint64_t total4[] = { 4096, 4096, 4096, 4096 }, free4[] = { 1000, 3000, 3000, 500 };

Test(bankmap_topo, two_nodes_synthetic)
{
	char *root = tree_make(2, total2, free2);
	struct bankmap_topo t;

	tree_topo(root, "package:2 numa:1 core:4 pu:1", &t);
	cr_assert_eq(t.nr_nodes, 2);
	cr_expect_eq(t.node[0].id, 0);
	cr_expect_eq(t.node[1].total_bytes, 8192ull << 20);
	cr_expect_eq(t.node[1].free_bytes, 2000ull << 20);
	cr_expect_eq(t.node[0].nr_cpus, 4);
	cr_expect_eq(t.nr_cpus, 8);
	for (int c = 0; c < 8; c++)
		cr_expect_eq(t.cpu_node[c], c / 4, "CPU %d on node %d", c, t.cpu_node[c]);
	cr_expect_eq(t.distance[0][0], 10);
	cr_expect_eq(t.distance[0][1], 21);
	cr_expect_eq(bankmap_topo_mask(&t), 3);
	tree_cleanup(root);
}

Test(bankmap_topo, four_nodes_xml)
{
	char *root = tree_make(4, total4, free4), xml[512], src[] = __FILE__;
	struct bankmap_topo t;

	/* coremap's fixture: 2 packages, 4 NUMA nodes, CPUs 4k..4k+3 on node k */
	snprintf(xml, sizeof(xml), "%s/../coremap/topo-2pkg-4numa-smt.xml", dirname(src));
	tree_topo(root, xml, &t);
	cr_assert_eq(t.nr_nodes, 4);
	cr_expect_eq(t.cpu_node[4], 1);
	cr_expect_eq(t.cpu_node[13], 3);
	cr_expect_eq(t.distance[0][1], 21);
	cr_expect_eq(t.distance[0][3], 31);
	cr_expect_eq(t.node[3].free_bytes, 500ull << 20);
	tree_cleanup(root);
}

Test(bankmap_topo, cpu_on_node_without_memory_entry_is_refused)
{
	char *root = tree_make(2, total2, free2), why[256] = "";
	struct coremap_topo *ct;
	struct bankmap_topo t;

	cr_assert_eq(coremap_topo_load("package:4 numa:1 core:2 pu:1", &ct), 0);
	cr_expect_eq(bankmap_topo_load(ct, root, &t, why, sizeof(why)), -EINVAL);
	cr_expect(strstr(why, "node 2") && strstr(why, "nodes 0-1"), "%s", why);
	coremap_topo_free(ct);
	tree_cleanup(root);
}

Test(bankmap_topo, missing_tree_is_enodev)
{
	struct bankmap_topo t;
	char why[256] = "";

	cr_expect_eq(bankmap_topo_load(NULL, "/nonexistent-avmm-root", &t, why, sizeof(why)), -ENODEV);
	cr_expect(strstr(why, "online"), "%s", why);
}

Test(bankmap_topo, live_host_has_node_0)
{
	struct coremap_topo *ct;
	struct bankmap_topo t;
	char why[256] = "";

	cr_assert_eq(coremap_topo_load(NULL, &ct), 0);
	cr_assert_eq(bankmap_topo_load(ct, NULL, &t, why, sizeof(why)), 0, "%s", why);
	cr_expect_geq(t.nr_nodes, 1);
	cr_expect_eq(t.node[0].id, 0);
	cr_expect_gt(t.node[0].total_bytes, 0);
	cr_expect_leq(t.node[0].free_bytes, t.node[0].total_bytes);
	cr_expect_eq(t.cpu_node[0], 0);
	cr_expect_eq(t.distance[0][0], 10);
	coremap_topo_free(ct);
}

Test(bankmap_parse, nodelist_and_format)
{
	uint64_t m;
	char buf[64];

	cr_assert_eq(bankmap_parse_nodelist("0-1,3,5-6\n", &m), 0);
	cr_expect_eq(m, 0x6b);
	cr_assert_eq(bankmap_nodemask_format(m, buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "0-1,3,5-6");
	cr_expect_eq(bankmap_parse_nodelist("1-0", &m), -ERANGE);
	cr_expect_eq(bankmap_parse_nodelist("64", &m), -ERANGE);
	cr_expect_eq(bankmap_parse_nodelist("x", &m), -EINVAL);
	cr_assert_eq(bankmap_nodemask_format(0, buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "none");
}

Test(bankmap_parse, meminfo_and_distance)
{
	uint64_t total = 0, free_b = 0;
	uint8_t d[8];
	int nr;

	cr_assert_eq(bankmap_parse_meminfo("Node 1 MemTotal:  100 kB\nNode 1 MemFree:  40 kB\n",
					   &total, &free_b), 0);
	cr_expect_eq(total, 102400);
	cr_expect_eq(free_b, 40960);
	cr_expect_eq(bankmap_parse_meminfo("Node 1 MemTotal: 100 kB\n", &total, &free_b), -EINVAL);
	cr_assert_eq(bankmap_parse_distance("10 21 31\n", d, 8, &nr), 0);
	cr_expect_eq(nr, 3);
	cr_expect_eq(d[2], 31);
	cr_expect_eq(bankmap_parse_distance("10 999", d, 8, &nr), -EINVAL);
}
