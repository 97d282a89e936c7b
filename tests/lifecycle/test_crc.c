/* The snapshot/migration stream's check, CRC-32C (vmm_snap_crc32c: the
 * SSE4.2 instruction where the CPU has it, slicing-by-8 tables otherwise)
 * gives the same values as the plain bit-by-bit definition, both ways: the
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
			crc = crc & 1 ? 0x82f63b78u ^ (crc >> 1) : crc >> 1;
	}
	return ~crc;
}

Test(crc, check_value)
{
	cr_assert_eq(vmm_snap_crc32c(0, "123456789", 9), 0xe3069283u);
	cr_assert_eq(vmm_snap_crc32c_soft(0, "123456789", 9), 0xe3069283u);
	cr_assert_eq(vmm_snap_crc32c(0, "", 0), 0);
}

static void fill(uint8_t *buf, size_t n)
{
	uint32_t seed = 12345;

	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)((seed = seed * 1103515245u + 12345u) >> 16);
}

Test(crc, same_as_bitwise_any_alignment_length_and_split)
{
	static uint8_t buf[4096 + 64];

	fill(buf, sizeof(buf));
	for (size_t off = 0; off < 9; off++)
		for (size_t len = 0; len < 80; len++) {
			uint32_t want = crc_bitwise(0, buf + off, len);

			cr_assert_eq(vmm_snap_crc32c(0, buf + off, len), want,
				     "offset %zu length %zu", off, len);
			cr_assert_eq(vmm_snap_crc32c_soft(0, buf + off, len), want,
				     "tables: offset %zu length %zu", off, len);
		}
	for (size_t cut = 0; cut <= 4096; cut += 37) {
		uint32_t c = vmm_snap_crc32c(vmm_snap_crc32c(0, buf + 3, cut), buf + 3 + cut,
					     4096 - cut);
		uint32_t s = vmm_snap_crc32c_soft(vmm_snap_crc32c(0, buf + 3, cut),
						  buf + 3 + cut, 4096 - cut);

		cr_assert_eq(c, crc_bitwise(0, buf + 3, 4096), "split at %zu", cut);
		cr_assert_eq(s, c, "instruction then tables, split at %zu", cut);
	}
}

/* One flipped bit anywhere in a page changes the check. */
Test(crc, catches_a_flipped_bit)
{
	static uint8_t buf[4096];
	uint32_t good;

	fill(buf, sizeof(buf));
	good = vmm_snap_crc32c(0, buf, sizeof(buf));
	for (size_t bit = 0; bit < sizeof(buf) * 8; bit += 97) {
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		cr_assert_neq(vmm_snap_crc32c(0, buf, sizeof(buf)), good, "bit %zu", bit);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
}

Test(crc, instruction_used_where_the_cpu_has_it)
{
	if (!__builtin_cpu_supports("sse4.2"))
		cr_skip_test("this CPU has no SSE4.2: the tables are used (checked above)");
	cr_assert(vmm_snap_crc32c_hw(), "SSE4.2 present but the instruction is not used");
}
