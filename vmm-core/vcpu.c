/* vCPU threads: run loop, park/unpark for pause and resume, kicks. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/sandbox.h"
#include "common/util.h"
#include "vmm-core/vmm_internal.h"

#define VMM_KICK_SIGNAL SIGUSR1

int vmm_vcpu_create(struct vmm *vm, int idx)
{
	struct vmm_vcpu *v = &vm->vcpu[idx];
	int run_bytes, rc;

	v->vm = vm;
	v->idx = idx;
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, idx);
	if (v->fd < 0) {
		v->fd = -1;
		util_err("KVM_CREATE_VCPU %d: %s", idx, strerror(errno));
		return -errno;
	}
	run_bytes = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_bytes <= 0) {
		util_err("KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
		return -errno;
	}
	v->run = mmap(NULL, run_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		util_err("mmap of vcpu%d's kvm_run: %s", idx, strerror(errno));
		return -errno;
	}
	v->run_bytes = run_bytes;
	/* Now, while no thread runs it: vCPU ioctls wait for KVM_RUN to return. */
	v->stats_fd = ioctl(v->fd, KVM_GET_STATS_FD, 0);
	pthread_mutex_init(&v->lock, NULL);
	util_cond_init_mono(&v->cond);   /* the watchdog's timed waits are monotonic */
	rc = vmm_dirty_vcpu_init(vm, idx); /* its dirty ring, where tracking is on */
	return rc ? rc : vmm_cpuid_set(vm, v);
}

void vmm_vcpu_destroy(struct vmm_vcpu *v)
{
	if (v->run)
		munmap(v->run, v->run_bytes);
	if (v->stats_fd >= 0)
		close(v->stats_fd);
	if (v->fd >= 0)
		close(v->fd);
	v->run = NULL;
	v->fd = v->stats_fd = -1;
}

/* The kick signal's handler runs on the vCPU's own thread: it asks KVM to
 * leave (or not enter) the guest, so a kick never gets lost in the window
 * between the flag checks and KVM_RUN. */
static __thread struct kvm_run *this_run;

static void kick_handler(int sig)
{
	(void)sig;
	if (this_run)
		this_run->immediate_exit = 1;
}

void vmm_vcpu_kick(struct vmm_vcpu *v)
{
	if (v->started)
		pthread_kill(v->thread, VMM_KICK_SIGNAL);
}

/* Blocks while a pause is requested. Returns false when the VM must stop. */
static bool park_if_requested(struct vmm_vcpu *v)
{
	pthread_mutex_lock(&v->lock);
	if ((v->pause_req || v->vm->life.paused) && !v->vm->stop) {
		v->paused = true;
		pthread_cond_broadcast(&v->cond);
		while ((v->pause_req || v->vm->life.paused) && !v->vm->stop) {
			if (v->job) {   /* lifecycle.c: run it here, still parked */
				v->job(v, v->job_arg);
				v->job = NULL;
				v->job_done = true;
				pthread_cond_broadcast(&v->cond);
				continue;
			}
			pthread_cond_wait(&v->cond, &v->lock);
		}
		v->paused = false;
	}
	pthread_mutex_unlock(&v->lock);
	return !v->vm->stop;
}

static void unblock_kick(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, VMM_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

/* At -v -v, where the vCPU enters the guest the first time: the CPU it runs
 * on and the CPUs it may run on (placement before the first instruction). */
static void log_first_entry(struct vmm_vcpu *v)
{
	char list[128] = "?";
	cpu_set_t set;
	size_t used = 0;

	if (!sched_getaffinity(0, sizeof(set), &set)) {
		list[0] = '\0';
		for (int c = 0; c < CPU_SETSIZE && used + 8 < sizeof(list); c++)
			if (CPU_ISSET(c, &set))
				used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%d",
							 used ? "," : "", c);
	}
	util_debug("vcpu%d: enters the guest on cpu%d (allowed CPUs %s)", v->idx,
		   util_rseq_cpu(v->rseq_cpu), list);
}

