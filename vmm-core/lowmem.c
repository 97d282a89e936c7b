/*
 * Below 1 MiB: the areas avmm fills itself whatever the guest, where no
 * image segment may load (Multiboot images may load anywhere else there, as
 * under QEMU). The Multiboot boot information, memory map and command line
 * are not listed: that loader moves them out of an image's way.
 */
#include "vmm-core/loader.h"
#include "vmm-core/pc.h"

#define LOWMEM_EBDA_END 0xa0000ull

static const struct vmm_lowmem_area areas[] = {
	{ VMM_GDT_GPA, VMM_GDT_GPA + 4 * 8, "the boot GDT" },
	{ VMM_LOW_RAM_END, LOWMEM_EBDA_END, "the EBDA (reserved in the e820 map)" },
	{ LOWMEM_EBDA_END, PC_BIOS_AREA, "the VGA and option-ROM window (not RAM in the e820 map)" },
	{ PC_BIOS_AREA, PC_BIOS_AREA_END, "the BIOS area (MP table, ACPI and SMBIOS tables)" },
};

const struct vmm_lowmem_area *vmm_lowmem_conflict(uint64_t gpa, uint64_t len)
{
	size_t i;

	if (!len || gpa >= VMM_MIN_LOAD_GPA)
		return NULL;
	for (i = 0; i < sizeof(areas) / sizeof(areas[0]); i++)
		if (gpa < areas[i].end && gpa + len > areas[i].start)
			return &areas[i];
	return NULL;
}
