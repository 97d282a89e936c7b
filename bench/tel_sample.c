/*
 * Telemetry overhead on a real KVM guest (no PMU needed):
 *  1. one full sample of 64 vCPU threads (KVM stats fds of a VM with 64 vCPUs,
 *     the CPU clock, run delay and last CPU of 64 real threads running
 *     KVM_RUN; the last CPU from each thread's rseq area, as avmm reads it),
 *     median over 80 samples 25 ms apart, so every thread ran;
 *  2. at 10 Hz (tel_start) for 1, 4 and 64 vCPUs: the CPU time of the
 *     telemetry thread itself ("avmm-telemetry", read from its own CPU clock,
 *     wake-ups included), as a share of one core; and the floor: the CPU
 *     time of a thread that only wakes at 10 Hz (the host's wake-up cost).
 * The guest: each vCPU loops over `out 0x500, al; hlt` in real mode; its
 * thread enters it every 20 ms (a guest that runs but leaves the host cores
 * to the sampler, so the figures are the sampler's, not contention's).
 * Usage: tel_sample [perf|papi|none]   (counters backend, default perf)
 * Last line: sample_us=X cpu_pct_at_10hz=Y (Y: the same 64-vCPU guest as X).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_util.h"
#include "common/util.h"
#include "telemetry/tel.h"

#define ROUNDS 80
#define MAXV 64
#define MEM 0x10000

struct bvm {
	int kvm, vm, nr, vcpu[MAXV], stats[MAXV];
	struct kvm_run *run[MAXV];
	size_t run_size;
	void *mem;
	pthread_t th[MAXV];
	volatile pid_t tid[MAXV];
	const volatile uint32_t *cpu[MAXV];   /* each thread's rseq cpu_id */
	volatile int stop;
};

struct barg {
	struct bvm *b;
	int i;
};

/* mov dx,0x500; mov al,'A'; 1: out dx,al; hlt; jmp 1b */
static const unsigned char code[] = { 0xba, 0x00, 0x05, 0xb0, 0x41, 0xee, 0xf4, 0xeb, 0xfc };

static int add_vcpu(struct bvm *b, int i)
{
	struct kvm_regs r = { .rip = 0x1000, .rflags = 2 };
	struct kvm_sregs sr;

	b->vcpu[i] = ioctl(b->vm, KVM_CREATE_VCPU, i);
	if (b->vcpu[i] < 0)
		return -errno;
	b->stats[i] = ioctl(b->vcpu[i], KVM_GET_STATS_FD, NULL);
	if (b->stats[i] < 0)
		return -errno;
	b->run[i] = mmap(NULL, b->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, b->vcpu[i], 0);
	if (b->run[i] == MAP_FAILED)
		return -errno;
	if (ioctl(b->vcpu[i], KVM_GET_SREGS, &sr))
		return -errno;
	sr.cs.base = 0;
	sr.cs.selector = 0;
	if (ioctl(b->vcpu[i], KVM_SET_SREGS, &sr) || ioctl(b->vcpu[i], KVM_SET_REGS, &r))
		return -errno;
	return 0;
}

static void *vcpu_main(void *p)
{
	struct barg *a = p;
	struct bvm *b = a->b;

	b->cpu[a->i] = util_rseq_cpu_id();
	b->tid[a->i] = (pid_t)syscall(SYS_gettid);
	while (!b->stop) {
		if (ioctl(b->vcpu[a->i], KVM_RUN, 0) < 0 && errno != EINTR)
			break;
		usleep(20000);
	}
	return NULL;
}

static void bvm_destroy(struct bvm *b)
{
	b->stop = 1;
	for (int i = 0; i < b->nr; i++) {
		if (b->tid[i])
			pthread_join(b->th[i], NULL);
		if (b->run[i] && b->run[i] != MAP_FAILED)
			munmap(b->run[i], b->run_size);
		if (b->vcpu[i] >= 0)
			close(b->vcpu[i]);
		if (b->stats[i] >= 0)
			close(b->stats[i]);
	}
	if (b->mem)
		munmap(b->mem, MEM);
	if (b->vm >= 0)
		close(b->vm);
	if (b->kvm >= 0)
		close(b->kvm);
}

