/*
 * ELF vmlinux (ELF64 or ELF32) through the Xen PVH entry point
 * (XEN_ELFNOTE_PHYS32_ENTRY, note 18 of owner "Xen"): PT_LOAD segments go to
 * p_paddr, struct hvm_start_info (version 1) to VMM_BOOTINFO_GPA, its memory
 * map to VMM_MEMMAP_GPA, the command line to VMM_CMDLINE_GPA and the initrd,
 * page aligned, as high in RAM below the MMIO hole as it fits. The vCPU
 * enters in 32-bit protected mode with paging off at the entry, %ebx = the
 * start_info address (Xen docs/misc/pvh.pandoc).
 */
#include "vmm-core/firmware.h"
#include "vmm-core/loader.h"

#include "common/util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define PVH_START_MAGIC 0x336ec578u
#define PVH_MODLIST_GPA (VMM_BOOTINFO_GPA + 0x100)
#define PAGE_SIZE_B 4096ull

struct hvm_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
};
struct hvm_modlist_entry { uint64_t paddr, size, cmdline_paddr, reserved; };
struct hvm_memmap_table_entry { uint64_t addr, size; uint32_t type, reserved; };
_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info v1 is 56 bytes");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "memmap entry is 24 bytes");

/* Highest page-aligned gpa in region 0 (below 4 GiB) above kernel_end. */
static int pvh_initrd(const struct vmm_image *img, const struct vmm_mem_map *map,
		      const struct vmm_load_args *a, uint64_t kernel_end, uint64_t *gpa)
{
	uint64_t limit = UTIL_MIN(map->r[0].bytes, VMM_HIGH_GPA), floor;
	uint8_t *dst;

	floor = UTIL_MAX((kernel_end + PAGE_SIZE_B - 1) & ~(PAGE_SIZE_B - 1), 0x100000ull);
	if (a->initrd_size > limit || ((limit - a->initrd_size) & ~(PAGE_SIZE_B - 1)) < floor) {
		util_err("%s: initrd %s (%llu MiB) does not fit between the kernel end 0x%llx and "
			 "the end of low RAM 0x%llx: raise --mem", img->path,
			 a->initrd_path ? a->initrd_path : "", (unsigned long long)(a->initrd_size >> 20),
			 (unsigned long long)floor, (unsigned long long)limit);
		return -ENOSPC;
	}
	*gpa = (limit - a->initrd_size) & ~(PAGE_SIZE_B - 1);
	dst = vmm_gpa_ptr(map, *gpa, a->initrd_size);
	if (!dst)
		return -ENOSPC;
	memcpy(dst, a->initrd, a->initrd_size);
	return 0;
}

static int pvh_start_info(const struct vmm_image *img, const struct vmm_mem_map *map,
			  const struct vmm_load_args *a, uint64_t initrd_gpa)
{
	struct hvm_start_info si = { .magic = PVH_START_MAGIC, .version = 1,
				     .cmdline_paddr = VMM_CMDLINE_GPA,
				     .rsdp_paddr = VMM_ACPI_GPA, /* the fwtables device's RSDP */
				     .memmap_paddr = VMM_MEMMAP_GPA };
	struct hvm_modlist_entry mod = { .paddr = initrd_gpa, .size = a->initrd_size };
	struct hvm_memmap_table_entry me;
	struct vmm_e820 e820[VMM_E820_MAX];
	uint8_t *info, *mm, *ml;
	int n, i;

	n = vmm_e820_build(map, e820, VMM_E820_MAX);
	if (n < 0)
		return n;
	info = vmm_gpa_ptr(map, VMM_BOOTINFO_GPA, sizeof(si));
	ml = vmm_gpa_ptr(map, PVH_MODLIST_GPA, sizeof(mod));
	mm = vmm_gpa_ptr(map, VMM_MEMMAP_GPA, (uint64_t)n * sizeof(me));
	if (!info || !ml || !mm) {
		util_err("%s: guest RAM does not cover the boot information at 0x%llx", img->path,
			 (unsigned long long)VMM_BOOTINFO_GPA);
		return -ENOSPC;
	}
	for (i = 0; i < n; i++) {
		/* vmm_e820 types are the ACPI/e820 codes XEN_HVM_MEMMAP_TYPE_* use. */
		me = (struct hvm_memmap_table_entry){ .addr = e820[i].addr, .size = e820[i].size,
						      .type = e820[i].type };
		memcpy(mm + (size_t)i * sizeof(me), &me, sizeof(me));
	}
	si.memmap_entries = (uint32_t)n;
	if (a->initrd && a->initrd_size) {
		si.nr_modules = 1;
		si.modlist_paddr = PVH_MODLIST_GPA;
		memcpy(ml, &mod, sizeof(mod));
	}
	memcpy(info, &si, sizeof(si));
	return 0;
}

int vmm_load_pvh(const struct vmm_image *img, const struct vmm_mem_map *map,
		 const struct vmm_load_args *args, struct vmm_boot *boot)
{
	static const struct vmm_load_args none;
	const struct vmm_load_args *a = args ? args : &none;
	uint64_t entry = 0, elf_entry, end = 0, initrd_gpa = 0;
	struct vmm_image im;
	char why[256] = "";
	int rc;

	if (!img || !img->data || !map || !boot)
		return -EINVAL;
	im = *img;
	im.path = img->path ? img->path : "guest image";
	img = &im;
	rc = vmm_pvh_entry(img, &entry, why, sizeof(why));
	if (rc) {
		util_err("%s: %s", img->path, why);
		return rc;
	}
	rc = vmm_elf_load(img, map, false, &elf_entry, &end);
	if (rc == 0) {
		util_err("%s: no loadable segment", img->path);
		rc = -ENOEXEC;
	}
	if (rc > 0)
		rc = vmm_put_cmdline(map, img->path, a->cmdline, VMM_CMDLINE_MAX - 1,
				     "avmm's command-line area");
	if (!rc && a->initrd && a->initrd_size)
		rc = pvh_initrd(img, map, a, end, &initrd_gpa);
	if (!rc)
		rc = pvh_start_info(img, map, a, initrd_gpa);
	if (rc)
		return rc;
	if (entry < VMM_MIN_LOAD_GPA || entry >= end) {
		util_err("%s: PVH entry 0x%llx is outside the loaded kernel", img->path,
			 (unsigned long long)entry);
		return -ENOEXEC;
	}
	*boot = (struct vmm_boot){ .mode = VMM_MODE_PROT32, .rip = entry,
				   .rbx = VMM_BOOTINFO_GPA };
	return 0;
}
