/* tsc.c - TSC rate calibrated against PIT channel 2.
 *
 * Channel 2 is gated on (port 0x61 bit 0, speaker bit 1 off) and counts down from
 * 0xFFFF in mode 0 (55 ms before it wraps). A sample is (rdtsc, latched count,
 * rdtsc); of 5 samples the one with the narrowest TSC bracket is kept, so a
 * sample taken across a host preemption is discarded. Two samples ~10 ms of PIT
 * ticks apart give Hz = tsc_delta * 1193182 / count_delta. Three such runs, the
 * median is taken. A monitor without a PIT is detected fast (the count does not
 * go down) and the rate is then unknown (0). */
#include "guest.h"

#define PIT_HZ 1193182u
#define PIT_WINDOW (PIT_HZ / 100u) /* 10 ms of PIT ticks */
#define POLL_MAX 200000u
#define RUNS 3

static u64 hz_cache;
static int hz_done;

struct pit_sample {
	u64 tsc;   /* middle of the bracket */
	u64 width; /* bracket width in TSC cycles */
	u16 count;
};

static u16 pit2_read_count(void)
{
	u8 lo, hi;

	outb(0x43, 0x80); /* latch channel 2 */
	lo = inb(0x42);
	hi = inb(0x42);
	return (u16)(lo | (hi << 8));
}

static struct pit_sample pit_sample_best(void)
{
	struct pit_sample best = { 0, ~0ull, 0 };
	int i;

	for (i = 0; i < 5; i++) {
		u64 a = rdtsc();
		u16 c = pit2_read_count();
		u64 b = rdtsc();

		if (b - a < best.width) {
			best.tsc = a + (b - a) / 2;
			best.width = b - a;
			best.count = c;
		}
	}
	return best;
}

static u64 pit_calibrate_once(void)
{
	struct pit_sample s0, s1;
	u32 polls = 0;
	u16 c;

	outb(0x61, (u8)((inb(0x61) & ~0x02) | 0x01));
	outb(0x43, 0xb0); /* channel 2, lobyte/hibyte, mode 0, binary */
	outb(0x42, 0xff);
	outb(0x42, 0xff);
	s0 = pit_sample_best();
	if (s0.count < PIT_WINDOW + 1000)
		return 0; /* no PIT: reads 0xFFFF forever, or nonsense */
	do {
		c = pit2_read_count();
		if (++polls > POLL_MAX || c > s0.count)
			return 0; /* not counting down, or wrapped */
		if (polls == 4 && c == s0.count)
			return 0; /* stuck: no PIT behind these ports */
	} while ((u16)(s0.count - c) < PIT_WINDOW);
	s1 = pit_sample_best();
	if (s1.count >= s0.count || s1.tsc <= s0.tsc)
		return 0;
	/* Reject runs where a bracket is wider than 2% of the interval. */
	if ((s0.width + s1.width) * 50 > s1.tsc - s0.tsc)
		return 0;
	return muldiv64(s1.tsc - s0.tsc, PIT_HZ, (u32)(s0.count - s1.count));
}

static u64 pit_calibrate(void)
{
	u64 v[RUNS], t;
	int n = 0, i, j;

	for (i = 0; i < RUNS; i++) {
		t = pit_calibrate_once();
		if (t)
			v[n++] = t;
		else if (i == 0)
			return 0; /* first run failed: most likely no PIT, do not insist */
	}
	if (!n)
		return 0;
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && v[j - 1] > v[j]; j--) {
			t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return v[n / 2];
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
