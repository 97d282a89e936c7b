/* Multiboot v1 loader: ELF32 program headers or the a.out kludge, entered in
 * 32-bit protected mode with EAX=0x2BADB002 and EBX=multiboot info, as QEMU
 * does with -kernel. Segments may load below 1 MiB outside the areas avmm
 * fills itself (loader.h); the boot information then moves out of the way. */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "vmm-core/loader.h"

#define MB_MAGIC 0x1BADB002u
#define MB_BOOT_MAGIC 0x2BADB002u
#define MB_SEARCH 8192
#define MB_AOUT_KLUDGE (1u << 16)
#define MB_KNOWN_REQUIRED 0x7u /* page-align, meminfo, video (ignored) */
#define MB_PAGE 4096ull
#define MB_MIB (1024ull * 1024)

struct mb_header {
	uint32_t magic, flags, checksum;
	uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

struct mb_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
	uint32_t syms[4], mmap_length, mmap_addr, drives_length, drives_addr, config_table;
	uint32_t boot_loader_name, apm_table;
};

struct mb_mmap { uint32_t size; uint64_t addr, len; uint32_t type; } __attribute__((packed));
struct mb_module { uint32_t mod_start, mod_end, string, reserved; };

static int find_header(const struct vmm_image *img, const struct mb_header **hdr, size_t *off)
{
	size_t o, end = UTIL_MIN(img->size, (size_t)MB_SEARCH);

	for (o = 0; o + 12 <= end; o += 4) {
		const struct mb_header *h = (const void *)(img->data + o);

		if (h->magic == MB_MAGIC && h->magic + h->flags + h->checksum == 0) {
			*hdr = h;
			*off = o;
			return 0;
		}
	}
	util_err("%s: no Multiboot v1 header in the first 8 KiB (bad magic); avmm runs "
		 "Multiboot v1 ELF, ELF64 with a PVH note, or a Linux bzImage", img->path);
	return -ENOEXEC;
}

/* The ELF loader reports a segment over avmm's own low-memory areas as
 * -EINVAL; for Multiboot the image is at fault: -ENOEXEC. */
static int mb_errno(int rc)
{
	return rc == -EINVAL ? -ENOEXEC : rc;
}

/* The loaded image's extent [start, end), which modules must not overlap. */
struct mb_extent { uint64_t start, end; };

/* Lowest address of a PT_LOAD segment with memory (vmm_elf_load checked them). */
static uint64_t elf32_start(const struct vmm_image *img)
{
	const Elf32_Ehdr *eh = (const void *)img->data;
	uint64_t start = UINT64_MAX;
	unsigned i;

	for (i = 0; i < eh->e_phnum; i++) {
		Elf32_Phdr ph; /* copied: e_phoff need not be aligned */

		memcpy(&ph, img->data + eh->e_phoff + (size_t)i * eh->e_phentsize, sizeof(ph));
		if (ph.p_type == PT_LOAD && ph.p_memsz && ph.p_paddr < start)
			start = ph.p_paddr;
	}
	return start;
}

static int load_elf32(const struct vmm_image *img, const struct vmm_mem_map *map,
		      uint64_t *entry, struct mb_extent *ext)
{
	const Elf32_Ehdr *eh = (const void *)img->data;
	uint64_t end = 0;
	int rc;

	if (img->size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS32 || eh->e_machine != EM_386) {
		util_err("%s: Multiboot header without the a.out kludge needs a 32-bit x86 ELF",
			 img->path);
		return -ENOEXEC;
	}
	rc = vmm_elf_load(img, map, true, entry, &end);
	if (rc < 0)
		return mb_errno(rc);
	ext->start = rc > 0 ? elf32_start(img) : end;
	ext->end = end;
	if (ext->start > ext->end)
		ext->start = ext->end;
	return 0;
}

static int load_aout(const struct vmm_image *img, const struct vmm_mem_map *map,
		     const struct mb_header *h, size_t hdr_off, uint64_t *entry,
		     struct mb_extent *ext)
{
	uint64_t file_off, load_end, bss_end;
	int rc;

	if (hdr_off + sizeof(*h) > img->size || h->header_addr < h->load_addr ||
	    h->header_addr - h->load_addr > hdr_off) {
		util_err("%s: Multiboot a.out addresses are inconsistent", img->path);
		return -ENOEXEC;
	}
	file_off = hdr_off - (h->header_addr - h->load_addr);
	load_end = h->load_end_addr ? h->load_end_addr : h->load_addr + (img->size - file_off);
	bss_end = h->bss_end_addr > load_end ? h->bss_end_addr : load_end;
	if (load_end < h->load_addr || file_off + (load_end - h->load_addr) > img->size) {
		util_err("%s: truncated: Multiboot load_end_addr 0x%x beyond the file",
			 img->path, h->load_end_addr);
		return -ENOEXEC;
	}
	rc = vmm_load_segment(img, map, 0, h->load_addr, img->data + file_off,
			      load_end - h->load_addr, bss_end - h->load_addr, true);
	if (rc)
		return mb_errno(rc);
	*entry = h->entry_addr;
	ext->start = h->load_addr;
	ext->end = bss_end;
	return 0;
}

