/* Test helper of tests/vmm: a VM struct with guest RAM, the console and the
 * machine's whole device bus, and vCPU 0 with a kvm_run page, for driving
 * devices through made-up exits (no KVM VM behind it: vm_fd is -1). */
#ifndef AVMM_TEST_BUS_VM_H
#define AVMM_TEST_BUS_VM_H

#include <stdint.h>

#include "vmm-core/vmm_internal.h"

struct vmm *bus_vm_new(uint64_t mem_bytes);   /* asserts on failure */
void bus_vm_free(struct vmm *vm);

#endif
