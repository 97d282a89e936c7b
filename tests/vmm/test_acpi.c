/* Unit tests: the ACPI and SMBIOS tables avmm writes, parsed back from a
 * plain buffer standing in for guest RAM, and from a real VM's RAM. */
#include <criterion/criterion.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include "tests/lib/run_helpers.h"
#include "vmm-core/firmware.h"
#include "vmm-core/pc.h"
#include "vmm-core/vmm_internal.h"

#define RAM (32ull << 20)

static struct vmm_mem_map map;

static void setup(void)
{
	map.nr = 1;
	map.r[0].gpa = 0;
	map.r[0].bytes = RAM;
	map.r[0].hva = calloc(1, RAM);
}

static void teardown(void) { free(map.r[0].hva); }

static uint64_t le(const uint8_t *p, int n)
{
	uint64_t x = 0;

	while (n--)
		x = x << 8 | p[n];
	return x;
}

static uint8_t sum(const uint8_t *p, uint64_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

static const uint8_t *at(const struct vmm_mem_map *m, uint64_t gpa, uint64_t len)
{
	const uint8_t *p = vmm_gpa_ptr(m, gpa, len);

	cr_assert_not_null(p, "0x%llx+%llu is outside RAM", (unsigned long long)gpa,
			   (unsigned long long)len);
	return p;
}

/* As a guest looks for it: 16-byte steps over 0xE0000-0xFFFFF. */
static uint64_t scan(const struct vmm_mem_map *m, const char *sig, size_t n)
{
	for (uint64_t a = PC_BIOS_AREA; a < PC_BIOS_AREA_END; a += 16)
		if (!memcmp(at(m, a, n), sig, n))
			return a;
	return 0;
}

/* A table at gpa with signature sig: its length, checked, checksum 0. */
static const uint8_t *table(const struct vmm_mem_map *m, uint64_t gpa, const char *sig)
{
	const uint8_t *t = at(m, gpa, 36);
	uint32_t len = (uint32_t)le(t + 4, 4);

	cr_assert_eq(memcmp(t, sig, 4), 0, "table at 0x%llx is %.4s, want %s",
		     (unsigned long long)gpa, t, sig);
	cr_assert_geq(len, 36);
	t = at(m, gpa, len);
	cr_assert_eq(sum(t, len), 0, "%s checksum", sig);
	cr_assert(gpa >= VMM_ACPI_GPA && gpa + len <= VMM_ACPI_END, "%s inside the ACPI area", sig);
	return t;
}

/* Walks RSDP -> RSDT/XSDT -> every table; fills the FADT and MADT. */
static void acpi_walk(const struct vmm_mem_map *m, int nr_cpus)
{
	uint64_t rsdp_gpa = scan(m, "RSD PTR ", 8), tabs[8];
	const uint8_t *rsdp, *rsdt, *xsdt, *fadt = NULL, *madt = NULL, *hpet = NULL, *e, *dsdt;
	int n, lapics = 0, isos = 0, ioapics = 0;

	cr_assert_eq(rsdp_gpa, VMM_ACPI_GPA);
	rsdp = at(m, rsdp_gpa, 36);
	cr_assert_eq(sum(rsdp, 20), 0, "RSDP checksum (ACPI 1.0 part)");
	cr_assert_eq(rsdp[15], 2);
	cr_assert_eq(le(rsdp + 20, 4), 36);
	cr_assert_eq(sum(rsdp, 36), 0, "RSDP extended checksum");
	rsdt = table(m, le(rsdp + 16, 4), "RSDT");
	xsdt = table(m, le(rsdp + 24, 8), "XSDT");
	n = (int)(le(rsdt + 4, 4) - 36) / 4;
	cr_assert_eq(n, 3);
	cr_assert_eq((le(xsdt + 4, 4) - 36) / 8, (uint64_t)n, "RSDT and XSDT list the same tables");
	for (int i = 0; i < n; i++) {
		const uint8_t *t;

		tabs[i] = le(rsdt + 36 + 4 * i, 4);
		cr_assert_eq(le(xsdt + 36 + 8 * i, 8), tabs[i]);
		t = at(m, tabs[i], 4);
		if (!memcmp(t, "FACP", 4))
			fadt = table(m, tabs[i], "FACP");
		else if (!memcmp(t, "APIC", 4))
			madt = table(m, tabs[i], "APIC");
		else if (!memcmp(t, "HPET", 4))
			hpet = table(m, tabs[i], "HPET");
	}
	cr_assert(fadt && madt && hpet, "FADT, MADT and HPET are listed");

	/* FADT */
	cr_assert_eq(fadt[8], 5, "FADT revision");
	cr_assert_eq(le(fadt + 4, 4), 268);
	cr_assert_eq(le(fadt + 46, 2), 9, "SCI IRQ");
	cr_assert_eq(le(fadt + 56, 4), PC_PM1A_EVT);
	cr_assert_eq(le(fadt + 64, 4), PC_PM1A_CNT);
	cr_assert_eq(le(fadt + 76, 4), PC_PM_TMR);
	cr_assert_eq(fadt[91], 4, "PM timer block length");
	cr_assert(le(fadt + 112, 4) & (1u << 10), "RESET_REG_SUP");
	cr_assert(!(le(fadt + 112, 4) & (1u << 20)), "not hardware-reduced");
	cr_assert(fadt[116] == 1 && le(fadt + 120, 8) == 0xcf9 && fadt[128] == 6,
		  "reset register: I/O 0xcf9, value 6");
	cr_assert(fadt[208] == 1 && le(fadt + 212, 8) == PC_PM_TMR, "X_PM_TMR_BLK");
	cr_assert_eq(le(fadt + 140, 8), le(fadt + 40, 4), "X_DSDT == DSDT");
	cr_assert_eq(le(fadt + 132, 8), le(fadt + 36, 4), "X_FIRMWARE_CTRL == FIRMWARE_CTRL");
	e = at(m, le(fadt + 36, 4), 64);
	cr_assert(!memcmp(e, "FACS", 4) && le(e + 4, 4) == 64, "FACS");
	cr_assert_eq(le(fadt + 36, 4) % 64, 0, "FACS is 64-byte aligned");
	dsdt = table(m, le(fadt + 40, 4), "DSDT");
	cr_assert(memmem(dsdt + 36, le(dsdt + 4, 4) - 36, "_S5_\x12", 5), "DSDT has _S5");
	/* the \_SB scope's PkgLength reaches the end of the table */
	e = memmem(dsdt + 36, le(dsdt + 4, 4) - 36, "\x10", 1);
	cr_assert(e && e[2] == '\\' && e + 1 + e[1] == dsdt + le(dsdt + 4, 4), "AML lengths");

	/* MADT */
	cr_assert_eq(le(madt + 36, 4), PC_LAPIC_BASE);
	for (e = madt + 44; e < madt + le(madt + 4, 4); e += e[1]) {
		cr_assert_geq(e[1], 2, "entry length");
		if (e[0] == 0) {
			cr_expect_eq(e[3], lapics, "APIC ids are the vCPU indices");
			cr_expect_eq(le(e + 4, 4) & 1, 1, "enabled");
			lapics++;
		} else if (e[0] == 1) {
			cr_expect_eq(le(e + 4, 4), PC_IOAPIC_BASE);
			cr_expect_eq(le(e + 8, 4), 0, "GSI base");
			ioapics++;
		} else if (e[0] == 2) {
			cr_expect((e[3] == 0 && le(e + 4, 4) == 0) ||
				  (e[3] == 9 && le(e + 4, 4) == 9 && le(e + 8, 2) == 0xd),
				  "override IRQ %d -> GSI %d", e[3], (int)le(e + 4, 4));
			isos++;
		}
	}
	cr_assert_eq(e, madt + le(madt + 4, 4), "entries fill the MADT exactly");
	cr_assert_eq(lapics, nr_cpus, "one local APIC per vCPU");
	cr_assert(ioapics == 1 && isos == 2);
	cr_assert_eq(le(hpet + 44, 8), PC_HPET_BASE, "HPET base");
}

/* SMBIOS: entry point, then every structure up to type 127. */
static void smbios_walk(const struct vmm_mem_map *m, int nr_cpus, uint64_t ram_bytes)
{
	uint64_t ep_gpa = scan(m, "_SM_", 4);
	const uint8_t *ep, *s, *end;
	int count = 0, seen[128] = { 0 }, maxlen = 0;

	cr_assert_geq(ep_gpa, 0xf0000, "guests scan 0xF0000-0xFFFFF for the entry point");
	ep = at(m, ep_gpa, 31);
	cr_assert_eq(sum(ep, ep[5]), 0, "entry point checksum");
	cr_assert(!memcmp(ep + 16, "_DMI_", 5) && sum(ep + 16, 15) == 0, "intermediate anchor");
	cr_assert(ep[6] == 2 && ep[7] == 8, "version 2.8");
	s = at(m, le(ep + 24, 4), le(ep + 22, 2));
	end = s + le(ep + 22, 2);
	while (s < end) {
		const uint8_t *str = s + s[1], *next;
		const char *s1 = (const char *)str;

		cr_assert_geq(s[1], 4);
		while (str[0] || str[1])
			str++;
		next = str + 2;
		maxlen = (int)(next - s) > maxlen ? (int)(next - s) : maxlen;
		seen[s[0] & 127]++;
		count++;
		if (s[0] == 1)
			cr_expect(s[4] == 1 && !strcmp(s1, "avmm"), "type 1 manufacturer");
		if (s[0] == 4)
			cr_expect(s[35] == nr_cpus && s[37] == nr_cpus, "type 4: %d cores", s[35]);
		if (s[0] == 17)
			cr_expect_eq(le(s + 12, 2) < 0x7fff ? le(s + 12, 2) : le(s + 28, 4),
				     ram_bytes >> 20, "type 17 size in MiB");
		if (s[0] == 127)
			break;
		s = next;
	}
	cr_assert_eq(count, (int)le(ep + 28, 2), "structure count");
	cr_assert_eq(maxlen, (int)le(ep + 8, 2), "maximum structure size");
	cr_assert(seen[0] && seen[1] && seen[4] && seen[16] && seen[17] && seen[32] && seen[127]);
}

TestSuite(acpi, .init = setup, .fini = teardown);

Test(acpi, tables_for_1_2_4_and_64_cpus)
{
	int n[] = { 1, 2, 4, 64 };

	for (size_t i = 0; i < sizeof(n) / sizeof(n[0]); i++) {
		memset(map.r[0].hva, 0, 1 << 20);
		cr_assert_eq(vmm_acpi_write(&map, n[i]), 0);
		acpi_walk(&map, n[i]);
	}
}

Test(acpi, mp_table_acpi_and_smbios_do_not_overlap)
{
	const uint8_t *mp;

	cr_assert_eq(vmm_mptable_write(&map, 64), 0);
	cr_assert_eq(vmm_acpi_write(&map, 64), 0);
	cr_assert_eq(vmm_smbios_write(&map, 64, RAM), 0);
	mp = at(&map, VMM_BIOS_GPA, 16);
	cr_assert(!memcmp(mp, "_MP_", 4) && sum(mp, 16) == 0, "MP floating pointer intact");
	mp = at(&map, le(mp + 4, 4), 44);
	cr_assert_eq(sum(mp, le(mp + 4, 2)), 0, "MP configuration table intact");
	cr_assert_leq(le(mp - 16 + 4, 4) + le(mp + 4, 2), VMM_SMBIOS_GPA, "MP table ends first");
	acpi_walk(&map, 64);
	smbios_walk(&map, 64, RAM);
}

Test(acpi, too_many_cpus_is_refused)
{
	cr_assert_lt(vmm_acpi_write(&map, 255), 0);
}

Test(acpi, smbios_large_ram_uses_extended_sizes)
{
	cr_assert_eq(vmm_smbios_write(&map, 2, 64ull << 30), 0);
	smbios_walk(&map, 2, 64ull << 30);
}

Test(acpi, e820_reserves_the_tables)
{
	struct vmm_e820 e[VMM_E820_MAX];
	int n = vmm_e820_build(&map, e, VMM_E820_MAX), covered = 0;

	for (int i = 0; i < n; i++)
		if (e[i].type == VMM_E820_RESERVED && e[i].addr <= VMM_ACPI_GPA &&
		    e[i].addr + e[i].size >= VMM_SMBIOS_END)
			covered = 1;
	cr_assert(covered, "one reserved range covers ACPI, MP table and SMBIOS");
}

/* The real thing: vmm_create writes them through the bus's fwtables device. */
Test(acpi_vm, created_vm_has_the_tables, .timeout = 60)
{
	struct vmm_config cfg = { .vcpus = 2, .mem_bytes = 64ull << 20, .console_path = "/dev/null" };
	const char *guest = build_path("guests/hello.elf");
	struct vmm *vm;

	require_kvm();
	if (access(guest, R_OK))
		cr_skip_test("%s is missing: run 'make guests'", guest);
	cfg.guest_path = guest;
	cr_assert_eq(vmm_create(&cfg, &vm), 0);
	acpi_walk(&vm->mem, 2);
	smbios_walk(&vm->mem, 2, cfg.mem_bytes);
	vmm_destroy(vm);
}
