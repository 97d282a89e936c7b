/* adapt: vmm_pause / vmm_resume in the driver's callback shape. */
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
