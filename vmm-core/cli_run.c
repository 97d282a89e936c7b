/* `avmm run`: options, VM creation, signal handling, exit status. */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "vmm-core/vmm.h"

int vmm_cli_run(int argc, char **argv);

static void run_usage(FILE *f)
{
	fprintf(f,
		"usage: avmm run [OPTIONS] GUEST [--cmdline STR] [--initrd FILE]\n\n"
		"Runs GUEST (a Multiboot v1 ELF, an ELF64 vmlinux with a PVH note, or a Linux\n"
		"bzImage) on KVM until it exits.\n\n"
		"options:\n"
		"  --vcpus N              virtual CPUs (default 1)\n"
		"  --mem SIZE             guest memory, e.g. 64M, 2G (default 64M)\n"
		"  --mem-backing KIND     anon (4 KiB pages), thp (transparent 2 MiB pages) or\n"
		"                         hugetlbfs (reserved 2 MiB pages) (default anon)\n"
		"  --console stdio|FILE   where the guest's serial port goes (default stdio)\n"
		"  --cmdline STR          guest command line\n"
		"  --initrd FILE          initial ramdisk (Linux) or Multiboot module\n"
		"  -h, --help             this help\n\n"
		"exit status: (v<<1)|1 when the guest writes v to the debug-exit port 0xf4,\n"
		"0 on guest reset or power-off, 130/143 when stopped by SIGINT/SIGTERM,\n"
		"2 on bad arguments or when the VM cannot be created, 4 when the guest crashes.\n");
}

static int parse_backing(const char *s, enum vmm_backing *out)
{
	if (!strcmp(s, "anon"))
		*out = VMM_BACKING_ANON;
	else if (!strcmp(s, "thp"))
		*out = VMM_BACKING_THP;
	else if (!strcmp(s, "hugetlbfs"))
		*out = VMM_BACKING_HUGETLBFS;
	else
		return -1;
	return 0;
}

struct sig_waiter {
	struct vmm *vm;
	sigset_t set;
	int signo;
};

static void *wait_signals(void *arg)
{
	struct sig_waiter *w = arg;
	int sig = 0;

	sigwait(&w->set, &sig);
	if (sig == SIGINT || sig == SIGTERM) {
		w->signo = sig;
		vmm_request_stop(w->vm);
	}
	return NULL;
}

static int parse_args(int argc, char **argv, struct vmm_config *cfg)
{
	static const struct option opts[] = {
		{ "vcpus", required_argument, NULL, 'c' },
		{ "mem", required_argument, NULL, 'm' },
		{ "mem-backing", required_argument, NULL, 'b' },
		{ "console", required_argument, NULL, 'o' },
		{ "cmdline", required_argument, NULL, 'l' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	long vcpus;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (util_parse_int(optarg, 1, 1 << 20, &vcpus)) {
				util_err("--vcpus '%s': expected a whole number >= 1", optarg);
				return 2;
			}
			cfg->vcpus = (int)vcpus;
			break;
		case 'm':
			if (util_parse_size(optarg, &cfg->mem_bytes)) {
				util_err("--mem '%s': expected a size such as 64M or 2G", optarg);
				return 2;
			}
			break;
		case 'b':
			if (parse_backing(optarg, &cfg->backing)) {
				util_err("--mem-backing '%s': expected anon, thp or hugetlbfs", optarg);
				return 2;
			}
			break;
		case 'o': cfg->console_path = optarg; break;
		case 'l': cfg->cmdline = optarg; break;
		case 'i': cfg->initrd_path = optarg; break;
		case 'h': run_usage(stdout); return 0;
		default: run_usage(stderr); return 2;
		}
	}
	if (optind != argc - 1) {
		util_err(optind == argc ? "run: no GUEST given" : "run: more than one GUEST given");
		run_usage(stderr);
		return 2;
	}
	cfg->guest_path = argv[optind];
	return -1;
}

int vmm_cli_run(int argc, char **argv)
{
	struct vmm_config cfg = { .vcpus = 1, .mem_bytes = 64ull << 20 };
	struct sig_waiter w = { 0 };
	struct vmm_result res;
	pthread_t waiter;
	struct vmm *vm;
	int rc;

	rc = parse_args(argc, argv, &cfg);
	if (rc >= 0)
		return rc;
	if (vmm_create(&cfg, &vm))
		return 2;
	sigemptyset(&w.set);
	sigaddset(&w.set, SIGINT);
	sigaddset(&w.set, SIGTERM);
	sigaddset(&w.set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &w.set, NULL);
	w.vm = vm;
	pthread_create(&waiter, NULL, wait_signals, &w);
	rc = vmm_start(vm);
	vmm_wait(vm, &res);
	pthread_kill(waiter, SIGUSR2);
	pthread_join(waiter, NULL);
	util_info("guest ended: %s (%s), exit status %d", vmm_end_name(res.end), res.why,
		  w.signo ? 128 + w.signo : res.exit_status);
	vmm_destroy(vm);
	if (rc)
		return 2;
	return w.signo ? 128 + w.signo : res.exit_status;
}
