/* Multiboot images with segments below 1 MiB: loaded where they ask outside
 * the areas avmm fills itself, the boot information moved out of their way;
 * a segment over one of those areas refused, the message naming both ranges. */
#include <criterion/criterion.h>
#include <elf.h>
#include <errno.h>

#include "tests/lib/run_helpers.h"
#include "tests/loaders/tl.h"

#define LL_RAM (32ull << 20)

static uint8_t img[0x3000];

/* ELF32 Multiboot image, one PT_LOAD of 0x200 file bytes at paddr, memsz bytes. */
static void mb_elf(uint32_t paddr, uint32_t memsz)
{
	Elf32_Ehdr *eh = (void *)img;
	Elf32_Phdr *ph = (void *)(img + sizeof(*eh));
	uint32_t *mb = (uint32_t *)(img + 0x100);

	memset(img, 0, sizeof(img));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS32;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_machine = EM_386;
	eh->e_entry = paddr + 0x180;
	eh->e_phoff = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 1;
	*ph = (Elf32_Phdr){ .p_type = PT_LOAD, .p_offset = 0, .p_paddr = paddr,
			    .p_vaddr = paddr, .p_filesz = 0x200, .p_memsz = memsz };
	mb[0] = 0x1BADB002;
	mb[1] = 0x3;
	mb[2] = -(mb[0] + mb[1]);
	img[0x1ff] = 0x5a;
}

static int load(struct tl_ram *r, const char *cmdline, struct vmm_boot *b, char *msg, size_t n)
{
	struct vmm_image im = { img, sizeof(img), "low.elf" };
	struct vmm_load_args a = { .cmdline = cmdline, .vcpus = 1 };
	struct tl_cap cap;
	int rc;

	tl_cap_begin(&cap);
	rc = vmm_load_multiboot(&im, &r->map, &a, b);
	snprintf(msg, n, "%s", tl_cap_end(&cap));
	return rc;
}

Test(lowload, segment_at_32k_loads_and_boot_info_moves_after_it)
{
	struct tl_ram r;
	struct vmm_boot b;
	char msg[1024];
	const uint8_t *mi, *mm;
	uint64_t info, mmap, cmd, mlen;

	cr_assert_eq(tl_ram_init(&r, LL_RAM), 0);
	mb_elf(0x8000, 0x5000); /* [0x8000, 0xd000): over the fixed memory map */
	cr_assert_eq(load(&r, "n=5", &b, msg, sizeof(msg)), 0, "%s", msg);
	cr_expect_eq(b.rip, 0x8180);
	cr_expect_eq(r.buf[0x81ff], 0x5a, "segment bytes where it asked");
	cr_expect_eq(r.buf[0x8200], 0, "bss cleared");
	cr_expect_eq(r.buf[0xcfff], 0, "bss cleared to the end");
	info = b.rbx;
	cr_expect_eq(info, 0xd000, "boot information right after the image (page aligned)");
	mi = r.buf + info;
	mmap = tl_rd(mi + 48, 4);
	cmd = tl_rd(mi + 16, 4);
	mlen = tl_rd(mi + 44, 4);
	cr_expect(mmap >= 0xd000 && cmd >= 0xd000, "mmap 0x%llx, cmdline 0x%llx outside the image",
		  (unsigned long long)mmap, (unsigned long long)cmd);
	cr_expect(cmd < VMM_LOW_RAM_END && mmap < VMM_LOW_RAM_END);
	cr_expect_str_eq((const char *)r.buf + cmd, "low.elf n=5");
	cr_expect_str_eq((const char *)r.buf + tl_rd(mi + 64, 4), "avmm");
	cr_assert_gt(mlen, 0);
	mm = r.buf + mmap;
	cr_expect_eq(tl_rd(mm + 4, 8), 0, "first e820 entry at 0");
	cr_expect_eq(tl_rd(mm + 20, 4), VMM_E820_RAM);
	cr_expect_eq(r.buf[VMM_MEMMAP_GPA + 0x1ff], 0x5a, "image not overwritten by the map");
	tl_ram_free(&r);
}

Test(lowload, image_clear_of_fixed_places_keeps_them)
{
	struct tl_ram r;
	struct vmm_boot b;
	char msg[1024];

	cr_assert_eq(tl_ram_init(&r, LL_RAM), 0);
	mb_elf(0x30000, 0x2000); /* between the command line and the EBDA */
	cr_assert_eq(load(&r, NULL, &b, msg, sizeof(msg)), 0, "%s", msg);
	cr_expect_eq(b.rbx, VMM_BOOTINFO_GPA);
	cr_expect_eq(r.buf[0x301ff], 0x5a);
	tl_ram_free(&r);
}

/* Up against the EBDA: no room after it, so the boot data go below it. */
Test(lowload, boot_info_below_when_no_room_after)
{
	struct tl_ram r;
	struct vmm_boot b;
	char msg[1024];

	cr_assert_eq(tl_ram_init(&r, LL_RAM), 0);
	mb_elf(0x7000, 0x9fc00 - 0x7000);
	cr_assert_eq(load(&r, "x=1", &b, msg, sizeof(msg)), 0, "%s", msg);
	cr_expect_lt(b.rbx, 0x7000);
	cr_expect_geq(b.rbx, 0x1000);
	cr_expect_str_eq((const char *)r.buf + tl_rd(r.buf + b.rbx + 16, 4), "low.elf x=1");
	tl_ram_free(&r);
}

