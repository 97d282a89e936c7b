/* `avmm agent`: the node agent, one control loop for every VM on the
 * machine under the machine's goal profile. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "adapt/session.h"
#include "cli/cli.h"
#include "common/sandbox.h"
#include "common/util.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: avmm agent [OPTIONS]\n\n"
		"The node agent: runs the control loop for every VM on this machine under the\n"
		"machine's goal profile. Each `avmm run` registers its VM (its vCPU threads and\n"
		"KVM statistics) on the agent socket when it answers, and the agent plans all\n"
		"vCPUs together, owns the power cap, and drops a VM when it ends. Without an\n"
		"agent, each `avmm run` runs its own loop. Power limits it changed are put back\n"
		"when it stops; a killed agent's are repaired by the next start or `avmm restore`.\n"
		"It watches the node's health (EDAC, thermal throttle and machine-check counts\n"
		"against the profile's [health]) and, when the node is predicted to fail,\n"
		"migrates every VM to the machine file's [migration] target.\n"
		"Run it as a service: `make install-agent` installs avmm-agent.service.\n\n"
		"options:\n"
		"  --profile NAME|FILE    goal profile (default: the machine's, from\n"
		"                         /etc/avmm/profile, else balanced)\n"
		"  --socket PATH          agent socket (default /run/avmm/agent.sock)\n"
		"  --socket-group GROUP   let GROUP's users register VMs (mode 0660; default 0600)\n"
		"  --metrics [ADDR:]PORT  Prometheus /metrics and the dashboard over all vCPUs\n"
		"  --trace FILE           one record per tick, FILE.jsonl or FILE.csv\n"
		"  --energy KIND          auto, powercap, perf, papi, estimate or none\n"
		"  --counters KIND        perf, papi or none\n"
		"  --dry-run              decide and log, change nothing\n"
		"  --fsroot DIR           read sysfs/procfs under DIR (testing; the health\n"
		"                         watch's EDAC, thermal and MCE counts too)\n"
		"  --machine FILE         machine file with the [migration] target the VMs move\n"
		"                         to when the node is predicted to fail (default\n"
		"                         $AVMM_MACHINE_FILE or /etc/avmm/machine.ini)\n"
		"  --seccomp MODE         kill (default), log or off\n"
		"  -h, --help             this help\n\n"
		"exit status: 0 when stopped by a signal (limits restored), 2 when it cannot start.\n");
}

static int parse(int argc, char **argv, struct adapt_session_cfg *c)
{
	static const struct option opts[] = {
		{ "profile", required_argument, NULL, 'p' }, { "socket", required_argument, NULL, 's' },
		{ "socket-group", required_argument, NULL, 'g' },
		{ "metrics", required_argument, NULL, 'M' }, { "trace", required_argument, NULL, 't' },
		{ "energy", required_argument, NULL, 'e' }, { "counters", required_argument, NULL, 'C' },
		{ "dry-run", no_argument, NULL, 'n' }, { "fsroot", required_argument, NULL, 'f' },
		{ "seccomp", required_argument, NULL, 'S' }, { "help", no_argument, NULL, 'h' },
		{ "machine", required_argument, NULL, 'm' },
		{ 0 },
	};
	int o;

	optind = 1;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'p': c->profile = optarg; break;
		case 's': c->socket_path = c->agent_socket = optarg; break;
		case 'g': c->socket_group = optarg; break;
		case 'M': c->metrics_addr = optarg; break;
		case 't':
			if (cli_opt_trace(c, optarg))
				return 2;
			break;
		case 'e': c->energy_backend = optarg; break;
		case 'C': c->counters = optarg; break;
		case 'n': c->dry_run = true; break;
		case 'f': c->fsroot = optarg; break;
		case 'm': c->machine_file = optarg; break;
		case 'S':
			if (util_sandbox_set_mode_arg(optarg))
				return 2;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	return -1;
}

static void stop_agent(void *s)
{
	adapt_session_stop(s);
}

int cli_agent(int argc, char **argv)
{
	struct adapt_session_cfg cfg = { .agent = true, .name = "agent" };
	struct adapt_session *s;
	struct cli_signals w;
	int rc = parse(argc, argv, &cfg);

	if (rc >= 0)
		return rc;
	cli_load_kvm_batch();
	if (util_sandbox_enter(UTIL_SANDBOX_MAIN))
		return 2;
	cli_signals_block(&w);
	if (adapt_session_open(&cfg, &s))
		return 2;
	cli_signals_start(&w, stop_agent, s);
	rc = adapt_agent_run(s);
	cli_signals_end(&w);
	adapt_session_close(s);   /* puts back the power limits it changed */
	return rc ? 2 : 0;
}
