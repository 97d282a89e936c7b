/*
 * Live migration, the target side (vmm.h: vmm_migrate_receive): reads the
 * stream migrate.c writes from a connected socket, before the VM's vCPUs
 * start. The header is checked first (format version, host CPU, the VM's
 * shape) and answered ('Y', or 'N' and the reason: nothing else moves); then
 * every section is copied as it arrives into an anonymous memory file until
 * END, and that file goes through the snapshot restore (every part present,
 * CRC, then applied). 'K' tells the source the VM is restored; the VM runs
 * only once the source answers 'G' (it stopped for good), and 'R' says it
 * does (a source from before the handover, without the header's
 * VMM_SNAP_FLAG_HANDOVER, sends no 'G': the VM runs after 'K', as then). A
 * stream that stops before END, or fails a check, is refused, and without
 * 'G' the VM never runs.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/util.h"
#include "vmm-core/loader.h"
#include "vmm-core/snapshot_int.h"

#define CHUNK (1u << 20)

/* The source's 'G' after 'K': it stopped for good, this side runs the VM.
 * Anything else (an answer that does not come, a closed socket): the
 * source keeps its guest, and this one never runs. */
static int await_go(int sock, uint64_t wait_ms, char *why, size_t len)
{
	char answer[256];

	if (!vmm_migrate_answer(sock, "the source", 'G', "the handover", wait_ms, answer,
				sizeof(answer)))
		return 0;
	snprintf(why, len, "the source did not hand the VM over after it was restored (%s): "
		 "it keeps running its guest, and this side does not", answer);
	return -EPIPE;
}

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
static int header(struct vmm *vm, int sock, int mfd, uint8_t *b, struct vmm_snap_header *h,
		  char *why, size_t len)
{
	struct vmm_snap_reader r;
	struct vmm_snap_cpu host;
	int rc = get_all(sock, b, VMM_SNAP_HEADER_BYTES);

	if (rc) {
		snprintf(why, len, "the source sent no complete header (%s)", strerror(-rc));
		return rc;
	}
	if ((rc = put_all(mfd, b, VMM_SNAP_HEADER_BYTES)) || lseek(mfd, 0, SEEK_SET)) {
		snprintf(why, len, "buffering the stream: %s", strerror(rc ? -rc : errno));
		return rc ? rc : -errno;
	}
	vmm_snap_host_cpu(&host);
	rc = vmm_snap_read_header(&r, mfd, &host, h);
	if (rc) {
		snprintf(why, len, "%s", r.why);
		return rc;
	}
	if (h->nr_vcpus != (uint32_t)vm->nr_vcpus || h->mem_bytes != mem_total(vm)) {
		snprintf(why, len, "the source's VM has %u vCPUs and %llu MiB; this one has %d and "
			 "%llu MiB: start the target with the same --vcpus and --mem", h->nr_vcpus,
			 (unsigned long long)(h->mem_bytes >> 20), vm->nr_vcpus,
			 (unsigned long long)(mem_total(vm) >> 20));
		return -EINVAL;
	}
	return 0;
}

struct stream {
	uint32_t crc, nr;            /* the whole stream's, as sent */
	uint32_t mcrc, mnr;          /* the memory file's */
	uint64_t bytes;
};

static int get_crc(int sock, void *buf, uint64_t len, struct stream *st)
{
	int rc = get_all(sock, buf, len);

	if (!rc)
		st->crc = vmm_snap_crc32c(st->crc, buf, len), st->bytes += len;
	return rc;
}

static int keep(int mfd, const void *buf, uint64_t len, struct stream *st)
{
	st->mcrc = vmm_snap_crc32c(st->mcrc, buf, len);
	return put_all(mfd, buf, len);
}

/* A RAM section: straight into guest RAM. */
static int ram(struct vmm *vm, int sock, const struct vmm_snap_sec *s, struct stream *st,
	       char *why, size_t len)
{
	uint64_t gpa, n = s->bytes - 8;
	uint8_t *hva;
	int rc;

	if (s->bytes < 8 + 4096 || n % 4096) {
		snprintf(why, len, "a RAM section of %llu bytes", (unsigned long long)s->bytes);
		return -EPROTO;
	}
	if ((rc = get_crc(sock, &gpa, 8, st)))
		return rc;
	hva = vmm_gpa_ptr(&vm->mem, gpa, n);
	if (!hva) {
		snprintf(why, len, "RAM at 0x%llx (+%llu bytes) is outside this VM's memory",
			 (unsigned long long)gpa, (unsigned long long)n);
		return -EPROTO;
	}
	return get_crc(sock, hva, n, st);
}

