/* coremap topology: synthetic, XML and live hwloc topologies. */
#include <criterion/criterion.h>
#include <errno.h>
#include <hwloc.h>
#include <hwloc/export.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coremap/coremap.h"

#define XML_FIXTURE "topo-2pkg-4numa-smt.xml"

static void fixture_path(char *buf, size_t len)
{
	char src[] = __FILE__;

	snprintf(buf, len, "%s/%s", dirname(src), XML_FIXTURE);
}

Test(coremap_topo, synthetic_two_sockets_smt)
{
	struct coremap_topo *t;

	cr_assert_eq(coremap_topo_load("package:2 core:4 pu:2", &t), 0);
	cr_expect_eq(coremap_topo_nr_pus(t), 16);
	cr_expect_eq(coremap_topo_nr_cores(t), 8);
	cr_expect_eq(coremap_topo_nr_packages(t), 2);
	cr_expect_eq(coremap_topo_pu_package(t, 7), 0);
	cr_expect_eq(coremap_topo_pu_package(t, 8), 1);
	cr_expect_eq(coremap_topo_pu_core(t, 0), coremap_topo_pu_core(t, 1), "SMT siblings");
	cr_expect_neq(coremap_topo_pu_core(t, 1), coremap_topo_pu_core(t, 2));
	cr_expect_eq(coremap_topo_pu_l3(t, 0), -1, "synthetic without caches has no L3");
	cr_expect(coremap_topo_pu_online(t, 15));
	cr_expect_eq(coremap_topo_pu_os_index(t, 16), -EINVAL);
	cr_expect_not(coremap_topo_pu_online(t, -1));
	cr_expect_str_eq(coremap_topo_source(t), "synthetic:package:2 core:4 pu:2");
	coremap_topo_free(t);
}

Test(coremap_topo, synthetic_four_sockets_numa)
{
	struct coremap_topo *t;

	cr_assert_eq(coremap_topo_load("package:4 numa:1 core:8 pu:1", &t), 0);
	cr_expect_eq(coremap_topo_nr_pus(t), 32);
	cr_expect_eq(coremap_topo_nr_numa(t), 4);
	cr_expect_eq(coremap_topo_pu_numa(t, 0), 0);
	cr_expect_eq(coremap_topo_pu_numa(t, 8), 1);
	cr_expect_eq(coremap_topo_pu_numa(t, 31), 3);
	cr_expect_eq(coremap_topo_pu_package(t, 31), 3);
	coremap_topo_free(t);
}

Test(coremap_topo, os_indices_differ_from_logical)
{
	struct coremap_topo *t;

	/* Intel-style numbering: SMT sibling of CPU i is CPU i+4 */
	cr_assert_eq(coremap_topo_load("package:2 core:2 pu:2(indexes=0,4,1,5,2,6,3,7)", &t), 0);
	cr_expect_eq(coremap_topo_pu_os_index(t, 1), 4);
	cr_expect_eq(coremap_topo_pu_by_os(t, 4), 1);
	cr_expect_eq(coremap_topo_pu_by_os(t, 2), 4);
	cr_expect_eq(coremap_topo_pu_by_os(t, 8), -ENOENT);
	coremap_topo_free(t);
}

Test(coremap_topo, xml_file_with_cpuset_excluded_cpu)
{
	char path[512];
	struct coremap_topo *t;
	int i;

	fixture_path(path, sizeof(path));
	cr_assert_eq(coremap_topo_load(path, &t), 0, "load %s", path);
	cr_expect_eq(coremap_topo_nr_pus(t), 16);
	cr_expect_eq(coremap_topo_nr_packages(t), 2);
	cr_expect_eq(coremap_topo_nr_numa(t), 4);
	cr_expect_eq(coremap_topo_nr_l3(t), 4);
	cr_expect_eq(coremap_topo_pu_numa(t, coremap_topo_pu_by_os(t, 4)), 1);
	cr_expect_eq(coremap_topo_pu_l3(t, 12), 3);
	for (i = 0; i < 15; i++)
		cr_expect(coremap_topo_pu_online(t, i), "PU %d online", i);
	cr_expect_not(coremap_topo_pu_online(t, 15), "CPU 15 is outside allowed_cpuset");
	coremap_topo_free(t);
}

