/* Minimal crafted guest images for the loader tests. */
#include <elf.h>
#include <string.h>

#include "tl.h"

static void tl_pattern(uint8_t *p, size_t len, uint8_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

/* ELF64: ehdr, PT_LOAD (code at 2 MiB + bss), PT_NOTE (Xen PHYS32_ENTRY). */
size_t tl_elf64_pvh(uint8_t *buf, size_t cap, int desc_bytes)
{
	Elf64_Ehdr eh = { 0 };
	Elf64_Phdr ph[2] = { { 0 } };
	size_t note_len = 12 + 4 + (size_t)desc_bytes;
	uint8_t *n = buf + TL_ELF64_NOTE_OFF;

	if (cap < TL_ELF_CODE_OFF + TL_ELF_CODE_LEN)
		return 0;
	memset(buf, 0, TL_ELF_CODE_OFF + TL_ELF_CODE_LEN);
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_entry = 0xffffffff81000000ull; /* virtual, ignored by PVH */
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = 2;
	ph[0].p_type = PT_LOAD;
	ph[0].p_offset = TL_ELF_CODE_OFF;
	ph[0].p_vaddr = 0xffffffff81000000ull;
	ph[0].p_paddr = TL_ELF_LOAD_GPA;
	ph[0].p_filesz = TL_ELF_CODE_LEN;
	ph[0].p_memsz = TL_ELF_MEMSZ;
	ph[1].p_type = PT_NOTE;
	ph[1].p_offset = TL_ELF64_NOTE_OFF;
	ph[1].p_filesz = note_len;
	ph[1].p_align = 4;
	memcpy(buf, &eh, sizeof(eh));
	memcpy(buf + sizeof(eh), ph, sizeof(ph));
	tl_wr(n, 4, 4);
	tl_wr(n + 4, (uint64_t)desc_bytes, 4);
	tl_wr(n + 8, 18, 4);
	memcpy(n + 12, "Xen", 4);
	tl_wr(n + 16, TL_ELF_ENTRY, desc_bytes);
	tl_pattern(buf + TL_ELF_CODE_OFF, TL_ELF_CODE_LEN, 0x11);
	return TL_ELF_CODE_OFF + TL_ELF_CODE_LEN;
}

/* ELF32 (i386): the same layout with 32-bit headers and a 4-byte entry note
 * preceded by another Xen note, so the walk has to step over one. */
size_t tl_elf32_pvh(uint8_t *buf, size_t cap)
{
	Elf32_Ehdr eh = { 0 };
	Elf32_Phdr ph[2] = { { 0 } };
	uint8_t *n = buf + 0x80;

	if (cap < TL_ELF_CODE_OFF + TL_ELF_CODE_LEN)
		return 0;
	memset(buf, 0, TL_ELF_CODE_OFF + TL_ELF_CODE_LEN);
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS32;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_386;
	eh.e_version = EV_CURRENT;
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf32_Phdr);
	eh.e_phnum = 2;
	ph[0].p_type = PT_NOTE;
	ph[0].p_offset = 0x80;
	ph[0].p_filesz = 24 + 20;
	ph[1].p_type = PT_LOAD;
	ph[1].p_offset = TL_ELF_CODE_OFF;
	ph[1].p_paddr = (Elf32_Addr)TL_ELF_LOAD_GPA;
	ph[1].p_filesz = TL_ELF_CODE_LEN;
	ph[1].p_memsz = TL_ELF_MEMSZ;
	memcpy(buf, &eh, sizeof(eh));
	memcpy(buf + sizeof(eh), ph, sizeof(ph));
	/* XEN_ELFNOTE_GUEST_OS "linux" (namesz 4, descsz 6 -> padded to 8). */
	tl_wr(n, 4, 4);
	tl_wr(n + 4, 6, 4);
	tl_wr(n + 8, 6, 4);
	memcpy(n + 12, "Xen", 4);
	memcpy(n + 16, "linux", 6);
	n += 24;
	tl_wr(n, 4, 4);
	tl_wr(n + 4, 4, 4);
	tl_wr(n + 8, 18, 4);
	memcpy(n + 12, "Xen", 4);
	tl_wr(n + 16, TL_ELF_ENTRY, 4);
	tl_pattern(buf + TL_ELF_CODE_OFF, TL_ELF_CODE_LEN, 0x11);
	return TL_ELF_CODE_OFF + TL_ELF_CODE_LEN;
}

/* bzImage: boot sector with the 2.15 setup header, 4 setup sectors, an
 * 8 KiB protected-mode "kernel" with a pattern. */
size_t tl_bzimage(uint8_t *buf, size_t cap)
{
	size_t setup = (TL_BZ_SETUP_SECTS + 1) * 512, total = setup + TL_BZ_PM_LEN;

	if (cap < total)
		return 0;
	memset(buf, 0, setup);
	buf[0x1f1] = TL_BZ_SETUP_SECTS;
	tl_wr(buf + 0x1f4, TL_BZ_PM_LEN / 16, 4);     /* syssize */
	tl_wr(buf + 0x1fe, 0xaa55, 2);
	buf[0x200] = 0xeb;                             /* jmp short */
	buf[0x201] = 0x6a;                             /* header ends at 0x26c */
	memcpy(buf + 0x202, "HdrS", 4);
	tl_wr(buf + 0x206, 0x020f, 2);
	buf[0x211] = 0x01;                             /* LOADED_HIGH */
	tl_wr(buf + 0x22c, 0x7fffffff, 4);             /* initrd_addr_max */
	tl_wr(buf + 0x230, 0x200000, 4);               /* kernel_alignment */
	buf[0x234] = 1;                                /* relocatable */
	buf[0x235] = 21;                               /* min_alignment */
	tl_wr(buf + 0x236, 0x7f, 2);                   /* xloadflags */
	tl_wr(buf + 0x238, 0x7ff, 4);                  /* cmdline_size */
	tl_wr(buf + 0x258, TL_BZ_PREF, 8);             /* pref_address */
	tl_wr(buf + 0x260, TL_BZ_INIT_SIZE, 4);        /* init_size */
	tl_wr(buf + 0x264, 0x4242, 4);                 /* handover_offset */
	tl_pattern(buf + setup, TL_BZ_PM_LEN, 0x5a);
	return total;
}
