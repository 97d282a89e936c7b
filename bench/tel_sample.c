/*
 * Telemetry overhead: one full sample of 64 vCPU threads (KVM stats fds of a
 * real VM with 64 vCPUs, schedstat + stat of 64 real threads running KVM_RUN,
 * counters where the host has a PMU), and the CPU share of the sampling
 * thread at 10 Hz while the guest runs.
 *
 * Build (the tiny test VM comes from the telemetry tests):
 *   cc -std=gnu11 -O2 -I. -D_GNU_SOURCE bench/tel_sample.c -o build/bench/tel_sample \
 *      build/lib/libtelemetry.a build/lib/libcommon.a -lmicrohttpd -ljansson -lpapi -lpfm -lpthread -lm
 * Last line: sample_us=X cpu_pct_at_10hz=Y
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_util.h"
#include "common/util.h"
#include "telemetry/tel.h"
#include "tests/telemetry/tinyvm.c"

#define ROUNDS 80

int main(int argc, char **argv)
{
	const char *counters = argc > 1 ? argv[1] : "perf";
	struct tel_config c = { .counters = counters, .vm_name = "bench", .period_ns = 100000000 };
	static double wall_us[ROUNDS], cpu_us[ROUNDS];
	struct tel_sample s0, s1;
	struct tvm vm;
	struct tel *t;
	int nr = 64, err;
	uint64_t w0, c0;
	double med_us, med_cpu_us, pct;

	while ((err = tvm_create(&vm, nr)) && nr > 1)
		nr /= 2;
	if (err) {
		fprintf(stderr, "tel_sample: no usable /dev/kvm: %s\n", strerror(-err));
		return 1;
	}
	/* 64 real vCPU threads, each entering the guest every 20 ms */
	if (tvm_start_threads(&vm, 20000)) {
		fprintf(stderr, "tel_sample: cannot start %d threads\n", nr);
		return 1;
	}
	struct tel_target tg = { .nr_vcpus = nr, .vm_fd = tvm_vm_fd, .vcpu_fd = tvm_vcpu_fd,
				 .vcpu_tid = tvm_vcpu_tid, .arg = &vm };
	if (tel_open_target(&c, &tg, &t))
		return 1;
	tel_sample(t, &s0);     /* opens every source once */
	for (int i = 0; i < ROUNDS; i++) {
		util_sleep_ns(25000000);   /* every vCPU thread ran in between */
		w0 = util_now_ns();
		c0 = util_thread_cpu_ns();
		tel_sample(t, &s1);
		cpu_us[i] = (double)(util_thread_cpu_ns() - c0) / 1e3;
		wall_us[i] = (double)(util_now_ns() - w0) / 1e3;
	}
	med_us = bench_median(wall_us, ROUNDS);
	med_cpu_us = bench_median(cpu_us, ROUNDS);
	printf("vCPU threads: %d, counters: %s\n", nr, counters);
	for (int i = 0; i < TEL_SRC_COUNT; i++)
		printf("  source %-6s %s%s%s\n", tel_source_name(i), s1.src[i].up ? "up" : "down",
		       s1.src[i].up ? "" : ": ", s1.src[i].why);
	printf("one full sample: median %.1f us wall, %.1f us CPU (p10 %.1f, p90 %.1f us wall)\n",
	       med_us, med_cpu_us, wall_us[ROUNDS / 10], wall_us[ROUNDS * 9 / 10]);
	tel_close(t);

	/* the same with the last-CPU read (the costliest) every 10th sample */
	c.pcpu_every = 10;
	if (tel_open_target(&c, &tg, &t))
		return 1;
	tel_sample(t, &s0);
	for (int i = 0; i < ROUNDS; i++) {
		util_sleep_ns(25000000);
		w0 = util_now_ns();
		tel_sample(t, &s1);
		wall_us[i] = (double)(util_now_ns() - w0) / 1e3;
	}
	printf("with pcpu_every=10: median %.1f us wall\n", bench_median(wall_us, ROUNDS));
	tel_close(t);
	c.pcpu_every = 0;

	/* 10 Hz with the own sampling thread for 5 s while the guest runs */
	c.period_ns = 100000000;
	if (tel_open_target(&c, &tg, &t) || tel_start(t))
		return 1;
	util_sleep_ns(200000000);
	tel_latest(t, &s0);
	util_sleep_ns(5000000000ull);
	tel_stop(t);
	tel_latest(t, &s1);
	pct = 100.0 * (double)(s1.tel_cpu_ns - s0.tel_cpu_ns) / (double)(s1.t_ns - s0.t_ns);
	printf("10 Hz for %.1f s: %llu samples, telemetry CPU %.3f ms = %.4f%% of one core\n",
	       (double)(s1.t_ns - s0.t_ns) / 1e9, (unsigned long long)(s1.seq - s0.seq),
	       (double)(s1.tel_cpu_ns - s0.tel_cpu_ns) / 1e6, pct);
	tel_close(t);
	tvm_destroy(&vm);
	printf("sample_us=%.1f cpu_pct_at_10hz=%.4f\n", med_us, pct);
	return 0;
}
