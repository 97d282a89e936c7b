/*
 * Intel MultiProcessor Specification 1.4 tables in the guest's BIOS area:
 * the floating pointer "_MP_" at VMM_BIOS_GPA, the configuration table
 * "PCMP" right after it. Entries: one processor per vCPU (APIC id = index,
 * vCPU 0 is the bootstrap processor), one ISA bus, one I/O APIC (id nr_cpus,
 * at 0xfec00000), ISA IRQs 0-15 wired 1:1 to I/O APIC pins 0-15 (as KVM's
 * default GSI routing does), ExtINT on LINT0 and NMI on LINT1.
 * All multi-byte fields are little endian; every structure is packed.
 */
#include "vmm-core/loader.h"

#include "common/util.h"

#include <errno.h>
#include <string.h>

#define MP_LAPIC_GPA    0xfee00000u
#define MP_IOAPIC_GPA   0xfec00000u
#define MP_SPEC_REV     4
#define MP_LAPIC_VER    0x14
#define MP_IOAPIC_VER   0x11
#define MP_ISA_IRQS     16
#define MP_MAX_CPUS     254 /* 8-bit APIC ids, one left for the I/O APIC */

enum { MP_PROC = 0, MP_BUS = 1, MP_IOAPIC = 2, MP_IOINT = 3, MP_LINT = 4 };
enum { MP_INT = 0, MP_NMI = 1, MP_EXTINT = 3 };

struct mp_floating {
	char sig[4];
	uint32_t table_gpa;
	uint8_t len16, rev, checksum, feature[5];
} __attribute__((packed));

struct mp_header {
	char sig[4];
	uint16_t length;
	uint8_t rev, checksum;
	char oem[8], product[12];
	uint32_t oem_table;
	uint16_t oem_size, count;
	uint32_t lapic;
	uint16_t ext_length;
	uint8_t ext_checksum, reserved;
} __attribute__((packed));

struct mp_proc {
	uint8_t type, apic_id, apic_ver, flags;
	uint32_t signature, features;
	uint32_t reserved[2];
} __attribute__((packed));

struct mp_bus {
	uint8_t type, id;
	char name[6];
} __attribute__((packed));

struct mp_ioapic {
	uint8_t type, id, ver, flags;
	uint32_t addr;
} __attribute__((packed));

struct mp_irq { /* I/O and local interrupt assignment entries share a shape */
	uint8_t type, irq_type;
	uint16_t flags;
	uint8_t src_bus, src_irq, dst_apic, dst_pin;
} __attribute__((packed));

_Static_assert(sizeof(struct mp_floating) == 16, "MP floating pointer is 16 bytes");
_Static_assert(sizeof(struct mp_header) == 44, "MP table header is 44 bytes");
_Static_assert(sizeof(struct mp_proc) == 20, "MP processor entry is 20 bytes");
_Static_assert(sizeof(struct mp_bus) == 8 && sizeof(struct mp_ioapic) == 8 &&
	       sizeof(struct mp_irq) == 8, "MP 8-byte entries");

static uint8_t mp_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return (uint8_t)(0x100 - sum);
}

static size_t mp_table_bytes(int nr_cpus)
{
	return sizeof(struct mp_header) + (size_t)nr_cpus * sizeof(struct mp_proc) +
	       sizeof(struct mp_bus) + sizeof(struct mp_ioapic) +
	       (MP_ISA_IRQS + 2) * sizeof(struct mp_irq);
}

static void mp_irq_put(uint8_t **p, uint8_t type, uint8_t irq_type, uint8_t src_irq,
		       uint8_t dst_apic, uint8_t dst_pin)
{
	struct mp_irq e = { .type = type, .irq_type = irq_type, .src_bus = 0,
			    .src_irq = src_irq, .dst_apic = dst_apic, .dst_pin = dst_pin };

	memcpy(*p, &e, sizeof(e));
	*p += sizeof(e);
}

int vmm_mptable_write(const struct vmm_mem_map *map, int nr_cpus)
{
	struct mp_floating fp = { .sig = { '_', 'M', 'P', '_' }, .len16 = 1, .rev = MP_SPEC_REV };
	struct mp_header hdr = { .sig = { 'P', 'C', 'M', 'P' }, .rev = MP_SPEC_REV,
				 .lapic = MP_LAPIC_GPA };
	struct mp_bus bus = { .type = MP_BUS, .id = 0, .name = { 'I', 'S', 'A', ' ', ' ', ' ' } };
	struct mp_ioapic io = { .type = MP_IOAPIC, .ver = MP_IOAPIC_VER, .flags = 1,
				.addr = MP_IOAPIC_GPA };
	size_t table_len, total;
	uint8_t *base, *table, *p;
	int i;

	if (nr_cpus < 1 || nr_cpus > MP_MAX_CPUS) {
		util_err("mptable: %d CPUs cannot be described (1..%d)", nr_cpus, MP_MAX_CPUS);
		return -EINVAL;
	}
	table_len = mp_table_bytes(nr_cpus);
	total = sizeof(fp) + table_len;
	base = vmm_gpa_ptr(map, VMM_BIOS_GPA, total);
	if (!base) {
		util_err("mptable: guest RAM does not cover the BIOS area 0x%llx-0x%llx: raise --mem",
			 (unsigned long long)VMM_BIOS_GPA, (unsigned long long)(VMM_BIOS_GPA + total));
		return -ENOSPC;
	}
	table = base + sizeof(fp);
	p = table + sizeof(hdr);
	for (i = 0; i < nr_cpus; i++) {
		struct mp_proc cpu = {
			.type = MP_PROC, .apic_id = (uint8_t)i, .apic_ver = MP_LAPIC_VER,
			.flags = (uint8_t)(1u | (i == 0 ? 2u : 0u)), /* enabled, BSP */
			.signature = 0x600,        /* family 6 */
			.features = 0x201,         /* FPU, on-chip APIC */
		};
		memcpy(p, &cpu, sizeof(cpu));
		p += sizeof(cpu);
	}
	memcpy(p, &bus, sizeof(bus));
	p += sizeof(bus);
	io.id = (uint8_t)nr_cpus;
	memcpy(p, &io, sizeof(io));
	p += sizeof(io);
	for (i = 0; i < MP_ISA_IRQS; i++)
		mp_irq_put(&p, MP_IOINT, MP_INT, (uint8_t)i, io.id, (uint8_t)i);
	mp_irq_put(&p, MP_LINT, MP_EXTINT, 0, 0xff, 0); /* all local APICs, LINT0 */
	mp_irq_put(&p, MP_LINT, MP_NMI, 0, 0xff, 1);    /* all local APICs, LINT1 */

	memcpy(hdr.oem, "AVMM    ", 8);
	memcpy(hdr.product, "AVMM-KVM    ", 12);
	hdr.length = (uint16_t)table_len;
	hdr.count = (uint16_t)(nr_cpus + 2 + MP_ISA_IRQS + 2);
	memcpy(table, &hdr, sizeof(hdr));
	table[offsetof(struct mp_header, checksum)] = mp_checksum(table, table_len);

	fp.table_gpa = (uint32_t)(VMM_BIOS_GPA + sizeof(fp));
	fp.checksum = mp_checksum(&fp, sizeof(fp));
	memcpy(base, &fp, sizeof(fp));
	return 0;
}
