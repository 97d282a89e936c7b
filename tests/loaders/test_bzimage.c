/* Linux bzImage through the 64-bit boot protocol, on a malloc'd RAM buffer. */
#include <criterion/criterion.h>
#include <errno.h>

#include "tl.h"

static uint8_t bz_buf[(TL_BZ_SETUP_SECTS + 1) * 512 + TL_BZ_PM_LEN];

static struct vmm_image bz(void)
{
	size_t size = tl_bzimage(bz_buf, sizeof(bz_buf));

	return (struct vmm_image){ bz_buf, size, "bzImage" };
}

Test(bzimage, zero_page_kernel_and_boot_state)
{
	struct vmm_load_args args = { .cmdline = "console=ttyS0 root=/dev/vda" };
	struct vmm_image img = bz();
	struct vmm_boot boot;
	struct tl_ram r;
	const uint8_t *bp, *e;
	size_t i;

	cr_assert_eq(tl_ram_init(&r, 64 * TL_MIB), 0);
	cr_assert_eq(vmm_load_bzimage(&img, &r.map, &args, &boot), 0);
	bp = r.buf + VMM_BOOTINFO_GPA;
	cr_expect_eq(boot.mode, VMM_MODE_LONG64);
	cr_expect_eq(boot.rip, TL_BZ_PREF + 0x200);
	cr_expect_eq(boot.rsi, VMM_BOOTINFO_GPA);
	cr_expect_eq(memcmp(r.buf + TL_BZ_PREF, bz_buf + 5 * 512, TL_BZ_PM_LEN), 0,
		     "protected-mode kernel at pref_address");
	/* Setup header copied; everything outside it zero apart from what we set. */
	cr_expect_eq(memcmp(bp + 0x202, "HdrS", 4), 0);
	cr_expect_eq(tl_rd(bp + 0x206, 2), 0x020f);
	cr_expect_eq(tl_rd(bp + 0x264, 4), 0x4242, "fields up to 0x202+byte(0x201) copied");
	for (i = 0; i < 0x1e8; i++)
		cr_assert_eq(bp[i], 0, "zero page byte 0x%zx", i);
	cr_expect_eq(bp[0x210], 0xff, "type_of_loader");
	cr_expect_eq(bp[0x211] & 0x81, 0x81, "LOADED_HIGH | CAN_USE_HEAP");
	cr_expect_eq(tl_rd(bp + 0x224, 2), 0xfe00, "heap_end_ptr");
	cr_expect_eq(tl_rd(bp + 0x228, 4), VMM_CMDLINE_GPA);
	cr_expect_str_eq((const char *)r.buf + VMM_CMDLINE_GPA, "console=ttyS0 root=/dev/vda");
	cr_expect_eq(tl_rd(bp + 0x218, 4), 0, "no initrd");
	cr_expect_eq(tl_rd(bp + 0x21c, 4), 0);
	cr_assert_eq(bp[0x1e8], 5, "e820_entries (the last: the run-delay page)");
	e = bp + 0x2d0;
	cr_expect(tl_rd(e, 8) == 0 && tl_rd(e + 8, 8) == VMM_LOW_RAM_END && tl_rd(e + 16, 4) == 1);
	cr_expect(tl_rd(e + 20, 8) == VMM_LOW_RAM_END && tl_rd(e + 36, 4) == 2);
	cr_expect(tl_rd(e + 60, 8) == TL_MIB && tl_rd(e + 68, 8) == 63 * TL_MIB &&
		  tl_rd(e + 76, 4) == 1);
	cr_expect(tl_rd(e + 80, 8) == 0xfeb00000 && tl_rd(e + 96, 4) == 2);
	for (i = 5 * 20; i < 128 * 20; i++)
		cr_assert_eq(e[i], 0, "unused e820 slot byte %zu", i);
	tl_ram_free(&r);
}

Test(bzimage, alignment_rounds_pref_address_up)
{
	struct vmm_image img = bz();
	struct vmm_boot boot;
	struct tl_ram r;

	tl_wr(bz_buf + 0x258, TL_BZ_PREF + 0x1000, 8);
	cr_assert_eq(tl_ram_init(&r, 64 * TL_MIB), 0);
	cr_assert_eq(vmm_load_bzimage(&img, &r.map, NULL, &boot), 0);
	cr_expect_eq(boot.rip, TL_BZ_PREF + 0x200000 + 0x200);
	tl_ram_free(&r);
}

Test(bzimage, initrd_highest_below_initrd_addr_max)
{
	static uint8_t initrd[5000];
	struct vmm_load_args args = { .initrd = initrd, .initrd_size = sizeof(initrd) };
	struct vmm_image img = bz();
	struct vmm_boot boot;
	struct tl_ram r;
	const uint8_t *bp;
	uint64_t gpa;

	memset(initrd, 0x3c, sizeof(initrd));
	cr_assert_eq(tl_ram_init(&r, 64 * TL_MIB), 0);
	cr_assert_eq(vmm_load_bzimage(&img, &r.map, &args, &boot), 0);
	bp = r.buf + VMM_BOOTINFO_GPA;
	gpa = tl_rd(bp + 0x218, 4) | tl_rd(bp + 0xc0, 4) << 32;
	cr_expect_eq(gpa, (64 * TL_MIB - sizeof(initrd)) & ~4095ull, "below the end of RAM");
	cr_expect_eq(tl_rd(bp + 0x21c, 4), sizeof(initrd));
	cr_expect_eq(tl_rd(bp + 0xc4, 4), 0);
	cr_expect_eq(memcmp(r.buf + gpa, initrd, sizeof(initrd)), 0);

	/* initrd_addr_max is the last byte the initrd may use. */
	img = bz();
	tl_wr(bz_buf + 0x22c, 0x27fffff, 4);
	cr_assert_eq(vmm_load_bzimage(&img, &r.map, &args, &boot), 0);
	gpa = tl_rd(r.buf + VMM_BOOTINFO_GPA + 0x218, 4);
	cr_expect_eq(gpa, (0x2800000 - sizeof(initrd)) & ~4095ull);
	tl_ram_free(&r);
}

