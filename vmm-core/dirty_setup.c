/*
 * Written-page tracking, its setup and report: choosing between KVM's
 * per-vCPU dirty ring and the slots' dirty bitmap (vmm_dirty_choose, pure),
 * enabling the ring on the VM, mapping each vCPU's ring and pending set,
 * tearing them down, and the counters vmm_dirty_info reports. Reading the
 * written pages (harvest, full rings) is in dirty.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/util.h"
#include "vmm-core/vmm_internal.h"

#define RING_MIN_ENTRIES 256u   /* one 4 KiB page of 16-byte entries */
#define RING_MAX_ENTRIES 65536u /* KVM_DIRTY_RING_MAX_ENTRIES */
#define PAGE_SHIFT_4K 12

int vmm_dirty_choose(enum vmm_dirty_track want, uint32_t entries, int ring_max_bytes,
		     enum vmm_dirty_track *mode, char *why, size_t why_len)
{
	const char *bitmap = "the slots' dirty bitmap (KVM_GET_DIRTY_LOG): one set for the "
			     "whole VM, not per vCPU";
	uint64_t bytes;

	*mode = VMM_DIRTY_OFF;
	if (want == VMM_DIRTY_OFF) {
		snprintf(why, why_len, "off");
		return 0;
	}
	if (want == VMM_DIRTY_BITMAP) {
		*mode = VMM_DIRTY_BITMAP;
		snprintf(why, why_len, "%s, as asked", bitmap);
		return 0;
	}
	if (!entries)
		entries = VMM_DIRTY_RING_DEFAULT;
	if (entries < RING_MIN_ENTRIES || entries > RING_MAX_ENTRIES || (entries & (entries - 1))) {
		snprintf(why, why_len, "a dirty ring of %u entries is not possible: give a power of "
			 "two from %u (one 4 KiB page) to %u", entries, RING_MIN_ENTRIES,
			 RING_MAX_ENTRIES);
		return -EINVAL;
	}
	if (ring_max_bytes <= 0) {
		if (want == VMM_DIRTY_RING) {
			snprintf(why, why_len, "this host's KVM has no dirty ring "
				 "(KVM_CAP_DIRTY_LOG_RING, Linux 5.11+): ask for auto or bitmap");
			return -EOPNOTSUPP;
		}
		*mode = VMM_DIRTY_BITMAP;
		snprintf(why, why_len, "this host's KVM has no dirty ring (KVM_CAP_DIRTY_LOG_RING): "
			 "using %s", bitmap);
		return 0;
	}
	bytes = (uint64_t)entries * sizeof(struct kvm_dirty_gfn);
	if (bytes > (uint64_t)ring_max_bytes) {
		snprintf(why, why_len, "a dirty ring of %u entries exceeds this host's limit of %llu",
			 entries, (unsigned long long)ring_max_bytes / sizeof(struct kvm_dirty_gfn));
		return -EINVAL;
	}
	*mode = VMM_DIRTY_RING;
	snprintf(why, why_len, "KVM's dirty ring, %u entries per vCPU: one set per vCPU", entries);
	return 0;
}

int vmm_dirty_init(struct vmm *vm, const struct vmm_config *cfg)
{
	struct vmm_dirty *d = &vm->dirty;
	struct kvm_enable_cap ec = { .cap = KVM_CAP_DIRTY_LOG_RING_ACQ_REL };
	int max, rc;

	max = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_DIRTY_LOG_RING_ACQ_REL);
	if (max <= 0) {
		ec.cap = KVM_CAP_DIRTY_LOG_RING;
		max = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_DIRTY_LOG_RING);
	}
	rc = vmm_dirty_choose(cfg->dirty_track, cfg->dirty_ring_entries, max, &d->mode, d->why,
			      sizeof(d->why));
	if (rc) {
		util_err("written-page tracking: %s", d->why);
		return rc;
	}
	if (d->mode == VMM_DIRTY_RING) {
		d->entries = cfg->dirty_ring_entries ? cfg->dirty_ring_entries
						     : VMM_DIRTY_RING_DEFAULT;
		ec.args[0] = (uint64_t)d->entries * sizeof(struct kvm_dirty_gfn);
		if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &ec) < 0) {
			rc = -errno;
			snprintf(d->why, sizeof(d->why), "KVM_ENABLE_CAP(%s, %llu bytes) failed: %s",
				 ec.cap == KVM_CAP_DIRTY_LOG_RING ? "KVM_CAP_DIRTY_LOG_RING"
								  : "KVM_CAP_DIRTY_LOG_RING_ACQ_REL",
				 (unsigned long long)ec.args[0], strerror(-rc));
			if (cfg->dirty_track == VMM_DIRTY_RING) {
				util_err("written-page tracking: %s", d->why);
				return rc;
			}
			d->mode = VMM_DIRTY_BITMAP;
			d->entries = 0;
			strncat(d->why, "; using the slots' dirty bitmap (one set for the whole VM)",
				sizeof(d->why) - strlen(d->why) - 1);
		}
	}
	if (d->mode != VMM_DIRTY_OFF)
		util_debug("written-page tracking: %s", d->why);
	return 0;
}

