/*
 * ACPI tables in the guest's BIOS area (ACPI 5.0 shapes), written at VM
 * creation by the "fwtables" bus device together with the SMBIOS tables:
 *
 *   0xE0000  RSDP (revision 2: RSDT and XSDT, both checksums)
 *   0xE0040  RSDT, XSDT -> FADT, MADT, HPET (64-byte aligned, in this order)
 *            FADT (revision 5) -> FACS, DSDT
 *
 * The FADT describes the PIIX4-style ACPI PM block of pc.h (PM1a event and
 * control, the 24-bit PM timer, GPE0), SCI on IRQ 9, no SMI command port
 * (the machine is always in ACPI mode), the reset register (I/O 0xcf9,
 * value 6), a CMOS century register at index 0x32, no 8042 and no VGA.
 * All multi-byte fields little endian.
 */
#include <errno.h>
#include <string.h>

#include "common/util.h"
#include "vmm-core/firmware.h"
#include "vmm-core/pc.h"
#include "vmm-core/vmm_internal.h"

#define HDR_LEN     36
#define RSDP_LEN    36
#define FADT_LEN    268   /* revision 5 */
#define FADT_REV    5
#define FACS_LEN    64
#define ALIGN       64    /* the FACS must be 64-byte aligned; all are */
#define NR_POINTED  3     /* FADT, MADT, HPET */
#define RTC_CENTURY 0x32
#ifndef PC_PM_SLP_TYP_S5
#define PC_PM_SLP_TYP_S5 0 /* PIIX4 (QEMU's acpi_pm1_cnt_write): SLP_TYP 0 is soft off */
#endif

enum { GAS_MEM = 0, GAS_IO = 1 };
enum { ACC_BYTE = 1, ACC_WORD = 2, ACC_DWORD = 3 };
#define F_WBINVD        (1u << 0)
#define F_PROC_C1       (1u << 2)
#define F_SLP_BUTTON    (1u << 5)
#define F_RESET_REG_SUP (1u << 10)
#define BOOT_LEGACY_DEVICES 0x1u
#define BOOT_NO_VGA         0x4u

/*
 * DSDT, hand-assembled AML of:
 *   DefinitionBlock ("", "DSDT", 2, "AVMM  ", "AVMMPC  ", 1)
 *   {
 *       Name (_S5, Package (4) { S5, S5, Zero, Zero })  // S5 = PC_PM_SLP_TYP_S5
 *       Scope (\_SB)
 *       {
 *           Device (PCI0)
 *           {
 *               Name (_HID, EisaId ("PNP0A03"))              // PCI host bridge
 *               Name (_UID, Zero)
 *           }
 *       }
 *   }
 * PkgLength bytes count themselves and what follows in the package.
 */
static const uint8_t dsdt_aml[] = {
	0x08, '_', 'S', '5', '_',                 /* NameOp _S5_ */
	0x12, 0x08, 0x04,                         /* PackageOp len 8, 4 elements: */
	0x0a, PC_PM_SLP_TYP_S5, 0x0a, PC_PM_SLP_TYP_S5, /* BytePrefix S5 (PM1a, PM1b) */
	0x00, 0x00,                               /* Zero, Zero (reserved) */
	0x10, 0x1d, '\\', '_', 'S', 'B', '_',     /* ScopeOp len 29, \_SB_ */
	0x5b, 0x82, 0x15, 'P', 'C', 'I', '0',     /* DeviceOp len 21, PCI0 */
	0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x03, /* DWordConst PNP0A03 */
	0x08, '_', 'U', 'I', 'D', 0x00,           /* Name (_UID, ZeroOp) */
};

static void w(uint8_t *p, uint32_t off, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[off + i] = (uint8_t)(v >> (8 * i));
}

/* Generic Address Structure (12 bytes) */
static void gas(uint8_t *p, uint32_t off, uint8_t space, uint8_t bits, uint8_t access,
		uint64_t addr)
{
	p[off] = space;
	p[off + 1] = bits;
	p[off + 2] = 0;
	p[off + 3] = access;
	w(p, off + 4, addr, 8);
}

