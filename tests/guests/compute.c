/* compute - pure ALU loop (integer multiply-add and xorshift in registers).
 * n= iterations (default 90000, ~0.5 s under emulation), or secs= (run until that much TSC time has
 * passed; needs the TSC rate). The loop runs in chunks of 1024 iterations and
 * reports the fastest and slowest chunk, which shows host noise (preemption).
 * ms= is the same in milliseconds (secs= and ms= add up). every_ms= (0: off)
 * prints a progress line "compute: t_ms=T ops_per_s=R" every that many ms
 * of TSC time, R over the last interval (needs the TSC rate), so a host can
 * see the throughput change while the guest runs (make demo).
 * Result: iterations, cycles, cycles_per_iter, ops_per_s (iterations per second,
 * when the TSC rate is known), chunk_min_cycles and chunk_max_cycles (when at
 * least one full chunk ran), checksum. secs= without a known TSC rate: ok=0,
 * error=secs-needs-tsc_hz, exit code 1. */
#include "guest.h"

#define CHUNK 1024u

static u32 chunk(u32 *state, u32 iters)
{
	u32 x = *state, acc = 0, i;

	for (i = 0; i < iters; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		acc = acc * 33u + x;
	}
	*state = x;
	return acc;
}

int main(const char *cmdline)
{
	int bad = 0;
	u64 n = param_u64(cmdline, "n", 90000, &bad);
	u64 secs = param_u64(cmdline, "secs", 0, &bad);
	u64 ms = param_u64(cmdline, "ms", 0, &bad);
	u64 every_ms = param_u64(cmdline, "every_ms", 0, &bad);
	u64 done = 0, t0, t1, c0, c, cmin = ~0ull, cmax = 0, deadline = 0;
	u64 every = 0, last_t, last_done = 0;
	u32 state = 2463534242u, sum = 0, step;
	char hz[32], r[48] = "", b[32], ch[80] = "";

	if (bad)
		guest_fail("compute", "bad-parameter");
	tsc_hz(cmdline);
	if (secs || ms) {
		if (!tsc_hz_cached())
			guest_fail("compute", "secs-needs-tsc_hz");
		deadline = muldiv64(secs * 1000 + ms, tsc_hz_cached(), 1000);
	}
	if (every_ms) {
		if (!tsc_hz_cached())
			guest_fail("compute", "every_ms-needs-tsc_hz");
		every = muldiv64(every_ms, tsc_hz_cached(), 1000);
	}
	t0 = rdtsc();
	last_t = t0;
	for (;;) {
		if (deadline) {
			if (rdtsc() - t0 >= deadline)
				break;
			step = CHUNK;
		} else {
			if (done >= n)
				break;
			step = n - done < CHUNK ? (u32)(n - done) : CHUNK;
		}
		c0 = rdtsc();
		sum += chunk(&state, step);
		c = rdtsc() - c0;
		if (step == CHUNK) {
			if (c < cmin)
				cmin = c;
			if (c > cmax)
				cmax = c;
		}
		done += step;
		if (every && c0 + c - last_t >= every) {
			u64 now = c0 + c;

			gprintf("compute: t_ms=%llu ops_per_s=%llu\n",
				muldiv64(now - t0, 1000, tsc_hz_cached()),
				muldiv64(done - last_done, tsc_hz_cached(), now - last_t));
			last_t = now;
			last_done = done;
		}
	}
	t1 = rdtsc();
	/* Chunk figures only when a full chunk ran (never a made-up 0). */
	if (cmax)
		gsnprintf(ch, sizeof(ch), " chunk_min_cycles=%llu chunk_max_cycles=%llu", cmin, cmax);
	if (tsc_hz_cached())
		gsnprintf(r, sizeof(r), " ops_per_s=%llu", muldiv64(done, tsc_hz_cached(), t1 - t0));
	gprintf("compute: %llu iterations in %llu cycles\n", done, t1 - t0);
	gprintf("AVMM-RESULT guest=compute iterations=%llu cycles=%llu cycles_per_iter=%s%s%s "
		"checksum=0x%x %s ok=1\n",
		done, t1 - t0, fmt_ratio(b, t1 - t0, done), r, ch, sum, fmt_tsc_hz(hz));
	return 0;
}
