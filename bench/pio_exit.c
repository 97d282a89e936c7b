/*
 * PIO exit round trip with the pio-loop guest, in one run:
 *   raw   - the floor: the same VM set-up, driven by a minimal KVM_RUN loop
 *   avmm  - `avmm run build/guests/pio-loop.elf`
 *   qemu  - `qemu-system-x86_64 -enable-kvm -kernel build/guests/pio-loop.elf`
 * The guest times its own port writes with its TSC; medians over REPS runs.
 * Last line: ratio_vs_raw=X ratio_vs_qemu=Y (target ratio_vs_raw <= 1.05).
 */
#include <math.h>

#include "bench/bench_util.h"
#include "bench/raw_kvm.h"

#define REPS 15      /* raw and avmm, interleaved */
#define QEMU_REPS 5 /* each QEMU start spends seconds in its BIOS */
#define EXITS "20000"

static int raw_floor(const char *guest, double *ns_per_exit)
{
	char out[4096];

	if (bench_raw_run(guest, "n=" EXITS, out, sizeof(out)))
		return -1;
	*ns_per_exit = bench_result(out, "ns_per_exit");
	return *ns_per_exit > 0 ? 0 : -1;
}

static int run_tool(char *const argv[], double *ns_per_exit)
{
	static char out[1 << 16];
	int st = bench_exec(argv, out, sizeof(out));

	*ns_per_exit = bench_result(out, "ns_per_exit");
	if (st != 0 || *ns_per_exit <= 0) {   /* 0: the guest powered off (success) */
		fprintf(stderr, "%s failed (status %d): %.300s\n", argv[0], st, out);
		return -1;
	}
	return 0;
}

int main(void)
{
	double raw[REPS], avmm[REPS], qemu[QEMU_REPS], mr, ma, mq = NAN;
	char guest[512], avmm_bin[512];
	int i, nq = 0;

	snprintf(guest, sizeof(guest), "%s/guests/pio-loop.elf", bench_build());
	snprintf(avmm_bin, sizeof(avmm_bin), "%s/avmm", bench_build());
	char *const avmm_argv[] = { avmm_bin, "run", guest, "--cmdline", "n=" EXITS, NULL };
	char *const qemu_argv[] = { "qemu-system-x86_64", "-enable-kvm", "-display", "none",
		"-serial", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
		"-kernel", guest, "-append", "n=" EXITS, NULL };

	printf("pio-loop, %s port writes per run, %d runs of raw and avmm, %d of qemu, "
	       "interleaved\n", EXITS, REPS, QEMU_REPS);
	for (i = 0; i < REPS; i++) {
		if (raw_floor(guest, &raw[i]) || run_tool(avmm_argv, &avmm[i]))
			return 1;
		if (i < QEMU_REPS && run_tool(qemu_argv, &qemu[nq]) == 0)
			nq++;
	}
	mr = bench_median(raw, REPS);
	ma = bench_median(avmm, REPS);
	if (nq)
		mq = bench_median(qemu, nq);
	printf("raw_kvm_run_loop  median %.0f ns/exit\n", mr);
	printf("avmm              median %.0f ns/exit\n", ma);
	if (nq)
		printf("qemu -enable-kvm  median %.0f ns/exit (%d runs)\n", mq, nq);
	else
		printf("qemu -enable-kvm  unavailable (see errors above)\n");
	printf("ratio_vs_raw=%.3f ratio_vs_qemu=%.3f\n", ma / mr, nq ? ma / mq : NAN);
	return 0;
}
