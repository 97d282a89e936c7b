/* e820 shapes, guest-physical translation and the MP table. */
#include <criterion/criterion.h>
#include <errno.h>

#include "tl.h"

Test(e820, shape_64m)
{
	struct vmm_mem_map map = { .nr = 1, .r = { { 0, 64 * TL_MIB, (uint8_t *)0x1000 } } };
	struct vmm_e820 e[VMM_E820_MAX];
	int n = vmm_e820_build(&map, e, VMM_E820_MAX);

	cr_assert_eq(n, 5);
	cr_expect(e[0].addr == 0 && e[0].size == VMM_LOW_RAM_END && e[0].type == VMM_E820_RAM);
	cr_expect(e[1].addr == VMM_LOW_RAM_END && e[1].addr + e[1].size == 0xa0000 &&
		  e[1].type == VMM_E820_RESERVED);
	cr_expect(e[2].addr == 0xe0000 && e[2].size == 0x20000 && e[2].type == VMM_E820_RESERVED);
	cr_expect(e[3].addr == TL_MIB && e[3].addr + e[3].size == 64 * TL_MIB &&
		  e[3].type == VMM_E820_RAM);
	/* the run-delay page (vmm-core/steal.c), in the MMIO hole */
	cr_expect(e[4].addr == 0xfeb00000 && e[4].size == 4096 && e[4].type == VMM_E820_RESERVED);
}

Test(e820, shape_above_4g)
{
	struct vmm_mem_map map = { .nr = 2, .r = {
		{ 0, VMM_MMIO_HOLE_GPA, (uint8_t *)0x1000 },
		{ VMM_HIGH_GPA, 2048 * TL_MIB, (uint8_t *)0x2000 } } };
	struct vmm_e820 e[VMM_E820_MAX];
	int n = vmm_e820_build(&map, e, VMM_E820_MAX);

	cr_assert_eq(n, 6);
	cr_expect_eq(e[3].addr + e[3].size, VMM_MMIO_HOLE_GPA);
	cr_expect(e[4].addr == 0xfeb00000 && e[4].type == VMM_E820_RESERVED);
	cr_expect(e[5].addr == VMM_HIGH_GPA && e[5].size == 2048 * TL_MIB &&
		  e[5].type == VMM_E820_RAM);
}

Test(e820, rejects_bad_maps)
{
	struct vmm_mem_map small = { .nr = 1, .r = { { 0, 512 * 1024, (uint8_t *)0x1000 } } };
	struct vmm_mem_map overlap = { .nr = 2, .r = { { 0, 64 * TL_MIB, (uint8_t *)0x1000 },
						       { 32 * TL_MIB, TL_MIB, (uint8_t *)0x2000 } } };
	struct vmm_e820 e[VMM_E820_MAX];
	struct tl_cap c;

	tl_cap_begin(&c);
	cr_expect_eq(vmm_e820_build(&small, e, VMM_E820_MAX), -EINVAL);
	cr_expect_eq(vmm_e820_build(&overlap, e, VMM_E820_MAX), -EINVAL);
	cr_expect_eq(vmm_e820_build(&overlap, e, 2), -ENOSPC);
	tl_cap_end(&c);
	cr_expect(strstr(c.text, "at least 1 MiB"), "got: %s", c.text);
	cr_expect(strstr(c.text, "overlaps region 0"), "got: %s", c.text);
}

Test(gpa, translation_bounds)
{
	static uint8_t lo[0x1000], hi[0x1000];
	struct vmm_mem_map map = { .nr = 2, .r = { { 0, sizeof(lo), lo },
						   { VMM_HIGH_GPA, sizeof(hi), hi } } };

	cr_expect_eq(vmm_gpa_ptr(&map, 0, sizeof(lo)), lo);
	cr_expect_eq(vmm_gpa_ptr(&map, 0xff0, 0x10), lo + 0xff0);
	cr_expect_null(vmm_gpa_ptr(&map, 0xff0, 0x11));
	cr_expect_null(vmm_gpa_ptr(&map, 0x1000, 1));
	cr_expect_eq(vmm_gpa_ptr(&map, VMM_HIGH_GPA + 8, 8), hi + 8);
	cr_expect_null(vmm_gpa_ptr(&map, VMM_HIGH_GPA - 1, 2));
	cr_expect_null(vmm_gpa_ptr(&map, 8, UINT64_MAX));           /* overflow */
	cr_expect_null(vmm_gpa_ptr(&map, UINT64_MAX, 2));
	cr_expect_null(vmm_gpa_ptr(NULL, 0, 1));
}

