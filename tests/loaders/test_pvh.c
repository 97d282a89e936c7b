/* ELF vmlinux through the PVH entry note, on a malloc'd guest RAM buffer. */
#include <criterion/criterion.h>
#include <elf.h>
#include <errno.h>

#include "tl.h"

static uint8_t img_buf[0x1000];

static struct vmm_image elf64(size_t *size, int desc)
{
	*size = tl_elf64_pvh(img_buf, sizeof(img_buf), desc);
	return (struct vmm_image){ img_buf, *size, "guest.elf" };
}

static void check_start_info(const struct tl_ram *r, uint32_t modules)
{
	const uint8_t *si = r->buf + VMM_BOOTINFO_GPA, *mm;
	uint32_t n, i;

	cr_expect_eq(tl_rd(si, 4), 0x336ec578u, "magic");
	cr_expect_eq(tl_rd(si + 4, 4), 1, "version");
	cr_expect_eq(tl_rd(si + 8, 4), 0, "flags");
	cr_expect_eq(tl_rd(si + 12, 4), modules);
	cr_expect_eq(tl_rd(si + 24, 8), VMM_CMDLINE_GPA);
	cr_expect_eq(tl_rd(si + 32, 8), 0xe0000, "the RSDP avmm writes");
	cr_expect_eq(tl_rd(si + 40, 8), VMM_MEMMAP_GPA);
	n = (uint32_t)tl_rd(si + 48, 4);
	cr_expect_eq(tl_rd(si + 52, 4), 0, "reserved");
	cr_assert_eq(n, 5, "64 MiB map has 5 ranges");
	mm = r->buf + VMM_MEMMAP_GPA;
	for (i = 0; i < n; i++, mm += 24)
		cr_expect_eq(tl_rd(mm + 20, 4), 0, "entry %u reserved field", i);
	mm = r->buf + VMM_MEMMAP_GPA;
	cr_expect(tl_rd(mm, 8) == 0 && tl_rd(mm + 8, 8) == VMM_LOW_RAM_END && tl_rd(mm + 16, 4) == 1);
	cr_expect_eq(tl_rd(mm + 24 + 16, 4), 2, "EBDA reserved (XEN_HVM_MEMMAP_TYPE_RESERVED)");
	cr_expect_eq(tl_rd(mm + 48, 8), 0xe0000, "BIOS area: ACPI, MP table, SMBIOS");
	cr_expect(tl_rd(mm + 72, 8) == TL_MIB && tl_rd(mm + 80, 8) == 63 * TL_MIB &&
		  tl_rd(mm + 88, 4) == 1);
	cr_expect(tl_rd(mm + 96, 8) == 0xfeb00000 && tl_rd(mm + 112, 4) == 2,
		  "avmm's run-delay page, reserved");
}

Test(pvh, elf64_loads_segments_start_info_and_boot_state)
{
	struct vmm_load_args args = { .cmdline = "console=ttyS0 quiet", .vcpus = 1 };
	struct vmm_boot boot;
	struct tl_ram r;
	size_t size, i;
	struct vmm_image img = elf64(&size, 8);

	cr_assert_eq(tl_ram_init(&r, 64 * TL_MIB), 0);
	cr_assert_eq(vmm_load_pvh(&img, &r.map, &args, &boot), 0);
	cr_expect_eq(memcmp(r.buf + TL_ELF_LOAD_GPA, img_buf + TL_ELF_CODE_OFF, TL_ELF_CODE_LEN), 0);
	for (i = TL_ELF_CODE_LEN; i < TL_ELF_MEMSZ; i++)
		cr_assert_eq(r.buf[TL_ELF_LOAD_GPA + i], 0, "bss byte %zu not zeroed", i);
	cr_expect_eq(r.buf[TL_ELF_LOAD_GPA + TL_ELF_MEMSZ], 0xcc, "nothing written past memsz");
	cr_expect_eq(boot.mode, VMM_MODE_PROT32);
	cr_expect_eq(boot.rip, TL_ELF_ENTRY);
	cr_expect_eq(boot.rbx, VMM_BOOTINFO_GPA);
	cr_expect_str_eq((const char *)r.buf + VMM_CMDLINE_GPA, "console=ttyS0 quiet");
	check_start_info(&r, 0);
	tl_ram_free(&r);
}

Test(pvh, elf32_with_4_byte_note_after_another_note)
{
	struct vmm_boot boot;
	struct tl_ram r;
	size_t size = tl_elf32_pvh(img_buf, sizeof(img_buf));
	struct vmm_image img = { img_buf, size, "guest32.elf" };

	cr_assert_eq(tl_ram_init(&r, 64 * TL_MIB), 0);
	cr_assert_eq(vmm_load_pvh(&img, &r.map, NULL, &boot), 0);
	cr_expect_eq(boot.rip, TL_ELF_ENTRY);
	cr_expect_eq(memcmp(r.buf + TL_ELF_LOAD_GPA, img_buf + TL_ELF_CODE_OFF, TL_ELF_CODE_LEN), 0);
	cr_expect_str_eq((const char *)r.buf + VMM_CMDLINE_GPA, "", "NULL cmdline -> empty string");
	check_start_info(&r, 0);
	tl_ram_free(&r);
}

