/* policies: `avmm policy check FILE|NAME` and `avmm policy list`. */
#include "policies/pol.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: avmm policy check FILE|NAME   validate a goal profile, print the effective values\n"
		   "       avmm policy list                list the profiles found in the search folders\n"
		   "       avmm policy folders             print the search folders\n");
}

static int list_profiles(const char *const *dirs, int n)
{
	struct pol_profile *p = malloc(sizeof(*p));
	char err[1024];
	int i;

	if (!p)
		return 1;
	for (i = 0; i < n; i++) {
		DIR *d = opendir(dirs[i]);
		struct dirent *de;

		if (!d)
			continue;
		while ((de = readdir(d))) {
			size_t len = strlen(de->d_name);
			char path[POL_PATH_MAX * 2];

			if (len < 5 || strcmp(de->d_name + len - 4, ".ini"))
				continue;
			snprintf(path, sizeof(path), "%s/%s", dirs[i], de->d_name);
			if (pol_load(path, dirs, n, p, err, sizeof(err)))
				printf("%-14s INVALID (%s)\n", de->d_name, path);
			else
				printf("%-14s %-11s %s\n", p->name, pol_objective_name(p->objective), p->summary);
		}
		closedir(d);
	}
	free(p);
	return 0;
}

int pol_cli_policy(int argc, char **argv)
{
	char storage[POL_MAX_DIRS][POL_PATH_MAX];
	const char *dirs[POL_MAX_DIRS];
	struct pol_profile *p = NULL;
	char err[4096], *text = NULL;
	int n, i, rc = 2;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	n = pol_default_dirs(dirs, storage);
	if (!strcmp(argv[1], "list"))
		return list_profiles(dirs, n);
	if (!strcmp(argv[1], "folders")) {
		for (i = 0; i < n; i++)
			printf("%s\n", dirs[i]);
		return 0;
	}
	if (strcmp(argv[1], "check") || argc != 3) {
		usage(stderr);
		return 2;
	}
	p = malloc(sizeof(*p));
	text = malloc(16384);
	if (!p || !text) {
		rc = 1;
		goto out;
	}
	if (pol_load(argv[2], dirs, n, p, err, sizeof(err))) {
		fprintf(stderr, "%s\navmm: error: profile %s is not valid\n", err, argv[2]);
		rc = 1;
		goto out;
	}
	if (pol_format(p, text, 16384)) {
		rc = 1;
		goto out;
	}
	fputs(text, stdout);
	printf("# ok: %s is valid\n", p->path);
	rc = 0;
out:
	free(p);
	free(text);
	return rc;
}
