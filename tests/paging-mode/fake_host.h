/* paging-mode tests: fake host trees (sysfs/procfs) built in a temp dir. */
#ifndef AVMM_TESTS_PGMODE_FAKE_HOST_H
#define AVMM_TESTS_PGMODE_FAKE_HOST_H

#include <stdbool.h>
#include <stdint.h>

struct fakehost {
	char root[64];
};

void fakehost_init(struct fakehost *f);          /* an empty tree */
void fakehost_cleanup(struct fakehost *f);       /* removes it */
/* Writes text at root + path, making the folders. */
void fakehost_file(const struct fakehost *f, const char *path, const char *text);
void fakehost_link(const struct fakehost *f, const char *path, const char *target);
void fakehost_dir(const struct fakehost *f, const char *path);
/* The pieces of a host: ept/npt as "Y"/"N" (NULL: no parameter file). */
void fakehost_intel(const struct fakehost *f, const char *ept);
void fakehost_amd(const struct fakehost *f, const char *npt);
void fakehost_pvm(const struct fakehost *f);
void fakehost_thp(const struct fakehost *f, const char *enabled_word);
void fakehost_pool(const struct fakehost *f, uint64_t page_kib, uint64_t total, uint64_t free);
/* A process holding a KVM VM fd: /proc/PID/fd/5 -> anon_inode:kvm-vm. */
void fakehost_vm_process(const struct fakehost *f, int pid, const char *comm);

#endif
