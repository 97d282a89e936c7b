/* The PVH and bzImage initrd never overlaps the kernel (the Multiboot module
 * did: see tests/vmm/test_mb_module.c): placed at or above the kernel's end,
 * or refused. Boundary cases on a malloc'd RAM buffer. */
#include <criterion/criterion.h>
#include <errno.h>

#include "tl.h"

static uint8_t img_buf[0x1000];
static uint8_t bz_buf[(TL_BZ_SETUP_SECTS + 1) * 512 + TL_BZ_PM_LEN];
static uint8_t initrd[8 << 20];

static int pvh(uint64_t ram, size_t initrd_size, uint64_t *gpa)
{
	struct vmm_load_args a = { .initrd = initrd, .initrd_size = initrd_size,
				   .initrd_path = "initrd.img" };
	struct vmm_image img = { img_buf, tl_elf64_pvh(img_buf, sizeof(img_buf), 8), "vmlinux" };
	struct vmm_boot boot;
	struct tl_ram r;
	struct tl_cap cap;
	int rc;

	memset(initrd, 0x5a, initrd_size);
	cr_assert_eq(tl_ram_init(&r, ram), 0);
	tl_cap_begin(&cap);
	rc = vmm_load_pvh(&img, &r.map, &a, &boot);
	tl_cap_end(&cap);
	if (!rc) {
		const uint8_t *si = r.buf + VMM_BOOTINFO_GPA;

		*gpa = tl_rd(r.buf + tl_rd(si + 16, 8), 8);
		cr_assert_eq(memcmp(r.buf + TL_ELF_LOAD_GPA, img_buf + TL_ELF_CODE_OFF,
				    TL_ELF_CODE_LEN), 0, "kernel overwritten");
	}
	tl_ram_free(&r);
	return rc;
}

Test(initrd_overlap, pvh_at_the_kernel_end_or_refused)
{
	uint64_t kend = TL_ELF_LOAD_GPA + TL_ELF_MEMSZ, gpa = 0;

	/* 4 MiB of RAM: the top placement lands exactly on the kernel's end */
	cr_assert_eq(pvh(4 * TL_MIB, 4 * TL_MIB - kend, &gpa), 0);
	cr_assert_eq(gpa, kend);
	/* one page more would start inside the kernel: refused */
	cr_assert_eq(pvh(4 * TL_MIB, 4 * TL_MIB - kend + 4096, &gpa), -ENOSPC);
}

static int bzimage(uint64_t ram, size_t initrd_size, uint64_t *gpa)
{
	struct vmm_load_args a = { .initrd = initrd, .initrd_size = initrd_size,
				   .initrd_path = "initrd.img" };
	struct vmm_image img = { bz_buf, tl_bzimage(bz_buf, sizeof(bz_buf)), "bzImage" };
	struct vmm_boot boot;
	struct tl_ram r;
	struct tl_cap cap;
	int rc;

	memset(initrd, 0x5a, initrd_size);
	cr_assert_eq(tl_ram_init(&r, ram), 0);
	tl_cap_begin(&cap);
	rc = vmm_load_bzimage(&img, &r.map, &a, &boot);
	tl_cap_end(&cap);
	if (!rc)
		*gpa = tl_rd(r.buf + VMM_BOOTINFO_GPA + 0x218, 4);
	tl_ram_free(&r);
	return rc;
}

Test(initrd_overlap, bzimage_above_init_size_or_refused)
{
	uint64_t kend = TL_BZ_PREF + TL_BZ_INIT_SIZE, gpa = 0;

	cr_assert_eq(bzimage(kend + 4 * TL_MIB, 4 * TL_MIB, &gpa), 0);
	cr_assert_eq(gpa, kend, "initrd at 0x%llx", (unsigned long long)gpa);
	cr_assert_eq(bzimage(kend + 4 * TL_MIB, 4 * TL_MIB + 4096, &gpa), -ENOSPC);
}
