/*
 * Written-page tracking, reading the pages: KVM's per-vCPU dirty ring, or the
 * slots' dirty bitmap where the host has no ring (vmm_dirty_harvest), and a
 * vCPU's full ring (vmm_dirty_ring_full). Choosing the mode and setting the
 * rings up is in dirty_setup.c. See vmm.h for the contract.
 *
 * Ring protocol (KVM api.rst, KVM_CAP_DIRTY_LOG_RING): KVM publishes an entry
 * {slot, offset} by setting KVM_DIRTY_GFN_F_DIRTY in its flags (release); we
 * read the flags with acquire, take the page, and hand the entry back with a
 * release store of KVM_DIRTY_GFN_F_RESET; KVM_RESET_DIRTY_RINGS (VM-wide) then
 * recycles every handed-back entry and write-protects those pages again, so
 * their next write is logged again. Entries are read in ring order from our
 * own fetch index. All reading, pending sets and resets run under one lock:
 * the harvester (the loop's thread) and a vCPU thread whose ring is full.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "common/util.h"
#include "vmm-core/vmm_internal.h"

#define PAGE_SHIFT_4K 12

static void tap_pfn(struct vmm_dirty *d, uint64_t pfn)
{
	if (d->tap && pfn < d->tap_bits)
		d->tap[pfn / 64] |= 1ull << (pfn & 63);
}

/* Sets bit pfn; counts it in *added when it was clear. */
static void set_pfn(uint64_t *set, uint64_t pfn, uint64_t *added)
{
	uint64_t bit = 1ull << (pfn & 63);

	if (!(set[pfn / 64] & bit)) {
		set[pfn / 64] |= bit;
		(*added)++;
	}
}

/* Takes one published entry's page into set and hands the entry back. */
static void take_entry(struct vmm *vm, struct kvm_dirty_gfn *e, uint64_t *set, uint64_t bits,
		       uint64_t *added)
{
	uint32_t as_id = e->slot >> 16, id = e->slot & 0xffff;
	uint64_t pfn;

	if (as_id || (int)id >= vm->mem.nr || e->offset >= vm->mem.r[id].bytes >> PAGE_SHIFT_4K ||
	    (pfn = (vm->mem.r[id].gpa >> PAGE_SHIFT_4K) + e->offset) >= bits)
		vm->dirty.foreign++;
	else
		set_pfn(set, pfn, added), tap_pfn(&vm->dirty, pfn);
	__atomic_store_n(&e->flags, KVM_DIRTY_GFN_F_RESET, __ATOMIC_RELEASE);
	vm->dirty.entries_read++;
}

static bool published(struct kvm_dirty_gfn *e)
{
	return __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE) & KVM_DIRTY_GFN_F_DIRTY;
}

/* Reads one ring up to the first entry KVM has not published (lock held). */
static uint64_t collect_ring(struct vmm *vm, struct vmm_dirty_vcpu *dv, uint64_t *set,
			     uint64_t bits, uint64_t *added)
{
	uint32_t mask = vm->dirty.entries - 1, n;

	for (n = 0; n < vm->dirty.entries && published(&dv->ring[dv->fetch & mask]); n++)
		take_entry(vm, &dv->ring[dv->fetch++ & mask], set, bits, added);
	return n;
}

/* Moves a vCPU's pending set (pages taken off its full ring) into set. */
static void take_pending(struct vmm_dirty *d, struct vmm_dirty_vcpu *dv, uint64_t *set,
			 uint64_t bits, uint64_t *added)
{
	uint64_t words = (bits + 63) / 64;

	if (!dv->pending_pages)
		return;
	for (uint64_t w = 0; w < words && w < dv->pending_bytes / 8; w++)
		if (dv->pending[w]) {
			if (d->tap && w < (d->tap_bits + 63) / 64)
				d->tap[w] |= dv->pending[w];
			*added += (uint64_t)__builtin_popcountll(dv->pending[w] & ~set[w]);
			set[w] |= dv->pending[w];
		}
	madvise(dv->pending, dv->pending_bytes, MADV_DONTNEED); /* zeroes, frees */
	dv->pending_pages = 0;
}