Test(lowload, no_room_anywhere_is_refused)
{
	struct tl_ram r;
	struct vmm_boot b;
	char msg[1024];

	cr_assert_eq(tl_ram_init(&r, LL_RAM), 0);
	mb_elf(0x1000, 0x9fc00 - 0x1000);
	cr_expect_eq(load(&r, NULL, &b, msg, sizeof(msg)), -ENOSPC);
	cr_expect(strstr(msg, "[0x1000, 0x9fc00)") && strstr(msg, "no room"), "%s", msg);
	tl_ram_free(&r);
}

static void expect_refused(uint32_t paddr, uint32_t memsz, const char *seg, const char *area,
			   const char *what)
{
	struct tl_ram r;
	struct vmm_boot b;
	char msg[1024];

	cr_assert_eq(tl_ram_init(&r, LL_RAM), 0);
	mb_elf(paddr, memsz);
	cr_expect_eq(load(&r, NULL, &b, msg, sizeof(msg)), -ENOEXEC);
	cr_expect(strstr(msg, seg), "message names the segment %s: %s", seg, msg);
	cr_expect(strstr(msg, area), "message names avmm's range %s: %s", area, msg);
	cr_expect(strstr(msg, what), "message names %s: %s", what, msg);
	tl_ram_free(&r);
}

Test(lowload, overlap_with_avmm_areas_refused)
{
	expect_refused(0x9000, 0x97000, "[0x9000, 0xa0000)", "[0x9fc00, 0xa0000)", "EBDA");
	expect_refused(0x400, 0x1000, "[0x400, 0x1400)", "[0x500, 0x520)", "GDT");
	expect_refused(0xe0000, 0x1000, "[0xe0000, 0xe1000)", "[0xe0000, 0x100000)", "BIOS area");
	expect_refused(0xb8000, 0x1000, "[0xb8000, 0xb9000)", "[0xa0000, 0xe0000)", "VGA");
	/* a segment that starts low and runs over 1 MiB crosses the BIOS area */
	expect_refused(0x90000, 0x80000, "[0x90000, 0x110000)", "[0x9fc00, 0xa0000)", "EBDA");
}

Test(lowload, lowmem_conflict_boundaries)
{
	cr_expect_null(vmm_lowmem_conflict(0x0, 0x500));
	cr_expect_not_null(vmm_lowmem_conflict(0x4ff, 2));
	cr_expect_null(vmm_lowmem_conflict(0x520, 0x9fc00 - 0x520));
	cr_expect_not_null(vmm_lowmem_conflict(0x9fbff, 2));
	cr_expect_not_null(vmm_lowmem_conflict(0xfffff, 1));
	cr_expect_null(vmm_lowmem_conflict(0x100000, 0x1000));
	cr_expect_null(vmm_lowmem_conflict(0x8000, 0));
}

/* The PVH loader keeps its rule: nothing below 1 MiB. */
Test(lowload, pvh_still_refuses_low_segments)
{
	struct tl_ram r;
	uint8_t buf[0x3000];
	struct vmm_image im = { buf, 0, "pvh.elf" };
	struct vmm_load_args a = { .vcpus = 1 };
	struct vmm_boot b;
	struct tl_cap cap;
	int rc;

	cr_assert_eq(tl_ram_init(&r, LL_RAM), 0);
	im.size = tl_elf64_pvh(buf, sizeof(buf), 4);
	/* the first program header's p_paddr (ELF64: phoff at 32, paddr at +24) */
	tl_wr(buf + tl_rd(buf + 32, 8) + 24, 0x8000, 8);
	tl_cap_begin(&cap);
	rc = vmm_load_pvh(&im, &r.map, &a, &b);
	cr_expect_eq(rc, -EINVAL);
	cr_expect(strstr(tl_cap_end(&cap), "below 1 MiB"));
	tl_ram_free(&r);
}

/* The bundled guest linked at 32 KiB, run by the avmm binary on real KVM. */
Test(lowload, guest_at_32k_runs)
{
	static char out[1 << 14];
	char v[64];
	int st;

	require_kvm();
	st = run_avmm(out, sizeof(out), (const char *[]){ "run", "--socket", "", "--no-adapt",
		build_path("guests/lowload.elf"), "--cmdline", "n=7 strict=1", NULL });
	cr_assert_eq(st, 0, "exit status %d, want 0 (power-off); output:\n%s", st, out);
	cr_assert_eq(result_value(out, "lowload", "ok", v, sizeof(v)), 0, "%s", out);
	cr_expect_str_eq(v, "1", "%s", out);
	cr_assert_eq(result_value(out, "lowload", "base", v, sizeof(v)), 0);
	cr_expect_str_eq(v, "0x8000");
	cr_assert_eq(result_value(out, "lowload", "mbi_inside", v, sizeof(v)), 0);
	cr_expect_str_eq(v, "0", "boot information outside the image");
	cr_assert_eq(result_value(out, "lowload", "n", v, sizeof(v)), 0);
	cr_expect_str_eq(v, "7");
}
