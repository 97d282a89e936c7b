/* `avmm paging calibrate`: the cost of one paging exit on this host. Runs the
 * page-table-churn guest (ptchurn: every op is a PTE write, invlpg and a page
 * fault, i.e. paging exits under shadow paging) at two sizes of n; the cost is
 * (delta vCPU time) / (delta paging exits) between the two, so start-up and
 * loading cancel; the median of the repetitions is saved for the cost model.
 * Paging exits: pf_taken + invlpg + tlb_flush (per vCPU) + mmu_pte_write (VM),
 * from KVM's binary statistics; vCPU time: the process's CPU time across the
 * run (the vCPU thread is the only one working). */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/util.h"
#include "paging-mode/pgmode.h"
#include "telemetry/tel.h"
#include "vmm-core/vmm.h"

#define MAX_REPS 15

struct calib_run {
	uint64_t n, cpu_ns, exits;
};

static uint64_t proc_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t paging_exits(const struct tel_sample *s)
{
	uint64_t e = s->vm.mmu_pte_write;

	for (int i = 0; i < s->nr_vcpus; i++)
		e += s->vcpu[i].pf_taken + s->vcpu[i].invlpg + s->vcpu[i].tlb_flush;
	return e;
}

static int run_once(const char *guest, uint64_t n, struct calib_run *r)
{
	char cmdline[64];
	struct vmm_config cfg = { .vcpus = 1, .mem_bytes = 16ull << 20, .guest_path = guest,
				  .cmdline = cmdline, .console_path = "/dev/null" };
	struct tel_config tc = { .counters = "none", .ring_len = 4, .vm_name = "calibrate" };
	struct tel_sample *s0 = calloc(2, sizeof(*s0)), *s1 = s0 + 1;
	struct vmm_result res = { 0 };
	struct vmm *vm = NULL;
	struct tel *t = NULL;
	uint64_t c0;
	int rc;

	if (!s0)
		return -ENOMEM;
	snprintf(cmdline, sizeof(cmdline), "n=%llu", (unsigned long long)n);
	rc = vmm_create(&cfg, &vm);
	if (rc)
		goto out;
	rc = tel_open(&tc, vm, &t);
	if (rc)
		goto out;
	tel_sample(t, s0);
	if (!s0->src[TEL_SRC_KVM_STATS].up) {
		util_err("calibrate: KVM statistics unavailable: %s", s0->src[TEL_SRC_KVM_STATS].why);
		rc = -ENOTSUP;
		goto out;
	}
	c0 = proc_cpu_ns();
	rc = vmm_start(vm);
	if (rc)
		goto out;
	vmm_wait(vm, &res);
	r->cpu_ns = proc_cpu_ns() - c0;
	tel_sample(t, s1);
	r->n = n;
	r->exits = paging_exits(s1) - paging_exits(s0);
	if (!vmm_result_success(res.end, res.exit_status)) {
		util_err("calibrate: %s n=%llu ended %s (%s), not with success: check the guest with "
			 "`avmm run %s --cmdline n=%llu`", guest, (unsigned long long)n,
			 vmm_end_name(res.end), res.why, guest, (unsigned long long)n);
		rc = -EIO;
	}
out:
	if (t)
		tel_close(t);
	if (vm)
		vmm_destroy(vm);
	free(s0);
	return rc;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void default_guest(char *out, size_t len)
{
	char exe[400];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	exe[n > 0 ? n : 0] = '\0';
	snprintf(out, len, "%s/guests/ptchurn.elf", n > 0 ? dirname(exe) : "build");
}

static void calib_usage(FILE *f)
{
	fprintf(f, "usage: avmm paging calibrate [--guest PATH] [--ops N] [--reps N] [--json]\n\n"
		"Measures the cost of one paging exit on this host: runs the page-table-churn\n"
		"guest at n=N/5 and n=N ops, REPS times, and takes the median of\n"
		"(delta vCPU time) / (delta paging exits: pf_taken + invlpg + tlb_flush +\n"
		"mmu_pte_write from KVM's statistics). The figure is stored in\n"
		"$AVMM_STATE_DIR/paging/calibration (default /var/lib/avmm/paging), valid for\n"
		"this kernel release and KVM flavour; the cost model reads it.\n\n"
		"options:\n"
		"  --guest PATH   the ptchurn guest (default: guests/ptchurn.elf beside avmm)\n"
		"  --ops N        ops of the larger run (default 1000; 50..10000000)\n"
		"  --reps N       repetitions (default 3; 1..%d)\n"
		"  --json         print the result as JSON\n"
		"  -h, --help     this help\n", MAX_REPS);
}

static void print_result(bool json, double cost, const struct calib_run *r, int nr,
			 const char *dir)
{
	if (!json) {
		printf("paging exit cost: %.0f ns (median of %d; saved in %s/calibration)\n", cost,
		       nr / 2, dir);
		return;
	}
	printf("{\"exit_cost_ns\":%.1f,\"saved\":\"%s/calibration\",\"runs\":[", cost, dir);
	for (int i = 0; i < nr; i++)
		printf("%s{\"n\":%llu,\"cpu_ns\":%llu,\"paging_exits\":%llu}", i ? "," : "",
		       (unsigned long long)r[i].n, (unsigned long long)r[i].cpu_ns,
		       (unsigned long long)r[i].exits);
	printf("]}\n");
}

int cli_paging_calibrate(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "guest", required_argument, NULL, 'g' }, { "ops", required_argument, NULL, 'o' },
		{ "reps", required_argument, NULL, 'r' }, { "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' }, { 0 },
	};
	char guest[512], dir[400], how[160];
	struct calib_run run[2 * MAX_REPS];
	double cost[MAX_REPS];
	long ops = 1000, reps = 3;
	bool json = false;
	int c;

	default_guest(guest, sizeof(guest));
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'g': snprintf(guest, sizeof(guest), "%s", optarg); break;
		case 'j': json = true; break;
		case 'o':
		case 'r':
			if (util_parse_int(optarg, c == 'o' ? 50 : 1, c == 'o' ? 10000000 : MAX_REPS,
					   c == 'o' ? &ops : &reps)) {
				util_err("paging calibrate: --%s '%s': expected a whole number %s",
					 c == 'o' ? "ops" : "reps", optarg, c == 'o' ? "50..10000000" :
					 "1..15");
				return 2;
			}
			break;
		case 'h': calib_usage(stdout); return 0;
		default: calib_usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		util_err("paging calibrate: unexpected '%s'", argv[optind]);
		return 2;
	}
	if (access(guest, R_OK)) {
		util_err("paging calibrate: cannot read the guest %s: %s (build it with `make guests` "
			 "or pass --guest PATH)", guest, strerror(errno));
		return 1;
	}
	for (int i = 0; i < reps; i++) {
		struct calib_run *a = &run[2 * i], *b = a + 1;

		for (int k = 0; k < 2; k++) {
			uint64_t n = k ? (uint64_t)ops : (uint64_t)ops / 5;

			fprintf(stderr, "calibrate: %d/%ld n=%llu ...", i + 1, reps, (unsigned long long)n);
			if (run_once(guest, n, &a[k])) {
				fprintf(stderr, "\n");
				util_err("paging calibrate: the ptchurn run failed (see above)");
				return 1;
			}
			fprintf(stderr, " %.3f s CPU, %llu paging exits\n", a[k].cpu_ns / 1e9,
				(unsigned long long)a[k].exits);
		}
		if (b->exits <= a->exits || b->cpu_ns <= a->cpu_ns) {
			util_err("paging calibrate: n=%llu made no more paging exits or CPU time than "
				 "n=%llu (%llu vs %llu exits): KVM does not count paging exits for this "
				 "guest; the figure cannot be measured here", (unsigned long long)b->n,
				 (unsigned long long)a->n, (unsigned long long)b->exits,
				 (unsigned long long)a->exits);
			return 1;
		}
		cost[i] = (double)(b->cpu_ns - a->cpu_ns) / (double)(b->exits - a->exits);
	}
	qsort(cost, (size_t)reps, sizeof(cost[0]), cmp_double);
	pgmode_state_dir(dir, sizeof(dir));
	snprintf(how, sizeof(how), "ptchurn n=%ld,%ld x%ld: median of d(process CPU)/d(pf_taken+"
		 "invlpg+tlb_flush+mmu_pte_write)", ops / 5, ops, reps);
	if (pgmode_calibration_save(dir, cost[reps / 2], how))
		return 1;
	print_result(json, cost[reps / 2], run, (int)(2 * reps), dir);
	return 0;
}
