/* vmm-core internal: the HPET's registers and state (hpet.c), visible to its
 * unit tests. Offsets from PC_HPET_BASE; counter ticks of HPET_TICK_NS. */
#ifndef AVMM_VMM_HPET_INT_H
#define AVMM_VMM_HPET_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define HPET_TIMERS         3
#define HPET_TICK_NS        10ull                 /* 100 MHz */
#define HPET_PERIOD_FS      (HPET_TICK_NS * 1000000ull)

#define HPET_ID             0x000
#define HPET_CONFIG         0x010
#define HPET_ISR            0x020
#define HPET_COUNTER        0x0f0
#define HPET_TIMER0         0x100
#define HPET_TIMER_STRIDE   0x20
#define HPET_TN_CFG         0x00                  /* within a timer's block */
#define HPET_TN_CMP         0x08

/* capabilities: rev 1, 3 timers (NUM_TIM_CAP = 2), 64-bit counter,
 * legacy-route capable, vendor 8086, period in fs */
#define HPET_ID_VALUE       (0x01ull | (uint64_t)(HPET_TIMERS - 1) << 8 | 1ull << 13 | \
			     1ull << 15 | 0x8086ull << 16 | HPET_PERIOD_FS << 32)
#define HPET_CFG_ENABLE     0x1ull
#define HPET_CFG_LEGACY     0x2ull
#define HPET_CFG_WRITABLE   (HPET_CFG_ENABLE | HPET_CFG_LEGACY)

#define HPET_TN_LEVEL       (1ull << 1)
#define HPET_TN_INT_ENB     (1ull << 2)
#define HPET_TN_PERIODIC    (1ull << 3)
#define HPET_TN_PERIODIC_CAP (1ull << 4)
#define HPET_TN_SIZE_CAP    (1ull << 5)
#define HPET_TN_SETVAL      (1ull << 6)
#define HPET_TN_32BIT       (1ull << 8)
#define HPET_TN_ROUTE_SHIFT 9
#define HPET_TN_ROUTE_MASK  (0x1full << HPET_TN_ROUTE_SHIFT)
#define HPET_TN_CAPS        (HPET_TN_PERIODIC_CAP | HPET_TN_SIZE_CAP)
#define HPET_TN_WRITABLE    (HPET_TN_LEVEL | HPET_TN_INT_ENB | HPET_TN_PERIODIC | \
			     HPET_TN_SETVAL | HPET_TN_32BIT | HPET_TN_ROUTE_MASK)
/* IOAPIC pins a timer may be routed to: 16-23, which no ISA IRQ uses and
 * KVM's default routing leaves to the IOAPIC alone (GSI n = pin n). */
#define HPET_ROUTE_CAP      0x00ff0000u

struct hpet_timer {
	uint64_t config, cmp, period;
	bool armed;
	uint64_t deadline_ns;      /* CLOCK_MONOTONIC, while armed */
	int line_gsi;              /* the line a level-triggered interrupt holds */
	uint64_t fired;            /* interrupts raised */
};

struct hpet {
	pthread_mutex_t lock;
	pthread_cond_t cond;       /* CLOCK_MONOTONIC */
	pthread_t thread;
	bool stop;
	int vm_fd;
	uint64_t config, isr;
	uint64_t cnt_base, ns_base; /* counter = cnt_base + (now - ns_base) / tick */
	bool frozen;                /* the VM is paused: counter held, nothing fires */
	struct hpet_timer timer[HPET_TIMERS];
	uint64_t irq_errors;
};

/* The device with its timer thread, raising interrupts on vm_fd. */
int vmm_hpet_create(int vm_fd, struct hpet **out);
void vmm_hpet_destroy(struct hpet *h);
/* One MMIO access at off (4 or 8 bytes, aligned); -EINVAL otherwise. */
int vmm_hpet_access(struct hpet *h, uint64_t off, uint8_t *data, int len, bool is_write);
uint64_t vmm_hpet_counter(const struct hpet *h, uint64_t now_ns);
/* KVM_IRQ_LINE on the VM fd; a failure is counted and logged once. */
void vmm_hpet_set_line(struct hpet *h, int gsi, int level);
/* The KVM GSI timer i interrupts on now (legacy route or its route field). */
int vmm_hpet_gsi(const struct hpet *h, int i);

#endif
