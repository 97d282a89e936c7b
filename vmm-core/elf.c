/*
 * ELF images (ELF32 or ELF64, little-endian x86) for the PVH and Multiboot
 * loaders: header and program header validation with bounds and overflow
 * checks, PT_LOAD segments copied to p_paddr, and the Xen PVH entry note
 * (XEN_ELFNOTE_PHYS32_ENTRY, note 18 of owner "Xen").
 */
#include "vmm-core/loader.h"

#include "common/util.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define PT_LOAD 1
#define PT_NOTE 4
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define ELF_MAX_PHDRS 4096

struct elf_seg { uint32_t type; uint64_t offset, paddr, filesz, memsz; };
struct elf_hdr { bool is64, lax; uint64_t phoff, entry; uint32_t phnum, phentsize; };

static uint64_t rd(const uint8_t *p, int bytes)
{
	uint64_t v = 0;

	while (bytes--)
		v = (v << 8) | p[bytes];
	return v;
}

/* True when [off, off+len) lies inside a file of `size` bytes (no overflow). */
static bool in_file(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

static int elf_header(const struct vmm_image *img, struct elf_hdr *h, char *why, size_t n)
{
	const uint8_t *d = img->data;
	uint64_t machine;

	if (img->size < 4 || memcmp(d, "\177ELF", 4)) {
		snprintf(why, n, "not an ELF file");
		return -ENOEXEC;
	}
	if (img->size < 52) {
		snprintf(why, n, "truncated: ELF header needs 52 bytes, file has %zu", img->size);
		return -ENOEXEC;
	}
	if (d[4] != 1 && d[4] != 2) {
		snprintf(why, n, "bad ELF class %u", d[4]);
		return -ENOEXEC;
	}
	h->is64 = d[4] == 2;
	if (h->is64 && img->size < 64) {
		snprintf(why, n, "truncated: ELF64 header needs 64 bytes, file has %zu", img->size);
		return -ENOEXEC;
	}
	machine = rd(d + 18, 2);
	if ((!h->lax && d[5] != 1) || (machine != 3 && machine != 62)) {
		snprintf(why, n, "not a little-endian x86 ELF (data %u, machine %llu)", d[5],
			 (unsigned long long)machine);
		return -ENOEXEC;
	}
	h->entry = h->is64 ? rd(d + 24, 8) : rd(d + 24, 4);
	h->phoff = h->is64 ? rd(d + 32, 8) : rd(d + 28, 4);
	h->phentsize = (uint32_t)rd(d + (h->is64 ? 54 : 42), 2);
	h->phnum = (uint32_t)rd(d + (h->is64 ? 56 : 44), 2);
	if (h->phentsize != (h->is64 ? 56u : 32u) ||
	    (!h->lax && (h->phnum == 0 || h->phnum > ELF_MAX_PHDRS))) {
		snprintf(why, n, "bad program header table (entry size %u, %u entries)",
			 h->phentsize, h->phnum);
		return -ENOEXEC;
	}
	if (!in_file(h->phoff, (uint64_t)h->phnum * h->phentsize, img->size)) {
		snprintf(why, n, "truncated: program header table at 0x%llx (%u x %u bytes) "
			 "beyond file size 0x%zx", (unsigned long long)h->phoff, h->phnum,
			 h->phentsize, img->size);
		return -ENOEXEC;
	}
	return 0;
}

/* Program header i; PT_LOAD and PT_NOTE are checked against the file and for wrap. */
static int elf_seg_get(const struct vmm_image *img, const struct elf_hdr *h, uint32_t i,
		       struct elf_seg *s, char *why, size_t n)
{
	const uint8_t *p = img->data + h->phoff + (uint64_t)i * h->phentsize;

	s->type = (uint32_t)rd(p, 4);
	if (h->is64) {
		s->offset = rd(p + 8, 8);
		s->paddr = rd(p + 24, 8);
		s->filesz = rd(p + 32, 8);
		s->memsz = rd(p + 40, 8);
	} else {
		s->offset = rd(p + 4, 4);
		s->paddr = rd(p + 12, 4);
		s->filesz = rd(p + 16, 4);
		s->memsz = rd(p + 20, 4);
	}
	if (s->type != PT_LOAD && s->type != PT_NOTE)
		return 0;
	if (h->lax && (s->type != PT_LOAD || !s->memsz))
		return 0; /* Multiboot checks only what it loads */
	if (!in_file(s->offset, s->filesz, img->size)) {
		snprintf(why, n, "truncated: program header %u ends at 0x%llx beyond file size 0x%zx",
			 i, (unsigned long long)(s->offset + s->filesz), img->size);
		return -ENOEXEC;
	}
	if (s->type == PT_LOAD && (s->filesz > s->memsz || s->paddr + s->memsz < s->paddr)) {
		snprintf(why, n, "program header %u: bad sizes (file 0x%llx, memory 0x%llx at 0x%llx)",
			 i, (unsigned long long)s->filesz, (unsigned long long)s->memsz,
			 (unsigned long long)s->paddr);
		return -ENOEXEC;
	}
	return 0;
}

int vmm_load_segment(const struct vmm_image *img, const struct vmm_mem_map *map, uint32_t index,
		     uint64_t gpa, const uint8_t *src, uint64_t filesz, uint64_t memsz,
		     bool low_ok)
{
	uint8_t *dst = vmm_gpa_ptr(map, gpa, memsz);
	const struct vmm_lowmem_area *a = vmm_lowmem_conflict(gpa, memsz);

	if (!dst || gpa + memsz > VMM_HIGH_GPA) {
		util_err("%s: guest larger than memory: segment %u [0x%llx, 0x%llx) is outside low "
			 "RAM (ends at 0x%llx): raise --mem", img->path, index,
			 (unsigned long long)gpa, (unsigned long long)(gpa + memsz),
			 (unsigned long long)map->r[0].bytes);
		return -EFBIG;
	}
	if (low_ok && a) {
		util_err("%s: segment %u [0x%llx, 0x%llx) overlaps %s [0x%llx, 0x%llx), which avmm "
			 "fills itself: link the image outside it (below 0x%llx or at 1 MiB or above)",
			 img->path, index, (unsigned long long)gpa, (unsigned long long)(gpa + memsz),
			 a->what, (unsigned long long)a->start, (unsigned long long)a->end,
			 (unsigned long long)VMM_LOW_RAM_END);
		return -EINVAL;
	}
	if (!low_ok && gpa < VMM_MIN_LOAD_GPA) {
		util_err("%s: segment %u [0x%llx, 0x%llx) is below 1 MiB, where avmm keeps boot "
			 "data (link it at 1 MiB or above)", img->path, index,
			 (unsigned long long)gpa, (unsigned long long)(gpa + memsz));
		return -EINVAL;
	}
	memcpy(dst, src, filesz);
	memset(dst + filesz, 0, memsz - filesz);
	return 0;
}

int vmm_elf_load(const struct vmm_image *img, const struct vmm_mem_map *map, bool lax,
		 uint64_t *entry, uint64_t *end)
{
	char why[256] = "";
	struct elf_hdr h = { .lax = lax };
	struct elf_seg s;
	uint32_t i;
	int rc = elf_header(img, &h, why, sizeof(why)), loaded = 0;

	for (i = 0; !rc && i < h.phnum; i++) {
		rc = elf_seg_get(img, &h, i, &s, why, sizeof(why));
		if (rc || s.type != PT_LOAD || !s.memsz)
			continue;
		rc = vmm_load_segment(img, map, i, s.paddr, img->data + s.offset, s.filesz, s.memsz,
				      lax);
		if (rc)
			return rc;
		*end = UTIL_MAX(*end, s.paddr + s.memsz);
		loaded++;
	}
	if (rc) {
		util_err("%s: %s", img->path, why);
		return rc;
	}
	*entry = h.entry;
	return loaded;
}

/* Walks one PT_NOTE segment; 1 and *entry set when the PVH note is found. */
static int note_scan(const uint8_t *d, uint64_t len, uint32_t seg, uint64_t *entry,
		     char *why, size_t n)
{
	uint64_t off = 0;

	while (len - off >= 12) {
		uint64_t namesz = rd(d + off, 4), descsz = rd(d + off + 4, 4);
		uint64_t type = rd(d + off + 8, 4);
		uint64_t name = off + 12, desc = name + ((namesz + 3) & ~3ull);

		if (desc > len || ((descsz + 3) & ~3ull) > len - desc) {
			snprintf(why, n, "truncated: note at 0x%llx in program header %u runs past "
				 "its segment (0x%llx bytes)", (unsigned long long)off, seg,
				 (unsigned long long)len);
			return -ENOEXEC;
		}
		if (type == XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 && !memcmp(d + name, "Xen", 4)) {
			if (descsz != 4 && descsz != 8) {
				snprintf(why, n, "PVH entry note has %llu bytes (want 4 or 8)",
					 (unsigned long long)descsz);
				return -ENOEXEC;
			}
			*entry = rd(d + desc, (int)descsz);
			if (*entry >= VMM_HIGH_GPA) {
				snprintf(why, n, "PVH entry 0x%llx is not a 32-bit address",
					 (unsigned long long)*entry);
				return -ENOEXEC;
			}
			return 1;
		}
		off = desc + ((descsz + 3) & ~3ull);
	}
	return 0;
}

int vmm_pvh_entry(const struct vmm_image *img, uint64_t *entry, char *why, size_t why_len)
{
	struct elf_hdr h = { .lax = false };
	struct elf_seg s;
	uint32_t i;
	int rc;

	rc = elf_header(img, &h, why, why_len);
	for (i = 0; !rc && i < h.phnum; i++) {
		rc = elf_seg_get(img, &h, i, &s, why, why_len);
		if (!rc && s.type == PT_NOTE)
			rc = note_scan(img->data + s.offset, s.filesz, i, entry, why, why_len);
	}
	if (rc == 1)
		return 0;
	if (!rc) {
		snprintf(why, why_len, "ELF has no Xen PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY): "
			 "build the kernel with CONFIG_PVH=y or pass a bzImage");
		rc = -ENOENT;
	}
	return rc;
}
