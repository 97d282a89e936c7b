/* Format detection in vmm_load_guest. */
#include <criterion/criterion.h>
#include <errno.h>

#include "tl.h"

static uint8_t buf[0x4000];

static int load(size_t size, struct vmm_boot *boot, char *msg, size_t msg_len)
{
	struct vmm_image img = { buf, size, "guest.bin" };
	struct tl_ram r;
	struct tl_cap c;
	int rc;

	cr_assert_eq(tl_ram_init(&r, 64 * TL_MIB), 0);
	tl_cap_begin(&c);
	rc = vmm_load_guest(&img, &r.map, NULL, boot);
	tl_cap_end(&c);
	snprintf(msg, msg_len, "%s", c.text);
	tl_ram_free(&r);
	return rc;
}

Test(detect, bzimage_goes_to_the_64bit_protocol)
{
	struct vmm_boot boot;
	char msg[512];

	cr_assert_eq(load(tl_bzimage(buf, sizeof(buf)), &boot, msg, sizeof(msg)), 0, "%s", msg);
	cr_expect_eq(boot.mode, VMM_MODE_LONG64);
	cr_expect_eq(boot.rsi, VMM_BOOTINFO_GPA);
}

Test(detect, elf_with_pvh_note_goes_to_pvh)
{
	struct vmm_boot boot;
	char msg[512];

	cr_assert_eq(load(tl_elf64_pvh(buf, sizeof(buf), 8), &boot, msg, sizeof(msg)), 0, "%s", msg);
	cr_expect_eq(boot.mode, VMM_MODE_PROT32);
	cr_expect_eq(boot.rbx, VMM_BOOTINFO_GPA);
	cr_expect_eq(boot.rip, TL_ELF_ENTRY);
}

/* An ELF32 without a PVH note but with a Multiboot header reaches the
 * Multiboot loader, which enters with EAX = 0x2BADB002. */
Test(detect, elf_with_multiboot_header_goes_to_multiboot)
{
	struct vmm_boot boot;
	size_t size = tl_elf32_pvh(buf, sizeof(buf));
	uint8_t *mb = buf + 0x200;
	char msg[512];

	memset(buf + 0x80, 0, 44);               /* drop the notes */
	memset(mb, 0, 12);
	tl_wr(mb, 0x1badb002, 4);
	tl_wr(mb + 4, 0, 4);
	tl_wr(mb + 8, (uint32_t)-(0x1badb002u), 4);
	size = 0x20c;
	cr_assert_eq(load(size, &boot, msg, sizeof(msg)), 0, "%s", msg);
	cr_expect_eq(boot.mode, VMM_MODE_PROT32);
	cr_expect_eq(boot.rax, 0x2badb002);
}

Test(detect, multiboot_magic_needs_checksum_and_alignment)
{
	struct vmm_boot boot;
	char msg[512];

	memset(buf, 0, sizeof(buf));
	tl_wr(buf + 0x102, 0x1badb002, 4);               /* not 4-aligned */
	tl_wr(buf + 0x106, 0, 4);
	tl_wr(buf + 0x10a, (uint32_t)-(0x1badb002u), 4);
	cr_expect_eq(load(0x200, &boot, msg, sizeof(msg)), -ENOEXEC);
	cr_expect(strstr(msg, "unknown guest format"), "%s", msg);
	memset(buf, 0, sizeof(buf));
	tl_wr(buf + 0x2000, 0x1badb002, 4);              /* beyond the first 8 KiB */
	tl_wr(buf + 0x2008, (uint32_t)-(0x1badb002u), 4);
	cr_expect_eq(load(0x3000, &boot, msg, sizeof(msg)), -ENOEXEC);
	memset(buf, 0, sizeof(buf));
	tl_wr(buf + 0x100, 0x1badb002, 4);               /* bad checksum */
	cr_expect_eq(load(0x200, &boot, msg, sizeof(msg)), -ENOEXEC);
}

Test(detect, unknown_formats_are_named)
{
	struct vmm_boot boot;
	char msg[512];

	memset(buf, 0x90, sizeof(buf));
	cr_expect_eq(load(sizeof(buf), &boot, msg, sizeof(msg)), -ENOEXEC);
	cr_expect(strstr(msg, "guest.bin: unknown guest format (16384 bytes)"), "%s", msg);
	cr_expect(strstr(msg, "bzImage") && strstr(msg, "PVH") && strstr(msg, "Multiboot"), "%s", msg);
	cr_expect_eq(load(0, &boot, msg, sizeof(msg)), -ENOEXEC);
	cr_expect(strstr(msg, "(0 bytes)"), "%s", msg);

	tl_elf64_pvh(buf, sizeof(buf), 8);
	memcpy(buf + TL_ELF64_NOTE_OFF + 12, "Foo", 4);
	cr_expect_eq(load(0x140, &boot, msg, sizeof(msg)), -ENOEXEC);
	cr_expect(strstr(msg, "neither a Xen PVH entry note nor a Multiboot v1 header"), "%s", msg);

	tl_elf64_pvh(buf, sizeof(buf), 8);
	cr_expect_eq(load(0x100, &boot, msg, sizeof(msg)), -ENOEXEC, "truncated ELF");
	cr_expect(strstr(msg, "guest.bin: truncated"), "%s", msg);
}
