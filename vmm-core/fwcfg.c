/*
 * fw_cfg: QEMU's firmware configuration device (docs/specs/fw_cfg.rst), I/O
 * flavour: 0x510 selector (16-bit write; selecting resets the offset), 0x511
 * data (byte reads, auto-increment, 0 past the end), 0x514-0x51b the DMA
 * address register (big endian; a write to the low half at 0x518 runs the
 * FWCfgDmaAccess found there; reads give "QEMU CFG").
 *
 * Items (numbers little endian unless said): 0x00 "QEMU", 0x01 id (bit 0
 * port interface, bit 1 DMA), 0x02 UUID (zero), 0x03 RAM size (u64), 0x04
 * nographic (u16 1), 0x05 nb_cpus (u16), 0x08 kernel size and 0x0b initrd
 * size (u32 0: avmm loads the guest itself), 0x0d NUMA (u64 node count 0,
 * one u64 per CPU), 0x0e boot menu (u16 0), 0x0f max_cpus (u16), 0x14/0x15
 * command line size (with the NUL) and bytes, 0x19 the file directory (big
 * endian count, then 64-byte entries {be32 size, be16 select, u16, name[56]}),
 * 0x20 "etc/e820" (20-byte entries {u64 addr, u64 len, u32 type}).
 * Every item is read-only: data-port writes are ignored, DMA writes fail
 * with the error bit. One lock serializes the vCPUs.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "vmm-core/firmware.h"
#include "vmm-core/pc.h"
#include "vmm-core/vmm_internal.h"

enum {
	K_SIGNATURE = 0x00, K_ID = 0x01, K_UUID = 0x02, K_RAM_SIZE = 0x03, K_NOGRAPHIC = 0x04,
	K_NB_CPUS = 0x05, K_KERNEL_SIZE = 0x08, K_INITRD_SIZE = 0x0b, K_NUMA = 0x0d,
	K_BOOT_MENU = 0x0e, K_MAX_CPUS = 0x0f, K_CMDLINE_SIZE = 0x14, K_CMDLINE_DATA = 0x15,
	K_FILE_DIR = 0x19, K_FILE_FIRST = 0x20,
};
#define K_ENTRY_MASK  0x3fffu   /* bit 14 (write mode) is ignored, as since QEMU 2.4 */
#define K_ARCH_LOCAL  0x8000u
#define K_INVALID     0xffffu
#define ID_TRADITIONAL 0x1u
#define ID_DMA         0x2u
#define DMA_ERROR  0x01u
#define DMA_READ   0x02u
#define DMA_SKIP   0x04u
#define DMA_SELECT 0x08u
#define DMA_WRITE  0x10u
#define MAX_ITEMS  20
#define NAME_LEN   56
#define E820_ENTRY 20
#define DIR_ENTRY  64

struct item {
	uint16_t key;
	char name[NAME_LEN];     /* "" unless a file */
	uint8_t *data;
	uint32_t len;
};

struct fwcfg {
	pthread_mutex_t lock;
	int cur;                 /* index in item[], -1: nothing selected */
	uint32_t pos;
	uint32_t dma_hi;
	int nr;
	struct item item[MAX_ITEMS];
};

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_be(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
}

static uint64_t get_be(const uint8_t *p, int bytes)
{
	uint64_t v = 0;

	for (int i = 0; i < bytes; i++)
		v = v << 8 | p[i];
	return v;
}

/* Takes a copy of data (NULL: len zero bytes). file: "" or a file name. */
static int item_add(struct fwcfg *f, uint16_t key, const char *file, const void *data,
		    uint32_t len)
{
	struct item *it;

	if (f->nr == MAX_ITEMS)
		return -ENOSPC;
	it = &f->item[f->nr];
	it->data = calloc(1, len ? len : 1);
	if (!it->data)
		return -ENOMEM;
	if (data)
		memcpy(it->data, data, len);
	it->len = len;
	it->key = key;
	snprintf(it->name, sizeof(it->name), "%s", file);
	f->nr++;
	return 0;
}

static int item_num(struct fwcfg *f, uint16_t key, uint64_t v, int bytes)
{
	uint8_t b[8];

	put_le(b, v, bytes);
	return item_add(f, key, "", b, (uint32_t)bytes);
}