static void *vcpu_thread(void *arg)
{
	struct vmm_vcpu *v = arg;
	char name[16];
	bool first = true;

	v->tid = (pid_t)syscall(SYS_gettid);
	snprintf(name, sizeof(name), "avmm-vcpu%d", v->idx);
	pthread_setname_np(pthread_self(), name);
	this_run = v->run;
	pthread_mutex_lock(&v->lock);
	v->rseq_cpu = util_rseq_cpu_id();
	pthread_mutex_unlock(&v->lock);
	unblock_kick();
	/* Set-up done: from here on KVM ioctls, console writes, locks. */
	if (util_sandbox_enter(UTIL_SANDBOX_VCPU))
		vmm_end(v->vm, VMM_END_ERROR, 2, "vcpu%d: its seccomp filter could not be installed",
			v->idx);
	while (park_if_requested(v)) {
		if (v->look_req)
			vmm_watchdog_answer(v);
		if (first)
			vmm_steal_vcpu(v);
		if (first && util_log_get_level() >= UTIL_LOG_DEBUG)
			log_first_entry(v);
		first = false;
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				v->run->immediate_exit = 0;
				continue;
			}
			vmm_end(v->vm, VMM_END_ERROR, 4, "KVM_RUN on vcpu%d failed: %s", v->idx,
				strerror(errno));
			break;
		}
		v->ctr.exits++;
		if (vmm_exit_dispatch(v))
			break;
	}
	pthread_mutex_lock(&v->lock);
	v->rseq_cpu = NULL;    /* the area ends with this thread */
	v->exited = true;
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
	return NULL;
}

int vmm_start(struct vmm *vm)
{
	struct sigaction sa = { .sa_handler = kick_handler };
	sigset_t block, old;
	int i, rc = 0;

	sigemptyset(&sa.sa_mask);
	sigaction(VMM_KICK_SIGNAL, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, VMM_KICK_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	for (i = 0; i < vm->nr_vcpus; i++) {
		rc = -pthread_create(&vm->vcpu[i].thread, NULL, vcpu_thread, &vm->vcpu[i]);
		if (rc) {
			util_err("starting the thread of vcpu%d: %s", i, strerror(-rc));
			vmm_request_stop(vm);
			break;
		}
		vm->vcpu[i].started = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	/* Wait until every started thread has published its TID. */
	for (int j = 0; j < i; j++)
		while (!vm->vcpu[j].tid)
			util_sleep_ns(100000);
	if (!rc)
		vmm_watchdog_start(vm, vm->halt_watchdog_ms);
	return rc;
}

int vmm_start_held(struct vmm *vm)
{
	int i;

	for (i = 0; i < vm->nr_vcpus; i++) {
		pthread_mutex_lock(&vm->vcpu[i].lock);
		vm->vcpu[i].pause_req = true;
		pthread_mutex_unlock(&vm->vcpu[i].lock);
	}
	return vmm_start(vm);
}

int vmm_vcpu_pcpu(struct vmm *vm, int vcpu)
{
	struct vmm_vcpu *v;
	int cpu;

	if (vcpu < 0 || vcpu >= vm->nr_vcpus)
		return -1;
	v = &vm->vcpu[vcpu];
	pthread_mutex_lock(&v->lock);
	cpu = util_rseq_cpu(v->rseq_cpu);
	pthread_mutex_unlock(&v->lock);
	return cpu;
}

static int pause_one(struct vmm_vcpu *v)
{
	pthread_mutex_lock(&v->lock);
	v->pause_req = true;
	pthread_mutex_unlock(&v->lock);
	vmm_vcpu_kick(v);
	pthread_mutex_lock(&v->lock);
	while (v->started && !v->paused && !v->exited && !v->vm->stop)
		pthread_cond_wait(&v->cond, &v->lock);
	pthread_mutex_unlock(&v->lock);
	return 0;
}

static int resume_one(struct vmm_vcpu *v)
{
	pthread_mutex_lock(&v->lock);
	v->pause_req = false;
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
	return 0;
}

static int for_vcpus(struct vmm *vm, int vcpu, int (*fn)(struct vmm_vcpu *))
{
	int i;

	if (vcpu >= vm->nr_vcpus || vcpu < -1)
		return -EINVAL;
	if (vcpu >= 0)
		return fn(&vm->vcpu[vcpu]);
	for (i = 0; i < vm->nr_vcpus; i++)
		fn(&vm->vcpu[i]);
	return 0;
}

int vmm_pause(struct vmm *vm, int vcpu)
{
	return for_vcpus(vm, vcpu, pause_one);
}

int vmm_resume(struct vmm *vm, int vcpu)
{
	return for_vcpus(vm, vcpu, resume_one);
}

void vmm_request_stop(struct vmm *vm)
{
	int i;

	vm->stop = true;
	for (i = 0; i < vm->nr_vcpus; i++) {
		pthread_mutex_lock(&vm->vcpu[i].lock);
		pthread_cond_broadcast(&vm->vcpu[i].cond);
		pthread_mutex_unlock(&vm->vcpu[i].lock);
		vmm_vcpu_kick(&vm->vcpu[i]);
	}
}
