/* Fake NUMA node trees for the bankmap tests. */
#include "tests/bankmap/tree.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "coremap/coremap.h"

static void put(const char *root, const char *rel, const char *text)
{
	char path[512], *p;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (p = strchr(path + strlen(root) + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	f = fopen(path, "w");
	cr_assert_not_null(f, "create %s", path);
	fputs(text, f);
	fclose(f);
}

char *tree_make(int nr, const uint64_t *total_mib, const uint64_t *free_mib)
{
	char *root = strdup("/tmp/avmm-bankmap-XXXXXX"), rel[128], text[512];

	cr_assert_not_null(mkdtemp(root));
	snprintf(text, sizeof(text), "0-%d\n", nr - 1);
	put(root, "sys/devices/system/node/online", text);
	for (int i = 0; i < nr; i++) {
		size_t used = 0;

		snprintf(rel, sizeof(rel), "sys/devices/system/node/node%d/meminfo", i);
		snprintf(text, sizeof(text), "Node %d MemTotal:  %llu kB\nNode %d MemFree:   %llu kB\n"
			 "Node %d MemUsed:   %llu kB\n", i, (unsigned long long)total_mib[i] * 1024, i,
			 (unsigned long long)free_mib[i] * 1024, i,
			 (unsigned long long)(total_mib[i] - free_mib[i]) * 1024);
		put(root, rel, text);
		for (int j = 0; j < nr; j++)
			used += (size_t)snprintf(text + used, sizeof(text) - used, "%s%d", j ? " " : "",
						 i == j ? 10 : (i / 2 == j / 2 || nr <= 2) ? 21 : 31);
		snprintf(text + used, sizeof(text) - used, "\n");
		snprintf(rel, sizeof(rel), "sys/devices/system/node/node%d/distance", i);
		put(root, rel, text);
	}
	return root;
}

void tree_cleanup(char *root)
{
	char cmd[600];

	if (!root || strncmp(root, "/tmp/avmm-bankmap-", 18))
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	cr_expect_eq(system(cmd), 0);
	free(root);
}

void tree_topo(const char *root, const char *hwloc_src, struct bankmap_topo *t)
{
	struct coremap_topo *ct;
	char why[256] = "";

	cr_assert_eq(coremap_topo_load(hwloc_src, &ct), 0, "load %s", hwloc_src);
	cr_assert_eq(bankmap_topo_load(ct, root, t, why, sizeof(why)), 0, "%s", why);
	coremap_topo_free(ct);
}
