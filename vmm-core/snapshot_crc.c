/*
 * The snapshot and migration stream's check (snapshot.h): CRC-32C
 * (Castagnoli, reflected polynomial 0x82f63b78, initial and final value
 * ~0), computed over every byte a snapshot or a migration moves, on both
 * sides. Two implementations giving the same value:
 *   - the SSE4.2 crc32 instruction, eight bytes a step, where CPUID.1:ECX
 *     bit 20 says the CPU has it (every x86-64 CPU since 2008/2011);
 *   - slicing-by-8 tables, eight bytes a step, elsewhere.
 * The choice is made once, at the first call.
 */
#include <cpuid.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "vmm-core/snapshot.h"

#define CRC32C_POLY 0x82f63b78u

static uint32_t crc_table[8][256];
static bool crc_hw;
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	unsigned a, b, c = 0, d;

	for (uint32_t i = 0; i < 256; i++) {
		uint32_t v = i;

		for (int k = 0; k < 8; k++)
			v = v & 1 ? CRC32C_POLY ^ (v >> 1) : v >> 1;
		crc_table[0][i] = v;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^
					  crc_table[0][crc_table[t - 1][i] & 0xff];
	crc_hw = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_SSE4_2);
}

/* Tables, on the inverted value. */
static uint32_t crc_soft(uint32_t crc, const uint8_t *p, size_t len)
{
	const uint32_t (*T)[256] = crc_table;
	uint32_t lo, hi;

	for (; len && ((uintptr_t)p & 7); len--)
		crc = T[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	for (; len >= 8; len -= 8, p += 8) {   /* little-endian: x86 only */
		memcpy(&lo, p, 4);
		memcpy(&hi, p + 4, 4);
		lo ^= crc;
		crc = T[7][lo & 0xff] ^ T[6][(lo >> 8) & 0xff] ^ T[5][(lo >> 16) & 0xff] ^
		      T[4][lo >> 24] ^ T[3][hi & 0xff] ^ T[2][(hi >> 8) & 0xff] ^
		      T[1][(hi >> 16) & 0xff] ^ T[0][hi >> 24];
	}
	while (len--)
		crc = T[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

/* The crc32 instruction, on the inverted value. */
__attribute__((target("sse4.2")))
static uint32_t crc_sse42(uint32_t crc, const uint8_t *p, size_t len)
{
	uint64_t c = crc, q;

	for (; len && ((uintptr_t)p & 7); len--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	for (; len >= 32; len -= 32, p += 32) {
		memcpy(&q, p, 8);
		c = __builtin_ia32_crc32di(c, q);
		memcpy(&q, p + 8, 8);
		c = __builtin_ia32_crc32di(c, q);
		memcpy(&q, p + 16, 8);
		c = __builtin_ia32_crc32di(c, q);
		memcpy(&q, p + 24, 8);
		c = __builtin_ia32_crc32di(c, q);
	}
	for (; len >= 8; len -= 8, p += 8) {
		memcpy(&q, p, 8);
		c = __builtin_ia32_crc32di(c, q);
	}
	while (len--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return (uint32_t)c;
}

uint32_t vmm_snap_crc32c(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&crc_once, crc_init);
	return ~(crc_hw ? crc_sse42(~crc, buf, len) : crc_soft(~crc, buf, len));
}

uint32_t vmm_snap_crc32c_soft(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&crc_once, crc_init);
	return ~crc_soft(~crc, buf, len);
}

bool vmm_snap_crc32c_hw(void)
{
	pthread_once(&crc_once, crc_init);
	return crc_hw;
}
