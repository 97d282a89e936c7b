/* vmm-core internal: the KVM state a snapshot holds (snapshot_state.c) and
 * the save/restore entry points (snapshot_save.c, snapshot_restore.c). */
#ifndef AVMM_VMM_SNAPSHOT_INT_H
#define AVMM_VMM_SNAPSHOT_INT_H

#include "vmm-core/snapshot.h"
#include "vmm-core/vmm_internal.h"

#define VMM_SNAP_MAX_MSRS 512
#define VMM_SNAP_DEV_NAME 32      /* a DEVICE section: the name, NUL-padded, then its state */
#define VMM_SNAP_DEV_MAX 4096     /* bytes of one device's state */

/* The MSRs saved: KVM_GET_MSR_INDEX_LIST, less those this vCPU cannot read. */
struct vmm_snap_msrs {
	struct kvm_msrs head;
	struct kvm_msr_entry e[VMM_SNAP_MAX_MSRS];
};

struct vmm_snap_vcpu {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	struct kvm_xsave xsave;
	struct kvm_xcrs xcrs;
	struct vmm_snap_msrs msrs;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events events;
	struct kvm_mp_state mp;
};

struct vmm_snap_vm {
	struct kvm_irqchip chip[3];   /* PIC master, PIC slave, IOAPIC */
	struct kvm_pit_state2 pit;
};

/* A vCPU's CPUID as KVM holds it (KVM_GET_CPUID2): what the guest saw. */
#define VMM_SNAP_MAX_CPUID 256
struct vmm_snap_cpuid {
	struct kvm_cpuid2 head;
	struct kvm_cpuid_entry2 e[VMM_SNAP_MAX_CPUID];
};

/* snapshot_state.c: 0 or -errno with why naming the ioctl and vCPU. */
int vmm_snap_cpuid_get(struct vmm_vcpu *v, struct vmm_snap_cpuid *out, char *why, size_t len);
/* Pure: 0 when the restoring vCPU's CPUID (now) equals the snapshot's (was),
 * else -EPROTO with the first leaf that differs. */
int vmm_snap_cpuid_same(const struct kvm_cpuid_entry2 *was, uint32_t nwas,
			const struct vmm_snap_cpuid *now, char *why, size_t len);
int vmm_snap_msr_list(struct vmm *vm, struct vmm_snap_msrs *out, char *why, size_t len);
int vmm_snap_vcpu_get(struct vmm_vcpu *v, struct vmm_snap_vcpu *s,
		      const struct vmm_snap_msrs *list, char *why, size_t len);
int vmm_snap_vcpu_set(struct vmm_vcpu *v, const struct vmm_snap_vcpu *s, char *why, size_t len);
/* The part of s a section type holds (VMM_SNAP_REGS..MP_STATE): its size. */
uint64_t vmm_snap_vcpu_part(struct vmm_snap_vcpu *s, int type, const void **p);
int vmm_snap_vm_get(struct vmm *vm, struct vmm_snap_vm *s, char *why, size_t len);
int vmm_snap_vm_set(struct vmm *vm, const struct vmm_snap_vm *s, char *why, size_t len);

/* Migration (migrate.c): on w (header and RAM already sent), the state of a
 * VM paused with its clock saved, then END. */
int vmm_snapshot_save_rest(struct vmm *vm, struct vmm_snap_writer *w, char *why, size_t why_len);
/* Migration (migrate_recv.c): vmm_snapshot_restore without zeroing guest
 * RAM first (the stream's RAM went straight into it as it came). */
int vmm_snapshot_restore_state(struct vmm *vm, int fd, char *why, size_t why_len);

/* Live migration (migrate.c): the peer's one-byte answer to stage (want:
 * 'Y', 'K', 'G', 'R'), or its reason after 'N'; 0 or -errno with why naming
 * peer ("the target", "the source"). Waits up to wait_ms (0: 120 s). */
int vmm_migrate_answer(int fd, const char *peer, char want, const char *stage, uint64_t wait_ms,
		       char *why, size_t len);

#endif
