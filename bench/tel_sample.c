/*
 * Telemetry overhead on a real KVM guest (no PMU needed):
 *  1. one full sample of 64 vCPU threads (KVM stats fds of a VM with 64 vCPUs,
 *     the CPU clock, run delay and last CPU of 64 real threads running
 *     KVM_RUN; the last CPU from each thread's rseq area, as avmm reads it),
 *     median over 80 samples 25 ms apart, so every thread ran; against
 *     the floor, interleaved: per vCPU its thread CPU clock and one KVM stats
 *     pread, the two system calls a full sample cannot do without;
 *  2. at 10 Hz (tel_start) for 1, 4 and 64 vCPUs: the CPU time of the
 *     telemetry thread itself ("avmm-telemetry", read from its own CPU clock,
 *     wake-ups included), as a share of one core; and the floor: the CPU
 *     time of a thread that only wakes at 10 Hz (the host's wake-up cost),
 *     and each share over that floor.
 * The guest: the telemetry tests' tiny VM (tests/telemetry/tinyvm.c), each
 * vCPU looping over `out 0x500, al; hlt` in real mode; its thread enters it
 * every 20 ms (a guest that runs but leaves the host cores
 * to the sampler, so the figures are the sampler's, not contention's).
 * Usage: tel_sample [perf|papi|none]   (counters backend, default perf)
 * Last line: sample_us=X cpu_pct_at_10hz=Y (Y: the same 64-vCPU guest as X).
 */
#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_util.h"
#include "common/util.h"
#include "telemetry/tel.h"
#include "tests/telemetry/tinyvm.h"

#define ROUNDS 80

/* Each vCPU's thread enters the guest every 20 ms. */
static int start_vm(struct tvm *v, int nr)
{
	int err = tvm_create(v, nr);

	if (!err)
		err = tvm_start_threads(v, 20000);
	if (err)
		tvm_destroy(v);
	return err;
}

static struct tel_target target(struct tvm *v)
{
	return (struct tel_target){ .nr_vcpus = v->nr, .vm_fd = tvm_vm_fd,
				    .vcpu_fd = tvm_vcpu_fd, .vcpu_tid = tvm_vcpu_tid,
				    .vcpu_pcpu = tvm_vcpu_pcpu, .arg = v };
}

/* The floor of a full sample: what it cannot do without, per vCPU one read
 * of its thread's CPU clock and one pread of its KVM statistics (72 bytes,
 * the span telemetry reads), on the same threads. */
