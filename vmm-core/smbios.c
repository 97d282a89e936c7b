/*
 * SMBIOS 2.8 tables (DMTF DSP0134): the 32-bit "_SM_" entry point at
 * VMM_SMBIOS_GPA (16-byte aligned inside 0xF0000-0xFFFFF, where guests scan
 * for it) with its "_DMI_" intermediate anchor, and the structure table
 * right after it:
 *   type 0   BIOS: vendor "avmm", the table describes a virtual machine
 *   type 1   system: manufacturer "avmm", product "avmm-pc", family
 *            "Virtual Machine" (UUID left zero: not set)
 *   type 4   one processor socket with nr_cpus cores and threads, enabled
 *   type 16  the system memory array, with the guest's RAM as its capacity
 *   type 17  one memory device of the guest's RAM size
 *   type 32  system boot information: no errors
 *   type 127 end of table
 * Each structure is its formatted area followed by its strings (each NUL
 * terminated; one more NUL ends the set; two when there are none).
 */
#include <errno.h>
#include <string.h>

#include "common/util.h"
#include "vmm-core/firmware.h"

#define EPS_LEN      0x1f
#define TABLE_OFF    0x20    /* structures after the entry point */
#define MAX_STRINGS  4

struct sb {
	uint8_t *p;
	uint32_t len, room;
	uint16_t handle, count, max_size;
	bool full;
};

static void w(uint8_t *p, uint32_t off, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[off + i] = (uint8_t)(v >> (8 * i));
}

/* Appends a structure: f[0] is its type, len its formatted length; strings
 * NULL-terminated (s[0] is string number 1). Returns its handle. */
static uint16_t put(struct sb *b, uint8_t *f, uint8_t len, const char *const *s)
{
	uint32_t start = b->len, need = len + 1;
	uint16_t handle = b->handle++;
	int n = 0;

	for (n = 0; n < MAX_STRINGS && s && s[n]; n++)
		need += (uint32_t)strlen(s[n]) + 1;
	need += n ? 0 : 1;
	if (b->full || need > b->room - b->len) {
		b->full = true;
		return handle;
	}
	f[1] = len;
	w(f, 2, handle, 2);
	memcpy(b->p + b->len, f, len);
	b->len += len;
	for (int i = 0; i < n; i++) {
		memcpy(b->p + b->len, s[i], strlen(s[i]) + 1);
		b->len += (uint32_t)strlen(s[i]) + 1;
	}
	b->p[b->len++] = 0;
	if (!n)
		b->p[b->len++] = 0;
	b->count++;
	b->max_size = (uint16_t)UTIL_MAX(b->max_size, b->len - start);
	return handle;
}

static void put_bios_system(struct sb *b)
{
	static const char *const bios_s[] = { "avmm", "avmm", "11/26/2026", NULL };
	static const char *const sys_s[] = { "avmm", "avmm-pc", "1", "Virtual Machine", NULL };
	uint8_t t0[0x18] = { 0 }, t1[0x1b] = { 0 };

	t0[4] = 1;                      /* vendor */
	t0[5] = 2;                      /* version */
	w(t0, 6, 0xe800, 2);            /* starting segment */
	t0[8] = 3;                      /* release date */
	w(t0, 10, 0x08, 8);             /* characteristics not supported */
	t0[19] = 0x10;                  /* extension byte 2: virtual machine */
	t0[20] = 1;                     /* system BIOS release 1.0 */
	t0[22] = t0[23] = 0xff;         /* no embedded controller */
	put(b, t0, sizeof(t0), bios_s);

	t1[0] = 1;
	t1[4] = 1;                      /* manufacturer */
	t1[5] = 2;                      /* product */
	t1[6] = 3;                      /* version */
	t1[24] = 0x06;                  /* wake-up: power switch */
	t1[26] = 4;                     /* family */
	put(b, t1, sizeof(t1), sys_s);
}

