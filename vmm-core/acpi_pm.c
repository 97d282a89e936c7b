/* ACPI PM block (PIIX4 layout at PC_PM_BASE, 64 ports): PM1a event block
 * (status, write 1 to clear; enable), PM1a control (SCI_EN always reads as
 * set: there is no SMI command port, the machine is always in ACPI mode;
 * SLP_EN with SLP_TYP PC_PM_SLP_TYP_S5 powers the VM off), the 24-bit PM
 * timer at 3.579545 MHz from CLOCK_MONOTONIC, a GPE0 block that reads 0.
 * TMR_STS is set when the timer's bit 23 has toggled since status was
 * cleared; no SCI is raised (the enable bits are kept, not acted on). Other
 * sleep states are logged once and ignored. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "vmm-core/pc.h"
#include "vmm-core/pcdev.h"
#include "vmm-core/vmm_internal.h"

#define PM_PORTS        0x40
#define OFF_STS         (PC_PM1A_EVT - PC_PM_BASE)
#define OFF_EN          (OFF_STS + 2)
#define OFF_CNT         (PC_PM1A_CNT - PC_PM_BASE)
#define OFF_TMR         (PC_PM_TMR - PC_PM_BASE)
#define OFF_GPE0        (PC_GPE0_BLK - PC_PM_BASE)
#define STS_TMR         0x0001
#define STS_WRITABLE    0x8f31  /* WAK, RTC, SLPBTN, PWRBTN, GBL, BM, TMR */
#define EN_WRITABLE     0x0721
#define CNT_SCI_EN      0x0001
#define CNT_SLP_TYP(v)  (((v) >> 10) & 7)
#define CNT_SLP_EN      0x2000

struct pm {
	pthread_mutex_t lock;
	uint16_t sts, en, cnt;
	uint64_t start_ns;
	uint64_t paused_at_ns;   /* the VM is paused (0: runs): the timer holds */
	uint32_t tmr_seen;       /* bit 23 epoch (ticks >> 23) at the last status clear */
	bool warned_sleep;
};

uint32_t vmm_pm_timer_ticks(uint64_t ns)
{
	return (uint32_t)((unsigned __int128)ns * PC_PM_TMR_HZ / 1000000000u) & 0xffffff;
}

/* The timer's time: held while the VM is paused. */
static uint64_t elapsed_ns(const struct pm *p)
{
	return (p->paused_at_ns ? p->paused_at_ns : util_now_ns()) - p->start_ns;
}

static uint64_t ticks_since_start(const struct pm *p)
{
	return (uint64_t)((unsigned __int128)elapsed_ns(p) * PC_PM_TMR_HZ / 1000000000u);
}

static uint16_t status(struct pm *p)
{
	if ((uint32_t)(ticks_since_start(p) >> 23) != p->tmr_seen)
		p->sts |= STS_TMR;
	return p->sts;
}

static uint16_t read16(struct pm *p, uint16_t off)
{
	switch (off) {
	case OFF_STS: return status(p);
	case OFF_EN: return p->en;
	case OFF_CNT: return p->cnt | CNT_SCI_EN;
	default: return 0;       /* GPE0 and the rest of the block */
	}
}

static int write_cnt(struct pm *p, struct vmm_vcpu *v, uint16_t val)
{
	unsigned typ = CNT_SLP_TYP(val);

	p->cnt = val & ~CNT_SLP_EN;
	if (!(val & CNT_SLP_EN))
		return 0;
	if (typ == PC_PM_SLP_TYP_S5) {
		vmm_end(v->vm, VMM_END_POWEROFF, 0, "vcpu%d: guest powered off through ACPI "
			"(PM1a control 0x%x: SLP_EN, SLP_TYP %u = S5)", v->idx, val, typ);
		return 1;
	}
	if (!p->warned_sleep) {
		p->warned_sleep = true;
		util_warn("vcpu%d: the guest asked for ACPI sleep type %u (PM1a control 0x%x): "
			  "avmm powers off only on S5 (type %u); sleeping states such as S3 are "
			  "not emulated, the guest continues (logged once)", v->idx, typ, val,
			  PC_PM_SLP_TYP_S5);
	}
	return 0;
}

static int write16(struct pm *p, struct vmm_vcpu *v, uint16_t off, uint16_t val)
{
	switch (off) {
	case OFF_STS:
		if (val & STS_TMR)
			p->tmr_seen = (uint32_t)(ticks_since_start(p) >> 23);
		p->sts &= (uint16_t)~(val & STS_WRITABLE);
		return 0;
	case OFF_EN: p->en = val & EN_WRITABLE; return 0;
	case OFF_CNT: return write_cnt(p, v, val);
	default: return 0;
	}
}

