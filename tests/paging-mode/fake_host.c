#include "tests/paging-mode/fake_host.h"

#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void mkdirs(char *p)
{
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		mkdir(p, 0755);
		*s = '/';
	}
	mkdir(p, 0755);
}

void fakehost_init(struct fakehost *f)
{
	snprintf(f->root, sizeof(f->root), "/tmp/avmm-pgfake.XXXXXX");
	cr_assert_not_null(mkdtemp(f->root));
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

void fakehost_cleanup(struct fakehost *f)
{
	if (f->root[0])
		nftw(f->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	f->root[0] = '\0';
}

void fakehost_dir(const struct fakehost *f, const char *path)
{
	char p[512];

	snprintf(p, sizeof(p), "%s%s", f->root, path);
	mkdirs(p);
}

static void parent_of(const struct fakehost *f, const char *path, char *p, size_t len)
{
	char *slash;

	snprintf(p, len, "%s%s", f->root, path);
	slash = strrchr(p, '/');
	*slash = '\0';
	mkdirs(p);
	*slash = '/';
}

void fakehost_file(const struct fakehost *f, const char *path, const char *text)
{
	char p[512];
	FILE *fp;

	parent_of(f, path, p, sizeof(p));
	fp = fopen(p, "w");
	cr_assert_not_null(fp, "cannot write %s", p);
	fputs(text, fp);
	fclose(fp);
}

void fakehost_link(const struct fakehost *f, const char *path, const char *target)
{
	char p[512];

	parent_of(f, path, p, sizeof(p));
	cr_assert_eq(symlink(target, p), 0, "symlink %s", p);
}

void fakehost_intel(const struct fakehost *f, const char *ept)
{
	fakehost_dir(f, "/sys/module/kvm_intel/parameters");
	if (ept)
		fakehost_file(f, "/sys/module/kvm_intel/parameters/ept", ept);
	fakehost_file(f, "/sys/module/kvm/parameters/tdp_mmu", "Y\n");
	fakehost_file(f, "/sys/module/kvm/parameters/nx_huge_pages", "auto\n");
}

void fakehost_amd(const struct fakehost *f, const char *npt)
{
	fakehost_dir(f, "/sys/module/kvm_amd/parameters");
	if (npt)
		fakehost_file(f, "/sys/module/kvm_amd/parameters/npt", npt);
	fakehost_file(f, "/sys/module/kvm/parameters/tdp_mmu", "Y\n");
	fakehost_file(f, "/sys/module/kvm/parameters/nx_huge_pages", "N\n");
}

void fakehost_pvm(const struct fakehost *f)
{
	/* what kvm_pvm shows (its own knobs, no ept/npt) */
	fakehost_file(f, "/sys/module/kvm_pvm/parameters/pvm_native", "Y\n");
	fakehost_file(f, "/sys/module/kvm/parameters/tdp_mmu", "N\n");
	fakehost_file(f, "/sys/module/kvm/parameters/nx_huge_pages", "N\n");
}

void fakehost_thp(const struct fakehost *f, const char *word)
{
	static const char *const words[] = { "always", "madvise", "never" };
	char text[96] = "";

	for (size_t i = 0; i < 3; i++) {
		bool on = !strcmp(words[i], word);

		snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s%s%s%s", i ? " " : "",
			 on ? "[" : "", words[i], on ? "]" : "");
	}
	strcat(text, "\n");
	fakehost_file(f, "/sys/kernel/mm/transparent_hugepage/enabled", text);
	fakehost_file(f, "/sys/kernel/mm/transparent_hugepage/defrag",
		      "always defer defer+madvise [madvise] never\n");
	fakehost_file(f, "/sys/kernel/mm/transparent_hugepage/khugepaged/defrag", "1\n");
	fakehost_file(f, "/sys/kernel/mm/transparent_hugepage/khugepaged/pages_to_scan", "4096\n");
}

void fakehost_pool(const struct fakehost *f, uint64_t page_kib, uint64_t total, uint64_t free_)
{
	char p[160], v[32];

	snprintf(p, sizeof(p), "/sys/kernel/mm/hugepages/hugepages-%llukB/nr_hugepages",
		 (unsigned long long)page_kib);
	snprintf(v, sizeof(v), "%llu\n", (unsigned long long)total);
	fakehost_file(f, p, v);
	snprintf(p, sizeof(p), "/sys/kernel/mm/hugepages/hugepages-%llukB/free_hugepages",
		 (unsigned long long)page_kib);
	snprintf(v, sizeof(v), "%llu\n", (unsigned long long)free_);
	fakehost_file(f, p, v);
}

void fakehost_vm_process(const struct fakehost *f, int pid, const char *comm)
{
	char p[96], c[80];

	snprintf(p, sizeof(p), "/proc/%d/comm", pid);
	snprintf(c, sizeof(c), "%s\n", comm);
	fakehost_file(f, p, c);
	snprintf(p, sizeof(p), "/proc/%d/fd/4", pid);
	fakehost_link(f, p, "/dev/kvm");
	snprintf(p, sizeof(p), "/proc/%d/fd/5", pid);
	fakehost_link(f, p, "anon_inode:kvm-vm");
}
