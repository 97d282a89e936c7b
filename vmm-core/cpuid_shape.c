/*
 * CPUID shaping: models, named flags, their dependencies, the vendor string.
 *
 * Models: "host" is the table avmm gives without --cpu (what KVM supports).
 * Every other model first clears leaf 1 ECX/EDX, leaf 7 (all subleaves) and
 * leaf 0x80000001 ECX/EDX, then sets its own flags where the host has them
 * (leaf 1 EDX bit 28, HTT, stays as avmm set it for the vCPU count); the
 * other leaves (cache, topology, brand, 0x4000000x) stay as the host's.
 *   qemu64     the x86-64 baseline of QEMU's qemu64 with KVM: fpu..sse2 of
 *              leaf 1 EDX, sse3, cx16, x2apic, hypervisor; syscall, nx, lm,
 *              lahf_lm, abm (not its AMD vendor or family: use vendor=)
 *   x86-64-v2  qemu64 + ssse3, sse4_1, sse4_2, popcnt (the psABI level v2)
 *   x86-64-v3  x86-64-v2 + avx, avx2, bmi1, bmi2, f16c, fma, movbe, xsave
 *
 * Dependencies (a flag that ends up off takes these with it; +child with its
 * parent off is an error):
 *   xsave  -> avx, and leaf 0xD is cleared (all subleaves: XSAVE state sizes,
 *             xsaveopt/xsavec/xsaves); OSXSAVE (leaf 1 ECX 27) cleared
 *   avx    -> avx2, fma, f16c, vaes, vpclmulqdq; leaf 0xD drops the YMM and
 *             AVX-512 state components (XCR0 bits 2, 5-7) and their subleaves
 *   avx2   -> avx512f -> every AVX-512 bit of leaf 7
 *   sse3 -> ssse3 -> sse4_1 -> sse4_2;  aes -> vaes;  lm -> pdpe1gb
 *   hypervisor off also clears KVM's leaves 0x40000000-0x400000ff
 *   x2apic off clears leaf 1 ECX 21 only: the guest takes the xAPIC path
 *             (leaf 0xB topology stays, as on xAPIC-only CPUs that report it)
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "vmm-core/cpuid_shape.h"

#define UTIL_MIN_LEN(n) ((n) < 63 ? (n) : 63)

enum { EAX, EBX, ECX, EDX };

struct flag { const char *name; uint32_t leaf, sub; uint8_t reg, bit; };

#define L1C(n, b) { n, 1, 0, ECX, b }
#define L1D(n, b) { n, 1, 0, EDX, b }
#define L7B(n, b) { n, 7, 0, EBX, b }
#define XC(n, b) { n, 0x80000001, 0, ECX, b }
#define XD(n, b) { n, 0x80000001, 0, EDX, b }

static const struct flag flags[] = {
	L1D("fpu", 0), L1D("vme", 1), L1D("de", 2), L1D("pse", 3), L1D("tsc", 4),
	L1D("msr", 5), L1D("pae", 6), L1D("mce", 7), L1D("cx8", 8), L1D("apic", 9),
	L1D("sep", 11), L1D("mtrr", 12), L1D("pge", 13), L1D("mca", 14), L1D("cmov", 15),
	L1D("pat", 16), L1D("pse36", 17), L1D("clflush", 19), L1D("mmx", 23), L1D("fxsr", 24),
	L1D("sse", 25), L1D("sse2", 26),
	L1C("sse3", 0), L1C("pclmulqdq", 1), L1C("ssse3", 9), L1C("fma", 12), L1C("cx16", 13),
	L1C("pcid", 17), L1C("sse4_1", 19), L1C("sse4_2", 20), L1C("x2apic", 21),
	L1C("movbe", 22), L1C("popcnt", 23), L1C("tsc-deadline", 24), L1C("aes", 25),
	L1C("xsave", 26), L1C("avx", 28), L1C("f16c", 29), L1C("rdrand", 30),
	L1C("hypervisor", 31),
	L7B("fsgsbase", 0), L7B("bmi1", 3), L7B("avx2", 5), L7B("smep", 7), L7B("bmi2", 8),
	L7B("erms", 9), L7B("invpcid", 10), L7B("avx512f", 16), L7B("rdseed", 18),
	L7B("smap", 20), { "vaes", 7, 0, ECX, 9 }, { "vpclmulqdq", 7, 0, ECX, 10 },
	XC("lahf_lm", 0), XC("abm", 5), XD("syscall", 11), XD("nx", 20), XD("pdpe1gb", 26),
	XD("rdtscp", 27), XD("lm", 29),
};
#define NFLAGS (sizeof(flags) / sizeof(flags[0]))

/* child needs parent */
static const struct { const char *child, *parent; } deps[] = {
	{ "avx", "xsave" }, { "avx2", "avx" }, { "fma", "avx" }, { "f16c", "avx" },
	{ "vaes", "avx" }, { "vpclmulqdq", "avx" }, { "avx512f", "avx2" },
	{ "ssse3", "sse3" }, { "sse4_1", "ssse3" }, { "sse4_2", "sse4_1" },
	{ "vaes", "aes" }, { "pdpe1gb", "lm" },
};

