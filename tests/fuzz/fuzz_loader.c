/* libFuzzer harness: the guest image loaders (format detection, Multiboot v1,
 * ELF64/ELF32 through the PVH note, Linux bzImage) on an arbitrary image file,
 * loading into plain malloc'd guest RAM as the loader tests do (no KVM).
 *
 * Each input is loaded three times:
 *   1. vmm_load_guest (detection) into one 16 MiB region, no arguments;
 *   2. each loader called directly, into 16 MiB at 0 plus 1 MiB at 4 GiB,
 *      with a command line and a small initrd, so the loaders see images
 *      detection would send elsewhere and the initrd/e820 paths run.
 * Guest RAM is not cleared between inputs (loaders must not depend on it). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm-core/loader.h"

#define FUZZ_LOW_BYTES (16ull << 20)
#define FUZZ_HIGH_BYTES (1ull << 20)
#define FUZZ_INITRD_BYTES 8192

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The PVH loader promises an entry inside the kernel it loaded (Multiboot
 * and bzImage enter where the image says, checked or not by the guest). */
static void check_pvh_entry(int rc, const struct vmm_boot *b, const struct vmm_mem_map *map)
{
	if (rc == 0 && (b->rip < VMM_MIN_LOAD_GPA || !vmm_gpa_ptr(map, b->rip, 1)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *low, *high, *initrd;
	static uint8_t *copy;
	struct vmm_mem_map one = { 0 }, two = { 0 };
	struct vmm_load_args args = { 0 };
	struct vmm_image img;
	struct vmm_boot boot;
	int rc;

	if (!low) {
		low = calloc(1, FUZZ_LOW_BYTES);
		high = calloc(1, FUZZ_HIGH_BYTES);
		initrd = malloc(FUZZ_INITRD_BYTES);
		if (!low || !high || !initrd)
			abort();
		memset(initrd, 0x5a, FUZZ_INITRD_BYTES);
	}
	/* An exact-size copy, so reads past the image are caught. */
	copy = malloc(size ? size : 1);
	if (!copy)
		abort();
	memcpy(copy, data, size);
	img = (struct vmm_image){ .data = copy, .size = size, .path = "fuzz.img" };

	one.nr = 1;
	one.r[0].gpa = 0;
	one.r[0].bytes = FUZZ_LOW_BYTES;
	one.r[0].hva = low;
	two = one;
	two.nr = 2;
	two.r[1].gpa = VMM_HIGH_GPA;
	two.r[1].bytes = FUZZ_HIGH_BYTES;
	two.r[1].hva = high;

	vmm_load_guest(&img, &one, NULL, &boot);

	args.cmdline = "console=ttyS0 root=/dev/ram0";
	args.initrd = initrd;
	args.initrd_size = FUZZ_INITRD_BYTES;
	args.initrd_path = "fuzz.initrd";
	args.vcpus = 2;
	vmm_load_multiboot(&img, &two, &args, &boot);
	rc = vmm_load_pvh(&img, &two, &args, &boot);
	check_pvh_entry(rc, &boot, &two);
	vmm_load_bzimage(&img, &two, &args, &boot);
	free(copy);
	return 0;
}
