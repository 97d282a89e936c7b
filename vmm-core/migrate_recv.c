/*
 * Live migration, the target side (vmm.h: vmm_migrate_receive): reads the
 * stream migrate.c writes from a connected socket, before the VM's vCPUs
 * start. The header is checked first (format version, host CPU, the VM's
 * shape) and answered ('Y', or 'N' and the reason: nothing else moves); then
 * every section is copied as it arrives into an anonymous memory file until
 * END, and that file goes through the snapshot restore (every part present,
 * CRC, then applied). 'K' tells the source it may end; a stream that stops
 * before END, or fails a check, is refused and the VM never runs.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm-core/snapshot_int.h"

#define CHUNK (1u << 20)

static int get_all(int fd, void *buf, uint64_t len)
{
	uint8_t *p = buf;

	for (uint64_t done = 0; done < len;) {
		ssize_t n = read(fd, p + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n ? -errno : -ENODATA;
		done += (uint64_t)n;
	}
	return 0;
}

static int put_all(int fd, const void *buf, uint64_t len)
{
	const uint8_t *p = buf;

	for (uint64_t done = 0; done < len;) {
		ssize_t n = write(fd, p + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n ? -errno : -EIO;
		done += (uint64_t)n;
	}
	return 0;
}

/* Copies n bytes from the socket to the memory file. */
static int copy(int sock, int mfd, uint64_t n, uint8_t *buf)
{
	while (n) {
		uint64_t k = n < CHUNK ? n : CHUNK;
		int rc = get_all(sock, buf, k);

		if (rc || (rc = put_all(mfd, buf, k)))
			return rc;
		n -= k;
	}
	return 0;
}

static void refuse(int sock, const char *why)
{
	char msg[320];

	snprintf(msg, sizeof(msg), "N%s", why);
	(void)!write(sock, msg, strlen(msg));
}

static uint64_t mem_total(const struct vmm *vm)
{
	uint64_t t = 0;

	for (int i = 0; i < vm->mem.nr; i++)
		t += vm->mem.r[i].bytes;
	return t;
}

/* The header: read, kept in mfd, checked. */
static int header(struct vmm *vm, int sock, int mfd, char *why, size_t len)
{
	uint8_t b[VMM_SNAP_HEADER_BYTES];
	struct vmm_snap_reader r;
	struct vmm_snap_header h;
	struct vmm_snap_cpu host;
	int rc = get_all(sock, b, sizeof(b));

	if (rc) {
		snprintf(why, len, "the source sent no complete header (%s)", strerror(-rc));
		return rc;
	}
	if ((rc = put_all(mfd, b, sizeof(b))) || lseek(mfd, 0, SEEK_SET)) {
		snprintf(why, len, "buffering the stream: %s", strerror(rc ? -rc : errno));
		return rc ? rc : -errno;
	}
	vmm_snap_host_cpu(&host);
	rc = vmm_snap_read_header(&r, mfd, &host, &h);
	if (rc) {
		snprintf(why, len, "%s", r.why);
		return rc;
	}
	if (h.nr_vcpus != (uint32_t)vm->nr_vcpus || h.mem_bytes != mem_total(vm)) {
		snprintf(why, len, "the source's VM has %u vCPUs and %llu MiB; this one has %d and "
			 "%llu MiB: start the target with the same --vcpus and --mem", h.nr_vcpus,
			 (unsigned long long)(h.mem_bytes >> 20), vm->nr_vcpus,
			 (unsigned long long)(mem_total(vm) >> 20));
		return -EINVAL;
	}
	return 0;
}

static int body(int sock, int mfd, uint64_t *bytes, char *why, size_t len)
{
	static uint8_t buf[CHUNK];
	struct vmm_snap_sec s;
	int rc;

	for (;;) {
		rc = get_all(sock, &s, sizeof(s));
		if (!rc)
			rc = put_all(mfd, &s, sizeof(s));
		if (!rc && s.type >= VMM_SNAP_NR_TYPES)
			rc = -EPROTO;
		if (!rc)
			rc = copy(sock, mfd, s.type == VMM_SNAP_END ? 4 : s.bytes, buf);
		if (rc) {
			snprintf(why, len, "the stream stopped before its end (%llu bytes received): %s",
				 (unsigned long long)*bytes, rc == -ENODATA ? "the source went away"
				 : strerror(-rc));
			return rc;
		}
		*bytes += sizeof(s) + (s.type == VMM_SNAP_END ? 4 : s.bytes);
		if (s.type == VMM_SNAP_END)
			return 0;
	}
}

int vmm_migrate_receive(struct vmm *vm, int sock, uint64_t *bytes, char *why, size_t len)
{
	int mfd = memfd_create("avmm-incoming", MFD_CLOEXEC), rc;

	why[0] = '\0';
	*bytes = VMM_SNAP_HEADER_BYTES;
	if (mfd < 0) {
		snprintf(why, len, "memfd_create: %s", strerror(errno));
		return -errno;
	}
	rc = header(vm, sock, mfd, why, len);
	if (rc) {
		refuse(sock, why);
		close(mfd);
		return rc;
	}
	if (lseek(mfd, 0, SEEK_END) < 0 || put_all(sock, "Y", 1)) {
		snprintf(why, len, "the source went away after the header");
		close(mfd);
		return -EPIPE;
	}
	rc = body(sock, mfd, bytes, why, len);
	if (!rc)
		rc = vmm_snapshot_restore(vm, mfd, why, len);
	close(mfd);
	if (rc) {
		refuse(sock, why);
		return rc;
	}
	if (put_all(sock, "K", 1)) {
		snprintf(why, len, "the source went away before it was told the VM was restored: "
			 "it keeps running its guest");
		return -EPIPE;
	}
	return 0;
}
