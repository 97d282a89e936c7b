/* Unit tests: the Multiboot v1 loader on a plain buffer standing in for RAM. */
#include <criterion/criterion.h>
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm-core/loader.h"

#define RAM (32u << 20)

static struct vmm_mem_map map;
static uint8_t img[0x2000];

static void setup(void)
{
	map.nr = 1;
	map.r[0].gpa = 0;
	map.r[0].bytes = RAM;
	map.r[0].hva = calloc(1, RAM);
}

static void teardown(void)
{
	free(map.r[0].hva);
}

TestSuite(multiboot, .init = setup, .fini = teardown);

static void mb_header(uint32_t *mb, uint32_t flags)
{
	mb[0] = 0x1BADB002;
	mb[1] = flags;
	mb[2] = -(mb[0] + mb[1]);
}

/* ELF32 with one segment: 0x200 file bytes + bss, at paddr. */
static void make_elf(uint32_t paddr, uint32_t memsz)
{
	Elf32_Ehdr *eh = (void *)img;
	Elf32_Phdr *ph = (void *)(img + sizeof(*eh));

	memset(img, 0, sizeof(img));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS32;
	eh->e_machine = EM_386;
	eh->e_entry = paddr + 0x180;
	eh->e_phoff = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 1;
	*ph = (Elf32_Phdr){ .p_type = PT_LOAD, .p_offset = 0, .p_paddr = paddr,
			    .p_vaddr = paddr, .p_filesz = 0x200, .p_memsz = memsz };
	mb_header((uint32_t *)(img + 0x100), 0x3);
	img[0x1ff] = 0xab;
}

static int load(const char *cmdline, struct vmm_boot *b)
{
	struct vmm_image im = { img, sizeof(img), "test.elf" };
	struct vmm_load_args a = { .cmdline = cmdline, .vcpus = 1 };

	return vmm_load_multiboot(&im, &map, &a, b);
}

Test(multiboot, loads_elf_and_fills_info)
{
	struct vmm_boot b;
	uint32_t *info = (uint32_t *)(map.r[0].hva + VMM_BOOTINFO_GPA);
	uint8_t *seg = map.r[0].hva + 0x100000;

	make_elf(0x100000, 0x1000);
	memset(seg + 0x200, 0x77, 16); /* bss must be cleared */
	cr_assert_eq(load("n=5", &b), 0);
	cr_assert_eq(b.mode, VMM_MODE_PROT32);
	cr_assert_eq(b.rax, 0x2BADB002);
	cr_assert_eq(b.rbx, VMM_BOOTINFO_GPA);
	cr_assert_eq(b.rip, 0x100180);
	cr_assert_eq(seg[0x1ff], 0xab);
	cr_assert_eq(seg[0x200], 0);
	cr_assert(info[0] & (1u << 2), "cmdline flag");
	cr_assert(info[0] & (1u << 6), "mmap flag");
	cr_assert_eq(info[2], (RAM - 0x100000) >> 10, "mem_upper in KiB");
	cr_assert_str_eq((char *)map.r[0].hva + info[4], "test.elf n=5");
	cr_assert_gt(info[11], 0, "mmap_length");
}

Test(multiboot, aout_kludge)
{
	uint32_t *mb = (uint32_t *)(img + 0x40);
	struct vmm_boot b;

	memset(img, 0, sizeof(img));
	mb_header(mb, 0x10000);
	mb[3] = 0x200040;          /* header_addr */
	mb[4] = 0x200000;          /* load_addr: file offset 0 */
	mb[5] = 0x200800;          /* load_end_addr */
	mb[6] = 0x201000;          /* bss_end_addr */
	mb[7] = 0x200100;          /* entry */
	img[0x7ff] = 0x5c;
	cr_assert_eq(load(NULL, &b), 0);
	cr_assert_eq(b.rip, 0x200100);
	cr_assert_eq(map.r[0].hva[0x2007ff], 0x5c);
}

