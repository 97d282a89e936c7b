/* --cpu shaping as a pure function on a canned CPUID table (vmm-core/cpuid_shape.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm-core/cpuid_shape.h"

#define B(n) (1u << (n))
#define NENT 16

struct table { struct kvm_cpuid2 h; struct kvm_cpuid_entry2 e[NENT]; };

static struct table host, can;
static char why[2048];

static void add(struct table *t, uint32_t f, uint32_t i, uint32_t a, uint32_t b, uint32_t c,
		uint32_t d)
{
	t->e[t->h.nent++] = (struct kvm_cpuid_entry2){ .function = f, .index = i, .eax = a,
						       .ebx = b, .ecx = c, .edx = d };
}

/* An AVX-512 class Intel host, as KVM_GET_SUPPORTED_CPUID reports it. */
static void setup(void)
{
	memset(&host, 0, sizeof(host));
	add(&host, 0, 0, 0xd, 0x756e6547, 0x6c65746e, 0x49656e69); /* GenuineIntel */
	add(&host, 1, 0, 0x50657, 0x800,
	    B(0) | B(1) | B(9) | B(12) | B(13) | B(17) | B(19) | B(20) | B(21) | B(22) | B(23) |
	    B(24) | B(25) | B(26) | B(28) | B(29) | B(30) | B(31), 0x0f8bfbff);
	add(&host, 7, 0, 0, B(0) | B(3) | B(5) | B(7) | B(8) | B(9) | B(10) | B(16) | B(17) |
	    B(20) | B(30) | B(31), B(9) | B(10), 0);
	add(&host, 0xd, 0, 0xe7, 0xa88, 0xa88, 0);
	add(&host, 0xd, 1, 0xf, 0, 0, 0);
	add(&host, 0xd, 2, 0x100, 0x240, 0, 0);
	add(&host, 0xd, 5, 0x40, 0x440, 0, 0);
	add(&host, 0xd, 6, 0x200, 0x480, 0, 0);
	add(&host, 0xd, 7, 0x400, 0x680, 0, 0);
	add(&host, 0x40000000, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x4d);
	add(&host, 0x80000000, 0, 0x80000008, 0, 0, 0);
	add(&host, 0x80000001, 0, 0, 0, B(0) | B(5), B(11) | B(20) | B(26) | B(27) | B(29));
	memcpy(&can, &host, sizeof(host));
}

TestSuite(cpuid_shape, .init = setup);

static struct kvm_cpuid_entry2 *ent(struct table *t, uint32_t f, uint32_t i)
{
	for (uint32_t k = 0; k < t->h.nent; k++)
		if (t->e[k].function == f && t->e[k].index == i)
			return &t->e[k];
	cr_assert_fail("no leaf 0x%x.%u", f, i);
	return NULL;
}

static int shape(const char *spec)
{
	return vmm_cpuid_shape(&host.h, &can.h, spec, why, sizeof(why));
}

Test(cpuid_shape, host_alone_changes_nothing)
{
	struct table before = host;

	cr_assert_eq(shape("host"), 0, "%s", why);
	cr_expect_eq(memcmp(&before, &host, sizeof(host)), 0);
	cr_expect_str_empty(why);
}

Test(cpuid_shape, minus_x2apic_clears_only_leaf1_ecx21)
{
	struct table before = host;

	cr_assert_eq(shape("host,-x2apic"), 0, "%s", why);
	cr_expect_eq(ent(&host, 1, 0)->ecx, ent(&before, 1, 0)->ecx & ~B(21));
	ent(&host, 1, 0)->ecx |= B(21);
	cr_expect_eq(memcmp(&before, &host, sizeof(host)), 0, "nothing else changed");
}

Test(cpuid_shape, flags_alone_imply_host_and_last_wins)
{
	cr_assert_eq(shape("-pcid,+pcid,-smep"), 0, "%s", why);
	cr_expect(ent(&host, 1, 0)->ecx & B(17));
	cr_expect_not(ent(&host, 7, 0)->ebx & B(7));
}

Test(cpuid_shape, minus_xsave_takes_avx_family_and_leaf_d)
{
	cr_assert_eq(shape("host,-xsave"), 0, "%s", why);
	cr_expect_eq(ent(&host, 1, 0)->ecx & (B(26) | B(27) | B(28) | B(12) | B(29)), 0,
		     "xsave, osxsave, avx, fma, f16c");
	cr_expect_eq(ent(&host, 7, 0)->ebx & (B(5) | B(16) | B(17) | B(30) | B(31)), 0,
		     "avx2 and AVX-512");
	cr_expect_eq(ent(&host, 7, 0)->ecx & (B(9) | B(10)), 0, "vaes, vpclmulqdq");
	for (uint32_t i = 0; i < host.h.nent; i++)
		if (host.e[i].function == 0xd)
			cr_expect(!host.e[i].eax && !host.e[i].ebx && !host.e[i].ecx,
				  "leaf 0xd.%u cleared", host.e[i].index);
	cr_expect(ent(&host, 7, 0)->ebx & B(7), "smep untouched");
}

Test(cpuid_shape, minus_avx_keeps_xsave_and_drops_ymm_state)
{
	cr_assert_eq(shape("host,-avx"), 0, "%s", why);
	cr_expect(ent(&host, 1, 0)->ecx & B(26), "xsave stays");
	cr_expect_eq(ent(&host, 0xd, 0)->eax, 0x3, "XCR0 mask: x87 and SSE only");
	cr_expect_eq(ent(&host, 0xd, 0)->ecx, 0x240, "XSAVE area size recomputed");
	cr_expect_eq(ent(&host, 0xd, 1)->eax, 0xf, "xsaveopt & co stay");
	cr_expect_eq(ent(&host, 0xd, 2)->eax, 0);
	cr_expect_eq(ent(&host, 0xd, 7)->eax, 0);
	cr_expect_eq(ent(&host, 7, 0)->ebx & (B(5) | B(16)), 0);
}