#define QEMU64 "fpu,vme,de,pse,tsc,msr,pae,mce,cx8,apic,sep,mtrr,pge,mca,cmov,pat,pse36," \
	"clflush,mmx,fxsr,sse,sse2,sse3,cx16,x2apic,hypervisor,syscall,nx,lm,lahf_lm,abm"
#define V2 QEMU64 ",ssse3,sse4_1,sse4_2,popcnt"
static const struct { const char *name, *flags; } models[] = {
	{ "host", NULL },
	{ "qemu64", QEMU64 },
	{ "x86-64-v2", V2 },
	{ "x86-64-v3", V2 ",avx,avx2,bmi1,bmi2,f16c,fma,movbe,xsave" },
};
#define NMODELS (sizeof(models) / sizeof(models[0]))

struct shape {
	struct kvm_cpuid2 *t;
	const struct kvm_cpuid2 *can;
	bool plus[NFLAGS];  /* asked for with +flag */
	char *why;
	size_t why_len;
};

static struct kvm_cpuid_entry2 *find(const struct kvm_cpuid2 *t, uint32_t leaf, uint32_t sub)
{
	for (uint32_t i = 0; i < t->nent; i++)
		if (t->entries[i].function == leaf && t->entries[i].index == sub)
			return (struct kvm_cpuid_entry2 *)&t->entries[i];
	return NULL;
}

static uint32_t *reg(struct kvm_cpuid_entry2 *e, int r)
{
	return r == EAX ? &e->eax : r == EBX ? &e->ebx : r == ECX ? &e->ecx : &e->edx;
}

static bool has(const struct kvm_cpuid2 *t, const struct flag *f)
{
	struct kvm_cpuid_entry2 *e = find(t, f->leaf, f->sub);

	return e && (*reg(e, f->reg) >> f->bit & 1);
}

static void set(struct kvm_cpuid2 *t, const struct flag *f, bool on)
{
	struct kvm_cpuid_entry2 *e = find(t, f->leaf, f->sub);

	if (e)
		*reg(e, f->reg) = on ? *reg(e, f->reg) | 1u << f->bit : *reg(e, f->reg) & ~(1u << f->bit);
}

static int flag_idx(const char *name, size_t len)
{
	for (size_t i = 0; i < NFLAGS; i++)
		if (strlen(flags[i].name) == len && !strncmp(flags[i].name, name, len))
			return (int)i;
	return -1;
}

void vmm_cpuid_names(char *m, size_t mlen, char *f, size_t flen)
{
	size_t i, o = 0;

	for (i = 0, o = 0; m && i < NMODELS && o < mlen; i++)
		o += (size_t)snprintf(m + o, mlen - o, "%s%s", i ? ", " : "", models[i].name);
	for (i = 0, o = 0; f && i < NFLAGS && o < flen; i++)
		o += (size_t)snprintf(f + o, flen - o, "%s%s", i ? ", " : "", flags[i].name);
}

