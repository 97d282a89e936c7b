/*
 * paging-mode, inside: the probe's parse and decision helpers (pure, tested
 * on their own) and the host-mode helpers. Not part of the module's API.
 */
#ifndef AVMM_PGMODE_PROBE_INT_H
#define AVMM_PGMODE_PROBE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "paging-mode/pgmode.h"

/* "always [madvise] never" -> "madvise"; -EINVAL without one bracketed word. */
int pgmode_parse_bracket(const char *buf, char *out, size_t len);
/* A module's boolean parameter: "Y"/"1" -> 1, "N"/"0" -> 0, else -EINVAL. */
int pgmode_parse_yn(const char *buf);
/* "hugepages-2048kB" -> 2048; -EINVAL for another name. */
int pgmode_parse_pool_dir(const char *name, uint64_t *page_kib);
/* Which KVM, from the modules present (kvm_pvm, kvm_intel, kvm_amd). */
enum pgmode_kvm pgmode_kvm_from_modules(bool intel, bool amd, bool pvm);
/* The mode a VM started now gets, from the flavour and ept/npt. */
enum pgmode_mode pgmode_mode_from_params(enum pgmode_kvm k, int ept, int npt);
/* What an errno from MADV_COLLAPSE means here (thp_enabled: the word, "" absent). */
void pgmode_collapse_why(int err, const char *thp_enabled, char *out, size_t len);

/* What the probe saw beside struct pgmode_host, for the levers. */
enum pgmode_split_state {
	PGMODE_SPLIT_OK,          /* split_huge_pages there and writable */
	PGMODE_SPLIT_NO_DEBUGFS,  /* debugfs not mounted */
	PGMODE_SPLIT_NO_FILE,     /* debugfs mounted, no split_huge_pages */
	PGMODE_SPLIT_NOT_ROOT,    /* there, not writable by this user */
};
struct pgmode_probe_facts {
	bool syscalls_tried;      /* false: PGMODE_PROBE_NO_SYSCALLS */
	int collapse_err;         /* 0 worked, else the errno */
	int kvm_open_err;         /* 0 /dev/kvm opened, else the errno */
	bool root;
	enum pgmode_split_state split;
	const char *fsroot;       /* for the paths named in reasons */
};
/* Fills every lever of h from h's values and the facts (pure). */
void pgmode_probe_levers(struct pgmode_host *h, const struct pgmode_probe_facts *f);

/* Processes with a KVM VM open: "pid 123 (avmm), pid 456 (qemu)" in out;
 * returns how many, or -errno. */
int pgmode_kvm_vm_list(const char *fsroot, char *out, size_t len);

#endif