static void expect_fail(const struct vmm_image *img, uint64_t ram,
			const struct vmm_load_args *args, int rc_want, const char *want)
{
	struct vmm_boot boot;
	struct tl_ram r;
	struct tl_cap c;
	int rc;

	cr_assert_eq(tl_ram_init(&r, ram), 0);
	tl_cap_begin(&c);
	rc = vmm_load_bzimage(img, &r.map, args, &boot);
	tl_cap_end(&c);
	cr_expect_eq(rc, rc_want, "rc %d, want %d (%s)", rc, rc_want, c.text);
	cr_expect(strstr(c.text, "bzImage: "), "message names the file: %s", c.text);
	cr_expect(strstr(c.text, want), "want \"%s\" in: %s", want, c.text);
	tl_ram_free(&r);
}

Test(bzimage_malformed, header_problems)
{
	struct vmm_image img = bz();

	img.size = 600;
	expect_fail(&img, 64 * TL_MIB, NULL, -ENOEXEC, "not a bzImage");
	img = bz();
	bz_buf[0x1fe] = 0;
	expect_fail(&img, 64 * TL_MIB, NULL, -ENOEXEC, "not a bzImage");
	img = bz();
	bz_buf[0x205] = 'Z';
	expect_fail(&img, 64 * TL_MIB, NULL, -ENOEXEC, "not a bzImage");
	img = bz();
	tl_wr(bz_buf + 0x206, 0x020b, 2);
	expect_fail(&img, 64 * TL_MIB, NULL, -ENOEXEC, "boot protocol 2.11");
	img = bz();
	bz_buf[0x201] = 0x10;
	expect_fail(&img, 64 * TL_MIB, NULL, -ENOEXEC, "header ends at 0x212");
	img = bz();
	tl_wr(bz_buf + 0x236, 0x7e, 2);
	expect_fail(&img, 64 * TL_MIB, NULL, -ENOEXEC, "XLF_KERNEL_64");
	img = bz();
	bz_buf[0x1f1] = 60; /* setup code longer than the file */
	expect_fail(&img, 64 * TL_MIB, NULL, -ENOEXEC, "truncated: setup code ends at 0x7a00");
	img = bz();
	img.size -= 16; /* protected-mode kernel shorter than syssize */
	expect_fail(&img, 64 * TL_MIB, NULL, -ENOEXEC, "truncated: protected-mode kernel");
	img = bz();
	tl_wr(bz_buf + 0x230, 0x300000, 4);
	expect_fail(&img, 64 * TL_MIB, NULL, -ENOEXEC, "kernel_alignment 0x300000");
	img = bz();
	tl_wr(bz_buf + 0x258, 0x1000, 8);
	bz_buf[0x234] = 0; /* fixed address inside the boot area */
	expect_fail(&img, 64 * TL_MIB, NULL, -ENOEXEC, "load address 0x1000");
	img = bz();
	tl_wr(bz_buf + 0x258, UINT64_MAX - 0x1000, 8);
	expect_fail(&img, 64 * TL_MIB, NULL, -ENOEXEC, "outside [1 MiB, 4 GiB)");
}

Test(bzimage_malformed, memory_and_args_problems)
{
	static char longline[0x900];
	struct vmm_load_args a = { .cmdline = longline };
	struct vmm_load_args big = { .initrd = bz_buf, .initrd_size = 50 * TL_MIB,
				     .initrd_path = "big.img" };
	struct vmm_image img = bz();

	tl_wr(bz_buf + 0x260, 60 * TL_MIB, 4); /* init_size: 16 + 60 MiB needed */
	expect_fail(&img, 64 * TL_MIB, NULL, -EFBIG,
		    "guest larger than memory: needs 76 MiB, --mem is 64 MiB");
	img = bz();
	memset(longline, 'y', 0x800);
	expect_fail(&img, 64 * TL_MIB, &a, -E2BIG, "command line is 2048 bytes, the kernel takes at most 2047");
	img = bz();
	expect_fail(&img, 64 * TL_MIB, &big, -ENOSPC, "initrd big.img (51200 KiB) does not fit");
}

Test(bzimage_malformed, random_corruption_never_crashes)
{
	struct vmm_boot boot;
	struct tl_ram r;
	struct tl_cap c;
	unsigned seed = 777, i, k;

	cr_assert_eq(tl_ram_init(&r, 64 * TL_MIB), 0);
	tl_cap_begin(&c);
	for (i = 0; i < 3000; i++) {
		struct vmm_image img = bz();

		for (k = 0; k < 1 + i % 4; k++) {
			seed = seed * 1103515245u + 12345u;
			bz_buf[0x1f1 + (seed >> 8) % (0x270 - 0x1f1)] = (uint8_t)(seed >> 20);
		}
		seed = seed * 1103515245u + 12345u;
		img.size = (i & 1) ? img.size : (seed >> 8) % (img.size + 1);
		(void)vmm_load_bzimage(&img, &r.map, NULL, &boot);
	}
	tl_cap_end(&c);
	tl_ram_free(&r);
}
