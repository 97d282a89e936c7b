/*
 * Guest image format detection:
 *   bzImage      0xAA55 at 0x1fe and "HdrS" at 0x202      -> vmm_load_bzimage
 *   ELF + PVH    an ELF with a Xen PHYS32_ENTRY note       -> vmm_load_pvh
 *   Multiboot v1 0x1BADB002 (+ valid checksum) 4-aligned
 *                in the first 8192 bytes                   -> vmm_load_multiboot
 * A PVH note wins over a Multiboot header (the kernel speaks both).
 */
#include "vmm-core/loader.h"

#include "common/util.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define MB1_MAGIC  0x1badb002u
#define MB1_SEARCH 8192

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static bool is_bzimage(const struct vmm_image *img)
{
	return img->size >= 0x206 && img->data[0x1fe] == 0x55 && img->data[0x1ff] == 0xaa &&
	       !memcmp(img->data + 0x202, "HdrS", 4);
}

/* Multiboot v1 header: magic, flags, checksum with magic + flags + checksum == 0. */
static bool has_multiboot1(const struct vmm_image *img)
{
	size_t end = UTIL_MIN(img->size, (size_t)MB1_SEARCH), off;

	for (off = 0; off + 12 <= end; off += 4) {
		const uint8_t *p = img->data + off;

		if (rd32(p) == MB1_MAGIC && (uint32_t)(rd32(p) + rd32(p + 4) + rd32(p + 8)) == 0)
			return true;
	}
	return false;
}

int vmm_load_guest(const struct vmm_image *img, const struct vmm_mem_map *map,
		   const struct vmm_load_args *args, struct vmm_boot *boot)
{
	static const struct vmm_load_args none;
	struct vmm_image im;
	char why[256] = "";
	uint64_t entry;
	int rc;

	if (!img || !img->data || !map || !boot)
		return -EINVAL;
	im = *img;
	im.path = img->path ? img->path : "guest image";
	if (!args)
		args = &none;
	if (is_bzimage(&im))
		return vmm_load_bzimage(&im, map, args, boot);
	rc = vmm_pvh_entry(&im, &entry, why, sizeof(why));
	if (rc == 0)
		return vmm_load_pvh(&im, map, args, boot);
	if (has_multiboot1(&im))
		return vmm_load_multiboot(&im, map, args, boot);
	if (rc == -ENOENT) {
		util_err("%s: ELF has neither a Xen PVH entry note nor a Multiboot v1 header: "
			 "build Linux with CONFIG_PVH=y, or pass its bzImage", im.path);
		return -ENOEXEC;
	}
	if (im.size >= 4 && !memcmp(im.data, "\177ELF", 4)) {
		util_err("%s: %s", im.path, why);
		return -ENOEXEC;
	}
	util_err("%s: unknown guest format (%zu bytes): avmm boots a Linux bzImage, an ELF "
		 "vmlinux with a PVH entry note, or a Multiboot v1 kernel", im.path, im.size);
	return -ENOEXEC;
}
