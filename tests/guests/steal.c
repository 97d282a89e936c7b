/* steal - a guest that keeps its own KVM steal-time area, as Linux does:
 * it writes MSR_KVM_STEAL_TIME with the address of an area of its own, makes
 * N exits (each entry back into the guest is one KVM update of the area),
 * then with ms=M spins M milliseconds more (its thread busy in the guest:
 * each time it is scheduled back in, KVM updates the area), and reports the
 * area's version; with off=1 it turns the area off again (the MSR written
 * with 0) before it ends.
 * Parameters: n=N exits (default 200), ms=M (default 0), off=0|1.
 * Result: version (changes KVM made to the guest's area) ok. */
#include "guest.h"

#define MSR_KVM_STEAL_TIME 0x4b564d03u
#define DUMMY_PORT 0x80   /* POST codes: no device, an exit to the monitor */

struct steal_time {
	volatile u64 steal;
	volatile u32 version;
	u32 flags;
	u8 preempted;
	u8 pad[47];
} __attribute__((aligned(64)));

static struct steal_time area;

static void wrmsr(u32 msr, u64 v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((u32)v), "d"((u32)(v >> 32)) : "memory");
}

int main(const char *cmdline)
{
	int bad = 0;
	u64 n = param_u64(cmdline, "n", 200, &bad), off = param_u64(cmdline, "off", 0, &bad);
	u64 ms = param_u64(cmdline, "ms", 0, &bad), t0;
	u32 version;

	if (bad || off > 1) {
		gprintf("AVMM-RESULT guest=steal ok=0 error=bad-parameter\n");
		return 1;
	}
	if (ms && !tsc_hz(cmdline)) {
		gprintf("AVMM-RESULT guest=steal ok=0 error=ms-needs-tsc_hz\n");
		return 1;
	}
	wrmsr(MSR_KVM_STEAL_TIME, (u64)(uintptr_t)&area | 1);
	for (u64 i = 0; i < n; i++)
		outb(DUMMY_PORT, (u8)i);
	for (t0 = rdtsc(); ms && rdtsc() - t0 < muldiv64(ms, tsc_hz_cached(), 1000);)
		;
	version = area.version;
	if (off)
		wrmsr(MSR_KVM_STEAL_TIME, 0);
	gprintf("AVMM-RESULT guest=steal version=%u ok=%d\n", version, version > 0);
	return version > 0 ? 0 : 1;
}
