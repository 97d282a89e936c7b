/* Unit tests: the fw_cfg device driven through made-up port accesses, on a
 * VM struct without KVM whose RAM is a plain buffer. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vmm-core/firmware.h"
#include "vmm-core/pc.h"
#include "vmm-core/vmm_internal.h"

#define RAM (32ull << 20)
#define DMA_GPA 0x200000ull   /* a FWCfgDmaAccess lives here in the tests */
#define BUF_GPA 0x201000ull

static struct vmm *vm;
static struct vmm_vcpu *v;
static void *st;

static void start(int vcpus, const char *cmdline)
{
	struct vmm_config cfg = { .vcpus = vcpus, .mem_bytes = RAM, .cmdline = cmdline };

	vm = calloc(1, sizeof(*vm));
	vm->mem.nr = 1;
	vm->mem.r[0].bytes = RAM;
	vm->mem.r[0].hva = calloc(1, RAM);
	v = &vm->vcpu[0];
	v->vm = vm;
	cr_assert_eq(vmm_dev_fwcfg.init(vm, &cfg, &st), 0);
}

static void setup(void) { start(4, "console=ttyS0 x=1"); }

static void teardown(void)
{
	vmm_dev_fwcfg.exit(vm, st);
	free(vm->mem.r[0].hva);
	free(vm);
}

static void pio(uint16_t port, void *data, int size, bool wr)
{
	cr_assert(port >= vmm_dev_fwcfg.port && port < vmm_dev_fwcfg.port + vmm_dev_fwcfg.nr_ports);
	cr_assert_eq(vmm_dev_fwcfg.pio(v, st, (uint16_t)(port - vmm_dev_fwcfg.port), data, size, wr),
		     0);
}

static void sel(uint16_t key)
{
	uint8_t b[2] = { (uint8_t)key, (uint8_t)(key >> 8) };

	pio(PC_FWCFG_PORT_SEL, b, 2, true);
}

static void rd(void *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		pio(PC_FWCFG_PORT_DATA, (uint8_t *)out + i, 1, false);
}

static uint64_t rd_le(uint16_t key, int n)
{
	uint8_t b[8] = { 0 };
	uint64_t x = 0;

	sel(key);
	rd(b, (size_t)n);
	for (int i = n - 1; i >= 0; i--)
		x = x << 8 | b[i];
	return x;
}

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

static void put_be32(uint8_t *p, uint32_t x)
{
	p[0] = (uint8_t)(x >> 24); p[1] = (uint8_t)(x >> 16); p[2] = (uint8_t)(x >> 8); p[3] = (uint8_t)x;
}

static uint8_t *ram(uint64_t gpa) { return vm->mem.r[0].hva + gpa; }

/* Writes a FWCfgDmaAccess at DMA_GPA and triggers it; returns its control after. */
static uint32_t dma(uint32_t control, uint32_t len, uint64_t addr)
{
	uint8_t *a = ram(DMA_GPA), hi[4], lo[4];

	put_be32(a, control);
	put_be32(a + 4, len);
	put_be32(a + 8, (uint32_t)(addr >> 32));
	put_be32(a + 12, (uint32_t)addr);
	put_be32(hi, (uint32_t)(DMA_GPA >> 32));
	put_be32(lo, (uint32_t)DMA_GPA);
	pio(PC_FWCFG_PORT_DMA, hi, 4, true);
	pio(PC_FWCFG_PORT_DMA + 4, lo, 4, true);
	return be32(a);
}

/* Selector key of a file from the directory (read via the data port), or 0. */
static uint16_t find_file(const char *name, uint32_t *size)
{
	uint8_t cnt[4], e[64];

	sel(0x19);
	rd(cnt, 4);
	for (uint32_t i = 0; i < be32(cnt); i++) {
		rd(e, 64);
		if (!strcmp((char *)e + 8, name)) {
			*size = be32(e);
			return (uint16_t)(e[4] << 8 | e[5]);
		}
	}
	return 0;
}

TestSuite(fwcfg, .init = setup, .fini = teardown);

Test(fwcfg, signature_id_and_counts)
{
	char sig[5] = "";

	sel(0x0000);
	rd(sig, 4);
	cr_assert_str_eq(sig, "QEMU");
	cr_assert_eq(rd_le(0x01, 4), 3, "traditional interface and DMA");
	cr_assert_eq(rd_le(0x05, 2), 4, "nb_cpus");
	cr_assert_eq(rd_le(0x0f, 2), 4, "max_cpus");
	cr_assert_eq(rd_le(0x03, 8), RAM, "RAM size");
	cr_assert_eq(rd_le(0x08, 4), 0, "no kernel through fw_cfg");
	cr_assert_eq(rd_le(0x0b, 4), 0, "no initrd through fw_cfg");
	cr_assert_eq(rd_le(0x0d, 8), 0, "no NUMA nodes");
}

Test(fwcfg, command_line)
{
	char buf[32] = "";

	cr_assert_eq(rd_le(0x14, 4), strlen("console=ttyS0 x=1") + 1, "size counts the NUL");
	sel(0x15);
	rd(buf, sizeof(buf) - 1);
	cr_assert_str_eq(buf, "console=ttyS0 x=1");
}

Test(fwcfg, reads_past_the_end_are_zero_and_select_rewinds)
{
	uint8_t b[8];

	sel(0x05);
	rd(b, 8);
	cr_assert(b[0] == 4 && b[1] == 0 && b[2] == 0 && b[7] == 0);
	sel(0x05);
	rd(b, 1);
	cr_assert_eq(b[0], 4, "a new selection starts at offset 0");
	cr_assert_eq(rd_le(0x1234, 4), 0, "an unknown key reads as zeros");
	cr_assert_eq(rd_le(0x4005, 2), 4, "bit 14 (write mode) selects the same item, read-only");
}

