/* A tiny real-mode KVM guest for telemetry tests and benchmarks: each vCPU
 * loops over `out 0x500, al; hlt`, so KVM_RUN returns on every I/O and HLT.
 * Each vCPU's KVM steal-time area is in guest memory, as avmm's run-delay
 * page is (common/steal.h), where KVM takes the MSR. */
#ifndef AVMM_TESTS_TINYVM_H
#define AVMM_TESTS_TINYVM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define TVM_MAX 64

struct tvm {
	int kvm, vm, nr;
	int vcpu[TVM_MAX];
	void *mem;
	struct kvm_run *run[TVM_MAX];
	size_t run_size;
	pthread_t th[TVM_MAX];
	volatile pid_t tid[TVM_MAX];
	const volatile uint32_t *cpu[TVM_MAX];  /* each thread's rseq cpu_id */
	bool steal[TVM_MAX];                    /* its steal-time area is in use */
	volatile bool stop;
	unsigned pause_us;       /* sleep between KVM_RUN calls in threads */
	bool threads;
};

/* 0, or -errno (-ENOENT: no /dev/kvm). */
int tvm_create(struct tvm *t, int nr_vcpus);
/* KVM_RUN n times on vcpu from the calling thread; returns exits seen or -errno. */
int tvm_run(struct tvm *t, int vcpu, int n);
/* One thread per vCPU running KVM_RUN with pause_us between calls. Waits
 * until every thread has published its tid. */
int tvm_start_threads(struct tvm *t, unsigned pause_us);
void tvm_destroy(struct tvm *t);
/* After tvm_create: vCPU 0's thread runs KVM_RUN back to back (busy),
 * pinned to the last CPU this process may use (*cpu). 0 or -errno. */
int tvm_busy_on_last_cpu(struct tvm *t, int *cpu);

/* struct tel_target callbacks over a tvm (arg = struct tvm *). */
int tvm_vm_fd(void *arg);
int tvm_vcpu_fd(void *arg, int i);
pid_t tvm_vcpu_tid(void *arg, int i);
int tvm_vcpu_pcpu(void *arg, int i);   /* from the thread's rseq area, -1 unknown */
struct util_steal_area;
const struct util_steal_area *tvm_vcpu_steal(void *arg, int i);  /* NULL: none */

/* CPU time in ns of this process's thread named name (its CPU clock), or -1. */
int64_t tvm_thread_cpu_ns(const char *name);

#endif
