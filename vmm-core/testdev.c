/*
 * QEMU's pc-testdev, for conformance suites such as kvm-unit-tests
 * (`avmm run --testdev`; off by default: no guest of a real workload should
 * see it). As QEMU's device behaves:
 *   0xe0-0xe3  a 32-bit scratch register: an access of N bytes at offset k
 *              reads or writes bytes k..k+N-1 of it (little endian)
 *   0xe4-0xe7  page flush: a 4-byte write of a guest physical address makes
 *              the host drop and rebuild the mapping of that page (mprotect
 *              PROT_NONE, then read/write), so KVM must fault it in again
 *   0xe8-0xeb  the same register, one byte per port (a wider access takes
 *              one byte per port it covers)
 *   0x2000+N   N = 0..23: a 1-byte write sets IRQ line N (GSI N, in-kernel
 *              PIC and IOAPIC) to (value != 0) through KVM_IRQ_LINE
 *   0xff000000 64 KiB of MMIO RAM (PC_TESTDEV_MMIO): reads and writes of 1,
 *              2, 4 or 8 bytes, as memory
 * Accesses QEMU treats as invalid (other sizes on the IRQ and flush ports)
 * are ignored; those ports read as all ones.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "common/util.h"
#include "vmm-core/pc.h"
#include "vmm-core/vmm_internal.h"

#define TESTDEV_RAM_BYTES 0x10000u
#define TESTDEV_IRQ_LINES 24
#define TESTDEV_PAGE 4096ull

struct testdev {
	pthread_mutex_t lock;
	uint32_t reg;
	uint8_t ram[TESTDEV_RAM_BYTES];
};

static bool testdev_on(const struct vmm_config *cfg)
{
	return cfg->testdev;
}

static int testdev_init(struct vmm *vm, const struct vmm_config *cfg, void **state)
{
	struct testdev *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	pthread_mutex_init(&t->lock, NULL);
	*state = t;
	return 0;
}

static void testdev_exit(struct vmm *vm, void *state)
{
	struct testdev *t = state;

	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* Byte lane i of an access of size bytes at register offset off. */
static void reg_access(struct testdev *t, uint16_t off, uint8_t *data, int size, bool is_write,
		       bool bytewise)
{
	for (int i = 0; i < size; i++) {
		unsigned lane = bytewise ? (off + i) & 3u : (off & 3u) + (unsigned)i;

		if (lane > 3)
			continue; /* past the register: dropped, reads 0 */
		if (is_write)
			t->reg = (t->reg & ~(0xffu << (8 * lane))) | (uint32_t)data[i] << (8 * lane);
		else
			data[i] = (uint8_t)(t->reg >> (8 * lane));
	}
	if (!is_write && !bytewise)
		for (int i = 0; i < size; i++)
			if ((off & 3u) + (unsigned)i > 3)
				data[i] = 0;
}

static void flush_page(struct vmm *vm, uint32_t gpa)
{
	uint8_t *hva = vmm_gpa_ptr(&vm->mem, gpa & ~(TESTDEV_PAGE - 1), TESTDEV_PAGE);

	if (!hva)
		return; /* not RAM: nothing mapped to flush */
	mprotect(hva, TESTDEV_PAGE, PROT_NONE);
	mprotect(hva, TESTDEV_PAGE, PROT_READ | PROT_WRITE);
}

static int testdev_pio(struct vmm_vcpu *v, void *state, uint16_t off, uint8_t *data, int size,
		       bool is_write)
{
	struct testdev *t = state;
	uint32_t val = 0;

	if (off >= 4 && off < 8) { /* flush port */
		if (!is_write)
			memset(data, 0xff, (size_t)size);
		else if (size == 4) {
			memcpy(&val, data, 4);
			flush_page(v->vm, val);
		}
		return 0;
	}
	pthread_mutex_lock(&t->lock);
	reg_access(t, off & 3, data, size, is_write, off >= 8);
	pthread_mutex_unlock(&t->lock);
	return 0;
}

static int testdev_mmio(struct vmm_vcpu *v, void *state, uint64_t off, uint8_t *data, int len,
			bool is_write)
{
	struct testdev *t = state;
	size_t n = len > 0 && len <= 8 ? (size_t)len : 0;

	if (off + n > TESTDEV_RAM_BYTES)
		n = TESTDEV_RAM_BYTES - off; /* an access straddling the end */
	pthread_mutex_lock(&t->lock);
	if (is_write)
		memcpy(t->ram + off, data, n);
	else {
		memset(data, 0xff, (size_t)(len > 0 && len <= 8 ? len : 0));
		memcpy(data, t->ram + off, n);
	}
	pthread_mutex_unlock(&t->lock);
	return 0;
}

static int testdev_irq(struct vmm_vcpu *v, void *state, uint16_t off, uint8_t *data, int size,
		       bool is_write)
{
	struct kvm_irq_level lvl = { .irq = off, .level = data[0] != 0 };

	if (!is_write) {
		memset(data, 0xff, (size_t)size);
		return 0;
	}
	if (size != 1)
		return 0;
	if (ioctl(v->vm->vm_fd, KVM_IRQ_LINE, &lvl) < 0)
		return -errno;
	return 0;
}

const struct vmm_dev vmm_dev_testdev = {
	.name = "pc-testdev",
	.port = PC_TESTDEV_PORT, .nr_ports = 12,
	.mmio_gpa = PC_TESTDEV_MMIO, .mmio_len = TESTDEV_RAM_BYTES,
	.enabled = testdev_on, .init = testdev_init, .exit = testdev_exit,
	.pio = testdev_pio, .mmio = testdev_mmio,
};

const struct vmm_dev vmm_dev_testdev_irq = {
	.name = "pc-testdev-irq",
	.port = PC_TESTDEV_IRQ_PORT, .nr_ports = TESTDEV_IRQ_LINES,
	.enabled = testdev_on, .pio = testdev_irq,
};