/* The file directory over every named item added so far. */
static int add_file_dir(struct fwcfg *f)
{
	uint8_t dir[4 + MAX_ITEMS * DIR_ENTRY] = { 0 };
	uint32_t n = 0;

	for (int i = 0; i < f->nr; i++) {
		uint8_t *e = dir + 4 + n * DIR_ENTRY;

		if (!f->item[i].name[0])
			continue;
		put_be(e, f->item[i].len, 4);
		put_be(e + 4, f->item[i].key, 2);
		memcpy(e + 8, f->item[i].name, strlen(f->item[i].name));
		n++;
	}
	put_be(dir, n, 4);
	return item_add(f, K_FILE_DIR, "", dir, 4 + n * DIR_ENTRY);
}

static int add_e820(struct fwcfg *f, const struct vmm_mem_map *map)
{
	struct vmm_e820 e[VMM_E820_MAX];
	uint8_t buf[VMM_E820_MAX * E820_ENTRY];
	int n = vmm_e820_build(map, e, VMM_E820_MAX);

	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		put_le(buf + i * E820_ENTRY, e[i].addr, 8);
		put_le(buf + i * E820_ENTRY + 8, e[i].size, 8);
		put_le(buf + i * E820_ENTRY + 16, e[i].type, 4);
	}
	return item_add(f, K_FILE_FIRST, "etc/e820", buf, (uint32_t)n * E820_ENTRY);
}

static int fwcfg_build(struct fwcfg *f, const struct vmm_config *cfg,
		       const struct vmm_mem_map *map)
{
	const char *cmd = cfg->cmdline ? cfg->cmdline : "";
	uint32_t cmd_len = (uint32_t)strlen(cmd) + 1;
	int rc = 0;

	rc = rc ? rc : item_add(f, K_SIGNATURE, "", "QEMU", 4);
	rc = rc ? rc : item_num(f, K_ID, ID_TRADITIONAL | ID_DMA, 4);
	rc = rc ? rc : item_add(f, K_UUID, "", NULL, 16);
	rc = rc ? rc : item_num(f, K_RAM_SIZE, cfg->mem_bytes, 8);
	rc = rc ? rc : item_num(f, K_NOGRAPHIC, 1, 2);
	rc = rc ? rc : item_num(f, K_NB_CPUS, (uint64_t)cfg->vcpus, 2);
	rc = rc ? rc : item_num(f, K_KERNEL_SIZE, 0, 4);
	rc = rc ? rc : item_num(f, K_INITRD_SIZE, 0, 4);
	rc = rc ? rc : item_add(f, K_NUMA, "", NULL, 8 * (1 + (uint32_t)cfg->vcpus));
	rc = rc ? rc : item_num(f, K_BOOT_MENU, 0, 2);
	rc = rc ? rc : item_num(f, K_MAX_CPUS, (uint64_t)cfg->vcpus, 2);
	rc = rc ? rc : item_num(f, K_CMDLINE_SIZE, cmd_len, 4);
	rc = rc ? rc : item_add(f, K_CMDLINE_DATA, "", cmd, cmd_len);
	rc = rc ? rc : add_e820(f, map);
	rc = rc ? rc : add_file_dir(f);
	return rc;
}

static void fwcfg_select(struct fwcfg *f, uint16_t key)
{
	uint16_t k = (uint16_t)(key & (K_ARCH_LOCAL | K_ENTRY_MASK));

	f->cur = -1;
	f->pos = 0;
	for (int i = 0; i < f->nr; i++)
		if (f->item[i].key == k)
			f->cur = i;
}

/* Reads len bytes at the offset into dst (zeros past the end), advancing. */
static void fwcfg_read(struct fwcfg *f, uint8_t *dst, uint32_t len)
{
	const struct item *it = f->cur >= 0 ? &f->item[f->cur] : NULL;
	uint32_t have = it && f->pos < it->len ? it->len - f->pos : 0;
	uint32_t n = UTIL_MIN(have, len);

	if (n)
		memcpy(dst, it->data + f->pos, n);
	memset(dst + n, 0, len - n);
	f->pos += n;
}

/* Runs the FWCfgDmaAccess at gpa; its control field then reads 0 (done) or
 * the error bit. An access outside guest RAM is dropped. */
