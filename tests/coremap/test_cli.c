/* `avmm topo` through coremap_cli_topo(), stdout captured into a temp file. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coremap/coremap.h"

static char out[1 << 17];

/* Runs coremap_cli_topo(argv) with stdout in `out`; returns its status. */
static int run_topo(const char **args)
{
	char path[] = "/tmp/coremap-cli-XXXXXX";
	int argc = 0, fd, saved, rc;
	ssize_t n;

	while (args[argc])
		argc++;
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	unlink(path);
	fflush(stdout);
	saved = dup(1);
	dup2(fd, 1);
	rc = coremap_cli_topo(argc, (char **)args);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	n = pread(fd, out, sizeof(out) - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	return rc;
}

static json_t *run_json(const char **args)
{
	json_error_t err;
	json_t *j;

	cr_assert_eq(run_topo(args), 0, "%s", out);
	j = json_loads(out, 0, &err);
	cr_assert_not_null(j, "not JSON (%s): %s", err.text, out);
	return j;
}

Test(coremap_cli, text_of_a_synthetic_topology)
{
	cr_assert_eq(run_topo((const char *[]){ "topo", "--synthetic", "package:2 core:4 pu:2",
						 NULL }), 0);
	cr_expect(strstr(out, "2 package(s)"), "%s", out);
	cr_expect(strstr(out, "8 core(s), 16 PU(s)"), "%s", out);
	cr_expect(strstr(out, "Package L#1 P#1"), "%s", out);
	cr_expect(strstr(out, "PU L#15 P#15"), "%s", out);
}

Test(coremap_cli, json_of_a_synthetic_topology)
{
	json_t *j = run_json((const char *[]){ "topo", "--json", "--synthetic",
					       "package:4 numa:1 core:8 pu:1", NULL });
	json_t *pu9 = json_array_get(json_object_get(j, "pu"), 9);

	cr_expect_eq(json_integer_value(json_object_get(j, "packages")), 4);
	cr_expect_eq(json_integer_value(json_object_get(j, "numa_nodes")), 4);
	cr_expect_eq(json_integer_value(json_object_get(j, "pus")), 32);
	cr_expect_eq(json_integer_value(json_object_get(pu9, "package")), 1);
	cr_expect_eq(json_integer_value(json_object_get(pu9, "numa")), 1);
	cr_expect(json_is_true(json_object_get(pu9, "online")));
	json_decref(j);
}

Test(coremap_cli, json_of_the_xml_fixture)
{
	char src[] = __FILE__, path[512];
	json_t *j, *caches, *c;
	size_t i;
	int l3 = 0;

	snprintf(path, sizeof(path), "%s/topo-2pkg-4numa-smt.xml", dirname(src));
	j = run_json((const char *[]){ "topo", "--xml", path, "--json", NULL });
	cr_expect(json_is_false(json_object_get(json_array_get(json_object_get(j, "pu"), 15),
						"online")));
	caches = json_object_get(j, "caches");
	json_array_foreach(caches, i, c)
		l3 += json_integer_value(json_object_get(c, "level")) == 3;
	cr_expect_eq(l3, 4);
	json_decref(j);
}

Test(coremap_cli, live_machine)
{
	json_t *j = run_json((const char *[]){ "topo", "--json", NULL });

	cr_expect_eq(json_integer_value(json_object_get(j, "pus")), sysconf(_SC_NPROCESSORS_ONLN));
	cr_expect_str_eq(json_string_value(json_object_get(j, "source")), "live");
	json_decref(j);
	cr_assert_eq(run_topo((const char *[]){ "topo", NULL }), 0);
	cr_expect(strstr(out, "Machine L#0"), "%s", out);
	cr_expect(strstr(out, "cpu    package"), "%s", out);
}

Test(coremap_cli, usage_errors)
{
	cr_expect_eq(run_topo((const char *[]){ "topo", "--frobnicate", NULL }), 2);
	cr_expect_eq(run_topo((const char *[]){ "topo", "--synthetic", NULL }), 2);
	cr_expect_eq(run_topo((const char *[]){ "topo", "--xml", "/nonexistent.xml", NULL }), 1);
	cr_expect_eq(run_topo((const char *[]){ "topo", "--synthetic", "bogus:x", NULL }), 1);
	cr_expect_eq(run_topo((const char *[]){ "topo", "--help", NULL }), 0);
	cr_expect(strstr(out, "usage: avmm topo"), "%s", out);
}
