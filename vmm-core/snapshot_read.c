/* Reading a snapshot (snapshot.h): every refusal says what is wrong, at
 * which byte, and what to do; nothing is restored before the checks pass. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vmm-core/snapshot.h"

enum { H_VERSION = 8, H_BYTES = 12, H_VCPUS = 16, H_XSAVE = 20, H_MEM = 24, H_CREATED = 32,
       H_VENDOR = 40, H_FEAT = 52, H_FLAGS = 84 };

/* 0, -ENODATA at end of file (with what it wanted in why), -errno. */
static int get(struct vmm_snap_reader *r, void *buf, uint64_t len, const char *what)
{
	uint8_t *p = buf;
	uint64_t done = 0;

	while (done < len) {
		ssize_t n = read(r->fd, p + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(r->why, sizeof(r->why), "reading %s at byte %llu: %s", what,
				 (unsigned long long)(r->off + done), strerror(errno));
			return -errno;
		}
		if (n == 0) {
			snprintf(r->why, sizeof(r->why), "the file is truncated: it ends at byte %llu "
				 "inside %s (%llu of %llu bytes); it cannot be restored",
				 (unsigned long long)(r->off + done), what, (unsigned long long)done,
				 (unsigned long long)len);
			return -ENODATA;
		}
		done += (uint64_t)n;
	}
	r->crc = vmm_snap_crc32c(r->crc, buf, len);
	r->off += len;
	return 0;
}

int vmm_snap_read_header(struct vmm_snap_reader *r, int fd, const struct vmm_snap_cpu *host,
			 struct vmm_snap_header *out)
{
	uint8_t b[VMM_SNAP_HEADER_BYTES];
	uint32_t hb;
	int rc;

	memset(r, 0, sizeof(*r));
	memset(out, 0, sizeof(*out));
	r->fd = fd;
	rc = get(r, b, 16, "the header");
	if (rc)
		return rc;
	if (memcmp(b, VMM_SNAP_MAGIC, 8)) {
		snprintf(r->why, sizeof(r->why), "not an avmm snapshot (its first bytes are not "
			 "\"%s\")", VMM_SNAP_MAGIC);
		return -EPROTO;
	}
	memcpy(&out->version, b + H_VERSION, 4);
	memcpy(&hb, b + H_BYTES, 4);
	if (out->version != VMM_SNAP_VERSION || hb != VMM_SNAP_HEADER_BYTES) {
		snprintf(r->why, sizeof(r->why), "snapshot format version %u (header %u bytes); this "
			 "avmm reads version %u only: restore it with the avmm that wrote it",
			 out->version, hb, VMM_SNAP_VERSION);
		return -EPROTO;
	}
	rc = get(r, b + 16, VMM_SNAP_HEADER_BYTES - 16, "the header");
	if (rc)
		return rc;
	memcpy(&out->nr_vcpus, b + H_VCPUS, 4);
	memcpy(&out->cpu.xsave_bytes, b + H_XSAVE, 4);
	memcpy(&out->mem_bytes, b + H_MEM, 8);
	memcpy(&out->created_unix_s, b + H_CREATED, 8);
	memcpy(out->cpu.vendor, b + H_VENDOR, 12);
	memcpy(out->cpu.feat, b + H_FEAT, sizeof(out->cpu.feat));
	memcpy(&out->flags, b + H_FLAGS, 4);
	if (host && (rc = vmm_snap_cpu_check(&out->cpu, host, r->why, sizeof(r->why))))
		return rc;
	return 0;
}

int vmm_snap_next_section(struct vmm_snap_reader *r, struct vmm_snap_sec *out)
{
	uint32_t want, crc;
	int rc;

	if (r->cur_left) {
		snprintf(r->why, sizeof(r->why), "section %u read only in part", r->cur.type);
		return -EINVAL;
	}
	rc = get(r, &r->cur, sizeof(r->cur), "a section head");
	if (rc)
		return rc;
	if (r->cur.type >= VMM_SNAP_NR_TYPES) {
		snprintf(r->why, sizeof(r->why), "unknown section type %u at byte %llu: the file "
			 "is damaged or from another version", r->cur.type,
			 (unsigned long long)(r->off - sizeof(r->cur)));
		return -EPROTO;
	}
	*out = r->cur;
	if (r->cur.type != VMM_SNAP_END) {
		r->nr_sections++;
		r->cur_left = r->cur.bytes;
		return 0;
	}
	want = r->crc;
	if (r->cur.bytes != 4 || r->cur.index != r->nr_sections) {
		snprintf(r->why, sizeof(r->why), "the end section says %u sections, %u were read",
			 r->cur.index, r->nr_sections);
		return -EPROTO;
	}
	rc = get(r, &crc, 4, "the checksum");
	if (rc)
		return rc;
	if (crc != want) {
		snprintf(r->why, sizeof(r->why), "checksum mismatch (file 0x%08x, computed 0x%08x): "
			 "the file is damaged", crc, want);
		return -EPROTO;
	}
	return 0;
}

int vmm_snap_read_payload(struct vmm_snap_reader *r, void *buf, uint64_t bytes)
{
	char what[48];

	if (bytes > r->cur_left) {
		snprintf(r->why, sizeof(r->why), "section %u has %llu bytes left, %llu wanted",
			 r->cur.type, (unsigned long long)r->cur_left, (unsigned long long)bytes);
		return -EPROTO;
	}
	snprintf(what, sizeof(what), "section %u (index %u)", r->cur.type, r->cur.index);
	r->cur_left -= bytes;
	return get(r, buf, bytes, what);
}
