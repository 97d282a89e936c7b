/* The snapshot file format (snapshot.h): header, sections, END with CRC-32C,
 * and the checks a reader makes before anything is restored. */
#include <cpuid.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "vmm-core/snapshot.h"

/* Header byte offsets (little-endian; avmm runs on x86 only). */
enum { H_MAGIC = 0, H_VERSION = 8, H_BYTES = 12, H_VCPUS = 16, H_XSAVE = 20, H_MEM = 24,
       H_CREATED = 32, H_VENDOR = 40, H_FEAT = 52, H_FLAGS = 84 };

static const char *const feat_names[VMM_SNAP_NR_FEAT] = {
	"CPUID.1:ECX", "CPUID.1:EDX", "CPUID.7.0:EBX", "CPUID.7.0:ECX", "CPUID.7.0:EDX",
	"CPUID.80000001:ECX", "CPUID.80000001:EDX", "CPUID.D.1:EAX",
};

void vmm_snap_host_cpu(struct vmm_snap_cpu *out)
{
	unsigned a, b, c, d, max, xmax;

	memset(out, 0, sizeof(*out));
	__cpuid(0, max, b, c, d);
	memcpy(out->vendor, &b, 4);
	memcpy(out->vendor + 4, &d, 4);
	memcpy(out->vendor + 8, &c, 4);
	__cpuid(1, a, b, out->feat[VMM_SNAP_F1_ECX], out->feat[VMM_SNAP_F1_EDX]);
	if (max >= 7)
		__cpuid_count(7, 0, a, out->feat[VMM_SNAP_F7_EBX], out->feat[VMM_SNAP_F7_ECX],
			      out->feat[VMM_SNAP_F7_EDX]);
	if (max >= 0xd) {
		__cpuid_count(0xd, 0, a, b, out->xsave_bytes, d);
		__cpuid_count(0xd, 1, out->feat[VMM_SNAP_FD1_EAX], b, c, d);
	}
	__cpuid(0x80000000, xmax, b, c, d);
	if (xmax >= 0x80000001)
		__cpuid(0x80000001, a, b, out->feat[VMM_SNAP_FX1_ECX], out->feat[VMM_SNAP_FX1_EDX]);
	/* bits that say nothing about what the guest can run: the APIC id, the
	 * OSXSAVE mirror of the host's CR4 */
	out->feat[VMM_SNAP_F1_ECX] &= ~(1u << 27);
}

int vmm_snap_cpu_check(const struct vmm_snap_cpu *file, const struct vmm_snap_cpu *host,
		       char *why, size_t why_len)
{
	if (strncmp(file->vendor, host->vendor, 12)) {
		snprintf(why, why_len, "the snapshot was taken on a %.12s CPU and this host has a "
			 "%.12s one: restore it on a host of the same vendor", file->vendor,
			 host->vendor);
		return -ENOTSUP;
	}
	for (int i = 0; i < VMM_SNAP_NR_FEAT; i++) {
		uint32_t missing = file->feat[i] & ~host->feat[i];

		if (missing) {
			snprintf(why, why_len, "this host lacks CPU features the snapshot's guest may "
				 "use: %s bits 0x%08x; restore it on a host with them", feat_names[i],
				 missing);
			return -ENOTSUP;
		}
	}
	if (file->xsave_bytes > host->xsave_bytes) {
		snprintf(why, why_len, "the snapshot's XSAVE area (%u bytes) is larger than this "
			 "host's (%u bytes)", file->xsave_bytes, host->xsave_bytes);
		return -ENOTSUP;
	}
	return 0;
}

/* Writes the parts in order, with as few writev calls as the fd takes
 * (one, mostly: a RAM run's section head, gpa and pages go together); the
 * check covers them as written. */
static int put_iov(struct vmm_snap_writer *w, struct iovec *iov, int n)
{
	uint64_t total = 0;

	for (int i = 0; i < n; i++) {
		w->crc = vmm_snap_crc32c(w->crc, iov[i].iov_base, iov[i].iov_len);
		total += iov[i].iov_len;
	}
	while (n) {
		ssize_t k = writev(w->fd, iov, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? -errno : -EIO;
		for (size_t left = (size_t)k; n && left;) {
			size_t step = left < iov->iov_len ? left : iov->iov_len;

			iov->iov_base = (uint8_t *)iov->iov_base + step;
			iov->iov_len -= step;
			left -= step;
			if (!iov->iov_len)
				iov++, n--;
		}
		while (n && !iov->iov_len)
			iov++, n--;
	}
	w->bytes += total;
	return 0;
}

static int put(struct vmm_snap_writer *w, const void *buf, uint64_t len)
{
	struct iovec v = { (void *)buf, len };

	return put_iov(w, &v, 1);
}

int vmm_snap_write_header(struct vmm_snap_writer *w, int fd, const struct vmm_snap_header *h)
{
	uint8_t b[VMM_SNAP_HEADER_BYTES] = { 0 };
	uint32_t v = h->version ? h->version : VMM_SNAP_VERSION, hb = VMM_SNAP_HEADER_BYTES;

	memset(w, 0, sizeof(*w));
	w->fd = fd;
	memcpy(b + H_MAGIC, VMM_SNAP_MAGIC, 8);
	memcpy(b + H_VERSION, &v, 4);
	memcpy(b + H_BYTES, &hb, 4);
	memcpy(b + H_VCPUS, &h->nr_vcpus, 4);
	memcpy(b + H_XSAVE, &h->cpu.xsave_bytes, 4);
	memcpy(b + H_MEM, &h->mem_bytes, 8);
	memcpy(b + H_CREATED, &h->created_unix_s, 8);
	memcpy(b + H_VENDOR, h->cpu.vendor, 12);
	memcpy(b + H_FEAT, h->cpu.feat, sizeof(h->cpu.feat));
	memcpy(b + H_FLAGS, &h->flags, 4);
	return put(w, b, sizeof(b));
}

int vmm_snap_write_parts(struct vmm_snap_writer *w, uint32_t type, uint32_t index,
			 const void *a, uint64_t a_bytes, const void *b, uint64_t b_bytes)
{
	struct vmm_snap_sec s = { type, index, a_bytes + b_bytes };
	struct iovec v[3] = { { &s, sizeof(s) }, { (void *)a, a_bytes }, { (void *)b, b_bytes } };
	int rc = put_iov(w, v, 3);

	if (!rc)
		w->nr_sections++;
	return rc;
}

int vmm_snap_write_section(struct vmm_snap_writer *w, uint32_t type, uint32_t index,
			   const void *payload, uint64_t bytes)
{
	return vmm_snap_write_parts(w, type, index, payload, bytes, NULL, 0);
}

int vmm_snap_write_end(struct vmm_snap_writer *w)
{
	struct vmm_snap_sec s = { VMM_SNAP_END, w->nr_sections, 4 };
	uint32_t crc;
	int rc = put(w, &s, sizeof(s));

	crc = w->crc;   /* of everything before the CRC itself */
	return rc ? rc : put(w, &crc, 4);
}