/* Writes size bytes at off, one 16-bit register at a time; the bytes not
 * written keep their value (status: are not cleared). */
static int write_bytes(struct pm *p, struct vmm_vcpu *v, uint16_t off, uint32_t val, int size)
{
	int i = 0, rc = 0;

	while (i < size && !rc) {
		uint16_t reg = (uint16_t)((off + i) & ~1u), mask = 0, part = 0;

		for (; i < size && ((off + i) & ~1u) == reg; i++) {
			int shift = 8 * ((off + i) & 1);

			mask |= (uint16_t)(0xff << shift);
			part |= (uint16_t)(((val >> (8 * i)) & 0xff) << shift);
		}
		rc = write16(p, v, reg, reg == OFF_STS ? part : (uint16_t)((read16(p, reg) & ~mask) | part));
	}
	return rc;
}

static int pm_pio(struct vmm_vcpu *v, void *state, uint16_t off, uint8_t *data, int size,
		  bool is_write)
{
	struct pm *p = state;
	uint32_t val = 0;
	int rc = 0;

	if (is_write)
		memcpy(&val, data, (size_t)size);
	pthread_mutex_lock(&p->lock);
	if (off >= OFF_TMR && off < OFF_TMR + 4) {
		/* the timer is read-only; a narrow read takes its bytes */
		if (!is_write)
			val = vmm_pm_timer_ticks(elapsed_ns(p)) >> (8 * (off - OFF_TMR));
	} else if (is_write) {
		rc = write_bytes(p, v, off, val, size);
	} else {
		for (int i = 0; i < size; i++)
			val |= (uint32_t)(read16(p, (uint16_t)((off + i) & ~1u)) >>
					  (8 * ((off + i) & 1)) & 0xff) << (8 * i);
	}
	pthread_mutex_unlock(&p->lock);
	if (!is_write)
		memcpy(data, &val, (size_t)size);
	return rc;
}

static int pm_init(struct vmm *vm, const struct vmm_config *cfg, void **state)
{
	struct pm *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	p->start_ns = util_now_ns();
	*state = p;
	return 0;
}

static void pm_exit(struct vmm *vm, void *state)
{
	struct pm *p = state;

	pthread_mutex_destroy(&p->lock);
	free(p);
}

struct pm_snap { uint16_t sts, en, cnt; uint32_t tmr_seen; uint64_t elapsed_ns; };

static int pm_save(void *state, uint8_t *buf, size_t len)
{
	struct pm *p = state;
	struct pm_snap s;

	memset(&s, 0, sizeof(s));
	pthread_mutex_lock(&p->lock);
	s.sts = p->sts, s.en = p->en, s.cnt = p->cnt, s.tmr_seen = p->tmr_seen;
	s.elapsed_ns = elapsed_ns(p);
	pthread_mutex_unlock(&p->lock);
	return VMM_DEV_SAVE(buf, len, s);
}

/* The PM timer counts on from where it was saved. */
static int pm_restore(void *state, const uint8_t *buf, size_t len)
{
	struct pm *p = state;
	struct pm_snap s;
	int rc = VMM_DEV_LOAD(buf, len, s);

	if (rc)
		return rc;
	pthread_mutex_lock(&p->lock);
	p->sts = s.sts, p->en = s.en, p->cnt = s.cnt, p->tmr_seen = s.tmr_seen;
	p->start_ns = util_now_ns() - s.elapsed_ns;
	pthread_mutex_unlock(&p->lock);
	return 0;
}

static void pm_pause(void *state)
{
	struct pm *p = state;

	pthread_mutex_lock(&p->lock);
	p->paused_at_ns = util_now_ns();
	pthread_mutex_unlock(&p->lock);
}

static void pm_resume(void *state)
{
	struct pm *p = state;

	pthread_mutex_lock(&p->lock);
	if (p->paused_at_ns)
		p->start_ns += util_now_ns() - p->paused_at_ns;
	p->paused_at_ns = 0;
	pthread_mutex_unlock(&p->lock);
}

const struct vmm_dev vmm_dev_acpi_pm = {
	.name = "acpi-pm", .port = PC_PM_BASE, .nr_ports = PM_PORTS,
	.init = pm_init, .exit = pm_exit, .pio = pm_pio,
	.save = pm_save, .restore = pm_restore,
	.pause = pm_pause, .resume = pm_resume,
};