static void fwcfg_dma(struct fwcfg *f, const struct vmm_mem_map *map, uint64_t gpa)
{
	uint8_t *acc = vmm_gpa_ptr(map, gpa, 16), *buf;
	uint32_t ctl, len, have;
	bool err = false;

	if (!acc)
		return;
	ctl = (uint32_t)get_be(acc, 4);
	len = (uint32_t)get_be(acc + 4, 4);
	if (ctl & DMA_SELECT)
		fwcfg_select(f, (uint16_t)(ctl >> 16));
	if (ctl & DMA_READ) {
		buf = vmm_gpa_ptr(map, get_be(acc + 8, 8), len);
		if (buf)
			fwcfg_read(f, buf, len);
		err = !buf && len;
	} else if (ctl & DMA_WRITE) {
		err = true; /* every item is read-only */
	} else if (ctl & DMA_SKIP) {
		have = f->cur >= 0 ? f->item[f->cur].len : 0;
		f->pos = f->pos + len > have || f->pos + len < f->pos ? have : f->pos + len;
	}
	__atomic_thread_fence(__ATOMIC_RELEASE); /* data before the control word */
	put_be(acc, err ? DMA_ERROR : 0, 4);
}

static int fwcfg_pio(struct vmm_vcpu *v, void *state, uint16_t off, uint8_t *data, int size,
		     bool is_write)
{
	static const char dma_sig[] = "QEMU CFG";
	uint16_t dma = PC_FWCFG_PORT_DMA - PC_FWCFG_PORT_SEL;
	struct fwcfg *f = state;

	pthread_mutex_lock(&f->lock);
	if (off == 0 && is_write) {
		fwcfg_select(f, (uint16_t)(size >= 2 ? data[0] | data[1] << 8 : data[0]));
	} else if (off == PC_FWCFG_PORT_DATA - PC_FWCFG_PORT_SEL && !is_write) {
		fwcfg_read(f, data, (uint32_t)size);
	} else if (off >= dma && !is_write) {
		for (int i = 0; i < size; i++)
			data[i] = off - dma + i < 8 ? (uint8_t)dma_sig[off - dma + i] : 0;
	} else if (off == dma && is_write && size == 4) {
		f->dma_hi = (uint32_t)get_be(data, 4);
	} else if (off == dma + 4 && is_write && size == 4) {
		fwcfg_dma(f, &v->vm->mem, (uint64_t)f->dma_hi << 32 | get_be(data, 4));
		f->dma_hi = 0;
	} else if (!is_write) {
		memset(data, 0, (size_t)size); /* selector reads, the gap at 0x512 */
	}
	pthread_mutex_unlock(&f->lock);
	return 0;
}

static void fwcfg_exit(struct vmm *vm, void *state)
{
	struct fwcfg *f = state;

	(void)vm;
	if (!f)
		return;
	for (int i = 0; i < f->nr; i++)
		free(f->item[i].data);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

static int fwcfg_init(struct vmm *vm, const struct vmm_config *cfg, void **state)
{
	struct fwcfg *f = calloc(1, sizeof(*f));
	int rc;

	if (!f)
		return -ENOMEM;
	pthread_mutex_init(&f->lock, NULL);
	f->cur = -1;
	rc = fwcfg_build(f, cfg, &vm->mem);
	if (rc) {
		util_err("fw_cfg: building the items: %s", strerror(-rc));
		fwcfg_exit(vm, f);
		return rc;
	}
	*state = f;
	return 0;
}

struct fwcfg_snap { int32_t cur, nr; uint32_t pos, dma_hi; };

static int fwcfg_save(void *state, uint8_t *buf, size_t len)
{
	struct fwcfg *f = state;
	struct fwcfg_snap s;

	pthread_mutex_lock(&f->lock);
	s = (struct fwcfg_snap){ f->cur, f->nr, f->pos, f->dma_hi };
	pthread_mutex_unlock(&f->lock);
	return VMM_DEV_SAVE(buf, len, s);
}

/* The items are rebuilt from the config; the same count is required. */
static int fwcfg_restore(void *state, const uint8_t *buf, size_t len)
{
	struct fwcfg *f = state;
	struct fwcfg_snap s;
	int rc = VMM_DEV_LOAD(buf, len, s);

	if (rc || s.nr != f->nr || s.cur < -1 || s.cur >= f->nr)
		return rc ? rc : -EINVAL;
	pthread_mutex_lock(&f->lock);
	f->cur = s.cur, f->pos = s.pos, f->dma_hi = s.dma_hi;
	pthread_mutex_unlock(&f->lock);
	return 0;
}

const struct vmm_dev vmm_dev_fwcfg = {
	.save = fwcfg_save,
	.restore = fwcfg_restore,
	.name = "fw_cfg",
	.port = PC_FWCFG_PORT_SEL,
	.nr_ports = PC_FWCFG_PORT_DMA + 8 - PC_FWCFG_PORT_SEL,
	.init = fwcfg_init,
	.exit = fwcfg_exit,
	.pio = fwcfg_pio,
};
