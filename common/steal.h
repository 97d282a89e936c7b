/*
 * A vCPU thread's run delay without a system call: KVM's steal-time area
 * (MSR_KVM_STEAL_TIME, Documentation/virt/kvm/x86/msr.rst). Each time a vCPU
 * thread is scheduled back in, KVM adds the time it waited for a CPU (its
 * schedstat run delay) to `steal_ns` of the vCPU's area before it enters
 * the guest. avmm points each vCPU's MSR at an area of its own (vmm-core/
 * steal.c: one page, a memfd, outside guest RAM), so that the loop (and
 * the node agent, which maps the same memfd) can look at the run delay of
 * every vCPU by reading memory. A guest that keeps its own area (Linux with
 * steal-time accounting) takes the MSR over: avmm then marks its area
 * `guest_area` and notes where the guest's area is in the VM process's
 * memory (`guest_hva`, in guest RAM), where KVM now adds the run delay. A
 * quiet look reads it there (util_steal_read_any: guest memory, which the
 * guest can write too, so it only ever brings a full sample); full samples
 * go back to schedstat.
 */
#ifndef AVMM_COMMON_STEAL_H
#define AVMM_COMMON_STEAL_H

#include <stdbool.h>
#include <stdint.h>

#define UTIL_STEAL_MSR       0x4b564d03u   /* MSR_KVM_STEAL_TIME */
#define UTIL_STEAL_ENABLE    1ull          /* KVM_MSR_ENABLED */
#define UTIL_STEAL_AREA_BYTES 64           /* the MSR's alignment */
#define UTIL_STEAL_PAGE_BYTES 4096         /* the page of them (64 vCPUs) */

/* KVM's struct kvm_steal_time, and in its padding (which KVM leaves alone)
 * avmm's own notes. */
struct util_steal_area {
	uint64_t steal_ns;      /* written by KVM */
	uint32_t version;       /* odd while KVM writes */
	uint32_t flags;
	uint8_t preempted;
	uint8_t pad[31];
	uint64_t guest_hva;     /* avmm: the guest's own area in the VM process, 0: unknown */
	uint32_t pad2;
	uint32_t guest_area;    /* avmm: 1 while the guest's own area is in use */
};
_Static_assert(sizeof(struct util_steal_area) == UTIL_STEAL_AREA_BYTES,
	       "the steal-time area is 64 bytes");

/* Any steal-time area's run delay (avmm's or a guest's), consistent: read
 * between two equal, even versions; false: KVM was writing twice in a row. */
static inline bool util_steal_read_any(const volatile struct util_steal_area *a,
				       uint64_t *steal_ns)
{
	for (int tries = 0; tries < 2; tries++) {
		uint32_t v0 = __atomic_load_n(&a->version, __ATOMIC_ACQUIRE);
		uint64_t ns = __atomic_load_n(&a->steal_ns, __ATOMIC_RELAXED);

		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (!(v0 & 1) && __atomic_load_n(&a->version, __ATOMIC_RELAXED) == v0) {
			*steal_ns = ns;
			return true;
		}
	}
	return false;
}

/* avmm's area's run delay into *steal_ns; false: none to read (no area, the
 * guest's own area is in use, or KVM was writing). */
static inline bool util_steal_read(const volatile struct util_steal_area *a, uint64_t *steal_ns)
{
	return a && !__atomic_load_n(&a->guest_area, __ATOMIC_ACQUIRE) &&
	       util_steal_read_any(a, steal_ns);
}

/* Where the guest's own area is in the VM process's memory while it is in
 * use (avmm writes guest_hva before it sets guest_area), else 0. */
static inline uint64_t util_steal_guest_hva(const volatile struct util_steal_area *a)
{
	return a && __atomic_load_n(&a->guest_area, __ATOMIC_ACQUIRE) ?
	       __atomic_load_n(&a->guest_hva, __ATOMIC_RELAXED) : 0;
}

#endif
