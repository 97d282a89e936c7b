#include "tinyvm.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/steal.h"
#include "common/util.h"

#define MEM_SIZE 0x10000
#define CODE_GPA 0x1000
#define STEAL_GPA 0x8000  /* TVM_MAX areas of 64 bytes */

/* mov dx,0x500; mov al,'A'; 1: out dx,al; hlt; jmp 1b */
static const unsigned char code[] = { 0xba, 0x00, 0x05, 0xb0, 0x41, 0xee, 0xf4, 0xeb, 0xfc };

static int setup_vcpu(struct tvm *t, int i)
{
	struct kvm_sregs sr;
	struct kvm_regs r = { .rip = CODE_GPA, .rflags = 2 };

	t->vcpu[i] = ioctl(t->vm, KVM_CREATE_VCPU, i);
	if (t->vcpu[i] < 0)
		return -errno;
	t->run[i] = mmap(NULL, t->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, t->vcpu[i], 0);
	if (t->run[i] == MAP_FAILED) {
		t->run[i] = NULL;
		return -errno;
	}
	if (ioctl(t->vcpu[i], KVM_GET_SREGS, &sr))
		return -errno;
	sr.cs.base = 0;
	sr.cs.selector = 0;
	if (ioctl(t->vcpu[i], KVM_SET_SREGS, &sr) || ioctl(t->vcpu[i], KVM_SET_REGS, &r))
		return -errno;
	struct { struct kvm_msrs h; struct kvm_msr_entry e; } m = { .h.nmsrs = 1,
		.e = { .index = UTIL_STEAL_MSR,
		       .data = (STEAL_GPA + (uint64_t)i * UTIL_STEAL_AREA_BYTES) | UTIL_STEAL_ENABLE } };
	t->steal[i] = ioctl(t->vcpu[i], KVM_SET_MSRS, &m) == 1;
	return 0;
}

const struct util_steal_area *tvm_vcpu_steal(void *arg, int i)
{
	struct tvm *t = arg;

	return t->steal[i] ? (const struct util_steal_area *)((char *)t->mem + STEAL_GPA) + i : NULL;
}

int tvm_create(struct tvm *t, int nr)
{
	struct kvm_userspace_memory_region reg = { 0 };
	int err;

	memset(t, 0, sizeof(*t));
	t->kvm = t->vm = -1;
	for (int i = 0; i < TVM_MAX; i++)
		t->vcpu[i] = -1;
	t->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (t->kvm < 0)
		return -errno;
	t->vm = ioctl(t->kvm, KVM_CREATE_VM, 0);
	if (t->vm < 0)
		goto fail;
	t->run_size = (size_t)ioctl(t->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	t->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (t->mem == MAP_FAILED) {
		t->mem = NULL;
		goto fail;
	}
	memcpy((char *)t->mem + CODE_GPA, code, sizeof(code));
	reg.memory_size = MEM_SIZE;
	reg.userspace_addr = (unsigned long)t->mem;
	if (ioctl(t->vm, KVM_SET_USER_MEMORY_REGION, &reg))
		goto fail;
	for (int i = 0; i < nr; i++) {
		t->nr = i + 1;
		err = setup_vcpu(t, i);
		if (err) {
			errno = -err;
			goto fail;
		}
	}
	return 0;
fail:
	err = -errno;
	tvm_destroy(t);
	return err;
}

int tvm_run(struct tvm *t, int i, int n)
{
	int seen = 0;

	for (int k = 0; k < n; k++) {
		if (ioctl(t->vcpu[i], KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (t->run[i]->exit_reason != KVM_EXIT_IO && t->run[i]->exit_reason != KVM_EXIT_HLT)
			return -EIO;
		seen++;
	}
	return seen;
}

struct targ {
	struct tvm *t;
	int i;
};
static struct targ targs[TVM_MAX];

static void *vcpu_main(void *p)
{
	struct targ *a = p;
	struct tvm *t = a->t;

	t->cpu[a->i] = util_rseq_cpu_id();
	t->tid[a->i] = (pid_t)syscall(SYS_gettid);
	while (!t->stop) {
		if (tvm_run(t, a->i, 1) < 0)
			break;
		if (t->pause_us)
			usleep(t->pause_us);
	}
	return NULL;
}

int tvm_start_threads(struct tvm *t, unsigned pause_us)
{
	t->pause_us = pause_us;
	t->stop = false;
	for (int i = 0; i < t->nr; i++) {
		targs[i] = (struct targ){ t, i };
		if (pthread_create(&t->th[i], NULL, vcpu_main, &targs[i]))
			return -EAGAIN;
	}
	t->threads = true;
	for (int i = 0; i < t->nr; i++)
		while (!t->tid[i])
			usleep(100);
	return 0;
}

void tvm_destroy(struct tvm *t)
{
	if (t->threads) {
		t->stop = true;
		for (int i = 0; i < t->nr; i++)
			pthread_join(t->th[i], NULL);
		t->threads = false;
	}
	for (int i = 0; i < TVM_MAX; i++) {
		if (t->run[i])
			munmap(t->run[i], t->run_size);
		if (t->vcpu[i] >= 0)
			close(t->vcpu[i]);
		t->run[i] = NULL;
		t->vcpu[i] = -1;
	}
	if (t->mem)
		munmap(t->mem, 0x10000);
	if (t->vm >= 0)
		close(t->vm);
	if (t->kvm >= 0)
		close(t->kvm);
	t->mem = NULL;
	t->vm = t->kvm = -1;
}

int tvm_vm_fd(void *arg)
{
	return ((struct tvm *)arg)->vm;
}

int tvm_vcpu_fd(void *arg, int i)
{
	return ((struct tvm *)arg)->vcpu[i];
}

pid_t tvm_vcpu_tid(void *arg, int i)
{
	return ((struct tvm *)arg)->tid[i];
}

int tvm_vcpu_pcpu(void *arg, int i)
{
	return util_rseq_cpu(((struct tvm *)arg)->cpu[i]);
}

/* CPU time of this process's thread named name (its CPU clock), or -1. */
int64_t tvm_thread_cpu_ns(const char *name)
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

int tvm_busy_on_last_cpu(struct tvm *t, int *cpu)
{
	cpu_set_t mine, one;
	int err;

	*cpu = 0;
	sched_getaffinity(0, sizeof(mine), &mine);
	for (int i = CPU_SETSIZE - 1; i > 0 && !*cpu; i--)
		if (CPU_ISSET(i, &mine))
			*cpu = i;
	err = tvm_start_threads(t, 0);
	CPU_ZERO(&one);
	CPU_SET(*cpu, &one);
	if (!err && sched_setaffinity(t->tid[0], sizeof(one), &one))
		err = -errno;
	return err;
}
