/*
 * Start-to-exit of the hello guest: fork+exec of `avmm run hello.elf` until
 * its exit, against `qemu-system-x86_64 -enable-kvm -kernel hello.elf`, in
 * one run. Last line: avmm_ms=X qemu_ms=Y ratio_vs_qemu=Z (target avmm <= 20 ms).
 */
#include <math.h>

#include "bench/bench_util.h"
#include "common/util.h"

#define REPS 21
#define QEMU_REPS 3

static double time_ms(char *const argv[], int want_status)
{
	static char out[1 << 16];
	uint64_t t0 = util_now_ns();
	int st = bench_exec(argv, out, sizeof(out));
	double ms = (util_now_ns() - t0) / 1e6;

	if (st != want_status) {
		fprintf(stderr, "%s: exit status %d: %.300s\n", argv[0], st, out);
		return -1;
	}
	return ms;
}

int main(void)
{
	double a[REPS], q[QEMU_REPS], ma, mq = NAN;
	char guest[512], bin[512];
	int i, nq = 0;

	snprintf(guest, sizeof(guest), "%s/guests/hello.elf", bench_build());
	snprintf(bin, sizeof(bin), "%s/avmm", bench_build());
	char *const avmm_argv[] = { bin, "run", guest, NULL };
	char *const qemu_argv[] = { "qemu-system-x86_64", "-enable-kvm", "-display", "none",
		"-serial", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
		"-kernel", guest, NULL };

	for (i = 0; i < REPS; i++) {
		a[i] = time_ms(avmm_argv, 1);
		if (a[i] < 0)
			return 1;
	}
	for (i = 0; i < QEMU_REPS; i++) {
		q[nq] = time_ms(qemu_argv, 1);
		if (q[nq] >= 0)
			nq++;
	}
	ma = bench_median(a, REPS);
	if (nq)
		mq = bench_median(q, nq);
	printf("hello start-to-exit: avmm median %.1f ms (%d runs), qemu median %.1f ms (%d runs)\n",
	       ma, REPS, mq, nq);
	printf("avmm_ms=%.1f qemu_ms=%.1f ratio_vs_qemu=%.4f\n", ma, mq, ma / mq);
	return 0;
}
