/* CMOS / RTC (MC146818) at ports 0x70 (index; bit 7 = NMI mask) and 0x71
 * (data): 128 bytes of NVRAM whose clock registers 0x00-0x09 and century
 * byte 0x32 are read from the host's clock (UTC) plus a guest offset, in BCD
 * or binary and 12- or 24-hour form as register B says. Writes to the clock
 * set that offset (never the host clock); with B.SET the clock is frozen and
 * the new time takes effect when SET clears. Register A's UIP bit is set in
 * the last 244 us of each second (so polling it never sticks), C reads as the
 * flags raised since it was last read and clears them, D says the battery is
 * good. The memory-size bytes are filled as QEMU does.
 * Interrupts (periodic, alarm, update-ended) are not raised on IRQ 8: their
 * flags show in register C for guests that poll it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "vmm-core/pc.h"
#include "vmm-core/pcdev.h"
#include "vmm-core/vmm_internal.h"

enum {
	REG_SEC = 0x00, REG_SEC_ALARM, REG_MIN, REG_MIN_ALARM, REG_HOUR, REG_HOUR_ALARM,
	REG_WDAY, REG_MDAY, REG_MON, REG_YEAR, REG_A, REG_B, REG_C, REG_D,
	REG_CENTURY = 0x32,
};
#define A_UIP 0x80
#define B_SET 0x80
#define B_PIE 0x40
#define B_24H 0x02
#define C_IRQF 0x80
#define C_PF 0x40
#define C_AF 0x20
#define C_UF 0x10
#define D_VRT 0x80
#define UIP_NS 244000ull
#define NS 1000000000ll

struct rtc {
	pthread_mutex_t lock;
	uint8_t index, nmi_mask;
	uint8_t cmos[128];
	int64_t offset_s;      /* guest time - host time */
	struct tm held;        /* the frozen clock while B.SET */
	int64_t c_read_ns;     /* host realtime of the last register C read */
};

static bool is_clock(int reg)
{
	return reg == REG_SEC || reg == REG_MIN || reg == REG_HOUR || (reg >= REG_WDAY &&
	       reg <= REG_YEAR) || reg == REG_CENTURY;
}

static int64_t host_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

static void guest_tm(const struct rtc *r, int64_t now_ns, struct tm *tm)
{
	time_t t = (time_t)(now_ns / NS + r->offset_s);

	gmtime_r(&t, tm);
}

/* Flags of register C raised between the last read of C and now. */
static uint8_t flags_since(struct rtc *r, int64_t now_ns)
{
	uint8_t b = r->cmos[REG_B], a = r->cmos[REG_A], flags = 0;
	int64_t last = r->c_read_ns;
	unsigned rs = a & 0x0f;
	struct tm tm;

	if (b & B_SET)
		return 0;
	if (now_ns / NS != last / NS)
		flags |= C_UF;
	if (rs) {
		/* 32768 >> (rs - 1) Hz; rs 1 and 2 are 256 and 128 Hz */
		int64_t period_ns = (NS << (rs < 3 ? rs + 6 : rs - 1)) / 32768;

		if (now_ns / period_ns != last / period_ns)
			flags |= C_PF;
	}
	guest_tm(r, now_ns, &tm);
	if ((flags & C_UF) &&
	    (r->cmos[REG_SEC_ALARM] >= 0xc0 || r->cmos[REG_SEC_ALARM] == vmm_rtc_encode(&tm, REG_SEC, b)) &&
	    (r->cmos[REG_MIN_ALARM] >= 0xc0 || r->cmos[REG_MIN_ALARM] == vmm_rtc_encode(&tm, REG_MIN, b)) &&
	    (r->cmos[REG_HOUR_ALARM] >= 0xc0 || r->cmos[REG_HOUR_ALARM] == vmm_rtc_encode(&tm, REG_HOUR, b)))
		flags |= C_AF;
	if (flags & b & 0x70)
		flags |= C_IRQF;   /* a flag whose interrupt is enabled */
	return flags;
}

static uint8_t rtc_read(struct rtc *r, int reg)
{
	int64_t now = host_now_ns();
	struct tm tm;
	uint8_t v;

	if (is_clock(reg)) {
		if (r->cmos[REG_B] & B_SET)
			tm = r->held;
		else
			guest_tm(r, now, &tm);
		return vmm_rtc_encode(&tm, reg, r->cmos[REG_B]);
	}
	switch (reg) {
	case REG_A:
		v = r->cmos[REG_A] & 0x7f;
		if (!(r->cmos[REG_B] & B_SET) && (uint64_t)(now % NS) >= NS - UIP_NS)
			v |= A_UIP;
		return v;
	case REG_C:
		v = r->cmos[REG_C] | flags_since(r, now);
		r->cmos[REG_C] = 0;
		r->c_read_ns = now;
		return v;
	case REG_D:
		return D_VRT;
	default:
		return r->cmos[reg];
	}
}

static void set_offset(struct rtc *r, struct tm *tm)
{
	r->offset_s = (int64_t)timegm(tm) - host_now_ns() / NS;
}

