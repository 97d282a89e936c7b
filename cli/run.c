/* `avmm run`: options, the session (VM, telemetry, loop), signals, exit status. */
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapt/session.h"
#include "common/sandbox.h"
#include "common/util.h"
#include "telemetry/tel.h"
#include "vmm-core/vmm.h"

#include "cli/cli.h"

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
		"  --console-max SIZE     console output cap; more is dropped and counted\n"
		"                         (default 64M; 0: no cap)\n"
		"  --console-rate SIZE    console bytes per second, in bursts of one second\n"
		"                         (default 1M; 0: no limit)\n"
		"  --halt-watchdog SECS   end the run (status 8) when every vCPU has been halted\n"
		"                         with interrupts off this long (default 10; 0: never)\n"
		"  --cmdline STR          guest command line\n"
		"  --restore FILE         resume the VM saved by `avmm ctl snapshot FILE` (give\n"
		"                         the same guest, --vcpus and --mem; a file from another\n"
		"                         version, truncated, or needing CPU features this host\n"
		"                         lacks is refused and nothing runs)\n"
		"  --incoming ADDR        wait on unix:PATH or tcp:HOST:PORT for the VM `avmm ctl\n"
		"                         migrate ADDR` sends (same guest, --vcpus, --mem); it\n"
		"                         starts once all of it has arrived\n"
		"  --initrd FILE          initial ramdisk (Linux) or Multiboot module\n"
		"  --cpu MODEL[,+F,-F,vendor=V]  the CPU the guest sees through CPUID: MODEL is\n"
		"                         host (default: what KVM supports here), qemu64,\n"
		"                         x86-64-v2 or x86-64-v3; +F/-F turn a flag on or off\n"
		"                         (x2apic, pcid, cx16, xsave, avx, avx2, sse4_1, sse4_2,\n"
		"                         popcnt, aes, rdrand, fsgsbase, smep, smap, pdpe1gb,\n"
		"                         rdtscp, lm, nx, hypervisor, tsc-deadline, invpcid,\n"
		"                         erms, ...; flags that need it follow: -xsave also\n"
		"                         clears avx, avx2 and leaf 0xD); vendor=GenuineIntel,\n"
		"                         AuthenticAMD, ... sets the vendor string\n"
		"  --testdev              QEMU's pc-testdev (ports 0xe0-0xeb, 0x2000-0x2017,\n"
		"                         MMIO RAM at 0xff000000) for conformance suites such as\n"
		"                         kvm-unit-tests only (off by default)\n"
		"  --profile NAME|FILE    goal profile (default: the machine's, from\n"
		"                         /etc/avmm/profile or $AVMM_PROFILE_FILE, else balanced)\n"
		"  --dry-run              decide and log adaptations, change nothing\n"
		"  --no-adapt             telemetry only, no control loop\n"
		"  --no-agent             run this VM's own loop even when a node agent runs\n"
		"                         (by default a VM registers with `avmm agent` when\n"
		"                         its socket answers, and the agent drives it)\n"
		"  --agent-socket PATH    the agent's socket (default /run/avmm/agent.sock)\n"
		"  --metrics [ADDR:]PORT  serve Prometheus /metrics and the dashboard at /\n"
		"                         (a bare PORT listens on 127.0.0.1; PORT 0: any free one)\n"
		"  --trace FILE           one record per tick, FILE.jsonl or FILE.csv (repeatable)\n"
		"  --best-effort          a --metrics port that cannot be bound or a --trace that\n"
		"                         cannot be written is reported and left out, and the\n"
		"                         guest runs (default: exit status 2 before the guest)\n"
		"  -q, --quiet            no start-up line, errors only (as `avmm -q run`)\n"
		"  --counters KIND        hardware counters: perf (libpfm4), papi or none\n"
		"  --energy KIND          auto, powercap, perf, papi, estimate or none\n"
		"  --name NAME            VM name for labels and the control socket (default avmm)\n"
		"  --socket PATH          control socket (default /run/avmm/NAME.sock; '' for none)\n"
		"  --socket-group GROUP   let GROUP use the control socket (mode 0660; default 0600:\n"
		"                         root and the user running avmm only)\n"
		"  --fsroot DIR           read sysfs/procfs under DIR (testing)\n"
		"  --run-id ID            run id written to traces (default: time and pid)\n"
		"  --seccomp MODE         kill (default): a thread that makes a system call its\n"
		"                         seccomp filter forbids is reported and avmm exits 159;\n"
		"                         log: allowed and logged by the kernel (audit/dmesg);\n"
		"                         off: no filters and no capability drop\n"
		"  -h, --help             this help\n\n"
		"At start avmm prints one line on stderr: the VM, its profile, its control\n"
		"socket and, with --metrics, the dashboard's URL.\n\n"
		"exit status: 0 when the guest powers off (ACPI S5: the bundled test guests on\n"
		"success) or resets; (v<<1)|1 when the guest writes v = 0..63 to the debug-exit\n"
		"port 0xf4 (so 3 for the bundled guests' failures; 6 for a value of 64 or more,\n"
		"the value logged); 128+N when stopped by signal N (SIGINT 130,\n"
		"SIGTERM 143, SIGHUP 129, SIGQUIT 131; limits and pinning are restored),\n"
		"2 on bad arguments, when the VM cannot be created, or when --metrics or --trace\n"
		"cannot be set up (before the guest starts), 4 when the guest crashes,\n"
		"8 when every vCPU halted with interrupts off (cli; hlt: it can never continue),\n"
		"159 when a thread made a system call its seccomp filter forbids.\n");
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

