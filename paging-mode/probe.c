/* paging-mode probe: reads the host's KVM, THP and hugetlb settings under
 * fsroot, tries MADV_COLLAPSE on a scratch range and asks /dev/kvm for the
 * capabilities that matter; the levers come from probe_levers.c. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "paging-mode/probe_int.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

#define THP_DIR "/sys/kernel/mm/transparent_hugepage"
#define POOL_DIR "/sys/kernel/mm/hugepages"

static bool is_dir(const char *fsroot, const char *path)
{
	char p[512];
	struct stat st;

	return !util_path(p, sizeof(p), fsroot, path) && !stat(p, &st) && S_ISDIR(st.st_mode);
}

/* A module parameter: 1, 0, or -1 when absent or unreadable. */
static int read_yn(const char *fsroot, const char *path)
{
	char buf[32];
	int v;

	if (util_read_file(fsroot, path, buf, sizeof(buf)) < 0)
		return -1;
	v = pgmode_parse_yn(buf);
	return v < 0 ? -1 : v;
}

static void read_word(const char *fsroot, const char *path, char *out, size_t len, bool bracket)
{
	char buf[256];

	out[0] = '\0';
	if (util_read_file(fsroot, path, buf, sizeof(buf)) < 0)
		return;
	if (bracket) {
		if (pgmode_parse_bracket(buf, out, len))
			out[0] = '\0';
		return;
	}
	buf[strcspn(buf, "\n")] = '\0';
	if (strlen(buf) < len)
		memcpy(out, buf, strlen(buf) + 1);
}

static int cmp_pool(const void *a, const void *b)
{
	const struct pgmode_hugetlb_pool *x = a, *y = b;

	return x->page_kib < y->page_kib ? -1 : x->page_kib > y->page_kib;
}

static void read_pools(const char *fsroot, struct pgmode_host *h)
{
	char dir[512], path[640], buf[64];
	struct dirent *e;
	DIR *d;

	if (util_path(dir, sizeof(dir), fsroot, POOL_DIR) || !(d = opendir(dir)))
		return;
	while ((e = readdir(d)) && h->nr_pools < PGMODE_MAX_POOLS) {
		struct pgmode_hugetlb_pool *p = &h->pool[h->nr_pools];

		if (pgmode_parse_pool_dir(e->d_name, &p->page_kib))
			continue;
		snprintf(path, sizeof(path), POOL_DIR "/%s/nr_hugepages", e->d_name);
		if (util_read_file(fsroot, path, buf, sizeof(buf)) < 0 ||
		    util_parse_u64(buf, &p->total))
			continue;
		snprintf(path, sizeof(path), POOL_DIR "/%s/free_hugepages", e->d_name);
		if (util_read_file(fsroot, path, buf, sizeof(buf)) < 0 ||
		    util_parse_u64(buf, &p->free))
			p->free = 0;
		h->nr_pools++;
	}
	closedir(d);
	qsort(h->pool, (size_t)h->nr_pools, sizeof(h->pool[0]), cmp_pool);
}

static enum pgmode_split_state split_state(const char *fsroot)
{
	char p[512];
	struct dirent *e;
	bool any = false;
	DIR *d;

	if (util_path(p, sizeof(p), fsroot, "/sys/kernel/debug/split_huge_pages"))
		return PGMODE_SPLIT_NO_FILE;
	if (!access(p, W_OK))
		return PGMODE_SPLIT_OK;
	if (errno == EACCES || errno == EPERM)
		return PGMODE_SPLIT_NOT_ROOT;
	if (util_path(p, sizeof(p), fsroot, "/sys/kernel/debug") || !(d = opendir(p)))
		return errno == EACCES ? PGMODE_SPLIT_NOT_ROOT : PGMODE_SPLIT_NO_DEBUGFS;
	while (!any && (e = readdir(d)))
		any = strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return any ? PGMODE_SPLIT_NO_FILE : PGMODE_SPLIT_NO_DEBUGFS;
}

/* Touch 2 MiB of 4 KiB pages, advise MADV_HUGEPAGE, collapse: 0 or errno. */
static int try_collapse(void)
{
	const size_t huge = 2u << 20;
	char *map, *at;
	int err = 0;

	map = mmap(NULL, 2 * huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED)
		return errno;
	at = (char *)(((uintptr_t)map + huge - 1) & ~(uintptr_t)(huge - 1));
	for (size_t off = 0; off < huge; off += 4096)
		at[off] = 1;
	if (madvise(at, huge, MADV_HUGEPAGE) || madvise(at, huge, MADV_COLLAPSE))
		err = errno;
	munmap(map, 2 * huge);
	return err;
}

static int kvm_caps(const char *fsroot, struct pgmode_host *h)
{
	char p[512];
	int fd, v;

	if (util_path(p, sizeof(p), fsroot, "/dev/kvm"))
		return ENAMETOOLONG;
	fd = open(p, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return errno;
	v = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_DIRTY_LOG_RING);
	h->cap_dirty_log_ring = v > 0;
	v = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_BINARY_STATS_FD);
	h->cap_binary_stats = v > 0;
	v = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_MMU);
	h->cap_sync_mmu = v > 0;
	close(fd);
	return 0;
}

int pgmode_probe(const char *fsroot, unsigned flags, struct pgmode_host *out)
{
	struct pgmode_probe_facts f = { .fsroot = fsroot, .root = geteuid() == 0 };
	struct pgmode_host *h = out;
	char buf[32];

	memset(h, 0, sizeof(*h));
	h->kvm = pgmode_kvm_from_modules(is_dir(fsroot, "/sys/module/kvm_intel"),
					 is_dir(fsroot, "/sys/module/kvm_amd"),
					 is_dir(fsroot, "/sys/module/kvm_pvm"));
	h->ept = read_yn(fsroot, "/sys/module/kvm_intel/parameters/ept");
	h->npt = read_yn(fsroot, "/sys/module/kvm_amd/parameters/npt");
	h->tdp_mmu = read_yn(fsroot, "/sys/module/kvm/parameters/tdp_mmu");
	read_word(fsroot, "/sys/module/kvm/parameters/nx_huge_pages", h->nx_huge_pages,
		  sizeof(h->nx_huge_pages), false);
	h->mode = pgmode_mode_from_params(h->kvm, h->ept, h->npt);
	read_word(fsroot, THP_DIR "/enabled", h->thp_enabled, sizeof(h->thp_enabled), true);
	read_word(fsroot, THP_DIR "/defrag", h->thp_defrag, sizeof(h->thp_defrag), true);
	h->khugepaged_defrag = read_yn(fsroot, THP_DIR "/khugepaged/defrag");
	if (util_read_file(fsroot, THP_DIR "/khugepaged/pages_to_scan", buf, sizeof(buf)) < 0 ||
	    util_parse_u64(buf, &h->khugepaged_pages_to_scan))
		h->khugepaged_pages_to_scan = 0;
	read_pools(fsroot, h);
	f.split = split_state(fsroot);
	h->cap_dirty_log_ring = h->cap_binary_stats = h->cap_sync_mmu = -1;
	if (!(flags & PGMODE_PROBE_NO_SYSCALLS)) {
		f.syscalls_tried = true;
		f.collapse_err = try_collapse();
		f.kvm_open_err = kvm_caps(fsroot, h);
	}
	pgmode_probe_levers(h, &f);
	return 0;
}
