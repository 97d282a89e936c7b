/* VM lifecycle: /dev/kvm, the VM, irqchip, memory, vCPUs, guest loading. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "vmm-core/vmm_internal.h"

#define TSS_GPA 0xfffbd000ull
#define IDENTITY_MAP_GPA 0xfffbc000ull

static int open_kvm(struct vmm *vm)
{
	int version;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		int err = -errno;

		if (err == -ENOENT)
			util_err("/dev/kvm does not exist: load the kvm module (modprobe kvm_intel "
				 "or kvm_amd) and enable virtualization in the firmware");
		else if (err == -EACCES)
			util_err("/dev/kvm: permission denied: run as root or add your user to "
				 "the kvm group");
		else
			util_err("/dev/kvm: %s", strerror(-err));
		return err;
	}
	version = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		util_err("/dev/kvm: API version %d, avmm needs %d", version, KVM_API_VERSION);
		return -ENOTSUP;
	}
	return 0;
}

static int check_vcpus(struct vmm *vm, int vcpus)
{
	int max = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);

	if (max <= 0)
		max = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (max <= 0)
		max = 4;
	if (max > VMM_MAX_VCPUS)
		max = VMM_MAX_VCPUS;
	if (vcpus < 1 || vcpus > max) {
		util_err("--vcpus %d is out of range: this host allows 1..%d", vcpus, max);
		return -EINVAL;
	}
	return 0;
}

static int create_vm(struct vmm *vm)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };

	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		util_err("KVM_CREATE_VM: %s", strerror(errno));
		return -errno;
	}
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, TSS_GPA) < 0 ||
	    ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &(uint64_t){ IDENTITY_MAP_GPA }) < 0) {
		util_err("setting the TSS / identity map address: %s", strerror(errno));
		return -errno;
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		util_err("KVM_CREATE_IRQCHIP (in-kernel PIC, IOAPIC, LAPIC): %s", strerror(errno));
		return -errno;
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		util_err("KVM_CREATE_PIT2: %s", strerror(errno));
		return -errno;
	}
	vm->vm_stats_fd = ioctl(vm->vm_fd, KVM_GET_STATS_FD, 0);
	return 0;
}

static int read_image(const char *path, const char *what, uint8_t **data, size_t *size)
{
	struct stat st;
	ssize_t n;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		util_err("%s %s: %s", what, path, strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
		rc = -EINVAL;
		util_err("%s %s: not a regular, non-empty file", what, path);
		goto out;
	}
	*data = malloc(st.st_size);
	if (!*data) {
		rc = -ENOMEM;
		goto out;
	}
	n = read(fd, *data, st.st_size);
	if (n != st.st_size) {
		rc = n < 0 ? -errno : -EIO;
		util_err("%s %s: short read", what, path);
		free(*data);
		*data = NULL;
		goto out;
	}
	*size = st.st_size;
out:
	close(fd);
	return rc;
}

static int load_guest(struct vmm *vm, const struct vmm_config *cfg)
{
	struct vmm_load_args args = { .cmdline = cfg->cmdline, .vcpus = cfg->vcpus,
				      .initrd_path = cfg->initrd_path };
	struct vmm_image img = { .path = cfg->guest_path };
	uint8_t *data = NULL, *initrd = NULL;
	int rc;

	rc = read_image(cfg->guest_path, "guest", &data, &img.size);
	if (rc)
		return rc;
	img.data = data;
	if (cfg->initrd_path) {
		rc = read_image(cfg->initrd_path, "--initrd", &initrd, &args.initrd_size);
		if (rc)
			goto out;
		args.initrd = initrd;
	}
	rc = vmm_mptable_write(&vm->mem, cfg->vcpus);
	if (!rc)
		rc = vmm_load_guest(&img, &vm->mem, &args, &vm->boot);
out:
	free(data);
	free(initrd);
	return rc;
}

int vmm_create(const struct vmm_config *cfg, struct vmm **out)
{
	struct vmm *vm = calloc(1, sizeof(*vm));
	int i, rc;

	if (!vm)
		return -ENOMEM;
	vm->kvm_fd = vm->vm_fd = vm->vm_stats_fd = vm->steal.fd = -1;
	for (i = 0; i < VMM_MAX_VCPUS; i++)
		vm->vcpu[i].fd = vm->vcpu[i].stats_fd = -1;
	pthread_mutex_init(&vm->end_lock, NULL);
	pthread_mutex_init(&vm->dirty.lock, NULL);
	pthread_mutex_init(&vm->life.lock, NULL);
	vm->serial.con.fd = -1;
	vm->console_max_bytes = cfg->console_max_bytes;
	vm->console_rate_bps = cfg->console_rate_bps;
	vm->halt_watchdog_ms = cfg->halt_watchdog_ms;
	rc = vmm_mem_check(cfg->mem_bytes);
	if (!rc)
		rc = open_kvm(vm);
	if (!rc)
		rc = check_vcpus(vm, cfg->vcpus);
	if (!rc)
		rc = vmm_devices_init(vm, cfg->console_path);
	if (!rc)
		rc = create_vm(vm);
	if (!rc)
		rc = vmm_dirty_init(vm, cfg); /* before memory slots and vCPUs */
	if (!rc)
		rc = vmm_mem_alloc(vm, cfg->mem_bytes, cfg->backing);
	if (!rc)
		rc = vmm_steal_init(vm);
	if (!rc)
		rc = load_guest(vm, cfg);
	if (!rc)
		rc = vmm_bus_init(vm, cfg);
	if (!rc)
		rc = vmm_cpuid_init(vm, cfg->vcpus, cfg->cpu_model);
	for (i = 0; !rc && i < cfg->vcpus; i++) {
		rc = vmm_vcpu_create(vm, i);
		vm->nr_vcpus = i + 1;
	}
	if (!rc)
		rc = vmm_boot_regs(vm, &vm->vcpu[0]);
	if (rc) {
		vmm_destroy(vm);
		return rc;
	}
	*out = vm;
	return 0;
}

