/* The snapshot file format (snapshot.h): header, sections, END with CRC-32,
 * and the checks a reader makes before anything is restored. */
#include <cpuid.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vmm-core/snapshot.h"

/* Header byte offsets (little-endian; avmm runs on x86 only). */
enum { H_MAGIC = 0, H_VERSION = 8, H_BYTES = 12, H_VCPUS = 16, H_XSAVE = 20, H_MEM = 24,
       H_CREATED = 32, H_VENDOR = 40, H_FEAT = 52 };

static const char *const feat_names[VMM_SNAP_NR_FEAT] = {
	"CPUID.1:ECX", "CPUID.1:EDX", "CPUID.7.0:EBX", "CPUID.7.0:ECX", "CPUID.7.0:EDX",
	"CPUID.80000001:ECX", "CPUID.80000001:EDX", "CPUID.D.1:EAX",
};

/* CRC-32 (IEEE 802.3, reflected 0xedb88320), eight bytes a step with eight
 * tables ("slicing-by-8"): the same value as the byte-wise loop, 4-6 times
 * faster (it is computed over every byte a snapshot or migration moves, on
 * both sides). */
static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^
					  crc_table[0][crc_table[t - 1][i] & 0xff];
}

uint32_t vmm_snap_crc32(uint32_t crc, const void *buf, size_t len)
{
	const uint32_t (*T)[256] = crc_table;
	const uint8_t *p = buf;
	uint32_t lo, hi;

	pthread_once(&crc_once, crc_init);
	crc = ~crc;
	for (; len && ((uintptr_t)p & 7); len--)
		crc = T[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	for (; len >= 8; len -= 8, p += 8) {   /* little-endian: x86 only */
		memcpy(&lo, p, 4);
		memcpy(&hi, p + 4, 4);
		lo ^= crc;
		crc = T[7][lo & 0xff] ^ T[6][(lo >> 8) & 0xff] ^ T[5][(lo >> 16) & 0xff] ^
		      T[4][lo >> 24] ^ T[3][hi & 0xff] ^ T[2][(hi >> 8) & 0xff] ^
		      T[1][(hi >> 16) & 0xff] ^ T[0][hi >> 24];
	}
	while (len--)
		crc = T[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

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

static int put(struct vmm_snap_writer *w, const void *buf, uint64_t len)
{
	const uint8_t *p = buf;
	uint64_t done = 0;

	while (done < len) {
		ssize_t n = write(w->fd, p + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (uint64_t)n;
	}
	w->crc = vmm_snap_crc32(w->crc, buf, len);
	w->bytes += len;
	return 0;
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
	return put(w, b, sizeof(b));
}

int vmm_snap_write_section(struct vmm_snap_writer *w, uint32_t type, uint32_t index,
			   const void *payload, uint64_t bytes)
{
	struct vmm_snap_sec s = { type, index, bytes };
	int rc = put(w, &s, sizeof(s));

	if (!rc && bytes)
		rc = put(w, payload, bytes);
	if (!rc)
		w->nr_sections++;
	return rc;
}

int vmm_snap_write_parts(struct vmm_snap_writer *w, uint32_t type, uint32_t index,
			 const void *a, uint64_t a_bytes, const void *b, uint64_t b_bytes)
{
	struct vmm_snap_sec s = { type, index, a_bytes + b_bytes };
	int rc = put(w, &s, sizeof(s));

	if (!rc && a_bytes)
		rc = put(w, a, a_bytes);
	if (!rc && b_bytes)
		rc = put(w, b, b_bytes);
	if (!rc)
		w->nr_sections++;
	return rc;
}

int vmm_snap_write_end(struct vmm_snap_writer *w)
{
	struct vmm_snap_sec s = { VMM_SNAP_END, w->nr_sections, 4 };
	uint32_t crc;
	int rc = put(w, &s, sizeof(s));

	crc = w->crc;   /* of everything before the CRC itself */
	return rc ? rc : put(w, &crc, 4);
}