Test(pvh, initrd_goes_high_and_page_aligned_in_modlist)
{
	static uint8_t initrd[10000];
	struct vmm_load_args args = { .initrd = initrd, .initrd_size = sizeof(initrd),
				      .initrd_path = "initrd.img" };
	const uint8_t *si, *mod;
	struct vmm_boot boot;
	struct tl_ram r;
	uint64_t gpa;
	size_t size, i;
	struct vmm_image img = elf64(&size, 4);

	for (i = 0; i < sizeof(initrd); i++)
		initrd[i] = (uint8_t)(i * 13);
	cr_assert_eq(tl_ram_init(&r, 64 * TL_MIB), 0);
	cr_assert_eq(vmm_load_pvh(&img, &r.map, &args, &boot), 0);
	check_start_info(&r, 1);
	si = r.buf + VMM_BOOTINFO_GPA;
	mod = r.buf + tl_rd(si + 16, 8);
	cr_assert(tl_rd(si + 16, 8) >= VMM_BOOTINFO_GPA + 56 && tl_rd(si + 16, 8) < VMM_MEMMAP_GPA);
	gpa = tl_rd(mod, 8);
	cr_expect_eq(gpa % 4096, 0);
	cr_expect_eq(gpa, (64 * TL_MIB - sizeof(initrd)) & ~4095ull);
	cr_expect_eq(tl_rd(mod + 8, 8), sizeof(initrd));
	cr_expect_eq(tl_rd(mod + 16, 8), 0, "no module command line");
	cr_expect_eq(memcmp(r.buf + gpa, initrd, sizeof(initrd)), 0);
	tl_ram_free(&r);
}

/* Loads img with 64 MiB and expects rc plus a message containing want. */
static void expect_fail(const uint8_t *data, size_t size, const struct vmm_load_args *args,
			int rc_want, const char *want)
{
	struct vmm_image img = { data, size, "guest.elf" };
	struct vmm_boot boot;
	struct tl_ram r;
	struct tl_cap c;
	int rc;

	cr_assert_eq(tl_ram_init(&r, 64 * TL_MIB), 0);
	tl_cap_begin(&c);
	rc = vmm_load_pvh(&img, &r.map, args, &boot);
	tl_cap_end(&c);
	cr_expect_eq(rc, rc_want, "rc %d, want %d (%s)", rc, rc_want, c.text);
	cr_expect(strstr(c.text, "guest.elf: "), "message names the file: %s", c.text);
	cr_expect(strstr(c.text, want), "want \"%s\" in: %s", want, c.text);
	cr_expect_eq(strchr(c.text, '\n'), strrchr(c.text, '\n'), "one line: %s", c.text);
	tl_ram_free(&r);
}

#define PH(i) (img_buf + sizeof(Elf64_Ehdr) + (i) * sizeof(Elf64_Phdr))

Test(pvh_malformed, header_problems)
{
	size_t size;

	elf64(&size, 8);
	expect_fail(img_buf, 3, NULL, -ENOEXEC, "not an ELF");
	expect_fail(img_buf, 40, NULL, -ENOEXEC, "truncated: ELF header");
	expect_fail(img_buf, 60, NULL, -ENOEXEC, "truncated: ELF64 header");
	expect_fail(img_buf, 100, NULL, -ENOEXEC, "truncated: program header table");
	img_buf[4] = 7;
	expect_fail(img_buf, size, NULL, -ENOEXEC, "bad ELF class 7");
	elf64(&size, 8);
	tl_wr(img_buf + 18, 40, 2); /* EM_ARM */
	expect_fail(img_buf, size, NULL, -ENOEXEC, "not a little-endian x86 ELF");
	elf64(&size, 8);
	tl_wr(img_buf + 56, 0xffff, 2);
	expect_fail(img_buf, size, NULL, -ENOEXEC, "bad program header table");
	elf64(&size, 8);
	tl_wr(img_buf + 54, 32, 2);
	expect_fail(img_buf, size, NULL, -ENOEXEC, "entry size 32");
	elf64(&size, 8);
	tl_wr(img_buf + 32, UINT64_MAX - 8, 8); /* e_phoff wraps */
	expect_fail(img_buf, size, NULL, -ENOEXEC, "program header table");
}

