/*
 * Saving a paused VM's state into a snapshot (snapshot.h): the VM (irqchip,
 * PIT, clock), every vCPU (registers, special registers, FPU, XSAVE, XCRs,
 * MSRs, LAPIC, pending events, MP state), the serial port, the bus devices
 * (rtc, acpi-pm, pci, fw_cfg, hpet: struct vmm_dev save), and guest RAM
 * (pages that are not all zero). Every ioctl and write runs on vCPU 0's
 * parked thread (vmm_vcpu_run_parked): its seccomp filter has the KVM ioctls
 * and write(2), which the control thread does not.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "common/util.h"
#include "vmm-core/snapshot_int.h"

#define PAGE 4096u

static bool zero_page(const uint8_t *p)
{
	static const uint8_t z[PAGE];

	return !memcmp(p, z, PAGE);
}

/* Runs of pages that are not all zero, one section per run. */
static int save_ram(struct vmm *vm, struct vmm_snap_writer *w, char *why, size_t len)
{
	void *hva;
	uint64_t gpa, bytes;

	for (int i = 0; !vmm_ram_region(vm, i, &hva, &gpa, &bytes); i++) {
		const uint8_t *p = hva;

		for (uint64_t off = 0; off < bytes;) {
			uint64_t end, head;
			int rc;

			if (zero_page(p + off)) {
				off += PAGE;
				continue;
			}
			for (end = off + PAGE; end < bytes && end - off < (64u << 20) &&
			     !zero_page(p + end); end += PAGE)
				;
			head = gpa + off;
			rc = vmm_snap_write_parts(w, VMM_SNAP_RAM, (uint32_t)i, &head, sizeof(head),
						  p + off, end - off);
			if (rc) {
				snprintf(why, len, "writing guest RAM at 0x%llx: %s",
					 (unsigned long long)head, strerror(-rc));
				return rc;
			}
			off = end;
		}
	}
	return 0;
}

/* Every bus device with state: its name, then what its save gives. */
static int save_devices(struct vmm *vm, struct vmm_snap_writer *w, char *why, size_t len)
{
	uint8_t buf[VMM_SNAP_DEV_MAX];
	char name[VMM_SNAP_DEV_NAME];

	for (int i = 0; i < vm->bus.nr; i++) {
		const struct vmm_dev *d = vm->bus.dev[i];
		int n, rc;

		if (!d->save)
			continue;
		n = d->save(vm->bus.state[i], buf, sizeof(buf));
		if (n < 0) {
			snprintf(why, len, "device %s: its state does not fit (%s)", d->name,
				 strerror(-n));
			return n;
		}
		memset(name, 0, sizeof(name));
		snprintf(name, sizeof(name), "%s", d->name);
		rc = vmm_snap_write_parts(w, VMM_SNAP_DEVICE, (uint32_t)i, name, sizeof(name), buf,
					  (uint64_t)n);
		if (rc)
			return rc;
	}
	return 0;
}

static int vcpu_sections(struct vmm_vcpu *v, struct vmm_snap_writer *w, struct vmm_snap_msrs *msrs,
			 char *why, size_t len)
{
	struct vmm_snap_vcpu *s = calloc(1, sizeof(*s));
	struct vmm_snap_cpuid *c = calloc(1, sizeof(*c));
	int rc;

	if (!s || !c) {
		free(s);
		free(c);
		return -ENOMEM;
	}
	rc = vmm_snap_cpuid_get(v, c, why, len);
	if (!rc)
		rc = vmm_snap_write_section(w, VMM_SNAP_CPUID, (uint32_t)v->idx, c->e,
					    c->head.nent * sizeof(c->e[0]));
	free(c);
	if (!rc)
		rc = vmm_snap_vcpu_get(v, s, msrs, why, len);
	for (int t = VMM_SNAP_REGS; !rc && t <= VMM_SNAP_MP_STATE; t++) {
		const void *p;
		uint64_t n = vmm_snap_vcpu_part(s, t, &p);

		rc = vmm_snap_write_section(w, (uint32_t)t, (uint32_t)v->idx, p, n);
		if (rc)
			snprintf(why, len, "writing vcpu%d: %s", v->idx, strerror(-rc));
	}
	free(s);
	return rc;
}

