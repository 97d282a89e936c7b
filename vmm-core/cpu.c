/* CPUID from KVM_GET_SUPPORTED_CPUID, and the boot vCPU's entry state. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "common/util.h"
#include "vmm-core/cpuid_shape.h"
#include "vmm-core/vmm_internal.h"

#define CR0_PE 0x1ull
#define CR0_ET 0x10ull
#define CR0_PG 0x80000000ull
#define CR4_PAE 0x20ull
#define EFER_LME 0x100ull
#define EFER_LMA 0x400ull

/* The whole machine's view, the same on every vCPU: leaf 1 EBX[23:16] is the
 * logical processor count, valid when EDX.HTT is set. */
static void cpuid_set_count(struct kvm_cpuid2 *c, int nr_vcpus)
{
	uint32_t i;

	for (i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function != 1)
			continue;
		e->ebx = (e->ebx & 0xff00ffffu) | ((uint32_t)(nr_vcpus & 0xff) << 16);
		if (nr_vcpus > 1)
			e->edx |= 1u << 28; /* HTT: ebx[23:16] is valid */
	}
}

/* --cpu: what the host can give is KVM's table plus the TSC deadline timer
 * (advertised by KVM_CAP_TSC_DEADLINE_TIMER) and the hypervisor bit. */
static int cpuid_shape(struct vmm *vm, struct kvm_cpuid2 *c, const char *model)
{
	size_t bytes = sizeof(*c) + c->nent * sizeof(c->entries[0]);
	struct kvm_cpuid2 *can = malloc(bytes);
	char why[1536];
	int rc;

	if (!can)
		return -ENOMEM;
	memcpy(can, c, bytes);
	for (uint32_t i = 0; i < can->nent; i++)
		if (can->entries[i].function == 1)
			can->entries[i].ecx |= (1u << 31) |
				(ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0
				 ? 1u << 24 : 0);
	rc = vmm_cpuid_shape(c, can, model, why, sizeof(why));
	free(can);
	if (rc)
		util_err("%s", why);
	else if (why[0])
		util_warn("%s", why);
	return rc;
}

int vmm_cpuid_init(struct vmm *vm, int nr_vcpus, const char *cpu_model)
{
	int nent = 128;

	for (;;) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));

		if (!c)
			return -ENOMEM;
		c->nent = nent;
		if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			cpuid_set_count(c, nr_vcpus);
			if (cpu_model && strcmp(cpu_model, "host")) {
				int rc = cpuid_shape(vm, c, cpu_model);

				if (rc) {
					free(c);
					return rc;
				}
			}
			vm->cpuid = c;
			return 0;
		}
		free(c);
		if (errno != E2BIG || nent >= 4096) {
			util_err("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
			return -errno;
		}
		nent *= 2;
	}
}

int vmm_cpuid_set(struct vmm *vm, struct vmm_vcpu *vcpu)
{
	size_t bytes = sizeof(*vm->cpuid) + vm->cpuid->nent * sizeof(vm->cpuid->entries[0]);
	struct kvm_cpuid2 *c = malloc(bytes);
	uint32_t i;
	int rc = 0;

	if (!c)
		return -ENOMEM;
	memcpy(c, vm->cpuid, bytes);
	for (i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == 1) /* initial APIC id */
			e->ebx = (e->ebx & 0x00ffffffu) | ((uint32_t)vcpu->idx << 24);
		else if (e->function == 0xb || e->function == 0x1f)
			e->edx = (uint32_t)vcpu->idx; /* x2APIC id */
	}
	if (ioctl(vcpu->fd, KVM_SET_CPUID2, c) < 0) {
		rc = -errno;
		util_err("KVM_SET_CPUID2 on vcpu%d: %s", vcpu->idx, strerror(-rc));
	}
	free(c);
	return rc;
}

static void write_gdt(struct vmm *vm, bool long_mode)
{
	uint64_t *gdt = vmm_gpa_ptr(&vm->mem, VMM_GDT_GPA, 4 * 8);

	gdt[0] = 0;
	gdt[1] = 0;
	gdt[2] = long_mode ? 0x00af9b000000ffffull : 0x00cf9b000000ffffull;
	gdt[3] = 0x00cf93000000ffffull;
}

/* Identity map of the first 4 GiB with 2 MiB pages. */
static void write_page_tables(struct vmm *vm)
{
	uint64_t *pml4 = vmm_gpa_ptr(&vm->mem, VMM_PGTABLE_GPA, 6 * 4096);
	uint64_t *pdpt = pml4 + 512, *pd = pml4 + 1024;
	int i;

	memset(pml4, 0, 6 * 4096);
	pml4[0] = (VMM_PGTABLE_GPA + 0x1000) | 0x3;
	for (i = 0; i < 4; i++)
		pdpt[i] = (VMM_PGTABLE_GPA + 0x2000 + i * 0x1000ull) | 0x3;
	for (i = 0; i < 4 * 512; i++)
		pd[i] = ((uint64_t)i << 21) | 0x83;
}

static void flat_segment(struct kvm_segment *s, uint16_t sel, uint8_t type, bool long_code)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->g = 1;
	s->l = long_code;
	s->db = !long_code;
}

int vmm_boot_regs(struct vmm *vm, struct vmm_vcpu *vcpu)
{
	bool long_mode = vm->boot.mode == VMM_MODE_LONG64;
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		goto fail;
	write_gdt(vm, long_mode);
	flat_segment(&sregs.cs, VMM_SEL_CODE, 0xb, long_mode);
	flat_segment(&sregs.ds, VMM_SEL_DATA, 0x3, false);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.gdt.base = VMM_GDT_GPA;
	sregs.gdt.limit = 4 * 8 - 1;
	sregs.cr0 = CR0_PE | CR0_ET;
	sregs.cr4 = 0;
	sregs.efer = 0;
	if (long_mode) {
		write_page_tables(vm);
		sregs.cr3 = VMM_PGTABLE_GPA;
		sregs.cr4 = CR4_PAE;
		sregs.cr0 |= CR0_PG;
		sregs.efer = EFER_LME | EFER_LMA;
	}
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0)
		goto fail;
	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2;
	regs.rip = vm->boot.rip;
	regs.rsp = vm->boot.rsp;
	regs.rax = vm->boot.rax;
	regs.rbx = vm->boot.rbx;
	regs.rsi = vm->boot.rsi;
	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
		goto fail;
	return 0;
fail:
	util_err("setting boot registers of vcpu%d: %s", vcpu->idx, strerror(errno));
	return -errno;
}
