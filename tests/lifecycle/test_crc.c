/* The snapshot/migration stream's CRC-32 (vmm_snap_crc32, sliced eight bytes
 * a step) gives the same values as the plain bit-by-bit definition: the
 * standard check value, every alignment and length, and in pieces. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>

#include "vmm-core/snapshot.h"

static uint32_t crc_bitwise(uint32_t crc, const uint8_t *p, size_t len)
{
	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = crc & 1 ? 0xedb88320u ^ (crc >> 1) : crc >> 1;
	}
	return ~crc;
}

Test(crc, check_value)
{
	cr_assert_eq(vmm_snap_crc32(0, "123456789", 9), 0xcbf43926u);
	cr_assert_eq(vmm_snap_crc32(0, "", 0), 0);
}

Test(crc, same_as_bitwise_any_alignment_length_and_split)
{
	static uint8_t buf[4096 + 64];
	uint32_t seed = 12345;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)((seed = seed * 1103515245u + 12345u) >> 16);
	for (size_t off = 0; off < 9; off++)
		for (size_t len = 0; len < 80; len++)
			cr_assert_eq(vmm_snap_crc32(0, buf + off, len), crc_bitwise(0, buf + off, len),
				     "offset %zu length %zu", off, len);
	for (size_t cut = 0; cut <= 4096; cut += 37) {
		uint32_t c = vmm_snap_crc32(vmm_snap_crc32(0, buf + 3, cut), buf + 3 + cut,
					    4096 - cut);

		cr_assert_eq(c, crc_bitwise(0, buf + 3, 4096), "split at %zu", cut);
	}
}
