/*
 * vmm-core: the operator's pause and resume of the whole VM.
 *
 * vmm_vm_pause() sets the VM's pause flag, kicks every vCPU out of KVM_RUN
 * and waits until each is parked (or has ended); then it reads the KVM clock
 * (KVM_GET_CLOCK). vmm_vm_resume() writes that value back (KVM_SET_CLOCK with
 * flags 0, i.e. without KVM_CLOCK_REALTIME, so KVM does not add the elapsed
 * host time) before it lets the vCPUs run: the guest's kvmclock does not
 * advance while the VM is paused, as with QEMU's `stop`/`cont`. The guest's
 * TSC is not rewound (KVM keeps it running); guests that read time from the
 * kvmclock see no jump.
 *
 * The flag is separate from the per-vCPU pause that the control loop uses
 * for remapping (vmm_pause/vmm_resume): a vCPU parks while either is set, so
 * the loop's resume of one vCPU never lets a paused VM run.
 *
 * The control thread (which calls these) may not issue KVM ioctls (its
 * seccomp filter): the clock ioctls run on vCPU 0's own thread while it is
 * parked (vmm_vcpu_run_parked), which snapshotting can use as well.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "common/util.h"
#include "vmm-core/vmm_internal.h"

static void wait_parked(struct vmm_vcpu *v)
{
	vmm_vcpu_kick(v);
	pthread_mutex_lock(&v->lock);
	while (v->started && !v->paused && !v->exited && !v->vm->stop)
		pthread_cond_wait(&v->cond, &v->lock);
	pthread_mutex_unlock(&v->lock);
}

int vmm_vcpu_run_parked(struct vmm_vcpu *v, void (*fn)(struct vmm_vcpu *, void *), void *arg)
{
	int rc = 0;

	pthread_mutex_lock(&v->lock);
	if (!v->started || v->exited || !v->paused || v->vm->stop) {
		rc = -ESRCH;
		goto out;
	}
	v->job = fn;
	v->job_arg = arg;
	v->job_done = false;
	pthread_cond_broadcast(&v->cond);
	while (!v->job_done && !v->exited && !v->vm->stop)
		pthread_cond_wait(&v->cond, &v->lock);
	if (!v->job_done) {
		v->job = NULL;
		rc = -ESRCH;
	}
out:
	pthread_mutex_unlock(&v->lock);
	return rc;
}

struct clock_job {
	unsigned long req;
	struct kvm_clock_data *data;
	int err;
};

static void clock_ioctl(struct vmm_vcpu *v, void *arg)
{
	struct clock_job *j = arg;

	j->err = ioctl(v->vm->vm_fd, j->req, j->data) ? errno : 0;
}

/* KVM_GET_CLOCK / KVM_SET_CLOCK on a parked vCPU's thread (its seccomp
 * filter allows KVM ioctls; the caller's, the control thread's, does not:
 * an ioctl there would end the process). 0 or errno; ESRCH when no vCPU
 * thread is parked (not started yet, or all ended). */
static int clock_call(struct vmm *vm, unsigned long req, struct kvm_clock_data *data)
{
	struct clock_job j = { req, data, 0 };

	for (int i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpu[i].started && !vmm_vcpu_run_parked(&vm->vcpu[i], clock_ioctl, &j))
			return j.err;
	return ESRCH;
}

static void wake(struct vmm_vcpu *v)
{
	pthread_mutex_lock(&v->lock);
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
}

static void fill(const struct vmm *vm, struct vmm_vm_pause_info *out)
{
	if (!out)
		return;
	memset(out, 0, sizeof(*out));
	out->paused = vm->life.paused;
	out->transitions = vm->life.transitions;
	out->paused_total_ns = vm->life.paused_total_ns;
	out->paused_since_ns = vm->life.paused ? vm->life.paused_at_ns : 0;
	out->clock_ns = vm->life.clock.clock;
	out->clock_flags = vm->life.clock.flags;
	out->clock_tsc_stable = (vm->life.clock.flags & KVM_CLOCK_TSC_STABLE) != 0;
	out->clock_saved = vm->life.clock_saved;
}

int vmm_vm_pause(struct vmm *vm, struct vmm_vm_pause_info *out)
{
	struct vmm_life *l = &vm->life;
	int i, rc = 0;

	pthread_mutex_lock(&l->lock);
	if (vm->stop) {
		rc = -ESRCH;
		goto out;
	}
	if (l->paused) {
		rc = -EALREADY;
		goto out;
	}
	l->paused = true;
	for (i = 0; i < vm->nr_vcpus; i++)
		wait_parked(&vm->vcpu[i]);
	l->paused_at_ns = util_now_ns();
	vmm_bus_pause(vm, true);     /* the HPET and PM timer hold, as the kvmclock */
	l->transitions++;
	memset(&l->clock, 0, sizeof(l->clock));
	rc = clock_call(vm, KVM_GET_CLOCK, &l->clock);
	l->clock_saved = !rc;
	if (rc)
		util_warn("pause: KVM_GET_CLOCK failed (%s): the guest's kvmclock will include "
			  "the paused time", strerror(rc));
	rc = 0;
	util_info("VM paused (%d vCPUs parked, kvmclock %llu ns)", vm->nr_vcpus,
		  (unsigned long long)l->clock.clock);
out:
	fill(vm, out);
	pthread_mutex_unlock(&l->lock);
	return rc;
}

int vmm_vm_resume(struct vmm *vm, struct vmm_vm_pause_info *out)
{
	struct vmm_life *l = &vm->life;
	struct kvm_clock_data set, now;
	uint64_t paused_ns;
	int i, rc = 0;

	memset(&now, 0, sizeof(now));
	pthread_mutex_lock(&l->lock);
	if (!l->paused) {
		rc = -EALREADY;
		goto out;
	}
	if (l->clock_saved && !vm->stop) {   /* after the end: nothing to run */
		memset(&set, 0, sizeof(set));
		set.clock = l->clock.clock;   /* flags 0: no realtime advance */
		int e = clock_call(vm, KVM_SET_CLOCK, &set);

		if (e)
			util_warn("resume: KVM_SET_CLOCK to %llu ns failed (%s): the guest's kvmclock "
				  "includes the paused time", (unsigned long long)set.clock, strerror(e));
		else
			clock_call(vm, KVM_GET_CLOCK, &now);
	}
	paused_ns = util_now_ns() - l->paused_at_ns;
	l->paused_total_ns += paused_ns;
	l->transitions++;
	l->paused = false;
	vmm_bus_pause(vm, false);
	for (i = 0; i < vm->nr_vcpus; i++)
		wake(&vm->vcpu[i]);
	util_info("VM resumed after %.3f s paused", (double)paused_ns / 1e9);
out:
	fill(vm, out);
	if (!rc && out)
		out->clock_after_ns = now.clock;
	pthread_mutex_unlock(&l->lock);
	return rc;
}

bool vmm_vm_paused(const struct vmm *vm, uint64_t *transitions)
{
	if (transitions)
		*transitions = vm->life.transitions;
	return vm->life.paused;
}

void vmm_vm_pause_info(struct vmm *vm, struct vmm_vm_pause_info *out)
{
	pthread_mutex_lock(&vm->life.lock);
	fill(vm, out);
	pthread_mutex_unlock(&vm->life.lock);
}
