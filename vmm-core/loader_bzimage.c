/*
 * Linux bzImage through the 64-bit boot protocol (Documentation/arch/x86/
 * boot.rst): the setup header is copied into a zeroed struct boot_params
 * (the "zero page") at VMM_BOOTINFO_GPA, the protected-mode kernel (the file
 * after the (setup_sects+1)*512 bytes of real-mode setup) goes to its
 * preferred address, the command line to VMM_CMDLINE_GPA, the initrd as
 * high as initrd_addr_max and low RAM allow, the e820 map into the zero page.
 * The vCPU enters in 64-bit mode (identity-mapped 4 GiB) at load + 0x200
 * with %rsi = the zero page.
 */
#include "vmm-core/loader.h"

#include "common/util.h"

#include <errno.h>
#include <string.h>

/* Offsets in the image and in struct boot_params (they coincide). */
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE  0x0c4
#define BP_EXT_CMD_LINE_PTR  0x0c8
#define BP_E820_ENTRIES      0x1e8
#define HDR_SETUP_SECTS      0x1f1
#define HDR_SYSSIZE          0x1f4
#define HDR_BOOT_FLAG        0x1fe
#define HDR_JUMP             0x200
#define HDR_MAGIC            0x202
#define HDR_VERSION          0x206
#define HDR_TYPE_OF_LOADER   0x210
#define HDR_LOADFLAGS        0x211
#define HDR_RAMDISK_IMAGE    0x218
#define HDR_RAMDISK_SIZE     0x21c
#define HDR_HEAP_END_PTR     0x224
#define HDR_CMD_LINE_PTR     0x228
#define HDR_INITRD_ADDR_MAX  0x22c
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_RELOCATABLE      0x234
#define HDR_XLOADFLAGS       0x236
#define HDR_CMDLINE_SIZE     0x238
#define HDR_PREF_ADDRESS     0x258
#define HDR_INIT_SIZE        0x260
#define HDR_MIN_END          0x264 /* fields this loader reads end here */
#define BP_HDR_LIMIT         0x290 /* end of the setup header area in boot_params */
#define BP_E820_TABLE        0x2d0
#define BP_E820_MAX          128
#define BP_SIZE              4096

#define LOADED_HIGH   0x01
#define CAN_USE_HEAP  0x80
#define XLF_KERNEL_64 0x0001
#define MIB           (1024ull * 1024)
#define PAGE_MASK_B   (~4095ull)

struct bz {
	const char *path;
	uint64_t setup_bytes, pm_len, load, span, init_size, end0, initrd_gpa;
	uint8_t *bp;
};

static uint64_t rd(const uint8_t *p, int bytes)
{
	uint64_t v = 0;

	while (bytes--)
		v = (v << 8) | p[bytes];
	return v;
}

