/* The PC machine's device bus: the table of devices and the dispatch. */
#include <errno.h>
#include <string.h>

#include "common/util.h"
#include "vmm-core/bus.h"
#include "vmm-core/pcdev.h"
#include "vmm-core/firmware.h"
#include "vmm-core/vmm_internal.h"

/* Every device of the machine, one line each (see bus.h). */
static const struct vmm_dev *const machine[] = {
	&vmm_dev_rtc,
	&vmm_dev_acpi_pm,
	&vmm_dev_pci,
	&vmm_dev_hpet,
	&vmm_dev_testdev,
	&vmm_dev_testdev_irq,
	&vmm_dev_fwcfg,
	&vmm_dev_fwtables,
	NULL,
};

int vmm_bus_init(struct vmm *vm, const struct vmm_config *cfg)
{
	struct vmm_bus *b = &vm->bus;
	int rc;

	for (size_t i = 0; i < UTIL_ARRAY_SIZE(machine) && machine[i]; i++) {
		const struct vmm_dev *d = machine[i];
		void *state = NULL;

		if (d->enabled && !d->enabled(cfg))
			continue;
		if (b->nr == VMM_BUS_MAX)
			return -ENOSPC;
		if (d->init && (rc = d->init(vm, cfg, &state))) {
			util_err("device %s: %s", d->name, strerror(-rc));
			return rc;
		}
		b->dev[b->nr] = d;
		b->state[b->nr++] = state;
	}
	return 0;
}

void vmm_bus_exit(struct vmm *vm)
{
	struct vmm_bus *b = &vm->bus;

	while (b->nr > 0) {
		b->nr--;
		if (b->dev[b->nr]->exit)
			b->dev[b->nr]->exit(vm, b->state[b->nr]);
	}
}

void vmm_bus_pause(struct vmm *vm, bool pause)
{
	struct vmm_bus *b = &vm->bus;

	for (int i = 0; i < b->nr; i++) {
		void (*fn)(void *) = pause ? b->dev[i]->pause : b->dev[i]->resume;

		if (fn)
			fn(b->state[i]);
	}
}

int vmm_bus_pio(struct vmm_vcpu *v, uint16_t port, uint8_t *data, int size, bool is_write)
{
	struct vmm_bus *b = &v->vm->bus;

	for (int i = 0; i < b->nr; i++) {
		const struct vmm_dev *d = b->dev[i];

		if (d->pio && port >= d->port && port - d->port < d->nr_ports)
			return d->pio(v, b->state[i], (uint16_t)(port - d->port), data, size, is_write);
	}
	return -ENOENT;
}

int vmm_bus_mmio(struct vmm_vcpu *v, uint64_t gpa, uint8_t *data, int len, bool is_write)
{
	struct vmm_bus *b = &v->vm->bus;

	for (int i = 0; i < b->nr; i++) {
		const struct vmm_dev *d = b->dev[i];

		if (d->mmio && gpa >= d->mmio_gpa && gpa - d->mmio_gpa < d->mmio_len)
			return d->mmio(v, b->state[i], gpa - d->mmio_gpa, data, len, is_write);
	}
	return -ENOENT;
}
