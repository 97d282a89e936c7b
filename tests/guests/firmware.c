/*
 * firmware: what a guest finds of the PC machine's firmware interfaces.
 *
 * fw_cfg (ports 0x510/0x511, DMA at 0x514): the "QEMU" signature, the id
 * (bit 1: DMA), nb_cpus, max_cpus, the RAM size, the command line, and
 * etc/e820 found through the file directory; with DMA, the same directory
 * and etc/e820 read again through a FWCfgDmaAccess, which must agree byte
 * for byte with the data port. ACPI: the RSDP found by scanning
 * 0xE0000-0xFFFFF, every table's checksum (RSDT, XSDT, each listed table,
 * the FADT's DSDT, the FACS's signature), the MADT's enabled local APICs.
 * SMBIOS: the entry point ("_SM_" or "_SM3_") in 0xF0000-0xFFFFF, its
 * checksums, every structure up to type 127, the type 1 manufacturer.
 *
 * Parameters: expect_cpus= (nb_cpus and the MADT's count must equal it).
 * Result: fwcfg dma nb_cpus max_cpus ram e820 e820_ram e820_dma cmdline
 * rsdp tables madt_cpus hpet smbios smbios_structs dmi_vendor ok.
 */
#include "guest.h"

#define FW_SEL  0x510
#define FW_DATA 0x511
#define FW_DMA  0x514
#define DIR_MAX 64
#define E820_MAX 32

static inline u32 inl(u16 port)
{
	u32 v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static const char *why;
static void bad(const char *w) { if (!why) why = w; }

static u32 be32(const u8 *p) { return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3]; }
static u32 bswap(u32 x) { return __builtin_bswap32(x); }
static u64 le(const u8 *p, int n)
{
	u64 x = 0;

	while (n--)
		x = x << 8 | p[n];
	return x;
}

static u8 sum(const u8 *p, u32 n)
{
	u8 s = 0;

	while (n--)
		s = (u8)(s + *p++);
	return s;
}

/* ---- fw_cfg ---- */
static void fw_read(u16 key, void *buf, u32 n)
{
	u8 *b = buf;

	outw(FW_SEL, key);
	while (n--)
		*b++ = inb(FW_DATA);
}

static u64 fw_le(u16 key, int n)
{
	u8 b[8] = { 0 };

	fw_read(key, b, (u32)n);
	return le(b, n);
}

static struct { u32 control, length, addr_hi, addr_lo; } dma_acc __attribute__((aligned(16)));

/* select + read of len bytes into buf; 0, or -1 on the error bit / no end */
static int fw_dma_read(u16 key, void *buf, u32 len)
{
	volatile u32 *ctl = &dma_acc.control;

	dma_acc.control = bswap((u32)key << 16 | 0x08 | 0x02);
	dma_acc.length = bswap(len);
	dma_acc.addr_hi = 0;
	dma_acc.addr_lo = bswap((u32)buf);
	barrier();
	outl(FW_DMA, 0);
	outl(FW_DMA + 4, bswap((u32)&dma_acc));
	for (int i = 0; i < 1000000 && (bswap(*ctl) & ~1u); i++)
		cpu_relax();
	return bswap(*ctl) ? -1 : 0;
}

static u8 dir[4 + DIR_MAX * 64], dir_dma[sizeof(dir)];
static u8 e820[E820_MAX * 20], e820_dma[sizeof(e820)];

/* Finds name in the directory read via the data port: its key, or 0. */
static u16 fw_find(const char *name, u32 *size, u32 *dir_len)
{
	u32 n, i;
	u16 key = 0;

	fw_read(0x19, dir, 4);
	n = be32(dir);
	if (n > DIR_MAX)
		n = DIR_MAX;
	fw_read(0x19, dir, 4 + n * 64);
	*dir_len = 4 + n * 64;
	for (i = 0; i < n; i++) {
		const u8 *e = dir + 4 + i * 64;

		if (!memcmp(e + 8, name, strlen(name) + 1)) {
			*size = be32(e);
			key = (u16)(e[4] << 8 | e[5]);
		}
	}
	return key;
}

