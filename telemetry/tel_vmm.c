/* tel_open on a vmm-core VM (kept apart so tests can link without vmm-core). */
#include "telemetry/tel_int.h"
#include "vmm-core/vmm.h"

static int vm_fd(void *arg)
{
	return vmm_vm_fd(arg);
}

static int vcpu_fd(void *arg, int i)
{
	return vmm_vcpu_fd(arg, i);
}

static int vm_stats_fd(void *arg)
{
	return vmm_vm_stats_fd(arg);
}

static int vcpu_stats_fd(void *arg, int i)
{
	return vmm_vcpu_stats_fd(arg, i);
}

static pid_t vcpu_tid(void *arg, int i)
{
	return vmm_vcpu_tid(arg, i);
}

static const struct util_steal_area *vcpu_steal(void *arg, int i)
{
	return vmm_vcpu_steal(arg, i);
}

static int vcpu_pcpu(void *arg, int i)
{
	return vmm_vcpu_pcpu(arg, i);
}

static void console(void *arg, uint64_t *written, uint64_t *dropped, uint64_t *lost)
{
	struct vmm_console_counters c;

	vmm_console_counters(arg, &c);
	*written = c.written_bytes;
	*dropped = c.dropped_size_bytes + c.dropped_rate_bytes;
	*lost = c.lost_bytes;
}

int tel_open(const struct tel_config *c, struct vmm *vm, struct tel **out)
{
	struct tel_target tg = {
		.nr_vcpus = vmm_nr_vcpus(vm), .vm_fd = vm_fd, .vcpu_fd = vcpu_fd,
		.vm_stats_fd = vm_stats_fd, .vcpu_stats_fd = vcpu_stats_fd,
		.vcpu_tid = vcpu_tid, .vcpu_pcpu = vcpu_pcpu, .vcpu_steal = vcpu_steal, .console = console, .arg = vm,
	};

	return tel_open_target(c, &tg, out);
}
