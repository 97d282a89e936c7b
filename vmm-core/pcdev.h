/* vmm-core internal: the PC machine's platform devices, each one file with
 * one struct vmm_dev listed in bus.c: the CMOS/RTC (rtc.c), the ACPI PM block
 * and PM timer (acpi_pm.c), PCI configuration mechanism #1 with the host
 * bridge (pci.c) and the HPET (hpet.c). Addresses come from pc.h.
 * Threading: every handler locks its device's state; the HPET's timer thread
 * raises interrupts with KVM_IRQ_LINE on the VM fd. */
#ifndef AVMM_VMM_PCDEV_H
#define AVMM_VMM_PCDEV_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "vmm-core/bus.h"

extern const struct vmm_dev vmm_dev_rtc, vmm_dev_acpi_pm, vmm_dev_pci, vmm_dev_hpet;

/* CMOS shutdown status byte 0x0f and what a BIOS does with it on reset. */
#define VMM_CMOS_SHUTDOWN 0x0f
/* The byte now, or -ENOENT when the VM has no RTC. */
int vmm_rtc_shutdown_status(struct vmm *vm);
/* "normal reset (POST)", "jump via 40:67 with EOI", ... Pure. */
const char *vmm_rtc_shutdown_meaning(uint8_t status);

/* Pure helpers, tested on their own. */
uint8_t vmm_rtc_to_bcd(unsigned v);
unsigned vmm_rtc_from_bcd(uint8_t v);
/* Register 0x00-0x09 / 0x32 value of a broken-down UTC time under register
 * B (DM bit 2: binary; bit 1: 24-hour). */
uint8_t vmm_rtc_encode(const struct tm *tm, int reg, uint8_t reg_b);
/* Stores a value written to reg into tm (fields normalised by timegm later);
 * -EINVAL for a register that is not a clock register. */
int vmm_rtc_decode(struct tm *tm, int reg, uint8_t val, uint8_t reg_b);
/* 24-bit PM timer value after ns nanoseconds at PC_PM_TMR_HZ. */
uint32_t vmm_pm_timer_ticks(uint64_t ns);

#endif