static uint32_t write_mmap(const struct vmm_mem_map *map, uint64_t gpa)
{
	struct vmm_e820 e[VMM_E820_MAX];
	struct mb_mmap *m = vmm_gpa_ptr(map, gpa, sizeof(*m) * VMM_E820_MAX);
	int i, n = vmm_e820_build(map, e, VMM_E820_MAX);

	for (i = 0; i < n; i++)
		m[i] = (struct mb_mmap){ .size = 20, .addr = e[i].addr, .len = e[i].size,
					 .type = e[i].type };
	return n > 0 ? n * sizeof(*m) : 0;
}

/*
 * The initrd becomes module 0, page-aligned: at the top of low RAM when that
 * is above the loaded image (and the boot data when they follow it), else as
 * high as it fits below the image (and above the boot data under 1 MiB). Never over the image: a kernel loaded
 * near the top of RAM would otherwise run the module's bytes.
 */
static int place_module(const struct vmm_image *img, const struct vmm_mem_map *map,
			const struct vmm_load_args *args, const struct mb_extent *ext,
			uint64_t *at)
{
	uint64_t ramtop = map->r[0].gpa + map->r[0].bytes, size = args->initrd_size;
	uint64_t kend = (ext->end + MB_PAGE - 1) & ~(MB_PAGE - 1), need;

	if (size <= ramtop && ((ramtop - size) & ~(MB_PAGE - 1)) >= UTIL_MAX(kend, VMM_MIN_LOAD_GPA)) {
		*at = (ramtop - size) & ~(MB_PAGE - 1);
		return 0;
	}
	if (size <= ext->start && ((ext->start - size) & ~(MB_PAGE - 1)) >= VMM_MIN_LOAD_GPA) {
		*at = (ext->start - size) & ~(MB_PAGE - 1);
		return 0;
	}
	need = (kend + size + MB_MIB - 1) / MB_MIB;
	util_err("--initrd %s (%zu bytes) does not fit in guest memory beside %s, loaded at "
		 "[0x%llx, 0x%llx): low RAM ends at 0x%llx; give --mem %lluM or more",
		 args->initrd_path ? args->initrd_path : "", args->initrd_size, img->path,
		 (unsigned long long)ext->start, (unsigned long long)ext->end,
		 (unsigned long long)ramtop, (unsigned long long)need);
	return -EFBIG;
}

/*
 * Where the boot data go: the information structure (with the loader name and
 * the module entry), the memory map and the command line. At avmm's fixed
 * addresses when the image leaves them free; else in one block right after
 * the image, or right below it. (QEMU keeps them at 0x9000-0x9fff whatever
 * the image, writing over its bytes there; avmm leaves every image byte.)
 */
#define MB_INFO_BYTES 0x100ull /* struct mb_info, the name, one module */
#define MB_MMAP_BYTES 0x100ull /* VMM_E820_MAX entries of 24 bytes */

struct mb_place { uint64_t info, mmap, cmd; };

static bool overlaps(uint64_t a, uint64_t alen, const struct mb_extent *ext)
{
	return a < ext->end && a + alen > ext->start;
}

static bool block_fits(const struct vmm_mem_map *map, uint64_t at, uint64_t len,
		       const struct mb_extent *ext)
{
	return at >= MB_PAGE && at + len <= VMM_HIGH_GPA && !overlaps(at, len, ext) &&
	       !vmm_lowmem_conflict(at, len) && vmm_gpa_ptr(map, at, len);
}

static int place_boot_data(const struct vmm_image *img, const struct vmm_mem_map *map,
			   const struct mb_extent *ext, size_t cmd_bytes, struct mb_place *p)
{
	uint64_t len = MB_INFO_BYTES + MB_MMAP_BYTES + ((cmd_bytes + 15) & ~15ull), at;

	if (!overlaps(VMM_BOOTINFO_GPA, MB_INFO_BYTES, ext) &&
	    !overlaps(VMM_MEMMAP_GPA, MB_MMAP_BYTES, ext) &&
	    !overlaps(VMM_CMDLINE_GPA, VMM_CMDLINE_MAX, ext)) {
		*p = (struct mb_place){ VMM_BOOTINFO_GPA, VMM_MEMMAP_GPA, VMM_CMDLINE_GPA };
		return 0;
	}
	at = (ext->end + MB_PAGE - 1) & ~(MB_PAGE - 1);
	if (!block_fits(map, at, len, ext)) {
		at = ext->start >= len ? (ext->start - len) & ~(MB_PAGE - 1) : 0;
		if (!block_fits(map, at, len, ext)) {
			util_err("%s: no room for the Multiboot boot information (%llu bytes) beside "
				 "the image at [0x%llx, 0x%llx): avmm's fixed places 0x%llx, 0x%llx "
				 "and 0x%llx are inside it: link it elsewhere or raise --mem",
				 img->path, (unsigned long long)len,
				 (unsigned long long)ext->start, (unsigned long long)ext->end,
				 (unsigned long long)VMM_BOOTINFO_GPA,
				 (unsigned long long)VMM_MEMMAP_GPA,
				 (unsigned long long)VMM_CMDLINE_GPA);
			return -ENOSPC;
		}
	}
	*p = (struct mb_place){ at, at + MB_INFO_BYTES, at + MB_INFO_BYTES + MB_MMAP_BYTES };
	return 0;
}

