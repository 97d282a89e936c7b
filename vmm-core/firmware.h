/* vmm-core internal: what the PC machine's firmware would give a guest,
 * without running any firmware.
 *
 * - fw_cfg (fwcfg.c): QEMU's firmware configuration device at ports
 *   0x510 (selector), 0x511 (data) and 0x514 (DMA address), read-only:
 *   signature, id, CPU counts, RAM size, command line, the file directory
 *   with etc/e820. Thread-safe (one lock per device).
 * - ACPI (acpi.c, acpi_madt.c): RSDP, RSDT, XSDT, FADT, FACS, DSDT, MADT and
 *   HPET tables written into guest RAM at [VMM_ACPI_GPA, VMM_ACPI_END).
 * - SMBIOS (smbios.c): a 2.8 "_SM_" entry point at VMM_SMBIOS_GPA (guests
 *   scan 0xF0000-0xFFFFF for it; the MP table sits below, at 0xF0000) and
 *   its structures right after it.
 * Both table sets are written by the "fwtables" bus device's init (after the
 * guest image is loaded, before any vCPU runs). The e820 map reserves
 * [0xE0000, 0x100000) for them (e820.c).
 * Errors: 0 or negative errno, with a message naming what did not fit.
 */
#ifndef AVMM_VMM_FIRMWARE_H
#define AVMM_VMM_FIRMWARE_H

#include <stdint.h>

#include "vmm-core/bus.h"
#include "vmm-core/loader.h"

#define VMM_ACPI_GPA       0xe0000ull  /* the RSDP; the tables follow */
#define VMM_ACPI_END       0xf0000ull
#define VMM_SMBIOS_GPA     0xf1000ull  /* entry point; structures follow */
#define VMM_SMBIOS_END     0xf4000ull

extern const struct vmm_dev vmm_dev_fwcfg;
extern const struct vmm_dev vmm_dev_fwtables;

/* acpi.c: every table for nr_cpus vCPUs (APIC id = vCPU index). */
int vmm_acpi_write(const struct vmm_mem_map *map, int nr_cpus);
/* smbios.c: entry point and structures for nr_cpus vCPUs and ram_bytes. */
int vmm_smbios_write(const struct vmm_mem_map *map, int nr_cpus, uint64_t ram_bytes);

/* acpi.c, for acpi_madt.c: a table's 36-byte header, and its checksum
 * once the whole table is in place. */
void vmm_acpi_header(uint8_t *t, const char sig[4], uint32_t len, uint8_t rev);
void vmm_acpi_checksum(uint8_t *t, uint32_t len, uint32_t at);
/* acpi_madt.c: write the table at t (room bytes free); its length or -ENOSPC. */
int vmm_acpi_madt(uint8_t *t, uint32_t room, int nr_cpus);
int vmm_acpi_hpet(uint8_t *t, uint32_t room);

#endif