static void rtc_write(struct rtc *r, int reg, uint8_t val)
{
	struct tm tm;

	if (is_clock(reg)) {
		if (r->cmos[REG_B] & B_SET) {
			vmm_rtc_decode(&r->held, reg, val, r->cmos[REG_B]);
		} else {
			guest_tm(r, host_now_ns(), &tm);
			vmm_rtc_decode(&tm, reg, val, r->cmos[REG_B]);
			set_offset(r, &tm);
		}
		return;
	}
	switch (reg) {
	case REG_A:
		r->cmos[REG_A] = val & 0x7f;    /* UIP is read-only */
		break;
	case REG_B:
		if ((val & B_SET) && !(r->cmos[REG_B] & B_SET))
			guest_tm(r, host_now_ns(), &r->held);
		else if (!(val & B_SET) && (r->cmos[REG_B] & B_SET))
			set_offset(r, &r->held);
		r->cmos[REG_B] = val;
		break;
	case REG_C:
	case REG_D:
		break;                          /* read-only */
	default:
		r->cmos[reg] = val;
	}
}

static int rtc_pio(struct vmm_vcpu *v, void *state, uint16_t off, uint8_t *data, int size,
		   bool is_write)
{
	struct rtc *r = state;

	pthread_mutex_lock(&r->lock);
	if (off == 0) {
		if (is_write) {
			r->index = data[0] & 0x7f;
			r->nmi_mask = data[0] & 0x80;
		} else {
			data[0] = 0xff;         /* the index port is write-only */
		}
	} else if (is_write) {
		rtc_write(r, r->index, data[0]);
	} else {
		data[0] = rtc_read(r, r->index);
	}
	pthread_mutex_unlock(&r->lock);
	if (!is_write && size > 1)
		memset(data + 1, 0xff, (size_t)size - 1);
	return 0;
}

/* Base, extended and high memory sizes, as QEMU's pc_cmos_init writes them. */
static void memory_bytes(uint8_t *cmos, uint64_t mem_bytes)
{
	uint64_t below = UTIL_MIN(mem_bytes, VMM_MMIO_HOLE_GPA), above = mem_bytes - below;
	uint64_t v;

	v = UTIL_MIN(below >> 10, 640);
	cmos[0x15] = (uint8_t)v;
	cmos[0x16] = (uint8_t)(v >> 8);
	v = below > (1ull << 20) ? UTIL_MIN((below - (1ull << 20)) >> 10, 65535) : 0;
	cmos[0x17] = cmos[0x30] = (uint8_t)v;
	cmos[0x18] = cmos[0x31] = (uint8_t)(v >> 8);
	v = below > (16ull << 20) ? UTIL_MIN((below - (16ull << 20)) >> 16, 65535) : 0;
	cmos[0x34] = (uint8_t)v;
	cmos[0x35] = (uint8_t)(v >> 8);
	v = above >> 16;
	cmos[0x5b] = (uint8_t)v;
	cmos[0x5c] = (uint8_t)(v >> 8);
	cmos[0x5d] = (uint8_t)(v >> 16);
}

static int rtc_init(struct vmm *vm, const struct vmm_config *cfg, void **state)
{
	struct rtc *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	pthread_mutex_init(&r->lock, NULL);
	r->cmos[REG_A] = 0x26;           /* 32.768 kHz divider, 1024 Hz periodic rate */
	r->cmos[REG_B] = B_24H;          /* BCD, 24-hour, no interrupts */
	r->cmos[REG_D] = D_VRT;
	memory_bytes(r->cmos, cfg->mem_bytes);
	r->c_read_ns = host_now_ns();
	*state = r;
	return 0;
}

static void rtc_exit(struct vmm *vm, void *state)
{
	struct rtc *r = state;

	pthread_mutex_destroy(&r->lock);
	free(r);
}

struct rtc_snap { uint8_t index, nmi_mask, cmos[128]; int64_t offset_s; struct tm held; };

static int rtc_save(void *state, uint8_t *buf, size_t len)
{
	struct rtc *r = state;
	struct rtc_snap s;

	memset(&s, 0, sizeof(s));
	pthread_mutex_lock(&r->lock);
	s.index = r->index, s.nmi_mask = r->nmi_mask, s.offset_s = r->offset_s, s.held = r->held;
	memcpy(s.cmos, r->cmos, sizeof(s.cmos));
	pthread_mutex_unlock(&r->lock);
	return VMM_DEV_SAVE(buf, len, s);
}

static int rtc_restore(void *state, const uint8_t *buf, size_t len)
{
	struct rtc *r = state;
	struct rtc_snap s;
	int rc = VMM_DEV_LOAD(buf, len, s);

	if (rc)
		return rc;
	pthread_mutex_lock(&r->lock);
	r->index = s.index, r->nmi_mask = s.nmi_mask, r->offset_s = s.offset_s, r->held = s.held;
	memcpy(r->cmos, s.cmos, sizeof(s.cmos));
	pthread_mutex_unlock(&r->lock);
	return 0;
}

const struct vmm_dev vmm_dev_rtc = {
	.name = "rtc", .port = PC_RTC_PORT, .nr_ports = 2,
	.init = rtc_init, .exit = rtc_exit, .pio = rtc_pio,
	.save = rtc_save, .restore = rtc_restore,
};

int vmm_rtc_shutdown_status(struct vmm *vm)
{
	struct vmm_bus *b = &vm->bus;
	struct rtc *r;
	int v;

	for (int i = 0; i < b->nr; i++) {
		if (b->dev[i] != &vmm_dev_rtc)
			continue;
		r = b->state[i];
		pthread_mutex_lock(&r->lock);
		v = r->cmos[VMM_CMOS_SHUTDOWN];
		pthread_mutex_unlock(&r->lock);
		return v;
	}
	return -ENOENT;
}
