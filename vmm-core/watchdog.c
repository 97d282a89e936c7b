/*
 * Halt watchdog: ends a run whose guest can never continue because every vCPU
 * executed hlt with interrupts off (cli; hlt). With the in-kernel irqchip a
 * HLT never reaches avmm, so such a guest used to wait forever in silence.
 *
 * Cheap by design: one thread that wakes once a second and reads each vCPU's
 * exit counter (no system call). Only when no vCPU has left KVM_RUN for the
 * timeout does it ask each vCPU thread to look at itself (vCPU ioctls only
 * work from the thread that runs it): a kick, then KVM_GET_MP_STATE,
 * KVM_GET_REGS and KVM_GET_VCPU_EVENTS on that thread. The run ends only when
 * every vCPU is halted with RFLAGS.IF clear and no NMI pending, or waits for a
 * SIPI that only a running vCPU could send; a guest idle with interrupts on
 * (waiting for a timer) is left alone, as is one busy without exits.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "common/sandbox.h"
#include "common/util.h"
#include "vmm-core/vmm_internal.h"

#define WD_TICK_NS 1000000000ull
#define WD_ANSWER_NS 1000000000ull
#define RFLAGS_IF (1ull << 9)

/* On the vCPU's own thread, before it re-enters KVM_RUN. */
void vmm_watchdog_answer(struct vmm_vcpu *v)
{
	struct kvm_mp_state mp = { 0 };
	struct kvm_vcpu_events ev = { 0 };
	struct kvm_regs regs = { 0 };
	enum vmm_vcpu_look look = VMM_LOOK_UNKNOWN;

	if (!ioctl(v->fd, KVM_GET_MP_STATE, &mp) && !ioctl(v->fd, KVM_GET_REGS, &regs) &&
	    !ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev)) {
		if (mp.mp_state == KVM_MP_STATE_UNINITIALIZED ||
		    mp.mp_state == KVM_MP_STATE_INIT_RECEIVED)
			look = VMM_LOOK_WAIT_SIPI;
		else if (mp.mp_state != KVM_MP_STATE_HALTED || ev.nmi.pending || ev.nmi.injected)
			look = VMM_LOOK_RUNNABLE;
		else
			look = (regs.rflags & RFLAGS_IF) ? VMM_LOOK_IDLE : VMM_LOOK_DEAD;
	}
	pthread_mutex_lock(&v->lock);
	v->look = look;
	v->look_rip = regs.rip;
	v->look_req = false;
	v->look_done = true;
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
}

/* Asks every vCPU; returns its look, or UNKNOWN when one is paused, gone or
 * does not answer within a second. */
static enum vmm_vcpu_look look_at(struct vmm *vm, int i)
{
	struct vmm_vcpu *v = &vm->vcpu[i];
	enum vmm_vcpu_look look = VMM_LOOK_UNKNOWN;
	uint64_t until;

	pthread_mutex_lock(&v->lock);
	if (v->paused || v->pause_req || v->exited || !v->started) {
		pthread_mutex_unlock(&v->lock);
		return VMM_LOOK_UNKNOWN;
	}
	v->look_req = true;
	v->look_done = false;
	pthread_mutex_unlock(&v->lock);
	vmm_vcpu_kick(v);
	until = util_now_ns() + WD_ANSWER_NS;
	pthread_mutex_lock(&v->lock);
	while (!v->look_done && !v->exited && !vm->stop)
		if (util_cond_wait_until_ns(&v->cond, &v->lock, until) == ETIMEDOUT)
			break;
	if (v->look_done)
		look = v->look;
	v->look_req = false;
	pthread_mutex_unlock(&v->lock);
	return look;
}

