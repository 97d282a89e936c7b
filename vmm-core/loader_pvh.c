/*
 * ELF vmlinux (ELF64 or ELF32) through the Xen PVH entry point
 * (XEN_ELFNOTE_PHYS32_ENTRY, note 18 of owner "Xen"): PT_LOAD segments go to
 * p_paddr, struct hvm_start_info (version 1) to VMM_BOOTINFO_GPA, its memory
 * map to VMM_MEMMAP_GPA, the command line to VMM_CMDLINE_GPA and the initrd,
 * page aligned, as high in RAM below the MMIO hole as it fits. The vCPU
 * enters in 32-bit protected mode with paging off at the entry, %ebx = the
 * start_info address (Xen docs/misc/pvh.pandoc).
 */
#include "vmm-core/loader.h"

#include "common/util.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define PT_LOAD 1
#define PT_NOTE 4
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define PVH_START_MAGIC 0x336ec578u
#define PVH_MODLIST_GPA (VMM_BOOTINFO_GPA + 0x100)
#define ELF_MAX_PHDRS 4096
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

struct elf_seg { uint32_t type; uint64_t offset, paddr, filesz, memsz; };
struct elf_hdr { bool is64; uint64_t phoff; uint32_t phnum, phentsize; };

static uint64_t rd(const uint8_t *p, int bytes)
{
	uint64_t v = 0;

	while (bytes--)
		v = (v << 8) | p[bytes];
	return v;
}

