/* `avmm list`: the machine's VMs as the node agent sees them. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapt/session.h"
#include "cli/cli.h"
#include "common/util.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: avmm list [--socket PATH] [--json]\n\n"
		"Lists the VMs the node agent drives: name, pid, vCPUs and the CPU each runs\n"
		"on, the machine's profile and the loop that drives them.\n\n"
		"options:\n"
		"  --socket PATH   the agent socket (default /run/avmm/agent.sock)\n"
		"  --json          the agent's answer as it is\n"
		"  -h, --help      this help\n");
}

static void print_table(json_t *a)
{
	size_t i, k;
	json_t *vm, *vc;

	printf("profile %s, loop: %s\n", json_string_value(json_object_get(a, "profile")) ?: "?",
	       json_string_value(json_object_get(a, "loop")) ?: "?");
	printf("%-20s %8s %6s  %s\n", "VM", "PID", "VCPUS", "VCPU->CPU");
	json_array_foreach(json_object_get(a, "vms"), i, vm) {
		json_t *vcpus = json_object_get(vm, "vcpus");

		printf("%-20s %8lld %6zu ", json_string_value(json_object_get(vm, "name")) ?: "?",
		       (long long)json_integer_value(json_object_get(vm, "pid")),
		       json_array_size(vcpus));
		json_array_foreach(vcpus, k, vc)
			printf(" %lld->%lld", (long long)json_integer_value(json_object_get(vc, "vcpu")),
			       (long long)json_integer_value(json_object_get(vc, "cpu")));
		if (json_is_false(json_object_get(vm, "planned")))
			printf("  (paused: not planned)");
		putchar('\n');
	}
}

int cli_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' }, { "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' }, { 0 },
	};
	struct adapt_session_cfg cfg = { 0 };
	char path[108], *ans = NULL;
	bool json = false;
	json_t *a;
	int o;

	optind = 1;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 's': cfg.agent_socket = optarg; break;
		case 'j': json = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	adapt_agent_socket_path(&cfg, path, sizeof(path));
	if (vmm_ctl_call(path, "{\"cmd\":\"list\"}", &ans)) {
		util_err("no node agent answers on %s: start one (`avmm agent`, or `systemctl "
			 "start avmm-agent`); without it each avmm run drives its own VM", path);
		return 1;
	}
	if (json) {
		puts(ans);
		free(ans);
		return 0;
	}
	a = json_loads(ans, 0, NULL);
	free(ans);
	if (!a) {
		util_err("%s answered something that is not JSON", path);
		return 1;
	}
	print_table(a);
	json_decref(a);
	return 0;
}