/* True when the guest can never continue; *rip is the first halted vCPU's. */
static bool all_dead(struct vmm *vm, int *first, uint64_t *rip)
{
	int i, dead = 0;

	*first = -1;
	for (i = 0; i < vm->nr_vcpus; i++) {
		enum vmm_vcpu_look look = look_at(vm, i);

		if (look != VMM_LOOK_DEAD && look != VMM_LOOK_WAIT_SIPI)
			return false;
		if (look == VMM_LOOK_DEAD && !dead++) {
			*first = i;
			*rip = vm->vcpu[i].look_rip;
		}
	}
	return dead > 0;
}

static bool exits_changed(struct vmm *vm, uint64_t *last)
{
	bool changed = false;
	int i;

	for (i = 0; i < vm->nr_vcpus; i++) {
		uint64_t e = __atomic_load_n(&vm->vcpu[i].ctr.exits, __ATOMIC_RELAXED);

		changed |= e != last[i];
		last[i] = e;
	}
	return changed;
}

static void *watchdog_thread(void *arg)
{
	struct vmm *vm = arg;
	struct vmm_watchdog *wd = &vm->wd;
	uint64_t last[VMM_MAX_VCPUS] = { 0 }, quiet_since = util_now_ns(), rip = 0;
	int first;

	pthread_setname_np(pthread_self(), "avmm-watchdog");
	if (util_sandbox_enter(UTIL_SANDBOX_WATCHDOG))
		return NULL;
	exits_changed(vm, last);
	pthread_mutex_lock(&wd->lock);
	while (!wd->stop && !vm->stop) {
		util_cond_wait_until_ns(&wd->cond, &wd->lock,
					util_now_ns() + UTIL_MIN(WD_TICK_NS, wd->timeout_ns));
		if (wd->stop || vm->stop)
			break;
		pthread_mutex_unlock(&wd->lock);
		if (exits_changed(vm, last)) {
			quiet_since = util_now_ns();
		} else if (util_now_ns() - quiet_since >= wd->timeout_ns) {
			if (all_dead(vm, &first, &rip)) {
				util_warn("every vCPU has been halted with interrupts off for %llu s "
					  "(vcpu%d at rip 0x%llx): the guest executed cli; hlt and can "
					  "never continue; ending the run (exit status %d)",
					  (unsigned long long)(wd->timeout_ns / 1000000000ull), first,
					  (unsigned long long)rip, VMM_STATUS_HALTED);
				vmm_end(vm, VMM_END_HALTED, VMM_STATUS_HALTED,
					"every vCPU halted with interrupts off (cli; hlt): vcpu%d at "
					"rip 0x%llx", first, (unsigned long long)rip);
			}
			quiet_since = util_now_ns();
		}
		pthread_mutex_lock(&wd->lock);
	}
	pthread_mutex_unlock(&wd->lock);
	return NULL;
}

int vmm_watchdog_start(struct vmm *vm, uint64_t timeout_ms)
{
	struct vmm_watchdog *wd = &vm->wd;
	pthread_attr_t attr;
	int rc;

	if (timeout_ms == VMM_HALT_WATCHDOG_OFF)
		return 0;
	wd->timeout_ns = (timeout_ms ? timeout_ms : VMM_HALT_WATCHDOG_DEFAULT_MS) * 1000000ull;
	pthread_mutex_init(&wd->lock, NULL);
	util_cond_init_mono(&wd->cond);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 << 10);
	rc = -pthread_create(&wd->thread, &attr, watchdog_thread, vm);
	pthread_attr_destroy(&attr);
	if (rc) {
		util_warn("the halt watchdog thread could not start (%s): a guest that executes "
			  "cli; hlt will wait until stopped", strerror(-rc));
		return rc;
	}
	wd->started = true;
	return 0;
}

void vmm_watchdog_stop(struct vmm *vm)
{
	struct vmm_watchdog *wd = &vm->wd;

	if (!wd->started)
		return;
	pthread_mutex_lock(&wd->lock);
	wd->stop = true;
	pthread_cond_broadcast(&wd->cond);
	pthread_mutex_unlock(&wd->lock);
	pthread_join(wd->thread, NULL);
	wd->started = false;
}