Test(pvh_malformed, segment_problems)
{
	size_t size;

	elf64(&size, 8);
	tl_wr(PH(0) + 32, 0x1000, 8); /* filesz past the end of the file */
	expect_fail(img_buf, size, NULL, -ENOEXEC, "truncated: program header 0 ends at 0x1100 beyond file size 0x140");
	elf64(&size, 8);
	tl_wr(PH(0) + 8, UINT64_MAX - 0x10, 8); /* p_offset + p_filesz wraps */
	expect_fail(img_buf, size, NULL, -ENOEXEC, "truncated: program header 0");
	elf64(&size, 8);
	tl_wr(PH(0) + 40, 0x10, 8); /* memsz < filesz */
	expect_fail(img_buf, size, NULL, -ENOEXEC, "bad sizes");
	elf64(&size, 8);
	tl_wr(PH(0) + 24, UINT64_MAX - 0x100, 8); /* paddr + memsz wraps */
	expect_fail(img_buf, size, NULL, -ENOEXEC, "bad sizes");
	elf64(&size, 8);
	tl_wr(PH(0) + 24, 64 * TL_MIB - 0x1000, 8); /* straddles the end of RAM */
	expect_fail(img_buf, size, NULL, -EFBIG, "guest larger than memory: segment 0");
	elf64(&size, 8);
	tl_wr(PH(0) + 24, 0x8000, 8); /* over the boot structures */
	expect_fail(img_buf, size, NULL, -EINVAL, "below 1 MiB");
	elf64(&size, 8);
	tl_wr(PH(0), PT_NULL, 4);
	expect_fail(img_buf, size, NULL, -ENOEXEC, "no loadable segment");
}

Test(pvh_malformed, note_problems)
{
	uint8_t *note = img_buf + TL_ELF64_NOTE_OFF;
	size_t size;

	elf64(&size, 8);
	tl_wr(note, 0xffffffff, 4); /* namesz runs past the segment */
	expect_fail(img_buf, size, NULL, -ENOEXEC, "runs past its segment");
	elf64(&size, 8);
	tl_wr(note + 4, 0xfffffffd, 4); /* descsz rounds up past 4 GiB */
	expect_fail(img_buf, size, NULL, -ENOEXEC, "runs past its segment");
	elf64(&size, 8);
	tl_wr(PH(1) + 8, 0x138, 8); /* note segment past the end of the file */
	expect_fail(img_buf, size, NULL, -ENOEXEC, "truncated: program header 1");
	elf64(&size, 8);
	tl_wr(note + 4, 2, 4);
	expect_fail(img_buf, size, NULL, -ENOEXEC, "PVH entry note has 2 bytes");
	elf64(&size, 8);
	tl_wr(note + 16, 0x100000000ull, 8);
	expect_fail(img_buf, size, NULL, -ENOEXEC, "not a 32-bit address");
	elf64(&size, 8);
	memcpy(note + 12, "Xem", 4);
	expect_fail(img_buf, size, NULL, -ENOENT, "no Xen PVH entry note");
	elf64(&size, 8);
	tl_wr(note + 16, 0x500, 8);
	expect_fail(img_buf, size, NULL, -ENOEXEC, "outside the loaded kernel");
}

Test(pvh_malformed, args_problems)
{
	static char longline[VMM_CMDLINE_MAX + 1];
	struct vmm_load_args a = { .cmdline = longline };
	struct vmm_load_args big = { .initrd = img_buf, .initrd_size = 63 * TL_MIB,
				     .initrd_path = "huge.img" };
	size_t size;

	memset(longline, 'x', VMM_CMDLINE_MAX);
	elf64(&size, 8);
	expect_fail(img_buf, size, &a, -E2BIG, "command line is 65536 bytes");
	/* initrd_size is checked against RAM before the data is read. */
	expect_fail(img_buf, size, &big, -ENOSPC, "initrd huge.img (63 MiB) does not fit");
}

/* Every proper prefix of a valid image must fail cleanly (ASan checks reads). */
Test(pvh_malformed, every_truncation_fails)
{
	struct vmm_boot boot;
	struct tl_ram r;
	struct tl_cap c;
	size_t size, len;
	struct vmm_image img = elf64(&size, 8);

	cr_assert_eq(tl_ram_init(&r, 64 * TL_MIB), 0);
	tl_cap_begin(&c);
	for (len = 0; len < size; len++) {
		img.size = len;
		cr_assert_lt(vmm_load_pvh(&img, &r.map, NULL, &boot), 0, "prefix %zu loaded", len);
	}
	tl_cap_end(&c);
	tl_ram_free(&r);
}

/* Random byte corruption of the headers: any result, never a crash. */
Test(pvh_malformed, random_corruption_never_crashes)
{
	struct vmm_boot boot;
	struct tl_ram r;
	struct tl_cap c;
	size_t size;
	unsigned seed = 12345, i, k;

	cr_assert_eq(tl_ram_init(&r, 64 * TL_MIB), 0);
	tl_cap_begin(&c);
	for (i = 0; i < 3000; i++) {
		struct vmm_image img = elf64(&size, 8);

		for (k = 0; k < 1 + i % 4; k++) {
			seed = seed * 1103515245u + 12345u;
			img_buf[(seed >> 8) % TL_ELF_CODE_OFF] = (uint8_t)(seed >> 20);
		}
		(void)vmm_load_pvh(&img, &r.map, NULL, &boot);
	}
	tl_cap_end(&c);
	tl_ram_free(&r);
}
