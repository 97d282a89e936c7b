/* `avmm restore`: put back the host settings (power limits, CPU affinity)
 * that avmm processes which are gone left changed. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "common/hoststate.h"
#include "common/util.h"
#include "vmm-core/vmm.h"

#include "cli/cli.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: avmm restore [--run-dir DIR]\n\n"
		"Puts back what avmm processes that were killed (SIGKILL, a crash, a power\n"
		"loss of the service) left changed on this host: power limits under\n"
		"/sys/class/powercap and CPU affinities, from the state files each avmm writes\n"
		"in DIR/state before it changes anything. Processes still running are left\n"
		"alone. Every avmm run does the same when it starts.\n\n"
		"options:\n"
		"  --run-dir DIR   where the state files are (default $AVMM_RUN_DIR or /run/avmm)\n"
		"  -h, --help      this help\n\n"
		"exit status: 0 when nothing is left to put back, 1 when something could not be.\n");
}

int cli_restore(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "run-dir", required_argument, NULL, 'd' }, { "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *dir = util_run_dir();
	char report[16384];
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	rc = util_state_repair(dir, report, sizeof(report));
	fputs(report, stdout);
	if (rc < 0) {
		util_err("restore: %s; see the lines above", strerror(-rc));
		return 1;
	}
	printf("restore: %d state file(s) repaired under %s/state\n", rc, dir);
	return 0;
}
