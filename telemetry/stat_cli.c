/* `avmm stat`: attach to a running avmm through its control socket and print
 * live per-vCPU figures, refreshed like top. */
#include "telemetry/tel_int.h"
#include "vmm-core/vmm.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: avmm stat [--socket PATH | --name VM] [--interval SECONDS] [--once]\n"
		"  attaches to a running avmm through its control socket and prints\n"
		"  per-vCPU CPU time, run delay, exits/s, paging exits/s and IPC\n");
}

int tel_cli_stat(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' }, { "name", required_argument, NULL, 'n' },
		{ "interval", required_argument, NULL, 'i' }, { "once", no_argument, NULL, '1' },
		{ "help", no_argument, NULL, 'h' }, { 0 },
	};
	char path[4096] = "", *end, *ans = NULL;
	const char *name = "avmm";
	double interval = 1.0;
	bool once = false;
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
	if (!path[0] && vmm_ctl_default_path(name, path, sizeof(path))) {
		util_err("avmm stat: no control socket path for VM '%s'", name);
		return 1;
	}
	for (;;) {
		err = vmm_ctl_call(path, "{\"cmd\":\"stat\"}", &ans);
		if (err) {
			util_err("avmm stat: cannot reach '%s': %s (is avmm running with this "
				 "control socket?)", path, strerror(-err));
			return 1;
		}
		if (!once)
			fputs("\033[H\033[2J", stdout);
		err = tel_stat_render(ans, stdout);
		free(ans);
		fflush(stdout);
		if (once || err)
			return err ? 1 : 0;
		util_sleep_ns((uint64_t)(interval * 1e9));
	}
}
