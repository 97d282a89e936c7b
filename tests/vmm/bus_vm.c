/* Test helper of tests/vmm: see bus_vm.h. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "tests/vmm/bus_vm.h"

struct vmm *bus_vm_new(uint64_t mem_bytes)
{
	struct vmm_config cfg = { .vcpus = 1, .mem_bytes = mem_bytes };
	struct vmm *vm = calloc(1, sizeof(*vm));
	struct vmm_vcpu *v;

	cr_assert(vm);
	vm->vm_fd = -1;
	/* guest RAM: the whole bus starts, and fw_cfg and the ACPI tables need it */
	vm->mem.nr = 1;
	vm->mem.r[0].bytes = mem_bytes;
	vm->mem.r[0].hva = mmap(NULL, mem_bytes, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	cr_assert(vm->mem.r[0].hva != MAP_FAILED);
	pthread_mutex_init(&vm->end_lock, NULL);
	cr_assert_eq(vmm_devices_init(vm, "/dev/null"), 0);
	cr_assert_eq(vmm_bus_init(vm, &cfg), 0);
	v = &vm->vcpu[0];
	v->vm = vm;
	v->fd = -1;
	v->run = calloc(1, 4096);
	cr_assert(v->run);
	v->run_bytes = 4096;
	return vm;
}

void bus_vm_free(struct vmm *vm)
{
	vmm_bus_exit(vm);
	vmm_devices_exit(vm);
	free(vm->vcpu[0].run);
	munmap(vm->mem.r[0].hva, vm->mem.r[0].bytes);
	free(vm);
}
