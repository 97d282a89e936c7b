/*
 * Restoring a snapshot into a VM created with the same shape, before its
 * vCPUs start (vmm.h). Pass 1 reads the whole file and checks it (header and
 * host CPU, the VM's shape, every section's type, index and size, RAM ranges,
 * that every part is there, the CRC) without touching the VM; pass 2 rewinds
 * and applies: guest RAM zeroed then filled, irqchip, PIT, the bus devices
 * (struct vmm_dev restore), serial, every vCPU, and the KVM clock last.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm-core/snapshot_int.h"

#define PAGE 4096u

struct seen {
	uint64_t vcpu_parts[VMM_MAX_VCPUS];   /* bit per section type */
	unsigned chips, pit, clock, serial;
	uint32_t devs;                        /* bit per bus slot */
	uint64_t cpuids;                      /* bit per vCPU */
};

/* The bus devices' states, kept from the file until they are applied. */
struct dev_states {
	uint8_t buf[VMM_BUS_MAX][VMM_SNAP_DEV_MAX];
	size_t len[VMM_BUS_MAX];
};

/* The vCPU's CPUID in the file must be the one this VM gives it (--cpu). */
static int cpuid_section(struct vmm *vm, struct vmm_snap_reader *r, const struct vmm_snap_sec *s)
{
	static struct vmm_snap_cpuid was, now;   /* the restore runs once, before any vCPU */
	uint32_t n = (uint32_t)(s->bytes / sizeof(was.e[0]));
	int rc;

	if (s->index >= (uint32_t)vm->nr_vcpus || s->bytes % sizeof(was.e[0]) ||
	    n > VMM_SNAP_MAX_CPUID) {
		snprintf(r->why, sizeof(r->why), "CPUID section %u of %llu bytes", s->index,
			 (unsigned long long)s->bytes);
		return -EPROTO;
	}
	if ((rc = vmm_snap_read_payload(r, was.e, s->bytes)))
		return rc;
	if ((rc = vmm_snap_cpuid_get(&vm->vcpu[s->index], &now, r->why, sizeof(r->why))))
		return rc;
	return vmm_snap_cpuid_same(was.e, n, &now, r->why, sizeof(r->why));
}

static int device_section(struct vmm *vm, struct vmm_snap_reader *r, const struct vmm_snap_sec *s,
			  struct dev_states *ds, struct seen *seen)
{
	char name[VMM_SNAP_DEV_NAME];
	uint64_t n = s->bytes - sizeof(name);
	int slot = -1, rc;

	if (s->bytes < sizeof(name) || n > VMM_SNAP_DEV_MAX) {
		snprintf(r->why, sizeof(r->why), "device section of %llu bytes",
			 (unsigned long long)s->bytes);
		return -EPROTO;
	}
	if ((rc = vmm_snap_read_payload(r, name, sizeof(name))))
		return rc;
	name[sizeof(name) - 1] = '\0';
	for (int i = 0; i < vm->bus.nr; i++)
		if (vm->bus.dev[i]->restore && !strcmp(vm->bus.dev[i]->name, name))
			slot = i;
	if (slot < 0) {
		snprintf(r->why, sizeof(r->why), "the snapshot has a device '%s' this VM lacks "
			 "(give the same options, e.g. --testdev)", name);
		return -EPROTO;
	}
	ds->len[slot] = n;
	seen->devs |= 1u << slot;
	return vmm_snap_read_payload(r, ds->buf[slot], n);
}

static uint64_t mem_total(const struct vmm *vm)
{
	uint64_t t = 0;

	for (int i = 0; i < vm->mem.nr; i++)
		t += vm->mem.r[i].bytes;
	return t;
}

/* Where a section's payload goes, or NULL to skip it in this pass; -errno on
 * a section that does not fit this VM. */
