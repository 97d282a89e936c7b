/* Exit dispatch: one handler per KVM exit reason, decoded into readable text. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "common/util.h"
#include "vmm-core/vmm_internal.h"

typedef int (*exit_fn)(struct vmm_vcpu *v);

void vmm_end(struct vmm *vm, enum vmm_end end, int status, const char *fmt, ...)
{
	va_list ap;
	bool first;

	pthread_mutex_lock(&vm->end_lock);
	first = vm->result.end == VMM_END_RUNNING;
	if (first) {
		vm->result.end = end;
		vm->result.exit_status = status;
		va_start(ap, fmt);
		vsnprintf(vm->result.why, sizeof(vm->result.why), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&vm->end_lock);
	if (!first)
		return;
	if (end == VMM_END_ERROR || end == VMM_END_SHUTDOWN)
		util_err("%s", vm->result.why);
	vmm_request_stop(vm);
}

static uint64_t guest_rip(struct vmm_vcpu *v)
{
	struct kvm_regs regs;

	return ioctl(v->fd, KVM_GET_REGS, &regs) < 0 ? 0 : regs.rip;
}

/* KVM puts count x size bytes (size 1, 2 or 4) inside the mapped kvm_run;
 * anything else is refused rather than followed out of the mapping. */
static bool io_in_run(const struct vmm_vcpu *v, uint8_t size, uint32_t count, uint64_t offset)
{
	uint64_t bytes = (uint64_t)count * size;

	return (size == 1 || size == 2 || size == 4) &&
	       offset <= v->run_bytes && bytes <= v->run_bytes - offset;
}

static int on_io(struct vmm_vcpu *v)
{
	struct kvm_run *r = v->run;
	/* read once: IN data written to the page must not change the loop */
	uint8_t size = r->io.size, *data;
	uint32_t count = r->io.count, i;
	uint64_t offset = r->io.data_offset;
	uint16_t port = r->io.port;
	bool out = r->io.direction == KVM_EXIT_IO_OUT;

	v->ctr.pio_exits++;
	if (!io_in_run(v, size, count, offset)) {
		vmm_end(v->vm, VMM_END_ERROR, 4, "vcpu%d: malformed KVM_EXIT_IO from the kernel: "
			"port 0x%x, %u x %u bytes at offset 0x%llx of a %zu-byte kvm_run", v->idx,
			port, count, size, (unsigned long long)offset, v->run_bytes);
		return 1;
	}
	data = (uint8_t *)r + offset;
	for (i = 0; i < count; i++, data += size)
		if (vmm_pio(v, port, data, size, out))
			return 1;
	return 0;
}

static int on_mmio(struct vmm_vcpu *v)
{
	struct kvm_run *r = v->run;
	bool first;
	int rc;

	v->ctr.mmio_exits++;
	rc = vmm_bus_mmio(v, r->mmio.phys_addr, r->mmio.data, (int)r->mmio.len, r->mmio.is_write);
	if (rc >= 0)
		return rc;
	first = !atomic_exchange(&v->vm->unknown_mmio_logged, true);
	v->ctr.unknown_mmio++;
	if (first)
		util_warn("vcpu%d: unhandled MMIO %s of %u bytes at gpa 0x%llx (rip 0x%llx); "
			  "reads return all ones, writes are dropped (logged once)",
			  v->idx, r->mmio.is_write ? "write" : "read", r->mmio.len,
			  (unsigned long long)r->mmio.phys_addr,
			  (unsigned long long)guest_rip(v));
	if (!r->mmio.is_write)
		memset(r->mmio.data, 0xff, sizeof(r->mmio.data));
	return 0;
}

static int on_hlt(struct vmm_vcpu *v)
{
	v->ctr.hlt_exits++;
	vmm_end(v->vm, VMM_END_HALTED, 0, "vcpu%d halted (rip 0x%llx)", v->idx,
		(unsigned long long)guest_rip(v));
	return 1;
}

static int on_shutdown(struct vmm_vcpu *v)
{
	vmm_end(v->vm, VMM_END_SHUTDOWN, 4,
		"vcpu%d: guest triple fault (shutdown) at rip 0x%llx", v->idx,
		(unsigned long long)guest_rip(v));
	return 1;
}

