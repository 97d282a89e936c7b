/* cpuid - what the CPU says it is, from inside: the vendor string, leaf 1
 * ECX/EDX, leaf 7 EBX, and the flags --cpu shapes most often.
 * Parameters (optional expectations, each a failure when it differs):
 *   x2apic=0|1  leaf 1 ECX bit 21     vendor=STRING  leaf 0's vendor string
 * Result: vendor leaf1_ecx leaf1_edx leaf7_ebx x2apic xsave avx hypervisor ok. */
#include "guest.h"

static void cpuid(u32 leaf, u32 sub, u32 r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(sub));
}

static int param_is(const char *cmdline, const char *key, const char *want)
{
	u32 n = 0, i;

	while (key[n])
		n++;
	for (const char *p = cmdline; *p; p++) {
		if ((p != cmdline && p[-1] != ' ') || p[n] != '=')
			continue;
		for (i = 0; i < n && p[i] == key[i]; i++)
			;
		if (i < n)
			continue;
		p += n + 1;
		for (i = 0; want[i] && p[i] == want[i]; i++)
			;
		return !want[i] && (!p[i] || p[i] == ' ');
	}
	return 1; /* not given: nothing expected */
}

int main(const char *cmdline)
{
	u32 r[4], l1[4], l7[4] = { 0 }, max;
	char vendor[13];
	int bad = 0;
	u64 want_x2 = param_u64(cmdline, "x2apic", 2, &bad);
	int x2;

	cpuid(0, 0, r);
	max = r[0];
	((u32 *)vendor)[0] = r[1];
	((u32 *)vendor)[1] = r[3];
	((u32 *)vendor)[2] = r[2];
	vendor[12] = 0;
	cpuid(1, 0, l1);
	if (max >= 7)
		cpuid(7, 0, l7);
	x2 = (l1[2] >> 21) & 1;
	gprintf("cpuid: %s, max leaf 0x%x, leaf 1 ecx 0x%x edx 0x%x, leaf 7 ebx 0x%x\n",
		vendor, max, l1[2], l1[3], l7[1]);
	if (bad || want_x2 > 2) {
		gprintf("AVMM-RESULT guest=cpuid ok=0 error=bad-parameter\n");
		return 1;
	}
	if (want_x2 != 2 && (u32)want_x2 != (u32)x2) {
		gprintf("AVMM-RESULT guest=cpuid x2apic=%d ok=0 error=x2apic-mismatch\n", x2);
		return 1;
	}
	if (!param_is(cmdline, "vendor", vendor)) {
		gprintf("AVMM-RESULT guest=cpuid vendor=%s ok=0 error=vendor-mismatch\n", vendor);
		return 1;
	}
	gprintf("AVMM-RESULT guest=cpuid vendor=%s leaf1_ecx=0x%x leaf1_edx=0x%x leaf7_ebx=0x%x "
		"x2apic=%d xsave=%u avx=%u hypervisor=%u ok=1\n", vendor, l1[2], l1[3], l7[1], x2,
		(l1[2] >> 26) & 1, (l1[2] >> 28) & 1, l1[2] >> 31);
	return 0;
}