static int write_info(const struct vmm_image *img, const struct vmm_mem_map *map,
		      const struct vmm_load_args *args, struct mb_extent *ext, uint64_t *info_gpa)
{
	size_t cmd_len = strlen(args->cmdline ? args->cmdline : "");
	uint64_t ramtop = map->r[0].gpa + map->r[0].bytes;
	struct mb_place p;
	struct mb_info *mi;
	char *name, *cmd;
	int rc;

	if (cmd_len + strlen(img->path) + 2 > VMM_CMDLINE_MAX) {
		size_t max = VMM_CMDLINE_MAX - UTIL_MIN(strlen(img->path) + 2, VMM_CMDLINE_MAX);

		util_err("--cmdline is %zu bytes; with this guest the limit is %zu: the Multiboot "
			 "command line starts with the guest path %s and a space, and avmm's "
			 "command-line area holds %llu bytes with the terminating NUL: shorten it",
			 cmd_len, max, img->path, (unsigned long long)VMM_CMDLINE_MAX);
		return -E2BIG;
	}
	rc = place_boot_data(img, map, ext, cmd_len + strlen(img->path) + 2, &p);
	if (rc)
		return rc;
	mi = vmm_gpa_ptr(map, p.info, MB_INFO_BYTES);
	cmd = vmm_gpa_ptr(map, p.cmd, cmd_len + strlen(img->path) + 2);
	if (!mi || !cmd || !vmm_gpa_ptr(map, p.mmap, MB_MMAP_BYTES)) {
		util_err("%s: guest memory too small for the Multiboot boot information",
			 img->path);
		return -EFBIG;
	}
	if (p.info > ext->end) /* the module goes above the boot data too */
		ext->end = p.cmd + cmd_len + strlen(img->path) + 2;
	name = (char *)(mi + 1);
	memset(mi, 0, sizeof(*mi));
	/* Like GRUB and QEMU: the command line starts with the kernel's name. */
	snprintf(cmd, cmd_len + strlen(img->path) + 2, "%s%s%s", img->path, cmd_len ? " " : "",
		 args->cmdline ? args->cmdline : "");
	strcpy(name, "avmm");
	mi->flags = (1u << 0) | (1u << 2) | (1u << 6) | (1u << 9);
	mi->mem_lower = VMM_LOW_RAM_END >> 10;
	mi->mem_upper = (uint32_t)((ramtop - 0x100000) >> 10);
	mi->cmdline = (uint32_t)p.cmd;
	mi->boot_loader_name = (uint32_t)(p.info + sizeof(*mi));
	mi->mmap_addr = (uint32_t)p.mmap;
	mi->mmap_length = write_mmap(map, p.mmap);
	*info_gpa = p.info;
	if (args->initrd) {
		struct mb_module *mod = (void *)(name + 16);
		uint64_t at;

		rc = place_module(img, map, args, ext, &at);
		if (rc)
			return rc;
		memcpy(vmm_gpa_ptr(map, at, args->initrd_size), args->initrd, args->initrd_size);
		*mod = (struct mb_module){ (uint32_t)at, (uint32_t)(at + args->initrd_size),
					   (uint32_t)p.cmd, 0 };
		mi->flags |= 1u << 3;
		mi->mods_count = 1;
		mi->mods_addr = (uint32_t)(p.info + ((uint8_t *)mod - (uint8_t *)mi));
	}
	return 0;
}

int vmm_load_multiboot(const struct vmm_image *img, const struct vmm_mem_map *map,
		       const struct vmm_load_args *args, struct vmm_boot *boot)
{
	static const struct vmm_load_args no_args;
	const struct mb_header *h;
	struct mb_extent ext = { 0, 0 };
	uint64_t entry = 0, info_gpa = 0;
	size_t off;
	int rc;

	rc = find_header(img, &h, &off);
	if (rc)
		return rc;
	if (h->flags & 0xffffu & ~MB_KNOWN_REQUIRED) {
		util_err("%s: Multiboot header requires features avmm lacks (flags 0x%x)",
			 img->path, h->flags);
		return -ENOEXEC;
	}
	rc = (h->flags & MB_AOUT_KLUDGE) ? load_aout(img, map, h, off, &entry, &ext)
					 : load_elf32(img, map, &entry, &ext);
	if (rc)
		return rc;
	rc = write_info(img, map, args ? args : &no_args, &ext, &info_gpa);
	if (rc)
		return rc;
	memset(boot, 0, sizeof(*boot));
	boot->mode = VMM_MODE_PROT32;
	boot->rip = entry;
	boot->rax = MB_BOOT_MAGIC;
	boot->rbx = info_gpa;
	return 0;
}