static void stop_session(void *s)
{
	adapt_session_stop(s);
}

static int parse_args(int argc, char **argv, struct adapt_session_cfg *sc)
{
	struct vmm_config *cfg = &sc->vm;
	static const struct option opts[] = {
		{ "vcpus", required_argument, NULL, 'c' },
		{ "mem", required_argument, NULL, 'm' },
		{ "mem-backing", required_argument, NULL, 'b' },
		{ "console", required_argument, NULL, 'o' },
		{ "console-max", required_argument, NULL, 'X' },
		{ "console-rate", required_argument, NULL, 'R' },
		{ "halt-watchdog", required_argument, NULL, 'W' },
		{ "cmdline", required_argument, NULL, 'l' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "cpu", required_argument, NULL, 'U' },
		{ "testdev", no_argument, NULL, 'T' },
		{ "restore", required_argument, NULL, 'Q' },
		{ "incoming", required_argument, NULL, 'J' },
		{ "profile", required_argument, NULL, 'p' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "no-adapt", no_argument, NULL, 'N' },
		{ "metrics", required_argument, NULL, 'M' },
		{ "trace", required_argument, NULL, 't' },
		{ "counters", required_argument, NULL, 'C' },
		{ "energy", required_argument, NULL, 'e' },
		{ "name", required_argument, NULL, 'a' },
		{ "socket", required_argument, NULL, 's' },
		{ "socket-group", required_argument, NULL, 'g' },
		{ "fsroot", required_argument, NULL, 'f' },
		{ "run-id", required_argument, NULL, 'r' },
		{ "seccomp", required_argument, NULL, 'S' },
		{ "no-agent", no_argument, NULL, 'G' },
		{ "agent-socket", required_argument, NULL, 'A' },
		{ "best-effort", no_argument, NULL, 'B' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	long vcpus;
	int c;

	while ((c = getopt_long(argc, argv, "hq", opts, NULL)) != -1) {
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
		case 'W': {
			long secs;

			if (util_parse_int(optarg, 0, 86400, &secs)) {
				util_err("--halt-watchdog '%s': expected whole seconds 0..86400 (0: never)",
					 optarg);
				return 2;
			}
			cfg->halt_watchdog_ms = secs ? (uint64_t)secs * 1000 : VMM_HALT_WATCHDOG_OFF;
			break;
		}
		case 'X':
		case 'R': {
			uint64_t *lim = c == 'X' ? &cfg->console_max_bytes : &cfg->console_rate_bps;

			if (util_parse_size(optarg, lim)) {
				util_err("--console-%s '%s': expected a size such as 64M, or 0 for none",
					 c == 'X' ? "max" : "rate", optarg);
				return 2;
			}
			if (!*lim)
				*lim = VMM_CONSOLE_UNLIMITED;
			break;
		}
		case 'l': cfg->cmdline = optarg; break;
		case 'i': cfg->initrd_path = optarg; break;
		case 'U': cfg->cpu_model = optarg; break;
		case 'T': cfg->testdev = true; break;
		case 'Q': sc->restore_path = optarg; break;
		case 'J': sc->incoming = optarg; break;
		case 'p': sc->profile = optarg; break;
		case 'n': sc->dry_run = true; break;
		case 'N': sc->no_adapt = true; break;
		case 'G': sc->no_agent = true; break;
		case 'A': sc->agent_socket = optarg; break;
		case 'M': sc->metrics_addr = optarg; break;
		case 't':
			if (cli_opt_trace(sc, optarg))
				return 2;
			break;
		case 'C': sc->counters = optarg; break;
		case 'e': sc->energy_backend = optarg; break;
		case 'a':
			if (!vmm_ctl_valid_name(optarg)) {
				util_err("--name '%s': use 1-64 letters, digits, '.', '_' or '-', not "
					 "starting with '.' or '-'", optarg);
				return 2;
			}
			sc->name = optarg;
			break;
		case 'g': sc->socket_group = optarg; break;
		case 's': sc->socket_path = optarg; break;
		case 'f': sc->fsroot = optarg; break;
		case 'r': sc->run_id = optarg; break;
		case 'S':
			if (util_sandbox_set_mode_arg(optarg))
				return 2;
			break;
		case 'B': sc->best_effort = true; break;
		case 'q': util_log_set_level(UTIL_LOG_ERROR); break;
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

void cli_load_kvm_batch(void)
{
	char why[200];

	if (tel_kvm_batch_init(why, sizeof(why)))
		util_info("telemetry: KVM statistics: one read per vCPU (no BPF batch: %s)", why);
}

int cli_run(int argc, char **argv)
{
	struct adapt_session_cfg cfg = { .vm = { .vcpus = 1, .mem_bytes = 64ull << 20 } };
	struct cli_signals w;
	struct adapt_session *s;
	struct vmm_result res;
	int rc, signo;

	rc = parse_args(argc, argv, &cfg);
	if (rc >= 0)
		return rc;
	if (cfg.vm.vcpus >= TEL_KVM_BATCH_MIN_VCPUS)
		cli_load_kvm_batch();
	/* A deny-list (exec, ptrace, process clone, modules, mounts) that every
	 * thread inherits; each thread adds its own allow-list once set up. */
	if (util_sandbox_enter(UTIL_SANDBOX_MAIN))
		return 2;
	cli_signals_block(&w);   /* before any thread starts: only the waiter takes them */
	if (adapt_session_open(&cfg, &s)) {
		if (cfg.metrics_addr || cfg.nr_traces)
			util_err("the guest was not started%s", cfg.best_effort ? "" : "; give "
				 "--best-effort to run it without a --metrics or --trace that fails");
		return 2;
	}
	cli_start_line(s, &cfg);
	cli_signals_start(&w, stop_session, s);
	rc = adapt_session_start(s);
	if (rc)
		adapt_session_stop(s);
	adapt_session_wait(s, &res);
	signo = cli_signals_end(&w);
	util_info("guest ended: %s (%s), exit status %d", vmm_end_name(res.end), res.why,
		  signo ? 128 + signo : res.exit_status);
	adapt_session_close(s);
	if (rc)
		return 2;
	return signo ? 128 + signo : res.exit_status;
}
