/* The snapshot format: a round trip (the header's flags too: a snapshot
 * has none, a migration stream VMM_SNAP_FLAG_HANDOVER), and a file from another version, a
 * truncated file (cut at every byte), a damaged one, and a host lacking a
 * CPU feature are each refused with a reason, before any section is used. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm-core/snapshot.h"

static char path[64];

static uint32_t sample_flags;

static int write_sample(struct vmm_snap_cpu *cpu)
{
	struct vmm_snap_header h = { .nr_vcpus = 2, .mem_bytes = 64ull << 20,
				     .created_unix_s = 1, .flags = sample_flags };
	struct vmm_snap_writer w;
	uint8_t regs[144], ram[4096 + 8];
	int fd;

	vmm_snap_host_cpu(&h.cpu);
	if (cpu)
		*cpu = h.cpu;
	for (size_t i = 0; i < sizeof(regs); i++)
		regs[i] = (uint8_t)i;
	memset(ram, 0xa5, sizeof(ram));
	snprintf(path, sizeof(path), "/tmp/avmm-snapfmt-XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(vmm_snap_write_header(&w, fd, &h), 0);
	cr_assert_eq(vmm_snap_write_section(&w, VMM_SNAP_REGS, 0, regs, sizeof(regs)), 0);
	cr_assert_eq(vmm_snap_write_section(&w, VMM_SNAP_REGS, 1, regs, sizeof(regs)), 0);
	cr_assert_eq(vmm_snap_write_section(&w, VMM_SNAP_RAM, 0, ram, sizeof(ram)), 0);
	cr_assert_eq(vmm_snap_write_end(&w), 0);
	close(fd);
	return (int)w.bytes;
}

/* Reads the whole file; 0 or the first error, with why. */
static int read_all(const struct vmm_snap_cpu *host, char *why, size_t len, int *sections)
{
	struct vmm_snap_reader r;
	struct vmm_snap_header h;
	struct vmm_snap_sec s;
	uint8_t buf[8192];
	int fd = open(path, O_RDONLY), rc;

	cr_assert_geq(fd, 0);
	*sections = 0;
	rc = vmm_snap_read_header(&r, fd, host, &h);
	while (!rc) {
		rc = vmm_snap_next_section(&r, &s);
		if (rc || s.type == VMM_SNAP_END)
			break;
		cr_assert_leq(s.bytes, sizeof(buf));
		rc = vmm_snap_read_payload(&r, buf, s.bytes);
		if (!rc && s.type == VMM_SNAP_REGS)
			cr_assert_eq(buf[143], 143);
		(*sections)++;
	}
	snprintf(why, len, "%s", r.why);
	close(fd);
	return rc;
}

Test(snapfmt, round_trip)
{
	char why[256];
	int n;

	write_sample(NULL);
	cr_assert_eq(read_all(NULL, why, sizeof(why), &n), 0, "%s", why);
	cr_assert_eq(n, 3);
	unlink(path);
}

Test(snapfmt, header_flags_round_trip)
{
	struct vmm_snap_reader r;
	struct vmm_snap_header h;
	int fd;

	for (int k = 0; k < 2; k++) {
		sample_flags = k ? VMM_SNAP_FLAG_HANDOVER : 0;
		write_sample(NULL);
		fd = open(path, O_RDONLY);
		cr_assert_geq(fd, 0);
		cr_assert_eq(vmm_snap_read_header(&r, fd, NULL, &h), 0, "%s", r.why);
		cr_assert_eq(h.flags, sample_flags);
		cr_assert_eq(h.nr_vcpus, 2u);
		close(fd);
		unlink(path);
	}
	sample_flags = 0;
}

Test(snapfmt, truncated_anywhere_is_refused)
{
	char why[256];
	int total = write_sample(NULL), n;

	for (int cut = 0; cut < total; cut += (cut < 200 ? 1 : 97)) {
		cr_assert_eq(truncate(path, cut), 0);
		cr_assert_eq(read_all(NULL, why, sizeof(why), &n), -ENODATA, "cut at %d", cut);
		cr_assert(strstr(why, "truncated"), "cut at %d: %s", cut, why);
		write_sample(NULL);
	}
	unlink(path);
}

Test(snapfmt, other_version_and_damage_are_refused)
{
	char why[256];
	uint32_t v = VMM_SNAP_VERSION + 1;
	uint8_t x;
	int fd, n;

	write_sample(NULL);
	fd = open(path, O_RDWR);
	cr_assert_eq(pwrite(fd, &v, 4, 8), 4);
	close(fd);
	cr_assert_eq(read_all(NULL, why, sizeof(why), &n), -EPROTO);
	cr_assert(strstr(why, "version 2"), "%s", why);
	cr_assert_eq(n, 0);

	write_sample(NULL);
	fd = open(path, O_RDWR);
	cr_assert_eq(pread(fd, &x, 1, 128 + 16 + 5), 1);
	x ^= 0x40;
	cr_assert_eq(pwrite(fd, &x, 1, 128 + 16 + 5), 1);
	close(fd);
	cr_assert_eq(read_all(NULL, why, sizeof(why), &n), -EPROTO);
	cr_assert(strstr(why, "checksum"), "%s", why);

	write_sample(NULL);
	fd = open(path, O_RDWR);
	cr_assert_eq(pwrite(fd, "NOTASNAP", 8, 0), 8);
	close(fd);
	cr_assert_eq(read_all(NULL, why, sizeof(why), &n), -EPROTO);
	cr_assert(strstr(why, "not an avmm snapshot"), "%s", why);
	unlink(path);
}

Test(snapfmt, host_without_a_needed_cpu_feature_is_refused)
{
	struct vmm_snap_cpu file, host;
	char why[256];
	int n;

	write_sample(&file);
	host = file;
	cr_assert_eq(read_all(&host, why, sizeof(why), &n), 0, "%s", why);
	host.feat[VMM_SNAP_F1_ECX] &= ~(1u << 0);   /* SSE3 */
	file.feat[VMM_SNAP_F1_ECX] |= 1u << 0;
	cr_assert_eq(vmm_snap_cpu_check(&file, &host, why, sizeof(why)), -ENOTSUP);
	cr_assert(strstr(why, "CPUID.1:ECX bits 0x00000001"), "%s", why);
	if (file.feat[VMM_SNAP_F1_ECX] & 1u) {   /* the file (this host) has SSE3 */
		cr_assert_eq(read_all(&host, why, sizeof(why), &n), -ENOTSUP);
		cr_assert_eq(n, 0, "no section read");
	}
	host = file;
	memcpy(host.vendor, "AuthenticAMD", 12);
	if (memcmp(file.vendor, "AuthenticAMD", 12)) {
		cr_assert_eq(read_all(&host, why, sizeof(why), &n), -ENOTSUP);
		cr_assert(strstr(why, "vendor"), "%s", why);
	}
	unlink(path);
}