static int reset_rings(struct vmm *vm, const char *who)
{
	if (ioctl(vm->vm_fd, KVM_RESET_DIRTY_RINGS, 0) >= 0)
		return 0;
	util_err("%s: KVM_RESET_DIRTY_RINGS failed: %s", who, strerror(errno));
	return -errno;
}

/* BITMAP: KVM_GET_DIRTY_LOG on every slot (it also write-protects them again). */
static int read_bitmaps(struct vmm *vm, uint64_t *set, uint64_t bits, uint64_t *added)
{
	struct vmm_dirty *d = &vm->dirty;

	for (int i = 0; i < vm->mem.nr; i++) {
		uint64_t pages = vm->mem.r[i].bytes >> PAGE_SHIFT_4K, words = (pages + 63) / 64;
		uint64_t base = vm->mem.r[i].gpa >> PAGE_SHIFT_4K;
		struct kvm_dirty_log log = { .slot = (uint32_t)i };

		if (d->slot_buf_bytes < words * 8) {
			free(d->slot_buf);
			d->slot_buf = malloc(words * 8);
			d->slot_buf_bytes = d->slot_buf ? words * 8 : 0;
			if (!d->slot_buf)
				return -ENOMEM;
		}
		log.dirty_bitmap = d->slot_buf;
		if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0) {
			util_err("KVM_GET_DIRTY_LOG on slot %d: %s", i, strerror(errno));
			return -errno;
		}
		for (uint64_t w = 0; w < words; w++)
			for (uint64_t x = d->slot_buf[w]; x; x &= x - 1) {
				uint64_t pfn = base + w * 64 + (uint64_t)__builtin_ctzll(x);

				d->entries_read++;
				tap_pfn(d, pfn);
				if (pfn < bits)
					set_pfn(set, pfn, added);
			}
	}
	return 0;
}

int vmm_dirty_harvest(struct vmm *vm, int vcpu, uint64_t *set, uint64_t bits,
		      uint64_t *new_pages)
{
	struct vmm_dirty *d = &vm->dirty;
	uint64_t added = 0, read = 0;
	int rc = 0;

	if (d->mode == VMM_DIRTY_OFF)
		return -ENODATA;
	if (vcpu < -1 || vcpu >= vm->nr_vcpus || !set || bits < d->pfn_bits)
		return -EINVAL;
	if (vcpu >= 0 && d->mode != VMM_DIRTY_RING) {
		util_err("written pages of vcpu%d: this VM tracks them with the slots' bitmap, one "
			 "set for the whole VM: harvest vcpu -1", vcpu);
		return -EOPNOTSUPP;
	}
	pthread_mutex_lock(&d->lock);
	if (d->mode == VMM_DIRTY_RING) {
		int lo = vcpu < 0 ? 0 : vcpu, hi = vcpu < 0 ? vm->nr_vcpus : vcpu + 1;

		for (int i = lo; i < hi; i++) {
			read += collect_ring(vm, &d->v[i], set, bits, &added);
			take_pending(d, &d->v[i], set, bits, &added);
		}
		if (read)
			rc = reset_rings(vm, "harvesting written pages");
	} else {
		rc = read_bitmaps(vm, set, bits, &added);
	}
	if (!rc)
		d->harvests++;
	pthread_mutex_unlock(&d->lock);
	if (new_pages)
		*new_pages = added;
	return rc;
}

