/* vmm-core internal: CPUID shaping (`avmm run --cpu MODEL[,+flag,-flag,vendor=V]`).
 *
 * A pure function over KVM CPUID tables, so tests run it on canned tables:
 * it masks the table avmm would give every vCPU down to a named model, turns
 * named flags on or off, keeps the leaves consistent with each other (a flag
 * that needs another goes with it; a cleared feature's leaves are cleared:
 * see cpuid_shape.c), and can override the vendor string.
 * Errors: -EINVAL with a readable reason in why (an unknown model or flag,
 * listing the known ones; a +flag this host cannot give; a +flag whose
 * prerequisite is off). On success why holds a note (possibly empty): the
 * model's flags this host lacks, left out. */
#ifndef AVMM_VMM_CPUID_SHAPE_H
#define AVMM_VMM_CPUID_SHAPE_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

/* table: in, what avmm gives without --cpu (KVM_GET_SUPPORTED_CPUID); out,
 * shaped. can: what the host can give (the same table plus what KVM
 * advertises elsewhere: TSC deadline, the hypervisor bit). */
int vmm_cpuid_shape(struct kvm_cpuid2 *table, const struct kvm_cpuid2 *can, const char *spec,
		    char *why, size_t why_len);

/* The known models and flags, comma-separated (for messages and --help). */
void vmm_cpuid_names(char *models, size_t models_len, char *flags, size_t flags_len);

#endif
