/* policies: `avmm ctl [--socket PATH] [--name VM] [--json] profile NAME|FILE`, the
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
	fprintf(f, "usage: avmm ctl [--socket PATH | --name VM] [--json] profile [NAME|FILE]\n"
		   "       avmm ctl [--socket PATH | --name VM] [--json] backing 2m|4k\n"
		   "       avmm ctl [--socket PATH | --name VM] [--json] pause|resume\n"
		   "       avmm ctl [--socket PATH | --name VM] [--json] snapshot FILE\n"
		   "       avmm ctl [--socket PATH | --name VM] [--json] migrate unix:PATH|tcp:HOST:PORT\n\n"
		   "Controls a running avmm through its control socket; prints one line saying\n"
		   "what the running avmm did.\n\n"
		   "commands:\n"
		   "  profile NAME|FILE  changes the goal profile of a running avmm: validated\n"
		   "                     here, then again by avmm before it is swapped in\n"
		   "                     (a FILE is taken from root only); without NAME, prints\n"
		   "                     the profile in force\n"
		   "  backing 2m|4k      asks for 2 MiB (MADV_COLLAPSE) or 4 KiB (MADV_NOHUGEPAGE)\n"
		   "                     pages backing the guest's RAM; the control loop applies\n"
		   "                     it after its confirmation and dwell and logs it as a\n"
		   "                     paging-mode decision (without a loop, --no-adapt, the\n"
		   "                     page-size worker takes it at once); follow it with\n"
		   "                     `avmm paging --name VM`\n"
		   "  pause              stops every vCPU of the VM and saves its KVM clock; the\n"
		   "                     control loop makes no decision while it is paused\n"
		   "  resume             puts the clock back (the guest does not see the pause)\n"
		   "                     and lets the vCPUs run\n"
		   "  snapshot FILE      writes the VM's whole state to FILE (pausing it the\n"
		   "                     while); `avmm run --restore FILE ...` resumes it\n"
		   "  migrate ADDR       moves the running VM to `avmm run --incoming ADDR ...`\n"
		   "                     (pre-copy; this avmm then ends with status 0; on a\n"
		   "                     failure the VM runs on here, or, if the target took it\n"
		   "                     but did not confirm that it runs it, stays paused here:\n"
		   "                     `resume` it only if the target does not run it)\n\n"
		   "options:\n"
		   "  --name VM      the VM started with `avmm run --name VM` (/run/avmm/VM.sock)\n"
		   "  --socket PATH  the control socket given to `avmm run --socket PATH`\n"
		   "                 (neither: the only avmm running; several: an error listing them)\n"
		   "  --json         print avmm's answer as it is (one JSON object), for scripts\n"
		   "  -h, --help     this help\n\n"
		   "examples:\n"
		   "  avmm ctl profile energy              the only running VM to the energy goal\n"
		   "  avmm ctl --name web profile          which profile VM web runs\n"
		   "  avmm ctl --name web --json backing 2m\n\n"
		   "exit status: 0 done, 1 refused or no avmm answers, 2 bad arguments.\n");
}

/* The answer as one line for a person. */
static void print_human(const char *socket_path, const char *cmd, bool query, json_t *a)
{
	const char *profile = json_string_value(json_object_get(a, "profile"));
	const char *objective = json_string_value(json_object_get(a, "objective"));
	const char *path = json_string_value(json_object_get(a, "path"));

	if (!strcmp(cmd, "profile") && profile)
		printf("%s: profile %s %s (objective %s%s%s)\n", socket_path, profile,
		       query ? "in force" : "now in force", objective ?: "?",
		       path && *path ? ", from " : "", path && *path ? path : "");
	else if (!strcmp(cmd, "backing"))
		printf("%s: backing %s requested, through the %s: %s\n", socket_path,
		       json_string_value(json_object_get(a, "backing")) ?: "?",
		       json_string_value(json_object_get(a, "via")) ?: "?",
		       json_string_value(json_object_get(a, "message")) ?: "");
	else if (!strcmp(cmd, "pause"))
		printf("%s: VM paused (%lld vCPUs parked, kvmclock saved at %lld ns)\n", socket_path,
		       (long long)json_integer_value(json_object_get(a, "vcpus")),
		       (long long)json_integer_value(json_object_get(a, "clock_ns")));
	else if (!strcmp(cmd, "resume"))
		printf("%s: VM running again (paused %.3f s in all; kvmclock put back)\n", socket_path,
		       (double)json_integer_value(json_object_get(a, "paused_total_ns")) / 1e9);
	else
		printf("%s: done\n", socket_path);
}

