/* Multiboot module (--initrd) placement: never over the loaded image. Unit
 * tests on a plain buffer, and the same kernel under real KVM through avmm. */
#include <criterion/criterion.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/run_helpers.h"
#include "vmm-core/loader.h"

#define MIB (1024u * 1024u)
#define KERNEL_GPA 0x3F00000u /* 1 MiB below the top of 64 MiB */

static uint8_t img[0x200];

/* A Multiboot ELF32: one segment of 0x200 file bytes (memsz bytes in memory)
 * at paddr; its code at +0x180 writes 0 to the debug-exit port (avmm exits 1). */
static void make_kernel(uint32_t paddr, uint32_t memsz)
{
	static const uint8_t code[] = { 0xb0, 0x00, 0xe6, 0xf4, 0xfa, 0xf4, 0xeb, 0xfc };
	Elf32_Ehdr *eh = (void *)img;
	Elf32_Phdr *ph = (void *)(img + sizeof(*eh));
	uint32_t *mb = (void *)(img + 0x100);

	memset(img, 0, sizeof(img));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS32;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_386;
	eh->e_entry = paddr + 0x180;
	eh->e_phoff = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 1;
	*ph = (Elf32_Phdr){ .p_type = PT_LOAD, .p_paddr = paddr, .p_vaddr = paddr,
			    .p_filesz = sizeof(img), .p_memsz = memsz };
	mb[0] = 0x1BADB002;
	mb[1] = 0;
	mb[2] = -(mb[0] + mb[1]);
	memcpy(img + 0x180, code, sizeof(code));
}

/* An initrd that, if run, writes 5 (avmm exits 11): "mov $5, %al; out %al, $0xf4". */
static uint8_t *make_initrd(size_t size)
{
	uint8_t *p = malloc(size);
	size_t i;

	cr_assert(p);
	for (i = 0; i + 4 <= size; i += 4)
		memcpy(p + i, "\xb0\x05\xe6\xf4", 4);
	return p;
}

struct ram { struct vmm_mem_map map; uint8_t *buf; };

static int load(struct ram *r, uint64_t ram_bytes, const uint8_t *initrd, size_t size,
		uint32_t *mod_start, uint32_t *mod_end)
{
	struct vmm_image im = { img, sizeof(img), "top.elf" };
	struct vmm_load_args a = { .initrd = initrd, .initrd_size = size,
				   .initrd_path = "big.img", .vcpus = 1 };
	struct vmm_boot b;
	uint32_t *info, *mod;
	int rc;

	r->buf = calloc(1, ram_bytes);
	cr_assert(r->buf);
	r->map = (struct vmm_mem_map){ .nr = 1 };
	r->map.r[0].bytes = ram_bytes;
	r->map.r[0].hva = r->buf;
	rc = vmm_load_multiboot(&im, &r->map, &a, &b);
	if (rc)
		return rc;
	info = (uint32_t *)(r->buf + VMM_BOOTINFO_GPA);
	cr_assert(info[0] & (1u << 3), "module flag");
	cr_assert_eq(info[5], 1, "one module");
	mod = (uint32_t *)(r->buf + info[6]);
	*mod_start = mod[0];
	*mod_end = mod[1];
	return 0;
}

Test(mb_module, kernel_at_top_of_ram_module_goes_below_it)
{
	struct ram r;
	uint8_t *initrd = make_initrd(2 * MIB);
	uint32_t s, e;

	make_kernel(KERNEL_GPA, 0x1000);
	cr_assert_eq(load(&r, 64 * MIB, initrd, 2 * MIB, &s, &e), 0);
	cr_assert(e <= KERNEL_GPA || s >= KERNEL_GPA + 0x1000,
		  "module [0x%x, 0x%x) overlaps the kernel at 0x%x", s, e, KERNEL_GPA);
	cr_assert_eq(s % 4096, 0);
	cr_assert_geq(s, 0x100000);
	cr_assert_eq(memcmp(r.buf + KERNEL_GPA, img, sizeof(img)), 0, "kernel overwritten");
	cr_assert_eq(memcmp(r.buf + s, initrd, 2 * MIB), 0, "module not copied");
	free(r.buf);
	free(initrd);
}

Test(mb_module, usual_kernel_module_stays_at_top)
{
	struct ram r;
	uint8_t *initrd = make_initrd(2 * MIB);
	uint32_t s, e;

	make_kernel(0x100000, 0x1000);
	cr_assert_eq(load(&r, 64 * MIB, initrd, 2 * MIB, &s, &e), 0);
	cr_assert_eq(s, 62 * MIB);
	cr_assert_eq(e, 64 * MIB);
	free(r.buf);
	free(initrd);
}

Test(mb_module, no_room_names_both_ranges_and_the_mem_needed)
{
	struct ram r;
	uint8_t *initrd = make_initrd(40 * MIB);
	uint32_t s, e;
	char buf[1024] = "";
	FILE *f = tmpfile();
	int saved = dup(2), rc;
	size_t n;

	make_kernel(30 * MIB, 0x1000); /* 29 MiB free below, 34 MiB above */
	fflush(stderr);
	dup2(fileno(f), 2);
	rc = load(&r, 64 * MIB, initrd, 40 * MIB, &s, &e);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	cr_assert_eq(rc, -EFBIG);
	cr_assert(strstr(buf, "big.img"), "%s", buf);
	cr_assert(strstr(buf, "[0x1e00000, 0x1e01000)"), "kernel range missing: %s", buf);
	cr_assert(strstr(buf, "0x4000000"), "RAM end missing: %s", buf);
	cr_assert(strstr(buf, "--mem 71M"), "needed --mem missing: %s", buf);
	free(r.buf);
	free(initrd);
}

static char *write_tmp(const void *data, size_t len)
{
	char *path = strdup("/tmp/avmm-mbmod-XXXXXX");
	int fd = mkstemp(path);

	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

/* The reported case: kernel at 0x3F00000, 2 MiB initrd, 64 MiB RAM ran the
 * initrd's bytes (exit 11) instead of the kernel's (exit 1). */
Test(mb_module, real_kvm_runs_the_kernel_not_the_initrd)
{
	static char out[1 << 14];
	uint8_t *initrd = make_initrd(2 * MIB);
	char *kpath, *ipath;
	int st;

	require_kvm();
	make_kernel(KERNEL_GPA, 0x1000);
	kpath = write_tmp(img, sizeof(img));
	ipath = write_tmp(initrd, 2 * MIB);
	st = run_avmm(out, sizeof(out), (const char *[]){ "run", "--no-adapt", "--socket", "",
			"--mem", "64M", kpath, "--initrd", ipath, NULL });
	unlink(kpath);
	unlink(ipath);
	free(kpath);
	free(ipath);
	free(initrd);
	cr_assert_eq(st, 1, "exit status %d (11: the initrd's code ran); output:\n%s", st, out);
}