/* A VM with nr vCPUs, each on its own thread (tids published). */
static int bvm_create(struct bvm *b, int nr)
{
	static struct barg args[MAXV];
	struct kvm_userspace_memory_region reg = { .memory_size = MEM };
	int err;

	memset(b, 0, sizeof(*b));
	b->vm = -1;
	for (int i = 0; i < MAXV; i++)
		b->vcpu[i] = b->stats[i] = -1;
	b->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (b->kvm < 0)
		return -errno;
	b->vm = ioctl(b->kvm, KVM_CREATE_VM, 0);
	b->run_size = (size_t)ioctl(b->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	b->mem = mmap(NULL, MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b->vm < 0 || b->mem == MAP_FAILED) {
		err = -errno;
		b->mem = NULL;
		goto fail;
	}
	memcpy((char *)b->mem + 0x1000, code, sizeof(code));
	reg.userspace_addr = (unsigned long)b->mem;
	err = ioctl(b->vm, KVM_SET_USER_MEMORY_REGION, &reg) ? -errno : 0;
	for (int i = 0; !err && i < nr; i++) {
		b->nr = i + 1;
		err = add_vcpu(b, i);
	}
	for (int i = 0; !err && i < nr; i++) {
		args[i] = (struct barg){ b, i };
		err = -pthread_create(&b->th[i], NULL, vcpu_main, &args[i]);
		while (!err && !b->tid[i])
			usleep(100);
	}
	if (err)
		goto fail;
	return 0;
fail:
	bvm_destroy(b);
	return err;
}

static int cb_vm_fd(void *arg)
{
	return ((struct bvm *)arg)->vm;
}

static int cb_vcpu_fd(void *arg, int i)
{
	return ((struct bvm *)arg)->vcpu[i];
}

static pid_t cb_vcpu_tid(void *arg, int i)
{
	return ((struct bvm *)arg)->tid[i];
}

/* As vmm_vcpu_pcpu (the threads end only after tel_close here). */
static int cb_vcpu_pcpu(void *arg, int i)
{
	const volatile uint32_t *c = ((struct bvm *)arg)->cpu[i];

	return c && *c < (1u << 31) ? (int)*c : -1;
}

/* CPU time of this process's thread named name (its CPU clock), or -1. */
static int64_t thread_cpu_ns(const char *name)
{
	char path[64], comm[32];
	struct dirent *e;
	struct timespec ts;
	int64_t ns = -1;
	DIR *d = opendir("/proc/self/task");
	FILE *f;

	while (d && ns < 0 && (e = readdir(d))) {
		pid_t tid = (pid_t)atoi(e->d_name);

		snprintf(path, sizeof(path), "/proc/self/task/%d/comm", (int)tid);
		if (tid <= 0 || !(f = fopen(path, "r")))
			continue;
		if (fgets(comm, sizeof(comm), f) && !strncmp(comm, name, strlen(name)) &&
		    !clock_gettime((clockid_t)(((unsigned)~tid << 3) | 6), &ts))
			ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
		fclose(f);
	}
	if (d)
		closedir(d);
	return ns;
}

/* The floor of a full sample: what it cannot do without, per vCPU one read
 * of its thread's CPU clock and one pread of its KVM statistics (72 bytes,
 * the span telemetry reads), on the same threads. */
static double floor_pass_us(const struct bvm *b)
{
	struct kvm_stats_header h;
	uint64_t buf[9], w0;
	struct timespec ts;

	if (pread(b->stats[0], &h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return -1;
	w0 = util_now_ns();
	for (int i = 0; i < b->nr; i++) {
		clock_gettime((clockid_t)(((unsigned)~b->tid[i] << 3) | 6), &ts);
		if (pread(b->stats[i], buf, sizeof(buf), h.data_offset) < 0)
			return -1;
	}
	return (double)(util_now_ns() - w0) / 1e3;
}

/* 10 Hz with tel's own thread for secs seconds: the thread's CPU share. */
static int at_10hz(struct tel_config *c, int nr, double secs, double *pct)
{
	struct tel_sample s0, s1;
	struct tel *t;
	struct bvm b;
	int64_t c0, c1;
	uint64_t w0, w1;
	int err = bvm_create(&b, nr);

	if (err)
		return err;
	struct tel_target tg = { .nr_vcpus = nr, .vm_fd = cb_vm_fd, .vcpu_fd = cb_vcpu_fd,
				 .vcpu_tid = cb_vcpu_tid, .vcpu_pcpu = cb_vcpu_pcpu, .arg = &b };
	c->period_ns = 100000000;
	err = tel_open_target(c, &tg, &t);
	if (!err)
		err = tel_start(t);
	if (err) {
		bvm_destroy(&b);
		return err;
	}
	util_sleep_ns(250000000);    /* past the first samples (opening every source) */
	tel_latest(t, &s0);
	c0 = thread_cpu_ns("avmm-telemetry");
	w0 = util_now_ns();
	util_sleep_ns((uint64_t)(secs * 1e9));
	c1 = thread_cpu_ns("avmm-telemetry");
	w1 = util_now_ns();
	tel_latest(t, &s1);
	tel_stop(t);
	tel_close(t);
	bvm_destroy(&b);
	if (c0 < 0 || c1 < 0)
		return -ESRCH;
	*pct = 100.0 * (double)(c1 - c0) / (double)(w1 - w0);
	printf("10 Hz, %2d vCPUs, %.1f s: %3llu samples, telemetry thread CPU %.3f ms = %.4f%% "
	       "of one core (%.1f us per sample; counted inside tel_sample: %.1f us)\n",
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
	double med_us, floor_med_us, pct = -1;
	struct tel *t;
	struct bvm b;
	uint64_t w0, c0;
	int err;

	err = bvm_create(&b, 64);
	if (err) {
		fprintf(stderr, "tel_sample: no VM with 64 vCPUs on /dev/kvm: %s\n", strerror(-err));
		return 1;
	}
	struct tel_target tg = { .nr_vcpus = 64, .vm_fd = cb_vm_fd, .vcpu_fd = cb_vcpu_fd,
				 .vcpu_tid = cb_vcpu_tid, .vcpu_pcpu = cb_vcpu_pcpu, .arg = &b };
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
		floor_us[i] = floor_pass_us(&b);
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
	bvm_destroy(&b);

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		err = at_10hz(&c, sizes[k], 3.0, &pct);
		if (err) {
			fprintf(stderr, "tel_sample: 10 Hz with %d vCPUs: %s\n", sizes[k],
				strerror(-err));
			return 1;
		}
	}
	pthread_t idle;
	double idle_ns = 0;

	if (!pthread_create(&idle, NULL, idle_10hz, &idle_ns) && !pthread_join(idle, NULL))
		printf("floor: a thread that only wakes at 10 Hz costs %.1f us per wake-up here "
		       "= %.4f%% of one core\n", idle_ns / 1e3, idle_ns / 1e3 / 1e3);
	printf("targets: sample_us <= 100 (64 vCPUs); cpu_pct_at_10hz <= 0.01 "
	       "(the line below gives the 64-vCPU guest; 1 and 4 vCPUs above)\n");
	printf("sample_us=%.1f cpu_pct_at_10hz=%.4f\n", med_us, pct);
	return 0;
}
