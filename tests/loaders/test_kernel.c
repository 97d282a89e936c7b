/*
 * Real Debian cloud kernel (tests/loaders/fetch-kernel.sh puts it under
 * build/linux/, or $AVMM_LINUX_DIR): the bzImage through the 64-bit boot
 * protocol and the vmlinux ELF inside it through its PVH note. Skipped,
 * naming the missing file, when the kernel has not been fetched.
 */
#include <criterion/criterion.h>
#include <errno.h>

#include "tl.h"

struct file { uint8_t *data; size_t size; char path[512]; };

static bool read_kernel_file(const char *name, struct file *f)
{
	const char *dir = getenv("AVMM_LINUX_DIR");
	FILE *fp;
	long len;

	snprintf(f->path, sizeof(f->path), "%s/%s", dir && *dir ? dir : "build/linux", name);
	fp = fopen(f->path, "rb");
	if (!fp)
		return false;
	fseek(fp, 0, SEEK_END);
	len = ftell(fp);
	rewind(fp);
	f->data = len > 0 ? malloc((size_t)len) : NULL;
	f->size = f->data ? fread(f->data, 1, (size_t)len, fp) : 0;
	fclose(fp);
	cr_assert_eq(f->size, (size_t)len, "short read of %s", f->path);
	return true;
}

#define NEED(name, f) do { if (!read_kernel_file(name, f)) \
	cr_skip_test("%s is missing: run tests/loaders/fetch-kernel.sh", (f)->path); } while (0)

Test(kernel, bzimage_64bit_protocol)
{
	static uint8_t initrd[1 << 20];
	struct vmm_load_args args = { .cmdline = "console=ttyS0 earlyprintk=serial",
				      .initrd = initrd, .initrd_size = sizeof(initrd) };
	struct file f;
	struct vmm_image img;
	struct vmm_boot boot;
	struct tl_ram r;
	const uint8_t *bp;
	uint64_t setup, pref, gpa;

	NEED("vmlinuz", &f);
	img = (struct vmm_image){ f.data, f.size, f.path };
	cr_assert_eq(tl_ram_init(&r, 256 * TL_MIB), 0);
	cr_assert_eq(vmm_load_guest(&img, &r.map, &args, &boot), 0);
	setup = ((f.data[0x1f1] ? f.data[0x1f1] : 4) + 1) * 512ull;
	pref = tl_rd(f.data + 0x258, 8);
	cr_expect_eq(boot.mode, VMM_MODE_LONG64);
	cr_expect_eq(boot.rip, pref + 0x200);
	cr_expect_eq(boot.rsi, VMM_BOOTINFO_GPA);
	cr_expect_eq(memcmp(r.buf + pref, f.data + setup, f.size - setup), 0);
	bp = r.buf + VMM_BOOTINFO_GPA;
	cr_expect_eq(memcmp(bp + 0x202, "HdrS", 4), 0);
	cr_expect_eq(bp[0x210], 0xff);
	cr_expect_eq(bp[0x1e8], 5);
	gpa = tl_rd(bp + 0x218, 4);
	cr_expect_eq(gpa, 256 * TL_MIB - sizeof(initrd), "initrd at the top of RAM");
	cr_expect_geq(gpa, pref + tl_rd(f.data + 0x260, 4), "initrd above init_size");
	cr_expect_str_eq((const char *)r.buf + VMM_CMDLINE_GPA, args.cmdline);
	tl_ram_free(&r);
	free(f.data);
}

Test(kernel, bzimage_too_big_for_64m)
{
	struct file f;
	struct vmm_image img;
	struct vmm_boot boot;
	struct tl_ram r;
	struct tl_cap c;
	uint64_t need_mib;
	char want[128];

	NEED("vmlinuz", &f);
	img = (struct vmm_image){ f.data, f.size, f.path };
	need_mib = (tl_rd(f.data + 0x258, 8) + tl_rd(f.data + 0x260, 4) + TL_MIB - 1) / TL_MIB;
	if (need_mib <= 64)
		cr_skip_test("%s fits in 64 MiB (needs %llu MiB)", f.path,
			     (unsigned long long)need_mib);
	cr_assert_eq(tl_ram_init(&r, 64 * TL_MIB), 0);
	tl_cap_begin(&c);
	cr_expect_eq(vmm_load_bzimage(&img, &r.map, NULL, &boot), -EFBIG);
	tl_cap_end(&c);
	snprintf(want, sizeof(want), "guest larger than memory: needs %llu MiB, --mem is 64 MiB",
		 (unsigned long long)need_mib);
	cr_expect(strstr(c.text, want), "want \"%s\" in: %s", want, c.text);
	tl_ram_free(&r);
	free(f.data);
}

Test(kernel, vmlinux_pvh_entry)
{
	struct vmm_load_args args = { .cmdline = "console=ttyS0" };
	struct file f;
	struct vmm_image img;
	struct vmm_boot boot;
	struct tl_ram r;
	const uint8_t *ph;
	uint64_t phoff, off, paddr, filesz;
	unsigned i, phnum;
	bool found = false;

	NEED("vmlinux", &f);
	img = (struct vmm_image){ f.data, f.size, f.path };
	cr_assert_eq(tl_ram_init(&r, 256 * TL_MIB), 0);
	cr_assert_eq(vmm_load_guest(&img, &r.map, &args, &boot), 0);
	cr_expect_eq(boot.mode, VMM_MODE_PROT32);
	cr_expect_eq(boot.rbx, VMM_BOOTINFO_GPA);
	cr_expect_eq(tl_rd(r.buf + VMM_BOOTINFO_GPA, 4), 0x336ec578u);
	/* The entry lies inside a PT_LOAD segment and its bytes came from the file. */
	phoff = tl_rd(f.data + 32, 8);
	phnum = (unsigned)tl_rd(f.data + 56, 2);
	for (i = 0; i < phnum; i++) {
		ph = f.data + phoff + i * 56ull;
		off = tl_rd(ph + 8, 8);
		paddr = tl_rd(ph + 24, 8);
		filesz = tl_rd(ph + 32, 8);
		if (tl_rd(ph, 4) != 1)
			continue;
		cr_expect_eq(memcmp(r.buf + paddr, f.data + off, filesz), 0, "segment %u", i);
		if (boot.rip >= paddr && boot.rip < paddr + filesz)
			found = true;
	}
	cr_expect(found, "PVH entry 0x%llx inside a loaded segment", (unsigned long long)boot.rip);
	tl_ram_free(&r);
	free(f.data);
}