static int target(struct vmm *vm, struct vmm_snap_reader *r, const struct vmm_snap_sec *s,
		  struct vmm_snap_vm *st, struct vmm_snap_vcpu *vc, struct kvm_clock_data *clk,
		  uint8_t *serial, struct seen *seen, void **dst, uint64_t *want)
{
	*dst = NULL;
	*want = s->bytes;
	if (s->type >= VMM_SNAP_REGS && s->type <= VMM_SNAP_MP_STATE) {
		if (s->index >= (uint32_t)vm->nr_vcpus)
			goto bad;
		*want = vmm_snap_vcpu_part(&vc[s->index], (int)s->type, (const void **)dst);
		seen->vcpu_parts[s->index] |= 1ull << s->type;
	} else if (s->type == VMM_SNAP_IRQCHIP && s->index < 3) {
		*dst = &st->chip[s->index], *want = sizeof(st->chip[0]);
		seen->chips |= 1u << s->index;
	} else if (s->type == VMM_SNAP_PIT) {
		*dst = &st->pit, *want = sizeof(st->pit), seen->pit = 1;
	} else if (s->type == VMM_SNAP_CLOCK) {
		*dst = clk, *want = sizeof(*clk), seen->clock = 1;
	} else if (s->type == VMM_SNAP_SERIAL) {
		*dst = serial, *want = 6, seen->serial = 1;
	} else if (s->type == VMM_SNAP_RAM) {
		return 0;   /* the caller handles RAM */
	} else {
		goto bad;
	}
	if (*want == s->bytes)
		return 0;
bad:
	snprintf(r->why, sizeof(r->why), "section type %u index %u (%llu bytes) does not fit this "
		 "VM (%d vCPUs) or this avmm's KVM structures", s->type, s->index,
		 (unsigned long long)s->bytes, vm->nr_vcpus);
	return -EPROTO;
}

static int ram_section(struct vmm *vm, struct vmm_snap_reader *r, const struct vmm_snap_sec *s,
		       bool apply)
{
	uint64_t gpa, n = s->bytes - 8;
	uint8_t *hva;
	int rc;

	if (s->bytes < 8 + PAGE || (s->bytes - 8) % PAGE) {
		snprintf(r->why, sizeof(r->why), "RAM section of %llu bytes",
			 (unsigned long long)s->bytes);
		return -EPROTO;
	}
	rc = vmm_snap_read_payload(r, &gpa, 8);
	if (rc)
		return rc;
	hva = vmm_gpa_ptr(&vm->mem, gpa, n);
	if (!hva) {
		snprintf(r->why, sizeof(r->why), "RAM at 0x%llx (+%llu bytes) is outside this VM's "
			 "memory", (unsigned long long)gpa, (unsigned long long)n);
		return -EPROTO;
	}
	if (apply)
		return vmm_snap_read_payload(r, hva, n);
	for (uint64_t done = 0; done < n; done += PAGE) {   /* check pass: read, drop */
		static uint8_t sink[PAGE];

		if ((rc = vmm_snap_read_payload(r, sink, PAGE)))
			return rc;
	}
	return 0;
}

static int pass(struct vmm *vm, int fd, bool apply, struct vmm_snap_vm *st,
		struct vmm_snap_vcpu *vc, struct kvm_clock_data *clk, uint8_t *serial,
		struct dev_states *ds, char *why, size_t len)
{
	struct vmm_snap_cpu host;
	struct vmm_snap_reader r;
	struct vmm_snap_header h;
	struct vmm_snap_sec s;
	struct seen seen;
	uint64_t want, need;
	void *dst;
	int rc;