Test(fwcfg, data_port_writes_are_ignored)
{
	uint8_t x = 0x55;

	sel(0x05);
	pio(PC_FWCFG_PORT_DATA, &x, 1, true);
	cr_assert_eq(rd_le(0x05, 2), 4);
}

Test(fwcfg, file_directory_holds_the_e820_map)
{
	struct vmm_e820 e[VMM_E820_MAX];
	uint32_t size = 0;
	uint16_t key = find_file("etc/e820", &size);
	int n = vmm_e820_build(&vm->mem, e, VMM_E820_MAX);
	uint8_t buf[VMM_E820_MAX * 20];

	cr_assert_geq(key, 0x20, "etc/e820 is a file item");
	cr_assert_eq(size, (uint32_t)n * 20);
	sel(key);
	rd(buf, size);
	for (int i = 0; i < n; i++) {
		uint64_t addr, len;
		uint32_t type;

		memcpy(&addr, buf + i * 20, 8);
		memcpy(&len, buf + i * 20 + 8, 8);
		memcpy(&type, buf + i * 20 + 16, 4);
		cr_expect(addr == e[i].addr && len == e[i].size && type == e[i].type, "entry %d", i);
	}
}

Test(fwcfg, dma_signature_and_select_read)
{
	uint8_t sig[8];
	uint32_t size = 0;
	uint16_t key = find_file("etc/e820", &size);
	uint8_t port_copy[VMM_E820_MAX * 20];

	for (int i = 0; i < 8; i++)
		pio((uint16_t)(PC_FWCFG_PORT_DMA + i), sig + i, 1, false);
	cr_assert_eq(memcmp(sig, "QEMU CFG", 8), 0);
	sel(key);
	rd(port_copy, size);
	memset(ram(BUF_GPA), 0xaa, 4096);
	cr_assert_eq(dma((uint32_t)key << 16 | 0x08 | 0x02, size + 4, BUF_GPA), 0, "done, no error");
	cr_assert_eq(memcmp(ram(BUF_GPA), port_copy, size), 0, "DMA and the data port agree");
	cr_assert_eq(be32(ram(BUF_GPA + size)), 0, "past the end: zeros");
	cr_assert_eq(ram(BUF_GPA)[size + 4], 0xaa, "nothing beyond the length");
}

Test(fwcfg, dma_skip_continues_and_write_fails)
{
	cr_assert_eq(dma(0x15u << 16 | 0x08 | 0x04, 8, 0), 0, "select the command line, skip 8");
	cr_assert_eq(dma(0x02, 4, BUF_GPA), 0);
	cr_assert_eq(memcmp(ram(BUF_GPA), "ttyS", 4), 0, "read continues after the skip");
	cr_assert_eq(dma(0x05u << 16 | 0x08 | 0x10, 2, BUF_GPA), 0x01, "items are read-only");
	cr_assert_eq(dma(0x02, 16, RAM - 8), 0x01, "a buffer outside RAM is an error");
	cr_assert_eq(rd_le(0x05, 2), 4, "the failed write changed nothing");
}

struct racer { uint16_t key; uint64_t want; int bytes; uint64_t buf_gpa, acc_gpa; int bad; };

/* Each thread runs DMA select+read of its item through its own access
 * structure; the device lock keeps selector and offset per operation. */
static void *race(void *arg)
{
	struct racer *r = arg;
	struct vmm_vcpu me = { .vm = vm };

	for (int i = 0; i < 2000; i++) {
		uint8_t *a = ram(r->acc_gpa), hi[4] = { 0 }, lo[4];
		uint64_t got = 0;

		put_be32(a, (uint32_t)r->key << 16 | 0x0a);
		put_be32(a + 4, (uint32_t)r->bytes);
		put_be32(a + 8, 0);
		put_be32(a + 12, (uint32_t)r->buf_gpa);
		put_be32(lo, (uint32_t)r->acc_gpa);
		vmm_dev_fwcfg.pio(&me, st, 4, hi, 4, true);
		vmm_dev_fwcfg.pio(&me, st, 8, lo, 4, true);
		memcpy(&got, ram(r->buf_gpa), (size_t)r->bytes);
		r->bad += got != r->want || be32(a) != 0;
	}
	return NULL;
}

Test(fwcfg, concurrent_vcpus_each_read_their_item)
{
	struct racer r[3] = {
		{ 0x05, 4, 2, 0x300000, 0x310000, 0 },
		{ 0x03, RAM, 8, 0x301000, 0x311000, 0 },
		{ 0x01, 3, 4, 0x302000, 0x312000, 0 },
	};
	pthread_t t[3];

	/* the DMA address's high half is per device: the racers only write a
	 * zero high half, as 32-bit guests do */
	for (int i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, race, &r[i]);
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		cr_expect_eq(r[i].bad, 0, "item 0x%x read wrong %d times", r[i].key, r[i].bad);
	}
}

Test(fwcfg_shape, one_cpu_and_no_command_line)
{
	char c = 'x';

	start(1, NULL);
	cr_assert_eq(rd_le(0x05, 2), 1);
	cr_assert_eq(rd_le(0x14, 4), 1, "an empty command line is its NUL");
	sel(0x15);
	rd(&c, 1);
	cr_assert_eq(c, 0);
	teardown();
}

Test(fwcfg_shape, a_bad_memory_map_fails_init)
{
	struct vmm_config cfg = { .vcpus = 1, .mem_bytes = RAM };
	struct vmm *bad = calloc(1, sizeof(*bad));
	void *s = NULL;

	cr_assert_lt(vmm_dev_fwcfg.init(bad, &cfg, &s), 0, "no RAM regions: no e820 map");
	cr_assert_null(s);
	free(bad);
}