/* True when [off, off+len) lies inside a file of `size` bytes (no overflow). */
static bool in_file(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

static int elf_header(const struct vmm_image *img, struct elf_hdr *h, char *why, size_t n)
{
	const uint8_t *d = img->data;
	uint64_t machine;

	if (img->size < 4 || memcmp(d, "\177ELF", 4)) {
		snprintf(why, n, "not an ELF file");
		return -ENOEXEC;
	}
	if (img->size < 52) {
		snprintf(why, n, "truncated: ELF header needs 52 bytes, file has %zu", img->size);
		return -ENOEXEC;
	}
	if (d[4] != 1 && d[4] != 2) {
		snprintf(why, n, "bad ELF class %u", d[4]);
		return -ENOEXEC;
	}
	h->is64 = d[4] == 2;
	if (h->is64 && img->size < 64) {
		snprintf(why, n, "truncated: ELF64 header needs 64 bytes, file has %zu", img->size);
		return -ENOEXEC;
	}
	machine = rd(d + 18, 2);
	if (d[5] != 1 || (machine != 3 && machine != 62)) {
		snprintf(why, n, "not a little-endian x86 ELF (data %u, machine %llu)", d[5],
			 (unsigned long long)machine);
		return -ENOEXEC;
	}
	h->phoff = h->is64 ? rd(d + 32, 8) : rd(d + 28, 4);
	h->phentsize = (uint32_t)rd(d + (h->is64 ? 54 : 42), 2);
	h->phnum = (uint32_t)rd(d + (h->is64 ? 56 : 44), 2);
	if (h->phentsize != (h->is64 ? 56u : 32u) || h->phnum == 0 || h->phnum > ELF_MAX_PHDRS) {
		snprintf(why, n, "bad program header table (entry size %u, %u entries)",
			 h->phentsize, h->phnum);
		return -ENOEXEC;
	}
	if (!in_file(h->phoff, (uint64_t)h->phnum * h->phentsize, img->size)) {
		snprintf(why, n, "truncated: program header table at 0x%llx (%u x %u bytes) "
			 "beyond file size 0x%zx", (unsigned long long)h->phoff, h->phnum,
			 h->phentsize, img->size);
		return -ENOEXEC;
	}
	return 0;
}

static int elf_seg_get(const struct vmm_image *img, const struct elf_hdr *h, uint32_t i,
		       struct elf_seg *s, char *why, size_t n)
{
	const uint8_t *p = img->data + h->phoff + (uint64_t)i * h->phentsize;

	s->type = (uint32_t)rd(p, 4);
	if (h->is64) {
		s->offset = rd(p + 8, 8);
		s->paddr = rd(p + 24, 8);
		s->filesz = rd(p + 32, 8);
		s->memsz = rd(p + 40, 8);
	} else {
		s->offset = rd(p + 4, 4);
		s->paddr = rd(p + 12, 4);
		s->filesz = rd(p + 16, 4);
		s->memsz = rd(p + 20, 4);
	}
	if (s->type != PT_LOAD && s->type != PT_NOTE)
		return 0;
	if (!in_file(s->offset, s->filesz, img->size)) {
		snprintf(why, n, "truncated: program header %u ends at 0x%llx beyond file size 0x%zx",
			 i, (unsigned long long)(s->offset + s->filesz), img->size);
		return -ENOEXEC;
	}
	if (s->type == PT_LOAD && (s->filesz > s->memsz || s->paddr + s->memsz < s->paddr)) {
		snprintf(why, n, "program header %u: bad sizes (file 0x%llx, memory 0x%llx at 0x%llx)",
			 i, (unsigned long long)s->filesz, (unsigned long long)s->memsz,
			 (unsigned long long)s->paddr);
		return -ENOEXEC;
	}
	return 0;
}

/* Walks one PT_NOTE segment; 1 and *entry set when the PVH note is found. */
static int note_scan(const uint8_t *d, uint64_t len, uint32_t seg, uint64_t *entry,
		     char *why, size_t n)
{
	uint64_t off = 0;

	while (len - off >= 12) {
		uint64_t namesz = rd(d + off, 4), descsz = rd(d + off + 4, 4);
		uint64_t type = rd(d + off + 8, 4);
		uint64_t name = off + 12, desc = name + ((namesz + 3) & ~3ull);

		if (desc > len || ((descsz + 3) & ~3ull) > len - desc) {
			snprintf(why, n, "truncated: note at 0x%llx in program header %u runs past "
				 "its segment (0x%llx bytes)", (unsigned long long)off, seg,
				 (unsigned long long)len);
			return -ENOEXEC;
		}
		if (type == XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 && !memcmp(d + name, "Xen", 4)) {
			if (descsz != 4 && descsz != 8) {
				snprintf(why, n, "PVH entry note has %llu bytes (want 4 or 8)",
					 (unsigned long long)descsz);
				return -ENOEXEC;
			}
			*entry = rd(d + desc, (int)descsz);
			if (*entry >= VMM_HIGH_GPA) {
				snprintf(why, n, "PVH entry 0x%llx is not a 32-bit address",
					 (unsigned long long)*entry);
				return -ENOEXEC;
			}
			return 1;
		}
		off = desc + ((descsz + 3) & ~3ull);
	}
	return 0;
}

int vmm_pvh_entry(const struct vmm_image *img, uint64_t *entry, char *why, size_t why_len)
{
	struct elf_hdr h;
	struct elf_seg s;
	uint32_t i;
	int rc;

	rc = elf_header(img, &h, why, why_len);
	for (i = 0; !rc && i < h.phnum; i++) {
		rc = elf_seg_get(img, &h, i, &s, why, why_len);
		if (!rc && s.type == PT_NOTE)
			rc = note_scan(img->data + s.offset, s.filesz, i, entry, why, why_len);
	}
	if (rc == 1)
		return 0;
	if (!rc) {
		snprintf(why, why_len, "ELF has no Xen PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY): "
			 "build the kernel with CONFIG_PVH=y or pass a bzImage");
		rc = -ENOENT;
	}
	return rc;
}

/*
 * Segments start at 1 MiB or above: below lie the GDT, page tables, boot
 * information, command line, EBDA and BIOS area (as for Multiboot).
 */
#define PVH_MIN_LOAD_GPA 0x100000ull

static int pvh_load_segments(const struct vmm_image *img, const struct vmm_mem_map *map,
			     uint64_t *end)
{
	char why[256] = "";
	struct elf_hdr h;
	struct elf_seg s;
	uint8_t *dst;
	uint32_t i;
	int rc = elf_header(img, &h, why, sizeof(why)), loaded = 0;

	for (i = 0; !rc && i < h.phnum; i++) {
		rc = elf_seg_get(img, &h, i, &s, why, sizeof(why));
		if (rc || s.type != PT_LOAD || !s.memsz)
			continue;
		dst = vmm_gpa_ptr(map, s.paddr, s.memsz);
		if (!dst || s.paddr + s.memsz > VMM_HIGH_GPA) {
			snprintf(why, sizeof(why), "guest larger than memory: segment %u [0x%llx, "
				 "0x%llx) is outside low RAM (ends at 0x%llx): raise --mem", i,
				 (unsigned long long)s.paddr, (unsigned long long)(s.paddr + s.memsz),
				 (unsigned long long)map->r[0].bytes);
			rc = -EFBIG;
		} else if (s.paddr < PVH_MIN_LOAD_GPA) {
			snprintf(why, sizeof(why), "segment %u [0x%llx, 0x%llx) is below 1 MiB, where "
				 "avmm keeps boot data (link it at 1 MiB or above)", i,
				 (unsigned long long)s.paddr, (unsigned long long)(s.paddr + s.memsz));
			rc = -EINVAL;
		} else {
			memcpy(dst, img->data + s.offset, s.filesz);
			memset(dst + s.filesz, 0, s.memsz - s.filesz);
			*end = UTIL_MAX(*end, s.paddr + s.memsz);
			loaded++;
		}
	}
	if (!rc && !loaded) {
		snprintf(why, sizeof(why), "no loadable segment");
		rc = -ENOEXEC;
	}
	if (rc)
		util_err("%s: %s", img->path, why);
	return rc;
}

static int pvh_cmdline(const struct vmm_image *img, const struct vmm_mem_map *map,
		       const char *cmdline)
{
	size_t len = cmdline ? strlen(cmdline) : 0;
	char *dst;

	if (len >= VMM_CMDLINE_MAX) {
		util_err("%s: command line is %zu bytes, at most %llu fit", img->path, len,
			 (unsigned long long)VMM_CMDLINE_MAX - 1);
		return -E2BIG;
	}
	dst = vmm_gpa_ptr(map, VMM_CMDLINE_GPA, len + 1);
	if (!dst) {
		util_err("%s: guest RAM does not cover the command line at 0x%llx", img->path,
			 (unsigned long long)VMM_CMDLINE_GPA);
		return -ENOSPC;
	}
	memcpy(dst, cmdline ? cmdline : "", len + 1);
	return 0;
}

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
	uint64_t entry = 0, end = 0, initrd_gpa = 0;
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
	rc = pvh_load_segments(img, map, &end);
	if (!rc)
		rc = pvh_cmdline(img, map, a->cmdline);
	if (!rc && a->initrd && a->initrd_size)
		rc = pvh_initrd(img, map, a, end, &initrd_gpa);
	if (!rc)
		rc = pvh_start_info(img, map, a, initrd_gpa);
	if (rc)
		return rc;
	if (entry < PVH_MIN_LOAD_GPA || entry >= end) {
		util_err("%s: PVH entry 0x%llx is outside the loaded kernel", img->path,
			 (unsigned long long)entry);
		return -ENOEXEC;
	}
	*boot = (struct vmm_boot){ .mode = VMM_MODE_PROT32, .rip = entry,
				   .rbx = VMM_BOOTINFO_GPA };
	return 0;
}
