/* vmm-core internal: the PC machine's device bus. Each device (fw_cfg, RTC,
 * HPET, PCI host bridge, PM timer, test device, ...) lives in its own file
 * and describes itself with one struct vmm_dev; bus.c lists them. A port or
 * MMIO access that no device claims falls through to devices.c (serial,
 * debug-exit, reset; the rest reads as all ones and is logged once).
 *
 * Lifecycle: vmm_bus_init() runs every enabled device's init after guest RAM
 * and the guest image exist (so tables can be written into RAM) and before
 * the vCPUs are created; vmm_bus_exit() runs exit in reverse over what
 * started. Threading: pio/mmio run on the vCPU threads, concurrently; a
 * device with state shared between vCPUs locks it itself.
 * Handlers return 0 (handled; a read fills data), 1 when the VM has ended
 * (vmm_end was called), or a negative errno (counted, the access is then
 * treated as unclaimed). */
#ifndef AVMM_VMM_BUS_H
#define AVMM_VMM_BUS_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <errno.h>
#include <string.h>

struct vmm;
struct vmm_vcpu;
struct vmm_config;

struct vmm_dev {
	const char *name;
	uint16_t port, nr_ports;          /* nr_ports 0: no port range */
	uint64_t mmio_gpa, mmio_len;      /* mmio_len 0: no MMIO range */
	/* NULL: always on; else whether this VM has the device (e.g. --testdev) */
	bool (*enabled)(const struct vmm_config *cfg);
	/* NULL: no state. *state is handed to every call. 0 or -errno. */
	int (*init)(struct vmm *vm, const struct vmm_config *cfg, void **state);
	void (*exit)(struct vmm *vm, void *state);
	/* off: from port / mmio_gpa. size/len 1, 2, 4 (8 for MMIO). */
	int (*pio)(struct vmm_vcpu *v, void *state, uint16_t off, uint8_t *data, int size,
		   bool is_write);
	int (*mmio)(struct vmm_vcpu *v, void *state, uint64_t off, uint8_t *data, int len,
		    bool is_write);
	/* Snapshots (snapshot_save.c, snapshot_restore.c), with every vCPU
	 * parked: save puts the guest-visible state into buf (len bytes) and
	 * returns its size or -ENOSPC; restore takes it back from a save of the
	 * same avmm version (0, or -EINVAL for another size). NULL: no state
	 * beyond what init rebuilds from the config. Changing what a save holds
	 * needs a new VMM_SNAP_VERSION. */
	int (*save)(void *state, uint8_t *buf, size_t len);
	int (*restore)(void *state, const uint8_t *buf, size_t len);
	/* The whole VM paused (every vCPU parked) and resumed: a device that
	 * keeps time stops its clock, so the guest sees no time pass, as with
	 * its kvmclock. NULL: nothing to do. */
	void (*pause)(void *state);
	void (*resume)(void *state);
};

/* For save/restore: copy a device's state struct in or out of a buffer. */
#define VMM_DEV_SAVE(buf, len, st) \
	((len) < sizeof(st) ? -ENOSPC : (memcpy((buf), &(st), sizeof(st)), (int)sizeof(st)))
#define VMM_DEV_LOAD(buf, len, st) \
	((len) != sizeof(st) ? -EINVAL : (memcpy(&(st), (buf), sizeof(st)), 0))

/* The devices (one file each). */
extern const struct vmm_dev vmm_dev_testdev, vmm_dev_testdev_irq; /* testdev.c */

#define VMM_BUS_MAX 24

struct vmm_bus {
	int nr;                                   /* devices started */
	const struct vmm_dev *dev[VMM_BUS_MAX];
	void *state[VMM_BUS_MAX];
};

int vmm_bus_init(struct vmm *vm, const struct vmm_config *cfg);
void vmm_bus_exit(struct vmm *vm);
/* Every started device's pause or resume hook. */
void vmm_bus_pause(struct vmm *vm, bool pause);
/* -ENOENT when no device claims the access; else as the handler. */
int vmm_bus_pio(struct vmm_vcpu *v, uint16_t port, uint8_t *data, int size, bool is_write);
int vmm_bus_mmio(struct vmm_vcpu *v, uint64_t gpa, uint8_t *data, int len, bool is_write);

#endif