static void check_mptable(const uint8_t *ram, int cpus)
{
	const uint8_t *fp = ram + VMM_BIOS_GPA, *t, *p;
	uint8_t sum = 0;
	unsigned i, len, count, procs = 0, buses = 0, ioapics = 0, ints = 0, lints = 0;

	cr_assert(!memcmp(fp, "_MP_", 4));
	for (i = 0; i < 16; i++)
		sum += fp[i];
	cr_expect_eq(sum, 0, "floating pointer checksum");
	cr_expect_eq(fp[8], 1);
	cr_expect_eq(fp[9], 4, "spec revision 1.4");
	cr_expect_eq(fp[11], 0, "feature byte 1: config table present, no default config");
	t = ram + tl_rd(fp + 4, 4);
	cr_assert(t > fp && t < ram + 0x100000);
	cr_assert(!memcmp(t, "PCMP", 4));
	len = (unsigned)tl_rd(t + 4, 2);
	count = (unsigned)tl_rd(t + 34, 2);
	for (i = 0, sum = 0; i < len; i++)
		sum += t[i];
	cr_expect_eq(sum, 0, "configuration table checksum");
	cr_expect_eq(tl_rd(t + 36, 4), 0xfee00000u);
	for (p = t + 44, i = 0; i < count; i++) {
		cr_assert(p < t + len, "entry %u beyond the table length %u", i, len);
		switch (p[0]) {
		case 0:
			cr_expect_eq(p[1], procs, "APIC id = index");
			cr_expect_eq(p[3], procs == 0 ? 3 : 1, "enabled, BSP only on CPU 0");
			procs++;
			p += 20;
			break;
		case 1:
			cr_expect(!memcmp(p + 2, "ISA   ", 6));
			buses++;
			p += 8;
			break;
		case 2:
			cr_expect_eq(p[1], cpus, "I/O APIC id = nr_cpus");
			cr_expect_eq(p[3] & 1, 1);
			cr_expect_eq(tl_rd(p + 4, 4), 0xfec00000u);
			ioapics++;
			p += 8;
			break;
		case 3:
			cr_expect_eq(p[5], ints, "ISA IRQ %u in order", ints);
			cr_expect_eq(p[6], cpus);
			cr_expect_eq(p[7], p[5], "IRQ n -> pin n");
			ints++;
			p += 8;
			break;
		case 4:
			lints++;
			p += 8;
			break;
		default:
			cr_assert_fail("unknown entry type %u", p[0]);
		}
	}
	cr_expect_eq(p, t + len, "entries fill the table exactly");
	cr_expect_eq(procs, (unsigned)cpus);
	cr_expect_eq(buses, 1);
	cr_expect_eq(ioapics, 1);
	cr_expect_eq(ints, 16);
	cr_expect_eq(lints, 2);
}

Test(mptable, one_two_and_64_cpus)
{
	static const int cpus[] = { 1, 2, 64 };
	struct tl_ram r;
	size_t i;

	cr_assert_eq(tl_ram_init(&r, 2 * TL_MIB), 0);
	for (i = 0; i < sizeof(cpus) / sizeof(cpus[0]); i++) {
		memset(r.buf + VMM_BIOS_GPA, 0xcc, 0x10000);
		cr_assert_eq(vmm_mptable_write(&r.map, cpus[i]), 0);
		check_mptable(r.buf, cpus[i]);
	}
	tl_ram_free(&r);
}

Test(mptable, rejects_bad_counts_and_small_ram)
{
	struct tl_ram r;
	struct tl_cap c;

	cr_assert_eq(tl_ram_init(&r, 0xf0100), 0); /* ends inside the table */
	tl_cap_begin(&c);
	cr_expect_eq(vmm_mptable_write(&r.map, 0), -EINVAL);
	cr_expect_eq(vmm_mptable_write(&r.map, 255), -EINVAL);
	cr_expect_eq(vmm_mptable_write(&r.map, 8), -ENOSPC);
	tl_cap_end(&c);
	cr_expect(strstr(c.text, "raise --mem"), "got: %s", c.text);
	tl_ram_free(&r);
}