/* Masks the model's leaves down to its flags; notes those the host lacks. */
static void apply_model(struct shape *s, const char *list)
{
	static const struct { uint32_t leaf; int reg; uint32_t keep; } masked[] = {
		{ 1, ECX, 1u << 27 /* OSXSAVE: back below if xsave stays */ },
		{ 1, EDX, 1u << 28 /* HTT: the vCPU count */ },
		{ 0x80000001, ECX, 0 }, { 0x80000001, EDX, 0 },
	};
	struct kvm_cpuid2 *t = s->t;
	size_t o = 0, i;

	for (i = 0; i < sizeof(masked) / sizeof(masked[0]); i++) {
		struct kvm_cpuid_entry2 *e = find(t, masked[i].leaf, 0);

		if (e)
			*reg(e, masked[i].reg) &= masked[i].keep;
	}
	for (i = 0; i < t->nent; i++)
		if (t->entries[i].function == 7) {
			struct kvm_cpuid_entry2 *e = &t->entries[i];

			e->ebx = e->ecx = e->edx = 0;
			if (e->index)
				e->eax = 0;
		}
	s->why[0] = 0;
	for (const char *p = list; *p;) {
		size_t len = strcspn(p, ",");
		int k = flag_idx(p, len);

		if (k >= 0 && has(s->can, &flags[k]))
			set(t, &flags[k], true);
		else if (k >= 0 && o < s->why_len)
			o += (size_t)snprintf(s->why + o, s->why_len - o, "%s%s", o ? ", " : "",
					      flags[k].name);
		p += len + (p[len] == ',');
	}
}

/* Clears what a cleared feature owns in other leaves (see the list above). */
static void clear_leaves(struct kvm_cpuid2 *t)
{
	static const struct flag xsave = L1C("xsave", 26), avx = L1C("avx", 28);
	static const struct flag hv = L1C("hypervisor", 31), avx512 = L7B("avx512f", 16);
	uint32_t drop = 0, i;
	struct kvm_cpuid_entry2 *d0 = find(t, 0xd, 0), *l7 = find(t, 7, 0);

	if (!has(t, &xsave))
		set(t, &(struct flag)L1C("osxsave", 27), false);
	if (!has(t, &avx512) && l7) {
		l7->ebx &= ~0xdc230000u; /* avx512 dq ifma pf er cd bw vl */
		l7->ecx &= ~0x00005842u; /* avx512 vbmi vbmi2 vnni bitalg vpopcntdq */
		l7->edx &= ~0x0080010cu; /* avx512 4vnniw 4fmaps vp2intersect fp16 */
		drop |= 0xe0;
	}
	if (!has(t, &avx))
		drop |= 0xe4;
	for (i = 0; i < t->nent; i++) {
		struct kvm_cpuid_entry2 *e = &t->entries[i];
		bool gone = (e->function == 0xd && (!has(t, &xsave) ||
			     (e->index >= 2 && e->index < 32 && (drop >> e->index & 1)))) ||
			    (!has(t, &hv) && e->function >= 0x40000000 && e->function <= 0x400000ff);

		if (gone)
			e->eax = e->ebx = e->ecx = e->edx = 0;
	}
	if (d0 && has(t, &xsave) && drop) {
		uint32_t size = 0x240; /* legacy area + XSAVE header */

		d0->eax &= ~drop;
		for (i = 2; i < 32; i++) {
			struct kvm_cpuid_entry2 *c = find(t, 0xd, i);

			if ((d0->eax >> i & 1) && c && c->ebx + c->eax > size)
				size = c->ebx + c->eax;
		}
		d0->ecx = size;
	}
}

/* Applies the dependency list until nothing changes. */
static int close_deps(struct shape *s)
{
	bool changed = true;

	while (changed) {
		changed = false;
		for (size_t i = 0; i < sizeof(deps) / sizeof(deps[0]); i++) {
			int c = flag_idx(deps[i].child, strlen(deps[i].child));
			int p = flag_idx(deps[i].parent, strlen(deps[i].parent));

			if (has(s->t, &flags[p]) || !has(s->t, &flags[c]))
				continue;
			if (s->plus[c]) {
				snprintf(s->why, s->why_len, "--cpu: +%s needs %s, which is off (by "
					 "-%s or the model): add +%s too", flags[c].name,
					 flags[p].name, flags[p].name, flags[p].name);
				return -EINVAL;
			}
			set(s->t, &flags[c], false);
			changed = true;
		}
	}
	return 0;
}

