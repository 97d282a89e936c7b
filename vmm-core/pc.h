/* vmm-core internal: the PC machine's fixed addresses, shared by the devices
 * (bus.h) and the firmware tables that describe them (ACPI, SMBIOS, fw_cfg).
 * They follow QEMU's i440FX/PIIX4 machine so that guests and test suites
 * written for it find things where they look. */
#ifndef AVMM_VMM_PC_H
#define AVMM_VMM_PC_H

#include "common/steal.h"

/* fw_cfg: selector (16-bit write), data (8-bit), DMA address (BE, 32+32) */
#define PC_FWCFG_PORT_SEL   0x510
#define PC_FWCFG_PORT_DATA  0x511
#define PC_FWCFG_PORT_DMA   0x514

/* CMOS / RTC: index (bit 7 = NMI disable) and data */
#define PC_RTC_PORT         0x70
#define PC_RTC_IRQ          8

/* ACPI PM (PIIX4 layout at QEMU's base): PM1a event block (status, enable),
 * PM1a control, the 24-bit PM timer at 3.579545 MHz, GPE0 block */
#define PC_PM_BASE          0x600
#define PC_PM1A_EVT         (PC_PM_BASE + 0x00)   /* 4 bytes */
#define PC_PM1A_CNT         (PC_PM_BASE + 0x04)   /* 2 bytes */
#define PC_PM_TMR           (PC_PM_BASE + 0x08)   /* 4 bytes */
#define PC_GPE0_BLK         (PC_PM_BASE + 0x20)   /* 4 bytes */
#define PC_PM_TMR_HZ        3579545
#define PC_SCI_IRQ          9
/* SLP_TYP values of PM1a control (the DSDT's \_S5 and \_S3 packages, as QEMU) */
#define PC_PM_SLP_TYP_S5    0
#define PC_PM_SLP_TYP_S3    1

/* Reset: the FADT's reset register is the 0xcf9 reset control port */
#define PC_RESET_PORT       0xcf9
#define PC_RESET_VALUE      0x06

/* PCI configuration mechanism #1 and the host bridge (i440FX) */
#define PC_PCI_CONF_ADDR    0xcf8
#define PC_PCI_CONF_DATA    0xcfc

/* HPET: one timer block, 3 comparators, 100 MHz-class counter */
#define PC_HPET_BASE        0xfed00000ull
#define PC_HPET_LEN         0x400

/* IOAPIC and local APIC (KVM's in-kernel irqchip) */
#define PC_IOAPIC_BASE      0xfec00000ull
#define PC_LAPIC_BASE       0xfee00000ull

/* avmm's run-delay page (steal.c): KVM steal-time areas, one per vCPU, in
 * the MMIO hole below the IOAPIC; reserved in the e820 map */
#define PC_STEAL_GPA        0xfeb00000ull
#define PC_STEAL_LEN        UTIL_STEAL_PAGE_BYTES

/* QEMU's pc-testdev (--testdev only) */
#define PC_TESTDEV_PORT     0xe0
#define PC_TESTDEV_FLUSH    0xe4
#define PC_TESTDEV_IRQ_PORT 0x2000
#define PC_TESTDEV_MMIO     0xff000000ull

/* The BIOS area guests search for the RSDP and the SMBIOS entry point */
#define PC_BIOS_AREA        0xe0000ull
#define PC_BIOS_AREA_END    0x100000ull

#endif