struct save_job {
	struct vmm_snap_writer *cont;   /* migration: state and END on this stream */
	int fd, rc;
	char *why;
	size_t why_len;
	uint64_t bytes;
};

static void save_on_vcpu(struct vmm_vcpu *v0, void *arg)
{
	struct save_job *j = arg;
	struct vmm *vm = v0->vm;
	struct vmm_snap_header h = { .nr_vcpus = (uint32_t)vm->nr_vcpus,
				     .created_unix_s = (uint64_t)time(NULL) };
	struct vmm_snap_writer w;
	struct vmm_snap_vm st;
	struct vmm_snap_msrs *msrs = calloc(1, sizeof(*msrs));
	uint8_t serial[6];
	int rc;

	if (!msrs) {
		j->rc = -ENOMEM;
		return;
	}
	for (int i = 0; i < vm->mem.nr; i++)
		h.mem_bytes += vm->mem.r[i].bytes;
	vmm_snap_host_cpu(&h.cpu);
	rc = vmm_snap_vm_get(vm, &st, j->why, j->why_len);
	if (!rc)
		rc = vmm_snap_msr_list(vm, msrs, j->why, j->why_len);
	if (j->cont)
		w = *j->cont;
	else if (!rc)
		rc = vmm_snap_write_header(&w, j->fd, &h);
	for (int i = 0; !rc && i < 3; i++)
		rc = vmm_snap_write_section(&w, VMM_SNAP_IRQCHIP, (uint32_t)i, &st.chip[i],
					    sizeof(st.chip[i]));
	if (!rc)
		rc = vmm_snap_write_section(&w, VMM_SNAP_PIT, 0, &st.pit, sizeof(st.pit));
	if (!rc)
		rc = vmm_snap_write_section(&w, VMM_SNAP_CLOCK, 0, &vm->life.clock,
					    sizeof(vm->life.clock));
	pthread_mutex_lock(&vm->serial.lock);
	memcpy(serial, (uint8_t[]){ vm->serial.ier, vm->serial.lcr, vm->serial.mcr,
				    vm->serial.scr, vm->serial.dll, vm->serial.dlm }, 6);
	pthread_mutex_unlock(&vm->serial.lock);
	if (!rc)
		rc = vmm_snap_write_section(&w, VMM_SNAP_SERIAL, 0, serial, sizeof(serial));
	if (!rc)
		rc = save_devices(vm, &w, j->why, j->why_len);
	for (int i = 0; !rc && i < vm->nr_vcpus; i++)
		rc = vcpu_sections(&vm->vcpu[i], &w, msrs, j->why, j->why_len);
	if (!rc && !j->cont)
		rc = save_ram(vm, &w, j->why, j->why_len);
	if (!rc)
		rc = vmm_snap_write_end(&w);
	if (rc && !j->why[0])
		snprintf(j->why, j->why_len, "writing the snapshot: %s", strerror(-rc));
	j->bytes = w.bytes;
	if (j->cont)
		*j->cont = w;
	j->rc = rc;
	free(msrs);
}

/* The job on vcpu0's parked thread, once the VM is paused with its clock. */
static int save_parked(struct vmm *vm, struct save_job *j)
{
	int rc;

	j->why[0] = '\0';
	if (!vm->life.paused || !vm->life.clock_saved) {
		snprintf(j->why, j->why_len, "the VM must be paused (with its clock saved) first");
		return -EBUSY;
	}
	rc = vmm_vcpu_run_parked(&vm->vcpu[0], save_on_vcpu, j);
	if (rc) {
		snprintf(j->why, j->why_len, "vcpu0 is not parked (the VM has ended?)");
		return rc;
	}
	return j->rc;
}

int vmm_snapshot_save(struct vmm *vm, int fd, uint64_t *bytes, char *why, size_t why_len)
{
	struct save_job j = { NULL, fd, 0, why, why_len, 0 };
	int rc = save_parked(vm, &j);

	if (bytes && !rc)
		*bytes = j.bytes;
	return rc;
}

int vmm_snapshot_save_rest(struct vmm *vm, struct vmm_snap_writer *w, char *why, size_t why_len)
{
	struct save_job j = { w, w->fd, 0, why, why_len, 0 };

	return save_parked(vm, &j);
}
