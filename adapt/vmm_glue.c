/* adapt: vmm_pause / vmm_resume / vmm_vm_paused in the driver's callback shape. */
#include "adapt/adapt.h"
#include "vmm-core/vmm.h"

int adapt_vmm_pause(void *vm, int vcpu)
{
	return vmm_pause(vm, vcpu);
}

int adapt_vmm_resume(void *vm, int vcpu)
{
	return vmm_resume(vm, vcpu);
}

bool adapt_vmm_paused(void *vm, uint64_t *transitions)
{
	return vmm_vm_paused(vm, transitions);
}
