/* avmm: the command-line entry point; dispatches to each module's subcommand. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "adapt/adapt.h"
#include "cli/cli.h"
#include "common/util.h"
#include "coremap/coremap.h"
#include "energy/energy.h"
#include "policies/pol.h"
#include "telemetry/tel.h"
#include "vmm-core/vmm.h"


struct subcommand {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
};

#ifndef AVMM_GIT
#define AVMM_GIT "unknown"
#endif
#define AVMM_VERSION "0.15.0"

static int version(void)
{
	printf("avmm %s (git %s)\n", AVMM_VERSION, AVMM_GIT);
	return 0;
}

static int cmd_version(int argc, char **argv)
{
	return version();
}

static const struct subcommand commands[] = {
	{ "run", cli_run, "run a guest under the adaptive runtime" },
	{ "stat", tel_cli_stat, "attach to a running avmm and show live per-vCPU figures" },
	{ "ctl", pol_cli_ctl, "control a running avmm (e.g. ctl profile NAME)" },
	{ "topo", coremap_cli_topo, "print the host topology (packages, NUMA nodes, cores)" },
	{ "energy", cli_energy, "print RAPL zones, energy and power (else the profile's estimate)" },
	{ "policy", pol_cli_policy, "validate a goal profile (policy check FILE)" },
	{ "experiment", adapt_cli_experiment, "run an experiment file" },
	{ "restore", cli_restore, "put back power limits and pinning a killed avmm left" },
	{ "agent", cli_agent, "the node agent: one control loop for every VM on this machine" },
	{ "paging", cli_paging, "the host's paging modes and levers; a VM's page-size backing" },
	{ "list", cli_list, "list the VMs the node agent drives and where their vCPUs run" },
	{ "banks", cli_banks, "where a guest's RAM is: NUMA nodes, DRAM ranks/banks (root)" },
	{ "version", cmd_version, "print avmm's version" },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: avmm [-v|-vv] [-q] COMMAND [ARGS]\n"
		   "       avmm help [COMMAND]   avmm --version\n\n"
		   "avmm is a virtual machine monitor on Linux KVM with a control loop that\n"
		   "adapts vCPU placement and the power cap to the goal profile of the machine.\n\n"
		   "commands:\n");
	for (i = 0; i < UTIL_ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-11s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\noptions:\n  -v, --verbose  more log output: the loop's decisions and their reasons\n"
		   "                 (-vv or -v -v: debug)\n"
		   "  -q, --quiet    errors only (no start-up line)\n"
		   "  -V, --version  print the version\n"
		   "  -h, --help     this help\n\n"
		   "Run 'avmm help COMMAND' (or 'avmm COMMAND --help') for a command's options.\n");
}

/* -v, --verbose, -vv, -vvv (each v one level), -q, --quiet; 0 if not one. */
static int log_option(const char *a, int *level)
{
	if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
		*level = UTIL_LOG_ERROR;
		return 1;
	}
	if (!strcmp(a, "--verbose")) {
		(*level)++;
		return 1;
	}
	if (a[0] != '-' || a[1] != 'v')
		return 0;
	for (const char *p = a + 1; *p; p++)
		if (*p != 'v')
			return 0;
	*level += (int)strlen(a + 1);
	return 1;
}

static const struct subcommand *find(const char *name)
{
	for (size_t i = 0; i < UTIL_ARRAY_SIZE(commands); i++)
		if (!strcmp(name, commands[i].name))
			return &commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	const struct subcommand *c;
	int level = UTIL_LOG_WARN;

	while (argc > 1 && log_option(argv[1], &level)) {
		argc--;
		argv++;
	}
	util_log_set_level(level > UTIL_LOG_DEBUG ? UTIL_LOG_DEBUG : level);
	/* A reader that goes away (a control client, `avmm run | head`) is an
	 * EPIPE on that write, never the end of avmm and its guest. */
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version"))
		return version();
	if (!strcmp(argv[1], "help") && argc > 2) {   /* avmm help CMD = avmm CMD --help */
		char *args[] = { argv[2], "--help", NULL };

		if (!(c = find(argv[2]))) {
			util_err("help: unknown command '%s'; run 'avmm help' for the list", argv[2]);
			return 2;
		}
		return c->fn(2, args);
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if ((c = find(argv[1])))
		return c->fn(argc - 1, argv + 1);
	util_err("unknown command '%s'; run 'avmm --help' for the list", argv[1]);
	return 2;
}
