/* lowload - a guest linked at 32 KiB (tests/guests/lowload.ld), below 1 MiB
 * where kvm-unit-tests' realmode test loads, as a Multiboot loader must place
 * it: checks that it runs where it was linked and that the memory map
 * starts with RAM at 0; reports whether the Multiboot information, its
 * memory map or the command line lie inside the image (mbi_inside=1: QEMU
 * keeps them at 0x9000-0x9fff whatever the image, writing over it; avmm
 * moves them out of the image's way).
 * Parameters: n= (0) echoed back, to show the command line arrived;
 * strict=1: boot information inside the image is a failure.
 * Result: base end mbi mmap mbi_inside n ok. */
#include "guest.h"

#define MBI_FLAG_CMDLINE (1u << 2)
#define MBI_FLAG_MMAP (1u << 6)

extern char __image_start[], _end[];

struct mbi {
	u32 flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
	u32 syms[4], mmap_length, mmap_addr;
};

static int outside(u32 a, u32 len)
{
	return a + len <= (u32)__image_start || a >= (u32)_end;
}

int main(const char *cmdline)
{
	const struct mbi *m = (const struct mbi *)mb_info();
	u32 base = (u32)__image_start, end = (u32)_end, here = (u32)main;
	int bad = 0;
	u64 n = param_u64(cmdline, "n", 0, &bad), strict = param_u64(cmdline, "strict", 0, &bad);
	const char *err = NULL;
	int inside = !m || !outside((u32)m, sizeof(*m)) ||
		     ((m->flags & MBI_FLAG_CMDLINE) && !outside(m->cmdline, 1)) ||
		     ((m->flags & MBI_FLAG_MMAP) && !outside(m->mmap_addr, m->mmap_length));

	gprintf("lowload: image [0x%x, 0x%x), main at 0x%x, multiboot info at 0x%x\n",
		base, end, here, (u32)m);
	if (bad)
		err = "bad-parameter";
	else if (end > 0x100000u || here < base || here >= end)
		err = "not-below-1mib";
	else if (!m)
		err = "no-multiboot-info";
	else if (strict && inside)
		err = "boot-info-inside-image";
	else if (!(m->flags & MBI_FLAG_MMAP) || !m->mmap_length)
		err = "no-mmap";
	else {
		const u32 *e = (const u32 *)m->mmap_addr; /* size, base lo/hi, len lo/hi, type */

		if (e[1] != 0 || e[2] != 0 || e[5] != 1)
			err = "mmap-no-ram-at-0";
	}
	if (err) {
		gprintf("AVMM-RESULT guest=lowload base=0x%x ok=0 error=%s\n", base, err);
		return 1;
	}
	gprintf("AVMM-RESULT guest=lowload base=0x%x end=0x%x mbi=0x%x mmap=0x%x mbi_inside=%d "
		"n=%u ok=1\n", base, end, (u32)m, m->mmap_addr, inside, (u32)n);
	return 0;
}