static void wr(uint8_t *p, uint64_t v, int bytes)
{
	int i;

	for (i = 0; i < bytes; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

static int bz_check(const struct vmm_image *img, struct bz *bz)
{
	const uint8_t *d = img->data;
	uint64_t version, hdr_end, align, pref;

	if (img->size < 1024 || rd(d + HDR_BOOT_FLAG, 2) != 0xaa55 ||
	    memcmp(d + HDR_MAGIC, "HdrS", 4)) {
		util_err("%s: not a bzImage (no 0xAA55 boot flag and \"HdrS\" at 0x202)", bz->path);
		return -ENOEXEC;
	}
	version = rd(d + HDR_VERSION, 2);
	hdr_end = HDR_MAGIC + (uint64_t)d[HDR_JUMP + 1];
	if (version < 0x20c || hdr_end < HDR_MIN_END) {
		util_err("%s: boot protocol %llu.%02llu (header ends at 0x%llx) is too old: need 2.12+",
			 bz->path, (unsigned long long)(version >> 8),
			 (unsigned long long)(version & 0xff), (unsigned long long)hdr_end);
		return -ENOEXEC;
	}
	if (!(rd(d + HDR_XLOADFLAGS, 2) & XLF_KERNEL_64)) {
		util_err("%s: kernel has no 64-bit entry point (XLF_KERNEL_64 clear in xloadflags)",
			 bz->path);
		return -ENOEXEC;
	}
	bz->setup_bytes = ((uint64_t)(d[HDR_SETUP_SECTS] ? d[HDR_SETUP_SECTS] : 4) + 1) * 512;
	if (bz->setup_bytes >= img->size) {
		util_err("%s: truncated: setup code ends at 0x%llx, file size is 0x%zx", bz->path,
			 (unsigned long long)bz->setup_bytes, img->size);
		return -ENOEXEC;
	}
	bz->pm_len = img->size - bz->setup_bytes;
	if (rd(d + HDR_SYSSIZE, 4) * 16 > bz->pm_len) {
		util_err("%s: truncated: protected-mode kernel is 0x%llx bytes, syssize says 0x%llx",
			 bz->path, (unsigned long long)bz->pm_len,
			 (unsigned long long)rd(d + HDR_SYSSIZE, 4) * 16);
		return -ENOEXEC;
	}
	bz->init_size = rd(d + HDR_INIT_SIZE, 4);
	bz->span = UTIL_MAX(bz->init_size, bz->pm_len);
	align = rd(d + HDR_KERNEL_ALIGNMENT, 4);
	pref = rd(d + HDR_PREF_ADDRESS, 8);
	bz->load = pref ? pref : 0x100000;
	if (d[HDR_RELOCATABLE]) {
		if (!align || (align & (align - 1)) || align > (1ull << 30)) {
			util_err("%s: kernel_alignment 0x%llx is not a power of two up to 1 GiB",
				 bz->path, (unsigned long long)align);
			return -ENOEXEC;
		}
		bz->load = (bz->load + align - 1) & ~(align - 1);
	}
	if (bz->load < 0x100000 || bz->load >= VMM_HIGH_GPA) {
		util_err("%s: load address 0x%llx is outside [1 MiB, 4 GiB)", bz->path,
			 (unsigned long long)bz->load);
		return -ENOEXEC;
	}
	return 0;
}

static int bz_place_kernel(const struct vmm_image *img, const struct vmm_mem_map *map,
			   const struct vmm_load_args *a, struct bz *bz)
{
	uint64_t ram = map->r[0].bytes + (map->nr > 1 ? map->r[1].bytes : 0), need;
	uint8_t *dst;

	bz->end0 = UTIL_MIN(map->r[0].bytes, VMM_HIGH_GPA);
	if (bz->load + bz->span > bz->end0) {
		need = bz->load + bz->span + (a->initrd ? a->initrd_size : 0);
		util_err("%s: guest larger than memory: needs %llu MiB, --mem is %llu MiB "
			 "(kernel at 0x%llx, init_size 0x%llx)", bz->path,
			 (unsigned long long)((need + MIB - 1) / MIB), (unsigned long long)(ram / MIB),
			 (unsigned long long)bz->load, (unsigned long long)bz->init_size);
		return -EFBIG;
	}
	dst = vmm_gpa_ptr(map, bz->load, bz->pm_len);
	if (!dst)
		return -ENOSPC;
	memcpy(dst, img->data + bz->setup_bytes, bz->pm_len);
	return 0;
}

static int bz_cmdline(const struct vmm_mem_map *map, const struct vmm_load_args *a,
		      struct bz *bz)
{
	int rc = vmm_put_cmdline(map, bz->path, a->cmdline, rd(bz->bp + HDR_CMDLINE_SIZE, 4),
				 "cmdline_size");

	if (rc)
		return rc;
	wr(bz->bp + HDR_CMD_LINE_PTR, VMM_CMDLINE_GPA, 4);
	wr(bz->bp + BP_EXT_CMD_LINE_PTR, VMM_CMDLINE_GPA >> 32, 4);
	return 0;
}

static int bz_initrd(const struct vmm_mem_map *map, const struct vmm_load_args *a,
		     struct bz *bz)
{
	uint64_t max = rd(bz->bp + HDR_INITRD_ADDR_MAX, 4);
	uint64_t limit = UTIL_MIN(max + 1, bz->end0), size = a->initrd_size;
	uint64_t floor = (bz->load + bz->span + 4095) & PAGE_MASK_B;
	uint8_t *dst;

	if (size > limit || ((limit - size) & PAGE_MASK_B) < floor) {
		util_err("%s: initrd %s (%llu KiB) does not fit between the kernel end 0x%llx and "
			 "0x%llx (initrd_addr_max 0x%llx, end of low RAM): raise --mem", bz->path,
			 a->initrd_path ? a->initrd_path : "", (unsigned long long)(size >> 10),
			 (unsigned long long)floor, (unsigned long long)limit,
			 (unsigned long long)max);
		return -ENOSPC;
	}
	bz->initrd_gpa = (limit - size) & PAGE_MASK_B;
	dst = vmm_gpa_ptr(map, bz->initrd_gpa, size);
	if (!dst)
		return -ENOSPC;
	memcpy(dst, a->initrd, size);
	wr(bz->bp + HDR_RAMDISK_IMAGE, bz->initrd_gpa, 4);
	wr(bz->bp + HDR_RAMDISK_SIZE, size, 4);
	wr(bz->bp + BP_EXT_RAMDISK_IMAGE, bz->initrd_gpa >> 32, 4);
	wr(bz->bp + BP_EXT_RAMDISK_SIZE, size >> 32, 4);
	return 0;
}

static int bz_e820(const struct vmm_mem_map *map, struct bz *bz)
{
	struct vmm_e820 e[VMM_E820_MAX];
	int n = vmm_e820_build(map, e, VMM_E820_MAX), i;
	uint8_t *p = bz->bp + BP_E820_TABLE;

	if (n < 0)
		return n;
	for (i = 0; i < n && i < BP_E820_MAX; i++, p += 20) {
		wr(p, e[i].addr, 8);
		wr(p + 8, e[i].size, 8);
		wr(p + 16, e[i].type, 4);
	}
	bz->bp[BP_E820_ENTRIES] = (uint8_t)i;
	return 0;
}

int vmm_load_bzimage(const struct vmm_image *img, const struct vmm_mem_map *map,
		     const struct vmm_load_args *args, struct vmm_boot *boot)
{
	static const struct vmm_load_args none;
	const struct vmm_load_args *a = args ? args : &none;
	struct bz bz = { 0 };
	uint64_t hdr_end;
	int rc;

	if (!img || !img->data || !map || map->nr < 1 || !boot)
		return -EINVAL;
	bz.path = img->path ? img->path : "guest image";
	rc = bz_check(img, &bz);
	if (!rc)
		rc = bz_place_kernel(img, map, a, &bz);
	if (rc)
		return rc;
	bz.bp = vmm_gpa_ptr(map, VMM_BOOTINFO_GPA, BP_SIZE);
	if (!bz.bp) {
		util_err("%s: guest RAM does not cover the zero page at 0x%llx", bz.path,
			 (unsigned long long)VMM_BOOTINFO_GPA);
		return -ENOSPC;
	}
	memset(bz.bp, 0, BP_SIZE);
	hdr_end = UTIL_MIN(HDR_MAGIC + (uint64_t)img->data[HDR_JUMP + 1], (uint64_t)BP_HDR_LIMIT);
	memcpy(bz.bp + HDR_SETUP_SECTS, img->data + HDR_SETUP_SECTS, hdr_end - HDR_SETUP_SECTS);
	bz.bp[HDR_TYPE_OF_LOADER] = 0xff;
	bz.bp[HDR_LOADFLAGS] |= LOADED_HIGH | CAN_USE_HEAP;
	wr(bz.bp + HDR_HEAP_END_PTR, 0xfe00, 2);
	rc = bz_cmdline(map, a, &bz);
	if (!rc && a->initrd && a->initrd_size)
		rc = bz_initrd(map, a, &bz);
	if (!rc)
		rc = bz_e820(map, &bz);
	if (rc)
		return rc;
	*boot = (struct vmm_boot){ .mode = VMM_MODE_LONG64, .rip = bz.load + 0x200,
				   .rsi = VMM_BOOTINFO_GPA };
	return 0;
}