/* One request, its answer printed (as a line, or as it is with --json); 0,
 * or 1 with the reason on stderr. */
static int call(const char *socket_path, const char *what, bool query, bool as_json, json_t *o)
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
	if (as_json)
		printf("%s\n", answer);
	else
		print_human(socket_path, what, query, a);
	rc = 0;
out:
	json_decref(o);
	json_decref(a);
	free(req);
	free(answer);
	return rc;
}

static int ctl_backing(const char *socket_path, const char *size, bool as_json)
{
	if (strcasecmp(size, "2m") && strcasecmp(size, "4k")) {
		fprintf(stderr, "avmm: error: backing '%s': give 2m (2 MiB pages) or 4k (4 KiB "
			"pages); nothing was sent\n", size);
		return 2;
	}
	return call(socket_path, "backing", false, as_json, json_pack("{s:s, s:s}", "cmd", "backing",
						       "backing", size));
}

/* pause, resume, snapshot FILE (cli_ctl_snapshot.c). */
static int ctl_verb(const char *socket_path, const char *verb, const char *file, bool as_json)
{
	if (!strcmp(verb, "snapshot"))
		return pol_cli_ctl_snapshot(socket_path, file, as_json);
	if (!strcmp(verb, "migrate"))
		return pol_cli_ctl_migrate(socket_path, file, as_json);
	return call(socket_path, verb, false, as_json, json_pack("{s:s}", "cmd", verb));
}

int pol_cli_ctl(int argc, char **argv)
{
	char storage[POL_MAX_DIRS][POL_PATH_MAX], sock[POL_PATH_MAX], err[4096], abspath[PATH_MAX];
	const char *dirs[POL_MAX_DIRS], *socket_path = NULL, *vm = NULL, *what, *verb = NULL;
	struct pol_profile *p = NULL;
	bool as_json = false;
	int i, n, rc = 2;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--socket") && i + 1 < argc)
			socket_path = argv[++i];
		else if (!strcmp(argv[i], "--name") && i + 1 < argc)
			vm = argv[++i];
		else if (!strcmp(argv[i], "--json"))
			as_json = true;
		else {
			usage(strcmp(argv[i], "-h") && strcmp(argv[i], "--help") ? stderr : stdout);
			return strcmp(argv[i], "-h") && strcmp(argv[i], "--help") ? 2 : 0;
		}
	}
	if (i < argc && (!strcmp(argv[i], "pause") || !strcmp(argv[i], "resume") ||
			 !strcmp(argv[i], "snapshot") || !strcmp(argv[i], "migrate"))) {
		verb = argv[i];
		if (argc - i != (strcmp(verb, "snapshot") && strcmp(verb, "migrate") ? 1 : 2)) {
			usage(stderr);
			return 2;
		}
	} else if (i >= argc || (strcmp(argv[i], "profile") && strcmp(argv[i], "backing")) ||
	    argc - i > 2 || (argc - i == 1 && strcmp(argv[i], "profile"))) {
		usage(stderr);
		return 2;
	}
	what = argc - i == 2 ? argv[i + 1] : NULL;
	if (!socket_path && !vm) {
		if (vmm_ctl_pick_running("avmm ctl", sock, sizeof(sock)))
			return 1;
		socket_path = sock;
	} else if (!socket_path) {
		if (vmm_ctl_default_path(vm, sock, sizeof(sock))) {
			fprintf(stderr, "avmm: error: --name '%s': use 1-64 letters, digits, '.', '_' "
				"or '-', or pass --socket PATH\n", vm);
			return 2;
		}
		socket_path = sock;
	}
	if (verb)
		return ctl_verb(socket_path, verb, what, as_json);
	if (!strcmp(argv[i], "backing"))
		return ctl_backing(socket_path, what, as_json);
	if (!what)   /* the profile in force */
		return call(socket_path, "profile", true, as_json, json_pack("{s:s}", "cmd", "profile"));
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
	rc = call(socket_path, "profile", false, as_json, json_pack("{s:s, s:s}", "cmd", "profile", "name", what));
out:
	free(p);
	return rc;
}