static uint8_t sum8(const uint8_t *p, uint32_t len)
{
	uint8_t s = 0;

	while (len--)
		s = (uint8_t)(s + *p++);
	return s;
}

void vmm_acpi_checksum(uint8_t *t, uint32_t len, uint32_t at)
{
	t[at] = 0;
	t[at] = (uint8_t)(0x100 - sum8(t, len));
}

void vmm_acpi_header(uint8_t *t, const char sig[4], uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	w(t, 4, len, 4);
	t[8] = rev;
	memcpy(t + 10, "AVMM  ", 6);
	memcpy(t + 16, "AVMMPC  ", 8);
	w(t, 24, 1, 4);                 /* OEM revision */
	memcpy(t + 28, "AVMM", 4);      /* creator id */
	w(t, 32, 1, 4);                 /* creator revision */
}

static void fadt_fill(uint8_t *t, uint32_t facs, uint32_t dsdt)
{
	vmm_acpi_header(t, "FACP", FADT_LEN, FADT_REV);
	w(t, 36, facs, 4);
	w(t, 40, dsdt, 4);
	w(t, 46, PC_SCI_IRQ, 2);
	w(t, 56, PC_PM1A_EVT, 4);
	w(t, 64, PC_PM1A_CNT, 4);
	w(t, 76, PC_PM_TMR, 4);
	w(t, 80, PC_GPE0_BLK, 4);
	t[88] = 4;                      /* PM1_EVT_LEN */
	t[89] = 2;                      /* PM1_CNT_LEN */
	t[91] = 4;                      /* PM_TMR_LEN */
	t[92] = 4;                      /* GPE0_BLK_LEN */
	w(t, 96, 0xfff, 2);             /* P_LVL2_LAT > 100: no C2 */
	w(t, 98, 0xfff, 2);             /* P_LVL3_LAT > 1000: no C3 */
	t[108] = RTC_CENTURY;
	w(t, 109, BOOT_LEGACY_DEVICES | BOOT_NO_VGA, 2);
	w(t, 112, F_WBINVD | F_PROC_C1 | F_SLP_BUTTON | F_RESET_REG_SUP, 4);
	gas(t, 116, GAS_IO, 8, ACC_BYTE, PC_RESET_PORT);
	t[128] = PC_RESET_VALUE;
	t[131] = 0;                     /* FADT minor version: ACPI 5.0 */
	w(t, 132, facs, 8);
	w(t, 140, dsdt, 8);
	gas(t, 148, GAS_IO, 32, ACC_WORD, PC_PM1A_EVT);
	gas(t, 172, GAS_IO, 16, ACC_WORD, PC_PM1A_CNT);
	gas(t, 208, GAS_IO, 32, ACC_DWORD, PC_PM_TMR);
	gas(t, 220, GAS_IO, 32, ACC_BYTE, PC_GPE0_BLK);
	vmm_acpi_checksum(t, FADT_LEN, 9);
}

static void facs_fill(uint8_t *t)
{
	memcpy(t, "FACS", 4);
	w(t, 4, FACS_LEN, 4);
	t[32] = 2;                      /* version */
}

static uint32_t sdt_fill(uint8_t *t, const char sig[4], const uint32_t *gpa, int n, int ptr)
{
	uint32_t len = HDR_LEN + (uint32_t)(n * ptr);

	vmm_acpi_header(t, sig, len, 1);
	for (int i = 0; i < n; i++)
		w(t, HDR_LEN + (uint32_t)(i * ptr), gpa[i], ptr);
	vmm_acpi_checksum(t, len, 9);
	return len;
}

