/* bankmap: a process's guest RAM range (/proc/PID/maps) and its physical
 * frames (/proc/PID/pagemap). */
#include "bankmap/bankmap.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"

int bankmap_maps_largest_anon(const char *maps, uint64_t *start, uint64_t *end)
{
	uint64_t best = 0;
	const char *line;

	for (line = maps; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		unsigned long long a, b, off, inode;
		char perms[8], dev[16], buf[512];
		size_t len = strcspn(line, "\n");
		int n = 0;

		if (len >= sizeof(buf))
			continue;
		memcpy(buf, line, len);
		buf[len] = '\0';
		if (sscanf(buf, "%llx-%llx %7s %llx %15s %llu %n", &a, &b, perms, &off, dev,
			   &inode, &n) < 6)
			continue;
		if (perms[0] != 'r' || perms[1] != 'w' || inode != 0)
			continue;
		/* anonymous: no path ([heap], [stack] and files are not guest RAM) */
		if (n && buf[n])
			continue;
		if (b - a > best) {
			best = b - a;
			*start = a;
			*end = b;
		}
	}
	return best ? 0 : -ENOENT;
}

bool bankmap_pagemap_entry(uint64_t entry, uint64_t *pfn)
{
	*pfn = entry & ((1ull << 55) - 1);
	return entry >> 63 & 1;
}

int bankmap_pagemap_read(const char *fsroot, int pid, uint64_t vaddr, uint64_t n,
			 uint64_t *entries)
{
	char rel[64], path[512];
	uint64_t done = 0;
	int fd, rc = 0;

	snprintf(rel, sizeof(rel), "/proc/%d/pagemap", pid);
	rc = util_path(path, sizeof(path), fsroot, rel);
	if (rc)
		return rc;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (done < n) {
		ssize_t r = pread(fd, entries + done, (n - done) * sizeof(*entries),
				  (off_t)((vaddr / BANKMAP_PAGE_SIZE + done) * sizeof(*entries)));

		if (r < 0) {
			rc = -errno;
			break;
		}
		if (r == 0) {
			rc = -EIO;
			break;
		}
		done += (uint64_t)r / sizeof(*entries);
	}
	close(fd);
	return rc;
}