Test(cpuid_shape, minus_avx512f_keeps_avx2)
{
	cr_assert_eq(shape("host,-avx512f"), 0, "%s", why);
	cr_expect(ent(&host, 7, 0)->ebx & B(5));
	cr_expect_eq(ent(&host, 7, 0)->ebx & (B(16) | B(17) | B(30) | B(31)), 0);
	cr_expect_eq(ent(&host, 0xd, 0)->eax, 0x7);
	cr_expect_eq(ent(&host, 0xd, 0)->ecx, 0x340, "YMM state ends at 0x240 + 0x100");
}

Test(cpuid_shape, plus_child_with_parent_off_is_an_error)
{
	cr_expect_eq(shape("host,-avx,+avx2"), -EINVAL);
	cr_expect(strstr(why, "+avx2 needs avx"), "%s", why);
}

Test(cpuid_shape, chains_follow)
{
	cr_assert_eq(shape("host,-sse3,-lm"), 0, "%s", why);
	cr_expect_eq(ent(&host, 1, 0)->ecx & (B(0) | B(9) | B(19) | B(20)), 0);
	cr_expect_eq(ent(&host, 0x80000001, 0)->edx & (B(26) | B(29)), 0, "pdpe1gb with lm");
	cr_expect(ent(&host, 0x80000001, 0)->edx & B(20), "nx stays");
}

Test(cpuid_shape, plus_flag_the_host_lacks_is_an_error)
{
	ent(&can, 0x80000001, 0)->edx &= ~B(27);
	ent(&host, 0x80000001, 0)->edx &= ~B(27);
	cr_expect_eq(shape("host,+rdtscp"), -EINVAL);
	cr_expect(strstr(why, "rdtscp") && strstr(why, "cannot give"), "%s", why);
}

Test(cpuid_shape, unknown_flag_and_model_list_the_known_ones)
{
	cr_expect_eq(shape("host,+turbo"), -EINVAL);
	cr_expect(strstr(why, "'turbo'") && strstr(why, "x2apic") && strstr(why, "tsc-deadline"),
		  "%s", why);
	cr_expect_eq(shape("pentium"), -EINVAL);
	cr_expect(strstr(why, "'pentium'") && strstr(why, "qemu64") && strstr(why, "x86-64-v3"),
		  "%s", why);
	cr_expect_eq(shape("host,x2apic"), -EINVAL);
	cr_expect(strstr(why, "expected"), "%s", why);
}

Test(cpuid_shape, vendor_override)
{
	cr_assert_eq(shape("host,vendor=AuthenticAMD"), 0, "%s", why);
	cr_expect_eq(memcmp(&ent(&host, 0, 0)->ebx, "Auth", 4), 0);
	cr_expect_eq(memcmp(&ent(&host, 0, 0)->edx, "enti", 4), 0);
	cr_expect_eq(memcmp(&ent(&host, 0, 0)->ecx, "cAMD", 4), 0);
	cr_expect_eq(memcmp(&ent(&host, 0x80000000, 0)->ebx, "Auth", 4), 0);
	cr_expect_eq(ent(&host, 0x80000000, 0)->eax, 0x80000008, "max extended leaf kept");
	cr_assert_eq(shape("host,vendor=GenuineIntel"), 0, "%s", why);
	cr_expect_eq(ent(&host, 0x80000000, 0)->ebx, 0, "Intel: no vendor in 0x80000000");
	cr_expect_eq(shape("host,vendor=Intel"), -EINVAL);
}

Test(cpuid_shape, qemu64_is_the_baseline)
{
	ent(&can, 1, 0)->ecx &= ~B(0); /* a host without sse3 */
	ent(&host, 1, 0)->ecx &= ~B(0);
	cr_assert_eq(shape("qemu64"), 0, "%s", why);
	cr_expect(strstr(why, "sse3"), "note names what the host lacks: %s", why);
	cr_expect_eq(ent(&host, 1, 0)->ecx, B(13) | B(21) | B(31), "cx16 x2apic hypervisor");
	cr_expect_eq(ent(&host, 1, 0)->edx, 0x078bfbff, "leaf 1 EDX: fpu..sse2 (no ss, bit 27)");
	cr_expect_eq(ent(&host, 7, 0)->ebx, 0);
	cr_expect_eq(ent(&host, 0xd, 0)->eax, 0, "no xsave, no leaf 0xd");
	cr_expect_eq(ent(&host, 0x80000001, 0)->edx, B(11) | B(20) | B(29));
	cr_expect_eq(ent(&host, 0x80000001, 0)->ecx, B(0) | B(5));
	cr_expect_eq(ent(&host, 0x40000000, 0)->ebx, 0x4b4d564b, "KVM leaves kept");
}

Test(cpuid_shape, v3_with_flags_and_hypervisor_off)
{
	cr_assert_eq(shape("x86-64-v3,-hypervisor,+smep"), 0, "%s", why);
	cr_expect_str_empty(why);
	cr_expect(ent(&host, 1, 0)->ecx & B(28));
	cr_expect_eq(ent(&host, 7, 0)->ebx, B(3) | B(5) | B(7) | B(8));
	cr_expect_eq(ent(&host, 0xd, 0)->eax, 0x7, "AVX-512 state dropped with avx512f");
	cr_expect_eq(ent(&host, 0x40000000, 0)->ebx, 0, "hypervisor leaves cleared");
}
