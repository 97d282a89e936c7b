/*
 * The run-delay page (common/steal.h): one KVM steal-time area per vCPU in a
 * memfd page of avmm's own, in guest-physical memory at PC_STEAL_GPA (in
 * the MMIO hole, listed reserved in the e820 map), so that telemetry reads
 * a vCPU thread's run delay from memory instead of schedstat.
 *
 * Each vCPU thread points its MSR at its area before it first enters the
 * guest (after a restore too: a snapshot's value is kept if it is the
 * guest's). A guest that writes the MSR itself (Linux with steal-time
 * accounting) leaves through an MSR filter to this thread, which applies the
 * guest's value and marks avmm's area `guest_area`, with where the guest's
 * area is in avmm's memory (`guest_hva`: a quiet look reads it there, full
 * samples read schedstat); a guest that turns its area off gets avmm's
 * back. Where KVM refuses the MSR or has no MSR filter, the page stays
 * marked and everything reads schedstat as before.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/util.h"
#include "vmm-core/pc.h"
#include "vmm-core/vmm_internal.h"

#define STEAL_SLOT 2   /* RAM uses slots 0 and 1 */
_Static_assert(VMM_MAX_VCPUS * UTIL_STEAL_AREA_BYTES <= PC_STEAL_LEN, "an area per vCPU");

static uint64_t own_msr(int idx)
{
	return (PC_STEAL_GPA + (uint64_t)idx * UTIL_STEAL_AREA_BYTES) | UTIL_STEAL_ENABLE;
}

static int msr_io(struct vmm_vcpu *v, unsigned long req, uint64_t *val)
{
	struct { struct kvm_msrs h; struct kvm_msr_entry e; } m = {
		.h.nmsrs = 1, .e = { .index = UTIL_STEAL_MSR, .data = *val } };
	int n = ioctl(v->fd, req, &m);

	*val = m.e.data;
	return n == 1 ? 0 : -EINVAL;
}

/* Where in avmm's memory the guest's area at MSR value val is: in guest
 * RAM, whole; else 0 (unknown: readers use schedstat). */
static uint64_t guest_hva(const struct vmm *vm, uint64_t val)
{
	uint64_t gpa = val & ~(uint64_t)(UTIL_STEAL_AREA_BYTES - 1), base, bytes;
	void *hva;

	for (int i = 0; !vmm_ram_region(vm, i, &hva, &base, &bytes); i++)
		if (gpa >= base && gpa - base + UTIL_STEAL_AREA_BYTES <= bytes)
			return (uint64_t)(uintptr_t)hva + (gpa - base);
	return 0;
}

/* guest: the guest's own area (MSR value val) is in use, or none is. */
static void mark(struct vmm *vm, int idx, bool guest, uint64_t val)
{
	volatile struct util_steal_area *a = &vm->steal.area[idx];

	if (!guest)
		__atomic_store_n(&a->guest_area, 0u, __ATOMIC_RELEASE);
	__atomic_store_n(&a->guest_hva, guest && (val & UTIL_STEAL_ENABLE) ? guest_hva(vm, val) : 0,
			 __ATOMIC_RELEASE);
	if (guest)
		__atomic_store_n(&a->guest_area, 1u, __ATOMIC_RELEASE);
}

/* Guest writes of the MSR leave to user space (the vCPU thread). */
static void filter_msr(struct vmm *vm)
{
	uint8_t deny = 0;
	struct kvm_enable_cap cap = { .cap = KVM_CAP_X86_USER_SPACE_MSR,
				      .args[0] = KVM_MSR_EXIT_REASON_FILTER };
	struct kvm_msr_filter f = {
		.flags = KVM_MSR_FILTER_DEFAULT_ALLOW,
		.ranges[0] = { .flags = KVM_MSR_FILTER_WRITE, .nmsrs = 1, .base = UTIL_STEAL_MSR,
			       .bitmap = &deny },
	};

	if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) || ioctl(vm->vm_fd, KVM_X86_SET_MSR_FILTER, &f)) {
		util_debug("steal time: no MSR filter (%s): a guest that enables its own area "
			   "would go unseen, so run delay is read from schedstat", strerror(errno));
		return;
	}
	vm->steal.filtered = true;
}