int vmm_wait(struct vmm *vm, struct vmm_result *res)
{
	int i;

	for (i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpu[i].started)
			pthread_join(vm->vcpu[i].thread, NULL);
	vmm_watchdog_stop(vm);
	pthread_mutex_lock(&vm->end_lock);
	if (vm->result.end == VMM_END_RUNNING) {
		vm->result.end = VMM_END_STOPPED;
		vm->result.exit_status = 0;
		snprintf(vm->result.why, sizeof(vm->result.why), "stopped by the operator");
	}
	*res = vm->result;
	pthread_mutex_unlock(&vm->end_lock);
	pthread_mutex_lock(&vm->serial.lock);
	vmm_console_flush(&vm->serial.con);
	pthread_mutex_unlock(&vm->serial.lock);
	return 0;
}

void vmm_destroy(struct vmm *vm)
{
	int i;

	if (!vm)
		return;
	vmm_watchdog_stop(vm);
	vmm_dirty_exit(vm);
	for (i = 0; i < VMM_MAX_VCPUS; i++)
		vmm_vcpu_destroy(&vm->vcpu[i]);
	vmm_bus_exit(vm);
	vmm_steal_exit(vm);
	vmm_mem_free(vm);
	vmm_devices_exit(vm);
	if (vm->vm_stats_fd >= 0)
		close(vm->vm_stats_fd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	free(vm->cpuid);
	free(vm);
}

int vmm_nr_vcpus(const struct vmm *vm) { return vm->nr_vcpus; }
int vmm_vm_fd(const struct vmm *vm) { return vm->vm_fd; }
bool vmm_ended(const struct vmm *vm) { return vm->stop; }

pid_t vmm_vcpu_tid(const struct vmm *vm, int vcpu)
{
	return vcpu >= 0 && vcpu < vm->nr_vcpus ? vm->vcpu[vcpu].tid : 0;
}

int vmm_vm_stats_fd(const struct vmm *vm)
{
	return vm->vm_stats_fd;
}

int vmm_vcpu_stats_fd(const struct vmm *vm, int vcpu)
{
	return vcpu >= 0 && vcpu < vm->nr_vcpus ? vm->vcpu[vcpu].stats_fd : -1;
}

int vmm_vcpu_fd(const struct vmm *vm, int vcpu)
{
	return vcpu >= 0 && vcpu < vm->nr_vcpus ? vm->vcpu[vcpu].fd : -1;
}

void vmm_vcpu_counters(const struct vmm *vm, int vcpu, struct vmm_vcpu_counters *out)
{
	memset(out, 0, sizeof(*out));
	if (vcpu >= 0 && vcpu < vm->nr_vcpus)
		*out = vm->vcpu[vcpu].ctr;
}