static char fwcmd[512];

/* 1 when the fw_cfg command line ends the one Multiboot gave (QEMU puts the
 * kernel's path first there), 0 when it differs; 2 when fw_cfg has none. */
static int cmdline_check(const char *mb)
{
	u32 n = (u32)fw_le(0x14, 4), lm = strlen(mb), lf;

	if (n <= 1)
		return 2;
	if (n > sizeof(fwcmd))
		return 0;
	fw_read(0x15, fwcmd, n);
	fwcmd[n - 1] = 0;
	lf = strlen(fwcmd);
	return lf <= lm && !memcmp(mb + lm - lf, fwcmd, lf);
}

/* ---- ACPI ---- */
static const u8 *scan(u32 from, u32 to, const char *sig, u32 n)
{
	for (u32 a = from; a < to; a += 16)
		if (!memcmp((const void *)a, sig, n))
			return (const u8 *)a;
	return 0;
}

static int tables, madt_cpus, hpet;

static void acpi_table(u32 a)
{
	const u8 *t = (const u8 *)a;
	u32 len = (u32)le(t + 4, 4);

	if (len < 36 || len > (1u << 20) || sum(t, len)) {
		bad("acpi-checksum");
		return;
	}
	tables++;
	if (!memcmp(t, "FACP", 4)) {
		const u8 *facs = (const u8 *)(u32)le(t + 36, 4);

		if (le(t + 40, 4))
			acpi_table((u32)le(t + 40, 4));
		else
			bad("no-dsdt");
		if (facs && memcmp(facs, "FACS", 4))
			bad("facs-signature");
	} else if (!memcmp(t, "APIC", 4)) {
		for (const u8 *e = t + 44; e < t + len && e[1] >= 2; e += e[1])
			if ((e[0] == 0 && (le(e + 4, 4) & 1)) || (e[0] == 9 && (le(e + 8, 4) & 1)))
				madt_cpus++;
	} else if (!memcmp(t, "HPET", 4)) {
		hpet = 1;
	}
}

static u32 acpi(void)
{
	const u8 *r = 0, *sdt;
	u32 a, n;

	for (a = 0xE0000; a < 0x100000 && !r; a += 16)
		if (!memcmp((const void *)a, "RSD PTR ", 8) && !sum((const u8 *)a, 20))
			r = (const u8 *)a;
	if (!r) {
		bad("no-rsdp");
		return 0;
	}
	if (r[15] >= 2 && sum(r, (u32)le(r + 20, 4)))
		bad("rsdp-checksum");
	sdt = (const u8 *)(u32)le(r + 16, 4);
	acpi_table((u32)sdt);
	n = ((u32)le(sdt + 4, 4) - 36) / 4;
	for (u32 i = 0; i < n && i < 64; i++)
		acpi_table((u32)le(sdt + 36 + 4 * i, 4));
	if (r[15] >= 2 && le(r + 24, 8)) {
		if (le(r + 24, 8) >> 32)
			bad("xsdt-above-4g");
		else
			acpi_table((u32)le(r + 24, 8));
	}
	return (u32)r;
}

/* ---- SMBIOS ---- */
static char vendor[32] = "none", smver[16] = "none";
static int structs;

static const char *smbios(void)
{
	const u8 *ep = scan(0xF0000, 0x100000, "_SM3_", 5), *s, *end;
	u32 len;

	if (ep && !sum(ep, ep[6])) {
		s = (const u8 *)(u32)le(ep + 16, 4);
		len = (u32)le(ep + 12, 4);
		gsnprintf(smver, sizeof(smver), "%u.%u", ep[7], ep[8]);
	} else if ((ep = scan(0xF0000, 0x100000, "_SM_", 4)) && !sum(ep, ep[5]) &&
		   !memcmp(ep + 16, "_DMI_", 5) && !sum(ep + 16, 15)) {
		s = (const u8 *)(u32)le(ep + 24, 4);
		len = (u32)le(ep + 22, 2);
		gsnprintf(smver, sizeof(smver), "%u.%u", ep[6], ep[7]);
	} else {
		bad("no-smbios");
		return "none";
	}
	for (end = s + len; s + 4 <= end; ) {
		const u8 *str = s + s[1];
		u8 type = s[0];

		structs++;
		if (type == 1 && s[4]) { /* manufacturer: string s[4] */
			const char *p = (const char *)str;
			u32 i;

			for (u32 k = 1; k < s[4]; k++)
				p += strlen(p) + 1;
			for (i = 0; p[i] && i < sizeof(vendor) - 1; i++)
				vendor[i] = p[i] == ' ' ? '_' : p[i];
			vendor[i] = 0;
		}
		while (str + 1 < end && (str[0] || str[1]))
			str++;
		s = str + 2;
		if (type == 127)
			break;
	}
	return smver;
}