int vmm_steal_init(struct vmm *vm)
{
	struct kvm_userspace_memory_region r = { .slot = STEAL_SLOT, .guest_phys_addr = PC_STEAL_GPA,
						 .memory_size = PC_STEAL_LEN };
	int fd = memfd_create("avmm-steal", MFD_CLOEXEC);
	void *p;

	vm->steal.fd = -1;
	if (fd < 0 || ftruncate(fd, (off_t)PC_STEAL_LEN)) {
		util_debug("steal time: memfd: %s (run delay from schedstat)", strerror(errno));
		goto fail;
	}
	p = mmap(NULL, PC_STEAL_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	r.userspace_addr = (uintptr_t)p;
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r)) {
		util_debug("steal time: memory slot at 0x%llx: %s (run delay from schedstat)",
			   (unsigned long long)PC_STEAL_GPA, strerror(errno));
		munmap(p, PC_STEAL_LEN);
		goto fail;
	}
	vm->steal.area = p;
	vm->steal.fd = fd;
	for (int i = 0; i < VMM_MAX_VCPUS; i++)
		mark(vm, i, true, 0);   /* until its thread points the MSR here */
	filter_msr(vm);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	return 0;   /* not fatal: schedstat remains */
}

void vmm_steal_exit(struct vmm *vm)
{
	if (vm->steal.area)
		munmap((void *)vm->steal.area, PC_STEAL_LEN);
	if (vm->steal.fd >= 0)
		close(vm->steal.fd);
	vm->steal.area = NULL;
	vm->steal.fd = -1;
}

/* A value KVM now holds (a restored snapshot's): whose area is in use. */
bool vmm_steal_note(struct vmm_vcpu *v, uint64_t val)
{
	bool guest = (val & UTIL_STEAL_ENABLE) && val != own_msr(v->idx);

	if (v->vm->steal.area && guest)
		mark(v->vm, v->idx, true, val);
	return guest;
}

/* On the vCPU thread before it enters the guest: the MSR points at avmm's
 * area unless the guest's own is in use (a restored snapshot's). */
void vmm_steal_vcpu(struct vmm_vcpu *v)
{
	struct vmm *vm = v->vm;
	uint64_t val = 0;

	if (!vm->steal.area || !vm->steal.filtered)
		return;
	if (msr_io(v, KVM_GET_MSRS, &val) || vmm_steal_note(v, val))
		return;
	val = own_msr(v->idx);
	mark(vm, v->idx, msr_io(v, KVM_SET_MSRS, &val) != 0, 0);
}

/* KVM_EXIT_X86_WRMSR of the steal-time MSR: the guest's value applies, and
 * avmm's area comes back when the guest turns its own off. */
int vmm_steal_wrmsr(struct vmm_vcpu *v)
{
	struct vmm *vm = v->vm;
	uint64_t val = v->run->msr.data;
	bool guest = val & UTIL_STEAL_ENABLE;

	if (v->run->msr.index != UTIL_STEAL_MSR || !vm->steal.area) {
		v->run->msr.error = 1;   /* only this one is filtered, with an area: #GP */
		return 0;
	}
	if (!guest)
		val = own_msr(v->idx);
	v->run->msr.error = msr_io(v, KVM_SET_MSRS, &val) ? 1 : 0;
	mark(vm, v->idx, guest || v->run->msr.error, v->run->msr.error ? 0 : val);
	util_debug("vcpu%d: the guest %s its steal-time area%s", v->idx,
		   guest ? "enabled" : "turned off",
		   !guest ? "" : vm->steal.area[v->idx].guest_hva ? " (looks read it there)"
		   : " outside guest RAM: run delay from schedstat");
	return 0;
}

const struct util_steal_area *vmm_vcpu_steal(const struct vmm *vm, int vcpu)
{
	return vm->steal.area && vcpu >= 0 && vcpu < vm->nr_vcpus ? &vm->steal.area[vcpu] : NULL;
}

int vmm_steal_fd(const struct vmm *vm)
{
	return vm->steal.fd;
}
