/* HPET at PC_HPET_BASE: one block of 3 comparators and a 64-bit main counter
 * at 100 MHz (period 10 ns = 10^7 fs) that runs from CLOCK_MONOTONIC while
 * ENABLE_CNF is set and holds (and may be written) while it is clear.
 * Comparators: one-shot or periodic, 32- or 64-bit, edge or level; a timer
 * whose interrupt is enabled fires on the in-kernel irqchip (KVM_IRQ_LINE):
 * with legacy replacement timer 0 on ISA IRQ 0 and timer 1 on IRQ 8, else on
 * the IOAPIC pin its route field names (one of HPET_ROUTE_CAP). A comparator
 * set in the past fires at once (as QEMU's). A one-shot timer fires once per
 * arming (comparator or configuration write, or the counter's start).
 * Level-triggered timers set their status bit and hold the line until the
 * guest writes 1 to the bit; a timer whose interrupt is disabled neither
 * fires nor sets its status bit.
 * Interrupts come from the timer thread (hpet_timer.c). Accesses: aligned
 * 32 or 64 bits. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "vmm-core/hpet_int.h"
#include "vmm-core/pc.h"
#include "vmm-core/pcdev.h"
#include "vmm-core/vmm_internal.h"

uint64_t vmm_hpet_counter(const struct hpet *h, uint64_t now_ns)
{
	if (!(h->config & HPET_CFG_ENABLE) || h->frozen)
		return h->cnt_base;
	return h->cnt_base + (now_ns - h->ns_base) / HPET_TICK_NS;
}

static uint64_t tick_to_ns(const struct hpet *h, uint64_t tick)
{
	return h->ns_base + (tick - h->cnt_base) * HPET_TICK_NS;
}

/* Ticks from now to the comparator, at least 1 (a comparator in the past
 * fires at once). */
static uint64_t ticks_to_cmp(const struct hpet_timer *t, uint64_t cur)
{
	if (t->config & HPET_TN_32BIT) {
		uint32_t d = (uint32_t)t->cmp - (uint32_t)cur;

		return (int32_t)d > 0 ? d : 1;
	}
	return (int64_t)(t->cmp - cur) > 0 ? t->cmp - cur : 1;
}

static bool wants_irq(const struct hpet *h, const struct hpet_timer *t)
{
	return (h->config & HPET_CFG_ENABLE) && (t->config & HPET_TN_INT_ENB) && !h->frozen;
}

static void arm(struct hpet *h, struct hpet_timer *t, uint64_t now_ns)
{
	t->armed = wants_irq(h, t);
	if (t->armed) {
		uint64_t cur = vmm_hpet_counter(h, now_ns);

		t->deadline_ns = tick_to_ns(h, cur + ticks_to_cmp(t, cur));
		pthread_cond_signal(&h->cond);
	}
}

static void arm_all(struct hpet *h, uint64_t now_ns)
{
	for (int i = 0; i < HPET_TIMERS; i++)
		arm(h, &h->timer[i], now_ns);
}

int vmm_hpet_gsi(const struct hpet *h, int i)
{
	if (h->config & HPET_CFG_LEGACY) {
		if (i == 0)
			return 0;   /* ISA IRQ 0: where the machine wires it (KVM's routing) */
		if (i == 1)
			return PC_RTC_IRQ;
	}
	return (int)((h->timer[i].config & HPET_TN_ROUTE_MASK) >> HPET_TN_ROUTE_SHIFT);
}

static uint64_t timer_read(const struct hpet_timer *t, uint64_t reg)
{
	switch (reg) {
	case HPET_TN_CFG: return t->config | HPET_TN_CAPS | (uint64_t)HPET_ROUTE_CAP << 32;
	case HPET_TN_CMP: return t->cmp;
	default: return 0;        /* FSB route: not supported */
	}
}