static int set_vendor(struct shape *s, const char *v, size_t len)
{
	struct kvm_cpuid_entry2 *l0 = find(s->t, 0, 0), *x0 = find(s->t, 0x80000000, 0);
	char name[13] = "";
	uint32_t w[3];
	bool amd;

	if (len != 12) {
		snprintf(s->why, s->why_len, "--cpu: vendor=%s: a vendor is 12 characters "
			 "(GenuineIntel, AuthenticAMD, HygonGenuine, CentaurHauls, ...)", v);
		return -EINVAL;
	}
	memcpy(name, v, 12);
	for (int i = 0; i < 12; i++)
		if (name[i] < 0x20 || name[i] > 0x7e) {
			snprintf(s->why, s->why_len, "--cpu: vendor=%s: printable characters only",
				 v);
			return -EINVAL;
		}
	memcpy(w, name, 12);
	amd = !strcmp(name, "AuthenticAMD") || !strcmp(name, "HygonGenuine");
	if (l0) {
		l0->ebx = w[0];
		l0->edx = w[1];
		l0->ecx = w[2];
	}
	if (x0) { /* AMD repeats it in 0x80000000; Intel leaves those registers 0 */
		x0->ebx = amd ? w[0] : 0;
		x0->edx = amd ? w[1] : 0;
		x0->ecx = amd ? w[2] : 0;
	}
	return 0;
}

static int apply_flag(struct shape *s, const char *tok)
{
	static const char *const regs[] = { "EAX", "EBX", "ECX", "EDX" };
	char known[1024];
	int k = flag_idx(tok + 1, strlen(tok + 1));
	bool on = tok[0] == '+';

	if (k < 0) {
		vmm_cpuid_names(NULL, 0, known, sizeof(known));
		snprintf(s->why, s->why_len, "--cpu: unknown flag '%s'; known flags: %s",
			 tok + 1, known);
		return -EINVAL;
	}
	if (on && !has(s->can, &flags[k])) {
		snprintf(s->why, s->why_len, "--cpu: +%s: this host cannot give %s (CPUID leaf "
			 "0x%x.%u %s bit %u is clear in what KVM supports here): drop +%s",
			 flags[k].name, flags[k].name, flags[k].leaf, flags[k].sub,
			 regs[flags[k].reg], flags[k].bit, flags[k].name);
		return -EINVAL;
	}
	set(s->t, &flags[k], on);
	s->plus[k] = on;
	return 0;
}

int vmm_cpuid_shape(struct kvm_cpuid2 *table, const struct kvm_cpuid2 *can, const char *spec,
		    char *why, size_t why_len)
{
	struct shape s = { .t = table, .can = can, .why = why, .why_len = why_len };
	char note[512] = "", tok[64], vendor[64] = "";
	const char *p = spec ? spec : "";
	size_t len = strcspn(p, ",");
	int rc;

	why[0] = 0;
	if (len && p[0] != '+' && p[0] != '-' && !memchr(p, '=', len)) {
		size_t m;

		for (m = 0; m < NMODELS; m++)
			if (strlen(models[m].name) == len && !strncmp(models[m].name, p, len))
				break;
		if (m == NMODELS) {
			char known[128];

			vmm_cpuid_names(known, sizeof(known), NULL, 0);
			snprintf(why, why_len, "--cpu: unknown model '%.*s'; known models: %s "
				 "(then +flag, -flag, vendor=NAME)", (int)UTIL_MIN_LEN(len), p, known);
			return -EINVAL;
		}
		if (models[m].flags) {
			apply_model(&s, models[m].flags);
			if (why[0])
				snprintf(note, sizeof(note), "--cpu %s: this host lacks %s: left out",
					 models[m].name, why);
		}
		p += len + (p[len] == ',');
	}
	for (; *p; p += len + (p[len] == ',')) {
		len = strcspn(p, ",");
		snprintf(tok, sizeof(tok), "%.*s", (int)UTIL_MIN_LEN(len), p);
		if (!len)
			continue;
		if (!strncmp(tok, "vendor=", 7))
			snprintf(vendor, sizeof(vendor), "%s", tok + 7);
		else if (tok[0] == '+' || tok[0] == '-') {
			if ((rc = apply_flag(&s, tok)))
				return rc;
		} else {
			snprintf(why, why_len, "--cpu: '%s': expected MODEL first, then +FLAG, -FLAG "
				 "or vendor=NAME, separated by commas", tok);
			return -EINVAL;
		}
	}
	if ((rc = close_deps(&s)))
		return rc;
	clear_leaves(table);
	if (vendor[0] && (rc = set_vendor(&s, vendor, strlen(vendor))))
		return rc;
	snprintf(why, why_len, "%s", note);
	return 0;
}
