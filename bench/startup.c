/*
 * Start-to-exit of the hello guest, fork+exec to exit, in one run:
 *   raw   - this program re-executed with --raw: vmm_create + a minimal
 *           KVM_RUN loop + vmm_destroy (what KVM itself costs here)
 *   avmm  - `avmm run hello.elf` under the default profile
 *   qemu  - `qemu-system-x86_64 -enable-kvm -kernel hello.elf`
 * Last line: avmm_ms=X raw_ms=Y qemu_ms=Z ratio_vs_raw=R (target avmm <= 20 ms).
 */
#include <math.h>

#include "bench/bench_util.h"
#include "bench/raw_kvm.h"
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

int main(int argc, char **argv)
{
	double a[REPS], r[REPS], q[QEMU_REPS], ma, mr, mq = NAN;
	char guest[512], bin[512], self[512];
	int i, nq = 0;

	snprintf(guest, sizeof(guest), "%s/guests/hello.elf", bench_build());
	if (argc > 1 && !strcmp(argv[1], "--raw")) {
		char out[4096];

		return bench_raw_run(guest, NULL, out, sizeof(out)) ? 2 : 0;
	}
	snprintf(bin, sizeof(bin), "%s/avmm", bench_build());
	snprintf(self, sizeof(self), "/proc/%d/exe", (int)getpid());
	char *const raw_argv[] = { self, "--raw", NULL };
	char *const avmm_argv[] = { bin, "run", guest, NULL };
	char *const qemu_argv[] = { "qemu-system-x86_64", "-enable-kvm", "-display", "none",
		"-serial", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
		"-kernel", guest, NULL };

	for (i = 0; i < REPS; i++) {
		a[i] = time_ms(avmm_argv, 0);
		r[i] = time_ms(raw_argv, 0);
		if (a[i] < 0 || r[i] < 0)
			return 1;
	}
	for (i = 0; i < QEMU_REPS; i++) {
		q[nq] = time_ms(qemu_argv, 0);
		if (q[nq] >= 0)
			nq++;
	}
	ma = bench_median(a, REPS);
	mr = bench_median(r, REPS);
	if (nq)
		mq = bench_median(q, nq);
	printf("hello start-to-exit, medians: avmm %.1f ms, raw KVM floor %.1f ms (%d runs "
	       "each, interleaved), qemu %.1f ms (%d runs)\n", ma, mr, REPS, mq, nq);
	printf("avmm_ms=%.1f raw_ms=%.1f qemu_ms=%.1f ratio_vs_raw=%.3f\n", ma, mr, mq, ma / mr);
	return 0;
}