static double floor_pass_us(const struct tvm *v, const int *stats_fd)
{
	struct kvm_stats_header h;
	uint64_t buf[9], w0;
	struct timespec ts;

	if (pread(stats_fd[0], &h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return -1;
	w0 = util_now_ns();
	for (int i = 0; i < v->nr; i++) {
		clock_gettime((clockid_t)(((unsigned)~v->tid[i] << 3) | 6), &ts);
		if (pread(stats_fd[i], buf, sizeof(buf), h.data_offset) < 0)
			return -1;
	}
	return (double)(util_now_ns() - w0) / 1e3;
}

/* 10 Hz with tel's own thread for secs seconds: the thread's CPU share. */
static int at_10hz(struct tel_config *c, int nr, double secs, double *pct)
{
	struct tel_sample s0, s1;
	struct tel *t;
	struct tvm v;
	int64_t c0, c1;
	uint64_t w0, w1;
	int err = start_vm(&v, nr);

	if (err)
		return err;
	struct tel_target tg = target(&v);
	c->period_ns = 100000000;
	err = tel_open_target(c, &tg, &t);
	if (!err)
		err = tel_start(t);
	if (err) {
		tvm_destroy(&v);
		return err;
	}
	util_sleep_ns(250000000);    /* past the first samples (opening every source) */
	tel_latest(t, &s0);
	c0 = tvm_thread_cpu_ns("avmm-telemetry");
	w0 = util_now_ns();
	util_sleep_ns((uint64_t)(secs * 1e9));
	c1 = tvm_thread_cpu_ns("avmm-telemetry");
	w1 = util_now_ns();
	tel_latest(t, &s1);
	tel_stop(t);
	tel_close(t);
	tvm_destroy(&v);
	if (c0 < 0 || c1 < 0)
		return -ESRCH;
	*pct = 100.0 * (double)(c1 - c0) / (double)(w1 - w0);
	printf("10 Hz, %2d vCPUs, %.1f s: %3llu samples, telemetry thread CPU %.3f ms = %.4f%% "
	       "of one core (%.1f us per sample; telemetry's own count: %.1f us)\n",
	       nr, (double)(w1 - w0) / 1e9, (unsigned long long)(s1.seq - s0.seq),
	       (double)(c1 - c0) / 1e6, *pct,
	       (double)(c1 - c0) / 1e3 / (double)(s1.seq - s0.seq ? s1.seq - s0.seq : 1),
	       (double)(s1.tel_cpu_ns - s0.tel_cpu_ns) / 1e3 /
	       (double)(s1.seq - s0.seq ? s1.seq - s0.seq : 1));
	return 0;
}

/* The floor on this host: a thread that only sleeps 100 ms at a time. */
static void *idle_10hz(void *arg)
{
	uint64_t c0 = util_thread_cpu_ns();

	for (int i = 0; i < 30; i++)
		util_sleep_ns(100000000);
	*(double *)arg = (double)(util_thread_cpu_ns() - c0) / 30;
	return NULL;
}

int main(int argc, char **argv)
{
	const char *counters = argc > 1 ? argv[1] : "perf";
	struct tel_config c = { .counters = counters, .vm_name = "bench" };
	static double wall_us[ROUNDS], cpu_us[ROUNDS], floor_us[ROUNDS];
	static struct tel_sample s0, s1;
	const int sizes[] = { 1, 4, 64 };
	double pcts[3];
	double med_us, floor_med_us, pct = -1;
	static int stats_fd[TVM_MAX];
	struct tel *t;
	struct tvm v;
	uint64_t w0, c0;
	int err;

	err = tvm_create(&v, 64);
	for (int i = 0; !err && i < v.nr; i++) {   /* before the threads enter KVM_RUN */
		stats_fd[i] = ioctl(v.vcpu[i], KVM_GET_STATS_FD, NULL);
		err = stats_fd[i] < 0 ? -errno : 0;
	}
	if (!err)
		err = tvm_start_threads(&v, 20000);
	if (err) {
		fprintf(stderr, "tel_sample: no VM with 64 vCPUs on /dev/kvm: %s\n", strerror(-err));
		return 1;
	}
	struct tel_target tg = target(&v);
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
		util_sleep_ns(25000000);
		floor_us[i] = floor_pass_us(&v, stats_fd);
	}
	med_us = bench_median(wall_us, ROUNDS);
	floor_med_us = bench_median(floor_us, ROUNDS);
	printf("vCPU threads: 64, counters: %s, last CPU from each thread's rseq area, "
	       "run delay every %d samples\n", counters,
	       c.delay_every ? c.delay_every : TEL_DELAY_EVERY_DEFAULT);
	for (int i = 0; i < TEL_SRC_COUNT; i++)
		printf("  source %-6s %s%s%s\n", tel_source_name(i), s1.src[i].up ? "up" : "down",
		       s1.src[i].up ? "" : ": ", s1.src[i].why);
	printf("one full sample of 64 vCPUs: median %.1f us wall, %.1f us CPU "
	       "(p10 %.1f, p90 %.1f us wall)\n", med_us, bench_median(cpu_us, ROUNDS),
	       wall_us[ROUNDS / 10], wall_us[ROUNDS * 9 / 10]);
	printf("floor, interleaved with those samples: 64 x (thread CPU clock + KVM stats "
	       "pread) = median %.1f us; sample/floor = %.2f\n", floor_med_us,
	       med_us / floor_med_us);
	tel_close(t);
	tvm_destroy(&v);
	for (int i = 0; i < 64; i++)
		close(stats_fd[i]);

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		err = at_10hz(&c, sizes[k], 3.0, &pct);
		pcts[k] = pct;
		if (err) {
			fprintf(stderr, "tel_sample: 10 Hz with %d vCPUs: %s\n", sizes[k],
				strerror(-err));
			return 1;
		}
	}
	pthread_t idle;
	double idle_ns = 0;

	if (!pthread_create(&idle, NULL, idle_10hz, &idle_ns) && !pthread_join(idle, NULL) &&
	    idle_ns > 0) {
		printf("floor: a thread that only wakes at 10 Hz costs %.1f us per wake-up here "
		       "= %.4f%% of one core\n", idle_ns / 1e3, idle_ns / 1e3 / 1e3);
		printf("at 10 Hz / floor: %.1f (1 vCPU), %.1f (4), %.1f (64)\n",
		       pcts[0] / (idle_ns / 1e6), pcts[1] / (idle_ns / 1e6), pcts[2] / (idle_ns / 1e6));
	}
	printf("targets: sample_us <= 100 (64 vCPUs); cpu_pct_at_10hz <= 0.01 "
	       "(the line below gives the 64-vCPU guest; 1 and 4 vCPUs above)\n");
	printf("sample_us=%.1f cpu_pct_at_10hz=%.4f\n", med_us, pct);
	return 0;
}