static const char *internal_suberror(uint32_t s)
{
	switch (s) {
	case KVM_INTERNAL_ERROR_EMULATION: return "instruction emulation failed";
	case KVM_INTERNAL_ERROR_SIMUL_EX: return "exception while delivering an exception";
	case KVM_INTERNAL_ERROR_DELIVERY_EV: return "exit while delivering an event";
	case KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON: return "unexpected exit reason";
	default: return "unknown internal error";
	}
}

static int on_internal_error(struct vmm_vcpu *v)
{
	struct kvm_run *r = v->run;
	char data[96] = "";
	size_t off = 0;
	uint32_t i;

	for (i = 0; i < r->internal.ndata && i < 4 && off < sizeof(data); i++)
		off += snprintf(data + off, sizeof(data) - off, " 0x%llx",
				(unsigned long long)r->internal.data[i]);
	vmm_end(v->vm, VMM_END_ERROR, 4, "vcpu%d: KVM internal error %u (%s) at rip 0x%llx%s%s",
		v->idx, r->internal.suberror, internal_suberror(r->internal.suberror),
		(unsigned long long)guest_rip(v), *data ? "; data" : "", data);
	return 1;
}

static int on_fail_entry(struct vmm_vcpu *v)
{
	vmm_end(v->vm, VMM_END_ERROR, 4,
		"vcpu%d: VM entry failed, hardware reason 0x%llx on host CPU %u "
		"(invalid guest state)", v->idx,
		(unsigned long long)v->run->fail_entry.hardware_entry_failure_reason,
		v->run->fail_entry.cpu);
	return 1;
}

static int on_system_event(struct vmm_vcpu *v)
{
	switch (v->run->system_event.type) {
	case KVM_SYSTEM_EVENT_RESET:
		vmm_end(v->vm, VMM_END_RESET, 0, "vcpu%d: guest requested a reset", v->idx);
		break;
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vmm_end(v->vm, VMM_END_HALTED, 0, "vcpu%d: guest powered off", v->idx);
		break;
	default:
		vmm_end(v->vm, VMM_END_ERROR, 4, "vcpu%d: guest system event %u (crash)", v->idx,
			v->run->system_event.type);
	}
	return 1;
}

static int on_intr(struct vmm_vcpu *v)
{
	return 0; /* kicked: the run loop looks at pause and stop */
}

/* Our ring is full: its entries go to the vCPU's pending set, then it runs on. */
static int on_dirty_ring_full(struct vmm_vcpu *v)
{
	return vmm_dirty_ring_full(v);
}

static const exit_fn exit_table[] = {
	[KVM_EXIT_IO] = on_io,
	[KVM_EXIT_MMIO] = on_mmio,
	[KVM_EXIT_HLT] = on_hlt,
	[KVM_EXIT_SHUTDOWN] = on_shutdown,
	[KVM_EXIT_INTERNAL_ERROR] = on_internal_error,
	[KVM_EXIT_FAIL_ENTRY] = on_fail_entry,
	[KVM_EXIT_SYSTEM_EVENT] = on_system_event,
	[KVM_EXIT_INTR] = on_intr,
	[KVM_EXIT_IRQ_WINDOW_OPEN] = on_intr,
	[KVM_EXIT_DIRTY_RING_FULL] = on_dirty_ring_full,
	[KVM_EXIT_X86_WRMSR] = vmm_steal_wrmsr,
};

int vmm_exit_dispatch(struct vmm_vcpu *v)
{
	uint32_t reason = v->run->exit_reason;

	if (reason < UTIL_ARRAY_SIZE(exit_table) && exit_table[reason])
		return exit_table[reason](v);
	vmm_end(v->vm, VMM_END_ERROR, 4, "vcpu%d: unhandled KVM exit reason %u at rip 0x%llx",
		v->idx, reason, (unsigned long long)guest_rip(v));
	return 1;
}

const char *vmm_end_name(enum vmm_end end)
{
	static const char *const names[] = {
		[VMM_END_RUNNING] = "running", [VMM_END_DEBUG_EXIT] = "debug-exit",
		[VMM_END_RESET] = "reset", [VMM_END_SHUTDOWN] = "triple-fault",
		[VMM_END_HALTED] = "halted", [VMM_END_STOPPED] = "stopped",
		[VMM_END_ERROR] = "error", [VMM_END_POWEROFF] = "poweroff",
	};
	return (unsigned)end < UTIL_ARRAY_SIZE(names) ? names[end] : "?";
}

bool vmm_result_success(enum vmm_end end, int exit_status)
{
	return end == VMM_END_POWEROFF || (end == VMM_END_DEBUG_EXIT && exit_status == 1);
}