	memset(&seen, 0, sizeof(seen));
	if (lseek(fd, 0, SEEK_SET)) {
		snprintf(why, len, "the snapshot must be a seekable file");
		return -ESPIPE;
	}
	vmm_snap_host_cpu(&host);
	rc = vmm_snap_read_header(&r, fd, &host, &h);
	if (!rc && (h.nr_vcpus != (uint32_t)vm->nr_vcpus || h.mem_bytes != mem_total(vm))) {
		snprintf(r.why, sizeof(r.why), "the snapshot is of a VM with %u vCPUs and %llu MiB; "
			 "this one has %d and %llu MiB: give the same --vcpus and --mem", h.nr_vcpus,
			 (unsigned long long)(h.mem_bytes >> 20), vm->nr_vcpus,
			 (unsigned long long)(mem_total(vm) >> 20));
		rc = -EINVAL;
	}
	while (!rc && !(rc = vmm_snap_next_section(&r, &s)) && s.type != VMM_SNAP_END) {
		if (s.type == VMM_SNAP_RAM)
			rc = ram_section(vm, &r, &s, apply);
		else if (s.type == VMM_SNAP_DEVICE)
			rc = device_section(vm, &r, &s, ds, &seen);
		else if (s.type == VMM_SNAP_CPUID) {
			if (!(rc = cpuid_section(vm, &r, &s)))
				seen.cpuids |= 1ull << s.index;
		}
		else if (!(rc = target(vm, &r, &s, st, vc, clk, serial, &seen, &dst, &want)))
			rc = vmm_snap_read_payload(&r, dst, want);
	}
	need = 0;
	for (int t = VMM_SNAP_REGS; t <= VMM_SNAP_MP_STATE; t++)
		need |= 1ull << t;
	for (int i = 0; !rc && i < vm->nr_vcpus; i++)
		if (seen.vcpu_parts[i] != need || !(seen.cpuids & (1ull << i))) {
			snprintf(r.why, sizeof(r.why), "vcpu%d's state is incomplete in the file", i);
			rc = -EPROTO;
		}
	for (int i = 0; !rc && i < vm->bus.nr; i++)
		if (vm->bus.dev[i]->restore && !(seen.devs & (1u << i))) {
			snprintf(r.why, sizeof(r.why), "device %s's state is missing from the file",
				 vm->bus.dev[i]->name);
			rc = -EPROTO;
		}
	if (!rc && (seen.chips != 7 || !seen.pit || !seen.clock || !seen.serial)) {
		snprintf(r.why, sizeof(r.why), "the irqchip, PIT, clock or serial state is missing");
		rc = -EPROTO;
	}
	if (rc)
		snprintf(why, len, "%s", r.why);
	return rc;
}

static void zero_ram(struct vmm *vm)
{
	for (int i = 0; i < vm->mem.nr; i++)
		if (madvise(vm->mem.r[i].hva, vm->mem.r[i].bytes, MADV_DONTNEED))
			memset(vm->mem.r[i].hva, 0, vm->mem.r[i].bytes);
}

static int restore(struct vmm *vm, int fd, bool keep_ram, char *why, size_t why_len);

int vmm_snapshot_restore(struct vmm *vm, int fd, char *why, size_t why_len)
{
	return restore(vm, fd, false, why, why_len);
}

int vmm_snapshot_restore_state(struct vmm *vm, int fd, char *why, size_t why_len)
{
	return restore(vm, fd, true, why, why_len);
}

static int restore(struct vmm *vm, int fd, bool keep_ram, char *why, size_t why_len)
{
	struct vmm_snap_vcpu *vc = calloc((size_t)vm->nr_vcpus, sizeof(*vc));
	struct dev_states *ds = calloc(1, sizeof(*ds));
	struct kvm_clock_data clk;
	struct vmm_snap_vm st;
	uint8_t serial[6];
	int rc;

	why[0] = '\0';
	if (!vc || !ds) {
		free(vc);
		free(ds);
		return -ENOMEM;
	}
	rc = pass(vm, fd, false, &st, vc, &clk, serial, ds, why, why_len);
	if (!rc) {
		if (!keep_ram)
			zero_ram(vm);
		rc = pass(vm, fd, true, &st, vc, &clk, serial, ds, why, why_len);
	}
	if (!rc)
		rc = vmm_snap_vm_set(vm, &st, why, why_len);
	for (int i = 0; !rc && i < vm->bus.nr; i++)
		if (vm->bus.dev[i]->restore &&
		    (rc = vm->bus.dev[i]->restore(vm->bus.state[i], ds->buf[i], ds->len[i])))
			snprintf(why, why_len, "device %s refused its saved state (%s)",
				 vm->bus.dev[i]->name, strerror(-rc));
	for (int i = 0; !rc && i < vm->nr_vcpus; i++)
		rc = vmm_snap_vcpu_set(&vm->vcpu[i], &vc[i], why, why_len);
	if (!rc) {
		pthread_mutex_lock(&vm->serial.lock);
		vm->serial.ier = serial[0], vm->serial.lcr = serial[1], vm->serial.mcr = serial[2];
		vm->serial.scr = serial[3], vm->serial.dll = serial[4], vm->serial.dlm = serial[5];
		pthread_mutex_unlock(&vm->serial.lock);
		clk.flags = 0;   /* go on from the saved value; no realtime advance */
		if (ioctl(vm->vm_fd, KVM_SET_CLOCK, &clk)) {
			snprintf(why, why_len, "KVM_SET_CLOCK: %s", strerror(errno));
			rc = -errno;
		}
	}
	free(vc);
	free(ds);
	return rc;
}
