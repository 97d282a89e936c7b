/* policies: `avmm ctl [--socket PATH] [--name VM] profile NAME|FILE`, the
 * client side of changing a running avmm's profile (validated here first,
 * then again by the running avmm before it is swapped in), and
 * `avmm ctl ... backing 2m|4k`, the operator's request for the page size
 * backing guest RAM (the running avmm passes it through its control loop), and
 * `avmm ctl ... pause|resume|snapshot FILE` (the whole VM; cli_ctl_snapshot.c). */
#include "policies/pol.h"
#include "policies/pol_int.h"
#include "vmm-core/vmm.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: avmm ctl [--socket PATH] [--name VM] profile NAME|FILE\n"
		   "       avmm ctl [--socket PATH] [--name VM] backing 2m|4k\n"
		   "       avmm ctl [--socket PATH] [--name VM] pause|resume\n"
		   "       avmm ctl [--socket PATH] [--name VM] snapshot FILE\n"
		   "  profile  changes the goal profile of a running avmm (validated, then\n"
		   "           swapped in)\n"
		   "  backing  asks for 2 MiB (MADV_COLLAPSE) or 4 KiB (MADV_NOHUGEPAGE) pages\n"
		   "           backing the guest's RAM; the control loop applies it after its\n"
		   "           confirmation and dwell and logs it as a paging-mode decision\n"
		   "           (without a loop, --no-adapt, the page-size worker takes it at\n"
		   "           once); follow it with `avmm paging --name VM`\n"
		   "  pause    stops every vCPU of the VM and saves its KVM clock; the loop\n"
		   "           makes no decision while it is paused\n"
		   "  resume   puts the clock back (the guest does not see the pause) and\n"
		   "           lets the vCPUs run\n"
		   "  snapshot writes the VM's whole state to FILE (pausing it meanwhile);\n"
		   "           `avmm run --restore FILE` resumes it\n");
}

/* One request, its answer printed; 0, or 1 with the reason on stderr. */
static int call(const char *socket_path, const char *what, json_t *o)
{
	char *req = o ? json_dumps(o, JSON_COMPACT) : NULL, *answer = NULL;
	json_t *a = NULL;
	int rc = 1;

	if (!req)
		goto out;
	if (vmm_ctl_call(socket_path, req, &answer)) {
		fprintf(stderr, "avmm: error: cannot reach %s; is avmm running with its control "
			"socket there (--socket)?\n", socket_path);
		goto out;
	}
	a = json_loads(answer, 0, NULL);
	if (!a || json_object_get(a, "error")) {
		fprintf(stderr, "avmm: error: %s refused the %s: %s\n", socket_path, what,
			a ? json_string_value(json_object_get(a, "error")) : answer);
		goto out;
	}
	printf("%s\n", answer);
	rc = 0;
out:
	json_decref(o);
	json_decref(a);
	free(req);
	free(answer);
	return rc;
}

static int ctl_backing(const char *socket_path, const char *size)
{
	if (strcasecmp(size, "2m") && strcasecmp(size, "4k")) {
		fprintf(stderr, "avmm: error: backing '%s': give 2m (2 MiB pages) or 4k (4 KiB "
			"pages); nothing was sent\n", size);
		return 2;
	}
	return call(socket_path, "backing", json_pack("{s:s, s:s}", "cmd", "backing",
						       "backing", size));
}

/* pause, resume, snapshot FILE; the VM's socket from --name when no --socket. */
static int ctl_verb(const char *socket_path, char *sock, const char *vm, const char *verb,
		    const char *file)
{
	if (!socket_path && vmm_ctl_default_path(vm, sock, POL_PATH_MAX)) {
		fprintf(stderr, "avmm: error: no control socket path for VM '%s'; pass --socket PATH\n", vm);
		return 1;
	}
	socket_path = socket_path ? socket_path : sock;
	if (!strcmp(verb, "snapshot"))
		return pol_cli_ctl_snapshot(socket_path, file);
	return call(socket_path, verb, json_pack("{s:s}", "cmd", verb));
}

int pol_cli_ctl(int argc, char **argv)
{
	char storage[POL_MAX_DIRS][POL_PATH_MAX], sock[POL_PATH_MAX], err[4096], abspath[PATH_MAX];
	const char *dirs[POL_MAX_DIRS], *socket_path = NULL, *vm = "avmm", *what;
	struct pol_profile *p = NULL;
	int i, n, rc = 2;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--socket") && i + 1 < argc)
			socket_path = argv[++i];
		else if (!strcmp(argv[i], "--name") && i + 1 < argc)
			vm = argv[++i];
		else {
			usage(strcmp(argv[i], "-h") && strcmp(argv[i], "--help") ? stderr : stdout);
			return strcmp(argv[i], "-h") && strcmp(argv[i], "--help") ? 2 : 0;
		}
	}
	if ((argc - i == 1 && (!strcmp(argv[i], "pause") || !strcmp(argv[i], "resume"))) ||
	    (argc - i == 2 && !strcmp(argv[i], "snapshot")))
		return ctl_verb(socket_path, sock, vm, argv[i], argv[i + 1]);
	if (argc - i != 2 || (strcmp(argv[i], "profile") && strcmp(argv[i], "backing"))) {
		usage(stderr);
		return 2;
	}
	what = argv[i + 1];
	if (!socket_path) {
		if (vmm_ctl_default_path(vm, sock, sizeof(sock))) {
			fprintf(stderr, "avmm: error: no control socket path for VM '%s'; pass --socket PATH\n", vm);
			return 1;
		}
		socket_path = sock;
	}
	if (!strcmp(argv[i], "backing"))
		return ctl_backing(socket_path, what);
	n = pol_default_dirs(dirs, storage);
	p = malloc(sizeof(*p));
	if (!p)
		return 1;
	rc = 1;
	if (pol_load(what, dirs, n, p, err, sizeof(err))) {
		fprintf(stderr, "%s\navmm: error: profile %s is not valid; nothing was sent\n", err, what);
		goto out;
	}
	/* a path is sent absolute: the running avmm has another working folder */
	if (strchr(what, '/') || strstr(what, ".ini")) {
		if (!realpath(p->path, abspath))
			snprintf(abspath, sizeof(abspath), "%s", p->path);
		what = abspath;
	}
	rc = call(socket_path, "profile", json_pack("{s:s, s:s}", "cmd", "profile", "name", what));
out:
	free(p);
	return rc;
}
