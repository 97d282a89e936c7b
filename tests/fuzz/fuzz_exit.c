/* libFuzzer harness: the vCPU exit dispatch (vmm_exit_dispatch) with the
 * port-I/O devices (8250 UART, debug-exit, resets) and the MMIO fallback, fed
 * made-up kvm_run pages. No /dev/kvm: one vCPU of a zeroed struct vmm with fd
 * -1 (so register reads fail and report rip 0), its kvm_run in a plain buffer
 * of three pages as KVM maps it (the PIO data page at offset 4096).
 *
 * Input: a sequence of exits, each FUZZ_EXIT_REC bytes:
 *   [0]      exit reason (mod FUZZ_EXIT_REASONS: every handled reason and a few not)
 *   [1..40]  the bytes of the kvm_run exit union (io, mmio, internal, ...)
 *   [41..56] written at the PIO data page (offset 4096) before the exit
 * Exits are dispatched in order, as the vCPU run loop does, until one ends
 * the VM. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm-core/vmm_internal.h"

#define FUZZ_EXIT_UNION 40
#define FUZZ_EXIT_DATA 16
#define FUZZ_EXIT_REC (1 + FUZZ_EXIT_UNION + FUZZ_EXIT_DATA)
#define FUZZ_EXIT_REASONS 40
#define FUZZ_RUN_BYTES (3 * 4096)
#define FUZZ_PIO_PAGE 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vmm *vm;
	static struct kvm_run *run;
	struct vmm_vcpu *v;
	int ended = 0;
	size_t off;

	if (!vm) {
		vm = calloc(1, sizeof(*vm));
		run = aligned_alloc(4096, FUZZ_RUN_BYTES);
		if (!vm || !run)
			abort();
	}
	memset(vm, 0, sizeof(*vm));
	memset(run, 0, FUZZ_RUN_BYTES);
	vm->kvm_fd = vm->vm_fd = vm->vm_stats_fd = -1;
	vm->nr_vcpus = 1;
	pthread_mutex_init(&vm->end_lock, NULL);
	/* The guest's console is stdout (run.sh's -close_fd_mask=3 discards it):
	 * opened once by libFuzzer, not once per input. */
	if (vmm_devices_init(vm, NULL))
		abort();
	v = &vm->vcpu[0];
	v->vm = vm;
	v->fd = v->stats_fd = -1;
	v->run = run;
	v->run_bytes = FUZZ_RUN_BYTES;
	pthread_mutex_init(&v->lock, NULL);
	pthread_cond_init(&v->cond, NULL);

	for (off = 0; off + FUZZ_EXIT_REC <= size; off += FUZZ_EXIT_REC) {
		const uint8_t *rec = data + off;

		run->exit_reason = rec[0] % FUZZ_EXIT_REASONS;
		_Static_assert(sizeof(run->io) <= FUZZ_EXIT_UNION, "io fits the record");
		memcpy(&run->io, rec + 1, FUZZ_EXIT_UNION);
		memcpy((uint8_t *)run + FUZZ_PIO_PAGE, rec + 1 + FUZZ_EXIT_UNION, FUZZ_EXIT_DATA);
		v->ctr.exits++;
		ended = vmm_exit_dispatch(v);
		if (ended)
			break;
	}
	/* The VM ended exactly when a handler said so, with a reason. */
	if (ended != (vm->result.end != VMM_END_RUNNING) ||
	    (ended && (!vm->result.why[0] || !vm->stop)))
		abort();
	vmm_devices_exit(vm);
	pthread_cond_destroy(&v->cond);
	pthread_mutex_destroy(&v->lock);
	pthread_mutex_destroy(&vm->end_lock);
	pthread_mutex_destroy(&vm->serial.lock);
	return 0;
}
