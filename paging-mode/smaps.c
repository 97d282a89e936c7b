/*
 * How guest RAM is backed, from /proc/PID/smaps: bytes resident in 4 KiB,
 * 2 MiB and 1 GiB pages of the mapping(s) that hold a range.
 *
 * smaps gives totals per VMA, never per address: a range that spans several
 * VMAs (guest RAM is one mapping, but madvise over part of it splits the VMA,
 * e.g. MADV_HUGEPAGE over the 2 MiB-aligned middle) is counted as the sum of
 * every VMA that overlaps it, whole; size is the sum of those VMAs' sizes.
 *
 * Per VMA: AnonHugePages, ShmemPmdMapped and FilePmdMapped are 2 MiB pages;
 * a hugetlb VMA (KernelPageSize 2048 or 1048576 kB) holds its pages in
 * Private_Hugetlb + Shared_Hugetlb (its Rss is 0) and they count as 2m or 1g
 * and as resident; the rest of Rss is 4 KiB pages.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "paging-mode/pgmode.h"

#define KIB 1024ull

struct vma {
	uint64_t start, end;
	uint64_t rss_kib, anon_huge_kib, shmem_pmd_kib, file_pmd_kib, kernel_page_kib;
	uint64_t private_hugetlb_kib, shared_hugetlb_kib;
};

/* "7f00-7f80 rw-p ..." -> start, end; 0 if the line is not a VMA header. */
static int header(const char *line, uint64_t *start, uint64_t *end)
{
	char *e;

	*start = strtoull(line, &e, 16);
	if (e == line || *e != '-')
		return 0;
	line = e + 1;
	*end = strtoull(line, &e, 16);
	return e != line && *e == ' ';
}

/* "Name:   123 kB" -> 123 when the line starts with name; else leaves v. */
static void field(const char *line, const char *name, uint64_t *v)
{
	size_t n = strlen(name);

	if (!strncmp(line, name, n) && line[n] == ':')
		*v = strtoull(line + n + 1, NULL, 10);
}

/* kB of a field in bytes, at most the mapping's size (a text that claims
 * more, or overflows, is not what the kernel writes) */
static uint64_t bytes_of(uint64_t kib, uint64_t size)
{
	return kib > size / KIB ? size : kib * KIB;
}

/* Sums saturate: no text makes a total wrap round. */
static void add(uint64_t *sum, uint64_t v)
{
	*sum = *sum > UINT64_MAX - v ? UINT64_MAX : *sum + v;
}

static void add_vma(const struct vma *m, struct pgmode_backing *b)
{
	uint64_t size = m->end - m->start, rss = bytes_of(m->rss_kib, size);
	uint64_t huge = bytes_of(m->anon_huge_kib, size), hugetlb;

	add(&huge, bytes_of(m->shmem_pmd_kib, size));
	add(&huge, bytes_of(m->file_pmd_kib, size));
	hugetlb = bytes_of(m->private_hugetlb_kib, size);
	add(&hugetlb, bytes_of(m->shared_hugetlb_kib, size));
	add(&b->size, size);
	if (hugetlb && (m->kernel_page_kib == 2048 || m->kernel_page_kib == 1048576)) {
		if (m->kernel_page_kib == 2048)
			add(&b->bytes_2m, hugetlb);
		else
			add(&b->bytes_1g, hugetlb);
		add(&b->rss, hugetlb);
		add(&b->rss, rss);
		add(&b->bytes_4k, rss);
		return;
	}
	if (huge > rss)
		huge = rss;
	add(&b->rss, rss);
	add(&b->bytes_2m, huge);
	add(&b->bytes_4k, rss - huge);
}

int pgmode_parse_smaps(const char *smaps, uint64_t start, uint64_t len, struct pgmode_backing *out)
{
	struct vma m = { 0 };
	const char *line = smaps;
	uint64_t end = start + len;
	int in = 0, found = 0;

	memset(out, 0, sizeof(*out));
	if (!smaps || !len || end < start) {
		snprintf(out->why, sizeof(out->why), "no smaps text or an empty range");
		return -EINVAL;
	}
	while (*line) {
		const char *nl = strchr(line, '\n');
		uint64_t s, e;

		if (header(line, &s, &e)) {
			if (in)
				add_vma(&m, out);
			memset(&m, 0, sizeof(m));
			m.start = s;
			m.end = e;
			in = s < end && start < e;
			found |= in;
		} else if (in) {
			field(line, "Rss", &m.rss_kib);
			field(line, "AnonHugePages", &m.anon_huge_kib);
			field(line, "ShmemPmdMapped", &m.shmem_pmd_kib);
			field(line, "FilePmdMapped", &m.file_pmd_kib);
			field(line, "KernelPageSize", &m.kernel_page_kib);
			field(line, "Private_Hugetlb", &m.private_hugetlb_kib);
			field(line, "Shared_Hugetlb", &m.shared_hugetlb_kib);
		}
		if (!nl)
			break;
		line = nl + 1;
	}
	if (in)
		add_vma(&m, out);
	if (!found) {
		snprintf(out->why, sizeof(out->why),
			 "no mapping in smaps holds 0x%" PRIx64 "-0x%" PRIx64
			 " (unmapped, or smaps of another process)", start, end);
		return -ENOENT;
	}
	out->valid = true;
	return 0;
}

/* The whole file into a growing buffer (smaps of a big process is large). */
static int slurp(const char *path, char **out, char *why, size_t len)
{
	size_t cap = 64 << 10, n = 0;
	char *buf = malloc(cap), *nb;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;
	ssize_t r;

	if (fd < 0 || !buf) {
		err = fd < 0 ? -errno : -ENOMEM;
		snprintf(why, len, "cannot read %.120s: %s%s", path, strerror(-err),
			 err == -EACCES ? " (smaps of another user's process needs root)" : "");
		goto fail;
	}
	for (;;) {
		if (cap - n < 4096) {
			nb = realloc(buf, cap * 2);
			if (!nb) {
				err = -ENOMEM;
				snprintf(why, len, "cannot read %.120s: out of memory at %zu bytes", path, cap);
				goto fail;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = -errno;
			snprintf(why, len, "cannot read %.120s: %s", path, strerror(-err));
			goto fail;
		}
		if (!r)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = 0;
	*out = buf;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	free(buf);
	return err;
}

int pgmode_read_backing(const char *fsroot, pid_t pid, uint64_t start, uint64_t len,
			struct pgmode_backing *out)
{
	char rel[64], path[4096], *text = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (pid)
		snprintf(rel, sizeof(rel), "/proc/%d/smaps", (int)pid);
	else
		snprintf(rel, sizeof(rel), "/proc/self/smaps");
	rc = util_path(path, sizeof(path), fsroot, rel);
	if (rc) {
		snprintf(out->why, sizeof(out->why), "fsroot path too long for %s", rel);
		return rc;
	}
	rc = slurp(path, &text, out->why, sizeof(out->why));
	if (rc)
		return rc;
	rc = pgmode_parse_smaps(text, start, len, out);
	if (rc) {
		char why[PGMODE_WHY];

		snprintf(why, sizeof(why), "%.60s: %.120s", path, out->why);
		snprintf(out->why, sizeof(out->why), "%s", why);
	}
	free(text);
	return rc;
}
