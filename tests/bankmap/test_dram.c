/* bankmap bank level: bank_of/rank_of on known masks, the machine file's
 * [dram] section, the memory power model. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bankmap/bankmap.h"

Test(bankmap_dram, bank_of_known_masks)
{
	/* bank bit 0 = a13 ^ a17, bit 1 = a14 ^ a18, bit 2 = a16 ^ a20; rank = a33 */
	struct bankmap_dram_map m = { .nr_bank_bits = 3, .nr_rank_bits = 1,
				      .bank_mask = { 0x22000, 0x44000, 0x110000 },
				      .rank_mask = { 1ull << 33 } };

	cr_expect_eq(bankmap_bank_of(0, &m), 0);
	cr_expect_eq(bankmap_bank_of(0x2000 >> 12, &m), 1);       /* a13 */
	cr_expect_eq(bankmap_bank_of(0x22000 >> 12, &m), 0);      /* a13 ^ a17 */
	cr_expect_eq(bankmap_bank_of(0x24000 >> 12, &m), 3);      /* a14, a17 */
	cr_expect_eq(bankmap_bank_of(0x10000 >> 12, &m), 4);      /* a16 */
	cr_expect_eq(bankmap_bank_of(0x16000 >> 12, &m), 7);      /* a13, a14, a16 */
	cr_expect_eq(bankmap_rank_of(0, &m), 0);
	cr_expect_eq(bankmap_rank_of((1ull << 33) >> 12, &m), 1);
	cr_expect_eq(bankmap_rank_of(((1ull << 33) >> 12) + 5, &m), 1);
	/* every bank gets 1/8 of a contiguous 1 MiB */
	int per[8] = { 0 };
	for (uint64_t pfn = 0; pfn < 256; pfn++)
		per[bankmap_bank_of(pfn, &m)]++;
	for (int b = 0; b < 8; b++)
		cr_expect_eq(per[b], 32, "bank %d: %d pages", b, per[b]);
}

Test(bankmap_dram, machine_file_parse)
{
	struct bankmap_machine mc;

	cr_assert_eq(bankmap_machine_parse("[main]\nfoo = 1\n[dram]\n"
					   "bank_masks = 0x22000, 0x44000 ; a comment\n"
					   "rank_masks = 0x200000000\nrank_active_w = 3\n"
					   "rank_idle_w = 0.25\nranks_per_node = 8\n"
					   "source = DRAMA on a Xeon; measured 2026\n",
					   "m.ini", &mc), 0, "%s", mc.why);
	cr_expect(mc.has_map);
	cr_expect_eq(mc.map.nr_bank_bits, 2);
	cr_expect_eq(mc.map.bank_mask[1], 0x44000);
	cr_expect_eq(mc.map.nr_rank_bits, 1);
	cr_expect_eq(mc.map.rank_mask[0], 1ull << 33);
	cr_expect_float_eq(mc.power.rank_active_w, 3, 1e-9);
	cr_expect_float_eq(mc.power.rank_idle_w, 0.25, 1e-9);
	cr_expect_eq(mc.power.ranks_per_node, 8);
	cr_expect_str_eq(mc.source, "DRAMA on a Xeon; measured 2026");
}

Test(bankmap_dram, machine_file_errors_and_absence)
{
	struct bankmap_machine mc;

	cr_expect_eq(bankmap_machine_parse("[dram]\nbank_mask = 0x1\n", "m.ini", &mc), -EINVAL);
	cr_expect(strstr(mc.why, "m.ini:2: unknown key 'bank_mask'"), "%s", mc.why);
	cr_expect_eq(bankmap_machine_parse("[dram]\n\nbank_masks = 0x1, 0\n", "m.ini", &mc), -EINVAL);
	cr_expect(strstr(mc.why, "m.ini:3: bad value"), "%s", mc.why);
	cr_expect_eq(bankmap_machine_parse("[dram]\nranks_per_node = 0\n", "m.ini", &mc), -EINVAL);
	cr_expect_eq(bankmap_machine_parse("[dram]\nrank_idle_w = -1\n", "m.ini", &mc), -EINVAL);
	cr_assert_eq(bankmap_machine_parse("[other]\nx = y\n", "m.ini", &mc), 0);
	cr_expect_not(mc.has_map);
	cr_expect(strstr(mc.why, "no [dram] section"), "%s", mc.why);
	cr_expect_float_eq(mc.power.rank_active_w, BANKMAP_RANK_ACTIVE_W, 1e-9);
	cr_assert_eq(bankmap_machine_load("/nonexistent/machine.ini", &mc), 0);
	cr_expect_not(mc.has_map);
	cr_expect(strstr(mc.why, "No such file"), "%s", mc.why);
}

Test(bankmap_dram, machine_file_load_from_env)
{
	char path[] = "/tmp/avmm-machine-XXXXXX";
	struct bankmap_machine mc;
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	cr_assert_gt(write(fd, "[dram]\nbank_masks = 0x2000\n", 27), 0);
	close(fd);
	setenv("AVMM_MACHINE_FILE", path, 1);
	cr_assert_eq(bankmap_machine_load(NULL, &mc), 0, "%s", mc.why);
	cr_expect(mc.has_map);
	cr_expect_eq(mc.map.bank_mask[0], 0x2000);
	unsetenv("AVMM_MACHINE_FILE");
	unlink(path);
}

Test(bankmap_dram, power_model)
{
	struct bankmap_power_model m = { .rank_active_w = 2.5, .rank_idle_w = 0.5, .ranks_per_node = 4 };

	/* 4 nodes x 4 ranks: pack on 1 node = 4 active + 12 idle */
	cr_expect_float_eq(bankmap_power_model_w(&m, 4, 1), 4 * 2.5 + 12 * 0.5, 1e-9);
	cr_expect_float_eq(bankmap_power_model_w(&m, 4, 4), 16 * 2.5, 1e-9);
	cr_expect_float_eq(bankmap_power_model_w(&m, 4, 9), 16 * 2.5, 1e-9, "clamped to nodes");
	cr_expect_lt(bankmap_power_model_w(&m, 2, 1), bankmap_power_model_w(&m, 2, 2));
}