uint32_t vmm_dirty_slot_flags(const struct vmm *vm)
{
	return vm->dirty.mode != VMM_DIRTY_OFF ? KVM_MEM_LOG_DIRTY_PAGES : 0;
}

static uint64_t pfn_bits_of(const struct vmm_mem_map *m)
{
	uint64_t top = 0;

	for (int i = 0; i < m->nr; i++)
		top = UTIL_MAX(top, m->r[i].gpa + m->r[i].bytes);
	return top >> PAGE_SHIFT_4K;
}

static size_t bitmap_bytes(uint64_t bits)
{
	size_t page = (size_t)getpagesize();

	return (((bits + 63) / 64) * 8 + page - 1) & ~(page - 1);
}

int vmm_dirty_vcpu_init(struct vmm *vm, int idx)
{
	struct vmm_dirty *d = &vm->dirty;
	struct vmm_dirty_vcpu *dv = &d->v[idx];
	size_t ring_bytes = (size_t)d->entries * sizeof(struct kvm_dirty_gfn);
	void *p;

	if (d->mode == VMM_DIRTY_OFF)
		return 0;
	d->pfn_bits = pfn_bits_of(&vm->mem);
	if (d->mode != VMM_DIRTY_RING)
		return 0;
	p = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, vm->vcpu[idx].fd,
		 (off_t)KVM_DIRTY_LOG_PAGE_OFFSET * getpagesize());
	if (p == MAP_FAILED) {
		util_err("mapping vcpu%d's dirty ring (%u entries at page %d of the vCPU fd): %s",
			 idx, d->entries, KVM_DIRTY_LOG_PAGE_OFFSET, strerror(errno));
		return -errno;
	}
	dv->ring = p;
	dv->pending_bytes = bitmap_bytes(d->pfn_bits);
	p = mmap(NULL, dv->pending_bytes, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		util_err("vcpu%d's pending written-page set (%zu KiB): %s", idx,
			 dv->pending_bytes >> 10, strerror(errno));
		dv->pending_bytes = 0;
		return -errno;
	}
	dv->pending = p;
	return 0;
}

void vmm_dirty_exit(struct vmm *vm)
{
	struct vmm_dirty *d = &vm->dirty;

	for (int i = 0; i < VMM_MAX_VCPUS; i++) {
		if (d->v[i].ring)
			munmap(d->v[i].ring, (size_t)d->entries * sizeof(struct kvm_dirty_gfn));
		if (d->v[i].pending)
			munmap(d->v[i].pending, d->v[i].pending_bytes);
		memset(&d->v[i], 0, sizeof(d->v[i]));
	}
	free(d->slot_buf);
	d->slot_buf = NULL;
}

void vmm_dirty_info(const struct vmm *vm, struct vmm_dirty_info *out)
{
	struct vmm_dirty *d = (struct vmm_dirty *)&vm->dirty; /* the lock only */

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&d->lock);
	out->mode = d->mode;
	out->per_vcpu = d->mode == VMM_DIRTY_RING;
	out->ring_entries = d->mode == VMM_DIRTY_RING ? d->entries : 0;
	out->pfn_bits = d->pfn_bits;
	out->ring_full_exits = d->ring_full_exits;
	out->harvests = d->harvests;
	out->entries = d->entries_read;
	out->foreign_entries = d->foreign;
	out->ring_overflows = d->overflows;
	out->lost_entries = d->lost;
	snprintf(out->why, sizeof(out->why), "%s", d->why);
	pthread_mutex_unlock(&d->lock);
}
