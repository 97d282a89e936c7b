/* The HPET's timer thread, one per VM ("avmm-hpet", seccomp kind devtimer:
 * futex, clocks and KVM ioctls only): it sleeps on a CLOCK_MONOTONIC
 * condition variable until the earliest armed comparator's deadline, raises
 * the interrupts that are due with KVM_IRQ_LINE and re-arms periodic timers.
 * It is created with the device, because vCPU threads may not create threads
 * under their filter, sleeps without a deadline while nothing is armed, and
 * is stopped and joined at the VM's exit. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "common/sandbox.h"
#include "common/util.h"
#include "vmm-core/hpet_int.h"
#include "vmm-core/vmm_internal.h"

void vmm_hpet_set_line(struct hpet *h, int gsi, int level)
{
	struct kvm_irq_level irq = { .irq = (uint32_t)gsi, .level = level };

	if (ioctl(h->vm_fd, KVM_IRQ_LINE, &irq) < 0) {
		h->irq_errors++;
		if (h->irq_errors == 1)
			util_warn("hpet: KVM_IRQ_LINE %d on the VM fd failed: %s; the guest misses "
				  "HPET interrupts (logged once)", gsi, strerror(errno));
	}
}

/* A timer reached its comparator: interrupt, then re-arm or disarm. */
static void fire(struct hpet *h, int i, uint64_t now_ns)
{
	struct hpet_timer *t = &h->timer[i];
	int gsi = vmm_hpet_gsi(h, i);

	t->fired++;
	if (t->config & HPET_TN_LEVEL) {
		h->isr |= 1u << i;
		t->line_gsi = gsi;
		vmm_hpet_set_line(h, gsi, 1);
	} else {
		vmm_hpet_set_line(h, gsi, 1);
		vmm_hpet_set_line(h, gsi, 0);
	}
	if (!(t->config & HPET_TN_PERIODIC) || !t->period) {
		t->armed = false;
		return;
	}
	/* next period after now, keeping the phase; missed periods are skipped */
	do {
		t->cmp += t->period;
		if (t->config & HPET_TN_32BIT)
			t->cmp = (uint32_t)t->cmp;
		t->deadline_ns += t->period * HPET_TICK_NS;
	} while (t->deadline_ns <= now_ns);
}

static void *timer_thread(void *arg)
{
	struct hpet *h = arg;

	pthread_setname_np(pthread_self(), "avmm-hpet");
	if (util_sandbox_enter(UTIL_SANDBOX_DEVTIMER))
		return NULL;
	pthread_mutex_lock(&h->lock);
	while (!h->stop) {
		uint64_t now = util_now_ns(), next = UINT64_MAX;

		for (int i = 0; i < HPET_TIMERS; i++) {
			struct hpet_timer *t = &h->timer[i];

			if (t->armed && t->deadline_ns <= now)
				fire(h, i, now);
			if (t->armed && t->deadline_ns < next)
				next = t->deadline_ns;
		}
		if (next == UINT64_MAX) {
			pthread_cond_wait(&h->cond, &h->lock);
		} else {
			util_cond_wait_until_ns(&h->cond, &h->lock, next);
		}
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

int vmm_hpet_create(int vm_fd, struct hpet **out)
{
	struct hpet *h = calloc(1, sizeof(*h));
	int rc;

	if (!h)
		return -ENOMEM;
	h->vm_fd = vm_fd;
	pthread_mutex_init(&h->lock, NULL);
	util_cond_init_mono(&h->cond);
	for (int i = 0; i < HPET_TIMERS; i++)
		h->timer[i].cmp = UINT64_MAX;
	rc = -pthread_create(&h->thread, NULL, timer_thread, h);
	if (rc) {
		util_err("hpet: its timer thread could not start: %s", strerror(-rc));
		free(h);
		return rc;
	}
	*out = h;
	return 0;
}

void vmm_hpet_destroy(struct hpet *h)
{
	util_thread_stop(&h->lock, &h->cond, &h->stop, h->thread);
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->lock);
	free(h);
}