static uint64_t reg_read(struct hpet *h, uint64_t reg, uint64_t now_ns)
{
	if (reg >= HPET_TIMER0 && reg < HPET_TIMER0 + HPET_TIMERS * HPET_TIMER_STRIDE)
		return timer_read(&h->timer[(reg - HPET_TIMER0) / HPET_TIMER_STRIDE],
				  (reg - HPET_TIMER0) % HPET_TIMER_STRIDE);
	switch (reg) {
	case HPET_ID: return HPET_ID_VALUE;
	case HPET_CONFIG: return h->config;
	case HPET_ISR: return h->isr;
	case HPET_COUNTER: return vmm_hpet_counter(h, now_ns);
	default: return 0;
	}
}

static void timer_write(struct hpet *h, int i, uint64_t reg, uint64_t val, uint64_t mask,
			uint64_t now_ns)
{
	struct hpet_timer *t = &h->timer[i];
	uint64_t old = t->config;

	if (reg == HPET_TN_CFG) {
		t->config = (old & ~(mask & HPET_TN_WRITABLE)) | (val & mask & HPET_TN_WRITABLE);
		if (t->config & HPET_TN_32BIT)
			t->cmp = (uint32_t)t->cmp;
		if ((old & HPET_TN_LEVEL) && !(t->config & HPET_TN_LEVEL) && (h->isr & (1u << i))) {
			h->isr &= ~(1u << i);
			vmm_hpet_set_line(h, t->line_gsi, 0);
		}
	} else if (reg == HPET_TN_CMP) {
		uint64_t v = (t->cmp & ~mask) | (val & mask);

		if (t->config & HPET_TN_32BIT)
			v = (uint32_t)v;
		if (!(t->config & HPET_TN_PERIODIC) || (t->config & HPET_TN_SETVAL))
			t->cmp = v;
		if (t->config & HPET_TN_PERIODIC)
			t->period = ((t->period & ~mask) | (val & mask)) &
				    (t->config & HPET_TN_32BIT ? 0x7fffffffull : INT64_MAX);
		t->config &= ~HPET_TN_SETVAL;
	} else {
		return;
	}
	arm(h, t, now_ns);
}

static void reg_write(struct hpet *h, uint64_t reg, uint64_t val, uint64_t mask, uint64_t now_ns)
{
	uint64_t cur;

	if (reg >= HPET_TIMER0 && reg < HPET_TIMER0 + HPET_TIMERS * HPET_TIMER_STRIDE) {
		timer_write(h, (int)((reg - HPET_TIMER0) / HPET_TIMER_STRIDE),
			    (reg - HPET_TIMER0) % HPET_TIMER_STRIDE, val, mask, now_ns);
		return;
	}
	switch (reg) {
	case HPET_CONFIG:
		cur = vmm_hpet_counter(h, now_ns);
		h->config = (h->config & ~(mask & HPET_CFG_WRITABLE)) | (val & mask & HPET_CFG_WRITABLE);
		h->cnt_base = cur;    /* the counter holds or restarts from where it was */
		h->ns_base = now_ns;
		arm_all(h, now_ns);
		break;
	case HPET_ISR:
		for (int i = 0; i < HPET_TIMERS; i++)
			if (val & mask & h->isr & (1u << i)) {
				h->isr &= ~(1u << i);
				vmm_hpet_set_line(h, h->timer[i].line_gsi, 0);
			}
		break;
	case HPET_COUNTER:
		h->cnt_base = (vmm_hpet_counter(h, now_ns) & ~mask) | (val & mask);
		h->ns_base = now_ns;
		arm_all(h, now_ns);
		break;
	default:
		break;
	}
}

