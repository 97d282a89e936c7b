/*
 * vmm-core internal: guest image loaders (Multiboot v1 ELF32, ELF64 vmlinux
 * through the PVH entry note, Linux bzImage through the 64-bit boot protocol).
 *
 * A loader copies the image into guest memory through a vmm_mem_map, writes
 * the boot structures the protocol asks for, and fills a vmm_boot that says
 * how the boot vCPU must be entered. Loaders do no KVM calls, so the unit
 * tests run them on plain buffers.
 *
 * Fixed low-memory layout shared by loaders and vCPU set-up (gpa):
 *   0x0500  GDT (0x10 code, 0x18 data, flat)   -- written by vCPU set-up
 *   0x1000  long-mode identity page tables (PML4, PDPT, 4 PDs: 4 GiB, 2 MiB pages)
 *   0x7000  boot information (multiboot info / hvm_start_info / boot_params)
 *   0x8000  memory map for the boot information
 *   0x20000 command line (up to VMM_CMDLINE_MAX bytes)
 *   0xf0000 MP floating pointer and configuration table (BIOS area)
 * Multiboot images may also load below 1 MiB outside the areas avmm fills
 * itself (vmm_lowmem_conflict); the Multiboot boot information, memory map
 * and command line then move out of the image's way (after it, or below it).
 * Errors: 0 or negative errno; a message naming the file was logged.
 */
#ifndef AVMM_VMM_LOADER_H
#define AVMM_VMM_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VMM_GDT_GPA        0x0500ull
#define VMM_PGTABLE_GPA    0x1000ull
#define VMM_BOOTINFO_GPA   0x7000ull
#define VMM_MEMMAP_GPA     0x8000ull
#define VMM_CMDLINE_GPA    0x20000ull
#define VMM_CMDLINE_MAX    0x10000ull
#define VMM_BIOS_GPA       0xf0000ull
#define VMM_LOW_RAM_END    0x9fc00ull   /* conventional memory below the EBDA */
#define VMM_HIGH_GPA       0x100000000ull
#define VMM_MMIO_HOLE_GPA  0xc0000000ull /* RAM above 3 GiB moves to 4 GiB */
#define VMM_MIN_LOAD_GPA   0x100000ull   /* kernels load at 1 MiB or above */

#define VMM_SEL_CODE 0x10
#define VMM_SEL_DATA 0x18

struct vmm_mem_map {
	int nr;
	struct { uint64_t gpa, bytes; uint8_t *hva; } r[2];
};

/* Host pointer for [gpa, gpa+len) if it lies inside one region, else NULL. */
void *vmm_gpa_ptr(const struct vmm_mem_map *map, uint64_t gpa, uint64_t len);

/* e820-style ranges of the machine: usable RAM and reserved BIOS areas.
 * Returns the number of entries, -EINVAL when region 0 does not start at 0
 * or is under 1 MiB, -ENOSPC when max is too small. */
enum { VMM_E820_RAM = 1, VMM_E820_RESERVED = 2 };
struct vmm_e820 { uint64_t addr, size; uint32_t type; };
#define VMM_E820_MAX 8
int vmm_e820_build(const struct vmm_mem_map *map, struct vmm_e820 *out, int max);

enum vmm_cpu_mode { VMM_MODE_PROT32, VMM_MODE_LONG64 };

struct vmm_boot {
	enum vmm_cpu_mode mode; /* 32-bit flat paging off, or 64-bit identity mapped */
	uint64_t rip, rsp, rax, rbx, rsi;
};

struct vmm_image { const uint8_t *data; size_t size; const char *path; };

struct vmm_load_args {
	const char *cmdline;     /* may be NULL */
	const uint8_t *initrd;   /* may be NULL */
	size_t initrd_size;
	const char *initrd_path;
	int vcpus;
};

int vmm_load_multiboot(const struct vmm_image *img, const struct vmm_mem_map *map,
		       const struct vmm_load_args *args, struct vmm_boot *boot);
int vmm_load_pvh(const struct vmm_image *img, const struct vmm_mem_map *map,
		 const struct vmm_load_args *args, struct vmm_boot *boot);
int vmm_load_bzimage(const struct vmm_image *img, const struct vmm_mem_map *map,
		     const struct vmm_load_args *args, struct vmm_boot *boot);
/* lowmem.c: the area below 1 MiB that avmm fills itself (boot GDT, EBDA,
 * VGA/ROM window, BIOS area with the MP, ACPI and SMBIOS tables) which
 * [gpa, gpa+len) overlaps first, or NULL. Pure. */
struct vmm_lowmem_area { uint64_t start, end; const char *what; };
const struct vmm_lowmem_area *vmm_lowmem_conflict(uint64_t gpa, uint64_t len);
/* elf.c: copies filesz bytes of src to gpa and zero-fills it to memsz bytes.
 * -EFBIG when [gpa, gpa+memsz) is not inside one RAM region below 4 GiB,
 * -EINVAL when gpa is below VMM_MIN_LOAD_GPA and low_ok is false (boot data
 * lives there), or low_ok and the segment overlaps an area avmm fills itself
 * (vmm_lowmem_conflict: the message names both ranges); the message names
 * img->path and segment `index`. */
int vmm_load_segment(const struct vmm_image *img, const struct vmm_mem_map *map, uint32_t index,
		     uint64_t gpa, const uint8_t *src, uint64_t filesz, uint64_t memsz,
		     bool low_ok);
/* elf.c: validates an ELF32/ELF64 x86 image (little-endian, 1 to 4096 program
 * headers within the file, PT_LOAD and PT_NOTE segments within the file, no
 * wrap, filesz <= memsz) and copies each PT_LOAD segment to its p_paddr with
 * vmm_load_segment. lax keeps the Multiboot loader's historic rules: any
 * EI_DATA byte, any number of program headers, and only PT_LOAD segments with
 * a memory size checked. Returns the number of segments loaded, with *entry =
 * e_entry and *end raised to the highest end gpa, or a negative errno.
 * Segments below 1 MiB load only when lax (vmm_load_segment's low_ok)
 * (-ENOEXEC for a malformed file), a message naming the file logged. */
int vmm_elf_load(const struct vmm_image *img, const struct vmm_mem_map *map, bool lax,
		 uint64_t *entry, uint64_t *end);
/* elf.c: entry point from an ELF's Xen PVH note: 0, -ENOENT (no note) or -ENOEXEC
 * (malformed: why says how). Logs nothing. */
int vmm_pvh_entry(const struct vmm_image *img, uint64_t *entry, char *why, size_t why_len);
/* e820.c: copies cmdline (NULL: empty) to VMM_CMDLINE_GPA; longer than
 * max_len (capped at VMM_CMDLINE_MAX - 1) is -E2BIG, the message naming limit. */
int vmm_put_cmdline(const struct vmm_mem_map *map, const char *path, const char *cmdline,
		    uint64_t max_len, const char *limit);
/* Detects the format (bzImage "HdrS", ELF64 with a PVH note, Multiboot v1). */
int vmm_load_guest(const struct vmm_image *img, const struct vmm_mem_map *map,
		   const struct vmm_load_args *args, struct vmm_boot *boot);

/* Writes the MP floating pointer + configuration table for nr_cpus CPUs. */
int vmm_mptable_write(const struct vmm_mem_map *map, int nr_cpus);

#endif
