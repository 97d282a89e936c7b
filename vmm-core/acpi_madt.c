/*
 * The ACPI tables that describe interrupt controllers and timers:
 *
 * MADT ("APIC", revision 3): local APIC at 0xfee00000, PCAT_COMPAT (the
 * in-kernel 8259 pair exists); one Processor Local APIC entry per vCPU
 * (ACPI processor id = APIC id = vCPU index, as cpu.c and KVM assign them,
 * enabled); the I/O APIC (id nr_cpus, as in the MP table) at 0xfec00000 with
 * GSI base 0; interrupt source overrides ISA IRQ 0 -> GSI 0 (KVM's default
 * routing and the MP table put the PIT and the HPET's legacy timer 0 on pin
 * 0, not on pin 2 as QEMU's own routing does) and the SCI (IRQ 9, level,
 * active high); LINT1 of every local APIC is the NMI.
 *
 * HPET ("HPET", revision 1): one timer block at 0xfed00000, whose event
 * timer block id is the capabilities register's low half as QEMU's HPET has
 * it (vendor 0x8086, 3 comparators, 64-bit counter, legacy-replacement
 * capable, revision 1), minimum tick 128.
 */
#include <errno.h>
#include <string.h>

#include "vmm-core/firmware.h"
#include "vmm-core/pc.h"

#define HDR_LEN        36
#define MADT_REV       3
#define MADT_PCAT      0x1u
#define LAPIC_LEN      8
#define IOAPIC_LEN     12
#define ISO_LEN        10
#define LNMI_LEN       6
#define MADT_IRQ0_GSI  0
#define ISO_ACTIVE_HIGH 0x1u
#define ISO_LEVEL       0xcu
#define HPET_LEN       56
#define HPET_BLOCK_ID  0x8086a201u   /* rev 1, 3 timers - 1 << 8, 64-bit, legacy */
#define HPET_MIN_TICK  128

enum { MADT_LAPIC = 0, MADT_IOAPIC = 1, MADT_ISO = 2, MADT_LAPIC_NMI = 4 };

static void w(uint8_t *p, uint32_t off, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[off + i] = (uint8_t)(v >> (8 * i));
}

static uint32_t iso(uint8_t *p, uint8_t irq, uint32_t gsi, uint16_t flags)
{
	p[0] = MADT_ISO;
	p[1] = ISO_LEN;
	p[2] = 0;                       /* ISA */
	p[3] = irq;
	w(p, 4, gsi, 4);
	w(p, 8, flags, 2);
	return ISO_LEN;
}

int vmm_acpi_madt(uint8_t *t, uint32_t room, int nr_cpus)
{
	uint32_t len = HDR_LEN + 8 + (uint32_t)nr_cpus * LAPIC_LEN + IOAPIC_LEN + 2 * ISO_LEN +
		       LNMI_LEN, off = HDR_LEN + 8;

	if (nr_cpus < 1 || nr_cpus > 254)
		return -EINVAL;
	if (len > room)
		return -ENOSPC;
	memset(t, 0, len);
	vmm_acpi_header(t, "APIC", len, MADT_REV);
	w(t, HDR_LEN, PC_LAPIC_BASE, 4);
	w(t, HDR_LEN + 4, MADT_PCAT, 4);
	for (int i = 0; i < nr_cpus; i++, off += LAPIC_LEN) {
		t[off] = MADT_LAPIC;
		t[off + 1] = LAPIC_LEN;
		t[off + 2] = (uint8_t)i;    /* ACPI processor id */
		t[off + 3] = (uint8_t)i;    /* APIC id */
		w(t, off + 4, 1, 4);        /* enabled */
	}
	t[off] = MADT_IOAPIC;
	t[off + 1] = IOAPIC_LEN;
	t[off + 2] = (uint8_t)nr_cpus;
	w(t, off + 4, PC_IOAPIC_BASE, 4);
	w(t, off + 8, 0, 4);            /* GSI base */
	off += IOAPIC_LEN;
	off += iso(t + off, 0, MADT_IRQ0_GSI, 0);
	off += iso(t + off, PC_SCI_IRQ, PC_SCI_IRQ, ISO_ACTIVE_HIGH | ISO_LEVEL);
	t[off] = MADT_LAPIC_NMI;
	t[off + 1] = LNMI_LEN;
	t[off + 2] = 0xff;              /* every processor */
	w(t, off + 3, 0, 2);            /* flags: conforming */
	t[off + 5] = 1;                 /* LINT1 */
	vmm_acpi_checksum(t, len, 9);
	return (int)len;
}

int vmm_acpi_hpet(uint8_t *t, uint32_t room)
{
	if (room < HPET_LEN)
		return -ENOSPC;
	memset(t, 0, HPET_LEN);
	vmm_acpi_header(t, "HPET", HPET_LEN, 1);
	w(t, HDR_LEN, HPET_BLOCK_ID, 4);
	t[HDR_LEN + 4] = 0;             /* GAS: system memory, */
	t[HDR_LEN + 5] = 64;            /* 64 bits wide */
	w(t, HDR_LEN + 8, PC_HPET_BASE, 8);
	t[HDR_LEN + 16] = 0;            /* HPET number */
	w(t, HDR_LEN + 17, HPET_MIN_TICK, 2);
	t[HDR_LEN + 19] = 0;            /* no page protection */
	vmm_acpi_checksum(t, HPET_LEN, 9);
	return HPET_LEN;
}
