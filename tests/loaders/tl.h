/* Test helpers for the loader tests: malloc'd guest RAM and stderr capture. */
#ifndef AVMM_TESTS_LOADERS_TL_H
#define AVMM_TESTS_LOADERS_TL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm-core/loader.h"

#define TL_MIB (1024ull * 1024)

struct tl_ram { struct vmm_mem_map map; uint8_t *buf; };

/* One region of `bytes` at gpa 0; the first 4 MiB are filled with 0xcc so
 * zeroing is visible there (the rest stays lazily-mapped zeros: fast). */
static inline int tl_ram_init(struct tl_ram *r, uint64_t bytes)
{
	memset(r, 0, sizeof(*r));
	r->buf = calloc(1, bytes);
	if (!r->buf)
		return -1;
	memset(r->buf, 0xcc, bytes < 4 * TL_MIB ? bytes : 4 * TL_MIB);
	r->map.nr = 1;
	r->map.r[0].gpa = 0;
	r->map.r[0].bytes = bytes;
	r->map.r[0].hva = r->buf;
	return 0;
}

static inline void tl_ram_free(struct tl_ram *r)
{
	free(r->buf);
	r->buf = NULL;
}

static inline uint64_t tl_rd(const void *p, int bytes)
{
	const uint8_t *b = p;
	uint64_t v = 0;

	while (bytes--)
		v = (v << 8) | b[bytes];
	return v;
}

static inline void tl_wr(void *p, uint64_t v, int bytes)
{
	uint8_t *b = p;
	int i;

	for (i = 0; i < bytes; i++, v >>= 8)
		b[i] = (uint8_t)v;
}

/* stderr capture through a temp file (independent of Criterion's redirect). */
struct tl_cap { int saved; FILE *f; char text[4096]; };

static inline void tl_cap_begin(struct tl_cap *c)
{
	fflush(stderr);
	c->f = tmpfile();
	c->saved = dup(2);
	if (c->f)
		dup2(fileno(c->f), 2);
	c->text[0] = 0;
}

static inline const char *tl_cap_end(struct tl_cap *c)
{
	size_t n = 0;

	fflush(stderr);
	dup2(c->saved, 2);
	close(c->saved);
	if (c->f) {
		rewind(c->f);
		n = fread(c->text, 1, sizeof(c->text) - 1, c->f);
		fclose(c->f);
	}
	c->text[n] = 0;
	return c->text;
}

/* Crafted images (tl_images.c). Each returns the size written into buf. */
size_t tl_elf64_pvh(uint8_t *buf, size_t cap, int desc_bytes);
size_t tl_elf32_pvh(uint8_t *buf, size_t cap);
size_t tl_bzimage(uint8_t *buf, size_t cap);

/* Layout of the crafted ELF images. */
#define TL_ELF_LOAD_GPA  0x200000ull
#define TL_ELF_ENTRY     (TL_ELF_LOAD_GPA + 0x10)
#define TL_ELF_CODE_OFF  0x100
#define TL_ELF_CODE_LEN  0x40
#define TL_ELF_MEMSZ     0x2000
#define TL_ELF64_NOTE_OFF 0xc0
/* Layout of the crafted bzImage. */
#define TL_BZ_SETUP_SECTS 4
#define TL_BZ_PM_LEN      0x2000
#define TL_BZ_PREF        0x1000000ull
#define TL_BZ_INIT_SIZE   0x400000u

#endif