static int body(struct vmm *vm, int sock, int mfd, struct stream *st, char *why, size_t len)
{
	static uint8_t buf[CHUNK];
	struct vmm_snap_sec s, end;
	uint32_t crc, want;
	int rc;

	for (;;) {
		rc = get_crc(sock, &s, sizeof(s), st);
		if (!rc && s.type >= VMM_SNAP_NR_TYPES) {
			snprintf(why, len, "unknown section type %u", s.type);
			return -EPROTO;
		}
		if (!rc && s.type == VMM_SNAP_END)
			break;
		st->nr++;
		if (!rc && s.type == VMM_SNAP_RAM) {
			rc = ram(vm, sock, &s, st, why, len);
		} else if (!rc && s.bytes > 64u << 20) {
			snprintf(why, len, "a section of %llu bytes", (unsigned long long)s.bytes);
			return -EPROTO;
		} else if (!rc) {
			st->mnr++;
			rc = keep(mfd, &s, sizeof(s), st);
			for (uint64_t left = s.bytes; !rc && left;) {
				uint64_t k = left < CHUNK ? left : CHUNK;

				if (!(rc = get_crc(sock, buf, k, st)))
					rc = keep(mfd, buf, k, st);
				left -= k;
			}
		}
		if (rc) {
			if (!why[0])
				snprintf(why, len, "the stream stopped before its end (%llu bytes "
					 "received): %s", (unsigned long long)st->bytes,
					 rc == -ENODATA ? "the source went away" : strerror(-rc));
			return rc;
		}
	}
	want = st->crc;
	if ((rc = get_all(sock, &crc, 4))) {
		snprintf(why, len, "the stream stopped inside its END");
		return rc;
	}
	if (s.bytes != 4 || s.index != st->nr || crc != want) {
		snprintf(why, len, "the stream is damaged: END says %u sections and CRC 0x%08x, "
			 "%u arrived with CRC 0x%08x", s.index, crc, st->nr, want);
		return -EPROTO;
	}
	end = (struct vmm_snap_sec){ VMM_SNAP_END, st->mnr, 4 };   /* the memory file's */
	rc = keep(mfd, &end, sizeof(end), st);
	crc = st->mcrc;
	return rc ? rc : put_all(mfd, &crc, 4);
}

static void zero_ram(struct vmm *vm)
{
	for (int i = 0; i < vm->mem.nr; i++)
		if (madvise(vm->mem.r[i].hva, vm->mem.r[i].bytes, MADV_DONTNEED))
			memset(vm->mem.r[i].hva, 0, vm->mem.r[i].bytes);
}

int vmm_migrate_receive(struct vmm *vm, int sock, uint64_t answer_ms, uint64_t *bytes, char *why,
			size_t len)
{
	int mfd = memfd_create("avmm-incoming", MFD_CLOEXEC), rc;
	struct stream st = { 0 };
	struct vmm_snap_header h;
	uint8_t hdr[VMM_SNAP_HEADER_BYTES];

	why[0] = '\0';
	*bytes = VMM_SNAP_HEADER_BYTES;
	if (mfd < 0) {
		snprintf(why, len, "memfd_create: %s", strerror(errno));
		return -errno;
	}
	rc = header(vm, sock, mfd, hdr, &h, why, len);
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
	st.crc = st.mcrc = vmm_snap_crc32c(0, hdr, sizeof(hdr));
	st.bytes = sizeof(hdr);
	zero_ram(vm);   /* the loader's image: the source sends no zero page */
	rc = body(vm, sock, mfd, &st, why, len);
	*bytes = st.bytes;
	if (!rc)
		rc = vmm_snapshot_restore_state(vm, mfd, why, len);
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
	if (!(h.flags & VMM_SNAP_FLAG_HANDOVER)) {
		util_warn("the source is an avmm from before the handover: this side runs the VM "
			  "now (if the source missed the 'restored' answer, it resumes its guest too)");
		return 0;
	}
	rc = await_go(sock, answer_ms, why, len);
	if (!rc)
		(void)!put_all(sock, "R", 1);   /* lost: the source stays paused, and says so */
	return rc;
}