/* Below 1 MiB is fine (tests/loaders/test_lowload.c), not over the BIOS area. */
Test(multiboot, rejects_segment_over_bios_area)
{
	struct vmm_boot b;

	make_elf(0xf0000, 0x1000);
	cr_assert_eq(load(NULL, &b), -ENOEXEC);
}

Test(multiboot, rejects_guest_larger_than_memory)
{
	struct vmm_boot b;

	make_elf(0x100000, 64u << 20);
	cr_assert_eq(load(NULL, &b), -EFBIG);
}

Test(multiboot, rejects_unknown_required_features)
{
	struct vmm_boot b;

	make_elf(0x100000, 0x1000);
	mb_header((uint32_t *)(img + 0x100), 0x3 | 0x8);
	cr_assert_eq(load(NULL, &b), -ENOEXEC);
}

Test(multiboot, rejects_no_header)
{
	struct vmm_boot b;

	make_elf(0x100000, 0x1000);
	memset(img + 0x100, 0, 12);
	cr_assert_eq(load(NULL, &b), -ENOEXEC);
}

/* The ELF checks shared with the PVH loader (vmm-core/elf.c), through Multiboot. */
Test(multiboot, rejects_malformed_elf)
{
	Elf32_Ehdr *eh = (void *)img;
	Elf32_Phdr *ph = (void *)(img + sizeof(*eh));
	struct vmm_boot b;

	make_elf(0x100000, 0x1000);
	ph->p_offset = sizeof(img) - 0x100; /* segment data past the end of the file */
	cr_expect_eq(load(NULL, &b), -ENOEXEC);
	make_elf(0x100000, 0x1000);
	ph->p_memsz = 0x100; /* filesz > memsz */
	cr_expect_eq(load(NULL, &b), -ENOEXEC);
	make_elf(0x100000, 0x1000);
	eh->e_phoff = sizeof(img) - 0x10; /* program header table past the end */
	cr_expect_eq(load(NULL, &b), -ENOEXEC);
	make_elf(0x100000, 0x1000);
	eh->e_phentsize = 40;
	cr_expect_eq(load(NULL, &b), -ENOEXEC);
	make_elf(0x100000, 0x1000);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	cr_expect_eq(load(NULL, &b), -ENOEXEC);
}

/* Multiboot keeps its historic leniency: no EI_DATA byte (make_elf leaves it 0),
 * no program header at all, and unloaded segments are not checked. */
Test(multiboot, elf_leniency_kept)
{
	Elf32_Ehdr *eh = (void *)img;
	Elf32_Phdr *ph = (void *)(img + sizeof(*eh));
	struct vmm_boot b;

	make_elf(0x100000, 0x1000);
	ph->p_memsz = 0;
	ph->p_offset = 0xfffffff0; /* not loaded, so not checked */
	cr_expect_eq(load(NULL, &b), 0);
	make_elf(0x100000, 0x1000);
	eh->e_phnum = 0;
	cr_expect_eq(load(NULL, &b), 0);
	cr_expect_eq(b.rip, 0x100180);
}

Test(multiboot, aout_over_ebda_and_too_large)
{
	uint32_t *mb = (uint32_t *)(img + 0x100);
	struct vmm_boot b;

	memset(img, 0, sizeof(img));
	mb_header(mb, 0x10003);
	mb[3] = 0x9f100;          /* header_addr: header at file offset 0x100 */
	mb[4] = 0x9f000;          /* load_addr: runs into the EBDA at 0x9fc00 */
	mb[5] = 0x9f800;
	mb[6] = 0xa0000;
	mb[7] = 0x9f100;
	cr_expect_eq(load(NULL, &b), -ENOEXEC);
	mb_header(mb, 0x10003);
	mb[3] = 0x200100;
	mb[4] = 0x200000;
	mb[5] = 0x200800;
	mb[6] = 0x200000 + RAM;   /* bss past the end of RAM */
	mb[7] = 0x200100;
	cr_expect_eq(load(NULL, &b), -EFBIG);
}