static void rsdp_fill(uint8_t *t, uint32_t rsdt, uint32_t xsdt)
{
	memcpy(t, "RSD PTR ", 8);
	memcpy(t + 9, "AVMM  ", 6);
	t[15] = 2;                      /* ACPI 2.0+ */
	w(t, 16, rsdt, 4);
	w(t, 20, RSDP_LEN, 4);
	w(t, 24, xsdt, 8);
	vmm_acpi_checksum(t, 20, 8);
	vmm_acpi_checksum(t, RSDP_LEN, 32);
}

static uint32_t up(uint32_t off)
{
	return (off + ALIGN - 1) & ~(uint32_t)(ALIGN - 1);
}

int vmm_acpi_write(const struct vmm_mem_map *map, int nr_cpus)
{
	const uint32_t area = (uint32_t)(VMM_ACPI_END - VMM_ACPI_GPA), base = (uint32_t)VMM_ACPI_GPA;
	uint32_t rsdt, xsdt, fadt, facs, dsdt, madt, hpet, end, tab[NR_POINTED];
	uint8_t *p = vmm_gpa_ptr(map, VMM_ACPI_GPA, area);
	int len;

	if (nr_cpus < 1 || nr_cpus > 254) {
		util_err("ACPI: %d CPUs cannot be described (1..254: 8-bit APIC ids, one for the "
			 "I/O APIC)", nr_cpus);
		return -EINVAL;
	}
	if (!p) {
		util_err("ACPI: guest RAM does not cover 0x%llx-0x%llx: raise --mem",
			 (unsigned long long)VMM_ACPI_GPA, (unsigned long long)VMM_ACPI_END);
		return -ENOSPC;
	}
	memset(p, 0, area);
	rsdt = up(RSDP_LEN);
	xsdt = up(rsdt + HDR_LEN + 4 * NR_POINTED);
	fadt = up(xsdt + HDR_LEN + 8 * NR_POINTED);
	facs = up(fadt + FADT_LEN);
	dsdt = up(facs + FACS_LEN);
	madt = up(dsdt + HDR_LEN + sizeof(dsdt_aml));
	len = vmm_acpi_madt(p + madt, area - madt, nr_cpus);
	if (len < 0)
		goto full;
	hpet = up(madt + (uint32_t)len);
	len = vmm_acpi_hpet(p + hpet, hpet < area ? area - hpet : 0);
	if (len < 0)
		goto full;
	end = hpet + (uint32_t)len;

	facs_fill(p + facs);
	vmm_acpi_header(p + dsdt, "DSDT", HDR_LEN + sizeof(dsdt_aml), 2);
	memcpy(p + dsdt + HDR_LEN, dsdt_aml, sizeof(dsdt_aml));
	vmm_acpi_checksum(p + dsdt, HDR_LEN + sizeof(dsdt_aml), 9);
	fadt_fill(p + fadt, base + facs, base + dsdt);
	tab[0] = base + fadt;
	tab[1] = base + madt;
	tab[2] = base + hpet;
	sdt_fill(p + rsdt, "RSDT", tab, NR_POINTED, 4);
	sdt_fill(p + xsdt, "XSDT", tab, NR_POINTED, 8);
	rsdp_fill(p, base + rsdt, base + xsdt);
	util_debug("ACPI: tables at 0x%x-0x%x for %d CPUs", base, base + end, nr_cpus);
	return 0;
full:
	util_err("ACPI: the tables for %d CPUs do not fit in 0x%llx-0x%llx", nr_cpus,
		 (unsigned long long)VMM_ACPI_GPA, (unsigned long long)VMM_ACPI_END);
	return -ENOSPC;
}

/* The bus device that writes the ACPI and SMBIOS tables at VM creation. */
static int fwtables_init(struct vmm *vm, const struct vmm_config *cfg, void **state)
{
	int rc = vmm_acpi_write(&vm->mem, cfg->vcpus);

	(void)state;
	return rc ? rc : vmm_smbios_write(&vm->mem, cfg->vcpus, cfg->mem_bytes);
}

const struct vmm_dev vmm_dev_fwtables = {
	.name = "acpi-smbios",
	.init = fwtables_init,
};