static void put_cpu(struct sb *b, int nr_cpus)
{
	static const char *const s[] = { "CPU 0", NULL };
	uint8_t t4[0x2a] = { 0 };
	uint8_t n = (uint8_t)UTIL_MIN(nr_cpus, 255);

	t4[0] = 4;
	t4[4] = 1;                      /* socket designation */
	t4[5] = 0x03;                   /* central processor */
	t4[6] = 0x01;                   /* family: other (see family 2) */
	t4[24] = 0x41;                  /* socket populated, CPU enabled */
	t4[25] = 0x01;                  /* upgrade: other */
	w(t4, 26, 0xffff, 2);           /* no cache information */
	w(t4, 28, 0xffff, 2);
	w(t4, 30, 0xffff, 2);
	t4[35] = n;                     /* cores */
	t4[36] = n;                     /* cores enabled */
	t4[37] = n;                     /* threads */
	w(t4, 38, 0x04, 2);             /* 64-bit capable */
	w(t4, 40, 0x01, 2);             /* family 2: other */
	put(b, t4, sizeof(t4), s);
}

static void put_memory(struct sb *b, uint64_t ram_bytes)
{
	static const char *const s17[] = { "DIMM 0", "avmm", NULL };
	uint8_t t16[0x17] = { 0 }, t17[0x28] = { 0 };
	uint64_t kib = ram_bytes >> 10, mib = ram_bytes >> 20;
	uint16_t array;

	t16[0] = 16;
	t16[4] = 0x03;                  /* location: system board */
	t16[5] = 0x03;                  /* use: system memory */
	t16[6] = 0x03;                  /* error correction: none */
	w(t16, 7, kib < 0x80000000ull ? kib : 0x80000000ull, 4);
	w(t16, 11, 0xfffe, 2);          /* no error information */
	w(t16, 13, 1, 2);               /* one device */
	w(t16, 15, kib < 0x80000000ull ? 0 : ram_bytes, 8);
	array = put(b, t16, sizeof(t16), NULL);

	t17[0] = 17;
	w(t17, 4, array, 2);
	w(t17, 6, 0xfffe, 2);
	w(t17, 8, 0xffff, 2);           /* widths unknown */
	w(t17, 10, 0xffff, 2);
	w(t17, 12, mib < 0x7fff ? mib : 0x7fff, 2);   /* MiB; 0x7fff: see extended */
	t17[14] = 0x09;                 /* DIMM */
	t17[16] = 1;                    /* device locator */
	t17[18] = 0x07;                 /* RAM */
	w(t17, 19, 0x0002, 2);          /* type detail: other */
	t17[23] = 2;                    /* manufacturer */
	w(t17, 28, mib < 0x7fff ? 0 : mib, 4);
	put(b, t17, sizeof(t17), s17);
}

static uint8_t csum(const uint8_t *p, uint32_t len)
{
	uint8_t s = 0;

	while (len--)
		s = (uint8_t)(s + *p++);
	return (uint8_t)(0x100 - s);
}

int vmm_smbios_write(const struct vmm_mem_map *map, int nr_cpus, uint64_t ram_bytes)
{
	const uint32_t area = (uint32_t)(VMM_SMBIOS_END - VMM_SMBIOS_GPA);
	uint8_t *p = vmm_gpa_ptr(map, VMM_SMBIOS_GPA, area);
	uint8_t t32[0x0b] = { 32 }, t127[4] = { 127 };
	struct sb b;

	if (!p) {
		util_err("SMBIOS: guest RAM does not cover 0x%llx-0x%llx: raise --mem",
			 (unsigned long long)VMM_SMBIOS_GPA, (unsigned long long)VMM_SMBIOS_END);
		return -ENOSPC;
	}
	memset(p, 0, area);
	b = (struct sb){ .p = p + TABLE_OFF, .room = area - TABLE_OFF };
	put_bios_system(&b);
	put_cpu(&b, nr_cpus);
	put_memory(&b, ram_bytes);
	put(&b, t32, sizeof(t32), NULL);
	put(&b, t127, sizeof(t127), NULL);
	if (b.full) {
		util_err("SMBIOS: the structures do not fit in %u bytes", area - TABLE_OFF);
		return -ENOSPC;
	}
	memcpy(p, "_SM_", 4);
	p[5] = EPS_LEN;
	p[6] = 2;                       /* version 2.8 */
	p[7] = 8;
	w(p, 8, b.max_size, 2);
	memcpy(p + 16, "_DMI_", 5);
	w(p, 22, b.len, 2);
	w(p, 24, VMM_SMBIOS_GPA + TABLE_OFF, 4);
	w(p, 28, b.count, 2);
	p[30] = 0x28;                   /* BCD revision */
	p[21] = csum(p + 16, EPS_LEN - 16);
	p[4] = csum(p, EPS_LEN);
	return 0;
}