int vmm_hpet_access(struct hpet *h, uint64_t off, uint8_t *data, int len, bool is_write)
{
	uint64_t reg = off & ~7ull, shift = (off & 7) * 8, now = util_now_ns(), val = 0, mask;

	if ((len != 4 && len != 8) || (off & (uint64_t)(len - 1)))
		return -EINVAL;      /* only aligned 32- and 64-bit accesses */
	mask = len == 8 ? UINT64_MAX : 0xffffffffull << shift;
	pthread_mutex_lock(&h->lock);
	if (is_write) {
		memcpy(&val, data, (size_t)len);
		reg_write(h, reg, val << shift, mask, now);
	} else {
		val = reg_read(h, reg, now) >> shift;
		memcpy(data, &val, (size_t)len);
	}
	pthread_mutex_unlock(&h->lock);
	return 0;
}

static int hpet_mmio(struct vmm_vcpu *v, void *state, uint64_t off, uint8_t *data, int len,
		     bool is_write)
{
	return vmm_hpet_access(state, off, data, len, is_write);
}

static int hpet_init(struct vmm *vm, const struct vmm_config *cfg, void **state)
{
	return vmm_hpet_create(vm->vm_fd, (struct hpet **)state);
}

static void hpet_exit(struct vmm *vm, void *state)
{
	vmm_hpet_destroy(state);
}

struct hpet_snap {
	uint64_t config, isr, counter;
	struct { uint64_t config, cmp, period, fired; int32_t line_gsi; } t[HPET_TIMERS];
};

static int hpet_save(void *state, uint8_t *buf, size_t len)
{
	struct hpet *h = state;
	struct hpet_snap s;

	memset(&s, 0, sizeof(s));
	pthread_mutex_lock(&h->lock);
	s.config = h->config, s.isr = h->isr, s.counter = vmm_hpet_counter(h, util_now_ns());
	for (int i = 0; i < HPET_TIMERS; i++) {
		s.t[i].config = h->timer[i].config, s.t[i].cmp = h->timer[i].cmp;
		s.t[i].period = h->timer[i].period, s.t[i].fired = h->timer[i].fired;
		s.t[i].line_gsi = h->timer[i].line_gsi;
	}
	pthread_mutex_unlock(&h->lock);
	return VMM_DEV_SAVE(buf, len, s);
}

/* The counter goes on from the saved value; armed comparators are re-armed. */
static int hpet_restore(void *state, const uint8_t *buf, size_t len)
{
	struct hpet *h = state;
	struct hpet_snap s;
	uint64_t now = util_now_ns();
	int rc = VMM_DEV_LOAD(buf, len, s);

	if (rc)
		return rc;
	pthread_mutex_lock(&h->lock);
	h->config = s.config, h->isr = s.isr, h->cnt_base = s.counter, h->ns_base = now;
	for (int i = 0; i < HPET_TIMERS; i++) {
		h->timer[i].config = s.t[i].config, h->timer[i].cmp = s.t[i].cmp;
		h->timer[i].period = s.t[i].period, h->timer[i].fired = s.t[i].fired;
		h->timer[i].line_gsi = s.t[i].line_gsi;
	}
	arm_all(h, now);
	pthread_mutex_unlock(&h->lock);
	return 0;
}

/* A paused VM's HPET: the counter holds its value and no comparator fires;
 * on resume it counts on from there and armed comparators are re-armed. */
static void hpet_freeze(void *state, bool frozen)
{
	struct hpet *h = state;
	uint64_t now = util_now_ns();

	pthread_mutex_lock(&h->lock);
	h->cnt_base = vmm_hpet_counter(h, now);
	h->ns_base = now;
	h->frozen = frozen;
	arm_all(h, now);
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

static void hpet_pause(void *state)
{
	hpet_freeze(state, true);
}

static void hpet_resume(void *state)
{
	hpet_freeze(state, false);
}

const struct vmm_dev vmm_dev_hpet = {
	.name = "hpet", .mmio_gpa = PC_HPET_BASE, .mmio_len = PC_HPET_LEN,
	.init = hpet_init, .exit = hpet_exit, .mmio = hpet_mmio,
	.save = hpet_save, .restore = hpet_restore,
	.pause = hpet_pause, .resume = hpet_resume,
};
