/* PCI configuration mechanism #1: the address register at 0xcf8 (dword
 * accesses only: byte accesses to 0xcf8-0xcfb belong to other devices, e.g.
 * the reset control register at 0xcf9) and the data window at 0xcfc-0xcff
 * (byte, word and dword accesses at the offset within the dword). Functions
 * are a small table of 256-byte configuration spaces with a per-byte write
 * mask; a function that is not in the table reads as all ones (vendor
 * 0xffff: absent) and ignores writes. Today the table holds the i440FX host
 * bridge at 00:00.0, as on QEMU's pc machine. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "vmm-core/pc.h"
#include "vmm-core/pcdev.h"
#include "vmm-core/vmm_internal.h"

#define ADDR_ENABLE 0x80000000u
#define CFG_BYTES 256

struct pci_fn {
	uint8_t bus, dev, fn;
	uint8_t cfg[CFG_BYTES];
	uint8_t wmask[CFG_BYTES];    /* bits the guest may change */
};

struct pci {
	pthread_mutex_t lock;
	uint32_t addr;
	int nr;
	struct pci_fn fn[1];
};

static void put16(uint8_t *cfg, int off, uint16_t v) { memcpy(cfg + off, &v, 2); }

/* i440FX host bridge: Intel 8086:1237 rev 02, class 06.00.00, header 0,
 * subsystem 1af4:1100 (QEMU's), command memory+master writable, the PAM and
 * SMRAM registers writable (kept, not acted on: there is no shadow BIOS). */
static void host_bridge(struct pci_fn *f)
{
	memset(f, 0, sizeof(*f));
	put16(f->cfg, 0x00, 0x8086);
	put16(f->cfg, 0x02, 0x1237);
	put16(f->cfg, 0x04, 0x0006);
	put16(f->cfg, 0x06, 0x0000);
	f->cfg[0x08] = 0x02;             /* revision */
	f->cfg[0x0b] = 0x06;             /* class: bridge, subclass 0 (host), prog-if 0 */
	f->cfg[0x0e] = 0x00;             /* header type 0, single function */
	put16(f->cfg, 0x2c, 0x1af4);
	put16(f->cfg, 0x2e, 0x1100);
	f->wmask[0x04] = 0x06;
	f->wmask[0x0c] = 0xff;           /* cache line size */
	f->wmask[0x0d] = 0xff;           /* latency timer */
	memset(f->wmask + 0x59, 0xff, 7); /* PAM0-6 */
	f->wmask[0x72] = 0xff;           /* SMRAM control */
	f->cfg[0x72] = 0x02;
}

static struct pci_fn *find(struct pci *p, uint32_t addr)
{
	uint8_t bus = (uint8_t)(addr >> 16), dev = (addr >> 11) & 0x1f, fn = (addr >> 8) & 7;

	for (int i = 0; i < p->nr; i++)
		if (p->fn[i].bus == bus && p->fn[i].dev == dev && p->fn[i].fn == fn)
			return &p->fn[i];
	return NULL;
}

static int pci_pio(struct vmm_vcpu *v, void *state, uint16_t off, uint8_t *data, int size,
		   bool is_write)
{
	struct pci *p = state;
	struct pci_fn *f;
	int reg;

	if (off < 4 && (off != 0 || size != 4))
		return -ENOENT;          /* not ours: 0xcf9 reset, ... */
	pthread_mutex_lock(&p->lock);
	if (off == 0) {
		if (is_write)
			memcpy(&p->addr, data, 4);
		else
			memcpy(data, &p->addr, 4);
		pthread_mutex_unlock(&p->lock);
		return 0;
	}
	reg = (int)(p->addr & 0xfc) + (off - 4);
	f = p->addr & ADDR_ENABLE ? find(p, p->addr) : NULL;
	for (int i = 0; i < size && reg + i < CFG_BYTES; i++) {
		if (!is_write)
			data[i] = f ? f->cfg[reg + i] : 0xff;
		else if (f)
			f->cfg[reg + i] = (uint8_t)((f->cfg[reg + i] & ~f->wmask[reg + i]) |
						    (data[i] & f->wmask[reg + i]));
	}
	pthread_mutex_unlock(&p->lock);
	return 0;
}

static int pci_init(struct vmm *vm, const struct vmm_config *cfg, void **state)
{
	struct pci *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	host_bridge(&p->fn[p->nr++]);
	*state = p;
	return 0;
}

static void pci_exit(struct vmm *vm, void *state)
{
	struct pci *p = state;

	pthread_mutex_destroy(&p->lock);
	free(p);
}

struct pci_snap { uint32_t addr; int32_t nr; uint8_t cfg[1][CFG_BYTES]; };

static int pci_save(void *state, uint8_t *buf, size_t len)
{
	struct pci *p = state;
	struct pci_snap s;

	memset(&s, 0, sizeof(s));
	pthread_mutex_lock(&p->lock);
	s.addr = p->addr, s.nr = p->nr;
	for (int i = 0; i < p->nr; i++)
		memcpy(s.cfg[i], p->fn[i].cfg, CFG_BYTES);
	pthread_mutex_unlock(&p->lock);
	return VMM_DEV_SAVE(buf, len, s);
}

static int pci_restore(void *state, const uint8_t *buf, size_t len)
{
	struct pci *p = state;
	struct pci_snap s;
	int rc = VMM_DEV_LOAD(buf, len, s);

	if (rc || s.nr != p->nr)
		return rc ? rc : -EINVAL;
	pthread_mutex_lock(&p->lock);
	p->addr = s.addr;
	for (int i = 0; i < p->nr; i++)
		memcpy(p->fn[i].cfg, s.cfg[i], CFG_BYTES);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

const struct vmm_dev vmm_dev_pci = {
	.name = "pci", .port = PC_PCI_CONF_ADDR, .nr_ports = 8,
	.init = pci_init, .exit = pci_exit, .pio = pci_pio,
	.save = pci_save, .restore = pci_restore,
};