/*
 * A ring KVM wrote past its end. KVM should stop a vCPU at the soft limit
 * (size - 64); kvm_pvm's instruction emulator pushes one entry per emulated
 * write and can overshoot (the kernel warns once, dirty_ring.c "should never
 * get full"). The oldest entries are then overwritten and the ring wedges:
 * KVM counts it full, yet the slot where its reset stops is not ours to read.
 * Called on the vCPU's own thread (its ring is still) when a full-ring exit
 * found nothing at our fetch index: take every published entry wherever it
 * is; mark the run of empty slots from the fetch index up to the first
 * handed-back one (the overwritten entries: lost) as handed back; move the
 * fetch index past the handed-back run, where KVM writes next. Returns the
 * entries taken plus the lost ones (0: nothing to do, the ring is fine).
 */
static uint64_t resync_ring(struct vmm *vm, struct vmm_dirty_vcpu *dv)
{
	struct vmm_dirty *d = &vm->dirty;
	uint32_t mask = d->entries - 1, i, gap = 0;
	uint64_t taken = 0;
	bool any_reset = false;

	for (i = 0; i < d->entries; i++)
		if (published(&dv->ring[i])) {
			take_entry(vm, &dv->ring[i], dv->pending, d->pfn_bits, &dv->pending_pages);
			taken++;
		}
	for (i = 0; i < d->entries && !any_reset; i++)
		any_reset = dv->ring[i].flags & KVM_DIRTY_GFN_F_RESET;
	if (!any_reset)
		return 0;
	while (gap < d->entries && !(dv->ring[(dv->fetch + gap) & mask].flags &
				     KVM_DIRTY_GFN_F_RESET)) {
		__atomic_store_n(&dv->ring[(dv->fetch + gap) & mask].flags, KVM_DIRTY_GFN_F_RESET,
				 __ATOMIC_RELEASE);
		gap++;
	}
	for (i = 0; i < d->entries && (dv->ring[dv->fetch & mask].flags & KVM_DIRTY_GFN_F_RESET);
	     i++)
		dv->fetch++;
	d->lost += gap;
	d->overflows++;
	return taken + gap;
}

int vmm_dirty_ring_full(struct vmm_vcpu *v)
{
	struct vmm *vm = v->vm;
	struct vmm_dirty *d = &vm->dirty;
	struct vmm_dirty_vcpu *dv = &d->v[v->idx];
	uint64_t got, lost_before;
	char who[48];
	int rc = 0;

	atomic_fetch_add(&d->ring_full_exits, 1);
	if (d->mode != VMM_DIRTY_RING || !dv->ring) {
		vmm_end(vm, VMM_END_ERROR, 4, "vcpu%d: KVM_EXIT_DIRTY_RING_FULL without a dirty ring",
			v->idx);
		return 1;
	}
	snprintf(who, sizeof(who), "vcpu%d's full dirty ring", v->idx);
	pthread_mutex_lock(&d->lock);
	lost_before = d->lost;
	got = collect_ring(vm, dv, dv->pending, d->pfn_bits, &dv->pending_pages);
	if (!got)
		got = resync_ring(vm, dv);
	if (got)
		rc = reset_rings(vm, who);
	dv->empty_fulls = got ? 0 : dv->empty_fulls + 1;
	pthread_mutex_unlock(&d->lock);
	if (d->lost > lost_before && !atomic_exchange(&d->overflow_warned, true))
		util_warn("vcpu%d: KVM wrote past the end of its dirty ring (a host kernel bug: "
			  "kvm_pvm's instruction emulator does not stop at a full ring); %llu "
			  "written pages may be missing from the sets (vmm_dirty_info counts them); "
			  "harvest more often, or use the slots' bitmap", v->idx,
			  (unsigned long long)(d->lost - lost_before));
	if (rc || dv->empty_fulls > 1000) {
		vmm_end(vm, VMM_END_ERROR, 4, rc ? "%s could not be recycled (KVM_RESET_DIRTY_RINGS: %s)"
			: "%s stays full with nothing in it (%s): KVM's ring is corrupt; use the "
			"slots' bitmap on this host", who, rc ? strerror(-rc) : "1000 exits");
		return 1;
	}
	return 0;
}