int main(const char *cmdline)
{
	char sig[5] = "";
	int bad_param = 0, fwcfg = 0, dma = 0, cmd = 2;
	u64 expect = param_u64(cmdline, "expect_cpus", 0, &bad_param), ram = 0, e820_ram = 0;
	u32 nb = 0, max = 0, size = 0, dir_len = 0, n = 0, rsdp;
	const char *sm, *e820_dma_s = "none";
	u16 key;

	if (bad_param)
		guest_fail("firmware", "bad-parameter");
	fw_read(0x00, sig, 4);
	fwcfg = !memcmp(sig, "QEMU", 4);
	if (!fwcfg) {
		bad("no-fwcfg");
	} else {
		dma = (fw_le(0x01, 4) & 2) != 0;
		nb = (u32)fw_le(0x05, 2);
		max = (u32)fw_le(0x0f, 2);
		ram = fw_le(0x03, 8);
		cmd = cmdline_check(cmdline);
		if (!cmd)
			bad("cmdline-mismatch");
		key = fw_find("etc/e820", &size, &dir_len);
		if (!key || size > sizeof(e820) || size % 20)
			bad("no-etc-e820");
		else
			fw_read(key, e820, size);
		n = size / 20;
		for (u32 i = 0; i < n; i++)
			if (le(e820 + i * 20 + 16, 4) == 1)
				e820_ram += le(e820 + i * 20 + 8, 8);
		if (dma && (inl(FW_DMA) != 0x554d4551 || inl(FW_DMA + 4) != 0x47464320))
			bad("dma-signature");
		if (dma && key) {
			e820_dma_s = "match";
			if (fw_dma_read(0x19, dir_dma, dir_len) || fw_dma_read(key, e820_dma, size) ||
			    memcmp(dir, dir_dma, dir_len) || memcmp(e820, e820_dma, size)) {
				e820_dma_s = "differs";
				bad("dma-mismatch");
			}
		}
		if (expect && (nb != expect || max < nb))
			bad("cpu-count");
	}
	rsdp = acpi();
	if (expect && madt_cpus != (int)expect)
		bad("madt-cpu-count");
	sm = smbios();
	gprintf("firmware: fw_cfg %s, %u CPUs (max %u), %llu bytes RAM, etc/e820 %u entries; "
		"RSDP at 0x%x, %d tables, MADT %d CPUs; SMBIOS %s, vendor %s\n",
		fwcfg ? "present" : "absent", nb, max, (unsigned long long)ram, n, rsdp, tables,
		madt_cpus, sm, vendor);
	gprintf("AVMM-RESULT guest=firmware fwcfg=%d dma=%d nb_cpus=%u max_cpus=%u ram=%llu "
		"e820=%u e820_ram=%llu e820_dma=%s cmdline=%s rsdp=0x%x tables=%d madt_cpus=%d "
		"hpet=%d smbios=%s smbios_structs=%d dmi_vendor=%s ok=%d%s%s\n",
		fwcfg, dma, nb, max, (unsigned long long)ram, n, (unsigned long long)e820_ram,
		e820_dma_s, cmd == 1 ? "match" : cmd == 2 ? "none" : "differs", rsdp, tables,
		madt_cpus, hpet, sm, structs, vendor, why ? 0 : 1, why ? " error=" : "",
		why ? why : "");
	return why ? 1 : 0;
}
