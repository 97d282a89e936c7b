/* Guest RAM: one host mapping, split into KVM slots below 3 GiB and at 4 GiB. */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>

#include "common/util.h"
#include "vmm-core/vmm_internal.h"

#define HUGE_2M (2ull << 20)
#define VMM_MEM_MIN (4ull << 20)
#define VMM_MEM_ALIGN 4096ull

static const char *backing_name(enum vmm_backing b)
{
	return b == VMM_BACKING_THP ? "thp" : b == VMM_BACKING_HUGETLBFS ? "hugetlbfs" : "anon";
}

static int map_ram(uint64_t bytes, enum vmm_backing backing, uint8_t **out, size_t *map_bytes)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	size_t len = bytes;
	uint8_t *p;

	if (backing == VMM_BACKING_HUGETLBFS) {
		flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | (21 << MAP_HUGE_SHIFT);
		len = (size_t)((bytes + HUGE_2M - 1) & ~(HUGE_2M - 1));
	} else if (backing == VMM_BACKING_THP) {
		len = bytes + HUGE_2M; /* room to align the start to 2 MiB */
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (p == MAP_FAILED) {
		int err = -errno;

		if (backing == VMM_BACKING_HUGETLBFS)
			util_err("--mem-backing hugetlbfs: cannot map %zu MiB of 2 MiB huge pages (%s): "
				 "reserve them first, e.g. echo %zu > /proc/sys/vm/nr_hugepages",
				 len >> 20, strerror(-err), (size_t)(len / HUGE_2M));
		else
			util_err("cannot map %zu MiB of guest memory: %s", len >> 20, strerror(-err));
		return err;
	}
	*map_bytes = len;
	*out = p;
	if (backing == VMM_BACKING_THP) {
		uint8_t *aligned = (uint8_t *)(((uintptr_t)p + HUGE_2M - 1) & ~(HUGE_2M - 1));

		if (madvise(aligned, bytes, MADV_HUGEPAGE))
			util_warn("--mem-backing thp: madvise(MADV_HUGEPAGE) failed (%s); "
				  "check /sys/kernel/mm/transparent_hugepage/enabled", strerror(errno));
		*out = aligned;
		*map_bytes = len;
		return (int)(aligned - p); /* offset of the aligned start */
	}
	if (backing == VMM_BACKING_ANON)
		madvise(p, len, MADV_NOHUGEPAGE);
	return 0;
}

static int set_slot(struct vmm *vm, int slot)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.flags = vmm_dirty_slot_flags(vm),
		.guest_phys_addr = vm->mem.r[slot].gpa,
		.memory_size = vm->mem.r[slot].bytes,
		.userspace_addr = (uintptr_t)vm->mem.r[slot].hva,
	};

	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
		int err = -errno;

		util_err("KVM_SET_USER_MEMORY_REGION slot %d (%llu MiB at gpa 0x%llx): %s", slot,
			 (unsigned long long)(r.memory_size >> 20),
			 (unsigned long long)r.guest_phys_addr, strerror(-err));
		return err;
	}
	return 0;
}

int vmm_mem_check(uint64_t bytes)
{
	struct sysinfo si;

	if (bytes < VMM_MEM_MIN) {
		util_err("--mem %llu KiB is too small: the guest needs at least 4M",
			 (unsigned long long)(bytes >> 10));
		return -EINVAL;
	}
	if (bytes % VMM_MEM_ALIGN) {
		util_err("--mem %llu bytes is not a multiple of 4 KiB, the page size KVM maps guest "
			 "memory in: give whole pages, e.g. --mem %lluK",
			 (unsigned long long)bytes,
			 (unsigned long long)(((bytes + VMM_MEM_ALIGN - 1) & ~(VMM_MEM_ALIGN - 1)) >> 10));
		return -EINVAL;
	}
	if (!sysinfo(&si) && bytes > (uint64_t)si.totalram * si.mem_unit) {
		util_err("--mem %llu MiB exceeds this host's memory (%llu MiB)",
			 (unsigned long long)(bytes >> 20),
			 (unsigned long long)(((uint64_t)si.totalram * si.mem_unit) >> 20));
		return -EINVAL;
	}
	return 0;
}

int vmm_mem_alloc(struct vmm *vm, uint64_t bytes, enum vmm_backing backing)
{
	uint64_t low;
	size_t map_bytes = 0;
	uint8_t *ram = NULL;
	int off, rc, i;

	rc = vmm_mem_check(bytes);
	if (rc)
		return rc;
	off = map_ram(bytes, backing, &ram, &map_bytes);
	if (off < 0)
		return off;
	vm->ram = ram - off;
	vm->ram_map_bytes = map_bytes;
	low = UTIL_MIN(bytes, VMM_MMIO_HOLE_GPA);
	vm->mem.nr = bytes > low ? 2 : 1;
	vm->mem.r[0].gpa = 0;
	vm->mem.r[0].bytes = low;
	vm->mem.r[0].hva = ram;
	if (vm->mem.nr == 2) {
		vm->mem.r[1].gpa = VMM_HIGH_GPA;
		vm->mem.r[1].bytes = bytes - low;
		vm->mem.r[1].hva = ram + low;
	}
	for (i = 0; i < vm->mem.nr; i++) {
		rc = set_slot(vm, i);
		if (rc)
			return rc;
	}
	util_debug("guest RAM: %llu MiB, backing %s", (unsigned long long)(bytes >> 20),
		   backing_name(backing));
	return 0;
}

void vmm_mem_free(struct vmm *vm)
{
	if (vm->ram)
		munmap(vm->ram, vm->ram_map_bytes);
	vm->ram = NULL;
}

int vmm_ram_region(const struct vmm *vm, int idx, void **hva, uint64_t *gpa, uint64_t *bytes)
{
	if (idx < 0 || idx >= vm->mem.nr)
		return -ENOENT;
	*hva = vm->mem.r[idx].hva;
	*gpa = vm->mem.r[idx].gpa;
	*bytes = vm->mem.r[idx].bytes;
	return 0;
}
