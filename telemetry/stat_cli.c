/* `avmm stat`: attach to a running avmm through its control socket and print
 * live per-vCPU figures, refreshed like top. */
#include "telemetry/tel_int.h"
#include "vmm-core/vmm.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: avmm stat [--socket PATH | --name VM] [--interval SECONDS] [--once]\n\n"
		"Attaches to a running avmm through its control socket and prints its profile,\n"
		"the telemetry sources, power, whether the loop is held, and per vCPU: the\n"
		"host CPU it runs on, CPU %%, run delay %%, exits/s, paging exits/s, IPC.\n"
		"Refreshed like top on a terminal; plain frames separated by a blank line\n"
		"when the output is not a terminal (like top -b), for logs and pipes.\n\n"
		"options:\n"
		"  --name VM          the VM started with `avmm run --name VM`\n"
		"                     (its socket is /run/avmm/VM.sock, or under $AVMM_RUN_DIR)\n"
		"  --socket PATH      the control socket given to `avmm run --socket PATH`\n"
		"                     (neither: the only avmm running; several: an error\n"
		"                     that lists them)\n"
		"  --interval SECONDS between refreshes, 0.05 to 3600 (default 1)\n"
		"  --once             print one frame and exit\n"
		"  -h, --help         this help\n\n"
		"examples:\n"
		"  avmm stat                          the only running VM, refreshed every second\n"
		"  avmm stat --name web --once        one frame of the VM named web\n"
		"  avmm stat --interval 5 > stat.log  a frame every 5 s into a file\n\n"
		"exit status: 0, 1 when no avmm answers, 2 on bad arguments.\n");
}

int tel_cli_stat(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' }, { "name", required_argument, NULL, 'n' },
		{ "interval", required_argument, NULL, 'i' }, { "once", no_argument, NULL, '1' },
		{ "help", no_argument, NULL, 'h' }, { 0 },
	};
	char path[4096] = "", *end, *ans = NULL;
	const char *name = NULL;
	double interval = 1.0;
	bool once = false, tty = isatty(STDOUT_FILENO), first = true;
	int c, err;

	optind = 1;
	while ((c = getopt_long(argc, argv, "s:n:i:1h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			snprintf(path, sizeof(path), "%s", optarg);
			break;
		case 'n':
			name = optarg;
			break;
		case 'i':
			interval = strtod(optarg, &end);
			if (*end || !(interval >= 0.05 && interval <= 3600)) {
				util_err("--interval '%s': give seconds between 0.05 and 3600", optarg);
				return 2;
			}
			break;
		case '1':
			once = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		util_err("avmm stat: unexpected argument '%s'", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (!path[0] && !name && vmm_ctl_pick_running("avmm stat", path, sizeof(path)))
		return 1;
	if (!path[0] && vmm_ctl_default_path(name, path, sizeof(path))) {
		util_err("avmm stat: --name '%s': use 1-64 letters, digits, '.', '_' or '-'", name);
		return 2;
	}
	for (;;) {
		err = vmm_ctl_call(path, "{\"cmd\":\"stat\"}", &ans);
		if (err) {
			util_err("avmm stat: cannot reach '%s': %s (is avmm running with this "
				 "control socket?)", path, strerror(-err));
			return 1;
		}
		if (!once && tty)
			fputs("\033[H\033[2J", stdout);   /* top: redraw in place */
		else if (!once && !first)
			fputc('\n', stdout);               /* top -b: frames one after the other */
		first = false;
		err = tel_stat_render(ans, stdout);
		free(ans);
		fflush(stdout);
		if (once || err)
			return err ? 1 : 0;
		util_sleep_ns((uint64_t)(interval * 1e9));
	}
}
