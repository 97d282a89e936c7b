/* tsc.c - TSC rate calibrated against PIT channel 2 over ~10 ms.
 *
 * Gate of channel 2 on (port 0x61 bit 0, speaker bit 1 off), mode 0 with a count
 * of 11932 (10 ms at 1.193182 MHz); OUT2 (port 0x61 bit 5) goes high at terminal
 * count. Sanity checks first, so a monitor without a PIT fails fast (tsc_hz =
 * unknown) instead of hanging: OUT2 must read low after programming and the
 * latched count must decrease. */
#include "guest.h"

#define PIT_HZ 1193182u
#define PIT_CAL_MS 10u
#define PIT_LATCH (PIT_HZ * PIT_CAL_MS / 1000u)
#define POLL_MAX 2000000u

static u64 hz_cache;
static int hz_done;

static u16 pit2_read_count(void)
{
	u8 lo, hi;

	outb(0x43, 0x80); /* latch channel 2 */
	lo = inb(0x42);
	hi = inb(0x42);
	return (u16)(lo | (hi << 8));
}

static u64 pit_calibrate(void)
{
	u64 t0, t1;
	u16 c1, c2;
	u32 polls = 0;
	int i;

	outb(0x61, (u8)((inb(0x61) & ~0x02) | 0x01));
	outb(0x43, 0xb0); /* channel 2, lobyte/hibyte, mode 0, binary */
	outb(0x42, PIT_LATCH & 0xff);
	outb(0x42, PIT_LATCH >> 8);
	t0 = rdtsc();
	if (inb(0x61) & 0x20)
		return 0; /* OUT2 already high: no PIT (or no port 0x61) */
	c1 = pit2_read_count();
	for (i = 0; i < 8; i++)
		(void)inb(0x61);
	c2 = pit2_read_count();
	if (c1 > PIT_LATCH || c2 >= c1)
		return 0; /* not counting down */
	while (!(inb(0x61) & 0x20))
		if (++polls > POLL_MAX)
			return 0;
	t1 = rdtsc();
	return (t1 - t0) * (1000u / PIT_CAL_MS);
}

u64 tsc_hz(const char *cmdline)
{
	int bad = 0;
	u64 v;

	if (hz_done)
		return hz_cache;
	hz_done = 1;
	v = param_u64(cmdline, "tsc_hz", 0, &bad);
	if (v && !bad) {
		hz_cache = v;
		return v;
	}
	if (param_present(cmdline, "calib") && param_u64(cmdline, "calib", 1, NULL) == 0)
		return 0;
	v = pit_calibrate();
	/* Plausible TSC rates only: 100 MHz .. 20 GHz. */
	if (v < 100000000ull || v > 20000000000ull)
		v = 0;
	hz_cache = v;
	return v;
}

u64 tsc_hz_cached(void) { return hz_cache; }

u64 cycles_to_ns(u64 cycles)
{
	if (!hz_cache)
		return 0;
	return muldiv64(cycles, 1000000000u, hz_cache);
}

const char *fmt_tsc_hz(char buf[32])
{
	if (hz_cache)
		gsnprintf(buf, 32, "tsc_hz=%llu", hz_cache);
	else
		gsnprintf(buf, 32, "tsc_hz=unknown");
	return buf;
}

void udelay_tsc(u64 us)
{
	u64 end;
	u32 i;

	if (!hz_cache) {
		/* No rate known: each port read takes at least ~1 us (an exit). */
		for (i = 0; i < us; i++)
			(void)inb(0x80);
		return;
	}
	end = rdtsc() + muldiv64(us, hz_cache, 1000000u);
	while ((s64)(rdtsc() - end) < 0)
		cpu_relax();
}
