/*
 * Guest physical address translation and the e820 memory map of the guest.
 *
 * Layout of the map (addresses in bytes):
 *   [0, VMM_LOW_RAM_END)          usable     conventional memory
 *   [VMM_LOW_RAM_END, 0xa0000)    reserved   EBDA
 *   [0xe0000, 0x100000)           reserved   BIOS area: ACPI tables at 0xe0000, MP table
 *                                            at 0xf0000, SMBIOS at 0xf1000 (firmware.h)
 *   [1 MiB, end of region 0)      usable
 *   [0xfeb00000, +4 KiB)          reserved   avmm's run-delay page (steal.c)
 *   [4 GiB, 4 GiB + region 1)     usable     RAM moved above the MMIO hole
 * The VGA/ROM window [0xa0000, 0xe0000) is left out (neither RAM nor listed).
 */
#include "vmm-core/loader.h"
#include "vmm-core/pc.h"

#include "common/util.h"

#include <errno.h>
#include <string.h>

#define E820_EBDA_END  0xa0000ull
#define E820_BIOS_GPA  0xe0000ull
#define E820_HIGH_GPA  0x100000ull

void *vmm_gpa_ptr(const struct vmm_mem_map *map, uint64_t gpa, uint64_t len)
{
	int i;

	if (!map)
		return NULL;
	for (i = 0; i < map->nr && i < (int)UTIL_ARRAY_SIZE(map->r); i++) {
		uint64_t start = map->r[i].gpa, bytes = map->r[i].bytes, off;

		if (!map->r[i].hva || gpa < start || gpa - start >= bytes)
			continue;
		off = gpa - start;
		if (len > bytes - off)
			return NULL; /* straddles the end of the region */
		return map->r[i].hva + off;
	}
	return NULL;
}

static int e820_add(struct vmm_e820 *out, int max, int *n, uint64_t addr,
		    uint64_t size, uint32_t type)
{
	if (!size)
		return 0;
	if (*n >= max) {
		util_err("e820: the memory map needs more than %d entries", max);
		return -ENOSPC;
	}
	out[*n].addr = addr;
	out[*n].size = size;
	out[*n].type = type;
	(*n)++;
	return 0;
}

int vmm_e820_build(const struct vmm_mem_map *map, struct vmm_e820 *out, int max)
{
	uint64_t end0;
	int n = 0, rc;

	if (!map || !out || max <= 0 || map->nr < 1 || map->nr > 2) {
		util_err("e820: invalid memory map (%d regions)", map ? map->nr : -1);
		return -EINVAL;
	}
	if (map->r[0].gpa != 0 || map->r[0].bytes < E820_HIGH_GPA) {
		util_err("e820: guest RAM region 0 must start at 0 and hold at least 1 MiB "
			 "(starts at 0x%llx, %llu bytes): raise --mem",
			 (unsigned long long)map->r[0].gpa, (unsigned long long)map->r[0].bytes);
		return -EINVAL;
	}
	end0 = map->r[0].bytes;
	if ((rc = e820_add(out, max, &n, 0, VMM_LOW_RAM_END, VMM_E820_RAM)) ||
	    (rc = e820_add(out, max, &n, VMM_LOW_RAM_END, E820_EBDA_END - VMM_LOW_RAM_END,
			   VMM_E820_RESERVED)) ||
	    (rc = e820_add(out, max, &n, E820_BIOS_GPA, E820_HIGH_GPA - E820_BIOS_GPA,
			   VMM_E820_RESERVED)) ||
	    (rc = e820_add(out, max, &n, E820_HIGH_GPA, end0 - E820_HIGH_GPA, VMM_E820_RAM)) ||
	    (end0 <= PC_STEAL_GPA &&
	     (rc = e820_add(out, max, &n, PC_STEAL_GPA, PC_STEAL_LEN, VMM_E820_RESERVED))))
		return rc;
	if (map->nr == 2) {
		if (map->r[1].gpa < end0) {
			util_err("e820: RAM region 1 at 0x%llx overlaps region 0 (ends at 0x%llx)",
				 (unsigned long long)map->r[1].gpa, (unsigned long long)end0);
			return -EINVAL;
		}
		rc = e820_add(out, max, &n, map->r[1].gpa, map->r[1].bytes, VMM_E820_RAM);
		if (rc)
			return rc;
	}
	return n;
}

int vmm_put_cmdline(const struct vmm_mem_map *map, const char *path, const char *cmdline,
		    uint64_t max_len, const char *limit)
{
	size_t len = cmdline ? strlen(cmdline) : 0;
	char *dst;

	max_len = UTIL_MIN(max_len, VMM_CMDLINE_MAX - 1);
	if (len > max_len) {
		util_err("%s: command line is %zu bytes, the kernel takes at most %llu (%llu with "
			 "the terminating NUL; %s): shorten it", path, len, (unsigned long long)max_len,
			 (unsigned long long)max_len + 1, limit);
		return -E2BIG;
	}
	dst = vmm_gpa_ptr(map, VMM_CMDLINE_GPA, len + 1);
	if (!dst) {
		util_err("%s: guest RAM does not cover the command line at 0x%llx", path,
			 (unsigned long long)VMM_CMDLINE_GPA);
		return -ENOSPC;
	}
	memcpy(dst, cmdline ? cmdline : "", len + 1);
	return 0;
}