Test(coremap_topo, xml_exported_at_setup_round_trips)
{
	char path[] = "/tmp/coremap-topo-XXXXXX.xml";
	hwloc_topology_t hw;
	struct coremap_topo *t;
	char *buf;
	int len, fd;
	FILE *f;

	cr_assert_eq(hwloc_topology_init(&hw), 0);
	cr_assert_eq(hwloc_topology_set_synthetic(hw, "package:4 numa:1 l3:1 core:2 pu:2"), 0);
	cr_assert_eq(hwloc_topology_load(hw), 0);
	cr_assert_eq(hwloc_topology_export_xmlbuffer(hw, &buf, &len, 0), 0);
	fd = mkstemps(path, 4);
	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	fwrite(buf, 1, (size_t)len - 1, f);
	fclose(f);
	hwloc_free_xmlbuffer(hw, buf);
	hwloc_topology_destroy(hw);

	cr_assert_eq(coremap_topo_load(path, &t), 0);
	cr_expect_eq(coremap_topo_nr_pus(t), 16);
	cr_expect_eq(coremap_topo_nr_l3(t), 4);
	cr_expect_eq(coremap_topo_pu_package(t, 5), 1);
	cr_expect_eq(coremap_topo_pu_l3(t, 5), 1);
	cr_expect_str_eq(coremap_topo_source(t) + strlen("xml:"), path);
	coremap_topo_free(t);
	unlink(path);
}

Test(coremap_topo, bad_sources_are_errors)
{
	struct coremap_topo *t = (void *)1;

	cr_expect_eq(coremap_topo_load("package:two", &t), -EINVAL);
	cr_expect_null(t);
	cr_expect_lt(coremap_topo_load("/nonexistent/topo.xml", &t), 0);
	cr_expect_null(t);
}

/* Found by fuzzing: two PUs with one OS index loaded, and a plan could put
 * a vCPU on a reserved CPU through the second of them. */
Test(coremap_topo, xml_duplicate_os_index_is_refused)
{
	static const char xml[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<topology version=\"2.0\">\n"
		"<object type=\"Machine\" os_index=\"0\" cpuset=\"0x3\" complete_cpuset=\"0x3\" "
		"nodeset=\"0x1\" complete_nodeset=\"0x1\" gp_index=\"1\">\n"
		"<object type=\"NUMANode\" os_index=\"0\" cpuset=\"0x3\" complete_cpuset=\"0x3\" "
		"nodeset=\"0x1\" complete_nodeset=\"0x1\" gp_index=\"2\" local_memory=\"1048576\"/>\n"
		"<object type=\"PU\" os_index=\"1\" cpuset=\"0x1\" complete_cpuset=\"0x1\" "
		"nodeset=\"0x1\" complete_nodeset=\"0x1\" gp_index=\"3\"/>\n"
		"<object type=\"PU\" os_index=\"1\" cpuset=\"0x2\" complete_cpuset=\"0x2\" "
		"nodeset=\"0x1\" complete_nodeset=\"0x1\" gp_index=\"4\"/>\n"
		"</object>\n</topology>\n";
	char path[] = "/tmp/avmm-topo-dup-XXXXXX.xml";
	struct coremap_topo *t = (void *)1;
	int fd = mkstemps(path, 4);

	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, xml, sizeof(xml) - 1), (ssize_t)sizeof(xml) - 1);
	close(fd);
	cr_expect_eq(coremap_topo_load(path, &t), -EINVAL);
	cr_expect_null(t);
	unlink(path);
}

Test(coremap_topo, live_machine)
{
	struct coremap_topo *t;
	int i, online = 0;

	cr_assert_eq(coremap_topo_load(NULL, &t), 0);
	cr_expect_str_eq(coremap_topo_source(t), "live");
	cr_expect_eq(coremap_topo_nr_pus(t), sysconf(_SC_NPROCESSORS_ONLN));
	for (i = 0; i < coremap_topo_nr_pus(t); i++) {
		online += coremap_topo_pu_online(t, i);
		cr_expect_geq(coremap_topo_pu_os_index(t, i), 0);
	}
	cr_expect_gt(online, 0);
	coremap_topo_free(t);
}

Test(coremap_topo, set_online)
{
	struct coremap_topo *t;

	cr_assert_eq(coremap_topo_load("core:2 pu:1", &t), 0);
	cr_expect_eq(coremap_topo_set_online(t, 1, false), 0);
	cr_expect_not(coremap_topo_pu_online(t, 1));
	cr_expect_eq(coremap_topo_set_online(t, 2, false), -EINVAL);
	coremap_topo_free(t);
}
