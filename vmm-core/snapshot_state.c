/* The KVM state of a VM and its vCPUs, read for a snapshot and written back
 * on restore (snapshot_int.h). The order of the writes follows QEMU's
 * kvm_arch_put_registers: registers, XSAVE, XCRs, special registers, MSRs,
 * MP state, LAPIC, then pending events. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm-core/snapshot_int.h"

struct part {
	int type;
	unsigned long get, set;
	size_t off, bytes;
	const char *name;
};

#define P(t, g, s, f, n) { t, g, s, offsetof(struct vmm_snap_vcpu, f), \
			   sizeof(((struct vmm_snap_vcpu *)0)->f), n }
static const struct part parts[] = {
	P(VMM_SNAP_REGS, KVM_GET_REGS, KVM_SET_REGS, regs, "REGS"),
	P(VMM_SNAP_FPU, KVM_GET_FPU, KVM_SET_FPU, fpu, "FPU"),
	P(VMM_SNAP_XSAVE, KVM_GET_XSAVE, KVM_SET_XSAVE, xsave, "XSAVE"),
	P(VMM_SNAP_XCRS, KVM_GET_XCRS, KVM_SET_XCRS, xcrs, "XCRS"),
	P(VMM_SNAP_SREGS, KVM_GET_SREGS, KVM_SET_SREGS, sregs, "SREGS"),
	P(VMM_SNAP_MSRS, 0, 0, msrs, "MSRS"),
	P(VMM_SNAP_MP_STATE, KVM_GET_MP_STATE, KVM_SET_MP_STATE, mp, "MP_STATE"),
	P(VMM_SNAP_LAPIC, KVM_GET_LAPIC, KVM_SET_LAPIC, lapic, "LAPIC"),
	P(VMM_SNAP_EVENTS, KVM_GET_VCPU_EVENTS, KVM_SET_VCPU_EVENTS, events, "VCPU_EVENTS"),
};

uint64_t vmm_snap_vcpu_part(struct vmm_snap_vcpu *s, int type, const void **p)
{
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		if (parts[i].type == type) {
			*p = (const uint8_t *)s + parts[i].off;
			return parts[i].bytes;
		}
	*p = NULL;
	return 0;
}

int vmm_snap_msr_list(struct vmm *vm, struct vmm_snap_msrs *out, char *why, size_t len)
{
	struct { struct kvm_msr_list l; uint32_t idx[VMM_SNAP_MAX_MSRS]; } list;
	struct { struct kvm_msrs h; struct kvm_msr_entry e; } one;

	memset(&list, 0, sizeof(list));
	memset(out, 0, sizeof(*out));
	list.l.nmsrs = VMM_SNAP_MAX_MSRS;
	if (ioctl(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, &list)) {
		snprintf(why, len, "KVM_GET_MSR_INDEX_LIST: %s", strerror(errno));
		return -errno;
	}
	for (uint32_t i = 0; i < list.l.nmsrs; i++) {
		memset(&one, 0, sizeof(one));
		one.h.nmsrs = 1;
		one.e.index = list.idx[i];
		if (ioctl(vm->vcpu[0].fd, KVM_GET_MSRS, &one) == 1)
			out->e[out->head.nmsrs++].index = list.idx[i];
	}
	return 0;
}

int vmm_snap_vcpu_get(struct vmm_vcpu *v, struct vmm_snap_vcpu *s,
		      const struct vmm_snap_msrs *list, char *why, size_t len)
{
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		const struct part *p = &parts[i];

		if (p->type == VMM_SNAP_MSRS) {
			s->msrs = *list;
			int n = ioctl(v->fd, KVM_GET_MSRS, &s->msrs);

			if (n != (int)list->head.nmsrs) {
				snprintf(why, len, "vcpu%d: KVM_GET_MSRS read %d of %u MSRs", v->idx, n,
					 list->head.nmsrs);
				return -EIO;
			}
		} else if (ioctl(v->fd, p->get, (uint8_t *)s + p->off)) {
			snprintf(why, len, "vcpu%d: KVM_GET_%s: %s", v->idx, p->name, strerror(errno));
			return -errno;
		}
	}
	return 0;
}

int vmm_snap_vcpu_set(struct vmm_vcpu *v, const struct vmm_snap_vcpu *s, char *why, size_t len)
{
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		const struct part *p = &parts[i];

		if (p->type == VMM_SNAP_MSRS) {
			int n = ioctl(v->fd, KVM_SET_MSRS, &s->msrs);

			if (n != (int)s->msrs.head.nmsrs) {
				snprintf(why, len, "vcpu%d: KVM_SET_MSRS wrote %d of %u MSRs (the first "
					 "refused: 0x%x)", v->idx, n, s->msrs.head.nmsrs,
					 n >= 0 && n < (int)s->msrs.head.nmsrs ? s->msrs.e[n].index : 0);
				return -EIO;
			}
			for (uint32_t k = 0; k < s->msrs.head.nmsrs; k++)
				if (s->msrs.e[k].index == UTIL_STEAL_MSR)
					vmm_steal_note(v, s->msrs.e[k].data);
		} else if (ioctl(v->fd, p->set, (const uint8_t *)s + p->off)) {
			snprintf(why, len, "vcpu%d: KVM_SET_%s: %s", v->idx, p->name, strerror(errno));
			return -errno;
		}
	}
	return 0;
}

int vmm_snap_cpuid_get(struct vmm_vcpu *v, struct vmm_snap_cpuid *out, char *why, size_t len)
{
	memset(out, 0, sizeof(*out));
	out->head.nent = VMM_SNAP_MAX_CPUID;
	if (ioctl(v->fd, KVM_GET_CPUID2, out)) {
		snprintf(why, len, "vcpu%d: KVM_GET_CPUID2: %s", v->idx, strerror(errno));
		return -errno;
	}
	return 0;
}

int vmm_snap_cpuid_same(const struct kvm_cpuid_entry2 *was, uint32_t nwas,
			const struct vmm_snap_cpuid *now, char *why, size_t len)
{
	for (uint32_t i = 0; i < nwas || i < now->head.nent; i++) {
		const struct kvm_cpuid_entry2 *a = i < nwas ? &was[i] : NULL;
		const struct kvm_cpuid_entry2 *b = i < now->head.nent ? &now->e[i] : NULL;

		if (a && b && a->function == b->function && a->index == b->index &&
		    a->flags == b->flags && a->eax == b->eax && a->ebx == b->ebx &&
		    a->ecx == b->ecx && a->edx == b->edx)
			continue;
		snprintf(why, len, "the snapshot's guest saw another CPU (CPUID leaf 0x%x.%u "
			 "differs): give the same --cpu as the original run",
			 a ? a->function : b->function, a ? a->index : b->index);
		return -EPROTO;
	}
	return 0;
}

int vmm_snap_vm_get(struct vmm *vm, struct vmm_snap_vm *s, char *why, size_t len)
{
	memset(s, 0, sizeof(*s));
	for (uint32_t i = 0; i < 3; i++) {
		s->chip[i].chip_id = i;
		if (ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &s->chip[i])) {
			snprintf(why, len, "KVM_GET_IRQCHIP %u: %s", i, strerror(errno));
			return -errno;
		}
	}
	if (ioctl(vm->vm_fd, KVM_GET_PIT2, &s->pit)) {
		snprintf(why, len, "KVM_GET_PIT2: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

int vmm_snap_vm_set(struct vmm *vm, const struct vmm_snap_vm *s, char *why, size_t len)
{
	for (int i = 0; i < 3; i++)
		if (ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &s->chip[i])) {
			snprintf(why, len, "KVM_SET_IRQCHIP %d: %s", i, strerror(errno));
			return -errno;
		}
	if (ioctl(vm->vm_fd, KVM_SET_PIT2, &s->pit)) {
		snprintf(why, len, "KVM_SET_PIT2: %s", strerror(errno));
		return -errno;
	}
	return 0;
}
